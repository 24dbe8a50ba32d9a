//! Objects the installer applies: their identity, the order they are applied
//! in, and the API resource each maps to (from the CRDs being installed, or
//! from the API server's discovery).

use std::collections::BTreeMap;

use kube::api::{ApiResource, GroupVersionKind};
use kube::discovery::Scope;
use serde::{Deserialize, Serialize};

use super::InstallError;

/// The identity of an object across revisions. The API version is left out
/// on purpose: a chart moving an object to a newer version of its group is
/// the same object, not one to prune.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    /// API group (`""` for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace; `None` for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        };
        match &self.namespace {
            Some(ns) => write!(f, "{kind} {ns}/{}", self.name),
            None => write!(f, "{kind} {}", self.name),
        }
    }
}

/// Where an object came from, for error messages.
#[derive(Debug, Clone)]
pub struct Desired {
    /// `chart yunhui-operator`, `registry credentials`, `resources[0].inline`, ….
    pub origin: String,
    /// The manifest (namespace filled in once resolved).
    pub manifest: serde_json::Value,
}

/// An object ready to apply: identity, API resource and manifest.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Identity.
    pub key: ObjectKey,
    /// The API resource (plural, version) to talk to.
    pub resource: ApiResource,
    /// Where it came from.
    pub origin: String,
    /// The manifest to apply.
    pub manifest: serde_json::Value,
}

/// Apply order by kind, in the spirit of Helm's install order: what others
/// depend on first. Unknown kinds (the site's custom resources) come last.
const KIND_ORDER: &[&str] = &[
    "CustomResourceDefinition",
    "PriorityClass",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Deployment",
    "StatefulSet",
    "Job",
    "CronJob",
    "Ingress",
];

/// Rank of a kind in the apply order.
pub fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

fn gvk_of(manifest: &serde_json::Value) -> GroupVersionKind {
    let api_version = manifest["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    GroupVersionKind::gvk(
        group,
        version,
        manifest["kind"].as_str().unwrap_or_default(),
    )
}

/// Resource and scope of the kinds the CRDs in `desired` define, so their
/// objects resolve before the CRDs exist on the server.
fn kinds_from_crds(desired: &[Desired]) -> BTreeMap<(String, String, String), (ApiResource, bool)> {
    let mut out = BTreeMap::new();
    for d in desired {
        let m = &d.manifest;
        if m["kind"] != "CustomResourceDefinition" {
            continue;
        }
        let spec = &m["spec"];
        let group = spec["group"].as_str().unwrap_or_default();
        let kind = spec["names"]["kind"].as_str().unwrap_or_default();
        let plural = spec["names"]["plural"].as_str().unwrap_or_default();
        let namespaced = spec["scope"] == "Namespaced";
        for version in spec["versions"].as_array().into_iter().flatten() {
            let Some(version) = version["name"].as_str() else {
                continue;
            };
            let gvk = GroupVersionKind::gvk(group, version, kind);
            out.insert(
                (group.to_string(), version.to_string(), kind.to_string()),
                (ApiResource::from_gvk_with_plural(&gvk, plural), namespaced),
            );
        }
    }
    out
}

/// Maps every desired object to its API resource, fills in the site
/// namespace for namespaced objects that name none, refuses duplicates, and
/// sorts them into apply order (stable within a kind).
pub async fn resolve(
    client: &kube::Client,
    namespace: &str,
    desired: Vec<Desired>,
) -> Result<Vec<Resolved>, InstallError> {
    let from_crds = kinds_from_crds(&desired);
    let mut discovered: BTreeMap<(String, String, String), (ApiResource, bool)> = BTreeMap::new();
    let mut out: Vec<Resolved> = Vec::new();
    for Desired {
        origin,
        mut manifest,
    } in desired
    {
        let gvk = gvk_of(&manifest);
        let id = (gvk.group.clone(), gvk.version.clone(), gvk.kind.clone());
        let (resource, namespaced) = match from_crds.get(&id).or_else(|| discovered.get(&id)) {
            Some(found) => found.clone(),
            None => {
                let (resource, capabilities) = kube::discovery::pinned_kind(client, &gvk)
                    .await
                    .map_err(|e| InstallError::Object {
                        origin: origin.clone(),
                        message: format!(
                            "the API server does not serve {}/{} {} (and no CRD in the bundle or site defines it): {e}",
                            gvk.group, gvk.version, gvk.kind
                        ),
                    })?;
                let found = (resource, capabilities.scope == Scope::Namespaced);
                discovered.insert(id, found.clone());
                found
            }
        };
        let name = manifest["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let object_namespace = if namespaced {
            let ns = manifest["metadata"]["namespace"]
                .as_str()
                .unwrap_or(namespace)
                .to_string();
            manifest["metadata"]["namespace"] = serde_json::Value::String(ns.clone());
            Some(ns)
        } else {
            if manifest["metadata"].get("namespace").is_some() {
                return Err(InstallError::Object {
                    origin,
                    message: format!(
                        "{} {name} is cluster-scoped but names a namespace; remove metadata.namespace",
                        gvk.kind
                    ),
                });
            }
            None
        };
        let key = ObjectKey {
            group: gvk.group.clone(),
            kind: gvk.kind.clone(),
            namespace: object_namespace,
            name,
        };
        if let Some(first) = out.iter().find(|r| r.key == key) {
            return Err(InstallError::Object {
                origin,
                message: format!("{key} is also defined by {}; define it once", first.origin),
            });
        }
        out.push(Resolved {
            key,
            resource,
            origin,
            manifest,
        });
    }
    out.sort_by_key(|r| kind_rank(&r.key.kind));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crds_before_rbac_before_workloads_before_custom_resources() {
        let mut kinds = vec![
            "Tenant",
            "Deployment",
            "ClusterRole",
            "CustomResourceDefinition",
        ];
        kinds.sort_by_key(|k| kind_rank(k));
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition",
                "ClusterRole",
                "Deployment",
                "Tenant"
            ]
        );
    }

    #[test]
    fn key_display_names_group_namespace_and_name() {
        let key = ObjectKey {
            group: "yunhui.dev".into(),
            kind: "Tenant".into(),
            namespace: Some("site".into()),
            name: "acme".into(),
        };
        assert_eq!(key.to_string(), "Tenant.yunhui.dev site/acme");
    }
}
