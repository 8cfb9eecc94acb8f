//! The Web API methods: Slack's rules on the emulated workspace.

use super::clock::Clock;
use super::params::Params;
use super::wire;
use super::world::{ApiResult, App, Bookmark, Edit, Message, Post, Ts, World, fmt_ts, parse_ts};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

/// A method's failure: Slack's error string and any extra fields it sends with it.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub error: &'static str,
    pub extra: Map<String, Value>,
}

impl From<&'static str> for ApiError {
    fn from(error: &'static str) -> Self {
        Self {
            error,
            extra: Map::new(),
        }
    }
}

pub(crate) type MethodResult = Result<Value, ApiError>;

/// Which token a method takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Bot,
    App,
}

pub(crate) const METHODS: &[&str] = &[
    "auth.test",
    "apps.connections.open",
    "conversations.list",
    "conversations.info",
    "conversations.history",
    "conversations.replies",
    "conversations.members",
    "conversations.create",
    "conversations.invite",
    "conversations.join",
    "conversations.setTopic",
    "conversations.setPurpose",
    "conversations.archive",
    "conversations.rename",
    "conversations.open",
    "users.conversations",
    "chat.postMessage",
    "chat.update",
    "chat.getPermalink",
    "reactions.add",
    "reactions.remove",
    "reactions.get",
    "users.list",
    "users.info",
    "users.getPresence",
    "usergroups.list",
    "usergroups.users.list",
    "bookmarks.add",
    "bookmarks.list",
    "bots.info",
];

/// Every bot scope the emulator knows; granted by default (swarmdeck's manifest asks for these).
pub const ALL_BOT_SCOPES: &[&str] = &[
    "bookmarks:read",
    "bookmarks:write",
    "channels:history",
    "channels:join",
    "channels:manage",
    "channels:read",
    "chat:write",
    "groups:history",
    "groups:read",
    "groups:write",
    "im:write",
    "metadata.message:read",
    "reactions:read",
    "reactions:write",
    "usergroups:read",
    "users:read",
];

pub(crate) fn token_kind(method: &str) -> TokenKind {
    if method == "apps.connections.open" {
        TokenKind::App
    } else {
        TokenKind::Bot
    }
}

/// The scope a call needs, given what it touches (private channels need `groups:*`).
pub(crate) fn needed_scope(method: &str, params: &Params, world: &World) -> Option<&'static str> {
    let private = || {
        params
            .str("channel")
            .or_else(|| params.str("channel_id"))
            .and_then(|c| world.find_channel(&c).ok())
            .map(|idx| world.channels[idx].is_private)
            .unwrap_or(false)
    };
    let (public, private_scope) = match method {
        "conversations.list"
        | "conversations.info"
        | "conversations.members"
        | "users.conversations" => ("channels:read", "groups:read"),
        "conversations.history" | "conversations.replies" => ("channels:history", "groups:history"),
        "conversations.create" => {
            return Some(if params.bool("is_private") {
                "groups:write"
            } else {
                "channels:manage"
            });
        }
        "conversations.invite"
        | "conversations.setTopic"
        | "conversations.setPurpose"
        | "conversations.archive"
        | "conversations.rename" => ("channels:manage", "groups:write"),
        "conversations.join" => return Some("channels:join"),
        "chat.postMessage" | "chat.update" => return Some("chat:write"),
        "reactions.add" | "reactions.remove" => return Some("reactions:write"),
        "reactions.get" => return Some("reactions:read"),
        "users.list" | "users.info" | "users.getPresence" | "bots.info" => {
            return Some("users:read");
        }
        "usergroups.list" | "usergroups.users.list" => return Some("usergroups:read"),
        "bookmarks.add" => return Some("bookmarks:write"),
        "bookmarks.list" => return Some("bookmarks:read"),
        "conversations.open" => return Some("im:write"),
        _ => return None,
    };
    Some(if private() { private_scope } else { public })
}

/// The scopes any of which lets a bot call `method`, as Slack lists them in the
/// `x-accepted-oauth-scopes` header of every answer.
pub(crate) fn accepted_scopes(method: &str) -> &'static str {
    match method {
        "conversations.list"
        | "conversations.info"
        | "conversations.members"
        | "users.conversations" => "channels:read,groups:read,im:read,mpim:read",
        "conversations.history" | "conversations.replies" => {
            "channels:history,groups:history,im:history,mpim:history"
        }
        "conversations.create" => "channels:manage,groups:write,im:write,mpim:write",
        "conversations.invite"
        | "conversations.setTopic"
        | "conversations.setPurpose"
        | "conversations.archive"
        | "conversations.rename" => "channels:manage,groups:write,im:write,mpim:write",
        "conversations.join" => "channels:join",
        "conversations.open" => "im:write,mpim:write",
        "chat.postMessage" | "chat.update" => "chat:write",
        "reactions.add" | "reactions.remove" => "reactions:write",
        "reactions.get" => "reactions:read",
        "users.list" | "users.info" | "users.getPresence" | "bots.info" => "users:read",
        "usergroups.list" | "usergroups.users.list" => "usergroups:read",
        "bookmarks.add" => "bookmarks:write",
        "bookmarks.list" => "bookmarks:read",
        "apps.connections.open" => "connections:write",
        _ => "",
    }
}

/// What a method call may need besides the workspace.
pub(crate) struct Ctx<'a> {
    /// The app whose token made the call: its bot acts, reads and posts.
    pub app: &'a App,
    pub clock: &'a Clock,
    pub ws_base: &'a str,
    /// Events the call causes, for the Events API.
    pub events: Vec<Value>,
    /// The one-shot Socket Mode ticket issued for apps.connections.open.
    pub ticket: Option<String>,
}

impl Ctx<'_> {
    fn now_ts(&self) -> Ts {
        self.clock.next_ts()
    }

    fn now_secs(&self) -> i64 {
        (Clock::now_micros() / 1_000_000) as i64
    }

    fn bot(&self) -> &str {
        &self.app.bot_user_id
    }

    /// Slack shows a message's metadata when asked, or to the app that posted it.
    fn shows_metadata(&self, asked: bool, m: &Message) -> bool {
        asked || m.bot_id.as_deref() == Some(self.app.bot_id.as_str())
    }
}

pub(crate) fn call(
    world: &mut World,
    ctx: &mut Ctx,
    method: &str,
    p: &Params,
    history_page_cap: Option<usize>,
) -> MethodResult {
    match method {
        "auth.test" => Ok(json!({
            "url": format!("https://{}.slack.com/", world.team.domain),
            "team": world.team.name,
            "user": ctx.app.name,
            "team_id": world.team.id,
            "user_id": ctx.app.bot_user_id,
            "bot_id": ctx.app.bot_id,
            "is_enterprise_install": false,
        })),
        "apps.connections.open" => {
            let ticket = ctx.ticket.as_deref().ok_or("internal_error")?;
            let url = format!(
                "{}/link/?ticket={ticket}&app_id={}",
                ctx.ws_base, ctx.app.app_id
            );
            Ok(json!({"url": url}))
        }
        "conversations.list" => conversations_list(world, ctx, p, None),
        "users.conversations" => {
            let user = p.str("user").unwrap_or_else(|| ctx.bot().to_string());
            if world.user(&user).is_none() {
                return Err("user_not_found".into());
            }
            conversations_list(world, ctx, p, Some(&user))
        }
        "conversations.info" => {
            let channel = world.channel(&required(p, "channel", "channel_not_found")?)?;
            if channel.is_private && !channel.is_member(ctx.bot()) {
                return Err("channel_not_found".into());
            }
            let with_num_members = p.bool("include_num_members");
            Ok(
                json!({"channel": wire::channel(world, channel, ctx.bot(), wire::Shape::One { with_num_members })}),
            )
        }
        "conversations.members" => {
            let channel = world.channel(&required(p, "channel", "channel_not_found")?)?;
            if channel.is_private && !channel.is_member(ctx.bot()) {
                return Err("channel_not_found".into());
            }
            let (page, next) = paginate(&channel.members, p, 100, 1000)?;
            Ok(json!({"members": page, "response_metadata": {"next_cursor": next}}))
        }
        "conversations.history" => history(world, ctx, p, history_page_cap),
        "conversations.replies" => replies(world, ctx, p, history_page_cap),
        "conversations.create" => {
            let name = required(p, "name", "invalid_name_required")?;
            let bot = ctx.bot().to_string();
            let (idx, event) =
                world.create_channel(&name, p.bool("is_private"), &bot, ctx.now_secs())?;
            if !world.channels[idx].is_private {
                ctx.events.push(event);
            }
            Ok(
                json!({"channel": wire::channel(world, &world.channels[idx], ctx.bot(), wire::Shape::ONE)}),
            )
        }
        "conversations.invite" => {
            let idx = world.channel_index(&required(p, "channel", "channel_not_found")?)?;
            let users = p.list("users");
            let bot = ctx.bot().to_string();
            match world.invite(idx, &users, &bot, p.bool("force")) {
                Ok(events) => {
                    ctx.events.extend(events);
                    Ok(
                        json!({"channel": wire::channel(world, &world.channels[idx], ctx.bot(), wire::Shape::ONE)}),
                    )
                }
                Err(e) => {
                    let mut extra = Map::new();
                    if !e.per_user.is_empty() {
                        let errors: Vec<Value> = e
                            .per_user
                            .iter()
                            .map(|(u, err)| json!({"user": u, "ok": false, "error": err}))
                            .collect();
                        extra.insert("errors".into(), json!(errors));
                    }
                    Err(ApiError {
                        error: e.error,
                        extra,
                    })
                }
            }
        }
        "conversations.join" => {
            let idx = world.channel_index(&required(p, "channel", "channel_not_found")?)?;
            let bot = ctx.bot().to_string();
            let channel = &world.channels[idx];
            if channel.is_private {
                return Err("method_not_supported_for_channel_type".into());
            }
            if channel.is_archived {
                return Err("is_archived".into());
            }
            let mut out = Map::new();
            if channel.is_member(&bot) {
                out.insert("warning".into(), json!("already_in_channel"));
                out.insert(
                    "response_metadata".into(),
                    json!({"warnings": ["already_in_channel"]}),
                );
            } else {
                world.channels[idx].members.push(bot.clone());
                let channel = &world.channels[idx];
                ctx.events.push(json!({
                    "type": "member_joined_channel",
                    "user": bot,
                    "channel": channel.id,
                    "channel_type": "C",
                    "team": world.team.id,
                }));
            }
            out.insert(
                "channel".into(),
                wire::channel(world, &world.channels[idx], ctx.bot(), wire::Shape::ONE),
            );
            Ok(Value::Object(out))
        }
        "conversations.setTopic" | "conversations.setPurpose" => {
            let purpose = method == "conversations.setPurpose";
            let idx =
                world.readable_channel(&required(p, "channel", "channel_not_found")?, ctx.bot())?;
            let key = if purpose { "purpose" } else { "topic" };
            let value = p.str(key).unwrap_or_default();
            let bot = ctx.bot().to_string();
            let now = ctx.now_secs();
            world.set_text_field(idx, purpose, &value, &bot, now)?;
            // Slack announces the change in the channel as a system message.
            let subtype = if purpose {
                "channel_purpose"
            } else {
                "channel_topic"
            };
            let text = format!("set the channel {key}: {value}");
            let post = Post {
                user: Some(bot),
                subtype: Some(subtype.into()),
                text,
                extra: [(key.to_string(), json!(value))].into_iter().collect(),
                ..Post::default()
            };
            let ts = ctx.now_ts();
            ctx.events.push(world.post(idx, post, ts)?);
            Ok(
                json!({"channel": wire::channel(world, &world.channels[idx], ctx.bot(), wire::Shape::ONE)}),
            )
        }
        "conversations.archive" => {
            let idx =
                world.readable_channel(&required(p, "channel", "channel_not_found")?, ctx.bot())?;
            let channel = &mut world.channels[idx];
            if channel.is_archived {
                return Err("already_archived".into());
            }
            if channel.is_general {
                return Err("cant_archive_general".into());
            }
            channel.is_archived = true;
            let id = channel.id.clone();
            ctx.events
                .push(json!({"type": "channel_archive", "channel": id, "user": ctx.bot()}));
            Ok(json!({}))
        }
        "conversations.rename" => {
            let idx =
                world.readable_channel(&required(p, "channel", "channel_not_found")?, ctx.bot())?;
            let name = required(p, "name", "invalid_name_required")?;
            super::world::validate_channel_name(&name)?;
            if world
                .channels
                .iter()
                .enumerate()
                .any(|(i, c)| c.name == name && i != idx)
            {
                return Err("name_taken".into());
            }
            let channel = &mut world.channels[idx];
            if channel.is_archived {
                return Err("is_archived".into());
            }
            let old = std::mem::replace(&mut channel.name, name.clone());
            if old != name {
                channel.previous_names.push(old);
            }
            let channel = &world.channels[idx];
            ctx.events.push(json!({
                "type": "channel_rename",
                "channel": {"id": channel.id, "name": channel.name, "created": channel.created},
            }));
            Ok(json!({"channel": wire::channel(world, channel, ctx.bot(), wire::Shape::ONE)}))
        }
        "chat.postMessage" => post_message(world, ctx, p),
        "chat.update" => {
            let idx =
                world.readable_channel(&required(p, "channel", "channel_not_found")?, ctx.bot())?;
            let ts =
                parse_ts(&required(p, "ts", "message_not_found")?).ok_or("message_not_found")?;
            let message = world.channels[idx]
                .messages
                .get(&ts)
                .ok_or("message_not_found")?;
            if message.bot_id.as_deref() != Some(ctx.app.bot_id.as_str()) {
                return Err("cant_update_message".into());
            }
            let blocks = p.json("blocks").map_err(|_| "invalid_blocks")?;
            let metadata = metadata(p)?;
            let text = p.str("text");
            if text.is_none() && blocks.is_none() {
                return Err("no_text".into());
            }
            let blocks = blocks.or_else(|| {
                text.as_ref()
                    .map(|t| json!([wire::rich_text(t, &block_id(ts))]))
            });
            let bot = ctx.bot().to_string();
            let event_ts = ctx.now_ts();
            let edit = Edit {
                text,
                blocks,
                metadata,
            };
            let event = world.update(idx, ts, edit, &bot, event_ts)?;
            let mut message = event["message"].clone();
            ctx.events.push(event);
            // Slack's answer names the message by the top-level channel and ts; its copy of
            // the message carries neither ts nor thread fields.
            if let Some(fields) = message.as_object_mut() {
                for key in THREAD_FIELDS.iter().chain(&["ts"]) {
                    fields.remove(*key);
                }
            }
            Ok(json!({
                "channel": world.channels[idx].id,
                "ts": fmt_ts(ts),
                "text": message["text"],
                "message": message,
            }))
        }
        "chat.getPermalink" => {
            let channel = world.channel(&required(p, "channel", "channel_not_found")?)?;
            let ts = parse_ts(&required(p, "message_ts", "message_not_found")?)
                .ok_or("message_not_found")?;
            let message = channel.messages.get(&ts).ok_or("message_not_found")?;
            Ok(
                json!({"channel": channel.id, "permalink": wire::permalink(world, &channel.id, message)}),
            )
        }
        "reactions.add" | "reactions.remove" => {
            let idx =
                world.readable_channel(&required(p, "channel", "channel_not_found")?, ctx.bot())?;
            let ts =
                parse_ts(&required(p, "timestamp", "bad_timestamp")?).ok_or("bad_timestamp")?;
            let name = required(p, "name", "invalid_name")?;
            let name = name.trim_matches(':').to_string();
            let bot = ctx.bot().to_string();
            let event_ts = ctx.now_ts();
            let event = world.react(idx, ts, &name, &bot, method == "reactions.add", event_ts)?;
            ctx.events.push(event);
            Ok(json!({}))
        }
        "reactions.get" => {
            let idx =
                world.readable_channel(&required(p, "channel", "channel_not_found")?, ctx.bot())?;
            let ts =
                parse_ts(&required(p, "timestamp", "bad_timestamp")?).ok_or("bad_timestamp")?;
            let channel = &world.channels[idx];
            let message = channel.messages.get(&ts).ok_or("message_not_found")?;
            Ok(json!({
                "type": "message",
                "channel": channel.id,
                "message": wire::message(world, message, ctx.shows_metadata(false, message)),
            }))
        }
        "users.list" => {
            let users: Vec<Value> = world.users.iter().map(|u| wire::user(world, u)).collect();
            let (page, next) = paginate(&users, p, 100, 1000)?;
            Ok(
                json!({"members": page, "cache_ts": ctx.now_secs(), "response_metadata": {"next_cursor": next}}),
            )
        }
        "users.info" => {
            let id = required(p, "user", "user_not_found")?;
            let user = world.user(&id).ok_or("user_not_found")?;
            Ok(json!({"user": wire::user(world, user)}))
        }
        "users.getPresence" => {
            let id = p.str("user").unwrap_or_else(|| ctx.bot().to_string());
            let user = world.user(&id).ok_or("user_not_found")?;
            Ok(json!({"presence": if user.presence_active { "active" } else { "away" }}))
        }
        "usergroups.list" => {
            let include = p.bool("include_users");
            let groups: Vec<Value> = world
                .usergroups
                .iter()
                .map(|g| wire::usergroup(world, g, include))
                .collect();
            Ok(json!({"usergroups": groups}))
        }
        "usergroups.users.list" => {
            let id = required(p, "usergroup", "no_such_subteam")?;
            let group = world
                .usergroups
                .iter()
                .find(|g| g.id == id)
                .ok_or("no_such_subteam")?;
            Ok(json!({"users": group.users}))
        }
        "bookmarks.list" => {
            let idx = world
                .readable_channel(&required(p, "channel_id", "channel_not_found")?, ctx.bot())?;
            let channel = &world.channels[idx];
            let list: Vec<Value> = channel
                .bookmarks
                .iter()
                .map(|b| wire::bookmark(world, &channel.id, b))
                .collect();
            Ok(json!({ "bookmarks": list }))
        }
        "conversations.open" => {
            let users = p.list("users");
            let [user] = users.as_slice() else {
                // Group DMs are not emulated.
                return Err(if users.is_empty() {
                    "users_list_not_supplied"
                } else {
                    "method_not_supported_for_channel_type"
                }
                .into());
            };
            if world.user(user).is_none() {
                return Err("user_not_found".into());
            }
            let bot = ctx.bot().to_string();
            let (idx, already_open) = world.open_dm(user, &bot, ctx.now_secs());
            let channel = &world.channels[idx];
            // Only the id, unless `return_im` asks for the conversation; `no_op` and
            // `already_open` when it was open before.
            let mut answer = if p.bool("return_im") {
                json!({"channel": wire::im(channel, user)})
            } else {
                json!({"channel": {"id": channel.id}})
            };
            if already_open {
                answer["no_op"] = json!(true);
                answer["already_open"] = json!(true);
            }
            Ok(answer)
        }
        "bookmarks.add" => {
            let idx = world
                .readable_channel(&required(p, "channel_id", "channel_not_found")?, ctx.bot())?;
            let title = required(p, "title", "invalid_title")?;
            if p.str("type").as_deref() != Some("link") {
                return Err("invalid_bookmark_type".into());
            }
            let link = required(p, "link", "invalid_link")?;
            if !(link.starts_with("https://") || link.starts_with("http://")) {
                return Err("invalid_link".into());
            }
            let id = world.mint_id("Bk");
            let bookmark = Bookmark {
                id,
                title,
                link,
                created: ctx.now_secs(),
                by: ctx.bot().to_string(),
            };
            let channel_id = world.channels[idx].id.clone();
            let rendered = wire::bookmark(world, &channel_id, &bookmark);
            world.channels[idx].bookmarks.push(bookmark);
            Ok(json!({"bookmark": rendered}))
        }
        "bots.info" => {
            let Some(id) = p.str("bot") else {
                // Slack's newer methods name the missing field this way.
                let mut extra = Map::new();
                extra.insert(
                    "response_metadata".into(),
                    json!({"messages": ["[ERROR] missing required field: bot"]}),
                );
                return Err(ApiError {
                    error: "invalid_arguments",
                    extra,
                });
            };
            let app = world.app_of_bot(&id).ok_or("bot_not_found")?;
            Ok(json!({"bot": wire::bot(app)}))
        }
        _ => Err("unknown_method".into()),
    }
}

/// Slack's block ids are short opaque strings; derive one from the message's ts.
/// A message's thread fields, which `chat.update` leaves out of its answer.
const THREAD_FIELDS: &[&str] = &[
    "thread_ts",
    "parent_user_id",
    "reply_count",
    "reply_users_count",
    "reply_users",
    "latest_reply",
    "is_locked",
    "subscribed",
];

pub(crate) fn block_id(ts: Ts) -> String {
    super::world::base36(ts % 1_679_616, 4)
}

/// A required argument. Slack tells "not passed" from "names nothing": an absent argument
/// is `invalid_arguments` with a message naming it, an empty one the method's own `error`.
fn required(p: &Params, key: &str, error: &'static str) -> Result<String, ApiError> {
    match p.0.get(key) {
        None | Some(Value::Null) => Err(invalid_arguments(&format!(
            "[ERROR] missing required field: {key}"
        ))),
        Some(_) => p.str(key).ok_or_else(|| error.into()),
    }
}

/// `invalid_arguments`, with Slack's explanation in `response_metadata.messages`.
pub(crate) fn invalid_arguments(message: &str) -> ApiError {
    let mut extra = Map::new();
    extra.insert("response_metadata".into(), json!({ "messages": [message] }));
    ApiError {
        error: "invalid_arguments",
        extra,
    }
}

fn metadata(p: &Params) -> Result<Option<Value>, ApiError> {
    let metadata = p.json("metadata").map_err(|_| "invalid_metadata_format")?;
    if let Some(m) = &metadata {
        let valid = m
            .get("event_type")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty())
            && m.get("event_payload").is_some_and(Value::is_object);
        if !valid {
            return Err("invalid_metadata_schema".into());
        }
    }
    Ok(metadata)
}

fn post_message(world: &mut World, ctx: &mut Ctx, p: &Params) -> MethodResult {
    let idx = world.postable_channel(&required(p, "channel", "channel_not_found")?, ctx.bot())?;
    let blocks = p.json("blocks").map_err(|_| "invalid_blocks")?;
    let attachments = p.json("attachments").map_err(|_| "invalid_attachments")?;
    let text = p.str("text").unwrap_or_default();
    if text.is_empty() && blocks.is_none() && attachments.is_none() {
        return Err("no_text".into());
    }
    let thread_ts = match p.str("thread_ts") {
        Some(t) => Some(parse_ts(&t).ok_or("invalid_thread_ts")?),
        None => None,
    };
    if let Some(t) = thread_ts
        && !world.channels[idx].messages.contains_key(&t)
    {
        return Err("thread_not_found".into());
    }
    let ts = ctx.now_ts();
    // Slack derives a rich_text block from a text-only post.
    let blocks = blocks
        .or_else(|| (!text.is_empty()).then(|| json!([wire::rich_text(&text, &block_id(ts))])));
    let post = Post {
        user: Some(ctx.app.bot_user_id.clone()),
        bot_id: Some(ctx.app.bot_id.clone()),
        app_id: Some(ctx.app.app_id.clone()),
        text,
        blocks,
        attachments,
        thread_ts,
        reply_broadcast: p.bool("reply_broadcast"),
        metadata: metadata(p)?,
        ..Post::default()
    };
    let event = world.post(idx, post, ts)?;
    ctx.events.push(event);
    let channel = &world.channels[idx];
    Ok(json!({
        "channel": channel.id,
        "ts": fmt_ts(ts),
        "message": wire::message(world, &channel.messages[&ts], true),
    }))
}

fn conversations_list(world: &World, ctx: &Ctx, p: &Params, member: Option<&str>) -> MethodResult {
    let types = p.list("types");
    let want_public = types.is_empty() || types.iter().any(|t| t == "public_channel");
    let want_private = types.iter().any(|t| t == "private_channel");
    let exclude_archived = p.bool("exclude_archived");
    let bot = ctx.bot();
    let channels: Vec<Value> = world
        .channels
        .iter()
        .filter(|c| {
            if c.is_im {
                types.iter().any(|t| t == "im") && c.is_member(bot)
            } else if c.is_private {
                want_private && c.is_member(bot)
            } else {
                want_public
            }
        })
        .filter(|c| !(exclude_archived && c.is_archived))
        .filter(|c| member.is_none_or(|m| c.is_member(m)))
        .map(|c| {
            // conversations.list says whether the bot is in and how many are; Slack's
            // users.conversations lists the channels bare.
            let shape = match member {
                None => wire::Shape::Listed,
                Some(_) => wire::Shape::Bare,
            };
            wire::channel(world, c, bot, shape)
        })
        .collect();
    let (page, next) = paginate(&channels, p, 100, 1000)?;
    Ok(json!({"channels": page, "response_metadata": {"next_cursor": next}}))
}

fn encode_cursor(kind: &str, value: u64) -> String {
    B64.encode(format!("{kind}:{value}"))
}

fn decode_cursor(cursor: &str, kind: &str) -> ApiResult<u64> {
    let raw = B64.decode(cursor).map_err(|_| "invalid_cursor")?;
    let text = String::from_utf8(raw).map_err(|_| "invalid_cursor")?;
    text.strip_prefix(kind)
        .and_then(|r| r.strip_prefix(':'))
        .and_then(|n| n.parse().ok())
        .ok_or("invalid_cursor")
}

fn limit(p: &Params, default: usize, max: usize) -> usize {
    match p.int("limit") {
        Some(n) if n > 0 => (n as usize).min(max),
        _ => default,
    }
}

/// Offset pagination for lists, with Slack's opaque cursors.
fn paginate<T: Clone>(
    items: &[T],
    p: &Params,
    default: usize,
    max: usize,
) -> ApiResult<(Vec<T>, String)> {
    let start = match p.str("cursor") {
        Some(c) => decode_cursor(&c, "offset")? as usize,
        None => 0,
    };
    let limit = limit(p, default, max);
    let end = (start + limit).min(items.len());
    let page = items
        .get(start.min(items.len())..end)
        .unwrap_or_default()
        .to_vec();
    let next = if end < items.len() {
        encode_cursor("offset", end as u64)
    } else {
        String::new()
    };
    Ok((page, next))
}

/// The `oldest` / `latest` / `inclusive` window of history and replies.
struct Window {
    oldest: Ts,
    latest: Option<Ts>,
    inclusive: bool,
}

impl Window {
    fn from(p: &Params) -> ApiResult<Self> {
        let oldest = match p.str("oldest") {
            Some(s) => parse_ts(&s).ok_or("invalid_ts_oldest")?,
            None => 0,
        };
        let latest = match p.str("latest") {
            Some(s) => Some(parse_ts(&s).ok_or("invalid_ts_latest")?),
            None => None,
        };
        Ok(Self {
            oldest,
            latest,
            inclusive: p.bool("inclusive"),
        })
    }

    fn contains(&self, ts: Ts) -> bool {
        let after_oldest = if self.inclusive {
            ts >= self.oldest
        } else {
            ts > self.oldest
        };
        let before_latest = self
            .latest
            .is_none_or(|l| if self.inclusive { ts <= l } else { ts < l });
        after_oldest && before_latest
    }
}

fn history(world: &World, ctx: &Ctx, p: &Params, page_cap: Option<usize>) -> MethodResult {
    let idx = world.readable_channel(&required(p, "channel", "channel_not_found")?, ctx.bot())?;
    let window = Window::from(p)?;
    let mut limit = limit(p, 100, 999);
    if let Some(cap) = page_cap {
        limit = limit.min(cap);
    }
    let upper = match p.str("cursor") {
        Some(c) => decode_cursor(&c, "next_ts")?,
        None => u64::MAX,
    };
    let include_metadata = p.bool("include_all_metadata");
    let channel = &world.channels[idx];
    let mut found = channel
        .messages
        .range(..=upper)
        .rev()
        .map(|(_, m)| m)
        .filter(|m| m.in_channel_history() && window.contains(m.ts))
        .take(limit + 1);
    let messages: Vec<Value> = found
        .by_ref()
        .take(limit)
        .map(|m| wire::message(world, m, ctx.shows_metadata(include_metadata, m)))
        .collect();
    let next = found
        .next()
        .map(|m| encode_cursor("next_ts", m.ts))
        .unwrap_or_default();
    Ok(json!({
        "messages": messages,
        "has_more": !next.is_empty(),
        "pin_count": 0,
        "channel_actions_ts": null,
        "channel_actions_count": 0,
        "response_metadata": {"next_cursor": next},
    }))
}

fn replies(world: &World, ctx: &Ctx, p: &Params, page_cap: Option<usize>) -> MethodResult {
    let idx = world.readable_channel(&required(p, "channel", "channel_not_found")?, ctx.bot())?;
    let ts = parse_ts(&required(p, "ts", "thread_not_found")?).ok_or("thread_not_found")?;
    let window = Window::from(p)?;
    let channel = &world.channels[idx];
    let root = channel.messages.get(&ts).ok_or("thread_not_found")?;
    if root.is_reply() {
        // Asking with a reply's ts answers with its thread, as Slack does.
        let root_ts = root.thread_ts.expect("a reply has a thread");
        let mut p = p.clone();
        p.0.insert("ts".into(), json!(fmt_ts(root_ts)));
        return replies(world, ctx, &p, page_cap);
    }
    let mut limit = limit(p, 1000, 1000);
    if let Some(cap) = page_cap {
        limit = limit.min(cap);
    }
    let start = match p.str("cursor") {
        Some(c) => decode_cursor(&c, "offset")? as usize,
        None => 0,
    };
    let thread: Vec<&super::world::Message> = channel
        .messages
        .values()
        .filter(|m| m.thread_ts == Some(ts) && m.ts != ts && window.contains(m.ts))
        .collect();
    // The parent leads every page and counts toward the page size.
    let per_page = limit.saturating_sub(1).max(1);
    let end = (start + per_page).min(thread.len());
    let include_metadata = p.bool("include_all_metadata");
    let mut messages = vec![wire::message(
        world,
        root,
        ctx.shows_metadata(include_metadata, root),
    )];
    messages.extend(
        thread
            .get(start.min(thread.len())..end)
            .unwrap_or_default()
            .iter()
            .map(|m| wire::message(world, m, ctx.shows_metadata(include_metadata, m))),
    );
    let next = if end < thread.len() {
        encode_cursor("offset", end as u64)
    } else {
        String::new()
    };
    Ok(json!({
        "messages": messages,
        "has_more": !next.is_empty(),
        "response_metadata": {"next_cursor": next},
    }))
}
