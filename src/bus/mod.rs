//! The team bus: a NATS JetStream stream per workspace that every swarmdeck of a team
//! publishes what Slack gives it to, and reads whole. Slack hands each Socket Mode event
//! to one connection of the app; with the bus, every lead sees every event whichever
//! connection got it.
//!
//! - Each event is published raw, with a `Nats-Msg-Id` that is the same however it was
//!   seen (a message by channel + ts (+ edit), live or from history; other events by
//!   Slack's event id), so JetStream's duplicate window keeps one copy.
//! - Each process reads the stream from its own last sequence (kept in its store) and
//!   feeds it through the same ingest path as Slack's events.
//! - Publishers beat on the stream: a restarted process knows which spans were covered
//!   ([`cover`]) and reads Slack history only for the others.
//! - The bus down: events queue here and go out when it is back; the desk runs on Slack.

pub mod cover;

use crate::slack::{Incoming, Source, record, wire::Event};
use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// JetStream keeps one copy of a message id for this long: past Slack's retries (~6 min)
/// and a gap fill's margin.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Events kept while the bus is down, at most (the oldest go first, logged).
const MAX_QUEUED: usize = 200_000;
/// The header names the publishing process, so that a reader skips its own events.
const ORIGIN: &str = "Swarmdeck-Origin";

/// Where the bus is and how to reach it.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub credentials: Option<PathBuf>,
    pub token: Option<String>,
    pub require_tls: bool,
    /// How long the stream keeps events.
    pub retention: Duration,
}

impl Target {
    /// The URL as it may be shown or logged: a password in it never is.
    pub fn shown(&self) -> String {
        crate::config::redact_userinfo(&self.url)
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.shown())
            .field("credentials", &self.credentials)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("require_tls", &self.require_tls)
            .field("retention", &self.retention)
            .finish()
    }
}

/// A publisher's heartbeat on the stream.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Beat {
    /// The process (as its store knows it: [`crate::store::this_process`]).
    pub origin: String,
    /// Socket Mode connections it holds.
    pub connections: u32,
    /// Connected, and no consumer of the app outside the bus and its store: everything
    /// Slack delivered now reaches the stream.
    pub covered: bool,
    /// Wall-clock seconds.
    pub at: f64,
}

/// What the bus tells its process.
#[derive(Debug)]
pub enum BusIn {
    /// An event another process published (as Slack sent it), and its stream sequence.
    Event {
        seq: u64,
        json: String,
    },
    /// Another process's heartbeat.
    Beat(Beat),
    Up,
    Down(String),
    /// The stream no longer holds where this process left off (retention): what it
    /// missed there comes from Slack's history.
    FellBehind {
        wanted: u64,
        first: u64,
    },
}

enum Out {
    Publish {
        subject: String,
        id: String,
        payload: bytes::Bytes,
    },
}

/// The running bus: publish into it; what it reads arrives on the inbox given at start.
pub struct Bus {
    tx: mpsc::UnboundedSender<Out>,
    team: String,
    origin: String,
    cover: Cover,
    /// Answered once the worker has published what it held and said goodbye.
    done: tokio::sync::oneshot::Receiver<()>,
}

/// What the Slack client asks of the bus before a gap fill: whether the stream already
/// holds the span (see [`cover`]).
#[derive(Clone)]
pub struct Cover {
    spans: Arc<Mutex<cover::Spans>>,
    caught_up: watch::Receiver<bool>,
}

impl std::fmt::Debug for Cover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cover")
    }
}

impl crate::slack::Covered for Cover {
    fn covers(&self, from: f64, to: f64) -> bool {
        self.spans
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .covers(from, to)
    }

    fn caught_up(&self) -> watch::Receiver<bool> {
        self.caught_up.clone()
    }
}

/// The workspace's stream.
pub fn stream_name(team_id: &str) -> String {
    format!("SWARMDECK_{}", subject_token(team_id))
}

/// Every subject of the workspace's stream.
fn subjects(team_id: &str) -> String {
    format!("swarmdeck.{}.>", subject_token(team_id))
}

/// A name safe as one token of a subject (and in a stream name).
fn subject_token(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The id JetStream dedupes on: the same however the event was seen.
pub fn message_id(incoming: &Incoming) -> Option<String> {
    match (&incoming.event, &incoming.event_id) {
        // Live or from history, one copy: the store's key (channel, ts, edit or deletion).
        (Event::Message(_), _) => record_key(&incoming.event),
        (_, Some(id)) => Some(id.clone()),
        // A move of ours applied from Slack's answer: keyed as the store keys it.
        (_, None) => record_key(&incoming.event),
    }
}

fn record_key(event: &Event) -> Option<String> {
    match record::record(event)? {
        crate::store::Write::Event { key, .. } => Some(key),
        _ => None,
    }
}

/// Whether this copy of an event is ours to publish: what Slack gave this process (not
/// what the bus or the store's other processes already passed on). A move of ours made
/// from Slack's answer is not: it lacks fields Slack's own copy has (the app id that peer
/// trust may go by), and the first copy is the one the stream keeps.
fn publishable(incoming: &Incoming) -> bool {
    matches!(incoming.source, Source::Live { .. } | Source::GapFill)
}

/// The subject an event goes to: per channel, so that a reader may filter.
fn subject(team: &str, event: &Event) -> String {
    let channel = match event {
        Event::Message(m) => m.channel.clone(),
        Event::ReactionAdded(r) | Event::ReactionRemoved(r) => r.item.channel.clone(),
        _ => None,
    };
    match channel {
        Some(c) => format!("swarmdeck.{team}.ch.{}", subject_token(&c)),
        None => format!("swarmdeck.{team}.other"),
    }
}

impl Bus {
    /// Connects (and keeps reconnecting) in the background, reading the stream from
    /// sequence `from_seq` on (0: from its start).
    pub fn start(
        target: Target,
        team_id: &str,
        origin: &str,
        from_seq: u64,
        inbox: mpsc::UnboundedSender<BusIn>,
    ) -> Bus {
        let (tx, rx) = mpsc::unbounded_channel();
        let (done_tx, done) = tokio::sync::oneshot::channel();
        let (caught_tx, caught_up) = watch::channel(false);
        let spans = Arc::new(Mutex::new(cover::Spans::default()));
        let team = subject_token(team_id);
        let worker = Worker {
            target,
            team: team.clone(),
            origin: origin.to_string(),
            inbox,
            spans: spans.clone(),
            caught_up: caught_tx,
            next_seq: from_seq.max(1),
            queue: VecDeque::new(),
        };
        tokio::spawn(async move {
            worker.run(rx).await;
            let _ = done_tx.send(());
        });
        Bus {
            tx,
            team,
            origin: origin.to_string(),
            cover: Cover { spans, caught_up },
            done,
        }
    }

    /// Leaving: what is queued goes out (briefly waited for) and a last beat says this
    /// process holds no connections any more, so the others stop counting on it.
    pub async fn close(self, wait: Duration) {
        let Bus { tx, done, .. } = self;
        drop(tx);
        let _ = tokio::time::timeout(wait, done).await;
    }

    /// What Slack gave this process, into the stream (queued while the bus is down).
    pub fn publish(&self, incoming: &Incoming) {
        if !publishable(incoming) {
            return;
        }
        let (Some(id), Ok(json)) = (message_id(incoming), serde_json::to_vec(&incoming.event))
        else {
            return;
        };
        let _ = self.tx.send(Out::Publish {
            subject: subject(&self.team, &incoming.event),
            id,
            payload: json.into(),
        });
    }

    /// This process's heartbeat, into the stream.
    pub fn beat(&self, connections: u32, covered: bool, at: f64) {
        let beat = Beat {
            origin: self.origin.clone(),
            connections,
            covered,
            at,
        };
        let Ok(json) = serde_json::to_vec(&beat) else {
            return;
        };
        // Each beat is its own message: no two share an id.
        let id = format!("beat|{}|{at}", self.origin);
        let _ = self.tx.send(Out::Publish {
            subject: format!(
                "swarmdeck.{}.beat.{}",
                self.team,
                subject_token(&self.origin)
            ),
            id,
            payload: json.into(),
        });
    }

    /// Whether what the stream held when this process joined it has been read.
    pub fn caught_up(&self) -> bool {
        *self.cover.caught_up.borrow()
    }

    /// For the Slack client's gap fill.
    pub fn cover(&self) -> Cover {
        self.cover.clone()
    }
}

struct Worker {
    target: Target,
    team: String,
    origin: String,
    inbox: mpsc::UnboundedSender<BusIn>,
    spans: Arc<Mutex<cover::Spans>>,
    caught_up: watch::Sender<bool>,
    /// The next stream sequence to read.
    next_seq: u64,
    /// Published once the bus acks them; kept across reconnects.
    queue: VecDeque<Out>,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Out>) {
        let mut wait = Duration::from_millis(500);
        loop {
            match self.session(&mut rx).await {
                Ok(()) => return,
                Err(why) => {
                    tracing::warn!(bus = self.target.shown(), why, "team bus down");
                    if self.inbox.send(BusIn::Down(why)).is_err() {
                        return;
                    }
                    // Without the bus the desk runs on Slack alone: no gap fill waits.
                    let _ = self.caught_up.send(true);
                }
            }
            // While down, what Slack gives this process waits here.
            let deadline = tokio::time::sleep(wait);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    out = rx.recv() => match out {
                        Some(o) => self.enqueue(o),
                        None => return,
                    },
                    _ = &mut deadline => break,
                }
            }
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }

    fn enqueue(&mut self, out: Out) {
        if self.queue.len() >= MAX_QUEUED {
            self.queue.pop_front();
            tracing::warn!("the team bus has been down long: the oldest queued event was dropped");
        }
        self.queue.push_back(out);
    }

    /// One connection's life: `Ok` when the process is done, `Err` when the bus went.
    async fn session(&mut self, rx: &mut mpsc::UnboundedReceiver<Out>) -> Result<(), String> {
        let js = jetstream::new(connect(&self.target).await?);
        let mut stream = open_stream(&js, &self.team, self.target.retention).await?;
        let info = stream.info().await.map_err(|e| e.to_string())?.clone();
        let (first, last) = (info.state.first_sequence, info.state.last_sequence);
        // A stream recreated (its server's store wiped) numbers from 1 again: a position
        // past its end is from the old one. Read it all, as one that fell behind.
        if self.next_seq > last + 1 {
            tracing::warn!(
                wanted = self.next_seq,
                last,
                "the team bus's stream is not the one this process read (recreated?); reading it from its start"
            );
            let _ = self.inbox.send(BusIn::FellBehind {
                wanted: self.next_seq,
                first,
            });
            self.next_seq = first.max(1);
        }
        if self.next_seq > 1 && self.next_seq < first {
            tracing::warn!(
                wanted = self.next_seq,
                first,
                "the team bus no longer holds where this process left off; Slack's history covers the rest"
            );
            let _ = self.inbox.send(BusIn::FellBehind {
                wanted: self.next_seq,
                first,
            });
            self.next_seq = first;
        }
        // Who publishes now, before the events: a restarted process knows its company
        // at once, instead of taking the others for a split until they next beat.
        for beat in last_beats(&stream, &self.team).await.unwrap_or_default() {
            self.spans
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .beat(beat.at, beat.covered);
            if beat.origin != self.origin {
                let _ = self.inbox.send(BusIn::Beat(beat));
            }
        }
        if last < self.next_seq {
            let _ = self.caught_up.send(true);
        }
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: self.next_seq,
                },
                ..Default::default()
            })
            .await
            .map_err(|e| format!("consumer: {e}"))?;
        let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
        tracing::info!(
            bus = self.target.shown(),
            stream = stream_name(&self.team),
            from = self.next_seq,
            "team bus up"
        );
        if self.inbox.send(BusIn::Up).is_err() {
            return Ok(());
        }
        loop {
            // Publish what queued up first, then whatever comes, while reading.
            while let Some(out) = self.queue.pop_front() {
                if let Err(e) = publish(&js, &self.origin, &out).await {
                    self.queue.push_front(out);
                    return Err(e);
                }
            }
            tokio::select! {
                out = rx.recv() => match out {
                    Some(o) => self.queue.push_back(o),
                    None => {
                        self.goodbye(&js).await;
                        return Ok(());
                    }
                },
                message = messages.next() => match message {
                    Some(Ok(m)) => {
                        if !self.read(m, last) {
                            return Ok(());
                        }
                    }
                    Some(Err(e)) => return Err(format!("reading the stream: {e}")),
                    None => return Err("the stream's consumer ended".into()),
                },
            }
        }
    }

    /// The process is leaving: the queue goes out, then a beat with no connections.
    async fn goodbye(&mut self, js: &jetstream::Context) {
        let beat = Beat {
            origin: self.origin.clone(),
            connections: 0,
            covered: false,
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        };
        if let Ok(json) = serde_json::to_vec(&beat) {
            self.queue.push_back(Out::Publish {
                subject: beat_subject(&self.team, &self.origin),
                id: format!("beat|{}|{}", self.origin, beat.at),
                payload: json.into(),
            });
        }
        while let Some(out) = self.queue.pop_front() {
            if let Err(e) = publish(js, &self.origin, &out).await {
                tracing::warn!(
                    error = e,
                    left = self.queue.len() + 1,
                    "the team bus did not take what was queued before exit"
                );
                return;
            }
        }
    }

    /// One message off the stream; `false` once the process has stopped listening.
    fn read(&mut self, m: jetstream::Message, last_at_start: u64) -> bool {
        let Ok(info) = m.info() else { return true };
        let seq = info.stream_sequence;
        self.next_seq = seq + 1;
        if seq >= last_at_start {
            let _ = self.caught_up.send(true);
        }
        let own = m
            .headers
            .as_ref()
            .and_then(|h| h.get(ORIGIN))
            .is_some_and(|o| o.as_str() == self.origin);
        let subject = m.subject.as_str();
        if subject.starts_with(&format!("swarmdeck.{}.beat.", self.team)) {
            let Ok(beat) = serde_json::from_slice::<Beat>(&m.payload) else {
                tracing::warn!(seq, "skipped a heartbeat on the bus that does not parse");
                return true;
            };
            self.spans
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .beat(beat.at, beat.covered);
            return own || self.inbox.send(BusIn::Beat(beat)).is_ok();
        }
        if own {
            // Ours, back: the desk has it; only the position moves.
            return self
                .inbox
                .send(BusIn::Event {
                    seq,
                    json: String::new(),
                })
                .is_ok();
        }
        match String::from_utf8(m.payload.to_vec()) {
            Ok(json) => self.inbox.send(BusIn::Event { seq, json }).is_ok(),
            Err(_) => {
                tracing::warn!(seq, "skipped an event on the bus that is not text");
                true
            }
        }
    }
}

/// Publishes and waits for the stream's ack (a duplicate is acked too: one copy kept).
async fn publish(js: &jetstream::Context, origin: &str, out: &Out) -> Result<(), String> {
    let Out::Publish {
        subject,
        id,
        payload,
    } = out;
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(ORIGIN, origin);
    let message = jetstream::message::PublishMessage::build()
        .payload(payload.clone())
        .headers(headers)
        .message_id(id);
    let ack = js
        .send_publish(subject.clone(), message)
        .await
        .map_err(|e| format!("publishing: {e}"))?;
    tokio::time::timeout(Duration::from_secs(10), ack)
        .await
        .map_err(|_| "no ack from the bus".to_string())?
        .map_err(|e| format!("publishing: {e}"))?;
    Ok(())
}

/// Connects to the bus. Reconnects are the worker's, so that it can say so meanwhile.
async fn connect(target: &Target) -> Result<async_nats::Client, String> {
    let mut options = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .require_tls(target.require_tls)
        .max_reconnects(Some(1));
    if let Some(path) = &target.credentials {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| format!("credentials {}: {e}", path.display()))?;
    }
    if let Some(token) = &target.token {
        options = options.token(token.clone());
    }
    options
        .connect(target.url.as_str())
        .await
        .map_err(|e| format!("cannot reach {}: {e}", target.shown()))
}

/// The workspace's stream, found or created; an error names what the bus user lacks.
async fn open_stream(
    js: &jetstream::Context,
    team: &str,
    retention: Duration,
) -> Result<stream::Stream, String> {
    let name = stream_name(team);
    js.get_or_create_stream(stream::Config {
        name: name.clone(),
        subjects: vec![subjects(team)],
        max_age: retention,
        duplicate_window: DUPLICATE_WINDOW.min(retention),
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| {
        format!(
            "cannot find or create the stream {name} ({e}); the bus user needs $JS.API.STREAM.INFO.{name}, $JS.API.STREAM.CREATE.{name}, $JS.API.CONSUMER.CREATE.{name} and to publish to {}",
            subjects(team)
        )
    })
}

/// A publisher's heartbeat subject: one each, so its last beat can be read alone.
fn beat_subject(team: &str, origin: &str) -> String {
    format!("swarmdeck.{team}.beat.{}", subject_token(origin))
}

/// What `swarmdeck check` found on the bus.
pub struct Checked {
    /// The stream, what it holds and how long it keeps it.
    pub summary: String,
    /// Each publisher's last beat, when recent: the team's connections.
    pub publishers: Vec<Beat>,
}

/// Checks the bus for `swarmdeck check`: connects, finds or creates the workspace's
/// stream, says what it holds, and reads each publisher's last beat.
pub async fn check(target: &Target, team_id: &str) -> Result<Checked, String> {
    let team = subject_token(team_id);
    let js = jetstream::new(connect(target).await?);
    let mut stream = open_stream(&js, &team, target.retention).await?;
    let info = stream.info().await.map_err(|e| e.to_string())?.clone();
    let summary = format!(
        "stream {} holds {} events, kept {}",
        info.config.name,
        info.state.messages,
        humantime::format_duration(info.config.max_age)
    );
    let publishers = last_beats(&stream, &team).await.unwrap_or_default();
    Ok(Checked {
        summary,
        publishers,
    })
}

/// Each publisher's last beat on the stream (one subject per publisher).
async fn last_beats(stream: &stream::Stream, team: &str) -> Result<Vec<Beat>, String> {
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: format!("swarmdeck.{team}.beat.>"),
            deliver_policy: consumer::DeliverPolicy::LastPerSubject,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    let mut beats = Vec::new();
    // The last beats come at once; a pause means there are no more.
    while let Ok(Some(Ok(m))) =
        tokio::time::timeout(Duration::from_millis(300), messages.next()).await
    {
        if let Ok(beat) = serde_json::from_slice::<Beat>(&m.payload) {
            beats.push(beat);
        }
        let pending = m.info().map(|i| i.pending).unwrap_or(0);
        if pending == 0 {
            break;
        }
    }
    Ok(beats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(event: serde_json::Value, event_id: Option<&str>, source: Source) -> Incoming {
        Incoming {
            event: serde_json::from_value(event).unwrap(),
            event_id: event_id.map(str::to_string),
            source,
            received_at: std::time::Instant::now(),
        }
    }

    #[test]
    fn a_message_has_one_id_live_or_from_history_and_other_events_their_event_id() {
        let message = serde_json::json!({"type": "message", "channel": "C1", "user": "U1",
                                         "ts": "1700000000.000100", "text": "hi"});
        let live = incoming(
            message.clone(),
            Some("Ev1"),
            Source::Live { retry_attempt: 0 },
        );
        let read = incoming(message, None, Source::GapFill);
        assert_eq!(message_id(&live), message_id(&read));
        assert_eq!(message_id(&live).as_deref(), Some("C1|1700000000.000100|"));
        let reaction = incoming(
            serde_json::json!({"type": "reaction_added", "user": "U1", "reaction": "eyes",
                               "item": {"type": "message", "channel": "C1", "ts": "1.0"},
                               "event_ts": "2.0"}),
            Some("Ev2"),
            Source::Live { retry_attempt: 1 },
        );
        assert_eq!(message_id(&reaction).as_deref(), Some("Ev2"));
        assert_eq!(subject("T1", &reaction.event), "swarmdeck.T1.ch.C1");
    }

    #[test]
    fn only_what_slack_gave_this_process_is_published() {
        let message =
            serde_json::json!({"type": "message", "channel": "C1", "ts": "1.0", "text": "x"});
        for (source, ours) in [
            (Source::Live { retry_attempt: 0 }, true),
            (Source::GapFill, true),
            (Source::Landed, false),
            (Source::Store, false),
            (Source::Bus, false),
        ] {
            let i = incoming(message.clone(), None, source.clone());
            assert_eq!(publishable(&i), ours, "{source:?}");
        }
    }

    #[test]
    fn names_are_safe_for_nats() {
        assert_eq!(stream_name("T0ACME"), "SWARMDECK_T0ACME");
        assert_eq!(subjects("T.1 x"), "swarmdeck.T_1_x.>");
    }
}
