//! `yunhui up`: signal, SFU and SIP gateway in one process, with an embedded SQLite
//! database under the data directory, for trials and small offices.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use yunhui_proto::api::{CreateMeetingRequest, RegisterRequest};
use yunhui_sfu::control::InProcessControl;
use yunhui_sfu::{Sfu, SfuConfig};
use yunhui_signal::store::Store;
use yunhui_signal::{App, SignalConfig, accounts, meetings};
use yunhui_sipgw::{GatewayConfig, SipGateway, SipTrunk};

/// Login of the administrator account created on first start.
pub const ADMIN_LOGIN: &str = "admin@yunhui.local";

/// Options of `yunhui up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Where the database and other state live.
    #[arg(long, default_value = "./yunhui-data")]
    pub data_dir: PathBuf,
    /// Address of the web client, Open API and signaling.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Media port of the SFU: all media of all meetings uses this one UDP port, and the
    /// TCP port of the same number (ICE over TCP) where UDP is blocked.
    #[arg(long, default_value_t = 7882)]
    pub media_port: u16,
    /// Address clients send media to; defaults to the listen address, or
    /// 127.0.0.1 when listening on all interfaces.
    #[arg(long)]
    pub advertised_ip: Option<IpAddr>,
    /// Base URL printed in links; defaults to `http://<listen>`.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Built web client; defaults to `services/web/dist` when it exists.
    #[arg(long)]
    pub web_dir: Option<PathBuf>,
    /// UDP port of the SIP gateway, which calls room systems and phones
    /// into meetings; 0 turns the gateway off.
    #[arg(long, default_value_t = 5060)]
    pub sip_port: u16,
    /// SIP trunk (PBX or carrier gateway, `host[:port]`) through which
    /// phone numbers are called; without it only SIP addresses are.
    #[arg(long)]
    pub sip_trunk: Option<String>,
    /// User name for the SIP trunk's digest challenge.
    #[arg(long, requires = "sip_trunk")]
    pub sip_trunk_user: Option<String>,
    /// Password for the SIP trunk's digest challenge.
    #[arg(
        long,
        env = yunhui_proto::env::SIP_TRUNK_PASSWORD,
        hide_env_values = true,
        requires = "sip_trunk_user"
    )]
    pub sip_trunk_password: Option<String>,
    /// A phone number that reaches meetings through the SIP trunk's PSTN
    /// side (repeat the flag); invitations name it.
    #[arg(long = "dial-in-number", requires = "sip_trunk")]
    pub dial_in_numbers: Vec<String>,
}

/// Runs until Ctrl-C or SIGTERM.
pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    init_tracing();
    let advertised_ip = args
        .advertised_ip
        .unwrap_or(if args.listen.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            args.listen.ip()
        });
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let web_dir = args.web_dir.clone().or_else(|| {
        let default = PathBuf::from("services/web/dist");
        default.join("index.html").exists().then_some(default)
    });
    if web_dir.is_none() {
        eprintln!(
            "note: no web client found (build it with `npm --prefix services/web ci && npm --prefix services/web run build`, or pass --web-dir); the API still runs"
        );
    }

    let registry = prometheus::Registry::new();
    let sfu = Sfu::start(SfuConfig {
        udp_listen: SocketAddr::new(args.listen.ip(), args.media_port),
        advertised_ip,
        registry: registry.clone(),
    })
    .await
    .with_context(|| format!("starting the SFU on UDP and TCP port {}", args.media_port))?;
    let store = Store::open_sqlite(&args.data_dir)
        .await
        .with_context(|| format!("opening the database in {}", args.data_dir.display()))?;
    let config = SignalConfig {
        public_url: public_url.clone(),
        web_dir,
        dial_in_numbers: args.dial_in_numbers.clone(),
        discovery: yunhui_signal::DiscoveryEndpoints {
            media_udp_port: (args.media_port != 0).then_some(args.media_port),
            media_tcp_port: (args.media_port != 0).then(|| sfu.tcp_media_addr().port()),
            sip_uri: (args.sip_port != 0).then(|| format!("sip:{advertised_ip}:{}", args.sip_port)),
        },
        ..SignalConfig::default()
    };
    let media = Arc::new(InProcessControl::new(sfu.clone()));
    let app = App::new(config, store.clone(), media, registry)?;

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let local = listener.local_addr()?;
    let _gateway = start_sip_gateway(&args, advertised_ip, local, &app).await;
    let link = bootstrap(&store, &public_url, &args.data_dir).await?;
    println!("Yunhui is running at {public_url}");
    println!("Meeting link: {link}");
    println!("Press Ctrl-C to stop.");

    axum::serve(listener, app.service())
        .with_graceful_shutdown(async {
            yunhui_runtime::shutdown_signal().await;
        })
        .await
        .context("serving HTTP")?;
    sfu.shutdown().await;
    // Not `println!`: whoever started us may have closed our stdout by now,
    // and a stop is no reason to panic.
    let _ = writeln!(std::io::stdout(), "Yunhui stopped.");
    Ok(())
}

/// Starts the SIP gateway in this process, joined to signal over loopback.
/// Meetings still run without it (calling out is then refused), so a taken
/// port is a warning, not a failure.
async fn start_sip_gateway(
    args: &UpArgs,
    advertised_ip: IpAddr,
    signal: SocketAddr,
    app: &Arc<App>,
) -> Option<Arc<SipGateway>> {
    if args.sip_port == 0 {
        return None;
    }
    let signal_ip = if signal.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        signal.ip()
    };
    let mut config = GatewayConfig::new(
        SocketAddr::new(args.listen.ip(), args.sip_port),
        advertised_ip,
        &format!("http://{}", SocketAddr::new(signal_ip, signal.port())),
    );
    config.trunk = args.sip_trunk.clone().map(|address| SipTrunk {
        address,
        username: args.sip_trunk_user.clone(),
        password: args.sip_trunk_password.clone(),
    });
    match SipGateway::start(config).await {
        Ok(gateway) => {
            let gateway = Arc::new(gateway);
            app.set_call_control(gateway.clone());
            println!("SIP gateway: sip:yunhui@{} (UDP)", gateway.local_addr());
            Some(gateway)
        }
        Err(e) => {
            eprintln!(
                "warning: the SIP gateway did not start ({e}); calling devices and phones is unavailable"
            );
            None
        }
    }
}

/// Creates the administrator on first start (printing its password once) and
/// returns the link of an open meeting hosted by it.
async fn bootstrap(
    store: &Store,
    public_url: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<String> {
    let marker = data_dir.join("admin-created");
    if !marker.exists() {
        let password = accounts::new_secret(8);
        accounts::create_tenant_admin(
            store,
            yunhui_signal::store::DEFAULT_TENANT_ID,
            RegisterRequest {
                email: Some(ADMIN_LOGIN.into()),
                phone: None,
                password: password.clone(),
                display_name: "Administrator".into(),
                tenant_id: None,
            },
        )
        .await
        .context("creating the administrator account")?;
        std::fs::write(&marker, b"")?;
        println!("Administrator account: {ADMIN_LOGIN} / {password} (shown once; keep it)");
    }
    // Data directories from before roles existed: the administrator administers.
    accounts::promote_to_tenant_admin(store, ADMIN_LOGIN).await?;
    let caller = accounts::caller_by_login(store, ADMIN_LOGIN).await?;
    let open = meetings::list_hosted(store, &caller)
        .await?
        .into_iter()
        .find(|m| m.status != yunhui_proto::api::MeetingStatus::Ended);
    let meeting = match open {
        Some(m) => m,
        None => meetings::create_instant(store, &caller, CreateMeetingRequest::default()).await?,
    };
    Ok(meeting.to_api(public_url).join_url)
}

fn init_tracing() {
    // RUST_LOG (default info), with webrtc-rs's per-handshake noise quieted.
    let filter = yunhui_runtime::log_filter();
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
