//! The recorder pool: a StatefulSet of recorders, each with a volume of its
//! own for the files it records (kept across restarts), a Service signal
//! hands jobs to, a headless Service that gives each recorder a stable DNS
//! name (signal fetches a file from the recorder that wrote it, by that
//! name, so a replaced pod with a new IP still serves its volume's files),
//! a PodDisruptionBudget, and a NetworkPolicy open only to signal on the
//! internal API.
//!
//! With `objectStore` the files go to a bucket once finished, and every
//! recorder serves every file through the Service: the recorders are then a
//! Deployment (no volume of their own, the file being written spooled on
//! an `emptyDir` of `storageSize`), with the store's endpoint and the
//! credentials Secret's keys in their environment, and no headless Service.
//! A pool scaled by its jobs (`autoscale`) is that Deployment with the
//! replicas the autoscaler decided; each recorder reports its jobs to
//! signal under its pod's name and takes at most `jobsPerNode`.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, EnvVar, PodTemplateSpec, Service, ServicePort, ServiceSpec,
    Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use yunhui_crds::media_cluster::RecordingsObjectStore;
use yunhui_proto::env;

use super::pod::{
    container_port, env_from_field, env_from_secret, env_value, label_selector, mount,
    volume_claim_template,
};
use super::policy::{from_signal, network_policy, open_port, pdb};
use super::worker::{worker_container, worker_deployment, worker_template};
use super::{BuildInput, RECORDER_PORT, STOP_MARGIN_SECONDS};
use crate::children::Child;
use crate::error::Result;
use crate::media_cluster::validate::Recorder;

/// Where each recorder writes its files: its own volume.
const RECORDINGS_DIR: &str = "/var/lib/yunhui/recordings";
/// The claim template (and volume) of the recordings.
const RECORDINGS_VOLUME: &str = "recordings";

/// The recorder pool's children.
pub fn build(input: &BuildInput<'_>, recorder: &Recorder) -> Result<Vec<Child>> {
    let mut children = vec![
        // Signal hands jobs to any recorder through this one.
        Child::from_typed(&api_service(input, "recorder", false))?,
    ];
    match &recorder.object_store {
        Some(store) => children.push(worker_deployment(
            input,
            "recorder",
            replicas(input, recorder),
            stateless_template(input, recorder, store),
            None,
        )?),
        None => {
            // Each recorder's own name, for the files it holds.
            children.push(Child::from_typed(&api_service(
                input,
                "recorder-pods",
                true,
            ))?);
            children.push(Child::from_typed(&stateful_set(input, recorder))?);
        }
    }
    children.extend([
        pdb(input, "recorder")?,
        // Recorders only connect out for media and to the store; signal
        // alone calls them.
        network_policy(
            input,
            "recorder",
            vec![from_signal(input, vec![open_port("TCP", RECORDER_PORT)])],
        )?,
    ]);
    Ok(children)
}

/// The Deployment's replicas: as the autoscaler decided when the pool is
/// scaled by its jobs (`minNodes` until it has), else `replicas`.
fn replicas(input: &BuildInput<'_>, recorder: &Recorder) -> i32 {
    match &recorder.autoscale {
        Some(autoscale) => input.scaled.recorder.unwrap_or(autoscale.min_nodes),
        None => recorder.replicas,
    }
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

/// What every recorder reads from its environment.
fn variables(input: &BuildInput<'_>, recorder: &Recorder) -> Vec<EnvVar> {
    vec![
        input.internal_key(),
        env_value(env::SIGNAL_URL, input.signal_url()),
        env_value(env::RECORDER_LISTEN, format!("0.0.0.0:{RECORDER_PORT}")),
        env_value(env::RECORDINGS_DIR, RECORDINGS_DIR),
        env_value(
            env::RECORDER_DRAIN_TIMEOUT,
            recorder.drain_timeout_seconds.to_string(),
        ),
    ]
}

/// The recorder's container, its files under [`RECORDINGS_DIR`] on the
/// volume [`RECORDINGS_VOLUME`]; ready once the internal API answers (and
/// not while it drains).
fn container(input: &BuildInput<'_>, recorder: &Recorder, variables: Vec<EnvVar>) -> Container {
    let mut container = worker_container(
        input,
        "recorder",
        variables,
        vec![container_port("api", RECORDER_PORT, "TCP")],
        recorder.resources.clone(),
        Some(RECORDER_PORT),
    );
    container
        .volume_mounts
        .get_or_insert_with(Vec::new)
        .push(mount(RECORDINGS_VOLUME, RECORDINGS_DIR, false));
    container
}

/// The pod template: a stopping recorder lets its jobs go on for
/// `drainTimeoutSeconds` and then stops on its own, before the kubelet's
/// SIGKILL.
fn template(input: &BuildInput<'_>, recorder: &Recorder, container: Container) -> PodTemplateSpec {
    let mut template = worker_template(input, "recorder", container);
    if let Some(pod) = template.spec.as_mut() {
        pod.termination_grace_period_seconds = Some(
            recorder
                .drain_timeout_seconds
                .saturating_add(STOP_MARGIN_SECONDS),
        );
    }
    template
}

/// A recorder of the StatefulSet: a file is fetched from the recorder that
/// wrote it, by its stable name `<pod>.<headless service>.<namespace>.svc`.
fn stateful_template(input: &BuildInput<'_>, recorder: &Recorder) -> PodTemplateSpec {
    let mut vars = variables(input, recorder);
    vars.push(env_from_field(env::POD_NAME, "metadata.name"));
    vars.push(env_value(
        env::RECORDER_ADVERTISE_URL,
        format!(
            "http://$({}).{}.{}.svc:{RECORDER_PORT}",
            env::POD_NAME,
            input.name("recorder-pods"),
            input.owner.namespace
        ),
    ));
    template(input, recorder, container(input, recorder, vars))
}

/// A recorder of the Deployment: finished files go to `store`, and any
/// recorder serves them through the pool's Service, the address reported
/// with each file. In a pool scaled by its jobs it reports them to signal
/// under its pod's name, at its pod's address.
fn stateless_template(
    input: &BuildInput<'_>,
    recorder: &Recorder,
    store: &RecordingsObjectStore,
) -> PodTemplateSpec {
    let mut vars = variables(input, recorder);
    vars.extend([
        env_value(
            env::RECORDER_SHARED_URL,
            input.service_url("recorder", RECORDER_PORT),
        ),
        env_value(env::RECORDINGS_S3_ENDPOINT, store.endpoint.clone()),
        env_value(env::RECORDINGS_S3_BUCKET, store.bucket.clone()),
        env_from_secret(
            env::RECORDINGS_S3_ACCESS_KEY_ID,
            &store.credentials_secret,
            "accessKeyId",
        ),
        env_from_secret(
            env::RECORDINGS_S3_SECRET_ACCESS_KEY,
            &store.credentials_secret,
            "secretAccessKey",
        ),
        // Kubernetes expands `$(YUNHUI_POD_IP)` only after it is defined.
        env_from_field(env::POD_IP, "status.podIP"),
        env_value(
            env::RECORDER_ADVERTISE_URL,
            format!("http://$({}):{RECORDER_PORT}", env::POD_IP),
        ),
    ]);
    if let Some(region) = &store.region {
        vars.push(env_value(env::RECORDINGS_S3_REGION, region.clone()));
    }
    if let Some(prefix) = &store.prefix {
        vars.push(env_value(env::RECORDINGS_S3_PREFIX, prefix.clone()));
    }
    if let Some(autoscale) = &recorder.autoscale {
        vars.push(env_from_field(env::NODE_ID, "metadata.name"));
        vars.push(env_value(
            env::RECORDER_MAX_JOBS,
            autoscale.jobs_per_node.to_string(),
        ));
    }
    let mut template = template(input, recorder, container(input, recorder, vars));
    if let Some(pod) = template.spec.as_mut() {
        // The file being written, until it is stored.
        pod.volumes.get_or_insert_with(Vec::new).push(Volume {
            name: RECORDINGS_VOLUME.into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(recorder.storage.clone()),
                ..EmptyDirVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    template
}

fn stateful_set(input: &BuildInput<'_>, recorder: &Recorder) -> StatefulSet {
    let owner = input.owner;
    StatefulSet {
        metadata: owner.meta(&input.name("recorder"), "recorder"),
        spec: Some(StatefulSetSpec {
            replicas: Some(input.replicas(recorder.replicas)),
            // The headless Service gives each recorder its DNS name.
            service_name: Some(input.name("recorder-pods")),
            // Recorders are independent: start and stop them all at once.
            pod_management_policy: Some("Parallel".into()),
            selector: label_selector(owner.selector("recorder")),
            template: stateful_template(input, recorder),
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

#[cfg(test)]
mod tests {
    use super::super::PoolReplicas;
    use super::super::tests::{child, children, env_value, ids, scaled_children, valid};

    const STORE: &str = "objectStore: {endpoint: 'http://minio.storage:9000', bucket: recordings, region: cn-east-1, credentialsSecret: recordings-s3}";

    /// With an object store the recorders keep nothing of their own: a
    /// Deployment, the file being written spooled on an `emptyDir` of
    /// `storageSize`, the store and its Secret's keys in the environment,
    /// the Service's URL reported with each file, no headless Service; a
    /// stopping recorder gets its drain as grace period.
    #[test]
    fn with_an_object_store_the_recorders_are_a_deployment_that_keeps_no_files() {
        let built = children(&valid(&format!(
            "recorder: {{enabled: true, replicas: 2, storageSize: 20Gi, drainTimeoutSeconds: 600, {STORE}}}"
        )));
        let names = ids(&built);
        assert!(!names.contains(&"StatefulSet/prod-recorder".to_string()));
        assert!(!names.contains(&"Service/prod-recorder-pods".to_string()));
        assert!(names.contains(&"Service/prod-recorder".to_string()));
        let spec = &child(&built, "Deployment/prod-recorder").object.data["spec"];
        assert_eq!(spec["replicas"], 2);
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["terminationGracePeriodSeconds"], 605);
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "recordings")
            .expect("the spool volume");
        assert_eq!(volume["emptyDir"]["sizeLimit"], "20Gi");
        let env = &pod["containers"][0]["env"];
        let value = |name: &str| env_value(env, name)["value"].clone();
        assert_eq!(
            value("YUNHUI_RECORDINGS_S3_ENDPOINT"),
            "http://minio.storage:9000"
        );
        assert_eq!(value("YUNHUI_RECORDINGS_S3_BUCKET"), "recordings");
        assert_eq!(value("YUNHUI_RECORDINGS_S3_REGION"), "cn-east-1");
        assert_eq!(value("YUNHUI_RECORDER_DRAIN_TIMEOUT"), "600");
        assert_eq!(
            value("YUNHUI_RECORDER_SHARED_URL"),
            "http://prod-recorder.meet.svc:8091"
        );
        assert_eq!(
            value("YUNHUI_RECORDER_ADVERTISE_URL"),
            "http://$(YUNHUI_POD_IP):8091"
        );
        for (name, key) in [
            ("YUNHUI_RECORDINGS_S3_ACCESS_KEY_ID", "accessKeyId"),
            ("YUNHUI_RECORDINGS_S3_SECRET_ACCESS_KEY", "secretAccessKey"),
        ] {
            let secret = &env_value(env, name)["valueFrom"]["secretKeyRef"];
            assert_eq!(secret["name"], "recordings-s3", "{name}");
            assert_eq!(secret["key"], key, "{name}");
        }
        assert!(
            env_value(env, "YUNHUI_NODE_ID").is_null(),
            "a pool not scaled reports to no table"
        );
    }

    /// A pool scaled by its jobs starts at `minNodes` until the autoscaler
    /// decides; each recorder reports under its pod's name and takes at
    /// most `jobsPerNode`.
    #[test]
    fn a_recorder_pool_scaled_by_jobs_reports_them_and_takes_its_share() {
        let cluster = valid(&format!(
            "recorder: {{enabled: true, replicas: 5, {STORE}, autoscale: {{minNodes: 2, maxNodes: 6, jobsPerNode: 3}}}}"
        ));
        let deployment = |recorder: Option<i32>| {
            let scaled = PoolReplicas {
                recorder,
                ..PoolReplicas::default()
            };
            child(
                &scaled_children(&cluster, scaled),
                "Deployment/prod-recorder",
            )
            .object
            .data["spec"]
                .clone()
        };
        assert_eq!(deployment(None)["replicas"], 2, "minNodes, not replicas");
        let decided = deployment(Some(4));
        assert_eq!(decided["replicas"], 4);
        let env = &decided["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env_value(env, "YUNHUI_RECORDER_MAX_JOBS")["value"], "3");
        assert_eq!(
            env_value(env, "YUNHUI_NODE_ID")["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.name"
        );
    }
}
