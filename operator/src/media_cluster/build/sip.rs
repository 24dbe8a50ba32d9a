//! The SIP gateway pool: a Deployment, a Service for SIP and the control
//! API, a PodDisruptionBudget, and a NetworkPolicy open to devices on SIP
//! and RTP and to signal on the control port.

use k8s_openapi::api::core::v1::{EnvVar, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use yunhui_proto::env;

use super::pod::{container_port, env_from_field, env_from_secret, env_value};
use super::policy::{from_anywhere, from_signal, network_policy, open_port, open_udp_range, pdb};
use super::worker::worker_deployment;
use super::{BuildInput, SIPGW_CONTROL_PORT};
use crate::children::Child;
use crate::error::Result;
use crate::media_cluster::validate::Sip;

/// The SIP pool's children.
pub fn build(input: &BuildInput<'_>, sip: &Sip) -> Result<Vec<Child>> {
    let ports = vec![
        container_port("sip-udp", sip.port, "UDP"),
        container_port("sip-tcp", sip.port, "TCP"),
        container_port("control", SIPGW_CONTROL_PORT, "TCP"),
    ];
    let service_port = |name: &str, port: i32, protocol: &str| ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::Int(port)),
        protocol: Some(protocol.into()),
        ..ServicePort::default()
    };
    let (rtp_min, rtp_max) = sip.rtp_ports;
    Ok(vec![
        // Ready once the SIP port is bound and the control API answers.
        worker_deployment(
            input,
            "sip",
            sip.replicas,
            variables(input, sip),
            ports,
            sip.resources.clone(),
            Some(SIPGW_CONTROL_PORT),
        )?,
        Child::from_typed(&Service {
            metadata: input.owner.meta(&input.name("sip"), "sip"),
            spec: Some(ServiceSpec {
                selector: Some(input.owner.selector("sip")),
                ports: Some(vec![
                    service_port("sip-udp", sip.port, "UDP"),
                    service_port("sip-tcp", sip.port, "TCP"),
                    service_port("control", SIPGW_CONTROL_PORT, "TCP"),
                ]),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        })?,
        pdb(input, "sip")?,
        network_policy(
            input,
            "sip",
            vec![
                from_anywhere(vec![
                    open_port("UDP", sip.port),
                    open_port("TCP", sip.port),
                    open_udp_range(rtp_min, rtp_max),
                ]),
                from_signal(input, vec![open_port("TCP", SIPGW_CONTROL_PORT)]),
            ],
        )?,
    ])
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
            env::SIPGW_CONTROL_LISTEN,
            format!("0.0.0.0:{SIPGW_CONTROL_PORT}"),
        ),
        // Devices send SIP and RTP to the pod's own address.
        env_from_field(env::ADVERTISE_ADDRESS, "status.podIP"),
    ];
    if let Some(trunk) = &sip.trunk {
        vars.push(env_value(env::SIP_TRUNK, trunk.address.clone()));
        if let Some(secret) = &trunk.credentials_secret {
            vars.push(env_from_secret(env::SIP_TRUNK_USER, secret, "username"));
            vars.push(env_from_secret(env::SIP_TRUNK_PASSWORD, secret, "password"));
        }
    }
    vars
}
