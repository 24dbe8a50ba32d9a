//! What a publisher sends the SFU, packet by packet: the shared UDP port's
//! demultiplexing (STUN usernames), RTCP (keyframe requests), and RTP
//! through one subscriber's down track (simulcast layer choice, keyframe
//! detection, sequence and timestamp rewriting, VP8 picture ids).
//!
//! Input: a first byte choosing the codec and the subscriber's quality,
//! then records of `[len: u16 BE][flags][datagram]`. Flags: the low two
//! bits are the simulcast layer (3 = no simulcast), bit 2 resumes after a
//! mute (a new generation), bit 3 sends the datagram as RTCP, bit 4 as STUN,
//! the high three bits advance the clock in 20 ms steps.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rtc::rtp;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::shared::marshal::Unmarshal;
use yunhui_proto::signaling::VideoQuality;
use yunhui_sfu::demux::stun_local_ufrag;
use yunhui_sfu::feedback::{is_keyframe_request, starts_keyframe};
use yunhui_sfu::forwarding::DownTrack;

const CODECS: [(&str, u32); 3] = [
    ("video/VP8", 90_000),
    ("video/H264", 90_000),
    ("audio/opus", 48_000),
];
const QUALITIES: [VideoQuality; 4] = [
    VideoQuality::Off,
    VideoQuality::Low,
    VideoQuality::Medium,
    VideoQuality::High,
];
const OUT_SSRC: u32 = 0x5eed;
const OUT_PT: u8 = 96;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, mut rest)) = data.split_first() else {
        return;
    };
    let (mime, clock) = CODECS[usize::from(choice & 0x3) % CODECS.len()];
    let quality = QUALITIES[usize::from(choice >> 2) & 0x3];
    let mut down = DownTrack::new(
        RTCRtpSenderId::default(),
        OUT_SSRC,
        mime.into(),
        clock,
        quality,
    );
    let mut now = Instant::now();
    let mut generation = 0u32;
    while rest.len() >= 3 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let flags = rest[2];
        rest = &rest[3..];
        let datagram = &rest[..len.min(rest.len())];
        rest = &rest[datagram.len()..];
        now += Duration::from_millis(20 * u64::from(flags >> 5));
        if flags & 0x10 != 0 {
            if let Some(ufrag) = stun_local_ufrag(datagram) {
                assert!(!ufrag.contains(':'), "the local ufrag stops at the colon");
            }
            continue;
        }
        if flags & 0x08 != 0 {
            if let Ok(packets) = rtc::rtcp::packet::unmarshal(&mut &datagram[..]) {
                for packet in &packets {
                    let _ = is_keyframe_request(packet.as_ref());
                }
            }
            continue;
        }
        let Ok(mut packet) = rtp::Packet::unmarshal(&mut &datagram[..]) else {
            continue;
        };
        let _ = starts_keyframe(mime, &packet.payload);
        if flags & 0x04 != 0 {
            generation = generation.wrapping_add(1);
        }
        let layer = match flags & 0x3 {
            3 => None,
            layer => Some(layer),
        };
        let outcome = down.forward(&mut packet, layer, generation, OUT_PT, now);
        if outcome.send {
            assert_eq!(
                packet.header.ssrc, OUT_SSRC,
                "a sent packet carries the subscriber's SSRC"
            );
            assert_eq!(packet.header.payload_type, OUT_PT);
        }
        if down.keyframe_request_due(now, Duration::from_millis(500)) {
            assert!(down.waiting_for_keyframe());
        }
    }
});
