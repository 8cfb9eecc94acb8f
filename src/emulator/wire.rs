//! The emulator's own rendering of Slack objects as JSON.
//!
//! Deliberately separate from swarmdeck's client types (`crate::slack`): the two meet
//! only on the wire, so a mistake in one cannot hide in the other. Shapes follow the
//! payloads in `shared/slack-fixtures/` and Slack's API reference.

use super::world::{App, Bookmark, Channel, Message, User, UserGroup, World, fmt_ts};
use serde_json::{Value, json};

/// The (deprecated) verification token Slack still puts in every payload.
const VERIFICATION_TOKEN: &str = "emulator-verification-token";

/// When the seeded bots' profiles claim to have last changed.
const BOT_UPDATED: i64 = 1_700_000_000;

/// A message as history, replies and events show it. `include_metadata`: the caller's
/// rule (asked for, or posted by the calling app, as on real Slack).
pub(crate) fn message(world: &World, m: &Message, include_metadata: bool) -> Value {
    let mut obj = m.extra.clone();
    obj.insert("type".into(), json!("message"));
    if let Some(subtype) = &m.subtype {
        obj.insert("subtype".into(), json!(subtype));
    }
    obj.insert("text".into(), json!(m.text));
    if let Some(user) = &m.user {
        obj.insert("user".into(), json!(user));
    }
    if let Some(bot_id) = &m.bot_id {
        obj.insert("bot_id".into(), json!(bot_id));
        if let Some(app) = world.app_of_bot(bot_id) {
            obj.insert("app_id".into(), json!(app.app_id));
            obj.insert("bot_profile".into(), bot_profile(world, app));
        } else if let Some(app_id) = &m.app_id {
            obj.insert("app_id".into(), json!(app_id));
        }
    }
    if let Some(username) = &m.username {
        obj.insert("username".into(), json!(username));
    }
    obj.insert("ts".into(), json!(fmt_ts(m.ts)));
    if m.user.is_some() {
        obj.entry("team").or_insert(json!(world.team.id));
    }
    if let Some(blocks) = &m.blocks {
        obj.insert("blocks".into(), blocks.clone());
    }
    if let Some(attachments) = &m.attachments {
        obj.insert("attachments".into(), attachments.clone());
    }
    if let Some(thread_ts) = m.thread_ts {
        obj.insert("thread_ts".into(), json!(fmt_ts(thread_ts)));
        if m.is_reply() {
            if let Some(parent) = &m.parent_user_id {
                obj.insert("parent_user_id".into(), json!(parent));
            }
        } else {
            obj.insert("reply_count".into(), json!(m.reply_count));
            obj.insert("reply_users_count".into(), json!(m.reply_users.len()));
            // Slack lists at most five repliers on the root.
            let shown: Vec<&String> = m.reply_users.iter().take(5).collect();
            obj.insert("reply_users".into(), json!(shown));
            if let Some(latest) = m.latest_reply {
                obj.insert("latest_reply".into(), json!(fmt_ts(latest)));
            }
            obj.insert("is_locked".into(), json!(false));
            obj.insert("subscribed".into(), json!(false));
        }
    }
    if let Some((user, ts)) = &m.edited {
        obj.insert("edited".into(), json!({"user": user, "ts": fmt_ts(*ts)}));
    }
    if !m.reactions.is_empty() {
        let reactions: Vec<Value> = m
            .reactions
            .iter()
            .map(|r| json!({"name": r.name, "users": r.users, "count": r.users.len()}))
            .collect();
        obj.insert("reactions".into(), json!(reactions));
    }
    if let Some(metadata) = &m.metadata
        && include_metadata
    {
        obj.insert("metadata".into(), metadata.clone());
    }
    Value::Object(obj)
}

/// A bot as `bots.info` shows it.
pub(crate) fn bot(app: &App) -> Value {
    json!({
        "id": app.bot_id,
        "deleted": false,
        "name": app.name,
        "updated": BOT_UPDATED,
        "app_id": app.app_id,
        "user_id": app.bot_user_id,
        "icons": {
            "image_36": "https://a.slack-edge.com/80588/img/plugins/app/bot_36.png",
            "image_48": "https://a.slack-edge.com/80588/img/plugins/app/bot_48.png",
            "image_72": "https://a.slack-edge.com/80588/img/plugins/app/service_72.png",
        },
    })
}

/// A bot message's `bot_profile`: the bot as `bots.info` shows it, with its team and
/// without its user (the message carries that).
fn bot_profile(world: &World, app: &App) -> Value {
    let mut profile = bot(app);
    profile["team_id"] = json!(world.team.id);
    if let Some(fields) = profile.as_object_mut() {
        fields.remove("user_id");
    }
    profile
}

/// Which of a channel's caller-dependent fields an answer carries, as Slack's do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `conversations.list`: `is_member` and `num_members`.
    Listed,
    /// `users.conversations`: neither.
    Bare,
    /// One channel (`conversations.info`, `.create`, `.join`…): `is_member`, and
    /// `num_members` when asked for.
    One { with_num_members: bool },
}

impl Shape {
    pub(crate) const ONE: Shape = Shape::One {
        with_num_members: false,
    };
}

/// A channel as `bot` (the calling app's bot user) sees it.
pub(crate) fn channel(world: &World, c: &Channel, bot: &str, shape: Shape) -> Value {
    let mut v = json!({
        "id": c.id,
        "name": c.name,
        "is_channel": !c.is_private,
        "is_group": c.is_private && !c.is_im,
        "is_im": c.is_im,
        "is_mpim": false,
        "is_private": c.is_private,
        "created": c.created,
        "is_archived": c.is_archived,
        "is_general": c.is_general,
        "unlinked": 0,
        "name_normalized": c.name,
        "is_shared": false,
        "is_org_shared": false,
        "is_ext_shared": false,
        "is_pending_ext_shared": false,
        "pending_shared": [],
        "context_team_id": world.team.id,
        "updated": c.created * 1000,
        "parent_conversation": null,
        "creator": c.creator,
        "topic": {"value": c.topic.value, "creator": c.topic.creator, "last_set": c.topic.last_set},
        "purpose": {"value": c.purpose.value, "creator": c.purpose.creator, "last_set": c.purpose.last_set},
        "previous_names": c.previous_names,
    });
    if shape != Shape::Bare {
        v["is_member"] = json!(c.is_member(bot));
    }
    if matches!(
        shape,
        Shape::Listed
            | Shape::One {
                with_num_members: true
            }
    ) {
        v["num_members"] = json!(c.members.len());
    }
    v
}

/// A direct conversation as `conversations.open` with `return_im` shows it: the person
/// it is with in `user`.
pub(crate) fn im(c: &Channel, user: &str) -> Value {
    json!({
        "id": c.id,
        "created": c.created,
        "is_im": true,
        "is_org_shared": false,
        "user": user,
        "last_read": "0000000000.000000",
        "latest": null,
        "unread_count": 0,
        "unread_count_display": 0,
        "is_open": true,
        "priority": 0,
    })
}

pub(crate) fn user(world: &World, u: &User) -> Value {
    let is_bot = u.bot_id.is_some() || u.role == super::world::Role::Bot;
    let mut profile = json!({
        "real_name": u.real_name,
        "display_name": u.name,
        "real_name_normalized": u.real_name,
        "display_name_normalized": u.name,
        "title": u.title,
        "team": world.team.id,
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
    });
    if !is_bot {
        profile["email"] = json!(format!("{}@{}.example.com", u.name, world.team.domain));
    }
    for size in [24, 32, 48, 72, 192, 512] {
        profile[format!("image_{size}")] = json!(format!(
            "https://avatars.slack-edge.com/emulator/{}_{size}.png",
            u.id
        ));
    }
    if let Some(bot_id) = &u.bot_id {
        profile["bot_id"] = json!(bot_id);
        if let Some(app) = world.app_of_bot(bot_id) {
            profile["api_app_id"] = json!(app.app_id);
            profile["always_active"] = json!(true);
        }
    }
    json!({
        "id": u.id,
        "team_id": world.team.id,
        "name": u.name,
        "deleted": false,
        "real_name": u.real_name,
        "tz": u.tz,
        "tz_label": u.tz_label,
        "tz_offset": u.tz_offset,
        "profile": profile,
        "is_admin": false,
        "is_owner": false,
        "is_primary_owner": false,
        "is_restricted": false,
        "is_ultra_restricted": false,
        "is_bot": is_bot,
        "is_app_user": false,
        "updated": 1_700_000_000,
    })
}

pub(crate) fn usergroup(world: &World, g: &UserGroup, include_users: bool) -> Value {
    let mut v = json!({
        "id": g.id,
        "team_id": world.team.id,
        "is_usergroup": true,
        "is_subteam": true,
        "name": g.name,
        "description": g.description,
        "handle": g.handle,
        "is_external": false,
        "date_create": g.created,
        "date_update": g.created,
        "date_delete": 0,
        "auto_type": null,
        "created_by": world.first_app().bot_user_id,
        "updated_by": world.first_app().bot_user_id,
        "deleted_by": null,
        "prefs": {"channels": [], "groups": []},
        "user_count": g.users.len(),
    });
    if include_users {
        v["users"] = json!(g.users);
    }
    v
}

pub(crate) fn bookmark(world: &World, channel_id: &str, b: &Bookmark) -> Value {
    json!({
        "id": b.id,
        "channel_id": channel_id,
        "title": b.title,
        "link": b.link,
        "emoji": null,
        "icon_url": null,
        "type": "link",
        "entity_id": null,
        "date_created": b.created,
        "date_updated": 0,
        "rank": "U",
        "last_updated_by_user_id": b.by,
        "last_updated_by_team_id": world.team.id,
        "shortcut_id": null,
        "app_id": world.app_of_bot_user(&b.by).map(|a| a.app_id.as_str()),
    })
}

pub(crate) fn permalink(world: &World, channel_id: &str, m: &Message) -> String {
    let digits = fmt_ts(m.ts).replace('.', "");
    let mut link = format!(
        "https://{}.slack.com/archives/{channel_id}/p{digits}",
        world.team.domain
    );
    if let Some(thread_ts) = m.thread_ts.filter(|_| m.is_reply()) {
        link.push_str(&format!(
            "?thread_ts={}&cid={channel_id}",
            fmt_ts(thread_ts)
        ));
    }
    link
}

/// The `event_callback` payload that carries an event to `app`, with its envelope fields.
pub(crate) fn event_callback(
    world: &World,
    app: &App,
    event: Value,
    event_id: &str,
    event_time: i64,
) -> Value {
    let kind = event["type"].as_str().unwrap_or("event").to_string();
    let channel = event["channel"]
        .as_str()
        .or(event["item"]["channel"].as_str())
        .or(event["channel"]["id"].as_str())
        .unwrap_or("")
        .to_string();
    json!({
        "token": VERIFICATION_TOKEN,
        "team_id": world.team.id,
        "context_team_id": world.team.id,
        "context_enterprise_id": null,
        "api_app_id": app.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [{
            "enterprise_id": null,
            "team_id": world.team.id,
            "user_id": app.bot_user_id,
            "is_bot": true,
            "is_enterprise_install": false,
        }],
        "is_ext_shared_channel": false,
        "event_context": format!("4-{kind}-{}-{channel}", world.team.id),
    })
}

pub(crate) fn events_api_envelope(
    envelope_id: &str,
    payload: &Value,
    retry_attempt: u32,
    retry_reason: &str,
) -> Value {
    json!({
        "envelope_id": envelope_id,
        "payload": payload,
        "type": "events_api",
        "accepts_response_payload": false,
        "retry_attempt": retry_attempt,
        "retry_reason": retry_reason,
    })
}

/// A Socket Mode envelope for an interactive payload: unlike `events_api`, no retry fields.
pub(crate) fn interactive_envelope(envelope_id: &str, payload: &Value) -> Value {
    json!({
        "envelope_id": envelope_id,
        "payload": payload,
        "type": "interactive",
        "accepts_response_payload": false,
    })
}

/// Where a click happened and who made it, for [`block_actions`].
pub(crate) struct ClickSite<'a> {
    pub app: &'a App,
    pub user: &'a User,
    pub channel: &'a Channel,
    pub message: &'a Message,
    /// The click's number in this emulator: trigger ids and response URLs are unique by it.
    pub n: u64,
}

/// The `block_actions` payload Slack sends the app that posted `site.message` when
/// someone clicks one of its elements; `action` is the element as the click saw it.
pub(crate) fn block_actions(world: &World, site: &ClickSite, action: Value) -> Value {
    let (channel, m, n) = (site.channel, site.message, site.n);
    let secret = client_msg_id(&channel.id, m.ts ^ n).replace('-', "");
    json!({
        "type": "block_actions",
        "user": {
            "id": site.user.id,
            "username": site.user.name,
            "name": site.user.name,
            "team_id": world.team.id,
        },
        "api_app_id": site.app.app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": fmt_ts(m.ts),
            "channel_id": channel.id,
            "is_ephemeral": false,
        },
        "trigger_id": format!("{n}.{}.{secret}", m.ts / 1_000_000),
        "team": {"id": world.team.id, "domain": world.team.domain},
        "enterprise": null,
        "is_enterprise_install": false,
        // Slack names a direct conversation this way in interactive payloads.
        "channel": {
            "id": channel.id,
            "name": if channel.is_im { "directmessage" } else { channel.name.as_str() },
        },
        // As history shows it to the app that posted it: blocks and metadata included.
        "message": message(world, m, true),
        "state": {"values": {}},
        "response_url": format!("https://hooks.slack.com/actions/{}/{n}/{}", world.team.id, &secret[..24]),
        "actions": [action],
    })
}

pub(crate) fn hello(app_id: &str, host: &str, num_connections: usize) -> Value {
    json!({
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {
            "host": host,
            "build_number": 118,
            "approximate_connection_time": 18060,
        },
        "connection_info": {"app_id": app_id},
    })
}

pub(crate) fn disconnect(reason: &str, host: &str, app_id: &str, num_connections: usize) -> Value {
    json!({
        "type": "disconnect",
        "reason": reason,
        "num_connections": num_connections,
        "debug_info": {"host": host},
        "connection_info": {"app_id": app_id},
    })
}

/// The `rich_text` block Slack derives from a plain-text post: text runs, with user,
/// channel and link elements where the mrkdwn has `<@U…>`, `<#C…|name>`, `<url|label>`.
/// The `client_msg_id` a Slack client gives a person's post: a UUID, here derived from
/// where and when it was posted so that a seed replays alike.
pub(crate) fn client_msg_id(channel_id: &str, ts: u64) -> String {
    use std::hash::{Hash, Hasher};
    let mut halves = [0u64; 2];
    for (salt, half) in halves.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, channel_id, ts).hash(&mut h);
        *half = h.finish();
    }
    let hex = format!("{:016x}{:016x}", halves[0], halves[1]);
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

pub(crate) fn rich_text(text: &str, block_id: &str) -> Value {
    let mut elements = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        if open > 0 {
            elements.push(json!({"type": "text", "text": unescape(&rest[..open])}));
        }
        let inner = &rest[open + 1..open + close];
        let (target, label) = inner.split_once('|').unwrap_or((inner, ""));
        let element = if let Some(user) = target.strip_prefix('@') {
            json!({"type": "user", "user_id": user})
        } else if let Some(channel) = target.strip_prefix('#') {
            json!({"type": "channel", "channel_id": channel})
        } else if target.starts_with("http://")
            || target.starts_with("https://")
            || target.starts_with("mailto:")
        {
            if label.is_empty() {
                json!({"type": "link", "url": target})
            } else {
                json!({"type": "link", "url": target, "text": unescape(label)})
            }
        } else {
            json!({"type": "text", "text": unescape(&rest[open..open + close + 1])})
        };
        elements.push(element);
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        elements.push(json!({"type": "text", "text": unescape(rest)}));
    }
    json!({
        "type": "rich_text",
        "block_id": block_id,
        "elements": [{"type": "rich_text_section", "elements": elements}],
    })
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rich_text_splits_mentions_channels_and_links() {
        let block = rich_text(
            "hi <@U1> see <#C2|general> and <https://x.example/a|the doc> &amp; <https://y.example>",
            "b1",
        );
        let elements = &block["elements"][0]["elements"];
        assert_eq!(elements[0], json!({"type": "text", "text": "hi "}));
        assert_eq!(elements[1], json!({"type": "user", "user_id": "U1"}));
        assert_eq!(elements[3], json!({"type": "channel", "channel_id": "C2"}));
        assert_eq!(
            elements[5],
            json!({"type": "link", "url": "https://x.example/a", "text": "the doc"})
        );
        assert_eq!(elements[6], json!({"type": "text", "text": " & "}));
        assert_eq!(
            elements[7],
            json!({"type": "link", "url": "https://y.example"})
        );
        let plain = rich_text("no markup < here", "b2");
        assert_eq!(
            plain["elements"][0]["elements"][0]["text"],
            "no markup < here"
        );
    }
}
