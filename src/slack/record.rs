//! Which Slack events the store keeps, and under which key: a message by its channel,
//! ts and edit (a copy from history and the live one are the same record), a deletion
//! once, a reaction change by who, what and when. The JSON is the event as received,
//! before sanitising (the sanitiser runs again on replay). It sits beside `translate`
//! because both read Slack's wire types; the store gets plain rows and knows no Slack.

use super::Incoming;
use super::wire::{Event, Message};
use crate::store::Write;

/// The rows to keep for a delivery: the event (if the desk needs it), its id for the
/// dedupe window, and a channel's new name. `at` (secs) is when it was delivered.
pub(crate) fn rows(incoming: &Incoming, at: i64) -> Vec<Write> {
    let mut rows: Vec<Write> = record(&incoming.event).into_iter().collect();
    if let Some(id) = &incoming.event_id {
        rows.push(Write::SeenEvent {
            event_id: id.clone(),
            at,
        });
    }
    if let Event::ChannelCreated { channel } | Event::ChannelRename { channel } = &incoming.event {
        rows.push(Write::Channel {
            id: channel.id.clone(),
            name: channel.name.clone(),
        });
    }
    rows
}

/// A stored event's JSON read back (what [`record`] kept).
pub(crate) fn stored(json: &str) -> Option<Event> {
    serde_json::from_str(json).ok()
}

/// A timestamp string as microseconds.
fn micros(ts: &str) -> Option<i64> {
    crate::domain::Ts::parse(ts).map(|t| t.0)
}

/// The record to keep for an event, if it is one the desk needs (`pub`: tests and
/// benchmarks build stores with it).
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
        // A click, kept with the swarm its button names, so that a dashboard finds it
        // whichever process on the store received it; one naming no swarm is not ours.
        Event::BlockActions(b) => {
            let action = b.actions.first()?;
            let value = action
                .selected_option
                .as_ref()
                .map(|o| o.value.as_str())
                .or(action.value.as_deref())?;
            let swarm = crate::domain::asks::ButtonValue::parse(value)?.swarm;
            let at = action.action_ts.as_deref().and_then(micros)?;
            let key = format!(
                "{}|{}|click|{}|{at}",
                swarm.channel, swarm.thread_ts, b.user.id
            );
            (key, swarm.channel, at, swarm.thread_ts.0)
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
        // An edit is keyed as the message it changes, with its edit time.
        Some("message_changed") => posted_key(&channel, m.message.as_ref()?),
        _ => posted_key(&channel, m),
    }
}

/// A posted message (or its edited version) by channel, ts and edit.
fn posted_key(channel: &str, m: &Message) -> Option<(String, String, i64, i64)> {
    let ts = m.ts.as_deref()?;
    let edited = m
        .edited
        .as_ref()
        .and_then(|e| e.ts.as_deref())
        .unwrap_or("");
    let root = m.thread().unwrap_or(ts);
    Some((
        format!("{channel}|{ts}|{edited}"),
        channel.to_string(),
        micros(ts)?,
        micros(root)?,
    ))
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
    fn a_stored_bot_post_keeps_the_ids_peer_trust_goes_by() {
        // Replayed after a restart, a peer lead's marker must still be the peer's.
        let posted = event(
            serde_json::json!({"type": "message", "channel": "C1", "bot_id": "B0PEER", "app_id": "A0PEER",
            "bot_profile": {"id": "B0PEER", "name": "swarmdeck", "app_id": "A0PEER"}, "ts": "1.0", "text": "x"}),
        );
        let Some(Write::Event { json, .. }) = record(&posted) else {
            panic!("a record")
        };
        let Some(Event::Message(m)) = stored(&json) else {
            panic!("a message: {json}")
        };
        assert_eq!(
            (m.bot_id.as_deref(), m.app_id.as_deref()),
            (Some("B0PEER"), Some("A0PEER"))
        );
        assert_eq!(
            m.bot_profile.and_then(|b| b.app_id).as_deref(),
            Some("A0PEER")
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

    #[test]
    fn a_delivery_keeps_its_id_and_a_renamed_channel_its_name() {
        let incoming = |event: Event, id: Option<&str>| Incoming {
            event,
            event_id: id.map(str::to_string),
            source: super::super::Source::GapFill,
            received_at: std::time::Instant::now(),
        };
        let message = event(
            serde_json::json!({"type": "message", "channel": "C1", "user": "U1", "ts": "1.0", "text": "hi"}),
        );
        let rows = rows(&incoming(message.clone(), Some("Ev1")), 7);
        assert!(
            matches!(&rows[..], [Write::Event { .. }, Write::SeenEvent { event_id, at: 7 }] if event_id == "Ev1")
        );
        assert_eq!(
            super::rows(&incoming(message, None), 7).len(),
            1,
            "history has no event id"
        );
        let renamed = event(
            serde_json::json!({"type": "channel_rename", "channel": {"id": "C1", "name": "swarm-api", "created": 1}}),
        );
        let rows = super::rows(&incoming(renamed, None), 7);
        assert!(
            matches!(&rows[..], [Write::Channel { id, name }] if id == "C1" && name == "swarm-api")
        );
    }
}
