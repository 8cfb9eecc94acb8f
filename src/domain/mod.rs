//! The swarm desk: what a swarm request is, how a swarm moves through its life, its
//! clocks and the pod's metrics. Pure and synchronous: no I/O, no clock reads (time is
//! passed in), no JSON. The Slack edge translates wire events into [`Input`]s; the desk
//! answers each with the [`Lifecycle`] events it caused.

pub mod asks;
pub mod desk;
pub mod duplicates;
pub mod hours;
pub mod input;
pub mod intake;
pub mod lifecycle;
pub mod metrics;
pub mod moves;
pub mod naming;
pub mod swarm;
pub mod text;
pub mod timers;

pub use desk::{Desk, DeskConfig, Pod};
pub use input::{Author, Input, Marker, MarkerKind, Msg};
pub use intake::{IntakeRules, Request};
pub use lifecycle::{Lifecycle, LifecycleKind};
pub use swarm::{Breach, Clock, Status, Swarm};
pub use timers::{SlaPolicy, TierTargets};

use chrono::{DateTime, Utc};
use std::fmt;

/// A Slack message timestamp (`"1712345678.123456"`), kept as microseconds since the
/// epoch: it is both the message's id within its channel and when it was posted.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Ts(pub i64);

impl Ts {
    pub fn parse(s: &str) -> Option<Ts> {
        let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
        if secs.is_empty() || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let secs: i64 = secs.parse().ok()?;
        let micros: i64 = format!("{frac:0<6}").parse().ok()?;
        Some(Ts(secs.checked_mul(1_000_000)?.checked_add(micros)?))
    }

    pub fn from_secs(secs: i64) -> Ts {
        Ts(secs * 1_000_000)
    }

    pub fn from_datetime(at: DateTime<Utc>) -> Ts {
        Ts(at.timestamp_micros())
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0).unwrap_or_default()
    }

    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    pub fn plus_secs(self, secs: i64) -> Ts {
        Ts(self.0.saturating_add(secs.saturating_mul(1_000_000)))
    }

    /// Whole seconds from `earlier` to `self` (negative if `self` is earlier).
    pub fn secs_since(self, earlier: Ts) -> i64 {
        (self.0 - earlier.0).div_euclid(1_000_000)
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}",
            self.0.div_euclid(1_000_000),
            self.0.rem_euclid(1_000_000)
        )
    }
}

/// A swarm's identity: its pod channel and the ts of its request, which is its thread.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SwarmId {
    pub channel: String,
    pub thread_ts: Ts,
}

impl SwarmId {
    pub fn new(channel: impl Into<String>, thread_ts: Ts) -> SwarmId {
        SwarmId {
            channel: channel.into(),
            thread_ts,
        }
    }
}

/// A resolved swarm found by search: how a case like this one was resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Similar {
    pub swarm: SwarmId,
    pub case: String,
    pub pod: String,
    pub subject: String,
    pub resolution: String,
    pub link: String,
}

/// How urgent a swarm request is, as the pod's SLA policy knows it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Urgency {
    Sev1,
    Sev2,
    Sev3,
    Sev4,
}

impl Urgency {
    pub const ALL: [Urgency; 4] = [Urgency::Sev1, Urgency::Sev2, Urgency::Sev3, Urgency::Sev4];

    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Sev1 => "sev1",
            Urgency::Sev2 => "sev2",
            Urgency::Sev3 => "sev3",
            Urgency::Sev4 => "sev4",
        }
    }

    pub fn level(self) -> u8 {
        self as u8 + 1
    }
}

impl fmt::Display for Urgency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_timestamps_round_trip_and_order() {
        let ts = Ts::parse("1712345678.000123").unwrap();
        assert_eq!(ts.to_string(), "1712345678.000123");
        assert_eq!(
            Ts::parse("1712345678.5").unwrap().to_string(),
            "1712345678.500000"
        );
        assert_eq!(Ts::parse("1712345678").unwrap(), Ts::from_secs(1712345678));
        assert!(Ts::parse("1712345678.000124").unwrap() > ts);
        for bad in ["", "abc", "1.1234567", "1.-5", ".5"] {
            assert_eq!(Ts::parse(bad), None, "{bad}");
        }
        assert_eq!(ts.to_datetime().timestamp(), 1712345678);
    }
}
