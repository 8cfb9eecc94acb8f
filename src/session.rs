//! What the dashboard and `tail` both start with: the store, the desk it restores, a
//! connected Slack client, and the one place that records what the client delivers.

use crate::config::Settings;
use crate::domain::{Desk, Input, Ts};
use crate::slack::{self, Connected, Identity, Incoming, Resume, translate::Translator};
use crate::store::{Indexed, Store, Write, Writer};
use color_eyre::eyre::{Result, WrapErr};

pub struct Session {
    pub connected: Connected,
    pub translator: Translator,
    pub desk: Desk,
    /// Configured pod channels the bot is not in.
    pub missing: Vec<String>,
    pub store: Option<Stored>,
    /// What the stored history held (with `Replay::Events`).
    pub lifecycle: Vec<crate::domain::Lifecycle>,
}

/// The store, read and written.
pub struct Stored {
    pub store: Store,
    pub writer: Writer,
}

impl Stored {
    /// Opens the store; a store that cannot be opened costs history, not the session.
    pub fn open(settings: &Settings) -> Option<Stored> {
        let opened = Store::open(&settings.data_dir).and_then(|store| {
            let writer = Writer::spawn(&settings.data_dir)?;
            Ok(Stored { store, writer })
        });
        match opened {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "no store: nothing is kept across restarts");
                None
            }
        }
    }
}

/// The desk as the store left it, before the network is up.
pub struct Restored {
    pub identity: Identity,
    pub translator: Translator,
    pub desk: Desk,
    pub missing: Vec<String>,
    pub resume: Resume,
    /// Stored events replayed.
    pub events: usize,
    /// With `Replay::Events`, the lifecycle events the stored history holds, for a
    /// consumer to put out those it has not yet (its claims say which).
    pub lifecycle: Vec<crate::domain::Lifecycle>,
}

/// How the store is replayed into the desk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// All at once, quietly: the dashboard shows state, and rings for what is new.
    State,
    /// Input by input, keeping the lifecycle events (`tail`: a consumer must see every
    /// event, including those another process stored while it was not running).
    Events,
}

/// Rebuilds the desk from the store: `None` when the store has never been connected.
pub fn restore(
    settings: &Settings,
    store: &Store,
    now: Ts,
    replay: Replay,
) -> Result<Option<Restored>> {
    let Some(identity) = store
        .meta("identity")?
        .and_then(|j| serde_json::from_str::<Identity>(&j).ok())
    else {
        return Ok(None);
    };
    let channels: Vec<(String, String)> = store
        .channels()?
        .iter()
        .map(|(id, name)| slack::translate::channel_name(id, name))
        .collect();
    let (pods, missing) = settings.pods(&channels);
    let mut desk = Desk::new(settings.desk(), pods);
    for (id, name) in &channels {
        desk.apply(
            Input::ChannelNamed {
                id: id.clone(),
                name: name.clone(),
            },
            now,
        );
    }
    let translator = Translator::new(&identity);
    let started = std::time::Instant::now();
    let mut inputs = Vec::new();
    let mut unreadable = 0;
    let events = store.each_event(|json| match slack::record::stored(json) {
        Some(event) => inputs.extend(translator.translate(&event)),
        None => unreadable += 1,
    })?;
    if unreadable > 0 {
        tracing::warn!(
            unreadable,
            "stored events that no longer parse were skipped"
        );
    }
    let read = started.elapsed();
    let mut lifecycle = Vec::new();
    match replay {
        Replay::State => desk.restore(inputs, now),
        Replay::Events => {
            for input in inputs {
                lifecycle.extend(desk.apply(input, now));
            }
        }
    }
    let resume = Resume {
        high_water: resume_points(store)?,
        threads: desk
            .swarms()
            .filter(|s| s.is_open())
            .map(|s| (s.channel.clone(), s.thread_ts.to_string()))
            .collect(),
        event_ids: store.seen_events(now.secs() - 3_600)?,
    };
    tracing::info!(
        events,
        swarms = desk.swarms().count(),
        read_ms = read.as_secs_f64() * 1e3,
        total_ms = started.elapsed().as_secs_f64() * 1e3,
        "restored from the store"
    );
    Ok(Some(Restored {
        identity,
        translator,
        desk,
        missing,
        resume,
        events,
        lifecycle,
    }))
}

/// Connects, starting from the store when it has been connected before.
pub async fn open(settings: &Settings, now: Ts, replay: Replay) -> Result<Session> {
    let store = Stored::open(settings);
    let restored = match &store {
        Some(s) => restore(settings, &s.store, now, replay).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not read the store; starting from Slack");
            None
        }),
        None => None,
    };
    let mut config = settings.slack()?;
    if let Some(r) = &restored {
        config.resume = r.resume.clone();
    }
    let connected = slack::connect(config)
        .await
        .wrap_err_with(|| format!("could not connect to Slack at {}", settings.api_url))?;
    if let Some(s) = &store {
        remember_connection(&s.writer, &connected);
    }
    let channels: Vec<(String, String)> = connected
        .channels
        .iter()
        .map(|c| crate::slack::translate::channel_name(&c.id, &c.name))
        .collect();
    let (pods, missing) = settings.pods(&channels);
    for channel in &missing {
        tracing::warn!(channel, "a configured pod channel the bot is not in");
    }
    let (mut desk, lifecycle) = match restored {
        Some(r) => (r.desk, r.lifecycle),
        None => (Desk::new(settings.desk(), Vec::new()), Vec::new()),
    };
    for pod in pods {
        desk.add_pod(pod);
    }
    for (id, name) in channels {
        desk.apply(Input::ChannelNamed { id, name }, now);
    }
    Ok(Session {
        translator: Translator::new(&connected.identity),
        connected,
        desk,
        missing,
        store,
        lifecycle,
    })
}

/// Keeps who the bot is and which channels it is in, so a restart knows its pods offline.
pub fn remember_connection(writer: &Writer, connected: &Connected) {
    if let Ok(identity) = serde_json::to_string(&connected.identity) {
        writer.send(Write::Meta {
            key: "identity".into(),
            value: identity,
        });
    }
    for c in &connected.channels {
        writer.send(Write::Channel {
            id: c.id.clone(),
            name: c.name.clone(),
        });
    }
}

/// The meta key of the wall-clock time (µs) up to which stored history is complete.
const COVERED: &str = "covered_through";

/// Where each channel's history resumes: its newest stored message, but never past the
/// last finished gap fill. Live events overtake a fill: a run killed before its fill
/// finished has stored newer messages than the history it has read, and resuming from
/// those would skip the rest for good. No finished fill yet: read the whole lookback.
fn resume_points(store: &Store) -> Result<std::collections::HashMap<String, i64>> {
    let covered = store.meta(COVERED)?.and_then(|v| v.parse::<i64>().ok());
    let Some(covered) = covered else {
        return Ok(Default::default());
    };
    let mut points = store.high_water()?;
    for hw in points.values_mut() {
        *hw = (*hw).min(covered);
    }
    Ok(points)
}

/// Keeps how far history is complete (see [`resume_points`]): written after the
/// events that made it so, through the same writer, so it is never ahead of them.
pub fn record_covered(writer: &Writer, through_us: i64) {
    writer.send(Write::Meta {
        key: COVERED.into(),
        value: through_us.to_string(),
    });
}

/// Keeps an event the client delivered: the event as received, and its id for the
/// dedupe window.
pub fn record(writer: &Writer, incoming: &Incoming) {
    for row in slack::record::rows(incoming, chrono::Utc::now().timestamp()) {
        writer.send(row);
    }
}

/// A resolved swarm, for search: its request, its thread, its resolution, its link.
pub fn indexed(desk: &Desk, swarm: &crate::domain::Swarm, team_url: &str) -> Indexed {
    let mut body = String::new();
    for m in desk.thread(&swarm.channel, swarm.thread_ts) {
        let text = if m.block_texts.is_empty() {
            m.text.clone()
        } else {
            m.block_texts.join("\n")
        };
        if body.len() + text.len() > 20_000 {
            break;
        }
        body.push_str(&text);
        body.push('\n');
    }
    Indexed {
        channel: swarm.channel.clone(),
        thread_ts: swarm.thread_ts.0,
        resolved_at: swarm.resolved_at.unwrap_or(swarm.last_activity).secs(),
        case: swarm.case().to_string(),
        pod: swarm.pod.clone(),
        subject: swarm.request.subject.clone(),
        body,
        resolution: swarm.resolution.clone().unwrap_or_default(),
        link: permalink(team_url, &swarm.channel, swarm.thread_ts),
    }
}

/// A message's link, as Slack forms it: `<team url>archives/<channel>/p<ts without the dot>`.
pub fn permalink(team_url: &str, channel: &str, ts: Ts) -> String {
    let base = team_url.trim_end_matches('/');
    format!(
        "{base}/archives/{channel}/p{}",
        ts.to_string().replace('.', "")
    )
}

/// Removes history older than `older`, keeping open swarms' threads whatever their age.
pub fn purge(settings: &Settings, older: std::time::Duration) -> Result<crate::store::Purged> {
    let store = Store::open(&settings.data_dir)?;
    let now = Ts::from_datetime(chrono::Utc::now());
    let keep: Vec<(String, i64)> = match restore(settings, &store, now, Replay::State)? {
        Some(r) => r
            .desk
            .swarms()
            .filter(|s| s.is_open())
            .map(|s| (s.channel.clone(), s.thread_ts.0))
            .collect(),
        None => Vec::new(),
    };
    store.purge(now.secs() - older.as_secs() as i64, &keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(channel: &str, ts: &str) -> Write {
        let event: slack::wire::Event = serde_json::from_value(serde_json::json!({
            "type": "message", "channel": channel, "user": "U0REQ00001", "ts": ts, "text": "hi"
        }))
        .unwrap();
        slack::record::record(&event).unwrap()
    }

    #[test]
    fn history_resumes_at_the_last_finished_fill_not_past_it() {
        let dir = std::env::temp_dir().join(format!("swarmdeck-resume-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let writer = Writer::spawn(&dir).unwrap();
        // A live message at 2000 s overtook a fill that never finished.
        writer.send(message("C1", "1000.000000"));
        writer.send(message("C2", "2000.000000"));
        writer.flush();
        let store = Store::open(&dir).unwrap();
        assert!(
            resume_points(&store).unwrap().is_empty(),
            "no finished fill: the whole lookback is read again"
        );
        record_covered(&writer, 1_500_000_000);
        writer.flush();
        let points = resume_points(&store).unwrap();
        assert_eq!(
            points["C1"], 1_000_000_000,
            "a quiet channel: its newest message"
        );
        assert_eq!(points["C2"], 1_500_000_000, "never past the finished fill");
        drop(writer);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
