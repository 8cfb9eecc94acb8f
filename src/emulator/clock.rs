//! The emulator's clock: wall time for timestamps, scaled durations for everything that waits.
//!
//! `--time-scale N` makes Slack's minutes pass N times faster, so that a one-request-a-minute
//! history limit or the +1 / +5 minute event retries run in seconds in a test. Timestamps
//! (`ts`, `event_time`) stay on the wall clock, as a client would see them from real Slack.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub(crate) struct Clock {
    scale: f64,
    /// The last message timestamp handed out, in microseconds, so that `ts` is unique
    /// and increasing even when two posts land in the same microsecond.
    last_ts_micros: Mutex<u64>,
}

impl Clock {
    pub(crate) fn new(scale: f64) -> Self {
        Self {
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
            last_ts_micros: Mutex::new(0),
        }
    }

    /// How long `slack_time` of Slack's time takes on this emulator.
    pub(crate) fn scaled(&self, slack_time: Duration) -> Duration {
        slack_time.div_f64(self.scale)
    }

    /// Like [`Clock::scaled`], but never shorter than `floor`: for windows a client
    /// has to react within (an ack deadline), which must stay humanly possible.
    pub(crate) fn scaled_at_least(&self, slack_time: Duration, floor: Duration) -> Duration {
        self.scaled(slack_time).max(floor.min(slack_time))
    }

    pub(crate) fn now_micros() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0)
    }

    /// A fresh message timestamp: now, or one microsecond after the last one.
    pub(crate) fn next_ts(&self) -> u64 {
        let mut last = self
            .last_ts_micros
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let ts = Self::now_micros().max(*last + 1);
        *last = ts;
        ts
    }

    /// Records a timestamp that arrived from outside (an injected event), so that the
    /// next generated one still sorts after it.
    pub(crate) fn observe_ts(&self, ts: u64) {
        let mut last = self
            .last_ts_micros
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *last = (*last).max(ts);
    }
}

/// RFC 3339 with milliseconds, for the control API's `at` fields.
pub(crate) fn rfc3339_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_divides_and_respects_the_floor() {
        let clock = Clock::new(60.0);
        assert_eq!(
            clock.scaled(Duration::from_secs(60)),
            Duration::from_secs(1)
        );
        assert_eq!(
            clock.scaled_at_least(Duration::from_secs(3), Duration::from_millis(500)),
            Duration::from_millis(500)
        );
        // A floor never makes a window longer than Slack's own.
        assert_eq!(
            Clock::new(1.0).scaled_at_least(Duration::from_millis(100), Duration::from_secs(1)),
            Duration::from_millis(100)
        );
        assert_eq!(
            Clock::new(0.0).scaled(Duration::from_secs(2)),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn timestamps_are_strictly_increasing() {
        let clock = Clock::new(1.0);
        clock.observe_ts(Clock::now_micros() + 5_000_000);
        let a = clock.next_ts();
        let b = clock.next_ts();
        assert!(b > a);
        assert!(a > Clock::now_micros());
    }
}
