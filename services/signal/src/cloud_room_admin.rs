//! The cloud rooms as a tenant administrator keeps them (the console's
//! cloud rooms page): who may use each besides its owner, and whether its
//! meetings may be streamed live (the manual's 3.3.4: the enterprise
//! administrator allows live streaming room by room). The owner keeps the
//! room's name, password and settings ([`crate::assistant`]).

use sqlx::{AnyConnection, Row};
use yunhui_proto::api::{AuditAction, CloudRoomStreaming, Invitee};

use crate::accounts::Caller;
use crate::assistant::{insert_members, room_members};
use crate::audit;
use crate::error::{Error, Result};
use crate::schedule::check_invitees;
use crate::store::Store;

const ROOMS: &str = "SELECT c.meeting_id, m.number, m.topic, c.owner_account_id, c.streaming_allowed \
     FROM cloud_rooms c JOIN meetings m ON m.id = c.meeting_id AND m.tenant_id = c.tenant_id \
     WHERE c.tenant_id = $1";

fn room(row: &sqlx::any::AnyRow, members: Vec<Invitee>) -> Result<CloudRoomStreaming> {
    Ok(CloudRoomStreaming {
        room_id: row.try_get("meeting_id")?,
        number: row.try_get("number")?,
        name: row.try_get("topic")?,
        owner_account_id: row.try_get("owner_account_id")?,
        streaming_allowed: row.try_get::<i64, _>("streaming_allowed")? != 0,
        members,
    })
}

/// The room `room_id` of the caller's tenant as just read.
async fn one(
    conn: &mut AnyConnection,
    caller: &Caller,
    room_id: &str,
) -> Result<CloudRoomStreaming> {
    let row = sqlx::query(&format!("{ROOMS} AND c.meeting_id = $2"))
        .bind(&caller.tenant_id)
        .bind(room_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::NotVisible {
            what: "cloud room",
            id: room_id.to_string(),
        })?;
    let members = room_members(conn, room_id).await?;
    room(&row, members)
}

/// The tenant's cloud rooms with their members and streaming permission.
pub async fn rooms(store: &Store, caller: &Caller) -> Result<Vec<CloudRoomStreaming>> {
    caller.require_tenant_admin("manage the cloud rooms")?;
    let mut conn = store.pool().acquire().await?;
    let rows = sqlx::query(&format!("{ROOMS} ORDER BY m.topic, m.number"))
        .bind(&caller.tenant_id)
        .fetch_all(&mut *conn)
        .await?;
    // Every room's members in one query, not one per room.
    let mut members = crate::accounts::invitees_by(
        &sqlx::query(
            "SELECT r.meeting_id, a.id, a.display_name FROM cloud_room_members r \
             JOIN accounts a ON a.id = r.account_id AND a.tenant_id = r.tenant_id \
             WHERE r.tenant_id = $1 ORDER BY r.meeting_id, a.display_name, a.id",
        )
        .bind(&caller.tenant_id)
        .fetch_all(&mut *conn)
        .await?,
        "meeting_id",
    )?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("meeting_id")?;
            room(row, members.remove(&id).unwrap_or_default())
        })
        .collect()
}

/// Allows or forbids live streaming in cloud room `room_id`.
pub async fn set_streaming(
    store: &Store,
    caller: &Caller,
    room_id: &str,
    allowed: bool,
) -> Result<CloudRoomStreaming> {
    caller.require_tenant_admin("manage the cloud rooms")?;
    let mut tx = store.pool().begin().await?;
    let before = one(&mut tx, caller, room_id).await?;
    sqlx::query(
        "UPDATE cloud_rooms SET streaming_allowed = $1 WHERE meeting_id = $2 AND tenant_id = $3",
    )
    .bind(i64::from(allowed))
    .bind(room_id)
    .bind(&caller.tenant_id)
    .execute(&mut *tx)
    .await?;
    if before.streaming_allowed != allowed {
        let detail = format!(
            "{} ({}): live streaming {}",
            before.name,
            before.number,
            if allowed { "allowed" } else { "forbidden" }
        );
        audit::record(
            &mut tx,
            caller,
            AuditAction::CloudRoomStreamingChanged,
            room_id,
            &detail,
        )
        .await?;
    }
    let after = one(&mut tx, caller, room_id).await?;
    tx.commit().await?;
    tracing::info!(
        room = room_id,
        allowed,
        "a cloud room's live streaming permission changed"
    );
    Ok(after)
}

/// Replaces who may use cloud room `room_id` besides its owner: accounts
/// of the tenant (the owner, if named, is left out).
pub async fn set_members(
    store: &Store,
    caller: &Caller,
    room_id: &str,
    members: Vec<String>,
) -> Result<CloudRoomStreaming> {
    caller.require_tenant_admin("manage the cloud rooms")?;
    let mut tx = store.pool().begin().await?;
    let before = one(&mut tx, caller, room_id).await?;
    // Checked as the owner would list them: existing accounts of the
    // tenant, each once, the owner not among them.
    let as_owner = Caller {
        account_id: before.owner_account_id.clone(),
        ..caller.clone()
    };
    let members = check_invitees(&mut tx, &as_owner, members, "members").await?;
    sqlx::query("DELETE FROM cloud_room_members WHERE meeting_id = $1 AND tenant_id = $2")
        .bind(room_id)
        .bind(&caller.tenant_id)
        .execute(&mut *tx)
        .await?;
    insert_members(&mut tx, room_id, &caller.tenant_id, &members).await?;
    let after = one(&mut tx, caller, room_id).await?;
    let names: Vec<&str> = after
        .members
        .iter()
        .map(|m| m.display_name.as_str())
        .collect();
    let detail = format!(
        "{} ({}): {}",
        after.name,
        after.number,
        if names.is_empty() {
            "no members".to_owned()
        } else {
            names.join(", ")
        }
    );
    audit::record(
        &mut tx,
        caller,
        AuditAction::CloudRoomMembersChanged,
        room_id,
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
