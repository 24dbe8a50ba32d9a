//! The REST Open API, health, metrics and the web client's files.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prometheus::{Encoder, TextEncoder};
use tower_http::services::{ServeDir, ServeFile};
use yunhui_proto::api::{
    About, Account, AccountStatus, ApiKey, ApprovalRequest, CreateApiKeyRequest,
    CreateMeetingRequest, CreatedApiKey, LoginRequest, Meeting, MeetingPreview, Profile,
    RegisterRequest, RoleRequest, Session, TenantLookup, UpdateProfileRequest,
};
use yunhui_proto::signaling::PROTOCOL_VERSION;

use crate::accounts::{self, Caller};
use crate::error::{Error, Result};
use crate::{App, api_keys, meetings, signaling};

/// Largest request body the API accepts.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every route of the signal service.
pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/about", get(about))
        .route("/accounts", post(register))
        .route("/sessions", post(login).delete(logout))
        .route("/me", get(me).patch(update_me))
        .route("/me/profile", get(profile))
        .route("/tenants/by-domain/{domain}", get(tenant_by_domain))
        .route("/admin/accounts", get(admin_accounts))
        .route("/admin/accounts/{id}/approval", post(admin_approval))
        .route("/admin/accounts/{id}/role", axum::routing::put(admin_role))
        .route("/admin/api-keys", post(create_api_key).get(list_api_keys))
        .route(
            "/admin/api-keys/{id}",
            axum::routing::delete(revoke_api_key),
        )
        .route("/meetings", post(create_meeting).get(list_meetings))
        .route("/meetings/{id}", get(get_meeting))
        .route("/meetings/by-number/{number}", get(preview_meeting))
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
        .nest("/api/v1", api);
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

async fn about() -> Json<About> {
    Json(About {
        product: "Yunhui".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        protocol_version: PROTOCOL_VERSION,
    })
}

async fn register(
    State(app): State<Arc<App>>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<Account>)> {
    let account = accounts::register(&app.store, req).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

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

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<StatusCode> {
    let token = bearer(&headers)?;
    accounts::authenticate(&app.store, token).await?;
    accounts::logout(&app.store, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Account>> {
    let caller = caller(&app, &headers).await?;
    Ok(Json(accounts::account(&app.store, &caller).await?))
}

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

async fn tenant_by_domain(
    State(app): State<Arc<App>>,
    Path(domain): Path<String>,
) -> Result<Json<TenantLookup>> {
    match accounts::tenant_by_domain(&app.store, &domain).await? {
        Some((tenant_id, name)) => Ok(Json(TenantLookup { tenant_id, name })),
        None => Err(Error::TenantNotFound(domain)),
    }
}

#[derive(serde::Deserialize)]
struct AccountFilter {
    status: Option<AccountStatus>,
}

async fn admin_accounts(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::extract::Query(filter): axum::extract::Query<AccountFilter>,
) -> Result<Json<Vec<Account>>> {
    let caller = caller(&app, &headers).await?;
    Ok(Json(
        accounts::list_in_tenant(&app.store, &caller, filter.status).await?,
    ))
}

async fn admin_approval(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ApprovalRequest>,
) -> Result<Json<Account>> {
    let caller = caller(&app, &headers).await?;
    Ok(Json(
        accounts::decide_registration(&app.store, &caller, &id, req.approve).await?,
    ))
}

async fn admin_role(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RoleRequest>,
) -> Result<Json<Account>> {
    let caller = caller(&app, &headers).await?;
    Ok(Json(
        accounts::set_role(&app.store, &caller, &id, req.role).await?,
    ))
}

async fn create_api_key(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<CreatedApiKey>)> {
    let caller = caller(&app, &headers).await?;
    let created = api_keys::create(&app.store, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn list_api_keys(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<Vec<ApiKey>>> {
    let caller = caller(&app, &headers).await?;
    Ok(Json(api_keys::list(&app.store, &caller).await?))
}

async fn revoke_api_key(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let caller = caller(&app, &headers).await?;
    api_keys::revoke(&app.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

async fn get_meeting(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Meeting>> {
    let caller = caller(&app, &headers).await?;
    let meeting = meetings::get(&app.store, &caller, &id).await?;
    if meeting.host_account_id != caller.account_id {
        // Only the host sees the password and link key; others learn nothing.
        return Err(Error::MeetingNotFound(id));
    }
    Ok(Json(meeting.to_api(&app.config.public_url)))
}

async fn preview_meeting(
    State(app): State<Arc<App>>,
    Path(number): Path<String>,
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

async fn caller(app: &App, headers: &HeaderMap) -> Result<Caller> {
    accounts::authenticate(&app.store, bearer(headers)?).await
}
