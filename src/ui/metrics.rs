//! Today per pod: intake, open, first response and resolution (median and p90),
//! breaches, same-day rate; intake per hour as a sparkline and per pod as bars.

use super::Screenful;
use super::text::duration;
use crate::domain::metrics::{Metrics, report};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Cell, Row, Sparkline, Table};

pub fn render(s: &Screenful<'_>, frame: &mut Frame<'_>, area: Rect) {
    let t = s.theme;
    let desk = s.desk;
    let pods: Vec<String> = desk.pods().map(|p| p.name.clone()).collect();
    let sla_of = |sw: &crate::domain::Swarm| -> &crate::domain::SlaPolicy {
        desk.pod(&sw.channel).map_or(&DEFAULT_SLA, |p| &p.sla)
    };
    let today = report(desk.swarms(), sla_of, &pods, s.today, s.now, s.utc_offset);
    let [table_area, charts] = Layout::vertical([
        Constraint::Length(today.pods.len() as u16 + 3),
        Constraint::Min(4),
    ])
    .areas(area);

    let opt = |v: Option<i64>| v.map_or("—".to_string(), duration);
    let line = |name: String, m: &Metrics| {
        Row::new(vec![
            Cell::from(name),
            Cell::from(m.opened.to_string()),
            Cell::from(m.open.to_string()),
            Cell::from(opt(m.first_response_p50_s)),
            Cell::from(opt(m.first_response_p90_s)),
            Cell::from(opt(m.resolution_p50_s)),
            Cell::from(opt(m.resolution_p90_s)),
            Cell::from(if m.breaches > 0 {
                Span::styled(m.breaches.to_string(), t.bad())
            } else {
                Span::raw("0")
            }),
            Cell::from(
                m.same_day_rate
                    .map_or("—".into(), |r| format!("{:.0}%", r * 100.0)),
            ),
        ])
    };
    let mut rows: Vec<Row> = today
        .pods
        .iter()
        .map(|p| line(p.pod.clone(), &p.metrics))
        .collect();
    rows.push(line("all pods".into(), &today.overall).style(t.header_row()));
    let header = Row::new(vec![
        "pod", "intake", "open", "1st p50", "1st p90", "res p50", "res p90", "breach", "same day",
    ])
    .style(t.header_row());
    let widths = [
        Constraint::Min(8),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(8),
    ];
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(" today, per pod ")
                    .title_style(t.title()),
            ),
        table_area,
    );

    let [spark_area, bars_area] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(charts);
    // Intake per hour over the last 24 hours, oldest first.
    let mut per_hour = [0u64; 24];
    for sw in desk.swarms() {
        let ago = s.now.secs_since(sw.opened_at);
        if (0..24 * 3600).contains(&ago) {
            per_hour[23 - (ago / 3600) as usize] += 1;
        }
    }
    frame.render_widget(
        Sparkline::default().data(per_hour).style(t.bar()).block(
            Block::default()
                .borders(Borders::TOP)
                .title(format!(
                    " intake per hour, last 24h (now {}/h) ",
                    per_hour[23]
                ))
                .title_style(t.title()),
        ),
        spark_area,
    );
    let bars: Vec<Bar> = today
        .pods
        .iter()
        .map(|p| {
            Bar::default()
                .value(p.metrics.opened as u64)
                .label(p.pod.clone())
                .style(t.bar())
        })
        .collect();
    let width = (bars_area.width.saturating_sub(2) / bars.len().max(1) as u16).clamp(3, 9);
    frame.render_widget(
        BarChart::default()
            .data(BarGroup::default().bars(&bars))
            .bar_width(width.saturating_sub(1))
            .bar_gap(1)
            .block(
                Block::default()
                    .borders(Borders::TOP | Borders::LEFT)
                    .title(" intake today per pod ")
                    .title_style(t.title()),
            ),
        bars_area,
    );
}

static DEFAULT_SLA: std::sync::LazyLock<crate::domain::SlaPolicy> =
    std::sync::LazyLock::new(crate::domain::SlaPolicy::default);
