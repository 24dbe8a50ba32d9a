//! Chat messages kept with their meeting (F-CTL-6).

use sqlx::Row;
use yunhui_proto::signaling::ChatMessage;

use crate::error::Result;
use crate::store::Store;

/// Messages replayed to a joiner, newest last.
const HISTORY: i64 = 200;

/// The signed-in accounts behind a message's sender and recipient.
#[derive(Debug, Clone, Copy, Default)]
pub struct Accounts<'a> {
    /// The sender's account, when signed in.
    pub from: Option<&'a str>,
    /// A private message's recipient's account, when signed in.
    pub to: Option<&'a str>,
}

/// Stores one message of `meeting_id`.
pub async fn save(
    store: &Store,
    meeting_id: &str,
    message: &ChatMessage,
    accounts: Accounts<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO chat_messages (id, meeting_id, from_participant, from_name, to_participant, text, sent_at_ms, from_account, to_account, to_panel, breakout) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&message.id)
    .bind(meeting_id)
    .bind(&message.from)
    .bind(&message.from_name)
    .bind(message.to.clone())
    .bind(&message.text)
    .bind(message.sent_at_ms)
    .bind(accounts.from)
    .bind(accounts.to)
    .bind(i64::from(message.to_panel))
    .bind(message.breakout.clone())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// The meeting's recent messages `participant_id` may read: every public
/// message (those to a webinar's panel when they are `on_panel`) and the
/// private ones to or from them or, when signed in, to or from their
/// `account_id` in an earlier visit (shown as theirs now), oldest first.
pub async fn history(
    store: &Store,
    meeting_id: &str,
    participant_id: &str,
    account_id: Option<&str>,
    on_panel: bool,
) -> Result<Vec<ChatMessage>> {
    let rows = sqlx::query(
        "SELECT id, from_participant, from_name, to_participant, text, sent_at_ms, from_account, to_account, to_panel, breakout \
         FROM chat_messages \
         WHERE meeting_id = $1 AND ((to_participant IS NULL AND breakout IS NULL AND (to_panel = 0 OR $5 = 1)) \
               OR to_participant = $2 OR from_participant = $2 OR from_account = $4 OR to_account = $4) \
         ORDER BY sent_at_ms DESC, id DESC LIMIT $3",
    )
    .bind(meeting_id)
    .bind(participant_id)
    .bind(HISTORY)
    .bind(account_id)
    .bind(i64::from(on_panel))
    .fetch_all(store.pool())
    .await?;
    let mine = |account: Option<String>| account.is_some() && account.as_deref() == account_id;
    let mut messages = rows
        .iter()
        .map(|row| {
            let mut message = ChatMessage {
                id: row.try_get("id")?,
                from: row.try_get("from_participant")?,
                from_name: row.try_get("from_name")?,
                to: row.try_get("to_participant")?,
                to_panel: row.try_get::<i64, _>("to_panel")? != 0,
                breakout: row.try_get("breakout")?,
                text: row.try_get("text")?,
                sent_at_ms: row.try_get("sent_at_ms")?,
            };
            if mine(row.try_get("from_account")?) {
                message.from = participant_id.to_owned();
            }
            if message.to.is_some() && mine(row.try_get("to_account")?) {
                message.to = Some(participant_id.to_owned());
            }
            Ok(message)
        })
        .collect::<Result<Vec<_>>>()?;
    messages.reverse();
    Ok(messages)
}
