//! Faults: the ones a test scripts through `/_emulator/faults`, and the ones `--chaos` draws.

use super::rng::{Stream, unit};
use serde::Deserialize;
use std::time::Duration;

/// A scripted fault, as posted to `/_emulator/faults`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultSpec {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub socket: Option<String>,
    #[serde(default)]
    pub seconds: Option<f64>,
    #[serde(default)]
    pub clear: Option<bool>,
}

/// What a call meets instead of its normal answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: u16,
    /// Seconds, for a 429's `Retry-After`.
    pub retry_after: Option<u64>,
}

#[derive(Clone, Debug)]
struct Scripted {
    method: String,
    kind: Kind,
    /// Calls left to affect; `None` means until cleared.
    remaining: Option<u32>,
}

#[derive(Clone, Debug)]
enum Kind {
    Fail(Failure),
    Delay(Duration),
}

/// An answer scripted through `/_emulator/raw`: text Slack's own encoder would never
/// write (a lone surrogate escape, a malformed message), sent byte for byte.
#[derive(Clone, Debug)]
struct RawAnswer {
    method: String,
    /// Only calls on this channel; any call of the method if `None`.
    channel: Option<String>,
    body: String,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    scripted: Vec<Scripted>,
    raw: Vec<RawAnswer>,
}

impl Faults {
    /// Adds a Web API fault. Socket faults and `clear` are handled by the caller.
    pub(crate) fn add(&mut self, spec: &FaultSpec) -> Result<(), String> {
        let method = spec.method.clone().ok_or(
            "a fault needs \"method\" (a Web API method or \"*\"), \"socket\" or \"clear\"",
        )?;
        let kind = match (spec.status, spec.delay_ms) {
            (Some(status), None) if (400..600).contains(&status) => Kind::Fail(Failure {
                status,
                retry_after: (status == 429).then(|| spec.retry_after.unwrap_or(1)),
            }),
            (Some(status), None) => return Err(format!("status {status} is not an HTTP error")),
            (None, Some(ms)) => Kind::Delay(Duration::from_millis(ms)),
            _ => {
                return Err(
                    "a method fault needs exactly one of \"status\" or \"delay_ms\"".into(),
                );
            }
        };
        let remaining = match (&kind, spec.count) {
            (Kind::Fail(_), None) => Some(1),
            (_, count) => count,
        };
        self.scripted.push(Scripted {
            method,
            kind,
            remaining,
        });
        Ok(())
    }

    pub(crate) fn clear(&mut self) {
        self.scripted.clear();
        self.raw.clear();
    }

    /// The next call of `method` (on `channel`, if given) is answered with `body`.
    pub(crate) fn add_raw(&mut self, method: &str, channel: Option<&str>, body: String) {
        self.raw.push(RawAnswer {
            method: method.to_string(),
            channel: channel.map(str::to_string),
            body,
        });
    }

    /// The raw answer scripted for this call, if any: one-shot, the oldest first.
    pub(crate) fn take_raw(&mut self, method: &str, channel: Option<&str>) -> Option<String> {
        let i = self.raw.iter().position(|r| {
            r.method == method && r.channel.as_deref().is_none_or(|c| Some(c) == channel)
        })?;
        Some(self.raw.remove(i).body)
    }

    /// The delay scripted for this call of `method`, used up as it is taken.
    pub(crate) fn take_delay(&mut self, method: &str) -> Option<Duration> {
        self.take(method, |k| match k {
            Kind::Delay(d) => Some(*d),
            Kind::Fail(_) => None,
        })
    }

    /// The failure scripted for this call of `method`, used up as it is taken.
    pub(crate) fn take_failure(&mut self, method: &str) -> Option<Failure> {
        self.take(method, |k| match k {
            Kind::Fail(f) => Some(*f),
            Kind::Delay(_) => None,
        })
    }

    fn take<T>(&mut self, method: &str, pick: impl Fn(&Kind) -> Option<T>) -> Option<T> {
        let i = self.scripted.iter().position(|s| {
            (s.method == method || s.method == "*")
                && s.remaining != Some(0)
                && pick(&s.kind).is_some()
        })?;
        let fault = &mut self.scripted[i];
        let found = pick(&fault.kind);
        if let Some(n) = fault.remaining.as_mut() {
            *n -= 1;
            if *n == 0 {
                self.scripted.remove(i);
            }
        }
        found
    }
}

/// `--chaos` for the `index`th Web API call: a few 429s and server errors, fixed by the seed.
pub(crate) fn chaos_web(seed: u64, index: u64) -> Option<Failure> {
    let u = unit(seed, Stream::WebFault, index);
    if u < 0.04 {
        Some(Failure {
            status: 429,
            retry_after: Some(1),
        })
    } else if u < 0.05 {
        Some(Failure {
            status: 500,
            retry_after: None,
        })
    } else if u < 0.06 {
        Some(Failure {
            status: 503,
            retry_after: None,
        })
    } else {
        None
    }
}

/// `--chaos` for the `index`th event: whether it is also delivered a second time, and
/// how long it is held back (so that later events overtake it).
pub(crate) fn chaos_delivery(seed: u64, index: u64) -> (bool, Duration) {
    let u = unit(seed, Stream::Delivery, index * 2);
    let v = unit(seed, Stream::Delivery, index * 2 + 1);
    let duplicate = u < 0.08;
    let delay = if v < 0.10 {
        Duration::from_millis(50 + (v * 4_000.0) as u64)
    } else {
        Duration::ZERO
    };
    (duplicate, delay)
}

/// The kind of socket trouble `--chaos` makes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disconnect {
    RefreshRequested,
    Warning,
    Drop,
    /// Socket Mode was turned off for the app: told, then closed.
    LinkDisabled,
    /// The app holds more connections than Slack allows: told, then closed.
    TooManyWebsockets,
}

impl Disconnect {
    pub(crate) fn parse(mode: &str) -> Option<Self> {
        match mode {
            "refresh_requested" => Some(Self::RefreshRequested),
            "warning" => Some(Self::Warning),
            "drop" => Some(Self::Drop),
            "link_disabled" => Some(Self::LinkDisabled),
            "too_many_websockets" => Some(Self::TooManyWebsockets),
            _ => None,
        }
    }
}

/// `--chaos`'s `index`th disconnect: which kind, after how long (Slack time), and which
/// of the open sockets (as a fraction of their count).
pub(crate) fn chaos_disconnect(seed: u64, index: u64) -> (Disconnect, Duration, f64) {
    let kind = match (unit(seed, Stream::Disconnect, index * 3) * 3.0) as u32 {
        0 => Disconnect::RefreshRequested,
        1 => Disconnect::Warning,
        _ => Disconnect::Drop,
    };
    let wait = Duration::from_secs_f64(20.0 + 40.0 * unit(seed, Stream::Disconnect, index * 3 + 1));
    (kind, wait, unit(seed, Stream::Disconnect, index * 3 + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn scripted_failures_are_used_up_in_order() {
        let mut faults = Faults::default();
        faults
            .add(&spec(
                r#"{"method":"conversations.create","status":429,"retry_after":2,"count":2}"#,
            ))
            .unwrap();
        assert_eq!(faults.take_failure("chat.postMessage"), None);
        let f = faults.take_failure("conversations.create").unwrap();
        assert_eq!((f.status, f.retry_after), (429, Some(2)));
        assert!(faults.take_failure("conversations.create").is_some());
        assert_eq!(faults.take_failure("conversations.create"), None);
    }

    #[test]
    fn wildcard_and_delay_faults() {
        let mut faults = Faults::default();
        faults
            .add(&spec(r#"{"method":"*","status":500,"count":1}"#))
            .unwrap();
        faults
            .add(&spec(r#"{"method":"conversations.invite","delay_ms":300}"#))
            .unwrap();
        assert_eq!(
            faults.take_failure("auth.test").map(|f| f.status),
            Some(500)
        );
        assert_eq!(faults.take_failure("auth.test"), None);
        // Delays without a count last until cleared.
        for _ in 0..3 {
            assert_eq!(
                faults.take_delay("conversations.invite"),
                Some(Duration::from_millis(300))
            );
        }
        faults.clear();
        assert_eq!(faults.take_delay("conversations.invite"), None);
    }

    #[test]
    fn raw_answers_are_one_shot_and_keep_to_their_channel() {
        let mut faults = Faults::default();
        faults.add_raw("conversations.history", Some("C1"), "first".into());
        faults.add_raw("conversations.history", Some("C1"), "second".into());
        faults.add_raw("conversations.replies", None, "any".into());
        let history = |f: &mut Faults, c| f.take_raw("conversations.history", Some(c));
        assert_eq!(history(&mut faults, "C2"), None, "another channel's call");
        assert_eq!(history(&mut faults, "C1").as_deref(), Some("first"));
        assert_eq!(history(&mut faults, "C1").as_deref(), Some("second"));
        assert_eq!(history(&mut faults, "C1"), None, "used up");
        assert_eq!(
            faults
                .take_raw("conversations.replies", Some("C9"))
                .as_deref(),
            Some("any")
        );
        faults.add_raw("auth.test", None, "x".into());
        faults.clear();
        assert_eq!(faults.take_raw("auth.test", None), None);
    }

    #[test]
    fn malformed_faults_are_refused_with_a_reason() {
        let mut faults = Faults::default();
        assert!(faults.add(&spec(r#"{"status":500}"#)).is_err());
        assert!(faults.add(&spec(r#"{"method":"x","status":200}"#)).is_err());
        assert!(
            faults
                .add(&spec(r#"{"method":"x","status":500,"delay_ms":3}"#))
                .is_err()
        );
        assert!(serde_json::from_str::<FaultSpec>(r#"{"metod":"x"}"#).is_err());
    }

    #[test]
    fn chaos_is_a_function_of_the_seed() {
        let a: Vec<_> = (0..500).map(|i| chaos_web(9, i)).collect();
        assert_eq!(a, (0..500).map(|i| chaos_web(9, i)).collect::<Vec<_>>());
        assert_ne!(a, (0..500).map(|i| chaos_web(10, i)).collect::<Vec<_>>());
        let failures = a.iter().filter(|f| f.is_some()).count();
        assert!((10..70).contains(&failures), "{failures} of 500");
        let kinds: Vec<_> = (0..30).map(|i| chaos_disconnect(3, i).0).collect();
        for kind in [
            Disconnect::RefreshRequested,
            Disconnect::Warning,
            Disconnect::Drop,
        ] {
            assert!(kinds.contains(&kind));
        }
    }
}
