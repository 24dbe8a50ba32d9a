//! `yunhui-sfu`: one SFU node, standalone, with its internal HTTP API.
//!
//! In Kubernetes the operator configures it through the environment: the
//! internal key, the UDP port and the TCP port for ICE over TCP
//! (`YUNHUI_SFU_UDP_PORT`, `YUNHUI_SFU_TCP_PORT`, from the cluster's ConfigMap) and the address to advertise, either directly
//! (`YUNHUI_ADVERTISE_ADDRESS`: the node's internal IP or a fixed address) or
//! from a file (`YUNHUI_ADVERTISE_ADDRESS_FILE`: the node's external IP, which
//! the operator publishes per node in a ConfigMap).
//!
//! With a TURN port and the TURN secret (`YUNHUI_SFU_TURN_PORT`,
//! `YUNHUI_TURN_SECRET`, and for TLS `YUNHUI_SFU_TURN_TLS_PORT` with a
//! certificate and key) the node also serves TURN (`yunhui_sfu::turn`).
//!
//! With signal's URL (`YUNHUI_SIGNAL_URL`) the node registers with signal and
//! reports its load every two seconds (`yunhui_sfu::registration`).
//!
//! With port slots (`YUNHUI_SFU_PORT_SLOTS` above 1 and
//! `YUNHUI_SFU_PORT_STRIDE`, a MediaCluster's `networking: HostNetworkSlots`)
//! several nodes share one host network: this one takes the first slot whose
//! media and control ports are free (`yunhui_sfu::port_slots`), waiting for
//! one while all are taken, and reports the control URL of its slot.
//! `yunhui-sfu probe /readyz` is the pod's probe then: it asks the port this
//! node took.
//!
//! On SIGTERM (or SIGINT) the node drains: it reports itself draining to
//! signal at once (no new room is placed on it), refuses to open new rooms,
//! and keeps serving its open rooms — media and internal API alike — until
//! the last one closes or `--drain-timeout` passes; only then does it stop.
//! In Kubernetes the pod's `terminationGracePeriodSeconds` (the
//! MediaCluster's `drainTimeoutSeconds`) bounds the wait as well.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use yunhui_proto::turn::TurnEndpoints;
use yunhui_sfu::internal_api::internal_router;
use yunhui_sfu::port_slots::{self, PortSlots, SlotPorts};
use yunhui_sfu::registration::{Registration, Reporter};
use yunhui_sfu::turn::{TurnConfig, TurnLimits, TurnTls};
use yunhui_sfu::{Sfu, SfuConfig};

/// How long to wait for the advertised-address file: the ConfigMap volume of
/// a node that just joined may lag behind its pod.
const ADDRESS_FILE_WAIT: Duration = Duration::from_secs(120);

/// How often a draining node looks whether its rooms have closed.
const DRAIN_POLL: Duration = Duration::from_millis(200);
/// How long before its drain runs out a node with open rooms reports
/// itself leaving, so that their meetings move (signal notices within a
/// second, clients reconnect within a few) before it stops.
const LEAVE_AHEAD: Duration = Duration::from_secs(10);

/// How long a node with port slots waits for a free one (a pod being
/// replaced keeps its slot while it drains).
const SLOT_WAIT: Duration = Duration::from_secs(600);

/// How often it looks again meanwhile.
const SLOT_RETRY: Duration = Duration::from_secs(2);

/// Runs one Yunhui SFU node.
#[derive(Parser)]
#[command(name = "yunhui-sfu", version, about)]
#[command(group(clap::ArgGroup::new("advertise").required(true).args(["advertised_ip", "advertised_ip_file"])))]
struct Args {
    /// UDP address of the node's single media port.
    #[arg(long, default_value = "0.0.0.0:7882")]
    udp_listen: SocketAddr,
    /// Media UDP port, replacing the port of `--udp-listen`.
    #[arg(long, env = yunhui_proto::env::SFU_UDP_PORT)]
    udp_port: Option<u16>,
    /// TCP address for ICE over TCP (default: the UDP address, port included).
    #[arg(long)]
    tcp_listen: Option<SocketAddr>,
    /// Media TCP port, replacing the port of `--tcp-listen`.
    #[arg(long, env = yunhui_proto::env::SFU_TCP_PORT)]
    tcp_port: Option<u16>,
    /// IP address clients are told to send media to.
    #[arg(long, env = yunhui_proto::env::ADVERTISE_ADDRESS)]
    advertised_ip: Option<IpAddr>,
    /// A file holding the IP address to advertise (waited for up to 120 s).
    #[arg(long, env = yunhui_proto::env::ADVERTISE_ADDRESS_FILE)]
    advertised_ip_file: Option<PathBuf>,
    /// TCP address of the internal API, health checks and metrics.
    #[arg(long, default_value = "0.0.0.0:7880")]
    http_listen: SocketAddr,
    /// Internal API port, replacing the port of `--http-listen`.
    #[arg(long, env = yunhui_proto::env::SFU_CONTROL_PORT)]
    control_port: Option<u16>,
    /// Port slots to choose from, when other nodes share this host network:
    /// slot k is the UDP, TCP and internal API ports plus k × `--port-stride`.
    #[arg(long, env = yunhui_proto::env::SFU_PORT_SLOTS, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    port_slots: u16,
    /// Distance between two port slots' ports.
    #[arg(long, env = yunhui_proto::env::SFU_PORT_STRIDE, default_value_t = 10)]
    port_stride: u16,
    /// Shared key signal presents on the internal API.
    #[arg(long, env = yunhui_proto::env::INTERNAL_KEY, hide_env_values = true)]
    internal_key: String,
    /// Signal's base URL: when given, the node registers there and reports its load.
    #[arg(long, env = yunhui_proto::env::SIGNAL_URL)]
    signal_url: Option<String>,
    /// Base URL of this node's internal API as signal reaches it (default:
    /// the advertised IP with the port of `--http-listen`). With port slots
    /// its port is replaced by the internal API port of the slot taken.
    #[arg(long, env = yunhui_proto::env::ADVERTISE_CONTROL_URL)]
    advertise_control_url: Option<String>,
    /// The node's name in its reports (default: the control URL's host and port).
    #[arg(long, env = yunhui_proto::env::NODE_ID)]
    node_id: Option<String>,
    /// Participants this node takes at most.
    #[arg(long, env = yunhui_proto::env::SFU_CAPACITY, default_value_t = 500)]
    capacity: u64,
    /// Port of the node's TURN server over UDP and TCP (on the media
    /// address's IP); without it the node serves no TURN.
    #[arg(long, env = yunhui_proto::env::SFU_TURN_PORT, requires = "turn_secret")]
    turn_port: Option<u16>,
    /// Port of TURN over TLS (443 in clusters).
    #[arg(long, env = yunhui_proto::env::SFU_TURN_TLS_PORT, requires_all = ["turn_port", "turn_tls_cert", "turn_tls_key"])]
    turn_tls_port: Option<u16>,
    /// PEM certificate chain of TURN over TLS.
    #[arg(long, env = yunhui_proto::env::SFU_TURN_TLS_CERT)]
    turn_tls_cert: Option<PathBuf>,
    /// PEM private key of TURN over TLS.
    #[arg(long, env = yunhui_proto::env::SFU_TURN_TLS_KEY)]
    turn_tls_key: Option<PathBuf>,
    /// The region this node reports itself in (a hybrid deployment's
    /// site): tenants that prefer it get their rooms placed here.
    #[arg(long, env = yunhui_proto::env::SFU_REGION)]
    region: Option<String>,
    /// Host name clients reach this node's TURN server at, reported to
    /// signal with the TURN ports (default: the advertised IP). With TLS it
    /// should be a name the certificate holds.
    #[arg(long, env = yunhui_proto::env::SFU_TURN_HOST, requires = "turn_port")]
    turn_host: Option<String>,
    /// Shared secret of the TURN credentials signal hands out.
    #[arg(long, env = yunhui_proto::env::TURN_SECRET, hide_env_values = true)]
    turn_secret: Option<String>,
    /// Seconds a stopping node (SIGTERM) waits at most for its rooms to close.
    #[arg(long, env = yunhui_proto::env::SFU_DRAIN_TIMEOUT, default_value_t = 3600)]
    drain_timeout: u64,
    /// Seconds a room may go without any connected peer connection before
    /// the node closes it (its signal replica crashed or lost the meeting).
    #[arg(long, env = yunhui_proto::env::SFU_UNUSED_ROOM_TIMEOUT, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    unused_room_timeout: u64,
}

/// Looks for rooms nobody uses any more (see [`Sfu::close_unused_rooms`])
/// four times per `unused`, at least once a minute, and closes them.
async fn close_unused_rooms(sfu: Sfu, unused: Duration) {
    let every = (unused / 4).clamp(Duration::from_millis(250), Duration::from_secs(60));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        for room in sfu.close_unused_rooms(unused).await {
            tracing::warn!(%room, seconds = unused.as_secs(), "closed a room with no connected peer connection for that long: its signal replica no longer holds it");
        }
    }
}

/// The TURN settings of `args`, when TURN is asked for.
fn turn_config(args: &Args, ip: IpAddr) -> anyhow::Result<Option<TurnConfig>> {
    let (Some(port), Some(secret)) = (args.turn_port, &args.turn_secret) else {
        return Ok(None);
    };
    let tls = match (args.turn_tls_port, &args.turn_tls_cert, &args.turn_tls_key) {
        (Some(tls_port), Some(cert), Some(key)) => Some(
            TurnTls::from_pem_files(SocketAddr::new(ip, tls_port), cert, key)
                .context("loading the TURN TLS certificate")?,
        ),
        _ => None,
    };
    Ok(Some(TurnConfig {
        listen: SocketAddr::new(ip, port),
        tls,
        secret: secret.as_bytes().to_vec(),
        limits: TurnLimits::default(),
    }))
}

/// The address in `path`, waiting for the file to appear.
async fn address_from_file(path: &PathBuf) -> anyhow::Result<IpAddr> {
    let deadline = tokio::time::Instant::now() + ADDRESS_FILE_WAIT;
    loop {
        match tokio::fs::read_to_string(path).await {
            Ok(text) => {
                let text = text.trim();
                return text.parse().with_context(|| {
                    format!(
                        "{} holds {text:?}, not an IP address to advertise",
                        path.display()
                    )
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if tokio::time::Instant::now() >= deadline {
                    anyhow::bail!(
                        "{} did not appear within {} s: this node has no address to advertise \
                         (with `advertise: NodeExternalIp`, give the node an ExternalIP or use NodeInternalIp or Fixed)",
                        path.display(),
                        ADDRESS_FILE_WAIT.as_secs()
                    );
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", path.display()));
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(yunhui_runtime::log_filter())
        .init();
    // The pod's probe with port slots: `yunhui-sfu probe /readyz`.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("probe") {
        let path = argv.get(2).map_or("/readyz", String::as_str);
        return port_slots::probe(path).map_err(anyhow::Error::from);
    }
    let args = Args::parse();
    let advertised_ip = match (args.advertised_ip, &args.advertised_ip_file) {
        (Some(ip), _) => ip,
        (None, Some(path)) => address_from_file(path).await?,
        (None, None) => unreachable!("clap requires one of them"),
    };
    let mut udp_listen = args.udp_listen;
    if let Some(port) = args.udp_port {
        udp_listen.set_port(port);
    }
    let mut tcp_listen = args.tcp_listen.unwrap_or(udp_listen);
    if let Some(port) = args.tcp_port {
        tcp_listen.set_port(port);
    }
    let mut http_listen = args.http_listen;
    if let Some(port) = args.control_port {
        http_listen.set_port(port);
    }
    let slots = PortSlots {
        count: args.port_slots,
        stride: args.port_stride,
    };
    let (sfu, listener, taken) =
        take_slot(slots, udp_listen, tcp_listen, http_listen, advertised_ip).await?;
    udp_listen.set_port(taken.udp);
    http_listen.set_port(taken.control);
    if slots.count > 1 {
        let file = port_slots::control_port_file();
        std::fs::write(&file, taken.control.to_string())
            .with_context(|| format!("writing the slot's control port to {}", file.display()))?;
        tracing::info!(slot = taken.slot, of = slots.count, "took a port slot");
    }
    let mut turn_endpoints = None;
    if let Some(turn) = turn_config(&args, udp_listen.ip())? {
        let addrs = sfu.serve_turn(turn).await.context("starting TURN")?;
        tracing::info!(udp = %addrs.udp, tcp = %addrs.tcp, tls = ?addrs.tls, "TURN listening");
        turn_endpoints = Some(TurnEndpoints {
            host: (args.turn_host.clone()).unwrap_or_else(|| advertised_ip.to_string()),
            port: addrs.udp.port(),
            tls_port: addrs.tls.map(|a| a.port()),
        });
    }
    tracing::info!(http = %http_listen, udp = %udp_listen, tcp = %sfu.tcp_media_addr(), advertised = %advertised_ip, "internal API listening");
    let reporter = args.signal_url.as_ref().map(|signal_url| {
        let control_url = match &args.advertise_control_url {
            Some(url) if slots.count > 1 => port_slots::with_port(url, taken.control),
            Some(url) => url.clone(),
            None => format!("http://{}", SocketAddr::new(advertised_ip, taken.control)),
        };
        let node_id = args.node_id.clone().unwrap_or_else(|| {
            // Signal takes letters, digits, '-', '.', '_' and ':' (an IPv6
            // address's brackets become '-').
            control_url
                .split("://")
                .last()
                .unwrap_or(&control_url)
                .trim_end_matches('/')
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-._:".contains(c) {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        });
        tracing::info!(signal = %signal_url, node = %node_id, control = %control_url, capacity = args.capacity, "registering with signal");
        Reporter::start(
            sfu.clone(),
            Registration {
                signal_url: signal_url.clone(),
                internal_key: args.internal_key.clone(),
                node_id,
                control_url,
                capacity: args.capacity,
                turn: turn_endpoints,
                region: args.region.clone(),
            },
        )
    });
    let unused_rooms = tokio::spawn(close_unused_rooms(
        sfu.clone(),
        Duration::from_secs(args.unused_room_timeout),
    ));
    // Listening for SIGTERM before serving: one that comes at once still
    // drains the node.
    let shutdown = yunhui_runtime::shutdown_signal();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = internal_router(sfu.clone(), &args.internal_key);
    let mut server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tokio::select! {
        served = &mut server => {
            served.context("the internal API's task")?.context("serving the internal API")?;
            anyhow::bail!("the internal API stopped on its own");
        }
        signal = shutdown => {
            tracing::info!(signal, rooms = sfu.open_rooms(), "draining: no new rooms, the open ones go on until they close");
        }
    }
    drain(
        &sfu,
        reporter.as_ref(),
        Duration::from_secs(args.drain_timeout),
    )
    .await;
    unused_rooms.abort();
    let _ = stop.send(());
    server
        .await
        .context("the internal API's task")?
        .context("serving the internal API")?;
    drop(reporter);
    sfu.shutdown().await;
    Ok(())
}

/// Starts the node on the first port slot whose ports are all free (with one
/// slot: on the ports asked for, or fails), keeping the internal API's
/// listener bound, so no other node can take the same slot meanwhile.
async fn take_slot(
    slots: PortSlots,
    udp_listen: SocketAddr,
    tcp_listen: SocketAddr,
    http_listen: SocketAddr,
    advertised_ip: IpAddr,
) -> anyhow::Result<(Sfu, tokio::net::TcpListener, SlotPorts)> {
    let candidates = slots.all(SlotPorts {
        slot: 0,
        udp: udp_listen.port(),
        tcp: tcp_listen.port(),
        control: http_listen.port(),
    });
    let in_use = |e: &std::io::Error| e.kind() == std::io::ErrorKind::AddrInUse;
    let deadline = tokio::time::Instant::now() + SLOT_WAIT;
    loop {
        for ports in &candidates {
            let control = SocketAddr::new(http_listen.ip(), ports.control);
            let listener = match tokio::net::TcpListener::bind(control).await {
                Ok(listener) => listener,
                Err(e) if slots.count > 1 && in_use(&e) => continue,
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("binding the internal API on {control}"));
                }
            };
            let started = Sfu::start_with_tcp(
                SfuConfig {
                    udp_listen: SocketAddr::new(udp_listen.ip(), ports.udp),
                    advertised_ip,
                    registry: prometheus::Registry::new(),
                },
                SocketAddr::new(tcp_listen.ip(), ports.tcp),
            )
            .await;
            match started {
                Ok(sfu) => return Ok((sfu, listener, *ports)),
                Err(
                    yunhui_sfu::SfuError::Bind { source, .. }
                    | yunhui_sfu::SfuError::BindTcp { source, .. },
                ) if slots.count > 1 && in_use(&source) => continue,
                Err(e) => return Err(e).context("starting the SFU"),
            }
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "all {} port slots of this node stayed taken for {} s: more SFU pods run on this node \
                 than spec.sfu.slotsPerNode allows, or other programs hold those ports",
                candidates.len(),
                SLOT_WAIT.as_secs()
            );
        }
        tracing::warn!(
            slots = candidates.len(),
            "every port slot of this node is taken; waiting for one to free up"
        );
        tokio::time::sleep(SLOT_RETRY).await;
    }
}

/// Drains the node: no new rooms (here and, through the report, at signal),
/// then waits until its rooms have closed or `timeout` has passed. The last
/// [`LEAVE_AHEAD`] of the timeout is for the rooms still open: the node
/// reports itself leaving, signal moves their meetings to another node and
/// their clients reconnect there, while this node forwards until they have
/// left it (or the timeout ends).
async fn drain(sfu: &Sfu, reporter: Option<&Reporter>, timeout: Duration) {
    sfu.drain();
    if let Some(reporter) = reporter {
        match reporter.drain().await {
            Ok(()) => tracing::info!("reported draining to signal"),
            Err(error) => tracing::warn!(%error, "could not report draining to signal"),
        }
    }
    let start = tokio::time::Instant::now();
    let deadline = start + timeout;
    let leave_at = start + timeout.saturating_sub(LEAVE_AHEAD);
    let mut left = false;
    loop {
        let rooms = sfu.open_rooms();
        if rooms == 0 {
            tracing::info!("drained: no room left; stopping");
            return;
        }
        if left && sfu.node_stats().peer_connections == 0 {
            tracing::info!(rooms, "every client moved to another node; stopping");
            return;
        }
        if !left
            && tokio::time::Instant::now() >= leave_at
            && let Some(reporter) = reporter
        {
            left = true;
            match reporter.leave().await {
                Ok(()) => tracing::warn!(
                    rooms,
                    "drain runs out: reported leaving; signal moves the open rooms to another node"
                ),
                Err(error) => tracing::warn!(%error, "could not report leaving to signal"),
            }
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                rooms,
                timeout_seconds = timeout.as_secs(),
                "drain timed out; stopping with rooms still open"
            );
            return;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
}
