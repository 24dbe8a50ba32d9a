//! The SFU pool: a DaemonSet on the host network or a Deployment with host
//! ports (one pod per node), its control Service, a PodDisruptionBudget, a
//! NetworkPolicy open on the media ports, and with `advertise:
//! NodeExternalIp` the ConfigMap of each node's external address.

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, Deployment, DeploymentSpec,
    DeploymentStrategy, RollingUpdateDaemonSet, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Affinity, ConfigMap, ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort,
    EnvFromSource, EnvVar, PodAffinityTerm, PodAntiAffinity, PodTemplateSpec, Service, ServicePort,
    ServiceSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use yunhui_crds::media_cluster::SfuNetworking;
use yunhui_proto::env;

use super::pod::{
    container_port, env_from_field, env_value, label_selector, mount, with_health_probes,
};
use super::policy::{from_anywhere, from_signal, network_policy, open_port, pdb};
use super::{BuildInput, SFU_CONTROL_PORT, node_addresses_config_map_name};
use crate::children::Child;
use crate::error::Result;
use crate::media_cluster::validate::Advertise;

/// Where an SFU pod finds the node addresses ConfigMap.
const NODE_ADDRESSES_DIR: &str = "/etc/yunhui/node-addresses";

/// The SFU pool's children.
pub fn build(input: &BuildInput<'_>) -> Result<Vec<Child>> {
    let owner = input.owner;
    let sfu = &input.cluster.sfu;
    let name = input.name("sfu");
    let mut children = Vec::new();
    if sfu.advertise == Advertise::NodeExternalIp {
        children.push(Child::from_typed(&ConfigMap {
            metadata: owner.meta(&node_addresses_config_map_name(&owner.name), "sfu"),
            data: Some(input.node_addresses.cloned().unwrap_or_default()),
            ..ConfigMap::default()
        })?);
    }
    if input.sfu_pool {
        children.extend(workload(input)?);
    }
    // Otherwise no workload: its pods could not start (see host_ports).
    children.push(Child::from_typed(&Service {
        metadata: owner.meta(&name, "sfu"),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(owner.selector("sfu")),
            ports: Some(vec![ServicePort {
                name: Some("control".into()),
                port: SFU_CONTROL_PORT,
                target_port: Some(IntOrString::Int(SFU_CONTROL_PORT)),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    })?);
    children.push(pdb(input, "sfu")?);
    children.push(network_policy(
        input,
        "sfu",
        vec![
            from_anywhere(vec![
                open_port("UDP", sfu.udp_port),
                open_port("TCP", sfu.tcp_port),
            ]),
            from_signal(input, vec![open_port("TCP", SFU_CONTROL_PORT)]),
        ],
    )?);
    Ok(children)
}

/// The pods: a DaemonSet on the host network (none while stopped), else a
/// Deployment of `minNodes` pods, at most one per node.
fn workload(input: &BuildInput<'_>) -> Result<Option<Child>> {
    let owner = input.owner;
    let name = input.name("sfu");
    let selector = label_selector(owner.selector("sfu"));
    let template = template(input);
    let one = Some(IntOrString::Int(1));
    Ok(match input.cluster.sfu.networking {
        SfuNetworking::HostNetwork if input.cluster.stopped => None,
        SfuNetworking::HostNetwork => Some(Child::from_typed(&DaemonSet {
            metadata: owner.meta(&name, "sfu"),
            spec: Some(DaemonSetSpec {
                selector,
                template,
                update_strategy: Some(DaemonSetUpdateStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDaemonSet {
                        max_unavailable: one,
                        max_surge: None,
                    }),
                }),
                ..DaemonSetSpec::default()
            }),
            ..DaemonSet::default()
        })?),
        SfuNetworking::HostPort => Some(Child::from_typed(&Deployment {
            metadata: owner.meta(&name, "sfu"),
            spec: Some(DeploymentSpec {
                replicas: Some(
                    input.replicas(input.sfu_replicas.unwrap_or(input.cluster.sfu.min_nodes)),
                ),
                selector,
                template,
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_unavailable: one,
                        max_surge: Some(IntOrString::Int(0)),
                    }),
                }),
                ..DeploymentSpec::default()
            }),
            ..Deployment::default()
        })?),
    })
}

/// What the SFU reads from its environment (besides the cluster
/// ConfigMap's `YUNHUI_SFU_UDP_PORT` and `YUNHUI_SFU_TCP_PORT`): the internal key, the address
/// to advertise, and what it registers with signal under: signal's URL, its
/// pod's name and its own control URL (the pod's IP, so signal drives each
/// node directly and not through the Service in front of all of them).
fn variables(input: &BuildInput<'_>) -> Vec<EnvVar> {
    let mut vars = vec![
        input.internal_key(),
        env_value(env::SIGNAL_URL, input.signal_url()),
        env_from_field(env::NODE_ID, "metadata.name"),
        // Kubernetes expands `$(YUNHUI_POD_IP)` only after it is defined.
        env_from_field(env::POD_IP, "status.podIP"),
        env_value(
            env::ADVERTISE_CONTROL_URL,
            format!("http://$({}):{SFU_CONTROL_PORT}", env::POD_IP),
        ),
    ];
    match &input.cluster.sfu.advertise {
        Advertise::NodeInternalIp => {
            vars.push(env_from_field(env::ADVERTISE_ADDRESS, "status.hostIP"));
        }
        // The downward API has no external address: the operator publishes
        // each node's in a ConfigMap, and the pod reads its node's entry.
        // Kubernetes expands `$(YUNHUI_NODE_NAME)` only after it is defined.
        Advertise::NodeExternalIp => {
            vars.push(env_from_field(env::NODE_NAME, "spec.nodeName"));
            vars.push(env_value(
                env::ADVERTISE_ADDRESS_FILE,
                format!("{NODE_ADDRESSES_DIR}/$({})", env::NODE_NAME),
            ));
        }
        Advertise::Fixed(ip) => vars.push(env_value(env::ADVERTISE_ADDRESS, ip.to_string())),
    }
    vars
}

fn container(input: &BuildInput<'_>) -> Container {
    let sfu = &input.cluster.sfu;
    // Host ports reserve the media ports; on the host network they are the
    // node's own.
    let host_ports = sfu.networking == SfuNetworking::HostPort;
    let media_port = |name: &str, port: i32, protocol: &str| ContainerPort {
        host_port: host_ports.then_some(port),
        ..container_port(name, port, protocol)
    };
    let ports = vec![
        media_port("media-udp", sfu.udp_port, "UDP"),
        media_port("media-tcp", sfu.tcp_port, "TCP"),
        container_port("control", SFU_CONTROL_PORT, "TCP"),
    ];
    // Ready once the media port is bound and the control API answers.
    let mut container = with_health_probes(
        input.container("sfu", variables(input), ports, sfu.resources.clone()),
        SFU_CONTROL_PORT,
    );
    container.env_from = Some(vec![EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource {
            name: input.name("config"),
            optional: None,
        }),
        ..EnvFromSource::default()
    }]);
    if sfu.advertise == Advertise::NodeExternalIp {
        container
            .volume_mounts
            .get_or_insert_with(Vec::new)
            .push(mount("node-addresses", NODE_ADDRESSES_DIR, true));
    }
    container
}

fn template(input: &BuildInput<'_>) -> PodTemplateSpec {
    let owner = input.owner;
    let sfu = &input.cluster.sfu;
    let mut volumes = Vec::new();
    if sfu.advertise == Advertise::NodeExternalIp {
        volumes.push(Volume {
            name: "node-addresses".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: node_addresses_config_map_name(&owner.name),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    let mut pod = input.pod(input.name("sfu"), container(input), volumes);
    pod.node_selector = Some(sfu.node_selector.clone());
    pod.termination_grace_period_seconds = Some(sfu.drain_timeout_seconds);
    match sfu.networking {
        SfuNetworking::HostNetwork => {
            pod.host_network = Some(true);
            pod.dns_policy = Some("ClusterFirstWithHostNet".into());
        }
        // One pod per node: two would fight over the host ports.
        SfuNetworking::HostPort => {
            pod.affinity = Some(Affinity {
                pod_anti_affinity: Some(PodAntiAffinity {
                    required_during_scheduling_ignored_during_execution: Some(vec![
                        PodAffinityTerm {
                            label_selector: Some(label_selector(owner.selector("sfu"))),
                            topology_key: "kubernetes.io/hostname".into(),
                            ..PodAffinityTerm::default()
                        },
                    ]),
                    ..PodAntiAffinity::default()
                }),
                ..Affinity::default()
            });
        }
    }
    input.template("sfu", pod)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::build;
    use super::super::tests::{child, ids, keys, owner, valid};
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pool_without_its_ports_gets_no_workload_but_keeps_the_rest() {
        let (o, k) = (owner(), keys());
        for networking in ["HostNetwork", "HostPort"] {
            let cluster = valid(&format!("sfu: {{networking: {networking}}}"));
            let input = BuildInput {
                owner: &o,
                cluster: &cluster,
                keys: &k,
                default_registry: "x",
                default_pull_secrets: &[],
                sfu_pool: false,
                node_addresses: None,
                sfu_replicas: None,
            };
            let ids = ids(&build(&input).expect("builds"));
            assert!(!ids.contains(&"DaemonSet/prod-sfu".to_string()), "{ids:?}");
            assert!(!ids.contains(&"Deployment/prod-sfu".to_string()), "{ids:?}");
            assert!(ids.contains(&"Service/prod-sfu".to_string()), "{ids:?}");
            assert!(
                ids.contains(&"StatefulSet/prod-signal".to_string()),
                "{ids:?}"
            );
        }
    }

    #[test]
    fn a_host_port_pool_has_the_replicas_the_autoscaler_decided() {
        let (o, k) = (owner(), keys());
        let cluster = valid("sfu: {networking: HostPort, minNodes: 1, maxNodes: 5}");
        for (decided, want) in [(None, 1), (Some(4), 4)] {
            let children = build(&BuildInput {
                owner: &o,
                cluster: &cluster,
                keys: &k,
                default_registry: "x",
                default_pull_secrets: &[],
                sfu_pool: true,
                node_addresses: None,
                sfu_replicas: decided,
            })
            .expect("builds");
            let deployment = child(&children, "Deployment/prod-sfu");
            assert_eq!(deployment.object.data["spec"]["replicas"], json!(want));
        }
    }

    #[test]
    fn sfu_pods_read_their_nodes_external_address_from_a_config_map() {
        let (o, k) = (owner(), keys());
        let addresses = BTreeMap::from([("node-a".to_string(), "203.0.113.7".to_string())]);
        let external = valid("sfu: {advertise: NodeExternalIp}");
        let children = build(&BuildInput {
            owner: &o,
            cluster: &external,
            keys: &k,
            default_registry: "x",
            default_pull_secrets: &[],
            sfu_pool: true,
            node_addresses: Some(&addresses),
            sfu_replicas: None,
        })
        .expect("builds");
        let map = child(&children, "ConfigMap/prod-node-addresses");
        assert_eq!(map.object.data["data"], json!({"node-a": "203.0.113.7"}));
        let ds = child(&children, "DaemonSet/prod-sfu");
        let pod = &ds.object.data["spec"]["template"]["spec"];
        let env = pod["containers"][0]["env"].as_array().expect("env");
        let value = |name: &str| env.iter().find(|e| e["name"] == name).cloned();
        assert_eq!(
            value("YUNHUI_NODE_NAME").expect("node name")["valueFrom"]["fieldRef"]["fieldPath"],
            "spec.nodeName"
        );
        assert_eq!(
            value("YUNHUI_ADVERTISE_ADDRESS_FILE").expect("file")["value"],
            "/etc/yunhui/node-addresses/$(YUNHUI_NODE_NAME)"
        );
        assert!(
            value("YUNHUI_ADVERTISE_ADDRESS").is_none(),
            "not the internal address"
        );
        let env_names: Vec<&str> = env.iter().filter_map(|e| e["name"].as_str()).collect();
        let node_at = env_names.iter().position(|n| *n == "YUNHUI_NODE_NAME");
        let file_at = env_names
            .iter()
            .position(|n| *n == "YUNHUI_ADVERTISE_ADDRESS_FILE");
        assert!(
            node_at < file_at,
            "$(YUNHUI_NODE_NAME) expands only after it is defined"
        );
        assert!(
            pod["volumes"]
                .as_array()
                .expect("volumes")
                .iter()
                .any(|v| v["configMap"]["name"] == "prod-node-addresses")
        );

        // The internal address needs no ConfigMap: the downward API has it.
        let internal = valid("{}");
        let children = build(&BuildInput {
            owner: &o,
            cluster: &internal,
            keys: &k,
            default_registry: "x",
            default_pull_secrets: &[],
            sfu_pool: true,
            node_addresses: None,
            sfu_replicas: None,
        })
        .expect("builds");
        assert!(!ids(&children).contains(&"ConfigMap/prod-node-addresses".to_string()));
    }

    #[test]
    fn sfu_pods_register_with_signal_under_their_pod_name_and_address() {
        let cluster = valid("{}");
        let children = super::super::tests::children(&cluster);
        let ds = child(&children, "DaemonSet/prod-sfu");
        let env = &ds.object.data["spec"]["template"]["spec"]["containers"][0]["env"];
        let value = |name: &str| super::super::tests::env_value(env, name);
        assert_eq!(
            value("YUNHUI_SIGNAL_URL")["value"],
            "http://prod-signal.meet.svc:8080"
        );
        assert_eq!(
            value("YUNHUI_NODE_ID")["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.name"
        );
        assert_eq!(
            value("YUNHUI_POD_IP")["valueFrom"]["fieldRef"]["fieldPath"],
            "status.podIP"
        );
        assert_eq!(
            value("YUNHUI_ADVERTISE_CONTROL_URL")["value"],
            format!("http://$(YUNHUI_POD_IP):{SFU_CONTROL_PORT}")
        );
        let names: Vec<&str> = env
            .as_array()
            .expect("env")
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect();
        let ip_at = names.iter().position(|n| *n == "YUNHUI_POD_IP");
        let url_at = names
            .iter()
            .position(|n| *n == "YUNHUI_ADVERTISE_CONTROL_URL");
        assert!(
            ip_at < url_at,
            "$(YUNHUI_POD_IP) expands only after it is defined"
        );
    }

    #[test]
    fn a_fixed_address_is_advertised_as_it_is() {
        let cluster = valid("sfu: {advertise: Fixed, advertisedAddress: 192.0.2.10}");
        let children = super::super::tests::children(&cluster);
        let ds = child(&children, "DaemonSet/prod-sfu");
        let env = &ds.object.data["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(
            super::super::tests::env_value(env, "YUNHUI_ADVERTISE_ADDRESS")["value"],
            "192.0.2.10"
        );
    }
}
