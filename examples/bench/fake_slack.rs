//! A minimal Slack for the ingest measurements: the few Web API methods a client calls to
//! connect (auth.test, users.conversations, apps.connections.open, empty history) and a
//! Socket Mode endpoint that, once told to go, sends pre-generated envelopes down the
//! first socket as fast as it takes them (or paced), noting when each was sent and when
//! its ack came back. Nothing is generated while sending: the sender must not be what
//! is measured.

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::serve::ListenerExt;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

/// What one feed did, from the sender's side.
#[derive(Clone, Debug, Default)]
pub struct Feed {
    pub sent_at: Vec<Instant>,
    /// By envelope index; `None`: never acked.
    pub acked_at: Vec<Option<Instant>>,
    pub started: Option<Instant>,
    pub finished: Option<Instant>,
}

impl Feed {
    /// Frames per second the sender managed.
    pub fn sender_rate(&self) -> f64 {
        match (self.started, self.finished) {
            (Some(s), Some(f)) => self.sent_at.len() as f64 / (f - s).as_secs_f64(),
            _ => f64::NAN,
        }
    }

    /// Sent → ack back, in ms, for each acked envelope.
    pub fn ack_ms(&self) -> Vec<f64> {
        self.sent_at
            .iter()
            .zip(&self.acked_at)
            .filter_map(|(s, a)| a.map(|a| (a - *s).as_secs_f64() * 1e3))
            .collect()
    }
}

struct Shared {
    ws_url: String,
    frames: Arc<Vec<Utf8Bytes>>,
    /// Between frames when paced; none: as fast as the socket takes them.
    pace: Option<Duration>,
    go: Notify,
    /// Whether a socket has claimed the feed (later sockets only get hello).
    claimed: Mutex<bool>,
    feed: Mutex<Feed>,
    done: watch::Sender<bool>,
}

pub struct FakeSlack {
    pub api_url: String,
    pub ws_url: String,
    shared: Arc<Shared>,
    done: watch::Receiver<bool>,
}

impl FakeSlack {
    pub async fn start(frames: Arc<Vec<Utf8Bytes>>, pace: Option<Duration>) -> FakeSlack {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (done_tx, done) = watch::channel(false);
        let shared = Arc::new(Shared {
            ws_url: format!("ws://{addr}/link"),
            frames,
            pace,
            go: Notify::new(),
            claimed: Mutex::new(false),
            feed: Mutex::new(Feed::default()),
            done: done_tx,
        });
        let router = Router::new()
            .route("/api/{method}", any(api))
            .route("/link", get(link))
            .with_state(shared.clone());
        // Frames go out as they are sent, as Slack's would (no Nagle delay).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeSlack {
            api_url: format!("http://{addr}/api/"),
            ws_url: format!("ws://{addr}/link"),
            shared,
            done,
        }
    }

    /// Starts sending down the socket that claimed the feed.
    pub fn go(&self) {
        self.shared.go.notify_one();
    }

    /// Waits until every frame was sent and acked (or `within` passed).
    pub async fn finished(&mut self, within: Duration) -> Feed {
        let _ = tokio::time::timeout(within, self.done.wait_for(|d| *d)).await;
        self.shared.feed.lock().unwrap().clone()
    }
}

async fn api(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(method): axum::extract::Path<String>,
) -> Response {
    let body = match method.as_str() {
        "auth.test" => json!({"ok": true, "url": "https://bench.slack.com/", "team": "Bench",
            "user": "swarmdeck", "team_id": "T0BENCH", "user_id": "U0SWARMBOT", "bot_id": "B0SWARMBOT"}),
        "users.conversations" | "conversations.list" => json!({"ok": true,
            "channels": super::support::PODS.iter().map(|(id, name)| json!({"id": id, "name": name,
                "is_channel": true, "is_member": true, "is_archived": false})).collect::<Vec<Value>>(),
            "response_metadata": {"next_cursor": ""}}),
        "apps.connections.open" => json!({"ok": true, "url": shared.ws_url}),
        "conversations.history" | "conversations.replies" => json!({"ok": true, "messages": [],
            "has_more": false, "response_metadata": {"next_cursor": ""}}),
        _ => json!({"ok": true}),
    };
    axum::Json(body).into_response()
}

async fn link(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| serve(shared, socket))
}

async fn serve(shared: Arc<Shared>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let hello = json!({"type": "hello", "num_connections": 1,
        "debug_info": {"host": "bench", "approximate_connection_time": 3600},
        "connection_info": {"app_id": "A0BENCH"}});
    if sink
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let feeds = {
        let mut claimed = shared.claimed.lock().unwrap();
        !std::mem::replace(&mut *claimed, true)
    };
    let n = shared.frames.len();
    if feeds {
        let mut feed = shared.feed.lock().unwrap();
        feed.acked_at = vec![None; n];
        feed.sent_at = Vec::with_capacity(n);
    }
    // Acks (and pings, answered by the WebSocket layer) are read beside the sending.
    let reader_shared = shared.clone();
    let reader = tokio::spawn(async move {
        let mut acked = 0;
        while let Some(Ok(msg)) = stream.next().await {
            let Message::Text(text) = msg else { continue };
            let Some(index) = envelope_index(text.as_str()) else {
                continue;
            };
            let now = Instant::now();
            let mut feed = reader_shared.feed.lock().unwrap();
            if let Some(slot) = feed.acked_at.get_mut(index)
                && slot.is_none()
            {
                *slot = Some(now);
                acked += 1;
                if acked == reader_shared.frames.len() {
                    let _ = reader_shared.done.send(true);
                }
            }
        }
    });
    if !feeds {
        let _ = reader.await;
        return;
    }
    shared.go.notified().await;
    let started = Instant::now();
    shared.feed.lock().unwrap().started = Some(started);
    let mut sent_at = Vec::with_capacity(n);
    for (i, frame) in shared.frames.iter().enumerate() {
        if let Some(pace) = shared.pace {
            tokio::time::sleep_until((started + pace * i as u32).into()).await;
        }
        sent_at.push(Instant::now());
        let sent = if shared.pace.is_some() {
            sink.send(Message::Text(frame.clone())).await
        } else {
            sink.feed(Message::Text(frame.clone())).await
        };
        if sent.is_err() {
            break;
        }
    }
    let _ = sink.flush().await;
    {
        let mut feed = shared.feed.lock().unwrap();
        feed.sent_at = sent_at;
        feed.finished = Some(Instant::now());
    }
    // Keep the socket open until the reader is done (the client closes it).
    let _ = reader.await;
}

/// The index in `e<index>` from an ack `{"envelope_id":"e<index>"}`.
fn envelope_index(ack: &str) -> Option<usize> {
    let v: Value = serde_json::from_str(ack).ok()?;
    v["envelope_id"].as_str()?.strip_prefix('e')?.parse().ok()
}
