//! A participant of a room: its two peer connections (publisher and subscriber, the
//! LiveKit model), the tracks it publishes, its mute-at-source switches, its audio
//! level and the state of its subscriber negotiation.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use parking_lot::Mutex;

use crate::control::{MediaKind, Routing, VideoSubscriptions};
use crate::forwarding::{PublishedTrack, TrackKey};
use crate::mailbox::{PublisherHandle, SubscriberHandle};
use crate::simulcast::SubscriptionCell;
use crate::speaker::AudioLevel;

/// Where the subscriber PC's offer/answer exchange stands.
#[derive(Debug, Default)]
pub(crate) struct SubscriberNegotiation {
    /// An offer was sent and its answer has not arrived.
    pub awaiting_answer: bool,
    /// Tracks changed while an offer was outstanding.
    pub dirty: bool,
    /// Tracks in the outstanding offer.
    pub offered: BTreeSet<Arc<TrackKey>>,
    /// Tracks in the last answered offer.
    pub answered: BTreeSet<Arc<TrackKey>>,
}

/// One participant of a room on this node.
pub(crate) struct Participant {
    /// The participant id signal gave; the MediaStream id of everything it publishes.
    pub id: String,
    audio_enabled: AtomicBool,
    video_enabled: AtomicBool,
    audio_generation: AtomicU32,
    video_generation: AtomicU32,
    /// The PC the client sends on (client offers).
    pub publisher: Mutex<Option<PublisherHandle>>,
    /// The PC the client receives on (SFU offers).
    pub subscriber: Mutex<Option<SubscriberHandle>>,
    /// Tracks registered from the client's publisher offers.
    pub published: Mutex<Vec<PublishedTrack>>,
    /// Serializes subscribe_offer / subscribe_answer for this participant.
    pub negotiation: tokio::sync::Mutex<SubscriberNegotiation>,
    /// Which publishers' video it receives, read by its subscriber PC's task.
    pub video_subscriptions: Arc<SubscriptionCell>,
    /// How loud its audio is, kept by its publisher PC's task.
    pub audio_level: AudioLevel,
    /// Its breakout room and language channels: whose media it receives,
    /// and who receives its own.
    pub routing: Mutex<Routing>,
    /// How many of its peer connections are connected now.
    pub connected_peers: Arc<AtomicU32>,
}

impl Participant {
    pub(crate) fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            audio_enabled: AtomicBool::new(true),
            video_enabled: AtomicBool::new(true),
            audio_generation: AtomicU32::new(0),
            video_generation: AtomicU32::new(0),
            publisher: Mutex::new(None),
            subscriber: Mutex::new(None),
            published: Mutex::new(Vec::new()),
            negotiation: tokio::sync::Mutex::new(SubscriberNegotiation::default()),
            video_subscriptions: Arc::default(),
            audio_level: AudioLevel::default(),
            routing: Mutex::new(Routing::default()),
            connected_peers: Arc::default(),
        }
    }

    fn switches(&self, kind: MediaKind) -> (&AtomicBool, &AtomicU32) {
        match kind {
            MediaKind::Audio => (&self.audio_enabled, &self.audio_generation),
            MediaKind::Video => (&self.video_enabled, &self.video_generation),
        }
    }

    /// Mute at the source: whether this participant's `kind` reaches subscribers.
    pub(crate) fn set_forwarding(&self, kind: MediaKind, enabled: bool) {
        let (flag, generation) = self.switches(kind);
        let was = flag.swap(enabled, Ordering::SeqCst);
        if enabled && !was {
            generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// `Some(generation)` if `kind` is forwarded, `None` if muted at the source.
    pub(crate) fn forwarding(&self, kind: MediaKind) -> Option<u32> {
        let (flag, generation) = self.switches(kind);
        flag.load(Ordering::Relaxed)
            .then(|| generation.load(Ordering::Relaxed))
    }

    /// Replaces which publishers' video this participant receives; its subscriber
    /// PC picks the change up with the next packet.
    pub(crate) fn set_video_subscriptions(&self, subscriptions: VideoSubscriptions) {
        self.video_subscriptions.set(subscriptions);
    }

    /// The publisher PC's handle, if the participant publishes.
    pub(crate) fn publisher_handle(&self) -> Option<PublisherHandle> {
        self.publisher.lock().clone()
    }

    /// The subscriber PC's handle, if it exists.
    pub(crate) fn subscriber_handle(&self) -> Option<SubscriberHandle> {
        self.subscriber.lock().clone()
    }

    /// A snapshot of the published tracks.
    pub(crate) fn published_tracks(&self) -> Vec<PublishedTrack> {
        self.published.lock().clone()
    }

    /// Closes both peer connections.
    pub(crate) async fn close_peers(&self) {
        let publisher = self.publisher.lock().take();
        let subscriber = self.subscriber.lock().take();
        if let Some(publisher) = publisher {
            publisher.close().await;
        }
        if let Some(subscriber) = subscriber {
            subscriber.close().await;
        }
    }
}
