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

/// Resolves on Ctrl-C or SIGTERM (and SIGHUP: the terminal went away).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut hup = signal(SignalKind::hangup()).ok();
        let wait = |s: Option<tokio::signal::unix::Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = wait(term.take()) => {}
            _ = wait(hup.take()) => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
