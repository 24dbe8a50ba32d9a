//! A real control plane from `tests/kube/control-plane.sh`: etcd,
//! kube-apiserver (with an audit log), the controller manager, the scheduler
//! and kwok nodes, built from the Kubernetes Go modules.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};

use crate::chart::grant_chart_rbac;
use crate::cluster::{client_from, namespace, repo, wait};
use crate::processes::ChildGuard;

/// The identity (client certificate user) the operator runs as, so its
/// requests are told apart in the audit log.
pub const OPERATOR_USER: &str = "yunhui-operator";

/// Namespace of the operator (leader Leases, Roles).
pub const OPERATOR_NAMESPACE: &str = "yunhui-system";

/// The chart rendered into the operator's namespace.
pub fn render_chart() -> Vec<serde_json::Value> {
    crate::chart::render_chart_in(OPERATOR_NAMESPACE)
}

/// A running control plane. Its processes stop when it is dropped, and in
/// any case when this process exits (`YUNHUI_KUBE_OWNER_PID`); its files
/// stay in `dir` for post-mortems.
pub struct ControlPlane {
    /// State directory: kubeconfigs, audit log, component logs.
    pub dir: PathBuf,
}

impl ControlPlane {
    /// Starts a bare control plane in `dir` with `amd64_nodes` kwok nodes:
    /// what an installer meets on a new cluster.
    pub fn bare(dir: PathBuf, amd64_nodes: usize) -> ControlPlane {
        std::fs::create_dir_all(&dir).expect("control plane directory");
        let cp = ControlPlane { dir };
        let started = Instant::now();
        let d = cp.dir.to_string_lossy().to_string();
        cp.script(&["start", &d]);
        cp.script(&["create-nodes", &d, &amd64_nodes.to_string(), "amd64"]);
        eprintln!("control plane ready in {:?}", started.elapsed());
        cp
    }

    /// Starts a control plane in `$TMPDIR/<prefix>-<pid>` (removing the
    /// directories of earlier runs whose process is gone) ready for the
    /// operator: `amd64_nodes` kwok nodes, the CRDs, the operator's
    /// namespace and its user bound to exactly the chart's RBAC.
    pub async fn start(prefix: &str, amd64_nodes: usize) -> ControlPlane {
        remove_stale_dirs(prefix);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        let cp = ControlPlane::bare(dir, amd64_nodes);
        let d = cp.dir.to_string_lossy().to_string();
        cp.script(&["user", &d, OPERATOR_USER]);
        let admin = cp.admin().await;
        install_crds(&admin).await;
        namespace(&admin, OPERATOR_NAMESPACE).await;
        grant_chart_rbac(&admin, OPERATOR_NAMESPACE, OPERATOR_USER).await;
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

    /// The cluster admin's kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// A client of the cluster admin.
    pub async fn admin(&self) -> Client {
        client_from(&self.kubeconfig()).await
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
        self.audit_events(offset)
            .into_iter()
            .filter(|e| e["user"]["username"] == OPERATOR_USER)
            .collect()
    }

    /// Every request in the audit log after `offset`, whoever made it.
    pub fn audit_events(&self, offset: u64) -> Vec<serde_json::Value> {
        let text = std::fs::read(self.dir.join("audit.log")).expect("audit log");
        let start = (offset as usize).min(text.len());
        String::from_utf8_lossy(&text[start..])
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
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

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("tests/kube/control-plane.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output();
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
