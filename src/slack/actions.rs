//! The outbox: carries out the lead's moves against Slack, one action at a time, in the
//! order they were taken, each step exactly once.
//!
//! How "exactly once" is kept, step by step:
//! - an action remembers which steps are done (and what they made: the channel, the
//!   permalink), so a retry resumes where it stopped instead of starting over;
//! - a rate limit means Slack did nothing: wait and try the same step again;
//! - a failure that may have landed (a timeout, a 5xx) marks the step *uncertain*; before
//!   trying a post again, the outbox looks for it in Slack by the action id its metadata
//!   carries;
//! - steps that are naturally idempotent say so: `already_in_channel`, `already_reacted`,
//!   `already_archived` and a bookmark with the same link are success; a taken channel
//!   name is reused when the channel is this swarm's own, suffixed when it is not.
//!
//! While the connection is down, actions wait (shown as queued) and go out on
//! reconnect, in order. An action handed over with a "stored" answer waits for it before
//! its first step (shown as held): a move reaches Slack only once the store has it, so a
//! crash can always resume it — on a full disk it waits, and everything behind it.

use super::backoff::{Backoff, jitter};
use super::translate::encode_marker;
use super::web::{SlackError, WebClient};
use super::wire::{
    Ack, Bookmarks, Channel, ChannelAnswer, ChannelPage, Event, Message, MessagePage, Permalink,
    PostMark, Posted, Reaction, ReactionItem,
};
use crate::domain::asks::{self, DeclineReason};
use crate::domain::moves::{Action, AskCard, Meta, Step, Target, suffixed};
use crate::domain::{Marker, MarkerKind};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Where an action stands, as the lead sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionState {
    /// Waiting for its turn, or for the connection to come back.
    Queued,
    /// Not sent until the store has it (the store cannot write now).
    Held,
    Working,
    /// Slack said no for now; trying again after `wait`.
    Retrying {
        error: String,
        wait: Duration,
    },
    Done,
    /// Slack's answer will not change by retrying: shown, not retried.
    Failed {
        error: String,
    },
}

#[derive(Clone, Debug)]
pub struct ActionUpdate {
    pub id: String,
    pub label: String,
    pub state: ActionState,
    /// After each step: how far the action got, for the store to keep.
    pub progress: Option<Progress>,
    /// What a step just did, as the event Slack will send for it: applied at once, so the
    /// lead never waits for Slack's echo (which may go to another process on the app).
    pub landed: Vec<Event>,
}

#[derive(Clone, Debug)]
pub struct OutboxConfig {
    /// The bot's own user id: never invited, and the creator of channels it may reuse.
    pub bot_user: String,
    /// The bot's id, on what it posts (see [`ActionUpdate::landed`]).
    pub bot_id: Option<String>,
    /// Faster retries against a scaled emulator (tests).
    pub time_scale: f64,
    pub backoff: Backoff,
}

impl OutboxConfig {
    pub fn new(bot_user: &str, time_scale: f64) -> Self {
        OutboxConfig {
            bot_user: bot_user.to_string(),
            bot_id: None,
            time_scale,
            backoff: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(60),
            },
        }
    }
}

/// The handle the app sends actions to.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Queued>,
}

/// An action in the queue: how far it got, and (when it is new) the store's word that it
/// is kept, which it waits for before its first step.
type Queued = (Action, Progress, Option<oneshot::Receiver<()>>);

impl Outbox {
    /// Starts the worker. `online` says whether the Socket Mode connection is up;
    /// `report` receives every change of every action's state.
    pub fn spawn(
        web: Arc<WebClient>,
        config: OutboxConfig,
        online: watch::Receiver<bool>,
        report: mpsc::UnboundedSender<ActionUpdate>,
    ) -> Outbox {
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            web,
            config,
            report,
        };
        tokio::spawn(worker.run(rx, online));
        Outbox { tx }
    }

    /// Queues an action; it is reported as queued at once. (Without a store: see
    /// [`Outbox::send_once_stored`].)
    pub fn send(&self, action: Action) -> Result<(), String> {
        let progress = Progress::start(&action);
        self.queue((action, progress, None))
    }

    /// Queues an action that goes to Slack only once `stored` answers (the store's writer
    /// committed it); until then it is held, and the actions behind it wait too, so that
    /// they still go in order. A `stored` dropped unanswered (the writer stopped) fails
    /// the action unsent.
    pub fn send_once_stored(
        &self,
        action: Action,
        stored: oneshot::Receiver<()>,
    ) -> Result<(), String> {
        let progress = Progress::start(&action);
        self.queue((action, progress, Some(stored)))
    }

    /// Queues an action a previous run had begun, from where it got. Whatever step was
    /// under way when that run stopped may have landed: it is checked before it is redone.
    pub fn resume(&self, action: Action, mut progress: Progress) -> Result<(), String> {
        progress.uncertain = true;
        if progress.channel.is_none() {
            progress.channel = action.incident.clone();
        }
        self.queue((action, progress, None))
    }

    fn queue(&self, queued: Queued) -> Result<(), String> {
        self.tx
            .send(queued)
            .map_err(|_| "the outbox has stopped".to_string())
    }
}

/// What an action has done so far, so that a retry (or a restart) resumes rather than
/// repeats.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Progress {
    /// Steps done.
    next: usize,
    /// The incident channel (created, reused, or the swarm's already).
    channel: Option<(String, String)>,
    /// The channel was there already (a retry, or another lead's): posts in it check
    /// for an equivalent post first.
    reused: bool,
    permalink: Option<String>,
    /// The current step's last attempt may have landed.
    uncertain: bool,
    /// Another swarmdeck made this move (a `look_first` action found its post): the
    /// rest of it was theirs to make, and is not made again.
    #[serde(default)]
    elsewhere: bool,
}

/// What a finished move says it did: a promotion names the channel it got (`-2` when
/// the name asked for was taken), not only the one it asked for.
fn done_label(action: &Action, progress: &Progress) -> String {
    let asked = action.steps.iter().find_map(|s| match s {
        Step::CreateChannel { name, .. } => Some(name),
        _ => None,
    });
    match (asked, &progress.channel) {
        (Some(asked), Some((_, got))) if asked != got => action
            .label
            .replace(&format!("#{asked}"), &format!("#{got}")),
        _ => action.label.clone(),
    }
}

impl Progress {
    fn start(action: &Action) -> Progress {
        Progress {
            channel: action.incident.clone(),
            ..Progress::default()
        }
    }
}

/// Why a step stopped.
struct Failure {
    error: SlackError,
    retry: bool,
    uncertain: bool,
}

impl From<SlackError> for Failure {
    fn from(error: SlackError) -> Self {
        let retry = error.is_transient();
        // Still rate limited means Slack did nothing; any other transient failure may
        // have landed.
        let uncertain = retry && !matches!(error, SlackError::RateLimited { .. });
        Failure {
            error,
            retry,
            uncertain,
        }
    }
}

type StepResult<T = ()> = Result<T, Failure>;

/// Pages read looking for a channel or an earlier post before giving up on finding it.
const MAX_SEARCH_PAGES: usize = 50;

struct Worker {
    web: Arc<WebClient>,
    config: OutboxConfig,
    report: mpsc::UnboundedSender<ActionUpdate>,
}

impl Worker {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Queued>, mut online: watch::Receiver<bool>) {
        let mut queue = std::collections::VecDeque::new();
        loop {
            if queue.is_empty() {
                match rx.recv().await {
                    Some(a) => queue.push_back(a),
                    None => return,
                }
            }
            while let Ok(a) = rx.try_recv() {
                queue.push_back(a);
            }
            for (a, _, _) in &queue {
                self.tell(a, ActionState::Queued);
            }
            let Some((action, progress, stored)) = queue.pop_front() else {
                continue;
            };
            if let Some(stored) = stored
                && !self.wait_stored(&action, stored).await
            {
                continue;
            }
            self.carry_out(&action, progress, &mut online).await;
        }
    }

    fn tell(&self, action: &Action, state: ActionState) {
        self.tell_progress(action, state, None);
    }

    fn tell_progress(&self, action: &Action, state: ActionState, progress: Option<Progress>) {
        let _ = self.report.send(ActionUpdate {
            id: action.id.clone(),
            label: action.label.clone(),
            state,
            progress,
            landed: Vec::new(),
        });
    }

    /// A step landed in Slack: the event it will cause, to apply now.
    fn landed(&self, action: &Action, event: Event) {
        let _ = self.report.send(ActionUpdate {
            id: action.id.clone(),
            label: action.label.clone(),
            state: ActionState::Working,
            progress: None,
            landed: vec![event],
        });
    }

    /// Holds a new action until the store has it; `false`: it never will (the writer
    /// stopped), so it is failed unsent.
    async fn wait_stored(&self, action: &Action, mut stored: oneshot::Receiver<()>) -> bool {
        let answer = match stored.try_recv() {
            Err(oneshot::error::TryRecvError::Empty) => {
                tracing::warn!(action = action.id, "held until the store can write it");
                self.tell(action, ActionState::Held);
                stored.await.is_ok()
            }
            answered => answered.is_ok(),
        };
        if !answer {
            tracing::error!(action = action.id, "the store never kept it; not sent");
            self.tell(
                action,
                ActionState::Failed {
                    error: "not sent: the store stopped before it could keep it".into(),
                },
            );
        }
        answer
    }

    async fn carry_out(
        &self,
        action: &Action,
        mut progress: Progress,
        online: &mut watch::Receiver<bool>,
    ) {
        let mut attempt = 0;
        loop {
            if !*online.borrow() {
                // The lead acted while the connection was down: hold it until it is back.
                self.tell(action, ActionState::Queued);
                let _ = online.wait_for(|up| *up).await;
            }
            self.tell(action, ActionState::Working);
            match self.steps(action, &mut progress).await {
                Ok(()) => {
                    tracing::info!(action = action.id, label = action.label, "done");
                    let _ = self.report.send(ActionUpdate {
                        id: action.id.clone(),
                        label: done_label(action, &progress),
                        state: ActionState::Done,
                        progress: None,
                        landed: Vec::new(),
                    });
                    return;
                }
                Err(f) if f.retry => {
                    attempt += 1;
                    progress.uncertain |= f.uncertain;
                    let wait = self
                        .config
                        .backoff
                        .delay(attempt, jitter())
                        .div_f64(self.config.time_scale.max(1e-9));
                    tracing::warn!(action = action.id, error = %f.error, ?wait, "retrying");
                    self.tell(
                        action,
                        ActionState::Retrying {
                            error: f.error.to_string(),
                            wait,
                        },
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(f) => {
                    tracing::warn!(action = action.id, error = %f.error, "failed");
                    self.tell(
                        action,
                        ActionState::Failed {
                            error: f.error.to_string(),
                        },
                    );
                    return;
                }
            }
        }
    }

    async fn steps(&self, action: &Action, p: &mut Progress) -> StepResult {
        while let Some(step) = action.steps.get(p.next) {
            self.step(action, p, step).await?;
            if p.elsewhere {
                p.next = action.steps.len();
                break;
            }
            p.next += 1;
            p.uncertain = false;
            if p.next < action.steps.len() {
                self.tell_progress(action, ActionState::Working, Some(p.clone()));
            }
        }
        Ok(())
    }

    async fn step(&self, a: &Action, p: &mut Progress, step: &Step) -> StepResult {
        match step {
            Step::CreateChannel { name, private } => {
                self.create_channel(a, p, name, *private).await
            }
            Step::Invite { users } => {
                let channel = incident(p)?;
                let users: Vec<&str> = users
                    .iter()
                    .map(String::as_str)
                    .filter(|u| *u != self.config.bot_user)
                    .collect();
                if users.is_empty() {
                    return Ok(());
                }
                let params = [
                    ("channel", channel),
                    ("users", users.join(",")),
                    ("force", "true".into()),
                ];
                tolerate(
                    self.web.call::<Ack>("conversations.invite", &params).await,
                    &["already_in_channel", "cant_invite_self"],
                )
            }
            Step::SetTopic(text) | Step::SetPurpose(text) => {
                let (method, key) = match step {
                    Step::SetTopic(_) => ("conversations.setTopic", "topic"),
                    _ => ("conversations.setPurpose", "purpose"),
                };
                let channel = incident(p)?;
                let value = self.fill(a, p, text).await?;
                if p.uncertain || p.reused {
                    let info: ChannelAnswer = self
                        .web
                        .call("conversations.info", &[("channel", channel.clone())])
                        .await?;
                    let now = match step {
                        Step::SetTopic(_) => &info.channel.topic,
                        _ => &info.channel.purpose,
                    };
                    if now.value == value {
                        return Ok(());
                    }
                }
                self.web
                    .call::<Ack>(method, &[("channel", channel), (key, value)])
                    .await?;
                Ok(())
            }
            Step::Post { to, text, meta } => self.post(a, p, to, text, meta).await,
            Step::AskExpert { expert, card } => self.ask_expert(a, p, expert, card).await,
            Step::ShowAnswer { channel, ts, text } => {
                let text = self.fill(a, p, text).await?;
                let body = json!({
                    "channel": channel,
                    "ts": ts.to_string(),
                    "text": text,
                    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
                });
                // An update is the same whichever time it lands; a DM deleted meanwhile
                // has nothing left to show stale buttons.
                // A peer lead's app posted the DM: only it may update it, and the
                // answer stands in the thread either way.
                tolerate(
                    self.web.call_json::<Ack>("chat.update", &body).await,
                    &[
                        "message_not_found",
                        "cant_update_message",
                        "channel_not_found",
                    ],
                )
            }
            Step::Bookmark { title, link } => {
                let channel = incident(p)?;
                let list: Bookmarks = self
                    .web
                    .call("bookmarks.list", &[("channel_id", channel.clone())])
                    .await?;
                let there = list
                    .bookmarks
                    .iter()
                    .any(|b| b.link.as_deref() == Some(link.as_str()));
                if there {
                    return Ok(());
                }
                let params = [
                    ("channel_id", channel),
                    ("title", title.clone()),
                    ("type", "link".into()),
                    ("link", link.clone()),
                ];
                self.web.call::<Ack>("bookmarks.add", &params).await?;
                Ok(())
            }
            Step::React { name, add } => {
                let thread = thread_ts(a)?;
                let params = [
                    ("channel", a.channel.clone()),
                    ("timestamp", thread),
                    ("name", name.clone()),
                ];
                let (method, fine) = if *add {
                    ("reactions.add", "already_reacted")
                } else {
                    ("reactions.remove", "no_reaction")
                };
                tolerate(self.web.call::<Ack>(method, &params).await, &[fine])?;
                self.landed(a, self.reacted(a, name, *add));
                Ok(())
            }
            Step::ArchiveIncident => {
                let channel = incident(p)?;
                tolerate(
                    self.web
                        .call::<Ack>("conversations.archive", &[("channel", channel)])
                        .await,
                    &["already_archived"],
                )
            }
        }
    }

    /// Creates the incident channel; a taken name is this swarm's own channel (reused)
    /// when it is open and says this thread in its purpose, or is ours with no purpose
    /// yet (a create whose answer was lost); otherwise the next suffix is tried.
    async fn create_channel(
        &self,
        a: &Action,
        p: &mut Progress,
        name: &str,
        private: bool,
    ) -> StepResult {
        if p.channel.is_some() {
            return Ok(());
        }
        let mut candidate = name.to_string();
        for n in 2..=30 {
            let params = [
                ("name", candidate.clone()),
                ("is_private", private.to_string()),
            ];
            match self
                .web
                .call::<ChannelAnswer>("conversations.create", &params)
                .await
            {
                Ok(created) => {
                    let id = created.channel.id;
                    tracing::info!(action = a.id, channel = id, name = candidate, "created");
                    p.channel = Some((id, candidate));
                    return Ok(());
                }
                Err(e) if e.slack_error() == Some("name_taken") => {
                    let existing = self.find_channel(&candidate).await?;
                    if let Some(existing) = existing
                        && self.is_ours(a, p, &existing).await?
                    {
                        let id = existing.id;
                        tracing::info!(action = a.id, channel = id, "reusing this swarm's channel");
                        p.channel = Some((id, candidate));
                        p.reused = true;
                        return Ok(());
                    }
                    candidate = suffixed(name, n);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Failure {
            error: SlackError::Api {
                method: "conversations.create".into(),
                error: "name_taken".into(),
                needed: None,
            },
            retry: false,
            uncertain: false,
        })
    }

    async fn is_ours(&self, a: &Action, p: &mut Progress, channel: &Channel) -> StepResult<bool> {
        if channel.is_archived {
            return Ok(false);
        }
        let purpose = channel.purpose.value.as_str();
        if purpose.is_empty() {
            return Ok(channel.creator.as_deref() == Some(self.config.bot_user.as_str()));
        }
        let permalink = self.permalink(a, p).await?;
        Ok(purpose.contains(&permalink))
    }

    async fn find_channel(&self, name: &str) -> StepResult<Option<Channel>> {
        let params = [
            ("types", "public_channel,private_channel".to_string()),
            ("limit", "200".to_string()),
        ];
        Ok(self
            .web
            .find::<ChannelPage>("conversations.list", &params, MAX_SEARCH_PAGES, |c| {
                c.name == name
            })
            .await?)
    }

    async fn permalink(&self, a: &Action, p: &mut Progress) -> StepResult<String> {
        if let Some(link) = &p.permalink {
            return Ok(link.clone());
        }
        let params = [
            ("channel", a.channel.clone()),
            ("message_ts", thread_ts(a)?),
        ];
        let answer: Permalink = self.web.call("chat.getPermalink", &params).await?;
        p.permalink = Some(answer.permalink.clone());
        Ok(answer.permalink)
    }

    /// Fills `{permalink}` and `{incident}` in a text.
    async fn fill(&self, a: &Action, p: &mut Progress, text: &str) -> StepResult<String> {
        let mut out = text.to_string();
        if out.contains("{permalink}") {
            let link = self.permalink(a, p).await?;
            out = out.replace("{permalink}", &link);
        }
        if out.contains("{incident}") {
            out = out.replace("{incident}", &format!("<#{}>", incident(p)?));
        }
        Ok(out)
    }

    async fn post(
        &self,
        a: &Action,
        p: &mut Progress,
        to: &Target,
        text: &str,
        meta: &Meta,
    ) -> StepResult {
        let key = format!("{}/{}", a.id, p.next);
        let (channel, thread) = match to {
            Target::Thread => (a.channel.clone(), Some(thread_ts(a)?)),
            Target::Incident => (incident(p)?, None),
            Target::Elsewhere(dest) => (self.destination(dest).await?, None),
            Target::OtherThread { channel, thread_ts } => {
                (channel.clone(), Some(thread_ts.to_string()))
            }
        };
        let metadata = self.metadata(a, p, meta, &key)?;
        if (p.uncertain || a.look_first)
            && self
                .posted(&channel, thread.as_deref(), |m| {
                    m.action.as_deref() == Some(key.as_str())
                })
                .await?
        {
            if !p.uncertain {
                // Not ours: another swarmdeck made this very move.
                tracing::info!(action = a.id, key, "another swarmdeck made this move");
                p.elsewhere = true;
                return Ok(());
            }
            tracing::info!(
                action = a.id,
                key,
                "an earlier attempt landed; not posting again"
            );
            return Ok(());
        }
        if p.reused && matches!(to, Target::Incident) {
            // Another lead's promotion may have posted the same summary already.
            if let Meta::Note(note) = meta {
                let same = |m: &PostMark| {
                    m.case.as_deref() == Some(a.case.as_str())
                        && m.note.as_deref() == Some(note.as_str())
                };
                if self.posted(&channel, None, same).await? {
                    return Ok(());
                }
            }
        }
        let text = self.fill(a, p, text).await?;
        let mut body = json!({ "channel": channel, "text": text, "metadata": metadata, "unfurl_links": false });
        if let Some(t) = thread {
            body["thread_ts"] = json!(t);
        }
        match self
            .web
            .call_json_once::<Posted>("chat.postMessage", &body)
            .await
        {
            Ok(posted) => {
                tracing::debug!(
                    action = a.id,
                    key,
                    channel = posted.channel,
                    ts = posted.ts,
                    "posted"
                );
                self.landed(a, self.echo(posted, body));
                Ok(())
            }
            // An uncertain failure is looked for before the next try (above).
            Err(e) => Err(e.into()),
        }
    }

    /// The message event Slack sends for a post of ours: what was posted, as the bot.
    fn echo(&self, posted: Posted, body: serde_json::Value) -> Event {
        let text = body["text"].as_str().unwrap_or_default().to_string();
        let metadata = serde_json::from_value(body["metadata"].clone()).ok();
        let thread_ts = body["thread_ts"].as_str().map(str::to_string);
        Event::Message(Box::new(Message {
            channel: Some(posted.channel),
            user: Some(self.config.bot_user.clone()),
            bot_id: self.config.bot_id.clone(),
            text,
            event_ts: Some(posted.ts.clone()),
            ts: Some(posted.ts),
            thread_ts,
            metadata,
            ..Message::default()
        }))
    }

    /// The reaction event Slack sends for a reaction of ours.
    fn reacted(&self, a: &Action, name: &str, add: bool) -> Event {
        let reaction = Reaction {
            user: self.config.bot_user.clone(),
            reaction: name.to_string(),
            item: ReactionItem {
                kind: "message".into(),
                channel: Some(a.channel.clone()),
                ts: a.thread_ts.map(|t| t.to_string()),
            },
            item_user: None,
            event_ts: Some(now_ts()),
        };
        if add {
            Event::ReactionAdded(reaction)
        } else {
            Event::ReactionRemoved(reaction)
        }
    }

    /// The ask in the expert's DM: what the card says, Accept, and Decline with its
    /// reasons, each carrying the swarm and the ask (see [`asks::ButtonValue`]).
    async fn ask_expert(
        &self,
        a: &Action,
        p: &mut Progress,
        expert: &str,
        card: &AskCard,
    ) -> StepResult {
        let key = format!("{}/{}", a.id, p.next);
        let channel = self.destination(expert).await?;
        // Not looked for after an uncertain attempt: reading a DM's history needs a scope
        // (im:history) swarmdeck does not ask for. A second copy is harmless: both carry
        // the same ask, and it is answered once.
        let details = self.fill(a, p, &card.details.join("\n")).await?;
        let options: Vec<_> = DeclineReason::ALL
            .iter()
            .map(|r| {
                json!({
                    "text": {"type": "plain_text", "text": r.label()},
                    "value": format!("{}|{}", card.value, r.code()),
                })
            })
            .collect();
        let blocks = json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": card.text}},
            {"type": "section", "text": {"type": "mrkdwn", "text": details}},
            {"type": "actions", "block_id": asks::ASK_BLOCK, "elements": [
                {"type": "button", "action_id": asks::ACCEPT, "style": "primary",
                 "text": {"type": "plain_text", "text": "Accept"}, "value": card.value},
                {"type": "static_select", "action_id": asks::DECLINE,
                 "placeholder": {"type": "plain_text", "text": "Decline…"}, "options": options},
            ]},
        ]);
        let metadata = self.metadata(a, p, &Meta::Note("ask".into()), &key)?;
        let body = json!({
            "channel": channel,
            "text": card.text,
            "blocks": blocks,
            "metadata": metadata,
            "unfurl_links": false,
        });
        self.web
            .call_json_once::<Posted>("chat.postMessage", &body)
            .await?;
        Ok(())
    }

    /// A channel id as is; a person (`U…`/`W…`) through their direct message.
    async fn destination(&self, dest: &str) -> StepResult<String> {
        if !(dest.starts_with('U') || dest.starts_with('W')) {
            return Ok(dest.to_string());
        }
        let opened: ChannelAnswer = self
            .web
            .call("conversations.open", &[("users", dest.to_string())])
            .await?;
        Ok(opened.channel.id)
    }

    /// The post's metadata (a request body): the marker or note, and the step's key.
    fn metadata(
        &self,
        a: &Action,
        p: &Progress,
        meta: &Meta,
        key: &str,
    ) -> StepResult<serde_json::Value> {
        let marker = |kind: MarkerKind| Marker {
            lead: a.lead.clone(),
            kind,
        };
        let mut v = match meta {
            Meta::Marker(kind) => encode_marker(&marker(kind.clone()), &a.case),
            Meta::Promoted => {
                let (channel_id, channel_name) = p.channel.clone().ok_or_else(no_incident)?;
                encode_marker(
                    &marker(MarkerKind::Promoted {
                        channel_id,
                        channel_name,
                    }),
                    &a.case,
                )
            }
            Meta::Note(note) => {
                let mut payload = json!({ "case": a.case, "note": note });
                if let Some(lead) = &a.lead {
                    payload["lead"] = json!(lead);
                }
                json!({ "event_type": "swarmdeck_note", "event_payload": payload })
            }
        };
        v["event_payload"]["action"] = json!(key);
        Ok(v)
    }

    /// Whether a swarmdeck post whose mark satisfies `is_it` is in the thread (or, with
    /// no thread, among the channel's recent messages).
    async fn posted(
        &self,
        channel: &str,
        thread: Option<&str>,
        is_it: impl Fn(&PostMark) -> bool,
    ) -> StepResult<bool> {
        let (method, mut params) = match thread {
            Some(t) => ("conversations.replies", vec![("ts", t.to_string())]),
            None => ("conversations.history", vec![]),
        };
        params.push(("channel", channel.to_string()));
        params.push(("include_all_metadata", "true".into()));
        params.push(("limit", "200".into()));
        let found = self
            .web
            .find::<MessagePage>(method, &params, MAX_SEARCH_PAGES, |m: &Message| {
                m.swarmdeck_mark().is_some_and(|mark| is_it(&mark))
            })
            .await?;
        Ok(found.is_some())
    }
}

/// Now as a Slack timestamp (`secs.micros`).
fn now_ts() -> String {
    crate::domain::Ts::from_datetime(chrono::Utc::now()).to_string()
}

fn tolerate(result: Result<Ack, SlackError>, fine: &[&str]) -> StepResult {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.slack_error().is_some_and(|err| fine.contains(&err)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn no_incident() -> Failure {
    Failure {
        error: SlackError::Api {
            method: "swarmdeck".into(),
            error: "no incident channel for this swarm".into(),
            needed: None,
        },
        retry: false,
        uncertain: false,
    }
}

fn incident(p: &Progress) -> StepResult<String> {
    p.channel
        .as_ref()
        .map(|c| c.0.clone())
        .ok_or_else(no_incident)
}

fn thread_ts(a: &Action) -> StepResult<String> {
    a.thread_ts.map(|t| t.to_string()).ok_or_else(|| Failure {
        error: SlackError::Api {
            method: "swarmdeck".into(),
            error: "this action has no thread".into(),
            needed: None,
        },
        retry: false,
        uncertain: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Ts;
    use crate::slack::web::fake;
    use std::sync::Mutex;

    #[test]
    fn a_finished_promotion_names_the_channel_it_got() {
        let action = Action {
            id: "A1".into(),
            lead: None,
            case: "27343".into(),
            channel: "C1".into(),
            thread_ts: None,
            incident: None,
            label: "promote 27343 to #general".into(),
            look_first: false,
            steps: vec![Step::CreateChannel {
                name: "general".into(),
                private: false,
            }],
        };
        let mut progress = Progress::start(&action);
        progress.channel = Some(("C9".into(), "general-2".into()));
        assert_eq!(
            done_label(&action, &progress),
            "promote 27343 to #general-2"
        );
        progress.channel = Some(("C9".into(), "general".into()));
        assert_eq!(done_label(&action, &progress), "promote 27343 to #general");
    }

    /// An outbox on `web`, online (while the sender lives), and its reports.
    fn online_outbox(
        web: WebClient,
    ) -> (
        Outbox,
        mpsc::UnboundedReceiver<ActionUpdate>,
        watch::Sender<bool>,
    ) {
        let (online_tx, online) = watch::channel(true);
        let (report, reports) = mpsc::unbounded_channel();
        let outbox = Outbox::spawn(
            Arc::new(web),
            OutboxConfig::new("U0BOT", 1000.0),
            online,
            report,
        );
        (outbox, reports, online_tx)
    }

    /// The state an action ends in: done or failed.
    async fn settled(reports: &mut mpsc::UnboundedReceiver<ActionUpdate>) -> ActionState {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let update = reports.recv().await.expect("the outbox reports");
                if matches!(update.state, ActionState::Done | ActionState::Failed { .. }) {
                    return update.state;
                }
            }
        })
        .await
        .expect("the action settles")
    }

    #[tokio::test]
    async fn a_created_channel_without_an_id_fails_the_action_rather_than_recording_none() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let web = fake::slack(move |method, _| {
            seen.lock().unwrap().push(method.to_string());
            match method {
                "conversations.create" => {
                    r#"{"ok":true,"channel":{"name":"support-api-sev1-27343"}}"#
                }
                _ => r#"{"ok":true}"#,
            }
            .to_string()
        })
        .await;
        let (outbox, mut reports, _online) = online_outbox(web);
        let action = Action {
            id: "a1".into(),
            lead: None,
            case: "27343".into(),
            channel: "C1".into(),
            thread_ts: None,
            incident: None,
            label: "promote 27343".into(),
            look_first: false,
            steps: vec![
                Step::CreateChannel {
                    name: "support-api-sev1-27343".into(),
                    private: false,
                },
                Step::SetTopic("Sev 1".into()),
            ],
        };
        outbox.send(action).unwrap();
        let state = settled(&mut reports).await;
        let ActionState::Failed { error } = state else {
            panic!("{state:?}");
        };
        assert!(
            error.contains("conversations.create") && error.contains("`id`"),
            "{error}"
        );
        assert_eq!(
            *calls.lock().unwrap(),
            ["conversations.create"],
            "no step ran on a channel of \"\""
        );
    }

    /// A move another swarmdeck may make too (an expert's answer) looks for its first post
    /// before making it; found, the whole move was theirs: no post, no DM update.
    #[tokio::test]
    async fn a_shared_move_found_in_the_thread_is_left_to_whoever_made_it() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let web = fake::slack(move |method, _| {
            seen.lock().unwrap().push(method.to_string());
            match method {
                "conversations.replies" => {
                    r#"{"ok":true,"has_more":false,"messages":[{"ts":"1.0"},{"ts":"2.0","user":"U0PEER","bot_id":"B0PEER","text":"accepted","metadata":{"event_type":"swarmdeck_assigned","event_payload":{"case":"27343","expert":"U1","action":"answer-ask-1/0"}}}]}"#
                }
                _ => r#"{"ok":true,"channel":"C1","ts":"3.0"}"#,
            }
            .to_string()
        })
        .await;
        let (outbox, mut reports, _online) = online_outbox(web);
        let action = Action {
            id: "answer-ask-1".into(),
            lead: None,
            case: "27343".into(),
            channel: "C1".into(),
            thread_ts: Some(Ts::parse("1.0").unwrap()),
            incident: None,
            label: "U1 accepted 27343".into(),
            look_first: true,
            steps: vec![
                Step::Post {
                    to: Target::Thread,
                    text: "accepted".into(),
                    meta: Meta::Marker(MarkerKind::Assigned {
                        expert: "U1".into(),
                    }),
                },
                Step::ShowAnswer {
                    channel: "D1".into(),
                    ts: Ts::parse("5.0").unwrap(),
                    text: "You took case 27343.".into(),
                },
            ],
        };
        outbox.send(action).unwrap();
        let state = settled(&mut reports).await;
        assert_eq!(state, ActionState::Done);
        assert_eq!(*calls.lock().unwrap(), ["conversations.replies"]);
    }

    /// A move the store has not kept yet is held (no call made) until the writer answers,
    /// then carried out; one the store never keeps fails unsent.
    #[tokio::test]
    async fn a_move_goes_to_slack_only_once_the_store_has_it() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let web = fake::slack(move |method, _| {
            seen.lock().unwrap().push(method.to_string());
            r#"{"ok":true}"#.to_string()
        })
        .await;
        let (outbox, mut reports, _online) = online_outbox(web);
        let action = |id: &str| Action {
            id: id.into(),
            lead: None,
            case: "27343".into(),
            channel: "C1".into(),
            thread_ts: None,
            incident: Some(("C9".into(), "incident".into())),
            label: format!("topic {id}"),
            look_first: false,
            steps: vec![Step::SetTopic("Sev 1".into())],
        };
        let mut next = async |id: &str| loop {
            let update = tokio::time::timeout(Duration::from_secs(10), reports.recv())
                .await
                .expect("the outbox reports in time")
                .expect("the outbox reports");
            if update.id == id && update.state != ActionState::Queued {
                return update.state;
            }
        };
        let (stored, kept) = oneshot::channel();
        outbox.send_once_stored(action("a1"), kept).unwrap();
        assert_eq!(next("a1").await, ActionState::Held);
        assert!(calls.lock().unwrap().is_empty(), "nothing sent unstored");
        stored.send(()).unwrap();
        assert_eq!(next("a1").await, ActionState::Working);
        assert_eq!(next("a1").await, ActionState::Done);
        assert_eq!(*calls.lock().unwrap(), ["conversations.setTopic"]);

        let (never, kept) = oneshot::channel::<()>();
        outbox.send_once_stored(action("a2"), kept).unwrap();
        assert_eq!(next("a2").await, ActionState::Held);
        drop(never);
        assert!(matches!(next("a2").await, ActionState::Failed { .. }));
        assert_eq!(calls.lock().unwrap().len(), 1, "never sent");
    }
}
