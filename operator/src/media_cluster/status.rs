//! The status step: the MediaCluster's conditions and counts, and what the
//! reconcile does next — for a paused cluster, an invalid spec, an SFU pool
//! waiting for host ports, and one that was applied.

use std::time::Duration;

use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use yunhui_crds::media_cluster::{PoolScalingStatus, SfuNetworking};
use yunhui_crds::{MediaCluster, MediaClusterStatus, ResourceStatus};

use super::build::signal_url;
use super::host_ports::PortConflict;
use super::validate::{InvalidSpec, Signal, ValidCluster};
use crate::apply::ApplyReport;
use crate::cache::find;
use crate::conditions::{self, READY};
use crate::context::Context;
use crate::error::Result;

/// Reason of the Ready condition while another pool holds the SFU's ports.
pub const SFU_PORT_CONFLICT: &str = "SfuPortConflict";

/// A paused cluster: its readiness as last seen, and nothing else happens
/// until the spec changes.
pub async fn paused(ctx: &Context, mc: &MediaCluster) -> Result<Action> {
    let current = mc.status.as_ref();
    let mut status = current.cloned().unwrap_or_default();
    let ready = current.is_some_and(|s| s.is_ready());
    status.conditions = conditions::settle(
        previous(mc),
        conditions::standard(
            (ready, "Paused", "reconciliation is paused".into()),
            false,
            None,
            true,
        ),
        mc.meta().generation,
    );
    status.observed_generation = mc.meta().generation;
    ctx.write_status(mc, current, &status).await?;
    Ok(Action::await_change())
}

/// An invalid spec: `Ready=False` with reason `InvalidSpec`, an Event the
/// first time, and a wait for a change instead of a hot loop.
pub async fn invalid(ctx: &Context, mc: &MediaCluster, invalid: &InvalidSpec) -> Result<Action> {
    let current = mc.status.as_ref();
    let generation = mc.meta().generation;
    let message = invalid.to_string();
    let already = current.and_then(|s| s.condition(READY)).is_some_and(|c| {
        c.reason == "InvalidSpec" && c.observed_generation == generation && c.message == message
    });
    let status = MediaClusterStatus {
        observed_generation: generation,
        conditions: conditions::settle(
            previous(mc),
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
        ctx.event(mc, true, "InvalidSpec", message, "Validate")
            .await;
    }
    ctx.write_status(mc, current, &status).await?;
    Ok(Action::await_change())
}

/// The scaled pools' status as their autoscalers decided in this reconcile.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scaling<'a> {
    /// The SFU pool's, when it is a scaled Deployment.
    pub sfu: Option<&'a PoolScalingStatus>,
    /// The SIP pool's, when it is scaled by its calls.
    pub sip: Option<&'a PoolScalingStatus>,
    /// The recorder pool's, when it is scaled by its jobs.
    pub recorder: Option<&'a PoolScalingStatus>,
}

/// The status after the apply step: ready when signal and the SFU pool
/// are, not ready (and a warning) while another pool holds the host ports.
pub async fn update(
    ctx: &Context,
    mc: &MediaCluster,
    namespace: &str,
    cluster: &ValidCluster,
    port_conflict: Option<&PortConflict>,
    report: &ApplyReport,
    scaling: Scaling<'_>,
) -> Result<Action> {
    let current = mc.status.as_ref();
    let generation = mc.meta().generation;
    let name = mc.name_any();
    let (signal_ready, signal_ok) = signal_readiness(ctx, namespace, &name, cluster);
    if let Some(conflict) = port_conflict {
        let message = conflict.to_string();
        let reported = current
            .and_then(|s| s.condition(READY))
            .is_some_and(|c| c.reason == SFU_PORT_CONFLICT && c.message == message);
        if !reported {
            ctx.event(mc, true, SFU_PORT_CONFLICT, message.clone(), "Apply")
                .await;
        }
        let status = MediaClusterStatus {
            observed_generation: generation,
            conditions: conditions::settle(
                previous(mc),
                conditions::standard(
                    (false, SFU_PORT_CONFLICT, message.clone()),
                    false,
                    Some((SFU_PORT_CONFLICT, message)),
                    false,
                ),
                generation,
            ),
            signal_ready_replicas: signal_ready,
            sfu_ready_nodes: 0,
            signal_url: Some(signal_url(&name, namespace, &mc.spec)),
            sfu_scaling: None,
            sip_scaling: scaling.sip.cloned(),
            recorder_scaling: scaling.recorder.cloned(),
        };
        ctx.write_status(mc, current, &status).await?;
        // Waits for a change of this or another MediaCluster (both are watched).
        return Ok(Action::requeue(ctx.config.resync));
    }
    let want_sfu = scaling
        .sfu
        .map_or(cluster.sfu.min_nodes, |s| s.current_nodes);
    let (sfu_ready, sfu_ok) = sfu_readiness(ctx, namespace, &name, cluster, want_sfu);
    let ready = signal_ok && sfu_ok && !report.changed();
    let message = if ready {
        "signal and the SFU pool are ready".to_string()
    } else {
        format!("waiting for pods: signal {signal_ready} ready, SFU {sfu_ready} ready")
    };
    let status = MediaClusterStatus {
        observed_generation: generation,
        conditions: conditions::settle(
            previous(mc),
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
        signal_url: Some(signal_url(&name, namespace, &mc.spec)),
        sfu_scaling: scaling.sfu.cloned(),
        sip_scaling: scaling.sip.cloned(),
        recorder_scaling: scaling.recorder.cloned(),
    };
    ctx.write_status(mc, current, &status).await?;
    Ok(if ready {
        Action::requeue(ctx.config.resync)
    } else {
        Action::requeue(Duration::from_secs(5))
    })
}

fn previous(mc: &MediaCluster) -> &[yunhui_crds::common::Condition] {
    mc.status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
}

/// Ready signal replicas, and whether all wanted ones are ready and current
/// (from the cached StatefulSet, whose changes trigger a reconcile).
fn signal_readiness(
    ctx: &Context,
    namespace: &str,
    name: &str,
    cluster: &ValidCluster,
) -> (i32, bool) {
    let Signal::InCluster { replicas, .. } = &cluster.signal else {
        return (0, true);
    };
    let Some(sts) = find(
        &ctx.caches.stateful_sets,
        namespace,
        &format!("{name}-signal"),
    ) else {
        return (0, false);
    };
    let want = if cluster.stopped { 0 } else { *replicas };
    let status = sts.status.clone().unwrap_or_default();
    let ready = status.ready_replicas.unwrap_or(0);
    let current = status.observed_generation >= sts.metadata.generation
        && status.updated_replicas.unwrap_or(0) >= want;
    (ready, current && ready >= want)
}

/// Ready SFU pods, and whether all wanted ones are ready and current (from
/// the cached workload, whose changes trigger a reconcile).
fn sfu_readiness(
    ctx: &Context,
    namespace: &str,
    name: &str,
    cluster: &ValidCluster,
    host_port_pods: i32,
) -> (i32, bool) {
    let name = format!("{name}-sfu");
    let min_nodes = cluster.sfu.min_nodes;
    match cluster.sfu.networking {
        SfuNetworking::HostNetwork => {
            if cluster.stopped {
                return (0, true);
            }
            let Some(ds) = find(&ctx.caches.daemon_sets, namespace, &name) else {
                return (0, false);
            };
            let status = ds.status.clone().unwrap_or_default();
            let current = status.observed_generation >= ds.metadata.generation
                && status.updated_number_scheduled.unwrap_or(0) >= status.desired_number_scheduled;
            (
                status.number_ready,
                current
                    && status.number_ready >= status.desired_number_scheduled
                    && status.number_ready >= min_nodes,
            )
        }
        SfuNetworking::HostPort | SfuNetworking::HostNetworkSlots => {
            let Some(d) = find(&ctx.caches.deployments, namespace, &name) else {
                return (0, false);
            };
            let want = if cluster.stopped { 0 } else { host_port_pods };
            let status = d.status.clone().unwrap_or_default();
            let ready = status.ready_replicas.unwrap_or(0);
            let current = status.observed_generation >= d.metadata.generation
                && status.updated_replicas.unwrap_or(0) >= want;
            (ready, current && ready >= want)
        }
    }
}

/// Whether `mc` reported that its SFU pool waits for host ports another
/// MediaCluster holds (so a change elsewhere may let it run).
pub fn waits_for_host_ports(mc: &MediaCluster) -> bool {
    mc.status
        .as_ref()
        .and_then(|s| s.condition(READY))
        .is_some_and(|c| c.reason == SFU_PORT_CONFLICT)
}
