//! The main view: every open swarm across the pods, most in need of the lead first.
//! Only the rows on screen are built, so the cost follows the terminal, not the backlog.

use super::text::{countdown, duration, fit};
use super::view::{Row, SlaState, View};
use super::{Screenful, text};
use crate::columns::fit_middle;
use crate::domain::Status;
use crate::domain::swarm::{Clock, ExpertFlag};
use crate::domain::text::one_line;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table};

pub fn render(s: &Screenful<'_>, view: &View, frame: &mut Frame<'_>, area: Rect) {
    let t = s.theme;
    let rows = s.rows;
    if rows.is_empty() {
        let what = if view.filter.is_empty() && view.pod.is_none() {
            "No open swarms. New requests appear here as they are posted."
        } else {
            "No open swarm matches. Esc clears the filter, 0 shows all pods."
        };
        frame.render_widget(Paragraph::new(Span::styled(what, t.dim())), area);
        return;
    }
    let wide = area.width >= 120;
    let selected = view.selection(rows).unwrap_or(0);
    // The window of rows on screen (a click reads the same one): the selection stays visible.
    let window = super::view::TableWindow::new(area, selected);
    let (height, offset) = (window.rows.height as usize, window.first);
    let widths = widths(s, rows.iter().skip(offset).take(height), area.width, wide);
    let shown = rows.iter().enumerate().skip(offset).take(height);
    let body: Vec<TableRow> = shown
        .map(|(i, row)| {
            let r = table_row(s, row, &widths, wide);
            let mut style = Style::new();
            if s.attention.contains(&row.key()) {
                style = t.attention();
            }
            if i == selected {
                style = style.patch(t.selected());
            }
            r.style(style)
        })
        .collect();
    let mut header = vec!["", "pod", "case", "sev", "subject", "age", "sla"];
    header.extend(["experts", "re", "status"]);
    let constraints: Vec<Constraint> = widths.iter().map(|w| Constraint::Length(*w)).collect();
    let table = Table::new(body, constraints)
        .header(TableRow::new(header).style(t.header_row()))
        .column_spacing(1);
    frame.render_widget(table, area);
    if rows.len() > height && height > 0 {
        let more = format!(" {}/{} ", selected + 1, rows.len());
        let w = text::width(&more) as u16;
        frame.render_widget(
            Paragraph::new(Span::styled(more, t.dim())),
            Rect {
                x: area.right().saturating_sub(w),
                y: area.y,
                width: w.min(area.width),
                height: 1,
            },
        );
    }
}

/// Widths of the columns at their least: flag, pod, case, sev | (subject) | age, sla,
/// experts, re, status.
fn columns(wide: bool) -> [u16; 9] {
    if wide {
        [1, 10, 8, 4, 5, 7, 20, 3, 19]
    } else {
        // status: "no answer" whole
        [1, 8, 7, 4, 4, 6, 10, 2, 9]
    }
}

/// The subject's share of spare width before experts and status get theirs: enough to
/// read most subjects; past it, an expert's name or the incident channel is worth more.
const SUBJECT_READABLE: usize = 60;
const SUBJECT_LEAST: u16 = 8;

/// The ten columns' widths for the rows on screen: each column at its least, the reply
/// count as wide as its largest number, then the spare width by priority (subject,
/// experts, status) up to what their texts need, and the rest to the subject.
fn widths<'a>(
    s: &Screenful<'_>,
    shown: impl Iterator<Item = &'a Row<'a>>,
    width: u16,
    wide: bool,
) -> [u16; 10] {
    let least = columns(wide);
    let (mut subject, mut experts, mut replies, mut status) = (0, 0, 0, 0);
    for row in shown {
        subject = subject.max(text::width(&one_line(&row.swarm.request.subject)));
        experts = experts.max(text::width(&experts_text(s, row)));
        replies = replies.max(row.swarm.reply_count.to_string().len());
        status = status.max(text::width(&status_text(s, row, wide).0));
    }
    let mut w = least;
    w[7] = w[7].max(replies as u16);
    let fixed = w.iter().sum::<u16>() + w.len() as u16;
    let spare = width.saturating_sub(fixed + SUBJECT_LEAST) as usize;
    let wants = [
        subject
            .min(SUBJECT_READABLE)
            .saturating_sub(SUBJECT_LEAST as usize),
        experts.saturating_sub(w[6] as usize),
        status.saturating_sub(w[8] as usize),
    ];
    let (got, rest) = crate::columns::share(spare, &wants);
    w[6] += got[1] as u16;
    w[8] += got[2] as u16;
    let subject = SUBJECT_LEAST + (got[0] + rest) as u16;
    [
        w[0], w[1], w[2], w[3], subject, w[4], w[5], w[6], w[7], w[8],
    ]
}

fn experts_text(s: &Screenful<'_>, row: &Row<'_>) -> String {
    row.swarm
        .experts
        .iter()
        .map(|e| s.desk.name_of(e).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The status cell's text and style: a move on its way and a follow-up due say so first.
fn status_text(s: &Screenful<'_>, row: &Row<'_>, wide: bool) -> (String, Style) {
    let t = s.theme;
    let sw = row.swarm;
    let status = match sw.status {
        Status::New => "new",
        Status::Assigned => "assigned",
        Status::InProgress if wide => "in progress",
        Status::InProgress => "working",
        Status::WaitingOnCustomer if wide => "waiting on customer",
        Status::WaitingOnCustomer => "waiting",
        Status::Promoted => "promoted",
        Status::Resolved => "resolved",
    };
    let status = if sw.status == Status::Promoted && wide {
        sw.incident
            .as_ref()
            .map_or("promoted".to_string(), |i| format!("#{}", i.channel_name))
    } else {
        status.to_string()
    };
    let follow_up_due = sw.follow_up_at.is_some_and(|at| at <= s.now);
    let policy = s.desk.pod(&sw.channel).map(|p| &p.sla);
    let flag = policy.and_then(|p| sw.expert_flag(p, s.now));
    // The pod is closed and this swarm's clocks follow its hours: they resume then.
    let resumes = policy
        .filter(|_| !sw.is_waiting())
        .and_then(|p| Some(p.hours.as_ref()?.local_label(sw.resumes_at(p, s.now)?)));
    if s.pending.contains(&row.key()) {
        (format!("⋯ {status}"), t.warning())
    } else if follow_up_due {
        ("follow-up due".to_string(), t.warning())
    } else if policy.is_some_and(|p| sw.update_due(p, s.now)) {
        ("update due".to_string(), t.warning())
    } else if let Some(flag) = flag {
        // An expert's decline or silence wants the lead now, whatever the hour.
        expert_flag_text(s, &flag, wide)
    } else if let Some(d) = sw
        .duplicate_of
        .as_ref()
        .filter(|_| sw.is_open() && sw.incident.is_none())
    {
        // A promoted swarm's channel says more than a possible duplicate (the detail
        // still names it).
        (format!("dup? #{}", d.case), t.warning())
    } else if let Some(at) = resumes {
        if wide {
            (format!("after hours · resumes {at}"), t.dim())
        } else {
            (format!("off → {at}"), t.dim())
        }
    } else {
        (status, Style::new())
    }
}

/// What the status cell says of an expert asked, declined or quiet.
fn expert_flag_text(s: &Screenful<'_>, flag: &ExpertFlag, wide: bool) -> (String, Style) {
    let t = s.theme;
    let name = |e: &str| s.desk.name_of(e).to_string();
    let ago = |since: &crate::domain::Ts| duration(s.now.secs_since(*since).max(0));
    match flag {
        ExpertFlag::Asked {
            expert,
            since,
            overdue: false,
        } if wide => (format!("asked {} {}", ago(since), name(expert)), t.dim()),
        ExpertFlag::Asked { overdue: false, .. } => ("asked".into(), t.dim()),
        ExpertFlag::Asked { expert, since, .. } if wide => (
            format!("no answer {} {}", ago(since), name(expert)),
            t.bad(),
        ),
        ExpertFlag::Asked { .. } => ("no answer".into(), t.bad()),
        ExpertFlag::Declined { expert, reason } if wide => (
            format!("declined: {} ({})", reason.short(), name(expert)),
            t.bad(),
        ),
        ExpertFlag::Declined { .. } => ("declined".into(), t.bad()),
        ExpertFlag::Quiet { since, .. } if wide => (format!("quiet {}", ago(since)), t.warning()),
        ExpertFlag::Quiet { .. } => ("quiet".into(), t.warning()),
    }
}

fn table_row<'a>(s: &Screenful<'a>, row: &Row<'a>, w: &[u16; 10], wide: bool) -> TableRow<'a> {
    let t = s.theme;
    let sw = row.swarm;
    let flag = if row.needs_response {
        Span::styled("●", t.attention())
    } else if s.attention.contains(&row.key()) {
        Span::styled("!", t.bad())
    } else {
        Span::raw(" ")
    };
    let urgency = Span::styled(sw.urgency().as_str().to_string(), t.urgency(sw.urgency()));
    let age = duration(s.now.secs_since(sw.opened_at).max(0));
    let sla = match row.sla {
        // Replies still loading: the clock is not known yet.
        None if sw.pending => Span::styled("…", t.dim()),
        None if sw.is_waiting() => Span::styled("paused", t.dim()),
        None => Span::raw(""),
        Some(v) => {
            let label = match v.clock {
                Clock::FirstResponse => "",
                Clock::NextResponse { .. } => "↩",
                Clock::Resolution => "⏲",
            };
            let (shown, style) = match v.state {
                SlaState::Breached => (format!("-{}", countdown(v.left)), t.bad()),
                SlaState::Warning => (countdown(v.left), t.warning()),
                SlaState::Normal => (countdown(v.left), t.ok()),
            };
            Span::styled(format!("{label}{shown}"), style)
        }
    };
    let experts = experts_text(s, row);
    let (status, status_style) = status_text(s, row, wide);
    let experts_cell = if experts.is_empty() {
        Span::styled("—", t.warning())
    } else {
        Span::raw(fit(&experts, w[7] as usize))
    };
    TableRow::new(vec![
        Cell::from(flag),
        Cell::from(fit(&sw.pod, w[1] as usize)),
        Cell::from(fit(sw.case(), w[2] as usize)),
        Cell::from(urgency),
        Cell::from(fit(&sw.request.subject, w[4] as usize)),
        Cell::from(Line::from(age).right_aligned()),
        Cell::from(Line::from(sla).right_aligned()),
        Cell::from(experts_cell),
        Cell::from(Line::from(sw.reply_count.to_string()).right_aligned()),
        // An incident channel keeps its end (case number, `-2`): two channels of one case
        // must not read alike.
        Cell::from(Span::styled(
            if status.contains('#') {
                fit_middle(&status, w[9] as usize)
            } else {
                fit(&status, w[9] as usize)
            },
            status_style,
        )),
    ])
}
