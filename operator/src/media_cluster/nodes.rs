//! The nodes an SFU pool runs on: the labels its pods require and the
//! addresses nodes report. Pure; shared by validation, the build step, the
//! host-port check and the read step.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use yunhui_crds::MediaClusterSpec;
use yunhui_crds::media_cluster::Architecture;

/// The `kubernetes.io/arch` value of an architecture.
pub fn arch_label(arch: Architecture) -> &'static str {
    match arch {
        Architecture::Amd64 => "amd64",
        Architecture::Arm64 => "arm64",
        Architecture::Loong64 => "loong64",
    }
}

/// Node labels an SFU pod requires (the spec's selector, the OS, the
/// architecture).
pub fn sfu_node_selector(spec: &MediaClusterSpec) -> BTreeMap<String, String> {
    let mut selector = spec.sfu.node_selector.clone();
    selector.insert("kubernetes.io/os".into(), "linux".into());
    if let Some(arch) = spec.sfu.architecture {
        selector.insert("kubernetes.io/arch".into(), arch_label(arch).into());
    }
    selector
}

/// A node's ExternalIP, if it has one.
pub fn external_ip(node: &Node) -> Option<String> {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "ExternalIP"))
        .map(|a| a.address.clone())
}
