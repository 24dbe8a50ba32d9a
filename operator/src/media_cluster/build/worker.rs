//! What the worker pools (recorders, SIP gateways) share: pods of the
//! shared `worker` ServiceAccount, with or without health probes, and the
//! Deployment of a pool that keeps nothing on disk.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, PodTemplateSpec, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::BuildInput;
use super::pod::{label_selector, with_health_probes};
use crate::children::Child;
use crate::error::Result;

/// The container of a worker of `component`; with `probe_port`, ready and
/// alive by HTTP there.
pub fn worker_container(
    input: &BuildInput<'_>,
    component: &str,
    variables: Vec<EnvVar>,
    ports: Vec<ContainerPort>,
    resources: Option<ResourceRequirements>,
    probe_port: Option<i32>,
) -> Container {
    let container = input.container(component, variables, ports, resources);
    match probe_port {
        Some(port) => with_health_probes(container, port),
        None => container,
    }
}

/// The pod template of a worker of `component`, under the shared `worker`
/// ServiceAccount.
pub fn worker_template(
    input: &BuildInput<'_>,
    component: &str,
    container: Container,
) -> PodTemplateSpec {
    input.template(
        component,
        input.pod(input.name("worker"), container, Vec::new()),
    )
}

/// A Deployment of `replicas` workers of `component` under the shared
/// `worker` ServiceAccount, with `template` (made by [`worker_template`],
/// then adjusted: volumes, host network) and `strategy` (`None`: the
/// default rolling update).
pub fn worker_deployment(
    input: &BuildInput<'_>,
    component: &str,
    replicas: i32,
    template: PodTemplateSpec,
    strategy: Option<DeploymentStrategy>,
) -> Result<Child> {
    Child::from_typed(&Deployment {
        metadata: input.owner.meta(&input.name(component), component),
        spec: Some(DeploymentSpec {
            replicas: Some(input.replicas(replicas)),
            selector: label_selector(input.owner.selector(component)),
            template,
            strategy,
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    })
}

/// The rollout of pods that hold their node's ports (host network, host
/// ports): one pod at a time, the old one gone before its successor starts.
/// A surge pod could never bind those ports, and anti-affinity would keep
/// it Pending while the old one waits for it to be Ready: an upgrade would
/// hang.
pub fn one_at_a_time() -> DeploymentStrategy {
    DeploymentStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDeployment {
            max_unavailable: Some(IntOrString::Int(1)),
            max_surge: Some(IntOrString::Int(0)),
        }),
    }
}
