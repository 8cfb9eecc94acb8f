//! The lead's dialogs: the expert picker, the promote form, and one-line prompts
//! (resolution, reply, next steps, follow-up time, handoff destination). Each takes
//! keys and either keeps going, closes, or submits what the lead settled on; the app
//! turns a submission into a move. Nothing here talks to Slack.

use super::Screenful;
use super::rank::Ranker;
use super::text::fit;
use crate::domain::moves::{Promotion, rank_experts, stakeholder_groups};
use crate::domain::{Desk, Similar, SwarmId, Urgency};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

#[derive(Clone, Debug, PartialEq)]
pub enum Dialog {
    Pick(Picker),
    Promote(PromoteForm),
    Ask(Prompt),
    /// What a search of resolved swarms found.
    Found(Found),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub query: String,
    pub matches: Vec<Similar>,
    pub selected: usize,
}

/// Choosing an expert to assign (or, with `unassign`, one of those assigned).
#[derive(Clone, Debug, PartialEq)]
pub struct Picker {
    pub swarm: SwarmId,
    pub unassign: bool,
    pub query: String,
    pub selected: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PromoteForm {
    pub swarm: SwarmId,
    pub promotion: Promotion,
    /// The lead typed a name: changing the severity no longer renames it.
    pub name_edited: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    pub swarm: Option<SwarmId>,
    pub asks: Asks,
    pub input: String,
    /// The input is a suggestion (`2h`, the usual handoff channel): the first character
    /// typed replaces it rather than being added to it.
    pub suggested: bool,
    /// Why the last Enter was refused (a due time that does not parse).
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Asks {
    /// `archive`: whether the incident channel will be archived, when the lead decides.
    Resolution {
        incident: Option<String>,
        archive: Option<bool>,
    },
    Reply,
    NextSteps,
    Due {
        next_steps: String,
    },
    /// Where to post the handoff (`#channel`, a channel id, `@name` or a user id).
    Handoff {
        open: usize,
    },
    /// Words to look for among resolved swarms.
    Search,
    /// The stakeholder update composer (`U`), one part of the template at a time:
    /// status, impact, what's next, next update at.
    Update {
        part: UpdatePart,
        draft: UpdateText,
    },
}

/// The part of the stakeholder update being typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdatePart {
    Status,
    Impact,
    Next,
    /// When the next update comes (`30m`, `15:00`; empty: no promise).
    NextUpdate,
}

impl UpdatePart {
    fn label(self) -> &'static str {
        match self {
            UpdatePart::Status => "status",
            UpdatePart::Impact => "impact",
            UpdatePart::Next => "what's next",
            UpdatePart::NextUpdate => "next update",
        }
    }
}

/// The composer's parts typed so far; `next_update` as the lead typed it (or the
/// cadence's suggestion), parsed when it is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateText {
    pub status: String,
    pub impact: String,
    pub next: String,
    /// The cadence's interval as a suggestion for the last part (`30m`).
    pub suggested_next: String,
}

/// What the lead settled on.
#[derive(Clone, Debug, PartialEq)]
pub enum Submit {
    Assign {
        swarm: SwarmId,
        expert: String,
    },
    Unassign {
        swarm: SwarmId,
        expert: String,
    },
    Promote {
        swarm: SwarmId,
        promotion: Promotion,
    },
    Resolve {
        swarm: SwarmId,
        resolution: String,
        archive: bool,
    },
    Reply {
        swarm: SwarmId,
        text: String,
    },
    NextSteps {
        swarm: SwarmId,
        next_steps: String,
    },
    FollowUp {
        swarm: SwarmId,
        next_steps: String,
        due: String,
    },
    Handoff {
        to: String,
    },
    Search {
        query: String,
    },
    /// A stakeholder update, composed; `next_update` as typed (empty: no promise).
    StatusUpdate {
        swarm: SwarmId,
        draft: UpdateText,
        next_update: String,
    },
    /// Open a link (a search result's thread).
    Open {
        link: String,
    },
}

impl Submit {
    /// The swarm it is about, if it is about one.
    pub fn swarm(&self) -> Option<&SwarmId> {
        match self {
            Submit::Assign { swarm, .. }
            | Submit::Unassign { swarm, .. }
            | Submit::Promote { swarm, .. }
            | Submit::Resolve { swarm, .. }
            | Submit::Reply { swarm, .. }
            | Submit::NextSteps { swarm, .. }
            | Submit::FollowUp { swarm, .. }
            | Submit::StatusUpdate { swarm, .. } => Some(swarm),
            Submit::Handoff { .. } | Submit::Search { .. } | Submit::Open { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum DialogKey {
    Keep,
    Close,
    Submit(Submit),
}

/// One line of the picker.
#[derive(Clone, Debug, PartialEq)]
pub struct PickItem {
    pub user: String,
    pub name: String,
    pub active: Option<bool>,
    pub skills: Vec<String>,
    pub matched: usize,
    pub load: usize,
}

impl Picker {
    /// The picker's lines for its query: ranked candidates, or the assigned experts.
    pub fn items(&self, desk: &Desk) -> Vec<PickItem> {
        let Some(swarm) = desk.by_id(&self.swarm) else {
            return Vec::new();
        };
        let items: Vec<PickItem> = if self.unassign {
            swarm
                .experts
                .iter()
                .map(|u| {
                    let e = desk.experts().find(|e| e.user == *u);
                    PickItem {
                        user: u.clone(),
                        name: desk.name_of(u).to_string(),
                        active: e.and_then(|e| e.active),
                        skills: e.map(|e| e.skills.clone()).unwrap_or_default(),
                        matched: 0,
                        load: desk.load(u),
                    }
                })
                .collect()
        } else {
            rank_experts(desk, swarm)
                .into_iter()
                .map(|c| PickItem {
                    user: c.expert.user.clone(),
                    name: desk.name_of(&c.expert.user).to_string(),
                    active: c.expert.active,
                    skills: c.expert.skills.clone(),
                    matched: c.matched.len(),
                    load: c.load,
                })
                .collect()
        };
        let Some(mut ranker) = Ranker::new(&self.query) else {
            return items;
        };
        let mut ranked: Vec<(u32, PickItem)> = items
            .into_iter()
            .filter_map(|i| {
                let score = ranker.score(&format!("{} {}", i.name, i.skills.join(" ")))?;
                Some((score, i))
            })
            .collect();
        // Best match first; the suggestion order among equals.
        ranked.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
        ranked.into_iter().map(|(_, i)| i).collect()
    }
}

/// Lines of a long answer shown while typing it.
const MAX_INPUT_LINES: usize = 6;

/// Longest text a field takes (a Slack message holds far more; a lead types far less).
const MAX_INPUT: usize = 4_000;

fn edit(input: &mut String, key: &KeyEvent) -> bool {
    match key.code {
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => input.clear(),
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            if input.chars().count() < MAX_INPUT {
                input.push(c);
            }
        }
        KeyCode::Backspace => {
            input.pop();
        }
        _ => return false,
    }
    true
}

/// Pasted text into a field: kept as text, never read as keys. `lines`: whether the
/// field takes several lines (a reply); elsewhere a newline becomes a space.
fn paste(input: &mut String, text: &str, lines: bool) {
    let room = MAX_INPUT.saturating_sub(input.chars().count());
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    input.extend(
        text.chars()
            .map(|c| match c {
                '\n' if lines => '\n',
                '\t' => ' ',
                c if c.is_control() => ' ',
                c => c,
            })
            // Bidi overrides and zero-width characters would reach Slack and terminals.
            .filter(|c| !crate::domain::text::is_invisible_format(*c))
            .take(room),
    );
}

/// A channel name as Slack takes it: lowercase, `a-z0-9-_` (spaces become `-`), at
/// most 80 characters.
fn channel_chars(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(crate::domain::naming::MAX_CHANNEL_NAME)
        .collect()
}

/// Whether Enter here means "a new line" rather than "send": Alt-Enter, and Shift-Enter
/// where the terminal reports it (the chat convention).
fn is_newline(key: &KeyEvent) -> bool {
    key.code == KeyCode::Enter
        && key
            .modifiers
            .intersects(KeyModifiers::ALT | KeyModifiers::SHIFT)
}

impl Dialog {
    /// Text pasted while the dialog is open goes into its text field, whole.
    pub fn on_paste(&mut self, text: &str) {
        match self {
            Dialog::Pick(p) => {
                paste(&mut p.query, text, false);
                p.selected = 0;
            }
            Dialog::Promote(f) => {
                let mut name = f.promotion.channel_name.clone();
                paste(&mut name, text, false);
                f.promotion.channel_name = channel_chars(&name);
                f.name_edited = true;
            }
            Dialog::Ask(p) => {
                if std::mem::take(&mut p.suggested) {
                    p.input.clear();
                }
                paste(&mut p.input, text, p.asks == Asks::Reply);
                p.error = None;
            }
            Dialog::Found(_) => {}
        }
    }

    pub fn on_key(&mut self, key: KeyEvent, desk: &Desk) -> DialogKey {
        if key.code == KeyCode::Esc {
            return DialogKey::Close;
        }
        match self {
            Dialog::Pick(p) => {
                let items = p.items(desk);
                match key.code {
                    KeyCode::Down => {
                        p.selected = (p.selected + 1).min(items.len().saturating_sub(1))
                    }
                    KeyCode::Up => p.selected = p.selected.saturating_sub(1),
                    KeyCode::Enter => {
                        let Some(item) = items.get(p.selected) else {
                            return DialogKey::Keep;
                        };
                        let (swarm, expert) = (p.swarm.clone(), item.user.clone());
                        return DialogKey::Submit(if p.unassign {
                            Submit::Unassign { swarm, expert }
                        } else {
                            Submit::Assign { swarm, expert }
                        });
                    }
                    _ => {
                        if edit(&mut p.query, &key) {
                            p.selected = 0;
                        }
                    }
                }
            }
            Dialog::Found(f) => match key.code {
                KeyCode::Down => {
                    f.selected = (f.selected + 1).min(f.matches.len().saturating_sub(1))
                }
                KeyCode::Up => f.selected = f.selected.saturating_sub(1),
                KeyCode::Enter => {
                    if let Some(m) = f.matches.get(f.selected) {
                        return DialogKey::Submit(Submit::Open {
                            link: m.link.clone(),
                        });
                    }
                }
                _ => {}
            },
            Dialog::Promote(f) => match key.code {
                KeyCode::Up | KeyCode::Down => {
                    let level = f.promotion.urgency as usize;
                    let level = if key.code == KeyCode::Up {
                        level.saturating_sub(1)
                    } else {
                        (level + 1).min(3)
                    };
                    let urgency = Urgency::ALL[level];
                    if let Some(swarm) = desk.by_id(&f.swarm) {
                        let fresh =
                            Promotion::with_urgency(desk, swarm, urgency, f.promotion.private);
                        if !f.name_edited {
                            f.promotion.channel_name = fresh.channel_name;
                        }
                        // Another severity invites its own stakeholders.
                        f.promotion.stakeholders = fresh.stakeholders;
                    }
                    f.promotion.urgency = urgency;
                }
                KeyCode::Tab => f.promotion.private = !f.promotion.private,
                KeyCode::Enter if !f.promotion.channel_name.is_empty() => {
                    return DialogKey::Submit(Submit::Promote {
                        swarm: f.swarm.clone(),
                        promotion: f.promotion.clone(),
                    });
                }
                _ => {
                    // Channel names are lowercase, without spaces.
                    if let KeyCode::Char(c) = key.code
                        && !(c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    {
                        return DialogKey::Keep;
                    }
                    let mut name = f.promotion.channel_name.clone();
                    if edit(&mut name, &key) {
                        f.promotion.channel_name = name.to_lowercase().chars().take(80).collect();
                        f.name_edited = true;
                    }
                }
            },
            Dialog::Ask(p) => match key.code {
                KeyCode::Enter if is_newline(&key) && p.asks == Asks::Reply => {
                    if p.input.chars().count() < MAX_INPUT {
                        p.input.push('\n');
                    }
                }
                KeyCode::Tab if p.asks == Asks::Reply => complete_mention(&mut p.input, desk),
                KeyCode::Tab => {
                    if let Asks::Resolution {
                        archive: Some(a), ..
                    } = &mut p.asks
                    {
                        *a = !*a;
                    }
                }
                KeyCode::Enter if matches!(p.asks, Asks::Update { .. }) => {
                    return compose_update(p);
                }
                KeyCode::Enter => {
                    let text = p.input.trim().to_string();
                    if text.is_empty() {
                        p.error = Some("type something first (Esc cancels)".into());
                        return DialogKey::Keep;
                    }
                    let swarm = p.swarm.clone().unwrap_or_default();
                    return DialogKey::Submit(match &p.asks {
                        Asks::Resolution { archive, .. } => Submit::Resolve {
                            swarm,
                            resolution: text,
                            archive: archive.unwrap_or(false),
                        },
                        Asks::Reply => Submit::Reply {
                            swarm,
                            text: with_mentions(&text, desk),
                        },
                        Asks::NextSteps => Submit::NextSteps {
                            swarm,
                            next_steps: text,
                        },
                        Asks::Due { next_steps } => Submit::FollowUp {
                            swarm,
                            next_steps: next_steps.clone(),
                            due: text,
                        },
                        Asks::Handoff { .. } => Submit::Handoff { to: text },
                        Asks::Search => Submit::Search { query: text },
                        Asks::Update { .. } => return DialogKey::Keep,
                    });
                }
                _ => {
                    if std::mem::take(&mut p.suggested) && matches!(key.code, KeyCode::Char(_)) {
                        p.input.clear();
                    }
                    if edit(&mut p.input, &key) {
                        p.error = None;
                    }
                }
            },
        }
        DialogKey::Keep
    }
}

/// Enter in the update composer: the part typed goes into the draft and the next part
/// is asked; after the last, the update is submitted. Only the status is required.
fn compose_update(p: &mut Prompt) -> DialogKey {
    let Asks::Update { part, draft } = &mut p.asks else {
        return DialogKey::Keep;
    };
    let text = std::mem::take(&mut p.input).trim().to_string();
    p.error = None;
    p.suggested = false;
    *part = match *part {
        UpdatePart::Status if text.is_empty() => {
            p.error = Some("say where it stands first (Esc cancels)".into());
            return DialogKey::Keep;
        }
        UpdatePart::Status => {
            draft.status = text;
            UpdatePart::Impact
        }
        UpdatePart::Impact => {
            draft.impact = text;
            UpdatePart::Next
        }
        UpdatePart::Next => {
            draft.next = text;
            p.input = draft.suggested_next.clone();
            p.suggested = !p.input.is_empty();
            UpdatePart::NextUpdate
        }
        UpdatePart::NextUpdate => {
            return DialogKey::Submit(Submit::StatusUpdate {
                swarm: p.swarm.clone().unwrap_or_default(),
                draft: draft.clone(),
                next_update: text,
            });
        }
    };
    DialogKey::Keep
}

/// `@handle` → `<@U…>` for the people the desk knows, so Slack notifies them; an
/// unknown handle stays as typed.
pub fn with_mentions(text: &str, desk: &Desk) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let len = after
            .find(|c: char| !is_handle_char(c))
            .unwrap_or(after.len());
        // A handle ends before trailing punctuation ("@priya.raman, can you…").
        let handle = after[..len].trim_end_matches(['.', '-']);
        let starts_word = out.chars().last().is_none_or(|c| !c.is_alphanumeric());
        // Two people of one name: the handle stays as typed rather than ping either.
        match desk
            .find_one_person(handle)
            .filter(|_| starts_word && !handle.is_empty())
        {
            Some(user) => {
                out.push_str(&format!("<@{user}>"));
                rest = &after[handle.len()..];
            }
            None => {
                out.push('@');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_handle_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Tab after `@pri` completes the handle of the one person it can mean, or as much as
/// the people it can mean share.
fn complete_mention(input: &mut String, desk: &Desk) {
    // The word being typed runs from the last character a handle cannot hold.
    let Some((at, '@')) = input
        .char_indices()
        .rev()
        .find(|(_, c)| !is_handle_char(*c))
    else {
        return;
    };
    let typed = &input[at + 1..];
    // Only handles a reply turns into mentions are offered.
    let names: Vec<&str> = desk
        .handles_starting(typed)
        .into_iter()
        .filter(|n| n.chars().all(is_handle_char) && !n.ends_with(['.', '-']))
        .collect();
    let longer = |c: &String| c.chars().count() >= typed.chars().count();
    if let Some(common) = common_prefix(&names).filter(longer) {
        input.truncate(at + 1);
        input.push_str(&common);
        if names.len() == 1 {
            input.push(' ');
        }
    }
}

/// The longest start every name shares, case aside (`None` for no names); the `:` line
/// completes with it too.
pub(crate) fn common_prefix(names: &[&str]) -> Option<String> {
    let first = names.first()?;
    let mut len = first.len();
    for n in &names[1..] {
        len = first
            .char_indices()
            .zip(n.chars())
            .take_while(|((_, a), b)| a.to_lowercase().eq(b.to_lowercase()))
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(len);
    }
    Some(first[..len].to_string())
}

/// What the keys do in each dialog, for help: written beside the code that makes them so.
pub const KEYS: &[(&str, &[(&str, &str)])] = &[
    (
        "assign / unassign picker",
        &[
            ("type", "search by name and skill (fuzzy)"),
            ("↑ ↓", "choose"),
            ("Enter", "assign (unassign) the highlighted expert"),
            ("Ctrl-u", "clear the search"),
        ],
    ),
    (
        "promote",
        &[
            ("↑ ↓", "severity (renames the channel until it is edited)"),
            ("type", "edit the channel name (a-z 0-9 - _)"),
            ("Tab", "public or private"),
            ("Enter", "create the incident channel"),
        ],
    ),
    (
        "resolve · follow-up · handoff · search",
        &[
            ("Enter", "confirm (an empty answer is refused)"),
            ("Tab", "resolve: archive the incident channel, or not"),
            ("Ctrl-u", "clear the field"),
            (
                "type",
                "a dim suggestion (2h, #channel) goes at the first key",
            ),
        ],
    ),
    (
        "stakeholder update (U)",
        &[
            (
                "Enter",
                "next part: status, impact, what's next, next update at",
            ),
            ("Enter", "on an empty impact or what's next: skip it"),
            ("type", "the next update time (the cadence's is suggested)"),
        ],
    ),
    (
        "reply",
        &[
            ("Enter", "send in the thread"),
            (
                "Alt-Enter",
                "a new line (Shift-Enter where the terminal tells)",
            ),
            ("Tab", "complete @name (it becomes a mention)"),
        ],
    ),
    (
        "search results",
        &[("↑ ↓", "choose"), ("Enter", "open the thread")],
    ),
    (
        "every dialog",
        &[("Esc", "cancel"), ("Ctrl-c", "quit (a Ctrl quit key)")],
    ),
];

/// A dialog's width on a screen of `area`.
fn width_on(area: Rect) -> u16 {
    area.width.saturating_sub(4).clamp(20, 76)
}

/// Lines the picker's list may take on a screen `height` tall.
fn picker_room(height: u16) -> usize {
    height.saturating_sub(10).clamp(3, 12) as usize
}

/// Where a dialog's list is on screen — its box, the line (inside the border) of the
/// first item shown, the lines each item takes, and which items are shown: what drawing
/// places and a click reads. `None` for a dialog without a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListPlace {
    pub rect: Rect,
    pub top: u16,
    pub per_item: u16,
    pub first: usize,
    pub count: usize,
}

impl ListPlace {
    pub fn of(dialog: &Dialog, desk: &Desk, screen: Rect) -> Option<ListPlace> {
        // Lines before the list, the items, and the keys line under it.
        let (top, per_item, first, count) = match dialog {
            Dialog::Pick(p) => {
                let items = p.items(desk).len();
                let room = picker_room(screen.height);
                let first = p.selected.saturating_sub(room - 1);
                let count = items.saturating_sub(first).min(room);
                (2 + u16::from(items == 0), 1, first, count)
            }
            Dialog::Found(f) => (u16::from(f.matches.is_empty()), 2, 0, f.matches.len()),
            Dialog::Promote(_) | Dialog::Ask(_) => return None,
        };
        let lines = top as usize + count * per_item as usize + 1;
        let rect = super::popup_rect(screen, width_on(screen), lines, 3);
        Some(ListPlace {
            rect,
            top,
            per_item,
            first,
            count,
        })
    }

    /// The item under a click at `(x, y)`.
    pub fn item_at(&self, x: u16, y: u16) -> Option<usize> {
        let inner = self.rect.inner(ratatui::layout::Margin::new(1, 1));
        if !inner.contains(ratatui::layout::Position { x, y }) {
            return None;
        }
        let line = y.checked_sub(inner.y + self.top)?;
        let i = (line / self.per_item.max(1)) as usize;
        (i < self.count).then_some(self.first + i)
    }
}

impl Dialog {
    /// A click on the screen: on an item of the list, that item is chosen (Enter still
    /// confirms: a click alone sends nothing to Slack).
    pub fn click(&mut self, desk: &Desk, screen: Rect, x: u16, y: u16) {
        let Some(i) = ListPlace::of(self, desk, screen).and_then(|p| p.item_at(x, y)) else {
            return;
        };
        match self {
            Dialog::Pick(p) => p.selected = i,
            Dialog::Found(f) => f.selected = i,
            Dialog::Promote(_) | Dialog::Ask(_) => {}
        }
    }
}

pub fn render(s: &Screenful<'_>, dialog: &Dialog, frame: &mut Frame<'_>) {
    let t = s.theme;
    let area = frame.area();
    let width = width_on(area);
    let place = ListPlace::of(dialog, s.desk, area);
    let inner = width.saturating_sub(4) as usize;
    let label = |l: &str| Span::styled(format!("{l:<12}"), t.dim());
    let case = |key: &SwarmId| {
        s.desk
            .by_id(key)
            .map(|sw| sw.case().to_string())
            .unwrap_or_default()
    };
    // Every move's dialog names the swarm in full, so a lead never acts on a case number
    // alone: pod, case, urgency, subject.
    let about = |key: &SwarmId| -> Line<'static> {
        let Some(sw) = s.desk.by_id(key) else {
            return Line::styled("(this swarm is gone)", t.bad());
        };
        let head = format!("{} · #{} · ", sw.pod, sw.case());
        let sev = format!("Sev{}", sw.urgency().level());
        let room = inner.saturating_sub(super::text::width(&head) + sev.len() + 3);
        Line::from(vec![
            Span::styled(head, t.dim()),
            Span::styled(sev, t.urgency(sw.urgency())),
            Span::styled(" · ", t.dim()),
            Span::styled(fit(&sw.request.subject, room), t.title()),
        ])
    };
    let (title, lines, keys): (String, Vec<Line>, &str) = match dialog {
        Dialog::Pick(p) => {
            let items = p.items(s.desk);
            let mut lines = vec![
                about(&p.swarm),
                Line::from(vec![
                    label("search"),
                    Span::raw(p.query.clone()),
                    Span::styled("▏", t.attention()),
                ]),
            ];
            if items.is_empty() {
                let why = if p.unassign {
                    "nobody is assigned"
                } else if s.desk.experts().next().is_none() {
                    "no experts known: add [[experts]] or a pod's expert_group to the config"
                } else {
                    "nobody matches"
                };
                lines.push(Line::styled(fit(why, inner), t.dim()));
            }
            let (first, shown) = place.map_or((0, 0), |p| (p.first, p.count));
            for (i, item) in items.iter().enumerate().skip(first).take(shown) {
                let presence = match item.active {
                    Some(true) => Span::styled("● ", t.ok()),
                    Some(false) => Span::styled("○ ", t.dim()),
                    None => Span::styled("· ", t.dim()),
                };
                let detail = format!(
                    "{} · {} open",
                    if item.skills.is_empty() {
                        "no skills listed".to_string()
                    } else {
                        item.skills.join(", ")
                    },
                    item.load
                );
                let name = fit(&item.name, 22);
                let mut line = Line::from(vec![
                    presence,
                    Span::raw(format!("{name:<22} ")),
                    Span::styled(fit(&detail, inner.saturating_sub(26)), t.dim()),
                ]);
                if i == p.selected {
                    line = line.style(t.selected());
                }
                lines.push(line);
            }
            let verb = if p.unassign {
                "unassign from"
            } else {
                "assign to"
            };
            (
                format!(" {verb} {} ", case(&p.swarm)),
                lines,
                "type to search · ↑↓ choose · Enter confirm · Esc cancel",
            )
        }
        Dialog::Found(f) => {
            let mut lines = Vec::new();
            if f.matches.is_empty() {
                lines.push(Line::styled(
                    fit(
                        "nothing resolved matches (resolved swarms are indexed as they close)",
                        inner,
                    ),
                    t.dim(),
                ));
            }
            for (i, m) in f.matches.iter().enumerate() {
                let mut head = Line::from(vec![
                    Span::styled(format!("#{} ", m.case), t.title()),
                    Span::styled(format!("{} · ", fit(&m.pod, 12)), t.dim()),
                    Span::raw(fit(&m.subject, inner.saturating_sub(22))),
                ]);
                if i == f.selected {
                    head = head.style(t.selected());
                }
                lines.push(head);
                let resolution = if m.resolution.is_empty() {
                    "—"
                } else {
                    m.resolution.as_str()
                };
                lines.push(Line::styled(
                    fit(&format!("  {resolution}"), inner),
                    t.dim(),
                ));
            }
            (
                format!(" resolved like “{}” ", fit(&f.query, 30)),
                lines,
                "↑↓ choose · Enter open the thread · Esc close",
            )
        }
        Dialog::Promote(f) => {
            let p = &f.promotion;
            let mut lines = vec![
                about(&f.swarm),
                Line::from(vec![
                    label("severity"),
                    Span::styled(format!("Sev{}", p.urgency.level()), t.urgency(p.urgency)),
                    Span::styled("  (↑↓)", t.dim()),
                ]),
                Line::from(vec![
                    label("channel"),
                    Span::raw(format!("#{}", p.channel_name)),
                    Span::styled("▏", t.attention()),
                ]),
                Line::from(vec![
                    label("access"),
                    Span::raw(if p.private {
                        "private (legal, security)"
                    } else {
                        "public"
                    }),
                    Span::styled("  (Tab)", t.dim()),
                ]),
                Line::styled(
                    fit(
                        "creates the channel, invites the requester, experts and you, sets topic and purpose, posts a summary, bookmarks the case, links the thread",
                        inner,
                    ),
                    t.dim(),
                ),
            ];
            if let Some(invites) = s
                .desk
                .by_id(&f.swarm)
                .map(|sw| stakeholder_groups(s.desk, sw, p.urgency))
                .filter(|g| !g.is_empty())
            {
                let shown: Vec<String> = invites
                    .iter()
                    .map(|(g, m)| match m {
                        Some(m) => format!("@{g} ({})", m.len()),
                        None => format!("@{g} (?)"),
                    })
                    .collect();
                lines.insert(
                    4,
                    Line::from(vec![
                        label("invites"),
                        Span::raw(fit(&shown.join(", "), inner.saturating_sub(12))),
                    ]),
                );
            }
            (
                format!(" promote {} ", case(&f.swarm)),
                lines,
                "Enter promote · Esc cancel",
            )
        }
        Dialog::Ask(p) => {
            let (title, what) = match &p.asks {
                Asks::Resolution { .. } => ("resolve", "resolution"),
                Asks::Reply => ("reply in the thread", "reply"),
                Asks::NextSteps => ("next steps", "next steps"),
                Asks::Due { .. } => ("follow up when?", "when"),
                Asks::Handoff { .. } => ("shift handoff", "post to"),
                Asks::Search => ("search resolved swarms", "words"),
                Asks::Update { part, .. } => ("stakeholder update", part.label()),
            };
            let mut lines: Vec<Line> = p.swarm.iter().map(about).collect();
            // The input wrapped, its last lines shown: what is being typed stays in view.
            let typed = super::text::wrap(&p.input, inner.saturating_sub(14).max(8));
            let shown = typed.len().saturating_sub(MAX_INPUT_LINES);
            let last = typed.len() - 1;
            for (i, text) in typed.into_iter().enumerate().skip(shown) {
                let mut spans = vec![if i == shown {
                    label(what)
                } else {
                    Span::raw(" ".repeat(12))
                }];
                let style = if p.suggested {
                    t.dim()
                } else {
                    ratatui::style::Style::default()
                };
                spans.push(Span::styled(text, style));
                if i == last {
                    spans.push(Span::styled("▏", t.attention()));
                }
                lines.push(Line::from(spans));
            }
            match &p.asks {
                Asks::Resolution {
                    incident: Some(channel),
                    archive,
                } => lines.push(Line::from(match archive {
                    Some(a) => Span::raw(format!(
                        "archive #{channel}: {}  (Tab)",
                        if *a { "yes" } else { "no" }
                    )),
                    None => Span::styled(format!("#{channel} gets a summary"), t.dim()),
                })),
                Asks::Due { next_steps } => lines.push(Line::styled(
                    fit(
                        &format!("next: {next_steps} · e.g. 2h, tomorrow 13:00"),
                        inner,
                    ),
                    t.dim(),
                )),
                Asks::Handoff { open } => lines.push(Line::styled(
                    fit(
                        &format!("{open} open swarms · #channel, @person or an id"),
                        inner,
                    ),
                    t.dim(),
                )),
                Asks::Update { part, draft } => {
                    let done = [
                        ("status", &draft.status),
                        ("impact", &draft.impact),
                        ("what's next", &draft.next),
                    ];
                    for (l, text) in done.iter().filter(|(_, t)| !t.is_empty()) {
                        lines.push(Line::from(vec![
                            label(l),
                            Span::styled(fit(text, inner.saturating_sub(12)), t.dim()),
                        ]));
                    }
                    let hint = match part {
                        UpdatePart::Status => "where it stands · posted to the incident channel",
                        UpdatePart::Impact | UpdatePart::Next => "Enter with nothing skips it",
                        UpdatePart::NextUpdate => "30m, 15:00, tomorrow 09:00 · empty: no promise",
                    };
                    lines.push(Line::styled(fit(hint, inner), t.dim()));
                }
                _ => {}
            }
            if let Some(e) = &p.error {
                lines.push(Line::styled(fit(e, inner), t.bad()));
            }
            let title = match &p.swarm {
                Some(k) => format!(" {title} · {} ", case(k)),
                None => format!(" {title} "),
            };
            let keys = if p.asks == Asks::Reply {
                "Enter send · Alt-Enter new line · Tab complete @name · Esc cancel"
            } else {
                "Enter confirm · Esc cancel"
            };
            (title, lines, keys)
        }
    };
    let mut lines = lines;
    lines.push(Line::styled(fit(keys, inner), t.dim()));
    super::popup(frame, width, &title, lines, t, 3);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DeskConfig, Input, Msg, Pod, Ts};

    fn desk() -> (Desk, SwarmId) {
        let mut desk = Desk::new(DeskConfig::default(), [Pod::discovered("C1", "swarm-api")]);
        desk.apply(
            Input::Message(Msg {
                channel: "C1".into(),
                ts: Ts::from_secs(100),
                thread_ts: None,
                author: crate::domain::Author::Person("U0REQ".into()),
                text: "Case: 42\nUrgency: Sev 2\nSubject: Slow".into(),
                block_texts: vec![],
                marker: None,
                edited: None,
                reactions: vec![],
                latest_reply: None,
            }),
            Ts::from_secs(200),
        );
        for (user, name, skills) in [
            ("U1", "Priya Raman", "api"),
            ("U2", "Grace Hall", "billing"),
        ] {
            desk.apply(
                Input::Expert {
                    user: user.into(),
                    name: name.into(),
                    skills: vec![skills.into()],
                },
                Ts(0),
            );
        }
        (desk, SwarmId::new("C1", Ts::from_secs(100)))
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(d: &mut Dialog, desk: &Desk, text: &str) {
        for c in text.chars() {
            assert_eq!(d.on_key(key(KeyCode::Char(c)), desk), DialogKey::Keep);
        }
    }

    #[test]
    fn the_picker_searches_fuzzily_and_submits_the_highlighted_expert() {
        let (desk, swarm) = desk();
        let mut d = Dialog::Pick(Picker {
            swarm: swarm.clone(),
            unassign: false,
            query: String::new(),
            selected: 0,
        });
        let Dialog::Pick(p) = &d else { unreachable!() };
        assert_eq!(
            p.items(&desk)[0].user,
            "U1",
            "the api expert first on an api swarm"
        );
        typed(&mut d, &desk, "grc");
        assert_eq!(
            d.on_key(key(KeyCode::Enter), &desk),
            DialogKey::Submit(Submit::Assign {
                swarm,
                expert: "U2".into()
            })
        );
    }

    #[test]
    fn the_promote_form_follows_severity_until_the_name_is_edited() {
        let (desk, swarm) = desk();
        let sw = desk.by_id(&swarm).unwrap();
        let mut d = Dialog::Promote(PromoteForm {
            swarm: swarm.clone(),
            promotion: Promotion::proposed(&desk, sw),
            name_edited: false,
        });
        d.on_key(key(KeyCode::Up), &desk);
        d.on_key(key(KeyCode::Tab), &desk);
        let Dialog::Promote(f) = &d else {
            unreachable!()
        };
        assert_eq!(f.promotion.channel_name, "support-api-sev1-42");
        assert!(f.promotion.private);
        d.on_key(key(KeyCode::Backspace), &desk);
        typed(&mut d, &desk, "3 x"); // a space is not allowed in a channel name
        d.on_key(key(KeyCode::Down), &desk);
        let DialogKey::Submit(Submit::Promote { promotion, .. }) =
            d.on_key(key(KeyCode::Enter), &desk)
        else {
            panic!("submits")
        };
        assert_eq!(promotion.channel_name, "support-api-sev1-43x");
        assert_eq!(promotion.urgency, Urgency::Sev2);
    }

    #[test]
    fn a_prompt_refuses_an_empty_answer_and_toggles_the_archive() {
        let (desk, swarm) = desk();
        let mut d = Dialog::Ask(Prompt {
            swarm: Some(swarm.clone()),
            asks: Asks::Resolution {
                incident: Some("support-api-sev2-42".into()),
                archive: Some(true),
            },
            input: String::new(),
            suggested: false,
            error: None,
        });
        assert_eq!(d.on_key(key(KeyCode::Enter), &desk), DialogKey::Keep);
        typed(&mut d, &desk, "fixed");
        d.on_key(key(KeyCode::Tab), &desk);
        assert_eq!(
            d.on_key(key(KeyCode::Enter), &desk),
            DialogKey::Submit(Submit::Resolve {
                swarm,
                resolution: "fixed".into(),
                archive: false
            })
        );
        assert_eq!(d.on_key(key(KeyCode::Esc), &desk), DialogKey::Close);
    }

    fn prompt(swarm: Option<SwarmId>, asks: Asks, input: &str, suggested: bool) -> Dialog {
        Dialog::Ask(Prompt {
            swarm,
            asks,
            input: input.into(),
            suggested,
            error: None,
        })
    }

    fn input(d: &Dialog) -> &str {
        match d {
            Dialog::Ask(p) => &p.input,
            other => panic!("a prompt: {other:?}"),
        }
    }

    #[test]
    fn a_reply_takes_pasted_lines_whole_and_alt_enter_adds_one() {
        let (desk, swarm) = desk();
        let mut d = prompt(Some(swarm.clone()), Asks::Reply, "", false);
        d.on_paste("first line\r\nsecond: s c a p r H\x1b[31m");
        assert_eq!(input(&d), "first line\nsecond: s c a p r H [31m");
        let alt = KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT);
        assert_eq!(
            d.on_key(alt, &desk),
            DialogKey::Keep,
            "Alt-Enter is a new line"
        );
        let shift = KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT);
        assert_eq!(d.on_key(shift, &desk), DialogKey::Keep, "so is Shift-Enter");
        typed(&mut d, &desk, "third");
        assert_eq!(
            d.on_key(key(KeyCode::Enter), &desk),
            DialogKey::Submit(Submit::Reply {
                swarm,
                text: "first line\nsecond: s c a p r H [31m\n\nthird".into()
            })
        );
        // One-line fields turn pasted newlines into spaces.
        let mut d = prompt(None, Asks::Search, "", false);
        d.on_paste("refund\nstuck");
        assert_eq!(input(&d), "refund stuck");
    }

    #[test]
    fn a_suggestion_is_replaced_by_what_the_lead_types() {
        let (desk, swarm) = desk();
        let next_steps = "call back".to_string();
        let mut d = prompt(Some(swarm.clone()), Asks::Due { next_steps }, "2h", true);
        typed(&mut d, &desk, "1m");
        assert_eq!(input(&d), "1m", "not 2h1m");
        let mut d = prompt(None, Asks::Handoff { open: 3 }, "#swarm-leads", true);
        d.on_paste("#night-shift");
        assert_eq!(input(&d), "#night-shift");
        let mut d = prompt(None, Asks::Handoff { open: 3 }, "#swarm-leads", true);
        d.on_key(key(KeyCode::Backspace), &desk);
        typed(&mut d, &desk, "x");
        assert_eq!(input(&d), "#swarm-leadx", "once edited, typing adds");
    }

    #[test]
    fn handles_become_mentions_and_tab_completes_them() {
        let (mut desk, swarm) = desk();
        for (user, name) in [
            ("U7", "priya.raman"),
            ("U8", "priya.rao"),
            ("U9", "tomas.ek"),
        ] {
            let (user, name) = (user.into(), name.into());
            desk.apply(crate::domain::Input::UserNamed { user, name }, Ts(0));
        }
        assert_eq!(
            with_mentions(
                "@tomas.ek, can you look? mail me@example.com @nobody",
                &desk
            ),
            "<@U9>, can you look? mail me@example.com @nobody"
        );
        let mut d = prompt(Some(swarm.clone()), Asks::Reply, "", false);
        typed(&mut d, &desk, "thanks @pri");
        d.on_key(key(KeyCode::Tab), &desk);
        assert_eq!(input(&d), "thanks @priya.ra", "as far as both share");
        typed(&mut d, &desk, "o");
        d.on_key(key(KeyCode::Tab), &desk);
        assert_eq!(input(&d), "thanks @priya.rao ");
        assert_eq!(
            d.on_key(key(KeyCode::Enter), &desk),
            DialogKey::Submit(Submit::Reply {
                swarm,
                text: "thanks <@U8>".into()
            })
        );
    }

    #[test]
    fn pasted_text_into_the_promote_form_is_a_channel_name() {
        let (desk, swarm) = desk();
        let sw = desk.by_id(&swarm).unwrap();
        let mut d = Dialog::Promote(PromoteForm {
            swarm: swarm.clone(),
            promotion: Promotion::proposed(&desk, sw),
            name_edited: false,
        });
        let Dialog::Promote(f) = &mut d else {
            unreachable!()
        };
        f.promotion.channel_name.clear();
        d.on_paste("Support API Sev1!\n");
        let Dialog::Promote(f) = &d else {
            unreachable!()
        };
        assert_eq!(f.promotion.channel_name, "support-api-sev1");
        assert!(f.name_edited);
    }

    #[test]
    fn a_name_two_people_share_is_no_mention_and_completion_never_erases() {
        let (mut desk, swarm) = desk();
        for (user, name) in [
            ("U7", "sam.lee"),
            ("U8", "Sam.Lee"),
            ("U9", "émile"),
            ("U10", "Émilie"),
        ] {
            let (user, name) = (user.into(), name.into());
            desk.apply(crate::domain::Input::UserNamed { user, name }, Ts(0));
        }
        assert_eq!(with_mentions("@sam.lee please", &desk), "@sam.lee please");
        let mut d = prompt(Some(swarm), Asks::Reply, "", false);
        typed(&mut d, &desk, "@ém");
        d.on_key(key(KeyCode::Tab), &desk);
        assert_eq!(input(&d), "@Émil", "as far as both share, case aside");
        typed(&mut d, &desk, "x");
        d.on_key(key(KeyCode::Tab), &desk);
        assert_eq!(input(&d), "@Émilx", "nobody matches: what was typed stays");
    }

    /// A click reads the same place the picker's items are drawn at.
    #[test]
    fn a_click_finds_the_item_drawn_where_it_lands() {
        let (desk, swarm) = desk();
        let view = crate::ui::view::View::default();
        let rows = view.rows(&desk, Ts::from_secs(200));
        let (keymap, theme) = (
            crate::ui::keymap::Keymap::default(),
            crate::ui::theme::Theme::new(false),
        );
        let none = std::collections::HashSet::new();
        let s = Screenful {
            desk: &desk,
            rows: &rows,
            health: &Default::default(),
            workspace: "Acme",
            now: Ts::from_secs(200),
            today: Ts(0),
            utc_offset: chrono::FixedOffset::east_opt(0).unwrap(),
            keymap: &keymap,
            theme: &theme,
            attention: &none,
            notice: None,
            pending: &none,
            activity: None,
            similar: &[],
        };
        let d = Dialog::Pick(Picker {
            swarm,
            unassign: false,
            query: String::new(),
            selected: 0,
        });
        let screen = Rect::new(0, 0, 100, 30);
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
        terminal.draw(|f| render(&s, &d, f)).unwrap();
        let place = ListPlace::of(&d, &desk, screen).unwrap();
        let Dialog::Pick(p) = &d else { unreachable!() };
        let items = p.items(&desk);
        assert_eq!(place.count, items.len());
        for (i, item) in items.iter().enumerate() {
            let y = place.rect.y + 1 + place.top + i as u16;
            let line: String = (0..100)
                .map(|x| terminal.backend().buffer()[(x, y)].symbol().to_string())
                .collect();
            assert!(line.contains(&item.name), "line {y}: {line}");
            assert_eq!(place.item_at(place.rect.x + 3, y), Some(i));
        }
        assert_eq!(
            place.item_at(place.rect.x + 3, place.rect.y + 1),
            None,
            "the swarm's line"
        );
    }
}
