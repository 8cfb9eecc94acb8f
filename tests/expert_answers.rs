//! Experts answer from Slack, end to end: the real dashboard in tmux with `[actions]
//! assign = "ask"`, against the emulator; the expert's side is played through
//! `/_emulator/click` and injected reactions, as Slack would deliver them.
//! - `a` asks: a DM with Accept / Decline; Accept assigns, and the DM is updated in place;
//! - Decline with a reason: the row says so and the picker offers someone else;
//! - no answer within `accept_within`: the row says so;
//! - 👀 on a request claims it; an assigned expert quiet past `quiet_after` is flagged;
//! - forged clicks change nothing; a click delivered twice acts once; clicks that reach
//!   a `tail` beside the dashboard (same app, same store) are answered once, by the
//!   dashboard.

mod common;

use common::tmux::{Tmux, launch, tmux_available};
use common::{BOT, DEADLINE, Emu};
use serde_json::{Value, json};
use std::time::Instant;

const POD: &str = "C0SWARMAPI";
const PRIYA: &str = "U0EXP00001";
const LEAD: &str = "U0LEAD0001";

fn dashboard(emu: &Emu, name: &str, config: &str) -> Tmux {
    let dir = std::env::temp_dir().join(format!("swarmdeck-ask-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut tmux = launch(emu.base(), name, Some(config), &dir);
    tmux.owns_dir = true;
    tmux
}

fn ask_config(extra: &str) -> String {
    format!("lead = \"{LEAD}\"\n[actions]\nassign = \"ask\"\n{extra}")
}

/// Posts a Sev 1 request in the api pod and waits for its row; its root ts.
async fn request(emu: &Emu, tmux: &Tmux, case: u32) -> String {
    let posted = emu
        .inject(
            json!({"type": "message", "channel": POD, "user": "U0REQ00001",
            "text": format!("Case: {case}\nUrgency: Sev 1\nSubject: Webhooks time out")}),
        )
        .await;
    tmux.wait_for(&case.to_string());
    posted["ts"].as_str().unwrap().to_string()
}

/// Selects the case's row (by `:case`) and asks Priya with `a`.
fn ask_priya(tmux: &Tmux, case: u32) {
    tmux.keys(&[":"]);
    tmux.run(&["send-keys", "-t", "lead", "-l", &format!("case {case}")]);
    tmux.keys(&["Enter"]);
    tmux.keys(&["Escape"]);
    tmux.keys(&["a"]);
    tmux.wait_for(&format!("assign to {case}"));
    tmux.run(&["send-keys", "-t", "lead", "-l", "priya"]);
    tmux.wait_for("priya.raman");
    tmux.keys(&["Enter"]);
    tmux.wait_for(&format!("✓ ask priya.raman to take {case}"));
}

/// Every message of the workspace, with its channel's id.
async fn messages(emu: &Emu) -> Vec<(String, Value)> {
    let state = emu.state().await;
    let mut out = Vec::new();
    for c in state["channels"].as_array().unwrap() {
        for m in c["messages"].as_array().unwrap() {
            out.push((c["id"].as_str().unwrap().to_string(), m.clone()));
        }
    }
    out
}

fn has_action(m: &Value, action_id: &str) -> bool {
    m["blocks"].as_array().into_iter().flatten().any(|b| {
        b["elements"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["action_id"] == action_id)
    })
}

/// The ask's DM for `case`: (channel, ts, the Accept button's value).
async fn the_ask(emu: &Emu, case: u32) -> (String, String, String) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        for (channel, m) in messages(emu).await {
            if has_action(&m, "swarmdeck_accept")
                && m["text"].as_str().unwrap_or("").contains(&case.to_string())
            {
                let accept = m["blocks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
                    .find(|e| e["action_id"] == "swarmdeck_accept")
                    .unwrap();
                return (
                    channel,
                    m["ts"].as_str().unwrap().to_string(),
                    accept["value"].as_str().unwrap().to_string(),
                );
            }
        }
        assert!(Instant::now() < deadline, "no DM asking about {case}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The thread's markers of `event_type`.
async fn markers(emu: &Emu, root: &str, event_type: &str) -> Vec<Value> {
    messages(emu)
        .await
        .into_iter()
        .filter(|(c, m)| {
            c == POD && m["thread_ts"] == root && m["metadata"]["event_type"] == event_type
        })
        .map(|(_, m)| m)
        .collect()
}

async fn click(emu: &Emu, body: Value) -> (u16, Value) {
    emu.control_post("click", body).await
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expert_accepts_from_slack_and_the_dm_says_so_in_place() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let tmux = dashboard(&emu, "accept", &ask_config(""));
    tmux.wait_for("connected");
    let root = request(&emu, &tmux, 27343).await;
    ask_priya(&tmux, 27343);
    tmux.wait_for("priya.raman");
    let screen = tmux.wait_for("asked ");
    assert!(
        common::leads::row(&screen, "27343").contains("priya.raman"),
        "{screen}"
    );
    assert_eq!(markers(&emu, &root, "swarmdeck_asked").await.len(), 1);
    let (dm, ts, value) = the_ask(&emu, 27343).await;
    assert!(value.starts_with(&format!("{POD}|{root}|")), "{value}");

    let body = json!({"user": PRIYA, "channel": dm, "ts": ts, "action_id": "swarmdeck_accept"});
    let (status, answer) = click(&emu, body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    // A double click: the second comes before the first's answer lands (the buttons are
    // still there), and must add nothing.
    let (status, answer) = click(&emu, body).await;
    assert_eq!(status, 200, "{answer}");
    let screen = tmux.wait_for("✓ priya.raman accepted 27343");
    let row = common::leads::row(&screen, "27343");
    assert!(
        row.contains("priya.raman") && !row.contains("asked"),
        "{row}"
    );
    // The DM shows the answer instead of its buttons.
    wait_until("the DM is updated", || async {
        messages(&emu).await.iter().any(|(c, m)| {
            *c == dm
                && m["ts"] == ts.as_str()
                && !has_action(m, "swarmdeck_accept")
                && m["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains("You took case 27343")
        })
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let assigned = markers(&emu, &root, "swarmdeck_assigned").await;
    assert_eq!(assigned.len(), 1, "{assigned:?}");
    assert_eq!(assigned[0]["metadata"]["event_payload"]["expert"], PRIYA);
    assert_eq!(assigned[0]["metadata"]["event_payload"]["lead"], LEAD);
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_tells_the_lead_why_and_the_picker_offers_someone_else() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let tmux = dashboard(&emu, "decline", &ask_config(""));
    tmux.wait_for("connected");
    let root = request(&emu, &tmux, 27344).await;
    ask_priya(&tmux, 27344);
    let (dm, ts, value) = the_ask(&emu, 27344).await;
    let (status, answer) = click(
        &emu,
        json!({"user": PRIYA, "channel": dm, "ts": ts, "action_id": "swarmdeck_decline",
               "selected_option": format!("{value}|busy")}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let screen = tmux.wait_for("declined 27344: Busy with another case");
    // The picker is open again, on the next suggestion: not Priya.
    assert!(screen.contains("assign to 27344"), "{screen}");
    // The first candidate (the one selected) is the line under the search field.
    let first = screen
        .lines()
        .skip_while(|l| !l.contains("search"))
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        first.contains(" open") && !first.contains("priya"),
        "{first}\n{screen}"
    );
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_for("declined: busy");
    assert!(
        common::leads::row(&screen, "27344").contains("declined"),
        "{screen}"
    );
    assert_eq!(markers(&emu, &root, "swarmdeck_declined").await.len(), 1);
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_quiet_experts_and_claims_show_on_the_row() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let config = ask_config(
        "nudge_quiet = true\n[[pods]]\nchannel = \"swarm-api\"\nsla.sev1 = { accept_within = \"3s\", quiet_after = \"3s\" }\n",
    );
    let tmux = dashboard(&emu, "silence", &config);
    tmux.wait_for("connected");
    request(&emu, &tmux, 27345).await;
    ask_priya(&tmux, 27345);
    let screen = tmux.wait_for("no answer ");
    assert!(
        common::leads::row(&screen, "27345").contains("priya.raman"),
        "{screen}"
    );

    // 👀 from another expert on another request claims it.
    let claimed_root = request(&emu, &tmux, 27346).await;
    emu.inject(
        json!({"type": "reaction_added", "user": "U0EXP00002", "reaction": "eyes",
        "item": {"type": "message", "channel": POD, "ts": claimed_root}}),
    )
    .await;
    tmux.wait_for("claimed 27346");
    wait_until("the claim is an assignment", || async {
        markers(&emu, &claimed_root, "swarmdeck_assigned")
            .await
            .len()
            == 1
    })
    .await;
    // Assigned and silent past 3 s: quiet, on the row and in the header.
    let screen = tmux.wait_for("1 quiet");
    assert!(
        common::leads::row(&screen, "27346").contains("quiet"),
        "{screen}"
    );
    // With nudge_quiet, one nudge in the thread, naming the quiet expert.
    let nudges = || async {
        messages(&emu)
            .await
            .into_iter()
            .filter(|(c, m)| {
                c == POD
                    && m["thread_ts"] == claimed_root.as_str()
                    && m["metadata"]["event_payload"]["note"] == "nudge"
            })
            .map(|(_, m)| m)
            .collect::<Vec<_>>()
    };
    wait_until("the quiet expert is nudged", || async {
        !nudges().await.is_empty()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let nudged = nudges().await;
    assert_eq!(nudged.len(), 1, "{nudged:?}");
    assert!(
        nudged[0]["text"]
            .as_str()
            .unwrap()
            .contains("<@U0EXP00002>")
    );
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_clicks_change_nothing_and_clicks_reaching_a_tail_are_answered_once() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let tmux = dashboard(&emu, "forged", &ask_config(""));
    tmux.wait_for("connected");
    // A tail on the same app and store takes its share of the app's deliveries.
    let data = common::leads::store_of(&tmux.dir);
    let tail = common::tail::Tail::spawn(
        &emu.running.api_url(),
        &data,
        "answers",
        (common::APP, BOT),
        None,
    );
    wait_until("the tail holds its sockets too", || async {
        let calls = emu.control_get("calls").await;
        let opened = calls
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["method"] == "apps.connections.open" && c["ok"] == true)
            .count();
        // Two sockets each.
        opened >= 4
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let mut roots = Vec::new();
    for case in [27350, 27351, 27352, 27353] {
        roots.push((case, request(&emu, &tmux, case).await));
    }
    for (case, _) in &roots {
        ask_priya(&tmux, *case);
    }
    // Forged: the right DM clicked by someone else; a button of ours swarmdeck never sent.
    let (dm, ts, _) = the_ask(&emu, 27350).await;
    let (status, answer) = click(
        &emu,
        json!({"user": "U0EXP00002", "channel": dm, "ts": ts, "action_id": "swarmdeck_accept"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let posted = emu
        .call_json(
            "chat.postMessage",
            BOT,
            json!({"channel": dm, "text": "Approve?", "blocks": [{"type": "actions", "elements": [
                {"type": "button", "action_id": "swarmdeck_refund", "text": {"type": "plain_text", "text": "Refund"},
                 "value": "C0SWARMAPI|1.0|x"}]}]}),
        )
        .await;
    let fake_ts = posted.body["ts"].as_str().unwrap().to_string();
    let (status, _) = click(
        &emu,
        json!({"user": PRIYA, "channel": dm, "ts": fake_ts, "action_id": "swarmdeck_refund"}),
    )
    .await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    for (_, root) in &roots {
        assert!(markers(&emu, root, "swarmdeck_assigned").await.is_empty());
    }
    // Now the real answers: whichever process each click reaches, each is answered once.
    for (case, _) in &roots {
        let (dm, ts, _) = the_ask(&emu, *case).await;
        let (status, answer) = click(
            &emu,
            json!({"user": PRIYA, "channel": dm, "ts": ts, "action_id": "swarmdeck_accept"}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
    }
    for (case, root) in &roots {
        wait_until(&format!("{case} is assigned"), || async {
            !markers(&emu, root, "swarmdeck_assigned").await.is_empty()
        })
        .await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    for (case, root) in &roots {
        let n = markers(&emu, root, "swarmdeck_assigned").await.len();
        assert_eq!(n, 1, "{case}: {n} assignments");
    }
    drop(tail);
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
}
