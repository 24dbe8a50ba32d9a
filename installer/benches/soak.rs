//! Soak: many meetings at once on `yunhui up` for minutes on end, every
//! participant a Rust SDK client sending audio and video and receiving
//! everyone else's. What it checks, and prints, at the end:
//!
//! - no participant dropped: every session still sees all the meeting's
//!   participants and its meeting has not ended;
//! - media kept flowing: in the last sampling window every participant
//!   received audio and video from every other one;
//! - nothing logged at ERROR (or WARN) by `yunhui up`;
//! - `yunhui up`'s memory (VmRSS) sampled through the run: flat after
//!   warm-up means no leak per packet or per minute.
//!
//! Video goes out as three simulcast layers like the web client's camera
//! (`--no-simulcast`: one stream), and each meeting is watched as in the
//! speaker view: guests want the host's full picture and everyone else's
//! thumbnail, the host wants everyone at the middle layer, so all three
//! layers are forwarded.
//!
//! It exits with an error when any of the first three fails. `yunhui up` is
//! the real binary (release, from this package) on a fresh data directory;
//! the clients run in this process, so `yunhui up`'s CPU time and memory are
//! read from its own `/proc/<pid>`. On a small machine the clients and the
//! SFU share the cores: lower the media rates (`--audio-pps`, `--video-fps`,
//! `--video-kbps`) until the machine keeps up, and record them with the
//! figures.
//!
//! ```sh
//! cargo bench -p yunhui-installer --bench soak -- --meetings 50 --participants 10 --minutes 10
//! ```
//!
//! `YUNHUI_SOAK_WRAP` runs `yunhui up` under a profiler, e.g.
//! `YUNHUI_SOAK_WRAP="heaptrack -o /tmp/up"` to see what memory grows.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::Semaphore;
use yunhui_client::api::ApiClient;
use yunhui_client::media::{SyntheticMedia, TrackKind};
use yunhui_client::meeting::{JoinOptions, MeetingSession};
use yunhui_proto::api::{CreateMeetingRequest, RegisterRequest};
use yunhui_proto::signaling::VideoQuality;

const PASSWORD: &str = "2468";
const ACCOUNT_PASSWORD: &str = "soak test password";
/// Linux reports process times in USER_HZ ticks, 100 per second.
const TICKS_PER_SECOND: f64 = 100.0;
/// Joins in flight at once (the crowd arrives over a minute, not at once).
const JOINS_IN_FLIGHT: usize = 8;
/// How long a join may take.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

struct Options {
    meetings: usize,
    participants: usize,
    minutes: f64,
    sample_seconds: u64,
    audio_pps: u32,
    video_fps: u32,
    video_kbps: u32,
    simulcast: bool,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        meetings: 50,
        participants: 10,
        minutes: 10.0,
        sample_seconds: 30,
        audio_pps: 50,
        video_fps: 15,
        video_kbps: 300,
        simulcast: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--meetings" => o.meetings = value()?.parse()?,
            "--participants" => o.participants = value()?.parse()?,
            "--minutes" => o.minutes = value()?.parse()?,
            "--sample-seconds" => o.sample_seconds = value()?.parse()?,
            "--audio-pps" => o.audio_pps = value()?.parse()?,
            "--video-fps" => o.video_fps = value()?.parse()?,
            "--video-kbps" => o.video_kbps = value()?.parse()?,
            "--no-simulcast" => o.simulcast = false,
            "--bench" => {}
            other => bail!(
                "unknown argument {other}; use --meetings N --participants N --minutes M \
                 --sample-seconds S --audio-pps N --video-fps N --video-kbps N [--no-simulcast]"
            ),
        }
    }
    if o.participants < 2 || o.meetings == 0 || o.audio_pps == 0 || o.video_fps == 0 {
        bail!("a soak needs at least one meeting of two participants, sending audio and video");
    }
    Ok(o)
}

/// What `yunhui up` logged at ERROR and WARN, read line by line (the log of a
/// long soak can be large): JSON lines (`"level":"WARN"`, as the binary
/// writes them) or text (` WARN `).
#[derive(Default)]
struct LogSummary {
    errors: u64,
    warnings: u64,
    /// How often each message came, digits blanked so that one kind of
    /// message (with its SSRCs and counters) counts once.
    messages: HashMap<String, u64>,
}

impl LogSummary {
    fn read(log: &Path) -> anyhow::Result<Self> {
        let mut summary = Self::default();
        let file =
            std::fs::File::open(log).with_context(|| format!("reading {}", log.display()))?;
        for line in BufReader::new(file).lines() {
            let line = line?;
            let (level, message) = match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(json) => (
                    json["level"].as_str().unwrap_or_default().to_owned(),
                    json["fields"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ),
                Err(_) if line.contains(" ERROR ") => ("ERROR".to_owned(), line.clone()),
                Err(_) if line.contains(" WARN ") => ("WARN".to_owned(), line.clone()),
                Err(_) => continue,
            };
            match level.as_str() {
                "ERROR" => summary.errors += 1,
                "WARN" => summary.warnings += 1,
                _ => continue,
            }
            let kind: String = message
                .chars()
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect();
            *summary
                .messages
                .entry(format!("{level} {kind}"))
                .or_default() += 1;
        }
        Ok(summary)
    }

    fn most_common(&self, n: usize) -> Vec<(u64, &str)> {
        let mut all: Vec<(u64, &str)> = self
            .messages
            .iter()
            .map(|(m, c)| (*c, m.as_str()))
            .collect();
        all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        all.truncate(n);
        all
    }
}

/// `yunhui up`, killed when dropped.
struct Up {
    child: Child,
    base_url: String,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port(udp: bool) -> anyhow::Result<u16> {
    Ok(if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")?
            .local_addr()?
            .port()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port()
    })
}

fn start_up(data: &Path, log: &Path) -> anyhow::Result<Up> {
    // `YUNHUI_SOAK_WRAP="heaptrack -o /tmp/up"` runs `yunhui up` under a
    // profiler (the RSS and CPU printed are then the wrapper's).
    let wrap = std::env::var("YUNHUI_SOAK_WRAP").unwrap_or_default();
    let mut command = wrap.split_whitespace();
    let mut child = match command.next() {
        Some(wrapper) => {
            let mut c = Command::new(wrapper);
            c.args(command).arg(env!("CARGO_BIN_EXE_yunhui"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_yunhui")),
    };
    let mut child = child
        .arg("up")
        .arg("--data-dir")
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{}", free_port(false)?)])
        .args(["--media-port", &free_port(true)?.to_string()])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .context("start yunhui up")?;
    let stdout = child.stdout.take().context("yunhui up's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut up = Up {
        child,
        base_url: String::new(),
    };
    for line in lines.by_ref() {
        let line = line?;
        if let Some(url) = line.strip_prefix("Yunhui is running at ") {
            up.base_url = url.trim().to_string();
        } else if line.starts_with("Press Ctrl-C") {
            // Keep draining stdout so yunhui up never blocks on it.
            std::thread::spawn(move || for _ in lines.by_ref() {});
            if up.base_url.is_empty() {
                bail!("yunhui up printed no address");
            }
            return Ok(up);
        }
    }
    bail!(
        "yunhui up stopped before it was ready (log: {})",
        log.display()
    )
}

/// CPU seconds and resident memory (MiB) of a process.
fn usage(pid: u32) -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("stat format")?
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("VmRSS")?
        .trim()
        .trim_end_matches(" kB")
        .parse()?;
    Ok((ticks as f64 / TICKS_PER_SECOND, rss_kib / 1024.0))
}

/// Lets this process and yunhui up (its child) hold every client's sockets.
fn raise_open_files() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let hard = getrlimit(Resource::Nofile).maximum;
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: hard,
            maximum: hard,
        },
    );
}

/// Packets received so far, per (receiver, sender, kind).
type Counts = HashMap<(usize, String, TrackKind), u64>;

fn counts(sessions: &[MeetingSession], groups: &[Vec<usize>]) -> Counts {
    let mut out = Counts::new();
    for group in groups {
        for &receiver in group {
            for &sender in group {
                if receiver == sender {
                    continue;
                }
                let from = sessions[sender].participant_id().to_string();
                for kind in [TrackKind::Audio, TrackKind::Video] {
                    let packets = sessions[receiver]
                        .subscriber()
                        .track(&from, kind)
                        .map_or(0, |t| t.packets());
                    out.insert((receiver, from.clone(), kind), packets);
                }
            }
        }
    }
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = options()?;
    raise_open_files();
    let data = tempfile::tempdir()?;
    let log = data.path().join("yunhui-up.log");
    let up = start_up(&data.path().join("data"), &log)?;
    let pid = up.child.id();
    println!(
        "soak: {} meetings x {} participants for {} min on {} (audio {} packets/s, video {} fps at {} kbit/s{})",
        o.meetings,
        o.participants,
        o.minutes,
        up.base_url,
        o.audio_pps,
        o.video_fps,
        o.video_kbps,
        if o.simulcast {
            " in the full layer, simulcast q/h/f"
        } else {
            ", one stream"
        }
    );

    // One host account per meeting (an account is in one meeting at a time).
    let mut numbers = Vec::new();
    let mut tokens = Vec::new();
    for m in 0..o.meetings {
        let email = format!("host{m}@soak.example");
        let api = ApiClient::new(&up.base_url);
        api.register(&RegisterRequest {
            email: Some(email.clone()),
            phone: None,
            password: ACCOUNT_PASSWORD.into(),
            display_name: format!("Host {m}"),
            tenant_id: None,
        })
        .await
        .context("register a host")?;
        let mut host = ApiClient::new(&up.base_url);
        host.login(&email, ACCOUNT_PASSWORD).await?;
        let meeting = host
            .create_meeting(&CreateMeetingRequest {
                topic: Some(format!("Soak {m}")),
                password: Some(PASSWORD.into()),
                ..Default::default()
            })
            .await?;
        numbers.push(meeting.number);
        tokens.push(host.token().map(String::from));
    }

    let media = SyntheticMedia {
        audio_packets_per_second: o.audio_pps,
        video_fps: o.video_fps,
        video_bitrate: o.video_kbps * 1000,
        simulcast: o.simulcast,
        ..SyntheticMedia::default()
    };
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(JOINS_IN_FLIGHT));
    let join = |m: usize, p: usize, token: Option<String>| {
        let gate = gate.clone();
        let base = up.base_url.clone();
        let number = numbers[m].clone();
        async move {
            let _permit = gate.acquire_owned().await?;
            let at = Instant::now();
            let mut session = tokio::time::timeout(
                JOIN_TIMEOUT,
                MeetingSession::join(
                    &base,
                    JoinOptions {
                        meeting_number: number,
                        display_name: format!("M{m} P{p}"),
                        password: Some(PASSWORD.into()),
                        token,
                        media_bind: Some("127.0.0.1:0".into()),
                        ..JoinOptions::default()
                    },
                ),
            )
            .await
            .context("join timed out")??;
            session.publish(media).await?;
            anyhow::Ok((session, at.elapsed()))
        }
    };
    // Each meeting's host first, so the meeting runs when its guests arrive;
    // then the guests, a few joins in flight at a time.
    let mut joins = Vec::new();
    for (m, token) in tokens.iter().enumerate() {
        let host = tokio::spawn(join(m, 0, token.clone())).await??;
        joins.push(tokio::spawn(async move { anyhow::Ok(host) }));
        for p in 1..o.participants {
            joins.push(tokio::spawn(join(m, p, None)));
        }
    }
    let mut sessions = Vec::new();
    let mut join_times = Vec::new();
    for join in joins {
        let (session, took) = join.await??;
        sessions.push(session);
        join_times.push(took.as_secs_f64() * 1000.0);
    }
    let all_joined = started.elapsed();
    join_times.sort_by(f64::total_cmp);
    let quantile = |q: f64| join_times[((join_times.len() - 1) as f64 * q).round() as usize];
    println!(
        "all {} joined and publishing in {:.1} s (join + publish p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms)",
        sessions.len(),
        all_joined.as_secs_f64(),
        quantile(0.5),
        quantile(0.99),
        quantile(1.0)
    );
    let groups: Vec<Vec<usize>> = (0..o.meetings)
        .map(|m| (m * o.participants..(m + 1) * o.participants).collect())
        .collect();
    if o.simulcast {
        for group in &groups {
            let host = sessions[group[0]].participant_id().to_owned();
            sessions[group[0]].set_video_subscriptions(VideoQuality::Medium, &[])?;
            for &guest in &group[1..] {
                sessions[guest]
                    .set_video_subscriptions(VideoQuality::Low, &[(&host, VideoQuality::High)])?;
            }
        }
    }

    println!(
        "\n| minute | yunhui up RSS (MiB) | CPU (cores) over the window | pairs receiving audio+video |"
    );
    println!("|---:|---:|---:|---:|");
    let pairs = o.meetings * o.participants * (o.participants - 1);
    let run = Duration::from_secs_f64(o.minutes * 60.0);
    let window = Duration::from_secs(o.sample_seconds);
    let soak_start = Instant::now();
    let mut before = counts(&sessions, &groups);
    let (mut cpu_before, _) = usage(pid)?;
    let mut last_silent = Vec::new();
    let mut rss_samples = Vec::new();
    while soak_start.elapsed() < run {
        tokio::time::sleep(
            window
                .min(run.saturating_sub(soak_start.elapsed()))
                .max(Duration::from_secs(1)),
        )
        .await;
        let now = counts(&sessions, &groups);
        let (cpu, rss) = usage(pid)?;
        let mut receiving = 0;
        last_silent.clear();
        for group in &groups {
            for &receiver in group {
                for &sender in group {
                    if receiver == sender {
                        continue;
                    }
                    let from = sessions[sender].participant_id().to_string();
                    let grew = [TrackKind::Audio, TrackKind::Video].iter().all(|&kind| {
                        let key = (receiver, from.clone(), kind);
                        now.get(&key) > before.get(&key)
                    });
                    if grew {
                        receiving += 1;
                    } else {
                        last_silent.push((receiver, sender));
                    }
                }
            }
        }
        let minute = soak_start.elapsed().as_secs_f64() / 60.0;
        println!(
            "| {minute:.1} | {rss:.1} | {:.2} | {receiving} / {pairs} |",
            (cpu - cpu_before) / window.as_secs_f64()
        );
        rss_samples.push((minute, rss));
        before = now;
        cpu_before = cpu;
    }

    let mut dropped = Vec::new();
    for (i, session) in sessions.iter().enumerate() {
        let view = session.view();
        if view.ended.is_some() || view.removed || view.participants.len() != o.participants {
            dropped.push(format!(
                "{} sees {} participants (ended: {:?})",
                i,
                view.participants.len(),
                view.ended
            ));
        }
    }
    let (cpu_total, rss_end) = usage(pid)?;
    let logged = LogSummary::read(&log)?;
    let warm = rss_samples
        .iter()
        .find(|(minute, _)| *minute >= 2.0)
        .or(rss_samples.first())
        .map_or(0.0, |(_, rss)| *rss);
    println!(
        "\nyunhui up: {:.0} CPU-s in all, RSS {warm:.1} MiB after warm-up (2 min) -> {rss_end:.1} MiB at the end; \
         {} ERROR and {} WARN lines logged",
        cpu_total, logged.errors, logged.warnings
    );
    for (count, message) in logged.most_common(10) {
        println!("  {count} x {message}");
    }
    println!("dropped participants: {}", dropped.len());
    for line in dropped.iter().take(10) {
        println!("  {line}");
    }
    println!(
        "pairs without audio+video in the last window: {}",
        last_silent.len()
    );
    // Tell a publisher nobody hears (its own peer connection) from a
    // subscriber that misses one publisher (its offer or forwarding).
    let mut by_sender: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(receiver, sender) in &last_silent {
        by_sender.entry(sender).or_default().push(receiver);
    }
    let mut senders: Vec<_> = by_sender.into_iter().collect();
    senders.sort();
    for (sender, receivers) in senders.iter().take(20) {
        let sent = sessions[*sender].publisher().map(|p| {
            let stats = p.stats();
            (
                stats
                    .audio_packets
                    .load(std::sync::atomic::Ordering::Relaxed),
                stats
                    .video_packets
                    .load(std::sync::atomic::Ordering::Relaxed),
            )
        });
        let from = sessions[*sender].participant_id().to_string();
        let tracks = receivers
            .iter()
            .filter(|&&r| {
                sessions[r]
                    .subscriber()
                    .track(&from, TrackKind::Audio)
                    .is_some()
            })
            .count();
        println!(
            "  participant {sender}: silent at {} of {} receivers ({tracks} of them have its audio track); \
             it sent (audio, video) packets {sent:?}",
            receivers.len(),
            o.participants - 1
        );
    }
    // Everyone hangs up at once (one by one, 500 sockets and peer connections
    // closing in turn took longer than the soak itself).
    let closing = Instant::now();
    let mut hang_ups = tokio::task::JoinSet::new();
    for session in sessions {
        hang_ups.spawn(session.close());
    }
    let all_closed = tokio::time::timeout(Duration::from_secs(60), async {
        while hang_ups.join_next().await.is_some() {}
    })
    .await
    .is_ok();
    println!(
        "closing every session took {:.1} s{}",
        closing.elapsed().as_secs_f64(),
        if all_closed {
            ""
        } else {
            " (stopped waiting after 60 s)"
        }
    );
    drop(up);
    if !dropped.is_empty() || !last_silent.is_empty() || logged.errors > 0 {
        bail!("the soak failed (see above)");
    }
    Ok(())
}
