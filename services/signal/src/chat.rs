//! Chat messages kept with their meeting (F-CTL-6).

use sqlx::Row;
use yunhui_proto::signaling::ChatMessage;

use crate::error::Result;
use crate::store::Store;

/// Messages replayed to a joiner, newest last.
const HISTORY: i64 = 200;

/// Stores one message of `meeting_id`.
pub async fn save(store: &Store, meeting_id: &str, message: &ChatMessage) -> Result<()> {
    sqlx::query(
        "INSERT INTO chat_messages (id, meeting_id, from_participant, from_name, to_participant, text, sent_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&message.id)
    .bind(meeting_id)
    .bind(&message.from)
    .bind(&message.from_name)
    .bind(message.to.clone())
    .bind(&message.text)
    .bind(message.sent_at_ms)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// The meeting's recent messages `participant_id` may read: every public
/// message and the private ones to or from them, oldest first.
pub async fn history(
    store: &Store,
    meeting_id: &str,
    participant_id: &str,
) -> Result<Vec<ChatMessage>> {
    let rows = sqlx::query(
        "SELECT id, from_participant, from_name, to_participant, text, sent_at_ms FROM chat_messages \
         WHERE meeting_id = $1 AND (to_participant IS NULL OR to_participant = $2 OR from_participant = $2) \
         ORDER BY sent_at_ms DESC, id DESC LIMIT $3",
    )
    .bind(meeting_id)
    .bind(participant_id)
    .bind(HISTORY)
    .fetch_all(store.pool())
    .await?;
    let mut messages = rows
        .iter()
        .map(|row| {
            Ok(ChatMessage {
                id: row.try_get("id")?,
                from: row.try_get("from_participant")?,
                from_name: row.try_get("from_name")?,
                to: row.try_get("to_participant")?,
                text: row.try_get("text")?,
                sent_at_ms: row.try_get("sent_at_ms")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    messages.reverse();
    Ok(messages)
}
