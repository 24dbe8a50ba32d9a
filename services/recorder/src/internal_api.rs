//! The recorder's internal HTTP API, for signal in separate-pod
//! deployments (`Authorization: Bearer <internal key>` on every route):
//! - `POST /internal/v1/recordings` takes a [`RecordJob`] and answers with
//!   the job's [`RecordEvent`](yunhui_proto::recording::RecordEvent)s as they
//!   happen, one JSON object per line, until the recorder leaves the meeting;
//! - `GET /internal/v1/files/{name}` serves a recorded file (range requests
//!   work), for signal to stream "My videos" from the recorder's volume;
//! - `DELETE /internal/v1/files/{name}` deletes one (a recording deleted
//!   or past its retention); 404 when there is no such file.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::mpsc;
use tower_http::services::ServeFile;
use yunhui_proto::recording::{RecordControl, RecordJob, is_file_name};
use yunhui_runtime::internal_api::{bearer_matches, error, event_lines};

use crate::Recorder;

/// Largest request body: a job is a few hundred bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Clone)]
struct ApiState {
    recorder: Arc<Recorder>,
    key: Arc<str>,
}

/// The routes, guarded by `internal_key`.
pub fn router(recorder: Arc<Recorder>, internal_key: &str) -> Router {
    Router::new()
        .route("/internal/v1/recordings", post(record))
        .route("/internal/v1/files/{name}", get(file).delete(delete_file))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ApiState {
            recorder,
            key: internal_key.into(),
        })
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "the internal key is missing or wrong",
    )
}

async fn record(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    if !bearer_matches(&headers, &state.key) {
        return unauthorized();
    }
    let job: RecordJob = match serde_json::from_slice(&body) {
        Ok(job) => job,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("not a recording job: {e}")),
    };
    let (events, receiver) = mpsc::unbounded_channel();
    if let Err(reason) = state.recorder.record(
        job,
        Box::new(move |event| {
            let _ = events.send(event);
        }),
    ) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, reason);
    }
    event_lines(receiver)
}

async fn file(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    if !bearer_matches(request.headers(), &state.key) {
        return unauthorized();
    }
    if !is_file_name(&name) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{name:?} is not a file name"),
        );
    }
    match ServeFile::new(state.recorder.dir().join(&name))
        .try_call(request)
        .await
    {
        Ok(response) => response.into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading {name} failed: {e}"),
        ),
    }
}

async fn delete_file(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !bearer_matches(&headers, &state.key) {
        return unauthorized();
    }
    if !is_file_name(&name) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{name:?} is not a file name"),
        );
    }
    match tokio::fs::remove_file(state.recorder.dir().join(&name)).await {
        Ok(()) => {
            tracing::info!(file = %name, "a recording's file is deleted");
            (StatusCode::OK, Json(serde_json::json!({"deleted": name}))).into_response()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            error(StatusCode::NOT_FOUND, format!("there is no file {name}"))
        }
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("deleting {name} failed: {e}"),
        ),
    }
}
