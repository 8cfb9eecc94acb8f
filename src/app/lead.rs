//! The lead's controller: what each key and each settled dialog means. Pure: it reads the
//! desk, changes the view, and answers with [`Command`]s that the loop carries out (send a
//! move, search, open a link, ask presence). No Slack, no store, no terminal, no clock.

use crate::config::{ArchivePolicy, AssignMode};
use crate::domain::moves::{self, Action, Mover, Promotion};
use crate::domain::{Desk, Swarm, SwarmId, Ts};
use crate::ui::command::{self, Choices, Run, Typed};
use crate::ui::dialog::{
    Asks, Dialog, DialogKey, Found, Picker, PromoteForm, Prompt, Submit, UpdatePart, UpdateText,
};
use crate::ui::keymap::{Intent, Keymap};
use crate::ui::triage::Triage;
use crate::ui::view::TableWindow;
use crate::ui::view::{Outcome, Screen, View};
use chrono::FixedOffset;
use crossterm::event::{KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

/// How the lead's moves are made: who acts, and the `[actions]` settings.
#[derive(Clone, Debug)]
pub(crate) struct MoveSettings {
    pub lead: Option<String>,
    pub resolved_reaction: String,
    pub archive: ArchivePolicy,
    pub handoff_to: Option<String>,
    /// Whether `a` assigns at once or asks the expert first.
    pub assign: AssignMode,
    /// Whether there is a store to search.
    pub searchable: bool,
}

/// When a key is handled: now, and the lead's UTC offset (follow-up times are local).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Moment {
    pub now: Ts,
    pub offset: FixedOffset,
}

/// What the loop must do for the lead.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Command {
    /// Queue a move for Slack (stored first) and show it pending.
    Send(Action),
    /// Look among resolved swarms; the answer opens the search results.
    Search {
        query: String,
    },
    /// Open the swarm's thread in a browser (its permalink, else its case link).
    Browse {
        swarm: SwarmId,
    },
    /// Open a link already known (a search result's thread).
    Open {
        link: String,
    },
    /// Presence of the picker's likely choices.
    AskPresence {
        users: Vec<String>,
    },
    /// The lead has looked at this swarm: its flag goes.
    Seen(SwarmId),
    /// A line for the lead under the table.
    Notice(String),
    Quit,
}

/// Lines (rows) one turn of the wheel scrolls.
const WHEEL_LINES: usize = 3;

/// Picker suggestions whose presence is asked: more than fit on screen is wasted calls.
const PRESENCE_ASKED: usize = 15;

pub(crate) struct Lead {
    settings: MoveSettings,
    /// Makes move ids unique across processes sharing a store.
    instance: String,
    seq: u64,
    /// The swarm last resolved from here, for `R` to undo.
    last_resolved: Option<SwarmId>,
    /// Duplicates linked from here: a second `L` before the first link's post is back
    /// from Slack must not post a second pair of notes.
    linked: std::collections::HashSet<SwarmId>,
}

impl Lead {
    pub fn new(settings: MoveSettings, instance: impl Into<String>) -> Lead {
        Lead {
            settings,
            instance: instance.into(),
            seq: 0,
            last_resolved: None,
            linked: Default::default(),
        }
    }

    /// A planner of moves with a fresh id.
    pub fn mover(&mut self, now: Ts) -> Mover<'_> {
        self.seq += 1;
        Mover {
            id: format!("{}-{}-{}", self.instance, now.0, self.seq),
            lead: self.settings.lead.as_deref(),
            resolved_reaction: &self.settings.resolved_reaction,
        }
    }

    /// A key press: to the open dialog, the filter, or the keymap.
    pub fn on_key(
        &mut self,
        view: &mut View,
        key: KeyEvent,
        keymap: &Keymap,
        desk: &Desk,
        at: Moment,
    ) -> Vec<Command> {
        let intent = keymap.intent(&key);
        let ctrl_quit =
            key.modifiers.contains(KeyModifiers::CONTROL) && intent == Some(Intent::Quit);
        if let Some(mut dialog) = view.dialog.take() {
            if ctrl_quit {
                return vec![Command::Quit];
            }
            return match dialog.on_key(key, desk) {
                DialogKey::Keep => {
                    view.dialog = Some(dialog);
                    Vec::new()
                }
                DialogKey::Close => Vec::new(),
                DialogKey::Submit(submit) => self.on_submit(view, submit, desk, at),
            };
        }
        if let Some(mut line) = view.command.take() {
            if ctrl_quit {
                return vec![Command::Quit];
            }
            return match line.on_key(key, &Choices::of(desk)) {
                Typed::Keep => {
                    view.command = Some(line);
                    Vec::new()
                }
                Typed::Cancel => Vec::new(),
                Typed::Run(text) => self.run(view, &text, desk),
            };
        }
        if view.filtering && !ctrl_quit {
            // Typing: letters go to the filter, but a Ctrl quit key still quits.
            view.type_filter(key.code);
            return Vec::new();
        }
        match intent {
            Some(intent) => self.on_intent(view, intent, desk, at),
            None => Vec::new(),
        }
    }

    /// Pasted text: into the open dialog's field or the filter, whole; never keys.
    pub fn on_paste(&mut self, view: &mut View, text: &str) -> Vec<Command> {
        if let Some(dialog) = view.dialog.as_mut() {
            dialog.on_paste(text);
            Vec::new()
        } else if let Some(line) = view.command.as_mut() {
            line.paste(text);
            Vec::new()
        } else if view.filtering {
            view.paste_filter(text);
            Vec::new()
        } else {
            notice("Pasted text goes into a text field: c to reply, / to filter.")
        }
    }

    /// The mouse (with `[ui] mouse`), on a screen of `screen`: a click selects a row
    /// (on the selected row it opens it) or a dialog's item; the wheel scrolls what the
    /// arrows would. Hit-testing reads the layout drawing uses.
    pub fn on_mouse(
        &mut self,
        view: &mut View,
        event: MouseEvent,
        desk: &Desk,
        at: Moment,
        screen: Rect,
    ) -> Vec<Command> {
        let (x, y) = (event.column, event.row);
        // A line being typed keeps its keys; the mouse waits until it is done.
        if view.command.is_some() || view.filtering {
            return Vec::new();
        }
        if let Some(dialog) = view.dialog.as_mut() {
            if event.kind == MouseEventKind::Down(MouseButton::Left) {
                dialog.click(desk, screen, x, y);
            }
            return Vec::new();
        }
        let wheel = match event.kind {
            MouseEventKind::ScrollDown => Intent::Down,
            MouseEventKind::ScrollUp => Intent::Up,
            MouseEventKind::Down(MouseButton::Left)
                if view.screen == Screen::List && !view.help =>
            {
                return self.click_row(view, desk, at, screen, (x, y));
            }
            _ => return Vec::new(),
        };
        (0..WHEEL_LINES)
            .flat_map(|_| self.on_intent(view, wheel, desk, at))
            .collect()
    }

    fn click_row(
        &mut self,
        view: &mut View,
        desk: &Desk,
        at: Moment,
        screen: Rect,
        (x, y): (u16, u16),
    ) -> Vec<Command> {
        let [_, body, _] = crate::ui::areas(screen);
        let rows = view.rows(desk, at.now);
        let selected = view.selection(&rows).unwrap_or(0);
        let Some(i) = TableWindow::new(body, selected).row_at(x, y, rows.len()) else {
            return Vec::new();
        };
        let key = rows[i].key();
        drop(rows);
        view.selected = Some(key);
        view.selected_index = i;
        view.at_top_until_moved = false;
        if i == selected {
            // A second click (or a double-click) on a row opens it.
            return self.on_intent(view, Intent::Open, desk, at);
        }
        view.detail_scroll = 0;
        Vec::new()
    }

    /// A `:` command line the lead ran.
    fn run(&mut self, view: &mut View, line: &str, desk: &Desk) -> Vec<Command> {
        let run = match command::parse(line) {
            Ok(run) => run,
            Err(why) => return notice(&why),
        };
        match run {
            Run::Quit => return vec![Command::Quit],
            Run::Help => {
                view.help = true;
                view.help_scroll = 0;
            }
            Run::Sort(sort) => view.sort = sort,
            Run::Pod(None) => view.pod = None,
            Run::Pod(Some(name)) => {
                let Some(pod) = desk.pods().find(|p| p.name.eq_ignore_ascii_case(&name)) else {
                    let pods: Vec<&str> = desk.pods().map(|p| p.name.as_str()).collect();
                    return notice(&format!("No pod `{name}`; pods: {}", pods.join(" ")));
                };
                view.pod = Some(pod.channel.clone());
            }
            Run::Case(case) => {
                // The newest open swarm of that case: a case swarmed twice is the live one.
                let Some(swarm) = desk
                    .swarms()
                    .filter(|s| s.is_open() && s.case().eq_ignore_ascii_case(&case))
                    .max_by_key(|s| s.opened_at)
                else {
                    return notice(&format!("No open swarm for case {case}."));
                };
                let id = swarm.id();
                view.selected = Some(id.clone());
                view.at_top_until_moved = false;
                view.triage = None;
                view.detail_scroll = 0;
                view.screen = Screen::Detail;
                return vec![Command::Seen(id)];
            }
        }
        Vec::new()
    }

    /// An intent from the keymap: the view's own, or one of the lead's moves.
    pub fn on_intent(
        &mut self,
        view: &mut View,
        intent: Intent,
        desk: &Desk,
        at: Moment,
    ) -> Vec<Command> {
        let pods: Vec<String> = desk.pods().map(|p| p.channel.clone()).collect();
        let rows = view.rows(desk, at.now);
        let outcome = view.apply(intent, &rows, &pods);
        drop(rows);
        match outcome {
            Outcome::Quit => vec![Command::Quit],
            Outcome::Move(intent) => self.on_move(view, intent, desk, at),
            Outcome::Stay => match (&view.selected, intent, view.screen) {
                (Some(swarm), Intent::Open, Screen::Detail) => vec![Command::Seen(swarm.clone())],
                _ => Vec::new(),
            },
        }
    }

    /// A move key: open its dialog, or (for one-key moves) plan it.
    fn on_move(
        &mut self,
        view: &mut View,
        intent: Intent,
        desk: &Desk,
        at: Moment,
    ) -> Vec<Command> {
        let triage = view.screen == Screen::Triage;
        match intent {
            Intent::Triage => {
                view.triage = Some(Triage::start(desk, at.now));
                view.screen = Screen::Triage;
                return triage_moved_on(view, desk);
            }
            Intent::Skip => {
                return match view.triage.as_mut().filter(|_| triage) {
                    Some(t) => {
                        t.next();
                        triage_moved_on(view, desk)
                    }
                    None => Vec::new(),
                };
            }
            Intent::Search => {
                if !self.settings.searchable {
                    return notice(
                        "Search needs the local store, which could not be opened (see the log).",
                    );
                }
                view.dialog = Some(ask(None, Asks::Search, String::new()));
                return Vec::new();
            }
            Intent::Handoff => {
                let open = desk.swarms().filter(|s| s.is_open()).count();
                let to = self.settings.handoff_to.clone().unwrap_or_default();
                view.dialog = Some(suggest(None, Asks::Handoff { open }, to));
                return Vec::new();
            }
            _ => {}
        }
        let target = target(view, desk, at.now);
        if intent == Intent::Reopen {
            // The swarm shown if it is resolved, else the last one resolved from here.
            let resolved = |id: &SwarmId| desk.by_id(id).filter(|s| !s.is_open());
            let swarm = target
                .as_ref()
                .and_then(resolved)
                .or_else(|| self.last_resolved.as_ref().and_then(resolved));
            return match swarm {
                Some(swarm) => {
                    let mut commands = vec![Command::Send(self.mover(at.now).reopen(swarm))];
                    if let Some(i) = &swarm.incident {
                        commands.extend(notice(&format!(
                            "#{} stays as it is: Slack lets no app unarchive a channel; if it was archived, unarchive it in Slack.",
                            i.channel_name
                        )));
                    }
                    commands
                }
                None => notice("Nothing resolved to reopen."),
            };
        }
        let Some(swarm) = target.as_ref().and_then(|id| desk.by_id(id)) else {
            return notice("No swarm selected.");
        };
        let id = swarm.id();
        match intent {
            Intent::Assign if triage => match moves::rank_experts(desk, swarm).first() {
                Some(top) => {
                    let expert = top.expert.user.clone();
                    self.on_submit(view, Submit::Assign { swarm: id, expert }, desk, at)
                }
                None => notice("No expert to suggest: pick one with A."),
            },
            Intent::Assign | Intent::AssignOther => {
                view.dialog = Some(Dialog::Pick(Picker {
                    swarm: id,
                    unassign: false,
                    query: String::new(),
                    selected: 0,
                }));
                ask_presence(desk, swarm)
            }
            Intent::Unassign if swarm.experts.is_empty() => {
                notice(&format!("Nobody is assigned to {}.", swarm.case()))
            }
            Intent::Unassign => {
                view.dialog = Some(Dialog::Pick(Picker {
                    swarm: id,
                    unassign: true,
                    query: String::new(),
                    selected: 0,
                }));
                Vec::new()
            }
            Intent::Promote => match &swarm.incident {
                Some(i) => notice(&format!(
                    "{} is promoted already: #{}.",
                    swarm.case(),
                    i.channel_name
                )),
                None => {
                    view.dialog = Some(Dialog::Promote(PromoteForm {
                        swarm: id,
                        promotion: Promotion::proposed(desk, swarm),
                        name_edited: false,
                    }));
                    Vec::new()
                }
            },
            Intent::Resolve => {
                let archive = match (self.settings.archive, &swarm.incident) {
                    (ArchivePolicy::Ask, Some(_)) => Some(true),
                    _ => None,
                };
                let incident = swarm.incident.as_ref().map(|i| i.channel_name.clone());
                let asks = Asks::Resolution { incident, archive };
                view.dialog = Some(ask(Some(id), asks, String::new()));
                Vec::new()
            }
            Intent::Waiting => vec![Command::Send(self.mover(at.now).toggle_waiting(swarm))],
            Intent::FollowUp => {
                let steps = swarm.next_steps.clone().unwrap_or_default();
                view.dialog = Some(ask(Some(id), Asks::NextSteps, steps));
                Vec::new()
            }
            Intent::Reply => {
                view.dialog = Some(ask(Some(id), Asks::Reply, String::new()));
                Vec::new()
            }
            Intent::Browse => vec![Command::Browse { swarm: id }],
            Intent::Update => match &swarm.incident {
                None => notice(&format!(
                    "{} is not promoted: stakeholder updates go to an incident channel (p promotes).",
                    swarm.case()
                )),
                Some(_) => {
                    let every = desk
                        .pod(&swarm.channel)
                        .and_then(|p| p.sla.update_every(swarm.urgency()));
                    let suggested_next = every
                        .map(|e| {
                            humantime::format_duration(std::time::Duration::from_secs(
                                e.max(0) as u64
                            ))
                            .to_string()
                        })
                        .unwrap_or_default();
                    let status = swarm
                        .last_update
                        .as_ref()
                        .map(|u| u.status.clone())
                        .unwrap_or_default();
                    let asks = Asks::Update {
                        part: UpdatePart::Status,
                        draft: UpdateText {
                            suggested_next,
                            ..UpdateText::default()
                        },
                    };
                    view.dialog = Some(suggest(Some(id), asks, status));
                    Vec::new()
                }
            },
            Intent::Link => {
                // Once: a swarm linked already, or not flagged, says so and posts nothing.
                let original = swarm.duplicate_of.as_ref().map(|d| desk.by_id(&d.of));
                match (&swarm.linked_to, original) {
                    (Some(link), _) => notice(&format!(
                        "{} is linked already: duplicate of #{}.",
                        swarm.case(),
                        link.case
                    )),
                    (None, None) => notice(&format!(
                        "{} is not flagged as a likely duplicate.",
                        swarm.case()
                    )),
                    (None, Some(None)) => {
                        notice("The swarm it duplicates is gone (withdrawn meanwhile).")
                    }
                    (None, Some(Some(_))) if self.linked.contains(&id) => {
                        notice(&format!("{} is being linked already.", swarm.case()))
                    }
                    (None, Some(Some(original))) => {
                        match self.mover(at.now).link_duplicate(swarm, original) {
                            Ok(action) => {
                                self.linked.insert(id);
                                vec![Command::Send(action)]
                            }
                            Err(why) => notice(&why),
                        }
                    }
                }
            }
            _ => Vec::new(),
        }
    }

    /// What a dialog settled on becomes a move, or the next question.
    pub fn on_submit(
        &mut self,
        view: &mut View,
        submit: Submit,
        desk: &Desk,
        at: Moment,
    ) -> Vec<Command> {
        let id = match submit.swarm() {
            Some(id) if !matches!(submit, Submit::NextSteps { .. }) => id.clone(),
            _ => return self.on_question(view, submit, desk, at),
        };
        let Some(swarm) = desk.by_id(&id) else {
            return notice("That swarm is gone (withdrawn meanwhile).");
        };
        let Some(action) = self.plan(view, desk, swarm, submit, at) else {
            return Vec::new();
        };
        let mut commands = vec![Command::Send(action)];
        // In triage, a move on the current swarm moves the queue on.
        if view.screen == Screen::Triage
            && let Some(t) = view.triage.as_mut()
            && t.current(desk).as_ref() == Some(&id)
        {
            t.next();
            commands.extend(triage_moved_on(view, desk));
        }
        commands
    }

    /// A move on one swarm, planned; `None` when the lead must answer again (a due time
    /// that does not parse reopens its prompt).
    fn plan(
        &mut self,
        view: &mut View,
        desk: &Desk,
        swarm: &Swarm,
        submit: Submit,
        at: Moment,
    ) -> Option<Action> {
        match submit {
            Submit::Assign { expert, .. } => {
                let name = desk.name_of(&expert).to_string();
                let mode = self.settings.assign;
                let mover = self.mover(at.now);
                Some(match mode {
                    AssignMode::Tell => mover.assign(swarm, &expert, &name),
                    AssignMode::Ask => mover.ask(swarm, &expert, &name),
                })
            }
            Submit::Unassign { expert, .. } => {
                let name = desk.name_of(&expert).to_string();
                Some(self.mover(at.now).unassign(swarm, &expert, &name))
            }
            Submit::Promote { mut promotion, .. } => {
                // The groups' members as the desk knows them now: Slack may have answered
                // while the dialog was open.
                promotion.stakeholders =
                    Promotion::with_urgency(desk, swarm, promotion.urgency, promotion.private)
                        .stakeholders;
                Some(self.mover(at.now).promote(swarm, &promotion))
            }
            Submit::Resolve {
                swarm: id,
                resolution,
                archive,
            } => {
                let archive = match self.settings.archive {
                    ArchivePolicy::Always => true,
                    ArchivePolicy::Never => false,
                    ArchivePolicy::Ask => archive,
                };
                let action = self.mover(at.now).resolve(swarm, &resolution, archive);
                self.last_resolved = Some(id);
                Some(action)
            }
            Submit::Reply { text, .. } => Some(self.mover(at.now).reply(swarm, &text)),
            Submit::FollowUp {
                swarm: id,
                next_steps,
                due,
            } => {
                let local = at.now.to_datetime().with_timezone(&at.offset);
                match moves::parse_due(&due, local) {
                    Ok(when) => Some(self.mover(at.now).follow_up(swarm, &next_steps, when)),
                    Err(e) => {
                        view.dialog = Some(Dialog::Ask(Prompt {
                            swarm: Some(id),
                            asks: Asks::Due { next_steps },
                            input: due,
                            suggested: false,
                            error: Some(e),
                        }));
                        None
                    }
                }
            }
            Submit::StatusUpdate {
                swarm: id,
                draft,
                next_update,
            } => {
                let local = at.now.to_datetime().with_timezone(&at.offset);
                let next_update_at = match next_update.trim() {
                    "" => None,
                    typed => match moves::parse_due(typed, local) {
                        Ok(when) => Some(when),
                        Err(e) => {
                            view.dialog = Some(Dialog::Ask(Prompt {
                                swarm: Some(id),
                                asks: Asks::Update {
                                    part: UpdatePart::NextUpdate,
                                    draft,
                                },
                                input: next_update,
                                suggested: false,
                                error: Some(e),
                            }));
                            return None;
                        }
                    },
                };
                let draft = moves::UpdateDraft {
                    status: draft.status,
                    impact: draft.impact,
                    next: draft.next,
                    next_update_at,
                };
                Some(self.mover(at.now).status_update(swarm, &draft))
            }
            _ => None,
        }
    }

    /// Submissions that are not a move on one swarm: handoff, search, a link, the next
    /// question of the follow-up.
    fn on_question(
        &mut self,
        view: &mut View,
        submit: Submit,
        desk: &Desk,
        at: Moment,
    ) -> Vec<Command> {
        match submit {
            Submit::Handoff { to } => match moves::destination(desk, &to) {
                Ok(dest) => {
                    let text = moves::handoff_text(desk, self.settings.lead.as_deref(), at.now);
                    vec![Command::Send(self.mover(at.now).handoff(
                        &dest,
                        to.trim(),
                        text,
                    ))]
                }
                Err(e) => {
                    let open = desk.swarms().filter(|s| s.is_open()).count();
                    view.dialog = Some(Dialog::Ask(Prompt {
                        swarm: None,
                        asks: Asks::Handoff { open },
                        input: to,
                        suggested: false,
                        error: Some(e),
                    }));
                    Vec::new()
                }
            },
            Submit::Search { query } => vec![Command::Search { query }],
            Submit::Open { link } => vec![Command::Open { link }],
            Submit::NextSteps { swarm, next_steps } => {
                view.dialog = Some(suggest(Some(swarm), Asks::Due { next_steps }, "2h".into()));
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

/// What a search found, shown as a list to open.
pub(crate) fn show_found(view: &mut View, query: String, matches: Vec<crate::domain::Similar>) {
    view.dialog = Some(Dialog::Found(Found {
        query,
        matches,
        selected: 0,
    }));
}

/// The swarm a move is about: triage's current one, the one the detail shows (even once
/// it left the table, resolved), else the selected row.
fn target(view: &mut View, desk: &Desk, now: Ts) -> Option<SwarmId> {
    match view.screen {
        Screen::Triage => return view.triage.as_mut()?.current(desk),
        Screen::Detail if view.selected.is_some() => {
            // The swarm shown, or none if it is gone: never the row that took its place.
            return view.selected.clone().filter(|id| desk.by_id(id).is_some());
        }
        _ => {}
    }
    let rows = view.rows(desk, now);
    view.selection(&rows).map(|i| rows[i].key())
}

/// A new swarm in front of the lead in triage: its thread from the newest, and the
/// presence of its suggested experts.
fn triage_moved_on(view: &mut View, desk: &Desk) -> Vec<Command> {
    view.detail_scroll = 0;
    let current = view.triage.as_mut().and_then(|t| t.current(desk));
    match current.as_ref().and_then(|id| desk.by_id(id)) {
        Some(swarm) => ask_presence(desk, swarm),
        None => Vec::new(),
    }
}

fn ask_presence(desk: &Desk, swarm: &Swarm) -> Vec<Command> {
    let users: Vec<String> = moves::rank_experts(desk, swarm)
        .iter()
        .take(PRESENCE_ASKED)
        .map(|c| c.expert.user.clone())
        .collect();
    if users.is_empty() {
        return Vec::new();
    }
    vec![Command::AskPresence { users }]
}

fn ask(swarm: Option<SwarmId>, asks: Asks, input: String) -> Dialog {
    Dialog::Ask(Prompt {
        swarm,
        asks,
        input,
        suggested: false,
        error: None,
    })
}

/// A prompt holding a suggestion that the first typed character replaces.
fn suggest(swarm: Option<SwarmId>, asks: Asks, input: String) -> Dialog {
    let suggested = !input.is_empty();
    Dialog::Ask(Prompt {
        swarm,
        asks,
        input,
        suggested,
        error: None,
    })
}

fn notice(text: &str) -> Vec<Command> {
    vec![Command::Notice(text.to_string())]
}

#[cfg(test)]
mod tests;
