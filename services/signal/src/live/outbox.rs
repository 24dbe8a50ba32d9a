//! The outbox of a participant's socket: what the room, presence and ringing
//! hand to the task that writes the socket. A leaf: it depends on nothing
//! else of signal, so everything live can use it.

use std::borrow::Cow;
use std::sync::Arc;

use tokio::sync::mpsc;
use yunhui_proto::signaling::ServerMessage;

/// What a participant's socket writer is asked to do.
#[derive(Debug)]
pub enum Outbound {
    /// Send this message.
    Message(ServerMessage),
    /// Send this message, already encoded (one encoding per broadcast).
    Encoded(Arc<str>),
    /// Close the socket with this reason (after the messages queued before it).
    Close(Cow<'static, str>),
    /// Close the socket with this reason and
    /// [`CLOSE_JOIN_AGAIN`](yunhui_proto::signaling::CLOSE_JOIN_AGAIN): the
    /// client joins again, reaching the meeting where it lives now.
    JoinAgain(Cow<'static, str>),
}

/// Sender half of a participant's socket.
pub type Outbox = mpsc::UnboundedSender<Outbound>;
