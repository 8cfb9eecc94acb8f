//! swarmdeck: a terminal dashboard for support swarm leads, live over Slack Socket Mode.
//!
//! The binary is in `main.rs`; this library holds the pieces so that integration tests
//! and benchmarks can drive them directly.

#![forbid(unsafe_code)]

pub mod app;
pub mod bus;
pub mod check;
pub mod columns;
pub mod company;
pub mod config;
pub mod domain;
pub mod emulator;
pub mod logging;
pub mod report;
pub mod session;
pub mod slack;
pub mod store;
pub mod tail;
pub mod ui;

static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Notes when the process started (first thing in `main`), for start-up timings.
pub fn mark_start() {
    let _ = STARTED.set(std::time::Instant::now());
}

/// Time since [`mark_start`] (or since first asked, in a library user).
pub fn since_start() -> std::time::Duration {
    STARTED.get_or_init(std::time::Instant::now).elapsed()
}

/// The signals that end a process: Ctrl-C, SIGTERM, and SIGHUP (the terminal went away).
/// Listened to from the moment this is made, not from a first poll, so that one sent
/// early is not lost — once a handler is in place, a signal nobody awaits does nothing.
pub struct Shutdown {
    #[cfg(unix)]
    signals: [(&'static str, Option<tokio::signal::unix::Signal>); 3],
}

impl Shutdown {
    /// Must be called inside the tokio runtime.
    pub fn listen() -> Shutdown {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Shutdown {
                signals: [
                    ("SIGINT", signal(SignalKind::interrupt()).ok()),
                    ("SIGTERM", signal(SignalKind::terminate()).ok()),
                    ("SIGHUP", signal(SignalKind::hangup()).ok()),
                ],
            }
        }
        #[cfg(not(unix))]
        Shutdown {}
    }

    /// The next of those signals to arrive: its name. Cancel-safe, so it can sit in a
    /// `select!` loop.
    pub async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            async fn arrives(signal: &mut Option<tokio::signal::unix::Signal>) {
                // Not listened to (or the runtime is going): never.
                let Some(s) = signal else {
                    return std::future::pending().await;
                };
                if s.recv().await.is_none() {
                    std::future::pending::<()>().await
                }
            }
            let [(int, s_int), (term, s_term), (hup, s_hup)] = &mut self.signals;
            tokio::select! {
                () = arrives(s_int) => *int,
                () = arrives(s_term) => *term,
                () = arrives(s_hup) => *hup,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// Resolves on Ctrl-C, SIGTERM or SIGHUP (the terminal went away): the signal's name.
pub async fn shutdown_signal() -> &'static str {
    Shutdown::listen().next().await
}
