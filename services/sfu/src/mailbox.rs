//! What the rest of the node sends a peer task, and the handles it sends it
//! through: the peers' mailboxes. A leaf of the peer module, so the
//! demultiplexer, the room and its participants can reach peer tasks
//! without depending on the tasks themselves ([`crate::peer`]).
//!
//! A peer task has two inboxes. Media (datagrams from the socket, packets of
//! its ICE-TCP connections, packets forwarded by publishers) goes through a
//! bounded one: when it is full a datagram is dropped, as the network would (an
//! ICE-TCP connection waits instead). Control requests go through an
//! unbounded one, read first, so they are never lost behind media.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::shared::TransportProtocol;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::control::ControlError;
use crate::forwarding::{ForwardedPacket, PublishedTrack};

/// How long closing waits for a peer task to finish.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Media for a peer task, through its bounded inbox.
pub(crate) enum PeerInput {
    /// A packet from the client: a UDP datagram on the node's socket, or one
    /// framed packet of an ICE-TCP connection (`protocol` says which).
    Datagram {
        from: SocketAddr,
        protocol: TransportProtocol,
        at: Instant,
        data: BytesMut,
    },
    /// An ICE-TCP connection from `from` was tied to this peer connection: what
    /// it sends to `from` over TCP goes to `link` from now on ([`crate::ice_tcp`]).
    TcpConnection {
        from: SocketAddr,
        link: mpsc::Sender<BytesMut>,
    },
    /// A packet of a track this subscriber PC sends (from the track's publisher PC).
    Forward(Arc<ForwardedPacket>),
}

/// A control message for a peer task of either role.
pub(crate) enum Control<C> {
    /// A request of the task's role.
    Request(C),
    /// Close the peer connection and end the task.
    Close,
}

/// One subscriber PC's copy of a published track, as its publisher PC sees it:
/// where to send the track's packets.
#[derive(Clone)]
pub(crate) struct DownTrackHandle {
    /// The subscribing participant.
    pub subscriber: Arc<str>,
    /// The subscriber PC's media inbox.
    pub inbox: mpsc::Sender<PeerInput>,
}

impl DownTrackHandle {
    /// Whether both name the same subscriber PC.
    pub(crate) fn same_peer(&self, other: &DownTrackHandle) -> bool {
        self.inbox.same_channel(&other.inbox)
    }
}

/// Requests to a publisher PC's task (the client sends on it and offers).
#[allow(clippy::large_enum_variant)] // requests are rare; boxing them buys nothing
pub(crate) enum PublisherCommand {
    /// Apply the client's offer and answer it.
    AnswerOffer {
        offer: RTCSessionDescription,
        reply: oneshot::Sender<Result<String, ControlError>>,
    },
    /// From now on, send the packets of published track `track_id` to `down` too.
    AddDownTrack {
        track_id: String,
        down: DownTrackHandle,
    },
    /// Stop sending the packets of `track_id` to `down`.
    RemoveDownTrack {
        track_id: String,
        down: DownTrackHandle,
    },
    /// Ask the client for a keyframe of `track_id`.
    RequestKeyframe {
        track_id: String,
        /// The simulcast layer; `None` for every stream of the track.
        layer: Option<u8>,
    },
}

/// Requests to a subscriber PC's task (the client receives on it; the SFU offers).
#[allow(clippy::large_enum_variant)] // requests are rare; boxing them buys nothing
pub(crate) enum SubscriberCommand {
    /// Make the sent tracks exactly `tracks` and offer. `publishers` has the
    /// publisher PC of every publisher of `tracks`, where the down tracks
    /// subscribe.
    OfferTracks {
        tracks: Vec<PublishedTrack>,
        publishers: HashMap<String, PublisherHandle>,
        reply: oneshot::Sender<Result<String, ControlError>>,
    },
    /// Apply the client's answer.
    ApplyAnswer {
        answer: RTCSessionDescription,
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    /// `publisher` has a new publisher PC: subscribe its tracks that are sent here
    /// to it (a participant removed and added again under the same id).
    PublisherStarted {
        publisher: String,
        handle: PublisherHandle,
    },
}

/// The rest of the node's handle on a peer task: its requests and the task.
/// (Its media inbox is known to the demultiplexer and, for a subscriber PC, to
/// the publisher PCs of its tracks.)
pub(crate) struct PeerHandle<C> {
    commands: mpsc::UnboundedSender<Control<C>>,
    task: Arc<parking_lot::Mutex<Option<JoinHandle<()>>>>,
}

/// The handle on a publisher PC's task.
pub(crate) type PublisherHandle = PeerHandle<PublisherCommand>;
/// The handle on a subscriber PC's task.
pub(crate) type SubscriberHandle = PeerHandle<SubscriberCommand>;

impl<C> Clone for PeerHandle<C> {
    fn clone(&self) -> Self {
        Self {
            commands: self.commands.clone(),
            task: Arc::clone(&self.task),
        }
    }
}

impl<C> PeerHandle<C> {
    /// The handle on the task `task`, which reads `commands`.
    pub(crate) fn new(commands: mpsc::UnboundedSender<Control<C>>, task: JoinHandle<()>) -> Self {
        Self {
            commands,
            task: Arc::new(parking_lot::Mutex::new(Some(task))),
        }
    }

    /// Whether both are handles on the same task.
    pub(crate) fn same_peer(&self, other: &PeerHandle<C>) -> bool {
        self.commands.same_channel(&other.commands)
    }

    /// Sends a request without waiting; a task that has ended drops it.
    pub(crate) fn send(&self, command: C) {
        let _ = self.commands.send(Control::Request(command));
    }

    /// Sends a request and waits for its reply.
    pub(crate) async fn request<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, ControlError>>) -> C,
    ) -> Result<T, ControlError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Control::Request(make(reply)))
            .map_err(|_| closed("the peer connection has closed"))?;
        response
            .await
            .map_err(|_| closed("the peer connection closed while negotiating"))?
    }

    /// Closes the peer connection and waits (bounded) for its task to end.
    pub(crate) async fn close(&self) {
        let _ = self.commands.send(Control::Close);
        let task = self.task.lock().take();
        if let Some(mut task) = task
            && tokio::time::timeout(CLOSE_TIMEOUT, &mut task)
                .await
                .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

fn closed(reason: &str) -> ControlError {
    ControlError::Transport {
        reason: reason.to_owned(),
    }
}
