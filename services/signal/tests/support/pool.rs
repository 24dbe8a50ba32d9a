//! What the tests of several SFU nodes or several signal replicas share: a
//! host and a meeting with the password "4321", joining it from any base
//! URL, light media, and waiting for media to arrive; signal placing rooms
//! on SFU nodes that register with it ([`PoolSignal`], [`Node`]).

use std::sync::Arc;
use std::time::Duration;

use yunhui_client::api::ApiClient;
use yunhui_client::media::{SyntheticMedia, TrackKind};
use yunhui_client::meeting::{JoinOptions, MeetingSession, SessionError};
use yunhui_proto::api::{CreateMeetingRequest, Meeting, RegisterRequest};
use yunhui_proto::media::MediaControl;
use yunhui_proto::turn::TurnEndpoints;
use yunhui_sfu::control::InProcessControl;
use yunhui_sfu::internal_api::internal_router;
use yunhui_sfu::registration::{Registration, Reporter};
use yunhui_sfu::turn::{TurnConfig, TurnLimits};
use yunhui_sfu::{Sfu, SfuConfig};
use yunhui_signal::live::turn_credentials::TurnService;
use yunhui_signal::store::Store;
use yunhui_signal::{App, SignalConfig};

use super::PASSWORD;

/// The internal key of [`PoolSignal`] and its nodes.
pub const KEY: &str = "placement-test-key";

/// The TURN secret of [`PoolSignal`] and of the nodes that serve TURN.
pub const TURN_SECRET: &[u8] = b"placement-test-turn-secret";

/// The password of every meeting made by [`meeting`].
pub const MEETING_PASSWORD: &str = "4321";

/// How long a participant waits for media.
const WAIT: Duration = Duration::from_secs(20);

/// Registers `host@example.com` at `base_url` and signs it in.
pub async fn host(base_url: &str) -> ApiClient {
    account(base_url, "host@example.com", "Host").await
}

/// Registers `email` in the default tenant at `base_url` and signs it in.
pub async fn account(base_url: &str, email: &str, display_name: &str) -> ApiClient {
    let mut api = ApiClient::new(base_url);
    api.register(&RegisterRequest {
        email: Some(email.into()),
        phone: None,
        password: PASSWORD.into(),
        display_name: display_name.into(),
        tenant_id: None,
    })
    .await
    .unwrap();
    api.login(email, PASSWORD).await.unwrap();
    api
}

/// A meeting of `host` with [`MEETING_PASSWORD`].
pub async fn meeting(host: &ApiClient) -> Meeting {
    host.create_meeting(&CreateMeetingRequest {
        password: Some(MEETING_PASSWORD.into()),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Joins `meeting` through the service at `base_url`, media on loopback.
pub async fn join(
    base_url: &str,
    meeting: &Meeting,
    name: &str,
    token: Option<&str>,
) -> Result<MeetingSession, SessionError> {
    join_with(base_url, meeting, name, token, false).await
}

/// [`join`], with media on relay candidates only when `relay_only` (as
/// behind a network that reaches nothing but the TURN server).
pub async fn join_with(
    base_url: &str,
    meeting: &Meeting,
    name: &str,
    token: Option<&str>,
    relay_only: bool,
) -> Result<MeetingSession, SessionError> {
    MeetingSession::join(
        base_url,
        JoinOptions {
            meeting_number: meeting.number.clone(),
            display_name: name.into(),
            password: Some(MEETING_PASSWORD.into()),
            token: token.map(String::from),
            media_bind: Some("127.0.0.1:0".into()),
            relay_only,
            ..JoinOptions::default()
        },
    )
    .await
}

/// A new meeting of `host_api` at `base_url` with its host and a guest
/// (`Host {label}`, `Guest {label}`; `Host`, `Guest` for an empty label) in
/// it, both publishing `media`.
pub async fn publishing_pair(
    base_url: &str,
    host_api: &ApiClient,
    label: &str,
    media: SyntheticMedia,
) -> Result<(MeetingSession, MeetingSession), SessionError> {
    let meeting = meeting(host_api).await;
    let name = |who: &str| format!("{who} {label}").trim_end().to_owned();
    let mut host = join(base_url, &meeting, &name("Host"), host_api.token()).await?;
    host.publish(media).await?;
    let mut guest = join(base_url, &meeting, &name("Guest"), None).await?;
    guest.publish(media).await?;
    Ok((host, guest))
}

/// After a media restart: each of `host` and `guest` receives the other's
/// audio and video again, was asked once to reconnect its media and is
/// still in the meeting (no rejoin).
pub async fn media_came_back(host: &MeetingSession, guest: &MeetingSession) {
    for (receiver, sender) in [(host, guest), (guest, host)] {
        for kind in [TrackKind::Audio, TrackKind::Video] {
            assert!(
                receives_again(receiver, &sender.participant_id(), kind).await,
                "{kind:?} from {} did not come back after the move",
                sender.participant_id()
            );
        }
        assert_eq!(receiver.view().media_restarts, 1);
        assert!(receiver.is_connected());
    }
}

/// Light media, so twenty participants fit on a small machine.
pub fn light_media() -> SyntheticMedia {
    SyntheticMedia {
        video_bitrate: 100_000,
        video_fps: 10,
        ..SyntheticMedia::default()
    }
}

/// Waits until `session` keeps receiving `kind` from `publisher`.
pub async fn receives(session: &MeetingSession, publisher: &str, kind: TrackKind) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(track) = session.subscriber().track(publisher, kind)
            && track.packets() > 5
            && track.bytes() > 0
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} never received {kind:?} from {publisher}",
            session.participant_id()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signal placing rooms on the nodes that register, with no fixed node.
pub struct PoolSignal {
    pub base_url: String,
    pub app: Arc<App>,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PoolSignal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PoolSignal {
    /// Signal with an internal key and no SFU of its own, on SQLite; it
    /// hands out the TURN servers of the nodes that report one.
    pub async fn start() -> PoolSignal {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let config = SignalConfig {
            public_url: base_url.clone(),
            internal_key: Some(KEY.into()),
            turn: Some(TurnService {
                endpoints: None,
                secret: TURN_SECRET.to_vec(),
            }),
            ..SignalConfig::default()
        };
        let app = App::with_placement(config, store, None, prometheus::Registry::new()).unwrap();
        let service = app.service();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, service).await;
        });
        PoolSignal {
            base_url,
            app,
            _dir: dir,
            task,
        }
    }
}

/// One SFU node: its media port, its internal API and its reports to signal.
pub struct Node {
    pub id: String,
    pub sfu: Sfu,
    pub control_url: String,
    pub signal_url: String,
    pub capacity: u64,
    /// The node's TURN server, when it serves one ([`Node::start_with_turn`]).
    pub turn: Option<TurnEndpoints>,
    /// The region it reports, if any (set it, then [`Node::report`] again).
    pub region: Option<String>,
    pub reporter: Option<Reporter>,
    pub api: tokio::task::JoinHandle<()>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.api.abort();
    }
}

impl Node {
    pub async fn start(id: &str, signal: &PoolSignal) -> Node {
        Node::start_serving(id, signal, false).await
    }

    /// A node that also serves TURN over UDP and TCP on a port of its own,
    /// with [`TURN_SECRET`], and reports it to signal.
    pub async fn start_with_turn(id: &str, signal: &PoolSignal) -> Node {
        Node::start_serving(id, signal, true).await
    }

    async fn start_serving(id: &str, signal: &PoolSignal, turn: bool) -> Node {
        let sfu = Sfu::start(SfuConfig {
            udp_listen: "127.0.0.1:0".parse().unwrap(),
            advertised_ip: "127.0.0.1".parse().unwrap(),
            registry: prometheus::Registry::new(),
        })
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let control_url = format!("http://{}", listener.local_addr().unwrap());
        let router = internal_router(sfu.clone(), KEY);
        let api = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let turn = match turn {
            true => {
                let addrs = sfu
                    .serve_turn(TurnConfig {
                        listen: "127.0.0.1:0".parse().unwrap(),
                        tls: None,
                        secret: TURN_SECRET.to_vec(),
                        limits: TurnLimits::default(),
                    })
                    .await
                    .unwrap();
                Some(TurnEndpoints {
                    host: "127.0.0.1".into(),
                    port: addrs.udp.port(),
                    tls_port: None,
                })
            }
            false => None,
        };
        let mut node = Node {
            id: id.into(),
            sfu,
            control_url,
            signal_url: signal.base_url.clone(),
            capacity: 100,
            turn,
            region: None,
            reporter: None,
            api,
        };
        node.report();
        node
    }

    /// Starts (or starts again) reporting to signal.
    pub fn report(&mut self) {
        self.reporter = Some(Reporter::start(
            self.sfu.clone(),
            Registration {
                signal_url: self.signal_url.clone(),
                internal_key: KEY.into(),
                node_id: self.id.clone(),
                control_url: self.control_url.clone(),
                capacity: self.capacity,
                turn: self.turn.clone(),
                region: self.region.clone(),
            },
        ));
    }

    /// Stops the node as if its process ended: no more reports, no API, no media.
    pub async fn stop(&mut self) {
        self.reporter = None;
        self.api.abort();
        self.sfu.shutdown().await;
    }

    /// Rooms and participants open on the node itself.
    pub async fn load(&self) -> (u64, u64) {
        let stats = InProcessControl::new(self.sfu.clone())
            .node_stats()
            .await
            .unwrap();
        (stats.rooms, stats.participants)
    }
}

/// Waits until signal's node table lists `live` nodes that report, with
/// whether each drains.
pub async fn wait_for_nodes(signal: &PoolSignal, live: &[(&str, bool)]) {
    let placement = signal.app.placement.as_ref().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen: Vec<(String, bool)> = placement
            .nodes()
            .nodes()
            .into_iter()
            .filter(|v| v.state.is_live())
            .map(|v| (v.state.id.0, v.state.report.draining))
            .collect();
        let wanted: Vec<(String, bool)> = live.iter().map(|(id, d)| (id.to_string(), *d)).collect();
        if seen == wanted {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the node table shows {seen:?}, not {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether `session` keeps receiving `kind` from `publisher` over `window`.
pub async fn keeps_receiving(
    session: &MeetingSession,
    publisher: &str,
    kind: TrackKind,
    window: Duration,
) -> bool {
    let Some(track) = session.subscriber().track(publisher, kind) else {
        return false;
    };
    let before = track.packets();
    tokio::time::sleep(window).await;
    track.packets() > before
}

/// Waits until `session` receives `kind` from `publisher` again: new
/// packets for a whole second.
pub async fn receives_again(session: &MeetingSession, publisher: &str, kind: TrackKind) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if keeps_receiving(session, publisher, kind, Duration::from_millis(1000)).await {
            return true;
        }
    }
    false
}
