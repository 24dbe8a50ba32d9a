//! Active-speaker detection from the RTP audio-level header extension
//! (`urn:ietf:params:rtp-hdrext:ssrc-audio-level`, RFC 6464).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The audio-level header extension URI negotiated with publishers.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// A level older than this no longer counts: the publisher stopped sending.
const STALE_AFTER: Duration = Duration::from_millis(1000);
/// Smoothed loudness (127 minus -dBov) below which nobody is considered speaking.
const SPEAKING_THRESHOLD: f32 = 30.0;
/// Weight of a new sample in the exponential moving average (about 200 ms at 50 pkt/s).
const SMOOTHING: f32 = 0.1;

#[derive(Debug, Clone, Copy)]
struct Loudness {
    smoothed: f32,
    updated: Instant,
}

/// Smoothed loudness per publisher of one room.
#[derive(Debug, Default)]
pub struct SpeakerDetector {
    loudness: HashMap<String, Loudness>,
}

impl SpeakerDetector {
    /// Records one audio-level sample (`level` in -dBov, 0 loudest .. 127 silence).
    pub fn observe(&mut self, participant: &str, level: u8, at: Instant) {
        let sample = f32::from(127u8.saturating_sub(level.min(127)));
        match self.loudness.get_mut(participant) {
            Some(loudness) => {
                loudness.smoothed += SMOOTHING * (sample - loudness.smoothed);
                loudness.updated = at;
            }
            None => {
                self.loudness.insert(
                    participant.to_owned(),
                    Loudness {
                        smoothed: sample,
                        updated: at,
                    },
                );
            }
        }
    }

    /// Forgets a participant (left, or muted).
    pub fn forget(&mut self, participant: &str) {
        self.loudness.remove(participant);
    }

    /// The loudest participant for whom `is_unmuted` holds, if anyone is above the
    /// speaking threshold with a fresh level.
    pub fn loudest(&self, now: Instant, is_unmuted: impl Fn(&str) -> bool) -> Option<String> {
        self.loudness
            .iter()
            .filter(|(_, l)| now.saturating_duration_since(l.updated) < STALE_AFTER)
            .filter(|(_, l)| l.smoothed >= SPEAKING_THRESHOLD)
            .filter(|(p, _)| is_unmuted(p))
            .max_by(|a, b| a.1.smoothed.total_cmp(&b.1.smoothed))
            .map(|(p, _)| p.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loudest_unmuted_fresh_publisher_wins() {
        let now = Instant::now();
        let mut detector = SpeakerDetector::default();
        for _ in 0..50 {
            detector.observe("quiet", 90, now);
            detector.observe("loud", 20, now);
            detector.observe("silent", 127, now);
        }
        assert_eq!(detector.loudest(now, |_| true).as_deref(), Some("loud"));
        assert_eq!(
            detector.loudest(now, |p| p != "loud").as_deref(),
            Some("quiet")
        );
        assert_eq!(
            detector.loudest(now + Duration::from_secs(2), |_| true),
            None
        );
    }
}
