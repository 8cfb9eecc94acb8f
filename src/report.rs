//! `swarmdeck report`: what pods are judged on, from the local history (no Slack call):
//! per pod and overall, swarms opened and resolved, medians and p90s of first response,
//! assignment and resolution, same-day rate, days to close, breaches by urgency,
//! support versus customer time, promotions and the experts who helped (by name where
//! the store has kept one). The definitions are `domain::metrics`', shared with the
//! live view.

use crate::config::Settings;
use crate::domain::metrics::{Metrics, Report, report};
use crate::domain::{Desk, Input, Ts, Urgency};
use crate::session::{Replay, restore};
use crate::store::Store;
use chrono::{Local, Offset, Utc};
use color_eyre::eyre::{Result, bail};
use serde_json::{Value, json};
use std::fmt::Write as _;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

pub struct ReportOptions {
    pub since: std::time::Duration,
    pub pod: Option<String>,
    pub format: Format,
}

/// The report as text, ready to print.
pub fn run(settings: &Settings, options: &ReportOptions) -> Result<String> {
    let store = Store::open(&settings.data_dir)?;
    let now = Ts::from_datetime(Utc::now());
    let Some(restored) = restore(settings, &store, now, Replay::State)? else {
        // Say where it looked: a lead fresh from the demo expects its swarms here.
        bail!(
            "no history in {} yet: run `swarmdeck` (or `swarmdeck tail`) against Slack first, then report\n\
             `swarmdeck demo` keeps its history in a temporary store, gone when it ends, \
             unless given --data-dir DIR (then: swarmdeck report --data-dir DIR)",
            settings.data_dir.display()
        );
    };
    let mut desk = restored.desk;
    // Names are not in the events: the dashboard keeps what users.list and user_change
    // told it, and without them the experts would be user ids.
    for (user, name) in store.people()? {
        desk.apply(Input::UserNamed { user, name }, now);
    }
    let since = now.plus_secs(-(options.since.as_secs() as i64));
    let mut pods: Vec<String> = desk.pods().map(|p| p.name.clone()).collect();
    if let Some(wanted) = &options.pod {
        if !pods.contains(wanted) {
            bail!("no pod named `{wanted}`; the pods are: {}", pods.join(", "));
        }
        pods.retain(|p| p == wanted);
    }
    let swarms = desk
        .swarms()
        .filter(|s| options.pod.as_ref().is_none_or(|p| *p == s.pod));
    let sla = |s: &crate::domain::Swarm| &desk.pod(&s.channel).expect("a swarm's pod").sla;
    let r = report(swarms, sla, &pods, since, now, Local::now().offset().fix());
    Ok(match options.format {
        Format::Json => format!("{:#}\n", to_json(&r, &desk)),
        Format::Csv => to_csv(&r),
        Format::Table => to_table(&r, &desk),
    })
}

fn metrics_json(m: &Metrics, desk: &Desk) -> Value {
    let by_urgency: serde_json::Map<String, Value> = Urgency::ALL
        .iter()
        .map(|u| {
            (
                u.as_str().to_string(),
                json!(m.breaches_by_urgency[*u as usize]),
            )
        })
        .collect();
    json!({
        "opened": m.opened,
        "resolved": m.resolved,
        "open": m.open,
        "same_day_rate": m.same_day_rate,
        "same_day_opened": m.same_day.opened,
        "same_day_resolved": m.same_day.resolved,
        "first_response_p50_s": m.first_response_p50_s,
        "first_response_p90_s": m.first_response_p90_s,
        "assignment_p50_s": m.assignment_p50_s,
        "assignment_p90_s": m.assignment_p90_s,
        "resolution_p50_s": m.resolution_p50_s,
        "resolution_p90_s": m.resolution_p90_s,
        "first_response_business_p50_s": m.first_response_business_p50_s,
        "first_response_business_p90_s": m.first_response_business_p90_s,
        "resolution_business_p50_s": m.resolution_business_p50_s,
        "resolution_business_p90_s": m.resolution_business_p90_s,
        "days_to_close": m.days_to_close,
        "breaches": m.breaches,
        "breaches_by_urgency": by_urgency,
        "support_time_s": m.support_time_s,
        "customer_time_s": m.customer_time_s,
        "promotions": m.promotions,
        "duplicates": m.duplicates,
        "experts": m.experts.iter().map(|(user, n)| json!({
            "expert": user,
            "name": desk.name_of(user),
            "swarms": n,
        })).collect::<Vec<_>>(),
    })
}

fn to_json(r: &Report, desk: &Desk) -> Value {
    let pods: Vec<Value> = r
        .pods
        .iter()
        .map(|p| {
            let mut v = metrics_json(&p.metrics, desk);
            v["pod"] = json!(p.pod);
            v
        })
        .collect();
    json!({
        "since": r.since.to_datetime().to_rfc3339(),
        "overall": metrics_json(&r.overall, desk),
        "pods": pods,
    })
}

const COLUMNS: [&str; 23] = [
    "pod",
    "opened",
    "resolved",
    "open",
    "same_day_rate",
    "first_response_p50_s",
    "first_response_p90_s",
    "assignment_p50_s",
    "assignment_p90_s",
    "resolution_p50_s",
    "resolution_p90_s",
    "first_response_business_p50_s",
    "first_response_business_p90_s",
    "resolution_business_p50_s",
    "resolution_business_p90_s",
    "days_to_close",
    "breaches",
    "support_time_s",
    "customer_time_s",
    "promotions",
    "same_day_opened",
    "same_day_resolved",
    "duplicates",
];

fn cells(pod: &str, m: &Metrics) -> Vec<String> {
    let opt = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    let rate = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
    vec![
        pod.to_string(),
        m.opened.to_string(),
        m.resolved.to_string(),
        m.open.to_string(),
        rate(m.same_day_rate),
        opt(m.first_response_p50_s),
        opt(m.first_response_p90_s),
        opt(m.assignment_p50_s),
        opt(m.assignment_p90_s),
        opt(m.resolution_p50_s),
        opt(m.resolution_p90_s),
        opt(m.first_response_business_p50_s),
        opt(m.first_response_business_p90_s),
        opt(m.resolution_business_p50_s),
        opt(m.resolution_business_p90_s),
        rate(m.days_to_close),
        m.breaches.to_string(),
        m.support_time_s.to_string(),
        m.customer_time_s.to_string(),
        m.promotions.to_string(),
        m.same_day.opened.to_string(),
        m.same_day.resolved.to_string(),
        m.duplicates.to_string(),
    ]
}

fn to_csv(r: &Report) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    let rows = r
        .pods
        .iter()
        .map(|p| cells(&p.pod, &p.metrics))
        .chain([cells("overall", &r.overall)]);
    for row in rows {
        let quoted: Vec<String> = row
            .iter()
            .map(|c| {
                if c.contains([',', '"', '\n']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.clone()
                }
            })
            .collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}

fn human(secs: Option<i64>) -> String {
    secs.map_or("—".into(), crate::columns::duration)
}

fn to_table(r: &Report, desk: &Desk) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "since {}\n",
        r.since.to_datetime().format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(
        out,
        "{:<12} {:>6} {:>8} {:>5} {:>9} {:>13} {:>13} {:>13} {:>8} {:>5} {:>4}",
        "pod",
        "opened",
        "resolved",
        "open",
        "same day",
        "first resp",
        "assignment",
        "resolution",
        "breaches",
        "promo",
        "dups"
    );
    let rows = r
        .pods
        .iter()
        .map(|p| (p.pod.as_str(), &p.metrics))
        .chain([("overall", &r.overall)]);
    for (pod, m) in rows {
        let pair = |a: Option<i64>, b: Option<i64>| format!("{}/{}", human(a), human(b));
        let _ = writeln!(
            out,
            "{:<12} {:>6} {:>8} {:>5} {:>9} {:>13} {:>13} {:>13} {:>8} {:>5} {:>4}",
            crate::columns::fit(pod, 12),
            m.opened,
            m.resolved,
            m.open,
            m.same_day
                .rate()
                .map_or("—".into(), |r| format!("{:.0}%", r * 100.0)),
            pair(m.first_response_p50_s, m.first_response_p90_s),
            pair(m.assignment_p50_s, m.assignment_p90_s),
            pair(m.resolution_p50_s, m.resolution_p90_s),
            m.breaches,
            m.promotions,
            m.duplicates,
        );
    }
    // Business time, once a pod keeps hours (without, it is the wall time above).
    if desk.pods().any(|p| p.sla.hours.is_some()) {
        let _ = writeln!(
            out,
            "\nin business hours (open time only; the times above are wall time)\n{:<12} {:>13} {:>13}",
            "pod", "first resp", "resolution"
        );
        let rows = r
            .pods
            .iter()
            .map(|p| (p.pod.as_str(), &p.metrics))
            .chain([("overall", &r.overall)]);
        for (pod, m) in rows {
            let pair = |a: Option<i64>, b: Option<i64>| format!("{}/{}", human(a), human(b));
            let _ = writeln!(
                out,
                "{:<12} {:>13} {:>13}",
                crate::columns::fit(pod, 12),
                pair(
                    m.first_response_business_p50_s,
                    m.first_response_business_p90_s
                ),
                pair(m.resolution_business_p50_s, m.resolution_business_p90_s),
            );
        }
    }
    let m = &r.overall;
    let _ = writeln!(
        out,
        "\ntimes are p50/p90 · same day: resolved the day opened ÷ opened, over days that are over\nsupport {} vs customer {} · days to close {}",
        crate::columns::duration(m.support_time_s),
        crate::columns::duration(m.customer_time_s),
        m.days_to_close.map_or("—".into(), |d| format!("{d:.1}"))
    );
    if !m.experts.is_empty() {
        let top: Vec<String> = m
            .experts
            .iter()
            .take(10)
            .map(|(e, n)| format!("{} {n}", desk.name_of(e)))
            .collect();
        let _ = writeln!(out, "experts by swarms helped: {}", top.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hours::Hours;
    use crate::domain::{Author, DeskConfig, Msg, Pod};

    /// A Berlin pod open Mon–Fri 09:00–18:00; a Sev3 asked Friday 16:50 UTC (17:50
    /// there) and answered Monday 08:20 UTC (09:20): 30 business minutes, 2½ days wall.
    fn desk() -> (Desk, Ts, Ts) {
        let mut pod = Pod::discovered("C0API", "swarm-api");
        let mut week = [None; 7];
        for day in week.iter_mut().take(5) {
            *day = Some((9 * 60, 18 * 60));
        }
        pod.sla.hours =
            Some(Hours::new(chrono_tz::Europe::Berlin, week, Default::default()).unwrap());
        let mut desk = Desk::new(DeskConfig::default(), [pod]);
        let asked = Ts::from_datetime("2026-12-04T16:50:00Z".parse().unwrap());
        let answered = Ts::from_datetime("2026-12-07T08:20:00Z".parse().unwrap());
        let msg = |ts: Ts, thread: Option<Ts>, author: Author, text: &str| Msg {
            channel: "C0API".into(),
            ts,
            thread_ts: thread,
            author,
            text: text.into(),
            block_texts: vec![],
            marker: None,
            edited: None,
            reactions: vec![],
            latest_reply: None,
        };
        let root = msg(
            asked,
            None,
            Author::Person("U0AGENT".into()),
            "Case: 1\nUrgency: Sev 3",
        );
        desk.apply(Input::Message(root), asked);
        let reply = msg(
            answered,
            Some(asked),
            Author::Person("U0EXP".into()),
            "on it",
        );
        desk.apply(Input::Message(reply), answered);
        (desk, asked, answered)
    }

    #[test]
    fn the_report_gives_wall_and_business_times() {
        let (desk, asked, answered) = desk();
        let sla = |s: &crate::domain::Swarm| &desk.pod(&s.channel).unwrap().sla;
        let offset = chrono::FixedOffset::east_opt(0).unwrap();
        let r = report(desk.swarms(), sla, &["api".into()], asked, answered, offset);
        let json = to_json(&r, &desk);
        let wall = answered.secs_since(asked);
        assert_eq!(json["overall"]["first_response_p50_s"], json!(wall));
        assert_eq!(
            json["overall"]["first_response_business_p50_s"],
            json!(1800)
        );
        let csv = to_csv(&r);
        let (header, api) = (csv.lines().next().unwrap(), csv.lines().nth(1).unwrap());
        let at = |name: &str| header.split(',').position(|c| c == name).unwrap();
        let cells: Vec<&str> = api.split(',').collect();
        assert_eq!(cells[at("first_response_p50_s")], wall.to_string());
        assert_eq!(cells[at("first_response_business_p50_s")], "1800");
        let table = to_table(&r, &desk);
        assert!(table.contains("in business hours"), "{table}");
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("api") && l.contains("30m/30m")),
            "{table}"
        );
    }
}
