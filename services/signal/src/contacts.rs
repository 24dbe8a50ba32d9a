//! Frequent contacts (F-DIR-1): the colleagues an account keeps at hand,
//! from its own enterprise only. Adding one twice, or removing one not
//! there, changes nothing.

use sqlx::Row;
use yunhui_proto::api::DirectoryEntry;
use yunhui_proto::limits;

use crate::accounts::{self, Caller};
use crate::error::{Error, Result};
use crate::store::{Store, now};

/// The caller's frequent contacts that are active, by name.
pub async fn list(store: &Store, caller: &Caller) -> Result<Vec<DirectoryEntry>> {
    let rows = sqlx::query(
        "SELECT a.id, a.display_name, a.department, a.email FROM frequent_contacts f \
         JOIN accounts a ON a.id = f.contact_id AND a.tenant_id = f.tenant_id \
         WHERE f.account_id = $1 AND f.tenant_id = $2 AND a.status = 'active' \
         ORDER BY LOWER(a.display_name), a.display_name, a.id",
    )
    .bind(&caller.account_id)
    .bind(&caller.tenant_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(accounts::directory_entry).collect()
}

/// Adds an active colleague of the caller's enterprise.
pub async fn add(store: &Store, caller: &Caller, contact_id: &str) -> Result<()> {
    if contact_id == caller.account_id {
        return Err(Error::InvalidInput(
            "you cannot be your own frequent contact".into(),
        ));
    }
    let mut tx = store.pool().begin().await?;
    let colleague = sqlx::query(
        "SELECT id FROM accounts WHERE id = $1 AND tenant_id = $2 AND status = 'active'",
    )
    .bind(contact_id)
    .bind(&caller.tenant_id)
    .fetch_optional(&mut *tx)
    .await?;
    if colleague.is_none() {
        return Err(Error::AccountNotFound(contact_id.to_owned()));
    }
    let known = sqlx::query("SELECT contact_id FROM frequent_contacts WHERE account_id = $1")
        .bind(&caller.account_id)
        .fetch_all(&mut *tx)
        .await?;
    if known.iter().any(|r| {
        r.try_get::<String, _>("contact_id")
            .is_ok_and(|id| id == contact_id)
    }) {
        return Ok(());
    }
    if known.len() >= limits::FREQUENT_CONTACTS {
        return Err(Error::InvalidInput(format!(
            "at most {} frequent contacts; remove one first",
            limits::FREQUENT_CONTACTS
        )));
    }
    sqlx::query(
        "INSERT INTO frequent_contacts (account_id, contact_id, tenant_id, added_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&caller.account_id)
    .bind(contact_id)
    .bind(&caller.tenant_id)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a frequent contact (nothing if it was not one).
pub async fn remove(store: &Store, caller: &Caller, contact_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM frequent_contacts WHERE account_id = $1 AND tenant_id = $2 AND contact_id = $3")
        .bind(&caller.account_id)
        .bind(&caller.tenant_id)
        .bind(contact_id)
        .execute(store.pool())
        .await?;
    Ok(())
}
