//! Prometheus metrics of the signal service.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// The signal service's metrics, registered on the process registry.
#[derive(Clone)]
pub struct Metrics {
    /// Open signaling sockets.
    pub connections: IntGauge,
    /// Live rooms on this replica.
    pub rooms: IntGauge,
    /// Participants in live rooms.
    pub participants: IntGauge,
    /// Signaling messages received, by type.
    pub messages: IntCounterVec,
    /// Errors sent to clients, by code.
    pub errors: IntCounterVec,
}

impl Metrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Metrics {
            connections: IntGauge::new("yunhui_signal_connections", "Open signaling sockets")?,
            rooms: IntGauge::new("yunhui_signal_rooms", "Live rooms on this replica")?,
            participants: IntGauge::new(
                "yunhui_signal_participants",
                "Participants in live rooms on this replica",
            )?,
            messages: IntCounterVec::new(
                Opts::new(
                    "yunhui_signal_messages_total",
                    "Signaling messages received by type",
                ),
                &["type"],
            )?,
            errors: IntCounterVec::new(
                Opts::new(
                    "yunhui_signal_errors_total",
                    "Errors sent to signaling clients by code",
                ),
                &["code"],
            )?,
        };
        registry.register(Box::new(metrics.connections.clone()))?;
        registry.register(Box::new(metrics.rooms.clone()))?;
        registry.register(Box::new(metrics.participants.clone()))?;
        registry.register(Box::new(metrics.messages.clone()))?;
        registry.register(Box::new(metrics.errors.clone()))?;
        Ok(metrics)
    }
}
