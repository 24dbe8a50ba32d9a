//! The Open API on a real server: accounts, sessions, meetings (F-ACC-1,
//! F-MTG-1, F-API-2), on SQLite and on PostgreSQL.

use crate::support;

use support::Db;
use yunhui_proto::api::{CreateMeetingRequest, MeetingStatus, RegisterRequest};

async fn accounts_and_sessions(db: Db) {
    let server = support::start(db).await;
    let api = server.api();
    let req = RegisterRequest {
        email: Some("Li.Wei@Example.com".into()),
        phone: Some("+86 138-0013-8000".into()),
        password: "s3cret-enough".into(),
        display_name: "Li Wei".into(),
        tenant_id: None,
    };
    let account = api.register(&req).await.unwrap();
    assert_eq!(account.email.as_deref(), Some("li.wei@example.com"));
    assert_eq!(account.phone.as_deref(), Some("+8613800138000"));

    let dup = api.register(&req).await.unwrap_err();
    assert_eq!(dup.code(), Some("account_exists"));

    let short = api
        .register(&RegisterRequest {
            password: "short".into(),
            email: Some("x@y.z".into()),
            ..req.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(short.code(), Some("invalid_input"));
    assert!(short.to_string().contains("8 characters"), "{short}");

    let mut by_email = server.api();
    let wrong = by_email
        .login("li.wei@example.com", "nope-nope")
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Some("wrong_credentials"));
    let session = by_email
        .login("LI.WEI@example.com", "s3cret-enough")
        .await
        .unwrap();
    assert_eq!(session.account.id, account.id);
    assert_eq!(by_email.me().await.unwrap().display_name, "Li Wei");

    let mut by_phone = server.api();
    by_phone
        .login("+8613800138000", "s3cret-enough")
        .await
        .unwrap();
    assert_eq!(by_phone.me().await.unwrap().id, account.id);

    let anonymous = server.api();
    assert_eq!(
        anonymous.me().await.unwrap_err().code(),
        Some("invalid_token")
    );
    let forged = server.api().with_token("0123456789abcdef");
    assert_eq!(forged.me().await.unwrap_err().code(), Some("invalid_token"));
}

async fn instant_meetings(db: Db) {
    let server = support::start(db).await;
    let host = server.signed_in("zhang.san@example.com").await;
    let meeting = host
        .create_meeting(&CreateMeetingRequest {
            topic: None,
            password: Some("2468".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(meeting.topic, "zhang.san's meeting");
    assert!((9..=11).contains(&meeting.number.len()));
    assert!(meeting.has_password);
    assert_eq!(meeting.status, MeetingStatus::Waiting);
    assert!(
        meeting
            .join_url
            .starts_with(&format!("{}/j/{}?k=", server.base_url, meeting.number))
    );

    let preview = server.api().preview(&meeting.number).await.unwrap();
    assert_eq!(preview.topic, meeting.topic);
    assert!(preview.has_password);
    let spaced = format!(
        "{} {} {}",
        &meeting.number[..3],
        &meeting.number[3..6],
        &meeting.number[6..]
    );
    assert_eq!(
        server.api().preview(&spaced).await.unwrap().number,
        meeting.number
    );
    assert_eq!(
        server.api().preview("000000000").await.unwrap_err().code(),
        Some("meeting_not_found")
    );

    assert_eq!(
        host.meeting(&meeting.id).await.unwrap().password.as_deref(),
        Some("2468")
    );
    // Another account learns nothing about it, not even that it exists.
    let other = server.signed_in("other@example.com").await;
    assert_eq!(
        other.meeting(&meeting.id).await.unwrap_err().code(),
        Some("meeting_not_found")
    );

    let bad = host
        .create_meeting(&CreateMeetingRequest {
            topic: None,
            password: Some("1".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("invalid_input"));
    let anonymous = server
        .api()
        .create_meeting(&CreateMeetingRequest::default())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Some("invalid_token"));
}

async fn malformed_bodies_get_clear_errors(db: Db) {
    let server = support::start(db).await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/api/v1/accounts", server.base_url))
        .header("content-type", "application/json")
        .body("{\"email\": 5")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_input");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());

    let huge = "x".repeat(200 * 1024);
    let resp = http
        .post(format!("{}/api/v1/accounts", server.base_url))
        .header("content-type", "application/json")
        .body(format!("{{\"email\":\"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_input");
}

async fn expired_tokens_are_refused(db: Db) {
    let server = support::start(db).await;
    let api = server.signed_in("late@example.com").await;
    // The same account with a session that expired a second ago.
    let expired = yunhui_signal::accounts::login(
        &server.app.store,
        "late@example.com",
        support::PASSWORD.into(),
        -1,
    )
    .await
    .unwrap();
    let stale = server.api().with_token(expired.token);
    let err = stale.me().await.unwrap_err();
    assert_eq!(err.code(), Some("token_expired"));
    assert!(err.to_string().contains("sign in again"), "{err}");
    assert!(api.me().await.is_ok(), "a fresh session still works");
}

/// `POST /api/v1/sessions/refresh` with `body`: the status and the answer.
async fn post_refresh(
    server: &support::Server,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/sessions/refresh", server.base_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

/// F-ACC-1: a long-lived client exchanges its refresh token for a new
/// session (the old one ends); a refresh token works once, and presented
/// again it ends every session of its sign-in; an expired one is refused.
async fn refresh_tokens_rotate_and_a_copy_ends_the_sign_in(db: Db) {
    let server = support::start(db).await;
    let mut api = server.signed_in("long@example.com").await;
    let first = api.token().unwrap().to_owned();
    let stolen = server.api().with_token(first.clone());
    let refreshed = api.refresh().await.unwrap();
    assert_ne!(refreshed.token, first);
    assert!(refreshed.refresh_expires_at >= refreshed.expires_at);
    assert_eq!(api.me().await.unwrap().id, refreshed.account.id);
    // The refreshed session has ended.
    assert_eq!(stolen.me().await.unwrap_err().code(), Some("invalid_token"));
    // Refreshed again and again: each new pair works.
    let second = api.refresh().await.unwrap();
    assert_eq!(api.me().await.unwrap().id, second.account.id);

    // The first refresh token, presented again (a copy): refused, and the
    // sign-in's live session ends with it.
    let (status, body) = post_refresh(
        &server,
        serde_json::json!({ "refresh_token": refreshed.refresh_token }),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "refresh_token_reused");
    let err = api.me().await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_token"), "{err}");
    assert_eq!(
        api.refresh().await.unwrap_err().code(),
        Some("invalid_token"),
        "the live refresh token ended with its sign-in"
    );
    // Another sign-in of the same account is untouched.
    let mut other = server.api();
    other
        .login("long@example.com", support::PASSWORD)
        .await
        .unwrap();
    assert!(other.me().await.is_ok());

    // Unknown and malformed refresh tokens.
    let (status, body) = post_refresh(
        &server,
        serde_json::json!({ "refresh_token": "0123456789abcdef" }),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &serde_json::json!("invalid_token"))
    );
    let (status, body) = post_refresh(&server, serde_json::json!({ "token": "x" })).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &serde_json::json!("invalid_input"))
    );

    // A refresh token past its expiry.
    let late = yunhui_signal::accounts::login(
        &server.app.store,
        "long@example.com",
        support::PASSWORD.into(),
        3600,
    )
    .await
    .unwrap();
    sqlx::query("UPDATE sessions SET refresh_expires_at = $1 WHERE refresh_hash = $2")
        .bind(1_i64)
        .bind(yunhui_signal::accounts::token_hash(&late.refresh_token))
        .execute(server.app.store.pool())
        .await
        .unwrap();
    let (status, body) = post_refresh(
        &server,
        serde_json::json!({ "refresh_token": late.refresh_token }),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "token_expired");
}

async fn health_and_metrics(db: Db) {
    let server = support::start(db).await;
    for path in ["/healthz", "/readyz"] {
        let resp = reqwest::get(format!("{}{path}", server.base_url))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    assert_eq!(server.metric("yunhui_signal_rooms").await, 0.0);
    assert_eq!(server.metric("yunhui_sfu_rooms").await, 0.0);
    let about = server.api().about().await.unwrap();
    assert_eq!(
        about.protocol_version,
        yunhui_proto::signaling::PROTOCOL_VERSION
    );
    assert_eq!(about.terms_url, None);
}

/// F-ACC-6: the about endpoint carries the version and the deployment's
/// configured terms and privacy links.
async fn about_shows_configured_terms_and_privacy_links(db: Db) {
    let server = support::start_with(
        db,
        yunhui_signal::SignalConfig {
            terms_url: Some("https://intranet.example/terms".into()),
            privacy_url: Some("https://intranet.example/privacy".into()),
            ..Default::default()
        },
    )
    .await;
    let about = server.api().about().await.unwrap();
    assert_eq!(about.product, "Yunhui");
    assert_eq!(about.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        about.terms_url.as_deref(),
        Some("https://intranet.example/terms")
    );
    assert_eq!(
        about.privacy_url.as_deref(),
        Some("https://intranet.example/privacy")
    );
}

on_both_databases!(
    accounts_and_sessions,
    instant_meetings,
    malformed_bodies_get_clear_errors,
    expired_tokens_are_refused,
    refresh_tokens_rotate_and_a_copy_ends_the_sign_in,
    health_and_metrics,
    about_shows_configured_terms_and_privacy_links,
);
