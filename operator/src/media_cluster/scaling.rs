//! The autoscalers' read and effects around their pure decision
//! ([`super::autoscale::decide`]), for the pools that are a Deployment: the
//! SFU pool (`networking: HostPort`, or `HostNetworkSlots` with several
//! pods per node on their own port slots; a DaemonSet runs one pod per
//! node and is not scaled here), the SIP pool scaled by its calls
//! (`sip.autoscale`) and the recorder pool scaled by its jobs
//! (`recorder.autoscale`, whose files are in an object store). All drain
//! and remove any one pod the same way: pod names are unique, and a
//! slotted pod's successor takes whichever slot is free.
//!
//! Read: the Deployment's replicas, the pool's pods, and signal's table of
//! the pool's nodes (`GET /internal/v1/media-nodes`, or `GET
//! /internal/v1/{sip-gateways,recorders}`, with the internal key, at the URL the tenant
//! sync uses). The replicas, the pods and the scaling status come from the
//! watch caches; a decision that would act (a step, a drain) is made again
//! from the API server's answers ([`acts`]). Then, in this order, so that
//! an operator stopped anywhere resumes where it was: the decision's status
//! is written; the drained node is marked draining in signal (`POST
//! /internal/v1/{table}/{pod}/drain`, on every reconcile while the drain
//! lasts: a restarted signal or gateway learns it again); a pod being
//! removed gets the lowest `controller.kubernetes.io/pod-deletion-cost`, so
//! that the ReplicaSet removes exactly that pod when the apply step lowers
//! the replicas; an Event tells the step.

use chrono::Utc;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use yunhui_crds::MediaCluster;
use yunhui_crds::media_cluster::{MediaClusterStatus, PoolScalingStatus};
use yunhui_proto::media::MediaNodeList;
use yunhui_proto::worker::{WorkerList, WorkerPool};

use super::autoscale::{self, Member, Observed, Policy, PoolKind, PoolPod, Step};
use super::build::{GeneratedKeys, signal_url};
use super::validate::ValidCluster;
use crate::cache::find;
use crate::children::{FIELD_MANAGER, Owner};
use crate::context::Context;
use crate::error::{Error, Result};

/// The annotation that tells a ReplicaSet which pod to remove first.
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// How often a scaled pool's load is looked at.
pub const SCALING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// What the autoscaler decided for this reconcile.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaled {
    /// The Deployment's replicas for the build step.
    pub replicas: i32,
    /// The scaling status to keep in every status write of this reconcile.
    pub status: PoolScalingStatus,
}

/// A scaled pool: which one, and its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    /// SFU, SIP or recorder.
    pub kind: PoolKind,
    /// Its scaling settings.
    pub policy: Policy,
}

impl Pool {
    /// The component of its pods and the suffix of its Deployment.
    fn component(&self) -> &'static str {
        match self.kind {
            PoolKind::Sfu => "sfu",
            PoolKind::Sip => "sip",
            PoolKind::Recorder => "recorder",
        }
    }

    /// Signal's table of the pool's nodes, under `/internal/v1/`.
    fn table(&self) -> &'static str {
        match self.kind {
            PoolKind::Sfu => "media-nodes",
            PoolKind::Sip => WorkerPool::SipGateways.path(),
            PoolKind::Recorder => WorkerPool::Recorders.path(),
        }
    }

    /// What the nodes are called in logs.
    fn nodes(&self) -> &'static str {
        match self.kind {
            PoolKind::Sfu => "SFU nodes",
            PoolKind::Sip => "SIP gateways",
            PoolKind::Recorder => "recorders",
        }
    }

    /// The pool's scaling status in `status`.
    pub fn status_in<'a>(&self, status: &'a MediaClusterStatus) -> Option<&'a PoolScalingStatus> {
        match self.kind {
            PoolKind::Sfu => status.sfu_scaling.as_ref(),
            PoolKind::Sip => status.sip_scaling.as_ref(),
            PoolKind::Recorder => status.recorder_scaling.as_ref(),
        }
    }

    fn set_status_in(&self, status: &mut MediaClusterStatus, scaling: PoolScalingStatus) {
        match self.kind {
            PoolKind::Sfu => status.sfu_scaling = Some(scaling),
            PoolKind::Sip => status.sip_scaling = Some(scaling),
            PoolKind::Recorder => status.recorder_scaling = Some(scaling),
        }
    }
}

/// `cluster`'s SFU pool.
pub fn sfu_pool(cluster: &ValidCluster) -> Pool {
    let sfu = &cluster.sfu;
    Pool {
        kind: PoolKind::Sfu,
        policy: Policy {
            min_nodes: sfu.min_nodes,
            max_nodes: sfu.max_nodes,
            target_load_percent: sfu.target_load_percent,
            scale_down_window: chrono::Duration::seconds(sfu.scale_down_window_seconds),
            drain_timeout: chrono::Duration::seconds(sfu.drain_timeout_seconds),
        },
    }
}

/// `cluster`'s SIP pool, when it is scaled by its calls.
pub fn sip_pool(cluster: &ValidCluster) -> Option<Pool> {
    let sip = cluster.sip.as_ref()?;
    let autoscale = sip.autoscale.as_ref()?;
    Some(Pool {
        kind: PoolKind::Sip,
        policy: Policy {
            min_nodes: autoscale.min_nodes,
            max_nodes: autoscale.max_nodes,
            target_load_percent: autoscale.target_load_percent,
            scale_down_window: chrono::Duration::seconds(autoscale.scale_down_window_seconds),
            drain_timeout: chrono::Duration::seconds(sip.drain_timeout_seconds),
        },
    })
}

/// `cluster`'s recorder pool, when it is scaled by its jobs.
pub fn recorder_pool(cluster: &ValidCluster) -> Option<Pool> {
    let recorder = cluster.recorder.as_ref()?;
    let autoscale = recorder.autoscale.as_ref()?;
    Some(Pool {
        kind: PoolKind::Recorder,
        policy: Policy {
            min_nodes: autoscale.min_nodes,
            max_nodes: autoscale.max_nodes,
            target_load_percent: autoscale.target_load_percent,
            scale_down_window: chrono::Duration::seconds(autoscale.scale_down_window_seconds),
            drain_timeout: chrono::Duration::seconds(recorder.drain_timeout_seconds),
        },
    })
}

/// Reads `pool` and its load, decides, records the decision and carries
/// out its effects (all but the replicas, which the apply step writes).
pub async fn scale(
    ctx: &Context,
    mc: &MediaCluster,
    owner: &Owner,
    pool: &Pool,
    keys: &GeneratedKeys,
) -> Result<Scaled> {
    let namespace = &owner.namespace;
    let name = format!("{}-{}", owner.name, pool.component());
    let signal = signal_url(&owner.name, namespace, &mc.spec);
    let nodes = match members(ctx, pool, &signal, &keys.internal_key).await {
        Ok(nodes) => Some(nodes),
        Err(error) => {
            // Signal may not run yet; the status shows no load meanwhile.
            tracing::debug!(%error, pool = pool.nodes(), "the pool's load is unknown: it is not scaled down meanwhile");
            None
        }
    };
    let policy = pool.policy;
    let decide = |replicas: Option<i32>, pods: &[PoolPod], previous: Option<&PoolScalingStatus>| {
        autoscale::decide(
            &policy,
            &Observed {
                now: Utc::now(),
                replicas,
                pods,
                nodes: nodes.as_deref(),
                previous,
            },
        )
    };
    // Most looks at a pool change nothing: those read only the caches.
    let cached_replicas =
        find(&ctx.caches.deployments, namespace, &name).and_then(|d| d.spec.as_ref()?.replicas);
    let cached_pods = cached_pool_pods(ctx, owner, pool);
    let cached_status = mc.status.as_ref().and_then(|s| pool.status_in(s));
    let decision = decide(cached_replicas, &cached_pods, cached_status);
    if !acts(cached_status, &decision) {
        return Ok(Scaled {
            replicas: decision.replicas,
            status: decision.status,
        });
    }
    // A step, or a drain under way, is decided again from the API server:
    // a cache may not yet hold what the previous reconcile wrote (the drain
    // in the status, the lowered replicas, a removed pod), and a step
    // decided on it would be taken twice.
    let replicas = Api::<Deployment>::namespaced(ctx.client.clone(), namespace)
        .get_opt(&name)
        .await?
        .and_then(|d| d.spec?.replicas);
    let pods = pool_pods(ctx, owner, pool).await?;
    let fresh = Api::<MediaCluster>::namespaced(ctx.client.clone(), namespace)
        .get(&owner.name)
        .await?;
    let current = fresh.status.as_ref().and_then(|s| pool.status_in(s));
    let decision = decide(replicas, &pods, current);
    // The drain's state is recorded before anything acts on it.
    if current.map(|s| &s.drain) != Some(&decision.status.drain) {
        let mut status = fresh.status.clone().unwrap_or_default();
        pool.set_status_in(&mut status, decision.status.clone());
        ctx.write_status(mc, fresh.status.as_ref(), &status).await?;
    }
    if let Some(drain) = &decision.status.drain {
        if drain.removing_to.is_some() {
            if pods.iter().any(|p| p.name == drain.pod) {
                mark_for_removal(ctx, namespace, &drain.pod).await?;
            }
        } else if let Err(error) =
            mark_draining(ctx, pool, &signal, &keys.internal_key, &drain.pod).await
        {
            // Retried on the next reconcile; the pod stays meanwhile.
            tracing::warn!(%error, pod = %drain.pod, "marking the node draining failed");
        }
    }
    if let Some(step) = &decision.step {
        let (reason, note) = step.event(pool.kind, policy.target_load_percent);
        tracing::info!(reason, pool = pool.nodes(), "{note}");
        let warning = matches!(step, Step::Remove { rooms, .. } if *rooms > 0);
        ctx.event(mc, warning, reason, note, &step.action()).await;
    }
    Ok(Scaled {
        replicas: decision.replicas,
        status: decision.status,
    })
}

/// Whether a decision made from the caches would act: take a step, or
/// carry a drain (begun, under way, or ending). Otherwise the decision
/// changes at most the load figures of the status.
pub fn acts(previous: Option<&PoolScalingStatus>, decision: &autoscale::Decision) -> bool {
    decision.step.is_some()
        || decision.status.drain.is_some()
        || previous.is_some_and(|s| s.drain.is_some())
}

fn pool_pod(pod: &Pod) -> PoolPod {
    let condition = |type_: &str, status: &str| {
        pod.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == type_ && c.status == status))
    };
    PoolPod {
        name: pod.name_any(),
        ready: condition("Ready", "True"),
        // The scheduler says so when it finds no node (the cache keeps
        // only the conditions of a pod).
        scheduled: !condition("PodScheduled", "False"),
    }
}

/// The pool's pods that are not terminating, from the cache.
fn cached_pool_pods(ctx: &Context, owner: &Owner, pool: &Pool) -> Vec<PoolPod> {
    let selector = owner.selector(pool.component());
    let mut pods: Vec<PoolPod> = ctx
        .caches
        .pool_pods
        .state()
        .iter()
        .filter(|pod| pod.metadata.namespace.as_deref() == Some(owner.namespace.as_str()))
        .filter(|pod| {
            let labels = pod.labels();
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .filter(|pod| pod.metadata.deletion_timestamp.is_none())
        .map(|pod| pool_pod(pod))
        .collect();
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    pods
}

/// The pool's pods that are not terminating, from the API server.
async fn pool_pods(ctx: &Context, owner: &Owner, pool: &Pool) -> Result<Vec<PoolPod>> {
    let selector = owner
        .selector(pool.component())
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &owner.namespace);
    let list = pods.list(&ListParams::default().labels(&selector)).await?;
    Ok(list
        .items
        .iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none())
        .map(pool_pod)
        .collect())
}

fn signal_error(url: &str, action: String, reason: String) -> Error {
    Error::Signal {
        url: url.to_owned(),
        action,
        reason,
    }
}

/// Signal's table of the pool's nodes with each one's load.
async fn members(ctx: &Context, pool: &Pool, signal: &str, key: &str) -> Result<Vec<Member>> {
    let action = || format!("list its {}", pool.nodes());
    let response = ctx
        .http
        .get(format!("{signal}/internal/v1/{}", pool.table()))
        .bearer_auth(key)
        .send()
        .await
        .map_err(|e| signal_error(signal, action(), e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(signal_error(
            signal,
            action(),
            format!("HTTP {status}: {body}"),
        ));
    }
    let unreadable = |e: reqwest::Error| signal_error(signal, action(), e.to_string());
    Ok(match pool.kind {
        PoolKind::Sfu => {
            let list: MediaNodeList = response.json().await.map_err(unreadable)?;
            list.nodes.iter().map(Member::from).collect()
        }
        PoolKind::Sip | PoolKind::Recorder => {
            let list: WorkerList = response.json().await.map_err(unreadable)?;
            list.workers.iter().map(Member::from).collect()
        }
    })
}

/// Marks `pod`'s node draining in signal; a node that does not report (404)
/// takes nothing new anyway.
async fn mark_draining(
    ctx: &Context,
    pool: &Pool,
    signal: &str,
    key: &str,
    pod: &str,
) -> Result<()> {
    let action = || format!("mark {pod} of its {} draining", pool.nodes());
    let response = ctx
        .http
        .post(format!("{signal}/internal/v1/{}/{pod}/drain", pool.table()))
        .bearer_auth(key)
        .send()
        .await
        .map_err(|e| signal_error(signal, action(), e.to_string()))?;
    let status = response.status();
    if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    Err(signal_error(
        signal,
        action(),
        format!("HTTP {status}: {body}"),
    ))
}

/// Gives `pod` the lowest deletion cost, so the ReplicaSet removes it first.
async fn mark_for_removal(ctx: &Context, namespace: &str, pod: &str) -> Result<()> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let patch = serde_json::json!({
        "metadata": {"annotations": {POD_DELETION_COST: i32::MIN.to_string()}}
    });
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    pods.patch(pod, &params, &Patch::Merge(&patch)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use yunhui_crds::media_cluster::PoolDrain;

    use super::*;

    fn status(drain: Option<&str>) -> PoolScalingStatus {
        PoolScalingStatus {
            load_percent: Some(10),
            desired_nodes: 1,
            current_nodes: 1,
            low_load_since: None,
            drain: drain.map(|pod| PoolDrain {
                pod: pod.into(),
                since: "2026-01-01T00:00:00Z".into(),
                removing_to: None,
            }),
        }
    }

    fn decision(step: Option<Step>, drain: Option<&str>) -> autoscale::Decision {
        autoscale::Decision {
            replicas: 1,
            status: status(drain),
            step,
        }
    }

    #[test]
    fn a_decision_that_only_updates_the_load_does_not_act() {
        assert!(!acts(None, &decision(None, None)));
        assert!(!acts(Some(&status(None)), &decision(None, None)));
    }

    #[test]
    fn a_step_or_a_drain_begun_under_way_or_ending_acts() {
        let up = Step::ScaleUp {
            from: 1,
            to: 2,
            load_percent: Some(90),
        };
        assert!(acts(None, &decision(Some(up), None)));
        assert!(acts(None, &decision(None, Some("sfu-a"))));
        assert!(acts(
            Some(&status(Some("sfu-a"))),
            &decision(None, Some("sfu-a"))
        ));
        assert!(
            acts(Some(&status(Some("sfu-a"))), &decision(None, None)),
            "a drain that ends is decided afresh"
        );
    }
}
