//! The emulator must agree with real Slack payloads: every field a fixture in
//! `../shared/slack-fixtures/` has, the emulator's matching payload has too, with the
//! same JSON type. The fixtures are others' files and are not in this repository; where
//! the folder is absent (a user's clone) this test says it skipped.

mod common;

use common::{APP, BOT, Emu};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::path::PathBuf;
use tokio_tungstenite::tungstenite::Message;

fn fixtures_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/slack-fixtures");
    dir.is_dir().then_some(dir)
}

fn fixture(name: &str) -> Value {
    let path = fixtures_dir().expect("fixtures present").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key of `theirs` is in `ours` with the same type (nulls and `skip` keys aside),
/// recursively; for arrays, the first elements are compared.
fn assert_shape(theirs: &Value, ours: &Value, path: &str, skip: &[&str]) {
    match (theirs, ours) {
        (Value::Object(t), Value::Object(o)) => {
            for (key, tv) in t {
                let here = format!("{path}.{key}");
                if skip.contains(&key.as_str()) || skip.contains(&here.as_str()) {
                    continue;
                }
                let ov = o.get(key).unwrap_or_else(|| {
                    panic!("{here} is missing from the emulator's payload:\n{ours:#}")
                });
                assert_shape(tv, ov, &here, skip);
            }
        }
        (Value::Array(t), Value::Array(o)) => {
            if let (Some(tf), Some(of)) = (t.first(), o.first()) {
                assert_shape(tf, of, &format!("{path}[0]"), skip);
            }
        }
        (Value::Null, _) => {}
        (t, o) => assert_eq!(kind(t), kind(o), "{path}: {t} vs {o}"),
    }
}

async fn first_text(ws: &mut common::Socket) -> Value {
    ws.next_json().await.expect("a frame")
}

/// Injects a fixture's event into `swarm-api` and returns what the socket delivered.
async fn round_trip(emu: &Emu, socket: &mut common::Socket, mut event: Value) -> Value {
    event["channel"] = json!("C0SWARMAPI");
    let kind = event["type"].clone();
    let ts = emu.inject(event).await["ts"].clone();
    socket
        .event_where(|e| e["type"] == kind && (ts.is_null() || e["ts"] == ts))
        .await
}

/// Fixtures of payloads only a client receives from elsewhere (interactivity, slash
/// commands) or that describe Slack's internals; the client's own conformance test reads them.
const CLIENT_ONLY: &[&str] = &[
    "block_rich_text_all_elements.json",
    "ev_message_changed_by_bot.json",
    "sm_envelope_interactive_block_actions_java.json",
    "sm_envelope_interactive_shortcut.json",
    "sm_envelope_slash_commands.json",
    "sm_envelope_slash_commands_java.json",
];

#[tokio::test]
async fn emulator_payloads_have_every_field_of_the_real_ones() {
    let Some(dir) = fixtures_dir() else {
        eprintln!("skipped: ../shared/slack-fixtures is not beside this clone");
        return;
    };
    // Ten times Slack's speed, so that the refresh after a warning comes in a second.
    let emu = common::start(swarmdeck::emulator::EmulatorConfig {
        time_scale: 10.0,
        ..Default::default()
    })
    .await;
    let mut compared: Vec<&str> = Vec::new();

    // Web API bodies.
    let auth = emu.call("auth.test", BOT, &[]).await.body;
    assert_shape(
        &fixture("web_auth_test.json"),
        &auth,
        "auth.test",
        &["enterprise_id"],
    );
    let open = emu.call("apps.connections.open", APP, &[]).await.body;
    assert_shape(
        &fixture("web_apps_connections_open.json"),
        &open,
        "apps.connections.open",
        &[],
    );
    assert_eq!(
        emu.call("auth.test", "junk", &[]).await.body,
        fixture("web_error_invalid_auth.json")
    );
    emu.control_post(
        "faults",
        json!({"method": "auth.test", "status": 429, "retry_after": 1}),
    )
    .await;
    let limited = emu.call("auth.test", BOT, &[]).await;
    assert_eq!(
        (limited.status, limited.retry_after.as_deref()),
        (429, Some("1"))
    );
    assert_eq!(limited.body, fixture("web_error_ratelimited_429.json"));
    let list = emu.ok("conversations.list", &[("limit", "1")]).await;
    assert_shape(
        &fixture("web_conversations_list_page_with_cursor.json"),
        &list,
        "conversations.list",
        &[],
    );
    compared.extend([
        "web_auth_test.json",
        "web_apps_connections_open.json",
        "web_error_invalid_auth.json",
        "web_error_ratelimited_429.json",
        "web_conversations_list_page_with_cursor.json",
    ]);

    // History and replies, with a thread, a reaction and a workflow-style bot post.
    let root = emu.inject(json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0REQ00001", "text": "Thread root"})).await;
    let root_ts = root["ts"].as_str().unwrap().to_string();
    for (user, text) in [
        ("U0EXP00001", "first reply"),
        ("U0EXP00002", "second reply"),
    ] {
        emu.inject(json!({"type": "message", "channel": "C0SWARMAPI", "user": user, "text": text, "thread_ts": root_ts}))
            .await;
    }
    emu.inject(json!({"type": "reaction_added", "user": "U0EXP00001", "reaction": "tada", "item": {"type": "message", "channel": "C0SWARMAPI", "ts": root_ts}}))
        .await;
    emu.inject(json!({"type": "message", "subtype": "bot_message", "channel": "C0SWARMAPI", "bot_id": "B0WORKFLOW", "username": "Swarm Request", "text": "Case: 1"}))
        .await;
    let history = emu
        .ok(
            "conversations.history",
            &[("channel", "C0SWARMAPI"), ("limit", "1")],
        )
        .await;
    let page = fixture("web_conversations_history_page.json");
    assert_shape(&page, &history, "history", &["messages"]);
    let history = emu
        .ok("conversations.history", &[("channel", "C0SWARMAPI")])
        .await;
    let ours = |pred: &dyn Fn(&Value) -> bool| {
        history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| pred(m))
            .cloned()
            .unwrap()
    };
    let theirs = |i: usize| page["messages"][i].clone();
    // Their bot post carries attachments and a bot_profile; ours is a workflow post without.
    assert_shape(
        &theirs(1),
        &ours(&|m| m["subtype"] == "bot_message"),
        "history bot_message",
        &["attachments", "bot_profile"],
    );
    assert_shape(
        &theirs(2),
        &ours(&|m| m["ts"] == root_ts.as_str()),
        "history thread root",
        &[],
    );
    let mut reacted = theirs(0);
    reacted
        .as_object_mut()
        .unwrap()
        .retain(|k, _| ["type", "user", "text", "ts", "reactions"].contains(&k.as_str()));
    assert_shape(
        &reacted,
        &ours(&|m| m["ts"] == root_ts.as_str()),
        "history reactions",
        &[],
    );
    let replies = emu
        .ok(
            "conversations.replies",
            &[("channel", "C0SWARMAPI"), ("ts", &root_ts)],
        )
        .await;
    let thread = fixture("web_conversations_replies_thread.json");
    assert_shape(&thread, &replies, "replies", &["messages"]);
    assert_shape(
        &thread["messages"][0],
        &replies["messages"][0],
        "replies root",
        &[],
    );
    assert_shape(
        &thread["messages"][1],
        &replies["messages"][1],
        "replies reply",
        &[],
    );
    compared.extend([
        "web_conversations_history_page.json",
        "web_conversations_replies_thread.json",
    ]);

    // Socket Mode frames and envelopes.
    let url = emu.call("apps.connections.open", APP, &[]).await.body["url"]
        .as_str()
        .unwrap()
        .to_string();
    let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let mut socket = common::Socket { ws, url };
    let hello = first_text(&mut socket).await;
    assert_shape(&fixture("sm_hello.json"), &hello, "hello", &[]);
    assert_shape(&fixture("sm_hello_java.json"), &hello, "hello", &[]);
    compared.extend(["sm_hello.json", "sm_hello_java.json"]);

    // Real events, injected as Slack would have delivered them, come back whole.
    for name in [
        "sm_envelope_events_api_message.json",
        "sm_envelope_events_api_app_mention.json",
        "sm_envelope_events_api_java.json",
    ] {
        let theirs = fixture(name);
        let ours = round_trip(&emu, &mut socket, theirs["payload"]["event"].clone()).await;
        let skip = [
            "channel",
            "team_id",
            "api_app_id",
            "user_id",
            "event_context",
            "token",
            "event_id",
        ];
        assert_shape(&theirs, &ours, name, &skip);
        let (te, oe) = (&theirs["payload"]["event"], &ours["payload"]["event"]);
        for key in ["type", "text", "user", "ts", "client_msg_id", "blocks"] {
            assert_eq!(
                te[key], oe[key],
                "{name}: event.{key} comes back as it was posted"
            );
        }
        compared.push(name);
    }
    for name in [
        "ev_message_user_rich_text.json",
        "ev_message_bot_with_bot_profile.json",
        "ev_message_subtype_bot_message.json",
    ] {
        let theirs = fixture(name);
        let ours = round_trip(&emu, &mut socket, theirs["event"].clone()).await;
        let skip = [
            "channel",
            "enterprise_id",
            "team_id",
            "api_app_id",
            "user_id",
            "event_context",
            "token",
            "event_id",
        ];
        assert_shape(&theirs, &ours["payload"], name, &skip);
        compared.push(name);
    }

    // Events that follow actions.
    let posted = emu
        .ok(
            "chat.postMessage",
            &[("channel", "C0SWARMAPI"), ("text", "original message")],
        )
        .await;
    let ts = posted["ts"].as_str().unwrap().to_string();
    socket.event_where(|e| e["type"] == "message").await;
    emu.ok(
        "chat.update",
        &[
            ("channel", "C0SWARMAPI"),
            ("ts", &ts),
            ("text", "updated message"),
        ],
    )
    .await;
    let changed = socket
        .event_where(|e| e["subtype"] == "message_changed")
        .await;
    assert_shape(
        &fixture("ev_message_changed.json")["event"],
        &changed["payload"]["event"],
        "message_changed",
        &["team"],
    );
    emu.ok(
        "chat.postMessage",
        &[
            ("channel", "C0SWARMAPI"),
            ("text", "Hi there!"),
            ("thread_ts", &ts),
            ("reply_broadcast", "true"),
        ],
    )
    .await;
    let broadcast = socket
        .event_where(|e| e["subtype"] == "thread_broadcast")
        .await;
    assert_shape(
        &fixture("ev_message_thread_broadcast.json")["event"],
        &broadcast["payload"]["event"],
        "thread_broadcast",
        &["client_msg_id", "team"],
    );
    emu.ok(
        "reactions.add",
        &[
            ("channel", "C0SWARMAPI"),
            ("timestamp", &ts),
            ("name", "heart_eyes"),
        ],
    )
    .await;
    let added = socket.event_where(|e| e["type"] == "reaction_added").await;
    assert_shape(
        &fixture("ev_reaction_added.json")["event"],
        &added["payload"]["event"],
        "reaction_added",
        &[],
    );
    emu.ok(
        "reactions.remove",
        &[
            ("channel", "C0SWARMAPI"),
            ("timestamp", &ts),
            ("name", "heart_eyes"),
        ],
    )
    .await;
    let removed = socket
        .event_where(|e| e["type"] == "reaction_removed")
        .await;
    assert_shape(
        &fixture("ev_reaction_removed_shape.json")["event"],
        &removed["payload"]["event"],
        "reaction_removed",
        &[],
    );
    let created = emu.ok("conversations.create", &[("name", "fun")]).await;
    let channel = created["channel"]["id"].as_str().unwrap().to_string();
    let event = socket.event_where(|e| e["type"] == "channel_created").await;
    assert_shape(
        &fixture("ev_channel_created_inner.json")["event"],
        &event["payload"]["event"],
        "channel_created",
        &[],
    );
    emu.ok(
        "conversations.invite",
        &[("channel", &channel), ("users", "U0EXP00001")],
    )
    .await;
    let joined = socket
        .event_where(|e| e["type"] == "member_joined_channel")
        .await;
    assert_shape(
        &fixture("ev_member_joined_channel.json")["event"],
        &joined["payload"]["event"],
        "member_joined_channel",
        &[],
    );
    emu.inject(json!({"type": "message", "subtype": "message_deleted", "channel": "C0SWARMAPI", "deleted_ts": ts})).await;
    let deleted = socket
        .event_where(|e| e["subtype"] == "message_deleted")
        .await;
    assert_shape(
        &fixture("ev_message_deleted.json")["event"],
        &deleted["payload"]["event"],
        "message_deleted",
        &["team"],
    );
    compared.extend([
        "ev_message_changed.json",
        "ev_message_thread_broadcast.json",
        "ev_reaction_added.json",
        "ev_reaction_removed_shape.json",
        "ev_channel_created_inner.json",
        "ev_member_joined_channel.json",
        "ev_message_deleted.json",
        "ev_app_mention.json",
    ]);
    let mention = fixture("ev_app_mention.json");
    let ours = round_trip(&emu, &mut socket, mention["event"].clone()).await;
    assert_eq!(ours["payload"]["event"]["type"], "app_mention");

    // Disconnect frames.
    emu.control_post("disconnect", json!({"mode": "warning"}))
        .await;
    let warning = socket.next_json().await.unwrap();
    assert_shape(
        &fixture("sm_disconnect_warning_min.json"),
        &warning,
        "warning",
        &[],
    );
    let refresh = socket.next_json().await.unwrap();
    assert_shape(
        &fixture("sm_disconnect_refresh_requested_min.json"),
        &refresh,
        "refresh",
        &[],
    );
    assert!(
        socket.next_json().await.is_none(),
        "the refreshed socket closes"
    );
    emu.wait_for_state("the old socket gone", |s| s["connections"] == 0)
        .await;
    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(emu.socket().await);
    }
    let url = emu.call("apps.connections.open", APP, &[]).await.body["url"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    let Some(Ok(Message::Text(text))) = ws.next().await else {
        panic!("a frame")
    };
    let too_many: Value = serde_json::from_str(text.as_str()).unwrap();
    assert_shape(
        &fixture("sm_disconnect_too_many_websockets.json"),
        &too_many,
        "too_many_websockets",
        &[],
    );
    compared.extend([
        "sm_disconnect_warning_min.json",
        "sm_disconnect_refresh_requested_min.json",
        "sm_disconnect_too_many_websockets.json",
    ]);

    // A fixture added later must be looked at here (or by the client's conformance test).
    let mut unhandled = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".json")
            && !compared.contains(&name.as_str())
            && !CLIENT_ONLY.contains(&name.as_str())
        {
            unhandled.push(name);
        }
    }
    assert!(unhandled.is_empty(), "fixtures not compared: {unhandled:?}");
}
