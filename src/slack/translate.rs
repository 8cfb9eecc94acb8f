//! The edge between Slack and the desk: wire events become typed domain inputs, text is
//! sanitised once, here, and swarmdeck's message metadata is decoded into markers (and
//! encoded for the posts that carry them). The desk never sees JSON.

use super::Identity;
use super::wire::{self, Block, Event, RichBlock, RichInline};
use crate::domain::asks::{Click, DeclineReason};
use crate::domain::text::sanitize;
use crate::domain::{Author, Input, Marker, MarkerKind, Msg, Ts};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Slack's own cap on message text; more than that is not a real message.
const MAX_TEXT: usize = 40_000;

/// Knows who "we" are, to tell swarmdeck's posts from everyone else's, and which other
/// leads' swarmdeck apps to trust as much as our own.
#[derive(Clone, Debug)]
pub struct Translator {
    bot_user_id: String,
    bot_id: Option<String>,
    /// Peer leads' bot ids (`B…`) and app ids (`A…`), from `[team] peer_bots`.
    peers: BTreeSet<String>,
}

impl Translator {
    pub fn new(identity: &Identity) -> Self {
        Translator {
            bot_user_id: identity.bot_user_id.clone(),
            bot_id: identity.bot_id.clone(),
            peers: BTreeSet::new(),
        }
    }

    pub fn from_ids(bot_user_id: &str, bot_id: Option<&str>) -> Self {
        Translator {
            bot_user_id: bot_user_id.to_string(),
            bot_id: bot_id.map(str::to_string),
            peers: BTreeSet::new(),
        }
    }

    /// Trusts other leads' swarmdeck apps (bot ids or app ids): their posts are
    /// swarmdeck's, so their markers count like our own.
    pub fn trusting(mut self, peers: &[String]) -> Self {
        self.peers.extend(peers.iter().cloned());
        self
    }

    /// The desk's inputs for one Slack event (none for events it does not use).
    pub fn translate(&self, event: &Event) -> Vec<Input> {
        match event {
            Event::Message(m) => self.message_event(m).into_iter().collect(),
            Event::ReactionAdded(r) | Event::ReactionRemoved(r) => {
                let (Some(channel), Some(ts)) = (&r.item.channel, r.item.ts.as_deref()) else {
                    return Vec::new();
                };
                let Some(ts) = Ts::parse(ts) else {
                    return Vec::new();
                };
                vec![Input::Reaction {
                    channel: channel.clone(),
                    ts,
                    name: r.reaction.clone(),
                    user: r.user.clone(),
                    added: matches!(event, Event::ReactionAdded(_)),
                    at: r.event_ts.as_deref().and_then(Ts::parse),
                }]
            }
            Event::ChannelCreated { channel } | Event::ChannelRename { channel } => {
                vec![Input::ChannelNamed {
                    id: channel.id.clone(),
                    name: sanitize(&channel.name, 80),
                }]
            }
            Event::UserChange { user } => vec![Input::UserNamed {
                user: user.id.clone(),
                name: display_name(user),
            }],
            Event::BlockActions(b) => self.clicks(b),
            _ => Vec::new(),
        }
    }

    fn message_event(&self, m: &wire::Message) -> Option<Input> {
        let channel = m.channel.clone()?;
        match m.subtype.as_deref() {
            Some("message_deleted") => Some(Input::Deleted {
                channel,
                ts: Ts::parse(m.deleted_ts.as_deref()?)?,
            }),
            Some("message_changed") => {
                let inner = m.message.as_deref()?;
                if inner.subtype.as_deref() == Some("tombstone") {
                    return Some(Input::Deleted {
                        channel,
                        ts: Ts::parse(inner.ts.as_deref()?)?,
                    });
                }
                if inner.ts.is_some() {
                    return self.message(inner, &channel).map(Input::Message);
                }
                // Some edits carry the message's ts only on the previous version.
                let previous = m.previous_message.as_deref()?;
                let mut inner = inner.clone();
                inner.ts = previous.ts.clone();
                inner.thread_ts = inner.thread_ts.or_else(|| previous.thread_ts.clone());
                self.message(&inner, &channel).map(Input::Message)
            }
            _ => self.message(m, &channel).map(Input::Message),
        }
    }

    /// A posted message (event or history page) as the desk sees it; `None` for the
    /// subtypes that are not conversation (joins, topic changes…).
    pub fn message(&self, m: &wire::Message, channel: &str) -> Option<Msg> {
        match m.subtype.as_deref() {
            None | Some("bot_message" | "thread_broadcast" | "file_share" | "me_message") => {}
            Some(_) => return None,
        }
        let ts = Ts::parse(m.ts.as_deref()?)?;
        let author = self.author(m);
        let marker = match (&author, &m.metadata) {
            (Author::Us, Some(meta)) => match decode_marker(meta) {
                Ok(marker) => marker,
                Err(reason) => {
                    tracing::warn!(channel, ts = %ts, reason, "skipped swarmdeck metadata that could not be read");
                    None
                }
            },
            _ => None,
        };
        Some(Msg {
            channel: channel.to_string(),
            ts,
            thread_ts: m.thread_ts.as_deref().and_then(Ts::parse),
            author,
            text: sanitize(&m.text, MAX_TEXT),
            block_texts: block_texts(&m.blocks),
            marker,
            edited: m
                .edited
                .as_ref()
                .and_then(|e| e.ts.as_deref())
                .and_then(Ts::parse),
            reactions: m
                .reactions
                .iter()
                .map(|r| (r.name.clone(), r.users.clone()))
                .collect(),
            latest_reply: m.latest_reply.as_deref().and_then(Ts::parse),
        })
    }

    /// A click on a message: one input per action it carries (Slack sends one).
    fn clicks(&self, b: &wire::BlockActions) -> Vec<Input> {
        let channel = b
            .container
            .channel_id
            .clone()
            .or_else(|| b.channel.as_ref().map(|c| c.id.clone()));
        let message_ts = b
            .container
            .message_ts
            .as_deref()
            .or_else(|| b.message.as_ref().and_then(|m| m.ts.as_deref()))
            .and_then(Ts::parse);
        let (Some(channel), Some(message_ts)) = (channel, message_ts) else {
            return Vec::new();
        };
        let on_our_message = b
            .message
            .as_ref()
            .is_some_and(|m| self.author(m) == Author::Us);
        b.actions
            .iter()
            .map(|a| {
                let value = a
                    .selected_option
                    .as_ref()
                    .map(|o| o.value.clone())
                    .or_else(|| a.value.clone())
                    .unwrap_or_default();
                Input::Click(Click {
                    user: b.user.id.clone(),
                    action_id: sanitize(&a.action_id, 255),
                    value: sanitize(&value, 2_000),
                    channel: channel.clone(),
                    message_ts,
                    on_our_message,
                    at: a.action_ts.as_deref().and_then(Ts::parse),
                })
            })
            .collect()
    }

    fn author(&self, m: &wire::Message) -> Author {
        let ours = m.user.as_deref() == Some(self.bot_user_id.as_str())
            || (m.bot_id.is_some() && m.bot_id == self.bot_id);
        if ours || self.posted_by_a_peer(m) {
            Author::Us
        } else if m.bot_id.is_some() || m.subtype.as_deref() == Some("bot_message") {
            Author::Bot {
                bot_id: m.bot_id.clone(),
            }
        } else if let Some(user) = &m.user {
            Author::Person(user.clone())
        } else {
            Author::Bot { bot_id: None }
        }
    }

    /// Whether a peer lead's swarmdeck bot posted it. Only the ids Slack sets on an app's
    /// post decide (`bot_id`, `app_id`, `bot_profile.app_id`), never what a poster
    /// writes (username, text, metadata), and only on a bot's post: a person's message
    /// is never a peer's, whatever app it went through.
    fn posted_by_a_peer(&self, m: &wire::Message) -> bool {
        let Some(bot_id) = m.bot_id.as_deref() else {
            return false;
        };
        let app_ids = [
            m.app_id.as_deref(),
            m.bot_profile.as_ref().and_then(|b| b.app_id.as_deref()),
        ];
        self.peers.contains(bot_id)
            || app_ids
                .into_iter()
                .flatten()
                .any(|a| self.peers.contains(a))
    }
}

/// Who wrote a message event (an edit's author is on the message inside it), for names
/// to be asked of Slack: the user id, as Slack sent it.
pub fn author(event: &Event) -> Option<&str> {
    let Event::Message(m) = event else {
        return None;
    };
    m.user
        .as_deref()
        .or_else(|| m.message.as_deref().and_then(|inner| inner.user.as_deref()))
}

/// A channel's id and name as the desk may show it (Slack restricts channel names, but
/// anything that reaches a cell goes through the sanitiser).
pub fn channel_name(id: &str, name: &str) -> (String, String) {
    (id.to_string(), sanitize(name, 80))
}

/// A person's name as Slack shows it: display name, else real name, else handle.
pub fn display_name(user: &wire::User) -> String {
    let name = [
        user.profile.display_name.as_deref(),
        user.profile.real_name.as_deref(),
        user.real_name.as_deref(),
        Some(user.name.as_str()),
    ]
    .into_iter()
    .flatten()
    .find(|n| !n.trim().is_empty())
    .unwrap_or(user.id.as_str());
    sanitize(name, 80)
}

/// The text of a message's blocks, a string per section text, field, header, context
/// and rich text block, in order, sanitised: intake reads these before the fallback.
pub fn block_texts(blocks: &[Block]) -> Vec<String> {
    let mut out = Vec::new();
    for block in blocks {
        match block {
            Block::Section { text, fields } => {
                out.extend(text.iter().map(|t| t.text.clone()));
                out.extend(fields.iter().map(|f| f.text.clone()));
            }
            Block::Header { text } => out.push(text.text.clone()),
            Block::Context { elements } => {
                out.extend(elements.iter().filter_map(|e| e.text.clone()));
            }
            Block::RichText { elements } => {
                let mut text = String::new();
                for e in elements {
                    rich_block(e, &mut text);
                }
                out.push(text);
            }
            Block::Other => {}
        }
    }
    out.into_iter()
        .map(|t| sanitize(&t, MAX_TEXT))
        .filter(|t| !t.trim().is_empty())
        .collect()
}

fn rich_block(block: &RichBlock, out: &mut String) {
    match block {
        RichBlock::Section { elements }
        | RichBlock::Preformatted { elements }
        | RichBlock::Quote { elements } => {
            for e in elements {
                rich_inline(e, out);
            }
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
        RichBlock::List { elements } => {
            for item in elements {
                out.push_str("• ");
                rich_block(item, out);
            }
        }
        RichBlock::Other => {}
    }
}

/// Rich text written back as Slack's mrkdwn markup, which is what intake reads.
fn rich_inline(inline: &RichInline, out: &mut String) {
    match inline {
        RichInline::Text { text } => out.push_str(text),
        RichInline::User { user_id } => out.push_str(&format!("<@{user_id}>")),
        RichInline::Channel { channel_id } => out.push_str(&format!("<#{channel_id}>")),
        RichInline::UserGroup { usergroup_id } => {
            out.push_str(&format!("<!subteam^{usergroup_id}>"))
        }
        RichInline::Link { url, text } => match text {
            Some(t) => out.push_str(&format!("<{url}|{t}>")),
            None => out.push_str(&format!("<{url}>")),
        },
        RichInline::Emoji { name } => out.push_str(&format!(":{name}:")),
        RichInline::Broadcast { range } => out.push_str(&format!("<!{range}>")),
        RichInline::Other => {}
    }
}

/// Decodes swarmdeck's metadata; `Ok(None)` for metadata that is not ours.
pub fn decode_marker(meta: &wire::Metadata) -> Result<Option<Marker>, String> {
    let p = &meta.event_payload;
    let text = |key: &str| -> Result<String, String> {
        p.get(key)
            .and_then(Value::as_str)
            .map(|s| sanitize(s, 2_000))
            .ok_or_else(|| format!("{}: `{key}` is missing", meta.event_type))
    };
    let kind = match meta.event_type.as_str() {
        "swarmdeck_assigned" => MarkerKind::Assigned {
            expert: text("expert")?,
        },
        "swarmdeck_unassigned" => MarkerKind::Unassigned {
            expert: text("expert")?,
        },
        "swarmdeck_promoted" => MarkerKind::Promoted {
            channel_id: text("incident_channel_id")?,
            channel_name: text("incident_channel")?,
        },
        "swarmdeck_resolved" => MarkerKind::Resolved {
            resolution: text("resolution").unwrap_or_default(),
        },
        "swarmdeck_reopened" => MarkerKind::Reopened,
        "swarmdeck_replied" => MarkerKind::Replied,
        "swarmdeck_asked" => MarkerKind::Asked {
            expert: text("expert")?,
            ask: text("ask")?,
        },
        "swarmdeck_declined" => MarkerKind::Declined {
            expert: text("expert")?,
            ask: text("ask")?,
            reason: DeclineReason::parse(&text("reason")?)
                .ok_or("swarmdeck_declined: `reason` is not one swarmdeck knows")?,
        },
        "swarmdeck_duplicate" => {
            let (of_channel, of_ts) =
                swarm_ref(&text("of")?).ok_or("swarmdeck_duplicate: `of` is not <channel>/<ts>")?;
            MarkerKind::Duplicate {
                of_channel,
                of_ts,
                case: text("of_case").unwrap_or_default(),
            }
        }
        "swarmdeck_duplicate_linked" => {
            let (duplicate_channel, duplicate_ts) = swarm_ref(&text("duplicate")?)
                .ok_or("swarmdeck_duplicate_linked: `duplicate` is not <channel>/<ts>")?;
            MarkerKind::DuplicateLinked {
                duplicate_channel,
                duplicate_ts,
                case: text("duplicate_case").unwrap_or_default(),
            }
        }
        "swarmdeck_waiting" => MarkerKind::Waiting {
            on: p
                .get("waiting")
                .and_then(Value::as_bool)
                .ok_or("swarmdeck_waiting: `waiting` is missing")?,
        },
        "swarmdeck_follow_up" => MarkerKind::FollowUp {
            next_steps: text("next_steps")?,
            due: p
                .get("follow_up_at")
                .and_then(Value::as_i64)
                .map(Ts::from_secs)
                .ok_or("swarmdeck_follow_up: `follow_up_at` is missing")?,
        },
        "swarmdeck_update" => MarkerKind::StatusUpdate {
            status: text("status")?,
            next_update_at: p
                .get("next_update_at")
                .and_then(Value::as_i64)
                .map(Ts::from_secs),
        },
        _ => return Ok(None),
    };
    Ok(Some(Marker {
        lead: p.get("lead").and_then(Value::as_str).map(str::to_string),
        kind,
    }))
}

/// A swarm named in a marker as `<channel>/<thread ts>`.
fn swarm_ref(s: &str) -> Option<(String, Ts)> {
    let (channel, ts) = s.split_once('/')?;
    (!channel.is_empty()).then_some(())?;
    Some((channel.to_string(), Ts::parse(ts)?))
}

/// The `metadata` argument of chat.postMessage for a marker; `case` rides along so that
/// people reading the metadata elsewhere know which case it is about.
pub fn encode_marker(marker: &Marker, case: &str) -> Value {
    let mut payload = json!({ "case": case });
    if let Some(lead) = &marker.lead {
        payload["lead"] = json!(lead);
    }
    match &marker.kind {
        MarkerKind::Assigned { expert } | MarkerKind::Unassigned { expert } => {
            payload["expert"] = json!(expert);
        }
        MarkerKind::Promoted {
            channel_id,
            channel_name,
        } => {
            payload["incident_channel_id"] = json!(channel_id);
            payload["incident_channel"] = json!(channel_name);
        }
        MarkerKind::Resolved { resolution } => payload["resolution"] = json!(resolution),
        MarkerKind::Reopened | MarkerKind::Replied => {}
        MarkerKind::Asked { expert, ask } => {
            payload["expert"] = json!(expert);
            payload["ask"] = json!(ask);
        }
        MarkerKind::Declined {
            expert,
            ask,
            reason,
        } => {
            payload["expert"] = json!(expert);
            payload["ask"] = json!(ask);
            payload["reason"] = json!(reason.code());
        }
        MarkerKind::Duplicate {
            of_channel,
            of_ts,
            case,
        } => {
            payload["of"] = json!(format!("{of_channel}/{of_ts}"));
            payload["of_case"] = json!(case);
        }
        MarkerKind::DuplicateLinked {
            duplicate_channel,
            duplicate_ts,
            case,
        } => {
            payload["duplicate"] = json!(format!("{duplicate_channel}/{duplicate_ts}"));
            payload["duplicate_case"] = json!(case);
        }
        MarkerKind::Waiting { on } => payload["waiting"] = json!(on),
        MarkerKind::FollowUp { next_steps, due } => {
            payload["next_steps"] = json!(next_steps);
            payload["follow_up_at"] = json!(due.secs());
        }
        MarkerKind::StatusUpdate {
            status,
            next_update_at,
        } => {
            payload["status"] = json!(status);
            if let Some(at) = next_update_at {
                payload["next_update_at"] = json!(at.secs());
            }
        }
    }
    json!({ "event_type": marker.kind.event_type(), "event_payload": payload })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(v: Value) -> wire::Metadata {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_marker_survives_the_round_trip_through_metadata() {
        let kinds = [
            MarkerKind::Assigned {
                expert: "U1".into(),
            },
            MarkerKind::Unassigned {
                expert: "U1".into(),
            },
            MarkerKind::Promoted {
                channel_id: "C9".into(),
                channel_name: "support-api-sev1-27343".into(),
            },
            MarkerKind::Resolved {
                resolution: "purged the cache".into(),
            },
            MarkerKind::Reopened,
            MarkerKind::Replied,
            MarkerKind::Asked {
                expert: "U1".into(),
                ask: "a1-2-3".into(),
            },
            MarkerKind::Declined {
                expert: "U1".into(),
                ask: "a1-2-3".into(),
                reason: DeclineReason::OutOfOffice,
            },
            MarkerKind::Waiting { on: true },
            MarkerKind::Duplicate {
                of_channel: "C1".into(),
                of_ts: Ts::parse("1712345678.000100").unwrap(),
                case: "27343".into(),
            },
            MarkerKind::DuplicateLinked {
                duplicate_channel: "C2".into(),
                duplicate_ts: Ts::parse("1712345679.000200").unwrap(),
                case: "27400".into(),
            },
            MarkerKind::FollowUp {
                next_steps: "call them".into(),
                due: Ts::from_secs(1_700_000_000),
            },
            MarkerKind::StatusUpdate {
                status: "mitigated, monitoring".into(),
                next_update_at: Some(Ts::from_secs(1_700_001_800)),
            },
            MarkerKind::StatusUpdate {
                status: "resolved".into(),
                next_update_at: None,
            },
        ];
        for kind in kinds {
            let marker = Marker {
                lead: Some("U0LEAD".into()),
                kind,
            };
            let wire = meta(encode_marker(&marker, "27343"));
            assert_eq!(decode_marker(&wire).unwrap(), Some(marker));
        }
    }

    #[test]
    fn foreign_and_broken_metadata() {
        let other = meta(json!({"event_type": "task_created", "event_payload": {"id": 1}}));
        assert_eq!(decode_marker(&other).unwrap(), None);
        let broken = meta(json!({"event_type": "swarmdeck_assigned", "event_payload": {}}));
        assert!(decode_marker(&broken).unwrap_err().contains("expert"));
    }

    #[test]
    fn our_posts_others_bots_and_people() {
        let t = Translator::from_ids("U0BOT", Some("B0BOT"));
        let msg = |v: Value| -> wire::Message { serde_json::from_value(v).unwrap() };
        let ours = t
            .message(
                &msg(json!({"ts": "1.1", "bot_id": "B0BOT", "text": "x"})),
                "C1",
            )
            .unwrap();
        assert_eq!(ours.author, Author::Us);
        let ours = t
            .message(
                &msg(json!({"ts": "1.1", "user": "U0BOT", "text": "x"})),
                "C1",
            )
            .unwrap();
        assert_eq!(ours.author, Author::Us);
        let wf = t
            .message(
                &msg(json!({"ts": "1.1", "subtype": "bot_message", "bot_id": "B0WF", "text": "x"})),
                "C1",
            )
            .unwrap();
        assert_eq!(
            wf.author,
            Author::Bot {
                bot_id: Some("B0WF".into())
            }
        );
        let person = t
            .message(
                &msg(json!({"ts": "1.1", "user": "U7", "text": "a\u{1b}[2Jb"})),
                "C1",
            )
            .unwrap();
        assert_eq!(
            (person.author, person.text.as_str()),
            (Author::Person("U7".into()), "ab")
        );
        assert!(
            t.message(
                &msg(json!({"ts": "1.1", "subtype": "channel_join", "user": "U7"})),
                "C1"
            )
            .is_none()
        );
    }

    #[test]
    fn a_history_root_says_when_its_thread_last_had_a_reply() {
        let t = Translator::from_ids("U0BOT", Some("B0BOT"));
        let root: wire::Message = serde_json::from_value(json!({
            "ts": "1700000000.000100", "thread_ts": "1700000000.000100", "user": "U7",
            "text": "Case: 1", "reply_count": 2, "latest_reply": "1700000600.000200"
        }))
        .unwrap();
        assert_eq!(
            t.message(&root, "C1").unwrap().latest_reply,
            Ts::parse("1700000600.000200")
        );
        // A live post says nothing of replies.
        let live: wire::Message =
            serde_json::from_value(json!({"ts": "1.1", "user": "U7", "text": "x"})).unwrap();
        assert_eq!(t.message(&live, "C1").unwrap().latest_reply, None);
    }

    #[test]
    fn metadata_from_anyone_else_is_not_a_marker() {
        let t = Translator::from_ids("U0BOT", Some("B0BOT"));
        let forged: wire::Message = serde_json::from_value(json!({
            "ts": "1.2", "thread_ts": "1.1", "user": "U7", "text": "assigned",
            "metadata": {"event_type": "swarmdeck_resolved", "event_payload": {"resolution": "x"}}
        }))
        .unwrap();
        assert_eq!(t.message(&forged, "C1").unwrap().marker, None);
    }

    /// Another lead's swarmdeck app, as Slack sends its assign post: bot id, app id and
    /// bot profile set by Slack; a marker naming a real expert.
    fn peer_assign(bot_id: &str, app_id: &str) -> wire::Message {
        serde_json::from_value(json!({
            "ts": "1.2", "thread_ts": "1.1", "bot_id": bot_id, "app_id": app_id,
            "user": "U0PEERBOT", "username": "swarmdeck", "text": "assigned <@U0EXP00001>",
            "bot_profile": {"id": bot_id, "name": "swarmdeck", "app_id": app_id},
            "metadata": {"event_type": "swarmdeck_assigned",
                "event_payload": {"case": "27343", "expert": "U0EXP00001", "lead": "U0PEERLEAD"}}
        }))
        .unwrap()
    }

    fn assigned_by_the_peer() -> Option<Marker> {
        Some(Marker {
            lead: Some("U0PEERLEAD".into()),
            kind: MarkerKind::Assigned {
                expert: "U0EXP00001".into(),
            },
        })
    }

    #[test]
    fn a_peer_leads_marker_counts_by_its_bot_id_or_its_app_id() {
        let ours = Translator::from_ids("U0BOT", Some("B0BOT"));
        let by_bot = ours.clone().trusting(&["B0PEER".into()]);
        let msg = by_bot
            .message(&peer_assign("B0PEER", "A0PEER"), "C1")
            .unwrap();
        assert_eq!(msg.author, Author::Us);
        assert_eq!(msg.marker, assigned_by_the_peer());
        let by_app = ours.clone().trusting(&["A0PEER".into()]);
        assert_eq!(
            by_app
                .message(&peer_assign("B0PEER", "A0PEER"), "C1")
                .unwrap()
                .marker,
            assigned_by_the_peer()
        );
        // Slack names the app on the bot profile too; either place is Slack's own.
        let mut profile_only = peer_assign("B0PEER", "A0PEER");
        profile_only.app_id = None;
        assert_eq!(
            by_app.message(&profile_only, "C1").unwrap().marker,
            assigned_by_the_peer()
        );
        // Untrusted, the same post is another app's and its metadata nobody's moves.
        let untrusted = ours
            .message(&peer_assign("B0PEER", "A0PEER"), "C1")
            .unwrap();
        assert_eq!(
            (untrusted.author, untrusted.marker),
            (
                Author::Bot {
                    bot_id: Some("B0PEER".into())
                },
                None
            )
        );
    }

    #[test]
    fn a_third_bots_identical_marker_is_not_honoured() {
        let t = Translator::from_ids("U0BOT", Some("B0BOT"))
            .trusting(&["B0PEER".into(), "A0PEER".into()]);
        let third = t.message(&peer_assign("B0THIRD", "A0THIRD"), "C1").unwrap();
        assert_eq!(third.marker, None);
        assert!(matches!(third.author, Author::Bot { .. }));
        // Calling itself swarmdeck, or naming the peer lead, changes nothing.
        let mut posing: wire::Message = peer_assign("B0THIRD", "A0THIRD");
        posing.username = Some("swarmdeck".into());
        posing.bot_profile = Some(wire::BotProfile {
            id: Some("B0THIRD".into()),
            name: Some("swarmdeck".into()),
            app_id: Some("A0THIRD".into()),
        });
        assert_eq!(t.message(&posing, "C1").unwrap().marker, None);
    }

    #[test]
    fn a_persons_forged_marker_naming_a_real_expert_is_not_honoured() {
        let t = Translator::from_ids("U0BOT", Some("B0BOT"))
            .trusting(&["B0PEER".into(), "A0PEER".into()]);
        // A person's post carries no bot id; the app id of whatever client they used
        // does not make it a bot's post.
        let forged: wire::Message = serde_json::from_value(json!({
            "ts": "1.2", "thread_ts": "1.1", "user": "U7", "app_id": "A0PEER",
            "username": "swarmdeck", "text": "assigned <@U0EXP00001>",
            "metadata": {"event_type": "swarmdeck_assigned",
                "event_payload": {"case": "27343", "expert": "U0EXP00001", "lead": "U0PEERLEAD"}}
        }))
        .unwrap();
        let msg = t.message(&forged, "C1").unwrap();
        assert_eq!(
            (msg.author, msg.marker),
            (Author::Person("U7".into()), None)
        );
    }

    #[test]
    fn a_peers_edited_marker_post_is_still_the_peers() {
        let t = Translator::from_ids("U0BOT", Some("B0BOT")).trusting(&["A0PEER".into()]);
        let mut inner = peer_assign("B0PEER", "A0PEER");
        inner.thread_ts = Some("1.1".into());
        let edit = Event::Message(Box::new(wire::Message {
            subtype: Some("message_changed".into()),
            channel: Some("C1".into()),
            ts: Some("2.0".into()),
            message: Some(Box::new(inner)),
            ..wire::Message::default()
        }));
        let inputs = t.translate(&edit);
        let [Input::Message(msg)] = inputs.as_slice() else {
            panic!("one message: {inputs:?}")
        };
        assert_eq!(msg.marker, assigned_by_the_peer());
    }

    #[test]
    fn a_message_and_an_edit_name_their_author() {
        let event = |v: Value| -> Event { serde_json::from_value(v).unwrap() };
        let posted = event(
            json!({"type": "message", "channel": "C1", "user": "U7", "ts": "1.1", "text": "x"}),
        );
        assert_eq!(author(&posted), Some("U7"));
        let edited = event(
            json!({"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "2.0",
            "message": {"user": "U8", "ts": "1.1", "text": "y"}}),
        );
        assert_eq!(author(&edited), Some("U8"));
        let reaction = event(
            json!({"type": "reaction_added", "user": "U7", "reaction": "eyes",
            "item": {"type": "message", "channel": "C1", "ts": "1.1"}}),
        );
        assert_eq!(
            author(&reaction),
            None,
            "only messages have authors to name"
        );
    }
}
