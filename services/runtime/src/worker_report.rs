//! A worker of a pool that reports to signal (a SIP gateway, a recorder;
//! [`WorkerPool`]): every [`REPORT_INTERVAL`] it sends its [`WorkerReport`]
//! (its work in progress against its capacity, whether it drains) on `PUT
//! /internal/v1/{pool}/{worker_id}`, with the internal key. The operator
//! scales the pool from these reports. Before it removes a worker's pod it
//! marks the worker draining in signal; the answer to the worker's next
//! report says so, and the worker drains ([`Worker::drain`]): nothing new,
//! `/readyz` fails so the Service sends it nothing, work in progress goes on.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use yunhui_proto::worker::{REPORT_INTERVAL, WorkerPool, WorkerReport, WorkerReportAnswer};

/// What a worker reports of itself, and its drain.
pub trait Worker: Send + Sync + 'static {
    /// Work in progress now.
    fn in_progress(&self) -> u64;
    /// Whether it takes nothing new.
    fn is_draining(&self) -> bool;
    /// Stops taking new work; work in progress goes on.
    fn drain(&self);
}

/// How long one report may take before it is given up.
const REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Who the worker is to signal, and where signal is.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Signal's base URL (e.g. `http://signal:8080`).
    pub signal_url: String,
    /// The shared internal key signal expects.
    pub internal_key: String,
    /// The worker's name (its pod's name in Kubernetes).
    pub worker_id: String,
    /// Base URL of this worker's own internal API, as signal reaches it.
    pub control_url: String,
    /// Work the worker takes at most at once.
    pub capacity: u64,
}

/// The worker's reporting to signal; stops when dropped.
pub struct Reporter {
    task: JoinHandle<()>,
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Reporter {
    /// Starts reporting `worker`, of `pool`, every [`REPORT_INTERVAL`],
    /// the first report at once.
    pub fn start(
        pool: WorkerPool,
        worker: Arc<dyn Worker>,
        registration: Registration,
    ) -> Reporter {
        let url = format!(
            "{}/internal/v1/{}/{}",
            registration.signal_url.trim_end_matches('/'),
            pool.path(),
            registration.worker_id
        );
        let client = reqwest::Client::builder()
            .timeout(REPORT_TIMEOUT)
            .build()
            .unwrap_or_default();
        let task = tokio::spawn(async move {
            let mut failing = false;
            let mut ticks = tokio::time::interval(REPORT_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let report = WorkerReport {
                    worker_id: registration.worker_id.clone(),
                    control_url: registration.control_url.clone(),
                    in_progress: worker.in_progress(),
                    capacity: registration.capacity,
                    draining: worker.is_draining(),
                };
                match send(&client, &url, &registration.internal_key, &report).await {
                    Ok(answer) => {
                        if failing {
                            tracing::info!("reports reach signal again");
                            failing = false;
                        }
                        if answer.drain && !worker.is_draining() {
                            tracing::info!("marked draining in signal: the pool is scaled down");
                            worker.drain();
                        }
                    }
                    // Warned once per outage; the worker takes work meanwhile.
                    Err(reason) if !failing => {
                        tracing::warn!(%reason, "reporting to signal failed");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        });
        Reporter { task }
    }
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    report: &WorkerReport,
) -> Result<WorkerReportAnswer, String> {
    let response = client
        .put(url)
        .bearer_auth(key)
        .json(report)
        .send()
        .await
        .map_err(|e| format!("signal at {url} could not be reached: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(format!("signal refused the report with {status}: {body}"));
    }
    response
        .json()
        .await
        .map_err(|e| format!("signal's answer to the report is unreadable: {e}"))
}
