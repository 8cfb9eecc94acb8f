//! Who is who, fetched off the loop: everyone's names once at start, a newcomer's name
//! when they first post, each pod's experts from the config and the pods' user groups,
//! and the presence of the experts a picker suggests (cached a minute). What comes back
//! is desk input, sent to the loop.

use crate::config::Settings;
use crate::domain::{Desk, Input, Pod};
use crate::slack::WebClient;
use crate::slack::directory::{self, ExpertSources};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Presence is asked again after this long (users.getPresence is cached).
const PRESENCE_TTL: Duration = Duration::from_secs(60);

pub(crate) struct People {
    web: Arc<WebClient>,
    tx: mpsc::UnboundedSender<Input>,
    names_asked: HashSet<String>,
    presence_asked: HashMap<String, Instant>,
}

impl People {
    pub fn new(web: Arc<WebClient>, tx: mpsc::UnboundedSender<Input>) -> People {
        People {
            web,
            tx,
            names_asked: HashSet::new(),
            presence_asked: HashMap::new(),
        }
    }

    /// Everyone's names (one paged users.list beats a users.info per person), and the
    /// experts of every pod.
    pub fn load(&self, settings: &Settings, desk: &Desk) {
        let (web, tx) = (self.web.clone(), self.tx.clone());
        tokio::spawn(async move {
            match directory::people(&web).await {
                Ok(people) => {
                    for p in people {
                        let _ = tx.send(Input::UserNamed {
                            user: p.id,
                            name: p.name,
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "users.list failed; names come one by one"),
            }
        });
        let mut stakeholders: Vec<String> = desk
            .pods()
            .flat_map(|p| p.invite_groups.iter().flatten().cloned())
            .collect();
        stakeholders.sort();
        stakeholders.dedup();
        let (web, tx) = (self.web.clone(), self.tx.clone());
        tokio::spawn(async move {
            for (handle, members) in directory::group_members(&web, &stakeholders).await {
                let _ = tx.send(Input::Group { handle, members });
            }
        });
        let sources = expert_sources(settings, desk);
        let (web, tx) = (self.web.clone(), self.tx.clone());
        tokio::spawn(async move {
            for (user, skills) in directory::experts(&web, &sources).await {
                let _ = tx.send(Input::Expert {
                    name: user.clone(),
                    user,
                    skills,
                });
            }
        });
    }

    /// A name for someone the desk has not met yet, fetched once.
    pub fn ask_name(&mut self, desk: &Desk, user: &str) {
        if desk.name_of(user) != user || !self.names_asked.insert(user.to_string()) {
            return;
        }
        let (web, tx, user) = (self.web.clone(), self.tx.clone(), user.to_string());
        tokio::spawn(async move {
            match directory::person(&web, &user).await {
                Ok(p) => {
                    let _ = tx.send(Input::UserNamed {
                        user: p.id,
                        name: p.name,
                    });
                }
                Err(e) => tracing::warn!(user, error = %e, "users.info failed; the id is shown"),
            }
        });
    }

    /// Presence of these people, unless asked within the last minute.
    pub fn ask_presence(&mut self, users: Vec<String>) {
        let now = Instant::now();
        let users: Vec<String> = users
            .into_iter()
            .filter(|u| {
                self.presence_asked
                    .get(u)
                    .is_none_or(|at| now.duration_since(*at) > PRESENCE_TTL)
            })
            .collect();
        for u in &users {
            self.presence_asked.insert(u.clone(), now);
        }
        let (web, tx) = (self.web.clone(), self.tx.clone());
        tokio::spawn(async move {
            for user in users {
                match directory::is_active(&web, &user).await {
                    Ok(active) => {
                        let _ = tx.send(Input::Presence { user, active });
                    }
                    Err(e) => tracing::debug!(user, error = %e, "users.getPresence failed"),
                }
            }
        });
    }
}

/// Where a pod's experts come from: the pod's product, and its configured user group.
fn expert_sources(settings: &Settings, desk: &Desk) -> ExpertSources {
    let configured = |pod: &Pod| {
        settings
            .file
            .pods
            .iter()
            .find(|p| {
                let c = p.channel.trim_start_matches('#');
                c == pod.channel || c == desk.channel_name(&pod.channel)
            })
            .and_then(|p| p.expert_group.clone())
    };
    ExpertSources {
        pods: desk
            .pods()
            .map(|p| (p.product.clone(), p.name.clone(), configured(p)))
            .collect(),
        named: settings
            .file
            .experts
            .iter()
            .map(|e| (e.user.clone(), e.skills.clone()))
            .collect(),
    }
}
