//! What is forwarded: published tracks, packets on their way from a publisher to
//! subscribers, and the per-subscriber rewriting (SSRC, payload type, sequence numbers,
//! header extensions) that lets a browser decode them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::rtp;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
use rtc::sdp::description::session::SessionDescription;

use crate::bandwidth::LayerRates;
use crate::control::{MediaKind, VideoQuality};
use crate::feedback::starts_keyframe;
use crate::simulcast::{Allowance, Decision, LAYERS, LayerSelector, Vp8Munger};

/// How often a subscriber track still waiting for a keyframe asks its publisher again.
pub const KEYFRAME_RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// The fixed RTP header, counted with the payload in a layer's rate.
const RTP_HEADER_BYTES: usize = 12;

/// Names one published track: its publisher and the publisher's track id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackKey {
    /// The publishing participant; also the MediaStream id subscribers see.
    pub publisher: String,
    /// The publisher's track id (from its `a=msid`, or `mid-N` without one).
    pub track_id: String,
}

/// A track a participant publishes, as subscribers are offered it.
#[derive(Debug, Clone)]
pub struct PublishedTrack {
    /// Which track.
    pub key: Arc<TrackKey>,
    /// Audio or video.
    pub kind: MediaKind,
    /// The codec negotiated with the publisher; subscribers receive the same one.
    pub codec: RTCRtpCodec,
}

/// One RTP packet on its way from a publisher's task to a subscriber's task.
#[derive(Debug)]
pub struct ForwardedPacket {
    /// The published track it belongs to.
    pub track: Arc<TrackKey>,
    /// The simulcast layer it belongs to (0 = lowest); `None` without simulcast.
    pub layer: Option<u8>,
    /// Bumped each time forwarding of this kind resumes after a mute, so subscribers
    /// re-base their sequence numbers instead of signalling a huge loss.
    pub generation: u32,
    /// The packet as the publisher sent it (after SRTP).
    pub packet: rtp::Packet,
    /// When the datagram arrived at the node's socket.
    pub received_at: Instant,
}

/// What a subscriber's track does with one forwarded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Send the (rewritten) packet.
    pub send: bool,
    /// Ask the publisher for a keyframe: `Some(None)` of every layer of the track,
    /// `Some(Some(layer))` of one simulcast layer.
    pub keyframe_request: Option<Option<u8>>,
}

/// A published track as sent on one subscriber peer connection.
#[derive(Debug)]
pub struct DownTrack {
    /// The sender on the subscriber PC.
    pub sender_id: RTCRtpSenderId,
    /// The SSRC the SFU announced for this track to this subscriber.
    pub ssrc: u32,
    /// The codec's MIME type, to find the payload type the subscriber negotiated.
    pub mime_type: String,
    /// Negotiated payload type, resolved on the first packet after each negotiation.
    pub payload_type: Option<u8>,
    video: bool,
    /// The codec's RTP clock rate (90 kHz for video, 48 kHz for Opus).
    clock_rate: u32,
    generation: Option<u32>,
    /// The SSRC each incoming stream (each simulcast layer, or the only stream)
    /// last had: a new one is a new stream, numbered from a random start.
    source_ssrcs: [Option<u32>; LAYERS],
    seq_offset: u16,
    last_out_seq: u16,
    ts_offset: u32,
    last_out_ts: u32,
    last_out_at: Option<Instant>,
    /// Video: which layer to forward, and whether to forward at all.
    selector: LayerSelector,
    /// The rate of each incoming layer (of the one stream, without simulcast).
    rates: LayerRates,
    /// Simulcast VP8: picture ids kept continuous across layer switches.
    vp8: Vp8Munger,
    /// Video the subscriber cannot decode yet: nothing since the start (or since a
    /// resume, a switch, or since the connection came up) was a keyframe.
    waiting_for_keyframe: bool,
    last_keyframe_request: Option<Instant>,
}

impl DownTrack {
    /// A track not yet carrying packets, of the codec `mime_type` with the RTP
    /// `clock_rate`; video is forwarded up to `quality`.
    pub fn new(
        sender_id: RTCRtpSenderId,
        ssrc: u32,
        mime_type: String,
        clock_rate: u32,
        quality: VideoQuality,
    ) -> Self {
        let video = starts_keyframe(&mime_type, &[]).is_some();
        let clock_rate = match clock_rate {
            0 if video => 90_000,
            0 => 48_000,
            rate => rate,
        };
        let mut down = Self {
            sender_id,
            ssrc,
            mime_type,
            payload_type: None,
            video,
            clock_rate,
            generation: None,
            source_ssrcs: [None; LAYERS],
            seq_offset: 0,
            last_out_seq: 0,
            ts_offset: 0,
            last_out_ts: 0,
            last_out_at: None,
            selector: LayerSelector::new(quality.max_layer()),
            rates: LayerRates::default(),
            vp8: Vp8Munger::default(),
            waiting_for_keyframe: false,
            last_keyframe_request: None,
        };
        down.await_keyframe();
        down
    }

    /// From now on the subscriber needs a keyframe (video only) before it can decode.
    pub fn await_keyframe(&mut self) {
        self.waiting_for_keyframe = self.video;
        self.selector.restart();
        self.last_keyframe_request = None;
    }

    /// Whether this track still waits for a keyframe.
    pub fn waiting_for_keyframe(&self) -> bool {
        self.waiting_for_keyframe
    }

    /// Changes how much of the publisher's video this subscriber wants.
    pub fn set_quality(&mut self, quality: VideoQuality) {
        self.selector.set_max_layer(quality.max_layer());
        if quality == VideoQuality::Off {
            self.waiting_for_keyframe = false;
        }
    }

    /// The simulcast layer being forwarded (video only).
    pub fn current_layer(&self) -> Option<u8> {
        self.selector.current()
    }

    /// Whether this is a video track.
    pub fn is_video(&self) -> bool {
        self.video
    }

    /// The highest layer the subscriber wants (video only).
    pub fn wanted_layer(&self) -> Option<u8> {
        self.selector.wanted()
    }

    /// The measured rates of the incoming layers.
    pub fn rates(&self) -> &LayerRates {
        &self.rates
    }

    /// Limits the video to what the subscriber's downlink carries.
    pub fn set_allowance(&mut self, allowance: Allowance) {
        self.selector.set_allowance(allowance);
        if allowance == Allowance::Paused {
            self.waiting_for_keyframe = false;
        }
    }

    /// The current limit of the video.
    pub fn allowance(&self) -> Allowance {
        self.selector.allowance()
    }

    /// Whether to ask the publisher for a keyframe now: the track waits for one and the
    /// last request is at least `interval` old. Records the request.
    pub fn keyframe_request_due(&mut self, now: Instant, interval: Duration) -> bool {
        if !self.waiting_for_keyframe
            || self
                .last_keyframe_request
                .is_some_and(|last| now.saturating_duration_since(last) < interval)
        {
            return false;
        }
        self.last_keyframe_request = Some(now);
        true
    }

    /// Decides about `packet` (of simulcast `layer`, if any) for this subscriber and
    /// rewrites it: SSRC, payload type, sequence numbers and timestamps continuous
    /// across mutes, layer switches and changes of the incoming stream (a publisher
    /// back on a new PC, or publishing again, sends a new SSRC numbered from a
    /// random start), VP8 picture ids continuous across layer switches, and no
    /// header extensions (their ids were negotiated with the publisher, not with
    /// this subscriber).
    pub fn forward(
        &mut self,
        packet: &mut rtp::Packet,
        layer: Option<u8>,
        generation: u32,
        payload_type: u8,
        now: Instant,
    ) -> Outcome {
        self.rates.record(
            layer.unwrap_or(0),
            packet.payload.len() + RTP_HEADER_BYTES,
            now,
        );
        let resumed = self.generation.is_some_and(|g| g != generation);
        if resumed && self.video {
            // Frames were skipped while muted at the source: start again on a keyframe.
            self.await_keyframe();
        }
        let first = self.generation.is_none();
        self.generation = Some(generation);
        let new_stream = self.new_source(packet.header.ssrc, layer);
        if new_stream && self.video && !resumed {
            // The new stream's first frames may depend on nothing the subscriber has:
            // start it on a keyframe, as at a switch.
            self.await_keyframe();
        }
        let mut rebase = first || resumed || new_stream;
        if self.video {
            let keyframe = starts_keyframe(&self.mime_type, &packet.payload) == Some(true);
            match self.selector.on_packet(layer.unwrap_or(0), keyframe, now) {
                Decision::Drop => return Outcome::default(),
                Decision::WantKeyframe(wanted) => {
                    self.waiting_for_keyframe = true;
                    let due = self.keyframe_request_due(now, KEYFRAME_RETRY_INTERVAL);
                    return Outcome {
                        send: false,
                        keyframe_request: due.then_some(layer.map(|_| wanted)),
                    };
                }
                Decision::Switch => {
                    self.waiting_for_keyframe = false;
                    self.last_keyframe_request = None;
                    rebase = true;
                    if layer.is_some() {
                        self.vp8.rebase(&packet.payload);
                    }
                }
                Decision::Forward => {}
            }
        }
        let incoming_seq = packet.header.sequence_number;
        let incoming_ts = packet.header.timestamp;
        if rebase {
            match self.last_out_at {
                // First packet ever: keep the publisher's numbering.
                None => {
                    self.seq_offset = 0;
                    self.ts_offset = 0;
                }
                // Continue right after the last packet sent, the timestamp advanced
                // by the time that passed (in the codec's clock: 90 kHz for video,
                // 48 kHz for Opus). Audio resuming in the same stream keeps its
                // timestamps, which went on with the publisher's clock while muted;
                // a new stream restarts them anywhere.
                Some(last_at) => {
                    self.seq_offset = incoming_seq.wrapping_sub(self.last_out_seq.wrapping_add(1));
                    if self.video || layer.is_some() || new_stream {
                        let clock = u64::from(self.clock_rate);
                        let elapsed = now.saturating_duration_since(last_at).as_micros() as u64;
                        // A new stream comes at least one 20 ms frame later.
                        let least = if new_stream { clock / 50 } else { 1 };
                        let advance = (elapsed * clock / 1_000_000).max(least.max(1)) as u32;
                        self.ts_offset =
                            incoming_ts.wrapping_sub(self.last_out_ts.wrapping_add(advance));
                    }
                }
            }
        }
        let out_seq = incoming_seq.wrapping_sub(self.seq_offset);
        let out_ts = incoming_ts.wrapping_sub(self.ts_offset);
        self.last_out_at = Some(now);
        self.last_out_seq = out_seq;
        self.last_out_ts = out_ts;
        packet.header.sequence_number = out_seq;
        packet.header.timestamp = out_ts;
        packet.header.ssrc = self.ssrc;
        packet.header.payload_type = payload_type;
        packet.header.extension = false;
        packet.header.extension_profile = 0;
        packet.header.extensions.clear();
        packet.header.extensions_padding = 0;
        if layer.is_some()
            && self.mime_type.eq_ignore_ascii_case("video/vp8")
            && let Some(payload) = self.vp8.rewrite(&packet.payload)
        {
            packet.payload = payload.into();
        }
        Outcome {
            send: true,
            keyframe_request: None,
        }
    }

    /// Records the SSRC of `layer`'s incoming stream; whether it is a new stream
    /// taking the place of the one being forwarded (not just another simulcast
    /// layer, whose switch rebases anyway).
    fn new_source(&mut self, ssrc: u32, layer: Option<u8>) -> bool {
        let slot = usize::from(layer.unwrap_or(0)).min(LAYERS - 1);
        let previous = self.source_ssrcs[slot].replace(ssrc);
        previous.is_some_and(|previous| previous != ssrc)
            && (layer.is_none() || self.selector.current() == layer)
    }
}

/// A track announced in a publisher's offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedTrack {
    /// The media section's mid.
    pub mid: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// The track id from `a=msid`, or `mid-N`.
    pub track_id: String,
}

fn attribute<'a>(
    media: &'a rtc::sdp::description::media::MediaDescription,
    key: &str,
) -> Option<&'a str> {
    media.attribute(key).flatten()
}

/// The tracks a publisher offers to send (`sendonly`/`sendrecv` audio and video sections).
/// A section without a mid, with an empty one or repeating an earlier one names no
/// track (a mid must identify one section; found by fuzzing, `fuzz/regressions/sdp`).
pub fn offered_tracks(offer: &SessionDescription) -> Vec<OfferedTrack> {
    let mut mids = std::collections::HashSet::new();
    offer
        .media_descriptions
        .iter()
        .filter_map(|media| {
            let kind = match media.media_name.media.as_str() {
                "audio" => MediaKind::Audio,
                "video" => MediaKind::Video,
                _ => return None,
            };
            let sends = media.attribute("sendonly").is_some()
                || media.attribute("sendrecv").is_some()
                || !["recvonly", "inactive", "sendonly", "sendrecv"]
                    .iter()
                    .any(|d| media.attribute(d).is_some());
            if !sends || media.media_name.port.value == 0 {
                return None;
            }
            let mid = attribute(media, "mid")
                .filter(|m| !m.is_empty())?
                .to_owned();
            if !mids.insert(mid.clone()) {
                return None;
            }
            let track_id = attribute(media, "msid")
                .and_then(|msid| msid.split_whitespace().nth(1))
                .map(str::to_owned)
                .unwrap_or_else(|| format!("mid-{mid}"));
            Some(OfferedTrack {
                mid,
                kind,
                track_id,
            })
        })
        .collect()
}

/// The codec the SFU chose in its answer for the media section `mid` (the first
/// payload type listed), with its `a=fmtp` line.
pub fn answered_codec(answer: &SessionDescription, mid: &str) -> Option<RTCRtpCodec> {
    let media = answer
        .media_descriptions
        .iter()
        .find(|m| attribute(m, "mid") == Some(mid))?;
    let payload_type = media.media_name.formats.first()?;
    let prefix = format!("{payload_type} ");
    let rtpmap = media
        .attributes
        .iter()
        .filter(|a| a.key == "rtpmap")
        .filter_map(|a| a.value.as_deref())
        .find_map(|v| v.strip_prefix(&prefix))?;
    let mut parts = rtpmap.split('/');
    let name = parts.next()?;
    let clock_rate = parts.next()?.parse().ok()?;
    let channels = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    let sdp_fmtp_line = media
        .attributes
        .iter()
        .filter(|a| a.key == "fmtp")
        .filter_map(|a| a.value.as_deref())
        .find_map(|v| v.strip_prefix(&prefix))
        .unwrap_or_default()
        .to_owned();
    Some(RTCRtpCodec {
        mime_type: format!("{}/{}", media.media_name.media, name),
        clock_rate,
        channels,
        sdp_fmtp_line,
        rtcp_feedback: vec![],
    })
}

/// The id the SFU negotiated for the header extension `uri` in media section `mid`.
pub fn answered_extension_id(answer: &SessionDescription, mid: &str, uri: &str) -> Option<u8> {
    let media = answer
        .media_descriptions
        .iter()
        .find(|m| attribute(m, "mid") == Some(mid))?;
    media
        .attributes
        .iter()
        .filter(|a| a.key == "extmap")
        .filter_map(|a| a.value.as_deref())
        .find_map(|v| {
            let mut parts = v.split_whitespace();
            let id = parts.next()?.split('/').next()?.parse().ok()?;
            (parts.next()? == uri).then_some(id)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_with_an_empty_or_repeated_mid_names_no_track() {
        let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:\r\na=sendonly\r\na=msid:s a-1\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\na=sendonly\r\na=msid:s v-1\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:v\r\na=sendonly\r\na=msid:s a-2\r\n";
        let offer = SessionDescription::unmarshal(&mut std::io::Cursor::new(sdp)).unwrap();
        let tracks = offered_tracks(&offer);
        assert_eq!(tracks.len(), 1, "{tracks:?}");
        assert_eq!(tracks[0].mid, "v");
        assert_eq!(tracks[0].track_id, "v-1");
    }

    fn send(
        down: &mut DownTrack,
        packet: &mut rtp::Packet,
        generation: u32,
        now: Instant,
    ) -> Outcome {
        down.forward(packet, None, generation, 111, now)
    }

    #[test]
    fn sequence_numbers_continue_across_a_mute() {
        let now = Instant::now();
        let mut down = opus_down_track();
        let mut packet = rtp::Packet::default();
        packet.header.sequence_number = 1000;
        let outcome = send(&mut down, &mut packet, 0, now);
        assert_eq!(
            outcome,
            Outcome {
                send: true,
                keyframe_request: None
            },
            "audio needs no keyframe"
        );
        assert_eq!(packet.header.sequence_number, 1000);
        assert_eq!(packet.header.ssrc, 42);
        packet.header.sequence_number = 1001;
        send(&mut down, &mut packet, 0, now);
        assert_eq!(packet.header.sequence_number, 1001);
        // Muted for 500 packets, then resumed.
        packet.header.sequence_number = 1501;
        send(&mut down, &mut packet, 1, now);
        assert_eq!(packet.header.sequence_number, 1002);
    }

    fn vp8_packet(sequence_number: u16, keyframe: bool) -> rtp::Packet {
        let mut packet = rtp::Packet::default();
        packet.header.sequence_number = sequence_number;
        packet.header.timestamp = u32::from(sequence_number) * 3000;
        packet.payload = bytes::Bytes::from(vec![0x10, if keyframe { 0x50 } else { 0x51 }]);
        packet
    }

    fn video(quality: VideoQuality) -> DownTrack {
        DownTrack::new(
            RTCRtpSenderId::default(),
            7,
            "video/VP8".into(),
            90_000,
            quality,
        )
    }

    #[test]
    fn video_starts_at_a_keyframe_and_asks_for_one_until_it_comes() {
        let start = Instant::now();
        let mut down = video(VideoQuality::High);
        assert!(down.waiting_for_keyframe());
        let outcome = down.forward(&mut vp8_packet(1, false), None, 0, 96, start);
        assert_eq!(
            outcome,
            Outcome {
                send: false,
                keyframe_request: Some(None)
            }
        );
        // Not again within the retry interval.
        let outcome = down.forward(&mut vp8_packet(2, false), None, 0, 96, start);
        assert_eq!(outcome, Outcome::default());
        let later = start + KEYFRAME_RETRY_INTERVAL;
        let outcome = down.forward(&mut vp8_packet(3, false), None, 0, 96, later);
        assert_eq!(outcome.keyframe_request, Some(None));
        let mut key = vp8_packet(4, true);
        assert!(down.forward(&mut key, None, 0, 96, later).send);
        assert_eq!(
            key.header.sequence_number, 4,
            "the first packet keeps its number"
        );
        assert!(!down.waiting_for_keyframe());
        let much_later = later + KEYFRAME_RETRY_INTERVAL * 4;
        assert!(
            down.forward(&mut vp8_packet(5, false), None, 0, 96, much_later)
                .send
        );
        // A resume after a mute needs a fresh keyframe, and numbering continues.
        let outcome = down.forward(&mut vp8_packet(100, false), None, 1, 96, much_later);
        assert_eq!(outcome.keyframe_request, Some(None));
        assert!(down.waiting_for_keyframe());
        let mut key = vp8_packet(101, true);
        assert!(down.forward(&mut key, None, 1, 96, much_later).send);
        assert_eq!(key.header.sequence_number, 6);
    }

    #[test]
    fn video_off_sends_nothing_and_on_again_restarts_at_a_keyframe() {
        let now = Instant::now();
        let mut down = video(VideoQuality::Low);
        assert!(
            down.forward(&mut vp8_packet(1, true), None, 0, 96, now)
                .send
        );
        down.set_quality(VideoQuality::Off);
        assert_eq!(
            down.forward(&mut vp8_packet(2, true), None, 0, 96, now),
            Outcome::default()
        );
        assert!(
            !down.waiting_for_keyframe(),
            "no keyframe requests while off"
        );
        down.set_quality(VideoQuality::High);
        assert!(
            !down
                .forward(&mut vp8_packet(3, false), None, 0, 96, now)
                .send
        );
        let mut key = vp8_packet(50, true);
        assert!(down.forward(&mut key, None, 0, 96, now).send);
        assert_eq!(
            key.header.sequence_number, 2,
            "continues after the last sent"
        );
    }

    fn simulcast_packet(
        layer: u8,
        seq: u16,
        ts: u32,
        picture_id: u16,
        keyframe: bool,
    ) -> rtp::Packet {
        let mut packet = rtp::Packet::default();
        packet.header.sequence_number = seq;
        packet.header.timestamp = ts;
        packet.payload = bytes::Bytes::from(vec![
            0x90,
            0x80,
            0x80 | (picture_id >> 8) as u8,
            picture_id as u8,
            if keyframe { 0x50 } else { 0x51 },
            layer,
        ]);
        packet
    }

    #[test]
    fn a_layer_switch_looks_like_one_stream() {
        let start = Instant::now();
        let mut down = video(VideoQuality::High);
        let outcome = down.forward(
            &mut simulcast_packet(0, 100, 1_000, 20, false),
            Some(0),
            0,
            96,
            start,
        );
        assert_eq!(
            outcome.keyframe_request,
            Some(Some(0)),
            "only the low layer is known yet"
        );
        let mut high = simulcast_packet(2, 5000, 90_000, 700, true);
        assert!(down.forward(&mut high, Some(2), 0, 96, start).send);
        assert_eq!(down.current_layer(), Some(2));
        down.set_quality(VideoQuality::Low);
        let later = start + Duration::from_millis(100);
        let mut high = simulcast_packet(2, 5001, 93_000, 701, false);
        assert!(
            down.forward(&mut high, Some(2), 0, 96, later).send,
            "the old layer flows until the switch"
        );
        let outcome = down.forward(
            &mut simulcast_packet(0, 101, 4_000, 21, false),
            Some(0),
            0,
            96,
            later,
        );
        assert_eq!(
            outcome,
            Outcome {
                send: false,
                keyframe_request: Some(Some(0))
            }
        );
        let even_later = later + Duration::from_millis(100);
        let mut low = simulcast_packet(0, 102, 13_000, 22, true);
        assert!(down.forward(&mut low, Some(0), 0, 96, even_later).send);
        assert_eq!(low.header.sequence_number, 5002);
        assert_eq!(
            low.header.timestamp,
            93_000 + 9_000,
            "100 ms later at 90 kHz"
        );
        assert_eq!(
            crate::simulcast::Vp8Ids::read(&low.payload)
                .unwrap()
                .picture_id,
            Some(702)
        );
        assert!(
            !down
                .forward(
                    &mut simulcast_packet(2, 5002, 96_000, 702, false),
                    Some(2),
                    0,
                    96,
                    even_later
                )
                .send
        );
    }

    /// Checks that what was sent reads as one stream: each sequence number right
    /// after the one before, timestamps never going back.
    fn assert_one_stream(sent: &[(u16, u32)]) {
        for pair in sent.windows(2) {
            let [(seq, ts), (next_seq, next_ts)] = pair else {
                unreachable!()
            };
            assert_eq!(
                *next_seq,
                seq.wrapping_add(1),
                "sequence numbers not consecutive in {sent:?}"
            );
            assert!(
                next_ts.wrapping_sub(*ts) < 1 << 31,
                "the timestamp goes back from {ts} to {next_ts} in {sent:?}"
            );
        }
    }

    /// A subscriber's Opus down track (48 kHz).
    fn opus_down_track() -> DownTrack {
        DownTrack::new(
            RTCRtpSenderId::default(),
            42,
            "audio/opus".into(),
            48_000,
            VideoQuality::High,
        )
    }

    fn opus_packet(ssrc: u32, seq: u16, ts: u32) -> rtp::Packet {
        let mut packet = rtp::Packet::default();
        packet.header.ssrc = ssrc;
        packet.header.sequence_number = seq;
        packet.header.timestamp = ts;
        packet
    }

    #[test]
    fn a_new_incoming_stream_continues_the_numbering() {
        // The new stream starts far below, and far above (across the wrap), the old one.
        for (base_a, base_b) in [(40_000_u16, 17_u16), (300, 65_530)] {
            let start = Instant::now();
            let mut down = DownTrack::new(
                RTCRtpSenderId::default(),
                42,
                "audio/opus".into(),
                48_000,
                VideoQuality::High,
            );
            let mut sent = Vec::new();
            let mut now = start;
            for i in 0..10_u16 {
                let mut packet = opus_packet(
                    0xaaaa,
                    base_a.wrapping_add(i),
                    3_000_000_000 + 960 * u32::from(i),
                );
                assert!(send(&mut down, &mut packet, 0, now).send);
                sent.push((packet.header.sequence_number, packet.header.timestamp));
                now += Duration::from_millis(20);
            }
            // The publisher comes back 2 s later on a new PC: new SSRC, random numbering.
            now += Duration::from_secs(2);
            for i in 0..10_u16 {
                let mut packet =
                    opus_packet(0xbbbb, base_b.wrapping_add(i), 1_000 + 960 * u32::from(i));
                assert!(send(&mut down, &mut packet, 0, now).send);
                assert_eq!(packet.header.ssrc, 42);
                sent.push((packet.header.sequence_number, packet.header.timestamp));
                now += Duration::from_millis(20);
            }
            assert_eq!(
                sent[0],
                (base_a, 3_000_000_000),
                "the first packet keeps its numbers"
            );
            assert_one_stream(&sent);
            assert_eq!(
                sent[10].1.wrapping_sub(sent[9].1),
                (2_000 + 20) * 48,
                "the timestamp advances by the time between the streams"
            );
        }
    }

    #[test]
    fn a_new_incoming_stream_at_the_same_instant_still_moves_the_timestamp_on() {
        let now = Instant::now();
        let mut down = opus_down_track();
        let mut a = opus_packet(1, 500, 10_000);
        send(&mut down, &mut a, 0, now);
        let mut b = opus_packet(2, 20, 5);
        send(&mut down, &mut b, 0, now);
        assert_eq!(b.header.sequence_number, 501);
        assert_eq!(b.header.timestamp, 10_000 + 960, "one 20 ms frame later");
    }

    #[test]
    fn a_new_incoming_video_stream_continues_the_numbering_from_a_keyframe() {
        let start = Instant::now();
        let mut down = video(VideoQuality::High);
        let mut sent = Vec::new();
        let old = |seq: u16, keyframe: bool| {
            let mut packet = vp8_packet(seq, keyframe);
            packet.header.ssrc = 0xaaaa;
            packet
        };
        for (i, seq) in (60_000..60_005).enumerate() {
            let mut packet = old(seq, i == 0);
            let now = start + Duration::from_millis(33 * i as u64);
            assert!(down.forward(&mut packet, None, 0, 96, now).send);
            sent.push((packet.header.sequence_number, packet.header.timestamp));
        }
        let later = start + Duration::from_secs(3);
        let new = |seq: u16, keyframe: bool| {
            let mut packet = vp8_packet(seq, keyframe);
            packet.header.ssrc = 0xbbbb;
            packet.header.timestamp = 7 + u32::from(seq - 1_000) * 3_000;
            packet
        };
        // The new stream's first packet is no keyframe: dropped, and one is asked for.
        let outcome = down.forward(&mut new(1_000, false), None, 0, 96, later);
        assert_eq!(
            outcome,
            Outcome {
                send: false,
                keyframe_request: Some(None)
            }
        );
        assert!(down.waiting_for_keyframe());
        for seq in 1_001..1_005 {
            let mut packet = new(seq, seq == 1_001);
            assert!(down.forward(&mut packet, None, 0, 96, later).send);
            sent.push((packet.header.sequence_number, packet.header.timestamp));
        }
        assert!(!down.waiting_for_keyframe());
        assert_one_stream(&sent);
        assert_eq!(
            sent[5].1,
            sent[4].1 + (3_000 - 4 * 33) * 90,
            "the timestamp advances by the time between the streams, at 90 kHz"
        );
    }

    #[test]
    fn a_simulcast_publisher_on_new_streams_continues_the_numbering() {
        let start = Instant::now();
        let mut down = video(VideoQuality::High);
        let layer_packet = |ssrc: u32, seq: u16, picture_id: u16, keyframe: bool| {
            let mut packet = simulcast_packet(2, seq, u32::from(seq) * 3_000, picture_id, keyframe);
            packet.header.ssrc = ssrc;
            packet
        };
        let mut sent = Vec::new();
        for (i, seq) in (100..105_u16).enumerate() {
            let mut packet = layer_packet(0xaaaa, seq, 10 + i as u16, i == 0);
            assert!(down.forward(&mut packet, Some(2), 0, 96, start).send);
            sent.push((packet.header.sequence_number, packet.header.timestamp));
        }
        let later = start + Duration::from_millis(500);
        for (i, seq) in (50_000..50_005_u16).enumerate() {
            let mut packet = layer_packet(0xbbbb, seq, 3_000 + i as u16, i == 0);
            assert!(down.forward(&mut packet, Some(2), 0, 96, later).send);
            sent.push((packet.header.sequence_number, packet.header.timestamp));
            assert_eq!(
                crate::simulcast::Vp8Ids::read(&packet.payload)
                    .unwrap()
                    .picture_id,
                Some(15 + i as u16),
                "picture ids continue too"
            );
        }
        assert_eq!(down.current_layer(), Some(2));
        assert_one_stream(&sent);
    }
}
