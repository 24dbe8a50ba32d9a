//! Meetings with a recorder: the in-process recorder of `yunhui up`, SDK
//! participants publishing known test patterns, host commands.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use yunhui_client::media::FileMedia;
use yunhui_client::meeting::{JoinOptions, MeetingSession};
use yunhui_proto::api::Meeting;
use yunhui_proto::signaling::{ClientMessage, ErrorCode, HostCommand};
use yunhui_recorder::{Recorder, RecorderConfig};
use yunhui_signal::SignalConfig;
use yunhui_testkit::media;

use super::{Db, Server};

/// How long a state change may take to show.
pub const WAIT: Duration = Duration::from_secs(20);

/// A participant's test pattern: a solid colour and a tone.
pub fn pattern(dir: &Path, colour: &str, hz: u32) -> FileMedia {
    let source = format!("color=c={colour}:s=320x240:r=15:d=4");
    FileMedia {
        ivf: media::vp8_clip(dir, colour, &source, "200k", 15),
        ogg: media::opus_tone(dir, hz, 4),
        audio_level: 20,
    }
}

/// A server on SQLite with the internal `key` a recorder process of its
/// own takes (signal cannot read that recorder's volume, as in a cluster).
pub async fn server_for_recorder_processes(key: &str) -> Server {
    let config = SignalConfig {
        internal_key: Some(key.into()),
        ..SignalConfig::default()
    };
    super::start_with(Db::Sqlite, config).await
}

/// A server whose meetings can be recorded into `dir`.
pub async fn recording_server(db: Db, dir: &Path) -> Server {
    let config = SignalConfig {
        recordings_dir: Some(dir.to_path_buf()),
        internal_key: Some("recording-test-internal-key".into()),
        ..SignalConfig::default()
    };
    let server = super::start_with(db, config).await;
    with_recorder(&server, dir);
    server
}

pub fn with_recorder(server: &Server, dir: &Path) {
    let recorder = Recorder::new(RecorderConfig {
        signal_url: server.base_url.clone(),
        dir: dir.to_path_buf(),
        media_bind: "127.0.0.1:0".into(),
        advertise_url: None,
        ffmpeg: yunhui_recorder::ffmpeg_from_env(),
        storage: None,
        shared_url: None,
        max_jobs: None,
    })
    .expect("recorder");
    server.app.set_record_control(Arc::new(recorder));
}

pub async fn join(
    server: &Server,
    meeting: &Meeting,
    name: &str,
    token: Option<&str>,
) -> MeetingSession {
    MeetingSession::join(
        &server.base_url,
        JoinOptions {
            meeting_number: meeting.number.clone(),
            display_name: name.into(),
            token: token.map(String::from),
            media_bind: Some("127.0.0.1:0".into()),
            ..JoinOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{name} could not join: {e}"))
}

pub async fn host_command(
    session: &MeetingSession,
    command: HostCommand,
) -> Option<(ErrorCode, String)> {
    session
        .request(ClientMessage::Host { command }, Duration::from_millis(500))
        .await
        .expect("socket open")
}

/// A `yunhui-recorder` process, as in a cluster's recorder pool.
pub struct RecorderProcess {
    pub child: std::process::Child,
    pub url: String,
}

impl RecorderProcess {
    /// Starts a recorder on `port` (a free one when `None`) that tells
    /// signal to fetch its files from it, as a recorder pod does.
    /// `envs` are set in its environment.
    pub async fn start(
        signal_url: &str,
        key: &str,
        dir: &Path,
        port: Option<u16>,
        envs: &[(&str, &std::ffi::OsStr)],
    ) -> RecorderProcess {
        let port = port.unwrap_or_else(yunhui_testkit::processes::free_port);
        let url = format!("http://127.0.0.1:{port}");
        let child = Command::new(yunhui_testkit::processes::service_binary("yunhui-recorder"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--signal-url", signal_url, "--internal-key", key])
            .args(["--media-bind", "127.0.0.1:0", "--advertise-url", &url])
            .arg("--dir")
            .arg(dir)
            .envs(envs.iter().copied())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start yunhui-recorder");
        let deadline = Instant::now() + WAIT;
        while reqwest::get(format!("{url}/healthz")).await.is_err() {
            assert!(Instant::now() < deadline, "the recorder never answered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        RecorderProcess { child, url }
    }

    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }
}

impl Drop for RecorderProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
