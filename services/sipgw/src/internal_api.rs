//! The gateway's internal HTTP API, for signal in separate-pod deployments:
//! `POST /internal/v1/calls` (`Authorization: Bearer <internal key>`) takes a
//! [`DialRequest`] and answers with the call's [`CallEvent`]s as they happen,
//! one JSON object per line, until the call is over.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::mpsc;
use yunhui_proto::dial::{CallControl, DialRequest};
use yunhui_runtime::internal_api::{bearer_matches, error, event_lines};

use crate::SipGateway;
use crate::gateway::{DRAINING, FULL};

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
        .route("/readyz", get(ready))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ApiState {
            gateway,
            key: internal_key.into(),
        })
}

/// Ready while the gateway takes calls; a draining one is not, so the
/// Service sends no new calls its way.
async fn ready(State(state): State<ApiState>) -> Response {
    if state.gateway.is_draining() {
        return error(StatusCode::SERVICE_UNAVAILABLE, DRAINING);
    }
    "ok".into_response()
}

async fn place_call(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    if !bearer_matches(&headers, &state.key) {
        return error(
            StatusCode::UNAUTHORIZED,
            "the internal key is missing or wrong",
        );
    }
    if state.gateway.is_draining() {
        return error(StatusCode::SERVICE_UNAVAILABLE, DRAINING);
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
        // A full gateway is busy, not wrong: the call may be tried again.
        let status = if reason == FULL {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return error(status, reason);
    }
    // The stream ends when the call's last event has gone (its sender is dropped).
    event_lines(receiver)
}
