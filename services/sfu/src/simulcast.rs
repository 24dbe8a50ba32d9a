//! Simulcast and subscriptions: which of a publisher's video layers one
//! subscriber gets, and the VP8 rewriting that makes a switch between layers look
//! like one continuous stream to the subscriber's decoder.
//!
//! A browser publishing simulcast sends up to three encodings of its camera,
//! named by RID: `q` (quarter), `h` (half) and `f` (full). Each subscriber asks
//! for a [`VideoQuality`] per publisher; the [`LayerSelector`] of that
//! subscriber's down track forwards the best layer at or below it that is
//! arriving, and moves between layers only at a keyframe of the new one. The
//! subscriber's downlink may hold it lower, or pause the video
//! ([`Allowance`], decided by the `bandwidth` module).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use crate::control::VideoSubscriptions;

/// Simulcast layers the SFU tells apart (0 = lowest).
pub const LAYERS: usize = 3;

/// The most of its video one track may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// As much as the subscriber wants.
    Unlimited,
    /// Layers up to this one.
    UpTo(u8),
    /// No video: not even the lowest layer fits.
    Paused,
}

impl Allowance {
    /// The highest layer to forward, given the highest one wanted.
    pub fn limit(self, wanted: Option<u8>) -> Option<u8> {
        match self {
            Self::Unlimited => wanted,
            Self::UpTo(layer) => wanted.map(|w| w.min(layer)),
            Self::Paused => None,
        }
    }
}

/// A layer that sent nothing for this long counts as stopped (the publisher's
/// bandwidth estimate dropped it, or it never started).
pub const LAYER_TIMEOUT: Duration = Duration::from_secs(1);

/// The layer index of a simulcast RID: `q`, `h`, `f` as browsers and LiveKit name
/// them, or the digits `0`, `1`, `2`. Anything else counts as the full layer.
pub fn layer_of_rid(rid: &str) -> u8 {
    match rid {
        "q" | "0" => 0,
        "h" | "1" => 1,
        _ => 2,
    }
}

/// What to do with one packet of a video track, for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Not for this subscriber (another layer, or video off).
    Drop,
    /// Drop it, and ask the publisher for a keyframe of this layer: the subscriber
    /// waits for one to start or to switch.
    WantKeyframe(u8),
    /// Forward it, on the layer already being forwarded.
    Forward,
    /// Forward it: a keyframe of the layer to switch to (or to start with). Sequence
    /// numbers and timestamps must be rebased from here.
    Switch,
}

/// Chooses, for one subscriber's copy of one video track, which layer to forward.
#[derive(Debug, Clone)]
pub struct LayerSelector {
    /// Highest layer wanted; `None` when the subscriber has the video off.
    max_layer: Option<u8>,
    /// How much of it the subscriber's downlink carries.
    allowance: Allowance,
    /// The layer being forwarded; `None` before the first keyframe (or after a pause).
    current: Option<u8>,
    /// When each layer last had a packet.
    seen: [Option<Instant>; LAYERS],
}

impl LayerSelector {
    /// A selector wanting up to `max_layer`, forwarding nothing yet.
    pub fn new(max_layer: Option<u8>) -> Self {
        Self {
            max_layer,
            allowance: Allowance::Unlimited,
            current: None,
            seen: [None; LAYERS],
        }
    }

    /// The highest layer wanted.
    pub fn wanted(&self) -> Option<u8> {
        self.max_layer
    }

    /// Limits the layers to what the subscriber's downlink carries. A limit
    /// below the current layer (or a pause) stops it at once, not at the lower
    /// layer's keyframe: a link that cannot carry it would lose packets, and the
    /// congestion controller would read that loss as an even narrower link. The
    /// picture holds until the keyframe.
    pub fn set_allowance(&mut self, allowance: Allowance) {
        self.allowance = allowance;
        let over = match (allowance, self.current) {
            (Allowance::Paused, _) => true,
            (Allowance::UpTo(limit), Some(current)) => current > limit,
            _ => false,
        };
        if over {
            self.current = None;
        }
    }

    /// The current limit.
    pub fn allowance(&self) -> Allowance {
        self.allowance
    }

    /// Changes the highest wanted layer. Turning video off forgets the current
    /// layer, so turning it back on starts at a keyframe.
    pub fn set_max_layer(&mut self, max_layer: Option<u8>) {
        self.max_layer = max_layer;
        if max_layer.is_none() {
            self.current = None;
        }
    }

    /// Forget the current layer: the next packet forwarded is a keyframe.
    pub fn restart(&mut self) {
        self.current = None;
    }

    /// The layer being forwarded.
    pub fn current(&self) -> Option<u8> {
        self.current
    }

    /// The layer this subscriber should get now: the highest arriving one at or
    /// below the wanted one, else the lowest arriving one above it; then the
    /// highest arriving one the allowance leaves of that.
    pub fn desired(&self, now: Instant) -> Option<u8> {
        let max = self.max_layer?.min(LAYERS as u8 - 1);
        let live = |layer: &u8| {
            self.seen[*layer as usize]
                .is_some_and(|at| now.saturating_duration_since(at) < LAYER_TIMEOUT)
        };
        let best = (0..=max)
            .rev()
            .find(live)
            .or_else(|| (max + 1..LAYERS as u8).find(live))?;
        match self.allowance {
            Allowance::Unlimited => Some(best),
            Allowance::UpTo(limit) => (0..=limit.min(best)).rev().find(live),
            Allowance::Paused => None,
        }
    }

    /// Decides about one packet of `layer` (0 for a track without simulcast).
    pub fn on_packet(&mut self, layer: u8, keyframe: bool, now: Instant) -> Decision {
        let layer = layer.min(LAYERS as u8 - 1);
        self.seen[layer as usize] = Some(now);
        let Some(desired) = self.desired(now) else {
            return Decision::Drop;
        };
        if self.current == Some(layer) {
            // Keep the current layer flowing until the desired one has a keyframe.
            return Decision::Forward;
        }
        if layer != desired {
            return Decision::Drop;
        }
        if keyframe {
            self.current = Some(layer);
            Decision::Switch
        } else {
            Decision::WantKeyframe(layer)
        }
    }
}

/// A subscriber's video subscriptions, shared between the control side (which
/// replaces them) and the subscriber's peer task (which polls the version on
/// its hot path and re-reads only when it changed).
#[derive(Debug, Default)]
pub struct SubscriptionCell {
    version: AtomicU64,
    value: Mutex<Arc<VideoSubscriptions>>,
}

impl SubscriptionCell {
    /// Replaces the subscriptions.
    pub fn set(&self, subscriptions: VideoSubscriptions) {
        *self.value.lock() = Arc::new(subscriptions);
        self.version.fetch_add(1, Ordering::Release);
    }

    /// The current version, cheap enough for every packet.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// The current subscriptions.
    pub fn get(&self) -> Arc<VideoSubscriptions> {
        Arc::clone(&self.value.lock())
    }
}

/// Where the picture id and TL0PICIDX sit in a VP8 payload descriptor (RFC 7741).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Ids {
    /// The picture id: 15 bits (M set) or 7 bits.
    pub picture_id: Option<u16>,
    /// Whether the picture id is 15 bits.
    long_picture_id: bool,
    /// TL0PICIDX.
    pub tl0_pic_idx: Option<u8>,
}

impl Vp8Ids {
    /// Reads the ids of a VP8 payload; `None` for a descriptor too short to hold
    /// what its flags announce.
    pub fn read(payload: &[u8]) -> Option<Self> {
        let mut ids = Self {
            picture_id: None,
            long_picture_id: false,
            tl0_pic_idx: None,
        };
        let first = *payload.first()?;
        if first & 0x80 == 0 {
            return Some(ids);
        }
        let ext = *payload.get(1)?;
        let mut offset = 2;
        if ext & 0x80 != 0 {
            let high = *payload.get(offset)?;
            if high & 0x80 != 0 {
                let low = *payload.get(offset + 1)?;
                ids.picture_id = Some((u16::from(high & 0x7f) << 8) | u16::from(low));
                ids.long_picture_id = true;
                offset += 2;
            } else {
                ids.picture_id = Some(u16::from(high));
                offset += 1;
            }
        }
        if ext & 0x40 != 0 {
            ids.tl0_pic_idx = Some(*payload.get(offset)?);
        }
        Some(ids)
    }

    fn picture_id_modulus(&self) -> u16 {
        if self.long_picture_id { 0x8000 } else { 0x80 }
    }

    /// Writes `picture_id` and `tl0_pic_idx` into `payload`, in the places (and
    /// widths) this descriptor has them; values wrap to those widths.
    pub fn write(&self, payload: &mut [u8], picture_id: u16, tl0_pic_idx: u8) {
        let mut offset = 2;
        if self.picture_id.is_some() {
            let picture_id = picture_id % self.picture_id_modulus();
            if self.long_picture_id {
                payload[offset] = 0x80 | (picture_id >> 8) as u8;
                payload[offset + 1] = picture_id as u8;
                offset += 2;
            } else {
                payload[offset] = picture_id as u8;
                offset += 1;
            }
        }
        if self.tl0_pic_idx.is_some() {
            payload[offset] = tl0_pic_idx;
        }
    }
}

/// Keeps VP8 picture ids and TL0PICIDX continuous for one subscriber across
/// layer switches: each layer numbers its pictures on its own, and a decoder
/// that sees the ids jump back drops frames as stale.
#[derive(Debug, Clone, Default)]
pub struct Vp8Munger {
    picture_id_offset: u16,
    tl0_offset: u8,
    last_picture_id: Option<u16>,
    last_tl0: Option<u8>,
}

impl Vp8Munger {
    /// At a switch: the next picture continues right after the last one sent.
    pub fn rebase(&mut self, payload: &[u8]) {
        let Some(ids) = Vp8Ids::read(payload) else {
            return;
        };
        if let (Some(incoming), Some(last)) = (ids.picture_id, self.last_picture_id) {
            let modulus = ids.picture_id_modulus();
            let next = (last + 1) % modulus;
            self.picture_id_offset = (incoming + modulus - next) % modulus;
        }
        if let (Some(incoming), Some(last)) = (ids.tl0_pic_idx, self.last_tl0) {
            self.tl0_offset = incoming.wrapping_sub(last.wrapping_add(1));
        }
    }

    /// Rewrites the ids of one forwarded packet; returns the payload to send.
    pub fn rewrite(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        let ids = Vp8Ids::read(payload)?;
        if ids.picture_id.is_none() && ids.tl0_pic_idx.is_none() {
            return None;
        }
        let modulus = ids.picture_id_modulus();
        let picture_id = ids
            .picture_id
            .map(|p| (p + modulus - self.picture_id_offset % modulus) % modulus);
        let tl0 = ids.tl0_pic_idx.map(|t| t.wrapping_sub(self.tl0_offset));
        self.last_picture_id = picture_id.or(self.last_picture_id);
        self.last_tl0 = tl0.or(self.last_tl0);
        let mut out = payload.to_vec();
        ids.write(&mut out, picture_id.unwrap_or(0), tl0.unwrap_or(0));
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rids_map_to_layers() {
        assert_eq!(layer_of_rid("q"), 0);
        assert_eq!(layer_of_rid("h"), 1);
        assert_eq!(layer_of_rid("f"), 2);
        assert_eq!(layer_of_rid("2"), 2);
    }

    #[test]
    fn starts_on_a_keyframe_of_the_best_layer_at_or_below_the_wanted_one() {
        let now = Instant::now();
        let mut selector = LayerSelector::new(Some(1));
        // Only the full layer has arrived so far: it is the lowest above the wish.
        assert_eq!(selector.on_packet(2, false, now), Decision::WantKeyframe(2));
        // The half layer appears: now that is the one to start with.
        assert_eq!(selector.on_packet(1, false, now), Decision::WantKeyframe(1));
        assert_eq!(selector.on_packet(2, true, now), Decision::Drop);
        assert_eq!(selector.on_packet(0, true, now), Decision::Drop);
        assert_eq!(selector.on_packet(1, true, now), Decision::Switch);
        assert_eq!(selector.on_packet(1, false, now), Decision::Forward);
        assert_eq!(selector.current(), Some(1));
    }

    #[test]
    fn switches_only_at_a_keyframe_and_keeps_the_old_layer_until_then() {
        let now = Instant::now();
        let mut selector = LayerSelector::new(Some(2));
        for layer in 0..3 {
            selector.on_packet(layer, false, now);
        }
        assert_eq!(selector.on_packet(2, true, now), Decision::Switch);
        selector.set_max_layer(Some(0));
        assert_eq!(selector.on_packet(2, false, now), Decision::Forward);
        assert_eq!(selector.on_packet(0, false, now), Decision::WantKeyframe(0));
        assert_eq!(selector.on_packet(0, true, now), Decision::Switch);
        assert_eq!(selector.on_packet(2, false, now), Decision::Drop);
        assert_eq!(selector.on_packet(0, false, now), Decision::Forward);
    }

    #[test]
    fn off_drops_everything_and_on_again_waits_for_a_keyframe() {
        let now = Instant::now();
        let mut selector = LayerSelector::new(Some(2));
        assert_eq!(selector.on_packet(0, true, now), Decision::Switch);
        selector.set_max_layer(None);
        assert_eq!(selector.on_packet(0, true, now), Decision::Drop);
        assert_eq!(selector.current(), None);
        selector.set_max_layer(Some(2));
        assert_eq!(selector.on_packet(0, false, now), Decision::WantKeyframe(0));
        assert_eq!(selector.on_packet(0, true, now), Decision::Switch);
    }

    #[test]
    fn a_layer_that_stops_is_replaced_by_the_next_best() {
        let start = Instant::now();
        let mut selector = LayerSelector::new(Some(2));
        selector.on_packet(1, false, start);
        assert_eq!(selector.on_packet(2, true, start), Decision::Switch);
        let later = start + LAYER_TIMEOUT * 2;
        // The full layer went quiet; the half layer keeps coming.
        assert_eq!(selector.desired(later), None);
        assert_eq!(
            selector.on_packet(1, false, later),
            Decision::WantKeyframe(1)
        );
        assert_eq!(selector.on_packet(1, true, later), Decision::Switch);
    }

    #[test]
    fn the_downlink_holds_the_layer_lower_and_can_pause_it() {
        let now = Instant::now();
        let mut selector = LayerSelector::new(Some(2));
        for layer in 0..3 {
            selector.on_packet(layer, false, now);
        }
        assert_eq!(selector.on_packet(2, true, now), Decision::Switch);
        // Down to the half layer: the full one stops at once.
        selector.set_allowance(Allowance::UpTo(1));
        assert_eq!(selector.on_packet(2, false, now), Decision::Drop);
        assert_eq!(selector.on_packet(1, false, now), Decision::WantKeyframe(1));
        assert_eq!(selector.on_packet(1, true, now), Decision::Switch);
        assert_eq!(selector.on_packet(2, true, now), Decision::Drop);
        // Paused: nothing at all, at once.
        selector.set_allowance(Allowance::Paused);
        assert_eq!(selector.on_packet(1, true, now), Decision::Drop);
        assert_eq!(selector.current(), None);
        // Unlimited again: back to the full layer, from its keyframe.
        selector.set_allowance(Allowance::Unlimited);
        assert_eq!(selector.on_packet(2, false, now), Decision::WantKeyframe(2));
        assert_eq!(selector.on_packet(2, true, now), Decision::Switch);
        // A limit below every arriving layer pauses too.
        let mut only_full = LayerSelector::new(Some(2));
        only_full.set_allowance(Allowance::UpTo(1));
        assert_eq!(only_full.on_packet(2, true, now), Decision::Drop);
    }

    fn vp8(picture_id: u16, tl0: u8) -> Vec<u8> {
        // X set; I and L set; 15-bit picture id; TL0PICIDX; then a frame tag byte.
        vec![
            0x90,
            0xc0,
            0x80 | (picture_id >> 8) as u8,
            picture_id as u8,
            tl0,
            0x00,
        ]
    }

    #[test]
    fn vp8_ids_continue_across_a_switch() {
        let mut munger = Vp8Munger::default();
        let out = munger.rewrite(&vp8(100, 7)).expect("ids");
        assert_eq!(Vp8Ids::read(&out).unwrap().picture_id, Some(100));
        // Switch to a layer numbering its pictures from 30000 (and wrapping).
        munger.rebase(&vp8(32767, 200));
        let out = munger.rewrite(&vp8(32767, 200)).expect("ids");
        let ids = Vp8Ids::read(&out).unwrap();
        assert_eq!(ids.picture_id, Some(101));
        assert_eq!(ids.tl0_pic_idx, Some(8));
        let out = munger.rewrite(&vp8(0, 201)).expect("ids");
        let ids = Vp8Ids::read(&out).unwrap();
        assert_eq!(ids.picture_id, Some(102), "wraps at 15 bits");
        assert_eq!(ids.tl0_pic_idx, Some(9));
        assert_eq!(&out[5..], &[0x00], "the rest of the payload is untouched");
    }

    #[test]
    fn truncated_vp8_descriptors_are_left_alone() {
        let mut munger = Vp8Munger::default();
        assert_eq!(Vp8Ids::read(&[0x90, 0xc0, 0x80]), None);
        assert_eq!(munger.rewrite(&[0x90, 0xc0, 0x80]), None);
        assert_eq!(munger.rewrite(&[0x10, 0x00]), None, "no ids to rewrite");
    }
}
