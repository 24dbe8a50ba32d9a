//! Provisioning from an enterprise's directory (F-API-1) and the
//! organisation tree (F-DIR-1), on SQLite and on PostgreSQL: departments and
//! users applied by their external ids (children before parents), the same
//! request again changing nothing, an account of the enterprise linked by
//! its e-mail address, then renamed, moved and disabled (its session and
//! sign-in stop); a request with problems refused whole, listing each;
//! another enterprise sees none of it; a directory larger than the API's
//! usual body limit goes through. Then the rest of the directory: each
//! account's frequent contacts, and the enterprise's meeting devices.

use reqwest::StatusCode;
use serde_json::json;
use yunhui_client::api::ApiClient;
use yunhui_proto::api::{
    Department, ProvisionedDepartment, ProvisionedUser, ProvisioningCounts, ProvisioningRequest,
};
use yunhui_signal::SignalConfig;

use crate::support;
use support::{Db, PASSWORD, refusal};

fn department(external: &str, name: &str, parent: Option<&str>) -> ProvisionedDepartment {
    ProvisionedDepartment {
        external_id: external.into(),
        name: name.into(),
        parent_external_id: parent.map(String::from),
        disabled: false,
    }
}

fn user(external: &str, name: &str, email: &str, department: &str) -> ProvisionedUser {
    ProvisionedUser {
        external_id: external.into(),
        display_name: name.into(),
        email: Some(email.into()),
        department_external_id: Some(department.into()),
        ..ProvisionedUser::default()
    }
}

fn counts(created: u32, updated: u32, unchanged: u32) -> ProvisioningCounts {
    ProvisioningCounts {
        created,
        updated,
        unchanged,
    }
}

/// The department named `name` in `tree`.
fn named<'a>(tree: &'a [Department], name: &str) -> &'a Department {
    tree.iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no department {name} in {tree:#?}"))
}

async fn names_in(api: &ApiClient, department: &str) -> Vec<String> {
    api.department_members(department)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.display_name)
        .collect()
}

/// A server that keeps tenants (with the internal key).
async fn start(db: Db) -> support::Server {
    support::start_with(
        db,
        SignalConfig {
            internal_key: Some("provisioning-test-key".into()),
            ..SignalConfig::default()
        },
    )
    .await
}

/// ACME (registering accounts with its e-mail domain) and its administrator.
async fn acme(server: &support::Server) -> ApiClient {
    let put = reqwest::Client::new()
        .put(format!("{}/internal/v1/tenants/acme", server.base_url))
        .bearer_auth("provisioning-test-key")
        .json(&json!({"displayName": "ACME", "domains": ["acme.example"], "licence": {"concurrentPorts": 10}}))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    server.signed_in_tenant("acme", "admin@acme.example").await
}

/// A member of ACME: registered with its domain, approved by `admin`, signed in.
async fn member(server: &support::Server, admin: &ApiClient, email: &str) -> ApiClient {
    server.colleague(admin, "acme", email).await.0
}

async fn a_directory_is_applied_by_external_id_and_again_changes_nothing(db: Db) {
    let server = start(db).await;
    let admin = acme(&server).await;
    let globex = server
        .signed_in_tenant("globex", "admin@globex.example")
        .await;

    // Bob registered himself into the enterprise and was approved.
    let bob = member(&server, &admin, "bob@acme.example").await;

    let mut han = user("E300", "Han Meimei", "", "rnd");
    han.email = None;
    han.phone = Some("+86 138 0000 0003".into());
    let directory = ProvisioningRequest {
        departments: vec![
            department("sales", "Sales", Some("hq")),
            department("hq", "Head office", None),
            department("rnd", "R&D", Some("hq")),
        ],
        users: vec![
            user("E100", "Bob Brown", "Bob@Acme.example", "sales"),
            user("E200", "Li Lei", "lilei@acme.example", "rnd"),
            han,
        ],
    };
    // Only an administrator provisions.
    let (status, code, _) = refusal(bob.provision(&directory).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "not_tenant_admin")
    );

    let first = admin.provision(&directory).await.unwrap();
    assert_eq!(first.departments, counts(3, 0, 0));
    assert_eq!(first.users, counts(2, 1, 0), "Bob is linked, not created");
    let again = admin.provision(&directory).await.unwrap();
    assert_eq!(again.departments, counts(0, 0, 3));
    assert_eq!(again.users, counts(0, 0, 3));

    // The tree, as a member sees it.
    let tree = bob.departments().await.unwrap();
    assert_eq!(tree.len(), 3, "{tree:#?}");
    let hq = named(&tree, "Head office");
    let sales = named(&tree, "Sales");
    let rnd = named(&tree, "R&D");
    assert_eq!(hq.parent_id, None);
    assert_eq!(sales.parent_id.as_deref(), Some(hq.id.as_str()));
    assert_eq!(rnd.parent_id.as_deref(), Some(hq.id.as_str()));
    assert_eq!((hq.members, sales.members, rnd.members), (0, 1, 2));
    assert_eq!(names_in(&bob, &sales.id).await, ["Bob Brown"]);
    assert_eq!(names_in(&bob, &rnd.id).await, ["Han Meimei", "Li Lei"]);
    assert_eq!(bob.me().await.unwrap().department.as_deref(), Some("Sales"));
    // Provisioned accounts have no password yet: nothing signs them in.
    let (status, code, _) = refusal(server.api().login("lilei@acme.example", PASSWORD).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "wrong_credentials")
    );

    // Another enterprise sees none of it, and its own ids are its own.
    assert!(globex.departments().await.unwrap().is_empty());
    let (status, _, _) = refusal(globex.department_members(&rnd.id).await);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let theirs = globex
        .provision(&ProvisioningRequest {
            departments: vec![department("rnd", "Globex R&D", None)],
            users: vec![],
        })
        .await
        .unwrap();
    assert_eq!(theirs.departments, counts(1, 0, 0));
    assert_eq!(named(&admin.departments().await.unwrap(), "R&D").id, rnd.id);

    // A request with problems is refused whole, naming each; nothing changes.
    let mut broken = directory.clone();
    broken
        .departments
        .push(department("loop-a", "Loop A", Some("loop-b")));
    broken
        .departments
        .push(department("loop-b", "Loop B", Some("loop-a")));
    broken
        .users
        .push(user("E400", "New Person", "new@acme.example", "sales"));
    broken
        .users
        .push(user("E500", "Copy", "admin@globex.example", "sales"));
    broken
        .users
        .push(user("E600", "Nowhere", "n@acme.example", "gone"));
    let (status, code, message) = refusal(admin.provision(&broken).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_input")
    );
    assert!(message.starts_with("nothing was changed: "), "{message}");
    for names in [
        "the departments would contain each other",
        "users[4].email: \"admin@globex.example\" is another account's",
        "users[5].department_external_id: no department \"gone\"",
    ] {
        assert!(message.contains(names), "{names:?} not in {message}");
    }
    assert_eq!(
        admin.departments().await.unwrap(),
        bob.departments().await.unwrap()
    );
    assert_eq!(admin.departments().await.unwrap().len(), 3);
    assert_eq!(names_in(&admin, &sales.id).await, ["Bob Brown"]);

    // Renamed, moved, disabled.
    let mut changed = directory.clone();
    changed.departments[2].name = "Research".into();
    changed.users[0].disabled = true;
    changed.users[1].department_external_id = Some("sales".into());
    let result = admin.provision(&changed).await.unwrap();
    assert_eq!(result.departments, counts(0, 1, 2));
    assert_eq!(result.users, counts(0, 2, 1));
    let tree = admin.departments().await.unwrap();
    assert_eq!(named(&tree, "Research").id, rnd.id);
    assert_eq!(names_in(&admin, &sales.id).await, ["Li Lei"]);
    assert_eq!(names_in(&admin, &rnd.id).await, ["Han Meimei"]);
    // The search knows the new department name, and not the disabled Bob.
    let research = reqwest::Client::new()
        .get(format!("{}/api/v1/directory?q=research", server.base_url))
        .bearer_auth(admin.token().unwrap())
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(research[0]["display_name"], "Han Meimei", "{research}");
    // Bob's session has stopped, and he cannot sign in.
    let (status, code, _) = refusal(bob.me().await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    let (status, code, _) = refusal(server.api().login("bob@acme.example", PASSWORD).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "account_disabled")
    );
    // Enabled again by the next sync.
    let back = admin.provision(&directory).await.unwrap();
    assert_eq!(back.users, counts(0, 2, 1));
    server
        .api()
        .login("bob@acme.example", PASSWORD)
        .await
        .expect("Bob signs in again");

    // A whole directory larger than the API's usual 64 KiB body.
    let big = ProvisioningRequest {
        departments: vec![department("big", "Big department", None)],
        users: (0..700)
            .map(|i| {
                user(
                    &format!("BIG-{i:04}"),
                    &format!("Colleague number {i:04} of the big department"),
                    &format!("colleague-{i:04}@acme.example"),
                    "big",
                )
            })
            .collect(),
    };
    assert!(serde_json::to_vec(&big).unwrap().len() > yunhui_proto::limits::API_BODY_BYTES);
    let result = admin.provision(&big).await.unwrap();
    assert_eq!(result.users, counts(700, 0, 0));
    let result = admin.provision(&big).await.unwrap();
    assert_eq!(result.users, counts(0, 0, 700));
    assert_eq!(
        named(&admin.departments().await.unwrap(), "Big department").members,
        700
    );
}

/// Frequent contacts are one's own and of one's enterprise; meeting devices
/// are kept by administrators and read by everyone in the enterprise.
async fn frequent_contacts_and_meeting_devices(db: Db) {
    use yunhui_proto::api::DirectoryDeviceRequest;

    let server = start(db).await;
    let admin = acme(&server).await;
    let alice = member(&server, &admin, "alice@acme.example").await;
    let outsider = server
        .signed_in_tenant("globex", "gary@globex.example")
        .await;
    let alice_id = alice.me().await.unwrap().id;
    let outsider_id = outsider.me().await.unwrap().id;

    // Contacts: added twice is once; not oneself, not another enterprise's.
    assert!(admin.contacts().await.unwrap().is_empty());
    admin.add_contact(&alice_id).await.unwrap();
    admin.add_contact(&alice_id).await.unwrap();
    let contacts = admin.contacts().await.unwrap();
    assert_eq!(contacts.len(), 1, "{contacts:#?}");
    assert_eq!(contacts[0].id, alice_id);
    assert!(
        alice.contacts().await.unwrap().is_empty(),
        "each account's own"
    );
    let admin_id = admin.me().await.unwrap().id;
    let (status, _, message) = refusal(admin.add_contact(&admin_id).await);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
    let (status, code, _) = refusal(admin.add_contact(&outsider_id).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "account_not_found")
    );
    admin.remove_contact(&alice_id).await.unwrap();
    admin.remove_contact(&alice_id).await.unwrap();
    assert!(admin.contacts().await.unwrap().is_empty());

    // Devices: administrators add them, everyone in the enterprise lists them.
    let device = |name: &str, address: &str| DirectoryDeviceRequest {
        name: name.into(),
        address: address.into(),
        location: Some("3F".into()),
    };
    let boardroom = admin
        .create_device(&device("Boardroom", "boardroom@10.0.0.20"))
        .await
        .unwrap();
    assert_eq!(boardroom.address, "sip:boardroom@10.0.0.20");
    for (request, says) in [
        (device("Copy", "sip:boardroom@10.0.0.20"), "address:"),
        (device("Bad", "not an address"), "address:"),
        (device("", "room@10.0.0.21"), "name:"),
    ] {
        let (status, _, message) = refusal(admin.create_device(&request).await);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
        assert!(message.starts_with(says), "{message}");
    }
    let (status, code, _) = refusal(alice.create_device(&device("Mine", "mine@10.0.0.22")).await);
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "not_tenant_admin")
    );
    assert_eq!(
        alice.directory_devices().await.unwrap(),
        vec![boardroom.clone()]
    );
    assert!(outsider.directory_devices().await.unwrap().is_empty());
    let (status, _, _) = refusal(outsider.delete_device(&boardroom.id).await);
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another enterprise's device is not there"
    );
    admin.delete_device(&boardroom.id).await.unwrap();
    assert!(alice.directory_devices().await.unwrap().is_empty());
    let (status, _, _) = refusal(admin.delete_device(&boardroom.id).await);
    assert_eq!(status, StatusCode::NOT_FOUND);
}

on_both_databases!(
    a_directory_is_applied_by_external_id_and_again_changes_nothing,
    frequent_contacts_and_meeting_devices,
);
