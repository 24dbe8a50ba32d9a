//! What is forwarded: published tracks, packets on their way from a publisher to
//! subscribers, and the per-subscriber rewriting (SSRC, payload type, sequence numbers,
//! header extensions) that lets a browser decode them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::rtp;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
use rtc::sdp::description::session::SessionDescription;

use crate::control::MediaKind;
use crate::feedback::starts_keyframe;

/// How often a subscriber track still waiting for a keyframe asks its publisher again.
pub const KEYFRAME_RETRY_INTERVAL: Duration = Duration::from_millis(500);

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
    /// Bumped each time forwarding of this kind resumes after a mute, so subscribers
    /// re-base their sequence numbers instead of signalling a huge loss.
    pub generation: u32,
    /// The packet as the publisher sent it (after SRTP).
    pub packet: rtp::Packet,
    /// When the datagram arrived at the node's socket.
    pub received_at: Instant,
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
    generation: Option<u32>,
    seq_offset: u16,
    last_out_seq: u16,
    /// Video the subscriber cannot decode yet: nothing since the start (or since a
    /// resume, or since the connection came up) was a keyframe.
    waiting_for_keyframe: bool,
    last_keyframe_request: Option<Instant>,
}

impl DownTrack {
    /// A track not yet carrying packets.
    pub fn new(sender_id: RTCRtpSenderId, ssrc: u32, mime_type: String) -> Self {
        let mut down = Self {
            sender_id,
            ssrc,
            mime_type,
            payload_type: None,
            generation: None,
            seq_offset: 0,
            last_out_seq: 0,
            waiting_for_keyframe: false,
            last_keyframe_request: None,
        };
        down.await_keyframe();
        down
    }

    /// From now on the subscriber needs a keyframe (video only) before it can decode.
    pub fn await_keyframe(&mut self) {
        self.waiting_for_keyframe = starts_keyframe(&self.mime_type, &[]).is_some();
        self.last_keyframe_request = None;
    }

    /// Whether this track still waits for a keyframe.
    pub fn waiting_for_keyframe(&self) -> bool {
        self.waiting_for_keyframe
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

    /// Rewrites `packet` for this subscriber: SSRC, payload type, continuous sequence
    /// numbers across mutes, and no header extensions (their ids were negotiated with
    /// the publisher, not with this subscriber). Returns whether the publisher should
    /// be asked for a keyframe (the subscriber still has none to start decoding from).
    pub fn rewrite(
        &mut self,
        packet: &mut rtp::Packet,
        generation: u32,
        payload_type: u8,
        now: Instant,
    ) -> bool {
        let incoming = packet.header.sequence_number;
        if self.generation != Some(generation) {
            // First packet, or first after a resume: continue right after the last one sent.
            let next = if self.generation.is_some() {
                // Frames were skipped while muted: the decoder needs a fresh start.
                self.await_keyframe();
                self.last_out_seq.wrapping_add(1)
            } else {
                incoming
            };
            self.seq_offset = incoming.wrapping_sub(next);
            self.generation = Some(generation);
        }
        if self.waiting_for_keyframe
            && starts_keyframe(&self.mime_type, &packet.payload) != Some(false)
        {
            self.waiting_for_keyframe = false;
        }
        let out = incoming.wrapping_sub(self.seq_offset);
        self.last_out_seq = out;
        packet.header.sequence_number = out;
        packet.header.ssrc = self.ssrc;
        packet.header.payload_type = payload_type;
        packet.header.extension = false;
        packet.header.extension_profile = 0;
        packet.header.extensions.clear();
        packet.header.extensions_padding = 0;
        self.keyframe_request_due(now, KEYFRAME_RETRY_INTERVAL)
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
pub fn offered_tracks(offer: &SessionDescription) -> Vec<OfferedTrack> {
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
            let mid = attribute(media, "mid")?.to_owned();
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
    fn sequence_numbers_continue_across_a_mute() {
        let now = Instant::now();
        let mut down = DownTrack::new(RTCRtpSenderId::default(), 42, "audio/opus".into());
        let mut packet = rtp::Packet::default();
        packet.header.sequence_number = 1000;
        assert!(
            !down.rewrite(&mut packet, 0, 111, now),
            "audio needs no keyframe"
        );
        assert_eq!(packet.header.sequence_number, 1000);
        assert_eq!(packet.header.ssrc, 42);
        packet.header.sequence_number = 1001;
        down.rewrite(&mut packet, 0, 111, now);
        assert_eq!(packet.header.sequence_number, 1001);
        // Muted for 500 packets, then resumed.
        packet.header.sequence_number = 1501;
        down.rewrite(&mut packet, 1, 111, now);
        assert_eq!(packet.header.sequence_number, 1002);
    }

    fn vp8_packet(sequence_number: u16, keyframe: bool) -> rtp::Packet {
        let mut packet = rtp::Packet::default();
        packet.header.sequence_number = sequence_number;
        packet.payload = bytes::Bytes::from(vec![0x10, if keyframe { 0x50 } else { 0x51 }]);
        packet
    }

    #[test]
    fn video_asks_for_keyframes_until_one_passes() {
        let start = Instant::now();
        let mut down = DownTrack::new(RTCRtpSenderId::default(), 7, "video/VP8".into());
        assert!(down.waiting_for_keyframe());
        assert!(down.rewrite(&mut vp8_packet(1, false), 0, 96, start));
        // Not again within the retry interval.
        assert!(!down.rewrite(&mut vp8_packet(2, false), 0, 96, start));
        let later = start + KEYFRAME_RETRY_INTERVAL;
        assert!(down.rewrite(&mut vp8_packet(3, false), 0, 96, later));
        assert!(!down.rewrite(&mut vp8_packet(4, true), 0, 96, later));
        assert!(!down.waiting_for_keyframe());
        let much_later = later + KEYFRAME_RETRY_INTERVAL * 4;
        assert!(!down.rewrite(&mut vp8_packet(5, false), 0, 96, much_later));
        // A resume after a mute needs a fresh keyframe.
        assert!(down.rewrite(&mut vp8_packet(100, false), 1, 96, much_later));
        assert!(down.waiting_for_keyframe());
    }
}
