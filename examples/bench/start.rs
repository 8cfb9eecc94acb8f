//! Start-up and drawing with 10,000 swarms, each beside a floor measured in the same run.
//!
//! - `first_frame_10k_ms`: the real binary, started in a tmux pane on a store holding
//!   10,000 swarms (20,000 events), Slack unreachable: from process start to the first
//!   frame drawn, as the binary logs it. Floor: the same with an empty store
//!   (`first_frame_floor_ms`). Median of 5 runs each.
//! - `render_10k_median_us`: one full draw of the main view (160×48, TestBackend) with
//!   10,000 open swarms. Floor: the same view with none (`render_floor_median_us`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::support::{self, PODS, swarm, ts};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use swarmdeck::domain::Desk;
use swarmdeck::slack::record::record;
use swarmdeck::slack::wire::Event;
use swarmdeck::store::{Write, Writer};

pub const SWARMS: usize = 10_000;

pub fn round(x: f64) -> serde_json::Value {
    if x.is_finite() {
        json!((x * 10.0).round() / 10.0)
    } else {
        serde_json::Value::Null
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

pub fn render_medians() -> (f64, f64) {
    let now = chrono::Utc::now().timestamp();
    let full = support::desk(SWARMS, now);
    let empty = support::desk(0, now);
    (draw_median(&full, now), draw_median(&empty, now))
}

fn draw_median(desk: &Desk, now: i64) -> f64 {
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let mut times = Vec::new();
    for _ in 0..60 {
        let started = Instant::now();
        support::frame(&mut terminal, desk, now);
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    median(times[10..].to_vec())
}

/// A store as a lead's dashboard leaves it: identity, pod channels, `swarms` swarms
/// (a request and a reply each).
fn store_with(dir: &Path, swarms: usize) {
    let writer = Writer::spawn(dir).expect("a store");
    writer.send(Write::Meta {
        key: "identity".into(),
        value: json!({"bot_user_id": "U0SWARMBOT", "bot_id": "B0SWARMBOT", "team": "Acme Support",
                      "team_id": "T0ACME", "url": "https://acme.slack.com/"})
        .to_string(),
    });
    for (id, name) in PODS {
        writer.send(Write::Channel {
            id: id.into(),
            name: name.into(),
        });
    }
    let now = chrono::Utc::now().timestamp();
    for i in 0..swarms {
        let (channel, at, text) = swarm(i, now);
        let root = ts(at, i);
        for event in [
            json!({"type": "message", "channel": channel, "user": "U0REQ00001", "ts": root, "text": text}),
            json!({"type": "message", "channel": channel, "user": "U0EXP00001", "ts": ts(at + 60, i),
                   "thread_ts": root, "text": "Looking"}),
        ] {
            let event: Event = serde_json::from_value(event).unwrap();
            writer.send(record(&event).unwrap());
        }
    }
    writer.flush();
}

pub fn first_frames() -> Result<(f64, f64), String> {
    let tmux_ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !tmux_ok {
        return Err("tmux is not installed".into());
    }
    let bin = support::binary()?;
    let root = std::env::temp_dir().join(format!("swarmdeck-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut results = Vec::new();
    for (name, swarms) in [("full", SWARMS), ("empty", 0)] {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        store_with(&dir.join("data"), swarms);
        let mut runs = Vec::new();
        for run in 0..5 {
            runs.push(first_frame(&bin, &dir, &format!("{name}{run}"), swarms)?);
        }
        results.push(median(runs));
    }
    let _ = std::fs::remove_dir_all(&root);
    Ok((results[0], results[1]))
}

/// One start of the dashboard in tmux; the first-frame time it logs.
fn first_frame(bin: &Path, dir: &Path, run: &str, swarms: usize) -> Result<f64, String> {
    let state = dir.join(format!("state-{run}"));
    let socket = format!("swarmdeck-bench-{}-{run}", std::process::id());
    let command = format!(
        "env SLACK_API_URL=http://127.0.0.1:9/api/ SLACK_APP_TOKEN=xapp-1-bench-000 SLACK_BOT_TOKEN=xoxb-bench-0000 \
         XDG_CONFIG_HOME={d}/config XDG_STATE_HOME={s} {bin} --log-level info --data-dir {d}/data; sleep 30",
        d = dir.display(),
        s = state.display(),
        bin = bin.display()
    );
    let tmux = |args: &[&str]| support::tmux(&socket, args);
    support::tmux_session(&socket, &command);
    let log = state.join("swarmdeck/swarmdeck.log");
    let deadline = Instant::now() + Duration::from_secs(60);
    let found = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("first frame drawn")) {
            break Some(line.to_string());
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let pane = tmux(&["capture-pane", "-p", "-t", "b"]);
    let dashboard = dashboard_pid(&tmux);
    tmux(&["kill-server"]);
    // A dashboard left running would skew every figure measured after this one.
    if let Some(pid) = dashboard
        && !ends_within(&pid, Duration::from_secs(5))
    {
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        return Err(format!(
            "the dashboard (pid {pid}) outlived its terminal: killed; see {}",
            log.display()
        ));
    }
    let line = found.ok_or_else(|| {
        format!(
            "no first frame logged in {}; the pane shows:\n{pane}",
            log.display()
        )
    })?;
    if let Some(restored) = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .find(|l| l.contains("restored from the store"))
    {
        eprintln!(
            "  {run}: {}",
            &restored[restored.find("events").unwrap_or(0)..]
        );
    }
    let swarms_logged = field(&line, "swarms=").unwrap_or(-1.0) as usize;
    if swarms_logged != swarms {
        return Err(format!(
            "the first frame held {swarms_logged} swarms, not {swarms}: {line}"
        ));
    }
    field(&line, "ms=").ok_or_else(|| format!("no time in {line}"))
}

/// The dashboard: the child of the pane's shell (from /proc).
fn dashboard_pid(tmux: &impl Fn(&[&str]) -> String) -> Option<String> {
    let shell = tmux(&["display-message", "-p", "-t", "b", "#{pane_pid}"]);
    let shell = shell.trim();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
    children.split_whitespace().next().map(str::to_string)
}

/// Whether `pid` has ended (a zombie has) within `within`.
fn ends_within(pid: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let running = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        });
        if !running {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn field(line: &str, key: &str) -> Option<f64> {
    let start = line.find(key)? + key.len();
    let value: String = line[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    value.parse().ok()
}
