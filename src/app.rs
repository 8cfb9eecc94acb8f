//! The one loop: terminal input, Slack updates, ticks and signals in one `select!`; the
//! desk is changed only here, and a frame is drawn only when something changed or a
//! visible timer ticked. The terminal is the lead's: it is restored on every way out.

use crate::config::Settings;
use crate::domain::{Desk, Input, Lifecycle, LifecycleKind, Ts, Urgency};
use crate::shutdown_signal;
use crate::slack::{self, Status, Update, WebClient, translate::Translator, wire};
use crate::ui::keymap::{Intent, Keymap};
use crate::ui::theme::Theme;
use crate::ui::view::{Outcome, Screen, SwarmKey, View};
use crate::ui::{self, Health, Screenful};
use chrono::{Local, Offset, TimeZone, Utc};
use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{Event, EventStream, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::collections::HashSet;
use std::io::Stdout;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

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
    eprintln!("swarmdeck: connecting to Slack at {} …", settings.api_url);
    let session = crate::session::open(&settings, now()).await?;
    let (connected, desk) = (session.connected, session.desk);
    let (names_tx, names_rx) = mpsc::unbounded_channel();
    load_people(connected.web.clone(), names_tx.clone());
    let notice = (!session.missing.is_empty()).then(|| {
        format!(
            "The bot is not in {}: type /invite @swarmdeck there.",
            session.missing.join(", ")
        )
    });
    let mut terminal = TerminalGuard::enter()?;
    let mut dashboard = Dashboard {
        translator: session.translator,
        workspace: connected.identity.team.clone(),
        desk,
        view: View::default(),
        health: Connection::default(),
        attention: HashSet::new(),
        keymap: options.keymap,
        theme: Theme::from_env(),
        bell: options.bell,
        notice,
        names_asked: HashSet::new(),
        names_tx,
        web: connected.web.clone(),
        threads: connected.threads.clone(),
    };
    let result = dashboard
        .run(&mut terminal.terminal, connected.updates, names_rx)
        .await;
    drop(terminal);
    result
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
    threads: slack::Threads,
}

type Term = Terminal<CrosstermBackend<Stdout>>;

impl Dashboard {
    async fn run(
        &mut self,
        terminal: &mut Term,
        mut updates: mpsc::Receiver<Update>,
        mut names: mpsc::UnboundedReceiver<Input>,
    ) -> Result<()> {
        let mut keys = EventStream::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        let mut dirty = true;
        loop {
            if dirty {
                self.draw(terminal)?;
                dirty = false;
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
                update = updates.recv() => {
                    let Some(update) = update else {
                        color_eyre::eyre::bail!("the Slack client stopped");
                    };
                    self.on_update(update);
                    // Drain a burst before drawing once (capped, so keys stay responsive).
                    for _ in 0..256 {
                        match updates.try_recv() {
                            Ok(u) => self.on_update(u),
                            Err(_) => break,
                        }
                    }
                    dirty = true;
                }
                Some(input) = names.recv() => {
                    self.desk.apply(input, now());
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
        let rows = self.view.rows(&self.desk, now);
        self.view.reconcile(&rows);
        let health = self.health.health();
        let (today, utc_offset) = today();
        let size = terminal.size()?;
        self.view.page = size.height.saturating_sub(5).max(1) as usize;
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
        };
        terminal.draw(|frame| ui::render(&screen, &self.view, frame))?;
        Ok(())
    }

    fn on_key(&mut self, key: crossterm::event::KeyEvent) -> Outcome {
        self.notice = None;
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
            Update::Status(status) => self.health.status = Some(status),
            Update::Event(incoming) => {
                self.health.last_event = Some(Instant::now());
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
                    self.threads.follow(&e.channel, &ts);
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
                    self.threads.unfollow(&e.channel, &ts);
                    self.attention.remove(&key);
                }
                LifecycleKind::Reopened { .. } => self.threads.follow(&e.channel, &ts),
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
