//! `swarmdeck check`: is this setup usable? A line per check — ✓, ! (a warning) or ✗ with
//! the fix — and success only when nothing failed. It passes with tokens in the
//! environment and no config file.

use crate::config::{Overrides, Settings, tokens_exposed};
use crate::domain::text::sanitize;
use crate::slack::{self, SlackError, WebClient, WebPolicy, wire};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The bot scopes swarmdeck uses (the manifest in `assets/` asks for exactly these).
pub const REQUIRED_SCOPES: &[&str] = &[
    "bookmarks:read",
    "bookmarks:write",
    "channels:history",
    "channels:join",
    "channels:manage",
    "channels:read",
    "chat:write",
    "groups:history",
    "groups:read",
    "groups:write",
    "im:write",
    "metadata.message:read",
    "reactions:read",
    "reactions:write",
    "usergroups:read",
    "users:read",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug)]
pub struct Line {
    pub verdict: Verdict,
    pub what: String,
    pub fix: Option<String>,
}

impl Line {
    fn pass(what: impl Into<String>) -> Line {
        Line {
            verdict: Verdict::Pass,
            what: what.into(),
            fix: None,
        }
    }
    fn warn(what: impl Into<String>, fix: impl Into<String>) -> Line {
        Line {
            verdict: Verdict::Warn,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }
    fn fail(what: impl Into<String>, fix: impl Into<String>) -> Line {
        Line {
            verdict: Verdict::Fail,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The report as printed: a line per check, the fix indented under it.
pub fn render(lines: &[Line]) -> String {
    let mut out = String::new();
    for l in lines {
        let mark = match l.verdict {
            Verdict::Pass => "✓",
            Verdict::Warn => "!",
            Verdict::Fail => "✗",
        };
        let _ = writeln!(out, "{mark} {}", l.what);
        if let Some(fix) = &l.fix {
            let _ = writeln!(out, "    fix: {fix}");
        }
    }
    out
}

/// Runs every check that can run; later checks are skipped when what they need failed.
pub async fn run(overrides: &Overrides) -> Vec<Line> {
    let mut lines = Vec::new();
    let settings = match Settings::load(overrides) {
        Ok(s) => s,
        Err(e) => {
            lines.push(Line::fail(
                format!("config: {e}"),
                "correct it as the line says, then run swarmdeck check again",
            ));
            return lines;
        }
    };
    if let Err(e) = settings.keymap() {
        lines.push(Line::fail(
            format!("config: {e}"),
            "correct [keys] in the config",
        ));
        return lines;
    }
    match &settings.path {
        Some(p) => lines.push(Line::pass(format!("config: {} parses", p.display()))),
        None => lines.push(Line::pass(
            "config: no file (tokens from the environment, pods discovered)",
        )),
    }
    // Before the tokens: a damaged store stops the dashboard whatever Slack says.
    lines.push(check_store(&settings));
    if let Some(p) = &settings.path
        && tokens_exposed(p, &settings.file)
    {
        lines.push(Line::warn(
            format!(
                "config: {} holds tokens and others can read it",
                p.display()
            ),
            format!("chmod 600 {}", p.display()),
        ));
    }
    let (Some(bot), Some(app)) = (settings.bot_token.clone(), settings.app_token.clone()) else {
        if settings.bot_token.is_none() {
            lines.push(Line::fail(
                "no bot token",
                "set SLACK_BOT_TOKEN=xoxb-… (OAuth & Permissions → Bot User OAuth Token) or `bot_token` under [slack]",
            ));
        }
        if settings.app_token.is_none() {
            lines.push(Line::fail(
                "no app-level token",
                "set SLACK_APP_TOKEN=xapp-… (Basic Information → App-Level Tokens, scope connections:write) or `app_token` under [slack]",
            ));
        }
        return lines;
    };
    let policy = WebPolicy {
        max_attempts: 3,
        ..WebPolicy::default()
    };
    let web = match WebClient::new(&settings.api_url, bot, Some(app), policy) {
        Ok(w) => w,
        Err(e) => {
            lines.push(Line::fail(
                format!("Slack client: {e}"),
                "check SLACK_API_URL",
            ));
            return lines;
        }
    };

    // The bot token, and the scopes it was granted.
    let auth = match web
        .call_with_scopes::<wire::AuthTest>("auth.test", &[])
        .await
    {
        Ok(answer) => {
            let a = answer.value;
            lines.push(Line::pass(format!(
                "bot token: {} as bot user {}",
                if a.team.is_empty() {
                    a.team_id.clone()
                } else {
                    a.team.clone()
                },
                a.user_id
            )));
            Some((a, answer.scopes))
        }
        Err(e) => {
            lines.push(token_failure("bot token", &e, &settings.api_url));
            None
        }
    };
    // The bus first: its publishers are the team's connections, not a split.
    let bus = match (&auth, crate::session::bus_target(&settings)) {
        (Some((a, _)), Some(target)) => Some(check_bus(&target, &a.team_id).await),
        _ => None,
    };
    let publishers = bus
        .as_ref()
        .and_then(|(_, found)| found.as_ref())
        .map_or_else(Vec::new, |c| c.publishers.clone());
    match web
        .call_app::<wire::ConnectionsOpen>("apps.connections.open")
        .await
    {
        Ok(_) => {
            lines.push(Line::pass(
                "app-level token: opens a Socket Mode connection",
            ));
            lines.push(check_company(&settings, &web, publishers).await);
        }
        Err(e) => lines.push(token_failure("app-level token", &e, &settings.api_url)),
    }
    if let Some((line, _)) = bus {
        lines.push(line);
    }
    let Some((_, scopes)) = auth else {
        return lines;
    };
    let granted: BTreeSet<&str> = scopes
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let missing: Vec<&str> = REQUIRED_SCOPES
        .iter()
        .copied()
        .filter(|s| !granted.contains(s))
        .collect();
    if missing.is_empty() {
        lines.push(Line::pass(format!(
            "scopes: all {} that swarmdeck uses are granted",
            REQUIRED_SCOPES.len()
        )));
    } else {
        lines.push(Line::fail(
            format!("scopes: missing {}", missing.join(", ")),
            "add them under OAuth & Permissions → Bot Token Scopes (or re-create the app from assets/slack-app-manifest.yml), then reinstall the app",
        ));
    }

    check_pods(&settings, &web, &mut lines).await;
    check_peers(&settings.peer_bots(), &web, &mut lines).await;

    match &settings.file.lead {
        None => lines.push(Line::warn(
            "lead: not set, so swarmdeck invites no lead to incident channels",
            "add `lead = \"U…\"` (your Slack member id: profile → ⋮ → Copy member ID) to the config",
        )),
        Some(lead) => match slack::directory::person(&web, lead).await {
            Ok(_) => lines.push(Line::pass(format!("lead: {lead}"))),
            Err(e) => lines.push(Line::fail(
                format!("lead: {lead} is not a user here ({e})"),
                "set `lead` to your member id (profile → ⋮ → Copy member ID)",
            )),
        },
    }
    lines
}

/// The local store: none yet (the first run makes it), or one SQLite reads whole.
fn check_store(settings: &Settings) -> Line {
    let path = crate::store::file_in(&settings.data_dir);
    if !path.exists() {
        return Line::pass(format!(
            "store: none yet at {}; the first run makes it",
            path.display()
        ));
    }
    let checked = crate::store::Store::open(&settings.data_dir).and_then(|store| store.check());
    match checked {
        Ok(()) => Line::pass(format!("store: {} reads whole", path.display())),
        Err(e) => match e.downcast_ref::<crate::store::Broken>() {
            Some(broken) => Line::fail(broken.what(), broken.fix()),
            None => Line::fail(
                format!("store: {e}"),
                format!(
                    "make {} readable and writable by you, or point --data-dir elsewhere",
                    settings.data_dir.display()
                ),
            ),
        },
    }
}

/// The team bus: reachable, and the workspace's stream found or created.
async fn check_bus(
    target: &crate::bus::Target,
    team_id: &str,
) -> (Line, Option<crate::bus::Checked>) {
    match tokio::time::timeout(
        std::time::Duration::from_secs(15),
        crate::bus::check(target, team_id),
    )
    .await
    {
        Ok(Ok(found)) => (
            Line::pass(format!(
                "team bus: {} — {}, {} publishing now",
                target.shown(),
                found.summary,
                found.publishers.len()
            )),
            Some(found),
        ),
        Ok(Err(e)) => (
            Line::fail(
                format!("team bus: {e}"),
                "start the NATS server with JetStream (`nats-server -js`), check [team] bus and its credentials, or remove [team] bus to run without one",
            ),
            None,
        ),
        Err(_) => (
            Line::fail(
                format!("team bus: {} did not answer in 15 s", target.shown()),
                "check that the NATS server runs and is reachable from here",
            ),
            None,
        ),
    }
}

/// Who else consumes the app: a hello counts its connections; this store's processes
/// share what they receive, anyone else splits the stream.
async fn check_company(
    settings: &Settings,
    web: &WebClient,
    publishers: Vec<crate::bus::Beat>,
) -> Line {
    // Known to this store's processes while it looks, so that their probes do not
    // take this short connection for a split.
    let stored = settings
        .data_dir
        .join("swarmdeck.db")
        .exists()
        .then(|| crate::session::Stored::open(settings).ok())
        .flatten();
    let now = chrono::Utc::now().timestamp();
    if let Some(s) = &stored {
        s.writer.send(crate::store::Write::Beat {
            kind: "check",
            connections: 1,
            at: now,
        });
        s.writer.flush();
    }
    let counted = slack::socket::count_connections(web, std::time::Duration::from_secs(15)).await;
    let mut neighbours = stored.as_ref().map_or_else(Vec::new, |s| {
        s.store
            .neighbours(s.writer.origin(), now - crate::store::BEAT_STALE_SECS)
            .unwrap_or_default()
    });
    // The bus's publishers share what they receive: company, once each.
    for beat in publishers
        .iter()
        .filter(|b| now as f64 - b.at < crate::store::BEAT_STALE_SECS as f64)
    {
        if !neighbours.iter().any(|n| n.id == beat.origin) {
            neighbours.push(crate::store::Neighbour {
                id: beat.origin.clone(),
                kind: "bus".into(),
                pid: 0,
                connections: beat.connections,
            });
        }
    }
    match counted {
        Err(e) => Line::warn(
            format!("socket mode: could not count the app's connections ({e})"),
            "run swarmdeck check again; if it persists, check Socket Mode is on for the app",
        ),
        Ok(n) => {
            let mut company = crate::company::Company::default();
            company.on_hello(n, 1, neighbours);
            let shared = company.neighbours().len();
            match company.warning() {
                Some(warning) => Line::warn(
                    format!("socket mode: {}", warning.trim_start_matches("⚠ ")),
                    "give each lead their own Slack app and list the others under [team] peer_bots, run every copy on one machine with one --data-dir, or share a team bus (README \"Several leads\")",
                ),
                None if shared == 0 => Line::pass("socket mode: no other consumers on this app"),
                None => Line::pass(format!(
                    "socket mode: no other consumers on this app ({shared} other swarmdeck process{} share what they receive, through this store or the team bus)",
                    if shared == 1 { "" } else { "es" }
                )),
            }
        }
    }
}

/// The pod channels: configured ones must exist with the bot in them; with none
/// configured, the bot must be in at least one channel.
async fn check_pods(settings: &Settings, web: &WebClient, lines: &mut Vec<Line>) {
    let member_of = match slack::list_member_channels(web).await {
        Ok(c) => c,
        Err(e) => {
            lines.push(Line::fail(
                format!("pods: cannot list the bot's channels ({e})"),
                "see the scopes line above",
            ));
            return;
        }
    };
    let channels: Vec<(String, String)> = member_of
        .iter()
        .map(|c| crate::slack::translate::channel_name(&c.id, &c.name))
        .collect();
    let (pods, missing) = settings.pods(&channels);
    if settings.file.pods.is_empty() {
        if pods.is_empty() {
            lines.push(Line::fail(
                "pods: the bot is in no channel, so there is no pod",
                "in each pod's swarm channel, type /invite @swarmdeck",
            ));
        } else {
            let names: Vec<String> = pods
                .iter()
                .map(|p| format!("{} (#{})", p.name, channel_name(&channels, &p.channel)))
                .collect();
            lines.push(Line::pass(format!(
                "pods (discovered): {}",
                names.join(", ")
            )));
        }
        return;
    }
    for p in &pods {
        lines.push(Line::pass(format!(
            "pod {}: #{}, the bot is in it",
            p.name,
            channel_name(&channels, &p.channel)
        )));
    }
    if missing.is_empty() {
        return;
    }
    // Every channel the bot can see, to tell "missing" from "not invited".
    let all = slack::list_channels(web, "conversations.list")
        .await
        .unwrap_or_default();
    for wanted in missing {
        let bare = wanted.trim_start_matches('#');
        match all.iter().find(|c| c.id == bare || c.name == bare) {
            Some(c) => lines.push(Line::fail(
                format!("pod channel #{}: the bot is not in it", c.name),
                format!("in #{}, type /invite @swarmdeck", c.name),
            )),
            None => lines.push(Line::fail(
                format!("pod channel {wanted}: no such channel"),
                "create it, or correct `channel` in its [[pods]] entry (a name like swarm-api or an id like C0…)",
            )),
        }
    }
}

/// Where the lead finds a peer's id, for every line that doubts one.
const PEER_ID_FIX: &str = "check the id in the other lead's app: Basic Information → App ID / the bot's id from auth.test";

/// When Slack would not say: the id is trusted anyway.
const CANNOT_CHECK_FIX: &str =
    "swarmdeck trusts it as written; fix what stopped the check, then run swarmdeck check again";

/// Each of `[team] peer_bots` must be a bot (bots.info) or an app with a bot user here
/// (users.list): a mistyped id would silently ignore that lead's moves. A warning, not a
/// failure: swarmdeck works without its peers.
async fn check_peers(peers: &[String], web: &WebClient, lines: &mut Vec<Line>) {
    // users.list is read once, and only if an app id needs it.
    let mut bot_users = None;
    for peer in peers {
        let line = if peer.starts_with('B') {
            peer_bot(peer, web).await
        } else {
            if bot_users.is_none() {
                let page = [("limit", "200".to_string())];
                bot_users = Some(web.pages::<wire::BotUserPage>("users.list", &page).await);
            }
            peer_app(peer, bot_users.as_ref().expect("read above"))
        };
        lines.push(line);
    }
}

/// A peer's bot id, as bots.info knows it.
async fn peer_bot(peer: &str, web: &WebClient) -> Line {
    let info = web
        .call::<wire::BotInfo>("bots.info", &[("bot", peer.to_string())])
        .await;
    match info {
        Ok(info) => {
            let app = info.bot.app_id.map(|a| format!(", app {a}"));
            Line::pass(format!(
                "peer bot {peer} ({}{}) known",
                sanitize(&info.bot.name, 80),
                app.unwrap_or_default()
            ))
        }
        Err(e) if e.slack_error() == Some("bot_not_found") => Line::warn(
            format!("peer bot {peer}: no such bot in this workspace"),
            PEER_ID_FIX,
        ),
        Err(e) => Line::warn(
            format!("peer bot {peer}: cannot be checked ({e})"),
            CANNOT_CHECK_FIX,
        ),
    }
}

/// A peer's app id: an app is here when one of the workspace's bot users belongs to it.
fn peer_app(peer: &str, bot_users: &Result<Vec<wire::BotUser>, SlackError>) -> Line {
    let users = match bot_users {
        Ok(users) => users,
        Err(e) => {
            return Line::warn(
                format!("peer app {peer}: cannot be checked ({e})"),
                CANNOT_CHECK_FIX,
            );
        }
    };
    match users
        .iter()
        .find(|u| u.is_bot && u.profile.api_app_id.as_deref() == Some(peer))
    {
        Some(u) => {
            let bot = u.profile.bot_id.as_deref().map(|b| format!("bot {b}, "));
            Line::pass(format!(
                "peer app {peer} ({}@{}) known",
                bot.unwrap_or_default(),
                sanitize(&u.name, 80)
            ))
        }
        None => Line::warn(
            format!("peer app {peer}: no bot of this app in the workspace"),
            PEER_ID_FIX,
        ),
    }
}

fn channel_name<'a>(channels: &'a [(String, String)], id: &'a str) -> &'a str {
    channels
        .iter()
        .find(|(i, _)| i == id)
        .map_or(id, |(_, n)| n.as_str())
}

fn token_failure(which: &str, e: &SlackError, api_url: &str) -> Line {
    let fix = match e.slack_error() {
        Some(_) => token_fix(which, e),
        None => format!(
            "could not reach Slack at {api_url}: {}",
            token_fix(which, e)
        ),
    };
    Line::fail(format!("{which}: {e}"), fix)
}

/// What to do when Slack refused a token (`which`: "bot token" or "app-level token") or
/// could not be reached; shared with the binary's own last word when it cannot start.
/// No token prefix in it: a tail's output must hold nothing that looks like a token.
pub fn token_fix(which: &str, e: &SlackError) -> String {
    match e.slack_error() {
        Some(error) if is_refusal(error) => match which {
            "bot token" => "Slack refused it: copy the Bot User OAuth Token again from OAuth & Permissions; reinstall the app if it was revoked".to_string(),
            _ => "Slack refused it: create an app-level token with connections:write under Basic Information → App-Level Tokens".to_string(),
        },
        Some("not_allowed_token_type") => format!("this is not a {which}: swap SLACK_BOT_TOKEN and SLACK_APP_TOKEN?"),
        Some("missing_scope") => "the app-level token needs the connections:write scope".into(),
        Some(other) => format!("Slack said `{other}`: see https://api.slack.com/methods"),
        None => "check the network, a proxy, or SLACK_API_URL".into(),
    }
}

/// Slack's answers that mean the token itself is no good.
pub fn is_refusal(error: &str) -> bool {
    matches!(
        error,
        "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_as_a_checklist() {
        let out = render(&[
            Line::pass("a"),
            Line::warn("b", "do b"),
            Line::fail("c", "do c"),
        ]);
        assert_eq!(out, "✓ a\n! b\n    fix: do b\n✗ c\n    fix: do c\n");
    }
}
