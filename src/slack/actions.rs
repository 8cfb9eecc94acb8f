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
//! reconnect, in order.

use super::backoff::{Backoff, jitter};
use super::translate::encode_marker;
use super::web::{SlackError, WebClient};
use crate::domain::moves::{Action, Meta, Step, Target, suffixed};
use crate::domain::{Marker, MarkerKind};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Where an action stands, as the lead sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionState {
    /// Waiting for its turn, or for the connection to come back.
    Queued,
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

#[derive(Clone, Debug, PartialEq)]
pub struct ActionUpdate {
    pub id: String,
    pub label: String,
    pub state: ActionState,
    /// After each step: how far the action got, for the store to keep.
    pub progress: Option<Progress>,
}

#[derive(Clone, Debug)]
pub struct OutboxConfig {
    /// The bot's own user id: never invited, and the creator of channels it may reuse.
    pub bot_user: String,
    /// Faster retries against a scaled emulator (tests).
    pub time_scale: f64,
    pub backoff: Backoff,
}

impl OutboxConfig {
    pub fn new(bot_user: &str, time_scale: f64) -> Self {
        OutboxConfig {
            bot_user: bot_user.to_string(),
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
    tx: mpsc::UnboundedSender<(Action, Progress)>,
}

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

    /// Queues an action; it is reported as queued at once.
    pub fn send(&self, action: Action) -> Result<(), String> {
        let progress = Progress::start(&action);
        self.queue(action, progress)
    }

    /// Queues an action a previous run had begun, from where it got. Whatever step was
    /// under way when that run stopped may have landed: it is checked before it is redone.
    pub fn resume(&self, action: Action, mut progress: Progress) -> Result<(), String> {
        progress.uncertain = true;
        if progress.channel.is_none() {
            progress.channel = action.incident.clone();
        }
        self.queue(action, progress)
    }

    fn queue(&self, action: Action, progress: Progress) -> Result<(), String> {
        self.tx
            .send((action, progress))
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

struct Worker {
    web: Arc<WebClient>,
    config: OutboxConfig,
    report: mpsc::UnboundedSender<ActionUpdate>,
}

impl Worker {
    async fn run(
        self,
        mut rx: mpsc::UnboundedReceiver<(Action, Progress)>,
        mut online: watch::Receiver<bool>,
    ) {
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
            for (a, _) in &queue {
                self.tell(a, ActionState::Queued);
            }
            let Some((action, progress)) = queue.pop_front() else {
                continue;
            };
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
        });
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
                    self.tell(action, ActionState::Done);
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
                    self.web
                        .call::<Value>("conversations.invite", &params)
                        .await,
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
                    let info: Value = self
                        .web
                        .call("conversations.info", &[("channel", channel.clone())])
                        .await?;
                    if info["channel"][key]["value"].as_str() == Some(value.as_str()) {
                        return Ok(());
                    }
                }
                self.web
                    .call::<Value>(method, &[("channel", channel), (key, value)])
                    .await?;
                Ok(())
            }
            Step::Post { to, text, meta } => self.post(a, p, to, text, meta).await,
            Step::Bookmark { title, link } => {
                let channel = incident(p)?;
                let list: Value = self
                    .web
                    .call("bookmarks.list", &[("channel_id", channel.clone())])
                    .await?;
                let there = list["bookmarks"]
                    .as_array()
                    .is_some_and(|bs| bs.iter().any(|b| b["link"].as_str() == Some(link)));
                if there {
                    return Ok(());
                }
                let params = [
                    ("channel_id", channel),
                    ("title", title.clone()),
                    ("type", "link".into()),
                    ("link", link.clone()),
                ];
                self.web.call::<Value>("bookmarks.add", &params).await?;
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
                tolerate(self.web.call::<Value>(method, &params).await, &[fine])
            }
            Step::ArchiveIncident => {
                let channel = incident(p)?;
                tolerate(
                    self.web
                        .call::<Value>("conversations.archive", &[("channel", channel)])
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
                .call::<Value>("conversations.create", &params)
                .await
            {
                Ok(v) => {
                    let id = v["channel"]["id"].as_str().unwrap_or_default().to_string();
                    tracing::info!(action = a.id, channel = id, name = candidate, "created");
                    p.channel = Some((id, candidate));
                    return Ok(());
                }
                Err(e) if e.slack_error() == Some("name_taken") => {
                    let existing = self.find_channel(&candidate).await?;
                    if let Some(existing) = existing
                        && self.is_ours(a, p, &existing).await?
                    {
                        let id = existing["id"].as_str().unwrap_or_default().to_string();
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

    async fn is_ours(&self, a: &Action, p: &mut Progress, channel: &Value) -> StepResult<bool> {
        if channel["is_archived"].as_bool() == Some(true) {
            return Ok(false);
        }
        let purpose = channel["purpose"]["value"].as_str().unwrap_or_default();
        if purpose.is_empty() {
            return Ok(channel["creator"].as_str() == Some(self.config.bot_user.as_str()));
        }
        let permalink = self.permalink(a, p).await?;
        Ok(purpose.contains(&permalink))
    }

    async fn find_channel(&self, name: &str) -> StepResult<Option<Value>> {
        let params = [
            ("types", "public_channel,private_channel".to_string()),
            ("limit", "200".to_string()),
        ];
        self.find_in_pages("conversations.list", &params, "channels", |c| {
            c["name"].as_str() == Some(name)
        })
        .await
    }

    /// The first item of `list` in the pages of `method` that satisfies `is_it`.
    async fn find_in_pages(
        &self,
        method: &str,
        params: &[(&str, String)],
        list: &str,
        is_it: impl Fn(&Value) -> bool,
    ) -> StepResult<Option<Value>> {
        let mut cursor = String::new();
        for _ in 0..50 {
            let mut page_params = params.to_vec();
            if !cursor.is_empty() {
                page_params.push(("cursor", cursor.clone()));
            }
            let page: Value = self.web.call(method, &page_params).await?;
            if let Some(found) = page[list]
                .as_array()
                .and_then(|items| items.iter().find(|i| is_it(i)))
            {
                return Ok(Some(found.clone()));
            }
            cursor = page["response_metadata"]["next_cursor"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if cursor.is_empty() {
                break;
            }
        }
        Ok(None)
    }

    async fn permalink(&self, a: &Action, p: &mut Progress) -> StepResult<String> {
        if let Some(link) = &p.permalink {
            return Ok(link.clone());
        }
        let params = [
            ("channel", a.channel.clone()),
            ("message_ts", thread_ts(a)?),
        ];
        let v: Value = self.web.call("chat.getPermalink", &params).await?;
        let link = v["permalink"].as_str().unwrap_or_default().to_string();
        p.permalink = Some(link.clone());
        Ok(link)
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
        };
        let metadata = self.metadata(a, p, meta, &key)?;
        let note = metadata["event_payload"]["note"]
            .as_str()
            .map(str::to_string);
        if p.uncertain
            && self
                .posted(&channel, thread.as_deref(), |m| m["action"] == key.as_str())
                .await?
        {
            tracing::info!(
                action = a.id,
                key,
                "an earlier attempt landed; not posting again"
            );
            return Ok(());
        }
        if p.reused && matches!(to, Target::Incident) {
            // Another lead's promotion may have posted the same summary already.
            let case = a.case.as_str();
            let same = |m: &Value| m["case"] == case && m["note"].as_str() == note.as_deref();
            if note.is_some() && self.posted(&channel, None, same).await? {
                return Ok(());
            }
        }
        let text = self.fill(a, p, text).await?;
        let mut body = json!({ "channel": channel, "text": text, "metadata": metadata, "unfurl_links": false });
        if let Some(t) = thread {
            body["thread_ts"] = json!(t);
        }
        match self
            .web
            .call_json_once::<Value>("chat.postMessage", &body)
            .await
        {
            Ok(_) => Ok(()),
            // An uncertain failure is looked for before the next try (above).
            Err(e) => Err(e.into()),
        }
    }

    /// A channel id as is; a person (`U…`/`W…`) through their direct message.
    async fn destination(&self, dest: &str) -> StepResult<String> {
        if !(dest.starts_with('U') || dest.starts_with('W')) {
            return Ok(dest.to_string());
        }
        let v: Value = self
            .web
            .call("conversations.open", &[("users", dest.to_string())])
            .await?;
        Ok(v["channel"]["id"].as_str().unwrap_or(dest).to_string())
    }

    fn metadata(&self, a: &Action, p: &Progress, meta: &Meta, key: &str) -> StepResult<Value> {
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

    /// Whether a post whose metadata payload satisfies `is_it` is in the thread (or, with
    /// no thread, among the channel's recent messages).
    async fn posted(
        &self,
        channel: &str,
        thread: Option<&str>,
        is_it: impl Fn(&Value) -> bool,
    ) -> StepResult<bool> {
        let (method, mut params) = match thread {
            Some(t) => ("conversations.replies", vec![("ts", t.to_string())]),
            None => ("conversations.history", vec![]),
        };
        params.push(("channel", channel.to_string()));
        params.push(("include_all_metadata", "true".into()));
        params.push(("limit", "200".into()));
        let found = self
            .find_in_pages(method, &params, "messages", |m| {
                let meta = &m["metadata"];
                meta["event_type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("swarmdeck_"))
                    && is_it(&meta["event_payload"])
            })
            .await?;
        Ok(found.is_some())
    }
}

fn tolerate(result: Result<Value, SlackError>, fine: &[&str]) -> StepResult {
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
