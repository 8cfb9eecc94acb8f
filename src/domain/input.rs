//! What the desk is told: Slack's events, already decoded at the edge into typed values.

use super::Ts;
use super::asks::{Click, DeclineReason};

#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A message, new or edited (the newest `edited` wins), live or from history.
    Message(Msg),
    /// A message went (deleted by its author or an admin).
    Deleted { channel: String, ts: Ts },
    /// A reaction on a message. `at` is when it happened, when Slack said so.
    Reaction {
        channel: String,
        ts: Ts,
        name: String,
        user: String,
        added: bool,
        at: Option<Ts>,
    },
    /// A channel's current name (created, renamed): incident channels are shown by name.
    ChannelNamed { id: String, name: String },
    /// A person the lead can pull in: their name and skills (from the pod's user groups).
    Expert {
        user: String,
        name: String,
        skills: Vec<String>,
    },
    /// Whether a person is active right now.
    Presence { user: String, active: bool },
    /// A user's display name, for showing requesters and participants.
    UserNamed { user: String, name: String },
    /// A Slack user group's members, by its handle (`legal`): the stakeholders a
    /// promotion invites by severity (`[pods.promote] invite_groups`).
    Group {
        handle: String,
        members: Vec<String>,
    },
    /// Someone clicked a button or menu of one of our messages (an ask's Accept or
    /// Decline): not state, only a request to post the answer, read by [`super::asks::read`].
    Click(Click),
}

/// A message as the desk needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Msg {
    pub channel: String,
    pub ts: Ts,
    /// The thread's root ts, for a reply; `None` for a top-level message.
    pub thread_ts: Option<Ts>,
    pub author: Author,
    /// The text fallback, sanitised.
    pub text: String,
    /// Text taken from the message's blocks (each section, field, rich text), in order,
    /// sanitised: what intake reads before the fallback.
    pub block_texts: Vec<String>,
    /// swarmdeck's own state, from Slack message metadata.
    pub marker: Option<Marker>,
    /// When it was last edited, if it was.
    pub edited: Option<Ts>,
    /// Reactions as history reports them (events report them one by one instead).
    pub reactions: Vec<(String, Vec<String>)>,
    /// A root's newest reply as history reports it (live events usually do not): the gap
    /// fill passes a channel's history on before it reads the threads, and this says
    /// whether the desk has yet to hear replies, so that their clocks are not judged early.
    pub latest_reply: Option<Ts>,
}

impl Msg {
    /// The lead a reply of ours was written by (`c` in swarmdeck), if it is one: the
    /// thread shows them, not the bot, as its author.
    pub fn lead_reply(&self) -> Option<&str> {
        match (&self.author, &self.marker) {
            (
                Author::Us,
                Some(Marker {
                    lead,
                    kind: MarkerKind::Replied,
                }),
            ) => lead.as_deref(),
            _ => None,
        }
    }

    /// The ts of the thread it belongs to.
    pub fn thread(&self) -> Ts {
        self.thread_ts.unwrap_or(self.ts)
    }

    pub fn is_reply(&self) -> bool {
        self.thread_ts.is_some_and(|t| t != self.ts)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Author {
    /// A person, by Slack user id.
    Person(String),
    /// Another app or a workflow.
    Bot { bot_id: Option<String> },
    /// swarmdeck: this app's bot user, or a peer lead's swarmdeck app (`[team]
    /// peer_bots`), whoever the lead behind it was. Either way its markers are moves and
    /// its other posts are notes, never requests or a person's response; who made a move
    /// is the marker's `lead`, so nothing here needs to know which app posted it.
    Us,
}

/// A lead's move, recorded on swarmdeck's own thread post as message metadata, so that
/// every swarmdeck on the pod derives the same state from Slack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// The lead who made the move, when the post says.
    pub lead: Option<String>,
    pub kind: MarkerKind,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MarkerKind {
    Assigned {
        expert: String,
    },
    Unassigned {
        expert: String,
    },
    Promoted {
        channel_id: String,
        channel_name: String,
    },
    Resolved {
        resolution: String,
    },
    Reopened,
    Waiting {
        on: bool,
    },
    FollowUp {
        next_steps: String,
        due: Ts,
    },
    /// A reply the lead wrote in swarmdeck (`c`), posted by the bot for them: it counts
    /// as the lead's own reply (first response, audit trail), which the bot's authorship
    /// alone would not say.
    Replied,
    /// The lead asked an expert to take the swarm; the buttons of the DM carry `ask`.
    Asked {
        expert: String,
        ask: String,
    },
    /// The expert declined the ask.
    Declined {
        expert: String,
        ask: String,
        reason: DeclineReason,
    },
    /// A stakeholder update the lead posted to the incident channel (`U`): its line in
    /// the thread carries this, so every swarmdeck on the pod knows the last update and
    /// when the next is promised.
    StatusUpdate {
        status: String,
        next_update_at: Option<Ts>,
    },
    /// In a duplicate's thread (`L`): it duplicates the swarm `of` (case `case`), and is
    /// resolved by this post.
    Duplicate {
        of_channel: String,
        of_ts: Ts,
        case: String,
    },
    /// In the original's thread: the swarm `duplicate` (case `case`) was linked to it.
    DuplicateLinked {
        duplicate_channel: String,
        duplicate_ts: Ts,
        case: String,
    },
}

impl MarkerKind {
    /// The Slack metadata `event_type` it travels as.
    pub fn event_type(&self) -> &'static str {
        match self {
            MarkerKind::Assigned { .. } => "swarmdeck_assigned",
            MarkerKind::Unassigned { .. } => "swarmdeck_unassigned",
            MarkerKind::Promoted { .. } => "swarmdeck_promoted",
            MarkerKind::Resolved { .. } => "swarmdeck_resolved",
            MarkerKind::Reopened => "swarmdeck_reopened",
            MarkerKind::Waiting { .. } => "swarmdeck_waiting",
            MarkerKind::FollowUp { .. } => "swarmdeck_follow_up",
            MarkerKind::Replied => "swarmdeck_replied",
            MarkerKind::Asked { .. } => "swarmdeck_asked",
            MarkerKind::Declined { .. } => "swarmdeck_declined",
            MarkerKind::StatusUpdate { .. } => "swarmdeck_update",
            MarkerKind::Duplicate { .. } => "swarmdeck_duplicate",
            MarkerKind::DuplicateLinked { .. } => "swarmdeck_duplicate_linked",
        }
    }
}
