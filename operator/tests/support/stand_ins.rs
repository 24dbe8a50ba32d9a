//! Stand-ins for the scaled pools' pods, shared by the control-plane tests
//! and the load-step benchmark: kwok starts no container, so a real
//! `yunhui-sfu` (or `yunhui-sipgw`, or `yunhui-recorder`) process plays
//! each Running pod.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use yunhui_testkit::{AbortOnDrop, ChildGuard, wait};

/// The internal key the operator generated for MediaCluster `cluster` of
/// `ns` (its `<cluster>-keys` Secret), once it exists: what the stand-ins
/// and their signal share.
pub async fn generated_internal_key(client: &Client, ns: &str, cluster: &str) -> String {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let name = format!("{cluster}-keys");
    wait("the operator's generated keys", 120, || {
        let (secrets, name) = (secrets.clone(), name.clone());
        async move {
            let secret = secrets.get_opt(&name).await.ok()??;
            String::from_utf8(secret.data?.get("internal-key")?.0.clone()).ok()
        }
    })
    .await
}

/// What a kubelet would run for a pool's kwok pods: one real process per
/// Running pod, registering with signal under the pod's name, and SIGTERM
/// to it when its pod is gone or terminating (kwok cannot run the image;
/// the processes are the pods' stand-ins).
pub struct StandIns {
    nodes: Arc<std::sync::Mutex<BTreeMap<String, StandIn>>>,
    _task: AbortOnDrop,
}

struct StandIn {
    control_url: String,
    process: std::process::Child,
    terminated: bool,
    /// The pod's own volume, when it has one.
    _volume: Option<tempfile::TempDir>,
}

/// Starts the stand-in of one pod, by its name.
type Spawn = Box<dyn Fn(&str) -> StandIn + Send>;

impl Drop for StandIns {
    fn drop(&mut self) {
        for (_, node) in std::mem::take(&mut *self.nodes.lock().expect("lock")) {
            let _ = ChildGuard(node.process);
        }
    }
}

impl StandIns {
    /// `yunhui-sfu` processes (capacity 10 participants) for the SFU pool's pods.
    pub fn sfu(client: &Client, ns: &str, signal_url: &str, key: &str) -> StandIns {
        let (signal_url, key) = (signal_url.to_string(), key.to_string());
        Self::start(
            client,
            ns,
            "sfu",
            Box::new(move |pod| start_sfu(pod, &signal_url, &key)),
        )
    }

    /// `yunhui-sipgw` processes taking at most `max_calls` calls, each call
    /// out ringing for at most `ring_timeout_seconds`, for the SIP pool's pods.
    pub fn sip(
        client: &Client,
        ns: &str,
        signal_url: &str,
        key: &str,
        max_calls: u32,
        ring_timeout_seconds: u32,
    ) -> StandIns {
        let (signal_url, key) = (signal_url.to_string(), key.to_string());
        Self::start(
            client,
            ns,
            "sip",
            Box::new(move |pod| {
                start_sipgw(pod, &signal_url, &key, max_calls, ring_timeout_seconds)
            }),
        )
    }

    /// `yunhui-recorder` processes taking at most `max_jobs` jobs, their
    /// files going to the object store `store_env` names
    /// (`YUNHUI_RECORDINGS_S3_*`), for the recorder pool's pods.
    pub fn recorder(
        client: &Client,
        ns: &str,
        signal_url: &str,
        key: &str,
        store_env: Vec<(&'static str, String)>,
        max_jobs: u32,
    ) -> StandIns {
        let (signal_url, key) = (signal_url.to_string(), key.to_string());
        Self::start(
            client,
            ns,
            "recorder",
            Box::new(move |pod| start_recorder(pod, &signal_url, &key, &store_env, max_jobs)),
        )
    }

    fn start(client: &Client, ns: &str, component: &str, spawn: Spawn) -> StandIns {
        let nodes: Arc<std::sync::Mutex<BTreeMap<String, StandIn>>> = Arc::default();
        let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), ns);
        let shared = nodes.clone();
        let selector = format!("app.kubernetes.io/component={component}");
        let task = tokio::spawn(async move {
            loop {
                let listed = pods.list(&ListParams::default().labels(&selector)).await;
                if let Ok(listed) = listed {
                    let running: Vec<String> = listed
                        .items
                        .iter()
                        .filter(|p| p.metadata.deletion_timestamp.is_none())
                        .filter(|p| {
                            p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                        })
                        .map(|p| p.name_any())
                        .collect();
                    let mut nodes = shared.lock().expect("lock");
                    for pod in &running {
                        if !nodes.contains_key(pod) {
                            nodes.insert(pod.clone(), spawn(pod));
                        }
                    }
                    for (pod, node) in nodes.iter_mut() {
                        if !running.contains(pod) && !node.terminated {
                            // As the kubelet does when a pod goes.
                            let _ = std::process::Command::new("kill")
                                .args(["-TERM", &node.process.id().to_string()])
                                .status();
                            node.terminated = true;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
        StandIns {
            nodes,
            _task: AbortOnDrop(task),
        }
    }

    /// The control URL of `pod`'s process.
    pub fn control_url(&self, pod: &str) -> String {
        self.nodes.lock().expect("lock")[pod].control_url.clone()
    }

    /// Whether `pod`'s process has exited.
    pub fn exited(&self, pod: &str) -> bool {
        let mut nodes = self.nodes.lock().expect("lock");
        let node = nodes.get_mut(pod).expect("a process for the pod");
        matches!(node.process.try_wait(), Ok(Some(_)))
    }
}

/// Starts one `yunhui-sfu` stand-in for `pod` (capacity 10 participants).
fn start_sfu(pod: &str, signal_url: &str, key: &str) -> StandIn {
    let http = yunhui_testkit::free_port();
    let control_url = format!("http://127.0.0.1:{http}");
    let process = std::process::Command::new(yunhui_testkit::sfu_binary())
        .args([
            "--udp-listen",
            "127.0.0.1:0",
            "--advertised-ip",
            "127.0.0.1",
        ])
        .args(["--http-listen", &format!("127.0.0.1:{http}")])
        .args(["--signal-url", signal_url, "--node-id", pod])
        .args(["--advertise-control-url", &control_url, "--capacity", "10"])
        .env(yunhui_proto::env::INTERNAL_KEY, key)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("yunhui-sfu starts");
    StandIn {
        control_url,
        process,
        terminated: false,
        _volume: None,
    }
}

/// Starts one `yunhui-sipgw` stand-in for `pod`, on free local SIP and
/// control ports.
fn start_sipgw(
    pod: &str,
    signal_url: &str,
    key: &str,
    max_calls: u32,
    ring_timeout_seconds: u32,
) -> StandIn {
    let http = yunhui_testkit::free_port();
    let sip = yunhui_testkit::free_port();
    let control_url = format!("http://127.0.0.1:{http}");
    let process = std::process::Command::new(yunhui_testkit::service_binary("yunhui-sipgw"))
        .args([
            "--sip-port",
            &sip.to_string(),
            "--advertise-address",
            "127.0.0.1",
        ])
        .args(["--control-listen", &format!("127.0.0.1:{http}")])
        .args(["--signal-url", signal_url, "--gateway-id", pod])
        .args(["--control-url", &control_url])
        .args(["--max-calls", &max_calls.to_string()])
        .args(["--ring-timeout", &ring_timeout_seconds.to_string()])
        .args(["--drain-timeout", "600"])
        .env(yunhui_proto::env::INTERNAL_KEY, key)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("yunhui-sipgw starts");
    StandIn {
        control_url,
        process,
        terminated: false,
        _volume: None,
    }
}

/// Starts one `yunhui-recorder` stand-in for `pod` on a free local port,
/// with a volume of its own (the pod's `emptyDir`).
fn start_recorder(
    pod: &str,
    signal_url: &str,
    key: &str,
    store_env: &[(&'static str, String)],
    max_jobs: u32,
) -> StandIn {
    let http = yunhui_testkit::free_port();
    let control_url = format!("http://127.0.0.1:{http}");
    let volume = tempfile::tempdir().expect("the recorder's volume");
    let process = std::process::Command::new(yunhui_testkit::service_binary("yunhui-recorder"))
        .args(["--listen", &format!("127.0.0.1:{http}")])
        .args(["--signal-url", signal_url, "--media-bind", "127.0.0.1:0"])
        .args(["--advertise-url", &control_url, "--worker-id", pod])
        // Files are checked in the store; no Service serves them here.
        .args(["--shared-url", "http://127.0.0.1:9"])
        .args(["--max-jobs", &max_jobs.to_string()])
        .args(["--drain-timeout", "600"])
        .arg("--dir")
        .arg(volume.path())
        .envs(store_env.iter().map(|(k, v)| (*k, v.as_str())))
        .env(yunhui_proto::env::INTERNAL_KEY, key)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("yunhui-recorder starts");
    StandIn {
        control_url,
        process,
        terminated: false,
        _volume: Some(volume),
    }
}
