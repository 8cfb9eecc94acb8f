//! The store's one writer per process: a thread that takes writes from a channel and
//! commits whatever has queued up in one transaction, so that a burst of Slack events
//! costs one fsync, not one each, and the UI loop never waits on the disk.

use color_eyre::eyre::Result;
use rusqlite::{Connection, params};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// A resolved swarm, for the search index.
#[derive(Clone, Debug, PartialEq)]
pub struct Indexed {
    pub channel: String,
    pub thread_ts: i64,
    pub resolved_at: i64,
    pub case: String,
    pub pod: String,
    pub subject: String,
    /// The request's fields and the thread's text.
    pub body: String,
    pub resolution: String,
    pub link: String,
}

#[derive(Debug)]
pub enum Write {
    /// A Slack event as received (`key` says which: the same event is stored once).
    Event {
        key: String,
        channel: String,
        ts: i64,
        root: i64,
        json: String,
    },
    SeenEvent {
        event_id: String,
        at: i64,
    },
    Channel {
        id: String,
        name: String,
    },
    Meta {
        key: String,
        value: String,
    },
    /// A person's name (users.list, users.info, user_change): the latest wins.
    Person {
        id: String,
        name: String,
    },
    /// An action taken: stored before it is sent.
    SaveAction {
        id: String,
        action: String,
        progress: String,
    },
    /// How far an action got.
    Progress {
        id: String,
        progress: String,
    },
    /// The action is wholly in Slack, or failed for good.
    DropAction {
        id: String,
    },
    Index(Box<Indexed>),
    /// This process is alive, holding `connections` Socket Mode connections.
    Beat {
        kind: &'static str,
        connections: u32,
        at: i64,
    },
    /// This process is leaving.
    Gone,
    /// Answers once everything sent before it is committed.
    Flush(mpsc::Sender<()>),
}

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Write>,
    origin: std::sync::Arc<str>,
}

impl Writer {
    /// Starts the writer thread on the store in `dir`, writing as this process.
    pub fn spawn(dir: &Path) -> Result<Writer> {
        Writer::spawn_as(dir, super::this_process())
    }

    /// [`Writer::spawn`] as the process `origin`: what the feed and the heartbeats name
    /// (tests run several "processes" in one).
    pub fn spawn_as(dir: &Path, origin: &str) -> Result<Writer> {
        // Opening through Store runs the migrations and sets the file's permissions.
        let store = super::Store::open(dir)?;
        let conn = Connection::open(store.path())?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let (tx, rx) = mpsc::channel();
        let origin: std::sync::Arc<str> = origin.into();
        let me = origin.clone();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(conn, rx, &me))?;
        Ok(Writer { tx, origin })
    }

    /// The process this writer writes as.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn send(&self, write: Write) {
        if self.tx.send(write).is_err() {
            tracing::error!("the store writer has stopped; this write is lost");
        }
    }

    /// Waits until everything sent so far is committed (shutdown, tests).
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        self.send(Write::Flush(tx));
        let _ = rx.recv_timeout(Duration::from_secs(30));
    }
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Write>, origin: &str) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 5_000 {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let mut flushes = Vec::new();
        if let Err(e) = commit(&mut conn, batch, origin, &mut flushes) {
            tracing::error!(error = %e, "could not write to the store");
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
}

fn commit(
    conn: &mut Connection,
    batch: Vec<Write>,
    origin: &str,
    flushes: &mut Vec<mpsc::Sender<()>>,
) -> Result<()> {
    let now = chrono::Utc::now().timestamp();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for w in batch {
        match w {
            Write::Event {
                key,
                channel,
                ts,
                root,
                json,
            } => {
                let stored = tx.execute(
                    "INSERT OR IGNORE INTO events (key, channel, ts, root, stored, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![key, channel, ts, root, now, json],
                )?;
                // Only the first process to store an event feeds it to the others.
                if stored == 1 {
                    tx.execute(
                        "INSERT INTO feed (key, origin) VALUES (?1, ?2)",
                        params![key, origin],
                    )?;
                }
            }
            Write::SeenEvent { event_id, at } => {
                tx.execute(
                    "INSERT OR IGNORE INTO seen_events (event_id, at) VALUES (?1, ?2)",
                    params![event_id, at],
                )?;
            }
            Write::Channel { id, name } => {
                tx.execute(
                    "INSERT INTO channels (id, name, first_name) VALUES (?1, ?2, ?2)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                    params![id, name],
                )?;
            }
            Write::Person { id, name } => {
                tx.execute(
                    "INSERT INTO people (id, name) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                    params![id, name],
                )?;
            }
            Write::Meta { key, value } => {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![key, value],
                )?;
            }
            Write::SaveAction {
                id,
                action,
                progress,
            } => {
                tx.execute(
                    "INSERT OR IGNORE INTO outbox (id, seq, action, progress)
                     VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox), ?2, ?3)",
                    params![id, action, progress],
                )?;
            }
            Write::Progress { id, progress } => {
                tx.execute(
                    "UPDATE outbox SET progress = ?2 WHERE id = ?1",
                    params![id, progress],
                )?;
            }
            Write::DropAction { id } => {
                tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
            }
            Write::Index(d) => {
                let old: Option<i64> = tx
                    .query_row(
                        "SELECT doc FROM resolved WHERE channel = ?1 AND thread_ts = ?2",
                        params![d.channel, d.thread_ts],
                        |r| r.get(0),
                    )
                    .ok();
                if let Some(doc) = old {
                    tx.execute("DELETE FROM search WHERE rowid = ?1", [doc])?;
                }
                tx.execute(
                    "INSERT INTO search (case_number, pod, subject, body, resolution, link) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![d.case, d.pod, d.subject, d.body, d.resolution, d.link],
                )?;
                let doc = tx.last_insert_rowid();
                tx.execute(
                    "INSERT INTO resolved (channel, thread_ts, resolved_at, doc) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (channel, thread_ts) DO UPDATE SET resolved_at = excluded.resolved_at, doc = excluded.doc",
                    params![d.channel, d.thread_ts, d.resolved_at, doc],
                )?;
            }
            Write::Beat {
                kind,
                connections,
                at,
            } => {
                tx.execute(
                    "INSERT INTO processes (id, kind, pid, connections, beat) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (id) DO UPDATE SET connections = excluded.connections, beat = excluded.beat",
                    params![origin, kind, std::process::id(), connections, at],
                )?;
            }
            Write::Gone => {
                tx.execute("DELETE FROM processes WHERE id = ?1", [origin])?;
            }
            Write::Flush(done) => flushes.push(done),
        }
    }
    // The dedupe window is minutes; an hour is plenty to carry over a restart.
    tx.execute("DELETE FROM seen_events WHERE at < ?1", [now - 3_600])?;
    // Processes that stopped beating long ago (killed) are forgotten.
    tx.execute("DELETE FROM processes WHERE beat < ?1", [now - 3_600])?;
    tx.commit()?;
    Ok(())
}
