//! Children: the Kubernetes objects a Yunhui resource owns, as produced by
//! the pure build steps, with the labels and owner reference every child gets.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{ApiResource, DynamicObject};
use kube::{Resource, ResourceExt};
use serde::Serialize;

use crate::error::Result;

/// The one field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "yunhui-operator";
/// `app.kubernetes.io/managed-by` value of every child.
pub const MANAGED_BY: &str = "yunhui-operator";
/// Label carrying the owner's UID; used to find orphaned children.
pub const OWNER_UID_LABEL: &str = "yunhui.dev/owner-uid";
/// Annotation with the hash of the applied child, to skip no-op applies.
pub const APPLIED_HASH: &str = "yunhui.dev/applied-hash";

/// One desired child object.
#[derive(Debug, Clone)]
pub struct Child {
    /// Its API resource (group, version, kind, plural).
    pub resource: ApiResource,
    /// The object as it will be applied.
    pub object: DynamicObject,
}

impl Child {
    /// Converts a typed object (with `apiVersion`/`kind`) into a child.
    pub fn from_typed<K>(object: &K) -> Result<Child>
    where
        K: Resource<DynamicType = ()> + Serialize,
    {
        Ok(Child {
            resource: ApiResource::erase::<K>(&()),
            object: serde_json::from_value(serde_json::to_value(object)?)?,
        })
    }

    /// `Kind/name`, for logs and tests.
    pub fn id(&self) -> String {
        format!("{}/{}", self.resource.kind, self.object.name_any())
    }
}

/// The owner of a set of children: what goes into their metadata.
#[derive(Debug, Clone)]
pub struct Owner {
    /// Owner reference (controller, block owner deletion).
    pub reference: OwnerReference,
    /// Namespace of the owner and all children.
    pub namespace: String,
    /// Name of the owner.
    pub name: String,
    /// Kind of the owner, lower case (`mediacluster`), for labels.
    pub kind_label: String,
}

impl Owner {
    /// Describes `obj` as an owner.
    pub fn of<K>(obj: &K) -> Option<Owner>
    where
        K: Resource<DynamicType = ()>,
    {
        Some(Owner {
            reference: obj.controller_owner_ref(&())?,
            namespace: obj.namespace()?,
            name: obj.name_any(),
            kind_label: K::kind(&()).to_lowercase(),
        })
    }

    /// Labels of every child of this owner.
    pub fn labels(&self, component: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/name".into(), "yunhui".into()),
            ("app.kubernetes.io/component".into(), component.into()),
            ("app.kubernetes.io/instance".into(), self.name.clone()),
            ("app.kubernetes.io/managed-by".into(), MANAGED_BY.into()),
            (OWNER_UID_LABEL.into(), self.reference.uid.clone()),
        ])
    }

    /// The selector labels of one component's pods (stable across changes).
    pub fn selector(&self, component: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/component".into(), component.into()),
            ("app.kubernetes.io/instance".into(), self.name.clone()),
            (format!("yunhui.dev/{}", self.kind_label), self.name.clone()),
        ])
    }

    /// Object metadata of a child named `name` for `component`.
    pub fn meta(
        &self,
        name: &str,
        component: &str,
    ) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        let mut labels = self.labels(component);
        labels.extend(self.selector(component));
        k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(name.into()),
            namespace: Some(self.namespace.clone()),
            labels: Some(labels),
            owner_references: Some(vec![self.reference.clone()]),
            ..Default::default()
        }
    }
}
