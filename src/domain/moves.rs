//! The lead's moves, planned: what each one posts, creates and invites, as a list of
//! steps the Slack edge carries out in order. Planning is pure (texts, names, who to
//! invite), so what a move does is tested here, and the edge only decides *how* to make
//! each step happen exactly once.

use super::asks::{ButtonValue, Choice, Reply};
use super::desk::{Desk, Expert};
use super::input::MarkerKind;
use super::naming::{MAX_CHANNEL_NAME, incident_channel_name};
use super::swarm::Swarm;
use super::text::one_line;
use super::{SwarmId, Ts, Urgency};
use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone};

/// One lead's move on one swarm (or, for a handoff, on the desk), ready to carry out.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Action {
    /// Unique per action: carried in every post's metadata, so that a retry can tell
    /// whether an earlier attempt already landed.
    pub id: String,
    /// The acting lead, named in every post's metadata.
    pub lead: Option<String>,
    pub case: String,
    /// The swarm's pod channel and thread (empty for a handoff).
    pub channel: String,
    pub thread_ts: Option<Ts>,
    /// The incident channel the swarm was already promoted to, if any.
    pub incident: Option<(String, String)>,
    /// What the status line calls it: "assign Priya Raman to 26901".
    pub label: String,
    pub steps: Vec<Step>,
    /// Another swarmdeck may make this very move (an expert's answer or claim, which
    /// whichever copy hears it carries out, under an id derived from what it answers):
    /// each post is looked for in Slack before it is made.
    #[serde(default)]
    pub look_first: bool,
}

impl Action {
    /// The experts this action assigns (its assignment markers).
    pub fn assigns(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Post {
                    meta: Meta::Marker(MarkerKind::Assigned { expert }),
                    ..
                } => Some(expert.clone()),
                _ => None,
            })
            .collect()
    }

    /// Invites `users` too, where this action invites anyone (a promotion planned while
    /// an assignment was still on its way must not leave that expert out).
    pub fn invite_also(&mut self, users: &[String]) {
        for step in &mut self.steps {
            if let Step::Invite { users: invited } = step {
                for u in users {
                    if !invited.contains(u) {
                        invited.push(u.clone());
                    }
                }
            }
        }
    }
}

/// One Slack effect. Texts may hold `{permalink}` (the thread's link) and `{incident}`
/// (a mention of the incident channel), filled in when the step runs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Step {
    /// Create the incident channel, or reuse this swarm's own if the name is taken.
    CreateChannel {
        name: String,
        private: bool,
    },
    /// Invite people to the incident channel; those already in it are fine.
    Invite {
        users: Vec<String>,
    },
    SetTopic(String),
    SetPurpose(String),
    Post {
        to: Target,
        text: String,
        meta: Meta,
    },
    Bookmark {
        title: String,
        link: String,
    },
    /// The resolved reaction on the request.
    React {
        name: String,
        add: bool,
    },
    ArchiveIncident,
    /// The expert's direct message asking them to take the swarm, with Accept and Decline.
    AskExpert {
        expert: String,
        card: AskCard,
    },
    /// The expert's answer, shown in place of the ask's buttons (`chat.update`), so no
    /// stale button remains.
    ShowAnswer {
        channel: String,
        ts: Ts,
        text: String,
    },
}

/// What the expert's DM says; the Slack edge lays it out with the buttons.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AskCard {
    /// The fallback text and the DM's first line.
    pub text: String,
    /// Each line of the detail: urgency, subject, pod, the case and thread links.
    pub details: Vec<String>,
    /// What the Accept button carries ([`ButtonValue`] without a reason); each Decline
    /// option adds its reason.
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Target {
    /// The swarm's thread.
    Thread,
    /// The incident channel (top level).
    Incident,
    /// A channel by id or a person by user id (a direct message).
    Elsewhere(String),
    /// Another swarm's thread (the original a duplicate is linked to).
    OtherThread { channel: String, thread_ts: Ts },
}

/// The metadata a post carries.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Meta {
    /// A state change every swarmdeck on the pod derives (assigned, resolved, …).
    Marker(MarkerKind),
    /// The promotion marker, naming the channel created by an earlier step.
    Promoted,
    /// A post that changes no state (a reply, a summary): named, for the audit trail.
    Note(String),
}

/// Who acts, and when: what every plan needs besides the swarm.
#[derive(Clone, Debug)]
pub struct Mover<'a> {
    pub id: String,
    pub lead: Option<&'a str>,
    pub resolved_reaction: &'a str,
}

/// One line, at most `max` characters (an ellipsis says it was cut).
fn clip(text: &str, max: usize) -> String {
    let line = one_line(text);
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Text from a request as plain text in mrkdwn: a `<!here>` or `<@U…>` in a subject
/// must not ping anyone from the expert's DM.
fn escape_mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn mention(user: &str) -> String {
    format!("<@{user}>")
}

impl Mover<'_> {
    fn action(&self, swarm: &Swarm, label: String, steps: Vec<Step>) -> Action {
        Action {
            id: self.id.clone(),
            lead: self.lead.map(str::to_string),
            case: swarm.case().to_string(),
            channel: swarm.channel.clone(),
            thread_ts: Some(swarm.thread_ts),
            incident: swarm
                .incident
                .as_ref()
                .map(|i| (i.channel_id.clone(), i.channel_name.clone())),
            label,
            steps,
            look_first: false,
        }
    }

    /// A move another swarmdeck may make too: its id is `id` on every copy.
    fn shared(&self, swarm: &Swarm, id: String, label: String, steps: Vec<Step>) -> Action {
        Action {
            id,
            look_first: true,
            ..self.action(swarm, label, steps)
        }
    }

    fn by(&self) -> String {
        self.lead
            .map(|l| format!(" (by {})", mention(l)))
            .unwrap_or_default()
    }

    fn thread_post(&self, text: String, kind: MarkerKind) -> Step {
        Step::Post {
            to: Target::Thread,
            text,
            meta: Meta::Marker(kind),
        }
    }

    pub fn assign(&self, swarm: &Swarm, expert: &str, name: &str) -> Action {
        let text = format!(
            "{} could you help with case {}? You are assigned to this swarm{}.",
            mention(expert),
            swarm.case(),
            self.by()
        );
        let step = self.thread_post(
            text,
            MarkerKind::Assigned {
                expert: expert.into(),
            },
        );
        self.action(
            swarm,
            format!("assign {name} to {}", swarm.case()),
            vec![step],
        )
    }

    /// Asks `expert` to take the swarm (`[actions] assign = "ask"`): a line in the thread,
    /// which every lead's swarmdeck reads as the ask, then the expert's DM with Accept and
    /// Decline, whose values carry the swarm and this move's id.
    pub fn ask(&self, swarm: &Swarm, expert: &str, name: &str) -> Action {
        let post = self.thread_post(
            format!(
                "Asked {name} to take case {} — waiting for their answer{}.",
                swarm.case(),
                self.by()
            ),
            MarkerKind::Asked {
                expert: expert.into(),
                ask: self.id.clone(),
            },
        );
        let value = ButtonValue {
            swarm: swarm.id(),
            ask: self.id.clone(),
            reason: None,
        };
        let asker = self
            .lead
            .map(|l| format!("{} asks", mention(l)))
            .unwrap_or_else(|| "The swarm lead asks".into());
        let mut details = vec![
            format!(
                "*{}* · {}",
                swarm.urgency(),
                escape_mrkdwn(&clip(&swarm.request.subject, 150))
            ),
            format!("Pod: <#{}>", swarm.channel),
            "Swarm thread: {permalink}".to_string(),
        ];
        if let Some(link) = &swarm.request.link {
            details.push(format!("Case: {}", escape_mrkdwn(link)));
        }
        let card = AskCard {
            text: format!(
                "{asker}: can you take case {}?",
                escape_mrkdwn(swarm.case())
            ),
            details,
            value: value.encode(),
        };
        self.action(
            swarm,
            format!("ask {name} to take {}", swarm.case()),
            vec![
                post,
                Step::AskExpert {
                    expert: expert.into(),
                    card,
                },
            ],
        )
    }

    /// An expert's answer to an ask, from a click: the assignment (or the decline) as a
    /// marker in the thread, then the DM updated to say so. Whichever swarmdeck heard
    /// the click may make it, so its id is the ask's.
    pub fn answer(&self, swarm: &Swarm, reply: &Reply, name: &str) -> Action {
        let asked_by = reply
            .lead
            .as_deref()
            .map(|l| format!(" (asked by {})", mention(l)))
            .unwrap_or_default();
        let (post, shown, label) = match reply.choice {
            Choice::Accept => (
                self.thread_post(
                    format!(
                        "{} accepted case {} and is assigned to this swarm{asked_by}.",
                        mention(&reply.expert),
                        swarm.case()
                    ),
                    MarkerKind::Assigned {
                        expert: reply.expert.clone(),
                    },
                ),
                format!(
                    "You took case {}. Thank you! Swarm thread: {{permalink}}",
                    swarm.case()
                ),
                format!("{name} accepted {}", swarm.case()),
            ),
            Choice::Decline(reason) => (
                self.thread_post(
                    format!(
                        "{} can't take case {}: {}{asked_by}.",
                        mention(&reply.expert),
                        swarm.case(),
                        reason.label()
                    ),
                    MarkerKind::Declined {
                        expert: reply.expert.clone(),
                        ask: reply.ask.clone(),
                        reason,
                    },
                ),
                format!(
                    "You declined case {} ({}). Thanks for saying so: the lead will find someone else.",
                    swarm.case(),
                    reason.label()
                ),
                format!("{name} declined {}", swarm.case()),
            ),
        };
        let mut action = self.shared(
            swarm,
            format!("answer-{}", reply.ask),
            label,
            vec![
                post,
                Step::ShowAnswer {
                    channel: reply.channel.clone(),
                    ts: reply.message_ts,
                    text: shown,
                },
            ],
        );
        action.lead = reply.lead.clone();
        action
    }

    /// An expert's claim (the claim reaction on the request): their assignment, posted
    /// once whichever swarmdeck heard the reaction.
    pub fn claim(&self, swarm: &Swarm, expert: &str, name: &str, reaction: &str, at: Ts) -> Action {
        let post = self.thread_post(
            format!(
                "{} claimed case {} with :{reaction}: and is assigned to this swarm.",
                mention(expert),
                swarm.case()
            ),
            MarkerKind::Assigned {
                expert: expert.into(),
            },
        );
        let mut action = self.shared(
            swarm,
            // Its reaction's time: claimed again after an unassignment is a new claim.
            format!("claim-{}-{}-{expert}-{at}", swarm.channel, swarm.thread_ts),
            format!("{name} claimed {}", swarm.case()),
            vec![post],
        );
        action.lead = None;
        action
    }

    /// One nudge to an assigned expert who has been quiet (`[actions] nudge_quiet`).
    pub fn nudge(&self, swarm: &Swarm, expert: &str, name: &str, since: Ts) -> Action {
        let post = Step::Post {
            to: Target::Thread,
            text: format!(
                "{} any news on case {}? A line here tells everyone where it stands.",
                mention(expert),
                swarm.case()
            ),
            meta: Meta::Note("nudge".into()),
        };
        let mut action = self.shared(
            swarm,
            format!(
                "nudge-{}-{}-{expert}-{since}",
                swarm.channel, swarm.thread_ts
            ),
            format!("nudge {name} on {}", swarm.case()),
            vec![post],
        );
        action.lead = None;
        action
    }

    pub fn unassign(&self, swarm: &Swarm, expert: &str, name: &str) -> Action {
        let text = format!(
            "{} is no longer assigned to this swarm{}. Thank you!",
            mention(expert),
            self.by()
        );
        let step = self.thread_post(
            text,
            MarkerKind::Unassigned {
                expert: expert.into(),
            },
        );
        self.action(
            swarm,
            format!("unassign {name} from {}", swarm.case()),
            vec![step],
        )
    }

    /// Promotion: channel, people, topic, purpose, summary, bookmark, and the link back
    /// in the thread last, so the thread says "promoted" only once everything is there.
    pub fn promote(&self, swarm: &Swarm, plan: &Promotion) -> Action {
        let mut invite: Vec<String> = Vec::new();
        let people = swarm
            .requester()
            .into_iter()
            .chain(swarm.experts.iter().map(String::as_str))
            .chain(self.lead)
            .chain(plan.stakeholders.iter().map(String::as_str));
        for user in people {
            if !invite.iter().any(|u| u == user) {
                invite.push(user.to_string());
            }
        }
        let subject = clip(&swarm.request.subject, 120);
        let sev = format!("Sev{}", plan.urgency.level());
        let mut steps = vec![Step::CreateChannel {
            name: plan.channel_name.clone(),
            private: plan.private,
        }];
        if !invite.is_empty() {
            steps.push(Step::Invite { users: invite });
        }
        steps.push(Step::SetTopic(format!(
            "Case {} · {sev} · {subject}",
            swarm.case()
        )));
        let link = swarm.request.link.clone();
        let purpose = match &link {
            Some(l) => format!("Case {}: {l} · Swarm thread: {{permalink}}", swarm.case()),
            None => format!("Case {} · Swarm thread: {{permalink}}", swarm.case()),
        };
        steps.push(Step::SetPurpose(purpose));
        let mut summary = format!(
            "*Case {}* ({sev}) promoted from <#{}>{}.\n>{subject}",
            swarm.case(),
            swarm.channel,
            self.by()
        );
        if let Some(r) = swarm.requester() {
            summary.push_str(&format!("\nRequester: {}", mention(r)));
        }
        if !swarm.experts.is_empty() {
            let experts: Vec<String> = swarm.experts.iter().map(|e| mention(e)).collect();
            summary.push_str(&format!("\nExperts: {}", experts.join(", ")));
        }
        if let Some(l) = &link {
            summary.push_str(&format!("\nCase: {l}"));
        }
        summary.push_str("\nSwarm thread: {permalink}");
        steps.push(Step::Post {
            to: Target::Incident,
            text: summary,
            meta: Meta::Note("incident_summary".into()),
        });
        if let Some(l) = link {
            steps.push(Step::Bookmark {
                title: format!("Case {}", swarm.case()),
                link: l,
            });
        }
        steps.push(Step::Post {
            to: Target::Thread,
            text: format!("Promoted to {{incident}} ({sev}){}.", self.by()),
            meta: Meta::Promoted,
        });
        self.action(
            swarm,
            format!("promote {} to #{}", swarm.case(), plan.channel_name),
            steps,
        )
    }

    /// Resolution: the marker post, the reaction, and for a promoted swarm a summary in
    /// the incident channel (and the archive, when the lead chose it).
    pub fn resolve(&self, swarm: &Swarm, resolution: &str, archive: bool) -> Action {
        let resolution = clip(resolution, 500);
        let mut steps = vec![
            self.thread_post(
                format!("Resolved{}: {resolution}", self.by()),
                MarkerKind::Resolved {
                    resolution: resolution.clone(),
                },
            ),
            Step::React {
                name: self.resolved_reaction.to_string(),
                add: true,
            },
        ];
        if swarm.incident.is_some() {
            steps.push(Step::Post {
                to: Target::Incident,
                text: format!(
                    "*Case {} resolved*{}: {resolution}\nSwarm thread: {{permalink}}",
                    swarm.case(),
                    self.by()
                ),
                meta: Meta::Note("resolution_summary".into()),
            });
            if archive {
                steps.push(Step::ArchiveIncident);
            }
        }
        self.action(swarm, format!("resolve {}", swarm.case()), steps)
    }

    /// Links a likely duplicate to the swarm it duplicates (`L`): a note in the
    /// duplicate's thread whose marker resolves it "duplicate of #case" pointing at the
    /// original, and a note in the original's thread pointing back. No resolved reaction:
    /// whichever copy of swarmdeck heard the reaction before the marker would resolve it
    /// without saying what it duplicates. Once: a swarm already linked gets no plan.
    pub fn link_duplicate(&self, duplicate: &Swarm, original: &Swarm) -> Result<Action, String> {
        if let Some(link) = &duplicate.linked_to {
            return Err(format!(
                "{} is linked already: duplicate of #{}.",
                duplicate.case(),
                link.case
            ));
        }
        if duplicate.id() == original.id() {
            return Err(format!("{} cannot duplicate itself.", duplicate.case()));
        }
        let case = original.case().to_string();
        let steps = vec![
            self.thread_post(
                format!(
                    "Duplicate of #{case} ({} pod, <#{}>){}: resolved here; the swarm goes on in the original thread.",
                    original.pod,
                    original.channel,
                    self.by()
                ),
                MarkerKind::Duplicate {
                    of_channel: original.channel.clone(),
                    of_ts: original.thread_ts,
                    case: case.clone(),
                },
            ),
            Step::Post {
                to: Target::OtherThread {
                    channel: original.channel.clone(),
                    thread_ts: original.thread_ts,
                },
                text: format!(
                    "Case #{} ({} pod) was linked here as a duplicate of this one{}: {{permalink}}",
                    duplicate.case(),
                    duplicate.pod,
                    self.by()
                ),
                meta: Meta::Marker(MarkerKind::DuplicateLinked {
                    duplicate_channel: duplicate.channel.clone(),
                    duplicate_ts: duplicate.thread_ts,
                    case: duplicate.case().to_string(),
                }),
            },
        ];
        Ok(self.action(
            duplicate,
            format!("link {} to #{case}", duplicate.case()),
            steps,
        ))
    }

    pub fn reopen(&self, swarm: &Swarm) -> Action {
        // Slack does not let an app unarchive a channel (a bot token cannot call
        // conversations.unarchive), so the thread says what a person has to do.
        let incident = match &swarm.incident {
            Some(i) => format!(
                " The incident channel <#{}> is left as it is: if it was archived, someone in it can unarchive it in Slack.",
                i.channel_id
            ),
            None => String::new(),
        };
        let steps = vec![
            self.thread_post(
                format!("Reopened{}.{incident}", self.by()),
                MarkerKind::Reopened,
            ),
            Step::React {
                name: self.resolved_reaction.to_string(),
                add: false,
            },
        ];
        self.action(swarm, format!("reopen {}", swarm.case()), steps)
    }

    /// Waiting on the customer, or back from it: the opposite of what the swarm is now.
    /// Read from its pauses, not its status: a promoted swarm says `promoted` however it
    /// waits, and `w` must still turn waiting off.
    pub fn toggle_waiting(&self, swarm: &Swarm) -> Action {
        let on = !swarm.is_waiting();
        let text = if on {
            format!(
                "Waiting on the customer{}: the support clock is paused.",
                self.by()
            )
        } else {
            format!(
                "No longer waiting on the customer{}: the clock runs again.",
                self.by()
            )
        };
        let label = if on {
            "waiting on customer"
        } else {
            "not waiting"
        };
        self.action(
            swarm,
            format!("{} {label}", swarm.case()),
            vec![self.thread_post(text, MarkerKind::Waiting { on })],
        )
    }

    pub fn follow_up(&self, swarm: &Swarm, next_steps: &str, due: Ts) -> Action {
        let next_steps = clip(next_steps, 500);
        let text = format!(
            "Next steps: {next_steps}\nFollow-up <!date^{}^{{date_short_pretty}} at {{time}}|{}>{}.",
            due.secs(),
            due.to_datetime().format("%Y-%m-%d %H:%M UTC"),
            self.by()
        );
        self.action(
            swarm,
            format!("follow-up on {}", swarm.case()),
            vec![self.thread_post(text, MarkerKind::FollowUp { next_steps, due })],
        )
    }

    /// The lead's reply, posted by the bot: its marker names the lead (in every post's
    /// metadata), so that every swarmdeck counts it as the lead's own reply.
    pub fn reply(&self, swarm: &Swarm, text: &str) -> Action {
        let step = self.thread_post(text.trim().to_string(), MarkerKind::Replied);
        self.action(swarm, format!("reply on {}", swarm.case()), vec![step])
    }

    /// The reminder posted in the thread when a follow-up falls due.
    pub fn remind(&self, swarm: &Swarm) -> Action {
        let who: Vec<String> = if swarm.experts.is_empty() {
            self.lead.map(mention).into_iter().collect()
        } else {
            swarm.experts.iter().map(|e| mention(e)).collect()
        };
        let text = format!(
            "{} follow-up due on case {}: {}",
            who.join(" "),
            swarm.case(),
            swarm
                .next_steps
                .as_deref()
                .unwrap_or("(no next steps given)")
        );
        let step = Step::Post {
            to: Target::Thread,
            text: text.trim().to_string(),
            meta: Meta::Note("follow_up_reminder".into()),
        };
        self.action(swarm, format!("remind on {}", swarm.case()), vec![step])
    }

    /// A stakeholder update: the template posted to the incident channel, then a line in
    /// the thread whose marker carries the status and the next update's time, so that
    /// every swarmdeck on the pod derives the last update from the thread it reads.
    pub fn status_update(&self, swarm: &Swarm, draft: &UpdateDraft) -> Action {
        let status = clip(&draft.status, 300);
        let when = |t: Ts| {
            format!(
                "<!date^{}^{{date_short_pretty}} at {{time}}|{}>",
                t.secs(),
                t.to_datetime().format("%Y-%m-%d %H:%M UTC")
            )
        };
        let next_update = draft.next_update_at.map(when);
        let mut text = format!(
            "*Status update · case {}* (Sev{}){}\n*Status:* {status}",
            swarm.case(),
            swarm.urgency().level(),
            self.by()
        );
        for (label, part) in [("Impact", &draft.impact), ("What's next", &draft.next)] {
            if !part.trim().is_empty() {
                text.push_str(&format!("\n*{label}:* {}", clip(part, 500)));
            }
        }
        if let Some(n) = &next_update {
            text.push_str(&format!("\n*Next update:* {n}"));
        }
        let mut line = format!(
            "Status update posted to {{incident}}{}: {status}",
            self.by()
        );
        if let Some(n) = &next_update {
            line.push_str(&format!(" · next update {n}"));
        }
        let steps = vec![
            Step::Post {
                to: Target::Incident,
                text,
                meta: Meta::Note("status_update".into()),
            },
            self.thread_post(
                line,
                MarkerKind::StatusUpdate {
                    status,
                    next_update_at: draft.next_update_at,
                },
            ),
        ];
        self.action(swarm, format!("status update on {}", swarm.case()), steps)
    }

    /// A shift handoff posted to `to` (a channel id, or a user id for a direct message);
    /// `shown` is how the lead named it.
    pub fn handoff(&self, to: &str, shown: &str, text: String) -> Action {
        Action {
            id: self.id.clone(),
            lead: self.lead.map(str::to_string),
            case: String::new(),
            channel: String::new(),
            thread_ts: None,
            incident: None,
            label: format!("handoff to {shown}"),
            steps: vec![Step::Post {
                to: Target::Elsewhere(to.to_string()),
                text,
                meta: Meta::Note("handoff".into()),
            }],
            look_first: false,
        }
    }
}

/// What the promote dialog settles: severity, channel name, public or private.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Promotion {
    pub urgency: Urgency,
    pub channel_name: String,
    pub private: bool,
    /// The members of the pod's stakeholder groups for this severity (`[pods.promote]
    /// invite_groups`), each once: invited with the swarm's people.
    #[serde(default)]
    pub stakeholders: Vec<String>,
}

impl Promotion {
    /// The dialog's starting point: the swarm's urgency and the pod's template.
    pub fn proposed(desk: &Desk, swarm: &Swarm) -> Promotion {
        Promotion::with_urgency(desk, swarm, swarm.urgency(), false)
    }

    pub fn with_urgency(desk: &Desk, swarm: &Swarm, urgency: Urgency, private: bool) -> Promotion {
        let (template, product, pod, region) = match desk.pod(&swarm.channel) {
            Some(p) => (
                p.incident_template.as_str(),
                p.product.as_str(),
                p.name.as_str(),
                p.region.as_deref(),
            ),
            None => (super::desk::DEFAULT_INCIDENT_TEMPLATE, "", "", None),
        };
        Promotion {
            urgency,
            channel_name: incident_channel_name(
                template,
                product,
                pod,
                region,
                urgency,
                swarm.case(),
            ),
            private,
            stakeholders: stakeholder_groups(desk, swarm, urgency)
                .into_iter()
                .flat_map(|(_, members)| members.unwrap_or_default())
                .fold(Vec::new(), |mut all, u| {
                    if !all.contains(&u) {
                        all.push(u);
                    }
                    all
                }),
        }
    }
}

/// The pod's stakeholder groups for a severity, each with its members once Slack has
/// said who they are (`None` before: the promote dialog says so rather than show 0).
pub fn stakeholder_groups(
    desk: &Desk,
    swarm: &Swarm,
    urgency: Urgency,
) -> Vec<(String, Option<Vec<String>>)> {
    let Some(pod) = desk.pod(&swarm.channel) else {
        return Vec::new();
    };
    pod.invite_groups[urgency as usize]
        .iter()
        .map(|g| (g.clone(), desk.group(g).map(<[String]>::to_vec)))
        .collect()
}

/// What the update composer settles (`U`): the template's four parts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateDraft {
    pub status: String,
    pub impact: String,
    pub next: String,
    /// When the next update comes; `None`: no promise.
    pub next_update_at: Option<Ts>,
}

/// The name to try after `name` was taken by someone else's channel: `-2`, `-3`, …,
/// still within Slack's 80 characters.
pub fn suffixed(name: &str, n: u32) -> String {
    let suffix = format!("-{n}");
    let keep = MAX_CHANNEL_NAME.saturating_sub(suffix.len());
    let base: String = name.chars().take(keep).collect();
    format!("{}{suffix}", base.trim_end_matches('-'))
}

/// An expert as the picker shows them, with why they rank where they do.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate<'a> {
    pub expert: &'a Expert,
    /// Their skills that match the swarm (its product first, then words of its subject).
    pub matched: Vec<&'a str>,
    pub load: usize,
}

/// Experts for a swarm, best first: skill match with the product (then the subject),
/// present before away before unknown, lighter load, then name. Those already assigned
/// are left out.
pub fn rank_experts<'a>(desk: &'a Desk, swarm: &Swarm) -> Vec<Candidate<'a>> {
    let product = desk
        .pod(&swarm.channel)
        .map(|p| p.product.to_lowercase())
        .unwrap_or_default();
    let subject = swarm.request.subject.to_lowercase();
    let mut out: Vec<Candidate> = desk
        .experts()
        .filter(|e| !swarm.experts.contains(&e.user))
        .map(|e| {
            let mut matched: Vec<&str> = Vec::new();
            for s in &e.skills {
                let skill = s.to_lowercase();
                if skill == product {
                    matched.insert(0, s);
                } else if skill.len() > 2 && subject.contains(&skill) {
                    matched.push(s);
                }
            }
            Candidate {
                expert: e,
                matched,
                load: desk.load(&e.user),
            }
        })
        .collect();
    let product_match = |c: &Candidate| {
        c.matched
            .first()
            .is_some_and(|m| m.to_lowercase() == product)
    };
    // Who declined or has not answered an ask on this swarm comes last: the lead
    // offered the next expert wants someone else.
    let asked = |c: &Candidate| swarm.asks.iter().any(|a| a.expert == c.expert.user);
    out.sort_by(|a, b| {
        asked(a)
            .cmp(&asked(b))
            .then(product_match(b).cmp(&product_match(a)))
            .then(b.matched.len().cmp(&a.matched.len()))
            .then(presence_rank(a.expert).cmp(&presence_rank(b.expert)))
            .then(a.load.cmp(&b.load))
            .then(a.expert.name.cmp(&b.expert.name))
    });
    out
}

fn presence_rank(e: &Expert) -> u8 {
    match e.active {
        Some(true) => 0,
        Some(false) => 1,
        None => 2,
    }
}

/// Parses a follow-up time as a lead types it: a duration from now (`2h`, `30m`,
/// `1h30m`, `1d`), `today 17:00`, `tomorrow 13:00`, a bare `13:00` (its next
/// occurrence), or an RFC 3339 time. Local times are in the lead's offset.
pub fn parse_due(input: &str, now: DateTime<FixedOffset>) -> Result<Ts, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("say when: 2h, tomorrow 13:00 or an RFC 3339 time".into());
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Ok(Ts::from_datetime(at.to_utc()));
    }
    if let Ok(d) = humantime::parse_duration(s) {
        let d = Duration::from_std(d).map_err(|_| format!("`{s}` is too far away"))?;
        return Ok(Ts::from_datetime((now + d).to_utc()));
    }
    let lower = s.to_lowercase();
    let (day, time) = match lower.split_once(' ') {
        Some((day @ ("today" | "tomorrow"), time)) => (Some(day), time.trim()),
        _ if lower == "tomorrow" => (Some("tomorrow"), "09:00"),
        _ => (None, lower.as_str()),
    };
    let time = NaiveTime::parse_from_str(time, "%H:%M").map_err(|_| {
        format!("`{s}` is not a time: try 2h, 45m, today 17:00, tomorrow 13:00 or an RFC 3339 time")
    })?;
    let date = match day {
        Some("tomorrow") => now.date_naive() + Duration::days(1),
        _ => now.date_naive(),
    };
    let mut at = now
        .timezone()
        .from_local_datetime(&date.and_time(time))
        .single()
        .ok_or_else(|| format!("`{s}` does not exist in your time zone"))?;
    if day.is_none() && at <= now {
        at += Duration::days(1);
    }
    if at <= now {
        return Err(format!("`{s}` has passed already"));
    }
    Ok(Ts::from_datetime(at.to_utc()))
}

/// The shift handoff: every open swarm, most urgent first, with who is on it, what is
/// next and how long is left.
pub fn handoff_text(desk: &Desk, lead: Option<&str>, now: Ts) -> String {
    let mut open: Vec<&Swarm> = desk.swarms().filter(|s| s.is_open()).collect();
    let due = |s: &Swarm| {
        desk.pod(&s.channel)
            .and_then(|p| s.next_due(&p.sla))
            .and_then(|b| b.due)
    };
    open.sort_by_key(|s| (s.urgency(), due(s).unwrap_or(Ts(i64::MAX)), s.thread_ts));
    let from = lead
        .map(|l| format!(" from {}", mention(l)))
        .unwrap_or_default();
    let mut text = format!(
        "*Shift handoff{from}*: {} open swarm{}",
        open.len(),
        if open.len() == 1 { "" } else { "s" }
    );
    if open.is_empty() {
        text.push_str(". Nothing open: a quiet handover.");
        return text;
    }
    for s in open {
        let owners = if s.experts.is_empty() {
            "unassigned".to_string()
        } else {
            s.experts
                .iter()
                .map(|e| mention(e))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let left = match due(s) {
            Some(d) if d <= now => format!("breached {} ago", short(now.secs_since(d))),
            Some(d) => format!("{} left", short(d.secs_since(now))),
            None => "clock paused".to_string(),
        };
        text.push_str(&format!(
            "\n• *{}* {} · <#{}> · {} · {owners} · {left}",
            s.case(),
            s.urgency(),
            s.channel,
            s.status.as_str(),
        ));
        if let Some(next) = &s.next_steps {
            text.push_str(&format!(" · next: {}", clip(next, 120)));
        }
        if let Some(i) = &s.incident {
            text.push_str(&format!(" · <#{}>", i.channel_id));
            match &s.last_update {
                Some(u) => text.push_str(&format!(
                    " · last update {} ago: {}",
                    short(now.secs_since(u.at)),
                    clip(&u.status, 120)
                )),
                None => text.push_str(" · no stakeholder update yet"),
            }
        }
    }
    text
}

fn short(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Where a handoff goes, as the lead typed it: a channel (`#name` the bot is in, or an
/// id) or a person (`@name`, or an id, for a direct message).
pub fn destination(desk: &Desk, typed: &str) -> Result<String, String> {
    let to = typed.trim();
    if to.starts_with('#') {
        return desk
            .find_channel(to)
            .map(str::to_string)
            .ok_or_else(|| format!("the bot is not in {to}: invite it there, or pick another"));
    }
    if to.starts_with('@') {
        return desk
            .find_person(to)
            .map(str::to_string)
            .ok_or_else(|| format!("nobody called {to}: try their user id (U…)"));
    }
    let id_like = to.len() >= 9
        && to
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && to.starts_with(['C', 'G', 'D', 'U', 'W']);
    if id_like {
        Ok(to.to_string())
    } else {
        Err(format!(
            "`{to}`: write #channel, @person, or an id (C…, U…)"
        ))
    }
}

/// The triage queue: open swarms not waiting on the customer, in the attention order
/// ([`Swarm::attention`]) — the same order as the main table's.
pub fn triage_order(desk: &Desk, now: Ts) -> Vec<SwarmId> {
    let mut open: Vec<&Swarm> = desk
        .swarms()
        .filter(|s| s.is_open() && !s.is_waiting())
        .collect();
    open.sort_by_cached_key(|s| (s.attention(now), s.channel.clone()));
    open.into_iter().map(Swarm::id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::desk::{DeskConfig, Pod};
    use crate::domain::input::{Author, Input, Marker, Msg};
    use crate::domain::swarm::Status;

    const POD: &str = "C0SWARMAPI";

    fn desk_with(requests: &[(&str, &str, &str)]) -> Desk {
        let mut desk = Desk::new(DeskConfig::default(), [Pod::discovered(POD, "swarm-api")]);
        for (i, (case, sev, subject)) in requests.iter().enumerate() {
            let text = format!(
                "Case: {case}\nUrgency: {sev}\nSubject: {subject}\nLink: https://crm.example/{case}\nRequested by: <@U0REQ{i}>"
            );
            desk.apply(
                Input::Message(msg(POD, 1_000 + i as i64, None, "U0WF", &text)),
                Ts::from_secs(2_000),
            );
        }
        desk
    }

    fn msg(channel: &str, secs: i64, thread: Option<i64>, user: &str, text: &str) -> Msg {
        Msg {
            channel: channel.into(),
            ts: Ts::from_secs(secs),
            thread_ts: thread.map(Ts::from_secs),
            author: Author::Person(user.into()),
            text: text.into(),
            block_texts: vec![],
            marker: None,
            edited: None,
            reactions: vec![],
            latest_reply: None,
        }
    }

    fn mover(lead: Option<&str>) -> Mover<'_> {
        Mover {
            id: "A1".into(),
            lead,
            resolved_reaction: "white_check_mark",
        }
    }

    fn first(desk: &Desk) -> Swarm {
        desk.snapshot().remove(0)
    }

    #[test]
    fn assign_mentions_the_expert_and_carries_the_marker() {
        let desk = desk_with(&[("26901", "Sev 2", "Webhooks failing")]);
        let a = mover(Some("U0LEAD")).assign(&first(&desk), "U0EXP1", "Priya");
        assert_eq!(a.lead.as_deref(), Some("U0LEAD"));
        assert_eq!(a.thread_ts, Some(Ts::from_secs(1_000)));
        let [Step::Post { to, text, meta }] = a.steps.as_slice() else {
            panic!("one post: {:?}", a.steps)
        };
        assert_eq!(*to, Target::Thread);
        assert!(
            text.starts_with("<@U0EXP1> could you help with case 26901?"),
            "{text}"
        );
        assert!(text.contains("(by <@U0LEAD>)"), "{text}");
        assert_eq!(
            *meta,
            Meta::Marker(MarkerKind::Assigned {
                expert: "U0EXP1".into()
            })
        );
    }

    #[test]
    fn promotion_invites_requester_experts_and_lead_once_each_and_links_back_last() {
        let mut desk = desk_with(&[("27343", "Sev 1", "API down for EU")]);
        let marker = |expert: &str| Marker {
            lead: None,
            kind: MarkerKind::Assigned {
                expert: expert.into(),
            },
        };
        for (i, e) in ["U0EXP1", "U0REQ0"].iter().enumerate() {
            let mut m = msg(POD, 1_100 + i as i64, Some(1_000), "B", "assigned");
            m.author = Author::Us;
            m.marker = Some(marker(e));
            desk.apply(Input::Message(m), Ts::from_secs(2_000));
        }
        let swarm = first(&desk);
        let plan = Promotion::proposed(&desk, &swarm);
        assert_eq!(plan.channel_name, "support-api-sev1-27343");
        assert_eq!(plan.urgency, Urgency::Sev1);
        let a = mover(Some("U0LEAD")).promote(&swarm, &plan);
        let kinds: Vec<&str> = a
            .steps
            .iter()
            .map(|s| match s {
                Step::CreateChannel { .. } => "create",
                Step::Invite { .. } => "invite",
                Step::SetTopic(_) => "topic",
                Step::SetPurpose(_) => "purpose",
                Step::Post {
                    to: Target::Incident,
                    ..
                } => "summary",
                Step::Bookmark { .. } => "bookmark",
                Step::Post {
                    to: Target::Thread, ..
                } => "link back",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "create",
                "invite",
                "topic",
                "purpose",
                "summary",
                "bookmark",
                "link back"
            ]
        );
        assert_eq!(
            a.steps[1],
            Step::Invite {
                users: vec!["U0REQ0".into(), "U0EXP1".into(), "U0LEAD".into()]
            }
        );
        assert_eq!(
            a.steps[2],
            Step::SetTopic("Case 27343 · Sev1 · API down for EU".into())
        );
        let Step::SetPurpose(purpose) = &a.steps[3] else {
            panic!()
        };
        assert!(purpose.contains("https://crm.example/27343") && purpose.contains("{permalink}"));
        let Step::Post { meta, text, .. } = &a.steps[6] else {
            panic!()
        };
        assert_eq!(*meta, Meta::Promoted);
        assert!(text.contains("{incident}"), "{text}");
    }

    #[test]
    fn a_promotion_without_a_lead_or_link_skips_what_it_cannot_do() {
        let mut desk = Desk::new(DeskConfig::default(), [Pod::discovered(POD, "swarm-api")]);
        let mut root = msg(POD, 1_000, None, "U0WF", "Case: 5\nSubject: s");
        root.author = Author::Bot {
            bot_id: Some("B0WORKFLOW".into()),
        };
        desk.apply(Input::Message(root), Ts::from_secs(2_000));
        let swarm = first(&desk);
        let a = mover(None).promote(&swarm, &Promotion::proposed(&desk, &swarm));
        assert!(
            !a.steps
                .iter()
                .any(|s| matches!(s, Step::Invite { .. } | Step::Bookmark { .. }))
        );
    }

    #[test]
    fn resolving_a_promoted_swarm_summarises_in_the_incident_channel_and_archives_if_asked() {
        let desk = desk_with(&[("1", "Sev 3", "s")]);
        let mut swarm = first(&desk);
        let plain = mover(None).resolve(&swarm, "restarted the\nworker", true);
        assert_eq!(
            plain.steps.len(),
            2,
            "no incident: marker and reaction only"
        );
        let Step::Post { meta, .. } = &plain.steps[0] else {
            panic!()
        };
        assert_eq!(
            *meta,
            Meta::Marker(MarkerKind::Resolved {
                resolution: "restarted the worker".into()
            })
        );
        swarm.incident = Some(crate::domain::swarm::Incident {
            channel_id: "C9".into(),
            channel_name: "support-api-sev3-1".into(),
        });
        let kept = mover(None).resolve(&swarm, "done", false);
        assert_eq!(kept.steps.len(), 3);
        assert_eq!(
            kept.incident,
            Some(("C9".into(), "support-api-sev3-1".into()))
        );
        let archived = mover(None).resolve(&swarm, "done", true);
        assert_eq!(archived.steps.last(), Some(&Step::ArchiveIncident));
    }

    /// What Slack gives back for an action's thread post: our bot's post, its marker
    /// naming the acting lead, folded into the desk.
    fn land(desk: &mut Desk, a: &Action, secs: i64) {
        let [
            Step::Post {
                to: Target::Thread,
                text,
                meta: Meta::Marker(kind),
            },
        ] = a.steps.as_slice()
        else {
            panic!("one marked thread post: {:?}", a.steps)
        };
        let mut m = msg(&a.channel, secs, a.thread_ts.map(Ts::secs), "B", text);
        m.author = Author::Us;
        m.marker = Some(Marker {
            lead: a.lead.clone(),
            kind: kind.clone(),
        });
        desk.apply(Input::Message(m), Ts::from_secs(secs));
    }

    fn waiting_on(a: &Action) -> bool {
        match a.steps.as_slice() {
            [
                Step::Post {
                    meta: Meta::Marker(MarkerKind::Waiting { on }),
                    ..
                },
            ] => *on,
            other => panic!("one waiting post: {other:?}"),
        }
    }

    #[test]
    fn waiting_toggles_from_where_the_swarm_stands() {
        let mut desk = desk_with(&[("1", "Sev 3", "s")]);
        let on = mover(None).toggle_waiting(&first(&desk));
        assert!(waiting_on(&on));
        land(&mut desk, &on, 1_100);
        assert_eq!(first(&desk).status, Status::WaitingOnCustomer);
        assert!(!waiting_on(&mover(None).toggle_waiting(&first(&desk))));
    }

    #[test]
    fn w_twice_on_a_promoted_swarm_turns_waiting_on_then_off() {
        let mut desk = desk_with(&[("27343", "Sev 1", "API down")]);
        let mut m = msg(POD, 1_050, Some(1_000), "B", "promoted");
        m.author = Author::Us;
        m.marker = Some(Marker {
            lead: None,
            kind: MarkerKind::Promoted {
                channel_id: "C9".into(),
                channel_name: "support-api-sev1-27343".into(),
            },
        });
        desk.apply(Input::Message(m), Ts::from_secs(1_050));
        let lead = mover(Some("U0LEAD"));
        let on = lead.toggle_waiting(&first(&desk));
        assert!(waiting_on(&on));
        land(&mut desk, &on, 1_100);
        let waiting = first(&desk);
        assert_eq!(waiting.status, Status::Promoted, "promoted says promoted");
        assert!(waiting.is_waiting() && waiting.next_clock.is_none());
        let off = lead.toggle_waiting(&waiting);
        assert!(!waiting_on(&off), "the second w turns waiting off");
        land(&mut desk, &off, 1_200);
        let back = first(&desk);
        assert!(!back.is_waiting());
        assert!(back.next_clock.is_some(), "the clock runs again");
    }

    #[test]
    fn taken_names_get_a_suffix_within_slacks_limit() {
        assert_eq!(suffixed("support-api-sev1-1", 2), "support-api-sev1-1-2");
        let long = "a".repeat(80);
        let s = suffixed(&long, 12);
        assert_eq!(s.len(), 80);
        assert!(s.ends_with("-12"));
    }

    #[test]
    fn experts_rank_by_skill_then_presence_then_load() {
        let mut desk = desk_with(&[
            ("1", "Sev 2", "OAuth tokens expire early"),
            ("2", "Sev 3", "x"),
        ]);
        let expert = |user: &str, skills: &[&str]| Input::Expert {
            user: user.into(),
            name: user.into(),
            skills: skills.iter().map(|s| s.to_string()).collect(),
        };
        desk.apply(expert("U_BILL", &["billing"]), Ts(0));
        desk.apply(expert("U_API_AWAY", &["api"]), Ts(0));
        desk.apply(expert("U_API_HERE", &["api"]), Ts(0));
        desk.apply(expert("U_API_OAUTH", &["api", "oauth"]), Ts(0));
        desk.apply(expert("U_API_BUSY", &["api"]), Ts(0));
        for (u, a) in [
            ("U_API_AWAY", false),
            ("U_API_HERE", true),
            ("U_API_BUSY", true),
            ("U_API_OAUTH", false),
        ] {
            desk.apply(
                Input::Presence {
                    user: u.into(),
                    active: a,
                },
                Ts(0),
            );
        }
        // U_API_BUSY carries the second swarm.
        let busy = desk.snapshot()[1].thread_ts;
        let mut m = msg(POD, 1_500, Some(busy.secs()), "B", "assigned");
        m.author = Author::Us;
        m.marker = Some(Marker {
            lead: None,
            kind: MarkerKind::Assigned {
                expert: "U_API_BUSY".into(),
            },
        });
        desk.apply(Input::Message(m), Ts::from_secs(2_000));
        let swarm = first(&desk);
        let order: Vec<&str> = rank_experts(&desk, &swarm)
            .iter()
            .map(|c| c.expert.user.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "U_API_OAUTH",
                "U_API_HERE",
                "U_API_BUSY",
                "U_API_AWAY",
                "U_BILL"
            ]
        );
        let busy_swarm = &desk.snapshot()[1];
        assert!(
            !rank_experts(&desk, busy_swarm)
                .iter()
                .any(|c| c.expert.user == "U_API_BUSY"),
            "an assigned expert is not offered again"
        );
    }

    #[test]
    fn due_times_as_leads_type_them() {
        let offset = FixedOffset::east_opt(3_600).unwrap();
        let now = offset.with_ymd_and_hms(2026, 11, 22, 10, 30, 0).unwrap();
        let at = |s: &str| {
            parse_due(s, now).map(|t| {
                t.to_datetime()
                    .with_timezone(&offset)
                    .format("%d %H:%M")
                    .to_string()
            })
        };
        assert_eq!(at("2h").unwrap(), "22 12:30");
        assert_eq!(at("1h 30m").unwrap(), "22 12:00");
        assert_eq!(at("tomorrow 13:00").unwrap(), "23 13:00");
        assert_eq!(at("Today 17:15").unwrap(), "22 17:15");
        assert_eq!(
            at("09:00").unwrap(),
            "23 09:00",
            "a bare time already past means tomorrow"
        );
        assert_eq!(at("2026-11-24T08:00:00Z").unwrap(), "24 09:00");
        assert!(at("today 08:00").unwrap_err().contains("passed"));
        assert!(at("soonish").unwrap_err().contains("tomorrow 13:00"));
        assert!(at("").is_err());
    }

    #[test]
    fn a_reminder_names_the_assigned_experts_or_else_the_lead() {
        let desk = desk_with(&[("1", "Sev 3", "s")]);
        let mut swarm = first(&desk);
        swarm.next_steps = Some("Ask for logs".into());
        let text = |a: &Action| match &a.steps[..] {
            [
                Step::Post {
                    text,
                    meta: Meta::Note(note),
                    to: Target::Thread,
                },
            ] if note == "follow_up_reminder" => text.clone(),
            other => panic!("one reminder post: {other:?}"),
        };
        assert_eq!(
            text(&mover(Some("U0LEAD")).remind(&swarm)),
            "<@U0LEAD> follow-up due on case 1: Ask for logs"
        );
        swarm.experts = vec!["U1".into(), "U2".into()];
        assert_eq!(
            text(&mover(Some("U0LEAD")).remind(&swarm)),
            "<@U1> <@U2> follow-up due on case 1: Ask for logs"
        );
    }

    #[test]
    fn handoff_lists_open_swarms_most_urgent_first() {
        let desk = desk_with(&[
            ("300", "Sev 3", "slow"),
            ("100", "Sev 1", "down"),
            ("200", "Sev 2", "odd"),
        ]);
        let text = handoff_text(&desk, Some("U0LEAD"), Ts::from_secs(2_000));
        assert!(
            text.starts_with("*Shift handoff from <@U0LEAD>*: 3 open swarms"),
            "{text}"
        );
        let pos = |case: &str| text.find(&format!("*{case}*")).unwrap();
        assert!(pos("100") < pos("200") && pos("200") < pos("300"), "{text}");
        assert!(text.contains("unassigned"));
        let empty = Desk::new(DeskConfig::default(), []);
        assert!(handoff_text(&empty, None, Ts(0)).contains("Nothing open"));
    }

    #[test]
    fn handoff_destinations_as_typed() {
        let mut desk = desk_with(&[]);
        desk.apply(
            Input::ChannelNamed {
                id: "C0LEADS".into(),
                name: "support-leads".into(),
            },
            Ts(0),
        );
        desk.apply(
            Input::UserNamed {
                user: "U0DANA".into(),
                name: "dana.lead".into(),
            },
            Ts(0),
        );
        assert_eq!(destination(&desk, " #support-leads ").unwrap(), "C0LEADS");
        assert_eq!(destination(&desk, "@Dana.Lead").unwrap(), "U0DANA");
        assert_eq!(destination(&desk, "C0SWARMAPI").unwrap(), "C0SWARMAPI");
        assert!(
            destination(&desk, "#nowhere")
                .unwrap_err()
                .contains("not in #nowhere")
        );
        assert!(
            destination(&desk, "@nobody")
                .unwrap_err()
                .contains("user id")
        );
        assert!(
            destination(&desk, "leads")
                .unwrap_err()
                .contains("#channel")
        );
    }

    #[test]
    fn triage_takes_owed_then_unassigned_by_urgency_then_breached_then_due_follow_ups() {
        let mut desk = desk_with(&[
            ("1", "Sev 3", "new, unassigned"),
            ("2", "Sev 1", "answered, unassigned"),
            ("3", "Sev 2", "new, unassigned"),
            ("4", "Sev 4", "assigned, the requester answered"),
            ("5", "Sev 2", "assigned, breached"),
            ("6", "Sev 4", "assigned, follow-up due"),
            ("7", "Sev 4", "assigned, quiet"),
            ("8", "Sev 4", "assigned, waiting on the customer"),
        ]);
        let marked = |desk: &mut Desk, root: i64, secs: i64, kind: MarkerKind| {
            let mut m = msg(POD, secs, Some(root), "B", "a move");
            m.author = Author::Us;
            m.marker = Some(Marker { lead: None, kind });
            desk.apply(Input::Message(m), Ts::from_secs(secs));
        };
        // Cases 4 to 8 have an expert.
        for root in 1_003..=1_007 {
            let expert = MarkerKind::Assigned {
                expert: "U0EXP".into(),
            };
            marked(&mut desk, root, root + 10, expert);
        }
        let reply = |desk: &mut Desk, root: i64, secs: i64, user: &str| {
            desk.apply(
                Input::Message(msg(POD, secs, Some(root), user, "hi")),
                Ts::from_secs(secs),
            );
        };
        reply(&mut desk, 1_001, 1_100, "U0EXP");
        // 4: an expert answered, then the requester (U0REQ3): a response is owed.
        reply(&mut desk, 1_003, 1_100, "U0EXP");
        reply(&mut desk, 1_003, 1_200, "U0REQ3");
        // 5 has no answer yet; 6, 7 and 8 have.
        for root in [1_005, 1_006, 1_007] {
            reply(&mut desk, root, 1_100, "U0EXP");
        }
        marked(
            &mut desk,
            1_005,
            1_300,
            MarkerKind::FollowUp {
                next_steps: "call".into(),
                due: Ts::from_secs(1_500),
            },
        );
        marked(&mut desk, 1_007, 1_300, MarkerKind::Waiting { on: true });
        // An hour on: 5 (Sev 2, no first response) is past its 30 minutes, 6's
        // follow-up is due, 7 runs on its Sev 4 clock.
        let now = Ts::from_secs(1_000 + 3_600);
        let order: Vec<String> = triage_order(&desk, now)
            .into_iter()
            .map(|id| desk.by_id(&id).unwrap().case().to_string())
            .collect();
        assert_eq!(order, ["4", "2", "3", "1", "5", "6", "7"]);
    }
}

#[cfg(test)]
mod stakeholder_tests {
    use super::*;
    use crate::domain::desk::{DeskConfig, Pod};
    use crate::domain::input::{Author, Input, Marker, Msg};
    use crate::domain::lifecycle::{Lifecycle, LifecycleKind};

    const POD: &str = "C0SWARMAPI";
    const MIN: i64 = 60;

    fn msg(secs: i64, thread: Option<i64>, text: &str, marker: Option<MarkerKind>) -> Msg {
        Msg {
            channel: POD.into(),
            ts: Ts::from_secs(secs),
            thread_ts: thread.map(Ts::from_secs),
            author: if marker.is_some() {
                Author::Us
            } else {
                Author::Person("U0REQ1".into())
            },
            text: text.into(),
            block_texts: vec![],
            marker: marker.map(|kind| Marker {
                lead: Some("U0LEAD".into()),
                kind,
            }),
            edited: None,
            reactions: vec![],
            latest_reply: None,
        }
    }

    /// A Sev1 opened at 1,000 s in a pod whose Sev1 stakeholders are legal and comms and
    /// whose Sev1 cadence is 30 minutes.
    fn desk() -> Desk {
        let mut pod = Pod::discovered(POD, "swarm-api");
        pod.invite_groups[0] = vec!["legal".into(), "comms".into()];
        pod.invite_groups[1] = vec!["account-team".into()];
        pod.sla.update_every[0] = Some(30 * MIN);
        let mut desk = Desk::new(DeskConfig::default(), [pod]);
        let text = "Case: 27343\nUrgency: Sev 1\nSubject: API down for EU";
        desk.apply(
            Input::Message(msg(1_000, None, text, None)),
            Ts::from_secs(1_000),
        );
        desk
    }

    fn swarm(desk: &Desk) -> Swarm {
        desk.snapshot().remove(0)
    }

    fn mark(desk: &mut Desk, secs: i64, kind: MarkerKind) -> Vec<Lifecycle> {
        desk.apply(
            Input::Message(msg(secs, Some(1_000), "a move", Some(kind))),
            Ts::from_secs(secs),
        )
    }

    fn promote(desk: &mut Desk, secs: i64) {
        mark(
            desk,
            secs,
            MarkerKind::Promoted {
                channel_id: "C0INC".into(),
                channel_name: "support-api-sev1-27343".into(),
            },
        );
    }

    fn update(desk: &mut Desk, secs: i64, status: &str, next: Option<i64>) -> Vec<Lifecycle> {
        mark(
            desk,
            secs,
            MarkerKind::StatusUpdate {
                status: status.into(),
                next_update_at: next.map(Ts::from_secs),
            },
        )
    }

    fn mover() -> Mover<'static> {
        Mover {
            id: "A1".into(),
            lead: Some("U0LEAD"),
            resolved_reaction: "white_check_mark",
        }
    }

    fn due_events(events: &[Lifecycle]) -> usize {
        events
            .iter()
            .filter(|e| matches!(e.kind, LifecycleKind::UpdateDue { .. }))
            .count()
    }

    #[test]
    fn a_promotion_invites_its_severitys_stakeholder_groups_each_person_once() {
        let mut desk = desk();
        let sw = swarm(&desk);
        // Before Slack says who is in the groups, the preview says so and nobody extra
        // is invited.
        assert_eq!(
            stakeholder_groups(&desk, &sw, Urgency::Sev1),
            [("legal".to_string(), None), ("comms".to_string(), None)]
        );
        assert!(Promotion::proposed(&desk, &sw).stakeholders.is_empty());
        let group = |handle: &str, members: &[&str]| Input::Group {
            handle: handle.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
        };
        desk.apply(
            group("legal", &["U0REQ1", "U0L1", "U0L2"]),
            Ts::from_secs(1_001),
        );
        desk.apply(group("comms", &["U0L2", "U0C1"]), Ts::from_secs(1_001));
        let plan = Promotion::proposed(&desk, &sw);
        assert_eq!(plan.stakeholders, ["U0REQ1", "U0L1", "U0L2", "U0C1"]);
        let groups = stakeholder_groups(&desk, &sw, Urgency::Sev1);
        let sizes: Vec<(String, usize)> = groups
            .into_iter()
            .map(|(g, m)| (g, m.map_or(0, |m| m.len())))
            .collect();
        assert_eq!(sizes, [("legal".into(), 3), ("comms".into(), 2)]);
        let a = mover().promote(&sw, &plan);
        let invites: Vec<&Vec<String>> = a
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Invite { users } => Some(users),
                _ => None,
            })
            .collect();
        // One Invite step: the requester (in legal too) and the lead once each.
        assert_eq!(
            invites,
            [&vec![
                "U0REQ1".to_string(),
                "U0LEAD".into(),
                "U0L1".into(),
                "U0L2".into(),
                "U0C1".into()
            ]]
        );
        // Another severity, other groups: a Sev3 invites no stakeholders.
        assert!(
            Promotion::with_urgency(&desk, &sw, Urgency::Sev3, false)
                .stakeholders
                .is_empty()
        );
    }

    #[test]
    fn a_status_update_goes_to_the_incident_channel_then_marks_the_thread() {
        let mut desk = desk();
        promote(&mut desk, 1_100);
        let draft = UpdateDraft {
            status: "Mitigated,\nmonitoring".into(),
            impact: "EU customers saw 502s".into(),
            next: String::new(),
            next_update_at: Some(Ts::from_secs(1_700_000_000)),
        };
        let a = mover().status_update(&swarm(&desk), &draft);
        let [
            Step::Post {
                to: Target::Incident,
                text,
                meta: Meta::Note(note),
            },
            Step::Post {
                to: Target::Thread,
                text: line,
                meta: Meta::Marker(marker),
            },
        ] = a.steps.as_slice()
        else {
            panic!("the update, then the thread line: {:?}", a.steps)
        };
        assert_eq!(note, "status_update");
        assert!(
            text.starts_with("*Status update · case 27343* (Sev1)"),
            "{text}"
        );
        assert!(text.contains("*Status:* Mitigated, monitoring"), "{text}");
        assert!(text.contains("*Impact:* EU customers saw 502s"), "{text}");
        assert!(
            !text.contains("What's next"),
            "an empty part is left out: {text}"
        );
        assert!(text.contains("*Next update:* <!date^1700000000^"), "{text}");
        assert!(
            line.contains("{incident}") && line.contains("next update"),
            "{line}"
        );
        assert_eq!(
            *marker,
            MarkerKind::StatusUpdate {
                status: "Mitigated, monitoring".into(),
                next_update_at: Some(Ts::from_secs(1_700_000_000)),
            }
        );
        assert_eq!(
            a.incident,
            Some(("C0INC".into(), "support-api-sev1-27343".into()))
        );
    }

    #[test]
    fn the_cadence_flags_update_due_once_per_interval() {
        let mut desk = desk();
        let sla = desk.pod(POD).unwrap().sla.clone();
        // Not promoted: no cadence.
        assert_eq!(due_events(&desk.tick(Ts::from_secs(1_000 + 60 * MIN))), 0);
        assert_eq!(swarm(&desk).update_due_at(&sla), None);
        promote(&mut desk, 1_100);
        let at = |secs: i64| Ts::from_secs(1_100 + secs);
        assert!(!swarm(&desk).update_due(&sla, at(30 * MIN - 1)));
        assert_eq!(due_events(&desk.tick(at(30 * MIN - 1))), 0);
        assert!(swarm(&desk).update_due(&sla, at(30 * MIN)));
        let events = desk.tick(at(30 * MIN));
        assert_eq!(due_events(&events), 1, "{events:?}");
        assert_eq!(
            events
                .iter()
                .find(|e| e.kind.name() == "update_due")
                .unwrap()
                .at,
            at(30 * MIN)
        );
        assert_eq!(due_events(&desk.tick(at(45 * MIN))), 0, "rings once");

        // An update starts a new interval; its marker is the swarm's last update.
        let posted = update(&mut desk, 1_100 + 50 * MIN, "monitoring", None);
        assert!(posted.iter().any(|e| e.kind.name() == "status_update"));
        let sw = swarm(&desk);
        let last = sw.last_update.as_ref().unwrap();
        assert_eq!(
            (last.status.as_str(), last.at),
            ("monitoring", at(50 * MIN))
        );
        assert_eq!(last.lead.as_deref(), Some("U0LEAD"));
        assert!(!sw.update_due(&sla, at(79 * MIN)));
        assert_eq!(due_events(&desk.tick(at(80 * MIN))), 1);
        assert_eq!(due_events(&desk.tick(at(90 * MIN))), 0);

        // A promised time wins over the cadence.
        update(
            &mut desk,
            1_100 + 95 * MIN,
            "rolled back",
            Some(1_100 + 100 * MIN),
        );
        assert_eq!(swarm(&desk).update_due_at(&sla), Some(at(100 * MIN)));
        assert_eq!(due_events(&desk.tick(at(100 * MIN))), 1);

        // Resolved: nothing is due.
        mark(
            &mut desk,
            1_100 + 101 * MIN,
            MarkerKind::Resolved {
                resolution: "fixed".into(),
            },
        );
        assert_eq!(swarm(&desk).update_due_at(&sla), None);
    }

    #[test]
    fn no_cadence_for_the_severity_and_no_promise_means_nothing_is_due() {
        let mut pod = Pod::discovered(POD, "swarm-api");
        pod.sla.update_every[1] = Some(2 * 3600);
        let mut desk = Desk::new(DeskConfig::default(), [pod]);
        let text = "Case: 1\nUrgency: Sev 1\nSubject: s";
        desk.apply(
            Input::Message(msg(1_000, None, text, None)),
            Ts::from_secs(1_000),
        );
        promote(&mut desk, 1_100);
        let sla = desk.pod(POD).unwrap().sla.clone();
        assert_eq!(swarm(&desk).update_due_at(&sla), None);
        assert_eq!(due_events(&desk.tick(Ts::from_secs(1_000_000))), 0);
    }

    #[test]
    fn the_handoff_gives_incidents_their_last_update() {
        let mut desk = desk();
        promote(&mut desk, 1_100);
        let now = Ts::from_secs(1_100 + 20 * MIN);
        let text = handoff_text(&desk, Some("U0LEAD"), now);
        assert!(text.contains("no stakeholder update yet"), "{text}");
        update(&mut desk, 1_100 + 5 * MIN, "Mitigated, monitoring", None);
        let text = handoff_text(&desk, Some("U0LEAD"), now);
        assert!(
            text.contains("<#C0INC> · last update 15m ago: Mitigated, monitoring"),
            "{text}"
        );
    }
}
