//! `swarmdeck emulator` as a user runs it: the real binary, its flags, its first line.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_swarmdeck");

/// Kills the emulator when the test ends, pass or fail.
struct Running {
    child: Child,
    base: String,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emulator(args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .arg("emulator")
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).expect("a first line");
    let base = first.trim().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "the first line is the base URL: {base:?}"
    );
    Running {
        child,
        base,
        _stdout: stdout,
    }
}

fn get(url: &str) -> serde_json::Value {
    let body = reqwest::blocking_get(url);
    serde_json::from_str(&body).expect("JSON")
}

/// A tiny blocking client, so these tests need no runtime of their own.
mod reqwest {
    pub fn blocking_get(url: &str) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
    }

    pub fn blocking_post(url: &str, token: &str, form: &[(&str, &str)]) -> serde_json::Value {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            ::reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .form(form)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    }
}

fn message_count(base: &str) -> usize {
    let state = get(&format!("{base}/_emulator/state"));
    state["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["messages"].as_array().unwrap().len())
        .sum()
}

#[test]
fn rate_zero_serves_the_seeded_workspace_and_posts_nothing() {
    let emu = emulator(&["--rate", "0", "--seed", "3"]);
    let auth = reqwest::blocking_post(&format!("{}/api/auth.test", emu.base), common::BOT, &[]);
    assert_eq!(auth["ok"], true);
    let state = get(&format!("{}/_emulator/state", emu.base));
    let names: Vec<&str> = state["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for pod in [
        "swarm-api",
        "swarm-billing",
        "swarm-mobile",
        "swarm-data",
        "general",
    ] {
        assert!(names.contains(&pod), "{pod} in {names:?}");
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(message_count(&emu.base), 0);
}

#[test]
fn a_positive_rate_streams_swarm_requests() {
    let emu = emulator(&["--rate", "120", "--time-scale", "20", "--seed", "9"]);
    let start = Instant::now();
    while message_count(&emu.base) < 3 {
        assert!(start.elapsed() < common::DEADLINE, "the workload posts");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn scopes_flag_limits_the_bot_token() {
    let emu = emulator(&["--rate", "0", "--scopes", "channels:read,users:read"]);
    let post = reqwest::blocking_post(
        &format!("{}/api/chat.postMessage", emu.base),
        common::BOT,
        &[("channel", "C0SWARMAPI"), ("text", "x")],
    );
    assert_eq!(post["error"], "missing_scope");
    assert_eq!(post["needed"], "chat:write");
}

#[test]
fn bad_flags_fail_with_a_message() {
    for args in [
        vec!["--time-scale", "0"],
        vec!["--history-limits", "lenient"],
        vec!["--rate=-1"],
        vec!["--addr", "not-an-address"],
    ] {
        let out = Command::new(BIN)
            .arg("emulator")
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let flag = args[0].split('=').next().unwrap();
        assert!(stderr.contains(flag), "{args:?} names the flag: {stderr}");
    }
}

/// Slack's own Python SDK pointed at the emulator, unchanged. Skipped where the SDK is not
/// installed, unless `SWARMDECK_REQUIRE_SDK` is set (CI sets it after installing it).
#[test]
fn slacks_python_sdk_works_against_the_emulator() {
    let has_sdk = Command::new("python3")
        .args(["-c", "import slack_sdk"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_sdk {
        assert!(
            std::env::var_os("SWARMDECK_REQUIRE_SDK").is_none(),
            "slack_sdk is required here"
        );
        eprintln!("skipped: python3 with slack_sdk is not installed (pip install slack_sdk)");
        return;
    }
    let emu = emulator(&["--rate", "0"]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/python_slack_sdk.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&emu.base)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all SDK checks passed"), "{stdout}");
}
