//! Live rooms: the in-memory state of every meeting that has participants.
//!
//! This replica owns the room: it holds the participant list, the waiting
//! room, roles, mute flags and the meeting's live settings, tells the SFU
//! what to do, and fans state changes out to every participant's socket.
//! The host's controls are in [`control`].

mod admission;
mod control;
mod dial;
mod restore;
mod video;

pub use restore::watch_media;

pub use dial::MAX_RINGING_CALLS;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use yunhui_proto::api::{AccountStatus, JoinMode, MeetingOptions, MeetingStatus};
use yunhui_proto::dial::CallControl;
use yunhui_proto::media::{MediaControl, MediaKind, VideoSubscriptions};
use yunhui_proto::signaling::{
    ChatMessage, MAX_CHAT_CHARS, MAX_VIDEO_SUBSCRIPTIONS, Participant, REACTIONS, Role,
    ServerMessage, VideoQuality, VideoSubscription, WaitingParticipant,
};

use crate::accounts;
use crate::error::{Error, Result};
use crate::licence::Licence;
use crate::live::chat;
use crate::live::outbox::{Outbound, Outbox};
use crate::live::presence::{Presence, Ring};
use crate::meetings::MeetingRecord;
use crate::metrics::Metrics;
use crate::store::Store;
use admission::{Admission, WaitReason};

/// How often the SFU is asked for the active speaker.
const SPEAKER_POLL: Duration = Duration::from_millis(400);

/// Most accounts one invitation rings.
const MAX_INVITES: usize = 50;

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

struct Member {
    info: Participant,
    account_id: Option<String>,
    device_id: Option<String>,
    outbox: Outbox,
    joined_seq: u64,
}

struct Waiter {
    id: String,
    display_name: String,
    account_id: Option<String>,
    device_id: Option<String>,
    outbox: Outbox,
    reason: WaitReason,
}

struct RoomState {
    members: HashMap<String, Member>,
    /// Earliest first.
    waiting: Vec<Waiter>,
    next_seq: u64,
    active_speaker: Option<String>,
    /// Set once the room closes: `Ended` by the host, `Waiting` when the last
    /// participant left (the meeting stays open; a new room opens on the next join).
    closed: Option<MeetingStatus>,
    locked: bool,
    spotlight: Option<String>,
    options: MeetingOptions,
    /// The tenant's licence as of the latest join.
    licence: Licence,
    /// Signed-in accounts the host removed: they may not come back while
    /// this room is open.
    removed_accounts: HashSet<String>,
    /// Devices of everyone the host removed, guests included.
    removed_devices: HashSet<String>,
    /// Accounts invited during the meeting: they may join a meeting open to
    /// invitees only.
    invited_accounts: HashSet<String>,
    /// Who watches whose video, and what each publisher was last told.
    video: video::VideoWishes,
    /// Calls placed from the meeting and not yet in it, by ticket.
    dial_tickets: HashMap<String, dial::Ticket>,
}

impl RoomState {
    fn host_present(&self) -> bool {
        self.members.values().any(|m| m.info.role == Role::Host)
    }

    fn is_host(&self, participant_id: &str) -> bool {
        self.members
            .get(participant_id)
            .is_some_and(|m| m.info.role == Role::Host)
    }

    /// `participant_id` when they may bring others in (invite, call out):
    /// the host always, everyone when the join mode lets invitees invite.
    fn inviter(&self, participant_id: &str, action: &'static str) -> Result<&Member> {
        let member = self.members.get(participant_id).ok_or(Error::NotAdmitted)?;
        if member.info.role != Role::Host && self.options.join_mode != JoinMode::InviteesMayInvite {
            return Err(Error::NotAllowed(action));
        }
        Ok(member)
    }

    fn member_mut(&mut self, participant_id: &str) -> Result<&mut Member> {
        self.members
            .get_mut(participant_id)
            .ok_or_else(|| Error::ParticipantNotFound(participant_id.to_string()))
    }

    fn meeting_state(&self) -> ServerMessage {
        ServerMessage::MeetingState {
            locked: self.locked,
            spotlight: self.spotlight.clone(),
            options: self.options.clone(),
        }
    }

    fn waiting_room(&self) -> ServerMessage {
        ServerMessage::WaitingRoom {
            waiting: self
                .waiting
                .iter()
                .filter(|w| w.reason == WaitReason::WaitingRoom)
                .map(|w| WaitingParticipant {
                    id: w.id.clone(),
                    display_name: w.display_name.clone(),
                    signed_in: w.account_id.is_some(),
                })
                .collect(),
        }
    }

    /// Participants in joining order.
    fn participants(&self) -> Vec<Participant> {
        let mut list: Vec<(u64, Participant)> = self
            .members
            .values()
            .map(|m| (m.joined_seq, m.info.clone()))
            .collect();
        list.sort_by_key(|(seq, _)| *seq);
        list.into_iter().map(|(_, p)| p).collect()
    }
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
    /// Participants in meetings per tenant (for port licences).
    tenant_participants: std::sync::Mutex<HashMap<String, usize>>,
    media: Arc<dyn MediaControl>,
    store: Store,
    metrics: Metrics,
    presence: Presence,
    /// The SIP gateway, when this deployment runs one.
    calls: std::sync::OnceLock<Arc<dyn CallControl>>,
}

/// Someone who just entered a meeting, or its waiting room.
pub struct Joined {
    /// The room joined.
    pub room: Arc<Room>,
    /// The participant's id (their waiting id while waiting).
    pub participant_id: String,
}

/// Who is joining.
pub struct Joiner {
    /// Name shown to others.
    pub display_name: String,
    /// Their account, when signed in.
    pub account_id: Option<String>,
    /// The id their client keeps for its device, if it sent one.
    pub device_id: Option<String>,
    /// The ticket of a call placed from the meeting (the SIP gateway's joins).
    pub dial_ticket: Option<String>,
    /// Their socket.
    pub outbox: Outbox,
}

impl Rooms {
    /// An empty set of rooms driving `media`.
    pub fn new(media: Arc<dyn MediaControl>, store: Store, metrics: Metrics) -> Arc<Self> {
        Arc::new(Rooms {
            rooms: Mutex::new(HashMap::new()),
            tenant_participants: std::sync::Mutex::new(HashMap::new()),
            media,
            store,
            metrics,
            presence: Presence::default(),
            calls: std::sync::OnceLock::new(),
        })
    }

    /// Lets meetings call devices and phones through `control` (the SIP
    /// gateway). Set once; later calls are ignored.
    pub fn set_call_control(&self, control: Arc<dyn CallControl>) {
        let _ = self.calls.set(control);
    }

    /// Who listens for invitations.
    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// Whether `account_id` was invited into the open room of `meeting_id`.
    pub async fn invited(&self, meeting_id: &str, account_id: &str) -> bool {
        let room = self.rooms.lock().await.get(meeting_id).cloned();
        match room {
            Some(room) => room
                .state
                .lock()
                .await
                .invited_accounts
                .contains(account_id),
            None => false,
        }
    }

    /// Rings directory users of the meeting's enterprise. The host may
    /// always invite; participants when the join mode lets invitees invite.
    /// Every id is checked before anyone rings.
    pub async fn invite(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        account_ids: Vec<String>,
    ) -> Result<()> {
        if account_ids.is_empty() || account_ids.len() > MAX_INVITES {
            return Err(Error::InvalidInput(format!(
                "invite 1 to {MAX_INVITES} accounts at a time"
            )));
        }
        let mut state = room.state.lock().await;
        let member = state.inviter(participant_id, "invite others to this meeting")?;
        let inviter = member.info.display_name.clone();
        let outbox = member.outbox.clone();
        let mut invited = Vec::new();
        for id in &account_ids {
            match accounts::account_in_tenant(&self.store, &room.meeting.tenant_id, id).await? {
                Some(account) if account.status == AccountStatus::Active => invited.push(account),
                _ => return Err(Error::AccountNotFound(id.clone())),
            }
        }
        for account in invited {
            state.invited_accounts.insert(account.id.clone());
            self.presence.ring(
                Ring {
                    account_id: &account.id,
                    display_name: &account.display_name,
                    meeting_number: &room.meeting.number,
                    topic: &room.meeting.topic,
                    inviter: &inviter,
                    link_key: &room.meeting.link_key,
                },
                Some(&outbox),
            );
        }
        Ok(())
    }

    /// The media control this replica drives.
    pub fn media(&self) -> &Arc<dyn MediaControl> {
        &self.media
    }

    /// Number of live rooms.
    pub async fn count(&self) -> usize {
        self.rooms.lock().await.len()
    }

    /// The chat history a newcomer sees (see [`chat::history`]); none, with
    /// a warning, when the store cannot give it: a join does not fail for it.
    async fn history_or_none(
        &self,
        meeting_id: &str,
        participant_id: &str,
        account_id: Option<&str>,
    ) -> Vec<ChatMessage> {
        chat::history(&self.store, meeting_id, participant_id, account_id)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "chat history unavailable");
                Vec::new()
            })
    }

    /// Puts a joiner into the meeting's room — or its waiting room when the
    /// meeting has one or waits for its host — opening the room (and its
    /// SFU room) if it is the first. The meeting's host account becomes host.
    pub async fn join(
        self: &Arc<Self>,
        meeting: MeetingRecord,
        licence: Licence,
        joiner: Joiner,
    ) -> Result<Joined> {
        let room = loop {
            let room = self.open_room(&meeting, licence).await?;
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
        // The slow parts — the SFU call and the chat history — happen before
        // the room's lock, so joins to one meeting do not queue behind them.
        // A newcomer's id is fresh: public messages are theirs to read, and
        // the private ones of their account's earlier visits.
        let history = self
            .history_or_none(&meeting.id, &participant_id, joiner.account_id.as_deref())
            .await;
        if let Err(e) = self
            .media
            .add_participant(&room.media_room, &participant_id)
            .await
        {
            self.close_if_empty(&room).await?;
            return Err(e.into());
        }
        let outcome = self
            .join_locked(&room, &meeting, licence, joiner, &participant_id, history)
            .await;
        if !matches!(outcome, Ok(true)) {
            // Waiting, or refused: not on the SFU until admitted.
            if let Err(e) = self
                .media
                .remove_participant(&room.media_room, &participant_id)
                .await
            {
                tracing::warn!(error = %e, "SFU could not remove a joiner who did not enter");
            }
        }
        if let Err(e) = outcome {
            self.close_if_empty(&room).await?;
            return Err(e);
        }
        Ok(Joined {
            room,
            participant_id,
        })
    }

    /// The part of [`Rooms::join`] under the room's lock: `true` when the
    /// joiner entered, `false` when they wait.
    async fn join_locked(
        &self,
        room: &Arc<Room>,
        meeting: &MeetingRecord,
        licence: Licence,
        joiner: Joiner,
        participant_id: &str,
        history: Vec<ChatMessage>,
    ) -> Result<bool> {
        let is_host = joiner.account_id.as_deref() == Some(meeting.host_account_id.as_str());
        let mut state = room.state.lock().await;
        if state.closed.is_some() {
            // Closed in the instant since the room was opened.
            return Err(Error::MeetingEnded(meeting.number.clone()));
        }
        state.licence = licence;
        // Someone inside called them: past the lock and the waiting room.
        let called = match &joiner.dial_ticket {
            Some(ticket) => {
                if !Self::spend_dial_ticket(&mut state, ticket) {
                    return Err(Error::EntryDenied(meeting.number.clone()));
                }
                true
            }
            None => false,
        };
        let rules = admission::Rules {
            locked: state.locked,
            waiting_room: state.options.waiting_room,
            join_before_host: state.options.join_before_host,
            host_present: state.host_present(),
        };
        let removed = joiner
            .account_id
            .as_ref()
            .is_some_and(|a| state.removed_accounts.contains(a))
            || joiner
                .device_id
                .as_ref()
                .is_some_and(|d| state.removed_devices.contains(d));
        let joining = admission::Joining {
            is_host,
            called,
            removed,
        };
        let hold = match admission::decide(rules, joining) {
            Admission::Enter => None,
            Admission::Wait(reason) => Some(reason),
            Admission::Locked => return Err(Error::MeetingLocked(meeting.number.clone())),
            Admission::Removed => return Err(Error::EntryDenied(meeting.number.clone())),
        };
        if let Some(reason) = hold {
            let _ = joiner
                .outbox
                .send(Outbound::Message(ServerMessage::Waiting {
                    participant_id: participant_id.to_string(),
                    meeting_number: meeting.number.clone(),
                    topic: meeting.topic.clone(),
                    reason: reason.as_str().into(),
                }));
            state.waiting.push(Waiter {
                id: participant_id.to_string(),
                display_name: joiner.display_name,
                account_id: joiner.account_id,
                device_id: joiner.device_id,
                outbox: joiner.outbox,
                reason,
            });
            if reason == WaitReason::WaitingRoom {
                self.tell_hosts(&state, state.waiting_room());
            }
            return Ok(false);
        }
        let role = if is_host {
            Role::Host
        } else {
            Role::Participant
        };
        self.enter(
            room,
            &mut state,
            participant_id,
            joiner,
            role,
            Some(history),
        )
        .await?;
        if is_host {
            self.host_arrived(room, &mut state).await;
        }
        Ok(true)
    }

    /// Makes `joiner` a member: licence check, SFU, the welcome messages and
    /// the news for everyone else.
    async fn enter(
        &self,
        room: &Arc<Room>,
        state: &mut RoomState,
        participant_id: &str,
        joiner: Joiner,
        role: Role,
        prepared: Option<Vec<ChatMessage>>,
    ) -> Result<()> {
        let tenant = &room.meeting.tenant_id;
        let in_tenant = self
            .tenant_participants
            .lock()
            .map(|m| m.get(tenant).copied().unwrap_or(0))
            .unwrap_or(0);
        state
            .licence
            .admit_participant(in_tenant, state.members.len())?;
        // `prepared`: the caller already put them on the SFU and read the history.
        let history = match prepared {
            Some(history) => history,
            None => {
                self.media
                    .add_participant(&room.media_room, participant_id)
                    .await?;
                self.history_or_none(
                    &room.meeting.id,
                    participant_id,
                    joiner.account_id.as_deref(),
                )
                .await
            }
        };
        let muted = state.options.mute_on_entry && role != Role::Host;
        let info = Participant {
            id: participant_id.to_string(),
            display_name: joiner.display_name,
            role,
            audio_muted: muted,
            video_enabled: true,
            audio_locked: muted && !state.options.allow_self_unmute,
            hand_raised: false,
            sharing_screen: false,
            signed_in: joiner.account_id.is_some(),
        };
        let mut participants = state.participants();
        participants.push(info.clone());
        let outbox = joiner.outbox;
        let send = |m: ServerMessage| {
            let _ = outbox.send(Outbound::Message(m));
        };
        send(ServerMessage::Joined {
            participant_id: participant_id.to_string(),
            meeting_id: room.meeting.id.clone(),
            meeting_number: room.meeting.number.clone(),
            topic: room.meeting.topic.clone(),
            participants,
        });
        send(state.meeting_state());
        if let Some(speaker) = &state.active_speaker {
            send(ServerMessage::ActiveSpeaker {
                participant_id: Some(speaker.clone()),
            });
        }
        for message in history {
            send(ServerMessage::Chat { message });
        }
        if role == Role::Host {
            send(state.waiting_room());
        }
        broadcast(
            state,
            &ServerMessage::ParticipantJoined {
                participant: info.clone(),
            },
        );
        let seq = state.next_seq;
        state.next_seq += 1;
        state.members.insert(
            participant_id.to_string(),
            Member {
                info,
                account_id: joiner.account_id,
                device_id: joiner.device_id,
                outbox,
                joined_seq: seq,
            },
        );
        // The newcomer watches everyone until it says otherwise.
        tell_publish_qualities(state);
        self.metrics.participants.inc();
        if let Ok(mut counts) = self.tenant_participants.lock() {
            *counts.entry(tenant.clone()).or_default() += 1;
        }
        Ok(())
    }

    /// A host is in: people waiting for the host enter, unless the meeting
    /// has a waiting room, where they now wait to be admitted.
    async fn host_arrived(&self, room: &Arc<Room>, state: &mut RoomState) {
        if !state.waiting.iter().any(|w| w.reason == WaitReason::Host) {
            return;
        }
        if state.options.waiting_room {
            for w in state.waiting.iter_mut() {
                if w.reason == WaitReason::Host {
                    w.reason = WaitReason::WaitingRoom;
                    let _ = w.outbox.send(Outbound::Message(ServerMessage::Waiting {
                        participant_id: w.id.clone(),
                        meeting_number: room.meeting.number.clone(),
                        topic: room.meeting.topic.clone(),
                        reason: WaitReason::WaitingRoom.as_str().into(),
                    }));
                }
            }
            self.tell_hosts(state, state.waiting_room());
            return;
        }
        let ids: Vec<String> = state
            .waiting
            .iter()
            .filter(|w| w.reason == WaitReason::Host)
            .map(|w| w.id.clone())
            .collect();
        for id in ids {
            if let Err(e) = self.admit_waiter(room, state, &id).await {
                tracing::warn!(error = %e, "could not let a waiting participant in");
            }
        }
    }

    /// Moves one waiter into the meeting.
    async fn admit_waiter(&self, room: &Arc<Room>, state: &mut RoomState, id: &str) -> Result<()> {
        let index = state
            .waiting
            .iter()
            .position(|w| w.id == id)
            .ok_or_else(|| Error::ParticipantNotFound(id.to_string()))?;
        let waiter = state.waiting.remove(index);
        let joiner = Joiner {
            display_name: waiter.display_name.clone(),
            account_id: waiter.account_id.clone(),
            device_id: waiter.device_id.clone(),
            dial_ticket: None,
            outbox: waiter.outbox.clone(),
        };
        if let Err(e) = self
            .enter(room, state, &waiter.id, joiner, Role::Participant, None)
            .await
        {
            state.waiting.insert(index, waiter);
            return Err(e);
        }
        Ok(())
    }

    /// The meeting's live room, opened (with its SFU room) if there is none.
    async fn open_room(
        self: &Arc<Self>,
        meeting: &MeetingRecord,
        licence: Licence,
    ) -> Result<Arc<Room>> {
        let mut rooms = self.rooms.lock().await;
        if let Some(room) = rooms.get(&meeting.id) {
            return Ok(room.clone());
        }
        let live_in_tenant = rooms
            .values()
            .filter(|r| r.meeting.tenant_id == meeting.tenant_id)
            .count();
        licence.open_room(live_in_tenant)?;
        let media_room = uuid::Uuid::new_v4().to_string();
        self.media.create_room(&media_room).await?;
        let room = Arc::new(Room {
            meeting: meeting.clone(),
            media_room,
            state: Mutex::new(RoomState {
                members: HashMap::new(),
                waiting: Vec::new(),
                next_seq: 0,
                active_speaker: None,
                closed: None,
                locked: false,
                spotlight: None,
                options: meeting.options.clone(),
                licence,
                removed_accounts: HashSet::new(),
                removed_devices: HashSet::new(),
                video: video::VideoWishes::default(),
                invited_accounts: HashSet::new(),
                dial_tickets: HashMap::new(),
            }),
            speaker_task: std::sync::Mutex::new(None),
        });
        rooms.insert(meeting.id.clone(), room.clone());
        self.metrics.rooms.set(rooms.len() as i64);
        let task = tokio::spawn(watch_active_speaker(self.clone(), room.clone()));
        if let Ok(mut slot) = room.speaker_task.lock() {
            *slot = Some(task);
        }
        crate::lifecycle::set_status(&self.store, &meeting.id, MeetingStatus::Live).await?;
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

    /// Closes a room nobody is in or waiting for (after a refused first join).
    async fn close_if_empty(&self, room: &Arc<Room>) -> Result<()> {
        let mut state = room.state.lock().await;
        if state.closed.is_none() && state.members.is_empty() && state.waiting.is_empty() {
            state.closed = Some(MeetingStatus::Waiting);
            drop(state);
            self.close(room, MeetingStatus::Waiting).await?;
        }
        Ok(())
    }

    fn count_out(&self, tenant: &str, n: usize) {
        if let Ok(mut counts) = self.tenant_participants.lock()
            && let Some(c) = counts.get_mut(tenant)
        {
            *c = c.saturating_sub(n);
            if *c == 0 {
                counts.remove(tenant);
            }
        }
    }

    /// Whether `participant_id` is a member (not waiting) of `room`.
    pub async fn is_member(&self, room: &Arc<Room>, participant_id: &str) -> bool {
        room.state.lock().await.members.contains_key(participant_id)
    }

    /// Whether `participant_id` is still in `room` or its waiting room.
    pub async fn is_present(&self, room: &Arc<Room>, participant_id: &str) -> bool {
        let state = room.state.lock().await;
        state.members.contains_key(participant_id)
            || state.waiting.iter().any(|w| w.id == participant_id)
    }

    /// Takes a participant (or waiter) out of its room. When the host
    /// leaves, the earliest remaining participant becomes host; when the
    /// last one leaves, the room closes (the meeting stays open for later joins).
    pub async fn leave(&self, room: &Arc<Room>, participant_id: &str) -> Result<()> {
        let mut state = room.state.lock().await;
        if let Some(index) = state.waiting.iter().position(|w| w.id == participant_id) {
            let waiter = state.waiting.remove(index);
            let _ = waiter.outbox.send(Outbound::Message(ServerMessage::Left));
            self.tell_hosts(&state, state.waiting_room());
            return self.finish_departure(room, state).await;
        }
        let Some(member) = state.members.remove(participant_id) else {
            return Ok(());
        };
        let _ = member.outbox.send(Outbound::Message(ServerMessage::Left));
        self.depart(room, &mut state, member).await;
        self.finish_departure(room, state).await
    }

    /// Everything that follows a member's departure except closing the room.
    async fn depart(&self, room: &Arc<Room>, state: &mut RoomState, member: Member) {
        self.metrics.participants.dec();
        self.count_out(&room.meeting.tenant_id, 1);
        let id = member.info.id.clone();
        state.video.forget(&id);
        tell_publish_qualities(state);
        if let Err(e) = self.media.remove_participant(&room.media_room, &id).await {
            tracing::warn!(error = %e, "SFU could not remove participant");
        }
        broadcast(
            state,
            &ServerMessage::ParticipantLeft {
                participant_id: id.clone(),
            },
        );
        if state.spotlight.as_deref() == Some(id.as_str()) {
            state.spotlight = None;
            broadcast(state, &state.meeting_state());
        }
        let host_left = member.info.role == Role::Host;
        if host_left
            && !state.host_present()
            && let Some(next) = state.members.values_mut().min_by_key(|m| m.joined_seq)
        {
            next.info.role = Role::Host;
            let update = ServerMessage::ParticipantUpdated {
                participant: next.info.clone(),
            };
            let next_id = next.info.id.clone();
            broadcast(state, &update);
            send_to(state, &next_id, state.waiting_room());
        }
        if !state.members.is_empty() {
            // The leaver's tracks are gone: everyone else renegotiates.
            self.renegotiate_all(room, state).await;
        }
    }

    /// Closes the room once nobody is in it or waiting.
    async fn finish_departure(
        &self,
        room: &Arc<Room>,
        mut state: tokio::sync::MutexGuard<'_, RoomState>,
    ) -> Result<()> {
        if state.members.is_empty() && state.waiting.is_empty() {
            state.closed = Some(MeetingStatus::Waiting);
            drop(state);
            self.close(room, MeetingStatus::Waiting).await?;
        }
        Ok(())
    }

    /// Host only: ends the meeting for everyone.
    pub async fn end(&self, room: &Arc<Room>, participant_id: &str) -> Result<()> {
        let mut state = room.state.lock().await;
        if !state.is_host(participant_id) {
            return Err(Error::NotHost("end the meeting for everyone"));
        }
        let ended = ServerMessage::MeetingEnded {
            reason: "ended_by_host".into(),
        };
        let members = state.members.len();
        for (_, member) in state.members.drain() {
            let _ = member.outbox.send(Outbound::Message(ended.clone()));
            let _ = member.outbox.send(Outbound::Close("meeting ended"));
            self.metrics.participants.dec();
        }
        self.count_out(&room.meeting.tenant_id, members);
        for waiter in state.waiting.drain(..) {
            let _ = waiter.outbox.send(Outbound::Message(ended.clone()));
            let _ = waiter.outbox.send(Outbound::Close("meeting ended"));
        }
        state.closed = Some(MeetingStatus::Ended);
        drop(state);
        self.close(room, MeetingStatus::Ended).await
    }

    /// Sets a participant's own microphone or camera state, stops or resumes
    /// forwarding at the SFU, and tells everyone. Unmuting is refused while
    /// the host keeps the participant muted.
    pub async fn set_media(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        kind: MediaKind,
        enabled: bool,
    ) -> Result<()> {
        let mut state = room.state.lock().await;
        let member = state.member_mut(participant_id)?;
        if kind == MediaKind::Audio && enabled && member.info.audio_locked {
            return Err(Error::NotAllowed(
                "unmute themselves: the host muted everyone; ask the host to unmute you",
            ));
        }
        self.forward(room, &mut state, participant_id, kind, enabled)
            .await
    }

    /// Starts or stops forwarding one kind of a member's media and tells everyone.
    async fn forward(
        &self,
        room: &Arc<Room>,
        state: &mut RoomState,
        participant_id: &str,
        kind: MediaKind,
        enabled: bool,
    ) -> Result<()> {
        state.member_mut(participant_id)?;
        self.media
            .set_forwarding(&room.media_room, participant_id, kind, enabled)
            .await?;
        let member = state.member_mut(participant_id)?;
        match kind {
            MediaKind::Audio => member.info.audio_muted = !enabled,
            MediaKind::Video => member.info.video_enabled = enabled,
        }
        let update = ServerMessage::ParticipantUpdated {
            participant: member.info.clone(),
        };
        broadcast(state, &update);
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
        let Some(member) = state.members.get(participant_id) else {
            return Err(Error::NotAdmitted);
        };
        let answer = self
            .media
            .publish(&room.media_room, participant_id, sdp)
            .await?;
        let _ = member
            .outbox
            .send(Outbound::Message(ServerMessage::PublishAnswer {
                sdp: answer.clone(),
            }));
        // Apply the current forwarding flags to the fresh tracks.
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
        if !state.members.contains_key(participant_id) {
            return Err(Error::NotAdmitted);
        }
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

    /// Sends a chat message to everyone or to one participant, and keeps it.
    /// With chat switched off, participants may still write to a host.
    pub async fn chat(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        to: Option<String>,
        text: String,
    ) -> Result<()> {
        let text = text.trim().to_string();
        let chars = text.chars().count();
        if chars == 0 || chars > MAX_CHAT_CHARS {
            return Err(Error::InvalidInput(format!(
                "a chat message has 1 to {MAX_CHAT_CHARS} characters; this one has {chars}"
            )));
        }
        let state = room.state.lock().await;
        let sender = state
            .members
            .get(participant_id)
            .ok_or(Error::NotAdmitted)?;
        if let Some(to) = &to
            && !state.members.contains_key(to)
        {
            return Err(Error::ParticipantNotFound(to.clone()));
        }
        let to_host = to.as_deref().is_some_and(|t| state.is_host(t));
        if !state.options.allow_chat && sender.info.role != Role::Host && !to_host {
            return Err(Error::NotAllowed("chat (they may still write to the host)"));
        }
        let message = ChatMessage {
            id: uuid::Uuid::new_v4().to_string(),
            from: participant_id.to_string(),
            from_name: sender.info.display_name.clone(),
            to: to.clone(),
            text,
            sent_at_ms: now_ms(),
        };
        let accounts = chat::Accounts {
            from: sender.account_id.as_deref(),
            to: to
                .as_ref()
                .and_then(|t| state.members.get(t))
                .and_then(|m| m.account_id.as_deref()),
        };
        chat::save(&self.store, &room.meeting.id, &message, accounts).await?;
        let out = ServerMessage::Chat { message };
        match to {
            None => broadcast(&state, &out),
            Some(to) => {
                send_to(&state, participant_id, out.clone());
                if to != participant_id {
                    send_to(&state, &to, out);
                }
            }
        }
        Ok(())
    }

    /// Chooses whose video `participant_id` receives and at what quality.
    /// Ids of people not in the meeting are dropped (they may have just left).
    pub async fn set_video_subscriptions(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        default: VideoQuality,
        participants: Vec<VideoSubscription>,
    ) -> Result<()> {
        if participants.len() > MAX_VIDEO_SUBSCRIPTIONS {
            return Err(Error::InvalidInput(format!(
                "a video subscription lists at most {MAX_VIDEO_SUBSCRIPTIONS} participants; this one lists {}",
                participants.len()
            )));
        }
        let subscriptions = {
            let mut state = room.state.lock().await;
            if !state.members.contains_key(participant_id) {
                return Err(Error::NotAdmitted);
            }
            let listed: HashMap<String, VideoQuality> = participants
                .into_iter()
                .filter(|s| state.members.contains_key(&s.participant_id))
                .map(|s| (s.participant_id, s.quality))
                .collect();
            let subscriptions = VideoSubscriptions {
                default,
                participants: listed
                    .iter()
                    .map(|(id, quality)| (id.clone(), *quality))
                    .collect(),
            };
            state.video.set(
                participant_id,
                video::VideoWish {
                    default,
                    participants: listed,
                },
            );
            tell_publish_qualities(&mut state);
            subscriptions
        };
        self.media
            .set_video_subscriptions(&room.media_room, participant_id, subscriptions)
            .await?;
        Ok(())
    }

    /// Raises or lowers one's own hand.
    pub async fn raise_hand(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        raised: bool,
    ) -> Result<()> {
        let mut state = room.state.lock().await;
        let member = state
            .members
            .get_mut(participant_id)
            .ok_or(Error::NotAdmitted)?;
        member.info.hand_raised = raised;
        let update = ServerMessage::ParticipantUpdated {
            participant: member.info.clone(),
        };
        broadcast(&state, &update);
        Ok(())
    }

    /// Sends a reaction to everyone.
    pub async fn react(&self, room: &Arc<Room>, participant_id: &str, emoji: String) -> Result<()> {
        if !REACTIONS.contains(&emoji.as_str()) {
            return Err(Error::InvalidInput(format!(
                "{emoji:?} is not a reaction; use one of {}",
                REACTIONS.join(" ")
            )));
        }
        let state = room.state.lock().await;
        if !state.members.contains_key(participant_id) {
            return Err(Error::NotAdmitted);
        }
        broadcast(
            &state,
            &ServerMessage::Reaction {
                participant_id: participant_id.to_string(),
                emoji,
            },
        );
        Ok(())
    }

    /// Starts or stops one's screen share: one sharer at a time, and only
    /// hosts when the host has switched sharing off.
    pub async fn set_screen_share(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        sharing: bool,
    ) -> Result<()> {
        let mut state = room.state.lock().await;
        let is_host = state.is_host(participant_id);
        if !state.members.contains_key(participant_id) {
            return Err(Error::NotAdmitted);
        }
        if sharing {
            if !state.options.allow_screen_share && !is_host {
                return Err(Error::NotAllowed("share their screen"));
            }
            if let Some(other) = state
                .members
                .values()
                .find(|m| m.info.sharing_screen && m.info.id != participant_id)
            {
                return Err(Error::InvalidInput(format!(
                    "{} is sharing their screen; one participant shares at a time",
                    other.info.display_name
                )));
            }
        }
        let member = state.member_mut(participant_id)?;
        member.info.sharing_screen = sharing;
        let update = ServerMessage::ParticipantUpdated {
            participant: member.info.clone(),
        };
        broadcast(&state, &update);
        Ok(())
    }

    /// Changes one's own display name (when the host allows it).
    pub async fn rename_self(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        display_name: String,
    ) -> Result<()> {
        let name = check_name(&display_name)?;
        let mut state = room.state.lock().await;
        if !state.members.contains_key(participant_id) {
            return Err(Error::NotAdmitted);
        }
        if !state.options.allow_rename && !state.is_host(participant_id) {
            return Err(Error::NotAllowed("rename themselves"));
        }
        rename(&mut state, participant_id, name)
    }

    fn tell_hosts(&self, state: &RoomState, message: ServerMessage) {
        for member in state.members.values() {
            if member.info.role == Role::Host {
                let _ = member.outbox.send(Outbound::Message(message.clone()));
            }
        }
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
        crate::lifecycle::set_status(&self.store, &room.meeting.id, status).await
    }
}

/// A display name trimmed and checked.
pub fn check_name(name: &str) -> Result<String> {
    let name = name.trim().to_string();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Error::InvalidInput(format!(
            "the display name needs 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name)
}

/// Checks a client's device id: 16 to 64 ASCII letters, digits, `-` or `_`.
pub fn check_device_id(device_id: &str) -> Result<()> {
    let valid_chars = device_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !(16..=64).contains(&device_id.len()) || !valid_chars {
        return Err(Error::InvalidInput(
            "the device id needs 16 to 64 letters, digits, '-' or '_'".into(),
        ));
    }
    Ok(())
}

fn rename(state: &mut RoomState, participant_id: &str, name: String) -> Result<()> {
    let member = state.member_mut(participant_id)?;
    member.info.display_name = name;
    let update = ServerMessage::ParticipantUpdated {
        participant: member.info.clone(),
    };
    broadcast(state, &update);
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn broadcast(state: &RoomState, message: &ServerMessage) {
    let Ok(text) = serde_json::to_string(message) else {
        return;
    };
    let text: Arc<str> = text.into();
    for member in state.members.values() {
        let _ = member.outbox.send(Outbound::Encoded(text.clone()));
    }
}

/// Tells every publisher whose most-watched quality changed (see [`video`]).
fn tell_publish_qualities(state: &mut RoomState) {
    for (id, max) in state.video.changes(state.members.keys()) {
        send_to(state, &id, ServerMessage::PublishQuality { max });
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
