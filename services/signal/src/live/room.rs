//! Live rooms: the in-memory state of every meeting that has participants.
//!
//! This replica owns the room: it holds the participant list, the waiting
//! room, roles, mute flags and the meeting's live settings, tells the SFU
//! what to do, and fans state changes out to every participant's socket.
//! The host's controls are in [`control`].

mod admission;
mod breakout;
mod control;
mod dial;
mod interpretation;
mod join_news;
mod leases;
mod recording;
mod restore;
mod streaming;
mod video;
mod webinar;

pub use leases::renew_leases;
pub use restore::watch_media;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;
use yunhui_proto::api::{AccountStatus, JoinMode, MeetingOptions, MeetingStatus, WebhookEvent};
use yunhui_proto::dial::CallControl;
use yunhui_proto::limits::{CHAT_CHARS, INVITES_PER_REQUEST, VIDEO_SUBSCRIPTIONS};
use yunhui_proto::media::{ControlError, MediaControl, MediaKind, Routing, VideoSubscriptions};
use yunhui_proto::signaling::{
    ChatMessage, Participant, REACTIONS, Role, ServerMessage, VideoQuality, VideoSubscription,
    WaitingParticipant,
};

use crate::accounts;
use crate::error::{Error, Result};
use crate::licence::Licence;
use crate::live::chat;
use crate::live::outbox::{Outbound, Outbox};
use crate::live::ownership::{Claim, Ownership};
use crate::live::presence::board::{self, CallBoard};
use crate::live::presence::{Presence, Ring};
use crate::meetings::MeetingRecord;
use crate::metrics::Metrics;
use crate::store::Store;
use admission::{Admission, WaitReason};

/// How often the SFU is asked for the active speaker.
const SPEAKER_POLL: Duration = Duration::from_millis(400);

struct Member {
    info: Participant,
    account_id: Option<String>,
    device_id: Option<String>,
    outbox: Outbox,
    joined_seq: u64,
    /// The recorder: in the room to receive its media, but in nobody's
    /// participant list, licence count or host succession.
    hidden: bool,
    /// Has published media: their leaving changes what others receive.
    published: bool,
    /// Interpretation: the language channel they hear besides the original.
    listening: Option<String>,
    /// When their media was last restarted at their own request.
    media_restarted: Option<std::time::Instant>,
    /// `info` as last encoded for a newcomer's roster: encoded again only
    /// once `info` changed, not once per newcomer.
    encoded: parking_lot::Mutex<Option<(Participant, Arc<str>)>>,
}

impl Member {
    /// `info` in JSON.
    fn encoded(&self) -> Arc<str> {
        let mut cache = self.encoded.lock();
        if let Some((info, text)) = cache.as_ref()
            && *info == self.info
        {
            return text.clone();
        }
        let text: Arc<str> = serde_json::to_string(&self.info).unwrap_or_default().into();
        *cache = Some((self.info.clone(), text.clone()));
        text
    }

    /// What the SFU passes to and from this member: their breakout room
    /// and language channels.
    fn routing(&self) -> Routing {
        Routing {
            group: self.info.breakout.clone(),
            speaks_into: self.info.interpreter.as_ref().map(|pair| pair.to.clone()),
            listens_to: self.listening.clone(),
        }
    }
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
    /// The cloud recording.
    recording: recording::Recording,
    /// The live stream.
    streaming: streaming::Streaming,
    /// A webinar's questions.
    questions: webinar::Questions,
    /// The breakout rooms, once the host created some.
    breakouts: Option<breakout::Session>,
    /// Newcomers not announced yet (see [`join_news`]): behind a lock of
    /// its own so that any broadcast, which reads the state, can flush them.
    join_news: parking_lot::Mutex<join_news::Pending>,
}

impl RoomState {
    fn host_present(&self) -> bool {
        self.members.values().any(|m| m.info.role == Role::Host)
    }

    /// Members everyone sees (all but the recorder).
    fn visible(&self) -> usize {
        self.members.values().filter(|m| !m.hidden).count()
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
        let may = member.info.role == Role::Host
            || (member.info.role.on_panel()
                && self.options.join_mode == JoinMode::InviteesMayInvite);
        if !may {
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
            recording: self.recording.state,
            streaming: self.streaming.shown(),
            languages: interpretation::languages(self),
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

    /// The participants `viewer` sees (see [`webinar::sees`]), in joining
    /// order, each in JSON.
    fn roster_seen_by(&self, viewer: &Participant) -> Vec<Arc<str>> {
        let mut list: Vec<(u64, Arc<str>)> = self
            .members
            .values()
            .filter(|m| !m.hidden && webinar::sees(viewer, &m.info))
            .map(|m| (m.joined_seq, m.encoded()))
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
    /// `None` while the room opens on the SFU, then how that went.
    opened: watch::Sender<Option<Result<(), OpenError>>>,
    speaker_task: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

/// Why a room could not open; everyone who waited for it is told.
#[derive(Debug, Clone)]
enum OpenError {
    Media(ControlError),
    Store(String),
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Media(e) => Error::Media(e),
            OpenError::Store(message) => Error::Unavailable(format!(
                "the meeting's room could not open ({message}); try again"
            )),
        }
    }
}

/// A member's id and socket, taken from the room's state for work done
/// after its lock is released.
type Target = (String, Outbox);

/// What a change of a room's state leaves to do once the room's lock is
/// released: SFU calls, side by side where they are independent.
#[derive(Default)]
#[must_use = "a room change's SFU work is done by Rooms::apply"]
struct Effects {
    /// Members whose forwarding of one kind of media the SFU must bring
    /// in line with the room.
    forwarding: Vec<(String, MediaKind)>,
    /// Participants who left: off the SFU.
    removed: Vec<String>,
    /// Waiters to let in (on the SFU first, then into the room).
    admit: Vec<String>,
    /// Members whose subscriber connection needs a new offer.
    renegotiate: Vec<Target>,
    /// Members whose routing (breakout room, language channels) the SFU
    /// must bring in line with the room, before the new offers.
    routing: Vec<String>,
    /// A breakout timer to set.
    timer: Option<breakout::Timer>,
}

impl Effects {
    /// Both `self`'s work and `other`'s.
    fn and(mut self, other: Effects) -> Effects {
        self.forwarding.extend(other.forwarding);
        self.removed.extend(other.removed);
        self.admit.extend(other.admit);
        self.renegotiate.extend(other.renegotiate);
        self.routing.extend(other.routing);
        self.timer = other.timer.or(self.timer);
        self
    }
}

/// Every live room of this replica.
pub struct Rooms {
    /// This set itself, for the tasks it starts (breakout timers).
    me: std::sync::Weak<Rooms>,
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    /// Participants in meetings per tenant (for port licences).
    tenant_participants: parking_lot::Mutex<HashMap<String, usize>>,
    media: Arc<dyn MediaControl>,
    store: Store,
    metrics: Metrics,
    presence: Arc<Presence>,
    /// Calls shared with the other replicas, when several run.
    ringing: std::sync::OnceLock<Arc<CallBoard>>,
    /// The SIP gateway, when this deployment runs one.
    calls: std::sync::OnceLock<Arc<dyn CallControl>>,
    /// The TURN server participants are handed on join, when there is one.
    turn: std::sync::OnceLock<crate::live::turn_credentials::TurnService>,
    /// Where participants' comings and goings go for the tenant's webhooks.
    webhooks: std::sync::OnceLock<crate::webhooks::Emitter>,
    /// Where each meeting's participant count goes, for the licence's use.
    usage: std::sync::OnceLock<crate::licence::usage::Recorder>,
    /// The meetings' leases, when several replicas run side by side.
    ownership: std::sync::OnceLock<Arc<Ownership>>,
    /// The recorder, when this deployment runs one.
    recorder: std::sync::OnceLock<recording::Recorder>,
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
    /// The ticket of the meeting's recording (the recorder's joins).
    pub recorder_ticket: Option<String>,
    /// Their socket.
    pub outbox: Outbox,
}

impl Rooms {
    /// An empty set of rooms driving `media`.
    pub fn new(media: Arc<dyn MediaControl>, store: Store, metrics: Metrics) -> Arc<Self> {
        Arc::new_cyclic(|me| Rooms {
            me: me.clone(),
            rooms: Mutex::new(HashMap::new()),
            tenant_participants: parking_lot::Mutex::new(HashMap::new()),
            media,
            store,
            metrics,
            presence: Arc::default(),
            ringing: std::sync::OnceLock::new(),
            calls: std::sync::OnceLock::new(),
            turn: std::sync::OnceLock::new(),
            webhooks: std::sync::OnceLock::new(),
            usage: std::sync::OnceLock::new(),
            ownership: std::sync::OnceLock::new(),
            recorder: std::sync::OnceLock::new(),
        })
    }

    /// Hands every participant who joins from now on credentials for `turn`.
    /// Set once; later calls are ignored.
    pub fn set_turn(&self, turn: crate::live::turn_credentials::TurnService) {
        let _ = self.turn.set(turn);
    }

    /// Tells the tenants' webhooks who joins and leaves meetings. Set once;
    /// later calls are ignored.
    pub fn set_webhooks(&self, emitter: crate::webhooks::Emitter) {
        let _ = self.webhooks.set(emitter);
    }

    /// Writes each meeting's participant count as it changes, for the
    /// licence's use. Set once; later calls are ignored.
    pub fn set_usage(&self, recorder: crate::licence::usage::Recorder) {
        let _ = self.usage.set(recorder);
    }

    /// Queues the room's participant count for the licence's use (never
    /// waits: called under the room's lock).
    fn tell_usage(&self, room: &Room, participants: usize) {
        if let Some(recorder) = self.usage.get() {
            recorder.tell(crate::licence::usage::Occupancy {
                tenant_id: room.meeting.tenant_id.clone(),
                meeting_id: room.meeting.id.clone(),
                participants,
            });
        }
    }

    /// Queues a participant's event for the tenant's webhooks (never waits:
    /// called under the room's lock).
    fn tell_webhooks(
        &self,
        room: &Room,
        kind: WebhookEvent,
        who: &Participant,
        account_id: Option<&str>,
    ) {
        if let Some(emitter) = self.webhooks.get() {
            emitter.emit(crate::webhooks::Event {
                tenant_id: room.meeting.tenant_id.clone(),
                kind,
                data: serde_json::json!({
                    "meeting_id": room.meeting.id,
                    "meeting_number": room.meeting.number,
                    "topic": room.meeting.topic,
                    "participant_id": who.id,
                    "display_name": who.display_name,
                    "account_id": account_id,
                    "role": who.role,
                }),
            });
        }
    }

    /// Makes this replica one of several: a meeting's room opens only on
    /// the replica holding its lease. Set once; later calls are ignored.
    pub fn set_ownership(&self, ownership: Arc<Ownership>) {
        let _ = self.ownership.set(ownership);
    }

    /// The leases of this replica's meetings, when it is one of several.
    pub fn ownership(&self) -> Option<&Arc<Ownership>> {
        self.ownership.get()
    }

    /// Where a join to `meeting_id` goes: `None` for this replica (its room
    /// is open here, the lease is now this replica's, or there is only one
    /// replica), or the base URL of the replica that owns the meeting.
    pub async fn owner_elsewhere(&self, meeting_id: &str) -> Result<Option<String>> {
        let Some(ownership) = self.ownership.get() else {
            return Ok(None);
        };
        if self.rooms.lock().await.contains_key(meeting_id) && ownership.held(meeting_id).is_some()
        {
            return Ok(None);
        }
        match ownership.claim(meeting_id).await? {
            Claim::Here { .. } => Ok(None),
            Claim::Elsewhere { url } => Ok(Some(url)),
        }
    }

    /// The meetings whose rooms are open on this replica.
    pub async fn meeting_ids(&self) -> HashSet<String> {
        self.rooms.lock().await.keys().cloned().collect()
    }

    /// Lets meetings call devices and phones through `control` (the SIP
    /// gateway). Set once; later calls are ignored.
    pub fn set_call_control(&self, control: Arc<dyn CallControl>) {
        let _ = self.calls.set(control);
    }

    /// Lets meetings be recorded by `control` (the recorder), whose files
    /// are in `dir` (when this replica can read them). Set once; later
    /// calls are ignored.
    pub fn set_record_control(
        &self,
        control: Arc<dyn yunhui_proto::recording::RecordControl>,
        dir: Option<std::path::PathBuf>,
    ) {
        let _ = self.recorder.set(recording::Recorder { control, dir });
    }

    /// Whether meetings can call and be called by SIP devices (a SIP
    /// gateway is connected).
    pub fn has_call_control(&self) -> bool {
        self.calls.get().is_some()
    }

    /// Who listens for invitations.
    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// Shares the calls placed during meetings with the other replicas
    /// through `board` (several replicas run), and rings theirs here.
    pub fn share_calls(&self, board: Arc<CallBoard>) {
        if self.ringing.set(board.clone()).is_ok() {
            self.presence.share_across_replicas();
            board::spawn_sync(board, Arc::downgrade(&self.presence));
        }
    }

    /// Answers a call ringing on one of `account_id`'s sockets here; the
    /// other replicas learn of it when the call rings there too.
    pub async fn answer_call(&self, account_id: &str, call_id: &str, accept: bool) -> Result<()> {
        let shared = self.presence.answer(account_id, call_id, accept)?;
        if shared && let Some(board) = self.ringing.get() {
            board.answer(call_id, accept).await?;
        }
        Ok(())
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
        if account_ids.is_empty() || account_ids.len() > INVITES_PER_REQUEST {
            return Err(Error::InvalidInput(format!(
                "invite 1 to {INVITES_PER_REQUEST} accounts at a time"
            )));
        }
        let (inviter, outbox) = {
            let state = room.state.lock().await;
            let member = state.inviter(participant_id, "invite others to this meeting")?;
            (member.info.display_name.clone(), member.outbox.clone())
        };
        let mut invited = Vec::new();
        for id in &account_ids {
            match accounts::account_in_tenant(&self.store, &room.meeting.tenant_id, id).await? {
                Some(account) if account.status == AccountStatus::Active => invited.push(account),
                _ => return Err(Error::AccountNotFound(id.clone())),
            }
        }
        {
            let mut state = room.state.lock().await;
            // Still allowed to, now that the accounts are read.
            state.inviter(participant_id, "invite others to this meeting")?;
            state
                .invited_accounts
                .extend(invited.iter().map(|a| a.id.clone()));
        }
        for account in invited {
            let placed = self.presence.ring(
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
            // The invitee's sockets on the other replicas ring too.
            if let (Some(placed), Some(board)) = (placed, self.ringing.get())
                && let Err(e) = board.place(&placed).await
            {
                tracing::warn!(error = %e, "a call could not be shared with the other replicas");
            }
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
        meeting: &MeetingRecord,
        participant_id: &str,
        account_id: Option<&str>,
        called: bool,
    ) -> Vec<ChatMessage> {
        // The role they will have: a webinar's panel reads what was written to it.
        let is_host = account_id == Some(meeting.host_account_id.as_str());
        let on_panel = webinar::entry_role(&meeting.options, is_host, called).on_panel();
        chat::history(
            &self.store,
            &meeting.id,
            participant_id,
            account_id,
            on_panel,
        )
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
        let is_recorder = joiner.recorder_ticket.is_some();
        // The slow parts — the SFU call and the chat history — happen before
        // the room's lock, so joins to one meeting do not queue behind them.
        // A newcomer's id is fresh: public messages are theirs to read, and
        // the private ones of their account's earlier visits.
        let history = self
            .history_or_none(
                &meeting,
                &participant_id,
                joiner.account_id.as_deref(),
                joiner.dial_ticket.is_some(),
            )
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
        if !matches!(outcome, Ok(Some(_))) {
            // Waiting, or refused: not on the SFU until admitted.
            if let Err(e) = self
                .media
                .remove_participant(&room.media_room, &participant_id)
                .await
            {
                tracing::warn!(error = %e, "SFU could not remove a joiner who did not enter");
            }
        }
        match outcome {
            Err(e) => {
                self.close_if_empty(&room).await?;
                return Err(e);
            }
            // A host came in: whoever waited for them follows.
            Ok(Some(effects)) => {
                if let Err(e) = self.apply(&room, effects).await {
                    tracing::warn!(error = %e, "could not let everyone waiting for the host in");
                }
                if !is_recorder {
                    self.auto_record(&room).await;
                }
            }
            Ok(None) => {}
        }
        Ok(Joined {
            room,
            participant_id,
        })
    }

    /// The part of [`Rooms::join`] under the room's lock: what is left to
    /// do when the joiner entered, `None` when they wait.
    async fn join_locked(
        &self,
        room: &Arc<Room>,
        meeting: &MeetingRecord,
        licence: Licence,
        joiner: Joiner,
        participant_id: &str,
        history: Vec<ChatMessage>,
    ) -> Result<Option<Effects>> {
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
        let dialled = called;
        // The meeting's recorder, whom the host started.
        let hidden = match &joiner.recorder_ticket {
            Some(ticket) => {
                if !Self::spend_recorder_ticket(&mut state, ticket, participant_id) {
                    return Err(Error::EntryDenied(meeting.number.clone()));
                }
                true
            }
            None => false,
        };
        let called = called || hidden;
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
            return Ok(None);
        }
        let role = webinar::entry_role(&state.options, is_host, dialled);
        self.enter(
            room,
            &mut state,
            participant_id,
            joiner,
            role,
            history,
            hidden,
        )?;
        let mut effects = Effects::default();
        if let Some(target) = offer_at_entry(&state, participant_id) {
            effects.renegotiate.push(target);
        }
        if is_host {
            effects.admit = self.host_arrived(room, &mut state);
        }
        Ok(Some(effects))
    }

    /// Makes `joiner` a member — already on the SFU, with the chat history
    /// they see: licence check, the welcome messages and the news for
    /// everyone else. A `hidden` member (the recorder) is not counted and
    /// not announced.
    #[allow(clippy::too_many_arguments)]
    fn enter(
        &self,
        room: &Arc<Room>,
        state: &mut RoomState,
        participant_id: &str,
        joiner: Joiner,
        role: Role,
        history: Vec<ChatMessage>,
        hidden: bool,
    ) -> Result<()> {
        let tenant = &room.meeting.tenant_id;
        let in_tenant = self
            .tenant_participants
            .lock()
            .get(tenant)
            .copied()
            .unwrap_or(0);
        if !hidden {
            state
                .licence
                .admit_participant(in_tenant, state.visible())?;
        }
        let muted = state.options.mute_on_entry && role != Role::Host;
        let attendee = role == Role::Attendee;
        let info = Participant {
            id: participant_id.to_string(),
            display_name: joiner.display_name,
            role,
            audio_muted: muted || attendee,
            video_enabled: !attendee,
            audio_locked: muted && !state.options.allow_self_unmute,
            hand_raised: false,
            sharing_screen: false,
            signed_in: joiner.account_id.is_some(),
            talk_allowed: false,
            breakout: None,
            interpreter: None,
        };
        // The roster from each member's JSON, encoded once, not once per newcomer.
        let mut roster = state.roster_seen_by(&info);
        if !hidden {
            roster.push(serde_json::to_string(&info).unwrap_or_default().into());
        }
        let outbox = joiner.outbox;
        let send = |m: ServerMessage| {
            let _ = outbox.send(Outbound::Message(m));
        };
        let joined = ServerMessage::Joined {
            participant_id: participant_id.to_string(),
            meeting_id: room.meeting.id.clone(),
            meeting_number: room.meeting.number.clone(),
            topic: room.meeting.topic.clone(),
            participants: Vec::new(),
            ice_servers: (self.turn.get())
                .map(|turn| {
                    let node = self.media.turn_of(&room.media_room);
                    turn.ice_servers(participant_id, node.as_ref())
                })
                .unwrap_or_default(),
        };
        if let Some(text) = join_news::with_roster(&joined, &roster) {
            let _ = outbox.send(Outbound::Encoded(text));
        }
        send(state.meeting_state());
        if let Some(speaker) = &state.active_speaker {
            send(ServerMessage::ActiveSpeaker {
                participant_id: Some(speaker.clone()),
            });
        }
        for message in history {
            send(ServerMessage::Chat { message });
        }
        for question in state.questions.seen_by(&info) {
            send(ServerMessage::Question { question });
        }
        if let Some(breakouts) = &state.breakouts {
            send(ServerMessage::Breakouts {
                breakouts: Some(breakouts.shown()),
            });
        }
        if role == Role::Host {
            send(state.waiting_room());
        }
        if !hidden && state.join_news.lock().add(participant_id.to_string()) {
            // The others hear of the newcomer at the room's next tick.
            self.tell_joins_at_tick(room);
        }
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
                hidden,
                published: false,
                listening: None,
                media_restarted: None,
                encoded: Default::default(),
            },
        );
        // The newcomer watches everyone until it says otherwise.
        tell_publish_qualities(state);
        if hidden {
            return Ok(());
        }
        if let Some(member) = state.members.get(participant_id) {
            self.tell_webhooks(
                room,
                WebhookEvent::ParticipantJoined,
                &member.info,
                member.account_id.as_deref(),
            );
        }
        self.metrics.participants.inc();
        *self
            .tenant_participants
            .lock()
            .entry(tenant.clone())
            .or_default() += 1;
        self.tell_usage(room, state.visible());
        Ok(())
    }

    /// Sets the room's next tick, when the members are told of the
    /// newcomers since the last one ([`join_news`]).
    fn tell_joins_at_tick(&self, room: &Arc<Room>) {
        let room = room.clone();
        let span = room_span("join news", &room);
        tokio::spawn(
            async move {
                tokio::time::sleep(join_news::TICK).await;
                let state = room.state.lock().await;
                state.join_news.lock().ticked();
                tell_joins(&state);
            }
            .instrument(span),
        );
    }

    /// A host is in: people waiting for the host now wait to be admitted
    /// when the meeting has a waiting room; otherwise they are returned, to
    /// be let in.
    fn host_arrived(&self, room: &Arc<Room>, state: &mut RoomState) -> Vec<String> {
        if !state.waiting.iter().any(|w| w.reason == WaitReason::Host) {
            return Vec::new();
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
            return Vec::new();
        }
        state
            .waiting
            .iter()
            .filter(|w| w.reason == WaitReason::Host)
            .map(|w| w.id.clone())
            .collect()
    }

    /// Lets waiters in. Each is put on the SFU and reads the chat history
    /// with the room unlocked (side by side), then enters if still waiting;
    /// whoever cannot enter (gone meanwhile, or over the licence) is taken
    /// off the SFU again. The first error is returned after the others went in.
    async fn admit(&self, room: &Arc<Room>, ids: Vec<String>) -> Result<()> {
        let waiters: Vec<(String, Option<String>)> = {
            let state = room.state.lock().await;
            state
                .waiting
                .iter()
                .filter(|w| ids.contains(&w.id))
                .map(|w| (w.id.clone(), w.account_id.clone()))
                .collect()
        };
        let prepared = join_all(waiters.iter().map(|(id, account)| async move {
            self.media.add_participant(&room.media_room, id).await?;
            Ok::<_, Error>(
                self.history_or_none(&room.meeting, id, account.as_deref(), false)
                    .await,
            )
        }))
        .await;
        let mut first_error = None;
        let mut undo = Vec::new();
        let mut offer = Vec::new();
        {
            let mut state = room.state.lock().await;
            for ((id, _), prepared) in waiters.into_iter().zip(prepared) {
                let history = match prepared {
                    Ok(history) => history,
                    Err(e) => {
                        first_error.get_or_insert(e);
                        continue;
                    }
                };
                let Some(index) = state.waiting.iter().position(|w| w.id == id) else {
                    undo.push(id);
                    continue;
                };
                if state.closed.is_some() {
                    undo.push(id);
                    continue;
                }
                let waiter = state.waiting.remove(index);
                let joiner = Joiner {
                    display_name: waiter.display_name.clone(),
                    account_id: waiter.account_id.clone(),
                    device_id: waiter.device_id.clone(),
                    dial_ticket: None,
                    recorder_ticket: None,
                    outbox: waiter.outbox.clone(),
                };
                let role = webinar::entry_role(&state.options, false, false);
                if let Err(e) = self.enter(room, &mut state, &id, joiner, role, history, false) {
                    state.waiting.insert(index, waiter);
                    undo.push(id);
                    first_error.get_or_insert(e);
                } else if let Some(target) = offer_at_entry(&state, &id) {
                    offer.push(target);
                }
            }
            self.tell_hosts(&state, state.waiting_room());
        }
        self.remove_from_media(room, undo).await;
        self.renegotiate(room, offer).await;
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The meeting's live room, opened (with its SFU room) if there is none.
    /// The replica's rooms are locked only to look the room up or put it in:
    /// the SFU call and the status write happen outside, once, in a task of
    /// their own (a joiner who gives up does not leave the room half open),
    /// and every joiner of the meeting waits for their outcome.
    async fn open_room(
        self: &Arc<Self>,
        meeting: &MeetingRecord,
        licence: Licence,
    ) -> Result<Arc<Room>> {
        let room = {
            let mut rooms = self.rooms.lock().await;
            match rooms.get(&meeting.id) {
                Some(room) => room.clone(),
                None => {
                    let live_in_tenant = rooms
                        .values()
                        .filter(|r| r.meeting.tenant_id == meeting.tenant_id)
                        .count();
                    licence.open_room(live_in_tenant)?;
                    let room = Arc::new(Room {
                        meeting: meeting.clone(),
                        media_room: uuid::Uuid::new_v4().to_string(),
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
                            recording: recording::Recording::default(),
                            streaming: streaming::Streaming::default(),
                            questions: webinar::Questions::default(),
                            breakouts: None,
                            join_news: Default::default(),
                        }),
                        opened: watch::Sender::new(None),
                        speaker_task: parking_lot::Mutex::new(None),
                    });
                    rooms.insert(meeting.id.clone(), room.clone());
                    self.metrics.rooms.set(rooms.len() as i64);
                    let span = room_span("open_room", &room);
                    tokio::spawn(self.clone().open_media(room.clone()).instrument(span));
                    room
                }
            }
        };
        let mut opened = room.opened.subscribe();
        let outcome = opened
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Error::Unavailable("the meeting's room could not open".into()))?
            .clone();
        match outcome {
            Some(Err(e)) => Err(e.into()),
            _ => Ok(room),
        }
    }

    /// Opens a new room's SFU room and marks the meeting live; on failure the
    /// room is dropped (and a later join tries afresh).
    async fn open_media(self: Arc<Self>, room: Arc<Room>) {
        match crate::tenants::media_region(&self.store, &room.meeting.tenant_id).await {
            Ok(Some(region)) => self.media.prefer_region(&room.media_room, &region),
            Ok(None) => {}
            // Placed without a preference rather than not at all.
            Err(error) => tracing::warn!(%error, "the tenant's media region could not be read"),
        }
        let outcome = match self.media.create_room(&room.media_room).await {
            Err(e) => Err(OpenError::Media(e)),
            Ok(()) => {
                crate::lifecycle::set_status(&self.store, &room.meeting.id, MeetingStatus::Live)
                    .await
                    .map_err(|e| OpenError::Store(e.to_string()))
            }
        };
        if let Err(error) = &outcome {
            tracing::warn!(?error, meeting = %room.meeting.number, "a meeting's room could not open");
            room.state.lock().await.closed = Some(MeetingStatus::Waiting);
            self.forget(&room).await;
            if matches!(error, OpenError::Store(_))
                && let Err(e) = self.media.close_room(&room.media_room).await
            {
                tracing::warn!(error = %e, "SFU could not close a room that failed to open");
            }
        } else {
            let span = room_span("active_speaker", &room);
            let task =
                tokio::spawn(watch_active_speaker(self.clone(), room.clone()).instrument(span));
            *room.speaker_task.lock() = Some(task);
        }
        room.opened.send_replace(Some(outcome));
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
        let emptied = close_when_empty(&mut *room.state.lock().await);
        if emptied {
            self.close(room, MeetingStatus::Waiting).await?;
        }
        Ok(())
    }

    fn count_out(&self, tenant: &str, n: usize) {
        let mut counts = self.tenant_participants.lock();
        if let Some(c) = counts.get_mut(tenant) {
            *c = c.saturating_sub(n);
            if *c == 0 {
                counts.remove(tenant);
            }
        }
    }

    /// Does what changes of a room's state left for after its lock: SFU
    /// removals, then waiters let in, then forwarding brought in line and
    /// new subscriber offers, side by side. The first error is returned
    /// after everything was tried.
    async fn apply(&self, room: &Arc<Room>, effects: Effects) -> Result<()> {
        let Effects {
            forwarding,
            removed,
            admit,
            renegotiate,
            routing,
            timer,
        } = effects;
        if let Some(timer) = timer {
            self.set_breakout_timer(room, timer);
        }
        let mut routing = routing;
        routing.sort();
        routing.dedup();
        let mut renegotiate = renegotiate;
        renegotiate.sort_by(|a, b| a.0.cmp(&b.0));
        renegotiate.dedup_by(|a, b| a.0 == b.0);
        self.remove_from_media(room, removed).await;
        let admitted = if admit.is_empty() {
            Ok(())
        } else {
            self.admit(room, admit).await
        };
        let synced = join_all(
            forwarding
                .iter()
                .map(|(id, kind)| self.sync_forwarding(room, id, *kind)),
        )
        .await;
        let routed = join_all(routing.iter().map(|id| self.sync_routing(room, id))).await;
        self.renegotiate(room, renegotiate).await;
        admitted?;
        routed.into_iter().collect::<Result<()>>()?;
        synced.into_iter().collect()
    }

    /// Brings the SFU's routing of a member in line with the room's state,
    /// repeating (as [`Rooms::sync_forwarding`] does) if it changed meanwhile.
    async fn sync_routing(&self, room: &Arc<Room>, participant_id: &str) -> Result<()> {
        let wanted = |state: &RoomState| state.members.get(participant_id).map(Member::routing);
        let Some(mut routing) = wanted(&*room.state.lock().await) else {
            return Ok(());
        };
        loop {
            self.media
                .set_routing(&room.media_room, participant_id, routing.clone())
                .await?;
            match wanted(&*room.state.lock().await) {
                Some(now) if now != routing => routing = now,
                _ => return Ok(()),
            }
        }
    }

    /// Takes participants off the SFU (a failure is only logged: they are
    /// gone from the room either way).
    async fn remove_from_media(&self, room: &Arc<Room>, ids: Vec<String>) {
        join_all(ids.iter().map(|id| async move {
            if let Err(e) = self.media.remove_participant(&room.media_room, id).await {
                tracing::warn!(error = %e, participant = %id, "SFU could not remove participant");
            }
        }))
        .await;
    }

    /// Brings the SFU's forwarding of one kind of a member's media in line
    /// with the room's state, which changes first and is told to everyone.
    /// Calls from different changes may reach the SFU in either order, so
    /// each one looks again afterwards and repeats if the room changed.
    async fn sync_forwarding(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        kind: MediaKind,
    ) -> Result<()> {
        let wanted = |state: &RoomState| {
            state
                .members
                .get(participant_id)
                .map(|m| webinar::forwards(&m.info, kind))
        };
        let Some(mut enabled) = wanted(&*room.state.lock().await) else {
            return Ok(());
        };
        loop {
            self.media
                .set_forwarding(&room.media_room, participant_id, kind, enabled)
                .await?;
            match wanted(&*room.state.lock().await) {
                Some(now) if now != enabled => enabled = now,
                _ => return Ok(()),
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
        let (effects, emptied) = {
            let mut state = room.state.lock().await;
            let effects =
                if let Some(index) = state.waiting.iter().position(|w| w.id == participant_id) {
                    let waiter = state.waiting.remove(index);
                    let _ = waiter.outbox.send(Outbound::Message(ServerMessage::Left));
                    self.tell_hosts(&state, state.waiting_room());
                    Effects::default()
                } else if state.members.contains_key(participant_id) {
                    // Whoever was not told of their join yet is, before their leaving.
                    tell_joins(&state);
                    let Some(member) = state.members.remove(participant_id) else {
                        return Ok(());
                    };
                    let _ = member.outbox.send(Outbound::Message(ServerMessage::Left));
                    self.depart(room, &mut state, member)
                } else {
                    return Ok(());
                };
            (effects, close_when_empty(&mut state))
        };
        self.apply(room, effects).await?;
        if emptied {
            self.close(room, MeetingStatus::Waiting).await?;
        }
        Ok(())
    }

    /// Everything that follows a member's departure except closing the
    /// room; the SFU's part is in the returned effects.
    fn depart(&self, room: &Arc<Room>, state: &mut RoomState, member: Member) -> Effects {
        let id = member.info.id.clone();
        state.video.forget(&id);
        tell_publish_qualities(state);
        if member.hidden {
            if state.recording.recorder.as_deref() == Some(id.as_str()) {
                state.recording.recorder = None;
            }
            if state.streaming.recorder.as_deref() == Some(id.as_str()) {
                state.streaming.recorder = None;
            }
            // Nobody receives the recorder's media: only the SFU hears of it.
            return Effects {
                removed: vec![id],
                ..Effects::default()
            };
        }
        self.metrics.participants.dec();
        self.count_out(&room.meeting.tenant_id, 1);
        self.tell_usage(room, state.visible());
        self.tell_webhooks(
            room,
            WebhookEvent::ParticipantLeft,
            &member.info,
            member.account_id.as_deref(),
        );
        tell_about(
            state,
            &member.info,
            &ServerMessage::ParticipantLeft {
                participant_id: id.clone(),
            },
        );
        breakout::forget(state, &id);
        if state.spotlight.as_deref() == Some(id.as_str()) || member.info.interpreter.is_some() {
            // The spotlight, or a language channel, may be gone.
            state.spotlight = state.spotlight.take().filter(|s| *s != id);
            broadcast(state, &state.meeting_state());
        }
        let host_left = member.info.role == Role::Host;
        if host_left
            && !state.host_present()
            && let Some(next) = state
                .members
                .values_mut()
                .filter(|m| !m.hidden && m.info.role.on_panel())
                .min_by_key(|m| m.joined_seq)
        {
            // The longest present of the others (of a webinar's panel) takes over.
            next.info.role = Role::Host;
            let next_id = next.info.id.clone();
            tell_update(state, &next_id);
            send_to(state, &next_id, state.waiting_room());
        }
        Effects {
            removed: vec![id],
            // The leaver's tracks are gone: everyone else renegotiates (a
            // webinar's attendees mostly published nothing).
            renegotiate: if member.published {
                subscribers(state)
            } else {
                Vec::new()
            },
            ..Effects::default()
        }
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
        let members = state.visible();
        for (_, member) in state.members.drain() {
            let _ = member.outbox.send(Outbound::Message(ended.clone()));
            let _ = member.outbox.send(Outbound::Close("meeting ended".into()));
            if !member.hidden {
                self.metrics.participants.dec();
                self.tell_webhooks(
                    room,
                    WebhookEvent::ParticipantLeft,
                    &member.info,
                    member.account_id.as_deref(),
                );
            }
        }
        self.count_out(&room.meeting.tenant_id, members);
        self.tell_usage(room, 0);
        for waiter in state.waiting.drain(..) {
            let _ = waiter.outbox.send(Outbound::Message(ended.clone()));
            let _ = waiter.outbox.send(Outbound::Close("meeting ended".into()));
        }
        state.closed = Some(MeetingStatus::Ended);
        drop(state);
        self.close(room, MeetingStatus::Ended).await
    }

    /// Sets a participant's own microphone or camera state, tells everyone,
    /// and stops or resumes forwarding at the SFU. Unmuting is refused while
    /// the host keeps the participant muted.
    pub async fn set_media(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        kind: MediaKind,
        enabled: bool,
    ) -> Result<()> {
        let effects = {
            let mut state = room.state.lock().await;
            let member = state.member_mut(participant_id)?;
            if kind == MediaKind::Audio && enabled && member.info.audio_locked {
                return Err(Error::NotAllowed(
                    "unmute themselves: the host muted everyone; ask the host to unmute you",
                ));
            }
            if enabled {
                webinar::may_switch_on(&member.info, kind)?;
            }
            forward(&mut state, participant_id, kind, enabled)?
        };
        self.apply(room, effects).await
    }

    /// Applies a publisher offer and renegotiates every subscriber.
    pub async fn publish(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        sdp: &str,
    ) -> Result<String> {
        let outbox = {
            let mut state = room.state.lock().await;
            let member = state
                .members
                .get_mut(participant_id)
                .ok_or(Error::NotAdmitted)?;
            webinar::may_publish(&member.info)?;
            // Before the SFU has the tracks: whoever is offered them hears
            // of their end when this member leaves.
            member.published = true;
            member.outbox.clone()
        };
        let answer = self
            .media
            .publish(&room.media_room, participant_id, sdp)
            .await?;
        let _ = outbox.send(Outbound::Message(ServerMessage::PublishAnswer {
            sdp: answer.clone(),
        }));
        let effects = {
            let state = room.state.lock().await;
            let Some(member) = state.members.get(participant_id) else {
                // Left while the SFU answered.
                return Ok(answer);
            };
            // Fresh tracks forward: those the participant has off are
            // brought in line.
            let forwarding = [MediaKind::Audio, MediaKind::Video]
                .into_iter()
                .filter(|kind| !webinar::forwards(&member.info, *kind))
                .map(|kind| (participant_id.to_string(), kind))
                .collect();
            Effects {
                forwarding,
                renegotiate: subscribers(&state),
                ..Effects::default()
            }
        };
        self.apply(room, effects).await?;
        Ok(answer)
    }

    /// Applies a subscriber answer; sends a follow-up offer if one is due.
    pub async fn subscriber_answer(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        sdp: &str,
    ) -> Result<()> {
        let outbox = member_outbox(room, participant_id).await?;
        if let Some(offer) = self
            .media
            .subscribe_answer(&room.media_room, participant_id, sdp)
            .await?
        {
            let _ = outbox.send(Outbound::Message(ServerMessage::SubscriberOffer {
                sdp: offer,
            }));
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
        to_panel: bool,
        text: String,
    ) -> Result<()> {
        let text = text.trim().to_string();
        let chars = text.chars().count();
        if chars == 0 || chars > CHAT_CHARS {
            return Err(Error::InvalidInput(format!(
                "a chat message has 1 to {CHAT_CHARS} characters; this one has {chars}"
            )));
        }
        let (message, accounts) = {
            let state = room.state.lock().await;
            let sender = state
                .members
                .get(participant_id)
                .ok_or(Error::NotAdmitted)?;
            if let Some(to) = &to
                && !state
                    .members
                    .get(to)
                    .is_some_and(|m| webinar::sees(&sender.info, &m.info))
            {
                // A webinar's attendee writes to the panel, not to other attendees.
                return Err(Error::ParticipantNotFound(to.clone()));
            }
            if to_panel && (to.is_some() || !state.options.webinar) {
                return Err(Error::InvalidInput(
                    "to_panel is for webinars, and goes with no `to`".into(),
                ));
            }
            let to_host = to_panel || to.as_deref().is_some_and(|t| state.is_host(t));
            if !state.options.allow_chat && sender.info.role != Role::Host && !to_host {
                return Err(Error::NotAllowed("chat (they may still write to the host)"));
            }
            let message = ChatMessage {
                id: uuid::Uuid::new_v4().to_string(),
                from: participant_id.to_string(),
                from_name: sender.info.display_name.clone(),
                to: to.clone(),
                to_panel,
                // To everyone, from a breakout room: to that room.
                breakout: sender.info.breakout.clone().filter(|_| to.is_none()),
                text,
                sent_at_ms: now_ms(),
            };
            let from = sender.account_id.clone();
            let to_account = to
                .as_ref()
                .and_then(|t| state.members.get(t))
                .and_then(|m| m.account_id.clone());
            (message, (from, to_account))
        };
        // Kept before anyone reads it: a joiner meanwhile finds it in the history.
        let (from, to_account) = &accounts;
        let accounts = chat::Accounts {
            from: from.as_deref(),
            to: to_account.as_deref(),
        };
        chat::save(&self.store, &room.meeting.id, &message, accounts).await?;
        let state = room.state.lock().await;
        let breakout = message.breakout.clone();
        let out = ServerMessage::Chat { message };
        match to {
            None if breakout.is_some() => send_encoded(
                state
                    .members
                    .values()
                    .filter(|m| m.info.breakout == breakout || m.info.id == participant_id),
                &out,
            ),
            None if to_panel => send_encoded(
                state
                    .members
                    .values()
                    .filter(|m| m.info.role.on_panel() || m.info.id == participant_id),
                &out,
            ),
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
        if participants.len() > VIDEO_SUBSCRIPTIONS {
            return Err(Error::InvalidInput(format!(
                "a video subscription lists at most {VIDEO_SUBSCRIPTIONS} participants; this one lists {}",
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
        tell_update(&state, participant_id);
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
            if state
                .members
                .get(participant_id)
                .is_some_and(|m| !m.info.role.on_panel())
            {
                return Err(Error::NotAllowed("share their screen as webinar attendees"));
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
        tell_update(&state, participant_id);
        Ok(())
    }

    /// Changes one's own display name (when the host allows it).
    pub async fn rename_self(
        &self,
        room: &Arc<Room>,
        participant_id: &str,
        display_name: String,
    ) -> Result<()> {
        let name = accounts::check_display_name(&display_name)?;
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

    /// Asks the SFU for a new subscriber offer for each of `targets`, side
    /// by side, and sends each to its member.
    async fn renegotiate(&self, room: &Arc<Room>, targets: Vec<Target>) {
        join_all(targets.into_iter().map(|(id, outbox)| async move {
            match self.media.subscribe_offer(&room.media_room, &id).await {
                Ok(Some(sdp)) => {
                    let _ = outbox.send(Outbound::Message(ServerMessage::SubscriberOffer { sdp }));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, participant = %id, "subscriber offer failed"),
            }
        }))
        .await;
    }

    async fn close(&self, room: &Arc<Room>, status: MeetingStatus) -> Result<()> {
        self.forget(room).await;
        if let Some(task) = room.speaker_task.lock().take() {
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

/// The socket of member `participant_id` (not someone waiting).
async fn member_outbox(room: &Room, participant_id: &str) -> Result<Outbox> {
    let state = room.state.lock().await;
    let member = state
        .members
        .get(participant_id)
        .ok_or(Error::NotAdmitted)?;
    Ok(member.outbox.clone())
}

/// A span for work of `room` outside any participant's socket.
fn room_span(name: &'static str, room: &Room) -> tracing::Span {
    tracing::info_span!(
        "room",
        task = name,
        tenant = %room.meeting.tenant_id,
        meeting = %room.meeting.number,
        room = %room.media_room,
    )
}

/// A newcomer who will publish nothing (the recorder, a webinar's
/// attendee), so no publish of their own brings them what the others
/// publish: they are offered it at once.
fn offer_at_entry(state: &RoomState, participant_id: &str) -> Option<Target> {
    let member = state.members.get(participant_id)?;
    (member.hidden || member.info.role == Role::Attendee)
        .then(|| (participant_id.to_string(), member.outbox.clone()))
}

/// Every member, to send a new subscriber offer to.
fn subscribers(state: &RoomState) -> Vec<Target> {
    state
        .members
        .values()
        .map(|m| (m.info.id.clone(), m.outbox.clone()))
        .collect()
}

/// Marks a room nobody is in or waiting for, and with no call of its own
/// ringing, as closing: `true` when the caller must now close it (after
/// releasing the lock). The recorder, who
/// stays in no empty room, is sent away: it finishes its file.
fn close_when_empty(state: &mut RoomState) -> bool {
    // A call placed from the room (a scheduled meeting's device, say) that
    // still rings keeps it open for the callee to join.
    if state.closed.is_none()
        && state.visible() == 0
        && state.waiting.is_empty()
        && state.dial_tickets.is_empty()
    {
        state.closed = Some(MeetingStatus::Waiting);
        for (_, member) in state.members.drain() {
            let _ = member
                .outbox
                .send(Outbound::Close("everyone left the meeting".into()));
        }
        return true;
    }
    false
}

/// Sets whether one kind of a member's media flows and tells everyone; the
/// SFU follows through the returned effects.
fn forward(
    state: &mut RoomState,
    participant_id: &str,
    kind: MediaKind,
    enabled: bool,
) -> Result<Effects> {
    let member = state.member_mut(participant_id)?;
    match kind {
        MediaKind::Audio => member.info.audio_muted = !enabled,
        MediaKind::Video => member.info.video_enabled = enabled,
    }
    tell_update(state, participant_id);
    Ok(Effects {
        forwarding: vec![(participant_id.to_string(), kind)],
        ..Effects::default()
    })
}

fn rename(state: &mut RoomState, participant_id: &str, name: String) -> Result<()> {
    let member = state.member_mut(participant_id)?;
    member.info.display_name = name;
    tell_update(state, participant_id);
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn broadcast(state: &RoomState, message: &ServerMessage) {
    tell_joins(state);
    send_encoded(state.members.values(), message);
}

/// Tells every member of the newcomers not announced yet (see
/// [`join_news`]), as they are now; one who left meanwhile is not named.
fn tell_joins(state: &RoomState) {
    let ids = state.join_news.lock().take();
    if ids.is_empty() {
        return;
    }
    let mut newcomers: Vec<join_news::Seat> = ids
        .iter()
        .filter_map(|id| state.members.get(id))
        .map(|m| join_news::Seat {
            seq: m.joined_seq,
            info: &m.info,
        })
        .collect();
    newcomers.sort_by_key(|n| n.seq);
    let seats = state.members.values().map(|m| join_news::Seat {
        seq: m.joined_seq,
        info: &m.info,
    });
    for (id, frame) in join_news::frames(&newcomers, seats) {
        if let Some(member) = state.members.get(id) {
            let _ = member.outbox.send(Outbound::Encoded(frame));
        }
    }
}

/// Sends `message`, encoded once, to each of `members`.
fn send_encoded<'a>(members: impl Iterator<Item = &'a Member>, message: &ServerMessage) {
    let Ok(text) = serde_json::to_string(message) else {
        return;
    };
    let text: Arc<str> = text.into();
    for member in members {
        let _ = member.outbox.send(Outbound::Encoded(text.clone()));
    }
}

/// Sends news about `subject` (their joining, a change, their leaving) to
/// every member who sees them (see [`webinar::sees`]).
fn tell_about(state: &RoomState, subject: &Participant, message: &ServerMessage) {
    tell_joins(state);
    send_encoded(
        state
            .members
            .values()
            .filter(|m| webinar::sees(&m.info, subject)),
        message,
    );
}

/// Tells everyone who sees member `who` of their changed state.
fn tell_update(state: &RoomState, who: &str) {
    if let Some(member) = state.members.get(who) {
        tell_about(
            state,
            &member.info,
            &ServerMessage::ParticipantUpdated {
                participant: member.info.clone(),
            },
        );
    }
}

/// Tells everyone of member `who`'s change from `before`: those who saw and
/// still see them get the update, those who see them only now hear of them
/// as joining, and those who no longer see them as leaving.
fn tell_change(state: &RoomState, before: &Participant, who: &str) {
    let Some(after) = state.members.get(who).map(|m| &m.info) else {
        return;
    };
    tell_joins(state);
    let encode =
        |message: ServerMessage| serde_json::to_string(&message).ok().map(Arc::<str>::from);
    let updated = encode(ServerMessage::ParticipantUpdated {
        participant: after.clone(),
    });
    let joined = encode(ServerMessage::ParticipantJoined {
        participant: after.clone(),
    });
    let left = encode(ServerMessage::ParticipantLeft {
        participant_id: who.to_string(),
    });
    for member in state.members.values() {
        let news = if member.info.id == who {
            &updated
        } else {
            match (
                webinar::sees(&member.info, before),
                webinar::sees(&member.info, after),
            ) {
                (true, true) => &updated,
                (false, true) => &joined,
                (true, false) => &left,
                (false, false) => continue,
            }
        };
        if let Some(text) = news {
            let _ = member.outbox.send(Outbound::Encoded(text.clone()));
        }
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
