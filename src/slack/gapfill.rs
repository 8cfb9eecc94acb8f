//! Gap fill: after any moment the sockets may have missed events (a reconnect, an
//! outage, a silent socket), read what history holds since then, most urgent first
//! (followed threads, then channels with the newest activity), within the rate budget.
//! What comes back is deduplicated against what arrived live, so each message is
//! passed on once. Live events keep flowing meanwhile: this runs in its own task.

use super::seen::{Seen, ts_micros};
use super::web::{SlackError, WebClient};
use super::wire::{Event, FillPage, Message, MessagePage};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Threads re-read at most per gap fill (the most recently active first).
const MAX_THREADS_PER_FILL: usize = 200;
/// Threads quiet for longer than this are not re-read on their own.
const THREAD_HORIZON: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug)]
pub(crate) enum Found {
    Event(Event),
    /// A fill that began at this wall-clock time (seconds) finished: with what it
    /// passed on before this, history up to then is complete.
    Covered(f64),
}

/// How far history is known complete, and whether live events can be trusted to have
/// kept it so. While other consumers take part of the stream (a split), or before the
/// first fill finished, live events prove nothing: the next fill reads again from the
/// last finished one, not from where the gap seemed to start.
#[derive(Debug, Default)]
pub(crate) struct Coverage {
    split: bool,
    /// Split at some moment since the last finished fill began.
    split_since_fill: bool,
    /// When the last finished fill began (wall-clock seconds).
    last_fill: Option<f64>,
}

impl Coverage {
    /// Where a fill asked to read from `asked` must start.
    pub(crate) fn start(&self, asked: f64) -> f64 {
        match self.last_fill {
            Some(filled) if self.split_since_fill => asked.min(filled),
            _ => asked,
        }
    }

    /// A fill that began at `began` finished.
    pub(crate) fn filled(&mut self, began: f64) {
        self.last_fill = Some(began);
        self.split_since_fill = self.split;
    }

    pub(crate) fn set_split(&mut self, split: bool) {
        self.split = split;
        self.split_since_fill |= split;
    }

    /// Split now, or at some moment since the last finished fill: live events (and the
    /// team bus, which only has what its publishers got) may lack part of the span.
    pub(crate) fn was_split(&self) -> bool {
        self.split || self.split_since_fill
    }

    /// Something besides a split kept events from this process (the team bus lost
    /// them): the next fill reads from the last finished one.
    pub(crate) fn missed(&mut self) {
        self.split_since_fill = true;
    }

    /// Where to read from to catch up on what was missed since the last finished fill,
    /// if anything may have been.
    pub(crate) fn since_last_fill(&self) -> Option<f64> {
        self.was_split()
            .then(|| self.last_fill.unwrap_or(f64::NEG_INFINITY))
    }

    /// Where to read from to catch up on what a split hid, if split.
    pub(crate) fn catch_up(&self) -> Option<f64> {
        self.split
            .then(|| self.last_fill.unwrap_or(f64::NEG_INFINITY))
    }
}

enum Request {
    /// Read everything since this wall-clock time (seconds; -inf: the first start).
    Since(f64),
    /// Is the workspace busier than the sockets say? Answer on the sender if so.
    Probe(mpsc::UnboundedSender<()>),
}

pub(crate) struct Filler {
    requests: mpsc::UnboundedSender<Request>,
}

struct Ctx {
    web: Arc<WebClient>,
    channels: Vec<String>,
    seen: Arc<Mutex<Seen>>,
    coverage: Arc<Mutex<Coverage>>,
    out: mpsc::UnboundedSender<Found>,
    initial_lookback: Duration,
    margin: Duration,
    started: f64,
    covered: Option<Arc<dyn super::Covered>>,
    complete_through: Option<i64>,
}

/// How far fills read: the first one back `initial_lookback`, the others from a gap's
/// start less `margin`; spans `covered` holds are not read at all.
pub(crate) struct Reach {
    pub initial_lookback: Duration,
    pub margin: Duration,
    pub covered: Option<Arc<dyn super::Covered>>,
    /// Where a previous run's history was complete, every channel's (µs).
    pub complete_through: Option<i64>,
}

impl Filler {
    pub(crate) fn start(
        web: Arc<WebClient>,
        channels: Vec<String>,
        (seen, coverage): (Arc<Mutex<Seen>>, Arc<Mutex<Coverage>>),
        out: mpsc::UnboundedSender<Found>,
        reach: Reach,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let ctx = Ctx {
            web,
            channels,
            seen,
            coverage,
            out,
            initial_lookback: reach.initial_lookback,
            margin: reach.margin,
            started: wall_now(),
            covered: reach.covered,
            complete_through: reach.complete_through,
        };
        tokio::spawn(run(ctx, rx, tx.clone()));
        Self { requests: tx }
    }

    pub(crate) fn request(&self, since: f64) {
        let _ = self.requests.send(Request::Since(since));
    }

    pub(crate) fn probe(&self, busy: mpsc::UnboundedSender<()>) {
        let _ = self.requests.send(Request::Probe(busy));
    }
}

async fn run(
    ctx: Ctx,
    mut rx: mpsc::UnboundedReceiver<Request>,
    again: mpsc::UnboundedSender<Request>,
) {
    while let Some(first) = rx.recv().await {
        // Requests that queued up while the last fill ran become one fill.
        let mut since: Option<f64> = None;
        let mut probes = Vec::new();
        let mut take = |r: Request| match r {
            Request::Since(s) => since = Some(since.map_or(s, |old: f64| old.min(s))),
            Request::Probe(tx) => probes.push(tx),
        };
        take(first);
        while let Ok(r) = rx.try_recv() {
            take(r);
        }
        for busy in probes {
            match probe(&ctx).await {
                Ok(true) => {
                    let _ = busy.send(());
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not check whether the workspace is busy")
                }
            }
        }
        if let Some(asked) = since {
            let since = lock(&ctx.coverage).start(asked);
            let began = wall_now();
            if bus_covered(&ctx, since, began).await {
                tracing::info!(since, "the team bus holds this span: no history read");
                lock(&ctx.coverage).filled(began);
                let _ = ctx.out.send(Found::Covered(began));
                continue;
            }
            tracing::info!(since, asked, "gap fill starting");
            let started = Instant::now();
            match fill(&ctx, since).await {
                Ok(filled) => {
                    // Unreadable messages were logged one by one; reading them again
                    // would not make them readable, so the fill is done all the same.
                    tracing::info!(count = filled.passed_on, unreadable = filled.unreadable, took = ?started.elapsed(), "gap fill done");
                    lock(&ctx.coverage).filled(began);
                    let _ = ctx.out.send(Found::Covered(began));
                }
                Err(e) => {
                    // Try again later from the same point; dedupe makes overlap harmless.
                    tracing::warn!(error = %e, "gap fill incomplete; will retry");
                    let again = again.clone();
                    let wait =
                        Duration::from_secs(5).div_f64(ctx.web.policy().time_scale.max(1e-9));
                    tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        let _ = again.send(Request::Since(since));
                    });
                }
            }
        }
    }
}

/// How long a fill waits for the team bus to be read before it decides.
const BUS_WAIT: Duration = Duration::from_secs(10);

/// Whether the team bus holds everything from `since` (or, at the first start, from
/// where each channel's history resumes) up to `now`. The bus is read first: a restart
/// catches up from it in seconds where Slack's history would take minutes.
async fn bus_covered(ctx: &Ctx, since: f64, now: f64) -> bool {
    let Some(covered) = &ctx.covered else {
        return false;
    };
    // Another consumer took part of the stream: the bus lacks what it got.
    if lock(&ctx.coverage).was_split() {
        return false;
    }
    let mut caught_up = covered.caught_up();
    let _ = tokio::time::timeout(BUS_WAIT, caught_up.wait_for(|up| *up)).await;
    // No margin here: coverage is about when events arrived, and whatever arrived
    // since then (whatever its ts) is in the stream.
    let from = if since.is_finite() {
        since
    } else if let Some(complete) = ctx.complete_through {
        // The store was complete for every channel up to there (a quiet channel's newest
        // message, where its own history resumes, may be days older).
        complete as f64 / 1e6
    } else {
        let seen = lock(&ctx.seen);
        // Every channel must resume somewhere: one never read is read from Slack.
        let resumed: Vec<u64> = ctx
            .channels
            .iter()
            .filter_map(|c| seen.resume_from.get(c).copied())
            .collect();
        if resumed.len() < ctx.channels.len() {
            return false;
        }
        resumed.into_iter().min().map_or(now, |us| us as f64 / 1e6)
    };
    covered.covers(from, now)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a fill, or part of one, found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Filled {
    /// Messages passed on (dedupe against live events comes after).
    passed_on: usize,
    /// Messages that would not decode, skipped.
    unreadable: usize,
}

impl std::ops::AddAssign for Filled {
    fn add_assign(&mut self, other: Filled) {
        self.passed_on += other.passed_on;
        self.unreadable += other.unreadable;
    }
}

/// Reads history since `since` (wall-clock seconds) and passes on what it finds.
async fn fill(ctx: &Ctx, since: f64) -> Result<Filled, SlackError> {
    let from = if since.is_finite() {
        since - ctx.margin.as_secs_f64()
    } else {
        wall_now() - ctx.initial_lookback.as_secs_f64()
    };
    let from_us = (from.max(0.0) * 1e6) as u64;
    let margin_us = ctx.margin.as_micros() as u64;
    // The first fill after a restart resumes where the store left each channel, rather
    // than re-reading the whole lookback (history reads are scarce).
    let first = !since.is_finite();
    let (mut threads, high_water, resumed) = {
        let seen = ctx.seen.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mut threads: Vec<_> = seen
            .threads
            .values()
            .filter(|t| {
                ctx.channels.contains(&t.channel)
                    && now.duration_since(t.last_seen) < THREAD_HORIZON
            })
            .cloned()
            .collect();
        threads.sort_by_key(|t| std::cmp::Reverse(t.last_seen));
        threads.truncate(MAX_THREADS_PER_FILL);
        let high_water: Vec<(String, Option<u64>)> = ctx
            .channels
            .iter()
            .map(|c| (c.clone(), seen.high_water.get(c).copied()))
            .collect();
        let resumed: std::collections::HashMap<String, u64> = if first {
            seen.resume_from
                .iter()
                .map(|(c, from)| (c.clone(), from.saturating_sub(margin_us)))
                .collect()
        } else {
            Default::default()
        };
        (threads, high_water, resumed)
    };
    let mut filled = Filled::default();
    let mut done_threads = BTreeSet::new();

    // 1. Channels, the most recently active first: new requests matter most, and
    // the channel history names the threads with new replies.
    let mut channels = high_water;
    channels.sort_by_key(|(_, hw)| std::cmp::Reverse(*hw));
    let mut new_threads = Vec::new();
    // Threads whose parent the history listed: its `latest_reply` says whether they
    // need reading, so following them costs no call of their own.
    let mut listed = BTreeSet::new();
    for (channel, hw) in channels {
        let oldest = match resumed.get(&channel) {
            Some(&r) => r,
            None => hw.map_or(from_us, |h| h.min(from_us)),
        };
        let (mut messages, unreadable) =
            read_pages(ctx, "conversations.history", &channel, None, oldest).await?;
        filled.unreadable += unreadable;
        messages.sort_by_key(|m| m.ts.as_deref().and_then(ts_micros));
        for m in &messages {
            if let Some(ts) = &m.ts {
                listed.insert((channel.clone(), ts.clone()));
            }
            let has_new_replies = m.reply_count.unwrap_or(0) > 0
                // No latest_reply: cannot tell, so read it.
                && m.latest_reply
                    .as_deref()
                    .and_then(ts_micros)
                    .is_none_or(|l| l > oldest);
            if let Some(ts) = m.ts.clone().filter(|_| has_new_replies) {
                new_threads.push((channel.clone(), ts, oldest));
            }
        }
        filled.passed_on += pass_on(ctx, &channel, messages);
    }

    // 2. Threads being followed: their replies since the gap.
    for t in threads.drain(..) {
        if listed.contains(&(t.channel.clone(), t.thread_ts.clone())) {
            continue;
        }
        let oldest = match resumed.get(&t.channel) {
            Some(&r) => r,
            None => t.last_ts.min(from_us),
        };
        filled += read_thread(ctx, &t.channel, &t.thread_ts, oldest).await?;
        done_threads.insert((t.channel, t.thread_ts));
    }

    // 3. Threads that history shows have replies since the gap.
    for (channel, thread_ts, oldest) in new_threads {
        if done_threads.insert((channel.clone(), thread_ts.clone())) {
            filled += read_thread(ctx, &channel, &thread_ts, oldest).await?;
        }
    }
    Ok(filled)
}

async fn read_thread(
    ctx: &Ctx,
    channel: &str,
    thread_ts: &str,
    oldest: u64,
) -> Result<Filled, SlackError> {
    let (mut messages, unreadable) = match read_pages(
        ctx,
        "conversations.replies",
        channel,
        Some(thread_ts),
        oldest,
    )
    .await
    {
        Ok(m) => m,
        // A thread deleted since: nothing to read.
        Err(SlackError::Api { error, .. }) if error == "thread_not_found" => {
            return Ok(Filled::default());
        }
        Err(e) => return Err(e),
    };
    messages.retain(|m| {
        m.ts.as_deref()
            .and_then(ts_micros)
            .is_some_and(|t| t > oldest)
    });
    messages.sort_by_key(|m| m.ts.as_deref().and_then(ts_micros));
    Ok(Filled {
        passed_on: pass_on(ctx, channel, messages),
        unreadable,
    })
}

/// Every page of conversations.history or conversations.replies since `oldest` (µs),
/// and how many of its messages were unreadable (each logged with its channel and ts).
async fn read_pages(
    ctx: &Ctx,
    method: &str,
    channel: &str,
    thread_ts: Option<&str>,
    oldest: u64,
) -> Result<(Vec<Message>, usize), SlackError> {
    let mut params = vec![
        ("channel", channel.to_string()),
        (
            "oldest",
            format!("{}.{:06}", oldest / 1_000_000, oldest % 1_000_000),
        ),
        ("limit", "200".to_string()),
        ("include_all_metadata", "true".to_string()),
    ];
    if let Some(ts) = thread_ts {
        params.push(("ts", ts.to_string()));
    }
    let mut messages = Vec::new();
    let mut unreadable = 0;
    for item in ctx.web.pages::<FillPage>(method, &params).await? {
        match item {
            Ok(m) => messages.push(m),
            Err(why) => {
                unreadable += 1;
                tracing::warn!(
                    method,
                    channel,
                    ts = why.ts,
                    thread_ts,
                    reason = why.reason,
                    "skipped a message that could not be read"
                );
            }
        }
    }
    tracing::debug!(
        method,
        channel,
        got = messages.len(),
        unreadable,
        "history read"
    );
    Ok((messages, unreadable))
}

fn pass_on(ctx: &Ctx, channel: &str, messages: Vec<Message>) -> usize {
    let mut n = 0;
    for mut m in messages {
        m.channel = Some(channel.to_string());
        if ctx
            .out
            .send(Found::Event(Event::Message(Box::new(m))))
            .is_ok()
        {
            n += 1;
        }
    }
    n
}

/// One history call on the most active channel: does it hold a message newer than any
/// the sockets brought?
async fn probe(ctx: &Ctx) -> Result<bool, SlackError> {
    let (channel, hw) = {
        let seen = ctx.seen.lock().unwrap_or_else(|e| e.into_inner());
        let best = ctx
            .channels
            .iter()
            .map(|c| (c.clone(), seen.high_water.get(c).copied()))
            .max_by_key(|(_, hw)| *hw);
        match best {
            Some(b) => b,
            None => return Ok(false),
        }
    };
    let params = [("channel", channel.clone()), ("limit", "1".to_string())];
    let page: MessagePage = ctx.web.call("conversations.history", &params).await?;
    let floor = hw.unwrap_or((ctx.started * 1e6) as u64);
    let seen = ctx.seen.lock().unwrap_or_else(|e| e.into_inner());
    Ok(page.messages.iter().any(|m| {
        m.ts.as_deref()
            .and_then(ts_micros)
            .is_some_and(|ts| ts > floor && !seen.knows_message(&channel, ts))
    }))
}

fn wall_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod coverage_tests {
    use super::Coverage;

    #[test]
    fn alone_a_fill_starts_where_the_gap_began() {
        let mut c = Coverage::default();
        assert_eq!(c.start(f64::NEG_INFINITY), f64::NEG_INFINITY, "first start");
        c.filled(100.0);
        assert_eq!(c.start(500.0), 500.0, "live events covered 100..500");
        assert_eq!(c.catch_up(), None);
    }

    #[test]
    fn while_split_live_events_are_no_coverage() {
        let mut c = Coverage::default();
        c.filled(100.0);
        c.set_split(true);
        assert_eq!(c.start(500.0), 100.0, "back to the last finished fill");
        assert_eq!(c.catch_up(), Some(100.0));
        // A fill while split covers up to when it began, and no further.
        c.filled(600.0);
        assert_eq!(c.start(900.0), 600.0);
        // Alone again: the fill after the split ended still reads the split's part.
        c.set_split(false);
        assert_eq!(c.start(900.0), 600.0);
        assert_eq!(c.catch_up(), None);
        c.filled(1000.0);
        assert_eq!(c.start(1200.0), 1200.0, "live events count again");
    }

    #[test]
    fn events_lost_elsewhere_are_read_again_from_the_last_fill() {
        let mut c = Coverage::default();
        c.filled(100.0);
        assert_eq!(c.since_last_fill(), None, "nothing missed");
        c.missed();
        assert_eq!(c.since_last_fill(), Some(100.0));
        assert_eq!(c.start(500.0), 100.0);
        assert!(
            c.was_split(),
            "no span counts as the bus's until a fill read it"
        );
        c.filled(600.0);
        assert_eq!(c.since_last_fill(), None);
    }

    #[test]
    fn a_split_before_any_fill_finished_reads_the_whole_lookback() {
        let mut c = Coverage::default();
        c.set_split(true);
        assert_eq!(c.catch_up(), Some(f64::NEG_INFINITY));
        assert_eq!(
            c.start(500.0),
            500.0,
            "no fill yet: the first one is pending"
        );
    }
}

#[cfg(test)]
mod fill_tests {
    use super::*;
    use crate::slack::web::fake;

    /// A fill over one channel of the fake Slack, whose history answers `page`.
    async fn fill_with(page: &'static str) -> (Result<Filled, SlackError>, Vec<Found>) {
        let web = fake::slack(move |_, _| page.to_string()).await;
        let (out, mut found) = mpsc::unbounded_channel();
        let ctx = Ctx {
            web: Arc::new(web),
            channels: vec!["C1".into()],
            seen: Arc::new(Mutex::new(Seen::new(Duration::from_secs(60)))),
            coverage: Arc::default(),
            out,
            initial_lookback: Duration::from_secs(60),
            margin: Duration::from_secs(5),
            started: wall_now(),
            covered: None,
            complete_through: None,
        };
        let filled = fill(&ctx, wall_now() - 30.0).await;
        drop(ctx);
        let mut passed = Vec::new();
        while let Some(f) = found.recv().await {
            passed.push(f);
        }
        (filled, passed)
    }

    #[tokio::test]
    async fn an_unreadable_message_is_counted_and_the_fill_finishes() {
        let (filled, passed) = fill_with(
            r#"{"ok":true,"messages":[
                {"type":"message","ts":"3.0","text":"third"},
                {"type":"message","ts":2,"text":"no string ts"},
                {"type":"message","ts":"1.0","text":"first \ud83d"}
            ],"has_more":false}"#,
        )
        .await;
        assert_eq!(
            filled.expect("the fill finishes"),
            Filled {
                passed_on: 2,
                unreadable: 1
            }
        );
        let texts: Vec<String> = passed
            .iter()
            .filter_map(|f| match f {
                Found::Event(Event::Message(m)) => Some(m.text.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["first \u{fffd}", "third"], "oldest first");
    }

    #[tokio::test]
    async fn a_page_that_is_no_json_still_fails_the_fill_to_be_retried() {
        let (filled, passed) = fill_with(r#"{"ok":true,"messages":[{"ts":"1.0""#).await;
        assert!(
            matches!(filled, Err(SlackError::Decode { .. })),
            "{filled:?}"
        );
        assert!(passed.is_empty());
    }
}
