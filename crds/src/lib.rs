//! Yunhui's custom resources in the API group `yunhui.dev`, version `v1alpha1`:
//!
//! - [`Tenant`]: one enterprise, synchronised into its MediaCluster's signal;
//! - [`MediaCluster`]: the services (signal, SFU pool, recorder, SIP) and how
//!   they scale;
//! - [`Gateway`] (`gateways.yunhui.dev`, not the Gateway API's kind): how
//!   clients reach a MediaCluster.
//!
//! Every field carries a doc comment: it becomes the schema's description and
//! so `kubectl explain` output. Cross-field rules are CEL
//! (`x-kubernetes-validations`) so the API server rejects bad specs itself.
//! The generated YAML lives in `crds/yaml/`; `tests/yaml.rs` fails when it is
//! stale (`UPDATE_CRDS=1 cargo test -p yunhui-crds` rewrites it).

pub mod common;
pub mod gateway;
pub mod media_cluster;
pub mod tenant;

pub use common::{Condition, ConditionStatus, ResourceStatus};
pub use gateway::{Gateway, GatewaySpec, GatewayStatus};
pub use media_cluster::{MediaCluster, MediaClusterSpec, MediaClusterStatus};
pub use tenant::{Tenant, TenantSpec, TenantStatus};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// The API group of every Yunhui resource.
pub const GROUP: &str = "yunhui.dev";

/// Every CRD with the file name it is written to in `crds/yaml/`.
pub fn all_crds() -> Vec<(&'static str, CustomResourceDefinition)> {
    vec![
        ("tenants.yunhui.dev.yaml", Tenant::crd()),
        ("mediaclusters.yunhui.dev.yaml", MediaCluster::crd()),
        ("gateways.yunhui.dev.yaml", Gateway::crd()),
    ]
}

/// Renders one CRD as YAML, the form committed in `crds/yaml/`.
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_norway::Error> {
    serde_norway::to_string(crd)
}
