//! `yunhui-sipgw`: the SIP gateway on its own (the shape used in
//! Kubernetes): SIP on UDP, TCP and (with a certificate) TLS, and the
//! internal API signal places calls through. On SIGTERM it drains: no new
//! calls (devices get 503, `/readyz` fails so the Service leaves it), the
//! calls in progress go on until they end or `--drain-timeout` passes.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use yunhui_proto::worker::WorkerPool;
use yunhui_runtime::worker_report::{Registration, Reporter};
use yunhui_sipgw::{GatewayConfig, SipGateway, SipTls, SipTrunk, internal_api};

#[derive(Parser)]
#[command(name = "yunhui-sipgw", version, about = "Yunhui SIP gateway")]
struct Args {
    /// UDP port for SIP.
    #[arg(long, env = yunhui_proto::env::SIP_PORT, default_value_t = 5060)]
    sip_port: u16,
    /// TCP port for SIP (default: the UDP port's number).
    #[arg(long, env = yunhui_proto::env::SIP_TCP_PORT)]
    sip_tcp_port: Option<u16>,
    /// TCP port for SIP over TLS, served when a certificate and key are given.
    #[arg(long, env = yunhui_proto::env::SIP_TLS_PORT, default_value_t = 5061)]
    sip_tls_port: u16,
    /// The gateway's TLS certificate chain (PEM file), for SIP over TLS.
    #[arg(long, env = yunhui_proto::env::SIP_TLS_CERT, requires = "sip_tls_key")]
    sip_tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM file, PKCS#8 or PKCS#1).
    #[arg(long, env = yunhui_proto::env::SIP_TLS_KEY, requires = "sip_tls_cert")]
    sip_tls_key: Option<PathBuf>,
    /// Address devices reach this gateway at (the pod's or node's IP).
    #[arg(long, env = yunhui_proto::env::ADVERTISE_ADDRESS)]
    advertise_address: IpAddr,
    /// Listen address of the internal API signal calls.
    #[arg(
        long,
        env = yunhui_proto::env::SIPGW_CONTROL_LISTEN,
        default_value = "0.0.0.0:8090"
    )]
    control_listen: SocketAddr,
    /// Signal's base URL, where answered calls join their meetings.
    #[arg(long, env = yunhui_proto::env::SIGNAL_URL)]
    signal_url: String,
    /// Shared key of the internal API.
    #[arg(long, env = yunhui_proto::env::INTERNAL_KEY, hide_env_values = true)]
    internal_key: String,
    /// SIP trunk (`host[:port]`, with `;transport=tcp` for TCP) through
    /// which phone numbers are called.
    #[arg(long, env = yunhui_proto::env::SIP_TRUNK)]
    sip_trunk: Option<String>,
    /// User name for the trunk's digest challenge.
    #[arg(long, env = yunhui_proto::env::SIP_TRUNK_USER)]
    sip_trunk_user: Option<String>,
    /// Password for the trunk's digest challenge.
    #[arg(long, env = yunhui_proto::env::SIP_TRUNK_PASSWORD, hide_env_values = true)]
    sip_trunk_password: Option<String>,
    /// UDP ports for calls' RTP, `first-last` (e.g. `20000-20999`).
    #[arg(long, env = yunhui_proto::env::SIP_RTP_PORTS, value_parser = parse_range)]
    rtp_ports: Option<(u16, u16)>,
    /// Seconds a call may ring before it is given up.
    #[arg(long, env = yunhui_proto::env::SIP_RING_TIMEOUT, default_value_t = 60)]
    ring_timeout: u64,
    /// Seconds a stopping gateway (SIGTERM) lets its calls go on at most.
    #[arg(long, env = yunhui_proto::env::SIP_DRAIN_TIMEOUT, default_value_t = 3600)]
    drain_timeout: u64,
    /// Calls the gateway takes at most at once; more are refused (503).
    #[arg(long, env = yunhui_proto::env::SIP_MAX_CALLS, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_calls: Option<u64>,
    /// The gateway's name in a scaled pool (its pod's name): with
    /// `--control-url`, it reports its calls to signal under this name.
    #[arg(long, env = yunhui_proto::env::NODE_ID, requires = "control_url")]
    gateway_id: Option<String>,
    /// Base URL of this gateway's internal API as signal reaches it (e.g.
    /// `http://10.1.2.3:8090`).
    #[arg(long, env = yunhui_proto::env::ADVERTISE_CONTROL_URL, requires = "gateway_id")]
    control_url: Option<String>,
}

fn parse_range(text: &str) -> Result<(u16, u16), String> {
    let (first, last) = text.split_once('-').ok_or_else(|| {
        format!("{text:?} is not a port range: write first-last, e.g. 20000-20999")
    })?;
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .map_err(|_| format!("{p:?} is not a port number"))
    };
    Ok((port(first)?, port(last)?))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut config = GatewayConfig::new(
        SocketAddr::new(IpAddr::from([0, 0, 0, 0]), args.sip_port),
        args.advertise_address,
        &args.signal_url,
    );
    config.tcp_port = Some(args.sip_tcp_port.unwrap_or(args.sip_port));
    if let (Some(cert), Some(key)) = (&args.sip_tls_cert, &args.sip_tls_key) {
        let read = |path: &Path, what: &str| {
            std::fs::read(path)
                .with_context(|| format!("reading the TLS {what} {}", path.display()))
        };
        config.tls = Some(SipTls {
            port: args.sip_tls_port,
            cert_pem: read(cert, "certificate")?,
            key_pem: read(key, "key")?,
        });
    }
    // Devices' password attempts are throttled per device, not per gateway.
    config.internal_key = Some(args.internal_key.clone());
    config.ring_timeout = Duration::from_secs(args.ring_timeout.max(1));
    config.rtp_ports = args.rtp_ports;
    config.max_calls = args
        .max_calls
        .map(|calls| usize::try_from(calls).unwrap_or(usize::MAX));
    config.trunk = args.sip_trunk.map(|address| SipTrunk {
        address,
        username: args.sip_trunk_user,
        password: args.sip_trunk_password,
    });
    let gateway = Arc::new(
        SipGateway::start(config)
            .await
            .context("starting the SIP gateway")?,
    );
    let listener = tokio::net::TcpListener::bind(args.control_listen)
        .await
        .with_context(|| format!("listening on {}", args.control_listen))?;
    tracing::info!(
        control = %args.control_listen,
        sip = %gateway.local_addr(),
        sip_tcp = ?gateway.tcp_addr(),
        sip_tls = ?gateway.tls_addr(),
        "SIP gateway ready"
    );
    let _reporter = match (&args.gateway_id, &args.control_url) {
        (Some(gateway_id), Some(control_url)) => Some(Reporter::start(
            WorkerPool::SipGateways,
            Arc::clone(&gateway) as _,
            Registration {
                signal_url: args.signal_url.clone(),
                internal_key: args.internal_key.clone(),
                worker_id: gateway_id.clone(),
                control_url: control_url.clone(),
                capacity: args.max_calls.unwrap_or(yunhui_proto::worker::MAX_CAPACITY),
            },
        )),
        _ => None,
    };
    // Listening for SIGTERM before serving: one that comes at once still
    // drains. The API serves on while the gateway drains: probes see it
    // draining, and the event streams of calls out go on with their calls.
    let shutdown = yunhui_runtime::shutdown_signal();
    yunhui_runtime::work::serve_until_drained(
        listener,
        internal_api::router(Arc::clone(&gateway), &args.internal_key),
        shutdown,
        || gateway.drain(),
        gateway.calls(),
        Duration::from_secs(args.drain_timeout),
        "calls",
    )
    .await
    .context("the internal API")?;
    Ok(())
}
