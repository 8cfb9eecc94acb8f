//! Capped exponential backoff with jitter, as a pure function so it can be tested.
//! (tokio-console's grew without a cap; ours is capped by construction.)

use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The wait before retry `attempt` (1 for the first retry): `base * 2^(attempt-1)`,
    /// capped, then scaled by a jitter factor in [0.5, 1.0) drawn from `unit` in [0, 1).
    /// Half-jitter keeps a floor, so a storm of clients still spreads but never spins.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.cap);
        raw.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 0.999_999))
    }
}

/// A cheap jitter source: no RNG crate needed for spreading retries.
pub(crate) fn jitter() -> f64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(30),
    };

    #[test]
    fn grows_doubles_and_stops_at_the_cap() {
        assert_eq!(
            B.delay(1, 0.999_999),
            Duration::from_millis(500).mul_f64(0.999_999_5)
        );
        assert_eq!(B.delay(1, 0.0), Duration::from_millis(250));
        assert_eq!(B.delay(2, 0.0), Duration::from_millis(500));
        assert_eq!(B.delay(3, 0.0), Duration::from_secs(1));
        for attempt in [7, 8, 20, 31, 1000] {
            assert!(B.delay(attempt, 0.99) <= B.cap, "attempt {attempt}");
            assert!(
                B.delay(attempt, 0.0) >= B.cap / 2,
                "a storm still waits: {attempt}"
            );
        }
    }

    #[test]
    fn jitter_is_in_range() {
        for _ in 0..100 {
            assert!((0.0..1.0).contains(&jitter()));
        }
    }
}
