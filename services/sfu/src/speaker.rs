//! Active-speaker detection from the RTP audio-level header extension
//! (`urn:ietf:params:rtp-hdrext:ssrc-audio-level`, RFC 6464).
//!
//! Each publisher PC smooths its own audio levels into an [`AudioLevel`]
//! (atomics, one writer, no lock on the media path); the room reads them a few
//! times a second and picks the [`loudest`].

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The audio-level header extension URI negotiated with publishers.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// A level older than this no longer counts: the publisher stopped sending.
const STALE_AFTER: Duration = Duration::from_millis(1000);
/// Smoothed loudness (127 minus -dBov) below which nobody is considered speaking.
const SPEAKING_THRESHOLD: f32 = 30.0;
/// Weight of a new sample in the exponential moving average (about 200 ms at 50 pkt/s).
const SMOOTHING: f32 = 0.1;

/// One publisher's smoothed loudness. Written by one task (the publisher PC's),
/// read by anyone.
#[derive(Debug)]
pub struct AudioLevel {
    /// Where `updated` counts from.
    epoch: Instant,
    /// The smoothed loudness, as `f32` bits.
    smoothed: AtomicU32,
    /// Microseconds from `epoch` to the last sample, plus one; 0 before the first.
    updated: AtomicU64,
}

impl Default for AudioLevel {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            smoothed: AtomicU32::new(0),
            updated: AtomicU64::new(0),
        }
    }
}

impl AudioLevel {
    /// Records one audio-level sample (`level` in -dBov, 0 loudest .. 127 silence).
    /// Only one task may call this: the average is read, updated and stored.
    pub fn observe(&self, level: u8, at: Instant) {
        let sample = f32::from(127u8.saturating_sub(level.min(127)));
        let smoothed = match self.updated.load(Ordering::Relaxed) {
            0 => sample,
            _ => {
                let previous = f32::from_bits(self.smoothed.load(Ordering::Relaxed));
                previous + SMOOTHING * (sample - previous)
            }
        };
        self.smoothed.store(smoothed.to_bits(), Ordering::Relaxed);
        let micros = at.saturating_duration_since(self.epoch).as_micros() as u64;
        self.updated.store(micros + 1, Ordering::Release);
    }

    /// The smoothed loudness, if a sample came within the last second before `now`.
    pub fn loudness(&self, now: Instant) -> Option<f32> {
        let updated = self.updated.load(Ordering::Acquire).checked_sub(1)?;
        let at = self.epoch + Duration::from_micros(updated);
        (now.saturating_duration_since(at) < STALE_AFTER)
            .then(|| f32::from_bits(self.smoothed.load(Ordering::Relaxed)))
    }
}

/// The loudest of `candidates` (a name and its current loudness), if anyone is
/// loud enough to be speaking.
pub fn loudest<'a>(
    candidates: impl IntoIterator<Item = (&'a str, Option<f32>)>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter_map(|(name, loudness)| Some((name, loudness?)))
        .filter(|(_, loudness)| *loudness >= SPEAKING_THRESHOLD)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loudest_fresh_publisher_wins() {
        let now = Instant::now();
        let (quiet, loud, silent) = (
            AudioLevel::default(),
            AudioLevel::default(),
            AudioLevel::default(),
        );
        for _ in 0..50 {
            quiet.observe(90, now);
            loud.observe(20, now);
            silent.observe(127, now);
        }
        let levels = |at: Instant| {
            [
                ("quiet", quiet.loudness(at)),
                ("loud", loud.loudness(at)),
                ("silent", silent.loudness(at)),
                ("never", AudioLevel::default().loudness(at)),
            ]
        };
        assert_eq!(loudest(levels(now)), Some("loud"));
        assert_eq!(
            loudest(levels(now).into_iter().filter(|(p, _)| *p != "loud")),
            Some("quiet")
        );
        assert_eq!(loudest(levels(now + Duration::from_secs(2))), None);
    }

    #[test]
    fn the_level_is_smoothed() {
        let now = Instant::now();
        let level = AudioLevel::default();
        level.observe(127, now);
        assert_eq!(level.loudness(now), Some(0.0));
        level.observe(27, now);
        let smoothed = level.loudness(now).expect("fresh");
        assert!((smoothed - 10.0).abs() < 1e-4, "{smoothed}");
    }
}
