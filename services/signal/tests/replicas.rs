//! Several signal replicas on one PostgreSQL database (issue 11): each live
//! meeting is owned by one replica (a lease row with an epoch), a
//! participant who reaches another replica is relayed to the owner, and when
//! the owner stops, another replica takes the meeting over once the lease
//! ends. Real `yunhui-signal` processes (killed and frozen with real
//! signals), a real SFU, SDK participants sending real media.

use crate::support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rustix::process::{Pid, Signal as UnixSignal, kill_process};
use sqlx::Row;
use support::pool::{account, host, join, light_media, meeting, receives};
use support::session::{incoming_call, listening};
use yunhui_client::api::ApiClient;
use yunhui_client::media::TrackKind;
use yunhui_client::meeting::MeetingSession;
use yunhui_proto::api::Meeting;
use yunhui_proto::media::MediaControl;
use yunhui_proto::signaling::{ClientMessage, ServerMessage};
use yunhui_sfu::control::InProcessControl;
use yunhui_sfu::internal_api::internal_router;
use yunhui_sfu::registration::{Registration, Reporter};
use yunhui_sfu::{Sfu, SfuConfig};

const KEY: &str = "replicas-test-key";
const WAIT: Duration = Duration::from_secs(20);
/// Short, so a take-over happens within the test.
const LEASE_TTL_SECS: u64 = 3;

/// One `yunhui-signal` process, killed when dropped.
struct Replica {
    url: String,
    child: Child,
    _data: tempfile::TempDir,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = kill_process(self.pid(), UnixSignal::CONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    async fn start(database_url: &str, sfu_url: Option<&str>) -> Replica {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let data = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_yunhui-signal"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database_url])
            .args(["--internal-key", KEY])
            .args(["--public-url", &url])
            .args(sfu_url.map(|url| ["--sfu-url", url]).into_iter().flatten())
            .args(["--replica-url", &url])
            .args(["--lease-ttl-seconds", &LEASE_TTL_SECS.to_string()])
            .arg("--data-dir")
            .arg(data.path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start yunhui-signal");
        let replica = Replica {
            url,
            child,
            _data: data,
        };
        let health = format!("{}/healthz", replica.url);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(answer) = reqwest::get(&health).await
                && answer.status().is_success()
            {
                return replica;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "replica {} never became healthy",
                replica.url
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32).expect("a child's pid")
    }

    fn kill(&mut self) {
        self.child.kill().expect("kill replica");
        self.child.wait().expect("reap replica");
    }

    fn freeze(&self) {
        kill_process(self.pid(), UnixSignal::STOP).expect("SIGSTOP");
    }

    fn thaw(&self) {
        kill_process(self.pid(), UnixSignal::CONT).expect("SIGCONT");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One address in front of the replicas, as a Kubernetes Service is: each
/// connection goes to the next replica in turn, skipping one that refuses
/// (a killed replica), and its bytes are carried both ways unchanged.
struct Service {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Service {
    async fn start(replicas: &[&Replica]) -> Service {
        let backends: Vec<String> = replicas
            .iter()
            .map(|r| r.url.trim_start_matches("http://").to_owned())
            .collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut next = 0;
            while let Ok((mut client, _)) = listener.accept().await {
                let mut backend = None;
                for _ in 0..backends.len() {
                    let address = &backends[next % backends.len()];
                    next += 1;
                    if let Ok(stream) = tokio::net::TcpStream::connect(address).await {
                        backend = Some(stream);
                        break;
                    }
                }
                if let Some(mut backend) = backend {
                    tokio::spawn(async move {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
                    });
                }
            }
        });
        Service { url, task }
    }
}

/// A real SFU with its internal API, which every replica drives.
struct Media {
    url: String,
    sfu: Sfu,
    api: tokio::task::JoinHandle<()>,
}

impl Drop for Media {
    fn drop(&mut self) {
        self.api.abort();
    }
}

async fn start_media() -> Media {
    let sfu = Sfu::start(SfuConfig {
        udp_listen: "127.0.0.1:0".parse().unwrap(),
        advertised_ip: "127.0.0.1".parse().unwrap(),
        registry: prometheus::Registry::new(),
    })
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = internal_router(sfu.clone(), KEY);
    let api = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Media { url, sfu, api }
}

/// Everything a test needs: the database, the SFU and two replicas, `a`
/// started first (it migrates the database).
struct Cluster {
    database_url: String,
    _media: Media,
    a: Replica,
    b: Replica,
}

async fn cluster() -> Cluster {
    let database_url = support::postgres::fresh_database().await;
    let media = start_media().await;
    let a = Replica::start(&database_url, Some(&media.url)).await;
    let b = Replica::start(&database_url, Some(&media.url)).await;
    Cluster {
        database_url,
        _media: media,
        a,
        b,
    }
}

impl Cluster {
    /// The meeting's lease: owner URL and epoch.
    async fn lease(&self, meeting_id: &str) -> Option<(String, i64)> {
        let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
        let row =
            sqlx::query("SELECT replica_url, epoch FROM meeting_owners WHERE meeting_id = $1")
                .bind(meeting_id)
                .fetch_optional(&pool)
                .await
                .unwrap();
        pool.close().await;
        row.map(|r| (r.get("replica_url"), r.get("epoch")))
    }
}

async fn host_and_meeting(replica: &Replica) -> (ApiClient, Meeting) {
    let api = host(&replica.url).await;
    let meeting = meeting(&api).await;
    (api, meeting)
}

/// Joins through `replica` as a client that lost its meeting would: again
/// until it is in (the meeting's old owner may still hold the lease for a
/// few seconds, and refuses as unavailable meanwhile).
async fn rejoin(
    replica: &Replica,
    meeting: &Meeting,
    name: &str,
    token: Option<&str>,
) -> MeetingSession {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match join(&replica.url, meeting, name, token).await {
            Ok(session) => return session,
            Err(e) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{name} could not join again through {}: {e}",
                    replica.url
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Waits until `session` keeps receiving audio and video from `publisher`.
async fn receives_media(session: &MeetingSession, publisher: &str) {
    for kind in [TrackKind::Audio, TrackKind::Video] {
        receives(session, publisher, kind).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_on_two_replicas_meet_and_the_meeting_outlives_its_owner() {
    let mut cluster = cluster().await;
    let service = Service::start(&[&cluster.a, &cluster.b]).await;
    let (host_api, meeting) = host_and_meeting(&cluster.a).await;

    // Through the Service, the host reaches replica a, the guest replica b:
    // one meeting, owned by a, the guest relayed there.
    let mut host = join(&service.url, &meeting, "Host", host_api.token())
        .await
        .unwrap();
    host.publish(light_media()).await.unwrap();
    let mut guest = join(&service.url, &meeting, "Guest", None).await.unwrap();
    guest.publish(light_media()).await.unwrap();
    assert_eq!(
        cluster.lease(&meeting.id).await,
        Some((cluster.a.url.clone(), 1))
    );
    for (receiver, sender) in [(&host, &guest), (&guest, &host)] {
        receiver
            .wait_until("both in the participant list", WAIT, |v| {
                v.participants.contains_key(&sender.participant_id())
            })
            .await
            .unwrap();
        receives_media(receiver, &sender.participant_id()).await;
    }
    // Signaling both ways through the relay: the guest's chat reaches the
    // host, and the host's reaches the guest.
    guest.chat(None, "from b").unwrap();
    host.chat(None, "from a").unwrap();
    for (session, text) in [(&host, "from b"), (&guest, "from a")] {
        session
            .wait_until("the chat through the relay", WAIT, |v| {
                v.chat.iter().any(|m| m.text == text)
            })
            .await
            .unwrap();
    }
    let (host_before, guest_before) = (host.participant_id(), guest.participant_id());

    // The owner dies. The host's socket drops with it, and replica b closes
    // the guest's relayed one asking it to join again. Both clients join
    // again on their own, through the Service, which now reaches only b: b
    // takes the meeting over once a's lease ends, and the meeting goes on
    // with media both ways, published again without being asked.
    cluster.a.kill();
    for (session, before) in [(&host, &host_before), (&guest, &guest_before)] {
        session
            .wait_until("joined again on its own", WAIT, |v| v.rejoins == 1)
            .await
            .unwrap();
        assert_ne!(
            &session.participant_id(),
            before,
            "a rejoin is a new participant"
        );
        assert!(session.is_connected());
    }
    assert_eq!(
        cluster.lease(&meeting.id).await,
        Some((cluster.b.url.clone(), 2))
    );
    for (receiver, sender) in [(&host, &guest), (&guest, &host)] {
        receiver
            .wait_until("both in the meeting again", WAIT, |v| {
                v.participants.contains_key(&sender.participant_id())
                    && !v.participants.contains_key(&host_before)
                    && !v.participants.contains_key(&guest_before)
            })
            .await
            .unwrap();
        receives_media(receiver, &sender.participant_id()).await;
    }
    assert!(host.view().ended.is_none());
    // The chat read before is not repeated by the new owner's history.
    let seen = guest
        .view()
        .chat
        .iter()
        .filter(|m| m.text == "from a")
        .count();
    assert_eq!(
        seen, 1,
        "the chat history after the rejoin repeats messages"
    );

    // Ending the meeting ends it for the guest too, and the lease goes.
    host.end_meeting().unwrap();
    guest
        .wait_until("the end", WAIT, |v| v.ended.is_some())
        .await
        .unwrap();
    host.close().await;
    guest.close().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while cluster.lease(&meeting.id).await.is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ended meeting's lease is still held"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_lost_its_meeting_closes_its_copy() {
    let cluster = cluster().await;
    let (host_api, meeting) = host_and_meeting(&cluster.a).await;
    let host = join(&cluster.a.url, &meeting, "Host", host_api.token())
        .await
        .unwrap();
    assert_eq!(
        cluster.lease(&meeting.id).await,
        Some((cluster.a.url.clone(), 1))
    );

    // a stalls (frozen, as a partitioned or overloaded replica would) past
    // its lease: a join through b takes the meeting over.
    cluster.a.freeze();
    tokio::time::sleep(Duration::from_secs(LEASE_TTL_SECS + 1)).await;
    let guest = rejoin(&cluster.b, &meeting, "Guest", None).await;
    assert_eq!(
        cluster.lease(&meeting.id).await,
        Some((cluster.b.url.clone(), 2))
    );

    // a wakes up, finds at its next renewal that the epoch moved on, and
    // closes its room, asking its participant to join again: the host does
    // so on its own, through a, relayed to b, the owner: one meeting again.
    cluster.a.thaw();
    host.wait_until("joined again on its own", WAIT, |v| v.rejoins == 1)
        .await
        .unwrap();
    for (session, other) in [(&host, &guest), (&guest, &host)] {
        session
            .wait_until("one meeting again", WAIT, |v| {
                v.participants.contains_key(&other.participant_id())
            })
            .await
            .unwrap();
    }
    assert_eq!(
        cluster.lease(&meeting.id).await,
        Some((cluster.b.url.clone(), 2))
    );
    host.close().await;
    guest.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_rings_the_invitee_on_another_replica() {
    let cluster = cluster().await;
    let (host_api, meeting) = host_and_meeting(&cluster.a).await;
    // Bob listens on replica b only; Carol listens nowhere.
    let bob_api = account(&cluster.b.url, "bob@example.com", "Bob").await;
    let carol_api = account(&cluster.b.url, "carol@example.com", "Carol").await;
    let bob_id = bob_api.me().await.unwrap().id;
    let carol_id = carol_api.me().await.unwrap().id;
    let mut bob_phone = listening(&cluster.b.url, bob_api.token().unwrap()).await;
    let host = join(&cluster.a.url, &meeting, "Host", host_api.token())
        .await
        .unwrap();
    assert_eq!(
        cluster.lease(&meeting.id).await,
        Some((cluster.a.url.clone(), 1))
    );

    // The host, on a (the owner), invites both: Bob's phone on b rings and
    // the host hears it rings; Carol is offline everywhere.
    host.invite(&[&bob_id, &carol_id]).unwrap();
    let (call_id, link_key) = incoming_call(&mut bob_phone).await;
    assert!(
        meeting.join_url.contains(&link_key),
        "the call carries the meeting's join key"
    );
    host.wait_until("ringing and offline", WAIT, |v| {
        v.invites.contains(&(bob_id.clone(), "ringing".into()))
            && v.invites.contains(&(carol_id.clone(), "offline".into()))
    })
    .await
    .unwrap();

    // Bob accepts on b: the host on a is told, and Bob joins with the call's
    // key through b, relayed to a: one meeting.
    bob_phone
        .send(&ClientMessage::AnswerCall {
            call_id: call_id.clone(),
            accept: true,
        })
        .await
        .unwrap();
    host.wait_until("accepted", WAIT, |v| {
        v.invites.contains(&(bob_id.clone(), "accepted".into()))
    })
    .await
    .unwrap();
    let bob = MeetingSession::join(
        &cluster.b.url,
        yunhui_client::meeting::JoinOptions {
            meeting_number: meeting.number.clone(),
            display_name: "Bob".into(),
            link_key: Some(link_key),
            token: bob_api.token().map(String::from),
            media_bind: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
    )
    .await
    .expect("the invitee joins through the other replica");
    host.wait_until("Bob in the meeting", WAIT, |v| {
        v.participants.contains_key(&bob.participant_id())
    })
    .await
    .unwrap();
    // Each state was told once.
    let invites = host.view().invites;
    for state in ["ringing", "accepted"] {
        let told = invites
            .iter()
            .filter(|(id, s)| *id == bob_id && s == state)
            .count();
        assert_eq!(told, 1, "{state}: {invites:?}");
    }
    // A second answer finds no call.
    bob_phone
        .send(&ClientMessage::AnswerCall {
            call_id,
            accept: true,
        })
        .await
        .unwrap();
    let refused = bob_phone
        .recv_until(WAIT, |m| match m {
            ServerMessage::Error { code, .. } => Some(*code),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(refused, yunhui_proto::signaling::ErrorCode::CallNotFound);
    host.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_chat_reaches_a_member_listening_on_another_replica() {
    let cluster = cluster().await;
    let alice = account(&cluster.a.url, "alice@example.com", "Alice").await;
    let bob = account(&cluster.b.url, "bob@example.com", "Bob").await;
    let bob_id = bob.me().await.unwrap().id;
    let mut bob_phone = listening(&cluster.b.url, bob.token().unwrap()).await;
    let chat = alice.create_chat("Launch", &[bob_id]).await.unwrap();

    // Taken by a, pushed by b (which reads what the others took).
    let sent = alice.send_chat_message(&chat.id, "Ready?").await.unwrap();
    let got = bob_phone
        .recv_until(WAIT, |m| match m {
            ServerMessage::GroupChatMessage { message } => Some(message.clone()),
            _ => None,
        })
        .await
        .expect("the message reaches Bob's socket on the other replica");
    assert_eq!(got, sent);
    // A meeting started from the chat on a rings Bob on b.
    let meeting = alice.start_chat_meeting(&chat.id).await.unwrap();
    let (_, link_key) = incoming_call(&mut bob_phone).await;
    assert!(meeting.join_url.contains(&link_key));
    // Pushed once: the next message is the next one.
    let again = alice.send_chat_message(&chat.id, "Joining").await.unwrap();
    let next = bob_phone
        .recv_until(WAIT, |m| match m {
            ServerMessage::GroupChatMessage { message } if message.meeting.is_none() => {
                Some(message.clone())
            }
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(next, again);
}

/// Two replicas with no fixed SFU (rooms go only to nodes that registered)
/// and one node, `sfu-0`, whose reports all reach `a`, as a Service might
/// send them: `b` knows it only through the database.
async fn replicas_with_a_node_reporting_to_a() -> (Replica, Replica, Media, Reporter) {
    let database_url = support::postgres::fresh_database().await;
    let a = Replica::start(&database_url, None).await;
    let b = Replica::start(&database_url, None).await;
    let node = start_media().await;
    let reporter = Reporter::start(
        node.sfu.clone(),
        Registration {
            signal_url: a.url.clone(),
            internal_key: KEY.into(),
            node_id: "sfu-0".into(),
            control_url: node.url.clone(),
            capacity: 100,
            turn: None,
            region: None,
        },
    );
    (a, b, node, reporter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reporting_to_one_replica_takes_the_rooms_of_another() {
    let (a, b, node, _reporter) = replicas_with_a_node_reporting_to_a().await;
    let (host_api, meeting) = host_and_meeting(&b).await;
    // b owns the meeting and places its room on the node it knows of only
    // through the database.
    let mut host = rejoin(&b, &meeting, "Host", host_api.token()).await;
    host.publish(light_media()).await.unwrap();
    let mut guest = join(&a.url, &meeting, "Guest", None).await.unwrap();
    guest.publish(light_media()).await.unwrap();
    // One room with both on the node (a room left by a join attempt that
    // timed out under load is gone within moments; a split meeting stays).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let stats = InProcessControl::new(node.sfu.clone())
            .node_stats()
            .await
            .unwrap();
        if (stats.rooms, stats.participants) == (1, 2) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the node holds {} rooms with {} participants, not the meeting's one room with both",
            stats.rooms,
            stats.participants
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (receiver, sender) in [(&host, &guest), (&guest, &host)] {
        receives_media(receiver, &sender.participant_id()).await;
    }
    host.close().await;
    guest.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_marked_at_one_replica_holds_at_every_replica() {
    let (a, b, _node, _reporter) = replicas_with_a_node_reporting_to_a().await;
    let client = reqwest::Client::new();
    let draining_at = |replica: &Replica| {
        let request = client
            .get(format!("{}/internal/v1/media-nodes", replica.url))
            .bearer_auth(KEY);
        async move {
            let list: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
            list["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["nodeId"] == "sfu-0")
                .map(|n| n["draining"] == true)
        }
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while draining_at(&b).await != Some(false) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "b never saw the node"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The operator's drain reaches b (as the Service might send it); a,
    // which receives the node's own reports (not draining), holds it too.
    let marked = client
        .post(format!("{}/internal/v1/media-nodes/sfu-0/drain", b.url))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert!(marked.status().is_success(), "{}", marked.status());
    let deadline = tokio::time::Instant::now() + WAIT;
    while draining_at(&a).await != Some(true) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a never learnt of the drain marked at b"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And no room is placed on it there.
    let (host_api, meeting) = host_and_meeting(&a).await;
    let refused = join(&a.url, &meeting, "Host", host_api.token()).await;
    assert!(
        refused.is_err(),
        "a room was placed on the draining node through a"
    );
}
