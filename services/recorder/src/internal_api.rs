//! The recorder's internal HTTP API, for signal in separate-pod
//! deployments (`Authorization: Bearer <internal key>` on every route):
//! - `POST /internal/v1/recordings` takes a [`RecordJob`] and answers with
//!   the job's [`RecordEvent`](yunhui_proto::recording::RecordEvent)s as they
//!   happen, one JSON object per line, until the recorder leaves the meeting;
//!   A recorder that drains or runs as many jobs as it takes answers 503,
//!   so signal hands the job to another;
//! - `GET /internal/v1/files/{name}` serves a recorded file (range requests
//!   work), for signal to stream "My videos": from the recorder's volume,
//!   else from the object store ([`crate::storage`]), so any recorder
//!   serves a stored file;
//! - `DELETE /internal/v1/files/{name}` deletes one (a recording deleted
//!   or past its retention), from the volume and the object store; 404 when
//!   there is no such file;
//! - `/readyz` answers 503 while the recorder drains, so its Service sends
//!   it nothing new.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::mpsc;
use tower_http::services::ServeFile;
use yunhui_proto::recording::{RecordControl, RecordJob, is_file_name};
use yunhui_runtime::internal_api::{bearer_matches, error, event_lines};

use crate::Recorder;
use crate::job::{DRAINING, FULL};
use crate::storage::ObjectStorage;

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
        .route("/readyz", get(ready))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ApiState {
            recorder,
            key: internal_key.into(),
        })
}

async fn ready(State(state): State<ApiState>) -> Response {
    if state.recorder.is_draining() {
        error(StatusCode::SERVICE_UNAVAILABLE, DRAINING)
    } else {
        "ok".into_response()
    }
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
        let status = if reason == FULL || reason == DRAINING {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return error(status, reason);
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
    let local = state.recorder.dir().join(&name);
    if let Some(storage) = state.recorder.storage()
        && !tokio::fs::try_exists(&local).await.unwrap_or(false)
    {
        return stored_file(storage, &name, request.headers()).await;
    }
    match ServeFile::new(local).try_call(request).await {
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
    let local = match tokio::fs::remove_file(state.recorder.dir().join(&name)).await {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("deleting {name} failed: {e}"),
            );
        }
    };
    let stored = match state.recorder.storage() {
        Some(storage) => match storage.delete(&name).await {
            Ok(found) => found,
            Err(e) => return error(StatusCode::BAD_GATEWAY, e),
        },
        None => false,
    };
    if !local && !stored {
        return error(StatusCode::NOT_FOUND, format!("there is no file {name}"));
    }
    tracing::info!(file = %name, "a recording's file is deleted");
    (StatusCode::OK, Json(serde_json::json!({"deleted": name}))).into_response()
}

/// Serves the stored file `name` from the object store, the one range a
/// `Range` header asks for (206) or all of it (200).
async fn stored_file(storage: &ObjectStorage, name: &str, headers: &HeaderMap) -> Response {
    let size = match storage.size(name).await {
        Ok(Some(size)) => size,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("there is no file {name}")),
        Err(e) => return error(StatusCode::BAD_GATEWAY, e),
    };
    let asked = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|range| {
            http_range_header::parse_range_header(range)
                .and_then(|ranges| ranges.validate(size))
                .ok()
                .and_then(|ranges| (ranges.len() == 1).then(|| ranges[0].clone()))
        });
    let range = match asked {
        None => None,
        Some(Some(range)) => Some(*range.start()..*range.end() + 1),
        Some(None) => {
            let mut refused = error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("{name} has {size} bytes; one range within them can be asked for"),
            );
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                refused.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return refused;
        }
    };
    if size == 0 {
        return ([(header::CONTENT_TYPE, "video/webm")], Body::empty()).into_response();
    }
    let partial = range.is_some();
    let read = match storage.read(name, range).await {
        Ok(read) => read,
        Err(e) => return error(StatusCode::BAD_GATEWAY, e),
    };
    let mut response = Response::new(Body::from_stream(read.body));
    if partial {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/webm"));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(read.range.end - read.range.start),
    );
    if partial {
        let content_range = format!(
            "bytes {}-{}/{}",
            read.range.start,
            read.range.end - 1,
            read.size
        );
        if let Ok(value) = HeaderValue::from_str(&content_range) {
            headers.insert(header::CONTENT_RANGE, value);
        }
    }
    response
}
