//! Clicks on messages' buttons and selects (`POST /_emulator/click`), as strict as Slack:
//! a `block_actions` payload in an `interactive` envelope to the app that posted the
//! message, on one of its connections, redelivered until acked; and the seeded experts
//! who answer swarmdeck's asks by clicking.

mod common;

use common::{APP, BOT, DEADLINE, Emu, Socket, quiet, start};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use swarmdeck::emulator::EmulatorConfig;

const EXPERT: &str = "U0EXP00001";

/// The payload keys this emulator sends: the fixture's (a real Slack payload), and the
/// three Slack adds that the fixture's older capture lacks.
const PAYLOAD_KEYS: [&str; 14] = [
    "type",
    "user",
    "api_app_id",
    "token",
    "container",
    "trigger_id",
    "team",
    "enterprise",
    "is_enterprise_install",
    "channel",
    "message",
    "state",
    "response_url",
    "actions",
];

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

/// The real Slack `block_actions` envelope, when `../shared/slack-fixtures` is beside this clone.
fn fixture() -> Option<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/slack-fixtures/sm_envelope_interactive_block_actions_java.json");
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).expect("the fixture is JSON"))
}

/// The next `interactive` envelope within `within` (events on the way are acked).
async fn next_click(socket: &mut Socket, within: Duration) -> Option<Value> {
    let deadline = Instant::now() + within;
    loop {
        let frame = socket
            .next_json_within(deadline.saturating_duration_since(Instant::now()))
            .await?;
        match frame["type"].as_str() {
            Some("interactive") => return Some(frame),
            Some("events_api") => socket.ack(&frame).await,
            _ => {}
        }
    }
}

/// Whether no `interactive` envelope comes within `within`.
async fn no_click(socket: &mut Socket, within: Duration) -> bool {
    next_click(socket, within).await.is_none()
}

async fn click(emu: &Emu, body: Value) -> (u16, Value) {
    emu.control_post("click", body).await
}

/// A bot post (app 1's unless `token` says otherwise); answers its ts.
async fn bot_post(
    emu: &Emu,
    token: &str,
    channel: &str,
    blocks: Value,
    metadata: Option<Value>,
) -> String {
    let mut body = json!({"channel": channel, "text": "Pick one", "blocks": blocks});
    if let Some(metadata) = metadata {
        body["metadata"] = metadata;
    }
    let reply = emu.call_json_paced("chat.postMessage", token, body).await;
    assert_eq!(reply.body["ok"], true, "{}", reply.body);
    reply.body["ts"].as_str().unwrap().to_string()
}

fn button_blocks() -> Value {
    json!([{"type": "actions", "block_id": "b", "elements": [
        {"type": "button", "action_id": "a", "value": "underlying",
         "text": {"type": "plain_text", "text": "Click Me!", "emoji": true}},
    ]}])
}

/// The ask swarmdeck posts to an expert, as the wire contract fixes it.
fn ask_blocks(pod: &str, thread_ts: &str, ask: &str) -> Value {
    let value = format!("{pod}|{thread_ts}|{ask}");
    let option = |label: &str, reason: &str| json!({"text": {"type": "plain_text", "text": label}, "value": format!("{value}|{reason}")});
    json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": "Can you take case 27343?"}},
        {"type": "actions", "block_id": "swarmdeck_ask", "elements": [
            {"type": "button", "action_id": "swarmdeck_accept", "style": "primary",
             "text": {"type": "plain_text", "text": "Accept"}, "value": value},
            {"type": "static_select", "action_id": "swarmdeck_decline",
             "placeholder": {"type": "plain_text", "text": "Decline…"},
             "options": [
                option("Busy with another case", "busy"),
                option("Not my area", "not_my_area"),
                option("Out of office", "out_of_office"),
                option("At capacity", "at_capacity"),
             ]},
        ]},
    ])
}

/// The bot opens a DM with `expert` and asks them (ask id `ask`); answers the DM's id and
/// the ask's ts.
async fn ask(emu: &Emu, expert: &str, ask: &str) -> (String, String) {
    let open = emu
        .call_paced("conversations.open", BOT, &[("users", expert)])
        .await;
    assert_eq!(open.body["ok"], true, "{}", open.body);
    let dm = open.body["channel"]["id"].as_str().unwrap().to_string();
    let ts = bot_post(
        emu,
        BOT,
        &dm,
        ask_blocks("C0SWARMAPI", "1700000000.000100", ask),
        None,
    )
    .await;
    (dm, ts)
}

async fn deliveries_of(emu: &Emu, event_id: &str) -> Vec<Value> {
    let all = emu.control_get("deliveries").await;
    all.as_array()
        .unwrap()
        .iter()
        .filter(|d| d["event_id"] == event_id)
        .cloned()
        .collect()
}

/// Polls the deliveries of `event_id` until `check` holds; returns them.
async fn wait_for_deliveries(
    emu: &Emu,
    event_id: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let sent = deliveries_of(emu, event_id).await;
        if check(&sent) {
            return sent;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "waited on the deliveries of {event_id}: {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn key_set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

#[tokio::test]
async fn a_click_on_a_bot_button_sends_block_actions_as_slack_builds_it() {
    let emu = quiet().await;
    let mut socket = emu.socket().await;
    let metadata = json!({"event_type": "swarmdeck_test", "event_payload": {"n": 1}});
    let ts = bot_post(
        &emu,
        BOT,
        "swarm-api",
        button_blocks(),
        Some(metadata.clone()),
    )
    .await;
    let (status, answer) = click(
        &emu,
        json!({"user": EXPERT, "channel": "swarm-api", "ts": ts, "action_id": "a"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ok"], true);
    let envelope = next_click(&mut socket, DEADLINE).await.expect("the click");
    assert_eq!(envelope["envelope_id"], answer["envelope_id"]);

    // The keys of Slack's envelope and payload, no more.
    let ours = key_set(&PAYLOAD_KEYS);
    let payload = &envelope["payload"];
    assert_eq!(keys(payload), ours);
    let envelope_keys = ["envelope_id", "payload", "type", "accepts_response_payload"];
    assert_eq!(keys(&envelope), key_set(&envelope_keys));
    let action = &payload["actions"][0];
    let button_keys = [
        "action_id",
        "block_id",
        "text",
        "value",
        "type",
        "action_ts",
    ];
    assert_eq!(keys(action), key_set(&button_keys));
    if let Some(slack) = fixture() {
        assert_eq!(keys(&envelope), keys(&slack));
        let theirs = &slack["payload"];
        assert!(keys(theirs).is_subset(&ours), "{:?}", keys(theirs));
        for part in ["user", "container", "team", "channel"] {
            assert_eq!(keys(&payload[part]), keys(&theirs[part]), "{part}");
        }
        assert_eq!(keys(action), keys(&theirs["actions"][0]));
        assert_eq!(payload["actions"].as_array().map(Vec::len), Some(1));
    } else {
        eprintln!(
            "../shared/slack-fixtures is not beside this clone: compared with the key list only"
        );
    }

    assert_eq!(envelope["type"], "interactive");
    assert_eq!(envelope["accepts_response_payload"], false);
    assert_eq!(payload["type"], "block_actions");
    assert_eq!(payload["api_app_id"], "A0SWARMDCK");
    assert_eq!(payload["user"]["id"], EXPERT);
    assert_eq!(payload["user"]["username"], "priya.raman");
    assert_eq!(payload["user"]["team_id"], "T0ACMESUP");
    assert_eq!(
        payload["team"],
        json!({"id": "T0ACMESUP", "domain": "acme-support"})
    );
    assert_eq!(
        payload["channel"],
        json!({"id": "C0SWARMAPI", "name": "swarm-api"})
    );
    assert_eq!(
        payload["container"],
        json!({"type": "message", "message_ts": ts, "channel_id": "C0SWARMAPI", "is_ephemeral": false})
    );
    assert_eq!(payload["enterprise"], Value::Null);
    assert_eq!(payload["is_enterprise_install"], false);
    assert_eq!(payload["state"], json!({"values": {}}));
    assert!(
        payload["trigger_id"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    assert!(
        payload["response_url"]
            .as_str()
            .unwrap()
            .starts_with("https://hooks.slack.com/actions/T0ACMESUP/")
    );
    let message = &payload["message"];
    assert_eq!(message["ts"], ts.as_str());
    assert_eq!(message["bot_id"], "B0SWARMBOT");
    assert_eq!(message["blocks"], button_blocks());
    assert_eq!(
        message["metadata"], metadata,
        "the message as history shows it to its app"
    );
    assert_eq!(action["action_id"], "a");
    assert_eq!(action["block_id"], "b");
    assert_eq!(action["value"], "underlying", "a button's own value");
    assert_eq!(action["text"]["text"], "Click Me!");
    assert_eq!(action["type"], "button");
    assert_eq!(action["action_ts"], answer["action_ts"]);

    socket.ack(&envelope).await;
    let sent = wait_for_deliveries(&emu, "click-1", |d| {
        d.iter().any(|d| d["acked_at"].is_string())
    })
    .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["type"], "interactive");
}

#[tokio::test]
async fn a_select_click_carries_the_option_slack_sends() {
    let emu = quiet().await;
    let mut socket = emu.socket().await;
    let (dm, ts) = ask(&emu, EXPERT, "ask-1").await;
    let busy = "C0SWARMAPI|1700000000.000100|ask-1|busy";
    let (status, answer) = click(
        &emu,
        json!({"user": EXPERT, "channel": dm, "ts": ts, "action_id": "swarmdeck_decline", "selected_option": busy}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let envelope = next_click(&mut socket, DEADLINE).await.expect("the click");
    let payload = &envelope["payload"];
    assert_eq!(
        payload["channel"],
        json!({"id": dm, "name": "directmessage"})
    );
    let action = &payload["actions"][0];
    let select_keys = [
        "action_id",
        "block_id",
        "selected_option",
        "placeholder",
        "type",
        "action_ts",
    ];
    assert_eq!(keys(action), key_set(&select_keys));
    assert_eq!(action["type"], "static_select");
    assert_eq!(action["block_id"], "swarmdeck_ask");
    assert_eq!(
        action["selected_option"],
        json!({"text": {"type": "plain_text", "text": "Busy with another case"}, "value": busy})
    );
    assert_eq!(
        action["placeholder"],
        json!({"type": "plain_text", "text": "Decline…"})
    );
}

#[tokio::test]
async fn clicks_slack_would_never_send_are_refused() {
    let emu = quiet().await;
    let (dm, ts) = ask(&emu, EXPERT, "ask-1").await;
    let (emu_ref, dm_ref, ts_ref) = (&emu, &dm, &ts);
    let attempt = move |changes: Value| {
        let mut body = json!({"user": EXPERT, "channel": dm_ref, "ts": ts_ref, "action_id": "swarmdeck_accept"});
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        click(emu_ref, body)
    };
    let refused = |status: u16, error: &str| (status, json!({"ok": false, "error": error}));
    let mistakes = [
        (
            json!({"action_id": "swarmdeck_decline", "selected_option": "C0SWARMAPI|x|ask-1|bored"}),
            400,
            "no_such_option",
        ),
        (
            json!({"action_id": "swarmdeck_maybe"}),
            400,
            "no_such_action",
        ),
        (json!({"ts": "1600000000.000001"}), 404, "message_not_found"),
        (json!({"channel": "C0NOWHERE"}), 404, "channel_not_found"),
        (
            json!({"value": "C0SWARMAPI|forged|ask-1"}),
            400,
            "value_mismatch",
        ),
        (json!({"user": "U0NOBODY1"}), 400, "user_not_found"),
    ];
    for (changes, status, error) in mistakes {
        assert_eq!(
            attempt(changes.clone()).await,
            refused(status, error),
            "{changes}"
        );
    }

    // A person's post with a button (pasted Block Kit) belongs to no app: nobody to tell.
    let by_person = emu
        .inject(
            json!({"type": "message", "channel": "swarm-api", "user": "U0NEWBIE1",
                       "text": "look", "blocks": button_blocks()}),
        )
        .await;
    let person_ts = by_person["ts"].as_str().unwrap();
    let on_person =
        json!({"user": EXPERT, "channel": "swarm-api", "ts": person_ts, "action_id": "a"});
    assert_eq!(
        click(&emu, on_person).await,
        refused(400, "not_an_app_message")
    );
    assert!(
        emu.control_get("deliveries")
            .await
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["type"] != "interactive")
    );

    // Who /_emulator/events made known may click; so may a channel's non-member.
    let (status, body) = attempt(json!({"user": "U0NEWBIE1"})).await;
    assert_eq!((status, body["ok"].clone()), (200, json!(true)), "{body}");
    let (status, body) = click(&emu, json!({"user": EXPERT, "channel": dm, "ts": ts, "action_id": "swarmdeck_accept", "value": "C0SWARMAPI|1700000000.000100|ask-1"})).await;
    assert_eq!(status, 200, "the button's own value may be given: {body}");
    let (status, _) = click(&emu, json!({"user": EXPERT, "channel": dm, "ts": ts})).await;
    assert_eq!(status, 400, "an action_id is required");
}

#[tokio::test]
async fn an_unacked_click_comes_again_under_a_new_envelope_id_and_an_acked_one_does_not() {
    // A minute of Slack time a second: retry 1 right after the ack window, retry 2 a second later.
    let emu = start(EmulatorConfig {
        time_scale: 60.0,
        ..EmulatorConfig::default()
    })
    .await;
    let mut socket = emu.socket().await;
    let ts = bot_post(&emu, BOT, "swarm-api", button_blocks(), None).await;
    let (_, answer) = click(
        &emu,
        json!({"user": EXPERT, "channel": "C0SWARMAPI", "ts": ts, "action_id": "a"}),
    )
    .await;
    let first = next_click(&mut socket, DEADLINE).await.expect("the click");
    let again = next_click(&mut socket, DEADLINE)
        .await
        .expect("redelivered, not acked");
    assert_eq!(first["envelope_id"], answer["envelope_id"]);
    assert_ne!(again["envelope_id"], first["envelope_id"]);
    assert_eq!(again["payload"], first["payload"], "the same click");
    assert!(
        again.get("retry_attempt").is_none(),
        "interactive envelopes carry no retry fields"
    );
    socket.ack(&again).await;
    assert!(
        no_click(&mut socket, Duration::from_secs(3)).await,
        "acked: not again"
    );
    assert_eq!(deliveries_of(&emu, "click-1").await.len(), 2);
}

/// The connection id a socket's `hello` names (its host is `applink-emulator-<id>`).
fn connection_of(hello: &Value) -> u64 {
    let host = hello["debug_info"]["host"].as_str().expect("a host");
    host.rsplit('-').next().unwrap().parse().expect("an id")
}

#[tokio::test]
async fn a_click_goes_to_one_connection_of_the_app_whose_bot_posted() {
    let emu = start(EmulatorConfig {
        apps: 2,
        ..EmulatorConfig::default()
    })
    .await;
    let (mut one, hello_one) = emu.socket_as(APP, "").await;
    let (mut two, hello_two) = emu.socket_as(APP, "").await;
    let (mut other_app, _) = emu.socket_as("xapp-1-A2-test", "").await;
    let ts = bot_post(&emu, BOT, "swarm-api", button_blocks(), None).await;
    let (status, _) = click(
        &emu,
        json!({"user": EXPERT, "channel": "C0SWARMAPI", "ts": ts, "action_id": "a"}),
    )
    .await;
    assert_eq!(status, 200);
    let sent = wait_for_deliveries(&emu, "click-1", |d| !d.is_empty()).await;
    assert_eq!(sent[0]["app"], "A0SWARMDCK");
    let (chosen, idle) = if sent[0]["connection"] == connection_of(&hello_one) {
        (&mut one, &mut two)
    } else {
        assert_eq!(sent[0]["connection"], connection_of(&hello_two));
        (&mut two, &mut one)
    };
    let envelope = next_click(chosen, DEADLINE)
        .await
        .expect("on the chosen connection");
    chosen.ack(&envelope).await;
    let quiet_for = Duration::from_millis(1500);
    assert!(no_click(idle, quiet_for).await, "one connection only");
    assert!(
        no_click(&mut other_app, quiet_for).await,
        "another app's bot did not post it"
    );

    // App 2's own post goes to app 2.
    let ts2 = bot_post(
        &emu,
        "xoxb-test-A2-123456",
        "swarm-api",
        button_blocks(),
        None,
    )
    .await;
    click(
        &emu,
        json!({"user": EXPERT, "channel": "C0SWARMAPI", "ts": ts2, "action_id": "a"}),
    )
    .await;
    let envelope = next_click(&mut other_app, DEADLINE)
        .await
        .expect("app 2's click");
    assert_eq!(envelope["payload"]["api_app_id"], "A0SWARM002");
}

#[tokio::test]
async fn a_click_with_no_socket_open_waits_for_one() {
    let emu = quiet().await;
    let ts = bot_post(&emu, BOT, "swarm-api", button_blocks(), None).await;
    let (_, answer) = click(
        &emu,
        json!({"user": EXPERT, "channel": "C0SWARMAPI", "ts": ts, "action_id": "a"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut socket = emu.socket().await;
    let envelope = next_click(&mut socket, DEADLINE)
        .await
        .expect("delivered on connect");
    assert_eq!(envelope["envelope_id"], answer["envelope_id"]);
}

/// The seeded experts with `answer`, from `GET /_emulator/experts`.
async fn experts_who(emu: &Emu, answer: &str) -> Vec<String> {
    let listing = emu.control_get("experts").await;
    listing["experts"]
        .as_array()
        .expect("experts")
        .iter()
        .filter(|e| e["answer"] == answer)
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_seeded_accepting_expert_accepts_an_ask_after_the_scaled_delay() {
    // A workload (a request every ~100 Slack minutes) makes every expert answer by temperament;
    // ten times Slack's speed puts their 5–20 s at 0.5–2 s.
    let emu = start(EmulatorConfig {
        rate: 0.01,
        time_scale: 10.0,
        ..EmulatorConfig::default()
    })
    .await;
    let accepting = experts_who(&emu, "accept").await;
    assert!(
        accepting.len() > experts_who(&emu, "decline").await.len(),
        "most accept"
    );
    assert!(
        !experts_who(&emu, "silent").await.is_empty(),
        "a few stay silent"
    );
    let expert = accepting[0].clone();
    let mut socket = emu.socket().await;
    let asked = Instant::now();
    let (dm, ts) = ask(&emu, &expert, "ask-7").await;
    let envelope = next_click(&mut socket, DEADLINE)
        .await
        .expect("the expert's answer");
    let waited = asked.elapsed();
    socket.ack(&envelope).await;
    let payload = &envelope["payload"];
    assert_eq!(payload["user"]["id"], expert.as_str());
    assert_eq!(payload["container"]["channel_id"], dm.as_str());
    assert_eq!(payload["container"]["message_ts"], ts.as_str());
    let action = &payload["actions"][0];
    assert_eq!(action["action_id"], "swarmdeck_accept");
    assert_eq!(action["value"], "C0SWARMAPI|1700000000.000100|ask-7");
    assert!(
        waited >= Duration::from_millis(450),
        "a person takes a while: {waited:?}"
    );
    assert!(
        no_click(&mut socket, Duration::from_secs(3)).await,
        "one answer per ask"
    );
}

#[tokio::test]
async fn experts_told_how_to_answer_do_so_and_no_one_else_does_without_a_workload() {
    let emu = start(EmulatorConfig {
        time_scale: 10.0,
        ..EmulatorConfig::default()
    })
    .await;
    let emu_ref = &emu;
    let tell = move |body: Value| emu_ref.control_post("experts", body);
    let (status, body) = tell(json!({"user": "U0EXP00003", "answer": "decline", "reason": "out_of_office", "delay_seconds": 1})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        tell(json!({"user": "U0EXP00004", "answer": "silent"}))
            .await
            .0,
        200
    );
    assert_eq!(
        tell(json!({"user": "U0NOBODY1", "answer": "accept"}))
            .await
            .1["error"],
        "user_not_found"
    );
    assert_eq!(
        tell(json!({"user": "U0EXP00005", "answer": "decline", "reason": "bored"}))
            .await
            .0,
        400
    );
    assert_eq!(
        tell(json!({"user": "U0SWARMBOT", "answer": "accept"}))
            .await
            .0,
        400,
        "bots do not click"
    );
    let listing = emu.control_get("experts").await;
    let shown = |id: &str| {
        let expert = listing["experts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id);
        expert
            .cloned()
            .unwrap_or_else(|| panic!("{id} listed: {listing}"))
    };
    let told = shown("U0EXP00003");
    assert_eq!(
        (
            told["answer"].as_str(),
            told["reason"].as_str(),
            told["told"].as_bool()
        ),
        (Some("decline"), Some("out_of_office"), Some(true))
    );
    assert_eq!(told["answers"], true);
    assert_eq!(shown("U0EXP00004")["answers"], false, "told to stay silent");
    assert_eq!(
        shown("U0EXP00005")["answers"],
        false,
        "untold, and no workload"
    );

    let mut socket = emu.socket().await;
    ask(&emu, "U0EXP00004", "silent-ask").await;
    ask(&emu, "U0EXP00005", "untold-ask").await;
    let (dm, _) = ask(&emu, "U0EXP00003", "ooo-ask").await;
    let envelope = next_click(&mut socket, DEADLINE)
        .await
        .expect("the told decline");
    socket.ack(&envelope).await;
    let payload = &envelope["payload"];
    assert_eq!(payload["user"]["id"], "U0EXP00003");
    assert_eq!(payload["channel"]["id"], dm.as_str());
    assert_eq!(payload["actions"][0]["action_id"], "swarmdeck_decline");
    assert_eq!(
        payload["actions"][0]["selected_option"]["value"],
        "C0SWARMAPI|1700000000.000100|ooo-ask|out_of_office"
    );
    // Seeded delays are at most 2 s here: an untold or silent expert's answer would be in.
    assert!(
        no_click(&mut socket, Duration::from_secs(3)).await,
        "only the told expert answers"
    );
}

#[tokio::test]
async fn the_demo_backlog_holds_two_asks_waiting_on_experts() {
    let emu = start(EmulatorConfig {
        backlog: true,
        ..EmulatorConfig::default()
    })
    .await;
    let state = emu.state().await;
    let channels = state["channels"].as_array().unwrap();
    let asks: Vec<&Value> = channels
        .iter()
        .filter(|c| c["is_im"] == true)
        .flat_map(|c| c["messages"].as_array().unwrap())
        .filter(|m| {
            m["blocks"]
                .as_array()
                .is_some_and(|b| b.iter().any(|b| b["block_id"] == "swarmdeck_ask"))
        })
        .collect();
    assert_eq!(asks.len(), 2, "{asks:?}");
    let markers: Vec<&Value> = channels
        .iter()
        .flat_map(|c| c["messages"].as_array().unwrap())
        .filter(|m| m["metadata"]["event_type"] == "swarmdeck_asked")
        .collect();
    assert_eq!(markers.len(), 2);
    let mut ask_ids = BTreeSet::new();
    for marker in markers {
        let payload = &marker["metadata"]["event_payload"];
        assert_eq!(payload["lead"], "U0LEAD0001");
        assert!(payload["case"].is_string(), "{payload}");
        assert!(
            payload["expert"].as_str().unwrap().starts_with("U0EXP"),
            "{payload}"
        );
        assert!(marker["thread_ts"].is_string() && marker["bot_id"] == "B0SWARMBOT");
        ask_ids.insert(payload["ask"].as_str().unwrap());
    }
    assert_eq!(ask_ids, BTreeSet::from(["backlog-ask-1", "backlog-ask-2"]));
}
