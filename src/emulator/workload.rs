//! The live workload: swarm requests shaped like Workflow Builder posts, then the thread
//! activity a real pod sees (expert replies, waiting on the customer, resolutions,
//! escalations), at plausible delays. One `--seed`, one stream.

use super::Shared;
use super::clock::Clock;
use super::methods::block_id;
use super::rng::{Rng, Stream};
use super::seed::{self, PODS, WORKFLOW_BOT_ID};
use super::wire::rich_text;
use super::world::{Edit, Post, Ts, World};
use serde_json::{Value, json};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SUBJECTS: [(&str, &[&str]); 4] = [
    (
        "api",
        &[
            "Webhooks delayed by 10+ minutes for EU customers",
            "OAuth token refresh returns invalid_grant intermittently",
            "429s on /v2/orders well under the documented limit",
            "GraphQL pagination skips records after cursor reset",
            "SSO login loop after IdP certificate rotation",
            "API p99 latency doubled since Tuesday's release",
        ],
    ),
    (
        "billing",
        &[
            "Customer charged twice for annual renewal",
            "VAT missing on invoices for German entity",
            "Proration credit not applied after downgrade",
            "Refund stuck in pending for 9 days",
            "Dunning emails sent to a paid-up account",
            "Card payments declined with generic do_not_honor",
        ],
    ),
    (
        "mobile",
        &[
            "iOS app crashes on launch after 8.4 update",
            "Push notifications not delivered on Android 15",
            "Offline edits lost after reconnect",
            "Deep links open the store instead of the app",
            "SSO sign-in spins forever on iPad",
            "Battery drain reports after background sync change",
        ],
    ),
    (
        "data",
        &[
            "Nightly export missing rows for one tenant",
            "Warehouse sync lagging 6 hours behind",
            "GDPR deletion request not reflected in exports",
            "Dashboard totals disagree with the CSV export",
            "ETL job fails with schema drift on custom fields",
            "Query timeouts on the reporting replica",
        ],
    ),
];

const TROUBLESHOOTING: [&str; 5] = [
    "Reproduced on a test account; cleared caches; checked the status page (green).",
    "Collected HAR file and request IDs; customer tried a second browser.",
    "Checked logs for the last 24h; no matching errors on our side that I can see.",
    "Confirmed the account config matches the docs; escalation template filled in.",
    "Customer restarted and re-authenticated; issue persists for multiple users.",
];

/// Urgency as agents type it: the parser must take them all.
const URGENCIES: [(&str, f64); 10] = [
    ("Sev 1", 0.04),
    ("P1", 0.02),
    ("Sev 2", 0.12),
    ("High", 0.08),
    ("Sev 3", 0.30),
    ("Medium", 0.12),
    ("Normal", 0.08),
    ("Sev 4", 0.14),
    ("Low", 0.08),
    ("S2", 0.02),
];

const FIRST_LOOKS: [&str; 4] = [
    "Looking at this now. Can you share two request IDs from the failing calls?",
    "On it. Is this every user on the account or only some?",
    "Taking a look — do we know when it started? Any change on their side?",
    "I've seen this before; checking whether it matches a known issue.",
];

const REQUESTER_FOLLOW_UPS: [&str; 4] = [
    "Customer sent the IDs, attached to the case.",
    "Only users in the EU region, started yesterday around 14:00 UTC.",
    "Any update? The customer is asking for an ETA.",
    "They confirmed nothing changed on their side.",
];

const WAITING: [&str; 3] = [
    "Asked the customer for a fresh HAR capture; waiting on them.",
    "Need the customer to confirm the account ID; waiting on customer.",
    "Sent a workaround to test; waiting to hear back from the customer.",
];

const RESOLUTIONS: [&str; 4] = [
    "Root cause: stale cache entry on the regional edge; purged and confirmed fixed.",
    "Config mismatch on the account; corrected and the customer confirmed.",
    "Known issue, fix shipped in today's release; customer verified.",
    "Misconfigured retry policy on the customer side; documented the right settings.",
];

/// How many new requests an expert claims with `eyes`, and how soon (Slack seconds).
const CLAIMED: f64 = 0.2;
const CLAIM_AFTER: (u64, u64) = (10, 30);

#[derive(Clone, Debug)]
enum Step {
    /// A new swarm request in some pod; schedules the next one.
    Request,
    Reply {
        swarm: usize,
        author: String,
        text: String,
    },
    Resolve {
        swarm: usize,
    },
    Escalate {
        swarm: usize,
    },
    /// The swarm's expert puts `eyes` on the request: "I'm on it", before a word.
    Claim {
        swarm: usize,
    },
}

#[derive(Clone, Debug)]
struct Swarm {
    channel: &'static str,
    ts: Option<Ts>,
    case: u32,
    subject: &'static str,
    requester: String,
    expert: String,
}

/// The workload's schedule, in Slack seconds since it started. Fully determined by the seed.
pub(crate) struct Plan {
    rng: Rng,
    /// Claims draw from their own stream, so that they shift nothing else a seed gives.
    claims: Rng,
    mean_gap: f64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    steps: Vec<Option<Step>>,
    swarms: Vec<Swarm>,
    next_case: u32,
}

impl Plan {
    pub(crate) fn new(seed: u64, rate_per_minute: f64) -> Self {
        let mut rng = Rng::new(seed, Stream::Workload);
        let next_case = 27_000 + rng.range(0, 2_000) as u32;
        let mut plan = Self {
            rng,
            claims: Rng::new(seed, Stream::Claims),
            mean_gap: 60.0 / rate_per_minute.max(1e-6),
            queue: BinaryHeap::new(),
            steps: Vec::new(),
            swarms: Vec::new(),
            next_case,
        };
        plan.schedule(1.0, Step::Request);
        plan
    }

    fn schedule(&mut self, at_secs: f64, step: Step) {
        let id = self.steps.len() as u64;
        self.steps.push(Some(step));
        self.queue.push(Reverse(((at_secs * 1000.0) as u64, id)));
    }

    /// When the next step is due (Slack seconds since start).
    pub(crate) fn next_due(&self) -> f64 {
        self.queue
            .peek()
            .map_or(f64::INFINITY, |Reverse((ms, _))| *ms as f64 / 1000.0)
    }

    /// Performs the next step on the workspace and returns the events it caused.
    pub(crate) fn step(&mut self, world: &mut World, clock: &Clock) -> Vec<Value> {
        let Some(Reverse((ms, id))) = self.queue.pop() else {
            return Vec::new();
        };
        let now = ms as f64 / 1000.0;
        let step = self.steps[id as usize].take().expect("each step runs once");
        match step {
            Step::Request => {
                let gap = self.rng.exponential(self.mean_gap);
                self.schedule(now + gap, Step::Request);
                self.open_swarm(now, world, clock)
            }
            Step::Reply {
                swarm,
                author,
                text,
            } => self.reply(world, clock, swarm, &author, &text),
            Step::Resolve { swarm } => {
                let s = self.swarms[swarm].clone();
                let text = format!("Resolved: {}", self.rng.pick(&RESOLUTIONS));
                let mut events = self.reply(world, clock, swarm, &s.expert, &text);
                if let (Some(ts), Ok(idx)) = (s.ts, world.find_channel(s.channel))
                    && let Ok(e) = world.react(
                        idx,
                        ts,
                        "white_check_mark",
                        &s.requester,
                        true,
                        clock.next_ts(),
                    )
                {
                    events.push(e);
                }
                events
            }
            Step::Claim { swarm } => {
                let s = &self.swarms[swarm];
                let (Some(ts), Ok(idx)) = (s.ts, world.find_channel(s.channel)) else {
                    return Vec::new();
                };
                world
                    .react(idx, ts, "eyes", &s.expert, true, clock.next_ts())
                    .map(|e| vec![e])
                    .unwrap_or_default()
            }
            Step::Escalate { swarm } => {
                let s = self.swarms[swarm].clone();
                let text = "Three more customers reporting the same thing — this looks like an incident, raising to Sev 1.";
                let mut events = self.reply(world, clock, swarm, &s.expert, text);
                if let (Some(ts), Ok(idx)) = (s.ts, world.find_channel(s.channel)) {
                    let (text, blocks) =
                        request_body(s.case, "Sev 1", s.subject, TROUBLESHOOTING[0], &s.requester);
                    let edit = Edit {
                        text: Some(text),
                        blocks: Some(blocks),
                        metadata: None,
                    };
                    if let Ok(e) = world.update(idx, ts, edit, WORKFLOW_BOT_ID, clock.next_ts()) {
                        events.push(e);
                    }
                }
                events
            }
        }
    }

    fn open_swarm(&mut self, now: f64, world: &mut World, clock: &Clock) -> Vec<Value> {
        let (channel, _, product, ..) = *self.rng.pick(&PODS);
        let subjects = SUBJECTS
            .iter()
            .find(|(p, _)| *p == product)
            .map(|(_, s)| *s)
            .unwrap_or(&[]);
        let subject = *self.rng.pick(subjects);
        let urgency = self.pick_urgency();
        let troubleshooting = *self.rng.pick(&TROUBLESHOOTING);
        let requester =
            seed::requester_id(self.rng.range(0, seed::requester_count() as u64) as usize);
        let experts = seed::experts_of(product);
        let expert = self.rng.pick(&experts).clone();
        let case = self.next_case;
        self.next_case += 1;
        let swarm = self.swarms.len();
        self.swarms.push(Swarm {
            channel,
            ts: None,
            case,
            subject,
            requester: requester.clone(),
            expert: expert.clone(),
        });

        // The thread's future, drawn now so that the stream depends on the seed alone.
        let first_look = now + self.rng.range(120, 900) as f64;
        if self.rng.chance(0.85) {
            let text = self.rng.pick(&FIRST_LOOKS).to_string();
            self.schedule(
                first_look,
                Step::Reply {
                    swarm,
                    author: expert.clone(),
                    text,
                },
            );
            let follow_up = first_look + self.rng.range(180, 1_200) as f64;
            let text = self.rng.pick(&REQUESTER_FOLLOW_UPS).to_string();
            self.schedule(
                follow_up,
                Step::Reply {
                    swarm,
                    author: requester.clone(),
                    text,
                },
            );
            if self.rng.chance(0.25) {
                let text = self.rng.pick(&WAITING).to_string();
                self.schedule(
                    follow_up + 300.0,
                    Step::Reply {
                        swarm,
                        author: expert.clone(),
                        text,
                    },
                );
            }
            if self.rng.chance(0.07) {
                self.schedule(follow_up + 120.0, Step::Escalate { swarm });
            } else if self.rng.chance(0.55) {
                let done = follow_up + self.rng.range(900, 5_400) as f64;
                self.schedule(done, Step::Resolve { swarm });
            }
        }

        if self.claims.chance(CLAIMED) {
            let after = self.claims.range(CLAIM_AFTER.0, CLAIM_AFTER.1 + 1) as f64;
            self.schedule(now + after, Step::Claim { swarm });
        }

        let Ok(idx) = world.find_channel(channel) else {
            return Vec::new();
        };
        // Most requests come through the workflow; some agents still type them by hand.
        let post = if self.rng.chance(0.85) {
            workflow_post(case, urgency, subject, troubleshooting, &requester)
        } else {
            let text = format!(
                "Case: {case}\nUrgency: {urgency}\nSubject: {subject}\nLink: https://support.acme.example/cases/{case}\nCan someone take a look?"
            );
            Post {
                user: Some(requester),
                blocks: Some(json!([rich_text(&text, "typed")])),
                text,
                ..Post::default()
            }
        };
        let ts = clock.next_ts();
        self.swarms[swarm].ts = Some(ts);
        world
            .post(idx, post, ts)
            .map(|e| vec![e])
            .unwrap_or_default()
    }

    fn pick_urgency(&mut self) -> &'static str {
        let mut u = self.rng.unit();
        for (label, p) in URGENCIES {
            if u < p {
                return label;
            }
            u -= p;
        }
        "Sev 3"
    }

    fn reply(
        &mut self,
        world: &mut World,
        clock: &Clock,
        swarm: usize,
        author: &str,
        text: &str,
    ) -> Vec<Value> {
        let s = &self.swarms[swarm];
        let (Some(root), Ok(idx)) = (s.ts, world.find_channel(s.channel)) else {
            return Vec::new();
        };
        let ts = clock.next_ts();
        let post = Post {
            user: Some(author.to_string()),
            text: text.to_string(),
            blocks: Some(json!([rich_text(text, &block_id(ts))])),
            thread_ts: Some(root),
            ..Post::default()
        };
        world
            .post(idx, post, ts)
            .map(|e| vec![e])
            .unwrap_or_default()
    }
}

/// A swarm request as the Workflow Builder form posts it.
pub(crate) fn workflow_post(
    case: u32,
    urgency: &str,
    subject: &str,
    troubleshooting: &str,
    requester: &str,
) -> Post {
    let (text, blocks) = request_body(case, urgency, subject, troubleshooting, requester);
    Post {
        bot_id: Some(WORKFLOW_BOT_ID.into()),
        subtype: Some("bot_message".into()),
        username: Some("Swarm Request".into()),
        text,
        blocks: Some(blocks),
        ..Post::default()
    }
}

/// The customer tier some forms carry (#22): a premier customer for one case in three,
/// by its number, so that a seed gives the same tiers every run; the rest say none.
pub(crate) fn request_tier(case: u32) -> Option<&'static str> {
    case.is_multiple_of(3).then_some("Premier")
}

/// A Workflow Builder post: mrkdwn section fields in blocks, and the text fallback.
pub(crate) fn request_body(
    case: u32,
    urgency: &str,
    subject: &str,
    troubleshooting: &str,
    requester: &str,
) -> (String, Value) {
    let link = format!("<https://support.acme.example/cases/{case}|Case {case}>");
    let tier = request_tier(case);
    let mut text = format!(
        "*New swarm request*\n*Case number:* {case}\n*Urgency:* {urgency}\n*Subject:* {subject}\n*Troubleshooting done:* {troubleshooting}\n*Case link:* {link}\n*Requested by:* <@{requester}>"
    );
    let field = |label: &str, value: &str| json!({"type": "mrkdwn", "text": format!("*{label}:*\n{value}")});
    let mut first = vec![
        field("Case number", &case.to_string()),
        field("Urgency", urgency),
    ];
    if let Some(tier) = tier {
        text.push_str(&format!("\n*Tier:* {tier}"));
        first.push(field("Tier", tier));
    }
    let blocks = json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": "*New swarm request*"}},
        {"type": "section", "fields": first},
        {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Subject:*\n{subject}")}},
        {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Troubleshooting done:*\n{troubleshooting}")}},
        {"type": "section", "fields": [field("Case link", &link), field("Requested by", &format!("<@{requester}>"))]},
    ]);
    (text, blocks)
}

/// Plays the plan against the live emulator, on its scaled clock.
pub(crate) async fn run(shared: Arc<Shared>, rate_per_minute: f64) {
    let mut plan = Plan::new(shared.config.seed, rate_per_minute);
    let start = Instant::now();
    loop {
        let due = plan.next_due();
        if !due.is_finite() {
            return;
        }
        let at = start + shared.clock.scaled(Duration::from_secs_f64(due));
        tokio::time::sleep_until(at.into()).await;
        if shared.calm.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let mut state = shared.lock();
        let state = &mut *state;
        let events = plan.step(&mut state.world, &shared.clock);
        shared.emit(state, events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(seed: u64, steps: usize) -> Vec<String> {
        let mut world = seed::workspace(seed, 0);
        let clock = Clock::new(1.0);
        let mut plan = Plan::new(seed, 6.0);
        let mut out = Vec::new();
        for _ in 0..steps {
            for e in plan.step(&mut world, &clock) {
                out.push(format!("{}|{}", e["channel"], e["text"]));
            }
        }
        out
    }

    #[test]
    fn the_stream_is_fixed_by_the_seed() {
        let a = texts(5, 60);
        assert_eq!(a, texts(5, 60));
        assert_ne!(a, texts(6, 60));
    }

    #[test]
    fn it_opens_requests_in_several_pods_with_threads_and_resolutions() {
        let mut world = seed::workspace(3, 0);
        let clock = Clock::new(1.0);
        let mut plan = Plan::new(3, 6.0);
        let mut kinds = std::collections::BTreeSet::new();
        let mut channels = std::collections::BTreeSet::new();
        let mut last_due = 0.0;
        for _ in 0..1500 {
            assert!(plan.next_due() >= last_due, "steps come in time order");
            last_due = plan.next_due();
            for e in plan.step(&mut world, &clock) {
                channels.insert(e["channel"].as_str().unwrap_or_default().to_string());
                let kind = match (
                    e["type"].as_str(),
                    e["subtype"].as_str(),
                    e["thread_ts"].is_string(),
                ) {
                    (Some("message"), Some("bot_message"), _) => "workflow request",
                    (Some("message"), Some("message_changed"), _) => "escalation edit",
                    (Some("message"), None, true) => "thread reply",
                    (Some("message"), None, false) => "typed request",
                    (Some("reaction_added"), ..) => "resolved reaction",
                    _ => "other",
                };
                kinds.insert(kind);
            }
        }
        assert!(channels.len() >= 4, "{channels:?}");
        for kind in [
            "workflow request",
            "thread reply",
            "resolved reaction",
            "typed request",
        ] {
            assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
        }
    }

    #[test]
    fn about_one_request_in_five_is_claimed_by_its_expert_within_half_a_minute() {
        let mut world = seed::workspace(4, 0);
        let clock = Clock::new(1.0);
        let mut plan = Plan::new(4, 6.0);
        let mut posted: std::collections::HashMap<String, f64> = Default::default();
        let mut claims = Vec::new();
        while posted.len() < 400 {
            let at = plan.next_due();
            for e in plan.step(&mut world, &clock) {
                let is_request = e["type"] == "message"
                    && e["thread_ts"].is_null()
                    && e["subtype"] != "message_changed";
                if is_request {
                    posted.insert(e["ts"].as_str().unwrap().to_string(), at);
                } else if e["reaction"] == "eyes" {
                    let ts = e["item"]["ts"].as_str().unwrap().to_string();
                    let expert = seed::expert_index(e["user"].as_str().unwrap());
                    assert!(expert.is_some(), "an expert claims: {e}");
                    claims.push((at - posted[&ts], ts));
                }
            }
        }
        let share = claims.len() as f64 / posted.len() as f64;
        assert!(
            (0.12..0.28).contains(&share),
            "{} claims of {}",
            claims.len(),
            posted.len()
        );
        assert!(
            claims
                .iter()
                .all(|(after, _)| (10.0..=30.0).contains(after)),
            "{claims:?}"
        );
    }

    #[test]
    fn workflow_posts_carry_every_field_in_blocks_and_text() {
        let (text, blocks) =
            request_body(27343, "Sev 1", "Login broken", "Checked logs", "U0REQ00001");
        for needle in [
            "27343",
            "Sev 1",
            "Login broken",
            "https://support.acme.example/cases/27343",
            "<@U0REQ00001>",
        ] {
            assert!(text.contains(needle), "{needle} in text");
            assert!(blocks.to_string().contains(needle), "{needle} in blocks");
        }
    }

    #[test]
    fn some_requests_carry_a_tier_that_intake_reads() {
        let rules = crate::domain::IntakeRules::default();
        let read = |case: u32| {
            let (text, blocks) =
                request_body(case, "Sev 2", "Refund stuck", "Checked", "U0REQ00001");
            let texts: Vec<String> = blocks
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|b| {
                    let fields = b["fields"].as_array().cloned().unwrap_or_default();
                    fields
                        .into_iter()
                        .chain([b["text"].clone()])
                        .filter_map(|f| f["text"].as_str().map(str::to_string))
                        .collect::<Vec<_>>()
                })
                .collect();
            rules.parse(&texts, &text).unwrap().tier
        };
        assert_eq!(read(27342).as_deref(), Some("premier"));
        assert_eq!(read(27343), None);
        let tiered = (27000..27300)
            .filter(|c| request_tier(*c).is_some())
            .count();
        assert_eq!(tiered, 100, "one in three");
    }
}
