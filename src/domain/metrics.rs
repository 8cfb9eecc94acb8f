//! What swarming is measured by: time to first response, to assignment and to
//! resolution, support versus customer time, same-day resolution and days to close,
//! with medians and p90, per pod and overall.

use super::Ts;
use super::swarm::Swarm;
use super::timers::SlaPolicy;
use chrono::FixedOffset;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub opened: usize,
    pub resolved: usize,
    pub open: usize,
    /// Of the resolved swarms, the share resolved on the day they were opened.
    pub same_day_rate: Option<f64>,
    pub first_response_p50_s: Option<i64>,
    pub first_response_p90_s: Option<i64>,
    pub assignment_p50_s: Option<i64>,
    pub assignment_p90_s: Option<i64>,
    pub resolution_p50_s: Option<i64>,
    pub resolution_p90_s: Option<i64>,
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
/// "the same day" means for the pod's team.
pub fn report<'a>(
    swarms: impl IntoIterator<Item = &'a Swarm>,
    sla: impl Fn(&Swarm) -> &'a SlaPolicy,
    pods: &[String],
    since: Ts,
    now: Ts,
    day: FixedOffset,
) -> Report {
    let swarms: Vec<&Swarm> = swarms
        .into_iter()
        .filter(|s| s.opened_at >= since && s.opened_at <= now)
        .collect();
    let overall = measure(&swarms, &sla, now, day);
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
                metrics: measure(&of_pod, &sla, now, day),
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
    now: Ts,
    day: FixedOffset,
) -> Metrics {
    let mut first = Vec::new();
    let mut assign = Vec::new();
    let mut resolve = Vec::new();
    let mut m = Metrics {
        opened: swarms.len(),
        ..Metrics::default()
    };
    let (mut same_day, mut days) = (0usize, 0f64);
    let mut experts: std::collections::HashMap<String, usize> = Default::default();
    for s in swarms {
        if let Some(t) = s.first_response_at {
            first.push(t.secs_since(s.opened_at));
        }
        if let Some(t) = s.assigned_at {
            assign.push(t.secs_since(s.opened_at));
        }
        match s.resolved_at {
            Some(t) => {
                m.resolved += 1;
                let secs = t.secs_since(s.opened_at);
                resolve.push(secs);
                days += secs as f64 / 86_400.0;
                let local = |ts: Ts| ts.to_datetime().with_timezone(&day).date_naive();
                if local(t) == local(s.opened_at) {
                    same_day += 1;
                }
            }
            None => m.open += 1,
        }
        let (support, customer) = s.support_and_customer_secs(now);
        m.support_time_s += support;
        m.customer_time_s += customer;
        let breaches = s.clocks(sla(s)).iter().filter(|b| b.breached(now)).count();
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
        m.days_to_close = Some(days / m.resolved as f64);
    }
    (m.first_response_p50_s, m.first_response_p90_s) =
        (percentile(&mut first, 50), percentile(&mut first, 90));
    (m.assignment_p50_s, m.assignment_p90_s) =
        (percentile(&mut assign, 50), percentile(&mut assign, 90));
    (m.resolution_p50_s, m.resolution_p90_s) =
        (percentile(&mut resolve, 50), percentile(&mut resolve, 90));
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

#[cfg(test)]
mod tests {
    use super::*;

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
