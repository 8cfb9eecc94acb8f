//! Helpers for the integration tests: an in-process emulator, a Web API caller, the
//! control API, and a bare Socket Mode connection (no swarmdeck client code involved); a
//! real nats-server for the team bus.

#![allow(dead_code)]

pub mod leads;
pub mod nats;
pub mod tail;
pub mod tmux;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use swarmdeck::emulator::{self, EmulatorConfig, RunningEmulator};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const BOT: &str = "xoxb-test-123456";
pub const APP: &str = "xapp-1-A0SWARMDCK-test";

/// A generous deadline for conditions: tests wait for things, they do not time them.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct Emu {
    pub running: RunningEmulator,
    pub http: reqwest::Client,
}

/// Logs to the test's output when RUST_LOG is set, for debugging a failure.
pub fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

pub async fn start(config: EmulatorConfig) -> Emu {
    init_logs();
    let running = emulator::start(config).await.expect("emulator starts");
    Emu {
        running,
        http: reqwest::Client::new(),
    }
}

pub async fn quiet() -> Emu {
    start(EmulatorConfig::default()).await
}

/// Makes a call until it is not rate limited, waiting each 429's `Retry-After`.
async fn paced<F: std::future::Future<Output = Reply>>(call: impl Fn() -> F) -> Reply {
    loop {
        let reply = call().await;
        if reply.status != 429 {
            return reply;
        }
        let seconds: u64 = reply
            .retry_after
            .as_deref()
            .and_then(|s| s.parse().ok())
            .expect("a 429 says when to come back");
        tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
    }
}

pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub scopes: Option<String>,
    pub body: Value,
}

impl Emu {
    pub fn base(&self) -> &str {
        self.running.base_url()
    }

    /// A form-encoded call, as most Slack SDKs make them.
    pub async fn call(&self, method: &str, token: &str, params: &[(&str, &str)]) -> Reply {
        let req = self
            .http
            .post(format!("{}/api/{method}", self.base()))
            .bearer_auth(token)
            .form(params);
        Self::reply(req.send().await.expect("request sent")).await
    }

    /// A JSON-bodied call.
    pub async fn call_json(&self, method: &str, token: &str, body: Value) -> Reply {
        let req = self
            .http
            .post(format!("{}/api/{method}", self.base()))
            .bearer_auth(token)
            .json(&body);
        Self::reply(req.send().await.expect("request sent")).await
    }

    /// A call as Slack's SDKs make it: a 429 is waited out (its `Retry-After`) and the call
    /// made again, since the emulator limits calls as Slack does.
    pub async fn call_paced(&self, method: &str, token: &str, params: &[(&str, &str)]) -> Reply {
        paced(|| self.call(method, token, params)).await
    }

    /// A JSON-bodied call, paced as `call_paced`.
    pub async fn call_json_paced(&self, method: &str, token: &str, body: Value) -> Reply {
        paced(|| self.call_json(method, token, body.clone())).await
    }

    /// The body of a call that must succeed (after any rate limit is waited out).
    pub async fn ok(&self, method: &str, params: &[(&str, &str)]) -> Value {
        let reply = self.call_paced(method, BOT, params).await;
        assert_eq!(
            reply.body["ok"], true,
            "{method} {params:?}: {}",
            reply.body
        );
        reply.body
    }

    /// The error string of a call that must fail with HTTP 200.
    pub async fn err(&self, method: &str, params: &[(&str, &str)]) -> String {
        let reply = self.call_paced(method, BOT, params).await;
        assert_eq!(
            reply.body["ok"], false,
            "{method} {params:?} should fail: {}",
            reply.body
        );
        assert_eq!(reply.status, 200, "{method}: {}", reply.body);
        reply.body["error"]
            .as_str()
            .expect("an error string")
            .to_string()
    }

    pub async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header("retry-after");
        let scopes = header("x-oauth-scopes");
        let text = resp.text().await.expect("body");
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON body, got {text:?}"));
        Reply {
            status,
            retry_after,
            scopes,
            body,
        }
    }

    pub async fn control_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/_emulator/{path}", self.base()))
            .send()
            .await
            .expect("control call")
            .json()
            .await
            .expect("control JSON")
    }

    pub async fn control_post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/_emulator/{path}", self.base()))
            .json(&body)
            .send()
            .await
            .expect("control call");
        (
            resp.status().as_u16(),
            resp.json().await.expect("control JSON"),
        )
    }

    pub async fn inject(&self, event: Value) -> Value {
        let (status, body) = self.control_post("events", event).await;
        assert_eq!(status, 200, "inject: {body}");
        body
    }

    pub async fn state(&self) -> Value {
        self.control_get("state").await
    }

    pub async fn channel_state(&self, name: &str) -> Value {
        let state = self.state().await;
        state["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("channel {name} in state"))
    }

    pub async fn socket(&self) -> Socket {
        self.socket_with("").await
    }

    /// Opens a Socket Mode connection, `suffix` appended to the URL, and reads `hello`.
    pub async fn socket_with(&self, suffix: &str) -> Socket {
        self.socket_as(APP, suffix).await.0
    }

    /// Opens a Socket Mode connection with an app token of one's choice (`xapp-1-A2-…`
    /// for app 2); returns it with its `hello`.
    pub async fn socket_as(&self, app_token: &str, suffix: &str) -> (Socket, Value) {
        let open = self.call("apps.connections.open", app_token, &[]).await;
        assert_eq!(open.body["ok"], true, "{}", open.body);
        let url = format!("{}{suffix}", open.body["url"].as_str().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("socket connects");
        let mut socket = Socket { ws, url };
        let hello = socket.next_json().await.expect("hello");
        assert_eq!(hello["type"], "hello", "{hello}");
        (socket, hello)
    }

    /// Polls `check` on the emulator state until it holds or the deadline passes.
    pub async fn wait_for_state(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let start = std::time::Instant::now();
        loop {
            let state = self.state().await;
            if check(&state) {
                return state;
            }
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub struct Socket {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub url: String,
}

impl Socket {
    /// The next text frame as JSON, or `None` when the socket closed or the deadline passed.
    pub async fn next_json_within(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match frame {
                Ok(Message::Text(t)) => {
                    return Some(serde_json::from_str(t.as_str()).expect("JSON frame"));
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    pub async fn next_json(&mut self) -> Option<Value> {
        self.next_json_within(DEADLINE).await
    }

    /// The next `events_api` envelope (skipping other frames).
    pub async fn next_envelope(&mut self) -> Value {
        loop {
            let frame = self
                .next_json()
                .await
                .expect("an envelope before the deadline");
            if frame["type"] == "events_api" {
                return frame;
            }
        }
    }

    pub async fn ack(&mut self, envelope: &Value) {
        let ack = json!({"envelope_id": envelope["envelope_id"]}).to_string();
        self.ws
            .send(Message::Text(ack.into()))
            .await
            .expect("ack sent");
    }

    /// Reads and acks envelopes until `pred` matches one's event; returns it.
    pub async fn event_where(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let envelope = self.next_envelope().await;
            self.ack(&envelope).await;
            if pred(&envelope["payload"]["event"]) {
                return envelope;
            }
        }
    }
}

/// A channel's members, from `/_emulator/state`.
pub fn members(channel: &Value) -> Vec<&str> {
    channel["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m.as_str())
        .collect()
}
