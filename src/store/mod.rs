//! The local store (SQLite): what Slack cannot give back cheaply or at all.
//!
//! - the Slack events swarmdeck read (messages, edits, deletions, reactions) as received,
//!   before sanitising: replaying them rebuilds the desk at start, before the network is
//!   up, and answers `report`; their newest ts per channel is where the gap fill resumes;
//! - the event ids delivered lately (the dedupe window survives a restart);
//! - the bot's identity and the channels, so that a restart knows its pods offline;
//! - the outbox: the lead's moves not yet wholly in Slack, with how far each got;
//! - resolved swarms, indexed for full-text search (similar cases);
//! - each consumer's position (which lifecycle events it put out);
//! - the feed: which process recorded each event, in order, so that every process on
//!   this store ingests what any of them received ([`feed`]); and a heartbeat per process,
//!   so that they know each other's connections apart from other consumers of the app.
//!
//! One writer per process ([`writer::Writer`], a thread that batches); readers open their
//! own connection; a busy timeout lets a dashboard and a `tail` share one store.
//! The store holds customers' words: its folder is 0700 and its files 0600.

pub mod feed;
pub mod writer;

pub use feed::Feed;
pub use writer::{Indexed, Write, Writer};

use color_eyre::eyre::{Result, WrapErr};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const FILE: &str = "swarmdeck.db";

/// The store's file in `dir`.
pub fn file_in(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Why the store cannot take writes now: the header and `tail` say it, and the lead's
/// moves wait until it passes (a move goes to Slack only once it is stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// SQLite answered SQLITE_FULL: the disk (or the file system's quota) is full.
    DiskFull { path: PathBuf },
    /// Any other failed write (read-only, an I/O error, locked too long), as SQLite said.
    Unwritable { path: PathBuf, error: String },
}

impl Trouble {
    fn of(error: &rusqlite::Error, path: &Path) -> Trouble {
        let path = path.to_path_buf();
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => Trouble::DiskFull { path },
            _ => Trouble::Unwritable {
                path,
                error: error.to_string(),
            },
        }
    }
}

impl Trouble {
    /// What is wrong, in a few words: `disk full`.
    pub fn what(&self) -> String {
        match self {
            Trouble::DiskFull { .. } => "disk full".into(),
            Trouble::Unwritable { error, .. } => format!("cannot write: {error}"),
        }
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        match self {
            Trouble::DiskFull { path } | Trouble::Unwritable { path, .. } => path,
        }
    }
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store: {} ({})", self.what(), self.path().display())
    }
}

/// A store SQLite cannot read whole (`PRAGMA quick_check` fails, or it is no database):
/// named with its file and the fix, for `check`, the dashboard and `tail` alike.
#[derive(Debug)]
pub struct Broken {
    pub path: PathBuf,
    /// What SQLite said.
    pub cause: String,
}

impl Broken {
    /// What is wrong, in a line.
    pub fn what(&self) -> String {
        format!("store: {} is damaged ({})", self.path.display(), self.cause)
    }

    /// What to do about it.
    pub fn fix(&self) -> String {
        let p = self.path.display();
        format!(
            "move it aside (mv {p} {p}.broken, and {p}-wal and {p}-shm if they are there), \
             then start swarmdeck again: it starts on an empty store and reads the last day \
             back from Slack's history. Under Slack's history limits for apps outside its \
             Marketplace (one conversations.history call a minute, 15 messages a page) that \
             takes about a minute per pod channel, more for busy ones, while the dashboard \
             fills in; older history (report, search) is not rebuilt"
        )
    }
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n    fix: {}", self.what(), self.fix())
    }
}

impl std::error::Error for Broken {}

/// Whether SQLite's error says the file is damaged (or not a database at all).
fn damaged(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// Test-only (README, Development): `SWARMDECK_STORE_MAX_PAGES` names a file holding a
/// page count; while it holds one above 0, this process's connections may not grow the
/// store past it (SQLite then answers SQLITE_FULL, as on a full disk; a count below the
/// store's size means no growth at all). Read before every write, so that a test can
/// fill the disk and give the space back.
pub const PAGE_LIMIT_ENV: &str = "SWARMDECK_STORE_MAX_PAGES";

/// The page-limit file from the environment, if any (see [`PAGE_LIMIT_ENV`]).
fn page_limit_file() -> Option<PathBuf> {
    std::env::var_os(PAGE_LIMIT_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Applies the test-only page limit in `file` (see [`PAGE_LIMIT_ENV`]) to `conn`.
fn limit_pages(conn: &Connection, file: Option<&Path>) -> rusqlite::Result<()> {
    let Some(file) = file else { return Ok(()) };
    // SQLite's own ceiling: no limit.
    const NONE: u64 = 0xffff_fffe;
    let pages = std::fs::read_to_string(file)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(NONE);
    conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
}

/// Schema migrations, in order; `PRAGMA user_version` says how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: consumers' positions.
    "CREATE TABLE emitted (
        consumer TEXT NOT NULL,
        key TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (consumer, key)
    ) WITHOUT ROWID;",
    // 2: history, identity, channels, the dedupe window, the outbox, search.
    "CREATE TABLE events (
        key TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        ts INTEGER NOT NULL,
        root INTEGER NOT NULL,
        stored INTEGER NOT NULL,
        json TEXT NOT NULL
    );
    CREATE INDEX events_by_thread ON events (channel, root);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE channels (id TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE seen_events (event_id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        action TEXT NOT NULL,
        progress TEXT NOT NULL
    );
    CREATE TABLE resolved (
        channel TEXT NOT NULL,
        thread_ts INTEGER NOT NULL,
        resolved_at INTEGER NOT NULL,
        doc INTEGER NOT NULL,
        PRIMARY KEY (channel, thread_ts)
    );
    CREATE VIRTUAL TABLE search USING fts5(
        case_number, pod, subject, body, resolution, link UNINDEXED,
        tokenize = 'unicode61 remove_diacritics 2'
    );",
    // 3: people's names as Slack last told them, so that `report` (offline) names
    // experts rather than printing user ids.
    "CREATE TABLE people (id TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;",
    // 4: each channel's name when first seen: a pod keeps its name (what `tail`, the
    // report and the metrics group by) when its channel is renamed in Slack.
    "ALTER TABLE channels ADD COLUMN first_name TEXT;",
    // 5: the feed (each newly stored event, in order, with the process that stored it)
    // and the processes sharing the store. AUTOINCREMENT: a sequence number is never
    // reused after a purge, so a process watching the feed never skips a row.
    "CREATE TABLE feed (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL,
        origin TEXT NOT NULL
    );
    CREATE TABLE processes (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        pid INTEGER NOT NULL,
        connections INTEGER NOT NULL,
        beat INTEGER NOT NULL
    ) WITHOUT ROWID;",
];

/// A process is gone when it has not beaten for this long (it beats every few seconds).
pub const BEAT_STALE_SECS: i64 = 30;

/// Who this process is to the others on its store: its pid and when it started, so that
/// a pid reused after a crash is another process.
pub fn this_process() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        format!("{}-{started}", std::process::id())
    })
}

/// Another process on this store, as its last heartbeat said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    pub id: String,
    /// `dashboard`, `tail`, `check`.
    pub kind: String,
    pub pid: u32,
    /// Socket Mode connections it holds open to the app.
    pub connections: u32,
}

/// A resolved swarm found by search.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub channel: String,
    pub thread_ts: i64,
    pub case: String,
    pub pod: String,
    pub subject: String,
    pub resolution: String,
    pub link: String,
}

/// An action the outbox had not finished, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingAction {
    pub id: String,
    pub action: String,
    pub progress: String,
}

/// What a purge removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub events: usize,
    pub resolved: usize,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The test-only page limit's file (see [`PAGE_LIMIT_ENV`]).
    page_limit: Option<PathBuf>,
}

impl Store {
    /// Opens (creating if need be) the store in `dir`. A file SQLite finds damaged on the
    /// way is a [`Broken`] error; [`Store::check`] looks at the whole file.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_limited(dir, page_limit_file())
    }

    /// [`Store::open`] with the test-only page limit in `page_limit` (see [`PAGE_LIMIT_ENV`]).
    #[doc(hidden)]
    pub fn open_limited(dir: &Path, page_limit: Option<PathBuf>) -> Result<Store> {
        create_private_dir(dir)?;
        let path = dir.join(FILE);
        create_private_file(&path)?;
        let broken = |e: rusqlite::Error| -> color_eyre::eyre::Report {
            if damaged(&e) {
                Broken {
                    path: path.clone(),
                    cause: e.to_string(),
                }
                .into()
            } else {
                color_eyre::eyre::eyre!("could not open the store at {}: {e}", path.display())
            }
        };
        let conn = Connection::open(&path).map_err(broken)?;
        // Several swarmdeck processes may share the store: one writer at a time, the
        // others wait rather than fail.
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(broken)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let mut store = Store {
            conn,
            path: path.clone(),
            page_limit,
        };
        store
            .migrate()
            .map_err(|e| match e.downcast::<rusqlite::Error>() {
                Ok(e) => broken(e),
                Err(e) => e,
            })?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the whole file (`PRAGMA quick_check`): a damaged store is a [`Broken`]
    /// error, so that it is named with its fix before anything runs on it, rather than
    /// failing later on whichever page is gone.
    pub fn check(&self) -> Result<()> {
        let found: rusqlite::Result<Vec<String>> = self
            .conn
            .prepare("PRAGMA quick_check")
            .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect());
        let cause = match found {
            Ok(lines) if lines.len() == 1 && lines[0] == "ok" => return Ok(()),
            Ok(lines) => lines.into_iter().take(3).collect::<Vec<_>>().join("; "),
            Err(e) => e.to_string(),
        };
        Err(Broken {
            path: self.path.clone(),
            cause,
        }
        .into())
    }

    fn migrate(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let version = version.max(0) as usize;
        if version > MIGRATIONS.len() {
            color_eyre::eyre::bail!(
                "the store at {} was written by a newer swarmdeck (schema {version}); upgrade swarmdeck",
                self.path.display()
            );
        }
        if version == MIGRATIONS.len() {
            // Nothing to write: a store on a full disk still opens.
            return Ok(());
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            tx.execute_batch(sql)
                .wrap_err_with(|| format!("store migration {}", i + 1))?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
        tx.commit()?;
        Ok(())
    }

    /// Claims an event for a consumer: true the first time, false ever after — whichever
    /// process asks first. Atomic, so two processes sharing a consumer never both print.
    /// A claim the store cannot write is an error whose [`Store::trouble`] says why.
    pub fn claim(&self, consumer: &str, key: &str, at_secs: i64) -> Result<bool> {
        limit_pages(&self.conn, self.page_limit.as_deref())?;
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO emitted (consumer, key, at) VALUES (?1, ?2, ?3)",
            params![consumer, key, at_secs],
        )?;
        Ok(inserted == 1)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Channels the bot was in, as last seen: (id, name).
    pub fn channels(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name FROM channels ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Each channel's name when first seen: (id, name). A pod is named by it, so that a
    /// rename relabels the pod and never makes it another.
    pub fn first_names(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, COALESCE(first_name, name) FROM channels ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// People's names as last seen: (user id, name).
    pub fn people(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare("SELECT id, name FROM people")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every stored event's JSON, in the order received, to `each`.
    pub fn each_event(&self, mut each: impl FnMut(&str)) -> Result<usize> {
        let mut stmt = self
            .conn
            .prepare("SELECT json FROM events ORDER BY rowid")?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            let json: String = row.get(0)?;
            each(&json);
            n += 1;
        }
        Ok(n)
    }

    /// The newest message ts (µs) stored per channel: where a gap fill resumes.
    pub fn high_water(&self) -> Result<HashMap<String, i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT channel, MAX(ts) FROM events GROUP BY channel")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Event ids delivered at or after `since` (secs): the dedupe window to carry over.
    pub fn seen_events(&self, since: i64) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT event_id FROM seen_events WHERE at >= ?1")?;
        let rows = stmt.query_map([since], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The outbox's unfinished actions, oldest first.
    pub fn pending_actions(&self) -> Result<Vec<PendingAction>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, action, progress FROM outbox ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok(PendingAction {
                id: r.get(0)?,
                action: r.get(1)?,
                progress: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Resolved swarms like `text` (its words, any of them; best first), leaving out the
    /// swarm asking.
    pub fn similar(
        &self,
        text: &str,
        except: Option<(&str, i64)>,
        limit: usize,
    ) -> Result<Vec<Match>> {
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() > 2)
            .map(|w| format!("\"{}\"", w.to_lowercase()))
            .take(24)
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare(
            "SELECT r.channel, r.thread_ts, s.case_number, s.pod, s.subject, s.resolution, s.link
             FROM search s JOIN resolved r ON r.doc = s.rowid
             WHERE search MATCH ?1 ORDER BY bm25(search, 4.0, 1.0, 3.0, 1.0, 2.0) LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![words.join(" OR "), (limit + 1) as i64], |r| {
            Ok(Match {
                channel: r.get(0)?,
                thread_ts: r.get(1)?,
                case: r.get(2)?,
                pod: r.get(3)?,
                subject: r.get(4)?,
                resolution: r.get(5)?,
                link: r.get(6)?,
            })
        })?;
        let mut out: Vec<Match> = rows.collect::<Result<_, _>>()?;
        if let Some((c, t)) = except {
            out.retain(|m| !(m.channel == c && m.thread_ts == t));
        }
        out.truncate(limit);
        Ok(out)
    }

    /// The resolved swarms already in the search index: (channel, thread ts µs).
    pub fn indexed(&self) -> Result<std::collections::HashSet<(String, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT channel, thread_ts FROM resolved")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes history older than `before` (secs): threads whose newest event is older,
    /// their search entries, and old dedupe and consumer records. Open swarms' threads
    /// are kept whatever their age: `keep` names them (channel, root µs).
    pub fn purge(&self, before: i64, keep: &[(String, i64)]) -> Result<Purged> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS keep (channel TEXT, root INTEGER); DELETE FROM keep;",
        )?;
        for (c, r) in keep {
            tx.execute("INSERT INTO keep VALUES (?1, ?2)", params![c, r])?;
        }
        let cutoff = before.saturating_mul(1_000_000);
        let events = tx.execute(
            "DELETE FROM events WHERE (channel, root) IN (
                 SELECT channel, root FROM events GROUP BY channel, root HAVING MAX(ts) < ?1
             ) AND (channel, root) NOT IN (SELECT channel, root FROM keep)",
            [cutoff],
        )?;
        tx.execute(
            "DELETE FROM feed WHERE key NOT IN (SELECT key FROM events)",
            [],
        )?;
        tx.execute(
            "DELETE FROM search WHERE rowid IN (SELECT doc FROM resolved WHERE resolved_at < ?1)",
            [before],
        )?;
        let resolved = tx.execute("DELETE FROM resolved WHERE resolved_at < ?1", [before])?;
        tx.execute("DELETE FROM emitted WHERE at < ?1", [before])?;
        tx.execute("DELETE FROM seen_events WHERE at < ?1", [before])?;
        tx.commit()?;
        Ok(Purged { events, resolved })
    }

    /// The other processes on this store that beat at or after `since` (secs).
    pub fn neighbours(&self, except: &str, since: i64) -> Result<Vec<Neighbour>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, kind, pid, connections FROM processes WHERE id != ?1 AND beat >= ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![except, since], |r| {
            Ok(Neighbour {
                id: r.get(0)?,
                kind: r.get(1)?,
                pid: r.get(2)?,
                connections: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Where the feed ends now: a watcher started here sees every event stored after.
    pub fn feed_end(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM feed", [], |r| r.get(0))?)
    }

    /// Why a write this store refused (`error` from one of its methods) failed, when it
    /// was the store's trouble rather than the caller's.
    pub fn trouble(&self, error: &color_eyre::eyre::Report) -> Option<Trouble> {
        error
            .downcast_ref::<rusqlite::Error>()
            .filter(|e| writer::store_wide(e))
            .map(|e| Trouble::of(e, &self.path))
    }

    /// Whether a consumer has put out an event.
    pub fn claimed(&self, consumer: &str, key: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM emitted WHERE consumer = ?1 AND key = ?2",
                params![consumer, key],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .wrap_err_with(|| format!("could not create the data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .wrap_err_with(|| format!("could not make {} private (0700)", dir.display()))?;
    }
    Ok(())
}

fn create_private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        options
            .open(path)
            .wrap_err_with(|| format!("could not create {}", path.display()))?;
        // An older file may have been created with looser permissions.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    options.open(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("swarmdeck-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn an_event_is_claimed_once_per_consumer_across_reopens() {
        let dir = temp_dir("claims");
        let store = Store::open(&dir).unwrap();
        assert!(store.claim("tail", "C1:1.0:swarm_opened", 1).unwrap());
        assert!(!store.claim("tail", "C1:1.0:swarm_opened", 2).unwrap());
        assert!(
            store.claim("bot", "C1:1.0:swarm_opened", 2).unwrap(),
            "consumers are apart"
        );
        drop(store);
        let again = Store::open(&dir).unwrap();
        assert!(again.claimed("tail", "C1:1.0:swarm_opened").unwrap());
        assert!(!again.claim("tail", "C1:1.0:swarm_opened", 3).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_renamed_channel_keeps_the_name_it_was_first_seen_by() {
        let dir = temp_dir("renamed");
        let store = Store::open(&dir).unwrap();
        let writer = Writer::spawn(&dir).unwrap();
        for name in ["swarm-api", "swarm-api-eu"] {
            writer.send(Write::Channel {
                id: "C1".into(),
                name: name.into(),
            });
        }
        writer.flush();
        assert_eq!(
            store.channels().unwrap(),
            [("C1".to_string(), "swarm-api-eu".to_string())],
            "the label follows Slack"
        );
        assert_eq!(
            store.first_names().unwrap(),
            [("C1".to_string(), "swarm-api".to_string())],
            "the pod keeps its name"
        );
        drop(writer);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_store_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("perms");
        let store = Store::open(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(store.path()), 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn two_handles_on_one_store_never_both_claim() {
        let dir = temp_dir("shared");
        let a = Store::open(&dir).unwrap();
        let b = Store::open(&dir).unwrap();
        let wins = (0..200)
            .map(|i| {
                let key = format!("k{i}");
                let (x, y) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
                x.claim("tail", &key, 0).unwrap() as u32 + y.claim("tail", &key, 0).unwrap() as u32
            })
            .collect::<Vec<_>>();
        assert!(wins.iter().all(|&w| w == 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn an_empty_file_is_migrated_to_the_latest_schema() {
        let dir = temp_dir("migrate-empty");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(FILE), b"").unwrap();
        let store = Store::open(&dir).unwrap();
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let names = tables(&store.conn);
        for t in [
            "emitted",
            "events",
            "meta",
            "channels",
            "seen_events",
            "outbox",
            "resolved",
            "search",
            "people",
            "feed",
            "processes",
        ] {
            assert!(names.iter().any(|n| n == t), "{t} in {names:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_store_from_the_previous_version_keeps_its_data() {
        let dir = temp_dir("migrate-v1");
        std::fs::create_dir_all(&dir).unwrap();
        {
            // The store as the previous release left it: schema 1, one claim.
            let conn = Connection::open(dir.join(FILE)).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute(
                "INSERT INTO emitted VALUES ('tail', 'C1:1.0:swarm_opened', 5)",
                [],
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        let store = Store::open(&dir).unwrap();
        assert!(store.claimed("tail", "C1:1.0:swarm_opened").unwrap());
        assert!(
            store.channels().unwrap().is_empty(),
            "the new tables are there"
        );
        drop(store);
        // Reopening does not migrate again.
        let again = Store::open(&dir).unwrap();
        assert!(again.claimed("tail", "C1:1.0:swarm_opened").unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_newer_store_is_refused_with_a_clear_error() {
        let dir = temp_dir("migrate-newer");
        std::fs::create_dir_all(&dir).unwrap();
        {
            let conn = Connection::open(dir.join(FILE)).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = Store::open(&dir).err().unwrap().to_string();
        assert!(err.contains("newer swarmdeck"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn indexed(thread_ts: i64, case: &str, subject: &str, resolution: &str, at: i64) -> Write {
        Write::Index(Box::new(Indexed {
            channel: "C1".into(),
            thread_ts,
            resolved_at: at,
            case: case.into(),
            pod: "api".into(),
            subject: subject.into(),
            body: format!("{subject} thread text"),
            resolution: resolution.into(),
            link: format!("https://x.slack.com/archives/C1/p{thread_ts}"),
        }))
    }

    #[test]
    fn writes_batch_and_search_finds_similar_resolved_swarms_best_first() {
        let dir = temp_dir("search");
        let writer = Writer::spawn(&dir).unwrap();
        writer.send(indexed(
            1,
            "100",
            "Webhooks delayed for EU tenants",
            "queue backlog drained",
            10,
        ));
        writer.send(indexed(
            2,
            "101",
            "Invoice PDF wrong VAT",
            "template fixed",
            10,
        ));
        writer.send(indexed(
            3,
            "102",
            "Webhook signatures rejected",
            "clock skew on the sender",
            10,
        ));
        // Indexing again replaces, never duplicates.
        writer.send(indexed(
            3,
            "102",
            "Webhook signatures rejected",
            "clock skew fixed by NTP",
            11,
        ));
        writer.flush();
        let store = Store::open(&dir).unwrap();
        let found = store
            .similar("EU webhooks delayed again", Some(("C1", 9)), 5)
            .unwrap();
        let cases: Vec<&str> = found.iter().map(|m| m.case.as_str()).collect();
        assert_eq!(cases, ["100"], "only the webhook swarm matching the words");
        let found = store.similar("webhook signatures", None, 5).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].resolution, "clock skew fixed by NTP");
        assert!(
            store
                .similar("webhooks", Some(("C1", 1)), 5)
                .unwrap()
                .is_empty(),
            "the asker is left out"
        );
        assert!(
            store.similar("a ! ?", None, 5).unwrap().is_empty(),
            "no words, no query"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_outbox_survives_a_reopen_in_order_until_dropped() {
        let dir = temp_dir("outbox");
        let writer = Writer::spawn(&dir).unwrap();
        for id in ["a", "b", "c"] {
            writer.send(Write::SaveAction {
                id: id.into(),
                action: format!("{{\"id\":\"{id}\"}}"),
                progress: "{}".into(),
            });
        }
        writer.send(Write::Progress {
            id: "b".into(),
            progress: "{\"next\":2}".into(),
        });
        writer.send(Write::DropAction { id: "a".into() });
        writer.flush();
        let store = Store::open(&dir).unwrap();
        let pending = store.pending_actions().unwrap();
        let ids: Vec<&str> = pending.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(pending[0].progress, "{\"next\":2}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn purge_removes_old_threads_but_keeps_open_swarms() {
        let dir = temp_dir("purge");
        let writer = Writer::spawn(&dir).unwrap();
        let event = |root: i64, ts: i64| Write::Event {
            key: format!("C1|{ts}"),
            channel: "C1".into(),
            ts: ts * 1_000_000,
            root: root * 1_000_000,
            json: "{}".into(),
        };
        writer.send(event(100, 100));
        writer.send(event(100, 150)); // an old thread
        writer.send(event(200, 200));
        writer.send(event(200, 5_000)); // old root, recent reply: kept
        writer.send(event(300, 300)); // old, but an open swarm: kept
        writer.send(indexed(100, "1", "old", "done", 150));
        writer.flush();
        let store = Store::open(&dir).unwrap();
        let purged = store
            .purge(1_000, &[("C1".into(), 300 * 1_000_000)])
            .unwrap();
        assert_eq!(
            purged,
            Purged {
                events: 2,
                resolved: 1
            }
        );
        assert_eq!(store.each_event(|_| {}).unwrap(), 3);
        assert!(store.similar("old", None, 5).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_store_is_named_with_its_file_and_the_fix() {
        let dir = temp_dir("damaged");
        let writer = Writer::spawn(&dir).unwrap();
        for i in 0..2_000 {
            writer.send(Write::Event {
                key: format!("C1|{i}"),
                channel: "C1".into(),
                ts: i,
                root: i,
                json: format!("{{\"text\":\"{}\"}}", "x".repeat(300)),
            });
        }
        assert!(writer.flush());
        drop(writer);
        let store = Store::open(&dir).unwrap();
        store.check().expect("a whole store passes");
        // All in the main file (none left in the WAL to mend it), as after a clean exit.
        store
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        drop(store);
        let path = dir.join(FILE);
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        // Found at open, or by the whole read: named either way.
        let err = Store::open(&dir).and_then(|s| s.check()).unwrap_err();
        let broken = err
            .downcast_ref::<Broken>()
            .unwrap_or_else(|| panic!("a Broken error, not {err:?}"));
        assert_eq!(broken.path, path);
        let said = err.to_string();
        assert!(said.contains(&path.display().to_string()), "{said}");
        assert!(
            said.contains("move it aside") && said.contains("conversations.history"),
            "{said}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
