//! TURN on the SFU node, checked with an independent client (Centricular's
//! sans-IO `turn-client-proto`) over UDP, TCP and TLS: valid REST-API
//! credentials get a relay whose data reaches the node's UDP media port;
//! expired and wrong credentials are refused; a peer other than the node is
//! refused; the per-participant limit holds. Then an SDK participant whose
//! peer connection may only use relay candidates receives media through it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use turn_client_proto::api::{TurnClientApi, TurnEvent, TurnPollRet, TurnRecvRet};
use turn_client_proto::stun::Instant;
use turn_client_proto::stun::agent::Transmit;
use turn_client_proto::stun::types::TransportType;
use turn_client_proto::tcp::TurnClientTcp;
use turn_client_proto::types::TurnCredentials;
use turn_client_proto::udp::TurnClientUdp;
use yunhui_proto::turn::{TurnCredentials as Issued, password_for};
use yunhui_sfu::turn::{TurnAddrs, TurnConfig, TurnLimits, TurnTls};
use yunhui_sfu::{Sfu, SfuConfig};

const SECRET: &[u8] = b"turn test secret";
/// How long a refused client is given to (not) get an allocation.
const REFUSAL_WAIT: Duration = Duration::from_secs(3);
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A node with TURN on UDP, TCP and TLS (a fresh self-signed certificate for
/// `localhost`), and the certificate to trust.
async fn node(limits: TurnLimits) -> (Sfu, TurnAddrs, rustls_pki_types::CertificateDer<'static>) {
    let sfu = Sfu::start(SfuConfig {
        udp_listen: SocketAddr::new(LOCALHOST, 0),
        advertised_ip: LOCALHOST,
        registry: prometheus::Registry::new(),
    })
    .await
    .expect("SFU starts");
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let der = cert.cert.der().clone();
    let key =
        rustls_pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).expect("key");
    let tls = TurnTls::from_der(SocketAddr::new(LOCALHOST, 0), vec![der.clone()], key)
        .expect("TLS config");
    let addrs = sfu
        .serve_turn(TurnConfig {
            listen: SocketAddr::new(LOCALHOST, 0),
            tls: Some(tls),
            secret: SECRET.to_vec(),
            limits,
        })
        .await
        .expect("TURN starts");
    (sfu, addrs, der)
}

fn credentials(participant: &str, lifetime: Duration) -> TurnCredentials {
    let issued = Issued::issue(SECRET, participant, SystemTime::now(), lifetime);
    TurnCredentials::new(&issued.username, &issued.password)
}

/// An expired username, correctly signed.
fn expired(participant: &str) -> TurnCredentials {
    let username = format!(
        "{}:{participant}",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 60
    );
    TurnCredentials::new(&username, &password_for(SECRET, &username))
}

#[derive(Clone, Copy, Debug)]
enum Over {
    Udp,
    Tcp,
    Tls,
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}

enum Io {
    Udp(UdpSocket),
    Stream(Box<dyn Stream>),
}

/// A TURN client over one transport, driven by hand.
struct Client {
    turn: Box<dyn ClientApi>,
    io: Io,
    local: SocketAddr,
    server: SocketAddr,
    transport: TransportType,
    base: std::time::Instant,
}

/// `TurnClientApi` has generic methods; this is the part the test needs, object safe.
trait ClientApi: Send {
    fn recv(&mut self, transmit: Transmit<Vec<u8>>, now: Instant) -> bool;
    fn poll(&mut self, now: Instant) -> Option<Instant>;
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>>;
    fn poll_event(&mut self) -> Option<TurnEvent>;
    fn create_permission(&mut self, peer: IpAddr, now: Instant);
    fn send_to(&mut self, peer: SocketAddr, data: &[u8], now: Instant) -> Option<Vec<u8>>;
}

impl<C: TurnClientApi + Send> ClientApi for C {
    fn recv(&mut self, transmit: Transmit<Vec<u8>>, now: Instant) -> bool {
        !matches!(
            TurnClientApi::recv(self, transmit, now),
            TurnRecvRet::Ignored(_)
        )
    }
    fn poll(&mut self, now: Instant) -> Option<Instant> {
        match TurnClientApi::poll(self, now) {
            TurnPollRet::WaitUntil(at) => Some(at),
            _ => None,
        }
    }
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        TurnClientApi::poll_transmit(self, now).map(|t| t.data.to_vec())
    }
    fn poll_event(&mut self) -> Option<TurnEvent> {
        TurnClientApi::poll_event(self)
    }
    fn create_permission(&mut self, peer: IpAddr, now: Instant) {
        TurnClientApi::create_permission(self, TransportType::Udp, peer, now)
            .expect("permission request");
    }
    fn send_to(&mut self, peer: SocketAddr, data: &[u8], now: Instant) -> Option<Vec<u8>> {
        use turn_client_proto::prelude::DelayedTransmitBuild;
        TurnClientApi::send_to(self, TransportType::Udp, peer, data.to_vec(), now)
            .expect("send through the relay")
            .map(|t| t.data.build())
    }
}

impl Client {
    async fn allocate(
        over: Over,
        addrs: &TurnAddrs,
        cert: &rustls_pki_types::CertificateDer<'static>,
        creds: TurnCredentials,
    ) -> Client {
        let mut config = turn_client_proto::api::TurnConfig::new(creds);
        // The REST-API username carries the expiry and participant: it has to
        // travel in the clear (USERNAME), as browsers send it, not hashed.
        config.set_anonymous_username(turn_client_proto::stun::auth::Feature::Disabled);
        let base = std::time::Instant::now();
        match over {
            Over::Udp => {
                let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
                let local = socket.local_addr().unwrap();
                Client {
                    turn: Box::new(TurnClientUdp::allocate(local, addrs.udp, config)),
                    io: Io::Udp(socket),
                    local,
                    server: addrs.udp,
                    transport: TransportType::Udp,
                    base,
                }
            }
            Over::Tcp | Over::Tls => {
                let server = match over {
                    Over::Tcp => addrs.tcp,
                    _ => addrs.tls.expect("TLS is served"),
                };
                let stream = TcpStream::connect(server).await.unwrap();
                let local = stream.local_addr().unwrap();
                let io: Box<dyn Stream> = match over {
                    Over::Tcp => Box::new(stream),
                    _ => {
                        let mut roots = rustls::RootCertStore::empty();
                        roots.add(cert.clone()).unwrap();
                        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                            rustls::crypto::ring::default_provider(),
                        ))
                        .with_safe_default_protocol_versions()
                        .unwrap()
                        .with_root_certificates(roots)
                        .with_no_client_auth();
                        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
                        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
                        Box::new(
                            connector
                                .connect(name, stream)
                                .await
                                .expect("TLS handshake with the node"),
                        )
                    }
                };
                Client {
                    turn: Box::new(TurnClientTcp::allocate(local, server, config)),
                    io: Io::Stream(io),
                    local,
                    server,
                    transport: TransportType::Tcp,
                    base,
                }
            }
        }
    }

    fn now(&self) -> Instant {
        Instant::from_std(self.base)
    }

    async fn send(&mut self, data: Vec<u8>) {
        match &mut self.io {
            Io::Udp(socket) => {
                socket.send_to(&data, self.server).await.unwrap();
            }
            Io::Stream(stream) => stream.write_all(&data).await.unwrap(),
        }
    }

    /// Runs the client until it reports an event, or `limit` passes (None).
    async fn next_event(&mut self, limit: Duration) -> Option<TurnEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut buf = vec![0u8; 65536];
        loop {
            let now = self.now();
            while let Some(data) = self.turn.poll_transmit(now) {
                self.send(data).await;
            }
            if let Some(event) = self.turn.poll_event() {
                return Some(event);
            }
            let wake = self
                .turn
                .poll(now)
                .map(|at| tokio::time::Instant::from_std(at.to_std(self.base)))
                .unwrap_or(deadline)
                .min(deadline);
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            let received = tokio::select! {
                _ = tokio::time::sleep_until(wake) => None,
                read = async {
                    match &mut self.io {
                        Io::Udp(socket) => socket.recv(&mut buf).await.ok(),
                        Io::Stream(stream) => stream.read(&mut buf).await.ok().filter(|n| *n > 0),
                    }
                } => Some(read),
            };
            match received {
                None => {}
                Some(None) => return None,
                Some(Some(len)) => {
                    let transmit =
                        Transmit::new(buf[..len].to_vec(), self.transport, self.server, self.local);
                    let now = self.now();
                    self.turn.recv(transmit, now);
                }
            }
        }
    }

    /// The relayed address, or why there is none.
    async fn relayed(&mut self) -> Result<SocketAddr, String> {
        self.relayed_within(Duration::from_secs(10)).await
    }

    /// [`Client::relayed`], waiting at most `limit` (a valid allocation on
    /// loopback takes milliseconds).
    async fn relayed_within(&mut self, limit: Duration) -> Result<SocketAddr, String> {
        match self.next_event(limit).await {
            Some(TurnEvent::AllocationCreated(_, relayed)) => Ok(relayed),
            other => Err(format!("{other:?}")),
        }
    }
}

#[tokio::test]
async fn a_client_relays_to_the_node_over_udp_tcp_and_tls() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let (sfu, addrs, cert) = node(TurnLimits::default()).await;
    let media = sfu.media_addr();
    let mut clients = Vec::new();
    for over in [Over::Udp, Over::Tcp, Over::Tls] {
        let mut client = Client::allocate(
            over,
            &addrs,
            &cert,
            credentials("alice", Duration::from_secs(600)),
        )
        .await;
        let relayed = client
            .relayed()
            .await
            .unwrap_or_else(|e| panic!("over {over:?} no allocation: {e}"));
        assert_eq!(
            relayed.ip(),
            media.ip(),
            "over {over:?} the relay is on the node's advertised address"
        );

        // The node's own media address is a peer...
        let now = client.now();
        client.turn.create_permission(media.ip(), now);
        match client.next_event(Duration::from_secs(10)).await {
            Some(TurnEvent::PermissionCreated(_, ip)) => assert_eq!(ip, media.ip()),
            other => panic!("over {over:?} the node's own address was refused: {other:?}"),
        }
        // ...and data sent through the relay arrives at its UDP media port.
        let before = sfu.metrics().received_bytes.get();
        let now = client.now();
        if let Some(data) = client.turn.send_to(media, &[0x55; 400], now) {
            client.send(data).await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while sfu.metrics().received_bytes.get() < before + 400 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "over {over:?} the relayed datagram did not reach the media port"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Any other address is refused.
        let elsewhere: IpAddr = "192.0.2.7".parse().unwrap();
        let now = client.now();
        client.turn.create_permission(elsewhere, now);
        match client.next_event(Duration::from_secs(10)).await {
            Some(TurnEvent::PermissionCreateFailed(_, ip)) => assert_eq!(ip, elsewhere),
            other => panic!("over {over:?} a foreign peer was not refused: {other:?}"),
        }
        clients.push(client);
    }
    let metrics = || {
        prometheus::TextEncoder::new()
            .encode_to_string(&sfu.registry().gather())
            .unwrap()
    };
    assert!(
        metrics().contains("yunhui_sfu_turn_allocations 3"),
        "{}",
        metrics()
    );
    assert!(
        metrics().contains(r#"yunhui_sfu_turn_refused_total{reason="peer"} 3"#),
        "{}",
        metrics()
    );
    // A connection's allocation goes with the connection; the UDP one stays
    // until it expires.
    drop(clients);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !metrics().contains("yunhui_sfu_turn_allocations 1") {
        assert!(tokio::time::Instant::now() < deadline, "{}", metrics());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sfu.shutdown().await;
}

#[tokio::test]
async fn expired_and_wrong_credentials_get_no_relay() {
    let (sfu, addrs, cert) = node(TurnLimits::default()).await;
    for over in [Over::Udp, Over::Tcp, Over::Tls] {
        let mut late = Client::allocate(over, &addrs, &cert, expired("bob")).await;
        let refused = late.relayed_within(REFUSAL_WAIT).await;
        assert!(
            refused.is_err(),
            "over {over:?} expired credentials got {refused:?}"
        );
        let issued = Issued::issue(SECRET, "bob", SystemTime::now(), Duration::from_secs(600));
        let mut wrong = Client::allocate(
            over,
            &addrs,
            &cert,
            TurnCredentials::new(&issued.username, "not-the-password"),
        )
        .await;
        let refused = wrong.relayed_within(REFUSAL_WAIT).await;
        assert!(
            refused.is_err(),
            "over {over:?} a wrong password got {refused:?}"
        );
        let mut other_secret = Client::allocate(
            over,
            &addrs,
            &cert,
            TurnCredentials::new(
                &issued.username,
                &password_for(b"another deployment", &issued.username),
            ),
        )
        .await;
        assert!(other_secret.relayed_within(REFUSAL_WAIT).await.is_err());
    }
    let metrics = prometheus::TextEncoder::new()
        .encode_to_string(&sfu.registry().gather())
        .unwrap();
    assert!(
        metrics.contains("yunhui_sfu_turn_allocations 0"),
        "{metrics}"
    );
    sfu.shutdown().await;
}

#[tokio::test]
async fn a_participant_holds_at_most_its_limit_of_allocations() {
    let (sfu, addrs, cert) = node(TurnLimits {
        allocations: 100,
        per_participant: 2,
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut client = Client::allocate(
            Over::Udp,
            &addrs,
            &cert,
            credentials("carol", Duration::from_secs(600)),
        )
        .await;
        client.relayed().await.expect("within the limit");
        held.push(client);
    }
    let mut third = Client::allocate(
        Over::Tcp,
        &addrs,
        &cert,
        credentials("carol", Duration::from_secs(600)),
    )
    .await;
    assert!(
        third.relayed().await.is_err(),
        "a third allocation of one participant is refused"
    );
    let mut someone_else = Client::allocate(
        Over::Udp,
        &addrs,
        &cert,
        credentials("dave", Duration::from_secs(600)),
    )
    .await;
    someone_else
        .relayed()
        .await
        .expect("another participant still gets one");
    sfu.shutdown().await;
}

#[tokio::test]
async fn an_sdk_subscriber_on_relay_candidates_only_gets_media_through_turn() {
    use yunhui_client::media::{IceOptions, Publisher, Subscriber, SyntheticMedia, TrackKind};
    use yunhui_sfu::control::{InProcessControl, MediaControl};
    const ROOM: &str = "relayed";
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let (sfu, addrs, _) = node(TurnLimits::default()).await;
    let control = InProcessControl::new(sfu.clone());
    control.create_room(ROOM).await.expect("room");
    for p in ["alice", "bob"] {
        control.add_participant(ROOM, p).await.expect("participant");
    }
    let alice = Publisher::new("alice", "127.0.0.1:0")
        .await
        .expect("publisher");
    let answer = control
        .publish(ROOM, "alice", &alice.create_offer().await.expect("offer"))
        .await
        .expect("publish");
    alice.apply_answer(&answer).await.expect("apply answer");
    alice.start_synthetic_media(SyntheticMedia::default());

    // What signal hands bob on join, for this node's TURN server.
    let issued = Issued::issue(SECRET, "bob", SystemTime::now(), Duration::from_secs(600));
    let ice = IceOptions {
        ice_servers: vec![issued.ice_server(&yunhui_proto::turn::TurnEndpoints {
            host: addrs.udp.ip().to_string(),
            port: addrs.udp.port(),
            tls_port: addrs.tls.map(|a| a.port()),
        })],
        relay_only: true,
        ..IceOptions::default()
    };
    let bob = Subscriber::with_ice("127.0.0.1:0", &ice)
        .await
        .expect("subscriber");
    let mut offer = control.subscribe_offer(ROOM, "bob").await.expect("offer");
    while let Some(sdp) = offer {
        let answer = bob.apply_offer(&sdp).await.expect("answer");
        let candidates: Vec<&str> = answer
            .lines()
            .filter(|l| l.starts_with("a=candidate"))
            .collect();
        // The node is ICE-lite and learns bob's address from his checks:
        // relay candidates come later (or not at all in the SDP), host ones never.
        assert!(
            candidates.iter().all(|c| c.contains(" typ relay")),
            "bob offers only relay candidates: {candidates:?}"
        );
        offer = control
            .subscribe_answer(ROOM, "bob", &answer)
            .await
            .expect("answer applied");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let count = |kind| bob.track("alice", kind).map_or(0, |t| t.packets());
        let (audio, video) = (count(TrackKind::Audio), count(TrackKind::Video));
        if audio > 20 && video > 20 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "through TURN bob got {audio} audio and {video} video packets"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = prometheus::TextEncoder::new()
        .encode_to_string(&sfu.registry().gather())
        .unwrap();
    let relayed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("yunhui_sfu_turn_relayed_bytes_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        relayed > 10_000,
        "the media went through the relay: {relayed} bytes"
    );
    alice.close().await;
    sfu.shutdown().await;
}
