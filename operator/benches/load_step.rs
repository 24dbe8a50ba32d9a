//! From a load step to a new SFU node taking rooms (docs/benchmarks.md,
//! "A load step").
//!
//! A real control plane (`tests/kube/control-plane.sh`, kwok nodes), the
//! `yunhui-operator` binary, a real signal, and real `yunhui-sfu` processes
//! standing in for the SFU pool's kwok pods (`tests/support/stand_ins.rs`),
//! each taking 10 participants. The MediaCluster's pool is
//! `networking: HostPort`, 1 to 3 nodes at a 70 % target, with a 3 s
//! scale-down window. Each round, on a pool of one node:
//!
//! 1. the step: 8 guests join one meeting on signaling sockets (signal adds
//!    them to the room on the node: 80 % of its capacity);
//! 2. measured from the last of those joins: the Deployment asks for a
//!    second pod, the pod runs, its node reports to signal, and a new
//!    meeting's first join is placed on it;
//! 3. everyone leaves, and the time until the pool is one pod again (the
//!    window, then the empty node's drain and removal) is measured too.
//!
//! ```text
//! cargo build --release -p yunhui-signal -p yunhui-sfu
//! cargo bench -p yunhui-operator --bench load_step -- [--rounds 3]
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use clap::Parser;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use yunhui_client::api::ApiClient;
use yunhui_client::signaling::SignalingClient;
use yunhui_crds::MediaCluster;
use yunhui_crds::media_cluster::SfuNetworking;
use yunhui_proto::api::{CreateMeetingRequest, RegisterRequest};
use yunhui_proto::media::MediaNodeList;
use yunhui_proto::signaling::{ClientMessage, ServerMessage};

use support::stand_ins::{StandIns, generated_internal_key};
use support::{ControlPlane, Signal, create, example, free_port, namespace, wait};

#[derive(Parser)]
#[command(about = "From a load step to a new SFU node taking rooms")]
struct Args {
    /// Load steps to measure, one after the other.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

const NAMESPACE: &str = "bench";
/// Guests of the step's meeting: 8 of a node's 10, over the 70 % target.
const STEP_GUESTS: usize = 8;
const PASSWORD: &str = "load-step-bench-1";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let cp = ControlPlane::start("yunhui-load-step-bench", 3).await;
    let admin = cp.admin().await;
    namespace(&admin, NAMESPACE).await;
    let port = free_port();
    let signal_url = format!("http://127.0.0.1:{port}");
    let mut mc = example::<MediaCluster>("media-cluster.yaml");
    mc.spec.signal.external_url = Some(signal_url.clone());
    let sfu = &mut mc.spec.sfu;
    sfu.networking = SfuNetworking::HostPort;
    (sfu.udp_port, sfu.tcp_port) = (47982, 47981);
    (sfu.min_nodes, sfu.max_nodes, sfu.target_load_percent) = (1, 3, 70);
    sfu.scale_down_window_seconds = 3;
    sfu.drain_timeout_seconds = 60;
    create(&admin, NAMESPACE, &mc).await;
    let _operator = cp.start_operator(
        env!("CARGO_BIN_EXE_yunhui-operator").as_ref(),
        &[("POD_NAME", "load-step"), ("RUST_LOG", "error")],
    );
    let key = generated_internal_key(&admin, NAMESPACE, "prod").await;
    let _signal = Signal::start(port, &key).await;
    let _stand_ins = StandIns::sfu(&admin, NAMESPACE, &signal_url, &key);
    let pool = Pool {
        client: admin.clone(),
        http: reqwest::Client::new(),
        signal_url: signal_url.clone(),
        key,
    };
    let host = host(&signal_url).await;

    println!(
        "| round | replicas asked (s) | pod running (s) | node reporting (s) | new meeting placed on it (s) | load ends → one node again (s) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for round in 1..=args.rounds {
        let first = wait("a pool of one reporting node", 180, || pool.reporting(1))
            .await
            .remove(0);
        let step = host
            .create_meeting(&CreateMeetingRequest::default())
            .await
            .expect("the step's meeting");
        let mut guests = Vec::new();
        for i in 0..STEP_GUESTS {
            guests.push(guest(&signal_url, &step.number, &format!("Guest {i}")).await);
        }
        let stepped = Instant::now();
        let since = |t: Instant| t.duration_since(stepped).as_secs_f64();
        let asked = wait("two replicas asked for", 120, || async {
            (pool.replicas().await? >= 2).then(Instant::now)
        })
        .await;
        let (running, second) = wait("a second pod running", 120, || async {
            let pods = pool.running_pods().await?;
            let second = pods.into_iter().find(|p| *p != first)?;
            Some((Instant::now(), second))
        })
        .await;
        let reporting = wait("the second node reporting to signal", 120, || async {
            let nodes = pool.nodes().await?;
            nodes
                .iter()
                .any(|n| n.live && !n.draining && n.node_id == second)
                .then(Instant::now)
        })
        .await;
        let probe_meeting = host
            .create_meeting(&CreateMeetingRequest::default())
            .await
            .expect("the probe's meeting");
        let probe = guest(&signal_url, &probe_meeting.number, "Probe").await;
        let placed = Instant::now();
        let on_second = pool
            .nodes()
            .await
            .and_then(|nodes| nodes.into_iter().find(|n| n.node_id == second))
            .is_some_and(|n| n.rooms >= 1);
        // The node's report that shows the room may lag a second behind.
        let on_second = on_second
            || wait("the probe's room on the second node", 10, || async {
                let nodes = pool.nodes().await?;
                nodes
                    .iter()
                    .any(|n| n.node_id == second && n.rooms >= 1)
                    .then_some(true)
            })
            .await;
        assert!(on_second, "the new meeting was placed on the new node");

        let ended = Instant::now();
        for guest in guests.into_iter().chain([probe]) {
            let _ = guest.close().await;
        }
        wait("one pod again", 300, || async {
            (pool.running_pods().await?.len() == 1 && pool.replicas().await? == 1).then_some(())
        })
        .await;
        println!(
            "| {round} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
            since(asked),
            since(running),
            since(reporting),
            since(placed),
            ended.elapsed().as_secs_f64(),
        );
    }
}

/// The SFU pool as the bench watches it.
struct Pool {
    client: Client,
    http: reqwest::Client,
    signal_url: String,
    key: String,
}

impl Pool {
    /// The replicas the SFU pool's Deployment asks for.
    async fn replicas(&self) -> Option<i32> {
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), NAMESPACE);
        deployments.get("prod-sfu").await.ok()?.spec?.replicas
    }

    /// The pool's Running pods that are not being deleted.
    async fn running_pods(&self) -> Option<Vec<String>> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), NAMESPACE);
        let listed = pods
            .list(&ListParams::default().labels("app.kubernetes.io/component=sfu"))
            .await
            .ok()?;
        Some(
            listed
                .items
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
                .map(|p| p.name_any())
                .collect(),
        )
    }

    /// Signal's node table.
    async fn nodes(&self) -> Option<Vec<yunhui_proto::media::MediaNodeLoad>> {
        let list: MediaNodeList = self
            .http
            .get(format!("{}/internal/v1/media-nodes", self.signal_url))
            .bearer_auth(&self.key)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        Some(list.nodes)
    }

    /// The pool's pods, once exactly `n` run and each one's node reports.
    async fn reporting(&self, n: usize) -> Option<Vec<String>> {
        let pods = self.running_pods().await?;
        let nodes = self.nodes().await?;
        let all = pods
            .iter()
            .all(|p| nodes.iter().any(|node| node.live && &node.node_id == p));
        (pods.len() == n && all).then_some(pods)
    }
}

/// A signed-in account that opens the meetings.
async fn host(signal_url: &str) -> ApiClient {
    let login = "load-step-host@example.com";
    let mut host = ApiClient::new(signal_url);
    host.register(&RegisterRequest {
        email: Some(login.into()),
        phone: None,
        password: PASSWORD.into(),
        display_name: "Load step host".into(),
        tenant_id: None,
    })
    .await
    .expect("register the host");
    host.login(login, PASSWORD).await.expect("sign the host in");
    host
}

/// A guest joined to meeting `number` on a signaling socket of its own.
async fn guest(signal_url: &str, number: &str, name: &str) -> SignalingClient {
    let (mut client, _) = SignalingClient::connect(signal_url)
        .await
        .expect("a signaling socket");
    client
        .send(&ClientMessage::Join {
            meeting_number: number.into(),
            display_name: name.into(),
            password: None,
            link_key: None,
            token: None,
            device_id: None,
            dial_ticket: None,
            recorder_ticket: None,
        })
        .await
        .expect("send join");
    client
        .recv_until(Duration::from_secs(30), |m| match m {
            ServerMessage::Joined { .. } => Some(Ok(())),
            ServerMessage::Error { code, message } => Some(Err(format!("{code:?}: {message}"))),
            _ => None,
        })
        .await
        .expect("an answer to the join")
        .expect("joined");
    client
}
