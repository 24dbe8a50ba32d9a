//! The apply step: server-side apply of children with one field manager,
//! skipping children whose cached form already matches (so a reconcile with
//! nothing to change writes nothing), and deleting orphans (children of the
//! owner that the build step no longer produces). Both decisions are made
//! against the watch caches ([`crate::cache`]), so this step sends only
//! writes: [`needs_apply`] and [`orphans`] are pure; [`apply_children`]
//! carries them out.

use std::collections::BTreeSet;

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cache::{CachedChild, Caches};
use crate::children::{APPLIED_HASH, Child, FIELD_MANAGER};
use crate::error::Result;

/// What the apply step did.
#[derive(Debug, Default, Clone)]
pub struct ApplyReport {
    /// Children written (created or changed).
    pub applied: Vec<String>,
    /// Orphans deleted.
    pub deleted: Vec<String>,
    /// The API server's answer to each apply, in the order of `applied`:
    /// the children as stored, with what the server filled in (e.g. a
    /// Service's allocated node port), before their watch events arrive.
    pub written: Vec<DynamicObject>,
}

impl ApplyReport {
    /// Whether anything was written.
    pub fn changed(&self) -> bool {
        !self.applied.is_empty() || !self.deleted.is_empty()
    }

    /// Adds what another pass of the apply step did.
    pub fn extend(&mut self, other: ApplyReport) {
        self.applied.extend(other.applied);
        self.deleted.extend(other.deleted);
        self.written.extend(other.written);
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

/// Why `desired` (carrying its [`APPLIED_HASH`]) must be applied over the
/// child as cached, or `None` when the cached child already is it: absent,
/// applied from another desired form (its hash differs), or changed since
/// in a field the operator sets (the path of the first such field).
pub fn needs_apply(desired: &Value, cached: Option<&Value>) -> Option<String> {
    let Some(cached) = cached else {
        return Some("absent".into());
    };
    let hash = |v: &Value| v["metadata"]["annotations"][APPLIED_HASH].clone();
    if hash(desired) != hash(cached) {
        return Some(format!("annotation {APPLIED_HASH}"));
    }
    first_difference(desired, cached, "")
}

/// The cached children of one kind that are not `wanted` (ids `Kind/name`)
/// and not already being deleted.
pub fn orphans<'a>(
    kind: &'a str,
    wanted: &'a BTreeSet<String>,
    cached: &'a [CachedChild],
) -> impl Iterator<Item = &'a CachedChild> + 'a {
    cached
        .iter()
        .filter(move |c| !c.deleting && !wanted.contains(&format!("{kind}/{}", c.name)))
}

/// Applies `children` in `namespace` that differ from their cached form,
/// then deletes cached children of `owner_uid` of the `kinds` given that are
/// not among them.
pub async fn apply_children(
    client: &Client,
    caches: &Caches,
    namespace: &str,
    owner_uid: &str,
    children: &[Child],
    kinds: &[ApiResource],
) -> Result<ApplyReport> {
    let mut report = ApplyReport::default();
    for child in children {
        let mut desired = child.object.clone();
        let hash = desired_hash(&desired)?;
        desired.annotations_mut().insert(APPLIED_HASH.into(), hash);
        let name = desired.name_any();
        let cached = caches.child_json(&child.resource, namespace, &name)?;
        let Some(why) = needs_apply(&serde_json::to_value(&desired)?, cached.as_ref()) else {
            continue;
        };
        tracing::debug!(child = %child.id(), %why, "child differs; applying");
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &child.resource);
        let written = api
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&desired),
            )
            .await?;
        report.applied.push(child.id());
        report.written.push(written);
    }
    let wanted: BTreeSet<String> = children.iter().map(Child::id).collect();
    for resource in kinds {
        let cached = caches.children_of(resource, namespace, owner_uid)?;
        for orphan in orphans(&resource.kind, &wanted, &cached) {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
            match api.delete(&orphan.name, &DeleteParams::background()).await {
                Ok(_) => {}
                // Already gone: the cache had not seen its deletion yet.
                Err(kube::Error::Api(e)) if e.code == 404 => continue,
                Err(e) => return Err(e.into()),
            }
            report
                .deleted
                .push(format!("{}/{}", resource.kind, orphan.name));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_hash(hash: &str, spec: Value) -> Value {
        json!({"metadata": {"name": "prod-sfu", "annotations": {APPLIED_HASH: hash}}, "spec": spec})
    }

    #[test]
    fn a_child_is_applied_when_absent_from_the_cache_or_applied_from_another_form() {
        let desired = with_hash("h1", json!({"replicas": 1}));
        assert_eq!(needs_apply(&desired, None).as_deref(), Some("absent"));
        let older = with_hash("h0", json!({"replicas": 1}));
        assert_eq!(
            needs_apply(&desired, Some(&older)).as_deref(),
            Some("annotation yunhui.dev/applied-hash")
        );
    }

    #[test]
    fn a_cached_child_that_is_the_desired_one_is_not_applied_again() {
        let desired = with_hash("h1", json!({"replicas": 1, "template": {"x": [1]}}));
        let mut cached = with_hash(
            "h1",
            json!({"replicas": 1, "template": {"x": [1]}, "revisionHistoryLimit": 10}),
        );
        cached["status"] = json!({"readyReplicas": 1});
        cached["metadata"]["resourceVersion"] = json!("42");
        assert_eq!(needs_apply(&desired, Some(&cached)), None);
    }

    #[test]
    fn a_cached_child_someone_changed_is_applied_again() {
        let desired = with_hash("h1", json!({"replicas": 1}));
        let scaled = with_hash("h1", json!({"replicas": 3}));
        assert_eq!(
            needs_apply(&desired, Some(&scaled)).as_deref(),
            Some(".spec.replicas")
        );
    }

    #[test]
    fn orphans_are_the_cached_children_not_wanted_and_not_already_going() {
        let wanted = BTreeSet::from(["Service/prod-sfu".to_string()]);
        let cached = [
            CachedChild {
                name: "prod-sfu".into(),
                deleting: false,
            },
            CachedChild {
                name: "prod-old".into(),
                deleting: false,
            },
            CachedChild {
                name: "prod-going".into(),
                deleting: true,
            },
        ];
        let names: Vec<&str> = orphans("Service", &wanted, &cached)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, vec!["prod-old"]);
        assert_eq!(
            orphans("ConfigMap", &wanted, &cached[..1]).count(),
            1,
            "a wanted name of another kind does not keep it"
        );
    }

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
