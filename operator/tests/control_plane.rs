//! Integration tests of the operator against a real control plane
//! (kube-apiserver, etcd, controller manager, scheduler, kwok) from
//! `tests/kube/`. One control plane and one in-process operator (running as
//! the `yunhui-operator` user, so its requests are told apart in the audit
//! log) are shared by every test of this binary; each test has its own
//! namespace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, PersistentVolume, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, Resource, ResourceExt};
use serde_json::json;
use yunhui_crds::{Gateway, MediaCluster, ResourceStatus, Tenant};
use yunhui_operator::telemetry::{Health, Metrics};
use yunhui_operator::{OperatorConfig, leader};

struct Shared {
    dir: PathBuf,
    operator_metrics: Metrics,
}

/// Started once: when the start fails, every test reports that failure
/// instead of starting again over the first attempt's logs.
static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn script(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(repo().join("tests/kube/control-plane.sh"))
        .args(args)
        .env("YUNHUI_KUBE_OWNER_PID", std::process::id().to_string())
        .output()
        .expect("control-plane.sh runs");
    assert!(
        out.status.success(),
        "control-plane.sh {args:?} failed (logs in {}):\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes control-plane directories of earlier runs whose test process is
/// gone (the watchdog stopped their processes but keeps the files).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("yunhui-operator-it-")
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

async fn client_from(path: &Path) -> Client {
    let kc = Kubeconfig::read_from(path).expect("kubeconfig reads");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig is valid");
    Client::try_from(config).expect("client builds")
}

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

fn start_shared() -> Shared {
    {
        remove_stale_dirs();
        let dir = std::env::temp_dir().join(format!("yunhui-operator-it-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let started = Instant::now();
        let d = dir.to_string_lossy().to_string();
        script(&dir, &["start", &d]);
        script(&dir, &["create-nodes", &d, "2", "amd64"]);
        script(&dir, &["user", &d, "yunhui-operator"]);
        eprintln!("control plane ready in {:?}", started.elapsed());
        let metrics = Metrics::new().expect("metrics");
        let (tx, rx) = std::sync::mpsc::channel();
        let thread_dir = dir.clone();
        let thread_metrics = metrics.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let admin = client_from(&thread_dir.join("kubeconfig")).await;
                install_crds(&admin).await;
                let ns: Api<Namespace> = Api::all(admin.clone());
                ns.create(
                    &PostParams::default(),
                    &serde_json::from_value(json!({"metadata": {"name": "yunhui-system"}}))
                        .expect("ns"),
                )
                .await
                .expect("operator namespace");
                // The operator runs with exactly the chart's RBAC, bound to its test identity.
                grant_chart_rbac(&admin).await;
                let operator =
                    client_from(&thread_dir.join("users/yunhui-operator.kubeconfig")).await;
                let config = OperatorConfig {
                    identity: "operator-under-test".into(),
                    lease_namespace: "yunhui-system".into(),
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
                tx.send(()).expect("report start");
                if let Err(e) = run.await {
                    eprintln!("operator stopped: {e}");
                }
            });
        });
        rx.recv_timeout(Duration::from_secs(120))
            .expect("operator starts");
        Shared {
            dir,
            operator_metrics: metrics,
        }
    }
}

/// The chart rendered by a helm built from its Go module (`charts/build-helm.sh`).
fn render_chart() -> Vec<serde_json::Value> {
    let out = Command::new(repo().join("charts/build-helm.sh"))
        .output()
        .expect("build-helm.sh runs");
    assert!(
        out.status.success(),
        "building helm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let helm = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let out = Command::new(helm)
        .args(["template", "yunhui-operator"])
        .arg(repo().join("charts/yunhui-operator"))
        .args(["--namespace", "yunhui-system", "--include-crds"])
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(&text)
        .filter_map(|d| serde_json::Value::deserialize(d).ok())
        .filter(|v| v.is_object())
        .collect()
}

async fn grant_chart_rbac(admin: &Client) {
    for doc in render_chart() {
        let kind = doc["kind"].as_str().unwrap_or_default();
        if !matches!(kind, "ClusterRole" | "Role") {
            continue;
        }
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let role: DynamicObject = serde_json::from_value(doc.clone()).expect("role");
        let gvk = kube::api::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind);
        let (ar, _) = kube::discovery::pinned_kind(admin, &gvk)
            .await
            .expect("rbac discovery");
        let binding_kind = if kind == "ClusterRole" {
            "ClusterRoleBinding"
        } else {
            "RoleBinding"
        };
        let (bar, _) = kube::discovery::pinned_kind(
            admin,
            &kube::api::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", binding_kind),
        )
        .await
        .expect("rbac discovery");
        let (roles, bindings): (Api<DynamicObject>, Api<DynamicObject>) = if kind == "ClusterRole" {
            (
                Api::all_with(admin.clone(), &ar),
                Api::all_with(admin.clone(), &bar),
            )
        } else {
            (
                Api::namespaced_with(admin.clone(), "yunhui-system", &ar),
                Api::namespaced_with(admin.clone(), "yunhui-system", &bar),
            )
        };
        roles
            .create(&PostParams::default(), &role)
            .await
            .expect("role creates");
        let binding: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": binding_kind,
            "metadata": {"name": format!("{name}-test-user")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "yunhui-operator"}]
        }))
        .expect("binding");
        bindings
            .create(&PostParams::default(), &binding)
            .await
            .expect("binding creates");
    }
}

async fn install_crds(admin: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(admin.clone());
    for (_, crd) in yunhui_crds::all_crds() {
        api.patch(
            &crd.name_any(),
            &PatchParams::apply("yunhui-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("CRD applies");
    }
    for (_, crd) in yunhui_crds::all_crds() {
        wait("CRD established", 30, || {
            let api = api.clone();
            let name = crd.name_any();
            async move {
                let c = api.get(&name).await.ok()?;
                c.status?
                    .conditions?
                    .iter()
                    .find(|c| c.type_ == "Established" && c.status == "True")
                    .map(|_| ())
            }
        })
        .await;
    }
}

async fn wait<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn admin() -> Client {
    client_from(&shared().dir.join("kubeconfig")).await
}

async fn namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns"),
    )
    .await
    .expect("namespace");
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

fn example<K: serde::de::DeserializeOwned>(file: &str) -> K {
    let text = std::fs::read_to_string(repo().join("examples").join(file)).expect("example reads");
    serde_norway::from_str(&text).expect("example parses")
}

async fn create<K>(client: &Client, ns: &str, obj: &K) -> K
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    Api::<K>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), obj)
        .await
        .expect("creates")
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
    let text = std::fs::read(shared().dir.join("audit.log")).expect("audit log");
    let text = String::from_utf8_lossy(&text[offset as usize..]).into_owned();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["user"]["username"] == "yunhui-operator")
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
    std::fs::metadata(shared().dir.join("audit.log"))
        .map(|m| m.len())
        .unwrap_or(0)
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
    assert!(image.ends_with("yunhui-sfu:0.2.0"), "{image}");
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
            json!({"kind": "MediaCluster", "metadata": {"name": "sip"}, "spec": {"sip": {"port": 0}}}),
            "spec.sip.port must be a port number between 1 and 65535",
        ),
        (
            "mediaclusters",
            json!({"kind": "MediaCluster", "metadata": {"name": "fixed"}, "spec": {"sfu": {"advertise": "Fixed"}}}),
            "spec.sfu.advertisedAddress is required when spec.sfu.advertise is Fixed",
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
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_only_validation_sets_ready_false_with_event_and_no_children() {
    let c = admin().await;
    let ns = "it-invalid";
    namespace(&c, ns).await;
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.spec.database.embedded.storage_size = "lots".into();
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
    assert!(got.message.contains("storageSize"), "{}", got.message);
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
        &Patch::Merge(json!({"spec": {"database": {"embedded": {"storageSize": "1Gi"}}}})),
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
    let mc = create(&c, ns, &example::<MediaCluster>("media-cluster.yaml")).await;
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
    let c = client_from(&shared().dir.join("kubeconfig")).await;
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

struct AbortOnDrop(tokio::task::JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Kills the child process when dropped.
struct ChildGuard(std::process::Child);
impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("yunhui-signal"))
        .expect("target dir");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build -p yunhui-signal`",
        bin.display()
    );
    bin
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_is_synchronised_into_a_real_signal() {
    let c = admin().await;
    let ns = "it-tenant";
    namespace(&c, ns).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let signal = format!("http://127.0.0.1:{port}");
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.spec.signal.external_url = Some(signal.clone());
    mc.spec.sfu.udp_port = 27882;
    mc.spec.sfu.tcp_port = 27881;
    create(&c, ns, &mc).await;
    let secrets: Api<Secret> = Api::namespaced(c.clone(), ns);
    let key = wait("generated keys", 30, || {
        let s = secrets.clone();
        async move {
            let secret = s.get_opt("prod-keys").await.ok()??;
            String::from_utf8(secret.data?.get("internal-key")?.0.clone()).ok()
        }
    })
    .await;
    let data = tempfile::tempdir().expect("data dir");
    let _signal = ChildGuard(
        Command::new(signal_binary())
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--sfu-url",
                "http://127.0.0.1:9",
                "--public-url",
                &signal,
            ])
            .arg("--data-dir")
            .arg(data.path())
            .env("YUNHUI_INTERNAL_KEY", &key)
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("signal starts"),
    );
    let http = reqwest::Client::new();
    wait("signal healthz", 30, || {
        let (http, url) = (http.clone(), format!("{signal}/healthz"));
        async move {
            http.get(url)
                .send()
                .await
                .ok()?
                .status()
                .is_success()
                .then_some(())
        }
    })
    .await;

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
    let dir = &shared().dir;
    ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_yunhui-operator"))
            .env("KUBECONFIG", dir.join("users/yunhui-operator.kubeconfig"))
            .env("POD_NAME", identity)
            .env("POD_NAMESPACE", "yunhui-system")
            .env("YUNHUI_OPERATOR_LEASE_NAME", "kill-test")
            .env("YUNHUI_OPERATOR_LEASE_SECONDS", "5")
            .env("YUNHUI_OPERATOR_SELECTOR", "yunhui.dev/shard=kill")
            .env("YUNHUI_OPERATOR_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("operator process starts"),
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

/// Cold start benchmark (docs/benchmarks.md, "Operator cold start"): creates
/// `YUNHUI_BENCH_CLUSTERS` MediaClusters (default 100) and
/// `YUNHUI_BENCH_TENANTS` Tenants (default 1000) with no operator running,
/// then starts the operator process and measures the time until every
/// MediaCluster is Ready and every Tenant has a status for its generation,
/// the operator's peak memory, and its API requests per object.
/// Run: `cargo test -p yunhui-operator --test control_plane cold_start -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark; run explicitly"]
async fn cold_start_benchmark() {
    let count = |var: &str, default: usize| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (clusters, tenants) = (
        count("YUNHUI_BENCH_CLUSTERS", 100),
        count("YUNHUI_BENCH_TENANTS", 1000),
    );
    let c = admin().await;
    let d = shared().dir.to_string_lossy().to_string();
    script(&shared().dir, &["create-nodes", &d, "4", "amd64", "bench"]);
    let ns = "it-bench";
    namespace(&c, ns).await;
    let shard = [("yunhui.dev/shard".to_string(), "bench".to_string())];
    let api_mc: Api<MediaCluster> = Api::namespaced(c.clone(), ns);
    for i in 0..clusters {
        let mut mc = example::<MediaCluster>("media-cluster.yaml");
        mc.metadata.name = Some(format!("mc-{i}"));
        mc.metadata.labels = Some(shard.clone().into());
        mc.spec.database.external =
            Some(serde_json::from_value(json!({"urlSecretName": "pg"})).expect("db"));
        mc.spec.sfu.networking = yunhui_crds::media_cluster::SfuNetworking::HostPort;
        mc.spec.sfu.udp_port = 20000 + 2 * i as i32;
        mc.spec.sfu.tcp_port = 20001 + 2 * i as i32;
        api_mc
            .create(&PostParams::default(), &mc)
            .await
            .expect("mc");
    }
    let api_t: Api<Tenant> = Api::namespaced(c.clone(), ns);
    for i in 0..tenants {
        let mut t = example::<Tenant>("tenant.yaml");
        t.metadata.name = Some(format!("tenant-{i}"));
        t.metadata.labels = Some(shard.clone().into());
        t.spec.media_cluster = format!("mc-{}", i % clusters.max(1));
        api_t
            .create(&PostParams::default(), &t)
            .await
            .expect("tenant");
    }
    let offset = audit_offset();
    let started = Instant::now();
    let mut operator = Command::new(env!("CARGO_BIN_EXE_yunhui-operator"));
    operator
        .env(
            "KUBECONFIG",
            shared().dir.join("users/yunhui-operator.kubeconfig"),
        )
        .env("POD_NAME", "bench")
        .env("POD_NAMESPACE", "yunhui-system")
        .env("YUNHUI_OPERATOR_LEASE_NAME", "bench")
        .env("YUNHUI_OPERATOR_SELECTOR", "yunhui.dev/shard=bench")
        .env("YUNHUI_OPERATOR_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "error");
    let guard = ChildGuard(operator.spawn().expect("operator starts"));
    let pid = guard.0.id();
    let mut peak_kib = 0u64;
    wait("all resources reconciled", 1200, || {
        let (api_mc, api_t) = (api_mc.clone(), api_t.clone());
        if let Some(v) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
            })
        {
            peak_kib = peak_kib.max(v);
        }
        async move {
            let mcs = api_mc.list(&ListParams::default()).await.ok()?.items;
            let ready = mcs
                .iter()
                .filter(|m| {
                    m.status.as_ref().is_some_and(|s| {
                        s.is_ready() && s.observed_generation == m.metadata.generation
                    })
                })
                .count();
            let ts = api_t.list(&ListParams::default()).await.ok()?.items;
            let done = ts
                .iter()
                .filter(|t| {
                    t.status
                        .as_ref()
                        .is_some_and(|s| s.observed_generation == t.metadata.generation)
                })
                .count();
            (ready == mcs.len() && done == ts.len()).then_some(())
        }
    })
    .await;
    let elapsed = started.elapsed();
    let text = std::fs::read(shared().dir.join("audit.log")).expect("audit log");
    let requests = String::from_utf8_lossy(&text[offset as usize..])
        .lines()
        .filter(|l| l.contains(r#""username":"yunhui-operator""#))
        .count();
    eprintln!(
        "BENCH clusters={clusters} tenants={tenants} all_reconciled_s={:.1} operator_peak_rss_mib={:.1} operator_requests={requests} requests_per_object={:.1}",
        elapsed.as_secs_f64(),
        peak_kib as f64 / 1024.0,
        requests as f64 / (clusters + tenants) as f64
    );
}
