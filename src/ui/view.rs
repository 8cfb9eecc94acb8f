//! What the lead is looking at — screen, selection, pod, filter, sort — and how intents
//! change it. The rows of the table are a pure function of the desk and this view.

use super::keymap::Intent;
use super::rank::Ranker;
use crate::domain::swarm::{Breach, Clock};
use crate::domain::{Desk, SlaPolicy, Swarm, SwarmId, Ts, Urgency};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    List,
    Detail,
    Metrics,
    Triage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// Needs response first, then unassigned by urgency, breached, due follow-ups, the
    /// soonest clock ([`crate::domain::swarm::Attention`]): inbox zero.
    Attention,
    Newest,
    Urgency,
    Pod,
}

impl Sort {
    /// Every order, in the order `s` cycles through them.
    pub const ALL: [Sort; 4] = [Sort::Attention, Sort::Newest, Sort::Urgency, Sort::Pod];

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

#[derive(Clone, Copy)]
pub struct Row<'a> {
    pub swarm: &'a Swarm,
    pub sla: Option<SlaView>,
    /// The requester's side answered and support has not yet.
    pub needs_response: bool,
    /// How well it matches the filter (higher first; 0 with no filter).
    pub rank: u32,
}

impl Row<'_> {
    pub fn key(&self) -> SwarmId {
        self.swarm.id()
    }
}

/// `None` also while the swarm is pending (its replies not read yet): its clock is not
/// known, and showing it would show a breach the replies may have met.
pub fn sla_view(swarm: &Swarm, now: Ts) -> Option<SlaView> {
    if swarm.pending {
        return None;
    }
    let Breach {
        clock,
        due,
        target,
        warn_at,
        ..
    } = swarm.next_clock?;
    let due = due?;
    let left = due.secs_since(now);
    // With business hours the warning is at 75 % of the target in open time (the
    // countdown is wall time, which a weekend stretches).
    let warned = warn_at.map_or(left * 4 <= target, |w| now >= w);
    let state = if left <= 0 {
        SlaState::Breached
    } else if warned {
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
    /// Lines scrolled down the help (clamped to its length when drawn).
    pub help_scroll: usize,
    /// The `:` command line, while it is open: it takes every key.
    pub command: Option<super::command::CommandLine>,
    /// The mouse is captured (`[ui] mouse`): help says how to select text then.
    pub mouse: bool,
    /// The selected swarm; the selection follows it as rows arrive and re-sort.
    pub selected: Option<SwarmId>,
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
    /// The selection when the filter opened, for Esc to go back to.
    pub before_filter: Option<SwarmId>,
    pub triage: Option<super::triage::Triage>,
    /// The lead asked for the whole screen drawn afresh (Ctrl-L): the loop clears first.
    pub redraw: bool,
}

impl Default for View {
    fn default() -> Self {
        View {
            screen: Screen::List,
            help: false,
            help_scroll: 0,
            command: None,
            mouse: false,
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
            before_filter: None,
            redraw: false,
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
    /// The table's rows: open swarms of the shown pod matching the filter, sorted; and
    /// the header's counters over every open swarm, from the same pass over the desk.
    pub fn rows<'a>(&self, desk: &'a Desk, now: Ts) -> Rows<'a> {
        let mut ranker = Ranker::new(&self.filter);
        let mut counters = Counters::default();
        let mut rows: Vec<Row<'a>> = Vec::new();
        let default_policy = SlaPolicy::default();
        for s in desk.swarms().filter(|s| s.is_open()) {
            let sla = sla_view(s, now);
            let policy = desk.pod(&s.channel).map_or(&default_policy, |p| &p.sla);
            counters.count(s, sla, policy, now);
            if self.pod.as_ref().is_some_and(|p| *p != s.channel) {
                continue;
            }
            let rank = match ranker.as_mut() {
                None => Some(0),
                Some(r) => filter_rank(desk, s, r, &self.filter),
            };
            if let Some(rank) = rank {
                rows.push(Row {
                    swarm: s,
                    sla,
                    needs_response: s.needs_response_since.is_some(),
                    rank,
                });
            }
        }
        // Keys are computed once per row: a comparison that reached into two swarms
        // was most of a frame's cost at 10,000 of them.
        fn opened<'r>(r: &Row<'r>) -> (Ts, &'r str) {
            (r.swarm.opened_at, r.swarm.channel.as_str())
        }
        let rows = match self.sort {
            Sort::Attention => by_packed_key(rows, |r| attention_key(r, now)),
            Sort::Newest => {
                rows.sort_by_cached_key(|r| std::cmp::Reverse(opened(r)));
                rows
            }
            Sort::Urgency => {
                rows.sort_by_cached_key(|r| (r.swarm.urgency(), opened(r)));
                rows
            }
            Sort::Pod => {
                rows.sort_by_cached_key(|r| (r.swarm.pod.as_str(), opened(r)));
                rows
            }
        };
        let mut rows = rows;
        if ranker.is_some() {
            // Best match first; the chosen order among equals (the sort is stable).
            rows.sort_by_key(|r| std::cmp::Reverse(r.rank));
        }
        Rows { rows, counters }
    }

    /// Where the selection is in `rows`: on its swarm if it is there, else at the same
    /// place (clamped), and the first row when nothing was selected yet.
    pub fn selection(&self, rows: &[Row<'_>]) -> Option<usize> {
        if rows.is_empty() {
            return None;
        }
        let found = self.selected.as_ref().and_then(|k| {
            rows.iter()
                .position(|r| r.swarm.channel == k.channel && r.swarm.thread_ts == k.thread_ts)
        });
        Some(found.unwrap_or(self.selected_index.min(rows.len() - 1)))
    }

    /// Keeps the selection on a swarm after the rows changed.
    pub fn reconcile(&mut self, rows: &[Row<'_>]) {
        if self.at_top_until_moved {
            self.selected = None;
            self.selected_index = 0;
        }
        // The detail stays on its swarm when it leaves the table (resolved from there):
        // showing the next row instead would put the lead's next key on another case.
        let shown_left = self.screen == Screen::Detail
            && self.selected.as_ref().is_some_and(|k| {
                !rows
                    .iter()
                    .any(|r| r.swarm.channel == k.channel && r.swarm.thread_ts == k.thread_ts)
            });
        if shown_left {
            return;
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
    /// The pod after the shown one (Tab): from every pod the first, after the last every pod.
    pub fn next_pod(&self, pods: &[String]) -> Option<String> {
        match self
            .pod
            .as_ref()
            .and_then(|p| pods.iter().position(|x| x == p))
        {
            None => pods.first().cloned(),
            Some(i) => pods.get(i + 1).cloned(),
        }
    }

    pub fn apply(&mut self, intent: Intent, rows: &[Row<'_>], pods: &[String]) -> Outcome {
        if self.help {
            // Help is modal: it scrolls, closes, or quits; nothing else. The drawing
            // clamps the scroll to the help's length (`Bottom` is "as far as it goes").
            let page = self.page.max(1);
            match intent {
                Intent::Close | Intent::Help => {
                    self.help = false;
                    self.help_scroll = 0;
                }
                Intent::Quit => return Outcome::Quit,
                Intent::Down => self.help_scroll = self.help_scroll.saturating_add(1),
                Intent::Up => self.help_scroll = self.help_scroll.saturating_sub(1),
                Intent::PageDown => self.help_scroll = self.help_scroll.saturating_add(page),
                Intent::PageUp => self.help_scroll = self.help_scroll.saturating_sub(page),
                Intent::Top => self.help_scroll = 0,
                Intent::Bottom => self.help_scroll = usize::MAX,
                _ => {}
            }
            return Outcome::Stay;
        }
        if !matches!(
            intent,
            Intent::Help | Intent::Metrics | Intent::Close | Intent::Command
        ) {
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
            Intent::Help => {
                self.help = true;
                self.help_scroll = 0;
            }
            Intent::Command => self.command = Some(super::command::CommandLine::default()),
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
            // Already open: the detail stays on its swarm, even one that left the table.
            Intent::Open if self.screen == Screen::Detail => {}
            Intent::Open => {
                // The detail is of the row the lead sees selected, pinned from here on.
                if let Some(i) = current {
                    select(self, i);
                    self.screen = Screen::Detail;
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
            Intent::NextPod => self.pod = self.next_pod(pods),
            // Back through the pods, through "all" as Tab goes.
            Intent::PrevPod => {
                self.pod = match self
                    .pod
                    .as_ref()
                    .and_then(|p| pods.iter().position(|x| x == p))
                {
                    None => pods.last().cloned(),
                    Some(0) => None,
                    Some(i) => Some(pods[i - 1].clone()),
                };
            }
            Intent::Redraw => self.redraw = true,
            Intent::Pod(n) => {
                if let Some(p) = pods.get(n as usize - 1) {
                    self.pod = Some(p.clone());
                }
            }
            Intent::AllPods => self.pod = None,
            Intent::Filter => {
                self.filtering = true;
                self.screen = Screen::List;
                self.before_filter = self.selected.clone();
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
            | Intent::Update
            | Intent::Link
            | Intent::Search => return Outcome::Move(intent),
        }
        Outcome::Stay
    }

    /// Whether arrows scroll a thread (detail, triage) rather than move the selection.
    fn reading(&self) -> bool {
        matches!(self.screen, Screen::Detail | Screen::Triage)
    }

    /// A key typed while the filter is being edited: Enter keeps the filter, Esc clears it.
    /// Whenever the filter changes the selection goes to the best match, so Enter opens
    /// the swarm the lead typed, never one selected before that still matches.
    pub fn type_filter(&mut self, key: crossterm::event::KeyCode) {
        use crossterm::event::KeyCode;
        match key {
            KeyCode::Char(c) if self.filter.chars().count() < MAX_FILTER => {
                self.filter.push(c);
                self.select_best_match();
            }
            KeyCode::Backspace => {
                self.filter.pop();
                self.select_best_match();
            }
            KeyCode::Enter => self.filtering = false,
            KeyCode::Esc => {
                // Back where the lead was before filtering.
                self.filter.clear();
                self.filtering = false;
                self.selected = self.before_filter.take();
            }
            _ => {}
        }
    }

    /// Pasted text into the filter (a line: newlines become spaces; no invisible
    /// characters; a filter is a few words, not a page).
    pub fn paste_filter(&mut self, text: &str) {
        let room = MAX_FILTER.saturating_sub(self.filter.chars().count());
        self.filter.extend(
            text.chars()
                .filter(|c| !crate::domain::text::is_invisible_format(*c))
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(room),
        );
        self.select_best_match();
    }

    fn select_best_match(&mut self) {
        self.selected = None;
        self.selected_index = 0;
        self.at_top_until_moved = false;
    }
}

/// Where the table's rows are on screen, for drawing them and for a click alike: the
/// lines under the table's header, and which row the first of them shows (the window
/// follows the selection, so it stays in view).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableWindow {
    pub rows: ratatui::layout::Rect,
    pub first: usize,
}

impl TableWindow {
    /// The window of a table drawn in `area` with row `selected` selected.
    pub fn new(area: ratatui::layout::Rect, selected: usize) -> TableWindow {
        let height = area.height.saturating_sub(1);
        let rows = ratatui::layout::Rect {
            y: area.y + 1,
            height,
            ..area
        };
        let first = (selected + 1).saturating_sub(height.max(1) as usize);
        TableWindow { rows, first }
    }

    /// The row under a click at `(x, y)`, among `count` rows.
    pub fn row_at(&self, x: u16, y: u16, count: usize) -> Option<usize> {
        let inside = self.rows.contains(ratatui::layout::Position { x, y });
        let i = self.first + y.checked_sub(self.rows.y)? as usize;
        (inside && i < count).then_some(i)
    }
}

/// What the keys do while the filter is typed, for help (see [`View::type_filter`]).
pub const FILTER_KEYS: &[(&str, &str)] = &[
    (
        "type",
        "every word must match: case, subject, pod, assignee",
    ),
    ("Enter", "keep the filter (Esc on the table clears it)"),
    ("Esc", "clear it, back to the row you were on"),
];

/// Longest filter the lead can type or paste.
const MAX_FILTER: usize = 200;

/// How well a swarm matches the filter over its case, subject, pod and assignees'
/// names; a word that is the case number itself ranks above any fuzzy match.
fn filter_rank(desk: &Desk, s: &Swarm, ranker: &mut Ranker, filter: &str) -> Option<u32> {
    let mut haystack = format!("{} {} {}", s.request.case, s.request.subject, s.pod);
    for e in &s.experts {
        haystack.push(' ');
        haystack.push_str(desk.name_of(e));
    }
    // Every word must match; the case typed in full then ranks above any fuzzy match.
    let score = ranker.score(&haystack)?;
    let case = &s.request.case;
    let exact = !case.is_empty()
        && filter
            .split_whitespace()
            .any(|w| w.eq_ignore_ascii_case(case));
    Some(if exact { u32::MAX } else { score })
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
    /// Swarms with an assigned expert quiet past the pod's `quiet_after`.
    pub quiet: usize,
}

impl Counters {
    /// Counts one open swarm (with its clock as shown).
    fn count(&mut self, s: &Swarm, sla: Option<SlaView>, policy: &SlaPolicy, now: Ts) {
        self.open += 1;
        self.quiet += s.quiet_experts(policy, now).next().is_some() as usize;
        self.unassigned += s.experts.is_empty() as usize;
        self.needs_response += s.needs_response_since.is_some() as usize;
        self.sev1 += (s.urgency() == Urgency::Sev1) as usize;
        self.follow_ups_due += s.follow_up_at.is_some_and(|f| f <= now) as usize;
        match sla.map(|v| v.state) {
            Some(SlaState::Breached) => self.breaching += 1,
            Some(SlaState::Warning) => self.due_soon += 1,
            _ => {}
        }
    }
}

/// The main view's rows, with the header's counters (over every open swarm, whatever
/// the pod or filter shown).
pub struct Rows<'a> {
    rows: Vec<Row<'a>>,
    pub counters: Counters,
}

impl<'a> std::ops::Deref for Rows<'a> {
    type Target = [Row<'a>];

    fn deref(&self) -> &[Row<'a>] {
        &self.rows
    }
}

/// The attention order ([`crate::domain::swarm::Attention`]) packed in one integer:
/// owed a response, unassigned by urgency, breached, follow-up due, the soonest clock
/// (seconds left, none last), the oldest. Its fields are kept in range, so integer order
/// is the order of the domain's tuple.
fn attention_key(r: &Row<'_>, now: Ts) -> u128 {
    let flip = |x: i64| (x as u64 ^ (1 << 63)) as u128;
    let s = r.swarm;
    let answered = u128::from(!r.needs_response);
    // Taken: an expert has it, or it waits on the customer (nothing to hand out).
    let taken = !s.experts.is_empty() || s.is_waiting();
    // Urgency counts among the unassigned only (0 for the taken: one value, no order).
    let urgency = if taken { 0 } else { s.urgency() as u128 };
    let not_breached = u128::from(r.sla.is_none_or(|v| v.left > 0));
    let no_follow_up = u128::from(s.follow_up_at.is_none_or(|f| f > now));
    // Seconds left, clamped to ±68 years: no clock is that far out.
    let left = r.sla.map_or(i32::MAX as i64, |v| {
        v.left.clamp(i32::MIN as i64, i32::MAX as i64 - 1)
    });
    let left = (left as i32 as u32 ^ (1 << 31)) as u128;
    (answered << 101)
        | (u128::from(taken) << 100)
        | (urgency << 98)
        | (not_breached << 97)
        | (no_follow_up << 96)
        | (left << 64)
        | flip(s.opened_at.0)
}

/// Sorts rows by a packed key, the channel breaking ties: a sort of integers.
fn by_packed_key<'a>(rows: Vec<Row<'a>>, key: impl Fn(&Row<'a>) -> u128) -> Vec<Row<'a>> {
    let mut keyed: Vec<(u128, u32)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (key(r), i as u32))
        .collect();
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            rows[a.1 as usize]
                .swarm
                .channel
                .cmp(&rows[b.1 as usize].swarm.channel)
        })
    });
    keyed.iter().map(|&(_, i)| rows[i as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(
        secs: i64,
        thread: Option<i64>,
        author: crate::domain::Author,
        text: &str,
    ) -> crate::domain::Msg {
        crate::domain::Msg {
            channel: "C1".into(),
            ts: Ts::from_secs(secs),
            thread_ts: thread.map(Ts::from_secs),
            author,
            text: text.into(),
            block_texts: vec![],
            marker: None,
            edited: None,
            reactions: vec![],
            latest_reply: None,
        }
    }

    fn a_swarm() -> Swarm {
        use crate::domain::{Author, DeskConfig, Input, Pod};
        let mut desk = Desk::new(
            DeskConfig::default(),
            vec![Pod::discovered("C1", "swarm-api")],
        );
        let text = "Case: 27343\nUrgency: Sev 1\nSubject: Webhooks time out";
        let ts = Ts::from_secs(1_700_000_000);
        desk.apply(
            Input::Message(post(ts.secs(), None, Author::Person("U1".into()), text)),
            ts,
        );
        desk.swarms().next().expect("a swarm").clone()
    }

    #[test]
    fn attention_puts_an_unassigned_sev1_above_new_sev3s_and_raises_a_due_follow_up() {
        use crate::domain::{Author, DeskConfig, Input, Marker, MarkerKind, Msg, Pod};
        let mut desk = Desk::new(DeskConfig::default(), [Pod::discovered("C1", "swarm-api")]);
        let mut apply = |m: Msg| {
            let at = m.ts;
            desk.apply(Input::Message(m), at);
        };
        let wf = || Author::Person("U0WF".into());
        let expert = || Author::Person("U0EXP".into());
        for (secs, case, sev) in [
            (1_000, "1", "Sev 3"),
            (1_001, "2", "Sev 3"),
            (1_002, "3", "Sev 1"),
            (1_003, "4", "Sev 4"),
            (1_004, "5", "Sev 4"),
        ] {
            apply(post(
                secs,
                None,
                wf(),
                &format!("Case: {case}\nUrgency: {sev}"),
            ));
        }
        // 3 (Sev 1) had an expert's answer but nobody is assigned; 4 and 5 are
        // assigned and answered, and 5 has a follow-up due.
        for root in [1_002, 1_003, 1_004] {
            apply(post(root + 100, Some(root), expert(), "on it"));
        }
        for root in [1_003, 1_004] {
            let mut m = post(root + 200, Some(root), Author::Us, "assigned");
            m.marker = Some(Marker {
                lead: None,
                kind: MarkerKind::Assigned {
                    expert: "U0EXP".into(),
                },
            });
            apply(m);
        }
        let mut m = post(1_400, Some(1_004), Author::Us, "follow up");
        m.marker = Some(Marker {
            lead: None,
            kind: MarkerKind::FollowUp {
                next_steps: "call".into(),
                due: Ts::from_secs(1_500),
            },
        });
        apply(m);
        let now = Ts::from_secs(1_000 + 3_600);
        let rows = View::default().rows(&desk, now);
        let cases: Vec<&str> = rows.iter().map(|r| r.swarm.case()).collect();
        assert_eq!(cases, ["3", "1", "2", "5", "4"]);
    }

    #[test]
    fn the_header_does_not_count_a_swarm_whose_replies_are_loading_as_breaching() {
        use crate::domain::{Author, DeskConfig, Input, Pod};
        let mut desk = Desk::new(DeskConfig::default(), [Pod::discovered("C1", "swarm-api")]);
        let now = Ts::from_secs(10_000);
        // Two Sev 1 roots from history, both past their 15-minute first response; the
        // first says it was answered (a reply not read yet), the second has no replies.
        let mut answered = post(
            1_000,
            None,
            Author::Person("U1".into()),
            "Case: 1\nUrgency: Sev 1",
        );
        answered.latest_reply = Some(Ts::from_secs(1_100));
        let silent = post(
            1_001,
            None,
            Author::Person("U1".into()),
            "Case: 2\nUrgency: Sev 1",
        );
        desk.apply(Input::Message(answered), now);
        desk.apply(Input::Message(silent), now);
        let rows = View::default().rows(&desk, now);
        assert_eq!(rows.counters.breaching, 1, "{:?}", rows.counters);
        let pending = rows.iter().find(|r| r.swarm.case() == "1").unwrap();
        assert!(pending.swarm.pending && pending.sla.is_none());
    }

    /// One row's worth of what the attention order reads, in whole seconds (as the
    /// table shows clocks): owed, assigned, waiting, urgency, follow-up due in (secs),
    /// clock left (secs), opened.
    /// The first group also says whether its replies are still being read (pending).
    type Facts = (
        (bool, bool, bool, bool),
        usize,
        Option<i64>,
        Option<i64>,
        i64,
    );

    fn facts() -> impl proptest::strategy::Strategy<Value = Facts> {
        use proptest::prelude::*;
        (
            (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
            0usize..4,
            proptest::option::of(-3i64..3),
            // Inside the key's range, and small values often, so ties are tried.
            proptest::option::of(prop_oneof![-3i64..3, -2_000_000_000i64..2_000_000_000]),
            prop_oneof![0i64..3, 0i64..4_000_000_000],
        )
    }

    fn row_of(swarm: &mut Swarm, f: Facts, now: Ts) {
        let ((owed, assigned, waiting, pending), urgency, follow_up, left, opened) = f;
        swarm.pending = pending;
        swarm.needs_response_since = owed.then_some(now);
        swarm.experts = if assigned {
            vec!["U0EXP".into()]
        } else {
            vec![]
        };
        if waiting {
            swarm.pauses.start(now);
        }
        swarm.request.urgency = Urgency::ALL[urgency];
        swarm.follow_up_at = follow_up.map(|d| now.plus_secs(d));
        swarm.next_clock = left.map(|l| Breach {
            clock: crate::domain::Clock::Resolution,
            due: Some(now.plus_secs(l)),
            met_at: None,
            target: 3600,
            warn_at: None,
        });
        swarm.opened_at = Ts::from_secs(opened);
    }

    proptest::proptest! {
        /// The packed attention key orders rows as the domain's attention tuple.
        #[test]
        fn the_packed_attention_key_keeps_the_domains_order(a in facts(), b in facts()) {
            let now = Ts::from_secs(1_800_000_000);
            let (mut sa, mut sb) = (a_swarm(), a_swarm());
            row_of(&mut sa, a, now);
            row_of(&mut sb, b, now);
            let key = |s: &Swarm| attention_key(&Row {
                swarm: s,
                sla: sla_view(s, now),
                needs_response: s.needs_response_since.is_some(),
                rank: 0,
            }, now);
            proptest::prop_assert_eq!(
                key(&sa).cmp(&key(&sb)),
                sa.attention(now).cmp(&sb.attention(now))
            );
        }
    }
}
