//! Media through signal and the real SFU, driven by the Rust SDK without a
//! browser (F-MTG-1, F-CTL-8): everyone receives everyone; a mute or
//! camera-off stops that media at the SFU; ending the meeting leaves no room,
//! peer connection or task behind.

use crate::support;

use std::time::Duration;

use support::pool::receives_again;
use support::session::{grows, receiving};
use support::{Db, Server};
use yunhui_client::media::{SyntheticMedia, TrackKind};
use yunhui_client::meeting::{JoinOptions, MeetingSession};
use yunhui_proto::api::Meeting;
use yunhui_proto::limits;
use yunhui_proto::signaling::{ClientMessage, ErrorCode, VideoQuality, VideoSubscription};

const WAIT: Duration = Duration::from_secs(15);

async fn join(
    server: &Server,
    meeting: &Meeting,
    name: &str,
    token: Option<&str>,
) -> MeetingSession {
    let mut session = MeetingSession::join(
        &server.base_url,
        JoinOptions {
            meeting_number: meeting.number.clone(),
            display_name: name.into(),
            password: Some("4321".into()),
            token: token.map(String::from),
            media_bind: Some("127.0.0.1:0".into()),
            ..JoinOptions::default()
        },
    )
    .await
    .unwrap();
    session.publish(SyntheticMedia::default()).await.unwrap();
    session
}

async fn everyone_receives_everyone_and_mute_stops_media(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = server.meeting(Some("4321")).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let guest = join(&server, &meeting, "Guest", None).await;
    let third = join(&server, &meeting, "Third", None).await;
    let sessions = [&host, &guest, &third];
    for receiver in sessions {
        for sender in sessions {
            if receiver.participant_id() == sender.participant_id() {
                continue;
            }
            for kind in [TrackKind::Audio, TrackKind::Video] {
                let track = receiving(receiver, &sender.participant_id(), kind).await;
                assert!(track.bytes() > 0);
            }
        }
    }
    let stats = server.media.node_stats().await.unwrap();
    assert_eq!(stats.rooms, 1);
    assert_eq!(stats.participants, 3);
    assert!(stats.forwarded_packets > 0);

    // The guest mutes: everyone sees it, and its audio stops at the SFU.
    let audio = receiving(&host, &guest.participant_id(), TrackKind::Audio).await;
    let video = receiving(&host, &guest.participant_id(), TrackKind::Video).await;
    guest.set_audio_muted(true).unwrap();
    let guest_id = guest.participant_id().to_string();
    host.wait_until("the guest's mute", WAIT, |v| {
        v.participants[&guest_id].audio_muted
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !grows(&audio, Duration::from_millis(1500)).await,
        "muted audio still flows"
    );
    assert!(
        grows(&video, Duration::from_millis(500)).await,
        "video must keep flowing"
    );

    // Camera off stops video; unmute brings audio back.
    guest.set_video_enabled(false).unwrap();
    host.wait_until("the guest's camera off", WAIT, |v| {
        !v.participants[&guest_id].video_enabled
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !grows(&video, Duration::from_millis(1500)).await,
        "video still flows with the camera off"
    );
    guest.set_audio_muted(false).unwrap();
    host.wait_until("the guest's unmute", WAIT, |v| {
        !v.participants[&guest_id].audio_muted
    })
    .await
    .unwrap();
    assert!(
        grows(&audio, Duration::from_millis(1000)).await,
        "unmuted audio does not flow again"
    );

    // The guest leaves: the others stop receiving it, and renegotiate.
    guest.leave().await;
    host.wait_until("the guest leaving", WAIT, |v| {
        !v.participants.contains_key(&guest_id)
    })
    .await
    .unwrap();
    assert_eq!(server.media.node_stats().await.unwrap().participants, 2);
    let third_from_host = receiving(&third, &host.participant_id(), TrackKind::Video).await;
    assert!(
        grows(&third_from_host, Duration::from_millis(500)).await,
        "the rest keep working"
    );

    // The host ends it: nothing lingers in the SFU.
    host.end_meeting().unwrap();
    third
        .wait_until("the end", WAIT, |v| v.ended.is_some())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let stats = server.media.node_stats().await.unwrap();
        if stats.rooms == 0
            && stats.participants == 0
            && stats.peer_connections == 0
            && stats.tasks == 0
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "SFU state lingers: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.metric("yunhui_sfu_peer_connections").await, 0.0);
    assert_eq!(server.metric("yunhui_sfu_tasks").await, 0.0);
    host.close().await;
    third.close().await;
}

/// F-CTL-8: a client receives just the video it shows. The choice is per
/// subscriber: the others keep receiving everything.
async fn subscriptions_choose_whose_video_arrives(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = server.meeting(Some("4321")).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let guest = join(&server, &meeting, "Guest", None).await;
    let viewer = join(&server, &meeting, "Viewer", None).await;
    let (host_id, guest_id) = (host.participant_id(), guest.participant_id());
    let (host_id, guest_id) = (host_id.as_str(), guest_id.as_str());
    let host_video = receiving(&viewer, host_id, TrackKind::Video).await;
    let guest_video = receiving(&viewer, guest_id, TrackKind::Video).await;
    let guest_audio = receiving(&viewer, guest_id, TrackKind::Audio).await;
    let guest_video_at_host = receiving(&host, guest_id, TrackKind::Video).await;

    // Speaker view with the host as the only thumbnail; the guest is off screen.
    let refusal = viewer
        .request(
            ClientMessage::SetVideoSubscriptions {
                default: VideoQuality::Off,
                participants: vec![
                    VideoSubscription {
                        participant_id: host_id.to_owned(),
                        quality: VideoQuality::Low,
                    },
                    VideoSubscription {
                        participant_id: "no-such-participant".into(),
                        quality: VideoQuality::High,
                    },
                ],
            },
            Duration::from_millis(700),
        )
        .await
        .unwrap();
    assert_eq!(
        refusal, None,
        "an id not in the meeting is ignored, not refused"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !grows(&guest_video, Duration::from_millis(1500)).await,
        "the viewer still receives the guest's video after turning it off"
    );
    assert!(
        grows(&host_video, Duration::from_millis(500)).await,
        "the host's video stopped"
    );
    assert!(
        grows(&guest_audio, Duration::from_millis(500)).await,
        "audio always arrives"
    );
    assert!(
        grows(&guest_video_at_host, Duration::from_millis(500)).await,
        "the host's own choice is untouched"
    );

    // Back on: the guest's video returns, starting at a fresh keyframe.
    let keyframes = guest
        .publisher()
        .unwrap()
        .stats()
        .keyframes_sent
        .load(std::sync::atomic::Ordering::Relaxed);
    viewer
        .set_video_subscriptions(VideoQuality::High, &[])
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !grows(&guest_video, Duration::from_millis(300)).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the guest's video never came back"
        );
    }
    assert!(
        guest
            .publisher()
            .unwrap()
            .stats()
            .keyframes_sent
            .load(std::sync::atomic::Ordering::Relaxed)
            > keyframes,
        "the guest was not asked for a keyframe"
    );

    // Too long a list is refused and changes nothing.
    let too_many: Vec<VideoSubscription> = (0..=limits::VIDEO_SUBSCRIPTIONS)
        .map(|i| VideoSubscription {
            participant_id: format!("p{i}"),
            quality: VideoQuality::Off,
        })
        .collect();
    let refusal = viewer
        .request(
            ClientMessage::SetVideoSubscriptions {
                default: VideoQuality::Off,
                participants: too_many,
            },
            WAIT,
        )
        .await
        .unwrap();
    let (code, text) = refusal.expect("an overlong subscription list was accepted");
    assert_eq!(code, ErrorCode::InvalidInput);
    assert!(text.contains("at most 1000"), "{text}");
    assert!(grows(&guest_video, Duration::from_millis(500)).await);
    for session in [host, guest, viewer] {
        session.close().await;
    }
}

on_both_databases!(
    everyone_receives_everyone_and_mute_stops_media,
    subscriptions_choose_whose_video_arrives
);

/// A client whose media path died asks for a media restart
/// (`restart_media`): it gets fresh connections and publishes again, the
/// others receive it again and it receives them, nobody rejoined, and the
/// media between the others never stopped. A second request within the
/// interval is refused with the time to wait. The room's state lives in
/// memory, so one database is enough.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_restarts_its_media_and_the_meeting_goes_on() {
    let server = support::start(Db::Sqlite).await;
    let (host_api, meeting) = server.meeting(Some("4321")).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let guest = join(&server, &meeting, "Guest", None).await;
    let third = join(&server, &meeting, "Third", None).await;
    let (host_id, guest_id, third_id) = (
        host.participant_id(),
        guest.participant_id(),
        third.participant_id(),
    );
    let third_at_host = receiving(&host, &third_id, TrackKind::Video).await;
    receiving(&host, &guest_id, TrackKind::Video).await;
    receiving(&guest, &host_id, TrackKind::Video).await;

    let refusal = guest
        .request(ClientMessage::RestartMedia, Duration::from_millis(700))
        .await
        .unwrap();
    assert_eq!(refusal, None, "the restart was refused");
    let deadline = tokio::time::Instant::now() + WAIT;
    while guest.view().media_restarts == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the guest was never told to restart its media"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Asking again at once is refused, with the time to wait.
    let refusal = guest
        .request(ClientMessage::RestartMedia, WAIT)
        .await
        .unwrap();
    let (code, text) = refusal.expect("a second restart within the interval was accepted");
    assert_eq!(code, ErrorCode::TooManyAttempts);
    assert!(text.contains("ask again in"), "{text}");
    for (receiver, sender) in [(&host, &guest), (&guest, &host), (&third, &guest)] {
        for kind in [TrackKind::Audio, TrackKind::Video] {
            assert!(
                receives_again(receiver, &sender.participant_id(), kind).await,
                "{kind:?} from {} did not come back at {}",
                sender.participant_id(),
                receiver.participant_id()
            );
        }
    }
    assert!(
        grows(&third_at_host, Duration::from_millis(500)).await,
        "media between the others stopped"
    );
    for session in [&host, &guest, &third] {
        let view = session.view();
        assert_eq!(view.rejoins, 0, "{} joined again", session.participant_id());
        assert_eq!(view.participants.len(), 3);
    }
    assert_eq!(
        guest.participant_id(),
        guest_id,
        "the guest is the same participant"
    );
    assert_eq!(host.view().media_restarts, 0, "only the guest restarted");

    assert_eq!(guest.view().media_restarts, 1);
    for session in [host, guest, third] {
        session.close().await;
    }
}
