//! The emulator is as strict as Slack where Slack is strict: rate limits on by default,
//! ids where Slack wants ids, Slack's errors for a caller's mistakes, tokens only where
//! Slack reads them, and Slack's fields (and only Slack's) in its answers.

mod common;

use common::{BOT, Emu, quiet, start};
use serde_json::{Value, json};
use std::time::Duration;
use swarmdeck::emulator::{EmulatorConfig, HistoryLimits, RateLimits};

async fn post(emu: &Emu, channel: &str, text: &str) -> common::Reply {
    emu.call(
        "chat.postMessage",
        BOT,
        &[("channel", channel), ("text", text)],
    )
    .await
}

#[tokio::test]
async fn a_burst_to_one_channel_meets_429_with_retry_after() {
    let emu = quiet().await;
    let mut statuses = Vec::new();
    for i in 0..10 {
        statuses.push(post(&emu, "C0SWARMAPI", &format!("burst {i}")).await);
    }
    let ok = statuses.iter().take_while(|r| r.status == 200).count();
    assert!(
        (2..=6).contains(&ok),
        "a short burst passes, then Slack's one a second: {ok} went through"
    );
    let limited = &statuses[ok];
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body, json!({"ok": false, "error": "ratelimited"}));
    let wait: u64 = limited
        .retry_after
        .as_deref()
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=2).contains(&wait), "Retry-After {wait}");

    // Another channel has its own budget; the same one is open again after the wait.
    assert_eq!(post(&emu, "C0SWARMBIL", "elsewhere").await.status, 200);
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(post(&emu, "C0SWARMAPI", "after").await.status, 200);

    // A name and an id are one channel's budget.
    let mut by_name = Vec::new();
    for i in 0..8 {
        by_name.push(post(&emu, "swarm-data", &format!("n{i}")).await.status);
    }
    assert!(by_name.contains(&429), "{by_name:?}");
    assert_eq!(post(&emu, "C0SWARMDAT", "by id").await.status, 429);
}

#[tokio::test]
async fn every_method_is_limited_to_its_tier() {
    let emu = quiet().await;
    // conversations.list is Tier 2: 20 a minute, with a burst.
    let mut first_429 = None;
    for i in 0..40 {
        let reply = emu.call("conversations.list", BOT, &[]).await;
        if reply.status == 429 {
            first_429 = Some((i, reply));
            break;
        }
    }
    let (i, reply) = first_429.expect("Tier 2 is limited");
    assert!((5..=20).contains(&i), "after {i} calls");
    assert_eq!(reply.body["error"], "ratelimited");
    let wait: u64 = reply.retry_after.unwrap().parse().unwrap();
    assert!(
        (1..=3).contains(&wait),
        "one call's worth of a minute: {wait}"
    );
    // Limits are per method: auth.test (Tier 4) is not spent by the listing.
    assert_eq!(emu.call("auth.test", BOT, &[]).await.status, 200);
}

#[tokio::test]
async fn a_time_scale_speeds_the_limits_and_off_lifts_them() {
    // One history call a Slack-minute: at 60× the next is a real second away, not 60.
    let fast = start(EmulatorConfig {
        time_scale: 60.0,
        history_limits: HistoryLimits::Strict,
        ..EmulatorConfig::default()
    })
    .await;
    let history = [("channel", "C0SWARMAPI")];
    assert_eq!(
        fast.call("conversations.history", BOT, &history)
            .await
            .status,
        200
    );
    let limited = fast.call("conversations.history", BOT, &history).await;
    assert_eq!(
        (limited.status, limited.retry_after.as_deref()),
        (429, Some("1"))
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        fast.call("conversations.history", BOT, &history)
            .await
            .status,
        200
    );

    let off = start(EmulatorConfig {
        rate_limits: RateLimits::Off,
        ..EmulatorConfig::default()
    })
    .await;
    for i in 0..60 {
        assert_eq!(post(&off, "C0SWARMAPI", &format!("o{i}")).await.status, 200);
    }
}

#[tokio::test]
async fn a_name_where_slack_wants_an_id_is_channel_not_found() {
    let emu = quiet().await;
    for (method, extra) in [
        ("conversations.history", None),
        ("conversations.info", None),
        ("conversations.members", None),
        ("conversations.replies", Some(("ts", "1700000000.000100"))),
        ("conversations.setTopic", Some(("topic", "x"))),
        ("reactions.get", Some(("timestamp", "1700000000.000100"))),
    ] {
        let mut params = vec![("channel", "swarm-api")];
        params.extend(extra);
        assert_eq!(
            emu.err(method, &params).await,
            "channel_not_found",
            "{method} by name"
        );
    }
    // chat.postMessage is the one that takes a name, with or without `#`.
    for name in ["swarm-api", "#swarm-api"] {
        let posted = emu
            .ok("chat.postMessage", &[("channel", name), ("text", "named")])
            .await;
        assert_eq!(posted["channel"], "C0SWARMAPI");
    }
}

#[tokio::test]
async fn a_missing_argument_is_invalid_arguments_and_a_bad_name_invalid_arg_name() {
    let emu = quiet().await;
    for (method, params, field) in [
        ("conversations.history", vec![], "channel"),
        ("conversations.info", vec![], "channel"),
        (
            "conversations.replies",
            vec![("channel", "C0SWARMAPI")],
            "ts",
        ),
        ("chat.postMessage", vec![("text", "hi")], "channel"),
        ("chat.update", vec![("channel", "C0SWARMAPI")], "ts"),
        ("conversations.create", vec![], "name"),
    ] {
        let reply = emu.call(method, BOT, &params).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body["error"], "invalid_arguments", "{method}");
        assert_eq!(
            reply.body["response_metadata"]["messages"],
            json!([format!("[ERROR] missing required field: {field}")]),
            "{method}"
        );
    }
    for bad in ["chan-nel", "a[b]", "ünicode", &"x".repeat(300)] {
        let reply = emu.call("auth.test", BOT, &[(bad, "1")]).await;
        assert_eq!(reply.body["error"], "invalid_arg_name", "{bad:?}");
    }
    let reply = emu
        .call_json("auth.test", BOT, json!({"weird key": 1}))
        .await;
    assert_eq!(reply.body["error"], "invalid_arg_name");
}

#[tokio::test]
async fn a_token_in_a_json_body_is_not_read() {
    let emu = quiet().await;
    let json_only = emu
        .http
        .post(format!("{}/api/auth.test", emu.base()))
        .json(&json!({"token": BOT}))
        .send()
        .await
        .unwrap();
    assert_eq!(Emu::reply(json_only).await.body["error"], "not_authed");
    let with_header = emu
        .call_json("auth.test", BOT, json!({"token": "xoxb-ignored-0000"}))
        .await;
    assert_eq!(with_header.body["ok"], true, "{}", with_header.body);
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn answers_carry_slacks_fields_and_only_slacks() {
    let emu = quiet().await;
    let user = emu.ok("users.info", &[("user", "U0EXP00001")]).await["user"].clone();
    for key in ["is_restricted", "is_ultra_restricted"] {
        assert_eq!(user[key], false, "{key}");
    }
    let profile = &user["profile"];
    for key in ["status_text", "status_emoji"] {
        assert!(profile[key].is_string(), "profile.{key}");
    }
    assert!(profile["email"].as_str().is_some_and(|e| e.contains('@')));
    for size in [24, 32, 48, 72, 192, 512] {
        assert!(
            profile[format!("image_{size}")]
                .as_str()
                .is_some_and(|u| u.starts_with("https://")),
            "image_{size}"
        );
    }

    // conversations.open: the id, then `already_open`; the person with `return_im`.
    let opened = emu
        .ok("conversations.open", &[("users", "U0EXP00001")])
        .await;
    assert_eq!(keys(&opened["channel"]), ["id"]);
    assert!(opened.get("already_open").is_none());
    let again = emu
        .ok(
            "conversations.open",
            &[("users", "U0EXP00001"), ("return_im", "true")],
        )
        .await;
    assert_eq!(again["already_open"], true);
    assert_eq!(again["no_op"], true);
    assert_eq!(again["channel"]["id"], opened["channel"]["id"]);
    assert_eq!(again["channel"]["user"], "U0EXP00001");
    assert!(again["channel"].get("name").is_none());

    // users.conversations lists channels bare; conversations.list says who is in.
    let mine = emu.ok("users.conversations", &[]).await;
    let first = &mine["channels"][0];
    assert!(first.get("is_member").is_none() && first.get("num_members").is_none());
    let listed = emu.ok("conversations.list", &[]).await;
    let first = &listed["channels"][0];
    assert!(first["is_member"].is_boolean() && first["num_members"].is_u64());

    // chat.update names the message at the top; its copy has no ts or thread fields.
    let root = emu
        .ok(
            "chat.postMessage",
            &[("channel", "C0SWARMAPI"), ("text", "root")],
        )
        .await["ts"]
        .as_str()
        .unwrap()
        .to_string();
    emu.ok(
        "chat.postMessage",
        &[
            ("channel", "C0SWARMAPI"),
            ("text", "reply"),
            ("thread_ts", &root),
        ],
    )
    .await;
    let updated = emu
        .ok(
            "chat.update",
            &[("channel", "C0SWARMAPI"), ("ts", &root), ("text", "edited")],
        )
        .await;
    assert_eq!(updated["ts"], root.as_str());
    for key in [
        "ts",
        "thread_ts",
        "reply_count",
        "latest_reply",
        "reply_users",
    ] {
        assert!(updated["message"].get(key).is_none(), "message.{key}");
    }
    assert_eq!(updated["message"]["text"], "edited");

    // A bot's message carries its profile as Slack's do.
    let bot_profile = &updated["message"]["bot_profile"];
    assert!(bot_profile["updated"].is_i64(), "{bot_profile}");
    assert!(bot_profile["icons"]["image_48"].is_string());

    // Every answer says which scopes the method accepts.
    let raw = emu
        .http
        .post(format!("{}/api/chat.postMessage", emu.base()))
        .bearer_auth(BOT)
        .form(&[("channel", "C0SWARMBIL"), ("text", "scopes")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.headers()["x-accepted-oauth-scopes"].to_str().unwrap(),
        "chat:write"
    );
}

#[tokio::test]
async fn a_persons_post_carries_a_client_msg_id_and_rich_text_blocks() {
    let emu = quiet().await;
    let mut socket = emu.socket().await;
    let plain = emu
        .inject(
            json!({"type": "message", "channel": "swarm-api", "user": "U0REQ00001",
                       "text": "Case: 27343 <@U0EXP00001> please"}),
        )
        .await;
    let ts = plain["ts"].as_str().unwrap().to_string();
    let envelope = socket.event_where(|e| e["ts"] == ts.as_str()).await;
    assert_eq!(envelope["retry_attempt"], 0);
    let event = &envelope["payload"]["event"];
    let id = event["client_msg_id"].as_str().expect("client_msg_id");
    let shape: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(shape, [8, 4, 4, 4, 12], "a UUID: {id}");
    let block = &event["blocks"][0];
    assert_eq!(block["type"], "rich_text");
    let elements = &block["elements"][0]["elements"];
    assert!(
        elements
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "user" && e["user_id"] == "U0EXP00001"),
        "{elements}"
    );

    // Blocks a test gives are kept; a bot's post gets no client message id.
    let given = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "mine"}}]);
    let ts = emu
        .inject(
            json!({"type": "message", "channel": "swarm-api", "user": "U0REQ00001",
                       "text": "mine", "blocks": given}),
        )
        .await["ts"]
        .as_str()
        .unwrap()
        .to_string();
    let envelope = socket.event_where(|e| e["ts"] == ts.as_str()).await;
    assert_eq!(envelope["payload"]["event"]["blocks"], given);
    let posted = emu
        .ok(
            "chat.postMessage",
            &[("channel", "C0SWARMAPI"), ("text", "bot")],
        )
        .await;
    assert!(posted["message"].get("client_msg_id").is_none());
}

#[tokio::test]
async fn link_disabled_and_too_many_websockets_can_be_produced() {
    let emu = quiet().await;
    for mode in ["link_disabled", "too_many_websockets"] {
        let mut socket = emu.socket().await;
        let (status, answer) = emu.control_post("disconnect", json!({"mode": mode})).await;
        assert_eq!((status, answer["connections"].as_u64()), (200, Some(1)));
        let frame = socket
            .next_json_within(Duration::from_secs(5))
            .await
            .expect("a disconnect frame");
        assert_eq!(frame["type"], "disconnect");
        assert_eq!(frame["reason"], mode);
        assert!(
            socket
                .next_json_within(Duration::from_secs(5))
                .await
                .is_none(),
            "then the socket closes"
        );
        emu.wait_for_state("no sockets", |s| s["connections"] == 0)
            .await;
    }
}
