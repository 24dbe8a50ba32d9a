//! `MediaCluster`: the services of one Yunhui installation and how they scale.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Condition, ResourceStatus};

/// The services (signal, SFU pool, recorder, SIP gateway), their database and
/// how they scale. The operator turns it into a StatefulSet, Services, a
/// DaemonSet or Deployment for the SFU, ConfigMaps, Secrets,
/// PodDisruptionBudgets, NetworkPolicies and ServiceAccounts.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "yunhui.dev",
    version = "v1alpha1",
    kind = "MediaCluster",
    doc = "The services of one Yunhui installation (signal, the SFU pool, the recorder and SIP gateway pools), their database, images and how they scale.",
    namespaced,
    status = "MediaClusterStatus",
    shortname = "ymc",
    category = "yunhui",
    printcolumn = r#"{"name": "Version", "type": "string", "jsonPath": ".spec.version", "description": "Image tag of the services"}"#,
    printcolumn = r#"{"name": "Signal", "type": "integer", "jsonPath": ".status.signalReadyReplicas", "description": "Ready signal replicas"}"#,
    printcolumn = r#"{"name": "SFU", "type": "integer", "jsonPath": ".status.sfuReadyNodes", "description": "Ready SFU nodes"}"#,
    printcolumn = r#"{"name": "Load", "type": "integer", "jsonPath": ".status.sfuScaling.loadPercent", "description": "Participants on the serving SFU nodes, in percent of their capacity (HostPort and HostNetworkSlots pools)"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status", "description": "Ready condition"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("has(self.database.external) || has(self.signal.externalUrl) || self.signal.replicas <= 1").message("embedded SQLite supports exactly one signal replica: set spec.signal.replicas to 1 or configure spec.database.external"))]
#[serde(rename_all = "camelCase")]
pub struct MediaClusterSpec {
    /// Image tag of every service (e.g. `0.1.0`); changing it rolls the services.
    #[serde(default = "default_version")]
    #[schemars(length(max = 128))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_][A-Za-z0-9._-]*$')").message("spec.version must be an image tag, e.g. 0.1.0"))]
    pub version: String,
    /// Where images come from; set `registry` for air-gapped sites.
    #[serde(default)]
    pub images: Images,
    /// The database of signal: embedded SQLite on a PVC (default) or an external PostgreSQL-compatible database.
    #[serde(default)]
    pub database: Database,
    /// The signal service (API, signaling, room ownership).
    #[serde(default)]
    pub signal: SignalSpec,
    /// The SFU media pool.
    #[serde(default)]
    pub sfu: SfuPool,
    /// The recorder pool: the pods that record meetings, each keeping its
    /// files on a volume of its own.
    #[serde(default)]
    pub recorder: RecorderPool,
    /// The SIP gateway pool.
    #[serde(default)]
    pub sip: SipPool,
    /// When true the operator leaves every child as it is (ReconciliationPaused).
    #[serde(default)]
    pub paused: bool,
    /// When true every workload is scaled to zero; data and Secrets are kept.
    #[serde(default)]
    pub stopped: bool,
}

fn default_version() -> String {
    "0.1.0".into()
}

/// Image locations.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Images {
    /// Registry host (and optional path) that replaces the default one, e.g. `registry.local:5000/yunhui`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$')").message("spec.images.registry must be a registry host[:port][/path] without a scheme, e.g. registry.local:5000/yunhui"))]
    pub registry: Option<String>,
    /// Image pull policy of every container: Always, IfNotPresent or Never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
    /// Secrets (in this namespace) with the registry's credentials, given to
    /// every pod as imagePullSecrets; empty takes the operator's default
    /// (the pull secret `yunhui install` makes from the site's registry
    /// credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<String>,
}

/// Kubernetes image pull policy.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PullPolicy {
    /// Pull on every start.
    Always,
    /// Pull when the node lacks the image.
    IfNotPresent,
    /// Never pull (images preloaded).
    Never,
}

/// Signal's database.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Database {
    /// External PostgreSQL-compatible database; when absent signal uses embedded SQLite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalDatabase>,
    /// The PVC of the embedded SQLite database (ignored with `external`).
    #[serde(default)]
    pub embedded: EmbeddedDatabase,
}

/// An external database whose URL is kept in a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalDatabase {
    /// Name of the Secret (same namespace) holding the database URL.
    pub url_secret_name: String,
    /// Key in that Secret whose value is a `postgres://` URL.
    #[serde(default = "default_url_key")]
    pub url_secret_key: String,
}

fn default_url_key() -> String {
    "url".into()
}

/// The embedded database's volume.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedDatabase {
    /// Size of the PVC, e.g. `10Gi`.
    #[serde(default = "default_storage_size")]
    #[schemars(length(max = 64))]
    #[x_kube(validation = Rule::new("isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))").message("spec.database.embedded.storageSize must be a positive quantity, e.g. 10Gi"))]
    pub storage_size: String,
    /// StorageClass of the PVC; empty uses the cluster's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

impl Default for EmbeddedDatabase {
    fn default() -> Self {
        EmbeddedDatabase {
            storage_size: default_storage_size(),
            storage_class_name: None,
        }
    }
}

fn default_storage_size() -> String {
    "10Gi".into()
}

/// The signal service.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignalSpec {
    /// Number of signal replicas (more than one needs an external database).
    #[serde(default = "one")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,
    /// URL of a signal that runs elsewhere (hybrid deployments); when set no signal StatefulSet is created here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
    /// CPU and memory of each signal pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

impl Default for SignalSpec {
    fn default() -> Self {
        SignalSpec {
            replicas: 1,
            external_url: None,
            resources: None,
        }
    }
}

fn one() -> i32 {
    1
}

/// How SFU pods are reachable for media.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum SfuNetworking {
    /// One pod per selected node on the host network (a DaemonSet); the node's address is advertised.
    #[default]
    HostNetwork,
    /// A Deployment of `minNodes` pods, at most one per node, each exposing its port on the node (hostPort).
    HostPort,
    /// A Deployment of `minNodes` pods on the host network, up to
    /// `slotsPerNode` of them on one node (to use the cores of a big
    /// machine): each pod takes the first free port slot of its node, slot
    /// `k` being the media UDP, media TCP and control ports plus
    /// `k × slotPortStride`. Scaled by the operator like HostPort.
    HostNetworkSlots,
}

impl SfuNetworking {
    /// Whether the pool is a Deployment whose replicas the operator scales
    /// from the load (HostPort, HostNetworkSlots); a HostNetwork pool is a
    /// DaemonSet, one pod per node.
    pub fn is_scaled(self) -> bool {
        matches!(
            self,
            SfuNetworking::HostPort | SfuNetworking::HostNetworkSlots
        )
    }

    /// Whether the pods run on the host network (their ports are the node's).
    pub fn on_host_network(self) -> bool {
        matches!(
            self,
            SfuNetworking::HostNetwork | SfuNetworking::HostNetworkSlots
        )
    }
}

/// Which node address an SFU pod advertises to clients.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum AdvertisedAddress {
    /// The node's InternalIP.
    #[default]
    NodeInternalIp,
    /// The node's ExternalIP.
    NodeExternalIp,
    /// The address in `advertisedAddress`.
    Fixed,
}

/// CPU architecture of nodes, as in the `kubernetes.io/arch` label.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// x86-64.
    Amd64,
    /// AArch64.
    Arm64,
    /// LoongArch64.
    Loong64,
}

/// The SFU media pool.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.minNodes <= self.maxNodes").message("spec.sfu.minNodes must not exceed spec.sfu.maxNodes"))]
#[x_kube(validation = Rule::new("self.udpPort >= 1 && self.udpPort <= 65535 && self.tcpPort >= 1 && self.tcpPort <= 65535").message("spec.sfu.udpPort and spec.sfu.tcpPort must be port numbers between 1 and 65535"))]
#[x_kube(validation = Rule::new("self.controlPort >= 1 && self.controlPort <= 65535 && self.controlPort != self.tcpPort").message("spec.sfu.controlPort must be a port number between 1 and 65535 other than spec.sfu.tcpPort"))]
#[x_kube(validation = Rule::new("self.slotsPerNode == 1 || self.networking == 'HostNetworkSlots'").message("spec.sfu.slotsPerNode above 1 needs spec.sfu.networking HostNetworkSlots"))]
#[x_kube(validation = Rule::new("self.advertise != 'Fixed' || has(self.advertisedAddress)").message("spec.sfu.advertisedAddress is required when spec.sfu.advertise is Fixed"))]
#[x_kube(validation = Rule::new("!has(self.advertisedAddress) || isIP(self.advertisedAddress)").message("spec.sfu.advertisedAddress must be an IP address"))]
#[x_kube(validation = Rule::new("!has(self.turn) || self.slotsPerNode == 1").message("spec.sfu.turn needs spec.sfu.slotsPerNode 1: pods sharing a node's host network cannot share its TURN ports"))]
#[x_kube(validation = Rule::new("!has(self.turn) || ![self.udpPort, self.tcpPort, self.controlPort].exists(p, p == self.turn.port || (has(self.turn.tlsPort) && p == self.turn.tlsPort))").message("spec.sfu.turn's ports must differ from spec.sfu.udpPort, tcpPort and controlPort"))]
pub struct SfuPool {
    /// Only nodes of this CPU architecture run SFU pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    /// Extra node labels an SFU node must have.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Taints of dedicated media nodes the SFU pods tolerate (e.g. nodes
    /// kept for media with `yunhui.dev/media=true:NoSchedule`); with a
    /// `nodeSelector` the pool runs on those nodes alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// HostNetwork (DaemonSet, one pod per node), HostPort (Deployment, one
    /// pod per node) or HostNetworkSlots (Deployment on the host network,
    /// up to `slotsPerNode` pods per node on ports offset by `slotPortStride`).
    #[serde(default)]
    pub networking: SfuNetworking,
    /// UDP port of the single media socket (ICE-lite).
    #[serde(default = "default_udp_port")]
    pub udp_port: i32,
    /// TCP fallback port for media.
    #[serde(default = "default_tcp_port")]
    pub tcp_port: i32,
    /// TCP port of each SFU pod's internal API (signal's control calls,
    /// health, metrics). On the host network it is a port of the node, so
    /// two pools on the same nodes need different ones.
    #[serde(default = "default_control_port")]
    pub control_port: i32,
    /// With `networking: HostNetworkSlots`: how many SFU pods one node may
    /// run, each on its own slot of ports (1 to 64). Pods are spread evenly
    /// over the selected nodes; keep `maxNodes` at most this times the
    /// number of nodes, as a pod that finds no free slot waits for one.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 64))]
    pub slots_per_node: i32,
    /// With `networking: HostNetworkSlots`: how far apart two slots' ports
    /// are. Slot `k` binds `udpPort`, `tcpPort` and `controlPort` plus
    /// `k × slotPortStride`; open those ports of every slot in firewalls.
    #[serde(default = "default_slot_port_stride")]
    #[schemars(range(min = 1, max = 10000))]
    pub slot_port_stride: i32,
    /// Which address the SFU advertises to clients.
    #[serde(default)]
    pub advertise: AdvertisedAddress,
    /// The advertised address when `advertise` is Fixed: an IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub advertised_address: Option<String>,
    /// Fewest SFU nodes kept running.
    #[serde(default = "one")]
    #[schemars(range(min = 0))]
    pub min_nodes: i32,
    /// Most SFU nodes the pool may grow to.
    #[serde(default = "one")]
    #[schemars(range(min = 0))]
    pub max_nodes: i32,
    /// Load (percent of capacity) per node above which the pool grows.
    #[serde(default = "default_target_load")]
    #[schemars(range(min = 1, max = 100))]
    pub target_load_percent: i32,
    /// Seconds a draining SFU node keeps its rooms before its pod goes
    /// (also the pod's termination grace period).
    #[serde(default = "default_drain_timeout")]
    #[schemars(range(min = 0))]
    pub drain_timeout_seconds: i64,
    /// Seconds the load must stay below what fewer nodes could carry before
    /// the operator drains one node (scaling up never waits). Only with
    /// `networking: HostPort` or `HostNetworkSlots`; a DaemonSet runs one
    /// pod per node.
    #[serde(default = "default_scale_down_window")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_down_window_seconds: i64,
    /// The region this pool's nodes report themselves in (a hybrid
    /// deployment's site, e.g. a media-only MediaCluster whose
    /// `signal.externalUrl` is the central signal): Tenants with this
    /// `mediaRegion` get their meetings placed on them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9._-]+$')").message("spec.sfu.region must be letters, digits, '-', '.' or '_'"))]
    pub region: Option<String>,
    /// TURN on every SFU node, for clients whose network blocks UDP or lets
    /// only TCP 443 out: each participant is handed the TURN server of its
    /// meeting's node, with short-lived credentials signal signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<SfuTurn>,
    /// CPU and memory of each SFU pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// TURN on the SFU nodes (UDP, TCP and optionally TLS), on the node's
/// address like the media ports.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.port >= 1 && self.port <= 65535").message("spec.sfu.turn.port must be a port number between 1 and 65535"))]
#[x_kube(validation = Rule::new("!has(self.tlsPort) || (self.tlsPort >= 1 && self.tlsPort <= 65535 && self.tlsPort != self.port)").message("spec.sfu.turn.tlsPort must be a port number between 1 and 65535 other than spec.sfu.turn.port"))]
#[x_kube(validation = Rule::new("has(self.tlsPort) == has(self.tlsSecretName)").message("spec.sfu.turn.tlsPort and spec.sfu.turn.tlsSecretName go together: TURN over TLS needs its certificate"))]
pub struct SfuTurn {
    /// Port of TURN over UDP and over TCP on each SFU node.
    #[serde(default = "default_turn_port")]
    pub port: i32,
    /// Port of TURN over TLS on each SFU node: 443 where only TCP 443 gets
    /// out (the node's 443 must then be free). A `HostPort` pool's pods may
    /// bind a port below 1024 (the operator sets their
    /// `net.ipv4.ip_unprivileged_port_start`); on the host network the
    /// node's own setting must allow it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_port: Option<i32>,
    /// A `kubernetes.io/tls` Secret in the MediaCluster's namespace with the
    /// certificate TURN over TLS presents; browsers check it against `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub tls_secret_name: Option<String>,
    /// Host name clients reach a node's TURN server at, `{node}` standing
    /// for the node's name (e.g. `{node}.turn.example.com` under a wildcard
    /// certificate); without it, the node's advertised address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9.{}-]+$')").message("spec.sfu.turn.host must be a host name, `{node}` standing for the node's name"))]
    pub host: Option<String>,
}

fn default_turn_port() -> i32 {
    3478
}

impl Default for SfuPool {
    fn default() -> Self {
        SfuPool {
            architecture: None,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            networking: SfuNetworking::default(),
            udp_port: default_udp_port(),
            tcp_port: default_tcp_port(),
            control_port: default_control_port(),
            slots_per_node: 1,
            slot_port_stride: default_slot_port_stride(),
            advertise: AdvertisedAddress::default(),
            advertised_address: None,
            min_nodes: 1,
            max_nodes: 1,
            target_load_percent: default_target_load(),
            drain_timeout_seconds: default_drain_timeout(),
            scale_down_window_seconds: default_scale_down_window(),
            region: None,
            turn: None,
            resources: None,
        }
    }
}

fn default_udp_port() -> i32 {
    7882
}
fn default_tcp_port() -> i32 {
    7881
}
fn default_control_port() -> i32 {
    7880
}
fn default_slot_port_stride() -> i32 {
    10
}
fn default_target_load() -> i32 {
    70
}
fn default_drain_timeout() -> i64 {
    300
}
fn default_scale_down_window() -> i64 {
    300
}

/// The recorder pool. Without an object store, a StatefulSet of recorders,
/// each with a volume of its own that keeps the files it recorded across
/// restarts. With `objectStore`, the files go to an S3-compatible bucket
/// once finished: the recorders are then a Deployment (each spools the file
/// it writes on a local volume) and the pool can be scaled by its jobs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.autoscale) || has(self.objectStore)").message("spec.recorder.autoscale needs spec.recorder.objectStore: the recorded files must outlive the recorders the pool scales away"))]
pub struct RecorderPool {
    /// Whether the pool runs at all; without it meetings cannot be recorded.
    #[serde(default)]
    pub enabled: bool,
    /// Number of recorder pods.
    #[serde(default = "one")]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: i32,
    /// Size of each recorder pod's volume for recorded files, e.g. `50Gi`.
    /// Set it before enabling the pool: a StatefulSet's volume claims
    /// cannot change once it exists. With `objectStore`, the most a
    /// recorder spools locally (an `emptyDir` of this size).
    #[serde(default = "default_recordings_storage_size")]
    #[schemars(length(max = 64))]
    #[x_kube(validation = Rule::new("isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))").message("spec.recorder.storageSize must be a positive quantity, e.g. 50Gi"))]
    pub storage_size: String,
    /// StorageClass of each recorder pod's volume; empty uses the cluster's
    /// default. Like `storageSize`, fixed once the pool exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Keep the recorded files in an S3-compatible object store (MinIO,
    /// Ceph RGW, a cloud's own) instead of the recorders' volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_store: Option<RecordingsObjectStore>,
    /// Seconds a stopping recorder lets its jobs go on (it takes no new
    /// ones meanwhile); also its pod's termination grace period.
    #[serde(default = "default_recorder_drain_timeout")]
    #[schemars(range(min = 0, max = 86400))]
    pub drain_timeout_seconds: i64,
    /// Scale the pool by its jobs instead of a fixed `replicas` (needs
    /// `objectStore`): the operator keeps between `minNodes` and `maxNodes`
    /// recorders, each taking at most `jobsPerNode` recording or
    /// live-streaming jobs, and drains a recorder (no new jobs, its jobs go
    /// on) before it removes its pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<RecorderAutoscale>,
    /// CPU and memory of each recorder pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

impl Default for RecorderPool {
    fn default() -> Self {
        RecorderPool {
            enabled: false,
            replicas: 1,
            storage_size: default_recordings_storage_size(),
            storage_class_name: None,
            object_store: None,
            drain_timeout_seconds: default_recorder_drain_timeout(),
            autoscale: None,
            resources: None,
        }
    }
}

fn default_recorder_drain_timeout() -> i64 {
    3600
}

/// The S3-compatible bucket the recorded files go to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordingsObjectStore {
    /// The store's endpoint, path-style requests (e.g.
    /// `http://minio.storage.svc:9000`).
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self.startsWith('http://') || self.startsWith('https://')").message("spec.recorder.objectStore.endpoint must be an http:// or https:// URL"))]
    pub endpoint: String,
    /// The bucket, which must exist.
    #[schemars(length(min = 3, max = 63))]
    pub bucket: String,
    /// The region requests are signed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub region: Option<String>,
    /// Prefix of the files' keys in the bucket (e.g. `yunhui/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub prefix: Option<String>,
    /// A Secret in the MediaCluster's namespace with the keys
    /// `accessKeyId` and `secretAccessKey`.
    #[schemars(length(min = 1, max = 253))]
    pub credentials_secret: String,
}

/// The recorder pool's autoscaling by jobs. `replicas` is then ignored.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.minNodes <= self.maxNodes").message("spec.recorder.autoscale.minNodes must not exceed spec.recorder.autoscale.maxNodes"))]
pub struct RecorderAutoscale {
    /// Fewest recorders kept running.
    #[serde(default = "one")]
    #[schemars(range(min = 0, max = 1000))]
    pub min_nodes: i32,
    /// Most recorders the pool may grow to.
    #[schemars(range(min = 1, max = 1000))]
    pub max_nodes: i32,
    /// Recording and live-streaming jobs one recorder takes at most at
    /// once; more go to another recorder.
    #[serde(default = "default_jobs_per_node")]
    #[schemars(range(min = 1, max = 1000))]
    pub jobs_per_node: i32,
    /// Jobs per recorder, in percent of `jobsPerNode`, above which the
    /// pool grows.
    #[serde(default = "default_target_load")]
    #[schemars(range(min = 1, max = 100))]
    pub target_load_percent: i32,
    /// Seconds the jobs must stay below what fewer recorders could carry
    /// before the operator drains one (growing never waits).
    #[serde(default = "default_scale_down_window")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_down_window_seconds: i64,
}

fn default_jobs_per_node() -> i32 {
    4
}

fn default_recordings_storage_size() -> String {
    "50Gi".into()
}

/// The SIP gateway pool.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.port >= 1 && self.port <= 65535").message("spec.sip.port must be a port number between 1 and 65535"))]
#[x_kube(validation = Rule::new("self.rtpPortMin >= 1 && self.rtpPortMin <= self.rtpPortMax && self.rtpPortMax <= 65535").message("spec.sip.rtpPortMin..rtpPortMax must be a non-empty range of port numbers"))]
#[x_kube(validation = Rule::new("!has(self.tls) || (self.tls.port >= 1 && self.tls.port <= 65535 && self.tls.port != self.port)").message("spec.sip.tls.port must be a port number between 1 and 65535 other than spec.sip.port"))]
#[x_kube(validation = Rule::new("!has(self.advertisedAddress) || isIP(self.advertisedAddress)").message("spec.sip.advertisedAddress must be an IP address"))]
pub struct SipPool {
    /// Whether the SIP gateway runs.
    #[serde(default)]
    pub enabled: bool,
    /// Number of SIP gateway pods.
    #[serde(default = "one")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,
    /// SIP listening port (UDP and TCP).
    #[serde(default = "default_sip_port")]
    pub port: i32,
    /// First UDP port of calls' RTP (the network policy opens the range).
    #[serde(default = "default_rtp_port_min")]
    pub rtp_port_min: i32,
    /// Last UDP port of calls' RTP.
    #[serde(default = "default_rtp_port_max")]
    pub rtp_port_max: i32,
    /// The SIP trunk (PBX or carrier gateway) phone numbers are called
    /// through; without it meetings call SIP addresses only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunk: Option<SipTrunk>,
    /// Each SIP pod on its node's host network, at most one per node: room
    /// systems and phones outside the cluster reach its SIP ports and RTP
    /// range on the node's address, which the gateway advertises. Without
    /// it the gateway advertises its pod's address.
    #[serde(default)]
    pub host_network: bool,
    /// The address the gateway advertises to devices instead (an IP
    /// address, e.g. the address a NAT or load balancer forwards to the
    /// nodes' SIP and RTP ports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub advertised_address: Option<String>,
    /// SIP over TLS next to UDP and TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<SipTls>,
    /// Seconds a stopping SIP pod lets its calls go on (it takes no new
    /// ones meanwhile: devices get 503 and the Service leaves it); also
    /// its pod's termination grace period.
    #[serde(default = "default_drain_timeout")]
    #[schemars(range(min = 0))]
    pub drain_timeout_seconds: i64,
    /// Scale the pool by its calls instead of a fixed `replicas`: the
    /// operator keeps between `minNodes` and `maxNodes` gateways, each
    /// taking at most `callsPerNode` calls, and drains a gateway (no new
    /// calls, its calls go on) before it removes its pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<SipAutoscale>,
    /// CPU and memory of each SIP pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// The SIP pool's autoscaling by calls. `replicas` is then ignored. With
/// `hostNetwork` (one gateway per node) `maxNodes` is at most the nodes the
/// gateways may run on; a device that dials one node's address directly
/// loses that gateway when it is scaled away, so scaled pools are best
/// reached through one address (a load balancer or the Service).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.minNodes <= self.maxNodes").message("spec.sip.autoscale.minNodes must not exceed spec.sip.autoscale.maxNodes"))]
pub struct SipAutoscale {
    /// Fewest gateways kept running.
    #[serde(default = "one")]
    #[schemars(range(min = 0, max = 100))]
    pub min_nodes: i32,
    /// Most gateways the pool may grow to.
    #[schemars(range(min = 1, max = 100))]
    pub max_nodes: i32,
    /// Calls one gateway takes at most at once (ringing or connected);
    /// more are refused with 503 and a Retry-After.
    #[serde(default = "default_calls_per_node")]
    #[schemars(range(min = 1, max = 100000))]
    pub calls_per_node: i32,
    /// Calls per gateway, in percent of `callsPerNode`, above which the
    /// pool grows.
    #[serde(default = "default_target_load")]
    #[schemars(range(min = 1, max = 100))]
    pub target_load_percent: i32,
    /// Seconds the calls must stay below what fewer gateways could carry
    /// before the operator drains one (growing never waits).
    #[serde(default = "default_scale_down_window")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_down_window_seconds: i64,
}

fn default_calls_per_node() -> i32 {
    100
}

/// SIP over TLS.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SipTls {
    /// TCP port of SIP over TLS.
    #[serde(default = "default_sip_tls_port")]
    pub port: i32,
    /// A `kubernetes.io/tls` Secret in the MediaCluster's namespace with the
    /// certificate the gateway presents to devices.
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
}

fn default_sip_tls_port() -> i32 {
    5061
}

/// Where phone numbers are called.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SipTrunk {
    /// The trunk's `host[:port]`; a number is called as `sip:<number>@<address>`.
    #[schemars(length(min = 1, max = 253))]
    pub address: String,
    /// Secret with `username` and `password` for the trunk's digest
    /// challenge, when it asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_name: Option<String>,
}

impl Default for SipPool {
    fn default() -> Self {
        SipPool {
            enabled: false,
            replicas: 1,
            port: default_sip_port(),
            rtp_port_min: default_rtp_port_min(),
            rtp_port_max: default_rtp_port_max(),
            trunk: None,
            host_network: false,
            advertised_address: None,
            tls: None,
            drain_timeout_seconds: default_drain_timeout(),
            autoscale: None,
            resources: None,
        }
    }
}

fn default_rtp_port_min() -> i32 {
    20000
}

fn default_rtp_port_max() -> i32 {
    20999
}

fn default_sip_port() -> i32 {
    5060
}

/// What the operator observed about a MediaCluster.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaClusterStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Progressing, Degraded, ReconciliationPaused.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Signal pods that are ready.
    #[serde(default)]
    pub signal_ready_replicas: i32,
    /// SFU pods that are ready.
    #[serde(default)]
    pub sfu_ready_nodes: i32,
    /// In-cluster URL of signal (the operator uses it for tenant sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_url: Option<String>,
    /// The SFU pool's autoscaling (HostPort pools): load, desired and
    /// current nodes, and a drain in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sfu_scaling: Option<PoolScalingStatus>,
    /// The SIP pool's autoscaling by calls (`spec.sip.autoscale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_scaling: Option<PoolScalingStatus>,
    /// The recorder pool's autoscaling by jobs (`spec.recorder.autoscale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorder_scaling: Option<PoolScalingStatus>,
}

/// What the autoscaler of a pool (SFU nodes, SIP gateways, recorders) saw and is
/// doing. The drain in progress lives here so that an operator restarted
/// in the middle of one finishes that drain and starts no other.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolScalingStatus {
    /// Participants (SFU) or calls (SIP) on the serving (reporting, not
    /// draining) nodes, in percent of their capacity; absent while no node
    /// reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_percent: Option<i32>,
    /// Nodes the load asks for, within `minNodes..maxNodes`.
    pub desired_nodes: i32,
    /// Pods the Deployment asks for (a draining node included).
    pub current_nodes: i32,
    /// Since when (RFC 3339) the load has stayed low enough for fewer nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_load_since: Option<String>,
    /// The node being drained before its pod is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<PoolDrain>,
}

/// One node being drained: marked draining in signal (an SFU node gets no
/// new rooms, a SIP gateway takes no new calls), its pod kept until its
/// rooms or calls end or `drainTimeoutSeconds` passes, then removed with
/// the Deployment's replicas lowered by one.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolDrain {
    /// The node's pod (its name is the node's id in signal).
    pub pod: String,
    /// When the drain began (RFC 3339).
    pub since: String,
    /// Once the node is empty (or timed out): the replicas the Deployment
    /// was lowered to while that pod is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removing_to: Option<i32>,
}

impl ResourceStatus for MediaClusterStatus {
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
    fn observed_generation(&self) -> Option<i64> {
        self.observed_generation
    }
}
