//! Slack's Web API rate limits, as the emulator enforces them by default.
//!
//! Slack limits each method per app and workspace by its tier (1+, 20+, 50+ and 100+ calls a
//! minute, with bursts tolerated), and `chat.postMessage` to about one message a second per
//! channel with short bursts, under a workspace-wide ceiling. Beyond a limit the answer is
//! HTTP 429, `error: ratelimited` and `Retry-After` in whole seconds.
//!
//! Pure: the caller passes the instant, so the buckets are tested without sleeping. Rates are
//! in Slack time; `time_scale` makes them that many times faster in real time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How the emulator limits Web API calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RateLimits {
    /// Slack's tiers and per-channel posting limit: what a real workspace answers.
    #[default]
    Slack,
    /// No limits beyond `--history-limits`: for benchmarks that measure swarmdeck, never for
    /// correctness tests.
    Off,
}

/// Slack's published tier of each method the emulator serves, in calls a minute, and the
/// burst the emulator tolerates on top of the steady rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Tier {
    pub per_minute: f64,
    pub burst: f64,
}

const fn tier(per_minute: f64, burst: f64) -> Tier {
    Tier { per_minute, burst }
}

/// Tier 1: "1+ per minute, a small amount of burst". `apps.connections.open` is the only
/// one served; an app may hold 10 connections and replace them on a refresh, so opening
/// them all at once, and again, is tolerated.
const TIER_1_CONNECTIONS: Tier = tier(20.0, 20.0);
/// Tier 2: "20+ per minute, occasional bursts".
const TIER_2: Tier = tier(20.0, 10.0);
/// Tier 3: "50+ per minute, sporadic bursts welcome".
const TIER_3: Tier = tier(50.0, 20.0);
/// Tier 4: "100+ per minute, generous bursts".
const TIER_4: Tier = tier(100.0, 50.0);
/// chat.postMessage per channel: "1 per second, short bursts > 1 allowed".
pub(crate) const POST_PER_CHANNEL: Tier = tier(60.0, 4.0);
/// chat.postMessage across the workspace: Slack keeps "a workspace-wide limit" of several
/// hundred a minute.
const POST_WORKSPACE: Tier = tier(300.0, 60.0);
/// conversations.history / replies for apps outside the Marketplace since 2025.
pub(crate) const HISTORY_STRICT: Tier = tier(1.0, 1.0);

/// The tier of a method, as Slack's method reference lists it.
pub(crate) fn tier_of(method: &str) -> Tier {
    match method {
        "apps.connections.open" => TIER_1_CONNECTIONS,
        "conversations.list"
        | "conversations.create"
        | "conversations.setTopic"
        | "conversations.setPurpose"
        | "conversations.archive"
        | "conversations.rename"
        | "users.list"
        | "usergroups.list"
        | "usergroups.users.list"
        | "bookmarks.add"
        | "reactions.remove" => TIER_2,
        "conversations.members" | "users.info" | "auth.test" | "chat.getPermalink" => TIER_4,
        "chat.postMessage" => POST_WORKSPACE,
        // conversations.info, history, replies, invite, join, open, users.conversations,
        // chat.update, reactions.add/get, users.getPresence, bookmarks.list, bots.info.
        _ => TIER_3,
    }
}

/// A token bucket in real time: `burst` calls at once, refilled at the tier's rate.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// What one app has spent, by method and, for posts, by channel.
#[derive(Debug)]
pub(crate) struct Limiter {
    time_scale: f64,
    buckets: HashMap<(usize, Key), Bucket>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Method(String),
    Channel(String),
}

impl Limiter {
    pub(crate) fn new(time_scale: f64) -> Self {
        Self {
            time_scale,
            buckets: HashMap::new(),
        }
    }

    /// Spends one call of `app` on `method` (and, for a post, on `channel`) at `now`, or
    /// answers the whole seconds to wait, as `Retry-After` says them (at least 1).
    pub(crate) fn spend(
        &mut self,
        app: usize,
        method: &str,
        tier: Tier,
        channel: Option<&str>,
        now: Instant,
    ) -> Result<(), u64> {
        let method_key = (app, Key::Method(method.to_string()));
        let channel_key = channel.map(|c| (app, Key::Channel(c.to_string())));
        // Both must have room before either is spent: a refused post costs nothing.
        let wait_method = self.wait(&method_key, tier, now);
        let wait_channel = channel_key
            .as_ref()
            .map_or(Duration::ZERO, |k| self.wait(k, POST_PER_CHANNEL, now));
        let wait = wait_method.max(wait_channel);
        if !wait.is_zero() {
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        self.take(method_key, tier, now);
        if let Some(key) = channel_key {
            self.take(key, POST_PER_CHANNEL, now);
        }
        Ok(())
    }

    fn per_sec(&self, tier: Tier) -> f64 {
        tier.per_minute / 60.0 * self.time_scale
    }

    fn tokens(&self, key: &(usize, Key), tier: Tier, now: Instant) -> f64 {
        match self.buckets.get(key) {
            None => tier.burst,
            Some(b) => {
                let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
                (b.tokens + elapsed * self.per_sec(tier)).min(tier.burst)
            }
        }
    }

    fn wait(&self, key: &(usize, Key), tier: Tier, now: Instant) -> Duration {
        let tokens = self.tokens(key, tier, now);
        if tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - tokens) / self.per_sec(tier).max(1e-9))
        }
    }

    fn take(&mut self, key: (usize, Key), tier: Tier, now: Instant) {
        let tokens = self.tokens(&key, tier, now) - 1.0;
        self.buckets.insert(key, Bucket { tokens, last: now });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(l: &mut Limiter, channel: &str, now: Instant) -> Result<(), u64> {
        l.spend(
            0,
            "chat.postMessage",
            tier_of("chat.postMessage"),
            Some(channel),
            now,
        )
    }

    #[test]
    fn posting_to_one_channel_bursts_then_paces_at_one_a_second() {
        let mut l = Limiter::new(1.0);
        let t0 = Instant::now();
        for _ in 0..4 {
            assert_eq!(post(&mut l, "C1", t0), Ok(()));
        }
        assert_eq!(post(&mut l, "C1", t0), Err(1), "the fifth at once waits");
        // Another channel has its own budget.
        assert_eq!(post(&mut l, "C2", t0), Ok(()));
        assert_eq!(post(&mut l, "C1", t0 + Duration::from_millis(1000)), Ok(()));
        assert_eq!(post(&mut l, "C1", t0 + Duration::from_millis(1100)), Err(1));
        assert_eq!(post(&mut l, "C1", t0 + Duration::from_millis(2000)), Ok(()));
    }

    #[test]
    fn a_refused_call_costs_nothing() {
        let mut l = Limiter::new(1.0);
        let t0 = Instant::now();
        for _ in 0..4 {
            post(&mut l, "C1", t0).unwrap();
        }
        for _ in 0..100 {
            assert!(post(&mut l, "C1", t0).is_err());
        }
        assert_eq!(post(&mut l, "C1", t0 + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn tiers_limit_per_app_and_method_and_say_how_long_to_wait() {
        let mut l = Limiter::new(1.0);
        let t0 = Instant::now();
        let t2 = tier_of("conversations.list");
        for _ in 0..10 {
            assert_eq!(l.spend(0, "conversations.list", t2, None, t0), Ok(()));
        }
        // 20 a minute: the next token in 3 s.
        assert_eq!(l.spend(0, "conversations.list", t2, None, t0), Err(3));
        assert_eq!(
            l.spend(1, "conversations.list", t2, None, t0),
            Ok(()),
            "app 2"
        );
        let t3 = tier_of("conversations.info");
        assert_eq!(
            l.spend(0, "conversations.info", t3, None, t0),
            Ok(()),
            "method"
        );
        let later = t0 + Duration::from_secs(3);
        assert_eq!(l.spend(0, "conversations.list", t2, None, later), Ok(()));
    }

    #[test]
    fn a_time_scale_refills_faster_in_real_time() {
        let mut l = Limiter::new(60.0);
        let t0 = Instant::now();
        l.spend(0, "conversations.history", HISTORY_STRICT, None, t0)
            .unwrap();
        assert_eq!(
            l.spend(0, "conversations.history", HISTORY_STRICT, None, t0),
            Err(1),
            "Retry-After is whole seconds, at least one"
        );
        let a_slack_minute = t0 + Duration::from_secs(1);
        assert_eq!(
            l.spend(
                0,
                "conversations.history",
                HISTORY_STRICT,
                None,
                a_slack_minute
            ),
            Ok(())
        );
        let mut slow = Limiter::new(1.0);
        slow.spend(0, "conversations.history", HISTORY_STRICT, None, t0)
            .unwrap();
        assert_eq!(
            slow.spend(0, "conversations.history", HISTORY_STRICT, None, t0),
            Err(60)
        );
    }

    #[test]
    fn every_served_method_has_a_tier_no_stricter_than_slacks_floor() {
        for method in super::super::methods::METHODS {
            let t = tier_of(method);
            assert!(t.per_minute >= 1.0 && t.burst >= 1.0, "{method}");
        }
        assert_eq!(tier_of("users.list"), TIER_2);
        assert_eq!(tier_of("users.info"), TIER_4);
    }
}
