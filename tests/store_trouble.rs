//! The store in trouble, with the real binary: a disk that fills (SQLite's page limit,
//! through the test-only `SWARMDECK_STORE_MAX_PAGES` file) is said in the dashboard's
//! header and on `tail`'s stderr, holds the lead's moves until space returns and loses
//! no event; a truncated store is named with its file and the fix by the dashboard,
//! `tail` and `check`, without colour codes when stderr is no terminal.

mod common;

use common::tail::Tail;
use common::tmux::{Tmux, tmux_available};
use common::{APP, BOT, DEADLINE};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use swarmdeck::store::{PAGE_LIMIT_ENV, Store, Write, Writer};
use tokio::process::Command;

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("swarmdeck-trouble-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The disk as the page-limit file says: full (the store may not grow by a page) or not.
fn disk_full(limit: &Path, full: bool) {
    std::fs::write(limit, if full { "1" } else { "0" }).unwrap();
}

/// A request big enough that storing a few needs new pages (what fills a disk).
fn request(case: u32) -> Value {
    let details = "The customer sees every webhook delivered late. ".repeat(60);
    json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0REQ00001",
           "text": format!("Case: {case}\nUrgency: Sev 2\nSubject: Webhooks late {case}\n{details}")})
}

/// The cases whose requests are in the store in `data_dir`.
fn stored_cases(data_dir: &Path) -> Vec<u32> {
    let store = Store::open(data_dir).unwrap();
    let mut cases = Vec::new();
    store
        .each_event(|json| {
            let v: Value = serde_json::from_str(json).unwrap_or_default();
            let text = v["text"].as_str().unwrap_or_default();
            if let Some(case) = text
                .strip_prefix("Case: ")
                .and_then(|t| t.split('\n').next())
                .and_then(|c| c.parse().ok())
            {
                cases.push(case);
            }
        })
        .unwrap();
    cases.sort_unstable();
    cases.dedup();
    cases
}

/// `chat.postMessage` calls the emulator answered, by their text.
async fn posts(emu: &common::Emu) -> Vec<String> {
    let calls = emu.control_get("calls").await;
    calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["method"] == "chat.postMessage")
        .map(|c| c["params"]["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The dashboard in tmux on the emulator, its disk as `limit` says.
fn dashboard(emu: &common::Emu, dir: &Path, limit: &Path) -> Tmux {
    let config = dir.join("swarmdeck.toml");
    std::fs::write(&config, "lead = \"U0LEAD0001\"\n").unwrap();
    let tmux = Tmux {
        socket: format!("swarmdeck-trouble-{}", std::process::id()),
        dir: dir.to_path_buf(),
        owns_dir: true,
    };
    let command = format!(
        "env {PAGE_LIMIT_ENV}={limit} SLACK_API_URL={base}/api/ SLACK_APP_TOKEN={APP} SLACK_BOT_TOKEN={BOT} \
         XDG_CONFIG_HOME={d}/config XDG_STATE_HOME={d}/state XDG_DATA_HOME={d}/data \
         SWARMDECK_CONFIG={config} {bin}; echo \"exited with $?\"; sleep 60",
        limit = limit.display(),
        base = emu.base(),
        d = dir.display(),
        config = config.display(),
        bin = env!("CARGO_BIN_EXE_swarmdeck"),
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "lead",
        "-x",
        "140",
        "-y",
        "32",
        &command,
    ]);
    tmux
}

/// Injects requests (cases from `first`) until `full` holds, at most `most`; the cases
/// injected.
async fn fill_until(
    emu: &common::Emu,
    first: u32,
    most: u32,
    mut full: impl FnMut() -> bool,
) -> Vec<u32> {
    let mut cases = Vec::new();
    for case in first..first + most {
        emu.inject(request(case)).await;
        cases.push(case);
        // The header and stderr look at the writer once a second.
        let deadline = Instant::now() + Duration::from_millis(1_500);
        while Instant::now() < deadline {
            if full() {
                return cases;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("the store never filled after {most} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_shown_holds_the_move_until_space_returns_and_loses_no_event() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let dir = fresh_dir("dashboard");
    let limit = dir.join("max-pages");
    disk_full(&limit, false);
    let tmux = dashboard(&emu, &dir, &limit);
    tmux.wait_for("connected");
    emu.inject(request(28000)).await;
    tmux.wait_for("28000");

    disk_full(&limit, true);
    let mut cases = vec![28000];
    cases.extend(
        fill_until(&emu, 28001, 40, || {
            tmux.screen().contains("✗ store: disk full (")
        })
        .await,
    );
    let screen = tmux.wait_for("moves are held");
    assert!(
        screen.contains("swarmdeck.db) — moves are held"),
        "the header names the store's file: {screen}"
    );

    // A move while the disk is full: held, not sent.
    let before = posts(&emu).await;
    tmux.keys(&["/"]);
    for c in "28000".chars() {
        tmux.keys(&[&c.to_string()]);
    }
    tmux.keys(&["Enter", "w"]);
    tmux.wait_for("held until the store can write");
    // Delivered while the disk is full: on the desk now, in the store later.
    for case in [28900, 28901] {
        emu.inject(request(case)).await;
        cases.push(case);
    }
    tmux.keys(&["Escape"]);
    tmux.wait_for("28901");
    let screen = tmux.wait_for("held until the store can write");
    assert_eq!(
        posts(&emu).await,
        before,
        "nothing reached Slack unstored: {screen}"
    );

    // Space returns: the move goes, the header clears.
    disk_full(&limit, false);
    tmux.wait_for("✓ 28000 waiting on customer");
    let sent = posts(&emu).await;
    assert!(
        sent.iter().any(|t| t.contains("Waiting on the customer")),
        "the move reached Slack once stored: {sent:?}"
    );
    let deadline = Instant::now() + DEADLINE;
    while tmux.screen().contains("disk full") {
        assert!(
            Instant::now() < deadline,
            "the header still says the disk is full: {}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux.keys(&["q"]);
    tmux.wait_for("exited with 0");
    let stored = stored_cases(&dir.join("data/swarmdeck"));
    for case in &cases {
        assert!(
            stored.contains(case),
            "{case}, delivered while the disk was full, is in the store: {stored:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_says_a_full_store_on_stderr_and_prints_each_event_once_space_returns() {
    let emu = common::quiet().await;
    let dir = fresh_dir("tail");
    let limit = dir.join("max-pages");
    disk_full(&limit, false);
    let data = dir.join("data");
    let tail = tail_with_limit(&emu, &data, &limit);
    let opened = |tail: &Tail| -> Vec<u32> {
        let cases = tail.cases("swarm_opened");
        cases.iter().filter_map(|c| c.parse().ok()).collect()
    };
    emu.inject(request(29000)).await;
    tail.wait_until("the first request", |_| opened(&tail).contains(&29000))
        .await;

    disk_full(&limit, true);
    let mut cases = vec![29000];
    let stderr = tail.stderr.clone();
    cases.extend(
        fill_until(&emu, 29001, 40, || {
            stderr.lock().unwrap().contains("✗ store: disk full (")
        })
        .await,
    );
    let said = tail.stderr.lock().unwrap().clone();
    assert!(
        said.contains(&format!("{}) —", data.join("swarmdeck.db").display())),
        "stderr names the store's file: {said}"
    );
    for case in [29900, 29901] {
        emu.inject(request(case)).await;
        cases.push(case);
    }

    disk_full(&limit, false);
    tail.wait_until("every request, once the store writes again", |_| {
        let printed = opened(&tail);
        cases.iter().all(|c| printed.contains(c))
    })
    .await;
    tail.wait_until("stderr saying the store writes again", |_| {
        stderr.lock().unwrap().contains("✓ store: writing again")
    })
    .await;
    let mut printed = opened(&tail);
    printed.sort_unstable();
    assert_eq!(printed, cases, "each once");
    drop(tail);
    let stored = stored_cases(&data);
    for case in &cases {
        assert!(stored.contains(case), "{case} is in the store: {stored:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Leaving while the disk is full: within seconds, not waiting for space, and saying what
/// is lost (the events come back from Slack; held moves were never sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_while_the_disk_is_full_says_what_is_lost() {
    let emu = common::quiet().await;
    let dir = fresh_dir("leaving");
    let limit = dir.join("max-pages");
    disk_full(&limit, false);
    let mut tail = tail_with_limit(&emu, &dir.join("data"), &limit);
    emu.inject(request(30000)).await;
    tail.wait_until("the first request", |_| {
        tail.cases("swarm_opened").contains(&"30000".to_string())
    })
    .await;
    disk_full(&limit, true);
    let stderr = tail.stderr.clone();
    fill_until(&emu, 30001, 40, || {
        stderr.lock().unwrap().contains("✗ store: disk full (")
    })
    .await;
    let pid = tail.child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = tokio::time::timeout(DEADLINE, tail.child.wait())
        .await
        .expect("tail leaves without waiting for space")
        .expect("tail ran");
    assert!(status.success(), "{status}");
    tail.wait_until("stderr saying what is lost", |_| {
        stderr
            .lock()
            .unwrap()
            .contains("what it had not written is lost")
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tail --json` on the store in `data`, its pages limited by the file `limit`.
fn tail_with_limit(emu: &common::Emu, data: &Path, limit: &Path) -> Tail {
    let api = format!("{}/api/", emu.base());
    let mut cmd = Tail::command(&api, data, "tail", (APP, BOT), None);
    cmd.env(PAGE_LIMIT_ENV, limit);
    Tail::collect(cmd.spawn().expect("swarmdeck runs"))
}

/// A store with some history, then cut to half its size (a crash mid-copy, a bad disk).
fn truncated_store(data_dir: &Path) -> PathBuf {
    let writer = Writer::spawn(data_dir).unwrap();
    for i in 0..2_000 {
        writer.send(Write::Event {
            key: format!("C0SWARMAPI|{i}"),
            channel: "C0SWARMAPI".into(),
            ts: i,
            root: i,
            json: format!("{{\"text\":\"{}\"}}", "x".repeat(300)),
        });
    }
    assert!(writer.flush());
    drop(writer);
    let path = data_dir.join("swarmdeck.db");
    // All in the main file (none left in the WAL to mend it), as after a clean exit.
    rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    path
}

struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// The binary with `args` on the emulator and the store in `data`, stderr a pipe.
async fn run(emu: &common::Emu, dir: &Path, args: &[&str]) -> Ran {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_swarmdeck"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("SLACK_API_URL", format!("{}/api/", emu.base()))
        .env("SLACK_APP_TOKEN", APP)
        .env("SLACK_BOT_TOKEN", BOT)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("SWARMDECK_CONFIG")
        .env_remove("SWARMDECK_TEAM_BUS")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(DEADLINE, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("swarmdeck {args:?} ended within the deadline"))
        .expect("swarmdeck runs");
    Ran {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_store_is_named_with_the_fix_by_the_dashboard_tail_and_check() {
    let emu = common::quiet().await;
    let dir = fresh_dir("truncated");
    let data = dir.join("data");
    // Whole, check passes and says it looked.
    Writer::spawn(&data).unwrap().flush();
    let whole = run(&emu, &dir, &["check"]).await;
    assert!(whole.ok, "{}{}", whole.stdout, whole.stderr);
    assert!(whole.stdout.contains("✓ store: "), "{}", whole.stdout);

    let path = truncated_store(&data);
    let named = |who: &str, said: &str| {
        assert!(
            said.contains(&format!("store: {} is damaged", path.display())),
            "{who} names the file: {said}"
        );
        assert!(
            said.contains(&format!("mv {} {}.broken", path.display(), path.display()))
                && said.contains("Slack's history"),
            "{who} gives the fix: {said}"
        );
        assert!(
            !said.contains('\u{1b}'),
            "{who}: no colour codes in a pipe: {said:?}"
        );
    };
    let dashboard = run(&emu, &dir, &[]).await;
    assert!(!dashboard.ok, "the dashboard refuses a damaged store");
    named("the dashboard", &dashboard.stderr);
    let tail = run(&emu, &dir, &["tail"]).await;
    assert!(!tail.ok, "tail refuses a damaged store");
    named("tail", &tail.stderr);
    let check = run(&emu, &dir, &["check"]).await;
    assert!(!check.ok, "check fails: {}", check.stdout);
    assert!(
        check
            .stdout
            .contains(&format!("✗ store: {}", path.display())),
        "{}",
        check.stdout
    );
    assert!(!check.stdout.contains("All set"), "{}", check.stdout);
    named("check", &check.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}
