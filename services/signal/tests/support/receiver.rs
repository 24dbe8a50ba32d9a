//! A webhook receiver the tests run: an HTTP server that keeps every
//! request it gets (path, Standard Webhooks headers, body) and can be told
//! to refuse the next few with 500, and the receiving side's check of a
//! signature, written with ring's HMAC (not the one signal signs with).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use parking_lot::Mutex;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path after `/`, which the tests use to tell receivers apart.
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a webhook body is JSON")
    }

    /// The event type in the body.
    pub fn event(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }
}

#[derive(Default)]
struct Book {
    got: Vec<Received>,
    /// Requests still to refuse, per path.
    refuse: std::collections::HashMap<String, usize>,
}

/// The running receiver.
pub struct Receiver {
    pub base_url: String,
    book: Arc<Mutex<Book>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let book = Arc::new(Mutex::new(Book::default()));
        let router = axum::Router::new()
            .route("/{path}", post(receive))
            .with_state(book.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver {
            base_url,
            book,
            task,
        }
    }

    /// The URL of receiver `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url)
    }

    /// Answers the next `count` requests to `path` with 500.
    pub fn refuse(&self, path: &str, count: usize) {
        self.book.lock().refuse.insert(path.to_string(), count);
    }

    /// Every request to `path` so far.
    pub fn got(&self, path: &str) -> Vec<Received> {
        (self.book.lock().got.iter())
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Waits (up to `wait`) until the requests to `path` that were accepted
    /// carry every event of `events`; answers every request to `path`.
    pub async fn wait_for(&self, path: &str, events: &[&str], wait: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let got = self.got(path);
            let accepted: Vec<String> = (got.iter())
                .filter(|r| r.status == 200)
                .map(Received::event)
                .collect();
            if events.iter().all(|e| accepted.iter().any(|a| a == e)) {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path} was sent {accepted:?}, not all of {events:?}, within {wait:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn receive(
    State(book): State<Arc<Mutex<Book>>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut book = book.lock();
    let status = match book.refuse.get_mut(&path) {
        Some(left) if *left > 0 => {
            *left -= 1;
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::OK,
    };
    book.got.push(Received {
        path,
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
        status: status.as_u16(),
    });
    status
}

/// Whether `received` is signed with `secret` (`whsec_` and base64), as the
/// Standard Webhooks specification says: `v1,` and the base64 HMAC-SHA256
/// of `<id>.<timestamp>.<body>`.
pub fn signed_with(received: &Received, secret: &str) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| BASE64.decode(k).ok())
    else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let content = format!("{}.{}.{}", received.id, received.timestamp, received.body);
    received
        .signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| BASE64.decode(s).ok())
        .any(|tag| ring::hmac::verify(&key, content.as_bytes(), &tag).is_ok())
}
