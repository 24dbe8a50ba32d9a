//! VP8 frames reassembled from one participant's RTP packets.
//!
//! A frame spans the packets of one RTP timestamp, from the packet whose VP8
//! payload descriptor starts partition 0 to the packet with the marker bit.
//! A lost packet damages the frame it belongs to and every frame after it
//! that refers back to it, which in VP8 is every frame up to the next
//! keyframe. So after a loss the assembler drops frames until a keyframe
//! arrives, and says so ([`FrameAssembler::needs_keyframe`]) for the caller
//! to ask the sender for one (a PLI). A damaged frame never leaves here.

use bytes::{Bytes, BytesMut};
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;

/// A frame larger than this is not a camera or screen frame: it is dropped,
/// bounding what a misbehaving sender can make the recorder hold.
pub const MAX_FRAME_BYTES: usize = 4 << 20;

/// One complete VP8 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vp8Frame {
    /// The frame as a VP8 decoder (or a WebM block) takes it.
    pub data: Bytes,
    /// A keyframe decodes on its own; other frames need those before them.
    pub keyframe: bool,
    /// Width and height, which only keyframes carry.
    pub size: Option<(u16, u16)>,
    /// The RTP timestamp of the frame's packets (90 kHz clock).
    pub rtp_timestamp: u32,
}

/// Reassembles one participant's VP8 frames from their RTP packets in
/// arrival order (the SFU forwards them in order; anything out of order
/// counts as a loss).
#[derive(Debug)]
pub struct FrameAssembler {
    last_sequence_number: Option<u16>,
    /// The frame being gathered and its RTP timestamp.
    partial: Option<(u32, BytesMut)>,
    needs_keyframe: bool,
}

impl Default for FrameAssembler {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameAssembler {
    /// An assembler waiting for its participant's first keyframe.
    pub fn new() -> Self {
        FrameAssembler {
            last_sequence_number: None,
            partial: None,
            needs_keyframe: true,
        }
    }

    /// True while frames are dropped for want of a keyframe: from the
    /// start, and after a lost packet until the next keyframe.
    pub fn needs_keyframe(&self) -> bool {
        self.needs_keyframe
    }

    /// Takes one RTP packet's header fields and payload; returns the frame
    /// it completes, if it completes one that can be decoded.
    pub fn push(
        &mut self,
        sequence_number: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Option<Vp8Frame> {
        if let Some(last) = self.last_sequence_number {
            let step = sequence_number.wrapping_sub(last);
            if step == 0 || step >= 0x8000 {
                tracing::debug!(
                    sequence_number,
                    last,
                    "duplicate or late VP8 packet dropped"
                );
                return None;
            }
            if step != 1 {
                tracing::debug!(
                    sequence_number,
                    last,
                    "VP8 packets lost; waiting for a keyframe"
                );
                self.lose_frame();
            }
        }
        self.last_sequence_number = Some(sequence_number);

        let mut descriptor = Vp8Packet::default();
        let data = match descriptor.depacketize(&Bytes::copy_from_slice(payload)) {
            Ok(data) => data,
            Err(error) => {
                tracing::debug!(sequence_number, %error, "malformed VP8 payload dropped");
                self.lose_frame();
                return None;
            }
        };
        let starts_frame = descriptor.s == 1 && descriptor.pid == 0;
        if starts_frame {
            if self.partial.is_some() {
                tracing::debug!(
                    sequence_number,
                    "VP8 frame without its end; waiting for a keyframe"
                );
                self.lose_frame();
            }
            self.partial = Some((timestamp, BytesMut::new()));
        }
        let Some((frame_timestamp, buffer)) = self.partial.as_mut() else {
            // The middle of a frame whose start was lost or dropped.
            return None;
        };
        if *frame_timestamp != timestamp || buffer.len() + data.len() > MAX_FRAME_BYTES {
            tracing::debug!(sequence_number, "VP8 frame mixed or oversized; dropped");
            self.lose_frame();
            return None;
        }
        buffer.extend_from_slice(&data);
        if !marker {
            return None;
        }

        let (rtp_timestamp, buffer) = self.partial.take()?;
        let data = buffer.freeze();
        let Some(keyframe) = frame_kind(&data) else {
            tracing::debug!(sequence_number, "malformed VP8 frame dropped");
            self.lose_frame();
            return None;
        };
        if self.needs_keyframe && keyframe.is_none() {
            return None;
        }
        self.needs_keyframe = false;
        Some(Vp8Frame {
            data,
            keyframe: keyframe.is_some(),
            size: keyframe,
            rtp_timestamp,
        })
    }

    fn lose_frame(&mut self) {
        self.partial = None;
        self.needs_keyframe = true;
    }
}

/// Reads a VP8 frame's tag (RFC 6386 section 9.1): `Some(Some(size))` for a
/// keyframe with its width and height, `Some(None)` for an interframe,
/// `None` for something that is not a VP8 frame.
fn frame_kind(frame: &[u8]) -> Option<Option<(u16, u16)>> {
    let tag = frame.get(..3)?;
    let first_partition =
        (u32::from(tag[0]) | u32::from(tag[1]) << 8 | u32::from(tag[2]) << 16) >> 5;
    if tag[0] & 1 != 0 {
        return (frame.len() > 3).then_some(None);
    }
    // A keyframe: the start code, then 14-bit width and height (the top two
    // bits are the scaling).
    let header = frame.get(3..10)?;
    if header[..3] != [0x9d, 0x01, 0x2a] || frame.len() < 10 + first_partition as usize {
        return None;
    }
    let dimension = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]) & 0x3fff;
    Some(Some((dimension(3), dimension(5))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webm::BLACK_KEYFRAME;
    use rtc::rtp::codec::vp8::Vp8Payloader;
    use rtc::rtp::packetizer::Payloader;

    /// An interframe: frame tag with the keyframe bit set (meaning "not a
    /// keyframe"), then some bytes.
    const INTERFRAME: &[u8] = &[0x31, 0x02, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9];

    /// Splits a frame into RTP payloads of at most `mtu` bytes.
    fn packets(frame: &[u8], mtu: usize) -> Vec<Bytes> {
        let mut payloader = Vp8Payloader::default();
        payloader
            .payload(mtu, &Bytes::copy_from_slice(frame))
            .expect("a VP8 frame packetizes")
    }

    /// Feeds a frame's packets starting at `sequence_number`, skipping the
    /// packet at index `lose`; returns what came out and the next number.
    fn feed(
        assembler: &mut FrameAssembler,
        sequence_number: u16,
        timestamp: u32,
        frame: &[u8],
        lose: Option<usize>,
    ) -> (Vec<Vp8Frame>, u16) {
        let payloads = packets(frame, 100);
        let last = payloads.len() - 1;
        let mut out = Vec::new();
        for (i, payload) in payloads.iter().enumerate() {
            if Some(i) == lose {
                continue;
            }
            let number = sequence_number.wrapping_add(i as u16);
            out.extend(assembler.push(number, timestamp, i == last, payload));
        }
        (out, sequence_number.wrapping_add(payloads.len() as u16))
    }

    #[test]
    fn a_keyframe_split_over_packets_comes_back_whole_with_its_size() {
        let mut assembler = FrameAssembler::new();
        assert!(assembler.needs_keyframe());
        assert!(packets(BLACK_KEYFRAME, 100).len() > 3);
        let (frames, _) = feed(&mut assembler, 65_534, 90_000, BLACK_KEYFRAME, None);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].data, BLACK_KEYFRAME);
        assert!(frames[0].keyframe);
        assert_eq!(frames[0].size, Some((640, 360)));
        assert_eq!(frames[0].rtp_timestamp, 90_000);
        assert!(!assembler.needs_keyframe());
    }

    #[test]
    fn interframes_before_the_first_keyframe_are_dropped() {
        let mut assembler = FrameAssembler::new();
        let (frames, next) = feed(&mut assembler, 10, 0, INTERFRAME, None);
        assert!(frames.is_empty());
        let (frames, next) = feed(&mut assembler, next, 3000, BLACK_KEYFRAME, None);
        assert_eq!(frames.len(), 1);
        let (frames, _) = feed(&mut assembler, next, 6000, INTERFRAME, None);
        assert_eq!(frames.len(), 1);
        assert!(!frames[0].keyframe);
        assert_eq!(frames[0].size, None);
        assert_eq!(frames[0].data, INTERFRAME);
    }

    #[test]
    fn after_a_loss_frames_wait_for_the_next_keyframe() {
        let mut assembler = FrameAssembler::new();
        let (_, next) = feed(&mut assembler, 100, 0, BLACK_KEYFRAME, None);
        // The middle packet of the next keyframe is lost: nothing comes out,
        // and neither do the interframes that follow it.
        let (frames, next) = feed(&mut assembler, next, 3000, BLACK_KEYFRAME, Some(1));
        assert!(frames.is_empty());
        assert!(assembler.needs_keyframe());
        let (frames, next) = feed(&mut assembler, next, 6000, INTERFRAME, None);
        assert!(frames.is_empty());
        assert!(assembler.needs_keyframe());
        let (frames, next) = feed(&mut assembler, next, 9000, BLACK_KEYFRAME, None);
        assert_eq!(frames.len(), 1);
        assert!(!assembler.needs_keyframe());
        let (frames, _) = feed(&mut assembler, next, 12_000, INTERFRAME, None);
        assert_eq!(frames.len(), 1);
    }

    #[test]
    fn a_frame_whose_end_never_came_is_dropped_when_the_next_begins() {
        let mut assembler = FrameAssembler::new();
        let (_, next) = feed(&mut assembler, 0, 0, BLACK_KEYFRAME, None);
        // A keyframe whose last packet lacks the marker: no gap in the
        // numbers, but the frame never completes.
        let payloads = packets(BLACK_KEYFRAME, 100);
        for (i, payload) in payloads.iter().enumerate() {
            assert_eq!(assembler.push(next + i as u16, 3000, false, payload), None);
        }
        let next = next + payloads.len() as u16;
        let (frames, _) = feed(&mut assembler, next, 6000, INTERFRAME, None);
        assert!(frames.is_empty());
        assert!(assembler.needs_keyframe());
    }

    #[test]
    fn duplicates_and_malformed_payloads_do_not_break_the_stream() {
        let mut assembler = FrameAssembler::new();
        let payloads = packets(BLACK_KEYFRAME, 100);
        let last = payloads.len() - 1;
        let mut out = Vec::new();
        for (i, payload) in payloads.iter().enumerate() {
            out.extend(assembler.push(i as u16, 0, i == last, payload));
            // A duplicate of every packet is ignored.
            out.extend(assembler.push(i as u16, 0, i == last, payload));
        }
        assert_eq!(out.len(), 1);
        let garbage: [&[u8]; 4] = [&[], &[0x80], &[0x90, 0x80], &[0x10, 0x00]];
        for (i, payload) in garbage.into_iter().enumerate() {
            assert_eq!(assembler.push(500 + i as u16, 3000, true, payload), None);
        }
        assert!(assembler.needs_keyframe());
    }

    #[test]
    fn frame_tags_are_read_strictly() {
        assert_eq!(frame_kind(BLACK_KEYFRAME), Some(Some((640, 360))));
        assert_eq!(frame_kind(INTERFRAME), Some(None));
        // A keyframe tag without the start code, or cut short.
        assert_eq!(frame_kind(&[0x10, 0, 0, 1, 2, 3, 4, 5, 6, 7]), None);
        assert_eq!(frame_kind(&BLACK_KEYFRAME[..9]), None);
        assert_eq!(frame_kind(&[0x31]), None);
    }
}
