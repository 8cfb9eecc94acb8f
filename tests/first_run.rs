//! A newcomer's first run, the real binary with stderr piped: each way it cannot start
//! (no tokens, a bad config, a refused token, Slack out of reach) is a plain line of what
//! is wrong and what to do, and a line or two more — no colour under NO_COLOR, and no
//! backtrace even with RUST_BACKTRACE=1 unless `--log-level debug` asks for one.

mod common;

use std::path::{Path, PathBuf};
use tokio::process::Command;

struct Run {
    ok: bool,
    err: String,
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.err.lines().collect()
    }

    /// Short, no escape codes, no eyre dump.
    fn assert_plain(&self, what: &str) {
        assert!(!self.ok, "{what}: must fail\n{}", self.err);
        assert!(
            self.lines().len() <= 4,
            "{what}: a few lines at most\n{}",
            self.err
        );
        assert!(
            !self.err.contains('\x1b'),
            "{what}: colour under NO_COLOR\n{}",
            self.err
        );
        for dump in ["BACKTRACE", "Location:", "Error:", "   0: "] {
            assert!(
                !self.err.contains(dump),
                "{what}: {dump:?} printed\n{}",
                self.err
            );
        }
    }
}

/// A HOME of its own: no config file, no store, no Slack tokens from the developer's
/// environment.
fn home(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("swarmdeck-first-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn swarmdeck(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_swarmdeck"));
    cmd.args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "1")
        .stdin(std::process::Stdio::null());
    for var in [
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "SWARMDECK_CONFIG",
        "SWARMDECK_TEAM_BUS",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

async fn start(mut cmd: Command) -> Run {
    let output = cmd.output().await.expect("swarmdeck runs");
    Run {
        ok: output.status.success(),
        err: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn no_tokens_and_no_config_is_one_line_that_points_to_the_demo() {
    let home = home("no-tokens");
    let run = start(swarmdeck(&home, &[])).await;
    run.assert_plain("no tokens");
    let first = run.lines()[0];
    assert!(
        first.starts_with("swarmdeck: no Slack tokens")
            && first.contains("swarmdeck demo")
            && first.contains("swarmdeck check"),
        "{}",
        run.err
    );
    assert!(
        run.err.contains("SLACK_BOT_TOKEN") && run.err.contains("SLACK_APP_TOKEN"),
        "where the tokens go: {}",
        run.err
    );
    // One token is not enough either, and the line says which is missing.
    let mut cmd = swarmdeck(&home, &[]);
    cmd.env("SLACK_BOT_TOKEN", common::BOT);
    let run = start(cmd).await;
    run.assert_plain("no app-level token");
    assert!(
        run.lines()[0].starts_with("swarmdeck: no Slack app-level token")
            && run.err.contains("SLACK_APP_TOKEN")
            && !run.err.contains(common::BOT),
        "{}",
        run.err
    );
    std::fs::remove_dir_all(&home).unwrap();
}

#[tokio::test]
async fn only_debug_logging_shows_the_whole_report() {
    let home = home("debug");
    let run = start(swarmdeck(&home, &["--log-level", "debug"])).await;
    assert!(!run.ok);
    assert!(
        run.lines()[0].starts_with("swarmdeck: no Slack tokens"),
        "the plain line still comes first: {}",
        run.err
    );
    assert!(run.err.contains("BACKTRACE"), "{}", run.err);
    std::fs::remove_dir_all(&home).unwrap();
}

#[tokio::test]
async fn a_bad_config_names_the_file_the_line_and_the_key_plainly() {
    let home = home("bad-config");
    let config = home.join("swarmdeck.toml");
    std::fs::write(&config, "[slack]\nbot_tokn = \"xoxb-1\"\n").unwrap();
    let run = start(swarmdeck(&home, &["--config", config.to_str().unwrap()])).await;
    run.assert_plain("a bad config");
    let first = run.lines()[0];
    assert!(
        first.starts_with(&format!("swarmdeck: {}:2:", config.display()))
            && first.contains("bot_tokn"),
        "{}",
        run.err
    );
    assert!(run.err.contains("swarmdeck demo"), "{}", run.err);
    std::fs::remove_dir_all(&home).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_named_with_what_to_do() {
    let emu = common::quiet().await;
    let home = home("bad-token");
    let mut cmd = swarmdeck(&home, &[]);
    cmd.env("SLACK_API_URL", format!("{}/api/", emu.base()))
        .env("SLACK_BOT_TOKEN", "xoxb-1")
        .env("SLACK_APP_TOKEN", common::APP);
    let run = start(cmd).await;
    run.assert_plain("a refused token");
    assert!(
        run.err
            .contains("swarmdeck: Slack refused the bot token (auth.test: invalid_auth)")
            && run.err.contains("swarmdeck check")
            && run.err.contains("Bot User OAuth Token"),
        "{}",
        run.err
    );
    assert!(
        !run.err.contains("xoxb-1") && !run.err.contains(common::APP),
        "a token was printed: {}",
        run.err
    );
    std::fs::remove_dir_all(&home).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_out_of_reach_says_where_it_looked() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/api/");
    let home = home("unreachable");
    let mut cmd = swarmdeck(&home, &[]);
    cmd.env("SLACK_API_URL", &url)
        .env("SLACK_BOT_TOKEN", common::BOT)
        .env("SLACK_APP_TOKEN", common::APP);
    let run = start(cmd).await;
    run.assert_plain("Slack out of reach");
    assert!(
        run.err
            .contains(&format!("swarmdeck: could not connect to Slack at {url}"))
            && run.err.contains("SLACK_API_URL")
            && run.err.contains("swarmdeck check"),
        "{}",
        run.err
    );
    std::fs::remove_dir_all(&home).unwrap();
}
