//! Who may stream a meeting live (F-REC-2): the tenant's `streaming`
//! feature switch, then, for a personal cloud room, a tenant
//! administrator's permission for that room (the manual's 3.3.4: the
//! enterprise administrator allows live streaming room by room), and for
//! any other meeting its `live_streaming` setting. The live stream itself
//! is `live::room::streaming`.

use sqlx::Row;

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
