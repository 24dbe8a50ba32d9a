//! Yunhui's Kubernetes operator: one controller per custom resource, each a
//! pipeline read → validate → build (pure) → apply → status, each module
//! owning what its controller watches.
//!
//! - [`media_cluster`]: signal StatefulSet, SFU pool, workers, keys, policies;
//! - [`tenant`]: tenants synchronised into signal's tenant admin API;
//! - [`gateway`]: exposure, TLS, the discovery document;
//! - [`cache`]: the watch caches every reconcile reads, whose watches also
//!   trigger the controllers;
//! - [`apply`]: server-side apply with one field manager, skipping children
//!   the cache shows unchanged, orphan removal; [`children`]: labels and
//!   owner references;
//! - [`reconcile`]: what every reconcile runs in: its span, its metrics,
//!   the retry policy; [`backoff`]: per-object back-off of failed reconciles;
//! - [`conditions`], [`context`]: status and events;
//! - [`leader`]: Lease-based leader election; [`telemetry`]: metrics, health.

pub mod apply;
pub mod backoff;
pub mod cache;
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

use crate::cache::Caches;
pub use crate::context::{Context, OperatorConfig};
pub use crate::error::{Error, Result};
use crate::telemetry::{Health, Metrics};

/// Runs the three controllers and the watches of the caches they read
/// until their streams end. Each controller module says what it watches;
/// every reconcile waits until the caches are filled, then runs through
/// [`reconcile::instrumented`] (span, metrics, back-off).
pub async fn run_controllers(client: Client, metrics: Metrics, config: OperatorConfig) {
    let (caches, triggers, reflectors) = Caches::new(&client);
    let ctx = Arc::new(Context::new(client.clone(), caches, metrics, config));
    let selector = ctx.config.selector.clone();
    let selected = move || match &selector {
        Some(selector) => watcher::Config::default().labels(selector),
        None => watcher::Config::default(),
    };
    let limits = || controller::Config::default().concurrency(ctx.config.concurrency);
    let clusters = media_cluster::controller(&client, selected(), &triggers, limits())
        .run(
            |obj, ctx| async move {
                ctx.caches.wait_until_ready().await;
                reconcile::instrumented(obj, ctx, media_cluster::reconcile).await
            },
            reconcile::error_policy,
            ctx.clone(),
        )
        .for_each(|_| async {});
    let tenants = tenant::controller(
        &client,
        selected(),
        triggers.media_clusters.subscribe(),
        limits(),
    )
    .run(
        |obj, ctx| async move {
            ctx.caches.wait_until_ready().await;
            reconcile::instrumented(obj, ctx, tenant::reconcile).await
        },
        reconcile::error_policy,
        ctx.clone(),
    )
    .for_each(|_| async {});
    let gateways = gateway::controller(
        &client,
        selected(),
        triggers.media_clusters.subscribe(),
        limits(),
    )
    .run(
        |obj, ctx| async move {
            ctx.caches.wait_until_ready().await;
            reconcile::instrumented(obj, ctx, gateway::reconcile).await
        },
        reconcile::error_policy,
        ctx.clone(),
    )
    .for_each(|_| async {});
    tokio::join!(reflectors.run(), clusters, tenants, gateways);
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
    let controllers = run_controllers(client.clone(), metrics.clone(), config.clone());
    let work = async move {
        if paused {
            tracing::info!("global pause switch is on: no resource is reconciled");
            std::future::pending::<()>().await;
        } else {
            controllers.await;
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
