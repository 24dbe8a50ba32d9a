//! The signaling protocol: JSON text frames over one WebSocket per participant
//! at `/api/v1/signal`.
//!
//! Every frame is one object with a `"type"` field naming the message.
//! A session goes:
//! 1. server sends [`ServerMessage::Hello`] with the protocol version;
//! 2. client sends [`ClientMessage::Join`]; the server answers
//!    [`ServerMessage::Joined`] or [`ServerMessage::Error`] (the socket stays
//!    open after an error, so the client may retry, e.g. with a password);
//! 3. media: the client publishes with [`ClientMessage::PublishOffer`] and
//!    receives [`ServerMessage::PublishAnswer`]; the server sends
//!    [`ServerMessage::SubscriberOffer`] whenever the set of tracks the client
//!    should receive changes, and the client replies with
//!    [`ClientMessage::SubscriberAnswer`]. The SFU is ICE-lite and its
//!    candidates are in its SDP, so no candidate trickling is needed. Every
//!    forwarded track carries its publisher's participant id as its media
//!    stream id (`msid`), which is how a client puts it on the right tile;
//! 4. state changes arrive as `participant_*` (joins batched per tick:
//!    `participants_joined`), `meeting_state`,
//!    `active_speaker`, `chat` and `meeting_ended` messages until the client
//!    sends [`ClientMessage::Leave`] or closes the socket.
//!
//! A join may be put on hold first ([`ServerMessage::Waiting`]): the meeting
//! has a waiting room or waits for its host. Hosts control the meeting with
//! [`ClientMessage::Host`]; every [`HostCommand`] is refused to anyone else.
//!
//! Frames larger than [`limits::FRAME_BYTES`](crate::limits::FRAME_BYTES) are refused with
//! [`ErrorCode::MessageTooLarge`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::api::MeetingOptions;

/// Version of this protocol. Bumped on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 1;

/// The WebSocket close code (1012, "service restart") with which the server
/// closes a signaling socket whose client should join the meeting again:
/// the server holding the meeting went away, or the meeting moved to
/// another signal replica. The same join (a new participant id) reaches the
/// meeting's new home; the clients do it on their own. A socket that drops
/// without a close frame is treated the same way. Every other close (the
/// meeting ended, the host removed the participant) is final.
pub const CLOSE_JOIN_AGAIN: u16 = 1012;

/// Header of a signaling socket's upgrade request carrying the deployment's
/// internal key: a service that opens the socket for someone else (another
/// signal replica relaying a participant, the SIP gateway for a device)
/// proves with it that [`CLIENT_ADDRESS_HEADER`] may be believed.
pub const INTERNAL_KEY_HEADER: &str = "x-yunhui-internal-key";

/// Header of a signaling socket's upgrade request naming the address of the
/// participant the socket acts for (believed only with
/// [`INTERNAL_KEY_HEADER`]): password attempts are throttled by it.
pub const CLIENT_ADDRESS_HEADER: &str = "x-yunhui-client-address";

/// Messages a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Join a meeting by its number.
    Join {
        /// The 9–11 digit meeting number (spaces and dashes are ignored).
        meeting_number: String,
        /// Name shown to others.
        display_name: String,
        /// Meeting password, when the meeting has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        password: Option<String>,
        /// The key from a join link; replaces the password.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        link_key: Option<String>,
        /// Bearer token of a signed-in account (guests omit it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        token: Option<String>,
        /// A random id the client keeps for this device (e.g. in the
        /// browser's local storage), 16 to 64 letters, digits, `-` or `_`.
        /// When the host removes someone, their device may not rejoin the
        /// meeting either, so a removed guest cannot simply come back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        device_id: Option<String>,
        /// The one-time ticket of a call placed from the meeting
        /// ([`ClientMessage::Dial`]): the SIP gateway joins the answered call
        /// with it, past the password, the waiting room and the lock, since
        /// someone in the meeting called them in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        dial_ticket: Option<String>,
        /// The one-time ticket of a recording started in the meeting
        /// ([`HostCommand::StartRecording`]): the recorder joins with it,
        /// past the password, the waiting room and the lock, and is left out
        /// of the participant list (everyone sees the recording state in
        /// [`ServerMessage::MeetingState`] instead).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        recorder_ticket: Option<String>,
    },
    /// Leave the meeting; others stay. If the host leaves, host passes on.
    Leave,
    /// Host only: end the meeting for everyone.
    EndMeeting,
    /// Mute or unmute one's own microphone. Muted audio is not forwarded.
    SetAudioMuted {
        /// `true` to mute.
        muted: bool,
    },
    /// Turn one's own camera on or off. Video that is off is not forwarded.
    SetVideoEnabled {
        /// `true` to send video.
        enabled: bool,
    },
    /// SDP offer of the client's publishing peer connection.
    PublishOffer {
        /// The SDP.
        sdp: String,
    },
    /// SDP answer to a [`ServerMessage::SubscriberOffer`].
    SubscriberAnswer {
        /// The SDP.
        sdp: String,
    },
    /// This client's media path died while its signaling socket lives (its
    /// peer connections failed, or stayed disconnected, e.g. a firewall
    /// began dropping UDP or the route changed): the server connects the
    /// participant's media anew on the SFU and answers with
    /// [`ServerMessage::MediaRestart`], handled as after a node restart.
    /// Others stop receiving this participant's tracks until it publishes
    /// again. At most one per
    /// [`limits::MEDIA_RESTART_INTERVAL_MS`](crate::limits::MEDIA_RESTART_INTERVAL_MS);
    /// sooner is refused with [`ErrorCode::TooManyAttempts`].
    RestartMedia,
    /// Send a chat message to everyone (`to` omitted; from a breakout room,
    /// everyone in it), to one participant, or in a webinar to the panel
    /// (`to_panel`: the host and panelists).
    /// When the host has switched chat off, participants may still write to
    /// the host (and the panel).
    Chat {
        /// Recipient's participant id; omitted for everyone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        to: Option<String>,
        /// Webinar: to the host and panelists only (`to` omitted).
        #[serde(default)]
        to_panel: bool,
        /// The text, 1 to [`limits::CHAT_CHARS`](crate::limits::CHAT_CHARS) characters.
        text: String,
    },
    /// Raise or lower one's own hand.
    RaiseHand {
        /// `true` to raise.
        raised: bool,
    },
    /// Send a reaction to everyone (one of [`REACTIONS`]).
    React {
        /// The reaction, e.g. `"👍"`.
        emoji: String,
    },
    /// Start or stop sharing one's screen (when sharing is allowed).
    SetScreenShare {
        /// `true` when sharing.
        sharing: bool,
    },
    /// Change one's own display name (when renaming is allowed).
    Rename {
        /// The new name, 1 to 64 characters.
        display_name: String,
    },
    /// Invite directory users of the meeting's enterprise: their
    /// listening sockets ring ([`ServerMessage::IncomingCall`]) and the
    /// sender follows each call through [`ServerMessage::InviteStatus`].
    /// The host may always invite; participants when the meeting's join
    /// mode is `invitees_may_invite`. Invited accounts may join a meeting
    /// open to invitees only.
    Invite {
        /// Account ids.
        account_ids: Vec<String>,
    },
    /// Call a SIP room system or a phone into the meeting through the SIP
    /// gateway. Allowed to whoever may [`ClientMessage::Invite`]. The sender
    /// follows the call through [`ServerMessage::DialStatus`]; an answered
    /// call joins as a participant with audio only, and hangs up when it is
    /// removed or the meeting ends.
    Dial {
        /// Whom to call.
        target: DialTarget,
    },
    /// Instead of joining: ring this socket when the signed-in account is
    /// invited to a meeting (answered with [`ServerMessage::Listening`]).
    Listen {
        /// Bearer token of the account.
        token: String,
    },
    /// Accept or decline an [`ServerMessage::IncomingCall`] on a listening
    /// socket. Accepting tells the inviter; the client then joins the
    /// meeting (on another socket) with the call's link key.
    AnswerCall {
        /// The call.
        call_id: String,
        /// `true` to accept.
        accept: bool,
    },
    /// Choose whose video this client receives, and at what quality: the
    /// tiles on screen at their size. Off-screen participants `off`,
    /// thumbnails `low`, the main view `high`. Replaces the previous choice;
    /// until the first one every participant's video arrives at `high`.
    /// Audio always arrives. A publisher sending simulcast is forwarded at
    /// the best layer it sends at or below the quality asked for; one without
    /// simulcast at any quality but `off`. Ids of participants who are not
    /// (or no longer) in the meeting are ignored, so a list sent as someone
    /// leaves is not an error. At most [`limits::VIDEO_SUBSCRIPTIONS`](crate::limits::VIDEO_SUBSCRIPTIONS) entries.
    SetVideoSubscriptions {
        /// The quality of everyone not listed.
        default: VideoQuality,
        /// Participants at another quality than `default`.
        #[serde(default)]
        participants: Vec<VideoSubscription>,
    },
    /// Host only: one of the host's controls (see [`HostCommand`]).
    Host {
        /// What to do.
        command: HostCommand,
    },
    /// Webinar Q&A: ask the panel a question (1 to
    /// [`limits::QUESTION_CHARS`](crate::limits::QUESTION_CHARS) characters).
    Ask {
        /// The question.
        text: String,
    },
    /// Webinar Q&A, host and panelists: answer a question, publicly (every
    /// viewer then sees the question and this answer) or privately (the
    /// asker and the panel only).
    AnswerQuestion {
        /// The question.
        question_id: String,
        /// The answer.
        text: String,
        /// Only the asker reads it.
        #[serde(default)]
        private: bool,
    },
    /// Webinar Q&A, host and panelists: close a question without answering.
    DismissQuestion {
        /// The question.
        question_id: String,
    },
    /// Interpretation: hear a language channel (one of
    /// [`ServerMessage::MeetingState`]'s `languages`): its interpreters'
    /// audio arrives besides the original, which a client plays quieter.
    /// `null` hears the original only. Audio of a channel not chosen is not
    /// sent to this client at all.
    ChooseLanguage {
        /// The channel's language, e.g. `en`; `null` for none.
        language: Option<String>,
    },
    /// Breakout rooms, while they are open: go into one (`room_id`), or
    /// back to the main room (`null`). A participant may go into the room
    /// they are assigned to, into any room when the options let participants
    /// choose, and back to the main room when the options allow returning;
    /// the host may visit any room. Media follows at once: the peer
    /// connection stays, its tracks change.
    JoinBreakout {
        /// The breakout room, or `null` for the main room.
        room_id: Option<String>,
    },
    /// Breakout rooms: ask the hosts to come and help
    /// ([`ServerMessage::HelpRequested`]).
    AskForHelp,
}

/// An interpreter's languages: they hear `from` (the original) and speak
/// into the channel of `to`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub struct LanguagePair {
    /// The language interpreted from, e.g. `zh`.
    pub from: String,
    /// The language interpreted into: the channel their audio goes to, e.g. `en`.
    pub to: String,
}

/// How participants are spread over newly created breakout rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum BreakoutAssignment {
    /// Everyone but the hosts, spread evenly at random.
    Random,
    /// Nobody yet: the host assigns with [`HostCommand::AssignBreakout`].
    Manual,
    /// Nobody: participants choose their room (the options let them).
    SelfSelect,
}

/// The breakout options of the manual's 5.2.1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BreakoutOptions {
    /// Participants may choose their breakout room.
    #[serde(default)]
    pub allow_choose: bool,
    /// Participants may return to the main room at any time.
    #[serde(default)]
    pub allow_return: bool,
    /// Opening moves everyone assigned into their room; otherwise each
    /// joins theirs with [`ClientMessage::JoinBreakout`].
    #[serde(default = "yes")]
    pub auto_move: bool,
    /// The rooms close by themselves this long after opening (the client
    /// asks in minutes); `null`: when the host closes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub close_after_seconds: Option<u32>,
    /// Closing counts down this long, shown to everyone, before everyone is
    /// back in the main room; 0 closes at once. Default 60.
    #[serde(default = "default_countdown")]
    pub countdown_seconds: u32,
}

fn yes() -> bool {
    true
}

fn default_countdown() -> u32 {
    60
}

impl Default for BreakoutOptions {
    fn default() -> Self {
        BreakoutOptions {
            allow_choose: false,
            allow_return: false,
            auto_move: true,
            close_after_seconds: None,
            countdown_seconds: default_countdown(),
        }
    }
}

/// One breakout room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BreakoutRoom {
    /// Room id.
    pub id: String,
    /// Name shown, 1 to 64 characters.
    pub name: String,
    /// Participant ids assigned to it (where each is now is their
    /// [`Participant`]'s `breakout`).
    pub assigned: Vec<String>,
}

/// A meeting's breakout rooms, as everyone in it sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Breakouts {
    /// The rooms, in creation order.
    pub rooms: Vec<BreakoutRoom>,
    /// How participants were spread when the rooms were created.
    pub assignment: BreakoutAssignment,
    /// The options.
    pub options: BreakoutOptions,
    /// The rooms are open: participants are (or may go) in them.
    pub open: bool,
    /// When open: time opened, milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub opened_at_ms: Option<i64>,
    /// Closing: when everyone will be back in the main room, milliseconds
    /// since the Unix epoch (the countdown runs until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub closing_at_ms: Option<i64>,
}

/// Whom a [`ClientMessage::Dial`] calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DialTarget {
    /// A SIP device (room system, H.323 device behind a SIP gateway, SIP
    /// phone): `sip:user@host[:port]`, the `sip:` optional.
    Sip {
        /// The device's SIP address, at most [`limits::DIAL_TARGET_CHARS`](crate::limits::DIAL_TARGET_CHARS) characters.
        uri: String,
    },
    /// A telephone number, called through the deployment's SIP trunk:
    /// digits, optionally after a `+`, 3 to 20 of them (spaces and dashes
    /// are ignored).
    Phone {
        /// The number.
        number: String,
    },
}

/// Where a call placed with [`ClientMessage::Dial`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DialState {
    /// The gateway is placing the call.
    Calling,
    /// The far end rings.
    Ringing,
    /// Answered: the device is in the meeting (`participant_id`).
    Answered,
    /// Not answered: busy, declined, unreachable, no answer (`reason`).
    Failed,
    /// The call was answered and is over now.
    Ended,
}

/// How much of a participant's video a client receives, lowest first. With
/// simulcast the SFU forwards the best layer at or below the quality asked
/// for (or the lowest it has, when none is); a publisher without simulcast
/// sends its one stream at any quality but `Off`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS,
)]
#[serde(rename_all = "snake_case")]
pub enum VideoQuality {
    /// None: the tile is not on screen.
    Off,
    /// The lowest simulcast layer (a thumbnail).
    Low,
    /// The middle layer.
    Medium,
    /// The full picture (the main view).
    #[default]
    High,
}

impl VideoQuality {
    /// The highest simulcast layer (0 = lowest) this quality takes, `None` for `Off`.
    pub fn max_layer(self) -> Option<u8> {
        match self {
            VideoQuality::Off => None,
            VideoQuality::Low => Some(0),
            VideoQuality::Medium => Some(1),
            VideoQuality::High => Some(2),
        }
    }
}

/// One participant's video quality in [`ClientMessage::SetVideoSubscriptions`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct VideoSubscription {
    /// Whose video.
    pub participant_id: String,
    /// How much of it.
    pub quality: VideoQuality,
}

/// What the host may do during a meeting. Every one of these is refused
/// with [`ErrorCode::NotHost`] when sent by anyone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum HostCommand {
    /// Mute one participant at the SFU. Whether they may unmute themselves
    /// follows the meeting's `allow_self_unmute` setting.
    Mute {
        /// Who.
        participant_id: String,
    },
    /// Lift a host mute and ask the participant to unmute: they get
    /// [`ServerMessage::UnmuteRequested`] and decide (nobody's microphone is
    /// opened without them).
    Unmute {
        /// Who.
        participant_id: String,
    },
    /// Stop forwarding one participant's video.
    StopVideo {
        /// Who.
        participant_id: String,
    },
    /// Ask a participant to start their video ([`ServerMessage::StartVideoRequested`]).
    AskToStartVideo {
        /// Who.
        participant_id: String,
    },
    /// Put one participant's video in focus for everyone (`null` clears it).
    Spotlight {
        /// Who, or nobody.
        participant_id: Option<String>,
    },
    /// Hand the host role to another participant; the sender becomes a participant.
    MakeHost {
        /// Who.
        participant_id: String,
    },
    /// Change a participant's display name.
    Rename {
        /// Who.
        participant_id: String,
        /// The new name, 1 to 64 characters.
        display_name: String,
    },
    /// Remove a participant from the meeting; they get [`ServerMessage::Removed`].
    Remove {
        /// Who.
        participant_id: String,
    },
    /// Lower a participant's raised hand.
    LowerHand {
        /// Who.
        participant_id: String,
    },
    /// Lower every raised hand.
    LowerAllHands,
    /// Webinar: let an attendee talk (their audio reaches everyone; they
    /// get [`ServerMessage::UnmuteRequested`]) or stop it (their audio stops
    /// at the SFU).
    AllowTalk {
        /// The attendee.
        participant_id: String,
        /// `true` to allow, `false` to revoke.
        allowed: bool,
    },
    /// Webinar: make an attendee a panelist, or a panelist an attendee.
    SetRole {
        /// Who.
        participant_id: String,
        /// `panelist` or `attendee`.
        role: Role,
    },
    /// Mute everyone but the hosts. `allow_self_unmute` becomes the
    /// meeting's setting.
    MuteAll {
        /// Whether participants may unmute themselves afterwards.
        allow_self_unmute: bool,
    },
    /// Lift every host mute and ask everyone muted to unmute.
    UnmuteAll,
    /// Lock the meeting (new joins are refused) or unlock it.
    SetLocked {
        /// `true` to lock.
        locked: bool,
    },
    /// Replace the meeting's settings (waiting room, mute on entry, allow
    /// self-unmute / screen share / chat / rename, chime, hide avatars …).
    /// They are kept with the meeting.
    SetOptions {
        /// The new settings.
        options: MeetingOptions,
    },
    /// Let one person in the waiting room into the meeting.
    Admit {
        /// Their waiting id (from [`ServerMessage::WaitingRoom`]).
        participant_id: String,
    },
    /// Let everyone in the waiting room into the meeting.
    AdmitAll,
    /// Turn one person in the waiting room away.
    Deny {
        /// Their waiting id.
        participant_id: String,
    },
    /// Start recording the meeting in the cloud (when the tenant may record
    /// and the deployment runs a recorder). The recording state goes
    /// `starting`, then `recording` once the recorder is in.
    StartRecording,
    /// Pause the recording: the file written so far is closed; resuming
    /// starts the next one.
    PauseRecording,
    /// Resume a paused recording into a new file.
    ResumeRecording,
    /// Stop recording: the current file is closed and the recorder leaves.
    /// Starting again begins a new recording.
    StopRecording,
    /// Push the meeting live to an RTMP(S) streaming service (the manual's
    /// 会议直播; when the tenant may stream, the meeting allows it and the
    /// deployment runs a recorder). The picture and sound are the
    /// recording's: the speaker view and everyone's audio, as H.264 and
    /// AAC. The streaming state goes `starting`, then `live` once the
    /// service takes the stream; a lost connection is retried
    /// (`reconnecting`) until the host stops.
    StartStreaming {
        /// The service's push address, `rtmp://` or `rtmps://`, e.g.
        /// `rtmp://live.example.com/app`.
        push_url: String,
        /// The stream key the service gave; appended to the push address.
        stream_key: String,
        /// Where viewers watch (shown to everyone in the meeting and
        /// copyable), `http://` or `https://`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        watch_url: Option<String>,
    },
    /// Stop the live stream.
    StopStreaming,
    /// Interpretation (a meeting scheduled with it): make a participant an
    /// interpreter with a language pair, change their pair, or (`null`)
    /// make them a listener again. Replacing an interpreter is taking the
    /// pair from one and giving it to another; it takes effect at once.
    SetInterpreter {
        /// Who.
        participant_id: String,
        /// The languages, or `null` to stop interpreting.
        languages: Option<LanguagePair>,
    },
    /// Create breakout rooms (1 to [`limits::BREAKOUT_ROOMS`](crate::limits::BREAKOUT_ROOMS)),
    /// named "Room 1" …, replacing any closed ones. Not while they are open,
    /// nor in a webinar.
    CreateBreakouts {
        /// How many.
        count: u32,
        /// How participants are spread.
        assignment: BreakoutAssignment,
        /// The options.
        #[serde(default)]
        options: BreakoutOptions,
    },
    /// Change the breakout options (a closing time counts from opening).
    SetBreakoutOptions {
        /// The new options.
        options: BreakoutOptions,
    },
    /// Add a breakout room.
    AddBreakout {
        /// Its name, 1 to 64 characters.
        name: String,
    },
    /// Rename a breakout room.
    RenameBreakout {
        /// The room.
        room_id: String,
        /// The new name, 1 to 64 characters.
        name: String,
    },
    /// Delete a breakout room; whoever is in it goes back to the main room.
    DeleteBreakout {
        /// The room.
        room_id: String,
    },
    /// Assign a participant to a breakout room (`null`: to none). While the
    /// rooms are open, they are moved there at once.
    AssignBreakout {
        /// Who.
        participant_id: String,
        /// The room, or `null`.
        room_id: Option<String>,
    },
    /// Open the breakout rooms: with `auto_move`, everyone assigned goes
    /// into their room.
    OpenBreakouts,
    /// Close the breakout rooms: the countdown of the options runs, then
    /// everyone is back in the main room.
    CloseBreakouts,
    /// Send a message to everyone, in every breakout room and the main
    /// room ([`ServerMessage::BreakoutBroadcast`]).
    BroadcastToBreakouts {
        /// The text, 1 to [`limits::CHAT_CHARS`](crate::limits::CHAT_CHARS) characters.
        text: String,
    },
}

/// Where a meeting's live stream stands, as everyone in it sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StreamingState {
    /// Not streaming.
    #[default]
    Off,
    /// The host started a stream; the recorder is joining and connecting
    /// to the streaming service.
    Starting,
    /// The streaming service is taking the stream.
    Live,
    /// The connection to the streaming service was lost; retrying.
    Reconnecting,
}

/// A meeting's live stream as everyone in it sees it (never the push
/// address or key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LiveStream {
    /// Where the stream stands.
    pub state: StreamingState,
    /// Where viewers watch, when the host gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub watch_url: Option<String>,
}

/// Where a meeting's cloud recording stands, as everyone in it sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    /// Not recording.
    #[default]
    Off,
    /// The host started a recording and the recorder is joining.
    Starting,
    /// Recording.
    Recording,
    /// Paused: nothing is written until the host resumes.
    Paused,
}

/// Messages the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame on every socket.
    Hello {
        /// [`PROTOCOL_VERSION`] of the server.
        protocol_version: u32,
    },
    /// The join succeeded.
    Joined {
        /// This participant's id in the meeting.
        participant_id: String,
        /// Meeting id.
        meeting_id: String,
        /// Meeting number.
        meeting_number: String,
        /// Meeting topic.
        topic: String,
        /// Everyone in the meeting, this participant included.
        participants: Vec<Participant>,
        /// ICE servers for this participant's peer connections: the TURN
        /// server with short-lived credentials, when the deployment runs one
        /// (`crate::turn`). Empty otherwise.
        #[serde(default)]
        ice_servers: Vec<crate::turn::IceServer>,
    },
    /// Someone joined. News of joins goes out once per tick of the room
    /// (about 50 ms), after the newcomer's own `joined`: one newcomer as
    /// this message, several as [`ServerMessage::ParticipantsJoined`].
    ParticipantJoined {
        /// The newcomer.
        participant: Participant,
    },
    /// Several joined since the room's last tick (a crowd arriving at
    /// once): one message instead of one per newcomer. The same as a
    /// [`ServerMessage::ParticipantJoined`] for each, in this order (the
    /// order they joined in). Each is as they are when this is sent: an
    /// earlier `participant_updated` about one of them may have come first,
    /// and one who left before the tick is not in the list.
    ParticipantsJoined {
        /// The newcomers, in joining order.
        participants: Vec<Participant>,
    },
    /// Someone's state changed (mute, camera, role).
    ParticipantUpdated {
        /// The new state.
        participant: Participant,
    },
    /// Someone left.
    ParticipantLeft {
        /// Their participant id.
        participant_id: String,
    },
    /// The loudest speaker changed (`null`: nobody is speaking).
    ActiveSpeaker {
        /// Participant id of the active speaker.
        participant_id: Option<String>,
    },
    /// The most anyone watching this participant's video asks for (see
    /// [`ClientMessage::SetVideoSubscriptions`]): a client publishing
    /// simulcast may stop encoding the layers above it, and `off` means
    /// nobody watches. Sent when it changes; until the first one, assume
    /// `high`.
    PublishQuality {
        /// The highest quality wanted.
        max: VideoQuality,
    },
    /// The media server restarted and lost this meeting's connections (or
    /// this client asked with [`ClientMessage::RestartMedia`]): close both
    /// peer connections, open new ones and send a new
    /// [`ClientMessage::PublishOffer`] with the same tracks; subscriber
    /// offers follow as usual. The meeting itself (participants, chat,
    /// roles) went on: nobody rejoins.
    MediaRestart,
    /// Answer to [`ClientMessage::PublishOffer`].
    PublishAnswer {
        /// The SDP.
        sdp: String,
    },
    /// New SDP offer for the client's subscribing peer connection.
    SubscriberOffer {
        /// The SDP.
        sdp: String,
    },
    /// The meeting is over; the server closes the socket after this.
    MeetingEnded {
        /// Why, e.g. `ended_by_host`.
        reason: String,
    },
    /// The client left (answer to [`ClientMessage::Leave`]).
    Left,
    /// The join is on hold: the meeting has a waiting room, or waits for
    /// its host. [`ServerMessage::Joined`] follows when the host admits the
    /// client (or arrives); [`ServerMessage::Error`] with
    /// [`ErrorCode::EntryDenied`] when turned away.
    Waiting {
        /// Waiting id: becomes the participant id once admitted.
        participant_id: String,
        /// Meeting number.
        meeting_number: String,
        /// Meeting topic.
        topic: String,
        /// Why: `waiting_room` or `waiting_for_host`.
        reason: String,
    },
    /// To hosts: who is in the waiting room now.
    WaitingRoom {
        /// Everyone waiting for the host to admit them, earliest first.
        waiting: Vec<WaitingParticipant>,
    },
    /// The meeting's state that is not per participant: sent after
    /// [`ServerMessage::Joined`] and whenever it changes.
    MeetingState {
        /// New joins are refused.
        locked: bool,
        /// Participant whose video everyone sees in focus.
        spotlight: Option<String>,
        /// The meeting's settings.
        options: MeetingOptions,
        /// Whether the meeting is being recorded.
        #[serde(default)]
        recording: RecordingState,
        /// Whether the meeting is streamed live, and where to watch.
        #[serde(default)]
        streaming: LiveStream,
        /// Interpretation: the language channels interpreters speak into
        /// now, sorted (see [`ClientMessage::ChooseLanguage`]).
        #[serde(default)]
        languages: Vec<String>,
    },
    /// A chat message for this client (history arrives the same way after joining).
    Chat {
        /// The message.
        message: ChatMessage,
    },
    /// Someone reacted.
    Reaction {
        /// Who.
        participant_id: String,
        /// The reaction.
        emoji: String,
    },
    /// A webinar question, new or changed, as this client may see it (the
    /// questions so far arrive the same way after joining).
    Question {
        /// The question.
        question: Question,
    },
    /// The meeting's breakout rooms changed (`null`: there are none). Sent
    /// after [`ServerMessage::Joined`] when there are some.
    Breakouts {
        /// The rooms, or `null`.
        breakouts: Option<Breakouts>,
    },
    /// The host's message to every breakout room.
    BreakoutBroadcast {
        /// The host's name.
        from_name: String,
        /// The message.
        text: String,
    },
    /// To hosts: a participant asks for help in their breakout room.
    HelpRequested {
        /// Who asks.
        participant_id: String,
        /// Their name.
        display_name: String,
        /// The breakout room they are in (`null`: the main room).
        room_id: Option<String>,
    },
    /// The host asks this client to unmute; the client decides.
    UnmuteRequested,
    /// The host asks this client to start its video; the client decides.
    StartVideoRequested,
    /// The host removed this client from the meeting; the socket closes after this.
    Removed,
    /// This socket rings for the account's invitations now.
    Listening {
        /// The account.
        account_id: String,
    },
    /// Someone invites this account into a meeting.
    IncomingCall {
        /// Answer with this id.
        call_id: String,
        /// Meeting number.
        meeting_number: String,
        /// Meeting topic.
        topic: String,
        /// Who invites.
        inviter: String,
        /// Join key: with it the invitee needs no password.
        link_key: String,
    },
    /// On a listening socket: a new message in one of the account's group
    /// chats (its own included, sent from another device).
    GroupChatMessage {
        /// The message.
        message: crate::group_chat::GroupChatMessage,
    },
    /// The call stopped ringing (answered on another device, or the meeting ended).
    CallEnded {
        /// The call.
        call_id: String,
    },
    /// To whoever placed a call with [`ClientMessage::Dial`]: how it goes.
    DialStatus {
        /// The call, the same in every status of it.
        call_id: String,
        /// Whom it calls, as shown (the SIP address or the number).
        target: String,
        /// Where it stands.
        state: DialState,
        /// Why it failed or ended, in words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        reason: Option<String>,
        /// The device's participant id, once answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        participant_id: Option<String>,
    },
    /// To an inviter: how an invitation goes.
    InviteStatus {
        /// The invited account.
        account_id: String,
        /// Their name.
        display_name: String,
        /// `ringing`, `offline` (nowhere to ring), `accepted` or `declined`.
        state: String,
    },
    /// A request failed. The socket stays usable.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// A sentence saying what was wrong.
        message: String,
    },
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not valid JSON or lacked a required field.
    MalformedMessage,
    /// The `type` field names no message of this protocol version.
    UnknownMessageType,
    /// The frame exceeded [`limits::FRAME_BYTES`](crate::limits::FRAME_BYTES).
    MessageTooLarge,
    /// No live meeting has that number.
    MeetingNotFound,
    /// The meeting needs a password and none was given.
    PasswordRequired,
    /// The password (or link key) was wrong.
    WrongPassword,
    /// The bearer token has expired; sign in again.
    TokenExpired,
    /// The bearer token is unknown.
    InvalidToken,
    /// The message needs a joined participant.
    NotJoined,
    /// This socket already joined a meeting.
    AlreadyJoined,
    /// Only the host may do this.
    NotHost,
    /// The meeting has ended.
    MeetingEnded,
    /// The media server refused the request (e.g. bad SDP).
    MediaError,
    /// The host locked the meeting: nobody new may join.
    MeetingLocked,
    /// The host turned this joiner away from the waiting room.
    EntryDenied,
    /// The host has not allowed this (chat, rename, screen share, unmuting oneself).
    NotAllowed,
    /// No participant with that id is in the meeting (or waiting room).
    ParticipantNotFound,
    /// Only the host's invitees may join this meeting.
    NotInvited,
    /// The tenant's licence has no room for another participant or meeting.
    LicenceExceeded,
    /// Too many wrong passwords: wait before trying again.
    TooManyAttempts,
    /// No such call rings for this account.
    CallNotFound,
    /// The deployment does not run what this needs (e.g. calling out
    /// without a SIP gateway, or a phone number without a SIP trunk).
    Unavailable,
    /// A field was out of range (e.g. an empty display name).
    InvalidInput,
    /// Something failed inside the server.
    Internal,
}

/// A participant's role in the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the meeting.
    Host,
    /// Everyone else in a meeting; in a webinar, nobody.
    Participant,
    /// A webinar's speaker: heard and seen by everyone, may share the
    /// screen, answers questions. The host makes an attendee a panelist.
    Panelist,
    /// A webinar's audience: receives the panelists' media only, sends none
    /// unless the host allows them to talk, sees the panel but no other
    /// attendee, asks questions, chats and raises a hand.
    Attendee,
}

impl Role {
    /// Whether the role is a webinar's panel (host or panelist) or a
    /// meeting's member: everyone but attendees.
    pub fn on_panel(self) -> bool {
        self != Role::Attendee
    }
}

/// One entry of the participant list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Participant {
    /// Participant id (unique within the meeting).
    pub id: String,
    /// Name shown to others.
    pub display_name: String,
    /// Host or participant.
    pub role: Role,
    /// Microphone muted.
    pub audio_muted: bool,
    /// Camera on.
    pub video_enabled: bool,
    /// Muted by the host and not allowed to unmute themselves.
    pub audio_locked: bool,
    /// Hand raised.
    pub hand_raised: bool,
    /// Sharing their screen.
    pub sharing_screen: bool,
    /// Signed in (guests are not).
    pub signed_in: bool,
    /// A webinar attendee the host allowed to talk: their audio (not their
    /// video) reaches everyone, and everyone sees them in the list.
    #[serde(default)]
    pub talk_allowed: bool,
    /// The breakout room they are in; `null` in the main room. Everyone
    /// hears and sees only those in the same room.
    #[serde(default)]
    pub breakout: Option<String>,
    /// An interpreter's languages: their audio reaches only those who
    /// chose the channel of `to`.
    #[serde(default)]
    pub interpreter: Option<LanguagePair>,
}

/// One question of a webinar's Q&A, as one viewer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Question {
    /// Question id.
    pub id: String,
    /// The asker's participant id.
    pub asker: String,
    /// The asker's display name when asked.
    pub asker_name: String,
    /// The question.
    pub text: String,
    /// The answers this viewer may read (private ones only for the asker
    /// and the panel).
    pub answers: Vec<Answer>,
    /// Whether everyone sees the question (it has a public answer).
    pub public: bool,
    /// Dismissed by the panel: it is closed.
    pub dismissed: bool,
    /// Time asked, milliseconds since the Unix epoch.
    #[ts(type = "number")]
    pub asked_at_ms: i64,
}

/// One answer to a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Answer {
    /// Who answered (a host or panelist), by name.
    pub by_name: String,
    /// The answer.
    pub text: String,
    /// Only the asker (and the panel) reads it.
    pub private: bool,
}

/// Someone in the waiting room, as hosts see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WaitingParticipant {
    /// Waiting id (the participant id once admitted).
    pub id: String,
    /// Name they gave.
    pub display_name: String,
    /// Signed in (guests are not).
    pub signed_in: bool,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatMessage {
    /// Message id.
    pub id: String,
    /// Sender's participant id.
    pub from: String,
    /// Sender's display name when sent.
    pub from_name: String,
    /// Recipient's participant id; `null` for everyone (or the panel).
    pub to: Option<String>,
    /// To a webinar's panel (the host and panelists) only.
    #[serde(default)]
    pub to_panel: bool,
    /// Written to everyone in a breakout room: only those in it read it
    /// (and it is in nobody's history once the rooms close).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub breakout: Option<String>,
    /// The text.
    pub text: String,
    /// Time sent, milliseconds since the Unix epoch.
    #[ts(type = "number")]
    pub sent_at_ms: i64,
}

/// The reactions a client may send.
pub const REACTIONS: &[&str] = &["👍", "👏", "❤️", "😂", "😮", "🎉", "🙋"];

impl ClientMessage {
    /// Every `type` value of this protocol version, for telling an unknown
    /// type apart from a malformed known one.
    pub const TYPES: &'static [&'static str] = &[
        "join",
        "leave",
        "end_meeting",
        "set_audio_muted",
        "set_video_enabled",
        "publish_offer",
        "subscriber_answer",
        "restart_media",
        "chat",
        "raise_hand",
        "react",
        "set_screen_share",
        "rename",
        "invite",
        "dial",
        "listen",
        "answer_call",
        "set_video_subscriptions",
        "host",
        "ask",
        "answer_question",
        "dismiss_question",
        "choose_language",
        "join_breakout",
        "ask_for_help",
    ];
}

impl ServerMessage {
    /// A server frame, read as `serde_json::from_str` reads it, but the
    /// messages that carry lists of participants (`joined`,
    /// `participants_joined`) without the detour an internally tagged
    /// enum takes (every field buffered first, then read again): those are
    /// most of what a client of a large meeting reads.
    pub fn from_json(text: &str) -> serde_json::Result<ServerMessage> {
        use std::borrow::Cow;

        #[derive(Deserialize)]
        struct Kind<'a> {
            #[serde(rename = "type", borrow)]
            kind: Cow<'a, str>,
        }
        #[derive(Deserialize)]
        struct Joined {
            participant_id: String,
            meeting_id: String,
            meeting_number: String,
            topic: String,
            participants: Vec<Participant>,
            #[serde(default)]
            ice_servers: Vec<crate::turn::IceServer>,
        }
        #[derive(Deserialize)]
        struct ParticipantsJoined {
            participants: Vec<Participant>,
        }
        match serde_json::from_str::<Kind>(text)?.kind.as_ref() {
            "joined" => {
                let m: Joined = serde_json::from_str(text)?;
                Ok(ServerMessage::Joined {
                    participant_id: m.participant_id,
                    meeting_id: m.meeting_id,
                    meeting_number: m.meeting_number,
                    topic: m.topic,
                    participants: m.participants,
                    ice_servers: m.ice_servers,
                })
            }
            "participants_joined" => {
                let m: ParticipantsJoined = serde_json::from_str(text)?;
                Ok(ServerMessage::ParticipantsJoined {
                    participants: m.participants,
                })
            }
            _ => serde_json::from_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_json_reads_what_the_derived_reader_reads() {
        let someone = |id: &str| Participant {
            id: id.into(),
            display_name: "A \"name\" \u{4e91}".into(),
            role: Role::Participant,
            audio_muted: true,
            video_enabled: false,
            audio_locked: false,
            hand_raised: true,
            sharing_screen: false,
            signed_in: true,
            talk_allowed: false,
            breakout: Some("room 1".into()),
            interpreter: None,
        };
        let messages = [
            ServerMessage::Joined {
                participant_id: "p".into(),
                meeting_id: "m".into(),
                meeting_number: "123".into(),
                topic: "T".into(),
                participants: vec![someone("a"), someone("b")],
                ice_servers: vec![crate::turn::IceServer {
                    urls: vec!["turn:host:3478?transport=udp".into()],
                    username: "u".into(),
                    credential: "c".into(),
                }],
            },
            ServerMessage::ParticipantsJoined {
                participants: vec![someone("c"), someone("d")],
            },
            ServerMessage::ParticipantJoined {
                participant: someone("e"),
            },
            ServerMessage::Left,
        ];
        for message in messages {
            let text = serde_json::to_string(&message).unwrap();
            assert_eq!(ServerMessage::from_json(&text).unwrap(), message, "{text}");
        }
        // What the derived reader takes or refuses, so does this one.
        for text in [
            r#"{"participants":[],"type":"participants_joined"}"#,
            r#"{"type":"joined","participant_id":"p","meeting_id":"m","meeting_number":"1","topic":"","participants":[]}"#,
            r#"{"type":"jo\u0069ned","participant_id":"p","meeting_id":"m","meeting_number":"1","topic":"","participants":[]}"#,
            r#"{"type":"participants_joined"}"#,
            r#"{"type":"joined","participants":[]}"#,
            r#"{"type":"no_such_message"}"#,
            r#"{"participants":[]}"#,
            "not json",
        ] {
            let derived = serde_json::from_str::<ServerMessage>(text);
            let fast = ServerMessage::from_json(text);
            assert_eq!(fast.is_ok(), derived.is_ok(), "{text}");
            if let (Ok(fast), Ok(derived)) = (fast, derived) {
                assert_eq!(fast, derived, "{text}");
            }
        }
    }

    #[test]
    fn messages_use_snake_case_type_tags() {
        let json = serde_json::to_value(ClientMessage::SetAudioMuted { muted: true }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "set_audio_muted", "muted": true})
        );
        let back: ServerMessage =
            serde_json::from_str(r#"{"type":"error","code":"wrong_password","message":"x"}"#)
                .unwrap();
        assert_eq!(
            back,
            ServerMessage::Error {
                code: ErrorCode::WrongPassword,
                message: "x".into()
            }
        );
    }

    #[test]
    fn every_client_message_type_is_listed() {
        let samples = [
            ClientMessage::Join {
                meeting_number: "1".into(),
                display_name: "a".into(),
                password: None,
                link_key: None,
                token: None,
                device_id: None,
                dial_ticket: None,
                recorder_ticket: None,
            },
            ClientMessage::Leave,
            ClientMessage::EndMeeting,
            ClientMessage::SetAudioMuted { muted: false },
            ClientMessage::SetVideoEnabled { enabled: false },
            ClientMessage::PublishOffer { sdp: String::new() },
            ClientMessage::SubscriberAnswer { sdp: String::new() },
            ClientMessage::RestartMedia,
            ClientMessage::Chat {
                to: None,
                to_panel: false,
                text: String::new(),
            },
            ClientMessage::RaiseHand { raised: true },
            ClientMessage::React {
                emoji: String::new(),
            },
            ClientMessage::SetScreenShare { sharing: true },
            ClientMessage::Rename {
                display_name: String::new(),
            },
            ClientMessage::Invite {
                account_ids: vec![],
            },
            ClientMessage::Dial {
                target: DialTarget::Phone {
                    number: String::new(),
                },
            },
            ClientMessage::Listen {
                token: String::new(),
            },
            ClientMessage::AnswerCall {
                call_id: String::new(),
                accept: true,
            },
            ClientMessage::SetVideoSubscriptions {
                default: VideoQuality::Off,
                participants: vec![],
            },
            ClientMessage::Host {
                command: HostCommand::UnmuteAll,
            },
            ClientMessage::Ask {
                text: String::new(),
            },
            ClientMessage::AnswerQuestion {
                question_id: String::new(),
                text: String::new(),
                private: false,
            },
            ClientMessage::DismissQuestion {
                question_id: String::new(),
            },
            ClientMessage::ChooseLanguage { language: None },
            ClientMessage::JoinBreakout { room_id: None },
            ClientMessage::AskForHelp,
        ];
        for m in samples {
            let v = serde_json::to_value(&m).unwrap();
            let t = v["type"].as_str().unwrap();
            assert!(ClientMessage::TYPES.contains(&t), "{t} missing from TYPES");
        }
        assert_eq!(ClientMessage::TYPES.len(), 25);
    }
}
