//! Calling SIP devices and phones into a meeting (F-CTL-5, F-SIP-2,
//! F-SIP-3), and devices dialling in (F-SIP-1), through the Rust SDK, on SQLite and PostgreSQL, with the real
//! SIP gateway and SIPp (Debian's `sip-tester`) as the far end.
//!
//! The audio check goes all the way round: the host publishes a 440 Hz tone
//! (real Opus), the gateway mixes it into G.711 for the device, SIPp echoes
//! the RTP back, the gateway encodes it into Opus again, and the host
//! decodes the device's track and finds the tone.

use crate::support;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use opus_rs::{Application, OpusDecoder, OpusEncoder};
use support::{Db, Server};
use yunhui_client::api::ApiClient;
use yunhui_client::media::{AudioPacket, TrackKind};
use yunhui_client::meeting::{DialUpdate, JoinOptions, MeetingSession, SessionError};
use yunhui_proto::api::{Meeting, MeetingStatus};
use yunhui_proto::signaling::{ClientMessage, DialState, DialTarget, ErrorCode, HostCommand, Role};
use yunhui_signal::sipgw_client::HttpCallControl;
use yunhui_sipgw::{GatewayConfig, SipGateway, SipTls, SipTrunk, internal_api};

const WAIT: Duration = Duration::from_secs(20);
const ANSWER: Duration = Duration::from_secs(3);
const TONE_HZ: f64 = 440.0;

/// A far end played by SIPp.
struct Sipp {
    child: tokio::process::Child,
    port: u16,
    messages: PathBuf,
    _dir: tempfile::TempDir,
}

enum Scenario {
    /// SIPp's built-in UAS: answers with PCMU, echoes RTP, expects a BYE.
    AnswerAndEcho,
    /// The same over SIP over TCP.
    AnswerAndEchoOverTcp,
    /// Answers 486 Busy Here.
    Busy,
    /// Rings (180) until cancelled.
    RingForever,
    /// Challenges with 401, answers an INVITE with the right digest
    /// credentials, refuses one without with 403.
    Authenticate,
    /// Dials into meeting `number` at the gateway `to`, keys in a wrong
    /// password and then 2468, and stays until hung up.
    DialIn { number: String, to: SocketAddr },
    /// As `DialIn`, then sends about 30 s of G.711 speech.
    DialInAndTalk { number: String, to: SocketAddr },
    /// A device calling meeting `number` at `to` with the scenario `file`,
    /// from `ip`, over TCP when `tcp`, with SIPp's `-set` variables `set`.
    Device {
        file: &'static str,
        number: String,
        to: SocketAddr,
        ip: Ipv4Addr,
        tcp: bool,
        set: Vec<(&'static str, String)>,
    },
}

fn free_udp_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

/// A port free on both UDP and TCP: SIPp's SIP port, which it binds on TCP
/// with `-t t1` (a port free on UDP alone may be another connection's local
/// TCP port, and SIPp then cannot bind it).
fn free_sip_port() -> u16 {
    loop {
        let port = free_udp_port();
        if std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

fn scenario_file(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sip")
        .join(name)
        .display()
        .to_string()
}

impl Sipp {
    async fn start(scenario: Scenario) -> Sipp {
        let dir = tempfile::tempdir().expect("temp dir");
        let messages = dir.path().join("messages.log");
        let ip = match &scenario {
            Scenario::Device { ip, .. } => *ip,
            _ => Ipv4Addr::LOCALHOST,
        };
        let port = free_sip_port();
        // SIPp echoes on the media port and the one two above it.
        let media = loop {
            let p = free_udp_port();
            if p < 65000 && UdpSocket::bind((Ipv4Addr::LOCALHOST, p + 2)).is_ok() {
                break p;
            }
        };
        let mut command = tokio::process::Command::new("sipp");
        match scenario {
            Scenario::AnswerAndEcho => command.args(["-sn", "uas", "-rtp_echo"]),
            Scenario::AnswerAndEchoOverTcp => command.args(["-sn", "uas", "-rtp_echo", "-t", "t1"]),
            Scenario::Busy => command.args(["-sf", &scenario_file("busy.xml")]),
            Scenario::RingForever => command.args(["-sf", &scenario_file("ring.xml")]),
            Scenario::Authenticate => command.args(["-sf", &scenario_file("auth.xml")]),
            Scenario::DialIn { ref number, to } => command
                .args(["-sf", &scenario_file("dial_in.xml"), "-s", number])
                .arg(to.to_string()),
            Scenario::DialInAndTalk { ref number, to } => command
                .args(["-sf", &scenario_file("dial_in_talk.xml"), "-s", number])
                .arg(to.to_string()),
            Scenario::Device {
                file,
                ref number,
                to,
                tcp,
                ref set,
                ..
            } => {
                command.args(["-sf", &scenario_file(file), "-s", number]);
                if tcp {
                    command.args(["-t", "t1"]);
                }
                for (name, value) in set {
                    command.args(["-set", name, value]);
                }
                command.arg(to.to_string())
            }
        };
        command
            .args(["-i", &ip.to_string(), "-p", &port.to_string()])
            .args(["-mi", &ip.to_string(), "-mp", &media.to_string()])
            .args(["-m", "1", "-timeout", "90s", "-nostdin", "-trace_msg"])
            .arg("-message_file")
            .arg(&messages)
            .arg("-trace_err")
            .arg("-error_file")
            .arg(dir.path().join("errors.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let child = command
            .spawn()
            .expect("sipp runs (Debian package sip-tester; tests/setup-machine installs it)");
        let dials_in = matches!(
            scenario,
            Scenario::DialIn { .. } | Scenario::DialInAndTalk { .. } | Scenario::Device { .. }
        );
        // Ready once its SIP port is taken.
        let tcp = matches!(scenario, Scenario::AnswerAndEchoOverTcp);
        let free = || match tcp {
            true => std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok(),
            false => UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok(),
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !dials_in && free() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "sipp never bound its SIP port"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Sipp {
            child,
            port,
            messages,
            _dir: dir,
        }
    }

    /// Waits for SIPp to finish its one call.
    async fn finished(&mut self) -> ExitStatus {
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("sipp finishes its call")
            .expect("sipp exit status")
    }

    /// Waits for SIPp's call to end well: it saw `request_line` and the
    /// gateway's BYE.
    async fn hung_up_after(&mut self, request_line: &str) {
        let status = self.finished().await;
        let messages = self.messages();
        assert!(
            status.success(),
            "sipp's call completed: {status:?}\n{messages}"
        );
        assert!(
            messages.contains(request_line),
            "{request_line} in\n{messages}"
        );
        assert!(
            messages.contains("BYE sip:"),
            "the gateway hung up with a BYE"
        );
    }

    /// The SIP messages SIPp sent and received, and its errors.
    fn messages(&self) -> String {
        let errors = self.messages.with_file_name("errors.log");
        format!(
            "{}\n--- sipp errors ---\n{}",
            std::fs::read_to_string(&self.messages).unwrap_or_default(),
            std::fs::read_to_string(errors).unwrap_or_default()
        )
    }
}

const INTERNAL_KEY: &str = "sipgw-test-internal-key";

/// How signal reaches the gateway.
#[derive(Clone, Copy, PartialEq)]
enum Reach {
    /// In the same process, as in `yunhui up`.
    InProcess,
    /// Over the gateway's internal HTTP API, as in Kubernetes.
    Http,
    /// Through a call control the test gives signal itself.
    Later,
}

/// Serves the gateway's internal API on a free local port; returns its URL.
async fn serve_internal_api(gateway: Arc<SipGateway>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, internal_api::router(gateway, INTERNAL_KEY)).await;
    });
    url
}

async fn gateway(
    server: &Server,
    trunk: Option<SipTrunk>,
    ring_timeout: Duration,
    reach: Reach,
) -> Arc<SipGateway> {
    gateway_with(server, trunk, ring_timeout, reach, |_| {}).await
}

async fn gateway_with(
    server: &Server,
    trunk: Option<SipTrunk>,
    ring_timeout: Duration,
    reach: Reach,
    configure: impl FnOnce(&mut GatewayConfig),
) -> Arc<SipGateway> {
    let mut config = GatewayConfig::new(
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
        Ipv4Addr::LOCALHOST.into(),
        &server.base_url,
    );
    config.trunk = trunk;
    config.ring_timeout = ring_timeout;
    config.alone_timeout = Duration::from_secs(2);
    // Joins for devices name them to signal when the two share a key.
    config.internal_key = server.app.config.internal_key.clone();
    configure(&mut config);
    let gateway = Arc::new(SipGateway::start(config).await.expect("gateway starts"));
    match reach {
        Reach::InProcess => server.app.set_call_control(gateway.clone()),
        Reach::Http => {
            let url = serve_internal_api(gateway.clone()).await;
            server
                .app
                .set_call_control(Arc::new(HttpCallControl::new(&url, INTERNAL_KEY)));
        }
        Reach::Later => {}
    }
    gateway
}

/// A meeting with `password` and its host in it.
async fn host_of(server: &Server, password: Option<&str>) -> (MeetingSession, Meeting) {
    let (api, meeting) = server.meeting(password).await;
    (join_as_host(server, &api, &meeting).await, meeting)
}

async fn join_as_host(server: &Server, api: &ApiClient, meeting: &Meeting) -> MeetingSession {
    MeetingSession::join(
        &server.base_url,
        JoinOptions {
            meeting_number: meeting.number.clone(),
            display_name: "Host".into(),
            token: api.token().map(String::from),
            media_bind: Some("127.0.0.1:0".into()),
            ..JoinOptions::default()
        },
    )
    .await
    .expect("host joins")
}

/// Waits for the call to reach `state` and returns that update.
async fn dial_reaches(host: &MeetingSession, state: DialState) -> DialUpdate {
    host.wait_until("the call's state", WAIT, |v| {
        v.dials.iter().any(|d| d.state == state)
    })
    .await
    .unwrap_or_else(|_| panic!("the call never reached {state:?}: {:?}", host.view().dials));
    host.view()
        .dials
        .into_iter()
        .find(|d| d.state == state)
        .expect("just seen")
}

/// Sends a continuous 440 Hz tone as real Opus until the task is aborted.
fn publish_tone(mut audio: yunhui_client::media::AudioSender) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut encoder = OpusEncoder::new(48_000, 1, Application::Voip).expect("encoder");
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut n: u64 = 0;
        let mut out = [0u8; 1500];
        loop {
            tick.tick().await;
            let frame: Vec<f32> = (0..960)
                .map(|i| {
                    let t = (n + i) as f64 / 48_000.0;
                    (0.3 * (2.0 * std::f64::consts::PI * TONE_HZ * t).sin()) as f32
                })
                .collect();
            n += 960;
            let len = encoder.encode(&frame, 960, &mut out).expect("encode");
            audio
                .send(bytes::Bytes::copy_from_slice(&out[..len]), 960, 10)
                .await;
        }
    })
}

/// Power of `hz` in `samples` (48 kHz) relative to their mean square: about
/// 1 for a pure tone at `hz`, about 0 for one elsewhere.
fn tone_share(samples: &[f32], hz: f64) -> f64 {
    // Measured per 100 ms block and summed: a lost packet leaves a gap (the
    // decoded frames are appended back to back), which shifts the phase, so
    // one transform over the whole window would cancel itself at the gap.
    const BLOCK: usize = 4_800;
    let (mut tone_power, mut power) = (0.0, 0.0);
    for block in samples.chunks_exact(BLOCK) {
        let n = BLOCK as f64;
        let (mut re, mut im) = (0.0, 0.0);
        for (i, s) in block.iter().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * hz * i as f64 / 48_000.0;
            re += f64::from(*s) * phase.cos();
            im -= f64::from(*s) * phase.sin();
        }
        tone_power += 2.0 * (re * re + im * im) / (n * n);
        power += block.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / n;
    }
    if power == 0.0 {
        0.0
    } else {
        tone_power / power
    }
}

/// Decodes 2 s of what `participant` sends, as the host receives it.
async fn hear(
    packets: &mut tokio::sync::mpsc::Receiver<AudioPacket>,
    participant: &str,
) -> Vec<f32> {
    let mut decoder = OpusDecoder::new(48_000, 1).expect("decoder");
    let mut pcm = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Some(packet)) = tokio::time::timeout_at(deadline, packets.recv()).await {
        if &*packet.stream_id != participant {
            continue;
        }
        let mut frame = [0f32; 5760];
        if let Ok(n) = decoder.decode(&packet.payload, frame.len(), &mut frame) {
            pcm.extend_from_slice(&frame[..n]);
        }
    }
    pcm
}

/// The host calls a room system (or, through the trunk, a phone) into a
/// locked meeting with a waiting room: it enters anyway, shows up with its
/// address, hears the host and is heard. The room system is muted and
/// unmuted by the host and hangs up when removed; the phone hangs up once
/// everyone else has left. The
/// room system's call goes through an in-process gateway, the phone's
/// through the gateway's internal HTTP API.
async fn a_called_device_hears_the_meeting_and_is_heard(db: Db, by_phone: bool) {
    let server = support::start(db).await;
    let mut sipp = Sipp::start(Scenario::AnswerAndEcho).await;
    let trunk = SipTrunk {
        address: format!("127.0.0.1:{}", sipp.port),
        username: None,
        password: None,
    };
    let reach = if by_phone {
        Reach::Http
    } else {
        Reach::InProcess
    };
    let gateway = gateway(&server, by_phone.then_some(trunk), WAIT, reach).await;
    let (mut host, _meeting) = host_of(&server, None).await;
    host.host(HostCommand::SetLocked { locked: true }).unwrap();
    let mut options = {
        host.wait_until("the meeting's options", WAIT, |v| v.options.is_some())
            .await
            .unwrap();
        host.view().options.unwrap()
    };
    options.waiting_room = true;
    host.host(HostCommand::SetOptions { options }).unwrap();
    let tone = publish_tone(host.publish_audio().await.expect("host publishes audio"));
    let mut packets = host.subscriber().audio_packets(4096);

    let (target, request_line) = if by_phone {
        (
            DialTarget::Phone {
                number: "+86 138-0013-8000".into(),
            },
            format!("INVITE sip:+8613800138000@127.0.0.1:{} SIP/2.0", sipp.port),
        )
    } else {
        (
            DialTarget::Sip {
                uri: format!("boardroom@127.0.0.1:{}", sipp.port),
            },
            format!("INVITE sip:boardroom@127.0.0.1:{} SIP/2.0", sipp.port),
        )
    };
    host.dial(target).unwrap();
    let calling = dial_reaches(&host, DialState::Calling).await;
    let answered = dial_reaches(&host, DialState::Answered).await;
    assert_eq!(answered.call_id, calling.call_id, "one call, one id");
    let device = answered
        .participant_id
        .clone()
        .expect("answered names the participant");
    let shown = if by_phone {
        "+8613800138000".to_string()
    } else {
        format!("sip:boardroom@127.0.0.1:{}", sipp.port)
    };
    assert_eq!(answered.target, shown);
    host.wait_until("the device in the roster", WAIT, |v| {
        v.participants.contains_key(&device)
    })
    .await
    .expect("the called device entered despite the lock and the waiting room");
    let listed = host.view().participants[&device].clone();
    assert_eq!(listed.display_name, shown);
    assert!(host.view().waiting_room.is_empty(), "it did not wait");
    assert_eq!(gateway.active_calls(), 1);

    // The host's tone went to the device and came back from it.
    let _warm_up = hear(&mut packets, &device).await;
    let heard = hear(&mut packets, &device).await;
    assert!(
        heard.len() > 48_000,
        "about 2 s of the device's audio arrived, got {} samples",
        heard.len()
    );
    let at_tone = tone_share(&heard, TONE_HZ);
    let elsewhere = tone_share(&heard, 1000.0);
    assert!(
        at_tone > 0.5 && elsewhere < 0.05,
        "the device's audio is the host's 440 Hz tone: share at 440 Hz {at_tone:.3}, at 1 kHz {elsewhere:.3}"
    );

    if by_phone {
        // Everyone else leaves: the gateway hangs up instead of holding the line.
        tone.abort();
        host.leave().await;
        sipp.hung_up_after(&request_line).await;
        assert_eq!(gateway.active_calls(), 0);
        return;
    }

    // Muted by the host, the device is silenced at the SFU; the host's
    // unmute is answered by the gateway (a device has no button for it).
    host.host(HostCommand::Mute {
        participant_id: device.clone(),
    })
    .unwrap();
    host.wait_until("the device muted", WAIT, |v| {
        v.participants.get(&device).is_some_and(|p| p.audio_muted)
    })
    .await
    .unwrap();
    let _drain = hear(&mut packets, &device).await;
    let muted = hear(&mut packets, &device).await;
    assert!(
        muted.len() < 4800,
        "nothing arrives while muted, got {} samples",
        muted.len()
    );
    host.host(HostCommand::Unmute {
        participant_id: device.clone(),
    })
    .unwrap();
    host.wait_until("the device unmuted", WAIT, |v| {
        v.participants.get(&device).is_some_and(|p| !p.audio_muted)
    })
    .await
    .expect("the gateway accepts the host's unmute request");
    let _warm_up = hear(&mut packets, &device).await;
    let again = hear(&mut packets, &device).await;
    assert!(
        tone_share(&again, TONE_HZ) > 0.5,
        "the tone is back after unmuting ({} samples)",
        again.len()
    );
    tone.abort();

    // Removing the device hangs up the call: SIPp gets its BYE and ends well.
    host.host(HostCommand::Remove {
        participant_id: device.clone(),
    })
    .unwrap();
    sipp.hung_up_after(&request_line).await;
    let ended = dial_reaches(&host, DialState::Ended).await;
    assert_eq!(ended.reason.as_deref(), Some("removed from the meeting"));
    host.wait_until("the device gone", WAIT, |v| {
        !v.participants.contains_key(&device)
    })
    .await
    .unwrap();
    assert_eq!(gateway.active_calls(), 0);
    host.close().await;
}

async fn a_called_room_system_hears_the_meeting_and_is_heard(db: Db) {
    a_called_device_hears_the_meeting_and_is_heard(db, false).await
}

async fn a_called_phone_number_goes_through_the_sip_trunk(db: Db) {
    a_called_device_hears_the_meeting_and_is_heard(db, true).await
}

/// Why the last call of `host`'s meeting that failed did ("" if none).
fn last_failure(host: &MeetingSession) -> String {
    host.view()
        .dials
        .iter()
        .rev()
        .find(|d| d.state == DialState::Failed)
        .and_then(|d| d.reason.clone())
        .unwrap_or_default()
}

/// The error `session`'s dial of `target` is refused with.
async fn dial_refused(session: &MeetingSession, target: DialTarget) -> (ErrorCode, String) {
    session
        .request(ClientMessage::Dial { target }, ANSWER)
        .await
        .unwrap()
        .expect("the dial is refused")
}

fn room_at_localhost() -> DialTarget {
    DialTarget::Sip {
        uri: "room@127.0.0.1".into(),
    }
}

/// Calls that are not answered say why; bad targets, missing parts and
/// callers without the right are refused before anything rings; a made-up
/// ticket opens no meeting.
async fn calls_that_cannot_go_through_say_why(db: Db) {
    let server = support::start(db).await;
    let (host, meeting) = host_of(&server, None).await;

    // No gateway in this deployment.
    let refused = dial_refused(&host, room_at_localhost()).await;
    assert_eq!(refused.0, ErrorCode::Unavailable);
    assert!(refused.1.contains("SIP gateway"), "{}", refused.1);

    let _gateway = gateway(&server, None, Duration::from_secs(2), Reach::InProcess).await;
    for (target, words) in [
        (
            DialTarget::Sip {
                uri: "room@host\r\nVia: injected".into(),
            },
            "not a SIP address",
        ),
        (
            DialTarget::Phone {
                number: "12ab".into(),
            },
            "not a telephone number",
        ),
    ] {
        let (code, message) = dial_refused(&host, target).await;
        assert_eq!(code, ErrorCode::InvalidInput);
        assert!(message.contains(words), "{message}");
    }
    let (code, message) = dial_refused(
        &host,
        DialTarget::Phone {
            number: "110".into(),
        },
    )
    .await;
    assert_eq!(code, ErrorCode::Unavailable);
    assert!(message.contains("SIP trunk"), "{message}");

    // A participant may not call out unless invitees may invite.
    let guest = MeetingSession::join(
        &server.base_url,
        JoinOptions {
            meeting_number: meeting.number.clone(),
            display_name: "Guest".into(),
            media_bind: Some("127.0.0.1:0".into()),
            ..JoinOptions::default()
        },
    )
    .await
    .expect("guest joins");
    let (code, _) = dial_refused(&guest, room_at_localhost()).await;
    assert_eq!(code, ErrorCode::NotAllowed);

    // A ticket nobody issued.
    let forged = MeetingSession::join(
        &server.base_url,
        JoinOptions {
            meeting_number: meeting.number.clone(),
            display_name: "Intruder".into(),
            dial_ticket: Some("0".repeat(64)),
            media_bind: Some("127.0.0.1:0".into()),
            ..JoinOptions::default()
        },
    )
    .await;
    match forged {
        Err(SessionError::Refused { code, .. }) => assert_eq!(code, ErrorCode::EntryDenied),
        Err(other) => panic!("refused for the wrong reason: {other}"),
        Ok(_) => panic!("a made-up ticket opened the meeting"),
    }

    // Busy.
    let mut busy = Sipp::start(Scenario::Busy).await;
    host.dial(DialTarget::Sip {
        uri: format!("room@127.0.0.1:{}", busy.port),
    })
    .unwrap();
    let failed = dial_reaches(&host, DialState::Failed).await;
    let reason = failed.reason.unwrap_or_default();
    assert!(reason.starts_with("busy (486"), "{reason}");
    assert!(busy.finished().await.success(), "{}", busy.messages());

    // Rings and is never picked up: given up after the ring timeout, with a CANCEL.
    let mut ringing = Sipp::start(Scenario::RingForever).await;
    host.dial(DialTarget::Sip {
        uri: format!("phone@127.0.0.1:{}", ringing.port),
    })
    .unwrap();
    dial_reaches(&host, DialState::Ringing).await;
    host.wait_until("the second failure", WAIT, |v| {
        v.dials
            .iter()
            .filter(|d| d.state == DialState::Failed)
            .count()
            == 2
    })
    .await
    .unwrap();
    let reason = last_failure(&host);
    assert_eq!(reason, "no answer within 2 s");
    let status = ringing.finished().await;
    let messages = ringing.messages();
    assert!(status.success(), "{messages}");
    assert!(
        messages.contains("CANCEL sip:phone@127.0.0.1"),
        "{messages}"
    );
    // Nothing of either call joined the meeting.
    assert_eq!(host.view().participants.len(), 2, "host and guest only");
    guest.close().await;
    host.close().await;
}

/// A room system dials into a meeting with a password (F-SIP-1): the
/// meeting number is in its request URI, the password keyed in as RFC 4733
/// telephone events after a wrong first try. It is first in the meeting and
/// waits there for company; it shows under its SIP address, and the host's
/// removal hangs it up.
async fn a_room_system_dials_in_and_keys_in_the_password(db: Db) {
    let mut config = yunhui_signal::SignalConfig::default();
    config.discovery.sip_uri = Some("sip:127.0.0.1:5060".into());
    let server = support::start_with(db, config).await;
    let discovery = || async {
        reqwest::get(format!("{}/.well-known/yunhui", server.base_url))
            .await
            .unwrap()
            .json::<yunhui_proto::discovery::Discovery>()
            .await
            .unwrap()
    };
    assert_eq!(discovery().await.sip, None, "no SIP gateway connected yet");
    let gateway = gateway(&server, None, WAIT, Reach::InProcess).await;
    assert_eq!(
        discovery().await.sip.map(|s| s.uri).as_deref(),
        Some("sip:127.0.0.1:5060"),
        "devices are told where to call once the gateway is connected"
    );
    // Nobody is in the meeting yet (it may start before its host).
    let (api, meeting) = server.meeting(Some("2468")).await;
    // With the SIP gateway, invitations say what devices dial.
    let scheduled = api
        .schedule_meeting(&yunhui_proto::schedule::ScheduleRequest {
            start: "2030-01-07T10:00".into(),
            duration_minutes: 30,
            time_zone: "Asia/Shanghai".into(),
            ..Default::default()
        })
        .await
        .expect("schedule");
    let zh = api.invitation(&scheduled.meeting.id, "zh").await.unwrap();
    let dial = format!("拨入：{}@127.0.0.1;", scheduled.meeting.number);
    assert!(
        zh.contains("通过 H.323/SIP 设备加会：") && zh.lines().any(|l| l == dial),
        "{zh}"
    );
    let mut sipp = Sipp::start(Scenario::DialIn {
        number: meeting.number.clone(),
        to: gateway.local_addr(),
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while server.metric("yunhui_signal_participants").await < 1.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the room system never joined; sipp saw:\n{}",
            sipp.messages()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Alone in an empty meeting it waits for company, past the alone timeout.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(gateway.active_calls(), 1, "still connected");
    assert_eq!(server.metric("yunhui_signal_participants").await, 1.0);

    let host = join_as_host(&server, &api, &meeting).await;
    let name = format!("sip:boardroom@127.0.0.1:{}", sipp.port);
    host.wait_until("the room system in the meeting", WAIT, |v| {
        v.participants.values().any(|p| p.display_name == name)
    })
    .await
    .unwrap_or_else(|_| panic!("{name} is not in the meeting"));
    let device = host
        .view()
        .participants
        .values()
        .find(|p| p.display_name == name)
        .map(|p| p.id.clone())
        .expect("just seen");
    keyed_in_then_removed(&server, &gateway, &host, device, &mut sipp).await;
    host.close().await;
}

/// The end of a keyed-in dial-in: the device is the gateway's one call, it
/// was asked for the password and its first try refused; the host removes
/// it, the gateway hangs up, and SIPp's call (whose answer accepted
/// telephone events) completed. Returns what SIPp saw.
async fn keyed_in_then_removed(
    server: &Server,
    gateway: &SipGateway,
    host: &MeetingSession,
    device: String,
    sipp: &mut Sipp,
) -> String {
    assert_eq!(gateway.active_calls(), 1);
    for code in ["password_required", "wrong_password"] {
        let refusals = server
            .metric(&format!("yunhui_signal_errors_total{{code=\"{code}\"}}"))
            .await;
        assert_eq!(refusals, 1.0, "{code}");
    }
    host.host(HostCommand::Remove {
        participant_id: device,
    })
    .unwrap();
    let status = sipp.finished().await;
    let messages = sipp.messages();
    assert!(
        status.success(),
        "sipp's call completed: {status:?}\n{messages}"
    );
    assert!(
        messages.contains("telephone-event/8000"),
        "the gateway's answer accepts telephone events:\n{messages}"
    );
    assert!(messages.contains("BYE sip:"), "the gateway hung up");
    messages
}

/// A room system that dials into a webinar joins as an attendee: the
/// meeting takes none of its audio (its publish is refused) and the call
/// stays up, the device listening; allowed to talk, it is heard, and
/// revoked, no longer; removed, it is hung up.
async fn a_room_system_dials_into_a_webinar_and_listens_until_allowed_to_talk(db: Db) {
    let server = support::start(db).await;
    let gateway = gateway(&server, None, WAIT, Reach::InProcess).await;
    let api = server.signed_in("webinar-host@example.com").await;
    let webinar = api
        .schedule_meeting(&yunhui_proto::schedule::ScheduleRequest {
            start: "2030-01-07T10:00".into(),
            duration_minutes: 30,
            time_zone: "Asia/Shanghai".into(),
            password: Some("2468".into()),
            options: Some(yunhui_proto::api::MeetingOptions {
                webinar: true,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("schedule the webinar")
        .meeting;
    let host = join_as_host(&server, &api, &webinar).await;
    let sipp = Sipp::start(Scenario::DialInAndTalk {
        number: webinar.number.clone(),
        to: gateway.local_addr(),
    })
    .await;
    let name = format!("sip:boardroom@127.0.0.1:{}", sipp.port);
    host.wait_until("the room system in the webinar", WAIT, |v| {
        v.participants.values().any(|p| p.display_name == name)
    })
    .await
    .unwrap_or_else(|_| panic!("{name} is not in the webinar:\n{}", sipp.messages()));
    let device = host
        .view()
        .participants
        .values()
        .find(|p| p.display_name == name)
        .cloned()
        .expect("just seen");
    assert_eq!(device.role, Role::Attendee);
    // Past the publish the meeting refused, the call goes on; the device
    // talks, and the meeting does not hear it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        gateway.active_calls(),
        1,
        "the listening device is still connected"
    );
    assert!(
        host.subscriber()
            .track(&device.id, TrackKind::Audio)
            .is_none_or(|t| t.packets() == 0),
        "the meeting heard an attendee's device"
    );
    // Allowed to talk: the gateway publishes the call's audio now, and the
    // meeting hears the device.
    host.host(HostCommand::AllowTalk {
        participant_id: device.id.clone(),
        allowed: true,
    })
    .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let heard = loop {
        if let Some(track) = host.subscriber().track(&device.id, TrackKind::Audio)
            && track.packets() > 50
        {
            break track;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the host never heard the device allowed to talk:\n{}",
            sipp.messages()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Revoked: its audio stops at the SFU.
    host.host(HostCommand::AllowTalk {
        participant_id: device.id.clone(),
        allowed: false,
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let before = heard.packets();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        heard.packets(),
        before,
        "the device is heard after revoking"
    );
    host.host(HostCommand::Remove {
        participant_id: device.id,
    })
    .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while gateway.active_calls() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gateway did not hang up the removed device"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(sipp);
    host.close().await;
}

/// A trunk that asks for digest credentials gets the configured ones and
/// answers; with a wrong password the call fails and says so.
async fn a_trunk_that_asks_for_credentials_gets_them(db: Db) {
    for (password, answered) in [("trunk-secret", true), ("not-the-secret", false)] {
        let server = support::start(db).await;
        let mut sipp = Sipp::start(Scenario::Authenticate).await;
        let trunk = SipTrunk {
            address: format!("127.0.0.1:{}", sipp.port),
            username: Some("yunhui-trunk".into()),
            password: Some(password.into()),
        };
        let _gateway = gateway(&server, Some(trunk), WAIT, Reach::InProcess).await;
        let (host, _) = host_of(&server, None).await;
        host.dial(DialTarget::Phone {
            number: "13800138000".into(),
        })
        .unwrap();
        if answered {
            let call = dial_reaches(&host, DialState::Answered).await;
            host.host(HostCommand::Remove {
                participant_id: call.participant_id.expect("answered names the participant"),
            })
            .unwrap();
        } else {
            let call = dial_reaches(&host, DialState::Failed).await;
            let reason = call.reason.unwrap_or_default();
            assert!(reason.contains("403"), "{reason}");
        }
        let status = sipp.finished().await;
        let messages = sipp.messages();
        assert!(status.success(), "{messages}");
        assert!(
            messages.contains("username=\"yunhui-trunk\"")
                && messages.contains("realm=\"trunk.example\""),
            "the second INVITE answers the challenge:\n{messages}"
        );
        host.close().await;
    }
}

/// The internal API takes calls only from holders of the internal key and
/// only well-formed requests; a refusal (no trunk) says why, and reaches the
/// caller as a failed call through signal's client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_internal_api_refuses_strangers_and_bad_requests() {
    let config = GatewayConfig::new(
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
        Ipv4Addr::LOCALHOST.into(),
        "http://127.0.0.1:9",
    );
    let gateway = Arc::new(SipGateway::start(config).await.expect("gateway starts"));
    let url = serve_internal_api(gateway).await;
    let calls = format!("{url}/internal/v1/calls");
    let request = yunhui_proto::dial::DialRequest {
        call_id: "c1".into(),
        meeting_number: "123456789".into(),
        ticket: "t".into(),
        target: DialTarget::Phone {
            number: "110".into(),
        },
        display_name: "110".into(),
    };
    let client = reqwest::Client::new();
    for key in [None, Some("wrong")] {
        let mut post = client.post(&calls).json(&request);
        if let Some(key) = key {
            post = post.bearer_auth(key);
        }
        let response = post.send().await.unwrap();
        assert_eq!(response.status(), 401, "key {key:?}");
    }
    let response = client
        .post(&calls)
        .bearer_auth(INTERNAL_KEY)
        .header("content-type", "application/json")
        .body("{\"call_id\": 5}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("not a dial request"), "{text}");
    // The gateway answers 413 from the Content-Length alone and closes the
    // connection; on a busy machine that can cut the upload short before the
    // answer is read, so such a broken send is tried again (a 413 must come).
    let mut refused = None;
    for _ in 0..5 {
        match client
            .post(&calls)
            .bearer_auth(INTERNAL_KEY)
            .body(vec![b'x'; 64 * 1024])
            .send()
            .await
        {
            Ok(response) => {
                refused = Some(response.status());
                break;
            }
            Err(error) if error.is_request() => continue,
            Err(error) => panic!("sending an oversized body: {error}"),
        }
    }
    assert_eq!(
        refused,
        Some(reqwest::StatusCode::PAYLOAD_TOO_LARGE),
        "oversized bodies are refused"
    );
    // The gateway closes a connection whose body it refused unread: the
    // next request goes on a new one, not on that kept-alive connection.
    let response = reqwest::Client::new()
        .post(&calls)
        .bearer_auth(INTERNAL_KEY)
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("SIP trunk"));

    // Through signal's client the same refusal is a failed call.
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    let control = HttpCallControl::new(&url, INTERNAL_KEY);
    yunhui_proto::dial::CallControl::dial(
        &control,
        request,
        Box::new(move |event| {
            let _ = sender.send(event);
        }),
    )
    .unwrap();
    let event = tokio::time::timeout(WAIT, received.recv())
        .await
        .unwrap()
        .unwrap();
    match event {
        yunhui_proto::dial::CallEvent::Failed { reason } => {
            assert!(reason.contains("SIP trunk"), "{reason}")
        }
        other => panic!("expected a failed call, got {other:?}"),
    }
}

/// Polls `done` until it holds, for up to [`WAIT`].
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A scheduled meeting calls its invited room system as it starts (F-MTG-2):
/// the device answers and is in the meeting before anyone joined, shown by
/// its name; the host finds it there; the start is not called twice; with
/// everyone else gone the gateway hangs up. A busy device leaves the room
/// it opened closed again.
async fn a_scheduled_meeting_calls_its_devices_when_it_starts(db: Db) {
    use yunhui_proto::schedule::{MeetingDevice, ScheduleRequest};
    use yunhui_signal::live::ringing::ring_starting;

    let server = support::start(db).await;
    let mut sipp = Sipp::start(Scenario::AnswerAndEcho).await;
    let gateway = gateway(&server, None, WAIT, Reach::InProcess).await;
    let host_api = server
        .signed_in(&format!("host-{}@example.com", uuid::Uuid::new_v4()))
        .await;
    let schedule = |day: u32, name: &str, port: u16| ScheduleRequest {
        topic: Some("Board meeting".into()),
        start: format!("2030-05-{day:02}T09:30"),
        duration_minutes: 30,
        time_zone: "Asia/Shanghai".into(),
        devices: vec![MeetingDevice {
            name: name.into(),
            address: format!("sip:boardroom@127.0.0.1:{port}"),
        }],
        ..Default::default()
    };
    let scheduled = host_api
        .schedule_meeting(&schedule(7, "Boardroom", sipp.port))
        .await
        .unwrap();
    // 2030-05-07 09:30 in Shanghai is 01:30 UTC.
    let start = 1_904_347_800;
    let app = &server.app;
    ring_starting(app, start - 60, start - 1).await.unwrap();
    assert_eq!(gateway.active_calls(), 0, "not yet");
    ring_starting(app, start - 15, start).await.unwrap();
    eventually("the room system answers", async || {
        gateway.active_calls() == 1
    })
    .await;
    let live = host_api.meeting(&scheduled.meeting.id).await.unwrap();
    assert_eq!(
        live.status,
        MeetingStatus::Live,
        "the device opened the meeting"
    );
    ring_starting(app, start, start + 15).await.unwrap();

    let host = join_as_host(&server, &host_api, &scheduled.meeting).await;
    host.wait_until("the room system in the roster", WAIT, |v| {
        v.participants
            .values()
            .any(|p| p.display_name == "Boardroom")
    })
    .await
    .expect("the called room system is in the meeting, by its name");
    assert_eq!(gateway.active_calls(), 1, "called once");
    // The gateway looks at the roster every 500 ms: it sees the host before
    // the host leaves, and so knows the device had company.
    tokio::time::sleep(Duration::from_secs(2)).await;
    host.leave().await;
    sipp.hung_up_after(&format!(
        "INVITE sip:boardroom@127.0.0.1:{} SIP/2.0",
        sipp.port
    ))
    .await;

    // A busy room system: the meeting it would have opened stays waiting.
    let mut busy = Sipp::start(Scenario::Busy).await;
    let second = host_api
        .schedule_meeting(&schedule(8, "Small room", busy.port))
        .await
        .unwrap();
    let next_day = start + 24 * 3600;
    ring_starting(app, next_day - 15, next_day).await.unwrap();
    assert!(busy.finished().await.success(), "{}", busy.messages());
    eventually("the room closes again", async || {
        host_api.meeting(&second.meeting.id).await.unwrap().status == MeetingStatus::Waiting
            && app.rooms.count().await == 0
    })
    .await;
}

/// How a device reaches the gateway.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Over {
    Tcp,
    Tls,
}

/// A fresh certificate for `localhost`: PEM certificate and key, and the
/// certificate to trust.
fn test_certificate() -> (String, String, rustls_pki_types::CertificateDer<'static>) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    (
        cert.cert.pem(),
        cert.signing_key.serialize_pem(),
        cert.cert.der().clone(),
    )
}

/// Debian's SIPp is built without TLS: this relay carries SIPp's TCP
/// connection over TLS to the gateway, checking the gateway's certificate
/// against `trusted` as a device would. Returns where SIPp connects, and the
/// count of completed handshakes.
async fn tls_relay(
    gateway: SocketAddr,
    trusted: rustls_pki_types::CertificateDer<'static>,
) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted).expect("a trusted root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let handshakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((mut device, _)) = listener.accept().await {
            let (connector, counted) = (connector.clone(), counted.clone());
            tokio::spawn(async move {
                let Ok(tcp) = tokio::net::TcpStream::connect(gateway).await else {
                    return;
                };
                let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
                let Ok(mut tls) = connector.connect(name, tcp).await else {
                    return;
                };
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = tokio::io::copy_bidirectional(&mut device, &mut tls).await;
            });
        }
    });
    (address, handshakes)
}

/// The participant shown as `name`, once the host sees them.
async fn participant_named(host: &MeetingSession, name: &str, sipp: &Sipp) -> String {
    host.wait_until("the device in the meeting", WAIT, |v| {
        v.participants.values().any(|p| p.display_name == name)
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{name} is not in the meeting; sipp saw:\n{}",
            sipp.messages()
        )
    });
    host.view()
        .participants
        .values()
        .find(|p| p.display_name == name)
        .map(|p| p.id.clone())
        .expect("just seen")
}

/// A room system dials in over SIP over TCP, or over TLS (F-SIP-1): as on
/// UDP, it keys in the password after a wrong first try and is in the
/// meeting under its SIP address; the gateway's answer names the transport
/// in its Contact, and the host's removal hangs it up with a BYE that comes
/// back on the device's own connection.
async fn a_room_system_dials_in_over(over: Over) {
    let server = support::start(Db::Sqlite).await;
    let (cert_pem, key_pem, trusted) = test_certificate();
    let gateway = gateway_with(&server, None, WAIT, Reach::InProcess, |config| {
        config.tls = Some(SipTls {
            port: 0,
            cert_pem: cert_pem.into_bytes(),
            key_pem: key_pem.into_bytes(),
        });
    })
    .await;
    let (to, handshakes) = match over {
        Over::Tcp => (gateway.tcp_addr().expect("SIP over TCP"), None),
        Over::Tls => {
            let (to, handshakes) =
                tls_relay(gateway.tls_addr().expect("SIP over TLS"), trusted).await;
            (to, Some(handshakes))
        }
    };
    let (api, meeting) = server.meeting(Some("2468")).await;
    let host = join_as_host(&server, &api, &meeting).await;
    let mut sipp = Sipp::start(Scenario::Device {
        file: "dial_in.xml",
        number: meeting.number.clone(),
        to,
        ip: Ipv4Addr::LOCALHOST,
        tcp: true,
        set: Vec::new(),
    })
    .await;
    let name = format!("sip:boardroom@127.0.0.1:{}", sipp.port);
    let device = participant_named(&host, &name, &sipp).await;
    let messages = keyed_in_then_removed(&server, &gateway, &host, device, &mut sipp).await;
    let contact = match over {
        Over::Tcp => ";transport=tcp>",
        Over::Tls => ";transport=tls>",
    };
    assert!(
        messages
            .lines()
            .any(|l| l.starts_with("Contact:") && l.to_ascii_lowercase().contains(contact)),
        "the answer's Contact names {contact}:\n{messages}"
    );
    if let Some(handshakes) = handshakes {
        assert_eq!(
            handshakes.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "one TLS connection carried the call"
        );
    }
    host.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_system_dials_in_over_tcp() {
    a_room_system_dials_in_over(Over::Tcp).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_system_dials_in_over_tls() {
    a_room_system_dials_in_over(Over::Tls).await
}

/// A gateway refuses a TLS identity it cannot use, saying why, when it
/// starts rather than at a device's first handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_with_an_unusable_certificate_says_why() {
    let (cert_pem, _, _) = test_certificate();
    let (_, other_key, _) = test_certificate();
    for (cert, key, why) in [
        ("not a certificate", other_key.as_str(), "no certificate"),
        (cert_pem.as_str(), "not a key", "no private key"),
        (
            cert_pem.as_str(),
            other_key.as_str(),
            "do not make a TLS identity",
        ),
    ] {
        let mut config = GatewayConfig::new(
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
            Ipv4Addr::LOCALHOST.into(),
            "http://127.0.0.1:9",
        );
        config.tls = Some(SipTls {
            port: 0,
            cert_pem: cert.as_bytes().to_vec(),
            key_pem: key.as_bytes().to_vec(),
        });
        let error = SipGateway::start(config)
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains(why), "{why}: {error}");
    }
}

/// The RTP header's payload type and the payload of a packet without CSRCs
/// or extensions (what the gateway sends).
fn rtp_payload(packet: &[u8]) -> Option<(u8, &[u8])> {
    (packet.len() > 12 && packet[0] >> 6 == 2 && packet[0] & 0x1f == 0)
        .then(|| (packet[1] & 0x7f, &packet[12..]))
}

/// A device that offers Opus beside G.711 gets Opus (F-SIP-1): the answer
/// takes Opus under the device's payload type 111 and nothing else (SIPp
/// checks the SDP), the device receives Opus RTP carrying the host's tone,
/// and the Opus it sends (a 660 Hz tone) is heard by the host. The device's
/// media is the test's own UDP socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_offering_opus_gets_opus_both_ways() {
    const DEVICE_HZ: f64 = 660.0;
    let server = support::start(Db::Sqlite).await;
    let gateway = gateway(&server, None, WAIT, Reach::InProcess).await;
    let (mut host, meeting) = host_of(&server, None).await;
    let tone = publish_tone(host.publish_audio().await.expect("host publishes audio"));
    let mut packets = host.subscriber().audio_packets(4096);
    let media = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let mut sipp = Sipp::start(Scenario::Device {
        file: "dial_in_opus.xml",
        number: meeting.number.clone(),
        to: gateway.local_addr(),
        ip: Ipv4Addr::LOCALHOST,
        tcp: false,
        set: vec![("media", media.local_addr().unwrap().port().to_string())],
    })
    .await;
    // What the device hears: 3 s of Opus under 111, the last 2 s decoded.
    let mut decoder = OpusDecoder::new(48_000, 1).expect("decoder");
    let mut heard_by_device = Vec::new();
    let mut buf = [0u8; 2048];
    let mut from_gateway = None;
    let mut received = 0;
    while received < 150 {
        let (len, from) = tokio::time::timeout(WAIT, media.recv_from(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no RTP from the gateway; sipp saw:\n{}", sipp.messages()))
            .unwrap();
        let (pt, payload) = rtp_payload(&buf[..len]).expect("an RTP packet");
        assert_eq!(pt, 111, "the gateway sends Opus under the device's type");
        from_gateway = Some(from);
        received += 1;
        let mut frame = [0f32; 5760];
        let n = decoder
            .decode(payload, frame.len(), &mut frame)
            .expect("the gateway's Opus decodes");
        assert_eq!(n, 960, "20 ms per packet");
        if received > 50 {
            heard_by_device.extend_from_slice(&frame[..n]);
        }
    }
    let share = tone_share(&heard_by_device, TONE_HZ);
    assert!(
        share > 0.5,
        "the device hears the host's tone (share {share:.2})"
    );
    // What the device says: its Opus tone, heard by the host.
    let gateway_rtp = from_gateway.expect("packets came");
    let device = participant_named(
        &host,
        &format!("sip:opus-room@127.0.0.1:{}", sipp.port),
        &sipp,
    )
    .await;
    let talking = {
        let media = media.clone();
        tokio::spawn(async move {
            let mut encoder = OpusEncoder::new(48_000, 1, Application::Voip).expect("encoder");
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let mut out = [0u8; 1500];
            for n in 0u32.. {
                tick.tick().await;
                let frame: Vec<f32> = (0..960)
                    .map(|i| {
                        let t = f64::from(n * 960 + i) / 48_000.0;
                        (0.3 * (2.0 * std::f64::consts::PI * DEVICE_HZ * t).sin()) as f32
                    })
                    .collect();
                let len = encoder.encode(&frame, 960, &mut out).expect("encode");
                let mut packet = vec![0x80, 111];
                packet.extend_from_slice(&(n as u16).to_be_bytes());
                packet.extend_from_slice(&(n * 960).to_be_bytes());
                packet.extend_from_slice(&0x0bad_cafe_u32.to_be_bytes());
                packet.extend_from_slice(&out[..len]);
                let _ = media.send_to(&packet, gateway_rtp).await;
            }
        })
    };
    let _warm_up = hear(&mut packets, &device).await;
    let heard = hear(&mut packets, &device).await;
    talking.abort();
    assert!(
        heard.len() > 48_000,
        "about 2 s of the device's audio arrived, got {} samples",
        heard.len()
    );
    let share = tone_share(&heard, DEVICE_HZ);
    assert!(
        share > 0.5,
        "the host hears the device's tone (share {share:.2})"
    );
    tone.abort();
    host.host(HostCommand::Remove {
        participant_id: device,
    })
    .unwrap();
    let status = sipp.finished().await;
    let messages = sipp.messages();
    assert!(
        status.success(),
        "sipp found Opus in the answer and the call completed: {status:?}\n{messages}"
    );
    assert!(messages.contains("BYE sip:"), "the gateway hung up");
    host.close().await;
}

/// A room system whose address says `;transport=tcp` is called over SIP
/// over TCP: the INVITE goes on a TCP connection with a Via and Contact
/// naming TCP, the call is answered and in the meeting, and the host's
/// removal hangs it up with a BYE on that connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_system_is_called_over_tcp() {
    let server = support::start(Db::Sqlite).await;
    let mut sipp = Sipp::start(Scenario::AnswerAndEchoOverTcp).await;
    let _gateway = gateway(&server, None, WAIT, Reach::InProcess).await;
    let (host, _) = host_of(&server, None).await;
    host.dial(DialTarget::Sip {
        uri: format!("boardroom@127.0.0.1:{};transport=tcp", sipp.port),
    })
    .unwrap();
    let call = dial_reaches(&host, DialState::Answered).await;
    host.host(HostCommand::Remove {
        participant_id: call.participant_id.expect("answered names the participant"),
    })
    .unwrap();
    sipp.hung_up_after(&format!(
        "INVITE sip:boardroom@127.0.0.1:{};transport=TCP SIP/2.0",
        sipp.port
    ))
    .await;
    let messages = sipp.messages();
    assert!(
        messages.contains("TCP message received") && messages.contains("Via: SIP/2.0/TCP"),
        "the INVITE came over TCP:\n{messages}"
    );
    assert!(
        messages.lines().any(
            |l| l.starts_with("Contact:") && l.to_ascii_lowercase().contains(";transport=tcp>")
        ),
        "the gateway's Contact names TCP:\n{messages}"
    );
    host.close().await;
}

/// Password guesses are throttled per device, not per gateway (F-MTG-7,
/// F-SIP-1): a device at 127.0.0.2 keys in wrong passwords until signal
/// refuses it and the gateway hangs up; a device at 127.0.0.3 then keys in
/// the right one and is let in, though both joined through the one gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guesses_from_one_device_do_not_lock_out_another() {
    let server = support::start_with(
        Db::Sqlite,
        yunhui_signal::SignalConfig {
            internal_key: Some(INTERNAL_KEY.into()),
            password_throttle: yunhui_signal::live::throttle::ThrottleConfig {
                free_failures: 3,
                source_limit: 3,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    let gateway = gateway(&server, None, WAIT, Reach::InProcess).await;
    let (api, meeting) = server.meeting(Some("2468")).await;
    let host = join_as_host(&server, &api, &meeting).await;
    let device = |file: &'static str, ip: [u8; 4]| Scenario::Device {
        file,
        number: meeting.number.clone(),
        to: gateway.local_addr(),
        ip: ip.into(),
        tcp: false,
        set: Vec::new(),
    };
    let mut guesser = Sipp::start(device("dial_in_guess.xml", [127, 0, 0, 2])).await;
    let status = guesser.finished().await;
    let messages = guesser.messages();
    assert!(
        status.success(),
        "hung up after its guesses: {status:?}\n{messages}"
    );
    let metric = |code: &'static str| {
        let server = &server;
        async move {
            server
                .metric(&format!("yunhui_signal_errors_total{{code=\"{code}\"}}"))
                .await
        }
    };
    assert_eq!(metric("password_required").await, 1.0);
    assert_eq!(metric("wrong_password").await, 2.0);
    assert_eq!(
        metric("too_many_attempts").await,
        1.0,
        "its last try was refused unchecked"
    );
    let mut rightful = Sipp::start(device("dial_in.xml", [127, 0, 0, 3])).await;
    let name = format!("sip:boardroom@127.0.0.3:{}", rightful.port);
    let device = participant_named(&host, &name, &rightful).await;
    assert_eq!(metric("too_many_attempts").await, 1.0, "not refused");
    assert_eq!(gateway.active_calls(), 1);
    host.host(HostCommand::Remove {
        participant_id: device,
    })
    .unwrap();
    let status = rightful.finished().await;
    assert!(status.success(), "{}", rightful.messages());
    host.close().await;
}

on_both_databases!(
    a_called_room_system_hears_the_meeting_and_is_heard,
    a_called_phone_number_goes_through_the_sip_trunk,
    calls_that_cannot_go_through_say_why,
    a_trunk_that_asks_for_credentials_gets_them,
    a_room_system_dials_in_and_keys_in_the_password,
    a_room_system_dials_into_a_webinar_and_listens_until_allowed_to_talk,
    a_scheduled_meeting_calls_its_devices_when_it_starts,
    a_scaled_gateway_reports_its_calls_takes_no_more_than_its_maximum_and_drains_when_marked,
    calls_out_go_to_the_gateway_with_room,
);

/// A device dialling meeting `number` at `gateway`, which answers 503
/// Service Unavailable: the SIP messages.
async fn turned_away(gateway: &SipGateway, number: &str) -> String {
    let mut device = Sipp::start(Scenario::Device {
        file: "dial_in_refused.xml",
        number: number.into(),
        to: gateway.local_addr(),
        ip: Ipv4Addr::LOCALHOST,
        tcp: false,
        set: Vec::new(),
    })
    .await;
    let status = device.finished().await;
    let messages = device.messages();
    assert!(
        status.success(),
        "the device is answered 503: {status:?}\n{messages}"
    );
    messages
}

/// `host` calls a room system that rings until cancelled; once it rings.
async fn dial_a_ringing_room(host: &MeetingSession) -> Sipp {
    let ringing = Sipp::start(Scenario::RingForever).await;
    host.dial(DialTarget::Sip {
        uri: format!("room@127.0.0.1:{}", ringing.port),
    })
    .unwrap();
    dial_reaches(host, DialState::Ringing).await;
    ringing
}

/// The internal key of the scaled gateways' tests.
const SCALED_KEY: &str = "scaled-gateway-internal-key";

/// Signal with the internal key scaled gateways report with.
async fn signal_for_scaled_gateways(db: Db) -> Server {
    let config = yunhui_signal::SignalConfig {
        internal_key: Some(SCALED_KEY.into()),
        ..Default::default()
    };
    support::start_with(db, config).await
}

/// A gateway of a scaled pool taking at most one call, reporting to
/// `server` as `id` (signal is given its call control by the test).
async fn scaled_gateway(
    server: &Server,
    id: &str,
) -> (
    Arc<SipGateway>,
    String,
    yunhui_runtime::worker_report::Reporter,
) {
    use yunhui_runtime::worker_report::{Registration, Reporter};
    let gateway = gateway_with(server, None, WAIT, Reach::Later, |config| {
        config.max_calls = Some(1);
    })
    .await;
    let control_url = serve_internal_api(gateway.clone()).await;
    let reporter = Reporter::start(
        yunhui_proto::worker::WorkerPool::SipGateways,
        gateway.clone() as _,
        Registration {
            signal_url: server.base_url.clone(),
            internal_key: SCALED_KEY.into(),
            worker_id: id.into(),
            control_url: control_url.clone(),
            capacity: 1,
        },
    );
    (gateway, control_url, reporter)
}

/// A gateway that drains (its pod is stopping: SIGTERM) keeps the call in
/// progress and takes no new one: a device dialling in is answered 503
/// with a Retry-After, signal's calls out are refused saying why, and
/// `/readyz` fails so the Service leaves the pod; once the call ends the
/// gateway is idle (and its process may stop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_gateway_keeps_its_call_and_takes_no_new_one() {
    let server = support::start(Db::Sqlite).await;
    let gateway = gateway(&server, None, WAIT, Reach::InProcess).await;
    let internal_api = serve_internal_api(gateway.clone()).await;
    let ready = || async {
        reqwest::get(format!("{internal_api}/readyz"))
            .await
            .expect("the internal API answers")
            .status()
    };
    let (api, meeting) = server.meeting(Some("2468")).await;
    let host = join_as_host(&server, &api, &meeting).await;
    let mut sipp = Sipp::start(Scenario::DialIn {
        number: meeting.number.clone(),
        to: gateway.local_addr(),
    })
    .await;
    let name = format!("sip:boardroom@127.0.0.1:{}", sipp.port);
    let device = participant_named(&host, &name, &sipp).await;
    assert_eq!(ready().await, reqwest::StatusCode::OK);

    gateway.drain();
    assert!(gateway.is_draining());
    assert_eq!(
        ready().await,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "a draining gateway is not ready: the Service sends it no new calls"
    );
    let messages = turned_away(&gateway, &meeting.number).await;
    assert!(
        messages.contains("Retry-After: 30"),
        "it is told to try again:\n{messages}"
    );
    let (code, message) = dial_refused(&host, room_at_localhost()).await;
    assert_eq!(code, ErrorCode::Unavailable);
    assert!(message.contains("draining"), "{message}");

    // The call in progress goes on.
    assert!(
        !gateway.idle(Duration::from_secs(2)).await,
        "the device's call is still in progress"
    );
    assert_eq!(gateway.active_calls(), 1);
    assert!(
        host.view().participants.contains_key(&device),
        "the device is still in the meeting"
    );
    // It ends (the host removes the device): the gateway is idle.
    host.host(HostCommand::Remove {
        participant_id: device,
    })
    .unwrap();
    assert!(gateway.idle(WAIT).await, "idle once its call ended");
    assert_eq!(gateway.active_calls(), 0);
    let status = sipp.finished().await;
    assert!(
        status.success(),
        "the first device's call completed: {status:?}\n{}",
        sipp.messages()
    );
    host.close().await;
}

/// A gateway of a pool scaled by its calls (`sip.autoscale`): it reports
/// its calls to signal, where the operator reads them (`GET
/// /internal/v1/sip-gateways`, the same table whichever database); it
/// takes at most its maximum (`callsPerNode`): a ringing call fills a
/// gateway of one, and a second call out is refused saying so, a device
/// dialling in is answered 503 with a Retry-After; marked draining in
/// signal (the operator is about to remove its pod), it learns so from the
/// answer to its next report and takes no new calls, the ringing one going
/// on. Bad reports and requests are refused saying why.
async fn a_scaled_gateway_reports_its_calls_takes_no_more_than_its_maximum_and_drains_when_marked(
    db: Db,
) {
    use yunhui_proto::worker::{WorkerList, WorkerLoad};

    const KEY: &str = SCALED_KEY;
    let server = signal_for_scaled_gateways(db).await;
    let (gateway, _, _reporter) = scaled_gateway(&server, "prod-sip-7d9f-x2x4z").await;
    server.app.set_call_control(gateway.clone());
    let http = reqwest::Client::new();
    let table = format!("{}/internal/v1/sip-gateways", server.base_url);
    let listed = || {
        let (http, table) = (http.clone(), table.clone());
        async move {
            let list: WorkerList = http
                .get(&table)
                .bearer_auth(KEY)
                .send()
                .await
                .expect("signal answers")
                .json()
                .await
                .expect("a gateway list");
            list.workers
        }
    };
    let expect = |calls: u64, draining: bool| WorkerLoad {
        worker_id: "prod-sip-7d9f-x2x4z".into(),
        live: true,
        draining,
        capacity: 1,
        in_progress: calls,
    };
    let mut last = Vec::new();
    eventually("the gateway listed with no call", async || {
        last = listed().await;
        last == [expect(0, false)]
    })
    .await;

    // One ringing call fills it.
    let (host, _meeting) = host_of(&server, None).await;
    let ringing = dial_a_ringing_room(&host).await;
    assert_eq!(gateway.active_calls(), 1);
    eventually("the ringing call reported", async || {
        listed().await == [expect(1, false)]
    })
    .await;
    let (code, message) = dial_refused(&host, room_at_localhost()).await;
    assert_eq!(code, ErrorCode::Unavailable);
    assert!(message.contains("as many calls as it takes"), "{message}");
    let messages = turned_away(&gateway, "123456789").await;
    assert!(messages.contains("Retry-After: 10"), "{messages}");
    assert_eq!(gateway.active_calls(), 1);

    // Marked draining by the operator: the gateway learns it.
    let drain = |id: &str| {
        http.post(format!("{table}/{id}/drain"))
            .bearer_auth(KEY)
            .send()
    };
    let marked = drain("prod-sip-7d9f-x2x4z").await.expect("signal answers");
    assert_eq!(marked.status(), reqwest::StatusCode::OK);
    let marked: WorkerLoad = marked.json().await.expect("the gateway's entry");
    assert!(marked.draining);
    eventually("the gateway draining on its own report", async || {
        gateway.is_draining()
    })
    .await;
    assert_eq!(listed().await, [expect(1, true)]);
    assert_eq!(gateway.active_calls(), 1, "the ringing call goes on");
    let (_, message) = dial_refused(&host, room_at_localhost()).await;
    assert!(message.contains("draining"), "{message}");

    // Bad requests.
    let unknown = drain("prod-sip-none").await.expect("signal answers");
    assert_eq!(unknown.status(), reqwest::StatusCode::NOT_FOUND);
    assert!(unknown.text().await.unwrap().contains("has not reported"));
    let put = |id: &str, body: serde_json::Value, key: &str| {
        http.put(format!("{table}/{id}"))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    let report = |id: &str, capacity: u64| {
        serde_json::json!({"workerId": id, "controlUrl": "http://10.0.0.9:8090",
            "inProgress": 0, "capacity": capacity, "draining": false})
    };
    let wrong_key = put("sip-b", report("sip-b", 5), "not-the-key")
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), reqwest::StatusCode::UNAUTHORIZED);
    for (id, body, says) in [
        ("sip-b", report("sip-c", 5), "was sent for SIP gateway"),
        (
            "sip-b",
            report("sip-b", 0),
            "capacity must be 1 to 100000 calls",
        ),
        ("sip b", report("sip b", 5), "SIP gateway id must be"),
        (
            "sip-b",
            serde_json::json!({"workerId": "sip-b"}),
            "missing field",
        ),
    ] {
        let refused = put(id, body, KEY).await.unwrap();
        assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
        let text = refused.text().await.unwrap();
        assert!(text.contains(says), "{says:?} in {text}");
    }
    assert_eq!(
        listed().await.len(),
        1,
        "nothing recorded from a bad report"
    );
    drop(ringing);
    host.close().await;
}

/// Two gateways of one call each, reporting to signal's table: a call out
/// goes to one, the next to the other (the first is full), and a third,
/// with both full, is refused saying so (the Service, tried last, is full
/// too).
async fn calls_out_go_to_the_gateway_with_room(db: Db) {
    let server = signal_for_scaled_gateways(db).await;
    let mut gateways = Vec::new();
    let mut reporters = Vec::new();
    for id in ["prod-sip-a", "prod-sip-b"] {
        let (gateway, control_url, reporter) = scaled_gateway(&server, id).await;
        reporters.push(reporter);
        gateways.push((gateway, control_url));
    }
    // The Service: here, the first gateway's own address.
    let control = HttpCallControl::new(&gateways[0].1, INTERNAL_KEY)
        .with_worker_table(server.app.store.clone());
    server.app.set_call_control(Arc::new(control));
    let store = server.app.store.clone();
    eventually("both gateways in the table", async || {
        yunhui_signal::workers::by_room(&store, yunhui_proto::worker::WorkerPool::SipGateways)
            .await
            .is_ok_and(|urls| urls.len() == 2)
    })
    .await;

    let (host, _meeting) = host_of(&server, None).await;
    let first = dial_a_ringing_room(&host).await;
    let busy: Vec<usize> = gateways.iter().map(|(g, _)| g.active_calls()).collect();
    assert_eq!(busy.iter().sum::<usize>(), 1, "{busy:?}");
    // The next call goes to the other gateway, once the table knows.
    eventually("the ringing call in the table", async || {
        yunhui_signal::workers::by_room(&store, yunhui_proto::worker::WorkerPool::SipGateways)
            .await
            .is_ok_and(|urls| urls.len() == 1)
    })
    .await;
    let second = Sipp::start(Scenario::RingForever).await;
    host.dial(DialTarget::Sip {
        uri: format!("room@127.0.0.1:{}", second.port),
    })
    .unwrap();
    eventually("the second call ringing on the other gateway", async || {
        gateways.iter().all(|(g, _)| g.active_calls() == 1)
    })
    .await;
    eventually("both calls in the table", async || {
        yunhui_signal::workers::by_room(&store, yunhui_proto::worker::WorkerPool::SipGateways)
            .await
            .is_ok_and(|urls| urls.is_empty())
    })
    .await;
    // Both full: the Service's gateway refuses, saying so.
    host.dial(room_at_localhost()).unwrap();
    host.wait_until("the third call failed", WAIT, |v| {
        v.dials.iter().any(|d| d.state == DialState::Failed)
    })
    .await
    .unwrap();
    let reason = last_failure(&host);
    assert!(reason.contains("as many calls as it takes"), "{reason}");
    drop((first, second, reporters));
    host.close().await;
}
