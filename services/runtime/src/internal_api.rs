//! What the services' internal HTTP APIs share (the SIP gateway's and the
//! recorder's, which signal calls in separate-pod deployments): the shared
//! key checked in constant time, errors in one shape, and a job's events
//! streamed back as they happen, one JSON object per line.

use std::convert::Infallible;

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;

/// Whether the request carries `Authorization: Bearer <key>`.
pub fn bearer_matches(headers: &HeaderMap, key: &str) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    !key.is_empty() && bool::from(presented.as_bytes().ct_eq(key.as_bytes()))
}

/// An error answer: `{"error": {"message": …}}`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": { "message": message.into() } })),
    )
        .into_response()
}

/// The answer that streams `events` as newline-delimited JSON until every
/// sender of the channel is dropped (the job's last event has gone).
pub fn event_lines<T: Serialize + Send + 'static>(events: mpsc::UnboundedReceiver<T>) -> Response {
    let lines = futures_util::stream::unfold(events, |mut events| async move {
        let event = events.recv().await?;
        let mut line = serde_json::to_string(&event).unwrap_or_default();
        line.push('\n');
        Some((Ok::<_, Infallible>(line), events))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from_stream(lines))
        .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "no response"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_key_passes() {
        let mut headers = HeaderMap::new();
        assert!(!bearer_matches(&headers, "k3y"));
        headers.insert(header::AUTHORIZATION, "Bearer k3y".parse().unwrap());
        assert!(bearer_matches(&headers, "k3y"));
        assert!(!bearer_matches(&headers, "k3y2"));
        assert!(!bearer_matches(&headers, ""));
    }
}
