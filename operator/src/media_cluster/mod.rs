//! The MediaCluster controller: read → validate → build → apply → status,
//! one call each in [`reconcile`].
//!
//! - [`validate`]: checks the schema cannot express; returns the
//!   [`validate::ValidCluster`] the build step consumes;
//! - [`read`]: the generated keys, host-port conflicts, node addresses;
//! - [`build`]: the pure build step (typed children, one builder per workload);
//! - [`scaling`] around [`autoscale`]: the replicas of an SFU pool that is a
//!   Deployment (HostPort, HostNetworkSlots) and of a SIP pool scaled by its
//!   calls, from the load signal reports, and the drain of a node before its
//!   pod goes (decided purely in `autoscale`, carried out in `scaling`);
//! - [`status`]: readiness, conditions and what happens next;
//! - [`host_ports`]: SFU pools that would fight over a node's ports;
//! - [`nodes`]: the nodes an SFU pool runs on;
//! - this module: the controller with what it watches, and the pipeline.

pub mod autoscale;
pub mod build;
pub mod host_ports;
pub mod nodes;
pub mod read;
pub mod scaling;
pub mod status;
pub mod validate;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ApiResource};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use yunhui_crds::MediaCluster;

use crate::apply::{ApplyReport, apply_children};
use crate::cache::Triggers;
use crate::children::{Child, Owner};
use crate::context::Context;
use crate::error::{Error, Result};
use build::{BuildInput, PoolReplicas};

/// Kinds of children a MediaCluster can have (for orphan removal).
pub fn child_kinds() -> Vec<ApiResource> {
    vec![
        ApiResource::erase::<Secret>(&()),
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<ServiceAccount>(&()),
        ApiResource::erase::<Service>(&()),
        ApiResource::erase::<StatefulSet>(&()),
        ApiResource::erase::<DaemonSet>(&()),
        ApiResource::erase::<Deployment>(&()),
        ApiResource::erase::<PodDisruptionBudget>(&()),
        ApiResource::erase::<NetworkPolicy>(&()),
    ]
}

/// The MediaCluster controller and what triggers a reconcile besides a
/// change of the MediaCluster: its workloads' readiness, another
/// MediaCluster freeing host ports, a node's external address changing —
/// each from the watches of the caches (`triggers`).
pub fn controller(
    client: &Client,
    selected: watcher::Config,
    triggers: &Triggers,
    limits: controller::Config,
) -> Controller<MediaCluster> {
    let clusters =
        Controller::new(Api::<MediaCluster>::all(client.clone()), selected).with_config(limits);
    let cluster_store = clusters.store();
    let address_store = cluster_store.clone();
    let seen_addresses: Mutex<HashMap<String, Option<String>>> = Default::default();
    clusters
        // A change of any MediaCluster may free the host ports a pool waits for.
        .watches_shared_stream(triggers.media_clusters.subscribe(), move |changed| {
            cluster_store
                .state()
                .iter()
                .filter(|mc| mc.metadata.uid != changed.metadata.uid)
                .filter(|mc| status::waits_for_host_ports(mc))
                .map(|mc| ObjectRef::from_obj(mc.as_ref()))
                .collect::<Vec<_>>()
        })
        // A node gaining, losing or changing its ExternalIP changes what the
        // pools advertising external addresses publish. Node status changes
        // all the time (heartbeats); only an address change triggers.
        .watches_shared_stream(triggers.nodes.subscribe(), move |node| {
            let name = node.name_any();
            let external = nodes::external_ip(&node);
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
                .filter(|mc| read::advertises_node_external_ips(mc))
                .map(|mc| ObjectRef::from_obj(mc.as_ref()))
                .collect::<Vec<_>>()
        })
        .owns_shared_stream(triggers.stateful_sets.subscribe())
        .owns_shared_stream(triggers.daemon_sets.subscribe())
        .owns_shared_stream(triggers.deployments.subscribe())
}

/// Reconciles one MediaCluster.
pub async fn reconcile(mc: Arc<MediaCluster>, ctx: Arc<Context>) -> Result<Action> {
    let owner = Owner::of(mc.as_ref())
        .ok_or_else(|| Error::NoNamespace(format!("MediaCluster {}", mc.name_any())))?;
    if mc.spec.paused {
        return status::paused(&ctx, &mc).await;
    }
    let cluster = match validate::validate(&mc.spec) {
        Ok(cluster) => cluster,
        Err(invalid) => return status::invalid(&ctx, &mc, &invalid).await,
    };
    let found = read::read(&ctx, &mc, &owner.namespace).await?;
    let autoscaled =
        cluster.sfu.networking.is_scaled() && !cluster.stopped && found.port_conflict.is_none();
    let scaled = if autoscaled {
        let pool = scaling::sfu_pool(&cluster);
        Some(scaling::scale(&ctx, &mc, &owner, &pool, &found.keys).await?)
    } else {
        None
    };
    let sip_scaled = match scaling::sip_pool(&cluster).filter(|_| !cluster.stopped) {
        Some(pool) => Some(scaling::scale(&ctx, &mc, &owner, &pool, &found.keys).await?),
        None => None,
    };
    let recorder_scaled = match scaling::recorder_pool(&cluster).filter(|_| !cluster.stopped) {
        Some(pool) => Some(scaling::scale(&ctx, &mc, &owner, &pool, &found.keys).await?),
        None => None,
    };
    let children = build::build(&BuildInput {
        owner: &owner,
        cluster: &cluster,
        keys: &found.keys,
        default_registry: &ctx.config.default_registry,
        default_pull_secrets: &ctx.config.default_pull_secrets,
        sfu_pool: found.port_conflict.is_none(),
        node_addresses: found.node_addresses.as_ref(),
        scaled: PoolReplicas {
            sfu: scaled.as_ref().map(|s| s.replicas),
            sip: sip_scaled.as_ref().map(|s| s.replicas),
            recorder: recorder_scaled.as_ref().map(|s| s.replicas),
        },
    })?;
    let report = apply(&ctx, &mc, &owner, &children).await?;
    let action = status::update(
        &ctx,
        &mc,
        &owner.namespace,
        &cluster,
        found.port_conflict.as_ref(),
        &report,
        status::Scaling {
            sfu: scaled.as_ref().map(|s| &s.status),
            sip: sip_scaled.as_ref().map(|s| &s.status),
            recorder: recorder_scaled.as_ref().map(|s| &s.status),
        },
    )
    .await?;
    // The load changes without any watch event: a scaled pool is looked at
    // again every few seconds.
    Ok(
        if scaled.is_some() || sip_scaled.is_some() || recorder_scaled.is_some() {
            Action::requeue(scaling::SCALING_INTERVAL)
        } else {
            action
        },
    )
}

/// The apply step: server-side apply of the children, removal of orphans,
/// an Event when something changed.
async fn apply(
    ctx: &Context,
    mc: &MediaCluster,
    owner: &Owner,
    children: &[Child],
) -> Result<ApplyReport> {
    let report = apply_children(
        &ctx.client,
        &ctx.caches,
        &owner.namespace,
        &owner.reference.uid,
        children,
        &child_kinds(),
    )
    .await?;
    if report.changed() {
        ctx.event(
            mc,
            false,
            "Applied",
            format!(
                "applied {} and deleted {} children",
                report.applied.len(),
                report.deleted.len()
            ),
            "Apply",
        )
        .await;
    }
    Ok(report)
}
