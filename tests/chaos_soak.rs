//! A short soak (see `tests/support/soak.rs`; `cargo run --release --example soak` runs it
//! for minutes): the real dashboard in tmux against `--chaos` with outages, error storms,
//! muted sockets, and itself killed and restarted; afterwards its store's desk equals a
//! clean replay of the emulator's history, and no action was performed twice.

#[path = "support/soak.rs"]
mod soak;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_survives_chaos_kills_and_restarts() {
    let tmux = std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !tmux {
        assert!(
            std::env::var_os("SWARMDECK_REQUIRE_TMUX").is_none(),
            "tmux is required here (SWARMDECK_REQUIRE_TMUX) but not installed"
        );
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let outcome = soak::run(&soak::Plan {
        bin: env!("CARGO_BIN_EXE_swarmdeck").into(),
        duration: Duration::from_secs(25),
        seed: 7,
        rate: 3.0,
        time_scale: 10.0,
        verbose: std::env::var_os("SWARMDECK_SOAK_VERBOSE").is_some(),
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{outcome:#?}");
    assert!(outcome.kills >= 1, "the dashboard was killed at least once");
    assert!(
        outcome.swarms > 10,
        "the desk holds the backlog and new swarms"
    );
    assert!(outcome.failed_calls > 0, "chaos made some calls fail");
}
