//! The store's one writer per process: a thread that takes writes from a channel and
//! commits whatever has queued up in one transaction, so that a burst of Slack events
//! costs one fsync, not one each, and the UI loop never waits on the disk.
//!
//! A write the store refuses (a full disk) is never dropped: the writer keeps it, and
//! everything sent after it, in order, and tries again with backoff until the store takes
//! them; meanwhile [`Writer::trouble`] says why, for the header and `tail`.

use super::Trouble;
use color_eyre::eyre::Result;
use rusqlite::{Connection, params};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Writes committed in one transaction at most: a backlog kept through a full disk goes
/// in pieces of this size once space returns.
const BATCH: usize = 5_000;

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
    /// The same, for a task to await (see [`Writer::stored`]).
    Stored(tokio::sync::oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Write>,
    origin: Arc<str>,
    /// Why the last commit failed, while the writer keeps trying; `None` while it writes.
    trouble: Arc<Mutex<Option<Trouble>>>,
    /// Writes sent and not yet committed.
    queued: Arc<AtomicUsize>,
}

/// Writes queued past which a healthy writer is behind: a flood from Slack then waits in
/// the client's spill file, not in this queue's memory.
const BEHIND: usize = 2_000;

impl Writer {
    /// Starts the writer thread on the store in `dir`, writing as this process.
    pub fn spawn(dir: &Path) -> Result<Writer> {
        Writer::spawn_as(dir, super::this_process())
    }

    /// [`Writer::spawn`] as the process `origin`: what the feed and the heartbeats name
    /// (tests run several "processes" in one).
    pub fn spawn_as(dir: &Path, origin: &str) -> Result<Writer> {
        Writer::spawn_limited(dir, origin, super::page_limit_file())
    }

    /// [`Writer::spawn_as`] with the test-only page limit in `page_limit` (see
    /// [`super::PAGE_LIMIT_ENV`]).
    #[doc(hidden)]
    pub fn spawn_limited(dir: &Path, origin: &str, page_limit: Option<PathBuf>) -> Result<Writer> {
        // Opening through Store runs the migrations and sets the file's permissions.
        let store = super::Store::open_limited(dir, page_limit.clone())?;
        let conn = Connection::open(store.path())?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let (tx, rx) = mpsc::channel();
        let origin: Arc<str> = origin.into();
        let trouble = Arc::new(Mutex::new(None));
        let queued = Arc::new(AtomicUsize::new(0));
        let thread = Thread {
            conn,
            origin: origin.clone(),
            path: store.path().to_path_buf(),
            page_limit,
            trouble: trouble.clone(),
            queued: queued.clone(),
        };
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || thread.run(rx))?;
        Ok(Writer {
            tx,
            origin,
            trouble,
            queued,
        })
    }

    /// The process this writer writes as.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn send(&self, write: Write) {
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(write).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            tracing::error!("the store writer has stopped; this write is lost");
        }
    }

    /// Waits until everything sent so far is committed (shutdown, tests): `false` when it
    /// gives up, after 30 s, or after a few while the store refuses writes (a full disk:
    /// quitting must not wait for space).
    pub fn flush(&self) -> bool {
        let (tx, rx) = mpsc::channel();
        self.send(Write::Flush(tx));
        let started = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(()) => return true,
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let waited = started.elapsed();
                    let patience = if self.trouble().is_some() { 5 } else { 30 };
                    if waited > Duration::from_secs(patience) {
                        return false;
                    }
                }
            }
        }
    }

    /// Answers once everything sent so far is committed, however long the store takes
    /// (a move waits on it before it may go to Slack); an error if the writer stopped
    /// with it unwritten.
    pub fn stored(&self) -> tokio::sync::oneshot::Receiver<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Write::Stored(tx));
        rx
    }

    /// Whether a writing store has fallen behind what it was sent (a flood): the consumer
    /// then leaves Slack's events in the client's spill a moment, so that memory stays
    /// bounded. Never while the store refuses writes: what arrives then stays in the desk.
    pub fn behind(&self) -> bool {
        self.queued() > BEHIND && self.trouble().is_none()
    }

    /// Writes sent and not yet committed (or set aside).
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Why the store takes no writes now (they are kept and retried); `None` while it does.
    pub fn trouble(&self) -> Option<Trouble> {
        lock(&self.trouble).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long the writer waits before trying a refused commit again, after `failures` in a
/// row: quick at first (a moment's lock), then every few seconds (a full disk costs a
/// failed transaction a try, and the lead's held moves go within seconds of space).
pub(crate) fn retry_in(failures: u32) -> Duration {
    let step = Duration::from_millis(250) * 2u32.saturating_pow(failures.saturating_sub(1).min(8));
    step.min(Duration::from_secs(4))
}

/// The writer thread's side.
struct Thread {
    conn: Connection,
    origin: Arc<str>,
    path: PathBuf,
    page_limit: Option<PathBuf>,
    trouble: Arc<Mutex<Option<Trouble>>>,
    queued: Arc<AtomicUsize>,
}

impl Thread {
    fn run(mut self, rx: mpsc::Receiver<Write>) {
        // Sent and not yet committed, in the order sent.
        let mut backlog: VecDeque<Write> = VecDeque::new();
        let mut failures = 0;
        let mut open = true;
        while open || !backlog.is_empty() {
            if backlog.is_empty() {
                match rx.recv() {
                    Ok(w) => backlog.push_back(w),
                    Err(_) => return,
                }
            }
            while let Ok(w) = rx.try_recv() {
                backlog.push_back(w);
            }
            match self.write(&mut backlog) {
                Ok(()) => failures = 0,
                Err(e) => {
                    failures += 1;
                    if !open {
                        // Leaving: what the store would not take is lost; Slack's history
                        // has the events, and an unstored move was never sent.
                        tracing::error!(error = %e, writes = backlog.len(), "the store took no more writes before the end; these are lost");
                        return;
                    }
                    // New writes queue behind the refused ones meanwhile.
                    let until = Instant::now() + retry_in(failures);
                    while let Some(left) = until.checked_duration_since(Instant::now()) {
                        match rx.recv_timeout(left) {
                            Ok(w) => backlog.push_back(w),
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => {
                                open = false;
                                break;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Commits the backlog front first, a batch at a time; what is committed leaves it
    /// and is answered. Stops at the first refused batch, which stays.
    fn write(&mut self, backlog: &mut VecDeque<Write>) -> rusqlite::Result<()> {
        while !backlog.is_empty() {
            let n = backlog.len().min(BATCH);
            let done = super::limit_pages(&self.conn, self.page_limit.as_deref())
                .and_then(|()| commit(&mut self.conn, backlog.range(..n), &self.origin));
            match done {
                Ok(()) => {
                    self.writing();
                    // Counted out before anyone waiting is answered.
                    self.queued.fetch_sub(n, Ordering::Relaxed);
                    backlog.drain(..n).for_each(answer);
                }
                Err(e) if store_wide(&e) => return Err(self.refused(e, backlog.len())),
                // Not the store's trouble but one write's (a bug): found and set aside
                // alone, so that it holds up nothing.
                Err(_) => {
                    for _ in 0..n {
                        let Some(w) = backlog.pop_front() else { break };
                        match commit(&mut self.conn, std::iter::once(&w), &self.origin) {
                            Ok(()) => {
                                self.writing();
                                self.queued.fetch_sub(1, Ordering::Relaxed);
                                answer(w);
                            }
                            Err(e) if store_wide(&e) => {
                                backlog.push_front(w);
                                return Err(self.refused(e, backlog.len()));
                            }
                            Err(e) => {
                                self.queued.fetch_sub(1, Ordering::Relaxed);
                                tracing::error!(error = %e, write = ?w, "a write the store refuses for good was dropped")
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// A commit went through: whatever trouble there was is over (said before anyone
    /// waiting is answered, so that they see it over).
    fn writing(&self) {
        if lock(&self.trouble).take().is_some() {
            tracing::warn!("the store takes writes again");
        }
    }

    /// Keeps why the store refused, for [`Writer::trouble`]; said once while it lasts.
    fn refused(&self, e: rusqlite::Error, kept: usize) -> rusqlite::Error {
        let trouble = Trouble::of(&e, &self.path);
        let mut now = lock(&self.trouble);
        if now.as_ref() != Some(&trouble) {
            tracing::error!(error = %e, kept, "the store refused a write; keeping it and trying again");
            *now = Some(trouble);
        }
        e
    }
}

/// Whether a failed commit is the store's trouble (the disk, the file, a lock), which
/// passes and is waited out, rather than one write's, which retrying never mends.
pub(super) fn store_wide(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        e.sqlite_error_code(),
        Some(
            DiskFull
                | SystemIoFailure
                | ReadOnly
                | DatabaseBusy
                | DatabaseLocked
                | CannotOpen
                | OutOfMemory
                | FileLockingProtocolFailed
                | DatabaseCorrupt
                | NotADatabase
                | PermissionDenied
        )
    )
}

/// A committed write's waiter is told.
fn answer(w: Write) {
    match w {
        Write::Flush(done) => {
            let _ = done.send(());
        }
        Write::Stored(done) => {
            let _ = done.send(());
        }
        _ => {}
    }
}

fn commit<'a>(
    conn: &mut Connection,
    batch: impl Iterator<Item = &'a Write>,
    origin: &str,
) -> rusqlite::Result<()> {
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
                    params![origin, *kind, std::process::id(), connections, at],
                )?;
            }
            Write::Gone => {
                tx.execute("DELETE FROM processes WHERE id = ?1", [origin])?;
            }
            Write::Flush(_) | Write::Stored(_) => {}
        }
    }
    // The dedupe window is minutes; an hour is plenty to carry over a restart.
    tx.execute("DELETE FROM seen_events WHERE at < ?1", [now - 3_600])?;
    // Processes that stopped beating long ago (killed) are forgotten.
    tx.execute("DELETE FROM processes WHERE beat < ?1", [now - 3_600])?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_refused_commit_is_tried_again_soon_then_every_few_seconds() {
        assert_eq!(retry_in(1), Duration::from_millis(250));
        assert_eq!(retry_in(2), Duration::from_millis(500));
        assert!(retry_in(3) > retry_in(2));
        assert_eq!(retry_in(5), Duration::from_secs(4), "capped");
        assert_eq!(retry_in(u32::MAX), Duration::from_secs(4));
    }

    fn event(i: usize) -> Write {
        Write::Event {
            key: format!("C1|{i}"),
            channel: "C1".into(),
            ts: i as i64,
            root: i as i64,
            // Big enough that a few hundred need new pages.
            json: format!("{{\"n\":{i},\"text\":\"{}\"}}", "x".repeat(2_000)),
        }
    }

    /// Waits (generously) for `what` to hold.
    fn wait_until(what: &str, mut holds: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !holds() {
            assert!(Instant::now() < deadline, "never: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_full_store_keeps_every_write_and_commits_them_once_space_returns() {
        let dir =
            std::env::temp_dir().join(format!("swarmdeck-writer-full-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let limit = dir.join("max-pages");
        std::fs::write(&limit, "0").unwrap();
        let writer = Writer::spawn_limited(&dir, "t", Some(limit.clone())).unwrap();
        writer.send(event(0));
        assert!(writer.flush());
        assert_eq!(writer.trouble(), None);

        // The disk fills: the store may not grow by a page.
        std::fs::write(&limit, "1").unwrap();
        for i in 1..300 {
            writer.send(event(i));
        }
        wait_until("the writer says the disk is full", || {
            writer.trouble().is_some()
        });
        let path = dir.join("swarmdeck.db");
        assert_eq!(
            writer.trouble(),
            Some(Trouble::DiskFull { path: path.clone() })
        );
        let mut stored = writer.stored();
        // Delivered while it is full: kept behind the refused ones.
        for i in 300..400 {
            writer.send(event(i));
        }
        let mut last = writer.stored();
        assert!(
            stored.try_recv().is_err() && last.try_recv().is_err(),
            "nothing is answered as stored while the store refuses it"
        );

        std::fs::write(&limit, "0").unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(20), last)
                .await
                .expect("stored within seconds of space")
                .expect("answered, not dropped");
        });
        assert_eq!(writer.trouble(), None, "writing again");
        let store = Store::open(&dir).unwrap();
        let mut seen = Vec::new();
        store
            .each_event(|json| {
                let v: serde_json::Value = serde_json::from_str(json).unwrap();
                seen.push(v["n"].as_u64().unwrap() as usize);
            })
            .unwrap();
        assert_eq!(
            seen,
            (0..400).collect::<Vec<_>>(),
            "every event, once, in order"
        );
        drop(writer);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_refusing_store_is_never_behind_and_its_queue_empties_once_it_writes() {
        let dir =
            std::env::temp_dir().join(format!("swarmdeck-writer-behind-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let limit = dir.join("max-pages");
        std::fs::write(&limit, "1").unwrap();
        let writer = Writer::spawn_limited(&dir, "t", Some(limit.clone())).unwrap();
        for i in 0..BEHIND + 100 {
            writer.send(event(i));
        }
        wait_until("the writer says the disk is full", || {
            writer.trouble().is_some()
        });
        assert!(writer.queued() > BEHIND, "{} queued", writer.queued());
        // What arrives on a full disk stays in the desk: the loops must not stop taking it.
        assert!(!writer.behind());
        std::fs::write(&limit, "0").unwrap();
        wait_until("the queue is written", || writer.queued() == 0);
        assert!(!writer.behind());
        assert!(writer.flush());
        assert_eq!(writer.queued(), 0, "a flush counts in and out");
        drop(writer);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_write_the_store_refuses_for_good_is_dropped_alone() {
        let dir = std::env::temp_dir().join(format!("swarmdeck-writer-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let writer = Writer::spawn(&dir).unwrap();
        writer.send(event(1));
        // Refused whenever it is tried, as a write a bug made would be.
        let bad = Write::Meta {
            key: "x".into(),
            value: "y".into(),
        };
        {
            let store = Store::open(&dir).unwrap();
            store
                .conn
                .execute_batch(
                    "CREATE TRIGGER refuse BEFORE INSERT ON meta WHEN NEW.key = 'x'
                     BEGIN SELECT RAISE(ABORT, 'refused'); END;",
                )
                .unwrap();
        }
        writer.send(bad);
        writer.send(event(2));
        assert!(writer.flush(), "the rest is committed");
        assert_eq!(writer.trouble(), None, "not the store's trouble");
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.each_event(|_| {}).unwrap(), 2);
        drop(writer);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
