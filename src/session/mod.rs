//! What the dashboard and `tail` both own: the store, the desk it restores, and the one
//! path from what the Slack client delivers to the desk (record, translate, apply,
//! follow). Built from the store before the network is up; Slack joins it later.

mod team;

pub use team::target as bus_target;

use crate::company::{self, Company};
use crate::config::Settings;
use crate::domain::{Desk, Input, Lifecycle, LifecycleKind, SwarmId, Ts, asks};
use crate::slack::{
    self, Connected, Identity, Incoming, Resume, SlackConfig, record, translate::Translator, wire,
};
use crate::store::{Feed, Indexed, Store, Write, Writer};
use color_eyre::eyre::{Result, WrapErr};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// The desk and everything that feeds it.
pub struct Session {
    settings: Arc<Settings>,
    pub desk: Desk,
    /// Who the bot is: as the store remembers it until Slack says.
    pub(crate) identity: Option<Identity>,
    /// `None` only before the first connection ever (nothing to translate yet).
    translator: Option<Translator>,
    pub(crate) store: Option<Stored>,
    /// The client's followed threads, once connected.
    threads: Option<Box<dyn Follow>>,
    /// Configured pod channels the bot is not in.
    pub(crate) missing: Vec<String>,
    /// Where a previous run left off, for the connection to resume from.
    resume: Resume,
    /// With `Replay::Events`, what the stored history held (see [`Session::take_backlog`]).
    backlog: Vec<Lifecycle>,
    /// What this process is to the others on its store (`dashboard`, `tail`).
    kind: &'static str,
    /// Where the store's feed stood before the desk was restored: what other processes
    /// store after that is ingested from the feed.
    feed_from: i64,
    /// The app's other consumers, as the last hello counted them.
    company: Company,
    /// The client's split flag, once connected.
    split: Option<slack::Split>,
    /// The last hello's count, until it is settled.
    hello: Option<Hello>,
    /// The team bus, when one is configured (and the workspace known).
    team: Option<team::Team>,
    /// Sockets this process held at its last beat.
    connections: u32,
    /// Connections at the last hello that are neither ours nor a bus publisher's.
    outside_bus: u32,
    /// How far this process knows its history complete (µs): the last gap fill, carried
    /// on by the team bus while it covered everything since.
    covered_through: Option<i64>,
    /// Clicks heard, waiting to be read against the desk (see [`Session::take_replies`]);
    /// a `tail` keeps none: it keeps the click in the store, where a dashboard finds it.
    clicks: Vec<PendingClick>,
    /// Resolved swarms whose threads are still followed, oldest resolution first.
    lingering: VecDeque<(Ts, SwarmId)>,
}

/// A click, and when it may be answered: from `from` (µs) until `until`.
struct PendingClick {
    click: asks::Click,
    from: i64,
    until: i64,
}

/// How long a click heard over the team bus waits for the dashboard of the machine that
/// received it to answer.
const BUS_CLICK_GRACE_US: i64 = 15_000_000;
/// How long a click on an ask not known yet is read again.
const CLICK_PATIENCE_US: i64 = 600_000_000;

/// What a dashboard calls itself to the others on its store.
const DASHBOARD: &str = "dashboard";

/// A hello's count of the app's connections.
struct Hello {
    app_connections: u32,
    ours: u32,
    at: Ts,
}

/// How long after a hello its count is weighed against the store's heartbeats.
const SETTLE_US: i64 = 1_000_000;

/// The threads the gap fill re-reads after a gap: the client's [`slack::Threads`]. A
/// seam, so that what a session follows can be checked without a connection.
trait Follow: Send {
    fn follow(&self, channel: &str, thread_ts: &str);
    fn unfollow(&self, channel: &str, thread_ts: &str);
}

impl Follow for slack::Threads {
    fn follow(&self, channel: &str, thread_ts: &str) {
        slack::Threads::follow(self, channel, thread_ts)
    }

    fn unfollow(&self, channel: &str, thread_ts: &str) {
        slack::Threads::unfollow(self, channel, thread_ts)
    }
}

impl Session {
    /// Opens the store and rebuilds the desk from it; with a store never connected, the
    /// desk starts empty and the first connection fills it. A store that cannot be opened,
    /// or is damaged, is an error naming it and the fix (see [`Stored::open`]).
    pub fn restore(settings: Arc<Settings>, now: Ts, replay: Replay) -> Result<Session> {
        let store = Stored::open(&settings)?;
        Ok(Session::from_store(settings, Some(store), now, replay))
    }

    /// Why the store takes no writes now (they are kept and retried, and moves wait).
    pub(crate) fn store_trouble(&self) -> Option<crate::store::Trouble> {
        self.store.as_ref().and_then(|s| s.writer.trouble())
    }

    /// [`Session::restore`] on a store opened already (or none: nothing is kept).
    pub fn from_store(
        settings: Arc<Settings>,
        store: Option<Stored>,
        now: Ts,
        replay: Replay,
    ) -> Session {
        // Before the replay: an event stored while it runs is read from the feed too
        // (twice is harmless; never is not).
        let feed_from = store
            .as_ref()
            .and_then(|s| s.store.feed_end().ok())
            .unwrap_or(0);
        let restored = store.as_ref().and_then(|s| {
            restore(&settings, &s.store, now, replay).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not read the store; starting from Slack");
                None
            })
        });
        let mut session = Session {
            desk: Desk::new(settings.desk(), Vec::new()),
            settings,
            identity: None,
            translator: None,
            store,
            threads: None,
            missing: Vec::new(),
            resume: Resume::default(),
            backlog: Vec::new(),
            clicks: Vec::new(),
            lingering: VecDeque::new(),
            kind: match replay {
                Replay::State => DASHBOARD,
                Replay::Events => "tail",
            },
            feed_from,
            company: Company::default(),
            split: None,
            hello: None,
            team: None,
            connections: 0,
            outside_bus: 0,
            covered_through: None,
        };
        if let Some(r) = restored {
            session.desk = r.desk;
            session.identity = Some(r.identity);
            session.translator = Some(r.translator);
            session.missing = r.missing;
            session.resume = r.resume;
            session.backlog = r.lifecycle;
            for click in &r.clicks {
                session.on_click(click, &slack::Source::Store, now);
            }
        }
        // Known from the store: the bus is read while Slack connects.
        session.start_bus();
        session
    }

    /// The Slack client's settings, resuming where the store left off.
    pub(crate) fn slack_config(&self) -> Result<SlackConfig> {
        let mut config = self.settings.slack()?;
        config.resume = self.resume.clone();
        config.covered = self.bus_cover();
        // A flood waits on disk beside the store rather than in memory.
        config.spill_dir = self.store.as_ref().map(|_| self.settings.data_dir.clone());
        Ok(config)
    }

    /// Connects (waiting for Slack, so that a bad token is said plainly) and takes the
    /// connection in; the caller listens to its updates.
    pub(crate) async fn connect(&mut self) -> Result<Connected> {
        let connected = slack::connect(self.slack_config()?)
            .await
            .wrap_err_with(|| format!("could not connect to Slack at {}", self.settings.api_url))?;
        self.on_connected(&connected, Ts::from_datetime(chrono::Utc::now()));
        Ok(connected)
    }

    /// Whether the store's writer is behind a flood: the loops then leave Slack's events
    /// in the client's spill until it catches up, so memory stays bounded.
    pub fn store_behind(&self) -> bool {
        self.store.as_ref().is_some_and(|s| s.writer.behind())
    }

    /// What the stored history held, once (with `Replay::Events`): for a consumer to put
    /// out those it has not yet, before anything live.
    pub(crate) fn take_backlog(&mut self) -> Vec<Lifecycle> {
        std::mem::take(&mut self.backlog)
    }

    /// Slack is up: keep who and where we are, add the pods found since, name the
    /// channels, and follow every open swarm's thread for the gap fill.
    pub fn on_connected(&mut self, connected: &Connected, now: Ts) {
        if let Some(s) = &self.store {
            remember_connection(&s.writer, connected);
        }
        self.split = Some(connected.coverage.clone());
        connected.coverage.set(self.company.is_split());
        let channels: Vec<(String, String)> = connected
            .channels
            .iter()
            .map(|c| slack::translate::channel_name(&c.id, &c.name))
            .collect();
        self.joined(
            &connected.identity,
            channels,
            Box::new(connected.threads.clone()),
            now,
        );
    }

    /// [`Session::on_connected`] past what only a live client has.
    fn joined(
        &mut self,
        identity: &Identity,
        channels: Vec<(String, String)>,
        threads: Box<dyn Follow>,
        now: Ts,
    ) {
        let (pods, missing) = self.settings.pods(&channels);
        for channel in &missing {
            tracing::warn!(channel, "a configured pod channel the bot is not in");
        }
        for pod in pods {
            self.desk.add_pod(pod);
        }
        for (id, name) in channels {
            self.desk.apply(Input::ChannelNamed { id, name }, now);
        }
        self.missing = missing;
        self.translator = Some(Translator::new(identity).trusting(&self.settings.peer_bots()));
        self.identity = Some(identity.clone());
        self.start_bus();
        let recent = |s: &&crate::domain::Swarm| {
            s.resolved_at
                .is_some_and(|at| now.0 - at.0 < LINGER_US && !s.is_open())
        };
        for s in self.desk.swarms().filter(|s| s.is_open() || recent(s)) {
            threads.follow(&s.channel, &s.thread_ts.to_string());
            if let Some(at) = s.resolved_at.filter(|_| !s.is_open()) {
                self.lingering.push_back((at, s.id()));
            }
        }
        self.lingering.make_contiguous().sort_by_key(|(at, _)| *at);
        self.threads = Some(threads);
    }

    /// One delivered event: kept in the store, translated, applied to the desk, its
    /// swarm's thread followed (opened, reopened) or left (resolved, withdrawn), and a
    /// resolved swarm it touched indexed for search. Returns what happened to the swarms,
    /// for the caller to ring or print.
    pub fn ingest(&mut self, incoming: &Incoming, now: Ts) -> Vec<Lifecycle> {
        if let (Some(s), true) = (&self.store, worth_recording(incoming)) {
            record_at(&s.writer, incoming, now);
        }
        self.publish(incoming);
        let Some(translator) = &self.translator else {
            // Events come from a connection, and a connection brings the translator.
            tracing::warn!("an event before any connection was kept but not applied");
            return Vec::new();
        };
        let mut touched = Vec::new();
        let mut events = Vec::new();
        for input in translator.translate(&incoming.event) {
            if let Input::Click(click) = &input {
                self.on_click(click, &incoming.source, now);
                continue;
            }
            if let Input::Message(m) = &input {
                touched.push(SwarmId::new(m.channel.clone(), m.thread()));
            }
            events.extend(self.desk.apply(input, now));
        }
        if let Some(threads) = &self.threads {
            follow(threads.as_ref(), &events, &mut self.lingering);
            // Threads resolved long enough ago (and not reopened) are left.
            while let Some((at, id)) = self.lingering.front() {
                if now.0 - at.0 < LINGER_US {
                    break;
                }
                if self.desk.by_id(id).is_none_or(|s| !s.is_open()) {
                    threads.unfollow(&id.channel, &id.thread_ts.to_string());
                }
                self.lingering.pop_front();
            }
        }
        // Resolved now, or resolved already and written to again: the resolution can come
        // after the reaction that resolved the swarm, and search must hold what it says.
        touched.extend(
            events
                .iter()
                .filter(|e| matches!(e.kind, LifecycleKind::Resolved { .. }))
                .map(Lifecycle::swarm),
        );
        touched.sort_unstable();
        touched.dedup();
        for id in touched {
            if self.desk.by_id(&id).is_some_and(|s| !s.is_open()) {
                self.index(&id);
            }
        }
        events
    }

    /// A click, read against the desk: an answer to post, or logged and dropped. Only a
    /// dashboard answers. It answers at once what Slack delivered to this machine (its
    /// own sockets, or another process's on its store, which the store's claims keep to
    /// one); a click heard over the team bus was received on another machine, whose
    /// dashboard answers it, so here it waits a while and is answered only if nobody
    /// has. A click on an ask not known yet (its marker still on its way) is read again
    /// as the desk learns more, for a while.
    fn on_click(&mut self, click: &asks::Click, source: &slack::Source, now: Ts) {
        if self.kind != DASHBOARD {
            return;
        }
        let wait = match source {
            slack::Source::Bus => BUS_CLICK_GRACE_US,
            _ => 0,
        };
        self.clicks.push(PendingClick {
            click: click.clone(),
            from: now.0 + wait,
            until: now.0 + wait + CLICK_PATIENCE_US,
        });
    }

    /// The experts' answers the clicks heard so far make now, read against the desk as
    /// it stands; a click that is not for now waits, one that changes nothing goes.
    pub(crate) fn take_replies(&mut self, now: Ts) -> Vec<asks::Reply> {
        let mut replies = Vec::new();
        let desk = &self.desk;
        self.clicks.retain(|p| {
            if now.0 < p.from {
                return true;
            }
            match asks::read(desk, &p.click) {
                Ok(reply) => {
                    tracing::info!(ask = reply.ask, expert = reply.expert, choice = ?reply.choice, "an expert answered");
                    replies.push(reply);
                    false
                }
                Err(why) if why.may_come() && now.0 < p.until => true,
                // A second click, or the same click heard again, is no news.
                Err(why @ asks::Refused::AlreadyAnswered(_)) => {
                    tracing::debug!(user = p.click.user, why = %why, "a click changed nothing");
                    false
                }
                Err(why) => {
                    tracing::warn!(user = p.click.user, action_id = p.click.action_id, why = %why, "refused a click");
                    false
                }
            }
        });
        replies
    }

    /// Watches the store for what the other processes on it receive (see [`Feed`]).
    pub(crate) fn watch_store(&self) -> Option<Feed> {
        let s = self.store.as_ref()?;
        Feed::watch(&self.settings.data_dir, s.writer.origin(), self.feed_from)
            .inspect_err(|e| tracing::warn!(error = %e, "cannot watch the store: what other processes on it receive is not shown"))
            .ok()
    }

    /// An event another process on this store received, as it stored it: applied like
    /// one of ours (the desk dedupes what both received), not stored again.
    pub fn ingest_stored(&mut self, json: &str, now: Ts) -> Vec<Lifecycle> {
        let Some(event) = record::stored(json) else {
            tracing::warn!("skipped an event from the store that does not parse");
            return Vec::new();
        };
        let incoming = Incoming {
            event,
            event_id: None,
            source: slack::Source::Store,
            received_at: std::time::Instant::now(),
        };
        self.ingest(&incoming, now)
    }

    /// This process is alive and holds `connections` sockets: for the others on the
    /// store, which count them as their own company rather than as a split.
    pub(crate) fn beat(&mut self, connections: u32, now: Ts) {
        if let Some(s) = &self.store {
            s.writer.send(Write::Beat {
                kind: self.kind,
                connections,
                at: now.secs(),
            });
        }
        self.connections = connections;
        self.flush_position();
        self.beat_bus(connections, now);
    }

    /// A hello counted the app's connections; who else is there is settled a moment
    /// later ([`Session::settle_company`]), once a neighbour that connected at the same
    /// time has said so in its heartbeat.
    pub(crate) fn on_company(&mut self, app_connections: u32, ours: u32, now: Ts) {
        self.hello = Some(Hello {
            app_connections,
            ours,
            at: now,
        });
    }

    /// Who else consumes the app, by the last hello and the store's heartbeats (a
    /// second later). A change is logged and returned, for the caller to show; the
    /// client stops trusting live events for coverage while split.
    pub(crate) fn settle_company(&mut self, now: Ts) -> Option<company::Change> {
        let hello = self
            .hello
            .as_ref()
            .filter(|h| now.0 - h.at.0 >= SETTLE_US)?;
        let (app_connections, ours) = (hello.app_connections, hello.ours);
        self.hello = None;
        let neighbours = match &self.store {
            Some(s) => s
                .store
                .neighbours(
                    s.writer.origin(),
                    now.secs() - crate::store::BEAT_STALE_SECS,
                )
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not read who shares the store");
                    Vec::new()
                }),
            None => Vec::new(),
        };
        // The team bus's publishers share what they receive too (once each: a process on
        // this store and on the bus is one neighbour).
        let bus_peers = self.bus_peers(now);
        // What the bus lacks: connections that are neither ours nor a publisher's (a
        // process on this store that does not publish takes events the bus never gets).
        let publishing: u32 = bus_peers.iter().map(|n| n.connections).sum();
        self.outside_bus = app_connections.saturating_sub(ours.saturating_add(publishing));
        let mut neighbours = neighbours;
        for peer in bus_peers {
            if !neighbours.iter().any(|n| n.id == peer.id) {
                neighbours.push(peer);
            }
        }
        let shared = neighbours.len();
        let change = self.company.on_hello(app_connections, ours, neighbours);
        if let Some(split) = &self.split {
            split.set(self.company.is_split());
        }
        // Whether this process covers the bus may have changed: say so now.
        self.beat_bus(self.connections, now);
        // `tail` logs to stderr: this is also how it tells its user, once per change.
        match &change {
            Some(company::Change::Split { others }) => tracing::warn!(
                app_connections,
                ours,
                shared,
                "{}",
                company::warning(*others)
            ),
            Some(company::Change::Whole) => tracing::warn!(
                app_connections,
                ours,
                shared,
                "no other consumers on this Slack app now: live events are whole again"
            ),
            None => {}
        }
        change
    }

    /// The app's other consumers, as the last hello counted them.
    pub fn company(&self) -> &Company {
        &self.company
    }

    /// What the directory learned (names, experts, presence) into the desk; names are
    /// kept too, so that `report` can name people offline.
    pub(crate) fn learn(&mut self, input: Input, now: Ts) {
        if let (Input::UserNamed { user, name }, Some(s)) = (&input, &self.store) {
            s.writer.send(Write::Person {
                id: user.clone(),
                name: name.clone(),
            });
        }
        self.desk.apply(input, now);
    }

    /// History past the retention goes, off the start-up path; open swarms stay
    /// whatever their age.
    pub(crate) fn purge_in_background(&self, now: Ts) {
        if self.store.is_none() {
            return;
        }
        let keep = open_threads(&self.desk);
        let before = now.secs() - self.settings.retention().as_secs() as i64;
        let dir = self.settings.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            match Store::open(&dir).and_then(|s| s.purge(before, &keep)) {
                Ok(p) => tracing::info!(
                    events = p.events,
                    resolved = p.resolved,
                    "purged old history"
                ),
                Err(e) => tracing::warn!(error = %e, "could not purge old history"),
            }
        });
    }

    /// Resolved swarms not in the search index yet (resolved while no dashboard ran).
    pub(crate) fn index_resolved(&self) {
        let Some(s) = &self.store else { return };
        let known = s.store.indexed().unwrap_or_default();
        self.desk
            .swarms()
            .filter(|sw| !sw.is_open() && !known.contains(&(sw.channel.clone(), sw.thread_ts.0)))
            .for_each(|sw| self.index(&sw.id()));
    }

    /// A resolved swarm into the search index (again, when what it says changed).
    pub(crate) fn index(&self, id: &SwarmId) {
        let (Some(s), Some(swarm)) = (&self.store, self.desk.by_id(id)) else {
            return;
        };
        let team_url = self.identity.as_ref().map_or("", |i| i.url.as_str());
        let doc = indexed(&self.desk, swarm, team_url);
        s.writer.send(Write::Index(Box::new(doc)));
    }

    /// A gap fill finished: history is complete up to `through_us` (see [`Update::Covered`]).
    ///
    /// [`Update::Covered`]: slack::Update::Covered
    pub fn on_covered(&mut self, through_us: i64) {
        self.covered_through = Some(through_us);
        if let Some(s) = &self.store {
            record_covered(&s.writer, through_us);
        }
    }
}

/// How often a process tells the others on its store that it is alive.
pub(crate) const BEAT_EVERY: Duration = Duration::from_secs(5);

/// The next word from an optional receiver; never, without one.
pub(crate) async fn next_said<T>(
    rx: &mut Option<tokio::sync::mpsc::UnboundedReceiver<T>>,
) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The feed's next batch; never, without a feed.
pub(crate) async fn next_stored(feed: &mut Option<Feed>) -> Option<Vec<String>> {
    match feed {
        Some(f) => f.next().await,
        None => std::future::pending().await,
    }
}

/// Whether a delivery goes into the store: not what another process on it stored
/// already, and not a reaction of ours made from Slack's answer — its time is ours, not
/// Slack's, so Slack's echo would be a second record (a message's is the same record).
fn worth_recording(incoming: &Incoming) -> bool {
    match incoming.source {
        slack::Source::Store => false,
        slack::Source::Landed => matches!(incoming.event, wire::Event::Message(_)),
        _ => true,
    }
}

/// Open swarms' threads are followed, so that a gap fill reads their replies even
/// before the first reply makes them threads; closed ones are left, as every followed
/// thread costs a history call per gap fill.
/// A resolved swarm's thread is followed a while longer: the requester's "it is back"
/// or "thanks" in the minutes after a resolution, posted while the connection was down,
/// is only found by reading the thread (a channel's history lists a thread by its root).
fn follow(threads: &dyn Follow, events: &[Lifecycle], lingering: &mut VecDeque<(Ts, SwarmId)>) {
    for e in events {
        let ts = e.thread_ts.to_string();
        match e.kind {
            LifecycleKind::SwarmOpened { .. } | LifecycleKind::Reopened { .. } => {
                threads.follow(&e.channel, &ts)
            }
            LifecycleKind::Resolved { .. } => lingering.push_back((e.at, e.swarm())),
            LifecycleKind::Withdrawn => threads.unfollow(&e.channel, &ts),
            _ => {}
        }
    }
}

/// How long a resolved swarm's thread stays followed (see [`follow`]): each followed
/// thread costs a history call per gap fill, so not for long.
const LINGER_US: i64 = 30 * 60 * 1_000_000;

/// The store, read and written.
pub struct Stored {
    pub store: Store,
    pub writer: Writer,
}

impl Drop for Stored {
    /// A process leaving says so, so that the others stop counting its connections.
    fn drop(&mut self) {
        self.writer.send(Write::Gone);
        if !self.writer.flush()
            && let Some(trouble) = self.writer.trouble()
        {
            // After the screen is gone: the lead must know held moves were never sent.
            eprintln!(
                "swarmdeck: {trouble}: what it had not written is lost — the events come back from Slack's history at the next start; moves it held were not sent, take them again"
            );
        }
    }
}

impl Stored {
    /// Opens the store and reads it whole first. Neither the dashboard nor `tail` runs
    /// without one: a move is stored before it is sent (crash safety) and `tail` prints
    /// each event once by its claims, neither of which holds without a store — and a
    /// damaged store does not mend itself. So a store that cannot be opened, or fails
    /// `PRAGMA quick_check`, is an error naming the file and the fix (move it aside: the
    /// next start rebuilds it from Slack), said once at start rather than in a header
    /// for as long as the lead runs without history.
    pub fn open(settings: &Settings) -> Result<Stored> {
        let store = Store::open(&settings.data_dir)?;
        store.check()?;
        let writer = Writer::spawn(&settings.data_dir)?;
        Ok(Stored { store, writer })
    }
}

/// The desk as the store left it, before the network is up.
pub struct Restored {
    pub identity: Identity,
    pub translator: Translator,
    pub desk: Desk,
    pub missing: Vec<String>,
    pub resume: Resume,
    /// Stored events replayed.
    pub events: usize,
    /// With `Replay::Events`, the lifecycle events the stored history holds, for a
    /// consumer to put out those it has not yet (its claims say which).
    pub lifecycle: Vec<Lifecycle>,
    /// The clicks stored, to read against the restored desk.
    pub clicks: Vec<asks::Click>,
}

/// How the store is replayed into the desk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Quietly: the dashboard shows state, and rings for what is new.
    State,
    /// Keeping the lifecycle events the history implies (`tail`: a consumer must see
    /// every event, including those another process stored while it was not running).
    /// The same bulk fold as `State`: a long thread restores in one pass either way.
    Events,
}

/// Rebuilds the desk from the store: `None` when the store has never been connected.
/// (Also `report` and `purge`, which need the desk but no session.)
pub fn restore(
    settings: &Settings,
    store: &Store,
    now: Ts,
    replay: Replay,
) -> Result<Option<Restored>> {
    let Some(identity) = store
        .meta("identity")?
        .and_then(|j| serde_json::from_str::<Identity>(&j).ok())
    else {
        return Ok(None);
    };
    let named = |channels: Vec<(String, String)>| -> Vec<(String, String)> {
        channels
            .iter()
            .map(|(id, name)| slack::translate::channel_name(id, name))
            .collect()
    };
    let channels = named(store.channels()?);
    // Pods by the names their channels had when first seen: a rename in Slack relabels
    // a pod, it does not make it another.
    let (pods, missing) = settings.pods(&named(store.first_names()?));
    let mut desk = Desk::new(settings.desk(), pods);
    for (id, name) in &channels {
        desk.apply(
            Input::ChannelNamed {
                id: id.clone(),
                name: name.clone(),
            },
            now,
        );
    }
    let translator = Translator::new(&identity).trusting(&settings.peer_bots());
    let started = std::time::Instant::now();
    let mut unreadable = 0;
    let mut inputs = Vec::new();
    let events = store.each_event(|json| {
        let Some(event) = record::stored(json) else {
            unreadable += 1;
            return;
        };
        // Folded in one go below: each thread is derived once, not once per message.
        inputs.extend(translator.translate(&event));
    })?;
    if unreadable > 0 {
        tracing::warn!(
            unreadable,
            "stored events that no longer parse were skipped"
        );
    }
    let read = started.elapsed();
    // Clicks are read against the desk the rest makes: one still unanswered (received
    // while no dashboard ran, or just before this one stopped) is answered now.
    let (clicks, inputs): (Vec<Input>, Vec<Input>) = inputs
        .into_iter()
        .partition(|i| matches!(i, Input::Click(_)));
    let implied = desk.restore(inputs, now);
    let clicks = clicks
        .into_iter()
        .filter_map(|i| match i {
            Input::Click(c) => Some(c),
            _ => None,
        })
        .collect();
    let lifecycle = match replay {
        Replay::State => Vec::new(),
        Replay::Events => implied,
    };
    let resume = Resume {
        high_water: resume_points(store)?,
        covered_through: store.meta(COVERED)?.and_then(|v| v.parse::<i64>().ok()),
        threads: desk
            .swarms()
            .filter(|s| s.is_open() || s.resolved_at.is_some_and(|at| now.0 - at.0 < LINGER_US))
            .map(|s| (s.channel.clone(), s.thread_ts.to_string()))
            .collect(),
        event_ids: store.seen_events(now.secs() - 3_600)?,
    };
    tracing::info!(
        events,
        swarms = desk.swarms().count(),
        read_ms = read.as_secs_f64() * 1e3,
        total_ms = started.elapsed().as_secs_f64() * 1e3,
        "restored from the store"
    );
    Ok(Some(Restored {
        identity,
        translator,
        desk,
        missing,
        resume,
        events,
        lifecycle,
        clicks,
    }))
}

/// Keeps who the bot is and which channels it is in, so a restart knows its pods offline.
/// (`pub` for the dashboard until it moves to [`Session::on_connected`].)
pub fn remember_connection(writer: &Writer, connected: &Connected) {
    if let Ok(identity) = serde_json::to_string(&connected.identity) {
        writer.send(Write::Meta {
            key: "identity".into(),
            value: identity,
        });
    }
    for c in &connected.channels {
        writer.send(Write::Channel {
            id: c.id.clone(),
            name: c.name.clone(),
        });
    }
}

/// The meta key of the wall-clock time (µs) up to which stored history is complete.
const COVERED: &str = "covered_through";

/// Where each channel's history resumes: its newest stored message, but never past the
/// last finished gap fill. Live events overtake a fill: a run killed before its fill
/// finished has stored newer messages than the history it has read, and resuming from
/// those would skip the rest for good. No finished fill yet: read the whole lookback.
fn resume_points(store: &Store) -> Result<std::collections::HashMap<String, i64>> {
    let covered = store.meta(COVERED)?.and_then(|v| v.parse::<i64>().ok());
    let Some(covered) = covered else {
        return Ok(Default::default());
    };
    let mut points = store.high_water()?;
    for hw in points.values_mut() {
        *hw = (*hw).min(covered);
    }
    Ok(points)
}

/// Keeps how far history is complete (see [`resume_points`]): written after the
/// events that made it so, through the same writer, so it is never ahead of them.
/// (`pub` for the dashboard until it moves to [`Session::on_covered`].)
pub fn record_covered(writer: &Writer, through_us: i64) {
    writer.send(Write::Meta {
        key: COVERED.into(),
        value: through_us.to_string(),
    });
}

/// Keeps an event the client delivered: the event as received, and its id for the
/// dedupe window. (The dashboard moves to [`Session::ingest`]; then this goes.)
pub fn record(writer: &Writer, incoming: &Incoming) {
    record_at(writer, incoming, Ts::from_datetime(chrono::Utc::now()));
}

fn record_at(writer: &Writer, incoming: &Incoming, now: Ts) {
    for row in record::rows(incoming, now.secs()) {
        writer.send(row);
    }
}

/// A resolved swarm, for search: its request, its thread, its resolution, its link.
pub fn indexed(desk: &Desk, swarm: &crate::domain::Swarm, team_url: &str) -> Indexed {
    let mut body = String::new();
    for m in desk.thread(&swarm.channel, swarm.thread_ts) {
        let text = if m.block_texts.is_empty() {
            m.text.clone()
        } else {
            m.block_texts.join("\n")
        };
        if body.len() + text.len() > 20_000 {
            break;
        }
        body.push_str(&text);
        body.push('\n');
    }
    Indexed {
        channel: swarm.channel.clone(),
        thread_ts: swarm.thread_ts.0,
        resolved_at: swarm.resolved_at.unwrap_or(swarm.last_activity).secs(),
        case: swarm.case().to_string(),
        pod: swarm.pod.clone(),
        subject: swarm.request.subject.clone(),
        body,
        resolution: swarm.resolution.clone().unwrap_or_default(),
        link: permalink(team_url, &swarm.channel, swarm.thread_ts),
    }
}

/// A message's link, as Slack forms it: `<team url>archives/<channel>/p<ts without the dot>`.
pub fn permalink(team_url: &str, channel: &str, ts: Ts) -> String {
    let base = team_url.trim_end_matches('/');
    format!(
        "{base}/archives/{channel}/p{}",
        ts.to_string().replace('.', "")
    )
}

/// Removes history older than `older`, keeping open swarms' threads whatever their age.
pub fn purge(settings: &Settings, older: std::time::Duration) -> Result<crate::store::Purged> {
    let store = Store::open(&settings.data_dir)?;
    let now = Ts::from_datetime(chrono::Utc::now());
    let keep = match restore(settings, &store, now, Replay::State)? {
        Some(r) => open_threads(&r.desk),
        None => Vec::new(),
    };
    store.purge(now.secs() - older.as_secs() as i64, &keep)
}

/// The open swarms' threads (channel, ts µs): a purge keeps them whatever their age.
fn open_threads(desk: &Desk) -> Vec<(String, i64)> {
    desk.swarms()
        .filter(|s| s.is_open())
        .map(|s| (s.channel.clone(), s.thread_ts.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::Source;
    use serde_json::{Value, json};
    use std::sync::Mutex;

    const POD: &str = "C0SWARMAPI";
    const BOT: &str = "U0SWARMBOT";

    /// What a session asked the gap fill to follow, in order: (channel, thread, on).
    #[derive(Clone, Default)]
    struct Followed(Arc<Mutex<Vec<(String, String, bool)>>>);

    impl Follow for Followed {
        fn follow(&self, channel: &str, thread_ts: &str) {
            self.0
                .lock()
                .unwrap()
                .push((channel.into(), thread_ts.into(), true));
        }
        fn unfollow(&self, channel: &str, thread_ts: &str) {
            self.0
                .lock()
                .unwrap()
                .push((channel.into(), thread_ts.into(), false));
        }
    }

    impl Followed {
        fn log(&self) -> Vec<(String, String, bool)> {
            self.0.lock().unwrap().clone()
        }
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("swarmdeck-session-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn identity() -> Identity {
        Identity {
            bot_user_id: BOT.into(),
            bot_id: Some("B0SWARMBOT".into()),
            team: "Acme".into(),
            team_id: "T0ACME".into(),
            url: "https://acme.slack.com/".into(),
        }
    }

    /// A session on the store in `dir` (`None`: no store), connected to a workspace
    /// whose one pod is `swarm-api`.
    fn connected(dir: Option<&std::path::Path>, replay: Replay) -> (Session, Followed) {
        let settings = Settings::demo(
            "http://127.0.0.1:9/api/",
            dir.map_or_else(|| temp_dir("none"), |d| d.to_path_buf()),
        );
        let store = dir.map(|_| Stored::open(&settings).unwrap());
        let mut session = Session::from_store(Arc::new(settings), store, now(), replay);
        let followed = join(&mut session);
        (session, followed)
    }

    /// Connects a session to the workspace, as far as a test can.
    fn join(session: &mut Session) -> Followed {
        let followed = Followed::default();
        session.joined(
            &identity(),
            vec![(POD.into(), "swarm-api".into())],
            Box::new(followed.clone()),
            now(),
        );
        followed
    }

    fn now() -> Ts {
        Ts::from_secs(1_700_000_600)
    }

    fn incoming(event: Value, event_id: Option<&str>) -> Incoming {
        Incoming {
            event: serde_json::from_value(event).unwrap(),
            event_id: event_id.map(str::to_string),
            source: Source::Live { retry_attempt: 0 },
            received_at: std::time::Instant::now(),
        }
    }

    fn request(ts: &str) -> Incoming {
        incoming(
            json!({"type": "message", "channel": POD, "user": "U0REQ00001", "ts": ts,
                   "text": "*Case number:* 27343\n*Urgency:* Sev 2\n*Subject:* Webhooks delayed"}),
            Some(&format!("Ev{ts}")),
        )
    }

    fn kinds(events: &[Lifecycle]) -> Vec<&str> {
        events.iter().map(|e| e.kind.name()).collect()
    }

    #[test]
    fn a_request_then_a_reply_open_the_swarm_then_reply_and_follow_its_thread() {
        let (mut session, followed) = connected(None, Replay::State);
        let opened = session.ingest(&request("1700000000.000100"), now());
        assert_eq!(kinds(&opened), ["swarm_opened"]);
        assert_eq!(opened[0].case.as_deref(), Some("27343"));
        let reply = incoming(
            json!({"type": "message", "channel": POD, "user": "U0EXP00001", "ts": "1700000060.000100",
                   "thread_ts": "1700000000.000100", "text": "Looking"}),
            Some("Ev2"),
        );
        let replied = session.ingest(&reply, now());
        assert!(kinds(&replied).contains(&"reply"), "{:?}", kinds(&replied));
        assert_eq!(
            followed.log(),
            [(POD.to_string(), "1700000000.000100".to_string(), true)],
            "the open swarm's thread is followed, once"
        );
    }

    #[test]
    fn a_duplicate_is_recorded_once_and_changes_nothing() {
        let dir = temp_dir("duplicate");
        let (mut session, _) = connected(Some(&dir), Replay::State);
        // The writer keeps delivered ids for an hour of wall-clock time: a live request.
        let now = Ts::from_datetime(chrono::Utc::now());
        let ts = format!("{}.000100", now.secs() - 10);
        let first = session.ingest(&request(&ts), now);
        assert_eq!(kinds(&first), ["swarm_opened"]);
        // The same message again, as a gap fill reads it: no event id this time.
        let mut again = request(&ts);
        again.event_id = None;
        again.source = Source::GapFill;
        assert!(session.ingest(&again, now).is_empty());
        let Some(stored) = &session.store else {
            panic!("a store")
        };
        stored.writer.flush();
        assert_eq!(stored.store.each_event(|_| {}).unwrap(), 1);
        assert_eq!(stored.store.seen_events(0).unwrap(), [format!("Ev{ts}")]);
        drop(session);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_resolved_swarm_is_unfollowed_once_its_linger_is_over() {
        let (mut session, followed) = connected(None, Replay::State);
        session.ingest(&request("1700000000.000100"), now());
        let resolved = session.ingest(
            &incoming(
                json!({"type": "reaction_added", "user": "U0LEAD0001", "reaction": "white_check_mark",
                       "item": {"type": "message", "channel": POD, "ts": "1700000000.000100"},
                       "event_ts": "1700000300.000100"}),
                Some("Ev3"),
            ),
            now(),
        );
        assert_eq!(kinds(&resolved), ["resolved"]);
        let thread = |on| Some((POD.to_string(), "1700000000.000100".to_string(), on));
        assert_eq!(
            followed.log().last().cloned(),
            thread(true),
            "still followed: a reply in the minutes after may come only through a gap fill"
        );
        // The next event past the linger leaves it.
        let later = now().plus_secs(LINGER_US / 1_000_000);
        session.ingest(&request("1700003000.000100"), later);
        assert!(
            followed.log().contains(&thread(false).unwrap()),
            "{:?}",
            followed.log()
        );
    }

    #[test]
    fn the_resolution_is_indexed_whichever_of_marker_and_reaction_comes_first() {
        for reaction_first in [true, false] {
            let dir = temp_dir(&format!("index-{reaction_first}"));
            let (mut session, _) = connected(Some(&dir), Replay::State);
            session.ingest(&request("1700000000.000100"), now());
            let reaction = incoming(
                json!({"type": "reaction_added", "user": "U0LEAD0001", "reaction": "white_check_mark",
                       "item": {"type": "message", "channel": POD, "ts": "1700000000.000100"},
                       "event_ts": "1700000300.000100"}),
                Some("Ev3"),
            );
            let marker = incoming(
                json!({"type": "message", "channel": POD, "user": BOT, "bot_id": "B0SWARMBOT",
                       "ts": "1700000301.000100", "thread_ts": "1700000000.000100",
                       "text": "Resolved: rotated the signing secret",
                       "metadata": {"event_type": "swarmdeck_resolved",
                                    "event_payload": {"resolution": "rotated the signing secret"}}}),
                Some("Ev4"),
            );
            let order = if reaction_first {
                [reaction, marker]
            } else {
                [marker, reaction]
            };
            for event in &order {
                session.ingest(event, now());
            }
            let Some(stored) = &session.store else {
                panic!("a store")
            };
            stored.writer.flush();
            let found = stored.store.similar("Webhooks delayed", None, 3).unwrap();
            assert_eq!(found.len(), 1, "reaction first: {reaction_first}");
            assert_eq!(
                found[0].resolution, "rotated the signing secret",
                "reaction first: {reaction_first}"
            );
            drop(session);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn a_restart_replays_the_store_and_follows_what_is_still_open() {
        let dir = temp_dir("restart");
        let (mut first, _) = connected(Some(&dir), Replay::Events);
        first.ingest(&request("1700000000.000100"), now());
        first.ingest(&request("1700000100.000100"), now());
        first.ingest(
            &incoming(
                json!({"type": "reaction_added", "user": "U0LEAD0001", "reaction": "white_check_mark",
                       "item": {"type": "message", "channel": POD, "ts": "1700000100.000100"},
                       "event_ts": "1700000300.000100"}),
                None,
            ),
            now(),
        );
        // Who the bot is and its channels come with a connection; a test has none.
        let Some(s) = &first.store else {
            panic!("a store")
        };
        s.writer.send(Write::Meta {
            key: "identity".into(),
            value: serde_json::to_string(&identity()).unwrap(),
        });
        s.writer.send(Write::Channel {
            id: POD.into(),
            name: "swarm-api".into(),
        });
        s.writer.flush();
        drop(first);

        let settings = Arc::new(Settings::demo("http://127.0.0.1:9/api/", dir.clone()));
        let mut tail = Session::restore(settings.clone(), now(), Replay::Events).unwrap();
        assert!(tail.identity.is_some(), "known before any connection");
        assert_eq!(
            kinds(&tail.take_backlog()),
            // The same request twice: the second is flagged a duplicate of the first.
            ["swarm_opened", "swarm_opened", "duplicate", "resolved"],
            "`tail` gets the stored history's events, to claim"
        );
        assert!(tail.take_backlog().is_empty(), "once");
        assert_eq!(tail.slack_config().unwrap().resume.threads.len(), 2);
        let followed = join(&mut tail);
        let mut log = followed.log();
        log.sort();
        assert_eq!(
            log,
            [
                (POD.to_string(), "1700000000.000100".to_string(), true),
                (POD.to_string(), "1700000100.000100".to_string(), true)
            ],
            "the open swarm is followed, and the one resolved minutes ago"
        );
        drop(tail);

        let mut dashboard = Session::restore(settings, now(), Replay::State).unwrap();
        assert!(
            dashboard.take_backlog().is_empty(),
            "the dashboard restores quietly"
        );
        assert_eq!(dashboard.desk.swarms().filter(|s| s.is_open()).count(), 1);
        drop(dashboard);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn configured_pods_the_bot_is_not_in_are_missing_until_it_is() {
        let mut settings = Settings::demo("http://127.0.0.1:9/api/", temp_dir("missing"));
        settings.file = toml::from_str("[[pods]]\nchannel = \"swarm-api\"\n").unwrap();
        let mut session = Session::from_store(Arc::new(settings), None, now(), Replay::State);
        session.joined(
            &identity(),
            Vec::new(),
            Box::new(Followed::default()),
            now(),
        );
        assert_eq!(session.missing, ["swarm-api"]);
        assert!(session.identity.is_some());
        session.joined(
            &identity(),
            vec![(POD.into(), "swarm-api".into())],
            Box::new(Followed::default()),
            now(),
        );
        assert!(session.missing.is_empty());
        assert!(session.desk.pod(POD).is_some());
    }

    fn message(channel: &str, ts: &str) -> Write {
        let event: wire::Event = serde_json::from_value(serde_json::json!({
            "type": "message", "channel": channel, "user": "U0REQ00001", "ts": ts, "text": "hi"
        }))
        .unwrap();
        record::record(&event).unwrap()
    }

    #[test]
    fn history_resumes_at_the_last_finished_fill_not_past_it() {
        let dir = std::env::temp_dir().join(format!("swarmdeck-resume-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let writer = Writer::spawn(&dir).unwrap();
        // A live message at 2000 s overtook a fill that never finished.
        writer.send(message("C1", "1000.000000"));
        writer.send(message("C2", "2000.000000"));
        writer.flush();
        let store = Store::open(&dir).unwrap();
        assert!(
            resume_points(&store).unwrap().is_empty(),
            "no finished fill: the whole lookback is read again"
        );
        record_covered(&writer, 1_500_000_000);
        writer.flush();
        let points = resume_points(&store).unwrap();
        assert_eq!(
            points["C1"], 1_000_000_000,
            "a quiet channel: its newest message"
        );
        assert_eq!(points["C2"], 1_500_000_000, "never past the finished fill");
        drop(writer);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
