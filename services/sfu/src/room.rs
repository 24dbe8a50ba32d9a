//! A room on this node: its participants, the fan-out list of subscriber peer
//! connections and the room's active-speaker task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::NodeContext;
use crate::control::{ControlError, MediaKind};
use crate::forwarding::{PublishedTrack, TrackKey};
use crate::mailbox::{PeerCommand, PeerInput};
use crate::participant::Participant;
use crate::speaker::SpeakerDetector;

/// How often the room re-evaluates its active speaker.
const SPEAKER_INTERVAL: Duration = Duration::from_millis(200);

/// One subscriber PC to fan packets out to.
pub(crate) struct FanOutTarget {
    pub participant: String,
    pub inbox: mpsc::Sender<PeerInput>,
}

/// A room open on this node.
pub(crate) struct Room {
    pub id: String,
    pub ctx: Arc<NodeContext>,
    participants: RwLock<HashMap<String, Arc<Participant>>>,
    fan_out: RwLock<Arc<Vec<FanOutTarget>>>,
    speaker: Mutex<SpeakerDetector>,
    active_speaker: Mutex<Option<String>>,
    speaker_task: Mutex<Option<JoinHandle<()>>>,
}

impl Room {
    /// Opens a room and starts its active-speaker task.
    pub(crate) fn open(id: &str, ctx: Arc<NodeContext>) -> Arc<Self> {
        let room = Arc::new(Self {
            id: id.to_owned(),
            ctx,
            participants: RwLock::new(HashMap::new()),
            fan_out: RwLock::new(Arc::new(Vec::new())),
            speaker: Mutex::new(SpeakerDetector::default()),
            active_speaker: Mutex::new(None),
            speaker_task: Mutex::new(None),
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
        if let Ok(mut slot) = room.speaker_task.lock() {
            *slot = Some(task);
        }
        room.ctx.metrics.rooms.inc();
        room
    }

    fn update_active_speaker(&self) {
        let participants = match self.participants.read() {
            Ok(p) => p,
            Err(_) => return,
        };
        let loudest = self.speaker.lock().ok().and_then(|speaker| {
            speaker.loudest(Instant::now(), |p| {
                participants
                    .get(p)
                    .is_some_and(|p| p.forwarding(MediaKind::Audio).is_some())
            })
        });
        if let Ok(mut active) = self.active_speaker.lock() {
            *active = loudest;
        }
    }

    /// The loudest unmuted publisher, as of the last evaluation.
    pub(crate) fn active_speaker(&self) -> Option<String> {
        self.update_active_speaker();
        self.active_speaker.lock().ok().and_then(|a| a.clone())
    }

    /// Records an audio level from `participant`'s audio.
    pub(crate) fn observe_audio_level(&self, participant: &str, level: u8, at: Instant) {
        if let Ok(mut speaker) = self.speaker.lock() {
            speaker.observe(participant, level, at);
        }
    }

    /// Adds a participant; adding one twice is a no-op.
    pub(crate) fn add_participant(&self, participant: &str) {
        if let Ok(mut participants) = self.participants.write()
            && !participants.contains_key(participant)
        {
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
            .ok()
            .and_then(|p| p.get(participant).cloned())
            .ok_or_else(|| ControlError::ParticipantNotFound {
                room: self.id.clone(),
                participant: participant.to_owned(),
            })
    }

    /// Removes a participant, closing its peer connections.
    pub(crate) async fn remove_participant(&self, participant: &str) -> Result<(), ControlError> {
        let removed = self
            .participants
            .write()
            .ok()
            .and_then(|mut p| p.remove(participant));
        let Some(removed) = removed else {
            return Err(ControlError::ParticipantNotFound {
                room: self.id.clone(),
                participant: participant.to_owned(),
            });
        };
        self.ctx.metrics.participants.dec();
        if let Ok(mut speaker) = self.speaker.lock() {
            speaker.forget(participant);
        }
        self.rebuild_fan_out();
        for peer in removed.take_peers() {
            peer.close().await;
        }
        Ok(())
    }

    /// Closes every peer connection and task of the room.
    pub(crate) async fn close(&self) {
        let removed: Vec<Arc<Participant>> = self
            .participants
            .write()
            .map(|mut p| p.drain().map(|(_, v)| v).collect())
            .unwrap_or_default();
        self.ctx.metrics.participants.sub(removed.len() as i64);
        self.rebuild_fan_out();
        for participant in removed {
            for peer in participant.take_peers() {
                peer.close().await;
            }
        }
        let task = self.speaker_task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        self.ctx.metrics.rooms.dec();
    }

    /// Every track published in the room by someone other than `participant`.
    pub(crate) fn tracks_for(&self, participant: &str) -> Vec<PublishedTrack> {
        let participants = match self.participants.read() {
            Ok(p) => p,
            Err(_) => return Vec::new(),
        };
        let mut tracks: Vec<PublishedTrack> = participants
            .values()
            .filter(|p| p.id != participant)
            .flat_map(|p| p.published_tracks())
            .collect();
        tracks.sort_by(|a, b| a.key.cmp(&b.key));
        tracks
    }

    /// Recomputes the list of subscriber PCs packets fan out to.
    pub(crate) fn rebuild_fan_out(&self) {
        let targets: Vec<FanOutTarget> = self
            .participants
            .read()
            .map(|participants| {
                participants
                    .values()
                    .filter_map(|p| {
                        p.subscriber_handle().map(|s| FanOutTarget {
                            participant: p.id.clone(),
                            inbox: s.inbox,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Ok(mut fan_out) = self.fan_out.write() {
            *fan_out = Arc::new(targets);
        }
    }

    /// The current fan-out list.
    pub(crate) fn fan_out(&self) -> Arc<Vec<FanOutTarget>> {
        self.fan_out
            .read()
            .map(|f| Arc::clone(&f))
            .unwrap_or_default()
    }

    /// Asks the publisher of `track` for a keyframe (of one simulcast layer, if given).
    pub(crate) fn request_keyframe(&self, track: &TrackKey, layer: Option<u8>) {
        let Ok(publisher) = self.participant(&track.publisher) else {
            return;
        };
        if let Some(handle) = publisher.publisher_handle() {
            let _ = handle
                .inbox
                .try_send(PeerInput::Command(PeerCommand::RequestKeyframe {
                    track_id: track.track_id.clone(),
                    layer,
                }));
        }
    }
}
