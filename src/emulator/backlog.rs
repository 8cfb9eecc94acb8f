//! The backlog `swarmdeck demo` opens on: about a dozen open swarms across the pods, as a
//! shift looks when the lead sits down — some new, some assigned, one past its first
//! response target and others close to theirs, one promoted to an incident channel, one
//! whose requester just answered, one waiting on the customer — and a few resolved
//! earlier today. Posted into history with past timestamps, so a client learns of them
//! the way it would on real Slack: from conversations.history when it starts.

use super::clock::Clock;
use super::seed;
use super::workload::workflow_post;
use super::world::{Post, Ts, World};
use serde_json::{Value, json};

/// What happened in a swarm's thread, minutes after its request.
enum Step {
    Reply(&'static str, &'static str),
    /// A reply by the requester.
    Requester(&'static str),
    /// One of swarmdeck's moves: a bot post with message metadata.
    Move(&'static str, Value, &'static str),
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
            thread: vec![],
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
            thread: vec![],
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
    ]
}

/// Posts the backlog into the workspace, all of it in the past.
pub(crate) fn seed(world: &mut World) {
    let now = Clock::now_micros();
    let minute = 60_000_000u64;
    let bot_user = world.first_app().bot_user_id.clone();
    let bot_id = world.first_app().bot_id.clone();
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
        for (minutes, step) in swarm.thread {
            let ts: Ts = root + minutes * minute;
            let reply = |user: String, text: String, metadata: Option<Value>| Post {
                user: Some(user),
                text,
                thread_ts: Some(root),
                metadata,
                ..Post::default()
            };
            let post = match step {
                Step::Reply(e, text) => reply(expert(e), text.into(), None),
                Step::Requester(text) => reply(requester.clone(), text.into(), None),
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
                    payload["lead"] = json!(seed::LEAD_ID);
                    payload["case"] = json!(case.to_string());
                    let mut p = reply(
                        bot_user.clone(),
                        format!("swarmdeck: {what} (case {case})"),
                        None,
                    );
                    p.bot_id = Some(bot_id.clone());
                    p.metadata = Some(json!({"event_type": event_type, "event_payload": payload}));
                    p
                }
                Step::Resolved => {
                    let _ = world.react(idx, root, "white_check_mark", &requester, true, ts);
                    continue;
                }
            };
            let _ = world.post(idx, post, ts);
        }
    }
}
