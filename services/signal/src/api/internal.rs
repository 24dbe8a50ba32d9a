//! The internal tenant admin API the operator calls, the media-node reports
//! SFU nodes send, and the `/.well-known/yunhui` discovery document.
//!
//! `PUT|GET|DELETE /internal/v1/tenants/{id}` and `POST
//! /internal/v1/tenants/{id}/admins` need `Authorization: Bearer <internal
//! key>` ([`crate::SignalConfig::internal_key`], compared in constant time);
//! without a configured key the admin API answers 404 so it cannot be used
//! by accident. The records are [`crate::tenants`]'.
//!
//! `PUT /internal/v1/media-nodes/{id}` takes an SFU node's
//! [`NodeReport`] (same key) into the node table of [`crate::placement`];
//! it answers 404 when signal does not place rooms on registered nodes.
//! `GET /internal/v1/media-nodes` lists the table with each node's load
//! ([`MediaNodeList`]) and `POST /internal/v1/media-nodes/{id}/drain` marks
//! a node draining (placement skips it from then on; 404 for a node not in
//! the table): the operator's autoscaler reads the one and drains a node
//! through the other before it removes the node's pod.
//!
//! The pools of workers ([`WorkerPool`]: SIP gateways, recorders) report
//! the same way: `PUT /internal/v1/{pool}/{id}` takes a worker's
//! [`WorkerReport`] (same key) into [`crate::workers`] and answers whether
//! the worker was marked draining; `GET /internal/v1/{pool}` lists the
//! pool's workers with their work ([`WorkerList`]) and `POST
//! /internal/v1/{pool}/{id}/drain` marks one draining: the operator's
//! autoscaler reads and drains each pool through these.
//!
//! The discovery document is the JSON file at
//! [`crate::SignalConfig::discovery_file`] (the operator mounts the
//! Gateway's ConfigMap there), or a minimal document built from the public
//! URL when none is configured.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use yunhui_proto::api::{ApiError, ErrorBody};
use yunhui_proto::discovery::{Discovery, Media, Sip};
use yunhui_proto::media::{MediaNodeList, MediaNodeLoad, NodeReport};
use yunhui_proto::worker::{WorkerList, WorkerLoad, WorkerPool, WorkerReport, WorkerReportAnswer};

use crate::App;
use crate::placement::NodeId;
use crate::placement::nodes::{NodeTable, NodeView};
use crate::tenants::{self, AdminError, TenantRecord};

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

/// `PUT /internal/v1/tenants/{id}`: creates or replaces a tenant.
pub async fn put_tenant(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<TenantRecord>, JsonRejection>,
) -> Result<Json<TenantRecord>, AdminError> {
    authorize(&app, &headers)?;
    tenants::check_id(&id)?;
    let Json(record) = body.map_err(|e| AdminError::InvalidInput(e.body_text()))?;
    tenants::put(&app.store, &id, &record).await?;
    Ok(Json(record))
}

/// `GET /internal/v1/tenants/{id}`: the stored tenant.
pub async fn get_tenant(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<TenantRecord>, AdminError> {
    authorize(&app, &headers)?;
    Ok(Json(tenants::get(&app.store, &id).await?))
}

/// `DELETE /internal/v1/tenants/{id}`: marks the tenant deleted (idempotent).
pub async fn delete_tenant(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, AdminError> {
    authorize(&app, &headers)?;
    tenants::delete(&app.store, &id).await?;
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
    body: Result<Json<AdminRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedAdmin>), Response> {
    authorize(&app, &headers).map_err(IntoResponse::into_response)?;
    tenants::check_id(&id).map_err(IntoResponse::into_response)?;
    let Json(req) = body.map_err(|e| AdminError::InvalidInput(e.body_text()).into_response())?;
    tenants::require_live(&app.store, &id)
        .await
        .map_err(IntoResponse::into_response)?;
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

/// The node table, unless this signal drives one fixed SFU.
fn node_table(app: &App) -> Option<&NodeTable> {
    app.placement
        .as_ref()
        .map(|placement| placement.nodes().as_ref())
}

/// The 404 when there is no node table.
fn media_nodes_disabled() -> Response {
    let body = ApiError {
        error: ErrorBody {
            code: "media_nodes_disabled".into(),
            message: "this signal service drives one fixed SFU and takes no node reports".into(),
        },
    };
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// `PUT /internal/v1/media-nodes/{id}`: an SFU node's report of itself
/// (registers the node on its first report); 204 when taken.
pub async fn put_media_node(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<NodeReport>, JsonRejection>,
) -> Result<StatusCode, Response> {
    authorize(&app, &headers).map_err(IntoResponse::into_response)?;
    let table = node_table(&app).ok_or_else(media_nodes_disabled)?;
    let Json(report) = body.map_err(|e| AdminError::InvalidInput(e.body_text()).into_response())?;
    let shared = app.config.replica.is_some().then(|| report.clone());
    table
        .record(&id, report)
        .map_err(|e| AdminError::InvalidInput(e.to_string()).into_response())?;
    // With several replicas, the others learn of the report from the database.
    if let Some(report) = shared
        && let Err(e) = crate::placement::shared::persist(&app.store, &report).await
    {
        tracing::warn!(error = %e, node = %report.node_id, "a node report could not be shared with the other replicas");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /internal/v1/media-nodes`: every node of the table with its load.
pub async fn list_media_nodes(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<MediaNodeList>, Response> {
    authorize(&app, &headers).map_err(IntoResponse::into_response)?;
    let nodes = node_table(&app)
        .ok_or_else(media_nodes_disabled)?
        .nodes()
        .iter()
        .map(node_load)
        .collect();
    Ok(Json(MediaNodeList { nodes }))
}

/// `POST /internal/v1/media-nodes/{id}/drain`: marks the node draining (no
/// new rooms go to it) and answers its entry; 404 for a node not in the table.
pub async fn drain_media_node(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<MediaNodeLoad>, Response> {
    authorize(&app, &headers).map_err(IntoResponse::into_response)?;
    let table = node_table(&app).ok_or_else(media_nodes_disabled)?;
    let id = NodeId(id);
    let marked = table.set_draining(&id);
    // With several replicas, the others learn of the mark from the database.
    if marked
        && app.config.replica.is_some()
        && let Err(e) = crate::placement::shared::mark_draining(&app.store, &id.0).await
    {
        tracing::warn!(error = %e, node = %id, "a drain mark could not be shared with the other replicas");
        return Err(e.into_response());
    }
    match table.node(&id).filter(|_| marked) {
        Some(view) => Ok(Json(node_load(&view))),
        None => {
            let body = ApiError {
                error: ErrorBody {
                    code: "media_node_not_found".into(),
                    message: format!("media node {id} has not reported to this signal"),
                },
            };
            Err((StatusCode::NOT_FOUND, Json(body)).into_response())
        }
    }
}

/// `PUT /internal/v1/{pool}/{id}`: a worker's report of itself; the answer
/// says whether it was marked draining.
pub async fn put_worker(
    pool: WorkerPool,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<WorkerReport>, JsonRejection>,
) -> Result<Json<WorkerReportAnswer>, Response> {
    authorize(&app, &headers).map_err(IntoResponse::into_response)?;
    let Json(report) = body.map_err(|e| AdminError::InvalidInput(e.body_text()).into_response())?;
    crate::workers::record(&app.store, pool, &id, &report)
        .await
        .map(Json)
        .map_err(IntoResponse::into_response)
}

/// `GET /internal/v1/{pool}`: every worker of the pool with its work.
pub async fn list_workers(
    pool: WorkerPool,
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<WorkerList>, Response> {
    authorize(&app, &headers).map_err(IntoResponse::into_response)?;
    let workers = crate::workers::list(&app.store, pool)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(Json(WorkerList { workers }))
}

/// `POST /internal/v1/{pool}/{id}/drain`: marks the worker draining (it
/// takes nothing new once its next report is answered) and answers its
/// entry; 404 for a worker that has not reported.
pub async fn drain_worker(
    pool: WorkerPool,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<WorkerLoad>, Response> {
    authorize(&app, &headers).map_err(IntoResponse::into_response)?;
    match crate::workers::mark_draining(&app.store, pool, &id).await {
        Ok(Some(worker)) => Ok(Json(worker)),
        Ok(None) => {
            let body = ApiError {
                error: ErrorBody {
                    code: "worker_not_found".into(),
                    message: format!("{} {id} has not reported to this signal", pool.noun()),
                },
            };
            Err((StatusCode::NOT_FOUND, Json(body)).into_response())
        }
        Err(e) => Err(e.into_response()),
    }
}

fn node_load(view: &NodeView) -> MediaNodeLoad {
    let state = &view.state;
    let report = &state.report;
    MediaNodeLoad {
        node_id: state.id.0.clone(),
        live: state.is_live(),
        draining: report.draining,
        capacity: report.capacity,
        rooms: report.stats.rooms,
        participants: report.stats.participants,
        cpu_millicores: report.cpu_millicores,
        bits_in_per_second: report.bits_in_per_second,
        bits_out_per_second: report.bits_out_per_second,
        region: report.region.clone(),
    }
}

/// `GET /.well-known/yunhui`: the enterprise-login discovery document, the
/// Gateway's file as it is when there is one (and it is JSON), else built here.
pub async fn discovery(State(app): State<Arc<App>>) -> Response {
    if let Some(file) = app.discovery_file.read().await
        && file.is_json
    {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            file.bytes.clone(),
        )
            .into_response();
    }
    let endpoints = &app.config.discovery;
    let mut doc = Discovery::for_public_url(&app.config.public_url);
    doc.media = endpoints.media_udp_port.map(|udp_port| Media {
        udp_port,
        tcp_port: endpoints.media_tcp_port,
        host_network: true,
    });
    // A pool's nodes hand out their own TURN servers, room by room.
    doc.turn = (app.config.turn.as_ref())
        .and_then(|turn| turn.endpoints.as_ref())
        .map(|endpoints| endpoints.urls())
        .unwrap_or_default();
    // Only while a SIP gateway is connected.
    doc.sip = endpoints
        .sip_uri
        .clone()
        .filter(|_| app.rooms.has_call_control())
        .map(|uri| Sip { uri });
    Json(doc).into_response()
}
