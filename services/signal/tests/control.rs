//! In-meeting control through the Rust SDK, on SQLite and PostgreSQL:
//! host actions on one participant (F-CTL-2) and on all (F-CTL-3), security
//! (F-CTL-4: lock, waiting room, permissions), hands, reactions, chat and
//! screen-share permission (F-CTL-6), host handover (F-CTL-7), join rules
//! (F-JOIN-4: lock, waiting room, join before host, licence limits of
//! F-ACC-5) and password throttling (F-MTG-7). Mute and stop-video are
//! checked where they matter: the media stops at the SFU.

use crate::support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use support::session::{
    expect_accepted, expect_error, grows, incoming_call, join, join_options as options, listening,
    receiving, stopped,
};
use support::{Db, Server};
use yunhui_client::api::ApiClient;
use yunhui_client::media::{SyntheticMedia, TrackKind};
use yunhui_client::meeting::{JoinOptions, MeetingSession, SessionError};
use yunhui_proto::api::{CreateMeetingRequest, JoinMode, Meeting, MeetingOptions};
use yunhui_proto::signaling::{ClientMessage, ErrorCode, HostCommand, Role, ServerMessage};
use yunhui_signal::SignalConfig;
use yunhui_signal::live::throttle::ThrottleConfig;

const WAIT: Duration = Duration::from_secs(15);

async fn refused(server: &Server, meeting: &Meeting, name: &str) -> (ErrorCode, String) {
    match MeetingSession::join(&server.base_url, options(meeting, name, None)).await {
        Err(SessionError::Refused { code, message }) => (code, message),
        Err(e) => panic!("{name}: expected a refusal, got {e}"),
        Ok(_) => panic!("{name} joined but should have been refused"),
    }
}

async fn meeting_with(
    server: &Server,
    options: MeetingOptions,
) -> (yunhui_client::api::ApiClient, Meeting) {
    let host = server
        .signed_in(&format!("host-{}@example.com", uuid::Uuid::new_v4()))
        .await;
    let meeting = host
        .create_meeting(&CreateMeetingRequest {
            password: Some("2468".into()),
            options: Some(options),
            ..Default::default()
        })
        .await
        .expect("create meeting");
    (host, meeting)
}

fn participant(session: &MeetingSession, id: &str) -> yunhui_proto::signaling::Participant {
    session
        .view()
        .participants
        .get(id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not in the view"))
}

async fn every_host_action_is_refused_to_participants(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = meeting_with(&server, MeetingOptions::default()).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let guest = join(&server, &meeting, "Guest", None).await;
    let h = host.participant_id().to_string();
    let g = guest.participant_id().to_string();
    let commands = [
        HostCommand::Mute {
            participant_id: h.clone(),
        },
        HostCommand::Unmute {
            participant_id: h.clone(),
        },
        HostCommand::StopVideo {
            participant_id: h.clone(),
        },
        HostCommand::AskToStartVideo {
            participant_id: h.clone(),
        },
        HostCommand::Spotlight {
            participant_id: Some(g.clone()),
        },
        HostCommand::MakeHost {
            participant_id: g.clone(),
        },
        HostCommand::Rename {
            participant_id: h.clone(),
            display_name: "x".into(),
        },
        HostCommand::Remove {
            participant_id: h.clone(),
        },
        HostCommand::LowerHand {
            participant_id: h.clone(),
        },
        HostCommand::MuteAll {
            allow_self_unmute: false,
        },
        HostCommand::UnmuteAll,
        HostCommand::SetLocked { locked: true },
        HostCommand::SetOptions {
            options: MeetingOptions {
                allow_chat: false,
                ..MeetingOptions::default()
            },
        },
        HostCommand::Admit {
            participant_id: g.clone(),
        },
        HostCommand::AdmitAll,
        HostCommand::Deny {
            participant_id: g.clone(),
        },
    ];
    for command in commands {
        let text = expect_error(
            &guest,
            ClientMessage::Host {
                command: command.clone(),
            },
            ErrorCode::NotHost,
        )
        .await;
        assert!(text.starts_with("only the host can "), "{text}");
    }
    let text = expect_error(&guest, ClientMessage::EndMeeting, ErrorCode::NotHost).await;
    assert!(text.contains("end the meeting"), "{text}");
    // Nothing changed: the host is still host, unmuted, and the meeting unlocked.
    let view = guest.view();
    assert_eq!(view.participants[&h].role, Role::Host);
    assert_eq!(view.participants[&g].role, Role::Participant);
    assert!(!view.participants[&h].audio_muted);
    assert!(!view.locked);
    assert!(view.options.as_ref().unwrap().allow_chat);
    // A host command on someone who is not there says so.
    expect_error(
        &host,
        ClientMessage::Host {
            command: HostCommand::Mute {
                participant_id: "nobody".into(),
            },
        },
        ErrorCode::ParticipantNotFound,
    )
    .await;
}

async fn mute_all_without_self_unmute_stops_audio_at_the_sfu(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = meeting_with(&server, MeetingOptions::default()).await;
    let mut host = join(&server, &meeting, "Host", host_api.token()).await;
    let mut guest = join(&server, &meeting, "Guest", None).await;
    host.publish(SyntheticMedia::default()).await.unwrap();
    guest.publish(SyntheticMedia::default()).await.unwrap();
    let g = guest.participant_id().to_string();
    let audio = receiving(&host, &g, TrackKind::Audio).await;
    let video = receiving(&host, &g, TrackKind::Video).await;

    host.host(HostCommand::MuteAll {
        allow_self_unmute: false,
    })
    .unwrap();
    guest
        .wait_until("guest muted and locked", WAIT, |v| {
            v.participants[&g].audio_muted && v.participants[&g].audio_locked
        })
        .await
        .unwrap();
    assert!(!guest.view().options.unwrap().allow_self_unmute);
    assert!(
        stopped(&audio).await,
        "the guest's audio still reaches the host"
    );
    assert!(
        grows(&video, Duration::from_secs(1)).await,
        "video must keep flowing"
    );
    let text = expect_error(
        &guest,
        ClientMessage::SetAudioMuted { muted: false },
        ErrorCode::NotAllowed,
    )
    .await;
    assert!(text.contains("unmute"), "{text}");
    assert!(!grows(&audio, Duration::from_secs(1)).await);
    // The host never mutes itself this way.
    assert!(!participant(&host, &host.participant_id()).audio_muted);

    // Unmute all asks; the participant decides, and audio flows again.
    host.host(HostCommand::UnmuteAll).unwrap();
    guest
        .wait_until("unmute requested and lock lifted", WAIT, |v| {
            v.unmute_requests == 1 && !v.participants[&g].audio_locked
        })
        .await
        .unwrap();
    assert!(
        participant(&guest, &g).audio_muted,
        "nobody's microphone opens without them"
    );
    guest.set_audio_muted(false).unwrap();
    host.wait_until("guest unmuted", WAIT, |v| !v.participants[&g].audio_muted)
        .await
        .unwrap();
    assert!(
        grows(&audio, Duration::from_secs(2)).await,
        "audio must flow again"
    );
    host.close().await;
    guest.close().await;
}

async fn host_actions_on_one_participant(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = meeting_with(&server, MeetingOptions::default()).await;
    let mut host = join(&server, &meeting, "Host", host_api.token()).await;
    let guest_api = server
        .signed_in(&format!("guest-{}@example.com", uuid::Uuid::new_v4()))
        .await;
    let mut guest = join(&server, &meeting, "Guest", guest_api.token()).await;
    let third = join(&server, &meeting, "Third", None).await;
    host.publish(SyntheticMedia::default()).await.unwrap();
    guest.publish(SyntheticMedia::default()).await.unwrap();
    let h = host.participant_id().to_string();
    let g = guest.participant_id().to_string();
    let t = third.participant_id().to_string();
    let video = receiving(&host, &g, TrackKind::Video).await;
    let audio = receiving(&host, &g, TrackKind::Audio).await;

    // Mute one; allowed to unmute themselves (the default), they do.
    host.host(HostCommand::Mute {
        participant_id: g.clone(),
    })
    .unwrap();
    guest
        .wait_until("muted", WAIT, |v| v.participants[&g].audio_muted)
        .await
        .unwrap();
    assert!(!participant(&guest, &g).audio_locked);
    assert!(
        stopped(&audio).await,
        "a host mute stops the audio at the SFU"
    );
    expect_accepted(&guest, ClientMessage::SetAudioMuted { muted: false }).await;
    host.wait_until("unmuted", WAIT, |v| !v.participants[&g].audio_muted)
        .await
        .unwrap();

    // Stop video at the SFU; ask to start it again.
    host.host(HostCommand::StopVideo {
        participant_id: g.clone(),
    })
    .unwrap();
    third
        .wait_until("video off", WAIT, |v| !v.participants[&g].video_enabled)
        .await
        .unwrap();
    assert!(stopped(&video).await, "stop video stops it at the SFU");
    host.host(HostCommand::AskToStartVideo {
        participant_id: g.clone(),
    })
    .unwrap();
    guest
        .wait_until("asked to start video", WAIT, |v| {
            v.start_video_requests == 1
        })
        .await
        .unwrap();
    guest.set_video_enabled(true).unwrap();
    assert!(grows(&video, Duration::from_secs(2)).await);

    // Spotlight, rename, lower hand.
    host.host(HostCommand::Spotlight {
        participant_id: Some(g.clone()),
    })
    .unwrap();
    third
        .wait_until("spotlight", WAIT, |v| {
            v.spotlight.as_deref() == Some(g.as_str())
        })
        .await
        .unwrap();
    host.host(HostCommand::Rename {
        participant_id: g.clone(),
        display_name: "  Zhang San  ".into(),
    })
    .unwrap();
    third
        .wait_until("renamed", WAIT, |v| {
            v.participants[&g].display_name == "Zhang San"
        })
        .await
        .unwrap();
    expect_error(
        &host,
        ClientMessage::Host {
            command: HostCommand::Rename {
                participant_id: g.clone(),
                display_name: " ".into(),
            },
        },
        ErrorCode::InvalidInput,
    )
    .await;
    third.raise_hand(true).unwrap();
    host.wait_until("hand up", WAIT, |v| v.participants[&t].hand_raised)
        .await
        .unwrap();
    host.host(HostCommand::LowerHand {
        participant_id: t.clone(),
    })
    .unwrap();
    third
        .wait_until("hand down", WAIT, |v| !v.participants[&t].hand_raised)
        .await
        .unwrap();

    // Make host: the roles swap, and only the new host may act.
    host.host(HostCommand::MakeHost {
        participant_id: t.clone(),
    })
    .unwrap();
    guest
        .wait_until("roles swapped", WAIT, |v| {
            v.participants[&t].role == Role::Host && v.participants[&h].role == Role::Participant
        })
        .await
        .unwrap();
    expect_error(
        &host,
        ClientMessage::Host {
            command: HostCommand::SetLocked { locked: true },
        },
        ErrorCode::NotHost,
    )
    .await;

    // Remove: the removed account is told, everyone sees them leave, and
    // they cannot come back while the meeting runs.
    third
        .host(HostCommand::Remove {
            participant_id: g.clone(),
        })
        .unwrap();
    guest
        .wait_until("removed", WAIT, |v| v.removed)
        .await
        .unwrap();
    host.wait_until("guest gone", WAIT, |v| !v.participants.contains_key(&g))
        .await
        .unwrap();
    match MeetingSession::join(
        &server.base_url,
        options(&meeting, "Guest again", guest_api.token()),
    )
    .await
    {
        Err(SessionError::Refused { code, .. }) => assert_eq!(code, ErrorCode::EntryDenied),
        Err(e) => panic!("unexpected: {e}"),
        Ok(_) => panic!("a removed account rejoined"),
    }
    // Spotlight on the removed participant is cleared.
    host.wait_until("spotlight cleared", WAIT, |v| v.spotlight.is_none())
        .await
        .unwrap();
    host.close().await;
    third.close().await;
}

async fn waiting_room_admit_admit_all_and_deny(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = meeting_with(
        &server,
        MeetingOptions {
            waiting_room: true,
            ..MeetingOptions::default()
        },
    )
    .await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let base = server.base_url.clone();
    let waiting = |name: &'static str| {
        let base = base.clone();
        let opts = options(&meeting, name, None);
        tokio::spawn(async move { MeetingSession::join(&base, opts).await })
    };
    let first = waiting("First");
    host.wait_until("first waits", WAIT, |v| v.waiting_room.len() == 1)
        .await
        .unwrap();
    let view = host.view();
    let w = &view.waiting_room[0];
    assert_eq!(w.display_name, "First");
    assert!(!w.signed_in);
    // Nobody in the meeting sees the waiter as a participant.
    assert_eq!(view.participants.len(), 1);
    host.host(HostCommand::Admit {
        participant_id: w.id.clone(),
    })
    .unwrap();
    let first = first.await.unwrap().expect("admitted");
    assert_eq!(first.participant_id(), w.id);
    host.wait_until("first in", WAIT, |v| {
        v.participants.contains_key(&w.id) && v.waiting_room.is_empty()
    })
    .await
    .unwrap();

    let second = waiting("Second");
    host.wait_until("second waits", WAIT, |v| v.waiting_room.len() == 1)
        .await
        .unwrap();
    let id = host.view().waiting_room[0].id.clone();
    host.host(HostCommand::Deny { participant_id: id }).unwrap();
    match second.await.unwrap() {
        Err(SessionError::Refused { code, message }) => {
            assert_eq!(code, ErrorCode::EntryDenied);
            assert!(message.contains("did not let you in"), "{message}");
        }
        Err(e) => panic!("unexpected: {e}"),
        Ok(_) => panic!("a denied guest got in"),
    }
    host.wait_until("list empty", WAIT, |v| v.waiting_room.is_empty())
        .await
        .unwrap();

    let third = waiting("Third");
    let fourth = waiting("Fourth");
    host.wait_until("two wait", WAIT, |v| v.waiting_room.len() == 2)
        .await
        .unwrap();
    host.host(HostCommand::AdmitAll).unwrap();
    let third = third.await.unwrap().expect("third admitted");
    let fourth = fourth.await.unwrap().expect("fourth admitted");
    host.wait_until("all in", WAIT, |v| v.participants.len() == 4)
        .await
        .unwrap();

    // Switching the waiting room off lets later joiners straight in.
    let opts = host.view().options.unwrap();
    host.host(HostCommand::SetOptions {
        options: MeetingOptions {
            waiting_room: false,
            ..opts
        },
    })
    .unwrap();
    first
        .wait_until("option seen", WAIT, |v| {
            v.options.as_ref().is_some_and(|o| !o.waiting_room)
        })
        .await
        .unwrap();
    let fifth = join(&server, &meeting, "Fifth", None).await;
    for s in [host, first, third, fourth, fifth] {
        s.close().await;
    }
}

async fn join_before_host_and_lock(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = meeting_with(
        &server,
        MeetingOptions {
            join_before_host: false,
            ..MeetingOptions::default()
        },
    )
    .await;
    let base = server.base_url.clone();
    let opts = options(&meeting, "Early", None);
    let early = tokio::spawn(async move { MeetingSession::join(&base, opts).await });
    // The early guest waits for the host, not in the host's admission list.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!early.is_finished(), "joined before the host");
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let early = early.await.unwrap().expect("let in when the host arrived");
    host.wait_until("early in", WAIT, |v| {
        v.participants.contains_key(&early.participant_id())
    })
    .await
    .unwrap();
    assert!(host.view().waiting_room.is_empty());

    host.host(HostCommand::SetLocked { locked: true }).unwrap();
    early
        .wait_until("locked", WAIT, |v| v.locked)
        .await
        .unwrap();
    let (code, message) = refused(&server, &meeting, "Late").await;
    assert_eq!(code, ErrorCode::MeetingLocked);
    assert!(message.contains("locked"), "{message}");
    // The host's own account still gets in (e.g. from another device).
    let second_device = join(&server, &meeting, "Host (phone)", host_api.token()).await;
    second_device.leave().await;
    host.host(HostCommand::SetLocked { locked: false }).unwrap();
    early
        .wait_until("unlocked", WAIT, |v| !v.locked)
        .await
        .unwrap();
    let late = join(&server, &meeting, "Late", None).await;
    for s in [host, early, late] {
        s.close().await;
    }
}

async fn mute_on_entry_and_permissions(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = meeting_with(
        &server,
        MeetingOptions {
            mute_on_entry: true,
            allow_self_unmute: false,
            allow_chat: false,
            allow_rename: false,
            allow_screen_share: false,
            ..MeetingOptions::default()
        },
    )
    .await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let mut guest = join(&server, &meeting, "Guest", None).await;
    let g = guest.participant_id().to_string();
    let h = host.participant_id().to_string();
    let me = participant(&guest, &g);
    assert!(me.audio_muted && me.audio_locked, "{me:?}");
    assert!(
        !participant(&host, &h).audio_muted,
        "the host is not muted on entry"
    );
    guest.publish(SyntheticMedia::default()).await.unwrap();
    let video = receiving(&host, &g, TrackKind::Video).await;
    assert!(grows(&video, Duration::from_secs(1)).await);
    assert!(
        host.subscriber()
            .track(&g, TrackKind::Audio)
            .is_none_or(|a| a.packets() == 0),
        "audio of a participant muted on entry reached the host"
    );
    expect_error(
        &guest,
        ClientMessage::SetAudioMuted { muted: false },
        ErrorCode::NotAllowed,
    )
    .await;
    expect_error(
        &guest,
        ClientMessage::Chat {
            to: None,
            to_panel: false,
            text: "hi".into(),
        },
        ErrorCode::NotAllowed,
    )
    .await;
    // Writing to the host is always allowed.
    expect_accepted(
        &guest,
        ClientMessage::Chat {
            to: Some(h.clone()),
            to_panel: false,
            text: "may I speak?".into(),
        },
    )
    .await;
    host.wait_until("private message", WAIT, |v| {
        v.chat.iter().any(|m| m.text == "may I speak?")
    })
    .await
    .unwrap();
    expect_error(
        &guest,
        ClientMessage::Rename {
            display_name: "Boss".into(),
        },
        ErrorCode::NotAllowed,
    )
    .await;
    expect_error(
        &guest,
        ClientMessage::SetScreenShare { sharing: true },
        ErrorCode::NotAllowed,
    )
    .await;
    // The host may share; then, with sharing allowed, one sharer at a time.
    expect_accepted(&host, ClientMessage::SetScreenShare { sharing: true }).await;
    guest
        .wait_until("host shares", WAIT, |v| v.participants[&h].sharing_screen)
        .await
        .unwrap();
    let opts = host.view().options.unwrap();
    host.host(HostCommand::SetOptions {
        options: MeetingOptions {
            allow_screen_share: true,
            allow_rename: true,
            allow_self_unmute: true,
            ..opts
        },
    })
    .unwrap();
    guest
        .wait_until("lock lifted", WAIT, |v| !v.participants[&g].audio_locked)
        .await
        .unwrap();
    let text = expect_error(
        &guest,
        ClientMessage::SetScreenShare { sharing: true },
        ErrorCode::InvalidInput,
    )
    .await;
    assert!(text.contains("Host is sharing"), "{text}");
    expect_accepted(
        &guest,
        ClientMessage::Rename {
            display_name: "Li Si".into(),
        },
    )
    .await;
    host.wait_until("renamed", WAIT, |v| {
        v.participants[&g].display_name == "Li Si"
    })
    .await
    .unwrap();
    expect_accepted(&guest, ClientMessage::SetAudioMuted { muted: false }).await;
    let audio = receiving(&host, &g, TrackKind::Audio).await;
    assert!(grows(&audio, Duration::from_secs(1)).await);
    // Reactions: known ones reach everyone, others are refused.
    expect_accepted(
        &guest,
        ClientMessage::React {
            emoji: "👍".into()
        },
    )
    .await;
    host.wait_until("reaction", WAIT, |v| {
        v.reactions.iter().any(|(p, e)| p == &g && e == "👍")
    })
    .await
    .unwrap();
    expect_error(
        &guest,
        ClientMessage::React {
            emoji: "<script>".into(),
        },
        ErrorCode::InvalidInput,
    )
    .await;
    host.close().await;
    guest.close().await;
}

async fn chat_is_delivered_kept_and_survives_a_restart(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = meeting_with(&server, MeetingOptions::default()).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let a = join(&server, &meeting, "A", None).await;
    let b = join(&server, &meeting, "B", None).await;
    let a_id = a.participant_id().to_string();
    a.chat(None, "hello everyone").unwrap();
    a.chat(Some(host.participant_id().as_str()), "psst, host")
        .unwrap();
    for s in [&host, &a, &b] {
        s.wait_until("public message", WAIT, |v| {
            v.chat
                .iter()
                .any(|m| m.text == "hello everyone" && m.from == a_id && m.to.is_none())
        })
        .await
        .unwrap();
    }
    host.wait_until("private message", WAIT, |v| {
        v.chat.iter().any(|m| m.text == "psst, host")
    })
    .await
    .unwrap();
    a.wait_until("own private copy", WAIT, |v| {
        v.chat.iter().any(|m| m.text == "psst, host")
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !b.view().chat.iter().any(|m| m.text == "psst, host"),
        "a private message reached a third party"
    );
    expect_error(
        &a,
        ClientMessage::Chat {
            to: None,
            to_panel: false,
            text: "   ".into(),
        },
        ErrorCode::InvalidInput,
    )
    .await;
    expect_error(
        &a,
        ClientMessage::Chat {
            to: None,
            to_panel: false,
            text: "x".repeat(2001),
        },
        ErrorCode::InvalidInput,
    )
    .await;
    expect_error(
        &a,
        ClientMessage::Chat {
            to: Some("nobody".into()),
            to_panel: false,
            text: "hi".into(),
        },
        ErrorCode::ParticipantNotFound,
    )
    .await;
    // The host turns on recording and streaming during the meeting.
    let opts = host.view().options.unwrap();
    host.host(HostCommand::SetOptions {
        options: MeetingOptions {
            auto_record: true,
            live_streaming: true,
            ..opts
        },
    })
    .unwrap();
    b.wait_until("settings", WAIT, |v| {
        v.options
            .as_ref()
            .is_some_and(|o| o.auto_record && o.live_streaming)
    })
    .await
    .unwrap();

    // A newcomer gets the public history, not the private message.
    let c = join(&server, &meeting, "C", None).await;
    c.wait_until("history", WAIT, |v| {
        v.chat.iter().any(|m| m.text == "hello everyone")
    })
    .await
    .unwrap();
    assert!(!c.view().chat.iter().any(|m| m.text == "psst, host"));

    // Signal restarts mid-meeting: chat history and settings are kept.
    for s in [host, a, b, c] {
        s.close().await;
    }
    let server = server.restart().await;
    let stored = yunhui_client::api::ApiClient::new(&server.base_url)
        .with_token(host_api.token().unwrap())
        .meeting(&meeting.id)
        .await
        .unwrap();
    assert!(stored.options.auto_record && stored.options.live_streaming);
    let back = join(&server, &meeting, "Back", None).await;
    back.wait_until("history after restart", WAIT, |v| {
        v.chat.iter().any(|m| m.text == "hello everyone")
    })
    .await
    .unwrap();
    let view = back.view();
    let options = view.options.unwrap();
    assert!(options.auto_record && options.live_streaming);
    back.close().await;
}

async fn licence_limits_are_enforced_at_join(db: Db) {
    let key = "internal-test-key";
    let server = support::start_with(
        db,
        SignalConfig {
            internal_key: Some(key.into()),
            ..SignalConfig::default()
        },
    )
    .await;
    let put_licence = |licence: serde_json::Value| {
        let url = format!(
            "{}/internal/v1/tenants/{}",
            server.base_url,
            yunhui_signal::store::DEFAULT_TENANT_ID
        );
        async move {
            let res = reqwest::Client::new()
                .put(url)
                .bearer_auth(key)
                .json(&serde_json::json!({"displayName": "Default", "licence": licence}))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        }
    };
    put_licence(serde_json::json!({"concurrentPorts": 2})).await;
    let (host_api, meeting) = meeting_with(&server, MeetingOptions::default()).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let guest = join(&server, &meeting, "Guest", None).await;
    let (code, message) = refused(&server, &meeting, "Third").await;
    assert_eq!(code, ErrorCode::LicenceExceeded);
    assert!(message.contains("2 concurrent ports"), "{message}");
    // Ports count across the tenant's meetings.
    let (other_api, other) = meeting_with(&server, MeetingOptions::default()).await;
    match MeetingSession::join(
        &server.base_url,
        options(&other, "Other host", other_api.token()),
    )
    .await
    {
        Err(SessionError::Refused { code, .. }) => assert_eq!(code, ErrorCode::LicenceExceeded),
        other => panic!("expected a licence refusal, got {:?}", other.err()),
    }
    guest.leave().await;
    let third = join(&server, &meeting, "Third", None).await;
    third.leave().await;
    host.leave().await;

    // Cloud rooms: one meeting at a time, two participants per meeting.
    put_licence(serde_json::json!({"cloudRooms": {"count": 1, "capacity": 2}})).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let guest = join(&server, &meeting, "Guest", None).await;
    let (code, message) = refused(&server, &meeting, "Third").await;
    assert_eq!(code, ErrorCode::LicenceExceeded);
    assert!(message.contains("2 participants per meeting"), "{message}");
    match MeetingSession::join(
        &server.base_url,
        options(&other, "Other host", other_api.token()),
    )
    .await
    {
        Err(SessionError::Refused { code, message }) => {
            assert_eq!(code, ErrorCode::LicenceExceeded);
            assert!(message.contains("cloud rooms"), "{message}");
        }
        other => panic!("expected a licence refusal, got {:?}", other.err()),
    }
    guest.leave().await;
    host.leave().await;
    // The first meeting's room closed: the other meeting may open now.
    let other_host = join(&server, &other, "Other host", other_api.token()).await;
    other_host.leave().await;
}

async fn password_guessing_is_slowed_then_refused_but_the_rightful_user_gets_in(db: Db) {
    let throttle = ThrottleConfig {
        free_failures: 2,
        base_delay: Duration::from_millis(300),
        max_delay: Duration::from_millis(600),
        source_limit: 5,
        ..ThrottleConfig::default()
    };
    let server = support::start_with(
        db,
        SignalConfig {
            password_throttle: throttle,
            ..SignalConfig::default()
        },
    )
    .await;
    let (host_api, meeting) = meeting_with(&server, MeetingOptions::default()).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    // The attacker connects from another loopback address.
    let attacker: IpAddr = Ipv4Addr::new(127, 0, 0, 2).into();
    let guess = |password: &str| {
        let mut opts = options(&meeting, "Guesser", None);
        opts.password = Some(password.into());
        opts.signaling_bind = Some(attacker);
        let base = server.base_url.clone();
        async move {
            let started = Instant::now();
            let outcome = MeetingSession::join(&base, opts).await;
            (outcome, started.elapsed())
        }
    };
    let mut elapsed = Vec::new();
    for i in 0..5 {
        match guess(&format!("000{i}")).await {
            (Err(SessionError::Refused { code, .. }), took) => {
                assert_eq!(code, ErrorCode::WrongPassword, "attempt {i}");
                elapsed.push(took);
            }
            (other, _) => panic!("attempt {i}: {:?}", other.err()),
        }
    }
    // From the third failure on, each attempt waits before it is checked.
    assert!(elapsed[2] >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed[4] >= Duration::from_millis(600), "{elapsed:?}");
    // Past the limit even the right password is refused from that source.
    match guess("2468").await {
        (Err(SessionError::Refused { code, message }), _) => {
            assert_eq!(code, ErrorCode::TooManyAttempts);
            assert!(message.contains("try again in"), "{message}");
        }
        (other, _) => panic!("{:?}", other.err()),
    }
    // The rightful user, from another address, gets straight in; so does a
    // join link from anywhere.
    let started = Instant::now();
    let rightful = join(&server, &meeting, "Rightful", None).await;
    assert!(started.elapsed() < Duration::from_millis(300) * 2);
    let key = meeting.join_url.split("k=").nth(1).unwrap().to_string();
    let mut by_link = options(&meeting, "By link", None);
    by_link.password = None;
    by_link.link_key = Some(key);
    by_link.signaling_bind = Some(attacker);
    let linked = MeetingSession::join(&server.base_url, by_link)
        .await
        .expect("link keys are not throttled");
    for s in [host, rightful, linked] {
        s.close().await;
    }
}

/// A signed-in account's listening socket.
async fn invitations_ring_and_open_a_meeting_for_invitees_only(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = meeting_with(
        &server,
        MeetingOptions {
            join_mode: JoinMode::InviteesOnly,
            ..MeetingOptions::default()
        },
    )
    .await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let bob_api = server
        .signed_in(&format!("bob-{}@example.com", uuid::Uuid::new_v4()))
        .await;
    let carol_api = server
        .signed_in(&format!("carol-{}@example.com", uuid::Uuid::new_v4()))
        .await;
    let bob_id = bob_api.me().await.unwrap().id;
    let carol_id = carol_api.me().await.unwrap().id;
    // Not invited: neither a guest nor a signed-in colleague gets in.
    let (code, message) = refused(&server, &meeting, "Guest").await;
    assert_eq!(code, ErrorCode::NotInvited);
    assert!(message.contains("invitees only"), "{message}");
    match MeetingSession::join(&server.base_url, options(&meeting, "Bob", bob_api.token())).await {
        Err(SessionError::Refused { code, .. }) => assert_eq!(code, ErrorCode::NotInvited),
        other => panic!("{:?}", other.err()),
    }
    // Bob listens on two devices; Carol is offline.
    let mut bob_phone = listening(&server.base_url, bob_api.token().unwrap()).await;
    let mut bob_desk = listening(&server.base_url, bob_api.token().unwrap()).await;
    // One unknown id and nobody rings.
    expect_error(
        &host,
        ClientMessage::Invite {
            account_ids: vec![bob_id.clone(), "made-up".into()],
        },
        ErrorCode::InvalidInput,
    )
    .await;
    host.invite(&[&bob_id, &carol_id]).unwrap();
    host.wait_until("statuses", WAIT, |v| v.invites.len() == 2)
        .await
        .unwrap();
    let invites = host.view().invites;
    assert!(
        invites.contains(&(bob_id.clone(), "ringing".into())),
        "{invites:?}"
    );
    assert!(
        invites.contains(&(carol_id.clone(), "offline".into())),
        "{invites:?}"
    );
    let (call, key) = incoming_call(&mut bob_phone).await;
    let (same_call, _) = incoming_call(&mut bob_desk).await;
    assert_eq!(call, same_call);
    // Answered on the phone: the desk stops ringing, the host is told.
    bob_phone
        .send(&ClientMessage::AnswerCall {
            call_id: call.clone(),
            accept: true,
        })
        .await
        .unwrap();
    bob_desk
        .recv_until(WAIT, |m| {
            matches!(m, ServerMessage::CallEnded { call_id } if *call_id == call).then_some(())
        })
        .await
        .unwrap();
    host.wait_until("accepted", WAIT, |v| {
        v.invites.contains(&(bob_id.clone(), "accepted".into()))
    })
    .await
    .unwrap();
    bob_desk
        .send(&ClientMessage::AnswerCall {
            call_id: call.clone(),
            accept: true,
        })
        .await
        .unwrap();
    let code = bob_desk
        .recv_until(WAIT, |m| match m {
            ServerMessage::Error { code, .. } => Some(*code),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(code, ErrorCode::CallNotFound);
    // Bob joins with the call's key (no password needed).
    let mut opts = options(&meeting, "Bob", bob_api.token());
    opts.password = None;
    opts.link_key = Some(key);
    let bob = MeetingSession::join(&server.base_url, opts)
        .await
        .expect("the invitee joins");
    // Invitees may not invite in this join mode; they may once the host allows it.
    expect_error(
        &bob,
        ClientMessage::Invite {
            account_ids: vec![carol_id.clone()],
        },
        ErrorCode::NotAllowed,
    )
    .await;
    let opts = host.view().options.unwrap();
    host.host(HostCommand::SetOptions {
        options: MeetingOptions {
            join_mode: JoinMode::InviteesMayInvite,
            ..opts
        },
    })
    .unwrap();
    bob.wait_until("join mode", WAIT, |v| {
        v.options
            .as_ref()
            .is_some_and(|o| o.join_mode == JoinMode::InviteesMayInvite)
    })
    .await
    .unwrap();
    let mut carol_phone = listening(&server.base_url, carol_api.token().unwrap()).await;
    bob.invite(&[&carol_id]).unwrap();
    let (call, _) = incoming_call(&mut carol_phone).await;
    carol_phone
        .send(&ClientMessage::AnswerCall {
            call_id: call,
            accept: false,
        })
        .await
        .unwrap();
    bob.wait_until("declined", WAIT, |v| {
        v.invites.contains(&(carol_id.clone(), "declined".into()))
    })
    .await
    .unwrap();
    // Declining does not open the door to others: a guest is still refused.
    let (code, _) = refused(&server, &meeting, "Guest").await;
    assert_eq!(code, ErrorCode::NotInvited);
    host.close().await;
    bob.close().await;
}

/// A host, an invitee and a colleague who is not invited, and the host's
/// "Weekly sync" at 2030-05-07 09:30 Asia/Shanghai (password 8642).
async fn scheduled_with_one_invitee(
    server: &Server,
    join_mode: JoinMode,
) -> (
    ApiClient,
    ApiClient,
    ApiClient,
    yunhui_proto::schedule::ScheduledMeeting,
) {
    let mut accounts = Vec::new();
    for who in ["host", "inv", "col"] {
        accounts.push(
            server
                .signed_in(&format!("{who}-{}@example.com", uuid::Uuid::new_v4()))
                .await,
        );
    }
    let colleague = accounts.pop().unwrap();
    let invitee = accounts.pop().unwrap();
    let host = accounts.pop().unwrap();
    let scheduled = host
        .schedule_meeting(&yunhui_proto::schedule::ScheduleRequest {
            topic: Some("Weekly sync".into()),
            start: "2030-05-07T09:30".into(),
            duration_minutes: 30,
            time_zone: "Asia/Shanghai".into(),
            password: Some("8642".into()),
            invitees: vec![invitee.me().await.unwrap().id],
            options: Some(MeetingOptions {
                join_mode,
                ..MeetingOptions::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    (host, invitee, colleague, scheduled)
}

async fn scheduled_invitees_join_a_meeting_for_invitees_only(db: Db) {
    let server = support::start(db).await;
    let (host_api, invitee_api, colleague_api, scheduled) =
        scheduled_with_one_invitee(&server, JoinMode::InviteesOnly).await;
    let meeting = scheduled.meeting;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let invitee = join(&server, &meeting, "Invitee", invitee_api.token()).await;
    match MeetingSession::join(
        &server.base_url,
        options(&meeting, "Colleague", colleague_api.token()),
    )
    .await
    {
        Err(SessionError::Refused { code, .. }) => assert_eq!(code, ErrorCode::NotInvited),
        other => panic!("a colleague who is not invited joined: {:?}", other.err()),
    }
    let (code, _) = refused(&server, &meeting, "Guest").await;
    assert_eq!(code, ErrorCode::NotInvited);
    host.wait_until("invitee in", WAIT, |v| {
        v.participants.contains_key(&invitee.participant_id())
    })
    .await
    .unwrap();
    host.close().await;
    invitee.close().await;
}

async fn scheduled_meetings_ring_their_invitees_when_they_start(db: Db) {
    let server = support::start(db).await;
    let (_host_api, invitee_api, colleague_api, scheduled) =
        scheduled_with_one_invitee(&server, JoinMode::Anyone).await;
    // 2030-05-07 09:30 in Shanghai is 01:30 UTC.
    let start = 1_904_347_800;
    let mut invitee = listening(&server.base_url, invitee_api.token().unwrap()).await;
    let mut colleague = listening(&server.base_url, colleague_api.token().unwrap()).await;
    let app = &server.app;
    assert_eq!(
        yunhui_signal::live::ringing::ring_starting(app, start - 60, start - 1)
            .await
            .unwrap(),
        0,
        "not yet"
    );
    assert_eq!(
        yunhui_signal::live::ringing::ring_starting(app, start - 15, start)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        yunhui_signal::live::ringing::ring_starting(app, start, start + 15)
            .await
            .unwrap(),
        0,
        "rings once"
    );
    let call = invitee
        .recv_until(WAIT, |m| match m {
            ServerMessage::IncomingCall {
                call_id,
                meeting_number,
                topic,
                link_key,
                ..
            } => Some((
                call_id.clone(),
                meeting_number.clone(),
                topic.clone(),
                link_key.clone(),
            )),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(call.1, scheduled.meeting.number);
    assert_eq!(call.2, "Weekly sync");
    assert!(scheduled.meeting.join_url.ends_with(&call.3));
    invitee
        .send(&ClientMessage::AnswerCall {
            call_id: call.0,
            accept: false,
        })
        .await
        .unwrap();
    invitee
        .recv_until(WAIT, |m| {
            matches!(m, ServerMessage::CallEnded { .. }).then_some(())
        })
        .await
        .unwrap();
    // Nobody else rang.
    match colleague.recv(Duration::from_millis(500)).await {
        Err(yunhui_client::signaling::SignalingError::Timeout(_)) => {}
        other => panic!("a colleague who is not invited got {other:?}"),
    }
}

/// Waits until `events` brings a `publish_quality` of `expected` (earlier
/// ones, e.g. from the joins, are passed over).
async fn told(
    events: &mut tokio::sync::broadcast::Receiver<ServerMessage>,
    expected: yunhui_proto::signaling::VideoQuality,
) {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(ServerMessage::PublishQuality { max }) if max == expected => return,
                Ok(ServerMessage::PublishQuality { max }) => seen.push(max),
                Ok(_) => continue,
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await;
    assert!(found.is_ok(), "never told {expected:?} (told {seen:?})");
}

/// F-CTL-8: each publisher is told the most anyone watching it wants, so a
/// browser can stop encoding simulcast layers nobody watches.
async fn publishers_are_told_the_most_anyone_watching_wants(db: Db) {
    use yunhui_proto::signaling::VideoQuality::{High, Low, Off};
    let server = support::start(db).await;
    let (host_api, meeting) = meeting_with(&server, MeetingOptions::default()).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let guest = join(&server, &meeting, "Guest", None).await;
    let (mut host_events, mut guest_events) = (host.events(), guest.events());

    // The guest shows the host as a thumbnail; the host has not chosen yet,
    // so it still watches the guest at the full layer.
    guest
        .set_video_subscriptions(Off, &[(host.participant_id().as_str(), Low)])
        .unwrap();
    told(&mut host_events, Low).await;
    // The host turns everyone's video off: nobody watches the guest.
    host.set_video_subscriptions(Off, &[]).unwrap();
    told(&mut guest_events, Off).await;
    // A newcomer watches everyone until it chooses.
    let third = join(&server, &meeting, "Third", None).await;
    told(&mut host_events, High).await;
    told(&mut guest_events, High).await;
    // It leaves: back to what the others chose.
    third.leave().await;
    told(&mut host_events, Low).await;
    told(&mut guest_events, Off).await;
    host.close().await;
    guest.close().await;
}

/// F-CTL-6: private chat follows a signed-in account: after leaving and
/// rejoining (a new participant id) its private messages come back, shown
/// as its own; nobody else gets them.
async fn private_chat_follows_a_signed_in_account_across_a_rejoin(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = meeting_with(&server, MeetingOptions::default()).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let alice_api = server.signed_in("alice@example.com").await;
    let alice = join(&server, &meeting, "Alice", alice_api.token()).await;
    alice
        .chat(Some(host.participant_id().as_str()), "for the host only")
        .unwrap();
    host.chat(Some(alice.participant_id().as_str()), "reply to alice")
        .unwrap();
    alice
        .wait_until("the reply", WAIT, |v| {
            v.chat.iter().any(|m| m.text == "reply to alice")
        })
        .await
        .unwrap();
    alice.leave().await;

    let again = join(&server, &meeting, "Alice", alice_api.token()).await;
    let me = again.participant_id().to_owned();
    again
        .wait_until("private history", WAIT, |v| v.chat.len() >= 2)
        .await
        .unwrap();
    let view = again.view();
    let sent = view
        .chat
        .iter()
        .find(|m| m.text == "for the host only")
        .expect("own message");
    assert_eq!(sent.from, me, "her earlier message is shown as hers");
    assert_eq!(sent.to.as_deref(), Some(host.participant_id().as_str()));
    let reply = view
        .chat
        .iter()
        .find(|m| m.text == "reply to alice")
        .expect("the reply");
    assert_eq!(
        reply.to.as_deref(),
        Some(me.as_str()),
        "the reply is addressed to her"
    );
    assert_eq!(reply.from, host.participant_id());

    // A guest, and another signed-in account, get none of it.
    let guest = join(&server, &meeting, "Guest", None).await;
    let bob_api = server.signed_in("bob@example.com").await;
    let bob = join(&server, &meeting, "Bob", bob_api.token()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for other in [&guest, &bob] {
        assert!(
            other.view().chat.is_empty(),
            "private history leaked: {:?}",
            other.view().chat
        );
    }
    for session in [host, again, guest, bob] {
        session.close().await;
    }
}

/// F-CTL-2: a guest the host removes cannot rejoin from the same device.
async fn a_removed_guest_cannot_rejoin_from_the_same_device(db: Db) {
    let server = support::start(db).await;
    let (host_api, meeting) = meeting_with(&server, MeetingOptions::default()).await;
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let device = "browser-3f2a9c1d7e5b4a60";
    let on_device = |name: &str, device: &str| JoinOptions {
        device_id: Some(device.into()),
        ..options(&meeting, name, None)
    };
    let guest = MeetingSession::join(&server.base_url, on_device("Guest", device))
        .await
        .unwrap();
    host.host(HostCommand::Remove {
        participant_id: guest.participant_id().to_owned(),
    })
    .unwrap();
    guest
        .wait_until("removed", WAIT, |v| v.removed)
        .await
        .unwrap();
    match MeetingSession::join(&server.base_url, on_device("Guest, renamed", device)).await {
        Err(SessionError::Refused { code, message }) => {
            assert_eq!(code, ErrorCode::EntryDenied, "{message}");
        }
        Err(e) => panic!("unexpected: {e}"),
        Ok(_) => panic!("a removed guest rejoined from the same device"),
    }
    // Another device is someone else.
    let other = MeetingSession::join(
        &server.base_url,
        on_device("Colleague", "browser-000000000000000b"),
    )
    .await
    .expect("another device joins");
    // A malformed device id is refused with a reason, before anything else.
    for bad in ["short", "has spaces in it 0123", &"x".repeat(65)] {
        match MeetingSession::join(&server.base_url, on_device("Odd", bad)).await {
            Err(SessionError::Refused { code, message }) => {
                assert_eq!(code, ErrorCode::InvalidInput);
                assert!(message.contains("device id"), "{message}");
            }
            Err(e) => panic!("unexpected: {e}"),
            Ok(_) => panic!("device id {bad:?} was accepted"),
        }
    }
    host.close().await;
    other.close().await;
}

on_both_databases!(
    publishers_are_told_the_most_anyone_watching_wants,
    private_chat_follows_a_signed_in_account_across_a_rejoin,
    a_removed_guest_cannot_rejoin_from_the_same_device,
    scheduled_meetings_ring_their_invitees_when_they_start,
    scheduled_invitees_join_a_meeting_for_invitees_only,
    invitations_ring_and_open_a_meeting_for_invitees_only,
    every_host_action_is_refused_to_participants,
    mute_all_without_self_unmute_stops_audio_at_the_sfu,
    host_actions_on_one_participant,
    waiting_room_admit_admit_all_and_deny,
    join_before_host_and_lock,
    mute_on_entry_and_permissions,
    chat_is_delivered_kept_and_survives_a_restart,
    licence_limits_are_enforced_at_join,
    password_guessing_is_slowed_then_refused_but_the_rightful_user_gets_in,
);
