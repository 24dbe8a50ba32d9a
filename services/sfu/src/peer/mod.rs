//! One WebRTC peer connection on the node's shared UDP port and TCP port: a
//! sans-IO `rtc::RTCPeerConnection` owned by its own task, fed datagrams by
//! [`crate::demux`], packets of ICE-TCP connections by [`crate::ice_tcp`] and requests by the control API through its mailbox
//! ([`crate::mailbox`]).
//!
//! A participant has two, in two roles (the LiveKit model):
//! - [`publisher`]: the client sends on it. Each published track keeps the
//!   down tracks subscribed to it ([`spreader`]) and hands every packet
//!   straight to their subscriber PCs.
//! - [`subscriber`]: the client receives on it. Each sent track (a
//!   [`crate::forwarding::DownTrack`]) rewrites the packets it is handed for
//!   this subscriber and asks the publisher for keyframes. Its peer connection
//!   runs send-side congestion control (transport-wide sequence numbers, the
//!   subscriber's feedback, Google Congestion Control), whose estimate limits
//!   the layers sent ([`crate::bandwidth`]).
//!
//! What both share is here: the [`Transport`] (the peer connection, ICE before
//! the remote description, the socket) and the task's loop, which hands what
//! the peer connection surfaces to its [`Role`]. Every task runs in a `peer`
//! span carrying its room, participant and role.

mod codecs;
mod publisher;
mod spreader;
mod subscriber;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::ice::tcp_type::TcpType;
use rtc::interceptor::{CongestionControlBuilder, Registry, Slot, TwccSenderBuilder};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent, RTCTrackEventInit};
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::NodeContext;
use crate::bandwidth::{DownlinkEstimator, SendEstimate};
use crate::control::ControlError;
use crate::feedback::{FeedbackToApplication, feedback_slot};
use crate::forwarding::ForwardedPacket;
use crate::mailbox::{Control, PeerHandle, PeerInput};
use crate::participant::Participant;
use crate::room::Room;

pub(crate) use publisher::spawn_publisher;
pub(crate) use subscriber::spawn_subscriber;

/// Datagrams and forwarded packets a peer task can hold before dropping.
const INBOX_CAPACITY: usize = 4096;
/// STUN requests held while the remote description (and so the remote ICE password) is
/// not known yet; beyond this they are dropped and the client's retransmissions count.
const EARLY_STUN_CAPACITY: usize = 32;
/// Inputs handled in a row before the peer connection's output is flushed.
const BATCH: usize = 64;
/// A subscriber's downlink estimate before its first feedback: optimistic, so a
/// new subscriber starts on the layer it wants and a poor link is found by the
/// delay and loss it then shows (the estimate falls to what arrives).
const INITIAL_ESTIMATE: f64 = 3_000_000.0;
/// The lowest estimate: about the lowest simulcast layer with audio.
const MIN_ESTIMATE: f64 = 100_000.0;
/// The highest estimate.
const MAX_ESTIMATE: f64 = 50_000_000.0;

fn transport_error(reason: impl std::fmt::Display) -> ControlError {
    ControlError::Transport {
        reason: reason.to_string(),
    }
}

fn invalid_sdp(reason: impl std::fmt::Display) -> ControlError {
    ControlError::InvalidSdp {
        reason: reason.to_string(),
    }
}

fn random_token(len: usize) -> String {
    use rand::Rng;
    use rand::distributions::Alphanumeric;
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A peer connection with the node's candidates; with `estimate`, one that sends
/// media under congestion control and writes its estimate there.
///
/// The default interceptors already offer the transport-wide sequence number
/// extension and `transport-cc` feedback (they report what the node receives).
/// Congestion control adds the sender's half: the numbering and the send
/// history with its estimator. No pacer: packets leave as they are forwarded
/// (a pacer would hold every packet of every subscriber in a queue and add its
/// delay); the layer choice keeps the rate under the estimate.
fn build_peer_connection(
    ctx: &NodeContext,
    ufrag: &str,
    pwd: &str,
    estimate: Option<&Arc<SendEstimate>>,
) -> Result<RTCPeerConnection, rtc::shared::error::Error> {
    let mut engine = codecs::media_engine()?;
    let mut registry = register_default_interceptors(Registry::new(), &mut engine)?;
    let feedback = match estimate {
        Some(estimate) => {
            registry = registry
                .with(Slot::TwccSender, TwccSenderBuilder::new().build())
                .with(
                    Slot::CongestionControl,
                    CongestionControlBuilder::new(DownlinkEstimator::new(
                        INITIAL_ESTIMATE,
                        MIN_ESTIMATE,
                        MAX_ESTIMATE,
                    ))
                    .build(),
                );
            FeedbackToApplication::with_estimate(Arc::clone(estimate))
        }
        None => FeedbackToApplication::default(),
    };
    let registry = registry.with(feedback_slot(), feedback);
    let settings = SettingEngineBuilder::new()
        .with_lite(true)
        .with_ice_credentials(ufrag.to_owned(), pwd.to_owned())
        .build();
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(settings)
        .with_media_engine(engine)
        .with_interceptor_registry(registry)
        .build(Instant::now())?;
    let udp = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: ctx.advertised.ip().to_string(),
            port: ctx.advertised.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    // RFC 6544: the node only accepts connections, on its one TCP port.
    let tcp = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "tcp".to_owned(),
            address: ctx.advertised_tcp.ip().to_string(),
            port: ctx.advertised_tcp.port(),
            component: 1,
            ..Default::default()
        },
        tcp_type: TcpType::Passive,
    }
    .new_candidate_host()?;
    pc.add_local_candidate(RTCIceCandidate::from(&udp).to_json()?)?;
    pc.add_local_candidate(RTCIceCandidate::from(&tcp).to_json()?)?;
    pc.add_local_candidate(RTCIceCandidateInit::default())?;
    Ok(pc)
}

/// What a role does with its requests and with what its peer connection surfaces.
trait Role: Send + 'static {
    /// The requests of this role ([`crate::mailbox`]).
    type Command: Send + 'static;

    /// Handles one request from the control API or another peer task.
    fn on_command(&mut self, transport: &mut Transport, command: Self::Command);

    /// A packet a publisher PC handed to this one.
    fn on_forward(&mut self, _transport: &mut Transport, _packet: Arc<ForwardedPacket>) {}

    /// The client started sending a track (or another simulcast layer of one).
    fn on_track(&mut self, _transport: &mut Transport, _track: RTCTrackEventInit) {}

    /// DTLS is up: media can be sent from now on.
    fn on_connected(&mut self, _transport: &mut Transport) {}

    /// An RTP packet from the client.
    fn on_rtp(
        &mut self,
        _transport: &mut Transport,
        _track_id: &str,
        _packet: rtc::rtp::Packet,
        _received_at: Instant,
    ) {
    }

    /// RTCP from the client that reached the application (keyframe requests,
    /// [`crate::feedback`]).
    fn on_rtcp(
        &mut self,
        _transport: &mut Transport,
        _track_id: &str,
        _packets: &[Box<dyn rtc::rtcp::packet::Packet>],
    ) {
    }
}

/// A packet from the client: where from, over which transport, when, what.
struct Received {
    from: SocketAddr,
    protocol: TransportProtocol,
    at: Instant,
    data: BytesMut,
}

/// The peer connection on the node's shared socket and TCP port, as both roles use it.
struct Transport {
    pc: RTCPeerConnection,
    ctx: Arc<NodeContext>,
    ufrag: String,
    /// Connectivity checks that arrived before the remote description: a browser starts
    /// them as soon as it has applied the SFU's offer, before its answer gets here, and
    /// `rtc` cannot answer them without the remote ICE password.
    early_stun: Vec<Received>,
    /// The ICE-TCP connections tied to this peer connection, by client address: where
    /// packets the peer connection sends over TCP go ([`crate::ice_tcp`]).
    tcp_links: HashMap<SocketAddr, mpsc::Sender<BytesMut>>,
    /// DTLS is up: SRTP can be written. Media written before then is dropped by `rtc`.
    connected: bool,
    /// The participant's count of connected peer connections, kept by this
    /// one while it is connected (how the node tells a room somebody uses).
    connected_peers: Arc<AtomicU32>,
    /// Arrival instants of packets forwarded since the last flush, for the delay histogram.
    forwarded: Vec<Instant>,
}

impl Transport {
    /// A new peer connection with fresh ICE credentials, its one candidate the
    /// node's advertised address.
    fn open(
        ctx: Arc<NodeContext>,
        connected_peers: Arc<AtomicU32>,
        estimate: Option<&Arc<SendEstimate>>,
    ) -> Result<Self, ControlError> {
        let ufrag = random_token(16);
        let pwd = random_token(32);
        let pc = build_peer_connection(&ctx, &ufrag, &pwd, estimate).map_err(transport_error)?;
        Ok(Self {
            pc,
            ctx,
            ufrag,
            early_stun: Vec::new(),
            tcp_links: HashMap::new(),
            connected: false,
            connected_peers,
            forwarded: Vec::new(),
        })
    }

    /// Whether DTLS is up.
    fn connected(&self) -> bool {
        self.connected
    }

    /// Counts a packet of `bytes` sent to the client that arrived at `received_at`.
    fn count_forwarded(&mut self, bytes: u64, received_at: Instant) {
        self.ctx.metrics.forwarded_packets.inc();
        self.ctx.metrics.forwarded_bytes.inc_by(bytes);
        self.forwarded.push(received_at);
    }

    /// Takes a packet from the socket or an ICE-TCP connection. Returns whether the
    /// peer connection read it (connectivity checks that come before the remote
    /// description are held).
    fn receive(&mut self, received: Received) -> bool {
        if self.pc.remote_description().is_none()
            && crate::demux::stun_local_ufrag(&received.data).is_some()
        {
            if self.early_stun.len() < EARLY_STUN_CAPACITY {
                self.early_stun.push(received);
            }
            return false;
        }
        self.read(received);
        true
    }

    /// Feeds the connectivity checks held by [`Transport::receive`] to the peer
    /// connection, once it knows the remote ICE credentials.
    fn replay_early_stun(&mut self) {
        if self.pc.remote_description().is_none() {
            return;
        }
        for received in std::mem::take(&mut self.early_stun) {
            self.read(Received {
                at: Instant::now(),
                ..received
            });
        }
    }

    fn read(&mut self, received: Received) {
        let local_addr = if received.protocol == TransportProtocol::TCP {
            self.ctx.advertised_tcp
        } else {
            self.ctx.advertised
        };
        let result = self.pc.handle_read(TaggedBytesMut {
            now: received.at,
            transport: TransportContext {
                local_addr,
                peer_addr: received.from,
                ecn: None,
                transport_protocol: received.protocol,
            },
            message: received.data,
        });
        if let Err(err) = result {
            tracing::trace!(error = %err, "packet rejected");
        }
    }

    /// Sends `packet` to `to` over its ICE-TCP connection. A full connection drops
    /// it; a closed one is forgotten.
    fn send_tcp(&mut self, to: SocketAddr, packet: BytesMut) {
        let Some(link) = self.tcp_links.get(&to) else {
            tracing::trace!(peer = %to, "no ice-tcp connection to send on");
            return;
        };
        match link.try_send(packet) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::trace!(peer = %to, "ice-tcp connection full: packet dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.tcp_links.remove(&to);
            }
        }
    }

    /// Sends what the peer connection has to send, and records forwarding delays.
    async fn flush(&mut self) {
        while let Some(out) = self.pc.poll_write() {
            if out.transport.transport_protocol == TransportProtocol::TCP {
                self.send_tcp(out.transport.peer_addr, out.message);
                continue;
            }
            if let Err(err) = self
                .ctx
                .socket
                .send_to(&out.message, out.transport.peer_addr)
                .await
            {
                tracing::debug!(error = %err, peer = %out.transport.peer_addr, "udp send failed");
            }
        }
        if !self.forwarded.is_empty() {
            let now = Instant::now();
            for received in self.forwarded.drain(..) {
                self.ctx
                    .metrics
                    .forwarding_delay
                    .observe(now.saturating_duration_since(received).as_secs_f64());
            }
        }
    }

    /// Counts this peer connection connected, or not any more.
    fn set_connected(&mut self, connected: bool) -> bool {
        let was = std::mem::replace(&mut self.connected, connected);
        match (was, connected) {
            (false, true) => {
                self.connected_peers.fetch_add(1, Ordering::Relaxed);
            }
            (true, false) => {
                self.connected_peers.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
        was
    }

    /// Closes the peer connection and stops routing datagrams to it.
    async fn close(mut self) {
        self.set_connected(false);
        if let Err(err) = self.pc.close() {
            tracing::debug!(error = %err, "closing peer connection failed");
        }
        self.flush().await;
        self.ctx.demux.lock().unregister(&self.ufrag);
    }
}

/// Opens a peer connection for `participant` of `room` in the role `make` builds
/// (given the new task's media inbox), registers its ICE username with the
/// demultiplexer and spawns its task. With `estimate`, the peer connection runs
/// congestion control on what it sends ([`build_peer_connection`]).
fn spawn<R: Role>(
    room: &Room,
    participant: &Participant,
    role: &'static str,
    estimate: Option<&Arc<SendEstimate>>,
    make: impl FnOnce(mpsc::Sender<PeerInput>) -> R,
) -> Result<PeerHandle<R::Command>, ControlError> {
    let span = tracing::info_span!("peer", room = %room.id, participant = %participant.id, role);
    let ctx = Arc::clone(&room.ctx);
    let connected_peers = Arc::clone(&participant.connected_peers);
    let transport =
        span.in_scope(|| Transport::open(Arc::clone(&ctx), connected_peers, estimate))?;
    let (inbox, inputs) = mpsc::channel(INBOX_CAPACITY);
    let (commands, requests) = mpsc::unbounded_channel();
    ctx.demux.lock().register(&transport.ufrag, inbox.clone());
    let task_guard = ctx.metrics.task_guard();
    let pc_guard = ctx.metrics.peer_connection_guard();
    let role = make(inbox);
    let task = tokio::spawn(
        async move {
            let _guards = (task_guard, pc_guard);
            run(transport, role, requests, inputs).await;
        }
        .instrument(span),
    );
    Ok(PeerHandle::new(commands, task))
}

/// The peer task: requests first, then media and timers, until closed.
async fn run<R: Role>(
    mut transport: Transport,
    mut role: R,
    mut requests: mpsc::UnboundedReceiver<Control<R::Command>>,
    mut inputs: mpsc::Receiver<PeerInput>,
) {
    const IDLE: Duration = Duration::from_secs(3600);
    loop {
        surface(&mut transport, &mut role);
        transport.flush().await;
        let deadline = transport
            .pc
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + IDLE);
        tokio::select! {
            biased;
            request = requests.recv() => match request {
                Some(Control::Request(command)) => role.on_command(&mut transport, command),
                Some(Control::Close) | None => break,
            },
            input = inputs.recv() => {
                let Some(input) = input else { break };
                take_input(&mut transport, &mut role, input);
                // Take whatever else is queued before flushing, so bursts share one flush.
                for _ in 1..BATCH {
                    match inputs.try_recv() {
                        Ok(input) => take_input(&mut transport, &mut role, input),
                        Err(_) => break,
                    }
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                if let Err(err) = transport.pc.handle_timeout(Instant::now()) {
                    tracing::debug!(error = %err, "peer timeout handling failed");
                }
            }
        }
    }
    transport.close().await;
}

fn take_input<R: Role>(transport: &mut Transport, role: &mut R, input: PeerInput) {
    match input {
        PeerInput::Datagram {
            from,
            protocol,
            at,
            data,
        } => {
            let received = Received {
                from,
                protocol,
                at,
                data,
            };
            if transport.receive(received) {
                // Reads may be ready now: forward promptly rather than after the batch.
                surface(transport, role);
            }
        }
        PeerInput::TcpConnection { from, link } => {
            tracing::debug!(client = %from, "ice-tcp connection tied");
            transport.tcp_links.insert(from, link);
        }
        PeerInput::Forward(packet) => role.on_forward(transport, packet),
    }
}

/// Hands the role what the peer connection has surfaced: events, then reads.
fn surface<R: Role>(transport: &mut Transport, role: &mut R) {
    while let Some(event) = transport.pc.poll_event() {
        match event {
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(track)) => {
                role.on_track(transport, track);
            }
            RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                tracing::debug!(%state, "peer connection state changed");
                let connected = state == RTCPeerConnectionState::Connected;
                let was_connected = transport.set_connected(connected);
                if connected && !was_connected {
                    role.on_connected(transport);
                }
            }
            _ => {}
        }
    }
    while let Some(TaggedRTCMessage { now, message }) = transport.pc.poll_read() {
        match message {
            RTCMessage::RtpPacket(track_id, packet) => {
                role.on_rtp(transport, &track_id, packet, now);
            }
            RTCMessage::RtcpPacket(track_id, packets) => {
                role.on_rtcp(transport, &track_id, &packets);
            }
            _ => {}
        }
    }
}
