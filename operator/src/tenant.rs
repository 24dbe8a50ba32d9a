//! The Tenant controller: read (MediaCluster, keys) → validate → build (the
//! signal tenant record, pure) → apply (PUT to signal's tenant admin API) →
//! status. A finalizer removes the tenant from signal on deletion; when the
//! MediaCluster is already gone there is nothing to clean up.

use std::sync::Arc;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};
use serde_json::json;
use yunhui_crds::tenant::SyncedWith;
use yunhui_crds::{MediaCluster, Tenant, TenantSpec, TenantStatus};

use crate::conditions;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::media_cluster::{build::signal_url, read_keys};

/// Finalizer guarding the tenant's record in signal.
pub const FINALIZER: &str = "yunhui.dev/tenant-cleanup";

/// Id of the tenant in signal.
pub fn signal_tenant_id(namespace: &str, name: &str) -> String {
    format!("{namespace}.{name}")
}

/// Build step: the record signal stores for this tenant.
pub fn tenant_record(spec: &TenantSpec) -> serde_json::Value {
    json!({
        "displayName": spec.display_name,
        "domains": spec.domains,
        "licence": spec.licence,
        "features": spec.features,
        "recordingRetentionDays": spec.recording.retention_days,
    })
}

struct SignalTarget {
    url: String,
    key: String,
}

/// Read step: where signal of `cluster` answers and the key it accepts.
async fn signal_target(ctx: &Context, namespace: &str, mc: &MediaCluster) -> Result<SignalTarget> {
    let cluster = mc.name_any();
    let keys = read_keys(ctx, namespace, &cluster).await?;
    Ok(SignalTarget {
        url: signal_url(&cluster, namespace, &mc.spec),
        key: keys.internal_key,
    })
}

/// The MediaCluster as a Tenant's status records it.
pub fn synced_with(mc: &MediaCluster) -> Option<SyncedWith> {
    Some(SyncedWith {
        uid: mc.metadata.uid.clone()?,
        generation: mc.metadata.generation.unwrap_or_default(),
    })
}

/// Whether `tenant` is synced, for its generation, through `mc` as it is
/// now; when not, a change of `mc` is a reason to sync the tenant again.
pub fn is_synced_through(tenant: &Tenant, mc: &MediaCluster) -> bool {
    tenant.status.as_ref().is_some_and(|s| {
        s.synced
            && s.observed_generation == tenant.metadata.generation
            && s.synced_with.is_some()
            && s.synced_with == synced_with(mc)
    })
}

/// Tenants (of `tenants`) that name `mc` as their MediaCluster and are not
/// synced through it as it is now: those a change of `mc` must re-sync.
pub fn tenants_to_resync<'a>(
    mc: &'a MediaCluster,
    tenants: impl IntoIterator<Item = &'a Tenant> + 'a,
) -> impl Iterator<Item = &'a Tenant> + 'a {
    tenants.into_iter().filter(move |t| {
        t.metadata.namespace == mc.metadata.namespace
            && mc.metadata.name.as_deref() == Some(t.spec.media_cluster.as_str())
            && !is_synced_through(t, mc)
    })
}

async fn call_signal(
    ctx: &Context,
    target: &SignalTarget,
    id: &str,
    body: Option<&serde_json::Value>,
) -> Result<()> {
    let url = format!("{}/internal/v1/tenants/{id}", target.url);
    let request = match body {
        Some(b) => ctx.http.put(&url).json(b),
        None => ctx.http.delete(&url),
    };
    let action = if body.is_some() {
        "store tenant"
    } else {
        "delete tenant"
    };
    let err = |reason: String| Error::Signal {
        url: target.url.clone(),
        action: format!("{action} {id}"),
        reason,
    };
    let response = request
        .bearer_auth(&target.key)
        .send()
        .await
        .map_err(|e| err(e.to_string()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        let status = response.status();
        Err(err(format!(
            "HTTP {status}: {}",
            response.text().await.unwrap_or_default()
        )))
    }
}

/// Reconciles one Tenant (with its finalizer).
pub async fn reconcile(tenant: Arc<Tenant>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx
        .metrics
        .duration
        .with_label_values(&["Tenant"])
        .start_timer();
    ctx.metrics.reconciles.with_label_values(&["Tenant"]).inc();
    let namespace = tenant
        .namespace()
        .ok_or_else(|| Error::NoNamespace(format!("Tenant {}", tenant.name_any())))?;
    let api: Api<Tenant> = Api::namespaced(ctx.client.clone(), &namespace);
    let ctx2 = ctx.clone();
    finalizer(&api, FINALIZER, tenant, |event| async move {
        match event {
            Finalizer::Apply(t) => sync(&t, &ctx2, &namespace).await,
            Finalizer::Cleanup(t) => cleanup(&t, &ctx2, &namespace).await,
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        kube::runtime::finalizer::Error::AddFinalizer(e)
        | kube::runtime::finalizer::Error::RemoveFinalizer(e) => Error::Kube(e),
        other => Error::Signal {
            url: String::new(),
            action: "run the finalizer".into(),
            reason: other.to_string(),
        },
    })
}

async fn sync(tenant: &Tenant, ctx: &Context, namespace: &str) -> Result<Action> {
    let generation = tenant.meta().generation;
    let current = tenant.status.as_ref();
    let previous = current.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let id = signal_tenant_id(namespace, &tenant.name_any());
    if tenant.spec.paused {
        let mut status = current.cloned().unwrap_or_default();
        status.conditions = conditions::settle(
            previous,
            conditions::standard(
                (status.synced, "Paused", "synchronisation is paused".into()),
                false,
                None,
                true,
            ),
            generation,
        );
        status.observed_generation = generation;
        ctx.write_status(tenant, current, &status).await?;
        return Ok(Action::await_change());
    }
    let clusters: Api<MediaCluster> = Api::namespaced(ctx.client.clone(), namespace);
    let cluster = clusters.get_opt(&tenant.spec.media_cluster).await?;
    // The outcome: Ok(through) when signal holds the tenant, else the reason,
    // the message and, for a transient failure, the error to back off on.
    let outcome: std::result::Result<Option<SyncedWith>, (&str, String, Option<Error>)> =
        match &cluster {
            None => Err((
                "MediaClusterNotFound",
                format!(
                    "MediaCluster {} does not exist in namespace {namespace}",
                    tenant.spec.media_cluster
                ),
                None,
            )),
            Some(mc) if is_synced_through(tenant, mc) => Ok(synced_with(mc)),
            Some(mc) => {
                let target = signal_target(ctx, namespace, mc).await?;
                match call_signal(ctx, &target, &id, Some(&tenant_record(&tenant.spec))).await {
                    Ok(()) => Ok(synced_with(mc)),
                    Err(e) => Err(("SignalUnavailable", e.to_string(), Some(e))),
                }
            }
        };
    let observations = match &outcome {
        Ok(_) => conditions::standard(
            (true, "Synced", format!("signal holds tenant {id}")),
            false,
            None,
            false,
        ),
        Err((reason, message, _)) => conditions::standard(
            (false, reason, message.clone()),
            true,
            Some((reason, message.clone())),
            false,
        ),
    };
    let status = TenantStatus {
        observed_generation: generation,
        conditions: conditions::settle(previous, observations, generation),
        synced: outcome.is_ok(),
        signal_tenant_id: Some(id),
        synced_with: outcome.as_ref().ok().cloned().flatten(),
    };
    if let Err((reason, message, _)) = &outcome {
        let changed = current
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == conditions::READY))
            .is_none_or(|c| c.reason != *reason);
        if changed {
            ctx.event(tenant, true, reason, message.clone(), "Sync")
                .await;
        }
    }
    ctx.write_status(tenant, current, &status).await?;
    match outcome {
        Ok(_) => Ok(Action::requeue(ctx.config.resync)),
        // Signal failed: retried with the object's back-off.
        Err((_, _, Some(error))) => Err(error),
        // No MediaCluster yet: its creation re-syncs the tenant (the Tenant
        // controller watches MediaClusters); the periodic resync is a safety net.
        Err((_, _, None)) => Ok(Action::requeue(ctx.config.resync)),
    }
}

async fn cleanup(tenant: &Tenant, ctx: &Context, namespace: &str) -> Result<Action> {
    let id = signal_tenant_id(namespace, &tenant.name_any());
    let clusters: Api<MediaCluster> = Api::namespaced(ctx.client.clone(), namespace);
    if let Some(mc) = clusters.get_opt(&tenant.spec.media_cluster).await? {
        let target = signal_target(ctx, namespace, &mc).await?;
        // The MediaCluster may be going away too; its signal then has nothing to keep.
        if let Err(e) = call_signal(ctx, &target, &id, None).await {
            tracing::warn!(tenant = %id, error = %e, "could not remove the tenant from signal; continuing deletion");
        }
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_carries_the_licence() {
        let spec: TenantSpec = serde_norway::from_str(
            "displayName: Acme\nmediaCluster: prod\nlicence: {concurrentPorts: 50}\nfeatures: {webinar: true}",
        )
        .expect("fixture");
        let r = tenant_record(&spec);
        assert_eq!(r["licence"], json!({"concurrentPorts": 50}));
        assert_eq!(r["features"]["webinar"], true);
        assert_eq!(r["recordingRetentionDays"], 30);
    }

    fn cluster(uid: &str, generation: i64) -> MediaCluster {
        serde_json::from_value(json!({
            "apiVersion": "yunhui.dev/v1alpha1", "kind": "MediaCluster",
            "metadata": {"name": "prod", "namespace": "ns", "uid": uid, "generation": generation},
            "spec": {}
        }))
        .expect("fixture")
    }

    fn tenant(name: &str, cluster: &str, synced: Option<(&str, i64)>) -> Tenant {
        let mut t: Tenant = serde_json::from_value(json!({
            "apiVersion": "yunhui.dev/v1alpha1", "kind": "Tenant",
            "metadata": {"name": name, "namespace": "ns", "generation": 1},
            "spec": {"displayName": name, "mediaCluster": cluster, "licence": {"concurrentPorts": 5}}
        }))
        .expect("fixture");
        t.status = synced.map(|(uid, generation)| TenantStatus {
            observed_generation: Some(1),
            synced: true,
            synced_with: Some(SyncedWith {
                uid: uid.into(),
                generation,
            }),
            ..TenantStatus::default()
        });
        t
    }

    fn names<'a>(it: impl Iterator<Item = &'a Tenant>) -> Vec<String> {
        it.map(|t| t.name_any()).collect()
    }

    #[test]
    fn a_cluster_change_resyncs_only_its_tenants_not_synced_through_it() {
        let tenants = [
            tenant("never-synced", "prod", None),
            tenant("current", "prod", Some(("u1", 3))),
            tenant("older-generation", "prod", Some(("u1", 2))),
            tenant("recreated-cluster", "prod", Some(("u0", 3))),
            tenant("other-cluster", "staging", None),
        ];
        assert_eq!(
            names(tenants_to_resync(&cluster("u1", 3), &tenants)),
            vec!["never-synced", "older-generation", "recreated-cluster"]
        );
        let mut elsewhere = tenant("never-synced", "prod", None);
        elsewhere.metadata.namespace = Some("other".into());
        assert_eq!(
            names(tenants_to_resync(&cluster("u1", 3), [&elsewhere])),
            Vec::<String>::new(),
            "a MediaCluster only serves Tenants of its namespace"
        );
    }

    #[test]
    fn a_new_tenant_generation_is_not_synced() {
        let mut t = tenant("acme", "prod", Some(("u1", 3)));
        assert!(is_synced_through(&t, &cluster("u1", 3)));
        t.metadata.generation = Some(2);
        assert!(!is_synced_through(&t, &cluster("u1", 3)));
    }
}
