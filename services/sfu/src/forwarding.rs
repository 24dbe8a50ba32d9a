//! What is forwarded: published tracks, packets on their way from a publisher to
//! subscribers, and the per-subscriber rewriting (SSRC, payload type, sequence numbers,
//! header extensions) that lets a browser decode them.

use std::sync::Arc;
use std::time::Instant;

use rtc::rtp;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
use rtc::sdp::description::session::SessionDescription;

use crate::control::MediaKind;

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
}

impl DownTrack {
    /// A track not yet carrying packets.
    pub fn new(sender_id: RTCRtpSenderId, ssrc: u32, mime_type: String) -> Self {
        Self {
            sender_id,
            ssrc,
            mime_type,
            payload_type: None,
            generation: None,
            seq_offset: 0,
            last_out_seq: 0,
        }
    }

    /// Rewrites `packet` for this subscriber: SSRC, payload type, continuous sequence
    /// numbers across mutes, and no header extensions (their ids were negotiated with
    /// the publisher, not with this subscriber).
    pub fn rewrite(&mut self, packet: &mut rtp::Packet, generation: u32, payload_type: u8) {
        let incoming = packet.header.sequence_number;
        if self.generation != Some(generation) {
            // First packet, or first after a resume: continue right after the last one sent.
            let next = if self.generation.is_some() {
                self.last_out_seq.wrapping_add(1)
            } else {
                incoming
            };
            self.seq_offset = incoming.wrapping_sub(next);
            self.generation = Some(generation);
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
        let mut down = DownTrack::new(RTCRtpSenderId::default(), 42, "audio/opus".into());
        let mut packet = rtp::Packet::default();
        packet.header.sequence_number = 1000;
        down.rewrite(&mut packet, 0, 111);
        assert_eq!(packet.header.sequence_number, 1000);
        assert_eq!(packet.header.ssrc, 42);
        packet.header.sequence_number = 1001;
        down.rewrite(&mut packet, 0, 111);
        assert_eq!(packet.header.sequence_number, 1001);
        // Muted for 500 packets, then resumed.
        packet.header.sequence_number = 1501;
        down.rewrite(&mut packet, 1, 111);
        assert_eq!(packet.header.sequence_number, 1002);
    }
}
