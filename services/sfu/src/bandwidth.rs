//! A subscriber's downlink: the send-side estimate of what it carries, and how
//! that is shared among the video tracks sent to it.
//!
//! The estimate comes from transport-wide congestion control: each packet sent to
//! the subscriber carries a transport-wide sequence number, the subscriber reports
//! when each arrived, and [`DownlinkEstimator`] turns those reports into bits per
//! second: Google Congestion Control (`rtc`'s [`Gcc`], delay- and loss-based),
//! never below what the reports show was delivered
//! ([`crate::feedback::FeedbackToApplication`] hands it to the subscriber's task).
//!
//! [`allocate`] is the decision, a pure function: audio is kept whole (its rate
//! is taken off the estimate first), every video track gets its lowest arriving
//! layer if the rest of the budget carries it (a track it does not is paused,
//! so video gives way before audio suffers), then tracks are raised a layer at a
//! time, the one wanting the most first, while the budget lasts. A pause waits
//! until the downlink has been too narrow for [`PAUSE_AFTER`] ([`hold_pause`]):
//! the estimate dips for a moment after each decrease, while the queue that
//! caused it drains.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rtc::interceptor::{BandwidthEstimator, EstimatorStats, Gcc, PacketReport};

use crate::simulcast::{Allowance, LAYERS};

/// How far back loss and the delivered rate are measured.
pub const REPORT_WINDOW: Duration = Duration::from_secs(1);
/// Loss above this share of the packets in [`REPORT_WINDOW`] lowers the estimate
/// to the rate delivered.
pub const HIGH_LOSS: f64 = 0.10;
/// Loss below this share lets the estimate grow again, by [`LOSS_GROWTH`] every
/// [`LOSS_INTERVAL`].
pub const LOW_LOSS: f64 = 0.02;
/// Growth of the loss-based estimate per step on a link that loses (almost) nothing.
pub const LOSS_GROWTH: f64 = 1.05;
/// The shortest time between two changes of the loss-based estimate.
pub const LOSS_INTERVAL: Duration = Duration::from_millis(200);
/// How long after heavy loss the estimate stays at or below the rate delivered
/// then: the link's rate, learnt by losing packets. Growing past it at once
/// would switch a track up into the same loss every few seconds; after this
/// long, growth tries again.
pub const CEILING_HOLD: Duration = Duration::from_secs(10);

/// The estimator of a subscriber's downlink: the lower of the delay-based half of
/// [`Gcc`] and a loss-based estimate of its own.
///
/// GCC's own loss-based half lowers its target by up to half every 200 ms while
/// the loss it averages stays above 10 %, and the average trails the reports: on
/// a link that drops what exceeds its rate (a token bucket, a policer) the
/// target fell from the start estimate to GCC's floor within two seconds, far
/// below the link's rate, and stayed there for seconds after the loss had
/// ended, so video paused on a link that carries it. Here heavy loss lowers the
/// estimate to the rate the subscriber reports receiving over the last
/// [`REPORT_WINDOW`], a rate the link demonstrably carries, at most once per
/// window (so the next decision sees only packets sent after it), and the loss
/// is counted over that window only, so growth resumes once it is clean. The
/// rate delivered is a ceiling for [`CEILING_HOLD`]; what a link losing at most
/// [`HIGH_LOSS`] delivers is a floor (GCC's delay-based half backs off to 0.85 of what is received,
/// which would take away the layer being sent on a link that carries it).
pub struct DownlinkEstimator {
    gcc: Gcc,
    /// Packets reported on in the last [`REPORT_WINDOW`] (by departure), oldest first.
    window: VecDeque<Reported>,
    loss_based: f64,
    last_loss_change: Option<Instant>,
    /// When heavy loss last lowered the estimate, and to what.
    last_decrease: Option<(Instant, f64)>,
    min: f64,
    max: f64,
    target: f64,
}

/// One packet as a report told of it.
#[derive(Debug, Clone, Copy)]
struct Reported {
    departure: Instant,
    /// On the subscriber's clock; `None` if lost.
    arrival: Option<Duration>,
    size: usize,
}

impl DownlinkEstimator {
    /// An estimator starting at `initial` bits per second, kept within `min..=max`.
    pub fn new(initial: f64, min: f64, max: f64) -> Self {
        let initial = initial.clamp(min, max);
        Self {
            gcc: Gcc::new(initial, min, max),
            window: VecDeque::new(),
            loss_based: initial,
            last_loss_change: None,
            last_decrease: None,
            min,
            max,
            target: initial,
        }
    }

    /// The share of the packets in the window reported lost.
    pub fn loss(&self) -> Option<f64> {
        if self.window.is_empty() {
            return None;
        }
        let lost = self.window.iter().filter(|r| r.arrival.is_none()).count();
        Some(lost as f64 / self.window.len() as f64)
    }

    /// The rate the reports in the window show received, once the arrivals span
    /// a fifth of the window.
    pub fn delivered_rate(&self) -> Option<f64> {
        let arrivals = self.window.iter().filter_map(|r| r.arrival);
        let first = arrivals.clone().min()?;
        let last = arrivals.max()?;
        let span = last.saturating_sub(first);
        let bytes: usize = self
            .window
            .iter()
            .filter(|r| r.arrival.is_some())
            .map(|r| r.size)
            .sum();
        (span >= REPORT_WINDOW / 5).then(|| (bytes * 8) as f64 / span.as_secs_f64())
    }

    fn update_loss_based(&mut self, now: Instant) {
        if self
            .last_loss_change
            .is_some_and(|last| now.saturating_duration_since(last) < LOSS_INTERVAL)
        {
            return;
        }
        let Some(loss) = self.loss() else { return };
        let since_decrease = self
            .last_decrease
            .map(|(at, rate)| (now.saturating_duration_since(at), rate));
        if loss > HIGH_LOSS {
            if since_decrease.is_some_and(|(elapsed, _)| elapsed < REPORT_WINDOW) {
                return;
            }
            if let Some(delivered) = self.delivered_rate()
                && delivered < self.loss_based
            {
                self.loss_based = delivered.max(self.min);
                self.last_loss_change = Some(now);
                self.last_decrease = Some((now, self.loss_based));
            }
        } else if loss < LOW_LOSS {
            let mut grown = (self.loss_based * LOSS_GROWTH).min(self.max);
            if let Some((elapsed, ceiling)) = since_decrease
                && elapsed < CEILING_HOLD
            {
                grown = grown.min(ceiling.max(self.loss_based));
            }
            self.loss_based = grown;
            self.last_loss_change = Some(now);
        }
    }
}

impl BandwidthEstimator for DownlinkEstimator {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        self.gcc.on_reports(now, reports);
        self.window.extend(reports.iter().map(|r| Reported {
            departure: r.departure,
            arrival: if r.arrived { r.arrival } else { None },
            size: r.size,
        }));
        if let Some(newest) = self.window.iter().map(|r| r.departure).max() {
            self.window
                .retain(|r| newest.saturating_duration_since(r.departure) <= REPORT_WINDOW);
        }
        self.update_loss_based(now);
        let mut target = self.gcc.delay_based_bitrate().min(self.loss_based);
        // A link that delivers what is sent with little loss carries at least that.
        if self.loss().is_some_and(|loss| loss <= HIGH_LOSS)
            && let Some(delivered) = self.delivered_rate()
        {
            target = target.max(delivered);
        }
        self.target = target.clamp(self.min, self.max);
    }

    fn target_bitrate(&self) -> f64 {
        self.target
    }

    fn stats(&self) -> EstimatorStats {
        let mut stats = self.gcc.stats();
        stats.loss_based_bitrate = Some(self.loss_based);
        stats.packet_loss = self.loss();
        stats
    }
}

/// The latest estimate of one subscriber's downlink, written by its peer
/// connection's interceptor chain and read by its task.
#[derive(Debug, Default)]
pub struct SendEstimate {
    /// Bits per second; 0 before the first estimate.
    bits_per_second: AtomicU64,
}

impl SendEstimate {
    /// Records a new estimate.
    pub fn set(&self, bits_per_second: f64) {
        let value = if bits_per_second.is_finite() && bits_per_second >= 1.0 {
            bits_per_second as u64
        } else {
            1
        };
        self.bits_per_second.store(value, Ordering::Relaxed);
    }

    /// The latest estimate, or `None` before the subscriber has reported any
    /// arrival (a client that does not report is never limited).
    pub fn get(&self) -> Option<u64> {
        match self.bits_per_second.load(Ordering::Relaxed) {
            0 => None,
            value => Some(value),
        }
    }
}

/// A layer a track has now is kept while the budget covers this share of its
/// rate (a rate measured over half a second wavers by a few percent).
pub const KEEP_SHARE: f64 = 0.95;

/// A layer above those a track has now is taken only when this much more than its
/// rate fits: headroom for keyframe bursts, retransmissions and RTCP, and so that
/// a rate measured at the edge does not switch it up and down.
pub const RAISE_MARGIN: f64 = 1.25;

/// How long the downlink must stay too narrow for a track's lowest layer before
/// its video pauses; until then it gets that layer.
pub const PAUSE_AFTER: Duration = Duration::from_secs(2);
/// How long a paused track stays paused before its lowest layer is tried again
/// (for [`PAUSE_AFTER`]): with only audio flowing, what is delivered says little
/// of what the link could carry.
pub const RETRY_AFTER: Duration = Duration::from_secs(6);

/// How long each measurement of a layer's rate lasts.
pub const RATE_WINDOW: Duration = Duration::from_millis(500);

/// The rates of a track's incoming layers (one layer without simulcast),
/// measured by a down track from the packets it is handed: bytes over
/// [`RATE_WINDOW`], smoothed with the previous measurement. A layer that sent
/// nothing in the last window has no rate.
#[derive(Debug, Clone, Default)]
pub struct LayerRates {
    window_start: Option<Instant>,
    bytes: [u64; LAYERS],
    rates: [Option<u64>; LAYERS],
}

impl LayerRates {
    /// Counts a packet of `bytes` of `layer` arriving at `now`.
    pub fn record(&mut self, layer: u8, bytes: usize, now: Instant) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            let micros = elapsed.as_micros().max(1) as u64;
            for (bytes, rate) in self.bytes.iter_mut().zip(self.rates.iter_mut()) {
                let sample = bytes.saturating_mul(8_000_000) / micros;
                *rate = match (*bytes, *rate) {
                    (0, _) => None,
                    (_, Some(previous)) => Some((previous + sample) / 2),
                    (_, None) => Some(sample),
                };
                *bytes = 0;
            }
            self.window_start = Some(now);
        }
        let slot = usize::from(layer).min(LAYERS - 1);
        self.bytes[slot] = self.bytes[slot].saturating_add(bytes as u64);
    }

    /// Each layer's rate in bits per second, as last measured.
    pub fn rates(&self) -> [Option<u64>; LAYERS] {
        self.rates
    }

    /// The sum of the layers' rates.
    pub fn total(&self) -> u64 {
        self.rates.iter().flatten().sum()
    }
}

/// One video track sent to the subscriber, as the allocation sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoDemand {
    /// The highest layer the subscriber wants; `None` with its video off.
    pub wanted: Option<u8>,
    /// The measured rate of each layer arriving from the publisher, in bits per
    /// second (`None`: the layer is not arriving).
    pub layer_rates: [Option<u64>; LAYERS],
    /// The track's allowance now.
    pub allowance: Allowance,
}

impl VideoDemand {
    /// The lowest layer worth sending, if any arrives.
    pub fn lowest_layer(&self) -> Option<u8> {
        self.arriving().first().map(|&(layer, _)| layer)
    }

    /// The layers worth sending, lowest first, with what each costs: those
    /// arriving at or below the wanted one (or, if none is, the lowest arriving
    /// above it, as the layer selector would forward), at [`KEEP_SHARE`] of their
    /// rates, those above the allowance now at [`RAISE_MARGIN`] times their rates.
    fn candidates(&self) -> Vec<(u8, u64)> {
        let above = |layer: u8| match self.allowance {
            Allowance::Unlimited => false,
            Allowance::UpTo(limit) => layer > limit,
            Allowance::Paused => true,
        };
        self.arriving()
            .into_iter()
            .map(|(layer, rate)| {
                let share = if above(layer) {
                    RAISE_MARGIN
                } else {
                    KEEP_SHARE
                };
                let cost = (rate as f64 * share) as u64;
                (layer, cost)
            })
            .collect()
    }

    /// The layers worth sending, lowest first, with their rates.
    fn arriving(&self) -> Vec<(u8, u64)> {
        let Some(wanted) = self.wanted else {
            return Vec::new();
        };
        let arriving = |layer: u8| self.layer_rates[usize::from(layer)].map(|rate| (layer, rate));
        let below: Vec<(u8, u64)> = (0..=wanted.min(LAYERS as u8 - 1))
            .filter_map(arriving)
            .collect();
        if below.is_empty() {
            (wanted.saturating_add(1)..LAYERS as u8)
                .find_map(arriving)
                .into_iter()
                .collect()
        } else {
            below
        }
    }
}

/// Shares `budget` bits per second (the estimate less the audio sent) among
/// `demands`; one [`Allowance`] per demand, in order.
pub fn allocate(budget: u64, demands: &[VideoDemand]) -> Vec<Allowance> {
    let candidates: Vec<Vec<(u8, u64)>> = demands.iter().map(VideoDemand::candidates).collect();
    let mut allowances = vec![Allowance::Unlimited; demands.len()];
    // Index into each track's candidates of the layer it gets.
    let mut chosen: Vec<Option<usize>> = vec![None; demands.len()];
    // Who goes first: the track wanting the most (the main picture), then order.
    let mut order: Vec<usize> = (0..demands.len())
        .filter(|&i| !candidates[i].is_empty())
        .collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(demands[i].wanted), i));
    let mut left = budget;
    for &i in &order {
        let (_, rate) = candidates[i][0];
        if rate <= left {
            left -= rate;
            chosen[i] = Some(0);
        } else {
            allowances[i] = Allowance::Paused;
        }
    }
    loop {
        let mut raised = false;
        for &i in &order {
            let Some(at) = chosen[i] else { continue };
            let Some(&(_, next_rate)) = candidates[i].get(at + 1) else {
                continue;
            };
            let (_, rate) = candidates[i][at];
            let extra = next_rate.saturating_sub(rate);
            if extra <= left {
                left -= extra;
                chosen[i] = Some(at + 1);
                raised = true;
            }
        }
        if !raised {
            break;
        }
    }
    for &i in &order {
        if let Some(at) = chosen[i] {
            let (layer, _) = candidates[i][at];
            allowances[i] = if at + 1 == candidates[i].len() {
                Allowance::Unlimited
            } else {
                Allowance::UpTo(layer)
            };
        }
    }
    allowances
}

/// Holds back a pause the allocation `proposed` for a track whose lowest layer
/// worth sending is `lowest`, until the downlink has been too narrow for it for
/// [`PAUSE_AFTER`], and tries that layer again after [`RETRY_AFTER`] paused.
/// `narrow_since` is when it became so (or when the last try began; kept by the
/// caller, per track); it is cleared as soon as the track fits again.
pub fn hold_pause(
    proposed: Allowance,
    lowest: Option<u8>,
    narrow_since: &mut Option<Instant>,
    now: Instant,
) -> Allowance {
    if proposed != Allowance::Paused {
        *narrow_since = None;
        return proposed;
    }
    let Some(layer) = lowest else {
        return Allowance::Paused;
    };
    let since = *narrow_since.get_or_insert(now);
    let elapsed = now.saturating_duration_since(since);
    if elapsed < PAUSE_AFTER {
        Allowance::UpTo(layer)
    } else if elapsed < PAUSE_AFTER + RETRY_AFTER {
        Allowance::Paused
    } else {
        *narrow_since = Some(now);
        Allowance::UpTo(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMULCAST: [Option<u64>; LAYERS] = [Some(150_000), Some(500_000), Some(1_500_000)];

    fn demand(wanted: Option<u8>) -> VideoDemand {
        VideoDemand {
            wanted,
            layer_rates: SIMULCAST,
            allowance: Allowance::Unlimited,
        }
    }

    #[test]
    fn a_wide_link_limits_nothing() {
        assert_eq!(
            allocate(10_000_000, &[demand(Some(2)), demand(Some(0))]),
            vec![Allowance::Unlimited, Allowance::Unlimited]
        );
    }

    #[test]
    fn a_narrow_link_gets_the_best_layer_that_fits() {
        assert_eq!(
            allocate(1_000_000, &[demand(Some(2))]),
            vec![Allowance::UpTo(1)]
        );
        assert_eq!(
            allocate(400_000, &[demand(Some(2))]),
            vec![Allowance::UpTo(0)]
        );
        // Exactly enough for the full layer.
        assert_eq!(
            allocate(1_500_000, &[demand(Some(2))]),
            vec![Allowance::Unlimited]
        );
    }

    #[test]
    fn a_layer_above_the_allowance_now_needs_a_margin() {
        let held = VideoDemand {
            allowance: Allowance::UpTo(1),
            ..demand(Some(2))
        };
        // Enough to keep the full layer, not to go up to it.
        assert_eq!(
            allocate(1_600_000, &[demand(Some(2))]),
            vec![Allowance::Unlimited]
        );
        assert_eq!(allocate(1_600_000, &[held]), vec![Allowance::UpTo(1)]);
        assert_eq!(allocate(2_000_000, &[held]), vec![Allowance::Unlimited]);
        // A paused track resumes with the margin too.
        let paused = VideoDemand {
            allowance: Allowance::Paused,
            ..demand(Some(2))
        };
        assert_eq!(allocate(160_000, &[paused]), vec![Allowance::Paused]);
        assert_eq!(allocate(190_000, &[paused]), vec![Allowance::UpTo(0)]);
    }

    #[test]
    fn video_pauses_when_not_even_the_lowest_layer_fits() {
        assert_eq!(
            allocate(100_000, &[demand(Some(2))]),
            vec![Allowance::Paused]
        );
        assert_eq!(allocate(0, &[demand(Some(0))]), vec![Allowance::Paused]);
    }

    #[test]
    fn every_track_gets_its_lowest_layer_before_any_is_raised() {
        // 800 kb/s: three thumbnails' worth, not one half layer and two pauses.
        let out = allocate(
            800_000,
            &[demand(Some(2)), demand(Some(2)), demand(Some(2))],
        );
        assert_eq!(
            out,
            vec![Allowance::UpTo(1), Allowance::UpTo(0), Allowance::UpTo(0)]
        );
        // 450 kb/s: three lowest layers.
        let out = allocate(
            450_000,
            &[demand(Some(2)), demand(Some(2)), demand(Some(2))],
        );
        assert_eq!(out, vec![Allowance::UpTo(0); 3]);
        // 400 kb/s: the last in line pauses.
        let out = allocate(
            400_000,
            &[demand(Some(2)), demand(Some(2)), demand(Some(2))],
        );
        assert_eq!(
            out,
            vec![Allowance::UpTo(0), Allowance::UpTo(0), Allowance::Paused]
        );
    }

    #[test]
    fn the_track_wanting_the_most_is_raised_first() {
        // A thumbnail (wants the lowest layer) and the main picture.
        let out = allocate(700_000, &[demand(Some(0)), demand(Some(2))]);
        assert_eq!(out, vec![Allowance::Unlimited, Allowance::UpTo(1)]);
    }

    #[test]
    fn layers_not_arriving_are_skipped_and_video_off_is_left_alone() {
        let no_half = VideoDemand {
            wanted: Some(2),
            layer_rates: [Some(150_000), None, Some(1_500_000)],
            allowance: Allowance::Unlimited,
        };
        assert_eq!(allocate(1_000_000, &[no_half]), vec![Allowance::UpTo(0)]);
        assert_eq!(allocate(0, &[demand(None)]), vec![Allowance::Unlimited]);
        // Only a layer above the wish arrives: it is what would be sent.
        let only_full = VideoDemand {
            wanted: Some(0),
            layer_rates: [None, None, Some(1_500_000)],
            allowance: Allowance::Unlimited,
        };
        assert_eq!(allocate(1_000_000, &[only_full]), vec![Allowance::Paused]);
        assert_eq!(
            allocate(2_000_000, &[only_full]),
            vec![Allowance::Unlimited]
        );
        // A track whose layers were never measured is not judged.
        let unmeasured = VideoDemand {
            wanted: Some(2),
            layer_rates: [None; LAYERS],
            allowance: Allowance::Unlimited,
        };
        assert_eq!(allocate(0, &[unmeasured]), vec![Allowance::Unlimited]);
    }

    #[test]
    fn a_pause_waits_until_the_downlink_stays_too_narrow() {
        let start = Instant::now();
        let mut since = None;
        assert_eq!(
            hold_pause(Allowance::Paused, Some(0), &mut since, start),
            Allowance::UpTo(0)
        );
        assert_eq!(since, Some(start));
        let later = start + PAUSE_AFTER / 2;
        assert_eq!(
            hold_pause(Allowance::Paused, Some(0), &mut since, later),
            Allowance::UpTo(0)
        );
        // It fits again: the clock starts over.
        assert_eq!(
            hold_pause(Allowance::UpTo(1), Some(0), &mut since, later),
            Allowance::UpTo(1)
        );
        assert_eq!(since, None);
        let narrow = later + PAUSE_AFTER;
        assert_eq!(
            hold_pause(Allowance::Paused, Some(0), &mut since, narrow),
            Allowance::UpTo(0)
        );
        assert_eq!(
            hold_pause(Allowance::Paused, Some(0), &mut since, narrow + PAUSE_AFTER),
            Allowance::Paused
        );
        // Paused for RETRY_AFTER: the lowest layer is tried again, for PAUSE_AFTER.
        let retry = narrow + PAUSE_AFTER + RETRY_AFTER;
        assert_eq!(
            hold_pause(Allowance::Paused, Some(0), &mut since, retry),
            Allowance::UpTo(0)
        );
        assert_eq!(since, Some(retry));
        assert_eq!(
            hold_pause(Allowance::Paused, Some(0), &mut since, retry + PAUSE_AFTER),
            Allowance::Paused
        );
        // Nothing arriving to fall back on.
        let mut since = None;
        assert_eq!(
            hold_pause(Allowance::Paused, None, &mut since, start),
            Allowance::Paused
        );
    }

    #[test]
    fn allowances_limit_the_wanted_layer() {
        assert_eq!(Allowance::Unlimited.limit(Some(2)), Some(2));
        assert_eq!(Allowance::UpTo(1).limit(Some(2)), Some(1));
        assert_eq!(Allowance::UpTo(1).limit(Some(0)), Some(0));
        assert_eq!(Allowance::UpTo(1).limit(None), None);
        assert_eq!(Allowance::Paused.limit(Some(2)), None);
    }

    #[test]
    fn layer_rates_are_measured_per_window() {
        let start = Instant::now();
        let mut rates = LayerRates::default();
        // 100 packets of 1,000 bytes on layer 2 and 10 on layer 0 in 0.5 s.
        for i in 0..100u32 {
            let at = start + RATE_WINDOW * i / 100;
            rates.record(2, 1_000, at);
            if i % 10 == 0 {
                rates.record(0, 1_000, at);
            }
        }
        assert_eq!(rates.rates(), [None; LAYERS], "no window has ended yet");
        rates.record(2, 1_000, start + RATE_WINDOW);
        assert_eq!(rates.rates(), [Some(160_000), None, Some(1_600_000)]);
        assert_eq!(rates.total(), 1_760_000);
        // Layer 0 stops; layer 2 halves: smoothed with the previous window.
        for i in 1..50u32 {
            rates.record(2, 1_000, start + RATE_WINDOW + RATE_WINDOW * i / 50);
        }
        rates.record(2, 1_000, start + RATE_WINDOW * 2);
        assert_eq!(rates.rates(), [None, None, Some(1_200_000)]);
    }

    fn report(id: u64, departure: Instant, arrival_ms: Option<u64>) -> PacketReport {
        PacketReport {
            ssrc: 1,
            id,
            rtp_sequence_number: id as u16,
            is_twcc: true,
            twcc_sequence_number: id as u16,
            size: 1_000,
            arrived: arrival_ms.is_some(),
            departure,
            arrival: arrival_ms.map(Duration::from_millis),
            ecn: Default::default(),
        }
    }

    /// Feeds `seconds` of 100 packets/s of 1,000 bytes (800 kb/s), each arriving
    /// 10 ms after it left unless `lost(i)`, to both estimators from `start`.
    fn feed(
        estimator: &mut DownlinkEstimator,
        gcc: &mut Gcc,
        start: Instant,
        from_ms: u64,
        seconds: u64,
        lost: impl Fn(u64) -> bool,
    ) {
        for batch in 0..seconds * 10 {
            let base = from_ms + batch * 100;
            let at = start + Duration::from_millis(base + 100);
            let reports: Vec<PacketReport> = (0..10)
                .map(|i| {
                    let sent = base + i * 10;
                    report(
                        sent,
                        start + Duration::from_millis(sent),
                        (!lost(i)).then_some(sent + 10),
                    )
                })
                .collect();
            estimator.on_reports(at, &reports);
            gcc.on_reports(at, &reports);
        }
    }

    #[test]
    fn heavy_loss_lowers_the_estimate_to_what_arrives_and_a_clean_link_raises_it() {
        let start = Instant::now();
        let mut estimator = DownlinkEstimator::new(3_000_000.0, 100_000.0, 50_000_000.0);
        let mut gcc = Gcc::new(3_000_000.0, 100_000.0, 50_000_000.0);
        // Four seconds with every other packet lost: 400 kb/s delivered.
        feed(&mut estimator, &mut gcc, start, 0, 4, |i| i % 2 == 1);
        let delivered = estimator.delivered_rate().expect("a rate");
        assert!((380_000.0..420_000.0).contains(&delivered), "{delivered}");
        assert!((0.45..0.55).contains(&estimator.loss().unwrap()));
        assert!(
            gcc.target_bitrate() < 200_000.0,
            "GCC alone falls to {}",
            gcc.target_bitrate()
        );
        let held = estimator.target_bitrate();
        assert!((380_000.0..=420_000.0).contains(&held), "held at {held}");
        // Clean seconds: the loss leaves the window. What the link now delivers
        // without loss (all 800 kb/s) is a floor, while the loss-based estimate
        // stays at the rate delivered under loss until the hold is over.
        feed(&mut estimator, &mut gcc, start, 4_000, 2, |_| false);
        assert_eq!(estimator.loss(), Some(0.0));
        let clean = estimator.target_bitrate();
        assert!((780_000.0..=820_000.0).contains(&clean), "{clean}");
        assert_eq!(estimator.stats().loss_based_bitrate, Some(held));
        feed(&mut estimator, &mut gcc, start, 6_000, 10, |_| false);
        let grown = estimator.stats().loss_based_bitrate.unwrap();
        assert!(grown > held * 1.3, "{grown}");
    }

    #[test]
    fn the_estimate_is_none_until_set() {
        let estimate = SendEstimate::default();
        assert_eq!(estimate.get(), None);
        estimate.set(812_345.6);
        assert_eq!(estimate.get(), Some(812_345));
        estimate.set(f64::NAN);
        assert_eq!(estimate.get(), Some(1));
    }
}
