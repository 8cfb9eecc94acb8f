//! Bad input at the edge, through the emulator's raw hook (`POST /_emulator/raw`): what
//! Slack's own encoder never writes but Slack can still send — a lone surrogate escape,
//! blocks nested past serde_json's limit, a message that does not decode — costs at most
//! the one message: a request still opens, and a gap fill still completes, once.

mod common;

use common::tail::Tail;
use common::{APP, BOT, DEADLINE, Emu};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use swarmdeck::emulator::EmulatorConfig;
use swarmdeck::slack::wire::Event;
use swarmdeck::slack::{self, Connected, SlackConfig, Source, Token, Update};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const API: &str = "C0SWARMAPI";

/// A rich-text list nested `levels` deep, as a block: from 62 levels past serde_json's limit.
fn deep_block(levels: usize) -> String {
    let open = r#"{"type":"rich_text_list","elements":["#.repeat(levels);
    format!(
        r#"{{"type":"rich_text","elements":[{open}{}]}}"#,
        "]}".repeat(levels)
    )
}

/// Now as a Slack ts, `n` µs on so that each is distinct.
fn ts_now(n: u64) -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
        + n;
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// An events_api envelope around `event`, JSON text kept byte for byte.
fn envelope(n: u64, event: &str) -> String {
    format!(
        r#"{{"envelope_id":"raw-{n}","payload":{{"token":"t","team_id":"T0ACME","api_app_id":"A0SWARMDCK","event":{event},"type":"event_callback","event_id":"Ev0RAW{n:04}","event_time":1}},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""}}"#
    )
}

/// A request typed by hand into the api pod, its text as JSON text (escapes and all).
fn typed_request(ts: &str, text_json: &str, blocks: &str) -> String {
    format!(
        r#"{{"type":"message","channel":"{API}","user":"U0REQ00002","ts":"{ts}","event_ts":"{ts}","text":"{text_json}","blocks":[{blocks}]}}"#
    )
}

async fn send_frame(emu: &Emu, frame: String) {
    let (status, body) = emu.control_post("raw", json!({ "frame": frame })).await;
    assert_eq!(status, 200, "raw frame: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_a_lone_surrogate_in_its_subject_opens() {
    let emu = common::quiet().await;
    let data = std::env::temp_dir().join(format!("swarmdeck-bad-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let tail = Tail::spawn(&emu.running.api_url(), &data, "tail", (APP, BOT), None);
    emu.wait_for_state("the tail connected", |s| {
        s["connections"].as_u64().unwrap_or(0) >= 1
    })
    .await;

    // First one that cannot be read at all (a ts that is no string): skipped, and the
    // ones after it still open.
    send_frame(
        &emu,
        envelope(
            1,
            &format!(
                r#"{{"type":"message","channel":"{API}","user":"U0REQ00002","ts":17,"text":"Case #: 41000\nSeverity: High\nSubject: unreadable"}}"#
            ),
        ),
    )
    .await;
    // The subject cut in the middle of an emoji: a lone high surrogate escape.
    let text = r"Case #: 41001\nSeverity: Sev 1\nSubject: login fails \ud83d on save\nPlease help";
    send_frame(&emu, envelope(2, &typed_request(&ts_now(0), text, ""))).await;
    // Blocks nested past serde_json's limit: the block goes, the text still reads.
    let text = r"Case #: 41002\nSeverity: High\nSubject: deep blocks";
    let request = typed_request(&ts_now(1), text, &deep_block(200));
    send_frame(&emu, envelope(3, &request)).await;

    tail.wait_until("both readable requests opened", |lines| {
        ["41001", "41002"].iter().all(|case| {
            lines
                .iter()
                .any(|l| l["type"] == "swarm_opened" && l["case"] == *case)
        })
    })
    .await;
    let opened: HashMap<String, Value> = tail
        .events()
        .into_iter()
        .filter(|l| l["type"] == "swarm_opened")
        .map(|l| (l["case"].as_str().unwrap().to_string(), l))
        .collect();
    assert_eq!(
        opened["41001"]["subject"], "login fails \u{fffd} on save",
        "the lone surrogate reads as U+FFFD"
    );
    assert_eq!(opened["41001"]["urgency"], "sev1");
    assert_eq!(opened["41002"]["subject"], "deep blocks");
    assert!(!opened.contains_key("41000"), "{opened:?}");
    std::fs::remove_dir_all(&data).ok();
}

/// What the client passed on, by ts.
#[derive(Default)]
struct Seen {
    messages: HashMap<String, (Source, String, usize)>,
    /// Messages passed on a second time.
    twice: Vec<String>,
    /// Each `Covered` mark, with how many messages had come before it.
    covered: Vec<usize>,
    connected: usize,
}

impl Seen {
    fn take(&mut self, update: Update) {
        match update {
            Update::Event(incoming) => {
                if let Event::Message(m) = &incoming.event
                    && let Some(ts) = m.ts.clone()
                {
                    let message = (incoming.source.clone(), m.text.clone(), m.blocks.len());
                    if self.messages.insert(ts.clone(), message).is_some() {
                        self.twice.push(ts);
                    }
                }
            }
            Update::Status(s) => self.connected = s.connected,
            Update::Covered { .. } => self.covered.push(self.messages.len()),
            Update::Company { .. } => {}
        }
    }
}

async fn take_until(
    client: &mut Connected,
    seen: &mut Seen,
    what: &str,
    done: impl Fn(&Seen) -> bool,
) {
    let end = Instant::now() + DEADLINE * 3;
    while !done(seen) {
        let left = end.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, client.updates.recv()).await {
            Ok(Some(update)) => seen.take(update),
            Ok(None) => panic!("the client's stream ended"),
            Err(_) => panic!("timed out waiting for {what}; seen {:?}", seen.messages),
        }
    }
}

async fn history_calls(emu: &Emu) -> usize {
    emu.control_get("calls")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["method"] == "conversations.history")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_page_with_a_bad_message_still_fills_the_gap_once() {
    let scale = 10.0;
    let emu = common::start(EmulatorConfig {
        time_scale: scale,
        ..EmulatorConfig::default()
    })
    .await;
    let mut cfg = SlackConfig::new(&emu.running.api_url(), Token::new(BOT), Token::new(APP));
    cfg.web.time_scale = scale;
    cfg.socket.backoff.base = Duration::from_millis(200);
    // No probes or mute checks: the only history reads are the fills this test causes.
    cfg.socket.probe_every = None;
    cfg.socket.mute_after = Duration::from_secs(3600);
    cfg.channels = Some(vec![API.into()]);
    cfg.gap_margin = Duration::from_secs(5);
    cfg.initial_lookback = Duration::from_secs(60);
    let mut client = slack::connect(cfg).await.unwrap();
    let mut seen = Seen::default();
    take_until(&mut client, &mut seen, "a connection", |s| s.connected >= 1).await;
    let say = |text: String| {
        let emu = &emu;
        async move {
            let event =
                json!({"type": "message", "channel": API, "user": "U0REQ00002", "text": text});
            emu.inject(event).await["ts"].as_str().unwrap().to_string()
        }
    };
    let before = say("before".into()).await;
    take_until(&mut client, &mut seen, "the message before", |s| {
        s.messages.contains_key(&before)
    })
    .await;

    // 60 s of Slack time (6 s here) without sockets: what is posted meanwhile only
    // history holds.
    let (status, _) = emu
        .control_post("disconnect", json!({"mode": "outage", "seconds": 60.0}))
        .await;
    assert_eq!(status, 200);
    let calls_at_outage = history_calls(&emu).await;
    let covered_before = seen.covered.len();
    let mut lost = Vec::new();
    for i in 0..8 {
        lost.push(say(format!("during {i}")).await);
    }
    // History as the emulator has it, then spoilt as Slack's encoder never would: one
    // lone surrogate, one block too deep, and one message with a ts that is no string.
    let page = emu
        .ok(
            "conversations.history",
            &[("channel", API), ("oldest", &before), ("limit", "200")],
        )
        .await;
    let mut page = page;
    let bad = lost[5].clone();
    for m in page["messages"].as_array_mut().unwrap() {
        if m["ts"] == lost[4] {
            m["blocks"] = json!("DEEP");
        }
        if m["ts"] == bad {
            m["ts"] = json!(17);
        }
        if m["ts"] == lost[2] {
            // A backslash here, which the encoder escapes; unescaped below.
            m["text"] = json!(format!("{} \\ud83d", m["text"].as_str().unwrap()));
        }
    }
    let body = serde_json::to_string(&page)
        .unwrap()
        .replace(r"\\ud83d", r"\ud83d")
        .replace(r#""DEEP""#, &format!("[{}]", deep_block(100)));
    assert!(
        serde_json::from_str::<Value>(&body).is_err(),
        "serde_json alone refuses the page"
    );
    let (status, answer) = emu
        .control_post(
            "raw",
            json!({"method": "conversations.history", "channel": API, "body": body}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        history_calls(&emu).await,
        calls_at_outage + 1,
        "only this test's own read since the outage began: if the client filled already, \
         the outage ended before the spoilt page was in place (lengthen it)"
    );

    // Every other lost message comes back from the gap fill, and the fill finishes.
    let recovered: Vec<String> = lost.iter().filter(|ts| **ts != bad).cloned().collect();
    take_until(
        &mut client,
        &mut seen,
        "the lost messages and a Covered mark",
        |s| {
            recovered.iter().all(|ts| s.messages.contains_key(ts))
                && s.covered.len() > covered_before
        },
    )
    .await;
    for ts in &recovered {
        assert_eq!(seen.messages[ts].0, Source::GapFill, "{ts}");
    }
    let (_, text, _) = &seen.messages[&lost[2]];
    assert_eq!(
        text, "during 2 \u{fffd}",
        "read from the spoilt page, surrogate repaired"
    );
    let (_, text, blocks) = &seen.messages[&lost[4]];
    assert_eq!(
        (text.as_str(), *blocks),
        ("during 4", 0),
        "kept, its deep block dropped"
    );

    // The fill is not retried: no more history reads while several of its 5 s retry
    // periods (0.5 s here) go by, and the unreadable message never turns up.
    let calls_after_fill = history_calls(&emu).await;
    let quiet_until = Instant::now() + Duration::from_secs(3);
    while let Ok(Some(update)) =
        tokio::time::timeout_at(quiet_until.into(), client.updates.recv()).await
    {
        seen.take(update);
    }
    assert_eq!(
        history_calls(&emu).await,
        calls_after_fill,
        "history read again after the fill finished"
    );
    assert!(seen.twice.is_empty(), "passed on twice: {:?}", seen.twice);
    assert!(
        !seen.messages.contains_key(&bad),
        "the unreadable one was skipped"
    );
}

#[tokio::test]
async fn the_raw_hook_sends_its_text_byte_for_byte() {
    let emu = common::quiet().await;
    let (status, body) = emu.control_post("raw", json!({"frame": "x"})).await;
    assert_eq!(
        (status, body["ok"].clone()),
        (409, json!(false)),
        "no socket: {body}"
    );
    for bad in [
        json!({}),
        json!({"frame": "x", "body": "y"}),
        json!({"method": "conversations.history"}),
        json!({"method": "conversations.hist", "body": "{}"}),
        json!({"frame": "x", "app": "A9NOSUCH"}),
        json!({"frame": "x", "extra": 1}),
    ] {
        let (status, answer) = emu.control_post("raw", bad.clone()).await;
        assert_eq!(status, 400, "{bad} is refused: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
    }

    let mut socket = emu.socket().await;
    let frame = r#"{"type":"events_api","envelope_id":"e1","payload":{"event":{"text":"\ud83d"}}}"#;
    let (status, _) = emu.control_post("raw", json!({ "frame": frame })).await;
    assert_eq!(status, 200);
    let got = loop {
        match tokio::time::timeout(DEADLINE, socket.ws.next())
            .await
            .expect("the frame in time")
            .expect("socket open")
            .expect("a frame")
        {
            WsMessage::Text(t) => break t.as_str().to_string(),
            // The server's pings.
            _ => continue,
        }
    };
    assert_eq!(got, frame);

    let body = r#"{"ok":true,"messages":[{"ts":"1.0","text":"\udc00"}],"has_more":false}"#;
    let raw = json!({"method": "conversations.history", "channel": API, "body": body});
    assert_eq!(emu.control_post("raw", raw).await.0, 200);
    let history = |channel: &'static str| {
        let emu = &emu;
        async move {
            emu.http
                .post(format!("{}/api/conversations.history", emu.base()))
                .bearer_auth(BOT)
                .form(&[("channel", channel)])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert_ne!(
        history("C0SWARMBIL").await,
        body,
        "another channel's answer is its own"
    );
    assert_eq!(history(API).await, body, "the next answer, as it was given");
    assert_ne!(history(API).await, body, "one-shot");
    let calls = emu.control_get("calls").await;
    let recorded: Vec<bool> = calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["method"] == "conversations.history")
        .map(|c| c["ok"].as_bool().unwrap())
        .collect();
    assert_eq!(recorded, [true, true, true], "recorded like any call");
}
