//! The one loop: terminal input, Slack updates, ticks and signals in one `select!`; the
//! desk is changed only here, and a frame is drawn only when something changed or a
//! visible timer ticked. What a key means is decided by the pure [`lead`] controller;
//! the loop carries out its commands. The terminal is the lead's: it is restored on every
//! way out.

mod activity;
mod lead;
mod link;
mod people;
mod search;
mod terminal;

pub use terminal::restore_terminal;

use crate::Shutdown;
use crate::config::Settings;
use crate::domain::{Input, Lifecycle, LifecycleKind, SwarmId, Ts, Urgency};
use crate::session::{Replay, Session};
use crate::slack::Incoming;
use crate::slack::actions::{ActionUpdate, Outbox, OutboxConfig};
use crate::slack::{self, Update, WebClient};
use crate::ui::keymap::Keymap;
use crate::ui::theme::Theme;
use crate::ui::view::{Screen, View};
use crate::ui::{self, Screenful};
use activity::Moves;
use chrono::{Local, Offset, TimeZone, Utc};
use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{Event, EventStream, KeyEventKind, MouseEventKind};
use futures_util::StreamExt;
use lead::{Command, Lead, Moment, MoveSettings};
use link::{Attempt, Connection};
use people::People;
use search::{Question, Search};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use terminal::{Gone, Term, TerminalGuard};
use tokio::sync::{mpsc, watch};

/// Events older than this when they arrive (history read at start) ring no bell.
const FRESH_SECS: i64 = 120;

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

pub async fn run(settings: Settings, options: AppOptions) -> Result<()> {
    // From the first moment, before the UI as in it, a signal or the terminal going
    // away ends the dashboard.
    let mut shutdown = Shutdown::listen();
    let mut gone = terminal::watch();
    let settings = Arc::new(settings);
    // With a store, the screen opens at once on what it held and Slack catches up
    // behind it; the first run waits for Slack, so a bad token is said plainly.
    let session = Session::restore(settings.clone(), now(), Replay::State)?;
    let config = session.slack_config()?;
    let web = slack::web_client(&config)?;
    let mut connecting = None;
    let (identity, up) = match session.identity.clone() {
        Some(identity) => {
            let (tx, rx) = mpsc::channel(4);
            tokio::spawn(link::keep_connecting(web.clone(), config.clone(), tx));
            connecting = Some(rx);
            (identity, None)
        }
        None => {
            // No frame yet, so a plain line; one that cannot panic on a dead terminal.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "swarmdeck: connecting to Slack at {} …",
                settings.api_url
            );
            let connected = tokio::select! {
                connected = slack::connect_with(web.clone(), config.clone()) => connected
                    .wrap_err_with(|| format!("could not connect to Slack at {}", settings.api_url))?,
                signal = shutdown.next() => return left_early(&session, signal),
                () = gone.wait() => return left_early(&session, "the terminal went away"),
            };
            (connected.identity.clone(), Some(connected))
        }
    };
    let missing = session.missing.clone();
    let (inputs_tx, inputs) = mpsc::unbounded_channel();
    let (online_tx, online_rx) = watch::channel(false);
    let (report_tx, reports) = mpsc::unbounded_channel();
    let outbox = Outbox::spawn(
        web.clone(),
        OutboxConfig {
            bot_id: identity.bot_id.clone(),
            ..OutboxConfig::new(&identity.bot_user_id, settings.time_scale)
        },
        online_rx,
        report_tx,
    );
    let (notice_tx, notices) = mpsc::unbounded_channel();
    let (answers_tx, answers) = mpsc::unbounded_channel();
    let actions = &settings.file.actions;
    let lead = Lead::new(
        MoveSettings {
            lead: settings.file.lead.clone(),
            resolved_reaction: session.desk.config().resolved_reaction.clone(),
            archive: actions.archive_incident.unwrap_or_default(),
            handoff_to: actions.handoff_to.clone(),
            assign: actions.assign.unwrap_or_default(),
            searchable: session.store.is_some(),
        },
        std::process::id().to_string(),
    );
    let mut dashboard = Dashboard {
        workspace: identity.team.clone(),
        session,
        view: View::default(),
        health: Connection::new(config.socket.connections),
        attention: HashSet::new(),
        header_pods: Vec::new(),
        keymap: options.keymap,
        theme: Theme::from_env(),
        bell: options.bell,
        notice: None,
        people: People::new(web.clone(), inputs_tx),
        web,
        moves: Moves::new(outbox),
        online: online_tx,
        lead,
        remind_experts: actions.remind_experts.unwrap_or(false),
        nudge_quiet: actions.nudge_quiet.unwrap_or(false),
        claims: actions.claims_on(),
        notice_tx,
        search: Search::spawn(settings.data_dir.clone(), answers_tx),
        settings,
    };
    dashboard.session.purge_in_background(now());
    // Clicks stored while no dashboard ran are answered now.
    dashboard.answer_clicks();
    dashboard.missing_pods(&missing);
    dashboard.warn_of_exposed_config();
    if let Some(s) = &dashboard.session.store {
        dashboard.moves.resume(&s.store, &s.writer);
    }
    dashboard.session.index_resolved();
    let mut channels = Channels {
        bus: dashboard.session.take_bus_inbox(),
        feed: dashboard.session.watch_store(),
        updates: None,
        connecting,
        inputs,
        reports,
        notices,
        answers,
    };
    if let Some(connected) = up {
        dashboard.on_connected(connected, &mut channels);
    }
    let mouse = dashboard.settings.file.ui.mouse.unwrap_or(false);
    dashboard.view.mouse = mouse;
    let mut terminal = TerminalGuard::enter(mouse)?;
    let result = dashboard
        .run(&mut terminal.terminal, channels, &mut shutdown, &mut gone)
        .await;
    drop(terminal);
    if let Err(e) = &result {
        tracing::error!(error = %e, "the dashboard stopped");
    }
    dashboard.session.close_bus().await;
    if let Some(s) = &dashboard.session.store {
        s.writer.flush();
    }
    result
}

/// Leaving before the UI opened (a signal, the terminal gone): what was stored stays.
fn left_early(session: &Session, why: &str) -> Result<()> {
    tracing::info!(why, "leaving, before the first frame");
    if let Some(s) = &session.store {
        s.writer.flush();
    }
    Ok(())
}

/// How often a loop holding Slack's events back for a store behind a flood looks again.
const STORE_CATCHING_UP: Duration = Duration::from_millis(20);

struct Dashboard {
    workspace: String,
    /// The desk, the store and the one path from Slack's events to them.
    session: Session,
    view: View,
    health: Connection,
    /// Swarms flagged for the lead (a new Sev1, a breach, a follow-up due) until seen.
    attention: HashSet<SwarmId>,
    /// The pods on the header as last drawn, for a click to find the one under it.
    header_pods: Vec<ui::PodLabel>,
    keymap: Keymap,
    theme: Theme,
    bell: bool,
    notice: Option<String>,
    people: People,
    web: Arc<WebClient>,
    moves: Moves,
    /// Whether Slack is connected: the outbox holds moves while it is not.
    online: watch::Sender<bool>,
    lead: Lead,
    remind_experts: bool,
    nudge_quiet: bool,
    /// Whether an expert's claim reaction assigns them (see `claims_on`).
    claims: bool,
    notice_tx: mpsc::UnboundedSender<String>,
    search: Search,
    settings: Arc<Settings>,
}

/// What the loop listens to besides the terminal.
struct Channels {
    /// What the team bus says.
    bus: Option<mpsc::UnboundedReceiver<crate::bus::BusIn>>,
    /// What the other processes on this store receive.
    feed: Option<crate::store::Feed>,
    updates: Option<mpsc::Receiver<Update>>,
    connecting: Option<mpsc::Receiver<Attempt>>,
    inputs: mpsc::UnboundedReceiver<Input>,
    reports: mpsc::UnboundedReceiver<ActionUpdate>,
    notices: mpsc::UnboundedReceiver<String>,
    answers: mpsc::UnboundedReceiver<search::Answer>,
}

impl Dashboard {
    async fn run(
        &mut self,
        terminal: &mut Term,
        mut channels: Channels,
        shutdown: &mut Shutdown,
        gone: &mut Gone,
    ) -> Result<()> {
        let mut keys = EventStream::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut beat = tokio::time::interval(crate::session::BEAT_EVERY);
        let mut dirty = true;
        let mut first = true;
        loop {
            if dirty {
                self.draw(terminal)?;
                dirty = false;
                if first {
                    first = false;
                    let swarms = self.session.desk.swarms().count();
                    let ms = crate::since_start().as_secs_f64() * 1e3;
                    tracing::info!(ms, swarms, "first frame drawn");
                }
            }
            tokio::select! {
                key = keys.next() => match key {
                    Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                        if self.on_key(k) {
                            return Ok(());
                        }
                        if std::mem::take(&mut self.view.redraw) {
                            // Forget what ratatui thinks is on screen: every cell is sent.
                            terminal.clear()?;
                        }
                        dirty = true;
                    }
                    Some(Ok(Event::Paste(text))) => {
                        self.notice = None;
                        let commands = self.lead.on_paste(&mut self.view, &text);
                        commands.into_iter().for_each(|c| self.carry_out(c));
                        dirty = true;
                    }
                    // Moves and drags are reported too (the capture asks for all): they
                    // change nothing, so they draw nothing.
                    Some(Ok(Event::Mouse(m))) if matches!(
                        m.kind,
                        MouseEventKind::Down(_) | MouseEventKind::ScrollUp | MouseEventKind::ScrollDown
                    ) => {
                        if self.on_mouse(m, terminal.size()?) {
                            return Ok(());
                        }
                        dirty = true;
                    }
                    Some(Ok(Event::Resize(..))) => dirty = true,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e).wrap_err("reading the terminal"),
                    None => return Ok(()),
                },
                // A store behind a flood: Slack's events wait in the client's spill file
                // a moment rather than in the writer's memory.
                update = link::next(&mut channels.updates), if !self.session.store_behind() => {
                    let Some(update) = update else {
                        color_eyre::eyre::bail!("the Slack client stopped");
                    };
                    self.on_update(update);
                    // Drain a burst before drawing once (capped, so keys stay responsive).
                    if let Some(updates) = channels.updates.as_mut() {
                        for _ in 0..256 {
                            if self.session.store_behind() {
                                break;
                            }
                            match updates.try_recv() {
                                Ok(u) => self.on_update(u),
                                Err(_) => break,
                            }
                        }
                    }
                    dirty = true;
                }
                attempt = link::next(&mut channels.connecting) => {
                    match attempt {
                        Some(Attempt::Up(c)) => {
                            channels.connecting = None;
                            self.on_connected(*c, &mut channels);
                        }
                        // Shown where connection trouble always shows: the header.
                        Some(Attempt::Failed { error, retry_in, attempts }) => {
                            self.health.unreachable(&error, retry_in, attempts)
                        }
                        None => channels.connecting = None,
                    }
                    dirty = true;
                }
                Some(stored) = crate::session::next_stored(&mut channels.feed) => {
                    // The app's stream is alive, through another process on the store.
                    self.health.event_arrived();
                    let at = now();
                    for json in &stored {
                        let events = self.session.ingest_stored(json, at);
                        self.notice_events(&events);
                    }
                    dirty = true;
                }
                Some(said) = crate::session::next_said(&mut channels.bus) => {
                    self.on_bus(said);
                    // A restart reads the stream's backlog: a burst, drawn once.
                    if let Some(bus) = channels.bus.as_mut() {
                        for _ in 0..256 {
                            match bus.try_recv() {
                                Ok(said) => self.on_bus(said),
                                Err(_) => break,
                            }
                        }
                    }
                    dirty = true;
                }
                _ = beat.tick() => {
                    self.session.beat(self.health.connected() as u32, now());
                }
                Some(input) = channels.inputs.recv() => {
                    self.session.learn(input, now());
                    dirty = true;
                }
                Some(mut report) = channels.reports.recv() => {
                    for event in std::mem::take(&mut report.landed) {
                        let events = self.session.ingest(&Incoming::landed(event), now());
                        self.notice_events(&events);
                    }
                    let writer = self.session.store.as_ref().map(|s| &s.writer);
                    self.moves.on_report(report, writer);
                    dirty = true;
                }
                Some(notice) = channels.notices.recv() => {
                    self.notice = Some(notice);
                    dirty = true;
                }
                Some(answer) = channels.answers.recv() => {
                    if let Some((query, found)) = self.search.on_answer(answer) {
                        // Never over a dialog the lead opened meanwhile (a reply typed).
                        if self.view.dialog.is_none() {
                            lead::show_found(&mut self.view, query, found);
                        } else {
                            self.notice = Some(format!("Search for “{query}” found {}: S to search again.", found.len()));
                        }
                    }
                    dirty = true;
                }
                _ = tick.tick() => {
                    self.health.store(self.session.store_trouble());
                    if self.session.settle_company(now()).is_some() {
                        let company = self.session.company();
                        self.health.split(company.is_split().then(|| company.others()));
                    }
                    let events = self.session.desk.tick(now());
                    self.notice_events(&events);
                    // Ages and countdowns on screen move every second.
                    dirty = true;
                }
                _ = tokio::time::sleep(STORE_CATCHING_UP), if self.session.store_behind() => {}
                why = shutdown.next() => {
                    tracing::info!(why, "leaving");
                    return Ok(());
                }
                // Whatever the lead was doing: moves made are in the store's outbox.
                () = gone.wait() => {
                    tracing::info!(why = "the terminal went away", "leaving");
                    return Ok(());
                }
            }
        }
    }

    fn draw(&mut self, terminal: &mut Term) -> Result<()> {
        let now = now();
        if self.session.store.is_some() {
            let shown = match self.view.screen {
                Screen::Detail => self.view.selected.clone(),
                Screen::Triage => self
                    .view
                    .triage
                    .as_mut()
                    .and_then(|t| t.current(&self.session.desk)),
                _ => None,
            };
            self.search.like(shown, &self.session.desk);
        }
        let rows = self.view.rows(&self.session.desk, now);
        self.view.reconcile(&rows);
        let health = self.health.health();
        let (today, utc_offset) = today();
        let size = terminal.size()?;
        self.view.page = size.height.saturating_sub(5).max(1) as usize;
        if self.view.help {
            // `G` asked for "the end": from here `k` scrolls back from the real end.
            let screen = ratatui::layout::Rect::new(0, 0, size.width, size.height);
            let help = ui::help::Layout::new(&self.keymap, self.view.mouse, screen);
            self.view.help_scroll = help.first_line(self.view.help_scroll);
            self.view.page = help.visible.max(1);
        }
        let pending = self.moves.swarms();
        let screen = Screenful {
            desk: &self.session.desk,
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
            activity: self.moves.line(),
            similar: self.search.similar(),
        };
        let mut pods = Vec::new();
        terminal.draw(|frame| pods = ui::render(&screen, &self.view, frame))?;
        self.header_pods = pods;
        Ok(())
    }

    /// A key: the controller decides, the loop carries it out. `true`: quit.
    fn on_key(&mut self, key: crossterm::event::KeyEvent) -> bool {
        self.notice = None;
        let at = Moment {
            now: now(),
            offset: today().1,
        };
        let commands = self
            .lead
            .on_key(&mut self.view, key, &self.keymap, &self.session.desk, at);
        self.carry_all(commands)
    }

    /// The mouse, on a screen of `size`. `true`: quit.
    fn on_mouse(
        &mut self,
        event: crossterm::event::MouseEvent,
        size: ratatui::layout::Size,
    ) -> bool {
        if matches!(event.kind, MouseEventKind::Down(_)) {
            // A click is the lead acting, as a key is: the last notice is read.
            self.notice = None;
        }
        let at = Moment {
            now: now(),
            offset: today().1,
        };
        if self.click_pod(&event) {
            return false;
        }
        let screen = ratatui::layout::Rect::new(0, 0, size.width, size.height);
        let commands = self
            .lead
            .on_mouse(&mut self.view, event, &self.session.desk, at, screen);
        self.carry_all(commands)
    }

    /// A click on a pod in the header shows that pod (on the one shown: every pod); on
    /// the count of pods, the next one. `true`: it was such a click.
    fn click_pod(&mut self, event: &crossterm::event::MouseEvent) -> bool {
        let view = &mut self.view;
        let free = view.dialog.is_none() && !view.help && view.command.is_none() && !view.filtering;
        if event.kind != MouseEventKind::Down(crossterm::event::MouseButton::Left)
            || event.row != 0
            || !free
        {
            return false;
        }
        let Some(label) = self
            .header_pods
            .iter()
            .find(|l| l.columns.contains(&event.column))
        else {
            return false;
        };
        view.pod = match &label.channel {
            Some(_) if label.shown => None,
            Some(channel) => Some(channel.clone()),
            None => {
                let pods: Vec<String> = self
                    .session
                    .desk
                    .pods()
                    .map(|p| p.channel.clone())
                    .collect();
                view.next_pod(&pods)
            }
        };
        true
    }

    /// Carries out the controller's commands. `true`: one was to quit.
    fn carry_all(&mut self, commands: Vec<Command>) -> bool {
        let mut quit = false;
        for command in commands {
            match command {
                Command::Quit => quit = true,
                command => self.carry_out(command),
            }
        }
        quit
    }

    fn carry_out(&mut self, command: Command) {
        match command {
            Command::Send(action) => {
                let writer = self.session.store.as_ref().map(|s| &s.writer);
                self.moves.send(action, writer);
            }
            Command::Search { query } => {
                self.search.ask(Question::Words { query });
            }
            Command::Browse { swarm } => self.browse(&swarm),
            Command::Open { link } => self.notice = Some(terminal::opened(&link, None)),
            Command::AskPresence { users } => self.people.ask_presence(users),
            Command::Seen(swarm) => {
                self.attention.remove(&swarm);
            }
            Command::Notice(text) => self.notice = Some(text),
            Command::Quit => {}
        }
    }

    fn on_update(&mut self, update: Update) {
        match update {
            Update::Status(status) => {
                let online = status.connected > 0;
                let _ = self.online.send(online);
                self.moves.set_online(online);
                self.session.beat(status.connected as u32, now());
                self.health.status(status);
            }
            Update::Company {
                app_connections,
                ours,
            } => {
                self.session.beat(ours, now());
                self.session.on_company(app_connections, ours, now());
            }
            Update::Covered { through_us } => self.session.on_covered(through_us),
            Update::Event(incoming) => {
                self.health.event_arrived();
                if let Some(user) = incoming.author() {
                    self.people.ask_name(&self.session.desk, user);
                }
                let events = self.session.ingest(&incoming, now());
                self.notice_events(&events);
            }
        }
    }

    /// One word from the team bus: an event for the desk, or the bus's health.
    fn on_bus(&mut self, said: crate::bus::BusIn) {
        if let crate::bus::BusIn::FellBehind { .. } = said {
            self.notice = Some("The team bus no longer holds all this lead missed (its retention passed): the rest comes from Slack's history.".into());
        }
        let mut events = self.session.on_bus(said, now());
        // A claim heard over the bus was received on another machine, whose dashboard
        // makes it (two machines racing to post it could both find nothing and post).
        events.retain(|e| !matches!(e.kind, LifecycleKind::Claimed { .. }));
        self.notice_events(&events);
        self.health.bus(self.session.bus_up());
    }

    /// Flags what needs the lead now: a new Sev1, a breach, a follow-up due, an expert's
    /// decline or silence; and carries out what experts said from Slack.
    fn notice_events(&mut self, events: &[Lifecycle]) {
        self.answer_clicks();
        let now = now();
        let mut ring = false;
        for e in events {
            let id = e.swarm();
            let fresh = now.secs_since(e.at) <= FRESH_SECS;
            match &e.kind {
                LifecycleKind::SwarmOpened { urgency, .. }
                    if *urgency == Urgency::Sev1 && fresh =>
                {
                    self.attention.insert(id);
                    ring = true;
                }
                LifecycleKind::SlaBreached { .. } if fresh => {
                    self.attention.insert(id);
                    ring = true;
                }
                // Indexed for search by the session, which saw it resolve.
                LifecycleKind::Resolved { .. } | LifecycleKind::Withdrawn => {
                    self.attention.remove(&id);
                }
                LifecycleKind::FollowUpDue { .. } if fresh => {
                    self.remind(e, &id);
                    self.attention.insert(id);
                    ring = true;
                }
                // Told to the lead who asked (every lead, when the ask named none).
                LifecycleKind::Declined {
                    expert,
                    reason,
                    lead,
                } if fresh && self.asked_by_me(lead.as_deref()) => {
                    let name = self.session.desk.name_of(expert).to_string();
                    let case = e.case.clone().unwrap_or_default();
                    self.notice = Some(format!(
                        "{name} declined {case}: {}. Pick someone else.",
                        reason.label()
                    ));
                    self.offer_next_expert(&id);
                    self.attention.insert(id);
                    ring = true;
                }
                LifecycleKind::AskUnanswered { expert }
                    if fresh && self.ask_is_mine(&id, expert) =>
                {
                    let name = self.session.desk.name_of(expert).to_string();
                    let case = e.case.clone().unwrap_or_default();
                    self.notice = Some(format!(
                        "{name} has not answered on {case}: press a to ask the next expert."
                    ));
                    self.attention.insert(id);
                    ring = true;
                }
                LifecycleKind::UpdateDue { .. } if fresh => {
                    let case = e.case.clone().unwrap_or_default();
                    self.notice = Some(format!(
                        "A stakeholder update on {case} is due: press U to post one."
                    ));
                    self.attention.insert(id);
                    ring = true;
                }
                LifecycleKind::Claimed { expert } if fresh => self.on_claimed(e, &id, expert),
                LifecycleKind::ExpertQuiet { expert, since } if fresh => {
                    self.nudge(e, &id, expert, *since)
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
        self.session.on_connected(&connected, now());
        if channels.bus.is_none() {
            // The first connection named the workspace: the bus could start.
            channels.bus = self.session.take_bus_inbox();
        }
        let missing = self.session.missing.clone();
        self.missing_pods(&missing);
        self.workspace = connected.identity.team.clone();
        self.people.load(&self.settings, &self.session.desk);
        channels.updates = Some(connected.updates);
    }

    /// The config's tokens are readable by others: said where the lead looks, once.
    fn warn_of_exposed_config(&mut self) {
        let settings = &self.settings;
        if let Some(path) = &settings.path
            && crate::config::tokens_exposed(path, &settings.file)
        {
            self.notice = Some(format!(
                "The config holds tokens and others can read it: run chmod 600 {}",
                path.display()
            ));
        }
    }

    fn missing_pods(&mut self, missing: &[String]) {
        if !missing.is_empty() {
            self.notice = Some(format!(
                "The bot is not in {}: type /invite @swarmdeck there.",
                missing.join(", ")
            ));
        }
    }

    /// Posts the experts' answers that clicks brought (see [`Session::take_replies`]):
    /// once per ask on this store, and looked for in Slack first (another machine's
    /// swarmdeck may have heard the same click).
    fn answer_clicks(&mut self) {
        for reply in self.session.take_replies(now()) {
            // Each click once on this store (a failed answer can be clicked again), and
            // never while this ask's answer is still on its way.
            let key = format!("{}:{}", reply.ask, reply.click);
            if self.moves.is_pending(&format!("answer-{}", reply.ask))
                || !self.first_to("dashboard-answers", &key, now().secs())
            {
                continue;
            }
            let Some(swarm) = self.session.desk.by_id(&reply.swarm) else {
                continue;
            };
            let name = self.session.desk.name_of(&reply.expert).to_string();
            let action = self.lead.mover(now()).answer(swarm, &reply, &name);
            self.send(action);
        }
    }

    /// An expert claimed a request with the claim reaction: their assignment, once.
    fn on_claimed(&mut self, e: &Lifecycle, id: &SwarmId, expert: &str) {
        if !self.claims || !self.first_to("dashboard-claimed", &e.key, e.at.secs()) {
            return;
        }
        let Some(swarm) = self.session.desk.by_id(id) else {
            return;
        };
        let name = self.session.desk.name_of(expert).to_string();
        let reaction = self.session.desk.config().claim_reaction.clone();
        let action = self
            .lead
            .mover(now())
            .claim(swarm, expert, &name, &reaction, e.at);
        self.send(action);
    }

    /// An assigned expert has been quiet: one nudge in the thread, if the config asks.
    fn nudge(&mut self, e: &Lifecycle, id: &SwarmId, expert: &str, since: Ts) {
        if !self.nudge_quiet || !self.first_to("dashboard-nudges", &e.key, e.at.secs()) {
            return;
        }
        let Some(swarm) = self.session.desk.by_id(id) else {
            return;
        };
        let name = self.session.desk.name_of(expert).to_string();
        let action = self.lead.mover(now()).nudge(swarm, expert, &name, since);
        self.send(action);
    }

    /// Whether an ask by `asker` is this lead's to follow up: theirs, or nobody's.
    fn asked_by_me(&self, asker: Option<&str>) -> bool {
        asker.is_none() || asker == self.settings.file.lead.as_deref()
    }

    /// Whether the swarm's unanswered ask to `expert` is this lead's (see [`Self::asked_by_me`]).
    fn ask_is_mine(&self, id: &SwarmId, expert: &str) -> bool {
        let swarm = self.session.desk.by_id(id);
        let ask = swarm.and_then(|s| s.asks.iter().rev().find(|a| a.expert == expert));
        ask.is_some_and(|a| self.asked_by_me(a.lead.as_deref()))
    }

    /// After a decline, the picker on the next suggestion, unless the lead is in another
    /// dialog or someone has it already.
    fn offer_next_expert(&mut self, id: &SwarmId) {
        let Some(swarm) = self.session.desk.by_id(id).filter(|s| s.is_open()) else {
            return;
        };
        if self.view.dialog.is_some() || !swarm.experts.is_empty() {
            return;
        }
        self.view.dialog = Some(ui::dialog::Dialog::Pick(ui::dialog::Picker {
            swarm: id.clone(),
            unassign: false,
            query: String::new(),
            selected: 0,
        }));
    }

    /// Whether this process is the first on its store to act on `key` (in `what`): with
    /// no store there is nobody to share with.
    fn first_to(&self, what: &str, key: &str, at: i64) -> bool {
        let Some(s) = &self.session.store else {
            return true;
        };
        s.store.claim(what, key, at).unwrap_or_else(|err| {
            tracing::warn!(error = %err, what, key, "could not record who acts; acting anyway (the post is looked for in Slack first)");
            true
        })
    }

    /// Queues a move of the desk's own (an answer, a claim, a nudge).
    fn send(&mut self, action: crate::domain::moves::Action) {
        let writer = self.session.store.as_ref().map(|s| &s.writer);
        self.moves.send(action, writer);
    }

    /// A follow-up fell due: remind the assigned experts in the thread, once (if asked).
    fn remind(&mut self, e: &Lifecycle, id: &SwarmId) {
        if !self.remind_experts {
            return;
        }
        let (Some(s), Some(swarm)) = (&self.session.store, self.session.desk.by_id(id)) else {
            return;
        };
        match s.store.claim("dashboard-reminders", &e.key, e.at.secs()) {
            Ok(true) => {
                let action = self.lead.mover(now()).remind(swarm);
                self.moves.send(action, Some(&s.writer));
            }
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %err, "could not record a reminder; not sent"),
        }
    }

    /// Opens the thread in a browser where there is one; otherwise shows the links.
    fn browse(&self, id: &SwarmId) {
        let Some(swarm) = self.session.desk.by_id(id) else {
            return;
        };
        let (web, tx) = (self.web.clone(), self.notice_tx.clone());
        let (channel, ts) = (swarm.channel.clone(), swarm.thread_ts.to_string());
        let case_link = swarm.request.link.clone();
        tokio::spawn(async move {
            let permalink = slack::directory::permalink(&web, &channel, &ts).await.ok();
            let Some(url) = permalink.or(case_link.clone()) else {
                let _ = tx.send("No link for this swarm: Slack gave no permalink and the request has no case link.".into());
                return;
            };
            let _ = tx.send(terminal::opened(&url, case_link.as_deref()));
        });
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
