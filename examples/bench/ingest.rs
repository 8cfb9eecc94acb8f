//! Ingest over a loopback WebSocket: swarmdeck's own client against the floor of what
//! the same sender and the same kind of connection allow.
//!
//! - `ingest_events_per_s`: swarmdeck's client (acks, dedupe, decode), then translated,
//!   applied to a desk and stored through the store's writer, as the dashboard does —
//!   in a child process. `rss_mb_100k`: the resident memory of the same pipeline in a
//!   child fed the 100,000 messages at a steady 10,000 a second (and one frame of the
//!   main view drawn); `rss_mb_100k_flood`: after the flood, whose backlog (frames read
//!   and acked faster than they are applied) leaves pages with the allocator.
//! - `floor_events_per_s`: the same frames read by a loop that only acks and parses
//!   each to `serde_json::Value`.
//! - `sender_events_per_s`: the sender into a reader that only drains the socket.
//! - `ack_p99_ms`: sent → ack back at the sender, at a steady 10,000 messages a second
//!   (an upper bound on arrival → ack leaving: it includes both loopback trips);
//!   `ack_p99_flood_ms`: the same during the flood, where it also counts the time a
//!   frame waits in the socket buffers before it arrives.
//! - `event_to_frame_*`: a paced stream (500 events/s, the desk growing to 300 swarms)
//!   into the client, the dashboard's drain-then-draw loop, a TestBackend frame of the
//!   main view; from each frame off the socket to the end of the draw that shows it.

use super::fake_slack::{FakeSlack, Feed};
use super::support::{self, PODS};
use axum::extract::ws::Utf8Bytes;
use futures_util::{SinkExt, StreamExt};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use swarmdeck::domain::{Desk, DeskConfig, Pod, Ts};
use swarmdeck::session;
use swarmdeck::slack::translate::Translator;
use swarmdeck::slack::{self, SlackConfig, Token, Update};
use swarmdeck::store::Writer;
use tokio_tungstenite::tungstenite::Message;

/// Messages in the ingest runs.
pub const MESSAGES: usize = 100_000;
/// Every this many frames, one is a redelivery of an earlier event (Slack retries).
const REDELIVER_EVERY: usize = 50;

/// `unique` message events as Socket Mode frames: a swarm request then nine replies in
/// its thread, round the pods; every 50th frame a redelivery of an earlier one.
pub fn frames(unique: usize) -> Vec<Utf8Bytes> {
    let now = chrono::Utc::now().timestamp();
    let base = now - 3_600;
    let mut frames = Vec::with_capacity(unique + unique / REDELIVER_EVERY);
    let mut events: Vec<Value> = Vec::with_capacity(unique);
    for k in 0..unique {
        let swarm = k / 10;
        let (channel, _, request) = support::swarm(swarm, now);
        let ts = |n: usize| format!("{}.{:06}", base + (n / 1_000) as i64, (n % 1_000) * 1_000);
        let root = ts(swarm * 10);
        let mut event = json!({"type": "message", "channel": channel, "ts": ts(k), "event_ts": ts(k),
            "channel_type": "channel", "team": "T0BENCH"});
        if k % 10 == 0 {
            event["user"] = json!("U0REQ00001");
            event["text"] = json!(request);
        } else {
            event["user"] = json!(format!("U0EXP{:05}", k % 7));
            event["text"] = json!(format!(
                "Reply {k}: checked the webhook logs, <@U0REQ00001> can you confirm?"
            ));
            event["thread_ts"] = json!(root);
        }
        events.push(event);
        frames.push(envelope(frames.len(), k, 0, &events[k]));
        if frames.len() % REDELIVER_EVERY == REDELIVER_EVERY - 1 && k >= 20 {
            frames.push(envelope(frames.len(), k - 20, 1, &events[k - 20]));
        }
    }
    frames
}

fn envelope(index: usize, event: usize, retry: u32, body: &Value) -> Utf8Bytes {
    json!({
        "envelope_id": format!("e{index}"),
        "payload": {"token": "bench", "team_id": "T0BENCH", "api_app_id": "A0BENCH", "event": body,
            "type": "event_callback", "event_id": format!("Ev{event:08}"), "event_time": 1_700_000_000,
            "authorizations": [{"team_id": "T0BENCH", "user_id": "U0SWARMBOT", "is_bot": true}]},
        "type": "events_api",
        "accepts_response_payload": false,
        "retry_attempt": retry,
        "retry_reason": if retry > 0 { "timeout" } else { "" },
    })
    .to_string()
    .into()
}

pub struct Ingest {
    pub swarmdeck_per_s: f64,
    pub floor_per_s: f64,
    pub sender_per_s: f64,
    pub ack_p99_ms: f64,
    pub ack_p99_flood_ms: f64,
    pub rss_mb: f64,
    pub rss_flood_mb: f64,
    pub rss_floor_mb: f64,
}

impl Ingest {
    pub fn unmeasured() -> Self {
        Ingest {
            swarmdeck_per_s: f64::NAN,
            floor_per_s: f64::NAN,
            sender_per_s: f64::NAN,
            ack_p99_ms: f64::NAN,
            ack_p99_flood_ms: f64::NAN,
            rss_mb: f64::NAN,
            rss_flood_mb: f64::NAN,
            rss_floor_mb: f64::NAN,
        }
    }
}

/// The runs over the same frames: sender, floor and swarmdeck three times each,
/// interleaved (medians reported: two cores and three parties make single runs noisy),
/// then swarmdeck once more at a steady rate for memory.
pub async fn measure() -> Result<Ingest, String> {
    let frames = Arc::new(frames(MESSAGES));
    let (mut sender, mut floors, mut ours, mut acks, mut floods) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..RUNS {
        sender.push(sender_only(frames.clone()).await?);
        floors.push(floor(frames.clone()).await?);
        let (child, feed) = swarmdeck_child(frames.clone(), None).await?;
        let mut ack_ms = feed.ack_ms();
        if ack_ms.len() != frames.len() {
            return Err(format!("{} of {} frames acked", ack_ms.len(), frames.len()));
        }
        acks.push(percentile(&mut ack_ms, 0.99));
        ours.push(child["events_per_s"].as_f64().unwrap_or(f64::NAN));
        floods.push(child["rss_mb"].as_f64().unwrap_or(f64::NAN));
    }
    // Memory at a steady 10,000 messages a second, which the client keeps up with: a
    // flood leaves its backlog's pages with the allocator, reported apart.
    let (steady, steady_feed) =
        swarmdeck_child(frames.clone(), Some(Duration::from_micros(100))).await?;
    let mut steady_acks = steady_feed.ack_ms();
    Ok(Ingest {
        swarmdeck_per_s: percentile(&mut ours, 0.5),
        floor_per_s: percentile(&mut floors, 0.5),
        sender_per_s: percentile(&mut sender, 0.5),
        ack_p99_ms: percentile(&mut steady_acks, 0.99),
        ack_p99_flood_ms: percentile(&mut acks, 0.5),
        rss_mb: steady["rss_mb"].as_f64().unwrap_or(f64::NAN),
        rss_flood_mb: percentile(&mut floods, 0.5),
        rss_floor_mb: steady["rss_floor_mb"].as_f64().unwrap_or(f64::NAN),
    })
}

/// Runs of each ingest measurement.
const RUNS: usize = 3;

pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// The sender into a reader that only drains: how fast it can go.
async fn sender_only(frames: Arc<Vec<Utf8Bytes>>) -> Result<f64, String> {
    let total = frames.len();
    let mut fake = FakeSlack::start(frames, None).await;
    let (ws, _) = tokio_tungstenite::connect_async_with_config(&fake.ws_url, None, true)
        .await
        .map_err(|e| e.to_string())?;
    let (_sink, mut stream) = ws.split();
    stream.next().await; // hello
    fake.go();
    let mut n = 0;
    while n < total {
        match stream.next().await {
            Some(Ok(Message::Text(_))) => n += 1,
            Some(Ok(_)) => {}
            _ => return Err("the sender's socket closed".into()),
        }
    }
    // Nothing is acked here: wait for the sender to note its own finish.
    loop {
        let feed = fake.finished(Duration::ZERO).await;
        if feed.finished.is_some() {
            return Ok(feed.sender_rate());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The floor: ack and parse to `Value`, nothing else.
async fn floor(frames: Arc<Vec<Utf8Bytes>>) -> Result<f64, String> {
    let total = frames.len();
    let fake = FakeSlack::start(frames, None).await;
    let (ws, _) = tokio_tungstenite::connect_async_with_config(&fake.ws_url, None, true)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sink, mut stream) = ws.split();
    stream.next().await; // hello
    fake.go();
    let mut first = None;
    let mut n = 0;
    while n < total {
        let text = match stream.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            _ => return Err("the floor's socket closed".into()),
        };
        first.get_or_insert_with(Instant::now);
        let v: Value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
        let ack = json!({"envelope_id": v["envelope_id"]}).to_string();
        sink.send(Message::Text(ack.into()))
            .await
            .map_err(|e| e.to_string())?;
        n += 1;
    }
    Ok(total as f64 / first.map_or(f64::NAN, |f| f.elapsed().as_secs_f64()))
}

/// swarmdeck's run, in a child process (`bench --ingest-child <api> <unique> <dir>`).
async fn swarmdeck_child(
    frames: Arc<Vec<Utf8Bytes>>,
    pace: Option<Duration>,
) -> Result<(Value, Feed), String> {
    let mut fake = FakeSlack::start(frames, pace).await;
    let dir = std::env::temp_dir().join(format!("swarmdeck-bench-ingest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["--ingest-child", &fake.api_url, &MESSAGES.to_string()])
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    match rx.recv().await.as_deref() {
        Some("ready") => fake.go(),
        other => return Err(format!("the ingest child said {other:?}")),
    }
    let feed = fake.finished(Duration::from_secs(600)).await;
    let line = rx.recv().await.ok_or("the ingest child said nothing")?;
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let result: Value = serde_json::from_str(&line).map_err(|e| format!("{e}: {line}"))?;
    Ok((result, feed))
}

fn client_config(api_url: &str) -> SlackConfig {
    SlackConfig::new(
        api_url,
        Token::new("xoxb-bench-0000"),
        Token::new("xapp-1-bench-000"),
    )
}

fn pods() -> Vec<Pod> {
    PODS.iter()
        .map(|(id, name)| Pod::discovered(id, name))
        .collect()
}

/// The child's side: connect, say ready, ingest `unique` messages as the dashboard
/// does (record, translate, apply), flush the store, draw once; print the figures.
pub async fn child(api_url: &str, unique: usize, dir: &Path) {
    let rss_floor_mb = rss_mb();
    // As the dashboard runs: a flood past the client's bound waits beside the store.
    let config = SlackConfig {
        spill_dir: Some(dir.to_path_buf()),
        ..client_config(api_url)
    };
    let mut connected = slack::connect(config)
        .await
        .expect("connects to the bench's Slack");
    let writer = Writer::spawn(dir).expect("a store");
    session::remember_connection(&writer, &connected);
    let translator = Translator::new(&connected.identity);
    let mut desk = Desk::new(DeskConfig::default(), pods());
    let mut ready = false;
    let mut first: Option<Instant> = None;
    let mut count = 0;
    loop {
        // As the dashboard does: a store behind a flood leaves the events in the spill.
        while writer.behind() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let Some(update) = connected.updates.recv().await else {
            break;
        };
        match update {
            Update::Status(s) if !ready && s.connected >= s.wanted => {
                ready = true;
                println!("ready");
                std::io::stdout().flush().unwrap();
            }
            Update::Status(_) | Update::Company { .. } => {}
            Update::Covered { through_us } => session::record_covered(&writer, through_us),
            Update::Event(incoming) => {
                first.get_or_insert(incoming.received_at);
                session::record(&writer, &incoming);
                for input in translator.translate(&incoming.event) {
                    desk.apply(input, Ts::from_datetime(chrono::Utc::now()));
                }
                count += 1;
                if count == unique {
                    break;
                }
            }
        }
    }
    writer.flush();
    let secs = first.map_or(f64::NAN, |f| f.elapsed().as_secs_f64());
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    support::frame(&mut terminal, &desk, chrono::Utc::now().timestamp());
    let out = json!({
        "events": count,
        "swarms": desk.swarms().count(),
        "events_per_s": count as f64 / secs,
        "rss_mb": rss_mb(),
        "rss_floor_mb": rss_floor_mb,
    });
    println!("{out}");
}

/// This process's resident memory (MiB), from /proc.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Event → frame: a paced stream into the client and the dashboard's drain-then-draw.
pub async fn event_to_frame() -> Result<(f64, f64), String> {
    const EVENTS: usize = 3_000;
    let frames = Arc::new(frames(EVENTS));
    let total_unique = EVENTS;
    let mut fake = FakeSlack::start(frames, Some(Duration::from_millis(2))).await;
    let mut connected = slack::connect(client_config(&fake.api_url))
        .await
        .map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("swarmdeck-bench-e2f-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let writer = Writer::spawn(&dir).map_err(|e| e.to_string())?;
    let translator = Translator::new(&connected.identity);
    let mut desk = Desk::new(DeskConfig::default(), pods());
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let mut latencies = Vec::with_capacity(total_unique);
    let mut went = false;
    while latencies.len() < total_unique {
        let Some(update) = connected.updates.recv().await else {
            return Err("the client stopped".into());
        };
        let mut batch = vec![update];
        // As the dashboard: drain a burst (capped), then draw once.
        for _ in 0..256 {
            match connected.updates.try_recv() {
                Ok(u) => batch.push(u),
                Err(_) => break,
            }
        }
        let mut read = Vec::new();
        for update in batch {
            match update {
                Update::Status(s) if !went && s.connected >= s.wanted => {
                    went = true;
                    fake.go();
                }
                Update::Event(incoming) => {
                    session::record(&writer, &incoming);
                    for input in translator.translate(&incoming.event) {
                        desk.apply(input, Ts::from_datetime(chrono::Utc::now()));
                    }
                    read.push(incoming.received_at);
                }
                _ => {}
            }
        }
        support::frame(&mut terminal, &desk, chrono::Utc::now().timestamp());
        let drawn = Instant::now();

        latencies.extend(read.iter().map(|r| (drawn - *r).as_secs_f64() * 1e6));
    }
    drop(writer);
    let _ = fake.finished(Duration::from_secs(5)).await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok((
        percentile(&mut latencies, 0.50),
        percentile(&mut latencies, 0.99),
    ))
}
