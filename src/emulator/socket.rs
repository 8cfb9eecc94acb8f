//! Socket Mode: connections, envelopes, acks and Slack's redelivery rules.
//!
//! Each app has its own [`Hub`] (connections, queue, redelivery), kept in [`Hubs`]; they
//! are plain state under the emulator's lock; the tasks in this module move frames
//! between them and the WebSockets. Slack's behaviour modelled here:
//! - each event goes out in an `events_api` envelope on one of the app's connections
//!   (round robin), and must be acked with its `envelope_id` within a few seconds; a
//!   click on a message's button, in an `interactive` envelope, goes the same way;
//! - an event not acked is retried with `retry_attempt` 1, 2, 3 at about +0, +1 and
//!   +5 minutes (scaled by `--time-scale`), with a new `envelope_id` each time, then dropped;
//! - events posted while no socket is open wait for the next connection (as long as their
//!   retries would have run) and go out on it as first attempts, `retry_attempt` 0;
//! - at most 10 connections per app; `too_many_websockets` beyond.

use super::Shared;
use super::clock::{Clock, rfc3339_now};
use super::faults::Disconnect;
use super::wire;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub(crate) const MAX_CONNECTIONS: usize = 10;
/// Slack expects an ack within 3 seconds.
const ACK_WINDOW: Duration = Duration::from_secs(3);
/// However fast time runs, a client gets at least this long to ack.
const ACK_WINDOW_FLOOR: Duration = Duration::from_millis(1500);
/// The waits before retry 1, 2 and 3.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_secs(60),
    Duration::from_secs(300),
];
/// After a `warning`, Slack follows with `refresh_requested` about 10 s later.
const WARNING_LEAD: Duration = Duration::from_secs(10);
/// After `refresh_requested`, the old socket stays up this long for the client to replace it.
const REFRESH_GRACE: Duration = Duration::from_secs(5);
/// `debug_reconnects=true` rotates a connection after about six minutes.
const DEBUG_ROTATION: Duration = Duration::from_secs(360);
const SERVER_PING: Duration = Duration::from_secs(10);

/// What the hub asks a connection's task to do.
#[derive(Debug)]
pub(crate) enum Outbound {
    Text(String),
    /// Close with a close frame.
    Close,
    /// Vanish without a close frame, like a dead TCP connection.
    Drop,
}

#[derive(Debug)]
struct Conn {
    tx: mpsc::UnboundedSender<Outbound>,
    host: String,
    muted_until: Option<Instant>,
    /// Told to refresh: Slack sends it nothing new.
    closing: bool,
}

/// What an envelope carries: an Events API callback, or an interactive payload (a click).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    EventsApi,
    Interactive,
}

#[derive(Debug)]
struct Pending {
    kind: Kind,
    event_id: String,
    payload: Value,
    /// The envelope id of the first send when it had to be known before (a click's answer
    /// names it); minted at send time otherwise.
    first_envelope_id: Option<String>,
    /// The `retry_attempt` of the next send.
    attempt: u32,
    due: Instant,
    /// When it was queued: with no socket open it waits, as long as its retries would
    /// have run, for one to open, and is then delivered as a first attempt.
    queued_at: Instant,
    in_flight: Option<(String, Instant)>,
    duplicate: bool,
}

/// One envelope sent (or swallowed by a muted socket), for `/_emulator/deliveries`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Delivery {
    /// The app whose connection it went to.
    pub app: String,
    /// `events_api` or `interactive`.
    #[serde(rename = "type")]
    pub kind: Kind,
    pub envelope_id: String,
    pub event_id: String,
    pub connection: u64,
    pub retry_attempt: u32,
    pub retry_reason: String,
    pub sent_at: String,
    /// When Slack gives up waiting for the ack and schedules a retry.
    pub ack_deadline_at: String,
    pub acked_at: Option<String>,
    /// Sent to a muted socket: Slack thinks it went out; the client never saw it.
    pub swallowed: bool,
    /// A second copy sent by `--chaos`.
    pub duplicate: bool,
}

/// One app's Socket Mode.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    app_id: String,
    /// The app's index (0 for app 1): keeps its envelope ids and tickets apart from others'.
    id_space: u64,
    conns: BTreeMap<u64, Conn>,
    round_robin: u64,
    queue: Vec<Pending>,
    pub deliveries: Vec<Delivery>,
    by_envelope: HashMap<String, usize>,
    tickets: std::collections::HashSet<String>,
    outage_until: Option<Instant>,
    next_envelope: u64,
    /// Events given up after the last retry, or posted during an outage.
    pub dropped_events: u64,
    /// Every connection's life, for tests that judge acks against it.
    pub connection_log: Vec<ConnectionRecord>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct ConnectionRecord {
    pub id: u64,
    pub opened_at: String,
    pub closed_at: Option<String>,
}

impl Hub {
    pub(crate) fn new(app_id: &str, index: usize) -> Self {
        Self {
            app_id: app_id.to_string(),
            id_space: index as u64,
            ..Self::default()
        }
    }

    /// A fresh one-shot ticket for a Socket Mode URL.
    pub(crate) fn issue_ticket(&mut self) -> String {
        self.next_envelope += 1;
        let ticket = format!(
            "{:016x}{:02x}{:016x}",
            Clock::now_micros(),
            self.id_space,
            self.next_envelope
        );
        self.tickets.insert(ticket.clone());
        ticket
    }

    /// Tickets are one-shot: a reconnect must call apps.connections.open again.
    fn take_ticket(&mut self, ticket: &str) -> bool {
        self.tickets.remove(ticket)
    }

    pub(crate) fn in_outage(&self, now: Instant) -> bool {
        self.outage_until.is_some_and(|t| now < t)
    }

    pub(crate) fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Queues an event for delivery; during an outage it is lost, as DESIGN §3 says.
    pub(crate) fn enqueue(
        &mut self,
        event_id: String,
        payload: Value,
        now: Instant,
        chaos: Option<(bool, Duration)>,
    ) {
        self.push(Kind::EventsApi, event_id, payload, None, now, chaos);
    }

    /// Queues a click's `block_actions` payload: delivered, retried and lost exactly as an
    /// event is. Answers the envelope id its first send will carry.
    pub(crate) fn enqueue_interactive(
        &mut self,
        event_id: String,
        payload: Value,
        now: Instant,
        chaos: Option<(bool, Duration)>,
    ) -> String {
        let envelope_id = self.mint_envelope_id();
        let first = Some(envelope_id.clone());
        self.push(Kind::Interactive, event_id, payload, first, now, chaos);
        envelope_id
    }

    fn push(
        &mut self,
        kind: Kind,
        event_id: String,
        payload: Value,
        first_envelope_id: Option<String>,
        now: Instant,
        chaos: Option<(bool, Duration)>,
    ) {
        if self.in_outage(now) {
            self.dropped_events += 1;
            return;
        }
        let (duplicate, delay) = chaos.unwrap_or((false, Duration::ZERO));
        self.queue.push(Pending {
            kind,
            event_id,
            payload,
            first_envelope_id,
            attempt: 0,
            due: now + delay,
            queued_at: now,
            in_flight: None,
            duplicate,
        });
    }

    fn mint_envelope_id(&mut self) -> String {
        self.next_envelope += 1;
        let n = self.next_envelope | self.id_space << 40;
        // Shaped like Slack's UUIDs; unique per emulator.
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            (n.wrapping_mul(0x9E37_79B9)) & 0xffff_ffff,
            (n >> 3) & 0xffff,
            n & 0xfff,
            (n >> 12) & 0xfff,
            n
        )
    }

    /// Adds connection `id` (unique across apps); `None` past Slack's limit per app.
    fn register(
        &mut self,
        id: u64,
        tx: mpsc::UnboundedSender<Outbound>,
    ) -> Option<(String, usize)> {
        if self.conns.len() >= MAX_CONNECTIONS {
            return None;
        }
        let host = format!("applink-emulator-{id}");
        self.conns.insert(
            id,
            Conn {
                tx,
                host: host.clone(),
                muted_until: None,
                closing: false,
            },
        );
        self.connection_log.push(ConnectionRecord {
            id,
            opened_at: rfc3339_now(),
            closed_at: None,
        });
        Some((host, self.conns.len()))
    }

    fn unregister(&mut self, id: u64) {
        self.conns.remove(&id);
        if let Some(record) = self.connection_log.iter_mut().rev().find(|r| r.id == id) {
            record.closed_at.get_or_insert_with(rfc3339_now);
        }
    }

    /// A new connection takes everything that was waiting for one.
    fn deliver_waiting_now(&mut self, now: Instant) {
        for p in self.queue.iter_mut().filter(|p| p.in_flight.is_none()) {
            p.due = p.due.min(now);
        }
    }

    pub(crate) fn ack(&mut self, envelope_id: &str) -> bool {
        let Some(&i) = self.by_envelope.get(envelope_id) else {
            return false;
        };
        if self.deliveries[i].acked_at.is_none() {
            self.deliveries[i].acked_at = Some(rfc3339_now());
        }
        let event_id = self.deliveries[i].event_id.clone();
        // Once any copy is acked, Slack stops retrying the event.
        self.queue.retain(|p| p.event_id != event_id);
        true
    }

    /// Sends `text` as it is on one open connection (`/_emulator/raw`): not tracked, so
    /// never retried, and its ack, if any, is for no known envelope.
    pub(crate) fn send_raw(&mut self, text: String) -> Option<u64> {
        let id = self.pick_connection(None)?;
        let conn = self.conns.get(&id)?;
        let _ = conn.tx.send(Outbound::Text(text));
        Some(id)
    }

    pub(crate) fn mute_all(&mut self, until: Instant) {
        for conn in self.conns.values_mut() {
            conn.muted_until = Some(until);
        }
    }

    pub(crate) fn start_outage(&mut self, until: Instant) {
        self.outage_until = Some(until);
        for conn in self.conns.values() {
            let _ = conn.tx.send(Outbound::Drop);
        }
    }

    pub(crate) fn connection_ids(&self) -> Vec<u64> {
        self.conns.keys().copied().collect()
    }

    /// Sends a disconnect frame (or drops) on one connection. Returns whether it exists.
    fn send_disconnect(&mut self, id: u64, reason: &str) -> bool {
        let count = self.conns.len();
        let Some(conn) = self.conns.get_mut(&id) else {
            return false;
        };
        if reason != "warning" {
            // Told to go: Slack sends it nothing new.
            conn.closing = true;
        }
        let frame = wire::disconnect(reason, &conn.host, &self.app_id, count);
        let _ = conn.tx.send(Outbound::Text(frame.to_string()));
        true
    }

    fn close(&mut self, id: u64, how: Outbound) {
        if let Some(conn) = self.conns.get(&id) {
            let _ = conn.tx.send(how);
        }
    }

    /// Sends what is due, times out what was not acked, and says when to look again.
    pub(crate) fn dispatch(
        &mut self,
        now: Instant,
        ack_window: Duration,
        retry_delay: impl Fn(usize) -> Duration,
    ) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut soonest = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        let mut i = 0;
        while i < self.queue.len() {
            if let Some((_, deadline)) = self.queue[i].in_flight {
                if now < deadline {
                    soonest(deadline);
                    i += 1;
                    continue;
                }
                // Not acked in time: schedule the retry, or give up after the third.
                let p = &mut self.queue[i];
                p.in_flight = None;
                if p.attempt as usize > RETRY_DELAYS.len() {
                    self.queue.remove(i);
                    self.dropped_events += 1;
                    continue;
                }
                p.due = deadline + retry_delay(p.attempt as usize - 1);
            }
            if now < self.queue[i].due {
                soonest(self.queue[i].due);
                i += 1;
                continue;
            }
            let Some(conn_id) = self.pick_connection(None) else {
                // No socket: nothing was sent, so nothing counts as an attempt. The event
                // waits for a socket (opening one wakes this loop) for as long as its
                // retries would have run, then is dropped.
                let p = &self.queue[i];
                let give_up =
                    p.queued_at + (0..RETRY_DELAYS.len()).map(&retry_delay).sum::<Duration>();
                if now >= give_up {
                    self.queue.remove(i);
                    self.dropped_events += 1;
                    continue;
                }
                soonest(give_up);
                i += 1;
                continue;
            };
            let deadline = now + ack_window;
            let envelope_id = self.send(i, conn_id, now, deadline, false);
            let p = &mut self.queue[i];
            p.in_flight = Some((envelope_id, deadline));
            p.attempt += 1;
            soonest(deadline);
            if std::mem::take(&mut self.queue[i].duplicate) {
                let other = self.pick_connection(Some(conn_id)).unwrap_or(conn_id);
                self.send(i, other, now, deadline, true);
            }
            i += 1;
        }
        next
    }

    fn pick_connection(&mut self, avoid: Option<u64>) -> Option<u64> {
        let live: Vec<u64> = self
            .conns
            .iter()
            .filter(|(id, c)| !c.closing && Some(**id) != avoid)
            .map(|(id, _)| *id)
            .collect();
        if live.is_empty() {
            return None;
        }
        self.round_robin = self.round_robin.wrapping_add(1);
        Some(live[(self.round_robin % live.len() as u64) as usize])
    }

    fn send(
        &mut self,
        i: usize,
        conn_id: u64,
        now: Instant,
        deadline: Instant,
        duplicate: bool,
    ) -> String {
        let preset = (!duplicate)
            .then(|| self.queue[i].first_envelope_id.take())
            .flatten();
        let envelope_id = preset.unwrap_or_else(|| self.mint_envelope_id());
        let p = &self.queue[i];
        let retry_attempt = if duplicate {
            p.attempt.saturating_sub(1)
        } else {
            p.attempt
        };
        let reason = if retry_attempt == 0 { "" } else { "timeout" };
        let frame = match p.kind {
            Kind::EventsApi => {
                wire::events_api_envelope(&envelope_id, &p.payload, retry_attempt, reason)
            }
            // Slack's interactive envelopes carry no retry fields.
            Kind::Interactive => wire::interactive_envelope(&envelope_id, &p.payload),
        };
        let conn = self
            .conns
            .get(&conn_id)
            .expect("picked from open connections");
        let swallowed = conn.muted_until.is_some_and(|t| now < t);
        if !swallowed {
            let _ = conn.tx.send(Outbound::Text(frame.to_string()));
        }
        let until_deadline = deadline.saturating_duration_since(now);
        let deadline_at = chrono::Utc::now()
            + chrono::Duration::from_std(until_deadline).unwrap_or(chrono::Duration::zero());
        self.by_envelope
            .insert(envelope_id.clone(), self.deliveries.len());
        self.deliveries.push(Delivery {
            app: self.app_id.clone(),
            kind: p.kind,
            envelope_id: envelope_id.clone(),
            event_id: p.event_id.clone(),
            connection: conn_id,
            retry_attempt,
            retry_reason: reason.into(),
            sent_at: rfc3339_now(),
            ack_deadline_at: deadline_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            acked_at: None,
            swallowed,
            duplicate,
        });
        envelope_id
    }
}

/// Every app's hub, by app index (0 for app 1).
#[derive(Debug)]
pub(crate) struct Hubs {
    hubs: Vec<Hub>,
    /// Connection ids count across apps, so that deliveries and logs never confuse two.
    next_connection: u64,
}

impl Hubs {
    pub(crate) fn new(app_ids: impl IntoIterator<Item = String>) -> Self {
        let hubs = app_ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| Hub::new(&id, i))
            .collect();
        Self {
            hubs,
            next_connection: 0,
        }
    }

    pub(crate) fn app(&mut self, app: usize) -> &mut Hub {
        &mut self.hubs[app]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Hub> {
        self.hubs.iter()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Hub> {
        self.hubs.iter_mut()
    }

    /// Which app a Socket Mode URL's ticket was issued to.
    fn app_of_ticket(&self, ticket: &str) -> Option<usize> {
        self.hubs.iter().position(|h| h.tickets.contains(ticket))
    }

    /// Opens a connection for `app`: its id, host and that app's connection count.
    fn register(
        &mut self,
        app: usize,
        tx: mpsc::UnboundedSender<Outbound>,
    ) -> Option<(u64, String, usize)> {
        let id = self.next_connection + 1;
        let (host, count) = self.hubs[app].register(id, tx)?;
        self.next_connection = id;
        Some((id, host, count))
    }

    /// Every open connection, as (app index, connection id).
    pub(crate) fn connection_ids(&self) -> Vec<(usize, u64)> {
        self.hubs
            .iter()
            .enumerate()
            .flat_map(|(app, h)| h.connection_ids().into_iter().map(move |id| (app, id)))
            .collect()
    }

    /// Dispatches every app's hub; the soonest time any needs looking at again.
    fn dispatch(
        &mut self,
        now: Instant,
        ack_window: Duration,
        retry_delay: impl Fn(usize) -> Duration,
    ) -> Option<Instant> {
        self.hubs
            .iter_mut()
            .filter_map(|h| h.dispatch(now, ack_window, &retry_delay))
            .min()
    }

    /// Every app's deliveries, in the order they were sent: each app's in its own order,
    /// interleaved by send time (RFC 3339 in UTC with fixed precision sorts as text).
    pub(crate) fn deliveries(&self) -> Vec<&Delivery> {
        let mut cursors = vec![0; self.hubs.len()];
        let mut all = Vec::new();
        loop {
            let next = self
                .hubs
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.deliveries.get(cursors[i]).map(|d| (i, d)))
                .min_by(|a, b| a.1.sent_at.cmp(&b.1.sent_at));
            let Some((i, delivery)) = next else {
                return all;
            };
            cursors[i] += 1;
            all.push(delivery);
        }
    }
}

/// The ack window and retry delays under this emulator's time scale.
fn timings(shared: &Shared) -> (Duration, impl Fn(usize) -> Duration + '_) {
    let ack = shared.clock.scaled_at_least(ACK_WINDOW, ACK_WINDOW_FLOOR);
    (ack, move |k: usize| {
        shared
            .clock
            .scaled(RETRY_DELAYS[k.min(RETRY_DELAYS.len() - 1)])
    })
}

/// The delivery loop: one per emulator, woken when something is queued or acked.
pub(crate) async fn run_dispatcher(shared: Arc<Shared>) {
    loop {
        let next = {
            let (ack, retry) = timings(&shared);
            shared.lock().hubs.dispatch(Instant::now(), ack, retry)
        };
        let notified = shared.wake.notified();
        match next {
            Some(t) => {
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep_until(t.into()) => {}
                }
            }
            None => notified.await,
        }
    }
}

/// Applies a disconnect to one of `app`'s connections, with Slack's follow-ups.
pub(crate) fn disconnect(shared: &Arc<Shared>, app: usize, id: u64, mode: Disconnect) {
    match mode {
        Disconnect::Drop => shared.lock().hubs.app(app).close(id, Outbound::Drop),
        Disconnect::RefreshRequested => {
            let sent = shared
                .lock()
                .hubs
                .app(app)
                .send_disconnect(id, "refresh_requested");
            if sent {
                let shared = shared.clone();
                let grace = shared
                    .clock
                    .scaled_at_least(REFRESH_GRACE, Duration::from_millis(200));
                tokio::spawn(async move {
                    tokio::time::sleep(grace).await;
                    shared.lock().hubs.app(app).close(id, Outbound::Close);
                    shared.wake.notify_one();
                });
            }
            shared.wake.notify_one();
        }
        Disconnect::LinkDisabled | Disconnect::TooManyWebsockets => {
            let reason = match mode {
                Disconnect::LinkDisabled => "link_disabled",
                _ => "too_many_websockets",
            };
            let mut state = shared.lock();
            let hub = state.hubs.app(app);
            if hub.send_disconnect(id, reason) {
                // Slack closes the socket right after saying why.
                hub.close(id, Outbound::Close);
            }
            drop(state);
            shared.wake.notify_one();
        }
        Disconnect::Warning => {
            let sent = shared.lock().hubs.app(app).send_disconnect(id, "warning");
            if sent {
                let shared = shared.clone();
                let lead = shared
                    .clock
                    .scaled_at_least(WARNING_LEAD, Duration::from_millis(300));
                tokio::spawn(async move {
                    tokio::time::sleep(lead).await;
                    disconnect(&shared, app, id, Disconnect::RefreshRequested);
                });
            }
        }
    }
}

/// `--chaos`: now and then, trouble on one of the open sockets, whichever app's.
pub(crate) async fn run_chaos_disconnects(shared: Arc<Shared>) {
    for index in 0.. {
        let (mode, wait, which) = super::faults::chaos_disconnect(shared.config.seed, index);
        tokio::time::sleep(shared.clock.scaled(wait)).await;
        if !shared.chaotic() {
            return;
        }
        let ids = shared.lock().hubs.connection_ids();
        if let Some(&(app, id)) = ids.get((which * ids.len() as f64) as usize) {
            tracing::debug!(app, connection = id, ?mode, "chaos disconnect");
            disconnect(&shared, app, id, mode);
        }
    }
}

/// `GET /link/?ticket=…`: the WebSocket a Socket Mode client opens; the ticket says
/// whose app it is.
pub(crate) async fn link(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let app = {
        let mut state = shared.lock();
        let ticket = query.get("ticket").map(String::as_str).unwrap_or("");
        let app = state.hubs.app_of_ticket(ticket);
        if let Some(app) = app {
            let hub = state.hubs.app(app);
            // An outage refuses the connection but leaves the ticket for later.
            if hub.in_outage(Instant::now()) {
                return (StatusCode::SERVICE_UNAVAILABLE, "outage").into_response();
            }
            hub.take_ticket(ticket);
        }
        app
    };
    let Some(app) = app else {
        return (
            StatusCode::UNAUTHORIZED,
            "invalid or used ticket: call apps.connections.open for a new URL",
        )
            .into_response();
    };
    // Real Slack rotates connections opened with this flag every ~6 minutes.
    let debug_reconnects = query.get("debug_reconnects").is_some_and(|v| v == "true");
    ws.on_upgrade(move |socket| serve(shared, app, socket, debug_reconnects))
}

async fn serve(shared: Arc<Shared>, app: usize, socket: WebSocket, debug_reconnects: bool) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (registered, app_id) = {
        let mut state = shared.lock();
        let registered = state.hubs.register(app, tx);
        (registered, state.hubs.app(app).app_id.clone())
    };
    let Some((id, host, count)) = registered else {
        let frame = wire::disconnect(
            "too_many_websockets",
            "applink-emulator",
            &app_id,
            MAX_CONNECTIONS,
        );
        let _ = sink.send(WsMessage::Text(frame.to_string().into())).await;
        let _ = sink.send(WsMessage::Close(None)).await;
        return;
    };
    tracing::debug!(app_id, connection = id, "socket opened");
    let hello = wire::hello(&app_id, &host, count);
    if sink
        .send(WsMessage::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        shared.lock().hubs.app(app).unregister(id);
        return;
    }
    shared
        .lock()
        .hubs
        .app(app)
        .deliver_waiting_now(Instant::now());
    shared.wake.notify_one();
    if debug_reconnects {
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(shared.clock.scaled(DEBUG_ROTATION)).await;
            disconnect(&shared, app, id, Disconnect::RefreshRequested);
        });
    }
    let mut ping = tokio::time::interval(SERVER_PING);
    ping.tick().await;
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outbound::Text(text)) => {
                    if sink.send(WsMessage::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outbound::Close) => {
                    let frame = CloseFrame { code: 1000, reason: "".into() };
                    let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    break;
                }
                Some(Outbound::Drop) | None => break,
            },
            frame = stream.next() => match frame {
                Some(Ok(WsMessage::Text(text))) => on_client_text(&shared, app, id, text.as_str()),
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                // Pings are answered by the WebSocket layer; pongs and binary need nothing.
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if sink.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    shared.lock().hubs.app(app).unregister(id);
    shared.wake.notify_one();
    tracing::debug!(app_id, connection = id, "socket closed");
}

/// A client frame is an ack `{"envelope_id": …}` (perhaps with a payload); anything
/// else is logged and ignored, as Slack ignores it.
fn on_client_text(shared: &Shared, app: usize, connection: u64, text: &str) {
    let envelope_id = serde_json::from_str::<Value>(text).ok().and_then(|v| {
        v.get("envelope_id")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    match envelope_id {
        Some(id) => {
            if !shared.lock().hubs.app(app).ack(&id) {
                tracing::debug!(connection, envelope_id = %id, "ack for an unknown envelope");
            }
            shared.wake.notify_one();
        }
        None => tracing::debug!(connection, "ignored a client frame that is not an ack"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hub_with_connection() -> (Hub, mpsc::UnboundedReceiver<Outbound>) {
        let mut hub = Hub::new("A1", 0);
        let (tx, rx) = mpsc::unbounded_channel();
        hub.register(1, tx).unwrap();
        (hub, rx)
    }

    fn retry(k: usize) -> Duration {
        RETRY_DELAYS[k]
    }

    fn sent_envelope(rx: &mut mpsc::UnboundedReceiver<Outbound>) -> Value {
        match rx.try_recv() {
            Ok(Outbound::Text(t)) => serde_json::from_str(&t).unwrap(),
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    #[test]
    fn unacked_events_are_retried_on_slacks_schedule_then_dropped() {
        let (mut hub, mut rx) = hub_with_connection();
        let t0 = Instant::now();
        let window = Duration::from_secs(3);
        hub.enqueue("Ev1".into(), json!({"event": {}}), t0, None);
        let next = hub.dispatch(t0, window, retry).unwrap();
        assert_eq!(next, t0 + window);
        assert_eq!(sent_envelope(&mut rx)["retry_attempt"], 0);

        // Retry 1 right after the window; retry 2 a minute after its window; retry 3 five.
        let mut now = t0 + window;
        for (attempt, wait) in [(1, 0), (2, 60), (3, 300)] {
            let next = hub.dispatch(now, window, retry).unwrap();
            now = next.max(now);
            if wait > 0 {
                assert!(rx.try_recv().is_err(), "nothing before the retry is due");
                hub.dispatch(now, window, retry);
            }
            let envelope = sent_envelope(&mut rx);
            assert_eq!(envelope["retry_attempt"], attempt);
            assert_eq!(envelope["retry_reason"], "timeout");
            now += window;
        }
        assert_eq!(hub.dispatch(now, window, retry), None);
        assert_eq!(hub.dropped_events, 1);
        assert_eq!(hub.deliveries.len(), 4);
    }

    #[test]
    fn an_ack_stops_the_retries() {
        let (mut hub, mut rx) = hub_with_connection();
        let t0 = Instant::now();
        hub.enqueue("Ev1".into(), json!({}), t0, None);
        hub.dispatch(t0, Duration::from_secs(3), retry);
        let envelope = sent_envelope(&mut rx);
        assert!(hub.ack(envelope["envelope_id"].as_str().unwrap()));
        assert_eq!(
            hub.dispatch(t0 + Duration::from_secs(10), Duration::from_secs(3), retry),
            None
        );
        assert!(rx.try_recv().is_err());
        assert!(hub.deliveries[0].acked_at.is_some());
        assert!(!hub.ack("no-such-envelope"));
    }

    #[test]
    fn a_click_goes_out_under_the_envelope_id_it_was_promised_and_retries_under_new_ones() {
        let (mut hub, mut rx) = hub_with_connection();
        let t0 = Instant::now();
        let window = Duration::from_secs(3);
        let promised =
            hub.enqueue_interactive("click-1".into(), json!({"type": "block_actions"}), t0, None);
        hub.dispatch(t0, window, retry);
        let first = sent_envelope(&mut rx);
        assert_eq!(first["envelope_id"], promised.as_str());
        assert_eq!(first["type"], "interactive");
        assert_eq!(first["payload"]["type"], "block_actions");
        assert!(first.get("retry_attempt").is_none() && first.get("retry_reason").is_none());
        hub.dispatch(t0 + window, window, retry);
        let again = sent_envelope(&mut rx);
        assert_ne!(again["envelope_id"], first["envelope_id"]);
        assert_eq!(again["type"], "interactive");
        let kinds: Vec<Kind> = hub.deliveries.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [Kind::Interactive, Kind::Interactive]);
        assert!(hub.ack(again["envelope_id"].as_str().unwrap()));
        assert_eq!(hub.dispatch(t0 + window * 30, window, retry), None);
    }

    #[test]
    fn events_wait_for_a_socket_and_go_out_when_one_opens() {
        let mut hub = Hub::new("A1", 0);
        let t0 = Instant::now();
        hub.enqueue("Ev1".into(), json!({}), t0, None);
        let next = hub.dispatch(t0, Duration::from_secs(3), retry);
        assert_eq!(next, Some(t0 + RETRY_DELAYS.iter().sum::<Duration>()));
        let later = t0 + Duration::from_secs(90);
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.register(1, tx).unwrap();
        hub.deliver_waiting_now(later);
        hub.dispatch(later, Duration::from_secs(3), retry);
        let first = sent_envelope(&mut rx);
        assert_eq!(first["retry_attempt"], 0, "a first delivery, however late");
        assert_eq!(first["retry_reason"], "");
    }

    #[test]
    fn events_no_socket_took_are_dropped_when_their_retries_would_have_ended() {
        let mut hub = Hub::new("A1", 0);
        let t0 = Instant::now();
        hub.enqueue("Ev1".into(), json!({}), t0, None);
        let give_up = hub.dispatch(t0, Duration::from_secs(3), retry).unwrap();
        assert_eq!(hub.dispatch(give_up, Duration::from_secs(3), retry), None);
        assert_eq!(hub.dropped_events, 1);
    }

    #[test]
    fn events_spread_across_connections_and_skip_refreshing_ones() {
        let mut hub = Hub::new("A1", 0);
        let mut rxs = Vec::new();
        for id in 1..=2 {
            let (tx, rx) = mpsc::unbounded_channel();
            hub.register(id, tx).unwrap();
            rxs.push(rx);
        }
        let t0 = Instant::now();
        for i in 0..4 {
            hub.enqueue(format!("Ev{i}"), json!({}), t0, None);
        }
        hub.dispatch(t0, Duration::from_secs(3), retry);
        let counts: Vec<usize> = rxs
            .iter_mut()
            .map(|rx| std::iter::from_fn(|| rx.try_recv().ok()).count())
            .collect();
        assert_eq!(counts, vec![2, 2]);

        assert!(hub.send_disconnect(1, "refresh_requested"));
        rxs[0].try_recv().unwrap();
        hub.enqueue("Ev9".into(), json!({}), t0, None);
        hub.dispatch(t0, Duration::from_secs(3), retry);
        assert!(rxs[0].try_recv().is_err());
        assert!(rxs[1].try_recv().is_ok());
    }

    #[test]
    fn each_app_has_its_own_hub_and_ids_never_collide() {
        let mut hubs = Hubs::new(["A1".to_string(), "A2".to_string()]);
        let ticket = hubs.app(1).issue_ticket();
        assert_eq!(hubs.app_of_ticket(&ticket), Some(1));
        let mut rxs = Vec::new();
        let mut counts = Vec::new();
        for app in [0, 1, 0] {
            let (tx, rx) = mpsc::unbounded_channel();
            let (_, _, count) = hubs.register(app, tx).unwrap();
            rxs.push(rx);
            counts.push(count);
        }
        assert_eq!(counts, [1, 1, 2], "each app counts its own connections");
        assert_eq!(hubs.connection_ids(), vec![(0, 1), (0, 3), (1, 2)]);

        let t0 = Instant::now();
        hubs.app(0).enqueue("Ev1".into(), json!({}), t0, None);
        hubs.app(1).enqueue("Ev2".into(), json!({}), t0, None);
        hubs.dispatch(t0, Duration::from_secs(3), retry);
        let sent = hubs.deliveries();
        assert_eq!(sent.len(), 2);
        assert_eq!((sent[0].app.as_str(), sent[1].app.as_str()), ("A1", "A2"));
        assert_ne!(sent[0].envelope_id, sent[1].envelope_id);
        assert_eq!(sent[1].connection, 2, "app 2's only connection");
    }

    #[test]
    fn a_raw_frame_goes_out_as_it_is_and_is_not_tracked() {
        let mut hub = Hub::new("A1", 0);
        assert_eq!(hub.send_raw("x".into()), None, "no socket, no frame");
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.register(4, tx).unwrap();
        let text = r#"{"type":"events_api","envelope_id":"e","payload":"\ud83d"}"#;
        assert_eq!(hub.send_raw(text.into()), Some(4));
        assert!(matches!(rx.try_recv(), Ok(Outbound::Text(t)) if t == text));
        assert!(hub.deliveries.is_empty() && hub.queue.is_empty());
    }

    #[test]
    fn the_eleventh_connection_is_refused() {
        let mut hub = Hub::new("A1", 0);
        for id in 0..MAX_CONNECTIONS as u64 {
            let (tx, _rx) = mpsc::unbounded_channel();
            assert!(hub.register(id, tx).is_some());
        }
        let (tx, _rx) = mpsc::unbounded_channel();
        assert!(hub.register(99, tx).is_none());
    }

    #[test]
    fn a_muted_socket_swallows_deliveries_and_an_outage_loses_new_events() {
        let (mut hub, mut rx) = hub_with_connection();
        let t0 = Instant::now();
        hub.mute_all(t0 + Duration::from_secs(60));
        hub.enqueue("Ev1".into(), json!({}), t0, None);
        hub.dispatch(t0, Duration::from_secs(3), retry);
        assert!(rx.try_recv().is_err());
        assert!(hub.deliveries[0].swallowed);

        hub.start_outage(t0 + Duration::from_secs(20));
        hub.enqueue("Ev2".into(), json!({}), t0, None);
        assert_eq!(hub.dropped_events, 1);
        assert!(!hub.in_outage(t0 + Duration::from_secs(21)));
    }
}
