//! A receive-only webrtc-rs peer connection that counts the RTP packets of
//! every track it is sent, on the sockets and candidate types it is given: the
//! part the closed-network subscribers ([`super::tcp_only`], ICE-TCP only, and
//! [`super::turn_only`], TURN over TLS only) share.
// Each user of the support module uses part of it.
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

/// Where a [`Receiver`] may gather candidates.
pub struct Sockets {
    /// The candidate network types it keeps (e.g. TCP4 only).
    pub network: NetworkType,
    /// UDP addresses it binds (none: no UDP at all).
    pub udp: Vec<String>,
    /// TCP addresses it binds (none: no ICE-TCP).
    pub tcp: Vec<String>,
}

/// The subscriber side of the SFU's offer/answer, counting what it receives.
pub struct Receiver {
    pc: Arc<dyn PeerConnection>,
    events: Events,
}

impl Receiver {
    /// Builds the peer connection (default codecs and interceptors) on `sockets`.
    pub async fn new(sockets: Sockets) -> Self {
        let events = Events::default();
        let mut engine = MediaEngine::default();
        engine.register_default_codecs().expect("codecs");
        let registry =
            register_default_interceptors(Registry::new(), &mut engine).expect("registry");
        let settings = SettingEngineBuilder::new()
            .with_network_types(vec![sockets.network])
            .build();
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(Arc::new(events.clone()))
            .with_tcp_addrs(sockets.tcp)
            .with_udp_addrs(sockets.udp)
            .build()
            .await
            .expect("receiving peer connection");
        Self {
            pc: Arc::new(pc),
            events,
        }
    }

    /// Applies the SFU's offer, then `trickled` candidate lines (`a=candidate:…`
    /// as in SDP) as if they had come later, and returns the answer.
    pub async fn answer<'a>(
        &self,
        offer: &str,
        trickled: impl IntoIterator<Item = &'a str>,
    ) -> String {
        let pc = &self.pc;
        pc.set_remote_description(RTCSessionDescription::offer(offer.to_owned()).expect("offer"))
            .await
            .expect("apply offer");
        for line in trickled {
            let candidate = line.strip_prefix("a=").unwrap_or(line);
            pc.add_ice_candidate(RTCIceCandidateInit {
                candidate: candidate.to_owned(),
                sdp_mline_index: Some(0),
                ..Default::default()
            })
            .await
            .expect("add a trickled candidate");
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
