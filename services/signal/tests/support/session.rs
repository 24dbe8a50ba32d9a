//! What tests ask of an SDK participant: that a message is refused or
//! accepted, and whether media from someone arrives or has stopped.

use std::sync::Arc;
use std::time::Duration;

use yunhui_client::media::{ReceivedTrack, TrackKind};
use yunhui_client::meeting::{JoinOptions, MeetingSession};
use yunhui_proto::api::Meeting;
use yunhui_proto::signaling::{ClientMessage, ErrorCode};

use super::Server;

/// How long media may take to arrive.
pub const MEDIA_WAIT: Duration = Duration::from_secs(15);
/// How long to wait for an error that should come (or to be sure none does).
pub const ANSWER: Duration = Duration::from_secs(3);

/// How `name` (signed in with `token`, or a guest) joins `meeting`: with its
/// password, media on loopback, waiting up to [`MEDIA_WAIT`] to be let in.
pub fn join_options(meeting: &Meeting, name: &str, token: Option<&str>) -> JoinOptions {
    JoinOptions {
        meeting_number: meeting.number.clone(),
        display_name: name.into(),
        password: meeting.password.clone(),
        token: token.map(String::from),
        media_bind: Some("127.0.0.1:0".into()),
        admission_timeout: Some(MEDIA_WAIT),
        ..JoinOptions::default()
    }
}

/// `name` joins `meeting` (see [`join_options`]); panics if they cannot.
pub async fn join(
    server: &Server,
    meeting: &Meeting,
    name: &str,
    token: Option<&str>,
) -> MeetingSession {
    MeetingSession::join(&server.base_url, join_options(meeting, name, token))
        .await
        .unwrap_or_else(|e| panic!("{name} could not join: {e}"))
}

/// Sends `message` and returns the refusal's text, which must have `code`.
pub async fn expect_error(
    session: &MeetingSession,
    message: ClientMessage,
    code: ErrorCode,
) -> String {
    match session.request(message.clone(), ANSWER).await.unwrap() {
        Some((got, text)) => {
            assert_eq!(got, code, "{message:?} answered {got:?}: {text}");
            text
        }
        None => panic!("{message:?} was not refused (expected {code:?})"),
    }
}

/// Sends `message` and checks that no refusal comes.
pub async fn expect_accepted(session: &MeetingSession, message: ClientMessage) {
    if let Some((code, text)) = session
        .request(message.clone(), Duration::from_millis(700))
        .await
        .unwrap()
    {
        panic!("{message:?} was refused: {code:?}: {text}");
    }
}

/// Waits until `session` receives `kind` from `publisher` and packets keep coming.
pub async fn receiving(
    session: &MeetingSession,
    publisher: &str,
    kind: TrackKind,
) -> Arc<ReceivedTrack> {
    let deadline = tokio::time::Instant::now() + MEDIA_WAIT;
    loop {
        if let Some(track) = session.subscriber().track(publisher, kind)
            && track.packets() > 10
        {
            return track;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} never received {kind:?} from {publisher}",
            session.participant_id()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `track` received packets during `window`.
pub async fn grows(track: &ReceivedTrack, window: Duration) -> bool {
    let before = track.packets();
    tokio::time::sleep(window).await;
    track.packets() > before
}

/// Waits (a little) for packets in flight to drain, then whether the track
/// still grows.
pub async fn stopped(track: &ReceivedTrack) -> bool {
    tokio::time::sleep(Duration::from_millis(500)).await;
    !grows(track, Duration::from_millis(1200)).await
}
