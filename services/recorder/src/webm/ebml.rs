//! The EBML encoding Matroska is built on: element IDs, variable-length
//! sizes, and the few element kinds a WebM writer needs (unsigned integers,
//! floats, strings, binary, masters and Void padding).

/// The 8-byte "unknown size": a master element whose end is where the file
/// (or its parent) ends. The Segment starts with it, so a file cut short at
/// any Cluster boundary is still a valid file.
pub(crate) const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/// Largest size an 8-byte size field can carry (all ones means unknown).
pub(crate) const MAX_SIZE: u64 = (1 << 56) - 2;

/// Appends an element ID. IDs carry their own length marker, so they are
/// written as their big-endian bytes without leading zero bytes.
pub(crate) fn id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = (id.leading_zeros() / 8).min(3) as usize;
    out.extend_from_slice(&bytes[skip..]);
}

/// Appends `size` as the shortest variable-length integer that holds it.
/// Lengths of n bytes carry 7n bits, less the all-ones value (unknown).
pub(crate) fn size(out: &mut Vec<u8>, size: u64) {
    let size = size.min(MAX_SIZE);
    let length = (1..=8u32)
        .find(|n| size < (1u64 << (7 * n)) - 1)
        .unwrap_or(8);
    let marked = size | (1u64 << (7 * length));
    out.extend_from_slice(&marked.to_be_bytes()[(8 - length as usize)..]);
}

/// `size` in the 8-byte form, for a size patched in place later.
pub(crate) fn size_8_bytes(size: u64) -> [u8; 8] {
    (size.min(MAX_SIZE) | (1u64 << 56)).to_be_bytes()
}

/// Appends an unsigned integer element in as few bytes as it needs (one at
/// least).
pub(crate) fn uint(out: &mut Vec<u8>, element: u32, value: u64) {
    let bytes = value.to_be_bytes();
    let skip = ((value.leading_zeros() / 8) as usize).min(7);
    id(out, element);
    size(out, (8 - skip) as u64);
    out.extend_from_slice(&bytes[skip..]);
}

/// Appends an 8-byte float element.
pub(crate) fn float(out: &mut Vec<u8>, element: u32, value: f64) {
    id(out, element);
    size(out, 8);
    out.extend_from_slice(&value.to_be_bytes());
}

/// Appends a string element (ASCII or UTF-8, not terminated).
pub(crate) fn string(out: &mut Vec<u8>, element: u32, value: &str) {
    binary(out, element, value.as_bytes());
}

/// Appends a binary element.
pub(crate) fn binary(out: &mut Vec<u8>, element: u32, value: &[u8]) {
    id(out, element);
    size(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// Appends a master element whose children `body` writes.
pub(crate) fn master(out: &mut Vec<u8>, element: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let mut children = Vec::new();
    body(&mut children);
    binary(out, element, &children);
}

/// Appends a Void element (padding readers skip) of exactly `total` bytes,
/// header included. `total` must be at least 2 (ID and a 1-byte size).
pub(crate) fn void(out: &mut Vec<u8>, total: usize) {
    debug_assert!(total >= 2, "a Void element takes at least 2 bytes");
    let total = total.max(2);
    out.push(ids::VOID as u8);
    // A 1-byte size holds up to 126; longer padding uses the 8-byte form.
    if total - 2 <= 126 {
        size(out, (total - 2) as u64);
        out.resize(out.len() + total - 2, 0);
    } else {
        let data = total - 9;
        out.extend_from_slice(&size_8_bytes(data as u64));
        out.resize(out.len() + data, 0);
    }
}

/// The element IDs of the WebM subset written here.
pub(crate) mod ids {
    pub(crate) const EBML: u32 = 0x1A45_DFA3;
    pub(crate) const EBML_VERSION: u32 = 0x4286;
    pub(crate) const EBML_READ_VERSION: u32 = 0x42F7;
    pub(crate) const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
    pub(crate) const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
    pub(crate) const DOC_TYPE: u32 = 0x4282;
    pub(crate) const DOC_TYPE_VERSION: u32 = 0x4287;
    pub(crate) const DOC_TYPE_READ_VERSION: u32 = 0x4285;

    pub(crate) const SEGMENT: u32 = 0x1853_8067;
    pub(crate) const SEEK_HEAD: u32 = 0x114D_9B74;
    pub(crate) const SEEK: u32 = 0x4DBB;
    pub(crate) const SEEK_ID: u32 = 0x53AB;
    pub(crate) const SEEK_POSITION: u32 = 0x53AC;
    pub(crate) const VOID: u32 = 0xEC;

    pub(crate) const INFO: u32 = 0x1549_A966;
    pub(crate) const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
    pub(crate) const DURATION: u32 = 0x4489;
    pub(crate) const MUXING_APP: u32 = 0x4D80;
    pub(crate) const WRITING_APP: u32 = 0x5741;

    pub(crate) const TRACKS: u32 = 0x1654_AE6B;
    pub(crate) const TRACK_ENTRY: u32 = 0xAE;
    pub(crate) const TRACK_NUMBER: u32 = 0xD7;
    pub(crate) const TRACK_UID: u32 = 0x73C5;
    pub(crate) const TRACK_TYPE: u32 = 0x83;
    pub(crate) const FLAG_LACING: u32 = 0x9C;
    pub(crate) const CODEC_ID: u32 = 0x86;
    pub(crate) const CODEC_PRIVATE: u32 = 0x63A2;
    pub(crate) const CODEC_DELAY: u32 = 0x56AA;
    pub(crate) const SEEK_PRE_ROLL: u32 = 0x56BB;
    pub(crate) const VIDEO: u32 = 0xE0;
    pub(crate) const PIXEL_WIDTH: u32 = 0xB0;
    pub(crate) const PIXEL_HEIGHT: u32 = 0xBA;
    pub(crate) const AUDIO: u32 = 0xE1;
    pub(crate) const SAMPLING_FREQUENCY: u32 = 0xB5;
    pub(crate) const CHANNELS: u32 = 0x9F;

    pub(crate) const CLUSTER: u32 = 0x1F43_B675;
    pub(crate) const TIMESTAMP: u32 = 0xE7;
    pub(crate) const SIMPLE_BLOCK: u32 = 0xA3;

    pub(crate) const CUES: u32 = 0x1C53_BB6B;
    pub(crate) const CUE_POINT: u32 = 0xBB;
    pub(crate) const CUE_TIME: u32 = 0xB3;
    pub(crate) const CUE_TRACK_POSITIONS: u32 = 0xB7;
    pub(crate) const CUE_TRACK: u32 = 0xF7;
    pub(crate) const CUE_CLUSTER_POSITION: u32 = 0xF1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out);
        out
    }

    #[test]
    fn ids_are_written_with_their_own_length() {
        assert_eq!(encoded(|o| id(o, ids::VOID)), [0xEC]);
        assert_eq!(encoded(|o| id(o, ids::DURATION)), [0x44, 0x89]);
        assert_eq!(encoded(|o| id(o, ids::TIMESTAMP_SCALE)), [0x2A, 0xD7, 0xB1]);
        assert_eq!(encoded(|o| id(o, ids::SEGMENT)), [0x18, 0x53, 0x80, 0x67]);
    }

    #[test]
    fn sizes_take_the_shortest_form_that_is_not_all_ones() {
        assert_eq!(encoded(|o| size(o, 0)), [0x80]);
        assert_eq!(encoded(|o| size(o, 126)), [0xFE]);
        // 127 in one byte would be 0xFF, the unknown size: it takes two.
        assert_eq!(encoded(|o| size(o, 127)), [0x40, 0x7F]);
        assert_eq!(encoded(|o| size(o, 16_382)), [0x7F, 0xFE]);
        assert_eq!(encoded(|o| size(o, 16_383)), [0x20, 0x3F, 0xFF]);
        assert_eq!(encoded(|o| size(o, MAX_SIZE)).len(), 8);
        assert_ne!(encoded(|o| size(o, MAX_SIZE)), UNKNOWN_SIZE);
    }

    #[test]
    fn an_8_byte_size_can_be_patched_in_place() {
        assert_eq!(size_8_bytes(5), [0x01, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(size_8_bytes(0x0102), [0x01, 0, 0, 0, 0, 0, 0x01, 0x02]);
    }

    #[test]
    fn integers_floats_and_strings_are_big_endian_and_minimal() {
        assert_eq!(encoded(|o| uint(o, 0xD7, 0)), [0xD7, 0x81, 0x00]);
        assert_eq!(encoded(|o| uint(o, 0xD7, 1)), [0xD7, 0x81, 0x01]);
        assert_eq!(
            encoded(|o| uint(o, 0x2AD7B1, 1_000_000)),
            [0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40]
        );
        assert_eq!(
            encoded(|o| float(o, 0xB5, 48_000.0)),
            [0xB5, 0x88, 0x40, 0xE7, 0x70, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            encoded(|o| string(o, 0x86, "V_VP8")),
            [0x86, 0x85, b'V', b'_', b'V', b'P', b'8']
        );
    }

    #[test]
    fn a_master_is_sized_by_its_children() {
        let out = encoded(|o| master(o, ids::VIDEO, |v| uint(v, ids::PIXEL_WIDTH, 640)));
        assert_eq!(out, [0xE0, 0x84, 0xB0, 0x82, 0x02, 0x80]);
    }

    #[test]
    fn void_padding_has_exactly_the_length_asked() {
        for total in [2, 3, 11, 128, 129, 200, 1000] {
            let out = encoded(|o| void(o, total));
            assert_eq!(out.len(), total, "Void of {total} bytes");
            assert_eq!(out[0], 0xEC);
        }
    }
}
