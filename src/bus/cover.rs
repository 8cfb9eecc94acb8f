//! Which spans of time the team bus covered: when every connection of the Slack app
//! belonged to a bus publisher, whatever Slack delivered is in the stream, so a process
//! that was down then catches up from the stream alone and reads no Slack history for it.
//!
//! Publishers say so in their heartbeats (`covered`: connected, and no consumer outside
//! the bus and their stores); a span is covered when such beats follow each other closely
//! enough from its start to its end. Pure: beats and times in, answers out.

use std::collections::BTreeSet;

/// Covered beats further apart than this leave the time between them uncovered.
pub const MAX_GAP_SECS: f64 = 15.0;
/// Beats older than this are forgotten (a span that old is read from Slack if need be).
const HORIZON_SECS: f64 = 7.0 * 24.0 * 3600.0;

#[derive(Debug, Default)]
pub struct Spans {
    /// When covered beats were sent (whole milliseconds, for ordering), by any publisher.
    covered: BTreeSet<i64>,
}

impl Spans {
    /// A publisher's beat at `at` (wall-clock seconds), covering or not.
    pub fn beat(&mut self, at: f64, covered: bool) {
        if covered {
            self.covered.insert((at * 1000.0) as i64);
        }
        if let Some(&newest) = self.covered.iter().next_back() {
            let cutoff = newest - (HORIZON_SECS * 1000.0) as i64;
            self.covered = self.covered.split_off(&cutoff);
        }
    }

    /// Whether the stream holds everything Slack delivered from `from` to `to`, for a
    /// process whose own history was complete at `from`: from there, covered beats no
    /// further apart than the gap, up to shortly before `to`.
    pub fn covers(&self, from: f64, to: f64) -> bool {
        if to < from {
            return true;
        }
        let gap = (MAX_GAP_SECS * 1000.0) as i64;
        let (from, to) = ((from * 1000.0) as i64, (to * 1000.0) as i64);
        let mut last = from;
        for &t in self.covered.range(from..) {
            if t - last > gap {
                return false;
            }
            last = t;
            if t >= to {
                return true;
            }
        }
        to - last <= gap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(beats: &[(f64, bool)]) -> Spans {
        let mut s = Spans::default();
        for &(at, covered) in beats {
            s.beat(at, covered);
        }
        s
    }

    #[test]
    fn close_covered_beats_cover_the_span_between_them() {
        let s = spans(&[(100.0, true), (105.0, true), (110.0, true), (115.0, true)]);
        assert!(s.covers(101.0, 114.0));
        assert!(s.covers(100.0, 125.0), "up to a gap past the last beat");
        assert!(!s.covers(100.0, 140.0), "not long after the last beat");
        assert!(!s.covers(60.0, 110.0), "not long before the first beat");
        assert!(
            s.covers(92.0, 110.0),
            "a store complete shortly before the first beat"
        );
    }

    #[test]
    fn a_hole_or_an_uncovered_beat_breaks_the_span() {
        let s = spans(&[(100.0, true), (105.0, true), (140.0, true), (145.0, true)]);
        assert!(!s.covers(101.0, 144.0), "nothing between 105 and 140");
        assert!(s.covers(140.0, 150.0));
        // A publisher that saw a consumer outside the bus does not cover.
        let s = spans(&[(100.0, true), (105.0, false), (110.0, false), (125.0, true)]);
        assert!(!s.covers(100.0, 125.0));
    }

    #[test]
    fn nothing_known_covers_nothing() {
        assert!(!Spans::default().covers(0.0, 20.0));
        assert!(Spans::default().covers(10.0, 5.0), "an empty span");
    }
}
