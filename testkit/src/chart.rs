//! The operator's Helm chart, rendered by a helm built from its Go module
//! (`charts/build-helm.sh`), and its RBAC granted to a test user.

use std::path::PathBuf;
use std::process::Command;

use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::json;

use crate::cluster::repo;

/// The real helm, built from its Go module (cached outside the clone).
pub fn helm() -> PathBuf {
    let out = Command::new(repo().join("charts/build-helm.sh"))
        .output()
        .expect("build-helm.sh runs");
    assert!(
        out.status.success(),
        "building helm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("build-helm.sh prints helm's path")
            .trim(),
    )
}

/// Every object of the chart rendered into `namespace` (CRDs included).
pub fn render_chart_in(namespace: &str) -> Vec<serde_json::Value> {
    let out = Command::new(helm())
        .args(["template", "yunhui-operator"])
        .arg(repo().join("charts/yunhui-operator"))
        .args(["--namespace", namespace, "--include-crds"])
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(&text)
        .filter_map(|d| serde_json::Value::deserialize(d).ok())
        .filter(|v| v.is_object())
        .collect()
}

/// Creates the chart's (Cluster)Roles and binds them to `user`.
pub async fn grant_chart_rbac(admin: &Client, namespace: &str, user: &str) {
    for doc in render_chart_in(namespace) {
        let kind = doc["kind"].as_str().unwrap_or_default();
        if !matches!(kind, "ClusterRole" | "Role") {
            continue;
        }
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let role: DynamicObject = serde_json::from_value(doc.clone()).expect("role");
        let gvk = kube::api::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind);
        let (ar, _) = kube::discovery::pinned_kind(admin, &gvk)
            .await
            .expect("rbac discovery");
        let binding_kind = if kind == "ClusterRole" {
            "ClusterRoleBinding"
        } else {
            "RoleBinding"
        };
        let (bar, _) = kube::discovery::pinned_kind(
            admin,
            &kube::api::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", binding_kind),
        )
        .await
        .expect("rbac discovery");
        let (roles, bindings): (Api<DynamicObject>, Api<DynamicObject>) = if kind == "ClusterRole" {
            (
                Api::all_with(admin.clone(), &ar),
                Api::all_with(admin.clone(), &bar),
            )
        } else {
            (
                Api::namespaced_with(admin.clone(), namespace, &ar),
                Api::namespaced_with(admin.clone(), namespace, &bar),
            )
        };
        roles
            .create(&PostParams::default(), &role)
            .await
            .expect("role creates");
        let binding: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": binding_kind,
            "metadata": {"name": format!("{name}-test-user")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
        }))
        .expect("binding");
        bindings
            .create(&PostParams::default(), &binding)
            .await
            .expect("binding creates");
    }
}
