//! Yunhui's Kubernetes operator: one controller per custom resource, each a
//! pipeline read → validate → build (pure) → apply → status.
//!
//! - [`media_cluster`]: signal StatefulSet, SFU pool, workers, keys, policies;
//! - [`tenant`]: tenants synchronised into signal's tenant admin API;
//! - [`gateway`]: exposure, TLS, the discovery document;
//! - [`apply`]: server-side apply with one field manager, no-op detection,
//!   orphan removal; [`children`]: labels and owner references;
//! - [`backoff`]: per-object exponential back-off of failed reconciles;
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
pub mod telemetry;
pub mod tenant;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Node;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use yunhui_crds::{Gateway, MediaCluster, Tenant};

pub use crate::context::{Context, OperatorConfig};
pub use crate::error::{Error, Result};
use crate::telemetry::{Health, Metrics};

/// Key of an object in the back-off [`backoff::Tracker`].
fn backoff_key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.meta().namespace.as_deref().unwrap_or_default(),
        obj.meta().name.as_deref().unwrap_or_default()
    )
}

/// A failed reconcile is retried after the object's next back-off delay.
fn error_policy<K: Resource<DynamicType = ()>>(
    obj: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let kind = K::kind(&());
    ctx.metrics.failures.with_label_values(&[&kind]).inc();
    let key = backoff_key(obj.as_ref());
    let delay = ctx.backoff.failed(&key);
    tracing::warn!(object = %key, %error, retry_in_ms = delay.as_millis() as u64, "reconcile failed; retrying");
    Action::requeue(delay)
}

/// Runs `reconcile` and resets the object's back-off when it succeeds.
async fn with_backoff_reset<K, F, Fut>(
    obj: Arc<K>,
    ctx: Arc<Context>,
    reconcile: F,
) -> Result<Action>
where
    K: Resource<DynamicType = ()>,
    F: FnOnce(Arc<K>, Arc<Context>) -> Fut,
    Fut: std::future::Future<Output = Result<Action>>,
{
    let key = backoff_key(obj.as_ref());
    let result = reconcile(obj, ctx.clone()).await;
    if result.is_ok() {
        ctx.backoff.succeeded(&key);
    }
    result
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
    let limits = || controller::Config::default().concurrency(ctx.config.concurrency);
    let clusters =
        Controller::new(Api::<MediaCluster>::all(client.clone()), selected()).with_config(limits());
    let cluster_store = clusters.store();
    let address_store = cluster_store.clone();
    let seen_addresses: std::sync::Mutex<HashMap<String, Option<String>>> = Default::default();
    let clusters = clusters
        // A change of any MediaCluster may free the host ports a pool waits for.
        .watches(
            Api::<MediaCluster>::all(client.clone()),
            watcher::Config::default(),
            move |changed| {
                cluster_store
                    .state()
                    .iter()
                    .filter(|mc| mc.metadata.uid != changed.metadata.uid)
                    .filter(|mc| media_cluster::waits_for_host_ports(mc))
                    .map(|mc| ObjectRef::from_obj(mc.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        // A node gaining, losing or changing its ExternalIP changes what the
        // pools advertising external addresses publish. Node status changes
        // all the time (heartbeats); only an address change triggers.
        .watches(
            Api::<Node>::all(client.clone()),
            watcher::Config::default(),
            move |node| {
                let name = node.name_any();
                let external = media_cluster::external_ip(&node);
                let changed = seen_addresses
                    .lock()
                    .map(|mut seen| seen.insert(name, external.clone()) != Some(external))
                    .unwrap_or(true);
                if !changed {
                    return Vec::new();
                }
                address_store
                    .state()
                    .iter()
                    .filter(|mc| media_cluster::advertises_node_external_ips(mc))
                    .map(|mc| ObjectRef::from_obj(mc.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .owns(Api::<StatefulSet>::all(client.clone()), owned())
        .owns(Api::<DaemonSet>::all(client.clone()), owned())
        .owns(Api::<Deployment>::all(client.clone()), owned())
        .run(
            |obj, ctx| with_backoff_reset(obj, ctx, media_cluster::reconcile),
            error_policy,
            ctx.clone(),
        )
        .for_each(|_| async {});
    let tenants =
        Controller::new(Api::<Tenant>::all(client.clone()), selected()).with_config(limits());
    let tenant_store = tenants.store();
    // A MediaCluster created later, becoming ready or changing re-syncs the
    // Tenants that name it (those not yet synced through it as it is now).
    let tenants = tenants
        .watches(
            Api::<MediaCluster>::all(client.clone()),
            watcher::Config::default(),
            move |mc| {
                let all = tenant_store.state();
                tenant::tenants_to_resync(&mc, all.iter().map(Arc::as_ref))
                    .map(ObjectRef::from_obj)
                    .collect::<Vec<_>>()
            },
        )
        .run(
            |obj, ctx| with_backoff_reset(obj, ctx, tenant::reconcile),
            error_policy,
            ctx.clone(),
        )
        .for_each(|_| async {});
    let gateways =
        Controller::new(Api::<Gateway>::all(client.clone()), selected()).with_config(limits());
    let gateway_store = gateways.store();
    let gateways = gateways
        .watches(
            Api::<MediaCluster>::all(client.clone()),
            watcher::Config::default(),
            move |mc| {
                let all = gateway_store.state();
                gateway::gateways_of(&mc, all.iter().map(Arc::as_ref))
                    .map(ObjectRef::from_obj)
                    .collect::<Vec<_>>()
            },
        )
        .run(
            |obj, ctx| with_backoff_reset(obj, ctx, gateway::reconcile),
            error_policy,
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
