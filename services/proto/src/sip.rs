//! What a SIP gateway tells signal about itself, and what the operator
//! reads back: every [`GATEWAY_REPORT_INTERVAL`] a gateway sends its
//! [`GatewayReport`] (its calls against its capacity) on `PUT
//! /internal/v1/sip-gateways/{gateway_id}` of signal (Bearer internal key),
//! and signal answers whether the gateway was marked draining
//! ([`GatewayReportAnswer`]). The operator lists the gateways with `GET
//! /internal/v1/sip-gateways` ([`GatewayList`]) to scale the SIP pool by
//! its calls, and marks the gateway it is about to remove with `POST
//! /internal/v1/sip-gateways/{gateway_id}/drain`: the gateway learns it
//! from the answer to its next report and takes no new calls.
//!
//! Devices reach the gateways through a Service (or the nodes' addresses),
//! not through signal, so unlike an SFU node a gateway must itself stop
//! taking calls when it drains; the table in signal is where the load and
//! the drain mark meet, whichever signal replica a report reaches.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How often a SIP gateway reports itself to signal.
pub const GATEWAY_REPORT_INTERVAL: Duration = Duration::from_secs(2);

/// How long after its last report a gateway counts as gone: three missed reports.
pub const GATEWAY_GONE_AFTER: Duration = Duration::from_secs(6);

/// A SIP gateway's report of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayReport {
    /// The gateway's name, stable while it runs (its pod's name in Kubernetes).
    pub gateway_id: String,
    /// Base URL of the gateway's own internal API (its pod's address).
    pub control_url: String,
    /// Calls in progress: ringing, or connected to a meeting.
    pub calls: u64,
    /// Calls the gateway takes at most at once.
    pub capacity: u64,
    /// Whether the gateway takes no new calls (it drains, on SIGTERM or
    /// because it was marked draining).
    pub draining: bool,
}

/// Signal's answer to a [`GatewayReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayReportAnswer {
    /// The gateway was marked draining (the operator is about to remove
    /// its pod): it takes no new calls from now on.
    pub drain: bool,
}

/// One gateway of signal's table with its load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayLoad {
    /// The gateway's name (its pod's name in Kubernetes).
    pub gateway_id: String,
    /// Whether it still reports (its last report is at most
    /// [`GATEWAY_GONE_AFTER`] old).
    pub live: bool,
    /// Whether it takes no new calls: it reported draining, or it was
    /// marked draining.
    pub draining: bool,
    /// Calls it takes at most at once.
    pub capacity: u64,
    /// Calls in progress, as it last reported.
    pub calls: u64,
}

/// Body of signal's `GET /internal/v1/sip-gateways`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayList {
    /// Every gateway that reported within the last ten minutes, live or gone.
    pub gateways: Vec<GatewayLoad>,
}
