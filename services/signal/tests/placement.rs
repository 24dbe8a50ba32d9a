//! Rooms placed on several SFU nodes (issue 11, first slice): real SFU
//! nodes, each with its own internal API on its own TCP port and its own UDP
//! media port, register with one signal service over HTTP and report every
//! two seconds; signal places each meeting's room on one of them, and SDK
//! participants send and receive real media through the node of their room.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use support::pool::{
    KEY, Node, PoolSignal, host, join, join_with, keeps_receiving, light_media, media_came_back,
    meeting, publishing_pair, receives, wait_for_nodes,
};
use yunhui_client::api::ApiClient;
use yunhui_client::media::TrackKind;
use yunhui_client::meeting::SessionError;
use yunhui_proto::media::{MediaControl, NODE_GONE_AFTER};
use yunhui_sfu::control::InProcessControl;
use yunhui_signal::placement::NodeId;
use yunhui_signal::store::Store;
use yunhui_signal::{App, SignalConfig};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_meetings_spread_over_two_nodes_and_everyone_receives_the_other() {
    let signal = PoolSignal::start().await;
    let a = Node::start("sfu-a", &signal).await;
    let b = Node::start("sfu-b", &signal).await;
    wait_for_nodes(&signal, &[("sfu-a", false), ("sfu-b", false)]).await;
    let host_api = host(&signal.base_url).await;

    let mut meetings = Vec::new();
    for i in 0..10 {
        let label = i.to_string();
        let pair = publishing_pair(&signal.base_url, &host_api, &label, light_media());
        meetings.push(pair.await.unwrap());
    }
    for (host, guest) in &meetings {
        for (receiver, sender) in [(host, guest), (guest, host)] {
            for kind in [TrackKind::Audio, TrackKind::Video] {
                receives(receiver, &sender.participant_id(), kind).await;
            }
        }
    }

    // Each node holds whole meetings, and both hold several.
    let (rooms_a, participants_a) = a.load().await;
    let (rooms_b, participants_b) = b.load().await;
    assert_eq!(rooms_a + rooms_b, 10);
    assert!(
        rooms_a >= 3 && rooms_b >= 3,
        "rooms are not spread: {rooms_a} on a, {rooms_b} on b"
    );
    assert_eq!(participants_a, 2 * rooms_a);
    assert_eq!(participants_b, 2 * rooms_b);
    let placed = signal.app.placement.as_ref().unwrap().rooms_per_node();
    assert_eq!(placed[&NodeId("sfu-a".into())] as u64, rooms_a);
    assert_eq!(placed[&NodeId("sfu-b".into())] as u64, rooms_b);

    // Signal's figures are the sum of the nodes'.
    let total = signal
        .app
        .placement
        .as_ref()
        .unwrap()
        .node_stats()
        .await
        .unwrap();
    assert_eq!(total.rooms, 10);
    assert_eq!(total.participants, 20);

    // Ending the meetings closes their rooms on their nodes.
    for (host, guest) in meetings {
        host.end_meeting().unwrap();
        guest
            .wait_until("the end", WAIT, |v| v.ended.is_some())
            .await
            .unwrap();
        host.close().await;
        guest.close().await;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while a.load().await.0 + b.load().await.0 > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "rooms linger on the nodes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        signal
            .app
            .placement
            .as_ref()
            .unwrap()
            .rooms_per_node()
            .is_empty()
    );
}

/// Each node serves TURN on a port of its own: a participant is handed the
/// TURN server of its room's node (not one address for the whole pool).
/// Two meetings on two nodes, every participant on relay candidates only:
/// media flows both ways in each meeting, relayed by its own node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_meeting_is_handed_the_turn_server_of_its_own_node() {
    let signal = PoolSignal::start().await;
    let a = Node::start_with_turn("sfu-a", &signal).await;
    let b = Node::start_with_turn("sfu-b", &signal).await;
    assert_ne!(a.turn, b.turn);
    wait_for_nodes(&signal, &[("sfu-a", false), ("sfu-b", false)]).await;
    let host_api = host(&signal.base_url).await;
    let mut pairs = Vec::new();
    for label in ["1", "2"] {
        let meeting = meeting(&host_api).await;
        let token = host_api.token();
        let name = |who: &str| format!("{who} {label}");
        let mut host = join_with(&signal.base_url, &meeting, &name("Host"), token, true)
            .await
            .unwrap();
        host.publish(light_media()).await.unwrap();
        let mut guest = join_with(&signal.base_url, &meeting, &name("Guest"), None, true)
            .await
            .unwrap();
        guest.publish(light_media()).await.unwrap();
        pairs.push((host, guest));
    }
    assert_eq!(
        (a.load().await.0, b.load().await.0),
        (1, 1),
        "one meeting per node"
    );
    for (host, guest) in &pairs {
        for (receiver, sender) in [(host, guest), (guest, host)] {
            for kind in [TrackKind::Audio, TrackKind::Video] {
                receives(receiver, &sender.participant_id(), kind).await;
            }
        }
    }
    for node in [&a, &b] {
        let metrics = prometheus::TextEncoder::new()
            .encode_to_string(&node.sfu.registry().gather())
            .unwrap();
        // Two participants, each with a publishing and a subscribing
        // connection, all relayed by this node.
        let allocations = metrics
            .lines()
            .find_map(|l| l.strip_prefix("yunhui_sfu_turn_allocations "))
            .and_then(|v| v.parse::<f64>().ok());
        assert!(
            allocations.is_some_and(|n| n >= 2.0),
            "{} relays its own meeting's media: {allocations:?}",
            node.id
        );
    }
    for (host, guest) in pairs {
        host.close().await;
        guest.close().await;
    }
}

/// An administrator of a new tenant `id` whose meetings prefer `region`
/// (as the operator's sync stores a Tenant with `spec.mediaRegion`).
async fn tenant_preferring(signal: &PoolSignal, id: &str, region: Option<&str>) -> ApiClient {
    let http = reqwest::Client::new();
    let mut record = serde_json::json!({
        "displayName": id, "domains": [format!("{id}.example")], "licence": {"concurrentPorts": 50}
    });
    if let Some(region) = region {
        record["mediaRegion"] = region.into();
    }
    let put = http
        .put(format!("{}/internal/v1/tenants/{id}", signal.base_url))
        .bearer_auth(KEY)
        .json(&record)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let admin: serde_json::Value = http
        .post(format!(
            "{}/internal/v1/tenants/{id}/admins",
            signal.base_url
        ))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"email": format!("admin@{id}.example"), "displayName": "Admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut api = ApiClient::new(&signal.base_url);
    api.login(
        &format!("admin@{id}.example"),
        admin["password"].as_str().unwrap(),
    )
    .await
    .unwrap();
    api
}

/// Hybrid deployment (issue 13): nodes in two regions report to one signal.
/// A tenant that prefers the north region has every meeting placed on the
/// north node even while the south one is emptier; one preferring the
/// south, on the south node; a tenant without a preference is placed by
/// load alone; and with the north node draining, north's next meeting goes
/// south rather than nowhere. A malformed preference is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meetings_are_placed_in_the_region_their_tenant_prefers() {
    let signal = PoolSignal::start().await;
    let mut north = Node::start("sfu-north", &signal).await;
    north.region = Some("north".into());
    north.report();
    let mut south = Node::start("sfu-south", &signal).await;
    south.region = Some("south".into());
    south.report();
    let placement = signal.app.placement.as_ref().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !(placement.nodes().nodes().iter())
        .filter(|n| n.state.report.region.is_some())
        .count()
        .eq(&2)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "regions never reported"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let northern = tenant_preferring(&signal, "northern", Some("north")).await;
    let southern = tenant_preferring(&signal, "southern", Some("south")).await;
    let open = |api: &ApiClient, name: &str| {
        let (api, name) = (api.clone(), name.to_string());
        let base_url = signal.base_url.clone();
        async move {
            let meeting = meeting(&api).await;
            join(&base_url, &meeting, &name, api.token()).await.unwrap()
        }
    };
    let mut sessions = Vec::new();
    for i in 0..3 {
        sessions.push(open(&northern, &format!("North {i}")).await);
    }
    assert_eq!(
        north.load().await,
        (3, 3),
        "north's meetings on the north node"
    );
    assert_eq!(south.load().await, (0, 0));
    sessions.push(open(&southern, "South").await);
    assert_eq!(
        south.load().await,
        (1, 1),
        "south's meeting on the south node"
    );
    // No preference: the emptier node.
    let anywhere = host(&signal.base_url).await;
    sessions.push(open(&anywhere, "Anywhere").await);
    assert_eq!(south.load().await, (2, 2), "placed by load alone");
    // The north node drains: north's next meeting goes south.
    north.reporter.as_ref().unwrap().drain().await.unwrap();
    sessions.push(open(&northern, "North late").await);
    assert_eq!(south.load().await, (3, 3), "placed outside its region");
    assert_eq!(north.load().await, (3, 3));
    // A preference that is no region's name.
    let bad = reqwest::Client::new()
        .put(format!("{}/internal/v1/tenants/bad", signal.base_url))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"displayName": "Bad", "licence": {"concurrentPorts": 1}, "mediaRegion": "north pole/1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), reqwest::StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("mediaRegion"));
    for session in sessions {
        session.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_or_draining_node_gets_no_new_rooms() {
    let signal = PoolSignal::start().await;
    let mut a = Node::start("sfu-a", &signal).await;
    let mut b = Node::start("sfu-b", &signal).await;
    wait_for_nodes(&signal, &[("sfu-a", false), ("sfu-b", false)]).await;
    let host_api = host(&signal.base_url).await;
    let mut sessions = Vec::new();

    // b stops reporting (its media port and API still answer): it is gone
    // after three missed reports, and the new rooms all go to a.
    b.reporter = None;
    tokio::time::sleep(NODE_GONE_AFTER).await;
    wait_for_nodes(&signal, &[("sfu-a", false)]).await;
    for i in 0..3 {
        let meeting = meeting(&host_api).await;
        sessions.push(
            join(
                &signal.base_url,
                &meeting,
                &format!("Host {i}"),
                host_api.token(),
            )
            .await
            .unwrap(),
        );
    }
    assert_eq!(a.load().await, (3, 3));
    assert_eq!(b.load().await, (0, 0));

    // b is back; a drains: the new rooms all go to b, though a is busier.
    b.report();
    a.reporter.as_ref().unwrap().drain().await.unwrap();
    wait_for_nodes(&signal, &[("sfu-a", true), ("sfu-b", false)]).await;
    for i in 3..6 {
        let meeting = meeting(&host_api).await;
        sessions.push(
            join(
                &signal.base_url,
                &meeting,
                &format!("Host {i}"),
                host_api.token(),
            )
            .await
            .unwrap(),
        );
    }
    assert_eq!(a.load().await, (3, 3));
    assert_eq!(b.load().await, (3, 3));

    // Both drain: a meeting has nowhere to go, and the joiner is told why.
    b.reporter.as_ref().unwrap().drain().await.unwrap();
    wait_for_nodes(&signal, &[("sfu-a", true), ("sfu-b", true)]).await;
    let meeting = meeting(&host_api).await;
    match join(&signal.base_url, &meeting, "Late host", host_api.token()).await {
        Err(SessionError::Refused { message, .. }) => assert!(
            message.contains("no media node has room for this meeting")
                && message.contains("2 draining"),
            "{message}"
        ),
        Err(other) => panic!("the join failed otherwise: {other}"),
        Ok(_) => panic!("a meeting opened with every node draining"),
    }
    // The meetings already running go on.
    assert_eq!(a.load().await.0 + b.load().await.0, 6);
    for session in sessions {
        session.close().await;
    }
    // A node that drained still reports, as draining.
    a.reporter = None;
    b.reporter = None;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_cannot_outgrow_its_node() {
    let signal = PoolSignal::start().await;
    let mut node = Node::start("sfu-a", &signal).await;
    node.capacity = 2;
    node.report();
    let deadline = tokio::time::Instant::now() + WAIT;
    let capacity = || {
        let nodes = signal.app.placement.as_ref().unwrap().nodes().nodes();
        nodes.first().map(|v| v.state.report.capacity)
    };
    while capacity() != Some(2) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "capacity not reported"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let host_api = host(&signal.base_url).await;
    let first = meeting(&host_api).await;
    let host = join(&signal.base_url, &first, "Host", host_api.token())
        .await
        .unwrap();
    let guest = join(&signal.base_url, &first, "Guest", None).await.unwrap();
    match join(&signal.base_url, &first, "Third", None).await {
        Err(SessionError::Refused { message, .. }) => assert!(
            message.contains("no media node has room for this meeting")
                && message.contains("sfu-a is full (2 participants)"),
            "{message}"
        ),
        Err(other) => panic!("the join failed otherwise: {other}"),
        Ok(_) => panic!("a third participant joined a node for two"),
    }
    let second = meeting(&host_api).await;
    match join(&signal.base_url, &second, "Host", host_api.token()).await {
        Err(SessionError::Refused { message, .. }) => {
            assert!(message.contains("(1 full,"), "{message}")
        }
        Err(other) => panic!("the join failed otherwise: {other}"),
        Ok(_) => panic!("a meeting opened on a full node"),
    }
    assert_eq!(node.load().await, (1, 2));
    host.close().await;
    guest.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_reports_need_the_internal_key_and_a_well_formed_report() {
    let signal = PoolSignal::start().await;
    let node = Node::start("sfu-a", &signal).await;
    wait_for_nodes(&signal, &[("sfu-a", false)]).await;
    let http = reqwest::Client::new();
    let url = |id: &str| format!("{}/internal/v1/media-nodes/{id}", signal.base_url);
    let report = serde_json::json!({
        "node_id": "sfu-b",
        "control_url": node.control_url,
        "media_address": "127.0.0.1:7882",
        "architecture": std::env::consts::ARCH,
        "capacity": 10,
        "draining": false,
        "stats": {"rooms": 0, "participants": 0, "peer_connections": 0, "tasks": 0,
                  "forwarded_packets": 0, "forwarded_bytes": 0},
        "bits_in_per_second": 0,
        "bits_out_per_second": 0,
        "cpu_millicores": 0
    });
    let status = |r: reqwest::Response| r.status().as_u16();
    let put = http.put(url("sfu-b")).json(&report);
    assert_eq!(status(put.send().await.unwrap()), 401);
    let put = http.put(url("sfu-b")).bearer_auth("wrong").json(&report);
    assert_eq!(status(put.send().await.unwrap()), 401);
    let put = http.put(url("sfu-c")).bearer_auth(KEY).json(&report);
    assert_eq!(status(put.send().await.unwrap()), 400);
    let put = http
        .put(url("sfu-b"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"node_id": "sfu-b"}));
    assert_eq!(status(put.send().await.unwrap()), 400);
    wait_for_nodes(&signal, &[("sfu-a", false)]).await;
    let put = http.put(url("sfu-b")).bearer_auth(KEY).json(&report);
    assert_eq!(status(put.send().await.unwrap()), 204);
    wait_for_nodes(&signal, &[("sfu-a", false), ("sfu-b", false)]).await;

    // A signal service with one fixed SFU takes no reports.
    let support_server = {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let sfu = node.sfu.clone();
        let config = SignalConfig {
            internal_key: Some(KEY.into()),
            ..SignalConfig::default()
        };
        let app = App::new(
            config,
            store,
            Arc::new(InProcessControl::new(sfu)),
            prometheus::Registry::new(),
        )
        .unwrap();
        (app, dir)
    };
    let router = support_server.0.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fixed_url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let put = http
        .put(format!("{fixed_url}/internal/v1/media-nodes/sfu-b"))
        .bearer_auth(KEY)
        .json(&report);
    let answer = put.send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "media_nodes_disabled");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_node_leaves_running_meetings_alone_and_a_lost_node_s_rooms_move() {
    let signal = PoolSignal::start().await;
    let mut a = Node::start("sfu-a", &signal).await;
    wait_for_nodes(&signal, &[("sfu-a", false)]).await;
    let host_api = host(&signal.base_url).await;
    let (host, guest) = publishing_pair(&signal.base_url, &host_api, "", light_media())
        .await
        .unwrap();
    receives(&host, &guest.participant_id(), TrackKind::Audio).await;
    assert_eq!(a.load().await, (1, 2));

    // Signal watches the pool every second (it restores rooms a node lost).
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // A second node joins the pool: the meeting on the first is not touched.
    let b = Node::start("sfu-b", &signal).await;
    wait_for_nodes(&signal, &[("sfu-a", false), ("sfu-b", false)]).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        keeps_receiving(
            &host,
            &guest.participant_id(),
            TrackKind::Audio,
            Duration::from_millis(500)
        )
        .await,
        "media stopped when another node joined"
    );
    assert_eq!(a.load().await, (1, 2));
    assert_eq!(b.load().await, (0, 0));

    // The first node dies: once it is gone, its room is opened again on the
    // second with both participants (their clients are told to reconnect media).
    a.stop().await;
    let deadline = tokio::time::Instant::now() + NODE_GONE_AFTER + WAIT;
    while b.load().await != (1, 2) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the room never moved: {:?} on b",
            b.load().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let placed = signal.app.placement.as_ref().unwrap().rooms_per_node();
    assert_eq!(placed.get(&NodeId("sfu-b".into())), Some(&1));
    assert_eq!(placed.get(&NodeId("sfu-a".into())), None);
    // The clients connect their media to the second node on their own,
    // without joining again.
    media_came_back(&host, &guest).await;
    host.close().await;
    guest.close().await;
}

/// A node whose drain runs out with a meeting on it reports itself leaving
/// (`yunhui-sfu` does so before it stops): signal moves the meeting to
/// another node at once, while the first still forwards, and the SDK
/// clients connect their media there by themselves — same participants, no
/// rejoin; the longest silence of each track is printed (docs/benchmarks.md,
/// "Media moved between SFU nodes", measures it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaving_node_s_meeting_moves_and_its_media_goes_on_without_a_rejoin() {
    let signal = PoolSignal::start().await;
    let a = Node::start("sfu-a", &signal).await;
    wait_for_nodes(&signal, &[("sfu-a", false)]).await;
    let host_api = host(&signal.base_url).await;
    let (host, guest) = publishing_pair(&signal.base_url, &host_api, "", light_media())
        .await
        .unwrap();
    let pairs = [(&host, &guest), (&guest, &host)];
    let mut tracks = Vec::new();
    for (receiver, sender) in pairs {
        for kind in [TrackKind::Audio, TrackKind::Video] {
            receives(receiver, &sender.participant_id(), kind).await;
            tracks.push(
                receiver
                    .subscriber()
                    .track(&sender.participant_id(), kind)
                    .unwrap(),
            );
        }
    }
    let b = Node::start("sfu-b", &signal).await;
    wait_for_nodes(&signal, &[("sfu-a", false), ("sfu-b", false)]).await;
    // Signal looks at the pool every second (and moves the rooms of nodes gone).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(a.load().await, (1, 2));
    let ids = host.view().participants.keys().cloned().collect::<Vec<_>>();

    let gaps = yunhui_client::gaps::MediaGaps::watch(tracks);
    a.reporter.as_ref().unwrap().leave().await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while b.load().await != (1, 2) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the meeting never moved: {:?} on b",
            b.load().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    media_came_back(&host, &guest).await;
    for gap in gaps.stop() {
        eprintln!(
            "{} / {}: longest silence {} ms",
            gap.stream_id,
            gap.track_id,
            gap.longest.as_millis()
        );
        assert!(gap.packets > 0);
    }
    // The same meeting: nobody joined again, and the leaving node's room is
    // no longer where signal sends anything.
    assert_eq!(
        host.view().participants.keys().cloned().collect::<Vec<_>>(),
        ids
    );
    let placed = signal.app.placement.as_ref().unwrap().rooms_per_node();
    assert_eq!(placed.get(&NodeId("sfu-b".into())), Some(&1));
    assert_eq!(placed.get(&NodeId("sfu-a".into())), None);
    host.close().await;
    guest.close().await;
}

/// The operator's view: `GET /internal/v1/media-nodes` lists every node with
/// its load (internal key required), and `POST .../{id}/drain` marks one
/// draining, which placement respects at once although the node itself
/// still reports that it is not draining.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_lists_node_loads_and_marks_a_node_draining() {
    let signal = PoolSignal::start().await;
    let a = Node::start("sfu-a", &signal).await;
    let b = Node::start("sfu-b", &signal).await;
    wait_for_nodes(&signal, &[("sfu-a", false), ("sfu-b", false)]).await;
    let http = reqwest::Client::new();
    let list_url = format!("{}/internal/v1/media-nodes", signal.base_url);
    let drain_url = |id: &str| format!("{}/internal/v1/media-nodes/{id}/drain", signal.base_url);
    assert_eq!(http.get(&list_url).send().await.unwrap().status(), 401);
    assert_eq!(
        http.post(drain_url("sfu-a"))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let (http_ref, list_ref) = (&http, &list_url);
    let list = move || async move {
        http_ref
            .get(list_ref)
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .json::<yunhui_proto::media::MediaNodeList>()
            .await
            .unwrap()
    };

    // One meeting with one participant: on a node (the first by name).
    let host_api = host(&signal.base_url).await;
    let first = meeting(&host_api).await;
    let session = join(&signal.base_url, &first, "Host", host_api.token())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let nodes = loop {
        let nodes = list().await.nodes;
        if nodes.iter().any(|n| n.participants == 1) {
            break nodes;
        }
        assert!(tokio::time::Instant::now() < deadline, "{nodes:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let summary: Vec<_> = nodes
        .iter()
        .map(|n| {
            (
                n.node_id.as_str(),
                n.live,
                n.draining,
                n.capacity,
                n.rooms,
                n.participants,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("sfu-a", true, false, 100, 1, 1),
            ("sfu-b", true, false, 100, 0, 0)
        ]
    );

    // a, busier, would not take the next room anyway: drain b, the idle one.
    let answer = http
        .post(drain_url("sfu-b"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let entry: yunhui_proto::media::MediaNodeLoad = answer.json().await.unwrap();
    assert!(entry.draining && entry.node_id == "sfu-b");
    let unknown = http
        .post(drain_url("sfu-x"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // b's own reports (not draining) do not lift the mark.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let draining: Vec<_> = list()
        .await
        .nodes
        .iter()
        .map(|n| (n.node_id.clone(), n.draining))
        .collect();
    assert_eq!(
        draining,
        [("sfu-a".to_string(), false), ("sfu-b".to_string(), true)]
    );
    let second = meeting(&host_api).await;
    let other = join(&signal.base_url, &second, "Host again", host_api.token())
        .await
        .unwrap();
    assert_eq!(a.load().await, (2, 2), "the new room went to a");
    assert_eq!(b.load().await, (0, 0));
    session.close().await;
    other.close().await;
}
