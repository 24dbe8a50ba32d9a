//! Yunhui's Kubernetes operator: one controller per custom resource, each a
//! pipeline read → validate → build (pure) → apply → status, each module
//! owning what its controller watches.
//!
//! - [`media_cluster`]: signal StatefulSet, SFU pool, workers, keys, policies;
//! - [`tenant`]: tenants synchronised into signal's tenant admin API;
//! - [`gateway`]: exposure, TLS, the discovery document;
//! - [`apply`]: server-side apply with one field manager, no-op detection,
//!   orphan removal; [`children`]: labels and owner references;
//! - [`reconcile`]: what every reconcile runs in: its span, its metrics,
//!   the retry policy; [`backoff`]: per-object back-off of failed reconciles;
//! - [`conditions`], [`context`]: status and events;
//! - [`leader`]: Lease-based leader election; [`telemetry`]: metrics, health.

pub mod apply;
pub mod backoff;
pub mod children;
pub mod conditions;
pub mod context;
pub mod error;
pub mod gateway;
pub mod leader;
pub mod media_cluster;
pub mod reconcile;
pub mod telemetry;
pub mod tenant;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::StreamExt;
use kube::Client;
use kube::runtime::controller;
use kube::runtime::watcher;

pub use crate::context::{Context, OperatorConfig};
pub use crate::error::{Error, Result};
use crate::telemetry::{Health, Metrics};

/// Runs the three controllers until their streams end. Each controller
/// module says what it watches; every reconcile runs through
/// [`reconcile::instrumented`] (span, metrics, back-off).
pub async fn run_controllers(ctx: Arc<Context>) {
    let client = ctx.client.clone();
    let selector = ctx.config.selector.clone();
    let selected = move || match &selector {
        Some(selector) => watcher::Config::default().labels(selector),
        None => watcher::Config::default(),
    };
    let owned = watcher::Config::default().labels("app.kubernetes.io/managed-by=yunhui-operator");
    let limits = || controller::Config::default().concurrency(ctx.config.concurrency);
    let clusters = media_cluster::controller(&client, selected(), owned, limits())
        .run(
            |obj, ctx| reconcile::instrumented(obj, ctx, media_cluster::reconcile),
            reconcile::error_policy,
            ctx.clone(),
        )
        .for_each(|_| async {});
    let tenants = tenant::controller(&client, selected(), limits())
        .run(
            |obj, ctx| reconcile::instrumented(obj, ctx, tenant::reconcile),
            reconcile::error_policy,
            ctx.clone(),
        )
        .for_each(|_| async {});
    let gateways = gateway::controller(&client, selected(), limits())
        .run(
            |obj, ctx| reconcile::instrumented(obj, ctx, gateway::reconcile),
            reconcile::error_policy,
            ctx.clone(),
        )
        .for_each(|_| async {});
    tokio::join!(clusters, tenants, gateways);
}

/// The operator: waits for the leader Lease, then runs the controllers while
/// it holds it. Returns an error when the Lease is lost (the process should
/// exit and restart as a standby).
pub async fn run(
    client: Client,
    config: OperatorConfig,
    metrics: Metrics,
    health: Arc<Health>,
) -> Result<()> {
    health.ready.store(true, Ordering::Relaxed);
    leader::acquire(&client, &config).await?;
    metrics.leader.set(1);
    tracing::info!(identity = %config.identity, "leading; starting controllers");
    let paused = config.paused;
    let ctx = Arc::new(Context::new(
        client.clone(),
        metrics.clone(),
        config.clone(),
    ));
    let work = async move {
        if paused {
            tracing::info!("global pause switch is on: no resource is reconciled");
            std::future::pending::<()>().await;
        } else {
            run_controllers(ctx).await;
        }
    };
    tokio::select! {
        _ = work => Ok(()),
        _ = leader::hold(&client, &config) => {
            metrics.leader.set(0);
            Err(Error::Signal { url: String::new(), action: "keep the leader Lease".into(), reason: "the Lease was lost; restarting as standby".into() })
        }
    }
}
