//! A real `nats-server` with JetStream for the team bus tests: its own port and store
//! dir, and `stop`/`restart` on the same port and store to play a bus that goes away.

use super::DEADLINE;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub struct Nats {
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    pub port: u16,
    /// The server's own temp dir: the JetStream store (`store/`) and a log per start.
    pub dir: PathBuf,
    binary: PathBuf,
    child: Option<Child>,
    starts: u32,
}

/// `nats-server` on PATH, else where Debian puts it (`/usr/sbin`, often not on a user's PATH).
fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("nats-server"))
        .chain([PathBuf::from("/usr/sbin/nats-server")])
        .find(|p| p.is_file())
}

/// A free port now; another process may take it before the server binds it, which
/// `start` retries.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts a server, or returns `None` (saying so) when `nats-server` is not installed and
/// `SWARMDECK_REQUIRE_NATS` is not set.
pub fn start() -> Option<Nats> {
    let Some(binary) = binary() else {
        if std::env::var_os("SWARMDECK_REQUIRE_NATS").is_some() {
            panic!("nats-server is required here (SWARMDECK_REQUIRE_NATS) but not installed");
        }
        println!("skipped: nats-server is not installed");
        return None;
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "swarmdeck-nats-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("the server's temp dir");
    let mut nats = Nats {
        url: String::new(),
        port: 0,
        dir,
        binary,
        child: None,
        starts: 0,
    };
    for _ in 0..5 {
        nats.port = free_port();
        nats.url = format!("nats://127.0.0.1:{}", nats.port);
        if nats.spawn() {
            return Some(nats);
        }
    }
    panic!(
        "nats-server did not start on any of 5 ports:\n{}",
        nats.log()
    );
}

impl Nats {
    /// Kills the server (as a crash would) and keeps its store for `restart`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store: JetStream finds its streams.
    pub fn restart(&mut self) {
        self.stop();
        assert!(
            self.spawn(),
            "nats-server did not restart on port {}:\n{}",
            self.port,
            self.log()
        );
    }

    /// The current (or last) start's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path(self.starts)).unwrap_or_default()
    }

    fn log_path(&self, start: u32) -> PathBuf {
        self.dir.join(format!("nats-{start}.log"))
    }

    /// Spawns the server on `self.port`; true once it is ready and accepting connections,
    /// false when it exited first (the port was taken).
    fn spawn(&mut self) -> bool {
        self.starts += 1;
        let log_path = self.log_path(self.starts);
        let log = std::fs::File::create(&log_path).expect("the server's log");
        let child = Command::new(&self.binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.dir.join("store"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log, twice"))
            .stderr(log)
            .spawn()
            .expect("nats-server runs");
        self.child = Some(child);
        let deadline = Instant::now() + DEADLINE;
        loop {
            let child = self.child.as_mut().expect("just spawned");
            if child.try_wait().expect("the server's status").is_some() {
                self.child = None;
                return false;
            }
            // Our own log saying so, not just a connection: the port might be another's.
            let ready =
                std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains("Server is ready"));
            if ready && TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "nats-server was not ready within {DEADLINE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
