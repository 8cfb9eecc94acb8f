//! The lead's moves against the emulator: each action's exact effect, read back through
//! `/_emulator/calls` and `/_emulator/state`, and each done once — through taken names,
//! people already in the channel, a 429 and a 5xx in the middle of a promotion, and a
//! connection that drops while actions wait.

mod common;

use common::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use swarmdeck::config::Settings;
use swarmdeck::domain::moves::{Action, Mover, Promotion};
use swarmdeck::domain::{Status, Swarm, Ts};
use swarmdeck::emulator::EmulatorConfig;
use swarmdeck::session::{Replay, Session};
use swarmdeck::slack::actions::{ActionState, ActionUpdate, Outbox, OutboxConfig};
use swarmdeck::slack::{self, SlackConfig, Token, Update};
use tokio::sync::{mpsc, watch};

const POD: &str = "C0SWARMAPI";
const LEAD: &str = "U0LEAD0001";
const EXPERT: &str = "U0EXP00001";
const REQUESTER: &str = "U0REQ00001";

/// An emulator, a connected client feeding a session (no store), and an outbox: the
/// dashboard's plumbing without the terminal.
struct Rig {
    emu: Emu,
    session: Arc<Mutex<Session>>,
    outbox: Outbox,
    updates: mpsc::UnboundedReceiver<ActionUpdate>,
    online: watch::Receiver<bool>,
    seq: u32,
}

fn now() -> Ts {
    Ts::from_datetime(chrono::Utc::now())
}

impl Rig {
    async fn start(time_scale: f64) -> Rig {
        let emu = start(EmulatorConfig {
            rate: 0.0,
            time_scale,
            ..EmulatorConfig::default()
        })
        .await;
        let mut config = SlackConfig::new(&emu.running.api_url(), Token::new(BOT), Token::new(APP));
        config.web.time_scale = time_scale;
        config.socket.backoff.base = Duration::from_millis(200);
        config.initial_lookback = Duration::from_secs(60);
        let connected = slack::connect(config).await.expect("connects");
        // No pods configured: the bot's channels (the seeded swarm channels) are the pods.
        let settings = Settings::demo(&emu.running.api_url(), std::env::temp_dir());
        let mut session = Session::from_store(Arc::new(settings), None, now(), Replay::State);
        session.on_connected(&connected, now());
        let session = Arc::new(Mutex::new(session));
        let (online_tx, online) = watch::channel(false);
        let (report, updates) = mpsc::unbounded_channel();
        let outbox = Outbox::spawn(
            connected.web.clone(),
            OutboxConfig::new(&connected.identity.bot_user_id, time_scale),
            online.clone(),
            report,
        );
        let pump = session.clone();
        let mut stream = connected.updates;
        tokio::spawn(async move {
            while let Some(update) = stream.recv().await {
                match update {
                    Update::Status(s) => {
                        let _ = online_tx.send(s.connected > 0);
                    }
                    Update::Event(incoming) => {
                        pump.lock().unwrap().ingest(&incoming, now());
                    }
                    Update::Covered { .. } | Update::Company { .. } => {}
                }
            }
        });
        let mut rig = Rig {
            emu,
            session,
            outbox,
            updates,
            online,
            seq: 0,
        };
        rig.wait_online(true).await;
        rig
    }

    async fn wait_online(&mut self, up: bool) {
        tokio::time::timeout(DEADLINE, self.online.wait_for(|o| *o == up))
            .await
            .expect("connection state in time")
            .expect("client running");
    }

    /// Posts a request as its requester would and waits for the desk to see the swarm.
    async fn request(&self, case: &str, urgency: &str, subject: &str) -> Swarm {
        let text = format!(
            "*Case number:* {case}\n*Urgency:* {urgency}\n*Subject:* {subject}\n*Case link:* <https://support.acme.example/cases/{case}|Case {case}>\n*Requested by:* <@{REQUESTER}>"
        );
        let answer = self
            .emu
            .inject(json!({"type": "message", "channel": POD, "user": REQUESTER, "text": text}))
            .await;
        let ts = Ts::parse(answer["ts"].as_str().unwrap()).unwrap();
        self.wait_swarm(ts, |_| true).await
    }

    /// Waits until the swarm at `ts` satisfies `ok`.
    async fn wait_swarm(&self, ts: Ts, ok: impl Fn(&Swarm) -> bool) -> Swarm {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if let Some(s) = self
                .session
                .lock()
                .unwrap()
                .desk
                .swarm(POD, ts)
                .filter(|s| ok(s))
            {
                return s.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "swarm {ts} never got there: {:?}",
                self.session.lock().unwrap().desk.swarm(POD, ts)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn mover(&mut self) -> Mover<'static> {
        self.seq += 1;
        Mover {
            id: format!("T{}-{}", now().0, self.seq),
            lead: Some(LEAD),
            resolved_reaction: "white_check_mark",
        }
    }

    /// Sends an action and waits for where it ends (done or failed); returns every state
    /// it went through.
    async fn run(&mut self, action: Action) -> Vec<ActionState> {
        let id = action.id.clone();
        self.outbox.send(action).unwrap();
        self.until_settled(&id).await
    }

    async fn until_settled(&mut self, id: &str) -> Vec<ActionState> {
        let mut states = Vec::new();
        loop {
            let u = tokio::time::timeout(DEADLINE, self.updates.recv())
                .await
                .expect("the action settles in time")
                .expect("outbox running");
            if u.id != id {
                continue;
            }
            let end = matches!(u.state, ActionState::Done | ActionState::Failed { .. });
            states.push(u.state);
            if end {
                return states;
            }
        }
    }

    async fn calls(&self) -> Vec<Value> {
        self.emu
            .control_get("calls")
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    async fn calls_after(&self, n: usize) -> Vec<Value> {
        self.calls().await.into_iter().skip(n).collect()
    }

    async fn message(&self, channel: &str, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let c = self.emu.channel_state(channel).await;
        c["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| pred(m))
            .cloned()
            .collect()
    }

    /// Assigns `expert` through the outbox, and waits for the desk to agree.
    async fn assign(&mut self, swarm: &Swarm, expert: &str) {
        let a = self.mover().assign(swarm, expert, expert);
        assert_eq!(self.run(a).await.last(), Some(&ActionState::Done));
        self.wait_swarm(swarm.thread_ts, |s| s.experts.iter().any(|e| e == expert))
            .await;
    }
}

impl Rig {
    /// A channel made beforehand with this name and purpose (by another lead's swarmdeck,
    /// or anyone using the same app); returns its id.
    async fn existing_channel(&self, name: &str, purpose: &str) -> String {
        let made = self.emu.ok("conversations.create", &[("name", name)]).await;
        let id = made["channel"]["id"].as_str().unwrap().to_string();
        self.emu
            .ok(
                "conversations.setPurpose",
                &[("channel", &id), ("purpose", purpose)],
            )
            .await;
        id
    }

    async fn permalink(&self, swarm: &Swarm) -> String {
        let ts = swarm.thread_ts.to_string();
        let answer = self
            .emu
            .ok(
                "chat.getPermalink",
                &[("channel", POD), ("message_ts", &ts)],
            )
            .await;
        answer["permalink"].as_str().unwrap().to_string()
    }

    /// Channels whose name starts with `prefix` (the incident channel and any suffixed copy).
    async fn channels_named(&self, prefix: &str) -> Vec<Value> {
        let state = self.emu.state().await;
        state["channels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["name"].as_str().unwrap().starts_with(prefix))
            .cloned()
            .collect()
    }
}

fn methods(calls: &[Value]) -> Vec<&str> {
    calls
        .iter()
        .map(|c| c["method"].as_str().unwrap())
        .collect()
}

fn count(calls: &[Value], method: &str) -> usize {
    calls.iter().filter(|c| c["method"] == method).count()
}

fn meta_type(m: &Value) -> &str {
    m["metadata"]["event_type"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_and_unassign_post_once_in_the_thread_naming_the_lead() {
    let mut rig = Rig::start(1.0).await;
    let swarm = rig.request("27001", "Sev 2", "Webhooks delayed").await;
    let before = rig.calls().await.len();
    rig.assign(&swarm, EXPERT).await;
    let calls = rig.calls_after(before).await;
    assert_eq!(methods(&calls), ["chat.postMessage"], "{calls:#?}");
    let p = &calls[0]["params"];
    assert_eq!(p["channel"], POD);
    assert_eq!(p["thread_ts"], swarm.thread_ts.to_string());
    assert_eq!(p["metadata"]["event_type"], "swarmdeck_assigned");
    assert_eq!(p["metadata"]["event_payload"]["expert"], EXPERT);
    assert_eq!(p["metadata"]["event_payload"]["lead"], LEAD);
    assert_eq!(p["metadata"]["event_payload"]["case"], "27001");
    assert!(
        p["text"]
            .as_str()
            .unwrap()
            .contains(&format!("<@{EXPERT}>"))
    );
    let posted = rig
        .message("swarm-api", |m| meta_type(m) == "swarmdeck_assigned")
        .await;
    assert_eq!(posted.len(), 1, "one post in Slack");
    assert_eq!(posted[0]["thread_ts"], swarm.thread_ts.to_string());

    // A second expert: several per swarm.
    rig.assign(&swarm, "U0EXP00002").await;
    let unassign = rig.mover().unassign(&swarm, EXPERT, "Priya");
    assert_eq!(rig.run(unassign).await.last(), Some(&ActionState::Done));
    let s = rig
        .wait_swarm(swarm.thread_ts, |s| s.experts == ["U0EXP00002"])
        .await;
    assert_eq!(s.status, Status::Assigned);
}

/// Everything a promotion does, in order, and where it lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_creates_the_channel_invites_sets_links_and_posts_once() {
    let mut rig = Rig::start(1.0).await;
    let swarm = rig.request("27343", "Sev 1", "EU API returns 502").await;
    rig.assign(&swarm, EXPERT).await;
    let swarm = rig
        .wait_swarm(swarm.thread_ts, |s| !s.experts.is_empty())
        .await;
    let plan = Promotion::proposed(&rig.session.lock().unwrap().desk, &swarm);
    assert_eq!(plan.channel_name, "support-api-sev1-27343");
    let before = rig.calls().await.len();
    let promote = rig.mover().promote(&swarm, &plan);
    let states = rig.run(promote).await;
    assert_eq!(states.last(), Some(&ActionState::Done), "{states:?}");

    let calls = rig.calls_after(before).await;
    assert_eq!(
        methods(&calls),
        [
            "conversations.create",
            "conversations.invite",
            "conversations.setTopic",
            "chat.getPermalink",
            "conversations.setPurpose",
            "chat.postMessage",
            "bookmarks.list",
            "bookmarks.add",
            "chat.postMessage",
        ]
    );
    assert_eq!(
        calls[1]["params"]["users"],
        format!("{REQUESTER},{EXPERT},{LEAD}")
    );
    let channel = rig.emu.channel_state("support-api-sev1-27343").await;
    let id = channel["id"].as_str().unwrap().to_string();
    for who in [REQUESTER, EXPERT, LEAD] {
        assert!(members(&channel).contains(&who), "{who} in {channel:#}");
    }
    assert_eq!(channel["is_private"], false);
    assert_eq!(channel["topic"], "Case 27343 · Sev1 · EU API returns 502");
    let permalink = rig.permalink(&swarm).await;
    let purpose = channel["purpose"].as_str().unwrap();
    assert!(purpose.contains(&permalink), "{purpose}");
    assert!(
        purpose.contains("https://support.acme.example/cases/27343"),
        "{purpose}"
    );
    assert_eq!(channel["bookmarks"].as_array().unwrap().len(), 1);
    assert_eq!(
        channel["bookmarks"][0]["link"],
        "https://support.acme.example/cases/27343"
    );
    // The incident channel links to the thread…
    let summary = rig
        .message("support-api-sev1-27343", |m| {
            meta_type(m) == "swarmdeck_note"
        })
        .await;
    assert_eq!(summary.len(), 1);
    assert!(summary[0]["text"].as_str().unwrap().contains(&permalink));
    assert_eq!(summary[0]["metadata"]["event_payload"]["lead"], LEAD);
    // …and the thread to the incident channel, with the marker every swarmdeck reads.
    let back = rig
        .message("swarm-api", |m| meta_type(m) == "swarmdeck_promoted")
        .await;
    assert_eq!(back.len(), 1);
    assert!(
        back[0]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("<#{id}>"))
    );
    assert_eq!(
        back[0]["metadata"]["event_payload"]["incident_channel_id"],
        id
    );
    let s = rig
        .wait_swarm(swarm.thread_ts, |s| s.status == Status::Promoted)
        .await;
    assert_eq!(s.incident.unwrap().channel_name, "support-api-sev1-27343");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_promotion_makes_a_private_channel() {
    let mut rig = Rig::start(1.0).await;
    let swarm = rig.request("27400", "Sev 2", "Legal hold on export").await;
    let mut plan = Promotion::proposed(&rig.session.lock().unwrap().desk, &swarm);
    plan.private = true;
    let promote = rig.mover().promote(&swarm, &plan);
    assert_eq!(rig.run(promote).await.last(), Some(&ActionState::Done));
    let channel = rig.emu.channel_state("support-api-sev2-27400").await;
    assert_eq!(channel["is_private"], true);
    assert!(members(&channel).contains(&REQUESTER));
}

/// The name is taken by this swarm's own channel (another lead got there first, and
/// invited everyone already): reused, nothing created, already_in_channel is fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_name_that_is_this_swarms_own_channel_is_reused() {
    let mut rig = Rig::start(1.0).await;
    let swarm = rig.request("27500", "Sev 1", "Tokens rejected").await;
    let permalink = rig.permalink(&swarm).await;
    let id = rig
        .existing_channel(
            "support-api-sev1-27500",
            &format!("Case 27500 · Swarm thread: {permalink}"),
        )
        .await;
    let both = format!("{REQUESTER},{LEAD}");
    rig.emu
        .ok(
            "conversations.invite",
            &[("channel", &id), ("users", &both)],
        )
        .await;

    let before = rig.calls().await.len();
    let plan = Promotion::proposed(&rig.session.lock().unwrap().desk, &swarm);
    let promote = rig.mover().promote(&swarm, &plan);
    assert_eq!(rig.run(promote).await.last(), Some(&ActionState::Done));
    let calls = rig.calls_after(before).await;
    assert_eq!(
        count(&calls, "conversations.create"),
        1,
        "tried once, taken"
    );
    let invite = calls
        .iter()
        .find(|c| c["method"] == "conversations.invite")
        .unwrap();
    assert_eq!(invite["error"], "already_in_channel", "and that is fine");
    let incident = rig.channels_named("support-api-sev1-27500").await;
    assert_eq!(incident.len(), 1, "no second channel");
    assert!(members(&incident[0]).contains(&LEAD), "the lead is in it");
    let back = rig
        .message("swarm-api", |m| meta_type(m) == "swarmdeck_promoted")
        .await;
    assert_eq!(
        back[0]["metadata"]["event_payload"]["incident_channel_id"],
        id
    );
}

/// The name is taken by someone else's channel: the next suffix is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_name_that_is_not_ours_gets_a_suffix() {
    let mut rig = Rig::start(1.0).await;
    let swarm = rig.request("27600", "Sev 1", "Webhook storm").await;
    rig.existing_channel("support-api-sev1-27600", "Last year's outage review")
        .await;
    let plan = Promotion::proposed(&rig.session.lock().unwrap().desk, &swarm);
    let promote = rig.mover().promote(&swarm, &plan);
    assert_eq!(rig.run(promote).await.last(), Some(&ActionState::Done));
    let ours = rig.emu.channel_state("support-api-sev1-27600-2").await;
    assert!(members(&ours).contains(&REQUESTER));
    let theirs = rig.emu.channel_state("support-api-sev1-27600").await;
    assert_eq!(theirs["purpose"], "Last year's outage review", "left alone");
    assert!(!members(&theirs).contains(&REQUESTER));
    let s = rig
        .wait_swarm(swarm.thread_ts, |s| s.incident.is_some())
        .await;
    assert_eq!(s.incident.unwrap().channel_name, "support-api-sev1-27600-2");
}

/// A 429 on one step and a 5xx on a post, mid-promotion: it resumes where it stopped,
/// and creates, invites and posts nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_and_a_5xx_mid_promotion_resume_without_repeating_a_step() {
    let mut rig = Rig::start(20.0).await;
    let swarm = rig.request("27700", "Sev 1", "Checkout API timeouts").await;
    rig.assign(&swarm, EXPERT).await;
    let swarm = rig
        .wait_swarm(swarm.thread_ts, |s| !s.experts.is_empty())
        .await;
    for fault in [
        json!({"method": "conversations.setTopic", "status": 429, "retry_after": 1, "count": 1}),
        json!({"method": "bookmarks.add", "status": 429, "retry_after": 1, "count": 3}),
        json!({"method": "chat.postMessage", "status": 503, "count": 1}),
    ] {
        let (status, body) = rig.emu.control_post("faults", fault).await;
        assert_eq!(status, 200, "{body}");
    }
    let before = rig.calls().await.len();
    let plan = Promotion::proposed(&rig.session.lock().unwrap().desk, &swarm);
    let promote = rig.mover().promote(&swarm, &plan);
    let states = rig.run(promote).await;
    assert_eq!(states.last(), Some(&ActionState::Done), "{states:?}");
    assert!(
        states.iter().any(|s| matches!(s, ActionState::Retrying { error, .. } if error.contains("503") || error.contains("rate"))),
        "the lead saw the retry: {states:?}"
    );
    let calls = rig.calls_after(before).await;
    let names = methods(&calls);
    assert_eq!(count(&calls, "conversations.create"), 1, "{names:?}");
    assert_eq!(count(&calls, "conversations.invite"), 1, "{names:?}");
    // The 503'd summary was looked for before it was posted again.
    assert!(names.contains(&"conversations.history"), "{names:?}");
    let channel = rig.emu.channel_state("support-api-sev1-27700").await;
    assert_eq!(
        channel["topic"],
        "Case 27700 · Sev1 · Checkout API timeouts"
    );
    assert_eq!(channel["bookmarks"].as_array().unwrap().len(), 1);
    let summaries = rig
        .message("support-api-sev1-27700", |m| {
            meta_type(m) == "swarmdeck_note"
        })
        .await;
    assert_eq!(summaries.len(), 1, "one summary");
    let backs = rig
        .message("swarm-api", |m| meta_type(m) == "swarmdeck_promoted")
        .await;
    assert_eq!(backs.len(), 1, "one link back");
    assert_eq!(rig.channels_named("support-api-sev1-27700").await.len(), 1);
}

/// A post whose answer was lost but which landed is not posted again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_landed_before_its_failure_is_not_repeated() {
    let mut rig = Rig::start(20.0).await;
    let swarm = rig.request("27750", "Sev 3", "Export slow").await;
    // A copy of an action that already landed (what a retry after a lost answer is)
    // meets a 5xx, looks for its post by the action id, finds it, and posts nothing.
    let reply = rig.mover().reply(&swarm, "Looking into it");
    let mut again = reply.clone();
    again.label = "the same action, resent".into();
    assert_eq!(rig.run(reply).await.last(), Some(&ActionState::Done));
    let before = rig.calls().await.len();
    rig.emu
        .control_post(
            "faults",
            json!({"method": "chat.postMessage", "status": 500, "count": 1}),
        )
        .await;
    assert_eq!(rig.run(again).await.last(), Some(&ActionState::Done));
    let calls = rig.calls_after(before).await;
    assert_eq!(
        methods(&calls),
        ["chat.postMessage", "conversations.replies"],
        "{calls:#?}"
    );
    let replies = rig
        .message("swarm-api", |m| m["text"] == "Looking into it")
        .await;
    assert_eq!(replies.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_a_promoted_swarm_then_reopen_it() {
    let mut rig = Rig::start(1.0).await;
    let swarm = rig.request("27800", "Sev 1", "Login loop").await;
    let plan = Promotion::proposed(&rig.session.lock().unwrap().desk, &swarm);
    let promote = rig.mover().promote(&swarm, &plan);
    assert_eq!(rig.run(promote).await.last(), Some(&ActionState::Done));
    let swarm = rig
        .wait_swarm(swarm.thread_ts, |s| s.incident.is_some())
        .await;
    let before = rig.calls().await.len();
    let resolve = rig
        .mover()
        .resolve(&swarm, "Cleared the bad session cache", true);
    assert_eq!(rig.run(resolve).await.last(), Some(&ActionState::Done));
    let calls = rig.calls_after(before).await;
    assert_eq!(
        methods(&calls),
        [
            "chat.postMessage",
            "reactions.add",
            "chat.getPermalink",
            "chat.postMessage",
            "conversations.archive"
        ]
    );
    let root = rig
        .message("swarm-api", |m| m["ts"] == swarm.thread_ts.to_string())
        .await;
    assert!(
        root[0]["reactions"]
            .to_string()
            .contains("white_check_mark"),
        "{root:?}"
    );
    let incident = rig.emu.channel_state("support-api-sev1-27800").await;
    assert_eq!(incident["is_archived"], true);
    assert!(
        incident["messages"]
            .to_string()
            .contains("Cleared the bad session cache")
    );
    let s = rig
        .wait_swarm(swarm.thread_ts, |s| s.status == Status::Resolved)
        .await;
    assert_eq!(
        s.resolution.as_deref(),
        Some("Cleared the bad session cache")
    );

    let reopen = rig.mover().reopen(&s);
    assert_eq!(rig.run(reopen).await.last(), Some(&ActionState::Done));
    let s = rig.wait_swarm(swarm.thread_ts, |s| s.is_open()).await;
    assert!(s.resolved_at.is_none());
    let root = rig
        .message("swarm-api", |m| m["ts"] == swarm.thread_ts.to_string())
        .await;
    assert!(
        !root[0]["reactions"]
            .to_string()
            .contains("white_check_mark"),
        "{root:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_follow_up_and_reply_each_post_once_and_change_the_swarm() {
    let mut rig = Rig::start(1.0).await;
    let swarm = rig.request("27900", "Sev 3", "CSV export").await;
    let waiting = rig.mover().toggle_waiting(&swarm);
    assert_eq!(rig.run(waiting).await.last(), Some(&ActionState::Done));
    let s = rig
        .wait_swarm(swarm.thread_ts, |s| s.status == Status::WaitingOnCustomer)
        .await;
    let back = rig.mover().toggle_waiting(&s);
    assert_eq!(rig.run(back).await.last(), Some(&ActionState::Done));
    rig.wait_swarm(swarm.thread_ts, |s| s.status != Status::WaitingOnCustomer)
        .await;
    let due = now().plus_secs(7_200);
    let follow = rig.mover().follow_up(&swarm, "Ask for the HAR file", due);
    assert_eq!(rig.run(follow).await.last(), Some(&ActionState::Done));
    let s = rig
        .wait_swarm(swarm.thread_ts, |s| s.follow_up_at.is_some())
        .await;
    assert_eq!(s.next_steps.as_deref(), Some("Ask for the HAR file"));
    assert_eq!(s.follow_up_at.map(|t| t.secs()), Some(due.secs()));
    let reply = rig.mover().reply(&swarm, "Could you attach the HAR file?");
    assert_eq!(rig.run(reply).await.last(), Some(&ActionState::Done));
    let posts = rig
        .message("swarm-api", |m| {
            m["thread_ts"] == swarm.thread_ts.to_string() && m["ts"] != swarm.thread_ts.to_string()
        })
        .await;
    let types: Vec<&str> = posts.iter().map(meta_type).collect();
    assert_eq!(
        types,
        [
            "swarmdeck_waiting",
            "swarmdeck_waiting",
            "swarmdeck_follow_up",
            "swarmdeck_replied"
        ]
    );
    for p in &posts {
        assert_eq!(p["metadata"]["event_payload"]["lead"], LEAD, "{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoff_goes_to_a_channel_or_to_a_person() {
    let mut rig = Rig::start(1.0).await;
    rig.request("28000", "Sev 1", "Outage").await;
    rig.request("28001", "Sev 3", "Question").await;
    let text = {
        let session = rig.session.lock().unwrap();
        swarmdeck::domain::moves::handoff_text(&session.desk, Some(LEAD), now())
    };
    let to_channel = rig
        .mover()
        .handoff("C0SWARMDAT", "#swarm-data", text.clone());
    assert_eq!(rig.run(to_channel).await.last(), Some(&ActionState::Done));
    let posted = rig
        .message("swarm-data", |m| meta_type(m) == "swarmdeck_note")
        .await;
    assert_eq!(posted.len(), 1);
    let body = posted[0]["text"].as_str().unwrap();
    assert!(
        body.find("*28000*").unwrap() < body.find("*28001*").unwrap(),
        "{body}"
    );

    let to_person = rig.mover().handoff("U0EXP00003", "@amara.okafor", text);
    assert_eq!(rig.run(to_person).await.last(), Some(&ActionState::Done));
    let state = rig.emu.state().await;
    let dm = state["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["is_im"] == true)
        .expect("a direct message")
        .clone();
    assert!(members(&dm).contains(&"U0EXP00003"));
    assert_eq!(dm["messages"].as_array().unwrap().len(), 1);
}

/// Slack's answer that will not change by retrying is shown, not retried forever, and
/// the queue moves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_action_fails_with_slacks_error_and_the_next_one_runs() {
    let mut rig = Rig::start(1.0).await;
    let swarm = rig.request("28100", "Sev 3", "Typo").await;
    let mut gone = swarm.clone();
    gone.thread_ts = Ts::from_secs(1_000);
    let bad = rig.mover().reply(&gone, "hello?");
    let good = rig.mover().reply(&swarm, "hello!");
    let good_id = good.id.clone();
    let bad_id = bad.id.clone();
    rig.outbox.send(bad).unwrap();
    rig.outbox.send(good).unwrap();
    let states = rig.until_settled(&bad_id).await;
    assert!(
        matches!(states.last(), Some(ActionState::Failed { error }) if error.contains("thread_not_found")),
        "{states:?}"
    );
    assert_eq!(
        rig.until_settled(&good_id).await.last(),
        Some(&ActionState::Done)
    );
}

/// Actions taken while the connection is down wait, and go out once it is back, in
/// the order they were taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_taken_while_disconnected_are_queued_and_sent_in_order() {
    let mut rig = Rig::start(1.0).await;
    let swarm = rig.request("28200", "Sev 2", "Queue stuck").await;
    let (status, _) = rig
        .emu
        .control_post("disconnect", json!({"mode": "outage", "seconds": 3}))
        .await;
    assert_eq!(status, 200);
    rig.wait_online(false).await;
    let before = rig.calls().await.len();
    let first = rig.mover().reply(&swarm, "first, while offline");
    let second = rig.mover().reply(&swarm, "second, while offline");
    let (first_id, second_id) = (first.id.clone(), second.id.clone());
    rig.outbox.send(first).unwrap();
    rig.outbox.send(second).unwrap();
    let u = tokio::time::timeout(DEADLINE, rig.updates.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.state, ActionState::Queued, "shown as pending at once");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(
        count(&rig.calls_after(before).await, "chat.postMessage"),
        0,
        "nothing sent while offline"
    );
    rig.wait_online(true).await;
    assert_eq!(
        rig.until_settled(&first_id).await.last(),
        Some(&ActionState::Done)
    );
    assert_eq!(
        rig.until_settled(&second_id).await.last(),
        Some(&ActionState::Done)
    );
    let texts: Vec<String> = rig
        .message("swarm-api", |m| meta_type(m) == "swarmdeck_replied")
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["first, while offline", "second, while offline"]);
}
