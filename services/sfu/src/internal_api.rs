//! The SFU's internal HTTP API (`/internal/v1/...`, JSON, `Authorization: Bearer
//! <internal key>`), served by [`internal_router`] for separate-pod deployments.
//! Its bodies are in [`yunhui_proto::media`]; the client signal uses against it
//! is the client SDK's `media_control::HttpControl`.

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use yunhui_proto::media::{ActiveSpeakerBody, ForwardingBody, OptionalSdpBody, SdpBody};

use crate::Sfu;
use crate::control::{
    ControlError, InProcessControl, MediaControl, MediaKind, NodeStats, Routing, VideoSubscriptions,
};

#[derive(Clone)]
struct ApiState {
    control: InProcessControl,
    key: std::sync::Arc<str>,
    registry: prometheus::Registry,
}

struct ApiError(ControlError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            ControlError::RoomNotFound { .. } | ControlError::ParticipantNotFound { .. } => {
                StatusCode::NOT_FOUND
            }
            ControlError::InvalidSdp { .. } => StatusCode::BAD_REQUEST,
            ControlError::Unauthorized => StatusCode::UNAUTHORIZED,
            ControlError::NoMediaNode { .. } | ControlError::Draining { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ControlError::Transport { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(self.0)).into_response()
    }
}

impl From<ControlError> for ApiError {
    fn from(err: ControlError) -> Self {
        Self(err)
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Compares without an early exit, so response time does not reveal how much of the key matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_key(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if constant_time_eq(presented.as_bytes(), state.key.as_bytes()) {
        next.run(request).await
    } else {
        ApiError(ControlError::Unauthorized).into_response()
    }
}

/// The internal API of `sfu`, authenticated with `key`, plus unauthenticated
/// `/healthz`, `/readyz` and `/metrics` (Prometheus text format of the node's registry).
pub fn internal_router(sfu: Sfu, key: &str) -> Router {
    let registry = sfu.registry().clone();
    let state = ApiState {
        control: InProcessControl::new(sfu),
        key: key.into(),
        registry,
    };
    let api = Router::new()
        .route("/internal/v1/stats", get(node_stats))
        .route(
            "/internal/v1/rooms/{room}",
            put(create_room).delete(close_room),
        )
        .route(
            "/internal/v1/rooms/{room}/active-speaker",
            get(active_speaker),
        )
        .route(
            "/internal/v1/rooms/{room}/participants/{participant}",
            put(add_participant).delete(remove_participant),
        )
        .route(
            "/internal/v1/rooms/{room}/participants/{participant}/publish",
            post(publish),
        )
        .route(
            "/internal/v1/rooms/{room}/participants/{participant}/subscribe/offer",
            post(subscribe_offer),
        )
        .route(
            "/internal/v1/rooms/{room}/participants/{participant}/subscribe/answer",
            post(subscribe_answer),
        )
        .route(
            "/internal/v1/rooms/{room}/participants/{participant}/forwarding/{kind}",
            put(set_forwarding),
        )
        .route(
            "/internal/v1/rooms/{room}/participants/{participant}/video-subscriptions",
            put(set_video_subscriptions),
        )
        .route(
            "/internal/v1/rooms/{room}/participants/{participant}/routing",
            put(set_routing),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_key,
        ));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .merge(api)
        .with_state(state)
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let encoder = prometheus::TextEncoder::new();
    match encoder.encode_to_string(&state.registry.gather()) {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

async fn node_stats(State(state): State<ApiState>) -> ApiResult<NodeStats> {
    Ok(Json(state.control.node_stats().await?))
}

async fn create_room(State(state): State<ApiState>, Path(room): Path<String>) -> ApiResult<()> {
    Ok(Json(state.control.create_room(&room).await?))
}

async fn close_room(State(state): State<ApiState>, Path(room): Path<String>) -> ApiResult<()> {
    Ok(Json(state.control.close_room(&room).await?))
}

async fn active_speaker(
    State(state): State<ApiState>,
    Path(room): Path<String>,
) -> ApiResult<ActiveSpeakerBody> {
    Ok(Json(ActiveSpeakerBody {
        participant: state.control.active_speaker(&room).await?,
    }))
}

async fn add_participant(
    State(state): State<ApiState>,
    Path((room, participant)): Path<(String, String)>,
) -> ApiResult<()> {
    Ok(Json(
        state.control.add_participant(&room, &participant).await?,
    ))
}

async fn remove_participant(
    State(state): State<ApiState>,
    Path((room, participant)): Path<(String, String)>,
) -> ApiResult<()> {
    Ok(Json(
        state
            .control
            .remove_participant(&room, &participant)
            .await?,
    ))
}

async fn publish(
    State(state): State<ApiState>,
    Path((room, participant)): Path<(String, String)>,
    Json(body): Json<SdpBody>,
) -> ApiResult<SdpBody> {
    let sdp = state
        .control
        .publish(&room, &participant, &body.sdp)
        .await?;
    Ok(Json(SdpBody { sdp }))
}

async fn subscribe_offer(
    State(state): State<ApiState>,
    Path((room, participant)): Path<(String, String)>,
) -> ApiResult<OptionalSdpBody> {
    let sdp = state.control.subscribe_offer(&room, &participant).await?;
    Ok(Json(OptionalSdpBody { sdp }))
}

async fn subscribe_answer(
    State(state): State<ApiState>,
    Path((room, participant)): Path<(String, String)>,
    Json(body): Json<SdpBody>,
) -> ApiResult<OptionalSdpBody> {
    let sdp = state
        .control
        .subscribe_answer(&room, &participant, &body.sdp)
        .await?;
    Ok(Json(OptionalSdpBody { sdp }))
}

async fn set_forwarding(
    State(state): State<ApiState>,
    Path((room, participant, kind)): Path<(String, String, MediaKind)>,
    Json(body): Json<ForwardingBody>,
) -> ApiResult<()> {
    Ok(Json(
        state
            .control
            .set_forwarding(&room, &participant, kind, body.enabled)
            .await?,
    ))
}

async fn set_video_subscriptions(
    State(state): State<ApiState>,
    Path((room, participant)): Path<(String, String)>,
    Json(body): Json<VideoSubscriptions>,
) -> ApiResult<()> {
    Ok(Json(
        state
            .control
            .set_video_subscriptions(&room, &participant, body)
            .await?,
    ))
}

async fn set_routing(
    State(state): State<ApiState>,
    Path((room, participant)): Path<(String, String)>,
    Json(body): Json<Routing>,
) -> ApiResult<()> {
    Ok(Json(
        state.control.set_routing(&room, &participant, body).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_exactly() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }
}
