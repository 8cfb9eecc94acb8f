//! The dashboard's link to Slack: connecting behind a screen restored from the store
//! (trying again with capped backoff for as long as it takes), and the health the header
//! shows (the store's among it: a full disk holds the lead's moves).

use crate::slack::{self, Status, WebClient};
use crate::ui::{Health, StoreTrouble};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A try at connecting, started from the store: up, or not yet (tried again later).
pub(crate) enum Attempt {
    Up(Box<slack::Connected>),
    Failed {
        error: String,
        retry_in: Duration,
        attempts: u64,
    },
}

/// Connects behind a restored screen, trying again with capped backoff for as long as
/// it takes (a laptop that wakes up offline comes back on its own).
pub(crate) async fn keep_connecting(
    web: Arc<WebClient>,
    config: slack::SlackConfig,
    tx: mpsc::Sender<Attempt>,
) {
    // Sped up with `[slack] time_scale`, as every other wait on Slack is (a rehearsal
    // against a time-scaled emulator whose 503 storm outlasts real seconds).
    let scale = config.web.time_scale.max(1.0);
    let backoff = slack::Backoff {
        base: Duration::from_secs_f64(1.0 / scale),
        cap: Duration::from_secs_f64(60.0 / scale),
    };
    let mut attempts = 0;
    loop {
        match slack::connect_with(web.clone(), config.clone()).await {
            Ok(c) => {
                let _ = tx.send(Attempt::Up(Box::new(c))).await;
                return;
            }
            Err(e) => {
                attempts += 1;
                let retry_in = backoff.delay(attempts as u32, 0.75);
                tracing::warn!(error = %e, ?retry_in, "could not connect to Slack; will try again");
                let failed = Attempt::Failed {
                    error: e.to_string(),
                    retry_in,
                    attempts,
                };
                if tx.send(failed).await.is_err() {
                    return;
                }
                tokio::time::sleep(retry_in).await;
            }
        }
    }
}

/// The connection as last reported, with the instants the header turns into ages.
pub(crate) struct Connection {
    /// Sockets the client keeps open (its policy), shown before the first status.
    wanted: usize,
    status: Option<Status>,
    last_event: Option<Instant>,
    /// Connections of other consumers, while they take part of the stream.
    split: Option<u32>,
    /// `None` without a team bus; whether it is up.
    bus: Option<bool>,
    /// Why the store takes no writes, while it does not, as the header says it.
    store: Option<StoreTrouble>,
}

impl Connection {
    pub fn new(wanted: usize) -> Connection {
        Connection {
            wanted,
            status: None,
            last_event: None,
            split: None,
            bus: None,
            store: None,
        }
    }

    /// The store's writer, as it last said: in trouble, or writing.
    pub fn store(&mut self, trouble: Option<crate::store::Trouble>) {
        self.store = trouble.map(|t| StoreTrouble {
            what: t.what(),
            path: typed(t.path()),
        });
    }

    pub fn bus(&mut self, up: Option<bool>) {
        self.bus = up;
    }

    pub fn split(&mut self, others: Option<u32>) {
        self.split = others;
    }

    pub fn status(&mut self, status: Status) {
        self.status = Some(status);
    }

    /// Sockets up, as last reported.
    pub fn connected(&self) -> usize {
        self.status.as_ref().map_or(0, |s| s.connected)
    }

    pub fn event_arrived(&mut self) {
        self.last_event = Some(Instant::now());
    }

    /// Slack could not be reached at all (no socket yet): said in the header.
    pub fn unreachable(&mut self, error: &str, retry_in: Duration, attempts: u64) {
        self.status = Some(Status {
            connected: 0,
            wanted: self.wanted,
            reconnect_at: Some(Instant::now() + retry_in),
            reconnects: attempts,
            problem: Some(format!("Slack unreachable: {error}")),
        });
    }

    pub fn health(&self) -> Health {
        let now = Instant::now();
        let s = self.status.clone().unwrap_or(Status {
            connected: 0,
            wanted: self.wanted,
            reconnect_at: None,
            reconnects: 0,
            problem: None,
        });
        Health {
            connected: s.connected,
            wanted: s.wanted,
            reconnect_in: s
                .reconnect_at
                .map(|at| at.saturating_duration_since(now).as_secs()),
            reconnects: s.reconnects,
            problem: s.problem,
            last_event_age: self.last_event.map(|t| now.duration_since(t).as_secs()),
            split: self.split,
            bus_down: self.bus == Some(false),
            store: self.store.clone(),
        }
    }
}

/// A path as the lead would type it: the home directory as `~`.
fn typed(path: &std::path::Path) -> String {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    match home.as_deref().and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
        _ => path.display().to_string(),
    }
}

/// Waits for the next value of an optional receiver; never, when there is none.
pub(crate) async fn next<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
