//! Inbound RTCP the SFU acts on itself: keyframe requests, the congestion
//! controller's estimate of a subscriber's downlink, and keyframe detection.
//!
//! In the sans-IO `rtc` core, inbound RTCP is for the interceptors: the chain's terminus
//! drops every RTCP packet no interceptor marked with [`Attribute::DeliverToApplication`].
//! Without [`FeedbackToApplication`] in the chain, a subscriber's PLI/FIR never
//! surfaces from `poll_read`, so it can never be relayed to the publisher — and a
//! browser publisher only sends keyframes on request, so a browser subscriber could not
//! decode anything. The congestion controller's estimate, too, only rides on inbound
//! feedback ([`Attribute::TargetBitrateChanged`]); the same interceptor takes it off.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;

use crate::bandwidth::SendEstimate;

/// Where [`FeedbackToApplication`] sits: after every interceptor `rtc` ships (the
/// highest named slot is the jitter buffer at 13 000), so they all see the full RTCP,
/// and application-ward of the congestion controller (1 000), whose estimate it reads.
pub(crate) const FEEDBACK_SLOT: usize = 14_000;

/// The slot to register [`FeedbackToApplication`] at.
pub(crate) fn feedback_slot() -> Slot {
    Slot::from(FEEDBACK_SLOT)
}

/// Whether an RTCP packet asks for a keyframe (PLI or FIR).
pub fn is_keyframe_request(packet: &dyn rtc::rtcp::packet::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

/// Passes inbound PLI and FIR on to the application (narrowed to just those packets, so
/// the `rtc` endpoint tags them with the sent track they are about) and leaves all other
/// inbound RTCP to the chain's terminus. With a [`SendEstimate`] (a subscriber PC), it
/// also records there the congestion controller's estimate that inbound feedback carries.
#[derive(Default)]
pub(crate) struct FeedbackToApplication {
    estimate: Option<Arc<SendEstimate>>,
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

impl FeedbackToApplication {
    /// One that also records the congestion controller's estimate in `estimate`.
    pub(crate) fn with_estimate(estimate: Arc<SendEstimate>) -> Self {
        Self {
            estimate: Some(estimate),
            ..Self::default()
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for FeedbackToApplication {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Some(estimate) = &self.estimate
            && let Some(Attribute::TargetBitrateChanged { bits_per_second }) =
                msg.message.get(&Attribute::TargetBitrateChanged {
                    bits_per_second: 0.0,
                })
        {
            estimate.set(*bits_per_second);
        }
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<Box<dyn rtc::rtcp::packet::Packet>> = packets
                .iter()
                .filter(|p| is_keyframe_request(p.as_ref()))
                .cloned()
                .collect();
            if !requests.is_empty() {
                // The endpoint routes RTCP by the first packet's destination SSRC: a
                // compound packet led by a receiver report would otherwise be tagged
                // with (or dropped for) whatever that report is about.
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

impl Interceptor for FeedbackToApplication {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// Whether an RTP payload starts a keyframe, for the codecs the SFU forwards. `None` for
/// codecs it cannot tell (treated as "no keyframe needed").
pub fn starts_keyframe(mime_type: &str, payload: &[u8]) -> Option<bool> {
    if mime_type.eq_ignore_ascii_case("video/vp8") {
        Some(vp8_starts_keyframe(payload))
    } else if mime_type.eq_ignore_ascii_case("video/h264") {
        Some(h264_starts_keyframe(payload))
    } else {
        None
    }
}

/// VP8 (RFC 7741): the first packet of partition 0 of a frame whose frame tag has the
/// P bit clear.
fn vp8_starts_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let start_of_partition = first & 0x10 != 0;
    let partition_id = first & 0x0f;
    if !start_of_partition || partition_id != 0 {
        return false;
    }
    let mut offset = 1;
    if first & 0x80 != 0 {
        // Extension byte: I (picture id), L (tl0picidx), T/K (tid/keyidx).
        let Some(&ext) = payload.get(offset) else {
            return false;
        };
        offset += 1;
        if ext & 0x80 != 0 {
            let Some(&picture_id) = payload.get(offset) else {
                return false;
            };
            offset += if picture_id & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            offset += 1;
        }
        if ext & 0x30 != 0 {
            offset += 1;
        }
    }
    payload.get(offset).is_some_and(|tag| tag & 0x01 == 0)
}

/// H.264 (RFC 6184): an IDR slice or SPS, alone, in a STAP-A, or starting a FU-A.
fn h264_starts_keyframe(payload: &[u8]) -> bool {
    const IDR: u8 = 5;
    const SPS: u8 = 7;
    const STAP_A: u8 = 24;
    const FU_A: u8 = 28;
    let Some(&header) = payload.first() else {
        return false;
    };
    match header & 0x1f {
        IDR | SPS => true,
        STAP_A => {
            let mut offset = 1;
            while offset + 2 < payload.len() {
                let size = usize::from(u16::from_be_bytes([payload[offset], payload[offset + 1]]));
                let nal = payload[offset + 2] & 0x1f;
                if nal == IDR || nal == SPS {
                    return true;
                }
                offset += 2 + size;
            }
            false
        }
        FU_A => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && matches!(fu & 0x1f, IDR | SPS)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::receiver_report::ReceiverReport;
    use rtc::shared::TransportContext;

    fn rtcp(packets: Vec<Box<dyn rtc::rtcp::packet::Packet>>) -> TaggedPacket {
        TaggedPacket {
            now: Instant::now(),
            transport: TransportContext::default(),
            message: rtc::interceptor::AttributedPacket::new(Packet::Rtcp(packets)),
        }
    }

    #[test]
    fn keyframe_requests_are_narrowed_and_marked() {
        let mut forwarder = FeedbackToApplication::default();
        forwarder
            .handle_read(rtcp(vec![
                Box::new(ReceiverReport::default()),
                Box::new(PictureLossIndication {
                    sender_ssrc: 1,
                    media_ssrc: 2,
                }),
            ]))
            .expect("read");
        let out = forwarder.poll_read().expect("passed on");
        assert!(out.message.has(&Attribute::DeliverToApplication));
        let Packet::Rtcp(packets) = &out.message.packet else {
            panic!("not rtcp");
        };
        assert_eq!(packets.len(), 1);
        assert_eq!(packets[0].destination_ssrc(), vec![2]);
    }

    #[test]
    fn other_rtcp_is_left_alone() {
        let mut forwarder = FeedbackToApplication::default();
        forwarder
            .handle_read(rtcp(vec![Box::new(ReceiverReport::default())]))
            .expect("read");
        let out = forwarder.poll_read().expect("passed on");
        assert!(!out.message.has(&Attribute::DeliverToApplication));
    }

    #[test]
    fn the_estimate_is_read_off_feedback_and_the_packet_passed_on() {
        let estimate = Arc::new(SendEstimate::default());
        let mut tap = FeedbackToApplication::with_estimate(Arc::clone(&estimate));
        tap.handle_read(rtcp(vec![Box::new(ReceiverReport::default())]))
            .expect("read");
        assert!(tap.poll_read().is_some());
        assert_eq!(estimate.get(), None, "no estimate on plain feedback");
        let mut feedback = rtcp(vec![Box::new(ReceiverReport::default())]);
        feedback.message.add(Attribute::TargetBitrateChanged {
            bits_per_second: 640_000.0,
        });
        tap.handle_read(feedback).expect("read");
        let out = tap.poll_read().expect("passed on");
        assert!(!out.message.has(&Attribute::DeliverToApplication));
        assert_eq!(estimate.get(), Some(640_000));
    }

    #[test]
    fn detects_vp8_keyframes() {
        // Plain descriptor, S=1, partition 0; frame tag P bit clear.
        assert_eq!(
            starts_keyframe("video/VP8", &[0x10, 0x50, 0x2a]),
            Some(true)
        );
        assert_eq!(
            starts_keyframe("video/VP8", &[0x10, 0x51, 0x2a]),
            Some(false)
        );
        // Continuation packet.
        assert_eq!(starts_keyframe("video/VP8", &[0x00, 0x50]), Some(false));
        // X, I with 15-bit picture id, L, T/K: as Chrome sends them.
        assert_eq!(
            starts_keyframe("video/VP8", &[0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x50]),
            Some(true)
        );
        assert_eq!(
            starts_keyframe("video/VP8", &[0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x51]),
            Some(false)
        );
        assert_eq!(starts_keyframe("audio/opus", &[0x48]), None);
    }

    #[test]
    fn detects_h264_keyframes() {
        assert_eq!(starts_keyframe("video/H264", &[0x65]), Some(true));
        assert_eq!(starts_keyframe("video/H264", &[0x41]), Some(false));
        assert_eq!(
            starts_keyframe("video/H264", &[0x78, 0x00, 0x02, 0x67, 0x42]),
            Some(true)
        );
        assert_eq!(starts_keyframe("video/H264", &[0x7c, 0x85]), Some(true));
        assert_eq!(starts_keyframe("video/H264", &[0x7c, 0x05]), Some(false));
    }
}
