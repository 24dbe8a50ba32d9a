//! What surrounds a workload's pods: their ServiceAccount (no API token),
//! a PodDisruptionBudget (one pod down at a time) and a NetworkPolicy (only
//! the ingress listed).

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::BuildInput;
use super::pod::label_selector;
use crate::children::Child;
use crate::error::Result;

/// The ServiceAccount `<cluster>-<component>`, without an API token.
pub fn service_account(input: &BuildInput<'_>, component: &str) -> Result<Child> {
    Child::from_typed(&ServiceAccount {
        metadata: input.owner.meta(&input.name(component), component),
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    })
}

/// At most one pod of `component` unavailable through voluntary disruptions.
pub fn pdb(input: &BuildInput<'_>, component: &str) -> Result<Child> {
    Child::from_typed(&PodDisruptionBudget {
        metadata: input.owner.meta(&input.name(component), component),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(label_selector(input.owner.selector(component))),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    })
}

/// Only the `ingress` rules reach the pods of `component` (none when empty).
pub fn network_policy(
    input: &BuildInput<'_>,
    component: &str,
    ingress: Vec<NetworkPolicyIngressRule>,
) -> Result<Child> {
    Child::from_typed(&NetworkPolicy {
        metadata: input.owner.meta(&input.name(component), component),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(label_selector(input.owner.selector(component))),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(ingress),
            ..NetworkPolicySpec::default()
        }),
    })
}

/// A port (`protocol` `TCP` or `UDP`) open in a NetworkPolicy.
pub fn open_port(protocol: &str, port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(IntOrString::Int(port)),
        end_port: None,
    }
}

/// A UDP port range open in a NetworkPolicy.
pub fn open_udp_range(first: i32, last: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        end_port: Some(last),
        ..open_port("UDP", first)
    }
}

/// `ports` open to anyone.
pub fn from_anywhere(ports: Vec<NetworkPolicyPort>) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule {
        from: None,
        ports: Some(ports),
    }
}

/// `ports` open only to this cluster's signal pods.
pub fn from_signal(
    input: &BuildInput<'_>,
    ports: Vec<NetworkPolicyPort>,
) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule {
        from: Some(vec![NetworkPolicyPeer {
            pod_selector: Some(label_selector(input.owner.selector("signal"))),
            ..NetworkPolicyPeer::default()
        }]),
        ports: Some(ports),
    }
}
