//! Socket Mode against the emulator: hello, envelopes, acks, redelivery, disconnects,
//! several connections, and events that follow Web API actions.

mod common;

use common::{APP, Emu, quiet, start};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use swarmdeck::emulator::EmulatorConfig;
use tokio_tungstenite::tungstenite::Message;

fn fast() -> EmulatorConfig {
    // A minute of Slack time in one second: retries at +1 and +5 minutes take 1 s and 5 s.
    EmulatorConfig {
        time_scale: 60.0,
        ..EmulatorConfig::default()
    }
}

async fn say(emu: &Emu, channel: &str, text: &str) -> String {
    let body = emu
        .inject(json!({"type": "message", "channel": channel, "user": "U0REQ00001", "text": text}))
        .await;
    body["ts"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn hello_then_an_envelope_carrying_the_event_callback() {
    let emu = quiet().await;
    let open = emu.call("apps.connections.open", APP, &[]).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(open.body["url"].as_str().unwrap())
        .await
        .unwrap();
    let hello: Value = match ws.next().await.unwrap().unwrap() {
        Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["num_connections"], 1);
    assert!(hello["debug_info"]["host"].is_string());
    assert!(hello["debug_info"]["approximate_connection_time"].is_number());
    assert_eq!(hello["connection_info"]["app_id"], "A0SWARMDCK");

    let mut socket = common::Socket {
        ws,
        url: String::new(),
    };
    let ts = say(&emu, "swarm-api", "Case: 4242").await;
    let envelope = socket.next_envelope().await;
    assert_eq!(envelope["type"], "events_api");
    assert_eq!(envelope["accepts_response_payload"], false);
    assert_eq!(envelope["retry_attempt"], 0);
    assert_eq!(envelope["retry_reason"], "");
    let payload = &envelope["payload"];
    assert_eq!(payload["type"], "event_callback");
    assert_eq!(payload["team_id"], "T0ACMESUP");
    assert_eq!(payload["api_app_id"], "A0SWARMDCK");
    assert!(payload["event_id"].as_str().unwrap().starts_with("Ev"));
    assert!(payload["event_time"].is_i64());
    assert_eq!(payload["authorizations"][0]["user_id"], "U0SWARMBOT");
    assert_eq!(payload["authorizations"][0]["is_bot"], true);
    let event = &payload["event"];
    assert_eq!(event["type"], "message");
    assert_eq!(event["channel"], "C0SWARMAPI");
    assert_eq!(event["ts"], ts.as_str());
    assert_eq!(event["event_ts"], ts.as_str());
    assert_eq!(event["channel_type"], "channel");
    assert_eq!(event["user"], "U0REQ00001");

    socket.ack(&envelope).await;
    let acked = emu
        .wait_for_deliveries(|d| d.iter().any(|d| d["acked_at"].is_string()))
        .await;
    assert_eq!(acked[0]["envelope_id"], envelope["envelope_id"]);
}

#[tokio::test]
async fn an_unacked_event_is_redelivered_with_retry_attempt_then_dropped() {
    // +1 and +5 minutes in 0.2 s and 1 s; the ack window keeps its floor.
    let emu = start(EmulatorConfig {
        time_scale: 300.0,
        ..EmulatorConfig::default()
    })
    .await;
    let mut socket = emu.socket().await;
    say(&emu, "swarm-api", "nobody acks me").await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(socket.next_envelope().await);
    }
    let attempts: Vec<u64> = seen
        .iter()
        .map(|e| e["retry_attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [0, 1, 2, 3]);
    let reasons: Vec<&str> = seen
        .iter()
        .map(|e| e["retry_reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["", "timeout", "timeout", "timeout"]);
    let event_ids: BTreeSet<&str> = seen
        .iter()
        .map(|e| e["payload"]["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(event_ids.len(), 1, "a retry is the same event");
    let envelope_ids: BTreeSet<&str> = seen
        .iter()
        .map(|e| e["envelope_id"].as_str().unwrap())
        .collect();
    assert_eq!(envelope_ids.len(), 4, "each delivery has its own envelope");
    // After the third retry Slack gives up.
    emu.wait_for_state("the event dropped", |s| s["dropped_events"] == 1)
        .await;
    assert!(
        socket
            .next_json_within(Duration::from_secs(1))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn an_ack_on_the_retry_ends_it() {
    let emu = start(fast()).await;
    let mut socket = emu.socket().await;
    say(&emu, "swarm-api", "ack me the second time").await;
    let first = socket.next_envelope().await;
    let retry = socket.next_envelope().await;
    assert_eq!(retry["retry_attempt"], 1);
    assert_eq!(first["payload"]["event_id"], retry["payload"]["event_id"]);
    socket.ack(&retry).await;
    assert!(
        socket
            .next_json_within(Duration::from_secs(3))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn tickets_are_one_shot() {
    let emu = quiet().await;
    let socket = emu.socket().await;
    let reuse = tokio_tungstenite::connect_async(socket.url.as_str()).await;
    assert!(reuse.is_err(), "a used ticket must not connect again");
}

#[tokio::test]
async fn events_posted_with_no_socket_wait_for_the_next_connection() {
    let emu = quiet().await;
    let ts = say(&emu, "swarm-data", "while nobody listens").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut socket = emu.socket().await;
    let envelope = socket.event_where(|e| e["ts"] == ts.as_str()).await;
    // Nothing was sent while no socket was open: this is its first delivery.
    assert_eq!(envelope["retry_attempt"], 0);
    assert_eq!(envelope["retry_reason"], "");
}

#[tokio::test]
async fn refresh_requested_and_warning_disconnects() {
    // Ten times Slack's speed: the refresh grace and the warning's lead take a second.
    let emu = start(EmulatorConfig {
        time_scale: 10.0,
        ..EmulatorConfig::default()
    })
    .await;
    let mut socket = emu.socket().await;
    let (s, body) = emu
        .control_post("disconnect", json!({"mode": "refresh_requested"}))
        .await;
    assert_eq!((s, body["connections"].clone()), (200, json!(1)));
    let frame = socket.next_json().await.unwrap();
    assert_eq!(frame["type"], "disconnect");
    assert_eq!(frame["reason"], "refresh_requested");
    assert!(frame["debug_info"]["host"].is_string());
    // Slack then closes the old socket; a replacement opened meanwhile gets the events.
    let mut replacement = emu.socket().await;
    assert!(socket.next_json().await.is_none(), "the old socket closes");
    let ts = say(&emu, "swarm-api", "after the refresh").await;
    replacement.event_where(|e| e["ts"] == ts.as_str()).await;

    emu.control_post("disconnect", json!({"mode": "warning"}))
        .await;
    let warning = replacement.next_json().await.unwrap();
    assert_eq!(warning["reason"], "warning");
    let refresh = replacement.next_json().await.unwrap();
    assert_eq!(
        refresh["reason"], "refresh_requested",
        "a warning is followed by the refresh"
    );
}

#[tokio::test]
async fn a_drop_ends_the_socket_without_a_disconnect_frame() {
    let emu = quiet().await;
    let mut socket = emu.socket().await;
    emu.control_post("disconnect", json!({"mode": "drop"}))
        .await;
    assert!(socket.next_json().await.is_none());
    emu.wait_for_state("no connections", |s| s["connections"] == 0)
        .await;
}

#[tokio::test]
async fn an_outage_refuses_sockets_and_loses_events_posted_during_it() {
    let emu = quiet().await;
    let mut socket = emu.socket().await;
    emu.control_post("disconnect", json!({"mode": "outage", "seconds": 1.5}))
        .await;
    assert!(socket.next_json().await.is_none());
    let open = emu.call("apps.connections.open", APP, &[]).await;
    assert!(
        tokio_tungstenite::connect_async(open.body["url"].as_str().unwrap())
            .await
            .is_err()
    );
    let lost = say(&emu, "swarm-api", "posted during the outage").await;
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let mut socket = emu.socket().await;
    let after = say(&emu, "swarm-api", "posted after the outage").await;
    let envelope = socket.event_where(|e| e["type"] == "message").await;
    assert_eq!(
        envelope["payload"]["event"]["ts"],
        after.as_str(),
        "the lost event never comes"
    );
    // It is in history, for a gap fill to find.
    let history = emu
        .ok("conversations.history", &[("channel", "C0SWARMAPI")])
        .await;
    assert!(
        history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["ts"] == lost.as_str())
    );
}

#[tokio::test]
async fn several_connections_share_the_events() {
    let emu = quiet().await;
    let mut a = emu.socket().await;
    let mut b = emu.socket().await;
    let mut posted = BTreeSet::new();
    for i in 0..10 {
        posted.insert(say(&emu, "swarm-mobile", &format!("m{i}")).await);
    }
    let mut got: BTreeMap<String, u32> = BTreeMap::new();
    let mut per_socket = [0, 0];
    while got.len() < posted.len() {
        let (which, envelope) = tokio::select! {
            e = a.next_envelope() => (0, e),
            e = b.next_envelope() => (1, e),
        };
        if which == 0 {
            a.ack(&envelope).await
        } else {
            b.ack(&envelope).await
        }
        per_socket[which] += 1;
        *got.entry(
            envelope["payload"]["event"]["ts"]
                .as_str()
                .unwrap()
                .to_string(),
        )
        .or_default() += 1;
    }
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), posted);
    assert!(
        got.values().all(|n| *n == 1),
        "without chaos each event comes once: {got:?}"
    );
    assert!(
        per_socket[0] > 0 && per_socket[1] > 0,
        "spread across both: {per_socket:?}"
    );
}

#[tokio::test]
async fn the_eleventh_socket_is_told_too_many_websockets() {
    let emu = quiet().await;
    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(emu.socket().await);
    }
    let open = emu.call("apps.connections.open", APP, &[]).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(open.body["url"].as_str().unwrap())
        .await
        .unwrap();
    let frame = match ws.next().await.unwrap().unwrap() {
        Message::Text(t) => serde_json::from_str::<Value>(t.as_str()).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(frame["type"], "disconnect");
    assert_eq!(frame["reason"], "too_many_websockets");
}

#[tokio::test]
async fn a_muted_socket_answers_pings_but_delivers_nothing() {
    let emu = quiet().await;
    let mut socket = emu.socket().await;
    let (s, _) = emu
        .control_post("faults", json!({"socket": "mute", "seconds": 60}))
        .await;
    assert_eq!(s, 200);
    say(&emu, "swarm-api", "swallowed").await;
    socket
        .ws
        .send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let mut ponged = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, socket.ws.next()).await {
        match frame {
            Message::Pong(p) => ponged = p.as_ref() == b"are you there",
            Message::Text(t) => panic!("a muted socket delivered {t}"),
            _ => {}
        }
    }
    assert!(ponged, "pings are still answered");
    let deliveries = emu.control_get("deliveries").await;
    assert_eq!(deliveries[0]["swallowed"], true);
    assert!(deliveries[0]["acked_at"].is_null());
}

#[tokio::test]
async fn debug_reconnects_rotates_the_connection() {
    // Six minutes of Slack time at 360x is a second.
    let emu = start(EmulatorConfig {
        time_scale: 360.0,
        ..EmulatorConfig::default()
    })
    .await;
    let mut socket = emu.socket_with("&debug_reconnects=true").await;
    let frame = socket.next_json().await.unwrap();
    assert_eq!(frame["reason"], "refresh_requested");
}

#[tokio::test]
async fn events_follow_actions_as_on_slack() {
    let emu = quiet().await;
    let mut socket = emu.socket().await;

    let posted = emu
        .ok(
            "chat.postMessage",
            &[("channel", "C0SWARMAPI"), ("text", "from the app")],
        )
        .await;
    let ts = posted["ts"].as_str().unwrap().to_string();
    let e = socket.event_where(|e| e["type"] == "message").await;
    let event = &e["payload"]["event"];
    assert_eq!(event["bot_id"], "B0SWARMBOT");
    assert_eq!(event["user"], "U0SWARMBOT");
    assert!(
        event.get("subtype").is_none(),
        "a modern app's post has no subtype"
    );

    let reply = emu
        .ok(
            "chat.postMessage",
            &[
                ("channel", "C0SWARMAPI"),
                ("text", "in thread"),
                ("thread_ts", &ts),
            ],
        )
        .await;
    let e = socket.event_where(|e| e["type"] == "message").await;
    assert_eq!(e["payload"]["event"]["thread_ts"], ts.as_str());
    assert_eq!(e["payload"]["event"]["parent_user_id"], "U0SWARMBOT");
    assert_eq!(e["payload"]["event"]["ts"], reply["ts"]);

    emu.ok(
        "chat.postMessage",
        &[
            ("channel", "C0SWARMAPI"),
            ("text", "to all"),
            ("thread_ts", &ts),
            ("reply_broadcast", "true"),
        ],
    )
    .await;
    let e = socket.event_where(|e| e["type"] == "message").await;
    assert_eq!(e["payload"]["event"]["subtype"], "thread_broadcast");
    assert_eq!(e["payload"]["event"]["root"]["reply_count"], 2);

    emu.ok(
        "chat.update",
        &[("channel", "C0SWARMAPI"), ("ts", &ts), ("text", "edited")],
    )
    .await;
    let e = socket.event_where(|e| e["type"] == "message").await;
    assert_eq!(e["payload"]["event"]["subtype"], "message_changed");
    assert_eq!(e["payload"]["event"]["message"]["text"], "edited");
    assert_eq!(
        e["payload"]["event"]["previous_message"]["text"],
        "from the app"
    );

    emu.ok(
        "reactions.add",
        &[
            ("channel", "C0SWARMAPI"),
            ("timestamp", &ts),
            ("name", "eyes"),
        ],
    )
    .await;
    let e = socket.event_where(|e| e["type"] == "reaction_added").await;
    assert_eq!(
        e["payload"]["event"]["item"],
        json!({"type": "message", "channel": "C0SWARMAPI", "ts": ts})
    );
    emu.ok(
        "reactions.remove",
        &[
            ("channel", "C0SWARMAPI"),
            ("timestamp", &ts),
            ("name", "eyes"),
        ],
    )
    .await;
    socket
        .event_where(|e| e["type"] == "reaction_removed")
        .await;

    let created = emu
        .ok("conversations.create", &[("name", "support-api-sev2-555")])
        .await;
    let id = created["channel"]["id"].as_str().unwrap().to_string();
    let e = socket.event_where(|e| e["type"] == "channel_created").await;
    assert_eq!(
        e["payload"]["event"]["channel"]["name"],
        "support-api-sev2-555"
    );
    emu.ok(
        "conversations.invite",
        &[("channel", &id), ("users", "U0EXP00002")],
    )
    .await;
    let e = socket
        .event_where(|e| e["type"] == "member_joined_channel")
        .await;
    assert_eq!(e["payload"]["event"]["user"], "U0EXP00002");
    assert_eq!(e["payload"]["event"]["inviter"], "U0SWARMBOT");

    emu.inject(json!({"type": "message", "subtype": "message_deleted", "channel": "C0SWARMAPI", "deleted_ts": ts})).await;
    let e = socket
        .event_where(|e| e["subtype"] == "message_deleted")
        .await;
    assert_eq!(e["payload"]["event"]["deleted_ts"], ts.as_str());

    // Nothing from a channel the bot is not in.
    say(&emu, "general", "not for the bot").await;
    let marker = say(&emu, "swarm-api", "marker").await;
    let e = socket.event_where(|e| e["type"] == "message").await;
    assert_eq!(e["payload"]["event"]["ts"], marker.as_str());
}

#[tokio::test]
async fn chaos_duplicates_and_delays_but_every_event_arrives() {
    let emu = start(EmulatorConfig {
        chaos: true,
        seed: 4,
        ..EmulatorConfig::default()
    })
    .await;
    let mut socket = emu.socket().await;
    let mut posted = BTreeSet::new();
    // Posted by people, not through chat.postMessage: 60 posts to one channel would be
    // paced by Slack's limit, and paced events cannot come out of order.
    for i in 0..60 {
        posted.insert(say(&emu, "swarm-api", &format!("c{i}")).await);
    }
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let mut order = Vec::new();
    while seen.keys().filter(|ts| posted.contains(*ts)).count() < posted.len() {
        let envelope = socket.next_envelope().await;
        socket.ack(&envelope).await;
        let event = &envelope["payload"]["event"];
        if let Some(ts) = event["ts"].as_str() {
            *seen.entry(ts.to_string()).or_default() += 1;
            order.push(ts.to_string());
        }
    }
    assert!(
        seen.values().any(|n| *n > 1),
        "chaos delivers some events twice"
    );
    let mut sorted = order.clone();
    sorted.sort();
    assert_ne!(order, sorted, "and some out of order");
}

impl Emu {
    async fn wait_for_deliveries(&self, check: impl Fn(&Vec<Value>) -> bool) -> Vec<Value> {
        let start = std::time::Instant::now();
        loop {
            let d = self
                .control_get("deliveries")
                .await
                .as_array()
                .unwrap()
                .clone();
            if check(&d) {
                return d;
            }
            assert!(
                start.elapsed() < common::DEADLINE,
                "deliveries never matched"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
