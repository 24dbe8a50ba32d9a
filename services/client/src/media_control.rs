//! [`HttpControl`]: the media-control interface
//! ([`yunhui_proto::media::MediaControl`]) over the internal HTTP API of an
//! SFU node in another pod (`/internal/v1/...`, Bearer internal key). Signal
//! uses it against every SFU node; it needs no WebRTC, so it is built without
//! the `media` feature.

use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use yunhui_proto::media::{
    ActiveSpeakerBody, ControlError, ForwardingBody, MediaControl, MediaKind, NodeStats,
    OptionalSdpBody, Routing, SdpBody, VideoSubscriptions,
};

/// How long a failed request waits before its one retry.
const RETRY_AFTER: Duration = Duration::from_millis(100);

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
        let url = format!("{}{}", self.base_url, path);
        let send = || {
            let mut request = self
                .client
                .request(method.clone(), &url)
                .bearer_auth(&self.key);
            if let Some(body) = body {
                request = request.json(body);
            }
            request.send()
        };
        // A kept-alive connection to a node that has just restarted (a new
        // pod behind the same Service) fails at once; the request is sent
        // once more, on a new connection, before the call fails.
        let response = match send().await {
            Ok(response) => response,
            Err(first) if first.is_connect() || first.is_request() => {
                tracing::debug!(error = %first, %url, "SFU request failed; trying a new connection");
                tokio::time::sleep(RETRY_AFTER).await;
                send().await.map_err(|err| ControlError::Transport {
                    reason: err.to_string(),
                })?
            }
            Err(err) => {
                return Err(ControlError::Transport {
                    reason: err.to_string(),
                });
            }
        };
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

    async fn set_routing(
        &self,
        room: &str,
        participant: &str,
        routing: Routing,
    ) -> Result<(), ControlError> {
        self.call(
            reqwest::Method::PUT,
            &format!("{}/routing", Self::participant_path(room, participant)),
            Some(&routing),
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
    fn path_segments_are_encoded() {
        assert_eq!(encode_segment("room 1/a"), "room%201%2Fa");
    }

    #[test]
    fn paths_name_the_room_and_participant() {
        assert_eq!(
            HttpControl::participant_path("r 1", "p/2"),
            "/internal/v1/rooms/r%201/participants/p%2F2"
        );
    }
}
