//! The internal control interface through which signal drives an SFU node
//! ([`MediaControl`]), its types, and the JSON bodies of its HTTP form
//! (`/internal/v1/...` on the node, Bearer internal key).
//!
//! Implemented in process by the SFU crate's `InProcessControl` (the
//! all-in-one `yunhui up`) and over HTTP by the client SDK's
//! `media_control::HttpControl` against the node's `internal_router`.
//! Signal sees only this trait, so it builds without the WebRTC stack.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::signaling::VideoQuality;

/// Kind of media a participant publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// Microphone audio (Opus).
    Audio,
    /// Camera video (VP8 or H264).
    Video,
}

impl std::fmt::Display for MediaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        })
    }
}

/// Which publishers' video one subscriber receives, and at what quality.
/// The default (nothing set) is every publisher at `High`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoSubscriptions {
    /// The quality of every publisher not listed in `participants`.
    pub default: VideoQuality,
    /// Quality per publishing participant id.
    #[serde(default)]
    pub participants: BTreeMap<String, VideoQuality>,
}

impl VideoSubscriptions {
    /// The quality this subscriber wants of `publisher`'s video.
    pub fn quality_of(&self, publisher: &str) -> VideoQuality {
        self.participants
            .get(publisher)
            .copied()
            .unwrap_or(self.default)
    }
}

/// Which part of the room a participant's media belongs to, and which of the
/// others' media it receives (breakout rooms and interpretation). The
/// default is the main room with no language channel: everything but
/// interpreters' audio.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Routing {
    /// The breakout room: media passes only between participants of the
    /// same one (`None` is the main room).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// An interpreter's channel: their audio goes only to those listening
    /// to it (their video goes to everyone of the group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaks_into: Option<String>,
    /// The language channel this participant hears besides the original.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listens_to: Option<String>,
}

impl Routing {
    /// Whether `subscriber` receives `publisher`'s media of `kind`.
    pub fn receives(subscriber: &Routing, publisher: &Routing, kind: MediaKind) -> bool {
        if subscriber.group != publisher.group {
            return false;
        }
        match (&publisher.speaks_into, kind) {
            (Some(channel), MediaKind::Audio) => subscriber.listens_to.as_ref() == Some(channel),
            _ => true,
        }
    }
}

/// Load figures of one SFU node, as reported to signal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStats {
    /// Chosen afresh each time the node starts: a change tells signal the
    /// node restarted and lost its rooms.
    #[serde(default)]
    pub instance: String,
    /// Rooms open on the node.
    pub rooms: u64,
    /// Participants in those rooms.
    pub participants: u64,
    /// Live WebRTC peer connections.
    pub peer_connections: u64,
    /// Live per-room and per-peer tasks.
    pub tasks: u64,
    /// RTP packets forwarded since the node started.
    pub forwarded_packets: u64,
    /// RTP bytes forwarded since the node started.
    pub forwarded_bytes: u64,
    /// UDP bytes received on the media port since the node started.
    #[serde(default)]
    pub received_bytes: u64,
}

/// How often an SFU node reports itself to signal ([`NodeReport`]). A node
/// whose last report is older than [`NODE_GONE_AFTER`] is gone.
pub const NODE_REPORT_INTERVAL: Duration = Duration::from_secs(2);

/// How long after its last report a node counts as gone: three missed reports.
pub const NODE_GONE_AFTER: Duration = Duration::from_secs(6);

/// What an SFU node tells signal about itself every
/// [`NODE_REPORT_INTERVAL`], on `PUT /internal/v1/media-nodes/{node_id}` of
/// signal (Bearer internal key). Signal places rooms on nodes from these
/// reports and drives each room's node at its `control_url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReport {
    /// The node's name, stable while it runs (its pod's name in Kubernetes).
    pub node_id: String,
    /// Base URL of the node's own internal API (its pod address, not a
    /// Service in front of several nodes).
    pub control_url: String,
    /// Where clients send the node media: the advertised address and its UDP port.
    pub media_address: SocketAddr,
    /// CPU architecture of the node's binary (`x86_64`, `aarch64`).
    pub architecture: String,
    /// Participants the node takes at most.
    pub capacity: u64,
    /// A draining node takes no new rooms (it is about to stop).
    pub draining: bool,
    /// The node stops in moments with rooms still open (its drain timed
    /// out): signal counts it gone at once and moves its rooms to another
    /// node, whose clients connect their media anew.
    #[serde(default)]
    pub leaving: bool,
    /// The node's counters at the time of the report.
    pub stats: NodeStats,
    /// Media received, in bits per second since the previous report.
    pub bits_in_per_second: u64,
    /// Media forwarded, in bits per second since the previous report.
    pub bits_out_per_second: u64,
    /// CPU time the node's process used since the previous report, in
    /// thousandths of one core (1000 = one core busy).
    pub cpu_millicores: u64,
    /// The node's own TURN server, when it serves one: the participants of
    /// a room placed on the node are handed these endpoints on join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<crate::turn::TurnEndpoints>,
    /// The region the node is in (e.g. a hybrid deployment's other site):
    /// a tenant that prefers a region gets its rooms placed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// One node of signal's node table with its load, as `GET
/// /internal/v1/media-nodes` of signal lists it (Bearer internal key). The
/// operator scales the SFU pool from these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaNodeLoad {
    /// The node's name (its pod's name in Kubernetes).
    pub node_id: String,
    /// Whether the node still reports (its last report is at most
    /// [`NODE_GONE_AFTER`] old).
    pub live: bool,
    /// Whether the node takes no new rooms: it reported draining, or it was
    /// marked draining on signal (`POST /internal/v1/media-nodes/{id}/drain`).
    pub draining: bool,
    /// Participants the node takes at most.
    pub capacity: u64,
    /// Rooms open on the node, as it last reported.
    pub rooms: u64,
    /// Participants in those rooms, as it last reported.
    pub participants: u64,
    /// CPU the node's process used, in thousandths of one core.
    pub cpu_millicores: u64,
    /// Media received, in bits per second.
    pub bits_in_per_second: u64,
    /// Media forwarded, in bits per second.
    pub bits_out_per_second: u64,
    /// The region the node reported, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Body of signal's `GET /internal/v1/media-nodes`: every node it knows, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaNodeList {
    /// The nodes, live or gone.
    pub nodes: Vec<MediaNodeLoad>,
}

/// Why a control call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ControlError {
    /// The room is not open on this node.
    #[error("room {room} is not open on this SFU node")]
    RoomNotFound {
        /// The room asked for.
        room: String,
    },
    /// The participant has not been added to the room.
    #[error("participant {participant} is not in room {room} on this SFU node")]
    ParticipantNotFound {
        /// The room asked for.
        room: String,
        /// The participant asked for.
        participant: String,
    },
    /// The session description could not be used.
    #[error("the session description is invalid: {reason}")]
    InvalidSdp {
        /// What the SDP parser or the WebRTC stack objected to.
        reason: String,
    },
    /// The caller did not present the node's internal key.
    #[error("the SFU's internal API rejected the request: wrong or missing internal key")]
    Unauthorized,
    /// No media node can take the room (none reported, or every one is
    /// full, draining or gone).
    #[error("no media node has room for this meeting: {reason}")]
    NoMediaNode {
        /// Which nodes there are and why none of them fits.
        reason: String,
    },
    /// The node is draining (about to stop) and opens no new room.
    #[error("this SFU node is draining and opens no new room ({room})")]
    Draining {
        /// The room asked for.
        room: String,
    },
    /// The node could not be reached or failed while serving the call.
    #[error("the SFU node could not serve the request: {reason}")]
    Transport {
        /// What went wrong on the way.
        reason: String,
    },
}

/// What signal asks of an SFU node. Implemented in process by the SFU crate's
/// `InProcessControl` and over HTTP by the client SDK's `HttpControl`.
#[async_trait::async_trait]
pub trait MediaControl: Send + Sync + 'static {
    /// The TURN server of the node `room` is on, when that node reported
    /// one of its own (a pool of nodes); `None` otherwise.
    fn turn_of(&self, _room: &str) -> Option<crate::turn::TurnEndpoints> {
        None
    }
    /// Asks that `room`, when it is placed (or placed again), go to a node
    /// of `region` if one can take it. Only a pool of nodes places rooms.
    fn prefer_region(&self, _room: &str, _region: &str) {}
    /// Opens a room; opening an open room is a no-op.
    async fn create_room(&self, room: &str) -> Result<(), ControlError>;
    /// Closes a room and every peer connection in it; closing a closed room is a no-op.
    async fn close_room(&self, room: &str) -> Result<(), ControlError>;
    /// Adds a participant to a room (no media until it publishes or subscribes).
    async fn add_participant(&self, room: &str, participant: &str) -> Result<(), ControlError>;
    /// Removes a participant and closes its peer connections.
    async fn remove_participant(&self, room: &str, participant: &str) -> Result<(), ControlError>;
    /// Client's publisher offer -> SFU answer. Registers the published tracks immediately
    /// so a subscribe_offer for another participant right after includes them.
    async fn publish(
        &self,
        room: &str,
        participant: &str,
        offer_sdp: &str,
    ) -> Result<String, ControlError>;
    /// A new offer for this participant's subscriber PC if the set of tracks it should receive changed
    /// since its last answered offer (or if it never had one and there is something to receive);
    /// None if nothing to do or if an offer is still awaiting its answer (remember it is dirty).
    async fn subscribe_offer(
        &self,
        room: &str,
        participant: &str,
    ) -> Result<Option<String>, ControlError>;
    /// Apply the client's answer; returns a follow-up offer if tracks changed while it was outstanding.
    async fn subscribe_answer(
        &self,
        room: &str,
        participant: &str,
        answer_sdp: &str,
    ) -> Result<Option<String>, ControlError>;
    /// Mute at the source: stops (or resumes) forwarding this participant's `kind`.
    async fn set_forwarding(
        &self,
        room: &str,
        participant: &str,
        kind: MediaKind,
        enabled: bool,
    ) -> Result<(), ControlError>;
    /// Chooses which publishers' video `participant` receives and at what quality;
    /// replaces the previous choice. Audio is always received.
    async fn set_video_subscriptions(
        &self,
        room: &str,
        participant: &str,
        subscriptions: VideoSubscriptions,
    ) -> Result<(), ControlError>;
    /// Sets which part of the room `participant`'s media belongs to and
    /// what it receives ([`Routing`]). What a subscriber receives changes
    /// with its next subscriber offer, which the caller asks for.
    async fn set_routing(
        &self,
        room: &str,
        participant: &str,
        routing: Routing,
    ) -> Result<(), ControlError>;
    /// The loudest unmuted publisher of the room, if anyone is speaking.
    async fn active_speaker(&self, room: &str) -> Result<Option<String>, ControlError>;
    /// Whether `room` is lost: its node no longer has it (the node
    /// restarted) or is gone or leaving, so it must be opened again.
    async fn room_lost(&self, room: &str) -> bool {
        self.active_speaker(room).await.is_err()
    }
    /// Load figures of the node.
    async fn node_stats(&self) -> Result<NodeStats, ControlError>;
}

/// A session description in a request or response body.
#[derive(Debug, Serialize, Deserialize)]
pub struct SdpBody {
    /// The SDP text.
    pub sdp: String,
}

/// A session description that may be absent (nothing to negotiate).
#[derive(Debug, Serialize, Deserialize)]
pub struct OptionalSdpBody {
    /// The SDP text, if there is one.
    pub sdp: Option<String>,
}

/// Body of the mute-at-source call.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForwardingBody {
    /// Whether the kind is forwarded.
    pub enabled: bool,
}

/// Body of the active-speaker call.
#[derive(Debug, Serialize, Deserialize)]
pub struct ActiveSpeakerBody {
    /// The loudest unmuted publisher, if any.
    pub participant: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(group: Option<&str>, speaks: Option<&str>, listens: Option<&str>) -> Routing {
        Routing {
            group: group.map(String::from),
            speaks_into: speaks.map(String::from),
            listens_to: listens.map(String::from),
        }
    }

    #[test]
    fn media_passes_only_within_a_breakout_room() {
        let main = routing(None, None, None);
        let one = routing(Some("1"), None, None);
        let two = routing(Some("2"), None, None);
        for kind in [MediaKind::Audio, MediaKind::Video] {
            assert!(Routing::receives(&main, &main, kind));
            assert!(Routing::receives(&one, &one, kind));
            assert!(!Routing::receives(&one, &two, kind));
            assert!(!Routing::receives(&main, &one, kind));
            assert!(!Routing::receives(&two, &main, kind));
        }
    }

    #[test]
    fn an_interpreters_audio_reaches_only_their_channel() {
        let interpreter = routing(None, Some("en"), None);
        let english = routing(None, None, Some("en"));
        let french = routing(None, None, Some("fr"));
        let none = routing(None, None, None);
        assert!(Routing::receives(&english, &interpreter, MediaKind::Audio));
        assert!(!Routing::receives(&french, &interpreter, MediaKind::Audio));
        assert!(!Routing::receives(&none, &interpreter, MediaKind::Audio));
        // Their video, and everyone's original audio, reach everyone.
        assert!(Routing::receives(&none, &interpreter, MediaKind::Video));
        let speaker = routing(None, None, None);
        for listener in [&english, &french, &none, &interpreter] {
            assert!(Routing::receives(listener, &speaker, MediaKind::Audio));
        }
    }
}
