//! Socket Mode connections: one task per WebSocket, and a manager that keeps the wanted
//! number of them up, replaces them on Slack's say-so, and notices the silent ones.
//!
//! Rules of the road (DESIGN §4) kept here: ack on read, before any work (1); our own
//! pings, and ~30 s of silence is a dead socket (4); every reconnect asks
//! apps.connections.open for a fresh URL, with capped, jittered backoff (5); on `warning`
//! or `refresh_requested` the replacement opens before the old one closes (6);
//! `too_many_websockets` and `link_disabled` are shown, not stormed (7).

use super::backoff::{Backoff, jitter};
use super::web::WebClient;
use super::wire::{self, DisconnectReason, Frame};
use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

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
        }
    }
}

/// What a connection task tells the manager.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    Up {
        id: u64,
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
                    Ok(Frame::EventsApi(envelope)) => {
                        // Ack first: before any parsing or work on the event.
                        send_ack(&mut sink, &envelope.envelope_id).await?;
                        let _ = events.send(ConnEvent::Envelope { id, envelope, read_at });
                    }
                    Ok(Frame::Hello { .. }) => {
                        if liveness.on_hello(read_at) {
                            let _ = events.send(ConnEvent::Up { id });
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

#[derive(Debug)]
struct Conn {
    commands: mpsc::UnboundedSender<Command>,
    up: bool,
    /// Being replaced: it no longer counts toward the wanted number.
    retiring: bool,
    opened: Instant,
    last_event: Option<Instant>,
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
}

/// Keeps `policy.connections` sockets up. Runs until `out` is closed.
pub(crate) async fn run_manager(
    web: Arc<WebClient>,
    policy: SocketPolicy,
    out: mpsc::UnboundedSender<ManagerOut>,
    mut probe_said_busy: mpsc::UnboundedReceiver<()>,
) {
    let scale = web.policy().time_scale.max(1e-9);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut conns: BTreeMap<u64, Conn> = BTreeMap::new();
    let mut next_id = 0;
    let mut failures: u32 = 0;
    let mut next_attempt = Instant::now();
    let mut reconnects = 0;
    let mut problem: Option<String> = None;
    // When every socket went down (wall clock), for the gap fill.
    let mut all_down_since: Option<f64> = None;
    let mut ever_up = false;
    let mut last_probe = Instant::now();
    let mut last_status: Option<Status> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(200));

    let spawn = |conns: &mut BTreeMap<u64, Conn>, next_id: &mut u64| {
        *next_id += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        conns.insert(
            *next_id,
            Conn {
                commands: tx,
                up: false,
                retiring: false,
                opened: Instant::now(),
                last_event: None,
            },
        );
        tokio::spawn(run_connection(
            *next_id,
            web.clone(),
            policy.clone(),
            events_tx.clone(),
            rx,
        ));
    };

    loop {
        tokio::select! {
            Some(event) = events.recv() => match event {
                ConnEvent::Up { id } => {
                    let was_down = !conns.values().any(|c| c.up);
                    if let Some(c) = conns.get_mut(&id) {
                        c.up = true;
                    }
                    failures = 0;
                    problem = None;
                    // The replacement is up: now the one it replaces may go.
                    for (rid, c) in &conns {
                        if c.retiring && *rid != id {
                            let _ = c.commands.send(Command::Close);
                        }
                    }
                    if was_down {
                        let since = if ever_up { all_down_since.unwrap_or_else(wall_now) } else { f64::NEG_INFINITY };
                        ever_up = true;
                        all_down_since = None;
                        if out.send(ManagerOut::GapSince(since)).is_err() {
                            return;
                        }
                    }
                }
                ConnEvent::Envelope { id, envelope, read_at } => {
                    if let Some(c) = conns.get_mut(&id) {
                        c.last_event = Some(Instant::now());
                    }
                    if out.send(ManagerOut::Envelope(envelope, read_at)).is_err() {
                        return;
                    }
                }
                ConnEvent::Disconnect { id, reason } => {
                    tracing::info!(connection = id, ?reason, "Slack asked to disconnect");
                    match reason {
                        DisconnectReason::Warning | DisconnectReason::RefreshRequested => {
                            let retire = conns.get_mut(&id).is_some_and(|c| !std::mem::replace(&mut c.retiring, true));
                            if retire {
                                // Open the replacement now; the old one closes when it is up.
                                reconnects += 1;
                                spawn(&mut conns, &mut next_id);
                            }
                        }
                        DisconnectReason::TooManyWebsockets => {
                            problem = Some("Slack refused the socket: too many websockets for this app (another swarmdeck running?)".into());
                            next_attempt = Instant::now() + policy.refused_wait.div_f64(scale);
                        }
                        DisconnectReason::LinkDisabled => {
                            problem = Some("Socket Mode is disabled for this app (link_disabled): turn it on in the app settings".into());
                            next_attempt = Instant::now() + policy.refused_wait.div_f64(scale);
                        }
                        DisconnectReason::Other(reason) => tracing::warn!(connection = id, reason, "unknown disconnect reason"),
                    }
                }
                ConnEvent::Down { id, why } => {
                    let conn = conns.remove(&id);
                    tracing::info!(connection = id, why, "socket down");
                    let was_up = conn.as_ref().is_some_and(|c| c.up);
                    if !was_up {
                        failures += 1;
                        if why.contains("invalid_auth") || why.contains("not_allowed_token_type") || why.contains("not_authed") {
                            problem = Some(format!("Slack refused the app token: {why}"));
                        }
                        let wait = policy.backoff.delay(failures, jitter()).div_f64(scale);
                        next_attempt = next_attempt.max(Instant::now() + wait);
                    } else if !conn.as_ref().is_some_and(|c| c.retiring) {
                        reconnects += 1;
                    }
                    if ever_up && !conns.values().any(|c| c.up) && all_down_since.is_none() {
                        all_down_since = Some(wall_now());
                    }
                }
            },
            Some(()) = probe_said_busy.recv() => {
                // The workspace moved on while every socket stayed quiet: replace them all.
                tracing::warn!("sockets silent while the workspace is busy: replacing them");
                let since = conns.values().filter_map(|c| c.last_event.or(Some(c.opened))).min().map(instant_to_wall).unwrap_or_else(wall_now);
                for c in conns.values_mut().filter(|c| !c.retiring) {
                    c.retiring = true;
                }
                for _ in 0..policy.connections {
                    reconnects += 1;
                    spawn(&mut conns, &mut next_id);
                }
                let _ = out.send(ManagerOut::GapSince(since));
            }
            _ = tick.tick() => {
                let now = Instant::now();
                // A socket quiet for mute_after while another delivered: replace it.
                let mute_after = policy.mute_after.div_f64(scale);
                let busy_elsewhere = |me: u64, conns: &BTreeMap<u64, Conn>| conns.iter().any(|(i, c)| *i != me && c.up && c.last_event.is_some_and(|t| now - t < mute_after));
                let muted: Vec<u64> = conns
                    .iter()
                    .filter(|(_, c)| c.up && !c.retiring && now - c.last_event.unwrap_or(c.opened) > mute_after)
                    .map(|(i, _)| *i)
                    .filter(|i| busy_elsewhere(*i, &conns))
                    .collect();
                for id in muted {
                    tracing::warn!(connection = id, "socket delivers nothing while others do: replacing it");
                    let since = conns.get(&id).map(|c| instant_to_wall(c.last_event.unwrap_or(c.opened))).unwrap_or_else(wall_now);
                    if let Some(c) = conns.get_mut(&id) {
                        c.retiring = true;
                    }
                    reconnects += 1;
                    spawn(&mut conns, &mut next_id);
                    let _ = out.send(ManagerOut::GapSince(since));
                }
                // Every socket quiet: ask whether the workspace is quiet too.
                let any_recent = conns.values().any(|c| c.last_event.or(Some(c.opened)).is_some_and(|t| now - t < mute_after));
                let any_up = conns.values().any(|c| c.up);
                if any_up && !any_recent && now - last_probe > mute_after {
                    last_probe = now;
                    let _ = out.send(ManagerOut::Probe);
                }
                // Keep the wanted number of sockets, pacing attempts after failures.
                let live = conns.values().filter(|c| !c.retiring).count();
                if live < policy.connections && now >= next_attempt {
                    spawn(&mut conns, &mut next_id);
                    // One attempt at a time while failing; all at once when healthy.
                    if failures > 0 {
                        next_attempt = now + policy.backoff.delay(failures, jitter()).div_f64(scale);
                    }
                }
                let status = Status {
                    connected: conns.values().filter(|c| c.up).count().min(policy.connections.max(1)),
                    wanted: policy.connections,
                    reconnect_at: (live < policy.connections && next_attempt > now).then_some(next_attempt),
                    reconnects,
                    problem: problem.clone(),
                };
                if last_status.as_ref() != Some(&status) {
                    last_status = Some(status.clone());
                    if out.send(ManagerOut::Status(status)).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

fn wall_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn instant_to_wall(t: Instant) -> f64 {
    wall_now() - Instant::now().saturating_duration_since(t).as_secs_f64()
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
