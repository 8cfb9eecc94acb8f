//! `swarmdeck report` against a small history whose figures were worked out by hand,
//! written into a store as the dashboard would have stored it; and `purge`.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use swarmdeck::slack::record::record;
use swarmdeck::slack::wire::Event;
use swarmdeck::store::{Write, Writer};

const API: &str = "C0SWARMAPI";
const BILLING: &str = "C0SWARMBIL";
const BOT: &str = "U0SWARMBOT";

fn ts(secs: i64) -> String {
    format!("{secs}.000100")
}

fn request(channel: &str, at: i64, case: &str, urgency: &str, subject: &str) -> Value {
    json!({"type": "message", "channel": channel, "user": "U0REQ00001", "ts": ts(at),
           "text": format!("Case: {case}\nUrgency: {urgency}\nSubject: {subject}")})
}

fn reply(channel: &str, root: i64, at: i64, user: &str) -> Value {
    json!({"type": "message", "channel": channel, "user": user, "ts": ts(at),
           "thread_ts": ts(root), "text": "on it"})
}

fn marker(channel: &str, root: i64, at: i64, event_type: &str, payload: Value) -> Value {
    json!({"type": "message", "channel": channel, "user": BOT, "bot_id": "B0SWARMBOT",
           "ts": ts(at), "thread_ts": ts(root), "text": "swarmdeck",
           "metadata": {"event_type": event_type, "event_payload": payload}})
}

/// Three swarms, three days ago (09:00 UTC on), as a lead's store would hold them:
/// - A, api, Sev1: assigned at +2m, answered at +5m, waiting on the customer from +10m
///   to +30m, resolved at +1h (the same day);
/// - B, api, Sev3: the requester adds detail at +25m, assigned at +10m, answered at
///   +30m (and helped by A's expert), promoted, resolved a day and 1000 s after it opened;
/// - C, billing, Sev2: never answered, still open (both its clocks breached).
fn history(dir: &Path) -> i64 {
    let now = chrono::Utc::now().timestamp();
    let t0 = now - now % 86_400 - 3 * 86_400 + 9 * 3_600;
    let (a, b, c) = (t0, t0 + 1_000, t0 + 2_000);
    let events = vec![
        request(API, a, "1001", "Sev 1", "Webhooks delayed"),
        marker(
            API,
            a,
            a + 120,
            "swarmdeck_assigned",
            json!({"expert": "U0EXP00001"}),
        ),
        reply(API, a, a + 300, "U0EXP00001"),
        marker(
            API,
            a,
            a + 600,
            "swarmdeck_waiting",
            json!({"waiting": true}),
        ),
        marker(
            API,
            a,
            a + 1_800,
            "swarmdeck_waiting",
            json!({"waiting": false}),
        ),
        marker(
            API,
            a,
            a + 3_600,
            "swarmdeck_resolved",
            json!({"resolution": "queue drained"}),
        ),
        request(API, b, "1002", "Sev 3", "OAuth tokens expire early"),
        marker(
            API,
            b,
            b + 600,
            "swarmdeck_assigned",
            json!({"expert": "U0EXP00002"}),
        ),
        marker(
            API,
            b,
            b + 900,
            "swarmdeck_promoted",
            json!({"incident_channel": "support-api-sev3-1002", "incident_channel_id": "C0INC1002"}),
        ),
        reply(API, b, b + 1_800, "U0EXP00002"),
        reply(API, b, b + 2_000, "U0EXP00001"),
        reply(API, b, b + 1_500, "U0REQ00001"),
        marker(
            API,
            b,
            b + 87_400,
            "swarmdeck_resolved",
            json!({"resolution": "clock skew"}),
        ),
        request(BILLING, c, "1003", "Sev 2", "Refund stuck"),
    ];
    let writer = Writer::spawn(dir).unwrap();
    writer.send(Write::Meta {
        key: "identity".into(),
        value: json!({"bot_user_id": BOT, "bot_id": "B0SWARMBOT", "team": "Acme Support",
                      "team_id": "T0ACME", "url": "https://acme.slack.com/"})
        .to_string(),
    });
    for (id, name) in [(API, "swarm-api"), (BILLING, "swarm-billing")] {
        writer.send(Write::Channel {
            id: id.into(),
            name: name.into(),
        });
    }
    for e in events {
        let event: Event = serde_json::from_value(e).unwrap();
        writer.send(record(&event).expect("a stored event"));
    }
    // Names: one as users.list gives it to the dashboard, one from a user_change event
    // as the store records it; the requester's is never learnt.
    writer.send(Write::Person {
        id: "U0EXP00001".into(),
        name: "priya.raman".into(),
    });
    let renamed: Event = serde_json::from_value(json!({"type": "user_change",
        "user": {"id": "U0EXP00002", "name": "tomas", "profile": {"display_name": "tomás.ek"}}}))
    .unwrap();
    writer.send(record(&renamed).expect("a name kept"));
    writer.flush();
    t0
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("swarmdeck-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn swarmdeck(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_swarmdeck"))
        .args(args)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("TZ", "UTC")
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("SWARMDECK_CONFIG")
        .output()
        .expect("swarmdeck runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn report_figures_match_the_hand_computed_history() {
    let dir = temp_dir("figures");
    history(&dir.join("data"));
    let (ok, out, err) = swarmdeck(&dir, &["report", "--since", "7d", "--format", "json"]);
    assert!(ok, "{err}");
    let r: Value = serde_json::from_str(&out).expect("JSON");
    let o = &r["overall"];
    assert_eq!(
        (
            o["opened"].as_i64(),
            o["resolved"].as_i64(),
            o["open"].as_i64()
        ),
        (Some(3), Some(2), Some(1))
    );
    // First responses 300 and 1800 s (nearest rank: p50 the first, p90 the second).
    assert_eq!(o["first_response_p50_s"], 300);
    assert_eq!(o["first_response_p90_s"], 1_800);
    assert_eq!(o["assignment_p50_s"], 120);
    assert_eq!(o["assignment_p90_s"], 600);
    assert_eq!(o["resolution_p50_s"], 3_600);
    assert_eq!(o["resolution_p90_s"], 87_400);
    // Of the two resolved, A closed the day it opened (the key scripts read).
    assert_eq!(o["same_day_rate"], 0.5);
    // The lead's rate: of the three opened three days ago, only A closed that day.
    assert_eq!(
        (
            o["same_day_opened"].as_i64(),
            o["same_day_resolved"].as_i64()
        ),
        (Some(3), Some(1))
    );
    let days = o["days_to_close"].as_f64().unwrap();
    assert!(
        (days - (3_600.0 + 87_400.0) / 2.0 / 86_400.0).abs() < 1e-9,
        "{days}"
    );
    // C's two clocks (first response, resolution) are past target; A and B met theirs.
    assert_eq!(o["breaches"], 2);
    assert_eq!(
        o["breaches_by_urgency"],
        json!({"sev1": 0, "sev2": 2, "sev3": 0, "sev4": 0})
    );
    assert_eq!(o["promotions"], 1);
    assert_eq!(
        o["experts"],
        json!([{"expert": "U0EXP00001", "name": "priya.raman", "swarms": 2},
               {"expert": "U0EXP00002", "name": "tomás.ek", "swarms": 1}])
    );
    let api = r["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pod"] == "api")
        .unwrap();
    // Support time: A 3600 less 1200 waiting, B 87400; customer time: A's 1200.
    assert_eq!(api["support_time_s"], 2_400 + 87_400);
    assert_eq!(api["customer_time_s"], 1_200);
    assert_eq!(api["opened"], 2);
    assert_eq!(api["breaches"], 0);
    let billing = r["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pod"] == "billing")
        .unwrap();
    assert_eq!(
        (billing["opened"].as_i64(), billing["open"].as_i64()),
        (Some(1), Some(1))
    );
    assert!(r["since"].as_str().unwrap().contains('T'), "RFC 3339");

    // One pod, as CSV and as a table.
    let (ok, csv, err) = swarmdeck(&dir, &["report", "--pod", "api", "--format", "csv"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("pod,opened,resolved,open,same_day_rate"));
    assert!(
        lines[1].starts_with("api,2,2,0,0.500,300,1800,120,600,3600,87400"),
        "{csv}"
    );
    assert!(
        lines[1].ends_with(",2,1,0"),
        "same-day opened, resolved, duplicates: {csv}"
    );
    assert!(lines[2].starts_with("overall,2,2,0"), "{csv}");
    let (ok, table, _) = swarmdeck(&dir, &["report"]);
    assert!(
        ok && table.contains("overall") && table.contains("billing"),
        "{table}"
    );
    let overall = table.lines().find(|l| l.starts_with("overall")).unwrap();
    assert!(overall.contains(" 33% "), "1 of 3 the same day: {table}");
    assert!(
        table.contains("experts by swarms helped: priya.raman 2, tomás.ek 1"),
        "{table}"
    );
    let (ok, _, err) = swarmdeck(&dir, &["report", "--pod", "nope"]);
    assert!(
        !ok && err.contains("no pod named `nope`") && err.contains("api"),
        "{err}"
    );

    // A window that starts after these swarms opened has nothing in it.
    let (ok, out, _) = swarmdeck(&dir, &["report", "--since", "1d", "--format", "json"]);
    assert!(ok);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["overall"]["opened"], 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_report_without_history_says_what_to_do() {
    let dir = temp_dir("empty");
    let (ok, _, err) = swarmdeck(&dir, &["report"]);
    assert!(!ok);
    assert!(
        err.contains("no history") && err.contains("swarmdeck tail"),
        "{err}"
    );
    // Where it looked, and why a demo's swarms are not there.
    assert!(
        err.contains(&dir.join("data").display().to_string())
            && err.contains("`swarmdeck demo` keeps its history in a temporary store")
            && err.contains("--data-dir"),
        "{err}"
    );
    assert!(!err.contains("Location:"), "a plain message: {err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn purge_removes_resolved_history_past_the_retention_and_keeps_open_swarms() {
    let dir = temp_dir("purge");
    let t0 = history(&dir.join("data"));
    // Between A's last activity (its resolution, t0 + 1h) and B's (t0 + 88400 s).
    let cutoff = t0 + 40_000;
    let older = chrono::Utc::now().timestamp() - cutoff;
    let (ok, out, err) = swarmdeck(&dir, &["purge", "--older-than", &format!("{older}s")]);
    assert!(ok, "{err}");
    // A goes; B's thread was active since, and C is open: both stay.
    assert!(out.starts_with("Removed 6 stored events"), "{out}");
    let (ok, out, _) = swarmdeck(&dir, &["report", "--since", "7d", "--format", "json"]);
    assert!(ok);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["overall"]["opened"], 2, "B and C remain: {out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
