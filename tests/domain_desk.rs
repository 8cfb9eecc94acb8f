//! The swarm desk, as a swarm lead would check it: which posts open a swarm, how a swarm
//! moves through its life, its clocks, and the pod's metrics. Pure: no Slack, no clock.

use chrono::FixedOffset;
use proptest::prelude::*;
use swarmdeck::domain::metrics::report;
use swarmdeck::domain::{
    Author, Clock, Desk, DeskConfig, Input, Lifecycle, LifecycleKind, Marker, MarkerKind, Msg, Pod,
    SlaPolicy, Status, Ts, Urgency,
};

const API: &str = "C0SWARMAPI";
const BILLING: &str = "C0SWARMBIL";
const REQUESTER: &str = "U0REQ00001";
const EXPERT: &str = "U0EXP00001";
const LEAD: &str = "U0LEAD0001";

fn t(secs: i64) -> Ts {
    Ts::from_secs(1_700_000_000 + secs)
}

fn desk() -> Desk {
    Desk::new(
        DeskConfig::default(),
        [
            Pod::discovered(API, "swarm-api"),
            Pod::discovered(BILLING, "swarm-billing"),
        ],
    )
}

/// A Workflow Builder post, fields in Block Kit section fields as the form posts them.
fn workflow_request(channel: &str, at: i64, case: &str, urgency: &str) -> Msg {
    Msg {
        channel: channel.into(),
        ts: t(at),
        thread_ts: None,
        author: Author::Bot {
            bot_id: Some("B0WORKFLOW".into()),
        },
        text: format!("*Case number:* {case}\n*Urgency:* {urgency}"),
        block_texts: vec![
            format!("*Case number:*\n{case}"),
            format!("*Urgency:*\n{urgency}"),
            "*Subject:*\nWebhooks time out".into(),
            format!("*Case link:*\n<https://support.acme.example/cases/{case}|Case {case}>"),
            format!("*Requested by:*\n<@{REQUESTER}>"),
        ],
        marker: None,
        edited: None,
        reactions: vec![],
        latest_reply: None,
    }
}

fn post(channel: &str, at: i64, thread: Option<i64>, author: Author, text: &str) -> Msg {
    Msg {
        channel: channel.into(),
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

fn person(u: &str) -> Author {
    Author::Person(u.into())
}

fn reply(root: i64, at: i64, author: Author) -> Input {
    Input::Message(post(API, at, Some(root), author, "looking"))
}

fn marker(root: i64, at: i64, kind: MarkerKind) -> Input {
    let mut m = post(API, at, Some(root), Author::Us, "a lead's move");
    m.marker = Some(Marker {
        lead: Some(LEAD.into()),
        kind,
    });
    Input::Message(m)
}

fn reaction(root: i64, user: &str, added: bool, at: Option<i64>) -> Input {
    Input::Reaction {
        channel: API.into(),
        ts: t(root),
        name: "white_check_mark".into(),
        user: user.into(),
        added,
        at: at.map(t),
    }
}

fn names(events: &[Lifecycle]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

fn open(desk: &mut Desk, at: i64, case: &str, urgency: &str) -> Vec<Lifecycle> {
    desk.apply(
        Input::Message(workflow_request(API, at, case, urgency)),
        t(at),
    )
}

fn status(desk: &Desk, root: i64) -> Status {
    desk.swarm(API, t(root)).expect("a swarm").status
}

#[test]
fn a_workflow_post_opens_a_swarm_once_with_its_fields() {
    let mut d = desk();
    let events = open(&mut d, 0, "27343", "Sev 1");
    assert_eq!(names(&events), ["swarm_opened"]);
    let e = &events[0];
    assert_eq!(
        (e.pod.as_str(), e.channel.as_str(), e.case.as_deref()),
        ("api", API, Some("27343"))
    );
    let LifecycleKind::SwarmOpened {
        urgency,
        subject,
        requester,
        link,
    } = &e.kind
    else {
        panic!("{e:?}")
    };
    assert_eq!(*urgency, Urgency::Sev1);
    assert_eq!(subject, "Webhooks time out");
    assert_eq!(requester.as_deref(), Some(REQUESTER));
    assert_eq!(
        link.as_deref(),
        Some("https://support.acme.example/cases/27343")
    );
    assert!(
        open(&mut d, 0, "27343", "Sev 1").is_empty(),
        "the same post again is nothing new"
    );
    assert_eq!(status(&d, 0), Status::New);
}

#[test]
fn what_is_not_a_request() {
    let mut d = desk();
    let chatter = post(
        API,
        1,
        None,
        person(EXPERT),
        "Anyone around? The case is odd.",
    );
    assert!(d.apply(Input::Message(chatter), t(1)).is_empty());
    // Our own handoff summary lists cases: it is never a request.
    let ours = post(API, 2, None, Author::Us, "Case: 27343\nUrgency: Sev 1");
    assert!(d.apply(Input::Message(ours), t(2)).is_empty());
    // general is not a pod.
    assert!(
        d.apply(
            Input::Message(workflow_request("C0GENERAL1", 3, "1", "Sev 1")),
            t(3)
        )
        .is_empty()
    );
    assert_eq!(d.swarms().count(), 0);
}

#[test]
fn a_typed_request_names_its_poster_as_requester() {
    let mut d = desk();
    let typed = post(
        API,
        0,
        None,
        person("U0REQ00002"),
        "Case: 555\nSeverity: P2\nSubject: refunds stuck",
    );
    let events = d.apply(Input::Message(typed), t(0));
    assert_eq!(names(&events), ["swarm_opened"]);
    let s = d.swarm(API, t(0)).unwrap();
    assert_eq!(
        (s.requester(), s.urgency()),
        (Some("U0REQ00002"), Urgency::Sev2)
    );
}

#[test]
fn first_response_is_the_first_reply_by_someone_other_than_the_requester() {
    let mut d = desk();
    open(&mut d, 0, "1", "Sev 3");
    let e = d.apply(reply(0, 10, person(REQUESTER)), t(10));
    assert_eq!(names(&e), ["reply"]);
    d.apply(
        reply(
            0,
            20,
            Author::Bot {
                bot_id: Some("B0OTHER".into()),
            },
        ),
        t(20),
    );
    d.apply(reply(0, 30, Author::Us), t(30));
    assert_eq!(
        d.swarm(API, t(0)).unwrap().first_response_at,
        None,
        "requester, bots and swarmdeck do not count"
    );
    let e = d.apply(reply(0, 40, person(EXPERT)), t(40));
    assert!(matches!(
        e[0].kind,
        LifecycleKind::Reply {
            first_response: true,
            ..
        }
    ));
    let s = d.swarm(API, t(0)).unwrap();
    assert_eq!(
        (s.first_response_at, s.status),
        (Some(t(40)), Status::InProgress)
    );
    assert_eq!(s.participants, [REQUESTER, EXPERT]);
}

/// Another lead's swarmdeck app, trusted by `[team] peer_bots`, from Slack's message to
/// the desk: its assign post assigns and the move is that lead's; a third bot's identical
/// post, or a person's, changes nothing.
#[test]
fn a_peer_leads_assign_marker_assigns_and_names_that_lead() {
    use swarmdeck::slack::{translate::Translator, wire};
    let translator = Translator::from_ids("U0BOT", Some("B0BOT")).trusting(&["B0PEER".into()]);
    let assign = |author: serde_json::Value, at: i64| -> Input {
        let mut m = serde_json::json!({
            "ts": t(at).to_string(), "thread_ts": t(0).to_string(),
            "text": format!("assigned <@{EXPERT}>"),
            "metadata": {"event_type": "swarmdeck_assigned",
                "event_payload": {"case": "27343", "expert": EXPERT, "lead": "U0PEERLEAD"}}
        });
        m.as_object_mut()
            .unwrap()
            .extend(author.as_object().unwrap().clone());
        let m: wire::Message = serde_json::from_value(m).unwrap();
        Input::Message(translator.message(&m, API).unwrap())
    };
    let mut d = desk();
    open(&mut d, 0, "27343", "Sev 2");
    for (at, who, forger) in [
        (
            30,
            "a third bot",
            serde_json::json!({"bot_id": "B0THIRD", "username": "swarmdeck"}),
        ),
        (40, "a person", serde_json::json!({"user": REQUESTER})),
    ] {
        let e = d.apply(assign(forger, at), t(at));
        assert!(!names(&e).contains(&"assigned"), "{who}: {e:?}");
        assert_eq!((status(&d, 0), d.load(EXPERT)), (Status::New, 0), "{who}");
    }
    let e = d.apply(assign(serde_json::json!({"bot_id": "B0PEER"}), 60), t(60));
    assert_eq!(names(&e), ["assigned"]);
    assert!(
        matches!(&e[0].kind, LifecycleKind::Assigned { expert, lead: Some(l) } if expert == EXPERT && l == "U0PEERLEAD"),
        "{e:?}"
    );
    assert_eq!((status(&d, 0), d.load(EXPERT)), (Status::Assigned, 1));
}

#[test]
fn leads_moves_assign_unassign_and_promote_once() {
    let mut d = desk();
    open(&mut d, 0, "27343", "Sev 1");
    let e = d.apply(
        marker(
            0,
            60,
            MarkerKind::Assigned {
                expert: EXPERT.into(),
            },
        ),
        t(60),
    );
    assert_eq!(names(&e), ["assigned"]);
    assert!(
        matches!(&e[0].kind, LifecycleKind::Assigned { expert, lead: Some(l) } if expert == EXPERT && l == LEAD)
    );
    assert_eq!(status(&d, 0), Status::Assigned);
    assert_eq!(d.load(EXPERT), 1);
    d.apply(
        marker(
            0,
            70,
            MarkerKind::Unassigned {
                expert: EXPERT.into(),
            },
        ),
        t(70),
    );
    assert_eq!((status(&d, 0), d.load(EXPERT)), (Status::New, 0));
    let promote = |at| {
        marker(
            0,
            at,
            MarkerKind::Promoted {
                channel_id: format!("C0INC{at}"),
                channel_name: "support-api-sev1-27343".into(),
            },
        )
    };
    let e = d.apply(promote(80), t(80));
    assert_eq!(names(&e), ["promoted"]);
    assert!(
        d.apply(promote(90), t(90)).is_empty(),
        "a second promotion changes nothing"
    );
    let s = d.swarm(API, t(0)).unwrap();
    assert_eq!(s.status, Status::Promoted);
    assert_eq!(s.incident.as_ref().unwrap().channel_id, "C0INC80");
}

#[test]
fn a_marker_from_a_person_is_only_a_reply() {
    let mut d = desk();
    open(&mut d, 0, "1", "Sev 3");
    let Input::Message(mut forged) = marker(
        0,
        5,
        MarkerKind::Assigned {
            expert: EXPERT.into(),
        },
    ) else {
        unreachable!()
    };
    forged.author = person("U0MALLORY");
    let e = d.apply(Input::Message(forged), t(5));
    assert_eq!(names(&e), ["reply"]);
    assert!(d.swarm(API, t(0)).unwrap().experts.is_empty());
}

#[test]
fn waiting_on_the_customer_stops_the_support_clock_until_they_answer() {
    let mut d = desk();
    open(&mut d, 0, "1", "Sev 1"); // first response due at 15 min, resolution at 4 h
    d.apply(reply(0, 60, person(EXPERT)), t(60));
    d.apply(marker(0, 120, MarkerKind::Waiting { on: true }), t(120));
    assert_eq!(status(&d, 0), Status::WaitingOnCustomer);
    // Five hours waiting: the resolution clock does not run out.
    assert!(d.tick(t(5 * 3600)).is_empty());
    let e = d.apply(reply(0, 5 * 3600, person(REQUESTER)), t(5 * 3600));
    assert_eq!(names(&e), ["reply", "needs_response"]);
    let s = d.swarm(API, t(0)).unwrap().clone();
    assert_eq!(s.status, Status::InProgress);
    assert_eq!(s.needs_response_since, Some(t(5 * 3600)));
    let (support, customer) = s.support_and_customer_secs(t(5 * 3600));
    assert_eq!((support, customer), (120, 5 * 3600 - 120));
    // The response now owed is due 15 minutes after the requester's side answered.
    let e = d.tick(t(5 * 3600 + 15 * 60));
    assert_eq!(names(&e), ["sla_breached"]);
    assert!(matches!(
        e[0].kind,
        LifecycleKind::SlaBreached {
            clock: Clock::NextResponse { .. },
            ..
        }
    ));
    assert_eq!(e[0].at, t(5 * 3600 + 15 * 60));
    d.apply(
        reply(0, 5 * 3600 + 1000, person(EXPERT)),
        t(5 * 3600 + 1000),
    );
    assert_eq!(d.swarm(API, t(0)).unwrap().needs_response_since, None);
}

#[test]
fn breaches_are_emitted_once_when_they_come_due() {
    let mut d = desk();
    open(&mut d, 0, "1", "Sev 2"); // 30 min first response
    assert!(d.tick(t(30 * 60 - 1)).is_empty());
    let e = d.tick(t(30 * 60));
    assert_eq!(names(&e), ["sla_breached"]);
    assert!(matches!(
        e[0].kind,
        LifecycleKind::SlaBreached {
            clock: Clock::FirstResponse,
            ..
        }
    ));
    assert!(d.tick(t(31 * 60)).is_empty(), "once");
    let e = d.tick(t(8 * 3600));
    assert!(matches!(
        e[..],
        [Lifecycle {
            kind: LifecycleKind::SlaBreached {
                clock: Clock::Resolution,
                ..
            },
            ..
        }]
    ));
}

#[test]
fn a_late_first_response_read_from_history_is_a_breach() {
    let mut d = desk();
    d.apply(reply(0, 3600, person(EXPERT)), t(7200));
    let e = open(&mut d, 0, "1", "Sev 1");
    assert_eq!(
        names(&e),
        ["swarm_opened", "sla_breached", "reply"],
        "in time order"
    );
}

#[test]
fn resolution_by_marker_or_reaction_is_one_event_and_reopening_undoes_it() {
    let mut d = desk();
    open(&mut d, 0, "1", "Sev 3");
    let e = d.apply(
        marker(
            0,
            100,
            MarkerKind::Resolved {
                resolution: "purged the cache".into(),
            },
        ),
        t(100),
    );
    assert_eq!(names(&e), ["resolved"]);
    assert!(
        d.apply(reaction(0, REQUESTER, true, Some(101)), t(101))
            .is_empty(),
        "already resolved"
    );
    let s = d.swarm(API, t(0)).unwrap();
    assert_eq!((s.status, s.resolved_at), (Status::Resolved, Some(t(100))));
    assert_eq!(s.resolution.as_deref(), Some("purged the cache"));
    let e = d.apply(marker(0, 200, MarkerKind::Reopened), t(200));
    assert_eq!(names(&e), ["reopened"]);
    assert_eq!(status(&d, 0), Status::New);
}

#[test]
fn the_resolved_reaction_resolves_and_removing_it_reopens() {
    let mut d = desk();
    open(&mut d, 0, "1", "Sev 3");
    let e = d.apply(reaction(0, REQUESTER, true, Some(50)), t(50));
    assert_eq!(names(&e), ["resolved"]);
    assert_eq!(d.swarm(API, t(0)).unwrap().resolved_at, Some(t(50)));
    let e = d.apply(reaction(0, REQUESTER, false, Some(60)), t(60));
    assert_eq!(names(&e), ["reopened"]);
    assert!(d.swarm(API, t(0)).unwrap().is_open());
    // Any other reaction is only a reaction (👀 claims, see tests/domain_asks.rs).
    let other = Input::Reaction {
        channel: API.into(),
        ts: t(0),
        name: "tada".into(),
        user: EXPERT.into(),
        added: true,
        at: Some(t(70)),
    };
    assert!(d.apply(other, t(70)).is_empty());
}

#[test]
fn follow_ups_come_due_once_unless_resolved_first() {
    let mut d = desk();
    open(&mut d, 0, "1", "Sev 4");
    let due = t(3600);
    d.apply(
        marker(
            0,
            10,
            MarkerKind::FollowUp {
                next_steps: "call the customer".into(),
                due,
            },
        ),
        t(10),
    );
    let s = d.swarm(API, t(0)).unwrap();
    assert_eq!(
        (s.next_steps.as_deref(), s.follow_up_at),
        (Some("call the customer"), Some(due))
    );
    assert!(d.tick(t(3599)).is_empty());
    let e = d.tick(t(3600));
    assert!(
        matches!(&e[..], [Lifecycle { kind: LifecycleKind::FollowUpDue { next_steps }, .. }] if next_steps == "call the customer")
    );
    assert!(d.tick(t(3700)).is_empty());
}

#[test]
fn edits_update_the_request_and_deletion_withdraws_it() {
    let mut d = desk();
    open(&mut d, 0, "1", "Sev 3");
    let mut edit = workflow_request(API, 0, "1", "Sev 1");
    edit.edited = Some(t(30));
    let e = d.apply(Input::Message(edit.clone()), t(30));
    assert_eq!(names(&e), ["updated"]);
    assert_eq!(d.swarm(API, t(0)).unwrap().urgency(), Urgency::Sev1);
    // The older version arriving late (a history page, a retry) does not undo the edit.
    assert!(open(&mut d, 0, "1", "Sev 3").is_empty());
    assert_eq!(d.swarm(API, t(0)).unwrap().urgency(), Urgency::Sev1);
    let e = d.apply(
        Input::Deleted {
            channel: API.into(),
            ts: t(0),
        },
        t(40),
    );
    assert_eq!(names(&e), ["withdrawn"]);
    assert!(d.swarm(API, t(0)).is_none());
    assert!(
        d.apply(Input::Message(edit), t(50)).is_empty(),
        "deleted stays deleted"
    );
}

#[test]
fn replies_that_arrive_before_their_request_count_when_it_comes() {
    let mut d = desk();
    assert!(d.apply(reply(0, 10, person(EXPERT)), t(10)).is_empty());
    assert!(
        d.apply(
            marker(
                0,
                20,
                MarkerKind::Assigned {
                    expert: EXPERT.into()
                }
            ),
            t(20)
        )
        .is_empty()
    );
    let e = open(&mut d, 0, "1", "Sev 3");
    assert_eq!(names(&e), ["swarm_opened", "reply", "assigned"]);
    assert_eq!(status(&d, 0), Status::InProgress);
}

#[test]
fn discovered_pods_drop_the_swarm_affix() {
    assert_eq!(Pod::discovered("C1", "swarm-api").name, "api");
    assert_eq!(Pod::discovered("C1", "billing-swarm").product, "billing");
    assert_eq!(Pod::discovered("C1", "escalations").name, "escalations");
}

#[test]
fn metrics_per_pod_and_overall() {
    let mut d = desk();
    // api: responded after 10 and 30 min; one resolved the same day after 2 h.
    open(&mut d, 0, "1", "Sev 3");
    d.apply(reply(0, 600, person(EXPERT)), t(600));
    d.apply(
        marker(
            0,
            700,
            MarkerKind::Assigned {
                expert: EXPERT.into(),
            },
        ),
        t(700),
    );
    d.apply(
        marker(
            0,
            7200,
            MarkerKind::Resolved {
                resolution: "done".into(),
            },
        ),
        t(7200),
    );
    open(&mut d, 100, "2", "Sev 1");
    d.apply(reply(100, 1900, person(EXPERT)), t(1900)); // 30 min: a sev1 breach
    // billing: nothing yet.
    d.apply(
        Input::Message(workflow_request(BILLING, 200, "3", "Low")),
        t(200),
    );
    let now = t(8000);
    let sla = SlaPolicy::default();
    let pods: Vec<String> = d.pods().map(|p| p.name.clone()).collect();
    // Opened 22:13 UTC, resolved two hours later: the next day in UTC, the same day in
    // a team three hours west of it.
    let utc = report(
        d.swarms(),
        |_| &sla,
        &pods,
        t(-10),
        now,
        FixedOffset::east_opt(0).unwrap(),
    );
    assert_eq!(utc.overall.same_day_rate, Some(0.0));
    let r = report(
        d.swarms(),
        |_| &sla,
        &pods,
        t(-10),
        now,
        FixedOffset::west_opt(3 * 3600).unwrap(),
    );
    let o = &r.overall;
    assert_eq!((o.opened, o.resolved, o.open), (3, 1, 2));
    assert_eq!(o.first_response_p50_s, Some(600));
    assert_eq!(o.first_response_p90_s, Some(1800));
    assert_eq!(o.resolution_p50_s, Some(7200));
    assert_eq!(o.assignment_p50_s, Some(700));
    assert_eq!(o.same_day_rate, Some(1.0));
    assert_eq!(
        o.breaches, 1,
        "only the sev1 first response (30 min against 15): {o:?}"
    );
    let billing = r.pods.iter().find(|p| p.pod == "billing").unwrap();
    assert_eq!(
        (billing.metrics.opened, billing.metrics.first_response_p50_s),
        (1, None)
    );
}

// ---- properties ----

/// A small universe of Slack happenings on two threads, so that sequences collide often.
/// As in Slack, a (channel, ts) names one message: its content follows from its ts (and
/// its edit), so two generated messages never disagree about the same ts.
fn an_input() -> impl Strategy<Value = Input> {
    const ROOTS: [i64; 2] = [0, 100_000];
    let root = prop::sample::select(&ROOTS[..]);
    let authors = || {
        vec![
            person(REQUESTER),
            person(EXPERT),
            person("U0EXP00002"),
            Author::Us,
            Author::Bot {
                bot_id: Some("B0OTHER".into()),
            },
        ]
    };
    let marker_kind = |k: usize, ts: i64| match k {
        0 => MarkerKind::Assigned {
            expert: EXPERT.into(),
        },
        1 => MarkerKind::Unassigned {
            expert: EXPERT.into(),
        },
        2 => MarkerKind::Promoted {
            channel_id: "C0INC".into(),
            channel_name: "support-api-sev1-1".into(),
        },
        3 => MarkerKind::Resolved {
            resolution: "fixed".into(),
        },
        4 => MarkerKind::Reopened,
        5 => MarkerKind::Waiting { on: true },
        6 => MarkerKind::Waiting { on: false },
        7 => MarkerKind::Replied,
        8 => MarkerKind::Asked {
            expert: EXPERT.into(),
            ask: format!("ask-{}", ts % 2),
        },
        9 => MarkerKind::Declined {
            expert: EXPERT.into(),
            ask: format!("ask-{}", ts % 2),
            reason: swarmdeck::domain::asks::DeclineReason::Busy,
        },
        _ => MarkerKind::FollowUp {
            next_steps: "call".into(),
            due: t(ts + 3600),
        },
    };
    prop_oneof![
        // History's copies of a root say when the thread last had a reply, and copies
        // read at different times say different things.
        (root.clone(), 0u8..3, prop::option::of(1i64..900)).prop_map(|(r, edit, latest)| {
            let urgency = ["Sev 3", "Sev 1", "Low"][edit as usize];
            let mut m = workflow_request(API, r, &format!("C{r}"), urgency);
            m.edited = (edit > 0).then(|| t(r + edit as i64 * 10));
            m.latest_reply = latest.map(|dt| t(r + dt * 16));
            if edit == 2 {
                m.block_texts[2] = "*Subject:*\nNow every webhook fails".into();
            }
            Input::Message(m)
        }),
        (root.clone(), 1i64..900, 0usize..5).prop_map(move |(r, dt, a)| reply(
            r,
            r + dt * 16 + a as i64,
            authors()[a].clone()
        )),
        (root.clone(), 1i64..900, 0usize..11).prop_map(move |(r, dt, k)| {
            let ts = r + dt * 16 + 5 + k as i64;
            marker(r, ts, marker_kind(k, ts))
        }),
        (root.clone(), any::<bool>(), prop::option::of(1i64..9000))
            .prop_map(|(r, added, at)| reaction(r, REQUESTER, added, at.map(|a| r + a))),
        (root.clone(), prop::option::of((1i64..900, 0i64..13))).prop_map(|(r, m)| Input::Deleted {
            channel: API.into(),
            ts: t(r + m.map_or(0, |(dt, v)| dt * 16 + v)),
        }),
        Just(Input::Message(workflow_request(
            "C0GENERAL1",
            5,
            "9",
            "Sev 1"
        ))),
    ]
}

/// Inputs that make up a thread's final content (no deletions, no reaction removals:
/// those undo something, so their order matters by nature).
fn a_thread_input() -> impl Strategy<Value = Input> {
    an_input().prop_filter("content, not removals", |i| {
        !matches!(
            i,
            Input::Deleted { .. } | Input::Reaction { added: false, .. }
        )
    })
}

fn apply_all(inputs: &[Input], now: i64) -> Desk {
    let mut d = desk();
    for (i, input) in inputs.iter().enumerate() {
        d.apply(input.clone(), t(now + i as i64));
    }
    d.tick(t(now + inputs.len() as i64));
    d
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_sequence_of_events_is_safe(inputs in prop::collection::vec(an_input(), 0..60), now in 0i64..50_000) {
        let mut d = desk();
        for input in inputs {
            for e in d.apply(input, t(now)) {
                prop_assert!(!e.key.is_empty());
            }
        }
        d.tick(t(now + 100_000));
        for s in d.swarms() {
            prop_assert!(s.first_response_at.is_none_or(|f| f > s.opened_at));
        }
    }

    #[test]
    fn a_duplicate_changes_nothing(inputs in prop::collection::vec(an_input(), 1..40), pick in any::<prop::sample::Index>()) {
        let before = apply_all(&inputs, 3000);
        let mut again = inputs.clone();
        // Slack redelivers the last event, or a history page repeats any message.
        let last = inputs.last().unwrap().clone();
        again.push(last);
        let repeated = inputs[pick.index(inputs.len())].clone();
        if matches!(repeated, Input::Message(_) | Input::Deleted { .. }) {
            again.push(repeated);
        }
        let after = apply_all(&again, 3000);
        prop_assert_eq!(before.snapshot(), after.snapshot());
    }

    #[test]
    fn the_final_state_does_not_depend_on_arrival_order(
        inputs in prop::collection::vec(a_thread_input(), 1..40).prop_shuffle(),
        seed in any::<u64>(),
    ) {
        let forward = apply_all(&inputs, 3000);
        let mut shuffled = inputs.clone();
        // A deterministic reshuffle of the same events.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let other = apply_all(&shuffled, 3000);
        prop_assert_eq!(forward.snapshot(), other.snapshot());
    }

    /// A restart rebuilds the desk from the store in one pass: the same swarms as
    /// applying the same inputs one by one.
    #[test]
    fn restoring_from_stored_inputs_equals_applying_them(inputs in prop::collection::vec(an_input(), 0..60)) {
        // One `now` for both: an event without a time of its own is dated on arrival.
        let mut applied = desk();
        for input in &inputs {
            applied.apply(input.clone(), t(3000));
        }
        let mut restored = desk();
        restored.restore(inputs.clone(), t(3000));
        prop_assert_eq!(applied.snapshot(), restored.snapshot());
    }

    /// `tail` restarts through the same bulk path, so it must see the events applying
    /// one by one would have emitted. (Out of time order they may differ, and rightly:
    /// a reply arriving late can meet a clock another order saw breach first.)
    #[test]
    fn restoring_in_time_order_implies_the_events_applying_emits(inputs in prop::collection::vec(an_input(), 0..60)) {
        // Each input arrives at its own time, and the restart comes after the last.
        let at = |input: &Input| match input {
            Input::Message(m) => m.ts,
            Input::Reaction { at, ts, .. } => at.unwrap_or(*ts),
            Input::Deleted { ts, .. } => *ts,
            _ => t(0),
        };
        // What is dated on arrival differs by when it arrives, which a restart changes:
        // replies history announced wait a grace period from when the desk first heard
        // of them, and an undated reaction counts from its arrival. Not the subject here.
        let mut inputs: Vec<Input> = inputs
            .into_iter()
            .map(|input| match input {
                Input::Message(m) => Input::Message(Msg { latest_reply: None, ..m }),
                Input::Reaction { channel, ts, name, user, added, at } => {
                    Input::Reaction { channel, ts, name, user, added, at: at.or(Some(ts)) }
                }
                other => other,
            })
            .collect();
        inputs.sort_by_key(at);
        let restart = inputs.iter().map(at).max().unwrap_or(t(0));
        let mut applied = desk();
        let mut emitted = Vec::new();
        for input in &inputs {
            emitted.extend(applied.apply(input.clone(), at(input)));
        }
        emitted.extend(applied.tick(restart));
        let implied = desk().restore(inputs.clone(), restart);
        // Keys only: a withdrawal is dated when the desk learns of it.
        let keys = |events: &[Lifecycle], clocks: bool| {
            let mut keys: Vec<_> = events
                .iter()
                .filter(|e| {
                    let clock = matches!(
                        e.kind,
                        LifecycleKind::SlaBreached { .. }
                            | LifecycleKind::FollowUpDue { .. }
                            | LifecycleKind::AskUnanswered { .. }
                            | LifecycleKind::ExpertQuiet { .. }
                    );
                    clock == clocks
                })
                .map(|e| e.key.clone())
                .collect();
            keys.sort();
            keys.dedup();
            keys
        };
        // What the messages say is the same either way.
        prop_assert_eq!(keys(&emitted, false), keys(&implied, false));
        // A clock read live may ring for a state the history passed through (a
        // follow-up later replaced; a pause a later reopening gave back its effect), but
        // the restart rings for none the live desk did not: reading only the clocks still
        // running, live, misses none.
        let live = keys(&emitted, true);
        let missing: Vec<_> = keys(&implied, true).into_iter().filter(|k| !live.contains(k)).collect();
        prop_assert!(missing.is_empty(), "restored but never rung live: {:?}", missing);
    }
}

fn replied(root: i64, at: i64) -> Input {
    marker(root, at, MarkerKind::Replied)
}

#[test]
fn the_leads_reply_from_swarmdeck_is_the_leads_first_response() {
    let mut d = desk();
    open(&mut d, 0, "1", "Sev 1"); // first response due at 15 min
    let e = d.apply(replied(0, 300), t(300));
    assert!(
        matches!(
            &e[..],
            [Lifecycle {
                kind: LifecycleKind::Reply {
                    user: Some(user),
                    first_response: true,
                    ..
                },
                ..
            }] if user == LEAD
        ),
        "{e:?}"
    );
    let s = d.swarm(API, t(0)).unwrap().clone();
    assert_eq!(s.first_response_at, Some(t(300)));
    assert_eq!(s.participants, [LEAD]);
    assert_eq!(s.status, Status::InProgress);
    // No first-response breach, no bell: the lead answered in time.
    let breaches = d.tick(t(3600));
    assert!(
        !breaches.iter().any(|e| matches!(
            e.kind,
            LifecycleKind::SlaBreached {
                clock: Clock::FirstResponse,
                ..
            }
        )),
        "{breaches:?}"
    );
    // The thread names the lead as the reply's author.
    assert_eq!(d.thread(API, t(0))[1].lead_reply(), Some(LEAD));
}

#[test]
fn the_leads_reply_answers_the_requester() {
    let mut d = desk();
    open(&mut d, 0, "1", "Sev 1");
    d.apply(reply(0, 60, person(EXPERT)), t(60));
    d.apply(reply(0, 120, person(REQUESTER)), t(120));
    assert_eq!(
        d.swarm(API, t(0)).unwrap().needs_response_since,
        Some(t(120))
    );
    d.apply(replied(0, 180), t(180));
    let s = d.swarm(API, t(0)).unwrap();
    assert_eq!(s.needs_response_since, None);
    assert_eq!(s.owed, [(t(120), Some(t(180)))]);
    assert_eq!(s.participants, [EXPERT, REQUESTER, LEAD]);
}

#[test]
fn waiting_on_the_customer_while_a_response_is_owed_ends_what_is_owed() {
    let mut d = desk();
    open(&mut d, 0, "1", "Sev 1");
    d.apply(reply(0, 60, person(EXPERT)), t(60));
    d.apply(reply(0, 120, person(REQUESTER)), t(120));
    d.apply(marker(0, 180, MarkerKind::Waiting { on: true }), t(180));
    let s = d.swarm(API, t(0)).unwrap().clone();
    assert_eq!(s.status, Status::WaitingOnCustomer);
    assert_eq!(s.needs_response_since, None, "nothing owed while waiting");
    assert_eq!(s.owed, [(t(120), Some(t(180)))]);
    assert!(d.tick(t(10 * 3600)).is_empty(), "no breach while waiting");
    // When the customer answers, a response is owed again.
    d.apply(reply(0, 11 * 3600, person(REQUESTER)), t(11 * 3600));
    let s = d.swarm(API, t(0)).unwrap();
    assert_eq!(s.needs_response_since, Some(t(11 * 3600)));
    assert!(!s.is_waiting());
}

#[test]
fn a_promoted_swarm_reopened_after_waiting_gets_its_clock_back() {
    let mut d = desk();
    open(&mut d, 0, "27343", "Sev 1");
    d.apply(reply(0, 60, person(EXPERT)), t(60));
    d.apply(
        marker(
            0,
            120,
            MarkerKind::Promoted {
                channel_id: "C0INC".into(),
                channel_name: "support-api-sev1-27343".into(),
            },
        ),
        t(120),
    );
    d.apply(marker(0, 180, MarkerKind::Waiting { on: true }), t(180));
    assert!(d.swarm(API, t(0)).unwrap().next_clock.is_none(), "paused");
    d.apply(
        marker(
            0,
            240,
            MarkerKind::Resolved {
                resolution: "fixed".into(),
            },
        ),
        t(240),
    );
    d.apply(marker(0, 300, MarkerKind::Reopened), t(300));
    let s = d.swarm(API, t(0)).unwrap();
    assert_eq!(s.status, Status::Promoted);
    assert!(!s.is_waiting(), "resolving ended the wait");
    let clock = s.next_clock.expect("a running clock after reopening");
    assert_eq!(clock.clock, Clock::Resolution);
    // Four hours of support time, less the minute waiting before the resolution.
    assert_eq!(clock.due, Some(t(4 * 3600 + 60)));
}

// ---- a thread whose replies history announced but the desk has not read yet ----

/// A root as a history page gives it: it says when its thread last had a reply.
fn history_root(at: i64, case: &str, urgency: &str, latest_reply: i64) -> Input {
    let mut m = workflow_request(API, at, case, urgency);
    m.latest_reply = Some(t(latest_reply));
    Input::Message(m)
}

fn breached(events: &[Lifecycle]) -> Vec<&Lifecycle> {
    events
        .iter()
        .filter(|e| matches!(e.kind, LifecycleKind::SlaBreached { .. }))
        .collect()
}

#[test]
fn a_root_from_history_waits_for_its_replies_before_its_clock_can_breach() {
    let mut d = desk();
    // A Sev 1 (15 min to first response) answered at 5 min, read an hour later: the gap
    // fill passes the root on first and the thread a moment after.
    let now = 3600;
    let e = d.apply(history_root(0, "1", "Sev 1", 300), t(now));
    assert!(breached(&e).is_empty(), "{e:?}");
    let s = d.swarm(API, t(0)).unwrap();
    assert!(s.pending, "its replies are still to be read");
    assert!(breached(&d.tick(t(now + 1))).is_empty());
    // The thread arrives: the clock was met, and no breach was ever said.
    let e = d.apply(reply(0, 300, person(EXPERT)), t(now + 2));
    assert!(breached(&e).is_empty(), "{e:?}");
    let s = d.swarm(API, t(0)).unwrap();
    assert!(!s.pending);
    assert_eq!(s.first_response_at, Some(t(300)));
    let first = s
        .clocks(&SlaPolicy::default())
        .into_iter()
        .find(|b| b.clock == Clock::FirstResponse)
        .unwrap();
    assert!(!first.breached(t(now + 2)), "{first:?}");
    let later = d.tick(t(now + 2 * 3600));
    assert!(
        !later.iter().any(|e| matches!(
            e.kind,
            LifecycleKind::SlaBreached {
                clock: Clock::FirstResponse,
                ..
            }
        )),
        "{later:?}"
    );
}

#[test]
fn a_thread_whose_replies_never_come_breaches_once_after_the_grace_period() {
    let mut d = desk();
    let now = 3600;
    assert!(breached(&d.apply(history_root(0, "1", "Sev 1", 300), t(now))).is_empty());
    assert!(
        breached(&d.tick(t(now + 599))).is_empty(),
        "still in its grace period"
    );
    assert!(d.swarm(API, t(0)).unwrap().pending);
    let e = d.tick(t(now + 600));
    assert_eq!(breached(&e).len(), 1, "{e:?}");
    assert!(!d.swarm(API, t(0)).unwrap().pending);
    assert!(breached(&d.tick(t(now + 601))).is_empty(), "once");
    // Another copy of the root (a later page) does not start the wait again.
    let e = d.apply(history_root(0, "1", "Sev 1", 300), t(now + 700));
    assert!(breached(&e).is_empty() && !d.swarm(API, t(0)).unwrap().pending);
}

#[test]
fn a_deleted_last_reply_ends_the_wait() {
    let mut d = desk();
    d.apply(reply(0, 200, person(EXPERT)), t(3600));
    d.apply(reply(0, 300, person(EXPERT)), t(3600));
    d.apply(history_root(0, "1", "Sev 1", 300), t(3600));
    assert!(!d.swarm(API, t(0)).unwrap().pending, "all replies heard");
    let mut d = desk();
    d.apply(
        Input::Deleted {
            channel: API.into(),
            ts: t(300),
        },
        t(3600),
    );
    d.apply(history_root(0, "1", "Sev 1", 300), t(3600));
    assert!(d.swarm(API, t(0)).unwrap().pending);
    d.apply(reply(0, 300, person(EXPERT)), t(3601));
    assert!(
        !d.swarm(API, t(0)).unwrap().pending,
        "the newest reply was deleted: nothing more to wait for"
    );
}
