//! One TURN client: a UDP source address or one TCP or TLS connection, with a
//! sans-IO TURN server of its own ([`TurnServer`]) and at most one relay
//! socket. A session per client keeps the server's state (nonces, users,
//! allocation) with the client: it is gone when the client goes, so expired
//! users and forgotten clients never pile up on a busy node.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant as TokioInstant;
use tracing::Instrument;
use turn_server_proto::api::{
    SocketAllocateError, TcpConnectError, Transmit, TurnServerApi, TurnServerPollRet,
};
use turn_server_proto::server::TurnServer;
use turn_server_proto::stun::Instant;
use turn_server_proto::stun::types::TransportType;
use turn_server_proto::types::AddressFamily;
use yunhui_proto::turn::REALM;

use super::screen::{Screened, screen};
use super::{AllocationGuard, Shared};

/// Usernames one session takes at most (a client keeps one; a renewal adds one).
const MAX_USERS: usize = 4;
/// How long a session without an allocation waits for its client.
const IDLE: std::time::Duration = std::time::Duration::from_secs(30);
/// Bytes read at once, from a stream or a relay socket.
const READ_CHUNK: usize = 16 * 1024;

/// A byte stream to a client: TCP, or TLS over TCP.
pub(crate) trait ClientStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> ClientStream for S {}

/// How a session talks to its client.
pub(crate) enum ClientLink {
    /// Datagrams of one source address on the shared UDP port, handed over by
    /// the port's receive loop.
    Datagrams {
        /// The TURN UDP port's socket, to answer on.
        socket: Arc<UdpSocket>,
        /// This client's datagrams.
        inbox: mpsc::Receiver<Vec<u8>>,
    },
    /// One connection (TCP or TLS): STUN messages and channel data, framed by
    /// their own lengths (channel data padded to four bytes, RFC 8656 §12.5).
    Stream(Box<dyn ClientStream>),
}

/// Splits a client's byte stream into STUN messages and channel data.
#[derive(Default)]
struct StreamFramer {
    buffer: Vec<u8>,
}

/// What a stream holds that is neither STUN nor channel data.
#[derive(Debug)]
struct NotTurn;

impl StreamFramer {
    /// The next whole packet, without channel data's padding.
    fn next_packet(&mut self) -> Result<Option<Vec<u8>>, NotTurn> {
        if self.buffer.len() < 4 {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([self.buffer[2], self.buffer[3]]));
        let (packet, framed) = match self.buffer[0] {
            // STUN: two zero bits, then the magic cookie at bytes 4..8.
            0x00..=0x3f => {
                if self.buffer.len() < 8 {
                    return Ok(None);
                }
                if self.buffer[4..8] != [0x21, 0x12, 0xa4, 0x42] {
                    return Err(NotTurn);
                }
                (20 + len, 20 + len)
            }
            // Channel data: channel numbers 0x4000 to 0x4fff (RFC 8656 §12).
            0x40..=0x4f => (4 + len, (4 + len).next_multiple_of(4)),
            _ => return Err(NotTurn),
        };
        if self.buffer.len() < framed {
            return Ok(None);
        }
        let packet = self.buffer[..packet].to_vec();
        self.buffer.drain(..framed);
        Ok(Some(packet))
    }
}

/// Channel data over a stream is padded to a multiple of four bytes.
fn pad_for_stream(mut data: Vec<u8>) -> Vec<u8> {
    if data.first().is_some_and(|b| b >> 6 == 1) {
        data.resize(data.len().next_multiple_of(4), 0);
    }
    data
}

/// The relay of the session's allocation.
struct Relay {
    socket: UdpSocket,
    /// The relayed address as the client was told it (advertised IP).
    addr: SocketAddr,
    _guard: AllocationGuard,
}

/// What came from the client.
enum Input {
    Datagram(Vec<u8>),
    Bytes(usize),
    Closed,
    Failed(std::io::Error),
}

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
enum Ended {
    #[error("the client went quiet without an allocation")]
    Idle,
    #[error("the client closed the connection")]
    Closed,
    #[error("the node is shutting down")]
    Shutdown,
    #[error("the connection carried something other than TURN")]
    NotTurn,
    #[error("the TURN server closed the connection")]
    ServerClosed,
    #[error("{0}")]
    Io(std::io::Error),
}

/// One client's session.
pub(crate) struct Session {
    server: TurnServer,
    transport: TransportType,
    client: SocketAddr,
    listen: SocketAddr,
    shared: Arc<Shared>,
    relay: Option<Relay>,
    users: Vec<String>,
    participant: Option<String>,
    last_heard: TokioInstant,
    /// What to send the client, in order.
    to_client: Vec<Vec<u8>>,
}

impl Session {
    /// A session for `client`, reaching the node at `listen`.
    pub(crate) fn new(
        transport: TransportType,
        listen: SocketAddr,
        client: SocketAddr,
        shared: Arc<Shared>,
    ) -> Session {
        Session {
            server: TurnServer::new(transport, listen, REALM.to_owned()),
            transport,
            client,
            listen,
            shared,
            relay: None,
            users: Vec::new(),
            participant: None,
            last_heard: TokioInstant::now(),
            to_client: Vec::new(),
        }
    }

    /// Serves the client until it goes, its session idles out or the node stops.
    pub(crate) async fn run(self, link: ClientLink, shutdown: watch::Receiver<bool>) {
        let span = tracing::info_span!(
            "turn",
            client = %self.client,
            transport = ?self.transport,
            participant = tracing::field::Empty
        );
        async move {
            let mut session = self;
            let ended = session.serve(link, shutdown).await;
            tracing::debug!(reason = %ended, "TURN session ended");
        }
        .instrument(span)
        .await;
    }

    fn now(&self) -> Instant {
        Instant::from_std(self.shared.base)
    }

    async fn serve(&mut self, mut link: ClientLink, mut shutdown: watch::Receiver<bool>) -> Ended {
        let mut framer = StreamFramer::default();
        let mut read_buf = vec![0u8; READ_CHUNK];
        let mut relay_buf = vec![0u8; READ_CHUNK];
        loop {
            let wake = match self.drive() {
                Ok(wake) => wake,
                Err(ended) => return ended,
            };
            if let Err(ended) = self.flush(&mut link).await {
                return ended;
            }
            let idle_at = self.last_heard + IDLE;
            let relay = self.relay.as_ref().map(|r| &r.socket);
            tokio::select! {
                _ = shutdown.changed() => return Ended::Shutdown,
                _ = tokio::time::sleep_until(wake) => {}
                _ = tokio::time::sleep_until(idle_at), if self.relay.is_none() => return Ended::Idle,
                received = async {
                    match relay {
                        Some(socket) => socket.recv_from(&mut relay_buf).await,
                        None => std::future::pending().await,
                    }
                } => match received {
                    Ok((len, from)) => self.take_from_peer(&relay_buf[..len], from),
                    Err(error) => tracing::debug!(%error, "relay socket receive failed"),
                },
                input = async {
                    match &mut link {
                        ClientLink::Datagrams { inbox, .. } => match inbox.recv().await {
                            Some(datagram) => Input::Datagram(datagram),
                            None => Input::Closed,
                        },
                        ClientLink::Stream(stream) => match stream.read(&mut read_buf).await {
                            Ok(0) => Input::Closed,
                            Ok(len) => Input::Bytes(len),
                            Err(error) => Input::Failed(error),
                        },
                    }
                } => match input {
                    Input::Closed => return Ended::Closed,
                    Input::Failed(error) => return Ended::Io(error),
                    Input::Datagram(datagram) => self.take_from_client(datagram),
                    Input::Bytes(len) => {
                        framer.buffer.extend_from_slice(&read_buf[..len]);
                        loop {
                            match framer.next_packet() {
                                Ok(Some(packet)) => self.take_from_client(packet),
                                Ok(None) => break,
                                Err(NotTurn) => return Ended::NotTurn,
                            }
                        }
                    }
                },
            }
        }
    }

    /// Sends what is queued for the client.
    async fn flush(&mut self, link: &mut ClientLink) -> Result<(), Ended> {
        for data in self.to_client.drain(..) {
            match link {
                ClientLink::Datagrams { socket, .. } => {
                    if let Err(error) = socket.send_to(&data, self.client).await {
                        tracing::debug!(%error, "could not answer the client");
                    }
                }
                ClientLink::Stream(stream) => {
                    stream
                        .write_all(&pad_for_stream(data))
                        .await
                        .map_err(Ended::Io)?;
                }
            }
        }
        if let ClientLink::Stream(stream) = link {
            stream.flush().await.map_err(Ended::Io)?;
        }
        Ok(())
    }

    /// One whole message or channel data from the client.
    fn take_from_client(&mut self, data: Vec<u8>) {
        self.last_heard = TokioInstant::now();
        match screen(
            &data,
            &self.shared.secret,
            self.shared.media.advertised.ip(),
            SystemTime::now(),
        ) {
            Screened::Unsigned => {}
            Screened::Refused(reason) => {
                self.shared.metrics.refused_credentials.inc();
                tracing::info!(%reason, "TURN credentials refused");
            }
            Screened::Valid {
                username,
                password,
                participant,
            } => {
                if !self.users.contains(&username) && self.users.len() < MAX_USERS {
                    self.server.add_user(username.clone(), password);
                    self.users.push(username);
                }
                if self.participant.is_none() {
                    tracing::Span::current().record("participant", participant.as_str());
                    self.participant = Some(participant);
                }
            }
            Screened::Forbidden {
                participant,
                peer,
                answer,
            } => {
                self.shared.metrics.refused_peers.inc();
                tracing::info!(%participant, %peer, "TURN peer refused: only this node's media address can be reached");
                self.to_client.push(answer);
                return;
            }
        }
        let now = self.now();
        let transmit = Transmit::new(data, self.transport, self.client, self.listen);
        if let Some(out) = self.server.recv(transmit, now) {
            self.dispatch(out.build());
        }
    }

    /// A datagram that reached the relay socket.
    fn take_from_peer(&mut self, data: &[u8], from: SocketAddr) {
        let Some(relay) = &self.relay else { return };
        // Only the node's own media socket talks to relays; it answers from
        // its local address, which the client knows as the advertised one.
        if from != self.shared.media.local {
            return;
        }
        let transmit = Transmit::new(
            data,
            TransportType::Udp,
            self.shared.media.advertised,
            relay.addr,
        );
        let now = self.now();
        if let Some(out) = self.server.recv(transmit, now) {
            let out = out.build();
            self.shared.metrics.relayed_bytes.inc_by(data.len() as u64);
            self.dispatch(out);
        }
    }

    /// Routes what the server sends: to the client, or out of the relay.
    fn dispatch(&mut self, transmit: Transmit<Vec<u8>>) {
        if transmit.to == self.client {
            self.to_client.push(transmit.data);
            return;
        }
        let Some(relay) = &self.relay else { return };
        if transmit.from != relay.addr {
            return;
        }
        // Permissions are by IP; the port is held here: media port only.
        if transmit.to != self.shared.media.advertised {
            tracing::debug!(to = %transmit.to, "relayed data to another port of this node dropped");
            return;
        }
        self.shared
            .metrics
            .relayed_bytes
            .inc_by(transmit.data.len() as u64);
        if let Err(error) = relay
            .socket
            .try_send_to(&transmit.data, self.shared.media.local)
        {
            tracing::debug!(%error, "relay send failed");
        }
    }

    /// Lets the server make progress: allocations, expiries, its own
    /// transmits. Returns when to come back.
    fn drive(&mut self) -> Result<TokioInstant, Ended> {
        loop {
            let now = self.now();
            while let Some(transmit) = self.server.poll_transmit(now) {
                self.dispatch(transmit);
            }
            match self.server.poll(now) {
                TurnServerPollRet::WaitUntil(at) => {
                    let at = at.to_std(self.shared.base);
                    return Ok(TokioInstant::from_std(at));
                }
                TurnServerPollRet::AllocateSocket {
                    transport,
                    listen_addr,
                    client_addr,
                    allocation_transport,
                    family,
                } => {
                    let result = self.allocate(allocation_transport, family);
                    self.server.allocated_socket(
                        transport,
                        listen_addr,
                        client_addr,
                        allocation_transport,
                        family,
                        result,
                        now,
                    );
                }
                TurnServerPollRet::TcpConnect {
                    relayed_addr,
                    peer_addr,
                    listen_addr,
                    client_addr,
                } => {
                    // TCP relays (RFC 6062) are not offered.
                    self.server.tcp_connected(
                        relayed_addr,
                        peer_addr,
                        listen_addr,
                        client_addr,
                        Err(TcpConnectError::Forbidden),
                        now,
                    );
                }
                TurnServerPollRet::TcpClose { remote_addr, .. } => {
                    if remote_addr == self.client {
                        return Err(Ended::ServerClosed);
                    }
                }
                TurnServerPollRet::SocketClose { listen_addr, .. } => {
                    if self.relay.as_ref().is_some_and(|r| r.addr == listen_addr) {
                        tracing::info!(relay = %listen_addr, "TURN allocation ended");
                        self.relay = None;
                        self.last_heard = TokioInstant::now();
                    }
                }
            }
        }
    }

    /// Binds the relay socket of a new allocation, within the node's limits.
    fn allocate(
        &mut self,
        allocation_transport: TransportType,
        family: AddressFamily,
    ) -> Result<SocketAddr, SocketAllocateError> {
        let participant = self.participant.clone().unwrap_or_default();
        if allocation_transport != TransportType::Udp {
            tracing::info!(%participant, "TURN allocation refused: only UDP relays are offered");
            return Err(SocketAllocateError::InsufficientCapacity);
        }
        let ours = match self.shared.media.advertised.ip() {
            std::net::IpAddr::V4(_) => AddressFamily::IPV4,
            std::net::IpAddr::V6(_) => AddressFamily::IPV6,
        };
        if family != ours || self.relay.is_some() {
            return Err(SocketAllocateError::AddressFamilyNotSupported);
        }
        let guard = match self.shared.admit(&participant) {
            Ok(guard) => guard,
            Err(reason) => {
                tracing::warn!(%participant, %reason, "TURN allocation refused");
                return Err(SocketAllocateError::InsufficientCapacity);
            }
        };
        let bound = std::net::UdpSocket::bind(SocketAddr::new(self.shared.relay_ip, 0)).and_then(
            |socket| {
                socket.set_nonblocking(true)?;
                UdpSocket::from_std(socket)
            },
        );
        let socket = match bound {
            Ok(socket) => socket,
            Err(error) => {
                tracing::warn!(%participant, %error, "could not bind a TURN relay socket");
                return Err(SocketAllocateError::InsufficientCapacity);
            }
        };
        let port = socket
            .local_addr()
            .map_err(|_| SocketAllocateError::InsufficientCapacity)?
            .port();
        let addr = SocketAddr::new(self.shared.media.advertised.ip(), port);
        tracing::info!(%participant, relay = %addr, "TURN allocation");
        self.relay = Some(Relay {
            socket,
            addr,
            _guard: guard,
        });
        Ok(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_framer_splits_messages_and_strips_channel_padding() {
        let mut framer = StreamFramer::default();
        let stun = [
            &[0u8, 1, 0, 4][..],
            &[0x21, 0x12, 0xa4, 0x42],
            &[9; 12],
            &[1, 2, 3, 4],
        ]
        .concat();
        let channel = [0x40u8, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0];
        framer.buffer.extend_from_slice(&stun[..10]);
        assert_eq!(framer.next_packet().unwrap(), None);
        framer.buffer.extend_from_slice(&stun[10..]);
        framer.buffer.extend_from_slice(&channel);
        assert_eq!(framer.next_packet().unwrap(), Some(stun.clone()));
        assert_eq!(framer.next_packet().unwrap(), Some(channel[..9].to_vec()));
        assert_eq!(framer.next_packet().unwrap(), None);
        for not_turn in [
            &b"POST / HTTP/1.1"[..],
            &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc],
        ] {
            let mut framer = StreamFramer::default();
            framer.buffer.extend_from_slice(not_turn);
            assert!(framer.next_packet().is_err(), "{not_turn:?}");
        }
        assert_eq!(pad_for_stream(channel[..9].to_vec()), channel);
        assert_eq!(pad_for_stream(stun.clone()), stun);
    }
}
