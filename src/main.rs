//! The `swarmdeck` command line.

#![forbid(unsafe_code)]

mod failure;

use clap::{Args, Parser, Subcommand};
use color_eyre::eyre::{Result, WrapErr};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use swarmdeck::app::{self, AppOptions};
use swarmdeck::config::{self, Overrides, Settings};
use swarmdeck::emulator::{self, EmulatorConfig, HistoryLimits, RateLimits};
use swarmdeck::shutdown_signal;
use swarmdeck::tail::{self, TailOptions};

#[derive(Parser, Debug)]
#[command(
    name = "swarmdeck",
    version,
    about = "A terminal dashboard for support swarm leads, live over Slack Socket Mode"
)]
struct Cli {
    /// Log filter (error, warn, info, debug, trace, or a tracing directive); `RUST_LOG` wins.
    #[arg(long, global = true, default_value = "warn")]
    log_level: String,

    /// The config file (default: $XDG_CONFIG_HOME/swarmdeck/config.toml, if it exists).
    #[arg(long, global = true, env = "SWARMDECK_CONFIG")]
    config: Option<PathBuf>,

    /// Where the local store lives (default: $XDG_DATA_HOME/swarmdeck; for `demo`, a
    /// temporary one, removed when the demo ends).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The dashboard on the built-in emulator, with a live workload: no Slack, no tokens.
    /// Its store is temporary unless --data-dir is given.
    Demo(DemoArgs),
    /// Run the Slack-compatible emulator: Web API, Socket Mode and a seeded support workspace.
    Emulator(EmulatorArgs),
    /// Print each swarm lifecycle event once, headless (a JSON object per line with --json).
    Tail(TailArgs),
    /// Check the config, the tokens, the scopes and the pod channels; exit 0 only if all is usable.
    Check,
    /// Metrics from the local history: per pod and overall.
    Report(ReportArgs),
    /// Remove history older than the retention (or --older-than) from the local store now.
    Purge(PurgeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Fixes the workspace and the workload.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// New swarm requests per minute across all pods.
    #[arg(long, default_value_t = 3.0)]
    rate: f64,
}

#[derive(Args, Debug)]
struct TailArgs {
    /// One JSON object per line (for jq, scripts, bots).
    #[arg(long)]
    json: bool,
    /// Whose position in the store to keep: each consumer gets every event once.
    #[arg(long, default_value = "tail")]
    consumer: String,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// How far back: swarms opened since then (`7d`, `24h`, `4w`).
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
    since: std::time::Duration,
    /// One pod only (its name, as the header shows it).
    #[arg(long)]
    pod: Option<String>,
    #[arg(long, value_enum, default_value_t = swarmdeck::report::Format::Table)]
    format: swarmdeck::report::Format,
}

#[derive(Args, Debug)]
struct PurgeArgs {
    /// Remove history older than this (default: `[store] retention`, else 180 days).
    #[arg(long, value_parser = humantime::parse_duration)]
    older_than: Option<std::time::Duration>,
}

#[derive(Args, Debug)]
struct EmulatorArgs {
    /// Where to listen; port 0 picks a free one. The base URL is the first line of stdout.
    #[arg(long, default_value = "127.0.0.1:3030")]
    addr: SocketAddr,
    /// New swarm requests per minute across all pods; 0 posts nothing at all.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Fixes the workspace, the workload and chaos.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Drops and refreshes sockets, duplicates and delays deliveries, fails some Web API calls.
    #[arg(long)]
    chaos: bool,
    /// `strict`: conversations.history/replies limited as for apps outside Slack's Marketplace.
    #[arg(long, value_enum, default_value_t = HistoryLimits::Normal)]
    history_limits: HistoryLimits,
    /// `slack`: Slack's rate limits (method tiers, about one post a second per channel),
    /// answered with 429 and Retry-After; `off` only for benchmarks that measure swarmdeck.
    #[arg(long, value_enum, default_value_t = RateLimits::Slack)]
    rate_limits: RateLimits,
    /// Run Slack's clock N times faster (retries, rate windows, the workload).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Scopes granted to the bot token, comma-separated (default: all swarmdeck asks for).
    #[arg(long, value_delimiter = ',')]
    scopes: Option<Vec<String>>,
    /// Apps in the workspace, each with its own bot and sockets; a token containing
    /// `-A<n>-` is app n's (`xapp-1-A2-…`), any other app 1's.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=99))]
    apps: u16,
}

fn main() -> ExitCode {
    swarmdeck::mark_start();
    let cli = Cli::parse();
    // The whole report, backtrace and all, is for a developer who asked for it.
    let debug = matches!(
        cli.log_level.trim().to_ascii_lowercase().as_str(),
        "debug" | "trace"
    );
    match install_hooks().and_then(|()| run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            failure::print(&error, debug);
            ExitCode::FAILURE
        }
    }
}

/// A panic's message is coloured only where [`failure::colour`] allows; the dashboard
/// adds its terminal restore on top when it starts.
fn install_hooks() -> Result<()> {
    let theme = if failure::colour() {
        color_eyre::config::Theme::dark()
    } else {
        color_eyre::config::Theme::new()
    };
    color_eyre::config::HookBuilder::default()
        .theme(theme)
        .install()
}

fn run(cli: Cli) -> Result<()> {
    let ui = matches!(cli.command, None | Some(Command::Demo(_)));
    let log_file = ui.then(|| {
        swarmdeck::config::default_log_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("swarmdeck.log")
    });
    swarmdeck::logging::init(&cli.log_level, log_file.as_deref())?;
    let overrides = Overrides {
        config: cli.config.clone(),
        data_dir: cli.data_dir.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .wrap_err("could not start the async runtime")?;
    match cli.command {
        None => {
            let settings = Settings::load(&overrides)?;
            failure::NoTokens::check(&settings)?;
            let options = AppOptions {
                keymap: settings.keymap()?,
                bell: settings.file.ui.bell.unwrap_or(true),
            };
            let result = runtime.block_on(app::run(settings, options));
            leave(runtime);
            result
        }
        Some(Command::Demo(args)) => {
            let result = runtime.block_on(run_demo(args, overrides));
            leave(runtime);
            result
        }
        Some(Command::Check) => {
            let lines = runtime.block_on(swarmdeck::check::run(&overrides));
            print!("{}", swarmdeck::check::render(&lines));
            let failed = lines
                .iter()
                .filter(|l| l.verdict == swarmdeck::check::Verdict::Fail)
                .count();
            if failed > 0 {
                println!("{failed} check(s) failed.");
                std::process::exit(1);
            }
            println!("All set: run `swarmdeck`.");
            Ok(())
        }
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "swarmdeck",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Some(Command::Emulator(args)) => runtime.block_on(run_emulator(args)),
        Some(Command::Report(args)) => {
            let settings = Settings::load(&overrides)?;
            let text = swarmdeck::report::run(
                &settings,
                &swarmdeck::report::ReportOptions {
                    since: args.since,
                    pod: args.pod,
                    format: args.format,
                },
            )?;
            print!("{text}");
            Ok(())
        }
        Some(Command::Purge(args)) => {
            let settings = Settings::load(&overrides)?;
            let older = args.older_than.unwrap_or_else(|| settings.retention());
            let purged = swarmdeck::session::purge(&settings, older)?;
            println!(
                "Removed {} stored events and {} resolved swarms older than {}.",
                purged.events,
                purged.resolved,
                humantime::format_duration(older)
            );
            Ok(())
        }
        Some(Command::Tail(args)) => {
            let settings = Settings::load(&overrides)?;
            failure::NoTokens::check(&settings)?;
            runtime.block_on(tail::run(
                settings,
                TailOptions {
                    json: args.json,
                    consumer: args.consumer,
                },
            ))
        }
    }
}

/// The dashboard has left: a blocking task still running (the store's purge, a DNS
/// lookup) must not hold the process up — dropping the runtime would wait for it.
fn leave(runtime: tokio::runtime::Runtime) {
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
}

async fn run_emulator(args: EmulatorArgs) -> Result<()> {
    if !(args.rate >= 0.0 && args.rate.is_finite()) {
        color_eyre::eyre::bail!(
            "--rate must be zero or more requests per minute, not {}",
            args.rate
        );
    }
    if !(args.time_scale > 0.0 && args.time_scale.is_finite()) {
        color_eyre::eyre::bail!(
            "--time-scale must be a positive number, not {}",
            args.time_scale
        );
    }
    let mut config = EmulatorConfig {
        addr: args.addr,
        rate: args.rate,
        seed: args.seed,
        chaos: args.chaos,
        history_limits: args.history_limits,
        rate_limits: args.rate_limits,
        time_scale: args.time_scale,
        apps: args.apps.into(),
        ..EmulatorConfig::default()
    };
    if let Some(scopes) = args.scopes {
        config.scopes = scopes
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    let running = emulator::start(config)
        .await
        .wrap_err_with(|| format!("could not listen on {}", args.addr))?;
    // Scripts read the base URL from the first line of stdout; the hints go to stderr so
    // that a reader that stops after one line cannot break the server.
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", running.base_url())?;
    out.flush()?;
    drop(out);
    eprintln!(
        "Web API: {}  (set SLACK_API_URL to this)",
        running.api_url()
    );
    eprintln!(
        "Control: {0}/_emulator/state, /calls, /deliveries, /events, /faults, /disconnect, /click, /experts",
        running.base_url()
    );
    tokio::select! {
        _ = running.wait() => {}
        _ = shutdown_signal() => {}
    }
    Ok(())
}

/// The emulator in-process with its backlog and a live workload, and the dashboard on it.
/// The demo workspace's pods: two keep office hours, in two time zones (their Sev2–4
/// clocks stop after hours; Sev1 runs around the clock), two run 24/7.
const DEMO_PODS: &str = r#"
[[pods]]
channel = "swarm-api"
hours = { tz = "Europe/Berlin", weekdays = "mon-fri", open = "08:00", close = "18:00" }
[[pods]]
channel = "swarm-billing"
hours = { tz = "America/New_York", weekdays = "mon-fri", open = "09:00", close = "17:00" }
[[pods]]
channel = "swarm-mobile"
[[pods]]
channel = "swarm-data"
"#;

async fn run_demo(args: DemoArgs, overrides: Overrides) -> Result<()> {
    if !(args.rate >= 0.0 && args.rate.is_finite()) {
        color_eyre::eyre::bail!(
            "--rate must be zero or more requests per minute, not {}",
            args.rate
        );
    }
    let running = emulator::start(EmulatorConfig {
        rate: args.rate,
        seed: args.seed,
        backlog: true,
        ..EmulatorConfig::default()
    })
    .await
    .wrap_err("could not start the built-in emulator")?;
    // The demo keeps its own store: it must not mix into the lead's real history.
    let temporary = overrides.data_dir.is_none();
    let data_dir = overrides.data_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("swarmdeck-demo-{}", std::process::id()))
    });
    let mut settings = Settings::demo(&running.api_url(), data_dir.clone());
    settings.file.pods = config::parse(DEMO_PODS)
        .expect("the demo's pods parse")
        .pods;
    let result = app::run(settings, AppOptions::default()).await;
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_pods_parse_with_hours_in_two_zones() {
        let file = swarmdeck::config::parse(super::DEMO_PODS).expect("parses");
        let zones: Vec<String> = file
            .pods
            .iter()
            .filter_map(|p| p.hours.as_ref().map(|h| h.0.tz.name().to_string()))
            .collect();
        assert_eq!(zones, ["Europe/Berlin", "America/New_York"]);
        assert_eq!(file.pods.len(), 4, "every demo pod stays a pod");
    }
}
