//! `swarmdeck tail`: headless. Connects like the dashboard and prints each swarm
//! lifecycle event once — a JSON object per line with `--json` — keeping its own position
//! in the store, so that a restart prints nothing twice.

use crate::config::Settings;
use crate::domain::{Lifecycle, LifecycleKind, Ts};
use crate::session::{BEAT_EVERY, Replay, Session, next_said, next_stored};
use crate::shutdown_signal;
use crate::slack::Update;
use crate::store::{Store, Trouble};
use chrono::{SecondsFormat, Utc};
use color_eyre::eyre::Result;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

pub struct TailOptions {
    pub json: bool,
    /// Whose position in the store this is (`tail` unless several scripts each want
    /// every event).
    pub consumer: String,
}

pub async fn run(settings: Settings, options: TailOptions) -> Result<()> {
    let store = Store::open(&settings.data_dir)?;
    let mut session = Session::restore(Arc::new(settings), now(), Replay::Events)?;
    let mut connected = session.connect().await?;
    for channel in &session.missing {
        eprintln!(
            "warning: the bot is not in the pod channel {channel}; type /invite @swarmdeck there"
        );
    }
    if session.desk.pods().next().is_none() {
        eprintln!("warning: no pod channels: invite the bot to the pods' swarm channels");
    }
    // What the store held comes first; the claims skip what was printed before.
    let mut backlog = Some(session.take_backlog());
    // What the other processes on this store receive, this one prints too.
    let mut feed = session.watch_store();
    let mut bus = session.take_bus_inbox();
    let mut connections = 0;
    let mut beat = tokio::time::interval(BEAT_EVERY);
    let mut out = std::io::stdout().lock();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut held = std::collections::VecDeque::new();
    let mut claim_trouble = None;
    // What stderr last said of the store.
    let mut said = None;
    let printed: Result<()> = async {
        loop {
            let events = if let Some(stored) = backlog.take() {
                stored
            } else {
                tokio::select! {
                    // A store behind a flood: the events wait in the client's spill file.
                    update = connected.updates.recv(), if !session.store_behind() => match update {
                        Some(Update::Event(incoming)) => session.ingest(&incoming, now()),
                        Some(Update::Covered { through_us }) => {
                            session.on_covered(through_us);
                            continue;
                        }
                        Some(Update::Status(status)) => {
                            tracing::info!(?status, "connection status");
                            if let Some(problem) = &status.problem {
                                eprintln!("slack: {problem}");
                            }
                            connections = status.connected as u32;
                            session.beat(connections, now());
                            continue;
                        }
                        Some(Update::Company { app_connections, ours }) => {
                            session.beat(ours, now());
                            session.on_company(app_connections, ours, now());
                            continue;
                        }
                        None => color_eyre::eyre::bail!("the Slack client stopped"),
                    },
                    Some(said) = next_said(&mut bus) => session.on_bus(said, now()),
                    Some(stored) = next_stored(&mut feed) => {
                        let at = now();
                        stored.iter().flat_map(|json| session.ingest_stored(json, at)).collect()
                    }
                    _ = beat.tick() => {
                        session.beat(connections, now());
                        continue;
                    }
                    _ = tick.tick() => {
                        // A split is said on stderr by the session's log, once per change.
                        session.settle_company(now());
                        session.desk.tick(now())
                    }
                    _ = tokio::time::sleep(Duration::from_millis(20)), if session.store_behind() => continue,
                    _ = &mut shutdown => return Ok(()),
                }
            };
            // An event is printed once claimed: while the store cannot write the claim,
            // it waits here in order (tried again each second), rather than print twice.
            held.extend(events);
            claim_trouble = None;
            while let Some(e) = held.front() {
                let claimed = match store.claim(&options.consumer, &e.key, e.at.secs()) {
                    Ok(claimed) => claimed,
                    Err(err) => match store.trouble(&err) {
                        Some(t) => {
                            claim_trouble = Some(t);
                            break;
                        }
                        None => return Err(err),
                    },
                };
                let Some(e) = held.pop_front() else { break };
                if !claimed {
                    continue;
                }
                let line = if options.json {
                    json_line(&e).to_string()
                } else {
                    text_line(&e)
                };
                match writeln!(out, "{line}").and_then(|_| out.flush()) {
                    Ok(()) => {}
                    // The reader went away (`| head`): that is the end, not an error.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                    Err(e) => return Err(e.into()),
                }
            }
            say_store(
                &mut said,
                claim_trouble.clone().or_else(|| session.store_trouble()),
            );
        }
    }
    .await;
    // What is queued for the team bus goes out, and the others are told this one left.
    session.close_bus().await;
    printed
}

/// Says on stderr when the store stops taking writes, and when it takes them again.
fn say_store(said: &mut Option<Trouble>, now: Option<Trouble>) {
    if *said == now {
        return;
    }
    match &now {
        Some(t) => eprintln!("✗ {t} — events are kept in memory until it can write again"),
        None => eprintln!("✓ store: writing again"),
    }
    *said = now;
}

fn now() -> Ts {
    Ts::from_datetime(Utc::now())
}

pub fn rfc3339(ts: Ts) -> String {
    ts.to_datetime()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The event as DESIGN §3 defines `tail --json`'s lines.
pub fn json_line(e: &Lifecycle) -> Value {
    let mut v = json!({
        "type": e.kind.name(),
        "pod": e.pod,
        "channel": e.channel,
        "thread_ts": e.thread_ts.to_string(),
    });
    if let Some(case) = &e.case {
        v["case"] = json!(case);
    }
    v["at"] = json!(rfc3339(e.at));
    let mut put = |k: &str, val: Value| {
        if !val.is_null() {
            v[k] = val;
        }
    };
    match &e.kind {
        LifecycleKind::SwarmOpened {
            urgency,
            subject,
            requester,
            link,
        } => {
            put("urgency", json!(urgency.as_str()));
            put("subject", json!(subject));
            put("requester", json!(requester));
            put("link", json!(link));
        }
        LifecycleKind::Updated {
            urgency,
            subject,
            link,
        } => {
            put("urgency", json!(urgency.as_str()));
            put("subject", json!(subject));
            put("link", json!(link));
        }
        LifecycleKind::Reply {
            user,
            ts,
            text,
            first_response,
        } => {
            put("user", json!(user));
            put("ts", json!(ts.to_string()));
            put("text", json!(text));
            put("first_response", json!(first_response));
        }
        LifecycleKind::Assigned { expert, lead } | LifecycleKind::Unassigned { expert, lead } => {
            put("expert", json!(expert));
            put("lead", json!(lead));
        }
        LifecycleKind::Promoted {
            incident_channel,
            incident_channel_id,
            lead,
        } => {
            put("incident_channel", json!(incident_channel));
            put("incident_channel_id", json!(incident_channel_id));
            put("lead", json!(lead));
        }
        LifecycleKind::Resolved { resolution, by } => {
            put("resolution", json!(resolution));
            put("by", json!(by));
        }
        LifecycleKind::Reopened { by } => put("by", json!(by)),
        LifecycleKind::NeedsResponse { user } => put("user", json!(user)),
        LifecycleKind::SlaBreached { clock, due } => {
            put("clock", json!(clock.as_str()));
            put("due", json!(rfc3339(*due)));
        }
        LifecycleKind::FollowUpDue { next_steps } => put("next_steps", json!(next_steps)),
        LifecycleKind::Withdrawn => {}
        LifecycleKind::Asked { expert, lead } => {
            put("expert", json!(expert));
            put("lead", json!(lead));
        }
        LifecycleKind::Declined {
            expert,
            reason,
            lead,
        } => {
            put("expert", json!(expert));
            put("reason", json!(reason.code()));
            put("lead", json!(lead));
        }
        LifecycleKind::AskUnanswered { expert } | LifecycleKind::Claimed { expert } => {
            put("expert", json!(expert))
        }
        LifecycleKind::ExpertQuiet { expert, since } => {
            put("expert", json!(expert));
            put("since", json!(rfc3339(*since)));
        }
        LifecycleKind::UpdateDue { last } => put("last_update", json!(last.map(rfc3339))),
        LifecycleKind::StatusUpdate {
            status,
            next_update_at,
            lead,
        } => {
            put("status", json!(status));
            put("next_update_at", json!(next_update_at.map(rfc3339)));
            put("lead", json!(lead));
        }
        LifecycleKind::Duplicate { of } => {
            // Both swarms in full, so that a script needs no second lookup.
            put(
                "duplicate",
                json!({
                    "pod": e.pod,
                    "channel": e.channel,
                    "thread_ts": e.thread_ts.to_string(),
                    "case": e.case,
                }),
            );
            put(
                "original",
                json!({
                    "pod": of.pod,
                    "channel": of.of.channel,
                    "thread_ts": of.of.thread_ts.to_string(),
                    "case": of.case,
                }),
            );
            put("likeness", json!(of.likeness.as_str()));
        }
    }
    v
}

/// One readable line: when, pod, case, what, and the gist.
pub fn text_line(e: &Lifecycle) -> String {
    let at = e.at.to_datetime().format("%Y-%m-%d %H:%M:%S");
    let case = e.case.as_deref().map_or(String::new(), |c| format!("#{c}"));
    let detail = match &e.kind {
        LifecycleKind::SwarmOpened {
            urgency, subject, ..
        }
        | LifecycleKind::Updated {
            urgency, subject, ..
        } => format!("{urgency}  {subject}"),
        LifecycleKind::Reply {
            user,
            text,
            first_response,
            ..
        } => format!(
            "{}{}: {text}",
            user.as_deref().unwrap_or("(app)"),
            if *first_response {
                " (first response)"
            } else {
                ""
            }
        ),
        LifecycleKind::Assigned { expert, .. }
        | LifecycleKind::Unassigned { expert, .. }
        | LifecycleKind::Asked { expert, .. }
        | LifecycleKind::AskUnanswered { expert }
        | LifecycleKind::ExpertQuiet { expert, .. }
        | LifecycleKind::Claimed { expert } => expert.clone(),
        LifecycleKind::Declined { expert, reason, .. } => format!("{expert}: {}", reason.label()),
        LifecycleKind::Promoted {
            incident_channel, ..
        } => format!("#{incident_channel}"),
        LifecycleKind::Resolved { resolution, .. } => resolution.clone().unwrap_or_default(),
        LifecycleKind::SlaBreached { clock, .. } => clock.as_str().to_string(),
        LifecycleKind::FollowUpDue { next_steps } => next_steps.clone(),
        LifecycleKind::StatusUpdate { status, .. } => status.clone(),
        LifecycleKind::UpdateDue { .. } => "stakeholder update due".to_string(),
        LifecycleKind::Duplicate { of } => {
            format!("of #{} ({}, {})", of.case, of.pod, of.likeness.label())
        }
        LifecycleKind::Reopened { .. }
        | LifecycleKind::NeedsResponse { .. }
        | LifecycleKind::Withdrawn => String::new(),
    };
    format!(
        "{at}  {:<10} {case:<8} {:<14} {}",
        e.pod,
        e.kind.name(),
        crate::domain::text::one_line(&detail)
    )
}
