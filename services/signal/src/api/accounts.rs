//! Accounts and sessions: registration, sign-in and -out, the caller's own
//! account and profile, company lookup by e-mail domain, the directory and
//! its departments.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yunhui_proto::api::{
    Account, ApiError, Department, DirectoryDevice, DirectoryEntry, LoginRequest,
    MAX_DIRECTORY_RESULTS, Profile, RefreshRequest, RegisterRequest, Session, TenantLookup,
    UpdateProfileRequest,
};

use super::extract::{ApiJson, ApiPath, ApiQuery, bearer};
use super::responses::{BadRequest, Unauthorized};
use crate::App;
use crate::accounts::{self, Caller};
use crate::error::{Error, Result};
use crate::{contacts, departments, meeting_devices};

/// The account and session routes.
pub(super) fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login, logout))
        .routes(routes!(refresh))
        .routes(routes!(me, update_me))
        .routes(routes!(profile))
        .routes(routes!(tenant_by_domain))
        .routes(routes!(directory))
        .routes(routes!(directory_departments))
        .routes(routes!(department_members))
        .routes(routes!(directory_devices))
        .routes(routes!(frequent_contacts))
        .routes(routes!(add_frequent_contact, remove_frequent_contact))
}

#[utoipa::path(post, path = "/accounts", tag = "accounts", request_body = RegisterRequest,
    responses((status = 201, description = "The account (pending when it joined a company tenant)", body = Account), BadRequest,
        (status = 409, description = "The e-mail address or phone number is taken", body = ApiError)))]
async fn register(
    State(app): State<Arc<App>>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<Account>)> {
    let account = accounts::register(&app.store, req).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

#[utoipa::path(post, path = "/sessions", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = Session), BadRequest,
        (status = 401, description = "Wrong login or password", body = ApiError),
        (status = 403, description = "The account waits for approval or was declined", body = ApiError)))]
async fn login(
    State(app): State<Arc<App>>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<Session>> {
    let session = accounts::login(
        &app.store,
        &req.login,
        req.password,
        app.config.token_ttl_secs,
    )
    .await?;
    Ok(Json(session))
}

#[utoipa::path(post, path = "/sessions/refresh", tag = "accounts", request_body = RefreshRequest,
    responses((status = 200, description = "A new session; the refreshed one has ended", body = Session), BadRequest,
        (status = 401, description = "Unknown or expired refresh token, or one already used (which ends every session of its sign-in)", body = ApiError)))]
async fn refresh(
    State(app): State<Arc<App>>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<Session>> {
    let session =
        accounts::refresh(&app.store, &req.refresh_token, app.config.token_ttl_secs).await?;
    Ok(Json(session))
}

#[utoipa::path(delete, path = "/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), Unauthorized))]
async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<StatusCode> {
    let token = bearer(&headers)?;
    crate::auth::authenticate(&app.store, token).await?;
    accounts::logout(&app.store, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The signed-in account", body = Account), Unauthorized))]
async fn me(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Account>> {
    Ok(Json(accounts::account(&app.store, &caller).await?))
}

#[utoipa::path(patch, path = "/me", tag = "accounts", security(("bearer" = [])), request_body = UpdateProfileRequest,
    responses((status = 200, description = "The updated account", body = Account), BadRequest, Unauthorized))]
async fn update_me(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<UpdateProfileRequest>,
) -> Result<Json<Account>> {
    Ok(Json(
        accounts::update_profile(&app.store, &caller, req).await?,
    ))
}

#[utoipa::path(get, path = "/me/profile", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "Account, tenant name and console link", body = Profile), Unauthorized))]
async fn profile(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Profile>> {
    let account = accounts::account(&app.store, &caller).await?;
    let tenant_name = accounts::tenant_name(&app.store, &caller.tenant_id).await?;
    let console_url = match caller.require_tenant_admin("open the console") {
        Ok(()) => Some(format!("{}/console", app.public_base().await)),
        Err(_) => None,
    };
    Ok(Json(Profile {
        account,
        tenant_name,
        console_url,
    }))
}

#[utoipa::path(get, path = "/tenants/by-domain/{domain}", tag = "accounts",
    params(("domain" = String, Path, description = "An e-mail domain, e.g. acme.example")),
    responses((status = 200, description = "The company registering that domain", body = TenantLookup),
        (status = 404, description = "No company registers that domain", body = ApiError)))]
async fn tenant_by_domain(
    State(app): State<Arc<App>>,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<TenantLookup>> {
    match accounts::tenant_by_domain(&app.store, &domain).await? {
        Some((tenant_id, name)) => Ok(Json(TenantLookup { tenant_id, name })),
        None => Err(Error::TenantNotFound(domain)),
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct DirectoryQuery {
    /// Text to find in a name, e-mail, phone or department (any case);
    /// empty lists everyone.
    #[serde(default)]
    q: String,
    /// How many to return, 1 to 50 (default 20).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/directory", tag = "accounts", security(("bearer" = [])),
    params(DirectoryQuery),
    responses((status = 200, description = "Colleagues of the caller's enterprise, by name", body = Vec<DirectoryEntry>), BadRequest, Unauthorized))]
async fn directory(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<DirectoryQuery>,
) -> Result<Json<Vec<DirectoryEntry>>> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=MAX_DIRECTORY_RESULTS).contains(&limit) {
        return Err(Error::InvalidInput(format!(
            "limit must be 1 to {MAX_DIRECTORY_RESULTS}, not {limit}"
        )));
    }
    if query.q.chars().count() > yunhui_proto::limits::DIRECTORY_QUERY_CHARS {
        return Err(Error::InvalidInput(
            "the search text has at most 100 characters".into(),
        ));
    }
    Ok(Json(
        accounts::search_directory(&app.store, &caller, &query.q, limit).await?,
    ))
}

#[utoipa::path(get, path = "/directory/departments", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The departments of the caller's enterprise, each naming its parent, by name", body = Vec<Department>), Unauthorized))]
async fn directory_departments(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<Department>>> {
    Ok(Json(departments::list(&app.store, &caller).await?))
}

#[utoipa::path(get, path = "/directory/departments/{id}/members", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Department id")),
    responses((status = 200, description = "The colleagues directly in the department, by name", body = Vec<DirectoryEntry>), Unauthorized,
        (status = 404, description = "No such department in the caller's enterprise", body = ApiError)))]
async fn department_members(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<DirectoryEntry>>> {
    Ok(Json(departments::members(&app.store, &caller, &id).await?))
}

#[utoipa::path(get, path = "/directory/devices", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The meeting devices of the caller's enterprise, by name", body = Vec<DirectoryDevice>), Unauthorized))]
async fn directory_devices(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<DirectoryDevice>>> {
    Ok(Json(meeting_devices::list(&app.store, &caller).await?))
}

#[utoipa::path(get, path = "/me/contacts", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The caller's frequent contacts, by name", body = Vec<DirectoryEntry>), Unauthorized))]
async fn frequent_contacts(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<DirectoryEntry>>> {
    Ok(Json(contacts::list(&app.store, &caller).await?))
}

#[utoipa::path(put, path = "/me/contacts/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "A colleague's account id")),
    responses((status = 204, description = "A frequent contact (already one: nothing changes)"), BadRequest, Unauthorized,
        (status = 404, description = "No such active account in the caller's enterprise", body = ApiError)))]
async fn add_frequent_contact(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    contacts::add(&app.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/me/contacts/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "A colleague's account id")),
    responses((status = 204, description = "Not a frequent contact (any more)"), Unauthorized))]
async fn remove_frequent_contact(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    contacts::remove(&app.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
