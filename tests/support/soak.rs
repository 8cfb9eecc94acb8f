//! The soak: the real dashboard, driven by a lead's keys in tmux, against an emulator
//! running `--chaos` (forced disconnects, duplicate and held-back deliveries, 429s and
//! 5xx) with scripted outages, error storms and muted sockets on top, and the dashboard
//! itself killed (mostly SIGKILL) and restarted again and again on the same store.
//!
//! Afterwards the emulator is calmed, the dashboard is started once more to catch up, and
//! two things must hold:
//! - the desk the dashboard's store rebuilds equals the desk built from a clean replay of
//!   the emulator's full history (every pod channel's history and threads, read afresh);
//! - the emulator's calls show no action performed twice: each post carrying a move's
//!   metadata key landed once, each incident channel was created once, nobody was invited
//!   to a channel twice, no reaction, bookmark, topic, purpose or archive was done twice.
//!
//! Shared by `tests/chaos_soak.rs` (short) and `examples/soak.rs` (minutes long).

#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use swarmdeck::config::Settings;
use swarmdeck::domain::{Desk, Input, Swarm, Ts};
use swarmdeck::emulator::{self, EmulatorConfig, LEAD_USER_ID};
use swarmdeck::session::{self, Replay};
use swarmdeck::slack::translate::Translator;
use swarmdeck::slack::{self, Token, WebClient, WebPolicy, wire};
use swarmdeck::store::Store;

pub struct Plan {
    /// The `swarmdeck` binary.
    pub bin: PathBuf,
    /// How long the trouble lasts (the catch-up afterwards is extra).
    pub duration: Duration,
    pub seed: u64,
    /// New swarm requests per minute of Slack time.
    pub rate: f64,
    /// Slack time runs this much faster: chaos disconnects, the workload.
    pub time_scale: f64,
    /// Printed as it goes (the example), or quiet (the test).
    pub verbose: bool,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub starts: usize,
    pub kills: usize,
    pub moves: HashMap<&'static str, usize>,
    pub troubles: HashMap<&'static str, usize>,
    pub swarms: usize,
    pub stored_events: usize,
    pub calls: usize,
    pub failed_calls: usize,
    /// Calls answered 429: chaos's and the scripted storms', and Slack's own limits'.
    pub rate_limited: usize,
    pub duplicate_deliveries: usize,
    pub catch_up: Duration,
    pub elapsed: Duration,
}

/// A lead's move as keys, after selecting a row.
const MOVES: [(&str, &[&str]); 5] = [
    ("waiting", &["w"]),
    ("assign", &["a", "Enter"]),
    ("promote", &["p", "Enter"]),
    ("resolve", &["r", "Fixed during the soak", "Enter"]),
    ("reply", &["c", "Still on it", "Enter"]),
];

pub async fn run(plan: &Plan) -> Result<Outcome, String> {
    let started = Instant::now();
    let emu = emulator::start(EmulatorConfig {
        chaos: true,
        rate: plan.rate,
        seed: plan.seed,
        time_scale: plan.time_scale,
        backlog: true,
        ..EmulatorConfig::default()
    })
    .await
    .map_err(|e| format!("the emulator did not start: {e}"))?;
    let base = emu.base_url().to_string();
    let http = reqwest::Client::new();
    let dir = std::env::temp_dir().join(format!("swarmdeck-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("swarmdeck.toml"),
        // The client's own budgets and backoff run as fast as the emulator's clock.
        format!(
            "lead = \"{LEAD_USER_ID}\"\n[slack]\ntime_scale = {}\n",
            plan.time_scale
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut rng = Rng(plan.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = Outcome::default();
    let say = |line: String| {
        if plan.verbose {
            println!("[{:>6.1}s] {line}", started.elapsed().as_secs_f64());
        }
    };

    while started.elapsed() < plan.duration {
        out.starts += 1;
        let pane = Pane::launch(&plan.bin, &base, &dir, out.starts);
        pane.wait_for("connected", Duration::from_secs(60))?;
        for _ in 0..1 + rng.below(3) {
            for _ in 0..rng.below(6) {
                pane.keys(&["j"]);
            }
            let (name, keys) = MOVES[rng.below(MOVES.len())];
            pane.keys(keys);
            pane.keys(&["Escape"]);
            *out.moves.entry(name).or_default() += 1;
            let trouble = trouble(&http, &base, &mut rng).await?;
            *out.troubles.entry(trouble).or_default() += 1;
            say(format!("start {}: {name}, then {trouble}", out.starts));
            tokio::time::sleep(Duration::from_millis(300 + 200 * rng.below(10) as u64)).await;
        }
        if rng.below(5) == 0 {
            pane.keys(&["q"]);
            pane.wait_for("exited with 0", Duration::from_secs(20))?;
            say("quit with q".into());
        } else {
            pane.kill("KILL");
            out.kills += 1;
            say("killed (SIGKILL)".into());
        }
    }

    // At rest: no more workload or chaos; scripted trouble runs its course.
    post(&http, &base, "calm", json!({})).await?;
    post(&http, &base, "faults", json!({"clear": true})).await?;
    let calm = Instant::now();
    out.starts += 1;
    let log_path = dir.join("state/swarmdeck/swarmdeck.log");
    let logged_before = std::fs::read_to_string(&log_path).unwrap_or_default().len();
    let pane = Pane::launch(&plan.bin, &base, &dir, out.starts);
    pane.wait_for("connected", Duration::from_secs(60))?;
    // The restart's gap fill re-reads what the killed runs never finished reading,
    // within Slack's history budget (about 50 calls a minute): wait for it to finish.
    let fill_deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log
            .get(logged_before..)
            .is_some_and(|new| new.contains("gap fill done"))
        {
            break;
        }
        if Instant::now() > fill_deadline {
            return Err(format!(
                "the final gap fill never finished\n--- log tail ---\n{}",
                tail(&log, 40)
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    say(format!("caught up from history in {:.0?}", calm.elapsed()));
    let settings = Settings::demo(&format!("{base}/api/"), dir.join("data"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let differences = loop {
        let now = Ts::from_secs(chrono::Utc::now().timestamp());
        let (stored, pending) = from_store(&settings, now)?;
        let history = from_history(&settings).await?;
        let mut replayed = history.replay(now, &[]);
        let redated = history.reaction_dates(&stored, &replayed);
        if !redated.is_empty() {
            replayed = history.replay(now, &redated);
        }
        let differences = compare(&stored, &replayed);
        if differences.is_empty() && pending == 0 {
            out.swarms = stored.len();
            break None;
        }
        if Instant::now() > deadline {
            break Some(format!(
                "{pending} actions still pending; {} swarms differ:\n{}",
                differences.len(),
                differences.join("\n")
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    out.catch_up = calm.elapsed();
    pane.keys(&["q"]);
    let log =
        std::fs::read_to_string(dir.join("state/swarmdeck/swarmdeck.log")).unwrap_or_default();
    drop(pane);
    if let Some(d) = differences {
        return Err(format!(
            "the store's desk never matched the history: {d}\n--- log tail ---\n{}",
            tail(&log, 40)
        ));
    }

    let calls: Value = get(&http, &base, "calls").await?;
    let calls = calls.as_array().cloned().unwrap_or_default();
    out.calls = calls.len();
    out.failed_calls = calls.iter().filter(|c| c["ok"] != true).count();
    out.rate_limited = calls.iter().filter(|c| c["status"] == 429).count();
    let twice = performed_twice(&calls);
    if !twice.is_empty() {
        return Err(format!("actions performed twice:\n{}", twice.join("\n")));
    }
    let deliveries: Value = get(&http, &base, "deliveries").await?;
    let mut per_event: HashMap<&str, usize> = HashMap::new();
    for d in deliveries.as_array().into_iter().flatten() {
        *per_event
            .entry(d["event_id"].as_str().unwrap_or(""))
            .or_default() += 1;
    }
    out.duplicate_deliveries = per_event.values().map(|n| n - 1).sum();
    out.stored_events = Store::open(&settings.data_dir)
        .and_then(|s| s.each_event(|_| {}))
        .map_err(|e| e.to_string())?;
    out.elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}

/// Something going wrong in Slack, scripted through the control API.
async fn trouble(
    http: &reqwest::Client,
    base: &str,
    rng: &mut Rng,
) -> Result<&'static str, String> {
    let (name, path, body) = match rng.below(7) {
        0 => (
            "an outage",
            "disconnect",
            json!({"mode": "outage", "seconds": 2 + rng.below(3)}),
        ),
        1 => (
            "a 503 storm",
            "faults",
            json!({"method": "*", "status": 503, "count": 8 + rng.below(12)}),
        ),
        2 => (
            "a 429 storm",
            "faults",
            json!({"method": "*", "status": 429, "retry_after": 1, "count": 5 + rng.below(10)}),
        ),
        3 => ("dropped sockets", "disconnect", json!({"mode": "drop"})),
        4 => (
            "a refresh",
            "disconnect",
            json!({"mode": "refresh_requested"}),
        ),
        5 => (
            "muted sockets",
            "faults",
            json!({"socket": "mute", "seconds": 3}),
        ),
        _ => return Ok("nothing extra"),
    };
    post(http, base, path, body).await?;
    Ok(name)
}

/// The desk the dashboard's store rebuilds (as a restart would) and its pending actions.
fn from_store(settings: &Settings, now: Ts) -> Result<(Vec<Swarm>, usize), String> {
    let store = Store::open(&settings.data_dir).map_err(|e| e.to_string())?;
    let restored = session::restore(settings, &store, now, Replay::State)
        .map_err(|e| e.to_string())?
        .ok_or("the store was never connected")?;
    let pending = store.pending_actions().map_err(|e| e.to_string())?.len();
    Ok((restored.desk.snapshot(), pending))
}

/// The emulator's whole history, read afresh: every pod channel's history, and every
/// thread in it, as the desk's inputs.
struct History {
    config: swarmdeck::domain::DeskConfig,
    pods: Vec<swarmdeck::domain::Pod>,
    inputs: Vec<Input>,
}

impl History {
    /// The desk built from the history, with `extra` inputs after it.
    fn replay(&self, now: Ts, extra: &[Input]) -> Vec<Swarm> {
        let mut desk = Desk::new(self.config.clone(), self.pods.clone());
        desk.restore(self.inputs.iter().chain(extra).cloned(), now);
        desk.snapshot()
    }

    /// History lists who reacted, not when, so a replay dates a resolving reaction at the
    /// thread's last activity, while the live stream gave the store the reaction's own
    /// time, which cannot be earlier. For each swarm where that is how the two could
    /// differ, the reaction as the stream told it (its time taken from the store), so a
    /// second replay derives everything that follows from it (the resolution, the end of
    /// a pause) through the desk's own code, and the comparison stays exact.
    fn reaction_dates(&self, stored: &[Swarm], replayed: &[Swarm]) -> Vec<Input> {
        let theirs: HashMap<_, &Swarm> = replayed
            .iter()
            .map(|s| ((s.channel.as_str(), s.thread_ts), s))
            .collect();
        let mut out = Vec::new();
        for s in stored {
            let Some(t) = theirs.get(&(s.channel.as_str(), s.thread_ts)) else {
                continue;
            };
            let (Some(live), Some(estimated)) = (s.resolved_at, t.resolved_at) else {
                continue;
            };
            if s == *t || live <= estimated || estimated != t.last_activity {
                continue;
            }
            for root in self.inputs.iter().filter_map(|i| match i {
                Input::Message(m) if m.channel == s.channel && m.ts == s.thread_ts => Some(m),
                _ => None,
            }) {
                let reacted = root
                    .reactions
                    .iter()
                    .filter(|(name, _)| *name == self.config.resolved_reaction)
                    .flat_map(|(_, users)| users);
                out.extend(reacted.map(|user| Input::Reaction {
                    channel: s.channel.clone(),
                    ts: s.thread_ts,
                    name: self.config.resolved_reaction.clone(),
                    user: user.clone(),
                    added: true,
                    at: Some(live),
                }));
            }
        }
        out
    }
}

async fn from_history(settings: &Settings) -> Result<History, String> {
    let web = WebClient::new(
        &settings.api_url,
        Token::new("xoxb-soak-replay"),
        None,
        WebPolicy::default(),
    )
    .map_err(|e| e.to_string())?;
    let auth: wire::AuthTest = web
        .call("auth.test", &[])
        .await
        .map_err(|e| e.to_string())?;
    let translator = Translator::new(&slack::Identity {
        bot_user_id: auth.user_id,
        bot_id: auth.bot_id,
        team: auth.team,
        team_id: auth.team_id,
        url: auth.url,
    });
    let channels = slack::list_member_channels(&web)
        .await
        .map_err(|e| e.to_string())?;
    let named: Vec<(String, String)> = channels
        .iter()
        .map(|c| slack::translate::channel_name(&c.id, &c.name))
        .collect();
    let (pods, _) = settings.pods(&named);
    let mut inputs = Vec::new();
    for pod in &pods {
        let top = pages(&web, "conversations.history", &pod.channel, None).await?;
        for m in &top {
            let ts = m.ts.clone().unwrap_or_default();
            let replies = if m.reply_count.unwrap_or(0) > 0 {
                pages(&web, "conversations.replies", &pod.channel, Some(&ts)).await?
            } else {
                Vec::new()
            };
            for mut msg in
                std::iter::once(m.clone()).chain(replies.into_iter().filter(|r| r.ts != m.ts))
            {
                msg.channel = Some(pod.channel.clone());
                inputs.extend(translator.translate(&wire::Event::Message(Box::new(msg))));
            }
        }
    }
    let mut all: Vec<Input> = named
        .iter()
        .map(|(id, name)| Input::ChannelNamed {
            id: id.clone(),
            name: name.clone(),
        })
        .collect();
    all.extend(inputs);
    Ok(History {
        config: settings.desk(),
        pods,
        inputs: all,
    })
}

async fn pages(
    web: &WebClient,
    method: &str,
    channel: &str,
    thread_ts: Option<&str>,
) -> Result<Vec<wire::Message>, String> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let mut params = vec![
            ("channel", channel.to_string()),
            ("limit", "200".to_string()),
            ("include_all_metadata", "true".to_string()),
        ];
        if let Some(ts) = thread_ts {
            params.push(("ts", ts.to_string()));
        }
        if !cursor.is_empty() {
            params.push(("cursor", cursor.clone()));
        }
        let page: wire::MessagePage = web.call(method, &params).await.map_err(|e| e.to_string())?;
        all.extend(page.messages);
        cursor = page.response_metadata.next_cursor;
        if cursor.is_empty() || !page.has_more {
            return Ok(all);
        }
    }
}

/// What differs, swarm by swarm (both lists are ordered by channel and thread).
fn compare(stored: &[Swarm], replayed: &[Swarm]) -> Vec<String> {
    let key = |s: &Swarm| (s.channel.clone(), s.thread_ts);
    let theirs: HashMap<_, &Swarm> = replayed.iter().map(|s| (key(s), s)).collect();
    let ours: HashMap<_, &Swarm> = stored.iter().map(|s| (key(s), s)).collect();
    let mut out = Vec::new();
    for s in stored {
        match theirs.get(&key(s)) {
            None => out.push(format!("only in the store: {} {}", s.channel, s.thread_ts)),
            Some(t) if s != *t => out.push(format!("differs:\n  store:   {s:?}\n  history: {t:?}")),
            Some(_) => {}
        }
    }
    for s in replayed {
        if !ours.contains_key(&key(s)) {
            out.push(format!("only in history: {} {}", s.channel, s.thread_ts));
        }
    }
    out
}

/// Successful calls that did the same thing twice.
fn performed_twice(calls: &[Value]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for c in calls.iter().filter(|c| c["ok"] == true) {
        let p = &c["params"];
        let s = |k: &str| param(p, k);
        let keys: Vec<String> = match c["method"].as_str().unwrap_or("") {
            "chat.postMessage" => {
                let meta = match &p["metadata"] {
                    Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
                    v => v.clone(),
                };
                match meta["event_payload"]["action"].as_str() {
                    Some(action) => vec![format!("post {action}")],
                    None => vec![],
                }
            }
            "conversations.create" => vec![format!("create #{}", s("name"))],
            "conversations.invite" => s("users")
                .split(',')
                .map(|u| format!("invite {u} to {}", s("channel")))
                .collect(),
            "reactions.add" => vec![format!(
                "react :{}: {} {}",
                s("name"),
                s("channel"),
                s("timestamp")
            )],
            "conversations.archive" => vec![format!("archive {}", s("channel"))],
            "bookmarks.add" => vec![format!("bookmark {} {}", s("channel_id"), s("link"))],
            "conversations.setTopic" => vec![format!("topic {} {}", s("channel"), s("topic"))],
            "conversations.setPurpose" => {
                vec![format!("purpose {} {}", s("channel"), s("purpose"))]
            }
            _ => vec![],
        };
        for k in keys {
            *seen.entry(k).or_default() += 1;
        }
    }
    let mut twice: Vec<String> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, n)| format!("{k}: {n} times"))
        .collect();
    twice.sort();
    twice
}

fn param(params: &Value, key: &str) -> String {
    match &params[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

async fn post(http: &reqwest::Client, base: &str, path: &str, body: Value) -> Result<(), String> {
    let resp = http
        .post(format!("{base}/_emulator/{path}"))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("/_emulator/{path} answered {}", resp.status()));
    }
    Ok(())
}

async fn get(http: &reqwest::Client, base: &str, path: &str) -> Result<Value, String> {
    http.get(format!("{base}/_emulator/{path}"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The dashboard in its own tmux server, on the emulator, with the soak's store.
struct Pane {
    socket: String,
}

impl Pane {
    fn launch(bin: &Path, base: &str, dir: &Path, start: usize) -> Pane {
        let pane = Pane {
            socket: format!("swarmdeck-soak-{}-{start}", std::process::id()),
        };
        let command = format!(
            "env SLACK_API_URL={base}/api/ SLACK_APP_TOKEN=xapp-1-A0SOAK-soak SLACK_BOT_TOKEN=xoxb-soak-0001 \
             SWARMDECK_CONFIG={d}/swarmdeck.toml XDG_CONFIG_HOME={d}/config XDG_STATE_HOME={d}/state \
             {bin} --log-level info --data-dir {d}/data; echo \"exited with $?\"; sleep 600",
            d = dir.display(),
            bin = bin.display(),
        );
        pane.tmux(&[
            "new-session",
            "-d",
            "-s",
            "lead",
            "-x",
            "140",
            "-y",
            "40",
            &command,
        ]);
        pane
    }

    fn tmux(&self, args: &[&str]) -> String {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "lead", k]);
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn wait_for(&self, what: &str, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.tmux(&["capture-pane", "-p", "-t", "lead"]);
            if screen.contains(what) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("the screen never showed {what:?}:\n{screen}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Signals the dashboard (the pane shell's child, found in /proc).
    fn kill(&self, signal: &str) {
        let shell = self.tmux(&["display-message", "-p", "-t", "lead", "#{pane_pid}"]);
        let shell = shell.trim();
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next() {
            // Already gone (quit with q) is fine.
            let _ = Command::new("sh")
                .args(["-c", &format!("kill -{signal} {pid} 2>/dev/null")])
                .status();
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        self.kill("KILL");
        self.tmux(&["kill-server"]);
    }
}

/// xorshift: the soak's choices, fixed by its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}
