//! WebRTC media towards a Yunhui SFU node (webrtc-rs 0.21, async `webrtc` crate).
//!
//! Follows the SFU's two-connection model: a [`Publisher`] peer connection the client
//! offers on, and a [`Subscriber`] peer connection the SFU offers on. The publisher can
//! send synthetic audio and video at realistic rates ([`SyntheticMedia`]) for bots, load
//! tests and tests; the subscriber counts what arrives per remote track
//! ([`ReceivedTrack`]) so callers can assert that media flows or stopped.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp::extension::HeaderExtension;
use rtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::sansio::Protocol;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCPeerConnectionState, RTCSessionDescription, Registry,
    register_default_interceptors,
};

use crate::media_path::PathState;
use crate::turn_bridge::TurnBridges;

/// The RTP audio-level header extension (RFC 6464) the SFU uses for speaker detection.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
/// The media-section id header extension (RFC 8843): which m-line a simulcast packet is for.
const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
/// The RTP stream id header extension (RFC 8852): which simulcast layer a packet is.
const RTP_STREAM_ID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

const OPUS_PAYLOAD_TYPE: u8 = 111;
const VP8_PAYLOAD_TYPE: u8 = 96;

/// Why a media operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The WebRTC stack refused an operation (bad SDP, wrong signaling state, ...).
    #[error("WebRTC {action} failed: {source}")]
    WebRtc {
        /// What was being done.
        action: &'static str,
        /// The stack's reason.
        source: webrtc::error::Error,
    },
    /// A description that should exist does not.
    #[error("the peer connection has no local description after {0}")]
    NoLocalDescription(&'static str),
    /// A media file could not be read.
    #[error("media file: {0}")]
    File(String),
}

fn webrtc_err(action: &'static str) -> impl FnOnce(webrtc::error::Error) -> MediaError {
    move |source| MediaError::WebRtc { action, source }
}

/// Kind of a received track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// Audio.
    Audio,
    /// Video.
    Video,
}

fn opus() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

fn vp8() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

fn media_engine(defaults: bool) -> Result<MediaEngine, MediaError> {
    let mut engine = MediaEngine::default();
    if defaults {
        engine
            .register_default_codecs()
            .map_err(webrtc_err("codec registration"))?;
    } else {
        engine
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: opus(),
                    payload_type: OPUS_PAYLOAD_TYPE,
                },
                RtpCodecKind::Audio,
            )
            .map_err(webrtc_err("codec registration"))?;
        engine
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: vp8(),
                    payload_type: VP8_PAYLOAD_TYPE,
                },
                RtpCodecKind::Video,
            )
            .map_err(webrtc_err("codec registration"))?;
    }
    engine
        .register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: AUDIO_LEVEL_URI.to_owned(),
            },
            RtpCodecKind::Audio,
            None,
        )
        .map_err(webrtc_err("header extension registration"))?;
    // Simulcast layers are told apart by these two (as browsers send them).
    for uri in [MID_URI, RTP_STREAM_ID_URI] {
        engine
            .register_header_extension(
                RTCRtpHeaderExtensionCapability {
                    uri: uri.to_owned(),
                },
                RtpCodecKind::Video,
                None,
            )
            .map_err(webrtc_err("header extension registration"))?;
    }
    Ok(engine)
}

/// Passes inbound PLI/FIR on to the application.
///
/// Inbound RTCP is for the interceptors in webrtc-rs 0.21: the chain's terminus drops every
/// RTCP packet no interceptor marked with [`Attribute::DeliverToApplication`], so without
/// this a [`Publisher`] never sees the SFU's keyframe requests
/// ([`TrackLocalEvent::OnRtcpPacket`] never fires). Placed after every stock interceptor,
/// so they all see the full RTCP first; only the keyframe requests are kept, so the
/// packet is routed by the SSRC they are about.
#[derive(Default)]
struct KeyframeRequestForwarder {
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestForwarder {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|p| is_keyframe_request(p.as_ref()))
                .cloned()
                .collect();
            if !requests.is_empty() {
                msg.message.packet = Packet::Rtcp(requests);
                msg.message.add(Attribute::DeliverToApplication);
            }
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for KeyframeRequestForwarder {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// How a peer connection reaches the SFU besides its own UDP socket: the ICE
/// servers signal hands out on join (`ServerMessage::Joined::ice_servers`),
/// and ICE over TCP (RFC 6544) to the node's TCP media port.
///
/// Unless [`IceOptions::relay_only`], every peer connection also binds a TCP
/// socket (the UDP bind's address, any port), offers an active TCP host
/// candidate next to its UDP one, and dials the SFU's passive TCP candidate
/// when ICE starts checking, so a client on a network that drops UDP
/// connects over TCP. webrtc-rs 0.21 dials a remote passive TCP candidate
/// only when it is trickled (`add_ice_candidate`), not when it comes in the
/// SDP, so the SDK hands it the remote description's ([`build_pc`]); it
/// dials at once, as browsers do: the ICE agent gives up on a pair after a
/// few unanswered checks, so a later dial finds the TCP pair failed. Where
/// UDP works the UDP pair (higher priority, answered first) is nominated and
/// the TCP connection stays idle.
///
/// webrtc-rs 0.21 gathers relay candidates over **TURN/UDP only**: it skips
/// `turn:…?transport=tcp` and `turns:` URLs. The SDK gives its peer
/// connections a loopback bridge for each of those instead
/// ([`crate::turn_bridge`]), so it relays through the node's TURN server
/// over TCP or TLS too, as on a network that lets only TLS 443 out.
#[derive(Debug, Clone, Default)]
pub struct IceOptions {
    /// STUN/TURN servers, as signal hands them out.
    pub ice_servers: Vec<yunhui_proto::turn::IceServer>,
    /// Use relay candidates only (`iceTransportPolicy: "relay"`): every
    /// packet goes through the TURN server.
    pub relay_only: bool,
    /// The bridges of `turns:` and `turn:…?transport=tcp` servers, shared by
    /// the session's connections (and the certificates they trust).
    pub bridges: TurnBridges,
}

impl IceOptions {
    fn configuration(&self) -> webrtc::peer_connection::RTCConfiguration {
        let servers = self
            .ice_servers
            .iter()
            .map(|server| rtc::peer_connection::transport::RTCIceServer {
                urls: (server.urls.iter())
                    .filter_map(|url| self.bridges.local_url(url))
                    .collect(),
                username: server.username.clone(),
                credential: server.credential.clone(),
            })
            .collect();
        let policy = if self.relay_only {
            rtc::peer_connection::configuration::RTCIceTransportPolicy::Relay
        } else {
            rtc::peer_connection::configuration::RTCIceTransportPolicy::All
        };
        RTCConfigurationBuilder::new()
            .with_ice_servers(servers)
            .with_ice_transport_policy(policy)
            .build()
    }
}

async fn build_pc(
    udp_bind: &str,
    defaults: bool,
    ice: &IceOptions,
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> Result<Arc<dyn PeerConnection>, MediaError> {
    let mut engine = media_engine(defaults)?;
    let registry = register_default_interceptors(Registry::new(), &mut engine)
        .map_err(webrtc_err("interceptor registration"))?
        .with(Slot::from(14_000), KeyframeRequestForwarder::default());
    // ICE-TCP: a TCP socket on the UDP bind's address, any port (webrtc-rs gathers
    // the active candidate from it). Relay-only gathers no TCP candidates.
    let tcp_addrs = match udp_bind.rsplit_once(':') {
        Some((host, _)) if !ice.relay_only => vec![format!("{host}:0")],
        _ => Vec::new(),
    };
    let dialer = Arc::new(IceTcpDialer {
        inner: handler,
        pc: std::sync::OnceLock::new(),
        dialed: AtomicBool::new(ice.relay_only),
    });
    let pc = PeerConnectionBuilder::new()
        .with_configuration(ice.configuration())
        .with_media_engine(engine)
        .with_interceptor_registry(registry)
        .with_handler(Arc::clone(&dialer) as Arc<dyn PeerConnectionEventHandler>)
        .with_udp_addrs(vec![udp_bind.to_owned()])
        .with_tcp_addrs(tcp_addrs)
        .build()
        .await
        .map_err(webrtc_err("peer connection setup"))?;
    let pc: Arc<dyn PeerConnection> = Arc::new(pc);
    let _ = dialer.pc.set(Arc::downgrade(&pc));
    Ok(pc)
}

/// The event handler of every PC: passes every event on to the PC's own
/// handler and, when ICE first starts checking, trickles the remote
/// description's passive TCP candidates into the PC, which makes webrtc-rs
/// dial them (see [`IceOptions`]). Once per PC and address: webrtc-rs sends
/// on any stream to the candidate's address, so a second one would be a
/// second stream it picks from at random.
struct IceTcpDialer {
    inner: Arc<dyn PeerConnectionEventHandler>,
    pc: std::sync::OnceLock<std::sync::Weak<dyn PeerConnection>>,
    /// Set once the dial is started (from the start when relay-only).
    dialed: AtomicBool,
}

impl IceTcpDialer {
    async fn dial(pc: std::sync::Weak<dyn PeerConnection>) {
        let Some(pc) = pc.upgrade() else {
            return;
        };
        let Some(remote) = pc.remote_description().await else {
            return;
        };
        let mut dialed = Vec::new();
        for candidate in remote
            .sdp
            .lines()
            .filter_map(|line| line.trim().strip_prefix("a="))
            .filter(|c| c.starts_with("candidate:") && c.contains(" tcptype passive"))
        {
            // `candidate:<foundation> <component> tcp <priority> <address> <port> …`:
            // one connection per address (RTCP is muxed: component 2 names the same one).
            let fields: Vec<&str> = candidate.split_whitespace().collect();
            let (Some(&"1"), Some(address)) = (fields.get(1), fields.get(4..6)) else {
                continue;
            };
            let address = address.join(" ");
            if dialed.contains(&address) {
                continue;
            }
            dialed.push(address);
            let init = webrtc::peer_connection::RTCIceCandidateInit {
                candidate: candidate.to_owned(),
                sdp_mline_index: Some(0),
                ..Default::default()
            };
            if let Err(err) = pc.add_ice_candidate(init).await {
                tracing::debug!("ICE-TCP candidate {candidate}: {err}");
            }
        }
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for IceTcpDialer {
    async fn on_negotiation_needed(&self) {
        self.inner.on_negotiation_needed().await;
    }

    async fn on_ice_candidate(&self, event: webrtc::peer_connection::RTCPeerConnectionIceEvent) {
        self.inner.on_ice_candidate(event).await;
    }

    async fn on_ice_candidate_error(
        &self,
        event: webrtc::peer_connection::RTCPeerConnectionIceErrorEvent,
    ) {
        self.inner.on_ice_candidate_error(event).await;
    }

    async fn on_signaling_state_change(&self, state: webrtc::peer_connection::RTCSignalingState) {
        self.inner.on_signaling_state_change(state).await;
    }

    async fn on_ice_connection_state_change(
        &self,
        state: webrtc::peer_connection::RTCIceConnectionState,
    ) {
        // Checking: the remote description is set. Dialing from a task of its own:
        // `add_ice_candidate` waits for the driver this event comes from.
        if state == webrtc::peer_connection::RTCIceConnectionState::Checking
            && let Some(pc) = self.pc.get()
            && !self.dialed.swap(true, Ordering::Relaxed)
        {
            tokio::spawn(Self::dial(pc.clone()));
        }
        self.inner.on_ice_connection_state_change(state).await;
    }

    async fn on_ice_gathering_state_change(
        &self,
        state: webrtc::peer_connection::RTCIceGatheringState,
    ) {
        self.inner.on_ice_gathering_state_change(state).await;
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.inner.on_connection_state_change(state).await;
    }

    async fn on_data_channel(&self, data_channel: Arc<dyn webrtc::data_channel::DataChannel>) {
        self.inner.on_data_channel(data_channel).await;
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.inner.on_track(track).await;
    }
}

/// One peer connection's state as the session's path watch sees it
/// ([`crate::media_path`]), set by the connection's event handler.
#[derive(Clone, Default)]
struct LinkState(Arc<AtomicU8>);

impl LinkState {
    fn set(&self, state: RTCPeerConnectionState) {
        let code = match state {
            RTCPeerConnectionState::Connecting => 1,
            RTCPeerConnectionState::Connected => 2,
            RTCPeerConnectionState::Disconnected => 3,
            RTCPeerConnectionState::Failed => 4,
            // New, closed: nothing said about the path.
            _ => 0,
        };
        self.0.store(code, Ordering::Relaxed);
    }

    fn get(&self) -> PathState {
        match self.0.load(Ordering::Relaxed) {
            1 => PathState::Connecting,
            2 => PathState::Connected,
            3 => PathState::Disconnected,
            4 => PathState::Failed,
            _ => PathState::Unused,
        }
    }
}

/// The publisher PC's events: whether it is connected (SRTP keys exist). Media written
/// before then is dropped by the stack, keyframes included.
#[derive(Clone, Default)]
struct PublisherEvents {
    connected: Arc<AtomicBool>,
    state: LinkState,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PublisherEvents {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.connected.store(
            state == RTCPeerConnectionState::Connected,
            Ordering::Relaxed,
        );
        self.state.set(state);
    }
}

/// Counters of a [`Publisher`].
#[derive(Debug, Default)]
pub struct PublisherStats {
    /// Audio RTP packets accepted by the stack.
    pub audio_packets: AtomicU64,
    /// Video RTP packets accepted by the stack.
    pub video_packets: AtomicU64,
    /// Keyframe requests (PLI or FIR) received from the SFU.
    pub keyframe_requests: AtomicU64,
    /// Keyframes sent.
    pub keyframes_sent: AtomicU64,
}

/// Rates of the synthetic media a [`Publisher`] sends.
#[derive(Debug, Clone, Copy)]
pub struct SyntheticMedia {
    /// Audio packets per second (Opus 20 ms frames: 50).
    pub audio_packets_per_second: u32,
    /// Audio payload bytes per packet.
    pub audio_payload_bytes: usize,
    /// Audio level sent in the extension, -dBov (0 loudest, 127 silence).
    pub audio_level: u8,
    /// Video bitrate in bits per second.
    pub video_bitrate: u32,
    /// Video frames per second.
    pub video_fps: u32,
    /// Interval between periodic keyframes.
    pub keyframe_interval: Duration,
    /// Sends the video as three simulcast layers like the web client's camera
    /// (rids `q`, `h`, `f`: a quarter, half and full size at a tenth, a third
    /// and all of `video_bitrate`), instead of one stream at `video_bitrate`.
    pub simulcast: bool,
}

impl Default for SyntheticMedia {
    fn default() -> Self {
        Self {
            audio_packets_per_second: 50,
            audio_payload_bytes: 80,
            audio_level: 30,
            video_bitrate: 1_200_000,
            video_fps: 30,
            keyframe_interval: Duration::from_secs(3),
            simulcast: false,
        }
    }
}

/// Real encoded media a [`Publisher`] sends from files, over and over: VP8
/// frames from an IVF file and Opus packets from an Ogg file with one packet
/// per page (as `ffmpeg … -c:a libopus -frame_duration 20 -page_duration
/// 20000 -f ogg` writes). For tests and demos that need media a decoder
/// shows (the recorder's tests: a coloured picture, a tone).
#[derive(Debug, Clone)]
pub struct FileMedia {
    /// The IVF file (VP8) the video comes from.
    pub ivf: std::path::PathBuf,
    /// The Ogg Opus file the audio comes from.
    pub ogg: std::path::PathBuf,
    /// Audio level sent in the extension, -dBov (0 loudest, 127 silence).
    pub audio_level: u8,
}

/// A [`FileMedia`] read into memory.
struct LoadedMedia {
    /// VP8 frames, each with whether it is a keyframe.
    frames: Vec<(Bytes, bool)>,
    /// Time between frames.
    frame_interval: Duration,
    /// Opus packets, each with its length in 48 kHz samples.
    packets: Vec<(Bytes, u32)>,
}

impl FileMedia {
    fn load(&self) -> Result<LoadedMedia, MediaError> {
        use rtc::media::io::ivf_reader::IVFReader;
        use rtc::media::io::ogg_reader::OggReader;
        let unreadable = |path: &std::path::Path, e: &dyn std::fmt::Display| {
            MediaError::File(format!("{}: {e}", path.display()))
        };
        let file = std::fs::File::open(&self.ivf).map_err(|e| unreadable(&self.ivf, &e))?;
        let (mut ivf, header) =
            IVFReader::new(std::io::BufReader::new(file)).map_err(|e| unreadable(&self.ivf, &e))?;
        let mut frames = Vec::new();
        while let Ok((frame, _)) = ivf.parse_next_frame() {
            // Frame tag bit 0 clear: a keyframe.
            let keyframe = frame.first().is_some_and(|b| b & 1 == 0);
            frames.push((frame.freeze(), keyframe));
        }
        let frame_interval = if header.timebase_denominator > 0 {
            Duration::from_secs(1) * header.timebase_numerator / header.timebase_denominator
        } else {
            Duration::from_millis(33)
        };
        let file = std::fs::File::open(&self.ogg).map_err(|e| unreadable(&self.ogg, &e))?;
        let (mut ogg, _) = OggReader::new(std::io::BufReader::new(file), true)
            .map_err(|e| unreadable(&self.ogg, &e))?;
        let mut packets = Vec::new();
        let mut granule = 0u64;
        while let Ok((page, header)) = ogg.parse_next_page() {
            let samples = header.granule_position.saturating_sub(granule);
            granule = header.granule_position;
            if page.is_empty() || samples == 0 {
                continue;
            }
            packets.push((page.freeze(), samples.min(5760) as u32));
        }
        if frames.is_empty() || packets.is_empty() {
            return Err(MediaError::File(format!(
                "{} and {} hold no frames or no packets",
                self.ivf.display(),
                self.ogg.display()
            )));
        }
        Ok(LoadedMedia {
            frames,
            frame_interval: frame_interval.max(Duration::from_millis(5)),
            packets,
        })
    }
}

/// The client's publisher peer connection: one Opus and one VP8 track, stream id =
/// the participant id. The client offers, the SFU answers.
///
/// The peer connection can be replaced ([`Publisher::reconnect`]) when the
/// meeting's room moves to another SFU node: the media tasks and every
/// [`AudioSender`] keep running and write to whichever connection is
/// current, with the same SSRCs and continuous sequence numbers.
pub struct Publisher {
    link: LinkSlot,
    udp_bind: String,
    audio_ssrc: u32,
    /// The video's encodings: one, or three simulcast layers lowest first.
    video_layers: Arc<[VideoLayer]>,
    stats: Arc<PublisherStats>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// The current [`PublisherLink`] of a [`Publisher`], read by its senders
/// for every packet (never held across a write).
type LinkSlot = Arc<Mutex<Arc<PublisherLink>>>;

/// One peer connection of a [`Publisher`] and its two tracks.
struct PublisherLink {
    pc: Arc<dyn PeerConnection>,
    audio: Arc<TrackLocalStaticRTP>,
    video: Arc<TrackLocalStaticRTP>,
    /// The video media section's mid, known once the offer is made (simulcast
    /// packets carry it).
    video_mid: Mutex<Option<Bytes>>,
    /// Whether the connection is up (media written before is dropped).
    connected: Arc<AtomicBool>,
    state: LinkState,
    keyframe_requests: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How a [`Publisher`] sends.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublishOptions {
    /// Video as three simulcast layers (see [`SyntheticMedia::simulcast`]).
    pub simulcast: bool,
}

/// One encoding of the published video.
struct VideoLayer {
    /// The RTP stream id, for simulcast layers.
    rid: Option<&'static str>,
    ssrc: u32,
    /// The layer's bitrate is the full bitrate divided by this.
    bitrate_divisor: u32,
    /// Picture size written into keyframes.
    width: u16,
    height: u16,
    /// A PLI or FIR for this layer arrived (or none was sent yet).
    keyframe_wanted: AtomicBool,
}

/// The web client's camera layers, lowest first: rid, size divisor, bitrate divisor.
const SIMULCAST_LAYERS: [(&str, u16, u32); 3] = [("q", 4, 10), ("h", 2, 3), ("f", 1, 1)];
const FULL_WIDTH: u16 = 640;
const FULL_HEIGHT: u16 = 480;

impl VideoLayer {
    fn single(ssrc: u32) -> Self {
        Self {
            rid: None,
            ssrc,
            bitrate_divisor: 1,
            width: FULL_WIDTH,
            height: FULL_HEIGHT,
            keyframe_wanted: AtomicBool::new(true),
        }
    }

    fn simulcast() -> Vec<Self> {
        SIMULCAST_LAYERS
            .iter()
            .map(|&(rid, scale, bitrate_divisor)| Self {
                rid: Some(rid),
                ssrc: rand::random(),
                bitrate_divisor,
                width: FULL_WIDTH / scale,
                height: FULL_HEIGHT / scale,
                keyframe_wanted: AtomicBool::new(true),
            })
            .collect()
    }

    fn encoding(&self) -> RTCRtpEncodingParameters {
        encoding(self.rid.unwrap_or_default(), self.ssrc, vp8())
    }
}

fn encoding(rid: &str, ssrc: u32, codec: RTCRtpCodec) -> RTCRtpEncodingParameters {
    RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            rid: rid.to_owned(),
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec,
        ..Default::default()
    }
}

/// An SDES text header extension value (a mid or an RTP stream id).
struct SdesText(Bytes);

impl rtc::shared::marshal::MarshalSize for SdesText {
    fn marshal_size(&self) -> usize {
        self.0.len()
    }
}

impl rtc::shared::marshal::Marshal for SdesText {
    fn marshal_to(&self, buf: &mut [u8]) -> Result<usize, rtc::shared::error::Error> {
        let target = buf
            .get_mut(..self.0.len())
            .ok_or(rtc::shared::error::Error::ErrBufferTooSmall)?;
        target.copy_from_slice(&self.0);
        Ok(self.0.len())
    }
}

fn sdes_extension(uri: &'static str, text: Bytes) -> HeaderExtension {
    HeaderExtension::Custom {
        uri: uri.into(),
        extension: Box::new(SdesText(text)),
    }
}

/// The mid of the first video media section of `sdp`.
fn video_mid(sdp: &str) -> Option<&str> {
    let mut in_video = false;
    for line in sdp.lines() {
        if let Some(media) = line.strip_prefix("m=") {
            in_video = media.starts_with("video ");
        } else if in_video && let Some(mid) = line.strip_prefix("a=mid:") {
            return Some(mid.trim());
        }
    }
    None
}

fn local_track(
    stream_id: &str,
    track_id: &str,
    kind: RtpCodecKind,
    encodings: Vec<RTCRtpEncodingParameters>,
) -> Arc<TrackLocalStaticRTP> {
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        stream_id.to_owned(),
        track_id.to_owned(),
        track_id.to_owned(),
        kind,
        encodings,
    )))
}

impl PublisherLink {
    /// A new peer connection with the publisher's two tracks, its keyframe
    /// requests watched.
    async fn open(
        participant_id: &str,
        udp_bind: &str,
        ice: &IceOptions,
        audio_ssrc: u32,
        video_layers: &Arc<[VideoLayer]>,
        stats: &Arc<PublisherStats>,
    ) -> Result<Arc<Self>, MediaError> {
        let events = PublisherEvents::default();
        let connected = Arc::clone(&events.connected);
        let state = events.state.clone();
        let pc = build_pc(udp_bind, false, ice, Arc::new(events)).await?;
        let audio = local_track(
            participant_id,
            &format!("{participant_id}-audio"),
            RtpCodecKind::Audio,
            vec![encoding("", audio_ssrc, opus())],
        );
        let video = local_track(
            participant_id,
            &format!("{participant_id}-video"),
            RtpCodecKind::Video,
            video_layers.iter().map(VideoLayer::encoding).collect(),
        );
        pc.add_track(Arc::clone(&audio) as Arc<dyn TrackLocal>)
            .await
            .map_err(webrtc_err("adding the audio track"))?;
        pc.add_track(Arc::clone(&video) as Arc<dyn TrackLocal>)
            .await
            .map_err(webrtc_err("adding the video track"))?;
        let watch = tokio::spawn(watch_keyframe_requests(
            Arc::clone(&video),
            Arc::clone(stats),
            Arc::clone(video_layers),
        ));
        Ok(Arc::new(Self {
            pc,
            audio,
            video,
            video_mid: Mutex::new(None),
            connected,
            state,
            keyframe_requests: Mutex::new(Some(watch)),
        }))
    }

    fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    async fn close(&self) {
        if let Some(watch) = self.keyframe_requests.lock().take() {
            watch.abort();
        }
        self.connected.store(false, Ordering::Relaxed);
        let _ = self.pc.close().await;
    }
}

/// Marks the layers a PLI or FIR on `video` asks for as wanting a keyframe.
async fn watch_keyframe_requests(
    video: Arc<TrackLocalStaticRTP>,
    stats: Arc<PublisherStats>,
    layers: Arc<[VideoLayer]>,
) {
    // `poll` returns None until the track is bound to a sender; retry until then.
    loop {
        match video.poll().await {
            Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                for packet in packets {
                    let any = packet.as_any();
                    let ssrcs: Vec<u32> =
                        if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                            vec![pli.media_ssrc]
                        } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                            fir.fir.iter().map(|entry| entry.ssrc).collect()
                        } else {
                            continue;
                        };
                    stats.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                    // A request naming no layer of ours (or the whole track) asks all.
                    let named = |l: &&VideoLayer| ssrcs.contains(&l.ssrc);
                    let any_named = layers.iter().any(|l| named(&l));
                    for layer in layers.iter().filter(|l| !any_named || named(l)) {
                        layer.keyframe_wanted.store(true, Ordering::Relaxed);
                    }
                }
            }
            Some(_) => {}
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

impl Publisher {
    /// Builds the publisher PC for `participant_id`, binding UDP on `udp_bind`
    /// (e.g. `127.0.0.1:0`).
    pub async fn new(participant_id: &str, udp_bind: &str) -> Result<Self, MediaError> {
        Self::with_options(participant_id, udp_bind, PublishOptions::default()).await
    }

    /// [`Publisher::new`] with [`PublishOptions`] (simulcast video).
    pub async fn with_options(
        participant_id: &str,
        udp_bind: &str,
        options: PublishOptions,
    ) -> Result<Self, MediaError> {
        Self::with_ice(participant_id, udp_bind, options, &IceOptions::default()).await
    }

    /// [`Publisher::with_options`] through the ICE servers of [`IceOptions`].
    pub async fn with_ice(
        participant_id: &str,
        udp_bind: &str,
        options: PublishOptions,
        ice: &IceOptions,
    ) -> Result<Self, MediaError> {
        let audio_ssrc = rand::random::<u32>();
        let video_layers: Arc<[VideoLayer]> = if options.simulcast {
            VideoLayer::simulcast().into()
        } else {
            vec![VideoLayer::single(rand::random())].into()
        };
        let stats = Arc::new(PublisherStats::default());
        let link = PublisherLink::open(
            participant_id,
            udp_bind,
            ice,
            audio_ssrc,
            &video_layers,
            &stats,
        )
        .await?;
        Ok(Self {
            link: Arc::new(Mutex::new(link)),
            udp_bind: udp_bind.to_owned(),
            audio_ssrc,
            video_layers,
            stats,
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Replaces the peer connection with a new one (for `participant_id`,
    /// which changes when the client joined again), to be negotiated with
    /// [`Publisher::create_offer`] and [`Publisher::apply_answer`]; the old
    /// one is closed. What is being sent goes on, starting with a keyframe
    /// on every layer once the new connection is up.
    pub async fn reconnect(
        &self,
        participant_id: &str,
        ice: &IceOptions,
    ) -> Result<(), MediaError> {
        let link = PublisherLink::open(
            participant_id,
            &self.udp_bind,
            ice,
            self.audio_ssrc,
            &self.video_layers,
            &self.stats,
        )
        .await?;
        for layer in self.video_layers.iter() {
            layer.keyframe_wanted.store(true, Ordering::Relaxed);
        }
        let old = std::mem::replace(&mut *self.link.lock(), link);
        old.close().await;
        Ok(())
    }

    fn link(&self) -> Arc<PublisherLink> {
        Arc::clone(&self.link.lock())
    }

    /// Its peer connection's state, for the session's path watch.
    pub fn path_state(&self) -> PathState {
        self.link().state.get()
    }

    /// Whether the current peer connection is up.
    pub fn is_connected(&self) -> bool {
        self.link().connected.load(Ordering::Relaxed)
    }

    /// Creates the offer to send to the SFU (through signal).
    pub async fn create_offer(&self) -> Result<String, MediaError> {
        let link = self.link();
        let offer = link
            .pc
            .create_offer(None)
            .await
            .map_err(webrtc_err("creating the offer"))?;
        link.pc
            .set_local_description(offer)
            .await
            .map_err(webrtc_err("setting the local offer"))?;
        let sdp = link
            .pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or(MediaError::NoLocalDescription("creating the offer"))?;
        *link.video_mid.lock() = video_mid(&sdp).map(|mid| Bytes::copy_from_slice(mid.as_bytes()));
        Ok(sdp)
    }

    /// Applies the SFU's answer.
    pub async fn apply_answer(&self, sdp: &str) -> Result<(), MediaError> {
        let answer = RTCSessionDescription::answer(sdp.to_owned())
            .map_err(webrtc_err("parsing the answer"))?;
        self.link()
            .pc
            .set_remote_description(answer)
            .await
            .map_err(webrtc_err("applying the answer"))
    }

    /// The publisher's counters.
    pub fn stats(&self) -> Arc<PublisherStats> {
        Arc::clone(&self.stats)
    }

    /// Starts sending synthetic Opus-shaped audio (with the audio-level extension) and
    /// VP8-shaped video (periodic keyframes, and one on every PLI/FIR) until
    /// [`Publisher::close`]. The video goes out on every encoding the publisher
    /// was built with ([`PublishOptions::simulcast`]); `media.simulcast` is
    /// read where the publisher is built ([`crate::meeting::MeetingSession::publish`]).
    pub fn start_synthetic_media(&self, media: SyntheticMedia) {
        let audio_task = tokio::spawn(send_audio(
            Arc::clone(&self.link),
            self.audio_ssrc,
            media,
            Arc::clone(&self.stats),
        ));
        let mut tasks = vec![audio_task];
        for layer in 0..self.video_layers.len() {
            tasks.push(tokio::spawn(send_video(
                VideoSender {
                    link: Arc::clone(&self.link),
                    layers: Arc::clone(&self.video_layers),
                    layer,
                },
                media,
                Arc::clone(&self.stats),
            )));
        }
        self.tasks.lock().extend(tasks);
    }

    /// Starts sending the media of `media`'s files, looped, until
    /// [`Publisher::close`]. Keyframe requests are not answered: the file's
    /// own keyframes come at its interval. Use it instead of
    /// [`Publisher::start_synthetic_media`], on a publisher without simulcast.
    pub fn start_file_media(&self, media: &FileMedia) -> Result<(), MediaError> {
        let loaded = Arc::new(media.load()?);
        let audio = self.audio_sender();
        let level = media.audio_level;
        let audio_task = tokio::spawn(send_file_audio(audio, Arc::clone(&loaded), level));
        let video = VideoSender {
            link: Arc::clone(&self.link),
            layers: Arc::clone(&self.video_layers),
            layer: 0,
        };
        let video_task = tokio::spawn(send_file_video(video, loaded, Arc::clone(&self.stats)));
        self.tasks.lock().extend([audio_task, video_task]);
        Ok(())
    }

    /// A sender of real audio on the publisher's Opus track, for clients
    /// that encode their own (the SIP gateway). Use it instead of
    /// [`Publisher::start_synthetic_media`], not with it.
    pub fn audio_sender(&self) -> AudioSender {
        AudioSender {
            link: Arc::clone(&self.link),
            ssrc: self.audio_ssrc,
            sequence_number: rand::random(),
            timestamp: rand::random(),
            stats: Arc::clone(&self.stats),
        }
    }

    /// Stops sending and closes the peer connection.
    pub async fn close(&self) {
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        for task in tasks {
            task.abort();
        }
        self.link().close().await;
    }
}

/// Sends encoded Opus frames on a [`Publisher`]'s audio track (on whichever
/// peer connection is current: it follows [`Publisher::reconnect`]).
pub struct AudioSender {
    link: LinkSlot,
    ssrc: u32,
    sequence_number: u16,
    timestamp: u32,
    stats: Arc<PublisherStats>,
}

impl AudioSender {
    /// Sends one Opus packet lasting `samples` at 48 kHz (960 for 20 ms),
    /// with its audio level in -dBov (0 loudest, 127 silence) for the SFU's
    /// speaker detection. Returns whether it left: nothing leaves before the
    /// peer connection is up, and the stream's clock runs on regardless.
    pub async fn send(&mut self, payload: Bytes, samples: u32, level: u8) -> bool {
        let timestamp = self.timestamp;
        self.timestamp = self.timestamp.wrapping_add(samples);
        let link = Arc::clone(&self.link.lock());
        if !link.is_connected() {
            return false;
        }
        let packet = rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: OPUS_PAYLOAD_TYPE,
                sequence_number: self.sequence_number,
                timestamp,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload,
        };
        self.sequence_number = self.sequence_number.wrapping_add(1);
        let level = HeaderExtension::AudioLevel(AudioLevelExtension {
            level: level.min(127),
            voice: level < 127,
        });
        let sent = link
            .audio
            .write_rtp_with_extensions(packet, &[level])
            .await
            .is_ok();
        if sent {
            self.stats.audio_packets.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }
}

/// One received audio packet, for clients that decode what they receive.
#[derive(Debug, Clone)]
pub struct AudioPacket {
    /// The publishing participant's id.
    pub stream_id: Arc<str>,
    /// RTP sequence number.
    pub sequence_number: u16,
    /// RTP timestamp (48 kHz for Opus).
    pub timestamp: u32,
    /// The Opus payload.
    pub payload: Bytes,
}

async fn send_audio(link: LinkSlot, ssrc: u32, media: SyntheticMedia, stats: Arc<PublisherStats>) {
    let rate = media.audio_packets_per_second.max(1);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let samples_per_packet = 48_000 / rate;
    let mut sequence_number: u16 = rand::random();
    let mut timestamp: u32 = rand::random();
    loop {
        tick.tick().await;
        let link = Arc::clone(&link.lock());
        if !link.is_connected() {
            continue;
        }
        // TOC byte: SILK-only wideband 20 ms, mono, one frame; the rest is filler.
        let mut payload = vec![0x48u8; media.audio_payload_bytes.max(1)];
        payload[0] = 0x48;
        let packet = rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: OPUS_PAYLOAD_TYPE,
                sequence_number,
                timestamp,
                ssrc,
                ..Default::default()
            },
            payload: Bytes::from(payload),
        };
        let level = HeaderExtension::AudioLevel(AudioLevelExtension {
            level: media.audio_level,
            voice: media.audio_level < 127,
        });
        if link
            .audio
            .write_rtp_with_extensions(packet, &[level])
            .await
            .is_ok()
        {
            stats.audio_packets.fetch_add(1, Ordering::Relaxed);
        }
        sequence_number = sequence_number.wrapping_add(1);
        timestamp = timestamp.wrapping_add(samples_per_packet);
    }
}

/// A VP8 frame shaped well enough for an SFU and a webrtc receiver: a valid payload
/// descriptor and frame tag, and on keyframes the start code and dimensions.
fn vp8_frame(size: usize, keyframe: bool, width: u16, height: u16) -> Vec<u8> {
    let size = size.max(16);
    let mut frame = vec![0u8; size];
    let first_partition = (size as u32 / 2).min(0x7_ffff);
    // Frame tag: bit 0 = 0 for keyframes, version 0, show_frame = 1, partition size.
    let tag = u32::from(!keyframe) | (1 << 4) | (first_partition << 5);
    frame[0] = (tag & 0xff) as u8;
    frame[1] = ((tag >> 8) & 0xff) as u8;
    frame[2] = ((tag >> 16) & 0xff) as u8;
    if keyframe {
        frame[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        frame[6..8].copy_from_slice(&width.to_le_bytes());
        frame[8..10].copy_from_slice(&height.to_le_bytes());
    }
    frame
}

async fn send_file_audio(mut sender: AudioSender, media: Arc<LoadedMedia>, level: u8) {
    let mut at = tokio::time::Instant::now();
    for (packet, samples) in media.packets.iter().cycle() {
        sender.send(packet.clone(), *samples, level).await;
        at += Duration::from_micros(u64::from(*samples) * 1_000_000 / 48_000);
        tokio::time::sleep_until(at).await;
    }
}

async fn send_file_video(sender: VideoSender, media: Arc<LoadedMedia>, stats: Arc<PublisherStats>) {
    use rtc::rtp::codec::vp8::Vp8Payloader;
    use rtc::rtp::packetizer::Payloader;
    const MTU: usize = 1100;
    let mut payloader = Vp8Payloader::default();
    let ssrc = sender.layers[sender.layer].ssrc;
    let mut sequence_number: u16 = rand::random();
    let mut timestamp: u32 = rand::random();
    let step = (media.frame_interval.as_micros() as u64 * 90 / 1000) as u32;
    let mut at = tokio::time::Instant::now();
    for (frame, keyframe) in media.frames.iter().cycle() {
        if sender.is_connected()
            && let Ok(payloads) = payloader.payload(MTU, frame)
        {
            let last = payloads.len().saturating_sub(1);
            for (index, payload) in payloads.into_iter().enumerate() {
                let packet = rtp::Packet {
                    header: rtp::header::Header {
                        version: 2,
                        marker: index == last,
                        payload_type: VP8_PAYLOAD_TYPE,
                        sequence_number,
                        timestamp,
                        ssrc,
                        ..Default::default()
                    },
                    payload,
                };
                sequence_number = sequence_number.wrapping_add(1);
                if sender.write(packet).await {
                    stats.video_packets.fetch_add(1, Ordering::Relaxed);
                }
            }
            if *keyframe {
                stats.keyframes_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        timestamp = timestamp.wrapping_add(step);
        at += media.frame_interval;
        tokio::time::sleep_until(at).await;
    }
}

/// Where one video encoding goes: the publisher's current video track,
/// and which of its layers.
struct VideoSender {
    link: LinkSlot,
    layers: Arc<[VideoLayer]>,
    layer: usize,
}

impl VideoSender {
    fn is_connected(&self) -> bool {
        self.link.lock().is_connected()
    }

    async fn write(&self, packet: rtp::Packet) -> bool {
        let link = Arc::clone(&self.link.lock());
        let layer = &self.layers[self.layer];
        let Some(rid) = layer.rid else {
            return link.video.write_rtp(packet).await.is_ok();
        };
        // A simulcast layer names its media section and its rid in every packet.
        let mut extensions = vec![sdes_extension(
            RTP_STREAM_ID_URI,
            Bytes::from_static(rid.as_bytes()),
        )];
        if let Some(mid) = link.video_mid.lock().clone() {
            extensions.push(sdes_extension(MID_URI, mid));
        }
        link.video
            .write_rtp_with_extensions(packet, &extensions)
            .await
            .is_ok()
    }
}

async fn send_video(sender: VideoSender, media: SyntheticMedia, stats: Arc<PublisherStats>) {
    const MAX_PAYLOAD: usize = 1100;
    let layer = &sender.layers[sender.layer];
    let fps = media.video_fps.max(1);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / fps);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let frame_bytes = (media.video_bitrate / layer.bitrate_divisor / 8 / fps) as usize;
    let mut sequence_number: u16 = rand::random();
    let mut timestamp: u32 = rand::random();
    let mut last_keyframe: Option<Instant> = None;
    loop {
        tick.tick().await;
        if !sender.is_connected() {
            // Nothing written now would reach the SFU; start with a keyframe once it can.
            last_keyframe = None;
            continue;
        }
        let keyframe = layer.keyframe_wanted.swap(false, Ordering::Relaxed)
            || last_keyframe.is_none_or(|at| at.elapsed() >= media.keyframe_interval);
        let frame = vp8_frame(
            if keyframe {
                frame_bytes * 3
            } else {
                frame_bytes
            },
            keyframe,
            layer.width,
            layer.height,
        );
        let chunks: Vec<&[u8]> = frame.chunks(MAX_PAYLOAD).collect();
        let mut all_sent = true;
        for (index, chunk) in chunks.iter().enumerate() {
            // VP8 payload descriptor: S bit on the first packet of the frame, partition 0.
            let mut payload = Vec::with_capacity(chunk.len() + 1);
            payload.push(if index == 0 { 0x10 } else { 0x00 });
            payload.extend_from_slice(chunk);
            let packet = rtp::Packet {
                header: rtp::header::Header {
                    version: 2,
                    marker: index + 1 == chunks.len(),
                    payload_type: VP8_PAYLOAD_TYPE,
                    sequence_number,
                    timestamp,
                    ssrc: layer.ssrc,
                    ..Default::default()
                },
                payload: Bytes::from(payload),
            };
            sequence_number = sequence_number.wrapping_add(1);
            if sender.write(packet).await {
                stats.video_packets.fetch_add(1, Ordering::Relaxed);
            } else {
                all_sent = false;
            }
        }
        if keyframe {
            if all_sent {
                last_keyframe = Some(Instant::now());
                stats.keyframes_sent.fetch_add(1, Ordering::Relaxed);
            } else {
                // Not connected yet: the first keyframe that gets through is the one that counts.
                layer.keyframe_wanted.store(true, Ordering::Relaxed);
            }
        }
        timestamp = timestamp.wrapping_add(90_000 / fps);
    }
}

/// What arrived on one remote track of a [`Subscriber`].
#[derive(Debug)]
pub struct ReceivedTrack {
    /// MediaStream id: the publishing participant's id.
    pub stream_id: String,
    /// The track id the SFU chose.
    pub track_id: String,
    /// Audio or video.
    pub kind: TrackKind,
    /// The SSRC the SFU sends this track with.
    pub ssrc: u32,
    packets: AtomicU64,
    bytes: AtomicU64,
    last_arrival: Mutex<Option<Instant>>,
    frame_size: Mutex<Option<(u16, u16)>>,
}

/// Width and height of the VP8 keyframe that `payload` (an RTP payload) starts.
fn vp8_keyframe_size(payload: &Bytes) -> Option<(u16, u16)> {
    use rtc::rtp::codec::vp8::Vp8Packet;
    use rtc::rtp::packetizer::Depacketizer;
    let mut descriptor = Vp8Packet::default();
    let frame = descriptor.depacketize(payload).ok()?;
    // Start of partition 0, a keyframe (frame tag bit 0 clear), the start code.
    if descriptor.s != 1 || descriptor.pid != 0 || frame.len() < 10 || frame[0] & 1 != 0 {
        return None;
    }
    if frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let dimension = |at: usize| u16::from_le_bytes([frame[at], frame[at + 1]]) & 0x3fff;
    Some((dimension(6), dimension(8)))
}

impl ReceivedTrack {
    /// RTP packets received.
    pub fn packets(&self) -> u64 {
        self.packets.load(Ordering::Relaxed)
    }

    /// RTP payload bytes received.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// When the last packet arrived.
    pub fn last_arrival(&self) -> Option<Instant> {
        *self.last_arrival.lock()
    }

    /// Width and height of the last VP8 keyframe received (which simulcast
    /// layer arrives), if one arrived.
    pub fn frame_size(&self) -> Option<(u16, u16)> {
        *self.frame_size.lock()
    }
}

/// One received video packet, for clients that keep what they receive
/// (the recorder).
#[derive(Debug, Clone)]
pub struct VideoPacket {
    /// The publishing participant's id.
    pub stream_id: Arc<str>,
    /// RTP sequence number.
    pub sequence_number: u16,
    /// RTP timestamp (90 kHz).
    pub timestamp: u32,
    /// The RTP marker: the last packet of a frame.
    pub marker: bool,
    /// The VP8 payload (descriptor included).
    pub payload: Bytes,
}

type Sink<T> = Arc<Mutex<Option<tokio::sync::mpsc::Sender<T>>>>;

#[derive(Clone, Default)]
struct SubscriberEvents {
    /// The state of the peer connection these events are of (each has its own).
    state: LinkState,
    tracks: Arc<Mutex<Vec<Arc<ReceivedTrack>>>>,
    remotes: Arc<Mutex<HashMap<String, Arc<dyn TrackRemote>>>>,
    audio_sink: Sink<AudioPacket>,
    video_sink: Sink<VideoPacket>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for SubscriberEvents {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.set(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let ssrc = track.ssrcs().await.first().copied().unwrap_or_default();
        let stream_id = track.stream_id().await;
        let track_id = track.track_id().await;
        let kind = match track.kind().await {
            RtpCodecKind::Audio => TrackKind::Audio,
            _ => TrackKind::Video,
        };
        // The same track on a new peer connection (after a media restart)
        // goes on counting where it was.
        let received = {
            let mut tracks = self.tracks.lock();
            let known = tracks
                .iter()
                .find(|t| t.stream_id == stream_id && t.track_id == track_id && t.kind == kind)
                .cloned();
            known.unwrap_or_else(|| {
                let received = Arc::new(ReceivedTrack {
                    stream_id,
                    track_id,
                    kind,
                    ssrc,
                    packets: AtomicU64::new(0),
                    bytes: AtomicU64::new(0),
                    last_arrival: Mutex::new(None),
                    frame_size: Mutex::new(None),
                });
                tracks.push(Arc::clone(&received));
                received
            })
        };
        self.remotes
            .lock()
            .insert(received.track_id.clone(), Arc::clone(&track));
        let audio_sink = (received.kind == TrackKind::Audio).then(|| Arc::clone(&self.audio_sink));
        let video_sink = (received.kind == TrackKind::Video).then(|| Arc::clone(&self.video_sink));
        let stream_id: Arc<str> = received.stream_id.as_str().into();
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                    // A consumer that falls behind loses packets, never stalls the track.
                    if let Some(sender) = audio_sink.as_ref().and_then(|s| s.lock().clone()) {
                        let _ = sender.try_send(AudioPacket {
                            stream_id: Arc::clone(&stream_id),
                            sequence_number: packet.header.sequence_number,
                            timestamp: packet.header.timestamp,
                            payload: packet.payload.clone(),
                        });
                    }
                    if let Some(sender) = video_sink.as_ref().and_then(|s| s.lock().clone()) {
                        let _ = sender.try_send(VideoPacket {
                            stream_id: Arc::clone(&stream_id),
                            sequence_number: packet.header.sequence_number,
                            timestamp: packet.header.timestamp,
                            marker: packet.header.marker,
                            payload: packet.payload.clone(),
                        });
                    }
                    received.packets.fetch_add(1, Ordering::Relaxed);
                    received
                        .bytes
                        .fetch_add(packet.payload.len() as u64, Ordering::Relaxed);
                    *received.last_arrival.lock() = Some(Instant::now());
                    if received.kind == TrackKind::Video
                        && let Some(size) = vp8_keyframe_size(&packet.payload)
                    {
                        *received.frame_size.lock() = Some(size);
                    }
                }
            }
        });
    }
}

/// The client's subscriber peer connection: the SFU offers, the client answers.
///
/// The peer connection can be replaced ([`Subscriber::reconnect`]) when the
/// meeting's room moves to another SFU node; tracks, their counters and the
/// packet channels carry on.
pub struct Subscriber {
    pc: Mutex<Arc<dyn PeerConnection>>,
    udp_bind: String,
    /// The current peer connection's events (tracks and sinks are shared by all).
    events: Mutex<SubscriberEvents>,
    /// Peer connections built so far: 1, plus one per reconnect.
    connections: AtomicU64,
}

impl Subscriber {
    /// Builds the subscriber PC, binding UDP on `udp_bind` (e.g. `127.0.0.1:0`).
    pub async fn new(udp_bind: &str) -> Result<Self, MediaError> {
        Self::with_ice(udp_bind, &IceOptions::default()).await
    }

    /// [`Subscriber::new`] through the ICE servers of [`IceOptions`].
    pub async fn with_ice(udp_bind: &str, ice: &IceOptions) -> Result<Self, MediaError> {
        let events = SubscriberEvents::default();
        let pc = build_pc(udp_bind, true, ice, Arc::new(events.clone())).await?;
        Ok(Self {
            pc: Mutex::new(pc),
            udp_bind: udp_bind.to_owned(),
            events: Mutex::new(events),
            connections: AtomicU64::new(1),
        })
    }

    /// Replaces the peer connection with a new one, waiting for the SFU's
    /// next offer, and closes the old one.
    pub async fn reconnect(&self, ice: &IceOptions) -> Result<(), MediaError> {
        // A state of its own: the old connection's closing says nothing of the new one.
        let events = SubscriberEvents {
            state: LinkState::default(),
            ..self.events.lock().clone()
        };
        let pc = build_pc(&self.udp_bind, true, ice, Arc::new(events.clone())).await?;
        *self.events.lock() = events;
        let old = std::mem::replace(&mut *self.pc.lock(), pc);
        self.connections.fetch_add(1, Ordering::Relaxed);
        let _ = old.close().await;
        Ok(())
    }

    /// The current peer connection's state, for the session's path watch.
    pub fn path_state(&self) -> PathState {
        self.events.lock().state.get()
    }

    /// How many peer connections this subscriber has had: 1 until a
    /// reconnect replaces it. Renegotiations (tracks added or removed) keep
    /// the same one.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    fn pc(&self) -> Arc<dyn PeerConnection> {
        Arc::clone(&self.pc.lock())
    }

    /// Applies an offer from the SFU and returns the answer to send back.
    pub async fn apply_offer(&self, sdp: &str) -> Result<String, MediaError> {
        let offer = RTCSessionDescription::offer(sdp.to_owned())
            .map_err(webrtc_err("parsing the offer"))?;
        let pc = self.pc();
        pc.set_remote_description(offer)
            .await
            .map_err(webrtc_err("applying the offer"))?;
        let answer = pc
            .create_answer(None)
            .await
            .map_err(webrtc_err("creating the answer"))?;
        pc.set_local_description(answer)
            .await
            .map_err(webrtc_err("setting the local answer"))?;
        pc.local_description()
            .await
            .map(|d| d.sdp)
            .ok_or(MediaError::NoLocalDescription("creating the answer"))
    }

    /// From now on, every audio packet received (of every participant) also
    /// goes to the returned channel, which holds up to `capacity` packets;
    /// when it is full, packets are dropped. A later call replaces it.
    pub fn audio_packets(&self, capacity: usize) -> tokio::sync::mpsc::Receiver<AudioPacket> {
        let (sender, receiver) = tokio::sync::mpsc::channel(capacity.max(1));
        *self.events.lock().audio_sink.lock() = Some(sender);
        receiver
    }

    /// From now on, every video packet received (of every participant) also
    /// goes to the returned channel, which holds up to `capacity` packets;
    /// when it is full, packets are dropped. A later call replaces it.
    pub fn video_packets(&self, capacity: usize) -> tokio::sync::mpsc::Receiver<VideoPacket> {
        let (sender, receiver) = tokio::sync::mpsc::channel(capacity.max(1));
        *self.events.lock().video_sink.lock() = Some(sender);
        receiver
    }

    /// Every remote track seen so far, with its counters.
    pub fn tracks(&self) -> Vec<Arc<ReceivedTrack>> {
        self.events.lock().tracks.lock().clone()
    }

    /// The remote track of `kind` published by `stream_id`, if it has arrived.
    pub fn track(&self, stream_id: &str, kind: TrackKind) -> Option<Arc<ReceivedTrack>> {
        self.tracks()
            .into_iter()
            .find(|t| t.stream_id == stream_id && t.kind == kind)
    }

    /// Sends a Picture Loss Indication for a received track (asks for a keyframe).
    pub async fn send_pli(&self, track: &ReceivedTrack) -> Result<(), MediaError> {
        let remote = self
            .events
            .lock()
            .remotes
            .lock()
            .get(&track.track_id)
            .cloned();
        let Some(remote) = remote else {
            return Ok(());
        };
        // The SSRC may only be known once packets flowed: ask the track now.
        let media_ssrc = remote.ssrcs().await.first().copied().unwrap_or(track.ssrc);
        remote
            .write_rtcp(vec![Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            })])
            .await
            .map_err(webrtc_err("sending a PLI"))
    }

    /// Closes the peer connection.
    pub async fn close(&self) {
        let _ = self.pc().close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_video_mid_is_read_from_the_video_section() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\na=mid:1\r\n";
        assert_eq!(video_mid(sdp), Some("1"));
        assert_eq!(video_mid("v=0\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n"), None);
    }

    #[test]
    fn keyframe_sizes_are_read_from_vp8_payloads_and_only_from_keyframes() {
        let payload = |frame: Vec<u8>| {
            let mut payload = vec![0x10];
            payload.extend(frame);
            Bytes::from(payload)
        };
        assert_eq!(
            vp8_keyframe_size(&payload(vp8_frame(500, true, 320, 240))),
            Some((320, 240))
        );
        assert_eq!(
            vp8_keyframe_size(&payload(vp8_frame(500, false, 320, 240))),
            None
        );
        // A continuation packet (no S bit) starts no frame.
        let mut middle = payload(vp8_frame(500, true, 320, 240)).to_vec();
        middle[0] = 0;
        assert_eq!(vp8_keyframe_size(&Bytes::from(middle)), None);
        assert_eq!(vp8_keyframe_size(&Bytes::from_static(&[0x10, 0])), None);
    }
}
