//! The backlog `swarmdeck demo` opens on: about a dozen open swarms across the pods, as a
//! shift looks when the lead sits down — some new, some assigned, one past its first
//! response target and others close to theirs, one promoted to an incident channel, one
//! whose requester just answered, one waiting on the customer — and a few resolved
//! earlier today. Posted into history with past timestamps, so a client learns of them
//! the way it would on real Slack: from conversations.history when it starts.
//!
//! One swarm is a second request for another's problem (the billing refund, asked again
//! in the api pod): the desk flags it as a likely duplicate.
//!
//! Two swarms hold an ask from an earlier session (a DM to an expert with Accept and the
//! reasons to decline, and the `swarmdeck_asked` marker in the thread); with the live
//! workload the first is accepted about 15 s and the second declined about 35 s of wall
//! time after start, so that the demo shows both within its first minute at any time scale.

use super::clock::Clock;
use super::experts::{self, Answer, Ask, Due};
use super::seed;
use super::workload::workflow_post;
use super::world::{Post, Ts, World, fmt_ts};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// What happened in a swarm's thread, minutes after its request.
enum Step {
    Reply(&'static str, &'static str),
    /// A reply by the requester.
    Requester(&'static str),
    /// One of swarmdeck's moves: a bot post with message metadata.
    Move(&'static str, Value, &'static str),
    /// The lead asked an expert to take the swarm; the expert gives `answer` this long
    /// (wall time) after the emulator starts.
    Asked(&'static str, Answer, u64),
    Resolved,
}

struct Swarm {
    pod: usize,
    minutes_ago: u64,
    urgency: &'static str,
    subject: &'static str,
    thread: Vec<(u64, Step)>,
}

fn scenario() -> Vec<Swarm> {
    use Step::*;
    let assigned =
        |expert: &'static str| Move("swarmdeck_assigned", json!({"expert": expert}), "assigned");
    vec![
        Swarm {
            pod: 1,
            minutes_ago: 4,
            urgency: "Sev 1",
            subject: "All card payments failing for EU merchants",
            thread: vec![(2, Asked("E0", Answer::Accept, 15))],
        },
        Swarm {
            pod: 0,
            minutes_ago: 11,
            urgency: "Sev 1",
            subject: "Webhooks delayed by 20+ minutes",
            thread: vec![(3, assigned("E0"))],
        },
        Swarm {
            pod: 0,
            minutes_ago: 52,
            urgency: "Sev 2",
            subject: "OAuth token refresh returns invalid_grant",
            thread: vec![(5, assigned("E1"))],
        },
        Swarm {
            pod: 1,
            minutes_ago: 190,
            urgency: "Sev 3",
            subject: "Refund stuck in pending for 9 days",
            thread: vec![
                (
                    25,
                    Reply("E0", "Looking at this now. Can you share the refund ID?"),
                ),
                (
                    40,
                    Requester("Customer sent it: re_3PZ… attached to the case."),
                ),
            ],
        },
        Swarm {
            pod: 2,
            minutes_ago: 125,
            urgency: "Sev 1",
            subject: "iOS app crashes on launch after 7.4 update",
            thread: vec![
                (4, assigned("E0")),
                (
                    6,
                    Reply(
                        "E0",
                        "Reproduced on iOS 18.2: crash in the keychain migration.",
                    ),
                ),
                (9, assigned("E1")),
                (
                    15,
                    Move(
                        "swarmdeck_promoted",
                        json!({"incident_channel": "support-mobile-sev1-CASE", "incident_channel_id": "INCIDENT"}),
                        "promoted",
                    ),
                ),
                (30, Reply("E1", "Hotfix build is in review with Apple.")),
            ],
        },
        Swarm {
            pod: 3,
            minutes_ago: 300,
            urgency: "Sev 4",
            subject: "Nightly export missing rows for one tenant",
            thread: vec![
                (60, Reply("E0", "Asked the customer for the export job ID.")),
                (
                    62,
                    Move(
                        "swarmdeck_waiting",
                        json!({"waiting": true}),
                        "waiting on the customer",
                    ),
                ),
            ],
        },
        Swarm {
            pod: 0,
            minutes_ago: 24,
            urgency: "Sev 3",
            subject: "GraphQL pagination skips records after cursor reset",
            thread: vec![(20, Asked("E1", Answer::Decline("busy"), 35))],
        },
        Swarm {
            pod: 1,
            minutes_ago: 16,
            urgency: "Sev 2",
            subject: "Invoice PDF shows the wrong VAT rate",
            thread: vec![(2, assigned("E2"))],
        },
        Swarm {
            pod: 2,
            minutes_ago: 95,
            urgency: "Sev 3",
            subject: "Push notifications not delivered on Android 15",
            thread: vec![
                (
                    20,
                    Reply("E2", "FCM shows them accepted; checking the device logs."),
                ),
                (
                    30,
                    Move(
                        "swarmdeck_follow_up",
                        json!({"next_steps": "Check device logs with the customer", "follow_up_at": "IN_20_MIN"}),
                        "follow-up set",
                    ),
                ),
            ],
        },
        Swarm {
            pod: 3,
            minutes_ago: 38,
            urgency: "Sev 2",
            subject: "Query timeouts on the reporting replica",
            thread: vec![
                (8, assigned("E1")),
                (
                    12,
                    Reply("E1", "Replica lag is 40 min; looking at the vacuum job."),
                ),
            ],
        },
        Swarm {
            pod: 0,
            minutes_ago: 360,
            urgency: "Sev 4",
            subject: "Rate limit headers missing on /v2/orders",
            thread: vec![(90, Reply("E3", "Confirmed; filed a bug with the API team."))],
        },
        Swarm {
            pod: 3,
            minutes_ago: 150,
            urgency: "Sev 3",
            subject: "Dashboard tiles show stale numbers",
            thread: vec![
                (20, Reply("E2", "Cache TTL was misconfigured; fixed.")),
                (50, Resolved),
            ],
        },
        Swarm {
            pod: 2,
            minutes_ago: 240,
            urgency: "Sev 2",
            subject: "Login loop on Android after password reset",
            thread: vec![
                (10, assigned("E0")),
                (14, Reply("E0", "Known issue, fix in today's release.")),
                (
                    80,
                    Move(
                        "swarmdeck_resolved",
                        json!({"resolution": "Fixed in 7.4.1; customer confirmed."}),
                        "resolved",
                    ),
                ),
            ],
        },
        // The customer of the billing refund above, tired of waiting, had a second case
        // opened through the API team: the duplicate the desk flags (`dup?` on the row)
        // and `L` links to the first.
        Swarm {
            pod: 0,
            minutes_ago: 20,
            urgency: "Sev 3",
            subject: "Refund still stuck in pending after 9 days",
            thread: vec![],
        },
    ]
}

/// Posts the backlog into the workspace, all of it in the past. Answers the experts'
/// answers to its pending asks, due from `started`.
pub(crate) fn seed(world: &mut World, started: Instant) -> Vec<Due> {
    let now = Clock::now_micros();
    let minute = 60_000_000u64;
    let bot_user = world.first_app().bot_user_id.clone();
    let bot_id = world.first_app().bot_id.clone();
    let lead_name = world
        .user(seed::LEAD_ID)
        .map(|u| u.real_name.clone())
        .unwrap_or_default();
    let mut answers = Vec::new();
    for (n, swarm) in scenario().into_iter().enumerate() {
        let (channel, _, product, ..) = seed::PODS[swarm.pod];
        let Ok(idx) = world.find_channel(channel) else {
            continue;
        };
        let experts = seed::experts_of(product);
        let expert = |e: &str| {
            let i: usize = e.trim_start_matches('E').parse().unwrap_or(0);
            experts[i % experts.len()].clone()
        };
        let requester = seed::requester_id(n % seed::requester_count());
        let case = 26_901 + n as u32;
        let root = now - swarm.minutes_ago * minute + n as u64;
        let post = workflow_post(
            case,
            swarm.urgency,
            swarm.subject,
            "See the case for steps so far.",
            &requester,
        );
        if world.post(idx, post, root).is_err() {
            continue;
        }
        let bot_post = |text: String, thread_ts: Option<Ts>| Post {
            user: Some(bot_user.clone()),
            bot_id: Some(bot_id.clone()),
            text,
            thread_ts,
            ..Post::default()
        };
        // One of swarmdeck's moves: a bot reply carrying message metadata.
        let marker = |event_type: &str, mut payload: Value, text: String| {
            payload["lead"] = json!(seed::LEAD_ID);
            payload["case"] = json!(case.to_string());
            Post {
                metadata: Some(json!({"event_type": event_type, "event_payload": payload})),
                ..bot_post(text, Some(root))
            }
        };
        for (minutes, step) in swarm.thread {
            let ts: Ts = root + minutes * minute;
            let reply = |user: String, text: String| Post {
                user: Some(user),
                text,
                thread_ts: Some(root),
                ..Post::default()
            };
            let post = match step {
                Step::Reply(e, text) => reply(expert(e), text.into()),
                Step::Requester(text) => reply(requester.clone(), text.into()),
                Step::Move(event_type, mut payload, what) => {
                    if let Some(e) = payload.get("expert").and_then(Value::as_str) {
                        payload["expert"] = json!(expert(e));
                    }
                    if payload.get("incident_channel").is_some() {
                        let name = format!("support-{product}-sev1-{case}");
                        let id = world
                            .create_channel(&name, false, &bot_user, (ts / 1_000_000) as i64)
                            .map(|(i, _)| world.channels[i].id.clone())
                            .unwrap_or_default();
                        payload["incident_channel"] = json!(name);
                        payload["incident_channel_id"] = json!(id);
                    }
                    if payload.get("follow_up_at").is_some() {
                        payload["follow_up_at"] = json!((now / 1_000_000 + 20 * 60) as i64);
                    }
                    marker(
                        event_type,
                        payload,
                        format!("swarmdeck: {what} (case {case})"),
                    )
                }
                Step::Asked(e, answer, after_secs) => {
                    let expert = expert(e);
                    let ask_id = format!("backlog-ask-{}", answers.len() + 1);
                    let name = world
                        .user(&expert)
                        .map(|u| u.real_name.clone())
                        .unwrap_or_default();
                    let (dm, _) = world.open_dm(&expert, &bot_user, (ts / 1_000_000) as i64);
                    let question = format!(
                        "{lead_name} asks: can you take case {case} ({}: {}) in <#{channel}>?",
                        swarm.urgency, swarm.subject
                    );
                    let blocks = experts::ask_blocks(&question, channel, &fmt_ts(root), &ask_id);
                    let dm_post = Post {
                        blocks: Some(blocks),
                        ..bot_post(question, None)
                    };
                    if world.post(dm, dm_post, ts).is_ok() {
                        let ask = Ask {
                            expert: expert.clone(),
                            channel: world.channels[dm].id.clone(),
                            ts,
                        };
                        let at = started + Duration::from_secs(after_secs);
                        answers.push(Due { at, ask, answer });
                    }
                    let payload = json!({"expert": expert, "ask": ask_id});
                    let text = format!("Asked {name} to take case {case} — waiting for an answer");
                    marker("swarmdeck_asked", payload, text)
                }
                Step::Resolved => {
                    let _ = world.react(idx, root, "white_check_mark", &requester, true, ts);
                    continue;
                }
            };
            let _ = world.post(idx, post, ts);
        }
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_swarms_wait_on_an_ask_that_is_accepted_then_declined_within_a_minute() {
        let mut world = seed::workspace(1, 0);
        let started = Instant::now();
        let answers = seed(&mut world, started);
        let due: Vec<(u64, Answer)> = answers
            .iter()
            .map(|d| ((d.at - started).as_secs(), d.answer))
            .collect();
        assert_eq!(due, [(15, Answer::Accept), (35, Answer::Decline("busy"))]);
        for (i, due) in answers.iter().enumerate() {
            let ask_id = format!("backlog-ask-{}", i + 1);
            let dm = world.channel(&due.ask.channel).expect("the DM");
            assert!(dm.is_im && dm.is_member(&due.ask.expert));
            let ask = &dm.messages[&due.ask.ts];
            assert_eq!(ask.bot_id.as_deref(), Some("B0SWARMBOT"));
            let (block, accept) = super::super::click::element(ask, experts::ACCEPT).unwrap();
            assert_eq!(block, experts::ASK_BLOCK);
            let value = accept["value"].as_str().unwrap();
            let [pod, thread_ts, ask_in_value] = value.split('|').collect::<Vec<_>>()[..] else {
                panic!("{value}");
            };
            assert_eq!(ask_in_value, ask_id);
            let pod = world.channel(pod).expect("the pod");
            let root = crate::emulator::world::parse_ts(thread_ts).unwrap();
            let marker = pod
                .messages
                .values()
                .find(|m| m.thread_ts == Some(root) && m.metadata.is_some() && m.ts != root)
                .expect("the marker in the thread");
            let metadata = marker.metadata.as_ref().unwrap();
            assert_eq!(metadata["event_type"], "swarmdeck_asked");
            let payload = &metadata["event_payload"];
            assert_eq!(payload["lead"], seed::LEAD_ID);
            assert_eq!(payload["expert"], due.ask.expert.as_str());
            assert_eq!(payload["ask"], ask_id.as_str());
            assert!(payload["case"].is_string());
            assert!(
                marker.text.contains("waiting for an answer"),
                "{}",
                marker.text
            );
        }
    }
}
