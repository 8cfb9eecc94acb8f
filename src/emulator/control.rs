//! The control API under `/_emulator/`: how tests, demos and users drive the emulator.
//! `--chaos` never touches it.

use super::Shared;
use super::click::{self as clicks, Click};
use super::experts::{self, Answer};
use super::faults::{Disconnect, FaultSpec};
use super::methods;
use super::socket;
use super::wire;
use super::world::{Edit, Post, World, fmt_ts, parse_ts};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn bad_request(error: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"ok": false, "error": error.into()})),
    )
        .into_response()
}

fn parse_body(body: &Bytes) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid_json: {e}"))
}

/// `POST /_emulator/events`: an event object or a list, stored like a real post and
/// delivered in an `events_api` envelope.
pub(crate) async fn events(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match parse_body(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(e),
    };
    let (list, items) = match body {
        Value::Array(items) => (true, items),
        other => (false, vec![other]),
    };
    let mut answers = Vec::new();
    {
        let mut state = shared.lock();
        let state = &mut *state;
        for (i, item) in items.into_iter().enumerate() {
            match inject(&shared, &mut state.world, item) {
                Ok((ts, event)) => {
                    if let Some(event) = event {
                        shared.emit(state, vec![event]);
                    }
                    answers.push(json!({"ok": true, "ts": ts}));
                }
                Err(error) => {
                    let error = if list {
                        format!("item {i}: {error}")
                    } else {
                        error
                    };
                    return bad_request(error);
                }
            }
        }
    }
    if list {
        Json(Value::Array(answers)).into_response()
    } else {
        Json(answers.remove(0)).into_response()
    }
}

/// Applies one injected event to the workspace; returns its `ts` (for messages) and
/// the event to deliver. Unknown event types are delivered as they are.
fn inject(
    shared: &Shared,
    world: &mut World,
    event: Value,
) -> Result<(Option<String>, Option<Value>), String> {
    let Value::Object(mut obj) = event else {
        return Err("an event must be a JSON object".into());
    };
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if kind.is_empty() {
        return Err("an event needs a \"type\"".into());
    }
    let subtype = obj
        .get("subtype")
        .and_then(Value::as_str)
        .map(str::to_string);
    let str_of =
        |obj: &Map<String, Value>, k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let channel_idx = |world: &World, key: Option<String>| -> Result<usize, String> {
        let key = key.ok_or("the event needs a \"channel\"")?;
        world
            .find_channel(&key)
            .map_err(|_| format!("channel_not_found: {key}"))
    };
    let event_ts = || shared.clock.next_ts();
    match (kind.as_str(), subtype.as_deref()) {
        ("message", Some("message_changed")) => {
            let idx = channel_idx(world, str_of(&obj, "channel"))?;
            let inner = obj.get("message").cloned().unwrap_or_default();
            let ts = inner
                .get("ts")
                .and_then(Value::as_str)
                .and_then(parse_ts)
                .ok_or("message_changed needs message.ts")?;
            let by = inner
                .get("user")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            world.ensure_user(&by);
            let edit = Edit {
                text: inner
                    .get("text")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                blocks: inner.get("blocks").cloned(),
                metadata: None,
            };
            let event = world
                .update(idx, ts, edit, &by, event_ts())
                .map_err(|e| e.to_string())?;
            Ok((Some(fmt_ts(ts)), Some(event)))
        }
        ("message", Some("message_deleted")) => {
            let idx = channel_idx(world, str_of(&obj, "channel"))?;
            let ts = str_of(&obj, "deleted_ts")
                .as_deref()
                .and_then(parse_ts)
                .ok_or("message_deleted needs deleted_ts")?;
            let event = world
                .delete(idx, ts, event_ts())
                .map_err(|e| e.to_string())?;
            Ok((Some(fmt_ts(ts)), Some(event)))
        }
        ("message", _) => {
            let idx = channel_idx(world, str_of(&obj, "channel"))?;
            let ts = match str_of(&obj, "ts") {
                Some(t) => {
                    let ts = parse_ts(&t).ok_or(format!("invalid ts {t:?}"))?;
                    shared.clock.observe_ts(ts);
                    ts
                }
                None => shared.clock.next_ts(),
            };
            let thread_ts = match str_of(&obj, "thread_ts") {
                Some(t) => Some(parse_ts(&t).ok_or(format!("invalid thread_ts {t:?}"))?),
                None => None,
            };
            let user = str_of(&obj, "user");
            if let Some(u) = &user {
                world.ensure_user(u);
            }
            let post = Post {
                user,
                bot_id: str_of(&obj, "bot_id"),
                app_id: str_of(&obj, "app_id"),
                subtype: subtype.filter(|s| s != "thread_broadcast"),
                username: str_of(&obj, "username"),
                text: str_of(&obj, "text").unwrap_or_default(),
                blocks: obj.get("blocks").cloned(),
                attachments: obj.get("attachments").cloned(),
                thread_ts,
                reply_broadcast: obj.get("subtype").and_then(Value::as_str)
                    == Some("thread_broadcast"),
                metadata: obj.get("metadata").cloned(),
                extra: {
                    for k in [
                        "type",
                        "subtype",
                        "channel",
                        "ts",
                        "event_ts",
                        "thread_ts",
                        "user",
                        "bot_id",
                        "app_id",
                        "username",
                        "text",
                        "blocks",
                        "attachments",
                        "metadata",
                        "channel_type",
                        "root",
                        "parent_user_id",
                        "reply_count",
                        "reply_users",
                        "reply_users_count",
                        "latest_reply",
                    ] {
                        obj.remove(k);
                    }
                    obj
                },
            };
            // Posting again at a taken ts replaces the message (a test re-sending a payload).
            world.channels[idx].messages.remove(&ts);
            let event = world.post(idx, post, ts).map_err(|e| e.to_string())?;
            Ok((Some(fmt_ts(ts)), Some(event)))
        }
        ("reaction_added" | "reaction_removed", _) => {
            let item = obj.get("item").cloned().unwrap_or_default();
            let idx = channel_idx(
                world,
                item.get("channel")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )?;
            let ts = item
                .get("ts")
                .and_then(Value::as_str)
                .and_then(parse_ts)
                .ok_or("a reaction needs item.ts")?;
            let user = str_of(&obj, "user").ok_or("a reaction needs a user")?;
            world.ensure_user(&user);
            let name = str_of(&obj, "reaction").ok_or("a reaction needs a reaction name")?;
            let event = world
                .react(idx, ts, &name, &user, kind == "reaction_added", event_ts())
                .map_err(|e| e.to_string())?;
            Ok((None, Some(event)))
        }
        ("member_joined_channel", _) => {
            let idx = channel_idx(world, str_of(&obj, "channel"))?;
            let user = str_of(&obj, "user").ok_or("member_joined_channel needs a user")?;
            world.ensure_user(&user);
            if !world.channels[idx].is_member(&user) {
                world.channels[idx].members.push(user);
            }
            obj.insert("channel".into(), json!(world.channels[idx].id));
            obj.entry("team").or_insert(json!(world.team.id));
            Ok((None, Some(Value::Object(obj))))
        }
        _ => {
            obj.entry("event_ts")
                .or_insert_with(|| json!(fmt_ts(event_ts())));
            Ok((None, Some(Value::Object(obj))))
        }
    }
}

/// `GET /_emulator/calls`: every Web API call so far, in order.
pub(crate) async fn calls(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!(shared.lock().calls)).into_response()
}

/// `GET /_emulator/deliveries`: every envelope sent, to whichever app.
pub(crate) async fn deliveries(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!(shared.lock().hubs.deliveries())).into_response()
}

/// `GET /_emulator/state`: the whole workspace, messages oldest first, replies included.
pub(crate) async fn state(State(shared): State<Arc<Shared>>) -> Response {
    let state = shared.lock();
    let world = &state.world;
    let channels: Vec<Value> = world
        .channels
        .iter()
        .map(|c| {
            let messages: Vec<Value> = c
                .messages
                .values()
                .map(|m| wire::message(world, m, true))
                .collect();
            let bookmarks: Vec<Value> = c
                .bookmarks
                .iter()
                .map(|b| wire::bookmark(world, &c.id, b))
                .collect();
            json!({
                "id": c.id,
                "name": c.name,
                "topic": c.topic.value,
                "purpose": c.purpose.value,
                "members": c.members,
                "is_archived": c.is_archived,
                "is_private": c.is_private,
                "is_im": c.is_im,
                "bookmarks": bookmarks,
                "messages": messages,
            })
        })
        .collect();
    let users: Vec<Value> = world
        .users
        .iter()
        .map(|u| {
            let mut v = wire::user(world, u);
            v["skills"] = json!(u.skills);
            v["presence"] = json!(if u.presence_active { "active" } else { "away" });
            v
        })
        .collect();
    let usergroups: Vec<Value> = world
        .usergroups
        .iter()
        .map(|g| wire::usergroup(world, g, true))
        .collect();
    let app = world.first_app();
    let apps: Vec<Value> = world
        .apps
        .iter()
        .map(|a| json!({"app_id": a.app_id, "bot_user_id": a.bot_user_id, "bot_id": a.bot_id, "name": a.name}))
        .collect();
    let hubs = || state.hubs.iter();
    let mut connection_log: Vec<_> = hubs().flat_map(|h| &h.connection_log).collect();
    connection_log.sort_by_key(|r| r.id);
    Json(json!({
        "team": {"id": world.team.id, "name": world.team.name, "domain": world.team.domain},
        "app": {"app_id": app.app_id, "bot_user_id": app.bot_user_id, "bot_id": app.bot_id},
        "apps": apps,
        "channels": channels,
        "users": users,
        "usergroups": usergroups,
        "connections": hubs().map(|h| h.open_connections()).sum::<usize>(),
        "dropped_events": hubs().map(|h| h.dropped_events).sum::<u64>(),
        "connection_log": connection_log,
    }))
    .into_response()
}

/// `POST /_emulator/disconnect`: `{"mode": "refresh_requested" | "warning" | "drop"}` on
/// every open socket, or `{"mode": "outage", "seconds": N}`; every app's, or with
/// `"app": "A…"` one app's.
pub(crate) async fn disconnect(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match parse_body(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(e),
    };
    let mode = body.get("mode").and_then(Value::as_str).unwrap_or("");
    let target = match body.get("app") {
        None => None,
        Some(app_id) => {
            let world = &shared.lock().world;
            match world
                .apps
                .iter()
                .position(|a| Some(a.app_id.as_str()) == app_id.as_str())
            {
                Some(i) => Some(i),
                None => return bad_request(format!("unknown app {app_id}")),
            }
        }
    };
    let targeted = |app: usize| target.is_none_or(|t| t == app);
    let ids: Vec<(usize, u64)> = shared
        .lock()
        .hubs
        .connection_ids()
        .into_iter()
        .filter(|(app, _)| targeted(*app))
        .collect();
    if mode == "outage" {
        let Some(seconds) = body
            .get("seconds")
            .and_then(Value::as_f64)
            .filter(|s| *s >= 0.0)
        else {
            return bad_request("outage needs \"seconds\"");
        };
        let until = Instant::now() + shared.clock.scaled(Duration::from_secs_f64(seconds));
        let mut state = shared.lock();
        for (app, hub) in state.hubs.iter_mut().enumerate() {
            if targeted(app) {
                hub.start_outage(until);
            }
        }
    } else {
        let Some(kind) = Disconnect::parse(mode) else {
            return bad_request(format!(
                "unknown mode {mode:?}: use refresh_requested, warning, drop, link_disabled, \
                 too_many_websockets or outage"
            ));
        };
        for &(app, id) in &ids {
            socket::disconnect(&shared, app, id, kind);
        }
    }
    shared.wake.notify_one();
    Json(json!({"ok": true, "connections": ids.len()})).into_response()
}

/// `POST /_emulator/faults`: scripted Web API faults, muted sockets, or `{"clear": true}`.
pub(crate) async fn faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(format!("invalid fault: {e}")),
    };
    let mut state = shared.lock();
    if spec.clear == Some(true) {
        state.faults.clear();
        return Json(json!({"ok": true})).into_response();
    }
    if let Some(kind) = &spec.socket {
        if kind != "mute" {
            return bad_request(format!("unknown socket fault {kind:?}: use \"mute\""));
        }
        let seconds = spec.seconds.unwrap_or(60.0).max(0.0);
        let until = Instant::now() + shared.clock.scaled(Duration::from_secs_f64(seconds));
        for hub in state.hubs.iter_mut() {
            hub.mute_all(until);
        }
        return Json(json!({"ok": true})).into_response();
    }
    match state.faults.add(&spec) {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(e) => bad_request(e),
    }
}

/// What `POST /_emulator/raw` takes: a Socket Mode frame to send as it is, or the text
/// of a Web API method's next answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    frame: Option<String>,
    /// The app whose socket gets the frame (app 1 if absent).
    app: Option<String>,
    method: Option<String>,
    channel: Option<String>,
    body: Option<String>,
}

/// `POST /_emulator/raw`: what Slack's encoder never writes, for tests of bad input.
/// `{"frame": "<text>"}` sends the text byte for byte on one of the app's open sockets;
/// `{"method": "conversations.history", "channel": "C…", "body": "<text>"}` makes the
/// next such call's answer that text (one-shot, like a scripted fault).
pub(crate) async fn raw(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let spec: RawSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(format!("invalid raw input: {e}")),
    };
    match spec {
        RawSpec {
            frame: Some(frame),
            app,
            method: None,
            channel: None,
            body: None,
        } => {
            let mut state = shared.lock();
            let app = match app {
                None => 0,
                Some(id) => match state.world.apps.iter().position(|a| a.app_id == id) {
                    Some(i) => i,
                    None => return bad_request(format!("unknown app {id}")),
                },
            };
            match state.hubs.app(app).send_raw(frame) {
                Some(connection) => Json(json!({"ok": true, "connection": connection})).into_response(),
                None => (
                    StatusCode::CONFLICT,
                    Json(json!({"ok": false, "error": "no open socket for the app: wait until it has connected"})),
                )
                    .into_response(),
            }
        }
        RawSpec {
            frame: None,
            app: None,
            method: Some(method),
            channel,
            body: Some(body),
        } => {
            if !methods::METHODS.contains(&method.as_str()) {
                return bad_request(format!("unknown Web API method {method:?}"));
            }
            shared
                .lock()
                .faults
                .add_raw(&method, channel.as_deref(), body);
            Json(json!({"ok": true})).into_response()
        }
        _ => bad_request(
            "use {\"frame\": \"<text>\"} (and \"app\"), or {\"method\": \"…\", \"channel\": \"C…\", \"body\": \"<text>\"}",
        ),
    }
}

/// `POST /_emulator/calm`: the workload and `--chaos` stop (for good), so that a soak can
/// compare what a client made of the trouble with the history at rest. Scripted faults
/// and outages already under way run their course.
pub(crate) async fn calm(State(shared): State<Arc<Shared>>) -> Response {
    shared
        .calm
        .store(true, std::sync::atomic::Ordering::Relaxed);
    Json(json!({"ok": true})).into_response()
}

/// `POST /_emulator/click`: `user` clicks the element `action_id` of the message at
/// `channel`/`ts`; the posting app gets Slack's `block_actions` envelope.
pub(crate) async fn click(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let click: Click = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(format!("invalid click: {e}")),
    };
    let mut state = shared.lock();
    match clicks::perform(&shared, &mut state, &click) {
        Ok(done) => Json(json!({
            "ok": true,
            "envelope_id": done.envelope_id,
            "action_ts": done.action_ts,
        }))
        .into_response(),
        Err(refusal) => (
            refusal.status,
            Json(json!({"ok": false, "error": refusal.error})),
        )
            .into_response(),
    }
}

/// `GET /_emulator/experts`: each seeded expert's answer to an ask (the seed's, or what a
/// test told), and whether they answer now.
pub(crate) async fn experts(State(shared): State<Arc<Shared>>) -> Response {
    let state = shared.lock();
    Json(json!({"ok": true, "experts": experts::listing(&shared, &state)})).into_response()
}

/// What `POST /_emulator/experts` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Telling {
    user: String,
    answer: String,
    reason: Option<String>,
    /// Slack seconds (scaled by `--time-scale`) from the ask to the answer.
    delay_seconds: Option<f64>,
}

/// `POST /_emulator/experts`: `{"user", "answer": "accept" | "decline" | "silent",
/// "reason"?, "delay_seconds"?}` — how that person answers asks from now on, workload or not.
pub(crate) async fn tell_expert(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let telling: Telling = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => return bad_request(format!("invalid expert: {e}")),
    };
    let answer = match Answer::parse(&telling.answer, telling.reason.as_deref()) {
        Ok(a) => a,
        Err(e) => return bad_request(e),
    };
    let delay = match telling.delay_seconds {
        None => None,
        Some(s) if s.is_finite() && s >= 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => return bad_request(format!("delay_seconds must be 0 or more, not {s}")),
    };
    let mut state = shared.lock();
    let is_person = state
        .world
        .user(&telling.user)
        .is_some_and(|u| u.role != super::world::Role::Bot);
    if !is_person {
        return bad_request("user_not_found");
    }
    state.experts.tell(&telling.user, answer, delay);
    Json(json!({"ok": true})).into_response()
}
