//! ICE over TCP: a subscriber with no UDP at all (its peer connection binds TCP only
//! and takes TCP candidates only) receives a publisher's audio and video through
//! the node's TCP port, RFC 6544 passive candidate, RFC 4571 framing; connectivity
//! checks, DTLS, SRTP and its RTCP all go over the one connection.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use support::tcp_only::TcpOnlySubscriber;
use yunhui_client::media::{Publisher, SyntheticMedia};
use yunhui_sfu::control::{InProcessControl, MediaControl};
use yunhui_sfu::{Sfu, SfuConfig};

const ROOM: &str = "closed-network";

/// The node's TCP candidate in `sdp`: passive, on its TCP port.
fn assert_offers_tcp_candidate(sdp: &str, tcp: SocketAddr) {
    let tcp_candidates: Vec<&str> = sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate") && l.to_ascii_lowercase().contains(" tcp "))
        .collect();
    assert!(!tcp_candidates.is_empty(), "no TCP candidate in {sdp}");
    for candidate in tcp_candidates {
        let fields: Vec<&str> = candidate.split_whitespace().collect();
        assert_eq!(
            fields.get(4),
            Some(&tcp.ip().to_string().as_str()),
            "{candidate}"
        );
        assert_eq!(
            fields.get(5),
            Some(&tcp.port().to_string().as_str()),
            "{candidate}"
        );
        assert!(candidate.contains("tcptype passive"), "{candidate}");
    }
}

#[tokio::test]
async fn a_subscriber_without_udp_gets_audio_and_video_over_ice_tcp() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let sfu = Sfu::start(SfuConfig {
        udp_listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        advertised_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        registry: prometheus::Registry::new(),
    })
    .await
    .expect("SFU starts");
    let tcp = sfu.tcp_media_addr();
    let control = InProcessControl::new(sfu.clone());
    control.create_room(ROOM).await.expect("room");
    for p in ["alice", "bob"] {
        control.add_participant(ROOM, p).await.expect("participant");
    }

    // Alice publishes over UDP, as most clients do.
    let alice = Publisher::new("alice", "127.0.0.1:0")
        .await
        .expect("publisher");
    let offer = alice.create_offer().await.expect("offer");
    let answer_sdp = control
        .publish(ROOM, "alice", &offer)
        .await
        .expect("publish");
    assert_offers_tcp_candidate(&answer_sdp, tcp);
    alice.apply_answer(&answer_sdp).await.expect("apply answer");
    alice.start_synthetic_media(SyntheticMedia::default());

    // Bob is behind a network that drops UDP.
    let bob = TcpOnlySubscriber::new().await;
    let mut offer = control.subscribe_offer(ROOM, "bob").await.expect("offer");
    while let Some(sdp) = offer {
        assert_offers_tcp_candidate(&sdp, tcp);
        let answer_sdp = bob.apply_offer(&sdp).await;
        offer = control
            .subscribe_answer(ROOM, "bob", &answer_sdp)
            .await
            .expect("answer applied");
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (audio, video) = (bob.packets("alice", "audio"), bob.packets("alice", "video"));
        if audio > 20 && video > 20 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "over ICE-TCP bob got {audio} audio and {video} video packets (connected: {})",
            bob.connected()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(bob.connected());
    assert_eq!(
        sfu.metrics().ice_tcp_connections.get(),
        1,
        "bob's one connection is tied to his subscriber PC"
    );

    // Closing the room closes bob's peer connection, and with it the TCP connection.
    control.close_room(ROOM).await.expect("close room");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while sfu.metrics().ice_tcp_connections.get() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ICE-TCP connection outlived its peer connection"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    alice.close().await;
    bob.close().await;
    sfu.shutdown().await;
}

#[tokio::test]
async fn a_connection_that_names_no_peer_connection_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sfu = Sfu::start(SfuConfig {
        udp_listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        advertised_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        registry: prometheus::Registry::new(),
    })
    .await
    .expect("SFU starts");
    for first in [
        // Not STUN at all (an HTTP request to the wrong port).
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        // A framed DTLS-looking packet: not a connectivity check.
        [&[0u8, 4][..], &[22, 254, 253, 0]].concat(),
        // A Binding request for a peer connection this node does not have.
        framed_binding_request("nosuchufrag:client"),
    ] {
        let mut stream = tokio::net::TcpStream::connect(sfu.tcp_media_addr())
            .await
            .expect("connect");
        stream.write_all(&first).await.expect("write");
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("the node closes the connection");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
    assert_eq!(sfu.metrics().ice_tcp_connections.get(), 0);
    sfu.shutdown().await;
}

/// A STUN Binding request with only a USERNAME, with its RFC 4571 length prefix.
fn framed_binding_request(username: &str) -> Vec<u8> {
    let mut attr = Vec::new();
    attr.extend_from_slice(&0x0006u16.to_be_bytes());
    attr.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attr.extend_from_slice(username.as_bytes());
    while attr.len() % 4 != 0 {
        attr.push(0);
    }
    let mut msg = Vec::new();
    msg.extend_from_slice(&0x0001u16.to_be_bytes());
    msg.extend_from_slice(&(attr.len() as u16).to_be_bytes());
    msg.extend_from_slice(&0x2112_A442u32.to_be_bytes());
    msg.extend_from_slice(&[7u8; 12]);
    msg.extend_from_slice(&attr);
    [&(msg.len() as u16).to_be_bytes()[..], &msg].concat()
}

#[tokio::test]
async fn connections_that_send_no_check_are_limited() {
    use tokio::io::AsyncReadExt;
    let sfu = Sfu::start(SfuConfig {
        udp_listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        advertised_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        registry: prometheus::Registry::new(),
    })
    .await
    .expect("SFU starts");
    // 256 connections that say nothing are held, waiting for their first check.
    let mut idle = Vec::new();
    for _ in 0..256 {
        idle.push(
            tokio::net::TcpStream::connect(sfu.tcp_media_addr())
                .await
                .expect("connect"),
        );
    }
    // The next one is closed at once.
    let mut refused = tokio::net::TcpStream::connect(sfu.tcp_media_addr())
        .await
        .expect("connect");
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(Duration::from_secs(5), refused.read(&mut buf))
        .await
        .expect("the 257th connection is closed before the first-check timeout");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // One of the held ones gives up: there is room again.
    drop(idle.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = tokio::net::TcpStream::connect(sfu.tcp_media_addr())
        .await
        .expect("connect");
    let held = tokio::time::timeout(Duration::from_millis(500), again.read(&mut buf)).await;
    assert!(held.is_err(), "a connection is held again: {held:?}");
    sfu.shutdown().await;
}
