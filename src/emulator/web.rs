//! The Web API front door: `/api/<method>`, as Slack answers it.
//!
//! Order of checks, as on Slack: body and arguments, then the method, then the token
//! (`not_authed`, `invalid_auth`, `not_allowed_token_type`), then scopes, then rate
//! limits and faults; only then the method itself, acting as the token's app.

use super::Shared;
use super::clock::rfc3339_now;
use super::faults::{Failure, chaos_web};
use super::limits::{self, RateLimits};
use super::methods::{self, ApiError, Ctx, TokenKind};
use super::params::Params;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Instant;

/// Slack refuses bodies past a few megabytes; the emulator draws the line at 1 MiB.
pub(crate) const MAX_BODY: usize = 1 << 20;
/// The history methods under `--history-limits strict`: 15 messages a page (and one call a
/// minute, in `limits`).
pub(crate) const STRICT_PAGE: usize = 15;

/// One Web API call, for `/_emulator/calls`. The token is never recorded.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CallRecord {
    pub method: String,
    pub params: Map<String, Value>,
    /// When the call arrived.
    pub at: String,
    /// When it was answered (later than `at` by any scripted delay).
    pub answered_at: String,
    pub status: u16,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub(crate) async fn api(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let arrived = rfc3339_now();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return respond(
                &shared,
                &arrived,
                &method,
                Map::new(),
                Err(Answer::status(413, "request_too_large")),
            );
        }
    };
    let (params, token) = match parse_request(query.as_deref(), &headers, &body) {
        Ok(parsed) => parsed,
        Err(error) => {
            return respond(
                &shared,
                &arrived,
                &method,
                Map::new(),
                Err(Answer::error(error)),
            );
        }
    };
    let recorded = params.0.clone();
    if !methods::METHODS.contains(&method.as_str()) {
        let mut answer = Answer::error("unknown_method");
        answer.extra.insert("req_method".into(), json!(method));
        return respond(&shared, &arrived, &method, recorded, Err(answer));
    }
    let outcome = run(&shared, &method, &params, token.as_deref()).await;
    respond(&shared, &arrived, &method, recorded, outcome)
}

/// A successful answer: a value for the encoder, or text scripted through
/// `/_emulator/raw`, sent byte for byte.
enum Reply {
    Value(Value),
    Verbatim(String),
}

/// A failed answer: HTTP status, Slack's error string, extra fields, `Retry-After`.
struct Answer {
    status: u16,
    error: String,
    extra: Map<String, Value>,
    retry_after: Option<u64>,
}

impl Answer {
    fn error(error: &str) -> Self {
        Self::status(200, error)
    }

    fn status(status: u16, error: &str) -> Self {
        Self {
            status,
            error: error.into(),
            extra: Map::new(),
            retry_after: None,
        }
    }

    fn failure(f: Failure) -> Self {
        let error = match f.status {
            429 => "ratelimited",
            503 => "service_unavailable",
            _ => "internal_error",
        };
        Self {
            retry_after: f.retry_after,
            ..Self::status(f.status, error)
        }
    }
}

impl From<ApiError> for Answer {
    fn from(e: ApiError) -> Self {
        Self {
            extra: e.extra,
            ..Self::error(e.error)
        }
    }
}

async fn run(
    shared: &Arc<Shared>,
    method: &str,
    params: &Params,
    token: Option<&str>,
) -> Result<Reply, Answer> {
    let apps = shared.lock().world.apps.len();
    let app = check_token(method, token, apps)?;
    let granted = &shared.config.scopes;
    if methods::token_kind(method) == TokenKind::Bot {
        let needed = methods::needed_scope(method, params, &shared.lock().world);
        if let Some(scope) = needed.filter(|s| !granted.iter().any(|g| g == s)) {
            let mut answer = Answer::error("missing_scope");
            answer.extra.insert("needed".into(), json!(scope));
            answer
                .extra
                .insert("provided".into(), json!(granted.join(",")));
            return Err(answer);
        }
    }
    let delay = shared.lock().faults.take_delay(method);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut state = shared.lock();
    let index = state.calls.len() as u64;
    if let Some(failure) = state.faults.take_failure(method) {
        return Err(Answer::failure(failure));
    }
    if shared.chaotic()
        && let Some(failure) = chaos_web(shared.config.seed, index)
    {
        return Err(Answer::failure(failure));
    }
    let strict = shared.config.strict_history
        && matches!(method, "conversations.history" | "conversations.replies");
    let tier = if strict {
        Some(limits::HISTORY_STRICT)
    } else {
        (shared.config.rate_limits == RateLimits::Slack).then(|| limits::tier_of(method))
    };
    if let Some(tier) = tier {
        // Posts are limited per channel too, whether named by id or by name.
        let channel = (method == "chat.postMessage")
            .then(|| params.str("channel"))
            .flatten()
            .map(|c| match state.world.find_channel(&c) {
                Ok(idx) => state.world.channels[idx].id.clone(),
                Err(_) => c,
            });
        let now = Instant::now();
        if let Err(wait) = state
            .limiter
            .spend(app, method, tier, channel.as_deref(), now)
        {
            return Err(Answer::failure(Failure {
                status: 429,
                retry_after: Some(wait),
            }));
        }
    }
    // After the checks and limits, as the real answer would be: a test's raw answer
    // is rate limited like any other.
    if let Some(body) = state
        .faults
        .take_raw(method, params.str("channel").as_deref())
    {
        return Ok(Reply::Verbatim(body));
    }
    let ticket = (method == "apps.connections.open").then(|| state.hubs.app(app).issue_ticket());
    let state = &mut *state;
    let calling_app = state.world.apps[app].clone();
    let mut ctx = Ctx {
        app: &calling_app,
        clock: &shared.clock,
        ws_base: &shared.ws_base,
        events: Vec::new(),
        ticket,
    };
    let result = methods::call(
        &mut state.world,
        &mut ctx,
        method,
        params,
        strict.then_some(STRICT_PAGE),
    );
    let events = std::mem::take(&mut ctx.events);
    shared.emit(state, events);
    result.map(Reply::Value).map_err(Answer::from)
}

/// Checks the token as Slack does and answers which app it belongs to (an index into
/// the world's apps).
fn check_token(method: &str, token: Option<&str>, apps: usize) -> Result<usize, Answer> {
    let token = token.ok_or_else(|| Answer::error("not_authed"))?;
    let kind = if token.starts_with("xoxb-") {
        TokenKind::Bot
    } else if token.starts_with("xapp-") {
        TokenKind::App
    } else if token.starts_with("xoxp-") {
        // A user token: valid, but swarmdeck's methods are called with the bot's.
        return Err(Answer::error("not_allowed_token_type"));
    } else {
        return Err(Answer::error("invalid_auth"));
    };
    if token.len() < 10 {
        return Err(Answer::error("invalid_auth"));
    }
    let app = match app_number(token) {
        None => 0,
        Some(n) if (1..=apps).contains(&n) => n - 1,
        Some(_) => return Err(Answer::error("invalid_auth")),
    };
    if kind != methods::token_kind(method) {
        return Err(Answer::error("not_allowed_token_type"));
    }
    Ok(app)
}

/// The app a token names with `-A<n>-` (`xapp-1-A2-…`, `xoxb-…-A2-…`), if it names one.
/// Real Slack tokens carry an app id like `-A0123ABCD-`, which is no number.
fn app_number(token: &str) -> Option<usize> {
    let parts: Vec<&str> = token.split('-').collect();
    // Only between two dashes: neither the prefix nor the tail counts.
    let inner = parts.get(1..parts.len().saturating_sub(1))?;
    inner.iter().find_map(|part| {
        let digits = part.strip_prefix('A')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Too many digits for any app: still a number, so no app (`invalid_auth`).
        Some(digits.parse().unwrap_or(usize::MAX))
    })
}

/// Merges the query string and the body into one set of arguments, and takes the token
/// from `Authorization: Bearer` or a `token` argument of a query or a form (never of a JSON
/// body, as on Slack).
fn parse_request(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Params, Option<String>), &'static str> {
    let mut map = Map::new();
    if let Some(q) = query {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(q).map_err(|_| "invalid_arg_name")?;
        for (k, v) in pairs {
            map.insert(k, Value::String(v));
        }
    }
    if !body.is_empty() {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        match content_type.as_deref() {
            None => return Err("missing_post_type"),
            Some("application/json") => {
                let value: Value = serde_json::from_slice(body).map_err(|_| "invalid_json")?;
                let Value::Object(mut obj) = value else {
                    return Err("json_not_object");
                };
                // Slack reads a JSON body's token only from the Authorization header.
                obj.remove("token");
                map.extend(obj);
            }
            Some("application/x-www-form-urlencoded") | Some("text/plain") => {
                let text = std::str::from_utf8(body).map_err(|_| "invalid_form_data")?;
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_str(text).map_err(|_| "invalid_form_data")?;
                for (k, v) in pairs {
                    map.insert(k, Value::String(v));
                }
            }
            Some(_) => return Err("invalid_post_type"),
        }
    }
    if map.keys().any(|k| !is_arg_name(k)) {
        return Err("invalid_arg_name");
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    let from_args = map
        .remove("token")
        .and_then(|v| v.as_str().map(str::to_string));
    Ok((Params(map), bearer.or(from_args).filter(|t| !t.is_empty())))
}

/// Slack's bounds on an argument's name: letters, digits and `_`, and not very long.
fn is_arg_name(name: &str) -> bool {
    (1..=100).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn respond(
    shared: &Shared,
    arrived: &str,
    method: &str,
    params: Map<String, Value>,
    outcome: Result<Reply, Answer>,
) -> Response {
    let (status, body, retry_after) = match outcome {
        Ok(Reply::Verbatim(text)) => {
            return respond_verbatim(shared, arrived, method, params, text);
        }
        Ok(Reply::Value(Value::Object(mut fields))) => {
            let mut body = Map::new();
            body.insert("ok".into(), json!(true));
            body.append(&mut fields);
            (200, Value::Object(body), None)
        }
        Ok(Reply::Value(other)) => (200, json!({"ok": true, "value": other}), None),
        Err(answer) => {
            let mut body = Map::new();
            body.insert("ok".into(), json!(false));
            body.insert("error".into(), json!(answer.error));
            body.extend(answer.extra);
            (answer.status, Value::Object(body), answer.retry_after)
        }
    };
    shared.lock().calls.push(CallRecord {
        method: method.to_string(),
        params,
        at: arrived.to_string(),
        answered_at: rfc3339_now(),
        status,
        ok: body["ok"] == json!(true),
        error: body["error"].as_str().map(str::to_string),
    });
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        axum::Json(body),
    )
        .into_response();
    answer_headers(shared, method, response.headers_mut());
    if let Some(seconds) = retry_after {
        let headers = response.headers_mut();
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// What every answer carries, as Slack's do: the JSON type, the token's scopes and the
/// scopes the method accepts.
fn answer_headers(shared: &Shared, method: &str, headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Ok(scopes) = HeaderValue::from_str(&shared.config.scopes.join(",")) {
        headers.insert("x-oauth-scopes", scopes);
    }
    headers.insert(
        "x-accepted-oauth-scopes",
        HeaderValue::from_static(methods::accepted_scopes(method)),
    );
}

/// A raw answer: recorded like any call (its `ok` as far as the text says), then sent
/// as it is, with the headers of a real answer.
fn respond_verbatim(
    shared: &Shared,
    arrived: &str,
    method: &str,
    params: Map<String, Value>,
    text: String,
) -> Response {
    /// Only `ok`: serde_json skips the rest without judging it, bad escapes included.
    #[derive(serde::Deserialize)]
    struct OkField {
        #[serde(default)]
        ok: bool,
    }
    let ok = serde_json::from_str::<OkField>(&text).is_ok_and(|o| o.ok);
    shared.lock().calls.push(CallRecord {
        method: method.to_string(),
        params,
        at: arrived.to_string(),
        answered_at: rfc3339_now(),
        status: 200,
        ok,
        error: None,
    });
    let mut response = (StatusCode::OK, text).into_response();
    answer_headers(shared, method, response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_as_slack_does() {
        let err = |m: &str, t: Option<&str>| check_token(m, t, 1).err().map(|a| a.error);
        assert_eq!(err("auth.test", None), Some("not_authed".into()));
        assert_eq!(
            err("auth.test", Some("banana")),
            Some("invalid_auth".into())
        );
        assert_eq!(
            err("auth.test", Some("xapp-1-A1-123")),
            Some("not_allowed_token_type".into())
        );
        assert_eq!(
            err("apps.connections.open", Some("xoxb-123-456")),
            Some("not_allowed_token_type".into())
        );
        assert_eq!(err("auth.test", Some("xoxb-123-456")), None);
        assert_eq!(err("apps.connections.open", Some("xapp-1-A1-123")), None);
    }

    #[test]
    fn a_token_names_its_app_by_number() {
        let app = |t: &str| check_token("auth.test", Some(t), 3).map_err(|a| a.error);
        assert_eq!(app("xoxb-test-123456"), Ok(0));
        assert_eq!(
            app("xoxb-1-A0SWARMDCK-test"),
            Ok(0),
            "an app id is no number"
        );
        assert_eq!(app("xoxb-test-A1-123456"), Ok(0));
        assert_eq!(app("xoxb-test-A3"), Ok(0), "no dash after the number");
        assert_eq!(app("xoxb-test-A3-123456"), Ok(2));
        assert_eq!(app("xoxb-test-A4-123456"), Err("invalid_auth".into()));
        assert_eq!(app("xoxb-test-A0-123456"), Err("invalid_auth".into()));
        assert_eq!(
            app("xoxb-test-A99999999999999999999999-1"),
            Err("invalid_auth".into())
        );
        let open = check_token("apps.connections.open", Some("xapp-1-A2-123"), 3);
        assert_eq!(open.ok(), Some(1));
    }

    #[test]
    fn arguments_merge_from_query_form_and_json() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let body = Bytes::from("channel=C1&text=hi%20there&token=xoxb-abc");
        let (p, token) = parse_request(Some("limit=5"), &headers, &body).unwrap();
        assert_eq!(p.str("text").as_deref(), Some("hi there"));
        assert_eq!(p.int("limit"), Some(5));
        assert_eq!(token.as_deref(), Some("xoxb-abc"));
        assert!(
            p.0.get("token").is_none(),
            "the token is never kept as an argument"
        );

        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xoxb-json"),
        );
        let (p, token) = parse_request(None, &headers, &Bytes::from(r#"{"limit": 7}"#)).unwrap();
        assert_eq!(
            (p.int("limit"), token.as_deref()),
            (Some(7), Some("xoxb-json"))
        );

        assert_eq!(
            parse_request(None, &headers, &Bytes::from("{nope")).err(),
            Some("invalid_json")
        );
        assert_eq!(
            parse_request(None, &headers, &Bytes::from("[1]")).err(),
            Some("json_not_object")
        );
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        assert_eq!(
            parse_request(None, &headers, &Bytes::from("x")).err(),
            Some("invalid_post_type")
        );
        headers.remove(header::CONTENT_TYPE);
        assert_eq!(
            parse_request(None, &headers, &Bytes::from("x")).err(),
            Some("missing_post_type")
        );
    }
}
