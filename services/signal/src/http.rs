//! The REST Open API, health, metrics and the web client's files.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prometheus::{Encoder, TextEncoder};
use tower_http::services::{ServeDir, ServeFile};
use yunhui_proto::api::{
    About, Account, AccountStatus, ApiError, ApiKey, ApprovalRequest, CreateApiKeyRequest,
    CreateMeetingRequest, CreatedApiKey, DirectoryEntry, LoginRequest, MAX_DIRECTORY_RESULTS,
    Meeting, MeetingPreview, Profile, RegisterRequest, RoleRequest, Session, TenantLookup,
    UpdateProfileRequest,
};
use yunhui_proto::signaling::PROTOCOL_VERSION;

use crate::accounts::{self, Caller};
use crate::error::{Error, Result};
use crate::{App, api_keys, meetings, signaling};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The document's fixed parts; the paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Yunhui Open API",
        description = "Accounts, tenants and meetings of a Yunhui deployment. Send `Authorization: Bearer <token>` with a session token (POST /api/v1/sessions) or a tenant API key. Errors are always an `ApiError`. Live meetings use the WebSocket signaling protocol at /api/v1/signal."
    ),
    modifiers(&BearerAuth),
    components(schemas(ApiError))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Largest request body the API accepts.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Where the REST API lives.
const API_PREFIX: &str = "/api/v1";

/// The Open API: every REST endpoint, registered together with its OpenAPI
/// description, so the document served at `/api/openapi.json` cannot miss
/// one. Paths of the router are relative to [`API_PREFIX`]; the document's
/// include it.
pub fn api() -> (Router<Arc<App>>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(about))
        .routes(routes!(register))
        .routes(routes!(login, logout))
        .routes(routes!(me, update_me))
        .routes(routes!(profile))
        .routes(routes!(tenant_by_domain))
        .routes(routes!(directory))
        .routes(routes!(admin_accounts))
        .routes(routes!(admin_approval))
        .routes(routes!(admin_role))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(create_meeting, list_meetings))
        .routes(routes!(get_meeting))
        .routes(routes!(preview_meeting))
        .merge(crate::schedule::routes())
        .merge(crate::assistant::routes())
        .split_for_parts();
    doc.paths.paths = std::mem::take(&mut doc.paths.paths)
        .into_iter()
        .map(|(path, item)| (format!("{API_PREFIX}{path}"), item))
        .collect();
    (router, doc)
}

/// Every route of the signal service.
pub fn router(app: Arc<App>) -> Router {
    let (api, doc) = api();
    let doc = Arc::new(doc);
    let api = api
        // The WebSocket protocol is documented in yunhui_proto::signaling.
        .route("/signal", get(signaling::upgrade))
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/.well-known/yunhui", get(crate::admin::discovery))
        .route(
            "/internal/v1/tenants/{id}",
            get(crate::admin::get_tenant)
                .put(crate::admin::put_tenant)
                .delete(crate::admin::delete_tenant),
        )
        .route(
            "/internal/v1/tenants/{id}/admins",
            post(crate::admin::create_admin),
        )
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .nest(API_PREFIX, api);
    if let Some(dir) = &app.config.web_dir {
        // Client-side routes such as /j/123456789 get the app's index page.
        let index = ServeFile::new(dir.join("index.html"));
        router = router.fallback_service(ServeDir::new(dir).fallback(index));
    }
    router.with_state(app)
}

/// A JSON body whose rejection is an [`Error`] in the API's error format.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(Error::InvalidInput(rejection.body_text())),
        }
    }
}

/// A query string whose rejection is an [`Error`] in the API's error format.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(Error::InvalidInput(rejection.body_text())),
        }
    }
}

/// A path parameter whose rejection is an [`Error`] in the API's error format.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(Error::InvalidInput(rejection.body_text())),
        }
    }
}

async fn api_not_found() -> Error {
    Error::InvalidInput("no such API endpoint".into())
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    if app.store.ping().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut buf = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&app.registry.gather(), &mut buf) {
        return Error::Internal(format!("metrics encoding failed: {e}")).into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], buf).into_response()
}

#[utoipa::path(get, path = "/about", tag = "service",
    responses((status = 200, description = "Product, version, signaling protocol version and the deployment's terms and privacy links", body = About)))]
async fn about(State(app): State<Arc<App>>) -> Json<About> {
    Json(About {
        product: "Yunhui".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocol_version: PROTOCOL_VERSION,
        terms_url: app.config.terms_url.clone(),
        privacy_url: app.config.privacy_url.clone(),
    })
}

#[utoipa::path(post, path = "/accounts", tag = "accounts", request_body = RegisterRequest,
    responses((status = 201, description = "The account (pending when it joined a company tenant)", body = Account), (status = 400, description = "The body or a field is not acceptable", body = ApiError),
        (status = 409, description = "The e-mail address or phone number is taken", body = ApiError)))]
async fn register(
    State(app): State<Arc<App>>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<Account>)> {
    let account = accounts::register(&app.store, req).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

#[utoipa::path(post, path = "/sessions", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, description = "Signed in", body = Session), (status = 400, description = "The body or a field is not acceptable", body = ApiError),
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

#[utoipa::path(delete, path = "/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, description = "No, unknown or expired bearer token", body = ApiError)))]
async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<StatusCode> {
    let token = bearer(&headers)?;
    accounts::authenticate(&app.store, token).await?;
    accounts::logout(&app.store, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The signed-in account", body = Account), (status = 401, description = "No, unknown or expired bearer token", body = ApiError)))]
async fn me(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Account>> {
    let caller = caller(&app, &headers).await?;
    Ok(Json(accounts::account(&app.store, &caller).await?))
}

#[utoipa::path(patch, path = "/me", tag = "accounts", security(("bearer" = [])), request_body = UpdateProfileRequest,
    responses((status = 200, description = "The updated account", body = Account), (status = 400, description = "The body or a field is not acceptable", body = ApiError), (status = 401, description = "No, unknown or expired bearer token", body = ApiError)))]
async fn update_me(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<UpdateProfileRequest>,
) -> Result<Json<Account>> {
    let caller = caller(&app, &headers).await?;
    Ok(Json(
        accounts::update_profile(&app.store, &caller, req).await?,
    ))
}

#[utoipa::path(get, path = "/me/profile", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "Account, tenant name and console link", body = Profile), (status = 401, description = "No, unknown or expired bearer token", body = ApiError)))]
async fn profile(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Profile>> {
    let caller = caller(&app, &headers).await?;
    let account = accounts::account(&app.store, &caller).await?;
    let tenant_name = accounts::tenant_name(&app.store, &caller.tenant_id).await?;
    let console_url = caller
        .require_tenant_admin("open the console")
        .ok()
        .map(|()| format!("{}/console", app.config.public_url.trim_end_matches('/')));
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
    responses((status = 200, description = "Colleagues of the caller's enterprise, by name", body = Vec<DirectoryEntry>), (status = 400, description = "The body or a field is not acceptable", body = ApiError), (status = 401, description = "No, unknown or expired bearer token", body = ApiError)))]
async fn directory(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DirectoryQuery>,
) -> Result<Json<Vec<DirectoryEntry>>> {
    let caller = caller(&app, &headers).await?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=MAX_DIRECTORY_RESULTS).contains(&limit) {
        return Err(Error::InvalidInput(format!(
            "limit must be 1 to {MAX_DIRECTORY_RESULTS}, not {limit}"
        )));
    }
    if query.q.chars().count() > 100 {
        return Err(Error::InvalidInput(
            "the search text has at most 100 characters".into(),
        ));
    }
    Ok(Json(
        accounts::search_directory(&app.store, &caller, &query.q, limit).await?,
    ))
}

#[derive(serde::Deserialize)]
struct AccountFilter {
    status: Option<AccountStatus>,
}

#[utoipa::path(get, path = "/admin/accounts", tag = "administration", security(("bearer" = [])),
    params(("status" = Option<AccountStatus>, Query, description = "Only accounts with this status")),
    responses((status = 200, description = "Accounts of the caller's tenant", body = Vec<Account>), (status = 400, description = "The body or a field is not acceptable", body = ApiError), (status = 401, description = "No, unknown or expired bearer token", body = ApiError), (status = 403, description = "Not allowed for this account", body = ApiError)))]
async fn admin_accounts(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiQuery(filter): ApiQuery<AccountFilter>,
) -> Result<Json<Vec<Account>>> {
    let caller = caller(&app, &headers).await?;
    Ok(Json(
        accounts::list_in_tenant(&app.store, &caller, filter.status).await?,
    ))
}

#[utoipa::path(post, path = "/admin/accounts/{id}/approval", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), request_body = ApprovalRequest,
    responses((status = 200, description = "The decided account", body = Account), (status = 400, description = "The body or a field is not acceptable", body = ApiError), (status = 401, description = "No, unknown or expired bearer token", body = ApiError), (status = 403, description = "Not allowed for this account", body = ApiError),
        (status = 404, description = "No such account in the caller's tenant", body = ApiError)))]
async fn admin_approval(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ApprovalRequest>,
) -> Result<Json<Account>> {
    let caller = caller(&app, &headers).await?;
    Ok(Json(
        accounts::decide_registration(&app.store, &caller, &id, req.approve).await?,
    ))
}

#[utoipa::path(put, path = "/admin/accounts/{id}/role", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), request_body = RoleRequest,
    responses((status = 200, description = "The account with its new role", body = Account), (status = 400, description = "The body or a field is not acceptable", body = ApiError), (status = 401, description = "No, unknown or expired bearer token", body = ApiError), (status = 403, description = "Not allowed for this account", body = ApiError),
        (status = 404, description = "No such account in the caller's tenant", body = ApiError)))]
async fn admin_role(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RoleRequest>,
) -> Result<Json<Account>> {
    let caller = caller(&app, &headers).await?;
    Ok(Json(
        accounts::set_role(&app.store, &caller, &id, req.role).await?,
    ))
}

#[utoipa::path(post, path = "/admin/api-keys", tag = "administration", security(("bearer" = [])), request_body = CreateApiKeyRequest,
    responses((status = 201, description = "The key; its secret is shown only here", body = CreatedApiKey), (status = 400, description = "The body or a field is not acceptable", body = ApiError), (status = 401, description = "No, unknown or expired bearer token", body = ApiError), (status = 403, description = "Not allowed for this account", body = ApiError)))]
async fn create_api_key(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<CreatedApiKey>)> {
    let caller = caller(&app, &headers).await?;
    let created = api_keys::create(&app.store, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/admin/api-keys", tag = "administration", security(("bearer" = [])),
    responses((status = 200, description = "The tenant's keys (without secrets)", body = Vec<ApiKey>), (status = 401, description = "No, unknown or expired bearer token", body = ApiError), (status = 403, description = "Not allowed for this account", body = ApiError)))]
async fn list_api_keys(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Vec<ApiKey>>> {
    let caller = caller(&app, &headers).await?;
    Ok(Json(api_keys::list(&app.store, &caller).await?))
}

#[utoipa::path(delete, path = "/admin/api-keys/{id}", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "API key id")),
    responses((status = 204, description = "Revoked"), (status = 401, description = "No, unknown or expired bearer token", body = ApiError), (status = 403, description = "Not allowed for this account", body = ApiError), (status = 404, description = "No such key in the caller's tenant", body = ApiError)))]
async fn revoke_api_key(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    let caller = caller(&app, &headers).await?;
    api_keys::revoke(&app.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/meetings", tag = "meetings", security(("bearer" = [])), request_body = CreateMeetingRequest,
    responses((status = 201, description = "The meeting, with its join link", body = Meeting), (status = 400, description = "The body or a field is not acceptable", body = ApiError), (status = 401, description = "No, unknown or expired bearer token", body = ApiError)))]
async fn create_meeting(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateMeetingRequest>,
) -> Result<(StatusCode, Json<Meeting>)> {
    let caller = caller(&app, &headers).await?;
    let meeting = meetings::create_instant(&app.store, &caller, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(meeting.to_api(&app.config.public_url)),
    ))
}

#[utoipa::path(get, path = "/meetings", tag = "meetings", security(("bearer" = [])),
    responses((status = 200, description = "Meetings the caller hosts, newest first", body = Vec<Meeting>), (status = 401, description = "No, unknown or expired bearer token", body = ApiError)))]
async fn list_meetings(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Vec<Meeting>>> {
    let caller = caller(&app, &headers).await?;
    let list = meetings::list_hosted(&app.store, &caller).await?;
    Ok(Json(
        list.iter()
            .map(|m| m.to_api(&app.config.public_url))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/meetings/{id}", tag = "meetings", security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id")),
    responses((status = 200, description = "The meeting (host only)", body = Meeting), (status = 401, description = "No, unknown or expired bearer token", body = ApiError),
        (status = 404, description = "No such meeting hosted by the caller", body = ApiError)))]
async fn get_meeting(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Meeting>> {
    let caller = caller(&app, &headers).await?;
    let meeting = meetings::get(&app.store, &caller, &id).await?;
    if meeting.host_account_id != caller.account_id {
        // Only the host sees the password and link key; others learn nothing.
        return Err(Error::MeetingNotFound(id));
    }
    Ok(Json(meeting.to_api(&app.config.public_url)))
}

#[utoipa::path(get, path = "/meetings/by-number/{number}", tag = "meetings",
    params(("number" = String, Path, description = "Meeting number (spaces and dashes ignored)")),
    responses((status = 200, description = "What a joiner may know before joining", body = MeetingPreview),
        (status = 404, description = "No open meeting has that number", body = ApiError)))]
async fn preview_meeting(
    State(app): State<Arc<App>>,
    ApiPath(number): ApiPath<String>,
) -> Result<Json<MeetingPreview>> {
    let meeting = meetings::find_open_by_number(&app.store, &number).await?;
    Ok(Json(meeting.preview()))
}

fn bearer(headers: &HeaderMap) -> Result<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Error::InvalidToken)
}

pub(crate) async fn caller(app: &App, headers: &HeaderMap) -> Result<Caller> {
    accounts::authenticate(&app.store, bearer(headers)?).await
}
