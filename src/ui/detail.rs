//! One swarm: the request, its clocks, the thread as it unfolds, and a timeline of the
//! lead's moves and lifecycle changes. Only the visible slice of the thread is drawn.

use super::text::{countdown, duration, fit, plain, readable_with, wrap};
use super::view::{View, sla_view};
use super::{Screenful, text};
use crate::domain::swarm::Clock;
use crate::domain::{Author, MarkerKind, Msg, Swarm, Ts};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub fn render(s: &Screenful<'_>, view: &View, frame: &mut Frame<'_>, area: Rect) {
    let rows = s.rows;
    // The swarm opened, even once it left the table; the selected row only before the
    // first draw settled the selection.
    let swarm = match &view.selected {
        // Gone from the desk (withdrawn, its request deleted): said, never replaced by
        // another swarm's detail.
        Some(k) => match s.desk.by_id(k) {
            Some(swarm) => Some(swarm),
            None => {
                let gone =
                    "This swarm is gone: its request was withdrawn or deleted. Esc goes back.";
                frame.render_widget(Paragraph::new(gone), area);
                return;
            }
        },
        None => view.selection(rows).map(|i| rows[i].swarm),
    };
    let Some(swarm) = swarm else {
        frame.render_widget(Paragraph::new("No swarm selected. Esc goes back."), area);
        return;
    };
    let [fields_area, rest] =
        Layout::vertical([Constraint::Length(field_lines(swarm)), Constraint::Min(3)]).areas(area);
    render_fields(s, swarm, frame, fields_area);
    let thread = s.desk.thread(&swarm.channel, swarm.thread_ts);
    let (conversation, side) = if rest.width >= 100 {
        let [main, side] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(36)]).areas(rest);
        (main, Some(side))
    } else {
        (rest, None)
    };
    // A promoted swarm's incident channel is followed too, under its thread.
    let incident = swarm
        .incident
        .as_ref()
        .map(|i| (i, s.desk.channel_log(&i.channel_id)));
    match incident {
        Some((i, log)) if conversation.height >= 12 => {
            let [top, bottom] =
                Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)])
                    .areas(conversation);
            render_thread(
                s,
                view.detail_scroll,
                &thread_title(&thread),
                &thread,
                frame,
                top,
            );
            let messages = crate::columns::count(log.len(), "message", "messages");
            let title = format!(" #{} · {messages} ", i.channel_name);
            render_thread(s, 0, &title, &log, frame, bottom);
        }
        _ => render_thread(
            s,
            view.detail_scroll,
            &thread_title(&thread),
            &thread,
            frame,
            conversation,
        ),
    }
    if let Some(side) = side {
        render_timeline(s, swarm, &thread, frame, side);
    }
}

/// The fields' lines: a promoted swarm has one more, its stakeholder updates.
pub(super) fn field_lines(sw: &Swarm) -> u16 {
    7 + u16::from(sw.incident.is_some()) + u16::from(duplicate_text(sw).is_some())
}

/// A promoted swarm's last stakeholder update and its age, and when the next is due.
fn update_line<'a>(s: &Screenful<'a>, sw: &Swarm, width: usize) -> Option<Line<'a>> {
    let t = s.theme;
    sw.incident.as_ref()?;
    let policy = s.desk.pod(&sw.channel).map(|p| &p.sla);
    let due = policy.and_then(|p| sw.update_due_at(p));
    let mut spans = vec![Span::styled(format!("{:<11}", "updates"), t.dim())];
    match &sw.last_update {
        Some(u) => spans.push(Span::raw(fit(
            &format!(
                "last {} ago: {}",
                duration(s.now.secs_since(u.at).max(0)),
                u.status
            ),
            width.saturating_sub(24),
        ))),
        None => spans.push(Span::styled("no stakeholder update yet (U)", t.dim())),
    }
    match due {
        Some(d) if d <= s.now => spans.push(Span::styled(
            format!(" · update due {} ago", duration(s.now.secs_since(d))),
            t.warning(),
        )),
        Some(d) => spans.push(Span::styled(format!(" · next {}", when(s, d)), t.dim())),
        None => {}
    }
    Some(Line::from(spans))
}

fn thread_title(thread: &[&Msg]) -> String {
    let replies = crate::columns::count(thread.len().saturating_sub(1), "reply", "replies");
    format!(" thread · {replies} ")
}

fn name(s: &Screenful<'_>, user: &str) -> String {
    s.desk.name_of(user).to_string()
}

pub(super) fn render_fields(s: &Screenful<'_>, sw: &Swarm, frame: &mut Frame<'_>, area: Rect) {
    let t = s.theme;
    let label = |l: &str| Span::styled(format!("{l:<11}"), t.dim());
    let width = area.width.saturating_sub(13) as usize;
    let requester = sw
        .requester()
        .map(|u| format!("@{}", name(s, u)))
        .or_else(|| sw.request.requester_name.clone())
        .unwrap_or_else(|| "—".into());
    let experts = if sw.experts.is_empty() {
        "— (unassigned)".to_string()
    } else {
        sw.experts
            .iter()
            .map(|e| format!("@{}", name(s, e)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sla = match sla_view(sw, s.now) {
        Some(v) => {
            let what = match v.clock {
                Clock::FirstResponse => "first response",
                Clock::NextResponse { .. } => "next response",
                Clock::Resolution => "resolution",
            };
            if v.left <= 0 {
                Span::styled(
                    format!("{what} breached {} ago", countdown(v.left)),
                    t.bad(),
                )
            } else {
                Span::raw(format!("{what} due in {}", countdown(v.left)))
            }
        }
        None if sw.pending => Span::styled("replies still loading from history", t.dim()),
        None if sw.pauses.is_paused() => Span::styled("paused: waiting on the customer", t.dim()),
        None => Span::styled("no clock running", t.dim()),
    };
    let (support, customer) = sw.support_and_customer_secs(s.now);
    let mut follow = match (&sw.next_steps, sw.follow_up_at) {
        (Some(steps), Some(at)) => format!("{} — follow up {}", steps, when(s, at)),
        (Some(steps), None) => steps.clone(),
        _ => "—".into(),
    };
    if let Some(i) = &sw.incident {
        follow = format!("incident #{} · {follow}", i.channel_name);
    }
    let lines = vec![
        Line::from(vec![
            Span::styled(format!("#{} ", sw.case()), t.title()),
            Span::styled(format!(" {} ", sw.urgency()), t.urgency(sw.urgency())),
            Span::raw(format!("  {} · {}", sw.pod, sw.status.as_str())),
            if sw.needs_response_since.is_some() {
                Span::styled("  ● requester answered", t.attention())
            } else {
                Span::raw("")
            },
            policy_span(s, sw),
        ]),
        Line::from(vec![
            label("subject"),
            Span::raw(fit(&sw.request.subject, width)),
        ]),
        Line::from(vec![
            label("case link"),
            Span::raw(fit(sw.request.link.as_deref().unwrap_or("—"), width)),
        ]),
        Line::from(vec![label("requester"), Span::raw(fit(&requester, width))]),
        Line::from(vec![label("experts"), Span::raw(fit(&experts, width))]),
        Line::from(vec![
            label("clocks"),
            sla,
            Span::styled(
                format!(
                    " · opened {} ago · support {} · customer {}",
                    duration(s.now.secs_since(sw.opened_at)),
                    duration(support),
                    duration(customer)
                ),
                t.dim(),
            ),
        ]),
        Line::from(vec![label("next steps"), Span::raw(fit(&follow, width))]),
    ];
    let mut lines = lines;
    lines.extend(update_line(s, sw, width));
    if let Some((text, likely)) = duplicate_text(sw) {
        let style = if likely { t.warning() } else { Style::new() };
        lines.push(Line::from(vec![
            label("duplicate"),
            Span::styled(fit(&text, width), style),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// Which SLA policy the swarm is held to, once the pod has more than one (a tier's
/// targets, business hours): `  SLA: premier · sev1 · business hours Europe/Berlin`.
fn policy_span(s: &Screenful<'_>, sw: &Swarm) -> Span<'static> {
    let Some(policy) = s.desk.pod(&sw.channel).map(|p| &p.sla) else {
        return Span::raw("");
    };
    if policy.hours.is_none() && policy.tiers.is_empty() {
        return Span::raw("");
    }
    let applied = policy.applied(sw.urgency(), sw.request.tier.as_deref());
    Span::styled(format!("  SLA: {}", applied.label()), s.theme.dim())
}

/// What the detail says of duplicates: linked to an original, flagged as a likely
/// duplicate (`true`: the lead has something to decide), or the original of others.
fn duplicate_text(sw: &Swarm) -> Option<(String, bool)> {
    if let Some(link) = &sw.linked_to {
        return Some((format!("linked: duplicate of #{}", link.case), false));
    }
    if let Some(d) = sw.duplicate_of.as_ref().filter(|_| sw.is_open()) {
        return Some((
            format!(
                "likely of #{} ({} pod, {}) · L links them",
                d.case,
                d.pod,
                d.likeness.label()
            ),
            true,
        ));
    }
    if sw.duplicates.is_empty() {
        return None;
    }
    let cases: Vec<String> = sw
        .duplicates
        .iter()
        .map(|l| format!("#{}", l.case))
        .collect();
    Some((
        format!("{} linked here as duplicates", cases.join(", ")),
        false,
    ))
}

/// A time of day in the lead's zone, with the day when it is not today.
fn when(s: &Screenful<'_>, at: Ts) -> String {
    let local = at.to_datetime().with_timezone(&s.utc_offset);
    if at >= s.today && at.secs_since(s.today) < 86_400 {
        local.format("%H:%M").to_string()
    } else {
        local.format("%b %d %H:%M").to_string()
    }
}

/// Messages, newest at the bottom; `scroll` lines back from the newest.
pub(super) fn render_thread(
    s: &Screenful<'_>,
    scroll: usize,
    title: &str,
    thread: &[&Msg],
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let t = s.theme;
    let block = Block::default()
        .borders(Borders::TOP)
        .title(title.to_string())
        .title_style(t.title());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    for msg in thread {
        let who = match &msg.author {
            Author::Person(u) => name(s, u),
            Author::Us => msg.lead_reply().map_or("swarmdeck".into(), |l| name(s, l)),
            Author::Bot { .. } => "workflow".into(),
        };
        // A lead's reply is shown as a message, not as a move.
        if let Some(marker) = msg
            .marker
            .as_ref()
            .filter(|m| m.kind != MarkerKind::Replied)
        {
            let by = marker
                .lead
                .as_deref()
                .map(|l| format!(" by @{}", name(s, l)))
                .unwrap_or_default();
            lines.push(Line::from(Span::styled(
                fit(
                    &format!("{} ── {}{by}", when(s, msg.ts), move_text(s, &marker.kind)),
                    inner.width as usize,
                ),
                t.dim(),
            )));
            continue;
        }
        lines.push(Line::from(vec![
            Span::styled(when(s, msg.ts), t.dim()),
            Span::raw("  "),
            Span::styled(
                fit(&who, 30),
                Style::new().add_modifier(ratatui::style::Modifier::BOLD),
            ),
        ]));
        // A workflow's fields are in its blocks; its text is only a notification line.
        let from_blocks = msg.text.trim().is_empty()
            || (matches!(msg.author, Author::Bot { .. }) && !msg.block_texts.is_empty());
        let body = if from_blocks {
            // Form fields show as `*Label:*` over the value: one line each reads better.
            msg.block_texts
                .iter()
                .map(|b| match b.split_once('\n') {
                    Some((label, value))
                        if label.trim_end_matches(['*', '_']).ends_with(':')
                            && !value.contains('\n') =>
                    {
                        format!("{label} {value}")
                    }
                    _ => b.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            msg.text.clone()
        };
        let body = plain(&readable_with(
            &body,
            |u| name(s, u),
            |c| s.desk.channel_name(c).to_string(),
        ));
        for l in wrap(&body, width) {
            lines.push(Line::from(format!("  {l}")));
        }
    }
    // Only the visible slice is handed to the terminal.
    let height = inner.height as usize;
    let end = lines
        .len()
        .saturating_sub(scroll.min(lines.len().saturating_sub(height)));
    let start = end.saturating_sub(height);
    let visible: Vec<Line> = lines.drain(start..end).collect();
    frame.render_widget(Paragraph::new(visible), inner);
}

fn move_text(s: &Screenful<'_>, kind: &MarkerKind) -> String {
    match kind {
        MarkerKind::Assigned { expert } => format!("assigned @{}", name(s, expert)),
        MarkerKind::Unassigned { expert } => format!("unassigned @{}", name(s, expert)),
        MarkerKind::Promoted { channel_name, .. } => format!("promoted to #{channel_name}"),
        MarkerKind::Resolved { resolution } => format!("resolved: {resolution}"),
        MarkerKind::Reopened => "reopened".into(),
        MarkerKind::Replied => "replied".into(),
        MarkerKind::Waiting { on: true } => "waiting on the customer".into(),
        MarkerKind::Waiting { on: false } => "back with support".into(),
        MarkerKind::FollowUp { next_steps, due } => {
            format!("follow up {}: {next_steps}", when(s, *due))
        }
        MarkerKind::Asked { expert, .. } => format!("asked @{} to take it", name(s, expert)),
        MarkerKind::Declined { expert, reason, .. } => {
            format!("@{} declined: {}", name(s, expert), reason.label())
        }
        MarkerKind::StatusUpdate { status, .. } => format!("stakeholder update: {status}"),
        MarkerKind::Duplicate { case, .. } => format!("linked as a duplicate of #{case}"),
        MarkerKind::DuplicateLinked { case, .. } => format!("#{case} linked here as a duplicate"),
    }
}

/// Resolved swarms like this one: case and pod, then how each was resolved.
pub(super) fn similar_lines<'a>(s: &Screenful<'a>, width: usize) -> Vec<Line<'a>> {
    let t = s.theme;
    let mut lines = vec![Line::from(Span::styled("similar, resolved", t.dim()))];
    for m in s.similar {
        lines.push(Line::from(vec![
            Span::styled(format!("#{} ", m.case), t.title()),
            Span::styled(fit(&m.pod, 12), t.dim()),
        ]));
        let resolution = if m.resolution.is_empty() {
            "—"
        } else {
            &m.resolution
        };
        lines.push(Line::raw(fit(
            &format!("  {}", crate::domain::text::one_line(resolution)),
            width,
        )));
        lines.push(Line::styled(fit(&format!("  {}", m.link), width), t.dim()));
    }
    lines
}

fn render_timeline(
    s: &Screenful<'_>,
    sw: &Swarm,
    thread: &[&Msg],
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let t = s.theme;
    let block = Block::default()
        .borders(Borders::TOP | Borders::LEFT)
        .title(" timeline ")
        .title_style(t.title());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut events: Vec<(Ts, String)> = vec![(sw.opened_at, "request posted".into())];
    if let Some(at) = sw.first_response_at {
        events.push((at, "first response".into()));
    }
    for msg in thread {
        if let Some(m) = &msg.marker {
            events.push((msg.ts, move_text(s, &m.kind)));
        }
    }
    if let Some(at) = sw.needs_response_since {
        events.push((at, "requester answered".into()));
    }
    if let Some(at) = sw.resolved_at {
        events.push((at, "resolved".into()));
    }
    events.sort_by_key(|(at, _)| *at);
    let w = inner.width as usize;
    let mut lines: Vec<Line> = events
        .into_iter()
        .map(|(at, what)| {
            Line::from(vec![
                Span::styled(format!("{} ", when(s, at)), t.dim()),
                Span::raw(fit(&what, w.saturating_sub(text::width(&when(s, at)) + 1))),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled("participants", t.dim())));
    for p in &sw.participants {
        lines.push(Line::raw(fit(&format!("@{}", name(s, p)), w)));
    }
    if !s.similar.is_empty() {
        lines.push(Line::raw(""));
        lines.extend(similar_lines(s, w));
    }
    let skip = lines.len().saturating_sub(inner.height as usize);
    frame.render_widget(
        Paragraph::new(lines.split_off(skip.min(lines.len()))),
        inner,
    );
}
