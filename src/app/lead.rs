//! The lead's controller: what each key and each settled dialog means. Pure: it reads the
//! desk, changes the view, and answers with [`Command`]s that the loop carries out (send a
//! move, search, open a link, ask presence). No Slack, no store, no terminal, no clock.

use crate::config::ArchivePolicy;
use crate::domain::moves::{self, Action, Mover, Promotion};
use crate::domain::{Desk, Swarm, SwarmId, Ts};
use crate::ui::dialog::{Asks, Dialog, DialogKey, Found, Picker, PromoteForm, Prompt, Submit};
use crate::ui::keymap::{Intent, Keymap};
use crate::ui::triage::Triage;
use crate::ui::view::{Outcome, Screen, View};
use chrono::FixedOffset;
use crossterm::event::{KeyEvent, KeyModifiers};

/// How the lead's moves are made: who acts, and the `[actions]` settings.
#[derive(Clone, Debug)]
pub(crate) struct MoveSettings {
    pub lead: Option<String>,
    pub resolved_reaction: String,
    pub archive: ArchivePolicy,
    pub handoff_to: Option<String>,
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

/// Picker suggestions whose presence is asked: more than fit on screen is wasted calls.
const PRESENCE_ASKED: usize = 15;

pub(crate) struct Lead {
    settings: MoveSettings,
    /// Makes move ids unique across processes sharing a store.
    instance: String,
    seq: u64,
    /// The swarm last resolved from here, for `R` to undo.
    last_resolved: Option<SwarmId>,
}

impl Lead {
    pub fn new(settings: MoveSettings, instance: impl Into<String>) -> Lead {
        Lead {
            settings,
            instance: instance.into(),
            seq: 0,
            last_resolved: None,
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
                view.dialog = Some(ask(None, Asks::Handoff { open }, to));
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
                Some(swarm) => vec![Command::Send(self.mover(at.now).reopen(swarm))],
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
                Some(self.mover(at.now).assign(swarm, &expert, &name))
            }
            Submit::Unassign { expert, .. } => {
                let name = desk.name_of(&expert).to_string();
                Some(self.mover(at.now).unassign(swarm, &expert, &name))
            }
            Submit::Promote { promotion, .. } => {
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
                            error: Some(e),
                        }));
                        None
                    }
                }
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
                        error: Some(e),
                    }));
                    Vec::new()
                }
            },
            Submit::Search { query } => vec![Command::Search { query }],
            Submit::Open { link } => vec![Command::Open { link }],
            Submit::NextSteps { swarm, next_steps } => {
                view.dialog = Some(ask(Some(swarm), Asks::Due { next_steps }, "2h".into()));
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

/// The swarm a move is about: triage's current one, else the selected row.
fn target(view: &mut View, desk: &Desk, now: Ts) -> Option<SwarmId> {
    if view.screen == Screen::Triage {
        return view.triage.as_mut()?.current(desk);
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
        error: None,
    })
}

fn notice(text: &str) -> Vec<Command> {
    vec![Command::Notice(text.to_string())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::input::{Author, Input, Marker, MarkerKind, Msg};
    use crate::domain::moves::{Meta, Step, Target};
    use crate::domain::{DeskConfig, Pod};
    use crossterm::event::KeyCode;

    const POD: &str = "C0SWARMAPI";
    const NOW: i64 = 10_000;

    fn msg(secs: i64, thread: Option<i64>, author: Author, text: &str) -> Msg {
        Msg {
            channel: POD.into(),
            ts: Ts::from_secs(secs),
            thread_ts: thread.map(Ts::from_secs),
            author,
            text: text.into(),
            block_texts: vec![],
            marker: None,
            edited: None,
            reactions: vec![],
        }
    }

    /// A pod with two open swarms (26901 the older, a Sev1; 26902 a Sev3) and two
    /// experts who know the pod's product.
    fn desk() -> Desk {
        let mut desk = Desk::new(DeskConfig::default(), [Pod::discovered(POD, "swarm-api")]);
        for (i, (case, sev)) in [("26901", "Sev 1"), ("26902", "Sev 3")].iter().enumerate() {
            let text = format!(
                "Case: {case}\nUrgency: {sev}\nSubject: Webhooks {case}\nLink: https://crm.example/{case}"
            );
            let request = msg(
                1_000 + i as i64,
                None,
                Author::Person("U0REQ1".into()),
                &text,
            );
            desk.apply(Input::Message(request), Ts::from_secs(NOW));
        }
        for (user, name) in [("U0EXP1", "Priya Raman"), ("U0EXP2", "Tomas Ek")] {
            let skills = vec!["api".into()];
            let (user, name) = (user.into(), name.into());
            desk.apply(Input::Expert { user, name, skills }, Ts(0));
        }
        desk
    }

    /// A marker on a swarm's thread, as the bot posts it.
    fn mark(desk: &mut Desk, thread: i64, secs: i64, kind: MarkerKind) {
        let mut m = msg(secs, Some(thread), Author::Us, "marker");
        m.marker = Some(Marker {
            kind,
            lead: Some("U0LEAD".into()),
        });
        desk.apply(Input::Message(m), Ts::from_secs(NOW));
    }

    fn lead() -> Lead {
        Lead::new(
            MoveSettings {
                lead: Some("U0LEAD".into()),
                resolved_reaction: "white_check_mark".into(),
                archive: ArchivePolicy::Ask,
                handoff_to: Some("#swarm-leads".into()),
                searchable: true,
            },
            "test",
        )
    }

    fn at() -> Moment {
        Moment {
            now: Ts::from_secs(NOW),
            offset: FixedOffset::east_opt(0).unwrap(),
        }
    }

    /// The lead at the desk: keys in, commands out.
    struct Rig {
        lead: Lead,
        view: View,
        desk: Desk,
        keymap: Keymap,
    }

    impl Rig {
        fn new(desk: Desk) -> Rig {
            Rig {
                lead: lead(),
                view: View::default(),
                desk,
                keymap: Keymap::default(),
            }
        }

        fn key(&mut self, code: KeyCode) -> Vec<Command> {
            self.press(KeyEvent::new(code, KeyModifiers::NONE))
        }

        fn press(&mut self, key: KeyEvent) -> Vec<Command> {
            let keymap = self.keymap.clone();
            self.lead
                .on_key(&mut self.view, key, &keymap, &self.desk, at())
        }

        fn char(&mut self, c: char) -> Vec<Command> {
            self.key(KeyCode::Char(c))
        }

        fn typed(&mut self, text: &str) {
            for c in text.chars() {
                assert_eq!(
                    self.char(c),
                    vec![],
                    "typing {c:?} into a dialog does nothing else"
                );
            }
        }

        /// Selects the row of this case.
        fn select(&mut self, case: &str) {
            self.char('g');
            for _ in 0..10 {
                let rows = self.view.rows(&self.desk, Ts::from_secs(NOW));
                let i = self.view.selection(&rows).unwrap();
                if rows[i].swarm.case() == case {
                    return;
                }
                drop(rows);
                self.char('j');
            }
            panic!("no row for case {case}");
        }

        fn id(&self, case: &str) -> SwarmId {
            self.desk.swarms().find(|s| s.case() == case).unwrap().id()
        }
    }

    fn sent(commands: &[Command]) -> &Action {
        match commands {
            [Command::Send(action), ..] => action,
            other => panic!("expected a move sent first, got {other:?}"),
        }
    }

    fn markers(action: &Action) -> Vec<&MarkerKind> {
        action
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Post {
                    meta: Meta::Marker(k),
                    ..
                } => Some(k),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn assign_opens_the_picker_on_the_selected_swarm_and_enter_assigns() {
        let mut rig = Rig::new(desk());
        rig.select("26902");
        let asked = rig.char('a');
        let Some(Dialog::Pick(p)) = &rig.view.dialog else {
            panic!("the picker opens: {:?}", rig.view.dialog)
        };
        assert_eq!(p.swarm, rig.id("26902"));
        assert!(!p.unassign);
        assert!(
            matches!(&asked[..], [Command::AskPresence { users }] if users.len() == 2),
            "the suggestions' presence is asked: {asked:?}"
        );
        rig.typed("tomas");
        let c = rig.key(KeyCode::Enter);
        let action = sent(&c);
        assert_eq!(action.thread_ts, Some(rig.id("26902").thread_ts));
        assert_eq!(
            markers(action),
            [&MarkerKind::Assigned {
                expert: "U0EXP2".into()
            }]
        );
        assert!(rig.view.dialog.is_none(), "the picker closed");
    }

    #[test]
    fn unassign_says_so_when_nobody_is_assigned_and_picks_among_the_assigned() {
        let mut rig = Rig::new(desk());
        rig.select("26901");
        assert!(
            matches!(&rig.char('u')[..], [Command::Notice(n)] if n.contains("Nobody is assigned"))
        );
        assert!(rig.view.dialog.is_none());
        let thread = rig.id("26901").thread_ts.secs();
        let mut desk = desk();
        mark(
            &mut desk,
            thread,
            1_100,
            MarkerKind::Assigned {
                expert: "U0EXP1".into(),
            },
        );
        let mut rig = Rig::new(desk);
        rig.select("26901");
        rig.char('u');
        assert!(matches!(&rig.view.dialog, Some(Dialog::Pick(p)) if p.unassign));
        let c = rig.key(KeyCode::Enter);
        assert_eq!(
            markers(sent(&c)),
            [&MarkerKind::Unassigned {
                expert: "U0EXP1".into()
            }]
        );
    }

    #[test]
    fn promote_opens_the_form_with_the_template_name_and_enter_creates_the_channel() {
        let mut rig = Rig::new(desk());
        rig.select("26901");
        assert_eq!(rig.char('p'), vec![]);
        let Some(Dialog::Promote(f)) = &rig.view.dialog else {
            panic!("the promote form opens: {:?}", rig.view.dialog)
        };
        assert_eq!(f.promotion.channel_name, "support-api-sev1-26901");
        let c = rig.key(KeyCode::Enter);
        let action = sent(&c);
        assert!(matches!(
            &action.steps[0],
            Step::CreateChannel { name, private: false } if name == "support-api-sev1-26901"
        ));
    }

    #[test]
    fn promoting_a_promoted_swarm_says_where_it_went() {
        let mut desk = desk();
        let promoted = MarkerKind::Promoted {
            channel_id: "C0INC".into(),
            channel_name: "support-api-sev1-26901".into(),
        };
        mark(&mut desk, 1_000, 1_100, promoted);
        let mut rig = Rig::new(desk);
        rig.select("26901");
        let c = rig.char('p');
        assert!(
            matches!(&c[..], [Command::Notice(n)] if n.contains("#support-api-sev1-26901")),
            "{c:?}"
        );
        assert!(rig.view.dialog.is_none());
    }

    #[test]
    fn resolve_asks_for_the_resolution_and_reopen_undoes_the_last_one() {
        let mut rig = Rig::new(desk());
        rig.select("26902");
        rig.char('r');
        assert!(matches!(
            &rig.view.dialog,
            Some(Dialog::Ask(Prompt {
                asks: Asks::Resolution {
                    incident: None,
                    archive: None
                },
                ..
            }))
        ));
        assert!(
            matches!(&rig.key(KeyCode::Enter)[..], []),
            "an empty resolution is refused"
        );
        rig.typed("restarted the worker");
        let c = rig.key(KeyCode::Enter);
        let action = sent(&c);
        assert_eq!(
            markers(action),
            [&MarkerKind::Resolved {
                resolution: "restarted the worker".into()
            }]
        );
        assert!(!action.steps.contains(&Step::ArchiveIncident));
        // Slack's echo of the marker resolves it on the desk; `R` then reopens it though
        // the selection moved on to the other swarm.
        let thread = rig.id("26902").thread_ts.secs();
        let resolved = MarkerKind::Resolved {
            resolution: "restarted the worker".into(),
        };
        mark(&mut rig.desk, thread, 1_200, resolved);
        let c = rig.char('R');
        let action = sent(&c);
        assert_eq!(action.thread_ts, Some(Ts::from_secs(thread)));
        assert_eq!(markers(action), [&MarkerKind::Reopened]);
    }

    #[test]
    fn reopen_with_nothing_resolved_says_so() {
        let mut rig = Rig::new(desk());
        let c = rig.char('R');
        assert!(
            matches!(&c[..], [Command::Notice(n)] if n.contains("Nothing resolved")),
            "{c:?}"
        );
    }

    #[test]
    fn resolving_a_promoted_swarm_offers_the_archive_and_tab_declines_it() {
        let mut desk = desk();
        let promoted = MarkerKind::Promoted {
            channel_id: "C0INC".into(),
            channel_name: "support-api-sev1-26901".into(),
        };
        mark(&mut desk, 1_000, 1_100, promoted);
        let mut rig = Rig::new(desk);
        rig.select("26901");
        rig.char('r');
        assert!(matches!(
            &rig.view.dialog,
            Some(Dialog::Ask(Prompt {
                asks: Asks::Resolution {
                    archive: Some(true),
                    ..
                },
                ..
            }))
        ));
        rig.typed("fixed");
        rig.key(KeyCode::Tab);
        let c = rig.key(KeyCode::Enter);
        assert!(
            !sent(&c).steps.contains(&Step::ArchiveIncident),
            "Tab said no"
        );
        // Policy `always` archives whatever the dialog said.
        rig.lead.settings.archive = ArchivePolicy::Always;
        rig.char('r');
        rig.typed("fixed");
        rig.key(KeyCode::Tab);
        let c = rig.key(KeyCode::Enter);
        assert!(sent(&c).steps.contains(&Step::ArchiveIncident));
    }

    #[test]
    fn waiting_is_one_key() {
        let mut rig = Rig::new(desk());
        rig.select("26901");
        let c = rig.char('w');
        assert_eq!(markers(sent(&c)), [&MarkerKind::Waiting { on: true }]);
        assert!(rig.view.dialog.is_none());
    }

    #[test]
    fn follow_up_asks_next_steps_then_when_and_a_bad_time_asks_again() {
        let mut rig = Rig::new(desk());
        rig.select("26901");
        rig.char('f');
        assert!(matches!(
            &rig.view.dialog,
            Some(Dialog::Ask(Prompt {
                asks: Asks::NextSteps,
                ..
            }))
        ));
        rig.typed("call the customer");
        assert_eq!(rig.key(KeyCode::Enter), vec![]);
        let Some(Dialog::Ask(p)) = &rig.view.dialog else {
            panic!("the time is asked next")
        };
        assert_eq!(
            p.asks,
            Asks::Due {
                next_steps: "call the customer".into()
            }
        );
        assert_eq!(p.input, "2h");
        rig.press(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        rig.typed("soonish");
        assert_eq!(rig.key(KeyCode::Enter), vec![]);
        let Some(Dialog::Ask(p)) = &rig.view.dialog else {
            panic!("a time that does not parse asks again")
        };
        assert!(p.error.is_some());
        assert_eq!(p.input, "soonish");
        rig.press(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        rig.typed("45m");
        let c = rig.key(KeyCode::Enter);
        assert_eq!(
            markers(sent(&c)),
            [&MarkerKind::FollowUp {
                next_steps: "call the customer".into(),
                due: Ts::from_secs(NOW + 45 * 60),
            }]
        );
    }

    #[test]
    fn reply_posts_in_the_thread_and_browse_asks_for_the_link() {
        let mut rig = Rig::new(desk());
        rig.select("26902");
        rig.char('c');
        assert!(matches!(
            &rig.view.dialog,
            Some(Dialog::Ask(Prompt {
                asks: Asks::Reply,
                ..
            }))
        ));
        rig.typed("on it");
        let c = rig.key(KeyCode::Enter);
        assert!(matches!(
            &sent(&c).steps[..],
            [Step::Post { to: Target::Thread, text, .. }] if text.contains("on it")
        ));
        assert_eq!(
            rig.char('o'),
            vec![Command::Browse {
                swarm: rig.id("26902")
            }]
        );
    }

    #[test]
    fn handoff_is_prefilled_and_a_bad_destination_asks_again() {
        let mut rig = Rig::new(desk());
        rig.char('H');
        let Some(Dialog::Ask(p)) = &rig.view.dialog else {
            panic!("the handoff asks where")
        };
        assert_eq!(
            (&p.asks, p.input.as_str()),
            (&Asks::Handoff { open: 2 }, "#swarm-leads")
        );
        assert_eq!(
            rig.key(KeyCode::Enter),
            vec![],
            "the bot is in no #swarm-leads"
        );
        assert!(matches!(&rig.view.dialog, Some(Dialog::Ask(p)) if p.error.is_some()));
        rig.press(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        rig.typed("U0LEAD0002");
        let c = rig.key(KeyCode::Enter);
        let action = sent(&c);
        assert!(
            action.label.contains("handoff to U0LEAD0002"),
            "{}",
            action.label
        );
    }

    #[test]
    fn search_needs_a_store_and_asks_for_words() {
        let mut rig = Rig::new(desk());
        rig.lead.settings.searchable = false;
        assert!(matches!(&rig.char('S')[..], [Command::Notice(n)] if n.contains("store")));
        rig.lead.settings.searchable = true;
        rig.char('S');
        rig.typed("webhooks");
        assert_eq!(
            rig.key(KeyCode::Enter),
            vec![Command::Search {
                query: "webhooks".into()
            }]
        );
        let found = crate::domain::Similar {
            swarm: SwarmId::new(POD, Ts::from_secs(1)),
            case: "1".into(),
            pod: "api".into(),
            subject: "old".into(),
            resolution: "fixed".into(),
            link: "https://acme.slack.com/archives/C/p1".into(),
        };
        show_found(&mut rig.view, "webhooks".into(), vec![found]);
        assert_eq!(
            rig.key(KeyCode::Enter),
            vec![Command::Open {
                link: "https://acme.slack.com/archives/C/p1".into()
            }]
        );
    }

    #[test]
    fn triage_keys_assign_the_top_expert_skip_pick_and_leave() {
        let mut rig = Rig::new(desk());
        let c = rig.char('t');
        assert_eq!(rig.view.screen, Screen::Triage);
        assert!(matches!(&c[..], [Command::AskPresence { .. }]));
        let first = rig
            .view
            .triage
            .as_mut()
            .unwrap()
            .current(&rig.desk)
            .unwrap();
        assert_eq!(first, rig.id("26901"), "the Sev1 first");
        // `a`: the top suggestion, at once; the queue moves on.
        let c = rig.char('a');
        let action = sent(&c);
        assert_eq!(action.thread_ts, Some(first.thread_ts));
        assert!(matches!(markers(action)[..], [MarkerKind::Assigned { .. }]));
        let second = rig
            .view
            .triage
            .as_mut()
            .unwrap()
            .current(&rig.desk)
            .unwrap();
        assert_eq!(second, rig.id("26902"));
        // `A`: pick another; Esc closes the picker, not triage.
        rig.char('A');
        assert!(matches!(&rig.view.dialog, Some(Dialog::Pick(p)) if p.swarm == second));
        rig.key(KeyCode::Esc);
        assert_eq!(rig.view.screen, Screen::Triage);
        // `n` skips; the queue comes round to the first again.
        rig.char('n');
        let next = rig.view.triage.as_mut().unwrap().current(&rig.desk);
        assert_ne!(next, Some(second));
        // Esc leaves.
        rig.key(KeyCode::Esc);
        assert_eq!(rig.view.screen, Screen::List);
        assert!(rig.view.triage.is_none());
    }

    #[test]
    fn a_move_with_no_swarm_says_so_and_opening_one_marks_it_seen() {
        let mut empty = Rig::new(Desk::new(DeskConfig::default(), []));
        assert!(matches!(&empty.char('a')[..], [Command::Notice(n)] if n.contains("No swarm")));
        let mut rig = Rig::new(desk());
        rig.select("26902");
        assert_eq!(
            rig.key(KeyCode::Enter),
            vec![Command::Seen(rig.id("26902"))]
        );
        assert_eq!(rig.view.screen, Screen::Detail);
    }

    #[test]
    fn ctrl_c_quits_from_a_dialog_and_the_filter_takes_letters() {
        let mut rig = Rig::new(desk());
        rig.char('c');
        let c = rig.press(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(c, vec![Command::Quit]);
        let mut rig = Rig::new(desk());
        rig.char('/');
        for c in "aq".chars() {
            assert_eq!(rig.char(c), vec![], "{c} is typed, not a move or quit");
        }
        assert_eq!(rig.view.filter, "aq");
        assert!(rig.view.dialog.is_none());
        assert_eq!(rig.char('q'), vec![]);
        rig.key(KeyCode::Enter);
        assert_eq!(rig.char('q'), vec![Command::Quit]);
    }
}
