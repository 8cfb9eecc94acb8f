//! The emulated workspace: users, channels, messages, and the rules Slack applies to them.
//!
//! Every change that real Slack announces on the Events API returns the inner `event`
//! objects it causes, so the Web API, injected events and the workload all produce
//! the same events for the same change. Errors are Slack's own error strings.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub(crate) type ApiResult<T> = Result<T, &'static str>;

/// A message timestamp in microseconds since the epoch (`"1700000000.000100"` on the wire).
pub(crate) type Ts = u64;

pub(crate) fn fmt_ts(ts: Ts) -> String {
    format!("{}.{:06}", ts / 1_000_000, ts % 1_000_000)
}

/// Parses `"1700000000.000100"`, `"1700000000"` or `"1700000000.5"`.
pub(crate) fn parse_ts(s: &str) -> Option<Ts> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || frac.len() > 6 || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let micros: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Lead,
    Expert,
    Requester,
    Bot,
    Guest,
}

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub id: String,
    pub name: String,
    pub real_name: String,
    pub title: String,
    pub tz: String,
    pub tz_label: String,
    pub tz_offset: i64,
    pub role: Role,
    pub bot_id: Option<String>,
    pub presence_active: bool,
    pub skills: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct UserGroup {
    pub id: String,
    pub handle: String,
    pub name: String,
    pub description: String,
    pub users: Vec<String>,
    pub created: i64,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct TextField {
    pub value: String,
    pub creator: String,
    pub last_set: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct Bookmark {
    pub id: String,
    pub title: String,
    pub link: String,
    pub created: i64,
    pub by: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Reaction {
    pub name: String,
    pub users: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Message {
    pub ts: Ts,
    pub user: Option<String>,
    pub bot_id: Option<String>,
    pub app_id: Option<String>,
    pub subtype: Option<String>,
    pub username: Option<String>,
    pub text: String,
    pub blocks: Option<Value>,
    pub attachments: Option<Value>,
    pub thread_ts: Option<Ts>,
    pub parent_user_id: Option<String>,
    pub metadata: Option<Value>,
    pub reactions: Vec<Reaction>,
    pub edited: Option<(String, Ts)>,
    pub reply_count: u32,
    pub reply_users: Vec<String>,
    pub latest_reply: Option<Ts>,
    /// Fields an injected event carried that the emulator does not model
    /// (client_msg_id, bot_profile, files, …): echoed back as they came.
    pub extra: Map<String, Value>,
}

impl Message {
    pub(crate) fn is_reply(&self) -> bool {
        self.thread_ts.is_some_and(|t| t != self.ts)
    }

    /// Top-level messages and broadcast replies are what conversations.history lists.
    pub(crate) fn in_channel_history(&self) -> bool {
        !self.is_reply() || self.subtype.as_deref() == Some("thread_broadcast")
    }

    pub(crate) fn author(&self) -> Option<&str> {
        self.user.as_deref().or(self.bot_id.as_deref())
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub id: String,
    pub name: String,
    pub created: i64,
    pub creator: String,
    pub topic: TextField,
    pub purpose: TextField,
    pub members: Vec<String>,
    pub is_archived: bool,
    pub is_private: bool,
    pub is_general: bool,
    /// A direct message between the bot and one person.
    pub is_im: bool,
    pub previous_names: Vec<String>,
    pub bookmarks: Vec<Bookmark>,
    pub messages: BTreeMap<Ts, Message>,
}

impl Channel {
    pub(crate) fn new(id: String, name: String, creator: String, created: i64) -> Self {
        Self {
            id,
            name,
            created,
            creator,
            topic: TextField::default(),
            purpose: TextField::default(),
            members: Vec::new(),
            is_archived: false,
            is_private: false,
            is_general: false,
            is_im: false,
            previous_names: Vec::new(),
            bookmarks: Vec::new(),
            messages: BTreeMap::new(),
        }
    }

    pub(crate) fn is_member(&self, user: &str) -> bool {
        self.members.iter().any(|m| m == user)
    }

    pub(crate) fn channel_type(&self) -> &'static str {
        if self.is_private { "group" } else { "channel" }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Team {
    pub id: String,
    pub name: String,
    pub domain: String,
}

/// An app's identity in the workspace: the bot user and its bot id.
#[derive(Clone, Debug)]
pub(crate) struct App {
    pub app_id: String,
    pub bot_user_id: String,
    pub bot_id: String,
    pub name: String,
}

#[derive(Debug)]
pub(crate) struct World {
    pub team: Team,
    /// The apps installed, app 1 first; a token names its app by number (`-A2-`).
    pub apps: Vec<App>,
    pub users: Vec<User>,
    pub usergroups: Vec<UserGroup>,
    pub channels: Vec<Channel>,
    next_id: u64,
}

/// What posting needs beyond the channel: who, what, where in a thread.
#[derive(Clone, Debug, Default)]
pub(crate) struct Post {
    pub user: Option<String>,
    pub bot_id: Option<String>,
    pub app_id: Option<String>,
    pub subtype: Option<String>,
    pub username: Option<String>,
    pub text: String,
    pub blocks: Option<Value>,
    pub attachments: Option<Value>,
    pub thread_ts: Option<Ts>,
    pub reply_broadcast: bool,
    pub metadata: Option<Value>,
    pub extra: Map<String, Value>,
}

/// What an edit changes; `None` keeps the old value.
#[derive(Clone, Debug, Default)]
pub(crate) struct Edit {
    pub text: Option<String>,
    pub blocks: Option<Value>,
    pub metadata: Option<Value>,
}

pub(crate) const MAX_CHANNEL_NAME: usize = 80;
pub(crate) const MAX_TOPIC: usize = 250;
pub(crate) const MAX_TEXT: usize = 40_000;

/// Slack's rules for channel names, with its error strings.
pub(crate) fn validate_channel_name(name: &str) -> ApiResult<()> {
    if name.is_empty() {
        return Err("invalid_name_required");
    }
    if name.chars().count() > MAX_CHANNEL_NAME {
        return Err("invalid_name_maxlength");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err("invalid_name_specials");
    }
    if name.chars().all(|c| c == '-' || c == '_') {
        return Err("invalid_name_punctuation");
    }
    Ok(())
}

impl World {
    pub(crate) fn new(team: Team, app: App) -> Self {
        Self {
            team,
            apps: vec![app],
            users: Vec::new(),
            usergroups: Vec::new(),
            channels: Vec::new(),
            next_id: 1,
        }
    }

    /// A Slack-looking id: prefix, then uppercase base-36 digits.
    pub(crate) fn mint_id(&mut self, prefix: &str) -> String {
        let n = self.next_id;
        self.next_id += 1;
        format!("{prefix}0EMU{}", base36(n, 6))
    }

    /// App 1: the seeded history (backlog, user groups) is its doing.
    pub(crate) fn first_app(&self) -> &App {
        &self.apps[0]
    }

    /// The app whose bot posts as `bot_id`.
    pub(crate) fn app_of_bot(&self, bot_id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.bot_id == bot_id)
    }

    /// The app whose bot user is `user_id`.
    pub(crate) fn app_of_bot_user(&self, user_id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.bot_user_id == user_id)
    }

    pub(crate) fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Injected events may name users the seed does not know: Slack would know them.
    pub(crate) fn ensure_user(&mut self, id: &str) {
        if id.is_empty() || self.user(id).is_some() || self.app_of_bot(id).is_some() {
            return;
        }
        let is_bot_id = id.starts_with('B');
        let name = id.to_ascii_lowercase();
        self.users.push(User {
            id: id.to_string(),
            name: name.clone(),
            real_name: name,
            title: String::new(),
            tz: "UTC".into(),
            tz_label: "Coordinated Universal Time".into(),
            tz_offset: 0,
            role: if is_bot_id { Role::Bot } else { Role::Guest },
            bot_id: None,
            presence_active: true,
            skills: Vec::new(),
        });
    }

    /// Finds a channel by id, by name, or by `#name`: for the control API, the workload and
    /// `chat.postMessage`, the one method where Slack takes a name.
    pub(crate) fn find_channel(&self, key: &str) -> ApiResult<usize> {
        let name = key.strip_prefix('#').unwrap_or(key);
        self.channel_index(key)
            .or_else(|_| self.channels.iter().position(|c| c.name == name).ok_or(""))
            .map_err(|_| "channel_not_found")
    }

    /// Finds a channel by its id only, as Slack's `conversations.*`, `reactions.*` and
    /// `chat.update` do: a name there is `channel_not_found`.
    pub(crate) fn channel_index(&self, id: &str) -> ApiResult<usize> {
        self.channels
            .iter()
            .position(|c| c.id == id)
            .ok_or("channel_not_found")
    }

    pub(crate) fn channel(&self, id: &str) -> ApiResult<&Channel> {
        Ok(&self.channels[self.channel_index(id)?])
    }

    /// Checks that the calling app's bot may post or read here, as Slack does for a bot token.
    pub(crate) fn readable_channel(&self, id: &str, bot: &str) -> ApiResult<usize> {
        self.readable(self.channel_index(id)?, bot)
    }

    /// As `readable_channel`, for `chat.postMessage`, which also takes a name.
    pub(crate) fn postable_channel(&self, key: &str, bot: &str) -> ApiResult<usize> {
        self.readable(self.find_channel(key)?, bot)
    }

    fn readable(&self, idx: usize, bot: &str) -> ApiResult<usize> {
        let channel = &self.channels[idx];
        if channel.is_private && !channel.is_member(bot) {
            return Err("channel_not_found");
        }
        if !channel.is_member(bot) {
            return Err("not_in_channel");
        }
        Ok(idx)
    }

    pub(crate) fn post(&mut self, idx: usize, post: Post, ts: Ts) -> ApiResult<Value> {
        if self.channels[idx].is_archived {
            return Err("is_archived");
        }
        if post.text.chars().count() > MAX_TEXT {
            return Err("msg_too_long");
        }
        let thread_ts = post.thread_ts.filter(|t| *t != ts);
        let parent_user_id = thread_ts.and_then(|t| {
            self.channels[idx]
                .messages
                .get(&t)
                .and_then(|m| m.author().map(str::to_string))
        });
        let subtype = if thread_ts.is_some() && post.reply_broadcast {
            Some("thread_broadcast".to_string())
        } else {
            post.subtype
        };
        let mut extra = post.extra;
        let mut blocks = post.blocks;
        let by_a_person = post.user.is_some()
            && post.bot_id.is_none()
            && subtype.as_deref().is_none_or(|s| s == "thread_broadcast");
        if by_a_person && !extra.contains_key("client_msg_id") {
            // A person's Slack client names each post, and Slack builds `rich_text` blocks
            // from its text: today's user messages carry both. A payload that names its
            // client message is replayed as it came (older ones have no blocks).
            let channel_id = &self.channels[idx].id;
            extra.insert(
                "client_msg_id".into(),
                json!(super::wire::client_msg_id(channel_id, ts)),
            );
            if blocks.is_none() && !post.text.is_empty() {
                let block_id = super::methods::block_id(ts);
                blocks = Some(json!([super::wire::rich_text(&post.text, &block_id)]));
            }
        }
        let message = Message {
            ts,
            user: post.user,
            bot_id: post.bot_id,
            app_id: post.app_id,
            subtype,
            username: post.username,
            text: post.text,
            blocks,
            attachments: post.attachments,
            thread_ts,
            parent_user_id,
            metadata: post.metadata,
            extra,
            ..Message::default()
        };
        let channel = &mut self.channels[idx];
        if let Some(root_ts) = thread_ts
            && let Some(root) = channel.messages.get_mut(&root_ts)
        {
            root.thread_ts = Some(root_ts);
            root.reply_count += 1;
            if let Some(author) = message.author()
                && !root.reply_users.iter().any(|u| u == author)
            {
                root.reply_users.push(author.to_string());
            }
            root.latest_reply = Some(root.latest_reply.map_or(ts, |l| l.max(ts)));
        }
        channel.messages.insert(ts, message);
        Ok(self.message_event(idx, ts))
    }

    /// The `message` event for a stored message, as Slack sends it.
    pub(crate) fn message_event(&self, idx: usize, ts: Ts) -> Value {
        let channel = &self.channels[idx];
        let message = &channel.messages[&ts];
        let mut event = super::wire::message(self, message, true);
        let obj = event
            .as_object_mut()
            .expect("a message renders as an object");
        obj.insert("channel".into(), json!(channel.id));
        obj.insert("event_ts".into(), json!(fmt_ts(ts)));
        obj.insert("channel_type".into(), json!(channel.channel_type()));
        if message.subtype.as_deref() == Some("thread_broadcast")
            && let Some(root) = message.thread_ts.and_then(|t| channel.messages.get(&t))
        {
            obj.insert("root".into(), super::wire::message(self, root, true));
        }
        event
    }

    pub(crate) fn update(
        &mut self,
        idx: usize,
        ts: Ts,
        edit: Edit,
        edited_by: &str,
        event_ts: Ts,
    ) -> ApiResult<Value> {
        let previous = {
            let channel = &self.channels[idx];
            let message = channel.messages.get(&ts).ok_or("message_not_found")?;
            super::wire::message(self, message, true)
        };
        let channel = &mut self.channels[idx];
        let message = channel.messages.get_mut(&ts).ok_or("message_not_found")?;
        if let Some(text) = edit.text {
            message.text = text;
        }
        if edit.blocks.is_some() {
            message.blocks = edit.blocks;
        }
        if edit.metadata.is_some() {
            message.metadata = edit.metadata;
        }
        message.edited = Some((edited_by.to_string(), event_ts));
        let current = super::wire::message(self, &self.channels[idx].messages[&ts], true);
        let channel = &self.channels[idx];
        Ok(json!({
            "type": "message",
            "subtype": "message_changed",
            "message": current,
            "previous_message": previous,
            "channel": channel.id,
            "hidden": true,
            "ts": fmt_ts(event_ts),
            "event_ts": fmt_ts(event_ts),
            "channel_type": channel.channel_type(),
        }))
    }

    pub(crate) fn delete(&mut self, idx: usize, ts: Ts, event_ts: Ts) -> ApiResult<Value> {
        let removed = self.channels[idx]
            .messages
            .remove(&ts)
            .ok_or("message_not_found")?;
        let previous = super::wire::message(self, &removed, true);
        if let Some(root_ts) = removed.thread_ts.filter(|t| *t != ts) {
            self.recount_thread(idx, root_ts);
        }
        let channel = &self.channels[idx];
        Ok(json!({
            "type": "message",
            "subtype": "message_deleted",
            "previous_message": previous,
            "channel": channel.id,
            "hidden": true,
            "deleted_ts": fmt_ts(ts),
            "event_ts": fmt_ts(event_ts),
            "ts": fmt_ts(event_ts),
            "channel_type": channel.channel_type(),
        }))
    }

    fn recount_thread(&mut self, idx: usize, root_ts: Ts) {
        let channel = &mut self.channels[idx];
        let replies: Vec<(Ts, Option<String>)> = channel
            .messages
            .values()
            .filter(|m| m.thread_ts == Some(root_ts) && m.ts != root_ts)
            .map(|m| (m.ts, m.author().map(str::to_string)))
            .collect();
        if let Some(root) = channel.messages.get_mut(&root_ts) {
            root.reply_count = replies.len() as u32;
            root.reply_users.clear();
            for author in replies.iter().filter_map(|(_, a)| a.clone()) {
                if !root.reply_users.contains(&author) {
                    root.reply_users.push(author);
                }
            }
            root.latest_reply = replies.iter().map(|(t, _)| *t).max();
            if root.reply_count == 0 {
                root.thread_ts = None;
            }
        }
    }

    pub(crate) fn react(
        &mut self,
        idx: usize,
        ts: Ts,
        name: &str,
        user: &str,
        add: bool,
        event_ts: Ts,
    ) -> ApiResult<Value> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+-':".contains(c))
        {
            return Err("invalid_name");
        }
        let channel_id = self.channels[idx].id.clone();
        let message = self.channels[idx]
            .messages
            .get_mut(&ts)
            .ok_or("message_not_found")?;
        let item_user = message.author().map(str::to_string);
        let pos = message.reactions.iter().position(|r| r.name == name);
        if add {
            match pos {
                Some(i) if message.reactions[i].users.iter().any(|u| u == user) => {
                    return Err("already_reacted");
                }
                Some(i) => message.reactions[i].users.push(user.to_string()),
                None => message.reactions.push(Reaction {
                    name: name.to_string(),
                    users: vec![user.to_string()],
                }),
            }
        } else {
            let i = pos.ok_or("no_reaction")?;
            let before = message.reactions[i].users.len();
            message.reactions[i].users.retain(|u| u != user);
            if message.reactions[i].users.len() == before {
                return Err("no_reaction");
            }
            if message.reactions[i].users.is_empty() {
                message.reactions.remove(i);
            }
        }
        Ok(json!({
            "type": if add { "reaction_added" } else { "reaction_removed" },
            "user": user,
            "item": {"type": "message", "channel": channel_id, "ts": fmt_ts(ts)},
            "reaction": name,
            "item_user": item_user,
            "event_ts": fmt_ts(event_ts),
        }))
    }

    pub(crate) fn create_channel(
        &mut self,
        name: &str,
        is_private: bool,
        creator: &str,
        now_secs: i64,
    ) -> ApiResult<(usize, Value)> {
        validate_channel_name(name)?;
        if self.channels.iter().any(|c| c.name == name) {
            return Err("name_taken");
        }
        let id = self.mint_id(if is_private { "G" } else { "C" });
        let mut channel = Channel::new(id, name.to_string(), creator.to_string(), now_secs);
        channel.is_private = is_private;
        channel.members.push(creator.to_string());
        self.channels.push(channel);
        let idx = self.channels.len() - 1;
        let event = json!({
            "type": "channel_created",
            "channel": {
                "id": self.channels[idx].id,
                "name": name,
                "created": now_secs,
                "creator": creator,
            }
        });
        Ok((idx, event))
    }

    /// The direct message between `bot` (each app has its own) and `user`, opened on first use.
    /// The bot's direct conversation with `user`, opened if it was not: its index, and
    /// whether it was open already.
    pub(crate) fn open_dm(&mut self, user: &str, bot: &str, now_secs: i64) -> (usize, bool) {
        if let Some(idx) = self
            .channels
            .iter()
            .position(|c| c.is_im && c.is_member(bot) && c.is_member(user))
        {
            return (idx, true);
        }
        let id = self.mint_id("D");
        let mut channel = Channel::new(id, user.to_string(), bot.to_string(), now_secs);
        channel.is_private = true;
        channel.is_im = true;
        channel.members = vec![bot.to_string(), user.to_string()];
        self.channels.push(channel);
        (self.channels.len() - 1, false)
    }

    /// Adds members; Slack refuses the whole call if any is already in, unless `force`.
    pub(crate) fn invite(
        &mut self,
        idx: usize,
        users: &[String],
        inviter: &str,
        force: bool,
    ) -> Result<Vec<Value>, InviteError> {
        let channel = &self.channels[idx];
        if channel.is_archived {
            return Err(InviteError::simple("is_archived"));
        }
        if !channel.is_member(inviter) {
            return Err(InviteError::simple("not_in_channel"));
        }
        if users.is_empty() {
            return Err(InviteError::simple("no_user"));
        }
        let mut failures = Vec::new();
        for user in users {
            let error = if user == inviter {
                Some("cant_invite_self")
            } else if self.user(user).is_none() {
                Some("user_not_found")
            } else if channel.is_member(user) {
                Some("already_in_channel")
            } else {
                None
            };
            if let Some(error) = error {
                failures.push((user.clone(), error));
            }
        }
        // `force` invites the valid ones; with none valid, Slack still says why.
        if !failures.is_empty() && (!force || failures.len() == users.len()) {
            return Err(InviteError {
                error: failures[0].1,
                per_user: failures,
            });
        }
        let channel_id = channel.id.clone();
        let channel_type = if channel.is_private { "G" } else { "C" };
        let mut events = Vec::new();
        for user in users {
            if failures.iter().any(|(u, _)| u == user) {
                continue;
            }
            self.channels[idx].members.push(user.clone());
            events.push(json!({
                "type": "member_joined_channel",
                "user": user,
                "channel": channel_id,
                "channel_type": channel_type,
                "team": self.team.id,
                "inviter": inviter,
            }));
        }
        Ok(events)
    }

    pub(crate) fn set_text_field(
        &mut self,
        idx: usize,
        purpose: bool,
        value: &str,
        by: &str,
        now_secs: i64,
    ) -> ApiResult<()> {
        let channel = &mut self.channels[idx];
        if channel.is_archived {
            return Err("is_archived");
        }
        if value.chars().count() > MAX_TOPIC {
            return Err("too_long");
        }
        let field = if purpose {
            &mut channel.purpose
        } else {
            &mut channel.topic
        };
        *field = TextField {
            value: value.to_string(),
            creator: by.to_string(),
            last_set: now_secs,
        };
        Ok(())
    }
}

#[derive(Debug)]
pub(crate) struct InviteError {
    pub error: &'static str,
    pub per_user: Vec<(String, &'static str)>,
}

impl InviteError {
    fn simple(error: &'static str) -> Self {
        Self {
            error,
            per_user: Vec::new(),
        }
    }
}

pub(crate) fn base36(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).expect("base-36 digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_round_trips_and_rejects_junk() {
        assert_eq!(parse_ts("1610241741.000200"), Some(1_610_241_741_000_200));
        assert_eq!(fmt_ts(1_610_241_741_000_200), "1610241741.000200");
        assert_eq!(parse_ts("1610241741"), Some(1_610_241_741_000_000));
        assert_eq!(parse_ts("1610241741.5"), Some(1_610_241_741_500_000));
        for junk in ["", "abc", "1.2.3", ".5", "1.1234567", "-1"] {
            assert_eq!(parse_ts(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn channel_names_follow_slack_rules() {
        assert_eq!(validate_channel_name("support-api-sev1-27343"), Ok(()));
        assert_eq!(validate_channel_name(""), Err("invalid_name_required"));
        assert_eq!(
            validate_channel_name("Bad Name"),
            Err("invalid_name_specials")
        );
        assert_eq!(validate_channel_name("--"), Err("invalid_name_punctuation"));
        let long = "a".repeat(81);
        assert_eq!(validate_channel_name(&long), Err("invalid_name_maxlength"));
    }

    #[test]
    fn base36_pads_and_counts() {
        assert_eq!(base36(0, 3), "000");
        assert_eq!(base36(35, 1), "Z");
        assert_eq!(base36(36, 2), "10");
    }
}
