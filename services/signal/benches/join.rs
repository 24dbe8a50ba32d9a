//! Signal benchmark: how fast a crowd gets into one meeting, how many
//! meeting-API requests signal answers, and what an idle participant costs
//! in signal's memory.
//!
//! Three processes on loopback: this one (the clients, Rust SDK), the
//! `yunhui-signal` binary on an embedded SQLite database, and an SFU node
//! (this executable run again as `sfu-node`, serving the SFU's internal API
//! as in Kubernetes). Signal's CPU time and memory are read from its own
//! `/proc/<pid>`, apart from the clients'. Set `YUNHUI_DATABASE_URL` to run
//! signal on PostgreSQL instead.
//!
//! Joiners are guests on bare signaling sockets ([`SignalingClient`]): a
//! [`yunhui_client::meeting::MeetingSession`] would also open a WebRTC
//! subscriber per participant, which is media, not joining. Each stays in
//! the meeting reading what the server sends, as a real client does.
//!
//! With `--webinar` the meeting is a webinar (F-WEBINAR-1): its host joins
//! first and the crowd joins as attendees, who are told of no other
//! attendee; "rosters complete" is then when the host has been told of
//! every attendee.
//!
//! ```sh
//! cargo bench -p yunhui-signal --bench join -- --joins 100,1000 --api-concurrency 32 --api-seconds 10
//! cargo bench -p yunhui-signal --bench join -- --joins 1000 --webinar --api-seconds 0
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::{Barrier, mpsc};
use yunhui_client::api::{ApiCallError, ApiClient};
use yunhui_client::signaling::{SignalingClient, SignalingError};
use yunhui_proto::api::{CreateMeetingRequest, Meeting, MeetingOptions, RegisterRequest};
use yunhui_proto::schedule::ScheduleRequest;
use yunhui_proto::signaling::{ClientMessage, ServerMessage};
use yunhui_sfu::internal_api::internal_router;
use yunhui_sfu::{Sfu, SfuConfig};

const KEY: &str = "benchmark-internal-key";
/// First argument that makes this executable the SFU node.
const SFU_NODE: &str = "sfu-node";
const HOST_PASSWORD: &str = "correct horse battery";
/// Linux reports process times in USER_HZ ticks, 100 per second on every
/// architecture Yunhui ships for.
const TICKS_PER_SECOND: f64 = 100.0;
/// How long one join may take before the run counts it as failed.
const JOIN_TIMEOUT: Duration = Duration::from_secs(120);
/// Quiet time after the last roster update before memory is read.
const IDLE_SETTLE: Duration = Duration::from_secs(3);

/// A child process, killed when dropped.
struct Process {
    child: Child,
    url: String,
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn wait_healthy(process: &Process, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{}/healthz", process.url))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "{what} did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The SFU node: this executable in `sfu-node` mode.
async fn start_sfu() -> Process {
    let port = free_port();
    let child = Command::new(std::env::current_exe().expect("own executable"))
        .args([SFU_NODE, &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .spawn()
        .expect("start the SFU node");
    let sfu = Process {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    wait_healthy(&sfu, "the SFU node").await;
    sfu
}

async fn run_sfu_node(http_listen: &str) -> anyhow::Result<()> {
    let sfu = Sfu::start(SfuConfig {
        udp_listen: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
        advertised_ip: Ipv4Addr::LOCALHOST.into(),
        registry: prometheus::Registry::new(),
    })
    .await?;
    let listener = tokio::net::TcpListener::bind(http_listen).await?;
    axum::serve(listener, internal_router(sfu, KEY)).await?;
    Ok(())
}

/// A fresh `yunhui-signal` process with its own database directory.
struct Signal {
    process: Process,
    _data: tempfile::TempDir,
}

impl Signal {
    async fn start(sfu: &Process) -> Signal {
        let data = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_yunhui-signal"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data.path())
            .args(["--sfu-url", &sfu.url, "--public-url", &url])
            .env("YUNHUI_INTERNAL_KEY", KEY)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("start yunhui-signal");
        let signal = Signal {
            process: Process { child, url },
            _data: data,
        };
        wait_healthy(&signal.process, "yunhui-signal").await;
        signal
    }

    fn url(&self) -> &str {
        &self.process.url
    }

    fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// A signed-in host and an open meeting of theirs (a webinar, scheduled,
    /// when `webinar`).
    async fn host_meeting(&self, webinar: bool) -> (ApiClient, Meeting) {
        // Unique, so runs can share a PostgreSQL database.
        let login = format!("bench-host-{}@example.com", uuid::Uuid::new_v4());
        let mut host = ApiClient::new(self.url());
        host.register(&RegisterRequest {
            email: Some(login.clone()),
            phone: None,
            password: HOST_PASSWORD.into(),
            display_name: "Bench host".into(),
            tenant_id: None,
        })
        .await
        .expect("register the host");
        host.login(&login, HOST_PASSWORD)
            .await
            .expect("sign the host in");
        let meeting = if webinar {
            host.schedule_meeting(&ScheduleRequest {
                start: "2030-05-07T09:30".into(),
                duration_minutes: 60,
                time_zone: "Asia/Shanghai".into(),
                options: Some(MeetingOptions {
                    webinar: true,
                    ..MeetingOptions::default()
                }),
                ..Default::default()
            })
            .await
            .expect("schedule the webinar")
            .meeting
        } else {
            host.create_meeting(&CreateMeetingRequest::default())
                .await
                .expect("create the meeting")
        };
        (host, meeting)
    }
}

/// CPU seconds (user + system) process `pid` has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    ticks / TICKS_PER_SECOND
}

/// A `/proc/<pid>/status` memory field (`VmRSS`, `VmHWM`) in MiB.
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .unwrap_or_else(|| panic!("{field} missing from /proc/{pid}/status"))
}

/// The `q` quantile (nearest rank) of sorted durations, in milliseconds.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let rank = ((q * sorted.len() as f64).ceil() as usize).saturating_sub(1);
    sorted[rank.min(last)].as_secs_f64() * 1e3
}

/// Lets this process and its children hold `sockets` open sockets each.
fn raise_open_files(sockets: usize) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let hard = getrlimit(Resource::Nofile).maximum;
    let raised = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: hard,
            maximum: hard,
        },
    );
    let current = getrlimit(Resource::Nofile).current;
    let needed = (sockets + 256) as u64;
    if raised.is_err() || current.is_some_and(|c| c < needed) {
        eprintln!(
            "warning: the open-file limit is {current:?} and {needed} are needed; raise it (ulimit -Hn)"
        );
    }
}

/// Joins `number` as `name` (a guest without `token`) on an open signaling socket.
async fn join(
    client: &mut SignalingClient,
    number: &str,
    name: String,
    token: Option<String>,
) -> anyhow::Result<()> {
    client
        .send(&ClientMessage::Join {
            meeting_number: number.into(),
            display_name: name,
            password: None,
            link_key: None,
            token,
            device_id: None,
            dial_ticket: None,
            recorder_ticket: None,
        })
        .await?;
    client
        .recv_until(JOIN_TIMEOUT, |m| match m {
            ServerMessage::Joined { .. } => Some(Ok(())),
            ServerMessage::Error { code, message } => {
                Some(Err(anyhow::anyhow!("join refused: {code:?}: {message}")))
            }
            _ => None,
        })
        .await?
}

/// How many newcomers `message` tells of (news of joins is batched per
/// tick: one `participant_joined`, or a `participants_joined` list).
fn told_of(message: &ServerMessage) -> u64 {
    match message {
        ServerMessage::ParticipantJoined { .. } => 1,
        ServerMessage::ParticipantsJoined { participants } => participants.len() as u64,
        _ => 0,
    }
}

/// One join: when it started, when the socket was open (the server's
/// `hello` read) and when `joined` arrived.
struct JoinTime {
    began: Instant,
    connected: Instant,
    joined: Instant,
}

/// One participant: waits for the start, joins, reports, then stays in the
/// meeting reading everything, counting the newcomers it is told about.
async fn participant(
    url: String,
    number: String,
    name: String,
    start: Arc<Barrier>,
    newcomers: Arc<AtomicU64>,
    report: mpsc::UnboundedSender<anyhow::Result<JoinTime>>,
) {
    start.wait().await;
    let began = Instant::now();
    let mut client = match SignalingClient::connect(&url).await {
        Ok((client, _)) => client,
        Err(e) => {
            let _ = report.send(Err(e.into()));
            return;
        }
    };
    let connected = Instant::now();
    if let Err(e) = join(&mut client, &number, name, None).await {
        let _ = report.send(Err(e));
        return;
    }
    let _ = report.send(Ok(JoinTime {
        began,
        connected,
        joined: Instant::now(),
    }));
    drop(report);
    loop {
        match client.recv(Duration::from_secs(3600)).await {
            Ok(message) if told_of(&message) > 0 => {
                newcomers.fetch_add(told_of(&message), Ordering::Relaxed);
            }
            Ok(_) | Err(SignalingError::Timeout(_)) => {}
            Err(_) => return,
        }
    }
}

/// p50, p99 and maximum of some durations, in milliseconds.
struct Spread {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Spread {
    fn of(mut durations: Vec<Duration>) -> Spread {
        durations.sort();
        Spread {
            p50_ms: quantile_ms(&durations, 0.50),
            p99_ms: quantile_ms(&durations, 0.99),
            max_ms: quantile_ms(&durations, 1.0),
        }
    }
}

struct JoinFigures {
    participants: usize,
    /// Socket open to `joined`.
    total: Spread,
    /// Socket open to the server's `hello`.
    connect: Spread,
    all_joined_s: f64,
    rosters_complete_s: f64,
    signal_cpu_s: f64,
    clients_cpu_s: f64,
    rss_before_mib: f64,
    rss_idle_mib: f64,
    hwm_mib: f64,
}

/// A webinar's host on a signaling socket, counting the attendees it is
/// told of.
async fn webinar_host(
    signal: &Signal,
    host: &ApiClient,
    number: &str,
    attendees: Arc<AtomicU64>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let (mut client, _) = SignalingClient::connect(signal.url()).await?;
    let token = host.token().map(String::from);
    join(&mut client, number, "Bench host".into(), token).await?;
    Ok(tokio::spawn(async move {
        loop {
            match client.recv(Duration::from_secs(3600)).await {
                Ok(message) if told_of(&message) > 0 => {
                    attendees.fetch_add(told_of(&message), Ordering::Relaxed);
                }
                Ok(_) | Err(SignalingError::Timeout(_)) => {}
                Err(_) => return,
            }
        }
    }))
}

/// `n` guests join one meeting (or webinar) at once on a fresh signal and
/// stay, idle.
async fn join_wave(sfu: &Process, n: usize, webinar: bool) -> anyhow::Result<JoinFigures> {
    let signal = Signal::start(sfu).await;
    let (host, meeting) = signal.host_meeting(webinar).await;
    let told_host = Arc::new(AtomicU64::new(0));
    let host_task = if webinar {
        Some(webinar_host(&signal, &host, &meeting.number, told_host.clone()).await?)
    } else {
        None
    };
    let pid = signal.pid();
    let rss_before_mib = memory_mib(pid, "VmRSS");
    let cpu_before = cpu_seconds(pid);
    let clients_cpu_before = cpu_seconds(std::process::id());

    let start = Arc::new(Barrier::new(n));
    let newcomers = Arc::new(AtomicU64::new(0));
    let (report, mut reports) = mpsc::unbounded_channel();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(participant(
                signal.url().to_string(),
                meeting.number.clone(),
                format!("guest {i}"),
                start.clone(),
                newcomers.clone(),
                report.clone(),
            ))
        })
        .collect();
    drop(report);
    let mut times = Vec::with_capacity(n);
    while let Some(result) = reports.recv().await {
        times.push(result.context("a join failed")?);
    }
    if times.len() != n {
        bail!("{} of {n} joins reported", times.len());
    }
    let first = times.iter().map(|t| t.began).min().expect("joins");
    let all_joined = times.iter().map(|t| t.joined).max().expect("joins");

    // Everyone has heard of everyone who joined after them; in a webinar,
    // the host of every attendee (and no attendee of another).
    let (counter, expected) = if webinar {
        (&told_host, n as u64)
    } else {
        (&newcomers, (n * (n - 1) / 2) as u64)
    };
    let deadline = Instant::now() + JOIN_TIMEOUT;
    while counter.load(Ordering::Relaxed) < expected {
        if Instant::now() > deadline {
            bail!(
                "rosters incomplete: told of {} of {expected} newcomers",
                counter.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rosters_complete = Instant::now();
    if webinar && newcomers.load(Ordering::Relaxed) != 0 {
        bail!(
            "attendees were told of {} other attendees",
            newcomers.load(Ordering::Relaxed)
        );
    }
    let signal_cpu_s = cpu_seconds(pid) - cpu_before;
    let clients_cpu_s = cpu_seconds(std::process::id()) - clients_cpu_before;
    tokio::time::sleep(IDLE_SETTLE).await;
    let rss_idle_mib = memory_mib(pid, "VmRSS");
    let hwm_mib = memory_mib(pid, "VmHWM");

    // Stop signal before the sockets close, so the run ends without a wave of leaves.
    drop(signal);
    for task in tasks.into_iter().chain(host_task) {
        task.abort();
    }
    Ok(JoinFigures {
        participants: n,
        total: Spread::of(times.iter().map(|t| t.joined - t.began).collect()),
        connect: Spread::of(times.iter().map(|t| t.connected - t.began).collect()),
        all_joined_s: (all_joined - first).as_secs_f64(),
        rosters_complete_s: (rosters_complete - first).as_secs_f64(),
        signal_cpu_s,
        clients_cpu_s,
        rss_before_mib,
        rss_idle_mib,
        hwm_mib,
    })
}

struct ApiFigures {
    errors: usize,
    per_second: f64,
    latency: Spread,
    signal_cpu_ms_per_request: f64,
}

/// `concurrency` callers repeat `call` for `seconds`; the requests per
/// second and latency of the successful ones.
async fn api_rate<F, Fut>(pid: u32, concurrency: usize, seconds: u64, call: F) -> ApiFigures
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), ApiCallError>> + Send,
{
    let cpu_before = cpu_seconds(pid);
    let began = Instant::now();
    let deadline = began + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0usize);
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match call().await {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(_) => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for worker in workers {
        let (l, e) = worker.await.expect("API worker");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = began.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    let requests = latencies.len();
    ApiFigures {
        errors,
        per_second: requests as f64 / elapsed,
        latency: Spread::of(latencies),
        signal_cpu_ms_per_request: cpu * 1e3 / (requests + errors).max(1) as f64,
    }
}

struct Options {
    joins: Vec<usize>,
    api_concurrency: usize,
    api_seconds: u64,
    webinar: bool,
}

fn parse_options() -> Options {
    let mut options = Options {
        joins: vec![100, 1000],
        api_concurrency: 32,
        api_seconds: 10,
        webinar: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| args.next().unwrap_or_else(|| panic!("{arg} needs {what}"));
        match arg.as_str() {
            "--joins" => {
                options.joins = value("a list, e.g. 100,1000")
                    .split(',')
                    .map(|n| n.trim().parse().expect("participant counts are numbers"))
                    .collect();
            }
            "--api-concurrency" => {
                options.api_concurrency = value("a number").parse().expect("a number");
            }
            "--api-seconds" => options.api_seconds = value("a number").parse().expect("a number"),
            "--webinar" => options.webinar = true,
            _ => {} // `cargo bench` passes `--bench`
        }
    }
    options
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, http_listen] = args.as_slice()
        && mode == SFU_NODE
    {
        return run_sfu_node(http_listen).await;
    }
    let options = parse_options();
    raise_open_files(options.joins.iter().copied().max().unwrap_or(0) + options.api_concurrency);
    let sfu = start_sfu().await;

    let who = if options.webinar {
        "webinar attendees"
    } else {
        "participants"
    };
    println!(
        "| {who} | open → joined p50 / p99 / max (ms) | of which open → hello p50 / p99 (ms) | all joined (s) | rosters complete (s) | signal CPU-s | clients CPU-s | signal RSS before → idle (MiB) | per 1000 idle (MiB) | signal peak RSS (MiB) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &options.joins {
        let f = join_wave(&sfu, n, options.webinar).await?;
        println!(
            "| {} | {:.1} / {:.1} / {:.1} | {:.1} / {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} → {:.1} | {:.1} | {:.1} |",
            f.participants,
            f.total.p50_ms,
            f.total.p99_ms,
            f.total.max_ms,
            f.connect.p50_ms,
            f.connect.p99_ms,
            f.all_joined_s,
            f.rosters_complete_s,
            f.signal_cpu_s,
            f.clients_cpu_s,
            f.rss_before_mib,
            f.rss_idle_mib,
            (f.rss_idle_mib - f.rss_before_mib) * 1000.0 / f.participants as f64,
            f.hwm_mib,
        );
    }

    if options.api_seconds == 0 {
        return Ok(());
    }
    let signal = Signal::start(&sfu).await;
    let (host, meeting) = signal.host_meeting(false).await;
    println!();
    println!(
        "| request (signed-in host) | concurrency | requests/s | p50 (ms) | p99 (ms) | errors | signal CPU-ms per request |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let get = {
        let (host, id) = (host.clone(), meeting.id.clone());
        move || {
            let (host, id) = (host.clone(), id.clone());
            async move { host.meeting(&id).await.map(drop) }
        }
    };
    let create = move || {
        let host = host.clone();
        async move {
            host.create_meeting(&CreateMeetingRequest::default())
                .await
                .map(drop)
        }
    };
    let (pid, concurrency, seconds) = (signal.pid(), options.api_concurrency, options.api_seconds);
    let gets = api_rate(pid, concurrency, seconds, get).await;
    let creates = api_rate(pid, concurrency, seconds, create).await;
    for (request, f) in [
        ("GET /api/v1/meetings/{id}", gets),
        ("POST /api/v1/meetings", creates),
    ] {
        println!(
            "| `{request}` | {concurrency} | {:.0} | {:.2} | {:.2} | {} | {:.3} |",
            f.per_second, f.latency.p50_ms, f.latency.p99_ms, f.errors, f.signal_cpu_ms_per_request,
        );
    }
    Ok(())
}
