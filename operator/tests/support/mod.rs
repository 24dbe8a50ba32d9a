//! The harness shared by the operator's control-plane tests
//! (`tests/control_plane.rs`) and its cold-start benchmark
//! (`benches/cold_start.rs`): a real control plane from
//! `tests/kube/control-plane.sh` with the CRDs and the chart's RBAC installed,
//! clients, the audit log, and the processes the tests start (the operator
//! binary, a real signal).

// Each user of this module (a test binary, the benchmark) uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, Resource, ResourceExt};
use serde_json::json;

/// The identity (client certificate user) the operator runs as, so its
/// requests are told apart in the audit log.
pub const OPERATOR_USER: &str = "yunhui-operator";

/// Namespace of the operator (leader Leases, Roles).
pub const OPERATOR_NAMESPACE: &str = "yunhui-system";

/// Root of the repository.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running control plane; its processes stop when this process exits
/// (`YUNHUI_KUBE_OWNER_PID`), its files stay in `dir` for post-mortems and
/// are removed by the next run.
pub struct ControlPlane {
    /// State directory: kubeconfigs, audit log, component logs.
    pub dir: PathBuf,
}

impl ControlPlane {
    /// Starts a control plane in `$TMPDIR/<prefix>-<pid>` (removing the
    /// directories of earlier runs whose process is gone), with `amd64_nodes`
    /// kwok nodes, the CRDs, the operator namespace and the operator's user
    /// bound to exactly the chart's RBAC.
    pub async fn start(prefix: &str, amd64_nodes: usize) -> ControlPlane {
        remove_stale_dirs(prefix);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let cp = ControlPlane { dir };
        let started = Instant::now();
        let d = cp.dir.to_string_lossy().to_string();
        cp.script(&["start", &d]);
        cp.script(&["create-nodes", &d, &amd64_nodes.to_string(), "amd64"]);
        cp.script(&["user", &d, OPERATOR_USER]);
        eprintln!("control plane ready in {:?}", started.elapsed());
        let admin = cp.admin().await;
        install_crds(&admin).await;
        namespace(&admin, OPERATOR_NAMESPACE).await;
        grant_chart_rbac(&admin).await;
        cp
    }

    /// Runs `tests/kube/control-plane.sh` with `args`; returns its output.
    pub fn script(&self, args: &[&str]) -> String {
        let out = Command::new(repo().join("tests/kube/control-plane.sh"))
            .args(args)
            .env("YUNHUI_KUBE_OWNER_PID", std::process::id().to_string())
            .output()
            .expect("control-plane.sh runs");
        assert!(
            out.status.success(),
            "control-plane.sh {args:?} failed (logs in {}):\n{}\n{}",
            self.dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates `n` more kwok nodes of `arch` named `<prefix>-<arch>-<i>`.
    pub fn create_nodes(&self, n: usize, arch: &str, prefix: &str) {
        let d = self.dir.to_string_lossy().to_string();
        self.script(&["create-nodes", &d, &n.to_string(), arch, prefix]);
    }

    /// A client of the cluster admin.
    pub async fn admin(&self) -> Client {
        client_from(&self.dir.join("kubeconfig")).await
    }

    /// A client of the operator's user (the chart's RBAC).
    pub async fn operator_client(&self) -> Client {
        client_from(&self.operator_kubeconfig()).await
    }

    /// The kubeconfig of the operator's user.
    pub fn operator_kubeconfig(&self) -> PathBuf {
        self.dir.join(format!("users/{OPERATOR_USER}.kubeconfig"))
    }

    /// Current end of the audit log: requests after it are the ones to come.
    pub fn audit_offset(&self) -> u64 {
        std::fs::metadata(self.dir.join("audit.log"))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Audit events of the operator's user after byte `offset`.
    pub fn operator_requests(&self, offset: u64) -> Vec<serde_json::Value> {
        let text = std::fs::read(self.dir.join("audit.log")).expect("audit log");
        let start = (offset as usize).min(text.len());
        String::from_utf8_lossy(&text[start..])
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["user"]["username"] == OPERATOR_USER)
            .collect()
    }

    /// Starts the operator binary as the operator's user with `env` (the
    /// binary's settings, e.g. `YUNHUI_OPERATOR_SELECTOR`) added.
    pub fn start_operator(&self, operator_binary: &Path, env: &[(&str, &str)]) -> ChildGuard {
        let mut command = Command::new(operator_binary);
        command
            .env("KUBECONFIG", self.operator_kubeconfig())
            .env("POD_NAMESPACE", OPERATOR_NAMESPACE)
            .env("YUNHUI_OPERATOR_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "warn");
        for (k, v) in env {
            command.env(k, v);
        }
        ChildGuard(command.spawn().expect("operator process starts"))
    }
}

/// Removes control-plane directories `<prefix>-<pid>` of earlier runs whose
/// process is gone (the watchdog stopped their processes but keeps the files).
fn remove_stale_dirs(prefix: &str) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(&format!("{prefix}-"))
            && pid.chars().all(|c| c.is_ascii_digit())
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A client from a kubeconfig file.
pub async fn client_from(path: &Path) -> Client {
    let kc = Kubeconfig::read_from(path).expect("kubeconfig reads");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig is valid");
    Client::try_from(config).expect("client builds")
}

/// The chart rendered by a helm built from its Go module (`charts/build-helm.sh`).
pub fn render_chart() -> Vec<serde_json::Value> {
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
        .args(["--namespace", OPERATOR_NAMESPACE, "--include-crds"])
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

/// Creates the chart's (Cluster)Roles and binds them to the operator's user.
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
                Api::namespaced_with(admin.clone(), OPERATOR_NAMESPACE, &ar),
                Api::namespaced_with(admin.clone(), OPERATOR_NAMESPACE, &bar),
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
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": OPERATOR_USER}]
        }))
        .expect("binding");
        bindings
            .create(&PostParams::default(), &binding)
            .await
            .expect("binding creates");
    }
}

/// Applies the CRDs of `yunhui-crds` and waits until they are served.
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

/// Polls `f` every 250 ms until it returns a value; panics after `secs`.
pub async fn wait<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
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

/// Creates namespace `name`.
pub async fn namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns"),
    )
    .await
    .expect("namespace");
}

/// An object of `examples/<file>`.
pub fn example<K: serde::de::DeserializeOwned>(file: &str) -> K {
    let text = std::fs::read_to_string(repo().join("examples").join(file)).expect("example reads");
    serde_norway::from_str(&text).expect("example parses")
}

/// Creates `obj` in `ns`.
pub async fn create<K>(client: &Client, ns: &str, obj: &K) -> K
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

/// Kills the child process when dropped.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Aborts the task when dropped.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port()
}

/// The `yunhui-signal` binary built next to `exe` (a test or bench binary in
/// `target/<profile>/deps`), else the other profile's.
pub fn signal_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("executable path");
    let profile = exe.parent().and_then(Path::parent).expect("target dir");
    let target = profile.parent().expect("target dir");
    let candidates = [
        profile.join("yunhui-signal"),
        target.join("release/yunhui-signal"),
        target.join("debug/yunhui-signal"),
    ];
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{} is missing: build it first with `cargo build -p yunhui-signal`",
                candidates[0].display()
            )
        })
}

/// A real signal process on loopback, with its own data directory.
pub struct Signal {
    /// Base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    _process: ChildGuard,
    _data: tempfile::TempDir,
}

impl Signal {
    /// Starts signal on `127.0.0.1:port` (see [`free_port`]), accepting
    /// `internal_key` on its admin API; waits for `/healthz`.
    pub async fn start(port: u16, internal_key: &str) -> Signal {
        let url = format!("http://127.0.0.1:{port}");
        let data = tempfile::tempdir().expect("data dir");
        let process = ChildGuard(
            Command::new(signal_binary())
                .args([
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--sfu-url",
                    "http://127.0.0.1:9",
                    "--public-url",
                    &url,
                ])
                .arg("--data-dir")
                .arg(data.path())
                .env(yunhui_proto::env::INTERNAL_KEY, internal_key)
                .env("RUST_LOG", "warn")
                .spawn()
                .expect("signal starts"),
        );
        let http = reqwest::Client::new();
        wait("signal healthz", 30, || {
            let (http, url) = (http.clone(), format!("{url}/healthz"));
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
        Signal {
            url,
            _process: process,
            _data: data,
        }
    }
}

/// Peak resident memory (`VmHWM`) of process `pid` in KiB, while it runs.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
