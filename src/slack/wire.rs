//! Slack's wire format as swarmdeck's client reads it: Socket Mode frames, the events
//! swarmdeck uses, and the Web API results it needs.
//!
//! Decoding is a pure function from text to types. Unknown frame and event types, and
//! unknown fields, are tolerated; what cannot be parsed is reported with the envelope id
//! still in hand, so the caller can ack it (else Slack redelivers it forever) and skip it.
//! What serde_json refuses though Slack sends it (a lone surrogate escape, nesting past
//! its limit) is read again after the [`lenient`] pre-passes, and history pages are read
//! message by message, so one bad message costs only itself.
//! Nothing here is shared with the emulator: they meet only on the wire.

use super::lenient;
use super::web::Page;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// One Socket Mode frame from Slack.
#[derive(Debug)]
pub enum Frame {
    Hello {
        num_connections: Option<u32>,
        host: Option<String>,
    },
    Disconnect {
        reason: DisconnectReason,
    },
    EventsApi(Envelope),
    /// A click on a button or menu of one of the app's messages (`interactive`, whose
    /// payload is a `block_actions` [`Event`]): acked first and queued like an event.
    Interactive(Envelope),
    /// Slash commands, shortcuts or unknown envelope types: acked and ignored.
    Other {
        kind: String,
        envelope_id: Option<String>,
    },
}

#[derive(Debug)]
pub struct Envelope {
    pub envelope_id: String,
    pub retry_attempt: u32,
    pub retry_reason: String,
    /// The raw `event_callback` (or, interactive, the `block_actions` payload), parsed
    /// only after the ack is on its way.
    pub payload: Option<String>,
    /// An `interactive` envelope rather than `events_api`.
    pub interactive: bool,
}

impl Envelope {
    pub fn parse_callback(&self) -> Result<EventCallback, Unreadable> {
        let payload = self.payload.as_deref().ok_or_else(|| Unreadable {
            channel: None,
            ts: None,
            reason: "an events_api frame without payload".into(),
        })?;
        from_str_lenient(payload).map_err(|e| Unreadable::new(payload, "/event", &e))
    }

    /// An interactive payload: a click (`Some`), or a kind swarmdeck does not use.
    pub fn parse_interactive(&self) -> Result<Option<BlockActions>, Unreadable> {
        let payload = self.payload.as_deref().ok_or_else(|| Unreadable {
            channel: None,
            ts: None,
            reason: "an interactive frame without payload".into(),
        })?;
        match from_str_lenient::<Event>(payload) {
            Ok(Event::BlockActions(b)) => Ok(Some(*b)),
            Ok(_) => Ok(None),
            Err(e) => Err(Unreadable::new(payload, "", &e)),
        }
    }

    /// The id a click is deduplicated by: Slack redelivers it under a new envelope id,
    /// but its user and `action_ts` stay.
    pub fn click_id(click: &BlockActions) -> String {
        let at = click
            .actions
            .first()
            .and_then(|a| a.action_ts.clone())
            .unwrap_or_default();
        format!("click:{}:{at}", click.user.id)
    }
}

/// Decodes `text` strictly, and if serde_json refuses it, once more after the
/// [`lenient`] pre-passes (which change nothing that decodes strictly).
pub(crate) fn from_str_lenient<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(text).or_else(|strict| match lenient::repair(text) {
        Cow::Borrowed(_) => Err(strict),
        Cow::Owned(repaired) => serde_json::from_str(&repaired),
    })
}

/// A message or event that does not decode even leniently: skipped, with where it was
/// as far as its text tells, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    pub channel: Option<String>,
    pub ts: Option<String>,
    pub reason: String,
}

impl Unreadable {
    /// Why the message at `pointer` in `json` (`""`: the whole of it) did not decode,
    /// with its channel and ts if they can be read at all.
    fn new(json: &str, pointer: &str, error: &serde_json::Error) -> Self {
        let whole: Option<Value> = serde_json::from_str(&lenient::repair(json)).ok();
        let message = whole.as_ref().and_then(|v| v.pointer(pointer));
        // A reaction names its message under `item`.
        let field = |key: &str| {
            let m = message?;
            m.get(key).or_else(|| m.get("item")?.get(key)).map(shown)
        };
        Self {
            channel: field("channel"),
            ts: field("ts"),
            reason: error.to_string(),
        }
    }
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
        write!(
            f,
            "{} (channel {}, ts {})",
            self.reason,
            or_unknown(&self.channel),
            or_unknown(&self.ts)
        )
    }
}

/// A field of a message that did not decode, for the log: a string as it is, anything
/// else as JSON; short either way.
fn shown(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.chars().take(64).collect()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    Warning,
    RefreshRequested,
    TooManyWebsockets,
    LinkDisabled,
    Other(String),
}

impl DisconnectReason {
    fn parse(reason: &str) -> Self {
        match reason {
            "warning" => Self::Warning,
            "refresh_requested" => Self::RefreshRequested,
            "too_many_websockets" => Self::TooManyWebsockets,
            "link_disabled" => Self::LinkDisabled,
            other => Self::Other(other.to_string()),
        }
    }
}

/// A frame that could not be decoded at all; `envelope_id` is salvaged when it can be.
#[derive(Debug)]
pub struct DecodeError {
    pub envelope_id: Option<String>,
    pub reason: String,
}

#[derive(Deserialize)]
struct RawFrame<'a> {
    #[serde(rename = "type")]
    kind: String,
    envelope_id: Option<String>,
    reason: Option<String>,
    #[serde(borrow)]
    payload: Option<&'a RawValue>,
    #[serde(default)]
    retry_attempt: u32,
    #[serde(default)]
    retry_reason: String,
    num_connections: Option<u32>,
    debug_info: Option<DebugInfo>,
}

#[derive(Deserialize)]
struct DebugInfo {
    host: Option<String>,
}

pub fn decode(text: &str) -> Result<Frame, DecodeError> {
    let refused = |e: serde_json::Error| DecodeError {
        envelope_id: salvage_envelope_id(text),
        reason: e.to_string(),
    };
    match serde_json::from_str::<RawFrame>(text) {
        Ok(raw) => frame(raw),
        Err(strict) => match lenient::repair(text) {
            Cow::Borrowed(_) => Err(refused(strict)),
            Cow::Owned(repaired) => frame(serde_json::from_str(&repaired).map_err(refused)?),
        },
    }
}

fn frame(raw: RawFrame<'_>) -> Result<Frame, DecodeError> {
    Ok(match raw.kind.as_str() {
        "hello" => Frame::Hello {
            num_connections: raw.num_connections,
            host: raw.debug_info.and_then(|d| d.host),
        },
        "disconnect" => Frame::Disconnect {
            reason: DisconnectReason::parse(raw.reason.as_deref().unwrap_or("")),
        },
        "events_api" => {
            let envelope_id = raw.envelope_id.ok_or_else(|| DecodeError {
                envelope_id: None,
                reason: "an events_api frame without envelope_id".into(),
            })?;
            Frame::EventsApi(Envelope {
                envelope_id,
                retry_attempt: raw.retry_attempt,
                retry_reason: raw.retry_reason,
                payload: raw.payload.map(|p| p.get().to_string()),
                interactive: false,
            })
        }
        "interactive" => {
            let envelope_id = raw.envelope_id.ok_or_else(|| DecodeError {
                envelope_id: None,
                reason: "an interactive frame without envelope_id".into(),
            })?;
            Frame::Interactive(Envelope {
                envelope_id,
                retry_attempt: raw.retry_attempt,
                retry_reason: raw.retry_reason,
                payload: raw.payload.map(|p| p.get().to_string()),
                interactive: true,
            })
        }
        _ => Frame::Other {
            kind: raw.kind,
            envelope_id: raw.envelope_id,
        },
    })
}

/// Finds `"envelope_id":"…"` in a frame that is not valid JSON, so it can still be acked.
fn salvage_envelope_id(text: &str) -> Option<String> {
    let at = text.find("\"envelope_id\"")?;
    let rest = text[at + "\"envelope_id\"".len()..]
        .trim_start()
        .strip_prefix(':')?;
    let rest = rest.trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    let id = &rest[..end];
    (!id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| id.to_string())
}

/// The `event_callback` payload of an `events_api` envelope.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct EventCallback {
    pub event_id: String,
    #[serde(default)]
    pub event_time: i64,
    #[serde(default)]
    pub team_id: Option<String>,
    pub event: Event,
}

/// The events swarmdeck subscribes to; anything else is `Other`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type")]
pub enum Event {
    #[serde(rename = "message")]
    Message(Box<Message>),
    #[serde(rename = "reaction_added")]
    ReactionAdded(Reaction),
    #[serde(rename = "reaction_removed")]
    ReactionRemoved(Reaction),
    #[serde(rename = "channel_created")]
    ChannelCreated { channel: ChannelRef },
    #[serde(rename = "channel_rename")]
    ChannelRename { channel: ChannelRef },
    #[serde(rename = "channel_archive")]
    ChannelArchive { channel: String },
    #[serde(rename = "member_joined_channel")]
    MemberJoinedChannel {
        user: String,
        channel: String,
        #[serde(default)]
        inviter: Option<String>,
    },
    #[serde(rename = "user_change")]
    UserChange { user: User },
    /// A click, from an `interactive` envelope (kept and shared like an event, so that
    /// whichever swarmdeck holds it can answer it).
    #[serde(rename = "block_actions")]
    BlockActions(Box<BlockActions>),
    #[serde(other)]
    Other,
}

/// A `block_actions` payload, as far as swarmdeck reads it (its `token` and
/// `response_url` are neither needed nor kept).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct BlockActions {
    pub user: ClickUser,
    pub api_app_id: Option<String>,
    pub container: Container,
    pub channel: Option<ChannelRef>,
    /// The message clicked, as it is: who posted it says whether it is ours.
    pub message: Option<Box<Message>>,
    pub actions: Vec<BlockAction>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ClickUser {
    pub id: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Container {
    #[serde(rename = "type")]
    pub kind: String,
    pub message_ts: Option<String>,
    pub channel_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct BlockAction {
    pub action_id: String,
    pub block_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: Option<String>,
    pub selected_option: Option<SelectedOption>,
    pub action_ts: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SelectedOption {
    pub value: String,
}

/// A message, as events, history and replies carry it. Only `ts` is always there, and
/// not even that inside some `message_changed` payloads.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Message {
    pub subtype: Option<String>,
    pub channel: Option<String>,
    pub user: Option<String>,
    pub bot_id: Option<String>,
    /// The posting app, as Slack sets it on an app's post (also in `bot_profile`).
    pub app_id: Option<String>,
    pub bot_profile: Option<BotProfile>,
    pub username: Option<String>,
    pub text: String,
    pub ts: Option<String>,
    pub thread_ts: Option<String>,
    pub parent_user_id: Option<String>,
    pub event_ts: Option<String>,
    pub blocks: Vec<Block>,
    pub metadata: Option<Metadata>,
    pub reply_count: Option<u32>,
    pub latest_reply: Option<String>,
    pub reactions: Vec<ReactionCount>,
    pub edited: Option<Edited>,
    /// message_changed: the message as it is now, and as it was.
    pub message: Option<Box<Message>>,
    pub previous_message: Option<Box<Message>>,
    /// message_deleted: the ts of the message that went.
    pub deleted_ts: Option<String>,
    /// thread_broadcast: the thread's parent.
    pub root: Option<Box<Message>>,
    pub hidden: bool,
}

impl Message {
    /// The thread this message belongs to: its parent's ts, or its own for a parent.
    pub fn thread(&self) -> Option<&str> {
        self.thread_ts.as_deref().or(self.ts.as_deref())
    }
}

/// The bot behind an app's post, as Slack describes it on the message.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct BotProfile {
    pub id: Option<String>,
    pub name: Option<String>,
    pub app_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Edited {
    pub user: Option<String>,
    pub ts: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ReactionCount {
    pub name: String,
    pub users: Vec<String>,
    pub count: u32,
}

/// Slack message metadata: swarmdeck's shared state rides on it. The payload stays JSON
/// here; `translate` decodes it into typed domain events.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Metadata {
    pub event_type: String,
    #[serde(default)]
    pub event_payload: serde_json::Value,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Reaction {
    #[serde(default)]
    pub user: String,
    pub reaction: String,
    pub item: ReactionItem,
    #[serde(default)]
    pub item_user: Option<String>,
    #[serde(default)]
    pub event_ts: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ReactionItem {
    #[serde(rename = "type")]
    pub kind: String,
    pub channel: Option<String>,
    pub ts: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ChannelRef {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// Block Kit, as far as intake needs it: text in sections, headers, context and rich text.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type")]
pub enum Block {
    #[serde(rename = "section")]
    Section {
        #[serde(default)]
        text: Option<TextObject>,
        #[serde(default)]
        fields: Vec<TextObject>,
    },
    #[serde(rename = "header")]
    Header { text: TextObject },
    #[serde(rename = "context")]
    Context {
        #[serde(default)]
        elements: Vec<ContextElement>,
    },
    #[serde(rename = "rich_text")]
    RichText {
        #[serde(default)]
        elements: Vec<RichBlock>,
    },
    #[serde(other)]
    Other,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct TextObject {
    pub text: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ContextElement {
    pub text: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type")]
pub enum RichBlock {
    #[serde(rename = "rich_text_section")]
    Section {
        #[serde(default)]
        elements: Vec<RichInline>,
    },
    #[serde(rename = "rich_text_list")]
    List {
        #[serde(default)]
        elements: Vec<RichBlock>,
    },
    #[serde(rename = "rich_text_preformatted")]
    Preformatted {
        #[serde(default)]
        elements: Vec<RichInline>,
    },
    #[serde(rename = "rich_text_quote")]
    Quote {
        #[serde(default)]
        elements: Vec<RichInline>,
    },
    #[serde(other)]
    Other,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type")]
pub enum RichInline {
    #[serde(rename = "text")]
    Text {
        #[serde(default)]
        text: String,
    },
    #[serde(rename = "user")]
    User { user_id: String },
    #[serde(rename = "channel")]
    Channel { channel_id: String },
    #[serde(rename = "usergroup")]
    UserGroup { usergroup_id: String },
    #[serde(rename = "link")]
    Link {
        url: String,
        #[serde(default)]
        text: Option<String>,
    },
    #[serde(rename = "emoji")]
    Emoji { name: String },
    #[serde(rename = "broadcast")]
    Broadcast { range: String },
    #[serde(other)]
    Other,
}

// ---- Web API results ----

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct AuthTest {
    pub user_id: String,
    #[serde(default)]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub team_id: String,
    #[serde(default)]
    pub url: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ConnectionsOpen {
    pub url: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ResponseMetadata {
    pub next_cursor: String,
}

/// A page of conversations.history or conversations.replies, decoded message by
/// message: one that does not decode (even leniently) is set aside in `unreadable`, and
/// the rest of the page still counts.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "RawMessagePage")]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub unreadable: Vec<Unreadable>,
    pub has_more: bool,
    pub response_metadata: ResponseMetadata,
}

/// A page with its messages still raw: serde_json reads raw values without validating
/// escapes or counting depth, so this much decodes whatever one message holds.
#[derive(Default, Deserialize)]
#[serde(default)]
struct RawMessagePage {
    messages: Vec<Box<RawValue>>,
    has_more: bool,
    response_metadata: ResponseMetadata,
}

impl From<RawMessagePage> for MessagePage {
    fn from(raw: RawMessagePage) -> Self {
        let mut page = MessagePage {
            has_more: raw.has_more,
            response_metadata: raw.response_metadata,
            ..MessagePage::default()
        };
        for message in raw.messages {
            match from_str_lenient(message.get()) {
                Ok(m) => page.messages.push(m),
                Err(e) => page.unreadable.push(Unreadable::new(message.get(), "", &e)),
            }
        }
        page
    }
}

impl Page for MessagePage {
    type Item = Message;
    fn items(self) -> Vec<Message> {
        self.messages
    }
    /// History says `has_more: false` on its last page, whatever the cursor.
    fn next_cursor(&self) -> &str {
        if self.has_more {
            &self.response_metadata.next_cursor
        } else {
            ""
        }
    }
}

/// A history or replies page as the gap fill reads it: the messages that did not decode
/// come out too, to be logged where the channel is known and counted in the fill.
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct FillPage(MessagePage);

impl Page for FillPage {
    type Item = Result<Message, Unreadable>;
    fn items(self) -> Vec<Self::Item> {
        let MessagePage {
            messages,
            unreadable,
            ..
        } = self.0;
        messages
            .into_iter()
            .map(Ok)
            .chain(unreadable.into_iter().map(Err))
            .collect()
    }
    fn next_cursor(&self) -> &str {
        self.0.next_cursor()
    }
}

/// A channel as the listings, conversations.info, .create and .open describe it. Its id
/// is required: a channel recorded as `""` would send every later step nowhere.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Channel {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub is_member: bool,
    #[serde(default)]
    pub is_archived: bool,
    #[serde(default)]
    pub is_private: bool,
    #[serde(default)]
    pub creator: Option<String>,
    #[serde(default)]
    pub topic: ChannelText,
    #[serde(default)]
    pub purpose: ChannelText,
}

/// A channel's topic or purpose.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ChannelText {
    pub value: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ChannelPage {
    pub channels: Vec<Channel>,
    pub response_metadata: ResponseMetadata,
}

impl Page for ChannelPage {
    type Item = Channel;
    fn items(self) -> Vec<Channel> {
        self.channels
    }
    fn next_cursor(&self) -> &str {
        &self.response_metadata.next_cursor
    }
}

/// A user. The id is required; the rest Slack may leave out.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub real_name: Option<String>,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub tz: Option<String>,
    #[serde(default)]
    pub profile: Profile,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Profile {
    pub display_name: Option<String>,
    pub real_name: Option<String>,
    pub title: Option<String>,
}

/// bots.info: a bot and the app it belongs to.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct BotInfo {
    pub bot: Bot,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Bot {
    pub id: String,
    pub name: String,
    pub app_id: Option<String>,
    pub user_id: Option<String>,
}

/// An answer whose only news is `ok: true` (invites, reactions, topics, archives, …).
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Ack {}

/// conversations.create, conversations.info and conversations.open.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ChannelAnswer {
    pub channel: Channel,
}

/// chat.postMessage: where the post landed.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Posted {
    pub channel: String,
    pub ts: String,
}

/// chat.getPermalink.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Permalink {
    pub permalink: String,
}

/// bookmarks.list.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Bookmarks {
    pub bookmarks: Vec<Bookmark>,
}

/// A bookmark; folders and some other kinds have no link.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Bookmark {
    pub link: Option<String>,
}

/// What the outbox looks for in a swarmdeck post's metadata payload, to tell whether a
/// post is there already: the action step that made it, its case, and its note.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub(crate) struct PostMark {
    pub action: Option<String>,
    pub case: Option<String>,
    pub note: Option<String>,
}

impl Message {
    /// The mark of a post swarmdeck made; `None` for anyone else's message, or a payload
    /// that does not read as one.
    pub(crate) fn swarmdeck_mark(&self) -> Option<PostMark> {
        let meta = self
            .metadata
            .as_ref()
            .filter(|m| m.event_type.starts_with("swarmdeck_"))?;
        PostMark::deserialize(&meta.event_payload).ok()
    }
}

/// users.info.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct UserInfo {
    pub user: User,
}

/// A page of users.list.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UserPage {
    pub members: Vec<User>,
    pub response_metadata: ResponseMetadata,
}

impl Page for UserPage {
    type Item = User;
    fn items(self) -> Vec<User> {
        self.members
    }
    fn next_cursor(&self) -> &str {
        &self.response_metadata.next_cursor
    }
}

/// users.list read for its bot users only: which app and bot each belongs to (kept apart
/// from [`User`], which every user event carries).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BotUserPage {
    pub members: Vec<BotUser>,
    pub response_metadata: ResponseMetadata,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BotUser {
    pub id: String,
    pub name: String,
    pub is_bot: bool,
    pub profile: BotUserProfile,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BotUserProfile {
    pub api_app_id: Option<String>,
    pub bot_id: Option<String>,
}

impl Page for BotUserPage {
    type Item = BotUser;
    fn items(self) -> Vec<BotUser> {
        self.members
    }
    fn next_cursor(&self) -> &str {
        &self.response_metadata.next_cursor
    }
}

/// users.getPresence: `active` or `away`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Presence {
    pub presence: String,
}

/// usergroups.list.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UserGroups {
    pub usergroups: Vec<UserGroup>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub(crate) struct UserGroup {
    pub id: String,
    #[serde(default)]
    pub handle: String,
}

/// usergroups.users.list: the members' ids.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GroupMembers {
    pub users: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    // The project's own fixtures, written from the shapes of Slack's payloads.
    const HELLO: &str = r#"{"type":"hello","num_connections":2,"debug_info":{"host":"applink-7","build_number":3,"approximate_connection_time":18060},"connection_info":{"app_id":"A1"}}"#;
    const WORKFLOW_POST: &str = r#"{"envelope_id":"e-1","payload":{"token":"t","team_id":"T1","api_app_id":"A1","event":{"type":"message","subtype":"bot_message","bot_id":"B9","username":"Swarm Request","text":"*Case number:* 27343","ts":"1700000000.000100","channel":"C1","event_ts":"1700000000.000100","channel_type":"channel","blocks":[{"type":"section","fields":[{"type":"mrkdwn","text":"*Case number:*\n27343"},{"type":"mrkdwn","text":"*Urgency:*\nSev 1"}]},{"type":"divider"},{"type":"rich_text","block_id":"x","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"Requested by "},{"type":"user","user_id":"U7"},{"type":"date","timestamp":1}]}]}]},"type":"event_callback","event_id":"Ev1","event_time":1700000000,"authorizations":[]},"type":"events_api","accepts_response_payload":false,"retry_attempt":2,"retry_reason":"timeout"}"#;

    #[test]
    fn hello_and_disconnects() {
        match decode(HELLO).unwrap() {
            Frame::Hello {
                num_connections,
                host,
            } => {
                assert_eq!(num_connections, Some(2));
                assert_eq!(host.as_deref(), Some("applink-7"));
            }
            other => panic!("{other:?}"),
        }
        for (reason, want) in [
            ("warning", DisconnectReason::Warning),
            ("refresh_requested", DisconnectReason::RefreshRequested),
            ("too_many_websockets", DisconnectReason::TooManyWebsockets),
            ("link_disabled", DisconnectReason::LinkDisabled),
            (
                "socket_mode_disabled",
                DisconnectReason::Other("socket_mode_disabled".into()),
            ),
        ] {
            let frame = format!(
                r#"{{"type":"disconnect","reason":"{reason}","debug_info":{{"host":"h"}}}}"#
            );
            assert!(
                matches!(decode(&frame).unwrap(), Frame::Disconnect { reason: r } if r == want)
            );
        }
    }

    #[test]
    fn a_workflow_post_decodes_with_its_blocks_and_retry() {
        let Frame::EventsApi(env) = decode(WORKFLOW_POST).unwrap() else {
            panic!()
        };
        assert_eq!(
            (
                env.envelope_id.as_str(),
                env.retry_attempt,
                env.retry_reason.as_str()
            ),
            ("e-1", 2, "timeout")
        );
        let cb = env.parse_callback().unwrap();
        assert_eq!(cb.event_id, "Ev1");
        let Event::Message(m) = cb.event else {
            panic!()
        };
        assert_eq!(m.subtype.as_deref(), Some("bot_message"));
        assert_eq!(m.channel.as_deref(), Some("C1"));
        assert_eq!(m.blocks.len(), 3);
        assert!(
            matches!(&m.blocks[0], Block::Section { fields, .. } if fields[1].text == "*Urgency:*\nSev 1")
        );
        assert!(matches!(m.blocks[1], Block::Other));
        let Block::RichText { elements } = &m.blocks[2] else {
            panic!()
        };
        let RichBlock::Section { elements } = &elements[0] else {
            panic!()
        };
        assert!(matches!(&elements[1], RichInline::User { user_id } if user_id == "U7"));
        assert!(
            matches!(elements[2], RichInline::Other),
            "unknown inline kinds are tolerated"
        );
        assert_eq!(m.thread(), Some("1700000000.000100"));
    }

    #[test]
    fn a_broken_payload_keeps_its_envelope_id_for_the_ack() {
        let bad = r#"{"envelope_id":"e-2","payload":{"event_id":"Ev2","event":{"type":"message","ts":17}},"type":"events_api"}"#;
        let Frame::EventsApi(env) = decode(bad).unwrap() else {
            panic!()
        };
        assert_eq!(env.envelope_id, "e-2");
        assert!(env.parse_callback().is_err());

        let truncated = r#"{"envelope_id": "e-3", "payload": {"event": {"type": "mess"#;
        let err = decode(truncated).unwrap_err();
        assert_eq!(err.envelope_id.as_deref(), Some("e-3"));
        assert!(decode("not json at all").unwrap_err().envelope_id.is_none());
        assert_eq!(salvage_envelope_id(r#"{"envelope_id":"a\"b"}"#), None);
    }

    /// An events_api frame carrying `event` (JSON text) as it is.
    fn frame_with(event: &str) -> String {
        format!(
            r#"{{"envelope_id":"e-9","payload":{{"event_id":"Ev9","event":{event},"type":"event_callback"}},"type":"events_api"}}"#
        )
    }

    /// A rich-text list nested `levels` deep: from 62 levels past serde_json's limit.
    fn deep_block(levels: usize) -> String {
        let open = r#"{"type":"rich_text_list","elements":["#.repeat(levels);
        format!(
            r#"{{"type":"rich_text","elements":[{open}{}]}}"#,
            "]}".repeat(levels)
        )
    }

    fn message_of(frame: &str) -> Result<Message, Unreadable> {
        let Frame::EventsApi(env) = decode(frame).unwrap() else {
            panic!("not an events_api frame: {frame}")
        };
        assert_eq!(env.envelope_id, "e-9");
        match env.parse_callback()?.event {
            Event::Message(m) => Ok(*m),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_lone_surrogate_in_an_event_is_read_as_a_replacement_character() {
        let frame = frame_with(
            r#"{"type":"message","channel":"C1","ts":"1.0","text":"Subject: login \ud83d fails \ud83d\ude00"}"#,
        );
        let m = message_of(&frame).unwrap();
        assert_eq!(m.text, "Subject: login \u{fffd} fails 😀");
        // In the frame's own fields too.
        let hello = r#"{"type":"hello","debug_info":{"host":"applink-\udc00"}}"#;
        assert!(
            matches!(decode(hello).unwrap(), Frame::Hello { host: Some(h), .. } if h == "applink-\u{fffd}")
        );
    }

    #[test]
    fn a_block_nested_too_deep_is_dropped_and_its_message_kept() {
        let frame = frame_with(&format!(
            r#"{{"type":"message","channel":"C1","ts":"1.0","text":"Case #: 27343","blocks":[{{"type":"header","text":{{"text":"Case 27343"}}}},{}]}}"#,
            deep_block(100)
        ));
        let m = message_of(&frame).unwrap();
        assert_eq!(m.text, "Case #: 27343");
        assert!(
            matches!(&m.blocks[..], [Block::Header { text }] if text.text == "Case 27343"),
            "{:?}",
            m.blocks
        );
    }

    #[test]
    fn an_event_that_will_not_decode_says_where_it_was() {
        let frame = frame_with(r#"{"type":"message","channel":"C7","ts":17,"text":"\ud83d"}"#);
        let why = message_of(&frame).unwrap_err();
        assert_eq!(
            (why.channel.as_deref(), why.ts.as_deref()),
            (Some("C7"), Some("17"))
        );
        assert!(why.reason.contains("invalid type"), "{}", why.reason);
        let reaction = frame_with(
            r#"{"type":"reaction_added","user":"U1","reaction":7,"item":{"channel":"C2","ts":"3.0"}}"#,
        );
        let Frame::EventsApi(env) = decode(&reaction).unwrap() else {
            panic!()
        };
        let why = env.parse_callback().unwrap_err();
        assert_eq!(
            (why.channel.as_deref(), why.ts.as_deref()),
            (Some("C2"), Some("3.0"))
        );
    }

    #[test]
    fn a_page_is_read_message_by_message() {
        let page = format!(
            r#"{{"ok":true,"messages":[
                {{"type":"message","ts":"1.0","text":"fine"}},
                {{"type":"message","ts":"2.0","text":"cut \ud83d short"}},
                {{"type":"message","ts":17,"text":"a ts that is no string"}},
                {{"type":"message","ts":"4.0","text":"deep","blocks":[{}]}},
                "not a message",
                {{"type":"message","ts":"6.0","text":"also fine"}}
            ],"has_more":true,"response_metadata":{{"next_cursor":"c2"}}}}"#,
            deep_block(300)
        );
        assert!(
            serde_json::from_str::<Value>(&page).is_err(),
            "serde_json alone refuses the page"
        );
        let page: MessagePage = serde_json::from_str(&page).unwrap();
        let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["fine", "cut \u{fffd} short", "deep", "also fine"]);
        assert!(page.messages[2].blocks.is_empty());
        let unreadable: Vec<Option<&str>> =
            page.unreadable.iter().map(|u| u.ts.as_deref()).collect();
        assert_eq!(unreadable, [Some("17"), None]);
        assert_eq!(page.next_cursor(), "c2");
        let items = FillPage(page).items();
        assert_eq!(
            (
                items.iter().filter(|i| i.is_ok()).count(),
                items.iter().filter(|i| i.is_err()).count()
            ),
            (4, 2)
        );
    }

    #[test]
    fn unknown_frames_and_events_are_tolerated() {
        let slash = r#"{"envelope_id":"e-4","payload":{"command":"/x"},"type":"slash_commands","accepts_response_payload":true}"#;
        assert!(
            matches!(decode(slash).unwrap(), Frame::Other { envelope_id: Some(id), .. } if id == "e-4")
        );
        let unknown = r#"{"envelope_id":"e-5","payload":{"event_id":"Ev5","event":{"type":"emoji_changed","subtype":"add"}},"type":"events_api"}"#;
        let Frame::EventsApi(env) = decode(unknown).unwrap() else {
            panic!()
        };
        assert!(matches!(env.parse_callback().unwrap().event, Event::Other));
    }

    #[test]
    fn edits_deletions_reactions_and_channel_events() {
        let changed = r#"{"type":"message","subtype":"message_changed","channel":"C1","ts":"2.0","message":{"type":"message","text":"new","user":"U1","ts":"1.0","edited":{"user":"U1","ts":"2.0"}},"previous_message":{"type":"message","text":"old","ts":"1.0"}}"#;
        let Event::Message(m) = serde_json::from_str(changed).unwrap() else {
            panic!()
        };
        assert_eq!(m.message.as_ref().unwrap().text, "new");
        assert_eq!(m.previous_message.as_ref().unwrap().text, "old");
        let deleted = r#"{"type":"message","subtype":"message_deleted","channel":"C1","deleted_ts":"1.0","ts":"3.0","hidden":true}"#;
        let Event::Message(m) = serde_json::from_str(deleted).unwrap() else {
            panic!()
        };
        assert_eq!((m.deleted_ts.as_deref(), m.hidden), (Some("1.0"), true));
        let reaction = r#"{"type":"reaction_added","user":"U1","reaction":"white_check_mark","item":{"type":"message","channel":"C1","ts":"1.0"},"event_ts":"4.0"}"#;
        let Event::ReactionAdded(r) = serde_json::from_str(reaction).unwrap() else {
            panic!()
        };
        assert_eq!(
            (r.reaction.as_str(), r.item.ts.as_deref()),
            ("white_check_mark", Some("1.0"))
        );
        let renamed =
            r#"{"type":"channel_rename","channel":{"id":"C1","name":"swarm-api-2","created":1}}"#;
        assert!(
            matches!(serde_json::from_str(renamed).unwrap(), Event::ChannelRename { channel } if channel.name == "swarm-api-2")
        );
        let joined = r#"{"type":"member_joined_channel","user":"U1","channel":"C1","channel_type":"C","team":"T1"}"#;
        assert!(matches!(
            serde_json::from_str(joined).unwrap(),
            Event::MemberJoinedChannel { inviter: None, .. }
        ));
        let metadata = r#"{"type":"message","ts":"5.0","metadata":{"event_type":"swarmdeck_assigned","event_payload":{"expert":"U2"}}}"#;
        let Event::Message(m) = serde_json::from_str(metadata).unwrap() else {
            panic!()
        };
        assert_eq!(m.metadata.unwrap().event_payload["expert"], "U2");
    }

    #[test]
    fn answers_missing_what_is_required_do_not_decode() {
        // A created channel with no id would send every later step nowhere.
        assert!(
            serde_json::from_str::<ChannelAnswer>(r#"{"ok":true,"channel":{"name":"x"}}"#).is_err()
        );
        assert!(serde_json::from_str::<ChannelAnswer>(r#"{"ok":true}"#).is_err());
        assert!(serde_json::from_str::<Permalink>(r#"{"ok":true}"#).is_err());
        assert!(serde_json::from_str::<Posted>(r#"{"ok":true,"channel":"C1"}"#).is_err());
        assert!(serde_json::from_str::<UserInfo>(r#"{"ok":true,"user":{"name":"x"}}"#).is_err());
        assert!(serde_json::from_str::<Presence>(r#"{"ok":true}"#).is_err());
        assert!(serde_json::from_str::<UserGroups>(r#"{"usergroups":[{"handle":"x"}]}"#).is_err());
        // What may be absent defaults.
        let info: ChannelAnswer = serde_json::from_str(
            r#"{"ok":true,"channel":{"id":"C1","creator":"U1","purpose":{"value":"p","creator":"U1"}}}"#,
        )
        .unwrap();
        assert_eq!(
            (
                info.channel.id.as_str(),
                info.channel.purpose.value.as_str(),
                info.channel.topic.value.as_str()
            ),
            ("C1", "p", "")
        );
        assert!(
            serde_json::from_str::<Bookmarks>(r#"{"ok":true}"#)
                .unwrap()
                .bookmarks
                .is_empty()
        );
        assert!(serde_json::from_str::<Ack>(r#"{"ok":true,"channel":{"id":"C1"}}"#).is_ok());
    }

    #[test]
    fn swarmdecks_own_posts_carry_a_mark_and_others_do_not() {
        let page: MessagePage = serde_json::from_str(
            r#"{"messages":[
                {"ts":"1.0","metadata":{"event_type":"swarmdeck_note","event_payload":{"case":"27343","note":"summary","action":"a1/3"}}},
                {"ts":"2.0","metadata":{"event_type":"other_app","event_payload":{"action":"a1/3"}}},
                {"ts":"3.0","metadata":{"event_type":"swarmdeck_assigned","event_payload":{"case":12}}},
                {"ts":"4.0"}
            ],"has_more":true,"response_metadata":{"next_cursor":"n"}}"#,
        )
        .unwrap();
        assert_eq!(page.next_cursor(), "n");
        let marks: Vec<Option<PostMark>> =
            page.items().iter().map(Message::swarmdeck_mark).collect();
        assert_eq!(
            marks[0],
            Some(PostMark {
                action: Some("a1/3".into()),
                case: Some("27343".into()),
                note: Some("summary".into()),
            })
        );
        assert_eq!(
            marks[1..],
            [None, None, None],
            "another app's, a payload that is not ours, none"
        );
    }
}
