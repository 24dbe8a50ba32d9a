//! Talking to the API server: server-side apply with the installer's field
//! manager, deletion, and the waits in between (CRDs established,
//! Deployments rolled out, deleted objects gone).

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};

use super::object::{ObjectKey, Resolved};
use super::{FIELD_MANAGER, InstallError};
use crate::progress::Progress;

const POLL: Duration = Duration::from_millis(500);

fn api_for(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    }
}

/// Applies objects in order (server-side apply, forced: the installer owns
/// every field it sets). CRDs are waited for before the objects after them.
pub async fn apply_all(
    client: &kube::Client,
    objects: &[Resolved],
    progress: &Progress,
) -> Result<(), InstallError> {
    let bar = progress.bar(objects.len() as u64, "applying");
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let mut crds = Vec::new();
    for object in objects {
        if object.key.kind != "CustomResourceDefinition" && !crds.is_empty() {
            wait_established(client, &std::mem::take(&mut crds)).await?;
        }
        let api = api_for(client, &object.resource, object.key.namespace.as_deref());
        api.patch(&object.key.name, &params, &Patch::Apply(&object.manifest))
            .await
            .map_err(|e| InstallError::Apply {
                key: object.key.to_string(),
                origin: object.origin.clone(),
                message: kube_message(e),
            })?;
        if object.key.kind == "CustomResourceDefinition" {
            crds.push(object.key.name.clone());
        }
        bar.inc(1);
    }
    if !crds.is_empty() {
        wait_established(client, &crds).await?;
    }
    bar.finish_and_clear();
    Ok(())
}

/// The API server's message for an error, without the Rust wrapping.
pub fn kube_message(error: kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

async fn wait_established(client: &kube::Client, names: &[String]) -> Result<(), InstallError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    for name in names {
        loop {
            let crd = api
                .get(name)
                .await
                .map_err(|e| InstallError::kube("reading a CRD", e))?;
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            if Instant::now() > deadline {
                return Err(InstallError::Timeout(format!(
                    "CRD {name} was not established within 60s"
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }
    Ok(())
}

/// Why a Deployment is not rolled out yet, or `None` when it is.
fn rollout_pending(deployment: &Deployment) -> Option<String> {
    let wanted = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let generation = deployment.metadata.generation.unwrap_or(0);
    let Some(status) = &deployment.status else {
        return Some("no status yet".into());
    };
    if status.observed_generation.unwrap_or(0) < generation {
        return Some("the controller has not seen the new spec yet".into());
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    if updated < wanted || available < wanted || total > wanted {
        let condition = status
            .conditions
            .iter()
            .flatten()
            .filter(|c| c.status != "True" || c.type_ == "ReplicaFailure")
            .filter_map(|c| c.message.clone())
            .collect::<Vec<_>>()
            .join("; ");
        return Some(format!(
            "{updated} of {wanted} replicas updated, {available} available, {total} in total{}",
            if condition.is_empty() {
                String::new()
            } else {
                format!(" ({condition})")
            }
        ));
    }
    None
}

/// Waits until every Deployment among `objects` has rolled out.
pub async fn wait_rollouts(
    client: &kube::Client,
    objects: &[Resolved],
    timeout: Duration,
    progress: &Progress,
) -> Result<(), InstallError> {
    let deadline = Instant::now() + timeout;
    for object in objects
        .iter()
        .filter(|o| o.key.kind == "Deployment" && o.key.group == "apps")
    {
        let namespace = object.key.namespace.as_deref().unwrap_or_default();
        let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
        let spinner = progress.spinner(&format!("waiting for {} to roll out", object.key));
        loop {
            let deployment = api
                .get(&object.key.name)
                .await
                .map_err(|e| InstallError::kube("reading a Deployment", e))?;
            let Some(why) = rollout_pending(&deployment) else {
                break;
            };
            spinner.set_message(format!("waiting for {}: {why}", object.key));
            if Instant::now() > deadline {
                spinner.finish_and_clear();
                return Err(InstallError::Timeout(format!(
                    "{} did not roll out within {}s: {why}",
                    object.key,
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(POLL).await;
        }
        spinner.finish_and_clear();
    }
    Ok(())
}

/// What a delete found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// Deleted now.
    Deleted,
    /// It was already gone.
    AlreadyGone,
}

/// Deletes one object (foreground, so its dependants go first); a missing
/// object or a kind the server no longer serves counts as already gone.
pub async fn delete(
    client: &kube::Client,
    key: &ObjectKey,
    manifest: &serde_json::Value,
) -> Result<Deleted, InstallError> {
    let resource = match resource_of(client, key, manifest).await {
        Some(resource) => resource,
        None => return Ok(Deleted::AlreadyGone),
    };
    let api = api_for(client, &resource, key.namespace.as_deref());
    match api.delete(&key.name, &DeleteParams::foreground()).await {
        Ok(_) => Ok(Deleted::Deleted),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Deleted::AlreadyGone),
        Err(e) => Err(InstallError::Delete {
            key: key.to_string(),
            message: kube_message(e),
        }),
    }
}

/// The API resource of an inventory entry, or `None` when the server no
/// longer serves its kind (its CRD is gone, so the object is too).
async fn resource_of(
    client: &kube::Client,
    key: &ObjectKey,
    manifest: &serde_json::Value,
) -> Option<ApiResource> {
    let api_version = manifest["apiVersion"].as_str().unwrap_or_default();
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    let gvk = kube::api::GroupVersionKind::gvk(&key.group, version, &key.kind);
    kube::discovery::pinned_kind(client, &gvk)
        .await
        .ok()
        .map(|(resource, _)| resource)
}

/// Waits until the objects are gone (finalizers done).
pub async fn wait_gone(
    client: &kube::Client,
    objects: &[(ObjectKey, serde_json::Value)],
    timeout: Duration,
) -> Result<(), InstallError> {
    let deadline = Instant::now() + timeout;
    for (key, manifest) in objects {
        let Some(resource) = resource_of(client, key, manifest).await else {
            continue;
        };
        let api = api_for(client, &resource, key.namespace.as_deref());
        loop {
            match api.get_opt(&key.name).await {
                Ok(None) => break,
                Ok(Some(_)) if Instant::now() > deadline => {
                    return Err(InstallError::Timeout(format!(
                        "{key} is still being deleted after {}s (a finalizer has not finished); run uninstall again once it is gone",
                        timeout.as_secs()
                    )));
                }
                Ok(Some(_)) => tokio::time::sleep(POLL).await,
                Err(e) => return Err(InstallError::kube("waiting for a deletion", e)),
            }
        }
    }
    Ok(())
}

/// Objects of a CRD's kind that still exist anywhere (up to `limit` names).
pub async fn remaining_instances(
    client: &kube::Client,
    crd: &serde_json::Value,
    limit: u32,
) -> Result<Vec<String>, InstallError> {
    let spec = &crd["spec"];
    let Some(version) = spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["storage"] == true)
        .and_then(|v| v["name"].as_str())
    else {
        return Ok(Vec::new());
    };
    let gvk = kube::api::GroupVersionKind::gvk(
        spec["group"].as_str().unwrap_or_default(),
        version,
        spec["names"]["kind"].as_str().unwrap_or_default(),
    );
    let resource = ApiResource::from_gvk_with_plural(
        &gvk,
        spec["names"]["plural"].as_str().unwrap_or_default(),
    );
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    match api.list(&ListParams::default().limit(limit)).await {
        Ok(list) => Ok(list
            .items
            .iter()
            .map(|o| {
                format!(
                    "{}/{}",
                    o.metadata.namespace.as_deref().unwrap_or("-"),
                    o.metadata.name.as_deref().unwrap_or_default()
                )
            })
            .collect()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Vec::new()),
        Err(e) => Err(InstallError::kube("listing custom resources", e)),
    }
}
