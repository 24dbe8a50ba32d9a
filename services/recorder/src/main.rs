//! `yunhui-recorder`: the recorder on its own (the shape used in
//! Kubernetes, one pod of the MediaCluster's recorder pool): the internal
//! API signal hands recording and live-streaming jobs to, files on the
//! pod's volume, and ffmpeg for the live streams.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use yunhui_recorder::{Recorder, RecorderConfig, internal_api};

#[derive(Parser)]
#[command(name = "yunhui-recorder", version, about = "Yunhui cloud recorder")]
struct Args {
    /// Listen address of the internal API signal calls.
    #[arg(
        long,
        env = yunhui_proto::env::RECORDER_LISTEN,
        default_value = "0.0.0.0:8091"
    )]
    listen: SocketAddr,
    /// Signal's base URL, where the recorder joins meetings.
    #[arg(long, env = yunhui_proto::env::SIGNAL_URL)]
    signal_url: String,
    /// Shared key of the internal API.
    #[arg(long, env = yunhui_proto::env::INTERNAL_KEY, hide_env_values = true)]
    internal_key: String,
    /// Directory the recordings are written to (the pod's volume).
    #[arg(
        long,
        env = yunhui_proto::env::RECORDINGS_DIR,
        default_value = "/var/lib/yunhui/recordings"
    )]
    dir: PathBuf,
    /// This recorder's base URL as signal reaches it (`http://<pod IP>:8091`),
    /// from which signal fetches the files it writes.
    #[arg(long, env = yunhui_proto::env::RECORDER_ADVERTISE_URL)]
    advertise_url: Option<String>,
    /// Local UDP address for the meetings' media.
    #[arg(long, env = yunhui_proto::env::RECORDER_MEDIA_BIND, default_value = "0.0.0.0:0")]
    media_bind: String,
    /// The ffmpeg live streams run (H.264 and AAC over RTMP).
    #[arg(long, env = yunhui_proto::env::FFMPEG, default_value = "ffmpeg")]
    ffmpeg: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(yunhui_runtime::log_filter())
        .init();
    let args = Args::parse();
    if args.internal_key.is_empty() {
        anyhow::bail!(
            "the internal key is empty: set {}",
            yunhui_proto::env::INTERNAL_KEY
        );
    }
    let recorder = Recorder::new(RecorderConfig {
        signal_url: args.signal_url.clone(),
        dir: args.dir.clone(),
        media_bind: args.media_bind.clone(),
        advertise_url: args.advertise_url.clone(),
        ffmpeg: args.ffmpeg.clone(),
    })
    .with_context(|| format!("creating the recordings directory {}", args.dir.display()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(listen = %args.listen, dir = %args.dir.display(), "recorder ready");
    // SIGTERM handled from here on, also before the first request.
    let shutdown = yunhui_runtime::shutdown_signal();
    axum::serve(
        listener,
        internal_api::router(Arc::new(recorder), &args.internal_key),
    )
    .with_graceful_shutdown(async {
        shutdown.await;
    })
    .await?;
    Ok(())
}
