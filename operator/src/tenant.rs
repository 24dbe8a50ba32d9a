//! The Tenant controller: read (MediaCluster, keys, from the watch caches)
//! → validate → build (the signal tenant record, pure) → apply (PUT to
//! signal's tenant admin API) → status. A finalizer removes the tenant from
//! signal on deletion; when the MediaCluster is already gone there is
//! nothing to clean up.

use std::sync::Arc;

use futures_util::Stream;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use yunhui_crds::tenant::{FirstAdminStatus, SyncedWith};
use yunhui_crds::{MediaCluster, Tenant, TenantSpec, TenantStatus};

use crate::cache::find;
use crate::conditions;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::media_cluster::build::{keys_secret_name, signal_url};
use crate::media_cluster::read::read_keys;

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
        "mediaRegion": spec.media_region,
    })
}

struct SignalTarget {
    url: String,
    key: String,
}

/// Whether the cache holds the keys Secret of `mc`.
fn keys_cached(ctx: &Context, namespace: &str, mc: &MediaCluster) -> bool {
    find(
        &ctx.caches.secrets,
        namespace,
        &keys_secret_name(&mc.name_any()),
    )
    .is_some()
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

/// Whether a Tenant of `mc` waits for `mc`'s first reconcile before it is
/// synced: the key signal accepts is in the MediaCluster's keys Secret,
/// which the cache holds once that reconcile applied it, and the cluster's
/// first status write triggers the Tenant again. A MediaCluster that has a
/// status but no cached keys (paused, invalid) has them read with a GET.
pub fn waits_for_first_reconcile(mc: &MediaCluster, keys_cached: bool) -> bool {
    !keys_cached && mc.status.is_none()
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

/// The Tenant controller; a MediaCluster created later, becoming ready or
/// changing (from the caches' shared watch) re-syncs the Tenants that name
/// it (those not yet synced through it as it is now).
pub fn controller(
    client: &Client,
    selected: watcher::Config,
    media_clusters: impl Stream<Item = Arc<MediaCluster>> + Send + 'static,
    limits: controller::Config,
) -> Controller<Tenant> {
    let tenants = Controller::new(Api::<Tenant>::all(client.clone()), selected).with_config(limits);
    let store = tenants.store();
    tenants.watches_shared_stream(media_clusters, move |mc| {
        let all = store.state();
        tenants_to_resync(&mc, all.iter().map(Arc::as_ref))
            .map(ObjectRef::from_obj)
            .collect::<Vec<_>>()
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
        let from = responder(&response);
        let body = response.text().await.unwrap_or_default();
        // Signal's own errors carry a JSON body; an empty one came from
        // something else on that address, which the message then describes.
        let body = if body.trim().is_empty() {
            format!("(empty body; {from})")
        } else {
            body
        };
        Err(err(format!("HTTP {status}: {body}")))
    }
}

/// What can be told of whoever answered: the peer address and the
/// `server` and `content-type` headers.
fn responder(response: &reqwest::Response) -> String {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_string()
    };
    format!(
        "answered by {}, server: {}, content-type: {}",
        response
            .remote_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "an unknown address".into()),
        header("server"),
        header("content-type")
    )
}

/// Display name of a first administrator whose Secret names none.
const DEFAULT_ADMIN_NAME: &str = "Administrator";

/// Whether signal already holds the first administrator the spec asks for.
fn first_admin_done(tenant: &Tenant) -> bool {
    match &tenant.spec.first_admin {
        None => true,
        Some(first) => tenant
            .status
            .as_ref()
            .and_then(|s| s.first_admin.as_ref())
            .is_some_and(|done| done.secret_name == first.secret_name),
    }
}

/// Why the first administrator could not be created: reason, message and,
/// when retrying may help, the error to back off on.
type Failure = (&'static str, String, Option<Error>);

/// Creates the first administrator from its Secret, once. Without a
/// `password` in the Secret signal generates one, written back into the
/// Secret so the person installing can read it. An account that exists
/// already counts as created (it may have been made by an earlier attempt).
async fn ensure_first_admin(
    ctx: &Context,
    target: &SignalTarget,
    tenant: &Tenant,
    namespace: &str,
    id: &str,
) -> std::result::Result<Option<FirstAdminStatus>, Failure> {
    let Some(first) = &tenant.spec.first_admin else {
        return Ok(None);
    };
    if first_admin_done(tenant) {
        return Ok(tenant.status.as_ref().and_then(|s| s.first_admin.clone()));
    }
    let name = &first.secret_name;
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let missing = || {
        let message = format!(
            "Secret {name} (spec.firstAdmin.secretName) does not exist in namespace {namespace}"
        );
        (
            "FirstAdminSecretMissing",
            message.clone(),
            Some(first_admin_error(id, message)),
        )
    };
    let secret = match secrets.get_opt(name).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return Err(missing()),
        Err(e) => return Err(("KubernetesUnavailable", e.to_string(), Some(Error::Kube(e)))),
    };
    let field = |key: &str| -> Option<String> {
        let bytes = secret.data.as_ref()?.get(key)?;
        String::from_utf8(bytes.0.clone())
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let Some(email) = field("email") else {
        let message = format!("Secret {name} has no `email` key for the first administrator");
        return Err((
            "FirstAdminSecretInvalid",
            message.clone(),
            Some(first_admin_error(id, message)),
        ));
    };
    let given_password = field("password");
    let mut body = json!({
        "email": email,
        "displayName": field("displayName").unwrap_or_else(|| DEFAULT_ADMIN_NAME.to_owned()),
    });
    if let Some(password) = &given_password {
        body["password"] = json!(password);
    }
    let url = format!("{}/internal/v1/tenants/{id}/admins", target.url);
    let unavailable = |reason: String| {
        let e = Error::Signal {
            url: target.url.clone(),
            action: format!("create the first administrator of {id}"),
            reason,
        };
        ("SignalUnavailable", e.to_string(), Some(e))
    };
    let response = ctx
        .http
        .post(&url)
        .bearer_auth(&target.key)
        .json(&body)
        .send()
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let status = response.status();
    if status == reqwest::StatusCode::CREATED {
        let created: serde_json::Value = response
            .json()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if given_password.is_none() {
            let Some(password) = created["password"].as_str() else {
                return Err(unavailable("the answer carried no password".into()));
            };
            let patch = json!({"stringData": {"password": password}});
            secrets
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| ("KubernetesUnavailable", e.to_string(), Some(Error::Kube(e))))?;
        }
    } else if status == reqwest::StatusCode::BAD_REQUEST {
        // The Secret's values are wrong (e.g. a short password); retrying the
        // same values cannot help, but a fixed Secret will.
        let text = response.text().await.unwrap_or_default();
        let message = format!("signal refused the first administrator from Secret {name}: {text}");
        return Err((
            "FirstAdminSecretInvalid",
            message.clone(),
            Some(first_admin_error(id, message)),
        ));
    } else if status != reqwest::StatusCode::CONFLICT {
        let text = response.text().await.unwrap_or_default();
        return Err(unavailable(format!("HTTP {status}: {text}")));
    }
    Ok(Some(FirstAdminStatus {
        secret_name: name.clone(),
        email,
    }))
}

fn first_admin_error(id: &str, reason: String) -> Error {
    Error::Signal {
        url: String::new(),
        action: format!("create the first administrator of {id}"),
        reason,
    }
}

/// Reconciles one Tenant (with its finalizer).
pub async fn reconcile(tenant: Arc<Tenant>, ctx: Arc<Context>) -> Result<Action> {
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
    let cluster = ctx
        .caches
        .media_cluster(namespace, &tenant.spec.media_cluster);
    // The outcome: Ok(through) when signal holds the tenant, else the reason,
    // the message and, for a transient failure, the error to back off on.
    let mut first_admin = None;
    let outcome: std::result::Result<Option<SyncedWith>, Failure> = match &cluster {
        None => Err((
            "MediaClusterNotFound",
            format!(
                "MediaCluster {} does not exist in namespace {namespace}",
                tenant.spec.media_cluster
            ),
            None,
        )),
        Some(mc) if is_synced_through(tenant, mc) && first_admin_done(tenant) => {
            first_admin = current.and_then(|s| s.first_admin.clone());
            Ok(synced_with(mc))
        }
        Some(mc) if waits_for_first_reconcile(mc, keys_cached(ctx, namespace, mc)) => {
            tracing::debug!(cluster = %mc.name_any(), "waiting for the MediaCluster's first reconcile (its keys)");
            return Ok(Action::requeue(ctx.config.resync));
        }
        Some(mc) => {
            let target = signal_target(ctx, namespace, mc).await?;
            match call_signal(ctx, &target, &id, Some(&tenant_record(&tenant.spec))).await {
                Ok(()) => match ensure_first_admin(ctx, &target, tenant, namespace, &id).await {
                    Ok(admin) => {
                        first_admin = admin;
                        Ok(synced_with(mc))
                    }
                    Err(failure) => Err(failure),
                },
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
        first_admin: first_admin.or_else(|| current.and_then(|s| s.first_admin.clone())),
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
    if let Some(mc) = ctx
        .caches
        .media_cluster(namespace, &tenant.spec.media_cluster)
    {
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
        assert!(r["mediaRegion"].is_null(), "no preference");
        let spec: TenantSpec = serde_norway::from_str(
            "displayName: Acme\nmediaCluster: prod\nlicence: {concurrentPorts: 50}\nmediaRegion: north",
        )
        .expect("fixture");
        assert_eq!(tenant_record(&spec)["mediaRegion"], "north");
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
    fn a_tenant_waits_for_the_keys_of_a_cluster_never_reconciled() {
        let mut mc = cluster("u1", 1);
        assert!(waits_for_first_reconcile(&mc, false));
        assert!(!waits_for_first_reconcile(&mc, true));
        mc.status = Some(yunhui_crds::MediaClusterStatus::default());
        assert!(
            !waits_for_first_reconcile(&mc, false),
            "a reconciled cluster without cached keys has them read from the API server"
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
