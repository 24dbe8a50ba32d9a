//! `yunhui-meeting-check`: meetings with real media against an installed
//! Yunhui, for `tests/kube/e2e-install.sh` (issue 11 on a real node). SDK
//! participants (`yunhui-client`) publish synthetic audio and video and check
//! that each receives every other's; the result is one JSON line on stdout.
//!
//! - `spread`: signs in, creates `--meetings` meetings, joins
//!   `--participants` guests to each, checks everyone's media, then reads
//!   signal's node table (`--media-nodes`, with the internal key) and fails
//!   unless at least `--min-nodes` SFU nodes hold the meetings' rooms.
//! - `drain`: one meeting of two participants, finds the SFU node holding
//!   its room in signal's node table, runs `--between` (which stops that
//!   node gracefully; its id is in `YUNHUI_SFU_NODE`), and checks that the
//!   meeting moved to another node with its media back in both directions,
//!   the same participants and no rejoin; prints each track's longest
//!   silence.
//! - `failover`: one meeting whose participants join through different
//!   signal replicas (`--join-urls`, one per participant), checks media, runs
//!   `--between` (which kills the owner replica's pod and prints its name;
//!   the meeting's id is in `YUNHUI_MEETING_ID`),
//!   and checks that every participant joins again on its own (the SDK
//!   does, through `--url`, the Service, retrying while the meeting is
//!   `unavailable` until another replica has taken it over), publishes
//!   again and receives everyone's media again in the same meeting.
//! - `place`: one meeting of two participants of the signed-in account's
//!   tenant; checks media, then fails unless the one SFU node holding its
//!   room reports `--region` in signal's node table (a tenant's preferred
//!   region, issue 13's hybrid deployments). With `--guest-only-tcp-to`
//!   the guest joins from a network namespace made here (root) that drops
//!   all UDP and lets TCP out only to those addresses (e.g. the Gateway
//!   and TURN over TLS on 443): its media can only go through the node's
//!   TURN server over TLS, whose certificate it trusts from
//!   `--turn-tls-ca`; `--turn-metrics` then checks that the node relayed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures_util::future::try_join_all;
use serde_json::json;
use yunhui_client::api::ApiClient;
use yunhui_client::media::{SyntheticMedia, TrackKind};
use yunhui_client::meeting::{JoinOptions, MeetingSession, SessionError};
use yunhui_proto::api::{CreateMeetingRequest, Meeting};
use yunhui_proto::media::{MediaNodeList, MediaNodeLoad};

/// The password of the meetings this tool creates.
const MEETING_PASSWORD: &str = "2468";

/// How long media may take to arrive.
const MEDIA_WAIT: Duration = Duration::from_secs(30);

/// Runs meetings with media against an installed Yunhui and prints figures.
#[derive(Parser)]
#[command(name = "yunhui-meeting-check")]
struct Args {
    /// Signal's base URL (the Gateway's address or a Service).
    #[arg(long)]
    url: String,
    /// The account that creates the meetings.
    #[arg(long)]
    login: String,
    /// A file holding that account's password.
    #[arg(long)]
    password_file: std::path::PathBuf,
    #[command(subcommand)]
    check: Check,
}

#[derive(Subcommand)]
enum Check {
    /// Many meetings at once, spread over the SFU nodes.
    Spread {
        /// How many meetings.
        #[arg(long, default_value_t = 10)]
        meetings: usize,
        /// Participants in each.
        #[arg(long, default_value_t = 2)]
        participants: usize,
        /// Signal's `/internal/v1/media-nodes` URL.
        #[arg(long)]
        media_nodes: Option<String>,
        /// A file holding the internal key for `--media-nodes`.
        #[arg(long)]
        internal_key_file: Option<std::path::PathBuf>,
        /// How many SFU nodes must hold rooms of the meetings.
        #[arg(long, default_value_t = 1)]
        min_nodes: usize,
    },
    /// One meeting on one SFU node, then that node stopped gracefully
    /// (`--between`, given the node's id in `YUNHUI_SFU_NODE`): the meeting
    /// moves to another node and its media comes back without a rejoin;
    /// prints each track's longest silence.
    Drain {
        /// Signal's `/internal/v1/media-nodes` URL.
        #[arg(long)]
        media_nodes: String,
        /// A file holding the internal key for `--media-nodes`.
        #[arg(long)]
        internal_key_file: std::path::PathBuf,
        /// Shell command that stops the node (e.g. `kubectl delete pod`).
        #[arg(long)]
        between: String,
        /// How long the move may take, drain included.
        #[arg(long, default_value_t = 90)]
        move_seconds: u64,
    },
    /// One meeting, whose room must be on a node of `--region`.
    Place {
        /// Signal's `/internal/v1/media-nodes` URL.
        #[arg(long)]
        media_nodes: String,
        /// A file holding the internal key for `--media-nodes`.
        #[arg(long)]
        internal_key_file: std::path::PathBuf,
        /// The region the node holding the meeting's room must report.
        #[arg(long)]
        region: String,
        #[command(flatten)]
        guest: Firewalled,
    },
    /// One meeting across signal replicas, then its owner replica killed.
    Failover {
        /// Where each participant joins first (one URL per participant).
        #[arg(long, value_delimiter = ',', required = true)]
        join_urls: Vec<String>,
        /// Shell command run once media flows, with the meeting's id in
        /// `YUNHUI_MEETING_ID`; it kills the owner and prints what it killed.
        #[arg(long)]
        between: String,
        /// How long the participants may take to join again (the meeting
        /// taken over).
        #[arg(long, default_value_t = 90)]
        takeover_seconds: u64,
    },
}

/// A guest behind a firewall that lets only some TCP out.
#[derive(clap::Args)]
struct Firewalled {
    /// The guest joins from a network namespace that drops UDP and lets
    /// TCP out only to these `IP:PORT`s.
    #[arg(long, value_delimiter = ',')]
    guest_only_tcp_to: Vec<std::net::SocketAddrV4>,
    /// Signal's base URL as the guest reaches it (default `--url`).
    #[arg(long)]
    guest_url: Option<String>,
    /// PEM certificates the guest trusts for TURN over TLS.
    #[arg(long)]
    turn_tls_ca: Option<std::path::PathBuf>,
    /// The `/metrics` URL of the SFU node whose TURN server must have
    /// relayed the guest's media.
    #[arg(long)]
    turn_metrics: Option<String>,
}

/// Light media, so twenty participants fit on a small machine.
fn light_media() -> SyntheticMedia {
    SyntheticMedia {
        video_bitrate: 100_000,
        video_fps: 10,
        ..SyntheticMedia::default()
    }
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Joins at `base_url`; a lost socket is followed by a join at
/// `rejoin_url` (by default `base_url`).
async fn join(
    base_url: &str,
    rejoin_url: Option<&str>,
    meeting: &Meeting,
    name: &str,
) -> Result<MeetingSession, SessionError> {
    MeetingSession::join(
        base_url,
        JoinOptions {
            meeting_number: meeting.number.clone(),
            display_name: name.into(),
            password: Some(MEETING_PASSWORD.into()),
            rejoin_url: rejoin_url.map(String::from),
            ..JoinOptions::default()
        },
    )
    .await
}

/// Joins and publishes.
async fn join_and_publish(
    base_url: &str,
    rejoin_url: Option<&str>,
    meeting: &Meeting,
    name: &str,
) -> anyhow::Result<MeetingSession> {
    let mut session = join(base_url, rejoin_url, meeting, name)
        .await
        .with_context(|| format!("{name} joining meeting {} at {base_url}", meeting.number))?;
    session
        .publish(light_media())
        .await
        .with_context(|| format!("{name} publishing"))?;
    Ok(session)
}

/// Waits until every session keeps receiving audio and video from every
/// other: more than five packets each, and more a moment later.
async fn everyone_receives_everyone(sessions: &[MeetingSession]) -> anyhow::Result<()> {
    let deadline = Instant::now() + MEDIA_WAIT;
    let counts = |sessions: &[MeetingSession]| -> Option<Vec<u64>> {
        let mut counts = Vec::new();
        for receiver in sessions {
            for sender in sessions {
                if receiver.participant_id() == sender.participant_id() {
                    continue;
                }
                for kind in [TrackKind::Audio, TrackKind::Video] {
                    let track = receiver
                        .subscriber()
                        .track(&sender.participant_id(), kind)?;
                    if track.packets() <= 5 || track.bytes() == 0 {
                        return None;
                    }
                    counts.push(track.packets());
                }
            }
        }
        Some(counts)
    };
    let first = loop {
        if let Some(counts) = counts(sessions) {
            break counts;
        }
        if Instant::now() >= deadline {
            let missing: Vec<String> = sessions
                .iter()
                .flat_map(|r| {
                    sessions
                        .iter()
                        .filter(move |s| s.participant_id() != r.participant_id())
                        .flat_map(move |s| {
                            [TrackKind::Audio, TrackKind::Video]
                                .into_iter()
                                .filter(move |k| {
                                    r.subscriber()
                                        .track(&s.participant_id(), *k)
                                        .is_none_or(|t| t.packets() <= 5)
                                })
                                .map(move |k| {
                                    format!(
                                        "{} gets no {k:?} from {}",
                                        r.participant_id(),
                                        s.participant_id()
                                    )
                                })
                        })
                })
                .collect();
            bail!(
                "media did not flow within {MEDIA_WAIT:?}: {}",
                missing.join("; ")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Still flowing: every track grows.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Some(now) = counts(sessions)
            && now.iter().zip(&first).all(|(now, then)| now > then)
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("media arrived once but stopped growing");
        }
    }
}

async fn sign_in(args: &Args) -> anyhow::Result<ApiClient> {
    let password = std::fs::read_to_string(&args.password_file)
        .with_context(|| format!("reading {}", args.password_file.display()))?;
    let mut api = ApiClient::new(&args.url);
    api.login(&args.login, password.trim())
        .await
        .with_context(|| format!("signing in as {} at {}", args.login, args.url))?;
    Ok(api)
}

async fn create_meeting(api: &ApiClient, topic: String) -> anyhow::Result<Meeting> {
    api.create_meeting(&CreateMeetingRequest {
        topic: Some(topic),
        password: Some(MEETING_PASSWORD.into()),
        ..CreateMeetingRequest::default()
    })
    .await
    .context("creating a meeting")
}

/// GETs `url` (with the internal key, when given); a success's response.
async fn get(url: &str, key: Option<&str>) -> anyhow::Result<reqwest::Response> {
    let mut request = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(5));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request
        .send()
        .await
        .with_context(|| format!("GET {url}"))?
        .error_for_status()
        .with_context(|| format!("GET {url}"))
}

/// The live SFU nodes of signal's table.
async fn live_nodes(url: &str, key: &str) -> anyhow::Result<Vec<MediaNodeLoad>> {
    let list: MediaNodeList = get(url, Some(key))
        .await?
        .json()
        .await
        .with_context(|| format!("reading the node list of {url}"))?;
    Ok(list.nodes.into_iter().filter(|n| n.live).collect())
}

/// Rooms per live SFU node in signal's table.
async fn rooms_per_node(url: &str, key: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    Ok(live_nodes(url, key)
        .await?
        .into_iter()
        .map(|n| (n.node_id, n.rooms))
        .collect())
}

/// Reads the internal key from its file.
fn read_key(key_file: &std::path::Path) -> anyhow::Result<String> {
    let key = std::fs::read_to_string(key_file)
        .with_context(|| format!("reading {}", key_file.display()))?;
    Ok(key.trim().to_string())
}

/// Waits until no node reports a room: the rooms of earlier meetings must
/// be gone from every node's report (nodes report every 2 s), or a report
/// that still counts one of them would name the wrong node.
async fn until_no_rooms(media_nodes: &str, key: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let per_node = rooms_per_node(media_nodes, key).await?;
        if per_node.values().all(|rooms| *rooms == 0) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "the SFU nodes should hold no room before the meeting starts; signal says rooms per node: {per_node:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The one node holding a room, once the reports show it.
async fn node_holding_the_room(media_nodes: &str, key: &str) -> anyhow::Result<MediaNodeLoad> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let nodes = live_nodes(media_nodes, key).await?;
        let mut holding = nodes.iter().filter(|n| n.rooms > 0);
        if let (Some(node), None) = (holding.next(), holding.next()) {
            return Ok(node.clone());
        }
        if Instant::now() >= deadline {
            let per_node: BTreeMap<&str, u64> = nodes
                .iter()
                .map(|n| (n.node_id.as_str(), n.rooms))
                .collect();
            bail!(
                "one SFU node should hold the meeting's room; signal says rooms per node: {per_node:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn spread(
    args: &Args,
    meetings: usize,
    participants: usize,
    media_nodes: Option<&str>,
    key_file: Option<&std::path::Path>,
    min_nodes: usize,
) -> anyhow::Result<serde_json::Value> {
    let api = sign_in(args).await?;
    let started = Instant::now();
    let mut created = Vec::new();
    for i in 0..meetings {
        created.push(create_meeting(&api, format!("Spread {i}")).await?);
    }
    // Every meeting's participants join side by side with the others'.
    let joins = created.iter().enumerate().map(|(i, meeting)| async move {
        let mut sessions = Vec::new();
        for p in 0..participants {
            sessions.push(join_and_publish(&args.url, None, meeting, &format!("m{i}-p{p}")).await?);
        }
        anyhow::Ok(sessions)
    });
    let rooms: Vec<Vec<MeetingSession>> = try_join_all(joins).await?;
    let joined_ms = millis(started);
    let checks = rooms
        .iter()
        .map(|sessions| everyone_receives_everyone(sessions));
    try_join_all(checks).await?;
    let media_ms = millis(started);
    let mut per_node = BTreeMap::new();
    if let Some(url) = media_nodes {
        let key_file = key_file.context("--media-nodes needs --internal-key-file")?;
        let key = read_key(key_file)?;
        // Nodes report every 2 s: wait until the rooms show.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            per_node = rooms_per_node(url, &key).await?;
            let holding = per_node.values().filter(|rooms| **rooms > 0).count();
            let total: u64 = per_node.values().sum();
            if holding >= min_nodes && total >= meetings as u64 {
                break;
            }
            if Instant::now() >= deadline {
                bail!(
                    "{meetings} meetings should be spread over at least {min_nodes} SFU nodes; signal's table says rooms per node: {per_node:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    for sessions in rooms {
        for session in sessions {
            session.leave().await;
        }
    }
    Ok(json!({
        "meetings": meetings,
        "participants": meetings * participants,
        "joined_ms": joined_ms,
        "all_media_ms": media_ms,
        "rooms_per_node": per_node,
    }))
}

/// One meeting of two participants on one SFU node; the node is stopped by
/// `between` and the meeting must go on on another node, the same
/// participants, media back in both directions.
async fn drain(
    args: &Args,
    media_nodes: &str,
    key_file: &std::path::Path,
    between: &str,
    within: Duration,
) -> anyhow::Result<serde_json::Value> {
    let key = read_key(key_file)?;
    let key = key.as_str();
    let api = sign_in(args).await?;
    until_no_rooms(media_nodes, key).await?;
    let meeting = create_meeting(&api, "Drained node".into()).await?;
    let mut sessions = Vec::new();
    for name in ["drain-host", "drain-guest"] {
        sessions.push(join_and_publish(&args.url, None, &meeting, name).await?);
    }
    everyone_receives_everyone(&sessions).await?;
    let node = node_holding_the_room(media_nodes, key).await?.node_id;
    let mut tracks = Vec::new();
    for receiver in &sessions {
        for sender in &sessions {
            if receiver.participant_id() != sender.participant_id() {
                for kind in [TrackKind::Audio, TrackKind::Video] {
                    tracks.extend(receiver.subscriber().track(&sender.participant_id(), kind));
                }
            }
        }
    }
    let gaps = yunhui_client::gaps::MediaGaps::watch(tracks);
    let stopped = Instant::now();
    run_between(between, "YUNHUI_SFU_NODE", &node).await?;
    let deadline = stopped + within;
    while sessions.iter().any(|s| s.view().media_restarts == 0) {
        if Instant::now() >= deadline {
            bail!("the meeting on {node} did not move within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let moved_ms = millis(stopped);
    everyone_receives_everyone(&sessions).await?;
    let media_again_ms = millis(stopped);
    let longest = gaps
        .stop()
        .into_iter()
        .map(|gap| u64::try_from(gap.longest.as_millis()).unwrap_or(u64::MAX))
        .max()
        .unwrap_or_default();
    // Where the room is now, once the nodes' reports (every 2 s) say so.
    let reported_by = Instant::now() + Duration::from_secs(6);
    let now_on = loop {
        let on: Vec<String> = rooms_per_node(media_nodes, key)
            .await?
            .into_iter()
            .filter(|(id, rooms)| *rooms > 0 && *id != node)
            .map(|(id, _)| id)
            .collect();
        if !on.is_empty() || Instant::now() >= reported_by {
            break on;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for session in &sessions {
        if !session.is_connected() || session.view().participants.len() != 2 {
            bail!("a participant left the meeting while it moved: no rejoin was expected");
        }
    }
    for session in sessions {
        session.leave().await;
    }
    Ok(json!({
        "drained": node,
        "moved_ms": moved_ms,
        "media_again_ms": media_again_ms,
        "longest_silence_ms": longest,
        "now_on": now_on,
    }))
}

/// Runs the `--between` shell command with `name=value` in its
/// environment; what it printed, trimmed.
async fn run_between(between: &str, name: &str, value: &str) -> anyhow::Result<String> {
    let output = tokio::process::Command::new("sh")
        .args(["-c", between])
        .env(name, value)
        .output()
        .await
        .context("running --between")?;
    if !output.status.success() {
        bail!(
            "--between failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The guest of [`place`] behind its firewall: joined and publishing from
/// a namespace whose thread runs until `leave` fires.
struct GuestBehindFirewall {
    netns: yunhui_testkit::netns::Namespace,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
    leave: tokio::sync::oneshot::Sender<()>,
}

impl GuestBehindFirewall {
    async fn join(
        guest: &Firewalled,
        url: &str,
        meeting: &Meeting,
    ) -> anyhow::Result<(MeetingSession, Self)> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;

        let netns = yunhui_testkit::netns::Namespace::udp_blocked()
            .context("a network namespace that drops UDP (needs root, ip and iptables)")?;
        netns.allow_only_tcp_to_addresses(&guest.guest_only_tcp_to)?;
        let roots = match &guest.turn_tls_ca {
            Some(file) => CertificateDer::pem_file_iter(file)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?,
            None => Vec::new(),
        };
        let options = JoinOptions {
            meeting_number: meeting.number.clone(),
            display_name: "region-guest behind a firewall".into(),
            password: Some(MEETING_PASSWORD.into()),
            media_bind: Some(format!("{}:0", netns.ns_ip())),
            turn_tls_roots: roots,
            ..JoinOptions::default()
        };
        let url = url.to_string();
        let (joined_tx, joined_rx) = tokio::sync::oneshot::channel();
        let (leave, leave_rx) = tokio::sync::oneshot::channel::<()>();
        // The session's sockets and tasks belong to the namespace's runtime,
        // which runs until the guest leaves.
        let thread = netns.run(move || async move {
            let joined = async {
                let mut session = MeetingSession::join(&url, options)
                    .await
                    .with_context(|| format!("the guest joining at {url} from its namespace"))?;
                session
                    .publish(light_media())
                    .await
                    .context("the guest publishing")?;
                anyhow::Ok(session)
            }
            .await;
            let _ = joined_tx.send(joined);
            let _ = leave_rx.await;
        });
        let session = joined_rx
            .await
            .context("the guest's namespace thread ended")??;
        Ok((
            session,
            Self {
                netns,
                thread,
                leave,
            },
        ))
    }

    /// Ends the namespace's runtime; the UDP it dropped (out, in).
    fn end(self) -> anyhow::Result<(u64, u64)> {
        let dropped = self.netns.dropped_udp()?;
        let _ = self.leave.send(());
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the guest's namespace thread panicked"))??;
        Ok(dropped)
    }
}

/// A counter of a Prometheus text page.
async fn metric(url: &str, name: &str) -> anyhow::Result<f64> {
    let page = get(url, None).await?.text().await?;
    page.lines()
        .filter(|line| line.split([' ', '{']).next() == Some(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .reduce(|a, b| a + b)
        .with_context(|| format!("{url} has no {name}"))
}

/// The counter of bytes an SFU node's TURN server relayed.
const TURN_RELAYED: &str = "yunhui_sfu_turn_relayed_bytes_total";

/// One meeting of two participants; its room must be on a node that
/// reports `region`.
async fn place(
    args: &Args,
    media_nodes: &str,
    key_file: &std::path::Path,
    region: &str,
    guest: &Firewalled,
) -> anyhow::Result<serde_json::Value> {
    let key = read_key(key_file)?;
    let api = sign_in(args).await?;
    until_no_rooms(media_nodes, &key).await?;
    let meeting = create_meeting(&api, format!("In region {region}")).await?;
    let relayed_before = match &guest.turn_metrics {
        Some(url) => metric(url, TURN_RELAYED).await?,
        None => 0.0,
    };
    let started = Instant::now();
    let host = join_and_publish(&args.url, None, &meeting, "region-host").await?;
    let guest_url = guest.guest_url.as_deref().unwrap_or(&args.url);
    let (guest_session, firewalled) = if guest.guest_only_tcp_to.is_empty() {
        let session = join_and_publish(guest_url, None, &meeting, "region-guest").await?;
        (session, None)
    } else {
        let (session, firewalled) = GuestBehindFirewall::join(guest, guest_url, &meeting).await?;
        (session, Some(firewalled))
    };
    let sessions = [host, guest_session];
    everyone_receives_everyone(&sessions).await?;
    let media_ms = millis(started);
    let node = node_holding_the_room(media_nodes, &key).await?;
    let relayed = match &guest.turn_metrics {
        Some(url) => metric(url, TURN_RELAYED).await? - relayed_before,
        None => 0.0,
    };
    for session in sessions {
        session.leave().await;
    }
    let dropped_udp = firewalled.map(GuestBehindFirewall::end).transpose()?;
    if guest.turn_metrics.is_some() && relayed < 20_000.0 {
        bail!(
            "the node's TURN server relayed {relayed} bytes: the guest's media did not go through it"
        );
    }
    if dropped_udp.is_some_and(|(out, _)| out == 0) {
        bail!("the guest's namespace dropped no UDP: did it try any?");
    }
    if node.region.as_deref() != Some(region) {
        bail!(
            "the meeting's room is on SFU node {} of region {:?}, not of region {region}",
            node.node_id,
            node.region
        );
    }
    Ok(json!({
        "node": node.node_id,
        "region": region,
        "media_ms": media_ms,
        "turn_relayed_bytes": relayed,
        "guest_dropped_udp_out": dropped_udp.map(|(out, _)| out),
    }))
}

async fn failover(
    args: &Args,
    join_urls: &[String],
    between: &str,
    takeover: Duration,
) -> anyhow::Result<serde_json::Value> {
    let api = sign_in(args).await?;
    let meeting = create_meeting(&api, "Across replicas".into()).await?;
    let started = Instant::now();
    let mut sessions = Vec::new();
    for (i, url) in join_urls.iter().enumerate() {
        let name = format!("replica-{i}");
        sessions.push(join_and_publish(url, Some(&args.url), &meeting, &name).await?);
    }
    everyone_receives_everyone(&sessions).await?;
    let first_media_ms = millis(started);
    let meeting_id = sessions[0].meeting_id().to_string();
    if sessions.iter().any(|s| s.meeting_id() != meeting_id) {
        bail!("participants joined through different replicas are in different meetings");
    }
    let before: Vec<String> = sessions.iter().map(|s| s.participant_id()).collect();
    let killed = run_between(between, "YUNHUI_MEETING_ID", &meeting_id).await?;
    let killed_at = Instant::now();
    // Each participant's socket closes or drops with the owner, and the SDK
    // joins again on its own through the Service, once another replica has
    // taken the meeting over.
    let deadline = killed_at + takeover;
    while sessions.iter().any(|s| s.view().rejoins == 0) {
        if sessions.iter().any(|s| !s.is_connected()) {
            bail!("a participant gave up joining again after the owner pod was killed");
        }
        if Instant::now() >= deadline {
            bail!(
                "the participants had not joined again {} s after the owner pod was killed",
                takeover.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rejoined_ms = millis(killed_at);
    if sessions
        .iter()
        .any(|s| before.contains(&s.participant_id()))
    {
        bail!("a participant kept its old id: it did not join again");
    }
    everyone_receives_everyone(&sessions).await?;
    let media_again_ms = millis(killed_at);
    let rejoins: Vec<u32> = sessions.iter().map(|s| s.view().rejoins).collect();
    for session in sessions {
        session.leave().await;
    }
    Ok(json!({
        "meeting": meeting_id,
        "killed": killed,
        "first_media_ms": first_media_ms,
        "rejoined_ms": rejoined_ms,
        "rejoins": rejoins,
        "media_again_ms": media_again_ms,
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let figures = match &args.check {
        Check::Spread {
            meetings,
            participants,
            media_nodes,
            internal_key_file,
            min_nodes,
        } => {
            spread(
                &args,
                *meetings,
                *participants,
                media_nodes.as_deref(),
                internal_key_file.as_deref(),
                *min_nodes,
            )
            .await?
        }
        Check::Drain {
            media_nodes,
            internal_key_file,
            between,
            move_seconds,
        } => {
            drain(
                &args,
                media_nodes,
                internal_key_file,
                between,
                Duration::from_secs(*move_seconds),
            )
            .await?
        }
        Check::Place {
            media_nodes,
            internal_key_file,
            region,
            guest,
        } => place(&args, media_nodes, internal_key_file, region, guest).await?,
        Check::Failover {
            join_urls,
            between,
            takeover_seconds,
        } => {
            failover(
                &args,
                join_urls,
                between,
                Duration::from_secs(*takeover_seconds),
            )
            .await?
        }
    };
    println!("{figures}");
    Ok(())
}
