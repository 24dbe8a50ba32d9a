//! Prometheus metrics, `/metrics`, `/healthz`, `/readyz` and JSON logs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// The operator's metrics.
#[derive(Clone)]
pub struct Metrics {
    /// Reconciles by kind.
    pub reconciles: IntCounterVec,
    /// Failed reconciles by kind.
    pub failures: IntCounterVec,
    /// Reconcile duration by kind.
    pub duration: HistogramVec,
    /// 1 while this replica holds the leader Lease.
    pub leader: IntGauge,
    /// The registry the metrics live in.
    pub registry: Registry,
}

impl Metrics {
    /// Creates and registers the metrics in a fresh registry.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let reconciles = IntCounterVec::new(
            Opts::new("yunhui_operator_reconciles_total", "Reconciles by kind"),
            &["kind"],
        )?;
        let failures = IntCounterVec::new(
            Opts::new(
                "yunhui_operator_reconcile_failures_total",
                "Failed reconciles by kind",
            ),
            &["kind"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "yunhui_operator_reconcile_duration_seconds",
                "Reconcile duration",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0]),
            &["kind"],
        )?;
        let leader = IntGauge::new("yunhui_operator_leader", "1 while this replica leads")?;
        registry.register(Box::new(reconciles.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(leader.clone()))?;
        Ok(Metrics {
            reconciles,
            failures,
            duration,
            leader,
            registry,
        })
    }

    /// Reconciles of `kind` so far.
    pub fn reconciles_of(&self, kind: &str) -> u64 {
        self.reconciles.with_label_values(&[kind]).get()
    }
}

/// Health of the process, served at `/healthz` and `/readyz`.
#[derive(Default)]
pub struct Health {
    /// Set once the controllers run (leader) or the replica waits as standby.
    pub ready: AtomicBool,
}

/// Serves `/metrics`, `/healthz`, `/readyz` on `addr`.
pub async fn serve(addr: SocketAddr, metrics: Metrics, health: Arc<Health>) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State((_, h)): State<(Metrics, Arc<Health>)>| async move {
                if h.ready.load(Ordering::Relaxed) {
                    (StatusCode::OK, "ready")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "starting")
                }
            }),
        )
        .route(
            "/metrics",
            get(|State((m, _)): State<(Metrics, Arc<Health>)>| async move {
                let mut buf = Vec::new();
                let _ = TextEncoder::new().encode(&m.registry.gather(), &mut buf);
                buf
            }),
        )
        .with_state((metrics, health));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await
}
