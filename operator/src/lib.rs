//! Yunhui's Kubernetes operator: one controller per custom resource, each a
//! pipeline read → validate → build (pure) → apply → status.
//!
//! - [`media_cluster`]: signal StatefulSet, SFU pool, workers, keys, policies;
//! - [`tenant`]: tenants synchronised into signal's tenant admin API;
//! - [`gateway`]: exposure, TLS, the discovery document;
//! - [`apply`]: server-side apply with one field manager, no-op detection,
//!   orphan removal; [`children`]: labels and owner references;
//! - [`conditions`], [`context`]: status and events;
//! - [`leader`]: Lease-based leader election; [`telemetry`]: metrics, health.

pub mod apply;
pub mod children;
pub mod conditions;
pub mod context;
pub mod error;
pub mod gateway;
pub mod leader;
pub mod media_cluster;
pub mod telemetry;
pub mod tenant;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client};
use yunhui_crds::{Gateway, MediaCluster, Tenant};

pub use crate::context::{Context, OperatorConfig};
pub use crate::error::{Error, Result};
use crate::telemetry::{Health, Metrics};

fn error_policy<K>(kind: &'static str) -> impl Fn(Arc<K>, &Error, Arc<Context>) -> Action {
    move |_, error, ctx| {
        ctx.metrics.failures.with_label_values(&[kind]).inc();
        tracing::warn!(kind, %error, "reconcile failed; retrying");
        Action::requeue(Duration::from_secs(5))
    }
}

/// Runs the three controllers until their streams end.
pub async fn run_controllers(ctx: Arc<Context>) {
    let client = ctx.client.clone();
    let selector = ctx.config.selector.clone();
    let selected = move || match &selector {
        Some(selector) => watcher::Config::default().labels(selector),
        None => watcher::Config::default(),
    };
    let owned =
        || watcher::Config::default().labels("app.kubernetes.io/managed-by=yunhui-operator");
    let clusters = Controller::new(Api::<MediaCluster>::all(client.clone()), selected())
        .owns(Api::<StatefulSet>::all(client.clone()), owned())
        .owns(Api::<DaemonSet>::all(client.clone()), owned())
        .owns(Api::<Deployment>::all(client.clone()), owned())
        .run(
            media_cluster::reconcile,
            error_policy("MediaCluster"),
            ctx.clone(),
        )
        .for_each(|_| async {});
    let tenants = Controller::new(Api::<Tenant>::all(client.clone()), selected())
        .run(tenant::reconcile, error_policy("Tenant"), ctx.clone())
        .for_each(|_| async {});
    let gateways = Controller::new(Api::<Gateway>::all(client.clone()), selected())
        .run(gateway::reconcile, error_policy("Gateway"), ctx.clone())
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
