//! The dashboard's views. Drawing is a pure function of the desk, the connection's
//! health and the view: `render(&Screenful, &View, frame)` changes nothing, so a
//! snapshot test sees exactly what the lead sees.

pub mod command;
mod detail;
pub mod dialog;
pub mod help;
pub mod keymap;
mod metrics;
mod rank;
mod table;
pub mod text;
pub mod theme;
pub mod triage;
pub mod view;

use crate::domain::{Desk, Ts};
use keymap::{Intent, Keymap};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use std::collections::HashSet;
use theme::Theme;
use view::{Screen, View};

/// The Slack connection as the header shows it, with times already turned into ages so
/// that drawing reads no clock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Health {
    pub connected: usize,
    pub wanted: usize,
    /// Seconds until the next connection attempt, while reconnecting.
    pub reconnect_in: Option<u64>,
    pub reconnects: u64,
    /// A state the lead must act on (a refused token, too many connections…).
    pub problem: Option<String>,
    /// Seconds since the last Slack event arrived.
    pub last_event_age: Option<u64>,
    /// Other consumers take part of the stream: how many connections they hold.
    pub split: Option<u32>,
    /// The team bus is configured and unreachable: the desk runs on Slack alone.
    pub bus_down: bool,
    /// The store takes no writes: what arrives stays on the desk and is written when it
    /// can be; the lead's moves wait until then.
    pub store: Option<StoreTrouble>,
}

/// Why the store takes no writes, as the header says it: `✗ store: <what> (<path>)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreTrouble {
    /// `disk full`, or what SQLite said.
    pub what: String,
    /// The store's file, as the lead would type it.
    pub path: String,
}

/// Everything a frame is drawn from.
pub struct Screenful<'a> {
    pub desk: &'a Desk,
    /// The table's rows for the view, computed once per frame (`View::rows`).
    pub rows: &'a view::Rows<'a>,
    pub health: &'a Health,
    pub workspace: &'a str,
    pub now: Ts,
    /// Where "today" began for the lead (local midnight), and its UTC offset.
    pub today: Ts,
    pub utc_offset: chrono::FixedOffset,
    pub keymap: &'a Keymap,
    pub theme: &'a Theme,
    /// Rows to highlight: a new Sev1, a fresh breach.
    pub attention: &'a HashSet<crate::domain::SwarmId>,
    /// A message for the lead in the footer (a failed call, a hint).
    pub notice: Option<&'a str>,
    /// Swarms with a move on its way to Slack.
    pub pending: &'a HashSet<crate::domain::SwarmId>,
    /// The latest news from the outbox, shown in the header.
    pub activity: Option<&'a Activity>,
    /// Resolved swarms like the one shown (detail, triage), from the store's search.
    pub similar: &'a [crate::domain::Similar],
}

/// What the outbox is doing, as one line for the lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    pub text: String,
    pub tone: Tone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Pending,
    Done,
    Failed,
}

impl Screenful<'_> {
    /// Pod channels in display order (for Tab and the number keys).
    pub fn pod_channels(&self) -> Vec<String> {
        self.desk.pods().map(|p| p.channel.clone()).collect()
    }
}

/// The screen's header, body and footer: drawing and a click's hit-testing both read it.
pub fn areas(screen: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(screen)
}

pub fn render(s: &Screenful<'_>, view: &View, frame: &mut Frame<'_>) {
    let [header, body, footer] = areas(frame.area());
    render_header(s, view, frame, header);
    match view.screen {
        Screen::List => table::render(s, view, frame, body),
        Screen::Detail => detail::render(s, view, frame, body),
        Screen::Metrics => metrics::render(s, frame, body),
        Screen::Triage => match &view.triage {
            Some(triage) => triage::render(s, triage, view.detail_scroll, frame, body),
            None => table::render(s, view, frame, body),
        },
    }
    render_footer(s, view, frame, footer);
    if let Some(d) = &view.dialog {
        dialog::render(s, d, frame);
    }
    if view.help {
        help::render(s, view, frame);
    }
}

/// What the title keeps of the top line while the store is in trouble: the name and the
/// start of the workspace.
const STORE_TITLE: usize = 16;

fn render_header(s: &Screenful<'_>, view: &View, frame: &mut Frame<'_>, area: Rect) {
    let t = s.theme;
    let h = s.health;
    let mut title = vec![
        Span::styled("swarmdeck", t.title()),
        Span::raw(" · "),
        Span::raw(text::fit(s.workspace, 24)),
        Span::raw(" · "),
    ];
    let pods: Vec<String> = s.desk.pods().map(|p| p.name.clone()).collect();
    match view.pod.as_ref().and_then(|c| s.desk.pod(c)) {
        Some(p) => title.push(Span::styled(format!("pod {}", p.name), t.attention())),
        None if pods.is_empty() => title.push(Span::styled("no pods yet", t.dim())),
        None => title.push(Span::raw(format!("pods {}", pods.join(" ")))),
    }
    let connection = if let Some(problem) = &h.problem {
        Span::styled(format!(" ✗ {}", text::fit(problem, 40)), t.bad())
    } else if h.connected == 0 && h.reconnects == 0 && h.reconnect_in.is_none() {
        Span::styled(format!(" ◌ 0/{} connecting", h.wanted), t.warning())
    } else if h.connected == 0 {
        let wait = h
            .reconnect_in
            .map_or(String::new(), |w| format!(" in {w}s"));
        Span::styled(format!(" ◌ 0/{} reconnecting{wait}", h.wanted), t.bad())
    } else {
        let style = if h.connected < h.wanted {
            t.warning()
        } else {
            t.ok()
        };
        Span::styled(format!(" ● {}/{} connected", h.connected, h.wanted), style)
    };
    let wide = area.width >= 120;
    let age = match h.last_event_age {
        None => "no events yet".to_string(),
        Some(a) if wide => format!("last event {} ago", text::duration(a as i64)),
        Some(a) => format!("event {} ago", text::duration(a as i64)),
    };
    let healthy = h.problem.is_none() && h.connected == h.wanted && h.connected > 0;
    let mut right = Vec::new();
    // A narrow header in store trouble gives a healthy connection's room to the store.
    if h.store.is_none() || wide || !healthy {
        right.push(connection);
    }
    if h.store.is_none() {
        right.push(Span::styled(format!(" · {age}"), t.dim()));
    }
    if h.bus_down {
        right.insert(0, Span::styled(" ⚠ team bus down ·", t.bad()));
    }
    if let Some(others) = h.split {
        // Before everything else on the right: what is missing matters more than ages.
        let warning = if wide {
            crate::company::warning(others)
        } else {
            crate::company::short_warning(others)
        };
        right.insert(0, Span::styled(format!(" {warning} ·"), t.bad()));
    }
    if wide && h.split.is_none() && h.store.is_none() {
        right.push(Span::styled(
            format!(" · {} reconnects", h.reconnects),
            t.dim(),
        ));
    }
    if let Some(store) = &h.store {
        // First, and in words whatever the width: the lead must know the moves wait. A
        // long path is cut in its middle, keeping the file's name.
        let rest = right.iter().map(|s| text::width(&s.content)).sum::<usize>();
        let what = format!(" ✗ store: {} (", store.what);
        let held = if right.is_empty() {
            ") — moves are held"
        } else {
            ") — moves are held ·"
        };
        let room = (area.width as usize)
            .saturating_sub(STORE_TITLE + rest + text::width(&what) + text::width(held))
            .max(12);
        let path = crate::columns::fit_middle(&store.path, room);
        right.insert(0, Span::styled(format!("{what}{path}{held}"), t.bad()));
    }
    let c = s.rows.counters;
    let count = |n: usize, label: &str, style| {
        Span::styled(format!("{n} {label}"), if n > 0 { style } else { t.dim() })
    };
    let counters = Line::from(vec![
        count(c.open, "open", ratatui::style::Style::new()),
        Span::raw(" · "),
        count(c.unassigned, "unassigned", t.warning()),
        Span::raw(" · "),
        count(c.breaching, "breaching", t.bad()),
        Span::raw(" · "),
        count(c.due_soon, "due soon", t.warning()),
        Span::raw(" · "),
        count(c.needs_response, "to answer", t.attention()),
        Span::raw(" · "),
        count(c.follow_ups_due, "follow-ups", t.warning()),
    ]);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let bottom = match s.activity {
        Some(a) => {
            let style = match a.tone {
                Tone::Pending => t.warning(),
                Tone::Done => t.ok(),
                Tone::Failed => t.bad(),
            };
            let width = (text::width(&a.text) as u16 + 1).min(area.width / 2);
            let [counters_area, activity_area] =
                Layout::horizontal([Constraint::Min(10), Constraint::Length(width)]).areas(bottom);
            frame.render_widget(
                Paragraph::new(Span::styled(text::fit(&a.text, width as usize), style))
                    .right_aligned(),
                activity_area,
            );
            counters_area
        }
        None => bottom,
    };
    let right_width = right.iter().map(|s| text::width(&s.content)).sum::<usize>() as u16;
    // A split or the store's trouble may take most of the line: the lead must read it.
    let room = if h.store.is_some() {
        area.width.saturating_sub(STORE_TITLE as u16)
    } else if h.split.is_some() {
        area.width.saturating_sub(20)
    } else {
        area.width / 2
    };
    let [left_area, right_area] = Layout::horizontal([
        Constraint::Min(10),
        Constraint::Length(right_width.min(room)),
    ])
    .areas(top);
    frame.render_widget(Paragraph::new(Line::from(title)), left_area);
    frame.render_widget(
        Paragraph::new(Line::from(right)).right_aligned(),
        right_area,
    );
    frame.render_widget(Paragraph::new(counters), bottom);
}

fn render_footer(s: &Screenful<'_>, view: &View, frame: &mut Frame<'_>, area: Rect) {
    if let Some(line) = &view.command {
        return command::render(s, line, frame, area);
    }
    let t = s.theme;
    if view.filtering {
        let line = Line::from(vec![
            Span::styled("filter: ", t.attention()),
            Span::raw(view.filter.clone()),
            Span::styled("▏", t.attention()),
            Span::styled("  Enter keep · Esc clear", t.dim()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some(notice) = s.notice {
        frame.render_widget(
            Paragraph::new(Span::styled(
                text::fit(notice, area.width as usize),
                t.warning(),
            )),
            area,
        );
        return;
    }
    let hint = |intent: Intent, what: &str| {
        s.keymap
            .key_for(intent)
            .map(|k| format!("{k} {what}"))
            .unwrap_or_default()
    };
    let mut hints = match view.screen {
        Screen::List => vec![
            hint(Intent::Open, "open"),
            hint(Intent::Filter, "filter"),
            if area.width >= 100 {
                hint(Intent::Sort, &format!("sort ({})", view.sort.label()))
            } else {
                hint(Intent::Sort, "sort")
            },
            hint(Intent::NextPod, "pods"),
            hint(Intent::Metrics, "metrics"),
        ],
        Screen::Detail => vec![
            hint(Intent::Close, "back"),
            hint(Intent::Up, "older"),
            hint(Intent::Down, "newer"),
        ],
        Screen::Metrics => vec![hint(Intent::Metrics, "back"), hint(Intent::NextPod, "pods")],
        Screen::Triage => vec![
            hint(Intent::Close, "leave triage"),
            hint(Intent::Up, "older"),
            hint(Intent::Down, "newer"),
        ],
    };
    if matches!(view.screen, Screen::List | Screen::Detail) {
        let moves = [
            hint(Intent::Assign, "assign"),
            hint(Intent::Promote, "promote"),
            hint(Intent::Resolve, "resolve"),
            hint(Intent::Triage, "triage"),
        ];
        if area.width >= 120 {
            hints.extend(moves);
        }
    }
    hints.extend([hint(Intent::Help, "help"), hint(Intent::Quit, "quit")]);
    if !view.filter.is_empty() {
        hints.insert(0, format!("filter “{}”", view.filter));
    }
    let line = hints
        .into_iter()
        .filter(|h| !h.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    frame.render_widget(
        Paragraph::new(Span::styled(text::fit(&line, area.width as usize), t.dim())),
        area,
    );
}

/// Where [`popup`] puts a box of `lines` lines on `area` (a click reads it too).
pub(crate) fn popup_rect(area: Rect, width: u16, lines: usize, down: u16) -> Rect {
    let width = width.min(area.width);
    let height = (lines as u16 + 2).min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / down.max(1),
        width,
        height,
    }
}

/// A bordered box over the screen, `width` wide and as tall as its lines, centred
/// across and `1/down` of the way down.
pub(crate) fn popup(
    frame: &mut Frame<'_>,
    width: u16,
    title: &str,
    lines: Vec<Line<'_>>,
    theme: &Theme,
    down: u16,
) {
    let rect = popup_rect(frame.area(), width, lines.len(), down);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_string())
                .title_style(theme.title()),
        ),
        rect,
    );
}
