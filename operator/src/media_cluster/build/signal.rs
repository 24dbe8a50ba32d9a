//! Signal: a StatefulSet (a volume per replica for the embedded database),
//! its headless and ClusterIP Services, a PodDisruptionBudget and a
//! NetworkPolicy open on the HTTP port.

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, EnvVar, ResourceRequirements, Service, ServicePort, ServiceSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use yunhui_proto::env;

use super::pod::{
    container_port, empty_dir, env_from_field, env_from_secret, env_value, label_selector, mount,
    volume_claim_template, with_health_probes,
};
use super::policy::{from_anywhere, network_policy, open_port, pdb};
use super::{
    BuildInput, RECORDER_PORT, SFU_CONTROL_PORT, SIGNAL_PORT, SIPGW_CONTROL_PORT,
    discovery_config_map_name,
};
use crate::children::Child;
use crate::error::Result;
use crate::media_cluster::validate::Database;

/// Where signal keeps its embedded database.
const DATA_DIR: &str = "/var/lib/yunhui";
/// Where signal finds the discovery document a Gateway publishes.
const DISCOVERY_DIR: &str = "/etc/yunhui/discovery";

/// Signal's children: Services, StatefulSet, PodDisruptionBudget, NetworkPolicy.
pub fn build(
    input: &BuildInput<'_>,
    replicas: i32,
    database: &Database,
    resources: &Option<ResourceRequirements>,
) -> Result<Vec<Child>> {
    let owner = input.owner;
    let name = input.name("signal");
    let headless = input.name("signal-headless");
    let ports = vec![ServicePort {
        name: Some("http".into()),
        port: SIGNAL_PORT,
        target_port: Some(IntOrString::Int(SIGNAL_PORT)),
        protocol: Some("TCP".into()),
        ..ServicePort::default()
    }];
    let service = |name: &str, spec: ServiceSpec| {
        Child::from_typed(&Service {
            metadata: owner.meta(name, "signal"),
            spec: Some(ServiceSpec {
                selector: Some(owner.selector("signal")),
                ports: Some(ports.clone()),
                ..spec
            }),
            ..Service::default()
        })
    };
    Ok(vec![
        service(
            &headless,
            ServiceSpec {
                cluster_ip: Some("None".into()),
                publish_not_ready_addresses: Some(true),
                ..ServiceSpec::default()
            },
        )?,
        service(
            &name,
            ServiceSpec {
                type_: Some("ClusterIP".into()),
                ..ServiceSpec::default()
            },
        )?,
        Child::from_typed(&stateful_set(input, replicas, database, resources))?,
        pdb(input, "signal")?,
        network_policy(
            input,
            "signal",
            vec![from_anywhere(vec![open_port("TCP", SIGNAL_PORT)])],
        )?,
    ])
}

/// What signal reads from its environment.
fn variables(input: &BuildInput<'_>, database: &Database) -> Vec<EnvVar> {
    let mut vars = vec![
        input.internal_key(),
        env_value(env::LISTEN, format!("0.0.0.0:{SIGNAL_PORT}")),
        env_value(env::DATA_DIR, DATA_DIR),
        env_value(
            env::DISCOVERY_FILE,
            format!("{DISCOVERY_DIR}/discovery.json"),
        ),
        env_value(env::SFU_URL, input.service_url("sfu", SFU_CONTROL_PORT)),
        env_value(env::PUBLIC_URL, input.signal_url()),
    ];
    if input.cluster.sip.is_some() {
        vars.push(env_value(
            env::SIPGW_URL,
            input.service_url("sip", SIPGW_CONTROL_PORT),
        ));
    }
    // Signal hands recording jobs to the pool's Service and fetches each
    // file from the pod that recorded it (its advertised URL).
    if input.cluster.recorder.is_some() {
        vars.push(env_value(
            env::RECORDER_URL,
            input.service_url("recorder", RECORDER_PORT),
        ));
    }
    // Each participant gets the TURN server of its meeting's node, with
    // credentials signed by the secret the nodes check: always, since the
    // nodes may be another MediaCluster's (a media-only one in another
    // region, whose keys are these).
    vars.push(input.turn_secret());
    if let Database::External {
        url_secret,
        url_key,
    } = database
    {
        vars.push(env_from_secret(env::DATABASE_URL, url_secret, url_key));
        // A shared database allows several replicas: each live meeting is
        // owned by one, reached by the others at its own address.
        vars.push(env_from_field(env::POD_IP, "status.podIP"));
        vars.push(env_value(
            env::REPLICA_URL,
            format!("http://$({}):{SIGNAL_PORT}", env::POD_IP),
        ));
    }
    vars
}

fn stateful_set(
    input: &BuildInput<'_>,
    replicas: i32,
    database: &Database,
    resources: &Option<ResourceRequirements>,
) -> StatefulSet {
    let owner = input.owner;
    let name = input.name("signal");
    let mut container = with_health_probes(
        input.container(
            "signal",
            variables(input, database),
            vec![container_port("http", SIGNAL_PORT, "TCP")],
            resources.clone(),
        ),
        SIGNAL_PORT,
    );
    let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
    mounts.push(mount("discovery", DISCOVERY_DIR, true));
    mounts.push(mount("data", DATA_DIR, false));
    let mut volumes = vec![Volume {
        name: "discovery".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: discovery_config_map_name(&owner.name),
            optional: Some(true),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    }];
    // The embedded database gets a volume per replica; with an external one
    // the data directory is scratch space.
    let claims = match database {
        Database::Embedded {
            storage,
            storage_class,
        } => Some(vec![volume_claim_template(
            "data",
            owner.selector("signal"),
            storage,
            storage_class,
        )]),
        Database::External { .. } => {
            volumes.push(empty_dir("data"));
            None
        }
    };
    StatefulSet {
        metadata: owner.meta(&name, "signal"),
        spec: Some(StatefulSetSpec {
            replicas: Some(input.replicas(replicas)),
            service_name: Some(input.name("signal-headless")),
            pod_management_policy: Some("Parallel".into()),
            selector: label_selector(owner.selector("signal")),
            template: input.template("signal", input.pod(name, container, volumes)),
            volume_claim_templates: claims,
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}
