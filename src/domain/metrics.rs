//! What swarming is measured by: time to first response, to assignment and to
//! resolution, support versus customer time, same-day resolution and days to close,
//! with medians and p90, per pod and overall. One set of definitions for the live view
//! (`m`) and `swarmdeck report`.

use super::Ts;
use super::desk::Desk;
use super::swarm::Swarm;
use super::timers::SlaPolicy;
use chrono::FixedOffset;
use std::ops::RangeBounds;

const DAY: i64 = 86_400;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub opened: usize,
    pub resolved: usize,
    /// Of the swarms opened in the window, those open now.
    pub open: usize,
    /// Of the resolved swarms, the share resolved on the day they were opened. Kept as
    /// it was for the `same_day_rate` key of `report --format json|csv`, which scripts
    /// read; what the lead is shown is [`Metrics::same_day`].
    pub same_day_rate: Option<f64>,
    /// Resolved the day opened, of the swarms opened on days that are over.
    pub same_day: SameDay,
    pub first_response_p50_s: Option<i64>,
    pub first_response_p90_s: Option<i64>,
    pub assignment_p50_s: Option<i64>,
    pub assignment_p90_s: Option<i64>,
    pub resolution_p50_s: Option<i64>,
    pub resolution_p90_s: Option<i64>,
    /// The same in business time: the pod's open hours only, for the urgencies whose
    /// clocks follow them (the wall figure otherwise; equal to it with no hours).
    pub first_response_business_p50_s: Option<i64>,
    pub first_response_business_p90_s: Option<i64>,
    pub resolution_business_p50_s: Option<i64>,
    pub resolution_business_p90_s: Option<i64>,
    /// Summed over the swarms, up to their resolution or now: the time the swarm was
    /// with support, and the time it waited on the customer (`w`).
    pub support_time_s: i64,
    pub customer_time_s: i64,
    /// Mean days from request to resolution, over resolved swarms.
    pub days_to_close: Option<f64>,
    /// SLA clocks that ran past their target.
    pub breaches: usize,
    /// The same, by the swarm's urgency (sev1 first).
    pub breaches_by_urgency: [usize; 4],
    /// Swarms promoted to an incident channel.
    pub promotions: usize,
    /// Experts by swarms they helped (assigned, or replied other than as requester),
    /// most first.
    pub experts: Vec<(String, usize)>,
    /// Swarms linked (`L`) as duplicates of another: counted here, and nowhere else, so
    /// that a problem is one swarm opened and resolved however many times it was asked.
    pub duplicates: usize,
}

/// The same-day rate: of the swarms opened on a day that is over (local midnight has
/// passed, so whether they closed that day is settled), the share resolved that day.
/// Swarms still open count against it; a swarm opened today counts only in today's
/// "so far" figure, never in a window of whole days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SameDay {
    pub opened: usize,
    pub resolved: usize,
}

impl SameDay {
    pub fn rate(self) -> Option<f64> {
        (self.opened > 0).then(|| self.resolved as f64 / self.opened as f64)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PodMetrics {
    pub pod: String,
    pub metrics: Metrics,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub since: Ts,
    pub overall: Metrics,
    pub pods: Vec<PodMetrics>,
}

/// Metrics over the swarms opened since `since`, as of `now`. `pods` lists the pods to
/// report (each gets a row, even an idle one); `day` is the offset that decides what
/// "the same day" means for the pod's team. The same-day rate counts the swarms opened
/// before today's local midnight.
pub fn report<'a>(
    swarms: impl IntoIterator<Item = &'a Swarm>,
    sla: impl Fn(&Swarm) -> &'a SlaPolicy,
    pods: &[String],
    since: Ts,
    now: Ts,
    day: FixedOffset,
) -> Report {
    let swarms: Vec<&Swarm> = swarms.into_iter().collect();
    let rules = Rules {
        now,
        day,
        days_over_before: Some(local_midnight(now, day)),
    };
    window(&swarms, &sla, pods, since..=now, rules)
}

/// The live view's figures: today so far, and the seven whole days before it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Live {
    /// From local midnight to now. Its same-day rate is the rate so far: of today's
    /// intake, the share already resolved (it can only rise until midnight).
    pub(crate) today: Report,
    /// The seven local days before today, whole days only, so that every figure in it,
    /// the same-day rate included, is over the same settled intake.
    pub(crate) week: Report,
    /// Intake per local day, oldest first: the seven days of `week`, then today.
    pub(crate) per_day: [usize; 8],
    /// Intake per hour over the last 24 hours, oldest first (the last is this hour).
    pub(crate) per_hour: [u64; 24],
}

/// The live view's figures for the desk as of `now`; `today` is the lead's local
/// midnight and `day` its UTC offset (the ui's clock reads them, not the domain).
pub(crate) fn live(desk: &Desk, now: Ts, today: Ts, day: FixedOffset) -> Live {
    let swarms: Vec<&Swarm> = desk.swarms().collect();
    let sla = |s: &Swarm| desk.pod(&s.channel).map_or(&*DEFAULT_SLA, |p| &p.sla);
    let pods: Vec<String> = desk.pods().map(|p| p.name.clone()).collect();
    let week_start = today.plus_secs(-7 * DAY);
    let today_report = window(
        &swarms,
        &sla,
        &pods,
        today..=now,
        Rules {
            now,
            day,
            days_over_before: None,
        },
    );
    let week = window(
        &swarms,
        &sla,
        &pods,
        week_start..today,
        Rules {
            now,
            day,
            days_over_before: Some(today),
        },
    );
    let mut per_day = [0; 8];
    let mut per_hour = [0; 24];
    for s in &swarms {
        if (week_start..=now).contains(&s.opened_at) {
            let d = s.opened_at.secs_since(week_start).div_euclid(DAY);
            per_day[d.min(7) as usize] += 1;
        }
        let ago = now.secs_since(s.opened_at);
        if (0..24 * 3600).contains(&ago) {
            per_hour[23 - (ago / 3600) as usize] += 1;
        }
    }
    Live {
        today: today_report,
        week,
        per_day,
        per_hour,
    }
}

/// Local midnight of the day `now` falls on, in the offset `day`.
pub(crate) fn local_midnight(now: Ts, day: FixedOffset) -> Ts {
    let offset = i64::from(day.local_minus_utc());
    let local = now.secs() + offset;
    Ts::from_secs(local - local.rem_euclid(DAY) - offset)
}

/// What a window's figures are measured against.
#[derive(Clone, Copy)]
struct Rules {
    now: Ts,
    /// The offset whose calendar decides "the same day".
    day: FixedOffset,
    /// The same-day rate counts the swarms opened before this midnight (their day is
    /// over); `None`: all of them, for today's rate so far.
    days_over_before: Option<Ts>,
}

fn window<'a>(
    swarms: &[&'a Swarm],
    sla: &impl Fn(&Swarm) -> &'a SlaPolicy,
    pods: &[String],
    opened: impl RangeBounds<Ts>,
    rules: Rules,
) -> Report {
    let since = match opened.start_bound() {
        std::ops::Bound::Included(t) | std::ops::Bound::Excluded(t) => *t,
        std::ops::Bound::Unbounded => Ts(i64::MIN),
    };
    let swarms: Vec<&Swarm> = swarms
        .iter()
        .copied()
        .filter(|s| opened.contains(&s.opened_at))
        .collect();
    let overall = measure(&swarms, sla, rules);
    let mut names: Vec<String> = pods.to_vec();
    for s in &swarms {
        if !names.contains(&s.pod) {
            names.push(s.pod.clone());
        }
    }
    let pods = names
        .into_iter()
        .map(|pod| {
            let of_pod: Vec<&Swarm> = swarms.iter().copied().filter(|s| s.pod == pod).collect();
            PodMetrics {
                metrics: measure(&of_pod, sla, rules),
                pod,
            }
        })
        .collect();
    Report {
        since,
        overall,
        pods,
    }
}

fn measure<'a>(
    swarms: &[&'a Swarm],
    sla: &impl Fn(&Swarm) -> &'a SlaPolicy,
    rules: Rules,
) -> Metrics {
    let Rules {
        now,
        day,
        days_over_before,
    } = rules;
    let (linked, swarms): (Vec<&Swarm>, Vec<&Swarm>) =
        swarms.iter().partition(|s| s.linked_to.is_some());
    let swarms = &swarms[..];
    let local = |ts: Ts| ts.to_datetime().with_timezone(&day).date_naive();
    let mut first = Vec::new();
    let mut assign = Vec::new();
    let mut resolve = Vec::new();
    let (mut first_business, mut resolve_business) = (Vec::new(), Vec::new());
    let mut m = Metrics {
        opened: swarms.len(),
        duplicates: linked.len(),
        ..Metrics::default()
    };
    // Whole seconds, summed as integers: the desk's order is a hash map's, and a float
    // sum would differ in its last bit from one run to the next.
    let (mut same_day, mut close_secs) = (0usize, 0i64);
    let mut experts: std::collections::HashMap<String, usize> = Default::default();
    for s in swarms {
        if let Some(t) = s.first_response_at {
            let (wall, business) = s.wall_and_business_secs(sla(s), t);
            first.push(wall);
            first_business.push(business);
        }
        if let Some(t) = s.assigned_at {
            assign.push(t.secs_since(s.opened_at));
        }
        let closed_that_day = s
            .resolved_at
            .is_some_and(|t| local(t) == local(s.opened_at));
        if days_over_before.is_none_or(|midnight| s.opened_at < midnight) {
            m.same_day.opened += 1;
            m.same_day.resolved += usize::from(closed_that_day);
        }
        match s.resolved_at {
            Some(t) => {
                m.resolved += 1;
                let (secs, business) = s.wall_and_business_secs(sla(s), t);
                resolve.push(secs);
                resolve_business.push(business);
                close_secs += secs;
                same_day += usize::from(closed_that_day);
            }
            None => m.open += 1,
        }
        let (support, customer) = s.support_and_customer_secs(now);
        m.support_time_s += support;
        m.customer_time_s += customer;
        let breaches = s.breaches(sla(s), now);
        m.breaches += breaches;
        m.breaches_by_urgency[s.urgency() as usize] += breaches;
        if s.incident.is_some() {
            m.promotions += 1;
        }
        let mut helped: Vec<&String> = s.experts.iter().collect();
        for p in &s.participants {
            if Some(p.as_str()) != s.requester() && !helped.contains(&p) {
                helped.push(p);
            }
        }
        for e in helped {
            *experts.entry(e.clone()).or_insert(0) += 1;
        }
    }
    m.experts = experts.into_iter().collect();
    m.experts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if m.resolved > 0 {
        m.same_day_rate = Some(same_day as f64 / m.resolved as f64);
        m.days_to_close = Some(close_secs as f64 / m.resolved as f64 / DAY as f64);
    }
    (m.first_response_p50_s, m.first_response_p90_s) =
        (percentile(&mut first, 50), percentile(&mut first, 90));
    (m.assignment_p50_s, m.assignment_p90_s) =
        (percentile(&mut assign, 50), percentile(&mut assign, 90));
    (m.resolution_p50_s, m.resolution_p90_s) =
        (percentile(&mut resolve, 50), percentile(&mut resolve, 90));
    (
        m.first_response_business_p50_s,
        m.first_response_business_p90_s,
    ) = (
        percentile(&mut first_business, 50),
        percentile(&mut first_business, 90),
    );
    (m.resolution_business_p50_s, m.resolution_business_p90_s) = (
        percentile(&mut resolve_business, 50),
        percentile(&mut resolve_business, 90),
    );
    m
}

/// Nearest-rank percentile: the smallest value with at least `p`% of values at or below it.
pub fn percentile(values: &mut [i64], p: u32) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = (p as usize * values.len()).div_ceil(100).max(1);
    Some(values[rank - 1])
}

/// For a swarm whose pod the desk no longer lists (it cannot happen today; a default
/// beats a panic in a view).
static DEFAULT_SLA: std::sync::LazyLock<SlaPolicy> = std::sync::LazyLock::new(SlaPolicy::default);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Author, DeskConfig, Input, Marker, MarkerKind, Msg, Pod};

    const API: &str = "C0SWARMAPI";
    const BILLING: &str = "C0SWARMBIL";
    const HOUR: i64 = 3_600;

    /// The lead's zone: two hours east of UTC, so that a swarm opened at 23:00 and
    /// resolved at 01:00 is the same day in UTC but not for the team.
    fn zone() -> FixedOffset {
        FixedOffset::east_opt(2 * 3_600).unwrap()
    }

    /// Local midnight of "today": 2026-11-23 00:00 +02:00 (22:00 UTC the day before).
    fn today() -> Ts {
        Ts::from_secs(1_795_384_800)
    }

    /// `days` before today (0 = today) at local `hour`:`min`.
    fn at(days: i64, hour: i64, min: i64) -> Ts {
        today().plus_secs(-days * DAY + hour * HOUR + min * 60)
    }

    fn msg(channel: &str, ts: Ts, thread: Option<Ts>, author: Author, text: &str) -> Msg {
        Msg {
            channel: channel.into(),
            ts,
            thread_ts: thread,
            author,
            text: text.into(),
            block_texts: vec![],
            marker: None,
            edited: None,
            reactions: vec![],
            latest_reply: None,
        }
    }

    /// A swarm as a desk sees it: the request, then (seconds after it opened) a first
    /// response, waiting on the customer from/to, and a resolution.
    struct Case {
        channel: &'static str,
        opened: Ts,
        answered: Option<i64>,
        waiting: Option<(i64, i64)>,
        resolved: Option<i64>,
    }

    fn desk(cases: &[Case]) -> Desk {
        let mut desk = Desk::new(
            DeskConfig::default(),
            [
                Pod::discovered(API, "swarm-api"),
                Pod::discovered(BILLING, "swarm-billing"),
            ],
        );
        for (n, c) in cases.iter().enumerate() {
            let root = c.opened;
            let mut inputs = vec![msg(
                c.channel,
                root,
                None,
                Author::Bot {
                    bot_id: Some("B0WORKFLOW".into()),
                },
                &format!("Case: {}\nUrgency: Sev 3\nSubject: case {n}", 1000 + n),
            )];
            let marker = |secs: i64, kind: MarkerKind| {
                let mut m = msg(c.channel, root.plus_secs(secs), Some(root), Author::Us, "");
                m.marker = Some(Marker { lead: None, kind });
                m
            };
            if let Some(secs) = c.answered {
                inputs.push(msg(
                    c.channel,
                    root.plus_secs(secs),
                    Some(root),
                    Author::Person("U0EXP00001".into()),
                    "looking",
                ));
            }
            if let Some((from, to)) = c.waiting {
                inputs.push(marker(from, MarkerKind::Waiting { on: true }));
                inputs.push(marker(to, MarkerKind::Waiting { on: false }));
            }
            if let Some(secs) = c.resolved {
                inputs.push(marker(
                    secs,
                    MarkerKind::Resolved {
                        resolution: "done".into(),
                    },
                ));
            }
            for m in inputs {
                let ts = m.ts;
                desk.apply(Input::Message(m), ts);
            }
        }
        desk
    }

    fn case(channel: &'static str, opened: Ts) -> Case {
        Case {
            channel,
            opened,
            answered: None,
            waiting: None,
            resolved: None,
        }
    }

    /// Now: today 10:00 local.
    fn now() -> Ts {
        at(0, 10, 0)
    }

    /// Nine swarms over nine days (times local, offsets from the request):
    /// - E api, 8 days ago 09:00: outside every window.
    /// - F api, 7 days ago 00:00, the first instant of the week: answered +30m, resolved
    ///   +1h, the same day.
    /// - A api, 6 days ago 09:00: answered +10m, waiting on the customer +30m..+1h,
    ///   resolved +2h, the same day.
    /// - B api, 3 days ago 23:00: answered +20m, resolved +2h at 01:00, the next day
    ///   (the same day in UTC).
    /// - C billing, 2 days ago 10:00: answered +1h, still open.
    /// - D billing, yesterday 15:00: answered +5m, waiting +1h..+16h, resolved +18h
    ///   (today 09:00).
    /// - G api, today 08:00: answered +15m, resolved +45m.
    /// - H api, today 09:00: nothing yet.
    /// - I billing, today 09:30: answered +2m.
    fn history() -> Desk {
        desk(&[
            Case {
                answered: Some(1_800),
                resolved: Some(HOUR),
                ..case(API, at(8, 9, 0))
            },
            Case {
                answered: Some(1_800),
                resolved: Some(HOUR),
                ..case(API, at(7, 0, 0))
            },
            Case {
                answered: Some(600),
                waiting: Some((1_800, HOUR)),
                resolved: Some(2 * HOUR),
                ..case(API, at(6, 9, 0))
            },
            Case {
                answered: Some(1_200),
                resolved: Some(2 * HOUR),
                ..case(API, at(3, 23, 0))
            },
            Case {
                answered: Some(HOUR),
                ..case(BILLING, at(2, 10, 0))
            },
            Case {
                answered: Some(300),
                waiting: Some((HOUR, 16 * HOUR)),
                resolved: Some(18 * HOUR),
                ..case(BILLING, at(1, 15, 0))
            },
            // Today.
            Case {
                answered: Some(900),
                resolved: Some(2_700),
                ..case(API, at(0, 8, 0))
            },
            case(API, at(0, 9, 0)),
            Case {
                answered: Some(120),
                ..case(BILLING, at(0, 9, 30))
            },
        ])
    }

    fn pod<'a>(r: &'a Report, name: &str) -> &'a Metrics {
        &r.pods
            .iter()
            .find(|p| p.pod == name)
            .expect("a pod row")
            .metrics
    }

    /// The figures of one row, in the order the view shows them.
    #[derive(Debug, PartialEq)]
    struct Row {
        opened: usize,
        open: usize,
        first: (Option<i64>, Option<i64>),
        resolution: (Option<i64>, Option<i64>),
        support_customer: (i64, i64),
        /// Days to close in seconds (exact where the mean of days is not).
        close_s: Option<i64>,
        same_day: SameDay,
    }

    fn row(m: &Metrics) -> Row {
        Row {
            opened: m.opened,
            open: m.open,
            first: (m.first_response_p50_s, m.first_response_p90_s),
            resolution: (m.resolution_p50_s, m.resolution_p90_s),
            support_customer: (m.support_time_s, m.customer_time_s),
            close_s: m.days_to_close.map(|d| (d * DAY as f64).round() as i64),
            same_day: m.same_day,
        }
    }

    fn same_day(opened: usize, resolved: usize) -> SameDay {
        SameDay { opened, resolved }
    }

    #[test]
    fn local_midnight_in_the_leads_zone() {
        assert_eq!(local_midnight(now(), zone()), today());
        assert_eq!(
            local_midnight(today(), zone()),
            today(),
            "midnight is its own day"
        );
        // 01:00 UTC is 22:00 the day before, three hours west.
        let west = FixedOffset::west_opt(3 * 3_600).unwrap();
        let utc_1am = Ts::from_secs(1_795_392_000 + 3_600);
        assert_eq!(
            local_midnight(utc_1am, west),
            Ts::from_secs(1_795_392_000 - DAY + 3 * 3_600)
        );
    }

    #[test]
    fn the_week_is_the_seven_whole_days_before_today() {
        let live = live(&history(), now(), today(), zone());
        let w = &live.week;
        assert_eq!(w.since, at(7, 0, 0));
        assert_eq!(
            row(&w.overall),
            Row {
                opened: 5, // F A B C D
                open: 1,   // C
                // 300 600 1200 1800 3600: ranks 3 and 5.
                first: (Some(1_200), Some(3_600)),
                // 3600 7200 7200 64800: ranks 2 and 4.
                resolution: (Some(7_200), Some(64_800)),
                // support F 3600 + A 5400 + B 7200 + C 2 days to now + D 10800;
                // customer A 1800 + D 15 h.
                support_customer: (199_800, 55_800),
                close_s: Some(82_800 / 4),
                // F and A; B closed after midnight, C is open, D closed the next day.
                same_day: same_day(5, 2),
            }
        );
        assert_eq!(w.overall.same_day.rate(), Some(0.4));
        assert_eq!(w.overall.same_day_rate, Some(0.5), "report's: of resolved");
        assert_eq!(
            row(pod(w, "api")),
            Row {
                opened: 3,
                open: 0,
                first: (Some(1_200), Some(1_800)),
                resolution: (Some(7_200), Some(7_200)),
                support_customer: (16_200, 1_800),
                close_s: Some(6_000),
                same_day: same_day(3, 2),
            }
        );
        assert_eq!(
            row(pod(w, "billing")),
            Row {
                opened: 2,
                open: 1,
                first: (Some(300), Some(3_600)),
                resolution: (Some(64_800), Some(64_800)),
                support_customer: (183_600, 54_000),
                close_s: Some(64_800),
                same_day: same_day(2, 0),
            }
        );
        assert_eq!(pod(w, "billing").same_day.rate(), Some(0.0));
        assert_eq!(pod(w, "billing").days_to_close, Some(0.75));
    }

    #[test]
    fn today_so_far_counts_its_own_intake() {
        let live = live(&history(), now(), today(), zone());
        let t = &live.today;
        assert_eq!(t.since, today());
        assert_eq!(
            row(&t.overall),
            Row {
                opened: 3, // G H I
                open: 2,
                first: (Some(120), Some(900)),
                resolution: (Some(2_700), Some(2_700)),
                support_customer: (2_700 + 3_600 + 1_800, 0),
                close_s: Some(2_700),
                // The rate so far: G of G H I.
                same_day: same_day(3, 1),
            }
        );
        assert_eq!(
            row(pod(t, "api")),
            Row {
                opened: 2,
                open: 1,
                first: (Some(900), Some(900)),
                resolution: (Some(2_700), Some(2_700)),
                support_customer: (6_300, 0),
                close_s: Some(2_700),
                same_day: same_day(2, 1),
            }
        );
        assert_eq!(
            row(pod(t, "billing")),
            Row {
                opened: 1,
                open: 1,
                first: (Some(120), Some(120)),
                resolution: (None, None),
                support_customer: (1_800, 0),
                close_s: None,
                same_day: same_day(1, 0),
            }
        );
    }

    #[test]
    fn intake_per_day_and_per_hour() {
        let live = live(&history(), now(), today(), zone());
        // D-7 F, D-6 A, D-3 B, D-2 C, D-1 D, today G H I; E is older.
        assert_eq!(live.per_day, [1, 1, 0, 0, 1, 1, 1, 3]);
        let mut hours = [0; 24];
        // D 19 h ago, G 2 h, H 1 h, I half an hour.
        for i in [4, 21, 22, 23] {
            hours[i] = 1;
        }
        assert_eq!(live.per_hour, hours);
    }

    #[test]
    fn the_same_day_follows_the_leads_calendar() {
        // In UTC, B (21:00 to 23:00 UTC) closed the day it opened; the week starts at
        // 00:00 UTC, two hours after F opened, so F falls out of it.
        let utc = FixedOffset::east_opt(0).unwrap();
        let live = live(&history(), now(), local_midnight(now(), utc), utc);
        assert_eq!(pod(&live.week, "api").same_day, same_day(2, 2));
        assert_eq!(live.week.overall.same_day, same_day(4, 2));
    }

    #[test]
    fn the_report_shares_the_definitions_and_leaves_today_out_of_the_rate() {
        let desk = history();
        let pods = vec!["api".to_string(), "billing".to_string()];
        let sla = SlaPolicy::default();
        let r = report(desk.swarms(), |_| &sla, &pods, at(7, 0, 0), now(), zone());
        let o = &r.overall;
        assert_eq!((o.opened, o.resolved, o.open), (8, 5, 3));
        // Today's G H I are in every other figure, not in the rate of settled days.
        assert_eq!(o.same_day, same_day(5, 2));
        assert_eq!(o.same_day_rate, Some(3.0 / 5.0), "F A G of F A B D G");
        assert_eq!(o.support_time_s, 199_800 + 8_100);
        assert_eq!(o.customer_time_s, 55_800);
        assert_eq!(o.days_to_close, Some(85_500.0 / 5.0 / DAY as f64));
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&mut [], 50), None);
        assert_eq!(percentile(&mut [7], 90), Some(7));
        let mut v: Vec<i64> = (1..=10).rev().collect();
        assert_eq!(percentile(&mut v, 50), Some(5));
        assert_eq!(percentile(&mut v, 90), Some(9));
        assert_eq!(percentile(&mut v, 100), Some(10));
    }
}
