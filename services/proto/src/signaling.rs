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
//! 4. state changes arrive as `participant_*`, `active_speaker` and
//!    `meeting_ended` messages until the client sends [`ClientMessage::Leave`]
//!    or closes the socket.
//!
//! Frames larger than [`MAX_FRAME_BYTES`] are refused with
//! [`ErrorCode::MessageTooLarge`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Version of this protocol. Bumped on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest text frame the server accepts, in bytes (SDP offers fit easily).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

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
    },
    /// Someone joined.
    ParticipantJoined {
        /// The newcomer.
        participant: Participant,
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
    /// The frame exceeded [`MAX_FRAME_BYTES`].
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
    /// Something failed inside the server.
    Internal,
}

/// A participant's role in the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the meeting.
    Host,
    /// Everyone else.
    Participant,
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
}

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
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

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
            },
            ClientMessage::Leave,
            ClientMessage::EndMeeting,
            ClientMessage::SetAudioMuted { muted: false },
            ClientMessage::SetVideoEnabled { enabled: false },
            ClientMessage::PublishOffer { sdp: String::new() },
            ClientMessage::SubscriberAnswer { sdp: String::new() },
        ];
        for m in samples {
            let v = serde_json::to_value(&m).unwrap();
            let t = v["type"].as_str().unwrap();
            assert!(ClientMessage::TYPES.contains(&t), "{t} missing from TYPES");
        }
        assert_eq!(ClientMessage::TYPES.len(), 7);
    }
}
