//! A room on this node: its participants, what each subscriber PC can be
//! offered, and the room's active-speaker task. Media does not pass through
//! the room: each publisher PC sends its packets straight to the subscriber
//! PCs of its tracks ([`crate::mailbox::PublisherCommand::AddDownTrack`]).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::NodeContext;
use crate::control::{ControlError, MediaKind, Routing};
use crate::forwarding::PublishedTrack;
use crate::mailbox::{PublisherHandle, SubscriberCommand};
use crate::participant::Participant;
use crate::speaker;

/// How often the room re-evaluates its active speaker.
const SPEAKER_INTERVAL: Duration = Duration::from_millis(200);

/// What a participant's subscriber PC can be offered: every track the others
/// publish that its [`Routing`] lets it receive, and the publisher PCs they
/// come from.
#[derive(Default)]
pub(crate) struct Offerable {
    /// The tracks, ordered by key.
    pub tracks: Vec<PublishedTrack>,
    /// The publisher PC of each publisher of `tracks`.
    pub publishers: HashMap<String, PublisherHandle>,
}

/// A room open on this node.
pub(crate) struct Room {
    pub id: String,
    pub ctx: Arc<NodeContext>,
    participants: RwLock<HashMap<String, Arc<Participant>>>,
    active_speaker: Mutex<Option<String>>,
    speaker_task: Mutex<Option<JoinHandle<()>>>,
    /// Since when nobody in the room has had a connected peer connection,
    /// as of the last look ([`Room::unused_for`]).
    unused_since: Mutex<Option<Instant>>,
}

impl Room {
    /// Opens a room and starts its active-speaker task.
    pub(crate) fn open(id: &str, ctx: Arc<NodeContext>) -> Arc<Self> {
        let room = Arc::new(Self {
            id: id.to_owned(),
            ctx,
            participants: RwLock::new(HashMap::new()),
            active_speaker: Mutex::new(None),
            speaker_task: Mutex::new(None),
            unused_since: Mutex::new(None),
        });
        let weak = Arc::downgrade(&room);
        let guard = room.ctx.metrics.task_guard();
        let task = tokio::spawn(async move {
            let _guard = guard;
            let mut tick = tokio::time::interval(SPEAKER_INTERVAL);
            loop {
                tick.tick().await;
                let Some(room) = weak.upgrade() else { return };
                room.update_active_speaker();
            }
        });
        *room.speaker_task.lock() = Some(task);
        room.ctx.metrics.rooms.inc();
        room
    }

    fn update_active_speaker(&self) {
        let now = Instant::now();
        let loudest = {
            let participants = self.participants.read();
            speaker::loudest(
                participants
                    .values()
                    .filter(|p| p.forwarding(MediaKind::Audio).is_some())
                    .map(|p| (p.id.as_str(), p.audio_level.loudness(now))),
            )
            .map(str::to_owned)
        };
        *self.active_speaker.lock() = loudest;
    }

    /// The loudest unmuted publisher, as of the last evaluation.
    pub(crate) fn active_speaker(&self) -> Option<String> {
        self.update_active_speaker();
        self.active_speaker.lock().clone()
    }

    /// How long nobody in the room has had a connected peer connection, as
    /// of `now` (zero while somebody has one); counted from the first look
    /// that found it unused.
    pub(crate) fn unused_for(&self, now: Instant) -> Duration {
        let used = self
            .participants
            .read()
            .values()
            .any(|p| p.connected_peers.load(std::sync::atomic::Ordering::Relaxed) > 0);
        let mut since = self.unused_since.lock();
        if used {
            *since = None;
            return Duration::ZERO;
        }
        now.saturating_duration_since(*since.get_or_insert(now))
    }

    /// Adds a participant; adding one twice is a no-op.
    pub(crate) fn add_participant(&self, participant: &str) {
        let mut participants = self.participants.write();
        if !participants.contains_key(participant) {
            participants.insert(
                participant.to_owned(),
                Arc::new(Participant::new(participant)),
            );
            self.ctx.metrics.participants.inc();
        }
    }

    /// The participant, or a [`ControlError::ParticipantNotFound`].
    pub(crate) fn participant(&self, participant: &str) -> Result<Arc<Participant>, ControlError> {
        self.participants
            .read()
            .get(participant)
            .cloned()
            .ok_or_else(|| ControlError::ParticipantNotFound {
                room: self.id.clone(),
                participant: participant.to_owned(),
            })
    }

    /// Removes a participant, closing its peer connections.
    pub(crate) async fn remove_participant(&self, participant: &str) -> Result<(), ControlError> {
        let removed = self.participants.write().remove(participant);
        let Some(removed) = removed else {
            return Err(ControlError::ParticipantNotFound {
                room: self.id.clone(),
                participant: participant.to_owned(),
            });
        };
        self.ctx.metrics.participants.dec();
        removed.close_peers().await;
        Ok(())
    }

    /// Closes every peer connection and task of the room.
    pub(crate) async fn close(&self) {
        let removed: Vec<Arc<Participant>> =
            self.participants.write().drain().map(|(_, v)| v).collect();
        self.ctx.metrics.participants.sub(removed.len() as i64);
        for participant in removed {
            participant.close_peers().await;
        }
        let task = self.speaker_task.lock().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        self.ctx.metrics.rooms.dec();
    }

    /// Every track published in the room by someone other than `participant`
    /// that `participant` receives (its breakout room, its language
    /// channel: [`Routing::receives`]), with the publisher PCs they come from.
    pub(crate) fn offerable(&self, participant: &str) -> Offerable {
        let participants = self.participants.read();
        let mut offerable = Offerable::default();
        let subscriber = participants
            .get(participant)
            .map(|p| p.routing.lock().clone())
            .unwrap_or_default();
        for publisher in participants.values().filter(|p| p.id != participant) {
            let Some(handle) = publisher.publisher_handle() else {
                continue;
            };
            let routing = publisher.routing.lock().clone();
            let mut tracks = publisher.published_tracks();
            tracks.retain(|t| Routing::receives(&subscriber, &routing, t.kind));
            if !tracks.is_empty() {
                offerable.tracks.extend(tracks);
                offerable.publishers.insert(publisher.id.clone(), handle);
            }
        }
        offerable.tracks.sort_by(|a, b| a.key.cmp(&b.key));
        offerable
    }

    /// Tells every other participant's subscriber PC that `publisher` publishes
    /// from a new publisher PC, `handle`.
    pub(crate) fn announce_publisher(&self, publisher: &str, handle: &PublisherHandle) {
        let participants = self.participants.read();
        for subscriber in participants.values().filter(|p| p.id != publisher) {
            if let Some(subscriber) = subscriber.subscriber_handle() {
                subscriber.send(SubscriberCommand::PublisherStarted {
                    publisher: publisher.to_owned(),
                    handle: handle.clone(),
                });
            }
        }
    }
}
