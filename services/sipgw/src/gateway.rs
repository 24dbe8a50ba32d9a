//! The SIP side: a user agent on UDP, TCP and TLS that places calls out of
//! meetings (F-CTL-5, F-SIP-3) and takes devices' calls into them
//! ([`dial_in`]), joins each answered call to its meeting through the client
//! SDK, and bridges its audio ([`crate::bridge`]). A request is answered on
//! the transport it came on, and the dialog's later requests follow it
//! (the connection it came on, for TCP and TLS).

pub mod dial_in;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rsipstack::EndpointBuilder;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{Dialog, DialogState, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::headers::RetryAfter;
use rsipstack::sip::{
    Header, HeadersExt, Method, Param, StatusCode, StatusCodeKind, Transport, Uri,
};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{
    SipConnection, TcpListenerConnection, TlsConfig, TlsListenerConnection, TransportLayer,
};
use tokio::net::UdpSocket;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use yunhui_client::meeting::{JoinOptions, MeetingSession, SessionError};
use yunhui_client::signaling::ActingFor;
use yunhui_proto::dial::{CallControl, CallEvent, CallEvents, DialRequest};
use yunhui_proto::signaling::{DialTarget, ErrorCode, ServerMessage};
use yunhui_runtime::work::WorkCount;

use crate::bridge::{self, RtpLeg};
use crate::sdp;

/// A SIP trunk: where phone numbers are called (a PBX or carrier gateway).
#[derive(Debug, Clone)]
pub struct SipTrunk {
    /// The trunk's `host[:port]`; a number is called as `sip:<number>@<host[:port]>`.
    pub address: String,
    /// User name for the trunk's digest challenge, if it asks.
    pub username: Option<String>,
    /// Password for the trunk's digest challenge.
    pub password: Option<String>,
}

/// SIP over TLS: the port and the gateway's certificate.
#[derive(Clone)]
pub struct SipTls {
    /// TCP port for SIP over TLS, on the SIP address (5061 by convention;
    /// 0 for any free port).
    pub port: u16,
    /// The certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// Its private key (PKCS#8, PKCS#1 or SEC1), PEM.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for SipTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipTls")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Settings of the gateway.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// UDP address for SIP (e.g. `0.0.0.0:5060`).
    pub sip_listen: SocketAddr,
    /// TCP port for SIP, on `sip_listen`'s address (`None`: no SIP over
    /// TCP; 0: any free port). [`GatewayConfig::new`] takes UDP's number.
    pub tcp_port: Option<u16>,
    /// SIP over TLS, if the gateway has a certificate.
    pub tls: Option<SipTls>,
    /// The deployment's internal key. With it, the gateway joins a meeting
    /// for a device under the device's address, and signal throttles each
    /// device's password attempts on their own; without it, every device's
    /// attempts count against the gateway's address together.
    pub internal_key: Option<String>,
    /// The address devices reach this gateway at, in SIP headers and SDP.
    pub advertised_ip: IpAddr,
    /// Signal's base URL, where answered calls join their meetings.
    pub signal_url: String,
    /// Where phone numbers are called; without one, only SIP addresses are.
    pub trunk: Option<SipTrunk>,
    /// How long a call may ring before it is given up.
    pub ring_timeout: Duration,
    /// UDP ports calls' RTP may use (first, last), so a firewall or network
    /// policy can open exactly those; any free port when `None`.
    pub rtp_ports: Option<(u16, u16)>,
    /// How long a device may stay alone in a meeting everyone else left
    /// before it is hung up (one that dialled into an empty meeting waits
    /// for company).
    pub alone_timeout: Duration,
    /// Calls the gateway takes at most at once (ringing or connected);
    /// more are refused as the gateway is full. `None`: no limit.
    pub max_calls: Option<usize>,
}

impl GatewayConfig {
    /// Defaults for a gateway on `sip_listen` reaching signal at `signal_url`.
    pub fn new(sip_listen: SocketAddr, advertised_ip: IpAddr, signal_url: &str) -> Self {
        GatewayConfig {
            sip_listen,
            tcp_port: Some(sip_listen.port()),
            tls: None,
            internal_key: None,
            advertised_ip,
            signal_url: signal_url.to_string(),
            trunk: None,
            ring_timeout: Duration::from_secs(60),
            rtp_ports: None,
            alone_timeout: Duration::from_secs(60),
            max_calls: None,
        }
    }
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The configuration cannot work.
    #[error("SIP gateway configuration: {0}")]
    Config(String),
    /// The SIP stack failed to start.
    #[error("SIP gateway: {0}")]
    Sip(#[from] rsipstack::Error),
}

pub(crate) struct Inner {
    pub(crate) config: GatewayConfig,
    pub(crate) layer: Arc<DialogLayer>,
    /// The gateway's own SIP address (`host:port`) on UDP, in From and Contact.
    pub(crate) local: SocketAddr,
    /// Its address for SIP over TCP, if it listens there.
    pub(crate) tcp: Option<SocketAddr>,
    /// Its address for SIP over TLS, if it listens there.
    pub(crate) tls: Option<SocketAddr>,
    pub(crate) cancel: CancellationToken,
    /// Calls in progress (ringing, or a device dialling in) against
    /// `max_calls`, and the drain ([`SipGateway::drain`]: no new calls).
    calls: WorkCount,
}

impl Inner {
    /// The gateway's Contact for a dialog whose requests came on `transport`.
    pub(crate) fn contact(&self, transport: Transport) -> Option<Uri> {
        let text = match (transport, self.tcp, self.tls) {
            (Transport::Tcp, Some(tcp), _) => format!("sip:yunhui@{tcp};transport=tcp"),
            (Transport::Tls, _, Some(tls)) => format!("sip:yunhui@{tls};transport=tls"),
            _ => format!("sip:yunhui@{}", self.local),
        };
        Uri::try_from(text.as_str()).ok()
    }

    /// Who a join is for: the device at `device`, when the gateway has the
    /// internal key that makes signal believe it.
    pub(crate) fn acting_for(&self, device: Option<IpAddr>) -> Option<ActingFor> {
        Some(ActingFor {
            address: device?,
            internal_key: self.config.internal_key.clone()?,
        })
    }
}

/// The running gateway. Dropping it stops the SIP stack; calls in progress
/// end with it.
pub struct SipGateway {
    inner: Arc<Inner>,
}

impl Drop for SipGateway {
    fn drop(&mut self) {
        self.inner.cancel.cancel();
    }
}

impl SipGateway {
    /// Binds the SIP socket and starts the user agent.
    pub async fn start(config: GatewayConfig) -> Result<Self, GatewayError> {
        if let Some((first, last)) = config.rtp_ports
            && (first == 0 || first > last)
        {
            return Err(GatewayError::Config(format!(
                "the RTP port range {first}-{last} is empty; give first-last with 1 <= first <= last"
            )));
        }
        if config.advertised_ip.is_unspecified() {
            return Err(GatewayError::Config(
                "the advertised address must be one devices can reach, not 0.0.0.0".into(),
            ));
        }
        let external = if config.sip_listen.ip().is_unspecified() {
            if config.sip_listen.port() == 0 {
                return Err(GatewayError::Config(
                    "listening on every address needs a fixed port (e.g. 0.0.0.0:5060)".into(),
                ));
            }
            Some(SocketAddr::new(
                config.advertised_ip,
                config.sip_listen.port(),
            ))
        } else {
            None
        };
        let cancel = CancellationToken::new();
        let transport = TransportLayer::new(cancel.clone());
        let connection = UdpConnection::create_connection(
            config.sip_listen,
            external,
            Some(cancel.child_token()),
        )
        .await?;
        let local: SocketAddr = connection
            .get_addr()
            .addr
            .to_string()
            .parse()
            .map_err(|_| GatewayError::Config("the SIP socket has no IP address".into()))?;
        transport.add_transport(connection.into());
        // The stream listeners bind when the endpoint serves; their ports
        // are claimed here first, so a port in use is an error now (and port
        // 0 becomes a real one).
        let advertised = |bound: SocketAddr| match external {
            Some(_) => SocketAddr::new(config.advertised_ip, bound.port()),
            None => bound,
        };
        let tcp = match config.tcp_port {
            Some(port) => {
                let bound = claim_tcp_port(config.sip_listen.ip(), port, "SIP over TCP")
                    .map_err(GatewayError::Config)?;
                let listener = TcpListenerConnection::new(bound, Some(advertised(bound))).await?;
                transport.add_transport(SipConnection::TcpListener(listener));
                Some(advertised(bound))
            }
            None => None,
        };
        let tls = match &config.tls {
            Some(tls) => {
                check_certificate(tls).map_err(GatewayError::Config)?;
                let bound = claim_tcp_port(config.sip_listen.ip(), tls.port, "SIP over TLS")
                    .map_err(GatewayError::Config)?;
                let listener = TlsListenerConnection::new(
                    bound,
                    Some(advertised(bound)),
                    TlsConfig {
                        cert: Some(tls.cert_pem.clone()),
                        key: Some(tls.key_pem.clone()),
                        ..TlsConfig::default()
                    },
                )
                .await?;
                transport.add_transport(SipConnection::TlsListener(listener));
                Some(advertised(bound))
            }
            None => None,
        };
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport)
            .with_user_agent("Yunhui SIP gateway")
            .build();
        let incoming = endpoint.incoming_transactions()?;
        let layer = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        tokio::spawn(async move { endpoint.serve().await });
        let inner = Arc::new(Inner {
            calls: WorkCount::new(config.max_calls),
            config,
            layer,
            local,
            tcp,
            tls,
            cancel,
        });
        tokio::spawn(answer_requests(incoming, Arc::clone(&inner)));
        tracing::info!(udp = %local, tcp = ?tcp, tls = ?tls, "SIP gateway listening");
        Ok(SipGateway { inner })
    }

    /// Where devices reach the gateway's SIP socket (UDP).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// Where devices reach the gateway over SIP over TCP, if it listens there.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.inner.tcp
    }

    /// Where devices reach the gateway over SIP over TLS, if it listens there.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.inner.tls
    }

    /// Calls in progress (ringing or connected).
    pub fn active_calls(&self) -> usize {
        self.inner.calls.active()
    }

    /// Takes no new calls from now on (the pod is stopping): devices
    /// dialling in are answered 503 Service Unavailable with a Retry-After,
    /// so they try again (another gateway, once this one has left the
    /// Service), and signal's dial requests are refused. Calls in progress
    /// go on.
    pub fn drain(&self) {
        if self.inner.calls.drain() {
            tracing::info!(calls = self.active_calls(), "draining: no new calls");
        }
    }

    /// Whether [`SipGateway::drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.inner.calls.is_draining()
    }

    /// Waits until no call is in progress, at most `within`; whether the
    /// gateway got there.
    pub async fn idle(&self, within: Duration) -> bool {
        self.inner.calls.idle(within).await
    }

    /// The calls in progress and the drain, for the process's stop.
    pub fn calls(&self) -> &WorkCount {
        &self.inner.calls
    }
}

/// Why a draining gateway refuses signal's dial requests.
pub const DRAINING: &str =
    "this SIP gateway is draining (its pod is stopping) and places no new calls";

/// What a device dialling into a draining gateway is told: try again in
/// this many seconds.
const DRAINING_RETRY_AFTER_SECONDS: u32 = 30;

/// Why a full gateway refuses signal's dial requests.
pub const FULL: &str =
    "this SIP gateway carries as many calls as it takes (its maximum); try again when one ends";

/// What a device dialling into a full gateway is told: try again in this
/// many seconds (another gateway may have room, or the autoscaler adds one).
const FULL_RETRY_AFTER_SECONDS: u32 = 10;

/// Answers an INVITE 503 Service Unavailable with a `Retry-After` of `seconds`.
async fn try_again_later(tx: &mut Transaction, seconds: u32) {
    let retry = Header::RetryAfter(RetryAfter::new(seconds.to_string()));
    let _ = tx
        .reply_with(StatusCode::ServiceUnavailable, vec![retry], None)
        .await;
}

/// In-dialog requests (the device's BYE, re-INVITEs, OPTIONS) go to their
/// call; a new INVITE is a device dialling in; the rest is answered here.
async fn answer_requests(
    mut incoming: rsipstack::transaction::TransactionReceiver,
    inner: Arc<Inner>,
) {
    while let Some(mut tx) = incoming.recv().await {
        let inner = Arc::clone(&inner);
        tokio::spawn(async move {
            match inner.layer.match_dialog(&tx) {
                Some(Dialog::Invite(mut dialog)) => {
                    if let Err(e) = dialog.handle(&mut tx).await {
                        tracing::debug!(error = %e, "in-dialog request failed");
                    }
                }
                _ => {
                    let status = match tx.original.method {
                        Method::Ack => return,
                        Method::Options => StatusCode::OK,
                        Method::Invite if inner.calls.is_draining() => {
                            try_again_later(&mut tx, DRAINING_RETRY_AFTER_SECONDS).await;
                            tracing::info!(
                                device = ?device_address(&tx),
                                "a device dialled in while the gateway drains: 503"
                            );
                            return;
                        }
                        Method::Invite => {
                            if !inner.calls.try_begin() {
                                try_again_later(&mut tx, FULL_RETRY_AFTER_SECONDS).await;
                                tracing::warn!(
                                    device = ?device_address(&tx),
                                    calls = inner.calls.active(),
                                    "a device dialled in while the gateway is full: 503"
                                );
                                return;
                            }
                            let outcome = dial_in::answer(&inner, tx).await;
                            inner.calls.end();
                            tracing::info!(outcome, "call into a meeting over");
                            return;
                        }
                        _ => StatusCode::CallTransactionDoesNotExist,
                    };
                    let _ = tx.reply(status).await;
                }
            }
        });
    }
}

/// A gateway in a scaled pool reports its calls to signal and drains when
/// marked ([`yunhui_runtime::worker_report`]).
impl yunhui_runtime::worker_report::Worker for SipGateway {
    fn in_progress(&self) -> u64 {
        self.active_calls() as u64
    }

    fn is_draining(&self) -> bool {
        SipGateway::is_draining(self)
    }

    fn drain(&self) {
        SipGateway::drain(self)
    }
}

impl CallControl for SipGateway {
    fn dial(&self, request: DialRequest, events: CallEvents) -> Result<(), String> {
        if self.is_draining() {
            return Err(DRAINING.into());
        }
        let callee = callee_uri(&request.target, self.inner.config.trunk.as_ref())?;
        let inner = Arc::clone(&self.inner);
        if !inner.calls.try_begin() {
            return Err(FULL.into());
        }
        tokio::spawn(async move {
            let outcome = call(&inner, &request, callee, &events).await;
            inner.calls.end();
            events(outcome);
        });
        Ok(())
    }
}

/// The request URI for a target.
fn callee_uri(target: &DialTarget, trunk: Option<&SipTrunk>) -> Result<Uri, String> {
    let text = match target.normalised()? {
        DialTarget::Sip { uri } => uri,
        DialTarget::Phone { number } => {
            let trunk = trunk.ok_or(
                "calling phone numbers needs a SIP trunk, and this deployment has none configured",
            )?;
            format!("sip:{number}@{}", trunk.address)
        }
    };
    Uri::try_from(text.as_str()).map_err(|e| format!("{text} is not a usable SIP address: {e}"))
}

/// Binds `ip:port` for a moment: the port is free (and port 0 becomes a
/// free one), or the gateway says which it cannot have.
fn claim_tcp_port(ip: IpAddr, port: u16, what: &str) -> Result<SocketAddr, String> {
    std::net::TcpListener::bind((ip, port))
        .and_then(|listener| listener.local_addr())
        .map_err(|e| format!("{what} cannot listen on {ip}:{port}: {e}"))
}

/// Whether the TLS certificate and key are usable together, said now
/// rather than at the first device's handshake.
fn check_certificate(tls: &SipTls) -> Result<(), String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |why: String| format!("SIP over TLS: {why}");
    let certs = CertificateDer::pem_slice_iter(&tls.cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("the certificate file is not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(bad("the certificate file holds no certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&tls.key_pem)
        .map_err(|e| bad(format!("the key file holds no private key: {e}")))?;
    // rsipstack's listener reads PKCS#8 and PKCS#1 keys only.
    if matches!(key, PrivateKeyDer::Sec1(_)) {
        return Err(bad(
            "the key is a SEC1 EC key; give it as PKCS#8 (openssl pkcs8 -topk8 -nocrypt)".into(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // rsipstack's listener takes rustls's process-wide provider: ring, as
    // everywhere in Yunhui (an error only says one is installed already).
    let _ = rustls::crypto::ring::default_provider().install_default();
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            bad(format!(
                "the certificate and key do not make a TLS identity: {e}"
            ))
        })?;
    Ok(())
}

/// The transport a request came on.
pub(crate) fn transport_of(tx: &Transaction) -> Transport {
    tx.connection
        .as_ref()
        .map_or(Transport::Udp, SipConnection::transport)
}

/// The address of the device that sent a request: the peer of the TCP or
/// TLS connection it came on, or for UDP its datagram's source (which the
/// stack writes into the top Via as `received`/`rport` when it differs
/// from what the Via says).
pub(crate) fn device_address(tx: &Transaction) -> Option<IpAddr> {
    if let Some(peer) = tx.connection.as_ref().and_then(|c| c.get_remote_addr()) {
        return peer.get_socketaddr().ok().map(|a| a.ip());
    }
    let via = tx.original.via_header().ok()?;
    let (_, host) = SipConnection::parse_target_from_via(via).ok()?;
    SocketAddr::try_from(host).ok().map(|a| a.ip())
}

/// A UDP socket for a call's RTP, in `range` when there is one.
pub(crate) async fn rtp_socket(
    ip: IpAddr,
    range: Option<(u16, u16)>,
) -> std::io::Result<UdpSocket> {
    let Some((first, last)) = range else {
        return UdpSocket::bind(SocketAddr::new(ip, 0)).await;
    };
    let span = u32::from(last - first) + 1;
    let start = rand::random::<u32>() % span;
    // Every port of the range once, from a random one on.
    for step in 0..span {
        let port = first + ((start + step) % span) as u16;
        if let Ok(socket) = UdpSocket::bind(SocketAddr::new(ip, port)).await {
            return Ok(socket);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        format!("every port of {first}-{last} is in use"),
    ))
}

/// Words for a final response that is not a success.
fn refusal(status: &StatusCode) -> String {
    let what = match status.code() {
        486 | 600 => "busy",
        603 => "declined",
        404 | 604 => "no such number or device",
        480 => "unavailable",
        408 | 487 => "no answer",
        401 | 407 => "the SIP trunk refused the gateway's credentials",
        _ => "refused",
    };
    format!("{what} ({} {status})", status.code())
}

/// Places one call and sees it through; returns its last event.
async fn call(inner: &Inner, request: &DialRequest, callee: Uri, events: &CallEvents) -> CallEvent {
    let failed = |reason: String| CallEvent::Failed { reason };
    let config = &inner.config;
    let socket = match rtp_socket(config.sip_listen.ip(), config.rtp_ports).await {
        Ok(socket) => socket,
        Err(e) => return failed(format!("no RTP port: {e}")),
    };
    let rtp_port = match socket.local_addr() {
        Ok(a) => a.port(),
        Err(e) => return failed(format!("no RTP port: {e}")),
    };
    let offer = sdp::offer(
        SocketAddr::new(config.advertised_ip, rtp_port),
        rand::random::<u32>().into(),
    );
    let Ok(me) = Uri::try_from(format!("sip:yunhui@{}", inner.local).as_str()) else {
        return failed("the gateway's own SIP address is unusable".into());
    };
    // The transport the callee's address asks for (`;transport=tcp`); the
    // stack opens the connection, and the Contact names it.
    let transport = callee
        .params
        .iter()
        .find_map(|p| match p {
            Param::Transport(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(Transport::Udp);
    if !matches!(transport, Transport::Udp | Transport::Tcp) {
        return failed(format!(
            "the gateway calls over UDP or TCP, not {transport} ({callee})"
        ));
    }
    let Some(contact) = inner.contact(transport) else {
        return failed("the gateway's own SIP address is unusable".into());
    };
    let phone = matches!(request.target, DialTarget::Phone { .. });
    let credential = config
        .trunk
        .as_ref()
        .filter(|_| phone)
        .and_then(|t| Some((t.username.clone()?, t.password.clone()?)))
        .map(|(username, password)| Credential {
            username,
            password,
            ..Default::default()
        });
    let (state_tx, mut states) = inner.layer.new_dialog_state_channel();
    let option = InviteOption {
        caller_display_name: Some(format!("Yunhui {}", request.meeting_number)),
        caller: me,
        callee,
        contact,
        content_type: Some("application/sdp".into()),
        offer: Some(offer.into_bytes()),
        credential,
        ..Default::default()
    };
    let (dialog, mut invite) = match inner.layer.do_invite_async(option, state_tx) {
        Ok(started) => started,
        Err(e) => return failed(format!("the call could not be placed: {e}")),
    };
    let ring_deadline = tokio::time::sleep(config.ring_timeout);
    tokio::pin!(ring_deadline);
    let mut rang = false;
    let outcome = loop {
        tokio::select! {
            finished = &mut invite => break finished,
            Some(state) = states.recv() => {
                if matches!(state, DialogState::Early(..)) && !rang {
                    rang = true;
                    events(CallEvent::Ringing);
                }
            }
            _ = &mut ring_deadline => {
                let _ = dialog.cancel().await;
                let _ = tokio::time::timeout(Duration::from_secs(5), &mut invite).await;
                return failed(format!("no answer within {} s", config.ring_timeout.as_secs()));
            }
            _ = inner.cancel.cancelled() => {
                let _ = dialog.cancel().await;
                return failed("the SIP gateway is shutting down".into());
            }
        }
    };
    let (dialog_id, response) = match outcome {
        Ok(Ok(answered)) => answered,
        Ok(Err(e)) => return failed(format!("unreachable: {e}")),
        Err(e) => return failed(format!("the call task failed: {e}")),
    };
    let response = match response {
        Some(r) if r.status_code.kind() == StatusCodeKind::Successful => r,
        Some(r) => return failed(refusal(&r.status_code)),
        None => return failed("no answer".into()),
    };
    let hang_up = |reason: String| async {
        let _ = dialog.bye().await;
        inner.layer.remove_dialog(&dialog_id);
        reason
    };
    let answer = match sdp::answer(response.body()) {
        Ok(answer) => answer,
        Err(e) => return failed(hang_up(e).await),
    };
    let session = MeetingSession::join(
        &config.signal_url,
        JoinOptions {
            meeting_number: request.meeting_number.clone(),
            display_name: request.display_name.clone(),
            dial_ticket: Some(request.ticket.clone()),
            media_bind: Some(SocketAddr::new(config.sip_listen.ip(), 0).to_string()),
            admission_timeout: Some(Duration::from_secs(30)),
            ..JoinOptions::default()
        },
    )
    .await;
    let session = match session {
        Ok(session) => session,
        Err(e) => return failed(hang_up(format!("could not join the meeting: {e}")).await),
    };
    let leg = RtpLeg {
        socket,
        remote: answer.rtp,
        codec: answer.codec,
    };
    let call = Connected {
        inner,
        dialog: &dialog,
        dialog_id: &dialog_id,
        states: &mut states,
    };
    match call.run(session, leg, Some(events)).await {
        Ok(reason) => CallEvent::Ended { reason },
        Err(reason) => failed(reason),
    }
}

/// A call that is answered and in its meeting, from either direction.
pub(crate) struct Connected<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) dialog: &'a rsipstack::dialog::invite_dialog::InviteDialog,
    pub(crate) dialog_id: &'a rsipstack::dialog::DialogId,
    pub(crate) states: &'a mut rsipstack::dialog::dialog::DialogStateReceiver,
}

impl Connected<'_> {
    pub(crate) async fn hang_up(&self) {
        let _ = self.dialog.bye().await;
        self.inner.layer.remove_dialog(self.dialog_id);
    }

    /// Publishes the call's audio, bridges it until one side ends the call,
    /// and hangs up. `Ok` says why an established call ended; `Err` why it
    /// never got its audio into the meeting.
    pub(crate) async fn run(
        self,
        mut session: MeetingSession,
        leg: RtpLeg,
        events: Option<&CallEvents>,
    ) -> Result<String, String> {
        let config = &self.inner.config;
        let mut meeting_events = session.events();
        let _ = session.set_video_enabled(false);
        let audio = match session.publish_audio().await {
            Ok(audio) => Some(audio),
            // A webinar's attendee listens: the device hears the meeting,
            // and the meeting does not hear the device.
            Err(SessionError::Refused {
                code: ErrorCode::NotAllowed,
                message,
            }) => {
                tracing::info!(%message, "the meeting does not take the call's audio: the device listens");
                None
            }
            Err(e) => {
                session.leave().await;
                self.hang_up().await;
                return Err(format!("could not publish the call's audio: {e}"));
            }
        };
        let mut listening = audio.is_none();
        let (grant, granted) = tokio::sync::mpsc::channel(1);
        let packets = session.subscriber().audio_packets(512);
        if let Some(events) = events {
            events(CallEvent::Answered {
                participant_id: session.participant_id().to_string(),
            });
        }
        let mut bridge = tokio::spawn(bridge::run(leg, audio, granted, packets));
        let mut alone_since: Option<tokio::time::Instant> = None;
        // A device that dialled into an empty meeting waits for company;
        // only once others have come and gone is it alone.
        let mut had_company = false;
        let mut look_around = tokio::time::interval(Duration::from_millis(500));
        // Until one side ends it.
        let leave_because = loop {
            tokio::select! {
                _ = look_around.tick() => {
                    // Removed or ended, though the news was missed below (a
                    // lagging event channel drops messages): the session's
                    // own view keeps it.
                    let view = session.view();
                    if view.removed || view.ended.is_some() {
                        break None;
                    }
                    // Nobody left to talk to: hang up rather than hold the line open.
                    let others = view.participants.len().saturating_sub(1);
                    had_company |= others > 0;
                    if had_company && others == 0 {
                        let since = *alone_since.get_or_insert_with(tokio::time::Instant::now);
                        if since.elapsed() >= config.alone_timeout {
                            break Some("everyone else left the meeting".to_string());
                        }
                    } else {
                        alone_since = None;
                    }
                }
                Some(state) = self.states.recv() => {
                    if let DialogState::Terminated(_, reason) = state {
                        break Some(match reason {
                            TerminatedReason::UasBye | TerminatedReason::UacBye => {
                                "the device hung up".to_string()
                            }
                            other => format!("the call dropped ({other:?})"),
                        });
                    }
                }
                message = meeting_events.recv() => match message {
                    // A device has no button to accept with: the host's request is the answer.
                    Ok(ServerMessage::UnmuteRequested) => {
                        if listening {
                            // A webinar's attendee the host allows to talk:
                            // the meeting takes the call's audio from now on.
                            match session.publish_audio().await {
                                Ok(audio) => {
                                    listening = false;
                                    let _ = grant.send(audio).await;
                                }
                                Err(e) => tracing::warn!(error = %e, "the call may talk, but its audio was not taken"),
                            }
                        }
                        let _ = session.set_audio_muted(false);
                    }
                    Ok(ServerMessage::MeetingEnded { .. }) => break None,
                    Ok(ServerMessage::Removed) => break None,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break None,
                },
                result = &mut bridge => {
                    let reason = match result {
                        Ok(Err(e)) => e,
                        _ => "the audio bridge stopped".into(),
                    };
                    break Some(reason);
                }
                _ = self.inner.cancel.cancelled() => break Some("the SIP gateway is shutting down".into()),
            }
        };
        bridge.abort();
        // The device first: leaving the meeting may wait (for the server's
        // `left`, for the connections to close), and the device should not.
        self.hang_up().await;
        let reason = match leave_because {
            Some(reason) => {
                session.leave().await;
                reason
            }
            None => {
                let view = session.view();
                let reason = if view.removed {
                    "removed from the meeting".to_string()
                } else if view.ended.is_some() {
                    "the meeting ended".to_string()
                } else {
                    "the meeting connection closed".to_string()
                };
                session.close().await;
                reason
            }
        };
        Ok(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_need_a_trunk_and_go_to_it() {
        let phone = DialTarget::Phone {
            number: "+86 138 0013 8000".into(),
        };
        assert!(callee_uri(&phone, None).unwrap_err().contains("SIP trunk"));
        let trunk = SipTrunk {
            address: "pbx.example.com:5070".into(),
            username: None,
            password: None,
        };
        assert_eq!(
            callee_uri(&phone, Some(&trunk)).unwrap().to_string(),
            "sip:+8613800138000@pbx.example.com:5070"
        );
        let device = DialTarget::Sip {
            uri: "boardroom@10.0.0.9".into(),
        };
        assert_eq!(
            callee_uri(&device, None).unwrap().to_string(),
            "sip:boardroom@10.0.0.9"
        );
    }

    #[tokio::test]
    async fn rtp_ports_come_from_the_range_until_it_is_used_up() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let probe = std::net::UdpSocket::bind((ip, 0)).unwrap();
        let first = probe.local_addr().unwrap().port();
        drop(probe);
        let a = rtp_socket(ip, Some((first, first))).await.unwrap();
        assert_eq!(a.local_addr().unwrap().port(), first);
        let e = rtp_socket(ip, Some((first, first))).await.unwrap_err();
        assert!(e.to_string().contains("in use"), "{e}");
    }

    #[test]
    fn refusals_are_put_in_words() {
        assert!(refusal(&StatusCode::BusyHere).starts_with("busy (486"));
        assert!(refusal(&StatusCode::Decline).starts_with("declined (603"));
        assert!(refusal(&StatusCode::NotFound).starts_with("no such number"));
    }
}
