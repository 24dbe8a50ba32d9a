//! Who may stream a meeting live (F-REC-2): the tenant's `streaming`
//! feature switch, then, for a personal cloud room, a tenant
//! administrator's permission for that room (the manual's 3.3.4: the
//! enterprise administrator allows live streaming room by room), and for
//! any other meeting its `live_streaming` setting. The live stream itself
//! is `live::room::streaming`.

use sqlx::Row;
use yunhui_proto::api::CloudRoomStreaming;

use crate::accounts::Caller;
use crate::error::{Error, Result};
use crate::store::Store;

/// Whether meeting `meeting_id` is a cloud room (`Some`), and then whether
/// an administrator allowed it to stream.
pub async fn cloud_room_permission(store: &Store, meeting_id: &str) -> Result<Option<bool>> {
    let row = sqlx::query("SELECT streaming_allowed FROM cloud_rooms WHERE meeting_id = $1")
        .bind(meeting_id)
        .fetch_optional(store.pool())
        .await?;
    row.map(|r| Ok(r.try_get::<i64, _>("streaming_allowed")? != 0))
        .transpose()
}

/// Why a meeting may not be streamed, if it may not: `cloud_room` is
/// [`cloud_room_permission`], `live_streaming` the meeting's setting.
pub fn refusal(cloud_room: Option<bool>, live_streaming: bool) -> Option<Error> {
    match cloud_room {
        Some(true) => None,
        Some(false) => Some(Error::NotAllowed(
            "stream this cloud room live: a tenant administrator has not allowed it",
        )),
        None if live_streaming => None,
        None => Some(Error::NotAllowed(
            "stream this meeting live: its settings do not allow live streaming",
        )),
    }
}

const ROOMS: &str = "SELECT c.meeting_id, m.number, m.topic, c.owner_account_id, c.streaming_allowed \
     FROM cloud_rooms c JOIN meetings m ON m.id = c.meeting_id AND m.tenant_id = c.tenant_id \
     WHERE c.tenant_id = $1";

fn room(row: &sqlx::any::AnyRow) -> Result<CloudRoomStreaming> {
    Ok(CloudRoomStreaming {
        room_id: row.try_get("meeting_id")?,
        number: row.try_get("number")?,
        name: row.try_get("topic")?,
        owner_account_id: row.try_get("owner_account_id")?,
        streaming_allowed: row.try_get::<i64, _>("streaming_allowed")? != 0,
    })
}

/// The tenant's cloud rooms with their streaming permission (tenant
/// administrators only).
pub async fn rooms(store: &Store, caller: &Caller) -> Result<Vec<CloudRoomStreaming>> {
    caller.require_tenant_admin("manage the cloud rooms' live streaming")?;
    let rows = sqlx::query(&format!("{ROOMS} ORDER BY m.topic, m.number"))
        .bind(&caller.tenant_id)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(room).collect()
}

/// Allows or forbids live streaming in cloud room `room_id` of the
/// caller's tenant (tenant administrators only).
pub async fn set_permission(
    store: &Store,
    caller: &Caller,
    room_id: &str,
    allowed: bool,
) -> Result<CloudRoomStreaming> {
    caller.require_tenant_admin("manage the cloud rooms' live streaming")?;
    let changed = sqlx::query(
        "UPDATE cloud_rooms SET streaming_allowed = $1 WHERE meeting_id = $2 AND tenant_id = $3",
    )
    .bind(i64::from(allowed))
    .bind(room_id)
    .bind(&caller.tenant_id)
    .execute(store.pool())
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::NotVisible {
            what: "cloud room",
            id: room_id.to_string(),
        });
    }
    let row = sqlx::query(&format!("{ROOMS} AND c.meeting_id = $2"))
        .bind(&caller.tenant_id)
        .bind(room_id)
        .fetch_one(store.pool())
        .await?;
    tracing::info!(
        room = room_id,
        allowed,
        "a cloud room's live streaming permission changed"
    );
    room(&row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_rooms_need_an_administrators_permission_other_meetings_their_setting() {
        assert!(refusal(Some(true), false).is_none());
        assert!(refusal(Some(false), true).is_some());
        assert!(refusal(None, true).is_none());
        assert!(refusal(None, false).is_some());
    }
}
