//! What the client has already passed on: deliveries by event id (Slack retries and
//! several sockets), and messages by (channel, ts) (a message seen live and again in a
//! history page has no event id the second time). Also the high-water marks and the
//! threads the gap fill needs.

use super::wire::{Event, Message};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// Message keys kept at most; older ones fall out first.
const MAX_MESSAGES: usize = 200_000;
/// Threads followed for gap fill at most.
const MAX_THREADS: usize = 2_000;

/// A message timestamp as a number, for comparisons (`"1700000000.000100"`).
pub(crate) fn ts_micros(ts: &str) -> Option<u64> {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    let secs: u64 = secs.parse().ok()?;
    let frac = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").get(..6)?.parse().ok()?
    };
    Some(secs * 1_000_000 + frac)
}

#[derive(Clone, Debug)]
pub(crate) struct ThreadMark {
    pub channel: String,
    pub thread_ts: String,
    pub last_ts: u64,
    pub last_seen: Instant,
}

#[derive(Debug)]
pub(crate) struct Seen {
    window: Duration,
    event_ids: HashMap<String, Instant>,
    event_order: VecDeque<(Instant, String)>,
    messages: HashSet<(String, u64)>,
    message_order: VecDeque<(String, u64)>,
    /// Newest message ts seen per channel.
    pub high_water: HashMap<String, u64>,
    pub threads: HashMap<(String, String), ThreadMark>,
    /// Where a previous run's history was complete, per channel (µs): the first gap
    /// fill starts there. Kept apart from `high_water`, which live events move on
    /// before that fill has read what lies between.
    pub resume_from: HashMap<String, u64>,
}

impl Seen {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window,
            event_ids: HashMap::new(),
            event_order: VecDeque::new(),
            messages: HashSet::new(),
            message_order: VecDeque::new(),
            high_water: HashMap::new(),
            threads: HashMap::new(),
            resume_from: HashMap::new(),
        }
    }

    /// Carries over what a previous run saw: its recent event ids, the newest message
    /// per channel (where the first gap fill starts), and the threads it followed.
    pub(crate) fn resume(&mut self, resume: &super::Resume) {
        let now = Instant::now();
        for id in &resume.event_ids {
            if self.event_ids.insert(id.clone(), now).is_none() {
                self.event_order.push_back((now, id.clone()));
            }
        }
        for (channel, hw) in &resume.high_water {
            self.high_water.insert(channel.clone(), (*hw).max(0) as u64);
            self.resume_from
                .insert(channel.clone(), (*hw).max(0) as u64);
        }
        for (channel, thread_ts) in &resume.threads {
            self.follow(channel, thread_ts);
        }
    }

    /// Whether this delivery is new; if so it is remembered.
    pub(crate) fn admit(&mut self, event_id: Option<&str>, event: &Event) -> bool {
        let now = Instant::now();
        self.expire(now);
        if let Some(id) = event_id {
            if self.event_ids.contains_key(id) {
                return false;
            }
            self.event_ids.insert(id.to_string(), now);
            self.event_order.push_back((now, id.to_string()));
        }
        if let Event::Message(m) = event
            && let Some((channel, ts)) = new_message_key(m)
        {
            if !self.messages.insert((channel.clone(), ts)) {
                return false;
            }
            self.message_order.push_back((channel.clone(), ts));
            if self.message_order.len() > MAX_MESSAGES
                && let Some(old) = self.message_order.pop_front()
            {
                self.messages.remove(&old);
            }
            let hw = self.high_water.entry(channel.clone()).or_insert(ts);
            *hw = (*hw).max(ts);
            self.note_thread(&channel, m, ts, now);
        }
        true
    }

    /// Threads with replies are followed; a bare root only when the consumer asks
    /// ([`Seen::follow`]): under Slack's history limits every followed thread costs a
    /// call per gap fill, so only the ones that matter (open swarms) should be.
    fn note_thread(&mut self, channel: &str, m: &Message, ts: u64, now: Instant) {
        let Some(thread_ts) = m
            .thread_ts
            .as_deref()
            .filter(|t| Some(*t) != m.ts.as_deref())
        else {
            return;
        };
        self.follow_at(channel, thread_ts, ts, now);
    }

    /// Follows a thread for gap fill (an open swarm's root).
    pub(crate) fn follow(&mut self, channel: &str, thread_ts: &str) {
        let ts = ts_micros(thread_ts).unwrap_or(0);
        self.follow_at(channel, thread_ts, ts, Instant::now());
    }

    /// Stops following a thread (a resolved swarm).
    pub(crate) fn unfollow(&mut self, channel: &str, thread_ts: &str) {
        self.threads
            .remove(&(channel.to_string(), thread_ts.to_string()));
    }

    fn follow_at(&mut self, channel: &str, thread_ts: &str, ts: u64, now: Instant) {
        let key = (channel.to_string(), thread_ts.to_string());
        let mark = self.threads.entry(key).or_insert_with(|| ThreadMark {
            channel: channel.to_string(),
            thread_ts: thread_ts.to_string(),
            last_ts: ts,
            last_seen: now,
        });
        mark.last_ts = mark.last_ts.max(ts);
        mark.last_seen = now;
        if self.threads.len() > MAX_THREADS
            && let Some(oldest) = self
                .threads
                .iter()
                .min_by_key(|(_, t)| t.last_seen)
                .map(|(k, _)| k.clone())
        {
            self.threads.remove(&oldest);
        }
    }

    /// Whether a message from history is already known (the probe's question).
    pub(crate) fn knows_message(&self, channel: &str, ts: u64) -> bool {
        self.messages.contains(&(channel.to_string(), ts))
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.event_order.front() {
            if now.duration_since(*at) <= self.window {
                break;
            }
            let (_, id) = self.event_order.pop_front().expect("front exists");
            self.event_ids.remove(&id);
        }
    }
}

/// A posted message (not an edit or deletion) is known by its channel and ts.
fn new_message_key(m: &Message) -> Option<(String, u64)> {
    if matches!(
        m.subtype.as_deref(),
        Some("message_changed" | "message_deleted")
    ) {
        return None;
    }
    Some((m.channel.clone()?, ts_micros(m.ts.as_deref()?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(channel: &str, ts: &str, thread: Option<&str>) -> Event {
        Event::Message(Box::new(Message {
            channel: Some(channel.into()),
            ts: Some(ts.into()),
            thread_ts: thread.map(str::to_string),
            ..Message::default()
        }))
    }

    #[test]
    fn a_retry_or_a_second_socket_is_dropped_by_event_id() {
        let mut seen = Seen::new(Duration::from_secs(600));
        let e = message("C1", "1.000001", None);
        assert!(seen.admit(Some("Ev1"), &e));
        assert!(!seen.admit(Some("Ev1"), &e));
        let reaction = Event::Other;
        assert!(seen.admit(Some("Ev2"), &reaction));
        assert!(!seen.admit(Some("Ev2"), &reaction));
    }

    #[test]
    fn a_message_seen_live_is_dropped_from_history_and_marks_are_kept() {
        let mut seen = Seen::new(Duration::from_secs(600));
        assert!(seen.admit(Some("Ev1"), &message("C1", "10.000001", None)));
        assert!(
            !seen.admit(None, &message("C1", "10.000001", None)),
            "the same message from a history page"
        );
        assert!(
            seen.threads.is_empty(),
            "a bare root is not followed on its own"
        );
        assert!(seen.admit(None, &message("C1", "11.000001", Some("10.000001"))));
        assert!(
            seen.admit(None, &message("C2", "10.000001", None)),
            "same ts, other channel"
        );
        assert_eq!(seen.high_water["C1"], 11_000_001);
        let thread = &seen.threads[&("C1".to_string(), "10.000001".to_string())];
        assert_eq!(thread.last_ts, 11_000_001);
        seen.follow("C2", "10.000001");
        assert_eq!(seen.threads.len(), 2);
        seen.unfollow("C2", "10.000001");
        assert_eq!(seen.threads.len(), 1);
        assert!(seen.knows_message("C1", 10_000_001));
    }

    #[test]
    fn live_messages_do_not_move_where_a_restart_resumes() {
        let mut seen = Seen::new(Duration::from_secs(600));
        seen.resume(&super::super::Resume {
            high_water: [("C1".to_string(), 10_000_001)].into(),
            ..Default::default()
        });
        assert!(seen.admit(None, &message("C1", "99.000001", None)));
        assert_eq!(
            seen.high_water["C1"], 99_000_001,
            "live messages raise the mark"
        );
        assert_eq!(
            seen.resume_from["C1"], 10_000_001,
            "the first fill still starts here"
        );
    }

    #[test]
    fn edits_are_not_mistaken_for_their_message() {
        let mut seen = Seen::new(Duration::from_secs(600));
        assert!(seen.admit(Some("Ev1"), &message("C1", "10.000001", None)));
        let edit = Event::Message(Box::new(Message {
            subtype: Some("message_changed".into()),
            channel: Some("C1".into()),
            ts: Some("10.000001".into()),
            ..Message::default()
        }));
        assert!(seen.admit(Some("Ev2"), &edit));
    }

    #[test]
    fn event_ids_expire_after_the_window() {
        let mut seen = Seen::new(Duration::ZERO);
        assert!(seen.admit(Some("Ev1"), &Event::Other));
        std::thread::sleep(Duration::from_millis(2));
        assert!(seen.admit(Some("Ev1"), &Event::Other));
    }

    #[test]
    fn ts_parse() {
        assert_eq!(ts_micros("1700000000.000100"), Some(1_700_000_000_000_100));
        assert_eq!(ts_micros("5"), Some(5_000_000));
        assert_eq!(ts_micros("x"), None);
    }
}
