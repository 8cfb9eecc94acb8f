//! The socket manager's policy as a state machine: connection events and time in, commands
//! out. No I/O and no clock reads (STYLE: quinn-proto's sans-IO `Connection`), so each rule
//! of DESIGN §4 it keeps (5, 6, 7) is a unit test on a simulated clock; `run_manager` is the
//! thin async shell that moves events, timers and commands.

use super::{ConnEvent, ManagerOut, SocketPolicy, Status};
use crate::slack::backoff::Backoff;
use crate::slack::wire::DisconnectReason;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A moment on both clocks: `mono` for waits, `wall` (seconds since the epoch) because the
/// gap fill asks Slack's history for messages since a wall-clock time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Now {
    pub(crate) mono: Instant,
    pub(crate) wall: f64,
}

impl Now {
    /// The wall-clock time of an earlier monotonic instant.
    fn wall_at(&self, t: Instant) -> f64 {
        self.wall - self.mono.saturating_duration_since(t).as_secs_f64()
    }
}

/// What the manager asks its shell to do.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// Start connection `id`: it calls apps.connections.open for a fresh one-shot URL.
    Open { id: u64 },
    /// Close connection `id`: its replacement said hello.
    Close { id: u64 },
    /// Pass this on to the rest of the client.
    Out(ManagerOut),
}

#[derive(Debug)]
struct Conn {
    up: bool,
    /// Being replaced: it no longer counts toward the wanted number.
    retiring: bool,
    /// Told to close already: one `Close` per connection is enough.
    closing: bool,
    opened: Instant,
    last_event: Option<Instant>,
}

/// Keeps `connections` sockets up, replaces them on Slack's say-so, notices the silent
/// ones, and paces attempts after failures.
pub(crate) struct Manager {
    wanted: usize,
    mute_after: Duration,
    refused_wait: Duration,
    backoff: Backoff,
    /// Waits are divided by this, so tests and the emulator can run Slack's time faster.
    scale: f64,
    /// A draw in [0, 1) for each backoff wait; passed in so tests are deterministic.
    jitter: Box<dyn FnMut() -> f64 + Send>,
    conns: BTreeMap<u64, Conn>,
    next_id: u64,
    /// Connections in a row that ended before saying hello.
    failures: u32,
    next_attempt: Instant,
    reconnects: u64,
    problem: Option<String>,
    /// When every socket went down (wall clock), for the gap fill.
    all_down_since: Option<f64>,
    ever_up: bool,
    last_probe: Instant,
    /// One socket is rotated this often to re-read `hello.num_connections`.
    probe_every: Option<Duration>,
    last_rotation: Instant,
    last_status: Option<Status>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("conns", &self.conns)
            .field("failures", &self.failures)
            .field("next_attempt", &self.next_attempt)
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

impl Manager {
    pub(crate) fn new(
        policy: &SocketPolicy,
        time_scale: f64,
        jitter: Box<dyn FnMut() -> f64 + Send>,
        now: Instant,
    ) -> Self {
        Self {
            wanted: policy.connections,
            mute_after: policy.mute_after,
            refused_wait: policy.refused_wait,
            backoff: policy.backoff,
            scale: time_scale.max(1e-9),
            jitter,
            conns: BTreeMap::new(),
            next_id: 0,
            failures: 0,
            next_attempt: now,
            reconnects: 0,
            problem: None,
            all_down_since: None,
            ever_up: false,
            last_probe: now,
            probe_every: policy.probe_every,
            last_rotation: now,
            last_status: None,
        }
    }

    /// What a connection task reported.
    pub(crate) fn on_event(&mut self, event: ConnEvent, now: Now) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        match event {
            ConnEvent::Up {
                id,
                num_connections,
            } => {
                self.on_up(id, now, &mut cmds);
                if let Some(n) = num_connections {
                    // Ours at that moment: every one up, the one being replaced included.
                    let ours = self.conns.values().filter(|c| c.up).count() as u32;
                    cmds.push(Cmd::Out(ManagerOut::Company {
                        app_connections: n,
                        ours,
                    }));
                }
            }
            ConnEvent::Envelope {
                id,
                envelope,
                read_at,
            } => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.last_event = Some(now.mono);
                }
                cmds.push(Cmd::Out(ManagerOut::Envelope(envelope, read_at)));
            }
            ConnEvent::Disconnect { id, reason } => self.on_disconnect(id, reason, now, &mut cmds),
            ConnEvent::Down { id, why } => self.on_down(id, &why, now),
        }
        cmds
    }

    fn on_up(&mut self, id: u64, now: Now, cmds: &mut Vec<Cmd>) {
        let was_down = !self.conns.values().any(|c| c.up);
        if let Some(c) = self.conns.get_mut(&id) {
            c.up = true;
        }
        self.failures = 0;
        self.problem = None;
        // The replacement is up: now the one it replaces may go.
        for (rid, c) in &mut self.conns {
            if c.retiring && *rid != id && !c.closing {
                c.closing = true;
                cmds.push(Cmd::Close { id: *rid });
            }
        }
        if was_down {
            // Before the first hello there is no gap, only history to read from the start.
            let since = if self.ever_up {
                self.all_down_since.unwrap_or(now.wall)
            } else {
                f64::NEG_INFINITY
            };
            self.ever_up = true;
            self.all_down_since = None;
            cmds.push(Cmd::Out(ManagerOut::GapSince(since)));
        }
    }

    fn on_disconnect(&mut self, id: u64, reason: DisconnectReason, now: Now, cmds: &mut Vec<Cmd>) {
        tracing::info!(connection = id, ?reason, "Slack asked to disconnect");
        match reason {
            DisconnectReason::Warning | DisconnectReason::RefreshRequested => {
                let retire = self
                    .conns
                    .get_mut(&id)
                    .is_some_and(|c| !std::mem::replace(&mut c.retiring, true));
                if retire {
                    // Open the replacement now; the old one closes when it is up.
                    self.reconnects += 1;
                    cmds.push(self.open(now.mono));
                }
            }
            DisconnectReason::TooManyWebsockets => {
                self.problem = Some("Slack refused the socket: too many websockets for this app (another swarmdeck running?)".into());
                self.next_attempt = now.mono + self.refused_wait.div_f64(self.scale);
            }
            DisconnectReason::LinkDisabled => {
                self.problem = Some("Socket Mode is disabled for this app (link_disabled): turn it on in the app settings".into());
                self.next_attempt = now.mono + self.refused_wait.div_f64(self.scale);
            }
            DisconnectReason::Other(reason) => {
                tracing::warn!(connection = id, reason, "unknown disconnect reason");
            }
        }
    }

    fn on_down(&mut self, id: u64, why: &str, now: Now) {
        let conn = self.conns.remove(&id);
        tracing::info!(connection = id, why, "socket down");
        let was_up = conn.as_ref().is_some_and(|c| c.up);
        if !was_up {
            self.failures += 1;
            if why.contains("invalid_auth")
                || why.contains("not_allowed_token_type")
                || why.contains("not_authed")
            {
                self.problem = Some(format!("Slack refused the app token: {why}"));
            }
            let wait = self.backoff_wait();
            self.next_attempt = self.next_attempt.max(now.mono + wait);
        } else if !conn.as_ref().is_some_and(|c| c.retiring) {
            self.reconnects += 1;
        }
        if self.ever_up && !self.conns.values().any(|c| c.up) && self.all_down_since.is_none() {
            self.all_down_since = Some(now.wall);
        }
    }

    /// The gap fill found the workspace busy while every socket stayed quiet: replace them
    /// all, and fill from the oldest socket's last event.
    pub(crate) fn on_probe_busy(&mut self, now: Now) -> Vec<Cmd> {
        tracing::warn!("sockets silent while the workspace is busy: replacing them");
        let since = self
            .conns
            .values()
            .map(|c| c.last_event.unwrap_or(c.opened))
            .min()
            .map_or(now.wall, |t| now.wall_at(t));
        for c in self.conns.values_mut().filter(|c| !c.retiring) {
            c.retiring = true;
        }
        let mut cmds = Vec::new();
        for _ in 0..self.wanted {
            self.reconnects += 1;
            cmds.push(self.open(now.mono));
        }
        cmds.push(Cmd::Out(ManagerOut::GapSince(since)));
        cmds
    }

    /// The periodic look: muted sockets, a probe when all are quiet, the wanted number of
    /// sockets, and the status when it changed.
    pub(crate) fn on_tick(&mut self, now: Now) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        let t = now.mono;
        let mute_after = self.mute_after.div_f64(self.scale);
        let quiet_for = |c: &Conn| t.saturating_duration_since(c.last_event.unwrap_or(c.opened));
        // A socket quiet for mute_after while another delivered: replace it. (Slack sends
        // each event to one connection, so "another delivered" means we are missing some.)
        let busy_elsewhere = |me: u64, conns: &BTreeMap<u64, Conn>| {
            conns.iter().any(|(i, c)| {
                *i != me
                    && c.up
                    && c.last_event
                        .is_some_and(|e| t.saturating_duration_since(e) < mute_after)
            })
        };
        let muted: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.up && !c.retiring && quiet_for(c) > mute_after)
            .map(|(i, _)| *i)
            .filter(|i| busy_elsewhere(*i, &self.conns))
            .collect();
        for id in muted {
            tracing::warn!(
                connection = id,
                "socket delivers nothing while others do: replacing it"
            );
            let since = self.conns.get_mut(&id).map_or(now.wall, |c| {
                c.retiring = true;
                now.wall_at(c.last_event.unwrap_or(c.opened))
            });
            self.reconnects += 1;
            cmds.push(self.open(t));
            cmds.push(Cmd::Out(ManagerOut::GapSince(since)));
        }
        // Every socket quiet: ask whether the workspace is quiet too.
        let any_recent = self.conns.values().any(|c| quiet_for(c) < mute_after);
        let any_up = self.conns.values().any(|c| c.up);
        if any_up && !any_recent && t.saturating_duration_since(self.last_probe) > mute_after {
            self.last_probe = t;
            cmds.push(Cmd::Out(ManagerOut::Probe));
        }
        // Rotate one socket now and then: its replacement's hello counts the app's
        // connections again (consumers that joined since are known no other way).
        let settled =
            self.live() == self.wanted && self.conns.values().all(|c| c.up && !c.retiring);
        if let Some(every) = self.probe_every
            && settled
            && t.saturating_duration_since(self.last_rotation) >= every
        {
            self.last_rotation = t;
            if let Some(oldest) = self.conns.values_mut().min_by_key(|c| c.opened) {
                oldest.retiring = true;
                cmds.push(self.open(t));
            }
        }
        // Keep the wanted number of sockets, pacing attempts after failures.
        let live = self.live();
        if live < self.wanted && t >= self.next_attempt {
            cmds.push(self.open(t));
            // One attempt at a time while failing; one a tick when healthy.
            if self.failures > 0 {
                self.next_attempt = t + self.backoff_wait();
            }
        }
        let status = self.status(t);
        if self.last_status.as_ref() != Some(&status) {
            self.last_status = Some(status.clone());
            cmds.push(Cmd::Out(ManagerOut::Status(status)));
        }
        cmds
    }

    /// The health the lead sees (DESIGN §4 rule 8).
    fn status(&self, now: Instant) -> Status {
        let waiting = self.live() < self.wanted && self.next_attempt > now;
        Status {
            connected: self
                .conns
                .values()
                .filter(|c| c.up)
                .count()
                .min(self.wanted.max(1)),
            wanted: self.wanted,
            reconnect_at: waiting.then_some(self.next_attempt),
            reconnects: self.reconnects,
            problem: self.problem.clone(),
        }
    }

    /// Connections that count toward the wanted number (up or on their way).
    fn live(&self) -> usize {
        self.conns.values().filter(|c| !c.retiring).count()
    }

    fn backoff_wait(&mut self) -> Duration {
        let unit = (self.jitter)();
        self.backoff.delay(self.failures, unit).div_f64(self.scale)
    }

    /// A new connection: a new id, so a new call to apps.connections.open (its URL is a
    /// one-shot ticket: rule 5).
    fn open(&mut self, now: Instant) -> Cmd {
        self.next_id += 1;
        self.conns.insert(
            self.next_id,
            Conn {
                up: false,
                retiring: false,
                closing: false,
                opened: now,
                last_event: None,
            },
        );
        Cmd::Open { id: self.next_id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::wire::Envelope;

    /// The simulated wall clock at the base instant.
    const WALL0: f64 = 1_700_000_000.0;
    /// The shell's tick.
    const TICK: Duration = Duration::from_millis(200);

    fn policy(connections: usize) -> SocketPolicy {
        SocketPolicy {
            connections,
            backoff: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(60),
            },
            mute_after: Duration::from_secs(120),
            refused_wait: Duration::from_secs(120),
            // Rotation for probes has its own tests.
            probe_every: None,
            ..SocketPolicy::default()
        }
    }

    /// A manager on a simulated clock, and everything it asked for so far.
    struct Sim {
        m: Manager,
        base: Instant,
        at: Duration,
        /// Each `Open`, with when it was asked for.
        opens: Vec<(u64, Duration)>,
        closes: Vec<u64>,
        gaps: Vec<f64>,
        statuses: Vec<Status>,
        probes: usize,
    }

    impl Sim {
        fn new(policy: &SocketPolicy, jitter: f64) -> Self {
            Self::scaled(policy, 1.0, jitter)
        }

        fn scaled(policy: &SocketPolicy, scale: f64, jitter: f64) -> Self {
            let base = Instant::now();
            Self {
                m: Manager::new(policy, scale, Box::new(move || jitter), base),
                base,
                at: Duration::ZERO,
                opens: Vec::new(),
                closes: Vec::new(),
                gaps: Vec::new(),
                statuses: Vec::new(),
                probes: 0,
            }
        }

        fn now(&self) -> Now {
            Now {
                mono: self.base + self.at,
                wall: WALL0 + self.at.as_secs_f64(),
            }
        }

        fn record(&mut self, cmds: Vec<Cmd>) -> Vec<Cmd> {
            for cmd in &cmds {
                match cmd {
                    Cmd::Open { id } => self.opens.push((*id, self.at)),
                    Cmd::Close { id } => self.closes.push(*id),
                    Cmd::Out(ManagerOut::GapSince(since)) => self.gaps.push(*since),
                    Cmd::Out(ManagerOut::Status(s)) => self.statuses.push(s.clone()),
                    Cmd::Out(ManagerOut::Probe) => self.probes += 1,
                    Cmd::Out(ManagerOut::Envelope(..) | ManagerOut::Company { .. }) => {}
                }
            }
            cmds
        }

        fn tick(&mut self) -> Vec<Cmd> {
            let cmds = self.m.on_tick(self.now());
            self.record(cmds)
        }

        fn event(&mut self, event: ConnEvent) -> Vec<Cmd> {
            let cmds = self.m.on_event(event, self.now());
            self.record(cmds)
        }

        fn up(&mut self, id: u64) -> Vec<Cmd> {
            self.event(ConnEvent::Up {
                id,
                num_connections: None,
            })
        }

        fn down(&mut self, id: u64, why: &str) -> Vec<Cmd> {
            self.event(ConnEvent::Down {
                id,
                why: why.into(),
            })
        }

        fn disconnect(&mut self, id: u64, reason: DisconnectReason) -> Vec<Cmd> {
            self.event(ConnEvent::Disconnect { id, reason })
        }

        fn envelope(&mut self, id: u64) -> Vec<Cmd> {
            let read_at = self.base + self.at;
            self.event(ConnEvent::Envelope {
                id,
                envelope: Envelope {
                    envelope_id: format!("e{}", self.at.as_millis()),
                    retry_attempt: 0,
                    retry_reason: String::new(),
                    payload: None,
                    interactive: false,
                },
                read_at,
            })
        }

        fn probe_busy(&mut self) -> Vec<Cmd> {
            let cmds = self.m.on_probe_busy(self.now());
            self.record(cmds)
        }

        /// Ticks for `span`, letting `server` answer each `Open` the moment it is asked.
        fn run(&mut self, span: Duration, mut server: impl FnMut(&mut Self, u64)) {
            let end = self.at + span;
            while self.at < end {
                self.at += TICK;
                for id in opened(&self.tick()) {
                    server(self, id);
                }
            }
        }

        fn status(&self) -> &Status {
            self.statuses.last().expect("a status was reported")
        }

        /// How long until the next attempt, as the status tells the lead.
        fn wait(&mut self) -> Duration {
            self.tick();
            let at = self.status().reconnect_at.expect("a reconnect is waiting");
            at - (self.base + self.at)
        }

        /// Jumps the clock to the waiting reconnect and ticks: the one `Open` it makes.
        fn jump_to_reconnect(&mut self) -> u64 {
            let wait = self.wait();
            self.at += wait;
            let ids = opened(&self.tick());
            assert_eq!(ids.len(), 1, "one attempt when the wait is over");
            ids[0]
        }
    }

    fn opened(cmds: &[Cmd]) -> Vec<u64> {
        cmds.iter()
            .filter_map(|c| match c {
                Cmd::Open { id } => Some(*id),
                _ => None,
            })
            .collect()
    }

    fn closed(cmds: &[Cmd]) -> Vec<u64> {
        cmds.iter()
            .filter_map(|c| match c {
                Cmd::Close { id } => Some(*id),
                _ => None,
            })
            .collect()
    }

    /// A fresh sim with `connections` sockets opened (one a tick) and up.
    /// What the hellos told of the app's connections: (app's, ours).
    fn company(cmds: &[Cmd]) -> Vec<(u32, u32)> {
        cmds.iter()
            .filter_map(|c| match c {
                Cmd::Out(ManagerOut::Company {
                    app_connections,
                    ours,
                }) => Some((*app_connections, *ours)),
                _ => None,
            })
            .collect()
    }

    // Several leads: a consumer that joined later is learnt of only by a new hello.
    #[test]
    fn one_socket_is_rotated_every_probe_interval_replacement_first() {
        let mut p = policy(2);
        p.probe_every = Some(Duration::from_secs(60));
        let mut sim = Sim::new(&p, 0.0);
        for _ in 0..2 {
            for id in opened(&sim.tick()) {
                sim.up(id);
            }
            sim.at += TICK;
        }
        sim.opens.clear();
        sim.gaps.clear();
        sim.run(Duration::from_secs(59), |_, id| {
            panic!("rotated early: {id}")
        });
        sim.at += Duration::from_secs(1);
        assert_eq!(opened(&sim.tick()), vec![3], "the replacement opens");
        assert!(sim.closes.is_empty(), "the old one waits for its hello");
        // Its hello: three of ours up (the one leaving too), five on the app.
        let cmds = sim.event(ConnEvent::Up {
            id: 3,
            num_connections: Some(5),
        });
        assert_eq!(company(&cmds), [(5, 3)], "two are someone else's");
        assert_eq!(closed(&cmds), vec![1], "the oldest goes");
        sim.down(1, "replaced");
        assert!(opened(&sim.tick()).is_empty(), "two again, no more");
        assert!(sim.gaps.is_empty(), "a rotation is no gap");
        assert_eq!(sim.status().reconnects, 0, "nor a reconnect to show");
        sim.at += Duration::from_secs(60);
        assert_eq!(opened(&sim.tick()), vec![4], "the next probe");
        sim.up(4);
        assert_eq!(sim.closes, vec![1, 2], "the oldest again");
    }

    #[test]
    fn no_rotation_while_a_socket_is_missing_or_being_replaced() {
        let mut p = policy(2);
        p.probe_every = Some(Duration::from_secs(60));
        let mut sim = Sim::new(&p, 0.0);
        let first = opened(&sim.tick());
        sim.up(first[0]);
        sim.at += TICK;
        let second = opened(&sim.tick());
        assert_eq!(second.len(), 1);
        // The second never says hello: the manager keeps trying it, never rotates the first.
        sim.at += Duration::from_secs(61);
        let cmds = sim.tick();
        assert!(sim.closes.is_empty());
        assert!(opened(&cmds).is_empty(), "{cmds:?}");
    }

    fn healthy(connections: usize) -> Sim {
        let mut sim = Sim::new(&policy(connections), 0.0);
        for _ in 0..connections {
            for id in opened(&sim.tick()) {
                sim.up(id);
            }
            sim.at += TICK;
        }
        sim.tick();
        assert_eq!(sim.status().connected, connections);
        // From here on, only what the test does.
        sim.statuses.drain(..sim.statuses.len() - 1);
        sim.gaps.clear();
        sim
    }

    /// Wall-clock times derived from instants carry float rounding.
    fn assert_near(got: Option<&f64>, want: f64) {
        let got = got.copied().unwrap_or(f64::NAN);
        assert!((got - want).abs() < 1e-3, "{got} is not {want}");
    }

    // Rule 5: every reconnect calls apps.connections.open again: a new connection each time.
    #[test]
    fn every_reconnect_is_a_fresh_open() {
        let mut sim = healthy(1);
        sim.down(1, "closed by Slack");
        let second = opened(&sim.tick());
        assert_eq!(second, vec![2], "a dropped socket is reopened at once");
        sim.down(2, "could not connect: refused");
        let third = sim.jump_to_reconnect();
        assert_eq!(third, 3);
        let ids: Vec<u64> = sim.opens.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            ids,
            vec![1, 2, 3],
            "never the same connection (and ticket) twice"
        );
        assert_eq!(sim.status().reconnects, 1, "the dropped socket counts once");
    }

    // Rule 5: capped, jittered backoff that grows with consecutive failures.
    #[test]
    fn backoff_grows_with_each_failure_and_stops_at_the_cap() {
        let p = policy(1);
        let mut sim = Sim::new(&p, 0.0);
        let mut id = opened(&sim.tick())[0];
        let mut waits = Vec::new();
        for _ in 0..10 {
            sim.down(id, "could not connect: refused");
            waits.push(sim.wait());
            id = sim.jump_to_reconnect();
        }
        let secs: Vec<f64> = waits.iter().map(Duration::as_secs_f64).collect();
        // base 1 s doubling, capped at 60 s, times the jitter floor of 0.5.
        assert_eq!(
            secs,
            vec![0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
        );

        // A large failure count: the cap still holds, and a storm still waits.
        for _ in 0..1000 {
            sim.down(id, "could not connect: refused");
            let wait = sim.wait();
            assert!(
                wait <= p.backoff.cap && wait >= p.backoff.cap / 2,
                "{wait:?}"
            );
            id = sim.jump_to_reconnect();
        }
    }

    #[test]
    fn the_jitter_spreads_the_waits() {
        let third_wait = |jitter: f64| {
            let mut sim = Sim::new(&policy(1), jitter);
            let mut id = opened(&sim.tick())[0];
            for _ in 0..2 {
                sim.down(id, "could not connect: refused");
                id = sim.jump_to_reconnect();
            }
            sim.down(id, "could not connect: refused");
            sim.wait()
        };
        // The third failure: 4 s raw, scaled into [2 s, 4 s) by the jitter.
        assert_eq!(third_wait(0.0), Duration::from_secs(2));
        assert_eq!(third_wait(0.5), Duration::from_secs(3));
        let most = third_wait(0.999);
        assert!(most > Duration::from_millis(3990) && most < Duration::from_secs(4));
    }

    // Rule 5: one attempt at a time while failing, however many sockets are missing.
    #[test]
    fn one_attempt_at_a_time_while_failing() {
        let mut sim = Sim::new(&policy(3), 0.0);
        // Healthy start: a socket a tick, without waiting for the others.
        let mut first = Vec::new();
        for _ in 0..3 {
            first.extend(opened(&sim.tick()));
            sim.at += TICK;
        }
        assert_eq!(first, vec![1, 2, 3]);
        for id in first {
            sim.down(id, "could not connect: refused");
        }
        for _ in 0..5 {
            let id = sim.jump_to_reconnect();
            // The attempt hangs for a while: no second attempt meanwhile.
            sim.run(Duration::from_millis(900), |_, id| {
                panic!("a second attempt ({id}) while the first is still failing")
            });
            sim.down(id, "timed out connecting");
        }
        assert_eq!(sim.opens.len(), 8);
    }

    // Rule 5: a success resets the backoff.
    #[test]
    fn a_success_resets_the_backoff() {
        let mut sim = Sim::new(&policy(1), 0.0);
        let mut id = opened(&sim.tick())[0];
        for _ in 0..5 {
            sim.down(id, "could not connect: refused");
            id = sim.jump_to_reconnect();
        }
        sim.up(id);
        sim.at += Duration::from_secs(60);
        sim.down(id, "socket error: reset");
        let next = opened(&sim.tick());
        assert_eq!(next.len(), 1, "a socket that was up is replaced at once");
        assert_eq!(sim.status().reconnect_at, None);
        sim.down(next[0], "could not connect: refused");
        assert_eq!(
            sim.wait(),
            Duration::from_millis(500),
            "back to the first step"
        );
    }

    // Rule 6: on warning or refresh_requested, the new socket opens before the old one closes.
    #[test]
    fn a_warning_opens_the_replacement_first_and_closes_the_old_one_after_its_hello() {
        for reason in [
            DisconnectReason::Warning,
            DisconnectReason::RefreshRequested,
        ] {
            let mut sim = healthy(1);
            let cmds = sim.disconnect(1, reason.clone());
            assert_eq!(
                opened(&cmds),
                vec![2],
                "{reason:?}: the replacement opens now"
            );
            assert!(
                closed(&cmds).is_empty(),
                "{reason:?}: the old one stays for now"
            );
            // Slack repeats itself: still one replacement.
            assert!(opened(&sim.disconnect(1, reason.clone())).is_empty());
            sim.run(Duration::from_secs(5), |_, id| {
                panic!("an extra socket {id}")
            });
            assert!(
                sim.closes.is_empty(),
                "{reason:?}: closed before the replacement was up"
            );
            assert_eq!(closed(&sim.up(2)), vec![1], "{reason:?}");
            sim.tick();
            sim.down(1, "replaced");
            sim.tick();
            assert!(
                sim.statuses.iter().all(|s| s.connected == 1),
                "{reason:?}: the status never dropped: {:?}",
                sim.statuses
            );
            assert_eq!(sim.status().reconnects, 1, "{reason:?}");
            assert_eq!(sim.closes, vec![1], "{reason:?}: one close");
        }
    }

    // Rule 6: a replacement that fails leaves the old socket up until one says hello.
    #[test]
    fn a_failed_replacement_leaves_the_old_socket_up() {
        let mut sim = healthy(1);
        sim.disconnect(1, DisconnectReason::Warning);
        sim.down(2, "could not connect: refused");
        let third = sim.jump_to_reconnect();
        assert!(sim.closes.is_empty(), "the old socket is all we have");
        assert_eq!(closed(&sim.up(third)), vec![1]);
        sim.down(1, "replaced");
        sim.tick();
        assert!(
            sim.statuses.iter().all(|s| s.connected == 1),
            "{:?}",
            sim.statuses
        );
    }

    // Rule 7: too_many_websockets and link_disabled are shown, not stormed.
    #[test]
    fn a_refused_socket_is_shown_and_not_stormed() {
        for reason in [
            DisconnectReason::TooManyWebsockets,
            DisconnectReason::LinkDisabled,
        ] {
            // Slack may refuse before hello (the emulator does) or after it.
            for says_hello in [false, true] {
                let mut sim = Sim::new(&policy(2), 0.0);
                let refuse = |sim: &mut Sim, id: u64| {
                    if says_hello {
                        sim.up(id);
                    }
                    sim.disconnect(id, reason.clone());
                    sim.down(id, "refused by Slack");
                };
                for id in opened(&sim.tick()) {
                    refuse(&mut sim, id);
                }
                sim.run(Duration::from_secs(300), refuse);
                let case = format!("{reason:?}, hello {says_hello}");
                // At 0 s, 120 s and 240 s: one attempt per refused_wait, no storm.
                assert_eq!(sim.opens.len(), 3, "{case}: {:?}", sim.opens);
                for pair in sim.opens.windows(2) {
                    assert!(pair[1].1 - pair[0].1 >= Duration::from_secs(120), "{case}");
                }
                let problem = sim.status().problem.clone().unwrap_or_default();
                let shown = match reason {
                    DisconnectReason::TooManyWebsockets => "too many websockets",
                    _ => "link_disabled",
                };
                assert!(problem.contains(shown), "{case}: {problem:?}");
                assert!(
                    sim.status().reconnect_at.is_some(),
                    "{case}: the wait is shown"
                );
            }
        }
    }

    #[test]
    fn a_refused_app_token_is_shown_as_a_problem() {
        let mut sim = Sim::new(&policy(1), 0.0);
        let id = opened(&sim.tick())[0];
        sim.down(id, "apps.connections.open: invalid_auth");
        sim.tick();
        let problem = sim.status().problem.clone().unwrap_or_default();
        assert!(problem.contains("invalid_auth"), "{problem:?}");
        // Still retried, with backoff: the lead may fix the token meanwhile.
        let id = sim.jump_to_reconnect();
        sim.up(id);
        sim.tick();
        assert_eq!(sim.status().problem, None, "a hello clears it");
    }

    #[test]
    fn the_gap_since_every_socket_went_down_is_reported_when_one_comes_back() {
        let mut sim = Sim::new(&policy(1), 0.0);
        let id = opened(&sim.tick())[0];
        sim.up(id);
        assert_eq!(
            sim.gaps,
            vec![f64::NEG_INFINITY],
            "the first hello: no gap yet"
        );
        sim.at = Duration::from_secs(10);
        sim.down(id, "socket error: reset");
        let id = opened(&sim.tick())[0];
        sim.at += Duration::from_secs(1);
        sim.down(id, "could not connect: refused");
        let id = sim.jump_to_reconnect();
        sim.at = Duration::from_secs(14);
        sim.up(id);
        assert_eq!(sim.gaps, vec![f64::NEG_INFINITY, WALL0 + 10.0]);
    }

    #[test]
    fn a_socket_lost_while_another_is_up_is_no_gap() {
        let mut sim = healthy(2);
        sim.down(1, "socket error: reset");
        let id = opened(&sim.tick())[0];
        sim.up(id);
        assert!(sim.gaps.is_empty(), "{:?}", sim.gaps);
    }

    #[test]
    fn a_socket_silent_while_another_delivers_is_replaced() {
        let mut sim = healthy(2);
        let mute_after = Duration::from_secs(120);
        // Connection 2 opened at 0.2 s; connection 1 delivers every second.
        let opened_2 = TICK;
        while sim.at < opened_2 + mute_after {
            sim.at += Duration::from_secs(1);
            sim.envelope(1);
            let cmds = sim.tick();
            let quiet = sim.at - opened_2;
            if quiet <= mute_after {
                assert!(opened(&cmds).is_empty(), "replaced after only {quiet:?}");
            } else {
                assert_eq!(opened(&cmds), vec![3]);
            }
        }
        assert_eq!(sim.opens.len(), 3, "one replacement");
        assert_near(sim.gaps.last(), WALL0 + opened_2.as_secs_f64());
        assert_eq!(
            closed(&sim.up(3)),
            vec![2],
            "the muted one goes once the new one is up"
        );
        assert_eq!(sim.probes, 0, "one socket delivers: no need to ask");
    }

    #[test]
    fn every_socket_quiet_asks_for_a_probe_and_busy_replaces_them_all() {
        let mut sim = healthy(2);
        sim.run(Duration::from_secs(121), |_, id| panic!("replaced {id}"));
        assert_eq!(sim.probes, 1, "asked once");
        sim.run(Duration::from_secs(100), |_, id| panic!("replaced {id}"));
        assert_eq!(sim.probes, 1, "not again before mute_after");
        let cmds = sim.probe_busy();
        assert_eq!(opened(&cmds), vec![3, 4]);
        // From the oldest socket's last sign of life: connection 1, opened at 0 s.
        assert_near(sim.gaps.last(), WALL0);
        assert_eq!(closed(&sim.up(3)), vec![1, 2]);
        assert!(closed(&sim.up(4)).is_empty(), "closed once");
    }

    // The policy divides its waits by the time scale (tests and the emulator run fast).
    #[test]
    fn the_time_scale_divides_the_waits() {
        let mut sim = Sim::scaled(&policy(1), 10.0, 0.0);
        let id = opened(&sim.tick())[0];
        sim.down(id, "could not connect: refused");
        assert_eq!(sim.wait(), Duration::from_millis(50));
        let id = sim.jump_to_reconnect();
        sim.disconnect(id, DisconnectReason::TooManyWebsockets);
        sim.down(id, "refused by Slack");
        assert_eq!(sim.wait(), Duration::from_secs(12));
    }
}
