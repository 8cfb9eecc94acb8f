//! Duplicates end to end: the real dashboard in tmux and a `tail --json` beside it (same
//! app, same store), against the emulator.
//! - a request in another pod saying what an open swarm's request says is flagged on its
//!   row (`dup? #27343`) and in its detail, and `tail` prints a `duplicate` event naming
//!   both swarms; an unrelated request in the original's pod is not flagged;
//! - `L` links them: one note in each thread (with its marker), the duplicate resolved
//!   "duplicate of #27343"; `L` again posts nothing.

mod common;

use common::tmux::{Tmux, launch, tmux_available};
use common::{BOT, DEADLINE, Emu};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const API: &str = "C0SWARMAPI";
const BILLING: &str = "C0SWARMBIL";
const LEAD: &str = "U0LEAD0001";

fn dashboard(emu: &Emu, name: &str) -> Tmux {
    let dir = std::env::temp_dir().join(format!("swarmdeck-dups-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut tmux = launch(
        emu.base(),
        name,
        Some(&format!("lead = \"{LEAD}\"\n")),
        &dir,
    );
    tmux.owns_dir = true;
    tmux
}

async fn request(emu: &Emu, tmux: &Tmux, pod: &str, case: u32, subject: &str) -> String {
    let posted = emu
        .inject(
            json!({"type": "message", "channel": pod, "user": "U0REQ00001",
            "text": format!("Case: {case}\nUrgency: Sev 3\nSubject: {subject}")}),
        )
        .await;
    tmux.wait_for(&case.to_string());
    posted["ts"].as_str().unwrap().to_string()
}

/// The replies in a thread, as the emulator holds them.
async fn replies(emu: &Emu, channel: &str, root: &str) -> Vec<Value> {
    let state = emu.state().await;
    state["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == channel)
        .flat_map(|c| c["messages"].as_array().unwrap().clone())
        .filter(|m| m["thread_ts"] == root && m["ts"] != root)
        .collect()
}

/// The thread's replies with metadata of `event_type`.
async fn markers(emu: &Emu, channel: &str, root: &str, event_type: &str) -> Vec<Value> {
    let mut all = replies(emu, channel, root).await;
    all.retain(|m| m["metadata"]["event_type"] == event_type);
    all
}

/// How many replies of ours a thread has.
async fn our_replies(emu: &Emu, channel: &str, root: &str) -> usize {
    let all = replies(emu, channel, root).await;
    all.iter().filter(|m| m["bot_id"].is_string()).count()
}

fn row<'a>(screen: &'a str, case: &str) -> &'a str {
    screen
        .lines()
        .skip(3)
        // The case column, not another row's `dup? #case`.
        .find(|l| l.split_whitespace().take(3).any(|w| w == case) && l.contains(" sev"))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_in_another_pod_is_flagged_and_linked_once() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let tmux = dashboard(&emu, "link");
    tmux.wait_for("connected");
    let data = common::leads::store_of(&tmux.dir);
    let tail = common::tail::Tail::spawn(
        &emu.running.api_url(),
        &data,
        "dups",
        (common::APP, BOT),
        None,
    );
    let deadline = Instant::now() + DEADLINE;
    loop {
        let calls = emu.control_get("calls").await;
        let opened = calls
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["method"] == "apps.connections.open" && c["ok"] == true)
            .count();
        if opened >= 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the tail never connected");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    let original = request(
        &emu,
        &tmux,
        BILLING,
        27343,
        "Refund stuck in pending for 9 days",
    )
    .await;
    // Unrelated, in the same pod: the product's name and the words every request has
    // ("the", "error", "customer") do not make it alike.
    request(
        &emu,
        &tmux,
        BILLING,
        27344,
        "Refund API returns the error 500 for the customer",
    )
    .await;
    // The customer asked again, through another pod, in other words.
    let duplicate = request(
        &emu,
        &tmux,
        API,
        27400,
        "Refund still stuck in pending after 9 days",
    )
    .await;
    let screen = tmux.wait_for("dup? #27343");
    assert!(row(&screen, "27400").contains("dup? #27343"), "{screen}");
    assert!(!row(&screen, "27344").contains("dup?"), "{screen}");
    assert!(!row(&screen, "27343").contains("dup?"), "{screen}");

    tail.wait_until("the duplicate event", |events| {
        events.iter().any(|e| e["type"] == "duplicate")
    })
    .await;
    let events = tail.events();
    let dups: Vec<&Value> = events.iter().filter(|e| e["type"] == "duplicate").collect();
    assert_eq!(dups.len(), 1, "{dups:?}");
    let d = dups[0];
    assert_eq!(
        d["duplicate"],
        json!({"pod": "api", "channel": API, "thread_ts": duplicate, "case": "27400"})
    );
    assert_eq!(
        d["original"],
        json!({"pod": "billing", "channel": BILLING, "thread_ts": original, "case": "27343"})
    );
    assert_eq!(
        (&d["pod"], &d["channel"], &d["thread_ts"], &d["case"]),
        (
            &json!("api"),
            &json!(API),
            &json!(duplicate),
            &json!("27400")
        )
    );
    assert_eq!(d["likeness"], "similar_subject");

    // The detail says so, and `L` links them.
    tmux.keys(&[":"]);
    tmux.run(&["send-keys", "-t", "lead", "-l", "case 27400"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("likely of #27343 (billing pod, similar subject)");
    tmux.keys(&["L"]);
    tmux.wait_for("✓ link 27400 to #27343");
    tmux.wait_for("linked: duplicate of #27343");
    let deadline = Instant::now() + DEADLINE;
    while markers(&emu, BILLING, &original, "swarmdeck_duplicate_linked")
        .await
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "no note in the original's thread"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tail.wait_until("the duplicate resolved", |events| {
        events
            .iter()
            .any(|e| e["type"] == "resolved" && e["case"] == "27400")
    })
    .await;
    let resolved: Vec<Value> = tail
        .events()
        .into_iter()
        .filter(|e| e["type"] == "resolved")
        .collect();
    assert_eq!(
        resolved.len(),
        1,
        "only the duplicate is resolved: {resolved:?}"
    );
    assert_eq!(resolved[0]["resolution"], "duplicate of #27343");

    // `L` again, on the linked swarm: nothing new.
    tmux.keys(&["L"]);
    tmux.wait_for("27400 is linked already");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let in_duplicate = markers(&emu, API, &duplicate, "swarmdeck_duplicate").await;
    assert_eq!(in_duplicate.len(), 1, "{in_duplicate:?}");
    let payload = &in_duplicate[0]["metadata"]["event_payload"];
    assert_eq!(payload["of"], format!("{BILLING}/{original}"));
    assert_eq!(payload["of_case"], "27343");
    assert_eq!(
        our_replies(&emu, API, &duplicate).await,
        1,
        "one note in the duplicate's thread"
    );
    let in_original = markers(&emu, BILLING, &original, "swarmdeck_duplicate_linked").await;
    assert_eq!(in_original.len(), 1, "{in_original:?}");
    assert_eq!(
        our_replies(&emu, BILLING, &original).await,
        1,
        "one note in the original's"
    );
    let text = in_original[0]["text"].as_str().unwrap();
    assert!(text.contains("27400"), "{text}");
    let dups = tail
        .events()
        .into_iter()
        .filter(|e| e["type"] == "duplicate")
        .count();
    assert_eq!(dups, 1, "the unrelated request was never flagged");
}

/// The demo's backlog asks the billing refund again in the api pod: `tail` on it says
/// so, once, and flags nothing else of the backlog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_backlog_holds_a_duplicate_the_desk_flags() {
    let emu = common::start(swarmdeck::emulator::EmulatorConfig {
        backlog: true,
        ..Default::default()
    })
    .await;
    let dir = common::leads::fresh_dir("dups-backlog");
    let tail = common::tail::Tail::spawn(
        &emu.running.api_url(),
        &dir,
        "dups",
        (common::APP, BOT),
        None,
    );
    tail.wait_until("the backlog's duplicate", |events| {
        events.iter().any(|e| e["type"] == "duplicate")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let events = tail.events();
    let dups: Vec<&Value> = events.iter().filter(|e| e["type"] == "duplicate").collect();
    assert_eq!(dups.len(), 1, "{dups:?}");
    assert_eq!(dups[0]["duplicate"]["pod"], "api");
    assert_eq!(dups[0]["original"]["pod"], "billing");
    let subject = |case: &Value| {
        events
            .iter()
            .find(|e| e["type"] == "swarm_opened" && e["case"] == *case)
            .map(|e| e["subject"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        subject(&dups[0]["original"]["case"]),
        "Refund stuck in pending for 9 days"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
