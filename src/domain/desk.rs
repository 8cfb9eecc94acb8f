//! The desk: every pod's threads, the swarms derived from them, the experts, and the one
//! entry point — apply an input at a time `now`, get back the lifecycle events it caused.

use super::duplicates::{self, DuplicateOf, Likeness, words};
use super::input::{Author, Input, Msg};
use super::intake::{IntakeRules, Request};
use super::lifecycle::{Lifecycle, LifecycleKind};
use super::swarm::{DeriveCtx, Fold, ReactionTimes, Scope, Swarm};
use super::timers::SlaPolicy;
use super::{SwarmId, Ts};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::ops::Bound;

/// A pod: a product or region team and its public swarm channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Pod {
    pub channel: String,
    pub name: String,
    pub product: String,
    pub region: Option<String>,
    /// Incident channel name template (`support-{product}-sev{sev}-{case}`).
    pub incident_template: String,
    pub sla: SlaPolicy,
    /// Stakeholder user groups (handles) a promotion invites, per severity
    /// (`[pods.promote] invite_groups`).
    pub invite_groups: [Vec<String>; 4],
    /// Whether its new requests are checked for duplicates of open swarms (`[[pods]]
    /// duplicates`, default on); its swarms can be the originals of others either way.
    pub flag_duplicates: bool,
}

pub const DEFAULT_INCIDENT_TEMPLATE: &str = "support-{product}-sev{sev}-{case}";

impl Pod {
    /// A pod found from a channel the bot is in: its name and product are the channel
    /// name without a `swarm-` / `-swarm` affix.
    pub fn discovered(channel_id: &str, channel_name: &str) -> Pod {
        let product = channel_name
            .strip_prefix("swarm-")
            .or_else(|| channel_name.strip_suffix("-swarm"))
            .filter(|p| !p.is_empty())
            .unwrap_or(channel_name);
        Pod {
            channel: channel_id.to_string(),
            name: product.to_string(),
            product: product.to_string(),
            region: None,
            incident_template: DEFAULT_INCIDENT_TEMPLATE.to_string(),
            sla: SlaPolicy::default(),
            invite_groups: Default::default(),
            flag_duplicates: true,
        }
    }
}

#[derive(Clone, Debug)]
pub struct DeskConfig {
    pub intake: IntakeRules,
    /// The reaction on a request that marks it resolved.
    pub resolved_reaction: String,
    /// The reaction by which an expert claims a request (`[actions] claim_reaction`).
    pub claim_reaction: String,
}

/// The reaction that marks a request resolved, unless the config names another.
pub const RESOLVED_REACTION: &str = "white_check_mark";
/// The reaction that claims a request, unless the config names another: 👀.
pub const CLAIM_REACTION: &str = "eyes";

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            intake: IntakeRules::default(),
            resolved_reaction: RESOLVED_REACTION.into(),
            claim_reaction: CLAIM_REACTION.into(),
        }
    }
}

/// A person the lead can pull into a swarm.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expert {
    pub user: String,
    pub name: String,
    pub skills: Vec<String>,
    /// `None` until presence is known.
    pub active: Option<bool>,
}

/// A Slack thread in a pod channel as far as the desk has seen it.
#[derive(Debug, Default)]
struct Thread {
    root: Option<Msg>,
    replies: BTreeMap<Ts, Msg>,
    resolved_by: ReactionTimes,
    /// Resolved reactions since removed: (added, removed if it was the last one).
    unreacted: BTreeSet<(Ts, Option<Ts>)>,
    deleted: bool,
    swarm: Option<Swarm>,
    /// The replies folded so far: a reply newer than all of them is one more step; an
    /// edit, a deletion or a reply from before the newest folded drops it for a refold.
    fold: Option<Fold>,
    /// Keys of the lifecycle events already emitted for this thread.
    emitted: HashSet<String>,
    /// The newest `latest_reply` any copy of the root said (the newest, not the last to
    /// arrive, so that the order copies arrive in does not matter).
    latest_reply: Option<Ts>,
    /// The newest reply deleted: heard of, though no longer held.
    newest_deleted: Option<Ts>,
    /// When (desk time) the root was first seen saying replies the desk had not heard.
    unread_since: Option<Ts>,
    /// The telling words of the request's subject, for finding duplicates.
    subject_words: BTreeSet<String>,
    /// The swarm was (re)started from its request and not yet compared with the other
    /// open swarms for duplicates.
    unchecked: bool,
}

impl Thread {
    /// History said a reply newer than any the desk has heard of.
    fn replies_unread(&self) -> bool {
        let heard = self
            .replies
            .keys()
            .next_back()
            .copied()
            .max(self.newest_deleted);
        self.latest_reply > heard
    }
}

type ThreadKey = (String, Ts);

pub struct Desk {
    config: DeskConfig,
    pods: BTreeMap<String, Pod>,
    threads: HashMap<ThreadKey, Thread>,
    /// Which thread a reply belongs to, for deletions (which name only the message).
    thread_of: HashMap<ThreadKey, Ts>,
    /// Deleted messages, so that a copy arriving later (a retry, a history page) stays deleted.
    deleted: HashSet<ThreadKey>,
    experts: BTreeMap<String, Expert>,
    names: HashMap<String, String>,
    channel_names: HashMap<String, String>,
    /// The latest messages of channels that are not pods (incident channels), for the
    /// detail view to follow.
    logs: HashMap<String, BTreeMap<Ts, Msg>>,
    /// Channels swarms were promoted to (from their markers).
    incident_channels: HashSet<String>,
    /// Stakeholder user groups' members, by handle.
    groups: BTreeMap<String, Vec<String>>,
}

/// Messages kept per incident channel: the detail view shows the latest.
const LOG_CAP: usize = 300;

/// How long a thread whose replies history announced may wait for them before its clocks
/// count as they stand: a thread that never loads (its read failed, a reply the desk cannot
/// see) must still breach and ring. Minutes, against the seconds a gap fill takes.
pub(crate) const UNREAD_REPLIES_GRACE_SECS: i64 = 600;

impl Desk {
    pub fn new(config: DeskConfig, pods: impl IntoIterator<Item = Pod>) -> Desk {
        Desk {
            config,
            pods: pods.into_iter().map(|p| (p.channel.clone(), p)).collect(),
            threads: HashMap::new(),
            thread_of: HashMap::new(),
            deleted: HashSet::new(),
            experts: BTreeMap::new(),
            names: HashMap::new(),
            channel_names: HashMap::new(),
            logs: HashMap::new(),
            incident_channels: HashSet::new(),
            groups: BTreeMap::new(),
        }
    }

    /// Adds a pod, unless it is known already or is one of our incident channels (the
    /// bot is a member of those too, and a name edited in the promote dialog matches no
    /// template).
    pub fn add_pod(&mut self, pod: Pod) {
        if self.incident_channels.contains(&pod.channel) {
            return;
        }
        self.pods.entry(pod.channel.clone()).or_insert(pod);
    }

    /// A channel a swarm was promoted to is an incident channel, never a pod: if it was
    /// taken for one (a restart before its marker was read), it stops being one.
    fn incident_channel(&mut self, channel: &str) {
        if !self.incident_channels.insert(channel.to_string()) || !self.pods.contains_key(channel) {
            return;
        }
        self.pods.remove(channel);
        // Its messages were filed as threads: they become the channel's log.
        let threads: Vec<ThreadKey> = self
            .threads
            .keys()
            .filter(|(c, _)| c == channel)
            .cloned()
            .collect();
        let log = self.logs.entry(channel.to_string()).or_default();
        for key in threads {
            if let Some(t) = self.threads.remove(&key) {
                for m in t.root.into_iter().chain(t.replies.into_values()) {
                    log.insert(m.ts, m);
                }
            }
        }
        while log.len() > LOG_CAP {
            log.pop_first();
        }
    }

    pub fn pods(&self) -> impl Iterator<Item = &Pod> {
        self.pods.values()
    }

    pub fn pod(&self, channel: &str) -> Option<&Pod> {
        self.pods.get(channel)
    }

    pub fn config(&self) -> &DeskConfig {
        &self.config
    }

    /// Every swarm, in no particular order.
    pub fn swarms(&self) -> impl Iterator<Item = &Swarm> {
        self.threads.values().filter_map(|t| t.swarm.as_ref())
    }

    pub fn swarm(&self, channel: &str, thread_ts: Ts) -> Option<&Swarm> {
        self.threads
            .get(&(channel.to_string(), thread_ts))
            .and_then(|t| t.swarm.as_ref())
    }

    pub fn by_id(&self, id: &SwarmId) -> Option<&Swarm> {
        self.swarm(&id.channel, id.thread_ts)
    }

    /// A swarm's thread as it stands: the request, then its replies in order.
    pub fn thread(&self, channel: &str, thread_ts: Ts) -> Vec<&Msg> {
        let Some(t) = self.threads.get(&(channel.to_string(), thread_ts)) else {
            return Vec::new();
        };
        t.root.iter().chain(t.replies.values()).collect()
    }

    /// A stakeholder group's members, once Slack has said (`None` before).
    pub fn group(&self, handle: &str) -> Option<&[String]> {
        self.groups
            .get(handle.trim_start_matches('@'))
            .map(Vec::as_slice)
    }

    pub fn experts(&self) -> impl Iterator<Item = &Expert> {
        self.experts.values()
    }

    /// How many open swarms an expert is assigned to.
    pub fn load(&self, user: &str) -> usize {
        self.swarms()
            .filter(|s| s.is_open() && s.experts.iter().any(|e| e == user))
            .count()
    }

    /// A person's display name, or their id when unknown.
    pub fn name_of<'a>(&'a self, user: &'a str) -> &'a str {
        self.names
            .get(user)
            .or_else(|| self.experts.get(user).map(|e| &e.name))
            .map_or(user, String::as_str)
    }

    /// The latest messages in a channel that is not a pod (an incident channel), oldest
    /// first.
    pub fn channel_log(&self, channel: &str) -> Vec<&Msg> {
        self.logs
            .get(channel)
            .map(|log| log.values().collect())
            .unwrap_or_default()
    }

    /// A person by display name (as the lead types it, with or without `@`).
    pub fn find_person(&self, name: &str) -> Option<&str> {
        let name = name.trim_start_matches('@').to_lowercase();
        self.names
            .iter()
            .find(|(_, n)| n.to_lowercase() == name)
            .map(|(id, _)| id.as_str())
            .or_else(|| {
                self.experts
                    .values()
                    .find(|e| e.name.to_lowercase() == name)
                    .map(|e| e.user.as_str())
            })
    }

    /// The one person called `name`: `None` when nobody is, or when two are (a mention
    /// must not ping the wrong one).
    pub fn find_one_person(&self, name: &str) -> Option<&str> {
        let wanted = name.trim_start_matches('@').to_lowercase();
        let mut ids = self
            .names
            .iter()
            .map(|(id, n)| (id.as_str(), n.as_str()))
            .chain(
                self.experts
                    .values()
                    .map(|e| (e.user.as_str(), e.name.as_str())),
            )
            .filter(|(_, n)| n.to_lowercase() == wanted)
            .map(|(id, _)| id);
        let first = ids.next()?;
        ids.all(|id| id == first).then_some(first)
    }

    /// Handles (names without spaces) of the people the desk knows that start with
    /// `prefix`, ignoring case: what `@pri` may complete to.
    pub fn handles_starting(&self, prefix: &str) -> Vec<&str> {
        let prefix = prefix.to_lowercase();
        let mut names: Vec<&str> = self
            .names
            .values()
            .chain(self.experts.values().map(|e| &e.name))
            .map(String::as_str)
            .filter(|n| !n.contains(char::is_whitespace) && n.to_lowercase().starts_with(&prefix))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// A channel by name (with or without `#`).
    pub fn find_channel(&self, name: &str) -> Option<&str> {
        let name = name.trim_start_matches('#');
        self.channel_names
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| id.as_str())
    }

    pub fn channel_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.channel_names.get(id).map_or(id, String::as_str)
    }

    /// The swarms as a comparable snapshot, ordered by channel and thread.
    pub fn snapshot(&self) -> Vec<Swarm> {
        let mut swarms: Vec<Swarm> = self.swarms().cloned().collect();
        swarms.sort_by(|a, b| (&a.channel, a.thread_ts).cmp(&(&b.channel, b.thread_ts)));
        swarms
    }

    /// Applies one input at time `now`; returns the lifecycle events it caused, each
    /// once, oldest first.
    pub fn apply(&mut self, input: Input, now: Ts) -> Vec<Lifecycle> {
        self.apply_input(input, now, Clocks::Now)
    }

    fn apply_input(&mut self, input: Input, now: Ts, clocks: Clocks) -> Vec<Lifecycle> {
        match input {
            Input::Message(msg) => self.on_message(msg, now),
            Input::Deleted { channel, ts } => self.on_deleted(channel, ts, now, clocks),
            Input::Reaction {
                channel,
                ts,
                name,
                user,
                added,
                at,
            } => {
                if name == self.config.claim_reaction
                    && added
                    && name != self.config.resolved_reaction
                {
                    return self.on_claim(channel, ts, user, at);
                }
                if name != self.config.resolved_reaction || !self.pods.contains_key(&channel) {
                    return Vec::new();
                }
                let key = (channel, ts);
                let thread = self.threads.entry(key.clone()).or_default();
                if added {
                    let known = thread.resolved_by.entry(user).or_insert(at);
                    // The earliest known time wins, so arrival order does not matter.
                    *known = match (*known, at) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                } else if let Some(added) = thread.resolved_by.remove(&user) {
                    let removed = at.unwrap_or(now);
                    let resolved_at = thread.swarm.as_ref().and_then(|s| s.resolved_at);
                    let added = added.or(resolved_at).unwrap_or(removed).min(removed);
                    let last = thread.resolved_by.is_empty();
                    thread.unreacted.insert((added, last.then_some(removed)));
                }
                self.refresh(&key, now, None, clocks)
            }
            Input::ChannelNamed { id, name } => {
                self.channel_names.insert(id, name);
                Vec::new()
            }
            Input::Expert { user, name, skills } => {
                let e = self.experts.entry(user.clone()).or_default();
                e.user = user;
                e.name = name;
                e.skills = skills;
                Vec::new()
            }
            Input::Presence { user, active } => {
                if let Some(e) = self.experts.get_mut(&user) {
                    e.active = Some(active);
                }
                Vec::new()
            }
            Input::UserNamed { user, name } => {
                self.names.insert(user, name);
                Vec::new()
            }
            Input::Group { handle, members } => {
                self.groups.insert(handle, members);
                Vec::new()
            }
            // Not state: the session reads a click against the desk (`asks::read`).
            Input::Click(_) => Vec::new(),
        }
    }

    /// An expert's claim reaction on an open request nobody has assigned them to: a
    /// `claimed` event, once per reaction, for a swarmdeck to turn into an assignment.
    /// Only a reaction heard live has a time; history's reactions claim nothing (a claim
    /// that old was acted on then, or is a lead's to judge).
    fn on_claim(
        &mut self,
        channel: String,
        ts: Ts,
        user: String,
        at: Option<Ts>,
    ) -> Vec<Lifecycle> {
        let Some(at) = at else {
            return Vec::new();
        };
        let Some(thread) = self.threads.get_mut(&(channel, ts)) else {
            return Vec::new();
        };
        let Some(swarm) = thread.swarm.as_ref().filter(|s| s.is_open()) else {
            return Vec::new();
        };
        // The requester watching their own request claims nothing; nor does someone
        // outside the experts the desk knows (when it knows any: the pods' groups).
        let not_an_expert = !self.experts.is_empty() && !self.experts.contains_key(&user);
        if swarm.experts.contains(&user)
            || swarm.thread_ts != ts
            || swarm.requester() == Some(user.as_str())
            || not_an_expert
        {
            return Vec::new();
        }
        let event = swarm.event(
            format!("claimed:{user}:{at}"),
            at,
            LifecycleKind::Claimed { expert: user },
        );
        if thread.emitted.insert(event.key.clone()) {
            vec![event]
        } else {
            Vec::new()
        }
    }

    /// The clock-driven events (breaches, follow-ups) that have come due by `now`.
    pub fn tick(&mut self, now: Ts) -> Vec<Lifecycle> {
        let mut events = Vec::new();
        for thread in self.threads.values_mut() {
            let Some(swarm) = thread.swarm.as_mut().filter(|s| s.is_open()) else {
                continue;
            };
            // Time moves only the clocks still running; a swarm whose unread replies
            // stop holding it back says all it held back.
            let mut scope = Scope::Unsettled;
            if swarm.pending && !still_unread(thread.unread_since, now) {
                swarm.pending = false;
                scope = Scope::All;
            }
            let swarm = &*swarm;
            let sla = &self.pods[&swarm.channel].sla;
            for e in swarm.clock_events(sla, now, scope) {
                if thread.emitted.insert(e.key.clone()) {
                    events.push(e);
                }
            }
        }
        events.sort_by_key(|e| e.at);
        events
    }

    fn on_message(&mut self, msg: Msg, now: Ts) -> Vec<Lifecycle> {
        match self.keep_message(msg) {
            Some((key, edited)) => self.refresh(&key, now, edited, Clocks::Now),
            None => Vec::new(),
        }
    }

    /// Rebuilds the desk from stored inputs at start: every message is filed first and
    /// each thread derived once after, so a restart costs one fold per thread rather than
    /// one per message. Returns the lifecycle events the history implies, oldest first —
    /// the same as applying the inputs one by one would have emitted (a dashboard takes
    /// them as already seen; `tail` puts out those it has not yet).
    pub fn restore(&mut self, inputs: impl IntoIterator<Item = Input>, now: Ts) -> Vec<Lifecycle> {
        // Clocks are read once at the end, from what each swarm came to: a state the
        // history passed through on the way is not a breach at `now`.
        let clocks = Clocks::AtEnd;
        let mut touched = HashSet::new();
        let mut events = Vec::new();
        for input in inputs {
            match input {
                Input::Message(msg) => {
                    // An edited request says `updated` against what it was before, so
                    // what came before the edit is folded first.
                    if !msg.is_reply() && msg.edited.is_some() {
                        let key = (msg.channel.clone(), msg.ts);
                        if touched.remove(&key) {
                            events.extend(self.refresh(&key, now, None, clocks));
                        }
                    }
                    match self.keep_message(msg) {
                        Some((key, Some(edited))) => {
                            events.extend(self.refresh(&key, now, Some(edited), clocks));
                        }
                        Some((key, None)) => {
                            touched.insert(key);
                        }
                        None => {}
                    }
                }
                other => {
                    // A reaction or deletion reads the swarm as derived so far.
                    for key in touched.drain() {
                        events.extend(self.refresh(&key, now, None, clocks));
                    }
                    events.extend(self.apply_input(other, now, clocks));
                }
            }
        }
        for key in touched {
            events.extend(self.refresh(&key, now, None, clocks));
        }
        events.extend(self.flag_restored_duplicates());
        let keys: Vec<ThreadKey> = self.threads.keys().cloned().collect();
        for key in &keys {
            events.extend(self.clock_events(key, now, Scope::All));
        }
        events.sort_by_key(|e| e.at);
        events
    }

    /// Files a message in its thread (or an incident channel's log); the thread to
    /// re-derive, and when the root was edited, if it was.
    fn keep_message(&mut self, msg: Msg) -> Option<(ThreadKey, Option<Ts>)> {
        if !self.pods.contains_key(&msg.channel) {
            let log = self.logs.entry(msg.channel.clone()).or_default();
            if replace_if_newer(log.get(&msg.ts), &msg) {
                log.insert(msg.ts, msg);
            }
            while log.len() > LOG_CAP {
                log.pop_first();
            }
            return None;
        }
        let msg_key = (msg.channel.clone(), msg.ts);
        let key = (msg.channel.clone(), msg.thread());
        if self.deleted.contains(&msg_key) {
            // A reply deleted before it was read was heard of all the same: its thread
            // no longer waits for it.
            if msg.is_reply() {
                let thread = self.threads.entry(key.clone()).or_default();
                if thread.newest_deleted < Some(msg.ts) {
                    thread.newest_deleted = Some(msg.ts);
                    return Some((key, None));
                }
            }
            return None;
        }
        let thread = self.threads.entry(key.clone()).or_default();
        if msg.is_reply() {
            self.thread_of.insert(msg_key, msg.thread());
            if !replace_if_newer(thread.replies.get(&msg.ts), &msg) {
                return None;
            }
            if thread
                .fold
                .as_ref()
                .is_some_and(|f| f.through() >= Some(msg.ts))
            {
                thread.fold = None;
            }
            thread.replies.insert(msg.ts, msg);
            return Some((key, None));
        }
        let said_newer = msg.latest_reply > thread.latest_reply;
        thread.latest_reply = thread.latest_reply.max(msg.latest_reply);
        if !replace_if_newer(thread.root.as_ref(), &msg) {
            return said_newer.then_some((key, None));
        }
        for (name, users) in &msg.reactions {
            if *name == self.config.resolved_reaction {
                for u in users {
                    thread.resolved_by.entry(u.clone()).or_insert(None);
                }
            }
        }
        let edited = thread.root.is_some().then_some(msg.edited).flatten();
        thread.root = Some(msg);
        thread.fold = None;
        Some((key, edited))
    }

    fn on_deleted(&mut self, channel: String, ts: Ts, now: Ts, clocks: Clocks) -> Vec<Lifecycle> {
        if let Some(log) = self.logs.get_mut(&channel) {
            log.remove(&ts);
        }
        let msg_key = (channel, ts);
        if !self.deleted.insert(msg_key.clone()) {
            return Vec::new();
        }
        if let Some(root_ts) = self.thread_of.get(&msg_key).copied() {
            let key = (msg_key.0, root_ts);
            if let Some(thread) = self.threads.get_mut(&key) {
                if thread.replies.remove(&ts).is_some() {
                    thread.fold = None;
                }
                thread.newest_deleted = thread.newest_deleted.max(Some(ts));
            }
            return self.refresh(&key, now, None, clocks);
        }
        let thread = self.threads.entry(msg_key.clone()).or_default();
        thread.deleted = true;
        thread.fold = None;
        self.refresh(&msg_key, now, None, clocks)
    }

    /// Re-derives a thread's swarm and returns the events not emitted before. `edited`:
    /// the root was just edited at this time (an `updated` event if the request changed).
    fn refresh(
        &mut self,
        key: &ThreadKey,
        now: Ts,
        edited: Option<Ts>,
        clocks: Clocks,
    ) -> Vec<Lifecycle> {
        let (mut events, scope) = self.rederive(key, now, edited);
        if clocks == Clocks::Now {
            events.extend(self.flag_duplicates(key));
            events.extend(self.clock_events(key, now, scope));
            events.sort_by_key(|e| e.at);
        }
        events
    }

    /// The clock events (breaches, follow-ups) a thread's swarm has come to by `now`,
    /// not emitted before.
    fn clock_events(&mut self, key: &ThreadKey, now: Ts, scope: Scope) -> Vec<Lifecycle> {
        let Some(thread) = self.threads.get_mut(key) else {
            return Vec::new();
        };
        let (Some(swarm), Some(pod)) = (thread.swarm.as_ref(), self.pods.get(&key.0)) else {
            return Vec::new();
        };
        let mut events = swarm.clock_events(&pod.sla, now, scope);
        events.retain(|e| thread.emitted.insert(e.key.clone()));
        events
    }

    /// [`Desk::refresh`] without the clocks: what the thread's messages say, and which
    /// clocks that may have moved — the few still running after one reply folded on,
    /// all of them after a refold, several replies, or replies that were held back.
    fn rederive(
        &mut self,
        key: &ThreadKey,
        now: Ts,
        edited: Option<Ts>,
    ) -> (Vec<Lifecycle>, Scope) {
        let Some(thread) = self.threads.get_mut(key) else {
            return (Vec::new(), Scope::All);
        };
        let Some(pod) = self.pods.get(&key.0) else {
            return (Vec::new(), Scope::All);
        };
        let before = thread.swarm.take();
        if before.is_none() {
            // A fold goes with its swarm; without one it starts over.
            thread.fold = None;
        }
        let was_pending = before.as_ref().is_some_and(|b| b.pending);
        // A refold keeps what intake flagged (the original may be resolved since).
        let flagged = before.as_ref().and_then(|b| b.duplicate_of.clone());
        let mut scope = Scope::Unsettled;
        let mut events = Vec::new();
        let mut started = None;
        if thread.fold.is_none()
            && !thread.deleted
            && let Some(root) = thread.root.as_ref()
            && let Some(request) = read_request(&self.config.intake, root)
        {
            let ctx = DeriveCtx { pod: &pod.name };
            let (fold, mut swarm, opened) = Fold::start(root, request, &ctx);
            thread.subject_words = words(&swarm.request.subject);
            swarm.duplicate_of = flagged;
            thread.unchecked = pod.flag_duplicates;
            thread.fold = Some(fold);
            started = Some(swarm);
            events = opened;
            scope = Scope::All;
        }
        if let Some(fold) = thread.fold.as_mut() {
            // Held back until now, it says everything it held back.
            if was_pending {
                scope = Scope::All;
            }
            let (mut swarm, request_before) = match started {
                // A refold: the swarm before is only what the edit is compared with.
                Some(fresh) => (
                    fresh,
                    before.filter(|_| edited.is_some()).map(|b| b.request),
                ),
                // Folding on: the same swarm, its resolutions taken off for the replies.
                None => {
                    let mut swarm = before.expect("a fold keeps its swarm");
                    fold.unfinish(&mut swarm);
                    (swarm, None)
                }
            };
            // Only the replies the fold has not taken yet: a reply costs one step,
            // however long its thread.
            let newer = fold.through().map_or(Bound::Unbounded, Bound::Excluded);
            let mut folded = 0;
            for reply in thread
                .replies
                .range((newer, Bound::Unbounded))
                .map(|(_, m)| m)
            {
                events.extend(fold.reply(&mut swarm, reply));
                folded += 1;
            }
            if folded > 1 {
                scope = Scope::All;
            }
            events.extend(fold.finish(&mut swarm, &thread.resolved_by, &thread.unreacted));
            let changed = request_before.is_some_and(|r| r != swarm.request);
            if let Some(edited) = edited.filter(|_| changed) {
                events.push(swarm.event(
                    format!("updated:{edited}"),
                    edited,
                    LifecycleKind::Updated {
                        urgency: swarm.request.urgency,
                        subject: swarm.request.subject.clone(),
                        link: swarm.request.link.clone(),
                    },
                ));
            }
            if thread.replies_unread() {
                let since = *thread.unread_since.get_or_insert(now);
                swarm.pending = still_unread(Some(since), now);
            } else {
                thread.unread_since = None;
                swarm.pending = false;
            }
            swarm.next_clock = swarm.next_due(&pod.sla);
            thread.swarm = Some(swarm);
        } else if let Some(gone) = before {
            events.push(gone.event("withdrawn".into(), now, LifecycleKind::Withdrawn));
        }
        events.retain(|e| thread.emitted.insert(e.key.clone()));
        events.sort_by_key(|e| e.at);
        let incident = thread.swarm.as_ref().and_then(|s| s.incident.as_ref());
        if let Some(channel) = incident.map(|i| i.channel_id.clone()) {
            self.incident_channel(&channel);
        }
        (events, scope)
    }
}

impl Desk {
    /// Duplicates once every restored swarm is derived, oldest first, as live intake
    /// saw them: each swarm not compared yet against the open swarms older than it. By
    /// index (case, and the subjects' words), so that a restart of a big desk does not
    /// compare every pair.
    fn flag_restored_duplicates(&mut self) -> Vec<Lifecycle> {
        let mut all: Vec<(Ts, &str, &ThreadKey, &Thread, &Swarm)> = self
            .threads
            .iter()
            .filter_map(|(k, t)| {
                let s = t.swarm.as_ref()?;
                Some((s.opened_at, s.channel.as_str(), k, t, s))
            })
            .collect();
        all.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut by_case: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_word: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut flags = Vec::new();
        for (i, &(_, _, key, thread, swarm)) in all.iter().enumerate() {
            let case = duplicates::case_key(swarm.case());
            if thread.unchecked && swarm.duplicate_of.is_none() {
                let open_then = |j: &usize| open_when(all[*j].4, swarm.opened_at);
                let same_case = by_case
                    .get(&case)
                    .filter(|_| !case.is_empty())
                    .and_then(|js| js.iter().copied().find(open_then));
                let original = same_case.map(|j| (j, Likeness::SameCase)).or_else(|| {
                    // The oldest first: the requests sharing a word with this one, merged
                    // in order from each word's list, so that the first alike ends it.
                    let lists: Vec<&Vec<usize>> = thread
                        .subject_words
                        .iter()
                        .filter_map(|w| by_word.get(w.as_str()))
                        .collect();
                    let mut heads: BinaryHeap<Reverse<(usize, usize, usize)>> = lists
                        .iter()
                        .enumerate()
                        .filter_map(|(l, list)| list.first().map(|&j| Reverse((j, l, 0))))
                        .collect();
                    let (mut current, mut shared) = (usize::MAX, 0);
                    while let Some(Reverse((j, l, at))) = heads.pop() {
                        if j != current {
                            (current, shared) = (j, 0);
                        }
                        shared += 1;
                        if shared == 3
                            && open_then(&j)
                            && duplicates::subjects_alike(
                                &thread.subject_words,
                                &all[j].3.subject_words,
                            )
                        {
                            return Some((j, Likeness::SimilarSubject));
                        }
                        if let Some(&next) = lists[l].get(at + 1) {
                            heads.push(Reverse((next, l, at + 1)));
                        }
                    }
                    None
                });
                if let Some((j, likeness)) = original {
                    let of = all[j].4;
                    let of = DuplicateOf {
                        of: of.id(),
                        pod: of.pod.clone(),
                        case: of.case().to_string(),
                        likeness,
                    };
                    flags.push((key.clone(), of));
                }
            }
            by_case.entry(case).or_default().push(i);
            for w in &thread.subject_words {
                by_word.entry(w.as_str()).or_default().push(i);
            }
        }
        for t in self.threads.values_mut() {
            t.unchecked = false;
        }
        self.flag(flags)
    }

    /// Marks each swarm a likely duplicate of the one named; their `duplicate` events,
    /// each once.
    fn flag(&mut self, flags: Vec<(ThreadKey, DuplicateOf)>) -> Vec<Lifecycle> {
        let mut events = Vec::new();
        for (k, of) in flags {
            let Some(t) = self.threads.get_mut(&k) else {
                continue;
            };
            let Some(dup) = t.swarm.as_mut() else {
                continue;
            };
            dup.duplicate_of = Some(of.clone());
            let event = dup.event(
                format!("duplicate:{}:{}", of.of.channel, of.of.thread_ts),
                dup.opened_at,
                LifecycleKind::Duplicate { of },
            );
            if t.emitted.insert(event.key.clone()) {
                events.push(event);
            }
        }
        events
    }

    /// Compares a swarm just (re)started from its request with the other swarms open
    /// when it came in: it is flagged a likely duplicate of the one it is alike, the same
    /// case first, then the oldest; and a newer request alike it (this one was brought in
    /// late by history) is flagged a duplicate of it when it ranks first for that one
    /// too, so that the flags do not depend on the order requests arrive in. Each flag
    /// is a `duplicate` event, once.
    fn flag_duplicates(&mut self, key: &ThreadKey) -> Vec<Lifecycle> {
        let Some(thread) = self.threads.get_mut(key) else {
            return Vec::new();
        };
        if !std::mem::take(&mut thread.unchecked) {
            return Vec::new();
        }
        let thread = &self.threads[key];
        let Some(x) = thread.swarm.as_ref().filter(|s| s.duplicate_of.is_none()) else {
            return Vec::new();
        };
        let order = |s: &Swarm| (s.opened_at, s.channel.clone());
        let mut original: Option<((bool, Ts, String), DuplicateOf)> = None;
        let mut newer = Vec::new();
        for (k, t) in &self.threads {
            let Some(y) = t.swarm.as_ref().filter(|_| k != key) else {
                continue;
            };
            let Some(likeness) = duplicates::alike(
                &x.request,
                &thread.subject_words,
                &y.request,
                &t.subject_words,
            ) else {
                continue;
            };
            if order(y) < order(x) {
                if !open_when(y, x.opened_at) {
                    continue;
                }
                let (at, channel) = order(y);
                let rank = (likeness != Likeness::SameCase, at, channel);
                if original.as_ref().is_none_or(|(r, _)| rank < *r) {
                    let of = DuplicateOf {
                        of: y.id(),
                        pod: y.pod.clone(),
                        case: y.case().to_string(),
                        likeness,
                    };
                    original = Some((rank, of));
                }
            } else if y.linked_to.is_none() && open_when(x, y.opened_at) {
                let rank = (
                    likeness != Likeness::SameCase,
                    x.opened_at,
                    x.channel.as_str(),
                );
                let better = y.duplicate_of.as_ref().is_none_or(|d| {
                    let theirs = (
                        d.likeness != Likeness::SameCase,
                        d.of.thread_ts,
                        d.of.channel.as_str(),
                    );
                    rank < theirs
                });
                if !better {
                    continue;
                }
                let of = DuplicateOf {
                    of: x.id(),
                    pod: x.pod.clone(),
                    case: x.case().to_string(),
                    likeness,
                };
                newer.push((k.clone(), of));
            }
        }
        let mut flags: Vec<(ThreadKey, DuplicateOf)> = original
            .map(|(_, of)| (key.clone(), of))
            .into_iter()
            .collect();
        flags.extend(newer);
        self.flag(flags)
    }
}

/// Whether `s` was open when a request came in at `at`: the candidates for what it
/// duplicates. Read from the swarms' own times, not from what the desk holds now, so
/// that a desk restored after the original was resolved flags what the live desk did.
fn open_when(s: &Swarm, at: Ts) -> bool {
    s.opened_at <= at && s.resolved_at.is_none_or(|r| r > at)
}

/// When a refresh reads the clocks: at once (live), or once at the end of a restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clocks {
    Now,
    AtEnd,
}

/// Whether a thread that history said has unread replies since `since` is still within
/// its grace period at `now`.
fn still_unread(since: Option<Ts>, now: Ts) -> bool {
    since.is_some_and(|since| now < since.plus_secs(UNREAD_REPLIES_GRACE_SECS))
}

/// A request is read from a root post by a person or another app, never from our own
/// posts (a handoff summary lists cases too).
fn read_request(rules: &IntakeRules, root: &Msg) -> Option<Request> {
    if root.author == Author::Us {
        return None;
    }
    rules.parse(&root.block_texts, &root.text)
}

/// Whether `new` should replace what is stored: the newest edit wins, and a copy with no
/// edit never replaces an edited one.
fn replace_if_newer(stored: Option<&Msg>, new: &Msg) -> bool {
    match stored {
        None => true,
        Some(old) => new.edited >= old.edited && old != new,
    }
}
