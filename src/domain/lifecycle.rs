//! What happened to a swarm, once each: what `tail` prints, the dashboard flags, and
//! the store's consumers keep their place by.

use super::asks::DeclineReason;
use super::duplicates::DuplicateOf;
use super::swarm::Clock;
use super::{SwarmId, Ts, Urgency};

/// Something that happened to a swarm, once: what `tail` prints and the dashboard flags.
#[derive(Clone, Debug, PartialEq)]
pub struct Lifecycle {
    /// Stable across replays and restarts, so each event is emitted once per consumer.
    pub key: String,
    pub at: Ts,
    pub pod: String,
    pub channel: String,
    pub thread_ts: Ts,
    pub case: Option<String>,
    pub kind: LifecycleKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LifecycleKind {
    SwarmOpened {
        urgency: Urgency,
        subject: String,
        requester: Option<String>,
        link: Option<String>,
    },
    /// The request was edited (a new urgency, subject or link).
    Updated {
        urgency: Urgency,
        subject: String,
        link: Option<String>,
    },
    Reply {
        user: Option<String>,
        ts: Ts,
        text: String,
        first_response: bool,
    },
    Assigned {
        expert: String,
        lead: Option<String>,
    },
    Unassigned {
        expert: String,
        lead: Option<String>,
    },
    Promoted {
        incident_channel: String,
        incident_channel_id: String,
        lead: Option<String>,
    },
    Resolved {
        resolution: Option<String>,
        by: Option<String>,
    },
    Reopened {
        by: Option<String>,
    },
    NeedsResponse {
        user: Option<String>,
    },
    SlaBreached {
        clock: Clock,
        due: Ts,
    },
    FollowUpDue {
        next_steps: String,
    },
    Withdrawn,
    /// A lead asked an expert to take it (their answer comes from Slack).
    Asked {
        expert: String,
        lead: Option<String>,
    },
    /// The expert asked said no.
    Declined {
        expert: String,
        reason: DeclineReason,
        lead: Option<String>,
    },
    /// The expert asked has not answered within the pod's `accept_within`.
    AskUnanswered {
        expert: String,
    },
    /// An assigned expert has not replied in the thread within the pod's `quiet_after`.
    ExpertQuiet {
        expert: String,
        since: Ts,
    },
    /// An expert claimed the request with the claim reaction (not yet assigned: the
    /// claim becomes an assignment once a swarmdeck posts its marker).
    Claimed {
        expert: String,
    },
    /// A promoted swarm's stakeholder update is due (`[incident] update_every`, or the
    /// time the last update promised): once per update interval.
    UpdateDue {
        last: Option<Ts>,
    },
    /// A stakeholder update was posted to the incident channel.
    StatusUpdate {
        status: String,
        next_update_at: Option<Ts>,
        lead: Option<String>,
    },
    /// At intake: the swarm is likely a duplicate of another open swarm (the event's own
    /// swarm is the duplicate).
    Duplicate {
        of: DuplicateOf,
    },
}

impl LifecycleKind {
    /// The `type` of the event in `tail --json`.
    pub fn name(&self) -> &'static str {
        match self {
            LifecycleKind::SwarmOpened { .. } => "swarm_opened",
            LifecycleKind::Updated { .. } => "updated",
            LifecycleKind::Reply { .. } => "reply",
            LifecycleKind::Assigned { .. } => "assigned",
            LifecycleKind::Unassigned { .. } => "unassigned",
            LifecycleKind::Promoted { .. } => "promoted",
            LifecycleKind::Resolved { .. } => "resolved",
            LifecycleKind::Reopened { .. } => "reopened",
            LifecycleKind::NeedsResponse { .. } => "needs_response",
            LifecycleKind::SlaBreached { .. } => "sla_breached",
            LifecycleKind::FollowUpDue { .. } => "follow_up_due",
            LifecycleKind::Withdrawn => "withdrawn",
            LifecycleKind::Asked { .. } => "asked",
            LifecycleKind::Declined { .. } => "declined",
            LifecycleKind::AskUnanswered { .. } => "ask_unanswered",
            LifecycleKind::ExpertQuiet { .. } => "expert_quiet",
            LifecycleKind::Claimed { .. } => "claimed",
            LifecycleKind::UpdateDue { .. } => "update_due",
            LifecycleKind::StatusUpdate { .. } => "status_update",
            LifecycleKind::Duplicate { .. } => "duplicate",
        }
    }
}

impl Lifecycle {
    /// The swarm it happened to.
    pub fn swarm(&self) -> SwarmId {
        SwarmId::new(self.channel.clone(), self.thread_ts)
    }
}
