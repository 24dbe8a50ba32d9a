//! The recorder pool: a StatefulSet of recorders, each with a volume of its
//! own for the files it records (kept across restarts), a Service signal
//! hands jobs to, a headless Service that gives each recorder a stable DNS
//! name (signal fetches a file from the recorder that wrote it, by that
//! name, so a replaced pod with a new IP still serves its volume's files),
//! a PodDisruptionBudget, and a NetworkPolicy open only to signal on the
//! internal API.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{EnvVar, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use yunhui_proto::env;

use super::pod::{
    container_port, env_from_field, env_value, label_selector, mount, volume_claim_template,
};
use super::policy::{from_signal, network_policy, open_port, pdb};
use super::worker::{worker_container, worker_template};
use super::{BuildInput, RECORDER_PORT};
use crate::children::Child;
use crate::error::Result;
use crate::media_cluster::validate::Recorder;

/// Where each recorder writes its files: its own volume.
const RECORDINGS_DIR: &str = "/var/lib/yunhui/recordings";
/// The claim template (and volume) of the recordings.
const RECORDINGS_VOLUME: &str = "recordings";

/// The recorder pool's children.
pub fn build(input: &BuildInput<'_>, recorder: &Recorder) -> Result<Vec<Child>> {
    Ok(vec![
        // Signal hands jobs to any recorder through this one.
        Child::from_typed(&api_service(input, "recorder", false))?,
        // Each recorder's own name, for the files it holds.
        Child::from_typed(&api_service(input, "recorder-pods", true))?,
        Child::from_typed(&stateful_set(input, recorder))?,
        pdb(input, "recorder")?,
        // Recorders only connect out for media; signal alone calls them.
        network_policy(
            input,
            "recorder",
            vec![from_signal(input, vec![open_port("TCP", RECORDER_PORT)])],
        )?,
    ])
}

/// A Service on the recorders' internal API: load-balanced, or `headless`
/// (a DNS name per recorder, starting ones included).
fn api_service(input: &BuildInput<'_>, suffix: &str, headless: bool) -> Service {
    Service {
        metadata: input.owner.meta(&input.name(suffix), "recorder"),
        spec: Some(ServiceSpec {
            type_: (!headless).then(|| "ClusterIP".into()),
            cluster_ip: headless.then(|| "None".into()),
            publish_not_ready_addresses: headless.then_some(true),
            selector: Some(input.owner.selector("recorder")),
            ports: Some(vec![ServicePort {
                name: Some("api".into()),
                port: RECORDER_PORT,
                target_port: Some(IntOrString::Int(RECORDER_PORT)),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// What the recorder reads from its environment.
fn variables(input: &BuildInput<'_>) -> Vec<EnvVar> {
    vec![
        input.internal_key(),
        env_value(env::SIGNAL_URL, input.signal_url()),
        env_value(env::RECORDER_LISTEN, format!("0.0.0.0:{RECORDER_PORT}")),
        env_value(env::RECORDINGS_DIR, RECORDINGS_DIR),
        // A file is fetched from the recorder that wrote it, by its stable
        // name: `<pod>.<headless service>.<namespace>.svc`.
        env_from_field(env::POD_NAME, "metadata.name"),
        env_value(
            env::RECORDER_ADVERTISE_URL,
            format!(
                "http://$({}).{}.{}.svc:{RECORDER_PORT}",
                env::POD_NAME,
                input.name("recorder-pods"),
                input.owner.namespace
            ),
        ),
    ]
}

fn stateful_set(input: &BuildInput<'_>, recorder: &Recorder) -> StatefulSet {
    let owner = input.owner;
    // Ready once the internal API answers.
    let mut container = worker_container(
        input,
        "recorder",
        variables(input),
        vec![container_port("api", RECORDER_PORT, "TCP")],
        recorder.resources.clone(),
        Some(RECORDER_PORT),
    );
    container
        .volume_mounts
        .get_or_insert_with(Vec::new)
        .push(mount(RECORDINGS_VOLUME, RECORDINGS_DIR, false));
    StatefulSet {
        metadata: owner.meta(&input.name("recorder"), "recorder"),
        spec: Some(StatefulSetSpec {
            replicas: Some(input.replicas(recorder.replicas)),
            // The headless Service gives each recorder its DNS name.
            service_name: Some(input.name("recorder-pods")),
            // Recorders are independent: start and stop them all at once.
            pod_management_policy: Some("Parallel".into()),
            selector: label_selector(owner.selector("recorder")),
            template: worker_template(input, "recorder", container),
            volume_claim_templates: Some(vec![volume_claim_template(
                RECORDINGS_VOLUME,
                owner.selector("recorder"),
                &recorder.storage,
                &recorder.storage_class,
            )]),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}
