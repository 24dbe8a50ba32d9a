//! The audit log of administrative actions (the console's audit page): who
//! approved, disabled or promoted which account, changed which department,
//! device, API key, webhook or cloud room, and through which API key if
//! one was used.
//!
//! An entry is written with [`record`] on the connection of the change's
//! own transaction, so an action is never logged without having happened
//! nor done without being logged. Entries are per tenant and only its
//! administrators read them ([`list`]), newest first, in pages.

use sqlx::{AnyConnection, Row};
use yunhui_proto::api::{AuditAction, AuditEntry};

use crate::accounts::Caller;
use crate::error::{Error, Result};
use crate::store::{Store, now};

/// Entries per page unless the caller asks for fewer.
pub const PAGE: u32 = 50;
/// Most entries one page holds.
pub const MAX_PAGE: u32 = 200;

/// Longest detail kept; longer ones are cut at a character boundary.
const MAX_DETAIL_CHARS: usize = 512;

/// Records that `caller` did `action` to `target_id`, described by `detail`
/// (names and values a reader recognises: the account's name, the new role).
pub async fn record(
    conn: &mut AnyConnection,
    caller: &Caller,
    action: AuditAction,
    target_id: &str,
    detail: &str,
) -> Result<()> {
    let detail: String = detail.chars().take(MAX_DETAIL_CHARS).collect();
    sqlx::query(
        "INSERT INTO audit_log (id, tenant_id, at, actor_account_id, actor_name, api_key_id, \
         action, target_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&caller.tenant_id)
    .bind(now())
    .bind(&caller.account_id)
    .bind(&caller.display_name)
    .bind(caller.api_key_id.as_deref())
    .bind(action.as_str())
    .bind(target_id)
    .bind(detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A page of the caller's tenant's log, newest first: the `limit` entries
/// (at most [`MAX_PAGE`], [`PAGE`] when not given) written before the
/// entry `before`, or the latest ones.
pub async fn list(
    store: &Store,
    caller: &Caller,
    before: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<AuditEntry>> {
    caller.require_tenant_admin("read the audit log")?;
    let limit = limit.unwrap_or(PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::InvalidInput(format!(
            "limit: 1 to {MAX_PAGE} entries per page"
        )));
    }
    let columns = "SELECT id, at, actor_account_id, actor_name, api_key_id, action, target_id, detail \
                   FROM audit_log WHERE tenant_id = $1";
    let rows = match before {
        Some(before) => {
            sqlx::query(&format!(
                "{columns} AND id < $2 ORDER BY id DESC LIMIT {limit}"
            ))
            .bind(&caller.tenant_id)
            .bind(before)
            .fetch_all(store.pool())
            .await?
        }
        None => {
            sqlx::query(&format!("{columns} ORDER BY id DESC LIMIT {limit}"))
                .bind(&caller.tenant_id)
                .fetch_all(store.pool())
                .await?
        }
    };
    rows.iter()
        .map(|row| {
            let action: String = row.try_get("action")?;
            Ok(AuditEntry {
                id: row.try_get("id")?,
                at: row.try_get("at")?,
                actor_account_id: row.try_get("actor_account_id")?,
                actor_name: row.try_get("actor_name")?,
                api_key_id: row.try_get("api_key_id")?,
                action: action_from(&action)?,
                target_id: row.try_get("target_id")?,
                detail: row.try_get("detail")?,
            })
        })
        .collect()
}

fn action_from(text: &str) -> Result<AuditAction> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| Error::Internal(format!("an audit entry has an unknown action {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_stored_name() {
        for action in [
            AuditAction::AccountApproved,
            AuditAction::AccountDisabled,
            AuditAction::DepartmentDeleted,
            AuditAction::DirectoryProvisioned,
            AuditAction::ApiKeyRevoked,
            AuditAction::CloudRoomMembersChanged,
        ] {
            assert_eq!(action_from(action.as_str()).unwrap(), action);
        }
        assert!(action_from("account.exploded").is_err());
    }
}
