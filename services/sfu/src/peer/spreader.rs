//! A published track's down tracks, and the spreading of its packets to them
//! (LiveKit's `DownTrackSpreader`): the publisher PC's task walks this list
//! for every packet, with no lock and no lookup of who is in the room.

use std::sync::Arc;

use tokio::sync::mpsc::error::TrySendError;

use crate::forwarding::ForwardedPacket;
use crate::mailbox::{DownTrackHandle, PeerInput};

/// The subscriber PCs one published track is sent to.
#[derive(Default)]
pub(super) struct DownTrackSpreader {
    down_tracks: Vec<DownTrackHandle>,
}

impl DownTrackSpreader {
    /// Sends the track to `down` too, instead of to any earlier subscriber PC of
    /// the same participant.
    pub(super) fn add(&mut self, down: DownTrackHandle) {
        self.down_tracks
            .retain(|d| d.subscriber != down.subscriber && !d.same_peer(&down));
        self.down_tracks.push(down);
    }

    /// Stops sending the track to `down`'s subscriber PC.
    pub(super) fn remove(&mut self, down: &DownTrackHandle) {
        self.down_tracks.retain(|d| !d.same_peer(down));
    }

    /// Whether nobody is subscribed.
    pub(super) fn is_empty(&self) -> bool {
        self.down_tracks.is_empty()
    }

    /// Hands `packet` to every down track. A full inbox drops it, as the network
    /// would; a subscriber PC that has closed is forgotten.
    pub(super) fn spread(&mut self, packet: ForwardedPacket) {
        if self.down_tracks.is_empty() {
            return;
        }
        let packet = Arc::new(packet);
        self.down_tracks.retain(|down| {
            !matches!(
                down.inbox.try_send(PeerInput::Forward(Arc::clone(&packet))),
                Err(TrySendError::Closed(_))
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::sync::mpsc;

    use super::*;
    use crate::forwarding::TrackKey;

    fn down(subscriber: &str) -> (DownTrackHandle, mpsc::Receiver<PeerInput>) {
        let (inbox, received) = mpsc::channel(8);
        let down = DownTrackHandle {
            subscriber: subscriber.into(),
            inbox,
        };
        (down, received)
    }

    fn packet(sequence_number: u16) -> ForwardedPacket {
        let mut packet = rtc::rtp::Packet::default();
        packet.header.sequence_number = sequence_number;
        ForwardedPacket {
            track: Arc::new(TrackKey {
                publisher: "alice".into(),
                track_id: "camera".into(),
            }),
            layer: None,
            generation: 0,
            packet,
            received_at: Instant::now(),
        }
    }

    fn sequence_numbers(received: &mut mpsc::Receiver<PeerInput>) -> Vec<u16> {
        let mut numbers = Vec::new();
        while let Ok(input) = received.try_recv() {
            if let PeerInput::Forward(packet) = input {
                numbers.push(packet.packet.header.sequence_number);
            }
        }
        numbers
    }

    #[test]
    fn packets_reach_exactly_the_subscribed_down_tracks() {
        let mut spreader = DownTrackSpreader::default();
        let (bob, mut to_bob) = down("bob");
        let (carol, mut to_carol) = down("carol");
        spreader.add(bob.clone());
        spreader.add(carol);
        spreader.spread(packet(1));
        spreader.remove(&bob);
        spreader.spread(packet(2));
        assert_eq!(sequence_numbers(&mut to_bob), vec![1]);
        assert_eq!(sequence_numbers(&mut to_carol), vec![1, 2]);
    }

    #[test]
    fn a_new_subscriber_pc_replaces_the_old_one_and_closed_ones_are_forgotten() {
        let mut spreader = DownTrackSpreader::default();
        let (old, mut to_old) = down("bob");
        let (new, mut to_new) = down("bob");
        spreader.add(old);
        spreader.add(new);
        spreader.spread(packet(1));
        assert_eq!(sequence_numbers(&mut to_old), Vec::<u16>::new());
        assert_eq!(sequence_numbers(&mut to_new), vec![1]);
        drop(to_old);
        drop(to_new);
        spreader.spread(packet(2));
        assert!(spreader.is_empty());
    }
}
