//! SLA targets and the support clock, which stops while the swarm waits on the customer
//! and, for a pod with business hours, while the pod is closed.

use super::hours::Hours;
use super::{Ts, Urgency};
use std::collections::BTreeMap;

/// Per-urgency targets, in seconds of support time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaPolicy {
    /// First response, and each response owed after the requester's side answered.
    pub first_response: [i64; 4],
    pub resolution: [i64; 4],
    /// How long an expert asked to take a swarm has to answer before the lead is told.
    pub accept_within: [i64; 4],
    /// How long an assigned expert may stay silent in the thread before the row says so.
    pub quiet_after: [i64; 4],
    /// The pod's business hours; `None`: every clock runs 24/7.
    pub hours: Option<Hours>,
    /// Targets by customer tier (`premier`), over the ones above: a tier's request gets
    /// its tier's target where one is set, the pod's otherwise.
    pub tiers: BTreeMap<String, TierTargets>,
    /// How often a promoted swarm's stakeholders get an update (`[incident]
    /// update_every`); `None`: no cadence for that severity.
    pub update_every: [Option<i64>; 4],
}

/// One tier's targets per urgency (sev1 first); `None` keeps the pod's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TierTargets {
    pub first_response: [Option<i64>; 4],
    pub resolution: [Option<i64>; 4],
}

/// Which targets a swarm's clocks run against: its tier's or the pod's, in business
/// hours or around the clock. For the detail's `SLA:` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied<'a> {
    /// The tier whose targets apply, when the policy has any for it.
    pub tier: Option<&'a str>,
    pub urgency: Urgency,
    /// The hours the clocks follow; `None`: 24/7.
    pub hours: Option<&'a Hours>,
}

impl Applied<'_> {
    /// `premier · sev1 · business hours Europe/Berlin`.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        parts.push(self.tier.unwrap_or("default").to_string());
        parts.push(self.urgency.to_string());
        parts.push(match self.hours {
            Some(h) => format!("business hours {}", h.tz.name()),
            None => "24/7".to_string(),
        });
        parts.join(" · ")
    }
}

impl Default for SlaPolicy {
    fn default() -> Self {
        const MIN: i64 = 60;
        const HOUR: i64 = 3600;
        const DAY: i64 = 24 * HOUR;
        SlaPolicy {
            first_response: [15 * MIN, 30 * MIN, 2 * HOUR, 8 * HOUR],
            resolution: [4 * HOUR, 8 * HOUR, 2 * DAY, 5 * DAY],
            accept_within: [5 * MIN, 15 * MIN, 30 * MIN, HOUR],
            quiet_after: [15 * MIN, 30 * MIN, 2 * HOUR, 8 * HOUR],
            hours: None,
            tiers: BTreeMap::new(),
            update_every: [None; 4],
        }
    }
}

impl SlaPolicy {
    pub fn first_response(&self, u: Urgency) -> i64 {
        self.first_response[u as usize]
    }

    pub fn resolution(&self, u: Urgency) -> i64 {
        self.resolution[u as usize]
    }

    /// The first-response target of a request of `tier` (its tier's when set).
    pub fn first_response_for(&self, u: Urgency, tier: Option<&str>) -> i64 {
        self.tier(tier)
            .and_then(|t| t.first_response[u as usize])
            .unwrap_or(self.first_response(u))
    }

    pub fn resolution_for(&self, u: Urgency, tier: Option<&str>) -> i64 {
        self.tier(tier)
            .and_then(|t| t.resolution[u as usize])
            .unwrap_or(self.resolution(u))
    }

    fn tier(&self, tier: Option<&str>) -> Option<&TierTargets> {
        tier.and_then(|t| self.tiers.get(t))
    }

    /// The hours an urgency's clocks follow: the pod's, unless it has none or the
    /// urgency runs 24/7 (Sev1, unless configured otherwise).
    pub fn calendar(&self, u: Urgency) -> Option<&Hours> {
        self.hours.as_ref().filter(|h| h.follows(u))
    }

    /// Which policy a request of `urgency` and `tier` is held to.
    pub fn applied<'a>(&'a self, u: Urgency, tier: Option<&'a str>) -> Applied<'a> {
        Applied {
            tier: tier.filter(|t| self.tiers.contains_key(*t)),
            urgency: u,
            hours: self.calendar(u),
        }
    }

    pub fn accept_within(&self, u: Urgency) -> i64 {
        self.accept_within[u as usize]
    }

    pub fn quiet_after(&self, u: Urgency) -> i64 {
        self.quiet_after[u as usize]
    }

    pub fn update_every(&self, u: Urgency) -> Option<i64> {
        self.update_every[u as usize]
    }
}

/// The stretches of time a swarm spent waiting on the customer: `(from, until)`, the
/// last one open while it still waits. Sorted and disjoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pauses(Vec<(Ts, Option<Ts>)>);

impl Pauses {
    pub fn start(&mut self, at: Ts) {
        if !self.is_paused() {
            self.0.push((at, None));
        }
    }

    pub fn stop(&mut self, at: Ts) {
        if let Some(last) = self.0.last_mut()
            && last.1.is_none()
        {
            last.1 = Some(at.max(last.0));
        }
    }

    /// Ends the pause under way at `at`, if there is one (a later pause is kept).
    pub fn end_at(&mut self, at: Ts) {
        if let Some(p) = self
            .0
            .iter_mut()
            .find(|(a, b)| *a <= at && b.is_none_or(|b| b > at))
        {
            p.1 = Some(at);
        }
    }

    pub fn is_paused(&self) -> bool {
        self.0.last().is_some_and(|p| p.1.is_none())
    }

    pub fn paused_since(&self) -> Option<Ts> {
        self.0.last().filter(|p| p.1.is_none()).map(|p| p.0)
    }

    /// Seconds of pause within `[from, to)`.
    pub fn paused_within(&self, from: Ts, to: Ts) -> i64 {
        self.0
            .iter()
            .map(|&(a, b)| {
                let a = a.max(from);
                let b = b.unwrap_or(to).min(to);
                if b > a { b.0 - a.0 } else { 0 }
            })
            .sum::<i64>()
            / 1_000_000
    }

    /// Support seconds within `[from, to)`: the time not spent waiting on the customer.
    pub fn running_within(&self, from: Ts, to: Ts) -> i64 {
        (to.secs_since(from) - self.paused_within(from, to)).max(0)
    }

    /// Support seconds within `[from, to)` in business time: neither waiting on the
    /// customer nor outside `hours` (`None`: around the clock, [`Pauses::running_within`]).
    pub fn running_within_in(&self, from: Ts, to: Ts, hours: Option<&Hours>) -> i64 {
        let Some(hours) = hours else {
            return self.running_within(from, to);
        };
        if to <= from {
            return 0;
        }
        let mut sum = 0i64;
        hours.each_open(from, |a, b| {
            if a >= to {
                return false;
            }
            let b = b.min(to);
            sum += (b.0 - a.0) - self.paused_micros(a, b);
            true
        });
        sum / 1_000_000
    }

    fn paused_micros(&self, from: Ts, to: Ts) -> i64 {
        self.0
            .iter()
            .map(|&(a, b)| {
                let a = a.max(from);
                let b = b.unwrap_or(to).min(to);
                (b.0 - a.0).max(0)
            })
            .sum()
    }

    /// [`Pauses::due`] in business time: when `target` seconds of support time that
    /// fall within `hours` are used up. Both stop the clock: waiting on the customer
    /// and the pod being closed.
    pub fn due_in(&self, from: Ts, target: i64, hours: Option<&Hours>) -> Option<Ts> {
        let Some(hours) = hours else {
            return self.due(from, target);
        };
        let mut left = target.max(0).saturating_mul(1_000_000);
        if left == 0 {
            return Some(from);
        }
        let mut due = None;
        let mut stopped = false;
        hours.each_open(from, |s, e| {
            // The running pieces of the open stretch: its time outside the pauses.
            let mut cursor = s;
            let mut piece = |a: Ts, b: Ts, left: &mut i64| {
                if b.0 - a.0 >= *left {
                    due = Some(Ts(a.0 + *left));
                    return true;
                }
                *left -= b.0 - a.0;
                false
            };
            for &(a, b) in &self.0 {
                if b.is_some_and(|b| b <= cursor) {
                    continue;
                }
                if a >= e {
                    break;
                }
                if a > cursor && piece(cursor, a, &mut left) {
                    return false;
                }
                match b {
                    None => {
                        stopped = true;
                        return false;
                    }
                    Some(b) => cursor = cursor.max(b),
                }
                if cursor >= e {
                    return true;
                }
            }
            !piece(cursor, e, &mut left)
        });
        if stopped { None } else { due }
    }

    /// When `target` seconds of support time since `from` are used up; `None` if the
    /// clock is stopped before that happens (it is waiting on the customer).
    pub fn due(&self, from: Ts, target: i64) -> Option<Ts> {
        let mut due = from.plus_secs(target);
        for &(a, b) in &self.0 {
            if a >= due {
                break;
            }
            let a = a.max(from);
            match b {
                None => return None,
                Some(b) if b > a => due = due.plus_secs(b.secs_since(a)),
                Some(_) => {}
            }
        }
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Ts {
        Ts::from_secs(s)
    }

    #[test]
    fn the_clock_stops_while_waiting_on_the_customer() {
        let mut p = Pauses::default();
        assert_eq!(p.due(t(0), 100), Some(t(100)));
        p.start(t(50));
        assert!(p.is_paused());
        assert_eq!(p.due(t(0), 100), None, "stopped before the target");
        assert_eq!(p.due(t(0), 40), Some(t(40)), "reached before the pause");
        p.stop(t(80));
        assert_eq!(p.due(t(0), 100), Some(t(130)));
        assert_eq!(p.running_within(t(0), t(100)), 70);
        assert_eq!(p.paused_within(t(0), t(100)), 30);
        p.start(t(200));
        assert_eq!(p.paused_within(t(0), t(260)), 90);
        assert_eq!(p.paused_since(), Some(t(200)));
    }

    #[test]
    fn default_targets_follow_urgency() {
        let p = SlaPolicy::default();
        assert_eq!(p.first_response(Urgency::Sev1), 15 * 60);
        assert_eq!(p.resolution(Urgency::Sev4), 5 * 24 * 3600);
    }
}
