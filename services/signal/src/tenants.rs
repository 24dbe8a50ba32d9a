//! Tenants as the operator declares them (`Tenant` custom resources synced
//! through the internal API in `crate::api::internal`): stored, read and
//! marked deleted here. Deleting keeps the row (accounts and meetings keep
//! their references); storing it again revives it.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::store::{Store, now};

/// Longest tenant id accepted (ids are `<namespace>.<name>` from Kubernetes).
const MAX_TENANT_ID: usize = 317;

/// A tenant as the operator writes it and signal stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantRecord {
    /// Display name.
    pub display_name: String,
    /// Self-registration e-mail domains.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Licence terms, e.g. `{"concurrentPorts": 50}` or `{"cloudRooms": {"count": 2, "capacity": 100}}`.
    pub licence: serde_json::Value,
    /// Feature switches, e.g. `{"webinar": true}`.
    #[serde(default)]
    pub features: serde_json::Value,
    /// Days recordings are kept.
    #[serde(default)]
    pub recording_retention_days: i64,
}

/// What went wrong in a tenant admin request.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No internal key is configured: the admin API is switched off.
    #[error("the tenant admin API is disabled: start signal with an internal key")]
    Disabled,
    /// The bearer token is missing or is not the internal key.
    #[error("the internal key is missing or wrong: send Authorization: Bearer <internal key>")]
    Unauthorized,
    /// The tenant id or body is not acceptable.
    #[error("{0}")]
    InvalidInput(String),
    /// No (live) tenant with this id.
    #[error("no tenant with id {0}")]
    NotFound(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Refuses ids that are not `<namespace>.<name>`-like before they reach the database.
pub fn check_id(id: &str) -> Result<(), AdminError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_TENANT_ID
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(())
    } else {
        Err(AdminError::InvalidInput(format!(
            "tenant id {id:?} must be 1-{MAX_TENANT_ID} characters of a-z, 0-9, '-', '.', '_'"
        )))
    }
}

/// Creates or replaces tenant `id`.
pub async fn put(store: &Store, id: &str, record: &TenantRecord) -> Result<(), AdminError> {
    check_id(id)?;
    if record.display_name.trim().is_empty() {
        return Err(AdminError::InvalidInput(
            "displayName must not be empty".into(),
        ));
    }
    let ts = now();
    sqlx::query(
        "INSERT INTO tenants (id, name, domains, licence, features, recording_retention_days, created_at, updated_at, deleted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) \
         ON CONFLICT (id) DO UPDATE SET name = $2, domains = $3, licence = $4, features = $5, \
         recording_retention_days = $6, updated_at = $8, deleted_at = NULL",
    )
    .bind(id)
    .bind(&record.display_name)
    .bind(serde_json::Value::from(record.domains.clone()).to_string())
    .bind(record.licence.to_string())
    .bind(record.features.to_string())
    .bind(record.recording_retention_days)
    .bind(ts)
    .bind(ts)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// The stored, live tenant `id`.
pub async fn get(store: &Store, id: &str) -> Result<TenantRecord, AdminError> {
    check_id(id)?;
    let row = sqlx::query(
        "SELECT name, domains, licence, features, recording_retention_days FROM tenants \
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(|| AdminError::NotFound(id.to_owned()))?;
    let json = |col: &str| -> Result<serde_json::Value, AdminError> {
        let text: String = row.try_get(col)?;
        serde_json::from_str(&text).map_err(|e| {
            AdminError::InvalidInput(format!("stored {col} of tenant {id} is not JSON: {e}"))
        })
    };
    let domains = serde_json::from_value(json("domains")?).unwrap_or_default();
    Ok(TenantRecord {
        display_name: row.try_get("name")?,
        domains,
        licence: json("licence")?,
        features: json("features")?,
        recording_retention_days: row.try_get("recording_retention_days")?,
    })
}

/// Marks tenant `id` deleted (idempotent).
pub async fn delete(store: &Store, id: &str) -> Result<(), AdminError> {
    check_id(id)?;
    sqlx::query("UPDATE tenants SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(now())
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Refuses a tenant that is not stored or was deleted.
pub async fn require_live(store: &Store, id: &str) -> Result<(), AdminError> {
    check_id(id)?;
    let live = sqlx::query("SELECT id FROM tenants WHERE id = $1 AND deleted_at IS NULL")
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    match live {
        Some(_) => Ok(()),
        None => Err(AdminError::NotFound(id.to_owned())),
    }
}
