//! Webhooks (F-API-1) on a real server, on SQLite and on PostgreSQL: an
//! administrator of each of two enterprises names a receiver the test runs;
//! a meeting in one enterprise is started, joined, left and so ended; its
//! receiver gets each event signed with its own secret (checked with
//! another HMAC implementation), the first one again after it was refused,
//! with the same id; the other enterprise's receiver, and a webhook that
//! asked only for recordings, get nothing. Bad URLs and event lists are
//! refused with what was wrong; one enterprise cannot see, read or delete
//! another's webhooks.

use std::time::Duration;

use reqwest::StatusCode;
use yunhui_proto::api::{DeliveryState, WebhookEvent};
use yunhui_signal::SignalConfig;

use crate::support;
use support::receiver::{Receiver, signed_with};
use support::session::join;
use support::{Db, refusal};

/// Long enough for a first attempt, its refusal and the retry 2 s later.
const DELIVERED: Duration = Duration::from_secs(20);

async fn events_reach_their_own_enterprise_signed_and_retried(db: Db) {
    let server = support::start_with(
        db,
        SignalConfig {
            internal_key: Some("webhooks-test-key".into()),
            ..SignalConfig::default()
        },
    )
    .await;
    let acme = server.signed_in_tenant("acme", "admin@acme.example").await;
    let globex = server
        .signed_in_tenant("globex", "admin@globex.example")
        .await;
    let receiver = Receiver::start().await;

    // Bad input, each refused with what was wrong; nothing is stored.
    for (url, events, says) in [
        (
            "ftp://hooks.example/",
            vec![WebhookEvent::MeetingStarted],
            "url:",
        ),
        ("not a url", vec![WebhookEvent::MeetingStarted], "url:"),
        (receiver.url("acme").as_str(), vec![], "events:"),
    ] {
        let (status, code, message) = refusal(acme.create_webhook(url, &events).await);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {message}");
        assert_eq!(code, "invalid_input");
        assert!(message.starts_with(says), "{url}: {message}");
    }
    assert!(acme.webhooks().await.unwrap().is_empty());

    let hook = acme
        .create_webhook(&receiver.url("acme"), &WebhookEvent::ALL)
        .await
        .unwrap();
    assert!(hook.secret.starts_with("whsec_"), "{}", hook.secret);
    let recordings_only = acme
        .create_webhook(
            &receiver.url("acme-recordings"),
            &[WebhookEvent::RecordingReady],
        )
        .await
        .unwrap();
    let other = globex
        .create_webhook(&receiver.url("globex"), &WebhookEvent::ALL)
        .await
        .unwrap();
    let mut listed = acme.webhooks().await.unwrap();
    listed.sort_by(|a, b| a.url.cmp(&b.url));
    assert_eq!(
        listed,
        vec![hook.webhook.clone(), recordings_only.webhook.clone()]
    );
    assert_eq!(
        globex.webhooks().await.unwrap(),
        vec![other.webhook.clone()]
    );
    // Another enterprise's webhook is not there for globex.
    for call in [
        refusal(globex.webhook_deliveries(&hook.webhook.id).await),
        refusal(globex.delete_webhook(&hook.webhook.id).await),
    ] {
        assert_eq!(call.0, StatusCode::NOT_FOUND, "{}", call.2);
    }

    // The first request to acme's receiver is refused: it comes again.
    receiver.refuse("acme", 1);
    let meeting = acme
        .create_meeting(&Default::default())
        .await
        .expect("create meeting");
    let host = join(&server, &meeting, "Host", acme.token()).await;
    let host_id = host.participant_id();
    host.leave().await;

    let events = [
        "meeting.started",
        "participant.joined",
        "participant.left",
        "meeting.ended",
    ];
    let got = receiver.wait_for("acme", &events, DELIVERED).await;
    // Each accepted once, each signed with acme's secret and not globex's.
    let accepted: Vec<_> = got.iter().filter(|r| r.status == 200).collect();
    assert_eq!(accepted.len(), 4, "{got:#?}");
    for received in &got {
        assert!(signed_with(received, &hook.secret), "{received:#?}");
        assert!(!signed_with(received, &other.secret), "{received:#?}");
        assert_eq!(received.json()["data"]["meeting_id"], meeting.id.as_str());
    }
    // The refused one came again with the same id and body.
    let first = got.iter().find(|r| r.status == 500).expect("a refusal");
    let again: Vec<_> = got.iter().filter(|r| r.id == first.id).collect();
    assert_eq!(again.len(), 2, "{again:#?}");
    assert_eq!(again[1].status, 200);
    assert_eq!(again[0].body, again[1].body);
    let by_event = |event: &str| {
        accepted
            .iter()
            .find(|r| r.event() == event)
            .unwrap_or_else(|| panic!("no {event}"))
            .json()
    };
    let joined = by_event("participant.joined");
    assert_eq!(joined["data"]["participant_id"], host_id.as_str());
    assert_eq!(joined["data"]["display_name"], "Host");
    assert_eq!(joined["data"]["role"], "host");
    assert!(joined["data"]["account_id"].is_string(), "{joined}");
    assert_eq!(by_event("meeting.ended")["data"]["reason"], "emptied");
    assert_eq!(
        by_event("meeting.started")["data"]["meeting_number"],
        meeting.number.as_str()
    );

    // The deliveries as the administrator sees them.
    let deliveries = acme.webhook_deliveries(&hook.webhook.id).await.unwrap();
    assert_eq!(deliveries.len(), 4, "{deliveries:#?}");
    assert!(
        deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Delivered && d.last_status == Some(200))
    );
    let retried = deliveries
        .iter()
        .find(|d| d.id == first.id)
        .expect("the refused delivery is listed");
    assert_eq!(retried.attempts, 2);
    assert_eq!(
        deliveries.iter().map(|d| d.attempts).sum::<u32>(),
        5,
        "{deliveries:#?}"
    );

    // Nothing crossed to globex, nor to the webhook that asked for
    // recordings only (given time for a stray delivery to show).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        receiver.got("globex").is_empty(),
        "{:#?}",
        receiver.got("globex")
    );
    assert!(receiver.got("acme-recordings").is_empty());
    assert!(
        globex
            .webhook_deliveries(&other.webhook.id)
            .await
            .unwrap()
            .is_empty()
    );

    // A deleted webhook is gone, with its deliveries, and hears nothing more.
    acme.delete_webhook(&hook.webhook.id).await.unwrap();
    assert_eq!(
        refusal(acme.webhook_deliveries(&hook.webhook.id).await).0,
        StatusCode::NOT_FOUND
    );
    let host = join(&server, &meeting, "Host", acme.token()).await;
    host.leave().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.got("acme").len(), got.len(), "sent after deletion");
}

on_both_databases!(events_reach_their_own_enterprise_signed_and_retried);
