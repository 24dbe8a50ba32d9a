//! Cloud recording (F-REC-1) through the Rust SDK, with the real recorder
//! in process, real media and Debian's `ffmpeg`/`ffprobe` as the judge.
//!
//! Two participants publish known test patterns made by ffmpeg — red with a
//! 440 Hz tone, blue with an 880 Hz tone — and the host records with a
//! pause in the middle, the speaker changing during the pause: two files,
//! each a WebM that ffprobe reads (one VP8, one Opus stream, the expected
//! length) and ffmpeg decodes to the end, whose picture is the speaker's
//! colour, and the tenant's webhook is told of each (`recording.ready`,
//! signed). Then "My videos": listed after a restart of signal, streamed with
//! range requests, renamed, deleted (on the recorder's volume too, when
//! signal cannot read it); and the rules: hosts only, the
//! tenant's feature switch, a deployment without a recorder, auto_record.

use crate::support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::Db;
use support::recorder::{
    RecorderProcess, WAIT, host_command, join, pattern, recording_server,
    server_for_recorder_processes, with_recorder,
};
use yunhui_client::api::ApiClient;
use yunhui_client::media::TrackKind;
use yunhui_client::meeting::MeetingSession;
use yunhui_proto::api::{CreateMeetingRequest, MeetingOptions, RecordingFileState};
use yunhui_proto::signaling::{ErrorCode, HostCommand, RecordingState};
use yunhui_testkit::media::{self, colour_at, mean_volume, probe};

async fn recording_is(session: &MeetingSession, state: RecordingState) {
    session
        .wait_until("the recording state", WAIT, |v| v.recording == state)
        .await
        .unwrap_or_else(|_| panic!("the recording never became {state:?}"));
}

/// Waits until `list` holds `n` finished files.
async fn finished_files(api: &ApiClient, n: usize) -> Vec<yunhui_proto::api::Recording> {
    let deadline = Instant::now() + WAIT;
    loop {
        let list = api.recordings(false).await.expect("list recordings");
        if list.len() == n && list.iter().all(|r| r.state == RecordingFileState::Ready) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "never {n} finished files: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `url` answers a range request with just that range.
async fn serves_ranges(url: &str) {
    let partial = reqwest::Client::new()
        .get(url)
        .header("Range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), reqwest::StatusCode::PARTIAL_CONTENT);
    assert_eq!(partial.bytes().await.unwrap().len(), 100);
}

fn file_of(dir: &Path, recording: &yunhui_proto::api::Recording) -> PathBuf {
    let url = &recording.media_url;
    assert!(url.contains("/media?key="), "{url}");
    // The file is named by the recorder; find it by size.
    std::fs::read_dir(dir)
        .expect("recordings dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() as i64 == recording.size_bytes))
        .unwrap_or_else(|| {
            panic!(
                "no file of {} bytes in {}",
                recording.size_bytes,
                dir.display()
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_records_with_a_pause_into_two_playable_files_of_the_speaker() {
    let media_dir = tempfile::tempdir().unwrap();
    let red = pattern(media_dir.path(), "red", 440);
    let blue = pattern(media_dir.path(), "blue", 880);
    let dir = tempfile::tempdir().unwrap();
    let server = recording_server(Db::Sqlite, dir.path()).await;
    // The tenant's webhook for finished recordings.
    let receiver = support::receiver::Receiver::start().await;
    let admin = server
        .signed_in_tenant(yunhui_signal::store::DEFAULT_TENANT_ID, "admin@example.com")
        .await;
    let hook = admin
        .create_webhook(
            &receiver.url("recordings"),
            &[yunhui_proto::api::WebhookEvent::RecordingReady],
        )
        .await
        .expect("create webhook");
    let (host_api, meeting) = server.meeting(None).await;
    let mut host = join(&server, &meeting, "Host", host_api.token()).await;
    let mut guest = join(&server, &meeting, "Guest", None).await;
    host.publish_files(&red).await.expect("host publishes");
    guest.publish_files(&blue).await.expect("guest publishes");
    support::pool::receives(&host, &guest.participant_id(), TrackKind::Video).await;
    support::pool::receives(&guest, &host.participant_id(), TrackKind::Video).await;

    // The host speaks first; the guest is muted.
    guest.set_audio_muted(true).unwrap();
    let host_id = host.participant_id().to_string();
    host.wait_until("the host speaking", WAIT, |v| {
        v.active_speaker.as_deref() == Some(&host_id)
    })
    .await
    .expect("the host becomes the active speaker");

    // Participants may not record.
    let refused = host_command(&guest, HostCommand::StartRecording).await;
    assert_eq!(refused.map(|e| e.0), Some(ErrorCode::NotHost));
    let refused = host_command(&host, HostCommand::PauseRecording).await;
    assert_eq!(
        refused.map(|e| e.0),
        Some(ErrorCode::InvalidInput),
        "nothing to pause yet"
    );

    assert_eq!(host_command(&host, HostCommand::StartRecording).await, None);
    recording_is(&host, RecordingState::Recording).await;
    let first_began = Instant::now();
    // Everyone sees the recording; nobody sees the recorder.
    recording_is(&guest, RecordingState::Recording).await;
    assert_eq!(
        guest.view().participants.len(),
        2,
        "{:?}",
        guest.view().participants
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(host_command(&host, HostCommand::PauseRecording).await, None);
    let first_length = first_began.elapsed();
    recording_is(&guest, RecordingState::Paused).await;

    // During the pause the guest takes over.
    host.set_audio_muted(true).unwrap();
    guest.set_audio_muted(false).unwrap();
    let guest_id = guest.participant_id().to_string();
    host.wait_until("the guest speaking", WAIT, |v| {
        v.active_speaker.as_deref() == Some(&guest_id)
    })
    .await
    .expect("the guest becomes the active speaker");
    assert_eq!(
        host_command(&host, HostCommand::ResumeRecording).await,
        None
    );
    recording_is(&host, RecordingState::Recording).await;
    let second_began = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(host_command(&host, HostCommand::StopRecording).await, None);
    let second_length = second_began.elapsed();
    recording_is(&guest, RecordingState::Off).await;

    let mut files = finished_files(&host_api, 2).await;
    files.sort_by_key(|f| f.title.len());
    assert_eq!(files[0].title, meeting.topic);
    assert_eq!(files[1].title, format!("{} (2)", meeting.topic));
    // Each finished file was told to the webhook, signed, once.
    let deadline = Instant::now() + WAIT;
    while receiver.got("recordings").len() < files.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut told: Vec<String> = (receiver.got("recordings").iter())
        .inspect(|r| assert!(support::receiver::signed_with(r, &hook.secret), "{r:#?}"))
        .inspect(|r| assert_eq!(r.event(), "recording.ready"))
        .map(|r| {
            r.json()["data"]["recording_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    told.sort();
    let mut file_ids: Vec<String> = files.iter().map(|f| f.id.clone()).collect();
    file_ids.sort();
    assert_eq!(told, file_ids, "recording.ready for each file, once");
    for (recording, expected, colour) in [
        (&files[0], first_length, "red"),
        (&files[1], second_length, "blue"),
    ] {
        let file = file_of(dir.path(), recording);
        let (streams, duration) = probe(&file);
        let duration = duration.expect("a finished file knows its duration");
        assert_eq!(
            streams,
            vec![
                ("video".to_string(), "vp8".to_string()),
                ("audio".to_string(), "opus".to_string())
            ],
            "{}",
            file.display()
        );
        assert!(
            (duration - expected.as_secs_f64()).abs() <= 1.0,
            "{}: {duration:.2} s recorded, {:.2} s expected",
            file.display(),
            expected.as_secs_f64()
        );
        assert!(
            (recording.duration_ms as f64 / 1000.0 - duration).abs() < 0.5,
            "the listed length {} ms is the file's {duration:.2} s",
            recording.duration_ms
        );
        // Decoded to the end without one error.
        if let Err(complaints) = media::decodes_cleanly(&file) {
            panic!("{} does not decode cleanly: {complaints}", file.display());
        }
        let (r, g, b) = colour_at(&file, duration / 2.0);
        let shows = match colour {
            "red" => r > 150 && g < 100 && b < 100,
            _ => b > 150 && r < 100 && g < 100,
        };
        assert!(
            shows,
            "{} shows ({r}, {g}, {b}), not the speaker's {colour}",
            file.display()
        );
        let volume = mean_volume(&file);
        assert!(volume > -40.0, "{} is silent: {volume} dB", file.display());
    }

    // "My videos" survives a restart of signal.
    host.close().await;
    guest.close().await;
    let server = server.restart().await;
    with_recorder(&server, dir.path());
    // The restarted server listens on another port: the same token there.
    let host_api = server.api().with_token(host_api.token().unwrap());
    let listed = host_api
        .recordings(false)
        .await
        .expect("list after restart");
    assert_eq!(listed.len(), 2);

    // Played with range requests by its media key, downloaded, refused with a wrong key.
    let http = reqwest::Client::new();
    let recording = &listed[0];
    serves_ranges(&recording.media_url).await;
    let whole = http.get(&recording.download_url).send().await.unwrap();
    assert_eq!(whole.status(), reqwest::StatusCode::OK);
    assert!(
        whole.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"),
        "{:?}",
        whole.headers()
    );
    assert_eq!(
        whole.bytes().await.unwrap().len() as i64,
        recording.size_bytes
    );
    let forged = recording.media_url.replace("key=", "key=0");
    assert_eq!(
        http.get(&forged).send().await.unwrap().status(),
        reqwest::StatusCode::NOT_FOUND
    );

    // Someone else sees none of it; the owner renames and deletes.
    let other = server.signed_in("other@example.com").await;
    assert!(other.recordings(false).await.unwrap().is_empty());
    assert!(other.recording(&recording.id).await.is_err());
    assert!(
        other.recordings(true).await.is_err(),
        "only administrators list the tenant's"
    );
    let err = host_api
        .rename_recording(&recording.id, "  ")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_input"));
    let renamed = host_api
        .rename_recording(&recording.id, "Weekly review")
        .await
        .unwrap();
    assert_eq!(renamed.title, "Weekly review");
    let file = file_of(dir.path(), recording);
    host_api.delete_recording(&recording.id).await.unwrap();
    assert!(!file.exists(), "the file went with the recording");
    assert_eq!(host_api.recordings(false).await.unwrap().len(), 1);
    assert_eq!(
        http.get(&recording.media_url)
            .send()
            .await
            .unwrap()
            .status(),
        reqwest::StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_needs_the_tenants_feature_and_a_recorder_and_auto_record_starts_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = recording_server(Db::Sqlite, dir.path()).await;

    // A tenant whose features leave recording off.
    let admin = server
        .signed_in_tenant("acme.corp", "admin@acme.example")
        .await;
    let meeting = admin
        .create_meeting(&CreateMeetingRequest::default())
        .await
        .unwrap();
    let host = join(&server, &meeting, "Admin", admin.token()).await;
    let refused = host_command(&host, HostCommand::StartRecording).await;
    assert_eq!(refused.map(|e| e.0), Some(ErrorCode::NotAllowed));
    host.close().await;

    // A meeting that records automatically starts when its first participant is in.
    let (host_api, _) = server.meeting(None).await;
    let meeting = host_api
        .create_meeting(&CreateMeetingRequest {
            options: Some(MeetingOptions {
                auto_record: true,
                ..MeetingOptions::default()
            }),
            ..CreateMeetingRequest::default()
        })
        .await
        .unwrap();
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    recording_is(&host, RecordingState::Recording).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Ending the meeting finishes the file.
    host.end_meeting().unwrap();
    let files = finished_files(&host_api, 1).await;
    assert!(files[0].duration_ms > 0, "{files:?}");
    host.close().await;

    // Without a recorder, starting is refused in words.
    let bare = support::start(Db::Sqlite).await;
    let (api, meeting) = bare.meeting(None).await;
    let host = join(&bare, &meeting, "Host", api.token()).await;
    let (code, message) = host_command(&host, HostCommand::StartRecording)
        .await
        .expect("refused");
    assert_eq!(code, ErrorCode::Unavailable);
    assert!(message.contains("recorder"), "{message}");
    assert_eq!(host.view().recording, RecordingState::Off);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_killed_mid_recording_leaves_a_playable_file() {
    let media_dir = tempfile::tempdir().unwrap();
    let red = pattern(media_dir.path(), "red", 440);
    // The recorder's volume, which signal cannot read (as in a cluster).
    let volume = tempfile::tempdir().unwrap();
    let key = "recording-test-internal-key";
    let server = server_for_recorder_processes(key).await;
    let mut recorder =
        RecorderProcess::start(&server.base_url, key, volume.path(), None, &[]).await;
    // The recorder's internal API wants the key.
    let refused = reqwest::Client::new()
        .post(format!("{}/internal/v1/recordings", recorder.url))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    server.app.set_record_control(Arc::new(
        yunhui_signal::recorder_client::HttpRecordControl::new(&recorder.url, key),
    ));

    let (host_api, meeting) = server.meeting(None).await;
    let mut host = join(&server, &meeting, "Host", host_api.token()).await;
    host.publish_files(&red).await.expect("host publishes");
    assert_eq!(host_command(&host, HostCommand::StartRecording).await, None);
    recording_is(&host, RecordingState::Recording).await;
    // Until the file has a few seconds in it.
    let deadline = Instant::now() + WAIT;
    loop {
        let written = std::fs::read_dir(volume.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
            .max()
            .unwrap_or(0);
        if written > 60_000 {
            break;
        }
        assert!(Instant::now() < deadline, "the recording never grew");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    recorder.child.kill().expect("SIGKILL the recorder");

    // Signal notices, shows the recording off, and keeps the file as interrupted.
    recording_is(&host, RecordingState::Off).await;
    let deadline = Instant::now() + WAIT;
    let recording = loop {
        let list = host_api.recordings(false).await.unwrap();
        if list.len() == 1 && list[0].state == RecordingFileState::Interrupted {
            break list[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "never marked interrupted: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(recording.duration_ms >= 2000, "{recording:?}");
    host.close().await;

    // The recorder comes back on its volume (a restarted pod); signal
    // streams the file from it, ranges included.
    let port = recorder.port();
    drop(recorder);
    let _recorder =
        RecorderProcess::start(&server.base_url, key, volume.path(), Some(port), &[]).await;
    serves_ranges(&recording.media_url).await;
    let whole = reqwest::get(&recording.media_url).await.unwrap();
    assert_eq!(whole.status(), reqwest::StatusCode::OK);
    let bytes = whole.bytes().await.unwrap();
    assert!(bytes.len() > 60_000, "{} bytes", bytes.len());
    // Listed with size 0 while its recorder was down; the size it serves now is kept.
    assert_eq!(recording.size_bytes, 0, "{recording:?}");
    let listed = host_api.recording(&recording.id).await.unwrap();
    assert_eq!(listed.size_bytes, bytes.len() as i64, "{listed:?}");
    let file = media_dir.path().join("interrupted.webm");
    std::fs::write(&file, &bytes).unwrap();
    let (streams, _) = probe(&file);
    assert_eq!(streams.len(), 2, "{streams:?}");
    // What was written before the kill plays: frames decode up to there.
    let frames = media::decoded_frames(&file);
    assert!(
        frames >= 30,
        "only {frames} frames decode from {}",
        file.display()
    );
    let (r, g, b) = colour_at(&file, 1.0);
    assert!(
        r > 150 && g < 100 && b < 100,
        "({r}, {g}, {b}) is not the host's red"
    );

    // Deleting the recording deletes its file on the recorder's volume,
    // which signal cannot read: through the recorder's internal API.
    let files = |dir: &Path| std::fs::read_dir(dir).unwrap().count();
    assert_eq!(files(volume.path()), 1);
    host_api.delete_recording(&recording.id).await.unwrap();
    assert_eq!(
        files(volume.path()),
        0,
        "the file stayed on the recorder's volume"
    );
    // The recorder's API wants its key and a plain file name.
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/internal/v1/files/x.webm");
    let status = client.delete(&url).send().await.unwrap().status();
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
    let status = client
        .delete(&url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
}

/// A recorder pool scaled by its jobs, its files in an S3-compatible object
/// store (a real s3s-fs server): two recorders of one job each report to
/// signal's worker table; the first meeting's job goes to one, the second's
/// to the other (the first is full, and says so with 503). The recorder of
/// the first is marked draining: it learns it from its next report, its
/// `/readyz` fails, and its recording goes on. Stopped, its file is stored
/// in the bucket (nothing stays on the recorder's volume), the recorder is
/// idle, and its process is removed; "My videos" still streams the file,
/// ranges included, through the recorder that stays, and deleting the
/// recording deletes the object. A file an earlier recorder left on its
/// volume is stored when a recorder starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_in_an_object_store_outlive_their_recorder_in_a_pool_scaled_by_jobs() {
    use yunhui_proto::worker::{WorkerList, WorkerLoad};

    let media_dir = tempfile::tempdir().unwrap();
    let red = pattern(media_dir.path(), "red", 440);
    let store = yunhui_testkit::s3::S3Server::start().await;
    let key = "recording-test-internal-key";
    let server = server_for_recorder_processes(key).await;
    // Recorder b stands for the pool's Service too, as the file's address.
    let (volume_a, volume_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(
        volume_b.path().join("left-by-a-crash-1.webm"),
        b"webm bytes",
    )
    .unwrap();
    let port_b = yunhui_testkit::free_port();
    let shared = format!("http://127.0.0.1:{port_b}");
    let recorder = |id: &'static str, volume: PathBuf, port: Option<u16>| {
        let (signal, shared) = (server.base_url.clone(), shared.clone());
        let mut env: Vec<(&str, String)> = store.recorder_env();
        env.push((yunhui_proto::env::RECORDER_SHARED_URL, shared));
        env.push((yunhui_proto::env::RECORDER_MAX_JOBS, "1".into()));
        env.push((yunhui_proto::env::NODE_ID, id.into()));
        async move {
            let env: Vec<(&str, &std::ffi::OsStr)> = env
                .iter()
                .map(|(k, v)| (*k, std::ffi::OsStr::new(v)))
                .collect();
            RecorderProcess::start(&signal, key, &volume, port, &env).await
        }
    };
    server.app.set_record_control(Arc::new(
        yunhui_signal::recorder_client::HttpRecordControl::new(&shared, key)
            .with_worker_table(server.app.store.clone()),
    ));
    let http = reqwest::Client::new();
    let table = format!("{}/internal/v1/recorders", server.base_url);
    let listed = async || -> Vec<WorkerLoad> {
        let list: WorkerList = http
            .get(&table)
            .bearer_auth(key)
            .send()
            .await
            .expect("signal answers")
            .json()
            .await
            .expect("a recorder list");
        list.workers
    };
    let jobs_on = async |id: &str| -> Option<u64> {
        listed()
            .await
            .into_iter()
            .find(|w| w.worker_id == id && w.live)
            .map(|w| w.in_progress)
    };
    let record = async || {
        let (api, meeting) = server.meeting(None).await;
        let mut host = join(&server, &meeting, "Host", api.token()).await;
        host.publish_files(&red).await.expect("host publishes");
        assert_eq!(host_command(&host, HostCommand::StartRecording).await, None);
        recording_is(&host, RecordingState::Recording).await;
        (api, host)
    };

    // Recorder a alone: the first meeting's job goes to it.
    let mut rec_a = recorder("rec-a", volume_a.path().into(), None).await;
    yunhui_testkit::wait("rec-a reporting", 20, || async {
        (jobs_on("rec-a").await == Some(0)).then_some(())
    })
    .await;
    let (api_a, host_a) = record().await;
    yunhui_testkit::wait("rec-a's job reported", 20, || async {
        (jobs_on("rec-a").await == Some(1)).then_some(())
    })
    .await;
    // Recorder b starts (the pool grew) and stores what a crash left.
    let mut rec_b = recorder("rec-b", volume_b.path().into(), Some(port_b)).await;
    yunhui_testkit::wait("rec-b reporting, the leftover stored", 20, || async {
        (jobs_on("rec-b").await == Some(0)
            && store.keys() == ["left-by-a-crash-1.webm"]
            && std::fs::read_dir(volume_b.path()).unwrap().count() == 0)
            .then_some(())
    })
    .await;
    // The second meeting's job goes to b: a is full.
    let (_api_b, host_b) = record().await;
    yunhui_testkit::wait("rec-b's job reported", 20, || async {
        (jobs_on("rec-b").await == Some(1)).then_some(())
    })
    .await;
    // A job recorder a turns away with 503, saying why.
    let turned_away = async |says: &str| {
        let refused = http
            .post(format!("{}/internal/v1/recordings", rec_a.url))
            .bearer_auth(key)
            .json(&serde_json::json!({"job_id": "j", "meeting_number": "1", "ticket": "t"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
        let text = refused.text().await.unwrap();
        assert!(text.contains(says), "{says:?} in {text}");
    };
    turned_away("as many jobs as it takes").await;

    // Recorder a is marked draining (the operator scales the pool down):
    // it learns so, and its recording goes on.
    let marked = http
        .post(format!("{table}/rec-a/drain"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(marked.status(), reqwest::StatusCode::OK);
    yunhui_testkit::wait("rec-a draining on its own report", 20, || async {
        let ready = reqwest::get(format!("{}/readyz", rec_a.url)).await.ok()?;
        (ready.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE).then_some(())
    })
    .await;
    let a = listed()
        .await
        .into_iter()
        .find(|w| w.worker_id == "rec-a")
        .unwrap();
    assert!(a.draining && a.in_progress == 1, "{a:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        host_a.view().recording,
        RecordingState::Recording,
        "it goes on"
    );
    turned_away("draining").await;

    // The recording ends: its file is stored, and the recorder is idle.
    assert_eq!(
        host_command(&host_a, HostCommand::StopRecording).await,
        None
    );
    recording_is(&host_a, RecordingState::Off).await;
    yunhui_testkit::wait("rec-a idle", 20, || async {
        (jobs_on("rec-a").await == Some(0)).then_some(())
    })
    .await;
    let api = &api_a;
    let recording = finished_files(api, 1).await.remove(0);
    assert!(recording.duration_ms > 0, "{recording:?}");
    assert_eq!(
        std::fs::read_dir(volume_a.path()).unwrap().count(),
        0,
        "nothing stays on the drained recorder's volume"
    );
    let keys = store.keys();
    assert_eq!(keys.len(), 2, "the leftover and the recording: {keys:?}");
    // Its pod is removed; the file is still there, served by the other.
    rec_a.child.kill().expect("remove rec-a");
    serves_ranges(&recording.media_url).await;
    let whole = reqwest::get(&recording.media_url).await.unwrap();
    assert_eq!(whole.status(), reqwest::StatusCode::OK);
    let bytes = whole.bytes().await.unwrap();
    assert_eq!(bytes.len() as i64, recording.size_bytes, "{recording:?}");
    let file = media_dir.path().join("stored.webm");
    std::fs::write(&file, &bytes).unwrap();
    let (streams, _) = probe(&file);
    assert_eq!(streams.len(), 2, "{streams:?}");

    // Deleting the recording deletes the object.
    api.delete_recording(&recording.id).await.unwrap();
    assert_eq!(store.keys(), ["left-by-a-crash-1.webm"]);
    host_a.close().await;

    // SIGTERM to recorder b while it records (its pod is stopping): it
    // drains, its recording goes on, and it stops by itself once the
    // recording has ended and its file is stored.
    let sigterm = std::process::Command::new("kill")
        .args(["-TERM", &rec_b.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sigterm.success());
    yunhui_testkit::wait("rec-b draining on SIGTERM", 20, || async {
        let ready = reqwest::get(format!("{}/readyz", rec_b.url)).await.ok()?;
        (ready.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        host_b.view().recording,
        RecordingState::Recording,
        "it goes on"
    );
    assert!(
        rec_b.child.try_wait().unwrap().is_none(),
        "rec-b waits for its job"
    );
    assert_eq!(
        host_command(&host_b, HostCommand::StopRecording).await,
        None
    );
    recording_is(&host_b, RecordingState::Off).await;
    let deadline = Instant::now() + WAIT;
    while rec_b.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "rec-b never stopped by itself");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.keys().len(), 2, "its file stored before it stopped");
    host_b.close().await;
}
