//! Yunhui's Rust client SDK, used by the recorder, the SIP gateway, the load
//! generator and the tests.
//!
//! - [`api`]: the Open API (accounts, sessions, meetings).
//! - [`signaling`]: the WebSocket signaling protocol.
//! - [`meeting`]: a participant's live session, signaling and media together.
//! - [`media`]: WebRTC publisher and subscriber peer connections towards an SFU node.

pub mod api;
pub mod media;
pub mod meeting;
pub mod signaling;
