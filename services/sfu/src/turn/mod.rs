//! TURN on the SFU node, for networks where only TCP (often only TCP 443
//! through a proxy) gets out: a client that reaches neither the node's UDP
//! media port nor its ICE-TCP port allocates a relay here, over UDP, TCP or
//! TLS, and its media reaches the node's normal UDP media port from the
//! relay. The node's own ICE candidates are unchanged.
//!
//! Built on the sans-IO TURN server of Centricular's `turn-server-proto`; this
//! module owns the I/O: the TURN port (UDP and TCP, [`TurnConfig::listen`]),
//! the TLS port (TLS terminated here with rustls and ring, then the same as
//! TCP), the relay sockets, and one session per client ([`session`]) with a
//! TURN server of its own.
//!
//! Security by default:
//! - credentials are the TURN REST-API ones signal hands out
//!   ([`yunhui_proto::turn`]): a request's USERNAME is checked for expiry and
//!   its signature against the password derived from the shared secret
//!   before the server learns the user ([`screen`]);
//! - a client can only reach this node's own media address: a permission or
//!   channel to any other IP is answered 403, and relayed data to another
//!   port of the node is dropped, so the server is no open relay;
//! - allocations are limited per participant and per node
//!   ([`TurnLimits`]); sessions without an allocation end after 30 s of
//!   silence, and clients without a session are limited too.
//!
//! Metrics: `yunhui_sfu_turn_allocations`, `yunhui_sfu_turn_relayed_bytes_total`,
//! `yunhui_sfu_turn_refused_total{reason}` (`credentials`, `peer`,
//! `allocation_limit`, `tls_handshake`).

mod screen;
mod session;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prometheus::{IntCounter, IntGauge, Registry};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use turn_server_proto::stun::types::TransportType;

use session::{ClientLink, Session};

/// How the node's TURN server is set up.
#[derive(Clone)]
pub struct TurnConfig {
    /// Where TURN over UDP and over TCP listen (one port number for both).
    pub listen: SocketAddr,
    /// TURN over TLS, when served.
    pub tls: Option<TurnTls>,
    /// The shared secret of the REST-API credentials (signal has the same).
    pub secret: Vec<u8>,
    /// How many allocations the node and each participant may hold.
    pub limits: TurnLimits,
}

/// Allocation limits.
#[derive(Debug, Clone, Copy)]
pub struct TurnLimits {
    /// Allocations on the node at once.
    pub allocations: usize,
    /// Allocations of one participant at once (a browser makes one per PC
    /// and ICE server URL, so two PCs over three URLs hold six).
    pub per_participant: usize,
}

impl Default for TurnLimits {
    fn default() -> Self {
        TurnLimits {
            allocations: 2000,
            per_participant: 12,
        }
    }
}

/// TURN over TLS: its port and certificate.
#[derive(Clone)]
pub struct TurnTls {
    /// Where TLS listens (443 in clusters).
    pub listen: SocketAddr,
    /// The server's rustls configuration (ring provider).
    pub config: Arc<rustls::ServerConfig>,
}

impl TurnTls {
    /// TLS on `listen` with the certificate chain and key of two PEM files.
    pub fn from_pem_files(
        listen: SocketAddr,
        cert: &Path,
        key: &Path,
    ) -> Result<TurnTls, TurnError> {
        let bad = |file: &Path, reason: String| TurnError::Certificate {
            file: file.display().to_string(),
            reason,
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| bad(cert, e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(cert, e.to_string()))?;
        if chain.is_empty() {
            return Err(bad(cert, "it holds no certificate".into()));
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e.to_string()))?;
        Self::from_der(listen, chain, key_der)
    }

    /// TLS on `listen` with a certificate chain and key in DER.
    pub fn from_der(
        listen: SocketAddr,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TurnTls, TurnError> {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| TurnError::Certificate {
            file: "(given)".into(),
            reason: e.to_string(),
        })?;
        Ok(TurnTls {
            listen,
            config: Arc::new(config),
        })
    }
}

/// Why TURN could not start.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    /// A port could not be bound.
    #[error("could not bind TURN over {transport} on {addr}: {source}")]
    Bind {
        /// `UDP`, `TCP` or `TLS`.
        transport: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The TLS certificate or key is unusable.
    #[error("the TURN TLS certificate or key in {file} is unusable: {reason}")]
    Certificate {
        /// Which file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The secret is empty.
    #[error("the TURN shared secret is empty: signal and the SFU need the same non-empty secret")]
    NoSecret,
    /// The metrics could not be registered.
    #[error("could not register the TURN metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Where the TURN server listens, once bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnAddrs {
    /// TURN over UDP.
    pub udp: SocketAddr,
    /// TURN over TCP.
    pub tcp: SocketAddr,
    /// TURN over TLS.
    pub tls: Option<SocketAddr>,
}

/// Where relayed media goes: the node's UDP media socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MediaTarget {
    /// As clients know it (advertised IP, media port): the only peer allowed.
    pub advertised: SocketAddr,
    /// As the relay sockets reach it on this host.
    pub local: SocketAddr,
}

impl MediaTarget {
    /// The target of a media socket bound to `bound` and advertised at `advertised`.
    pub(crate) fn new(advertised: SocketAddr, bound: SocketAddr) -> MediaTarget {
        let ip = match bound.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        MediaTarget {
            advertised,
            local: SocketAddr::new(ip, bound.port()),
        }
    }
}

/// The TURN server's metrics.
#[derive(Clone)]
pub(crate) struct TurnMetrics {
    allocations: IntGauge,
    relayed_bytes: IntCounter,
    refused_credentials: IntCounter,
    refused_peers: IntCounter,
    refused_allocations: IntCounter,
    refused_tls: IntCounter,
}

impl TurnMetrics {
    fn register(registry: &Registry) -> prometheus::Result<Self> {
        let refused = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "yunhui_sfu_turn_refused_total",
                "TURN requests refused, by reason",
            ),
            &["reason"],
        )?;
        let metrics = TurnMetrics {
            allocations: IntGauge::new(
                "yunhui_sfu_turn_allocations",
                "TURN relay allocations on this SFU node",
            )?,
            relayed_bytes: IntCounter::new(
                "yunhui_sfu_turn_relayed_bytes_total",
                "Bytes relayed by this SFU node's TURN server, both ways",
            )?,
            refused_credentials: refused.with_label_values(&["credentials"]),
            refused_peers: refused.with_label_values(&["peer"]),
            refused_allocations: refused.with_label_values(&["allocation_limit"]),
            refused_tls: refused.with_label_values(&["tls_handshake"]),
        };
        registry.register(Box::new(metrics.allocations.clone()))?;
        registry.register(Box::new(metrics.relayed_bytes.clone()))?;
        registry.register(Box::new(refused))?;
        Ok(metrics)
    }
}

/// What every session shares.
pub(crate) struct Shared {
    secret: Vec<u8>,
    /// The zero of the sans-IO servers' clocks.
    base: std::time::Instant,
    media: MediaTarget,
    /// Where relay sockets bind.
    relay_ip: IpAddr,
    limits: TurnLimits,
    held: Mutex<Held>,
    metrics: TurnMetrics,
}

/// Allocations held, in all and by participant.
#[derive(Default)]
struct Held {
    total: usize,
    by_participant: HashMap<String, usize>,
}

/// One allocation counted against the limits until dropped.
pub(crate) struct AllocationGuard {
    shared: Arc<Shared>,
    participant: String,
}

impl Drop for AllocationGuard {
    fn drop(&mut self) {
        let mut held = self.shared.held.lock();
        held.total = held.total.saturating_sub(1);
        if let Some(count) = held.by_participant.get_mut(&self.participant) {
            *count -= 1;
            if *count == 0 {
                held.by_participant.remove(&self.participant);
            }
        }
        self.shared.metrics.allocations.dec();
    }
}

impl Shared {
    /// Counts one more allocation of `participant`, if the limits allow.
    fn admit(self: &Arc<Self>, participant: &str) -> Result<AllocationGuard, String> {
        let mut held = self.held.lock();
        let mine = held.by_participant.get(participant).copied().unwrap_or(0);
        let refused = if held.total >= self.limits.allocations {
            Some(format!(
                "the node holds its limit of {} allocations",
                self.limits.allocations
            ))
        } else if mine >= self.limits.per_participant {
            Some(format!(
                "the participant holds its limit of {} allocations",
                self.limits.per_participant
            ))
        } else {
            None
        };
        if let Some(reason) = refused {
            self.metrics.refused_allocations.inc();
            return Err(reason);
        }
        held.total += 1;
        *held
            .by_participant
            .entry(participant.to_owned())
            .or_default() += 1;
        self.metrics.allocations.inc();
        Ok(AllocationGuard {
            shared: Arc::clone(self),
            participant: participant.to_owned(),
        })
    }
}

/// Sessions (UDP source addresses and connections) at once, at most; past
/// that new clients are ignored until sessions end.
const MAX_SESSIONS: usize = 4096;
/// Datagrams queued for one UDP session before dropping.
const SESSION_INBOX: usize = 256;
/// How long a TLS handshake may take.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds the TURN ports and serves them until `shutdown`.
pub(crate) async fn start(
    config: TurnConfig,
    media: MediaTarget,
    registry: &Registry,
    shutdown: watch::Receiver<bool>,
) -> Result<(TurnAddrs, Vec<JoinHandle<()>>), TurnError> {
    if config.secret.is_empty() {
        return Err(TurnError::NoSecret);
    }
    let bind = |transport, addr| {
        move |source| TurnError::Bind {
            transport,
            addr,
            source,
        }
    };
    // TCP on the UDP port's number. When the port is 0 the system picks the
    // UDP one, whose number may be taken for TCP: then another is picked.
    let mut attempts = if config.listen.port() == 0 { 8 } else { 1 };
    let (udp, udp_addr, tcp, tcp_addr) = loop {
        attempts -= 1;
        let udp = UdpSocket::bind(config.listen)
            .await
            .map_err(bind("UDP", config.listen))?;
        let udp_addr = udp.local_addr().map_err(bind("UDP", config.listen))?;
        let tcp_listen = SocketAddr::new(config.listen.ip(), udp_addr.port());
        // A crowd behind one firewall may dial at once: a long accept queue.
        match yunhui_runtime::listen::bind(tcp_listen) {
            Ok(tcp) => {
                let tcp_addr = tcp.local_addr().map_err(bind("TCP", tcp_listen))?;
                break (udp, udp_addr, tcp, tcp_addr);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && attempts > 0 => continue,
            Err(e) => return Err(bind("TCP", tcp_listen)(e)),
        }
    };
    let tls = match &config.tls {
        Some(tls) => {
            let listener =
                yunhui_runtime::listen::bind(tls.listen).map_err(bind("TLS", tls.listen))?;
            let addr = listener.local_addr().map_err(bind("TLS", tls.listen))?;
            Some((
                listener,
                addr,
                tokio_rustls::TlsAcceptor::from(Arc::clone(&tls.config)),
            ))
        }
        None => None,
    };
    let shared = Arc::new(Shared {
        secret: config.secret,
        base: std::time::Instant::now(),
        media,
        relay_ip: config.listen.ip(),
        limits: config.limits,
        held: Mutex::new(Held::default()),
        metrics: TurnMetrics::register(registry)?,
    });
    let sessions = Arc::new(Semaphore::new(MAX_SESSIONS));
    let addrs = TurnAddrs {
        udp: udp_addr,
        tcp: tcp_addr,
        tls: tls.as_ref().map(|(_, addr, _)| *addr),
    };
    let mut tasks = vec![
        tokio::spawn(serve_udp(
            Arc::new(udp),
            Arc::clone(&shared),
            Arc::clone(&sessions),
            shutdown.clone(),
        )),
        tokio::spawn(serve_streams(
            tcp,
            None,
            Arc::clone(&shared),
            Arc::clone(&sessions),
            shutdown.clone(),
        )),
    ];
    if let Some((listener, _, acceptor)) = tls {
        tasks.push(tokio::spawn(serve_streams(
            listener,
            Some(acceptor),
            shared,
            sessions,
            shutdown,
        )));
    }
    tracing::info!(udp = %addrs.udp, tcp = %addrs.tcp, tls = ?addrs.tls, peer = %media.advertised, "TURN server started");
    Ok((addrs, tasks))
}

/// The TURN UDP port: datagrams go to their source address's session.
async fn serve_udp(
    socket: Arc<UdpSocket>,
    shared: Arc<Shared>,
    sessions: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
) {
    let listen = socket.local_addr().unwrap_or(shared.media.local);
    let clients: Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>> = Arc::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (len, from) = tokio::select! {
            _ = shutdown.changed() => return,
            received = socket.recv_from(&mut buf) => match received {
                Ok(received) => received,
                Err(error) => {
                    // ICMP errors surface here on some systems; keep serving.
                    tracing::debug!(%error, "TURN UDP receive failed");
                    continue;
                }
            },
        };
        let datagram = buf[..len].to_vec();
        let inbox = clients.lock().get(&from).cloned();
        if let Some(inbox) = inbox {
            // A full inbox drops, as the network would.
            let _ = inbox.try_send(datagram);
            continue;
        }
        // A new client starts with a STUN request (Binding or Allocate).
        if len < 20 || buf[0] >> 6 != 0 || buf[4..8] != [0x21, 0x12, 0xa4, 0x42] {
            continue;
        }
        let Ok(permit) = Arc::clone(&sessions).try_acquire_owned() else {
            tracing::debug!(client = %from, "too many TURN sessions: datagram ignored");
            continue;
        };
        let (sender, inbox) = mpsc::channel(SESSION_INBOX);
        let _ = sender.try_send(datagram);
        clients.lock().insert(from, sender.clone());
        let session = Session::new(TransportType::Udp, listen, from, Arc::clone(&shared));
        let link = ClientLink::Datagrams {
            socket: Arc::clone(&socket),
            inbox,
        };
        let clients = Arc::clone(&clients);
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            session.run(link, shutdown).await;
            let mut clients = clients.lock();
            if clients.get(&from).is_some_and(|s| s.same_channel(&sender)) {
                clients.remove(&from);
            }
            drop(permit);
        });
    }
}

/// The TURN TCP port or the TLS port: one session per connection.
async fn serve_streams(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    sessions: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Ok(listen) = listener.local_addr() else {
        return;
    };
    loop {
        let (stream, from) = tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::debug!(%error, "TURN accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&sessions).try_acquire_owned() else {
            tracing::debug!(client = %from, "too many TURN sessions: connection refused");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let link = match tls {
                None => ClientLink::Stream(Box::new(stream)),
                Some(acceptor) => {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => ClientLink::Stream(Box::new(stream)),
                        Ok(Err(error)) => {
                            shared.metrics.refused_tls.inc();
                            tracing::debug!(client = %from, %error, "TURN TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(client = %from, "TURN TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            Session::new(TransportType::Tcp, listen, from, shared)
                .run(link, shutdown)
                .await;
            drop(permit);
        });
    }
}
