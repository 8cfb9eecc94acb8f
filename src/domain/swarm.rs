//! A swarm, derived from its Slack thread: the request, who is on it, where it stands and
//! its clocks. Derivation is a fold over the thread in ts order, so the same messages give
//! the same swarm whatever order they arrived in, and two leads on a pod agree.

use super::asks::{Answer, Ask, Assignment, DeclineReason};
use super::duplicates::{DuplicateOf, Link};
use super::input::{Author, MarkerKind, Msg};
use super::intake::Request;
use super::lifecycle::{Lifecycle, LifecycleKind};
use super::text::one_line;
use super::timers::{Pauses, SlaPolicy};
use super::{SwarmId, Ts, Urgency};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    New,
    Assigned,
    InProgress,
    WaitingOnCustomer,
    Promoted,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Assigned => "assigned",
            Status::InProgress => "in progress",
            Status::WaitingOnCustomer => "waiting on customer",
            Status::Promoted => "promoted",
            Status::Resolved => "resolved",
        }
    }

    pub fn is_open(self) -> bool {
        self != Status::Resolved
    }
}

/// The temporary incident channel a swarm was promoted to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    pub channel_id: String,
    pub channel_name: String,
}

/// Which SLA clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Clock {
    FirstResponse,
    /// A response owed since the requester's side answered (`since`: their reply).
    NextResponse {
        since: Ts,
    },
    Resolution,
}

impl Clock {
    pub fn as_str(self) -> &'static str {
        match self {
            Clock::FirstResponse => "first_response",
            Clock::NextResponse { .. } => "next_response",
            Clock::Resolution => "resolution",
        }
    }
}

/// One SLA clock of a swarm: when it is due (`None` while the clock is stopped before
/// reaching it), and when it was met, if it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Breach {
    pub clock: Clock,
    pub due: Option<Ts>,
    pub met_at: Option<Ts>,
    /// The clock's target (seconds) under the pod's policy: kept with it, so that a
    /// view of 10,000 swarms needs no policy lookups.
    pub target: i64,
    /// With business hours: when 75 % of the target is used in open time (the row's
    /// warning). `None` without hours, or while the clock is stopped before it.
    pub warn_at: Option<Ts>,
}

impl Breach {
    /// Whether the clock ran past its target by `now`.
    pub fn breached(&self, now: Ts) -> bool {
        self.due
            .is_some_and(|due| self.met_at.unwrap_or(now) >= due)
    }

    /// Still running: not met yet.
    pub fn running(&self) -> bool {
        self.met_at.is_none()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Swarm {
    pub pod: String,
    pub channel: String,
    pub thread_ts: Ts,
    pub request: Request,
    /// Who posted the request (a workflow, or the agent by hand).
    pub posted_by: Author,
    pub status: Status,
    /// Assigned experts, in the order they were assigned.
    pub experts: Vec<String>,
    /// When each assigned expert was assigned, and whether they spoke since.
    pub assignments: Vec<Assignment>,
    /// Experts asked to take it (`[actions] assign = "ask"`), oldest first.
    pub asks: Vec<Ask>,
    /// People who replied, in the order of their first reply.
    pub participants: Vec<String>,
    pub reply_count: usize,
    pub last_activity: Ts,
    pub incident: Option<Incident>,
    pub next_steps: Option<String>,
    pub follow_up_at: Option<Ts>,
    pub resolution: Option<String>,
    pub opened_at: Ts,
    pub first_response_at: Option<Ts>,
    pub assigned_at: Option<Ts>,
    pub resolved_at: Option<Ts>,
    /// The requester's side answered after support's last reply, at this time.
    pub needs_response_since: Option<Ts>,
    /// Waiting on the customer: the support clock is stopped.
    pub pauses: Pauses,
    /// Responses owed to the requester's side: (their reply, support's answer). Only
    /// the newest can still be unanswered.
    pub owed: Vec<(Ts, Option<Ts>)>,
    /// The post that set the follow-up, so that each follow-up is due once.
    follow_up_set_at: Option<Ts>,
    /// The soonest running clock under the pod's policy ([`Swarm::next_due`]), kept by
    /// the desk when the thread changes: it does not depend on the time, and the table
    /// needs it for every swarm on every frame.
    pub next_clock: Option<Breach>,
    /// History said the thread has replies the desk has not read yet (the gap fill reads
    /// threads after their channel): its clocks are not known, so none shows as breached
    /// and none rings, which a root folded without its answers would. Kept by the desk,
    /// which ends it when the replies arrive or after a grace period.
    pub pending: bool,
    /// Likely a duplicate of this open swarm (same case, or a similar subject): flagged
    /// by the desk at intake.
    pub duplicate_of: Option<DuplicateOf>,
    /// Linked (`L`) as a duplicate of this swarm, which resolved it.
    pub linked_to: Option<Link>,
    /// The swarms linked to this one as its duplicates, oldest first.
    pub duplicates: Vec<Link>,
    /// When the promotion marker landed: the stakeholder cadence counts from it until
    /// the first update.
    pub promoted_at: Option<Ts>,
    /// The newest stakeholder update (`U`), from its marker in the thread.
    pub last_update: Option<StatusUpdate>,
}

/// A stakeholder update posted to the incident channel, as its thread marker says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusUpdate {
    pub at: Ts,
    pub status: String,
    /// When the update said the next one comes.
    pub next_update_at: Option<Ts>,
    pub lead: Option<String>,
}

impl Swarm {
    /// When the next stakeholder update is due: the time the last update promised,
    /// else the pod's cadence for its severity from the last update (or the promotion).
    /// `None` while it is not promoted or open, or with no cadence and no promise.
    pub fn update_due_at(&self, policy: &SlaPolicy) -> Option<Ts> {
        if !self.is_open() || self.incident.is_none() {
            return None;
        }
        let every = policy.update_every(self.urgency());
        match &self.last_update {
            Some(u) => u
                .next_update_at
                .or_else(|| every.map(|e| u.at.plus_secs(e))),
            None => every.and_then(|e| self.promoted_at.map(|p| p.plus_secs(e))),
        }
    }

    /// Whether the row says `update due` at `now`.
    pub fn update_due(&self, policy: &SlaPolicy, now: Ts) -> bool {
        self.update_due_at(policy).is_some_and(|d| d <= now)
    }

    /// The `update_due` event, once per update interval: keyed by the update (or the
    /// promotion) it counts from, so a new update starts a new interval.
    fn update_due_event(&self, policy: &SlaPolicy, now: Ts) -> Option<Lifecycle> {
        let due = self.update_due_at(policy).filter(|d| *d <= now)?;
        let from = self
            .last_update
            .as_ref()
            .map(|u| u.at)
            .or(self.promoted_at)?;
        Some(self.event(
            format!("update_due:{from}"),
            due,
            LifecycleKind::UpdateDue {
                last: self.last_update.as_ref().map(|u| u.at),
            },
        ))
    }

    pub fn id(&self) -> SwarmId {
        SwarmId::new(self.channel.clone(), self.thread_ts)
    }

    pub fn case(&self) -> &str {
        &self.request.case
    }

    pub fn urgency(&self) -> Urgency {
        self.request.urgency
    }

    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }

    /// Waiting on the customer: the support clock is stopped. Not the same as the
    /// status, which says `promoted` for a promoted swarm however it waits.
    pub fn is_waiting(&self) -> bool {
        self.pauses.is_paused()
    }

    /// The requester: named in the request, else the person who posted it.
    pub fn requester(&self) -> Option<&str> {
        self.request.requester.as_deref().or(match &self.posted_by {
            Author::Person(u) => Some(u.as_str()),
            _ => None,
        })
    }

    /// Every SLA clock this swarm has had, for the given policy.
    pub fn clocks(&self, policy: &SlaPolicy) -> Vec<Breach> {
        self.clocks_in(policy, Scope::All)
    }

    fn clocks_in(&self, policy: &SlaPolicy, scope: Scope) -> Vec<Breach> {
        self.clocks_by(policy, scope, None)
    }

    /// How many of its clocks ran past their target by `now`.
    pub fn breaches(&self, policy: &SlaPolicy, now: Ts) -> usize {
        self.clocks_by(policy, Scope::All, Some(now))
            .iter()
            .filter(|b| b.breached(now))
            .count()
    }

    /// The clocks; `by: Some(now)` keeps only those that can have breached by `now`,
    /// without their warnings: a clock's due is never sooner than its target in wall
    /// time, so one younger than its target is skipped before its due is worked out
    /// (in business hours that walks the calendar, on every tick).
    fn clocks_by(&self, policy: &SlaPolicy, scope: Scope, by: Option<Ts>) -> Vec<Breach> {
        let u = self.urgency();
        let tier = self.request.tier.as_deref();
        let resolved = self.resolved_at;
        // Off hours stop the clock as waiting on the customer does: both count here.
        let hours = policy.calendar(u);
        let (first, resolution) = (
            policy.first_response_for(u, tier),
            policy.resolution_for(u, tier),
        );
        let clock = |clock: Clock, from: Ts, target: i64, met_at: Option<Ts>| {
            if let Some(now) = by
                && met_at.unwrap_or(now) < from.plus_secs(target)
            {
                return None;
            }
            Some(Breach {
                clock,
                due: self.pauses.due_in(from, target, hours),
                met_at,
                target,
                // The row's 75 % warning in business time: when a quarter of the target
                // is left in open hours (without hours, the row reads it off the countdown).
                warn_at: hours
                    .filter(|_| by.is_none())
                    .and_then(|_| self.pauses.due_in(from, target - target / 4, hours)),
            })
        };
        let mut clocks = vec![
            clock(
                Clock::FirstResponse,
                self.opened_at,
                first,
                self.first_response_at.or(resolved),
            ),
            clock(Clock::Resolution, self.opened_at, resolution, resolved),
        ];
        let from = match scope {
            Scope::All => 0,
            // Only the newest response owed can still be unanswered.
            Scope::Unsettled => self.owed.len().saturating_sub(1),
        };
        for &(since, answered) in &self.owed[from..] {
            clocks.push(clock(
                Clock::NextResponse { since },
                since,
                first,
                answered.or(resolved),
            ));
        }
        clocks.into_iter().flatten().collect()
    }

    /// The pod is closed at `now` and this swarm's clocks follow its hours: when they
    /// resume (for the row's `after hours · resumes Mon 09:00`).
    pub fn resumes_at(&self, policy: &SlaPolicy, now: Ts) -> Option<Ts> {
        let hours = policy.calendar(self.urgency())?;
        if !self.is_open() || hours.is_open(now) {
            return None;
        }
        hours.next_open(now)
    }

    /// The soonest clock still running, for showing what is about to breach.
    pub fn next_due(&self, policy: &SlaPolicy) -> Option<Breach> {
        self.clocks_in(policy, Scope::Unsettled)
            .into_iter()
            .filter(|b| b.running() && b.due.is_some())
            .min_by_key(|b| b.due)
    }

    /// Where the swarm stands in the lead's attention order at `now` (lower first). It
    /// reads the desk's [`Swarm::next_clock`], so the order costs no policy lookups.
    pub fn attention(&self, now: Ts) -> Attention {
        // A pending swarm's clock is not known yet: it ranks as having none.
        let due = self
            .next_clock
            .filter(|_| !self.pending)
            .and_then(|b| b.due);
        let taken = !self.experts.is_empty() || self.is_waiting();
        Attention {
            answered: self.needs_response_since.is_none(),
            taken,
            urgency: (!taken).then_some(self.urgency()),
            not_breached: due.is_none_or(|d| d > now),
            no_follow_up_due: self.follow_up_at.is_none_or(|f| f > now),
            due: due.unwrap_or(Ts(i64::MAX)),
            opened_at: self.opened_at,
        }
    }

    /// Wall and business seconds from the request to `at` (its first response, its
    /// resolution): the business figure counts the pod's open hours only, when the
    /// swarm's urgency follows them, and equals the wall one otherwise.
    pub fn wall_and_business_secs(&self, policy: &SlaPolicy, at: Ts) -> (i64, i64) {
        let wall = at.secs_since(self.opened_at);
        match policy.calendar(self.urgency()) {
            Some(h) => (wall, h.open_secs(self.opened_at, at)),
            None => (wall, wall),
        }
    }

    /// Support time and customer (waiting) time in seconds, up to resolution or `now`.
    pub fn support_and_customer_secs(&self, now: Ts) -> (i64, i64) {
        let end = self.resolved_at.unwrap_or(now).max(self.opened_at);
        let waiting = self.pauses.paused_within(self.opened_at, end);
        (end.secs_since(self.opened_at) - waiting, waiting)
    }

    /// The clock-driven events due by `now`: breaches and follow-ups. Each has a stable
    /// key, so that the desk (and `tail`, across restarts) emits it once.
    pub(crate) fn clock_events(&self, policy: &SlaPolicy, now: Ts, scope: Scope) -> Vec<Lifecycle> {
        let mut events = Vec::new();
        // Replies not read yet may have met a clock or moved the follow-up: an event
        // emitted now could not be taken back (`tail` prints it, the bell rings).
        if self.pending {
            return events;
        }
        for b in self.clocks_by(policy, scope, Some(now)) {
            let Some(due) = b.due.filter(|_| b.breached(now)) else {
                continue;
            };
            let suffix = match b.clock {
                Clock::NextResponse { since } => format!("{}:{since}", b.clock.as_str()),
                c => c.as_str().to_string(),
            };
            events.push(self.event(
                format!("sla_breached:{suffix}"),
                due,
                LifecycleKind::SlaBreached {
                    clock: b.clock,
                    due,
                },
            ));
        }
        if let (Some(due), Some(set_at)) = (self.follow_up_at, self.follow_up_set_at)
            && due <= now
            && self.resolved_at.is_none_or(|r| r > due)
        {
            events.push(self.event(
                format!("follow_up_due:{set_at}"),
                due,
                LifecycleKind::FollowUpDue {
                    next_steps: self.next_steps.clone().unwrap_or_default(),
                },
            ));
        }
        if self.is_open() {
            let within = policy.accept_within(self.urgency());
            for ask in self.asks.iter().filter(|a| a.answer.is_none()) {
                let due = ask.at.plus_secs(within);
                if due <= now {
                    events.push(self.event(
                        format!("ask_unanswered:{}", ask.id),
                        due,
                        LifecycleKind::AskUnanswered {
                            expert: ask.expert.clone(),
                        },
                    ));
                }
            }
            events.extend(self.update_due_event(policy, now));
            for a in self.quiet_experts(policy, now) {
                events.push(self.event(
                    format!("expert_quiet:{}:{}", a.expert, a.at),
                    a.at.plus_secs(policy.quiet_after(self.urgency())),
                    LifecycleKind::ExpertQuiet {
                        expert: a.expert.clone(),
                        since: a.at,
                    },
                ));
            }
        }
        events
    }

    /// Assigned experts who have not replied in the thread at all since the pod's
    /// `quiet_after` after being assigned (one reply ends it): while the swarm is open,
    /// not promoted, and not waiting on the customer (then silence is expected).
    pub fn quiet_experts<'a>(
        &'a self,
        policy: &SlaPolicy,
        now: Ts,
    ) -> impl Iterator<Item = &'a Assignment> + 'a {
        let after = policy.quiet_after(self.urgency());
        // Promoted, the work moves to the incident channel, whose replies the thread
        // does not see: silence here says nothing.
        let watching = self.is_open() && !self.is_waiting() && self.incident.is_none();
        self.assignments
            .iter()
            .filter(move |a| watching && a.spoke.is_none() && now.secs_since(a.at) >= after)
    }

    /// What the row says of the experts asked or assigned, most pressing first: an
    /// unanswered ask, then a decline nobody has replaced yet, then a quiet expert.
    pub fn expert_flag(&self, policy: &SlaPolicy, now: Ts) -> Option<ExpertFlag> {
        if !self.is_open() {
            return None;
        }
        if let Some(ask) = self.asks.iter().rev().find(|a| a.answer.is_none()) {
            return Some(ExpertFlag::Asked {
                expert: ask.expert.clone(),
                since: ask.at,
                overdue: now.secs_since(ask.at) >= policy.accept_within(self.urgency()),
            });
        }
        if let Some(Ask {
            expert,
            answer: Some((_, Answer::Declined(reason))),
            ..
        }) = self.asks.last()
            && self.experts.is_empty()
        {
            return Some(ExpertFlag::Declined {
                expert: expert.clone(),
                reason: *reason,
            });
        }
        self.quiet_experts(policy, now)
            .next()
            .map(|a| ExpertFlag::Quiet {
                expert: a.expert.clone(),
                since: a.at,
            })
    }

    pub(crate) fn event(&self, key: String, at: Ts, kind: LifecycleKind) -> Lifecycle {
        Lifecycle {
            key: format!("{}:{}:{key}", self.channel, self.thread_ts),
            at,
            pod: self.pod.clone(),
            channel: self.channel.clone(),
            thread_ts: self.thread_ts,
            case: Some(self.request.case.clone()),
            kind,
        }
    }
}

/// What the row says of the experts asked or assigned ([`Swarm::expert_flag`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpertFlag {
    /// Asked and not answered yet; `overdue` past the pod's `accept_within`.
    Asked {
        expert: String,
        since: Ts,
        overdue: bool,
    },
    /// The last ask was declined and nobody is assigned since.
    Declined {
        expert: String,
        reason: DeclineReason,
    },
    /// Assigned, and silent in the thread since `since`.
    Quiet { expert: String, since: Ts },
}

/// The attention order, as a lead works a queue (fields compare in this order, lower
/// first): a response owed to the requester's side; then the unassigned, most urgent
/// first (someone has to pick them up, and the clock of a new Sev3 must not hide a Sev1
/// nobody has); then a breached clock; then a follow-up that is due; then the soonest
/// clock (none last); then the oldest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Attention {
    pub answered: bool,
    /// Someone has it: an expert, or the customer (it waits on them), so there is
    /// nothing to hand out yet. An unassigned swarm that waits is not the lead's to
    /// pick up before a live Sev1.
    pub taken: bool,
    /// Only for the unassigned: an assigned swarm's clock already says how urgent it is.
    pub urgency: Option<Urgency>,
    pub not_breached: bool,
    pub no_follow_up_due: bool,
    pub due: Ts,
    pub opened_at: Ts,
}

/// Which clocks to read: all of them, or only those that can still change — first
/// response, resolution and the newest response owed (an answered one is settled, and
/// said its breach when it was answered). A long thread's reply or a tick reads the few.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    All,
    Unsettled,
}

/// What the fold needs besides the thread.
pub(crate) struct DeriveCtx<'a> {
    pub pod: &'a str,
}

/// A resolved reaction on the root: when it was added, if known.
pub(crate) type ReactionTimes = BTreeMap<String, Option<Ts>>;

/// A thread folded reply by reply, in ts order, so that a reply newer than all before
/// it costs one step rather than a refold of the whole thread. The swarm itself is the
/// desk's (the fold keeps no copy): resolutions and reopenings (from markers and from
/// reactions, which have times of their own) are applied on it by [`Fold::finish`], and
/// taken off again by [`Fold::unfinish`] before the next reply.
#[derive(Clone, Debug)]
pub(crate) struct Fold {
    /// The pauses as the replies left them, before a resolution ended one.
    pauses: Pauses,
    requester: Option<String>,
    /// Resolutions and reopenings the replies' markers said.
    turns: Vec<(Ts, Turn)>,
    last_support_reply: Option<Ts>,
    /// The newest reply folded: a reply at or before it needs a refold.
    through: Option<Ts>,
}

impl Fold {
    /// The fold of a request with no replies yet, and its `swarm_opened` event.
    pub(crate) fn start(
        root: &Msg,
        request: Request,
        ctx: &DeriveCtx<'_>,
    ) -> (Fold, Swarm, Vec<Lifecycle>) {
        let s = Swarm {
            pod: ctx.pod.to_string(),
            channel: root.channel.clone(),
            thread_ts: root.ts,
            request,
            posted_by: root.author.clone(),
            status: Status::New,
            experts: Vec::new(),
            assignments: Vec::new(),
            asks: Vec::new(),
            participants: Vec::new(),
            reply_count: 0,
            last_activity: root.ts,
            incident: None,
            next_steps: None,
            follow_up_at: None,
            resolution: None,
            opened_at: root.ts,
            first_response_at: None,
            assigned_at: None,
            resolved_at: None,
            needs_response_since: None,
            pauses: Pauses::default(),
            owed: Vec::new(),
            follow_up_set_at: None,
            next_clock: None,
            pending: false,
            promoted_at: None,
            last_update: None,
            duplicate_of: None,
            linked_to: None,
            duplicates: Vec::new(),
        };
        let requester = s.requester().map(str::to_string);
        let opened = s.event(
            "swarm_opened".into(),
            root.ts,
            LifecycleKind::SwarmOpened {
                urgency: s.request.urgency,
                subject: s.request.subject.clone(),
                requester: requester.clone(),
                link: s.request.link.clone(),
            },
        );
        let fold = Fold {
            pauses: Pauses::default(),
            requester,
            turns: Vec::new(),
            last_support_reply: None,
            through: None,
        };
        (fold, s, vec![opened])
    }

    /// Takes a finished swarm back to what its replies alone made it, to fold on.
    pub(crate) fn unfinish(&self, s: &mut Swarm) {
        s.pauses = self.pauses.clone();
        s.resolution = None;
        s.resolved_at = None;
    }

    /// The newest reply folded so far.
    pub(crate) fn through(&self) -> Option<Ts> {
        self.through
    }

    /// Folds one reply newer than every reply before it into `s` (unfinished); the
    /// events it caused.
    pub(crate) fn reply(&mut self, s: &mut Swarm, reply: &Msg) -> Vec<Lifecycle> {
        debug_assert!(self.through < Some(reply.ts), "replies fold in ts order");
        self.through = Some(reply.ts);
        let Fold {
            requester,
            turns,
            last_support_reply,
            ..
        } = self;
        let mut events = Vec::new();
        let ts = reply.ts;
        s.reply_count += 1;
        s.last_activity = s.last_activity.max(ts);
        let lead = reply.marker.as_ref().and_then(|m| m.lead.clone());
        match (&reply.author, &reply.marker) {
            (Author::Us, Some(marker)) if marker.kind != MarkerKind::Replied => {
                match &marker.kind {
                    MarkerKind::Assigned { expert } => {
                        if !s.experts.contains(expert) {
                            s.experts.push(expert.clone());
                            // One who has helped in the thread already is not quiet.
                            let spoke = s.participants.contains(expert).then_some(ts);
                            s.assignments.push(Assignment {
                                expert: expert.clone(),
                                at: ts,
                                spoke,
                            });
                        }
                        // However it came (Accept, a claim, the lead), it answers the
                        // expert's ask, and makes the others' moot.
                        for ask in s.asks.iter_mut() {
                            let answer = if ask.expert == *expert {
                                Answer::Accepted
                            } else {
                                Answer::Withdrawn
                            };
                            ask.answer.get_or_insert((ts, answer));
                        }
                        s.assigned_at.get_or_insert(ts);
                        events.push(s.event(
                            format!("assigned:{ts}"),
                            ts,
                            LifecycleKind::Assigned {
                                expert: expert.clone(),
                                lead,
                            },
                        ));
                    }
                    MarkerKind::Unassigned { expert } => {
                        s.experts.retain(|e| e != expert);
                        s.assignments.retain(|a| a.expert != *expert);
                        events.push(s.event(
                            format!("unassigned:{ts}"),
                            ts,
                            LifecycleKind::Unassigned {
                                expert: expert.clone(),
                                lead,
                            },
                        ));
                    }
                    MarkerKind::Promoted {
                        channel_id,
                        channel_name,
                    } => {
                        // The first promotion holds: a swarm has one incident channel.
                        if s.incident.is_none() {
                            s.incident = Some(Incident {
                                channel_id: channel_id.clone(),
                                channel_name: channel_name.clone(),
                            });
                            s.promoted_at = Some(ts);
                            events.push(s.event(
                                "promoted".into(),
                                ts,
                                LifecycleKind::Promoted {
                                    incident_channel: channel_name.clone(),
                                    incident_channel_id: channel_id.clone(),
                                    lead,
                                },
                            ));
                        }
                    }
                    MarkerKind::Resolved { resolution } => {
                        turns.push((ts, Turn::Resolve(Some(resolution.clone()), lead)));
                    }
                    MarkerKind::Reopened => turns.push((ts, Turn::Reopen(lead))),
                    MarkerKind::Waiting { on: true } => {
                        s.pauses.start(ts);
                        // Waiting on the customer means support owes nothing: a lead who
                        // pauses after the requester's reply ("thanks, I'll check") has
                        // judged it needs no answer. So the response owed ends here — met
                        // now, or still a breach if it was already late — rather than the
                        // row showing both "needs response" and "paused".
                        if s.needs_response_since.take().is_some()
                            && let Some(owed) = s.owed.last_mut()
                        {
                            owed.1 = Some(ts);
                        }
                    }
                    MarkerKind::Waiting { on: false } => s.pauses.stop(ts),
                    MarkerKind::Duplicate {
                        of_channel,
                        of_ts,
                        case,
                    } => {
                        // The first link holds, and it resolves the duplicate.
                        if s.linked_to.is_none() {
                            s.linked_to = Some(Link {
                                other: SwarmId::new(of_channel.clone(), *of_ts),
                                case: case.clone(),
                                at: ts,
                            });
                            let text = format!("duplicate of #{case}");
                            turns.push((ts, Turn::Resolve(Some(text), lead)));
                        }
                    }
                    MarkerKind::DuplicateLinked {
                        duplicate_channel,
                        duplicate_ts,
                        case,
                    } => {
                        let other = SwarmId::new(duplicate_channel.clone(), *duplicate_ts);
                        if !s.duplicates.iter().any(|l| l.other == other) {
                            s.duplicates.push(Link {
                                other,
                                case: case.clone(),
                                at: ts,
                            });
                        }
                    }
                    MarkerKind::FollowUp { next_steps, due } => {
                        s.next_steps = Some(next_steps.clone());
                        s.follow_up_at = Some(*due);
                        s.follow_up_set_at = Some(ts);
                    }
                    // Excluded above: a reply the lead wrote is a reply, below.
                    MarkerKind::Replied => {}
                    MarkerKind::StatusUpdate {
                        status,
                        next_update_at,
                    } => {
                        s.last_update = Some(StatusUpdate {
                            at: ts,
                            status: status.clone(),
                            next_update_at: *next_update_at,
                            lead: lead.clone(),
                        });
                        events.push(s.event(
                            format!("status_update:{ts}"),
                            ts,
                            LifecycleKind::StatusUpdate {
                                status: status.clone(),
                                next_update_at: *next_update_at,
                                lead,
                            },
                        ));
                    }
                    MarkerKind::Asked { expert, ask } => {
                        if !s.asks.iter().any(|a| a.id == *ask) {
                            // Asking the next expert makes an unanswered ask moot.
                            for earlier in s.asks.iter_mut() {
                                earlier.answer.get_or_insert((ts, Answer::Withdrawn));
                            }
                            // Asking someone already on it needs no answer.
                            let answer =
                                s.experts.contains(expert).then_some((ts, Answer::Accepted));
                            s.asks.push(Ask {
                                id: ask.clone(),
                                expert: expert.clone(),
                                lead: lead.clone(),
                                at: ts,
                                answer,
                            });
                            events.push(s.event(
                                format!("asked:{ask}"),
                                ts,
                                LifecycleKind::Asked {
                                    expert: expert.clone(),
                                    lead,
                                },
                            ));
                        }
                    }
                    MarkerKind::Declined {
                        expert,
                        ask,
                        reason,
                    } => {
                        if let Some(a) = s
                            .asks
                            .iter_mut()
                            .find(|a| a.id == *ask && a.expert == *expert && a.answer.is_none())
                        {
                            a.answer = Some((ts, Answer::Declined(*reason)));
                            let asker = a.lead.clone();
                            events.push(s.event(
                                format!("declined:{ask}"),
                                ts,
                                LifecycleKind::Declined {
                                    expert: expert.clone(),
                                    reason: *reason,
                                    lead: asker,
                                },
                            ));
                        }
                    }
                }
            }
            (author, marker) => {
                // A reply the lead wrote in swarmdeck (`c`) is the lead's own support
                // reply, though the bot posted it: it is a first response, and the
                // lead is its author in the audit trail.
                let lead_reply = *author == Author::Us
                    && marker
                        .as_ref()
                        .is_some_and(|m| m.kind == MarkerKind::Replied);
                let user = match author {
                    Author::Person(u) => Some(u.clone()),
                    Author::Us if lead_reply => lead,
                    _ => None,
                };
                if let Some(u) = user.as_ref().filter(|u| !s.participants.contains(u)) {
                    s.participants.push(u.clone());
                }
                if let Some(u) = &user {
                    for a in s.assignments.iter_mut().filter(|a| a.expert == *u) {
                        a.spoke.get_or_insert(ts);
                    }
                }
                let from_requester =
                    matches!(author, Author::Person(_)) && user.is_some() && user == *requester;
                let mut first = false;
                let mut owed = false;
                match author {
                    Author::Person(_) if from_requester => {
                        // The customer's side answered: the clock runs again, and support
                        // owes a response if it had already replied.
                        s.pauses.stop(ts);
                        if last_support_reply.is_some() && s.needs_response_since.is_none() {
                            s.needs_response_since = Some(ts);
                            s.owed.push((ts, None));
                            owed = true;
                        }
                    }
                    Author::Person(_) | Author::Us => {
                        // A first response is a person's: the lead's from swarmdeck
                        // counts, the bot's own notes (a reminder) do not.
                        let by_a_person = matches!(author, Author::Person(_)) || lead_reply;
                        if by_a_person && s.first_response_at.is_none() {
                            s.first_response_at = Some(ts);
                            first = true;
                        }
                        *last_support_reply = Some(ts);
                        if s.needs_response_since.take().is_some()
                            && let Some(owed) = s.owed.last_mut()
                        {
                            owed.1 = Some(ts);
                        }
                    }
                    Author::Bot { .. } => {}
                }
                events.push(s.event(
                    format!("reply:{ts}"),
                    ts,
                    LifecycleKind::Reply {
                        user: user.clone(),
                        ts,
                        text: short(&reply.text),
                        first_response: first,
                    },
                ));
                if owed {
                    events.push(s.event(
                        format!("needs_response:{ts}"),
                        ts,
                        LifecycleKind::NeedsResponse { user },
                    ));
                }
            }
        }
        events
    }

    /// Applies the resolutions and reopenings to `s` (unfinished) and its status; their
    /// events. [`Fold::unfinish`] takes them off again.
    pub(crate) fn finish(
        &mut self,
        s: &mut Swarm,
        resolved_by: &ReactionTimes,
        unreacted: &BTreeSet<(Ts, Option<Ts>)>,
    ) -> Vec<Lifecycle> {
        self.pauses = s.pauses.clone();
        let mut turns = self.turns.clone();
        let mut events = Vec::new();
        // A resolved reaction without a known time counts from the thread's last activity.
        for (user, at) in resolved_by {
            let at = at.unwrap_or(s.last_activity);
            turns.push((at, Turn::Resolve(None, Some(user.clone()))));
        }
        // Removed resolved reactions: they resolved it once; the last one removed reopened it.
        for &(added, removed) in unreacted {
            turns.push((added, Turn::Resolve(None, None)));
            if let Some(removed) = removed {
                turns.push((removed, Turn::Reopen(None)));
            }
        }
        turns.sort_by_key(|(at, turn)| (*at, matches!(turn, Turn::Resolve(..))));
        let (mut resolutions, mut reopenings) = (0, 0);
        for (at, turn) in turns {
            match turn {
                Turn::Resolve(text, lead) => {
                    if text.is_some() {
                        s.resolution = text.clone();
                    }
                    if s.resolved_at.is_none() {
                        s.resolved_at = Some(at);
                        // Resolving ends any wait on the customer: reopened, the swarm is
                        // support's again and its clocks run (a promoted Sev1 paused once
                        // otherwise came back with no clock at all).
                        s.pauses.end_at(at);
                        resolutions += 1;
                        events.push(s.event(
                            format!("resolved:{resolutions}"),
                            at,
                            LifecycleKind::Resolved {
                                resolution: text,
                                by: lead,
                            },
                        ));
                    }
                }
                Turn::Reopen(lead) => {
                    if s.resolved_at.take().is_some() {
                        reopenings += 1;
                        events.push(s.event(
                            format!("reopened:{reopenings}"),
                            at,
                            LifecycleKind::Reopened { by: lead },
                        ));
                    }
                }
            }
        }
        if let Some(at) = s.resolved_at {
            s.pauses.stop(at);
        }
        s.status = if s.resolved_at.is_some() {
            Status::Resolved
        } else if s.incident.is_some() {
            Status::Promoted
        } else if s.pauses.is_paused() {
            Status::WaitingOnCustomer
        } else if s.first_response_at.is_some() {
            Status::InProgress
        } else if !s.experts.is_empty() {
            Status::Assigned
        } else {
            Status::New
        };
        events
    }
}

#[derive(Clone, Debug)]
enum Turn {
    Resolve(Option<String>, Option<String>),
    Reopen(Option<String>),
}

fn short(text: &str) -> String {
    let line = one_line(text);
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}
