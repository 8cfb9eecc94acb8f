//! Socket Mode connections: one task per WebSocket, and a manager that keeps the wanted
//! number of them up, replaces them on Slack's say-so, and notices the silent ones.
//!
//! Rules of the road (DESIGN §4) kept here: ack on read, before any work (1); our own
//! pings, and ~30 s of silence is a dead socket (4); every reconnect asks
//! apps.connections.open for a fresh URL, with capped, jittered backoff (5); on `warning`
//! or `refresh_requested` the replacement opens before the old one closes (6);
//! `too_many_websockets` and `link_disabled` are shown, not stormed (7).
//!
//! The rules live in two sans-IO state machines, `Liveness` (per socket) and
//! `manager::Manager` (the set of sockets), which take time as an argument; the tasks
//! here are thin shells that read clocks and move frames, events and commands.

mod manager;

use super::backoff::{Backoff, jitter};
use super::web::WebClient;
use super::wire::{self, DisconnectReason, Frame};
use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use manager::{Cmd, Manager, Now};

#[derive(Clone, Debug)]
pub struct SocketPolicy {
    /// Connections kept open at once, for redundancy (Slack allows up to 10).
    pub connections: usize,
    pub ping_every: Duration,
    /// No frame and no pong for this long: the socket is dead.
    pub dead_after: Duration,
    /// A socket that delivers nothing this long while the workspace is busy is replaced.
    pub mute_after: Duration,
    pub backoff: Backoff,
    /// After `too_many_websockets` or `link_disabled`: wait this long before trying again.
    pub refused_wait: Duration,
    pub hello_timeout: Duration,
    /// Extra query for the socket URL: `&debug_reconnects=true` rehearses rotation on Slack.
    pub url_suffix: String,
    /// One connection is replaced this often (replacement first) to re-read
    /// `hello.num_connections`: the only way to learn of consumers that joined later.
    pub probe_every: Option<Duration>,
}

impl Default for SocketPolicy {
    fn default() -> Self {
        Self {
            connections: 2,
            ping_every: Duration::from_secs(10),
            dead_after: Duration::from_secs(30),
            mute_after: Duration::from_secs(120),
            backoff: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(60),
            },
            refused_wait: Duration::from_secs(120),
            hello_timeout: Duration::from_secs(15),
            url_suffix: String::new(),
            probe_every: Some(Duration::from_secs(120)),
        }
    }
}

/// What a connection task tells the manager.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    /// Slack said hello; it counts the app's connections, ours and anyone else's.
    Up {
        id: u64,
        num_connections: Option<u32>,
    },
    /// `read_at`: when its frame came off the socket.
    Envelope {
        id: u64,
        envelope: wire::Envelope,
        read_at: Instant,
    },
    Disconnect {
        id: u64,
        reason: DisconnectReason,
    },
    Down {
        id: u64,
        why: String,
    },
}

/// What the manager tells a connection task.
#[derive(Debug)]
enum Command {
    Close,
}

/// The connection health the lead sees (DESIGN §4 rule 8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub connected: usize,
    pub wanted: usize,
    /// When the next connection attempt is due, if one is waiting.
    pub reconnect_at: Option<Instant>,
    pub reconnects: u64,
    /// A state the lead must act on (too_many_websockets, link_disabled, invalid_auth…).
    pub problem: Option<String>,
}

/// One Socket Mode connection, from apps.connections.open to its end.
async fn run_connection(
    id: u64,
    web: Arc<WebClient>,
    policy: SocketPolicy,
    events: mpsc::UnboundedSender<ConnEvent>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let why = match connection(id, &web, &policy, &events, &mut commands).await {
        Ok(why) | Err(why) => why,
    };
    let _ = events.send(ConnEvent::Down { id, why });
}

/// The connection's I/O shell: frames in, acks and pings out; `Liveness` decides when to
/// ping and when the socket is dead.
async fn connection(
    id: u64,
    web: &WebClient,
    policy: &SocketPolicy,
    events: &mpsc::UnboundedSender<ConnEvent>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
) -> Result<String, String> {
    let open: wire::ConnectionsOpen = web
        .call_app("apps.connections.open")
        .await
        .map_err(|e| e.to_string())?;
    let url = format!("{}{}", open.url, policy.url_suffix);
    let (ws, _) = tokio::time::timeout(
        policy.hello_timeout,
        // Nagle off: an ack is a small write that must not wait for the previous
        // one's TCP ack (with delayed acks, tens of milliseconds).
        tokio_tungstenite::connect_async_with_config(url.as_str(), None, true),
    )
    .await
    .map_err(|_| "timed out connecting".to_string())?
    .map_err(|e| format!("could not connect: {e}"))?;
    let (mut sink, mut stream) = ws.split();
    let mut liveness = Liveness::new(policy, Instant::now());
    loop {
        let wake = liveness.next_deadline();
        tokio::select! {
            frame = stream.next() => {
                let frame = match frame {
                    Some(Ok(frame)) => frame,
                    Some(Err(e)) => return Err(format!("socket error: {e}")),
                    None => return Ok("closed by Slack".into()),
                };
                let read_at = Instant::now();
                liveness.on_frame(read_at);
                let text = match frame {
                    WsMessage::Text(text) => text,
                    WsMessage::Close(_) => return Ok("closed by Slack".into()),
                    // Pings are answered by the WebSocket layer; pongs only prove life.
                    _ => continue,
                };
                match wire::decode(text.as_str()) {
                    Ok(Frame::EventsApi(envelope) | Frame::Interactive(envelope)) => {
                        // Ack first: before any parsing or work on the event.
                        send_ack(&mut sink, &envelope.envelope_id).await?;
                        let _ = events.send(ConnEvent::Envelope { id, envelope, read_at });
                    }
                    Ok(Frame::Hello { num_connections, .. }) => {
                        if liveness.on_hello(read_at) {
                            let _ = events.send(ConnEvent::Up { id, num_connections });
                        }
                    }
                    Ok(Frame::Disconnect { reason }) => {
                        let refused = matches!(reason, DisconnectReason::TooManyWebsockets | DisconnectReason::LinkDisabled);
                        let _ = events.send(ConnEvent::Disconnect { id, reason });
                        if refused {
                            let _ = sink.send(WsMessage::Close(None)).await;
                            return Ok("refused by Slack".into());
                        }
                    }
                    Ok(Frame::Other { kind, envelope_id }) => {
                        if let Some(envelope_id) = envelope_id {
                            send_ack(&mut sink, &envelope_id).await?;
                        }
                        tracing::debug!(connection = id, kind, "ignored a frame swarmdeck does not use");
                    }
                    Err(e) => {
                        if let Some(envelope_id) = &e.envelope_id {
                            send_ack(&mut sink, envelope_id).await?;
                        }
                        tracing::warn!(connection = id, reason = %e.reason, "skipped a frame that could not be decoded");
                    }
                }
            }
            command = commands.recv() => match command {
                Some(Command::Close) | None => {
                    let _ = sink.send(WsMessage::Close(None)).await;
                    return Ok("replaced".into());
                }
            },
            _ = tokio::time::sleep_until(wake.into()) => {
                while let Some(beat) = liveness.poll(Instant::now()) {
                    match beat {
                        Beat::Ping => {
                            sink.send(WsMessage::Ping(Vec::new().into())).await.map_err(|e| format!("ping failed: {e}"))?;
                        }
                        Beat::Dead { why } => return Err(why),
                    }
                }
            }
        }
    }
}

/// Opens one Socket Mode connection only to read its hello's count of the app's
/// connections (this one included), then closes it: `swarmdeck check`'s look at who
/// else consumes the app.
pub async fn count_connections(web: &WebClient, wait: Duration) -> Result<u32, String> {
    let open: wire::ConnectionsOpen = web
        .call_app("apps.connections.open")
        .await
        .map_err(|e| e.to_string())?;
    let hello = async {
        let (ws, _) = tokio_tungstenite::connect_async(open.url.as_str())
            .await
            .map_err(|e| format!("could not connect: {e}"))?;
        let (mut sink, mut stream) = ws.split();
        while let Some(frame) = stream.next().await {
            let frame = frame.map_err(|e| format!("socket error: {e}"))?;
            let WsMessage::Text(text) = frame else {
                continue;
            };
            match wire::decode(text.as_str()) {
                Ok(Frame::Hello {
                    num_connections, ..
                }) => {
                    let _ = sink.send(WsMessage::Close(None)).await;
                    return num_connections.ok_or_else(|| "hello without num_connections".into());
                }
                Ok(Frame::Disconnect { reason }) => return Err(format!("refused: {reason:?}")),
                // An event sent here is left unacked: Slack retries it, to a connection
                // that will use it, rather than losing it to a look.
                _ => {}
            }
        }
        Err("closed before hello".into())
    };
    tokio::time::timeout(wait, hello)
        .await
        .map_err(|_| "no hello from Slack".to_string())?
}

/// One connection's health as a state machine: frames and time in, pings and a verdict
/// out (rule 4). Server pings alone miss half-open sockets behind NAT, so we ping too, and
/// silence (no frame, no pong) past `dead_after` is a dead socket.
#[derive(Clone, Debug)]
pub(crate) struct Liveness {
    ping_every: Duration,
    dead_after: Duration,
    hello_timeout: Duration,
    said_hello: bool,
    last_heard: Instant,
    next_ping: Instant,
}

/// What `Liveness` asks of its connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Beat {
    /// Send our own ping now.
    Ping,
    /// Give up on this socket.
    Dead { why: String },
}

impl Liveness {
    /// A socket that has just connected at `now`.
    pub(crate) fn new(policy: &SocketPolicy, now: Instant) -> Self {
        // A zero period would ping in a busy loop.
        let ping_every = policy.ping_every.max(Duration::from_millis(1));
        Self {
            ping_every,
            dead_after: policy.dead_after,
            hello_timeout: policy.hello_timeout,
            said_hello: false,
            last_heard: now,
            next_ping: now + ping_every,
        }
    }

    /// Any frame (text, ping, pong) proves the socket alive.
    pub(crate) fn on_frame(&mut self, now: Instant) {
        self.last_heard = self.last_heard.max(now);
    }

    /// Slack's `hello`; true the first time, when the connection counts as up.
    pub(crate) fn on_hello(&mut self, now: Instant) -> bool {
        self.on_frame(now);
        !std::mem::replace(&mut self.said_hello, true)
    }

    /// Until hello, the silence allowed is the hello timeout; after it, `dead_after`.
    fn silence_limit(&self) -> Duration {
        if self.said_hello {
            self.dead_after
        } else {
            self.hello_timeout
        }
    }

    /// What is due at `now`, if anything; call again until `None`.
    pub(crate) fn poll(&mut self, now: Instant) -> Option<Beat> {
        if now >= self.last_heard + self.silence_limit() {
            return Some(Beat::Dead {
                why: if self.said_hello {
                    format!("silent for {}s: treated as dead", self.dead_after.as_secs())
                } else {
                    "no hello from Slack".into()
                },
            });
        }
        if now >= self.next_ping {
            self.next_ping += self.ping_every;
            // After a stall, one ping, not a burst of the missed ones.
            if self.next_ping <= now {
                self.next_ping = now + self.ping_every;
            }
            return Some(Beat::Ping);
        }
        None
    }

    /// When `poll` next has something to say.
    pub(crate) fn next_deadline(&self) -> Instant {
        self.next_ping.min(self.last_heard + self.silence_limit())
    }
}

async fn send_ack<S>(sink: &mut S, envelope_id: &str) -> Result<(), String>
where
    S: futures_util::Sink<WsMessage> + Unpin,
    S::Error: std::fmt::Display,
{
    let ack = format!(
        "{{\"envelope_id\":{}}}",
        serde_json::Value::String(envelope_id.to_string())
    );
    sink.send(WsMessage::Text(ack.into()))
        .await
        .map_err(|e| format!("ack failed: {e}"))
}

/// What the manager asks of the rest of the client.
#[derive(Debug)]
pub(crate) enum ManagerOut {
    /// An envelope, and when its frame came off the socket.
    Envelope(wire::Envelope, Instant),
    Status(Status),
    /// Events may have been missed since this wall-clock time (seconds since the epoch).
    GapSince(f64),
    /// Every socket has been silent a while: check whether the workspace is busy.
    Probe,
    /// A hello's count of the app's connections, and how many of them were ours then.
    Company {
        app_connections: u32,
        ours: u32,
    },
}

/// Keeps `policy.connections` sockets up. Runs until `out` is closed.
///
/// The I/O shell around `Manager`: it reads the clocks, moves events in and commands out,
/// and owns the connection tasks.
pub(crate) async fn run_manager(
    web: Arc<WebClient>,
    policy: SocketPolicy,
    out: mpsc::UnboundedSender<ManagerOut>,
    mut probe_said_busy: mpsc::UnboundedReceiver<()>,
) {
    let mut manager = Manager::new(
        &policy,
        web.policy().time_scale,
        Box::new(jitter),
        Instant::now(),
    );
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut conns: BTreeMap<u64, mpsc::UnboundedSender<Command>> = BTreeMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        let cmds = tokio::select! {
            Some(event) = events.recv() => {
                if let ConnEvent::Down { id, .. } = &event {
                    conns.remove(id);
                }
                manager.on_event(event, now())
            }
            Some(()) = probe_said_busy.recv() => manager.on_probe_busy(now()),
            _ = tick.tick() => manager.on_tick(now()),
        };
        for cmd in cmds {
            match cmd {
                Cmd::Open { id } => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    conns.insert(id, tx);
                    tokio::spawn(run_connection(
                        id,
                        web.clone(),
                        policy.clone(),
                        events_tx.clone(),
                        rx,
                    ));
                }
                Cmd::Close { id } => {
                    if let Some(tx) = conns.get(&id) {
                        let _ = tx.send(Command::Close);
                    }
                }
                Cmd::Out(m) => {
                    if out.send(m).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Both clocks, read once per event: the only clock reads of the manager.
fn now() -> Now {
    Now {
        mono: Instant::now(),
        wall: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SocketPolicy {
        SocketPolicy {
            ping_every: Duration::from_secs(10),
            dead_after: Duration::from_secs(30),
            hello_timeout: Duration::from_secs(15),
            ..SocketPolicy::default()
        }
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// Everything `poll` has to say at `now`.
    fn due(l: &mut Liveness, now: Instant) -> Vec<Beat> {
        std::iter::from_fn(|| l.poll(now)).take(5).collect()
    }

    fn is_dead(beats: &[Beat]) -> bool {
        beats.iter().any(|b| matches!(b, Beat::Dead { .. }))
    }

    // Rule 4: our own pings, every ping_every.
    #[test]
    fn our_ping_is_due_every_ping_every() {
        let t0 = Instant::now();
        let mut l = Liveness::new(&policy(), t0);
        assert!(l.on_hello(t0));
        assert_eq!(l.next_deadline(), t0 + secs(10.0));
        assert!(due(&mut l, t0 + secs(9.999)).is_empty());
        let mut pings = 0;
        for step in 1..=100 {
            let now = t0 + secs(f64::from(step) * 0.5);
            // Frames keep it alive; they do not replace our pings.
            l.on_frame(now);
            let beats = due(&mut l, now);
            assert!(!is_dead(&beats), "{beats:?} at {step}");
            pings += beats.len();
        }
        assert_eq!(pings, 5, "one ping per 10 s over 50 s");
        assert_eq!(l.next_deadline(), t0 + secs(60.0));
        // After a stall: one ping, not the backlog.
        let late = t0 + secs(95.0);
        l.on_frame(late);
        assert_eq!(due(&mut l, late), vec![Beat::Ping]);
        assert_eq!(l.next_deadline(), late + secs(10.0));
    }

    // Rule 4: ~30 s without a pong or any frame is a dead socket; any frame resets it.
    #[test]
    fn silence_past_dead_after_is_a_dead_socket_and_a_frame_resets_it() {
        let t0 = Instant::now();
        let mut l = Liveness::new(&policy(), t0);
        l.on_hello(t0);
        l.on_frame(t0 + secs(20.0));
        assert!(
            !is_dead(&due(&mut l, t0 + secs(30.0))),
            "the frame at 20 s counts"
        );
        assert!(!is_dead(&due(&mut l, t0 + secs(49.9))));
        assert_eq!(l.next_deadline(), t0 + secs(50.0));
        let beats = due(&mut l, t0 + secs(50.0));
        assert_eq!(
            beats.first(),
            Some(&Beat::Dead {
                why: "silent for 30s: treated as dead".into()
            }),
            "dead comes before any ping: {beats:?}"
        );
    }

    // Rule 4: a socket that never says hello is given up after hello_timeout.
    #[test]
    fn no_hello_within_the_hello_timeout_is_a_dead_socket() {
        let t0 = Instant::now();
        let mut l = Liveness::new(&policy(), t0);
        assert_eq!(due(&mut l, t0 + secs(10.0)), vec![Beat::Ping]);
        assert_eq!(
            l.next_deadline(),
            t0 + secs(15.0),
            "the hello deadline is sooner"
        );
        assert!(due(&mut l, t0 + secs(14.9)).is_empty());
        assert_eq!(
            due(&mut l, t0 + secs(15.0)).first(),
            Some(&Beat::Dead {
                why: "no hello from Slack".into()
            })
        );
        // Once hello came, the longer dead_after applies.
        let mut l = Liveness::new(&policy(), t0);
        assert!(l.on_hello(t0 + secs(1.0)));
        assert!(!l.on_hello(t0 + secs(2.0)), "up once");
        assert!(!is_dead(&due(&mut l, t0 + secs(20.0))));
    }
}
