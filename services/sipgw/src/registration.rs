//! A SIP gateway in a scaled pool reports itself to signal: every
//! [`GATEWAY_REPORT_INTERVAL`] it sends its [`GatewayReport`] (its calls
//! against its capacity, whether it drains) on `PUT
//! /internal/v1/sip-gateways/{gateway_id}`, with the internal key. The
//! operator scales the SIP pool from these reports. Before it removes a
//! gateway's pod it marks the gateway draining in signal; the answer to
//! the gateway's next report says so, and the gateway drains: no new calls,
//! `/readyz` fails so the Service sends it none, calls in progress go on.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use yunhui_proto::sip::{GATEWAY_REPORT_INTERVAL, GatewayReport, GatewayReportAnswer};

use crate::SipGateway;

/// How long one report may take before it is given up.
const REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Who the gateway is to signal, and where signal is.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Signal's base URL (e.g. `http://signal:8080`).
    pub signal_url: String,
    /// The shared internal key signal expects.
    pub internal_key: String,
    /// The gateway's name (its pod's name in Kubernetes).
    pub gateway_id: String,
    /// Base URL of this gateway's own internal API, as signal reaches it.
    pub control_url: String,
    /// Calls the gateway takes at most at once.
    pub capacity: u64,
}

/// The gateway's reporting to signal; stops when dropped.
pub struct Reporter {
    task: JoinHandle<()>,
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Reporter {
    /// Starts reporting `gateway` every [`GATEWAY_REPORT_INTERVAL`], the first report at once.
    pub fn start(gateway: Arc<SipGateway>, registration: Registration) -> Reporter {
        let url = format!(
            "{}/internal/v1/sip-gateways/{}",
            registration.signal_url.trim_end_matches('/'),
            registration.gateway_id
        );
        let client = reqwest::Client::builder()
            .timeout(REPORT_TIMEOUT)
            .build()
            .unwrap_or_default();
        let task = tokio::spawn(async move {
            let mut failing = false;
            let mut ticks = tokio::time::interval(GATEWAY_REPORT_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let report = GatewayReport {
                    gateway_id: registration.gateway_id.clone(),
                    control_url: registration.control_url.clone(),
                    calls: gateway.active_calls() as u64,
                    capacity: registration.capacity,
                    draining: gateway.is_draining(),
                };
                match send(&client, &url, &registration.internal_key, &report).await {
                    Ok(answer) => {
                        if failing {
                            tracing::info!("reports reach signal again");
                            failing = false;
                        }
                        if answer.drain && !gateway.is_draining() {
                            tracing::info!("marked draining in signal: the pool is scaled down");
                            gateway.drain();
                        }
                    }
                    // Warned once per outage; the gateway takes calls meanwhile.
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
    report: &GatewayReport,
) -> Result<GatewayReportAnswer, String> {
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
