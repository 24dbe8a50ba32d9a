//! G.711 (ITU-T): the 8 kHz companded PCM every SIP device speaks, in its
//! two laws — μ-law (PCMU, RTP payload type 0) and A-law (PCMA, type 8).

/// One of G.711's two laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// μ-law, RTP payload type 0 (North America, Japan).
    Pcmu,
    /// A-law, RTP payload type 8 (China, Europe).
    Pcma,
}

impl Law {
    /// The law's static RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Law::Pcmu => 0,
            Law::Pcma => 8,
        }
    }

    /// The law of a static RTP payload type.
    pub fn from_payload_type(pt: u8) -> Option<Law> {
        match pt {
            0 => Some(Law::Pcmu),
            8 => Some(Law::Pcma),
            _ => None,
        }
    }

    /// The SDP encoding name.
    pub fn name(self) -> &'static str {
        match self {
            Law::Pcmu => "PCMU",
            Law::Pcma => "PCMA",
        }
    }

    /// The code of silence.
    pub fn silence(self) -> u8 {
        self.encode(0)
    }

    /// Compands one 16-bit sample.
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Law::Pcmu => ulaw_encode(sample),
            Law::Pcma => alaw_encode(sample),
        }
    }

    /// Expands one code into a 16-bit sample.
    pub fn decode(self, code: u8) -> i16 {
        match self {
            Law::Pcmu => ulaw_decode(code),
            Law::Pcma => alaw_decode(code),
        }
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

fn ulaw_encode(sample: i16) -> u8 {
    let mut magnitude = i32::from(sample);
    let sign = if magnitude < 0 {
        magnitude = -magnitude;
        0x80
    } else {
        0
    };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS;
    // The segment is the position of the highest set bit above bit 7.
    let exponent = (31 - biased.leading_zeros() as i32 - 7).clamp(0, 7);
    let mantissa = (biased >> (exponent + 3)) & 0x0f;
    !((sign | (exponent << 4) | mantissa) as u8)
}

fn ulaw_decode(code: u8) -> i16 {
    let code = !code;
    let exponent = i32::from((code >> 4) & 0x07);
    let mantissa = i32::from(code & 0x0f);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    (if code & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    }) as i16
}

/// Upper ends of A-law's eight segments, in 13-bit magnitude.
const ALAW_SEGMENT_ENDS: [i32; 8] = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

fn alaw_encode(sample: i16) -> u8 {
    let mut value = i32::from(sample) >> 3;
    let mask = if value >= 0 {
        0xd5
    } else {
        value = -value - 1;
        0x55
    };
    let Some(segment) = ALAW_SEGMENT_ENDS.iter().position(|end| value <= *end) else {
        return 0x7f ^ mask;
    };
    let mantissa = if segment < 2 {
        (value >> 1) & 0x0f
    } else {
        (value >> segment) & 0x0f
    };
    (((segment as i32) << 4) | mantissa) as u8 ^ mask
}

fn alaw_decode(code: u8) -> i16 {
    let code = code ^ 0x55;
    let mut magnitude = i32::from(code & 0x0f) << 4;
    let segment = i32::from((code & 0x70) >> 4);
    match segment {
        0 => magnitude += 8,
        1 => magnitude += 0x108,
        _ => magnitude = (magnitude + 0x108) << (segment - 1),
    }
    (if code & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_has_its_well_known_codes() {
        assert_eq!(Law::Pcmu.silence(), 0xff);
        assert_eq!(Law::Pcma.silence(), 0xd5);
        assert_eq!(Law::Pcmu.decode(0xff), 0);
        assert_eq!(Law::Pcma.decode(0xd5), 8);
    }

    #[test]
    fn every_sample_survives_a_round_trip_within_the_segment_step() {
        for law in [Law::Pcmu, Law::Pcma] {
            for sample in (i16::MIN..=i16::MAX).step_by(7) {
                let back = law.decode(law.encode(sample));
                // The quantisation step doubles with each segment: about 1/16 of the magnitude.
                let allowed = (i32::from(sample).abs() / 16).max(16) + 8;
                assert!(
                    (i32::from(back) - i32::from(sample)).abs() <= allowed,
                    "{law:?}: {sample} came back as {back}"
                );
                assert!(
                    back.signum() * sample.signum() >= 0,
                    "{law:?}: sign of {sample}"
                );
            }
        }
    }

    #[test]
    fn codes_decode_and_encode_back_to_themselves() {
        for law in [Law::Pcmu, Law::Pcma] {
            for code in 0..=255u8 {
                let sample = law.decode(code);
                let again = law.encode(sample);
                // μ-law has two zeros (0x7f and 0xff); both decode to 0.
                assert_eq!(law.decode(again), sample, "{law:?}: code {code:#x}");
            }
        }
    }
}
