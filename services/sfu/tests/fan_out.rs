//! A publisher PC hands its packets straight to the subscriber PCs subscribed to
//! its tracks: this follows the publisher PC when it changes, over real UDP on
//! 127.0.0.1 through [`InProcessControl`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use yunhui_client::media::{Publisher, Subscriber, SyntheticMedia, TrackKind};
use yunhui_sfu::control::{InProcessControl, MediaControl};
use yunhui_sfu::{Sfu, SfuConfig};

const ROOM: &str = "room-1";

async fn start_sfu() -> Sfu {
    Sfu::start(SfuConfig {
        udp_listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        advertised_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        registry: prometheus::Registry::new(),
    })
    .await
    .expect("SFU starts")
}

async fn publish(control: &InProcessControl, participant: &str) -> Publisher {
    let publisher = Publisher::new(participant, "127.0.0.1:0")
        .await
        .expect("publisher PC");
    let offer = publisher.create_offer().await.expect("offer");
    let answer = control
        .publish(ROOM, participant, &offer)
        .await
        .expect("publish");
    publisher.apply_answer(&answer).await.expect("apply answer");
    publisher.start_synthetic_media(SyntheticMedia::default());
    publisher
}

async fn subscribe(control: &InProcessControl, participant: &str) -> Subscriber {
    let subscriber = Subscriber::new("127.0.0.1:0").await.expect("subscriber PC");
    let mut offer = control
        .subscribe_offer(ROOM, participant)
        .await
        .expect("subscribe offer");
    while let Some(sdp) = offer {
        let answer = subscriber.apply_offer(&sdp).await.expect("answer");
        offer = control
            .subscribe_answer(ROOM, participant, &answer)
            .await
            .expect("answer applied");
    }
    subscriber
}

async fn forwarded_packets(control: &InProcessControl) -> u64 {
    control.node_stats().await.expect("stats").forwarded_packets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_back_under_the_same_id_reaches_its_subscribers_again() {
    let sfu = start_sfu().await;
    let control = InProcessControl::new(sfu.clone());
    control.create_room(ROOM).await.expect("room");
    for p in ["alice", "bob"] {
        control.add_participant(ROOM, p).await.expect("participant");
    }
    let alice = publish(&control, "alice").await;
    let bob = subscribe(&control, "bob").await;
    let mut audio = bob.audio_packets(4096);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bob
        .track("alice", TrackKind::Audio)
        .is_none_or(|t| t.packets() <= 10)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no audio from alice"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let received_before = bob
        .track("alice", TrackKind::Audio)
        .map_or(0, |t| t.packets());

    // Alice leaves the node and comes back under the same id, with the same
    // track ids: bob's sent tracks stay, and nothing is renegotiated.
    control
        .remove_participant(ROOM, "alice")
        .await
        .expect("remove");
    alice.close().await;
    control.add_participant(ROOM, "alice").await.expect("again");
    let alice = publish(&control, "alice").await;
    assert_eq!(
        control.subscribe_offer(ROOM, "bob").await,
        Ok(None),
        "the same tracks: nothing to offer"
    );
    let before = forwarded_packets(&control).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while forwarded_packets(&control).await < before + 50 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new publisher PC does not reach bob"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bob
        .track("alice", TrackKind::Audio)
        .is_none_or(|t| t.packets() < received_before + 50)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "bob does not receive the new publisher PC's audio"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The new publisher PC's stream (new SSRC, its own random sequence numbers and
    // timestamps) continues the one bob was receiving: a browser would drop
    // packets whose numbers jump back as replays.
    let mut received = Vec::new();
    while let Ok(packet) = audio.try_recv() {
        received.push((packet.sequence_number, packet.timestamp));
    }
    assert!(
        received.len() > 50,
        "bob received {} audio packets",
        received.len()
    );
    for pair in received.windows(2) {
        let [(seq, ts), (next_seq, next_ts)] = pair else {
            unreachable!()
        };
        assert!(
            (1..100).contains(&next_seq.wrapping_sub(*seq)),
            "sequence numbers jump from {seq} to {next_seq}"
        );
        assert!(
            (1..5 * 48_000).contains(&next_ts.wrapping_sub(*ts)),
            "timestamps jump from {ts} to {next_ts}"
        );
    }

    control.close_room(ROOM).await.expect("close");
    alice.close().await;
    bob.close().await;
    sfu.shutdown().await;
}
