//! What a meeting's status change does to its stored records: the history
//! entry of an ending meeting, and a series with occurrences still to come
//! or a personal cloud room going back to waiting with its number. It knows
//! meetings, schedules and cloud rooms, so none of them needs the others,
//! and tells the tenant's webhooks when a meeting's room opens or closes.

use sqlx::Row;
use yunhui_proto::api::{MeetingStatus, WebhookEvent};

use crate::error::Result;
use crate::store::{Store, now};
use crate::{assistant, meetings, schedule, webhooks};

/// Moves a meeting to `status`, stamping start or end times. An ending
/// meeting is written to the history list; a series with occurrences still
/// to come, or a personal cloud room, goes back to waiting, keeping its
/// number for the next meeting.
///
/// A room that opens or closes is told to the tenant's webhooks
/// (`meeting.started`, `meeting.ended`), in the same transaction.
pub async fn set_status(store: &Store, meeting_id: &str, status: MeetingStatus) -> Result<()> {
    let stamp = now();
    let mut tx = store.pool().begin().await?;
    // The meeting's row is taken before it is read: two changes of one
    // meeting (two replicas) take turns instead of both reading the old
    // status, and on SQLite the write lock is waited for here rather than
    // refused when a read of an older snapshot tries to write.
    sqlx::query("UPDATE meetings SET status = status WHERE id = $1")
        .bind(meeting_id)
        .execute(&mut *tx)
        .await?;
    let before = sqlx::query("SELECT tenant_id, number, topic, status FROM meetings WHERE id = $1")
        .bind(meeting_id)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = before {
        let was: String = row.try_get("status")?;
        if let Some((kind, reason)) = news(&was, status) {
            let event = webhooks::Event {
                tenant_id: row.try_get("tenant_id")?,
                kind,
                data: serde_json::json!({
                    "meeting_id": meeting_id,
                    "meeting_number": row.try_get::<String, _>("number")?,
                    "topic": row.try_get::<String, _>("topic")?,
                    "reason": reason,
                }),
            };
            webhooks::record(&mut tx, &event).await?;
        }
    }
    if status == MeetingStatus::Ended {
        sqlx::query(
            "INSERT INTO meeting_history (id, meeting_id, tenant_id, number, topic, host_account_id, started_at, ended_at) \
             SELECT $1, id, tenant_id, number, topic, host_account_id, started_at, $2 FROM meetings \
             WHERE id = $3 AND status <> 'ended'",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(stamp)
        .bind(meeting_id)
        .execute(&mut *tx)
        .await?;
        if schedule::series_continues_after(&mut tx, meeting_id, stamp).await?
            || assistant::is_cloud_room(&mut tx, meeting_id).await?
        {
            sqlx::query(
                "UPDATE meetings SET status = 'waiting', started_at = NULL, ended_at = $1 WHERE id = $2",
            )
            .bind(stamp)
            .bind(meeting_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(());
        }
    }
    let sql = match status {
        MeetingStatus::Live => {
            "UPDATE meetings SET status = $1, started_at = COALESCE(started_at, $2) WHERE id = $3 AND status <> 'ended'"
        }
        MeetingStatus::Ended => "UPDATE meetings SET status = $1, ended_at = $2 WHERE id = $3",
        MeetingStatus::Waiting => {
            "UPDATE meetings SET status = $1, ended_at = $2 WHERE id = $3 AND status <> 'ended'"
        }
    };
    let stamp = if status == MeetingStatus::Waiting {
        None
    } else {
        Some(stamp)
    };
    sqlx::query(sql)
        .bind(meetings::status_str(status))
        .bind(stamp)
        .bind(meeting_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// What the tenant's webhooks hear when a meeting stored as `was` moves to
/// `status`: its room opened, or closed (and why); else nothing.
fn news(was: &str, status: MeetingStatus) -> Option<(WebhookEvent, Option<&'static str>)> {
    let live = meetings::status_str(MeetingStatus::Live);
    match status {
        MeetingStatus::Live if was != live => Some((WebhookEvent::MeetingStarted, None)),
        MeetingStatus::Ended if was == live => Some((WebhookEvent::MeetingEnded, Some("ended"))),
        MeetingStatus::Waiting if was == live => {
            Some((WebhookEvent::MeetingEnded, Some("emptied")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_room_opening_or_closing_is_news() {
        assert_eq!(
            news("waiting", MeetingStatus::Live),
            Some((WebhookEvent::MeetingStarted, None))
        );
        assert_eq!(news("live", MeetingStatus::Live), None);
        assert_eq!(
            news("live", MeetingStatus::Ended),
            Some((WebhookEvent::MeetingEnded, Some("ended")))
        );
        assert_eq!(
            news("live", MeetingStatus::Waiting),
            Some((WebhookEvent::MeetingEnded, Some("emptied")))
        );
        assert_eq!(news("waiting", MeetingStatus::Ended), None);
        assert_eq!(news("ended", MeetingStatus::Waiting), None);
    }
}
