//! Group chats (F-DIR-2): colleagues of one enterprise talking outside
//! meetings. A chat has members (accounts of the tenant; its creator
//! among them), messages kept as history, and for each member the newest
//! message it read, from which its unread count follows. Only members see
//! a chat; another tenant's chat answers like a made-up id.
//!
//! This module keeps the records; pushing a new message to the members'
//! listening sockets, and ringing them for a meeting started from the
//! chat, is `live::group_chat_push`'s.

use std::collections::{HashMap, HashSet};

use sqlx::{AnyConnection, Row};
use yunhui_proto::api::CreateMeetingRequest;
use yunhui_proto::group_chat::{ChatMeeting, CreateGroupChatRequest, GroupChat, GroupChatMessage};
use yunhui_proto::limits;

use crate::accounts::Caller;
use crate::error::{Error, Result};
use crate::meetings::{self, MeetingRecord};
use crate::schedule::check_invitees;
use crate::store::{Store, now};

/// Messages per page unless the caller asks for fewer.
pub const PAGE: u32 = 50;

/// A message just written, with whom to tell.
pub struct Posted {
    /// The message.
    pub message: GroupChatMessage,
    /// Every member of its chat, the sender included.
    pub members: Vec<String>,
}

/// Creates a chat of the caller with `members` (colleagues of its tenant).
pub async fn create(
    store: &Store,
    caller: &Caller,
    req: CreateGroupChatRequest,
) -> Result<GroupChat> {
    let name = req.name.trim().to_owned();
    if name.is_empty()
        || name.chars().count() > limits::GROUP_CHAT_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::InvalidInput(format!(
            "name: 1 to {} characters, no control characters",
            limits::GROUP_CHAT_NAME_CHARS
        )));
    }
    if req.members.len() >= limits::GROUP_CHAT_MEMBERS {
        return Err(Error::InvalidInput(format!(
            "members: at most {} besides yourself",
            limits::GROUP_CHAT_MEMBERS - 1
        )));
    }
    let mut tx = store.pool().begin().await?;
    let others = check_invitees(&mut tx, caller, req.members, "members").await?;
    let id = uuid::Uuid::new_v4().to_string();
    let at = now();
    sqlx::query(
        "INSERT INTO group_chats (id, tenant_id, name, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(&caller.tenant_id)
    .bind(&name)
    .bind(&caller.account_id)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    for account in std::iter::once(&caller.account_id).chain(&others) {
        sqlx::query(
            "INSERT INTO group_chat_members (chat_id, tenant_id, account_id, last_read_id, added_at) \
             VALUES ($1, $2, $3, NULL, $4)",
        )
        .bind(&id)
        .bind(&caller.tenant_id)
        .bind(account)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    let chat = load(&mut tx, caller, &id).await?;
    tx.commit().await?;
    Ok(chat)
}

/// The caller's chats, the one with the latest message first.
pub async fn list(store: &Store, caller: &Caller) -> Result<Vec<GroupChat>> {
    // Four queries whatever the number of chats: the chats, their unread
    // counts, their members and their latest messages.
    let mut conn = store.pool().acquire().await?;
    let chats = sqlx::query(
        "SELECT c.id, c.name, c.created_by FROM group_chats c \
         JOIN group_chat_members m ON m.chat_id = c.id \
         WHERE m.tenant_id = $1 AND m.account_id = $2 \
         ORDER BY COALESCE((SELECT MAX(x.id) FROM group_chat_messages x WHERE x.chat_id = c.id), '0') DESC, \
         c.created_at DESC, c.id",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .fetch_all(&mut *conn)
    .await?;
    let unread: HashMap<String, i64> = sqlx::query_as(
        "SELECT x.chat_id, COUNT(*) FROM group_chat_messages x \
         JOIN group_chat_members m ON m.chat_id = x.chat_id \
         WHERE m.tenant_id = $1 AND m.account_id = $2 AND x.sender_account_id <> $2 \
         AND (m.last_read_id IS NULL OR x.id > m.last_read_id) GROUP BY x.chat_id",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let mut members = crate::accounts::invitees_by(
        &sqlx::query(
            "SELECT o.chat_id, a.id, a.display_name FROM group_chat_members m \
             JOIN group_chat_members o ON o.chat_id = m.chat_id \
             JOIN accounts a ON a.id = o.account_id AND a.tenant_id = o.tenant_id \
             WHERE m.tenant_id = $1 AND m.account_id = $2 ORDER BY o.chat_id, a.display_name, a.id",
        )
        .bind(&caller.tenant_id)
        .bind(&caller.account_id)
        .fetch_all(&mut *conn)
        .await?,
        "chat_id",
    )?;
    let mut latest: HashMap<String, GroupChatMessage> = HashMap::new();
    for row in sqlx::query(&format!(
        "{MESSAGE} WHERE id IN (SELECT MAX(x.id) FROM group_chat_messages x \
         JOIN group_chat_members m ON m.chat_id = x.chat_id \
         WHERE m.tenant_id = $1 AND m.account_id = $2 GROUP BY x.chat_id)"
    ))
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .fetch_all(&mut *conn)
    .await?
    {
        let message = message_from_row(&row)?;
        latest.insert(message.chat_id.clone(), message);
    }
    chats
        .iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            Ok(GroupChat {
                name: row.try_get("name")?,
                created_by: row.try_get("created_by")?,
                members: members.remove(&id).unwrap_or_default(),
                unread: u32::try_from(unread.get(&id).copied().unwrap_or(0)).unwrap_or(u32::MAX),
                last_message: latest.remove(&id),
                id,
            })
        })
        .collect()
}

/// One chat of the caller's.
pub async fn get(store: &Store, caller: &Caller, id: &str) -> Result<GroupChat> {
    let mut conn = store.pool().acquire().await?;
    load(&mut conn, caller, id).await
}

/// A page of a chat's history, newest first: the `limit` messages before
/// `before`, or the latest.
pub async fn messages(
    store: &Store,
    caller: &Caller,
    id: &str,
    before: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<GroupChatMessage>> {
    let limit = limit.unwrap_or(PAGE);
    if limit == 0 || limit as usize > limits::GROUP_CHAT_PAGE {
        return Err(Error::InvalidInput(format!(
            "limit: 1 to {} messages per page",
            limits::GROUP_CHAT_PAGE
        )));
    }
    let mut conn = store.pool().acquire().await?;
    require_member(&mut conn, caller, id).await?;
    let rows = match before {
        Some(before) => {
            sqlx::query(&format!(
                "{MESSAGE} WHERE chat_id = $1 AND id < $2 ORDER BY id DESC LIMIT {limit}"
            ))
            .bind(id)
            .bind(before)
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "{MESSAGE} WHERE chat_id = $1 ORDER BY id DESC LIMIT {limit}"
            ))
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.iter().map(message_from_row).collect()
}

/// Writes the caller's message to chat `id`; `origin` names this replica.
pub async fn post(
    store: &Store,
    caller: &Caller,
    id: &str,
    text: &str,
    origin: &str,
) -> Result<Posted> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > limits::CHAT_CHARS {
        return Err(Error::InvalidInput(format!(
            "text: 1 to {} characters",
            limits::CHAT_CHARS
        )));
    }
    let mut tx = store.pool().begin().await?;
    let members = require_member(&mut tx, caller, id).await?;
    let message = insert(&mut tx, caller, id, text, None, origin).await?;
    tx.commit().await?;
    Ok(Posted { message, members })
}

/// Starts an instant meeting hosted by the caller for chat `id` and
/// announces it in the chat (members join with its key, no password).
pub async fn start_meeting(
    store: &Store,
    caller: &Caller,
    id: &str,
    origin: &str,
) -> Result<(MeetingRecord, Posted)> {
    let name = {
        let mut conn = store.pool().acquire().await?;
        require_member(&mut conn, caller, id).await?;
        load(&mut conn, caller, id).await?.name
    };
    let meeting = meetings::create_instant(
        store,
        caller,
        CreateMeetingRequest {
            topic: Some(name),
            ..CreateMeetingRequest::default()
        },
    )
    .await?;
    let mut tx = store.pool().begin().await?;
    let members = require_member(&mut tx, caller, id).await?;
    let announced = ChatMeeting {
        number: meeting.number.clone(),
        topic: meeting.topic.clone(),
        link_key: meeting.link_key.clone(),
    };
    let message = insert(&mut tx, caller, id, "", Some(&announced), origin).await?;
    tx.commit().await?;
    Ok((meeting, Posted { message, members }))
}

/// Marks chat `id` read for the caller up to message `up_to` (a later
/// mark than one already made only).
pub async fn mark_read(store: &Store, caller: &Caller, id: &str, up_to: &str) -> Result<()> {
    let mut tx = store.pool().begin().await?;
    require_member(&mut tx, caller, id).await?;
    let found = sqlx::query("SELECT id FROM group_chat_messages WHERE id = $1 AND chat_id = $2")
        .bind(up_to)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if found.is_none() {
        return Err(Error::InvalidInput(format!(
            "up_to: no message {up_to} in this chat"
        )));
    }
    sqlx::query(
        "UPDATE group_chat_members SET last_read_id = $1 \
         WHERE chat_id = $2 AND account_id = $3 AND (last_read_id IS NULL OR last_read_id < $1)",
    )
    .bind(up_to)
    .bind(id)
    .bind(&caller.account_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The messages other replicas took (whose origin is not `origin`) sent
/// at or after `since` (Unix seconds), with their chats' members, oldest
/// first.
pub async fn taken_elsewhere(store: &Store, origin: &str, since: i64) -> Result<Vec<Posted>> {
    let rows = sqlx::query(&format!(
        "{MESSAGE} WHERE sent_at >= $1 AND origin <> $2 ORDER BY id LIMIT 1000"
    ))
    .bind(since)
    .bind(origin)
    .fetch_all(store.pool())
    .await?;
    let mut posted = Vec::with_capacity(rows.len());
    for row in &rows {
        let message = message_from_row(row)?;
        let members: Vec<(String,)> =
            sqlx::query_as("SELECT account_id FROM group_chat_members WHERE chat_id = $1")
                .bind(&message.chat_id)
                .fetch_all(store.pool())
                .await?;
        posted.push(Posted {
            message,
            members: members.into_iter().map(|(a,)| a).collect(),
        });
    }
    Ok(posted)
}

const MESSAGE: &str = "SELECT id, chat_id, sender_account_id, sender_name, text, meeting_number, \
                       meeting_topic, meeting_link_key, sent_at FROM group_chat_messages";

fn message_from_row(row: &sqlx::any::AnyRow) -> Result<GroupChatMessage> {
    let number: Option<String> = row.try_get("meeting_number")?;
    let meeting = match number {
        Some(number) => Some(ChatMeeting {
            number,
            topic: row
                .try_get::<Option<String>, _>("meeting_topic")?
                .unwrap_or_default(),
            link_key: row
                .try_get::<Option<String>, _>("meeting_link_key")?
                .unwrap_or_default(),
        }),
        None => None,
    };
    Ok(GroupChatMessage {
        id: row.try_get("id")?,
        chat_id: row.try_get("chat_id")?,
        sender_account_id: row.try_get("sender_account_id")?,
        sender_name: row.try_get("sender_name")?,
        text: row.try_get("text")?,
        meeting,
        sent_at: row.try_get("sent_at")?,
    })
}

async fn insert(
    conn: &mut AnyConnection,
    caller: &Caller,
    chat_id: &str,
    text: &str,
    meeting: Option<&ChatMeeting>,
    origin: &str,
) -> Result<GroupChatMessage> {
    let message = GroupChatMessage {
        id: uuid::Uuid::now_v7().to_string(),
        chat_id: chat_id.to_owned(),
        sender_account_id: caller.account_id.clone(),
        sender_name: caller.display_name.clone(),
        text: text.to_owned(),
        meeting: meeting.cloned(),
        sent_at: now(),
    };
    sqlx::query(
        "INSERT INTO group_chat_messages (id, chat_id, tenant_id, sender_account_id, sender_name, \
         text, meeting_number, meeting_topic, meeting_link_key, origin, sent_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&message.id)
    .bind(chat_id)
    .bind(&caller.tenant_id)
    .bind(&message.sender_account_id)
    .bind(&message.sender_name)
    .bind(&message.text)
    .bind(meeting.map(|m| m.number.as_str()))
    .bind(meeting.map(|m| m.topic.as_str()))
    .bind(meeting.map(|m| m.link_key.as_str()))
    .bind(origin)
    .bind(message.sent_at)
    .execute(&mut *conn)
    .await?;
    // What one sends, one has read.
    sqlx::query(
        "UPDATE group_chat_members SET last_read_id = $1 WHERE chat_id = $2 AND account_id = $3",
    )
    .bind(&message.id)
    .bind(chat_id)
    .bind(&caller.account_id)
    .execute(&mut *conn)
    .await?;
    Ok(message)
}

/// The members of chat `id` when the caller is one of them; otherwise the
/// chat is not there for the caller.
async fn require_member(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> Result<Vec<String>> {
    let members: Vec<(String,)> = sqlx::query_as(
        "SELECT account_id FROM group_chat_members WHERE chat_id = $1 AND tenant_id = $2",
    )
    .bind(id)
    .bind(&caller.tenant_id)
    .fetch_all(&mut *conn)
    .await?;
    let members: Vec<String> = members.into_iter().map(|(a,)| a).collect();
    if !members.contains(&caller.account_id) {
        return Err(Error::NotVisible {
            what: "group chat",
            id: id.to_owned(),
        });
    }
    Ok(members)
}

async fn load(conn: &mut AnyConnection, caller: &Caller, id: &str) -> Result<GroupChat> {
    let row = sqlx::query(
        "SELECT c.id, c.name, c.created_by, m.last_read_id FROM group_chats c \
         JOIN group_chat_members m ON m.chat_id = c.id \
         WHERE c.id = $1 AND c.tenant_id = $2 AND m.account_id = $3",
    )
    .bind(id)
    .bind(&caller.tenant_id)
    .bind(&caller.account_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::NotVisible {
        what: "group chat",
        id: id.to_owned(),
    })?;
    let last_read: Option<String> = row.try_get("last_read_id")?;
    let unread: (i64,) = match &last_read {
        Some(read) => {
            sqlx::query_as(
                "SELECT COUNT(*) FROM group_chat_messages \
                 WHERE chat_id = $1 AND sender_account_id <> $2 AND id > $3",
            )
            .bind(id)
            .bind(&caller.account_id)
            .bind(read)
            .fetch_one(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT COUNT(*) FROM group_chat_messages WHERE chat_id = $1 AND sender_account_id <> $2",
            )
            .bind(id)
            .bind(&caller.account_id)
            .fetch_one(&mut *conn)
            .await?
        }
    };
    let members = sqlx::query(
        "SELECT a.id, a.display_name FROM group_chat_members m \
         JOIN accounts a ON a.id = m.account_id AND a.tenant_id = m.tenant_id \
         WHERE m.chat_id = $1 ORDER BY a.display_name, a.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(crate::accounts::invitee_from_row)
    .collect::<Result<Vec<_>>>()?;
    let last_message = sqlx::query(&format!(
        "{MESSAGE} WHERE chat_id = $1 ORDER BY id DESC LIMIT 1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(message_from_row)
    .transpose()?;
    Ok(GroupChat {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_by: row.try_get("created_by")?,
        members,
        unread: u32::try_from(unread.0).unwrap_or(u32::MAX),
        last_message,
    })
}

/// The distinct accounts of `members` other than `sender`.
pub fn others<'a>(members: &'a [String], sender: &str) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    members
        .iter()
        .map(String::as_str)
        .filter(|m| *m != sender && seen.insert(*m))
        .collect()
}
