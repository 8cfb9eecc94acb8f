//! `swarmdeck tail --json`, the real binary, against the emulator under `--chaos`: every
//! injected request comes out exactly once as `swarm_opened` with the right case, pod
//! and urgency — through dropped and refreshed sockets, duplicated deliveries, failing
//! Web API calls and a hard kill and restart in the middle.

mod common;

use common::tail::Tail;

use common::{APP, BOT, DEADLINE, Emu};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use swarmdeck::emulator::EmulatorConfig;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const PODS: [(&str, &str); 4] = [
    ("C0SWARMAPI", "api"),
    ("C0SWARMBIL", "billing"),
    ("C0SWARMMOB", "mobile"),
    ("C0SWARMDAT", "data"),
];

/// `swarmdeck tail` on the emulator, with no config file but the environment.
fn tail_command(emu: &Emu, data_dir: &Path, json: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_swarmdeck"));
    cmd.arg("tail")
        .args(json.then_some("--json"))
        .arg("--data-dir")
        .arg(data_dir)
        .env("SLACK_API_URL", format!("{}/api/", emu.base()))
        .env("SLACK_APP_TOKEN", APP)
        .env("SLACK_BOT_TOKEN", BOT)
        .env("XDG_CONFIG_HOME", data_dir.join("config-home"))
        .env_remove("SWARMDECK_CONFIG")
        .env_remove("SWARMDECK_TEAM_BUS")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

fn spawn_tail(emu: &Emu, data_dir: &Path) -> Tail {
    Tail::collect(
        tail_command(emu, data_dir, true)
            .spawn()
            .expect("swarmdeck runs"),
    )
}

/// What these tests read of a tail's output.
trait Printed {
    fn lines(&self) -> Vec<String>;
    fn opened_cases(&self) -> HashSet<String>;
    async fn wait_for_cases(&self, cases: &[String]);
}

impl Printed for Tail {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn opened_cases(&self) -> HashSet<String> {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["type"] == "swarm_opened")
            .filter_map(|v| v["case"].as_str().map(str::to_string))
            .collect()
    }

    async fn wait_for_cases(&self, cases: &[String]) {
        let deadline = tokio::time::Instant::now() + DEADLINE * 3;
        loop {
            let seen = self.opened_cases();
            if cases.iter().all(|c| seen.contains(c)) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                let missing: Vec<_> = cases.iter().filter(|c| !seen.contains(*c)).collect();
                panic!(
                    "tail never printed {missing:?}\nstderr:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The `n`th request, in one of the spellings agents and workflows use.
fn request(n: usize) -> (Value, String, &'static str, &'static str) {
    let (channel, pod) = PODS[n % PODS.len()];
    let case = format!("{}", 40_000 + n);
    let (said, urgency) = [
        ("Sev 1", "sev1"),
        ("High", "sev2"),
        ("P3", "sev3"),
        ("Low", "sev4"),
        ("Critical", "sev1"),
        ("Normal", "sev3"),
    ][n % 6];
    let event = if n.is_multiple_of(3) {
        // Typed by hand, labels without bold.
        json!({"type": "message", "channel": channel, "user": "U0REQ00002",
               "text": format!("Case #: {case}\nSeverity: {said}\nSubject: typed request {n}\nPlease help")})
    } else {
        let field = |label: &str, value: &str| json!({"type": "mrkdwn", "text": format!("*{label}:*\n{value}")});
        json!({"type": "message", "subtype": "bot_message", "channel": channel, "bot_id": "B0WORKFLOW",
        "username": "Swarm Request",
        "text": format!("New swarm request: case {case}"),
        "blocks": [
            {"type": "section", "fields": [field("Case number", &case), field("Urgency", said)]},
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Subject:*\nworkflow request {n}")}},
            {"type": "section", "fields": [
                field("Case link", &format!("<https://support.acme.example/cases/{case}|Case {case}>")),
                field("Requested by", "<@U0REQ00003>")]}
        ]})
    };
    (event, case, pod, urgency)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_comes_out_once_through_chaos_and_a_restart() {
    let emu = common::start(EmulatorConfig {
        chaos: true,
        seed: 11,
        time_scale: 20.0,
        ..EmulatorConfig::default()
    })
    .await;
    let data = tempdir("tail-chaos");
    let mut expected: BTreeMap<String, (&str, &str)> = BTreeMap::new();

    let first = spawn_tail(&emu, &data);
    let mut cases = Vec::new();
    for n in 0..30 {
        let (event, case, pod, urgency) = request(n);
        let answer = emu.inject(event).await;
        if n.is_multiple_of(5) {
            let ts = answer["ts"].as_str().unwrap().to_string();
            let channel = PODS[n % PODS.len()].0;
            emu.inject(
                json!({"type": "message", "channel": channel, "user": "U0EXP00001",
                              "thread_ts": ts, "text": "Looking now"}),
            )
            .await;
        }
        expected.insert(case.clone(), (pod, urgency));
        cases.push(case);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    first.wait_for_cases(&cases).await;
    let mut first = first;
    // A hard kill: no chance to tidy up.
    first.child.kill().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before_restart = first.lines();

    // Posted while nothing listens: only a delivery retry or the gap fill brings them.
    for n in 30..40 {
        let (event, case, pod, urgency) = request(n);
        emu.inject(event).await;
        expected.insert(case.clone(), (pod, urgency));
        cases.push(case);
    }
    let second = spawn_tail(&emu, &data);
    second.wait_for_cases(&cases[30..]).await;
    // Give late retries of old deliveries their chance to (wrongly) come out again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_restart = second.lines();

    let all: Vec<&String> = before_restart.iter().chain(after_restart.iter()).collect();
    let mut seen = HashSet::new();
    for line in &all {
        assert!(seen.insert(line.as_str()), "printed twice: {line}");
    }
    let mut opened: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in &all {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        for key in ["type", "pod", "channel", "thread_ts", "at"] {
            assert!(v[key].is_string(), "{key} missing: {line}");
        }
        assert!(
            chrono::DateTime::parse_from_rfc3339(v["at"].as_str().unwrap()).is_ok(),
            "`at` is RFC 3339: {line}"
        );
        if v["type"] == "swarm_opened" {
            opened
                .entry(v["case"].as_str().unwrap().to_string())
                .or_default()
                .push(v);
        }
    }
    for (case, (pod, urgency)) in &expected {
        let lines = opened
            .get(case)
            .unwrap_or_else(|| panic!("no swarm_opened for {case}"));
        assert_eq!(
            lines.len(),
            1,
            "exactly one swarm_opened for {case}: {lines:?}"
        );
        let v = &lines[0];
        assert_eq!(
            (v["pod"].as_str(), v["urgency"].as_str()),
            (Some(*pod), Some(*urgency)),
            "{v}"
        );
        assert!(v["subject"].as_str().unwrap().contains("request"), "{v}");
    }
    assert_eq!(opened.len(), expected.len(), "no swarm from nowhere");
    let replies = all
        .iter()
        .filter(|l| l.contains(r#""type":"reply""#))
        .count();
    assert_eq!(replies, 6, "each expert reply once");
    // The chaos really happened: events came more than once (retried, or sent twice) and
    // sockets were replaced.
    let deliveries = emu.control_get("deliveries").await;
    let retried = deliveries
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["retry_attempt"].as_u64().unwrap_or(0) > 0 || d["duplicate"] == true)
        .count();
    let connections: HashSet<_> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["connection"].to_string())
        .collect();
    assert!(
        retried > 0 && connections.len() > 2,
        "retried {retried}, connections {}",
        connections.len()
    );
    std::fs::remove_dir_all(&data).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readable_lines_without_json() {
    let emu = common::quiet().await;
    let data = tempdir("tail-text");
    let (event, case, ..) = request(1);
    emu.inject(event).await;
    let mut child = tail_command(&emu, &data, false).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(DEADLINE, out.next_line())
        .await
        .expect("a line in time")
        .unwrap()
        .unwrap();
    assert!(
        line.contains("billing")
            && line.contains(&format!("#{case}"))
            && line.contains("swarm_opened")
            && line.contains("sev2"),
        "{line}"
    );
    assert!(!line.starts_with('{'));
    child.kill().await.unwrap();
    std::fs::remove_dir_all(&data).ok();
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("swarmdeck-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
