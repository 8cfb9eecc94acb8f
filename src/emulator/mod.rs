//! A Slack-compatible server: Web API, Socket Mode, a seeded support workspace and a
//! live workload. `swarmdeck demo` and every test run against it, and Slack's own SDKs
//! can be pointed at it unchanged.
//!
//! It shares no types with swarmdeck's Slack client (`crate::slack`): the two meet only
//! on the wire, so that a misunderstanding of Slack's protocol cannot hide in both.

mod backlog;
mod click;
mod clock;
mod control;
mod experts;
mod faults;
mod limits;
mod methods;
mod params;
mod rng;
mod seed;
mod socket;
mod web;
mod wire;
mod workload;
mod world;

use axum::Router;
use axum::routing::{any, get, post};
use clock::Clock;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

pub use limits::RateLimits;
pub use methods::ALL_BOT_SCOPES;

/// The seeded workspace's swarm lead (`swarmdeck demo` acts as them).
pub const LEAD_USER_ID: &str = seed::LEAD_ID;

/// How `conversations.history` and `conversations.replies` are limited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryLimits {
    /// As for Marketplace apps: generous.
    #[default]
    Normal,
    /// As Slack limits apps outside its Marketplace since 2025: one call a minute per
    /// method, at most 15 messages a page, 429 with Retry-After beyond.
    Strict,
}

#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    pub addr: SocketAddr,
    /// New swarm requests per minute across all pods (0: none, and no other messages).
    pub rate: f64,
    pub seed: u64,
    pub chaos: bool,
    pub history_limits: HistoryLimits,
    /// Slack's tiers and per-channel posting limit (the default), or none.
    pub rate_limits: RateLimits,
    /// Slack time runs this many times faster (retries, rate windows, the workload).
    pub time_scale: f64,
    /// Scopes granted to the bot token.
    pub scopes: Vec<String>,
    /// Open on a realistic backlog of swarms in history (`swarmdeck demo`).
    pub backlog: bool,
    /// Apps installed in the workspace (at least 1): app 1 is swarmdeck's own, the others
    /// other leads' copies, each with its own bot, tokens and Socket Mode connections.
    pub apps: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            rate: 0.0,
            seed: 1,
            chaos: false,
            history_limits: HistoryLimits::Normal,
            rate_limits: RateLimits::Slack,
            time_scale: 1.0,
            scopes: ALL_BOT_SCOPES.iter().map(|s| s.to_string()).collect(),
            backlog: false,
            apps: 1,
        }
    }
}

/// Everything behind the one lock. Critical sections are short and never await.
struct State {
    world: world::World,
    /// Socket Mode, one hub per app, in the order of `world.apps`.
    hubs: socket::Hubs,
    faults: faults::Faults,
    calls: Vec<web::CallRecord>,
    /// What each app has spent of Slack's rate limits.
    limiter: limits::Limiter,
    /// Envelopes queued so far, events and clicks: numbers event ids and `--chaos` draws.
    envelopes_queued: u64,
    /// Clicks so far: numbers their event ids (`click-<n>`).
    clicks: u64,
    /// How the seeded experts answer swarmdeck's asks, and what tests told them.
    experts: experts::Experts,
}

struct Shared {
    config: Config,
    clock: Clock,
    ws_base: String,
    state: Mutex<State>,
    /// Wakes the delivery loop when something is queued, acked or connected.
    wake: Notify,
    /// Set by `POST /_emulator/calm`: the workload and `--chaos` stop for good.
    calm: AtomicBool,
    /// The experts' answers to come, for the task that clicks them when due.
    answers: mpsc::UnboundedSender<experts::Due>,
}

/// The settings the running server consults.
struct Config {
    seed: u64,
    chaos: bool,
    strict_history: bool,
    rate_limits: RateLimits,
    scopes: Vec<String>,
    /// A workload runs (`--rate` above 0): every seeded expert answers asks.
    workload: bool,
}

impl Shared {
    /// Whether `--chaos` is making trouble now.
    fn chaotic(&self) -> bool {
        self.config.chaos && !self.calm.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the events a change caused for Socket Mode delivery, as Slack would: each
    /// app gets its own copy (its own envelope and event id), and channel events go only
    /// to apps whose bot is a member.
    fn emit(&self, state: &mut State, events: Vec<Value>) {
        // The experts read their direct messages as the apps get their events.
        experts::notice(self, state, &events);
        let now = Instant::now();
        let mut queued = false;
        for event in events {
            for app in 0..state.world.apps.len() {
                let bot = &state.world.apps[app].bot_user_id;
                if !delivered_to_bot(&state.world, bot, &event) {
                    continue;
                }
                let (n, chaos) = self.next_envelope(state);
                let event_id = format!("Ev0EMU{}", world::base36(n, 6));
                let event_time = (Clock::now_micros() / 1_000_000) as i64;
                let payload = wire::event_callback(
                    &state.world,
                    &state.world.apps[app],
                    event.clone(),
                    &event_id,
                    event_time,
                );
                state.hubs.app(app).enqueue(event_id, payload, now, chaos);
                queued = true;
            }
        }
        if queued {
            self.wake.notify_one();
        }
    }

    /// Queues a click's `block_actions` payload for `app`; answers its first envelope's id.
    fn queue_interactive(
        &self,
        state: &mut State,
        app: usize,
        event_id: String,
        payload: Value,
    ) -> String {
        let (_, chaos) = self.next_envelope(state);
        let hub = state.hubs.app(app);
        let envelope_id = hub.enqueue_interactive(event_id, payload, Instant::now(), chaos);
        self.wake.notify_one();
        envelope_id
    }

    /// Numbers the next envelope queued and draws what `--chaos` does to it, the same for
    /// an event as for a click.
    fn next_envelope(&self, state: &mut State) -> (u64, Option<(bool, Duration)>) {
        state.envelopes_queued += 1;
        let n = state.envelopes_queued;
        let chaos = self
            .chaotic()
            .then(|| faults::chaos_delivery(self.config.seed, n));
        (n, chaos)
    }
}

/// Whether the event subscriptions of the app whose bot user is `bot` would see this event.
fn delivered_to_bot(world: &world::World, bot: &str, event: &Value) -> bool {
    let channel = event["channel"]
        .as_str()
        .or_else(|| event["item"]["channel"].as_str());
    match (event["type"].as_str(), channel) {
        (Some("channel_created" | "channel_rename"), _) => true,
        (_, Some(id)) => world.channel(id).map(|c| c.is_member(bot)).unwrap_or(false),
        _ => true,
    }
}

/// A running emulator. Dropping it stops the server and its tasks.
pub struct RunningEmulator {
    base_url: String,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningEmulator {
    /// `http://HOST:PORT`; the Web API is at `<base>/api/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn api_url(&self) -> String {
        format!("{}/api/", self.base_url)
    }

    /// Waits until the server stops (it does not on its own).
    pub async fn wait(mut self) {
        if let Some(server) = self.tasks.first_mut() {
            let _ = server.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Binds, seeds the workspace and starts serving, the workload and chaos.
pub async fn start(config: EmulatorConfig) -> std::io::Result<RunningEmulator> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let clock = Clock::new(config.time_scale);
    let created = (Clock::now_micros() / 1_000_000) as i64 - 90 * 24 * 3600;
    let mut world = seed::workspace(config.seed, created);
    seed::more_apps(&mut world, config.apps);
    let backlog_answers = if config.backlog {
        backlog::seed(&mut world, Instant::now())
    } else {
        Vec::new()
    };
    let hubs = socket::Hubs::new(world.apps.iter().map(|a| a.app_id.clone()));
    let (answers, due_answers) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        config: Config {
            seed: config.seed,
            chaos: config.chaos,
            strict_history: config.history_limits == HistoryLimits::Strict,
            rate_limits: config.rate_limits,
            scopes: config.scopes.clone(),
            workload: config.rate > 0.0,
        },
        clock,
        ws_base: format!("ws://{addr}"),
        state: Mutex::new(State {
            world,
            hubs,
            faults: faults::Faults::default(),
            calls: Vec::new(),
            limiter: limits::Limiter::new(config.time_scale),
            envelopes_queued: 0,
            clicks: 0,
            experts: experts::Experts::default(),
        }),
        wake: Notify::new(),
        calm: AtomicBool::new(false),
        answers,
    });
    let router = Router::new()
        .route("/api/{method}", any(web::api))
        .route("/link", get(socket::link))
        .route("/link/", get(socket::link))
        .route("/_emulator/events", post(control::events))
        .route("/_emulator/calls", get(control::calls))
        .route("/_emulator/state", get(control::state))
        .route("/_emulator/disconnect", post(control::disconnect))
        .route("/_emulator/faults", post(control::faults))
        .route("/_emulator/deliveries", get(control::deliveries))
        .route("/_emulator/calm", post(control::calm))
        .route("/_emulator/raw", post(control::raw))
        .route("/_emulator/click", post(control::click))
        .route(
            "/_emulator/experts",
            get(control::experts).post(control::tell_expert),
        )
        // The Web API enforces its own limit with Slack's error shape.
        .layer(axum::extract::DefaultBodyLimit::max(web::MAX_BODY * 2))
        .with_state(shared.clone());
    let mut tasks = vec![tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "emulator server stopped");
        }
    })];
    tasks.push(tokio::spawn(socket::run_dispatcher(shared.clone())));
    if config.chaos {
        tasks.push(tokio::spawn(socket::run_chaos_disconnects(shared.clone())));
    }
    if config.rate > 0.0 {
        tasks.push(tokio::spawn(workload::run(shared.clone(), config.rate)));
        // The backlog's pending asks are answered as part of the live workload only.
        for due in backlog_answers {
            let _ = shared.answers.send(due);
        }
    }
    tasks.push(tokio::spawn(experts::run(shared.clone(), due_answers)));
    tracing::info!(%base_url, seed = config.seed, rate = config.rate, chaos = config.chaos, apps = config.apps, "emulator listening");
    Ok(RunningEmulator { base_url, tasks })
}
