//! Fan-out benchmark: one publisher (Opus audio + VP8 video at realistic
//! rates), N subscribers, all Rust SDK clients over real UDP on loopback,
//! against a `yunhui-sfu` node running as its own process (so its CPU time is
//! measured apart from the clients'). The publisher is always on UDP; with
//! `--transport` the subscribers reach the node another way:
//!
//! - `tcp`: no UDP, ICE-TCP only (`tests/support/tcp_only.rs`);
//! - `turn-tls`: only through the node's TURN server over TLS, as from a
//!   network that lets only TLS 443 out (`tests/support/turn_only.rs`): each
//!   allocates with REST-API credentials, binds a channel to the node's media
//!   address, and all its ICE, DTLS and SRTP packets travel as ChannelData over
//!   the TLS connection;
//! - `turn-udp`: the SDK's subscriber with relay candidates only over the
//!   node's TURN server on UDP (webrtc-rs's own TURN client); give it
//!   `--warmup 10`, as some of its relays take more than 3 s to connect.
//!
//! With `turn-*` the node serves TURN (UDP/TCP and TLS, a fresh self-signed
//! certificate), and the bench checks that the media really went through
//! it: the node's `yunhui_sfu_turn_relayed_bytes_total` must grow by at least
//! 100 bytes per delivered packet, and over TLS the relays must have handed
//! the peer connections at least as many datagrams as they counted RTP packets.
//!
//! Reports per N: forwarded packets per second, SFU CPU-seconds per million
//! forwarded packets, and p50/p99 forwarding delay inside the SFU (from its
//! `yunhui_sfu_forwarding_delay_seconds` histogram). The CPU time is the whole
//! node process's (`/proc/<pid>/stat` sums every thread), so over TURN it
//! includes the TURN server's tasks on the same runtime: TLS, framing, the
//! relay sockets.
//!
//! ```sh
//! cargo bench -p yunhui-sfu --bench fanout -- --subscribers 1,5,10,25 --seconds 10
//! cargo bench -p yunhui-sfu --bench fanout -- --subscribers 1,5,10 --transport tcp
//! cargo bench -p yunhui-sfu --bench fanout -- --subscribers 10 --transport turn-tls
//! ```
//!
//! Other options: `--video-bitrate BPS` (default 1200000), `--warmup SECS`
//! (after the last subscriber joined, default 3), `--fresh-node` (a new SFU
//! process for each N, so its memory figures are that case's alone) and
//! `--results FILE` (appends one `key=value` line per N, with the SFU's
//! VmRSS and VmHWM, for `bench/sfu-side-by-side`).
//!
//! What the delay covers: from a packet's arrival on the node's media socket
//! to the send of each forwarded copy. Over ICE-TCP it ends when a copy is
//! queued on its connection, before the connection's task writes it. Over
//! TURN it ends at the media socket's send to the relayed address; the TURN
//! server's part (the relay socket's receive, ChannelData framing, TLS
//! encryption, the write to the client) comes after it, and is in the CPU
//! figure but not in the delay.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use support::tcp_only::TcpOnlySubscriber;
use support::turn_only::{TurnTlsServer, TurnTlsSubscriber};
use yunhui_client::media::{IceOptions, Publisher, Subscriber, SyntheticMedia};
use yunhui_client::media_control::HttpControl;
use yunhui_proto::turn::{TurnCredentials, TurnEndpoints};
use yunhui_sfu::control::MediaControl;

/// How the subscribers reach the node.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
    TurnUdp,
    TurnTls,
}

impl Transport {
    fn parse(name: Option<&str>) -> Self {
        match name {
            Some("udp") => Self::Udp,
            Some("tcp") => Self::Tcp,
            Some("turn-udp") => Self::TurnUdp,
            Some("turn-tls") => Self::TurnTls,
            other => panic!("--transport is udp, tcp, turn-udp or turn-tls, not {other:?}"),
        }
    }

    fn turn(self) -> bool {
        matches!(self, Self::TurnUdp | Self::TurnTls)
    }
}

/// A subscriber of the benchmark, in one of the ways of [`Transport`].
enum BenchSubscriber {
    Udp(Subscriber),
    Tcp(TcpOnlySubscriber),
    TurnTls(TurnTlsSubscriber),
}

impl BenchSubscriber {
    async fn new(transport: Transport, node: &Node, participant: &str) -> Self {
        let credentials = || {
            TurnCredentials::issue(
                TURN_SECRET.as_bytes(),
                participant,
                SystemTime::now(),
                Duration::from_secs(3600),
            )
        };
        let turn = || node.turn.as_ref().expect("the node serves TURN");
        match transport {
            Transport::Udp => Self::Udp(Subscriber::new("127.0.0.1:0").await.expect("subscriber")),
            Transport::Tcp => Self::Tcp(TcpOnlySubscriber::new().await),
            Transport::TurnUdp => {
                // What signal hands out, without the TLS port: webrtc-rs uses
                // `turn:…?transport=udp` only.
                let endpoints = TurnEndpoints {
                    host: turn().udp.ip().to_string(),
                    port: turn().udp.port(),
                    tls_port: None,
                };
                let ice = IceOptions {
                    ice_servers: vec![credentials().ice_server(&endpoints)],
                    relay_only: true,
                    ..IceOptions::default()
                };
                Self::Udp(
                    Subscriber::with_ice("127.0.0.1:0", &ice)
                        .await
                        .expect("relay-only subscriber"),
                )
            }
            Transport::TurnTls => {
                let issued = credentials();
                let server = TurnTlsServer {
                    addr: turn().tls,
                    cert: turn().cert.clone(),
                    username: issued.username,
                    password: issued.password,
                };
                Self::TurnTls(TurnTlsSubscriber::new(&server, node.media).await)
            }
        }
    }

    async fn apply_offer(&self, sdp: &str) -> String {
        match self {
            Self::Udp(sub) => sub.apply_offer(sdp).await.expect("apply offer"),
            Self::Tcp(sub) => sub.apply_offer(sdp).await,
            Self::TurnTls(sub) => sub.apply_offer(sdp).await,
        }
    }

    fn packets(&self) -> u64 {
        match self {
            Self::Udp(sub) => sub.tracks().iter().map(|t| t.packets()).sum(),
            Self::Tcp(sub) => sub.total_packets(),
            Self::TurnTls(sub) => sub.total_packets(),
        }
    }

    /// Datagrams its TURN/TLS relay handed the peer connection (0 otherwise).
    fn relayed_to_peer(&self) -> u64 {
        match self {
            Self::TurnTls(sub) => sub.relay().counters().to_peer.load(Ordering::Relaxed),
            _ => 0,
        }
    }

    async fn close(&self) {
        match self {
            Self::Udp(sub) => sub.close().await,
            Self::Tcp(sub) => sub.close().await,
            Self::TurnTls(sub) => sub.close().await,
        }
    }
}

const KEY: &str = "benchmark-internal-key";
/// The TURN REST-API secret the node and the bench share.
const TURN_SECRET: &str = "benchmark-turn-secret";
/// Linux reports process times in USER_HZ ticks, 100 per second on every
/// architecture Yunhui ships for.
const TICKS_PER_SECOND: f64 = 100.0;

struct Node {
    child: Child,
    http: String,
    /// The UDP media address (the node's only UDP candidate).
    media: SocketAddr,
    turn: Option<NodeTurn>,
}

/// The node's TURN server, when it serves one.
struct NodeTurn {
    /// TURN over UDP and TCP (one port).
    udp: SocketAddr,
    /// TURN over TLS.
    tls: SocketAddr,
    /// Its self-signed certificate, for `localhost`.
    cert: rustls_pki_types::CertificateDer<'static>,
    /// Where the certificate and key files are, while the node runs.
    _files: tempfile::TempDir,
}

impl NodeTurn {
    /// TURN ports and a fresh certificate, and the node's arguments for them.
    fn new() -> (Self, Vec<String>) {
        let files = tempfile::tempdir().expect("temporary directory");
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
        let (cert_file, key_file) = (files.path().join("cert.pem"), files.path().join("key.pem"));
        std::fs::write(&cert_file, certified.cert.pem()).expect("write certificate");
        std::fs::write(&key_file, certified.signing_key.serialize_pem()).expect("write key");
        let turn = NodeTurn {
            udp: SocketAddr::from(([127, 0, 0, 1], free_port(false))),
            tls: SocketAddr::from(([127, 0, 0, 1], free_port(false))),
            cert: certified.cert.der().clone(),
            _files: files,
        };
        let args = vec![
            "--turn-port".to_owned(),
            turn.udp.port().to_string(),
            "--turn-tls-port".to_owned(),
            turn.tls.port().to_string(),
            "--turn-tls-cert".to_owned(),
            cert_file.display().to_string(),
            "--turn-tls-key".to_owned(),
            key_file.display().to_string(),
            "--turn-secret".to_owned(),
            TURN_SECRET.to_owned(),
        ];
        (turn, args)
    }
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

/// Starts a node, serving TURN when `turn`.
async fn start_node(turn: bool) -> Node {
    let http_port = free_port(false);
    let media = SocketAddr::from(([127, 0, 0, 1], free_port(true)));
    let (turn, turn_args) = if turn {
        let (turn, args) = NodeTurn::new();
        (Some(turn), args)
    } else {
        (None, Vec::new())
    };
    let child = Command::new(env!("CARGO_BIN_EXE_yunhui-sfu"))
        .args(["--udp-listen", &media.to_string()])
        .args(["--advertised-ip", "127.0.0.1"])
        .args(["--http-listen", &format!("127.0.0.1:{http_port}")])
        .args(turn_args)
        .env("YUNHUI_INTERNAL_KEY", KEY)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start yunhui-sfu");
    let node = Node {
        child,
        http: format!("http://127.0.0.1:{http_port}"),
        media,
        turn,
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

/// What the bench reads from the node's metrics.
struct Scrape {
    /// Cumulative (upper bound, count) pairs of the forwarding-delay histogram.
    delay_buckets: Vec<(f64, f64)>,
    /// Bytes the node's TURN server relayed, both ways (0 without TURN).
    relayed_bytes: f64,
}

async fn scrape(node: &Node) -> Scrape {
    let text = reqwest::get(format!("{}/metrics", node.http))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    let relayed_bytes = text
        .lines()
        .find_map(|l| l.strip_prefix("yunhui_sfu_turn_relayed_bytes_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let delay_buckets = text
        .lines()
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
        .collect();
    Scrape {
        delay_buckets,
        relayed_bytes,
    }
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
    /// Bytes per second the node's TURN server relayed, both ways.
    relayed_bps: f64,
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
    transport: Transport,
    media: SyntheticMedia,
}

async fn run_case(node: &Node, control: &HttpControl, subscribers: usize, case: &Case) -> Figures {
    let Case {
        seconds,
        warmup,
        transport,
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
        let sub = BenchSubscriber::new(transport, node, &id).await;
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
    let relayed_to_peers =
        |subs: &[BenchSubscriber]| -> u64 { subs.iter().map(|s| s.relayed_to_peer()).sum() };
    let pid = node.child.id();
    let stats0 = control.node_stats().await.expect("stats");
    let cpu0 = cpu_seconds(pid);
    let scrape0 = scrape(node).await;
    let relayed0 = relayed_to_peers(&subs);
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
    let scrape1 = scrape(node).await;
    let relayed1 = relayed_to_peers(&subs);
    let recv1 = received(&subs);
    let sent1 = sent();
    let (rss_mib, hwm_mib) = memory_mib(pid);

    let forwarded = (stats1.forwarded_packets - stats0.forwarded_packets) as f64;
    let delivered = (recv1 - recv0) as f64;
    let relayed_bytes = scrape1.relayed_bytes - scrape0.relayed_bytes;
    if transport.turn() {
        // The subscribers' media came through the node's TURN server: every
        // delivered packet (at least 100 bytes of SRTP) was relayed...
        assert!(
            relayed_bytes >= 100.0 * delivered && delivered > 0.0,
            "TURN relayed {relayed_bytes} bytes for {delivered} delivered packets"
        );
        // ...and over TLS no packet reached a peer connection but through its relay.
        if transport == Transport::TurnTls {
            assert!(
                (relayed1 - relayed0) as f64 >= delivered,
                "the relays handed on {} datagrams, the peer connections counted {delivered} RTP packets",
                relayed1 - relayed0
            );
        }
    }
    let figures = Figures {
        subscribers,
        seconds: elapsed,
        published_pps: (sent1 - sent0) as f64 / elapsed,
        forwarded_pps: forwarded / elapsed,
        delivered_pps: delivered / elapsed,
        cpu_per_million: if forwarded > 0.0 {
            (cpu1 - cpu0) / forwarded * 1e6
        } else {
            f64::NAN
        },
        sfu_cpu_share: (cpu1 - cpu0) / elapsed,
        rss_mib,
        hwm_mib,
        p50_us: quantile(&scrape0.delay_buckets, &scrape1.delay_buckets, 0.50) * 1e6,
        p99_us: quantile(&scrape0.delay_buckets, &scrape1.delay_buckets, 0.99) * 1e6,
        relayed_bps: relayed_bytes / elapsed,
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
        transport: Transport::Udp,
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
            "--transport" => case.transport = Transport::parse(args.next().as_deref()),
            _ => {} // `cargo bench` passes `--bench`
        }
    }
    let mut node = start_node(case.transport.turn()).await;
    println!(
        "| subscribers | forwarded pkt/s | delivered pkt/s | SFU CPU-s per 1M pkts | SFU CPU (cores) | delay p50 (µs) | delay p99 (µs) | TURN relayed (kB/s) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, n) in subscribers.into_iter().enumerate() {
        if fresh_node && i > 0 {
            drop(node);
            node = start_node(case.transport.turn()).await;
        }
        let control = HttpControl::new(&node.http, KEY);
        let f = run_case(&node, &control, n, &case).await;
        println!(
            "| {} | {:.0} | {:.0} | {:.2} | {:.3} | {:.1} | {:.1} | {:.1} |",
            f.subscribers,
            f.forwarded_pps,
            f.delivered_pps,
            f.cpu_per_million,
            f.sfu_cpu_share,
            f.p50_us,
            f.p99_us,
            f.relayed_bps / 1000.0
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
