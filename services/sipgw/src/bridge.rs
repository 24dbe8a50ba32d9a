//! Audio between a SIP call and its meeting: the device's audio (G.711 at
//! 8 kHz, or Opus at 48 kHz, [`crate::codec`]) becomes Opus for the SFU
//! ([`Uplink`]), and everyone the meeting hears is decoded, mixed
//! ([`Mixer`]) and encoded back for the device, one 20 ms packet at a time
//! ([`run`]). A G.711 call is handled at 8 kHz, an Opus call at 48 kHz.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use opus_rs::{Application, OpusDecoder, OpusEncoder};
use rtc::rtp;
use rtc::shared::marshal::{Marshal, Unmarshal};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use yunhui_client::media::{AudioPacket, AudioSender};

use crate::codec::{Codec, DeviceDecoder, DeviceEncoder, frame_len};
use crate::g711::Law;

/// Samples in 20 ms at 8 kHz: one packet each way.
pub const FRAME: usize = 160;
/// The same 20 ms on Opus's 48 kHz RTP clock.
const OPUS_FRAME_48K: u32 = 960;
/// A speaker silent this long is forgotten (their decoder with them).
const SPEAKER_IDLE: Duration = Duration::from_secs(10);
/// Opus bitrate of the device's voice: narrowband speech (G.711)…
const UPLINK_BITRATE: i32 = 24_000;
/// …and wideband (a device's Opus).
const UPLINK_BITRATE_WIDE: i32 = 32_000;

/// The audio level of a frame in -dBov (0 loudest, 127 silence), as the
/// RTP audio-level extension carries it.
pub fn level(frame: &[i16]) -> u8 {
    if frame.is_empty() {
        return 127;
    }
    let power = frame
        .iter()
        .map(|s| {
            let x = f64::from(*s) / 32768.0;
            x * x
        })
        .sum::<f64>()
        / frame.len() as f64;
    if power <= 0.0 {
        return 127;
    }
    (-10.0 * power.log10()).clamp(0.0, 127.0) as u8
}

/// Encodes the device's voice into 20 ms Opus packets.
pub struct Uplink {
    encoder: OpusEncoder,
    pending: Vec<i16>,
    frame: usize,
}

impl Uplink {
    /// An encoder for 8 kHz mono speech.
    pub fn new() -> Result<Self, String> {
        Self::at(8_000)
    }

    /// An encoder for mono speech at `rate` (8 or 48 kHz).
    pub fn at(rate: u32) -> Result<Self, String> {
        let mut encoder = OpusEncoder::new(rate as i32, 1, Application::Voip)
            .map_err(|e| format!("the Opus encoder refused {rate} Hz mono: {e}"))?;
        encoder.bitrate_bps = if rate > 8_000 {
            UPLINK_BITRATE_WIDE
        } else {
            UPLINK_BITRATE
        };
        let frame = frame_len(rate);
        Ok(Uplink {
            encoder,
            pending: Vec::with_capacity(frame * 2),
            frame,
        })
    }

    /// Takes decoded samples; returns every complete 20 ms frame as
    /// (Opus packet, audio level).
    pub fn push(&mut self, samples: &[i16]) -> Vec<(Bytes, u8)> {
        self.pending.extend_from_slice(samples);
        let mut packets = Vec::new();
        let mut out = [0u8; 400];
        while self.pending.len() >= self.frame {
            let frame: Vec<i16> = self.pending.drain(..self.frame).collect();
            match self.encoder.encode_i16(&frame, self.frame, &mut out) {
                Ok(len) => packets.push((Bytes::copy_from_slice(&out[..len]), level(&frame))),
                Err(e) => tracing::warn!(error = e, "Opus could not encode a frame"),
            }
        }
        packets
    }
}

struct Speaker {
    decoder: OpusDecoder,
    queue: VecDeque<i16>,
    heard: Instant,
}

/// Decodes everyone the meeting hears and mixes them into one stream (8 kHz
/// by default).
pub struct Mixer {
    speakers: HashMap<Arc<str>, Speaker>,
    rate: u32,
    frame: usize,
}

impl Default for Mixer {
    fn default() -> Self {
        Mixer::at(8_000)
    }
}

impl Mixer {
    /// A mixer producing audio at `rate` (8 or 48 kHz).
    pub fn at(rate: u32) -> Self {
        Mixer {
            speakers: HashMap::new(),
            rate,
            frame: frame_len(rate),
        }
    }

    /// Decodes one received Opus packet into its speaker's queue.
    pub fn push(&mut self, packet: &AudioPacket) {
        let max_queued = self.frame * 6;
        let speaker = match self.speakers.entry(Arc::clone(&packet.stream_id)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                match OpusDecoder::new(self.rate as i32, 1) {
                    Ok(decoder) => e.insert(Speaker {
                        decoder,
                        queue: VecDeque::with_capacity(max_queued),
                        heard: Instant::now(),
                    }),
                    Err(e) => {
                        tracing::warn!(error = e, "no Opus decoder");
                        return;
                    }
                }
            }
        };
        // Up to 120 ms per packet.
        let mut pcm = vec![0f32; max_queued];
        match speaker.decoder.decode(&packet.payload, pcm.len(), &mut pcm) {
            Ok(samples) => {
                speaker.heard = Instant::now();
                speaker.queue.extend(
                    pcm[..samples.min(pcm.len())]
                        .iter()
                        .map(|x| (x * 32767.0).clamp(-32768.0, 32767.0) as i16),
                );
                let excess = speaker.queue.len().saturating_sub(max_queued);
                speaker.queue.drain(..excess);
            }
            Err(e) => tracing::debug!(error = e, "undecodable Opus packet dropped"),
        }
    }

    /// The next 20 ms at 8 kHz (see [`Mixer::mix_frame`]).
    pub fn mix(&mut self) -> [i16; FRAME] {
        let mut frame = [0i16; FRAME];
        let mixed = self.mix_frame();
        let n = mixed.len().min(FRAME);
        frame[..n].copy_from_slice(&mixed[..n]);
        frame
    }

    /// The next 20 ms at the mixer's rate: the sum of every speaker's next
    /// frame (silence for those with nothing queued), clipped.
    pub fn mix_frame(&mut self) -> Vec<i16> {
        let mut sum = vec![0i32; self.frame];
        for speaker in self.speakers.values_mut() {
            let take = speaker.queue.len().min(self.frame);
            for (slot, sample) in sum.iter_mut().zip(speaker.queue.drain(..take)) {
                *slot += i32::from(sample);
            }
        }
        self.speakers
            .retain(|_, s| s.heard.elapsed() < SPEAKER_IDLE);
        sum.into_iter()
            .map(|s| s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16)
            .collect()
    }
}

/// The call's RTP leg.
pub struct RtpLeg {
    /// Bound on the address the offer named.
    pub socket: UdpSocket,
    /// Where the answer said to send.
    pub remote: SocketAddr,
    /// The codec the offer and answer agreed on.
    pub codec: Codec,
}

/// Bridges until the task is dropped: device RTP → Opus on `audio`, and
/// `packets` from the meeting → mixed audio RTP to the device every 20 ms
/// (silence when nobody speaks, so the device's media timers stay calm).
/// A listener (`audio` is `None`: a webinar's attendee) starts sending when
/// a sender arrives on `granted` (the host allowed them to talk).
pub async fn run(
    leg: RtpLeg,
    mut audio: Option<AudioSender>,
    mut granted: mpsc::Receiver<AudioSender>,
    mut packets: mpsc::Receiver<AudioPacket>,
) -> Result<(), String> {
    let codec = leg.codec;
    let rate = codec.sample_rate();
    let mut uplink = Uplink::at(rate)?;
    let mut mixer = Mixer::at(rate);
    let mut decoder = DeviceDecoder::new(codec)?;
    let mut encoder = DeviceEncoder::new(codec, rate)?;
    let mut remote = leg.remote;
    let mut latched = false;
    let ssrc: u32 = rand::random();
    let mut sequence_number: u16 = rand::random();
    let mut timestamp: u32 = rand::random();
    let mut first = true;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = vec![0u8; 2048];
    loop {
        tokio::select! {
            Some(sender) = granted.recv() => audio = Some(sender),
            received = leg.socket.recv_from(&mut buf) => {
                let (len, from) = received.map_err(|e| format!("the RTP socket failed: {e}"))?;
                // Only the answering device's address; latch onto its real
                // port (symmetric RTP through NAT).
                if from.ip() != remote.ip() {
                    continue;
                }
                if !latched {
                    remote = from;
                    latched = true;
                }
                let Ok(packet) = rtp::Packet::unmarshal(&mut &buf[..len]) else {
                    continue;
                };
                let pt = packet.header.payload_type;
                let samples: Vec<i16> = match codec {
                    // Either law, whichever the device sends.
                    Codec::G711(_) => match Law::from_payload_type(pt) {
                        Some(law) => packet.payload.iter().map(|c| law.decode(*c)).collect(),
                        // Telephone events and comfort noise carry no voice.
                        None => continue,
                    },
                    Codec::Opus { payload_type } if pt == payload_type => {
                        decoder.decode(&packet.payload)
                    }
                    Codec::Opus { .. } => continue,
                };
                // A listener (a webinar's attendee) sends the meeting nothing.
                let Some(audio) = audio.as_mut() else {
                    continue;
                };
                for (opus, level) in uplink.push(&samples) {
                    audio.send(opus, OPUS_FRAME_48K, level).await;
                }
            }
            _ = tick.tick() => {
                while let Ok(packet) = packets.try_recv() {
                    mixer.push(&packet);
                }
                let frame = mixer.mix_frame();
                let Some(payload) = encoder.encode(&frame) else {
                    timestamp = timestamp.wrapping_add(codec.timestamp_step());
                    continue;
                };
                let packet = rtp::Packet {
                    header: rtp::header::Header {
                        version: 2,
                        marker: first,
                        payload_type: codec.payload_type(),
                        sequence_number,
                        timestamp,
                        ssrc,
                        ..Default::default()
                    },
                    payload,
                };
                first = false;
                sequence_number = sequence_number.wrapping_add(1);
                timestamp = timestamp.wrapping_add(codec.timestamp_step());
                if let Ok(bytes) = packet.marshal() {
                    // A lost datagram is a lost 20 ms, as on any RTP path.
                    let _ = leg.socket.send_to(&bytes, remote).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, samples: usize, rate: f64, amplitude: f64) -> Vec<i16> {
        (0..samples)
            .map(|i| ((2.0 * std::f64::consts::PI * hz * i as f64 / rate).sin() * amplitude) as i16)
            .collect()
    }

    #[test]
    fn levels_follow_loudness() {
        assert_eq!(level(&[0; FRAME]), 127);
        let loud = level(&tone(440.0, FRAME, 8000.0, 30000.0));
        let quiet = level(&tone(440.0, FRAME, 8000.0, 300.0));
        assert!(
            loud < 5,
            "a near full-scale tone is about -3 dBov, got -{loud}"
        );
        assert!((40..=46).contains(&quiet), "40 dB quieter, got -{quiet}");
    }

    #[test]
    fn the_mixer_adds_speakers_and_the_uplink_makes_20_ms_packets() {
        let mut uplink = Uplink::new().unwrap();
        assert!(uplink.push(&tone(440.0, 100, 8000.0, 8000.0)).is_empty());
        let packets = uplink.push(&tone(440.0, 3 * FRAME - 100, 8000.0, 8000.0));
        assert_eq!(packets.len(), 3, "480 samples are three 20 ms frames");

        let mut alone = Mixer::default();
        assert_eq!(alone.mix(), [0; FRAME], "nobody speaks: silence");
        let mut together = Mixer::default();
        let mut encoder = Uplink::new().unwrap();
        let (mut energy_one, mut energy_two) = (0f64, 0f64);
        for round in 0..25u16 {
            let (payload, _) = encoder.push(&tone(300.0, FRAME, 8000.0, 6000.0)).remove(0);
            let packet = |stream: &str| AudioPacket {
                stream_id: stream.into(),
                sequence_number: round,
                timestamp: u32::from(round) * OPUS_FRAME_48K,
                payload: payload.clone(),
            };
            alone.push(&packet("a"));
            together.push(&packet("a"));
            together.push(&packet("b"));
            let one: f64 = alone.mix().iter().map(|s| f64::from(*s).powi(2)).sum();
            let two: f64 = together.mix().iter().map(|s| f64::from(*s).powi(2)).sum();
            if round >= 5 {
                energy_one += one;
                energy_two += two;
            }
        }
        assert!(energy_one > 0.0, "the tone is heard");
        // Two equal, in-phase voices: twice the amplitude, four times the energy.
        let ratio = energy_two / energy_one;
        assert!((2.5..=5.5).contains(&ratio), "energy ratio {ratio}");
    }

    #[test]
    fn an_opus_call_is_mixed_at_48_khz() {
        let mut encoder = Uplink::at(48_000).unwrap();
        let packets = encoder.push(&tone(440.0, 960 * 3, 48_000.0, 8000.0));
        assert_eq!(
            packets.len(),
            3,
            "2880 samples are three 20 ms frames at 48 kHz"
        );
        let mut mixer = Mixer::at(48_000);
        let mut energy = 0f64;
        for (round, (payload, _)) in packets.into_iter().enumerate() {
            mixer.push(&AudioPacket {
                stream_id: "a".into(),
                sequence_number: round as u16,
                timestamp: round as u32 * OPUS_FRAME_48K,
                payload,
            });
            let frame = mixer.mix_frame();
            assert_eq!(frame.len(), 960);
            energy += frame.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>();
        }
        assert!(energy > 0.0, "the tone is heard");
    }
}
