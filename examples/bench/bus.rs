//! The team bus (NATS JetStream), each figure beside the same thing without it, in the
//! same run: the real binary (`swarmdeck tail --json`, release), the in-process emulator
//! with no workload, and a real `nats-server -js` (a fresh one per measurement, so that
//! no stream carries another run's events).
//!
//! - `bus_fanout_p50_ms`, `_p99_ms`: three tails on one app, each on its own store, all on
//!   the bus; 200 requests injected at 20/s across the four pods. A request's latency is
//!   from just before its injection to the arrival of the last of the three tails'
//!   `swarm_opened` lines. Floor (`no_bus_p50_ms`, `_p99_ms`): the same requests to one
//!   tail with no bus, alone on the app, so Slack hands it every event itself.
//! - `catch_up_stream_s`, `catch_up_history_s`: Slack's strict history limits (one call a
//!   minute per method, 15 messages a page) on a clock 60 times faster, and the tails'
//!   budgets to match. Tail A runs throughout; tail B, once up (a request per pod printed,
//!   its first history fill done), is SIGKILLed, 30 requests with a reply each are
//!   posted, B restarts on its store: from B's restart to its last `swarm_opened` of the
//!   30. With the bus B reads them from the stream
//!   (`catch_up_stream_history_calls`: the history calls the emulator answered meanwhile);
//!   without, from Slack's history. `catch_up_history_slack_s` is the latter × 60: what it
//!   would take against Slack. `catch_up_ratio` is that over `catch_up_stream_s`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use swarmdeck::emulator::{self, EmulatorConfig, HistoryLimits, RateLimits, RunningEmulator};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::support::PODS;

pub const REQUESTS: usize = 200;
pub const PER_SECOND: u64 = 20;
pub const TAILS: usize = 3;
pub const MISSED: usize = 30;
pub const TIME_SCALE: f64 = 60.0;

/// Every figure NaN (or `None`) until measured.
pub struct Bus {
    pub fanout_p50_ms: f64,
    pub fanout_p99_ms: f64,
    pub no_bus_p50_ms: f64,
    pub no_bus_p99_ms: f64,
    pub stream_s: f64,
    pub history_s: f64,
    pub stream_history_calls: Option<usize>,
}

impl Bus {
    pub fn unmeasured() -> Bus {
        Bus {
            fanout_p50_ms: f64::NAN,
            fanout_p99_ms: f64::NAN,
            no_bus_p50_ms: f64::NAN,
            no_bus_p99_ms: f64::NAN,
            stream_s: f64::NAN,
            history_s: f64::NAN,
            stream_history_calls: None,
        }
    }
}

/// Each part measured on its own: one that fails says why on stderr and stays NaN.
pub async fn measure(bin: &Path) -> Bus {
    let mut bus = Bus::unmeasured();
    let nats = nats_server();
    if nats.is_none() {
        eprintln!("bus figures not measured (their floors are): nats-server is not installed");
    }
    match fanout(bin, 1, None).await {
        Ok((p50, p99)) => (bus.no_bus_p50_ms, bus.no_bus_p99_ms) = (p50, p99),
        Err(e) => eprintln!("fan-out floor (no bus) not measured: {e}"),
    }
    if let Some(server) = &nats {
        let result = match Nats::start(server, "fanout") {
            Ok(n) => fanout(bin, TAILS, Some(&n)).await,
            Err(e) => Err(e),
        };
        match result {
            Ok((p50, p99)) => (bus.fanout_p50_ms, bus.fanout_p99_ms) = (p50, p99),
            Err(e) => eprintln!("bus fan-out not measured: {e}"),
        }
        let result = match Nats::start(server, "stream") {
            Ok(n) => catch_up(bin, Some(&n)).await,
            Err(e) => Err(e),
        };
        match result {
            Ok((secs, calls)) => (bus.stream_s, bus.stream_history_calls) = (secs, Some(calls)),
            Err(e) => eprintln!("catch-up from the stream not measured: {e}"),
        }
    }
    match catch_up(bin, None).await {
        Ok((secs, _)) => bus.history_s = secs,
        Err(e) => eprintln!("catch-up from history not measured: {e}"),
    }
    bus
}

/// `tails` tails on one app (on the bus if `nats`), a warm-up request they all print,
/// then `REQUESTS` at `PER_SECOND`: p50 and p99 (ms) of each request's slowest tail.
async fn fanout(bin: &Path, tails: usize, nats: Option<&Nats>) -> Result<(f64, f64), String> {
    let slack = Slack::start(measuring()).await?;
    let dir = temp_dir(if nats.is_some() { "fanout" } else { "floor" })?;
    let config = nats.map(|n| format!("[team]\nbus = \"{}\"\n", n.url));
    let tails: Vec<Tail> = (0..tails)
        .map(|i| {
            Tail::spawn(
                bin,
                &slack,
                &dir.join(format!("t{i}")),
                config.as_deref(),
                "t",
            )
        })
        .collect::<Result<_, _>>()?;
    slack.request(PODS[0].0, 29_999).await?;
    for tail in &tails {
        tail.wait_for(&["29999".into()], Duration::from_secs(60))
            .await?;
    }
    let mut injected = Vec::new();
    let mut pace = tokio::time::interval(Duration::from_millis(1_000 / PER_SECOND));
    for i in 0..REQUESTS {
        pace.tick().await;
        let case = 30_000 + i as u32;
        let at = Instant::now();
        slack.request(PODS[i % PODS.len()].0, case).await?;
        injected.push((case.to_string(), at));
    }
    let cases: Vec<String> = injected.iter().map(|(c, _)| c.clone()).collect();
    for tail in &tails {
        tail.wait_for(&cases, Duration::from_secs(60)).await?;
    }
    let mut latencies: Vec<f64> = injected
        .iter()
        .map(|(case, at)| {
            tails
                .iter()
                .filter_map(|t| t.opened(case))
                .map(|printed| printed.duration_since(*at).as_secs_f64() * 1e3)
                .fold(0.0, f64::max)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    drop(tails);
    let _ = std::fs::remove_dir_all(&dir);
    Ok((percentile(&latencies, 0.5), percentile(&latencies, 0.99)))
}

/// Tail B's catch-up after a SIGKILL and `MISSED` requests: seconds from its restart to
/// its last `swarm_opened` of them, and the history calls Slack answered meanwhile.
async fn catch_up(bin: &Path, nats: Option<&Nats>) -> Result<(f64, usize), String> {
    let slack = Slack::start(EmulatorConfig {
        history_limits: HistoryLimits::Strict,
        time_scale: TIME_SCALE,
        ..EmulatorConfig::default()
    })
    .await?;
    let dir = temp_dir(if nats.is_some() { "stream" } else { "history" })?;
    let mut config = format!("[slack]\ntime_scale = {TIME_SCALE:.1}\n");
    if let Some(n) = nats {
        config.push_str(&format!("[team]\nbus = \"{}\"\n", n.url));
    }
    let (dir_a, dir_b) = (dir.join("a"), dir.join("b"));
    let a = Tail::spawn(bin, &slack, &dir_a, Some(&config), "a")?;
    let mut b = Tail::spawn(bin, &slack, &dir_b, Some(&config), "b")?;
    // Up: a request in each pod printed, and the first history fill done, so that what
    // B reads after its restart is the span it missed.
    let mut warm_up = Vec::new();
    for (i, (pod, _)) in PODS.iter().enumerate() {
        let case = 28_990 + i as u32;
        slack.request(pod, case).await?;
        warm_up.push(case.to_string());
    }
    for tail in [&a, &b] {
        tail.wait_for(&warm_up, Duration::from_secs(120)).await?;
        tail.wait_log("gap fill done", Duration::from_secs(120))
            .await?;
    }
    b.child.start_kill().map_err(|e| e.to_string())?;
    let _ = b.child.wait().await;
    let mut missed = Vec::new();
    for i in 0..MISSED {
        let case = 29_000 + i as u32;
        let ts = slack.request(PODS[i % PODS.len()].0, case).await?;
        slack
            .inject(json!({"type": "message", "channel": PODS[i % PODS.len()].0,
                "user": "U0EXP00002", "thread_ts": ts, "text": format!("Looking at {case}")}))
            .await?;
        missed.push(case.to_string());
    }
    a.wait_for(&missed, Duration::from_secs(60)).await?;
    let calls_before = slack.history_calls().await?;
    let restarted = Instant::now();
    let b = Tail::spawn(bin, &slack, &dir_b, Some(&config), "b-restarted")?;
    b.wait_for(&missed, Duration::from_secs(600)).await?;
    let calls = slack.history_calls().await?.split_off(calls_before.len());
    if nats.is_some() && !calls.is_empty() {
        eprintln!(
            "catch-up from the stream: history calls meanwhile (B's log: {}):\n{}",
            b.log.display(),
            calls.join("\n")
        );
    }
    let last = missed
        .iter()
        .filter_map(|case| b.opened(case))
        .max()
        .expect("all printed");
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
    Ok((last.duration_since(restarted).as_secs_f64(), calls.len()))
}

/// Nearest rank.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = (sorted.len() as f64 * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn temp_dir(name: &str) -> Result<PathBuf, String> {
    let dir =
        std::env::temp_dir().join(format!("swarmdeck-bench-bus-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The in-process emulator and its control API.
pub(crate) struct Slack {
    pub(crate) emu: RunningEmulator,
    http: reqwest::Client,
}

/// An emulator for measuring swarmdeck itself: Slack's rate limits off, so that what is
/// timed is swarmdeck, not its pacing (the catch-up figure keeps them on: that is its point).
pub(crate) fn measuring() -> EmulatorConfig {
    EmulatorConfig {
        rate_limits: RateLimits::Off,
        ..EmulatorConfig::default()
    }
}

impl Slack {
    pub(crate) async fn start(config: EmulatorConfig) -> Result<Slack, String> {
        let emu = emulator::start(config).await.map_err(|e| e.to_string())?;
        Ok(Slack {
            emu,
            http: reqwest::Client::new(),
        })
    }

    /// Posts a message as Slack would have it posted: the reply, with its `ts`.
    pub(crate) async fn inject(&self, event: Value) -> Result<Value, String> {
        let reply = self
            .http
            .post(format!("{}/_emulator/events", self.emu.base_url()))
            .json(&event)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !reply.status().is_success() {
            return Err(format!("inject: HTTP {}", reply.status()));
        }
        reply.json().await.map_err(|e| e.to_string())
    }

    /// A swarm request for `case` in `channel`; its `ts`.
    pub(crate) async fn request(&self, channel: &str, case: u32) -> Result<String, String> {
        let posted = self
            .inject(json!({"type": "message", "channel": channel, "user": "U0REQ00001",
                "text": format!("Case: {case}\nUrgency: Sev 3\nSubject: Sync stalls for tenant {case}")}))
            .await?;
        posted["ts"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("inject answered without a ts: {posted}"))
    }

    /// The `conversations.history` and `conversations.replies` calls answered so far
    /// (429s included), oldest first, each as "at method params status".
    async fn history_calls(&self) -> Result<Vec<String>, String> {
        let calls: Value = self
            .http
            .get(format!("{}/_emulator/calls", self.emu.base_url()))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        Ok(calls
            .as_array()
            .ok_or("calls: not a list")?
            .iter()
            .filter(|c| {
                matches!(
                    c["method"].as_str(),
                    Some("conversations.history" | "conversations.replies")
                )
            })
            .map(|c| {
                format!(
                    "{} {} {} {}",
                    c["at"], c["method"], c["params"], c["status"]
                )
            })
            .collect())
    }
}

/// `swarmdeck tail --json --log-level info` on the store in `dir`: when each case's
/// `swarm_opened` line arrived, how many lines of each type and when the last came; its
/// log (stderr) in `dir/<name>.log`.
pub(crate) struct Tail {
    pub(crate) child: Child,
    opened: Arc<Mutex<HashMap<String, Instant>>>,
    printed: Arc<Mutex<HashMap<String, (usize, Instant)>>>,
    log: PathBuf,
}

impl Tail {
    pub(crate) fn spawn(
        bin: &Path,
        slack: &Slack,
        dir: &Path,
        config: Option<&str>,
        name: &str,
    ) -> Result<Tail, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let log = dir.join(format!("{name}.log"));
        let mut cmd = Command::new(bin);
        cmd.args(["tail", "--json", "--log-level", "info", "--data-dir"])
            .arg(dir.join("data"))
            .env("SLACK_API_URL", slack.emu.api_url())
            .env("SLACK_APP_TOKEN", "xapp-1-bench-000")
            .env("SLACK_BOT_TOKEN", "xoxb-bench-0000")
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .env_remove("SWARMDECK_TEAM_BUS")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?)
            .kill_on_drop(true);
        match config {
            Some(text) => {
                let path = dir.join("swarmdeck.toml");
                std::fs::write(&path, text).map_err(|e| e.to_string())?;
                cmd.env("SWARMDECK_CONFIG", path)
            }
            None => cmd.env_remove("SWARMDECK_CONFIG"),
        };
        let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", bin.display()))?;
        let opened = Arc::new(Mutex::new(HashMap::new()));
        let printed = Arc::new(Mutex::new(HashMap::new()));
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let (sink, counts) = (opened.clone(), printed.clone());
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let at = Instant::now();
                let Ok(event) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let kind = event["type"].as_str().unwrap_or("?").to_string();
                let mut counts = counts.lock().unwrap();
                let seen = counts.entry(kind).or_insert((0, at));
                *seen = (seen.0 + 1, at);
                drop(counts);
                if event["type"] == "swarm_opened"
                    && let Some(case) = event["case"].as_str()
                {
                    sink.lock().unwrap().entry(case.to_string()).or_insert(at);
                }
            }
        });
        Ok(Tail {
            child,
            opened,
            printed,
            log,
        })
    }

    /// How many lines of type `kind` it printed, and when the last arrived.
    pub(crate) fn printed(&self, kind: &str) -> Option<(usize, Instant)> {
        self.printed.lock().unwrap().get(kind).copied()
    }

    /// When the first `swarm_opened` line of `case` arrived.
    fn opened(&self, case: &str) -> Option<Instant> {
        self.opened.lock().unwrap().get(case).copied()
    }

    /// Waits until the log holds `needle`; else says so, with the log's end.
    pub(crate) async fn wait_log(&self, needle: &str, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        while !self.log().contains(needle) {
            if Instant::now() > deadline {
                return Err(format!(
                    "{} never logged {needle:?} within {within:?}; its end:\n{}",
                    self.log.display(),
                    self.log_end()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last 40 lines of the log.
    pub(crate) fn log_end(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Waits until every case has been printed; else says which not, with the log's end.
    async fn wait_for(&self, cases: &[String], within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            let missing: Vec<&String> = cases.iter().filter(|c| self.opened(c).is_none()).collect();
            if missing.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} printed no swarm_opened for {} of {} cases within {within:?} (first {}); its log's end:\n{}",
                    self.log.display(),
                    missing.len(),
                    cases.len(),
                    missing[0],
                    self.log_end()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `nats-server` on PATH, else where Debian puts it.
fn nats_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("nats-server"))
        .chain([PathBuf::from("/usr/sbin/nats-server")])
        .find(|p| p.is_file())
}

/// A `nats-server -js` on a free port with its own store, killed and removed on drop.
struct Nats {
    url: String,
    dir: PathBuf,
    child: std::process::Child,
}

impl Nats {
    /// Ready once its log says so and its port answers; another port if it lost its
    /// port to another process.
    fn start(binary: &Path, name: &str) -> Result<Nats, String> {
        let dir = temp_dir(&format!("nats-{name}"))?;
        for attempt in 0..5 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|l| l.local_addr())
                .map_err(|e| e.to_string())?
                .port();
            let log_path = dir.join(format!("nats-{attempt}.log"));
            let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
            let mut child = std::process::Command::new(binary)
                .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
                .arg(dir.join("store"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log)
                .spawn()
                .map_err(|e| format!("{}: {e}", binary.display()))?;
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if child.try_wait().map_err(|e| e.to_string())?.is_some() {
                    break;
                }
                let ready =
                    std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains("Server is ready"));
                if ready && TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return Ok(Nats {
                        url: format!("nats://127.0.0.1:{port}"),
                        dir,
                        child,
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "nats-server was not ready within 20 s (log in {})",
                        log_path.display()
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Err("nats-server did not start on any of 5 ports".into())
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
