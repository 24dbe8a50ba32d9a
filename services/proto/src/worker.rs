//! Pools of workers that report themselves to signal: the SIP gateways and
//! the recorders. Every [`REPORT_INTERVAL`] a worker sends its
//! [`WorkerReport`] (the calls or jobs it has in progress against its
//! capacity) on `PUT /internal/v1/{pool}/{worker_id}` of signal (Bearer
//! internal key, `{pool}` being [`WorkerPool::path`]), and signal answers
//! whether the worker was marked draining ([`WorkerReportAnswer`]). The
//! operator lists a pool with `GET /internal/v1/{pool}` ([`WorkerList`]) to
//! scale it by its work, and marks the worker it is about to remove with
//! `POST /internal/v1/{pool}/{worker_id}/drain`: the worker learns it from
//! the answer to its next report and takes nothing new.
//!
//! Unlike an SFU node, whose rooms signal places, a worker is reached
//! through its pool's Service too (SIP devices dial it directly), so a
//! worker must itself refuse new work when it drains; the table in signal
//! is where the load and the drain mark meet, whichever signal replica a
//! report reaches.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How often a worker reports itself to signal.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(2);

/// How long after its last report a worker counts as gone: three missed reports.
pub const GONE_AFTER: Duration = Duration::from_secs(6);

/// Largest capacity a worker may report (more than any one process
/// carries); a worker without a limit of its own reports it.
pub const MAX_CAPACITY: u64 = 100_000;

/// A pool of workers that report to signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkerPool {
    /// SIP gateways; their work is calls (ringing or connected).
    SipGateways,
    /// Recorders; their work is recording and live-streaming jobs.
    Recorders,
}

impl WorkerPool {
    /// Every pool.
    pub const ALL: [WorkerPool; 2] = [WorkerPool::SipGateways, WorkerPool::Recorders];

    /// The pool's segment of signal's internal API paths.
    pub fn path(self) -> &'static str {
        match self {
            WorkerPool::SipGateways => "sip-gateways",
            WorkerPool::Recorders => "recorders",
        }
    }

    /// What one worker is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            WorkerPool::SipGateways => "SIP gateway",
            WorkerPool::Recorders => "recorder",
        }
    }

    /// What its work is counted in.
    pub fn unit(self) -> &'static str {
        match self {
            WorkerPool::SipGateways => "calls",
            WorkerPool::Recorders => "jobs",
        }
    }
}

/// A worker's report of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerReport {
    /// The worker's name, stable while it runs (its pod's name in Kubernetes).
    pub worker_id: String,
    /// Base URL of the worker's own internal API (its pod's address).
    pub control_url: String,
    /// Work in progress: calls ringing or connected, or jobs running
    /// (a job whose files are still being stored counts).
    pub in_progress: u64,
    /// Work the worker takes at most at once.
    pub capacity: u64,
    /// Whether the worker takes nothing new (it drains, on SIGTERM or
    /// because it was marked draining).
    pub draining: bool,
}

/// Signal's answer to a [`WorkerReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerReportAnswer {
    /// The worker was marked draining (the operator is about to remove its
    /// pod): it takes nothing new from now on.
    pub drain: bool,
}

/// One worker of signal's table with its load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerLoad {
    /// The worker's name (its pod's name in Kubernetes).
    pub worker_id: String,
    /// Whether it still reports (its last report is at most [`GONE_AFTER`] old).
    pub live: bool,
    /// Whether it takes nothing new: it reported draining, or it was marked
    /// draining.
    pub draining: bool,
    /// Work it takes at most at once.
    pub capacity: u64,
    /// Work in progress, as it last reported.
    pub in_progress: u64,
}

/// Body of signal's `GET /internal/v1/{pool}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerList {
    /// Every worker of the pool that reported within the last ten minutes,
    /// live or gone.
    pub workers: Vec<WorkerLoad>,
}
