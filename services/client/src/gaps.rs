//! How long media stopped: [`MediaGaps`] samples received tracks and keeps,
//! for each, the longest stretch in which no packet arrived. Benchmarks and
//! tests of media moving between SFU nodes read it (a track's counters go
//! on across a media restart, see [`crate::media::Subscriber`]).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::media::ReceivedTrack;

/// How often the tracks are looked at: the resolution of the figures.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// The longest silence of one track, once measured.
#[derive(Debug, Clone)]
pub struct TrackGap {
    /// The publishing participant's id.
    pub stream_id: String,
    /// The track id.
    pub track_id: String,
    /// The longest time without a packet while watched.
    pub longest: Duration,
    /// Packets received while watched.
    pub packets: u64,
}

struct Watched {
    track: Arc<ReceivedTrack>,
    packets: u64,
    changed: Instant,
    first_packets: u64,
    longest: Duration,
}

/// Watches tracks until [`MediaGaps::stop`].
pub struct MediaGaps {
    watched: Arc<Mutex<Vec<Watched>>>,
    task: tokio::task::JoinHandle<()>,
}

impl MediaGaps {
    /// Starts watching `tracks`; each one's silence is counted from now.
    pub fn watch(tracks: Vec<Arc<ReceivedTrack>>) -> MediaGaps {
        let now = Instant::now();
        let watched = Arc::new(Mutex::new(
            tracks
                .into_iter()
                .map(|track| Watched {
                    packets: track.packets(),
                    first_packets: track.packets(),
                    track,
                    changed: now,
                    longest: Duration::ZERO,
                })
                .collect::<Vec<_>>(),
        ));
        let task = tokio::spawn({
            let watched = Arc::clone(&watched);
            async move {
                let mut every = tokio::time::interval(SAMPLE_EVERY);
                loop {
                    every.tick().await;
                    sample(&mut watched.lock(), Instant::now());
                }
            }
        });
        MediaGaps { watched, task }
    }

    /// Stops watching; the longest silence of each track, in the order given.
    pub fn stop(self) -> Vec<TrackGap> {
        self.task.abort();
        let mut watched = self.watched.lock();
        sample(&mut watched, Instant::now());
        watched
            .iter()
            .map(|w| TrackGap {
                stream_id: w.track.stream_id.clone(),
                track_id: w.track.track_id.clone(),
                longest: w.longest,
                packets: w.packets - w.first_packets,
            })
            .collect()
    }
}

fn sample(watched: &mut [Watched], now: Instant) {
    for w in watched {
        let packets = w.track.packets();
        if packets != w.packets {
            w.packets = packets;
            w.changed = now;
        }
        w.longest = w.longest.max(now.duration_since(w.changed));
    }
}
