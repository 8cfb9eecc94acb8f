//! Contract tests for the emulator's Web API: each method's happy path, its errors as
//! Slack spells them, and pagination.

mod common;

use common::{APP, BOT, Emu, quiet, start};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use swarmdeck::emulator::{EmulatorConfig, HistoryLimits, RateLimits};

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_string())
        .collect()
}

/// Follows `next_cursor` to the end, collecting `field` of every page.
async fn all_pages(
    emu: &Emu,
    method: &str,
    params: &[(&str, &str)],
    field: &str,
) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let mut p: Vec<(&str, &str)> = params.to_vec();
        if !cursor.is_empty() {
            p.push(("cursor", &cursor));
        }
        let body = emu.ok(method, &p).await;
        pages += 1;
        items.extend(body[field].as_array().unwrap().iter().cloned());
        cursor = body["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if cursor.is_empty() {
            return (items, pages);
        }
        assert!(pages < 100, "pagination must end");
    }
}

async fn post(emu: &Emu, channel: &str, text: &str) -> String {
    let body = emu
        .ok("chat.postMessage", &[("channel", channel), ("text", text)])
        .await;
    body["ts"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn auth_test_and_token_rules() {
    let emu = quiet().await;
    let reply = emu.call("auth.test", BOT, &[]).await;
    assert_eq!(reply.body["ok"], true);
    assert_eq!(reply.body["user_id"], "U0SWARMBOT");
    assert_eq!(reply.body["bot_id"], "B0SWARMBOT");
    assert_eq!(reply.body["team_id"], "T0ACMESUP");
    let scopes = reply.scopes.expect("x-oauth-scopes header");
    assert!(scopes.split(',').any(|s| s == "chat:write"), "{scopes}");

    // No token, a junk token, the wrong kind of token.
    let none = Emu::reply(
        emu.http
            .post(format!("{}/api/auth.test", emu.base()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(none.body["error"], "not_authed");
    assert_eq!(
        emu.call("auth.test", "nonsense", &[]).await.body["error"],
        "invalid_auth"
    );
    assert_eq!(
        emu.call("auth.test", APP, &[]).await.body["error"],
        "not_allowed_token_type"
    );
    assert_eq!(
        emu.call("apps.connections.open", BOT, &[]).await.body["error"],
        "not_allowed_token_type"
    );

    // The token may also come as an argument, and a GET with a query string works.
    let form = emu
        .http
        .post(format!("{}/api/auth.test", emu.base()))
        .form(&[("token", BOT)])
        .send()
        .await
        .unwrap();
    assert_eq!(Emu::reply(form).await.body["ok"], true);
    let get = emu
        .http
        .get(format!(
            "{}/api/conversations.info?channel=C0SWARMAPI",
            emu.base()
        ))
        .bearer_auth(BOT)
        .send()
        .await
        .unwrap();
    assert_eq!(Emu::reply(get).await.body["channel"]["id"], "C0SWARMAPI");
}

#[tokio::test]
async fn apps_connections_open_hands_out_one_shot_urls_on_the_same_host() {
    let emu = quiet().await;
    let a = emu.call("apps.connections.open", APP, &[]).await.body;
    let b = emu.call("apps.connections.open", APP, &[]).await.body;
    let host = emu.base().trim_start_matches("http://");
    for body in [&a, &b] {
        let url = body["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("ws://{host}/link/?ticket=")),
            "{url}"
        );
    }
    assert_ne!(a["url"], b["url"], "every URL is a new ticket");
}

#[tokio::test]
async fn conversations_list_info_and_members_paginate() {
    let emu = quiet().await;
    let (channels, pages) =
        all_pages(&emu, "conversations.list", &[("limit", "2")], "channels").await;
    assert_eq!(pages, 3);
    let names: BTreeSet<String> = ids(&json!(channels), "name").into_iter().collect();
    let expected = [
        "general",
        "swarm-api",
        "swarm-billing",
        "swarm-data",
        "swarm-mobile",
    ];
    assert_eq!(names, expected.iter().map(|s| s.to_string()).collect());
    let api = channels.iter().find(|c| c["name"] == "swarm-api").unwrap();
    assert_eq!(api["is_member"], true);
    assert_eq!(
        channels.iter().find(|c| c["name"] == "general").unwrap()["is_member"],
        false
    );

    let info = emu
        .ok(
            "conversations.info",
            &[("channel", "C0SWARMAPI"), ("include_num_members", "true")],
        )
        .await;
    assert_eq!(info["channel"]["name"], "swarm-api");
    assert!(info["channel"]["num_members"].as_u64().unwrap() > 10);
    assert_eq!(
        emu.err("conversations.info", &[("channel", "C0NOPE")])
            .await,
        "channel_not_found"
    );
    assert_eq!(
        emu.err("conversations.info", &[("channel", "")]).await,
        "channel_not_found",
        "present but empty names nothing"
    );

    let (members, pages) = all_pages(
        &emu,
        "conversations.members",
        &[("channel", "C0SWARMAPI"), ("limit", "5")],
        "members",
    )
    .await;
    assert!(pages > 1);
    assert_eq!(
        members.len() as u64,
        info["channel"]["num_members"].as_u64().unwrap()
    );
    assert!(members.contains(&json!("U0SWARMBOT")));

    assert_eq!(
        emu.err("conversations.list", &[("cursor", "garbage!")])
            .await,
        "invalid_cursor"
    );

    let mine = emu.ok("users.conversations", &[]).await;
    let mut mine = ids(&mine["channels"], "name");
    mine.sort();
    assert_eq!(
        mine,
        ["swarm-api", "swarm-billing", "swarm-data", "swarm-mobile"]
    );
}

#[tokio::test]
async fn conversations_history_pages_windows_and_hides_thread_replies() {
    let emu = quiet().await;
    let mut posted = Vec::new();
    for i in 0..5 {
        posted.push(post(&emu, "swarm-api", &format!("message {i}")).await);
    }
    let reply = emu
        .ok(
            "chat.postMessage",
            &[
                ("channel", "swarm-api"),
                ("text", "in thread"),
                ("thread_ts", &posted[0]),
            ],
        )
        .await;
    let broadcast = emu
        .ok(
            "chat.postMessage",
            &[
                ("channel", "swarm-api"),
                ("text", "also to channel"),
                ("thread_ts", &posted[0]),
                ("reply_broadcast", "true"),
            ],
        )
        .await;

    let (messages, pages) = all_pages(
        &emu,
        "conversations.history",
        &[("channel", "C0SWARMAPI"), ("limit", "2")],
        "messages",
    )
    .await;
    assert_eq!(pages, 3);
    let texts: Vec<&str> = messages
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "also to channel",
            "message 4",
            "message 3",
            "message 2",
            "message 1",
            "message 0"
        ]
    );
    assert!(
        messages.iter().all(|m| m["ts"] != reply["ts"]),
        "plain replies are not in history"
    );
    assert_eq!(messages[0]["subtype"], "thread_broadcast");
    assert_eq!(messages[0]["ts"], broadcast["ts"]);
    let root = &messages[5];
    assert_eq!(root["reply_count"], 2);
    assert_eq!(root["thread_ts"], posted[0].as_str());
    assert_eq!(root["latest_reply"], broadcast["ts"]);
    assert_eq!(root["reply_users"], json!(["U0SWARMBOT"]));

    let first = emu
        .ok(
            "conversations.history",
            &[("channel", "C0SWARMAPI"), ("limit", "1")],
        )
        .await;
    assert_eq!(first["has_more"], true);

    // oldest/latest are exclusive unless inclusive=true.
    let window = [
        ("channel", "C0SWARMAPI"),
        ("oldest", posted[1].as_str()),
        ("latest", posted[3].as_str()),
    ];
    let exclusive = emu.ok("conversations.history", &window).await;
    assert_eq!(ids(&exclusive["messages"], "text"), ["message 2"]);
    let mut inclusive = window.to_vec();
    inclusive.push(("inclusive", "true"));
    let inclusive = emu.ok("conversations.history", &inclusive).await;
    assert_eq!(
        ids(&inclusive["messages"], "text"),
        ["message 3", "message 2", "message 1"]
    );
    assert_eq!(inclusive["has_more"], false);

    assert_eq!(
        emu.err("conversations.history", &[("channel", "C0GENERAL1")])
            .await,
        "not_in_channel"
    );
    assert_eq!(
        emu.err("conversations.history", &[("channel", "C0NOPE")])
            .await,
        "channel_not_found"
    );
    assert_eq!(
        emu.err(
            "conversations.history",
            &[("channel", "C0SWARMAPI"), ("oldest", "yesterday")]
        )
        .await,
        "invalid_ts_oldest"
    );
}

#[tokio::test]
async fn metadata_is_posted_and_read_back_with_include_all_metadata() {
    let emu = quiet().await;
    let root = emu
        .inject(json!({"type": "message", "channel": "C0SWARMAPI", "user": "U0REQ00001", "text": "Case: 1"}))
        .await;
    let root_ts = root["ts"].as_str().unwrap();
    let metadata = json!({"event_type": "swarmdeck_assigned", "event_payload": {"expert": "U0EXP00001", "lead": "U0LEAD0001"}});
    let reply = emu
        .ok(
            "chat.postMessage",
            &[
                ("channel", "C0SWARMAPI"),
                ("thread_ts", root_ts),
                ("text", "<@U0EXP00001> please take this"),
                ("metadata", &metadata.to_string()),
            ],
        )
        .await;
    assert_eq!(reply["message"]["metadata"], metadata);
    let with = emu
        .ok(
            "conversations.replies",
            &[
                ("channel", "C0SWARMAPI"),
                ("ts", root_ts),
                ("include_all_metadata", "true"),
            ],
        )
        .await;
    assert_eq!(with["messages"][1]["metadata"], metadata);

    // Other apps' metadata shows only with include_all_metadata.
    let foreign = json!({"event_type": "other_app", "event_payload": {"x": 1}});
    emu.inject(json!({"type": "message", "channel": "C0SWARMAPI", "bot_id": "B0OTHER", "subtype": "bot_message", "text": "x", "metadata": foreign}))
        .await;
    let without = emu
        .ok(
            "conversations.history",
            &[("channel", "C0SWARMAPI"), ("limit", "1")],
        )
        .await;
    assert!(without["messages"][0].get("metadata").is_none());
    let with = emu
        .ok(
            "conversations.history",
            &[
                ("channel", "C0SWARMAPI"),
                ("limit", "1"),
                ("include_all_metadata", "true"),
            ],
        )
        .await;
    assert_eq!(with["messages"][0]["metadata"], foreign);

    let bad = [
        ("channel", "C0SWARMAPI"),
        ("text", "x"),
        ("metadata", "{not json"),
    ];
    assert_eq!(
        emu.err("chat.postMessage", &bad).await,
        "invalid_metadata_format"
    );
    let bad = [
        ("channel", "C0SWARMAPI"),
        ("text", "x"),
        ("metadata", r#"{"event_type":"x"}"#),
    ];
    assert_eq!(
        emu.err("chat.postMessage", &bad).await,
        "invalid_metadata_schema"
    );
}

#[tokio::test]
async fn conversations_replies_pages_and_errors() {
    let emu = quiet().await;
    let root = post(&emu, "swarm-billing", "root").await;
    for i in 0..5 {
        emu.ok(
            "chat.postMessage",
            &[
                ("channel", "swarm-billing"),
                ("text", &format!("r{i}")),
                ("thread_ts", &root),
            ],
        )
        .await;
    }
    let (messages, pages) = all_pages(
        &emu,
        "conversations.replies",
        &[("channel", "C0SWARMBIL"), ("ts", &root), ("limit", "3")],
        "messages",
    )
    .await;
    assert_eq!(pages, 3);
    let texts: Vec<&str> = messages
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .filter(|t| *t != "root")
        .collect();
    assert_eq!(texts, ["r0", "r1", "r2", "r3", "r4"]);
    assert!(
        messages.iter().filter(|m| m["text"] == "root").count() == pages,
        "the parent leads each page"
    );
    assert!(
        messages
            .iter()
            .filter(|m| m["text"] != "root")
            .all(|m| m["parent_user_id"] == "U0SWARMBOT")
    );

    assert_eq!(
        emu.err(
            "conversations.replies",
            &[("channel", "C0SWARMBIL"), ("ts", "1.000001")]
        )
        .await,
        "thread_not_found"
    );
    assert_eq!(
        emu.err("conversations.replies", &[("channel", "C0SWARMBIL")])
            .await,
        "invalid_arguments",
        "no ts at all is the caller's mistake"
    );
    assert_eq!(
        emu.err(
            "conversations.replies",
            &[("channel", "C0SWARMBIL"), ("ts", "")]
        )
        .await,
        "thread_not_found"
    );
    assert_eq!(
        emu.err(
            "conversations.replies",
            &[("channel", "C0GENERAL1"), ("ts", &root)]
        )
        .await,
        "not_in_channel"
    );
}

#[tokio::test]
async fn create_invite_join_topic_purpose_archive_rename() {
    let emu = quiet().await;
    let created = emu
        .ok(
            "conversations.create",
            &[("name", "support-api-sev1-27343")],
        )
        .await;
    let id = created["channel"]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with('C'));
    assert_eq!(created["channel"]["is_private"], false);
    assert_eq!(
        emu.err(
            "conversations.create",
            &[("name", "support-api-sev1-27343")]
        )
        .await,
        "name_taken"
    );
    assert_eq!(
        emu.err("conversations.create", &[("name", "Support API")])
            .await,
        "invalid_name_specials"
    );
    assert_eq!(
        emu.err("conversations.create", &[("name", &"a".repeat(81))])
            .await,
        "invalid_name_maxlength"
    );
    assert_eq!(
        emu.err("conversations.create", &[("name", "")]).await,
        "invalid_name_required"
    );
    let private = emu
        .ok(
            "conversations.create",
            &[("name", "support-legal-sev2-1"), ("is_private", "true")],
        )
        .await;
    assert_eq!(private["channel"]["is_private"], true);

    emu.ok(
        "conversations.invite",
        &[("channel", &id), ("users", "U0REQ00001,U0EXP00001")],
    )
    .await;
    let again = emu
        .call(
            "conversations.invite",
            BOT,
            &[("channel", &id), ("users", "U0EXP00001,U0EXP00002")],
        )
        .await;
    assert_eq!(again.body["error"], "already_in_channel");
    assert_eq!(again.body["errors"][0]["user"], "U0EXP00001");
    let members = emu.channel_state("support-api-sev1-27343").await["members"].clone();
    assert!(
        !members.as_array().unwrap().contains(&json!("U0EXP00002")),
        "a refused invite adds no one"
    );
    emu.ok(
        "conversations.invite",
        &[
            ("channel", &id),
            ("users", "U0EXP00001,U0EXP00002"),
            ("force", "true"),
        ],
    )
    .await;
    assert_eq!(
        emu.err(
            "conversations.invite",
            &[("channel", &id), ("users", "U0NOBODY")]
        )
        .await,
        "user_not_found"
    );
    assert_eq!(
        emu.err(
            "conversations.invite",
            &[("channel", "C0GENERAL1"), ("users", "U0EXP00001")]
        )
        .await,
        "not_in_channel"
    );
    assert_eq!(
        emu.err(
            "conversations.invite",
            &[("channel", "C0NOPE"), ("users", "U0EXP00001")]
        )
        .await,
        "channel_not_found"
    );

    emu.ok(
        "conversations.setTopic",
        &[
            ("channel", &id),
            ("topic", "Case 27343 · sev1 · Login broken"),
        ],
    )
    .await;
    emu.ok(
        "conversations.setPurpose",
        &[
            ("channel", &id),
            ("purpose", "https://support.acme.example/cases/27343"),
        ],
    )
    .await;
    assert_eq!(
        emu.err(
            "conversations.setTopic",
            &[("channel", &id), ("topic", &"x".repeat(251))]
        )
        .await,
        "too_long"
    );
    assert_eq!(
        emu.err(
            "conversations.setTopic",
            &[("channel", "C0GENERAL1"), ("topic", "x")]
        )
        .await,
        "not_in_channel"
    );
    let state = emu.channel_state("support-api-sev1-27343").await;
    assert_eq!(state["topic"], "Case 27343 · sev1 · Login broken");
    assert_eq!(state["purpose"], "https://support.acme.example/cases/27343");
    let members = state["members"].as_array().unwrap();
    for user in ["U0SWARMBOT", "U0REQ00001", "U0EXP00001", "U0EXP00002"] {
        assert!(members.contains(&json!(user)), "{user} in {members:?}");
    }

    let joined = emu
        .ok("conversations.join", &[("channel", "C0GENERAL1")])
        .await;
    assert_eq!(joined["channel"]["is_member"], true);
    let again = emu
        .ok("conversations.join", &[("channel", "C0GENERAL1")])
        .await;
    assert_eq!(again["warning"], "already_in_channel");
    assert_eq!(
        emu.err(
            "conversations.join",
            &[("channel", private["channel"]["id"].as_str().unwrap())]
        )
        .await,
        "method_not_supported_for_channel_type"
    );

    let renamed = emu
        .ok(
            "conversations.rename",
            &[("channel", &id), ("name", "support-api-sev1-27343-b")],
        )
        .await;
    assert_eq!(
        renamed["channel"]["previous_names"],
        json!(["support-api-sev1-27343"])
    );
    assert_eq!(
        emu.err(
            "conversations.rename",
            &[("channel", &id), ("name", "swarm-api")]
        )
        .await,
        "name_taken"
    );
    assert_eq!(
        emu.err(
            "conversations.rename",
            &[("channel", &id), ("name", "Nope!")]
        )
        .await,
        "invalid_name_specials"
    );

    emu.ok("conversations.archive", &[("channel", &id)]).await;
    assert_eq!(
        emu.err("conversations.archive", &[("channel", &id)]).await,
        "already_archived"
    );
    assert_eq!(
        emu.err("chat.postMessage", &[("channel", &id), ("text", "x")])
            .await,
        "is_archived"
    );
    assert_eq!(
        emu.channel_state("support-api-sev1-27343-b").await["is_archived"],
        true
    );
}

#[tokio::test]
async fn chat_post_update_permalink() {
    let emu = quiet().await;
    let ts = post(&emu, "swarm-mobile", "hello").await;
    let updated = emu
        .ok(
            "chat.update",
            &[
                ("channel", "C0SWARMMOB"),
                ("ts", &ts),
                ("text", "hello, edited"),
            ],
        )
        .await;
    assert_eq!(updated["text"], "hello, edited");
    assert_eq!(updated["message"]["edited"]["user"], "U0SWARMBOT");
    assert_eq!(
        emu.err(
            "chat.update",
            &[("channel", "C0SWARMMOB"), ("ts", "1.000001"), ("text", "x")]
        )
        .await,
        "message_not_found"
    );
    let theirs = emu.inject(json!({"type": "message", "channel": "swarm-mobile", "user": "U0REQ00002", "text": "mine"})).await;
    let theirs = theirs["ts"].as_str().unwrap();
    assert_eq!(
        emu.err(
            "chat.update",
            &[("channel", "C0SWARMMOB"), ("ts", theirs), ("text", "x")]
        )
        .await,
        "cant_update_message"
    );

    let link = emu
        .ok(
            "chat.getPermalink",
            &[("channel", "C0SWARMMOB"), ("message_ts", &ts)],
        )
        .await;
    let digits = ts.replace('.', "");
    assert_eq!(
        link["permalink"],
        format!("https://acme-support.slack.com/archives/C0SWARMMOB/p{digits}")
    );
    let reply = emu
        .ok(
            "chat.postMessage",
            &[("channel", "C0SWARMMOB"), ("text", "r"), ("thread_ts", &ts)],
        )
        .await;
    let reply_link = emu
        .ok(
            "chat.getPermalink",
            &[
                ("channel", "C0SWARMMOB"),
                ("message_ts", reply["ts"].as_str().unwrap()),
            ],
        )
        .await;
    assert!(
        reply_link["permalink"]
            .as_str()
            .unwrap()
            .ends_with(&format!("?thread_ts={ts}&cid=C0SWARMMOB"))
    );
    assert_eq!(
        emu.err(
            "chat.getPermalink",
            &[("channel", "C0SWARMMOB"), ("message_ts", "1.1")]
        )
        .await,
        "message_not_found"
    );

    assert_eq!(
        emu.err("chat.postMessage", &[("channel", "C0SWARMMOB")])
            .await,
        "no_text"
    );
    assert_eq!(
        emu.err("chat.postMessage", &[("channel", "general"), ("text", "x")])
            .await,
        "not_in_channel"
    );
    assert_eq!(
        emu.err("chat.postMessage", &[("channel", "C0NOPE"), ("text", "x")])
            .await,
        "channel_not_found"
    );
    assert_eq!(
        emu.err(
            "chat.postMessage",
            &[
                ("channel", "C0SWARMMOB"),
                ("text", "x"),
                ("thread_ts", "1.000001")
            ]
        )
        .await,
        "thread_not_found"
    );
    assert_eq!(
        emu.err(
            "chat.postMessage",
            &[("channel", "C0SWARMMOB"), ("text", &"x".repeat(40_001))]
        )
        .await,
        "msg_too_long"
    );

    // A JSON body with typed values and blocks works like the form.
    let reply = emu
        .call_json_paced(
            "chat.postMessage",
            BOT,
            json!({"channel": "C0SWARMMOB", "text": "fallback", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]}),
        )
        .await;
    assert_eq!(reply.body["ok"], true, "{} {}", reply.status, reply.body);
    assert_eq!(reply.body["message"]["blocks"][0]["type"], "section");
}

#[tokio::test]
async fn reactions_add_get_remove() {
    let emu = quiet().await;
    let ts = post(&emu, "swarm-data", "resolve me").await;
    let p = [
        ("channel", "C0SWARMDAT"),
        ("timestamp", ts.as_str()),
        ("name", "white_check_mark"),
    ];
    emu.ok("reactions.add", &p).await;
    assert_eq!(emu.err("reactions.add", &p).await, "already_reacted");
    let got = emu
        .ok(
            "reactions.get",
            &[("channel", "C0SWARMDAT"), ("timestamp", &ts)],
        )
        .await;
    assert_eq!(
        got["message"]["reactions"],
        json!([{"name": "white_check_mark", "users": ["U0SWARMBOT"], "count": 1}])
    );
    emu.ok("reactions.remove", &p).await;
    assert_eq!(emu.err("reactions.remove", &p).await, "no_reaction");
    let gone = emu
        .ok(
            "reactions.get",
            &[("channel", "C0SWARMDAT"), ("timestamp", &ts)],
        )
        .await;
    assert!(gone["message"].get("reactions").is_none());
    let missing = [
        ("channel", "C0SWARMDAT"),
        ("timestamp", "1.000001"),
        ("name", "eyes"),
    ];
    assert_eq!(
        emu.err("reactions.add", &missing).await,
        "message_not_found"
    );
}

#[tokio::test]
async fn users_usergroups_and_bookmarks() {
    let emu = quiet().await;
    let (users, pages) = all_pages(&emu, "users.list", &[("limit", "10")], "members").await;
    assert!(pages >= 3);
    assert!(
        users.len() >= 30,
        "a lead, 20+ experts, requesters, the bot"
    );
    let info = emu.ok("users.info", &[("user", "U0EXP00001")]).await;
    assert_eq!(info["user"]["name"], "priya.raman");
    assert!(info["user"]["tz"].is_string());
    assert_eq!(
        emu.err("users.info", &[("user", "U0NOBODY")]).await,
        "user_not_found"
    );
    let presence = emu.ok("users.getPresence", &[("user", "U0EXP00001")]).await;
    assert!(presence["presence"] == "active" || presence["presence"] == "away");

    let groups = emu
        .ok("usergroups.list", &[("include_users", "true")])
        .await;
    let groups = groups["usergroups"].as_array().unwrap();
    assert_eq!(groups.len(), 6, "four pods' experts, legal and comms");
    let api = groups
        .iter()
        .find(|g| g["handle"] == "api-experts")
        .unwrap();
    assert!(
        api["users"]
            .as_array()
            .unwrap()
            .contains(&json!("U0EXP00001"))
    );
    let users = emu
        .ok(
            "usergroups.users.list",
            &[("usergroup", api["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(users["users"], api["users"]);
    assert_eq!(
        emu.err("usergroups.users.list", &[("usergroup", "S0NOPE")])
            .await,
        "no_such_subteam"
    );

    let link = "https://support.acme.example/cases/27343";
    let added = emu
        .ok(
            "bookmarks.add",
            &[
                ("channel_id", "C0SWARMAPI"),
                ("title", "Case 27343"),
                ("type", "link"),
                ("link", link),
            ],
        )
        .await;
    assert_eq!(added["bookmark"]["link"], link);
    assert_eq!(
        emu.channel_state("swarm-api").await["bookmarks"][0]["title"],
        "Case 27343"
    );
    assert_eq!(
        emu.err(
            "bookmarks.add",
            &[
                ("channel_id", "C0SWARMAPI"),
                ("title", "x"),
                ("type", "folder"),
                ("link", link)
            ]
        )
        .await,
        "invalid_bookmark_type"
    );
}

#[tokio::test]
async fn a_scope_not_granted_is_missing_scope_with_needed() {
    let config = EmulatorConfig {
        scopes: vec!["channels:read".into(), "users:read".into()],
        ..EmulatorConfig::default()
    };
    let emu = start(config).await;
    let reply = emu
        .call(
            "chat.postMessage",
            BOT,
            &[("channel", "C0SWARMAPI"), ("text", "x")],
        )
        .await;
    assert_eq!(reply.body["error"], "missing_scope");
    assert_eq!(reply.body["needed"], "chat:write");
    assert_eq!(reply.body["provided"], "channels:read,users:read");
    assert_eq!(reply.scopes.as_deref(), Some("channels:read,users:read"));
    emu.ok("conversations.list", &[]).await;
    let private = emu
        .call(
            "conversations.create",
            BOT,
            &[("name", "x"), ("is_private", "true")],
        )
        .await;
    assert_eq!(private.body["needed"], "groups:write");
}

#[tokio::test]
async fn strict_history_limits_allow_one_call_a_minute_and_fifteen_messages() {
    let config = EmulatorConfig {
        history_limits: HistoryLimits::Strict,
        time_scale: 30.0,
        ..EmulatorConfig::default()
    };
    let emu = start(config).await;
    for i in 0..20 {
        post(&emu, "swarm-api", &format!("m{i}")).await;
    }
    let first = emu
        .call(
            "conversations.history",
            BOT,
            &[("channel", "C0SWARMAPI"), ("limit", "100")],
        )
        .await;
    assert_eq!(first.body["messages"].as_array().unwrap().len(), 15);
    assert_eq!(first.body["has_more"], true);
    let second = emu
        .call("conversations.history", BOT, &[("channel", "C0SWARMAPI")])
        .await;
    assert_eq!(second.status, 429);
    assert_eq!(second.body["error"], "ratelimited");
    let wait: u64 = second.retry_after.expect("Retry-After").parse().unwrap();
    assert!(
        (1..=2).contains(&wait),
        "a minute at 30x is two seconds: {wait}"
    );
    // The replies method has its own window.
    let root = emu.ok("conversations.list", &[]).await; // any call: other methods are not limited
    assert_eq!(root["ok"], true);
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    let cursor = first.body["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let third = emu
        .call(
            "conversations.history",
            BOT,
            &[("channel", "C0SWARMAPI"), ("cursor", &cursor)],
        )
        .await;
    assert_eq!(third.body["ok"], true, "{}", third.body);
    assert_eq!(third.body["messages"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn bad_input_gets_slacks_error_shape() {
    let emu = quiet().await;
    let url = |m: &str| format!("{}/api/{m}", emu.base());
    let malformed = emu
        .http
        .post(url("chat.postMessage"))
        .bearer_auth(BOT)
        .header("content-type", "application/json")
        .body("{\"channel\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(
        Emu::reply(malformed).await.body,
        json!({"ok": false, "error": "invalid_json"})
    );
    let unknown = emu.call("chat.teleport", BOT, &[]).await;
    assert_eq!(unknown.body["error"], "unknown_method");
    let oversize = emu
        .http
        .post(url("chat.postMessage"))
        .bearer_auth(BOT)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("channel=C0SWARMAPI&text={}", "x".repeat(3 << 20)))
        .send()
        .await
        .unwrap();
    let oversize = Emu::reply(oversize).await;
    assert_eq!(oversize.status, 413);
    assert_eq!(
        oversize.body,
        json!({"ok": false, "error": "request_too_large"})
    );
    let wrong_type = emu
        .http
        .post(url("auth.test"))
        .bearer_auth(BOT)
        .header("content-type", "image/png")
        .body("png")
        .send()
        .await
        .unwrap();
    assert_eq!(
        Emu::reply(wrong_type).await.body["error"],
        "invalid_post_type"
    );

    // The control API answers bad input with a 400 and a reason, never a panic.
    let (status, body) = emu
        .control_post(
            "events",
            json!({"type": "message", "channel": "C0NOPE", "text": "x"}),
        )
        .await;
    assert_eq!((status, body["ok"].clone()), (400, json!(false)));
    let (status, _) = emu
        .control_post("faults", json!({"method": "x", "status": 200}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = emu
        .control_post("disconnect", json!({"mode": "explode"}))
        .await;
    assert_eq!(status, 400);
    let raw = emu
        .http
        .post(format!("{}/_emulator/events", emu.base()))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    // And the emulator still serves.
    emu.ok("auth.test", &[]).await;
}

#[tokio::test]
async fn scripted_faults_fail_delay_and_clear() {
    let emu = quiet().await;
    let (s, _) = emu
        .control_post(
            "faults",
            json!({"method": "conversations.create", "status": 429, "retry_after": 2, "count": 2}),
        )
        .await;
    assert_eq!(s, 200);
    for _ in 0..2 {
        let r = emu
            .call("conversations.create", BOT, &[("name", "x1")])
            .await;
        assert_eq!((r.status, r.retry_after.as_deref()), (429, Some("2")));
        assert_eq!(r.body["error"], "ratelimited");
    }
    let x1 = emu.ok("conversations.create", &[("name", "x1")]).await;
    let x1 = x1["channel"]["id"].as_str().unwrap();

    emu.control_post("faults", json!({"method": "*", "status": 500, "count": 1}))
        .await;
    assert_eq!(emu.call("auth.test", BOT, &[]).await.status, 500);
    emu.ok("auth.test", &[]).await;

    emu.control_post(
        "faults",
        json!({"method": "conversations.invite", "delay_ms": 400}),
    )
    .await;
    let started = std::time::Instant::now();
    emu.ok(
        "conversations.invite",
        &[("channel", x1), ("users", "U0EXP00003")],
    )
    .await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(400));
    emu.control_post("faults", json!({"clear": true})).await;
    let started = std::time::Instant::now();
    emu.ok(
        "conversations.invite",
        &[("channel", x1), ("users", "U0EXP00004")],
    )
    .await;
    assert!(started.elapsed() < std::time::Duration::from_millis(400));

    // Every call is on the record, failures included, and no token is.
    let calls = emu.control_get("calls").await;
    let creates: Vec<u64> = calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["method"] == "conversations.create")
        .map(|c| c["status"].as_u64().unwrap())
        .collect();
    assert_eq!(creates, [429, 429, 200]);
    assert!(!calls.to_string().contains(BOT));
}

/// The status of each of `n` auth.test calls, against a chaos emulator with `seed`.
async fn chaos_statuses(seed: u64, n: usize) -> Vec<u16> {
    let emu = start(EmulatorConfig {
        chaos: true,
        seed,
        // What is counted is chaos's own 429s; Slack's limits would add theirs by timing.
        rate_limits: RateLimits::Off,
        ..EmulatorConfig::default()
    })
    .await;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(emu.call("auth.test", BOT, &[]).await.status);
    }
    out
}

#[tokio::test]
async fn chaos_is_deterministic_under_a_seed() {
    let a = chaos_statuses(7, 150).await;
    assert_eq!(a, chaos_statuses(7, 150).await);
    assert_ne!(a, chaos_statuses(8, 150).await);
    assert!(a.contains(&429), "chaos includes rate limits: {a:?}");
    assert!(a.iter().any(|s| *s >= 500), "and server errors");
    assert!(
        a.iter().filter(|s| **s == 200).count() > 120,
        "but most calls succeed"
    );
}

#[tokio::test]
async fn the_same_seed_gives_the_same_workspace_and_workload() {
    let config = |seed| EmulatorConfig {
        rate: 600.0,
        time_scale: 20.0,
        seed,
        ..EmulatorConfig::default()
    };
    async fn first_requests(emu: &Emu) -> Vec<(String, String)> {
        let state = emu
            .wait_for_state("six swarm requests", |s| {
                s["channels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["messages"].as_array().unwrap().len())
                    .sum::<usize>()
                    >= 6
            })
            .await;
        let mut all: Vec<(String, String, String)> = state["channels"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| {
                c["messages"].as_array().unwrap().iter().map(|m| {
                    (
                        m["ts"].as_str().unwrap().to_string(),
                        c["name"].as_str().unwrap().to_string(),
                        m["text"].as_str().unwrap().to_string(),
                    )
                })
            })
            .collect();
        all.sort();
        all.into_iter().take(6).map(|(_, c, t)| (c, t)).collect()
    }
    let a = start(config(11)).await;
    let b = start(config(11)).await;
    let c = start(config(12)).await;
    let (ra, rb, rc) = (
        first_requests(&a).await,
        first_requests(&b).await,
        first_requests(&c).await,
    );
    assert_eq!(ra, rb);
    assert_ne!(ra, rc);
    assert!(ra.iter().any(|(_, text)| text.contains("Case")), "{ra:?}");
    let users = |s: Value| s["users"].clone();
    assert_eq!(users(a.state().await), users(b.state().await));
}
