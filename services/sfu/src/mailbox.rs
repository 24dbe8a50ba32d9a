//! What the rest of the node sends a peer task, and the handle it sends it
//! through: the peer's mailbox. A leaf of the peer module, so the
//! demultiplexer, the room and its participants can reach peer tasks
//! without depending on the task itself ([`crate::peer`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::peer_connection::sdp::RTCSessionDescription;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::control::ControlError;
use crate::forwarding::{ForwardedPacket, PublishedTrack};

/// How long closing waits for a peer task to finish.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Which side of the LiveKit-style pair a peer connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeerRole {
    /// The client sends on it; the client offers.
    Publisher,
    /// The client receives on it; the SFU offers.
    Subscriber,
}

/// Input to a peer task.
#[allow(clippy::large_enum_variant)] // commands are rare; boxing them buys nothing
pub(crate) enum PeerInput {
    /// A datagram from the node's socket.
    Datagram {
        from: SocketAddr,
        at: Instant,
        data: BytesMut,
    },
    /// A packet published by another participant (subscriber PCs only).
    Forward(Arc<ForwardedPacket>),
    /// A control request.
    Command(PeerCommand),
}

/// Control requests to a peer task.
pub(crate) enum PeerCommand {
    /// Publisher PC: apply the client's offer and answer it.
    AnswerOffer {
        offer: RTCSessionDescription,
        reply: oneshot::Sender<Result<String, ControlError>>,
    },
    /// Subscriber PC: make the sent tracks exactly `tracks` and offer.
    OfferTracks {
        tracks: Vec<PublishedTrack>,
        reply: oneshot::Sender<Result<String, ControlError>>,
    },
    /// Subscriber PC: apply the client's answer.
    ApplyAnswer {
        answer: RTCSessionDescription,
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    /// Publisher PC: ask the client for a keyframe of `track_id`.
    RequestKeyframe {
        track_id: String,
        /// The simulcast layer; `None` for every stream of the track.
        layer: Option<u8>,
    },
    /// Close the peer connection and end the task.
    Close,
}

/// The control side's handle on a peer task.
#[derive(Clone)]
pub(crate) struct PeerHandle {
    pub inbox: mpsc::Sender<PeerInput>,
    task: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl PeerHandle {
    /// The handle on the task `task`, fed through `inbox`.
    pub(crate) fn new(inbox: mpsc::Sender<PeerInput>, task: JoinHandle<()>) -> Self {
        Self {
            inbox,
            task: Arc::new(std::sync::Mutex::new(Some(task))),
        }
    }

    /// Sends a command and waits for its reply.
    pub(crate) async fn request<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, ControlError>>) -> PeerCommand,
    ) -> Result<T, ControlError> {
        let (reply, response) = oneshot::channel();
        self.inbox
            .send(PeerInput::Command(make(reply)))
            .await
            .map_err(|_| closed("the peer connection has closed"))?;
        response
            .await
            .map_err(|_| closed("the peer connection closed while negotiating"))?
    }

    /// Closes the peer connection and waits (bounded) for its task to end.
    pub(crate) async fn close(&self) {
        let _ = self
            .inbox
            .send(PeerInput::Command(PeerCommand::Close))
            .await;
        let task = self.task.lock().ok().and_then(|mut t| t.take());
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
