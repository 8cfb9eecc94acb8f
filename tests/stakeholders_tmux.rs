//! Stakeholders kept informed, end to end: the real dashboard in tmux against the
//! emulator, whose seeded workspace has `legal` (three people) and `comms` (two, one of
//! them in legal too) user groups.
//! - promoting a Sev1 previews and invites the configured groups' members, each once;
//! - a cadence of three seconds flags `update due` on the row and tells the lead;
//! - `U` composes the update: posted to the incident channel, a marked line in the
//!   thread, and the row's flag goes.

mod common;

use common::tmux::{Tmux, launch, tmux_available};
use common::{DEADLINE, Emu};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const POD: &str = "C0SWARMAPI";
const LEAD: &str = "U0LEAD0001";

fn dashboard(emu: &Emu, name: &str, config: &str) -> Tmux {
    let dir = std::env::temp_dir().join(format!("swarmdeck-stake-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut tmux = launch(emu.base(), name, Some(config), &dir);
    tmux.owns_dir = true;
    tmux
}

/// Every user a `conversations.invite` to `channel` named, in call order.
async fn invited(emu: &Emu, channel: &str) -> Vec<String> {
    let calls = emu.control_get("calls").await;
    calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["method"] == "conversations.invite"
                && c["ok"] == true
                && c["params"]["channel"] == channel
        })
        .flat_map(|c| {
            c["params"]["users"]
                .as_str()
                .unwrap_or("")
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn channel<'a>(state: &'a Value, name: &str) -> &'a Value {
    state["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("#{name} exists"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sev1_promotion_invites_its_stakeholders_once_and_updates_keep_them_informed() {
    if !tmux_available() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let emu = common::quiet().await;
    let config = format!(
        r#"lead = "{LEAD}"
[incident]
update_every = {{ sev1 = "3s" }}
[[pods]]
channel = "swarm-api"
[pods.promote]
invite_groups = {{ sev1 = ["legal", "@comms"], sev2 = ["account-team"] }}
"#
    );
    let tmux = dashboard(&emu, "promote", &config);
    tmux.wait_for("connected");
    let posted = emu
        .inject(
            json!({"type": "message", "channel": POD, "user": "U0REQ00001",
            "text": "Case: 27360\nUrgency: Sev 1\nSubject: EU API returns 502"}),
        )
        .await;
    let root = posted["ts"].as_str().unwrap().to_string();
    tmux.wait_for("27360");
    tmux.keys(&["g", "p"]);
    // The dialog previews who comes in, with each group's size from Slack.
    let dialog = tmux.wait_for("@legal (3), @comms (2)");
    assert!(dialog.contains("invites"), "{dialog}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("✓ promote 27360");

    let state = emu.state().await;
    let incident = channel(&state, "support-api-sev1-27360");
    let id = incident["id"].as_str().unwrap().to_string();
    let invited = invited(&emu, &id).await;
    let mut once = invited.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), invited.len(), "each person once: {invited:?}");
    // The requester (in legal too), legal, comms (Max in both) and the lead.
    for who in ["U0REQ00001", "U0REQ00002", "U0REQ00003", "U0REQ00004", LEAD] {
        assert!(
            invited.contains(&who.to_string()),
            "{who} invited: {invited:?}"
        );
    }
    let now = emu.state().await;
    let members = common::members(channel(&now, "support-api-sev1-27360"));
    assert!(members.contains(&"U0REQ00004"), "comms is in: {members:?}");

    // Three seconds after the promotion with no update: the row says so, and the lead
    // is told (the bell rings with it).
    tmux.wait_for("update due");
    tmux.wait_for("stakeholder update on 27360 is due");

    // U: status, impact, what's next, and when the next update comes.
    tmux.keys(&["U"]);
    tmux.wait_for("stakeholder update · 27360");
    for part in [
        "Mitigated, monitoring",
        "EU customers saw 502s",
        "Roll back the gateway",
    ] {
        tmux.run(&["send-keys", "-t", "lead", "-l", part]);
        tmux.keys(&["Enter"]);
    }
    // The cadence's interval is suggested for the next update; the lead types another.
    tmux.wait_for("next update");
    tmux.run(&["send-keys", "-t", "lead", "-l", "1h"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("✓ status update on 27360");

    let state = emu.state().await;
    let posts: Vec<String> = channel(&state, "support-api-sev1-27360")["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .filter(|t| t.contains("Status update"))
        .collect();
    assert_eq!(
        posts.len(),
        1,
        "one update in the incident channel: {posts:?}"
    );
    for part in [
        "*Status:* Mitigated, monitoring",
        "*Impact:* EU customers saw 502s",
        "*What's next:* Roll back the gateway",
        "*Next update:*",
    ] {
        assert!(posts[0].contains(part), "{part} in {}", posts[0]);
    }
    let pod = channel(&state, "swarm-api");
    let marked: Vec<&Value> = pod["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["thread_ts"] == root.as_str() && m["metadata"]["event_type"] == "swarmdeck_update"
        })
        .collect();
    assert_eq!(marked.len(), 1, "one marked line in the thread");
    let payload = &marked[0]["metadata"]["event_payload"];
    assert_eq!(payload["status"], "Mitigated, monitoring");
    assert!(payload["next_update_at"].as_i64().is_some(), "{payload}");
    assert!(
        marked[0]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("<#{id}>")),
        "the thread line names the incident channel"
    );

    // The next update is an hour away: the flag goes; the detail shows the last update.
    let deadline = Instant::now() + DEADLINE;
    while tmux.screen().contains("update due") {
        assert!(
            Instant::now() < deadline,
            "the flag stays:\n{}",
            tmux.screen()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tmux.keys(&["Enter"]);
    let detail = tmux.wait_for("Mitigated, monitoring");
    assert!(detail.contains("updates"), "{detail}");
}
