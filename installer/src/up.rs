//! `yunhui up`: signal, SFU and SIP gateway in one process, with an embedded SQLite
//! database under the data directory, for trials and small offices.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use yunhui_proto::api::{CreateMeetingRequest, RegisterRequest};
use yunhui_proto::turn::TurnEndpoints;
use yunhui_recorder::{Recorder, RecorderConfig};
use yunhui_sfu::control::InProcessControl;
use yunhui_sfu::turn::{TurnConfig, TurnLimits, TurnTls};
use yunhui_sfu::{Sfu, SfuConfig};
use yunhui_signal::live::turn_credentials::TurnService;
use yunhui_signal::store::Store;
use yunhui_signal::{App, SignalConfig, accounts, meetings, tenants};
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
    /// Port of the TURN server (UDP and TCP) through which clients behind
    /// networks that block UDP reach media; 0 turns TURN off.
    #[arg(long, default_value_t = 3478)]
    pub turn_port: u16,
    /// Port of TURN over TLS (443 where clients only get out on 443); 0
    /// serves no TLS.
    #[arg(long, default_value_t = 5349)]
    pub turn_tls_port: u16,
    /// PEM certificate chain for TURN over TLS; without it a self-signed
    /// certificate for the advertised address is made and kept in the data
    /// directory (`turn-tls.pem`), which clients must be told to trust.
    #[arg(long, requires = "turn_tls_key")]
    pub turn_tls_cert: Option<PathBuf>,
    /// PEM private key for TURN over TLS.
    #[arg(long, requires = "turn_tls_cert")]
    pub turn_tls_key: Option<PathBuf>,
    /// An e-mail domain of the enterprise (repeat the flag): someone
    /// registering with an address in it waits for an administrator's
    /// approval in the console. Given, the domains replace those kept in the
    /// data directory; not given, those stay.
    #[arg(long = "company-domain", value_parser = company_domain)]
    pub company_domains: Vec<String>,
}

/// A `--company-domain`: a DNS name such as `acme.example`, lower-cased.
fn company_domain(text: &str) -> Result<String, String> {
    let domain = text.trim().trim_start_matches('@').to_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if domain.len() <= 253 && domain.contains('.') && domain.split('.').all(label_ok) {
        Ok(domain)
    } else {
        Err(format!(
            "{text:?} is not an e-mail domain such as acme.example"
        ))
    }
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
    let turn = start_turn(&args, &sfu, advertised_ip).await?;
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
        turn,
        recordings_dir: Some(args.data_dir.join("recordings")),
        // Known to this process only: the in-process SIP gateway shows it
        // to name the device each dial-in joins for, so wrong passwords
        // are throttled per device, not per gateway.
        internal_key: Some(format!("{:032x}", rand::random::<u128>())),
        ..SignalConfig::default()
    };
    let media = Arc::new(InProcessControl::new(sfu.clone()));
    let app = App::new(config, store.clone(), media, registry)?;

    // A crowd joining at once is not left waiting for SYN retransmits.
    let listener = yunhui_runtime::listen::bind(args.listen)
        .with_context(|| format!("listening on {}", args.listen))?;
    let local = listener.local_addr()?;
    let _gateway = start_sip_gateway(&args, advertised_ip, local, &app).await;
    start_recorder(&args, local, &app)?;
    if !args.company_domains.is_empty() {
        let tenant = yunhui_signal::store::DEFAULT_TENANT_ID;
        let mut record = tenants::get(&store, tenant)
            .await
            .context("reading the enterprise's settings")?;
        record.domains = args.company_domains.clone();
        tenants::put(&store, tenant, &record)
            .await
            .context("keeping the enterprise's e-mail domains")?;
        println!(
            "Registrations from {} wait for an administrator's approval",
            args.company_domains.join(", ")
        );
    }
    let link = bootstrap(&store, &public_url, &args.data_dir).await?;
    println!("Yunhui is running at {public_url}");
    println!("Meeting link: {link}");
    println!("Press Ctrl-C to stop.");

    // SIGTERM handled from here on, also before the first request.
    let shutdown = yunhui_runtime::shutdown_signal();
    axum::serve(listener, app.service())
        .with_graceful_shutdown(async {
            shutdown.await;
        })
        .await
        .context("serving HTTP")?;
    sfu.shutdown().await;
    // Not `println!`: whoever started us may have closed our stdout by now,
    // and a stop is no reason to panic.
    let _ = writeln!(std::io::stdout(), "Yunhui stopped.");
    Ok(())
}

/// Starts TURN in the SFU with a fresh shared secret (signal in this
/// process gets the same) and returns what signal hands participants. A
/// taken port is a warning: meetings run without TURN.
async fn start_turn(
    args: &UpArgs,
    sfu: &Sfu,
    advertised_ip: IpAddr,
) -> anyhow::Result<Option<TurnService>> {
    if args.turn_port == 0 {
        return Ok(None);
    }
    let tls_listen = SocketAddr::new(args.listen.ip(), args.turn_tls_port);
    let tls = match (&args.turn_tls_cert, &args.turn_tls_key) {
        _ if args.turn_tls_port == 0 => None,
        (Some(cert), Some(key)) => Some(TurnTls::from_pem_files(tls_listen, cert, key)?),
        _ => Some(self_signed_turn_tls(
            tls_listen,
            advertised_ip,
            &args.data_dir,
        )?),
    };
    let secret = accounts::new_secret(32).into_bytes();
    let config = TurnConfig {
        listen: SocketAddr::new(args.listen.ip(), args.turn_port),
        tls,
        secret: secret.clone(),
        limits: TurnLimits::default(),
    };
    match sfu.serve_turn(config).await {
        Ok(addrs) => {
            let endpoints = TurnEndpoints {
                host: advertised_ip.to_string(),
                port: addrs.udp.port(),
                tls_port: addrs.tls.map(|tls| tls.port()),
            };
            println!("TURN: {}", endpoints.urls().join(" "));
            Ok(Some(TurnService {
                endpoints: Some(endpoints),
                secret,
            }))
        }
        Err(e) => {
            eprintln!(
                "warning: TURN did not start ({e}); clients behind networks that block UDP may get no media"
            );
            Ok(None)
        }
    }
}

/// A self-signed certificate for TURN over TLS, for the advertised address
/// and `localhost`, kept in the data directory (`turn-tls.pem`,
/// `turn-tls.key`) so clients can be told to trust it across restarts.
fn self_signed_turn_tls(
    listen: SocketAddr,
    advertised_ip: IpAddr,
    data_dir: &std::path::Path,
) -> anyhow::Result<TurnTls> {
    let cert = data_dir.join("turn-tls.pem");
    let key = data_dir.join("turn-tls.key");
    if !cert.exists() || !key.exists() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let names = vec![advertised_ip.to_string(), "localhost".to_owned()];
        let made = rcgen::generate_simple_self_signed(names)
            .context("making a certificate for TURN over TLS")?;
        write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
        std::fs::write(&cert, made.cert.pem())
            .with_context(|| format!("writing {}", cert.display()))?;
    }
    Ok(TurnTls::from_pem_files(listen, &cert, &key)?)
}

/// Writes a file only its owner can read.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Starts the recorder in this process: it joins meetings through signal
/// over loopback and writes into the data directory's `recordings`, where
/// "My videos" streams them from.
fn start_recorder(args: &UpArgs, signal: SocketAddr, app: &Arc<App>) -> anyhow::Result<()> {
    let dir = args.data_dir.join("recordings");
    let recorder = Recorder::new(RecorderConfig {
        signal_url: format!("http://{}", loopback(signal)),
        dir: dir.clone(),
        media_bind: SocketAddr::new(args.listen.ip(), 0).to_string(),
        advertise_url: None,
        ffmpeg: yunhui_recorder::ffmpeg_from_env(),
        storage: None,
        shared_url: None,
        max_jobs: None,
    })
    .with_context(|| format!("creating {}", dir.display()))?;
    app.set_record_control(Arc::new(recorder));
    Ok(())
}

/// `addr` with an unspecified IP replaced by the loopback address.
fn loopback(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        addr
    }
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
    config.internal_key = app.config.internal_key.clone();
    match SipGateway::start(config).await {
        Ok(gateway) => {
            let gateway = Arc::new(gateway);
            app.set_call_control(gateway.clone());
            let tcp = gateway
                .tcp_addr()
                .map(|tcp| format!(", TCP port {}", tcp.port()))
                .unwrap_or_default();
            println!(
                "SIP gateway: sip:yunhui@{} (UDP{tcp})",
                gateway.local_addr()
            );
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

#[cfg(test)]
mod tests {
    use super::company_domain;

    #[test]
    fn company_domains_are_dns_names() {
        assert_eq!(company_domain(" @Acme.Example ").unwrap(), "acme.example");
        assert_eq!(
            company_domain("mail.acme-corp.cn").unwrap(),
            "mail.acme-corp.cn"
        );
        for bad in [
            "acme",
            "acme..example",
            "-acme.example",
            "a b.example",
            "bob@acme.example",
            "",
        ] {
            assert!(company_domain(bad).is_err(), "{bad}");
        }
    }
}
