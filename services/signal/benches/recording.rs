//! Recorder benchmark: CPU-seconds per recorded meeting-minute, and how many
//! meetings one core records at once; with `--stream`, the same for live
//! streams (the recorder and its ffmpeg children, transcoding to 720p H.264
//! and AAC and pushing to Debian's nginx-rtmp on loopback).
//!
//! Signal and the SFU run in this process; the recorder is the
//! `yunhui-recorder` binary in a process of its own (as in a cluster's
//! recorder pool), so its CPU time is read from its own `/proc/<pid>/stat`.
//! Each meeting has two participants publishing real media made by ffmpeg:
//! VP8 720p at about 1.5 Mbit/s, 30 frames/s, a keyframe every 2 s, and an
//! Opus tone; the host records it. After a warm-up the recorder's CPU is
//! measured over a window.
//!
//! ```sh
//! cargo build --release -p yunhui-recorder
//! cargo bench -p yunhui-signal --bench recording -- --meetings 1,4 --seconds 30
//! cargo bench -p yunhui-signal --bench recording -- --meetings 1,2 --seconds 30 --stream
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use yunhui_client::api::ApiClient;
use yunhui_client::media::FileMedia;
use yunhui_client::meeting::{JoinOptions, MeetingSession};
use yunhui_proto::api::{CreateMeetingRequest, MeetingOptions, RegisterRequest};
use yunhui_proto::signaling::{HostCommand, RecordingState, StreamingState};
use yunhui_sfu::control::InProcessControl;
use yunhui_sfu::{Sfu, SfuConfig};
use yunhui_signal::recorder_client::HttpRecordControl;
use yunhui_signal::store::Store;
use yunhui_signal::{App, SignalConfig};
use yunhui_testkit::media;
use yunhui_testkit::rtmp::RtmpServer;

const KEY: &str = "benchmark-internal-key";
const PASSWORD: &str = "correct horse battery";
/// Linux reports process times in USER_HZ ticks, 100 per second.
const TICKS_PER_SECOND: f64 = 100.0;
const WARM_UP: Duration = Duration::from_secs(5);

struct Options {
    meetings: Vec<usize>,
    seconds: u64,
    stream: bool,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        meetings: vec![1, 4],
        seconds: 30,
        stream: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--meetings" => {
                options.meetings = args
                    .next()
                    .context("--meetings needs a list, e.g. 1,4")?
                    .split(',')
                    .map(|n| n.trim().parse().context("--meetings takes numbers"))
                    .collect::<anyhow::Result<_>>()?;
            }
            "--seconds" => {
                options.seconds = args
                    .next()
                    .context("--seconds needs a number")?
                    .parse()
                    .context("--seconds takes a number")?;
            }
            "--stream" => options.stream = true,
            // cargo bench passes --bench.
            "--bench" => {}
            other => bail!("unknown argument {other}; use --meetings 1,4 --seconds 30 [--stream]"),
        }
    }
    Ok(options)
}

/// A child process, killed when dropped.
struct Recorder {
    child: Child,
    url: String,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pid`'s parent, and the user plus system CPU seconds it has used.
fn stat(pid: u32) -> anyhow::Result<(u32, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at ')'.
    let rest = stat.rsplit(')').next().context("unreadable stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let parent: u32 = fields.get(1).context("no ppid")?.parse()?;
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    Ok((parent, (utime + stime) / TICKS_PER_SECOND))
}

/// CPU seconds of `pid` and of each of its running children (the live
/// streams' ffmpeg), by pid.
fn cpu_seconds(pid: u32) -> anyhow::Result<std::collections::BTreeMap<u32, f64>> {
    let mut cpu = std::collections::BTreeMap::new();
    cpu.insert(pid, stat(pid)?.1);
    for entry in std::fs::read_dir("/proc")? {
        let Some(child) = entry?
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok((parent, seconds)) = stat(child)
            && parent == pid
        {
            cpu.insert(child, seconds);
        }
    }
    Ok(cpu)
}

/// CPU used between two readings by the processes of both (the children
/// run throughout the window).
fn used(
    before: &std::collections::BTreeMap<u32, f64>,
    after: &std::collections::BTreeMap<u32, f64>,
) -> f64 {
    after
        .iter()
        .filter_map(|(pid, s)| before.get(pid).map(|b| s - b))
        .sum()
}

/// 720p VP8 at about 1.5 Mbit/s (a moving test picture, 30 frames/s, a
/// keyframe every 2 s) and an Opus tone, 10 s, looped by the publishers.
fn media(dir: &Path, hz: u32) -> FileMedia {
    FileMedia {
        ivf: media::vp8_clip(
            dir,
            &format!("moving-{hz}"),
            "testsrc2=s=1280x720:r=30:d=10",
            "1500k",
            60,
        ),
        ogg: media::opus_tone(dir, hz, 10),
        audio_level: 20,
    }
}

async fn join(
    base: &str,
    number: &str,
    name: &str,
    token: Option<&str>,
) -> anyhow::Result<MeetingSession> {
    Ok(MeetingSession::join(
        base,
        JoinOptions {
            meeting_number: number.into(),
            display_name: name.into(),
            token: token.map(String::from),
            media_bind: Some("127.0.0.1:0".into()),
            ..JoinOptions::default()
        },
    )
    .await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let work = tempfile::tempdir()?;
    let first = media(work.path(), 440);
    let second = media(work.path(), 880);
    if options.stream {
        println!(
            "| meetings streamed | window (s) | recorder + ffmpeg CPU (s) | CPU-s per streamed meeting-minute | streams per core | recorder RSS (MiB) |"
        );
    } else {
        println!(
            "| meetings recorded | window (s) | recorder CPU (s) | CPU-s per recorded meeting-minute | meetings per core | recorder RSS (MiB) |"
        );
    }
    println!("|---|---|---|---|---|---|");
    let rtmp = options.stream.then(RtmpServer::start);
    for &meetings in &options.meetings {
        run(meetings, options.seconds, &first, &second, rtmp.as_ref()).await?;
    }
    Ok(())
}

async fn run(
    meetings: usize,
    seconds: u64,
    first: &FileMedia,
    second: &FileMedia,
    rtmp: Option<&RtmpServer>,
) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let files = tempfile::tempdir()?;
    let store = Store::open_sqlite(data.path()).await?;
    let registry = prometheus::Registry::new();
    let sfu = Sfu::start(SfuConfig {
        udp_listen: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
        advertised_ip: Ipv4Addr::LOCALHOST.into(),
        registry: registry.clone(),
    })
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let config = SignalConfig {
        public_url: base.clone(),
        internal_key: Some(KEY.into()),
        ..SignalConfig::default()
    };
    let app = App::new(
        config,
        store,
        Arc::new(InProcessControl::new(sfu.clone())),
        registry,
    )?;
    let service = app.service();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, service).await;
    });
    let port = yunhui_testkit::processes::free_port();
    let recorder = Recorder {
        child: Command::new(yunhui_testkit::processes::service_binary("yunhui-recorder"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--signal-url", &base, "--internal-key", KEY])
            .args(["--media-bind", "127.0.0.1:0"])
            .arg("--dir")
            .arg(files.path())
            .stdout(Stdio::null())
            .spawn()
            .context("starting yunhui-recorder (cargo build --release -p yunhui-recorder)")?,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{}/healthz", recorder.url))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            bail!("the recorder never answered");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.set_record_control(Arc::new(HttpRecordControl::new(&recorder.url, KEY)));

    let mut sessions = Vec::new();
    for m in 0..meetings {
        let mut host_api = ApiClient::new(&base);
        let email = format!("host{m}@example.com");
        host_api
            .register(&RegisterRequest {
                email: Some(email.clone()),
                phone: None,
                password: PASSWORD.into(),
                display_name: format!("Host {m}"),
                tenant_id: None,
            })
            .await?;
        host_api.login(&email, PASSWORD).await?;
        let meeting = host_api
            .create_meeting(&CreateMeetingRequest {
                options: Some(MeetingOptions {
                    live_streaming: true,
                    ..MeetingOptions::default()
                }),
                ..CreateMeetingRequest::default()
            })
            .await?;
        let mut host = join(&base, &meeting.number, "Host", host_api.token()).await?;
        let mut guest = join(&base, &meeting.number, "Guest", None).await?;
        host.publish_files(first).await?;
        guest.publish_files(second).await?;
        match rtmp {
            Some(rtmp) => {
                host.host(HostCommand::StartStreaming {
                    push_url: rtmp.push_url(),
                    stream_key: format!("bench-{m}"),
                    watch_url: None,
                })?;
                host.wait_until("live", Duration::from_secs(30), |v| {
                    v.streaming.state == StreamingState::Live
                })
                .await?;
            }
            None => {
                host.host(HostCommand::StartRecording)?;
                host.wait_until("recording", Duration::from_secs(20), |v| {
                    v.recording == RecordingState::Recording
                })
                .await?;
            }
        }
        sessions.push((host, guest));
    }
    tokio::time::sleep(WARM_UP).await;
    let pid = recorder.child.id();
    let before = cpu_seconds(pid)?;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cpu = used(&before, &cpu_seconds(pid)?);
    let window = started.elapsed().as_secs_f64();
    let rss_kib = yunhui_testkit::processes::peak_rss_kib(pid).unwrap_or(0);
    let per_minute = cpu / (meetings as f64 * window / 60.0);
    println!(
        "| {meetings} | {window:.0} | {cpu:.2} | {per_minute:.2} | {:.0} | {:.0} |",
        60.0 / per_minute,
        rss_kib as f64 / 1024.0
    );
    for (host, guest) in sessions {
        host.host(if rtmp.is_some() {
            HostCommand::StopStreaming
        } else {
            HostCommand::StopRecording
        })?;
        host.close().await;
        guest.close().await;
    }
    drop(recorder);
    server.abort();
    sfu.shutdown().await;
    Ok(())
}
