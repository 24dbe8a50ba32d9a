//! Everyone's audio mixed into one stream: each participant's Opus is
//! decoded into their own queue, and every 20 ms the queues' next 20 ms are
//! summed and (for the recording) encoded as one Opus packet.
//!
//! Nothing here depends on the recording: at 8 kHz mono the same mixer
//! serves a telephone bridge ([`AudioMixer::mix_frame`] gives the PCM).

use std::collections::{HashMap, VecDeque};

use opus_rs::{Application, OpusDecoder, OpusEncoder};

/// The Opus RTP clock, whatever the rate decoded at (RFC 7587).
const RTP_CLOCK: u32 = 48_000;
/// A mixed frame is 20 ms: 50 of them a second.
const FRAMES_PER_SECOND: u32 = 50;
/// Most audio queued per participant before the oldest is dropped, in
/// frames (120 ms): a participant whose packets come in bursts is heard a
/// little late, but never more than 120 ms late.
const MAX_QUEUED_FRAMES: u32 = 6;
/// A participant not heard for this many frames (10 s) is forgotten, their
/// decoder with them.
const IDLE_FRAMES: u64 = 500;
/// The longest gap (in 48 kHz samples, 120 ms) filled by concealment when
/// packets are lost; beyond it the sender was silent (DTX) or restarted.
const MAX_CONCEALED: u32 = 5760;

/// Why a mixer could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MixerError {
    /// The Opus encoder refused the rate or channel count.
    #[error("Opus cannot encode {channels}-channel audio at {sample_rate} Hz: {reason}")]
    Encoder {
        /// The rate asked for.
        sample_rate: u32,
        /// The channels asked for.
        channels: u8,
        /// What the encoder said.
        reason: &'static str,
    },
}

struct Source {
    decoder: OpusDecoder,
    /// Interleaved samples, scaled ±1.0.
    queue: VecDeque<f32>,
    /// The packet expected next (sequence number, RTP timestamp).
    expected: Option<(u16, u32)>,
    heard_at_frame: u64,
}

/// Decodes participants' Opus and mixes them, one 20 ms frame at a time.
pub struct AudioMixer {
    sample_rate: u32,
    channels: usize,
    encoder: OpusEncoder,
    sources: HashMap<String, Source>,
    /// Frames mixed so far: the mixer's clock.
    frames: u64,
    /// Room for the longest packet decoded (120 ms), reused.
    decoded: Vec<f32>,
}

impl AudioMixer {
    /// A 48 kHz mixer with `channels` (1 or 2) channels, encoding at 48 kbit/s
    /// (mono) or 64 kbit/s (stereo) for music as well as speech.
    pub fn new(channels: u8) -> Result<Self, MixerError> {
        let bitrate = if channels == 2 { 64_000 } else { 48_000 };
        Self::with_rate(48_000, channels, bitrate)
    }

    /// A mixer at `sample_rate` (8, 12, 16, 24 or 48 kHz) with `channels`
    /// (1 or 2) channels, encoding at `bitrate_bps`.
    pub fn with_rate(sample_rate: u32, channels: u8, bitrate_bps: i32) -> Result<Self, MixerError> {
        let refused = |reason| MixerError::Encoder {
            sample_rate,
            channels,
            reason,
        };
        let rate = i32::try_from(sample_rate).map_err(|_| refused("rate out of range"))?;
        let mut encoder =
            OpusEncoder::new(rate, channels.into(), Application::Audio).map_err(refused)?;
        encoder.bitrate_bps = bitrate_bps;
        Ok(AudioMixer {
            sample_rate,
            channels: channels.into(),
            encoder,
            sources: HashMap::new(),
            frames: 0,
            decoded: vec![0f32; MAX_CONCEALED as usize * usize::from(channels)],
        })
    }

    /// Samples per channel in one 20 ms frame.
    pub fn frame_samples(&self) -> usize {
        (self.sample_rate / FRAMES_PER_SECOND) as usize
    }

    /// The participants being mixed.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(String::as_str)
    }

    /// Milliseconds of `source`'s audio waiting to be mixed.
    pub fn queued_ms(&self, source: &str) -> Option<u32> {
        let samples = self.sources.get(source)?.queue.len() / self.channels;
        Some(samples as u32 * 1000 / self.sample_rate)
    }

    /// Decodes one of `source`'s Opus packets (with its RTP sequence number
    /// and timestamp) into their queue. Lost packets are concealed;
    /// duplicates, late packets and undecodable ones are dropped.
    pub fn push(&mut self, source: &str, sequence_number: u16, timestamp: u32, opus: &[u8]) {
        if !self.sources.contains_key(source) {
            let Ok(rate) = i32::try_from(self.sample_rate) else {
                return;
            };
            match OpusDecoder::new(rate, self.channels) {
                Ok(decoder) => {
                    self.sources.insert(
                        source.to_owned(),
                        Source {
                            decoder,
                            queue: VecDeque::new(),
                            expected: None,
                            heard_at_frame: self.frames,
                        },
                    );
                }
                Err(error) => {
                    tracing::warn!(source, error, "no Opus decoder for a participant");
                    return;
                }
            }
        }
        let limit = self.frame_samples() * self.channels * MAX_QUEUED_FRAMES as usize;
        let Some(speaker) = self.sources.get_mut(source) else {
            return;
        };
        let per_rtp_tick = f64::from(self.sample_rate) / f64::from(RTP_CLOCK);
        let pcm = &mut self.decoded;

        if let Some((sequence, expected_timestamp)) = speaker.expected {
            let step = sequence_number.wrapping_sub(sequence);
            if step >= 0x8000 {
                tracing::debug!(
                    source,
                    sequence_number,
                    "duplicate or late Opus packet dropped"
                );
                return;
            }
            let missing = timestamp.wrapping_sub(expected_timestamp);
            if step > 0 && missing > 0 && missing <= MAX_CONCEALED {
                // Concealment works in whole 2.5 ms steps.
                let step_samples = (self.sample_rate / 400) as usize;
                let samples =
                    (f64::from(missing) * per_rtp_tick) as usize / step_samples * step_samples;
                if samples > 0 {
                    match speaker.decoder.decode(&[], samples, pcm) {
                        Ok(n) => speaker
                            .queue
                            .extend(&pcm[..(n * self.channels).min(pcm.len())]),
                        Err(error) => tracing::debug!(source, error, "Opus concealment failed"),
                    }
                }
            }
        }

        match speaker.decoder.decode(opus, pcm.len() / self.channels, pcm) {
            Ok(samples) => {
                speaker
                    .queue
                    .extend(&pcm[..(samples * self.channels).min(pcm.len())]);
                let rtp_ticks = (samples as f64 / per_rtp_tick) as u32;
                speaker.expected = Some((
                    sequence_number.wrapping_add(1),
                    timestamp.wrapping_add(rtp_ticks),
                ));
                speaker.heard_at_frame = self.frames;
            }
            Err(error) => {
                tracing::debug!(
                    source,
                    sequence_number,
                    error,
                    "undecodable Opus packet dropped"
                );
                return;
            }
        }
        let excess = speaker.queue.len().saturating_sub(limit);
        speaker.queue.drain(..excess);
    }

    /// Forgets `source` (they left) with their queued audio.
    pub fn remove(&mut self, source: &str) {
        self.sources.remove(source);
    }

    /// The next 20 ms, interleaved and scaled ±1.0: the sum of every
    /// participant's next 20 ms (silence for those with nothing queued),
    /// saturated at full scale.
    pub fn mix_frame(&mut self) -> Vec<f32> {
        let mut sum = vec![0f32; self.frame_samples() * self.channels];
        for speaker in self.sources.values_mut() {
            let take = speaker.queue.len().min(sum.len());
            for (slot, sample) in sum.iter_mut().zip(speaker.queue.drain(..take)) {
                *slot += sample;
            }
        }
        for sample in &mut sum {
            *sample = sample.clamp(-1.0, 1.0);
        }
        self.frames += 1;
        let now = self.frames;
        self.sources.retain(|source, speaker| {
            let idle = now - speaker.heard_at_frame < IDLE_FRAMES;
            if !idle {
                tracing::debug!(source, "participant silent for 10 s forgotten by the mixer");
            }
            idle
        });
        sum
    }

    /// The next 20 ms mixed ([`AudioMixer::mix_frame`]) and encoded as one
    /// Opus packet; called every 20 ms. Empty if the encoder failed (logged).
    pub fn next_packet(&mut self) -> Vec<u8> {
        let frame = self.mix_frame();
        let mut packet = vec![0u8; 1500];
        match self
            .encoder
            .encode(&frame, self.frame_samples(), &mut packet)
        {
            Ok(len) => {
                packet.truncate(len);
                packet
            }
            Err(error) => {
                tracing::warn!(error, "Opus could not encode the mixed audio");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f64 = 48_000.0;

    /// 20 ms Opus packets of a `hz` tone, mono, at amplitude 0.3.
    fn tone_packets(hz: f64, count: usize) -> Vec<Vec<u8>> {
        let mut encoder = OpusEncoder::new(48_000, 1, Application::Audio).expect("encoder");
        encoder.bitrate_bps = 64_000;
        (0..count)
            .map(|n| {
                let pcm: Vec<f32> = (0..960)
                    .map(|i| {
                        let t = (n * 960 + i) as f64 / RATE;
                        (0.3 * (2.0 * std::f64::consts::PI * hz * t).sin()) as f32
                    })
                    .collect();
                let mut out = vec![0u8; 1500];
                let len = encoder.encode(&pcm, 960, &mut out).expect("encoded");
                out.truncate(len);
                out
            })
            .collect()
    }

    /// The strength of `hz` in `samples` (Goertzel), normalised to the
    /// amplitude of a sine at that frequency.
    fn strength(samples: &[f32], hz: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * hz / RATE;
        let (mut s1, mut s2) = (0.0, 0.0);
        for x in samples {
            let s = f64::from(*x) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
        2.0 * power.sqrt() / samples.len() as f64
    }

    /// Mixes `count` frames of each source's packets, one packet each per
    /// frame, and returns the mixed PCM after the first 100 ms (the
    /// codec's start-up).
    fn mixed(mixer: &mut AudioMixer, sources: &[(&str, &[Vec<u8>])], count: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for n in 0..count {
            for (source, packets) in sources {
                mixer.push(source, n as u16, n as u32 * 960, &packets[n]);
            }
            let frame = mixer.mix_frame();
            if n >= 5 {
                out.extend(frame);
            }
        }
        out
    }

    #[test]
    fn two_tones_are_both_heard_in_the_mix() {
        let low = tone_packets(440.0, 30);
        let high = tone_packets(880.0, 30);
        let mut mixer = AudioMixer::new(1).expect("mixer");
        let both = mixed(&mut mixer, &[("ann", &low), ("bob", &high)], 30);
        assert!(
            strength(&both, 440.0) > 0.2,
            "440 Hz: {}",
            strength(&both, 440.0)
        );
        assert!(
            strength(&both, 880.0) > 0.2,
            "880 Hz: {}",
            strength(&both, 880.0)
        );
        assert!(
            strength(&both, 660.0) < 0.05,
            "660 Hz: {}",
            strength(&both, 660.0)
        );

        let mut mixer = AudioMixer::new(1).expect("mixer");
        let alone = mixed(&mut mixer, &[("ann", &low)], 30);
        assert!(strength(&alone, 440.0) > 0.2);
        assert!(strength(&alone, 880.0) < 0.05, "no 880 Hz without bob");
    }

    #[test]
    fn loud_sources_saturate_instead_of_wrapping() {
        let mut mixer = AudioMixer::new(1).expect("mixer");
        let loud = tone_packets(440.0, 10);
        for name in ["a", "b", "c", "d", "e"] {
            for (n, packet) in loud.iter().enumerate() {
                mixer.push(name, n as u16, n as u32 * 960, packet);
            }
        }
        let mut peak = 0f32;
        for _ in 0..6 {
            peak = mixer.mix_frame().iter().fold(peak, |p, x| p.max(x.abs()));
        }
        assert_eq!(
            peak, 1.0,
            "five tones at 0.3 reach full scale and stop there"
        );
    }

    #[test]
    fn the_mixed_packets_are_20_ms_opus_that_decodes_to_the_tones() {
        let low = tone_packets(440.0, 30);
        let high = tone_packets(880.0, 30);
        let mut mixer = AudioMixer::new(2).expect("mixer");
        let mut decoder = OpusDecoder::new(48_000, 1).expect("decoder");
        let mut decoded = Vec::new();
        for n in 0..30 {
            mixer.push("ann", n as u16, n as u32 * 960, &low[n]);
            mixer.push("bob", n as u16, n as u32 * 960, &high[n]);
            let packet = mixer.next_packet();
            assert_eq!(crate::webm::opus_packet_samples(&packet), Some(960));
            let mut pcm = vec![0f32; 960];
            let samples = decoder.decode(&packet, 960, &mut pcm).expect("decodes");
            assert_eq!(samples, 960);
            if n >= 10 {
                decoded.extend(pcm);
            }
        }
        assert!(
            strength(&decoded, 440.0) > 0.15,
            "440 Hz: {}",
            strength(&decoded, 440.0)
        );
        assert!(
            strength(&decoded, 880.0) > 0.15,
            "880 Hz: {}",
            strength(&decoded, 880.0)
        );
    }

    #[test]
    fn a_queue_holds_at_most_120_ms() {
        let mut mixer = AudioMixer::new(1).expect("mixer");
        for (n, packet) in tone_packets(440.0, 10).iter().enumerate() {
            mixer.push("ann", n as u16, n as u32 * 960, packet);
        }
        assert_eq!(mixer.queued_ms("ann"), Some(120));
    }

    #[test]
    fn lost_packets_are_concealed_and_late_ones_dropped() {
        let packets = tone_packets(440.0, 4);
        let mut mixer = AudioMixer::new(1).expect("mixer");
        mixer.push("ann", 0, 0, &packets[0]);
        // Packet 1 is lost: its 20 ms are concealed before packet 2.
        mixer.push("ann", 2, 2 * 960, &packets[2]);
        assert_eq!(mixer.queued_ms("ann"), Some(60));
        // Packet 1 arriving late, or packet 2 again, is dropped.
        mixer.push("ann", 1, 960, &packets[1]);
        mixer.push("ann", 2, 2 * 960, &packets[2]);
        assert_eq!(mixer.queued_ms("ann"), Some(60));
        // Garbage is dropped without harm.
        mixer.push("ann", 3, 3 * 960, &[0xff; 3]);
        mixer.push("ann", 3, 3 * 960, &packets[3]);
        assert_eq!(mixer.queued_ms("ann"), Some(80));
    }

    #[test]
    fn silent_participants_are_forgotten_after_10_s_and_removed_ones_at_once() {
        let packets = tone_packets(440.0, 1);
        let mut mixer = AudioMixer::new(1).expect("mixer");
        mixer.push("ann", 0, 0, &packets[0]);
        mixer.push("bob", 0, 0, &packets[0]);
        mixer.remove("bob");
        assert_eq!(mixer.sources().collect::<Vec<_>>(), ["ann"]);
        for _ in 0..499 {
            mixer.mix_frame();
        }
        assert_eq!(mixer.sources().count(), 1);
        mixer.mix_frame();
        assert_eq!(mixer.sources().count(), 0);
    }
}
