//! A subscriber on a network without UDP: a webrtc-rs peer connection that binds
//! TCP only and takes TCP candidates only, so only ICE-TCP (its active TCP
//! candidate against the node's passive one) can connect it. Shared by the
//! ICE-TCP test and the fan-out benchmark (`--transport tcp`).
// Each of them uses part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use rtc::ice::network_type::NetworkType;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCPeerConnectionState, RTCSessionDescription,
    Registry, SettingEngineBuilder, register_default_interceptors,
};

/// A received track: the publisher's stream id, the kind, packets so far.
type ReceivedTrack = (String, String, Arc<AtomicU64>);

#[derive(Clone, Default)]
struct Events {
    tracks: Arc<Mutex<Vec<ReceivedTrack>>>,
    connected: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.connected
            .store(state == RTCPeerConnectionState::Connected, Ordering::SeqCst);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let packets = Arc::new(AtomicU64::new(0));
        let kind = track.kind().await.to_string().to_ascii_lowercase();
        let stream_id = track.stream_id().await;
        self.tracks
            .lock()
            .push((stream_id, kind, Arc::clone(&packets)));
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(_) = event {
                    packets.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
}

/// The subscriber PC of a client whose network drops UDP.
pub struct TcpOnlySubscriber {
    pc: Arc<dyn PeerConnection>,
    events: Events,
}

impl TcpOnlySubscriber {
    /// Builds the peer connection, with a TCP socket on loopback and no UDP one.
    pub async fn new() -> Self {
        let events = Events::default();
        let mut engine = MediaEngine::default();
        engine.register_default_codecs().expect("codecs");
        let registry =
            register_default_interceptors(Registry::new(), &mut engine).expect("registry");
        let settings = SettingEngineBuilder::new()
            .with_network_types(vec![NetworkType::Tcp4])
            .build();
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(Arc::new(events.clone()))
            .with_tcp_addrs(vec!["127.0.0.1:0".to_owned()])
            .with_udp_addrs(Vec::<String>::new())
            .build()
            .await
            .expect("TCP-only peer connection");
        Self {
            pc: Arc::new(pc),
            events,
        }
    }

    /// Applies the SFU's offer and returns the answer.
    pub async fn apply_offer(&self, offer: &str) -> String {
        let pc = &self.pc;
        pc.set_remote_description(RTCSessionDescription::offer(offer.to_owned()).expect("offer"))
            .await
            .expect("apply offer");
        // webrtc-rs 0.21 dials a passive TCP candidate only when it is trickled, not when
        // it comes in the SDP (browsers dial both): hand it over as a trickling client would.
        for line in offer.lines().filter(|l| l.contains(" tcptype passive")) {
            if let Some(candidate) = line.strip_prefix("a=") {
                pc.add_ice_candidate(RTCIceCandidateInit {
                    candidate: candidate.to_owned(),
                    sdp_mline_index: Some(0),
                    ..Default::default()
                })
                .await
                .expect("add the SFU's TCP candidate");
            }
        }
        let answer = pc.create_answer(None).await.expect("answer");
        pc.set_local_description(answer).await.expect("set answer");
        pc.local_description().await.expect("local answer").sdp
    }

    /// RTP packets received on the tracks of `stream_id` of `kind` ("audio", "video").
    pub fn packets(&self, stream_id: &str, kind: &str) -> u64 {
        self.events
            .tracks
            .lock()
            .iter()
            .filter(|(s, k, _)| s == stream_id && k == kind)
            .map(|(_, _, p)| p.load(Ordering::Relaxed))
            .sum()
    }

    /// RTP packets received on every track.
    pub fn total_packets(&self) -> u64 {
        self.events
            .tracks
            .lock()
            .iter()
            .map(|(_, _, p)| p.load(Ordering::Relaxed))
            .sum()
    }

    /// Whether the peer connection is connected.
    pub fn connected(&self) -> bool {
        self.events.connected.load(Ordering::SeqCst)
    }

    /// Closes the peer connection.
    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}
