//! Webinars (F-WEBINAR-1, the manual's 5.3) through the Rust SDK: scheduling
//! one needs the tenant's `webinar` feature; every joiner but the host is an
//! attendee; each right of host, panelist and attendee is allowed or refused
//! as the manual's table says; attendees see no other attendee; the Q&A
//! shows a question to the panel and its asker, and to everyone once
//! answered publicly; "allow to talk" makes an attendee heard, and revoking
//! it stops their audio at the SFU.

use crate::support;

use std::time::Duration;

use support::Db;
use support::session::{
    expect_accepted as accepted, expect_error as refused, host_command, join, receiving, stopped,
    until,
};
use yunhui_client::api::{ApiCallError, ApiClient};
use yunhui_client::media::{SyntheticMedia, TrackKind};
use yunhui_client::meeting::SessionError;
use yunhui_proto::api::{CreateMeetingRequest, Meeting, MeetingOptions};
use yunhui_proto::schedule::ScheduleRequest;
use yunhui_proto::signaling::{ClientMessage, ErrorCode, HostCommand, Role};
use yunhui_signal::SignalConfig;

fn webinar_options() -> MeetingOptions {
    MeetingOptions {
        webinar: true,
        ..MeetingOptions::default()
    }
}

async fn schedule_webinar(host: &ApiClient) -> Result<Meeting, ApiCallError> {
    host.schedule_meeting(&ScheduleRequest {
        topic: Some("All hands".into()),
        start: "2030-05-07T09:30".into(),
        duration_minutes: 60,
        time_zone: "Asia/Shanghai".into(),
        password: Some("2468".into()),
        options: Some(webinar_options()),
        ..Default::default()
    })
    .await
    .map(|scheduled| scheduled.meeting)
}

async fn a_webinar_needs_the_tenant_s_feature_and_is_scheduled(db: Db) {
    let server = support::start_with(
        db,
        SignalConfig {
            internal_key: Some("internal-test-key".into()),
            ..Default::default()
        },
    )
    .await;
    // The default tenant of a single-tenant install has webinars.
    let host = server.signed_in("wang@example.com").await;
    let meeting = schedule_webinar(&host)
        .await
        .expect("a webinar is scheduled");
    assert!(meeting.options.webinar);
    // A tenant whose features leave webinars out is refused, with the reason.
    let other = server
        .signed_in_tenant("no-webinars", "li@other.example")
        .await;
    match schedule_webinar(&other).await {
        Err(ApiCallError::Server {
            status, message, ..
        }) => {
            assert_eq!(status, 403, "{message}");
            assert!(message.contains("webinars"), "{message}");
        }
        other => panic!("a webinar without the feature: {other:?}"),
    }
    // An instant meeting is not a webinar: it is scheduled.
    match host
        .create_meeting(&CreateMeetingRequest {
            options: Some(webinar_options()),
            ..Default::default()
        })
        .await
    {
        Err(ApiCallError::Server {
            status, message, ..
        }) => {
            assert_eq!(status, 400, "{message}");
            assert!(message.contains("options.webinar"), "{message}");
        }
        other => panic!("an instant webinar: {other:?}"),
    }
    // Nor does a meeting become one (or stop being one) while it runs.
    let session = join(&server, &meeting, "Host", host.token()).await;
    let text = refused(
        &session,
        host_command(HostCommand::SetOptions {
            options: MeetingOptions::default(),
        }),
        ErrorCode::InvalidInput,
    )
    .await;
    assert!(text.contains("webinar"), "{text}");
    let stored = host.meeting(&meeting.id).await.expect("the meeting");
    assert!(stored.options.webinar, "the refused change was not saved");
    session.close().await;
}

async fn roles_rights_rosters_and_questions(db: Db) {
    let server = support::start(db).await;
    let host_api = server.signed_in("zhang@example.com").await;
    let meeting = schedule_webinar(&host_api).await.expect("schedule");
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let mut a = join(&server, &meeting, "Attendee A", None).await;
    let b = join(&server, &meeting, "Attendee B", None).await;
    let (h, a_id, b_id) = (
        host.participant_id().to_string(),
        a.participant_id().to_string(),
        b.participant_id().to_string(),
    );

    // Roles and rosters: the host sees everyone; an attendee sees the
    // panel and themselves, never another attendee.
    until(&host, "the host sees both attendees", |v| {
        v.participants.len() == 3
    })
    .await;
    assert_eq!(host.view().participants[&h].role, Role::Host);
    assert_eq!(host.view().participants[&a_id].role, Role::Attendee);
    let a_view = a.view();
    assert!(a_view.participants.contains_key(&h) && a_view.participants.contains_key(&a_id));
    assert!(
        !a_view.participants.contains_key(&b_id),
        "A sees B: {a_view:?}"
    );
    assert!(!b.view().participants.contains_key(&a_id));
    let me = &a_view.participants[&a_id];
    assert!(
        me.audio_muted && !me.video_enabled,
        "an attendee starts with nothing on"
    );

    // What an attendee may not do.
    let refusals = [
        (
            ClientMessage::SetAudioMuted { muted: false },
            ErrorCode::NotAllowed,
        ),
        (
            ClientMessage::SetVideoEnabled { enabled: true },
            ErrorCode::NotAllowed,
        ),
        (
            ClientMessage::SetScreenShare { sharing: true },
            ErrorCode::NotAllowed,
        ),
        (
            ClientMessage::PublishOffer { sdp: "v=0".into() },
            ErrorCode::NotAllowed,
        ),
        (host_command(HostCommand::LowerAllHands), ErrorCode::NotHost),
        (
            ClientMessage::Chat {
                to: Some(b_id.clone()),
                to_panel: false,
                text: "psst".into(),
            },
            ErrorCode::ParticipantNotFound,
        ),
        (
            ClientMessage::Invite {
                account_ids: vec!["x".into()],
            },
            ErrorCode::NotAllowed,
        ),
    ];
    for (message, code) in refusals {
        refused(&a, message, code).await;
    }
    match a.publish(SyntheticMedia::default()).await {
        Err(SessionError::Refused { code, .. }) => assert_eq!(code, ErrorCode::NotAllowed),
        other => panic!("an attendee published: {:?}", other.err()),
    }

    // What an attendee may do: chat (to everyone, to the panel), raise a
    // hand (the panel sees it; other attendees hear nothing of it), ask.
    accepted(
        &a,
        ClientMessage::Chat {
            to: Some(h.clone()),
            to_panel: false,
            text: "hello host".into(),
        },
    )
    .await;
    accepted(
        &a,
        ClientMessage::Chat {
            to: None,
            to_panel: true,
            text: "to the panel".into(),
        },
    )
    .await;
    accepted(
        &a,
        ClientMessage::Chat {
            to: None,
            to_panel: false,
            text: "hello all".into(),
        },
    )
    .await;
    until(&b, "B reads A's message to everyone", |v| {
        v.chat.iter().any(|m| m.text == "hello all")
    })
    .await;
    assert!(!b.view().chat.iter().any(|m| m.text == "hello host"));
    assert!(
        !b.view().chat.iter().any(|m| m.text == "to the panel"),
        "an attendee read a message to the panel"
    );
    until(&host, "the host reads A's message to the panel", |v| {
        v.chat
            .iter()
            .any(|m| m.text == "to the panel" && m.to_panel)
    })
    .await;
    // A latecomer's history: the public messages, not those to the panel.
    let late = join(&server, &meeting, "Attendee C", None).await;
    until(&late, "C reads the history", |v| {
        v.chat.iter().any(|m| m.text == "hello all")
    })
    .await;
    assert!(!late.view().chat.iter().any(|m| m.text == "to the panel"));
    late.close().await;
    accepted(&a, ClientMessage::RaiseHand { raised: true }).await;
    until(&host, "the host sees A's hand", |v| {
        v.participants[&a_id].hand_raised
    })
    .await;
    assert!(!b.view().participants.contains_key(&a_id));

    // Q&A: the panel and the asker see a question; others once it has a
    // public answer, and then without the private answers.
    accepted(
        &a,
        ClientMessage::Ask {
            text: "When is the launch?".into(),
        },
    )
    .await;
    until(&host, "the host sees the question", |v| {
        v.questions.len() == 1
    })
    .await;
    let question = host.view().questions.values().next().unwrap().clone();
    assert_eq!(question.asker, a_id);
    until(&a, "the asker sees their question", |v| {
        v.questions.len() == 1
    })
    .await;
    refused(
        &a,
        ClientMessage::AnswerQuestion {
            question_id: question.id.clone(),
            text: "soon".into(),
            private: false,
        },
        ErrorCode::NotAllowed,
    )
    .await;
    accepted(
        &host,
        ClientMessage::AnswerQuestion {
            question_id: question.id.clone(),
            text: "I will tell you after".into(),
            private: true,
        },
    )
    .await;
    until(&a, "the asker reads the private answer", |v| {
        v.questions[&question.id].answers.len() == 1
    })
    .await;
    assert!(
        b.view().questions.is_empty(),
        "B sees a question answered privately"
    );
    accepted(
        &host,
        ClientMessage::AnswerQuestion {
            question_id: question.id.clone(),
            text: "In March".into(),
            private: false,
        },
    )
    .await;
    until(&b, "B sees the publicly answered question", |v| {
        v.questions.get(&question.id).is_some_and(|q| q.public)
    })
    .await;
    let seen_by_b = b.view().questions[&question.id].clone();
    assert_eq!(seen_by_b.answers.len(), 1, "{seen_by_b:?}");
    assert_eq!(seen_by_b.answers[0].text, "In March");
    accepted(
        &b,
        ClientMessage::Ask {
            text: "Is it recorded?".into(),
        },
    )
    .await;
    until(&host, "the host sees B's question", |v| {
        v.questions.len() == 2
    })
    .await;
    let b_question = host
        .view()
        .questions
        .values()
        .find(|q| q.asker == b_id)
        .unwrap()
        .id
        .clone();
    accepted(
        &host,
        ClientMessage::DismissQuestion {
            question_id: b_question.clone(),
        },
    )
    .await;
    until(&b, "B sees their question dismissed", |v| {
        v.questions.get(&b_question).is_some_and(|q| q.dismissed)
    })
    .await;
    assert!(!a.view().questions.contains_key(&b_question));
    refused(
        &a,
        ClientMessage::Ask { text: " ".into() },
        ErrorCode::InvalidInput,
    )
    .await;

    // The host lowers every hand.
    accepted(&host, host_command(HostCommand::LowerAllHands)).await;
    until(&host, "A's hand is down", |v| {
        !v.participants[&a_id].hand_raised
    })
    .await;

    // B made a panelist: everyone sees B now, B sees everyone, and B has a
    // panelist's rights (answering, sharing, unmuting) but not the host's.
    accepted(
        &host,
        host_command(HostCommand::SetRole {
            participant_id: b_id.clone(),
            role: Role::Panelist,
        }),
    )
    .await;
    until(&a, "A sees the new panelist", |v| {
        v.participants
            .get(&b_id)
            .is_some_and(|p| p.role == Role::Panelist)
    })
    .await;
    until(&b, "the panelist sees the attendees", |v| {
        v.participants.contains_key(&a_id)
    })
    .await;
    until(&b, "the panelist sees every question", |v| {
        v.questions.len() == 2
    })
    .await;
    accepted(&b, ClientMessage::SetAudioMuted { muted: false }).await;
    accepted(&b, ClientMessage::SetScreenShare { sharing: true }).await;
    accepted(
        &b,
        ClientMessage::AnswerQuestion {
            question_id: question.id.clone(),
            text: "And it is recorded".into(),
            private: false,
        },
    )
    .await;
    refused(
        &b,
        host_command(HostCommand::AllowTalk {
            participant_id: a_id.clone(),
            allowed: true,
        }),
        ErrorCode::NotHost,
    )
    .await;
    // The host's role is not given by set_role.
    refused(
        &host,
        host_command(HostCommand::SetRole {
            participant_id: a_id.clone(),
            role: Role::Host,
        }),
        ErrorCode::InvalidInput,
    )
    .await;

    // Back to the audience: A no longer sees B, B no longer sees A, and B's
    // screen share and microphone are off.
    accepted(
        &host,
        host_command(HostCommand::SetRole {
            participant_id: b_id.clone(),
            role: Role::Attendee,
        }),
    )
    .await;
    until(&a, "A no longer sees B", |v| {
        !v.participants.contains_key(&b_id)
    })
    .await;
    until(&b, "B no longer sees A", |v| {
        !v.participants.contains_key(&a_id)
    })
    .await;
    let b_now = host.view().participants[&b_id].clone();
    assert!(b_now.audio_muted && !b_now.sharing_screen && b_now.role == Role::Attendee);

    // Q&A and panel roles are a webinar's.
    let plain = host_api
        .create_meeting(&CreateMeetingRequest::default())
        .await
        .unwrap();
    let plain_host = join(&server, &plain, "Host", host_api.token()).await;
    let guest = join(&server, &plain, "Guest", None).await;
    assert_eq!(
        guest.view().participants[&guest.participant_id()].role,
        Role::Participant
    );
    refused(
        &guest,
        ClientMessage::Ask { text: "?".into() },
        ErrorCode::InvalidInput,
    )
    .await;
    refused(
        &guest,
        ClientMessage::Chat {
            to: None,
            to_panel: true,
            text: "panel?".into(),
        },
        ErrorCode::InvalidInput,
    )
    .await;
    refused(
        &plain_host,
        host_command(HostCommand::SetRole {
            participant_id: guest.participant_id(),
            role: Role::Panelist,
        }),
        ErrorCode::InvalidInput,
    )
    .await;
    for session in [host, a, b, plain_host, guest] {
        session.close().await;
    }
}

async fn allowed_to_talk_an_attendee_is_heard_and_revoked_their_audio_stops_at_the_sfu(db: Db) {
    let server = support::start(db).await;
    let host_api = server.signed_in("chen@example.com").await;
    let meeting = schedule_webinar(&host_api).await.expect("schedule");
    let mut host = join(&server, &meeting, "Host", host_api.token()).await;
    host.publish(SyntheticMedia::default()).await.unwrap();
    // Attendees, who publish nothing, are offered the panel's media when they join.
    let mut a = join(&server, &meeting, "Attendee A", None).await;
    let b = join(&server, &meeting, "Attendee B", None).await;
    let (h, a_id) = (
        host.participant_id().to_string(),
        a.participant_id().to_string(),
    );
    receiving(&b, &h, TrackKind::Audio).await;
    receiving(&b, &h, TrackKind::Video).await;

    accepted(
        &host,
        host_command(HostCommand::AllowTalk {
            participant_id: a_id.clone(),
            allowed: true,
        }),
    )
    .await;
    until(&a, "A is asked to unmute", |v| v.unmute_requests == 1).await;
    until(&b, "B sees A, who may talk now", |v| {
        v.participants.get(&a_id).is_some_and(|p| p.talk_allowed)
    })
    .await;
    // A publishes camera and microphone; only the audio reaches anyone.
    a.publish(SyntheticMedia::default())
        .await
        .expect("A publishes");
    refused(
        &a,
        ClientMessage::SetVideoEnabled { enabled: true },
        ErrorCode::NotAllowed,
    )
    .await;
    accepted(&a, ClientMessage::SetAudioMuted { muted: false }).await;
    let heard_by_b = receiving(&b, &a_id, TrackKind::Audio).await;
    let heard_by_host = receiving(&host, &a_id, TrackKind::Audio).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (who, session) in [("B", &b), ("the host", &host)] {
        let video = session
            .subscriber()
            .track(&a_id, TrackKind::Video)
            .map(|t| t.packets())
            .unwrap_or(0);
        assert_eq!(video, 0, "{who} received an attendee's video");
    }

    // Revoked: A's audio stops at the SFU for everyone, and A may not unmute.
    accepted(
        &host,
        host_command(HostCommand::AllowTalk {
            participant_id: a_id.clone(),
            allowed: false,
        }),
    )
    .await;
    assert!(stopped(&heard_by_b).await, "B still hears A");
    assert!(stopped(&heard_by_host).await, "the host still hears A");
    until(&b, "B no longer sees A", |v| {
        !v.participants.contains_key(&a_id)
    })
    .await;
    refused(
        &a,
        ClientMessage::SetAudioMuted { muted: false },
        ErrorCode::NotAllowed,
    )
    .await;
    for session in [host, a, b] {
        session.close().await;
    }
}

on_both_databases!(
    a_webinar_needs_the_tenant_s_feature_and_is_scheduled,
    roles_rights_rosters_and_questions,
    allowed_to_talk_an_attendee_is_heard_and_revoked_their_audio_stops_at_the_sfu,
);
