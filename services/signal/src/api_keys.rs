//! Per-tenant API keys for integrations (F-API-1).
//!
//! A tenant administrator creates a key for an integration; the key acts
//! for the administrator who created it, inside that tenant only, and only
//! within its scopes ([`ApiScope`]; [`crate::api::scopes`] says which scope
//! each endpoint needs). Only the
//! SHA-256 of a key is stored; the key is shown once. Revoked keys, keys of
//! accounts that are no longer active administrators, and keys of deleted
//! tenants stop working at once.

use sqlx::Row;
use yunhui_proto::api::{ApiKey, ApiScope, AuditAction, CreateApiKeyRequest, CreatedApiKey};

use crate::accounts::{Caller, caller_from_row, new_secret, token_hash};
use crate::audit;
use crate::error::{Error, Result};
use crate::store::{Store, now};

/// Every API key starts with this, so it is told apart from session tokens.
pub const PREFIX: &str = "yk_";

/// Creates a key acting for the calling tenant administrator.
pub async fn create(
    store: &Store,
    caller: &Caller,
    req: CreateApiKeyRequest,
) -> Result<CreatedApiKey> {
    caller.require_tenant_admin("create API keys")?;
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(Error::InvalidInput(
            "an API key's name needs 1 to 64 characters".into(),
        ));
    }
    let mut scopes = req.scopes;
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(Error::InvalidInput(format!(
            "scopes: give an API key at least one scope, of {}",
            ApiScope::ALL.map(ApiScope::as_str).join(", ")
        )));
    }
    let key = format!("{PREFIX}{}", new_secret(32));
    let api_key = ApiKey {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        account_id: caller.account_id.clone(),
        scopes,
        created_at: now(),
        last_used_at: None,
    };
    let scopes_json = serde_json::to_string(&api_key.scopes)
        .map_err(|e| Error::Internal(format!("scopes do not serialise: {e}")))?;
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, account_id, name, key_hash, created_at, scopes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&api_key.id)
    .bind(&caller.tenant_id)
    .bind(&api_key.account_id)
    .bind(&api_key.name)
    .bind(token_hash(&key))
    .bind(api_key.created_at)
    .bind(scopes_json)
    .execute(&mut *tx)
    .await?;
    let scopes: Vec<&str> = api_key.scopes.iter().map(|s| s.as_str()).collect();
    let detail = format!("{}: {}", api_key.name, scopes.join(", "));
    audit::record(
        &mut tx,
        caller,
        AuditAction::ApiKeyCreated,
        &api_key.id,
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedApiKey { api_key, key })
}

/// The tenant's keys that are not revoked.
pub async fn list(store: &Store, caller: &Caller) -> Result<Vec<ApiKey>> {
    caller.require_tenant_admin("list API keys")?;
    let rows = sqlx::query(
        "SELECT id, name, account_id, scopes, created_at, last_used_at FROM api_keys \
         WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY created_at, id",
    )
    .bind(&caller.tenant_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ApiKey {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                account_id: row.try_get("account_id")?,
                scopes: scopes_from(&row.try_get::<String, _>("scopes")?)?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .collect()
}

/// Revokes a key of the caller's tenant.
pub async fn revoke(store: &Store, caller: &Caller, id: &str) -> Result<()> {
    caller.require_tenant_admin("revoke API keys")?;
    let mut tx = store.pool().begin().await?;
    let name: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM api_keys WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(&caller.tenant_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((name,)) = name else {
        return Err(Error::ApiKeyNotFound(id.to_string()));
    };
    sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3")
        .bind(now())
        .bind(id)
        .bind(&caller.tenant_id)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, caller, AuditAction::ApiKeyRevoked, id, &name).await?;
    tx.commit().await?;
    Ok(())
}

/// Resolves a key to the administrator it acts for.
pub async fn authenticate(store: &Store, key: &str) -> Result<Caller> {
    let hash = token_hash(key);
    let row = sqlx::query(
        "SELECT k.id, k.account_id, k.tenant_id, k.scopes, a.display_name, a.role, a.status FROM api_keys k \
         JOIN accounts a ON a.id = k.account_id AND a.tenant_id = k.tenant_id \
         JOIN tenants t ON t.id = k.tenant_id \
         WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND t.deleted_at IS NULL",
    )
    .bind(&hash)
    .fetch_optional(store.pool())
    .await?
    .ok_or(Error::InvalidToken)?;
    let mut caller = caller_from_row(&row)?;
    caller.scopes = Some(scopes_from(&row.try_get::<String, _>("scopes")?)?);
    caller.api_key_id = Some(row.try_get("id")?);
    // A key is only as strong as its creator: a demoted admin's keys stop.
    caller
        .require_tenant_admin("use API keys")
        .map_err(|_| Error::InvalidToken)?;
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE key_hash = $2")
        .bind(now())
        .bind(&hash)
        .execute(store.pool())
        .await?;
    Ok(caller)
}

/// A key's stored scopes.
fn scopes_from(text: &str) -> Result<Vec<ApiScope>> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("an API key's stored scopes are unreadable: {e}")))
}
