//! What a participant sends the recorder (through the SFU, maybe crafted):
//! VP8 RTP packets reassembled into frames and written into a WebM file.
//! Nothing may panic, no frame may be larger than the assembler's bound, and
//! the file must always finish.
//!
//! Input: packets, each `len: u8` then `sequence number: u16`, `timestamp:
//! u32`, `marker: u8` and `len` payload bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunhui_recorder::frames::{FrameAssembler, MAX_FRAME_BYTES};
use yunhui_recorder::webm::SegmentWriter;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("fuzz.webm");
    let mut writer = SegmentWriter::create(&path, 640, 360, 1).expect("a segment");
    let mut assembler = FrameAssembler::new();
    let mut rest = data;
    let mut at = 0u64;
    while rest.len() >= 8 {
        let len = usize::from(rest[0]);
        let sequence_number = u16::from_be_bytes([rest[1], rest[2]]);
        let timestamp = u32::from_be_bytes([rest[3], rest[4], rest[5], rest[6]]);
        let marker = rest[7] & 1 == 1;
        let end = (8 + len).min(rest.len());
        let payload = &rest[8..end];
        rest = &rest[end..];
        if let Some(frame) = assembler.push(sequence_number, timestamp, marker, payload) {
            assert!(frame.data.len() <= MAX_FRAME_BYTES);
            at += 33;
            writer
                .write_video(at, frame.keyframe, &frame.data)
                .expect("a frame written");
        }
        writer
            .write_audio(at, &[0xf8, 0xff, 0xfe])
            .expect("audio written");
    }
    writer.finish().expect("the segment finishes");
});
