//! The SIP gateway pool: a Deployment, a Service for SIP and the control
//! API, a PodDisruptionBudget, and a NetworkPolicy open to devices on SIP
//! and RTP and to signal on the control port.

use k8s_openapi::api::core::v1::{
    Affinity, Container, EnvVar, PodAffinityTerm, PodAntiAffinity, PodTemplateSpec,
    SecretVolumeSource, Service, ServicePort, ServiceSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use yunhui_proto::env;

use super::pod::{
    container_port, env_from_field, env_from_secret, env_value, label_selector, mount,
};
use super::policy::{from_anywhere, from_signal, network_policy, open_port, open_udp_range, pdb};
use super::worker::{one_at_a_time, worker_container, worker_deployment, worker_template};

/// Where a SIP pod finds the certificate and key of SIP over TLS.
const TLS_DIR: &str = "/etc/yunhui/sip-tls";
use super::{BuildInput, SIPGW_CONTROL_PORT, STOP_MARGIN_SECONDS};
use crate::children::Child;
use crate::error::Result;
use crate::media_cluster::validate::Sip;

/// The SIP pool's children.
pub fn build(input: &BuildInput<'_>, sip: &Sip) -> Result<Vec<Child>> {
    let mut ports = vec![
        container_port("sip-udp", sip.port, "UDP"),
        container_port("sip-tcp", sip.port, "TCP"),
        container_port("control", SIPGW_CONTROL_PORT, "TCP"),
    ];
    if let Some((tls_port, _)) = &sip.tls {
        ports.push(container_port("sip-tls", *tls_port, "TCP"));
    }
    let service_port = |name: &str, port: i32, protocol: &str| ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::Int(port)),
        protocol: Some(protocol.into()),
        ..ServicePort::default()
    };
    let (rtp_min, rtp_max) = sip.rtp_ports;
    let mut service_ports = vec![
        service_port("sip-udp", sip.port, "UDP"),
        service_port("sip-tcp", sip.port, "TCP"),
        service_port("control", SIPGW_CONTROL_PORT, "TCP"),
    ];
    let mut device_ports = vec![
        open_port("UDP", sip.port),
        open_port("TCP", sip.port),
        open_udp_range(rtp_min, rtp_max),
    ];
    if let Some((tls_port, _)) = &sip.tls {
        service_ports.push(service_port("sip-tls", *tls_port, "TCP"));
        device_ports.push(open_port("TCP", *tls_port));
    }
    // Ready once the SIP port is bound and the control API answers.
    let container = worker_container(
        input,
        "sip",
        variables(input, sip),
        ports,
        sip.resources.clone(),
        Some(SIPGW_CONTROL_PORT),
    );
    Ok(vec![
        worker_deployment(
            input,
            "sip",
            replicas(input, sip),
            template(input, sip, container),
            sip.host_network.then(one_at_a_time),
        )?,
        Child::from_typed(&Service {
            metadata: input.owner.meta(&input.name("sip"), "sip"),
            spec: Some(ServiceSpec {
                selector: Some(input.owner.selector("sip")),
                ports: Some(service_ports),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        })?,
        pdb(input, "sip")?,
        network_policy(
            input,
            "sip",
            vec![
                from_anywhere(device_ports),
                from_signal(input, vec![open_port("TCP", SIPGW_CONTROL_PORT)]),
            ],
        )?,
    ])
}

/// The Deployment's replicas: as the autoscaler decided when the pool is
/// scaled by its calls (`minNodes` until it has), else `replicas`.
fn replicas(input: &BuildInput<'_>, sip: &Sip) -> i32 {
    match &sip.autoscale {
        Some(autoscale) => input.scaled.sip.unwrap_or(autoscale.min_nodes),
        None => sip.replicas,
    }
}

/// The SIP pods: with `hostNetwork`, on their nodes' host network, one per
/// node; with TLS, the certificate's Secret mounted.
fn template(input: &BuildInput<'_>, sip: &Sip, mut container: Container) -> PodTemplateSpec {
    if sip.tls.is_some() {
        container
            .volume_mounts
            .get_or_insert_with(Vec::new)
            .push(mount("sip-tls", TLS_DIR, true));
    }
    let mut template = worker_template(input, "sip", container);
    let Some(pod) = template.spec.as_mut() else {
        return template;
    };
    // The gateway drains for `drainTimeoutSeconds` and then stops on its
    // own, before the kubelet's SIGKILL.
    pod.termination_grace_period_seconds = Some(
        sip.drain_timeout_seconds
            .saturating_add(STOP_MARGIN_SECONDS),
    );
    if let Some((_, secret)) = &sip.tls {
        pod.volumes.get_or_insert_with(Vec::new).push(Volume {
            name: "sip-tls".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret.clone()),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    if sip.host_network {
        pod.host_network = Some(true);
        pod.dns_policy = Some("ClusterFirstWithHostNet".into());
        // Two gateways on one node would fight over its SIP and RTP ports.
        pod.affinity = Some(Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![PodAffinityTerm {
                    label_selector: Some(label_selector(input.owner.selector("sip"))),
                    topology_key: "kubernetes.io/hostname".into(),
                    ..PodAffinityTerm::default()
                }]),
                ..PodAntiAffinity::default()
            }),
            ..Affinity::default()
        });
    }
    template
}

/// What the SIP gateway reads from its environment.
fn variables(input: &BuildInput<'_>, sip: &Sip) -> Vec<EnvVar> {
    let (rtp_min, rtp_max) = sip.rtp_ports;
    let mut vars = vec![
        input.internal_key(),
        env_value(env::SIGNAL_URL, input.signal_url()),
        env_value(env::SIP_PORT, sip.port.to_string()),
        env_value(env::SIP_RTP_PORTS, format!("{rtp_min}-{rtp_max}")),
        env_value(
            env::SIP_DRAIN_TIMEOUT,
            sip.drain_timeout_seconds.to_string(),
        ),
        env_value(
            env::SIPGW_CONTROL_LISTEN,
            format!("0.0.0.0:{SIPGW_CONTROL_PORT}"),
        ),
        // Devices send SIP and RTP to the pod's own address.
        match (&sip.advertised_address, sip.host_network) {
            (Some(address), _) => env_value(env::ADVERTISE_ADDRESS, address.to_string()),
            (None, true) => env_from_field(env::ADVERTISE_ADDRESS, "status.hostIP"),
            (None, false) => env_from_field(env::ADVERTISE_ADDRESS, "status.podIP"),
        },
    ];
    if let Some(autoscale) = &sip.autoscale {
        // A scaled gateway reports its calls to signal under its pod's name,
        // and takes at most its share.
        vars.push(env_from_field(env::NODE_ID, "metadata.name"));
        // Kubernetes expands `$(YUNHUI_POD_IP)` only after it is defined.
        vars.push(env_from_field(env::POD_IP, "status.podIP"));
        vars.push(env_value(
            env::ADVERTISE_CONTROL_URL,
            format!("http://$({}):{SIPGW_CONTROL_PORT}", env::POD_IP),
        ));
        vars.push(env_value(
            env::SIP_MAX_CALLS,
            autoscale.calls_per_node.to_string(),
        ));
    }
    if let Some((tls_port, _)) = &sip.tls {
        vars.push(env_value(env::SIP_TLS_PORT, tls_port.to_string()));
        vars.push(env_value(env::SIP_TLS_CERT, format!("{TLS_DIR}/tls.crt")));
        vars.push(env_value(env::SIP_TLS_KEY, format!("{TLS_DIR}/tls.key")));
    }
    if let Some(trunk) = &sip.trunk {
        vars.push(env_value(env::SIP_TRUNK, trunk.address.clone()));
        if let Some(secret) = &trunk.credentials_secret {
            vars.push(env_from_secret(env::SIP_TRUNK_USER, secret, "username"));
            vars.push(env_from_secret(env::SIP_TRUNK_PASSWORD, secret, "password"));
        }
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::super::PoolReplicas;
    use super::super::tests::{child, children, env_value, scaled_children, valid};
    use serde_json::json;

    /// Devices outside the cluster: the gateway on its node's host network,
    /// one per node, advertising the node's address, with SIP over TLS on
    /// the Secret's certificate, open in the policy and the Service.
    #[test]
    fn a_gateway_on_the_host_network_with_tls_advertises_its_node() {
        let cluster = valid(
            "sip: {enabled: true, hostNetwork: true, tls: {port: 5061, secretName: sip-cert}}",
        );
        let children = children(&cluster);
        let deployment = &child(&children, "Deployment/prod-sip").object.data["spec"];
        // An upgrade replaces the node's gateway rather than waiting for a
        // second one that could never bind the node's ports.
        assert_eq!(
            deployment["strategy"]["rollingUpdate"],
            json!({"maxSurge": 0, "maxUnavailable": 1})
        );
        let pod = &deployment["template"]["spec"];
        assert_eq!(pod["hostNetwork"], true);
        assert_eq!(pod["dnsPolicy"], "ClusterFirstWithHostNet");
        assert_eq!(
            pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
                ["topologyKey"],
            "kubernetes.io/hostname"
        );
        let container = &pod["containers"][0];
        let env = &container["env"];
        assert_eq!(
            env_value(env, "YUNHUI_ADVERTISE_ADDRESS")["valueFrom"]["fieldRef"]["fieldPath"],
            "status.hostIP"
        );
        assert_eq!(env_value(env, "YUNHUI_SIP_TLS_PORT")["value"], "5061");
        assert_eq!(
            env_value(env, "YUNHUI_SIP_TLS_CERT")["value"],
            "/etc/yunhui/sip-tls/tls.crt"
        );
        assert_eq!(
            env_value(env, "YUNHUI_SIP_TLS_KEY")["value"],
            "/etc/yunhui/sip-tls/tls.key"
        );
        let volume = (pod["volumes"].as_array().unwrap().iter())
            .find(|v| v["name"] == "sip-tls")
            .expect("the certificate's volume");
        assert_eq!(volume["secret"]["secretName"], "sip-cert");
        assert!(
            container["volumeMounts"]
                .to_string()
                .contains("/etc/yunhui/sip-tls")
        );
        assert!(
            container["ports"]
                .as_array()
                .unwrap()
                .contains(&json!({"name": "sip-tls", "containerPort": 5061, "protocol": "TCP"}))
        );
        let service = child(&children, "Service/prod-sip").object.data.to_string();
        assert!(service.contains(r#""name":"sip-tls""#), "{service}");
        let policy = &child(&children, "NetworkPolicy/prod-sip").object.data["spec"]["ingress"][0];
        assert!(
            policy["ports"]
                .as_array()
                .unwrap()
                .contains(&json!({"protocol": "TCP", "port": 5061})),
            "{policy}"
        );
    }

    /// A stopping gateway lets its calls go on for the drain and stops on
    /// its own before its grace period ends.
    #[test]
    fn a_gateway_drains_for_the_drain_timeout_within_its_grace_period() {
        for (spec, drain, grace) in [
            ("sip: {enabled: true, drainTimeoutSeconds: 120}", "120", 125),
            ("sip: {enabled: true}", "300", 305),
        ] {
            let children = children(&valid(spec));
            let pod =
                &child(&children, "Deployment/prod-sip").object.data["spec"]["template"]["spec"];
            assert_eq!(pod["terminationGracePeriodSeconds"], json!(grace), "{spec}");
            let env = &pod["containers"][0]["env"];
            assert_eq!(
                env_value(env, "YUNHUI_SIP_DRAIN_TIMEOUT")["value"],
                drain,
                "{spec}"
            );
        }
    }

    #[test]
    fn a_fixed_address_is_advertised_and_the_default_pool_stays_in_its_pod_network() {
        let cluster = valid("sip: {enabled: true, advertisedAddress: 192.0.2.20}");
        let children = children(&cluster);
        let deployment = &child(&children, "Deployment/prod-sip").object.data["spec"];
        assert!(deployment["strategy"].is_null(), "the default rollout");
        let pod = &deployment["template"]["spec"];
        let env = &pod["containers"][0]["env"];
        assert_eq!(
            env_value(env, "YUNHUI_ADVERTISE_ADDRESS")["value"],
            "192.0.2.20"
        );
        assert!(pod["hostNetwork"].is_null());
        assert!(env_value(env, "YUNHUI_SIP_TLS_PORT").is_null());
        assert!(
            !(pod["volumes"].as_array().unwrap().iter()).any(|v| v["name"] == "sip-tls"),
            "no certificate without TLS"
        );
    }

    /// A pool scaled by its calls: `minNodes` gateways until the autoscaler
    /// decides, then its number; each gateway reports under its pod's name
    /// at its pod's address and takes at most `callsPerNode` calls. A fixed
    /// pool reports nothing.
    #[test]
    fn a_scaled_pool_starts_at_min_nodes_and_its_gateways_report_their_calls() {
        let cluster = valid(
            "sip: {enabled: true, replicas: 5, autoscale: {minNodes: 2, maxNodes: 4, callsPerNode: 30}}",
        );
        let deployment = |sip_replicas: Option<i32>| {
            let scaled = PoolReplicas {
                sip: sip_replicas,
                ..PoolReplicas::default()
            };
            let children = scaled_children(&cluster, scaled);
            child(&children, "Deployment/prod-sip").object.data["spec"].clone()
        };
        assert_eq!(deployment(None)["replicas"], 2, "minNodes, not replicas");
        let decided = deployment(Some(3));
        assert_eq!(decided["replicas"], 3);
        let env = &decided["template"]["spec"]["containers"][0]["env"];
        assert_eq!(
            env_value(env, "YUNHUI_NODE_ID")["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.name"
        );
        assert_eq!(
            env_value(env, "YUNHUI_ADVERTISE_CONTROL_URL")["value"],
            "http://$(YUNHUI_POD_IP):8090"
        );
        assert_eq!(env_value(env, "YUNHUI_SIP_MAX_CALLS")["value"], "30");
        let names: Vec<&str> = (env.as_array().unwrap().iter())
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
        assert!(at("YUNHUI_POD_IP") < at("YUNHUI_ADVERTISE_CONTROL_URL"));

        let fixed = children(&valid("sip: {enabled: true, replicas: 3}"));
        let spec = &child(&fixed, "Deployment/prod-sip").object.data["spec"];
        assert_eq!(spec["replicas"], 3);
        let env = &spec["template"]["spec"]["containers"][0]["env"];
        assert!(env_value(env, "YUNHUI_NODE_ID").is_null());
        assert!(env_value(env, "YUNHUI_SIP_MAX_CALLS").is_null());
    }
}
