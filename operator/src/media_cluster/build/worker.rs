//! The Deployment shape of the worker pools (recorders, SIP gateways): pods
//! of the shared `worker` ServiceAccount, with or without health probes.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{ContainerPort, EnvVar, ResourceRequirements};

use super::BuildInput;
use super::pod::{label_selector, with_health_probes};
use crate::children::Child;
use crate::error::Result;

/// A Deployment of `replicas` workers of `component` under the shared
/// `worker` ServiceAccount; with `probe_port`, ready and alive by HTTP there.
pub fn worker_deployment(
    input: &BuildInput<'_>,
    component: &str,
    replicas: i32,
    variables: Vec<EnvVar>,
    ports: Vec<ContainerPort>,
    resources: Option<ResourceRequirements>,
    probe_port: Option<i32>,
) -> Result<Child> {
    let mut container = input.container(component, variables, ports, resources);
    if let Some(port) = probe_port {
        container = with_health_probes(container, port);
    }
    Child::from_typed(&Deployment {
        metadata: input.owner.meta(&input.name(component), component),
        spec: Some(DeploymentSpec {
            replicas: Some(input.replicas(replicas)),
            selector: label_selector(input.owner.selector(component)),
            template: input.template(
                component,
                input.pod(input.name("worker"), container, Vec::new()),
            ),
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    })
}
