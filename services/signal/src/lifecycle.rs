//! What a meeting's status change does to its stored records: the history
//! entry of an ending meeting, and a series with occurrences still to come
//! or a personal cloud room going back to waiting with its number. It knows
//! meetings, schedules and cloud rooms, so none of them needs the others.

use yunhui_proto::api::MeetingStatus;

use crate::error::Result;
use crate::store::{Store, now};
use crate::{assistant, meetings, schedule};

/// Moves a meeting to `status`, stamping start or end times. An ending
/// meeting is written to the history list; a series with occurrences still
/// to come, or a personal cloud room, goes back to waiting, keeping its
/// number for the next meeting.
pub async fn set_status(store: &Store, meeting_id: &str, status: MeetingStatus) -> Result<()> {
    let stamp = now();
    let mut tx = store.pool().begin().await?;
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
