//! The OpenAPI document (F-API-1): served at `/api/openapi.json`, it lists
//! every REST endpoint, and schemathesis (from PyPI, installed by this test
//! into a virtualenv under `~/.cache/yunhui/` when missing) finds no server
//! error and no response that contradicts it — signed in as a tenant
//! administrator, so the administration endpoints are exercised too.

use crate::support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use support::Db;
use yunhui_signal::SignalConfig;

/// The schemathesis release the suite runs.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

async fn document(server: &support::Server) -> Value {
    let res = reqwest::get(format!("{}/api/openapi.json", server.base_url))
        .await
        .expect("openapi.json");
    assert_eq!(res.status(), 200);
    res.json().await.expect("JSON document")
}

async fn the_document_describes_every_endpoint(db: Db) {
    let server = support::start(db).await;
    let doc = document(&server).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    let expected = [
        ("get", "/api/v1/about"),
        ("post", "/api/v1/accounts"),
        ("post", "/api/v1/sessions"),
        ("delete", "/api/v1/sessions"),
        ("get", "/api/v1/me"),
        ("patch", "/api/v1/me"),
        ("get", "/api/v1/me/profile"),
        ("get", "/api/v1/tenants/by-domain/{domain}"),
        ("get", "/api/v1/directory"),
        ("get", "/api/v1/admin/accounts"),
        ("post", "/api/v1/admin/accounts/{id}/approval"),
        ("put", "/api/v1/admin/accounts/{id}/role"),
        ("post", "/api/v1/admin/api-keys"),
        ("get", "/api/v1/admin/api-keys"),
        ("delete", "/api/v1/admin/api-keys/{id}"),
        ("get", "/api/v1/directory/departments"),
        ("get", "/api/v1/directory/devices"),
        ("get", "/api/v1/me/contacts"),
        ("put", "/api/v1/me/contacts/{id}"),
        ("delete", "/api/v1/me/contacts/{id}"),
        ("post", "/api/v1/admin/devices"),
        ("delete", "/api/v1/admin/devices/{id}"),
        ("get", "/api/v1/directory/departments/{id}/members"),
        ("put", "/api/v1/admin/provisioning"),
        ("post", "/api/v1/admin/webhooks"),
        ("get", "/api/v1/admin/webhooks"),
        ("delete", "/api/v1/admin/webhooks/{id}"),
        ("get", "/api/v1/admin/webhooks/{id}/deliveries"),
        ("get", "/api/v1/admin/media-policy"),
        ("put", "/api/v1/admin/media-policy"),
        ("post", "/api/v1/meetings"),
        ("get", "/api/v1/meetings"),
        ("get", "/api/v1/meetings/{id}"),
        ("get", "/api/v1/meetings/by-number/{number}"),
        ("post", "/api/v1/schedules"),
        ("get", "/api/v1/schedules/{id}"),
        ("put", "/api/v1/schedules/{id}"),
        ("delete", "/api/v1/schedules/{id}"),
        ("put", "/api/v1/schedules/{id}/occurrences/{date}"),
        ("delete", "/api/v1/schedules/{id}/occurrences/{date}"),
        ("get", "/api/v1/schedules/{id}/invitation"),
        ("get", "/api/v1/upcoming"),
        ("get", "/api/v1/history"),
        ("post", "/api/v1/cloud-rooms"),
        ("get", "/api/v1/cloud-rooms"),
        ("get", "/api/v1/cloud-rooms/{id}"),
        ("put", "/api/v1/cloud-rooms/{id}"),
        ("delete", "/api/v1/cloud-rooms/{id}"),
        ("post", "/api/v1/templates"),
        ("get", "/api/v1/templates"),
        ("get", "/api/v1/templates/{id}"),
        ("put", "/api/v1/templates/{id}"),
        ("delete", "/api/v1/templates/{id}"),
        ("post", "/api/v1/templates/{id}/start"),
        ("post", "/api/v1/locations"),
        ("get", "/api/v1/locations"),
        ("delete", "/api/v1/locations/{id}"),
        ("get", "/api/v1/recordings"),
        ("get", "/api/v1/recordings/{id}"),
        ("patch", "/api/v1/recordings/{id}"),
        ("delete", "/api/v1/recordings/{id}"),
        ("get", "/api/v1/recordings/{id}/media"),
        ("get", "/api/v1/admin/cloud-rooms"),
        ("put", "/api/v1/admin/cloud-rooms/{id}/streaming"),
    ];
    for (method, path) in expected {
        let op = &paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing from the document"))[method];
        assert!(op.is_object(), "{method} {path} missing");
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
    }
    // Each documented operation answers on the real router with a
    // documented status (here: without credentials or with made-up ids).
    let client = reqwest::Client::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let url = format!(
                "{}{}",
                server.base_url,
                path.replace("{domain}", "nowhere.example")
                    .replace("{id}", "made-up")
                    .replace("{number}", "123456789")
                    .replace("{date}", "2026-12-31")
            );
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let res = client
                .request(method.clone(), &url)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16().to_string();
            assert!(
                op["responses"].get(&status).is_some(),
                "{method} {path} answered {status}, which the document does not list"
            );
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// The schemathesis binary, installed into a virtualenv when missing.
fn schemathesis() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let venv = PathBuf::from(home).join(".cache/yunhui/schemathesis");
    let bin = venv.join("bin/schemathesis");
    let wanted = SCHEMATHESIS.split("==").nth(1).unwrap();
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(wanted));
    if !installed {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "python3 -m venv failed (Debian: apt-get install python3-venv)"
        );
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", SCHEMATHESIS])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "pip install {SCHEMATHESIS} failed");
    }
    bin
}

async fn schemathesis_finds_no_server_error_and_no_contradiction(db: Db) {
    let key = "internal-test-key";
    let server = support::start_with(
        db,
        SignalConfig {
            internal_key: Some(key.into()),
            ..SignalConfig::default()
        },
    )
    .await;
    // A company tenant with an administrator, a member and a meeting, so
    // the generated requests meet real data.
    let http = reqwest::Client::new();
    let put = http
        .put(format!("{}/internal/v1/tenants/acme", server.base_url))
        .bearer_auth(key)
        .json(&json!({"displayName": "ACME", "domains": ["acme.example"], "licence": {"concurrentPorts": 10}}))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let admin: Value = http
        .post(format!(
            "{}/internal/v1/tenants/acme/admins",
            server.base_url
        ))
        .bearer_auth(key)
        .json(&json!({"email": "admin@acme.example", "displayName": "Admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut api = server.api();
    api.login("admin@acme.example", admin["password"].as_str().unwrap())
        .await
        .unwrap();
    api.create_meeting(&Default::default()).await.unwrap();
    // Sessions can be ended by the run (DELETE /sessions): use an API key,
    // which only a revoke ends, and keep it out of the generated requests.
    let created: Value = http
        .post(format!("{}/api/v1/admin/api-keys", server.base_url))
        .bearer_auth(api.token().unwrap())
        .json(&json!({"name": "schemathesis", "scopes": yunhui_proto::api::ApiScope::ALL}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["key"].as_str().unwrap().to_string();
    let bin = schemathesis();
    let base = server.base_url.clone();
    // schemathesis keeps a cache in its working directory: not in the tree.
    let scratch = tempfile::tempdir().expect("temp dir");
    let cwd = scratch.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .current_dir(cwd)
            .args(["run", &format!("{base}/api/openapi.json")])
            .args(["--url", &base])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            ])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args(["--max-examples", "40", "--seed", "1", "--no-color"])
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It really ran every operation.
    assert!(
        stdout.contains("18") || stdout.contains("operations"),
        "{stdout}"
    );
}

on_both_databases!(
    the_document_describes_every_endpoint,
    schemathesis_finds_no_server_error_and_no_contradiction,
);
