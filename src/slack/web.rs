//! The Web API client: typed results, Slack's errors as values, rate budgets that follow
//! Slack's tiers, `Retry-After` honoured, and bounded retries with backoff.

use super::backoff::{Backoff, jitter};
use super::wire::from_str_lenient;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const DEFAULT_API_URL: &str = "https://slack.com/api/";
/// 429s are answered by waiting, so they may be many; but not endless.
const MAX_RATE_LIMITED: u32 = 30;

/// A Slack token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub(crate) fn secret(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> &'static str {
        match self.0.split('-').next() {
            Some("xoxb") => "bot token (xoxb-)",
            Some("xapp") => "app-level token (xapp-)",
            Some("xoxp") => "user token (xoxp-)",
            _ => "unrecognised token",
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({}, redacted)", self.kind())
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} redacted>", self.kind())
    }
}

/// Why a Web API call failed, after its retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlackError {
    /// Slack answered `ok: false`: its error string, and the scope it wanted if any.
    Api {
        method: String,
        error: String,
        needed: Option<String>,
    },
    /// Still rate limited after the retries allowed.
    RateLimited { method: String },
    /// An HTTP error status with no Slack error in the body.
    Http { method: String, status: u16 },
    /// The request did not complete (connection refused, timeout, reset).
    Transport { method: String, detail: String },
    /// The answer was not what the method returns.
    Decode { method: String, detail: String },
}

/// Slack's errors that say "not now" rather than "no": trying again may succeed.
const TRANSIENT_ERRORS: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
];

impl SlackError {
    /// Slack's own error string, when Slack gave one.
    pub fn slack_error(&self) -> Option<&str> {
        match self {
            Self::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether the same call may succeed later: rate limits, transport failures, 5xx,
    /// and Slack's transient errors. The rest are answers that retrying will not change.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Transport { .. } => true,
            Self::Http { status, .. } => *status >= 500,
            Self::Api { error, .. } => TRANSIENT_ERRORS.contains(&error.as_str()),
            Self::Decode { .. } => false,
        }
    }
}

impl fmt::Display for SlackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api {
                method,
                error,
                needed: Some(scope),
            } => {
                write!(f, "{method}: {error} (the app needs the {scope} scope)")
            }
            Self::Api { method, error, .. } => write!(f, "{method}: {error}"),
            Self::RateLimited { method } => {
                write!(f, "{method}: still rate limited after retrying")
            }
            Self::Http { method, status } => write!(f, "{method}: HTTP {status}"),
            Self::Transport { method, detail } => write!(f, "{method}: {detail}"),
            Self::Decode { method, detail } => write!(f, "{method}: unexpected answer: {detail}"),
        }
    }
}

impl std::error::Error for SlackError {}

/// Slack's published rate tiers, in calls per minute.
fn tier_per_minute(method: &str) -> f64 {
    match method {
        // Tier 1, but reconnects must not starve: a small burst on top.
        "apps.connections.open" => 10.0,
        "conversations.list"
        | "users.list"
        | "users.conversations"
        | "usergroups.list"
        | "usergroups.users.list"
        | "bookmarks.add"
        | "conversations.create" => 20.0,
        "auth.test" | "users.info" | "chat.getPermalink" => 100.0,
        _ => 50.0,
    }
}

/// How the client paces and retries.
#[derive(Clone, Debug)]
pub struct WebPolicy {
    /// Slack's clock runs this many times faster (tests against `--time-scale`).
    pub time_scale: f64,
    /// Calls a minute for conversations.history and conversations.replies; Slack allows
    /// apps outside its Marketplace only one.
    pub history_per_minute: f64,
    /// Attempts for one call before its error is surfaced.
    pub max_attempts: u32,
    pub backoff: Backoff,
    pub request_timeout: Duration,
}

impl Default for WebPolicy {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            history_per_minute: 50.0,
            max_attempts: 6,
            backoff: Backoff {
                base: Duration::from_millis(500),
                cap: Duration::from_secs(30),
            },
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A token bucket: `burst` calls at once, refilled at `per_sec`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    burst: f64,
    per_sec: f64,
    last: Instant,
}

impl Bucket {
    fn new(per_minute: f64, burst: f64, time_scale: f64, now: Instant) -> Self {
        Self {
            tokens: burst,
            burst,
            per_sec: per_minute / 60.0 * time_scale,
            last: now,
        }
    }

    /// Takes a token, or says how long until one is free.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.per_sec.max(1e-9),
            ))
        }
    }
}

#[derive(Debug, Default)]
struct Budgets {
    methods: HashMap<String, Bucket>,
    /// chat.postMessage: about one message a second per channel.
    channels: HashMap<String, Bucket>,
    /// After a 429: nothing to this method before this instant.
    blocked_until: HashMap<String, Instant>,
}

/// What a call sends: form fields, or a JSON body (for metadata and blocks).
enum Body<'a> {
    Form(&'a [(&'a str, String)]),
    Json(&'a serde_json::Value),
}

pub struct WebClient {
    http: reqwest::Client,
    base: String,
    bot: Token,
    app: Option<Token>,
    policy: WebPolicy,
    budgets: Mutex<Budgets>,
    /// One call in flight per method, so that a 429 is known before the next call goes:
    /// otherwise concurrent calls would reach Slack inside its Retry-After.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl fmt::Debug for WebClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebClient")
            .field("base", &self.base)
            .field("bot", &self.bot)
            .field("app", &self.app)
            .finish()
    }
}

#[derive(Deserialize)]
struct Status {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    needed: Option<String>,
}

/// A successful call's result and the scopes Slack says the token has.
#[derive(Debug)]
pub struct Answer<T> {
    pub value: T,
    pub scopes: Option<String>,
}

enum Attempt<T> {
    Done(Answer<T>),
    RetryAfter(Duration),
    Retry(SlackError),
    Fail(SlackError),
}

impl WebClient {
    pub fn new(
        base: &str,
        bot: Token,
        app: Option<Token>,
        policy: WebPolicy,
    ) -> Result<Self, SlackError> {
        let http = reqwest::Client::builder()
            .timeout(policy.request_timeout)
            .user_agent(concat!("swarmdeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SlackError::Transport {
                method: "(client)".into(),
                detail: e.to_string(),
            })?;
        let mut base = base.trim().to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Self {
            http,
            base,
            bot,
            app,
            policy,
            budgets: Mutex::new(Budgets::default()),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn policy(&self) -> &WebPolicy {
        &self.policy
    }

    /// Calls `method` with the bot token.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        form: &[(&str, String)],
    ) -> Result<T, SlackError> {
        self.call_with(method, &self.bot, Body::Form(form), None)
            .await
            .map(|a| a.value)
    }

    /// Calls with a JSON body; `channel` names the channel for the posting budget.
    pub async fn call_json<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &serde_json::Value,
    ) -> Result<T, SlackError> {
        let channel = json_channel(body);
        self.call_with(method, &self.bot, Body::Json(body), channel.as_deref())
            .await
            .map(|a| a.value)
    }

    /// Calls once with a JSON body: rate limits are waited out (Slack did nothing), but a
    /// failure that may have landed (a timeout, a 5xx) is returned, not retried, so that
    /// a post is never made twice; the outbox checks before it tries again.
    pub async fn call_json_once<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &serde_json::Value,
    ) -> Result<T, SlackError> {
        let channel = json_channel(body);
        self.call_inner(
            method,
            &self.bot,
            Body::Json(body),
            channel.as_deref(),
            false,
        )
        .await
        .map(|a| a.value)
    }

    /// Calls with the app-level token (apps.connections.open).
    pub async fn call_app<T: DeserializeOwned>(&self, method: &str) -> Result<T, SlackError> {
        let app = self.app.as_ref().ok_or_else(|| SlackError::Api {
            method: method.into(),
            error: "not_authed".into(),
            needed: None,
        })?;
        self.call_with(method, app, Body::Form(&[]), None)
            .await
            .map(|a| a.value)
    }

    /// Like [`WebClient::call`], keeping the `x-oauth-scopes` header.
    pub async fn call_with_scopes<T: DeserializeOwned>(
        &self,
        method: &str,
        form: &[(&str, String)],
    ) -> Result<Answer<T>, SlackError> {
        self.call_with(method, &self.bot, Body::Form(form), None)
            .await
    }

    /// Every item of every page of a cursor-paginated `method`.
    pub(crate) async fn pages<P: Page>(
        &self,
        method: &str,
        params: &[(&str, String)],
    ) -> Result<Vec<P::Item>, SlackError> {
        let mut all = Vec::new();
        self.each_page::<P>(method, params, usize::MAX, |items| {
            all.extend(items);
            ControlFlow::Continue(())
        })
        .await?;
        Ok(all)
    }

    /// The first item that `is_it`, reading only the pages needed and at most
    /// `max_pages` of them: a search, where a long history must not cost every page.
    pub(crate) async fn find<P: Page>(
        &self,
        method: &str,
        params: &[(&str, String)],
        max_pages: usize,
        mut is_it: impl FnMut(&P::Item) -> bool,
    ) -> Result<Option<P::Item>, SlackError> {
        let mut found = None;
        self.each_page::<P>(method, params, max_pages, |items| {
            match items.into_iter().find(|i| is_it(i)) {
                Some(item) => {
                    found = Some(item);
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            }
        })
        .await?;
        Ok(found)
    }

    /// Calls `method` page by page, following `next_cursor`, until the last page,
    /// `max_pages`, or `take` says stop.
    async fn each_page<P: Page>(
        &self,
        method: &str,
        params: &[(&str, String)],
        max_pages: usize,
        mut take: impl FnMut(Vec<P::Item>) -> ControlFlow<()>,
    ) -> Result<(), SlackError> {
        let mut cursor = String::new();
        for _ in 0..max_pages {
            let mut page_params = params.to_vec();
            if !cursor.is_empty() {
                page_params.push(("cursor", cursor.clone()));
            }
            let page: P = self.call(method, &page_params).await?;
            let next = page.next_cursor().to_string();
            let items = page.items();
            tracing::debug!(method, got = items.len(), more = !next.is_empty(), "page");
            if take(items).is_break() || next.is_empty() {
                return Ok(());
            }
            // A cursor that does not move would be read forever.
            if next == cursor {
                return Err(SlackError::Decode {
                    method: method.into(),
                    detail: "the same next_cursor twice".into(),
                });
            }
            cursor = next;
        }
        Ok(())
    }

    async fn call_with<T: DeserializeOwned>(
        &self,
        method: &str,
        token: &Token,
        body: Body<'_>,
        channel: Option<&str>,
    ) -> Result<Answer<T>, SlackError> {
        self.call_inner(method, token, body, channel, true).await
    }

    async fn call_inner<T: DeserializeOwned>(
        &self,
        method: &str,
        token: &Token,
        body: Body<'_>,
        channel: Option<&str>,
        retry_uncertain: bool,
    ) -> Result<Answer<T>, SlackError> {
        let channel = channel.map(str::to_string).or_else(|| match &body {
            Body::Form(f) => f
                .iter()
                .find(|(k, _)| *k == "channel")
                .map(|(_, v)| v.clone()),
            Body::Json(_) => None,
        });
        let (mut failures, mut rate_limited) = (0, 0);
        let gate = {
            let mut gates = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            gates.entry(method.to_string()).or_default().clone()
        };
        loop {
            let turn = gate.lock().await;
            self.wait_for_budget(method, channel.as_deref()).await;
            let outcome = self.attempt(method, token, &body).await;
            drop(turn);
            match outcome {
                Attempt::Done(answer) => return Ok(answer),
                Attempt::Fail(e) => return Err(e),
                // The wait itself happens in wait_for_budget, which honours Retry-After.
                Attempt::RetryAfter(wait) => {
                    tracing::debug!(method, ?wait, "rate limited; waiting Retry-After");
                    rate_limited += 1;
                    if rate_limited >= MAX_RATE_LIMITED {
                        return Err(SlackError::RateLimited {
                            method: method.into(),
                        });
                    }
                }
                Attempt::Retry(e) => {
                    tracing::debug!(method, error = %e, "retrying");
                    failures += 1;
                    if !retry_uncertain || failures >= self.policy.max_attempts {
                        return Err(e);
                    }
                    let wait = self
                        .policy
                        .backoff
                        .delay(failures, jitter())
                        .div_f64(self.policy.time_scale.max(1e-9));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Waits until this method (and, for posts, the channel) has budget, and any
    /// Retry-After has run out.
    async fn wait_for_budget(&self, method: &str, channel: Option<&str>) {
        loop {
            let wait = {
                let now = Instant::now();
                let mut b = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
                let scale = self.policy.time_scale;
                if let Some(until) = b.blocked_until.get(method).copied().filter(|u| *u > now) {
                    Some(until - now)
                } else {
                    let per_minute = match method {
                        "conversations.history" | "conversations.replies" => {
                            self.policy.history_per_minute
                        }
                        m => tier_per_minute(m),
                    };
                    let burst = (per_minute / 6.0).clamp(1.0, 10.0);
                    let bucket = b
                        .methods
                        .entry(method.to_string())
                        .or_insert_with(|| Bucket::new(per_minute, burst, scale, now));
                    match bucket.take(now) {
                        Err(wait) => Some(wait),
                        Ok(()) if method == "chat.postMessage" => match channel {
                            Some(c) => {
                                let bucket = b
                                    .channels
                                    .entry(c.to_string())
                                    .or_insert_with(|| Bucket::new(60.0, 3.0, scale, now));
                                bucket.take(now).err()
                            }
                            None => None,
                        },
                        Ok(()) => None,
                    }
                }
            };
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return,
            }
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &str,
        token: &Token,
        body: &Body<'_>,
    ) -> Attempt<T> {
        let request = self
            .http
            .post(format!("{}{method}", self.base))
            .bearer_auth(token.secret());
        let request = match body {
            Body::Form(form) => request.form(form),
            Body::Json(json) => request.json(json),
        };
        let response = match request.send().await {
            Ok(r) => r,
            // Timeouts and refused or reset connections: worth another try.
            Err(e) => {
                return Attempt::Retry(SlackError::Transport {
                    method: method.into(),
                    detail: redact(&e.to_string()),
                });
            }
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let scopes = header("x-oauth-scopes");
        if status == 429 {
            let seconds = header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            // Retry-After is Slack's own clock: never shortened, whatever our time scale.
            let wait = Duration::from_secs(seconds.max(1));
            let mut b = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
            b.blocked_until
                .insert(method.to_string(), Instant::now() + wait);
            return Attempt::RetryAfter(wait);
        }
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                return Attempt::Retry(SlackError::Transport {
                    method: method.into(),
                    detail: redact(&e.to_string()),
                });
            }
        };
        if status >= 500 {
            return Attempt::Retry(SlackError::Http {
                method: method.into(),
                status,
            });
        }
        // Leniently: a lone surrogate or deep nesting in one field must not cost the
        // whole answer (history pages go further and decode message by message).
        let parsed: Status = match from_str_lenient(&text) {
            Ok(s) => s,
            Err(_) if status >= 400 => {
                return Attempt::Fail(SlackError::Http {
                    method: method.into(),
                    status,
                });
            }
            Err(e) => {
                return Attempt::Fail(SlackError::Decode {
                    method: method.into(),
                    detail: e.to_string(),
                });
            }
        };
        if !parsed.ok {
            let e = SlackError::Api {
                method: method.into(),
                error: parsed.error.unwrap_or_else(|| "unknown_error".into()),
                needed: parsed.needed,
            };
            return if e.is_transient() {
                Attempt::Retry(e)
            } else {
                Attempt::Fail(e)
            };
        }
        match from_str_lenient(&text) {
            Ok(value) => Attempt::Done(Answer { value, scopes }),
            Err(e) => Attempt::Fail(SlackError::Decode {
                method: method.into(),
                detail: e.to_string(),
            }),
        }
    }
}

/// One page of a cursor-paginated answer (users.list, conversations.history, …).
pub(crate) trait Page: DeserializeOwned {
    type Item;
    fn items(self) -> Vec<Self::Item>;
    /// Where the next page starts; empty on the last page.
    fn next_cursor(&self) -> &str;
}

/// The channel a JSON-bodied call posts to, for the per-channel posting budget.
fn json_channel(body: &serde_json::Value) -> Option<String> {
    body.get("channel")
        .and_then(|c| c.as_str())
        .map(str::to_string)
}

/// Transport errors can echo a URL; tokens never travel in URLs here, but be sure.
fn redact(detail: &str) -> String {
    let mut out = String::with_capacity(detail.len());
    for word in detail.split_inclusive(|c: char| {
        c.is_whitespace() || c == '"' || c == '\'' || c == '&' || c == '='
    }) {
        if ["xoxb-", "xapp-", "xoxp-"]
            .iter()
            .any(|p| word.starts_with(p))
        {
            out.push_str("<redacted>");
            if let Some(last) = word
                .chars()
                .last()
                .filter(|c| !c.is_alphanumeric() && *c != '-')
            {
                out.push(last);
            }
        } else {
            out.push_str(word);
        }
    }
    out
}

/// A stand-in Slack for unit tests: `answer(method, form)` is the body of every answer.
#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use axum::extract::Path;

    pub(crate) async fn slack(
        answer: impl Fn(&str, &str) -> String + Clone + Send + Sync + 'static,
    ) -> WebClient {
        let app = axum::Router::new().route(
            "/api/{method}",
            axum::routing::post(move |Path(method): Path<String>, form: String| {
                let answer = answer.clone();
                async move { answer(&method, &form) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let policy = WebPolicy {
            time_scale: 1000.0,
            ..WebPolicy::default()
        };
        WebClient::new(
            &format!("http://{addr}/api/"),
            Token::new("xoxb-test"),
            None,
            policy,
        )
        .expect("a client")
    }

    /// A form field of a request, as the fake received it.
    pub(crate) fn field<'a>(form: &'a str, key: &str) -> Option<&'a str> {
        form.split('&')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::wire::{AuthTest, ChannelPage, MessagePage};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// conversations.list in three pages of two: cursor "" → "p2" → "p3" → end.
    fn three_pages(calls: Arc<AtomicUsize>) -> impl Fn(&str, &str) -> String + Clone {
        move |_, form| {
            calls.fetch_add(1, Ordering::SeqCst);
            let (channels, next) = match fake::field(form, "cursor") {
                None => (["C1", "C2"], "p2"),
                Some("p2") => (["C3", "C4"], "p3"),
                _ => (["C5", "C6"], ""),
            };
            format!(
                r#"{{"ok":true,"channels":[{{"id":"{}"}},{{"id":"{}"}}],"response_metadata":{{"next_cursor":"{next}"}}}}"#,
                channels[0], channels[1]
            )
        }
    }

    #[tokio::test]
    async fn pages_follow_the_cursor_to_the_last_page() {
        let calls = Arc::new(AtomicUsize::new(0));
        let web = fake::slack(three_pages(calls.clone())).await;
        let channels = web
            .pages::<ChannelPage>("conversations.list", &[])
            .await
            .unwrap();
        let ids: Vec<&str> = channels.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["C1", "C2", "C3", "C4", "C5", "C6"]);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn find_reads_only_the_pages_it_needs_and_at_most_its_budget() {
        let calls = Arc::new(AtomicUsize::new(0));
        let web = fake::slack(three_pages(calls.clone())).await;
        let found = web
            .find::<ChannelPage>("conversations.list", &[], 50, |c| c.id == "C3")
            .await
            .unwrap();
        assert_eq!(found.map(|c| c.id), Some("C3".into()));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let missing = web
            .find::<ChannelPage>("conversations.list", &[], 1, |c| c.id == "C5")
            .await
            .unwrap();
        assert!(missing.is_none(), "past the budget is not looked at");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_cursor_that_does_not_move_is_an_error_not_a_loop() {
        let web = fake::slack(|_, _| {
            r#"{"ok":true,"channels":[],"response_metadata":{"next_cursor":"same"}}"#.into()
        })
        .await;
        let err = web
            .pages::<ChannelPage>("conversations.list", &[])
            .await
            .unwrap_err();
        assert!(matches!(err, SlackError::Decode { .. }), "{err}");
    }

    #[tokio::test]
    async fn history_ends_where_has_more_says_whatever_the_cursor() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let web = fake::slack(move |_, _| {
            counted.fetch_add(1, Ordering::SeqCst);
            r#"{"ok":true,"messages":[{"ts":"1.0"}],"has_more":false,"response_metadata":{"next_cursor":"stale"}}"#.into()
        })
        .await;
        let messages = web
            .pages::<MessagePage>("conversations.history", &[])
            .await
            .unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn transient_answers_are_retried_and_the_rest_are_not() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let web = fake::slack(move |method, _| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            match (method, n) {
                // Both lists had internal_error; only the outbox's had ratelimited.
                ("auth.test", 0) => r#"{"ok":false,"error":"internal_error"}"#.into(),
                ("auth.test", 1) => r#"{"ok":false,"error":"ratelimited"}"#.into(),
                ("auth.test", _) => r#"{"ok":true,"user_id":"U1"}"#.into(),
                _ => r#"{"ok":false,"error":"user_not_found"}"#.into(),
            }
        })
        .await;
        let auth: AuthTest = web.call("auth.test", &[]).await.unwrap();
        assert_eq!(auth.user_id, "U1");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let err = web.call::<AuthTest>("users.info", &[]).await.unwrap_err();
        assert_eq!(err.slack_error(), Some("user_not_found"));
        assert_eq!(calls.load(Ordering::SeqCst), 4, "an answer is not retried");
    }

    #[tokio::test]
    async fn an_answer_serde_json_refuses_is_read_again_after_repair() {
        let web = fake::slack(|_, _| {
            r#"{"ok":true,"user":{"id":"U1","name":"ren\ud83d","profile":{"title":"\udc00"}}}"#
                .into()
        })
        .await;
        let info: crate::slack::wire::UserInfo = web.call("users.info", &[]).await.unwrap();
        assert_eq!(info.user.name, "ren\u{fffd}");
        assert_eq!(info.user.profile.title.as_deref(), Some("\u{fffd}"));
    }

    #[test]
    fn which_errors_are_transient() {
        let api = |error: &str| SlackError::Api {
            method: "m".into(),
            error: error.into(),
            needed: None,
        };
        for error in TRANSIENT_ERRORS {
            assert!(api(error).is_transient(), "{error}");
        }
        assert!(!api("channel_not_found").is_transient());
        assert!(!api("name_taken").is_transient());
        let http = |status| SlackError::Http {
            method: "m".into(),
            status,
        };
        assert!(http(503).is_transient());
        assert!(!http(404).is_transient());
        assert!(
            SlackError::Transport {
                method: "m".into(),
                detail: "reset".into()
            }
            .is_transient()
        );
        assert!(SlackError::RateLimited { method: "m".into() }.is_transient());
        assert!(
            !SlackError::Decode {
                method: "m".into(),
                detail: "missing field `id`".into()
            }
            .is_transient()
        );
    }

    #[test]
    fn tokens_never_show() {
        let t = Token::new("xoxb-1234-secret");
        assert!(!format!("{t:?} {t}").contains("secret"));
        assert!(format!("{t:?}").contains("bot token"));
        let client = WebClient::new(
            "http://x/api",
            t,
            Some(Token::new("xapp-1-secret")),
            WebPolicy::default(),
        )
        .unwrap();
        assert!(!format!("{client:?}").contains("secret"));
        assert_eq!(client.base_url(), "http://x/api/");
        assert_eq!(redact("bad xoxb-123-abc here"), "bad <redacted> here");
        assert_eq!(redact("token=xapp-1-abc&x=1"), "token=<redacted>&x=1");
    }

    #[test]
    fn buckets_burst_then_pace() {
        let now = Instant::now();
        let mut b = Bucket::new(60.0, 2.0, 1.0, now);
        assert!(b.take(now).is_ok());
        assert!(b.take(now).is_ok());
        let wait = b.take(now).unwrap_err();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(b.take(now + Duration::from_secs(1)).is_ok());
        // A time scale of 60 makes a minute's budget refill in a second.
        let mut fast = Bucket::new(1.0, 1.0, 60.0, now);
        fast.take(now).unwrap();
        assert!(fast.take(now + Duration::from_millis(1001)).is_ok());
    }

    #[test]
    fn errors_read_well() {
        let e = SlackError::Api {
            method: "chat.postMessage".into(),
            error: "missing_scope".into(),
            needed: Some("chat:write".into()),
        };
        assert_eq!(
            e.to_string(),
            "chat.postMessage: missing_scope (the app needs the chat:write scope)"
        );
        assert_eq!(e.slack_error(), Some("missing_scope"));
    }
}
