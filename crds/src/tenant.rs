//! `Tenant`: one enterprise on a MediaCluster.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Condition, ResourceStatus};

/// One enterprise: who it is, what its licence allows and which features it
/// may use. The operator synchronises it into the named MediaCluster's signal
/// service through signal's tenant admin API.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "yunhui.dev",
    version = "v1alpha1",
    kind = "Tenant",
    doc = "One enterprise on a MediaCluster: its licence, feature switches, e-mail domains and first administrator, synchronised into the cluster's signal service.",
    namespaced,
    status = "TenantStatus",
    shortname = "ytn",
    category = "yunhui",
    printcolumn = r#"{"name": "Cluster", "type": "string", "jsonPath": ".spec.mediaCluster", "description": "MediaCluster the tenant lives on"}"#,
    printcolumn = r#"{"name": "Synced", "type": "boolean", "jsonPath": ".status.synced", "description": "Whether signal has the current spec"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status", "description": "Ready condition"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    /// Name shown to the tenant's users and in the admin console.
    #[x_kube(validation = Rule::new("size(self) > 0").message("spec.displayName must not be empty"))]
    pub display_name: String,
    /// Name of the MediaCluster (in the same namespace) that hosts this tenant.
    #[x_kube(validation = Rule::new("size(self) > 0").message("spec.mediaCluster must name a MediaCluster in this namespace"))]
    pub media_cluster: String,
    /// E-mail domains whose users may self-register into this tenant (e.g. `example.com`).
    #[serde(default)]
    #[schemars(length(max = 100), inner(length(max = 253)))]
    #[x_kube(validation = Rule::new("self.all(d, d.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)+$'))").message("spec.domains must be domain names in lower case, e.g. example.com"))]
    pub domains: Vec<String>,
    /// What the tenant has bought: exactly one of `concurrentPorts` or `cloudRooms`.
    pub licence: TenantLicence,
    /// Feature switches; everything is off unless turned on.
    #[serde(default)]
    pub features: TenantFeatures,
    /// The first administrator account, created in signal from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_admin: Option<FirstAdmin>,
    /// How long recordings are kept and where.
    #[serde(default)]
    pub recording: RecordingPolicy,
    /// The region whose SFU nodes take this tenant's meetings when one of
    /// them can (a hybrid deployment's site, the `spec.sfu.region` of a
    /// MediaCluster whose nodes report to this tenant's signal); otherwise
    /// any node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9._-]+$')").message("spec.mediaRegion must be letters, digits, '-', '.' or '_'"))]
    pub media_region: Option<String>,
    /// When true the operator stops synchronising this tenant (ReconciliationPaused).
    #[serde(default)]
    pub paused: bool,
}

/// A tenant's licence: exactly one mode.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.concurrentPorts) != has(self.cloudRooms)").message("spec.licence must set exactly one of concurrentPorts or cloudRooms"))]
pub struct TenantLicence {
    /// Port licence: at most this many participants connected at once across the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub concurrent_ports: Option<i32>,
    /// Cloud-room licence: this many permanent rooms of a fixed capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_rooms: Option<CloudRooms>,
}

/// Cloud-room licence terms.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudRooms {
    /// Number of cloud rooms.
    #[schemars(range(min = 1))]
    pub count: i32,
    /// Participants per cloud room.
    #[schemars(range(min = 2))]
    pub capacity: i32,
}

/// Features a tenant may use.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantFeatures {
    /// Webinars (panelists and a large audience).
    #[serde(default)]
    pub webinar: bool,
    /// Simultaneous interpretation channels.
    #[serde(default)]
    pub interpretation: bool,
    /// Cloud recording.
    #[serde(default)]
    pub recording: bool,
    /// Live streaming over RTMP.
    #[serde(default)]
    pub streaming: bool,
    /// Dial-in from SIP phones.
    #[serde(default)]
    pub sip: bool,
}

/// Where the first administrator's credentials come from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirstAdmin {
    /// Name of a Secret in the tenant's namespace with the key `email` (and
    /// optionally `password`, at least 8 characters, and `displayName`). Without
    /// a `password` signal generates one and the operator writes it into the
    /// Secret's `password` key.
    pub secret_name: String,
}

/// The first administrator signal holds for a Tenant.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirstAdminStatus {
    /// The Secret it was created from.
    pub secret_name: String,
    /// Its login e-mail address.
    pub email: String,
}

/// Recording retention and storage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordingPolicy {
    /// Days a recording is kept before it is deleted (0 keeps it forever).
    #[serde(default = "default_retention_days")]
    #[schemars(range(min = 0))]
    pub retention_days: i32,
    /// Storage location for recordings, e.g. a PVC name or an object-store URL; empty uses the MediaCluster's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
}

impl Default for RecordingPolicy {
    fn default() -> Self {
        RecordingPolicy {
            retention_days: default_retention_days(),
            storage: None,
        }
    }
}

fn default_retention_days() -> i32 {
    30
}

/// What the operator observed about a Tenant.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Progressing, Degraded, ReconciliationPaused.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Whether signal holds this generation of the tenant.
    #[serde(default)]
    pub synced: bool,
    /// Id of the tenant in signal (`<namespace>.<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_tenant_id: Option<String>,
    /// The MediaCluster (uid and generation) whose signal holds this
    /// generation of the tenant; a change of either syncs the tenant again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_with: Option<SyncedWith>,
    /// The first administrator, once signal holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_admin: Option<FirstAdminStatus>,
}

/// Which MediaCluster a Tenant was last synchronised through.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncedWith {
    /// `metadata.uid` of the MediaCluster.
    pub uid: String,
    /// `metadata.generation` of the MediaCluster.
    pub generation: i64,
}

impl ResourceStatus for TenantStatus {
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
    fn observed_generation(&self) -> Option<i64> {
        self.observed_generation
    }
}
