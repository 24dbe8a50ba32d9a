//! `yunhui-recorder`: the recorder on its own (the shape used in
//! Kubernetes, one pod of the MediaCluster's recorder pool): the internal
//! API signal hands recording and live-streaming jobs to, files on the
//! pod's volume or in an object store, and ffmpeg for the live streams.
//!
//! In a pool scaled by its jobs it reports them to signal
//! ([`yunhui_runtime::worker_report`]). On SIGTERM, or when signal's answer
//! says it was marked draining, it takes no new job and its jobs go on; on
//! SIGTERM the process ends once the last job ended and its files are
//! stored, or after `--drain-timeout`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use yunhui_proto::worker::WorkerPool;
use yunhui_recorder::{ObjectStorage, ObjectStoreConfig, Recorder, RecorderConfig, internal_api};
use yunhui_runtime::worker_report::{Registration, Reporter};

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
    /// The recorder pool's Service URL, reported with each file when the
    /// files go to an object store (`YUNHUI_RECORDINGS_S3_*`).
    #[arg(long, env = yunhui_proto::env::RECORDER_SHARED_URL)]
    shared_url: Option<String>,
    /// Jobs taken at most at once (no limit when unset).
    #[arg(long, env = yunhui_proto::env::RECORDER_MAX_JOBS)]
    max_jobs: Option<u64>,
    /// This recorder's name in signal's worker table (its pod's name); with
    /// `--advertise-url` the recorder reports its jobs to signal.
    #[arg(long, env = yunhui_proto::env::NODE_ID)]
    worker_id: Option<String>,
    /// Seconds a stopping recorder waits at most for its jobs to end.
    #[arg(
        long,
        env = yunhui_proto::env::RECORDER_DRAIN_TIMEOUT,
        default_value_t = 3600
    )]
    drain_timeout: u64,
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
    let storage = match ObjectStoreConfig::from_env().map_err(anyhow::Error::msg)? {
        Some(config) => Some(ObjectStorage::new(&config).map_err(anyhow::Error::msg)?),
        None => None,
    };
    if storage.is_some() && args.shared_url.is_none() {
        anyhow::bail!(
            "the files go to an object store, so {} must name the recorder pool's Service",
            yunhui_proto::env::RECORDER_SHARED_URL
        );
    }
    let recorder = Arc::new(
        Recorder::new(RecorderConfig {
            signal_url: args.signal_url.clone(),
            dir: args.dir.clone(),
            media_bind: args.media_bind.clone(),
            advertise_url: args.advertise_url.clone(),
            ffmpeg: args.ffmpeg.clone(),
            storage: storage.clone(),
            shared_url: args.shared_url.clone(),
            max_jobs: args
                .max_jobs
                .map(|jobs| usize::try_from(jobs).unwrap_or(usize::MAX)),
        })
        .with_context(|| format!("creating the recordings directory {}", args.dir.display()))?,
    );
    if let Some(storage) = storage {
        let dir = args.dir.clone();
        tokio::spawn(async move { storage.store_leftovers(dir).await });
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(listen = %args.listen, dir = %args.dir.display(), "recorder ready");
    let _reporter = match (&args.worker_id, &args.advertise_url) {
        (Some(worker_id), Some(control_url)) => Some(Reporter::start(
            WorkerPool::Recorders,
            Arc::clone(&recorder) as _,
            Registration {
                signal_url: args.signal_url.clone(),
                internal_key: args.internal_key.clone(),
                worker_id: worker_id.clone(),
                control_url: control_url.clone(),
                capacity: args.max_jobs.unwrap_or(yunhui_proto::worker::MAX_CAPACITY),
            },
        )),
        _ => None,
    };
    // SIGTERM handled from here on, also before the first request. The API
    // serves on while the recorder drains: probes see it draining, and the
    // jobs' event streams go on with their jobs.
    let shutdown = yunhui_runtime::shutdown_signal();
    yunhui_runtime::work::serve_until_drained(
        listener,
        internal_api::router(Arc::clone(&recorder), &args.internal_key),
        shutdown,
        || recorder.drain(),
        recorder.jobs(),
        Duration::from_secs(args.drain_timeout),
        "jobs",
    )
    .await
    .context("the internal API")?;
    Ok(())
}
