//! What the management console does, through the SDK a console or an
//! integration uses, on SQLite and on PostgreSQL: accounts approved,
//! promoted, disabled (sign-in and session stop) and enabled again;
//! departments kept in the console (created, renamed, moved but never under
//! themselves, deleted only when empty; provisioned ones left to the
//! enterprise's directory); a cloud room's members set by an administrator;
//! the licence's use rising and falling with a meeting, its peak kept; the
//! recording and streaming policy chosen within the licence, kept when the
//! operator syncs the tenant again, and obeyed by meetings; and the audit
//! log of all of it, newest first, in pages, naming the API key used, seen
//! by its own tenant's administrators only.

use reqwest::StatusCode;
use serde_json::json;
use yunhui_client::api::ApiClient;
use yunhui_proto::api::{
    AccountRole, AccountStatus, ApiScope, AuditAction, AuditEntry, DepartmentRequest,
    DirectoryDeviceRequest, LicenceTerms, MediaPolicy, MediaPolicyRequest, ProvisionedDepartment,
    ProvisioningRequest, RegisterRequest,
};
use yunhui_proto::schedule::CloudRoomRequest;
use yunhui_proto::signaling::{ErrorCode, HostCommand};
use yunhui_signal::SignalConfig;

use crate::support;
use support::session::join;
use support::{Db, PASSWORD, refusal};

const KEY: &str = "console-test-key";

async fn start(db: Db) -> support::Server {
    support::start_with(
        db,
        SignalConfig {
            internal_key: Some(KEY.into()),
            ..SignalConfig::default()
        },
    )
    .await
}

/// `tenant` (registering accounts with `<tenant>.example`), with `licence`,
/// and its first administrator, signed in.
async fn enterprise(
    server: &support::Server,
    tenant: &str,
    licence: serde_json::Value,
) -> ApiClient {
    sync_tenant(server, tenant, json!({"licence": licence})).await;
    server
        .signed_in_tenant(tenant, &format!("admin@{tenant}.example"))
        .await
}

/// Stores `tenant` as the operator does, with `fields` of the Tenant
/// besides its name and domains.
async fn sync_tenant(server: &support::Server, tenant: &str, fields: serde_json::Value) {
    let mut body = json!({"displayName": tenant, "domains": [format!("{tenant}.example")]});
    body.as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    let put = reqwest::Client::new()
        .put(format!("{}/internal/v1/tenants/{tenant}", server.base_url))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
}

/// Registers `email` into `tenant`: pending until an administrator decides.
async fn register(server: &support::Server, tenant: &str, email: &str) -> String {
    server
        .api()
        .register(&RegisterRequest {
            email: Some(email.into()),
            phone: None,
            password: PASSWORD.into(),
            display_name: email.split('@').next().unwrap().into(),
            tenant_id: Some(tenant.into()),
        })
        .await
        .unwrap()
        .id
}

async fn signed_in(server: &support::Server, email: &str) -> ApiClient {
    let mut api = server.api();
    api.login(email, PASSWORD).await.unwrap();
    api
}

/// An API key of `admin` with `scopes`: its id, and a client using it.
async fn api_key(
    server: &support::Server,
    admin: &ApiClient,
    scopes: &[ApiScope],
) -> (String, ApiClient) {
    let created = admin
        .create_api_key("directory sync", scopes)
        .await
        .unwrap();
    (created.api_key.id, server.api().with_token(created.key))
}

fn department(name: &str, parent: Option<&str>) -> DepartmentRequest {
    DepartmentRequest {
        name: name.into(),
        parent_id: parent.map(String::from),
    }
}

/// The whole log, newest first, read in pages of two.
async fn whole_log(admin: &ApiClient) -> Vec<AuditEntry> {
    let mut all: Vec<AuditEntry> = Vec::new();
    loop {
        let before = all.last().map(|e| e.id.clone());
        let page = admin.audit_log(before.as_deref(), Some(2)).await.unwrap();
        assert!(page.len() <= 2, "{page:#?}");
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

async fn accounts_and_departments_are_kept_and_every_change_is_audited(db: Db) {
    let server = start(db).await;
    let admin = enterprise(&server, "acme", json!({"concurrentPorts": 10})).await;
    let globex = enterprise(&server, "globex", json!({})).await;

    // A registration waits; the administrator approves it and promotes it.
    let bob_id = register(&server, "acme", "bob@acme.example").await;
    let pending = admin
        .admin_accounts(Some(AccountStatus::Pending))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "{pending:#?}");
    let approved = admin.decide_registration(&bob_id, true).await.unwrap();
    assert_eq!(approved.status, AccountStatus::Active);
    let bob = signed_in(&server, "bob@acme.example").await;
    let (status, code, _) = refusal(bob.audit_log(None, None).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "not_tenant_admin")
    );
    admin
        .set_role(&bob_id, AccountRole::TenantAdmin)
        .await
        .unwrap();
    admin.set_role(&bob_id, AccountRole::Member).await.unwrap();

    // Disabled: the session stops, and so does signing in; enabled again.
    let disabled = admin.set_account_disabled(&bob_id, true).await.unwrap();
    assert_eq!(disabled.status, AccountStatus::Disabled);
    let (status, _, _) = refusal(bob.me().await);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, code, _) = refusal(server.api().login("bob@acme.example", PASSWORD).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "account_disabled")
    );
    admin.set_account_disabled(&bob_id, false).await.unwrap();
    signed_in(&server, "bob@acme.example")
        .await
        .me()
        .await
        .unwrap();
    // Nobody disables themselves, nor an account of another enterprise.
    let me = admin.me().await.unwrap();
    let (status, _, message) = refusal(admin.set_account_disabled(&me.id, true).await);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
    let (status, _, _) = refusal(globex.set_account_disabled(&bob_id, true).await);
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A pending account is decided, not disabled.
    let carol_id = register(&server, "acme", "carol@acme.example").await;
    let (status, _, message) = refusal(admin.set_account_disabled(&carol_id, true).await);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
    admin.decide_registration(&carol_id, false).await.unwrap();

    // Departments: a tree kept in the console.
    let hq = admin
        .create_department(&department(" Head office ", None))
        .await
        .unwrap();
    assert_eq!(hq.name, "Head office");
    let sales = admin
        .create_department(&department("Sales", Some(&hq.id)))
        .await
        .unwrap();
    let renamed = admin
        .change_department(&sales.id, &department("Sales & Marketing", Some(&hq.id)))
        .await
        .unwrap();
    assert_eq!(renamed.name, "Sales & Marketing");
    let tree = bob.departments().await.unwrap();
    assert_eq!(tree.len(), 2, "{tree:#?}");
    assert!(
        tree.iter().any(
            |d| d.name == "Sales & Marketing" && d.parent_id.as_deref() == Some(hq.id.as_str())
        )
    );
    for bad in [
        department("Head office", Some(&sales.id)),
        department("Head office", Some(&hq.id)),
        department("Head office", Some("no-such-department")),
        department("  ", None),
        department(&"x".repeat(129), None),
    ] {
        let (status, _, message) = refusal(admin.change_department(&hq.id, &bad).await);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {message}");
    }
    let (status, code, message) = refusal(admin.delete_department(&hq.id).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "department_in_use"),
        "{message}"
    );
    let (status, _, _) = refusal(globex.delete_department(&sales.id).await);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, code, _) = refusal(bob.create_department(&department("Mine", None)).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "not_tenant_admin")
    );
    admin.delete_department(&sales.id).await.unwrap();
    assert_eq!(admin.departments().await.unwrap().len(), 1);
    // One from the enterprise's directory is changed there.
    admin
        .provision(&ProvisioningRequest {
            departments: vec![ProvisionedDepartment {
                external_id: "rnd".into(),
                name: "R&D".into(),
                ..ProvisionedDepartment::default()
            }],
            users: vec![],
        })
        .await
        .unwrap();
    let rnd = admin
        .departments()
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.name == "R&D")
        .unwrap();
    let (status, code, _) = refusal(admin.delete_department(&rnd.id).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "department_in_use")
    );

    // A device, and an account disabled through an API key.
    let device = admin
        .create_device(&DirectoryDeviceRequest {
            name: "Boardroom".into(),
            address: "sip:boardroom@10.0.0.20".into(),
            location: None,
        })
        .await
        .unwrap();
    admin.delete_device(&device.id).await.unwrap();
    let (key_id, integration) = api_key(&server, &admin, &[ApiScope::AccountsManage]).await;
    integration
        .set_account_disabled(&bob_id, true)
        .await
        .unwrap();
    let (status, code, _) = refusal(integration.audit_log(None, None).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );

    // The log, newest first, as two pages of two and more.
    let log = whole_log(&admin).await;
    let actions: Vec<AuditAction> = log.iter().map(|e| e.action).collect();
    use AuditAction::*;
    assert_eq!(
        actions,
        [
            AccountDisabled,
            ApiKeyCreated,
            DeviceDeleted,
            DeviceCreated,
            DirectoryProvisioned,
            DepartmentDeleted,
            DepartmentChanged,
            DepartmentCreated,
            DepartmentCreated,
            AccountRejected,
            AccountEnabled,
            AccountDisabled,
            AccountRoleChanged,
            AccountRoleChanged,
            AccountApproved,
        ]
    );
    let mut ids: Vec<&str> = log.iter().map(|e| e.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), log.len(), "pages do not overlap");
    let newest = &log[0];
    assert_eq!(newest.api_key_id.as_deref(), Some(key_id.as_str()));
    assert_eq!(newest.actor_account_id, me.id);
    assert_eq!(newest.target_id, bob_id);
    assert!(newest.detail.contains("bob@acme.example"), "{newest:#?}");
    assert!(log[1..].iter().all(|e| e.api_key_id.is_none()));
    let moved = log.iter().find(|e| e.action == DepartmentChanged).unwrap();
    assert_eq!(moved.detail, "Head office / Sales & Marketing");
    let role = log.iter().find(|e| e.action == AccountRoleChanged).unwrap();
    assert!(role.detail.ends_with(": member"), "{role:#?}");
    assert!(log.windows(2).all(|w| w[0].at >= w[1].at));
    // Another enterprise's log holds none of it; a page must have 1 to 200.
    assert!(globex.audit_log(None, None).await.unwrap().is_empty());
    for limit in [0, 201] {
        let (status, _, message) = refusal(admin.audit_log(None, Some(limit)).await);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
    }
}

async fn an_administrator_sets_a_cloud_rooms_members(db: Db) {
    let server = start(db).await;
    let admin = enterprise(&server, "acme", json!({})).await;
    let globex = enterprise(&server, "globex", json!({})).await;
    let (alice, alice_id) = server.colleague(&admin, "acme", "alice@acme.example").await;
    let (bob, bob_id) = server.colleague(&admin, "acme", "bob@acme.example").await;
    let room = alice
        .create_cloud_room(&CloudRoomRequest {
            name: Some("Alice's room".into()),
            ..CloudRoomRequest::default()
        })
        .await
        .unwrap();
    let room_id = room.meeting.id.clone();
    assert!(bob.cloud_rooms().await.unwrap().is_empty());

    // The owner, named among the members, is left out.
    let set = admin
        .set_cloud_room_members(&room_id, &[bob_id.clone(), alice_id.clone()])
        .await
        .unwrap();
    let members: Vec<&str> = set.members.iter().map(|m| m.account_id.as_str()).collect();
    assert_eq!(members, [bob_id.as_str()]);
    assert_eq!(set.owner_account_id, alice_id);
    let listed = admin.admin_cloud_rooms().await.unwrap();
    assert_eq!(listed, vec![set.clone()]);
    let bobs = bob.cloud_rooms().await.unwrap();
    assert_eq!(bobs.len(), 1, "Bob may use the room now");

    for (who, status) in [
        (&globex, StatusCode::NOT_FOUND),
        (&bob, StatusCode::FORBIDDEN),
    ] {
        let (got, _, message) = refusal(who.set_cloud_room_members(&room_id, &[]).await);
        assert_eq!(got, status, "{message}");
    }
    let (status, _, message) = refusal(
        admin
            .set_cloud_room_members(&room_id, &["no-such-account".into()])
            .await,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
    assert_eq!(admin.admin_cloud_rooms().await.unwrap(), vec![set]);

    let cleared = admin.set_cloud_room_members(&room_id, &[]).await.unwrap();
    assert!(cleared.members.is_empty());
    assert!(bob.cloud_rooms().await.unwrap().is_empty());
    let log = admin.audit_log(None, Some(2)).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.action).collect::<Vec<_>>(),
        [
            AuditAction::CloudRoomMembersChanged,
            AuditAction::CloudRoomMembersChanged
        ]
    );
    assert!(log[0].detail.ends_with(": no members"), "{:#?}", log[0]);
    assert!(log[1].detail.ends_with(": bob"), "{:#?}", log[1]);

    // Two rooms with members each: the list has each as setting it answered.
    let bobs_room = bob
        .create_cloud_room(&CloudRoomRequest {
            name: Some("Bob's room".into()),
            ..CloudRoomRequest::default()
        })
        .await
        .unwrap();
    let first = admin
        .set_cloud_room_members(&room_id, std::slice::from_ref(&bob_id))
        .await
        .unwrap();
    let second = admin
        .set_cloud_room_members(&bobs_room.meeting.id, std::slice::from_ref(&alice_id))
        .await
        .unwrap();
    assert_eq!(
        admin.admin_cloud_rooms().await.unwrap(),
        vec![first, second]
    );
}

async fn licence_use_follows_the_meetings(db: Db) {
    let server = start(db).await;
    let admin = enterprise(&server, "acme", json!({"concurrentPorts": 10})).await;
    let globex = enterprise(
        &server,
        "globex",
        json!({"cloudRooms": {"count": 2, "capacity": 5}}),
    )
    .await;
    let idle = admin.licence_use().await.unwrap();
    assert_eq!(idle.terms, LicenceTerms::ConcurrentPorts { ports: 10 });
    assert_eq!((idle.participants, idle.meetings), (0, 0));
    assert_eq!(
        (idle.peak_participants, idle.peak_participants_at),
        (0, None)
    );
    assert_eq!(
        globex.licence_use().await.unwrap().terms,
        LicenceTerms::CloudRooms {
            rooms: 2,
            capacity: 5
        }
    );

    let meeting = admin.create_meeting(&Default::default()).await.unwrap();
    let host = join(&server, &meeting, "Host", admin.token()).await;
    let guest = join(&server, &meeting, "Guest", None).await;
    let busy = wait_for(&admin, |u| u.participants == 2).await;
    assert_eq!(busy.meetings, 1);
    assert_eq!(busy.peak_participants, 2);
    assert_eq!(busy.peak_meetings, 1);
    assert!(busy.peak_participants_at.is_some());
    // Another enterprise's meeting is not this one's use.
    let theirs = globex.licence_use().await.unwrap();
    assert_eq!((theirs.participants, theirs.meetings), (0, 0));

    guest.leave().await;
    wait_for(&admin, |u| u.participants == 1).await;
    host.leave().await;
    let after = wait_for(&admin, |u| u.participants == 0 && u.meetings == 0).await;
    assert_eq!(after.peak_participants, 2, "the peak stays");
    let (then, kept) = (
        busy.peak_participants_at.unwrap(),
        after.peak_participants_at.unwrap(),
    );
    assert!((kept - then).abs() <= 1, "peak at {then}, kept as {kept}");

    let (status, code, _) = refusal(
        api_key(&server, &admin, &[ApiScope::MeetingsRead])
            .await
            .1
            .licence_use()
            .await,
    );
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    let (_, reader) = api_key(&server, &admin, &[ApiScope::AuditRead]).await;
    assert_eq!(reader.licence_use().await.unwrap().peak_participants, 2);
}

async fn recording_and_streaming_are_chosen_within_the_licence(db: Db) {
    let server = start(db).await;
    let licensed = json!({
        "licence": {},
        "features": {"recording": true, "streaming": true},
        "recordingRetentionDays": 30,
    });
    sync_tenant(&server, "acme", licensed.clone()).await;
    let admin = server.signed_in_tenant("acme", "admin@acme.example").await;
    let globex = enterprise(&server, "globex", json!({})).await;
    assert_eq!(
        admin.media_policy().await.unwrap(),
        MediaPolicy {
            recording_licensed: true,
            recording: true,
            streaming_licensed: true,
            streaming: true,
            max_retention_days: Some(30),
            retention_days: None,
            effective_retention_days: Some(30),
        }
    );
    let policy = |recording, streaming, retention_days| MediaPolicyRequest {
        recording,
        streaming,
        retention_days,
    };

    // Recording off, recordings kept a week.
    let chosen = admin
        .set_media_policy(&policy(false, true, Some(7)))
        .await
        .unwrap();
    assert!(!chosen.recording && chosen.recording_licensed && chosen.streaming);
    assert_eq!(
        (chosen.retention_days, chosen.effective_retention_days),
        (Some(7), Some(7))
    );
    let log = admin.audit_log(None, None).await.unwrap();
    assert_eq!(log[0].action, AuditAction::MediaPolicyChanged);
    assert_eq!(
        log[0].detail,
        "recording off, live streaming on, retention 7 days"
    );
    // The same again changes nothing, and writes nothing.
    admin
        .set_media_policy(&policy(false, true, Some(7)))
        .await
        .unwrap();
    assert_eq!(admin.audit_log(None, None).await.unwrap().len(), log.len());
    // The operator syncing the tenant again leaves the administrator's choice.
    sync_tenant(&server, "acme", licensed).await;
    assert_eq!(admin.media_policy().await.unwrap(), chosen);

    // A host of the enterprise may not record now.
    let meeting = admin.create_meeting(&Default::default()).await.unwrap();
    let host = join(&server, &meeting, "Host", admin.token()).await;
    let refused = support::recorder::host_command(&host, HostCommand::StartRecording).await;
    let (code, message) = refused.expect("recording refused");
    assert_eq!(code, ErrorCode::NotAllowed, "{message}");
    assert!(message.contains("switched it off"), "{message}");

    // Outside the licence, or not an administrator: refused, nothing changed.
    for (who, request, status, text) in [
        (
            &admin,
            policy(true, true, Some(31)),
            StatusCode::BAD_REQUEST,
            "1 to 30",
        ),
        (
            &admin,
            policy(true, true, Some(0)),
            StatusCode::BAD_REQUEST,
            "1 to 30",
        ),
        (
            &globex,
            policy(false, true, None),
            StatusCode::BAD_REQUEST,
            "live streaming",
        ),
        (
            &globex,
            policy(true, false, None),
            StatusCode::BAD_REQUEST,
            "cloud recording",
        ),
    ] {
        let (got, _, message) = refusal(who.set_media_policy(&request).await);
        assert_eq!(got, status, "{message}");
        assert!(message.contains(text), "{message}");
    }
    let (colleague, _) = server.colleague(&admin, "acme", "carol@acme.example").await;
    let (got, code, _) = refusal(colleague.set_media_policy(&policy(true, true, None)).await);
    assert_eq!(
        (got, code.as_str()),
        (StatusCode::FORBIDDEN, "not_tenant_admin")
    );
    assert_eq!(admin.media_policy().await.unwrap(), chosen);
    assert!(!globex.media_policy().await.unwrap().recording_licensed);

    // A key that reads meetings reads the policy; changing it needs meetings_manage.
    let (_, reader) = api_key(&server, &admin, &[ApiScope::MeetingsRead]).await;
    assert_eq!(reader.media_policy().await.unwrap(), chosen);
    let (got, code, _) = refusal(reader.set_media_policy(&policy(true, true, None)).await);
    assert_eq!(
        (got, code.as_str()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );

    // Back on: the host's start is no longer refused by the policy (this
    // deployment runs no recorder, which is the refusal now).
    let back = admin
        .set_media_policy(&policy(true, true, None))
        .await
        .unwrap();
    assert_eq!(
        (back.recording, back.effective_retention_days),
        (true, Some(30))
    );
    let (code, message) = support::recorder::host_command(&host, HostCommand::StartRecording)
        .await
        .expect("no recorder");
    assert_eq!(code, ErrorCode::Unavailable, "{message}");
    host.close().await;
}

/// The licence's use once `ready` says so (counts are written just after
/// they change).
async fn wait_for(
    admin: &ApiClient,
    ready: impl Fn(&yunhui_proto::api::LicenceUse) -> bool,
) -> yunhui_proto::api::LicenceUse {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = admin.licence_use().await.unwrap();
        if ready(&now) {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the licence's use stayed {now:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

on_both_databases!(
    accounts_and_departments_are_kept_and_every_change_is_audited,
    an_administrator_sets_a_cloud_rooms_members,
    licence_use_follows_the_meetings,
    recording_and_streaming_are_chosen_within_the_licence,
);
