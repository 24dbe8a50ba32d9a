//! The internal tenant admin API used by the operator, and the
//! `/.well-known/yunhui` discovery document.
//!
//! `PUT|GET|DELETE /internal/v1/tenants/{id}` need `Authorization: Bearer
//! <internal key>` ([`crate::SignalConfig::internal_key`], compared in
//! constant time); without a configured key the admin API answers 404 so it
//! cannot be used by accident. Deleting marks the tenant deleted (its accounts
//! and meetings keep their references); a later `PUT` revives it.
//!
//! The discovery document is the JSON file at
//! [`crate::SignalConfig::discovery_file`] (the operator mounts the
//! Gateway's ConfigMap there), or a minimal document built from the public
//! URL when none is configured.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use subtle::ConstantTimeEq;
use yunhui_proto::api::{ApiError, ErrorBody};

use crate::App;
use crate::store::now;

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

/// What went wrong in an admin request.
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

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AdminError::Disabled => (StatusCode::NOT_FOUND, "admin_api_disabled"),
            AdminError::Unauthorized => (StatusCode::UNAUTHORIZED, "invalid_internal_key"),
            AdminError::InvalidInput(_) => (StatusCode::BAD_REQUEST, "invalid_input"),
            AdminError::NotFound(_) => (StatusCode::NOT_FOUND, "tenant_not_found"),
            AdminError::Database(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let message = if matches!(self, AdminError::Database(_)) {
            tracing::error!(error = %self, "tenant admin request failed");
            "the server failed to handle the request; see its logs".to_string()
        } else {
            self.to_string()
        };
        let body = ApiError {
            error: ErrorBody {
                code: code.into(),
                message,
            },
        };
        (status, Json(body)).into_response()
    }
}

fn authorize(app: &App, headers: &HeaderMap) -> Result<(), AdminError> {
    let key = app
        .config
        .internal_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .ok_or(AdminError::Disabled)?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AdminError::Unauthorized)?;
    if bool::from(given.as_bytes().ct_eq(key.as_bytes())) {
        Ok(())
    } else {
        Err(AdminError::Unauthorized)
    }
}

fn check_id(id: &str) -> Result<(), AdminError> {
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

/// `PUT /internal/v1/tenants/{id}`: creates or replaces a tenant.
pub async fn put_tenant(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<TenantRecord>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<TenantRecord>, AdminError> {
    authorize(&app, &headers)?;
    check_id(&id)?;
    let Json(record) = body.map_err(|e| AdminError::InvalidInput(e.body_text()))?;
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
    .bind(&id)
    .bind(&record.display_name)
    .bind(serde_json::Value::from(record.domains.clone()).to_string())
    .bind(record.licence.to_string())
    .bind(record.features.to_string())
    .bind(record.recording_retention_days)
    .bind(ts)
    .bind(ts)
    .execute(app.store.pool())
    .await?;
    Ok(Json(record))
}

/// `GET /internal/v1/tenants/{id}`: the stored tenant.
pub async fn get_tenant(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<TenantRecord>, AdminError> {
    authorize(&app, &headers)?;
    check_id(&id)?;
    let row = sqlx::query(
        "SELECT name, domains, licence, features, recording_retention_days FROM tenants \
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(&id)
    .fetch_optional(app.store.pool())
    .await?
    .ok_or_else(|| AdminError::NotFound(id.clone()))?;
    let json = |col: &str| -> Result<serde_json::Value, AdminError> {
        let text: String = row.try_get(col)?;
        serde_json::from_str(&text).map_err(|e| {
            AdminError::InvalidInput(format!("stored {col} of tenant {id} is not JSON: {e}"))
        })
    };
    let domains = serde_json::from_value(json("domains")?).unwrap_or_default();
    Ok(Json(TenantRecord {
        display_name: row.try_get("name")?,
        domains,
        licence: json("licence")?,
        features: json("features")?,
        recording_retention_days: row.try_get("recording_retention_days")?,
    }))
}

/// `DELETE /internal/v1/tenants/{id}`: marks the tenant deleted (idempotent).
pub async fn delete_tenant(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, AdminError> {
    authorize(&app, &headers)?;
    check_id(&id)?;
    sqlx::query("UPDATE tenants SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(now())
        .bind(&id)
        .execute(app.store.pool())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /internal/v1/tenants/{id}/admins` body: the tenant's first (or
/// another) administrator.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminRequest {
    /// Login e-mail address.
    pub email: String,
    /// Name shown in meetings.
    pub display_name: String,
    /// Initial password (at least 8 characters); generated when omitted.
    #[serde(default)]
    pub password: Option<String>,
}

/// Answer to [`create_admin`]: the initial password (generated, or the one
/// given) is shown only here.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedAdmin {
    /// The new account's id.
    pub account_id: String,
    /// Its initial password.
    pub password: String,
}

/// `POST /internal/v1/tenants/{id}/admins`: creates an administrator of a
/// live tenant with the given or a generated password (409 when the login
/// exists).
pub async fn create_admin(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<AdminRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<CreatedAdmin>), Response> {
    authorize(&app, &headers).map_err(IntoResponse::into_response)?;
    check_id(&id).map_err(IntoResponse::into_response)?;
    let Json(req) = body.map_err(|e| AdminError::InvalidInput(e.body_text()).into_response())?;
    let live = sqlx::query("SELECT id FROM tenants WHERE id = $1 AND deleted_at IS NULL")
        .bind(&id)
        .fetch_optional(app.store.pool())
        .await
        .map_err(|e| AdminError::Database(e).into_response())?;
    if live.is_none() {
        return Err(AdminError::NotFound(id).into_response());
    }
    let password = req
        .password
        .unwrap_or_else(|| crate::accounts::new_secret(12));
    let account = crate::accounts::create_tenant_admin(
        &app.store,
        &id,
        yunhui_proto::api::RegisterRequest {
            email: Some(req.email),
            phone: None,
            password: password.clone(),
            display_name: req.display_name,
            tenant_id: None,
        },
    )
    .await
    .map_err(IntoResponse::into_response)?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedAdmin {
            account_id: account.id,
            password,
        }),
    ))
}

/// `GET /.well-known/yunhui`: the enterprise-login discovery document.
pub async fn discovery(State(app): State<Arc<App>>) -> Response {
    if let Some(path) = &app.config.discovery_file {
        match tokio::fs::read(path).await {
            Ok(bytes) => {
                if serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
                    return ([(header::CONTENT_TYPE, "application/json")], bytes).into_response();
                }
                tracing::warn!(path = %path.display(), "discovery file is not JSON; serving the default document");
            }
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "no discovery file; serving the default document")
            }
        }
    }
    let base = app.config.public_url.trim_end_matches('/');
    let ws = base
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    Json(serde_json::json!({
        "version": 1,
        "api": format!("{base}/api/v1"),
        "signaling": format!("{ws}/api/v1/signal"),
    }))
    .into_response()
}
