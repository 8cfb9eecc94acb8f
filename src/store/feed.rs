//! The store as the local bus: every event one process stores, the other processes on
//! the same store read back within a fraction of a second. Slack hands each Socket Mode
//! event to one connection of the app; processes sharing a store each see all of them
//! this way.
//!
//! A watcher thread asks SQLite whether anyone else committed (`PRAGMA data_version`
//! changes only then; the check costs no disk read) a few times a second, and only then
//! reads the feed rows past the last one it passed on that another process wrote.

use color_eyre::eyre::Result;
use rusqlite::{Connection, params};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often the watcher looks: well inside the second a neighbour's event may take.
const LOOK_EVERY: Duration = Duration::from_millis(150);
/// Rows passed on per read: a burst is passed on in pieces, never all in one allocation.
const PAGE: i64 = 500;

/// The events another process stored, as they were stored (JSON), oldest first.
pub struct Feed {
    rx: mpsc::UnboundedReceiver<Vec<String>>,
}

impl Feed {
    /// Watches the store in `dir` for events stored after feed position `after` (see
    /// [`super::Store::feed_end`]) by any process but `me`. The thread stops when the
    /// feed is dropped.
    pub fn watch(dir: &Path, me: &str, after: i64) -> Result<Feed> {
        let store = super::Store::open(dir)?;
        let conn = Connection::open(store.path())?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let me = me.to_string();
        std::thread::Builder::new()
            .name("store-feed".into())
            .spawn(move || watch(conn, &me, after, tx))?;
        Ok(Feed { rx })
    }

    /// The next batch of events from the other processes.
    pub async fn next(&mut self) -> Option<Vec<String>> {
        self.rx.recv().await
    }
}

fn watch(conn: Connection, me: &str, mut after: i64, tx: mpsc::UnboundedSender<Vec<String>>) {
    let mut version: Option<i64> = None;
    // Said once while it lasts, not every look.
    let mut failing = false;
    while !tx.is_closed() {
        match conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0)) {
            Ok(v) if version == Some(v) => {}
            Ok(v) => {
                version = Some(v);
                // A page at a time until caught up.
                loop {
                    match read(&conn, me, after) {
                        Ok((last, rows, full)) => {
                            failing = false;
                            after = last;
                            if !rows.is_empty() && tx.send(rows).is_err() {
                                return;
                            }
                            if !full {
                                break;
                            }
                        }
                        Err(e) => {
                            if !std::mem::replace(&mut failing, true) {
                                tracing::warn!(error = %e, "could not read the store's feed; trying again");
                            }
                            // Read it again on the next look.
                            version = None;
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "could not watch the store; trying again");
                }
            }
        }
        std::thread::sleep(LOOK_EVERY);
    }
}

/// The feed rows after `after`: the position reached, the other processes' events, and
/// whether a whole page was read (more may follow).
fn read(conn: &Connection, me: &str, after: i64) -> rusqlite::Result<(i64, Vec<String>, bool)> {
    let mut stmt = conn.prepare_cached(
        "SELECT f.seq, f.origin, e.json FROM feed f LEFT JOIN events e ON e.key = f.key
         WHERE f.seq > ?1 ORDER BY f.seq LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![after, PAGE])?;
    let mut last = after;
    let mut out = Vec::new();
    let mut n = 0;
    while let Some(row) = rows.next()? {
        n += 1;
        last = row.get(0)?;
        let origin: String = row.get(1)?;
        let json: Option<String> = row.get(2)?;
        if let (true, Some(json)) = (origin != me, json) {
            out.push(json);
        }
    }
    Ok((last, out, n == PAGE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Write, Writer};

    fn event(key: &str) -> Write {
        Write::Event {
            key: key.into(),
            channel: "C1".into(),
            ts: 1,
            root: 1,
            json: format!("{{\"key\":\"{key}\"}}"),
        }
    }

    #[tokio::test]
    async fn each_process_reads_what_the_others_stored_once_and_never_its_own() {
        let dir = std::env::temp_dir().join(format!("swarmdeck-feed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = Writer::spawn_as(&dir, "a").unwrap();
        let b = Writer::spawn_as(&dir, "b").unwrap();
        a.send(event("before"));
        a.flush();
        let after = crate::store::Store::open(&dir).unwrap().feed_end().unwrap();
        let mut feed = Feed::watch(&dir, "a", after).unwrap();
        b.send(event("k1"));
        a.send(event("k2"));
        b.flush();
        a.flush();
        // The same event again, from either: stored once, fed once.
        b.send(event("k1"));
        a.send(event("k1"));
        b.send(event("k3"));
        b.flush();
        a.flush();
        let mut got = Vec::new();
        while got.len() < 2 {
            let batch = tokio::time::timeout(Duration::from_secs(10), feed.next())
                .await
                .expect("the feed within seconds")
                .unwrap();
            got.extend(batch);
        }
        assert_eq!(got, ["{\"key\":\"k1\"}", "{\"key\":\"k3\"}"]);
        assert!(
            tokio::time::timeout(Duration::from_millis(600), feed.next())
                .await
                .is_err(),
            "nothing more: not its own, not before it started, not twice"
        );
        drop((a, b, feed));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
