//! The local store (SQLite): what Slack cannot give back cheaply. For now, each
//! consumer's position — which lifecycle events it has already put out — so that `tail`
//! prints each event once across restarts, even with several processes on one store.
//!
//! The store holds customers' words: its folder is 0700 and its files 0600.

use color_eyre::eyre::{Result, WrapErr};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

const FILE: &str = "swarmdeck.db";

/// Schema migrations, in order; `PRAGMA user_version` says how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: consumers' positions.
    "CREATE TABLE emitted (
        consumer TEXT NOT NULL,
        key TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (consumer, key)
    ) WITHOUT ROWID;",
];

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if need be) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        create_private_dir(dir)?;
        let path = dir.join(FILE);
        create_private_file(&path)?;
        let conn = Connection::open(&path)
            .wrap_err_with(|| format!("could not open the store at {}", path.display()))?;
        // Several swarmdeck processes may share the store: one writer at a time, the
        // others wait rather than fail.
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let mut store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
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
    pub fn claim(&self, consumer: &str, key: &str, at_secs: i64) -> Result<bool> {
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO emitted (consumer, key, at) VALUES (?1, ?2, ?3)",
            params![consumer, key, at_secs],
        )?;
        Ok(inserted == 1)
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
}
