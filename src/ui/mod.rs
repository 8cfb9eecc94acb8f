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

/// Draws the screen; answers the pods the header drew where, for a click to find.
pub fn render(s: &Screenful<'_>, view: &View, frame: &mut Frame<'_>) -> Vec<PodLabel> {
    let [header, body, footer] = areas(frame.area());
    let pods = render_header(s, view, frame, header);
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
    pods
}

/// Below this many columns the header leaves out what the lead can do without.
const NARROW: u16 = 100;

/// What the title keeps of the top line while the store is in trouble: the name and the
/// start of the workspace.
const STORE_TITLE: usize = 16;

/// How the header names the pods, from the most to the least it says: each is tried in
/// turn until one fits, then only the pod shown or their count (`2 billing · 4 pods`), so
/// a narrow terminal loses detail, never half a word.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PodNames {
    /// `1 api 2 billing 3 mobile`
    Full,
    /// `1 api 2 bil 3 mob`: the number key and enough of the name to tell them apart.
    Short,
}

/// Characters a short pod name keeps.
const SHORT_POD: usize = 3;

/// One label of the header's pods, where it is drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodLabel {
    /// The columns it takes on the header's top line.
    pub columns: std::ops::Range<u16>,
    /// Its pod; none for the count of pods (`4 pods`).
    pub channel: Option<String>,
    pub text: String,
    /// The pod the table is showing.
    pub shown: bool,
}

/// The pods on the header's top line as drawn, for a click to find the pod under it.
/// `area` is the header's (the frame's top two rows); [`render_header`] draws these.
fn header_pods(s: &Screenful<'_>, view: &View, area: Rect) -> Vec<PodLabel> {
    let (left, _) = header_split(s, area);
    let x = left.x + text::width(&title_prefix(s)) as u16;
    let room = left.right().saturating_sub(x) as usize;
    let pods: Vec<_> = s.desk.pods().collect();
    let shown = view.pod.as_deref();
    // Pods past the ninth have no number key: they show by name alone.
    let label = |i: usize, name: &str, names: PodNames| {
        let name = match names {
            PodNames::Short => name.chars().take(SHORT_POD).collect(),
            PodNames::Full => name.to_string(),
        };
        if i < 9 {
            format!("{} {name}", i + 1)
        } else {
            name
        }
    };
    let place = |texts: Vec<(Option<&str>, String)>| {
        let mut x = x;
        texts
            .into_iter()
            .map(|(channel, text)| {
                let w = text::width(&text) as u16;
                let columns = x..x + w;
                x += w + 1;
                PodLabel {
                    columns,
                    shown: channel.is_some() && channel == shown,
                    channel: channel.map(str::to_string),
                    text,
                }
            })
            .collect::<Vec<_>>()
    };
    for names in [PodNames::Full, PodNames::Short] {
        let texts: Vec<_> = pods
            .iter()
            .enumerate()
            .map(|(i, p)| (Some(p.channel.as_str()), label(i, &p.name, names)))
            .collect();
        let width = texts.iter().map(|(_, l)| text::width(l) + 1).sum::<usize>();
        if width <= room + 1 {
            return place(texts);
        }
    }
    // Too many to name: the one shown, and how many there are, whole or not at all.
    let count = crate::columns::count(pods.len(), "pod", "pods");
    let mut texts = Vec::new();
    if let Some(i) = pods.iter().position(|p| Some(p.channel.as_str()) == shown) {
        texts.push((shown, label(i, &pods[i].name, PodNames::Full)));
        texts.push((None, format!("· {count}")));
    } else {
        texts.push((None, count));
    }
    let width = texts.iter().map(|(_, l)| text::width(l) + 1).sum::<usize>();
    if pods.is_empty() || width > room + 1 {
        return Vec::new();
    }
    place(texts)
}

/// The top line's title area and connection area: the right side takes what it needs
/// within its share, the title the rest.
fn header_split(s: &Screenful<'_>, area: Rect) -> (Rect, Rect) {
    let h = s.health;
    let right = header_right(s, area.width);
    let right_width = right.iter().map(|s| text::width(&s.content)).sum::<usize>() as u16;
    // A split or the store's trouble may take most of the line: the lead must read it.
    let room = if h.store.is_some() {
        area.width.saturating_sub(STORE_TITLE as u16)
    } else if h.split.is_some() {
        area.width.saturating_sub(20)
    } else {
        area.width / 2
    };
    let right_width = right_width.min(room).min(area.width.saturating_sub(10));
    let left = Rect {
        width: area.width - right_width,
        height: 1,
        ..area
    };
    let right = Rect {
        x: area.x + left.width,
        width: right_width,
        height: 1,
        ..area
    };
    (left, right)
}

/// What the top line says before the pods.
fn title_prefix(s: &Screenful<'_>) -> String {
    format!("swarmdeck · {} · ", text::fit(s.workspace, 24))
}

/// The title and the pods on the top line's left: `area`, one line.
fn render_title(
    s: &Screenful<'_>,
    view: &View,
    frame: &mut Frame<'_>,
    header: Rect,
    area: Rect,
) -> Vec<PodLabel> {
    let t = s.theme;
    let prefix = title_prefix(s);
    let rest = prefix.trim_start_matches("swarmdeck").to_string();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("swarmdeck", t.title()),
            Span::raw(rest),
        ])),
        area,
    );
    if s.desk.pods().next().is_none() {
        let x = area.x + text::width(&prefix) as u16;
        if x < area.right() {
            let rect = Rect {
                x,
                width: area.right() - x,
                ..area
            };
            frame.render_widget(Paragraph::new(Span::styled("no pods yet", t.dim())), rect);
        }
        return Vec::new();
    }
    let labels = header_pods(s, view, header);
    for label in &labels {
        // The number is the key: it stands out from the name.
        let (key, name) = match label.text.split_once(' ') {
            Some((n, name)) if label.channel.is_some() && n.parse::<u8>().is_ok() => {
                (format!("{n} "), name.to_string())
            }
            _ => (String::new(), label.text.clone()),
        };
        let (key_style, name_style) = if label.shown {
            (t.selected(), t.selected())
        } else {
            (t.title(), ratatui::style::Style::new())
        };
        let rect = Rect {
            x: label.columns.start,
            width: label.columns.end - label.columns.start,
            ..area
        };
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(key, key_style),
                Span::styled(name, name_style),
            ])),
            rect,
        );
    }
    labels
}

/// The connection, the stream's and the store's state, as the top line's right side says
/// them at this width.
fn header_right<'a>(s: &Screenful<'a>, width: u16) -> Vec<Span<'a>> {
    let t = s.theme;
    let h = s.health;
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
    let wide = width >= 120;
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
    // A fresh event on a healthy connection says nothing the dot does not: on a narrow
    // header its room goes to the pods' names. A quiet minute is worth the words.
    let fresh = healthy && h.last_event_age.is_some_and(|a| a < 60);
    if h.store.is_none() && (width >= NARROW || !fresh) {
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
        let room = (width as usize)
            .saturating_sub(STORE_TITLE + rest + text::width(&what) + text::width(held))
            .max(12);
        let path = crate::columns::fit_middle(&store.path, room);
        right.insert(0, Span::styled(format!("{what}{path}{held}"), t.bad()));
    }
    right
}

fn render_header(
    s: &Screenful<'_>,
    view: &View,
    frame: &mut Frame<'_>,
    area: Rect,
) -> Vec<PodLabel> {
    let t = s.theme;
    let c = s.rows.counters;
    let count = |n: usize, label: &str, style| {
        Span::styled(format!("{n} {label}"), if n > 0 { style } else { t.dim() })
    };
    let follow_ups = crate::columns::count(c.follow_ups_due, "follow-up", "follow-ups");
    let mut counters = vec![
        count(c.open, "open", ratatui::style::Style::new()),
        Span::raw(" · "),
        count(c.unassigned, "unassigned", t.warning()),
        Span::raw(" · "),
        count(c.breaching, "breaching", t.bad()),
        Span::raw(" · "),
    ];
    // Said only when it happens (most shifts never see a quiet expert), early enough
    // to survive a narrow terminal.
    if c.quiet > 0 {
        counters.push(count(c.quiet, "quiet", t.warning()));
        counters.push(Span::raw(" · "));
    }
    counters.extend([
        count(c.due_soon, "due soon", t.warning()),
        Span::raw(" · "),
        count(c.needs_response, "to answer", t.attention()),
        Span::raw(" · "),
        Span::styled(
            follow_ups,
            if c.follow_ups_due > 0 {
                t.warning()
            } else {
                t.dim()
            },
        ),
    ]);
    let counters = Line::from(counters);
    let [_, bottom] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
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
    let (left_area, right_area) = header_split(s, area);
    let pods = render_title(s, view, frame, area, left_area);
    frame.render_widget(
        Paragraph::new(Line::from(header_right(s, area.width))).right_aligned(),
        right_area,
    );
    frame.render_widget(Paragraph::new(counters), bottom);
    pods
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
    // Most useful first: a narrow footer drops whole hints from the end.
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
        hints.extend([
            hint(Intent::Assign, "assign"),
            hint(Intent::Promote, "promote"),
            hint(Intent::Resolve, "resolve"),
            hint(Intent::Triage, "triage"),
        ]);
    }
    if !view.filter.is_empty() {
        // What is hidden matters more than any key.
        hints.insert(0, format!("filter “{}”", text::fit(&view.filter, 24)));
    }
    let kept = [hint(Intent::Help, "help"), hint(Intent::Quit, "quit")];
    let line = footer_line(hints, &kept, area.width as usize);
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

/// The footer's hints joined with ` · `: as many of `hints` as fit, in order, then
/// `kept`, which always stays (a lead must always find help and the way out).
fn footer_line(hints: Vec<String>, kept: &[String], width: usize) -> String {
    const SEP: usize = 3;
    let kept: Vec<&String> = kept.iter().filter(|h| !h.is_empty()).collect();
    let mut used = kept.iter().map(|h| text::width(h) + SEP).sum::<usize>();
    let mut line: Vec<&String> = Vec::new();
    for h in hints.iter().filter(|h| !h.is_empty()) {
        if used + text::width(h) + SEP > width + SEP {
            break;
        }
        used += text::width(h) + SEP;
        line.push(h);
    }
    line.extend(kept);
    line.iter()
        .map(|h| h.as_str())
        .collect::<Vec<_>>()
        .join(" · ")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DeskConfig, Pod};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// The header's pods, drawn `width` wide, and where header_pods says they are.
    fn drawn(pods: &[(&str, &str)], view: &View, width: u16) -> (String, Vec<PodLabel>) {
        let pods: Vec<Pod> = pods.iter().map(|(c, n)| Pod::discovered(c, n)).collect();
        let desk = Desk::new(DeskConfig::default(), pods);
        let (keymap, theme) = (Keymap::default(), Theme::new(false));
        let (attention, pending) = (HashSet::new(), HashSet::new());
        let rows = view.rows(&desk, Ts::from_secs(1_800_000_000));
        let health = Health {
            connected: 1,
            wanted: 1,
            last_event_age: Some(3),
            ..Health::default()
        };
        let s = Screenful {
            desk: &desk,
            rows: &rows,
            health: &health,
            workspace: "Acme",
            now: Ts::from_secs(1_800_000_000),
            today: Ts::from_secs(1_800_000_000),
            utc_offset: chrono::FixedOffset::east_opt(0).unwrap(),
            keymap: &keymap,
            theme: &theme,
            attention: &attention,
            notice: None,
            pending: &pending,
            activity: None,
            similar: &[],
        };
        let mut terminal = Terminal::new(TestBackend::new(width, 10)).unwrap();
        let mut labels = Vec::new();
        terminal
            .draw(|f| {
                labels = render(&s, view, f);
            })
            .unwrap();
        let top = (0..width)
            .map(|x| terminal.backend().buffer()[(x, 0)].symbol().to_string())
            .collect();
        (top, labels)
    }

    const PODS: [(&str, &str); 4] = [
        ("C1", "swarm-api"),
        ("C2", "swarm-billing"),
        ("C3", "swarm-mobile"),
        ("C4", "swarm-search"),
    ];

    #[test]
    fn a_click_on_a_pod_label_finds_the_pod_drawn_there() {
        for width in [200u16, 62, 50] {
            let (top, labels) = drawn(&PODS, &View::default(), width);
            assert!(!labels.is_empty(), "{width}: {top}");
            for label in &labels {
                let cells: String = top
                    .chars()
                    .skip(label.columns.start as usize)
                    .take(label.columns.len())
                    .collect();
                assert_eq!(cells, label.text, "{width} columns: {top}");
            }
        }
        let (_, wide) = drawn(&PODS, &View::default(), 200);
        let channels: Vec<_> = wide.iter().filter_map(|l| l.channel.as_deref()).collect();
        assert_eq!(channels, ["C1", "C2", "C3", "C4"]);
        assert_eq!(wide[1].text, "2 billing");
        let (top, short) = drawn(&PODS, &View::default(), 62);
        assert_eq!(short[1].text, "2 bil", "{top}");
        let (top, narrow) = drawn(&PODS, &View::default(), 50);
        assert_eq!(
            (narrow.len(), narrow[0].channel.as_deref()),
            (1, None),
            "{top}"
        );
        assert!(top.contains("· 4 pods"), "{top}");
    }

    #[test]
    fn the_footer_keeps_help_and_quit_and_drops_whole_hints() {
        let hints = vec!["Enter open".to_string(), "/ filter".into(), "s sort".into()];
        let kept = ["? help".to_string(), "q quit".into()];
        assert_eq!(
            footer_line(hints.clone(), &kept, 80),
            "Enter open · / filter · s sort · ? help · q quit"
        );
        assert_eq!(
            footer_line(hints.clone(), &kept, 40),
            "Enter open · / filter · ? help · q quit"
        );
        assert_eq!(footer_line(hints, &kept, 10), "? help · q quit");
    }
}
