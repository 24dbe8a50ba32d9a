//! The Tenant controller: read (MediaCluster, keys) → validate → build (the
//! signal tenant record, pure) → apply (PUT to signal's tenant admin API) →
//! status. A finalizer removes the tenant from signal on deletion; when the
//! MediaCluster is already gone there is nothing to clean up.

use std::sync::Arc;
use std::time::Duration;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};
use serde_json::json;
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

async fn signal_target(
    ctx: &Context,
    namespace: &str,
    cluster: &str,
) -> Result<Option<SignalTarget>> {
    let api: Api<MediaCluster> = Api::namespaced(ctx.client.clone(), namespace);
    let Some(mc) = api.get_opt(cluster).await? else {
        return Ok(None);
    };
    let keys = read_keys(ctx, namespace, cluster).await?;
    Ok(Some(SignalTarget {
        url: signal_url(cluster, namespace, &mc.spec),
        key: keys.internal_key,
    }))
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
    let already_synced = current.is_some_and(|s| s.synced && s.observed_generation == generation);
    let outcome: std::result::Result<(), (String, String)> = if already_synced {
        Ok(())
    } else {
        match signal_target(ctx, namespace, &tenant.spec.media_cluster).await? {
            None => Err((
                "MediaClusterNotFound".into(),
                format!(
                    "MediaCluster {} does not exist in namespace {namespace}",
                    tenant.spec.media_cluster
                ),
            )),
            Some(target) => call_signal(ctx, &target, &id, Some(&tenant_record(&tenant.spec)))
                .await
                .map_err(|e| ("SignalUnavailable".to_string(), e.to_string())),
        }
    };
    let (synced, observations) = match &outcome {
        Ok(()) => (
            true,
            conditions::standard(
                (true, "Synced", format!("signal holds tenant {id}")),
                false,
                None,
                false,
            ),
        ),
        Err((reason, message)) => (
            false,
            conditions::standard(
                (false, reason, message.clone()),
                true,
                Some((reason, message.clone())),
                false,
            ),
        ),
    };
    let status = TenantStatus {
        observed_generation: generation,
        conditions: conditions::settle(previous, observations, generation),
        synced,
        signal_tenant_id: Some(id),
    };
    if let Err((reason, message)) = &outcome {
        let changed = current
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == conditions::READY))
            .is_none_or(|c| c.reason != *reason);
        if changed {
            ctx.event(tenant, true, reason, message.clone(), "Sync")
                .await;
        }
    }
    ctx.write_status(tenant, current, &status).await?;
    Ok(match outcome {
        Ok(()) => Action::requeue(ctx.config.resync),
        Err(_) => Action::requeue(Duration::from_secs(5)),
    })
}

async fn cleanup(tenant: &Tenant, ctx: &Context, namespace: &str) -> Result<Action> {
    let id = signal_tenant_id(namespace, &tenant.name_any());
    if let Some(target) = signal_target(ctx, namespace, &tenant.spec.media_cluster).await? {
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
}
