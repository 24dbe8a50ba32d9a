//! Simultaneous interpretation (F-INT-1, the manual's 5.1) through the Rust
//! SDK, with the SFU in the loop: a meeting with interpretation needs the
//! tenant's feature; the host assigns interpreters and replaces them; an
//! interpreter's audio reaches only the listeners of their channel (with
//! the original), a listener without a channel receives the original only,
//! and a replacement takes effect at once.

use crate::support;

use support::Db;
use support::session::{
    expect_accepted as accepted, expect_error as refused, hears, host_command, join, light_media,
    receiving, until,
};
use yunhui_client::api::ApiCallError;
use yunhui_client::media::TrackKind;
use yunhui_proto::api::{CreateMeetingRequest, MeetingOptions};
use yunhui_proto::signaling::{ClientMessage, ErrorCode, HostCommand, LanguagePair};
use yunhui_signal::SignalConfig;

fn with_interpretation() -> CreateMeetingRequest {
    CreateMeetingRequest {
        topic: Some("International forum".into()),
        options: Some(MeetingOptions {
            interpretation: true,
            ..MeetingOptions::default()
        }),
        ..Default::default()
    }
}

fn pair(from: &str, to: &str) -> Option<LanguagePair> {
    Some(LanguagePair {
        from: from.into(),
        to: to.into(),
    })
}

async fn interpretation_needs_the_tenant_s_feature(db: Db) {
    let server = support::start_with(
        db,
        SignalConfig {
            internal_key: Some("internal-test-key".into()),
            ..Default::default()
        },
    )
    .await;
    let host = server.signed_in("zhao@example.com").await;
    let meeting = host
        .create_meeting(&with_interpretation())
        .await
        .expect("the default tenant has interpretation");
    assert!(meeting.options.interpretation);
    let other = server
        .signed_in_tenant("no-interpreters", "li@other.example")
        .await;
    match other.create_meeting(&with_interpretation()).await {
        Err(ApiCallError::Server {
            status, message, ..
        }) => {
            assert_eq!(status, 403, "{message}");
            assert!(message.contains("interpretation"), "{message}");
        }
        other => panic!("a tenant without the feature got {other:?}"),
    }
    // A meeting without it has no interpreters, and keeps having none.
    let (plain_host, plain) = server.meeting(None).await;
    let session = join(&server, &plain, "Host", plain_host.token()).await;
    let id = session.participant_id().to_string();
    refused(
        &session,
        host_command(HostCommand::SetInterpreter {
            participant_id: id.clone(),
            languages: pair("zh", "en"),
        }),
        ErrorCode::NotAllowed,
    )
    .await;
    refused(
        &session,
        ClientMessage::ChooseLanguage {
            language: Some("en".into()),
        },
        ErrorCode::NotAllowed,
    )
    .await;
    let mut options = session.view().options.expect("meeting state");
    options.interpretation = true;
    refused(
        &session,
        host_command(HostCommand::SetOptions { options }),
        ErrorCode::InvalidInput,
    )
    .await;
    session.close().await;
}

async fn listeners_hear_their_channel_with_the_original(db: Db) {
    let server = support::start(db).await;
    let host_api = server.signed_in("sun@example.com").await;
    let meeting = host_api
        .create_meeting(&with_interpretation())
        .await
        .unwrap();
    let host = join(&server, &meeting, "Host", host_api.token()).await;
    let mut speaker = join(&server, &meeting, "Speaker (zh)", None).await;
    speaker.publish(light_media(20)).await.unwrap();
    let mut first = join(&server, &meeting, "Interpreter 1", None).await;
    first.publish(light_media(10)).await.unwrap();
    let mut second = join(&server, &meeting, "Interpreter 2", None).await;
    second.publish(light_media(10)).await.unwrap();
    let english = join(&server, &meeting, "Listener (en)", None).await;
    let plain = join(&server, &meeting, "Listener", None).await;
    let (s, i1, i2) = (
        speaker.participant_id().to_string(),
        first.participant_id().to_string(),
        second.participant_id().to_string(),
    );
    // No channel yet: the English listener may not choose one.
    refused(
        &english,
        ClientMessage::ChooseLanguage {
            language: Some("en".into()),
        },
        ErrorCode::InvalidInput,
    )
    .await;
    // Only the host assigns, and only real language pairs.
    refused(
        &english,
        host_command(HostCommand::SetInterpreter {
            participant_id: i1.clone(),
            languages: pair("zh", "en"),
        }),
        ErrorCode::NotHost,
    )
    .await;
    for (from, to) in [("zh", "zh"), ("zh", "e"), ("zh", "en_US")] {
        refused(
            &host,
            host_command(HostCommand::SetInterpreter {
                participant_id: i1.clone(),
                languages: pair(from, to),
            }),
            ErrorCode::InvalidInput,
        )
        .await;
    }

    accepted(
        &host,
        host_command(HostCommand::SetInterpreter {
            participant_id: i1.clone(),
            languages: pair("zh", "EN"),
        }),
    )
    .await;
    let interpreting = i1.clone();
    until(
        &english,
        "the English channel and its interpreter",
        move |v| {
            v.languages == ["en"] && v.participants[&interpreting].interpreter == pair("zh", "en")
        },
    )
    .await;
    accepted(
        &english,
        ClientMessage::ChooseLanguage {
            language: Some("en".into()),
        },
    )
    .await;
    // The English listener: the interpreter and the original (the speaker,
    // and the second interpreter, who is no interpreter yet).
    receiving(&english, &s, TrackKind::Audio).await;
    hears("the English listener", &english, &i1, true).await;
    hears("the English listener", &english, &s, true).await;
    hears("the English listener", &english, &i2, true).await;
    // Without a channel: the original only, nothing of the interpreter.
    hears("the listener without a channel", &plain, &s, true).await;
    hears("the listener without a channel", &plain, &i1, false).await;
    // The interpreter hears the original.
    hears("the interpreter", &first, &s, true).await;
    // The client mixes the two, the original quieter: the browser test
    // measures the levels it plays them at.

    // Replaced: the second interpreter takes the pair; at once the English
    // listener hears them and no longer the first, whose voice is original
    // again and reaches everyone.
    accepted(
        &host,
        host_command(HostCommand::SetInterpreter {
            participant_id: i1.clone(),
            languages: None,
        }),
    )
    .await;
    accepted(
        &host,
        host_command(HostCommand::SetInterpreter {
            participant_id: i2.clone(),
            languages: pair("zh", "en"),
        }),
    )
    .await;
    hears(
        "the English listener after the replacement",
        &english,
        &i2,
        true,
    )
    .await;
    hears(
        "the listener without a channel after the replacement",
        &plain,
        &i2,
        false,
    )
    .await;
    hears(
        "the listener without a channel after the replacement",
        &plain,
        &i1,
        true,
    )
    .await;
    let before = english.subscriber().connections();
    // Back to the original only.
    accepted(&english, ClientMessage::ChooseLanguage { language: None }).await;
    hears("the English listener, channel off", &english, &i2, false).await;
    hears("the English listener, channel off", &english, &s, true).await;
    assert_eq!(english.subscriber().connections(), before);
    // The interpreter leaving closes the channel.
    second.close().await;
    until(&plain, "no channel left", |v| v.languages.is_empty()).await;
    for session in [host, speaker, first, english, plain] {
        session.close().await;
    }
}

on_both_databases!(interpretation_needs_the_tenant_s_feature);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_hear_their_channel_with_the_original_sqlite() {
    listeners_hear_their_channel_with_the_original(Db::Sqlite).await
}
