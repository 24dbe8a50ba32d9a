//! What the SFU's tests and the fan-out benchmark share: subscribers on closed
//! networks (ICE-TCP only, TURN over TLS only) around one receiving peer connection.

pub mod receiver;
pub mod tcp_only;
pub mod turn_only;
