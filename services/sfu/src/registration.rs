//! An SFU node registers with signal: every [`NODE_REPORT_INTERVAL`] it
//! sends signal its [`NodeReport`] (who it is, where its own internal API and
//! media port are, its capacity and its load) on `PUT
//! /internal/v1/media-nodes/{node_id}`, with the internal key. Signal places
//! rooms on the nodes that report and forgets a node that stops.
//!
//! Before the node stops it reports once more with `draining` set, so no new
//! room is placed on it in the meantime. If rooms are still open when its
//! drain runs out, it reports `leaving`: signal moves those meetings to
//! another node while this one still forwards, and their clients connect
//! their media anew.
//!
//! One task sends every report, the periodic ones and those sent at once,
//! one after another: a periodic report read before the node began draining
//! can never reach signal after the draining one and undo it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use yunhui_proto::media::{NODE_REPORT_INTERVAL, NodeReport};
use yunhui_proto::turn::TurnEndpoints;

use crate::Sfu;

/// How long one report may take before it is given up.
const REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Who the node is to signal, and where signal is.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Signal's base URL (e.g. `http://signal:8080`).
    pub signal_url: String,
    /// The shared internal key signal expects.
    pub internal_key: String,
    /// The node's name (its pod's name in Kubernetes).
    pub node_id: String,
    /// Base URL of this node's own internal API, as signal reaches it.
    pub control_url: String,
    /// Participants the node takes at most.
    pub capacity: u64,
    /// The node's own TURN server, when it serves one.
    pub turn: Option<TurnEndpoints>,
    /// The region the node is in, if it says.
    pub region: Option<String>,
}

/// Why a report did not reach signal.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Signal could not be reached.
    #[error("signal at {url} could not be reached: {source}")]
    Unreachable {
        /// Where the report went.
        url: String,
        /// The HTTP client's reason.
        source: reqwest::Error,
    },
    /// Signal refused the report.
    #[error("signal refused the node's report with {status}: {body}")]
    Refused {
        /// Its status.
        status: reqwest::StatusCode,
        /// Its answer.
        body: String,
    },
    /// The reporting task has stopped.
    #[error("the node's reporting has stopped")]
    Stopped,
}

/// The node's reporting to signal, running until dropped.
pub struct Reporter {
    shared: Arc<Shared>,
    /// Asks the reporting task for a report now, answered with its outcome.
    now: mpsc::Sender<oneshot::Sender<Result<(), ReportError>>>,
    task: JoinHandle<()>,
}

struct Shared {
    sfu: Sfu,
    registration: Registration,
    url: String,
    client: reqwest::Client,
    draining: AtomicBool,
    leaving: AtomicBool,
    /// Whether the last report failed (so a failure is warned about once).
    failing: AtomicBool,
    meter: Mutex<Meter>,
}

/// The counters at the previous report, to turn totals into rates.
struct Meter {
    at: Instant,
    received_bytes: u64,
    forwarded_bytes: u64,
    cpu: Duration,
}

impl Reporter {
    /// Starts reporting `sfu` to signal every [`NODE_REPORT_INTERVAL`], the first report at once.
    pub fn start(sfu: Sfu, registration: Registration) -> Reporter {
        let stats = sfu.node_stats();
        let url = format!(
            "{}/internal/v1/media-nodes/{}",
            registration.signal_url.trim_end_matches('/'),
            encode_segment(&registration.node_id)
        );
        let shared = Arc::new(Shared {
            sfu,
            registration,
            url,
            client: reqwest::Client::new(),
            draining: AtomicBool::new(false),
            leaving: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            meter: Mutex::new(Meter {
                at: Instant::now(),
                received_bytes: stats.received_bytes,
                forwarded_bytes: stats.forwarded_bytes,
                cpu: process_cpu_time(),
            }),
        });
        let (now, mut asked) = mpsc::channel::<oneshot::Sender<Result<(), ReportError>>>(4);
        let task = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                let mut every = tokio::time::interval(NODE_REPORT_INTERVAL);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = every.tick() => shared.report_logged().await,
                        Some(answer) = asked.recv() => {
                            let _ = answer.send(shared.report().await);
                            every.reset();
                        }
                    }
                }
            }
        });
        Reporter { shared, now, task }
    }

    /// Marks the node draining (it takes no new rooms) and tells signal at once.
    pub async fn drain(&self) -> Result<(), ReportError> {
        self.shared.draining.store(true, Ordering::Relaxed);
        self.report_now().await
    }

    /// Tells signal that the node stops in moments with rooms still open
    /// (its drain timed out), so their meetings move to another node now.
    pub async fn leave(&self) -> Result<(), ReportError> {
        self.shared.draining.store(true, Ordering::Relaxed);
        self.shared.leaving.store(true, Ordering::Relaxed);
        self.report_now().await
    }

    /// Has the reporting task send a report now, after any it is sending.
    async fn report_now(&self) -> Result<(), ReportError> {
        let (answer, outcome) = oneshot::channel();
        self.now
            .send(answer)
            .await
            .map_err(|_| ReportError::Stopped)?;
        outcome.await.map_err(|_| ReportError::Stopped)?
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Shared {
    async fn report_logged(&self) {
        match self.report().await {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(signal = %self.url, "reporting to signal again");
                }
            }
            Err(error) => {
                if self.failing.swap(true, Ordering::Relaxed) {
                    tracing::debug!(%error, "the node's report did not reach signal");
                } else {
                    tracing::warn!(%error, "the node's report did not reach signal; retrying every interval");
                }
            }
        }
    }

    async fn report(&self) -> Result<(), ReportError> {
        let report = self.current();
        let response = self
            .client
            .put(&self.url)
            .bearer_auth(&self.registration.internal_key)
            .timeout(REPORT_TIMEOUT)
            .json(&report)
            .send()
            .await
            .map_err(|source| ReportError::Unreachable {
                url: self.url.clone(),
                source,
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(ReportError::Refused { status, body })
    }

    fn current(&self) -> NodeReport {
        let stats = self.sfu.node_stats();
        let cpu = process_cpu_time();
        let now = Instant::now();
        let (bits_in_per_second, bits_out_per_second, cpu_millicores) = {
            let mut meter = self.meter.lock();
            let elapsed = now.duration_since(meter.at).as_secs_f64().max(0.001);
            let rate =
                |now: u64, before: u64| (now.saturating_sub(before) as f64 * 8.0 / elapsed) as u64;
            let figures = (
                rate(stats.received_bytes, meter.received_bytes),
                rate(stats.forwarded_bytes, meter.forwarded_bytes),
                (cpu.saturating_sub(meter.cpu).as_secs_f64() * 1000.0 / elapsed) as u64,
            );
            *meter = Meter {
                at: now,
                received_bytes: stats.received_bytes,
                forwarded_bytes: stats.forwarded_bytes,
                cpu,
            };
            figures
        };
        NodeReport {
            node_id: self.registration.node_id.clone(),
            control_url: self.registration.control_url.clone(),
            media_address: self.sfu.media_addr(),
            architecture: std::env::consts::ARCH.to_owned(),
            capacity: self.registration.capacity,
            draining: self.draining.load(Ordering::Relaxed),
            leaving: self.leaving.load(Ordering::Relaxed),
            stats,
            bits_in_per_second,
            bits_out_per_second,
            cpu_millicores,
            turn: self.registration.turn.clone(),
            region: self.registration.region.clone(),
        }
    }
}

/// CPU time this process has used so far.
fn process_cpu_time() -> Duration {
    let time = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(time.tv_sec).unwrap_or(0),
        u32::try_from(time.tv_nsec).unwrap_or(0),
    )
}

/// Percent-encodes one path segment.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_one_path_segment() {
        assert_eq!(encode_segment("sfu-0"), "sfu-0");
        assert_eq!(
            encode_segment("http://10.0.0.1:7880"),
            "http%3A%2F%2F10.0.0.1%3A7880"
        );
    }

    #[test]
    fn cpu_time_advances_with_work() {
        let before = process_cpu_time();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu_time() > before);
    }
}
