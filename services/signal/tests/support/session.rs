//! What tests ask of an SDK participant: that a message is refused or
//! accepted, that its view of the meeting comes to hold something, and
//! whether media from someone arrives or has stopped; and of a signed-in
//! account's listening socket, that an invitation rings on it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use yunhui_client::media::{ReceivedTrack, SyntheticMedia, TrackKind};
use yunhui_client::meeting::{JoinOptions, MeetingSession, MeetingView};
use yunhui_client::signaling::SignalingClient;
use yunhui_proto::api::Meeting;
use yunhui_proto::signaling::{ClientMessage, ErrorCode, HostCommand, ServerMessage};

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

/// `command` as the message a host sends.
pub fn host_command(command: HostCommand) -> ClientMessage {
    ClientMessage::Host { command }
}

/// Waits up to [`MEDIA_WAIT`] until `session`'s view of the meeting
/// passes `check`; panics naming `what` otherwise.
pub async fn until(
    session: &MeetingSession,
    what: &'static str,
    check: impl Fn(&MeetingView) -> bool,
) {
    session
        .wait_until(what, MEDIA_WAIT, check)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Light synthetic media sent at `audio_level` (-dBov): tests with many
/// publishers run on two cores.
pub fn light_media(audio_level: u8) -> SyntheticMedia {
    SyntheticMedia {
        audio_level,
        video_bitrate: 100_000,
        video_fps: 10,
        ..SyntheticMedia::default()
    }
}

/// How long audio received from a publisher is measured.
pub const AUDIO_WINDOW: Duration = Duration::from_millis(1500);
/// Audio bytes in one [`AUDIO_WINDOW`] that count as hearing someone (50
/// packets a second of 80 bytes make 6,000).
const HEARD_BYTES: u64 = 2_000;

/// Audio bytes `listener` receives from each of `publishers` during one
/// [`AUDIO_WINDOW`], measured side by side.
pub async fn audio_heard(listener: &MeetingSession, publishers: &[&str]) -> HashMap<String, u64> {
    let bytes = |id: &str| {
        listener
            .subscriber()
            .track(id, TrackKind::Audio)
            .map_or(0, |t| t.bytes())
    };
    let before: Vec<u64> = publishers.iter().map(|id| bytes(id)).collect();
    tokio::time::sleep(AUDIO_WINDOW).await;
    publishers
        .iter()
        .zip(before)
        .map(|(id, before)| (id.to_string(), bytes(id) - before))
        .collect()
}

/// Waits until `listener` receives audio from exactly `heard` among
/// `everyone` (a change takes a renegotiation, and packets in flight
/// drain); panics with the last measurement otherwise.
pub async fn hears_only(who: &str, listener: &MeetingSession, everyone: &[&str], heard: &[&str]) {
    let deadline = tokio::time::Instant::now() + MEDIA_WAIT;
    let me = listener.participant_id();
    let others: Vec<&str> = everyone.iter().copied().filter(|id| *id != me).collect();
    loop {
        let measured = audio_heard(listener, &others).await;
        let right = others.iter().all(|id| {
            let got = measured[*id];
            if heard.contains(id) {
                got > HEARD_BYTES
            } else {
                got == 0
            }
        });
        if right {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{who} should hear only {heard:?}; audio bytes in {AUDIO_WINDOW:?}: {measured:?}"
        );
    }
}

/// Waits until whether `listener` hears `publisher` is `expected`; panics
/// otherwise.
pub async fn hears(who: &str, listener: &MeetingSession, publisher: &str, expected: bool) {
    let deadline = tokio::time::Instant::now() + MEDIA_WAIT;
    loop {
        let got = audio_heard(listener, &[publisher]).await[publisher];
        if (expected && got > HEARD_BYTES) || (!expected && got == 0) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{who}: audio from {publisher} {} ({got} bytes in {AUDIO_WINDOW:?})",
            if expected {
                "never came"
            } else {
                "never stopped"
            }
        );
    }
}

/// A signed-in account's listening socket at `base_url` (where its
/// invitations ring), once the server confirmed it.
pub async fn listening(base_url: &str, token: &str) -> SignalingClient {
    let (mut socket, _) = SignalingClient::connect(base_url).await.unwrap();
    socket
        .send(&ClientMessage::Listen {
            token: token.into(),
        })
        .await
        .unwrap();
    socket
        .recv_until(MEDIA_WAIT, |m| {
            matches!(m, ServerMessage::Listening { .. }).then_some(())
        })
        .await
        .unwrap();
    socket
}

/// The next invitation ringing on `socket`: its call id and join key.
pub async fn incoming_call(socket: &mut SignalingClient) -> (String, String) {
    socket
        .recv_until(MEDIA_WAIT, |m| match m {
            ServerMessage::IncomingCall {
                call_id, link_key, ..
            } => Some((call_id.clone(), link_key.clone())),
            _ => None,
        })
        .await
        .expect("the invitation rings")
}
