//! The one loop: terminal input, Slack updates, ticks and signals in one `select!`; the
//! desk is changed only here, and a frame is drawn only when something changed or a
//! visible timer ticked. The terminal is the lead's: it is restored on every way out.

use crate::config::{ArchivePolicy, Settings};
use crate::domain::moves::{self, Action, Mover, Promotion};
use crate::domain::{Desk, Input, Lifecycle, LifecycleKind, Ts, Urgency};
use crate::session::{self, Replay, Stored};
use crate::shutdown_signal;
use crate::slack::actions::{ActionState, ActionUpdate, Outbox, OutboxConfig};
use crate::slack::{self, Status, Update, WebClient, translate::Translator, wire};
use crate::store::{Match, Write};
use crate::ui::dialog::{Asks, Dialog, DialogKey, Picker, PromoteForm, Prompt, Submit};
use crate::ui::keymap::{Intent, Keymap};
use crate::ui::theme::Theme;
use crate::ui::triage::Triage;
use crate::ui::view::{Outcome, Screen, SwarmKey, View};
use crate::ui::{self, Activity, Health, Screenful, Tone};
use chrono::{Local, Offset, TimeZone, Utc};
use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{Event, EventStream, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Stdout;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Events older than this when they arrive (history read at start) ring no bell.
const FRESH_SECS: i64 = 120;

/// Presence is asked again after this long (users.getPresence is cached).
const PRESENCE_TTL: Duration = Duration::from_secs(60);

pub struct AppOptions {
    pub keymap: Keymap,
    pub bell: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            keymap: Keymap::default(),
            bell: true,
        }
    }
}

/// How the lead's moves are made: who acts, and the `[actions]` settings.
struct MoveSettings {
    lead: Option<String>,
    resolved_reaction: String,
    archive: ArchivePolicy,
    remind_experts: bool,
    handoff_to: Option<String>,
}

/// A move on its way to Slack.
struct Pending {
    swarm: Option<SwarmKey>,
    label: String,
    state: ActionState,
}

pub async fn run(settings: Settings, options: AppOptions) -> Result<()> {
    let started = now();
    let stored = Stored::open(&settings);
    let restored = stored.as_ref().and_then(|s| {
        session::restore(&settings, &s.store, started, Replay::State).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not read the store; starting from Slack");
            None
        })
    });
    let mut config = settings.slack()?;
    // With a store, the screen opens at once on what it held and Slack catches up
    // behind it; the first run waits for Slack, so a bad token is said plainly.
    let (identity, translator, desk, missing, web, link) = match restored {
        Some(r) => {
            config.resume = r.resume.clone();
            let web = slack::web_client(&config)?;
            let (tx, rx) = mpsc::channel(4);
            tokio::spawn(keep_connecting(web.clone(), config.clone(), tx));
            (
                r.identity,
                r.translator,
                r.desk,
                r.missing,
                web,
                Link::Connecting(rx),
            )
        }
        None => {
            eprintln!("swarmdeck: connecting to Slack at {} …", settings.api_url);
            let web = slack::web_client(&config)?;
            let connected = slack::connect_with(web.clone(), config.clone())
                .await
                .wrap_err_with(|| format!("could not connect to Slack at {}", settings.api_url))?;
            let desk = Desk::new(settings.desk(), Vec::new());
            let translator = Translator::new(&connected.identity);
            (
                connected.identity.clone(),
                translator,
                desk,
                Vec::new(),
                web,
                Link::Up(Box::new(connected)),
            )
        }
    };
    let (names_tx, names_rx) = mpsc::unbounded_channel();
    let (online_tx, online_rx) = watch::channel(false);
    let (report_tx, report_rx) = mpsc::unbounded_channel();
    let outbox = Outbox::spawn(
        web.clone(),
        OutboxConfig::new(&identity.bot_user_id, settings.time_scale),
        online_rx,
        report_tx,
    );
    let (notice_tx, notice_rx) = mpsc::unbounded_channel();
    let actions = &settings.file.actions;
    let moves = MoveSettings {
        lead: settings.file.lead.clone(),
        resolved_reaction: desk.config().resolved_reaction.clone(),
        archive: actions.archive_incident.unwrap_or_default(),
        remind_experts: actions.remind_experts.unwrap_or(false),
        handoff_to: actions.handoff_to.clone(),
    };
    let mut dashboard = Dashboard {
        translator,
        workspace: identity.team.clone(),
        team_url: identity.url.clone(),
        desk,
        view: View::default(),
        health: Connection::default(),
        attention: HashSet::new(),
        keymap: options.keymap,
        theme: Theme::from_env(),
        bell: options.bell,
        notice: None,
        names_asked: HashSet::new(),
        names_tx,
        web,
        threads: None,
        outbox,
        online: online_tx,
        moves,
        pending: BTreeMap::new(),
        activity: None,
        last_resolved: None,
        seq: 0,
        presence_asked: HashMap::new(),
        notice_tx,
        stored,
        settings,
        similar: None,
    };
    dashboard.purge_in_background();
    dashboard.missing_pods(&missing);
    dashboard.resume_actions();
    dashboard.index_resolved();
    let mut channels = Channels {
        updates: None,
        connecting: None,
        names: names_rx,
        reports: report_rx,
        notices: notice_rx,
    };
    match link {
        Link::Up(connected) => dashboard.on_connected(*connected, &mut channels),
        Link::Connecting(rx) => channels.connecting = Some(rx),
    }
    let mut terminal = TerminalGuard::enter()?;
    let result = dashboard.run(&mut terminal.terminal, channels).await;
    drop(terminal);
    if let Some(s) = &dashboard.stored {
        s.writer.flush();
    }
    result
}

/// The Slack connection at start: up already (first run), or on its way.
enum Link {
    Up(Box<slack::Connected>),
    Connecting(mpsc::Receiver<Attempt>),
}

/// The connection as last reported, with the instants the header turns into ages.
#[derive(Default)]
struct Connection {
    status: Option<Status>,
    last_event: Option<Instant>,
}

impl Connection {
    fn health(&self) -> Health {
        let now = Instant::now();
        let s = self.status.clone().unwrap_or(Status {
            connected: 0,
            wanted: 2,
            reconnect_at: None,
            reconnects: 0,
            problem: None,
        });
        Health {
            connected: s.connected,
            wanted: s.wanted,
            reconnect_in: s
                .reconnect_at
                .map(|at| at.saturating_duration_since(now).as_secs()),
            reconnects: s.reconnects,
            problem: s.problem,
            last_event_age: self.last_event.map(|t| now.duration_since(t).as_secs()),
        }
    }
}

struct Dashboard {
    translator: Translator,
    workspace: String,
    desk: Desk,
    view: View,
    health: Connection,
    attention: HashSet<SwarmKey>,
    keymap: Keymap,
    theme: Theme,
    bell: bool,
    notice: Option<String>,
    names_asked: HashSet<String>,
    names_tx: mpsc::UnboundedSender<Input>,
    web: Arc<WebClient>,
    /// The client's followed threads, once connected.
    threads: Option<slack::Threads>,
    team_url: String,
    outbox: Outbox,
    /// Whether Slack is connected: the outbox holds moves while it is not.
    online: watch::Sender<bool>,
    moves: MoveSettings,
    pending: BTreeMap<String, Pending>,
    activity: Option<Activity>,
    /// The swarm last resolved from here, for `R` to undo.
    last_resolved: Option<SwarmKey>,
    seq: u64,
    presence_asked: HashMap<String, Instant>,
    notice_tx: mpsc::UnboundedSender<String>,
    stored: Option<Stored>,
    settings: Settings,
    /// Resolved swarms like the selected one, and which one that was.
    similar: Option<(SwarmKey, Vec<Match>)>,
}

/// What the loop listens to besides the terminal.
struct Channels {
    updates: Option<mpsc::Receiver<Update>>,
    connecting: Option<mpsc::Receiver<Attempt>>,
    names: mpsc::UnboundedReceiver<Input>,
    reports: mpsc::UnboundedReceiver<ActionUpdate>,
    notices: mpsc::UnboundedReceiver<String>,
}

type Term = Terminal<CrosstermBackend<Stdout>>;

impl Dashboard {
    async fn run(&mut self, terminal: &mut Term, channels: Channels) -> Result<()> {
        let mut channels = channels;
        let mut keys = EventStream::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        let mut dirty = true;
        let mut first = true;
        loop {
            if dirty {
                self.draw(terminal)?;
                dirty = false;
                if first {
                    first = false;
                    let swarms = self.desk.swarms().count();
                    let ms = crate::since_start().as_secs_f64() * 1e3;
                    tracing::info!(ms, swarms, "first frame drawn");
                }
            }
            tokio::select! {
                key = keys.next() => match key {
                    Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                        if self.on_key(k) == Outcome::Quit {
                            return Ok(());
                        }
                        dirty = true;
                    }
                    Some(Ok(Event::Resize(..))) => dirty = true,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e).wrap_err("reading the terminal"),
                    None => return Ok(()),
                },
                update = next_update(&mut channels.updates) => {
                    let Some(update) = update else {
                        color_eyre::eyre::bail!("the Slack client stopped");
                    };
                    self.on_update(update);
                    // Drain a burst before drawing once (capped, so keys stay responsive).
                    if let Some(updates) = channels.updates.as_mut() {
                        for _ in 0..256 {
                            match updates.try_recv() {
                                Ok(u) => self.on_update(u),
                                Err(_) => break,
                            }
                        }
                    }
                    dirty = true;
                }
                attempt = until_connected(&mut channels.connecting) => {
                    match attempt {
                        Attempt::Up(c) => {
                            channels.connecting = None;
                            self.on_connected(*c, &mut channels);
                        }
                        Attempt::Failed { error, retry_in, attempts } => {
                            // Shown where connection trouble always shows: the header.
                            self.health.status = Some(Status {
                                connected: 0,
                                wanted: 2,
                                reconnect_at: Some(Instant::now() + retry_in),
                                reconnects: attempts,
                                problem: Some(format!("Slack unreachable: {error}")),
                            });
                        }
                    }
                    dirty = true;
                }
                Some(input) = channels.names.recv() => {
                    self.desk.apply(input, now());
                    dirty = true;
                }
                Some(report) = channels.reports.recv() => {
                    self.on_report(report);
                    dirty = true;
                }
                Some(notice) = channels.notices.recv() => {
                    self.notice = Some(notice);
                    dirty = true;
                }
                _ = tick.tick() => {
                    let events = self.desk.tick(now());
                    self.notice_events(&events);
                    // Ages and countdowns on screen move every second.
                    dirty = true;
                }
                _ = &mut shutdown => return Ok(()),
            }
        }
    }

    fn draw(&mut self, terminal: &mut Term) -> Result<()> {
        let now = now();
        let shown = match self.view.screen {
            Screen::Detail => self.view.selected.clone(),
            Screen::Triage => self
                .view
                .triage
                .as_mut()
                .and_then(|t| t.current(&self.desk)),
            _ => None,
        };
        let similar = self.similar_to(shown).to_vec();
        let rows = self.view.rows(&self.desk, now);
        self.view.reconcile(&rows);
        let health = self.health.health();
        let (today, utc_offset) = today();
        let size = terminal.size()?;
        self.view.page = size.height.saturating_sub(5).max(1) as usize;
        let pending: HashSet<SwarmKey> = self
            .pending
            .values()
            .filter_map(|p| p.swarm.clone())
            .collect();
        let screen = Screenful {
            desk: &self.desk,
            rows: &rows,
            health: &health,
            workspace: &self.workspace,
            now,
            today,
            utc_offset,
            keymap: &self.keymap,
            theme: &self.theme,
            attention: &self.attention,
            notice: self.notice.as_deref(),
            pending: &pending,
            activity: self.activity.as_ref(),
            similar: &similar,
        };
        terminal.draw(|frame| ui::render(&screen, &self.view, frame))?;
        Ok(())
    }

    fn on_key(&mut self, key: crossterm::event::KeyEvent) -> Outcome {
        self.notice = None;
        if let Some(mut dialog) = self.view.dialog.take() {
            let is_ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL)
                && self.keymap.intent(&key) == Some(Intent::Quit);
            if is_ctrl_c {
                return Outcome::Quit;
            }
            match dialog.on_key(key, &self.desk) {
                DialogKey::Keep => self.view.dialog = Some(dialog),
                DialogKey::Close => {}
                DialogKey::Submit(submit) => self.on_submit(submit),
            }
            return Outcome::Stay;
        }
        let quit = self.keymap.intent(&key) == Some(Intent::Quit);
        if self.view.filtering && !(quit && key.modifiers.contains(KeyModifiers::CONTROL)) {
            // Typing: letters go to the filter, but a Ctrl quit key still quits.
            self.view.type_filter(key.code);
            return Outcome::Stay;
        }
        let Some(intent) = self.keymap.intent(&key) else {
            return Outcome::Stay;
        };
        let now = now();
        let pods: Vec<String> = self.desk.pods().map(|p| p.channel.clone()).collect();
        let rows = self.view.rows(&self.desk, now);
        let outcome = self.view.apply(intent, &rows, &pods);
        drop(rows);
        if let Outcome::Move(intent) = outcome {
            self.on_move(intent);
            return Outcome::Stay;
        }
        if intent == Intent::Open
            && self.view.screen == Screen::Detail
            && let Some(key) = &self.view.selected
        {
            // The lead has seen it.
            self.attention.remove(key);
        }
        outcome
    }

    fn on_update(&mut self, update: Update) {
        match update {
            Update::Status(status) => {
                let _ = self.online.send(status.connected > 0);
                self.health.status = Some(status);
            }
            Update::Covered { through_us } => {
                if let Some(s) = &self.stored {
                    session::record_covered(&s.writer, through_us);
                }
            }
            Update::Event(incoming) => {
                self.health.last_event = Some(Instant::now());
                if let Some(s) = &self.stored {
                    session::record(&s.writer, &incoming);
                }
                self.ask_names(&incoming.event);
                let mut events = Vec::new();
                for input in self.translator.translate(&incoming.event) {
                    events.extend(self.desk.apply(input, now()));
                }
                self.notice_events(&events);
            }
        }
    }

    /// Follows open swarms' threads for the gap fill, and flags what needs the lead now.
    fn notice_events(&mut self, events: &[Lifecycle]) {
        let now = now();
        let mut ring = false;
        for e in events {
            let key = (e.channel.clone(), e.thread_ts);
            let ts = e.thread_ts.to_string();
            let fresh = now.secs_since(e.at) <= FRESH_SECS;
            match &e.kind {
                LifecycleKind::SwarmOpened { urgency, .. } => {
                    self.follow(&e.channel, &ts, true);
                    if *urgency == Urgency::Sev1 && fresh {
                        self.attention.insert(key);
                        ring = true;
                    }
                }
                LifecycleKind::SlaBreached { .. } if fresh => {
                    self.attention.insert(key);
                    ring = true;
                }
                LifecycleKind::Resolved { .. } | LifecycleKind::Withdrawn => {
                    self.follow(&e.channel, &ts, false);
                    if matches!(e.kind, LifecycleKind::Resolved { .. }) {
                        self.index(&key);
                    }
                    self.attention.remove(&key);
                }
                LifecycleKind::Reopened { .. } => self.follow(&e.channel, &ts, true),
                LifecycleKind::FollowUpDue { .. } if fresh => {
                    self.attention.insert(key.clone());
                    ring = true;
                    self.remind(e, &key);
                }
                _ => {}
            }
        }
        if ring && self.bell {
            // The terminal bell is the one thing written outside a frame: it is how a
            // terminal gets attention, over SSH too.
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = out.write_all(b"\x07").and_then(|_| out.flush());
        }
    }

    /// Slack is up: keep who and where we are, add pods found since, start the loaders,
    /// and listen.
    fn on_connected(&mut self, connected: slack::Connected, channels: &mut Channels) {
        if let Some(s) = &self.stored {
            session::remember_connection(&s.writer, &connected);
        }
        let found: Vec<(String, String)> = connected
            .channels
            .iter()
            .map(|c| crate::slack::translate::channel_name(&c.id, &c.name))
            .collect();
        let (pods, missing) = self.settings.pods(&found);
        for pod in pods {
            self.desk.add_pod(pod);
        }
        for (id, name) in found {
            self.desk.apply(Input::ChannelNamed { id, name }, now());
        }
        self.missing_pods(&missing);
        self.translator = Translator::new(&connected.identity);
        self.workspace = connected.identity.team.clone();
        self.team_url = connected.identity.url.clone();
        for s in self.desk.swarms().filter(|s| s.is_open()) {
            connected
                .threads
                .follow(&s.channel, &s.thread_ts.to_string());
        }
        self.threads = Some(connected.threads.clone());
        load_people(self.web.clone(), self.names_tx.clone());
        load_experts(
            self.web.clone(),
            expert_sources(&self.settings, &self.desk),
            self.names_tx.clone(),
        );
        channels.updates = Some(connected.updates);
    }

    fn missing_pods(&mut self, missing: &[String]) {
        if !missing.is_empty() {
            self.notice = Some(format!(
                "The bot is not in {}: type /invite @swarmdeck there.",
                missing.join(", ")
            ));
        }
    }

    /// History past the retention goes, off the start-up path; open swarms stay
    /// whatever their age.
    fn purge_in_background(&self) {
        if self.stored.is_none() {
            return;
        }
        let keep: Vec<(String, i64)> = self
            .desk
            .swarms()
            .filter(|s| s.is_open())
            .map(|s| (s.channel.clone(), s.thread_ts.0))
            .collect();
        let before = now().secs() - self.settings.retention().as_secs() as i64;
        let dir = self.settings.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            match crate::store::Store::open(&dir).and_then(|s| s.purge(before, &keep)) {
                Ok(p) => tracing::info!(
                    events = p.events,
                    resolved = p.resolved,
                    "purged old history"
                ),
                Err(e) => tracing::warn!(error = %e, "could not purge old history"),
            }
        });
    }

    /// Moves a previous run took but did not finish go out again, from where they got.
    fn resume_actions(&mut self) {
        let pending = match &self.stored {
            Some(s) => s.store.pending_actions().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not read the outbox");
                Vec::new()
            }),
            None => return,
        };
        for p in pending {
            let action: Action = match serde_json::from_str(&p.action) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(id = p.id, error = %e, "an unreadable stored action was dropped");
                    if let Some(s) = &self.stored {
                        s.writer.send(Write::DropAction { id: p.id });
                    }
                    continue;
                }
            };
            let progress = serde_json::from_str(&p.progress).unwrap_or_default();
            tracing::info!(action = action.id, label = action.label, "resuming");
            self.pending.insert(
                action.id.clone(),
                Pending {
                    swarm: action.thread_ts.map(|t| (action.channel.clone(), t)),
                    label: action.label.clone(),
                    state: ActionState::Queued,
                },
            );
            let _ = self.outbox.resume(action, progress);
        }
        self.show_activity();
    }

    /// Resolved swarms not in the search index yet (resolved while no dashboard ran).
    fn index_resolved(&mut self) {
        let Some(s) = &self.stored else { return };
        let known = s.store.indexed().unwrap_or_default();
        let missing: Vec<SwarmKey> = self
            .desk
            .swarms()
            .filter(|sw| !sw.is_open() && !known.contains(&(sw.channel.clone(), sw.thread_ts.0)))
            .map(|sw| (sw.channel.clone(), sw.thread_ts))
            .collect();
        for key in missing {
            self.index(&key);
        }
    }

    fn index(&self, key: &SwarmKey) {
        let (Some(s), Some(swarm)) = (&self.stored, self.desk.swarm(&key.0, key.1)) else {
            return;
        };
        let doc = session::indexed(&self.desk, swarm, &self.team_url);
        s.writer.send(Write::Index(Box::new(doc)));
    }

    fn follow(&self, channel: &str, ts: &str, on: bool) {
        if let Some(t) = &self.threads {
            if on {
                t.follow(channel, ts);
            } else {
                t.unfollow(channel, ts);
            }
        }
    }

    /// Resolved swarms like the selected one, asked of the store when the selection
    /// changes (not every frame).
    fn similar_to(&mut self, key: Option<SwarmKey>) -> &[Match] {
        let Some(key) = key else { return &[] };
        let fresh = self.similar.as_ref().is_none_or(|(k, _)| *k != key);
        if fresh {
            let found = match (&self.stored, self.desk.swarm(&key.0, key.1)) {
                (Some(s), Some(sw)) => s
                    .store
                    .similar(&sw.request.subject, Some((&sw.channel, sw.thread_ts.0)), 3)
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            self.similar = Some((key.clone(), found));
        }
        self.similar.as_ref().map_or(&[], |(_, m)| m.as_slice())
    }

    /// The swarm a move is about: triage's current one, else the selected row.
    fn target(&mut self) -> Option<SwarmKey> {
        if self.view.screen == Screen::Triage {
            return self.view.triage.as_mut()?.current(&self.desk);
        }
        let rows = self.view.rows(&self.desk, now());
        self.view.selection(&rows).map(|i| rows[i].key())
    }

    fn mover(&mut self) -> Mover<'_> {
        self.seq += 1;
        Mover {
            id: format!("{}-{}-{}", std::process::id(), now().0, self.seq),
            lead: self.moves.lead.as_deref(),
            resolved_reaction: &self.moves.resolved_reaction,
        }
    }

    /// A move key: open its dialog, or (for one-key moves) send it.
    fn on_move(&mut self, intent: Intent) {
        let triage = self.view.screen == Screen::Triage;
        match intent {
            Intent::Triage => {
                self.view.triage = Some(Triage::start(&self.desk, now()));
                self.view.screen = Screen::Triage;
                self.triage_moved_on();
                return;
            }
            Intent::Skip => {
                if let Some(t) = self.view.triage.as_mut().filter(|_| triage) {
                    t.next();
                    self.triage_moved_on();
                }
                return;
            }
            Intent::Search => {
                if self.stored.is_none() {
                    self.notice = Some(
                        "Search needs the local store, which could not be opened (see the log)."
                            .into(),
                    );
                    return;
                }
                self.view.dialog = Some(Dialog::Ask(Prompt {
                    swarm: None,
                    asks: Asks::Search,
                    input: String::new(),
                    error: None,
                }));
                return;
            }
            Intent::Handoff => {
                let open = self.desk.swarms().filter(|s| s.is_open()).count();
                self.view.dialog = Some(Dialog::Ask(Prompt {
                    swarm: None,
                    asks: Asks::Handoff { open },
                    input: self.moves.handoff_to.clone().unwrap_or_default(),
                    error: None,
                }));
                return;
            }
            _ => {}
        }
        let target = self.target();
        if intent == Intent::Reopen {
            // The swarm shown if it is resolved, else the last one resolved from here.
            let key = target
                .filter(|k| self.desk.swarm(&k.0, k.1).is_some_and(|s| !s.is_open()))
                .or_else(|| self.last_resolved.clone());
            match key.and_then(|k| self.desk.swarm(&k.0, k.1).filter(|s| !s.is_open()).cloned()) {
                Some(swarm) => {
                    let action = self.mover().reopen(&swarm);
                    self.send(action);
                }
                None => self.notice = Some("Nothing resolved to reopen.".into()),
            }
            return;
        }
        let Some(key) = target else {
            self.notice = Some("No swarm selected.".into());
            return;
        };
        let Some(swarm) = self.desk.swarm(&key.0, key.1).cloned() else {
            return;
        };
        let ask = |asks: Asks, input: String| {
            Some(Dialog::Ask(Prompt {
                swarm: Some(key.clone()),
                asks,
                input,
                error: None,
            }))
        };
        match intent {
            Intent::Assign if triage => {
                let top = moves::rank_experts(&self.desk, &swarm)
                    .first()
                    .map(|c| c.expert.user.clone());
                match top {
                    Some(expert) => self.on_submit(Submit::Assign { swarm: key, expert }),
                    None => self.notice = Some("No expert to suggest: pick one with A.".into()),
                }
            }
            Intent::Assign | Intent::AssignOther => {
                self.view.dialog = Some(Dialog::Pick(Picker {
                    swarm: key,
                    unassign: false,
                    query: String::new(),
                    selected: 0,
                }));
                self.ask_presence(&swarm);
            }
            Intent::Unassign if swarm.experts.is_empty() => {
                self.notice = Some(format!("Nobody is assigned to {}.", swarm.case()));
            }
            Intent::Unassign => {
                self.view.dialog = Some(Dialog::Pick(Picker {
                    swarm: key,
                    unassign: true,
                    query: String::new(),
                    selected: 0,
                }));
            }
            Intent::Promote => match &swarm.incident {
                Some(i) => {
                    self.notice = Some(format!(
                        "{} is promoted already: #{}.",
                        swarm.case(),
                        i.channel_name
                    ))
                }
                None => {
                    self.view.dialog = Some(Dialog::Promote(PromoteForm {
                        swarm: key,
                        promotion: Promotion::proposed(&self.desk, &swarm),
                        name_edited: false,
                    }))
                }
            },
            Intent::Resolve => {
                let archive = match (self.moves.archive, &swarm.incident) {
                    (ArchivePolicy::Ask, Some(_)) => Some(true),
                    _ => None,
                };
                let incident = swarm.incident.as_ref().map(|i| i.channel_name.clone());
                self.view.dialog = ask(Asks::Resolution { incident, archive }, String::new());
            }
            Intent::Waiting => {
                let action = self.mover().toggle_waiting(&swarm);
                self.send(action);
            }
            Intent::FollowUp => {
                self.view.dialog = ask(
                    Asks::NextSteps,
                    swarm.next_steps.clone().unwrap_or_default(),
                );
            }
            Intent::Reply => self.view.dialog = ask(Asks::Reply, String::new()),
            Intent::Browse => self.browse(&swarm),
            _ => {}
        }
    }

    /// What a dialog settled on becomes a move (or the next question).
    fn on_submit(&mut self, submit: Submit) {
        let key = match submit.swarm() {
            Some(key) if !matches!(submit, Submit::NextSteps { .. }) => key.clone(),
            _ => return self.on_question(submit),
        };
        let Some(swarm) = self.desk.swarm(&key.0, key.1).cloned() else {
            return;
        };
        let Some(action) = self.plan(&swarm, submit) else {
            return;
        };
        // In triage, a move on the current swarm moves the queue on.
        if self.view.screen == Screen::Triage
            && let Some(t) = self.view.triage.as_mut()
            && t.current(&self.desk).as_ref() == Some(&key)
        {
            t.next();
            self.triage_moved_on();
        }
        self.send(action);
    }

    /// A move on one swarm, planned; `None` when the lead must answer again (a due time
    /// that does not parse reopens its prompt).
    fn plan(&mut self, swarm: &crate::domain::Swarm, submit: Submit) -> Option<Action> {
        match submit {
            Submit::Assign { expert, .. } => {
                let name = self.desk.name_of(&expert).to_string();
                Some(self.mover().assign(swarm, &expert, &name))
            }
            Submit::Unassign { expert, .. } => {
                let name = self.desk.name_of(&expert).to_string();
                Some(self.mover().unassign(swarm, &expert, &name))
            }
            Submit::Promote { promotion, .. } => Some(self.mover().promote(swarm, &promotion)),
            Submit::Resolve {
                swarm: key,
                resolution,
                archive,
            } => {
                let archive = match self.moves.archive {
                    ArchivePolicy::Always => true,
                    ArchivePolicy::Never => false,
                    ArchivePolicy::Ask => archive,
                };
                let action = self.mover().resolve(swarm, &resolution, archive);
                self.last_resolved = Some(key);
                Some(action)
            }
            Submit::Reply { text, .. } => Some(self.mover().reply(swarm, &text)),
            Submit::FollowUp {
                swarm: key,
                next_steps,
                due,
            } => {
                let local = Utc::now().with_timezone(&today().1);
                match moves::parse_due(&due, local) {
                    Ok(at) => Some(self.mover().follow_up(swarm, &next_steps, at)),
                    Err(e) => {
                        self.view.dialog = Some(Dialog::Ask(Prompt {
                            swarm: Some(key),
                            asks: Asks::Due { next_steps },
                            input: due,
                            error: Some(e),
                        }));
                        None
                    }
                }
            }
            _ => None,
        }
    }

    /// Submissions that are not a move on a swarm: handoff, search, a link, the next
    /// question of the follow-up.
    fn on_question(&mut self, submit: Submit) {
        match submit {
            Submit::Handoff { to } => match moves::destination(&self.desk, &to) {
                Ok(dest) => {
                    let text = moves::handoff_text(&self.desk, self.moves.lead.as_deref(), now());
                    let action = self.mover().handoff(&dest, to.trim(), text);
                    self.send(action);
                }
                Err(e) => {
                    let open = self.desk.swarms().filter(|s| s.is_open()).count();
                    self.view.dialog = Some(Dialog::Ask(Prompt {
                        swarm: None,
                        asks: Asks::Handoff { open },
                        input: to,
                        error: Some(e),
                    }));
                }
            },
            Submit::Search { query } => {
                let matches = match &self.stored {
                    Some(s) => s.store.similar(&query, None, 10).unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "search failed");
                        Vec::new()
                    }),
                    None => Vec::new(),
                };
                self.view.dialog = Some(Dialog::Found(crate::ui::dialog::Found {
                    query,
                    matches,
                    selected: 0,
                }));
            }
            Submit::Open { link } => {
                self.open_link(link, None);
            }
            Submit::NextSteps { swarm, next_steps } => {
                self.view.dialog = Some(Dialog::Ask(Prompt {
                    swarm: Some(swarm),
                    asks: Asks::Due { next_steps },
                    input: "2h".into(),
                    error: None,
                }));
            }
            _ => {}
        }
    }

    /// A new swarm in front of the lead in triage: its thread from the newest, and the
    /// presence of its suggested experts.
    fn triage_moved_on(&mut self) {
        self.view.detail_scroll = 0;
        let current = self
            .view
            .triage
            .as_mut()
            .and_then(|t| t.current(&self.desk));
        if let Some(swarm) = current.and_then(|k| self.desk.swarm(&k.0, k.1).cloned()) {
            self.ask_presence(&swarm);
        }
    }

    /// Queues a move and shows it as pending at once.
    fn send(&mut self, action: Action) {
        let swarm = action.thread_ts.map(|t| (action.channel.clone(), t));
        let label = action.label.clone();
        let id = action.id.clone();
        tracing::info!(action = id, label, "queued");
        // Kept before it is sent: a crash from here on resumes it, never loses it.
        if let (Some(s), Ok(json)) = (&self.stored, serde_json::to_string(&action)) {
            s.writer.send(Write::SaveAction {
                id: id.clone(),
                action: json,
                progress: "{}".into(),
            });
            // On disk before it can reach Slack (one small commit, on a keystroke).
            s.writer.flush();
        }
        if let Err(e) = self.outbox.send(action) {
            self.activity = Some(Activity {
                text: format!("✗ {label}: {e}"),
                tone: Tone::Failed,
            });
            return;
        }
        self.pending.insert(
            id,
            Pending {
                swarm,
                label: label.clone(),
                state: ActionState::Queued,
            },
        );
        self.show_activity();
    }

    fn on_report(&mut self, report: ActionUpdate) {
        if let Some(s) = &self.stored {
            match (&report.state, &report.progress) {
                (ActionState::Done | ActionState::Failed { .. }, _) => {
                    s.writer.send(Write::DropAction {
                        id: report.id.clone(),
                    })
                }
                (_, Some(p)) => {
                    if let Ok(progress) = serde_json::to_string(p) {
                        s.writer.send(Write::Progress {
                            id: report.id.clone(),
                            progress,
                        });
                    }
                }
                _ => {}
            }
        }
        match &report.state {
            ActionState::Done => {
                self.pending.remove(&report.id);
                self.activity = Some(Activity {
                    text: format!("✓ {}", report.label),
                    tone: Tone::Done,
                });
                if !self.pending.is_empty() {
                    self.show_activity();
                }
            }
            ActionState::Failed { error } => {
                self.pending.remove(&report.id);
                self.activity = Some(Activity {
                    text: format!("✗ {} failed: {error}", report.label),
                    tone: Tone::Failed,
                });
            }
            state => {
                if let Some(p) = self.pending.get_mut(&report.id) {
                    p.state = state.clone();
                }
                self.show_activity();
            }
        }
    }

    /// The oldest pending move, and how many more wait behind it.
    fn show_activity(&mut self) {
        let Some(p) = self.pending.values().next() else {
            return;
        };
        let more = match self.pending.len() {
            1 => String::new(),
            n => format!(" (+{} queued)", n - 1),
        };
        let offline = !*self.online.borrow();
        let state = match &p.state {
            ActionState::Retrying { error, wait } => {
                format!(": {error}, retrying in {}s", wait.as_secs().max(1))
            }
            ActionState::Queued if offline => ": queued until Slack is back".to_string(),
            _ => String::new(),
        };
        self.activity = Some(Activity {
            text: format!("⋯ {}{state}{more}", p.label),
            tone: Tone::Pending,
        });
    }

    /// A follow-up fell due: remind the assigned experts in the thread, once (if asked).
    fn remind(&mut self, e: &Lifecycle, key: &SwarmKey) {
        if !self.moves.remind_experts {
            return;
        }
        let Some(swarm) = self.desk.swarm(&key.0, key.1).cloned() else {
            return;
        };
        let claimed = match &self.stored {
            Some(s) => s.store.claim("dashboard-reminders", &e.key, e.at.secs()),
            None => return,
        };
        match claimed {
            Ok(true) => {
                let action = self.mover().remind(&swarm);
                self.send(action);
            }
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %err, "could not record a reminder; not sent"),
        }
    }

    /// Opens the thread in a browser where there is one; otherwise shows the links.
    fn browse(&self, swarm: &crate::domain::Swarm) {
        let web = self.web.clone();
        let tx = self.notice_tx.clone();
        let (channel, ts) = (swarm.channel.clone(), swarm.thread_ts.to_string());
        let case_link = swarm.request.link.clone();
        tokio::spawn(async move {
            let permalink = web
                .call::<serde_json::Value>(
                    "chat.getPermalink",
                    &[("channel", channel), ("message_ts", ts)],
                )
                .await
                .ok()
                .and_then(|v| v["permalink"].as_str().map(str::to_string));
            let Some(url) = permalink.clone().or(case_link.clone()) else {
                let _ = tx.send("No link for this swarm: Slack gave no permalink and the request has no case link.".into());
                return;
            };
            let _ = tx.send(opened(&url, case_link.as_deref()));
        });
    }

    /// Opens a link we already have (a search result's thread).
    fn open_link(&mut self, url: String, case_link: Option<&str>) {
        self.notice = Some(opened(&url, case_link));
    }

    /// Presence for the picker's likely choices, cached for a minute.
    fn ask_presence(&mut self, swarm: &crate::domain::Swarm) {
        let now = Instant::now();
        let users: Vec<String> = moves::rank_experts(&self.desk, swarm)
            .iter()
            .take(15)
            .map(|c| c.expert.user.clone())
            .filter(|u| {
                self.presence_asked
                    .get(u)
                    .is_none_or(|at| now.duration_since(*at) > PRESENCE_TTL)
            })
            .collect();
        for u in &users {
            self.presence_asked.insert(u.clone(), now);
        }
        let (web, tx) = (self.web.clone(), self.names_tx.clone());
        tokio::spawn(async move {
            for user in users {
                match web
                    .call::<serde_json::Value>("users.getPresence", &[("user", user.clone())])
                    .await
                {
                    Ok(v) => {
                        let active = v["presence"].as_str() == Some("active");
                        let _ = tx.send(Input::Presence { user, active });
                    }
                    Err(e) => tracing::debug!(user, error = %e, "users.getPresence failed"),
                }
            }
        });
    }

    /// Names for people the desk has not met yet, fetched once each, off the loop.
    fn ask_names(&mut self, event: &wire::Event) {
        let wire::Event::Message(m) = event else {
            return;
        };
        let Some(user) = m
            .user
            .clone()
            .or_else(|| m.message.as_ref().and_then(|i| i.user.clone()))
        else {
            return;
        };
        if self.desk.name_of(&user) != user || !self.names_asked.insert(user.clone()) {
            return;
        }
        let web = self.web.clone();
        let tx = self.names_tx.clone();
        tokio::spawn(async move {
            match web
                .call::<UserInfo>("users.info", &[("user", user.clone())])
                .await
            {
                Ok(info) => {
                    let _ = tx.send(Input::UserNamed {
                        user: info.user.id.clone(),
                        name: slack::translate::display_name(&info.user),
                    });
                }
                Err(e) => tracing::warn!(user, error = %e, "users.info failed; the id is shown"),
            }
        });
    }
}

#[derive(serde::Deserialize)]
struct UserInfo {
    user: wire::User,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct UserPage {
    members: Vec<wire::User>,
    response_metadata: wire::ResponseMetadata,
}

/// Everyone's names, once at start (one paged users.list beats a users.info per person).
fn load_people(web: Arc<WebClient>, tx: mpsc::UnboundedSender<Input>) {
    tokio::spawn(async move {
        let mut cursor = String::new();
        loop {
            let mut params = vec![("limit", "200".to_string())];
            if !cursor.is_empty() {
                params.push(("cursor", cursor.clone()));
            }
            let page: UserPage = match web.call("users.list", &params).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "users.list failed; names come one by one");
                    return;
                }
            };
            for user in &page.members {
                let _ = tx.send(Input::UserNamed {
                    user: user.id.clone(),
                    name: slack::translate::display_name(user),
                });
            }
            cursor = page.response_metadata.next_cursor;
            if cursor.is_empty() {
                return;
            }
        }
    });
}

/// Where a pod's experts come from: the pod's product, and its user group if any.
struct ExpertSources {
    /// (product, configured group: an id `S…` or a handle; `None`: look for
    /// `<product>-experts` or `<pod>-experts`).
    pods: Vec<(String, String, Option<String>)>,
    /// Experts named in the config, with their skills.
    named: Vec<(String, Vec<String>)>,
}

fn expert_sources(settings: &Settings, desk: &Desk) -> ExpertSources {
    let configured = |pod: &crate::domain::Pod| {
        settings
            .file
            .pods
            .iter()
            .find(|p| {
                let c = p.channel.trim_start_matches('#');
                c == pod.channel || c == desk.channel_name(&pod.channel)
            })
            .and_then(|p| p.expert_group.clone())
    };
    ExpertSources {
        pods: desk
            .pods()
            .map(|p| (p.product.clone(), p.name.clone(), configured(p)))
            .collect(),
        named: settings
            .file
            .experts
            .iter()
            .map(|e| (e.user.clone(), e.skills.clone()))
            .collect(),
    }
}

/// Loads the experts once at start: the config's, and each pod's user group (members get
/// the pod's product as a skill), off the loop.
fn load_experts(web: Arc<WebClient>, sources: ExpertSources, tx: mpsc::UnboundedSender<Input>) {
    tokio::spawn(async move {
        let mut skills: BTreeMap<String, Vec<String>> = sources.named.into_iter().collect();
        let groups: Vec<serde_json::Value> = match web
            .call::<serde_json::Value>("usergroups.list", &[])
            .await
        {
            Ok(v) => v["usergroups"].as_array().cloned().unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "usergroups.list failed; experts from the config only");
                Vec::new()
            }
        };
        for (product, pod, configured) in &sources.pods {
            let wanted: Vec<String> = match configured {
                Some(g) => vec![g.trim_start_matches('@').to_string()],
                None => vec![format!("{product}-experts"), format!("{pod}-experts")],
            };
            let Some(group) = groups.iter().find(|g| {
                wanted
                    .iter()
                    .any(|w| g["id"] == w.as_str() || g["handle"] == w.as_str())
            }) else {
                if configured.is_some() {
                    tracing::warn!(pod, group = ?configured, "no such user group");
                }
                continue;
            };
            let id = group["id"].as_str().unwrap_or_default().to_string();
            match web
                .call::<serde_json::Value>("usergroups.users.list", &[("usergroup", id)])
                .await
            {
                Ok(v) => {
                    for user in v["users"].as_array().into_iter().flatten() {
                        if let Some(user) = user.as_str() {
                            let s = skills.entry(user.to_string()).or_default();
                            if !s.iter().any(|x| x == product) {
                                s.insert(0, product.clone());
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(pod, error = %e, "usergroups.users.list failed"),
            }
        }
        for (user, skills) in skills {
            let _ = tx.send(Input::Expert {
                name: user.clone(),
                user,
                skills,
            });
        }
    });
}

/// Opens `url` where there is a browser; otherwise says the links, for the lead to copy.
fn opened(url: &str, case_link: Option<&str>) -> String {
    match open_in_browser(url) {
        Ok(()) => format!("Opened {url}"),
        Err(_) => {
            let mut links = format!("Thread: {url}");
            if let Some(l) = case_link.filter(|l| *l != url) {
                links.push_str(&format!(" · Case: {l}"));
            }
            links
        }
    }
}

/// Opens a URL with the desktop's opener, when there is a desktop to open it on.
fn open_in_browser(url: &str) -> std::io::Result<()> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        "xdg-open"
    } else {
        return Err(std::io::Error::other("no display to open a browser on"));
    };
    // The child must not write into the terminal the dashboard owns.
    std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
}

async fn next_update(updates: &mut Option<mpsc::Receiver<Update>>) -> Option<Update> {
    match updates {
        Some(u) => u.recv().await,
        None => std::future::pending().await,
    }
}

/// A try at connecting, started from the store: up, or not yet (tried again later).
enum Attempt {
    Up(Box<slack::Connected>),
    Failed {
        error: String,
        retry_in: Duration,
        attempts: u64,
    },
}

/// Connects behind a restored screen, trying again with capped backoff for as long as
/// it takes (a laptop that wakes up offline comes back on its own).
async fn keep_connecting(
    web: Arc<WebClient>,
    config: slack::SlackConfig,
    tx: mpsc::Sender<Attempt>,
) {
    let backoff = slack::Backoff {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(60),
    };
    let mut attempts = 0;
    loop {
        match slack::connect_with(web.clone(), config.clone()).await {
            Ok(c) => {
                let _ = tx.send(Attempt::Up(Box::new(c))).await;
                return;
            }
            Err(e) => {
                attempts += 1;
                let retry_in = backoff.delay(attempts as u32, 0.75);
                tracing::warn!(error = %e, ?retry_in, "could not connect to Slack; will try again");
                let failed = Attempt::Failed {
                    error: e.to_string(),
                    retry_in,
                    attempts,
                };
                if tx.send(failed).await.is_err() {
                    return;
                }
                tokio::time::sleep(retry_in).await;
            }
        }
    }
}

async fn until_connected(connecting: &mut Option<mpsc::Receiver<Attempt>>) -> Attempt {
    match connecting {
        Some(rx) => match rx.recv().await {
            Some(attempt) => attempt,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

fn now() -> Ts {
    Ts::from_datetime(Utc::now())
}

/// Local midnight (as a Ts) and the local UTC offset.
fn today() -> (Ts, chrono::FixedOffset) {
    let local = Local::now();
    let offset = local.offset().fix();
    let midnight = local
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|m| Local.from_local_datetime(&m).earliest())
        .map(|m| Ts::from_datetime(m.with_timezone(&Utc)))
        .unwrap_or_else(|| Ts::from_datetime(Utc::now()));
    (midnight, offset)
}

/// Owns the terminal while the dashboard runs: raw mode and the alternate screen on the
/// way in, both undone on the way out — on return, on error and on panic alike.
struct TerminalGuard {
    terminal: Term,
}

impl TerminalGuard {
    fn enter() -> Result<TerminalGuard> {
        install_panic_restore();
        crossterm::terminal::enable_raw_mode()
            .wrap_err("could not put the terminal in raw mode")?;
        let mut stdout = std::io::stdout();
        crossterm::execute!(
            stdout,
            crossterm::terminal::EnterAlternateScreen,
            crossterm::cursor::Hide
        )?;
        let terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

pub fn restore_terminal() {
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// A panic restores the terminal before its message is printed, so the lead can read it.
fn install_panic_restore() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
    });
}
