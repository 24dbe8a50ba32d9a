//! The device's side of a call's audio: G.711 ([`crate::g711`]) at 8 kHz,
//! or Opus at 48 kHz for a device that offers it (RFC 7587), encoded and
//! decoded 20 ms at a time.

use bytes::Bytes;
use opus_rs::{Application, OpusDecoder, OpusEncoder};

use crate::g711::Law;

/// RTP clock rate of Opus, whatever the audio's bandwidth (RFC 7587).
pub const OPUS_CLOCK: u32 = 48_000;
/// Bitrate of the Opus the gateway sends a device (wideband speech and the
/// meeting's mix).
const DEVICE_OPUS_BITRATE: i32 = 32_000;

/// The codec of a call's RTP leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// G.711 in one of its laws (static payload types 0 and 8).
    G711(Law),
    /// Opus, under the dynamic payload type the device chose.
    Opus {
        /// The device's payload type for `opus/48000/2`.
        payload_type: u8,
    },
}

impl Codec {
    /// The RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::G711(law) => law.payload_type(),
            Codec::Opus { payload_type } => payload_type,
        }
    }

    /// The SDP `rtpmap` encoding (`PCMA/8000`, `opus/48000/2`).
    pub fn rtpmap(self) -> String {
        match self {
            Codec::G711(law) => format!("{}/8000", law.name()),
            Codec::Opus { .. } => format!("opus/{OPUS_CLOCK}/2"),
        }
    }

    /// The sample rate the call's audio is handled at: 8 kHz for G.711,
    /// 48 kHz for Opus (the meeting's own rate: nothing is lost on the way).
    pub fn sample_rate(self) -> u32 {
        match self {
            Codec::G711(_) => 8_000,
            Codec::Opus { .. } => 48_000,
        }
    }

    /// How far the RTP timestamp moves in 20 ms.
    pub fn timestamp_step(self) -> u32 {
        match self {
            Codec::G711(_) => 160,
            Codec::Opus { .. } => OPUS_CLOCK / 50,
        }
    }
}

/// Samples in 20 ms at `rate`.
pub fn frame_len(rate: u32) -> usize {
    (rate / 50) as usize
}

/// Encodes 20 ms frames of audio for the device.
pub enum DeviceEncoder {
    /// Companding, sample by sample.
    G711(Law),
    /// Opus, mono.
    Opus(Box<OpusEncoder>),
}

impl DeviceEncoder {
    /// An encoder for `codec` taking audio at `rate` (for Opus any of its
    /// rates: the keypad's prompts are 8 kHz, the bridge's mix 48 kHz).
    pub fn new(codec: Codec, rate: u32) -> Result<Self, String> {
        match codec {
            Codec::G711(law) if rate == 8_000 => Ok(DeviceEncoder::G711(law)),
            Codec::G711(_) => Err(format!("G.711 is 8 kHz audio, not {rate} Hz")),
            Codec::Opus { .. } => {
                let rate =
                    i32::try_from(rate).map_err(|_| format!("{rate} Hz is no audio rate"))?;
                let mut encoder = OpusEncoder::new(rate, 1, Application::Voip)
                    .map_err(|e| format!("the Opus encoder refused {rate} Hz mono: {e}"))?;
                encoder.bitrate_bps = DEVICE_OPUS_BITRATE;
                Ok(DeviceEncoder::Opus(Box::new(encoder)))
            }
        }
    }

    /// One 20 ms frame as an RTP payload; `None` if Opus failed on it (the
    /// frame is lost, as on any RTP path).
    pub fn encode(&mut self, frame: &[i16]) -> Option<Bytes> {
        match self {
            DeviceEncoder::G711(law) => Some(frame.iter().map(|s| law.encode(*s)).collect()),
            DeviceEncoder::Opus(encoder) => {
                let mut out = [0u8; 1275];
                match encoder.encode_i16(frame, frame.len(), &mut out) {
                    Ok(len) => Some(Bytes::copy_from_slice(&out[..len])),
                    Err(e) => {
                        tracing::warn!(error = e, "Opus could not encode a frame for the device");
                        None
                    }
                }
            }
        }
    }
}

/// Decodes what the device sends into samples at the codec's rate.
pub enum DeviceDecoder {
    /// Expanding, code by code.
    G711(Law),
    /// Opus, downmixed to mono.
    Opus(Box<OpusDecoder>),
}

impl DeviceDecoder {
    /// A decoder for `codec`, producing audio at [`Codec::sample_rate`].
    pub fn new(codec: Codec) -> Result<Self, String> {
        match codec {
            Codec::G711(law) => Ok(DeviceDecoder::G711(law)),
            Codec::Opus { .. } => OpusDecoder::new(OPUS_CLOCK as i32, 1)
                .map(|d| DeviceDecoder::Opus(Box::new(d)))
                .map_err(|e| format!("no Opus decoder: {e}")),
        }
    }

    /// The samples of one RTP payload (none for one that does not decode).
    pub fn decode(&mut self, payload: &[u8]) -> Vec<i16> {
        match self {
            DeviceDecoder::G711(law) => payload.iter().map(|c| law.decode(*c)).collect(),
            DeviceDecoder::Opus(decoder) => {
                // Up to 120 ms per packet.
                let mut pcm = vec![0f32; 5_760];
                match decoder.decode(payload, pcm.len(), &mut pcm) {
                    Ok(samples) => pcm[..samples.min(pcm.len())]
                        .iter()
                        .map(|x| (x * 32767.0).clamp(-32768.0, 32767.0) as i16)
                        .collect(),
                    Err(e) => {
                        tracing::debug!(
                            error = e,
                            "undecodable Opus packet from the device dropped"
                        );
                        Vec::new()
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, samples: usize, rate: f64) -> Vec<i16> {
        (0..samples)
            .map(|i| ((2.0 * std::f64::consts::PI * hz * i as f64 / rate).sin() * 8000.0) as i16)
            .collect()
    }

    #[test]
    fn opus_for_the_device_decodes_back_to_the_same_tone() {
        let codec = Codec::Opus { payload_type: 111 };
        assert_eq!(codec.payload_type(), 111);
        assert_eq!(codec.rtpmap(), "opus/48000/2");
        assert_eq!(codec.timestamp_step(), 960);
        let mut encoder = DeviceEncoder::new(codec, 48_000).unwrap();
        let mut decoder = DeviceDecoder::new(codec).unwrap();
        let sent = tone(440.0, 48_000 / 2, 48_000.0);
        let mut heard = Vec::new();
        for frame in sent.chunks(frame_len(48_000)) {
            let payload = encoder.encode(frame).expect("encodes");
            heard.extend(decoder.decode(&payload));
        }
        assert_eq!(heard.len(), sent.len(), "20 ms in, 20 ms out");
        let energy = |s: &[i16]| s.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>();
        let ratio = energy(&heard[4_800..]) / energy(&sent[4_800..]);
        assert!((0.5..=2.0).contains(&ratio), "energy ratio {ratio}");
        // The keypad's 8 kHz prompts encode to 20 ms packets too.
        let mut prompts = DeviceEncoder::new(codec, 8_000).unwrap();
        let payload = prompts.encode(&tone(440.0, 160, 8_000.0)).unwrap();
        assert_eq!(decoder.decode(&payload).len(), 960);
    }

    #[test]
    fn g711_is_8_khz_only() {
        let codec = Codec::G711(Law::Pcma);
        assert_eq!(
            (codec.payload_type(), codec.rtpmap()),
            (8, "PCMA/8000".into())
        );
        assert!(DeviceEncoder::new(codec, 48_000).is_err());
        let mut encoder = DeviceEncoder::new(codec, 8_000).unwrap();
        assert_eq!(encoder.encode(&[0; 160]).unwrap().len(), 160);
        let mut decoder = DeviceDecoder::new(codec).unwrap();
        assert_eq!(decoder.decode(&[0xd5; 160]).len(), 160);
    }
}
