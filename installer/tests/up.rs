//! `yunhui up` as a user runs it: the real binary, stopped with Ctrl-C
//! (SIGINT) and started again on the same data directory (F-OPS-7).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yunhui_client::api::ApiClient;
use yunhui_client::media::{SyntheticMedia, TrackKind};
use yunhui_client::meeting::{JoinOptions, MeetingSession};
use yunhui_proto::api::{CreateMeetingRequest, RegisterRequest};
use yunhui_proto::discovery::Discovery;

struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
    base_url: String,
    meeting_link: String,
    admin_password: Option<String>,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port(udp: bool) -> u16 {
    if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}

/// A port free for both UDP and TCP: the SFU takes the number on both
/// (ICE over TCP next to UDP), and so does the SIP gateway (SIP over TCP).
fn free_media_port() -> u16 {
    loop {
        let port = free_port(true);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn start(data_dir: &Path) -> Up {
    start_on(data_dir, "127.0.0.1")
}

/// `yunhui up` listening on (and advertising for media) `host`, an address
/// of this machine.
fn start_on(data_dir: &Path, host: &str) -> Up {
    start_with(data_dir, host, &[])
}

/// [`start_on`] with more arguments.
fn start_with(data_dir: &Path, host: &str, more: &[&str]) -> Up {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yunhui"))
        .arg("up")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--listen", &format!("{host}:{}", free_port(false))])
        .args(["--media-port", &free_media_port().to_string()])
        .args(["--sip-port", &free_media_port().to_string()])
        .args(more)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start yunhui up");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut up = Up {
        child,
        lines,
        base_url: String::new(),
        meeting_link: String::new(),
        admin_password: None,
    };
    loop {
        let line = up
            .lines
            .recv_timeout(Duration::from_secs(60))
            .expect("yunhui up printed its banner");
        if let Some(rest) = line.strip_prefix("Administrator account: admin@yunhui.local / ") {
            up.admin_password = rest.split_whitespace().next().map(String::from);
        } else if let Some(url) = line.strip_prefix("Yunhui is running at ") {
            up.base_url = url.trim().to_string();
        } else if let Some(link) = line.strip_prefix("Meeting link: ") {
            up.meeting_link = link.trim().to_string();
        } else if line.starts_with("Press Ctrl-C") {
            return up;
        }
    }
}

fn stop(mut up: Up) {
    let pid = up.child.id().to_string();
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = up.child.try_wait().unwrap() {
            assert!(status.success(), "yunhui up exited with {status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "yunhui up did not stop on Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let rest: Vec<String> = up.lines.try_iter().collect();
    assert!(rest.iter().any(|l| l == "Yunhui stopped."), "{rest:?}");
}

#[tokio::test]
async fn restart_keeps_accounts_and_meetings() {
    let data = tempfile::tempdir().unwrap();
    let first = start(data.path());
    let admin_password = first
        .admin_password
        .clone()
        .expect("first start prints the admin password");
    assert!(
        first
            .meeting_link
            .starts_with(&format!("{}/j/", first.base_url)),
        "{}",
        first.meeting_link
    );
    let number = first
        .meeting_link
        .split("/j/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();

    // Enterprise login: only the address, as a user types it (no scheme:
    // HTTPS is tried first, then HTTP).
    let address = first.base_url.trim_start_matches("http://");
    let (mut discovered, doc) = ApiClient::discover(address)
        .await
        .expect("the deployment describes itself at /.well-known/yunhui");
    assert_eq!(doc.api, format!("{}/api/v1", first.base_url), "{doc:?}");
    assert!(doc.signaling.starts_with("ws://127.0.0.1:"), "{doc:?}");
    assert!(
        doc.media
            .as_ref()
            .is_some_and(|m| m.udp_port > 0 && m.tcp_port == Some(m.udp_port)),
        "{doc:?}"
    );
    discovered
        .login("admin@yunhui.local", &admin_password)
        .await
        .expect("signing in with only the address");

    let api = ApiClient::new(&first.base_url);
    api.register(&RegisterRequest {
        email: Some("wang.fang@example.com".into()),
        phone: Some("13900139000".into()),
        password: "persist me please".into(),
        display_name: "Wang Fang".into(),
        tenant_id: None,
    })
    .await
    .unwrap();
    let mut user = ApiClient::new(&first.base_url);
    user.login("wang.fang@example.com", "persist me please")
        .await
        .unwrap();
    let meeting = user
        .create_meeting(&CreateMeetingRequest {
            topic: Some("Weekly sync".into()),
            password: Some("1111".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    stop(first);

    let second = start(data.path());
    assert!(
        second.admin_password.is_none(),
        "the admin password is printed on first start only"
    );
    let second_number = second
        .meeting_link
        .split("/j/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        second_number, number,
        "the open meeting is reused, not replaced"
    );

    let mut user = ApiClient::new(&second.base_url);
    user.login("13900139000", "persist me please")
        .await
        .unwrap();
    let again = user.meeting(&meeting.id).await.unwrap();
    assert_eq!(again.number, meeting.number);
    assert_eq!(again.topic, "Weekly sync");
    assert_eq!(again.password.as_deref(), Some("1111"));
    assert_eq!(
        ApiClient::new(&second.base_url)
            .preview(&meeting.number)
            .await
            .unwrap()
            .topic,
        "Weekly sync"
    );

    let mut admin = ApiClient::new(&second.base_url);
    admin
        .login("admin@yunhui.local", &admin_password)
        .await
        .unwrap();
    assert_eq!(admin.me().await.unwrap().display_name, "Administrator");
    stop(second);
}

/// The address a user is given, in front of a deployment whose HTTP port is
/// `upstream`: it serves `doc` at `/.well-known/yunhui` and carries
/// signaling sockets (`GET /api/v1/signal` upgrades, counted) through to the
/// deployment; any other request it closes unanswered. `doc` gets this
/// front's port.
async fn front(
    doc: impl Fn(u16) -> Discovery + Send + 'static,
    upstream: std::net::SocketAddr,
) -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = serde_json::to_vec(&doc(port)).unwrap();
    let sockets = Arc::new(AtomicUsize::new(0));
    let counted = sockets.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let body = body.clone();
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut chunk = [0u8; 1024];
                // A request's head; anything else (a TLS hello) is closed at once.
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match client.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                    if !head.starts_with(b"GET ") && head.len() >= 4 {
                        return;
                    }
                }
                let text = String::from_utf8_lossy(&head).to_lowercase();
                if text.starts_with("get /.well-known/yunhui ") {
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = client.write_all(answer.as_bytes()).await;
                    let _ = client.write_all(&body).await;
                } else if text.starts_with("get /api/v1/signal ")
                    && text.contains("upgrade: websocket")
                {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    if server.write_all(&head).await.is_ok() {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }
            });
        }
    });
    (port, sockets)
}

/// Enterprise login in the SDK: given only an address, a client discovers
/// the deployment, signs in at the discovered API and joins a meeting at the
/// discovered signaling URL, where media flows. The address here is a front
/// whose document names the deployment's own API but its own signaling: a
/// client that built the signaling URL from the API's base (or from the
/// address) would not pass through the front.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_login_signs_in_and_joins_from_the_address_alone() {
    let data = tempfile::tempdir().unwrap();
    let up = start(data.path());
    let admin_password = up.admin_password.clone().expect("first start");
    let served: Discovery = reqwest::get(format!("{}/.well-known/yunhui", up.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upstream: std::net::SocketAddr = up.base_url.trim_start_matches("http://").parse().unwrap();
    let (port, signaling_sockets) = front(
        move |port| Discovery {
            signaling: format!("ws://127.0.0.1:{port}/api/v1/signal"),
            ..served.clone()
        },
        upstream,
    )
    .await;

    // What the user types: the address, no scheme (HTTPS is tried first:
    // the front closes it unanswered, then plain HTTP).
    let (mut admin, doc) = ApiClient::discover(&format!("127.0.0.1:{port}"))
        .await
        .expect("the address describes the deployment");
    assert_eq!(
        admin.base_url(),
        up.base_url,
        "the discovered API, not the address"
    );
    assert_eq!(
        doc.signaling,
        format!("ws://127.0.0.1:{port}/api/v1/signal")
    );
    admin
        .login("admin@yunhui.local", &admin_password)
        .await
        .expect("signing in at the discovered API");
    let meeting = admin
        .create_meeting(&CreateMeetingRequest {
            topic: Some("Enterprise login".into()),
            password: Some("2468".into()),
            ..Default::default()
        })
        .await
        .unwrap();

    let join = |name: &str, token: Option<String>| {
        MeetingSession::join(
            &doc.signaling,
            JoinOptions {
                meeting_number: meeting.number.clone(),
                display_name: name.into(),
                password: token.is_none().then(|| "2468".into()),
                token,
                media_bind: Some("127.0.0.1:0".into()),
                ..JoinOptions::default()
            },
        )
    };
    let host = join("Administrator", admin.token().map(String::from))
        .await
        .expect("the signed-in account joins at the discovered signaling URL");
    let mut guest = join("Guest", None).await.expect("a guest joins too");
    assert_eq!(
        signaling_sockets.load(Ordering::SeqCst),
        2,
        "both sockets went through the discovered URL"
    );
    guest
        .publish(SyntheticMedia {
            video_bitrate: 100_000,
            video_fps: 10,
            ..SyntheticMedia::default()
        })
        .await
        .expect("the guest publishes");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let received = [TrackKind::Audio, TrackKind::Video].map(|kind| {
            host.subscriber()
                .track(&guest.participant_id(), kind)
                .map_or(0, |track| track.packets())
        });
        if received.iter().all(|&packets| packets > 5) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the signed-in host receives the guest's audio and video: {received:?} packets"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    guest.leave().await;
    host.leave().await;
    drop(up);
}

/// Packets received from `from` per kind (audio, video) by `session`.
fn received_from(session: &MeetingSession, from: &str) -> [u64; 2] {
    [TrackKind::Audio, TrackKind::Video].map(|kind| {
        session
            .subscriber()
            .track(from, kind)
            .map_or(0, |track| track.packets())
    })
}

/// Whether `session` receives more of `from`'s audio and video within half
/// a second.
async fn keeps_receiving(session: &MeetingSession, from: &str) -> bool {
    let before = received_from(session, from);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = received_from(session, from);
    after.iter().zip(before).all(|(a, b)| *a > b + 3)
}

/// Sum of every series of the Prometheus metric `name` at the deployment's
/// `/metrics`.
async fn metric(base_url: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{base_url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let metric = series.split('{').next()?;
            (metric == name).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

/// Light synthetic media, for the network namespace tests.
fn light_media() -> SyntheticMedia {
    SyntheticMedia {
        video_bitrate: 100_000,
        video_fps: 10,
        ..SyntheticMedia::default()
    }
}

/// How the namespace tests' participants join meeting `number` (password
/// 1357), their media bound to `bind`.
fn netns_join(number: &str, name: &str, bind: String) -> JoinOptions {
    JoinOptions {
        meeting_number: number.to_owned(),
        display_name: name.into(),
        password: Some("1357".into()),
        media_bind: Some(bind),
        ..JoinOptions::default()
    }
}

/// What the namespace tests share: the administrator makes a meeting on
/// `topic` (password 1357), and Alice joins it from the host end of
/// `netns` and publishes. Returns the meeting's number, Alice and her id.
async fn meeting_with_alice(
    up: &Up,
    netns: &yunhui_testkit::netns::Namespace,
    topic: &str,
) -> (String, MeetingSession, String) {
    let admin_password = up.admin_password.clone().expect("first start");
    let mut admin = ApiClient::new(&up.base_url);
    admin
        .login("admin@yunhui.local", &admin_password)
        .await
        .unwrap();
    let meeting = admin
        .create_meeting(&CreateMeetingRequest {
            topic: Some(topic.into()),
            password: Some("1357".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut alice = MeetingSession::join(
        &up.base_url,
        netns_join(&meeting.number, "Alice", format!("{}:0", netns.host_ip())),
    )
    .await
    .expect("Alice joins from the host");
    alice.publish(light_media()).await.expect("Alice publishes");
    let alice_id = alice.participant_id().to_string();
    (meeting.number, alice, alice_id)
}

/// Issue 13, "the SDK does the same": an SDK participant on a network that
/// drops all UDP (a network namespace this test makes, on this machine only)
/// joins a meeting and receives the other participant's audio and video over
/// ICE-TCP, and its own media reaches the other the same way. The namespace
/// dropped the participant's UDP (its counter is above zero), so what flowed
/// went over TCP; the SFU holds the TCP connections. Needs root, `ip` and
/// `iptables`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_on_a_network_without_udp_joins_and_receives_media_over_ice_tcp() {
    let netns = yunhui_testkit::netns::Namespace::udp_blocked()
        .expect("a network namespace that drops UDP (needs root, ip and iptables)");
    let data = tempfile::tempdir().unwrap();
    let up = start_on(data.path(), &netns.host_ip().to_string());
    let (number, alice, alice_id) = meeting_with_alice(&up, &netns, "Behind a firewall").await;
    let media = light_media();

    // Bob, inside the namespace: joins, publishes, waits for Alice's audio and
    // video, tells the test his id and what he received, and stays until told.
    let (joined_tx, joined_rx) = tokio::sync::oneshot::channel();
    let (leave_tx, leave_rx) = tokio::sync::oneshot::channel::<()>();
    let bob_options = netns_join(
        &number,
        "Bob behind a firewall",
        format!("{}:0", netns.ns_ip()),
    );
    let base_url = up.base_url.clone();
    let bob = netns.run(move || async move {
        let mut bob = MeetingSession::join(&base_url, bob_options)
            .await
            .expect("Bob joins from a network without UDP");
        bob.publish(media).await.expect("Bob publishes");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut received = received_from(&bob, &alice_id);
        while received.iter().any(|&packets| packets <= 20)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
            received = received_from(&bob, &alice_id);
        }
        let _ = joined_tx.send((bob.participant_id().to_string(), received));
        let _ = leave_rx.await;
        bob.leave().await;
    });

    let (bob_id, bob_received) = joined_rx.await.expect("Bob's thread reports");
    assert!(
        bob_received.iter().all(|&packets| packets > 20),
        "Bob, without UDP, receives Alice's audio and video: {bob_received:?} packets"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let received = received_from(&alice, &bob_id);
        if received.iter().all(|&packets| packets > 20) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Alice receives Bob's audio and video, sent over TCP: {received:?} packets"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connections = metric(&up.base_url, "yunhui_sfu_ice_tcp_connections").await;
    assert!(
        connections >= 2.0,
        "Bob's two peer connections each hold a TCP connection to the SFU: {connections}"
    );
    let (dropped_out, dropped_in) = netns.dropped_udp().unwrap();
    assert!(
        dropped_out > 0,
        "Bob tried UDP and the namespace dropped it (out: {dropped_out}, in: {dropped_in}), \
         so his media went over TCP"
    );

    let _ = leave_tx.send(());
    bob.join().expect("Bob's thread").expect("Bob's namespace");
    alice.leave().await;
    drop(up);
}

/// Issue 13, "ICE restarts when a network path dies", the SDK's half (the
/// browser's is `tests/browser/test/media_restart.test.js`): Bob's SDK
/// session runs in a network namespace whose UDP works at first, so his media
/// goes over UDP. Then the namespace drops all UDP, while TCP (his signaling
/// socket) goes on. His session sees its connections go down, asks for a
/// media restart, and its new connections reach the SFU over ICE-TCP: he
/// receives Alice again and she receives him, and nobody rejoined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdk_session_whose_udp_dies_restarts_its_media_over_ice_tcp() {
    let netns = yunhui_testkit::netns::Namespace::open()
        .expect("a network namespace (needs root, ip and iptables)");
    let data = tempfile::tempdir().unwrap();
    let up = start_on(data.path(), &netns.host_ip().to_string());
    let (number, alice, alice_id) = meeting_with_alice(&up, &netns, "A firewall changes").await;
    let media = light_media();

    // Bob, inside the namespace: joins and receives Alice over UDP, tells the
    // test, waits for UDP to die, then for his media to come back.
    let (joined_tx, joined_rx) = tokio::sync::oneshot::channel();
    let (blocked_tx, blocked_rx) = tokio::sync::oneshot::channel::<()>();
    let (back_tx, back_rx) = tokio::sync::oneshot::channel();
    let (leave_tx, leave_rx) = tokio::sync::oneshot::channel::<()>();
    let bob_options = netns_join(
        &number,
        "Bob on a network that changes",
        format!("{}:0", netns.ns_ip()),
    );
    let base_url = up.base_url.clone();
    let bob = netns.run(move || async move {
        let mut bob = MeetingSession::join(&base_url, bob_options)
            .await
            .expect("Bob joins");
        bob.publish(media).await.expect("Bob publishes");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !keeps_receiving(&bob, &alice_id).await && tokio::time::Instant::now() < deadline {}
        let _ = joined_tx.send((
            bob.participant_id().to_string(),
            keeps_receiving(&bob, &alice_id).await,
        ));
        let _ = blocked_rx.await;
        let blocked = tokio::time::Instant::now();
        let deadline = blocked + Duration::from_secs(60);
        let mut asked_after = None;
        loop {
            let view = bob.view();
            if asked_after.is_none() && view.media_restarts_asked > 0 {
                asked_after = Some(blocked.elapsed());
            }
            if view.media_restarts > 0 && keeps_receiving(&bob, &alice_id).await {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let view = bob.view();
        let _ = back_tx.send((
            asked_after,
            blocked.elapsed(),
            keeps_receiving(&bob, &alice_id).await,
            view.media_restarts,
            view.rejoins,
            bob.participant_id().to_string(),
        ));
        let _ = leave_rx.await;
        bob.leave().await;
    });

    let (bob_id, received_over_udp) = joined_rx.await.expect("Bob's thread reports");
    // (His connections may hold an idle ICE-TCP connection each too, as
    // browsers do; the UDP pair is the one chosen.)
    assert!(
        received_over_udp,
        "Bob receives Alice's audio and video while UDP works"
    );
    netns
        .block_udp()
        .expect("the namespace starts dropping UDP");
    let _ = blocked_tx.send(());
    let (asked_after, back_after, receives_again, restarts, rejoins, still_bob) =
        back_rx.await.expect("Bob's thread reports again");
    let asked_after = asked_after.expect("Bob's session never asked for a media restart");
    assert!(
        receives_again,
        "Bob receives Alice again after the restart ({restarts} restarts, {back_after:?} after UDP died)"
    );
    assert!(restarts >= 1, "signal told Bob to restart his media");
    assert_eq!(rejoins, 0, "Bob did not join again");
    assert_eq!(still_bob, bob_id, "Bob is the same participant");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !keeps_receiving(&alice, &bob_id).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Alice receives Bob again, published anew over TCP: {:?} packets",
            received_from(&alice, &bob_id)
        );
    }
    let connections = metric(&up.base_url, "yunhui_sfu_ice_tcp_connections").await;
    assert!(
        connections >= 2.0,
        "Bob's new peer connections each hold a TCP connection to the SFU: {connections}"
    );
    let (dropped_out, _) = netns.dropped_udp().unwrap();
    assert!(dropped_out > 0, "the namespace dropped Bob's UDP");
    eprintln!(
        "media restart asked {asked_after:?} and Alice received again {back_after:?} after UDP was blocked"
    );

    let _ = leave_tx.send(());
    bob.join().expect("Bob's thread").expect("Bob's namespace");
    alice.leave().await;
    drop(up);
}

/// Issue 13, "with only TCP 443 allowed it joins through TURN/TLS; the SDK
/// does the same": Bob's SDK session runs in a network namespace that drops
/// all UDP and lets TCP out only to the web port and TURN's TLS port (TCP to
/// the media port and to TURN's plain port is refused). webrtc-rs relays
/// over UDP only; the SDK bridges the `turns:` server the join answer names
/// (`turn_bridge`), trusting the certificate `yunhui up` made. Media flows
/// both ways through the node's TURN server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_on_a_network_with_only_tls_out_relays_through_turn_over_tls() {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let netns = yunhui_testkit::netns::Namespace::udp_blocked()
        .expect("a network namespace that drops UDP (needs root, ip and iptables)");
    let data = tempfile::tempdir().unwrap();
    let (turn_port, turn_tls_port) = (free_media_port(), free_port(false));
    let up = start_with(
        data.path(),
        &netns.host_ip().to_string(),
        &[
            "--turn-port",
            &turn_port.to_string(),
            "--turn-tls-port",
            &turn_tls_port.to_string(),
        ],
    );
    let web_port: u16 = (up.base_url.rsplit(':').next())
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .expect("the base URL has a port");
    netns
        .allow_only_tcp_to(&[web_port, turn_tls_port])
        .expect("only the web port and TURN over TLS");
    let turn_cert = CertificateDer::from_pem_file(data.path().join("turn-tls.pem"))
        .expect("yunhui up keeps its TURN certificate in the data directory");
    let (number, alice, alice_id) = meeting_with_alice(&up, &netns, "Behind a TLS proxy").await;
    let media = light_media();

    let (joined_tx, joined_rx) = tokio::sync::oneshot::channel();
    let (leave_tx, leave_rx) = tokio::sync::oneshot::channel::<()>();
    let bob_options = JoinOptions {
        turn_tls_roots: vec![turn_cert],
        ..netns_join(
            &number,
            "Bob behind a TLS proxy",
            format!("{}:0", netns.ns_ip()),
        )
    };
    let base_url = up.base_url.clone();
    let bob = netns.run(move || async move {
        let mut bob = MeetingSession::join(&base_url, bob_options)
            .await
            .expect("Bob joins over the web port");
        bob.publish(media).await.expect("Bob publishes");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
        while (received_from(&bob, &alice_id)
            .iter()
            .any(|&packets| packets <= 20)
            || !keeps_receiving(&bob, &alice_id).await)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = joined_tx.send((
            bob.participant_id().to_string(),
            received_from(&bob, &alice_id),
        ));
        let _ = leave_rx.await;
        bob.leave().await;
    });

    let (bob_id, bob_received) = joined_rx.await.expect("Bob's thread reports");
    assert!(
        bob_received.iter().all(|&packets| packets > 20),
        "Bob, with only TLS out, receives Alice's audio and video: {bob_received:?} packets"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !keeps_receiving(&alice, &bob_id).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Alice receives Bob's audio and video, relayed over TLS: {:?} packets",
            received_from(&alice, &bob_id)
        );
    }
    // The namespace lets nothing else out, so this is the only way Bob's
    // media can have gone; the relay's counter says the same.
    let relayed = metric(&up.base_url, "yunhui_sfu_turn_relayed_bytes_total").await;
    assert!(
        relayed > 20_000.0,
        "the node's TURN server carried Bob's media: {relayed} bytes"
    );
    let (dropped_out, _) = netns.dropped_udp().unwrap();
    assert!(
        dropped_out > 0,
        "Bob tried UDP and the namespace dropped it"
    );

    let _ = leave_tx.send(());
    bob.join().expect("Bob's thread").expect("Bob's namespace");
    alice.leave().await;
    drop(up);
}
