//! Integration tests of the operator against a real control plane
//! (kube-apiserver, etcd, controller manager, scheduler, kwok) from
//! `tests/kube/`. One control plane and one in-process operator (running as
//! the `yunhui-operator` user, so its requests are told apart in the audit
//! log) are shared by every test of this binary; each test has its own
//! namespace.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Node, PersistentVolume, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use yunhui_crds::{Gateway, MediaCluster, ResourceStatus, Tenant};
use yunhui_operator::telemetry::{Health, Metrics};
use yunhui_operator::{OperatorConfig, leader};

use support::stand_ins::{StandIns, generated_internal_key};
use support::{
    AbortOnDrop, ChildGuard, ControlPlane, OPERATOR_NAMESPACE, Signal, create, example, namespace,
    render_chart, wait,
};

struct Shared {
    control_plane: ControlPlane,
    operator_metrics: Metrics,
}

/// Started once: when the start fails, every test reports that failure
/// instead of starting again over the first attempt's logs.
static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

/// The shared control plane and operator, started on first use.
fn shared() -> &'static Shared {
    let started = SHARED.get_or_init(|| {
        std::panic::catch_unwind(start_shared).map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    });
    match started {
        Ok(shared) => shared,
        Err(e) => panic!("the shared control plane and operator did not start: {e}"),
    }
}

/// Starts the control plane and, on a runtime of its own (tests each have
/// theirs), the in-process operator under test.
fn start_shared() -> Shared {
    let metrics = Metrics::new().expect("metrics");
    let (tx, rx) = std::sync::mpsc::channel();
    let thread_metrics = metrics.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let started =
                std::panic::AssertUnwindSafe(ControlPlane::start("yunhui-operator-it", 2));
            let control_plane = match futures_util::FutureExt::catch_unwind(started).await {
                Ok(cp) => cp,
                Err(e) => {
                    let message = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    let _ = tx.send(Err(message));
                    return;
                }
            };
            let operator = control_plane.operator_client().await;
            let config = OperatorConfig {
                identity: "operator-under-test".into(),
                lease_namespace: OPERATOR_NAMESPACE.into(),
                lease_duration: Duration::from_secs(6),
                // Resources labelled with a shard belong to operators a test starts itself.
                selector: Some("!yunhui.dev/shard".into()),
                ..OperatorConfig::default()
            };
            let run = yunhui_operator::run(
                operator,
                config,
                thread_metrics,
                Arc::new(Health::default()),
            );
            tx.send(Ok(control_plane)).expect("report start");
            if let Err(e) = run.await {
                eprintln!("operator stopped: {e}");
            }
        });
    });
    let control_plane = rx
        .recv_timeout(Duration::from_secs(300))
        .expect("the control plane starts within 5 minutes")
        .unwrap_or_else(|e| panic!("{e}"));
    Shared {
        control_plane,
        operator_metrics: metrics,
    }
}

async fn admin() -> Client {
    shared().control_plane.admin().await
}

/// A hostPath PV reserved (claimRef) for the embedded database's PVC of
/// MediaCluster "prod" in `ns`, so parallel tests do not take each other's.
async fn volume(client: &Client, name: &str, ns: &str) {
    let pv: PersistentVolume = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "",
                 "claimRef": {"namespace": ns, "name": "data-prod-signal-0"},
                 "hostPath": {"path": format!("/tmp/{name}")}}
    }))
    .expect("pv");
    Api::<PersistentVolume>::all(client.clone())
        .create(&PostParams::default(), &pv)
        .await
        .expect("pv creates");
}

async fn wait_ready_mc(client: &Client, ns: &str, name: &str, secs: u64) -> MediaCluster {
    let api: Api<MediaCluster> = Api::namespaced(client.clone(), ns);
    let dump = {
        let (api, client, ns, name) = (
            api.clone(),
            client.clone(),
            ns.to_string(),
            name.to_string(),
        );
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs.saturating_sub(2))).await;
            let mc = api.get(&name).await.ok();
            eprintln!("DEBUG {ns}/{name} status: {:?}", mc.and_then(|m| m.status));
            let sts: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
            eprintln!(
                "DEBUG sts: {:?}",
                sts.get_opt(&format!("{name}-signal"))
                    .await
                    .ok()
                    .flatten()
                    .and_then(|s| s.status)
            );
            let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), &ns);
            for p in pods
                .list(&ListParams::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default()
            {
                eprintln!(
                    "DEBUG pod {} {:?}",
                    p.name_any(),
                    p.status.map(|s| (s.phase, s.conditions))
                );
            }
            let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
                Api::namespaced(client.clone(), &ns);
            for p in pvcs
                .list(&ListParams::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default()
            {
                eprintln!("DEBUG pvc {} {:?}", p.name_any(), p.status);
            }
        })
    };
    let _abort = AbortOnDrop(dump);
    wait(
        "MediaCluster Ready with current observedGeneration",
        secs,
        || {
            let api = api.clone();
            let name = name.to_string();
            async move {
                let mc = api.get(&name).await.ok()?;
                let s = mc.status.as_ref()?;
                let ready = s.condition("Ready")?;
                (s.is_ready()
                    && ready.observed_generation == mc.metadata.generation
                    && s.observed_generation == mc.metadata.generation)
                    .then_some(mc.clone())
            }
        },
    )
    .await
}

/// Names of the objects carrying `uid` as owner, by kind.
async fn children_of(client: &Client, ns: &str, uid: &str) -> BTreeMap<String, Vec<String>> {
    let lp = ListParams::default().labels(&format!("yunhui.dev/owner-uid={uid}"));
    let mut out = BTreeMap::new();
    macro_rules! kind {
        ($t:ty) => {{
            let api: Api<$t> = Api::namespaced(client.clone(), ns);
            let items = api.list(&lp).await.expect("list");
            for o in items {
                assert!(
                    o.owner_references()
                        .iter()
                        .any(|r| r.uid == uid && r.controller == Some(true)),
                    "{} {} lacks the owner reference",
                    <$t as k8s_openapi::Resource>::KIND,
                    o.name_any()
                );
                out.entry(<$t as k8s_openapi::Resource>::KIND.to_string())
                    .or_insert_with(Vec::new)
                    .push(o.name_any());
            }
        }};
    }
    kind!(Secret);
    kind!(ConfigMap);
    kind!(ServiceAccount);
    kind!(Service);
    kind!(StatefulSet);
    kind!(DaemonSet);
    kind!(Deployment);
    kind!(PodDisruptionBudget);
    kind!(NetworkPolicy);
    kind!(Ingress);
    out
}

/// Write requests the operator made in `ns` since byte `offset` of the audit log.
fn operator_writes(offset: u64, ns: &str) -> Vec<String> {
    shared()
        .control_plane
        .operator_requests(offset)
        .into_iter()
        .filter(|e| {
            matches!(
                e["verb"].as_str(),
                Some("create" | "update" | "patch" | "delete" | "deletecollection")
            )
        })
        .filter(|e| e["objectRef"]["namespace"] == ns)
        .map(|e| {
            format!(
                "{} {}/{}{}",
                e["verb"].as_str().unwrap_or(""),
                e["objectRef"]["resource"].as_str().unwrap_or(""),
                e["objectRef"]["name"].as_str().unwrap_or(""),
                e["objectRef"]["subresource"]
                    .as_str()
                    .map(|s| format!("/{s}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

fn audit_offset() -> u64 {
    shared().control_plane.audit_offset()
}

#[tokio::test(flavor = "multi_thread")]
async fn examples_become_ready_with_owned_children() {
    let c = admin().await;
    let ns = "it-examples";
    namespace(&c, ns).await;
    volume(&c, "pv-examples", ns).await;
    let mc = create(&c, ns, &example::<MediaCluster>("media-cluster.yaml")).await;
    create(&c, ns, &example::<Tenant>("tenant.yaml")).await;
    let gw = create(&c, ns, &example::<Gateway>("gateway.yaml")).await;
    let mc_uid = mc.uid().expect("uid");
    let ready = wait_ready_mc(&c, ns, "prod", 90).await;
    assert_eq!(
        ready.status.as_ref().expect("status").sfu_ready_nodes,
        2,
        "one SFU pod per amd64 kwok node"
    );
    let kids = children_of(&c, ns, &mc_uid).await;
    let expected: BTreeMap<String, Vec<String>> = [
        ("ConfigMap", vec!["prod-config"]),
        ("DaemonSet", vec!["prod-sfu"]),
        ("NetworkPolicy", vec!["prod-sfu", "prod-signal"]),
        ("PodDisruptionBudget", vec!["prod-sfu", "prod-signal"]),
        ("Secret", vec!["prod-keys"]),
        (
            "Service",
            vec!["prod-sfu", "prod-signal", "prod-signal-headless"],
        ),
        ("ServiceAccount", vec!["prod-sfu", "prod-signal"]),
        ("StatefulSet", vec!["prod-signal"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(kids, expected);
    // The Gateway's children: generated CA + certificate, Ingress, discovery document.
    let gw_uid = gw.uid().expect("uid");
    let gw_kids = wait("Gateway children", 30, || {
        let c = c.clone();
        let uid = gw_uid.clone();
        async move {
            let k = children_of(&c, ns, &uid).await;
            (k.values().map(Vec::len).sum::<usize>() == 4).then_some(k)
        }
    })
    .await;
    assert_eq!(gw_kids["Secret"], vec!["public-ca", "public-tls"]);
    assert_eq!(gw_kids["Ingress"], vec!["public"]);
    assert_eq!(gw_kids["ConfigMap"], vec!["prod-discovery"]);
    let gateways: Api<Gateway> = Api::namespaced(c.clone(), ns);
    wait("Gateway Ready", 30, || {
        let g = gateways.clone();
        async move { g.get("public").await.ok()?.status?.is_ready().then_some(()) }
    })
    .await;
    // The Tenant has its cleanup finalizer (signal is not reachable here).
    let tenants: Api<Tenant> = Api::namespaced(c.clone(), ns);
    let t = wait("Tenant finalizer", 30, || {
        let t = tenants.clone();
        async move {
            t.get("acme")
                .await
                .ok()
                .filter(|t| !t.finalizers().is_empty())
        }
    })
    .await;
    assert_eq!(
        t.finalizers(),
        vec!["yunhui.dev/tenant-cleanup".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn spec_change_changes_only_children_and_a_noop_reconcile_writes_nothing() {
    let c = admin().await;
    let ns = "it-change";
    namespace(&c, ns).await;
    volume(&c, "pv-change", ns).await;
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.spec.sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
    // Other tests' host-network SFU pods hold the default ports on the shared nodes.
    mc.spec.sfu.udp_port = 17882;
    mc.spec.sfu.tcp_port = 17881;
    create(&c, ns, &mc).await;
    wait_ready_mc(&c, ns, "prod", 90).await;
    let secrets: Api<Secret> = Api::namespaced(c.clone(), ns);
    let keys_before = secrets.get("prod-keys").await.expect("keys").data;

    let offset = audit_offset();
    let mcs: Api<MediaCluster> = Api::namespaced(c.clone(), ns);
    mcs.patch(
        "prod",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"version": "0.2.0", "sfu": {"minNodes": 2}}})),
    )
    .await
    .expect("spec change");
    let after = wait_ready_mc(&c, ns, "prod", 90).await;
    assert_eq!(after.metadata.generation, Some(2));
    let deployments: Api<Deployment> = Api::namespaced(c.clone(), ns);
    let sfu = deployments.get("prod-sfu").await.expect("sfu");
    let spec = sfu.spec.expect("spec");
    assert_eq!(spec.replicas, Some(2));
    let image = spec.template.spec.expect("pod").containers[0]
        .image
        .clone()
        .unwrap_or_default();
    assert!(image.ends_with("/sfu:0.2.0"), "{image}");
    let writes = operator_writes(offset, ns);
    let allowed = |w: &str| {
        [
            "deployments/prod-sfu",
            "statefulsets/prod-signal",
            "configmaps/prod-config",
            "mediaclusters/prod/status",
            "events/",
        ]
        .iter()
        .any(|a| w.contains(a))
    };
    assert!(
        writes.iter().all(|w| allowed(w)),
        "only the changed children are written: {writes:?}"
    );
    assert!(
        writes.iter().any(|w| w.contains("deployments/prod-sfu")),
        "{writes:?}"
    );
    assert_eq!(
        secrets.get("prod-keys").await.expect("keys").data,
        keys_before,
        "generated keys survive"
    );

    // A reconcile with nothing to change: trigger one with an annotation.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let offset = audit_offset();
    let before = shared().operator_metrics.reconciles_of("MediaCluster");
    mcs.patch(
        "prod",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"test/poke": "1"}}})),
    )
    .await
    .expect("annotate");
    wait("a reconcile after the annotation", 30, || async {
        (shared().operator_metrics.reconciles_of("MediaCluster") > before).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        operator_writes(offset, ns),
        Vec::<String>::new(),
        "a no-op reconcile writes nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cel_rules_reject_invalid_specs() {
    let c = admin().await;
    let ns = "it-cel";
    namespace(&c, ns).await;
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "tenants",
            json!({"kind": "Tenant", "metadata": {"name": "both"}, "spec": {"displayName": "A", "mediaCluster": "m", "licence": {"concurrentPorts": 5, "cloudRooms": {"count": 1, "capacity": 10}}}}),
            "spec.licence must set exactly one of concurrentPorts or cloudRooms",
        ),
        (
            "tenants",
            json!({"kind": "Tenant", "metadata": {"name": "none"}, "spec": {"displayName": "A", "mediaCluster": "m", "licence": {}}}),
            "spec.licence must set exactly one of concurrentPorts or cloudRooms",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "minmax"}, "spec": {"sfu": {"minNodes": 3, "maxNodes": 2}}}),
            "spec.sfu.minNodes must not exceed spec.sfu.maxNodes",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "sipminmax"}, "spec": {"sip": {"enabled": true, "autoscale": {"minNodes": 3, "maxNodes": 2}}}}),
            "spec.sip.autoscale.minNodes must not exceed spec.sip.autoscale.maxNodes",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "sipcalls"}, "spec": {"sip": {"enabled": true, "autoscale": {"maxNodes": 2, "callsPerNode": 0}}}}),
            "spec.sip.autoscale.callsPerNode",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "recnostore"}, "spec": {"recorder": {"enabled": true, "autoscale": {"maxNodes": 3}}}}),
            "spec.recorder.autoscale needs spec.recorder.objectStore",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "recminmax"}, "spec": {"recorder": {"enabled": true, "objectStore": {"endpoint": "http://minio:9000", "bucket": "rec", "credentialsSecret": "s3"}, "autoscale": {"minNodes": 3, "maxNodes": 2}}}}),
            "spec.recorder.autoscale.minNodes must not exceed spec.recorder.autoscale.maxNodes",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "recendpoint"}, "spec": {"recorder": {"enabled": true, "objectStore": {"endpoint": "minio:9000", "bucket": "rec", "credentialsSecret": "s3"}}}}),
            "spec.recorder.objectStore.endpoint must be an http:// or https:// URL",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "sqlite"}, "spec": {"signal": {"replicas": 2}}}),
            "embedded SQLite supports exactly one signal replica",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "port"}, "spec": {"sfu": {"udpPort": 70000}}}),
            "spec.sfu.udpPort and spec.sfu.tcpPort must be port numbers between 1 and 65535",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "control"}, "spec": {"sfu": {"tcpPort": 7880}}}),
            "spec.sfu.controlPort must be a port number between 1 and 65535 other than spec.sfu.tcpPort",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "slots"}, "spec": {"sfu": {"networking": "HostPort", "slotsPerNode": 2}}}),
            "spec.sfu.slotsPerNode above 1 needs spec.sfu.networking HostNetworkSlots",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "sip"}, "spec": {"sip": {"port": 0}}}),
            "spec.sip.port must be a port number between 1 and 65535",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "rtp"}, "spec": {"sip": {"rtpPortMin": 30000, "rtpPortMax": 20000}}}),
            "spec.sip.rtpPortMin..rtpPortMax must be a non-empty range of port numbers",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "fixed"}, "spec": {"sfu": {"advertise": "Fixed"}}}),
            "spec.sfu.advertisedAddress is required when spec.sfu.advertise is Fixed",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "turn-tls"}, "spec": {"sfu": {"turn": {"tlsPort": 443}}}}),
            "spec.sfu.turn.tlsPort and spec.sfu.turn.tlsSecretName go together",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "turn-port"}, "spec": {"sfu": {"udpPort": 3478, "turn": {}}}}),
            "spec.sfu.turn's ports must differ from spec.sfu.udpPort, tcpPort and controlPort",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "turn-slots"}, "spec": {"sfu": {"networking": "HostNetworkSlots", "slotsPerNode": 2, "turn": {}}}}),
            "spec.sfu.turn needs spec.sfu.slotsPerNode 1",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "turn-host"}, "spec": {"sfu": {"turn": {"host": "turn.example.com/x"}}}}),
            "spec.sfu.turn.host must be a host name",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "sip-tls"}, "spec": {"sip": {"port": 5061, "tls": {"secretName": "c"}}}}),
            "spec.sip.tls.port must be a port number between 1 and 65535 other than spec.sip.port",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "sip-address"}, "spec": {"sip": {"advertisedAddress": "sip.example.com"}}}),
            "spec.sip.advertisedAddress must be an IP address",
        ),
        (
            "gateways",
            json!({"kind": "Gateway", "metadata": {"name": "tls"}, "spec": {"mediaCluster": "m", "hosts": ["h"], "tls": {}}}),
            "spec.tls must set exactly one of secretName or generate",
        ),
        (
            "gateways",
            json!({"kind": "Gateway", "metadata": {"name": "np"}, "spec": {"mediaCluster": "m", "hosts": ["h"], "tls": {"secretName": "s"}, "exposure": {"mode": "NodePort", "nodePort": 80}}}),
            "spec.exposure.nodePort must be in the NodePort range 30000-32767",
        ),
        (
            "gateways",
            json!({"kind": "Gateway", "metadata": {"name": "ic"}, "spec": {"mediaCluster": "m", "hosts": ["h"], "tls": {"secretName": "s"}, "exposure": {"mode": "NodePort", "ingressClassName": "nginx"}}}),
            "spec.exposure.ingressClassName is only valid with mode Ingress",
        ),
        // Malformed values, refused by the API server before the operator sees them.
        (
            "tenants",
            json!({"kind": "Tenant", "metadata": {"name": "domain"}, "spec": {"displayName": "A", "mediaCluster": "m", "licence": {"concurrentPorts": 5}, "domains": ["example.com", "not a domain"]}}),
            "spec.domains must be domain names in lower case",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "registry"}, "spec": {"images": {"registry": "https://registry.local:5000"}}}),
            "spec.images.registry must be a registry host[:port][/path] without a scheme",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "version"}, "spec": {"version": "1.0 final"}}),
            "spec.version must be an image tag",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "size"}, "spec": {"database": {"embedded": {"storageSize": "lots"}}}}),
            "spec.database.embedded.storageSize must be a positive quantity",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "window"}, "spec": {"sfu": {"scaleDownWindowSeconds": -1}}}),
            "spec.sfu.scaleDownWindowSeconds in body should be greater than or equal to 0",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "address"}, "spec": {"sfu": {"advertise": "Fixed", "advertisedAddress": "media.example.com"}}}),
            "spec.sfu.advertisedAddress must be an IP address",
        ),
        (
            "gateways",
            json!({"kind": "Gateway", "metadata": {"name": "hosts"}, "spec": {"mediaCluster": "m", "hosts": ["meet.example.com", "Meet_Example"], "tls": {"secretName": "s"}}}),
            "spec.hosts must be host names in lower case or IPv4 addresses",
        ),
    ];
    for (plural, mut body, message) in cases {
        body["apiVersion"] = json!("yunhui.dev/v1alpha1");
        let kind = body["kind"].as_str().unwrap_or_default().to_string();
        let ar = kube::api::ApiResource {
            group: "yunhui.dev".into(),
            version: "v1alpha1".into(),
            api_version: "yunhui.dev/v1alpha1".into(),
            kind,
            plural: plural.into(),
        };
        let api: Api<DynamicObject> = Api::namespaced_with(c.clone(), ns, &ar);
        let obj: DynamicObject = serde_json::from_value(body.clone()).expect("object");
        match api.create(&PostParams::default(), &obj).await {
            Ok(_) => panic!("accepted an invalid spec: {body}"),
            Err(kube::Error::Api(e)) => {
                assert_eq!(e.code, 422, "{e:?}");
                assert!(
                    e.message.contains(message),
                    "expected {message:?} in {:?}",
                    e.message
                );
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    // Whole TURN and SIP exposure settings pass every rule (stopped: no pods).
    let mut turn = example::<MediaCluster>("media-cluster.yaml");
    turn.metadata.name = Some("turn-ok".into());
    turn.spec.stopped = true;
    turn.spec.sfu.turn = Some(serde_json::from_value(json!({
        "port": 3478, "tlsPort": 443, "tlsSecretName": "turn-cert", "host": "{node}.turn.example.com"
    })).expect("a TURN setting"));
    turn.spec.sip = serde_json::from_value(json!({
        "enabled": true, "hostNetwork": true, "advertisedAddress": "192.0.2.20",
        "tls": {"port": 5061, "secretName": "sip-cert"}
    }))
    .expect("a SIP setting");
    let mcs: Api<MediaCluster> = Api::namespaced(c.clone(), ns);
    mcs.create(&PostParams::default(), &turn)
        .await
        .expect("valid TURN and SIP settings are accepted");
    mcs.delete("turn-ok", &DeleteParams::default())
        .await
        .expect("delete");
    // `kubectl explain` shows each kind's own description.
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(c.clone());
    for name in [
        "tenants.yunhui.dev",
        "mediaclusters.yunhui.dev",
        "gateways.yunhui.dev",
    ] {
        let crd = crds.get(name).await.expect("CRD");
        let description = crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .and_then(|s| s.description.clone())
            .unwrap_or_default();
        assert!(
            description.len() > 40 && !description.contains("Auto-generated"),
            "{name}: {description:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_only_validation_sets_ready_false_with_event_and_no_children() {
    let c = admin().await;
    let ns = "it-invalid";
    namespace(&c, ns).await;
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    // A contradiction the schema cannot see (the API server refuses malformed
    // values itself; see `cel_rules_reject_invalid_specs`).
    mc.spec.sfu.architecture = Some(yunhui_crds::media_cluster::Architecture::Arm64);
    mc.spec
        .sfu
        .node_selector
        .insert("kubernetes.io/arch".into(), "amd64".into());
    // The example's host-network ports belong to `examples_become_ready_with_owned_children`.
    mc.spec.sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
    mc.spec.sfu.udp_port = 57882;
    mc.spec.sfu.tcp_port = 57881;
    let created = create(&c, ns, &mc).await;
    let api: Api<MediaCluster> = Api::namespaced(c.clone(), ns);
    let got = wait("Ready=False InvalidSpec", 30, || {
        let api = api.clone();
        async move {
            let m = api.get("prod").await.ok()?;
            let r = m.status.as_ref()?.condition("Ready")?.clone();
            (r.reason == "InvalidSpec" && r.observed_generation == m.metadata.generation)
                .then_some(r)
        }
    })
    .await;
    assert!(
        got.message.contains("spec.sfu.nodeSelector"),
        "{}",
        got.message
    );
    let events: Api<Event> = Api::namespaced(c.clone(), ns);
    wait("InvalidSpec event", 30, || {
        let events = events.clone();
        async move {
            let list = events.list(&ListParams::default()).await.ok()?;
            list.items
                .into_iter()
                .find(|e| e.reason.as_deref() == Some("InvalidSpec"))
                .map(|_| ())
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let kids = children_of(&c, ns, &created.uid().expect("uid")).await;
    assert!(kids.is_empty(), "no children for an invalid spec: {kids:?}");
    // Fixing the spec brings the children.
    api.patch(
        "prod",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"sfu": {"nodeSelector": {"kubernetes.io/arch": null}}}})),
    )
    .await
    .expect("fix");
    wait("children after the fix", 30, || {
        let c = c.clone();
        let uid = created.uid().expect("uid");
        async move { (!children_of(&c, ns, &uid).await.is_empty()).then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_resources_leaves_nothing_behind() {
    let c = admin().await;
    let ns = "it-delete";
    namespace(&c, ns).await;
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    // The example's host-network ports belong to `examples_become_ready_with_owned_children`.
    mc.spec.sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
    mc.spec.sfu.udp_port = 58882;
    mc.spec.sfu.tcp_port = 58881;
    let mc = create(&c, ns, &mc).await;
    let t = create(&c, ns, &example::<Tenant>("tenant.yaml")).await;
    let gw = create(&c, ns, &example::<Gateway>("gateway.yaml")).await;
    let uids = [
        mc.uid().expect("uid"),
        gw.uid().expect("uid"),
        t.uid().expect("uid"),
    ];
    wait("children exist", 60, || {
        let c = c.clone();
        let (a, b) = (uids[0].clone(), uids[1].clone());
        async move {
            (!children_of(&c, ns, &a).await.is_empty() && !children_of(&c, ns, &b).await.is_empty())
                .then_some(())
        }
    })
    .await;
    let tenants: Api<Tenant> = Api::namespaced(c.clone(), ns);
    wait("tenant finalizer", 30, || {
        let t = tenants.clone();
        async move {
            t.get("acme")
                .await
                .ok()
                .filter(|t| !t.finalizers().is_empty())
                .map(|_| ())
        }
    })
    .await;
    let dp = DeleteParams::foreground();
    tenants.delete("acme", &dp).await.expect("delete tenant");
    Api::<Gateway>::namespaced(c.clone(), ns)
        .delete("public", &dp)
        .await
        .expect("delete gateway");
    Api::<MediaCluster>::namespaced(c.clone(), ns)
        .delete("prod", &dp)
        .await
        .expect("delete cluster");
    wait("everything gone", 60, || {
        let c = c.clone();
        let uids = uids.clone();
        async move {
            let gone = Api::<Tenant>::namespaced(c.clone(), ns)
                .get_opt("acme")
                .await
                .ok()?
                .is_none()
                && Api::<Gateway>::namespaced(c.clone(), ns)
                    .get_opt("public")
                    .await
                    .ok()?
                    .is_none()
                && Api::<MediaCluster>::namespaced(c.clone(), ns)
                    .get_opt("prod")
                    .await
                    .ok()?
                    .is_none();
            let mut left = 0;
            for uid in &uids {
                left += children_of(&c, ns, uid)
                    .await
                    .values()
                    .map(Vec::len)
                    .sum::<usize>();
            }
            (gone && left == 0).then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_elect_exactly_one_leader_and_fail_over() {
    let c = admin().await;
    let start = |identity: &str| {
        let metrics = Metrics::new().expect("metrics");
        let config = OperatorConfig {
            identity: identity.into(),
            lease_namespace: "yunhui-system".into(),
            lease_name: "election-test".into(),
            lease_duration: Duration::from_secs(3),
            paused: true,
            ..OperatorConfig::default()
        };
        let task = tokio::spawn(yunhui_operator::run(
            c.clone(),
            config,
            metrics.clone(),
            Arc::new(Health::default()),
        ));
        (metrics, task)
    };
    let (m1, t1) = start("replica-1");
    let (m2, t2) = start("replica-2");
    wait("a leader", 20, || {
        let (a, b) = (m1.leader.get(), m2.leader.get());
        async move { (a + b == 1).then_some(()) }
    })
    .await;
    tokio::time::sleep(
        leader::retry_interval(&OperatorConfig {
            lease_duration: Duration::from_secs(3),
            ..Default::default()
        }) * 3,
    )
    .await;
    assert_eq!(
        m1.leader.get() + m2.leader.get(),
        1,
        "exactly one replica leads"
    );
    let (leader_task, standby) = if m1.leader.get() == 1 {
        (t1, &m2)
    } else {
        (t2, &m1)
    };
    leader_task.abort();
    wait("fail-over to the standby", 20, || {
        let v = standby.leader.get();
        async move { (v == 1).then_some(()) }
    })
    .await;
}

/// A fresh namespace `ns` with the example MediaCluster "prod" whose signal
/// is a real signal process on loopback (started with the key the operator
/// generated), its SFU on host ports `udp_port` and `udp_port - 1` (unique per
/// test: host ports are shared by every namespace). Returns the process,
/// signal's URL and the internal key.
async fn media_cluster_with_signal(
    c: &Client,
    ns: &str,
    udp_port: i32,
) -> (Signal, String, String) {
    namespace(c, ns).await;
    let port = support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.spec.signal.external_url = Some(url.clone());
    mc.spec.sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
    mc.spec.sfu.udp_port = udp_port;
    mc.spec.sfu.tcp_port = udp_port - 1;
    create(c, ns, &mc).await;
    let secrets: Api<Secret> = Api::namespaced(c.clone(), ns);
    let key = wait("generated keys", 30, || {
        let s = secrets.clone();
        async move {
            let secret = s.get_opt("prod-keys").await.ok()??;
            String::from_utf8(secret.data?.get("internal-key")?.0.clone()).ok()
        }
    })
    .await;
    (Signal::start(port, &key).await, url, key)
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_is_synchronised_into_a_real_signal() {
    let c = admin().await;
    let ns = "it-tenant";
    let (_signal, signal, key) = media_cluster_with_signal(&c, ns, 27882).await;
    let http = reqwest::Client::new();

    let tenants: Api<Tenant> = Api::namespaced(c.clone(), ns);
    create(&c, ns, &example::<Tenant>("tenant.yaml")).await;
    let url = format!("{signal}/internal/v1/tenants/{ns}.acme");
    let synced = |generation: i64| {
        let t = tenants.clone();
        move || {
            let t = t.clone();
            async move {
                let tenant = t.get("acme").await.ok()?;
                let s = tenant.status?;
                (s.synced && s.observed_generation == Some(generation)).then_some(())
            }
        }
    };
    wait("tenant synced", 30, synced(1)).await;
    let stored: serde_json::Value = http
        .get(&url)
        .bearer_auth(&key)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(stored["displayName"], "Acme Ltd");
    assert_eq!(stored["licence"], json!({"concurrentPorts": 50}));
    let wrong = http
        .get(&url)
        .bearer_auth("not-the-key")
        .send()
        .await
        .expect("get");
    assert_eq!(wrong.status(), reqwest::StatusCode::UNAUTHORIZED);

    tenants
        .patch("acme", &PatchParams::default(), &Patch::Merge(json!({"spec": {"licence": {"concurrentPorts": null, "cloudRooms": {"count": 2, "capacity": 100}}}})))
        .await
        .expect("licence change");
    wait("tenant re-synced", 30, synced(2)).await;
    let stored: serde_json::Value = http
        .get(&url)
        .bearer_auth(&key)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        stored["licence"],
        json!({"cloudRooms": {"count": 2, "capacity": 100}})
    );

    tenants
        .delete("acme", &DeleteParams::default())
        .await
        .expect("delete");
    wait("tenant gone", 30, || {
        let t = tenants.clone();
        async move { t.get_opt("acme").await.ok()?.is_none().then_some(()) }
    })
    .await;
    let gone = http.get(&url).bearer_auth(&key).send().await.expect("get");
    assert_eq!(
        gone.status(),
        reqwest::StatusCode::NOT_FOUND,
        "the finalizer removed the tenant from signal"
    );
}

/// `spec.firstAdmin`: the operator creates the tenant's first administrator
/// in a real signal from a Secret. Without a password in the Secret signal
/// generates one and the operator writes it into the Secret; with one, that
/// password is used. Either way the administrator signs in. A missing Secret
/// is reported on the Tenant and picked up once it exists.
#[tokio::test(flavor = "multi_thread")]
async fn the_first_administrator_is_created_from_a_secret() {
    let c = admin().await;
    let ns = "it-first-admin";
    let (_signal, signal, _key) = media_cluster_with_signal(&c, ns, 27886).await;
    let secrets: Api<Secret> = Api::namespaced(c.clone(), ns);
    let http = reqwest::Client::new();
    let sign_in = |login: String, password: String| {
        let (http, signal) = (http.clone(), signal.clone());
        async move {
            let response = http
                .post(format!("{signal}/api/v1/sessions"))
                .json(&json!({"login": login, "password": password}))
                .send()
                .await
                .expect("sign in");
            let status = response.status();
            let body: serde_json::Value = response.json().await.expect("json");
            assert_eq!(status, reqwest::StatusCode::OK, "{body}");
            body
        }
    };
    let secret = |name: &str, data: serde_json::Value| -> Secret {
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))
            .expect("secret")
    };
    let tenants: Api<Tenant> = Api::namespaced(c.clone(), ns);
    let tenant_with_admin = |name: &str, secret_name: &str| {
        let mut t = example::<Tenant>("tenant.yaml");
        t.metadata.name = Some(name.into());
        t.spec.domains = vec![format!("{name}.example")];
        t.spec.first_admin = Some(yunhui_crds::tenant::FirstAdmin {
            secret_name: secret_name.into(),
        });
        t
    };
    let admin_created = |name: &'static str| {
        let t = tenants.clone();
        move || {
            let t = t.clone();
            async move { t.get(name).await.ok()?.status?.first_admin }
        }
    };

    // No password in the Secret: signal makes one, the operator stores it.
    secrets
        .create(
            &PostParams::default(),
            &secret(
                "acme-admin",
                json!({"email": "it@acme.example", "displayName": "IT 管理员"}),
            ),
        )
        .await
        .expect("secret");
    create(&c, ns, &tenant_with_admin("acme", "acme-admin")).await;
    let done = wait("acme's first administrator", 60, admin_created("acme")).await;
    assert_eq!(done.email, "it@acme.example");
    let stored = secrets.get("acme-admin").await.expect("secret");
    let password = String::from_utf8(stored.data.unwrap()["password"].0.clone()).expect("utf-8");
    assert!(password.len() >= 12, "a generated password: {password:?}");
    let session = sign_in("it@acme.example".into(), password).await;
    assert_eq!(session["account"]["display_name"], "IT 管理员");
    assert_eq!(session["account"]["tenant_id"], format!("{ns}.acme"));
    assert_eq!(session["account"]["role"], "tenant_admin");

    // A Secret that does not exist yet: reported, then picked up.
    create(&c, ns, &tenant_with_admin("globex", "globex-admin")).await;
    let reason = wait("the missing Secret reported", 30, || {
        let t = tenants.clone();
        async move {
            let tenant = t.get("globex").await.ok()?;
            let ready = tenant
                .status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == "Ready")?;
            (ready.status == yunhui_crds::ConditionStatus::False)
                .then_some((ready.reason, ready.message))
        }
    })
    .await;
    assert_eq!(reason.0, "FirstAdminSecretMissing", "{reason:?}");
    assert!(reason.1.contains("globex-admin"), "{reason:?}");
    secrets
        .create(
            &PostParams::default(),
            &secret(
                "globex-admin",
                json!({"email": "boss@globex.example", "password": "globex-password-1"}),
            ),
        )
        .await
        .expect("secret");
    wait("globex's first administrator", 60, admin_created("globex")).await;
    let session = sign_in("boss@globex.example".into(), "globex-password-1".into()).await;
    assert_eq!(session["account"]["display_name"], "Administrator");
    let stored = secrets.get("globex-admin").await.expect("secret");
    assert_eq!(
        String::from_utf8(stored.data.unwrap()["password"].0.clone()).unwrap(),
        "globex-password-1",
        "a given password is left as it is"
    );
}

/// `advertise: NodeExternalIp`: the operator publishes the ExternalIP of
/// each node of the SFU pool in a ConfigMap the pods read their own entry
/// from, and follows a node's address when it changes (Nodes are watched).
#[tokio::test(flavor = "multi_thread")]
async fn external_node_addresses_are_published_for_the_sfu_pool() {
    let c = admin().await;
    let ns = "it-external-ip";
    namespace(&c, ns).await;
    let nodes: Api<Node> = Api::all(c.clone());
    let node_name = "it-external-node";
    // Not a kwok node (nothing rewrites its status), tainted so that no other
    // test's SFU pool lands on it, labelled for this test's pool only.
    let node: Node = serde_json::from_value(json!({
        "metadata": {"name": node_name, "labels": {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "yunhui.dev/it-pool": "external"}},
        "spec": {"taints": [{"key": "yunhui.dev/it-only", "effect": "NoSchedule"}]}
    }))
    .expect("node");
    nodes
        .create(&PostParams::default(), &node)
        .await
        .expect("node");
    struct RemoveNode(Api<Node>);
    impl Drop for RemoveNode {
        fn drop(&mut self) {
            let api = self.0.clone();
            let _ = std::thread::spawn(move || {
                tokio::runtime::Runtime::new()
                    .map(|rt| rt.block_on(api.delete("it-external-node", &DeleteParams::default())))
            })
            .join();
        }
    }
    let _remove = RemoveNode(nodes.clone());
    let set_external = |ip: &'static str| {
        let nodes = nodes.clone();
        async move {
            nodes
                .patch_status(
                    node_name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": {"addresses": [
                        {"type": "InternalIP", "address": "10.0.0.9"},
                        {"type": "ExternalIP", "address": ip}
                    ]}})),
                )
                .await
                .expect("node addresses");
        }
    };
    set_external("203.0.113.7").await;

    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.metadata.name = Some("edge".into());
    mc.spec.sfu.advertise = yunhui_crds::media_cluster::AdvertisedAddress::NodeExternalIp;
    mc.spec.sfu.node_selector = BTreeMap::from([("yunhui.dev/it-pool".into(), "external".into())]);
    // Host ports, not the host network: every host-network pool also holds
    // the control port, so another test's pool could hold this one's nodes.
    mc.spec.sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
    mc.spec.sfu.udp_port = 27888;
    mc.spec.sfu.tcp_port = 27887;
    create(&c, ns, &mc).await;
    let maps: Api<ConfigMap> = Api::namespaced(c.clone(), ns);
    let published = |ip: &'static str| {
        let maps = maps.clone();
        move || {
            let maps = maps.clone();
            async move {
                let map = maps.get_opt("edge-node-addresses").await.ok()??;
                let data = map.data?;
                (data.get(node_name).map(String::as_str) == Some(ip) && data.len() == 1)
                    .then_some(())
            }
        }
    };
    wait(
        "the node's external address published",
        30,
        published("203.0.113.7"),
    )
    .await;
    // Children are applied one after another: the pool may follow the map.
    let deployments: Api<Deployment> = Api::namespaced(c.clone(), ns);
    let pool = wait("the SFU pool", 30, || {
        let d = deployments.clone();
        async move { d.get_opt("edge-sfu").await.ok()? }
    })
    .await;
    let pod = pool.spec.expect("spec").template.spec.expect("pod spec");
    assert!(
        pod.volumes.unwrap_or_default().iter().any(|v| v
            .config_map
            .as_ref()
            .is_some_and(|m| m.name == "edge-node-addresses")),
        "the pods mount the addresses"
    );

    set_external("203.0.113.8").await;
    wait(
        "the changed address published",
        30,
        published("203.0.113.8"),
    )
    .await;
}

/// The Tenant controller watches MediaClusters: a Tenant created before its
/// MediaCluster syncs as soon as the MediaCluster appears, and syncs again
/// when the MediaCluster changes, with no periodic requeue involved (the
/// resync interval is 300 s; the waits here are far shorter).
#[tokio::test(flavor = "multi_thread")]
async fn tenant_created_before_its_media_cluster_syncs_when_it_appears_and_changes() {
    let c = admin().await;
    let ns = "it-tenant-first";
    namespace(&c, ns).await;
    // Keys supplied up front (the operator keeps existing keys), so signal can
    // run before the MediaCluster exists.
    let key = "k".repeat(64);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "prod-keys"},
        "stringData": {"internal-key": key, "token-signing-key": "t".repeat(64)}
    }))
    .expect("secret");
    create(&c, ns, &secret).await;
    let port = support::free_port();
    let signal = Signal::start(port, &key).await;

    let tenants: Api<Tenant> = Api::namespaced(c.clone(), ns);
    create(&c, ns, &example::<Tenant>("tenant.yaml")).await;
    let waiting = wait("Ready=False MediaClusterNotFound", 30, || {
        let t = tenants.clone();
        async move {
            let s = t.get("acme").await.ok()?.status?;
            let ready = s.condition("Ready")?.clone();
            (ready.reason == "MediaClusterNotFound").then_some(s)
        }
    })
    .await;
    assert!(!waiting.synced);
    assert_eq!(waiting.synced_with, None);

    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.spec.signal.external_url = Some(signal.url.clone());
    mc.spec.sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
    mc.spec.sfu.udp_port = 47882;
    mc.spec.sfu.tcp_port = 47881;
    let created = create(&c, ns, &mc).await;
    let synced_with = |generation: i64| {
        let t = tenants.clone();
        let uid = created.uid().expect("uid");
        move || {
            let (t, uid) = (t.clone(), uid.clone());
            async move {
                let s = t.get("acme").await.ok()?.status?;
                let through = s.synced_with.as_ref()?;
                (s.synced && through.uid == uid && through.generation == generation).then_some(())
            }
        }
    };
    wait(
        "tenant synced once its MediaCluster exists",
        30,
        synced_with(1),
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/internal/v1/tenants/{ns}.acme", signal.url);
    let stored = http.get(&url).bearer_auth(&key).send().await.expect("get");
    assert!(stored.status().is_success(), "{}", stored.status());

    // Signal loses the tenant; a change of the MediaCluster syncs it again.
    let removed = http
        .delete(&url)
        .bearer_auth(&key)
        .send()
        .await
        .expect("delete");
    assert!(removed.status().is_success(), "{}", removed.status());
    Api::<MediaCluster>::namespaced(c.clone(), ns)
        .patch(
            "prod",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"version": "0.2.0"}})),
        )
        .await
        .expect("MediaCluster change");
    wait("tenant re-synced through generation 2", 30, synced_with(2)).await;
    let stored: serde_json::Value = http
        .get(&url)
        .bearer_auth(&key)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(stored["displayName"], "Acme Ltd");
}

/// Two host-network SFU pools on the same ports that may share nodes: the
/// later MediaCluster reports the conflict (Ready=False, Degraded, an Event)
/// and gets no SFU workload; when the earlier one goes, it runs.
#[tokio::test(flavor = "multi_thread")]
async fn sfu_host_port_conflict_is_reported_on_the_later_media_cluster() {
    let c = admin().await;
    let ns = "it-clash";
    namespace(&c, ns).await;
    // Its own arm64 node: the other tests' pools are amd64.
    shared().control_plane.create_nodes(1, "arm64", "clash");
    let pool = |name: &str| {
        let mut mc = example::<MediaCluster>("media-cluster.yaml");
        mc.metadata.name = Some(name.into());
        mc.spec.signal.external_url = Some("http://127.0.0.1:9".into());
        mc.spec.sfu.architecture = Some(yunhui_crds::media_cluster::Architecture::Arm64);
        mc
    };
    create(&c, ns, &pool("first")).await;
    wait_ready_mc(&c, ns, "first", 90).await;
    // Created at least a second later: creation times have one-second resolution.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = create(&c, ns, &pool("second")).await;
    let mcs: Api<MediaCluster> = Api::namespaced(c.clone(), ns);
    let status = wait("Ready=False SfuPortConflict on the later one", 60, || {
        let mcs = mcs.clone();
        async move {
            let m = mcs.get("second").await.ok()?;
            let s = m.status?;
            let ready = s.condition("Ready")?;
            (ready.reason == "SfuPortConflict"
                && ready.observed_generation == m.metadata.generation)
                .then_some(s)
        }
    })
    .await;
    let ready = status.condition("Ready").expect("Ready");
    assert_eq!(ready.status, yunhui_crds::ConditionStatus::False);
    assert!(
        ready.message.contains("7882/UDP") && ready.message.contains("it-clash/first"),
        "{}",
        ready.message
    );
    let degraded = status.condition("Degraded").expect("Degraded");
    assert_eq!(degraded.status, yunhui_crds::ConditionStatus::True);
    assert_eq!(degraded.reason, "SfuPortConflict");
    let events: Api<Event> = Api::namespaced(c.clone(), ns);
    wait("SfuPortConflict event on the later one", 30, || {
        let events = events.clone();
        async move {
            let list = events.list(&ListParams::default()).await.ok()?;
            list.items
                .into_iter()
                .find(|e| {
                    e.reason.as_deref() == Some("SfuPortConflict")
                        && e.involved_object.name.as_deref() == Some("second")
                })
                .map(|_| ())
        }
    })
    .await;
    let kids = children_of(&c, ns, &second.uid().expect("uid")).await;
    assert!(
        !kids.contains_key("DaemonSet") && !kids.contains_key("Deployment"),
        "no SFU workload for the later pool: {kids:?}"
    );
    assert_eq!(kids["Service"], vec!["second-sfu"], "the rest is built");
    let first = mcs.get("first").await.expect("first");
    assert!(
        first.status.as_ref().is_some_and(|s| s.is_ready()),
        "the earlier pool keeps running: {:?}",
        first.status
    );
    assert!(
        events
            .list(&ListParams::default())
            .await
            .expect("events")
            .items
            .iter()
            .all(|e| !(e.reason.as_deref() == Some("SfuPortConflict")
                && e.involved_object.name.as_deref() == Some("first"))),
        "no conflict is reported on the earlier one"
    );

    // The earlier pool goes: the later one runs (without a periodic requeue).
    mcs.delete("first", &DeleteParams::default())
        .await
        .expect("delete first");
    let now = wait_ready_mc(&c, ns, "second", 90).await;
    assert_eq!(now.status.expect("status").sfu_ready_nodes, 1);
}

/// The Gateway controller watches MediaClusters: a Gateway created before
/// its MediaCluster becomes Ready when the MediaCluster appears, and its
/// discovery document follows a change of the SFU ports, with no periodic
/// requeue involved (the resync interval is 300 s).
#[tokio::test(flavor = "multi_thread")]
async fn gateway_follows_its_media_cluster_appearing_and_changing() {
    let c = admin().await;
    let ns = "it-gateway-first";
    namespace(&c, ns).await;
    create(&c, ns, &example::<Gateway>("gateway.yaml")).await;
    let gateways: Api<Gateway> = Api::namespaced(c.clone(), ns);
    wait("Gateway Ready=False MediaClusterNotFound", 30, || {
        let g = gateways.clone();
        async move {
            let s = g.get("public").await.ok()?.status?;
            (s.condition("Ready")?.reason == "MediaClusterNotFound").then_some(())
        }
    })
    .await;
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.spec.signal.external_url = Some("http://127.0.0.1:9".into());
    mc.spec.sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
    mc.spec.sfu.udp_port = 48882;
    mc.spec.sfu.tcp_port = 48881;
    create(&c, ns, &mc).await;
    wait("Gateway Ready once its MediaCluster exists", 30, || {
        let g = gateways.clone();
        async move { g.get("public").await.ok()?.status?.is_ready().then_some(()) }
    })
    .await;
    let config_maps: Api<ConfigMap> = Api::namespaced(c.clone(), ns);
    let udp_port = || {
        let cms = config_maps.clone();
        async move {
            let cm = cms.get_opt("prod-discovery").await.ok()??;
            let doc: serde_json::Value =
                serde_json::from_str(cm.data?.get("discovery.json")?).ok()?;
            doc["media"]["udpPort"].as_i64()
        }
    };
    assert_eq!(udp_port().await, Some(48882));
    Api::<MediaCluster>::namespaced(c.clone(), ns)
        .patch(
            "prod",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"sfu": {"udpPort": 48883}}})),
        )
        .await
        .expect("port change");
    wait("discovery document with the new port", 30, || async {
        (udp_port().await == Some(48883)).then_some(())
    })
    .await;
}

/// A NodePort Gateway is reached at its host and node port, so that is the
/// address its discovery document (and so signal's links) and its status
/// name: the port Kubernetes allocated to its Service, read back after the
/// Service is created, or the fixed `spec.exposure.nodePort` once set.
#[tokio::test(flavor = "multi_thread")]
async fn node_port_gateway_publishes_the_port_clients_use() {
    let c = admin().await;
    let ns = "it-gateway-nodeport";
    namespace(&c, ns).await;
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.spec.signal.external_url = Some("http://127.0.0.1:9".into());
    mc.spec.sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
    mc.spec.sfu.udp_port = 48892;
    mc.spec.sfu.tcp_port = 48891;
    create(&c, ns, &mc).await;
    let mut gw = example::<Gateway>("gateway.yaml");
    gw.spec.hosts = vec!["meet.nodeport.example".into()];
    gw.spec.exposure.mode = yunhui_crds::gateway::ExposureMode::NodePort;
    create(&c, ns, &gw).await;
    let services: Api<Service> = Api::namespaced(c.clone(), ns);
    let config_maps: Api<ConfigMap> = Api::namespaced(c.clone(), ns);
    let gateways: Api<Gateway> = Api::namespaced(c.clone(), ns);
    let service_port = || {
        let services = services.clone();
        async move {
            let svc = services.get_opt("public").await.ok()??;
            svc.spec?.ports?.first()?.node_port
        }
    };
    let document_api = || {
        let cms = config_maps.clone();
        async move {
            let cm = cms.get_opt("prod-discovery").await.ok()??;
            let doc: yunhui_proto::discovery::Discovery =
                serde_json::from_str(cm.data?.get("discovery.json")?).ok()?;
            Some(doc.api)
        }
    };
    let ready_api_url = || {
        let g = gateways.clone();
        async move {
            let status = g.get("public").await.ok()?.status?;
            status.is_ready().then_some(status.api_url?)
        }
    };

    let allocated = wait("the Service's allocated node port", 30, service_port).await;
    let expected = format!("http://meet.nodeport.example:{allocated}/api/v1");
    let published = wait("the discovery document", 30, document_api).await;
    assert_eq!(published, expected, "the document names the allocated port");
    let status = wait("Gateway Ready", 30, ready_api_url).await;
    assert_eq!(status, expected);
    assert_eq!(service_port().await, Some(allocated), "the port stays");

    // A fixed port replaces the allocated one, in the Service and the document.
    let fixed = if allocated == 31443 { 31444 } else { 31443 };
    gateways
        .patch(
            "public",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"exposure": {"nodePort": fixed}}})),
        )
        .await
        .expect("fix the node port");
    let expected = format!("http://meet.nodeport.example:{fixed}/api/v1");
    wait("the document with the fixed port", 30, || async {
        (document_api().await.as_deref() == Some(expected.as_str())).then_some(())
    })
    .await;
    assert_eq!(service_port().await, Some(fixed));
    wait("the status with the fixed port", 30, || async {
        (ready_api_url().await.as_deref() == Some(expected.as_str())).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chart_manifests_pass_a_server_side_dry_run() {
    let c = admin().await;
    let docs = render_chart();
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    for want in [
        "CustomResourceDefinition",
        "ClusterRole",
        "Role",
        "Deployment",
        "ServiceAccount",
        "Service",
    ] {
        assert!(kinds.contains(&want), "chart renders a {want}: {kinds:?}");
    }
    for doc in &docs {
        let (group, version) = match doc["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .split_once('/')
        {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (
                String::new(),
                doc["apiVersion"].as_str().unwrap_or_default().to_string(),
            ),
        };
        let gvk = kube::api::GroupVersionKind::gvk(
            &group,
            &version,
            doc["kind"].as_str().unwrap_or_default(),
        );
        let (ar, caps) = kube::discovery::pinned_kind(&c, &gvk)
            .await
            .expect("kind is served");
        let api: Api<DynamicObject> = if caps.scope == kube::discovery::Scope::Namespaced {
            Api::namespaced_with(c.clone(), "yunhui-system", &ar)
        } else {
            Api::all_with(c.clone(), &ar)
        };
        let obj: DynamicObject = serde_json::from_value(doc.clone()).expect("object");
        api.patch(
            &obj.name_any(),
            &PatchParams::apply("chart-dry-run").dry_run().force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the API server rejects {} {}: {e}",
                gvk.kind,
                obj.name_any()
            )
        });
    }
}

fn start_operator_process(identity: &str) -> ChildGuard {
    shared().control_plane.start_operator(
        env!("CARGO_BIN_EXE_yunhui-operator").as_ref(),
        &[
            ("POD_NAME", identity),
            ("YUNHUI_OPERATOR_LEASE_NAME", "kill-test"),
            ("YUNHUI_OPERATOR_LEASE_SECONDS", "5"),
            ("YUNHUI_OPERATOR_SELECTOR", "yunhui.dev/shard=kill"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_killed_mid_reconcile_converges_without_duplicates() {
    let c = admin().await;
    let ns = "it-kill";
    namespace(&c, ns).await;
    volume(&c, "pv-kill", ns).await;
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.metadata.labels = Some([("yunhui.dev/shard".to_string(), "kill".to_string())].into());
    mc.spec.sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
    mc.spec.sfu.udp_port = 37882;
    mc.spec.sfu.tcp_port = 37881;
    let offset = audit_offset();
    let created = create(&c, ns, &mc).await;
    let first = start_operator_process("kill-test-operator");
    // Kill it as soon as it has written its first child (SIGKILL: no clean-up).
    wait("the first write of the operator", 60, || async {
        (!operator_writes(offset, ns).is_empty()).then_some(())
    })
    .await;
    drop(first);
    let after_kill = operator_writes(offset, ns).len();
    let _second = start_operator_process("kill-test-operator");
    wait_ready_mc(&c, ns, "prod", 90).await;
    let kids = children_of(&c, ns, &created.uid().expect("uid")).await;
    assert_eq!(
        kids.values().map(Vec::len).sum::<usize>(),
        13,
        "each child exactly once: {kids:?}"
    );
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(c.clone(), ns);
    let pods = pods.list(&ListParams::default()).await.expect("pods").items;
    assert_eq!(
        pods.len(),
        2,
        "one signal pod and one SFU pod: {:?}",
        pods.iter().map(|p| p.name_any()).collect::<Vec<_>>()
    );
    let writes = operator_writes(offset, ns);
    eprintln!(
        "writes before the kill: {after_kill}, in all: {}",
        writes.len()
    );
    let mut seen = std::collections::BTreeSet::new();
    for w in writes.iter().filter(|w| w.starts_with("create ")) {
        assert!(seen.insert(w.clone()), "created twice: {w}");
    }
}

/// The scaling Events (reason, note) of MediaCluster `prod` in `ns`, sorted.
async fn scaling_events(c: &Client, ns: &str) -> Vec<(String, String)> {
    let events: Api<Event> = Api::namespaced(c.clone(), ns);
    let mut notes: Vec<(String, String)> = events
        .list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some("prod"))
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .filter(|(reason, _)| ["ScaledUp", "Draining", "ScaledDown"].contains(&reason.as_str()))
        .collect();
    notes.sort();
    notes
}

/// Load on one SFU node, made through its internal API (the calls signal
/// makes for a meeting, without media).
struct NodeLoad {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl NodeLoad {
    async fn call(&self, method: reqwest::Method, path: &str) -> reqwest::StatusCode {
        self.http
            .request(method, format!("{}/internal/v1/{path}", self.url))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("the SFU node answers")
            .status()
    }

    async fn room(&self, room: &str, participants: std::ops::Range<u32>) {
        assert!(
            self.call(reqwest::Method::PUT, &format!("rooms/{room}"))
                .await
                .is_success()
        );
        for p in participants {
            let path = format!("rooms/{room}/participants/p{p}");
            assert!(self.call(reqwest::Method::PUT, &path).await.is_success());
        }
    }

    async fn leave(&self, room: &str, participants: std::ops::Range<u32>) {
        for p in participants {
            let path = format!("rooms/{room}/participants/p{p}");
            assert!(self.call(reqwest::Method::DELETE, &path).await.is_success());
        }
    }

    async fn close(&self, room: &str) {
        let path = format!("rooms/{room}");
        assert!(self.call(reqwest::Method::DELETE, &path).await.is_success());
    }

    /// Whether `room` is open on the node.
    async fn has_room(&self, room: &str) -> bool {
        self.call(
            reqwest::Method::GET,
            &format!("rooms/{room}/active-speaker"),
        )
        .await
        .is_success()
    }
}

/// `networking: HostPort` SFU pool scaled by the operator from the load
/// that real `yunhui-sfu` processes (one per kwok pod, registered under the
/// pod's name) report to a real signal. The load rises: 1→2→3 pods, each
/// at once, with ScaledUp Events. The load ends: after the (3 s) window one
/// node at a time is drained, the node with the fewest participants first;
/// a node with a room open stays while the room lasts, marked draining in
/// signal; the operator is killed in the middle of that drain and its
/// successor finishes the same drain, drains no other node, and removes
/// exactly the drained pod once the test closes the room: 3→2→1.
#[tokio::test(flavor = "multi_thread")]
async fn sfu_pool_scales_with_the_load_and_drains_a_node_before_removing_it() {
    let c = admin().await;
    let ns = "it-scale";
    namespace(&c, ns).await;
    // Nodes of their own: no other test's pool is loong64.
    shared().control_plane.create_nodes(3, "loong64", "scale");
    let port = support::free_port();
    let signal_url = format!("http://127.0.0.1:{port}");
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.metadata.labels = Some([("yunhui.dev/shard".to_string(), "scale".to_string())].into());
    mc.spec.signal.external_url = Some(signal_url.clone());
    let sfu = &mut mc.spec.sfu;
    sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
    sfu.architecture = Some(yunhui_crds::media_cluster::Architecture::Loong64);
    (sfu.udp_port, sfu.tcp_port) = (47882, 47881);
    (sfu.min_nodes, sfu.max_nodes, sfu.target_load_percent) = (1, 3, 70);
    sfu.scale_down_window_seconds = 3;
    sfu.drain_timeout_seconds = 600;
    create(&c, ns, &mc).await;
    let operator_env = [
        ("POD_NAME", "scale-test-operator"),
        ("YUNHUI_OPERATOR_LEASE_NAME", "scale-test"),
        ("YUNHUI_OPERATOR_LEASE_SECONDS", "5"),
        ("YUNHUI_OPERATOR_SELECTOR", "yunhui.dev/shard=scale"),
    ];
    let binary = env!("CARGO_BIN_EXE_yunhui-operator");
    let operator = shared()
        .control_plane
        .start_operator(binary.as_ref(), &operator_env);
    let key = generated_internal_key(&c, ns, "prod").await;
    let _signal = Signal::start(port, &key).await;
    let stand_ins = StandIns::sfu(&c, ns, &signal_url, &key);
    let http = reqwest::Client::new();
    let deployments: Api<Deployment> = Api::namespaced(c.clone(), ns);
    let clusters: Api<MediaCluster> = Api::namespaced(c.clone(), ns);
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(c.clone(), ns);
    let node_list = || {
        let (http, url, key) = (http.clone(), signal_url.clone(), key.clone());
        async move {
            http.get(format!("{url}/internal/v1/media-nodes"))
                .bearer_auth(&key)
                .send()
                .await
                .ok()?
                .json::<yunhui_proto::media::MediaNodeList>()
                .await
                .ok()
        }
    };
    // The pool's pods, once exactly `n` run and each one's node reports.
    let pool_of = |n: usize| {
        let (pods, node_list) = (pods.clone(), node_list);
        move || {
            let (pods, node_list) = (pods.clone(), node_list);
            async move {
                let names: Vec<String> = pods
                    .list(&ListParams::default().labels("app.kubernetes.io/component=sfu"))
                    .await
                    .ok()?
                    .items
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .map(|p| p.name_any())
                    .collect();
                let nodes = node_list().await?.nodes;
                let reporting = names
                    .iter()
                    .all(|n| nodes.iter().any(|node| node.live && &node.node_id == n));
                (names.len() == n && reporting).then_some(names)
            }
        }
    };
    let replicas = || {
        let d = deployments.clone();
        async move { d.get("prod-sfu").await.ok()?.spec?.replicas }
    };
    let load_on = |pod: &str| NodeLoad {
        http: http.clone(),
        url: stand_ins.control_url(pod),
        key: key.clone(),
    };

    // One pod, then load on it: 8 of 10 participants, over the 70% target.
    let first = wait("one SFU pod reporting", 90, pool_of(1))
        .await
        .remove(0);
    let a = load_on(&first);
    a.room("room-a", 0..8).await;
    let two = wait("two SFU pods reporting", 60, pool_of(2)).await;
    let second = two
        .iter()
        .find(|p| **p != first)
        .expect("a new pod")
        .clone();
    // 15 participants on two nodes of 10: a third node.
    let b = load_on(&second);
    b.room("room-b", 0..7).await;
    let three = wait("three SFU pods reporting", 60, pool_of(3)).await;
    let third = three
        .iter()
        .find(|p| **p != first && **p != second)
        .expect("a new pod")
        .clone();
    // The status follows at the next reconcile.
    wait("the status showing three nodes", 60, || async {
        let status = clusters.get("prod").await.ok()?.status?;
        let scaling = status.sfu_scaling?;
        ((scaling.current_nodes, scaling.desired_nodes) == (3, 3)).then_some(())
    })
    .await;
    let up = scaling_events(&c, ns).await;
    assert!(
        up.contains(&(
            "ScaledUp".into(),
            "ScaledUp 1→2: load 80% of capacity, target 70%".into()
        )) && up.contains(&(
            "ScaledUp".into(),
            "ScaledUp 2→3: load 75% of capacity, target 70%".into()
        )),
        "{up:?}"
    );

    // The load ends but for two meetings: 2 participants on the first node
    // and 1 on the second. The empty third node is drained and removed
    // first, then the second (fewest participants) while its room lasts.
    a.leave("room-a", 2..8).await;
    b.leave("room-b", 1..7).await;
    wait("the third pod removed", 60, || {
        let (pods, third) = (pods.clone(), third.clone());
        async move { pods.get_opt(&third).await.ok()?.is_none().then_some(()) }
    })
    .await;
    let (nodes_ref, third_ref) = (&stand_ins, &third);
    wait(
        "the drained third node's process exits on SIGTERM",
        20,
        move || async move { nodes_ref.exited(third_ref).then_some(()) },
    )
    .await;
    // The third node's process reported draining itself on SIGTERM, and
    // signal lists it until it has missed three reports: leave it out.
    let draining = wait("the second node draining in signal", 60, || {
        let (node_list, third) = (node_list, third.clone());
        async move {
            let nodes = node_list().await?.nodes;
            let draining: Vec<String> = nodes
                .iter()
                .filter(|n| n.live && n.draining && n.node_id != third)
                .map(|n| n.node_id.clone())
                .collect();
            (!draining.is_empty()).then_some(draining)
        }
    })
    .await;
    assert_eq!(
        draining,
        [second.as_str()],
        "only the node with the fewest participants"
    );
    assert_eq!(replicas().await, Some(2));

    // Killed mid-drain (SIGKILL): the successor resumes the same drain.
    drop(operator);
    let _operator = shared()
        .control_plane
        .start_operator(binary.as_ref(), &operator_env);
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let nodes = node_list().await.expect("node list").nodes;
        let draining: Vec<&str> = nodes
            .iter()
            .filter(|n| n.live && n.draining && n.node_id != third)
            .map(|n| n.node_id.as_str())
            .collect();
        assert_eq!(draining, [second.as_str()], "no second node drained");
        assert_eq!(
            replicas().await,
            Some(2),
            "the draining pod stays while its room lasts"
        );
        assert!(
            b.has_room("room-b").await,
            "the meeting on the draining node goes on"
        );
        assert!(a.has_room("room-a").await);
    }
    let status = clusters
        .get("prod")
        .await
        .expect("mc")
        .status
        .expect("status");
    let drain = status
        .sfu_scaling
        .and_then(|s| s.drain)
        .expect("a drain in the status");
    assert_eq!(
        (drain.pod.as_str(), drain.removing_to),
        (second.as_str(), None)
    );

    // The meeting ends: exactly the drained pod goes.
    b.close("room-b").await;
    let left = wait("one SFU pod left", 60, pool_of(1)).await;
    assert_eq!(
        left,
        [first.as_str()],
        "the drained pod was removed, not another"
    );
    assert_eq!(replicas().await, Some(1));
    wait("the drain over in the status", 30, || {
        let clusters = clusters.clone();
        async move {
            let scaling = clusters.get("prod").await.ok()?.status?.sfu_scaling?;
            (scaling.drain.is_none() && scaling.current_nodes == 1).then_some(())
        }
    })
    .await;
    assert!(
        a.has_room("room-a").await,
        "the remaining node's meeting was never cut"
    );
    let all = scaling_events(&c, ns).await;
    for (reason, note) in [
        ("Draining", format!("Draining {third} (0 participants)")),
        ("ScaledDown", format!("ScaledDown 3→2: removing {third}")),
        ("Draining", format!("Draining {second} (1 participants)")),
        ("ScaledDown", format!("ScaledDown 2→1: removing {second}")),
    ] {
        assert!(
            all.iter().any(|(r, n)| r == reason && n.starts_with(&note)),
            "no {reason} event {note:?} in {all:?}"
        );
    }
    // minNodes: the last node is never drained.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(replicas().await, Some(1));
    a.close("room-a").await;
}

/// Calls out of one SIP gateway stand-in, to a SIPp phone that rings for as
/// many milliseconds as the number it is called on (then answers busy).
struct GatewayCalls {
    http: reqwest::Client,
    key: String,
    phone: SocketAddrV4,
}

impl GatewayCalls {
    /// Asks the gateway at `control_url` to place a call ringing for
    /// `seconds`; the status of the request (the call's events are left to
    /// a task that reads them until it ends).
    async fn place(&self, control_url: &str, seconds: u64) -> reqwest::StatusCode {
        let request = yunhui_proto::dial::DialRequest {
            call_id: format!("call-{seconds}"),
            meeting_number: "123456789".into(),
            ticket: "unused: the phone never answers".into(),
            target: yunhui_proto::signaling::DialTarget::Sip {
                uri: format!("sip:{}@{}", seconds * 1000, self.phone),
            },
            display_name: "Load".into(),
        };
        let response = self
            .http
            .post(format!("{control_url}/internal/v1/calls"))
            .bearer_auth(&self.key)
            .json(&request)
            .send()
            .await
            .expect("the gateway answers");
        let status = response.status();
        tokio::spawn(async move { response.bytes().await });
        status
    }
}

/// The example MediaCluster with signal at `signal_url` (a process the
/// test starts) and one SFU node on host ports of its own, `udp_port` and
/// the two below it, out of the other tests' way.
fn cluster_with_one_sfu_node(signal_url: &str, udp_port: i32) -> MediaCluster {
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.spec.signal.external_url = Some(signal_url.to_string());
    let sfu = &mut mc.spec.sfu;
    sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
    (sfu.udp_port, sfu.tcp_port, sfu.control_port) = (udp_port, udp_port - 1, udp_port - 2);
    (sfu.min_nodes, sfu.max_nodes) = (1, 1);
    mc
}

/// One pool of workers (SIP gateways, recorders) as a test sees it: its
/// pods in the namespace and signal's table of them.
#[derive(Clone)]
struct WorkerPoolView {
    http: reqwest::Client,
    table: String,
    key: String,
    pods: Api<k8s_openapi::api::core::v1::Pod>,
    selector: String,
}

impl WorkerPoolView {
    fn new(
        client: &Client,
        ns: &str,
        signal_url: &str,
        key: &str,
        pool: yunhui_proto::worker::WorkerPool,
        component: &str,
    ) -> WorkerPoolView {
        WorkerPoolView {
            http: reqwest::Client::new(),
            table: format!("{signal_url}/internal/v1/{}", pool.path()),
            key: key.to_string(),
            pods: Api::namespaced(client.clone(), ns),
            selector: format!("app.kubernetes.io/component={component}"),
        }
    }

    /// Signal's table of the pool.
    async fn workers(&self) -> Option<Vec<yunhui_proto::worker::WorkerLoad>> {
        self.http
            .get(&self.table)
            .bearer_auth(&self.key)
            .send()
            .await
            .ok()?
            .json::<yunhui_proto::worker::WorkerList>()
            .await
            .ok()
            .map(|list| list.workers)
    }

    /// The pool's pods, once exactly `n` run and each one's worker reports.
    async fn running(&self, n: usize) -> Option<Vec<String>> {
        let names: Vec<String> = self
            .pods
            .list(&ListParams::default().labels(&self.selector))
            .await
            .ok()?
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .map(|p| p.name_any())
            .collect();
        let workers = self.workers().await?;
        let reporting = names
            .iter()
            .all(|n| workers.iter().any(|w| w.live && &w.worker_id == n));
        (names.len() == n && reporting).then_some(names)
    }

    /// Some when `pod`'s worker reports `n` calls or jobs in progress.
    async fn carries(&self, pod: &str, n: u64) -> Option<()> {
        self.workers()
            .await?
            .iter()
            .any(|w| w.live && w.worker_id == pod && w.in_progress == n)
            .then_some(())
    }

    /// Some when the worker at `control_url` is not ready (it drains).
    async fn unready(&self, control_url: &str) -> Option<()> {
        let status = self
            .http
            .get(format!("{control_url}/readyz"))
            .send()
            .await
            .ok()?
            .status();
        (status == reqwest::StatusCode::SERVICE_UNAVAILABLE).then_some(())
    }

    /// The workers marked draining, with their work in progress.
    async fn draining(&self) -> Option<Vec<(String, u64)>> {
        let draining: Vec<(String, u64)> = self
            .workers()
            .await?
            .iter()
            .filter(|w| w.live && w.draining)
            .map(|w| (w.worker_id.clone(), w.in_progress))
            .collect();
        (!draining.is_empty()).then_some(draining)
    }
}

/// A SIP pool scaled by its calls (`sip.autoscale`), with a real
/// `yunhui-sipgw` process per kwok pod reporting its calls to a real
/// signal, and calls out to a SIPp phone that rings for as long as each
/// call asks. 4 calls on one gateway of 4 (target 75%): a second gateway;
/// 7 calls: a third, each at once, with ScaledUp Events and the status.
/// The short calls end: after the (3 s) window the gateway with no call is
/// drained and removed; then the one with one call (fewer than the last
/// one's two) is marked draining: it learns so from signal and takes no
/// new call (503, not ready), and its pod stays while its call goes on;
/// once that call ends exactly that pod goes. The last gateway's calls are
/// never cut.
#[tokio::test(flavor = "multi_thread")]
async fn sip_pool_scales_with_its_calls_and_drains_a_gateway_before_removing_it() {
    let c = admin().await;
    let ns = "it-sip-scale";
    namespace(&c, ns).await;
    let port = support::free_port();
    let signal_url = format!("http://127.0.0.1:{port}");
    let mut mc = cluster_with_one_sfu_node(&signal_url, 57882);
    let sip = &mut mc.spec.sip;
    sip.enabled = true;
    sip.drain_timeout_seconds = 600;
    sip.autoscale = Some(yunhui_crds::media_cluster::SipAutoscale {
        min_nodes: 1,
        max_nodes: 3,
        calls_per_node: 4,
        target_load_percent: 75,
        scale_down_window_seconds: 3,
    });
    create(&c, ns, &mc).await;
    let key = generated_internal_key(&c, ns, "prod").await;
    let _signal = Signal::start(port, &key).await;
    let gateways = StandIns::sip(&c, ns, &signal_url, &key, 4, 300);
    let phone_port = support::free_port();
    let _phone = ChildGuard(
        std::process::Command::new("sipp")
            .arg("-sf")
            .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sip/ring_for.xml"))
            .args(["-i", "127.0.0.1", "-p", &phone_port.to_string(), "-nostdin"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sipp runs (Debian package sip-tester; tests/setup-machine installs it)"),
    );
    let http = reqwest::Client::new();
    let calls = GatewayCalls {
        http: http.clone(),
        key: key.clone(),
        phone: SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, phone_port),
    };
    let deployments: Api<Deployment> = Api::namespaced(c.clone(), ns);
    let clusters: Api<MediaCluster> = Api::namespaced(c.clone(), ns);
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(c.clone(), ns);
    let pool = WorkerPoolView::new(
        &c,
        ns,
        &signal_url,
        &key,
        yunhui_proto::worker::WorkerPool::SipGateways,
        "sip",
    );
    let replicas = || {
        let d = deployments.clone();
        async move { d.get("prod-sip").await.ok()?.spec?.replicas }
    };

    // One gateway, then 4 calls on it of 4: over the 75% target.
    let a = wait("one SIP gateway reporting", 90, || pool.running(1))
        .await
        .remove(0);
    for _ in 0..4 {
        assert!(
            calls
                .place(&gateways.control_url(&a), 30)
                .await
                .is_success()
        );
    }
    wait("gateway a reporting 4 calls", 20, || pool.carries(&a, 4)).await;
    assert_eq!(
        calls.place(&gateways.control_url(&a), 30).await,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "a full gateway takes no fifth call"
    );
    let two = wait("two SIP gateways reporting", 60, || pool.running(2)).await;
    let b = two.iter().find(|p| **p != a).expect("a new pod").clone();
    // 7 calls on two gateways of 4: a third. One of b's calls lasts.
    for seconds in [20, 20, 80] {
        assert!(
            calls
                .place(&gateways.control_url(&b), seconds)
                .await
                .is_success()
        );
    }
    let three = wait("three SIP gateways reporting", 60, || pool.running(3)).await;
    let third = three
        .iter()
        .find(|p| **p != a && **p != b)
        .expect("a new pod")
        .clone();
    for _ in 0..2 {
        assert!(
            calls
                .place(&gateways.control_url(&third), 150)
                .await
                .is_success()
        );
    }
    wait("the status showing three gateways", 60, || async {
        let scaling = clusters.get("prod").await.ok()?.status?.sip_scaling?;
        ((scaling.current_nodes, scaling.desired_nodes) == (3, 3)).then_some(())
    })
    .await;
    let up = scaling_events(&c, ns).await;
    assert!(
        up.contains(&(
            "ScaledUp".into(),
            "ScaledUp 1→2: load 100% of capacity, target 75%".into()
        )) && up
            .iter()
            .any(|(_, note)| note.starts_with("ScaledUp 2→3: load 87% of capacity")),
        "{up:?}"
    );

    // The short calls end: a (no call) goes first, then b (one call).
    wait("gateway a removed", 90, || {
        let (pods, a) = (pods.clone(), a.clone());
        async move { pods.get_opt(&a).await.ok()?.is_none().then_some(()) }
    })
    .await;
    let draining = wait("gateway b draining in signal", 60, || async {
        let mut draining = pool.draining().await?;
        draining.retain(|(pod, _)| *pod != a);
        (!draining.is_empty()).then_some(draining)
    })
    .await;
    assert_eq!(
        draining,
        [(b.clone(), 1)],
        "only the gateway with fewer calls, its call going on"
    );
    let b_url = gateways.control_url(&b);
    wait("gateway b not ready: it drains", 10, || {
        pool.unready(&b_url)
    })
    .await;
    assert_eq!(
        calls.place(&b_url, 5).await,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "a draining gateway places no new call"
    );
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(replicas().await, Some(2), "b stays while its call lasts");
        assert!(!gateways.exited(&b), "b's process was not stopped");
    }
    let drain = clusters
        .get("prod")
        .await
        .expect("mc")
        .status
        .and_then(|s| s.sip_scaling)
        .and_then(|s| s.drain)
        .expect("a drain in the status");
    assert_eq!((drain.pod.as_str(), drain.removing_to), (b.as_str(), None));

    // b's call ends: exactly b goes; the last gateway's calls go on.
    let left = wait("one SIP gateway left", 90, || pool.running(1)).await;
    assert_eq!(
        left,
        [third.as_str()],
        "the drained pod was removed, not another"
    );
    assert_eq!(replicas().await, Some(1));
    wait("the drain over in the status", 30, || {
        let clusters = clusters.clone();
        async move {
            let scaling = clusters.get("prod").await.ok()?.status?.sip_scaling?;
            (scaling.drain.is_none() && scaling.current_nodes == 1).then_some(())
        }
    })
    .await;
    wait("the last gateway still carrying its 2 calls", 10, || {
        pool.carries(&third, 2)
    })
    .await;
    let all = scaling_events(&c, ns).await;
    for (reason, note) in [
        ("Draining", format!("Draining {a} (0 calls)")),
        ("ScaledDown", format!("ScaledDown 3→2: removing {a}")),
        ("Draining", format!("Draining {b} (1 calls)")),
        (
            "ScaledDown",
            format!("ScaledDown 2→1: removing {b}, drained in"),
        ),
    ] {
        assert!(
            all.iter().any(|(r, n)| r == reason && n.starts_with(&note)),
            "no {reason} event {note:?} in {all:?}"
        );
    }
}

/// A host of a meeting of tenant acme, joined through the SDK, whose
/// recording a recorder of the pool makes.
struct RecordedMeeting {
    host: yunhui_client::meeting::MeetingSession,
    api: yunhui_client::api::ApiClient,
    number: String,
}

impl RecordedMeeting {
    /// Creates a meeting, joins it as its host and starts its recording.
    async fn start(signal: &str, api: &yunhui_client::api::ApiClient) -> RecordedMeeting {
        let meeting = api
            .create_meeting(&yunhui_proto::api::CreateMeetingRequest::default())
            .await
            .expect("a meeting");
        let host = yunhui_client::meeting::MeetingSession::join(
            signal,
            yunhui_client::meeting::JoinOptions {
                meeting_number: meeting.number.clone(),
                display_name: "Host".into(),
                token: api.token().map(String::from),
                media_bind: Some("127.0.0.1:0".into()),
                ..Default::default()
            },
        )
        .await
        .expect("the host joins");
        let recorded = RecordedMeeting {
            host,
            api: api.clone(),
            number: meeting.number,
        };
        recorded
            .command(yunhui_proto::signaling::HostCommand::StartRecording)
            .await;
        recorded
            .is(yunhui_proto::signaling::RecordingState::Recording)
            .await;
        recorded
    }

    async fn command(&self, command: yunhui_proto::signaling::HostCommand) {
        let refused = self
            .host
            .request(
                yunhui_proto::signaling::ClientMessage::Host { command },
                Duration::from_millis(500),
            )
            .await
            .expect("socket open");
        assert_eq!(refused, None, "the host command is taken");
    }

    async fn is(&self, state: yunhui_proto::signaling::RecordingState) {
        self.host
            .wait_until("the recording state", Duration::from_secs(30), |v| {
                v.recording == state
            })
            .await
            .unwrap_or_else(|_| panic!("the recording never became {state:?}"));
    }

    /// Stops the recording; answers its files once they are ready.
    async fn stop(&self) -> Vec<yunhui_proto::api::Recording> {
        self.command(yunhui_proto::signaling::HostCommand::StopRecording)
            .await;
        self.is(yunhui_proto::signaling::RecordingState::Off).await;
        let (api, number) = (self.api.clone(), self.number.clone());
        wait("the recording's file ready", 60, || {
            let (api, number) = (api.clone(), number.clone());
            async move {
                let mut list = api.recordings(false).await.ok()?;
                list.retain(|r| r.meeting_number == number);
                let ready = yunhui_proto::api::RecordingFileState::Ready;
                (!list.is_empty() && list.iter().all(|r| r.state == ready)).then_some(list)
            }
        })
        .await
    }
}

/// A recorder pool scaled by its jobs (`recorder.autoscale`), its files in
/// an S3-compatible object store (a real s3s-fs), with a real
/// `yunhui-recorder` process per kwok pod reporting its jobs to a real
/// signal, and real meetings (an SDK host each, their rooms on a real SFU
/// stand-in) recorded by them. Three recordings on one recorder of 4 jobs
/// (target 50%): a second recorder, which takes the fourth. Two recordings
/// end: after the (3 s) window one recorder is drained: it learns so from
/// signal, takes no new job (503, not ready; a new recording goes to the
/// other), and its pod stays while its recording goes on; once that
/// recording ends exactly that pod goes. Every recording's file is in the
/// bucket, listed ready, and nothing of it is left on a recorder's volume.
#[tokio::test(flavor = "multi_thread")]
async fn recorder_pool_scales_with_its_jobs_and_drains_a_recorder_before_removing_it() {
    let c = admin().await;
    let ns = "it-recorder-scale";
    namespace(&c, ns).await;
    let store = yunhui_testkit::s3::S3Server::start().await;
    let secrets: Api<Secret> = Api::namespaced(c.clone(), ns);
    let secret = |name: &str, data: serde_json::Value| -> Secret {
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))
            .expect("secret")
    };
    secrets
        .create(
            &PostParams::default(),
            &secret(
                "recordings-s3",
                json!({"accessKeyId": yunhui_testkit::s3::ACCESS_KEY_ID,
                       "secretAccessKey": yunhui_testkit::s3::SECRET_ACCESS_KEY}),
            ),
        )
        .await
        .expect("the store's Secret");
    let port = support::free_port();
    let signal_url = format!("http://127.0.0.1:{port}");
    let mut mc = cluster_with_one_sfu_node(&signal_url, 39882);
    let recorder = &mut mc.spec.recorder;
    recorder.enabled = true;
    recorder.drain_timeout_seconds = 600;
    recorder.object_store = Some(yunhui_crds::media_cluster::RecordingsObjectStore {
        endpoint: store.endpoint.clone(),
        bucket: store.bucket.clone(),
        region: None,
        prefix: None,
        credentials_secret: "recordings-s3".into(),
    });
    recorder.autoscale = Some(yunhui_crds::media_cluster::RecorderAutoscale {
        min_nodes: 1,
        max_nodes: 3,
        jobs_per_node: 4,
        target_load_percent: 50,
        scale_down_window_seconds: 3,
    });
    create(&c, ns, &mc).await;
    let key = generated_internal_key(&c, ns, "prod").await;
    // Signal hands jobs to the recorders of its table; no Service here.
    let _signal = Signal::start_with(port, &key, &["--recorder-url", "http://127.0.0.1:9"]).await;
    let _sfu = StandIns::sfu(&c, ns, &signal_url, &key);
    let recorders = StandIns::recorder(&c, ns, &signal_url, &key, store.recorder_env(), 4);
    let http = reqwest::Client::new();
    let deployments: Api<Deployment> = Api::namespaced(c.clone(), ns);
    let clusters: Api<MediaCluster> = Api::namespaced(c.clone(), ns);
    let pool = WorkerPoolView::new(
        &c,
        ns,
        &signal_url,
        &key,
        yunhui_proto::worker::WorkerPool::Recorders,
        "recorder",
    );
    let replicas = || {
        let d = deployments.clone();
        async move { d.get("prod-recorder").await.ok()?.spec?.replicas }
    };

    // Tenant acme and its administrator, who hosts the meetings.
    secrets
        .create(
            &PostParams::default(),
            &secret(
                "acme-admin",
                json!({"email": "host@acme.example", "password": "acme-password-1"}),
            ),
        )
        .await
        .expect("secret");
    let mut tenant = example::<Tenant>("tenant.yaml");
    tenant.spec.first_admin = Some(yunhui_crds::tenant::FirstAdmin {
        secret_name: "acme-admin".into(),
    });
    create(&c, ns, &tenant).await;
    let tenants: Api<Tenant> = Api::namespaced(c.clone(), ns);
    wait("acme's administrator", 60, || {
        let t = tenants.clone();
        async move { t.get("acme").await.ok()?.status?.first_admin }
    })
    .await;
    let mut api = yunhui_client::api::ApiClient::new(&signal_url);
    api.login("host@acme.example", "acme-password-1")
        .await
        .expect("the host signs in");

    // Meetings' rooms go to the SFU stand-in once it reports.
    wait("the SFU node reporting", 90, || {
        let (http, url, key) = (http.clone(), signal_url.clone(), key.clone());
        async move {
            let nodes = http
                .get(format!("{url}/internal/v1/media-nodes"))
                .bearer_auth(&key)
                .send()
                .await
                .ok()?
                .json::<yunhui_proto::media::MediaNodeList>()
                .await
                .ok()?
                .nodes;
            nodes.iter().any(|n| n.live).then_some(())
        }
    })
    .await;
    // One recorder, then 3 recordings on it of 4: over the 50% target.
    let a = wait("one recorder reporting", 90, || pool.running(1))
        .await
        .remove(0);
    let mut on_a = Vec::new();
    for n in 1..=3 {
        on_a.push(RecordedMeeting::start(&signal_url, &api).await);
        wait("recorder a reporting its jobs", 30, || pool.carries(&a, n)).await;
    }
    let two = wait("two recorders reporting", 60, || pool.running(2)).await;
    let b = two.iter().find(|p| **p != a).expect("a new pod").clone();
    // The fourth recording goes to b, which has the most room.
    let on_b = RecordedMeeting::start(&signal_url, &api).await;
    wait("recorder b reporting its job", 30, || pool.carries(&b, 1)).await;
    wait("the status showing two recorders", 60, || async {
        let scaling = clusters.get("prod").await.ok()?.status?.recorder_scaling?;
        ((scaling.current_nodes, scaling.desired_nodes) == (2, 2)).then_some(())
    })
    .await;
    let up = scaling_events(&c, ns).await;
    assert!(
        up.contains(&(
            "ScaledUp".into(),
            "ScaledUp 1→2: load 75% of capacity, target 50%".into()
        )),
        "{up:?}"
    );

    // Two of a's recordings end: a and b have one job each, which one
    // recorder carries at 50%. One of them is drained, its job going on.
    let mut files = on_a.remove(0).stop().await.len();
    files += on_a.remove(0).stop().await.len();
    let last_on_a = on_a.remove(0);
    let (drained, draining_url) = wait("a recorder draining in signal", 60, || async {
        match pool.draining().await?.as_slice() {
            [(pod, 1)] => Some((pod.clone(), recorders.control_url(pod))),
            _ => None,
        }
    })
    .await;
    let (kept, drained_meeting, kept_meeting) = if drained == a {
        (b.clone(), &last_on_a, &on_b)
    } else {
        (a.clone(), &on_b, &last_on_a)
    };
    wait("the drained recorder not ready", 10, || {
        pool.unready(&draining_url)
    })
    .await;
    // A new recording goes to the recorder that stays.
    let fifth = RecordedMeeting::start(&signal_url, &api).await;
    wait("the kept recorder taking the new job", 30, || {
        pool.carries(&kept, 2)
    })
    .await;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            replicas().await,
            Some(2),
            "the drained pod stays while its job runs"
        );
        assert!(!recorders.exited(&drained), "its process was not stopped");
        assert_eq!(
            drained_meeting.host.view().recording,
            yunhui_proto::signaling::RecordingState::Recording,
            "its recording goes on"
        );
    }

    // Its recording ends: its file is stored, and exactly that pod goes.
    files += drained_meeting.stop().await.len();
    let left = wait("one recorder left", 90, || pool.running(1)).await;
    assert_eq!(
        left,
        [kept.as_str()],
        "the drained pod was removed, not another"
    );
    wait(
        "the drained recorder's process exits on SIGTERM",
        30,
        || async { recorders.exited(&drained).then_some(()) },
    )
    .await;
    assert_eq!(replicas().await, Some(1));
    wait("the drain over in the status", 30, || {
        let clusters = clusters.clone();
        async move {
            let scaling = clusters.get("prod").await.ok()?.status?.recorder_scaling?;
            (scaling.drain.is_none() && scaling.current_nodes == 1).then_some(())
        }
    })
    .await;
    assert_eq!(
        kept_meeting.host.view().recording,
        yunhui_proto::signaling::RecordingState::Recording,
        "the kept recorder's recordings go on"
    );
    files += kept_meeting.stop().await.len();
    files += fifth.stop().await.len();
    // Each meeting's list holds its own files; every one is in the bucket.
    assert!(files >= 5, "{files} files");
    wait("every file in the bucket", 30, || async {
        (store.keys().len() >= files).then_some(())
    })
    .await;
    let all = scaling_events(&c, ns).await;
    for (reason, note) in [
        ("Draining", format!("Draining {drained} (1 jobs)")),
        (
            "ScaledDown",
            format!("ScaledDown 2→1: removing {drained}, drained in"),
        ),
    ] {
        assert!(
            all.iter().any(|(r, n)| r == reason && n.starts_with(&note)),
            "no {reason} event {note:?} in {all:?}"
        );
    }
}
