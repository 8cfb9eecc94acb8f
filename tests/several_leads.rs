//! swarmdeck is never alone on its Slack app: Slack hands each Socket Mode event to one
//! of the app's connections. These run the real binary — dashboards in tmux, `tail`s —
//! against the emulator, in the setups README "Several leads" describes.

mod common;

use common::leads::{PODS, fresh_dir, opened_counts, request_with_reply, row, store_of};
use common::tail::Tail;
use common::tmux::{Tmux, launch, tmux_available};
use common::{APP, BOT, DEADLINE};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Waits until the screen no longer shows `what`.
fn wait_gone(tmux: &Tmux, what: impl Fn(&str) -> bool, why: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let screen = tmux.screen();
        if !what(&screen) {
            return;
        }
        assert!(Instant::now() < deadline, "{why}:\n{screen}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One machine, one app, one store: a dashboard and two `tail`s each see every request
/// once whichever of their connections Slack chose, and the lead's moves show at once
/// even when Slack's echo of them goes nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_and_two_tails_on_one_store_each_see_everything_once() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let dir = fresh_dir("one-store");
    let mut tmux = launch(
        emu.base(),
        "one-store",
        Some("lead = \"U0LEAD0001\"\n"),
        &dir,
    );
    tmux.owns_dir = true;
    tmux.wait_for("connected");
    let api = emu.running.api_url();
    let store = store_of(&dir);
    let tails = [
        Tail::spawn(&api, &store, "one", (APP, BOT), None),
        Tail::spawn(&api, &store, "two", (APP, BOT), None),
    ];
    // Every copy is up once each has printed a request posted after it started.
    request_with_reply(&emu, PODS[0], 27300).await;
    for t in &tails {
        t.wait_until("the first request", |_| {
            t.cases("swarm_opened").contains(&"27300".to_string())
        })
        .await;
    }

    let mut cases = vec!["27300".to_string()];
    for i in 0..40u32 {
        let case = 27310 + i;
        request_with_reply(&emu, PODS[i as usize % 4], case).await;
        cases.push(case.to_string());
    }
    for t in &tails {
        t.wait_until("every request", |_| {
            let counts = opened_counts(t);
            cases.iter().all(|c| counts.contains_key(c))
        })
        .await;
    }
    let deliveries = emu.control_get("deliveries").await;
    let connections: std::collections::BTreeSet<u64> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["connection"].as_u64())
        .collect();
    assert!(
        connections.len() >= 3,
        "the stream really was spread over the processes: {connections:?}"
    );
    // Late duplicates would show by now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (name, t) in ["one", "two"].iter().zip(&tails) {
        let counts = opened_counts(t);
        let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
        assert!(twice.is_empty(), "{name} printed some twice: {twice:?}");
        assert_eq!(counts.len(), 41, "{name}: {counts:?}");
    }
    let screen = tmux.wait_for("41 open");
    assert!(
        !screen.contains("other connection"),
        "sharing a store is no split: {screen}"
    );

    // Slack's echoes of the moves go nowhere from here: what shows, shows at once.
    let (status, _) = emu
        .control_post("faults", json!({"socket": "mute", "seconds": 120}))
        .await;
    assert_eq!(status, 200);
    for key in ["/", "2", "7", "3", "2", "0", "Enter"] {
        tmux.keys(&[key]);
    }
    tmux.keys(&["a"]);
    tmux.wait_for("assign to 27320");
    tmux.keys(&["p", "r", "i", "y", "a"]);
    tmux.wait_for("priya.raman");
    // Assign, and promote at once: the promotion is planned before the assignment is
    // in Slack, and must invite the expert all the same.
    tmux.keys(&["Enter", "p"]);
    tmux.wait_for("promote 27320");
    tmux.keys(&["Enter"]);
    tmux.wait_for("✓ promote 27320");
    let screen = tmux.wait_for("-sev3-27320");
    assert!(
        row(&screen, "27320").contains("priya.raman"),
        "the assignment shows: {screen}"
    );
    let state = emu.state().await;
    let incident = state["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "support-mobile-sev3-27320")
        .expect("the incident channel");
    assert!(
        common::members(incident).contains(&"U0EXP00001"),
        "the promotion invited the expert assigned a moment before: {incident}"
    );
    tmux.keys(&["r"]);
    tmux.wait_for("resolve · 27320");
    for key in [
        "s", "e", "c", "r", "e", "t", "Space", "r", "o", "t", "a", "t", "e", "d",
    ] {
        tmux.keys(&[key]);
    }
    tmux.keys(&["Enter"]);
    tmux.wait_for("✓ resolve");
    wait_gone(
        &tmux,
        |s| !row(s, "27320").is_empty(),
        "the resolved swarm leaves the open ones",
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("40 open");
    // The moves reached the tails through the store, not through Slack.
    for t in &tails {
        t.wait_until("the moves", |events| {
            let of = |kind: &str| {
                events
                    .iter()
                    .any(|e| e["type"] == kind && e["case"] == "27320")
            };
            of("assigned") && of("promoted") && of("resolved")
        })
        .await;
        let events = t.events();
        let assigned: Vec<&Value> = events.iter().filter(|e| e["type"] == "assigned").collect();
        assert_eq!(assigned.len(), 1, "{assigned:?}");
        assert_eq!(assigned[0]["expert"], "U0EXP00001");
    }
    tmux.keys(&["Escape", "Escape", "q"]);
    tmux.wait_for("exited with 0");
}

/// Two dashboards on two stores on one app split the stream: each is told (the newcomer
/// at once, the first at its next probe), `check` names it, and the first, restarted
/// alone, recovers every request it never saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_app_are_told_of_the_split_and_a_restart_recovers() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let config = "lead = \"U0LEAD0001\"\n[slack]\nprobe_every = \"2s\"\n";
    let (dir_a, dir_b) = (fresh_dir("split-a"), fresh_dir("split-b"));
    let a = launch(emu.base(), "split-a", Some(config), &dir_a);
    a.wait_for("connected");
    request_with_reply(&emu, PODS[0], 27600).await;
    a.wait_for("27600");
    let screen = a.screen();
    assert!(!screen.contains("other connection"), "alone: {screen}");

    let b = launch(emu.base(), "split-b", Some(config), &dir_b);
    b.wait_for("connected");
    b.wait_for("2 other connections on this app");
    let screen = a.wait_for("2 other connections on this app");
    assert!(
        screen.contains("split") && screen.contains("Several leads"),
        "says what it is and where the fix is: {screen}"
    );

    let check = std::process::Command::new(env!("CARGO_BIN_EXE_swarmdeck"))
        .arg("check")
        .arg("--data-dir")
        .arg(store_of(&dir_a))
        .env("SLACK_API_URL", emu.running.api_url())
        .env("SLACK_APP_TOKEN", APP)
        .env("SLACK_BOT_TOKEN", BOT)
        .env("XDG_CONFIG_HOME", dir_a.join("no-config"))
        .env_remove("SWARMDECK_CONFIG")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        report.contains("2 other connections on this app") && report.contains("peer_bots"),
        "check names the split and the fix: {report}"
    );

    // Requests while split: each lands on one dashboard or the other.
    let cases: Vec<String> = (0..10).map(|i| (27610 + i).to_string()).collect();
    for (i, case) in cases.iter().enumerate() {
        request_with_reply(&emu, PODS[i % 4], case.parse().unwrap()).await;
    }
    b.wait_for("11 open");
    a.keys(&["q"]);
    a.wait_for("exited with 0");
    b.keys(&["q"]);
    b.wait_for("exited with 0");
    drop(b);

    // The first alone again: its restart reads what the split kept from it.
    let a = launch(emu.base(), "split-a2", Some(config), &dir_a);
    let screen = a.wait_for("11 open");
    for case in &cases {
        assert!(
            !row(&a.wait_for(case), case).is_empty(),
            "{case} is on screen: {screen}"
        );
    }
    assert!(
        !a.screen().contains("other connection"),
        "alone again: {}",
        a.screen()
    );
    a.keys(&["q"]);
    a.wait_for("exited with 0");
    let _ = std::fs::remove_dir_all(&dir_a);
    let _ = std::fs::remove_dir_all(&dir_b);
}

/// App 2's tokens (the emulator's scheme: `-A2-` names app 2).
const APP_2: (&str, &str) = ("xapp-1-A2-test", "xoxb-test-A2-123456");

/// Two leads, each with their own app and store, each listing the other's as a peer:
/// each sees every request (each app gets its own copy), one's moves show on the
/// other's screen, and a marker from any other bot changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_apps_with_peer_bots_see_each_others_moves() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::start(swarmdeck::emulator::EmulatorConfig {
        apps: 2,
        ..Default::default()
    })
    .await;
    let (dir_a, dir_b) = (fresh_dir("peers-a"), fresh_dir("peers-b"));
    // One by bot id, the other by app id: both are how a lead may know the other's app.
    let config_a = "lead = \"U0LEAD0001\"\n[team]\npeer_bots = [\"B0SWARM002\"]\n";
    let config_b = "[team]\npeer_bots = [\"A0SWARMDCK\"]\n";
    let mut a = launch(emu.base(), "peers-a", Some(config_a), &dir_a);
    a.owns_dir = true;
    let mut b = common::tmux::launch_as(emu.base(), "peers-b", Some(config_b), &dir_b, APP_2);
    b.owns_dir = true;
    a.wait_for("connected");
    b.wait_for("connected");

    let cases: Vec<u32> = (27700..27708).collect();
    for (i, case) in cases.iter().enumerate() {
        request_with_reply(&emu, PODS[i % 4], *case).await;
    }
    for lead in [&a, &b] {
        let screen = lead.wait_for("8 open");
        assert!(
            !screen.contains("other connection"),
            "an app each: no split: {screen}"
        );
    }

    // Lead A assigns, promotes and resolves 27700; lead B sees each.
    for key in ["/", "2", "7", "7", "0", "0", "Enter", "a"] {
        a.keys(&[key]);
    }
    a.wait_for("assign to 27700");
    a.keys(&["p", "r", "i", "y", "a"]);
    a.wait_for("priya.raman");
    a.keys(&["Enter"]);
    a.wait_for("✓ assign");
    let screen = b.wait_for("priya.raman");
    assert!(
        row(&screen, "27700").contains("priya.raman"),
        "A's assignment on B's screen: {screen}"
    );
    a.keys(&["p"]);
    a.wait_for("promote 27700");
    a.keys(&["Enter"]);
    a.wait_for("✓ promote 27700");
    b.wait_for("-sev3-27700");
    a.keys(&["r"]);
    a.wait_for("resolve · 27700");
    for key in ["d", "o", "n", "e", "Enter"] {
        a.keys(&[key]);
    }
    a.wait_for("✓ resolve");
    a.keys(&["Escape"]);
    b.wait_for("7 open");
    wait_gone(
        &b,
        |s| !row(s, "27700").is_empty(),
        "A's resolution closes the swarm on B's screen",
    );

    // A third bot posts the same kind of marker, naming a real expert: nothing changes.
    let root = emu.channel_state("swarm-billing").await["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"].as_str().unwrap_or("").contains("27701"))
        .map(|m| m["ts"].as_str().unwrap().to_string())
        .expect("27701's request");
    emu.inject(json!({"type": "message", "subtype": "bot_message", "channel": "C0SWARMBIL",
        "bot_id": "B0FORGED01", "thread_ts": root, "text": "Assigned @amara.okafor",
        "metadata": {"event_type": "swarmdeck_assigned",
                     "event_payload": {"case": "27701", "expert": "U0EXP00003", "lead": "U0LEAD0001"}}}))
    .await;
    // Anything after it on screen means it was read.
    request_with_reply(&emu, PODS[0], 27799).await;
    for lead in [&a, &b] {
        let screen = lead.wait_for("27799");
        let forged = row(&screen, "27701");
        assert!(
            !forged.is_empty() && !forged.contains("amara"),
            "a third bot's marker assigns no one: {screen}"
        );
    }
    a.keys(&["q"]);
    a.wait_for("exited with 0");
    b.keys(&["q"]);
    b.wait_for("exited with 0");
}
