//! What the lead is looking at — screen, selection, pod, filter, sort — and how intents
//! change it. The rows of the table are a pure function of the desk and this view.

use super::keymap::Intent;
use crate::domain::swarm::{Breach, Clock};
use crate::domain::{Desk, Swarm, Ts, Urgency};

/// A swarm's identity: its pod channel and thread.
pub type SwarmKey = (String, Ts);

pub fn key_of(s: &Swarm) -> SwarmKey {
    (s.channel.clone(), s.thread_ts)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    List,
    Detail,
    Metrics,
    Triage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// Needs response first, then the soonest (or most overdue) SLA target: inbox zero.
    Attention,
    Newest,
    Urgency,
    Pod,
}

impl Sort {
    pub fn label(self) -> &'static str {
        match self {
            Sort::Attention => "attention",
            Sort::Newest => "newest",
            Sort::Urgency => "urgency",
            Sort::Pod => "pod",
        }
    }

    fn next(self) -> Sort {
        match self {
            Sort::Attention => Sort::Newest,
            Sort::Newest => Sort::Urgency,
            Sort::Urgency => Sort::Pod,
            Sort::Pod => Sort::Attention,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaState {
    Normal,
    /// 75 % of the target used.
    Warning,
    Breached,
}

/// The SLA clock a row shows: the soonest target still running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaView {
    pub clock: Clock,
    /// Seconds to the target; negative once it is breached.
    pub left: i64,
    pub state: SlaState,
}

pub struct Row<'a> {
    pub swarm: &'a Swarm,
    pub sla: Option<SlaView>,
    /// The requester's side answered and support has not yet.
    pub needs_response: bool,
}

impl Row<'_> {
    pub fn key(&self) -> SwarmKey {
        key_of(self.swarm)
    }
}

pub fn sla_view(swarm: &Swarm, now: Ts) -> Option<SlaView> {
    let Breach {
        clock, due, target, ..
    } = swarm.next_clock?;
    let due = due?;
    let left = due.secs_since(now);
    let state = if left <= 0 {
        SlaState::Breached
    } else if left * 4 <= target {
        SlaState::Warning
    } else {
        SlaState::Normal
    };
    Some(SlaView { clock, left, state })
}

#[derive(Clone, Debug)]
pub struct View {
    pub screen: Screen,
    pub help: bool,
    /// The selected swarm; the selection follows it as rows arrive and re-sort.
    pub selected: Option<SwarmKey>,
    /// Where the selection was, for when its swarm leaves the table.
    pub selected_index: usize,
    /// Show one pod (its channel id), or all.
    pub pod: Option<String>,
    pub filter: String,
    /// Typing into the filter.
    pub filtering: bool,
    pub sort: Sort,
    /// Lines scrolled in the detail view's thread (0: follow the newest).
    pub detail_scroll: usize,
    /// Rows that fit on a page, from the last draw (for page up/down).
    pub page: usize,
    /// Until the lead first moves, the selection stays on the top row: at start the
    /// backlog arrives in bursts, and "the first row" is the one to be on.
    pub at_top_until_moved: bool,
    /// An open dialog takes every key until it closes.
    pub dialog: Option<super::dialog::Dialog>,
    pub triage: Option<super::triage::Triage>,
}

impl Default for View {
    fn default() -> Self {
        View {
            screen: Screen::List,
            help: false,
            selected: None,
            selected_index: 0,
            pod: None,
            filter: String::new(),
            filtering: false,
            sort: Sort::Attention,
            detail_scroll: 0,
            page: 10,
            at_top_until_moved: true,
            dialog: None,
            triage: None,
        }
    }
}

/// What the app must do after an intent.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Stay,
    Quit,
    /// One of the lead's moves, on the selected swarm: the app plans and sends it.
    Move(Intent),
}

impl View {
    /// The table's rows: open swarms of the shown pod matching the filter, sorted.
    pub fn rows<'a>(&self, desk: &'a Desk, now: Ts) -> Vec<Row<'a>> {
        let terms: Vec<String> = self
            .filter
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let mut rows: Vec<Row<'a>> = desk
            .swarms()
            .filter(|s| s.is_open())
            .filter(|s| self.pod.as_ref().is_none_or(|p| *p == s.channel))
            .filter(|s| terms.is_empty() || matches_filter(desk, s, &terms))
            .map(|s| Row {
                swarm: s,
                sla: sla_view(s, now),
                needs_response: s.needs_response_since.is_some(),
            })
            .collect();
        // Each key is computed once (sort_by_cached_key): a comparison that reached
        // into two swarms was most of a frame's cost at 10,000 of them.
        fn opened<'r>(r: &Row<'r>) -> (Ts, &'r str) {
            (r.swarm.opened_at, r.swarm.channel.as_str())
        }
        match self.sort {
            Sort::Attention => rows.sort_by_cached_key(|r| {
                let left = r.sla.map_or(i64::MAX, |s| s.left);
                (!r.needs_response, left, opened(r))
            }),
            Sort::Newest => rows.sort_by_cached_key(|r| std::cmp::Reverse(opened(r))),
            Sort::Urgency => rows.sort_by_cached_key(|r| (r.swarm.urgency(), opened(r))),
            Sort::Pod => rows.sort_by_cached_key(|r| (r.swarm.pod.as_str(), opened(r))),
        }
        rows
    }

    /// Where the selection is in `rows`: on its swarm if it is there, else at the same
    /// place (clamped), and the first row when nothing was selected yet.
    pub fn selection(&self, rows: &[Row<'_>]) -> Option<usize> {
        if rows.is_empty() {
            return None;
        }
        let found = self.selected.as_ref().and_then(|k| {
            rows.iter()
                .position(|r| r.swarm.channel == k.0 && r.swarm.thread_ts == k.1)
        });
        Some(found.unwrap_or(self.selected_index.min(rows.len() - 1)))
    }

    /// Keeps the selection on a swarm after the rows changed.
    pub fn reconcile(&mut self, rows: &[Row<'_>]) {
        if self.at_top_until_moved {
            self.selected = None;
            self.selected_index = 0;
        }
        match self.selection(rows) {
            Some(i) => {
                self.selected = Some(rows[i].key());
                self.selected_index = i;
            }
            None => {
                self.selected = None;
                self.selected_index = 0;
            }
        }
    }

    /// Applies an intent. `pods` are the pod channels in display order.
    pub fn apply(&mut self, intent: Intent, rows: &[Row<'_>], pods: &[String]) -> Outcome {
        if self.help {
            // Help is modal: only closing it (or quitting) does anything.
            match intent {
                Intent::Close | Intent::Help => self.help = false,
                Intent::Quit => return Outcome::Quit,
                _ => {}
            }
            return Outcome::Stay;
        }
        if !matches!(intent, Intent::Help | Intent::Metrics | Intent::Close) {
            self.at_top_until_moved = false;
        }
        let current = self.selection(rows);
        let select = |view: &mut View, i: usize| {
            if let Some(r) = rows.get(i) {
                view.selected = Some(r.key());
                view.selected_index = i;
                view.detail_scroll = 0;
            }
        };
        let last = rows.len().saturating_sub(1);
        let at = current.unwrap_or(0);
        match intent {
            Intent::Quit => return Outcome::Quit,
            Intent::Help => self.help = true,
            Intent::Down if self.reading() => {
                self.detail_scroll = self.detail_scroll.saturating_sub(1)
            }
            Intent::Up if self.reading() => self.detail_scroll += 1,
            Intent::PageDown if self.reading() => {
                self.detail_scroll = self.detail_scroll.saturating_sub(self.page)
            }
            Intent::PageUp if self.reading() => self.detail_scroll += self.page,
            Intent::Down => select(self, (at + 1).min(last)),
            Intent::Up => select(self, at.saturating_sub(1)),
            Intent::PageDown => select(self, (at + self.page.max(1)).min(last)),
            Intent::PageUp => select(self, at.saturating_sub(self.page.max(1))),
            Intent::Top => select(self, 0),
            Intent::Bottom => select(self, last),
            Intent::Open => {
                if current.is_some() {
                    self.screen = Screen::Detail;
                    self.detail_scroll = 0;
                }
            }
            Intent::Close => {
                self.triage = None;
                if self.screen != Screen::List {
                    self.screen = Screen::List;
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                }
            }
            Intent::Metrics => {
                self.screen = if self.screen == Screen::Metrics {
                    Screen::List
                } else {
                    Screen::Metrics
                }
            }
            Intent::NextPod => {
                self.pod = match self
                    .pod
                    .as_ref()
                    .and_then(|p| pods.iter().position(|x| x == p))
                {
                    None => pods.first().cloned(),
                    Some(i) if i + 1 < pods.len() => Some(pods[i + 1].clone()),
                    Some(_) => None,
                };
            }
            Intent::Pod(n) => {
                if let Some(p) = pods.get(n as usize - 1) {
                    self.pod = Some(p.clone());
                }
            }
            Intent::AllPods => self.pod = None,
            Intent::Filter => {
                self.filtering = true;
                self.screen = Screen::List;
            }
            Intent::Sort => self.sort = self.sort.next(),
            Intent::Assign
            | Intent::AssignOther
            | Intent::Unassign
            | Intent::Promote
            | Intent::Resolve
            | Intent::Reopen
            | Intent::Waiting
            | Intent::FollowUp
            | Intent::Reply
            | Intent::Browse
            | Intent::Triage
            | Intent::Skip
            | Intent::Handoff
            | Intent::Search => return Outcome::Move(intent),
        }
        Outcome::Stay
    }

    /// Whether arrows scroll a thread (detail, triage) rather than move the selection.
    fn reading(&self) -> bool {
        matches!(self.screen, Screen::Detail | Screen::Triage)
    }

    /// A key typed while the filter is being edited: Enter keeps the filter, Esc clears it.
    pub fn type_filter(&mut self, key: crossterm::event::KeyCode) {
        use crossterm::event::KeyCode;
        match key {
            KeyCode::Char(c) => self.filter.push(c),
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Enter => self.filtering = false,
            KeyCode::Esc => {
                self.filter.clear();
                self.filtering = false;
            }
            _ => {}
        }
    }
}

/// Every term must match, fuzzily (its letters in order), somewhere in the case, the
/// subject, the pod or an assignee's name.
fn matches_filter(desk: &Desk, s: &Swarm, terms: &[String]) -> bool {
    let mut haystack = format!("{} {} {}", s.request.case, s.request.subject, s.pod);
    for e in &s.experts {
        haystack.push(' ');
        haystack.push_str(desk.name_of(e));
    }
    let haystack = haystack.to_lowercase();
    terms.iter().all(|t| fuzzy(&haystack, t))
}

/// Whether the characters of `needle` appear in order in `haystack`.
pub fn fuzzy(haystack: &str, needle: &str) -> bool {
    let mut chars = haystack.chars();
    needle.chars().all(|n| chars.any(|h| h == n))
}

/// How urgent things look, for the header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub open: usize,
    pub unassigned: usize,
    pub breaching: usize,
    pub due_soon: usize,
    pub follow_ups_due: usize,
    pub needs_response: usize,
    pub sev1: usize,
}

pub fn counters(desk: &Desk, now: Ts) -> Counters {
    let mut c = Counters::default();
    for s in desk.swarms().filter(|s| s.is_open()) {
        c.open += 1;
        c.unassigned += s.experts.is_empty() as usize;
        c.needs_response += s.needs_response_since.is_some() as usize;
        c.sev1 += (s.urgency() == Urgency::Sev1) as usize;
        c.follow_ups_due += s.follow_up_at.is_some_and(|f| f <= now) as usize;
        match sla_view(s, now).map(|v| v.state) {
            Some(SlaState::Breached) => c.breaching += 1,
            Some(SlaState::Warning) => c.due_soon += 1,
            _ => {}
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_matching() {
        assert!(fuzzy("27343 webhooks time out api", "whto"));
        assert!(fuzzy("27343 webhooks", "2734"));
        assert!(!fuzzy("27343 webhooks", "hookw"));
    }
}
