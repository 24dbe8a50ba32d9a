//! Group chat (F-DIR-2): colleagues of one enterprise talking outside
//! meetings, with history and unread counts, new messages pushed to their
//! listening sockets ([`crate::signaling::ServerMessage::GroupChatMessage`]),
//! and a meeting started from a chat ringing its members.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::api::Invitee;

/// `POST /api/v1/chats`: a chat of the caller with colleagues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CreateGroupChatRequest {
    /// Its name, 1 to 64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Account ids of colleagues (the caller is a member anyway), at most 500.
    #[schema(max_items = 500)]
    pub members: Vec<String>,
}

/// A chat as one of its members sees it (`GET /api/v1/chats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct GroupChat {
    /// Chat id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The account that made it.
    pub created_by: String,
    /// Everyone in it, the caller included, by name.
    pub members: Vec<Invitee>,
    /// Messages of others the caller has not read.
    pub unread: u32,
    /// The latest message, if any.
    pub last_message: Option<GroupChatMessage>,
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct GroupChatMessage {
    /// Message id. Ids sort as the messages were sent: pass the last one of
    /// a page as `before` for the page after it, and the newest read as
    /// `up_to` to mark the chat read.
    pub id: String,
    /// The chat.
    pub chat_id: String,
    /// Who sent it.
    pub sender_account_id: String,
    /// Their name when they sent it.
    pub sender_name: String,
    /// The text (empty for a meeting's start).
    pub text: String,
    /// The meeting started from the chat, when the message announces one.
    pub meeting: Option<ChatMeeting>,
    /// When, seconds since the Unix epoch.
    #[ts(type = "number")]
    pub sent_at: i64,
}

/// A meeting started from a chat: members join it with its key, no
/// password asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct ChatMeeting {
    /// Meeting number.
    pub number: String,
    /// Its topic (the chat's name).
    pub topic: String,
    /// Join key.
    pub link_key: String,
}

/// `POST /api/v1/chats/{id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct PostGroupChatMessage {
    /// 1 to 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
}

/// `PUT /api/v1/chats/{id}/read`: everything up to this message is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct MarkChatRead {
    /// A message of the chat.
    pub up_to: String,
}
