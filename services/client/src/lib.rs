//! Yunhui's Rust client SDK, used by the recorder, the SIP gateway, the load
//! generator and the tests.
//!
//! - [`api`]: the Open API (accounts, sessions, meetings).
//! - [`signaling`]: the WebSocket signaling protocol.
//! - [`meeting`]: a participant's live session, signaling and media together.
//! - [`media`]: WebRTC publisher and subscriber peer connections towards an SFU node.
//! - [`media_control`]: the SFU node's internal control API over HTTP (what signal uses).
//! - [`media_path`]: when a session asks for its media to be connected anew (the path died).
//! - [`turn_bridge`]: TURN over TCP and TLS for the peer connections (webrtc-rs relays over UDP only).
//! - [`gaps`]: how long received media stopped (when a room moves between nodes).
//!
//! [`media`], [`media_path`], [`turn_bridge`], [`meeting`] and [`gaps`] need the WebRTC stack and come with the `media`
//! feature (on by default); signal uses the SDK without it.

pub mod api;
#[cfg(feature = "media")]
pub mod gaps;
#[cfg(feature = "media")]
pub mod media;
pub mod media_control;
#[cfg(feature = "media")]
pub mod media_path;
#[cfg(feature = "media")]
pub mod meeting;
pub mod signaling;
#[cfg(feature = "media")]
pub mod turn_bridge;
