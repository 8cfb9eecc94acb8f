//! The seeded experts as people who answer swarmdeck's asks: a while after the bot asks
//! one in a direct message to take a swarm, they click, as a person would.
//!
//! The wire contract with swarmdeck (fixed; the two share no code): the ask is a bot post
//! in the direct conversation with an actions block `swarmdeck_ask` holding the button
//! `swarmdeck_accept` and the static select `swarmdeck_decline`, whose options' values end
//! in `|busy`, `|not_my_area`, `|out_of_office` or `|at_capacity`.
//!
//! Each seeded expert has a temperament fixed by the seed — most accept, some decline
//! (always with the same reason), a few never answer — and answers 5–20 s of Slack time
//! after the ask. Experts answer while a workload runs (`--rate` above 0); without one,
//! only those told how through `POST /_emulator/experts` do, so that a quiet test sees no
//! click it did not ask for.

use super::click::{self, Click};
use super::rng::{Stream, unit};
use super::seed;
use super::world::{Ts, World, fmt_ts, parse_ts};
use super::{Shared, State};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub(crate) const ASK_BLOCK: &str = "swarmdeck_ask";
pub(crate) const ACCEPT: &str = "swarmdeck_accept";
pub(crate) const DECLINE: &str = "swarmdeck_decline";

/// The reasons to decline: the suffix of the option's value, and its label.
pub(crate) const REASONS: [(&str, &str); 4] = [
    ("busy", "Busy with another case"),
    ("not_my_area", "Not my area"),
    ("out_of_office", "Out of office"),
    ("at_capacity", "At capacity"),
];

/// The Slack time an expert takes to answer: at least, and at most.
const ANSWER_AFTER: (f64, f64) = (5.0, 20.0);

/// How an expert answers an ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    Accept,
    /// With one of [`REASONS`], by its value suffix.
    Decline(&'static str),
    Silent,
}

impl Answer {
    /// From the control API's `{"answer": "accept" | "decline" | "silent", "reason": …}`.
    pub(crate) fn parse(answer: &str, reason: Option<&str>) -> Result<Self, String> {
        match (answer, reason) {
            ("accept", None) => Ok(Self::Accept),
            ("silent", None) => Ok(Self::Silent),
            ("decline", Some(reason)) => REASONS
                .iter()
                .find(|(r, _)| *r == reason)
                .map(|(r, _)| Self::Decline(r))
                .ok_or_else(|| format!("invalid_reason: use one of {}", reason_list())),
            ("decline", None) => Err(format!("a decline needs a \"reason\": {}", reason_list())),
            ("accept" | "silent", Some(_)) => Err("only a decline has a \"reason\"".into()),
            _ => Err(format!(
                "unknown answer {answer:?}: use accept, decline or silent"
            )),
        }
    }

    /// As the control API shows it.
    fn describe(self) -> Value {
        match self {
            Self::Accept => json!({"answer": "accept"}),
            Self::Decline(reason) => json!({"answer": "decline", "reason": reason}),
            Self::Silent => json!({"answer": "silent"}),
        }
    }
}

fn reason_list() -> String {
    REASONS.map(|(r, _)| r).join(", ")
}

/// The temperament the seed gives seeded expert number `index`: 15 of the 24 accept, 7
/// decline, 2 stay silent. Dealt by the rank of a seeded draw rather than drawn one by one,
/// so that every seed has that mix and only who is who varies.
pub(crate) fn temperament(seed: u64, index: usize) -> Answer {
    let draw = |i: usize| (unit(seed, Stream::Experts, i as u64 * 2), i);
    let count = seed::expert_count();
    let rank = (0..count).filter(|&j| draw(j) < draw(index)).count();
    let share = rank as f64 / count as f64;
    if share < 0.6 {
        Answer::Accept
    } else if share < 0.9 {
        let r = unit(seed, Stream::Experts, index as u64 * 2 + 1);
        Answer::Decline(REASONS[((r * REASONS.len() as f64) as usize).min(REASONS.len() - 1)].0)
    } else {
        Answer::Silent
    }
}

/// How long the `n`th ask waits for its answer, in Slack time.
fn answer_delay(seed: u64, n: u64) -> Duration {
    let (lo, hi) = ANSWER_AFTER;
    // Far from the temperaments' indices, so that neither shifts the other.
    let u = unit(seed, Stream::Experts, (1 << 32) + n);
    Duration::from_secs_f64(lo + (hi - lo) * u)
}

/// What a test told an expert through `POST /_emulator/experts`.
#[derive(Clone, Copy, Debug)]
struct Told {
    answer: Answer,
    /// Slack time; the seed's 5–20 s when absent.
    delay: Option<Duration>,
}

#[derive(Debug, Default)]
pub(crate) struct Experts {
    told: HashMap<String, Told>,
    /// Asks seen so far: numbers the draw of each one's delay.
    asks_seen: u64,
}

impl Experts {
    pub(crate) fn tell(&mut self, user: &str, answer: Answer, delay: Option<Duration>) {
        self.told.insert(user.to_string(), Told { answer, delay });
    }
}

/// An ask in a direct message: who was asked, where the message is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ask {
    pub expert: String,
    pub channel: String,
    pub ts: Ts,
}

/// An answer to click when its time comes.
#[derive(Clone, Debug)]
pub(crate) struct Due {
    pub at: Instant,
    pub ask: Ask,
    pub answer: Answer,
}

/// The seeded experts and how each answers now: for `GET /_emulator/experts`.
pub(crate) fn listing(shared: &Shared, state: &State) -> Vec<Value> {
    let world = &state.world;
    let mut people: Vec<&super::world::User> = world
        .users
        .iter()
        .filter(|u| seed::expert_index(&u.id).is_some())
        .collect();
    // People a test told who are not seeded experts (users made by /_emulator/events).
    people.extend(
        world.users.iter().filter(|u| {
            seed::expert_index(&u.id).is_none() && state.experts.told.contains_key(&u.id)
        }),
    );
    people
        .into_iter()
        .filter_map(|u| {
            let (answer, told) = how_answers(shared, state, &u.id)?;
            let mut v = answer.describe();
            v["id"] = json!(u.id);
            v["name"] = json!(u.name);
            v["real_name"] = json!(u.real_name);
            v["told"] = json!(told.is_some());
            // Without a workload, only told experts answer; the silent never do.
            let heard = told.is_some() || shared.config.workload;
            v["answers"] = json!(heard && answer != Answer::Silent);
            if let Some(delay) = told.and_then(|t| t.delay) {
                v["delay_seconds"] = json!(delay.as_secs_f64());
            }
            Some(v)
        })
        .collect()
}

/// How `user` answers an ask, and what a test told them if it did.
fn how_answers(shared: &Shared, state: &State, user: &str) -> Option<(Answer, Option<Told>)> {
    match state.experts.told.get(user) {
        Some(told) => Some((told.answer, Some(*told))),
        None => seed::expert_index(user).map(|i| (temperament(shared.config.seed, i), None)),
    }
}

/// Looks through a change's events for asks, and schedules the answers of the experts
/// who answer them.
pub(crate) fn notice(shared: &Shared, state: &mut State, events: &[Value]) {
    for event in events {
        let Some(ask) = ask_in(&state.world, event) else {
            continue;
        };
        let Some((answer, told)) = how_answers(shared, state, &ask.expert) else {
            continue;
        };
        if told.is_none() && !shared.config.workload {
            continue;
        }
        state.experts.asks_seen += 1;
        let delay = told
            .and_then(|t| t.delay)
            .unwrap_or_else(|| answer_delay(shared.config.seed, state.experts.asks_seen));
        if answer == Answer::Silent {
            continue;
        }
        let at = Instant::now() + shared.clock.scaled(delay);
        tracing::debug!(expert = %ask.expert, ?answer, ?delay, "an expert will answer an ask");
        let _ = shared.answers.send(Due { at, ask, answer });
    }
}

/// The ask a `message` event carries: an app's bot posting the `swarmdeck_ask` block into
/// a direct conversation.
fn ask_in(world: &World, event: &Value) -> Option<Ask> {
    if event["type"] != "message" || event.get("subtype").is_some() {
        return None;
    }
    let app = world.app_of_bot(event["bot_id"].as_str()?)?;
    let channel = world.channel(event["channel"].as_str()?).ok()?;
    let asks = event["blocks"]
        .as_array()?
        .iter()
        .any(|b| b["block_id"] == ASK_BLOCK);
    if !channel.is_im || !asks {
        return None;
    }
    let expert = channel.members.iter().find(|m| **m != app.bot_user_id)?;
    Some(Ask {
        expert: expert.clone(),
        channel: channel.id.clone(),
        ts: parse_ts(event["ts"].as_str()?)?,
    })
}

/// Clicks each answer when it is due, until the emulator stops.
pub(crate) async fn run(shared: Arc<Shared>, mut due: mpsc::UnboundedReceiver<Due>) {
    // Dropped with this task (when the emulator is), and every pending answer with it.
    let mut answering = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            next = due.recv() => {
                let Some(next) = next else { return };
                let shared = shared.clone();
                answering.spawn(async move {
                    tokio::time::sleep_until(next.at.into()).await;
                    answer(&shared, &next);
                });
            }
            Some(_) = answering.join_next(), if !answering.is_empty() => {}
        }
    }
}

/// The expert's click, through the same checks as `/_emulator/click`.
fn answer(shared: &Shared, due: &Due) {
    // Calm stops the workload, and the people in it.
    if shared.calm.load(Ordering::Relaxed) {
        return;
    }
    let mut state = shared.lock();
    let ask = &due.ask;
    let (action_id, selected_option) = match due.answer {
        Answer::Accept => (ACCEPT, None),
        Answer::Decline(reason) => match decline_option(&state.world, ask, reason) {
            Some(value) => (DECLINE, Some(value)),
            None => {
                tracing::debug!(expert = %ask.expert, reason, "the ask offers no such reason");
                return;
            }
        },
        Answer::Silent => return,
    };
    let click = Click {
        user: ask.expert.clone(),
        channel: ask.channel.clone(),
        ts: fmt_ts(ask.ts),
        action_id: action_id.into(),
        value: None,
        selected_option,
    };
    if let Err(refusal) = click::perform(shared, &mut state, &click) {
        // The ask was deleted or changed meanwhile: nothing left to click.
        tracing::debug!(expert = %ask.expert, error = refusal.error, "an expert's answer was refused");
    }
}

/// The value of the decline option whose value ends in `|reason`.
fn decline_option(world: &World, ask: &Ask, reason: &str) -> Option<String> {
    let channel = world.channel(&ask.channel).ok()?;
    let message = channel.messages.get(&ask.ts)?;
    let (_, select) = click::element(message, DECLINE)?;
    let suffix = format!("|{reason}");
    click::options(select)
        .into_iter()
        .filter_map(|o| o["value"].as_str())
        .find(|v| v.ends_with(&suffix))
        .map(str::to_string)
}

/// The blocks of an ask as swarmdeck posts it (the emulator's backlog posts its own):
/// the question, then Accept and the reasons to decline, each carrying where the swarm is
/// and which ask it answers.
pub(crate) fn ask_blocks(text: &str, channel: &str, thread_ts: &str, ask: &str) -> Value {
    let value = format!("{channel}|{thread_ts}|{ask}");
    let plain = |text: &str| json!({"type": "plain_text", "text": text});
    let options: Vec<Value> = REASONS
        .iter()
        .map(|(reason, label)| json!({"text": plain(label), "value": format!("{value}|{reason}")}))
        .collect();
    json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": ASK_BLOCK, "elements": [
            {"type": "button", "action_id": ACCEPT, "style": "primary", "text": plain("Accept"), "value": value},
            {"type": "static_select", "action_id": DECLINE, "placeholder": plain("Decline…"), "options": options},
        ]},
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_experts_accept_some_decline_and_a_few_stay_silent() {
        for seed in [1, 2, 3, 42] {
            let answers: Vec<Answer> = (0..24).map(|i| temperament(seed, i)).collect();
            let accept = answers.iter().filter(|a| **a == Answer::Accept).count();
            let silent = answers.iter().filter(|a| **a == Answer::Silent).count();
            let decline = answers.len() - accept - silent;
            assert!(accept > decline + silent, "seed {seed}: {answers:?}");
            assert!(
                decline >= 2 && (1..=6).contains(&silent),
                "seed {seed}: {answers:?}"
            );
            assert_eq!(
                answers,
                (0..24).map(|i| temperament(seed, i)).collect::<Vec<_>>()
            );
        }
        assert_ne!(
            (0..24).map(|i| temperament(1, i)).collect::<Vec<_>>(),
            (0..24).map(|i| temperament(2, i)).collect::<Vec<_>>(),
            "the seed says who is who"
        );
        let reasons: std::collections::BTreeSet<&str> = (1..20)
            .flat_map(|seed| (0..24).map(move |i| temperament(seed, i)))
            .filter_map(|a| match a {
                Answer::Decline(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(
            reasons.len(),
            REASONS.len(),
            "every reason is given by someone"
        );
    }

    #[test]
    fn answers_come_five_to_twenty_seconds_after_the_ask() {
        let delays: Vec<f64> = (0..500).map(|n| answer_delay(9, n).as_secs_f64()).collect();
        assert!(delays.iter().all(|d| (5.0..=20.0).contains(d)));
        let mean = delays.iter().sum::<f64>() / delays.len() as f64;
        assert!((11.0..14.0).contains(&mean), "mean {mean}");
    }

    #[test]
    fn the_control_api_names_answers_as_they_show() {
        for answer in [
            Answer::Accept,
            Answer::Decline("at_capacity"),
            Answer::Silent,
        ] {
            let shown = answer.describe();
            let parsed = Answer::parse(shown["answer"].as_str().unwrap(), shown["reason"].as_str());
            assert_eq!(parsed, Ok(answer));
        }
        assert!(Answer::parse("decline", None).is_err());
        assert!(
            Answer::parse("decline", Some("bored"))
                .unwrap_err()
                .starts_with("invalid_reason")
        );
        assert!(Answer::parse("accept", Some("busy")).is_err());
        assert!(Answer::parse("maybe", None).is_err());
    }

    #[test]
    fn an_ask_is_a_bot_post_with_the_ask_block_in_an_experts_dm() {
        let mut world = seed::workspace(1, 0);
        let app = world.first_app().clone();
        let expert = seed::expert_id(0);
        let (dm, _) = world.open_dm(&expert, &app.bot_user_id, 0);
        let dm_id = world.channels[dm].id.clone();
        let blocks = ask_blocks("Take case 1?", "C0SWARMAPI", "1.000001", "ask-1");
        let event = |channel: &str, bot_id: Option<&str>| json!({"type": "message", "channel": channel, "bot_id": bot_id, "ts": "1700000000.000200", "blocks": blocks});
        let ask = ask_in(&world, &event(&dm_id, Some(&app.bot_id))).expect("an ask");
        assert_eq!(
            (ask.expert.as_str(), ask.ts),
            (expert.as_str(), 1_700_000_000_000_200)
        );
        assert_eq!(
            ask_in(&world, &event("C0SWARMAPI", Some(&app.bot_id))),
            None,
            "not a DM"
        );
        assert_eq!(ask_in(&world, &event(&dm_id, None)), None, "not by an app");
        assert_eq!(
            ask_in(&world, &event(&dm_id, Some("B0WORKFLOW"))),
            None,
            "not by an app"
        );
        let select = &blocks[1]["elements"][1];
        let values: Vec<&str> = click::options(select)
            .iter()
            .filter_map(|o| o["value"].as_str())
            .collect();
        assert_eq!(values[0], "C0SWARMAPI|1.000001|ask-1|busy");
        assert_eq!(values.len(), REASONS.len());
    }
}
