//! A subscriber on a network that lets only TLS out (to port 443, say): it
//! reaches the node through nothing but the node's TURN server over TLS.
//!
//! webrtc-rs 0.21 gathers relay candidates over TURN/UDP only (it skips
//! `turns:` URLs; see `yunhui_client::media::IceOptions`), so the TURN/TLS
//! client here is Centricular's sans-IO `turn-client-proto`, as in
//! `tests/turn.rs`, standing between a webrtc-rs peer connection and the
//! network the way a browser's ICE agent stands between its peer connection
//! and its relay candidate:
//!
//! - before the peer connection exists, [`TurnTlsRelay::open`] connects to the
//!   node's TURN/TLS port, allocates with REST-API credentials and binds a
//!   channel to the node's UDP media address (which installs the permission
//!   too), as a browser does for the relay pair it selects;
//! - the peer connection binds one UDP socket on loopback and is told, in the
//!   SFU's offer, that the node's only candidate is the relay's loopback
//!   socket (the node's real UDP candidate is replaced, its TCP ones dropped),
//!   so every datagram it sends (STUN checks, DTLS, SRTP, RTCP) goes to the
//!   node as ChannelData over the TLS connection, and what the node sends to
//!   the relayed address comes back the same way;
//! - its answer carries no candidates: the node is ICE-lite and learns the
//!   subscriber's address from its checks, which arrive from the relayed
//!   address, so the peer connection's own loopback address is never one the
//!   node could use.
//!
//! `turn-client-proto` 0.7 neither pads the channel data it sends over a
//! stream to a multiple of four bytes nor expects the padding in what it
//! receives (RFC 8656 §12.5 requires both; the node's server and browsers do
//! it), so the TLS connection is framed here: what goes out is padded
//! ([`pad_for_stream`]), and what comes in is cut into whole messages
//! without padding ([`Frames`]) and handed to the client one at a time.
//!
//! The node therefore sees what a browser with `iceTransportPolicy: "relay"`
//! and a `turns:` server makes it see: every packet of the subscriber, both
//! ways, through its TURN server over TLS. The extra loopback hop between the
//! peer connection and the TURN client costs the client's process, not the
//! node's. Used by the fan-out benchmark (`--transport turn-tls`).
// Each user of the support module uses part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rtc::ice::network_type::NetworkType;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use turn_client_proto::api::{TurnClientApi, TurnEvent, TurnPollRet, TurnRecvRet};
use turn_client_proto::prelude::DelayedTransmitBuild;
use turn_client_proto::stun::Instant;
use turn_client_proto::stun::agent::Transmit;
use turn_client_proto::stun::auth::Feature;
use turn_client_proto::stun::types::TransportType;
use turn_client_proto::tcp::TurnClientTcp;
use turn_client_proto::types::TurnCredentials;

use super::receiver::{Receiver, Sockets};

/// How long allocating and binding the channel may take (milliseconds on loopback).
const SETUP_LIMIT: Duration = Duration::from_secs(10);

/// The node's TURN server over TLS, as signal describes it to a client.
#[derive(Clone)]
pub struct TurnTlsServer {
    /// The TLS port (the `turns:` URL).
    pub addr: SocketAddr,
    /// The certificate to trust, for the name `localhost`.
    pub cert: CertificateDer<'static>,
    /// REST-API username (`<expiry>:<participant>`), as signal issues it.
    pub username: String,
    /// Its password.
    pub password: String,
}

/// Datagrams that went through a relay, each way.
#[derive(Default)]
pub struct RelayCounters {
    /// From the node, through the relay, to the peer connection.
    pub to_peer: AtomicU64,
    /// From the peer connection, through the relay, to the node.
    pub to_node: AtomicU64,
}

/// A relay on the node's TURN server over TLS, with a loopback UDP socket
/// that forwards to and from the node's media address through it.
pub struct TurnTlsRelay {
    /// The loopback socket the peer connection is told is the node.
    local: SocketAddr,
    /// The relayed address the node sees the subscriber at.
    relayed: SocketAddr,
    /// The node's UDP media address, the one peer of the relay.
    media: SocketAddr,
    counters: Arc<RelayCounters>,
    task: JoinHandle<()>,
}

impl TurnTlsRelay {
    /// Allocates on `server` and binds a channel to `media`, then forwards
    /// until the TLS connection ends or the relay is closed.
    pub async fn open(server: &TurnTlsServer, media: SocketAddr) -> Self {
        let mut connection = Connection::open(server).await;
        let relayed = match connection.next_event().await {
            TurnEvent::AllocationCreated(_, relayed) => relayed,
            other => panic!("no TURN allocation over TLS: {other:?}"),
        };
        let now = connection.now();
        connection
            .turn
            .bind_channel(TransportType::Udp, media, now)
            .expect("bind a channel to the node");
        // The channel binding installs the permission first.
        loop {
            match connection.next_event().await {
                TurnEvent::PermissionCreated(_, ip) if ip == media.ip() => {}
                TurnEvent::ChannelCreated(_, peer) if peer == media => break,
                other => panic!("no TURN channel to the node's media address: {other:?}"),
            }
        }
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("relay socket");
        let local = socket.local_addr().expect("relay socket address");
        let counters = Arc::new(RelayCounters::default());
        let task = tokio::spawn(connection.forward(socket, media, Arc::clone(&counters)));
        Self {
            local,
            relayed,
            media,
            counters,
            task,
        }
    }

    /// The address the node sees the subscriber at.
    pub fn relayed(&self) -> SocketAddr {
        self.relayed
    }

    /// Datagrams relayed so far.
    pub fn counters(&self) -> &RelayCounters {
        &self.counters
    }

    /// `offer` with the node's UDP candidate moved to the relay's loopback
    /// socket and its other candidates (TCP) dropped.
    pub fn rewrite_offer(&self, offer: &str) -> String {
        let media = (self.media.ip().to_string(), self.media.port().to_string());
        let mut rewritten = String::with_capacity(offer.len());
        for line in offer.lines() {
            if line.starts_with("a=candidate:") {
                // foundation component transport priority address port typ …
                let mut fields: Vec<&str> = line.split(' ').collect();
                let is_media = fields.len() > 5
                    && fields[2].eq_ignore_ascii_case("udp")
                    && (fields[4], fields[5]) == (media.0.as_str(), media.1.as_str());
                if !is_media {
                    continue;
                }
                let (ip, port) = (self.local.ip().to_string(), self.local.port().to_string());
                fields[4] = &ip;
                fields[5] = &port;
                rewritten.push_str(&fields.join(" "));
            } else {
                rewritten.push_str(line);
            }
            rewritten.push_str("\r\n");
        }
        rewritten
    }

    /// Stops forwarding; the TLS connection, and with it the allocation, closes.
    pub fn close(&self) {
        self.task.abort();
    }
}

impl Drop for TurnTlsRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TURN client over one TLS connection, driven by hand.
struct Connection {
    turn: TurnClientTcp,
    tls: TlsStream<TcpStream>,
    /// Our end of the TCP connection, and the server's.
    local: SocketAddr,
    server: SocketAddr,
    /// What `turn_client_proto`'s instants count from.
    base: std::time::Instant,
    buf: Vec<u8>,
    frames: Frames,
}

impl Connection {
    async fn open(server: &TurnTlsServer) -> Self {
        let stream = TcpStream::connect(server.addr)
            .await
            .expect("connect to TURN/TLS");
        // Small packets (checks, RTCP) must not wait for Nagle.
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let local = stream.local_addr().expect("local address");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(server.cert.clone()).expect("trust the node");
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = ServerName::try_from("localhost").expect("server name");
        let tls = tokio_rustls::TlsConnector::from(Arc::new(tls))
            .connect(name, stream)
            .await
            .expect("TLS handshake with the node");
        let mut config = turn_client_proto::api::TurnConfig::new(TurnCredentials::new(
            &server.username,
            &server.password,
        ));
        // The REST-API username carries the expiry and participant: it travels
        // in the clear (USERNAME), as browsers send it.
        config.set_anonymous_username(Feature::Disabled);
        Self {
            turn: TurnClientTcp::allocate(local, server.addr, config),
            tls,
            local,
            server: server.addr,
            base: std::time::Instant::now(),
            buf: vec![0; 65536],
            frames: Frames::default(),
        }
    }

    fn now(&self) -> Instant {
        Instant::from_std(self.base)
    }

    /// Writes what the client has to send.
    async fn flush(&mut self) -> std::io::Result<()> {
        let now = self.now();
        while let Some(transmit) = self.turn.poll_transmit(now) {
            self.tls
                .write_all(&pad_for_stream(transmit.data.to_vec()))
                .await?;
        }
        self.tls.flush().await
    }

    /// When the client next wants [`TurnClientApi::poll`] (refreshes,
    /// retransmissions), or None once it is closed.
    fn wake(&mut self) -> Option<tokio::time::Instant> {
        match self.turn.poll(self.now()) {
            TurnPollRet::WaitUntil(at) => Some(at.to_std(self.base).into()),
            TurnPollRet::Closed => None,
            // TCP connections to peers, which a UDP allocation has none of.
            _ => Some(tokio::time::Instant::now() + Duration::from_millis(100)),
        }
    }

    /// Runs the client until it reports an event (allocation, channel).
    async fn next_event(&mut self) -> TurnEvent {
        let limit = tokio::time::Instant::now() + SETUP_LIMIT;
        loop {
            self.flush().await.expect("write to TURN/TLS");
            if let Some(event) = self.turn.poll_event() {
                return event;
            }
            let wake = self.wake().expect("TURN client closed").min(limit);
            assert!(tokio::time::Instant::now() < limit, "no TURN event");
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                read = self.tls.read(&mut self.buf) => {
                    let len = read.expect("read from TURN/TLS");
                    assert!(len > 0, "the node closed TURN/TLS");
                    self.received(len);
                }
            }
        }
    }

    /// Hands the `len` bytes just read into `buf` to the client, one whole
    /// message at a time; returns the peer data among them, with its sender.
    fn received(&mut self, len: usize) -> Vec<(SocketAddr, Vec<u8>)> {
        self.frames.buffer.extend_from_slice(&self.buf[..len]);
        let now = self.now();
        let mut data = Vec::new();
        while let Some(frame) = self.frames.next_frame() {
            let transmit = Transmit::new(&frame[..], TransportType::Tcp, self.server, self.local);
            if let TurnRecvRet::PeerData(peer_data) = self.turn.recv(transmit, now) {
                data.push((peer_data.peer, peer_data.data().to_vec()));
            }
        }
        data
    }

    /// Forwards between `socket` (the peer connection's side) and the node's
    /// `media` address through the relay, until the TLS connection ends.
    async fn forward(mut self, socket: UdpSocket, media: SocketAddr, counters: Arc<RelayCounters>) {
        let mut datagram = vec![0u8; 65536];
        // The peer connection's address, known from its first datagram.
        let mut peer: Option<SocketAddr> = None;
        loop {
            if self.flush().await.is_err() {
                return;
            }
            let Some(wake) = self.wake() else { return };
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                read = self.tls.read(&mut self.buf) => {
                    let Ok(len @ 1..) = read else { return };
                    for (from, data) in self.received(len) {
                        // Nothing to hand on before the peer connection spoke.
                        let Some(peer) = peer.filter(|_| from == media) else { continue };
                        counters.to_peer.fetch_add(1, Ordering::Relaxed);
                        let _ = socket.send_to(&data, peer).await;
                    }
                }
                received = socket.recv_from(&mut datagram) => {
                    let Ok((len, from)) = received else { return };
                    peer = Some(from);
                    let now = Instant::from_std(self.base);
                    match self.turn.send_to(TransportType::Udp, media, &datagram[..len], now) {
                        Ok(Some(transmit)) => {
                            let framed = pad_for_stream(transmit.data.build());
                            if self.tls.write_all(&framed).await.is_err() {
                                return;
                            }
                            counters.to_node.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(None) => {
                            counters.to_node.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {} // no permission (yet): dropped, as a network would
                    }
                }
            }
        }
    }
}

/// Splits a TURN byte stream into STUN messages and channel data, without
/// the channel data's padding.
#[derive(Default)]
struct Frames {
    buffer: Vec<u8>,
}

impl Frames {
    /// The next whole message, if the buffer holds one.
    fn next_frame(&mut self) -> Option<Vec<u8>> {
        let header = self.buffer.get(..4)?;
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let (message, framed) = if header[0] >> 6 == 1 {
            // Channel data (channel numbers 0x4000 to 0x4fff), padded.
            (4 + len, (4 + len).next_multiple_of(4))
        } else {
            // STUN: a 20-byte header, then `len` bytes of attributes.
            (20 + len, 20 + len)
        };
        if self.buffer.len() < framed {
            return None;
        }
        let message = self.buffer[..message].to_vec();
        self.buffer.drain(..framed);
        Some(message)
    }
}

/// Channel data over a stream is padded to a multiple of four bytes (STUN
/// messages always are).
fn pad_for_stream(mut data: Vec<u8>) -> Vec<u8> {
    if data.first().is_some_and(|b| b >> 6 == 1) {
        data.resize(data.len().next_multiple_of(4), 0);
    }
    data
}

/// A subscriber PC whose only way to the node is a [`TurnTlsRelay`]; its
/// packet counters are the [`Receiver`]'s.
pub struct TurnTlsSubscriber {
    receiver: Receiver,
    relay: TurnTlsRelay,
}

impl TurnTlsSubscriber {
    /// Opens the relay to the node's `media` address on `server`, then builds
    /// the peer connection on one loopback UDP socket.
    pub async fn new(server: &TurnTlsServer, media: SocketAddr) -> Self {
        let relay = TurnTlsRelay::open(server, media).await;
        let receiver = Receiver::new(Sockets {
            network: NetworkType::Udp4,
            udp: vec!["127.0.0.1:0".to_owned()],
            tcp: Vec::new(),
        })
        .await;
        Self { receiver, relay }
    }

    /// Applies the SFU's offer, its candidates moved to the relay, and returns
    /// the answer without candidates.
    pub async fn apply_offer(&self, offer: &str) -> String {
        let offer = self.relay.rewrite_offer(offer);
        let answer = self.receiver.answer(&offer, []).await;
        answer
            .lines()
            .filter(|line| !line.starts_with("a=candidate:"))
            .flat_map(|line| [line, "\r\n"])
            .collect()
    }

    /// The relay the subscriber's packets go through.
    pub fn relay(&self) -> &TurnTlsRelay {
        &self.relay
    }

    /// Closes the peer connection, then the relay.
    pub async fn close(&self) {
        self.receiver.close().await;
        self.relay.close();
    }
}

impl Deref for TurnTlsSubscriber {
    type Target = Receiver;

    fn deref(&self) -> &Receiver {
        &self.receiver
    }
}
