//! Experts answering from Slack, as the desk derives it: an ask and its answer are
//! markers in the thread; a click is read against them; a claim reaction and an expert's
//! silence become events. Pure: no Slack, no clock.

use swarmdeck::domain::asks::{self, Answer, ButtonValue, Click, DeclineReason, Refused};
use swarmdeck::domain::swarm::ExpertFlag;
use swarmdeck::domain::{
    Author, Desk, DeskConfig, Input, Lifecycle, LifecycleKind, Marker, MarkerKind, Msg, Pod,
    SlaPolicy, SwarmId, Ts,
};

const API: &str = "C0SWARMAPI";
const EXPERT: &str = "U0EXP00001";
const OTHER: &str = "U0EXP00002";
const LEAD: &str = "U0LEAD0001";
const DM: &str = "D0EXPERT01";

fn t(secs: i64) -> Ts {
    Ts::from_secs(1_700_000_000 + secs)
}

fn msg(at: i64, thread: Option<i64>, author: Author, text: &str) -> Msg {
    Msg {
        channel: API.into(),
        ts: t(at),
        thread_ts: thread.map(t),
        author,
        text: text.into(),
        block_texts: vec![],
        marker: None,
        edited: None,
        reactions: vec![],
        latest_reply: None,
    }
}

/// A desk with one Sev 2 swarm opened at t(0) (accept within 15 minutes, quiet after 30).
fn desk() -> Desk {
    let mut desk = Desk::new(DeskConfig::default(), [Pod::discovered(API, "swarm-api")]);
    let root = msg(
        0,
        None,
        Author::Person("U0REQ00001".into()),
        "Case: 27343\nUrgency: Sev 2\nSubject: Webhooks time out",
    );
    desk.apply(Input::Message(root), t(0));
    desk
}

fn marker(desk: &mut Desk, at: i64, kind: MarkerKind) -> Vec<Lifecycle> {
    let mut m = msg(at, Some(0), Author::Us, "a lead's move");
    m.marker = Some(Marker {
        lead: Some(LEAD.into()),
        kind,
    });
    desk.apply(Input::Message(m), t(at))
}

fn ask(desk: &mut Desk, at: i64, expert: &str, id: &str) -> Vec<Lifecycle> {
    marker(
        desk,
        at,
        MarkerKind::Asked {
            expert: expert.into(),
            ask: id.into(),
        },
    )
}

fn swarm_id() -> SwarmId {
    SwarmId::new(API, t(0))
}

fn click(user: &str, action_id: &str, ask: &str, reason: Option<DeclineReason>) -> Click {
    Click {
        user: user.into(),
        action_id: action_id.into(),
        value: ButtonValue {
            swarm: swarm_id(),
            ask: ask.into(),
            reason,
        }
        .encode(),
        channel: DM.into(),
        message_ts: t(61),
        on_our_message: true,
    }
}

fn flag(desk: &Desk, now: i64) -> Option<ExpertFlag> {
    let s = desk.swarm(API, t(0)).unwrap();
    s.expert_flag(&SlaPolicy::default(), t(now))
}

fn kinds(events: &[Lifecycle]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

#[test]
fn an_accepted_ask_is_an_assignment_and_a_second_click_changes_nothing() {
    let mut desk = desk();
    assert_eq!(kinds(&ask(&mut desk, 60, EXPERT, "ask-1")), ["asked"]);
    assert_eq!(
        flag(&desk, 120),
        Some(ExpertFlag::Asked {
            expert: EXPERT.into(),
            since: t(60),
            overdue: false
        })
    );
    let reply = asks::read(&desk, &click(EXPERT, asks::ACCEPT, "ask-1", None)).unwrap();
    assert_eq!(reply.answer, Answer::Accepted);
    assert_eq!(
        reply.lead.as_deref(),
        Some(LEAD),
        "the answer names who asked"
    );
    assert_eq!((reply.channel.as_str(), reply.message_ts), (DM, t(61)));
    // The answer lands as the assignment marker.
    let events = marker(
        &mut desk,
        90,
        MarkerKind::Assigned {
            expert: EXPERT.into(),
        },
    );
    assert_eq!(kinds(&events), ["assigned"]);
    let s = desk.swarm(API, t(0)).unwrap();
    assert_eq!(s.experts, [EXPERT]);
    assert_eq!(s.asks[0].answer, Some((t(90), Answer::Accepted)));
    assert_eq!(flag(&desk, 120), None);
    assert_eq!(
        asks::read(&desk, &click(EXPERT, asks::ACCEPT, "ask-1", None)),
        Err(Refused::AlreadyAnswered("ask-1".into())),
        "a click delivered twice, or clicked twice, acts once"
    );
}

#[test]
fn a_decline_says_why_until_someone_else_is_assigned() {
    let mut desk = desk();
    ask(&mut desk, 60, EXPERT, "ask-1");
    let c = click(
        EXPERT,
        asks::DECLINE,
        "ask-1",
        Some(DeclineReason::OutOfOffice),
    );
    let reply = asks::read(&desk, &c).unwrap();
    assert_eq!(reply.answer, Answer::Declined(DeclineReason::OutOfOffice));
    let events = marker(
        &mut desk,
        90,
        MarkerKind::Declined {
            expert: EXPERT.into(),
            ask: "ask-1".into(),
            reason: DeclineReason::OutOfOffice,
        },
    );
    match &events[..] {
        [
            Lifecycle {
                kind:
                    LifecycleKind::Declined {
                        expert,
                        reason,
                        lead,
                    },
                ..
            },
        ] => {
            assert_eq!(
                (expert.as_str(), *reason, lead.as_deref()),
                (EXPERT, DeclineReason::OutOfOffice, Some(LEAD))
            );
        }
        other => panic!("one declined event: {other:?}"),
    }
    assert_eq!(
        flag(&desk, 120),
        Some(ExpertFlag::Declined {
            expert: EXPERT.into(),
            reason: DeclineReason::OutOfOffice
        })
    );
    // The next suggestion is someone else: the decliner comes last.
    desk.apply(
        Input::Expert {
            user: EXPERT.into(),
            name: "Ada".into(),
            skills: vec![],
        },
        t(100),
    );
    desk.apply(
        Input::Expert {
            user: OTHER.into(),
            name: "Zed".into(),
            skills: vec![],
        },
        t(100),
    );
    let s = desk.swarm(API, t(0)).unwrap().clone();
    let ranked = swarmdeck::domain::moves::rank_experts(&desk, &s);
    assert_eq!(
        ranked[0].expert.user, OTHER,
        "Ada sorts first by name, but declined"
    );
    marker(
        &mut desk,
        200,
        MarkerKind::Assigned {
            expert: OTHER.into(),
        },
    );
    assert_eq!(flag(&desk, 300), None, "replaced, the decline is old news");
}

#[test]
fn an_unanswered_ask_comes_due_once_in_the_pods_time() {
    let mut desk = desk();
    ask(&mut desk, 60, EXPERT, "ask-1");
    let within = SlaPolicy::default().accept_within[1];
    assert!(desk.tick(t(60 + within - 1)).is_empty());
    let due = desk.tick(t(60 + within));
    assert_eq!(kinds(&due), ["ask_unanswered"]);
    assert_eq!(due[0].at, t(60 + within));
    assert!(desk.tick(t(60 + within + 5)).is_empty(), "once");
    assert!(matches!(
        flag(&desk, 60 + within),
        Some(ExpertFlag::Asked { overdue: true, .. })
    ));
}

#[test]
fn an_assigned_expert_silent_past_quiet_after_is_flagged_until_they_speak() {
    let mut desk = desk();
    marker(
        &mut desk,
        60,
        MarkerKind::Assigned {
            expert: EXPERT.into(),
        },
    );
    let after = SlaPolicy::default().quiet_after[1];
    assert_eq!(flag(&desk, 60 + after - 1), None);
    let quiet = desk.tick(t(60 + after));
    assert!(
        kinds(&quiet).contains(&"expert_quiet"),
        "{:?}",
        kinds(&quiet)
    );
    assert_eq!(
        flag(&desk, 60 + after),
        Some(ExpertFlag::Quiet {
            expert: EXPERT.into(),
            since: t(60)
        })
    );
    // Someone else talking does not count; the expert's own reply does.
    desk.apply(
        Input::Message(msg(
            60 + after + 1,
            Some(0),
            Author::Person(OTHER.into()),
            "any luck?",
        )),
        t(60 + after + 1),
    );
    assert!(flag(&desk, 60 + after + 2).is_some());
    desk.apply(
        Input::Message(msg(
            60 + after + 3,
            Some(0),
            Author::Person(EXPERT.into()),
            "on it",
        )),
        t(60 + after + 3),
    );
    assert_eq!(flag(&desk, 60 + after + 4), None);
}

#[test]
fn a_claim_reaction_heard_live_is_one_claimed_event_and_none_once_assigned() {
    let mut desk = desk();
    let eyes = |user: &str, at: Option<i64>| Input::Reaction {
        channel: API.into(),
        ts: t(0),
        name: "eyes".into(),
        user: user.into(),
        added: true,
        at: at.map(t),
    };
    assert!(
        desk.apply(eyes("U0REQ00001", Some(20)), t(20)).is_empty(),
        "the requester watching their own request claims nothing"
    );
    let events = desk.apply(eyes(EXPERT, Some(30)), t(30));
    assert_eq!(kinds(&events), ["claimed"]);
    assert!(
        desk.apply(eyes(EXPERT, Some(30)), t(31)).is_empty(),
        "heard twice, once"
    );
    assert!(
        desk.apply(eyes(OTHER, None), t(32)).is_empty(),
        "history's reactions claim nothing"
    );
    marker(
        &mut desk,
        40,
        MarkerKind::Assigned {
            expert: EXPERT.into(),
        },
    );
    assert!(desk.apply(eyes(EXPERT, Some(50)), t(50)).is_empty());
    // Once the desk knows the pods' experts, only they claim.
    desk.apply(
        Input::Expert {
            user: OTHER.into(),
            name: "Zed".into(),
            skills: vec![],
        },
        t(60),
    );
    assert!(desk.apply(eyes("U0AGENT001", Some(61)), t(61)).is_empty());
    assert_eq!(
        kinds(&desk.apply(eyes(OTHER, Some(62)), t(62))),
        ["claimed"]
    );
}

#[test]
fn forged_clicks_change_nothing() {
    let mut desk = desk();
    ask(&mut desk, 60, EXPERT, "ask-1");
    let good = click(EXPERT, asks::ACCEPT, "ask-1", None);
    let cases = [
        (
            Click {
                user: OTHER.into(),
                ..good.clone()
            },
            "not the addressee",
        ),
        (
            Click {
                action_id: "swarmdeck_approve_refund".into(),
                ..good.clone()
            },
            "unknown action",
        ),
        (click(EXPERT, asks::ACCEPT, "ask-9", None), "no such ask"),
        (
            Click {
                value: "C0SWARMAPI|1700000000.000000|ask-1|tired".into(),
                ..good.clone()
            },
            "bad value",
        ),
        (
            click(EXPERT, asks::ACCEPT, "ask-1", Some(DeclineReason::Busy)),
            "accept with a reason",
        ),
        (
            Click {
                on_our_message: false,
                ..good.clone()
            },
            "not our message",
        ),
    ];
    for (forged, what) in cases {
        let got = asks::read(&desk, &forged);
        assert!(got.is_err(), "{what}: {got:?}");
    }
    assert!(asks::read(&desk, &good).is_ok());
}
