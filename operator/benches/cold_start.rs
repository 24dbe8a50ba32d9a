//! Operator cold start (docs/benchmarks.md, "Operator cold start").
//!
//! Starts a real control plane (`tests/kube/control-plane.sh`) and a real
//! signal, creates `--clusters` MediaClusters and `--tenants` Tenants while no
//! operator runs, then starts the `yunhui-operator` binary (as the operator's
//! user with the chart's RBAC) and measures the time until every MediaCluster
//! and every Tenant is `Ready=True` at its generation, the operator's peak
//! resident memory, and its API requests per object (from the audit log).
//! Then it leaves the converged objects alone for `--idle-minutes` and counts
//! the operator's writes meanwhile (from the audit log; the leader Lease's
//! renewals are counted apart), which should be none.
//!
//! ```text
//! cargo build --release -p yunhui-signal
//! cargo bench -p yunhui-operator --bench cold_start -- [--clusters 100] [--tenants 1000] [--idle-minutes 5]
//! ```
//!
//! Every MediaCluster points at the one signal (`spec.signal.externalUrl`),
//! whose internal key is put into each cluster's key Secret up front, so
//! Tenants really sync; each has an SFU pool of one HostPort pod on its own
//! ports. Tenants are spread evenly over the MediaClusters.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;
use yunhui_crds::media_cluster::SfuNetworking;
use yunhui_crds::{MediaCluster, ResourceStatus, Tenant};

use support::{ControlPlane, OPERATOR_USER, Signal, example, free_port, namespace, peak_rss_kib};

#[derive(Parser)]
#[command(about = "Operator cold start on a real control plane")]
struct Args {
    /// MediaClusters to create.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10000))]
    clusters: u32,
    /// Tenants to create (spread over the MediaClusters).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=100000))]
    tenants: u32,
    /// kwok nodes (each takes up to 110 pods).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    nodes: u32,
    /// Seconds to wait for everything to be Ready before giving up.
    #[arg(long, default_value_t = 1800)]
    timeout: u64,
    /// Minutes to leave everything alone after all-Ready, counting the
    /// operator's writes meanwhile (0: no idle window).
    #[arg(long, default_value_t = 5.0)]
    idle_minutes: f64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

const NAMESPACE: &str = "bench";
/// First host port of the SFU pools (two per MediaCluster: UDP, TCP).
const FIRST_PORT: u32 = 20000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    if FIRST_PORT + 2 * args.clusters > 65535 {
        eprintln!(
            "--clusters {} needs host ports past 65535; at most {}",
            args.clusters,
            (65535 - FIRST_PORT) / 2
        );
        std::process::exit(2);
    }
    let cp = ControlPlane::start("yunhui-operator-bench", args.nodes as usize).await;
    let admin = cp.admin().await;
    namespace(&admin, NAMESPACE).await;
    let key = "b".repeat(64);
    let signal = Signal::start(free_port(), &key).await;

    let created = Instant::now();
    create_objects(&admin, &args, &signal.url, &key).await;
    eprintln!(
        "created {} MediaClusters and {} Tenants in {:.1} s",
        args.clusters,
        args.tenants,
        created.elapsed().as_secs_f64()
    );

    let offset = cp.audit_offset();
    let started = Instant::now();
    let operator = cp.start_operator(
        env!("CARGO_BIN_EXE_yunhui-operator").as_ref(),
        &[("POD_NAME", "bench"), ("RUST_LOG", "error")],
    );
    let pid = operator.0.id();
    let mut peak_kib = 0;
    let mut last_report = Instant::now();
    let deadline = started + Duration::from_secs(args.timeout);
    let mcs: Api<MediaCluster> = Api::namespaced(admin.clone(), NAMESPACE);
    let tenants: Api<Tenant> = Api::namespaced(admin.clone(), NAMESPACE);
    loop {
        peak_kib = peak_kib.max(peak_rss_kib(pid).unwrap_or(0));
        let (ready_mcs, ready_tenants) = (ready(&mcs).await, ready(&tenants).await);
        if ready_mcs == Some(args.clusters as usize) && ready_tenants == Some(args.tenants as usize)
        {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "{:>5.0} s: ready MediaClusters {ready_mcs:?}, Tenants {ready_tenants:?}",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        if Instant::now() > deadline {
            eprintln!(
                "not all Ready after {} s (MediaClusters {ready_mcs:?}, Tenants {ready_tenants:?}); logs in {}",
                args.timeout,
                cp.dir.display()
            );
            std::process::exit(1);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let elapsed = started.elapsed();
    peak_kib = peak_kib.max(peak_rss_kib(pid).unwrap_or(0));
    let requests = cp.operator_requests(offset);
    let objects = (args.clusters + args.tenants) as f64;
    println!(
        "clusters={} tenants={} all_ready_s={:.1} operator_peak_rss_mib={:.1} operator_requests={} requests_per_object={:.2} by_verb={:?}",
        args.clusters,
        args.tenants,
        elapsed.as_secs_f64(),
        peak_kib as f64 / 1024.0,
        requests.len(),
        requests.len() as f64 / objects,
        count_by(&requests, |r| r["verb"].as_str().unwrap_or("?").to_string()),
    );
    println!(
        "by verb and resource: {:?}",
        count_by(&requests, verb_and_resource)
    );
    for resource in ["tenants", "mediaclusters"] {
        println!(
            "{resource}: objects by their status writes: {:?}",
            writes_per_object(&requests, resource, "status")
        );
    }

    if args.idle_minutes > 0.0 {
        let idle_offset = cp.audit_offset();
        let idle = Duration::from_secs_f64(args.idle_minutes * 60.0);
        let idle_started = Instant::now();
        eprintln!("idle for {:.1} min", args.idle_minutes);
        while idle_started.elapsed() < idle {
            peak_kib = peak_kib.max(peak_rss_kib(pid).unwrap_or(0));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let requests = cp.operator_requests(idle_offset);
        let (lease, writes): (Vec<_>, Vec<_>) = requests
            .iter()
            .filter(|r| is_write(r))
            .partition(|r| r["objectRef"]["resource"] == "leases");
        let reads = requests.iter().filter(|r| !is_write(r)).count();
        // What else changed meanwhile, which the operator's writes may follow
        // (e.g. the node lifecycle controller marking pods not Ready).
        let others = cp.audit_events(idle_offset);
        let others: Vec<&serde_json::Value> = others
            .iter()
            .filter(|e| is_write(e) && e["user"]["username"] != OPERATOR_USER)
            .filter(|e| e["objectRef"]["resource"] != "leases")
            .collect();
        println!(
            "idle_minutes={} idle_writes={} idle_reads={} lease_renewals={} operator_peak_rss_mib={:.1} idle_writes_by_resource={:?}",
            args.idle_minutes,
            writes.len(),
            reads,
            lease.len(),
            peak_kib as f64 / 1024.0,
            count_by(&writes, verb_and_resource),
        );
        println!(
            "idle writes of others (leases apart) by user and resource: {:?}",
            count_by(&others, |e| format!(
                "{} {}",
                e["user"]["username"].as_str().unwrap_or("?"),
                verb_and_resource(e)
            )),
        );
    }
    drop(operator);
}

/// Whether an audit event is a write.
fn is_write(event: &serde_json::Value) -> bool {
    matches!(
        event["verb"].as_str(),
        Some("create" | "update" | "patch" | "delete" | "deletecollection")
    )
}

/// `verb resource[/subresource]` of an audit event.
fn verb_and_resource(event: &serde_json::Value) -> String {
    let object = &event["objectRef"];
    format!(
        "{} {}{}",
        event["verb"].as_str().unwrap_or("?"),
        object["resource"].as_str().unwrap_or("?"),
        object["subresource"]
            .as_str()
            .map(|s| format!("/{s}"))
            .unwrap_or_default()
    )
}

/// How many objects of `resource` got 1, 2, … writes of `subresource`.
fn writes_per_object(
    events: &[serde_json::Value],
    resource: &str,
    subresource: &str,
) -> BTreeMap<usize, usize> {
    let per_object = count_by(
        &events
            .iter()
            .filter(|e| {
                is_write(e)
                    && e["objectRef"]["resource"] == resource
                    && e["objectRef"]["subresource"] == subresource
            })
            .collect::<Vec<_>>(),
        |e| e["objectRef"]["name"].as_str().unwrap_or("?").to_string(),
    );
    let mut histogram = BTreeMap::new();
    for writes in per_object.into_values() {
        *histogram.entry(writes).or_default() += 1;
    }
    histogram
}

/// How many of `events` give each key.
fn count_by<T: std::borrow::Borrow<serde_json::Value>>(
    events: &[T],
    key: impl Fn(&serde_json::Value) -> String,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for event in events {
        *counts.entry(key(event.borrow())).or_default() += 1;
    }
    counts
}

/// Creates the MediaClusters (with their key Secrets) and the Tenants.
async fn create_objects(admin: &Client, args: &Args, signal_url: &str, key: &str) {
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), NAMESPACE);
    let mcs: Api<MediaCluster> = Api::namespaced(admin.clone(), NAMESPACE);
    let tenants: Api<Tenant> = Api::namespaced(admin.clone(), NAMESPACE);
    let pp = PostParams::default();
    for i in 0..args.clusters {
        let name = format!("mc-{i}");
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": format!("{name}-keys")},
            "stringData": {"internal-key": key, "token-signing-key": format!("{key}{i}")}
        }))
        .expect("secret");
        secrets.create(&pp, &secret).await.expect("key Secret");
        let mut mc = example::<MediaCluster>("media-cluster.yaml");
        mc.metadata.name = Some(name);
        mc.spec.signal.external_url = Some(signal_url.to_string());
        mc.spec.sfu.networking = SfuNetworking::HostPort;
        mc.spec.sfu.udp_port = (FIRST_PORT + 2 * i) as i32;
        mc.spec.sfu.tcp_port = (FIRST_PORT + 2 * i + 1) as i32;
        mcs.create(&pp, &mc).await.expect("MediaCluster");
    }
    for i in 0..args.tenants {
        let mut t = example::<Tenant>("tenant.yaml");
        t.metadata.name = Some(format!("tenant-{i}"));
        t.spec.display_name = format!("Tenant {i}");
        t.spec.media_cluster = format!("mc-{}", i % args.clusters);
        tenants.create(&pp, &t).await.expect("Tenant");
    }
}

/// How many objects of `api` are `Ready=True` at their generation (`None`
/// when the list fails, e.g. an API server timeout under load).
async fn ready<K>(api: &Api<K>) -> Option<usize>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + HasStatus,
{
    let list = api.list(&ListParams::default()).await.ok()?;
    Some(
        list.items
            .iter()
            .filter(|o| {
                o.ready_status().is_some_and(|s| {
                    s.is_ready()
                        && s.condition("Ready")
                            .is_some_and(|c| c.observed_generation == o.meta().generation)
                })
            })
            .count(),
    )
}

/// The status of a Yunhui resource, whichever kind.
trait HasStatus {
    fn ready_status(&self) -> Option<&dyn ResourceStatus>;
}

impl HasStatus for MediaCluster {
    fn ready_status(&self) -> Option<&dyn ResourceStatus> {
        self.status.as_ref().map(|s| s as &dyn ResourceStatus)
    }
}

impl HasStatus for Tenant {
    fn ready_status(&self) -> Option<&dyn ResourceStatus> {
        self.status.as_ref().map(|s| s as &dyn ResourceStatus)
    }
}
