//! swarmdeck's Slack client: Socket Mode for live events, the Web API for everything
//! else, and a gap fill from history after any moment the sockets may have missed.
//!
//! The rest of the app consumes one ordered stream of [`Update`]s: typed Slack events,
//! each exactly once whatever happened underneath (retries, several sockets, reconnects,
//! gap fills), and connection status changes.

pub mod actions;
mod backoff;
pub mod directory;
mod gapfill;
pub mod lenient;
pub mod record;
mod seen;
pub mod socket;
mod spill;
pub mod translate;
pub mod web;
pub mod wire;

pub use backoff::Backoff;
pub use socket::{SocketPolicy, Status};
pub use web::{SlackError, Token, WebClient, WebPolicy};

use seen::Seen;
use socket::ManagerOut;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Where an event came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Socket Mode; `retry_attempt` > 0 when Slack redelivered it.
    Live { retry_attempt: u32 },
    /// Read from history to cover a gap.
    GapFill,
    /// Another swarmdeck process on this store received it (the store's feed).
    Store,
    /// One of our own moves landed: the event Slack will send for it, made from Slack's
    /// answer, so the desk need not wait for the echo.
    Landed,
    /// Another process of the team received it and published it to the team bus.
    Bus,
}

/// Whether something outside this client (the team bus) already holds what Slack
/// delivered over a span: then a gap fill need not read it from history, which Slack
/// rations.
pub trait Covered: Send + Sync + std::fmt::Debug {
    /// Whether everything Slack delivered from `from` to `to` (wall-clock seconds) is held.
    fn covers(&self, from: f64, to: f64) -> bool;
    /// Becomes true once what it holds has been read (a fill waits for that, briefly).
    fn caught_up(&self) -> tokio::sync::watch::Receiver<bool>;
}

/// One Slack event, delivered once.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub event: wire::Event,
    /// Slack's event id (live events only: history has none).
    pub event_id: Option<String>,
    pub source: Source,
    /// When swarmdeck read it: its frame off the socket, or its history page.
    pub received_at: Instant,
}

impl Incoming {
    /// One of our moves, as Slack will echo it (see [`Source::Landed`]).
    pub fn landed(event: wire::Event) -> Incoming {
        Incoming {
            event,
            event_id: None,
            source: Source::Landed,
            received_at: Instant::now(),
        }
    }

    /// Who wrote it, when it is a message (an edit's author included).
    pub fn author(&self) -> Option<&str> {
        translate::author(&self.event)
    }
}

#[derive(Clone, Debug)]
pub enum Update {
    Event(Box<Incoming>),
    Status(Status),
    /// A gap fill finished: with the events delivered before this, history is complete
    /// up to this wall-clock time (µs). Where a restart may resume reading history; the
    /// newest event stored is not, as live events overtake an unfinished fill.
    Covered {
        through_us: i64,
    },
    /// A hello counted `app_connections` connections on the app, `ours` of them this
    /// process's: more means other consumers take part of the stream.
    Company {
        app_connections: u32,
        ours: u32,
    },
}

#[derive(Clone, Debug)]
pub struct SlackConfig {
    /// The Web API base, `https://slack.com/api/` or an emulator's `<base>/api/`.
    pub api_url: String,
    pub bot_token: Token,
    pub app_token: Token,
    pub web: WebPolicy,
    pub socket: SocketPolicy,
    /// The pod channels to gap-fill, by id; `None`: every channel the bot is in.
    pub channels: Option<Vec<String>>,
    /// On the very first connection, how far back history is read.
    pub initial_lookback: Duration,
    /// How far before a gap began the gap fill starts reading (clock skew, reordering).
    pub gap_margin: Duration,
    /// Deliveries are deduplicated on event id for at least this long (Slack retries for ~6 min).
    pub dedupe_window: Duration,
    /// Where a previous run left off (from the store): the gap fill resumes there.
    pub resume: Resume,
    /// The team bus, when there is one: spans it covered are not read from history.
    pub covered: Option<Arc<dyn Covered>>,
    /// Where envelopes read faster than they are taken wait past a bound in memory (the
    /// store's folder); `None`: in memory, unbounded.
    pub spill_dir: Option<std::path::PathBuf>,
    /// Events held in memory between the sockets and the consumer (half in the channel
    /// to it, half waiting to go); past it they wait in `spill_dir`.
    pub in_memory: usize,
}

/// What a previous run knew, so that a restart catches up instead of re-reading.
#[derive(Clone, Debug, Default)]
pub struct Resume {
    /// The newest message ts (µs) stored per channel.
    pub high_water: std::collections::HashMap<String, i64>,
    /// Open swarms' threads (channel, thread ts), followed by the gap fill.
    pub threads: Vec<(String, String)>,
    /// Event ids delivered lately: a retry of one of them is still a duplicate.
    pub event_ids: Vec<String>,
    /// Up to when (µs) the store's history was complete, every channel's: where the team
    /// bus must have covered from for a restart to read no history.
    pub covered_through: Option<i64>,
}

impl SlackConfig {
    pub fn new(api_url: &str, bot_token: Token, app_token: Token) -> Self {
        Self {
            api_url: api_url.to_string(),
            bot_token,
            app_token,
            web: WebPolicy::default(),
            socket: SocketPolicy::default(),
            channels: None,
            initial_lookback: Duration::from_secs(24 * 3600),
            gap_margin: Duration::from_secs(30),
            dedupe_window: Duration::from_secs(15 * 60),
            resume: Resume::default(),
            covered: None,
            spill_dir: None,
            in_memory: 1_024,
        }
    }
}

/// Who swarmdeck is in this workspace (auth.test).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    pub bot_user_id: String,
    pub bot_id: Option<String>,
    pub team: String,
    pub team_id: String,
    pub url: String,
}

/// A live client: its identity, its channels, and the one stream of updates.
pub struct Connected {
    pub identity: Identity,
    pub channels: Vec<wire::Channel>,
    pub web: Arc<WebClient>,
    pub updates: mpsc::Receiver<Update>,
    pub threads: Threads,
    pub coverage: Split,
}

/// Tells the client whether its stream is split with other consumers: while it is, live
/// events do not count as coverage, and each probe reads history since the last finished
/// fill (see [`gapfill::Coverage`]).
#[derive(Clone)]
pub struct Split {
    coverage: Arc<Mutex<gapfill::Coverage>>,
    /// Nudges the stream to read what a split that just began hid, without waiting for
    /// the next probe.
    began: mpsc::UnboundedSender<()>,
}

impl Split {
    /// Events were lost to this process by other means (the team bus no longer holds
    /// them): history is read again from the last finished fill, now.
    pub fn missed(&self) {
        self.coverage
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .missed();
        let _ = self.began.send(());
    }

    pub fn set(&self, split: bool) {
        let mut coverage = self.coverage.lock().unwrap_or_else(|e| e.into_inner());
        let was = coverage.catch_up().is_some();
        coverage.set_split(split);
        if split && !was {
            let _ = self.began.send(());
        }
    }
}

/// Which threads the gap fill re-reads after a gap: the open swarms'. Threads with
/// replies are followed on their own; a swarm whose request has no reply yet must be
/// named here, or replies posted to it during a gap would be missed.
#[derive(Clone)]
pub struct Threads(Arc<Mutex<Seen>>);

impl Threads {
    pub fn follow(&self, channel: &str, thread_ts: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .follow(channel, thread_ts);
    }

    pub fn unfollow(&self, channel: &str, thread_ts: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unfollow(channel, thread_ts);
    }
}

/// Checks the bot token, finds the pod channels, and starts the sockets and the stream.
pub async fn connect(config: SlackConfig) -> Result<Connected, SlackError> {
    let web = web_client(&config)?;
    connect_with(web, config).await
}

/// The Web API client a connection would use (no network yet): for what must work
/// before the connection is up, such as the outbox.
pub fn web_client(config: &SlackConfig) -> Result<Arc<WebClient>, SlackError> {
    Ok(Arc::new(WebClient::new(
        &config.api_url,
        config.bot_token.clone(),
        Some(config.app_token.clone()),
        config.web.clone(),
    )?))
}

/// [`connect`] with a client made earlier, so that its rate budgets are shared.
pub async fn connect_with(
    web: Arc<WebClient>,
    config: SlackConfig,
) -> Result<Connected, SlackError> {
    let auth: wire::AuthTest = web.call("auth.test", &[]).await?;
    let identity = Identity {
        bot_user_id: auth.user_id,
        bot_id: auth.bot_id,
        team: auth.team,
        team_id: auth.team_id,
        url: auth.url,
    };
    let member_of = list_member_channels(&web).await?;
    let channels = match &config.channels {
        None => member_of,
        Some(ids) => member_of
            .into_iter()
            .filter(|c| ids.contains(&c.id))
            .collect(),
    };
    let (tx, updates) = mpsc::channel((config.in_memory / 2).max(1));
    let mut seen = Seen::new(config.dedupe_window);
    seen.resume(&config.resume);
    let seen = Arc::new(Mutex::new(seen));
    let coverage = Arc::new(Mutex::new(gapfill::Coverage::default()));
    let (began, split_began) = mpsc::unbounded_channel();
    let channel_ids: Vec<String> = channels.iter().map(|c| c.id.clone()).collect();
    tokio::spawn(run(
        web.clone(),
        config,
        channel_ids,
        seen.clone(),
        (coverage.clone(), split_began),
        tx,
    ));
    Ok(Connected {
        identity,
        channels,
        web,
        updates,
        threads: Threads(seen),
        coverage: Split { coverage, began },
    })
}

/// Every channel the bot is a member of, following the cursor.
pub async fn list_member_channels(web: &WebClient) -> Result<Vec<wire::Channel>, SlackError> {
    list_channels(web, "users.conversations").await
}

/// Every unarchived channel a listing method (`users.conversations`,
/// `conversations.list`) returns, following the cursor.
pub async fn list_channels(
    web: &WebClient,
    method: &str,
) -> Result<Vec<wire::Channel>, SlackError> {
    let params = [
        ("types", "public_channel,private_channel".to_string()),
        ("exclude_archived", "true".into()),
        ("limit", "200".into()),
    ];
    web.pages::<wire::ChannelPage>(method, &params).await
}

/// The stream: envelopes from the sockets and pages from the gap fill, deduplicated,
/// out as one sequence of updates.
async fn run(
    web: Arc<WebClient>,
    config: SlackConfig,
    channels: Vec<String>,
    seen: Arc<Mutex<Seen>>,
    (coverage, mut split_began): (Arc<Mutex<gapfill::Coverage>>, mpsc::UnboundedReceiver<()>),
    out: mpsc::Sender<Update>,
) {
    let (manager_tx, mut manager_rx) = mpsc::unbounded_channel();
    let (busy_tx, busy_rx) = mpsc::unbounded_channel();
    tokio::spawn(socket::run_manager(
        web.clone(),
        config.socket.clone(),
        manager_tx,
        busy_rx,
    ));
    let (fill_tx, mut fill_rx) = mpsc::unbounded_channel::<gapfill::Found>();
    let fills = gapfill::Filler::start(
        web.clone(),
        channels,
        (seen.clone(), coverage.clone()),
        fill_tx,
        gapfill::Reach {
            initial_lookback: config.initial_lookback,
            margin: config.gap_margin,
            covered: config.covered.clone(),
            complete_through: config.resume.covered_through,
        },
    );
    // Envelopes wait here, acked, until the consumer takes them: memory stays bounded
    // however far behind it falls. Everything else is small and goes ahead of them.
    let mut envelopes =
        spill::Spill::new(config.spill_dir.as_deref(), (config.in_memory / 2).max(1));
    let mut ready: VecDeque<Update> = VecDeque::new();
    loop {
        let waiting = !ready.is_empty() || !envelopes.is_empty();
        let update = tokio::select! {
            permit = out.reserve(), if waiting => {
                let Ok(permit) = permit else { return };
                if let Some(update) = ready.pop_front() {
                    permit.send(update);
                } else if let Some((envelope, read_at)) = envelopes.pop()
                    && let Some(update) = admit(&seen, envelope, read_at)
                {
                    permit.send(update);
                }
                // Acked and then lost on disk: only history has them now.
                if envelopes.take_lost() > 0 {
                    let mut coverage = coverage.lock().unwrap_or_else(|e| e.into_inner());
                    coverage.missed();
                    if let Some(since) = coverage.since_last_fill() {
                        fills.request(since);
                    }
                }
                continue;
            }
            Some(m) = manager_rx.recv() => match m {
                ManagerOut::Envelope(envelope, read_at) => {
                    envelopes.push(envelope, read_at);
                    continue;
                }
                ManagerOut::Status(status) => Update::Status(status),
                ManagerOut::GapSince(since) => {
                    fills.request(since);
                    continue;
                }
                ManagerOut::Probe => {
                    fills.probe(busy_tx.clone());
                    continue;
                }
                ManagerOut::Company { app_connections, ours } => {
                    // Split: what the others received is only in history; read it now
                    // rather than at the next gap.
                    let catch_up = coverage.lock().unwrap_or_else(|e| e.into_inner()).catch_up();
                    if let Some(since) = catch_up {
                        fills.request(since);
                    }
                    Update::Company { app_connections, ours }
                }
            },
            Some(()) = split_began.recv() => {
                let since = coverage.lock().unwrap_or_else(|e| e.into_inner()).since_last_fill();
                if let Some(since) = since {
                    fills.request(since);
                }
                continue;
            }
            Some(found) = fill_rx.recv() => match found {
                gapfill::Found::Event(event) => {
                    let fresh = seen.lock().unwrap_or_else(|e| e.into_inner()).admit(None, &event);
                    if !fresh {
                        continue;
                    }
                    Update::Event(Box::new(Incoming { event, event_id: None, source: Source::GapFill, received_at: Instant::now() }))
                }
                gapfill::Found::Covered(through) => Update::Covered { through_us: (through * 1e6) as i64 },
            },
            else => return,
        };
        ready.push_back(update);
    }
}

/// An envelope taken from the queue: parsed, and through the dedupe (`None`: skipped).
fn admit(seen: &Mutex<Seen>, envelope: wire::Envelope, read_at: Instant) -> Option<Update> {
    let retry_attempt = envelope.retry_attempt;
    if envelope.interactive {
        let click = match envelope.parse_interactive() {
            Ok(Some(click)) => click,
            Ok(None) => {
                tracing::debug!(envelope_id = %envelope.envelope_id, "ignored an interactive payload swarmdeck does not use");
                return None;
            }
            Err(why) => {
                tracing::warn!(envelope_id = %envelope.envelope_id, reason = why.reason, "skipped a click that could not be parsed");
                return None;
            }
        };
        let id = wire::Envelope::click_id(&click);
        let event = wire::Event::BlockActions(Box::new(click));
        let fresh = seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admit(Some(&id), &event);
        return fresh.then(|| {
            Update::Event(Box::new(Incoming {
                event,
                event_id: Some(id),
                source: Source::Live { retry_attempt },
                received_at: read_at,
            }))
        });
    }
    let callback = match envelope.parse_callback() {
        Ok(cb) => cb,
        Err(why) => {
            // Acked already; a payload we cannot read is logged and skipped.
            tracing::warn!(envelope_id = %envelope.envelope_id, channel = why.channel, ts = why.ts, reason = why.reason, "skipped an event that could not be parsed");
            return None;
        }
    };
    let fresh = seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .admit(Some(&callback.event_id), &callback.event);
    fresh.then(|| {
        Update::Event(Box::new(Incoming {
            event: callback.event,
            event_id: Some(callback.event_id),
            source: Source::Live { retry_attempt },
            received_at: read_at,
        }))
    })
}
