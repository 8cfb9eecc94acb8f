//! The controller as the lead uses it: keys in, commands out.
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
        latest_reply: None,
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
            assign: AssignMode::Tell,
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
    assert!(matches!(&rig.char('u')[..], [Command::Notice(n)] if n.contains("Nobody is assigned")));
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
    // `n` skips: with the first done with and the second skipped, none is left.
    rig.char('n');
    let next = rig.view.triage.as_mut().unwrap().current(&rig.desk);
    assert_eq!(next, None);
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

#[test]
fn pasted_text_is_never_keys() {
    let mut rig = Rig::new(desk());
    rig.select("26902");
    // No field open: a paste of move keys does nothing but say where pastes go.
    let c = rig.lead.on_paste(&mut rig.view, "s c a p r H\nq");
    assert!(matches!(&c[..], [Command::Notice(_)]), "{c:?}");
    assert!(rig.view.dialog.is_none());
    assert_eq!(rig.view.sort, crate::ui::view::Sort::Attention);
    // Into a reply: the text, newlines kept; no move until Enter.
    rig.char('c');
    let c = rig
        .lead
        .on_paste(&mut rig.view, "first line\nsecond s c a p r H");
    assert_eq!(c, vec![]);
    let c = rig.key(KeyCode::Enter);
    assert!(matches!(
        &sent(&c).steps[..],
        [Step::Post { text, .. }] if text == "first line\nsecond s c a p r H"
    ));
    // Into the filter: the best match is selected.
    rig.char('/');
    rig.lead.on_paste(&mut rig.view, "26901\n");
    assert_eq!(rig.view.filter, "26901 ");
    assert_eq!(rig.key(KeyCode::Enter), vec![]);
    assert_eq!(
        rig.key(KeyCode::Enter),
        vec![Command::Seen(rig.id("26901"))]
    );
}

#[test]
fn a_filter_selects_the_case_typed_even_when_the_selection_still_matches() {
    let mut rig = Rig::new(desk());
    rig.select("26902");
    rig.char('/');
    // "2690" matches both; the selection goes to the best (then first) match, and the
    // full case number puts that case first.
    rig.typed("26901");
    rig.key(KeyCode::Enter);
    assert_eq!(
        rig.key(KeyCode::Enter),
        vec![Command::Seen(rig.id("26901"))]
    );
    assert_eq!(rig.view.selected, Some(rig.id("26901")));
    // Esc from a filter goes back to where the lead was.
    rig.key(KeyCode::Esc);
    rig.key(KeyCode::Esc);
    rig.select("26902");
    rig.char('/');
    rig.typed("Webhooks 26901");
    rig.key(KeyCode::Esc);
    assert_eq!(rig.view.selected, Some(rig.id("26902")));
    assert_eq!(rig.view.filter, "");
}

#[test]
fn a_move_from_the_detail_lands_on_the_swarm_shown_after_it_left_the_table() {
    let mut rig = Rig::new(desk());
    rig.select("26902");
    rig.key(KeyCode::Enter);
    // Resolved meanwhile (its marker came back): it leaves the open rows.
    let thread = rig.id("26902").thread_ts.secs();
    let resolved = MarkerKind::Resolved {
        resolution: "done".into(),
    };
    mark(&mut rig.desk, thread, 1_200, resolved);
    let rows = rig.view.rows(&rig.desk, Ts::from_secs(NOW));
    rig.view.reconcile(&rows);
    drop(rows);
    assert_eq!(
        rig.view.selected,
        Some(rig.id("26902")),
        "the detail stays on it"
    );
    let c = rig.char('R');
    assert_eq!(
        sent(&c).thread_ts,
        Some(Ts::from_secs(thread)),
        "R reopens the one shown"
    );
    let c = rig.char('w');
    assert_eq!(
        sent(&c).thread_ts,
        Some(Ts::from_secs(thread)),
        "never the next row's swarm"
    );
}

#[test]
fn reopening_a_promoted_swarm_says_its_channel_must_be_unarchived_by_a_person() {
    let mut desk = desk();
    let promoted = MarkerKind::Promoted {
        channel_id: "C0INC".into(),
        channel_name: "support-api-sev1-26901".into(),
    };
    mark(&mut desk, 1_000, 1_100, promoted);
    let mut rig = Rig::new(desk);
    rig.select("26901");
    rig.key(KeyCode::Enter);
    let resolved = MarkerKind::Resolved {
        resolution: "fixed".into(),
    };
    mark(&mut rig.desk, 1_000, 1_200, resolved);
    let c = rig.char('R');
    let action = sent(&c);
    assert!(matches!(
        &action.steps[0],
        Step::Post { text, .. } if text.contains("<#C0INC>") && text.contains("unarchive")
    ));
    assert!(
        matches!(&c[1..], [Command::Notice(n)] if n.contains("#support-api-sev1-26901") && n.contains("unarchive")),
        "{c:?}"
    );
}

/// Types a `:` command line and runs it.
fn command_line(rig: &mut Rig, line: &str) -> Vec<Command> {
    assert_eq!(rig.char(':'), vec![]);
    assert!(rig.view.command.is_some(), "`:` opens the command line");
    rig.typed(line);
    rig.key(KeyCode::Enter)
}

#[test]
fn the_command_line_opens_a_case_shows_a_pod_and_sorts() {
    let mut rig = Rig::new(desk());
    let id = rig.id("26902");
    // The letters of `case` (assign, sort, …) are text here, never moves.
    assert_eq!(
        command_line(&mut rig, "case 26902"),
        vec![Command::Seen(id.clone())]
    );
    assert_eq!(rig.view.screen, Screen::Detail);
    assert_eq!(rig.view.selected, Some(id));
    assert!(rig.view.command.is_none());
    rig.key(KeyCode::Esc);
    let missing = command_line(&mut rig, "case 99999");
    assert_eq!(missing, notice("No open swarm for case 99999."));
    command_line(&mut rig, "pod api");
    assert_eq!(rig.view.pod.as_deref(), Some(POD));
    assert!(
        matches!(&command_line(&mut rig, "pod web")[..], [Command::Notice(n)] if n.contains("api"))
    );
    command_line(&mut rig, "pod all");
    assert_eq!(rig.view.pod, None);
    command_line(&mut rig, "sort newest");
    assert_eq!(rig.view.sort, crate::ui::view::Sort::Newest);
    let unknown = command_line(&mut rig, "fly");
    assert!(
        matches!(&unknown[..], [Command::Notice(n)] if n.contains(":case") && n.contains(":sort")),
        "{unknown:?}"
    );
    command_line(&mut rig, "help");
    assert!(rig.view.help);
    rig.key(KeyCode::Esc);
    assert_eq!(command_line(&mut rig, "q"), vec![Command::Quit]);
}

#[test]
fn the_command_line_completes_and_takes_a_paste_as_text() {
    let mut rig = Rig::new(desk());
    rig.char(':');
    rig.typed("ca");
    rig.key(KeyCode::Tab);
    rig.typed("269");
    rig.key(KeyCode::Tab);
    assert_eq!(rig.view.command.as_ref().unwrap().input, "case 2690");
    assert_eq!(rig.lead.on_paste(&mut rig.view, "2 q\n"), vec![]);
    assert_eq!(rig.view.command.as_ref().unwrap().input, "case 26902 q ");
    rig.key(KeyCode::Esc);
    assert!(rig.view.command.is_none(), "Esc cancels, nothing run");
    assert_eq!(rig.view.screen, Screen::List);
}

#[test]
fn help_scrolls_with_the_moving_keys_and_closes_at_the_top_again() {
    let mut rig = Rig::new(desk());
    rig.char('?');
    rig.char('j');
    rig.char('j');
    rig.char('k');
    assert_eq!(rig.view.help_scroll, 1);
    rig.char('G');
    assert_eq!(
        rig.view.help_scroll,
        usize::MAX,
        "as far as it goes (drawing clamps)"
    );
    rig.char('g');
    assert_eq!(rig.view.help_scroll, 0);
    rig.key(KeyCode::PageDown);
    assert_eq!(rig.view.help_scroll, rig.view.page);
    rig.key(KeyCode::Esc);
    assert!(!rig.view.help);
    rig.char('?');
    assert_eq!(rig.view.help_scroll, 0, "help opens at its top");
}

mod mouse {
    use super::*;
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

    /// The screen the clicks land on.
    const SCREEN: Rect = Rect {
        x: 0,
        y: 0,
        width: 120,
        height: 32,
    };

    fn mouse(rig: &mut Rig, kind: MouseEventKind, (column, row): (u16, u16)) -> Vec<Command> {
        let event = MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        };
        rig.lead
            .on_mouse(&mut rig.view, event, &rig.desk, at(), SCREEN)
    }

    fn click(rig: &mut Rig, at: (u16, u16)) -> Vec<Command> {
        mouse(rig, MouseEventKind::Down(MouseButton::Left), at)
    }

    #[test]
    fn a_click_selects_a_row_and_a_second_click_opens_it() {
        let mut rig = Rig::new(desk());
        // Two header lines, the table's own header, then the rows: the second row is line 4.
        assert_eq!(click(&mut rig, (30, 4)), vec![]);
        let rows = rig.view.rows(&rig.desk, Ts::from_secs(NOW));
        let second = rows[1].key();
        assert_eq!(rig.view.selection(&rows), Some(1));
        drop(rows);
        assert_eq!(rig.view.screen, Screen::List);
        assert_eq!(
            click(&mut rig, (30, 4)),
            vec![Command::Seen(second.clone())]
        );
        assert_eq!(rig.view.screen, Screen::Detail);
        assert_eq!(rig.view.selected, Some(second));
        // In the detail, the wheel scrolls the thread: up is older, down newer.
        mouse(&mut rig, MouseEventKind::ScrollUp, (30, 10));
        assert_eq!(rig.view.detail_scroll, 3);
        mouse(&mut rig, MouseEventKind::ScrollDown, (30, 10));
        assert_eq!(rig.view.detail_scroll, 0);
    }

    #[test]
    fn clicks_off_the_rows_do_nothing_and_the_wheel_moves_the_selection() {
        let mut rig = Rig::new(desk());
        for off in [(30, 0), (30, 2), (30, 5), (30, 31)] {
            assert_eq!(click(&mut rig, off), vec![], "{off:?}");
            assert_eq!(rig.view.screen, Screen::List);
        }
        mouse(&mut rig, MouseEventKind::ScrollDown, (30, 10));
        let rows = rig.view.rows(&rig.desk, Ts::from_secs(NOW));
        assert_eq!(rig.view.selection(&rows), Some(1), "the last of two rows");
    }

    #[test]
    fn a_click_in_the_picker_chooses_that_expert_and_sends_nothing() {
        let mut rig = Rig::new(desk());
        rig.char('a');
        let dialog = rig.view.dialog.clone().expect("the picker");
        let place = crate::ui::dialog::ListPlace::of(&dialog, &rig.desk, SCREEN).unwrap();
        assert_eq!(place.count, 2);
        let second = place.rect.y + 1 + place.top + 1;
        assert_eq!(click(&mut rig, (place.rect.x + 5, second)), vec![]);
        let Some(Dialog::Pick(p)) = &rig.view.dialog else {
            panic!("the picker stays open")
        };
        assert_eq!(p.selected, 1);
        // Below the list (its keys line): nothing changes.
        click(&mut rig, (place.rect.x + 5, second + 1));
        let Some(Dialog::Pick(p)) = &rig.view.dialog else {
            panic!("the picker stays open")
        };
        assert_eq!(p.selected, 1);
    }
}

mod stakeholder_updates {
    use super::*;

    /// The two swarms of [`desk`], in a pod whose Sev1 stakeholders hear every 30 minutes;
    /// 26901 promoted.
    fn promoted() -> Desk {
        let mut pod = Pod::discovered(POD, "swarm-api");
        pod.sla.update_every[0] = Some(30 * 60);
        let mut desk = Desk::new(DeskConfig::default(), [pod]);
        for (i, (case, sev)) in [("26901", "Sev 1"), ("26902", "Sev 3")].iter().enumerate() {
            let text = format!("Case: {case}\nUrgency: {sev}\nSubject: Webhooks {case}");
            let request = msg(
                1_000 + i as i64,
                None,
                Author::Person("U0REQ1".into()),
                &text,
            );
            desk.apply(Input::Message(request), Ts::from_secs(NOW));
        }
        mark(
            &mut desk,
            1_000,
            1_100,
            MarkerKind::Promoted {
                channel_id: "C0INC".into(),
                channel_name: "support-api-sev1-26901".into(),
            },
        );
        desk
    }

    fn part(rig: &Rig) -> (UpdatePart, String, bool) {
        let Some(Dialog::Ask(Prompt {
            asks: Asks::Update { part, .. },
            input,
            suggested,
            ..
        })) = &rig.view.dialog
        else {
            panic!("the composer is open: {:?}", rig.view.dialog)
        };
        (*part, input.clone(), *suggested)
    }

    #[test]
    fn u_on_a_swarm_not_promoted_says_where_updates_go() {
        let mut rig = Rig::new(promoted());
        rig.select("26902");
        let c = rig.char('U');
        assert!(
            matches!(c.as_slice(), [Command::Notice(n)] if n.contains("not promoted")),
            "{c:?}"
        );
        assert!(rig.view.dialog.is_none());
    }

    #[test]
    fn u_composes_status_impact_next_and_when_then_sends_the_update() {
        let mut rig = Rig::new(promoted());
        rig.select("26901");
        assert_eq!(rig.char('U'), vec![]);
        assert_eq!(part(&rig).0, UpdatePart::Status);
        // The status is required.
        assert_eq!(rig.key(KeyCode::Enter), vec![]);
        assert_eq!(part(&rig).0, UpdatePart::Status);
        rig.typed("Mitigated");
        rig.key(KeyCode::Enter);
        assert_eq!(part(&rig).0, UpdatePart::Impact);
        rig.typed("EU only");
        rig.key(KeyCode::Enter);
        // What's next left empty: skipped.
        rig.key(KeyCode::Enter);
        // The cadence's interval is suggested for the next update.
        assert_eq!(part(&rig), (UpdatePart::NextUpdate, "30m".into(), true));
        rig.typed("soonish");
        assert_eq!(rig.key(KeyCode::Enter), vec![]);
        let (p, input, _) = part(&rig);
        assert_eq!((p, input.as_str()), (UpdatePart::NextUpdate, "soonish"));
        rig.press(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        rig.typed("45m");
        let c = rig.key(KeyCode::Enter);
        let action = sent(&c);
        assert_eq!(
            markers(action),
            [&MarkerKind::StatusUpdate {
                status: "Mitigated".into(),
                next_update_at: Some(Ts::from_secs(NOW + 45 * 60)),
            }]
        );
        let Step::Post { to, text, .. } = &action.steps[0] else {
            panic!("{:?}", action.steps)
        };
        assert_eq!(*to, Target::Incident);
        assert!(
            text.contains("*Impact:* EU only") && !text.contains("What's next"),
            "{text}"
        );
        assert!(rig.view.dialog.is_none());
    }
}

mod stakeholder_invites {
    use super::*;

    /// A Sev1 stakeholder group known only after the dialog opened, and a Sev2 one: the
    /// promotion invites the severity chosen, as the desk knows its members at Enter.
    #[test]
    fn a_promotion_invites_the_chosen_severitys_groups_as_known_at_enter() {
        let mut pod = Pod::discovered(POD, "swarm-api");
        pod.invite_groups[0] = vec!["legal".into()];
        pod.invite_groups[1] = vec!["account-team".into()];
        let mut desk = Desk::new(DeskConfig::default(), [pod]);
        let text = "Case: 26901\nUrgency: Sev 1\nSubject: Webhooks";
        let request = msg(1_000, None, Author::Person("U0REQ1".into()), text);
        desk.apply(Input::Message(request), Ts::from_secs(NOW));
        let group = |handle: &str, user: &str| Input::Group {
            handle: handle.into(),
            members: vec![user.into()],
        };
        let mut rig = Rig::new(desk);
        rig.select("26901");
        rig.char('p');
        rig.desk
            .apply(group("legal", "U0LEGAL"), Ts::from_secs(NOW));
        rig.desk
            .apply(group("account-team", "U0ACCT"), Ts::from_secs(NOW));
        let invited = |c: &[Command]| -> Vec<String> {
            sent(c)
                .steps
                .iter()
                .find_map(|s| match s {
                    Step::Invite { users } => Some(users.clone()),
                    _ => None,
                })
                .unwrap_or_default()
        };
        assert_eq!(
            invited(&rig.key(KeyCode::Enter)),
            ["U0REQ1", "U0LEAD", "U0LEGAL"]
        );
        // Down: Sev2, whose group is the account team.
        rig.char('p');
        rig.key(KeyCode::Down);
        assert_eq!(
            invited(&rig.key(KeyCode::Enter)),
            ["U0REQ1", "U0LEAD", "U0ACCT"]
        );
    }
}
