//! Which Slack events the store keeps, and under which key: a message by its channel,
//! ts and edit (a copy from history and the live one are the same record), a deletion
//! once, a reaction change by who, what and when. The JSON is the event as received,
//! before sanitising (the sanitiser runs again on replay).

use super::Write;
use crate::slack::wire::{Event, Message};

/// A timestamp string as microseconds.
fn micros(ts: &str) -> Option<i64> {
    crate::domain::Ts::parse(ts).map(|t| t.0)
}

/// The record to keep for an event, if it is one the desk needs.
pub fn record(event: &Event) -> Option<Write> {
    let (key, channel, ts, root) = match event {
        Event::Message(m) => message_key(m)?,
        Event::ReactionAdded(r) | Event::ReactionRemoved(r) => {
            let channel = r.item.channel.clone()?;
            let ts = r.item.ts.as_deref()?;
            let sign = if matches!(event, Event::ReactionAdded(_)) {
                "+"
            } else {
                "-"
            };
            let key = format!(
                "{channel}|{ts}|r{sign}|{}|{}|{}",
                r.user,
                r.reaction,
                r.event_ts.as_deref().unwrap_or("")
            );
            let t = micros(ts)?;
            (key, channel, t, t)
        }
        // A renamed person: kept apart from the events, so that the name outlives them.
        Event::UserChange { user } => {
            return Some(Write::Person {
                id: user.id.clone(),
                name: crate::slack::translate::display_name(user),
            });
        }
        _ => return None,
    };
    let json = serde_json::to_string(event).ok()?;
    Some(Write::Event {
        key,
        channel,
        ts,
        root,
        json,
    })
}

fn message_key(m: &Message) -> Option<(String, String, i64, i64)> {
    let channel = m.channel.clone()?;
    match m.subtype.as_deref() {
        Some("message_deleted") => {
            let ts = m.deleted_ts.as_deref()?;
            let root = m
                .previous_message
                .as_ref()
                .and_then(|p| p.thread_ts.as_deref())
                .unwrap_or(ts);
            Some((
                format!("{channel}|{ts}|deleted"),
                channel.clone(),
                micros(ts)?,
                micros(root)?,
            ))
        }
        Some("message_changed") => {
            let inner = m.message.as_ref()?;
            let ts = inner.ts.as_deref()?;
            let edited = inner
                .edited
                .as_ref()
                .and_then(|e| e.ts.as_deref())
                .unwrap_or("");
            let root = inner.thread().unwrap_or(ts);
            Some((
                format!("{channel}|{ts}|{edited}"),
                channel.clone(),
                micros(ts)?,
                micros(root)?,
            ))
        }
        _ => {
            let ts = m.ts.as_deref()?;
            let edited = m
                .edited
                .as_ref()
                .and_then(|e| e.ts.as_deref())
                .unwrap_or("");
            let root = m.thread().unwrap_or(ts);
            Some((
                format!("{channel}|{ts}|{edited}"),
                channel.clone(),
                micros(ts)?,
                micros(root)?,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(v: serde_json::Value) -> Event {
        serde_json::from_value(v).unwrap()
    }

    fn key(e: &Event) -> String {
        match record(e) {
            Some(Write::Event { key, .. }) => key,
            other => panic!("a record: {other:?}"),
        }
    }

    #[test]
    fn a_message_live_and_from_history_is_one_record_and_an_edit_another() {
        let live = event(
            serde_json::json!({"type": "message", "channel": "C1", "user": "U1", "ts": "1.000100", "text": "hi"}),
        );
        let history = event(
            serde_json::json!({"type": "message", "channel": "C1", "user": "U1", "ts": "1.000100", "text": "hi", "reply_count": 2}),
        );
        assert_eq!(key(&live), key(&history));
        let edit = event(
            serde_json::json!({"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "9.0",
            "message": {"user": "U1", "ts": "1.000100", "text": "hi!", "edited": {"user": "U1", "ts": "5.0"}}}),
        );
        assert_ne!(key(&edit), key(&live));
        let Some(Write::Event { json, root, .. }) = record(&edit) else {
            panic!()
        };
        assert_eq!(root, 1_000_100);
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(
            key(&back),
            key(&edit),
            "the stored JSON reads back as the same event"
        );
    }

    #[test]
    fn reactions_are_kept_per_change_and_other_events_not_at_all() {
        let add = event(
            serde_json::json!({"type": "reaction_added", "user": "U1", "reaction": "white_check_mark",
            "item": {"type": "message", "channel": "C1", "ts": "1.0"}, "event_ts": "2.0"}),
        );
        let remove = event(
            serde_json::json!({"type": "reaction_removed", "user": "U1", "reaction": "white_check_mark",
            "item": {"type": "message", "channel": "C1", "ts": "1.0"}, "event_ts": "3.0"}),
        );
        assert_ne!(key(&add), key(&remove));
        let joined = event(
            serde_json::json!({"type": "member_joined_channel", "user": "U1", "channel": "C1"}),
        );
        assert!(record(&joined).is_none());
    }
}
