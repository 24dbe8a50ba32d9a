//! TURN for participants: with a TURN server configured, every join answer
//! carries it with short-lived credentials for that participant, which the
//! SFU's check of the same secret accepts, and the discovery document lists
//! its URLs; without one, neither does.

use crate::support;

use std::time::SystemTime;

use yunhui_client::signaling::SignalingClient;
use yunhui_proto::signaling::{ClientMessage, ServerMessage};
use yunhui_proto::turn::{RestUsername, password_for};
use yunhui_signal::live::turn_credentials::TurnService;

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

async fn join_answer(server: &support::Server) -> (String, Vec<yunhui_proto::turn::IceServer>) {
    let (_api, meeting) = server.meeting(None).await;
    let (mut client, _) = SignalingClient::connect(&server.base_url).await.unwrap();
    client
        .send(&ClientMessage::Join {
            meeting_number: meeting.number.clone(),
            display_name: "Tess".into(),
            password: None,
            link_key: None,
            token: None,
            device_id: None,
            dial_ticket: None,
            recorder_ticket: None,
        })
        .await
        .unwrap();
    match client.recv(WAIT).await.unwrap() {
        ServerMessage::Joined {
            participant_id,
            ice_servers,
            ..
        } => (participant_id, ice_servers),
        other => panic!("expected joined, got {other:?}"),
    }
}

async fn discovery_turn(server: &support::Server) -> Vec<String> {
    reqwest::get(format!("{}/.well-known/yunhui", server.base_url))
        .await
        .unwrap()
        .json::<yunhui_proto::discovery::Discovery>()
        .await
        .unwrap()
        .turn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_gets_turn_credentials_of_its_own() {
    let config = yunhui_signal::SignalConfig {
        turn: Some(TurnService {
            endpoints: Some(TurnService::parse_endpoint("turn.example.com:3478:443").unwrap()),
            secret: b"shared with the SFU".to_vec(),
        }),
        ..Default::default()
    };
    let server = support::start_with(support::Db::Sqlite, config).await;
    let (participant_id, ice_servers) = join_answer(&server).await;
    let [server_entry] = &ice_servers[..] else {
        panic!("one ICE server: {ice_servers:?}");
    };
    let urls = [
        "turn:turn.example.com:3478?transport=udp",
        "turn:turn.example.com:3478?transport=tcp",
        "turns:turn.example.com:443?transport=tcp",
    ];
    assert_eq!(server_entry.urls, urls);
    let username = RestUsername::parse(&server_entry.username, SystemTime::now())
        .expect("the username is a valid REST-API one");
    assert_eq!(username.participant, participant_id);
    assert_eq!(
        server_entry.credential,
        password_for(b"shared with the SFU", &server_entry.username),
        "the SFU derives the same password from the same secret"
    );
    assert_eq!(discovery_turn(&server).await, urls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_turn_the_join_answer_has_no_ice_servers() {
    let server = support::start(support::Db::Sqlite).await;
    let (_, ice_servers) = join_answer(&server).await;
    assert!(ice_servers.is_empty());
    assert!(discovery_turn(&server).await.is_empty());
}
