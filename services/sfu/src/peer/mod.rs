//! One WebRTC peer connection on the node's shared UDP port: a sans-IO
//! `rtc::RTCPeerConnection` owned by its own task, fed datagrams by [`crate::demux`],
//! forwarded packets by publishers' tasks, and commands by the control API.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::interceptor::Registry;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::RTCRtpReceiverId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::sync::mpsc;

use crate::NodeContext;
use crate::control::{ControlError, MediaKind};
use crate::feedback::{KeyframeRequestForwarder, keyframe_forwarder_slot};
use crate::forwarding::{DownTrack, ForwardedPacket, PublishedTrack, TrackKey};
use crate::mailbox::{PeerCommand, PeerHandle, PeerInput, PeerRole};
use crate::room::Room;
use crate::simulcast::{SubscriptionCell, layer_of_rid};
use crate::speaker::AUDIO_LEVEL_URI;

/// Datagrams, forwarded packets and commands a peer task can hold before dropping.
const INBOX_CAPACITY: usize = 4096;
/// Keyframe requests to one publisher track are not sent more often than this.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(250);
/// STUN requests held while the remote description (and so the remote ICE password) is
/// not known yet; beyond this they are dropped and the client's retransmissions count.
const EARLY_STUN_CAPACITY: usize = 32;
fn transport(reason: impl std::fmt::Display) -> ControlError {
    ControlError::Transport {
        reason: reason.to_string(),
    }
}

fn invalid_sdp(reason: impl std::fmt::Display) -> ControlError {
    ControlError::InvalidSdp {
        reason: reason.to_string(),
    }
}

fn random_token(len: usize) -> String {
    use rand::Rng;
    use rand::distributions::Alphanumeric;
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Header extensions a simulcast publisher needs: the media section's mid, and the
/// RTP stream id (RID) of each layer and of its repair stream.
const SIMULCAST_EXTENSIONS: [&str; 3] = [
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
];

/// The codecs the SFU forwards: Opus, VP8 and H264 (constrained baseline).
fn media_engine() -> Result<MediaEngine, rtc::shared::error::Error> {
    let mut engine = MediaEngine::default();
    let video_feedback = vec![
        RTCPFeedback {
            typ: "goog-remb".to_owned(),
            parameter: String::new(),
        },
        RTCPFeedback {
            typ: "ccm".to_owned(),
            parameter: "fir".to_owned(),
        },
        RTCPFeedback {
            typ: "nack".to_owned(),
            parameter: String::new(),
        },
        RTCPFeedback {
            typ: "nack".to_owned(),
            parameter: "pli".to_owned(),
        },
    ];
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )?;
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_VP8.to_owned(),
                clock_rate: 90000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: video_feedback.clone(),
            },
            payload_type: 96,
        },
        RtpCodecKind::Video,
    )?;
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_H264.to_owned(),
                clock_rate: 90000,
                channels: 0,
                sdp_fmtp_line:
                    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
                        .to_owned(),
                rtcp_feedback: video_feedback,
            },
            payload_type: 102,
        },
        RtpCodecKind::Video,
    )?;
    engine.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_owned(),
        },
        RtpCodecKind::Audio,
        None,
    )?;
    // Simulcast: the layers of a camera arrive as separate streams named by RID.
    for uri in SIMULCAST_EXTENSIONS {
        engine.register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: uri.to_owned(),
            },
            RtpCodecKind::Video,
            None,
        )?;
    }
    Ok(engine)
}

fn build_peer_connection(
    ctx: &NodeContext,
    ufrag: &str,
    pwd: &str,
) -> Result<RTCPeerConnection, rtc::shared::error::Error> {
    let mut engine = media_engine()?;
    let registry = register_default_interceptors(Registry::new(), &mut engine)?.with(
        keyframe_forwarder_slot(),
        KeyframeRequestForwarder::default(),
    );
    let settings = SettingEngineBuilder::new()
        .with_lite(true)
        .with_ice_credentials(ufrag.to_owned(), pwd.to_owned())
        .build();
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(settings)
        .with_media_engine(engine)
        .with_interceptor_registry(registry)
        .build(Instant::now())?;
    let candidate = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: ctx.advertised.ip().to_string(),
            port: ctx.advertised.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    pc.add_local_candidate(RTCIceCandidate::from(&candidate).to_json()?)?;
    pc.add_local_candidate(RTCIceCandidateInit::default())?;
    Ok(pc)
}

/// Creates a peer connection for `participant` of `room`, registers its ICE username
/// with the demultiplexer and spawns its task.
pub(crate) fn spawn_peer(
    room: Arc<Room>,
    participant: &str,
    role: PeerRole,
) -> Result<PeerHandle, ControlError> {
    let ctx = Arc::clone(&room.ctx);
    let ufrag = random_token(16);
    let pwd = random_token(32);
    let pc = build_peer_connection(&ctx, &ufrag, &pwd).map_err(transport)?;
    let subscriptions = room
        .participant(participant)
        .map(|p| Arc::clone(&p.video_subscriptions))
        .unwrap_or_default();
    let (inbox, inputs) = mpsc::channel(INBOX_CAPACITY);
    if let Ok(mut table) = ctx.demux.lock() {
        table.register(&ufrag, inbox.clone());
    }
    let task_guard = ctx.metrics.task_guard();
    let pc_guard = ctx.metrics.peer_connection_guard();
    let peer = PeerTask {
        pc,
        ctx,
        room,
        participant: participant.to_owned(),
        role,
        ufrag,
        inbound: HashMap::new(),
        subscriptions,
        subscriptions_version: u64::MAX,
        down: HashMap::new(),
        down_by_local_track: HashMap::new(),
        down_by_ssrc: HashMap::new(),
        sent: Vec::new(),
        early_stun: Vec::new(),
        connected: false,
        closed: false,
    };
    let task = tokio::spawn(async move {
        let _guards = (task_guard, pc_guard);
        peer.run(inputs).await;
    });
    Ok(PeerHandle::new(inbox, task))
}

/// A track received on a publisher PC.
struct InboundTrack {
    key: Arc<TrackKey>,
    kind: MediaKind,
    receiver_id: RTCRtpReceiverId,
    /// Each stream of the track by SSRC: its simulcast layer (`None` without
    /// simulcast) and when it was last asked for a keyframe.
    streams: HashMap<u32, InboundStream>,
    audio_level_id: Option<u8>,
}

/// One RTP stream of a received track (one simulcast layer, or the only stream).
struct InboundStream {
    layer: Option<u8>,
    last_keyframe_request: Option<Instant>,
}

struct PeerTask {
    pc: RTCPeerConnection,
    ctx: Arc<NodeContext>,
    room: Arc<Room>,
    participant: String,
    role: PeerRole,
    ufrag: String,
    /// Publisher PC: received tracks by the publisher's track id.
    inbound: HashMap<String, InboundTrack>,
    /// Subscriber PC: which publishers' video to send, and at what quality.
    subscriptions: Arc<SubscriptionCell>,
    /// The version of `subscriptions` the sent tracks were last set to.
    subscriptions_version: u64,
    /// Subscriber PC: sent tracks.
    down: HashMap<Arc<TrackKey>, DownTrack>,
    down_by_local_track: HashMap<String, Arc<TrackKey>>,
    down_by_ssrc: HashMap<u32, Arc<TrackKey>>,
    /// Arrival instants of packets written since the last flush, for the delay histogram.
    sent: Vec<Instant>,
    /// Connectivity checks that arrived before the remote description: a browser starts
    /// them as soon as it has applied the SFU's offer, before its answer gets here, and
    /// `rtc` cannot answer them without the remote ICE password.
    early_stun: Vec<(SocketAddr, BytesMut)>,
    /// DTLS is up: SRTP can be written. Media written before then is dropped by `rtc`.
    connected: bool,
    closed: bool,
}

impl PeerTask {
    async fn run(mut self, mut inputs: mpsc::Receiver<PeerInput>) {
        const IDLE: Duration = Duration::from_secs(3600);
        while !self.closed {
            self.drain_events();
            self.drain_reads();
            self.flush().await;
            let deadline = self
                .pc
                .poll_timeout()
                .unwrap_or_else(|| Instant::now() + IDLE);
            tokio::select! {
                _ = tokio::time::sleep_until(deadline.into()) => {
                    if let Err(err) = self.pc.handle_timeout(Instant::now()) {
                        tracing::debug!(error = %err, "peer timeout handling failed");
                    }
                }
                input = inputs.recv() => {
                    let Some(input) = input else { break };
                    self.handle_input(input);
                    // Take whatever else is queued before flushing, so bursts share one flush.
                    for _ in 0..64 {
                        match inputs.try_recv() {
                            Ok(input) => self.handle_input(input),
                            Err(_) => break,
                        }
                    }
                }
            }
        }
        if let Err(err) = self.pc.close() {
            tracing::debug!(error = %err, "closing peer connection failed");
        }
        self.flush().await;
        if let Ok(mut table) = self.ctx.demux.lock() {
            table.unregister(&self.ufrag);
        }
    }

    fn handle_input(&mut self, input: PeerInput) {
        match input {
            PeerInput::Datagram { from, at, data } => {
                if self.pc.remote_description().is_none()
                    && crate::demux::stun_local_ufrag(&data).is_some()
                {
                    if self.early_stun.len() < EARLY_STUN_CAPACITY {
                        self.early_stun.push((from, data));
                    }
                    return;
                }
                self.read_datagram(from, at, data);
            }
            PeerInput::Forward(packet) => self.send_forwarded(&packet),
            PeerInput::Command(command) => self.handle_command(command),
        }
    }

    /// Feeds the connectivity checks held by [`PeerTask::handle_input`] to the peer
    /// connection, once it knows the remote ICE credentials.
    fn replay_early_stun(&mut self) {
        if self.pc.remote_description().is_none() {
            return;
        }
        for (from, data) in std::mem::take(&mut self.early_stun) {
            self.read_datagram(from, Instant::now(), data);
        }
    }

    fn read_datagram(&mut self, from: SocketAddr, at: Instant, data: BytesMut) {
        let result = self.pc.handle_read(TaggedBytesMut {
            now: at,
            transport: TransportContext {
                local_addr: self.ctx.advertised,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: data,
        });
        if let Err(err) = result {
            tracing::trace!(error = %err, "datagram rejected");
        }
        // Reads may be ready now: forward promptly rather than after the batch.
        self.drain_events();
        self.drain_reads();
    }

    fn handle_command(&mut self, command: PeerCommand) {
        match command {
            PeerCommand::AnswerOffer { offer, reply } => {
                let _ = reply.send(self.answer_offer(offer));
                self.replay_early_stun();
            }
            PeerCommand::OfferTracks { tracks, reply } => {
                let _ = reply.send(self.offer_tracks(tracks));
            }
            PeerCommand::ApplyAnswer { answer, reply } => {
                let result = self
                    .pc
                    .set_remote_description(Instant::now(), answer)
                    .map_err(invalid_sdp);
                if result.is_ok() {
                    for down in self.down.values_mut() {
                        down.payload_type = None;
                    }
                    // New subscribers need a keyframe to start decoding.
                    self.request_keyframes_for_waiting_tracks();
                }
                let _ = reply.send(result);
                self.replay_early_stun();
            }
            PeerCommand::RequestKeyframe { track_id, layer } => {
                self.request_keyframe(&track_id, layer)
            }
            PeerCommand::Close => self.closed = true,
        }
    }

    fn answer_offer(&mut self, offer: RTCSessionDescription) -> Result<String, ControlError> {
        let now = Instant::now();
        self.pc
            .set_remote_description(now, offer)
            .map_err(invalid_sdp)?;
        let answer = self.pc.create_answer(None).map_err(invalid_sdp)?;
        self.pc
            .set_local_description(now, answer)
            .map_err(invalid_sdp)?;
        self.pc
            .local_description()
            .map(|d| d.sdp)
            .ok_or_else(|| transport("the SFU produced no answer"))
    }

    fn offer_tracks(&mut self, tracks: Vec<PublishedTrack>) -> Result<String, ControlError> {
        let subscriptions = self.subscriptions.get();
        let quality_of = |publisher: &str| subscriptions.quality_of(publisher);
        let wanted: HashMap<Arc<TrackKey>, PublishedTrack> = tracks
            .into_iter()
            .map(|t| (Arc::clone(&t.key), t))
            .collect();
        let gone: Vec<Arc<TrackKey>> = self
            .down
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(down) = self.down.remove(&key) {
                self.down_by_ssrc.remove(&down.ssrc);
                self.down_by_local_track.retain(|_, k| *k != key);
                if let Err(err) = self.pc.remove_track(down.sender_id) {
                    tracing::debug!(error = %err, "removing a sent track failed");
                }
            }
        }
        for (key, track) in wanted {
            if self.down.contains_key(&key) {
                continue;
            }
            let ssrc = rand::random::<u32>();
            let local_track_id = format!("{}-{}", key.publisher, key.track_id);
            let kind = match track.kind {
                MediaKind::Audio => RtpCodecKind::Audio,
                MediaKind::Video => RtpCodecKind::Video,
            };
            let media_track = MediaStreamTrack::new(
                key.publisher.clone(),
                local_track_id.clone(),
                format!("{} {}", key.publisher, track.kind),
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec: track.codec.clone(),
                    ..Default::default()
                }],
            );
            let sender_id = self.pc.add_track(media_track).map_err(transport)?;
            self.down.insert(
                Arc::clone(&key),
                DownTrack::new(
                    sender_id,
                    ssrc,
                    track.codec.mime_type.clone(),
                    quality_of(&key.publisher),
                ),
            );
            self.down_by_ssrc.insert(ssrc, Arc::clone(&key));
            self.down_by_local_track.insert(local_track_id, key);
        }
        // Tracks already sent follow a change made since they were last set.
        self.apply_subscriptions();
        let now = Instant::now();
        let offer = self.pc.create_offer(None).map_err(transport)?;
        self.pc
            .set_local_description(now, offer)
            .map_err(transport)?;
        self.pc
            .local_description()
            .map(|d| d.sdp)
            .ok_or_else(|| transport("the SFU produced no offer"))
    }

    fn drain_events(&mut self) {
        while let Some(event) = self.pc.poll_event() {
            match event {
                RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                    let layer = init.rid.as_deref().map(layer_of_rid);
                    self.bind_inbound_track(init.track_id, init.receiver_id, init.ssrc, layer);
                }
                RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                    let connected = state == RTCPeerConnectionState::Connected;
                    if connected && !self.connected && self.role == PeerRole::Subscriber {
                        // Whatever keyframe was requested before DTLS was up never
                        // reached this subscriber.
                        for down in self.down.values_mut() {
                            down.await_keyframe();
                        }
                        self.connected = true;
                        self.request_keyframes_for_waiting_tracks();
                    }
                    self.connected = connected;
                    tracing::debug!(
                        room = %self.room.id,
                        participant = %self.participant,
                        role = ?self.role,
                        %state,
                        "peer connection state changed"
                    );
                }
                _ => {}
            }
        }
    }

    /// Matches a track the publisher PC started receiving to a published track.
    fn bind_inbound_track(
        &mut self,
        track_id: String,
        receiver_id: RTCRtpReceiverId,
        ssrc: u32,
        layer: Option<u8>,
    ) {
        let stream = InboundStream {
            layer,
            last_keyframe_request: None,
        };
        if let Some(bound) = self.inbound.get_mut(&track_id) {
            // Another simulcast layer of a track already bound.
            bound.streams.insert(ssrc, stream);
            return;
        }
        let kind = match self.pc.rtp_receiver(receiver_id) {
            Some(receiver) => match receiver.track().kind() {
                RtpCodecKind::Audio => MediaKind::Audio,
                _ => MediaKind::Video,
            },
            None => return,
        };
        let Ok(participant) = self.room.participant(&self.participant) else {
            return;
        };
        let published = participant.published_tracks();
        let bound: Vec<&Arc<TrackKey>> = self.inbound.values().map(|t| &t.key).collect();
        let Some(track) = published
            .iter()
            .find(|t| t.key.track_id == track_id)
            .or_else(|| {
                published
                    .iter()
                    .find(|t| t.kind == kind && !bound.contains(&&t.key))
            })
        else {
            tracing::debug!(%track_id, "received a track that was not offered");
            return;
        };
        let audio_level_id = if kind == MediaKind::Audio {
            self.audio_level_extension_id()
        } else {
            None
        };
        self.inbound.insert(
            track_id,
            InboundTrack {
                key: Arc::clone(&track.key),
                kind,
                receiver_id,
                streams: HashMap::from([(ssrc, stream)]),
                audio_level_id,
            },
        );
    }

    fn audio_level_extension_id(&self) -> Option<u8> {
        let local = self.pc.local_description()?;
        let parsed = local.unmarshal().ok()?;
        parsed.media_descriptions.iter().find_map(|media| {
            (media.media_name.media == "audio")
                .then(|| {
                    media.attribute("mid").flatten().and_then(|mid| {
                        crate::forwarding::answered_extension_id(&parsed, mid, AUDIO_LEVEL_URI)
                    })
                })
                .flatten()
        })
    }

    fn drain_reads(&mut self) {
        while let Some(TaggedRTCMessage { now, message }) = self.pc.poll_read() {
            match message {
                RTCMessage::RtpPacket(track_id, packet) => {
                    self.publish_packet(&track_id, packet, now)
                }
                RTCMessage::RtcpPacket(track_id, packets) if self.role == PeerRole::Subscriber => {
                    self.relay_keyframe_requests(&track_id, &packets);
                }
                _ => {}
            }
        }
    }

    /// Publisher PC: fan a received packet out to every other participant's subscriber PC.
    fn publish_packet(&mut self, track_id: &str, packet: rtc::rtp::Packet, received_at: Instant) {
        let Some(inbound) = self.inbound.get(track_id) else {
            return;
        };
        if let Some(id) = inbound.audio_level_id
            && let Some(level) = packet.header.get_extension(id)
            && let Some(&byte) = level.first()
        {
            self.room
                .observe_audio_level(&self.participant, byte & 0x7f, received_at);
        }
        let Ok(participant) = self.room.participant(&self.participant) else {
            return;
        };
        let Some(generation) = participant.forwarding(inbound.kind) else {
            return;
        };
        let layer = match inbound.streams.get(&packet.header.ssrc) {
            Some(stream) => stream.layer,
            // A simulcast layer not announced yet: which one is unknown.
            None if inbound.streams.values().any(|s| s.layer.is_some()) => return,
            None => None,
        };
        let forwarded = Arc::new(ForwardedPacket {
            track: Arc::clone(&inbound.key),
            layer,
            generation,
            packet,
            received_at,
        });
        for target in self.room.fan_out().iter() {
            if target.participant != self.participant {
                let _ = target
                    .inbox
                    .try_send(PeerInput::Forward(Arc::clone(&forwarded)));
            }
        }
    }

    /// Subscriber PC: write a forwarded packet on the matching sent track.
    fn send_forwarded(&mut self, forwarded: &ForwardedPacket) {
        if !self.connected {
            // No SRTP keys yet: `rtc` would refuse (and log) every packet.
            return;
        }
        if self.subscriptions.version() != self.subscriptions_version {
            self.apply_subscriptions();
        }
        let Some(down) = self.down.get_mut(&forwarded.track) else {
            return;
        };
        let Some(mut sender) = self.pc.rtp_sender(down.sender_id) else {
            return;
        };
        let payload_type = match down.payload_type {
            Some(pt) => pt,
            None => {
                let found = sender
                    .get_parameters()
                    .rtp_parameters
                    .codecs
                    .iter()
                    .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(&down.mime_type))
                    .map(|c| c.payload_type);
                let Some(pt) = found else { return };
                down.payload_type = Some(pt);
                pt
            }
        };
        let mut packet = forwarded.packet.clone();
        let now = Instant::now();
        let outcome = down.forward(
            &mut packet,
            forwarded.layer,
            forwarded.generation,
            payload_type,
            now,
        );
        if let Some(layer) = outcome.keyframe_request {
            // Waiting for a keyframe to start or switch: ask the publisher (again).
            self.room.request_keyframe(&forwarded.track, layer);
        }
        if !outcome.send {
            return;
        }
        let bytes = packet.payload.len() as u64 + 12;
        if sender.write_rtp(now, packet).is_ok() {
            self.ctx.metrics.forwarded_packets.inc();
            self.ctx.metrics.forwarded_bytes.inc_by(bytes);
            self.sent.push(forwarded.received_at);
        }
    }

    /// Subscriber PC: sets every sent video track to the quality the current
    /// subscriptions give its publisher.
    fn apply_subscriptions(&mut self) {
        self.subscriptions_version = self.subscriptions.version();
        let subscriptions = self.subscriptions.get();
        for (key, down) in self.down.iter_mut() {
            down.set_quality(subscriptions.quality_of(&key.publisher));
        }
    }

    /// Subscriber PC: ask the publishers of every sent track still waiting for a
    /// keyframe for one (once connected; before that it could not be delivered).
    fn request_keyframes_for_waiting_tracks(&mut self) {
        if !self.connected {
            return;
        }
        let now = Instant::now();
        for (key, down) in self.down.iter_mut() {
            if down.keyframe_request_due(now, Duration::ZERO) {
                self.room.request_keyframe(key, None);
            }
        }
    }

    /// Subscriber PC: pass PLI/FIR for a sent track on to its publisher.
    fn relay_keyframe_requests(
        &mut self,
        track_id: &str,
        packets: &[Box<dyn rtc::rtcp::packet::Packet>],
    ) {
        for packet in packets {
            let any = packet.as_any();
            let media_ssrc = if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                pli.media_ssrc
            } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                fir.fir.first().map(|e| e.ssrc).unwrap_or(fir.media_ssrc)
            } else {
                continue;
            };
            let key = self
                .down_by_ssrc
                .get(&media_ssrc)
                .or_else(|| self.down_by_local_track.get(track_id));
            if let Some(key) = key {
                tracing::debug!(
                    room = %self.room.id,
                    subscriber = %self.participant,
                    publisher = %key.publisher,
                    track = %key.track_id,
                    "relaying a keyframe request"
                );
                let layer = self.down.get(key).and_then(DownTrack::current_layer);
                self.room.request_keyframe(key, layer);
            }
        }
    }

    /// Publisher PC: send a PLI for `track_id`, at most once per interval.
    /// Publisher PC: send a PLI for `track_id` (only its simulcast `layer`, when
    /// given), at most once per interval and stream.
    fn request_keyframe(&mut self, track_id: &str, layer: Option<u8>) {
        let now = Instant::now();
        let Some(inbound) = self
            .inbound
            .values_mut()
            .find(|t| t.key.track_id == track_id)
        else {
            return;
        };
        if inbound.kind != MediaKind::Video {
            return;
        }
        let mut plis: Vec<Box<dyn rtc::rtcp::packet::Packet>> = Vec::new();
        for (&media_ssrc, stream) in inbound.streams.iter_mut() {
            // A stream without simulcast is the track's every layer.
            if (layer.is_some() && stream.layer.is_some() && stream.layer != layer)
                || stream
                    .last_keyframe_request
                    .is_some_and(|last| now.duration_since(last) < KEYFRAME_REQUEST_INTERVAL)
            {
                continue;
            }
            stream.last_keyframe_request = Some(now);
            plis.push(Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            }));
        }
        if plis.is_empty() {
            return;
        }
        if let Some(mut receiver) = self.pc.rtp_receiver(inbound.receiver_id)
            && let Err(err) = receiver.write_rtcp(now, plis)
        {
            tracing::debug!(error = %err, "sending PLI failed");
        }
    }

    async fn flush(&mut self) {
        while let Some(out) = self.pc.poll_write() {
            if let Err(err) = self
                .ctx
                .socket
                .send_to(&out.message, out.transport.peer_addr)
                .await
            {
                tracing::debug!(error = %err, peer = %out.transport.peer_addr, "udp send failed");
            }
        }
        if !self.sent.is_empty() {
            let now = Instant::now();
            for received in self.sent.drain(..) {
                self.ctx
                    .metrics
                    .forwarding_delay
                    .observe(now.saturating_duration_since(received).as_secs_f64());
            }
        }
    }
}
