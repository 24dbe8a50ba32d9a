//! # yunhui-sfu — the media node
//!
//! A selective forwarding unit built on the sans-IO WebRTC core [`rtc`] (webrtc-rs
//! 0.21, ring crypto). Every peer connection of the node shares **one UDP port**: the
//! node is ICE-lite, a datagram is routed by the local ICE username fragment of its
//! STUN USERNAME and, once ICE has seen an address, by remote address ([`demux`]).
//! Where UDP is dropped, clients reach the same peer connections over **one TCP
//! port** (ICE-TCP, RFC 6544): a connection is tied to its peer connection by the
//! username fragment of its first check ([`ice_tcp`]).
//! Where only TCP (or TLS on 443) gets out, clients relay through the node's own
//! TURN server ([`turn`], [`Sfu::serve_turn`]) to the same UDP port.
//! Each peer connection is owned by its own task ([`peer`]), so rooms never block each
//! other.
//!
//! Participants follow the LiveKit model: a *publisher* PC (client offers, SFU answers)
//! and a *subscriber* PC (SFU offers, client answers). Every forwarded track carries the
//! publisher's participant id as its MediaStream id. A publisher PC hands each packet
//! straight to the subscriber PCs subscribed to its track, with no lock on the way;
//! packets are rewritten per subscriber (SSRC, payload type, sequence numbers; header extensions stripped) in
//! [`forwarding`]; PLI/FIR from subscribers are relayed to the publisher; forwarding of
//! a kind can be switched off at the source (mute); the room's active speaker comes
//! from the RTP audio-level extension ([`speaker`]).
//!
//! Signal drives the node through [`yunhui_proto::media::MediaControl`]: in
//! process with [`control::InProcessControl`], or over HTTP with the client SDK's
//! `media_control::HttpControl` against [`internal_api::internal_router`].

pub mod bandwidth;
pub mod control;
pub mod demux;
pub mod feedback;
pub mod forwarding;
pub mod ice_tcp;
pub mod internal_api;
mod mailbox;
pub mod metrics;
mod participant;
mod peer;
pub mod port_slots;
pub mod registration;
mod room;
pub mod simulcast;
pub mod speaker;
pub mod turn;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use rtc::peer_connection::sdp::RTCSessionDescription;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::control::{ControlError, NodeStats};
use crate::demux::DemuxTable;
use crate::forwarding::{PublishedTrack, TrackKey};
use crate::mailbox::{PublisherCommand, SubscriberCommand};
use crate::metrics::SfuMetrics;
use crate::peer::{spawn_publisher, spawn_subscriber};
use crate::room::{Offerable, Room};

pub use crate::control::{
    InProcessControl, MediaControl, MediaKind, VideoQuality, VideoSubscriptions,
};

/// How an SFU node is started.
#[derive(Clone)]
pub struct SfuConfig {
    /// Where the node's single UDP media socket binds (e.g. `0.0.0.0:7882`).
    pub udp_listen: SocketAddr,
    /// The address clients are told to send media to (tests advertise `127.0.0.1`).
    pub advertised_ip: IpAddr,
    /// Where the node's metrics are registered.
    pub registry: prometheus::Registry,
}

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    /// The UDP port could not be bound.
    #[error("could not bind the SFU's UDP media socket on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The TCP port for ICE over TCP could not be bound.
    #[error("could not bind the SFU's TCP media port (ICE over TCP) on {addr}: {source}")]
    BindTcp {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The metrics could not be registered (e.g. registered twice on one registry).
    #[error("could not register the SFU's metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// What every room and peer task of the node shares.
pub(crate) struct NodeContext {
    pub socket: Arc<UdpSocket>,
    /// Advertised IP with the bound UDP port: the UDP candidate of every peer connection.
    pub advertised: SocketAddr,
    /// Advertised IP with the bound TCP port: the passive TCP candidate of every peer
    /// connection ([`ice_tcp`]).
    pub advertised_tcp: SocketAddr,
    pub demux: Arc<Mutex<DemuxTable>>,
    pub metrics: SfuMetrics,
}

struct SfuInner {
    /// This start of the node ([`NodeStats::instance`]).
    instance: String,
    ctx: Arc<NodeContext>,
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    /// Set by [`Sfu::drain`]: no new room opens.
    draining: AtomicBool,
    registry: prometheus::Registry,
    shutdown: watch::Sender<bool>,
    receivers: Mutex<Vec<JoinHandle<()>>>,
}

/// A running SFU node. Cheap to clone; all clones are the same node.
#[derive(Clone)]
pub struct Sfu {
    inner: Arc<SfuInner>,
}

impl Sfu {
    /// Binds the UDP port and, for ICE over TCP, the TCP port of the same number
    /// (any free one when the UDP port is 0), and starts serving media.
    pub async fn start(config: SfuConfig) -> Result<Sfu, SfuError> {
        Self::start_on(config, None).await
    }

    /// Like [`Sfu::start`], with ICE over TCP on `tcp_listen` (e.g. a MediaCluster's
    /// `tcpPort`, which differs from its `udpPort`).
    pub async fn start_with_tcp(
        config: SfuConfig,
        tcp_listen: SocketAddr,
    ) -> Result<Sfu, SfuError> {
        Self::start_on(config, Some(tcp_listen)).await
    }

    async fn start_on(config: SfuConfig, tcp_listen: Option<SocketAddr>) -> Result<Sfu, SfuError> {
        let metrics = SfuMetrics::register(&config.registry)?;
        let socket = UdpSocket::bind(config.udp_listen)
            .await
            .map_err(|source| SfuError::Bind {
                addr: config.udp_listen,
                source,
            })?;
        let bound = socket.local_addr().map_err(|source| SfuError::Bind {
            addr: config.udp_listen,
            source,
        })?;
        enlarge_buffers(&socket);
        let tcp_listen = tcp_listen.unwrap_or(config.udp_listen);
        let tcp_error = |source| SfuError::BindTcp {
            addr: tcp_listen,
            source,
        };
        // Every participant of a large meeting may dial it in the same instant.
        let listener = yunhui_runtime::listen::bind(tcp_listen).map_err(tcp_error)?;
        let tcp_bound = listener.local_addr().map_err(tcp_error)?;
        let socket = Arc::new(socket);
        let demux = Arc::new(Mutex::new(DemuxTable::default()));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let udp_receiver = tokio::spawn(demux::receive_datagrams(
            Arc::clone(&socket),
            Arc::clone(&demux),
            metrics.received_bytes.clone(),
            shutdown_rx.clone(),
        ));
        let tcp_acceptor = tokio::spawn(ice_tcp::accept_connections(
            listener,
            Arc::clone(&demux),
            metrics.clone(),
            shutdown_rx,
        ));
        tracing::info!(udp = %bound, tcp = %tcp_bound, advertised = %config.advertised_ip, "SFU node started");
        Ok(Sfu {
            inner: Arc::new(SfuInner {
                instance: format!("{:016x}", rand::random::<u64>()),
                ctx: Arc::new(NodeContext {
                    socket,
                    advertised: SocketAddr::new(config.advertised_ip, bound.port()),
                    advertised_tcp: SocketAddr::new(config.advertised_ip, tcp_bound.port()),
                    demux,
                    metrics,
                }),
                rooms: Mutex::new(HashMap::new()),
                draining: AtomicBool::new(false),
                registry: config.registry,
                shutdown,
                receivers: Mutex::new(vec![udp_receiver, tcp_acceptor]),
            }),
        })
    }

    /// The address clients send media to (advertised IP, bound UDP port).
    pub fn media_addr(&self) -> SocketAddr {
        self.inner.ctx.advertised
    }

    /// The address clients reach over ICE-TCP (advertised IP, bound TCP port).
    pub fn tcp_media_addr(&self) -> SocketAddr {
        self.inner.ctx.advertised_tcp
    }

    /// Serves TURN next to the node's media ports, until [`Sfu::shutdown`]:
    /// relays reach only this node's UDP media port.
    pub async fn serve_turn(
        &self,
        config: turn::TurnConfig,
    ) -> Result<turn::TurnAddrs, turn::TurnError> {
        let ctx = &self.inner.ctx;
        let bound = ctx
            .socket
            .local_addr()
            .map_err(|source| turn::TurnError::Bind {
                transport: "UDP",
                addr: config.listen,
                source,
            })?;
        let media = turn::MediaTarget::new(ctx.advertised, bound);
        let (addrs, tasks) = turn::start(
            config,
            media,
            &self.inner.registry,
            self.inner.shutdown.subscribe(),
        )
        .await?;
        self.inner.receivers.lock().extend(tasks);
        Ok(addrs)
    }

    /// The registry the node's metrics are registered on (from [`SfuConfig`]).
    pub fn registry(&self) -> &prometheus::Registry {
        &self.inner.registry
    }

    /// The node's metrics.
    pub fn metrics(&self) -> &SfuMetrics {
        &self.inner.ctx.metrics
    }

    /// Closes every room and stops the UDP socket and the TCP port.
    pub async fn shutdown(&self) {
        let rooms: Vec<Arc<Room>> = self.inner.rooms.lock().drain().map(|(_, v)| v).collect();
        for room in rooms {
            room.close().await;
        }
        let _ = self.inner.shutdown.send(true);
        let receivers = std::mem::take(&mut *self.inner.receivers.lock());
        for receiver in receivers {
            let _ = receiver.await;
        }
    }

    /// Drains the node: from now on it opens no new room (the open ones go
    /// on until they close). For a node about to stop (SIGTERM).
    pub fn drain(&self) {
        self.inner.draining.store(true, Ordering::Relaxed);
    }

    /// Whether [`Sfu::drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Relaxed)
    }

    /// Rooms open on the node.
    pub fn open_rooms(&self) -> usize {
        self.inner.rooms.lock().len()
    }

    pub(crate) fn create_room(&self, room: &str) -> Result<(), ControlError> {
        let mut rooms = self.inner.rooms.lock();
        if !rooms.contains_key(room) {
            if self.is_draining() {
                return Err(ControlError::Draining {
                    room: room.to_owned(),
                });
            }
            rooms.insert(
                room.to_owned(),
                Room::open(room, Arc::clone(&self.inner.ctx)),
            );
        }
        Ok(())
    }

    /// Closes every room nobody has had a connected peer connection in for
    /// `unused` (counted from the first call that found it so): a room
    /// whose signal replica can no longer close it (it crashed, or another
    /// replica took the meeting and opened a room of its own). Returns the
    /// ids closed. A room signal still holds is opened again by it
    /// ([`crate::control::MediaControl::room_lost`]), its clients told to
    /// reconnect their media.
    pub async fn close_unused_rooms(&self, unused: std::time::Duration) -> Vec<String> {
        let now = std::time::Instant::now();
        let rooms: Vec<Arc<Room>> = self.inner.rooms.lock().values().cloned().collect();
        let mut closed = Vec::new();
        for room in rooms {
            if room.unused_for(now) >= unused {
                self.close_room(&room.id).await;
                closed.push(room.id.clone());
            }
        }
        closed
    }

    pub(crate) async fn close_room(&self, room: &str) {
        let removed = self.inner.rooms.lock().remove(room);
        if let Some(room) = removed {
            room.close().await;
        }
    }

    pub(crate) fn room(&self, room: &str) -> Result<Arc<Room>, ControlError> {
        self.inner
            .rooms
            .lock()
            .get(room)
            .cloned()
            .ok_or_else(|| ControlError::RoomNotFound {
                room: room.to_owned(),
            })
    }

    pub(crate) async fn publish(
        &self,
        room_id: &str,
        participant_id: &str,
        offer_sdp: &str,
    ) -> Result<String, ControlError> {
        let room = self.room(room_id)?;
        let participant = room.participant(participant_id)?;
        let offer = RTCSessionDescription::offer(offer_sdp.to_owned()).map_err(|err| {
            ControlError::InvalidSdp {
                reason: err.to_string(),
            }
        })?;
        let parsed = offer.unmarshal().map_err(|err| ControlError::InvalidSdp {
            reason: err.to_string(),
        })?;
        let offered = forwarding::offered_tracks(&parsed);
        let existing = participant.publisher_handle();
        let started = existing.is_none();
        let handle = match existing {
            Some(handle) => handle,
            None => {
                let handle = spawn_publisher(&room, &participant)?;
                *participant.publisher.lock() = Some(handle.clone());
                handle
            }
        };
        let answer_sdp = handle
            .request(|reply| PublisherCommand::AnswerOffer { offer, reply })
            .await?;
        let answer = RTCSessionDescription::answer(answer_sdp.clone())
            .and_then(|a| a.unmarshal())
            .map_err(|err| ControlError::Transport {
                reason: format!("the SFU's own answer does not parse: {err}"),
            })?;
        let tracks: Vec<PublishedTrack> = offered
            .iter()
            .filter_map(|t| {
                Some(PublishedTrack {
                    key: Arc::new(TrackKey {
                        publisher: participant_id.to_owned(),
                        track_id: t.track_id.clone(),
                    }),
                    kind: t.kind,
                    codec: forwarding::answered_codec(&answer, &t.mid)?,
                })
            })
            .collect();
        *participant.published.lock() = tracks;
        if started {
            room.announce_publisher(participant_id, &handle);
        }
        Ok(answer_sdp)
    }

    pub(crate) async fn subscribe_offer(
        &self,
        room_id: &str,
        participant_id: &str,
    ) -> Result<Option<String>, ControlError> {
        let room = self.room(room_id)?;
        let participant = room.participant(participant_id)?;
        let mut negotiation = participant.negotiation.lock().await;
        if negotiation.awaiting_answer {
            negotiation.dirty = true;
            return Ok(None);
        }
        self.offer_if_changed(&room, participant_id, &mut negotiation)
            .await
    }

    async fn offer_if_changed(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        negotiation: &mut participant::SubscriberNegotiation,
    ) -> Result<Option<String>, ControlError> {
        let participant = room.participant(participant_id)?;
        let Offerable { tracks, publishers } = room.offerable(participant_id);
        let wanted: std::collections::BTreeSet<Arc<TrackKey>> =
            tracks.iter().map(|t| Arc::clone(&t.key)).collect();
        let has_pc = participant.subscriber_handle().is_some();
        if wanted == negotiation.answered && (has_pc || wanted.is_empty()) {
            negotiation.dirty = false;
            return Ok(None);
        }
        let handle = match participant.subscriber_handle() {
            Some(handle) => handle,
            None => {
                let handle = spawn_subscriber(room, &participant)?;
                *participant.subscriber.lock() = Some(handle.clone());
                handle
            }
        };
        let sdp = handle
            .request(|reply| SubscriberCommand::OfferTracks {
                tracks,
                publishers,
                reply,
            })
            .await?;
        negotiation.awaiting_answer = true;
        negotiation.dirty = false;
        negotiation.offered = wanted;
        Ok(Some(sdp))
    }

    pub(crate) async fn subscribe_answer(
        &self,
        room_id: &str,
        participant_id: &str,
        answer_sdp: &str,
    ) -> Result<Option<String>, ControlError> {
        let room = self.room(room_id)?;
        let participant = room.participant(participant_id)?;
        let mut negotiation = participant.negotiation.lock().await;
        let (true, Some(handle)) = (negotiation.awaiting_answer, participant.subscriber_handle())
        else {
            return Err(ControlError::InvalidSdp {
                reason: "no subscriber offer is awaiting an answer".to_owned(),
            });
        };
        let answer = RTCSessionDescription::answer(answer_sdp.to_owned()).map_err(|err| {
            ControlError::InvalidSdp {
                reason: err.to_string(),
            }
        })?;
        handle
            .request(|reply| SubscriberCommand::ApplyAnswer { answer, reply })
            .await?;
        negotiation.awaiting_answer = false;
        negotiation.answered = std::mem::take(&mut negotiation.offered);
        self.offer_if_changed(&room, participant_id, &mut negotiation)
            .await
    }

    /// The node's load figures now (what `GET /internal/v1/stats` answers).
    pub fn node_stats(&self) -> NodeStats {
        let m = &self.inner.ctx.metrics;
        NodeStats {
            instance: self.inner.instance.clone(),
            rooms: m.rooms.get().max(0) as u64,
            participants: m.participants.get().max(0) as u64,
            peer_connections: m.peer_connections.get().max(0) as u64,
            tasks: m.tasks.get().max(0) as u64,
            forwarded_packets: m.forwarded_packets.get(),
            forwarded_bytes: m.forwarded_bytes.get(),
            received_bytes: m.received_bytes.get(),
        }
    }
}

/// Socket buffers asked for the node's UDP port. One socket carries every
/// peer connection of the node, and the kernel's default (about 200 KiB)
/// overflows in bursts: a soak of 500 participants lost over half a million
/// datagrams in 30 s with it. The kernel caps the size at `net.core.rmem_max`
/// and `net.core.wmem_max`; raise those on busy nodes.
const UDP_BUFFER_BYTES: usize = 16 << 20;

/// Asks for [`UDP_BUFFER_BYTES`] of receive and send buffer and logs what the
/// kernel granted.
fn enlarge_buffers(socket: &UdpSocket) {
    let socket = socket2::SockRef::from(socket);
    if let Err(error) = socket.set_recv_buffer_size(UDP_BUFFER_BYTES) {
        tracing::warn!(%error, "could not enlarge the UDP receive buffer");
    }
    if let Err(error) = socket.set_send_buffer_size(UDP_BUFFER_BYTES) {
        tracing::warn!(%error, "could not enlarge the UDP send buffer");
    }
    tracing::info!(
        receive = socket.recv_buffer_size().ok(),
        send = socket.send_buffer_size().ok(),
        "UDP socket buffers (bytes; capped by net.core.rmem_max and wmem_max)"
    );
}
