//! Triage mode: the queue one swarm at a time, in the order a triage session takes it
//! (waiting on us, breached, unassigned, then by urgency), with the request, the thread
//! so far and the suggested experts, until the queue is empty.

use super::Screenful;
use super::detail::{render_fields, render_thread, similar_lines};
use super::keymap::Intent;
use super::text::fit;

use crate::domain::moves::{rank_experts, triage_order};
use crate::domain::{Desk, SwarmId, Ts};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::collections::VecDeque;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Triage {
    queue: VecDeque<SwarmId>,
    total: usize,
}

impl Triage {
    /// The queue as it stands now; swarms arriving later wait for the next session.
    pub fn start(desk: &Desk, now: Ts) -> Triage {
        let queue: VecDeque<SwarmId> = triage_order(desk, now).into();
        Triage {
            total: queue.len(),
            queue,
        }
    }

    /// The swarm to triage now; swarms closed meanwhile (by another lead) drop out.
    pub fn current(&mut self, desk: &Desk) -> Option<SwarmId> {
        while let Some(k) = self.queue.front() {
            if desk.by_id(k).is_some_and(|s| s.is_open()) {
                return Some(k.clone());
            }
            self.queue.pop_front();
        }
        None
    }

    /// Done with the current swarm (acted on, or skipped).
    pub fn next(&mut self) {
        self.queue.pop_front();
    }

    pub fn left(&self) -> usize {
        self.queue.len()
    }

    pub fn total(&self) -> usize {
        self.total
    }

    fn peek(&self) -> Option<&SwarmId> {
        self.queue.front()
    }
}

pub fn render(
    s: &Screenful<'_>,
    triage: &Triage,
    scroll: usize,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let t = s.theme;
    let [progress, rest] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let swarm = triage
        .peek()
        .and_then(|k| s.desk.by_id(k))
        .filter(|sw| sw.is_open());
    let Some(swarm) = swarm else {
        let done = format!(
            "triage · queue empty: {} triaged. Esc goes back.",
            crate::columns::count(triage.total(), "swarm", "swarms")
        );
        frame.render_widget(Paragraph::new(Span::styled(done, t.ok())), progress);
        return;
    };
    let key = |i: Intent| {
        s.keymap
            .key_for(i)
            .map(|k| k.to_string())
            .unwrap_or_default()
    };
    let line = Line::from(vec![
        Span::styled("triage", t.title()),
        Span::raw(format!(
            " · {} of {} left · ",
            triage.left(),
            triage.total()
        )),
        Span::styled(
            format!(
                "{} assign top · {} pick · {} promote · {} resolve · {} skip · {} leave",
                key(Intent::Assign),
                key(Intent::AssignOther),
                key(Intent::Promote),
                key(Intent::Resolve),
                key(Intent::Skip),
                key(Intent::Close)
            ),
            t.dim(),
        ),
    ]);
    frame.render_widget(Paragraph::new(line), progress);
    let side_height = if s.similar.is_empty() { 4 } else { 7 };
    let [fields, side, thread] = Layout::vertical([
        Constraint::Length(7),
        Constraint::Length(side_height),
        Constraint::Min(3),
    ])
    .areas(rest);
    // Suggested experts, and how similar swarms were resolved, side by side.
    let (suggestions, similar) = if s.similar.is_empty() {
        (side, None)
    } else {
        let [a, b] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(side);
        (a, Some(b))
    };
    if let Some(area) = similar {
        frame.render_widget(Paragraph::new(similar_lines(s, area.width as usize)), area);
    }
    render_fields(s, swarm, frame, fields);
    let mut lines = vec![Line::styled("suggested experts", t.dim())];
    let ranked = rank_experts(s.desk, swarm);
    if ranked.is_empty() {
        lines.push(Line::styled(
            "  none known (config [[experts]] or a pod expert_group)",
            t.dim(),
        ));
    }
    for (i, c) in ranked.iter().take(3).enumerate() {
        let presence = match c.expert.active {
            Some(true) => Span::styled("●", t.ok()),
            Some(false) => Span::styled("○", t.dim()),
            None => Span::styled("·", t.dim()),
        };
        let why = if c.matched.is_empty() {
            "no skill match".to_string()
        } else {
            c.matched.join(", ")
        };
        lines.push(Line::from(vec![
            Span::raw(if i == 0 { "  ▸ " } else { "    " }),
            presence,
            Span::raw(format!(" {}", fit(s.desk.name_of(&c.expert.user), 24))),
            Span::styled(format!("  {why} · {} open", c.load), t.dim()),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), suggestions);
    let msgs = s.desk.thread(&swarm.channel, swarm.thread_ts);
    let replies = crate::columns::count(msgs.len().saturating_sub(1), "reply", "replies");
    let title = format!(" thread · {replies} ");
    render_thread(s, scroll, &title, &msgs, frame, thread);
}
