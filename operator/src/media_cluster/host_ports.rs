//! Host ports of SFU pools: a pool on the host network binds its media
//! ports (UDP, TCP) and its control port on every node it runs on; a HostPort
//! pool reserves its media ports there. Two pools that want the same port and
//! may land on the same nodes cannot both run, so the one created first keeps
//! its ports and the later one gets no SFU workload (its pods could never
//! start) and reports the conflict instead.
//!
//! "May land on the same nodes" is decided from the node selectors alone (two
//! selectors are disjoint only when they require different values of one
//! label), so a conflict is reported before a node that fits both appears.
//! Pure: the reconcile passes in every MediaCluster of the cluster (its cache).

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use yunhui_crds::MediaCluster;
use yunhui_crds::MediaClusterSpec;
use yunhui_crds::media_cluster::SfuNetworking;

use super::nodes::sfu_node_selector;

/// A port on a node's network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPort {
    /// `UDP` or `TCP`.
    pub protocol: &'static str,
    /// Port number.
    pub port: i32,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.protocol)
    }
}

/// Ports the SFU pool of `spec` holds on each of its nodes (none when the
/// pool is stopped): the media ports, the control port on the host network,
/// and with `HostNetworkSlots` those of every slot.
pub fn sfu_host_ports(spec: &MediaClusterSpec) -> BTreeSet<HostPort> {
    if spec.stopped {
        return BTreeSet::new();
    }
    let sfu = &spec.sfu;
    let slots = match sfu.networking {
        SfuNetworking::HostNetworkSlots => sfu.slots_per_node.max(1),
        _ => 1,
    };
    let mut ports = BTreeSet::new();
    for slot in 0..slots {
        let offset = slot * sfu.slot_port_stride;
        ports.insert(HostPort {
            protocol: "UDP",
            port: sfu.udp_port + offset,
        });
        ports.insert(HostPort {
            protocol: "TCP",
            port: sfu.tcp_port + offset,
        });
        if sfu.networking.on_host_network() {
            ports.insert(HostPort {
                protocol: "TCP",
                port: sfu.control_port + offset,
            });
        }
    }
    ports
}

/// Whether some node could satisfy both selectors.
pub fn may_share_nodes(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    a.iter().all(|(k, v)| b.get(k).is_none_or(|w| w == v))
}

/// Why the SFU pool of a MediaCluster cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConflict {
    /// `namespace/name` of the MediaCluster that holds the ports.
    pub holder: String,
    /// The ports both want.
    pub ports: Vec<HostPort>,
}

impl fmt::Display for PortConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ports: Vec<String> = self.ports.iter().map(HostPort::to_string).collect();
        write!(
            f,
            "the SFU pool needs host port(s) {} on nodes that MediaCluster {} (created earlier) already uses; \
             its SFU pods are not created until spec.sfu ports or node selection differ",
            ports.join(", "),
            self.holder
        )
    }
}

/// Admission order: creation time, then namespace and name.
fn admission_order(mc: &MediaCluster) -> (Option<k8s_openapi::jiff::Timestamp>, String, String) {
    (
        mc.metadata.creation_timestamp.as_ref().map(|t| t.0),
        mc.metadata.namespace.clone().unwrap_or_default(),
        mc.metadata.name.clone().unwrap_or_default(),
    )
}

fn id(mc: &MediaCluster) -> String {
    format!(
        "{}/{}",
        mc.metadata.namespace.as_deref().unwrap_or_default(),
        mc.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The conflict that keeps `me`'s SFU pool from running, if any. Pools are
/// admitted in creation order (then namespace, name); a pool is admitted
/// unless it clashes with one admitted before it, so a pool that lost to
/// another loser does not hold ports it never got. MediaClusters being
/// deleted hold nothing.
pub fn sfu_port_conflict<M: Borrow<MediaCluster>>(
    me: &MediaCluster,
    all: &[M],
) -> Option<PortConflict> {
    let mut ordered: Vec<&MediaCluster> = all
        .iter()
        .map(Borrow::borrow)
        .filter(|m| m.metadata.deletion_timestamp.is_none())
        .filter(|m| id(m) != id(me))
        .collect();
    ordered.push(me);
    ordered.sort_by_key(|m| admission_order(m));
    let mut admitted: Vec<(&MediaCluster, BTreeSet<HostPort>, BTreeMap<String, String>)> =
        Vec::new();
    for mc in ordered {
        let ports = sfu_host_ports(&mc.spec);
        let selector = sfu_node_selector(&mc.spec);
        let clash = admitted.iter().find_map(|(holder, held, their_selector)| {
            let shared: Vec<HostPort> = ports.intersection(held).copied().collect();
            (!shared.is_empty() && may_share_nodes(&selector, their_selector)).then(|| {
                PortConflict {
                    holder: id(holder),
                    ports: shared,
                }
            })
        });
        let is_me = std::ptr::eq(mc, me);
        match clash {
            Some(conflict) if is_me => return Some(conflict),
            None if is_me => return None,
            Some(_) => {}
            None => admitted.push((mc, ports, selector)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mc(name: &str, created: &str, sfu: serde_json::Value) -> MediaCluster {
        serde_json::from_value(json!({
            "apiVersion": "yunhui.dev/v1alpha1", "kind": "MediaCluster",
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"),
                         "creationTimestamp": created},
            "spec": {"sfu": sfu}
        }))
        .expect("fixture")
    }

    const T1: &str = "2026-01-01T00:00:01Z";
    const T2: &str = "2026-01-01T00:00:02Z";
    const T3: &str = "2026-01-01T00:00:03Z";

    #[test]
    fn the_later_of_two_host_network_pools_on_one_port_conflicts() {
        let a = mc(
            "a",
            T1,
            json!({"networking": "HostNetwork", "udpPort": 7882}),
        );
        let b = mc(
            "b",
            T2,
            json!({"networking": "HostNetwork", "udpPort": 7882}),
        );
        let all = [a.clone(), b.clone()];
        assert_eq!(sfu_port_conflict(&a, &all), None);
        let conflict = sfu_port_conflict(&b, &all).expect("conflict");
        assert_eq!(conflict.holder, "ns/a");
        assert!(conflict.ports.contains(&HostPort {
            protocol: "UDP",
            port: 7882
        }));
        assert!(conflict.to_string().contains("7882/UDP"), "{conflict}");
    }

    #[test]
    fn host_network_pools_share_the_control_port_but_host_port_pools_do_not() {
        let a = mc(
            "a",
            T1,
            json!({"networking": "HostNetwork", "udpPort": 1000, "tcpPort": 1001}),
        );
        let b = mc(
            "b",
            T2,
            json!({"networking": "HostNetwork", "udpPort": 2000, "tcpPort": 2001}),
        );
        let conflict = sfu_port_conflict(&b, &[a.clone(), b.clone()]).expect("conflict");
        assert_eq!(
            conflict.ports,
            vec![HostPort {
                protocol: "TCP",
                port: 7880
            }]
        );
        let c = mc(
            "c",
            T2,
            json!({"networking": "HostPort", "udpPort": 2000, "tcpPort": 2001}),
        );
        assert_eq!(sfu_port_conflict(&c, &[a, c.clone()]), None);
    }

    #[test]
    fn disjoint_node_selection_or_stopped_pools_do_not_conflict() {
        let a = mc(
            "a",
            T1,
            json!({"networking": "HostNetwork", "architecture": "amd64"}),
        );
        let b = mc(
            "b",
            T2,
            json!({"networking": "HostNetwork", "architecture": "arm64"}),
        );
        assert_eq!(sfu_port_conflict(&b, &[a.clone(), b.clone()]), None);
        let c = mc(
            "c",
            T2,
            json!({"networking": "HostNetwork", "nodeSelector": {"pool": "media"}}),
        );
        assert!(
            sfu_port_conflict(&c, &[a.clone(), c.clone()]).is_some(),
            "an extra label does not make selectors disjoint"
        );
        let mut stopped = a.clone();
        stopped.spec.stopped = true;
        assert_eq!(sfu_port_conflict(&c, &[stopped, c.clone()]), None);
    }

    #[test]
    fn a_pool_that_lost_holds_nothing_and_deleted_clusters_hold_nothing() {
        // a and c both clash with b (a on UDP, c on TCP), but not with each other.
        let a = mc(
            "a",
            T1,
            json!({"networking": "HostPort", "udpPort": 5000, "tcpPort": 5001}),
        );
        let b = mc(
            "b",
            T2,
            json!({"networking": "HostPort", "udpPort": 5000, "tcpPort": 6001}),
        );
        let c = mc(
            "c",
            T3,
            json!({"networking": "HostPort", "udpPort": 7000, "tcpPort": 6001}),
        );
        let all = [a.clone(), b.clone(), c.clone()];
        assert!(sfu_port_conflict(&b, &all).is_some());
        assert_eq!(sfu_port_conflict(&c, &all), None, "b never got its ports");
        let mut deleting = a.clone();
        deleting.metadata.deletion_timestamp = b.metadata.creation_timestamp.clone();
        assert_eq!(sfu_port_conflict(&b, &[deleting, b.clone()]), None);
    }

    #[test]
    fn a_slotted_pool_holds_every_slots_ports_and_its_own_control_port() {
        let slots = mc(
            "a",
            T1,
            json!({"networking": "HostNetworkSlots", "udpPort": 7892, "tcpPort": 7891,
                   "controlPort": 7890, "slotsPerNode": 2, "slotPortStride": 10}),
        );
        let held = sfu_host_ports(&slots.spec);
        let tcp: Vec<i32> = held
            .iter()
            .filter(|p| p.protocol == "TCP")
            .map(|p| p.port)
            .collect();
        assert_eq!(tcp, vec![7890, 7891, 7900, 7901]);
        assert!(held.contains(&HostPort {
            protocol: "UDP",
            port: 7902
        }));
        // Beside a host-network pool on the default ports: no clash.
        let default = mc("b", T2, json!({"networking": "HostNetwork"}));
        assert_eq!(
            sfu_port_conflict(&default, &[slots.clone(), default.clone()]),
            None
        );
        // A HostPort pool on slot 1's media port clashes.
        let late = mc(
            "c",
            T3,
            json!({"networking": "HostPort", "udpPort": 7902, "tcpPort": 7903}),
        );
        let conflict = sfu_port_conflict(&late, &[slots, late.clone()]).expect("conflict");
        assert_eq!(
            conflict.ports,
            vec![HostPort {
                protocol: "UDP",
                port: 7902
            }]
        );
    }

    #[test]
    fn equal_creation_times_are_ordered_by_name() {
        let a = mc("a", T1, json!({"networking": "HostPort"}));
        let b = mc("b", T1, json!({"networking": "HostPort"}));
        let all = [b.clone(), a.clone()];
        assert_eq!(sfu_port_conflict(&a, &all), None);
        assert_eq!(
            sfu_port_conflict(&b, &all).map(|c| c.holder),
            Some("ns/a".into())
        );
    }
}
