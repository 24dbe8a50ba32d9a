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
//! malformed address or key, and a cloud room only once a tenant
//! administrator allowed it.

use crate::support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use support::Db;
use support::recorder::{
    RecorderProcess, WAIT, host_command, join, pattern, recording_server,
    server_for_recorder_processes,
};
use yunhui_client::media::TrackKind;
use yunhui_client::meeting::MeetingSession;
use yunhui_proto::api::{CloudRoomStreaming, CreateMeetingRequest, MeetingOptions};
use yunhui_proto::schedule::CloudRoomRequest;
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

/// A meeting whose settings allow live streaming.
fn streamed() -> CreateMeetingRequest {
    CreateMeetingRequest {
        options: Some(MeetingOptions {
            live_streaming: true,
            ..MeetingOptions::default()
        }),
        ..CreateMeetingRequest::default()
    }
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
    let meeting = host_api.create_meeting(&streamed()).await.unwrap();
    let mut host = join(&server, &meeting, "Host", host_api.token()).await;
    let mut guest = join(&server, &meeting, "Guest", None).await;
    host.publish_files(&red).await.expect("host publishes");
    guest.publish_files(&blue).await.expect("guest publishes");
    support::pool::receives(&host, &guest.participant_id(), TrackKind::Video).await;

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
    let meeting = admin.create_meeting(&streamed()).await.unwrap();
    let host = join(&server, &meeting, "Admin", admin.token()).await;
    let (code, message) = host_command(&host, start(&rtmp.push_url(), KEY))
        .await
        .expect("refused");
    assert_eq!(code, ErrorCode::NotAllowed);
    assert!(message.contains("features"), "{message}");
    assert_eq!(host.view().streaming.state, StreamingState::Off);
    assert!(rtmp.publishing().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_room_streams_once_a_tenant_administrator_allows_it() {
    let rtmp = RtmpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let server = recording_server(Db::Sqlite, dir.path()).await;
    // A tenant that may stream, with an administrator and a room owner.
    let key = server.app.config.internal_key.clone().unwrap();
    let created = reqwest::Client::new()
        .put(format!(
            "{}/internal/v1/tenants/studio.example",
            server.base_url
        ))
        .bearer_auth(&key)
        .json(&serde_json::json!({
            "displayName": "Studio",
            "licence": {"concurrentPorts": 10},
            "features": {"streaming": true},
        }))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let admin = server
        .signed_in_tenant("studio.example", "admin@studio.example")
        .await;
    let owner = server
        .signed_in_tenant("studio.example", "owner@studio.example")
        .await;
    // The owner is a member, not an administrator.
    let owner_id = owner.me().await.unwrap().id;
    let demoted = reqwest::Client::new()
        .put(format!(
            "{}/api/v1/admin/accounts/{owner_id}/role",
            server.base_url
        ))
        .bearer_auth(admin.token().unwrap())
        .json(&serde_json::json!({"role": "member"}))
        .send()
        .await
        .unwrap();
    assert!(demoted.status().is_success(), "{}", demoted.status());
    let room = owner
        .create_cloud_room(&CloudRoomRequest {
            name: Some("Studio A".into()),
            // The room's own setting does not decide for a cloud room.
            options: Some(MeetingOptions {
                live_streaming: true,
                ..MeetingOptions::default()
            }),
            ..CloudRoomRequest::default()
        })
        .await
        .unwrap();
    let id = room.meeting.id.clone();
    let host = join(&server, &room.meeting, "Owner", owner.token()).await;
    let (code, message) = host_command(&host, start(&rtmp.push_url(), KEY))
        .await
        .expect("refused");
    assert_eq!(code, ErrorCode::NotAllowed);
    assert!(message.contains("administrator"), "{message}");

    let http = reqwest::Client::new();
    let admin_api = |path: &str| format!("{}/api/v1/admin/{path}", server.base_url);
    // Only administrators manage it, and only their tenant's rooms.
    let as_owner = http
        .put(admin_api(&format!("cloud-rooms/{id}/streaming")))
        .bearer_auth(owner.token().unwrap())
        .json(&serde_json::json!({"allowed": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(as_owner.status(), reqwest::StatusCode::FORBIDDEN);
    let outsider = server
        .signed_in_tenant("acme.corp", "admin@acme.example")
        .await;
    let elsewhere = http
        .put(admin_api(&format!("cloud-rooms/{id}/streaming")))
        .bearer_auth(outsider.token().unwrap())
        .json(&serde_json::json!({"allowed": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), reqwest::StatusCode::NOT_FOUND);
    let malformed = http
        .put(admin_api(&format!("cloud-rooms/{id}/streaming")))
        .bearer_auth(admin.token().unwrap())
        .json(&serde_json::json!({"allowed": "yes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), reqwest::StatusCode::BAD_REQUEST);

    let listed: Vec<CloudRoomStreaming> = http
        .get(admin_api("cloud-rooms"))
        .bearer_auth(admin.token().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].room_id, id);
    assert_eq!(listed[0].name, "Studio A");
    assert!(!listed[0].streaming_allowed);
    let allowed: CloudRoomStreaming = http
        .put(admin_api(&format!("cloud-rooms/{id}/streaming")))
        .bearer_auth(admin.token().unwrap())
        .json(&serde_json::json!({"allowed": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(allowed.streaming_allowed);

    // Now the room's host streams it.
    assert_eq!(
        host_command(&host, start(&rtmp.push_url(), KEY)).await,
        None
    );
    streaming_is(&host, StreamingState::Live).await;
    rtmp.wait_publishing(KEY, true, WAIT).await;
    assert_eq!(host_command(&host, HostCommand::StopStreaming).await, None);
    rtmp.wait_publishing(KEY, false, Duration::from_secs(10))
        .await;
    host.close().await;
}

/// A CA, and a certificate for `localhost` it signed, as PEM files in `dir`:
/// (CA, certificate, key).
fn localhost_certificate(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtmps_goes_by_name_through_the_recorders_tls_which_checks_the_certificate() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key_file) = localhost_certificate(certs.path());
    let rtmp = RtmpServer::start_tls(&cert, &key_file);
    let tls_port = rtmp.tls_port.unwrap();
    // The recorder as a process of its own (as in a recorder pod), trusting
    // the service's CA through SSL_CERT_FILE.
    let key = "streaming-test-internal-key";
    let server = server_for_recorder_processes(key).await;
    let volume = tempfile::tempdir().unwrap();
    let recorder = RecorderProcess::start(
        &server.base_url,
        key,
        volume.path(),
        None,
        &[("SSL_CERT_FILE", ca.as_os_str())],
    )
    .await;
    server.app.set_record_control(Arc::new(
        yunhui_signal::recorder_client::HttpRecordControl::new(&recorder.url, key),
    ));
    let media_dir = tempfile::tempdir().unwrap();
    let red = pattern(media_dir.path(), "red", 440);
    let (host_api, _) = server.meeting(None).await;
    let meeting = host_api.create_meeting(&streamed()).await.unwrap();
    let mut host = join(&server, &meeting, "Host", host_api.token()).await;
    host.publish_files(&red).await.expect("host publishes");

    // By an address the certificate does not name: refused by the TLS
    // check, reported, retried.
    let wrong_name = format!("rtmps://127.0.0.1:{tls_port}/live");
    assert_eq!(host_command(&host, start(&wrong_name, KEY)).await, None);
    host.wait_until("the TLS failure reported", WAIT, |v| {
        v.errors
            .iter()
            .any(|(_, m)| m.contains("interrupted") && m.contains("TLS with 127.0.0.1"))
    })
    .await
    .unwrap_or_else(|_| panic!("no TLS failure reported: {:?}", host.view().errors));
    assert!(rtmp.publishing().await.is_empty());
    assert_eq!(host_command(&host, HostCommand::StopStreaming).await, None);
    streaming_is(&host, StreamingState::Off).await;

    // By its name: resolved by the recorder, TLS checked against the CA.
    let by_name = format!("rtmps://localhost:{tls_port}/live");
    assert_eq!(host_command(&host, start(&by_name, KEY)).await, None);
    streaming_is(&host, StreamingState::Live).await;
    rtmp.wait_publishing(KEY, true, WAIT).await;
    let streams = codecs(&rtmp, KEY).await;
    assert!(
        streams.contains(&("video".into(), "h264".into())),
        "{streams:?}"
    );
    assert_eq!(host_command(&host, HostCommand::StopStreaming).await, None);
    rtmp.wait_publishing(KEY, false, Duration::from_secs(10))
        .await;
    host.close().await;
}
