//! Deterministic randomness for the emulator.
//!
//! Chaos and the workload must replay identically under one `--seed`, whatever order
//! the tokio tasks happen to run in. So decisions are not drawn from one shared stream:
//! each is a pure function of (seed, stream, index), where the index is assigned in an
//! order the seed fixes (the nth Web API call, the nth event, the nth disconnect).

/// SplitMix64: tiny, fast, and good enough to decide faults and pick names.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Named decision streams, so that adding a draw to one never shifts another.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    WebFault = 1,
    Delivery = 2,
    Disconnect = 3,
    Workspace = 4,
    Workload = 5,
    /// The experts' temperaments and how long they take to answer.
    Experts = 6,
    /// Which workload requests an expert claims, and when.
    Claims = 7,
}

/// A uniform number in [0, 1) for decision `index` of `stream`.
pub(crate) fn unit(seed: u64, stream: Stream, index: u64) -> f64 {
    let bits = splitmix(splitmix(seed ^ ((stream as u64) << 56)) ^ index);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A sequential generator, for places where draws happen in a fixed program order
/// (building the seeded workspace, the workload's own schedule).
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    seed: u64,
    stream: Stream,
    next: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64, stream: Stream) -> Self {
        Self {
            seed,
            stream,
            next: 0,
        }
    }

    pub(crate) fn unit(&mut self) -> f64 {
        let u = unit(self.seed, self.stream, self.next);
        self.next += 1;
        u
    }

    /// A number in `lo..hi` (hi exclusive); `lo` when the range is empty.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + ((self.unit() * (hi - lo) as f64) as u64).min(hi - lo - 1)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64) as usize]
    }

    /// An exponentially distributed wait with the given mean (a Poisson arrival process).
    pub(crate) fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws_and_streams_differ() {
        let a: Vec<f64> = (0..5).map(|i| unit(7, Stream::WebFault, i)).collect();
        let b: Vec<f64> = (0..5).map(|i| unit(7, Stream::WebFault, i)).collect();
        let c: Vec<f64> = (0..5).map(|i| unit(7, Stream::Delivery, i)).collect();
        let d: Vec<f64> = (0..5).map(|i| unit(8, Stream::WebFault, i)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert!(a.iter().all(|u| (0.0..1.0).contains(u)));
    }

    #[test]
    fn range_stays_in_bounds_and_covers_it() {
        let mut rng = Rng::new(1, Stream::Workload);
        let mut seen = [false; 4];
        for _ in 0..200 {
            let v = rng.range(3, 7);
            assert!((3..7).contains(&v));
            seen[(v - 3) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(rng.range(5, 5), 5);
    }

    #[test]
    fn exponential_mean_is_roughly_right() {
        let mut rng = Rng::new(42, Stream::Workload);
        let n = 20_000;
        let mean = (0..n).map(|_| rng.exponential(30.0)).sum::<f64>() / n as f64;
        assert!((27.0..33.0).contains(&mean), "mean {mean}");
    }
}
