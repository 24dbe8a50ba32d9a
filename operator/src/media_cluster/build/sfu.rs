//! The SFU pool: a DaemonSet on the host network, a Deployment with host
//! ports (one pod per node) or a Deployment on the host network with port
//! slots (up to `slotsPerNode` pods per node, each taking a free slot of
//! ports when it starts), its control Service, a PodDisruptionBudget, a
//! NetworkPolicy open on the media ports, and with `advertise:
//! NodeExternalIp` the ConfigMap of each node's external address.

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, Deployment, DeploymentSpec,
    RollingUpdateDaemonSet,
};
use k8s_openapi::api::core::v1::{
    Affinity, ConfigMap, ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort,
    EnvFromSource, EnvVar, ExecAction, PodAffinityTerm, PodAntiAffinity, PodTemplateSpec, Probe,
    SecretVolumeSource, Service, ServicePort, ServiceSpec, Sysctl, TopologySpreadConstraint,
    Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use yunhui_crds::media_cluster::SfuNetworking;
use yunhui_proto::env;

use super::pod::{
    container_port, env_from_field, env_value, label_selector, mount, with_health_probes,
};
use super::policy::{from_anywhere, from_signal, network_policy, open_port, pdb};
use super::worker::one_at_a_time;
use super::{BuildInput, SFU_CONTROL_PORT, STOP_MARGIN_SECONDS, node_addresses_config_map_name};
use crate::children::Child;
use crate::error::Result;
use crate::media_cluster::validate::{Advertise, Sfu};

/// Where an SFU pod finds the node addresses ConfigMap.
const NODE_ADDRESSES_DIR: &str = "/etc/yunhui/node-addresses";

/// Where an SFU pod finds the certificate and key of TURN over TLS.
const TURN_TLS_DIR: &str = "/etc/yunhui/turn-tls";

/// The SFU binary in its image (the installer's images keep each service's
/// binary in `/usr/local/bin`, as their entrypoint): the exec probes of a
/// slotted pool run it as `yunhui-sfu probe /readyz`.
const SFU_BINARY: &str = "/usr/local/bin/yunhui-sfu";

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
                // A slotted pool's pods on another slot are reached by
                // their own control URLs, never through this Service.
                target_port: Some(IntOrString::Int(sfu.control_port)),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    })?);
    children.push(pdb(input, "sfu")?);
    let offsets: Vec<i32> = match sfu.slots {
        Some(slots) => slots.offsets().collect(),
        None => vec![0],
    };
    let mut media: Vec<_> = offsets
        .iter()
        .flat_map(|o| {
            [
                open_port("UDP", sfu.udp_port + o),
                open_port("TCP", sfu.tcp_port + o),
            ]
        })
        .collect();
    if let Some(turn) = &sfu.turn {
        media.push(open_port("UDP", turn.port));
        media.push(open_port("TCP", turn.port));
        if let Some((tls_port, _)) = &turn.tls {
            media.push(open_port("TCP", *tls_port));
        }
    }
    let control = offsets
        .iter()
        .map(|o| open_port("TCP", sfu.control_port + o))
        .collect();
    children.push(network_policy(
        input,
        "sfu",
        vec![from_anywhere(media), from_signal(input, control)],
    )?);
    Ok(children)
}

/// The pods: a DaemonSet on the host network (none while stopped), else a
/// Deployment of `minNodes` pods (or what the autoscaler decided): at most
/// one per node with host ports, up to `slotsPerNode` with port slots.
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
        SfuNetworking::HostPort | SfuNetworking::HostNetworkSlots => {
            Some(Child::from_typed(&Deployment {
                metadata: owner.meta(&name, "sfu"),
                spec: Some(DeploymentSpec {
                    replicas: Some(
                        input.replicas(input.scaled.sfu.unwrap_or(input.cluster.sfu.min_nodes)),
                    ),
                    selector,
                    template,
                    strategy: Some(one_at_a_time()),
                    ..DeploymentSpec::default()
                }),
                ..Deployment::default()
            })?)
        }
    })
}

/// What the SFU reads from its environment (besides the cluster
/// ConfigMap's `YUNHUI_SFU_UDP_PORT` and `YUNHUI_SFU_TCP_PORT`): the internal key, the address
/// to advertise, and what it registers with signal under: signal's URL, its
/// pod's name and its own control URL (the pod's IP, so signal drives each
/// node directly and not through the Service in front of all of them).
fn variables(input: &BuildInput<'_>) -> Vec<EnvVar> {
    let sfu = &input.cluster.sfu;
    let mut vars = vec![
        input.internal_key(),
        env_value(env::SIGNAL_URL, input.signal_url()),
        env_from_field(env::NODE_ID, "metadata.name"),
        // Kubernetes expands `$(YUNHUI_POD_IP)` only after it is defined.
        env_from_field(env::POD_IP, "status.podIP"),
        env_value(
            env::ADVERTISE_CONTROL_URL,
            format!("http://$({}):{}", env::POD_IP, sfu.control_port),
        ),
        env_value(env::SFU_CONTROL_PORT, sfu.control_port.to_string()),
        env_value(
            env::SFU_DRAIN_TIMEOUT,
            sfu.drain_timeout_seconds.to_string(),
        ),
    ];
    // The SFU takes the first free slot and reports its control URL with
    // that slot's port.
    if let Some(slots) = sfu.slots {
        vars.push(env_value(env::SFU_PORT_SLOTS, slots.per_node.to_string()));
        vars.push(env_value(env::SFU_PORT_STRIDE, slots.stride.to_string()));
    }
    match &sfu.advertise {
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
    if let Some(region) = &sfu.region {
        vars.push(env_value(env::SFU_REGION, region.clone()));
    }
    if let Some(turn) = &sfu.turn {
        vars.push(input.turn_secret());
        vars.push(env_value(env::SFU_TURN_PORT, turn.port.to_string()));
        if let Some((tls_port, _)) = &turn.tls {
            vars.push(env_value(env::SFU_TURN_TLS_PORT, tls_port.to_string()));
            vars.push(env_value(
                env::SFU_TURN_TLS_CERT,
                format!("{TURN_TLS_DIR}/tls.crt"),
            ));
            vars.push(env_value(
                env::SFU_TURN_TLS_KEY,
                format!("{TURN_TLS_DIR}/tls.key"),
            ));
        }
        if let Some(host) = &turn.host {
            // `{node}` is the node's name, which Kubernetes expands from
            // `$(YUNHUI_NODE_NAME)` once it is defined.
            if host.contains("{node}") && sfu.advertise != Advertise::NodeExternalIp {
                vars.push(env_from_field(env::NODE_NAME, "spec.nodeName"));
            }
            let host = host.replace("{node}", &format!("$({})", env::NODE_NAME));
            vars.push(env_value(env::SFU_TURN_HOST, host));
        }
    }
    vars
}

/// An exec probe of a slotted pod: the kubelet cannot know which slot's
/// control port the pod took, the SFU's `probe` asks it.
fn slot_probe(path: &str) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(vec![SFU_BINARY.into(), "probe".into(), path.into()]),
        }),
        period_seconds: Some(5),
        failure_threshold: Some(3),
        timeout_seconds: Some(3),
        ..Probe::default()
    }
}

fn container(input: &BuildInput<'_>) -> Container {
    let sfu = &input.cluster.sfu;
    // Host ports reserve the media ports; on the host network they are the
    // node's own. A slotted pool declares none: on the host network every
    // declared port is a host port the scheduler allows once per node, and
    // its pods' ports differ by slot anyway.
    let ports = match sfu.networking {
        SfuNetworking::HostNetworkSlots => Vec::new(),
        networking => {
            let host_ports = networking == SfuNetworking::HostPort;
            let media_port = |name: &str, port: i32, protocol: &str| ContainerPort {
                host_port: host_ports.then_some(port),
                ..container_port(name, port, protocol)
            };
            let mut ports = vec![
                media_port("media-udp", sfu.udp_port, "UDP"),
                media_port("media-tcp", sfu.tcp_port, "TCP"),
                container_port("control", sfu.control_port, "TCP"),
            ];
            if let Some(turn) = &sfu.turn {
                ports.push(media_port("turn-udp", turn.port, "UDP"));
                ports.push(media_port("turn-tcp", turn.port, "TCP"));
                if let Some((tls_port, _)) = &turn.tls {
                    ports.push(media_port("turn-tls", *tls_port, "TCP"));
                }
            }
            ports
        }
    };
    let mut container = input.container("sfu", variables(input), ports, sfu.resources.clone());
    // Ready once the media port is bound and the control API answers.
    container = match sfu.slots {
        Some(_) => Container {
            readiness_probe: Some(slot_probe("/readyz")),
            liveness_probe: Some(slot_probe("/healthz")),
            ..container
        },
        None => with_health_probes(container, sfu.control_port),
    };
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
    if sfu.turn.as_ref().is_some_and(|t| t.tls.is_some()) {
        container
            .volume_mounts
            .get_or_insert_with(Vec::new)
            .push(mount("turn-tls", TURN_TLS_DIR, true));
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
    if let Some((_, secret)) = sfu.turn.as_ref().and_then(|t| t.tls.as_ref()) {
        volumes.push(Volume {
            name: "turn-tls".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret.clone()),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    let mut pod = input.pod(input.name("sfu"), container(input), volumes);
    pod.node_selector = Some(sfu.node_selector.clone());
    pod.tolerations = (!sfu.tolerations.is_empty()).then(|| sfu.tolerations.clone());
    // The node drains for `drainTimeoutSeconds` (its meetings move in the
    // last ten) and then stops on its own, before the kubelet's SIGKILL.
    pod.termination_grace_period_seconds = Some(
        sfu.drain_timeout_seconds
            .saturating_add(STOP_MARGIN_SECONDS),
    );
    match sfu.networking {
        SfuNetworking::HostNetwork => {
            pod.host_network = Some(true);
            pod.dns_policy = Some("ClusterFirstWithHostNet".into());
        }
        // Several pods per node, spread evenly: a node gets a second pod
        // only when every node has one, so with `maxNodes` at most
        // `slotsPerNode` × nodes no node runs out of slots. Only the nodes
        // the pool may run on count: not those its selector leaves out
        // (the default) nor those with a taint it does not tolerate (e.g.
        // another region's media nodes), which would otherwise hold the
        // skew open and leave a pod Pending for ever.
        SfuNetworking::HostNetworkSlots => {
            pod.host_network = Some(true);
            pod.dns_policy = Some("ClusterFirstWithHostNet".into());
            pod.topology_spread_constraints = Some(vec![TopologySpreadConstraint {
                max_skew: 1,
                topology_key: "kubernetes.io/hostname".into(),
                when_unsatisfiable: "DoNotSchedule".into(),
                node_taints_policy: Some("Honor".into()),
                label_selector: Some(label_selector(owner.selector("sfu"))),
                ..TopologySpreadConstraint::default()
            }]);
        }
        // One pod per node: two would fight over the host ports.
        SfuNetworking::HostPort => {
            // The pod's own network namespace lets its non-root process
            // bind a port below 1024 (TURN over TLS on 443) when the pod
            // says so; on the host network the node's setting decides.
            let lowest = bound_ports(sfu)
                .into_iter()
                .min()
                .unwrap_or(PRIVILEGED_PORTS_END);
            if lowest < PRIVILEGED_PORTS_END {
                pod.security_context.get_or_insert_default().sysctls = Some(vec![Sysctl {
                    name: UNPRIVILEGED_PORT_START.into(),
                    value: lowest.to_string(),
                }]);
            }
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

/// The first port a non-root process may bind by default.
const PRIVILEGED_PORTS_END: i32 = 1024;

/// The (namespaced, safe) sysctl that moves that line.
const UNPRIVILEGED_PORT_START: &str = "net.ipv4.ip_unprivileged_port_start";

/// Every port an SFU pod binds: media, control and TURN.
fn bound_ports(sfu: &Sfu) -> Vec<i32> {
    let mut ports = vec![sfu.udp_port, sfu.tcp_port, sfu.control_port];
    if let Some(turn) = &sfu.turn {
        ports.push(turn.port);
        ports.extend(turn.tls.as_ref().map(|(tls_port, _)| *tls_port));
    }
    ports
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::build;
    use super::super::tests::{child, ids, keys, owner, scaled_children, valid};
    use super::super::{GeneratedKeys, PoolReplicas};
    use super::*;
    use crate::children::Owner;
    use crate::media_cluster::validate::ValidCluster;
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
                scaled: PoolReplicas::default(),
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

    /// The input of a pool that holds its ports, as the autoscaler left it.
    fn pool_input<'a>(
        owner: &'a Owner,
        cluster: &'a ValidCluster,
        keys: &'a GeneratedKeys,
    ) -> BuildInput<'a> {
        BuildInput {
            owner,
            cluster,
            keys,
            default_registry: "x",
            default_pull_secrets: &[],
            sfu_pool: true,
            node_addresses: None,
            scaled: PoolReplicas::default(),
        }
    }

    #[test]
    fn the_sfu_drains_for_the_drain_timeout_and_stops_before_its_grace_period_ends() {
        let (o, k) = (owner(), keys());
        let cluster = valid("sfu: {networking: HostPort, drainTimeoutSeconds: 45}");
        let input = pool_input(&o, &cluster, &k);
        let template = template(&input);
        let pod = template.spec.expect("a pod spec");
        assert_eq!(pod.termination_grace_period_seconds, Some(50));
        let drain = pod.containers[0]
            .env
            .iter()
            .flatten()
            .find(|v| v.name == env::SFU_DRAIN_TIMEOUT)
            .and_then(|v| v.value.clone());
        assert_eq!(drain.as_deref(), Some("45"));
    }

    #[test]
    fn a_pool_for_tainted_media_nodes_tolerates_their_taint_and_selects_them() {
        let (o, k) = (owner(), keys());
        let cluster = valid(
            "sfu: {nodeSelector: {topology.kubernetes.io/region: west}, tolerations: [{key: yunhui.dev/media, operator: Equal, value: west, effect: NoSchedule}]}",
        );
        let input = pool_input(&o, &cluster, &k);
        let pod = template(&input).spec.expect("a pod spec");
        let tolerations = pod.tolerations.expect("tolerations");
        assert_eq!(tolerations.len(), 1);
        assert_eq!(tolerations[0].key.as_deref(), Some("yunhui.dev/media"));
        assert_eq!(tolerations[0].value.as_deref(), Some("west"));
        assert_eq!(tolerations[0].effect.as_deref(), Some("NoSchedule"));
        let selector = pod.node_selector.expect("a node selector");
        assert_eq!(
            selector
                .get("topology.kubernetes.io/region")
                .map(String::as_str),
            Some("west")
        );
        // Without tolerations in the spec the pod has none of its own.
        let plain = valid("sfu: {}");
        let pod = template(&BuildInput {
            cluster: &plain,
            ..input
        })
        .spec
        .expect("a pod spec");
        assert!(pod.tolerations.is_none());
    }

    #[test]
    fn a_host_port_pool_has_the_replicas_the_autoscaler_decided() {
        let cluster = valid("sfu: {networking: HostPort, minNodes: 1, maxNodes: 5}");
        for (decided, want) in [(None, 1), (Some(4), 4)] {
            let scaled = PoolReplicas {
                sfu: decided,
                ..PoolReplicas::default()
            };
            let children = scaled_children(&cluster, scaled);
            let deployment = child(&children, "Deployment/prod-sfu");
            assert_eq!(deployment.object.data["spec"]["replicas"], json!(want));
        }
    }

    #[test]
    fn a_slotted_pool_is_a_scaled_deployment_on_the_host_network_with_several_pods_per_node() {
        let (o, k) = (owner(), keys());
        let cluster = valid(
            "sfu: {networking: HostNetworkSlots, slotsPerNode: 3, slotPortStride: 10, udpPort: 7892, tcpPort: 7891, controlPort: 7890, minNodes: 2, maxNodes: 6}",
        );
        let children = build(&BuildInput {
            owner: &o,
            cluster: &cluster,
            keys: &k,
            default_registry: "x",
            default_pull_secrets: &[],
            sfu_pool: true,
            node_addresses: None,
            scaled: PoolReplicas {
                sfu: Some(5),
                ..PoolReplicas::default()
            },
        })
        .expect("builds");
        assert!(!ids(&children).contains(&"DaemonSet/prod-sfu".to_string()));
        let deployment = child(&children, "Deployment/prod-sfu");
        let spec = &deployment.object.data["spec"];
        assert_eq!(spec["replicas"], json!(5), "the autoscaler's replicas");
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["hostNetwork"], json!(true));
        assert_eq!(pod["dnsPolicy"], json!("ClusterFirstWithHostNet"));
        assert!(pod["affinity"].is_null(), "no one-pod-per-node rule: {pod}");
        let spread = &pod["topologySpreadConstraints"][0];
        assert_eq!(spread["maxSkew"], json!(1));
        assert_eq!(spread["topologyKey"], json!("kubernetes.io/hostname"));
        assert_eq!(spread["whenUnsatisfiable"], json!("DoNotSchedule"));
        assert_eq!(
            spread["nodeTaintsPolicy"],
            json!("Honor"),
            "a tainted node the pool cannot use does not count in the skew"
        );
        let container = &pod["containers"][0];
        assert!(
            container["ports"].as_array().is_none_or(|p| p.is_empty()),
            "declared ports would be host ports the scheduler allows once per node: {container}"
        );
        for probe in ["readinessProbe", "livenessProbe"] {
            let command = &container[probe]["exec"]["command"];
            assert_eq!(command[0], json!("/usr/local/bin/yunhui-sfu"), "{probe}");
            assert_eq!(command[1], json!("probe"), "{probe}");
        }
        let env = &container["env"];
        let value = |name: &str| super::super::tests::env_value(env, name)["value"].clone();
        assert_eq!(value("YUNHUI_SFU_PORT_SLOTS"), json!("3"));
        assert_eq!(value("YUNHUI_SFU_PORT_STRIDE"), json!("10"));
        assert_eq!(value("YUNHUI_SFU_CONTROL_PORT"), json!("7890"));
        assert_eq!(
            value("YUNHUI_ADVERTISE_CONTROL_URL"),
            json!("http://$(YUNHUI_POD_IP):7890")
        );
        // Clients reach every slot's media ports; signal every slot's control port.
        let policy = child(&children, "NetworkPolicy/prod-sfu");
        let rules = &policy.object.data["spec"]["ingress"];
        let ports = |rule: usize| -> Vec<String> {
            rules[rule]["ports"]
                .as_array()
                .expect("ports")
                .iter()
                .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("")))
                .collect()
        };
        assert_eq!(
            ports(0),
            [
                "7892/UDP", "7891/TCP", "7902/UDP", "7901/TCP", "7912/UDP", "7911/TCP"
            ]
        );
        assert_eq!(ports(1), ["7890/TCP", "7900/TCP", "7910/TCP"]);
        let service = child(&children, "Service/prod-sfu");
        assert_eq!(
            service.object.data["spec"]["ports"][0]["targetPort"],
            json!(7890)
        );
    }

    #[test]
    fn pools_with_one_pod_per_node_get_no_slots_and_http_probes_on_the_control_port() {
        for networking in ["HostNetwork", "HostPort"] {
            let cluster = valid(&format!(
                "sfu: {{networking: {networking}, controlPort: 7870}}"
            ));
            let children = super::super::tests::children(&cluster);
            let kind = if networking == "HostPort" {
                "Deployment"
            } else {
                "DaemonSet"
            };
            let workload = child(&children, &format!("{kind}/prod-sfu"));
            let container = &workload.object.data["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(container["readinessProbe"]["httpGet"]["port"], json!(7870));
            let env = &container["env"];
            assert!(
                super::super::tests::env_value(env, "YUNHUI_SFU_PORT_SLOTS").is_null(),
                "{networking}"
            );
            assert!(
                container["ports"]
                    .as_array()
                    .expect("ports")
                    .iter()
                    .any(|p| p["containerPort"] == json!(7870))
            );
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
            scaled: PoolReplicas::default(),
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
            scaled: PoolReplicas::default(),
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
            format!("http://$(YUNHUI_POD_IP):{SFU_CONTROL_PORT}"),
            "the default control port is the Service's"
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
    fn turn_on_every_node_with_its_ports_secret_and_certificate() {
        use super::super::tests::{children, env_value};
        let cluster = valid(
            "sfu: {networking: HostPort, turn: {port: 3478, tlsPort: 443, tlsSecretName: turn-cert, host: '{node}.turn.example.com'}}",
        );
        let children = children(&cluster);
        let pod = &child(&children, "Deployment/prod-sfu").object.data["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let env = &container["env"];
        let value = |name: &str| env_value(env, name)["value"].clone();
        assert_eq!(value("YUNHUI_SFU_TURN_PORT"), "3478");
        assert_eq!(value("YUNHUI_SFU_TURN_TLS_PORT"), "443");
        assert_eq!(
            value("YUNHUI_SFU_TURN_TLS_CERT"),
            "/etc/yunhui/turn-tls/tls.crt"
        );
        assert_eq!(
            value("YUNHUI_SFU_TURN_TLS_KEY"),
            "/etc/yunhui/turn-tls/tls.key"
        );
        assert_eq!(
            value("YUNHUI_SFU_TURN_HOST"),
            "$(YUNHUI_NODE_NAME).turn.example.com"
        );
        let names: Vec<&str> = (env.as_array().unwrap().iter())
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        let position = |name: &str| names.iter().position(|n| *n == name).unwrap();
        assert!(
            position("YUNHUI_NODE_NAME") < position("YUNHUI_SFU_TURN_HOST"),
            "defined before it is expanded: {names:?}"
        );
        // The secret comes from the keys Secret, never as a plain value.
        assert_eq!(
            env_value(env, "YUNHUI_TURN_SECRET")["valueFrom"]["secretKeyRef"],
            json!({"name": "prod-keys", "key": "turn-secret"})
        );
        let keys = child(&children, "Secret/prod-keys");
        assert!(keys.object.data["data"]["turn-secret"].is_string());
        let signal = child(&children, "StatefulSet/prod-signal");
        let signal_env = &signal.object.data["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(
            env_value(signal_env, "YUNHUI_TURN_SECRET")["valueFrom"]["secretKeyRef"]["key"],
            "turn-secret"
        );
        // Host ports for TURN next to the media ports, open in the policy.
        let ports: Vec<(String, i64, String)> = (container["ports"].as_array().unwrap().iter())
            .filter(|p| p["name"].as_str().unwrap().starts_with("turn-"))
            .map(|p| {
                (
                    p["name"].as_str().unwrap().into(),
                    p["hostPort"].as_i64().unwrap(),
                    p["protocol"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            ports,
            [
                ("turn-udp".into(), 3478, "UDP".into()),
                ("turn-tcp".into(), 3478, "TCP".into()),
                ("turn-tls".into(), 443, "TCP".into()),
            ]
        );
        let policy = child(&children, "NetworkPolicy/prod-sfu")
            .object
            .data
            .to_string();
        assert!(
            policy.contains(r#""port":443,"protocol":"TCP""#)
                && policy.contains(r#""port":3478,"protocol":"UDP""#),
            "{policy}"
        );
        let volume = (pod["volumes"].as_array().unwrap().iter())
            .find(|v| v["name"] == "turn-tls")
            .expect("the certificate's volume");
        assert_eq!(volume["secret"]["secretName"], "turn-cert");
        // TLS on 443 from the pod's own network namespace: the non-root
        // process may bind it.
        assert_eq!(
            pod["securityContext"]["sysctls"],
            json!([{"name": "net.ipv4.ip_unprivileged_port_start", "value": "443"}])
        );
        assert_eq!(
            container["volumeMounts"]
                .to_string()
                .matches("/etc/yunhui/turn-tls")
                .count(),
            1
        );

        assert!(value("YUNHUI_SFU_REGION").is_null());
        let regional = super::super::tests::children(&valid("sfu: {region: north}"));
        let env = &child(&regional, "DaemonSet/prod-sfu").object.data["spec"]["template"]["spec"]["containers"]
            [0]["env"];
        assert_eq!(env_value(env, "YUNHUI_SFU_REGION")["value"], "north");

        // Without TURN: no TURN in the pods; the keys Secret still has the
        // secret, for signal (a media-only cluster's nodes may serve TURN).
        let plain = super::super::tests::children(&valid("sfu: {networking: HostPort}"));
        let keys = child(&plain, "Secret/prod-keys");
        assert!(keys.object.data["data"]["turn-secret"].is_string());
        let signal_env = &child(&plain, "StatefulSet/prod-signal").object.data["spec"]["template"]
            ["spec"]["containers"][0]["env"];
        assert_eq!(
            env_value(signal_env, "YUNHUI_TURN_SECRET")["valueFrom"]["secretKeyRef"]["key"],
            "turn-secret"
        );
        let env = &child(&plain, "Deployment/prod-sfu").object.data["spec"]["template"]["spec"]["containers"]
            [0]["env"];
        assert!(env_value(env, "YUNHUI_SFU_TURN_PORT").is_null());
        let pod = &child(&plain, "Deployment/prod-sfu").object.data["spec"]["template"]["spec"];
        assert!(
            pod["securityContext"]["sysctls"].is_null(),
            "no port below 1024: {pod}"
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
