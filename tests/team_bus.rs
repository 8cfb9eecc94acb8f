//! A team of leads on one Slack app, sharing what each receives through a NATS JetStream
//! team bus: the real binary (dashboards in tmux, a `tail`), the emulator, and a real
//! `nats-server -js`.

mod common;

use common::leads::{PODS, fresh_dir, opened_counts, request_with_reply, row, store_of};
use common::nats::Nats;
use common::tail::Tail;
use common::tmux::{launch, tmux_available};
use common::{APP, BOT, DEADLINE, Emu};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};
use swarmdeck::emulator::EmulatorConfig;

fn config(nats: &Nats, lead: bool) -> String {
    let lead = if lead { "lead = \"U0LEAD0001\"\n" } else { "" };
    format!("{lead}[team]\nbus = \"{}\"\n", nats.url)
}

fn opened_once(tail: &Tail, cases: &[String]) -> Result<(), String> {
    let counts = opened_counts(tail);
    let wrong: Vec<_> = cases
        .iter()
        .filter(|c| counts.get(*c) != Some(&1))
        .map(|c| (c, counts.get(c).copied().unwrap_or(0)))
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("not printed exactly once: {wrong:?}"))
    }
}

/// History reads the emulator has answered so far that read anything after `since`
/// (wall-clock seconds): a read of a recent span. (Other processes' first fills read a
/// day back; under `--chaos` one may still be at it.)
async fn history_calls(emu: &Emu, since: f64) -> usize {
    emu.control_get("calls")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            matches!(
                c["method"].as_str(),
                Some("conversations.history" | "conversations.replies")
            )
        })
        .filter(|c| {
            c["params"]["oldest"]
                .as_str()
                .and_then(|o| o.parse::<f64>().ok())
                .is_some_and(|oldest| oldest >= since)
        })
        .count()
}

fn wall_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Two leads and a `tail` on three stores, one app under `--chaos`, one bus: every
/// process shows every request once, A's moves reach B, and B, killed and restarted,
/// catches up from the stream without reading Slack's history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_on_one_app_sees_everything_through_the_bus() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let Some(nats) = common::nats::start() else {
        return;
    };
    let emu = common::start(EmulatorConfig {
        chaos: true,
        seed: 7,
        ..Default::default()
    })
    .await;
    let (dir_a, dir_b, dir_t) = (fresh_dir("a"), fresh_dir("b"), fresh_dir("t"));
    let mut a = launch(emu.base(), "bus-a", Some(&config(&nats, true)), &dir_a);
    a.owns_dir = true;
    let b = launch(emu.base(), "bus-b", Some(&config(&nats, false)), &dir_b);
    let tail_config = dir_t.join("swarmdeck.toml");
    std::fs::write(&tail_config, config(&nats, false)).unwrap();
    let tail = Tail::spawn(
        &emu.running.api_url(),
        &store_of(&dir_t),
        "script",
        (APP, BOT),
        Some(&tail_config),
    );
    a.wait_for("connected");
    b.wait_for("connected");

    let mut cases = Vec::new();
    for i in 0..60u32 {
        let case = 27800 + i;
        request_with_reply(&emu, PODS[i as usize % 4], case).await;
        cases.push(case.to_string());
    }
    tail.wait_until("every request", |_| opened_once(&tail, &cases).is_ok())
        .await;
    for lead in [&a, &b] {
        let screen = lead.wait_for("60 open");
        assert!(
            !screen.contains("other connection") && !screen.contains("team bus down"),
            "the bus makes every copy whole: {screen}"
        );
    }
    // Late duplicates would show by now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    opened_once(&tail, &cases).unwrap();
    // The moves: chaos is over from here, so that what is counted below is B's.
    emu.control_post("calm", json!({})).await;
    for key in ["/", "2", "7", "8", "0", "5", "Enter", "a"] {
        a.keys(&[key]);
    }
    a.wait_for("assign to 27805");
    a.keys(&["p", "r", "i", "y", "a"]);
    a.wait_for("priya.raman");
    a.keys(&["Enter"]);
    a.wait_for("✓ assign");
    // B looks at the same swarm.
    for key in ["/", "2", "7", "8", "0", "5", "Enter"] {
        b.keys(&[key]);
    }
    let screen = b.wait_for("priya.raman");
    assert!(row(&screen, "27805").contains("priya.raman"), "{screen}");
    a.keys(&["p"]);
    a.wait_for("promote 27805");
    a.keys(&["Enter"]);
    a.wait_for("✓ promote 27805");
    b.wait_for("-sev3-27805");
    a.keys(&["r"]);
    a.wait_for("resolve · 27805");
    for key in ["d", "o", "n", "e", "Enter"] {
        a.keys(&[key]);
    }
    a.wait_for("✓ resolve");
    a.keys(&["Escape"]);
    b.keys(&["Escape"]);
    b.wait_for("59 open");

    // B is killed; ten more requests; B restarts and catches up from the stream.
    let span_start = wall_now() - 60.0;
    b.kill("KILL");
    b.wait_for("exited with");
    let before = history_calls(&emu, span_start).await;
    let mut missed = Vec::new();
    for i in 0..10u32 {
        let case = 27900 + i;
        request_with_reply(&emu, PODS[i as usize % 4], case).await;
        missed.push(case.to_string());
    }
    a.wait_for("69 open");
    let b2 = launch(emu.base(), "bus-b2", Some(&config(&nats, false)), &dir_b);
    b2.wait_for("69 open");
    for key in ["/", "2", "7", "9", "0", "7", "Enter"] {
        b2.keys(&[key]);
    }
    let screen = b2.wait_for("27907");
    assert!(!row(&screen, "27907").is_empty(), "{screen}");
    b2.wait_for("connected");
    // Long enough for a gap fill to have run, had one been needed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    if history_calls(&emu, span_start).await != before {
        let log = |d: &Path| {
            std::fs::read_to_string(d.join("state/swarmdeck/swarmdeck.log")).unwrap_or_default()
        };
        let calls = emu.control_get("calls").await;
        let reads: Vec<_> = calls
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["method"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("conversations."))
            })
            .map(|c| format!("{} {} {}", c["at"], c["method"], c["params"]))
            .collect();
        eprintln!("--- calls ---\n{}", reads.join("\n"));
        eprintln!(
            "--- A ---\n{}\n--- B ---\n{}\n--- tail ---\n{}",
            log(&dir_a),
            log(&dir_b),
            tail.stderr.lock().unwrap()
        );
    }
    assert_eq!(
        history_calls(&emu, span_start).await,
        before,
        "B caught up from the stream: no history read for the span it missed"
    );
    tail.wait_until("the missed ones", |_| opened_once(&tail, &missed).is_ok())
        .await;
    opened_once(&tail, &cases).unwrap();
    drop(b);
    b2.keys(&["q"]);
    b2.wait_for("exited with 0");
    a.keys(&["q"]);
    a.wait_for("exited with 0");
    let _ = std::fs::remove_dir_all(&dir_b);
    let _ = std::fs::remove_dir_all(&dir_t);
}

/// The bus stopped for 20 s: the header says so, the desk goes on from Slack, and when
/// it is back nothing is lost or doubled anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_down_for_a_while_loses_and_doubles_nothing() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let Some(mut nats) = common::nats::start() else {
        return;
    };
    let emu = common::quiet().await;
    let (dir_a, dir_t) = (fresh_dir("down-a"), fresh_dir("down-t"));
    let mut a = launch(emu.base(), "down-a", Some(&config(&nats, true)), &dir_a);
    a.owns_dir = true;
    let tail_config = dir_t.join("swarmdeck.toml");
    std::fs::write(&tail_config, config(&nats, false)).unwrap();
    let tail = Tail::spawn(
        &emu.running.api_url(),
        &store_of(&dir_t),
        "script",
        (APP, BOT),
        Some(&tail_config),
    );
    a.wait_for("connected");
    request_with_reply(&emu, PODS[0], 28000).await;
    tail.wait_until("the first request", |_| {
        opened_once(&tail, &["28000".to_string()]).is_ok()
    })
    .await;
    a.wait_for("28000");

    nats.stop();
    let screen = a.wait_for("team bus down");
    assert!(screen.contains("connected"), "Slack is still up: {screen}");
    let stopped = Instant::now();
    let mut cases = vec!["28000".to_string()];
    for i in 1..=10u32 {
        let case = 28000 + i;
        request_with_reply(&emu, PODS[i as usize % 4], case).await;
        cases.push(case.to_string());
    }
    let left = Duration::from_secs(20).saturating_sub(stopped.elapsed());
    tokio::time::sleep(left).await;
    nats.restart();
    let deadline = Instant::now() + DEADLINE;
    while a.screen().contains("team bus down") {
        assert!(
            Instant::now() < deadline,
            "the bus never came back: {}",
            a.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    a.wait_for("11 open");
    tail.wait_until("every request", |_| opened_once(&tail, &cases).is_ok())
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    opened_once(&tail, &cases).unwrap();
    a.keys(&["q"]);
    a.wait_for("exited with 0");
    let _ = std::fs::remove_dir_all(&dir_t);
}

fn request_event(case: u32) -> swarmdeck::slack::Incoming {
    let ts = format!("{}.{:06}", 1_800_000_000 + case, case);
    swarmdeck::slack::Incoming {
        event: serde_json::from_value(json!({"type": "message", "channel": "C0SWARMAPI",
            "user": "U0REQ00001", "ts": ts, "text": format!("Case: {case}")}))
        .unwrap(),
        event_id: Some(format!("Ev{case}")),
        source: swarmdeck::slack::Source::Live { retry_attempt: 0 },
        received_at: Instant::now(),
    }
}

/// Reads what a bus says until `done` holds of it (generous deadline).
async fn read_until(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<swarmdeck::bus::BusIn>,
    done: impl Fn(&[swarmdeck::bus::BusIn]) -> bool,
) -> Vec<swarmdeck::bus::BusIn> {
    let mut said = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while !done(&said) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(s)) => said.push(s),
            _ => panic!("the bus never said enough: {said:?}"),
        }
    }
    said
}

fn events(said: &[swarmdeck::bus::BusIn]) -> usize {
    said.iter()
        .filter(|s| matches!(s, swarmdeck::bus::BusIn::Event { json, .. } if !json.is_empty()))
        .count()
}

/// The stream keeps events for its retention; a process whose position it no longer
/// holds is told (and catches up from Slack's history), and the stream goes on.
#[tokio::test]
async fn a_process_behind_the_streams_retention_is_told_and_the_stream_goes_on() {
    use swarmdeck::bus::{Bus, BusIn, Target};
    let Some(nats) = common::nats::start() else {
        return;
    };
    let target = Target {
        url: nats.url.clone(),
        credentials: None,
        token: None,
        require_tls: false,
        retention: Duration::from_secs(2),
    };
    let (tx, _a_says) = tokio::sync::mpsc::unbounded_channel();
    let a = Bus::start(target.clone(), "T0RET", "proc-a", 0, tx);
    for case in 1..=3 {
        a.publish(&request_event(case));
        // The same event again (another lead read it from history): one copy.
        a.publish(&request_event(case));
    }
    let (tx, mut b_says) = tokio::sync::mpsc::unbounded_channel();
    let _b = Bus::start(target.clone(), "T0RET", "proc-b", 0, tx);
    let said = read_until(&mut b_says, |s| events(s) >= 3).await;
    // The first three in the stream are the three requests, each once: a second copy
    // kept would be among them.
    let distinct: std::collections::HashSet<_> = said
        .iter()
        .filter_map(|s| match s {
            BusIn::Event { json, .. } if !json.is_empty() => Some(json.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(distinct.len(), 3, "{said:?}");
    // The retention passes; the stream drops what it held. A process that read up to
    // sequence 1 comes back: it is told it fell behind, and reads on from there.
    let deadline = Instant::now() + DEADLINE;
    for case in 100.. {
        tokio::time::sleep(Duration::from_secs(1)).await;
        a.publish(&request_event(case));
        let (tx, mut c_says) = tokio::sync::mpsc::unbounded_channel();
        let _c = Bus::start(target.clone(), "T0RET", "proc-c", 2, tx);
        let said = read_until(&mut c_says, |s| {
            s.iter().any(|x| matches!(x, BusIn::Up | BusIn::Down(_)))
        })
        .await;
        if let Some(BusIn::FellBehind { wanted, first }) =
            said.iter().find(|s| matches!(s, BusIn::FellBehind { .. }))
        {
            assert_eq!(*wanted, 2);
            assert!(*first > 2, "the stream starts later now: {first}");
            // And reads on (`read_until` fails the test if it never does).
            read_until(&mut c_says, |s| events(s) >= 1).await;
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stream never dropped its old events: {said:?}"
        );
    }
}
