//! Live streaming (F-REC-2) through the Rust SDK, with the real recorder in
//! process running Debian's ffmpeg, pushing to Debian's nginx with
//! `libnginx-mod-rtmp` on loopback, and ffprobe reading the stream back.
//!
//! Two participants publish test patterns; the host streams the meeting:
//! everyone sees it go live with the watch address, nginx publishes it,
//! ffprobe reads H.264 and AAC from it. nginx is then stopped and started
//! again: the stream shows `reconnecting`, the host is told, and it goes
//! live again by itself. Stopping ends the stream at nginx. The rules:
//! hosts only, the tenant's feature switch, the meeting's setting, a
//! malformed address or key.

mod support;

use std::time::Duration;

use support::Db;
use support::recorder::{WAIT, host_command, join, pattern, recording_server};
use yunhui_client::media::TrackKind;
use yunhui_client::meeting::MeetingSession;
use yunhui_proto::api::{CreateMeetingRequest, MeetingOptions};
use yunhui_proto::signaling::{ErrorCode, HostCommand, StreamingState};
use yunhui_testkit::rtmp::RtmpServer;

const KEY: &str = "weekly-sync-7f3a";
const WATCH: &str = "https://live.example.com/watch/weekly-sync";

async fn streaming_is(session: &MeetingSession, state: StreamingState) {
    session
        .wait_until("the streaming state", WAIT, |v| v.streaming.state == state)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the stream never became {state:?}: {:?}",
                session.view().streaming
            )
        });
}

fn start(push_url: &str, key: &str) -> HostCommand {
    HostCommand::StartStreaming {
        push_url: push_url.into(),
        stream_key: key.into(),
        watch_url: Some(WATCH.into()),
    }
}

/// ffprobe on the stream as nginx serves it (blocking, so off the runtime
/// the recorder runs on).
async fn codecs(rtmp: &RtmpServer, name: &str) -> Vec<(String, String)> {
    tokio::task::block_in_place(|| rtmp.probe(name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_streams_the_meeting_as_h264_and_aac_and_a_lost_connection_comes_back() {
    let mut rtmp = RtmpServer::start();
    let media_dir = tempfile::tempdir().unwrap();
    let red = pattern(media_dir.path(), "red", 440);
    let blue = pattern(media_dir.path(), "blue", 880);
    let dir = tempfile::tempdir().unwrap();
    let server = recording_server(Db::Sqlite, dir.path()).await;
    let (host_api, _) = server.meeting(None).await;
    let meeting = host_api
        .create_meeting(&CreateMeetingRequest {
            options: Some(MeetingOptions {
                live_streaming: true,
                ..MeetingOptions::default()
            }),
            ..CreateMeetingRequest::default()
        })
        .await
        .unwrap();
    let mut host = join(&server, &meeting, "Host", host_api.token()).await;
    let mut guest = join(&server, &meeting, "Guest", None).await;
    host.publish_files(&red).await.expect("host publishes");
    guest.publish_files(&blue).await.expect("guest publishes");
    support::pool::receives(&host, guest.participant_id(), TrackKind::Video).await;

    // Participants may not stream; bad addresses and keys are refused in words.
    let refused = host_command(&guest, start(&rtmp.push_url(), KEY)).await;
    assert_eq!(refused.map(|e| e.0), Some(ErrorCode::NotHost));
    for (url, key, words) in [
        ("http://127.0.0.1/live", KEY, "rtmp://"),
        (rtmp.push_url().as_str(), "", "stream key"),
        (rtmp.push_url().as_str(), "a key", "stream key"),
    ] {
        let (code, message) = host_command(&host, start(url, key)).await.expect("refused");
        assert_eq!(code, ErrorCode::InvalidInput, "{message}");
        assert!(message.contains(words), "{message}");
    }
    let refused = host_command(&host, HostCommand::StopStreaming).await;
    assert_eq!(
        refused.map(|e| e.0),
        Some(ErrorCode::InvalidInput),
        "nothing to stop"
    );
    assert_eq!(host.view().streaming.state, StreamingState::Off);

    // The host goes live: everyone sees it, with the watch address.
    assert_eq!(
        host_command(&host, start(&rtmp.push_url(), KEY)).await,
        None
    );
    streaming_is(&guest, StreamingState::Live).await;
    assert_eq!(guest.view().streaming.watch_url.as_deref(), Some(WATCH));
    assert_eq!(
        guest.view().participants.len(),
        2,
        "the streaming recorder is in nobody's list"
    );
    let refused = host_command(&host, start(&rtmp.push_url(), KEY)).await;
    assert_eq!(
        refused.map(|e| e.0),
        Some(ErrorCode::InvalidInput),
        "already live"
    );
    rtmp.wait_publishing(KEY, true, WAIT).await;
    let streams = codecs(&rtmp, KEY).await;
    assert!(
        streams.contains(&("video".into(), "h264".into())),
        "{streams:?}"
    );
    assert!(
        streams.contains(&("audio".into(), "aac".into())),
        "{streams:?}"
    );
    assert_eq!(streams.len(), 2, "{streams:?}");

    // The service goes away: the stream is retried, and the host told.
    rtmp.stop();
    streaming_is(&guest, StreamingState::Reconnecting).await;
    host.wait_until("the host told of the interruption", WAIT, |v| {
        v.errors
            .iter()
            .any(|(code, m)| *code == ErrorCode::Unavailable && m.contains("interrupted"))
    })
    .await
    .expect("the host is told the stream broke off");
    let errors = host.view().errors;
    assert!(
        !errors.iter().any(|(_, m)| m.contains(KEY)),
        "the stream key leaked: {errors:?}"
    );
    assert!(
        !guest
            .view()
            .errors
            .iter()
            .any(|(_, m)| m.contains("interrupted")),
        "only hosts are told: {:?}",
        guest.view().errors
    );
    rtmp.resume();
    streaming_is(&guest, StreamingState::Live).await;
    rtmp.wait_publishing(KEY, true, WAIT).await;

    // Stopping ends the stream at the service.
    assert_eq!(host_command(&host, HostCommand::StopStreaming).await, None);
    streaming_is(&guest, StreamingState::Off).await;
    assert_eq!(guest.view().streaming.watch_url, None);
    rtmp.wait_publishing(KEY, false, Duration::from_secs(10))
        .await;
    host.close().await;
    guest.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_needs_the_tenants_feature_and_the_meetings_setting() {
    let rtmp = RtmpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let server = recording_server(Db::Sqlite, dir.path()).await;

    // The meeting's settings leave streaming off.
    let (host_api, meeting) = server.meeting(None).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let (code, message) = host_command(&host, start(&rtmp.push_url(), KEY))
        .await
        .expect("refused");
    assert_eq!(code, ErrorCode::NotAllowed);
    assert!(message.contains("settings"), "{message}");
    host.close().await;

    // A tenant whose features leave streaming off.
    let admin = server
        .signed_in_tenant("acme.corp", "admin@acme.example")
        .await;
    let meeting = admin
        .create_meeting(&CreateMeetingRequest {
            options: Some(MeetingOptions {
                live_streaming: true,
                ..MeetingOptions::default()
            }),
            ..CreateMeetingRequest::default()
        })
        .await
        .unwrap();
    let host = join(&server, &meeting, "Admin", admin.token()).await;
    let (code, message) = host_command(&host, start(&rtmp.push_url(), KEY))
        .await
        .expect("refused");
    assert_eq!(code, ErrorCode::NotAllowed);
    assert!(message.contains("features"), "{message}");
    assert_eq!(host.view().streaming.state, StreamingState::Off);
    assert!(rtmp.publishing().await.is_empty());
}
