//! Several apps in one workspace (`--apps N`): each token acts as its app, each app has
//! its own sockets and its own copy of the events its bot can see, and bot posts carry
//! the posting app's identity, so that leads' apps can see each other's markers.

mod common;

use common::{APP, BOT, DEADLINE, Emu, Socket, start};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use swarmdeck::emulator::EmulatorConfig;

const BOT2: &str = "xoxb-test-A2-123456";
const APP2: &str = "xapp-1-A2-test";

async fn two_apps() -> Emu {
    start(EmulatorConfig {
        apps: 2,
        ..EmulatorConfig::default()
    })
    .await
}

/// The connection id a socket's `hello` names (its host is `applink-emulator-<id>`).
fn connection_of(hello: &Value) -> u64 {
    let host = hello["debug_info"]["host"].as_str().expect("a host");
    host.rsplit('-').next().unwrap().parse().expect("an id")
}

/// Waits until `/_emulator/deliveries` holds `n` entries; returns them.
async fn deliveries(emu: &Emu, n: usize) -> Vec<Value> {
    let start = std::time::Instant::now();
    loop {
        let all = emu.control_get("deliveries").await;
        let all = all.as_array().unwrap().clone();
        if all.len() >= n {
            return all;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "waited for {n} deliveries: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn auth_test_answers_as_the_tokens_app() {
    let emu = two_apps().await;
    let one = emu.call("auth.test", BOT, &[]).await.body;
    assert_eq!(
        (one["user_id"].as_str(), one["bot_id"].as_str()),
        (Some("U0SWARMBOT"), Some("B0SWARMBOT")),
        "app 1 is the app it always was: {one}"
    );
    let two = emu.call("auth.test", BOT2, &[]).await.body;
    assert_eq!(two["ok"], true, "{two}");
    assert_eq!(
        (two["user_id"].as_str(), two["bot_id"].as_str()),
        (Some("U0SWARM002"), Some("B0SWARM002")),
        "{two}"
    );
    assert_eq!(two["user"], "swarmdeck-2");
    assert_eq!(two["team_id"], one["team_id"], "one workspace");

    // App 2's bot is a user of the workspace, as Slack lists bot users.
    let users = emu.ok("users.list", &[]).await;
    let bot2 = users["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "U0SWARM002")
        .cloned()
        .expect("app 2's bot user in users.list");
    assert_eq!(bot2["is_bot"], true);
    assert_eq!(bot2["profile"]["bot_id"], "B0SWARM002");
    assert_eq!(bot2["profile"]["api_app_id"], "A0SWARM002");

    let state = emu.state().await;
    assert_eq!(state["app"]["app_id"], "A0SWARMDCK");
    let apps = state["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 2);
    assert_eq!(
        apps[1],
        json!({"app_id": "A0SWARM002", "bot_user_id": "U0SWARM002", "bot_id": "B0SWARM002", "name": "swarmdeck-2"})
    );
    let api = emu.channel_state("swarm-api").await;
    assert!(common::members(&api).contains(&"U0SWARM002"));
    let general = emu.channel_state("general").await;
    assert!(!common::members(&general).contains(&"U0SWARM002"));
}

#[tokio::test]
async fn hello_counts_only_that_apps_connections() {
    let emu = two_apps().await;
    let (_a, first) = emu.socket_as(APP, "").await;
    let (_b, second) = emu.socket_as(APP, "").await;
    let (_c, other) = emu.socket_as(APP2, "").await;
    assert_eq!(first["num_connections"], 1);
    assert_eq!(second["num_connections"], 2);
    assert_eq!(
        other["num_connections"], 1,
        "app 2's first socket, though three are open: {other}"
    );
    assert_eq!(second["connection_info"]["app_id"], "A0SWARMDCK");
    assert_eq!(other["connection_info"]["app_id"], "A0SWARM002");
    assert_eq!(emu.state().await["connections"], 3);
}

#[tokio::test]
async fn an_injected_request_reaches_each_app_once() {
    let emu = two_apps().await;
    let (mut a1, hello_a1) = emu.socket_as(APP, "").await;
    let (mut a2, hello_a2) = emu.socket_as(APP, "").await;
    let (mut b, hello_b) = emu.socket_as(APP2, "").await;
    emu.inject(json!({"type": "message", "channel": "swarm-api", "user": "U0REQ00001", "text": "Case: 27343"}))
        .await;

    let sent = deliveries(&emu, 2).await;
    // Give a stray third copy the time to show up before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = {
        let again = deliveries(&emu, sent.len()).await;
        assert_eq!(again.len(), 2, "one delivery per app: {again:?}");
        again
    };
    let by_app: BTreeMap<&str, &Value> = sent
        .iter()
        .map(|d| (d["app"].as_str().unwrap(), d))
        .collect();
    assert_eq!(
        by_app.keys().copied().collect::<Vec<_>>(),
        ["A0SWARM002", "A0SWARMDCK"]
    );
    let app1_conns = [connection_of(&hello_a1), connection_of(&hello_a2)];
    let to_app1 = by_app["A0SWARMDCK"]["connection"].as_u64().unwrap();
    assert!(app1_conns.contains(&to_app1), "{to_app1} of {app1_conns:?}");
    assert_eq!(by_app["A0SWARM002"]["connection"], connection_of(&hello_b));
    assert_ne!(
        by_app["A0SWARM002"]["event_id"],
        by_app["A0SWARMDCK"]["event_id"]
    );

    // Each copy is addressed to its app.
    let socket: &mut Socket = if to_app1 == app1_conns[0] {
        &mut a1
    } else {
        &mut a2
    };
    let envelope = socket.next_envelope().await;
    socket.ack(&envelope).await;
    assert_eq!(envelope["payload"]["api_app_id"], "A0SWARMDCK");
    assert_eq!(
        envelope["payload"]["authorizations"][0]["user_id"],
        "U0SWARMBOT"
    );
    let envelope = b.next_envelope().await;
    b.ack(&envelope).await;
    assert_eq!(envelope["payload"]["api_app_id"], "A0SWARM002");
    assert_eq!(
        envelope["payload"]["authorizations"][0]["user_id"],
        "U0SWARM002"
    );
    assert_eq!(envelope["payload"]["event"]["text"], "Case: 27343");
}

#[tokio::test]
async fn a_post_by_app_2_carries_its_identity_and_reaches_app_1() {
    let emu = two_apps().await;
    let (mut one, _) = emu.socket_as(APP, "").await;
    let (mut two, _) = emu.socket_as(APP2, "").await;
    let posted = emu
        .call(
            "chat.postMessage",
            BOT2,
            &[("channel", "swarm-api"), ("text", "swarmdeck marker")],
        )
        .await
        .body;
    assert_eq!(posted["ok"], true, "{posted}");
    let message = &posted["message"];
    assert_eq!(message["bot_id"], "B0SWARM002");
    assert_eq!(message["app_id"], "A0SWARM002");
    assert_eq!(message["user"], "U0SWARM002");
    assert_eq!(message["bot_profile"]["id"], "B0SWARM002");
    assert_eq!(message["bot_profile"]["app_id"], "A0SWARM002");
    assert_eq!(message["bot_profile"]["name"], "swarmdeck-2");

    let seen = one.event_where(|e| e["text"] == "swarmdeck marker").await;
    assert_eq!(
        seen["payload"]["api_app_id"], "A0SWARMDCK",
        "app 1's own copy"
    );
    let event = &seen["payload"]["event"];
    assert_eq!(event["bot_id"], "B0SWARM002");
    assert_eq!(event["app_id"], "A0SWARM002");
    assert_eq!(event["bot_profile"]["app_id"], "A0SWARM002");
    let own = two.event_where(|e| e["text"] == "swarmdeck marker").await;
    assert_eq!(own["payload"]["api_app_id"], "A0SWARM002");

    // Only the poster may edit it.
    let ts = posted["ts"].as_str().unwrap();
    let edit = [("channel", "C0SWARMAPI"), ("ts", ts), ("text", "edited")];
    assert_eq!(emu.err("chat.update", &edit).await, "cant_update_message");
    let edited = emu.call("chat.update", BOT2, &edit).await.body;
    assert_eq!(edited["ok"], true, "{edited}");
}

#[tokio::test]
async fn app_2s_private_channels_and_dms_are_its_own() {
    let emu = two_apps().await;
    let created = emu
        .call(
            "conversations.create",
            BOT2,
            &[("name", "leads-two"), ("is_private", "true")],
        )
        .await
        .body;
    assert_eq!(created["ok"], true, "{created}");
    assert_eq!(created["channel"]["creator"], "U0SWARM002");
    assert_eq!(created["channel"]["is_member"], true);
    let id = created["channel"]["id"].as_str().unwrap();
    assert_eq!(
        emu.err("conversations.info", &[("channel", id)]).await,
        "channel_not_found"
    );
    let info = emu
        .call("conversations.info", BOT2, &[("channel", id)])
        .await
        .body;
    assert_eq!(info["ok"], true, "{info}");

    // Each app's bot has its own direct message with a person.
    let dm1 = emu
        .ok("conversations.open", &[("users", "U0EXP00001")])
        .await;
    let dm2 = emu
        .call("conversations.open", BOT2, &[("users", "U0EXP00001")])
        .await
        .body;
    assert_eq!(dm2["ok"], true, "{dm2}");
    assert_ne!(dm1["channel"]["id"], dm2["channel"]["id"]);
}

#[tokio::test]
async fn bots_info_names_each_apps_bot() {
    let emu = two_apps().await;
    let info = emu.ok("bots.info", &[("bot", "B0SWARM002")]).await;
    let bot = &info["bot"];
    assert_eq!(bot["id"], "B0SWARM002");
    assert_eq!(bot["app_id"], "A0SWARM002");
    assert_eq!(bot["user_id"], "U0SWARM002");
    assert_eq!(bot["name"], "swarmdeck-2");
    assert_eq!(bot["deleted"], false);
    assert!(bot["updated"].is_number());
    assert!(bot["icons"]["image_48"].is_string());
    let own = emu.ok("bots.info", &[("bot", "B0SWARMBOT")]).await;
    assert_eq!(own["bot"]["app_id"], "A0SWARMDCK");
    assert_eq!(
        emu.err("bots.info", &[("bot", "B0NOSUCH1")]).await,
        "bot_not_found"
    );
    assert_eq!(emu.err("bots.info", &[]).await, "invalid_arguments");
}

#[tokio::test]
async fn a_token_naming_a_missing_app_is_invalid() {
    let emu = two_apps().await;
    let web = emu.call("auth.test", "xoxb-test-A9-123456", &[]).await.body;
    assert_eq!(web["error"], "invalid_auth", "{web}");
    let socket = emu
        .call("apps.connections.open", "xapp-1-A9-test", &[])
        .await
        .body;
    assert_eq!(socket["error"], "invalid_auth", "{socket}");
    // With one app, app 2's token names nothing either.
    let single = common::quiet().await;
    let web = single.call("auth.test", BOT2, &[]).await.body;
    assert_eq!(web["error"], "invalid_auth", "{web}");
}

#[tokio::test]
async fn a_disconnect_can_target_one_app() {
    let emu = two_apps().await;
    let (mut one, _) = emu.socket_as(APP, "").await;
    let (mut two, _) = emu.socket_as(APP2, "").await;
    let (status, body) = emu
        .control_post(
            "disconnect",
            json!({"mode": "warning", "app": "A0SWARM002"}),
        )
        .await;
    assert_eq!((status, &body["connections"]), (200, &json!(1)), "{body}");
    let frame = two.next_json().await.expect("a disconnect frame");
    assert_eq!(frame["type"], "disconnect");
    assert_eq!(frame["reason"], "warning");
    assert_eq!(frame["connection_info"]["app_id"], "A0SWARM002");
    assert!(
        one.next_json_within(Duration::from_millis(300))
            .await
            .is_none(),
        "app 1's socket is left alone"
    );
    let (status, _) = emu
        .control_post("disconnect", json!({"mode": "drop", "app": "A0NOSUCH1"}))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_cli_seeds_the_apps_it_is_asked_for() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_swarmdeck");
    let refused = Command::new(bin)
        .args(["emulator", "--addr", "127.0.0.1:0", "--apps", "0"])
        .stderr(Stdio::null())
        .status()
        .expect("the binary runs");
    assert!(!refused.success(), "--apps 0 is refused");

    /// Stops the emulator when the test ends, pass or fail.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Command::new(bin)
        .args([
            "emulator",
            "--addr",
            "127.0.0.1:0",
            "--rate",
            "0",
            "--apps",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().unwrap();
    let _running = Kill(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a first line");
    let base = first.trim();
    let auth: Value = reqwest::Client::new()
        .post(format!("{base}/api/auth.test"))
        .bearer_auth("xoxb-test-A3-123456")
        .send()
        .await
        .expect("auth.test")
        .json()
        .await
        .expect("JSON");
    assert_eq!(auth["user_id"], "U0SWARM003", "{auth}");
}
