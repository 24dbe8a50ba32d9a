//! What every workload's pods share: the container with its image, security
//! context and `/tmp`, the pod with its service account and pull secrets,
//! probes, and the pieces `env` and `ports` are made of.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, ObjectFieldSelector, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile,
    SecretKeySelector, SecurityContext, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use yunhui_crds::media_cluster::PullPolicy;
use yunhui_proto::env;

use super::{BuildInput, keys_secret_name};

/// Uid/gid every container runs as.
const RUN_AS: i64 = 65532;

/// An environment variable with a value.
pub fn env_value(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

/// An environment variable from a key of a Secret.
pub fn env_from_secret(name: &str, secret: &str, key: &str) -> EnvVar {
    env_from(
        name,
        EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: None,
            }),
            ..EnvVarSource::default()
        },
    )
}

/// An environment variable from a field of the pod (the downward API).
pub fn env_from_field(name: &str, field_path: &str) -> EnvVar {
    env_from(
        name,
        EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: field_path.into(),
            }),
            ..EnvVarSource::default()
        },
    )
}

fn env_from(name: &str, source: EnvVarSource) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(source),
    }
}

/// A named container port.
pub fn container_port(name: &str, port: i32, protocol: &str) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: port,
        protocol: Some(protocol.into()),
        ..ContainerPort::default()
    }
}

/// An HTTP probe of one of the container's ports.
pub fn http_probe(path: &str, port: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(port),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(5),
        failure_threshold: Some(3),
        ..Probe::default()
    }
}

/// Readiness on `/readyz` and liveness on `/healthz` of `port`.
pub fn with_health_probes(mut container: Container, port: i32) -> Container {
    container.readiness_probe = Some(http_probe("/readyz", port));
    container.liveness_probe = Some(http_probe("/healthz", port));
    container
}

/// A volume mount.
pub fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

/// An empty directory volume.
pub fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

/// A StatefulSet's claim template `name`: a `ReadWriteOnce` volume of
/// `storage` per pod, of `storage_class` (the cluster's default when `None`).
pub fn volume_claim_template(
    name: &str,
    labels: BTreeMap<String, String>,
    storage: &Quantity,
    storage_class: &Option<String>,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".into(), storage.clone())])),
                limits: None,
            }),
            storage_class_name: storage_class.clone(),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

/// A selector matching exactly `labels`.
pub fn label_selector(labels: BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels),
        ..LabelSelector::default()
    }
}

fn pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS),
        run_as_group: Some(RUN_AS),
        fs_group: Some(RUN_AS),
        seccomp_profile: Some(runtime_default_seccomp()),
        ..PodSecurityContext::default()
    }
}

fn container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        privileged: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        seccomp_profile: Some(runtime_default_seccomp()),
        ..SecurityContext::default()
    }
}

fn runtime_default_seccomp() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        localhost_profile: None,
    }
}

fn pull_policy(policy: PullPolicy) -> String {
    match policy {
        PullPolicy::Always => "Always",
        PullPolicy::IfNotPresent => "IfNotPresent",
        PullPolicy::Never => "Never",
    }
    .into()
}

impl BuildInput<'_> {
    /// `YUNHUI_INTERNAL_KEY`, from the cluster's keys Secret.
    pub fn internal_key(&self) -> EnvVar {
        env_from_secret(
            env::INTERNAL_KEY,
            &keys_secret_name(&self.owner.name),
            "internal-key",
        )
    }

    /// `YUNHUI_TURN_SECRET`, from the cluster's keys Secret (a pool serving TURN).
    pub fn turn_secret(&self) -> EnvVar {
        env_from_secret(
            env::TURN_SECRET,
            &keys_secret_name(&self.owner.name),
            super::TURN_SECRET_KEY,
        )
    }

    /// The container of `component`: its image, non-root and read-only with
    /// a writable `/tmp`.
    pub fn container(
        &self,
        component: &str,
        env: Vec<EnvVar>,
        ports: Vec<ContainerPort>,
        resources: Option<ResourceRequirements>,
    ) -> Container {
        Container {
            name: component.into(),
            image: Some(self.image(component)),
            image_pull_policy: self.cluster.images.pull_policy.map(pull_policy),
            env: Some(env),
            ports: Some(ports),
            security_context: Some(container_security()),
            volume_mounts: Some(vec![mount("tmp", "/tmp", false)]),
            resources,
            ..Container::default()
        }
    }

    /// A pod running `container` as `service_account`, with the pod
    /// security context, the pull secrets and `volumes` after `/tmp`'s.
    pub fn pod(
        &self,
        service_account: String,
        container: Container,
        volumes: Vec<Volume>,
    ) -> PodSpec {
        PodSpec {
            service_account_name: Some(service_account),
            automount_service_account_token: Some(false),
            security_context: Some(pod_security()),
            containers: vec![container],
            volumes: Some(std::iter::once(empty_dir("tmp")).chain(volumes).collect()),
            image_pull_secrets: self.pull_secrets(),
            ..PodSpec::default()
        }
    }

    /// The pod template of `component`: its labels and `pod`.
    pub fn template(&self, component: &str, pod: PodSpec) -> PodTemplateSpec {
        let mut labels = self.owner.labels(component);
        labels.extend(self.owner.selector(component));
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels),
                ..ObjectMeta::default()
            }),
            spec: Some(pod),
        }
    }
}
