//! The session's side of the team bus ([`crate::bus`]): what Slack gives this process
//! goes out to the team, what the team received comes in through the same ingest path,
//! and the other publishers' heartbeats count as company, not as a split.

use super::{Session, Write};
use crate::bus::{Beat, Bus, BusIn};
use crate::domain::{Lifecycle, Ts};
use crate::slack::{self, Incoming};
use crate::store::Neighbour;
use std::collections::HashMap;
use tokio::sync::mpsc;

/// The meta key of the next stream sequence to read: a restart resumes there.
const BUS_SEQ: &str = "bus_seq";
/// A publisher silent this long is gone.
const PEER_STALE_SECS: f64 = 30.0;

/// The bus as configured (`[team] bus`, or `SWARMDECK_TEAM_BUS`).
pub fn target(settings: &crate::config::Settings) -> Option<crate::bus::Target> {
    let bus = settings.bus()?;
    Some(crate::bus::Target {
        url: bus.url,
        credentials: bus.credentials,
        token: bus.token.map(|t| t.secret().to_string()),
        require_tls: bus.require_tls,
        retention: bus.retention,
    })
}

pub(crate) struct Team {
    bus: Bus,
    inbox: Option<mpsc::UnboundedReceiver<BusIn>>,
    /// The other publishers, by process, as their last beat said.
    peers: HashMap<String, Beat>,
    up: bool,
    /// The last stream sequence read, and the one last written to the store.
    seq: u64,
    stored_seq: u64,
}

impl Session {
    /// Joins the team bus, once the workspace is known (it names the stream).
    pub(crate) fn start_bus(&mut self) {
        let (None, Some(target), Some(identity)) =
            (&self.team, target(&self.settings), &self.identity)
        else {
            return;
        };
        let from = self
            .store
            .as_ref()
            .and_then(|s| s.store.meta(BUS_SEQ).ok().flatten())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let origin = self
            .store
            .as_ref()
            .map_or(crate::store::this_process(), |s| s.writer.origin())
            .to_string();
        let (tx, rx) = mpsc::unbounded_channel();
        let bus = Bus::start(target, &identity.team_id, &origin, from, tx);
        self.team = Some(Team {
            bus,
            inbox: Some(rx),
            peers: HashMap::new(),
            up: false,
            seq: from.saturating_sub(1),
            stored_seq: from.saturating_sub(1),
        });
    }

    /// Leaving the team bus: the stream position is kept, what is queued goes out, and
    /// the others are told this process holds no connections any more.
    pub(crate) async fn close_bus(&mut self) {
        self.flush_position();
        if let Some(t) = self.team.take() {
            // A bus that is up gets a moment to take what is queued for it; one that is
            // down cannot, and must not hold up leaving (a terminal gone, a SIGTERM).
            let wait = if t.up { 3 } else { 0 };
            t.bus.close(std::time::Duration::from_secs(wait)).await;
        }
    }

    /// What the bus says, for the caller's loop to listen to (once).
    pub(crate) fn take_bus_inbox(&mut self) -> Option<mpsc::UnboundedReceiver<BusIn>> {
        self.team.as_mut().and_then(|t| t.inbox.take())
    }

    /// `None` without a bus; whether it is up.
    pub fn bus_up(&self) -> Option<bool> {
        self.team.as_ref().map(|t| t.up)
    }

    /// For the Slack client: spans the bus covered need no history read.
    pub(crate) fn bus_cover(&self) -> Option<std::sync::Arc<dyn slack::Covered>> {
        self.team
            .as_ref()
            .map(|t| std::sync::Arc::new(t.bus.cover()) as std::sync::Arc<dyn slack::Covered>)
    }

    /// What Slack gave this process, to the team.
    pub(super) fn publish(&self, incoming: &Incoming) {
        if let Some(t) = &self.team {
            t.bus.publish(incoming);
        }
    }

    /// This process's heartbeat on the bus: it covers the stream while connected with
    /// no consumer outside the team; then its store is complete up to now as well.
    pub(super) fn beat_bus(&mut self, connections: u32, now: Ts) {
        let Some(t) = &self.team else { return };
        let covered = t.up && connections > 0 && self.outside_bus == 0;
        let at = now.0 as f64 / 1e6;
        t.bus.beat(connections, covered, at);
        // History was complete at `covered_through`; if the stream holds everything
        // Slack delivered since, and has been read, it is complete up to now.
        let carried = covered
            && self.covered_through.is_some_and(|c| {
                use crate::slack::Covered;
                t.bus.caught_up() && t.bus.cover().covers(c as f64 / 1e6, at)
            });
        if carried && let Some(s) = &self.store {
            super::record_covered(&s.writer, now.0);
            self.covered_through = Some(now.0);
        }
    }

    /// One word from the bus: an event the team received (ingested like Slack's own),
    /// a publisher's beat, the bus going or coming back.
    pub(crate) fn on_bus(&mut self, input: BusIn, now: Ts) -> Vec<Lifecycle> {
        let Some(t) = self.team.as_mut() else {
            return Vec::new();
        };
        match input {
            BusIn::Event { seq, json } => {
                t.seq = seq;
                let events = if json.is_empty() {
                    Vec::new()
                } else {
                    self.ingest_from_bus(&json, now)
                };
                self.keep_position();
                events
            }
            BusIn::Beat(beat) => {
                // The stream's backlog replays older beats after each publisher's last.
                let newer = t.peers.get(&beat.origin).is_none_or(|b| b.at < beat.at);
                if newer {
                    t.peers.insert(beat.origin.clone(), beat);
                }
                Vec::new()
            }
            BusIn::Up => {
                t.up = true;
                self.beat_bus(self.connections, now);
                Vec::new()
            }
            BusIn::Down(_) => {
                t.up = false;
                Vec::new()
            }
            BusIn::FellBehind { .. } => {
                // The stream lost what this process missed: Slack's history has it.
                self.resume_from_history();
                Vec::new()
            }
        }
    }

    /// The other publishers of the team, as company: their connections are not a split.
    pub(super) fn bus_peers(&self, now: Ts) -> Vec<Neighbour> {
        let Some(t) = &self.team else {
            return Vec::new();
        };
        let now = now.0 as f64 / 1e6;
        t.peers
            .values()
            .filter(|b| now - b.at < PEER_STALE_SECS)
            .map(|b| Neighbour {
                id: b.origin.clone(),
                kind: "bus".into(),
                pid: 0,
                connections: b.connections,
            })
            .collect()
    }

    fn ingest_from_bus(&mut self, json: &str, now: Ts) -> Vec<Lifecycle> {
        let Some(event) = slack::record::stored(json) else {
            tracing::warn!("skipped an event from the team bus that does not parse");
            return Vec::new();
        };
        self.ingest(
            &Incoming {
                event,
                event_id: None,
                source: slack::Source::Bus,
                received_at: std::time::Instant::now(),
            },
            now,
        )
    }

    /// The stream position into the store, now and then (a restart resumes there;
    /// re-reading a few is harmless).
    fn keep_position(&mut self) {
        let (Some(t), Some(s)) = (self.team.as_mut(), &self.store) else {
            return;
        };
        if t.seq < t.stored_seq + 100 {
            return;
        }
        t.stored_seq = t.seq;
        s.writer.send(Write::Meta {
            key: BUS_SEQ.into(),
            value: (t.seq + 1).to_string(),
        });
    }

    /// The position, written whatever its distance from the last (at a beat, at exit).
    pub(super) fn flush_position(&mut self) {
        let (Some(t), Some(s)) = (self.team.as_mut(), &self.store) else {
            return;
        };
        if t.seq > t.stored_seq {
            t.stored_seq = t.seq;
            s.writer.send(Write::Meta {
                key: BUS_SEQ.into(),
                value: (t.seq + 1).to_string(),
            });
        }
    }

    /// The bus no longer covers what this process missed: a restart (and the next fill)
    /// reads Slack's history from the last point the store was known complete.
    fn resume_from_history(&self) {
        tracing::warn!("fell behind the team bus's retention: catching up from Slack's history");
        if let Some(split) = &self.split {
            split.missed();
        }
    }
}
