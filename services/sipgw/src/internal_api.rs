//! The gateway's internal HTTP API, for signal in separate-pod deployments:
//! `POST /internal/v1/calls` (`Authorization: Bearer <internal key>`) takes a
//! [`DialRequest`] and answers with the call's [`CallEvent`]s as they happen,
//! one JSON object per line, until the call is over.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;
use yunhui_proto::dial::{CallControl, DialRequest};

use crate::SipGateway;

/// Largest request body: a dial request is a few hundred bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Clone)]
struct ApiState {
    gateway: Arc<SipGateway>,
    key: Arc<str>,
}

/// The routes, guarded by `internal_key`.
pub fn router(gateway: Arc<SipGateway>, internal_key: &str) -> Router {
    Router::new()
        .route("/internal/v1/calls", post(place_call))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ApiState {
            gateway,
            key: internal_key.into(),
        })
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": { "message": message.into() } })),
    )
        .into_response()
}

async fn place_call(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(state.key.as_bytes())) {
        return error(
            StatusCode::UNAUTHORIZED,
            "the internal key is missing or wrong",
        );
    }
    let request: DialRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("not a dial request: {e}")),
    };
    let (events, receiver) = mpsc::unbounded_channel();
    if let Err(reason) = state.gateway.dial(
        request,
        Box::new(move |event| {
            let _ = events.send(event);
        }),
    ) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, reason);
    }
    // The stream ends when the call's last event has gone (its sender is dropped).
    let lines = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        let mut line = serde_json::to_string(&event).unwrap_or_default();
        line.push('\n');
        Some((Ok::<_, Infallible>(line), receiver))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from_stream(lines))
        .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "no response"))
}
