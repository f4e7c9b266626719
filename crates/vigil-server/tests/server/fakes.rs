//! Local stand-ins for the channels that cannot be reached from here, speaking their APIs'
//! request and response formats: Telegram's Bot API `sendMessage`, Slack incoming webhooks,
//! and a webhook receiver. The SMTP server is a real one: aiosmtpd (from `scripts/setup`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Got {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Got {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// A failure to answer with, instead of accepting.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// Telegram: 429 with `parameters.retry_after`; Slack and webhooks: 429 with Retry-After.
    RateLimited(u64),
    /// 500, as a channel that is failing.
    Broken,
}

#[derive(Default)]
struct Inner {
    got: Mutex<Vec<Got>>,
    /// What was answered as accepted: what the channel would have shown people.
    accepted: Mutex<Vec<Got>>,
    refusals: Mutex<VecDeque<Refusal>>,
    /// Requests are taken in and never answered (a channel that hangs).
    hang: std::sync::atomic::AtomicBool,
}

impl Inner {
    async fn maybe_hang(&self) {
        if self.hang.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }

    fn accept(&self, path: String, headers: HeaderMap, body: Bytes) {
        self.accepted.lock().unwrap().push(Got {
            path,
            headers,
            body,
        });
    }
}

/// A fake channel server on 127.0.0.1.
pub struct Fake {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

/// The bot token the fake Telegram accepts.
pub const BOT_TOKEN: &str = "123456:AAE-fake_bot_token-xyz";
/// The path of the fake Slack webhook.
pub const SLACK_PATH: &str = "/services/T0000/B0000/fakeSecretPart";

impl Fake {
    /// Telegram's Bot API at `http://ADDR` (`/bot<token>/sendMessage`).
    pub async fn telegram() -> Fake {
        Self::telegram_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// The same, on a given address (to bring a channel "back" where it was).
    pub async fn telegram_on(addr: SocketAddr) -> Fake {
        Self::serve(
            addr,
            Router::new().route("/{bot}/sendMessage", post(telegram)),
        )
        .await
    }

    /// A Slack incoming webhook at `http://ADDR` + [`SLACK_PATH`].
    pub async fn slack() -> Fake {
        Self::serve(
            "127.0.0.1:0".parse().unwrap(),
            Router::new().route("/services/{a}/{b}/{c}", post(slack)),
        )
        .await
    }

    /// A webhook receiver at `http://ADDR/hook`.
    pub async fn webhook() -> Fake {
        Self::serve(
            "127.0.0.1:0".parse().unwrap(),
            Router::new().route("/hook", post(webhook)),
        )
        .await
    }

    async fn serve(addr: SocketAddr, router: Router<Arc<Inner>>) -> Fake {
        let inner = Arc::new(Inner::default());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router.with_state(inner.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake { addr, inner, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next requests get these answers, in order.
    pub fn refuse(&self, refusals: impl IntoIterator<Item = Refusal>) {
        self.inner.refusals.lock().unwrap().extend(refusals);
    }

    /// From now on, take requests in and never answer them (or answer again).
    pub fn set_hang(&self, hang: bool) {
        self.inner
            .hang
            .store(hang, std::sync::atomic::Ordering::SeqCst);
    }

    /// What was accepted so far.
    pub fn accepted(&self) -> Vec<Got> {
        self.inner.accepted.lock().unwrap().clone()
    }

    /// Waits until `n` requests were accepted (or panics after `limit`).
    pub async fn wait_accepted(&self, n: usize, limit: Duration) -> Vec<Got> {
        let start = Instant::now();
        loop {
            let got = self.accepted();
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < limit,
                "expected {n} accepted within {limit:?}, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything received so far, accepted or not.
    pub fn got(&self) -> Vec<Got> {
        self.inner.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived (or panics after `limit`).
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Got> {
        let start = Instant::now();
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < limit,
                "expected {n} requests within {limit:?}, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn record(inner: &Inner, path: String, headers: HeaderMap, body: Bytes) -> Option<Refusal> {
    inner.got.lock().unwrap().push(Got {
        path,
        headers,
        body,
    });
    inner.refusals.lock().unwrap().pop_front()
}

fn telegram_error(status: StatusCode, description: &str, retry_after: Option<u64>) -> Response {
    let mut body = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    if let Some(s) = retry_after {
        body["parameters"] = json!({ "retry_after": s });
    }
    (status, axum::Json(body)).into_response()
}

/// `POST /bot<token>/sendMessage` as the Bot API answers it.
async fn telegram(
    State(inner): State<Arc<Inner>>,
    Path(bot): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refusal = record(
        &inner,
        format!("/{bot}/sendMessage"),
        headers.clone(),
        body.clone(),
    );
    inner.maybe_hang().await;
    if bot != format!("bot{BOT_TOKEN}") {
        return telegram_error(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }
    match refusal {
        Some(Refusal::RateLimited(s)) => {
            return telegram_error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too Many Requests: retry after {s}"),
                Some(s),
            )
        }
        Some(Refusal::Broken) => {
            return telegram_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                None,
            )
        }
        None => {}
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return telegram_error(StatusCode::BAD_REQUEST, "Bad Request: invalid JSON", None);
    };
    let text = message["text"].as_str().unwrap_or("");
    if text.is_empty() {
        return telegram_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message text is empty",
            None,
        );
    }
    if message["chat_id"].is_null() {
        return telegram_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: chat_id is empty",
            None,
        );
    }
    if message["parse_mode"] == "HTML" && !balanced_html(text) {
        return telegram_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: can't parse entities: unsupported start tag",
            None,
        );
    }
    inner.accept(format!("/{bot}/sendMessage"), headers, body.clone());
    axum::Json(json!({
        "ok": true,
        "result": {
            "message_id": inner.got.lock().unwrap().len(),
            "date": 1_790_000_000,
            "chat": {"id": message["chat_id"], "type": "supergroup"},
            "text": text,
        }
    }))
    .into_response()
}

/// Telegram's HTML mode takes only a few tags, and `<`, `>`, `&` must be escaped elsewhere.
fn balanced_html(text: &str) -> bool {
    let allowed = [
        "b",
        "i",
        "u",
        "s",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "blockquote",
    ];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        let Some(j) = rest[i..].find('>') else {
            return false;
        };
        let tag = &rest[i + 1..i + j];
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name) {
                return false;
            }
        } else {
            let name = tag.split_whitespace().next().unwrap_or("");
            if !allowed.contains(&name) {
                return false;
            }
            stack.push(name.to_owned());
        }
        rest = &rest[i + j + 1..];
    }
    let entities = ["&amp;", "&lt;", "&gt;", "&quot;"];
    stack.is_empty()
        && text
            .match_indices('&')
            .all(|(i, _)| entities.iter().any(|e| text[i..].starts_with(e)))
}

/// A Slack incoming webhook: `ok`, or Slack's plain-text errors.
async fn slack(
    State(inner): State<Arc<Inner>>,
    Path((a, b, c)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/services/{a}/{b}/{c}");
    let refusal = record(&inner, path.clone(), headers.clone(), body.clone());
    inner.maybe_hang().await;
    if path != SLACK_PATH {
        return (StatusCode::NOT_FOUND, "no_service").into_response();
    }
    match refusal {
        Some(Refusal::RateLimited(s)) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", s.to_string())],
                "rate_limited",
            )
                .into_response()
        }
        Some(Refusal::Broken) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal_error").into_response()
        }
        None => {}
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    let blocks_ok = payload["blocks"].as_array().is_none_or(|blocks| {
        blocks.iter().all(|b| match b["type"].as_str() {
            Some("header") => b["text"]["text"]
                .as_str()
                .is_some_and(|t| t.chars().count() <= 150),
            Some("section") => {
                b["text"].is_object() || b["fields"].as_array().is_some_and(|f| f.len() <= 10)
            }
            Some("context") => b["elements"].is_array(),
            _ => false,
        })
    });
    if payload["text"].as_str().is_none_or(str::is_empty) && payload["blocks"].is_null() {
        return (StatusCode::BAD_REQUEST, "no_text").into_response();
    }
    if !blocks_ok {
        return (StatusCode::BAD_REQUEST, "invalid_blocks").into_response();
    }
    inner.accept(path, headers, body);
    (StatusCode::OK, "ok").into_response()
}

/// A webhook receiver: 204 when accepted.
async fn webhook(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    match record(&inner, "/hook".into(), headers.clone(), body.clone()) {
        Some(Refusal::RateLimited(s)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", s.to_string())],
            "slow down",
        )
            .into_response(),
        Some(Refusal::Broken) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        None => {
            inner.accept("/hook".into(), headers, body);
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

/// A real SMTP server: aiosmtpd, storing what it receives in a Maildir.
pub struct Smtp {
    pub port: u16,
    pub maildir: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Smtp {
    pub async fn start() -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("Maildir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let start = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start listening on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Smtp {
            port,
            maildir,
            child,
            _dir: dir,
        }
    }

    /// The messages received, as raw RFC 5322 bytes.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Vec<u8>> {
        let start = Instant::now();
        loop {
            let mut messages = Vec::new();
            if let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) {
                let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
                paths.sort();
                messages = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
            }
            if messages.len() >= n {
                return messages;
            }
            assert!(
                start.elapsed() < limit,
                "expected {n} emails within {limit:?}, got {}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python that `scripts/setup` installs with aiosmtpd (or `VIGIL_PYTHON`).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("VIGIL_PYTHON") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/py/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup (it installs aiosmtpd there) or set VIGIL_PYTHON",
        p.display()
    );
    p
}
