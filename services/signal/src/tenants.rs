//! Tenants as the operator declares them (`Tenant` custom resources synced
//! through the internal API in `crate::api::internal`): stored, read and
//! marked deleted here. Deleting keeps the row (accounts and meetings keep
//! their references); storing it again revives it.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::store::{Store, now};

/// Whether the tenant's feature switch `feature` (e.g. `webinar`) is on;
/// off for a tenant that does not exist.
pub async fn feature_on(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    feature: &str,
) -> crate::error::Result<bool> {
    let row = sqlx::query("SELECT features FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let features: serde_json::Value =
        serde_json::from_str(&row.try_get::<String, _>("features")?).unwrap_or_default();
    Ok(features[feature].as_bool().unwrap_or(false))
}

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
    /// The region whose SFU nodes take the tenant's meetings when one can
    /// (see `placement::place`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_region: Option<String>,
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
    if let Some(region) = &record.media_region
        && !crate::placement::nodes::valid_region(region)
    {
        return Err(AdminError::InvalidInput(format!(
            "mediaRegion {region:?} must be 1 to 63 letters, digits, '-', '.' or '_'"
        )));
    }
    // Update, else insert, else (another put created it meanwhile) update:
    // what PostgreSQL's ON CONFLICT DO UPDATE did, in SQL that openGauss and
    // KingbaseES also accept (docs/database-compatibility.md). Both
    // statements bind the same values in the same order.
    const UPDATE: &str = "UPDATE tenants SET name = $1, domains = $2, licence = $3, features = $4, \
         recording_retention_days = $5, updated_at = $6, media_region = $8, deleted_at = NULL WHERE id = $7";
    const INSERT: &str = "INSERT INTO tenants (name, domains, licence, features, recording_retention_days, \
         updated_at, id, created_at, media_region, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8, NULL)";
    let ts = now();
    let domains = serde_json::Value::from(record.domains.clone()).to_string();
    let write = |sql: &'static str| {
        sqlx::query(sql)
            .bind(record.display_name.clone())
            .bind(domains.clone())
            .bind(record.licence.to_string())
            .bind(record.features.to_string())
            .bind(record.recording_retention_days)
            .bind(ts)
            .bind(id.to_owned())
            .bind(record.media_region.clone())
            .execute(store.pool())
    };
    if write(UPDATE).await?.rows_affected() > 0 {
        return Ok(());
    }
    match write(INSERT).await {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            write(UPDATE).await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The stored, live tenant `id`.
pub async fn get(store: &Store, id: &str) -> Result<TenantRecord, AdminError> {
    check_id(id)?;
    let row = sqlx::query(
        "SELECT name, domains, licence, features, recording_retention_days, media_region \
         FROM tenants WHERE id = $1 AND deleted_at IS NULL",
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
        media_region: row.try_get("media_region")?,
    })
}

/// The region tenant `id` prefers for its meetings' media, if any.
pub async fn media_region(store: &Store, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar::<_, Option<String>>("SELECT media_region FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await
        .map(Option::flatten)
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
