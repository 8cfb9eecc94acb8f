//! `cargo run --release --example soak -- [--minutes N] [--seed S]`: the soak of
//! `tests/support/soak.rs` for minutes (default 5): the real dashboard in tmux against
//! `--chaos`, with outages, 429/5xx storms, muted sockets, and itself killed and
//! restarted; then its store's desk must equal a clean replay of the emulator's history,
//! and the emulator's calls must show no action performed twice.

#[path = "../tests/support/soak.rs"]
mod soak;
#[path = "../benches/support/mod.rs"]
mod support;

use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: f64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let minutes = arg("--minutes", 5.0);
    let seed = arg("--seed", 1.0) as u64;
    let bin = support::binary().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let plan = soak::Plan {
        bin,
        duration: Duration::from_secs_f64(minutes * 60.0),
        seed,
        rate: 3.0,
        time_scale: 10.0,
        verbose: true,
    };
    match runtime.block_on(soak::run(&plan)) {
        Ok(outcome) => println!("soak passed: {outcome:#?}"),
        Err(e) => {
            eprintln!("soak FAILED: {e}");
            std::process::exit(1);
        }
    }
}
