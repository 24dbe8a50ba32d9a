//! The signaling protocol on a real server through the Rust SDK (F-JOIN-1,
//! F-CTL-1, F-CTL-7, F-CTL-8), bad input included, on SQLite and PostgreSQL.

use crate::support;

use std::time::Duration;

use support::{Db, Server};
use yunhui_client::signaling::SignalingClient;
use yunhui_proto::api::Meeting;
use yunhui_proto::limits;
use yunhui_proto::signaling::{ClientMessage, ErrorCode, Participant, Role, ServerMessage};

const WAIT: Duration = Duration::from_secs(10);

async fn connect(server: &Server) -> SignalingClient {
    let (client, version) = SignalingClient::connect(&server.base_url).await.unwrap();
    assert_eq!(version, yunhui_proto::signaling::PROTOCOL_VERSION);
    client
}

fn join(
    meeting: &Meeting,
    name: &str,
    password: Option<&str>,
    token: Option<&str>,
) -> ClientMessage {
    ClientMessage::Join {
        meeting_number: meeting.number.clone(),
        display_name: name.into(),
        password: password.map(String::from),
        link_key: None,
        token: token.map(String::from),
        device_id: None,
        dial_ticket: None,
        recorder_ticket: None,
    }
}

/// Joins and returns (participant id, participant list).
async fn joined(
    client: &mut SignalingClient,
    message: ClientMessage,
) -> (String, Vec<Participant>) {
    client.send(&message).await.unwrap();
    match client.recv(WAIT).await.unwrap() {
        ServerMessage::Joined {
            participant_id,
            participants,
            ..
        } => (participant_id, participants),
        other => panic!("expected joined, got {other:?}"),
    }
}

/// The next `participant_updated` the client receives.
async fn next_update(client: &mut SignalingClient) -> Participant {
    client
        .recv_until(WAIT, |m| match m {
            ServerMessage::ParticipantUpdated { participant } => Some(participant.clone()),
            _ => None,
        })
        .await
        .unwrap()
}

async fn expect_error(client: &mut SignalingClient, code: ErrorCode) -> String {
    client
        .recv_until(WAIT, |m| match m {
            ServerMessage::Error { code: c, message } if *c == code => Some(message.clone()),
            ServerMessage::Error { code: c, message } => {
                panic!("expected {code:?}, got {c:?}: {message}")
            }
            _ => None,
        })
        .await
        .unwrap()
}

async fn join_leave_rejoin(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = server.meeting(Some("1357")).await;

    let mut host = connect(&server).await;
    let (host_id, list) = joined(&mut host, join(&meeting, "Host", None, host_api.token())).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].role, Role::Host, "the meeting's creator is host");

    let mut guest = connect(&server).await;
    let (guest_id, list) = joined(&mut guest, join(&meeting, "Guest", Some("1357"), None)).await;
    assert_eq!(list.len(), 2);
    assert_eq!(
        list.iter().find(|p| p.id == guest_id).unwrap().role,
        Role::Participant
    );
    let newcomer = host
        .recv_until(WAIT, |m| match m {
            ServerMessage::ParticipantJoined { participant } => Some(participant.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(newcomer.display_name, "Guest");
    assert_eq!(server.metric("yunhui_sfu_participants").await, 2.0);

    guest.send(&ClientMessage::Leave).await.unwrap();
    guest
        .recv_until(WAIT, |m| matches!(m, ServerMessage::Left).then_some(()))
        .await
        .unwrap();
    let left = host
        .recv_until(WAIT, |m| match m {
            ServerMessage::ParticipantLeft { participant_id } => Some(participant_id.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(left, guest_id);

    // The same socket may join again after leaving.
    let (again_id, list) = joined(&mut guest, join(&meeting, "Guest", Some("1357"), None)).await;
    assert_ne!(again_id, guest_id);
    assert_eq!(list.len(), 2);
    assert!(list.iter().any(|p| p.id == host_id));
    // Joining twice on one socket is refused.
    guest
        .send(&join(&meeting, "Guest", Some("1357"), None))
        .await
        .unwrap();
    expect_error(&mut guest, ErrorCode::AlreadyJoined).await;
}

async fn self_mute_and_camera_are_broadcast(db: Db) {
    let server = support::start(db).await;
    let (_, meeting) = server.meeting(None).await;
    let mut a = connect(&server).await;
    let (a_id, _) = joined(&mut a, join(&meeting, "A", None, None)).await;
    let mut b = connect(&server).await;
    joined(&mut b, join(&meeting, "B", None, None)).await;

    a.send(&ClientMessage::SetAudioMuted { muted: true })
        .await
        .unwrap();
    let update = next_update(&mut b).await;
    assert_eq!(update.id, a_id);
    assert!(update.audio_muted);
    assert!(update.video_enabled);

    a.send(&ClientMessage::SetVideoEnabled { enabled: false })
        .await
        .unwrap();
    let update = next_update(&mut b).await;
    assert!(update.audio_muted);
    assert!(!update.video_enabled);
}

async fn bad_input_gets_clear_errors_and_others_keep_working(db: Db) {
    let server = support::start(db).await;
    let (_, meeting) = server.meeting(Some("8642")).await;
    let mut watcher = connect(&server).await;
    joined(&mut watcher, join(&meeting, "Watcher", Some("8642"), None)).await;

    let mut bad = connect(&server).await;
    bad.send_raw("{not json".into()).await.unwrap();
    let msg = expect_error(&mut bad, ErrorCode::MalformedMessage).await;
    assert!(msg.contains("not valid JSON"), "{msg}");

    bad.send_raw(r#"{"type":"teleport","to":"mars"}"#.into())
        .await
        .unwrap();
    let msg = expect_error(&mut bad, ErrorCode::UnknownMessageType).await;
    assert!(msg.contains("teleport"), "{msg}");

    bad.send_raw(r#"{"type":"join","meeting_number":42}"#.into())
        .await
        .unwrap();
    expect_error(&mut bad, ErrorCode::MalformedMessage).await;

    let oversized = format!(
        r#"{{"type":"publish_offer","sdp":"{}"}}"#,
        "a".repeat(limits::FRAME_BYTES + 10)
    );
    bad.send_raw(oversized).await.unwrap();
    let msg = expect_error(&mut bad, ErrorCode::MessageTooLarge).await;
    assert!(msg.contains(&limits::FRAME_BYTES.to_string()), "{msg}");

    bad.send(&ClientMessage::SetAudioMuted { muted: true })
        .await
        .unwrap();
    expect_error(&mut bad, ErrorCode::NotJoined).await;

    let mut wrong = join(&meeting, "Bad", Some("8642"), None);
    if let ClientMessage::Join { meeting_number, .. } = &mut wrong {
        *meeting_number = "999999999".into();
    }
    bad.send(&wrong).await.unwrap();
    expect_error(&mut bad, ErrorCode::MeetingNotFound).await;

    bad.send(&join(&meeting, "Bad", None, None)).await.unwrap();
    expect_error(&mut bad, ErrorCode::PasswordRequired).await;
    bad.send(&join(&meeting, "Bad", Some("0000"), None))
        .await
        .unwrap();
    let msg = expect_error(&mut bad, ErrorCode::WrongPassword).await;
    assert!(msg.contains(&meeting.number), "{msg}");

    bad.send(&join(&meeting, "Bad", Some("8642"), Some("not-a-token")))
        .await
        .unwrap();
    expect_error(&mut bad, ErrorCode::InvalidToken).await;

    // A wrong password never reached the SFU: only the watcher is there.
    assert_eq!(server.metric("yunhui_sfu_participants").await, 1.0);

    // After all that, the same socket can still join, and the room works.
    let (bad_id, _) = joined(&mut bad, join(&meeting, "Fixed", Some("8642"), None)).await;
    bad.send(&ClientMessage::SetAudioMuted { muted: true })
        .await
        .unwrap();
    let update = next_update(&mut watcher).await;
    assert_eq!(update.id, bad_id);

    // A frame beyond the transport's hard limit closes only that socket.
    let mut reckless = connect(&server).await;
    let _ = reckless.send_raw("b".repeat(2 * 1024 * 1024)).await;
    assert!(reckless.recv(WAIT).await.is_err());
    let mut fresh = connect(&server).await;
    let (_, list) = joined(&mut fresh, join(&meeting, "Fresh", Some("8642"), None)).await;
    assert_eq!(list.len(), 3);
}

async fn expired_token_on_join(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = server.meeting(None).await;
    let email = host_api.me().await.unwrap().email.unwrap();
    // A session that expired ten seconds ago.
    let expired =
        yunhui_signal::accounts::login(&server.app.store, &email, support::PASSWORD.into(), -10)
            .await
            .unwrap();
    let mut host = connect(&server).await;
    host.send(&join(&meeting, "Host", None, Some(&expired.token)))
        .await
        .unwrap();
    let msg = expect_error(&mut host, ErrorCode::TokenExpired).await;
    assert!(msg.contains("expired"), "{msg}");
}

async fn host_ends_meeting_for_everyone(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = server.meeting(None).await;
    let mut host = connect(&server).await;
    joined(&mut host, join(&meeting, "Host", None, host_api.token())).await;
    let mut guests = Vec::new();
    for i in 0..3 {
        let mut g = connect(&server).await;
        joined(&mut g, join(&meeting, &format!("Guest {i}"), None, None)).await;
        guests.push(g);
    }
    // A participant cannot end it.
    guests[0].send(&ClientMessage::EndMeeting).await.unwrap();
    let msg = expect_error(&mut guests[0], ErrorCode::NotHost).await;
    assert!(msg.contains("only the host"), "{msg}");
    assert_eq!(server.media.node_stats().await.unwrap().rooms, 1);

    host.send(&ClientMessage::EndMeeting).await.unwrap();
    for client in guests.iter_mut().chain(std::iter::once(&mut host)) {
        let reason = client
            .recv_until(WAIT, |m| match m {
                ServerMessage::MeetingEnded { reason } => Some(reason.clone()),
                _ => None,
            })
            .await
            .unwrap();
        assert_eq!(reason, "ended_by_host");
        // The server closes the socket after telling.
        assert!(client.recv(WAIT).await.is_err());
    }
    let stats = server.media.node_stats().await.unwrap();
    assert_eq!(stats.rooms, 0);
    assert_eq!(stats.participants, 0);
    assert_eq!(server.metric("yunhui_sfu_rooms").await, 0.0);
    assert_eq!(server.metric("yunhui_signal_rooms").await, 0.0);
    assert_eq!(server.metric("yunhui_signal_participants").await, 0.0);
    // Sockets are gone too.
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.metric("yunhui_signal_connections").await != 0.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "signaling sockets linger"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // An ended meeting cannot be joined.
    let mut late = connect(&server).await;
    late.send(&join(&meeting, "Late", None, None))
        .await
        .unwrap();
    expect_error(&mut late, ErrorCode::MeetingNotFound).await;
    assert_eq!(
        host_api.meeting(&meeting.id).await.unwrap().status,
        yunhui_proto::api::MeetingStatus::Ended
    );
}

async fn host_role_passes_on_when_host_leaves(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = server.meeting(None).await;
    let mut host = connect(&server).await;
    joined(&mut host, join(&meeting, "Host", None, host_api.token())).await;
    let mut first = connect(&server).await;
    let (first_id, _) = joined(&mut first, join(&meeting, "First", None, None)).await;
    let mut second = connect(&server).await;
    joined(&mut second, join(&meeting, "Second", None, None)).await;

    host.close().await.unwrap();
    let promoted = second
        .recv_until(WAIT, |m| match m {
            ServerMessage::ParticipantUpdated { participant } if participant.role == Role::Host => {
                Some(participant.id.clone())
            }
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(
        promoted, first_id,
        "the earliest remaining participant becomes host"
    );
    first.send(&ClientMessage::EndMeeting).await.unwrap();
    second
        .recv_until(WAIT, |m| {
            matches!(m, ServerMessage::MeetingEnded { .. }).then_some(())
        })
        .await
        .unwrap();
}

async fn an_emptied_room_closes_and_reopens_on_the_next_join(db: Db) {
    let server = support::start(db).await;
    let (_, meeting) = server.meeting(None).await;
    let mut only = connect(&server).await;
    joined(&mut only, join(&meeting, "Only", None, None)).await;
    assert_eq!(server.media.node_stats().await.unwrap().rooms, 1);
    only.send(&ClientMessage::Leave).await.unwrap();
    only.recv_until(WAIT, |m| matches!(m, ServerMessage::Left).then_some(()))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.media.node_stats().await.unwrap().rooms != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the empty room stays open on the SFU"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.metric("yunhui_signal_rooms").await, 0.0);
    // The meeting itself stays open: the next join opens a fresh room.
    let (_, list) = joined(&mut only, join(&meeting, "Only", None, None)).await;
    assert_eq!(list.len(), 1);
    assert_eq!(server.media.node_stats().await.unwrap().rooms, 1);
    assert_eq!(server.metric("yunhui_signal_rooms").await, 1.0);
}

/// Every newcomer `message` tells of (news of joins comes batched per tick).
fn newcomers_in(message: &ServerMessage) -> Vec<Participant> {
    match message {
        ServerMessage::ParticipantJoined { participant } => vec![participant.clone()],
        ServerMessage::ParticipantsJoined { participants } => participants.clone(),
        _ => Vec::new(),
    }
}

/// A crowd joining at once (issue 16): news of joins goes out batched per
/// tick, and still everyone ends up with the whole roster — what `joined`
/// named plus every newcomer told of after — each participant exactly once,
/// in joining order, newcomers who arrived together in one frame.
async fn a_crowd_joining_at_once_gets_complete_rosters_in_batches(db: Db) {
    const CROWD: usize = 60;
    let server = support::start(db).await;
    let (_, meeting) = server.meeting(None).await;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(CROWD));
    let tasks: Vec<_> = (0..CROWD)
        .map(|i| {
            let (server_url, meeting, start) =
                (server.base_url.clone(), meeting.clone(), start.clone());
            tokio::spawn(async move {
                let (mut client, _) = SignalingClient::connect(&server_url).await.unwrap();
                start.wait().await;
                let (id, roster) = joined(
                    &mut client,
                    join(&meeting, &format!("Guest {i}"), None, None),
                )
                .await;
                (client, id, roster)
            })
        })
        .collect();
    let mut crowd = Vec::new();
    for task in tasks {
        crowd.push(task.await.unwrap());
    }
    let everyone: std::collections::HashSet<String> =
        crowd.iter().map(|(_, id, _)| id.clone()).collect();
    assert_eq!(everyone.len(), CROWD);

    let mut largest_frame = 0;
    for (client, id, roster) in &mut crowd {
        assert!(roster.iter().any(|p| p.id == *id), "joined names oneself");
        let mut known: Vec<String> = roster.iter().map(|p| p.id.clone()).collect();
        while known.len() < CROWD {
            let news = client
                .recv_until(WAIT, |m| {
                    let news = newcomers_in(m);
                    (!news.is_empty()).then_some(news)
                })
                .await
                .unwrap_or_else(|e| panic!("{id} knows {} of {CROWD}: {e}", known.len()));
            largest_frame = largest_frame.max(news.len());
            known.extend(news.into_iter().map(|p| p.id));
        }
        let unique: std::collections::HashSet<&String> = known.iter().collect();
        assert_eq!(unique.len(), known.len(), "nobody told of twice: {known:?}");
        assert_eq!(
            unique
                .into_iter()
                .cloned()
                .collect::<std::collections::HashSet<_>>(),
            everyone
        );
        // Those told of after `joined` joined after this participant, so
        // everyone's list is in one and the same (joining) order.
        assert_eq!(known.len(), CROWD);
    }
    let orders: std::collections::HashSet<Vec<String>> = crowd
        .iter()
        .map(|(_, _, roster)| roster.iter().map(|p| p.id.clone()).collect())
        .collect();
    let longest = orders.iter().max_by_key(|o| o.len()).unwrap();
    for order in &orders {
        assert_eq!(
            order[..],
            longest[..order.len()],
            "every roster is a beginning of one joining order"
        );
    }
    // Joins arriving together are told of together, not one message each.
    assert!(
        largest_frame > 1,
        "every frame of news named a single newcomer"
    );

    // News about a newcomer never comes before their join: the last one
    // mutes at once, and everyone hears of the join first.
    let (mut late, late_id, _) = {
        let mut client = connect(&server).await;
        let (id, roster) = joined(&mut client, join(&meeting, "Late", None, None)).await;
        (client, id, roster)
    };
    late.send(&ClientMessage::SetAudioMuted { muted: true })
        .await
        .unwrap();
    for (client, _, _) in &mut crowd {
        let first = client
            .recv_until(WAIT, |m| match m {
                ServerMessage::ParticipantUpdated { participant } if participant.id == late_id => {
                    Some("updated")
                }
                m if newcomers_in(m).iter().any(|p| p.id == late_id) => Some("joined"),
                _ => None,
            })
            .await
            .unwrap();
        assert_eq!(first, "joined");
    }
}

on_both_databases!(
    an_emptied_room_closes_and_reopens_on_the_next_join,
    a_crowd_joining_at_once_gets_complete_rosters_in_batches,
    join_leave_rejoin,
    self_mute_and_camera_are_broadcast,
    bad_input_gets_clear_errors_and_others_keep_working,
    expired_token_on_join,
    host_ends_meeting_for_everyone,
    host_role_passes_on_when_host_leaves,
);
