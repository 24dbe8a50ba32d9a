//! Wire types shared by Yunhui's services and clients.
//!
//! The surfaces live here:
//! - [`api`]: the JSON bodies of the REST Open API (`/api/v1/...`).
//! - [`schedule`]: the scheduling part of the Open API (scheduled and
//!   recurring meetings, upcoming and history lists).
//! - [`dial`]: the internal interface between signal and the SIP gateway.
//! - [`media`]: the internal interface between signal and an SFU node.
//! - [`recording`]: the internal interface between signal and the recorder.
//! - [`worker`]: what the SIP gateways and recorders report to signal, and
//!   what the operator scales their pools by.
//! - [`env`]: the names of the environment variables the services read (and
//!   the operator sets).
//! - [`turn`]: TURN credentials (the REST-API scheme) and the ICE servers
//!   signal hands participants.
//! - [`signaling`]: the JSON messages of the WebSocket signaling protocol
//!   (`/api/v1/signal`), versioned by [`signaling::PROTOCOL_VERSION`].
//!
//! The browser client's TypeScript types are generated from these Rust types
//! ([`typescript::definitions`]), so the two never drift.

pub mod api;
pub mod dial;
pub mod discovery;
pub mod env;
pub mod group_chat;
pub mod limits;
pub mod media;
pub mod recording;
pub mod schedule;
pub mod signaling;
pub mod turn;
pub mod typescript;
pub mod worker;
