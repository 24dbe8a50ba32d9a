//! What the tests of several SFU nodes or several signal replicas share: a
//! host and a meeting with the password "4321", joining it from any base
//! URL, light media, and waiting for media to arrive.

use std::time::Duration;

use yunhui_client::api::ApiClient;
use yunhui_client::media::{SyntheticMedia, TrackKind};
use yunhui_client::meeting::{JoinOptions, MeetingSession, SessionError};
use yunhui_proto::api::{CreateMeetingRequest, Meeting, RegisterRequest};

use super::PASSWORD;

/// The password of every meeting made by [`meeting`].
pub const MEETING_PASSWORD: &str = "4321";

/// How long a participant waits for media.
const WAIT: Duration = Duration::from_secs(20);

/// Registers `host@example.com` at `base_url` and signs it in.
pub async fn host(base_url: &str) -> ApiClient {
    let mut api = ApiClient::new(base_url);
    api.register(&RegisterRequest {
        email: Some("host@example.com".into()),
        phone: None,
        password: PASSWORD.into(),
        display_name: "Host".into(),
        tenant_id: None,
    })
    .await
    .unwrap();
    api.login("host@example.com", PASSWORD).await.unwrap();
    api
}

/// A meeting of `host` with [`MEETING_PASSWORD`].
pub async fn meeting(host: &ApiClient) -> Meeting {
    host.create_meeting(&CreateMeetingRequest {
        password: Some(MEETING_PASSWORD.into()),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Joins `meeting` through the service at `base_url`, media on loopback.
pub async fn join(
    base_url: &str,
    meeting: &Meeting,
    name: &str,
    token: Option<&str>,
) -> Result<MeetingSession, SessionError> {
    MeetingSession::join(
        base_url,
        JoinOptions {
            meeting_number: meeting.number.clone(),
            display_name: name.into(),
            password: Some(MEETING_PASSWORD.into()),
            token: token.map(String::from),
            media_bind: Some("127.0.0.1:0".into()),
            ..JoinOptions::default()
        },
    )
    .await
}

/// Light media, so twenty participants fit on a small machine.
pub fn light_media() -> SyntheticMedia {
    SyntheticMedia {
        video_bitrate: 100_000,
        video_fps: 10,
        ..SyntheticMedia::default()
    }
}

/// Waits until `session` keeps receiving `kind` from `publisher`.
pub async fn receives(session: &MeetingSession, publisher: &str, kind: TrackKind) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(track) = session.subscriber().track(publisher, kind)
            && track.packets() > 5
            && track.bytes() > 0
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} never received {kind:?} from {publisher}",
            session.participant_id()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
