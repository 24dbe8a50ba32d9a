//! One publisher and two subscribers in a room over real UDP on 127.0.0.1, through
//! [`InProcessControl`] and the client SDK's media module.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use yunhui_client::media::{PublishOptions, Publisher, Subscriber, SyntheticMedia, TrackKind};
use yunhui_proto::media::{Routing, VideoQuality, VideoSubscriptions};
use yunhui_sfu::control::{ControlError, InProcessControl, MediaControl, MediaKind};
use yunhui_sfu::{Sfu, SfuConfig};

const ROOM: &str = "room-1";

async fn start_sfu() -> Sfu {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    Sfu::start(SfuConfig {
        udp_listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        advertised_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        registry: prometheus::Registry::new(),
    })
    .await
    .expect("SFU starts")
}

/// Every UDP `a=candidate` in `sdp` uses `port` (TCP ones are `ice_tcp`'s).
fn assert_candidates_use_port(sdp: &str, port: u16) {
    let candidates: Vec<&str> = sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate") && !l.contains(" tcp "))
        .collect();
    assert!(!candidates.is_empty(), "no candidates in {sdp}");
    for candidate in candidates {
        let fields: Vec<&str> = candidate.split_whitespace().collect();
        assert_eq!(
            fields.get(5),
            Some(&port.to_string().as_str()),
            "{candidate}"
        );
        assert_eq!(fields.get(4), Some(&"127.0.0.1"), "{candidate}");
    }
}

async fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn subscribe(control: &dyn MediaControl, participant: &str, port: u16) -> Subscriber {
    let subscriber = Subscriber::new("127.0.0.1:0").await.expect("subscriber PC");
    let mut offer = control
        .subscribe_offer(ROOM, participant)
        .await
        .expect("subscribe offer");
    while let Some(sdp) = offer {
        assert_candidates_use_port(&sdp, port);
        let answer = subscriber.apply_offer(&sdp).await.expect("answer");
        offer = control
            .subscribe_answer(ROOM, participant, &answer)
            .await
            .expect("answer applied");
    }
    subscriber
}

async fn run_meeting(control: Arc<dyn MediaControl>, sfu: &Sfu, check_pli: bool) {
    let port = sfu.media_addr().port();
    control.create_room(ROOM).await.expect("room");
    control
        .create_room(ROOM)
        .await
        .expect("create_room is idempotent");
    for p in ["alice", "bob", "carol"] {
        control.add_participant(ROOM, p).await.expect("participant");
    }

    let alice = Publisher::new("alice", "127.0.0.1:0")
        .await
        .expect("publisher PC");
    let offer = alice.create_offer().await.expect("offer");
    let answer = control
        .publish(ROOM, "alice", &offer)
        .await
        .expect("publish");
    assert_candidates_use_port(&answer, port);
    alice.apply_answer(&answer).await.expect("apply answer");
    alice.start_synthetic_media(SyntheticMedia::default());

    let bob = subscribe(control.as_ref(), "bob", port).await;
    let carol = subscribe(control.as_ref(), "carol", port).await;
    assert_eq!(
        control
            .subscribe_offer(ROOM, "bob")
            .await
            .expect("no change"),
        None
    );

    for subscriber in [&bob, &carol] {
        wait_until(
            "audio and video from alice",
            Duration::from_secs(10),
            || {
                [TrackKind::Audio, TrackKind::Video].iter().all(|kind| {
                    subscriber
                        .track("alice", *kind)
                        .is_some_and(|t| t.packets() > 10)
                })
            },
        )
        .await;
        for track in subscriber.tracks() {
            assert_eq!(track.stream_id, "alice");
        }
    }

    wait_until("alice as active speaker", Duration::from_secs(5), || {
        futures_lite_block(control.active_speaker(ROOM))
            .ok()
            .flatten()
            .as_deref()
            == Some("alice")
    })
    .await;

    // Mute at the source: audio stops, video continues.
    control
        .set_forwarding(ROOM, "alice", MediaKind::Audio, false)
        .await
        .expect("mute");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let audio = bob.track("alice", TrackKind::Audio).expect("audio track");
    let video = bob.track("alice", TrackKind::Video).expect("video track");
    let (audio_before, video_before) = (audio.packets(), video.packets());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        audio.packets(),
        audio_before,
        "audio still flows while muted"
    );
    assert!(video.packets() > video_before + 10, "video stopped");
    assert_eq!(control.active_speaker(ROOM).await.expect("speaker"), None);
    control
        .set_forwarding(ROOM, "alice", MediaKind::Audio, true)
        .await
        .expect("unmute");
    let resumed_from = audio.packets();
    wait_until("audio after unmute", Duration::from_secs(5), || {
        audio.packets() > resumed_from + 5
    })
    .await;

    // A PLI from a subscriber reaches the publisher.
    let stats = alice.stats();
    if check_pli {
        let before = stats.keyframe_requests.load(Ordering::Relaxed);
        for _ in 0..3 {
            bob.send_pli(&video).await.expect("pli");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        wait_until("PLI at the publisher", Duration::from_secs(5), || {
            stats.keyframe_requests.load(Ordering::Relaxed) > before
        })
        .await;
    }

    // Routing: an interpreter's audio goes to their channel only; a
    // breakout room cuts a subscriber off from the main room. Each takes
    // a new offer on the same subscriber PC.
    control
        .set_routing(
            ROOM,
            "alice",
            Routing {
                speaks_into: Some("en".into()),
                ..Routing::default()
            },
        )
        .await
        .expect("alice interprets into en");
    control
        .set_routing(
            ROOM,
            "carol",
            Routing {
                listens_to: Some("en".into()),
                ..Routing::default()
            },
        )
        .await
        .expect("carol listens to en");
    renegotiate(control.as_ref(), "bob", &bob).await;
    assert_eq!(
        control.subscribe_offer(ROOM, "carol").await.expect("carol"),
        None,
        "carol, on the channel, keeps alice's audio"
    );
    assert!(
        stops(&audio).await,
        "bob still gets the interpreter's audio"
    );
    assert!(!stops(&video).await, "bob lost the interpreter's video");
    control
        .set_routing(
            ROOM,
            "carol",
            Routing {
                group: Some("breakout-1".into()),
                ..Routing::default()
            },
        )
        .await
        .expect("carol goes into a breakout room");
    renegotiate(control.as_ref(), "carol", &carol).await;
    let carol_video = carol.track("alice", TrackKind::Video).expect("video");
    assert!(stops(&carol_video).await, "carol still gets the main room");
    for p in ["alice", "carol"] {
        control
            .set_routing(ROOM, p, Routing::default())
            .await
            .expect("back");
    }
    renegotiate(control.as_ref(), "bob", &bob).await;
    renegotiate(control.as_ref(), "carol", &carol).await;
    assert!(!stops(&audio).await, "bob's audio did not come back");
    assert!(
        !stops(&carol_video).await,
        "carol's video did not come back"
    );

    let node = control.node_stats().await.expect("stats");
    assert_eq!(node.rooms, 1);
    assert_eq!(node.participants, 3);
    assert_eq!(node.peer_connections, 3);
    assert!(node.forwarded_packets > 0 && node.forwarded_bytes > 0);

    control.close_room(ROOM).await.expect("close");
    control
        .close_room(ROOM)
        .await
        .expect("close_room is idempotent");
    let node = control.node_stats().await.expect("stats");
    assert_eq!(
        (
            node.rooms,
            node.participants,
            node.peer_connections,
            node.tasks
        ),
        (0, 0, 0, 0)
    );
    alice.close().await;
    bob.close().await;
    carol.close().await;
}

/// Takes the SFU's new offer for `participant` (there must be one) on the
/// same subscriber PC.
async fn renegotiate(control: &dyn MediaControl, participant: &str, subscriber: &Subscriber) {
    let mut offer = control
        .subscribe_offer(ROOM, participant)
        .await
        .expect("subscribe offer");
    assert!(offer.is_some(), "{participant} was offered nothing new");
    while let Some(sdp) = offer {
        let answer = subscriber.apply_offer(&sdp).await.expect("answer");
        offer = control
            .subscribe_answer(ROOM, participant, &answer)
            .await
            .expect("answer applied");
    }
}

/// Whether `track` stops receiving (after packets in flight drained).
async fn stops(track: &yunhui_client::media::ReceivedTrack) -> bool {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = track.packets();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    track.packets() == before
}

/// Polls a future once per call from a sync closure by blocking in place.
fn futures_lite_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_reaches_two_subscribers_in_process() {
    let sfu = start_sfu().await;
    let control: Arc<dyn MediaControl> = Arc::new(InProcessControl::new(sfu.clone()));
    run_meeting(control, &sfu, false).await;
    let gathered = sfu.registry().gather();
    assert!(
        gathered
            .iter()
            .any(|m| m.name() == "yunhui_sfu_forwarding_delay_seconds")
    );
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_reaches_two_subscribers_over_http() {
    let sfu = start_sfu().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = yunhui_sfu::internal_api::internal_router(sfu.clone(), "s3cret");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let wrong = yunhui_client::media_control::HttpControl::new(&base, "wrong");
    assert_eq!(
        wrong.create_room(ROOM).await,
        Err(ControlError::Unauthorized)
    );
    let control: Arc<dyn MediaControl> = Arc::new(yunhui_client::media_control::HttpControl::new(
        &base, "s3cret",
    ));
    assert!(matches!(
        control.add_participant("nowhere", "x").await,
        Err(ControlError::RoomNotFound { .. })
    ));
    run_meeting(control, &sfu, false).await;
    server.abort();
    sfu.shutdown().await;
}

#[tokio::test]
async fn bad_sdp_is_a_clear_error() {
    let sfu = start_sfu().await;
    let control = InProcessControl::new(sfu.clone());
    control.create_room(ROOM).await.expect("room");
    control
        .add_participant(ROOM, "alice")
        .await
        .expect("participant");
    let err = control
        .publish(ROOM, "alice", "this is not sdp")
        .await
        .expect_err("bad SDP rejected");
    assert!(matches!(err, ControlError::InvalidSdp { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("the session description is invalid")
    );
    assert!(matches!(
        control.publish(ROOM, "nobody", "v=0").await,
        Err(ControlError::ParticipantNotFound { .. })
    ));
    control.close_room(ROOM).await.expect("close");
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pli_from_subscriber_reaches_publisher() {
    let sfu = start_sfu().await;
    let control: Arc<dyn MediaControl> = Arc::new(InProcessControl::new(sfu.clone()));
    run_meeting(control, &sfu, true).await;
    sfu.shutdown().await;
}

/// The SDK publishes three simulcast layers like the browser's camera; each
/// subscriber gets the layer it asks for, and a change of mind switches the
/// layer on the same track (told apart by the keyframes' picture sizes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdk_simulcast_publisher_sends_each_subscriber_its_layer() {
    let sfu = start_sfu().await;
    let control: Arc<dyn MediaControl> = Arc::new(InProcessControl::new(sfu.clone()));
    let port = sfu.media_addr().port();
    control.create_room(ROOM).await.expect("room");
    for p in ["alice", "bob", "carol"] {
        control.add_participant(ROOM, p).await.expect("participant");
    }
    let alice = Publisher::with_options("alice", "127.0.0.1:0", PublishOptions { simulcast: true })
        .await
        .expect("publisher PC");
    let offer = alice.create_offer().await.expect("offer");
    for rid in ["q", "h", "f"] {
        assert!(
            offer.contains(&format!("a=rid:{rid} send")),
            "the offer announces layer {rid}: {offer}"
        );
    }
    let answer = control
        .publish(ROOM, "alice", &offer)
        .await
        .expect("publish");
    alice.apply_answer(&answer).await.expect("apply answer");
    alice.start_synthetic_media(SyntheticMedia {
        video_fps: 15,
        keyframe_interval: Duration::from_secs(1),
        ..SyntheticMedia::default()
    });

    let quality = |q: VideoQuality| VideoSubscriptions {
        default: q,
        ..VideoSubscriptions::default()
    };
    let bob = subscribe(control.as_ref(), "bob", port).await;
    let carol = subscribe(control.as_ref(), "carol", port).await;
    control
        .set_video_subscriptions(ROOM, "bob", quality(VideoQuality::Low))
        .await
        .expect("bob wants the thumbnail");
    control
        .set_video_subscriptions(ROOM, "carol", quality(VideoQuality::High))
        .await
        .expect("carol wants the full picture");

    let size = |subscriber: &Subscriber| {
        subscriber
            .track("alice", TrackKind::Video)
            .and_then(|t| t.frame_size())
    };
    wait_until(
        "bob receives the low layer",
        Duration::from_secs(10),
        || size(&bob) == Some((160, 120)),
    )
    .await;
    wait_until(
        "carol receives the full layer",
        Duration::from_secs(10),
        || size(&carol) == Some((640, 480)),
    )
    .await;
    let video = bob.track("alice", TrackKind::Video).expect("video track");

    control
        .set_video_subscriptions(ROOM, "bob", quality(VideoQuality::Medium))
        .await
        .expect("bob wants more");
    wait_until(
        "bob switches to the middle layer",
        Duration::from_secs(10),
        || size(&bob) == Some((320, 240)),
    )
    .await;
    assert_eq!(
        bob.tracks()
            .iter()
            .filter(|t| t.kind == TrackKind::Video)
            .count(),
        1,
        "the layer switch stays on one track"
    );
    assert_eq!(
        bob.track("alice", TrackKind::Video).map(|t| t.ssrc),
        Some(video.ssrc),
        "and one SSRC"
    );
    assert_eq!(
        size(&carol),
        Some((640, 480)),
        "carol keeps the full picture"
    );

    control.close_room(ROOM).await.expect("close");
    alice.close().await;
    bob.close().await;
    carol.close().await;
    sfu.shutdown().await;
}
