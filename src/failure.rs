//! The last word of a swarmdeck that cannot start, or that stops outside the dashboard:
//! one plain line of what is wrong and what to do, a line or two of specifics, and the
//! full report with its backtrace only when asked for with `--log-level debug`.

use color_eyre::eyre::Report;
use std::fmt;
use std::io::{IsTerminal, Write};
use swarmdeck::check::{is_refusal, token_fix};
use swarmdeck::config::{ConfigError, Settings, default_config_path};
use swarmdeck::slack::web::SlackError;

/// A command that talks to Slack was started without its tokens.
#[derive(Debug)]
pub struct NoTokens {
    bot: bool,
    app: bool,
    config: String,
}

impl NoTokens {
    /// The tokens `settings` lack, if any.
    pub fn check(settings: &Settings) -> Result<(), NoTokens> {
        let (bot, app) = (settings.bot_token.is_none(), settings.app_token.is_none());
        if !bot && !app {
            return Ok(());
        }
        let config = settings
            .path
            .clone()
            .or_else(default_config_path)
            .map_or_else(|| "the config file".into(), |p| p.display().to_string());
        Err(NoTokens { bot, app, config })
    }

    /// Where each missing token goes.
    fn where_to_put_them(&self) -> String {
        let (vars, keys) = match (self.bot, self.app) {
            (true, true) => (
                "SLACK_BOT_TOKEN and SLACK_APP_TOKEN",
                "`bot_token` and `app_token`",
            ),
            (true, false) => ("SLACK_BOT_TOKEN", "`bot_token`"),
            _ => ("SLACK_APP_TOKEN", "`app_token`"),
        };
        format!(
            "set {vars} in the environment, or {keys} under [slack] in {}",
            self.config
        )
    }
}

impl fmt::Display for NoTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match (self.bot, self.app) {
            (true, true) => "no Slack tokens",
            (true, false) => "no Slack bot token",
            _ => "no Slack app-level token",
        };
        write!(f, "{what}: try `swarmdeck demo`, or see `swarmdeck check`")
    }
}

impl std::error::Error for NoTokens {}

/// A config error already names the file, the line, the key and the fix; this says
/// where to go from there.
const CONFIG_HINT: &str =
    "`swarmdeck check` checks the whole setup; `swarmdeck demo` runs without any config";

/// What the lead reads: the line, then the specifics.
fn explain(error: &Report) -> (String, Vec<String>) {
    for cause in error.chain() {
        if let Some(missing) = cause.downcast_ref::<NoTokens>() {
            return (missing.to_string(), vec![missing.where_to_put_them()]);
        }
        if let Some(config) = cause.downcast_ref::<ConfigError>() {
            let mut lines = config.0.lines().map(str::to_string);
            let first = lines.next().unwrap_or_default();
            return (first, lines.chain([CONFIG_HINT.to_string()]).collect());
        }
        if let Some(slack) = cause.downcast_ref::<SlackError>() {
            // Every Web API call is the bot token's but opening a socket.
            let which = if method(slack) == "apps.connections.open" {
                "app-level token"
            } else {
                "bot token"
            };
            if slack.slack_error().is_some_and(is_refusal) {
                return (
                    format!(
                        "Slack refused the {which} ({slack}): fix it, then run `swarmdeck check`"
                    ),
                    // The line above says it was refused; this says what to do.
                    vec![
                        token_fix(which, slack)
                            .trim_start_matches("Slack refused it: ")
                            .to_string(),
                    ],
                );
            }
            return (
                chain(error),
                vec![format!(
                    "{}; `swarmdeck check` says more",
                    token_fix(which, slack)
                )],
            );
        }
    }
    // A message of several lines is a line and its specifics already.
    let text = chain(error);
    let mut lines = text.lines().map(str::to_string);
    let first = lines.next().unwrap_or_default();
    (first, lines.collect())
}

fn method(e: &SlackError) -> &str {
    match e {
        SlackError::Api { method, .. }
        | SlackError::RateLimited { method }
        | SlackError::Http { method, .. }
        | SlackError::Transport { method, .. }
        | SlackError::Decode { method, .. } => method,
    }
}

/// The error and its causes on one line, outermost first.
fn chain(error: &Report) -> String {
    error
        .chain()
        .map(|cause| cause.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Writes `error` to stderr for the lead: plain, coloured only for a person at a terminal
/// who has not set NO_COLOR; the whole report (causes, location, backtrace) only with
/// `debug`.
pub fn print(error: &Report, debug: bool) {
    let (line, more) = explain(error);
    let name = if colour() {
        "\x1b[1;31mswarmdeck:\x1b[0m"
    } else {
        "swarmdeck:"
    };
    // Slack's error strings are in here: nothing in them may drive the terminal.
    let plain = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{name} {}", plain(&line));
    for detail in &more {
        let _ = writeln!(err, "  {}", plain(detail.trim_start()));
    }
    if debug {
        let _ = writeln!(err, "\n{error:?}");
    }
}

/// Colour is for a person at a terminal, and never under NO_COLOR (https://no-color.org).
pub fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
