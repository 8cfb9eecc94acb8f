//! SLA targets and the support clock, which stops while the swarm waits on the customer.

use super::{Ts, Urgency};

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
    /// How often a promoted swarm's stakeholders get an update (`[incident]
    /// update_every`); `None`: no cadence for that severity.
    pub update_every: [Option<i64>; 4],
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
