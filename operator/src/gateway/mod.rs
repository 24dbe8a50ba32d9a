//! The Gateway controller: read (MediaCluster, existing TLS, from the watch
//! caches) → build → apply → status. No finalizer: everything it makes is
//! owned by it.

pub mod build;
pub mod tls;

use std::sync::Arc;

use futures_util::Stream;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ApiResource};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use yunhui_crds::gateway::ExposureMode;
use yunhui_crds::{Gateway, GatewayStatus, MediaCluster};

use crate::apply::{ApplyReport, apply_children};
use crate::cache::find;
use crate::children::Owner;
use crate::conditions;
use crate::context::Context;
use crate::error::{Error, Result};
use tls::TlsMaterial;

/// Kinds of children a Gateway can have.
pub fn child_kinds() -> Vec<ApiResource> {
    vec![
        ApiResource::erase::<Secret>(&()),
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<Service>(&()),
        ApiResource::erase::<Ingress>(&()),
    ]
}

/// Gateways (of `gateways`) in front of `mc`: its creation or any change
/// (addresses, ports, readiness) rebuilds them and their discovery document.
pub fn gateways_of<'a>(
    mc: &'a MediaCluster,
    gateways: impl IntoIterator<Item = &'a Gateway> + 'a,
) -> impl Iterator<Item = &'a Gateway> + 'a {
    gateways.into_iter().filter(move |g| {
        g.metadata.namespace == mc.metadata.namespace
            && mc.metadata.name.as_deref() == Some(g.spec.media_cluster.as_str())
    })
}

/// The Gateway controller; a change of a MediaCluster (its creation, its
/// ports), from the caches' shared watch, reconciles the Gateways in front
/// of it.
pub fn controller(
    client: &Client,
    selected: watcher::Config,
    media_clusters: impl Stream<Item = Arc<MediaCluster>> + Send + 'static,
    limits: controller::Config,
) -> Controller<Gateway> {
    let gateways =
        Controller::new(Api::<Gateway>::all(client.clone()), selected).with_config(limits);
    let store = gateways.store();
    gateways.watches_shared_stream(media_clusters, move |mc| {
        let all = store.state();
        gateways_of(&mc, all.iter().map(Arc::as_ref))
            .map(ObjectRef::from_obj)
            .collect::<Vec<_>>()
    })
}

async fn read_tls(ctx: &Context, namespace: &str, gw: &Gateway) -> Result<Option<TlsMaterial>> {
    let Some(generate) = &gw.spec.tls.generate else {
        return Ok(None);
    };
    let name = gw.name_any();
    let secret = |name: String| async move {
        ctx.caches
            .secret_or_get(&ctx.client, namespace, &name)
            .await
    };
    let ca = secret(format!("{name}-ca")).await?;
    let leaf = secret(build::tls_secret_name(&name, &gw.spec)).await?;
    let field = |s: &Option<Secret>, key: &str| -> Option<String> {
        String::from_utf8(s.as_ref()?.data.as_ref()?.get(key)?.0.clone()).ok()
    };
    if let (Some(ca_cert), Some(ca_key), Some(cert), Some(key)) = (
        field(&ca, "ca.crt"),
        field(&ca, "ca.key"),
        field(&leaf, "tls.crt"),
        field(&leaf, "tls.key"),
    ) {
        return Ok(Some(TlsMaterial {
            ca_cert,
            ca_key,
            cert,
            key,
        }));
    }
    Ok(Some(tls::generate(
        &generate.ca_common_name,
        &gw.spec.hosts,
    )?))
}

/// Reconciles one Gateway.
pub async fn reconcile(gw: Arc<Gateway>, ctx: Arc<Context>) -> Result<Action> {
    let namespace = gw
        .namespace()
        .ok_or_else(|| Error::NoNamespace(format!("Gateway {}", gw.name_any())))?;
    let owner = Owner::of(gw.as_ref())
        .ok_or_else(|| Error::NoNamespace(format!("Gateway {}", gw.name_any())))?;
    let generation = gw.meta().generation;
    let current = gw.status.as_ref();
    let previous = current.map(|s| s.conditions.as_slice()).unwrap_or_default();
    if gw.spec.paused {
        let mut status = current.cloned().unwrap_or_default();
        status.conditions = conditions::settle(
            previous,
            conditions::standard(
                (false, "Paused", "reconciliation is paused".into()),
                false,
                None,
                true,
            ),
            generation,
        );
        status.observed_generation = generation;
        ctx.write_status(gw.as_ref(), current, &status).await?;
        return Ok(Action::await_change());
    }
    let Some(cluster) = ctx.caches.media_cluster(&namespace, &gw.spec.media_cluster) else {
        let message = format!(
            "MediaCluster {} does not exist in namespace {namespace}",
            gw.spec.media_cluster
        );
        let status = GatewayStatus {
            observed_generation: generation,
            conditions: conditions::settle(
                previous,
                conditions::standard(
                    (false, "MediaClusterNotFound", message.clone()),
                    false,
                    Some(("MediaClusterNotFound", message.clone())),
                    false,
                ),
                generation,
            ),
            ..current.cloned().unwrap_or_default()
        };
        if ctx.write_status(gw.as_ref(), current, &status).await? {
            ctx.event(gw.as_ref(), true, "MediaClusterNotFound", message, "Read")
                .await;
        }
        // Its creation triggers this Gateway (the controller watches MediaClusters).
        return Ok(Action::requeue(ctx.config.resync));
    };
    let tls = read_tls(&ctx, &namespace, &gw).await?;
    let apply = |allocated_node_port: Option<i32>| {
        let children = build::build(&build::BuildInput {
            owner: &owner,
            spec: &gw.spec,
            cluster: &cluster.spec,
            tls: tls.as_ref(),
            allocated_node_port,
        });
        let ctx = ctx.clone();
        let namespace = namespace.clone();
        let uid = owner.reference.uid.clone();
        async move {
            apply_children(
                &ctx.client,
                &ctx.caches,
                &namespace,
                &uid,
                &children?,
                &child_kinds(),
            )
            .await
        }
    };
    let mut allocated = allocated_node_port(&ctx, &namespace, &gw, None);
    let mut report = apply(allocated).await?;
    // Kubernetes allocates a node port when it creates the Service: a second
    // pass writes the discovery document that names it.
    let now_allocated = allocated_node_port(&ctx, &namespace, &gw, Some(&report));
    if now_allocated != allocated {
        allocated = now_allocated;
        let second = apply(allocated).await?;
        report.extend(second);
    }
    if report.changed() {
        ctx.event(
            gw.as_ref(),
            false,
            "Applied",
            format!("applied {} children", report.applied.len()),
            "Apply",
        )
        .await;
    }
    let url = build::public_url(&gw.spec, allocated);
    let ready = match &url {
        Some(url) => (
            true,
            "Exposed",
            format!("{url} exposes {}", gw.spec.media_cluster),
        ),
        None => (
            false,
            "NodePortPending",
            format!("Service {} has no node port allocated yet", gw.name_any()),
        ),
    };
    let status = GatewayStatus {
        observed_generation: generation,
        conditions: conditions::settle(
            previous,
            conditions::standard(ready, url.is_none(), None, false),
            generation,
        ),
        api_url: url.as_ref().map(|url| format!("{url}/api/v1")),
        tls_secret_name: Some(build::tls_secret_name(&gw.name_any(), &gw.spec)),
    };
    ctx.write_status(gw.as_ref(), current, &status).await?;
    if url.is_none() {
        return Ok(Action::requeue(std::time::Duration::from_secs(2)));
    }
    Ok(Action::requeue(ctx.config.resync))
}

/// The node port Kubernetes allocated to the Gateway's Service, when the
/// Gateway's address depends on it (NodePort exposure without a fixed
/// `spec.exposure.nodePort`); none before the Service exists. Read from the
/// apply step's answer when it just wrote the Service (its watch event may
/// not have arrived), else from the cache.
fn allocated_node_port(
    ctx: &Context,
    namespace: &str,
    gw: &Gateway,
    applied: Option<&ApplyReport>,
) -> Option<i32> {
    let exposure = &gw.spec.exposure;
    if exposure.mode != ExposureMode::NodePort || exposure.node_port.is_some() {
        return None;
    }
    let name = gw.name_any();
    let written = applied.and_then(|report| {
        report.written.iter().find(|o| {
            o.types.as_ref().is_some_and(|t| t.kind == "Service")
                && o.metadata.name.as_deref() == Some(name.as_str())
        })
    });
    match written {
        Some(object) => serde_json::to_value(object)
            .and_then(serde_json::from_value::<Service>)
            .ok()
            .as_ref()
            .and_then(build::allocated_node_port),
        None => find(&ctx.caches.services, namespace, &name)
            .as_deref()
            .and_then(build::allocated_node_port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gateway(name: &str, namespace: &str, cluster: &str) -> Gateway {
        serde_json::from_value(json!({
            "apiVersion": "yunhui.dev/v1alpha1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"mediaCluster": cluster, "hosts": ["meet.example"], "tls": {"secretName": "tls"}}
        }))
        .expect("fixture")
    }

    #[test]
    fn a_media_cluster_triggers_the_gateways_in_front_of_it() {
        let mc: MediaCluster = serde_json::from_value(json!({
            "apiVersion": "yunhui.dev/v1alpha1", "kind": "MediaCluster",
            "metadata": {"name": "prod", "namespace": "a"}, "spec": {}
        }))
        .expect("fixture");
        let gateways = [
            gateway("public", "a", "prod"),
            gateway("staging", "a", "staging"),
            gateway("public", "b", "prod"),
        ];
        let hit: Vec<String> = gateways_of(&mc, &gateways)
            .map(|g| format!("{}/{}", g.namespace().unwrap_or_default(), g.name_any()))
            .collect();
        assert_eq!(hit, vec!["a/public"]);
    }
}
