//! Per pod and overall, today so far and the seven whole days before it: intake, open,
//! first response and resolution (p50/p90), support vs customer time, days to close and
//! the same-day rate; below, intake per hour (24 h) and per day (8 days). From 152
//! columns the two periods sit side by side on one row per pod (with breaches); below
//! that they are two tables, one above the other. The figures come from
//! `domain::metrics::live`; this only lays them out.

use super::Screenful;
use super::text::{duration, fit, width};
use super::theme::Theme;
use crate::domain::metrics::{Live, Metrics, Report, live};
use chrono::Datelike;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Paragraph, Sparkline};

/// A figure's column: its header, its width, and how a row's metrics read in it.
struct Column {
    header: &'static str,
    width: usize,
    /// Shown only when both periods sit side by side (there is room to spare).
    wide_only: bool,
    cell: fn(&Metrics, Period, &Theme) -> (String, Style),
}

/// Which of the two periods a cell is in.
#[derive(Clone, Copy, PartialEq)]
enum Period {
    /// Today so far: its day is not over.
    Today,
    /// The seven whole days before today.
    Week,
}

const COLUMNS: [Column; 8] = [
    Column {
        header: "intake",
        width: 6,
        wide_only: false,
        cell: |m, _, _| (m.opened.to_string(), Style::default()),
    },
    Column {
        header: "open",
        width: 4,
        wide_only: false,
        cell: |m, _, _| (m.open.to_string(), Style::default()),
    },
    Column {
        header: "1st resp",
        width: 11,
        wide_only: false,
        cell: |m, _, _| {
            let cell = pair(m.first_response_p50_s, m.first_response_p90_s);
            (cell, Style::default())
        },
    },
    Column {
        header: "resolution",
        width: 11,
        wide_only: false,
        cell: |m, _, _| {
            let cell = pair(m.resolution_p50_s, m.resolution_p90_s);
            (cell, Style::default())
        },
    },
    Column {
        header: "support/cust",
        width: 12,
        wide_only: false,
        cell: |m, _, _| {
            let cell = if m.opened == 0 {
                "—".into()
            } else {
                format!(
                    "{}/{}",
                    duration(m.support_time_s),
                    duration(m.customer_time_s)
                )
            };
            (cell, Style::default())
        },
    },
    Column {
        header: "close",
        width: 5,
        wide_only: false,
        cell: |m, _, _| {
            // A swarm closed within the hour is not "0.0" days.
            let cell = match m.days_to_close {
                None => "—".into(),
                Some(d) if d < 0.05 => "<0.1d".into(),
                Some(d) => format!("{d:.1}d"),
            };
            (cell, Style::default())
        },
    },
    Column {
        header: "same day",
        width: 8,
        wide_only: false,
        // Today is not over, and a percentage would read as a verdict at 09:00 on
        // swarms opened at 08:55: today shows how many of its intake are resolved
        // so far; the week, whose days are over, shows the rate.
        cell: |m, period, _| {
            let cell = match (period, m.same_day.rate()) {
                (_, None) => "—".into(),
                (Period::Today, Some(_)) => {
                    format!("{}/{}", m.same_day.resolved, m.same_day.opened)
                }
                (Period::Week, Some(r)) => format!("{:.0}%", r * 100.0),
            };
            (cell, Style::default())
        },
    },
    Column {
        header: "breach",
        width: 6,
        wide_only: true,
        cell: |m, _, t| {
            let style = if m.breaches > 0 {
                t.bad()
            } else {
                Style::default()
            };
            (m.breaches.to_string(), style)
        },
    },
];

/// The narrowest body that holds both periods side by side with a readable pod name.
const WIDE: u16 = 152;
/// A pod name gets at least this much before periods are stacked instead.
const POD_MIN: usize = 8;
/// Rows of charts worth drawing (a title and three rows of bars).
const CHARTS_MIN: u16 = 4;
/// Charts beyond this height only stretch the bars.
const CHARTS_MAX: u16 = 14;
/// What the columns mean, most needed first: as many as fit, each whole.
const LEGEND: [&str; 4] = [
    "times p50/p90",
    "support/cust: with support vs waiting on the customer",
    "close: mean days to resolve",
    "same day: resolved the day opened ÷ opened",
];

pub fn render(s: &Screenful<'_>, frame: &mut Frame<'_>, area: Rect) {
    let figures = live(s.desk, s.now, s.today, s.utc_offset);
    let wide = area.width >= WIDE;
    let pods = figures.today.pods.len();
    // Each layout's height for `k` pod rows (plus a "more pods" line when cut).
    let height = |k: usize| -> u16 {
        let more = usize::from(k < pods);
        let rows = if wide {
            // title, period labels, header, pods, all pods, legend
            5 + k + more
        } else {
            // per period: title, header, pods, all pods; then the legend
            2 * (3 + k + more) + 1
        };
        rows as u16
    };
    let shown = (0..=pods)
        .rev()
        .find(|k| height(*k) <= area.height)
        .unwrap_or(0);
    let tables = height(shown).min(area.height);
    let rest = area.height - tables;
    let charts = if rest >= CHARTS_MIN {
        rest.min(CHARTS_MAX)
    } else {
        0
    };
    let [tables_area, charts_area, _] = Layout::vertical([
        Constraint::Length(tables),
        Constraint::Length(charts),
        Constraint::Min(0),
    ])
    .areas(area);
    let t = s.theme;
    if wide {
        side_by_side(&figures, shown, t, frame, tables_area);
    } else {
        stacked(&figures, shown, t, frame, tables_area);
    }
    if charts > 0 {
        render_charts(s, &figures, frame, charts_area);
    }
}

fn side_by_side(f: &Live, shown: usize, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let columns: Vec<&Column> = COLUMNS.iter().collect();
    let group = group_width(&columns);
    let pod_w = (area.width as usize)
        .saturating_sub(2 * group + 2)
        .max(POD_MIN);
    // The pod's cell, then each period behind a rule.
    let row = |first: Span<'static>, today: Vec<Span<'static>>, week: Vec<Span<'static>>| {
        Line::from(
            [
                vec![first, Span::raw("│")],
                today,
                vec![Span::raw("│")],
                week,
            ]
            .concat(),
        )
    };
    let label = |text: &str| {
        vec![Span::styled(
            format!(" {}", pad_left(text, group - 1)),
            t.title(),
        )]
    };
    let mut lines = vec![
        row(
            Span::raw(" ".repeat(pod_w)),
            label("today so far"),
            label("7 days before today (whole days)"),
        ),
        row(
            Span::raw(pad_left("pod", pod_w)),
            header_cells(&columns),
            header_cells(&columns),
        )
        .style(t.header_row()),
    ];
    for (d, w) in f.today.pods.iter().zip(&f.week.pods).take(shown) {
        lines.push(row(
            Span::raw(pad_left(&d.pod, pod_w)),
            cells(&d.metrics, Period::Today, &columns, t),
            cells(&w.metrics, Period::Week, &columns, t),
        ));
    }
    if shown < f.today.pods.len() {
        lines.push(more(f.today.pods.len() - shown, t));
    }
    lines.push(
        row(
            Span::raw(pad_left("all pods", pod_w)),
            cells(&f.today.overall, Period::Today, &columns, t),
            cells(&f.week.overall, Period::Week, &columns, t),
        )
        .style(t.header_row()),
    );
    lines.push(legend(area.width as usize, t));
    frame.render_widget(
        Paragraph::new(lines).block(titled(" per pod: today and the week before ", t)),
        area,
    );
}

fn stacked(f: &Live, shown: usize, t: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let columns: Vec<&Column> = COLUMNS.iter().filter(|c| !c.wide_only).collect();
    let pod_w = (area.width as usize)
        .saturating_sub(group_width(&columns))
        .max(POD_MIN);
    let row = |name: &str, cells: Vec<Span<'static>>| {
        Line::from([vec![Span::raw(pad_left(name, pod_w))], cells].concat())
    };
    let section = |report: &Report, period: Period| -> Vec<Line<'static>> {
        let mut lines = vec![row("pod", header_cells(&columns)).style(t.header_row())];
        for p in report.pods.iter().take(shown) {
            lines.push(row(&p.pod, cells(&p.metrics, period, &columns, t)));
        }
        if shown < report.pods.len() {
            lines.push(more(report.pods.len() - shown, t));
        }
        lines.push(
            row("all pods", cells(&report.overall, period, &columns, t)).style(t.header_row()),
        );
        lines
    };
    let (today, week) = (
        section(&f.today, Period::Today),
        section(&f.week, Period::Week),
    );
    let [today_area, week_area, legend_area] = Layout::vertical([
        Constraint::Length(today.len() as u16 + 1),
        Constraint::Length(week.len() as u16 + 1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(today).block(titled(" today so far ", t)),
        today_area,
    );
    frame.render_widget(
        Paragraph::new(week).block(titled(" 7 days before today (whole days) ", t)),
        week_area,
    );
    frame.render_widget(
        Paragraph::new(legend(legend_area.width as usize, t)),
        legend_area,
    );
}

fn render_charts(s: &Screenful<'_>, f: &Live, frame: &mut Frame<'_>, area: Rect) {
    let t = s.theme;
    let [spark_area, bars_area] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    frame.render_widget(
        Sparkline::default()
            .data(f.per_hour)
            .style(t.bar())
            .block(titled(
                &format!(" intake per hour, last 24h (now {}/h) ", f.per_hour[23]),
                t,
            )),
        spark_area,
    );
    // Weekday labels from the lead's calendar: the week's first day, then one a day.
    let first = f.week.since.to_datetime().with_timezone(&s.utc_offset);
    let bars: Vec<Bar> = f
        .per_day
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let day = (first + chrono::Duration::days(i as i64)).weekday();
            Bar::default()
                .value(*n as u64)
                .label(day.to_string())
                .style(t.bar())
        })
        .collect();
    let slot = (bars_area.width.saturating_sub(1) / bars.len() as u16).clamp(2, 9);
    frame.render_widget(
        BarChart::default()
            .data(BarGroup::default().bars(&bars))
            .bar_width(slot - 1)
            .bar_gap(1)
            .block(
                Block::default()
                    .borders(Borders::TOP | Borders::LEFT)
                    .title(" intake per day, today last ")
                    .title_style(t.title()),
            ),
        bars_area,
    );
}

/// `p50/p90`, or `—` before there is any.
fn pair(p50: Option<i64>, p90: Option<i64>) -> String {
    match (p50, p90) {
        (None, None) => "—".into(),
        (a, b) => {
            let d = |v: Option<i64>| v.map_or("—".into(), duration);
            format!("{}/{}", d(a), d(b))
        }
    }
}

/// The columns' width, each with its one space before it.
fn group_width(columns: &[&Column]) -> usize {
    columns.iter().map(|c| c.width + 1).sum()
}

/// The pod name, cut with `…` to its column.
fn pad_left(text: &str, w: usize) -> String {
    let text = fit(text, w);
    let pad = w.saturating_sub(width(&text));
    format!("{text}{}", " ".repeat(pad))
}

/// Right-aligned, so that figures line up by their last digit.
fn pad_right(text: &str, w: usize) -> String {
    let text = fit(text, w);
    let pad = w.saturating_sub(width(&text));
    format!("{}{text}", " ".repeat(pad))
}

fn header_cells(columns: &[&Column]) -> Vec<Span<'static>> {
    columns
        .iter()
        .map(|c| Span::raw(format!(" {}", pad_right(c.header, c.width))))
        .collect()
}

fn cells(m: &Metrics, period: Period, columns: &[&Column], t: &Theme) -> Vec<Span<'static>> {
    columns
        .iter()
        .map(|c| {
            let (text, style) = (c.cell)(m, period, t);
            Span::styled(format!(" {}", pad_right(&text, c.width)), style)
        })
        .collect()
}

fn legend(w: usize, t: &Theme) -> Line<'static> {
    let mut text = String::new();
    for part in LEGEND {
        let next = if text.is_empty() {
            part.to_string()
        } else {
            format!("{text} · {part}")
        };
        if width(&next) > w {
            break;
        }
        text = next;
    }
    Line::styled(text, t.dim())
}

fn more(n: usize, t: &Theme) -> Line<'static> {
    Line::styled(
        format!(
            "… {} more (a taller terminal shows them)",
            crate::columns::count(n, "pod", "pods")
        ),
        t.dim(),
    )
}

fn titled<'a>(title: &str, t: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::TOP)
        .title(title.to_string())
        .title_style(t.title())
}
