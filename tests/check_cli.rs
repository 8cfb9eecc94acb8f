//! `swarmdeck check`, the real binary, against the emulator: all green with a valid
//! setup, and each way a setup goes wrong gives its own message and a non-zero exit.
//! Config mistakes name the file, the line and the key. No token is ever printed.

mod common;

use common::{APP, BOT};
use swarmdeck::emulator::{ALL_BOT_SCOPES, EmulatorConfig};
use tokio::process::Command;

struct Run {
    ok: bool,
    out: String,
}

async fn check(emu: &common::Emu, bot: &str, app: &str, config: Option<&str>) -> Run {
    let dir = std::env::temp_dir().join(format!(
        "swarmdeck-check-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_swarmdeck"));
    cmd.arg("check")
        .env("SLACK_API_URL", format!("{}/api/", emu.base()))
        .env("SLACK_BOT_TOKEN", bot)
        .env("SLACK_APP_TOKEN", app)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env_remove("SWARMDECK_CONFIG")
        .env_remove("SWARMDECK_TEAM_BUS")
        .env_remove("RUST_LOG");
    if let Some(text) = config {
        let path = dir.join("swarmdeck.toml");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(&path);
    }
    let output = cmd.output().await.expect("swarmdeck runs");
    let _ = std::fs::remove_dir_all(&dir);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for token in [bot, app] {
        assert!(!out.contains(token), "a token was printed:\n{out}");
    }
    Run {
        ok: output.status.success(),
        out,
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

const GOOD_CONFIG: &str = r##"
lead = "U0LEAD0001"
[[pods]]
channel = "#swarm-api"
[[pods]]
channel = "swarm-billing"
sla.sev1 = { first_response = "10m", resolution = "3h" }
"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_setup_is_all_green() {
    let emu = common::quiet().await;
    let run = check(&emu, BOT, APP, Some(GOOD_CONFIG)).await;
    assert!(run.ok, "{}", run.out);
    assert!(
        !run.out.contains('✗') && !run.out.contains("\n!"),
        "{}",
        run.out
    );
    for line in [
        "✓ bot token",
        "✓ app-level token",
        "✓ scopes",
        "✓ pod api",
        "✓ pod billing",
        "✓ lead",
    ] {
        assert!(run.out.contains(line), "{line}:\n{}", run.out);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_alone_are_enough_and_the_missing_lead_is_a_warning() {
    let emu = common::quiet().await;
    let run = check(&emu, BOT, APP, None).await;
    assert!(run.ok, "{}", run.out);
    assert!(
        run.out.contains("✓ pods (discovered): api (#swarm-api)"),
        "{}",
        run.out
    );
    assert!(run.out.contains("! lead: not set"), "{}", run.out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_says_what_and_how_to_fix_it() {
    let emu = common::quiet().await;
    let cases: [(&str, &str, &str, Option<&str>, &str); 5] = [
        (
            "a refused bot token",
            "xoxb-1",
            APP,
            None,
            "✗ bot token: auth.test: invalid_auth",
        ),
        (
            "a refused app token",
            BOT,
            "xapp-1",
            None,
            "✗ app-level token: apps.connections.open: invalid_auth",
        ),
        (
            "tokens swapped",
            APP,
            BOT,
            None,
            "SLACK_APP_TOKEN must start with `xapp-`, but this is a bot token",
        ),
        (
            "a pod channel that does not exist",
            BOT,
            APP,
            Some("[[pods]]\nchannel = \"swarm-nope\"\n"),
            "✗ pod channel swarm-nope: no such channel",
        ),
        (
            "a pod channel without the bot",
            BOT,
            APP,
            Some("[[pods]]\nchannel = \"general\"\n"),
            "✗ pod channel #general: the bot is not in it\n    fix: in #general, type /invite @swarmdeck",
        ),
    ];
    let mut messages = Vec::new();
    for (what, bot, app, config, expect) in cases {
        let run = check(&emu, bot, app, config).await;
        assert!(!run.ok, "{what}: must fail\n{}", run.out);
        assert!(
            run.out.contains(expect),
            "{what}: expected {expect:?}\n{}",
            run.out
        );
        assert!(
            run.out.contains("fix"),
            "{what}: says how to fix it\n{}",
            run.out
        );
        messages.push(expect);
    }
}

/// `[team] peer_bots`: a line per peer, ✓ for a bot bots.info knows (by bot id) or an app
/// with a bot user (by app id), a warning with the fix for an id nobody here has. Our own
/// app stands in for a peer's: app 1's bot id from auth.test, its app id from users.list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_bots_are_looked_up_one_line_each() {
    let emu = common::quiet().await;
    let bot_id = emu.ok("auth.test", &[]).await["bot_id"]
        .as_str()
        .expect("auth.test names the bot")
        .to_string();
    let users = emu.ok("users.list", &[]).await;
    let app_id = users["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["profile"]["bot_id"] == bot_id.as_str())
        .and_then(|u| u["profile"]["api_app_id"].as_str())
        .expect("the bot user names its app")
        .to_string();
    let config = format!(
        "[team]\npeer_bots = [\"{bot_id}\", \"B0NOSUCHBOT\", \"{app_id}\", \"A0NOSUCHAPP\"]\n"
    );
    let run = check(&emu, BOT, APP, Some(&config)).await;
    assert!(run.ok, "unknown peers are warnings: {}", run.out);
    let fix = "fix: check the id in the other lead's app: Basic Information → App ID / the bot's id from auth.test";
    for line in [
        format!("✓ peer bot {bot_id} ("),
        format!("! peer bot B0NOSUCHBOT: no such bot in this workspace\n    {fix}"),
        format!("✓ peer app {app_id} (bot {bot_id}, @"),
        format!("! peer app A0NOSUCHAPP: no bot of this app in the workspace\n    {fix}"),
    ] {
        assert!(run.out.contains(&line), "{line}:\n{}", run.out);
    }
    assert!(
        run.out.contains(&format!("app {app_id}) known")),
        "bots.info names the bot's app: {}",
        run.out
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_scopes_are_named() {
    let scopes = ALL_BOT_SCOPES
        .iter()
        .filter(|s| !["reactions:write", "usergroups:read"].contains(s))
        .map(|s| s.to_string())
        .collect();
    let emu = common::start(EmulatorConfig {
        scopes,
        ..EmulatorConfig::default()
    })
    .await;
    let run = check(&emu, BOT, APP, None).await;
    assert!(!run.ok);
    assert!(
        run.out
            .contains("✗ scopes: missing reactions:write, usergroups:read"),
        "{}",
        run.out
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_mistakes_name_the_file_the_line_and_the_key() {
    let emu = common::quiet().await;
    for (text, line, key, hint) in [
        (
            "lead = \"U1\"\n[slack]\nbot_tokn = \"x\"\n",
            3,
            "bot_tokn",
            "remove it or correct its spelling",
        ),
        ("[ui]\nbell = \"loud\"\n", 2, "bell", "boolean"),
        (
            "[[pods]]\nchannel = \"swarm-api\"\nsla.sev1 = { first_response = \"soon\" }\n",
            3,
            "sla.sev1",
            "15m",
        ),
        (
            "[slack]\n\nbot_token = \"xapp-1-A0-secret\"\n",
            3,
            "bot_token",
            "xoxb-",
        ),
        ("lead = \"U1\n", 1, "lead", ""),
        (
            "[team]\npeer_bots = [\"U0LEAD0001\"]\n",
            2,
            "peer_bots",
            "Basic Information → App ID",
        ),
        (
            "[slack]\nprobe_every = \"0s\"\n",
            2,
            "probe_every",
            "at least",
        ),
        (
            "[team]\nbus = \"http://nats.example:4222\"\n",
            2,
            "bus",
            "nats://host:4222",
        ),
        (
            "[team]\nbus = \"nats://nats.example:4222\"\nbus_retention = \"10m\"\n",
            3,
            "bus_retention",
            "at least \"1h\"",
        ),
        ("[keys]\nquit = \"Hyper-q\"\n", 0, "quit", "Hyper-q"),
    ] {
        let run = check(&emu, BOT, APP, Some(text)).await;
        assert!(!run.ok, "{text}\n{}", run.out);
        let first = run.out.lines().next().unwrap_or_default();
        assert!(first.contains("swarmdeck.toml"), "names the file: {first}");
        if line > 0 {
            assert!(
                first.contains(&format!("swarmdeck.toml:{line}:")),
                "line {line}: {first}"
            );
        }
        assert!(
            first.contains(key) && first.contains(hint),
            "{key}/{hint}: {first}"
        );
        assert!(
            !run.out.contains("xapp-1-A0-secret"),
            "the token in the file is never echoed"
        );
    }
}

#[test]
fn the_manifest_asks_for_exactly_the_scopes_swarmdeck_uses() {
    let manifest = include_str!("../assets/slack-app-manifest.yml");
    let section = manifest
        .split("bot:\n")
        .nth(1)
        .unwrap()
        .split("settings:")
        .next()
        .unwrap();
    let mut asked: Vec<&str> = section
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    asked.sort();
    let mut used = swarmdeck::check::REQUIRED_SCOPES.to_vec();
    used.sort();
    assert_eq!(asked, used);
    let mut emulated = ALL_BOT_SCOPES.to_vec();
    emulated.sort();
    assert_eq!(
        emulated, used,
        "the emulator grants by default what the manifest asks"
    );
    // Every marker type, from every app: other leads' swarmdecks record moves too.
    let subscriptions: Vec<(&str, &str)> = manifest
        .split("metadata_subscriptions:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("      "))
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|pair| {
            fn value<'a>(line: &'a str, key: &str) -> &'a str {
                line.trim()
                    .trim_start_matches("- ")
                    .strip_prefix(key)
                    .unwrap_or_else(|| panic!("{key} in {line:?}"))
                    .trim()
            }
            (value(pair[0], "app_id:"), value(pair[1], "event_type:"))
        })
        .collect();
    let mut subscribed: Vec<&str> = subscriptions
        .iter()
        .map(|(app, event)| {
            assert_eq!(*app, "\"*\"", "{event} from every app");
            *event
        })
        .collect();
    subscribed.sort();
    assert_eq!(
        subscribed,
        [
            "swarmdeck_asked",
            "swarmdeck_assigned",
            "swarmdeck_declined",
            "swarmdeck_duplicate",
            "swarmdeck_duplicate_linked",
            "swarmdeck_follow_up",
            "swarmdeck_promoted",
            "swarmdeck_reopened",
            "swarmdeck_replied",
            "swarmdeck_resolved",
            "swarmdeck_unassigned",
            "swarmdeck_update",
            "swarmdeck_waiting",
        ]
    );
    assert!(asked.contains(&"metadata.message:read"));
    assert!(manifest.contains("socket_mode_enabled: true"));
    // Experts' buttons come over Socket Mode: interactivity on, and no request URL.
    let interactivity = manifest.split("interactivity:\n").nth(1).unwrap();
    assert!(
        interactivity.trim_start().starts_with("is_enabled: true"),
        "{interactivity}"
    );
    assert!(!manifest.contains("request_url"));
}

#[test]
fn the_example_config_documents_every_section_and_parses() {
    let example = include_str!("../assets/config.example.toml");
    let file = swarmdeck::config::parse(example).expect("the example parses");
    assert_eq!(file.pods.len(), 2);
    assert!(file.lead.is_some() && !file.experts.is_empty() && !file.keys.is_empty());
    assert_eq!(file.team.peer_bots.len(), 2);
    for section in [
        "[slack]",
        "probe_every",
        "[team]",
        "# bus = ",
        "# bus_credentials = ",
        "# bus_token = ",
        "# bus_tls = ",
        "# bus_retention = ",
        "[[pods]]",
        "[[experts]]",
        "[intake]",
        "[ui]",
        "[keys]",
        "[incident]",
        "[pods.promote]",
        "invite_groups",
    ] {
        assert!(example.contains(section), "{section}");
    }
    assert_eq!(file.incident.update_every.len(), 2, "the example's cadence");
    assert_eq!(file.pods[0].promote.invite_groups.len(), 2);
    // The per-pod cadence, commented out, parses as written.
    swarmdeck::config::parse(
        &example
            .replace("# [pods.incident]", "[pods.incident]")
            .replace("# update_every", "update_every"),
    )
    .expect("the pod's cadence parses");
    // The bus keys, commented out (no bus unless one is set), parse as written.
    let file = swarmdeck::config::parse(&example.replace("# bus", "bus")).expect("bus keys parse");
    assert!(file.team.bus.is_some() && file.team.bus_token.is_some());
    assert!(file.team.bus_retention.is_some() && file.team.bus_tls == Some(true));
}

/// The tokens never reach the logs or an error, even at trace level, where libraries log
/// their requests, and even when Slack refuses one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_appear_in_logs_or_errors() {
    let emu = common::quiet().await;
    let dir = std::env::temp_dir().join(format!("swarmdeck-tokens-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (bot, app, runs_on) in [("xoxb-no", APP, false), (BOT, APP, true)] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_swarmdeck"))
            .args(["tail", "--json", "--data-dir"])
            .arg(&dir)
            .env("SLACK_API_URL", format!("{}/api/", emu.base()))
            .env("SLACK_BOT_TOKEN", bot)
            .env("SLACK_APP_TOKEN", app)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env_remove("SWARMDECK_CONFIG")
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        if runs_on {
            // Let it connect, fill its gaps and ping for a while.
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            child.start_kill().unwrap();
        }
        let output = child.wait_with_output().await.unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(text.len() > 200, "trace logging ran: {text}");
        if !runs_on {
            assert!(text.contains("invalid_auth"), "{text}");
        }
        for token in [bot, app] {
            assert!(
                !text.contains(token),
                "{token} leaked:\n{}",
                &text[..text.len().min(4000)]
            );
        }
        // Nor any token-looking string at all.
        assert!(
            !text.contains("xoxb-") && !text.contains("xapp-"),
            "a token prefix leaked"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// With a team bus: check connects, creates the workspace's stream (or finds it), and
/// says what it holds; a bus that is not there is a failure with the fix.
#[tokio::test]
async fn the_team_bus_is_checked_and_its_stream_made() {
    let Some(nats) = common::nats::start() else {
        return;
    };
    let emu = common::quiet().await;
    let config = format!("[team]\nbus = \"{}\"\n", nats.url);
    let run = check(&emu, BOT, APP, Some(&config)).await;
    assert!(run.ok, "{}", run.out);
    let team_id = emu.ok("auth.test", &[]).await["team_id"]
        .as_str()
        .unwrap()
        .to_string();
    let line = format!(
        "✓ team bus: {} — stream SWARMDECK_{team_id} holds 0 events, kept 7days, 0 publishing now",
        nats.url
    );
    assert!(run.out.contains(&line), "{line}\n{}", run.out);
    // Found the second time, not made again.
    let again = check(&emu, BOT, APP, Some(&config)).await;
    assert!(again.out.contains(&line), "{}", again.out);
    drop(nats);
    let down = check(&emu, BOT, APP, Some(&config)).await;
    assert!(
        !down.ok,
        "a bus configured and unreachable fails: {}",
        down.out
    );
    assert!(
        down.out.contains("✗ team bus:") && down.out.contains("nats-server -js"),
        "{}",
        down.out
    );
}
