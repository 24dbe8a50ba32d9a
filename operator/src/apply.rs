//! The apply step: server-side apply of children with one field manager,
//! skipping children that already match (so a reconcile with nothing to
//! change writes nothing), and deleting orphans (children of the owner that
//! the build step no longer produces).

use std::collections::BTreeSet;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::children::{APPLIED_HASH, Child, FIELD_MANAGER, OWNER_UID_LABEL};
use crate::error::Result;

/// What the apply step did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// Children written (created or changed).
    pub applied: Vec<String>,
    /// Orphans deleted.
    pub deleted: Vec<String>,
}

impl ApplyReport {
    /// Whether anything was written.
    pub fn changed(&self) -> bool {
        !self.applied.is_empty() || !self.deleted.is_empty()
    }
}

/// Hash of a child's desired form, stored in [`APPLIED_HASH`].
pub fn desired_hash(object: &DynamicObject) -> Result<String> {
    let json = serde_json::to_vec(object)?;
    Ok(hex::encode(&Sha256::digest(&json)[..12]))
}

/// Path of the first place where `want` is not contained in `have`, if any.
/// Maps are compared key by key (extra keys in `have` are defaults the API
/// server added); lists element by element.
pub fn first_difference(want: &Value, have: &Value, path: &str) -> Option<String> {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().find_map(|(k, wv)| match h.get(k) {
            Some(hv) => first_difference(wv, hv, &format!("{path}.{k}")),
            None if wv.is_null() => None,
            None => Some(format!("{path}.{k}")),
        }),
        (Value::Array(w), Value::Array(h)) => {
            if w.len() != h.len() {
                return Some(format!("{path}[len]"));
            }
            w.iter()
                .zip(h)
                .enumerate()
                .find_map(|(i, (wv, hv))| first_difference(wv, hv, &format!("{path}[{i}]")))
        }
        (w, h) if w == h => None,
        _ => Some(path.to_string()),
    }
}

/// Applies `children` in `namespace`, then deletes children of `owner_uid` of
/// the `kinds` given that are not among them.
pub async fn apply_children(
    client: &Client,
    namespace: &str,
    owner_uid: &str,
    children: &[Child],
    kinds: &[kube::api::ApiResource],
) -> Result<ApplyReport> {
    let mut report = ApplyReport::default();
    for child in children {
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &child.resource);
        let mut desired = child.object.clone();
        let hash = desired_hash(&desired)?;
        desired
            .annotations_mut()
            .insert(APPLIED_HASH.into(), hash.clone());
        let name = desired.name_any();
        if let Some(current) = api.get_opt(&name).await? {
            let same_hash = current.annotations().get(APPLIED_HASH) == Some(&hash);
            let diff = first_difference(
                &serde_json::to_value(&desired)?,
                &serde_json::to_value(&current)?,
                "",
            );
            if same_hash && diff.is_none() {
                continue;
            }
            tracing::debug!(child = %child.id(), ?diff, "child differs; applying");
        }
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&desired),
        )
        .await?;
        report.applied.push(child.id());
    }
    let wanted: BTreeSet<String> = children.iter().map(Child::id).collect();
    for resource in kinds {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
        let owned = api
            .list_metadata(&ListParams::default().labels(&format!("{OWNER_UID_LABEL}={owner_uid}")))
            .await?;
        for obj in owned {
            let id = format!("{}/{}", resource.kind, obj.name_any());
            if !wanted.contains(&id) && obj.metadata.deletion_timestamp.is_none() {
                api.delete(&obj.name_any(), &DeleteParams::background())
                    .await?;
                report.deleted.push(id);
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_added_by_the_server_are_not_differences() {
        let want = json!({"spec": {"replicas": 1, "ports": [{"port": 80}]}});
        let have =
            json!({"spec": {"replicas": 1, "ports": [{"port": 80, "protocol": "TCP"}], "x": 1}});
        assert_eq!(first_difference(&want, &have, ""), None);
    }

    #[test]
    fn changed_values_and_lengths_are_differences() {
        let want = json!({"spec": {"replicas": 2}});
        let have = json!({"spec": {"replicas": 1}});
        assert_eq!(
            first_difference(&want, &have, "").as_deref(),
            Some(".spec.replicas")
        );
        let want = json!({"a": [1, 2]});
        let have = json!({"a": [1]});
        assert_eq!(
            first_difference(&want, &have, "").as_deref(),
            Some(".a[len]")
        );
    }
}
