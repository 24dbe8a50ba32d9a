//! Prometheus metrics of one SFU node.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge, Registry};

/// The node's gauges, counters and the forwarding-delay histogram, registered on the
/// registry given in [`crate::SfuConfig`].
#[derive(Clone)]
pub struct SfuMetrics {
    /// Rooms currently open on this node.
    pub rooms: IntGauge,
    /// Participants currently in a room on this node.
    pub participants: IntGauge,
    /// Live WebRTC peer connections (publisher and subscriber).
    pub peer_connections: IntGauge,
    /// Live spawned per-room and per-peer tasks.
    pub tasks: IntGauge,
    /// RTP packets sent to subscribers.
    pub forwarded_packets: IntCounter,
    /// RTP bytes (payload plus fixed header) sent to subscribers.
    pub forwarded_bytes: IntCounter,
    /// Bytes received on the media ports, UDP and ICE-TCP (media, STUN and DTLS alike).
    pub received_bytes: IntCounter,
    /// ICE-TCP connections tied to a peer connection ([`crate::ice_tcp`]).
    pub ice_tcp_connections: IntGauge,
    /// Time from a packet's arrival at the UDP socket to its forwarded copy being sent.
    pub forwarding_delay: Histogram,
    /// Changes of a sent video track's limit by its subscriber's downlink
    /// estimate ([`crate::bandwidth`]): lowered, paused or lifted.
    pub bandwidth_limit_changes: IntCounter,
    /// Sent video tracks held below the layer their subscriber wants, or paused,
    /// by the subscriber's downlink.
    pub bandwidth_limited_tracks: IntGauge,
}

impl SfuMetrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            rooms: IntGauge::new("yunhui_sfu_rooms", "Rooms open on this SFU node")?,
            participants: IntGauge::new(
                "yunhui_sfu_participants",
                "Participants in rooms on this SFU node",
            )?,
            peer_connections: IntGauge::new(
                "yunhui_sfu_peer_connections",
                "Live WebRTC peer connections on this SFU node",
            )?,
            tasks: IntGauge::new(
                "yunhui_sfu_tasks",
                "Live spawned per-room and per-peer tasks on this SFU node",
            )?,
            forwarded_packets: IntCounter::new(
                "yunhui_sfu_forwarded_packets_total",
                "RTP packets forwarded to subscribers",
            )?,
            forwarded_bytes: IntCounter::new(
                "yunhui_sfu_forwarded_bytes_total",
                "RTP bytes (payload plus fixed header) forwarded to subscribers",
            )?,
            received_bytes: IntCounter::new(
                "yunhui_sfu_received_bytes_total",
                "Bytes received on the media ports (UDP and ICE-TCP)",
            )?,
            ice_tcp_connections: IntGauge::new(
                "yunhui_sfu_ice_tcp_connections",
                "ICE-TCP connections tied to a peer connection on this SFU node",
            )?,
            forwarding_delay: Histogram::with_opts(
                HistogramOpts::new(
                    "yunhui_sfu_forwarding_delay_seconds",
                    "Time from a packet's arrival at the SFU to its forwarded copy being sent",
                )
                .buckets(vec![
                    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5,
                    0.005, 0.01, 0.025, 0.05, 0.1,
                ]),
            )?,
            bandwidth_limit_changes: IntCounter::new(
                "yunhui_sfu_bandwidth_limit_changes_total",
                "Changes of a sent video track's limit by its subscriber's downlink estimate",
            )?,
            bandwidth_limited_tracks: IntGauge::new(
                "yunhui_sfu_bandwidth_limited_tracks",
                "Sent video tracks held below the wanted layer, or paused, by their subscriber's downlink",
            )?,
        };
        registry.register(Box::new(metrics.rooms.clone()))?;
        registry.register(Box::new(metrics.participants.clone()))?;
        registry.register(Box::new(metrics.peer_connections.clone()))?;
        registry.register(Box::new(metrics.tasks.clone()))?;
        registry.register(Box::new(metrics.forwarded_packets.clone()))?;
        registry.register(Box::new(metrics.forwarded_bytes.clone()))?;
        registry.register(Box::new(metrics.received_bytes.clone()))?;
        registry.register(Box::new(metrics.ice_tcp_connections.clone()))?;
        registry.register(Box::new(metrics.forwarding_delay.clone()))?;
        registry.register(Box::new(metrics.bandwidth_limit_changes.clone()))?;
        registry.register(Box::new(metrics.bandwidth_limited_tracks.clone()))?;
        Ok(metrics)
    }

    /// Counts one live task until the returned guard is dropped.
    pub(crate) fn task_guard(&self) -> GaugeGuard {
        GaugeGuard::new(self.tasks.clone())
    }

    /// Counts one live peer connection until the returned guard is dropped.
    pub(crate) fn peer_connection_guard(&self) -> GaugeGuard {
        GaugeGuard::new(self.peer_connections.clone())
    }
}

/// Increments a gauge on creation and decrements it on drop, so a task or a peer
/// connection is counted exactly as long as it lives, whichever way it ends.
pub(crate) struct GaugeGuard(IntGauge);

impl GaugeGuard {
    pub(crate) fn new(gauge: IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
