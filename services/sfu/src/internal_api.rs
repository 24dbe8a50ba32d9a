//! The SFU's internal HTTP API (`/internal/v1/...`, JSON, `Authorization: Bearer
//! <internal key>`), served by [`internal_router`] for separate-pod deployments, and
//! [`HttpControl`], the [`MediaControl`] client signal uses against it.

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::Sfu;
use crate::control::{
    ControlError, InProcessControl, MediaControl, MediaKind, NodeStats, VideoSubscriptions,
};

/// A session description in a request or response body.
#[derive(Debug, Serialize, Deserialize)]
pub struct SdpBody {
    /// The SDP text.
    pub sdp: String,
}

/// A session description that may be absent (nothing to negotiate).
#[derive(Debug, Serialize, Deserialize)]
pub struct OptionalSdpBody {
    /// The SDP text, if there is one.
    pub sdp: Option<String>,
}

/// Body of the mute-at-source call.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForwardingBody {
    /// Whether the kind is forwarded.
    pub enabled: bool,
}

/// Body of the active-speaker call.
#[derive(Debug, Serialize, Deserialize)]
pub struct ActiveSpeakerBody {
    /// The loudest unmuted publisher, if any.
    pub participant: Option<String>,
}

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

/// [`MediaControl`] over the internal HTTP API of a separate SFU node.
#[derive(Clone)]
pub struct HttpControl {
    client: reqwest::Client,
    base_url: String,
    key: String,
}

impl HttpControl {
    /// A client for the node at `base_url` (e.g. `http://sfu-0.sfu:7880`) using the
    /// shared internal `key`.
    pub fn new(base_url: &str, key: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
        }
    }

    async fn call<B: Serialize, T: for<'de> Deserialize<'de>>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ControlError> {
        let mut request = self
            .client
            .request(method, format!("{}{}", self.base_url, path))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|err| ControlError::Transport {
                reason: err.to_string(),
            })?;
        let status = response.status();
        if status.is_success() {
            return response
                .json()
                .await
                .map_err(|err| ControlError::Transport {
                    reason: format!("unreadable response from the SFU: {err}"),
                });
        }
        if status == StatusCode::UNAUTHORIZED {
            return Err(ControlError::Unauthorized);
        }
        Err(response
            .json::<ControlError>()
            .await
            .unwrap_or_else(|err| ControlError::Transport {
                reason: format!("the SFU answered {status}: {err}"),
            }))
    }

    fn room_path(room: &str) -> String {
        format!("/internal/v1/rooms/{}", encode_segment(room))
    }

    fn participant_path(room: &str, participant: &str) -> String {
        format!(
            "{}/participants/{}",
            Self::room_path(room),
            encode_segment(participant)
        )
    }
}

/// Percent-encodes one path segment.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

const NO_BODY: Option<&()> = None;

#[async_trait::async_trait]
impl MediaControl for HttpControl {
    async fn create_room(&self, room: &str) -> Result<(), ControlError> {
        self.call(reqwest::Method::PUT, &Self::room_path(room), NO_BODY)
            .await
    }

    async fn close_room(&self, room: &str) -> Result<(), ControlError> {
        self.call(reqwest::Method::DELETE, &Self::room_path(room), NO_BODY)
            .await
    }

    async fn add_participant(&self, room: &str, participant: &str) -> Result<(), ControlError> {
        self.call(
            reqwest::Method::PUT,
            &Self::participant_path(room, participant),
            NO_BODY,
        )
        .await
    }

    async fn remove_participant(&self, room: &str, participant: &str) -> Result<(), ControlError> {
        self.call(
            reqwest::Method::DELETE,
            &Self::participant_path(room, participant),
            NO_BODY,
        )
        .await
    }

    async fn publish(
        &self,
        room: &str,
        participant: &str,
        offer_sdp: &str,
    ) -> Result<String, ControlError> {
        let body = SdpBody {
            sdp: offer_sdp.to_owned(),
        };
        let answer: SdpBody = self
            .call(
                reqwest::Method::POST,
                &format!("{}/publish", Self::participant_path(room, participant)),
                Some(&body),
            )
            .await?;
        Ok(answer.sdp)
    }

    async fn subscribe_offer(
        &self,
        room: &str,
        participant: &str,
    ) -> Result<Option<String>, ControlError> {
        let offer: OptionalSdpBody = self
            .call(
                reqwest::Method::POST,
                &format!(
                    "{}/subscribe/offer",
                    Self::participant_path(room, participant)
                ),
                NO_BODY,
            )
            .await?;
        Ok(offer.sdp)
    }

    async fn subscribe_answer(
        &self,
        room: &str,
        participant: &str,
        answer_sdp: &str,
    ) -> Result<Option<String>, ControlError> {
        let body = SdpBody {
            sdp: answer_sdp.to_owned(),
        };
        let offer: OptionalSdpBody = self
            .call(
                reqwest::Method::POST,
                &format!(
                    "{}/subscribe/answer",
                    Self::participant_path(room, participant)
                ),
                Some(&body),
            )
            .await?;
        Ok(offer.sdp)
    }

    async fn set_forwarding(
        &self,
        room: &str,
        participant: &str,
        kind: MediaKind,
        enabled: bool,
    ) -> Result<(), ControlError> {
        self.call(
            reqwest::Method::PUT,
            &format!(
                "{}/forwarding/{kind}",
                Self::participant_path(room, participant)
            ),
            Some(&ForwardingBody { enabled }),
        )
        .await
    }

    async fn set_video_subscriptions(
        &self,
        room: &str,
        participant: &str,
        subscriptions: VideoSubscriptions,
    ) -> Result<(), ControlError> {
        self.call(
            reqwest::Method::PUT,
            &format!(
                "{}/video-subscriptions",
                Self::participant_path(room, participant)
            ),
            Some(&subscriptions),
        )
        .await
    }

    async fn active_speaker(&self, room: &str) -> Result<Option<String>, ControlError> {
        let body: ActiveSpeakerBody = self
            .call(
                reqwest::Method::GET,
                &format!("{}/active-speaker", Self::room_path(room)),
                NO_BODY,
            )
            .await?;
        Ok(body.participant)
    }

    async fn node_stats(&self) -> Result<NodeStats, ControlError> {
        self.call(reqwest::Method::GET, "/internal/v1/stats", NO_BODY)
            .await
    }
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

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_segment("room 1/a"), "room%201%2Fa");
    }
}
