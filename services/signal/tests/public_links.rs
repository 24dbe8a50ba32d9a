//! The links signal hands out are built on the address clients use: the
//! server of the discovery document a Gateway publishes (mounted from a
//! ConfigMap, replaced by the kubelet while signal runs) when there is one,
//! else `public_url` (in a cluster, signal's in-cluster address).
//!
//! The document here names `localhost` where `public_url` is `127.0.0.1`:
//! both reach this server, so the recording's link is also fetched.

use crate::support;

use std::path::Path;

use support::Db;
use yunhui_client::api::ApiClient;
use yunhui_proto::discovery::Discovery;
use yunhui_signal::SignalConfig;
use yunhui_signal::recordings::{self, NewFile};

/// Publishes `doc` in `dir` as the kubelet publishes a ConfigMap volume: the
/// file is `discovery.json` → `..data/discovery.json`, and an update is a
/// new timestamped folder swapped in by renaming the `..data` link.
fn publish(dir: &Path, version: u32, doc: &Discovery) {
    let folder = dir.join(format!("..2026_{version}"));
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("discovery.json"),
        serde_json::to_vec_pretty(doc).unwrap(),
    )
    .unwrap();
    let staged = dir.join("..data_tmp");
    std::os::unix::fs::symlink(folder.file_name().unwrap(), &staged).unwrap();
    std::fs::rename(&staged, dir.join("..data")).unwrap();
    let file = dir.join("discovery.json");
    if std::fs::symlink_metadata(&file).is_err() {
        std::os::unix::fs::symlink("..data/discovery.json", &file).unwrap();
    }
}

/// The meeting's join link as the API gives it now.
async fn join_url(host: &ApiClient, id: &str) -> String {
    host.meeting(id).await.expect("get meeting").join_url
}

/// The recording's links as "My videos" lists them now.
async fn recording_links(host: &ApiClient) -> (String, String) {
    let list = host.recordings(false).await.expect("list recordings");
    assert_eq!(list.len(), 1, "{list:?}");
    (list[0].media_url.clone(), list[0].download_url.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_follow_the_discovery_document_and_its_changes() {
    let mounted = tempfile::tempdir().unwrap();
    let recorded = tempfile::tempdir().unwrap();
    let server = support::start_with(
        Db::Sqlite,
        SignalConfig {
            discovery_file: Some(mounted.path().join("discovery.json")),
            recordings_dir: Some(recorded.path().to_path_buf()),
            ..SignalConfig::default()
        },
    )
    .await;
    let port = server.base_url.rsplit(':').next().unwrap().to_string();
    let public_url = server.base_url.clone();
    let (host, meeting) = server.meeting(None).await;

    // No document mounted (the Gateway has not written it): public_url.
    assert!(
        meeting
            .join_url
            .starts_with(&format!("{public_url}/j/{}?k=", meeting.number)),
        "{}",
        meeting.join_url
    );

    // A recorded file of the host's meeting, as the recorder reports it.
    let account = host.me().await.expect("me");
    let contents = b"a recorded file".repeat(100);
    std::fs::write(recorded.path().join("rec-1.webm"), &contents).unwrap();
    recordings::file_started(
        &server.app.store,
        NewFile {
            tenant_id: &account.tenant_id,
            meeting_id: &meeting.id,
            meeting_number: &meeting.number,
            owner_account_id: &account.id,
            job_id: "job-1",
            index: 1,
            title: "Recorded".into(),
            file: "rec-1.webm",
            location: None,
        },
    )
    .await
    .expect("file started");
    recordings::file_finished(&server.app.store, "job-1", 1, 3000, contents.len() as u64)
        .await
        .expect("file finished");
    let (media, _) = recording_links(&host).await;
    assert!(
        media.starts_with(&format!("{public_url}/api/v1/recordings/")),
        "{media}"
    );

    // The Gateway's document: every link is on its address.
    let gateway = format!("http://localhost:{port}");
    publish(mounted.path(), 1, &Discovery::for_public_url(&gateway));
    let created = host
        .create_meeting(&Default::default())
        .await
        .expect("create meeting");
    assert!(
        created
            .join_url
            .starts_with(&format!("{gateway}/j/{}?k=", created.number)),
        "{}",
        created.join_url
    );
    assert!(
        join_url(&host, &meeting.id)
            .await
            .starts_with(&format!("{gateway}/j/"))
    );
    let (media, download) = recording_links(&host).await;
    assert!(
        media.starts_with(&format!("{gateway}/api/v1/recordings/")),
        "{media}"
    );
    assert_eq!(download, format!("{media}&download=1"));
    // The link opens, without a bearer token, and is the file.
    let fetched = reqwest::get(&media).await.expect("media link");
    assert_eq!(fetched.status(), reqwest::StatusCode::OK, "{media}");
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), contents.as_slice());
    // The document itself is served as published.
    let (_, served) = ApiClient::discover(&public_url).await.expect("discover");
    assert_eq!(served.api, format!("{gateway}/api/v1"));

    // The kubelet swaps in a new version (another node port): links follow.
    let moved = "https://meet.example.com:31234";
    publish(mounted.path(), 2, &Discovery::for_public_url(moved));
    assert!(
        join_url(&host, &meeting.id)
            .await
            .starts_with(&format!("{moved}/j/{}?k=", meeting.number)),
    );
    let (media, download) = recording_links(&host).await;
    assert!(
        media.starts_with(&format!("{moved}/api/v1/recordings/")),
        "{media}"
    );
    assert!(
        download.starts_with(&format!("{moved}/api/v1/recordings/")),
        "{download}"
    );
    let (_, served) = ApiClient::discover(&public_url).await.expect("discover");
    assert_eq!(served.server(), moved);

    // A document that is no discovery document is not a base for links.
    let broken = mounted.path().join("..2026_3");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("discovery.json"), b"{\"api\": 3}").unwrap();
    std::os::unix::fs::symlink("..2026_3", mounted.path().join("..data_tmp")).unwrap();
    std::fs::rename(
        mounted.path().join("..data_tmp"),
        mounted.path().join("..data"),
    )
    .unwrap();
    assert!(
        join_url(&host, &meeting.id)
            .await
            .starts_with(&format!("{public_url}/j/")),
        "back on public_url"
    );
}
