//! `yunhui-signal`: the signal service on its own, driving SFU nodes over
//! their internal HTTP API (the shape used in Kubernetes). SFU nodes register
//! themselves (`PUT /internal/v1/media-nodes/{id}`) and each room is placed on
//! one of them; while none has registered, rooms go to `--sfu-url`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use yunhui_client::media_control::HttpControl;
use yunhui_signal::live::turn_credentials::TurnService;
use yunhui_signal::recorder_client::HttpRecordControl;
use yunhui_signal::sipgw_client::HttpCallControl;
use yunhui_signal::store::Store;
use yunhui_signal::{App, ReplicaConfig, SignalConfig};

#[derive(Parser)]
#[command(name = "yunhui-signal", version, about = "Yunhui signal service")]
struct Args {
    /// HTTP listen address.
    #[arg(long, env = yunhui_proto::env::LISTEN, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// PostgreSQL URL; without it an SQLite file in --data-dir is used.
    #[arg(long, env = yunhui_proto::env::DATABASE_URL)]
    database_url: Option<String>,
    /// Directory of the embedded database.
    #[arg(long, env = yunhui_proto::env::DATA_DIR, default_value = "./yunhui-data")]
    data_dir: PathBuf,
    /// Base URL of an SFU node's internal API, used while no node has
    /// registered itself.
    #[arg(long, env = yunhui_proto::env::SFU_URL)]
    sfu_url: Option<String>,
    /// Shared key of the SFU's internal API.
    #[arg(long, env = yunhui_proto::env::INTERNAL_KEY, hide_env_values = true)]
    internal_key: String,
    /// Base URL clients use (for join links).
    #[arg(long, env = yunhui_proto::env::PUBLIC_URL)]
    public_url: String,
    /// JSON file served at `/.well-known/yunhui` (the operator mounts it).
    #[arg(long, env = yunhui_proto::env::DISCOVERY_FILE)]
    discovery_file: Option<PathBuf>,
    /// Built web client to serve at `/`.
    #[arg(long, env = yunhui_proto::env::WEB_DIR)]
    web_dir: Option<PathBuf>,
    /// Take client addresses from X-Forwarded-For (only behind a trusted ingress).
    #[arg(long, env = yunhui_proto::env::TRUST_FORWARDED_FOR)]
    trust_forwarded_for: bool,
    /// Link to the deployment's terms of service (shown by clients).
    #[arg(long, env = yunhui_proto::env::TERMS_URL)]
    terms_url: Option<String>,
    /// Link to the deployment's privacy policy (shown by clients).
    #[arg(long, env = yunhui_proto::env::PRIVACY_URL)]
    privacy_url: Option<String>,
    /// A phone number that reaches meetings (repeat the flag, or separate
    /// them with commas in the variable); named in invitations.
    #[arg(long = "dial-in-number", env = yunhui_proto::env::DIAL_IN_NUMBERS, value_delimiter = ',')]
    dial_in_numbers: Vec<String>,
    /// Base URL of the SIP gateway's internal API; without it meetings
    /// cannot call devices or phones.
    #[arg(long, env = yunhui_proto::env::SIPGW_URL)]
    sipgw_url: Option<String>,
    /// Base URL of the recorder pool's internal API; without it meetings
    /// cannot be recorded.
    #[arg(long, env = yunhui_proto::env::RECORDER_URL)]
    recorder_url: Option<String>,
    /// Directory of the recorder's files (its volume, mounted here too),
    /// from which "My videos" streams them.
    #[arg(long, env = yunhui_proto::env::RECORDINGS_DIR)]
    recordings_dir: Option<PathBuf>,
    /// The TURN server participants are handed, `host:port[:tls port]`
    /// (the SFU nodes' `--turn-port` and `--turn-tls-port`), for rooms whose
    /// node reports no TURN server of its own. With `--turn-secret` alone,
    /// only the nodes' own are handed out.
    #[arg(long, env = yunhui_proto::env::TURN_ENDPOINT, requires = "turn_secret")]
    turn_endpoint: Option<String>,
    /// Shared secret of the TURN credentials (the SFU nodes have the same).
    #[arg(long, env = yunhui_proto::env::TURN_SECRET, hide_env_values = true)]
    turn_secret: Option<String>,
    /// This replica's own base URL (its pod address), when several replicas
    /// share the database: each live meeting is then owned by one replica,
    /// and the others relay its participants there.
    #[arg(long, env = yunhui_proto::env::REPLICA_URL)]
    replica_url: Option<String>,
    /// Seconds a meeting's lease lasts without renewal (with --replica-url):
    /// how soon the meetings of a replica that stopped are taken over.
    #[arg(long, env = yunhui_proto::env::LEASE_TTL_SECONDS, default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(3..=300))]
    lease_ttl_seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // RUST_LOG (default info), with webrtc-rs's per-handshake noise quieted.
    let filter = yunhui_runtime::log_filter();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .init();
    let args = Args::parse();
    let store = match &args.database_url {
        Some(url) => Store::connect(url)
            .await
            .context("connecting to the database")?,
        None => Store::open_sqlite(&args.data_dir)
            .await
            .context("opening the database")?,
    };
    let fixed = args.sfu_url.as_ref().map(|url| {
        Arc::new(HttpControl::new(url, &args.internal_key))
            as Arc<dyn yunhui_proto::media::MediaControl>
    });
    let turn = match &args.turn_secret {
        Some(secret) => Some(TurnService {
            endpoints: (args.turn_endpoint.as_deref())
                .map(TurnService::parse_endpoint)
                .transpose()?,
            secret: secret.as_bytes().to_vec(),
        }),
        None => None,
    };
    let config = SignalConfig {
        turn,
        public_url: args.public_url,
        web_dir: args.web_dir,
        internal_key: Some(args.internal_key.clone()),
        discovery_file: args.discovery_file,
        trust_forwarded_for: args.trust_forwarded_for,
        terms_url: args.terms_url,
        privacy_url: args.privacy_url,
        dial_in_numbers: args.dial_in_numbers,
        recordings_dir: args.recordings_dir,
        replica: args.replica_url.map(|url| ReplicaConfig {
            url,
            lease_ttl: std::time::Duration::from_secs(args.lease_ttl_seconds),
        }),
        ..SignalConfig::default()
    };
    let app = App::with_placement(config, store, fixed, prometheus::Registry::new())?;
    if let Some(url) = &args.sipgw_url {
        // Gateways of a pool scaled by its calls report to the table; the
        // calls go to the one with the most room.
        let control =
            HttpCallControl::new(url, &args.internal_key).with_worker_table(app.store.clone());
        app.set_call_control(Arc::new(control));
    }
    if let Some(url) = &args.recorder_url {
        // Likewise recorders of a pool scaled by its jobs.
        let control =
            HttpRecordControl::new(url, &args.internal_key).with_worker_table(app.store.clone());
        app.set_record_control(Arc::new(control));
    }
    // A crowd joining at once is not left waiting for SYN retransmits.
    let listener = yunhui_runtime::listen::bind(args.listen)?;
    tracing::info!(listen = %args.listen, "signal service ready");
    // SIGTERM handled from here on, also before the first request.
    let shutdown = yunhui_runtime::shutdown_signal();
    axum::serve(listener, app.service())
        .with_graceful_shutdown(async {
            shutdown.await;
        })
        .await?;
    Ok(())
}
