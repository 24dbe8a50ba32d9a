//! The validate step: checks the API server's schema cannot express and turns
//! the spec into a [`ValidCluster`], the only input of the build step besides
//! what the read step found. A spec that fails gets `Ready=False` (reason
//! `InvalidSpec`), an Event, and no children until it changes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use yunhui_crds::MediaClusterSpec;
use yunhui_crds::media_cluster::{
    AdvertisedAddress, Images, RecorderAutoscale, RecordingsObjectStore, SfuNetworking,
    SipAutoscale,
};

use super::nodes::{arch_label, sfu_node_selector};

/// Why a MediaCluster spec cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSpec {
    /// `spec.database.embedded.storageSize` is not a Kubernetes quantity.
    #[error("spec.database.embedded.storageSize {0:?} is not a size such as 10Gi or 500Mi")]
    StorageSize(String),
    /// `spec.recorder.storageSize` is not a Kubernetes quantity.
    #[error("spec.recorder.storageSize {0:?} is not a size such as 50Gi or 1Ti")]
    RecordingsStorageSize(String),
    /// `spec.recorder.autoscale` without `spec.recorder.objectStore` (the
    /// API server's rule says so too; this guards servers without CEL).
    #[error(
        "spec.recorder.autoscale needs spec.recorder.objectStore: the recorded files must outlive the recorders the pool scales away"
    )]
    RecorderAutoscaleWithoutStore,
    /// `spec.version` is not usable as an image tag.
    #[error(
        "spec.version {0:?} is not a valid image tag (letters, digits, '.', '_', '-'; at most 128)"
    )]
    Version(String),
    /// The node selector contradicts `spec.sfu.architecture`.
    #[error(
        "spec.sfu.nodeSelector sets kubernetes.io/arch={selector} but spec.sfu.architecture is {architecture}; drop one of them"
    )]
    ArchitectureConflict {
        /// The selector's value.
        selector: String,
        /// The architecture field.
        architecture: String,
    },
    /// `spec.sfu.advertisedAddress` (with `advertise: Fixed`) is not an IP address.
    #[error(
        "spec.sfu.advertisedAddress {0:?} is not an IP address; the SFU tells clients an address, not a host name"
    )]
    AdvertisedAddress(String),
    /// `spec.sip.advertisedAddress` is not an IP address.
    #[error(
        "spec.sip.advertisedAddress {0:?} is not an IP address; SIP devices are told an address, not a host name"
    )]
    SipAdvertisedAddress(String),
    /// With `networking: HostNetworkSlots`, one slot's TCP port is another
    /// slot's control port.
    #[error(
        "spec.sfu.slotPortStride {stride} makes port slots collide: tcpPort {tcp_port} and controlPort {control_port} are {distance} apart, a multiple of the stride below {slots} slots, so one slot's media TCP port would be another's control port; choose a stride that does not divide {distance} (e.g. one above it) or fewer slotsPerNode"
    )]
    SlotPortsCollide {
        /// The stride.
        stride: i32,
        /// Slots per node.
        slots: i32,
        /// The media TCP port.
        tcp_port: i32,
        /// The control port.
        control_port: i32,
        /// Their distance.
        distance: i32,
    },
    /// With `networking: HostNetworkSlots`, the last slot's ports pass 65535.
    #[error(
        "spec.sfu port slots reach port {highest} (slot {last} of slotsPerNode {slots}, slotPortStride {stride}), past 65535; lower the ports, the stride or slotsPerNode"
    )]
    SlotPortsPastEnd {
        /// The highest port the last slot would bind.
        highest: i64,
        /// The last slot's index.
        last: i32,
        /// Slots per node.
        slots: i32,
        /// The stride.
        stride: i32,
    },
}

/// A MediaCluster spec that passed validation: defaults applied, values
/// parsed, switches turned into options. The build step reads nothing else
/// of the spec.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCluster {
    /// Image tag of every service (`spec.version`, a valid tag).
    pub version: String,
    /// Registry, pull policy and pull secrets of the images, as the spec
    /// gives them (the operator's defaults fill the gaps at build time).
    pub images: Images,
    /// Whether every workload is scaled to zero (`spec.stopped`).
    pub stopped: bool,
    /// Where signal runs.
    pub signal: Signal,
    /// The SFU pool.
    pub sfu: Sfu,
    /// The recorder pool, when enabled.
    pub recorder: Option<Recorder>,
    /// The SIP gateway pool, when enabled.
    pub sip: Option<Sip>,
}

/// Where signal runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// A StatefulSet of this cluster.
    InCluster {
        /// Wanted replicas.
        replicas: i32,
        /// Its database.
        database: Database,
        /// Container resources.
        resources: Option<ResourceRequirements>,
    },
    /// Elsewhere (`spec.signal.externalUrl`): no signal workload here.
    External {
        /// Its base URL, without a trailing `/`.
        url: String,
    },
}

/// Signal's database.
#[derive(Debug, Clone, PartialEq)]
pub enum Database {
    /// SQLite on a volume claimed per replica.
    Embedded {
        /// Size of the volume.
        storage: Quantity,
        /// Storage class of the volume (the cluster's default when `None`).
        storage_class: Option<String>,
    },
    /// PostgreSQL, its URL in a Secret.
    External {
        /// The Secret's name.
        url_secret: String,
        /// The key of the URL in the Secret.
        url_key: String,
    },
}

/// The address SFU nodes tell clients to send media to.
#[derive(Debug, Clone, PartialEq)]
pub enum Advertise {
    /// The node's InternalIP (from the downward API).
    NodeInternalIp,
    /// The node's ExternalIP (published by the operator in a ConfigMap).
    NodeExternalIp,
    /// One fixed address.
    Fixed(IpAddr),
}

/// The SFU pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Sfu {
    /// Host network (a DaemonSet) or host ports (a Deployment).
    pub networking: SfuNetworking,
    /// The media UDP port.
    pub udp_port: i32,
    /// The media TCP port (ICE over TCP).
    pub tcp_port: i32,
    /// The internal API port (signal's control calls, probes, metrics).
    pub control_port: i32,
    /// With `networking: HostNetworkSlots`: the node's port slots.
    pub slots: Option<PortSlots>,
    /// The address clients send media to.
    pub advertise: Advertise,
    /// Node labels the pods require (selector, OS, architecture).
    pub node_selector: BTreeMap<String, String>,
    /// Node taints the pods tolerate.
    pub tolerations: Vec<Toleration>,
    /// Fewest pods of a host-port pool.
    pub min_nodes: i32,
    /// Most pods of a host-port pool.
    pub max_nodes: i32,
    /// Load per node (percent of its capacity) the autoscaler sizes for.
    pub target_load_percent: i32,
    /// How long the load stays low before a node is drained.
    pub scale_down_window_seconds: i64,
    /// How long a pod may take to stop (and a drain may last).
    pub drain_timeout_seconds: i64,
    /// The region the nodes report themselves in.
    pub region: Option<String>,
    /// TURN on every node, when served.
    pub turn: Option<Turn>,
    /// Container resources.
    pub resources: Option<ResourceRequirements>,
}

/// TURN on the SFU nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// TURN over UDP and TCP.
    pub port: i32,
    /// TURN over TLS: its port and the Secret of its certificate.
    pub tls: Option<(i32, String)>,
    /// The host name clients use, `{node}` standing for the node's name.
    pub host: Option<String>,
}

/// Port slots of a pool that shares a node's host network between pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSlots {
    /// Pods one node may run, each on its own slot.
    pub per_node: i32,
    /// Distance between two slots' ports.
    pub stride: i32,
}

impl PortSlots {
    /// The offsets of every slot's ports from slot 0's.
    pub fn offsets(self) -> impl Iterator<Item = i32> {
        (0..self.per_node.max(1)).map(move |slot| slot * self.stride)
    }
}

impl Sfu {
    /// The ports the pool's pods bind on a node, by protocol: every slot's
    /// with `HostNetworkSlots`, else the one set. The control port is a
    /// node's port only on the host network.
    pub fn node_ports(&self) -> Vec<(&'static str, i32)> {
        let offsets: Vec<i32> = match self.slots {
            Some(slots) => slots.offsets().collect(),
            None => vec![0],
        };
        let mut ports = Vec::new();
        for offset in offsets {
            ports.push(("UDP", self.udp_port + offset));
            ports.push(("TCP", self.tcp_port + offset));
            if self.networking.on_host_network() {
                ports.push(("TCP", self.control_port + offset));
            }
        }
        // TURN goes with one slot only (the schema's rule).
        if let Some(turn) = &self.turn {
            ports.push(("UDP", turn.port));
            ports.push(("TCP", turn.port));
            if let Some((tls_port, _)) = &turn.tls {
                ports.push(("TCP", *tls_port));
            }
        }
        ports
    }
}

/// The port slots of `spec`'s SFU pool, checked: no slot's TCP port is
/// another's control port, and the last slot ends at 65535 at most.
fn port_slots(spec: &MediaClusterSpec) -> Result<Option<PortSlots>, InvalidSpec> {
    let sfu = &spec.sfu;
    if sfu.networking != SfuNetworking::HostNetworkSlots {
        return Ok(None);
    }
    let slots = PortSlots {
        per_node: sfu.slots_per_node.max(1),
        stride: sfu.slot_port_stride.max(1),
    };
    let distance = (sfu.tcp_port - sfu.control_port).abs();
    if distance % slots.stride == 0 && distance / slots.stride < slots.per_node {
        return Err(InvalidSpec::SlotPortsCollide {
            stride: slots.stride,
            slots: slots.per_node,
            tcp_port: sfu.tcp_port,
            control_port: sfu.control_port,
            distance,
        });
    }
    let last = slots.per_node - 1;
    let highest = i64::from(sfu.udp_port.max(sfu.tcp_port).max(sfu.control_port))
        + i64::from(last) * i64::from(slots.stride);
    if highest > 65535 {
        return Err(InvalidSpec::SlotPortsPastEnd {
            highest,
            last,
            slots: slots.per_node,
            stride: slots.stride,
        });
    }
    Ok(Some(slots))
}

/// The recorder pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorder {
    /// Wanted replicas.
    pub replicas: i32,
    /// Size of each recorder's volume for its files.
    pub storage: Quantity,
    /// Storage class of those volumes (the cluster's default when `None`).
    pub storage_class: Option<String>,
    /// The bucket the files go to; with it the pool is a Deployment.
    pub object_store: Option<RecordingsObjectStore>,
    /// Seconds a stopping recorder lets its jobs go on.
    pub drain_timeout_seconds: i64,
    /// Scaling by jobs (only with `object_store`).
    pub autoscale: Option<RecorderAutoscale>,
    /// Container resources.
    pub resources: Option<ResourceRequirements>,
}

/// The SIP gateway pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Sip {
    /// Wanted replicas.
    pub replicas: i32,
    /// The SIP port (UDP and TCP).
    pub port: i32,
    /// First and last RTP port.
    pub rtp_ports: (i32, i32),
    /// The trunk phone numbers are called through.
    pub trunk: Option<Trunk>,
    /// Whether the pods run on their nodes' host network.
    pub host_network: bool,
    /// The address advertised to devices instead of the pod's or node's.
    pub advertised_address: Option<IpAddr>,
    /// SIP over TLS: its port and the Secret of its certificate.
    pub tls: Option<(i32, String)>,
    /// How long a stopping pod lets its calls go on.
    pub drain_timeout_seconds: i64,
    /// Scaling by calls, instead of `replicas`.
    pub autoscale: Option<SipAutoscale>,
    /// Container resources.
    pub resources: Option<ResourceRequirements>,
}

/// A SIP trunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Trunk {
    /// `host[:port]`.
    pub address: String,
    /// Secret with `username` and `password`, when the trunk asks for them.
    pub credentials_secret: Option<String>,
}

/// Validates what the schema cannot and returns the cluster to build.
pub fn validate(spec: &MediaClusterSpec) -> Result<ValidCluster, InvalidSpec> {
    let embedded = &spec.database.embedded;
    if spec.database.external.is_none() && !is_quantity(&embedded.storage_size) {
        return Err(InvalidSpec::StorageSize(embedded.storage_size.clone()));
    }
    if spec.recorder.enabled && !is_quantity(&spec.recorder.storage_size) {
        return Err(InvalidSpec::RecordingsStorageSize(
            spec.recorder.storage_size.clone(),
        ));
    }
    if spec.recorder.autoscale.is_some() && spec.recorder.object_store.is_none() {
        return Err(InvalidSpec::RecorderAutoscaleWithoutStore);
    }
    if !is_image_tag(&spec.version) {
        return Err(InvalidSpec::Version(spec.version.clone()));
    }
    if let (Some(arch), Some(selector)) = (
        spec.sfu.architecture,
        spec.sfu.node_selector.get("kubernetes.io/arch"),
    ) {
        let architecture = arch_label(arch).to_string();
        if *selector != architecture {
            return Err(InvalidSpec::ArchitectureConflict {
                selector: selector.clone(),
                architecture,
            });
        }
    }
    let advertise = match spec.sfu.advertise {
        AdvertisedAddress::NodeInternalIp => Advertise::NodeInternalIp,
        AdvertisedAddress::NodeExternalIp => Advertise::NodeExternalIp,
        AdvertisedAddress::Fixed => {
            // The schema requires the address with `Fixed`.
            let address = spec.sfu.advertised_address.clone().unwrap_or_default();
            match address.trim().parse() {
                Ok(ip) => Advertise::Fixed(ip),
                Err(_) => return Err(InvalidSpec::AdvertisedAddress(address)),
            }
        }
    };
    let slots = port_slots(spec)?;
    let database = match &spec.database.external {
        Some(external) => Database::External {
            url_secret: external.url_secret_name.clone(),
            url_key: external.url_secret_key.clone(),
        },
        None => Database::Embedded {
            storage: Quantity(embedded.storage_size.clone()),
            storage_class: embedded.storage_class_name.clone(),
        },
    };
    let signal = match &spec.signal.external_url {
        Some(url) => Signal::External {
            url: url.trim_end_matches('/').to_string(),
        },
        None => Signal::InCluster {
            replicas: spec.signal.replicas,
            database,
            resources: spec.signal.resources.clone(),
        },
    };
    let sfu = &spec.sfu;
    let sip = &spec.sip;
    let sip_advertised = match &sip.advertised_address {
        Some(address) => Some(
            (address.trim().parse())
                .map_err(|_| InvalidSpec::SipAdvertisedAddress(address.clone()))?,
        ),
        None => None,
    };
    Ok(ValidCluster {
        version: spec.version.clone(),
        images: spec.images.clone(),
        stopped: spec.stopped,
        signal,
        sfu: Sfu {
            networking: sfu.networking,
            udp_port: sfu.udp_port,
            tcp_port: sfu.tcp_port,
            control_port: sfu.control_port,
            slots,
            advertise,
            node_selector: sfu_node_selector(spec),
            tolerations: sfu.tolerations.clone(),
            min_nodes: sfu.min_nodes,
            max_nodes: sfu.max_nodes,
            target_load_percent: sfu.target_load_percent,
            scale_down_window_seconds: sfu.scale_down_window_seconds,
            drain_timeout_seconds: sfu.drain_timeout_seconds,
            region: sfu.region.clone(),
            turn: sfu.turn.as_ref().map(|turn| Turn {
                port: turn.port,
                // The schema has the port and the Secret together.
                tls: turn.tls_port.zip(turn.tls_secret_name.clone()),
                host: turn.host.clone(),
            }),
            resources: sfu.resources.clone(),
        },
        recorder: spec.recorder.enabled.then(|| Recorder {
            replicas: spec.recorder.replicas,
            storage: Quantity(spec.recorder.storage_size.clone()),
            storage_class: spec.recorder.storage_class_name.clone(),
            object_store: spec.recorder.object_store.clone(),
            drain_timeout_seconds: spec.recorder.drain_timeout_seconds,
            autoscale: spec.recorder.autoscale.clone(),
            resources: spec.recorder.resources.clone(),
        }),
        sip: sip.enabled.then(|| Sip {
            replicas: sip.replicas,
            port: sip.port,
            rtp_ports: (sip.rtp_port_min, sip.rtp_port_max),
            trunk: sip.trunk.as_ref().map(|t| Trunk {
                address: t.address.clone(),
                credentials_secret: t.credentials_secret_name.clone(),
            }),
            host_network: sip.host_network,
            advertised_address: sip_advertised,
            tls: sip.tls.as_ref().map(|t| (t.port, t.secret_name.clone())),
            drain_timeout_seconds: sip.drain_timeout_seconds,
            autoscale: sip.autoscale.clone(),
            resources: sip.resources.clone(),
        }),
    })
}

/// Whether `tag` is usable as an image tag.
fn is_image_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !tag.starts_with(['.', '-'])
}

/// Whether `s` looks like a Kubernetes quantity (`10Gi`, `500M`, `1.5G`, `1e9`).
fn is_quantity(s: &str) -> bool {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    !number.is_empty()
        && number.parse::<f64>().is_ok()
        && matches!(
            suffix,
            "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "k" | "M" | "G" | "T" | "P" | "E" | "m"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> MediaClusterSpec {
        serde_json::from_str("{}").expect("defaults")
    }

    #[test]
    fn quantities() {
        assert!(is_quantity("10Gi"));
        assert!(is_quantity("1.5G"));
        assert!(!is_quantity("ten gigs"));
        assert!(!is_quantity("Gi"));
    }

    #[test]
    fn conflicting_architecture_is_invalid() {
        let mut spec = defaults();
        spec.sfu.architecture = Some(yunhui_crds::media_cluster::Architecture::Arm64);
        spec.sfu
            .node_selector
            .insert("kubernetes.io/arch".into(), "amd64".into());
        assert!(matches!(
            validate(&spec),
            Err(InvalidSpec::ArchitectureConflict { .. })
        ));
    }

    #[test]
    fn bad_storage_size_is_invalid() {
        let mut spec = defaults();
        spec.database.embedded.storage_size = "lots".into();
        assert_eq!(
            validate(&spec),
            Err(InvalidSpec::StorageSize("lots".into()))
        );
    }

    #[test]
    fn an_enabled_recorder_pool_needs_a_storage_size() {
        let mut spec = defaults();
        spec.recorder.storage_size = "plenty".into();
        assert!(
            validate(&spec).is_ok(),
            "a disabled pool's size is not used"
        );
        spec.recorder.enabled = true;
        assert_eq!(
            validate(&spec),
            Err(InvalidSpec::RecordingsStorageSize("plenty".into()))
        );
        spec.recorder.storage_size = "200Gi".into();
        let recorder = validate(&spec).expect("valid").recorder.expect("enabled");
        assert_eq!(recorder.storage, Quantity("200Gi".into()));
    }

    #[test]
    fn a_recorder_pool_is_scaled_only_with_an_object_store() {
        let mut spec = defaults();
        spec.recorder.enabled = true;
        spec.recorder.autoscale = Some(RecorderAutoscale {
            min_nodes: 1,
            max_nodes: 3,
            jobs_per_node: 4,
            target_load_percent: 70,
            scale_down_window_seconds: 300,
        });
        assert_eq!(
            validate(&spec),
            Err(InvalidSpec::RecorderAutoscaleWithoutStore)
        );
        spec.recorder.object_store = Some(RecordingsObjectStore {
            endpoint: "http://minio.storage:9000".into(),
            bucket: "recordings".into(),
            region: None,
            prefix: None,
            credentials_secret: "recordings-s3".into(),
        });
        let recorder = validate(&spec).expect("valid").recorder.expect("enabled");
        assert_eq!(recorder.autoscale.map(|a| a.max_nodes), Some(3));
        assert_eq!(recorder.drain_timeout_seconds, 3600);
    }

    #[test]
    fn port_slots_are_checked_for_collisions_and_the_last_port() {
        let mut spec = defaults();
        spec.sfu.networking = SfuNetworking::HostNetworkSlots;
        spec.sfu.slots_per_node = 2;
        spec.sfu.slot_port_stride = 10;
        spec.sfu.udp_port = 7892;
        spec.sfu.tcp_port = 7891;
        spec.sfu.control_port = 7890;
        let valid = validate(&spec).expect("valid");
        assert_eq!(
            valid.sfu.slots,
            Some(PortSlots {
                per_node: 2,
                stride: 10
            })
        );
        assert_eq!(
            valid.sfu.node_ports(),
            vec![
                ("UDP", 7892),
                ("TCP", 7891),
                ("TCP", 7890),
                ("UDP", 7902),
                ("TCP", 7901),
                ("TCP", 7900)
            ]
        );
        // Slot 0's media TCP port would be slot 2's control port.
        spec.sfu.tcp_port = 7910;
        spec.sfu.slots_per_node = 3;
        let error = validate(&spec).expect_err("collides");
        assert!(
            matches!(
                error,
                InvalidSpec::SlotPortsCollide {
                    distance: 20,
                    stride: 10,
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("slotPortStride 10"), "{error}");
        spec.sfu.slots_per_node = 2;
        assert!(validate(&spec).is_ok(), "two slots do not reach it");
        spec.sfu.tcp_port = 7891;
        spec.sfu.slots_per_node = 64;
        spec.sfu.slot_port_stride = 1000;
        let error = validate(&spec).expect_err("past the end");
        assert!(
            matches!(error, InvalidSpec::SlotPortsPastEnd { last: 63, .. }),
            "{error}"
        );
        // Other pools have no slots, whatever the fields say.
        spec.sfu.networking = SfuNetworking::HostPort;
        assert_eq!(validate(&spec).expect("valid").sfu.slots, None);
    }

    #[test]
    fn a_fixed_address_must_be_an_ip_address() {
        let mut spec = defaults();
        spec.sfu.advertise = AdvertisedAddress::Fixed;
        spec.sfu.advertised_address = Some("media.example.com".into());
        assert_eq!(
            validate(&spec),
            Err(InvalidSpec::AdvertisedAddress("media.example.com".into()))
        );
        spec.sfu.advertised_address = Some("192.0.2.10".into());
        let valid = validate(&spec).expect("valid");
        assert_eq!(
            valid.sfu.advertise,
            Advertise::Fixed(IpAddr::from([192, 0, 2, 10]))
        );
    }

    #[test]
    fn the_defaults_are_one_signal_on_sqlite_and_one_sfu_node_per_linux_node() {
        let valid = validate(&defaults()).expect("valid");
        assert_eq!(
            valid.signal,
            Signal::InCluster {
                replicas: 1,
                database: Database::Embedded {
                    storage: Quantity("10Gi".into()),
                    storage_class: None
                },
                resources: None,
            }
        );
        assert_eq!(valid.sfu.networking, SfuNetworking::HostNetwork);
        assert_eq!(valid.sfu.advertise, Advertise::NodeInternalIp);
        assert_eq!(
            valid.sfu.node_selector,
            BTreeMap::from([("kubernetes.io/os".to_string(), "linux".to_string())])
        );
        assert!(valid.recorder.is_none() && valid.sip.is_none());
    }

    #[test]
    fn an_external_signal_url_loses_its_trailing_slash() {
        let mut spec = defaults();
        spec.signal.external_url = Some("http://signal.elsewhere:8080/".into());
        assert_eq!(
            validate(&spec).expect("valid").signal,
            Signal::External {
                url: "http://signal.elsewhere:8080".into()
            }
        );
    }
}
