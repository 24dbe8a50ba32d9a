//! Yunhui's SIP gateway (F-CTL-5, F-SIP-1…3): calls SIP room systems and,
//! through a SIP trunk, phones into meetings, and lets devices dial in
//! ([`gateway::dial_in`]: meeting number in the request URI or keyed in, password
//! keyed in as RFC 4733 telephone events).
//!
//! Signal asks for a call through [`yunhui_proto::dial::CallControl`], which
//! [`SipGateway`] implements. The gateway sends the INVITE (G.711 offered,
//! digest credentials for the trunk), reports ringing and the outcome, and
//! once answered joins the meeting with the call's one-time ticket through
//! the client SDK, like any participant. [`bridge`] then carries the audio:
//! the device's G.711 becomes Opus for the SFU, and everyone the meeting
//! hears is decoded, mixed and companded back to the device. The call ends
//! when the device hangs up, the host removes it or the meeting ends.
//!
//! In Kubernetes the gateway runs as `yunhui-sipgw` and signal reaches it
//! over [`internal_api`]; `yunhui up` runs it in the same process. In a
//! scaled pool it reports its calls to signal
//! ([`yunhui_runtime::worker_report`]), where the
//! operator reads them and marks the gateway it removes draining.

pub mod bridge;
pub mod codec;
pub mod dtmf;
pub mod g711;
pub mod gateway;
pub mod internal_api;
pub mod sdp;

pub use gateway::{GatewayConfig, GatewayError, SipGateway, SipTls, SipTrunk};
