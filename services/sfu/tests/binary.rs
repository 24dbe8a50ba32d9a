//! The `yunhui-sfu` binary configured the way the operator configures its
//! pods: the key, the UDP port and the address to advertise come from the
//! environment; with `advertise: NodeExternalIp` the address comes from the
//! node's entry in a mounted ConfigMap, which may appear after the pod starts.
//! Given signal's URL, the node reports itself there, and draining on SIGTERM.
//! On SIGTERM the node drains: it opens no new room, keeps its rooms (and
//! their media) going, and stops once the last one closes.

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use yunhui_client::media::{Publisher, Subscriber, SyntheticMedia, TrackKind};
use yunhui_client::media_control::HttpControl;
use yunhui_proto::media::NodeReport;
use yunhui_sfu::control::{ControlError, MediaControl};

const KEY: &str = "binary-test-key";

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free udp port")
}

/// A port free for UDP and for TCP: a node given only a UDP port listens
/// for ICE over TCP on the same number, which another process's outgoing
/// TCP connection may hold.
fn free_media_port() -> u16 {
    loop {
        let port = free_udp_port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free tcp port")
}

fn sfu(http_port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_yunhui-sfu"));
    command
        .args(["--udp-listen", "127.0.0.1:7882"])
        .args(["--http-listen", &format!("127.0.0.1:{http_port}")])
        .env_remove("YUNHUI_ADVERTISE_ADDRESS")
        .env_remove("YUNHUI_ADVERTISE_ADDRESS_FILE")
        .env("YUNHUI_INTERNAL_KEY", KEY)
        .env("RUST_LOG", "error");
    command
}

#[tokio::test]
async fn the_address_file_and_ports_from_the_environment_are_what_clients_are_told() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("node-a");
    let (http_port, udp_port, tcp_port) = (free_tcp_port(), free_udp_port(), free_tcp_port());
    let _node = Node(
        sfu(http_port)
            .env("YUNHUI_SFU_UDP_PORT", udp_port.to_string())
            .env("YUNHUI_SFU_TCP_PORT", tcp_port.to_string())
            .env("YUNHUI_ADVERTISE_ADDRESS_FILE", &file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start yunhui-sfu"),
    );
    // The ConfigMap entry shows up a moment after the pod starts.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    std::fs::write(&file, "203.0.113.7\n").expect("address file");

    let base = format!("http://127.0.0.1:{http_port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "yunhui-sfu did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let control = HttpControl::new(&base, KEY);
    control.create_room("r").await.expect("room");
    control
        .add_participant("r", "p")
        .await
        .expect("participant");
    let publisher = Publisher::new("p", "127.0.0.1:0").await.expect("publisher");
    let offer = publisher.create_offer().await.expect("offer");
    let answer = control.publish("r", "p", &offer).await.expect("answer");
    let candidates: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=candidate"))
        .collect();
    let transports: std::collections::BTreeSet<String> = candidates
        .iter()
        .filter_map(|c| c.split_whitespace().nth(2))
        .map(|t| t.to_ascii_lowercase())
        .collect();
    assert_eq!(
        transports,
        ["tcp", "udp"].map(String::from).into(),
        "UDP and TCP candidates: {answer}"
    );
    for candidate in candidates {
        let fields: Vec<&str> = candidate.split_whitespace().collect();
        assert_eq!(fields.get(4), Some(&"203.0.113.7"), "{candidate}");
        let port = match fields.get(2).map(|p| p.to_ascii_lowercase()).as_deref() {
            Some("udp") => udp_port,
            Some("tcp") => {
                assert!(candidate.ends_with("tcptype passive"), "{candidate}");
                tcp_port
            }
            other => panic!("unexpected transport {other:?} in {candidate}"),
        };
        assert_eq!(
            fields.get(5),
            Some(&port.to_string().as_str()),
            "{candidate}"
        );
    }
}

#[test]
fn a_bad_address_or_none_at_all_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("node-b");
    std::fs::write(&file, "not-an-address").expect("file");
    let output = sfu(free_tcp_port())
        .env("YUNHUI_ADVERTISE_ADDRESS_FILE", &file)
        .output()
        .expect("run yunhui-sfu");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not an IP address to advertise") && stderr.contains("node-b"),
        "{stderr}"
    );

    let output = sfu(free_tcp_port()).output().expect("run yunhui-sfu");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--advertised-ip"), "{stderr}");
}

/// What a stand-in for signal's media-node endpoint received: the path, the
/// bearer token and the report.
type Received = std::sync::Arc<parking_lot::Mutex<Vec<(String, String, NodeReport)>>>;

/// Serves `PUT /internal/v1/media-nodes/{id}` like signal, recording each
/// report; returns its base URL.
async fn report_collector(received: Received) -> String {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    async fn put(
        State(received): State<Received>,
        Path(id): Path<String>,
        headers: HeaderMap,
        axum::Json(report): axum::Json<NodeReport>,
    ) -> StatusCode {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        received.lock().push((id, auth, report));
        StatusCode::NO_CONTENT
    }
    let router = axum::Router::new()
        .route("/internal/v1/media-nodes/{id}", axum::routing::put(put))
        .with_state(received);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

#[tokio::test]
async fn with_a_signal_url_the_node_reports_itself_and_reports_draining_on_sigterm() {
    let received = Received::default();
    let signal_url = report_collector(received.clone()).await;
    let (http_port, udp_port) = (free_tcp_port(), free_media_port());
    let mut node = Node(
        sfu(http_port)
            .args(["--advertised-ip", "127.0.0.1"])
            .env("YUNHUI_SFU_UDP_PORT", udp_port.to_string())
            .env("YUNHUI_SIGNAL_URL", &signal_url)
            .env("YUNHUI_NODE_ID", "sfu-7")
            .env("YUNHUI_SFU_CAPACITY", "42")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start yunhui-sfu"),
    );
    // A report at start, then one every two seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.lock().len() < 2 {
        if let Ok(Some(status)) = node.0.try_wait() {
            panic!("the node exited before it reported twice: {status}");
        }
        assert!(Instant::now() < deadline, "the node did not report twice");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (path_id, auth, report) = received.lock()[1].clone();
    assert_eq!(path_id, "sfu-7");
    assert_eq!(auth, format!("Bearer {KEY}"));
    assert_eq!(report.node_id, "sfu-7");
    assert_eq!(report.control_url, format!("http://127.0.0.1:{http_port}"));
    assert_eq!(
        report.media_address,
        format!("127.0.0.1:{udp_port}")
            .parse::<std::net::SocketAddr>()
            .unwrap()
    );
    assert_eq!(report.architecture, std::env::consts::ARCH);
    assert_eq!(report.capacity, 42);
    assert!(!report.draining);
    assert_eq!((report.stats.rooms, report.stats.participants), (0, 0));
    assert!(!report.stats.instance.is_empty());

    // The control URL it reports is its own internal API.
    let control = HttpControl::new(&report.control_url, KEY);
    control.create_room("r").await.expect("room");
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.lock().last().expect("a report").2.stats.rooms != 1 {
        assert!(
            Instant::now() < deadline,
            "the report never counted the room"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let reports_before = received.lock().len();
    sigterm(&node.0);
    // At once (not at the next interval): a report that says draining.
    let deadline = Instant::now() + Duration::from_millis(1500);
    loop {
        let draining = received.lock()[reports_before..]
            .iter()
            .any(|(_, _, report)| report.draining);
        if draining {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no draining report after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its room keeps the node up; it goes on reporting, as draining.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        node.0.try_wait().expect("wait").is_none(),
        "stopped with a room open"
    );
    let last = received.lock().last().expect("a report").2.clone();
    assert!(last.draining && last.stats.rooms == 1, "{last:?}");
    control.close_room("r").await.expect("close");
    wait_for_exit(&mut node.0, Duration::from_secs(10)).await;
}

/// A drain that runs out with a room open: ten seconds before its end the
/// node reports itself leaving (signal moves the meeting away), then stops
/// as soon as no client is connected to it any more.
#[tokio::test]
async fn a_drain_running_out_reports_leaving_before_the_node_stops() {
    let received = Received::default();
    let signal_url = report_collector(received.clone()).await;
    let (http_port, udp_port) = (free_tcp_port(), free_media_port());
    let mut node = Node(
        sfu(http_port)
            .args(["--advertised-ip", "127.0.0.1", "--drain-timeout", "15"])
            .env("YUNHUI_SFU_UDP_PORT", udp_port.to_string())
            .env("YUNHUI_SIGNAL_URL", &signal_url)
            .env("YUNHUI_NODE_ID", "sfu-8")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start yunhui-sfu"),
    );
    let control = HttpControl::new(&format!("http://127.0.0.1:{http_port}"), KEY);
    let deadline = Instant::now() + Duration::from_secs(30);
    while control.create_room("r").await.is_err() {
        assert!(Instant::now() < deadline, "the node never opened a room");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = Instant::now();
    sigterm(&node.0);
    // Draining first, and not leaving while the drain has time left (it
    // leaves 10 s before the end, 5 s after the signal). Reports come every
    // 2 s; on a loaded machine the first may come late, so wait for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    let first_draining = loop {
        let draining = received
            .lock()
            .iter()
            .find(|(_, _, report)| report.draining)
            .map(|(_, _, report)| report.clone());
        if let Some(report) = draining {
            break report;
        }
        assert!(Instant::now() < deadline, "no draining report");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!first_draining.leaving, "{first_draining:?}");
    // Then leaving, with the room still open; the room has no client, so
    // the node stops right after.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let leaving = received
            .lock()
            .iter()
            .find(|(_, _, report)| report.leaving)
            .map(|(_, _, report)| report.clone());
        if let Some(report) = leaving {
            assert!(report.draining);
            assert_eq!(report.stats.rooms, 1);
            break;
        }
        assert!(Instant::now() < deadline, "no leaving report");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for_exit(&mut node.0, Duration::from_secs(5)).await;
    assert!(
        sent.elapsed() < Duration::from_secs(14),
        "the node waited for the whole drain although no client was left"
    );
}

fn sigterm(process: &Child) {
    let pid = rustix::process::Pid::from_raw(process.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
}

async fn wait_for_exit(process: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = process.try_wait().expect("wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the node did not stop within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Subscribes `participant` to room `room` until nothing is left to negotiate.
async fn subscribe(control: &HttpControl, room: &str, participant: &str) -> Subscriber {
    let subscriber = Subscriber::new("127.0.0.1:0").await.expect("subscriber PC");
    let mut offer = control
        .subscribe_offer(room, participant)
        .await
        .expect("subscribe offer");
    while let Some(sdp) = offer {
        let answer = subscriber.apply_offer(&sdp).await.expect("answer");
        offer = control
            .subscribe_answer(room, participant, &answer)
            .await
            .expect("answer applied");
    }
    subscriber
}

/// SIGTERM to a node with a live meeting: the meeting's media keeps flowing
/// and someone can still join it, no new room opens, and the process stops
/// (exit status 0) as soon as the meeting ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_a_live_room_goes_on_no_new_room_opens_and_the_node_stops_when_it_ends() {
    let (http_port, udp_port) = (free_tcp_port(), free_media_port());
    let mut node = Node(
        sfu(http_port)
            .args(["--advertised-ip", "127.0.0.1"])
            .env("YUNHUI_SFU_UDP_PORT", udp_port.to_string())
            .env_remove("YUNHUI_SIGNAL_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start yunhui-sfu"),
    );
    let base = format!("http://127.0.0.1:{http_port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "yunhui-sfu did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let control = HttpControl::new(&base, KEY);
    control.create_room("live").await.expect("room");
    for p in ["alice", "bob", "carol"] {
        control
            .add_participant("live", p)
            .await
            .expect("participant");
    }
    let alice = Publisher::new("alice", "127.0.0.1:0")
        .await
        .expect("publisher");
    let offer = alice.create_offer().await.expect("offer");
    let answer = control
        .publish("live", "alice", &offer)
        .await
        .expect("publish");
    alice.apply_answer(&answer).await.expect("apply answer");
    alice.start_synthetic_media(SyntheticMedia::default());
    let bob = subscribe(&control, "live", "bob").await;
    let receiving = |subscriber: &Subscriber, more_than: u64| {
        subscriber
            .track("alice", TrackKind::Video)
            .is_some_and(|t| t.packets() > more_than)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !receiving(&bob, 10) {
        assert!(
            Instant::now() < deadline,
            "bob receives no video from alice"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    sigterm(&node.0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // No new room...
    match control.create_room("new").await {
        Err(ControlError::Draining { room }) => assert_eq!(room, "new"),
        other => panic!("a draining node opened a new room: {other:?}"),
    }
    // ...but the live one goes on: media flows, and carol joins it.
    let before = bob
        .track("alice", TrackKind::Video)
        .expect("track")
        .packets();
    let carol = subscribe(&control, "live", "carol").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(receiving(&bob, before + 50) && receiving(&carol, 10)) {
        assert!(
            Instant::now() < deadline,
            "media stopped after SIGTERM (bob {before} → {:?})",
            bob.track("alice", TrackKind::Video).map(|t| t.packets())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        node.0.try_wait().expect("wait").is_none(),
        "stopped with a live room"
    );

    control.close_room("live").await.expect("close");
    let status = wait_for_exit(&mut node.0, Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");
}

/// A room nobody has a connected peer connection in for the node's
/// `YUNHUI_SFU_UNUSED_ROOM_TIMEOUT` is closed: one whose only participant
/// never connected, and one whose participants' connections closed (their
/// signal replica is gone). A room in use stays, its media flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_nobody_is_connected_to_are_closed_after_the_timeout() {
    let (http_port, udp_port) = (free_tcp_port(), free_media_port());
    let _node = Node(
        sfu(http_port)
            .args(["--advertised-ip", "127.0.0.1"])
            .env("YUNHUI_SFU_UDP_PORT", udp_port.to_string())
            .env("YUNHUI_SFU_UNUSED_ROOM_TIMEOUT", "3")
            .env_remove("YUNHUI_SIGNAL_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start yunhui-sfu"),
    );
    let base = format!("http://127.0.0.1:{http_port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "yunhui-sfu did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let control = HttpControl::new(&base, KEY);
    // In use: alice publishes, bob receives.
    // Left: dora published, then her connection closed.
    // Abandoned: eve was added and never connected.
    for (room, people) in [
        ("used", &["alice", "bob"][..]),
        ("left", &["dora"][..]),
        ("abandoned", &["eve"][..]),
    ] {
        control.create_room(room).await.expect("room");
        for p in people {
            control.add_participant(room, p).await.expect("participant");
        }
    }
    let mut publishers = Vec::new();
    for (room, who) in [("used", "alice"), ("left", "dora")] {
        let publisher = Publisher::new(who, "127.0.0.1:0").await.expect("publisher");
        let offer = publisher.create_offer().await.expect("offer");
        let answer = control.publish(room, who, &offer).await.expect("publish");
        publisher.apply_answer(&answer).await.expect("apply answer");
        publisher.start_synthetic_media(SyntheticMedia::default());
        publishers.push(publisher);
    }
    let bob = subscribe(&control, "used", "bob").await;
    let video = |more_than: u64| {
        bob.track("alice", TrackKind::Video)
            .is_some_and(|t| t.packets() > more_than)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !video(10) {
        assert!(Instant::now() < deadline, "bob receives no video");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dora = publishers.pop().expect("dora");
    dora.close().await;
    let exists = |room: &'static str| {
        let control = &control;
        async move {
            match control.active_speaker(room).await {
                Ok(_) => true,
                Err(ControlError::RoomNotFound { .. }) => false,
                Err(e) => panic!("asking for {room}: {e}"),
            }
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while exists("left").await || exists("abandoned").await {
        assert!(
            Instant::now() < deadline,
            "rooms nobody is connected to are still open after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(exists("used").await, "the room in use was closed");
    let before = bob
        .track("alice", TrackKind::Video)
        .map_or(0, |t| t.packets());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(video(before + 10), "media stopped in the room in use");
    let stats = control.node_stats().await.expect("stats");
    assert_eq!((stats.rooms, stats.participants), (1, 2));
}
