//! Fan-out benchmark: one publisher (Opus audio + VP8 video at realistic
//! rates), N subscribers, all Rust SDK clients over real UDP on loopback,
//! against a `yunhui-sfu` node running as its own process (so its CPU time is
//! measured apart from the clients'). With `--transport tcp` the subscribers
//! have no UDP and receive over ICE-TCP (the publisher stays on UDP).
//!
//! Reports per N: forwarded packets per second, SFU CPU-seconds per million
//! forwarded packets, and p50/p99 forwarding delay inside the SFU (from its
//! `yunhui_sfu_forwarding_delay_seconds` histogram).
//!
//! ```sh
//! cargo bench -p yunhui-sfu --bench fanout -- --subscribers 1,5,10,25 --seconds 10
//! cargo bench -p yunhui-sfu --bench fanout -- --subscribers 1,5,10 --transport tcp
//! ```
//!
//! Other options: `--video-bitrate BPS` (default 1200000), `--warmup SECS`
//! (after the last subscriber joined, default 3), `--fresh-node` (a new SFU
//! process for each N, so its memory figures are that case's alone) and
//! `--results FILE` (appends one `key=value` line per N, with the SFU's
//! VmRSS and VmHWM, for `bench/sfu-side-by-side`).
//!
//! Over ICE-TCP the delay ends when a packet is queued on its connection, before
//! the connection's task writes it.

#[path = "../tests/support/tcp_only.rs"]
mod tcp_only;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tcp_only::TcpOnlySubscriber;
use yunhui_client::media::{Publisher, Subscriber, SyntheticMedia};
use yunhui_client::media_control::HttpControl;
use yunhui_sfu::control::MediaControl;

/// A subscriber of the benchmark, over UDP (the SDK's) or over ICE-TCP only.
enum BenchSubscriber {
    Udp(Subscriber),
    Tcp(TcpOnlySubscriber),
}

impl BenchSubscriber {
    async fn new(tcp: bool) -> Self {
        if tcp {
            Self::Tcp(TcpOnlySubscriber::new().await)
        } else {
            Self::Udp(Subscriber::new("127.0.0.1:0").await.expect("subscriber"))
        }
    }

    async fn apply_offer(&self, sdp: &str) -> String {
        match self {
            Self::Udp(sub) => sub.apply_offer(sdp).await.expect("apply offer"),
            Self::Tcp(sub) => sub.apply_offer(sdp).await,
        }
    }

    fn packets(&self) -> u64 {
        match self {
            Self::Udp(sub) => sub.tracks().iter().map(|t| t.packets()).sum(),
            Self::Tcp(sub) => sub.total_packets(),
        }
    }

    async fn close(&self) {
        match self {
            Self::Udp(sub) => sub.close().await,
            Self::Tcp(sub) => sub.close().await,
        }
    }
}

const KEY: &str = "benchmark-internal-key";
/// Linux reports process times in USER_HZ ticks, 100 per second on every
/// architecture Yunhui ships for.
const TICKS_PER_SECOND: f64 = 100.0;

struct Node {
    child: Child,
    http: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port(udp: bool) -> u16 {
    if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port())
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port())
    }
    .expect("free port")
}

async fn start_node() -> Node {
    let http_port = free_port(false);
    let child = Command::new(env!("CARGO_BIN_EXE_yunhui-sfu"))
        .args(["--udp-listen", &format!("127.0.0.1:{}", free_port(true))])
        .args(["--advertised-ip", "127.0.0.1"])
        .args(["--http-listen", &format!("127.0.0.1:{http_port}")])
        .env("YUNHUI_INTERNAL_KEY", KEY)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start yunhui-sfu");
    let node = Node {
        child,
        http: format!("http://127.0.0.1:{http_port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{}/healthz", node.http))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "yunhui-sfu did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node
}

/// CPU seconds (user + system) the process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    ticks / TICKS_PER_SECOND
}

/// Cumulative (upper bound, count) pairs of the forwarding-delay histogram.
async fn delay_buckets(node: &Node) -> Vec<(f64, f64)> {
    let text = reqwest::get(format!("{}/metrics", node.http))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("yunhui_sfu_forwarding_delay_seconds_bucket{le=\"")?;
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, count.trim().parse().ok()?))
        })
        .collect()
}

/// The `q` quantile of the difference of two cumulative histograms, by
/// linear interpolation inside the bucket.
fn quantile(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> f64 {
    let counts: Vec<(f64, f64)> = after
        .iter()
        .zip(before)
        .map(|((le, a), (_, b))| (*le, a - b))
        .collect();
    let total = counts.last().map(|(_, c)| *c).unwrap_or(0.0);
    if total <= 0.0 {
        return f64::NAN;
    }
    let target = q * total;
    let mut lower = (0.0, 0.0);
    for (le, cumulative) in counts {
        if cumulative >= target {
            if le.is_infinite() {
                return lower.0;
            }
            let in_bucket = cumulative - lower.1;
            let frac = if in_bucket > 0.0 {
                (target - lower.1) / in_bucket
            } else {
                1.0
            };
            return lower.0 + (le - lower.0) * frac;
        }
        lower = (le, cumulative);
    }
    lower.0
}

/// VmRSS and VmHWM of the process, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Figures {
    subscribers: usize,
    seconds: f64,
    published_pps: f64,
    forwarded_pps: f64,
    delivered_pps: f64,
    cpu_per_million: f64,
    sfu_cpu_share: f64,
    rss_mib: f64,
    hwm_mib: f64,
    p50_us: f64,
    p99_us: f64,
}

impl Figures {
    /// The machine-readable line `--results` appends (the keys the LiveKit
    /// client of `bench/livekit` writes too).
    fn line(&self) -> String {
        format!(
            "server=yunhui subscribers={} seconds={:.1} published_pps={:.1} forwarded_pps={:.1} \
             delivered_pps={:.1} retransmitted_pps=0.0 cpu_per_million={:.3} cores={:.4} \
             rss_mib={:.1} hwm_mib={:.1} p50_us={:.1} p99_us={:.1}",
            self.subscribers,
            self.seconds,
            self.published_pps,
            self.forwarded_pps,
            self.delivered_pps,
            self.cpu_per_million,
            self.sfu_cpu_share,
            self.rss_mib,
            self.hwm_mib,
            self.p50_us,
            self.p99_us
        )
    }
}

/// What one run measures, apart from the number of subscribers.
struct Case {
    seconds: u64,
    warmup: u64,
    tcp: bool,
    media: SyntheticMedia,
}

async fn run_case(node: &Node, control: &HttpControl, subscribers: usize, case: &Case) -> Figures {
    let Case {
        seconds,
        warmup,
        tcp,
        ..
    } = *case;
    let room = format!("bench-{subscribers}");
    control.create_room(&room).await.expect("create room");
    control
        .add_participant(&room, "publisher")
        .await
        .expect("add publisher");
    let publisher = Publisher::new("publisher", "127.0.0.1:0")
        .await
        .expect("publisher");
    let offer = publisher.create_offer().await.expect("offer");
    let answer = control
        .publish(&room, "publisher", &offer)
        .await
        .expect("publish");
    publisher.apply_answer(&answer).await.expect("apply answer");
    publisher.start_synthetic_media(case.media);

    let mut subs = Vec::new();
    for i in 0..subscribers {
        let id = format!("subscriber-{i}");
        control
            .add_participant(&room, &id)
            .await
            .expect("add subscriber");
        let sub = BenchSubscriber::new(tcp).await;
        let mut offer = control
            .subscribe_offer(&room, &id)
            .await
            .expect("subscribe offer");
        while let Some(sdp) = offer {
            let answer = sub.apply_offer(&sdp).await;
            offer = control
                .subscribe_answer(&room, &id, &answer)
                .await
                .expect("subscribe answer");
        }
        subs.push(sub);
    }
    // Let ICE, DTLS and the first keyframes settle.
    tokio::time::sleep(Duration::from_secs(warmup)).await;

    let received = |subs: &[BenchSubscriber]| -> u64 { subs.iter().map(|s| s.packets()).sum() };
    let pid = node.child.id();
    let stats0 = control.node_stats().await.expect("stats");
    let cpu0 = cpu_seconds(pid);
    let buckets0 = delay_buckets(node).await;
    let stats = publisher.stats();
    let sent = || {
        stats.audio_packets.load(Ordering::Relaxed) + stats.video_packets.load(Ordering::Relaxed)
    };
    let recv0 = received(&subs);
    let sent0 = sent();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let stats1 = control.node_stats().await.expect("stats");
    let cpu1 = cpu_seconds(pid);
    let buckets1 = delay_buckets(node).await;
    let recv1 = received(&subs);
    let sent1 = sent();
    let (rss_mib, hwm_mib) = memory_mib(pid);

    let forwarded = (stats1.forwarded_packets - stats0.forwarded_packets) as f64;
    let figures = Figures {
        subscribers,
        seconds: elapsed,
        published_pps: (sent1 - sent0) as f64 / elapsed,
        forwarded_pps: forwarded / elapsed,
        delivered_pps: (recv1 - recv0) as f64 / elapsed,
        cpu_per_million: if forwarded > 0.0 {
            (cpu1 - cpu0) / forwarded * 1e6
        } else {
            f64::NAN
        },
        sfu_cpu_share: (cpu1 - cpu0) / elapsed,
        rss_mib,
        hwm_mib,
        p50_us: quantile(&buckets0, &buckets1, 0.50) * 1e6,
        p99_us: quantile(&buckets0, &buckets1, 0.99) * 1e6,
    };
    publisher.close().await;
    for sub in &subs {
        sub.close().await;
    }
    control.close_room(&room).await.expect("close room");
    figures
}

fn number(value: Option<String>, option: &str) -> u64 {
    value
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{option} needs a number"))
}

#[tokio::main]
async fn main() {
    let mut subscribers = vec![1usize, 5, 10, 25];
    let mut case = Case {
        seconds: 10,
        warmup: 3,
        tcp: false,
        media: SyntheticMedia::default(),
    };
    let mut fresh_node = false;
    let mut results: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--subscribers" => {
                subscribers = args
                    .next()
                    .expect("--subscribers needs a list, e.g. 1,5,10")
                    .split(',')
                    .map(|n| n.trim().parse().expect("subscriber counts are numbers"))
                    .collect();
            }
            "--seconds" => case.seconds = number(args.next(), "--seconds"),
            "--warmup" => case.warmup = number(args.next(), "--warmup"),
            "--video-bitrate" => {
                case.media.video_bitrate = u32::try_from(number(args.next(), "--video-bitrate"))
                    .expect("--video-bitrate fits in 32 bits");
            }
            "--fresh-node" => fresh_node = true,
            "--results" => results = Some(args.next().expect("--results needs a file")),
            "--transport" => {
                case.tcp = match args.next().as_deref() {
                    Some("udp") => false,
                    Some("tcp") => true,
                    other => panic!("--transport is udp or tcp, not {other:?}"),
                };
            }
            _ => {} // `cargo bench` passes `--bench`
        }
    }
    let mut node = start_node().await;
    println!(
        "| subscribers | forwarded pkt/s | delivered pkt/s | SFU CPU-s per 1M pkts | SFU CPU (cores) | delay p50 (µs) | delay p99 (µs) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (i, n) in subscribers.into_iter().enumerate() {
        if fresh_node && i > 0 {
            drop(node);
            node = start_node().await;
        }
        let control = HttpControl::new(&node.http, KEY);
        let f = run_case(&node, &control, n, &case).await;
        println!(
            "| {} | {:.0} | {:.0} | {:.2} | {:.3} | {:.1} | {:.1} |",
            f.subscribers,
            f.forwarded_pps,
            f.delivered_pps,
            f.cpu_per_million,
            f.sfu_cpu_share,
            f.p50_us,
            f.p99_us
        );
        if let Some(path) = &results {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("open --results file");
            writeln!(file, "{}", f.line()).expect("write --results file");
        }
    }
}
