//! Duplicates as the desk derives them: at intake a request for a case another open swarm
//! has (in any pod), or with a subject that says the same, is flagged once with a
//! `duplicate` event naming both; an unrelated request is not. `L`'s plan links them
//! (a marker in each thread), which resolves the duplicate once, and metrics count the
//! pair as one swarm. Pure: no Slack, no clock.

use chrono::FixedOffset;
use swarmdeck::domain::duplicates::Likeness;
use swarmdeck::domain::metrics;
use swarmdeck::domain::moves::{Meta, Mover, Step, Target};
use swarmdeck::domain::{
    Author, Desk, DeskConfig, Input, Lifecycle, LifecycleKind, Marker, MarkerKind, Msg, Pod,
    SlaPolicy, Status, SwarmId, Ts,
};

const API: &str = "C0SWARMAPI";
const BILLING: &str = "C0SWARMBIL";
const LEAD: &str = "U0LEAD0001";

fn t(secs: i64) -> Ts {
    Ts::from_secs(1_700_000_000 + secs)
}

fn msg(channel: &str, at: i64, thread: Option<i64>, author: Author, text: &str) -> Msg {
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

fn request(channel: &str, at: i64, case: &str, subject: &str) -> Input {
    Input::Message(msg(
        channel,
        at,
        None,
        Author::Person("U0REQ00001".into()),
        &format!("Case: {case}\nUrgency: Sev 3\nSubject: {subject}"),
    ))
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

fn duplicates(events: &[Lifecycle]) -> Vec<&Lifecycle> {
    events
        .iter()
        .filter(|e| matches!(e.kind, LifecycleKind::Duplicate { .. }))
        .collect()
}

#[test]
fn the_same_case_in_another_pod_is_flagged_once_naming_both_swarms() {
    let mut desk = desk();
    assert!(
        duplicates(&desk.apply(request(API, 0, "27343", "Webhooks time out"), t(0))).is_empty()
    );
    let events = desk.apply(
        request(
            BILLING,
            60,
            "#27343",
            "Invoices not sent after webhook outage",
        ),
        t(60),
    );
    let [dup] = duplicates(&events)[..] else {
        panic!("one duplicate event: {events:?}");
    };
    assert_eq!(
        (dup.pod.as_str(), dup.channel.as_str(), dup.thread_ts),
        ("billing", BILLING, t(60)),
        "the event is the duplicate's"
    );
    let LifecycleKind::Duplicate { of } = &dup.kind else {
        unreachable!()
    };
    assert_eq!(of.of, SwarmId::new(API, t(0)), "and names the original");
    assert_eq!((of.pod.as_str(), of.case.as_str()), ("api", "27343"));
    assert_eq!(of.likeness, Likeness::SameCase);
    let flagged = desk.swarm(BILLING, t(60)).unwrap();
    assert_eq!(flagged.duplicate_of.as_ref(), Some(of));
    assert_eq!(
        desk.swarm(API, t(0)).unwrap().duplicate_of,
        None,
        "the original is not a duplicate"
    );
    // A reply, or a copy of the request arriving again, flags nothing new.
    let reply = msg(
        BILLING,
        90,
        Some(60),
        Author::Person("U0EXP00001".into()),
        "looking",
    );
    assert!(duplicates(&desk.apply(Input::Message(reply), t(90))).is_empty());
    assert!(
        duplicates(&desk.apply(
            request(
                BILLING,
                60,
                "#27343",
                "Invoices not sent after webhook outage"
            ),
            t(91)
        ))
        .is_empty()
    );
    assert!(desk.swarm(BILLING, t(60)).unwrap().duplicate_of.is_some());
}

#[test]
fn a_similar_subject_is_flagged_and_an_unrelated_one_in_the_same_pod_is_not() {
    let mut desk = desk();
    desk.apply(
        request(BILLING, 0, "27400", "Refund stuck in pending for 9 days"),
        t(0),
    );
    // Another case, another pod, the same problem in other words.
    let events = desk.apply(
        request(
            API,
            30,
            "27455",
            "refund still STUCK as pending - 9 days now",
        ),
        t(30),
    );
    let [dup] = duplicates(&events)[..] else {
        panic!("one duplicate event: {events:?}");
    };
    let LifecycleKind::Duplicate { of } = &dup.kind else {
        unreachable!()
    };
    assert_eq!(of.of, SwarmId::new(BILLING, t(0)));
    assert_eq!(of.likeness, Likeness::SimilarSubject);
    // Same pod, a different problem; words every request has ("the", "error",
    // "customer", "not working") and the product name do not make it alike.
    for (at, case, subject) in [
        (
            60,
            "27501",
            "Refund API returns the error 500 for the customer",
        ),
        (61, "27502", "The error is not working for the customer"),
        (62, "27503", "Error: the customer is not working"),
    ] {
        let events = desk.apply(request(BILLING, at, case, subject), t(at));
        assert!(duplicates(&events).is_empty(), "{subject}: {events:?}");
        assert_eq!(desk.swarm(BILLING, t(at)).unwrap().duplicate_of, None);
    }
}

#[test]
fn only_open_swarms_are_originals_and_history_arriving_late_flags_the_newer() {
    let mut first = desk();
    let desk = &mut first;
    desk.apply(request(API, 0, "27343", "Webhooks time out"), t(0));
    let resolved = msg(API, 10, Some(0), Author::Us, "Resolved");
    let resolved = Msg {
        marker: Some(Marker {
            lead: Some(LEAD.into()),
            kind: MarkerKind::Resolved {
                resolution: "fixed".into(),
            },
        }),
        ..resolved
    };
    desk.apply(Input::Message(resolved), t(10));
    // A new case for a resolved one is a reopening's business, not a duplicate.
    let events = desk.apply(
        request(BILLING, 60, "27343", "Webhooks time out again"),
        t(60),
    );
    assert!(duplicates(&events).is_empty(), "{events:?}");

    // Restored from history in any order, the older request is the original.
    let inputs = vec![
        request(BILLING, 200, "27600", "Payout export missing rows in CSV"),
        request(API, 100, "27600", "Payout export missing rows"),
    ];
    let mut live = desk_with_one_by_one(inputs.clone());
    let mut restored = self::desk();
    let events = restored.restore(inputs.into_iter().rev(), t(300));
    assert_eq!(duplicates(&events).len(), 1);
    for d in [&mut live, &mut restored] {
        let dup = d.swarm(BILLING, t(200)).unwrap();
        assert_eq!(
            dup.duplicate_of.as_ref().map(|o| o.of.clone()),
            Some(SwarmId::new(API, t(100)))
        );
        assert_eq!(d.swarm(API, t(100)).unwrap().duplicate_of, None);
    }
}

fn desk_with_one_by_one(inputs: Vec<Input>) -> Desk {
    let mut desk = desk();
    for (i, input) in inputs.into_iter().enumerate() {
        desk.apply(input, t(300 + i as i64));
    }
    desk
}

/// The posts a plan makes with markers, as the echo of each post reaches the desk.
fn posted(action: &swarmdeck::domain::moves::Action, at: i64) -> Vec<Input> {
    action
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::Post {
                to,
                text,
                meta: Meta::Marker(kind),
            } => {
                let (channel, thread) = match to {
                    Target::Thread => (action.channel.clone(), action.thread_ts.unwrap()),
                    Target::OtherThread { channel, thread_ts } => (channel.clone(), *thread_ts),
                    other => panic!("a link posts in threads only: {other:?}"),
                };
                let mut m = msg(&channel, at, None, Author::Us, text);
                m.thread_ts = Some(thread);
                m.marker = Some(Marker {
                    lead: Some(LEAD.into()),
                    kind: kind.clone(),
                });
                Some(Input::Message(m))
            }
            _ => None,
        })
        .collect()
}

fn mover(id: &str) -> Mover<'static> {
    Mover {
        id: id.into(),
        lead: Some(LEAD),
        resolved_reaction: "white_check_mark",
    }
}

#[test]
fn linking_resolves_the_duplicate_once_and_metrics_count_the_pair_once() {
    let mut desk = desk();
    desk.apply(request(API, 0, "27343", "Webhooks time out"), t(0));
    desk.apply(request(BILLING, 60, "27343", "Webhooks time out"), t(60));
    let dup = desk.swarm(BILLING, t(60)).unwrap().clone();
    let original = desk.swarm(API, t(0)).unwrap().clone();
    let action = mover("m1").link_duplicate(&dup, &original).unwrap();
    // One note in each thread, with a marker each, and nothing else.
    let inputs = posted(&action, 120);
    assert_eq!((inputs.len(), action.steps.len()), (2, 2));
    let mut events = Vec::new();
    for input in inputs.iter().cloned() {
        events.extend(desk.apply(input, t(121)));
    }
    let resolved: Vec<&Lifecycle> = events
        .iter()
        .filter(|e| matches!(e.kind, LifecycleKind::Resolved { .. }))
        .collect();
    let [r] = resolved[..] else {
        panic!("the duplicate resolved once: {events:?}");
    };
    assert_eq!(r.swarm(), dup.id());
    let LifecycleKind::Resolved { resolution, .. } = &r.kind else {
        unreachable!()
    };
    assert_eq!(resolution.as_deref(), Some("duplicate of #27343"));
    let linked = desk.swarm(BILLING, t(60)).unwrap();
    assert_eq!(linked.status, Status::Resolved);
    assert_eq!(
        linked.linked_to.as_ref().map(|l| &l.other),
        Some(&original.id())
    );
    let original_now = desk.swarm(API, t(0)).unwrap();
    assert!(original_now.is_open(), "the original goes on");
    assert_eq!(original_now.duplicates.len(), 1);
    assert_eq!(original_now.duplicates[0].other, dup.id());
    // The same posts again (a retry, another lead's copy) change nothing.
    for input in inputs {
        let again = desk.apply(input, t(130));
        assert!(again.is_empty(), "{again:?}");
    }
    assert_eq!(desk.swarm(API, t(0)).unwrap().duplicates.len(), 1);
    // And `L` again has nothing to plan.
    let linked = desk.swarm(BILLING, t(60)).unwrap().clone();
    let err = mover("m2").link_duplicate(&linked, &original).unwrap_err();
    assert!(err.contains("linked already"), "{err}");

    // Two requests, one problem: one swarm opened (still open), the duplicate counted
    // apart in its pod.
    let policy = SlaPolicy::default();
    let pods = vec!["api".to_string(), "billing".to_string()];
    let report = metrics::report(
        desk.swarms(),
        |_| &policy,
        &pods,
        t(-1),
        t(200),
        FixedOffset::east_opt(0).unwrap(),
    );
    assert_eq!(
        (
            report.overall.opened,
            report.overall.resolved,
            report.overall.open
        ),
        (1, 0, 1)
    );
    assert_eq!(report.overall.duplicates, 1);
    let billing = &report
        .pods
        .iter()
        .find(|p| p.pod == "billing")
        .unwrap()
        .metrics;
    assert_eq!(
        (billing.opened, billing.resolved, billing.duplicates),
        (0, 0, 1)
    );
    let api = &report.pods.iter().find(|p| p.pod == "api").unwrap().metrics;
    assert_eq!((api.opened, api.duplicates), (1, 0));
}

#[test]
fn a_restart_after_the_original_was_resolved_flags_what_the_live_desk_did() {
    let resolved = {
        let mut m = msg(API, 500, Some(0), Author::Us, "Resolved");
        m.marker = Some(Marker {
            lead: Some(LEAD.into()),
            kind: MarkerKind::Resolved {
                resolution: "fixed".into(),
            },
        });
        Input::Message(m)
    };
    let inputs = vec![
        request(API, 0, "27343", "Webhooks time out"),
        request(BILLING, 60, "27343", "Webhooks time out"),
        resolved,
    ];
    let mut live = desk();
    for (i, input) in inputs.iter().cloned().enumerate() {
        live.apply(input, t(600 + i as i64));
    }
    let mut restored = desk();
    let events = restored.restore(inputs, t(700));
    assert_eq!(duplicates(&events).len(), 1);
    assert!(live.swarm(BILLING, t(60)).unwrap().duplicate_of.is_some());
    assert_eq!(live.snapshot(), restored.snapshot());
}

#[test]
fn the_flags_do_not_depend_on_the_order_requests_arrive_in() {
    let inputs = vec![
        request(API, 0, "27700", "Payout export missing rows in CSV"),
        request(BILLING, 100, "27701", "Payout export missing rows"),
        request(API, 200, "27702", "payout export CSV missing rows again"),
        request(BILLING, 300, "27700", "Customer asks again"),
    ];
    let mut snapshots = Vec::new();
    for order in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2]] {
        let mut d = desk();
        for (n, i) in order.into_iter().enumerate() {
            d.apply(inputs[i].clone(), t(1000 + n as i64));
        }
        snapshots.push(d.snapshot());
    }
    let mut restored = desk();
    restored.restore(inputs.into_iter().rev(), t(2000));
    snapshots.push(restored.snapshot());
    for s in &snapshots[1..] {
        assert_eq!(s, &snapshots[0]);
    }
    let of = |s: &[swarmdeck::domain::Swarm], at: i64| {
        s.iter()
            .find(|w| w.thread_ts == t(at))
            .and_then(|w| w.duplicate_of.as_ref().map(|d| d.of.thread_ts))
    };
    let first = &snapshots[0];
    assert_eq!(of(first, 0), None);
    assert_eq!(of(first, 100), Some(t(0)));
    assert_eq!(of(first, 200), Some(t(0)));
    assert_eq!(of(first, 300), Some(t(0)), "the same case first");
}

#[test]
fn a_pod_configured_without_duplicate_checks_flags_none_of_its_requests() {
    let mut quiet = Pod::discovered(BILLING, "swarm-billing");
    quiet.flag_duplicates = false;
    let mut desk = Desk::new(
        DeskConfig::default(),
        [Pod::discovered(API, "swarm-api"), quiet],
    );
    desk.apply(request(API, 0, "27343", "Webhooks time out"), t(0));
    let events = desk.apply(request(BILLING, 60, "27343", "Webhooks time out"), t(60));
    assert!(duplicates(&events).is_empty(), "{events:?}");
    assert!(desk.swarm(BILLING, t(60)).unwrap().duplicate_of.is_none());
    // The api pod still checks its own, against every pod's open swarms.
    let events = desk.apply(request(API, 120, "27343", "Webhooks time out"), t(120));
    assert_eq!(duplicates(&events).len(), 1, "{events:?}");
}
