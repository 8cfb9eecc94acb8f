//! Business hours and SLA tiers, as a swarm lead would check them: clocks that count
//! only the pod's open time (in its zone, across DST changes and holidays), Sev1 around
//! the clock, and a premier customer's request held to the premier target. Pure: every
//! instant is passed in, so nothing here depends on the hour the tests run.

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use proptest::prelude::*;
use std::collections::BTreeSet;
use swarmdeck::domain::hours::Hours;
use swarmdeck::domain::timers::Pauses;
use swarmdeck::domain::{
    Author, Clock, Desk, DeskConfig, Input, LifecycleKind, Msg, Pod, TierTargets, Ts, Urgency,
};

const API: &str = "C0SWARMAPI";
const EXPERT: &str = "U0EXP00001";
const BERLIN: Tz = chrono_tz::Europe::Berlin;

/// An instant given as the pod's team reads it: `y-m-d h:m` in `tz`.
fn local(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Ts {
    Ts::from_datetime(
        tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .earliest()
            .expect("a local time that exists")
            .to_utc(),
    )
}

fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Ts {
    local(BERLIN, y, mo, d, h, mi)
}

/// Open `open`–`close` (minutes) on the days marked, Monday first.
fn hours(tz: Tz, days: [bool; 7], open: u32, close: u32, holidays: &[&str]) -> Hours {
    let mut week = [None; 7];
    for (i, d) in days.iter().enumerate() {
        if *d {
            week[i] = Some((open, close));
        }
    }
    let holidays: BTreeSet<NaiveDate> = holidays.iter().map(|h| h.parse().unwrap()).collect();
    Hours::new(tz, week, holidays).unwrap()
}

const MON_FRI: [bool; 7] = [true, true, true, true, true, false, false];
const EVERY_DAY: [bool; 7] = [true; 7];

/// Berlin, Mon–Fri 09:00–18:00, Christmas Day off.
fn berlin_office() -> Hours {
    hours(BERLIN, MON_FRI, 9 * 60, 18 * 60, &["2026-12-25"])
}

/// The api pod with `hours` and a 1h first response for Sev3.
fn desk(hours: Option<Hours>) -> Desk {
    let mut pod = Pod::discovered(API, "swarm-api");
    pod.sla.first_response[Urgency::Sev3 as usize] = 3600;
    pod.sla.hours = hours;
    let mut premier = TierTargets::default();
    premier.first_response[Urgency::Sev1 as usize] = Some(5 * 60);
    premier.first_response[Urgency::Sev3 as usize] = Some(20 * 60);
    pod.sla.tiers.insert("premier".into(), premier);
    Desk::new(DeskConfig::default(), [pod])
}

fn request(at: Ts, case: &str, urgency: &str, tier: Option<&str>) -> Input {
    let mut blocks = vec![
        format!("*Case number:*\n{case}"),
        format!("*Urgency:*\n{urgency}"),
        "*Subject:*\nWebhooks time out".into(),
    ];
    if let Some(t) = tier {
        blocks.push(format!("*Tier:*\n{t}"));
    }
    Input::Message(Msg {
        channel: API.into(),
        ts: at,
        thread_ts: None,
        author: Author::Bot {
            bot_id: Some("B0WORKFLOW".into()),
        },
        text: format!("*Case number:* {case}"),
        block_texts: blocks,
        marker: None,
        edited: None,
        reactions: vec![],
        latest_reply: None,
    })
}

fn breaches(d: &mut Desk, now: Ts) -> Vec<(Clock, Ts)> {
    d.tick(now)
        .into_iter()
        .filter_map(|e| match e.kind {
            LifecycleKind::SlaBreached { clock, due } => Some((clock, due)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_sev3_opened_friday_evening_breaches_monday_morning_not_friday_night() {
    // Friday 4 December 2026, 17:50 in Berlin: ten minutes of the hour are left today.
    let opened = berlin(2026, 12, 4, 17, 50);
    let mut d = desk(Some(berlin_office()));
    d.apply(request(opened, "27343", "Sev 3", None), opened);
    assert!(
        breaches(&mut d, berlin(2026, 12, 4, 18, 50)).is_empty(),
        "not Friday 18:50"
    );
    assert!(
        breaches(&mut d, berlin(2026, 12, 6, 23, 0)).is_empty(),
        "nor over the weekend"
    );
    assert!(breaches(&mut d, berlin(2026, 12, 7, 9, 49)).is_empty());
    let monday = berlin(2026, 12, 7, 9, 50);
    assert_eq!(breaches(&mut d, monday), [(Clock::FirstResponse, monday)]);
    let s = d.swarm(API, opened).unwrap();
    assert_eq!(s.next_clock.unwrap().due, Some(monday));
    // The row's 75 % warning is in business time too: 45 of the 60 minutes used.
    assert_eq!(
        s.next_clock.unwrap().warn_at,
        Some(berlin(2026, 12, 7, 9, 35))
    );
    // Closed over the weekend: the row says when the clock resumes.
    let policy = &d.pod(API).unwrap().sla;
    let saturday = berlin(2026, 12, 5, 12, 0);
    let resumes = s.resumes_at(policy, saturday).unwrap();
    assert_eq!(resumes, berlin(2026, 12, 7, 9, 0));
    assert_eq!(
        policy.hours.as_ref().unwrap().local_label(resumes),
        "Mon 09:00"
    );
    assert_eq!(
        s.resumes_at(policy, berlin(2026, 12, 7, 9, 10)),
        None,
        "open"
    );
}

#[test]
fn without_hours_every_clock_runs_around_the_clock_as_before() {
    let opened = berlin(2026, 12, 4, 17, 50);
    let mut d = desk(None);
    d.apply(request(opened, "27343", "Sev 3", None), opened);
    let due = opened.plus_secs(3600);
    assert!(breaches(&mut d, due.plus_secs(-1)).is_empty());
    assert_eq!(breaches(&mut d, due), [(Clock::FirstResponse, due)]);
    let s = d.swarm(API, opened).unwrap();
    assert_eq!(
        s.next_clock.unwrap().warn_at,
        None,
        "the row's own 75 % rule"
    );
    assert_eq!(s.resumes_at(&d.pod(API).unwrap().sla, opened), None);
}

#[test]
fn sev1_ignores_the_hours_unless_told_to_follow_them() {
    let opened = berlin(2026, 12, 4, 17, 50);
    let mut d = desk(Some(berlin_office()));
    d.apply(request(opened, "1", "Sev 1", None), opened);
    let due = opened.plus_secs(15 * 60); // Friday 18:05, after closing
    assert_eq!(breaches(&mut d, due), [(Clock::FirstResponse, due)]);
    let policy = &d.pod(API).unwrap().sla;
    let s = d.swarm(API, opened).unwrap();
    assert_eq!(s.resumes_at(policy, berlin(2026, 12, 5, 12, 0)), None);
    assert_eq!(
        policy.applied(Urgency::Sev1, None).label(),
        "default · sev1 · 24/7"
    );

    // Configured to follow them, Sev1 waits for Monday too.
    let mut h = berlin_office();
    h.follow = [true; 4];
    let mut d = desk(Some(h));
    d.apply(request(opened, "1", "Sev 1", None), opened);
    assert!(breaches(&mut d, due).is_empty());
    assert_eq!(
        breaches(&mut d, berlin(2026, 12, 7, 9, 5)),
        [(Clock::FirstResponse, berlin(2026, 12, 7, 9, 5))]
    );
}

#[test]
fn a_holiday_is_closed_all_day() {
    // Thursday 24 December, 17:30: half an hour today, Christmas Day (Friday) off,
    // the weekend, and the other half Monday.
    let opened = berlin(2026, 12, 24, 17, 30);
    let mut d = desk(Some(berlin_office()));
    d.apply(request(opened, "2", "Sev 3", None), opened);
    assert!(breaches(&mut d, berlin(2026, 12, 25, 9, 30)).is_empty());
    let due = berlin(2026, 12, 28, 9, 30);
    assert_eq!(breaches(&mut d, due), [(Clock::FirstResponse, due)]);
    let h = berlin_office();
    assert!(!h.is_open(berlin(2026, 12, 25, 11, 0)));
    assert!(h.is_open(berlin(2026, 12, 24, 11, 0)));
}

#[test]
fn across_the_spring_dst_change_the_hours_keep_the_local_clock() {
    // Berlin goes from CET (+1) to CEST (+2) at 02:00 on Sunday 29 March 2026.
    let h = hours(BERLIN, EVERY_DAY, 9 * 60, 17 * 60, &[]);
    let p = Pauses::default();
    // Saturday 16:00 CET, a 2h target: one hour Saturday, one from 09:00 CEST Sunday.
    let due = p.due_in(berlin(2026, 3, 28, 16, 0), 7200, Some(&h));
    assert_eq!(due, Some(berlin(2026, 3, 29, 10, 0)));
    assert_eq!(
        due.unwrap().to_datetime().to_rfc3339(),
        "2026-03-29T08:00:00+00:00"
    );
    // Opening in the hour that does not exist: the day opens when the gap ends.
    let night = hours(BERLIN, EVERY_DAY, 60, 4 * 60, &[]);
    let day = (berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0));
    assert_eq!(
        night.open_secs(day.0, day.1),
        2 * 3600,
        "01:00–04:00 is two hours"
    );
    let gap = hours(BERLIN, EVERY_DAY, 2 * 60 + 30, 5 * 60, &[]);
    assert_eq!(gap.next_open(day.0), Some(berlin(2026, 3, 29, 3, 0)));
}

#[test]
fn across_the_autumn_dst_change_the_hours_keep_the_local_clock() {
    // Berlin goes from CEST (+2) back to CET (+1) at 03:00 on Sunday 25 October 2026.
    let h = hours(BERLIN, EVERY_DAY, 9 * 60, 17 * 60, &[]);
    let p = Pauses::default();
    let due = p.due_in(berlin(2026, 10, 24, 16, 30), 3600, Some(&h));
    assert_eq!(due, Some(berlin(2026, 10, 25, 9, 30)));
    assert_eq!(
        due.unwrap().to_datetime().to_rfc3339(),
        "2026-10-25T08:30:00+00:00"
    );
    let night = hours(BERLIN, EVERY_DAY, 60, 4 * 60, &[]);
    let day = (berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0));
    assert_eq!(
        night.open_secs(day.0, day.1),
        4 * 3600,
        "01:00–04:00 is four hours"
    );
    // New York's change is a week later: a pod there follows its own.
    let ny = chrono_tz::America::New_York;
    let h = hours(ny, MON_FRI, 9 * 60, 17 * 60, &[]);
    let due = p.due_in(local(ny, 2026, 10, 30, 16, 30), 3600, Some(&h));
    assert_eq!(due, Some(local(ny, 2026, 11, 2, 9, 30)));
    assert_eq!(
        due.unwrap().to_datetime().to_rfc3339(),
        "2026-11-02T14:30:00+00:00"
    );
}

#[test]
fn waiting_on_the_customer_and_the_pod_being_closed_both_stop_the_clock() {
    let h = berlin_office();
    let mut p = Pauses::default();
    // Friday 17:00, a 1h target: 17:00–17:30 runs, waiting from 17:30 to Monday 09:30,
    // then the remaining half hour.
    let from = berlin(2026, 12, 4, 17, 0);
    p.start(berlin(2026, 12, 4, 17, 30));
    assert_eq!(
        p.due_in(from, 3600, Some(&h)),
        None,
        "stopped while waiting"
    );
    p.stop(berlin(2026, 12, 7, 9, 30));
    assert_eq!(
        p.due_in(from, 3600, Some(&h)),
        Some(berlin(2026, 12, 7, 10, 0))
    );
    assert_eq!(
        p.running_within_in(from, berlin(2026, 12, 7, 10, 0), Some(&h)),
        3600
    );
    // A wait that ends while the pod is closed: the clock resumes at opening.
    let mut p = Pauses::default();
    p.start(berlin(2026, 12, 4, 17, 30));
    p.stop(berlin(2026, 12, 5, 11, 0));
    assert_eq!(
        p.due_in(from, 3600, Some(&h)),
        Some(berlin(2026, 12, 7, 9, 30))
    );
}

fn reply_by(root: Ts, at: Ts, user: &str) -> Input {
    Input::Message(Msg {
        channel: API.into(),
        ts: at,
        thread_ts: Some(root),
        author: Author::Person(user.into()),
        text: "an answer".into(),
        block_texts: vec![],
        marker: None,
        edited: None,
        reactions: vec![],
        latest_reply: None,
    })
}

#[test]
fn a_response_owed_since_saturday_is_due_in_monday_business_time() {
    // A typed request: its poster is the requester, whose Saturday reply is owed an answer.
    let opened = berlin(2026, 12, 3, 10, 0);
    let mut d = desk(Some(berlin_office()));
    let root = Msg {
        channel: API.into(),
        ts: opened,
        thread_ts: None,
        author: Author::Person("U0REQ00001".into()),
        text: "Case: 5\nUrgency: Sev 3\nSubject: Export fails".into(),
        block_texts: vec![],
        marker: None,
        edited: None,
        reactions: vec![],
        latest_reply: None,
    };
    d.apply(Input::Message(root), opened);
    let answered = berlin(2026, 12, 3, 10, 5);
    d.apply(reply_by(opened, answered, EXPERT), answered);
    let saturday = berlin(2026, 12, 5, 11, 0);
    d.apply(reply_by(opened, saturday, "U0REQ00001"), saturday);
    let s = d.swarm(API, opened).unwrap();
    assert_eq!(s.needs_response_since, Some(saturday));
    let next = s.next_clock.unwrap();
    assert!(matches!(next.clock, Clock::NextResponse { .. }));
    assert_eq!(
        next.due,
        Some(berlin(2026, 12, 7, 10, 0)),
        "an hour from Monday 09:00"
    );
    assert!(breaches(&mut d, berlin(2026, 12, 7, 9, 59)).is_empty());
}

#[test]
fn a_premier_request_gets_the_premier_target() {
    let opened = berlin(2026, 12, 2, 10, 0);
    let mut d = desk(Some(berlin_office()));
    d.apply(request(opened, "10", "Sev 1", Some("Premier")), opened);
    let later = opened.plus_secs(1);
    d.apply(request(later, "11", "Sev 1", Some("Standard")), later);
    let premier = d.swarm(API, opened).unwrap();
    assert_eq!(premier.request.tier.as_deref(), Some("premier"));
    assert_eq!(premier.next_clock.unwrap().target, 5 * 60);
    let standard = d.swarm(API, later).unwrap();
    assert_eq!(standard.request.tier.as_deref(), Some("standard"));
    assert_eq!(standard.next_clock.unwrap().target, 15 * 60, "the pod's");
    let policy = &d.pod(API).unwrap().sla;
    assert_eq!(
        policy
            .applied(Urgency::Sev1, premier.request.tier.as_deref())
            .label(),
        "premier · sev1 · 24/7"
    );
    assert_eq!(
        policy.applied(Urgency::Sev3, Some("premier")).label(),
        "premier · sev3 · business hours Europe/Berlin"
    );
    assert_eq!(
        policy.applied(Urgency::Sev3, Some("standard")).label(),
        "default · sev3 · business hours Europe/Berlin"
    );
    // The premier Sev3's 20 minutes are business minutes too.
    let fri = berlin(2026, 12, 4, 17, 50);
    d.apply(request(fri, "12", "Sev 3", Some("Premier")), fri);
    assert_eq!(
        d.swarm(API, fri).unwrap().next_clock.unwrap().due,
        Some(berlin(2026, 12, 7, 9, 10))
    );
}

#[test]
fn metrics_measure_wall_and_business_time() {
    let opened = berlin(2026, 12, 4, 17, 50);
    let mut d = desk(Some(berlin_office()));
    d.apply(request(opened, "27343", "Sev 3", None), opened);
    let answered = berlin(2026, 12, 7, 9, 20);
    let reply = Msg {
        channel: API.into(),
        ts: answered,
        thread_ts: Some(opened),
        author: Author::Person(EXPERT.into()),
        text: "looking".into(),
        block_texts: vec![],
        marker: None,
        edited: None,
        reactions: vec![],
        latest_reply: None,
    };
    d.apply(Input::Message(reply), answered);
    let r = swarmdeck::domain::metrics::report(
        d.swarms(),
        |s| &d.pod(&s.channel).unwrap().sla,
        &["api".to_string()],
        opened.plus_secs(-60),
        answered,
        chrono::FixedOffset::east_opt(0).unwrap(),
    );
    let m = &r.overall;
    assert_eq!(m.first_response_p50_s, Some(answered.secs_since(opened)));
    assert_eq!(
        m.first_response_business_p50_s,
        Some(30 * 60),
        "10 min Friday, 20 Monday"
    );
}

// ---- properties, across DST changes and midnight ----

/// An instant within two weeks of a DST change in Berlin or New York (spring, autumn).
fn an_instant() -> impl Strategy<Value = Ts> {
    let starts = [
        berlin(2026, 3, 22, 0, 0),
        berlin(2026, 10, 18, 0, 0),
        local(chrono_tz::America::New_York, 2026, 3, 1, 0, 0),
        local(chrono_tz::America::New_York, 2026, 10, 25, 0, 0),
    ];
    (0..starts.len(), 0i64..14 * 86_400).prop_map(move |(i, s)| starts[i].plus_secs(s))
}

/// Hours in Berlin or New York, open on some days, any half-hour opening and closing
/// (24:00 included, and times in the DST gap and overlap).
fn some_hours() -> impl Strategy<Value = Hours> {
    (
        any::<bool>(),
        prop::array::uniform7(any::<bool>()),
        0u32..48,
        1u32..=48,
        any::<bool>(),
    )
        .prop_filter_map("an open day", |(ny, days, open, len, holiday)| {
            let tz = if ny {
                chrono_tz::America::New_York
            } else {
                BERLIN
            };
            let (open, close) = (open * 30, (open * 30 + len * 30).min(1440));
            let holidays: &[&str] = if holiday {
                &["2026-03-29", "2026-10-25", "2026-11-01"]
            } else {
                &[]
            };
            (days.iter().any(|d| *d) && open < close).then(|| {
                let mut week = [None; 7];
                for (i, d) in days.iter().enumerate() {
                    if *d {
                        week[i] = Some((open, close));
                    }
                }
                let holidays = holidays.iter().map(|h| h.parse().unwrap()).collect();
                Hours::new(tz, week, holidays).unwrap()
            })
        })
}

proptest! {
    /// The open seconds between `a` and `b`, added to `a`, give back `b`'s business
    /// instant: the last moment at or before `b` with as much open time since `a`.
    #[test]
    fn open_time_added_back_gives_the_same_business_instant(
        h in some_hours(), a in an_instant(), span in 0i64..10 * 86_400,
    ) {
        let b = a.plus_secs(span);
        let secs = h.open_secs(a, b);
        let back = h.add(a, secs).expect("within the horizon");
        prop_assert!(back >= a && back <= b);
        prop_assert_eq!(h.open_secs(a, back), secs);
        prop_assert_eq!(h.open_secs(back, b), 0, "no open time between");
        // Inside an open stretch (not at its opening, where the last close counts as
        // much), that instant is `b` itself.
        if h.is_open(b) && h.is_open(b.plus_secs(-1)) && secs > 0 {
            prop_assert_eq!(back, b);
        }
    }

    /// Open time adds up over consecutive stretches, never exceeds the wall time, and
    /// counts each open second once however the day boundaries fall.
    #[test]
    fn open_time_adds_up(h in some_hours(), a in an_instant(), x in 0i64..5 * 86_400, y in 0i64..5 * 86_400) {
        let (b, c) = (a.plus_secs(x), a.plus_secs(x + y));
        prop_assert_eq!(h.open_secs(a, b) + h.open_secs(b, c), h.open_secs(a, c));
        prop_assert!(h.open_secs(a, c) <= x + y);
    }

    /// Due is monotonic in the target, and exactly `target` business seconds of support
    /// time (not waiting, open) run from the start to it, pauses or not.
    #[test]
    fn due_is_monotonic_and_uses_up_exactly_the_target(
        h in some_hours(), from in an_instant(),
        t1 in 0i64..3 * 86_400, t2 in 0i64..3 * 86_400,
        pause in proptest::option::of((0i64..4 * 86_400, 0i64..2 * 86_400)),
    ) {
        let mut p = Pauses::default();
        if let Some((start, len)) = pause {
            p.start(from.plus_secs(start));
            p.stop(from.plus_secs(start + len));
        }
        let (lo, hi) = (t1.min(t2), t1.max(t2));
        let (d1, d2) = (p.due_in(from, lo, Some(&h)), p.due_in(from, hi, Some(&h)));
        let (d1, d2) = (d1.expect("a closed pause"), d2.expect("a closed pause"));
        prop_assert!(d1 <= d2);
        prop_assert_eq!(p.running_within_in(from, d2, Some(&h)), hi);
        // Without hours, the 24/7 clock of before.
        prop_assert_eq!(p.due_in(from, hi, None), p.due(from, hi));
    }

    /// Midnight is nothing special: open all day every day is the wall clock.
    #[test]
    fn open_around_the_clock_is_wall_time(a in an_instant(), span in 0i64..10 * 86_400, ny in any::<bool>()) {
        let tz = if ny { chrono_tz::America::New_York } else { BERLIN };
        let h = hours(tz, EVERY_DAY, 0, 1440, &[]);
        prop_assert_eq!(h.open_secs(a, a.plus_secs(span)), span);
        prop_assert_eq!(h.add(a, span), Some(a.plus_secs(span)));
    }
}
