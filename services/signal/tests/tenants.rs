//! Tenants and accounts over the real HTTP API, on SQLite and PostgreSQL:
//! self-registration found by company domain and pending until a tenant
//! administrator approves it (F-ACC-2), profiles (F-ACC-3), tenant
//! isolation on every endpoint (F-ACC-4), per-tenant API keys (F-API-1).

use crate::support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Db, Server};
use yunhui_signal::SignalConfig;

const KEY: &str = "internal-test-key";
const PASSWORD: &str = "correct horse battery";

struct Http<'a> {
    server: &'a Server,
    token: Option<String>,
}

impl Http<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req =
            reqwest::Client::new().request(method, format!("{}{path}", self.server.base_url));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method.clone(), path, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {value}");
        value
    }
}

fn anonymous(server: &Server) -> Http<'_> {
    Http {
        server,
        token: None,
    }
}

async fn signed_in<'a>(server: &'a Server, login: &str, password: &str) -> Http<'a> {
    let session = anonymous(server)
        .ok(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({"login": login, "password": password})),
        )
        .await;
    Http {
        server,
        token: Some(session["token"].as_str().unwrap().to_string()),
    }
}

/// A company tenant with an administrator; returns the admin's client.
async fn company<'a>(server: &'a Server, id: &str, domain: &str) -> Http<'a> {
    let internal = Http {
        server,
        token: Some(KEY.into()),
    };
    internal
        .ok(Method::PUT, &format!("/internal/v1/tenants/{id}"), Some(json!({"displayName": id.to_uppercase(), "domains": [domain], "licence": {"concurrentPorts": 50}})))
        .await;
    let admin_login = format!("admin@{domain}");
    let created = internal
        .ok(
            Method::POST,
            &format!("/internal/v1/tenants/{id}/admins"),
            Some(json!({"email": admin_login, "displayName": "Admin"})),
        )
        .await;
    signed_in(server, &admin_login, created["password"].as_str().unwrap()).await
}

async fn register(server: &Server, email: &str, tenant_id: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"email": email, "password": PASSWORD, "display_name": email.split('@').next().unwrap()});
    if let Some(t) = tenant_id {
        body["tenant_id"] = json!(t);
    }
    anonymous(server)
        .call(Method::POST, "/api/v1/accounts", Some(body))
        .await
}

async fn start(db: Db) -> Server {
    support::start_with(
        db,
        SignalConfig {
            internal_key: Some(KEY.into()),
            ..SignalConfig::default()
        },
    )
    .await
}

async fn registration_by_company_domain_waits_for_approval(db: Db) {
    let server = start(db).await;
    let admin = company(&server, "acme", "acme.example").await;
    let lookup = anonymous(&server)
        .ok(Method::GET, "/api/v1/tenants/by-domain/ACME.example", None)
        .await;
    assert_eq!(lookup, json!({"tenant_id": "acme", "name": "ACME"}));
    let (status, body) = anonymous(&server)
        .call(
            Method::GET,
            "/api/v1/tenants/by-domain/nowhere.example",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "tenant_not_found");

    // The e-mail domain decides the company; the account waits.
    let (status, bob) = register(&server, "bob@acme.example", None).await;
    assert_eq!(status, StatusCode::CREATED, "{bob}");
    assert_eq!(bob["tenant_id"], "acme");
    assert_eq!(bob["status"], "pending");
    let (status, body) = anonymous(&server)
        .call(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({"login": "bob@acme.example", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "account_pending");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("approval")
    );
    // A wrong password says nothing about the pending state.
    let (status, body) = anonymous(&server)
        .call(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({"login": "bob@acme.example", "password": "wrong password"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "wrong_credentials");
    // Choosing a company needs an address in its domains; nothing is written.
    let (status, body) = register(&server, "eve@evil.example", Some("acme")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = register(&server, "eve@evil.example", None).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the refused attempt left no account behind"
    );

    // The administrator sees the pending registration and approves it.
    let pending = admin
        .ok(Method::GET, "/api/v1/admin/accounts?status=pending", None)
        .await;
    let pending: Vec<&str> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap())
        .collect();
    assert_eq!(pending, ["bob@acme.example"]);
    let id = bob["id"].as_str().unwrap();
    let approved = admin
        .ok(
            Method::POST,
            &format!("/api/v1/admin/accounts/{id}/approval"),
            Some(json!({"approve": true})),
        )
        .await;
    assert_eq!(approved["status"], "active");
    let bob = signed_in(&server, "bob@acme.example", PASSWORD).await;
    // Approving twice is an error, not a silent success.
    let (status, _) = admin
        .call(
            Method::POST,
            &format!("/api/v1/admin/accounts/{id}/approval"),
            Some(json!({"approve": true})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A rejected registration cannot sign in.
    let (_, carol) = register(&server, "carol@acme.example", None).await;
    let carol_id = carol["id"].as_str().unwrap();
    admin
        .ok(
            Method::POST,
            &format!("/api/v1/admin/accounts/{carol_id}/approval"),
            Some(json!({"approve": false})),
        )
        .await;
    let (status, body) = anonymous(&server)
        .call(
            Method::POST,
            "/api/v1/sessions",
            Some(json!({"login": "carol@acme.example", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "account_rejected");

    // Members are not administrators.
    for (method, path, body) in [
        (Method::GET, "/api/v1/admin/accounts".to_string(), None),
        (
            Method::POST,
            format!("/api/v1/admin/accounts/{carol_id}/approval"),
            Some(json!({"approve": true})),
        ),
        (
            Method::PUT,
            format!("/api/v1/admin/accounts/{carol_id}/role"),
            Some(json!({"role": "tenant_admin"})),
        ),
        (
            Method::POST,
            "/api/v1/admin/api-keys".to_string(),
            Some(json!({"name": "x", "scopes": ["profile"]})),
        ),
        (Method::GET, "/api/v1/admin/api-keys".to_string(), None),
        (
            Method::POST,
            "/api/v1/admin/webhooks".to_string(),
            Some(json!({"url": "http://127.0.0.1:9/", "events": ["meeting.started"]})),
        ),
        (Method::GET, "/api/v1/admin/webhooks".to_string(), None),
    ] {
        let (status, body) = bob.call(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "not_tenant_admin");
    }

    // Profiles: department, tenant name, console link for administrators only.
    let me = bob
        .ok(
            Method::PATCH,
            "/api/v1/me",
            Some(json!({"department": "  Sales  "})),
        )
        .await;
    assert_eq!(me["department"], "Sales");
    let profile = bob.ok(Method::GET, "/api/v1/me/profile", None).await;
    assert_eq!(profile["tenant_name"], "ACME");
    assert_eq!(profile["account"]["department"], "Sales");
    assert!(profile.get("console_url").is_none());
    let profile = admin.ok(Method::GET, "/api/v1/me/profile", None).await;
    assert!(
        profile["console_url"]
            .as_str()
            .unwrap()
            .ends_with("/console")
    );
    let (status, _) = bob
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(json!({"display_name": ""})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The last administrator cannot step down; with a second one they can.
    let admin_id = admin.ok(Method::GET, "/api/v1/me", None).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = admin
        .call(
            Method::PUT,
            &format!("/api/v1/admin/accounts/{admin_id}/role"),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let bob_id = bob.ok(Method::GET, "/api/v1/me", None).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    admin
        .ok(
            Method::PUT,
            &format!("/api/v1/admin/accounts/{bob_id}/role"),
            Some(json!({"role": "tenant_admin"})),
        )
        .await;
    bob.ok(Method::GET, "/api/v1/admin/accounts", None).await;
}

async fn tenants_are_isolated_on_every_endpoint(db: Db) {
    let server = start(db).await;
    let acme = company(&server, "acme", "acme.example").await;
    let globex = company(&server, "globex", "globex.example").await;
    let acme_meeting = acme
        .ok(
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"password": "1357"})),
        )
        .await;
    let acme_key = acme
        .ok(
            Method::POST,
            "/api/v1/admin/api-keys",
            Some(json!({"name": "crm", "scopes": yunhui_proto::api::ApiScope::ALL})),
        )
        .await;
    let (_, acme_member) = register(&server, "dan@acme.example", None).await;
    let acme_admin_id = acme.ok(Method::GET, "/api/v1/me", None).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Every attempt from the other tenant gets exactly what a made-up id gets.
    let made_up = "00000000-0000-0000-0000-000000000000";
    let cases = [
        (
            Method::GET,
            "/api/v1/meetings/{}",
            acme_meeting["id"].as_str().unwrap().to_string(),
            None,
        ),
        (
            Method::POST,
            "/api/v1/admin/accounts/{}/approval",
            acme_member["id"].as_str().unwrap().to_string(),
            Some(json!({"approve": true})),
        ),
        (
            Method::PUT,
            "/api/v1/admin/accounts/{}/role",
            acme_admin_id.clone(),
            Some(json!({"role": "member"})),
        ),
        (
            Method::DELETE,
            "/api/v1/admin/api-keys/{}",
            acme_key["api_key"]["id"].as_str().unwrap().to_string(),
            None,
        ),
    ];
    for (method, template, real, body) in cases {
        let (status, answer) = globex
            .call(method.clone(), &template.replace("{}", &real), body.clone())
            .await;
        let (made_status, made_answer) = globex
            .call(method.clone(), &template.replace("{}", made_up), body)
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} {template}: {answer}"
        );
        assert_eq!(status, made_status);
        assert_eq!(
            answer["error"]["code"], made_answer["error"]["code"],
            "{method} {template}: the answer tells a real id from a made-up one"
        );
    }
    // Lists show only one's own tenant.
    let accounts = globex.ok(Method::GET, "/api/v1/admin/accounts", None).await;
    assert!(
        accounts
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["tenant_id"] == "globex"),
        "{accounts}"
    );
    assert!(
        globex
            .ok(Method::GET, "/api/v1/admin/api-keys", None)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        globex
            .ok(Method::GET, "/api/v1/meetings", None)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Nothing changed in acme.
    let pending = acme
        .ok(Method::GET, "/api/v1/admin/accounts?status=pending", None)
        .await;
    assert_eq!(pending.as_array().unwrap().len(), 1);
    assert_eq!(
        acme.ok(Method::GET, "/api/v1/admin/api-keys", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // An acme key acts in acme only.
    let key_client = Http {
        server: &server,
        token: Some(acme_key["key"].as_str().unwrap().to_string()),
    };
    let (status, _) = key_client
        .call(
            Method::GET,
            &format!("/api/v1/meetings/{}", acme_meeting["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let globex_meeting = globex
        .ok(Method::POST, "/api/v1/meetings", Some(json!({})))
        .await;
    let (status, _) = key_client
        .call(
            Method::GET,
            &format!(
                "/api/v1/meetings/{}",
                globex_meeting["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn api_keys_act_for_their_administrator_until_revoked(db: Db) {
    let server = start(db).await;
    let admin = company(&server, "acme", "acme.example").await;
    let created = admin
        .ok(
            Method::POST,
            "/api/v1/admin/api-keys",
            Some(json!({"name": "calendar sync", "scopes": ["profile", "meetings_manage", "meetings_manage"]})),
        )
        .await;
    assert_eq!(
        created["api_key"]["scopes"],
        json!(["profile", "meetings_manage"])
    );
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("yk_"));
    let (status, body) = admin
        .call(
            Method::POST,
            "/api/v1/admin/api-keys",
            Some(json!({"name": " ", "scopes": ["profile"]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = admin
        .call(
            Method::POST,
            "/api/v1/admin/api-keys",
            Some(json!({"name": "nothing", "scopes": []})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("scope"), "{body}");

    let integration = Http {
        server: &server,
        token: Some(key.clone()),
    };
    let me = integration.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["email"], "admin@acme.example");
    let meeting = integration
        .ok(
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"topic": "Synced"})),
        )
        .await;
    assert_eq!(meeting["topic"], "Synced");
    // Outside its scopes the key is refused, naming the scope.
    let (status, body) = integration
        .call(Method::GET, "/api/v1/directory", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_scope", "{body}");
    assert!(body.to_string().contains("directory_read"), "{body}");
    let listed = admin.ok(Method::GET, "/api/v1/admin/api-keys", None).await;
    assert_eq!(listed[0]["name"], "calendar sync");
    assert!(listed[0]["last_used_at"].is_number(), "{listed}");
    assert!(
        listed[0].get("key").is_none(),
        "the secret is shown only once"
    );

    // A demoted administrator's keys stop working; promoted again, they work.
    let (_, bob) = register(&server, "bob@acme.example", None).await;
    let bob_id = bob["id"].as_str().unwrap();
    admin
        .ok(
            Method::POST,
            &format!("/api/v1/admin/accounts/{bob_id}/approval"),
            Some(json!({"approve": true})),
        )
        .await;
    admin
        .ok(
            Method::PUT,
            &format!("/api/v1/admin/accounts/{bob_id}/role"),
            Some(json!({"role": "tenant_admin"})),
        )
        .await;
    let bob = signed_in(&server, "bob@acme.example", PASSWORD).await;
    let admin_id = me["id"].as_str().unwrap();
    bob.ok(
        Method::PUT,
        &format!("/api/v1/admin/accounts/{admin_id}/role"),
        Some(json!({"role": "member"})),
    )
    .await;
    let (status, _) = integration.call(Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    bob.ok(
        Method::PUT,
        &format!("/api/v1/admin/accounts/{admin_id}/role"),
        Some(json!({"role": "tenant_admin"})),
    )
    .await;
    integration.ok(Method::GET, "/api/v1/me", None).await;

    // Revoked: refused at once; revoking again is not found.
    let id = created["api_key"]["id"].as_str().unwrap();
    let (status, _) = admin
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/api-keys/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = integration.call(Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = admin
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/api-keys/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A made-up key with the right prefix is just an invalid token.
    let forged = Http {
        server: &server,
        token: Some(format!("yk_{}", "0".repeat(64))),
    };
    let (status, body) = forged.call(Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_token");
}

/// The directory the invitee pickers search: active colleagues of the
/// caller's enterprise only, found by any part of name, e-mail or department.
async fn the_directory_lists_active_colleagues_of_ones_own_enterprise(db: Db) {
    let server = start(db).await;
    let admin = company(&server, "acme", "acme.example").await;
    let globex = company(&server, "globex", "globex.example").await;
    let mut ids = Vec::new();
    for email in [
        "carol@acme.example",
        "carlos@acme.example",
        "pending@acme.example",
    ] {
        let (status, account) = register(&server, email, None).await;
        assert_eq!(status, StatusCode::CREATED, "{account}");
        ids.push(account["id"].as_str().unwrap().to_owned());
    }
    for id in &ids[..2] {
        admin
            .ok(
                Method::POST,
                &format!("/api/v1/admin/accounts/{id}/approval"),
                Some(json!({"approve": true})),
            )
            .await;
    }
    let (status, _) = register(&server, "carl@globex.example", None).await;
    assert_eq!(status, StatusCode::CREATED);

    // An administrator with a password chosen by whoever installs (the
    // operator passes the one in the Tenant's Secret); too short is refused.
    let internal = Http {
        server: &server,
        token: Some(KEY.into()),
    };
    let (status, body) = internal
        .call(Method::POST, "/internal/v1/tenants/acme/admins", Some(json!({"email": "second@acme.example", "displayName": "Second", "password": "short"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let created = internal
        .ok(Method::POST, "/internal/v1/tenants/acme/admins", Some(json!({"email": "second@acme.example", "displayName": "Second", "password": "chosen-password-1"})))
        .await;
    assert_eq!(created["password"], "chosen-password-1");
    signed_in(&server, "second@acme.example", "chosen-password-1").await;

    let carol = signed_in(&server, "carol@acme.example", PASSWORD).await;
    let names = |entries: &Value| -> Vec<String> {
        entries
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["email"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let everyone = carol.ok(Method::GET, "/api/v1/directory", None).await;
    assert_eq!(
        names(&everyone),
        [
            "admin@acme.example",
            "carlos@acme.example",
            "carol@acme.example",
            "second@acme.example"
        ],
        "active colleagues only, by name, any case: {everyone}"
    );
    let found = carol.ok(Method::GET, "/api/v1/directory?q=CAR", None).await;
    assert_eq!(names(&found), ["carlos@acme.example", "carol@acme.example"]);
    assert_eq!(found[0]["id"], ids[1].as_str());
    let limited = carol
        .ok(Method::GET, "/api/v1/directory?q=car&limit=1", None)
        .await;
    assert_eq!(names(&limited), ["carlos@acme.example"]);
    // Wildcards, and the escape character, are plain text.
    for q in ["%25", "c_r", "car%25", "!", "!%25", "%5C", "car!"] {
        let none = carol
            .ok(Method::GET, &format!("/api/v1/directory?q={q}"), None)
            .await;
        assert_eq!(none, json!([]), "q={q}");
    }
    // The other enterprise sees only its own people.
    let theirs = globex
        .ok(Method::GET, "/api/v1/directory?q=car", None)
        .await;
    assert_eq!(
        theirs,
        json!([]),
        "the pending globex account and acme's people stay hidden"
    );

    for (path, status) in [
        ("/api/v1/directory?limit=0", StatusCode::BAD_REQUEST),
        ("/api/v1/directory?limit=51", StatusCode::BAD_REQUEST),
    ] {
        let (got, body) = carol.call(Method::GET, path, None).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("limit"),
            "{body}"
        );
    }
    let long = format!("/api/v1/directory?q={}", "a".repeat(101));
    let (got, _) = carol.call(Method::GET, &long, None).await;
    assert_eq!(got, StatusCode::BAD_REQUEST);
    let (got, _) = anonymous(&server)
        .call(Method::GET, "/api/v1/directory", None)
        .await;
    assert_eq!(got, StatusCode::UNAUTHORIZED);
}

/// Every documented operation that needs a caller refuses an API key
/// without the scope it needs, and takes one with it.
#[tokio::test]
async fn api_key_scopes_gate_every_endpoint() {
    use yunhui_proto::api::ApiScope;
    let server = start(Db::Sqlite).await;
    let admin = company(&server, "acme", "acme.example").await;
    // One key lacking each scope, and one with them all.
    let mut without = std::collections::HashMap::new();
    for scope in ApiScope::ALL {
        let scopes: Vec<_> = ApiScope::ALL.into_iter().filter(|s| *s != scope).collect();
        let created = admin
            .ok(
                Method::POST,
                "/api/v1/admin/api-keys",
                Some(json!({"name": format!("without {}", scope.as_str()), "scopes": scopes})),
            )
            .await;
        without.insert(scope, created["key"].as_str().unwrap().to_string());
    }
    let all = admin
        .ok(
            Method::POST,
            "/api/v1/admin/api-keys",
            Some(json!({"name": "everything", "scopes": ApiScope::ALL})),
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let doc: Value = reqwest::get(format!("{}/api/openapi.json", server.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut gated = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("security").is_none() || (method == "delete" && path == "/api/v1/sessions") {
                // Public; or signing out, which ends the session the token
                // names and never touches API keys (revoked by their own endpoint).
                continue;
            }
            let method: Method = method.to_uppercase().parse().unwrap();
            let route = path.trim_start_matches("/api/v1");
            let scope = yunhui_signal::api::scopes::required(&method, route)
                .unwrap_or_else(|| panic!("{method} {path} needs a caller but no scope"));
            let url = path
                .replace("{domain}", "nowhere.example")
                .replace("{id}", "made-up")
                .replace("{number}", "123456789")
                .replace("{date}", "2026-12-31");
            let call = |key: String| {
                let (server, method, url) = (&server, method.clone(), url.clone());
                async move {
                    Http {
                        server,
                        token: Some(key),
                    }
                    .call(method, &url, Some(json!({})))
                    .await
                }
            };
            let (status, body) = call(without[&scope].clone()).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
            assert_eq!(
                body["error"]["code"], "insufficient_scope",
                "{method} {path}: {body}"
            );
            let (status, body) = call(all.clone()).await;
            assert_ne!(
                body["error"]["code"], "insufficient_scope",
                "{method} {path} refused a key with every scope: {status} {body}"
            );
            gated += 1;
        }
    }
    assert!(gated >= 30, "only {gated} operations gated");
}

/// The operator's PUT creates a tenant, replaces it, and brings a deleted
/// one back (written as update-else-insert, which openGauss and KingbaseES
/// accept, where PostgreSQL had ON CONFLICT).
async fn putting_a_tenant_creates_replaces_and_restores_it(db: Db) {
    let server = start(db).await;
    let internal = Http {
        server: &server,
        token: Some(KEY.into()),
    };
    let url = "/internal/v1/tenants/initech";
    let (status, _) = internal.call(Method::GET, url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (name, domain, ports) in [
        ("Initech", "initech.example", 10),
        ("Initech Ltd", "initech.test", 20),
    ] {
        internal
            .ok(Method::PUT, url, Some(json!({"displayName": name, "domains": [domain], "licence": {"concurrentPorts": ports}})))
            .await;
        let stored = internal.ok(Method::GET, url, None).await;
        assert_eq!(stored["displayName"], name, "{stored}");
        assert_eq!(stored["domains"], json!([domain]), "{stored}");
        assert_eq!(stored["licence"]["concurrentPorts"], ports, "{stored}");
    }
    let (status, _) = internal.call(Method::DELETE, url, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = internal.call(Method::GET, url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleted");
    internal
        .ok(
            Method::PUT,
            url,
            Some(json!({"displayName": "Initech again", "licence": {}})),
        )
        .await;
    let stored = internal.ok(Method::GET, url, None).await;
    assert_eq!(stored["displayName"], "Initech again", "{stored}");
    assert_eq!(stored["domains"], json!([]), "{stored}");
}

on_both_databases!(
    putting_a_tenant_creates_replaces_and_restores_it,
    the_directory_lists_active_colleagues_of_ones_own_enterprise,
    registration_by_company_domain_waits_for_approval,
    tenants_are_isolated_on_every_endpoint,
    api_keys_act_for_their_administrator_until_revoked,
);
