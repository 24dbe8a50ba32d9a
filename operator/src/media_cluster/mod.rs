//! The MediaCluster controller: read → validate → build → apply → status.
//!
//! - [`validate`]: checks the schema cannot express;
//! - [`build`]: the pure build step (children from spec and keys);
//! - [`host_ports`]: SFU pools that would fight over a node's ports;
//! - this module: reading the generated keys, applying, and the status.

pub mod build;
pub mod host_ports;
pub mod validate;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ApiResource, ListParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use rand::RngCore;
use yunhui_crds::media_cluster::{AdvertisedAddress, SfuNetworking};
use yunhui_crds::{MediaCluster, MediaClusterStatus, ResourceStatus};

use crate::apply::apply_children;
use crate::children::Owner;
use crate::conditions::{self, READY};
use crate::context::Context;

/// A node's ExternalIP, if it has one.
pub fn external_ip(node: &Node) -> Option<String> {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "ExternalIP"))
        .map(|a| a.address.clone())
}
use crate::error::{Error, Result};
use build::{BuildInput, GeneratedKeys, keys_secret_name};

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

fn random_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Read step: the generated keys, kept from the existing Secret so they
/// survive every reconcile; generated only when absent.
pub async fn read_keys(ctx: &Context, namespace: &str, cluster: &str) -> Result<GeneratedKeys> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let existing = secrets.get_opt(&keys_secret_name(cluster)).await?;
    let field = |key: &str| -> Option<String> {
        let data = existing.as_ref()?.data.as_ref()?;
        String::from_utf8(data.get(key)?.0.clone()).ok()
    };
    Ok(GeneratedKeys {
        internal_key: field("internal-key").unwrap_or_else(random_key),
        token_signing_key: field("token-signing-key").unwrap_or_else(random_key),
    })
}

/// Read step for `advertise: NodeExternalIp`: the ExternalIP of every node
/// the SFU pool may run on, by node name, and the names of those without one.
async fn node_external_addresses(
    ctx: &Context,
    mc: &MediaCluster,
) -> Result<(BTreeMap<String, String>, Vec<String>)> {
    let selector = host_ports::sfu_node_selector(&mc.spec);
    let nodes = Api::<Node>::all(ctx.client.clone())
        .list(&ListParams::default())
        .await?;
    let mut addresses = BTreeMap::new();
    let mut without = Vec::new();
    for node in &nodes.items {
        let labels = node.labels();
        if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            continue;
        }
        match external_ip(node) {
            Some(ip) => {
                addresses.insert(node.name_any(), ip);
            }
            None => without.push(node.name_any()),
        }
    }
    Ok((addresses, without))
}

/// Whether `mc` advertises its nodes' external addresses (so a change of a
/// node's addresses changes its children).
pub fn advertises_node_external_ips(mc: &MediaCluster) -> bool {
    mc.spec.sfu.advertise == AdvertisedAddress::NodeExternalIp
}

/// Reconciles one MediaCluster.
pub async fn reconcile(mc: Arc<MediaCluster>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx
        .metrics
        .duration
        .with_label_values(&["MediaCluster"])
        .start_timer();
    ctx.metrics
        .reconciles
        .with_label_values(&["MediaCluster"])
        .inc();
    let namespace = mc
        .namespace()
        .ok_or_else(|| Error::NoNamespace(format!("MediaCluster {}", mc.name_any())))?;
    let owner = Owner::of(mc.as_ref())
        .ok_or_else(|| Error::NoNamespace(format!("MediaCluster {}", mc.name_any())))?;
    let generation = mc.meta().generation;
    let current = mc.status.as_ref();
    let previous = current.map(|s| s.conditions.as_slice()).unwrap_or_default();

    if mc.spec.paused {
        let mut status = current.cloned().unwrap_or_default();
        let ready = current.is_some_and(|s| s.is_ready());
        status.conditions = conditions::settle(
            previous,
            conditions::standard(
                (ready, "Paused", "reconciliation is paused".into()),
                false,
                None,
                true,
            ),
            generation,
        );
        status.observed_generation = generation;
        ctx.write_status(mc.as_ref(), current, &status).await?;
        return Ok(Action::await_change());
    }

    // validate
    if let Err(invalid) = validate::validate(&mc.spec) {
        let message = invalid.to_string();
        let already = current.and_then(|s| s.condition(READY)).is_some_and(|c| {
            c.reason == "InvalidSpec" && c.observed_generation == generation && c.message == message
        });
        let status = MediaClusterStatus {
            observed_generation: generation,
            conditions: conditions::settle(
                previous,
                conditions::standard(
                    (false, "InvalidSpec", message.clone()),
                    false,
                    Some(("InvalidSpec", message.clone())),
                    false,
                ),
                generation,
            ),
            ..current.cloned().unwrap_or_default()
        };
        if !already {
            ctx.event(mc.as_ref(), true, "InvalidSpec", message, "Validate")
                .await;
        }
        ctx.write_status(mc.as_ref(), current, &status).await?;
        // An invalid spec waits for a change instead of hot-looping.
        return Ok(Action::await_change());
    }

    // read + build
    let keys = read_keys(&ctx, &namespace, &owner.name).await?;
    // Host ports are per node, and nodes are shared by every namespace.
    let clusters = Api::<MediaCluster>::all(ctx.client.clone())
        .list(&ListParams::default())
        .await?;
    let port_conflict = host_ports::sfu_port_conflict(&mc, &clusters.items);
    let node_addresses = if mc.spec.sfu.advertise == AdvertisedAddress::NodeExternalIp {
        let (addresses, without) = node_external_addresses(&ctx, &mc).await?;
        if !without.is_empty() {
            ctx.event(
                mc.as_ref(),
                true,
                "NodeWithoutExternalIp",
                format!(
                    "SFU nodes without an ExternalIP address cannot advertise one: {}; give them one, or use advertise NodeInternalIp or Fixed",
                    without.join(", ")
                ),
                "Build",
            )
            .await;
        }
        Some(addresses)
    } else {
        None
    };
    let children = build::build(&BuildInput {
        owner: &owner,
        spec: &mc.spec,
        keys: &keys,
        default_registry: &ctx.config.default_registry,
        default_pull_secrets: &ctx.config.default_pull_secrets,
        sfu_pool: port_conflict.is_none(),
        node_addresses: node_addresses.as_ref(),
    })?;

    // apply
    let report = apply_children(
        &ctx.client,
        &namespace,
        &owner.reference.uid,
        &children,
        &child_kinds(),
    )
    .await?;
    if report.changed() {
        ctx.event(
            mc.as_ref(),
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

    // status
    let (signal_ready, signal_ok) = signal_readiness(&ctx, &namespace, &mc).await?;
    if let Some(conflict) = port_conflict {
        let message = conflict.to_string();
        let reason = "SfuPortConflict";
        let reported = current
            .and_then(|s| s.condition(READY))
            .is_some_and(|c| c.reason == reason && c.message == message);
        if !reported {
            ctx.event(mc.as_ref(), true, reason, message.clone(), "Apply")
                .await;
        }
        let status = MediaClusterStatus {
            observed_generation: generation,
            conditions: conditions::settle(
                previous,
                conditions::standard(
                    (false, reason, message.clone()),
                    false,
                    Some((reason, message)),
                    false,
                ),
                generation,
            ),
            signal_ready_replicas: signal_ready,
            sfu_ready_nodes: 0,
            signal_url: Some(build::signal_url(&owner.name, &namespace, &mc.spec)),
        };
        ctx.write_status(mc.as_ref(), current, &status).await?;
        // Waits for a change of this or another MediaCluster (both are watched).
        return Ok(Action::requeue(ctx.config.resync));
    }
    let (sfu_ready, sfu_ok) = sfu_readiness(&ctx, &namespace, &mc).await?;
    let ready = signal_ok && sfu_ok && !report.changed();
    let message = if ready {
        "signal and the SFU pool are ready".to_string()
    } else {
        format!("waiting for pods: signal {signal_ready} ready, SFU {sfu_ready} ready")
    };
    let status = MediaClusterStatus {
        observed_generation: generation,
        conditions: conditions::settle(
            previous,
            conditions::standard(
                (ready, if ready { "Ready" } else { "PodsNotReady" }, message),
                !ready,
                None,
                false,
            ),
            generation,
        ),
        signal_ready_replicas: signal_ready,
        sfu_ready_nodes: sfu_ready,
        signal_url: Some(build::signal_url(&owner.name, &namespace, &mc.spec)),
    };
    ctx.write_status(mc.as_ref(), current, &status).await?;
    Ok(if ready {
        Action::requeue(ctx.config.resync)
    } else {
        Action::requeue(Duration::from_secs(5))
    })
}

async fn signal_readiness(
    ctx: &Context,
    namespace: &str,
    mc: &MediaCluster,
) -> Result<(i32, bool)> {
    if mc.spec.signal.external_url.is_some() {
        return Ok((0, true));
    }
    let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), namespace);
    let Some(sts) = api.get_opt(&format!("{}-signal", mc.name_any())).await? else {
        return Ok((0, false));
    };
    let want = if mc.spec.stopped {
        0
    } else {
        mc.spec.signal.replicas
    };
    let status = sts.status.unwrap_or_default();
    let ready = status.ready_replicas.unwrap_or(0);
    let current = status.observed_generation >= sts.metadata.generation
        && status.updated_replicas.unwrap_or(0) >= want;
    Ok((ready, current && ready >= want))
}

async fn sfu_readiness(ctx: &Context, namespace: &str, mc: &MediaCluster) -> Result<(i32, bool)> {
    let name = format!("{}-sfu", mc.name_any());
    if mc.spec.sfu.networking == SfuNetworking::HostNetwork {
        if mc.spec.stopped {
            return Ok((0, true));
        }
        let api: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), namespace);
        let Some(ds) = api.get_opt(&name).await? else {
            return Ok((0, false));
        };
        let status = ds.status.unwrap_or_default();
        let current = status.observed_generation >= ds.metadata.generation
            && status.updated_number_scheduled.unwrap_or(0) >= status.desired_number_scheduled;
        Ok((
            status.number_ready,
            current
                && status.number_ready >= status.desired_number_scheduled
                && status.number_ready >= mc.spec.sfu.min_nodes,
        ))
    } else {
        let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), namespace);
        let Some(d) = api.get_opt(&name).await? else {
            return Ok((0, false));
        };
        let want = if mc.spec.stopped {
            0
        } else {
            mc.spec.sfu.min_nodes
        };
        let status = d.status.unwrap_or_default();
        let ready = status.ready_replicas.unwrap_or(0);
        let current = status.observed_generation >= d.metadata.generation
            && status.updated_replicas.unwrap_or(0) >= want;
        Ok((ready, current && ready >= want))
    }
}

/// Whether `mc` reported that its SFU pool waits for host ports another
/// MediaCluster holds (so a change elsewhere may let it run).
pub fn waits_for_host_ports(mc: &MediaCluster) -> bool {
    mc.status
        .as_ref()
        .and_then(|s| s.condition(READY))
        .is_some_and(|c| c.reason == "SfuPortConflict")
}
