//! `yunhui install | upgrade | uninstall` against a real control plane
//! (kube-apiserver, etcd, controller manager, scheduler and kwok nodes from
//! `tests/kube/`), with a bundle built by the real `yunhui bundle build`
//! that ships the real helm (from its Go module, `charts/build-helm.sh`).
//!
//! One scenario walks a site through its life, because every step shares
//! cluster-scoped objects (the CRDs, the operator's ClusterRole):
//! install → identical re-install writes nothing → upgrade changes and
//! prunes → an upgrade whose rollout never completes rolls back → an upgrade
//! the API server refuses rolls back → uninstall removes exactly the
//! inventory and leaves unrelated objects (and the CRD they need).

use crate::bundle_fixture;

use std::path::{Path, PathBuf};
use std::process::Output;

use bundle_fixture::{Fixture, source_root, yunhui};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::json;
use yunhui_installer::install::inventory::{Inventory, RevisionState};
use yunhui_testkit::ControlPlane;
use yunhui_testkit::chart::helm;

const NS: &str = "yunhui-site";
const RELEASE: &str = "yunhui-operator";
const REGISTRY: &str = "registry.site.test:5000";

fn host_arch() -> &'static str {
    yunhui_installer::install::render::host_arch()
}

/// Writes a site file next to the bundle and returns its path.
fn site_file(dir: &Path, name: &str, kubeconfig: &Path, extra: serde_json::Value) -> PathBuf {
    let mut site = json!({
        "bundle": "bundle",
        "namespace": NS,
        "release": RELEASE,
        "kubeconfig": kubeconfig,
        "bundleKey": "signing.pub",
        "registry": {
            "host": REGISTRY,
            "credentials": {"username": "puller", "passwordFile": "registry-password"}
        },
        "rolloutTimeoutSeconds": 90,
    });
    for (key, value) in extra.as_object().expect("extra is a mapping") {
        site[key] = value.clone();
    }
    let path = dir.join(name);
    std::fs::write(&path, serde_norway::to_string(&site).expect("yaml")).expect("write site");
    path
}

fn run(command: &str, site: &Path) -> Output {
    run_with(command, site, &[])
}

fn run_with(command: &str, site: &Path, extra: &[&str]) -> Output {
    yunhui()
        .arg(command)
        .arg("--config")
        .arg(site)
        .args(["--output", "json"])
        .args(extra)
        .output()
        .expect("yunhui runs")
}

fn outcome(command: &str, site: &Path) -> serde_json::Value {
    let out = run(command, site);
    assert!(
        out.status.success(),
        "yunhui {command} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON outcome")
}

fn failure(command: &str, site: &Path) -> String {
    let out = run(command, site);
    assert!(
        !out.status.success(),
        "yunhui {command} should have failed; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// resourceVersion of every object the inventory lists, plus the inventory's own Secrets.
async fn versions(client: &Client) -> Vec<(String, String)> {
    let inventory = Inventory::new(client.clone(), NS, RELEASE);
    let mut out = Vec::new();
    for revision in inventory.revisions().await.expect("inventory") {
        for entry in &revision.data.objects {
            let m = &entry.manifest;
            let gvk = kube::api::GroupVersionKind::gvk(
                &entry.key.group,
                m["apiVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default(),
                &entry.key.kind,
            );
            let (resource, _) = kube::discovery::pinned_kind(client, &gvk)
                .await
                .expect("kind served");
            let api: Api<DynamicObject> = match &entry.key.namespace {
                Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
                None => Api::all_with(client.clone(), &resource),
            };
            let object = api
                .get(&entry.key.name)
                .await
                .expect("listed object exists");
            out.push((
                entry.key.to_string(),
                object.metadata.resource_version.unwrap_or_default(),
            ));
        }
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    for secret in secrets
        .list(&ListParams::default().labels("yunhui.dev/inventory"))
        .await
        .expect("secrets")
    {
        out.push((
            format!("inventory {}", secret.metadata.name.unwrap_or_default()),
            secret.metadata.resource_version.unwrap_or_default(),
        ));
    }
    out.sort();
    out
}

async fn states(client: &Client) -> Vec<(u32, RevisionState)> {
    Inventory::new(client.clone(), NS, RELEASE)
        .revisions()
        .await
        .expect("inventory")
        .iter()
        .map(|r| (r.number, r.state))
        .collect()
}

async fn operator(client: &Client) -> Deployment {
    Api::<Deployment>::namespaced(client.clone(), NS)
        .get(RELEASE)
        .await
        .expect("operator Deployment")
}

fn rolled_out(deployment: &Deployment, replicas: i32) -> bool {
    let status = deployment.status.clone().unwrap_or_default();
    deployment.spec.as_ref().and_then(|s| s.replicas) == Some(replicas)
        && status.updated_replicas == Some(replicas)
        && status.available_replicas == Some(replicas)
        && status.replicas == Some(replicas)
}

async fn config_map(client: &Client, ns: &str, name: &str) -> Option<ConfigMap> {
    Api::<ConfigMap>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .expect("read ConfigMap")
}

fn tenant_api(client: &Client, ns: &str) -> Api<DynamicObject> {
    let gvk = kube::api::GroupVersionKind::gvk("yunhui.dev", "v1alpha1", "Tenant");
    let resource = kube::api::ApiResource::from_gvk_with_plural(&gvk, "tenants");
    Api::namespaced_with(client.clone(), ns, &resource)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_upgrade_rollback_uninstall_on_a_real_cluster() {
    let fixture = Fixture::create();
    std::fs::copy(helm(), fixture.binaries.join(host_arch()).join("helm")).expect("stage helm");
    let bundle = fixture.build("enterprise", "bundle");
    assert!(bundle.join("bin").join(host_arch()).join("helm").is_file());
    let dir = fixture.dir.path();
    std::fs::write(dir.join("registry-password"), "pull-secret-password\n").expect("password");
    let plane = ControlPlane::bare(dir.join("kube"), 2);
    let client = plane.admin().await;
    let kubeconfig = plane.kubeconfig();
    let examples = source_root().join("examples");
    std::fs::write(
        dir.join("settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: site-settings}\ndata: {region: east}\n",
    )
    .expect("settings");

    // 1. Install: CRDs, the chart with the site registry, the site's resources.
    let site = site_file(
        dir,
        "site.yaml",
        &kubeconfig,
        json!({"resources": [
            {"file": examples.join("tenant.yaml")},
            {"file": examples.join("media-cluster.yaml")},
            {"file": examples.join("gateway.yaml")},
            {"file": "settings.yaml"},
        ]}),
    );
    let installed = outcome("install", &site);
    assert_eq!(installed["revision"], 1, "{installed}");
    assert_eq!(installed["changed"], true);
    let deployment = operator(&client).await;
    let pod = deployment.spec.clone().unwrap().template.spec.unwrap();
    assert_eq!(
        pod.containers[0].image.as_deref(),
        Some(format!("{REGISTRY}/yunhui/operator:0.1.0").as_str()),
        "the operator image comes from the site registry"
    );
    assert_eq!(
        pod.image_pull_secrets.unwrap()[0].name,
        format!("{RELEASE}-registry")
    );
    assert!(
        rolled_out(&deployment, 2),
        "install waited for the rollout: {:?}",
        deployment.status
    );
    let pull: Secret = Api::namespaced(client.clone(), NS)
        .get(&format!("{RELEASE}-registry"))
        .await
        .expect("pull secret");
    let config = String::from_utf8(pull.data.unwrap()[".dockerconfigjson"].0.clone()).unwrap();
    assert!(config.contains(REGISTRY) && config.contains("pull-secret-password"));
    tenant_api(&client, NS)
        .get("acme")
        .await
        .expect("Tenant acme");
    assert_eq!(states(&client).await, [(1, RevisionState::Deployed)]);

    // 2. The same again writes nothing: every listed object keeps its resourceVersion.
    let before = versions(&client).await;
    assert!(before.len() > 10, "{before:?}");
    let again = outcome("install", &site);
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["revision"], 1);
    assert_eq!(
        versions(&client).await,
        before,
        "a second install wrote something"
    );

    // 3. Upgrade: one replica, a changed Tenant, settings.yaml dropped, a new ConfigMap.
    let tenant = std::fs::read_to_string(examples.join("tenant.yaml"))
        .unwrap()
        .replace("displayName: Acme Ltd", "displayName: Acme Group");
    std::fs::write(dir.join("tenant.yaml"), tenant).unwrap();
    let upgraded_resources = json!([
        {"file": "tenant.yaml"},
        {"file": examples.join("media-cluster.yaml")},
        {"file": examples.join("gateway.yaml")},
        {"inline": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "site-extra"}, "data": {"a": "b"}}},
    ]);
    // From here on the single-file bundle: same contents, extracted and verified.
    let site2 = site_file(
        dir,
        "site2.yaml",
        &kubeconfig,
        json!({"bundle": "bundle.tar.zst", "chart": {"values": {"replicaCount": 1}}, "resources": upgraded_resources}),
    );
    let failed_install = failure("install", &site2);
    assert!(
        failed_install.contains("use `yunhui upgrade"),
        "{failed_install}"
    );
    let upgraded = outcome("upgrade", &site2);
    assert_eq!(upgraded["revision"], 2, "{upgraded}");
    assert_eq!(
        upgraded["deleted"],
        json!([format!("ConfigMap {NS}/site-settings")])
    );
    assert!(rolled_out(&operator(&client).await, 1));
    assert!(config_map(&client, NS, "site-settings").await.is_none());
    assert!(config_map(&client, NS, "site-extra").await.is_some());
    let acme = tenant_api(&client, NS).get("acme").await.unwrap();
    assert_eq!(acme.data["spec"]["displayName"], "Acme Group");
    assert_eq!(
        states(&client).await,
        [(1, RevisionState::Superseded), (2, RevisionState::Deployed)]
    );

    // 4. An upgrade whose operator never rolls out (no node matches) rolls back.
    let mut broken_resources = upgraded_resources.clone();
    broken_resources
        .as_array_mut()
        .unwrap()
        .push(json!({"inline": {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "only-in-failed"}}}));
    let site3 = site_file(
        dir,
        "site3.yaml",
        &kubeconfig,
        json!({
            "chart": {"values": {"replicaCount": 1, "nodeSelector": {"yunhui.dev/no-such-node": "true"}}},
            "resources": broken_resources,
            "rolloutTimeoutSeconds": 8,
        }),
    );
    let error = failure("upgrade", &site3);
    assert!(
        error.contains("rolled back to revision 2") && error.contains("did not roll out"),
        "{error}"
    );
    let deployment = operator(&client).await;
    let pod = deployment.spec.clone().unwrap().template.spec.unwrap();
    assert_eq!(pod.node_selector, None, "the previous pod template is back");
    assert!(
        rolled_out(&deployment, 1),
        "rollback waited: {:?}",
        deployment.status
    );
    assert!(config_map(&client, NS, "only-in-failed").await.is_none());
    assert!(config_map(&client, NS, "site-extra").await.is_some());
    assert_eq!(
        states(&client).await,
        [
            (1, RevisionState::Superseded),
            (2, RevisionState::Deployed),
            (3, RevisionState::Failed)
        ]
    );

    // 5. An upgrade the API server refuses halfway (an invalid ConfigMap key,
    // applied after the chart) rolls back too, restoring the replica count.
    let mut refused_resources = upgraded_resources.clone();
    refused_resources
        .as_array_mut()
        .unwrap()
        .push(json!({"inline": {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "refused"},
        "data": {"not a valid key!": "x"}}}));
    // This site file names no publisher key: refused, unless the signature
    // check is skipped on purpose, which the inventory records.
    let site4 = site_file(
        dir,
        "site4.yaml",
        &kubeconfig,
        json!({"chart": {"values": {"replicaCount": 3}}, "resources": refused_resources, "bundleKey": null}),
    );
    let untrusted = failure("upgrade", &site4);
    assert!(
        untrusted.contains("bundleKey") && untrusted.contains("--insecure-skip-signature"),
        "{untrusted}"
    );
    assert_eq!(
        states(&client).await.last(),
        Some(&(3, RevisionState::Failed)),
        "nothing was recorded for the refused upgrade"
    );
    let out = run_with("upgrade", &site4, &["--insecure-skip-signature"]);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        error.contains("WARNING: --insecure-skip-signature"),
        "{error}"
    );
    assert!(
        error.contains(&format!("applying ConfigMap {NS}/refused"))
            && error.contains("resources[4].inline")
            && error.contains("rolled back to revision 2"),
        "{error}"
    );
    assert!(rolled_out(&operator(&client).await, 1));
    assert_eq!(
        states(&client).await.last(),
        Some(&(4, RevisionState::Failed))
    );
    let signers: Vec<String> = Inventory::new(client.clone(), NS, RELEASE)
        .revisions()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.data.bundle.signer)
        .collect();
    assert!(signers[0].starts_with("publisher key "), "{signers:?}");
    assert!(
        signers[3].contains("not checked against a publisher key"),
        "{signers:?}"
    );

    // 6. Uninstall removes the inventory's objects and nothing else.
    let unrelated = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("not-ours".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<ConfigMap>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &unrelated)
        .await
        .expect("unrelated ConfigMap");
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "other-team"}})).unwrap(),
        )
        .await
        .expect("other namespace");
    let mut other: DynamicObject = serde_json::from_value(
        serde_norway::from_str::<serde_json::Value>(
            &std::fs::read_to_string(examples.join("tenant.yaml")).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    other.metadata.name = Some("other".into());
    tenant_api(&client, "other-team")
        .create(&PostParams::default(), &other)
        .await
        .expect("unrelated Tenant");

    let removed = outcome("uninstall", &site);
    let deleted: Vec<String> = serde_json::from_value(removed["deleted"].clone()).unwrap();
    for expected in [
        format!("Deployment.apps {NS}/{RELEASE}"),
        format!("Tenant.yunhui.dev {NS}/acme"),
        format!("ConfigMap {NS}/site-extra"),
        format!("Secret {NS}/{RELEASE}-registry"),
        format!("ClusterRole.rbac.authorization.k8s.io {RELEASE}"),
        "CustomResourceDefinition.apiextensions.k8s.io gateways.yunhui.dev".to_string(),
    ] {
        assert!(deleted.contains(&expected), "{expected} not in {deleted:?}");
    }
    assert!(
        removed["kept"].to_string().contains("tenants.yunhui.dev")
            && removed["kept"].to_string().contains("other-team/other"),
        "{removed}"
    );
    assert!(
        Api::<Deployment>::namespaced(client.clone(), NS)
            .get_opt(RELEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert!(config_map(&client, NS, "not-ours").await.is_some());
    assert!(config_map(&client, NS, "site-extra").await.is_none());
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    assert!(crds.get_opt("tenants.yunhui.dev").await.unwrap().is_some());
    assert!(crds.get_opt("gateways.yunhui.dev").await.unwrap().is_none());
    tenant_api(&client, "other-team")
        .get("other")
        .await
        .expect("the unrelated Tenant survives");
    assert!(states(&client).await.is_empty(), "inventory removed");
    let nothing = outcome("uninstall", &site);
    assert_eq!(nothing["changed"], false);
}

/// A bad site file fails before anything touches a cluster, naming the field.
#[test]
fn bad_site_files_name_the_field() {
    let fixture = Fixture::create();
    let dir = fixture.dir.path();
    std::fs::create_dir_all(dir.join("bundle")).unwrap();
    std::fs::write(dir.join("kubeconfig"), "apiVersion: v1\nkind: Config\n").unwrap();
    let base =
        "bundle: bundle\nnamespace: site\nkubeconfig: kubeconfig\nregistry: {host: 'reg:5000'}\n";
    let cases: &[(&str, String, &str)] = &[
        ("unknown field", format!("{base}registy: {{}}\n"), "registy"),
        (
            "missing namespace",
            "bundle: bundle\nregistry: {host: reg}\n".into(),
            "missing field `namespace`",
        ),
        (
            "scheme in host",
            base.replace("'reg:5000'", "'https://reg'"),
            "field `registry.host`",
        ),
        (
            "bad namespace",
            base.replace("namespace: site", "namespace: Site_1"),
            "field `namespace`",
        ),
        (
            "no bundle",
            base.replace("bundle: bundle", "bundle: missing"),
            "field `bundle`",
        ),
        (
            "file and inline",
            format!("{base}resources: [{{file: a.yaml, inline: {{}}}}]\n"),
            "field `resources[0]`",
        ),
        (
            "object without a name",
            format!(
                "{base}resources:\n  - inline: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: a}}}}\n  - inline: {{apiVersion: v1, kind: ConfigMap}}\n"
            ),
            "field `resources[1].inline`: the ConfigMap has no `metadata.name`",
        ),
        (
            "missing resource file",
            format!("{base}resources: [{{file: nowhere.yaml}}]\n"),
            "field `resources[0].file`",
        ),
        (
            "password from an unset variable",
            base.replace(
                "{host: 'reg:5000'}",
                "{host: 'reg:5000', credentials: {username: u, passwordEnv: YUNHUI_TEST_UNSET}}",
            ),
            "field `registry.credentials.passwordEnv`",
        ),
    ];
    for (what, text, expected) in cases {
        let path = dir.join("site.yaml");
        std::fs::write(&path, text).unwrap();
        let out = run("install", &path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: accepted");
        assert!(
            stderr.contains(expected) && stderr.contains("site.yaml"),
            "{what}: expected {expected:?} in: {stderr}"
        );
    }
    // A bundle that does not verify stops install before any cluster access
    // (the kubeconfig here points nowhere).
    let bundle = fixture.build("enterprise", "real-bundle");
    let manifest = bundle.join("manifest.json");
    let mut bytes = std::fs::read(&manifest).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    std::fs::write(&manifest, bytes).unwrap();
    let path = dir.join("site.yaml");
    let real = base.replace("bundle: bundle", "bundle: real-bundle");
    // Without a publisher key nothing is read at all.
    std::fs::write(&path, &real).unwrap();
    let out = run("install", &path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("no publisher key")
            && stderr.contains("bundleKey"),
        "{stderr}"
    );
    std::fs::write(&path, format!("{real}bundleKey: signing.pub\n")).unwrap();
    let out = run("install", &path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("manifest.json")
            && stderr.contains("failed verification"),
        "{stderr}"
    );
}
