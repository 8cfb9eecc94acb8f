//! The lead's moves on their way to Slack: kept in the store before the outbox may send
//! them, shown pending on their rows and in the activity line, their progress written
//! after each step, and a previous run's unfinished moves resumed where they stopped.

use crate::domain::SwarmId;
use crate::domain::moves::Action;
use crate::slack::actions::{ActionState, ActionUpdate, Outbox};
use crate::store::{Store, Write, Writer};
use crate::ui::{Activity, Tone};
use std::collections::{BTreeMap, HashSet};

/// A move on its way to Slack.
struct Pending {
    swarm: Option<SwarmId>,
    label: String,
    state: ActionState,
    /// Experts it assigns: a promotion queued behind it invites them.
    assigns: Vec<String>,
}

pub(crate) struct Moves {
    outbox: Outbox,
    /// By action id (process id, time taken, sequence).
    pending: BTreeMap<String, Pending>,
    line: Option<Activity>,
    online: bool,
}

impl Moves {
    pub fn new(outbox: Outbox) -> Moves {
        Moves {
            outbox,
            pending: BTreeMap::new(),
            line: None,
            online: false,
        }
    }

    /// The activity line under the table.
    pub fn line(&self) -> Option<&Activity> {
        self.line.as_ref()
    }

    /// Swarms with a move still on its way (their rows show `⋯`).
    pub fn swarms(&self) -> HashSet<SwarmId> {
        self.pending
            .values()
            .filter_map(|p| p.swarm.clone())
            .collect()
    }

    /// Whether the move `id` is still on its way.
    pub fn is_pending(&self, id: &str) -> bool {
        self.pending.contains_key(id)
    }

    /// Slack came or went: queued moves say whether they wait for it.
    pub fn set_online(&mut self, online: bool) {
        if self.online != online {
            self.online = online;
            self.show();
        }
    }

    /// Queues a move and shows it as pending at once. It is planned from the desk, which
    /// does not yet show the moves still on their way: their assignments are added.
    pub fn send(&mut self, mut action: Action, writer: Option<&Writer>) {
        let swarm = swarm_of(&action);
        let assigned: Vec<String> = self
            .pending
            .values()
            .filter(|p| p.swarm.is_some() && p.swarm == swarm)
            .flat_map(|p| p.assigns.iter().cloned())
            .collect();
        action.invite_also(&assigned);
        let assigns = action.assigns();
        let (id, label) = (action.id.clone(), action.label.clone());
        tracing::info!(action = id, label, "queued");
        // Kept before it is sent: a crash from here on resumes it, never loses it. The
        // outbox waits for the writer's word that it is on disk (on a full disk, until
        // space returns) rather than the loop waiting here.
        let sent = match (writer, serde_json::to_string(&action)) {
            (Some(w), Ok(json)) => {
                w.send(Write::SaveAction {
                    id: id.clone(),
                    action: json,
                    progress: "{}".into(),
                });
                self.outbox.send_once_stored(action, w.stored())
            }
            (None, _) => self.outbox.send(action),
            (Some(_), Err(e)) => Err(format!("could not be stored ({e})")),
        };
        if let Err(e) = sent {
            self.line = Some(Activity {
                text: format!("✗ {label}: {e}"),
                tone: Tone::Failed,
            });
            return;
        }
        let state = ActionState::Queued;
        self.pending.insert(
            id,
            Pending {
                swarm,
                label,
                state,
                assigns,
            },
        );
        self.show();
    }

    /// Moves a previous run took but did not finish go out again, from where they got.
    pub fn resume(&mut self, store: &Store, writer: &Writer) {
        let stored = store.pending_actions().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not read the outbox");
            Vec::new()
        });
        for p in stored {
            let action: Action = match serde_json::from_str(&p.action) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(id = p.id, error = %e, "an unreadable stored action was dropped");
                    writer.send(Write::DropAction { id: p.id });
                    continue;
                }
            };
            let progress = serde_json::from_str(&p.progress).unwrap_or_default();
            tracing::info!(action = action.id, label = action.label, "resuming");
            let pending = Pending {
                swarm: swarm_of(&action),
                label: action.label.clone(),
                state: ActionState::Queued,
                assigns: action.assigns(),
            };
            self.pending.insert(action.id.clone(), pending);
            let _ = self.outbox.resume(action, progress);
        }
        self.show();
    }

    /// The outbox's word on a move: kept in the store, and shown.
    pub fn on_report(&mut self, report: ActionUpdate, writer: Option<&Writer>) {
        if let Some(w) = writer {
            match (&report.state, &report.progress) {
                (ActionState::Done | ActionState::Failed { .. }, _) => w.send(Write::DropAction {
                    id: report.id.clone(),
                }),
                (_, Some(p)) => {
                    if let Ok(progress) = serde_json::to_string(p) {
                        w.send(Write::Progress {
                            id: report.id.clone(),
                            progress,
                        });
                    }
                }
                _ => {}
            }
        }
        match report.state {
            ActionState::Done => {
                self.pending.remove(&report.id);
                self.line = Some(Activity {
                    text: format!("✓ {}", report.label),
                    tone: Tone::Done,
                });
                self.show();
            }
            ActionState::Failed { error } => {
                self.pending.remove(&report.id);
                self.line = Some(Activity {
                    text: format!("✗ {} failed: {error}", report.label),
                    tone: Tone::Failed,
                });
            }
            state => {
                if let Some(p) = self.pending.get_mut(&report.id) {
                    p.state = state;
                }
                self.show();
            }
        }
    }

    /// The oldest pending move, and how many more wait behind it; with none pending the
    /// last outcome stays.
    fn show(&mut self) {
        let Some(p) = self.pending.values().next() else {
            return;
        };
        let more = match self.pending.len() {
            1 => String::new(),
            n => format!(" (+{} queued)", n - 1),
        };
        let state = match &p.state {
            ActionState::Retrying { error, wait } => {
                format!(": {error}, retrying in {}s", wait.as_secs().max(1))
            }
            ActionState::Queued if !self.online => ": queued until Slack is back".to_string(),
            ActionState::Held => ": held until the store can write".to_string(),
            _ => String::new(),
        };
        self.line = Some(Activity {
            text: format!("⋯ {}{state}{more}", p.label),
            tone: Tone::Pending,
        });
    }
}

fn swarm_of(action: &Action) -> Option<SwarmId> {
    action
        .thread_ts
        .map(|t| SwarmId::new(action.channel.clone(), t))
}
