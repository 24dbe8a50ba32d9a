//! Live rooms: the in-memory state of every meeting that has participants.
//!
//! This replica owns the room: it holds the participant list, roles and
//! mute flags, tells the SFU what to do, and fans state changes out to every
//! participant's socket.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use yunhui_proto::api::MeetingStatus;
use yunhui_proto::signaling::{Participant, Role, ServerMessage};
use yunhui_sfu::control::{MediaControl, MediaKind};

use crate::error::{Error, Result};
use crate::meetings::{self, MeetingRecord};
use crate::metrics::Metrics;
use crate::store::Store;

/// What a participant's socket writer is asked to do.
#[derive(Debug)]
pub enum Outbound {
    /// Send this message.
    Message(ServerMessage),
    /// Close the socket (after the messages queued before it).
    Close,
}

/// Sender half of a participant's socket.
pub type Outbox = mpsc::UnboundedSender<Outbound>;

/// How often the SFU is asked for the active speaker.
const SPEAKER_POLL: Duration = Duration::from_millis(400);

struct Member {
    info: Participant,
    outbox: Outbox,
    joined_seq: u64,
}

struct RoomState {
    members: HashMap<String, Member>,
    next_seq: u64,
    active_speaker: Option<String>,
    /// Set once the room closes: `Ended` by the host, `Waiting` when the last
    /// participant left (the meeting stays open; a new room opens on the next join).
    closed: Option<MeetingStatus>,
}

/// One live meeting.
pub struct Room {
    /// The meeting record.
    pub meeting: MeetingRecord,
    /// Id of this room on the SFU: fresh for every opening of the meeting's
    /// room, so a closing room can never close its successor.
    pub media_room: String,
    state: Mutex<RoomState>,
    speaker_task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// Every live room of this replica.
pub struct Rooms {
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    media: Arc<dyn MediaControl>,
    store: Store,
    metrics: Metrics,
}

/// A participant who just joined.
pub struct Joined {
    /// The room joined.
    pub room: Arc<Room>,
    /// The new participant's id.
    pub participant_id: String,
}

impl Rooms {
    /// An empty set of rooms driving `media`.
    pub fn new(media: Arc<dyn MediaControl>, store: Store, metrics: Metrics) -> Arc<Self> {
        Arc::new(Rooms {
            rooms: Mutex::new(HashMap::new()),
            media,
            store,
            metrics,
        })
    }

    /// The media control this replica drives.
    pub fn media(&self) -> &Arc<dyn MediaControl> {
        &self.media
    }

    /// Number of live rooms.
    pub async fn count(&self) -> usize {
        self.rooms.lock().await.len()
    }

    /// Adds a participant to the meeting's room, opening the room (and its SFU
    /// room) if it is the first. `account_id` decides the host role.
    pub async fn join(
        self: &Arc<Self>,
        meeting: MeetingRecord,
        display_name: String,
        account_id: Option<String>,
        outbox: Outbox,
    ) -> Result<Joined> {
        let room = loop {
            let room = self.open_room(&meeting).await?;
            let closed = room.state.lock().await.closed;
            match closed {
                None => break room,
                Some(MeetingStatus::Ended) => {
                    return Err(Error::MeetingEnded(meeting.number.clone()));
                }
                // Emptied just now and on its way out: open a fresh room.
                Some(_) => self.forget(&room).await,
            }
        };
        let participant_id = uuid::Uuid::new_v4().to_string();
        let is_host = account_id.as_deref() == Some(meeting.host_account_id.as_str());
        let info = Participant {
            id: participant_id.clone(),
            display_name,
            role: if is_host {
                Role::Host
            } else {
                Role::Participant
            },
            audio_muted: false,
            video_enabled: true,
        };
        let mut state = room.state.lock().await;
        if state.closed.is_some() {
            // Closed in the instant since the check above.
            return Err(Error::MeetingEnded(meeting.number.clone()));
        }
        self.media
            .add_participant(&room.media_room, &participant_id)
            .await?;
        let mut participants: Vec<(u64, Participant)> = state
            .members
            .values()
            .map(|m| (m.joined_seq, m.info.clone()))
            .collect();
        participants.sort_by_key(|(seq, _)| *seq);
        let mut participants: Vec<Participant> = participants.into_iter().map(|(_, p)| p).collect();
        participants.push(info.clone());
        let _ = outbox.send(Outbound::Message(ServerMessage::Joined {
            participant_id: participant_id.clone(),
            meeting_id: meeting.id.clone(),
            meeting_number: meeting.number.clone(),
            topic: meeting.topic.clone(),
            participants,
        }));
        if let Some(speaker) = &state.active_speaker {
            let _ = outbox.send(Outbound::Message(ServerMessage::ActiveSpeaker {
                participant_id: Some(speaker.clone()),
            }));
        }
        broadcast(
            &state,
            &ServerMessage::ParticipantJoined {
                participant: info.clone(),
            },
        );
        let seq = state.next_seq;
        state.next_seq += 1;
        state.members.insert(
            participant_id.clone(),
            Member {
                info,
                outbox,
                joined_seq: seq,
            },
        );
        self.metrics.participants.inc();
        drop(state);
        Ok(Joined {
            room,
            participant_id,
        })
    }

    /// The meeting's live room, opened (with its SFU room) if there is none.
    async fn open_room(self: &Arc<Self>, meeting: &MeetingRecord) -> Result<Arc<Room>> {
        let mut rooms = self.rooms.lock().await;
        if let Some(room) = rooms.get(&meeting.id) {
            return Ok(room.clone());
        }
        let media_room = uuid::Uuid::new_v4().to_string();
        self.media.create_room(&media_room).await?;
        let room = Arc::new(Room {
            meeting: meeting.clone(),
            media_room,
            state: Mutex::new(RoomState {
                members: HashMap::new(),
                next_seq: 0,
                active_speaker: None,
                closed: None,
            }),
            speaker_task: std::sync::Mutex::new(None),
        });
        rooms.insert(meeting.id.clone(), room.clone());
        self.metrics.rooms.set(rooms.len() as i64);
        let task = tokio::spawn(watch_active_speaker(self.clone(), room.clone()));
        if let Ok(mut slot) = room.speaker_task.lock() {
            *slot = Some(task);
        }
        meetings::set_status(&self.store, &meeting.id, MeetingStatus::Live).await?;
        Ok(room)
    }

    /// Drops `room` from the live rooms if it is still the meeting's room.
    async fn forget(&self, room: &Arc<Room>) {
        let mut rooms = self.rooms.lock().await;
        if rooms
            .get(&room.meeting.id)
            .is_some_and(|r| Arc::ptr_eq(r, room))
        {
            rooms.remove(&room.meeting.id);
        }
        self.metrics.rooms.set(rooms.len() as i64);
    }

    /// Takes a participant out of its room. When the host leaves, the earliest
    /// remaining participant becomes host; when the last one leaves, the room
    /// closes (the meeting stays open for later joins).
    pub async fn leave(&self, room: &Arc<Room>, participant_id: &str) -> Result<()> {
        let mut state = room.state.lock().await;
        let Some(member) = state.members.remove(participant_id) else {
            return Ok(());
        };
        self.metrics.participants.dec();
        let _ = member.outbox.send(Outbound::Message(ServerMessage::Left));
        if let Err(e) = self
            .media
            .remove_participant(&room.media_room, participant_id)
            .await
        {
            tracing::warn!(error = %e, "SFU could not remove participant");
        }
        broadcast(
            &state,
            &ServerMessage::ParticipantLeft {
                participant_id: participant_id.to_string(),
            },
        );
        if state.members.is_empty() {
            state.closed = Some(MeetingStatus::Waiting);
            drop(state);
            self.close(room, MeetingStatus::Waiting).await?;
            return Ok(());
        }
        let host_left = member.info.role == Role::Host;
        let host_remains = state.members.values().any(|m| m.info.role == Role::Host);
        if host_left
            && !host_remains
            && let Some(next) = state.members.values_mut().min_by_key(|m| m.joined_seq)
        {
            next.info.role = Role::Host;
            let update = ServerMessage::ParticipantUpdated {
                participant: next.info.clone(),
            };
            broadcast(&state, &update);
        }
        // The leaver's tracks are gone: everyone else renegotiates.
        self.renegotiate_all(room, &state).await;
        Ok(())
    }

    /// Host only: ends the meeting for everyone.
    pub async fn end(&self, room: &Arc<Room>, participant_id: &str) -> Result<()> {
        let mut state = room.state.lock().await;
        let is_host = state
            .members
            .get(participant_id)
            .is_some_and(|m| m.info.role == Role::Host);
        if !is_host {
            return Err(Error::NotHost("end the meeting for everyone"));
        }
        let ended = ServerMessage::MeetingEnded {
            reason: "ended_by_host".into(),
        };
        for (_, member) in state.members.drain() {
            let _ = member.outbox.send(Outbound::Message(ended.clone()));
            let _ = member.outbox.send(Outbound::Close);
            self.metrics.participants.dec();
        }
        state.closed = Some(MeetingStatus::Ended);
        drop(state);
        self.close(room, MeetingStatus::Ended).await
    }

    /// Sets a participant's own microphone or camera state, stops or resumes
    /// forwarding at the SFU, and tells everyone.
    pub async fn set_media(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        kind: MediaKind,
        enabled: bool,
    ) -> Result<()> {
        let mut state = room.state.lock().await;
        self.media
            .set_forwarding(&room.media_room, participant_id, kind, enabled)
            .await?;
        let Some(member) = state.members.get_mut(participant_id) else {
            return Err(Error::Internal("participant is not in the room".into()));
        };
        match kind {
            MediaKind::Audio => member.info.audio_muted = !enabled,
            MediaKind::Video => member.info.video_enabled = enabled,
        }
        let update = ServerMessage::ParticipantUpdated {
            participant: member.info.clone(),
        };
        broadcast(&state, &update);
        Ok(())
    }

    /// Applies a publisher offer and renegotiates every subscriber.
    pub async fn publish(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        sdp: &str,
    ) -> Result<String> {
        let state = room.state.lock().await;
        let answer = self
            .media
            .publish(&room.media_room, participant_id, sdp)
            .await?;
        if let Some(member) = state.members.get(participant_id) {
            let _ = member
                .outbox
                .send(Outbound::Message(ServerMessage::PublishAnswer {
                    sdp: answer.clone(),
                }));
        }
        // Apply the current forwarding flags to the fresh tracks.
        if let Some(member) = state.members.get(participant_id) {
            if member.info.audio_muted {
                self.media
                    .set_forwarding(&room.media_room, participant_id, MediaKind::Audio, false)
                    .await?;
            }
            if !member.info.video_enabled {
                self.media
                    .set_forwarding(&room.media_room, participant_id, MediaKind::Video, false)
                    .await?;
            }
        }
        self.renegotiate_all(room, &state).await;
        Ok(answer)
    }

    /// Applies a subscriber answer; sends a follow-up offer if one is due.
    pub async fn subscriber_answer(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        sdp: &str,
    ) -> Result<()> {
        let state = room.state.lock().await;
        if let Some(offer) = self
            .media
            .subscribe_answer(&room.media_room, participant_id, sdp)
            .await?
        {
            send_to(
                &state,
                participant_id,
                ServerMessage::SubscriberOffer { sdp: offer },
            );
        }
        Ok(())
    }

    async fn renegotiate_all(&self, room: &Arc<Room>, state: &RoomState) {
        for id in state.members.keys() {
            match self.media.subscribe_offer(&room.media_room, id).await {
                Ok(Some(sdp)) => send_to(state, id, ServerMessage::SubscriberOffer { sdp }),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, participant = %id, "subscriber offer failed"),
            }
        }
    }

    async fn close(&self, room: &Arc<Room>, status: MeetingStatus) -> Result<()> {
        self.forget(room).await;
        if let Ok(mut slot) = room.speaker_task.lock()
            && let Some(task) = slot.take()
        {
            task.abort();
        }
        self.media.close_room(&room.media_room).await?;
        if status == MeetingStatus::Waiting
            && self.rooms.lock().await.contains_key(&room.meeting.id)
        {
            // Someone joined meanwhile and opened a fresh room: still live.
            return Ok(());
        }
        meetings::set_status(&self.store, &room.meeting.id, status).await
    }
}

fn broadcast(state: &RoomState, message: &ServerMessage) {
    for member in state.members.values() {
        let _ = member.outbox.send(Outbound::Message(message.clone()));
    }
}

fn send_to(state: &RoomState, participant_id: &str, message: ServerMessage) {
    if let Some(member) = state.members.get(participant_id) {
        let _ = member.outbox.send(Outbound::Message(message));
    }
}

async fn watch_active_speaker(rooms: Arc<Rooms>, room: Arc<Room>) {
    let mut ticker = tokio::time::interval(SPEAKER_POLL);
    loop {
        ticker.tick().await;
        let speaker = match rooms.media.active_speaker(&room.media_room).await {
            Ok(speaker) => speaker,
            Err(_) => continue,
        };
        let mut state = room.state.lock().await;
        if state.closed.is_some() {
            return;
        }
        if state.active_speaker != speaker {
            state.active_speaker = speaker.clone();
            broadcast(
                &state,
                &ServerMessage::ActiveSpeaker {
                    participant_id: speaker,
                },
            );
        }
    }
}
