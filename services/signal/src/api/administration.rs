//! A tenant administrator's endpoints (the console's): the tenant's
//! accounts (approval, roles, disabling, provisioning from the enterprise's
//! directory), its departments and meeting devices, its API keys and
//! webhooks, its cloud rooms' members and live streaming, whether its hosts
//! may record and stream and how long recordings are kept, the licence's use
//! and the audit log of all these actions.

use std::sync::Arc;

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yunhui_proto::api::{
    Account, AccountStatus, AccountStatusRequest, ApiError, ApiKey, ApprovalRequest, AuditEntry,
    CloudRoomMembersRequest, CloudRoomStreaming, CreateApiKeyRequest, CreateWebhookRequest,
    CreatedApiKey, CreatedWebhook, Department, DepartmentRequest, DirectoryDevice,
    DirectoryDeviceRequest, LicenceUse, MediaPolicy, MediaPolicyRequest, ProvisioningRequest,
    ProvisioningResult, RoleRequest, StreamingPermission, Webhook, WebhookDelivery,
};

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::responses::{BadRequest, Forbidden, Unauthorized};
use crate::App;
use crate::accounts::{self, Caller};
use crate::error::Result;
use crate::licence::usage;
use crate::{
    account_admin, api_keys, audit, cloud_room_admin, departments, media_policy, meeting_devices,
    provisioning, webhooks,
};

/// The tenant administration routes.
pub(super) fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(admin_accounts))
        .routes(routes!(admin_approval))
        .routes(routes!(admin_role))
        .routes(routes!(admin_account_status))
        .routes(routes!(create_department))
        .routes(routes!(change_department, delete_department))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(create_device))
        .routes(routes!(delete_device))
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(delete_webhook))
        .routes(routes!(webhook_deliveries))
        .routes(routes!(admin_cloud_rooms))
        .routes(routes!(admin_cloud_room_streaming))
        .routes(routes!(admin_cloud_room_members))
        .routes(routes!(get_media_policy, set_media_policy))
        .routes(routes!(licence_use))
        .routes(routes!(audit_log))
        .merge(
            // A whole directory in one request: the one body allowed more
            // than the API's usual limit.
            OpenApiRouter::new()
                .routes(routes!(provision))
                .layer(DefaultBodyLimit::max(
                    yunhui_proto::limits::PROVISIONING_BODY_BYTES,
                )),
        )
}

#[derive(serde::Deserialize)]
struct AccountFilter {
    status: Option<AccountStatus>,
}

#[utoipa::path(get, path = "/admin/accounts", tag = "administration", security(("bearer" = [])),
    params(("status" = Option<AccountStatus>, Query, description = "Only accounts with this status")),
    responses((status = 200, description = "Accounts of the caller's tenant", body = Vec<Account>), BadRequest, Unauthorized, Forbidden))]
async fn admin_accounts(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<AccountFilter>,
) -> Result<Json<Vec<Account>>> {
    Ok(Json(
        accounts::list_in_tenant(&app.store, &caller, filter.status).await?,
    ))
}

#[utoipa::path(post, path = "/admin/accounts/{id}/approval", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), request_body = ApprovalRequest,
    responses((status = 200, description = "The decided account", body = Account), BadRequest, Unauthorized, Forbidden,
        (status = 404, description = "No such account in the caller's tenant", body = ApiError)))]
async fn admin_approval(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ApprovalRequest>,
) -> Result<Json<Account>> {
    Ok(Json(
        account_admin::decide_registration(&app.store, &caller, &id, req.approve).await?,
    ))
}

#[utoipa::path(put, path = "/admin/accounts/{id}/role", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), request_body = RoleRequest,
    responses((status = 200, description = "The account with its new role", body = Account), BadRequest, Unauthorized, Forbidden,
        (status = 404, description = "No such account in the caller's tenant", body = ApiError)))]
async fn admin_role(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RoleRequest>,
) -> Result<Json<Account>> {
    Ok(Json(
        account_admin::set_role(&app.store, &caller, &id, req.role).await?,
    ))
}

#[utoipa::path(put, path = "/admin/accounts/{id}/status", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "Account id")), request_body = AccountStatusRequest,
    responses((status = 200, description = "The account, disabled or enabled", body = Account), BadRequest, Unauthorized, Forbidden,
        (status = 404, description = "No such account in the caller's tenant", body = ApiError)))]
async fn admin_account_status(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AccountStatusRequest>,
) -> Result<Json<Account>> {
    Ok(Json(
        account_admin::set_disabled(&app.store, &caller, &id, req.disabled).await?,
    ))
}

#[utoipa::path(post, path = "/admin/departments", tag = "administration", security(("bearer" = [])), request_body = DepartmentRequest,
    responses((status = 201, description = "The department, in the directory's tree", body = Department), BadRequest, Unauthorized, Forbidden))]
async fn create_department(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<DepartmentRequest>,
) -> Result<(StatusCode, Json<Department>)> {
    let department = departments::create(&app.store, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(department)))
}

#[utoipa::path(put, path = "/admin/departments/{id}", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "Department id")), request_body = DepartmentRequest,
    responses((status = 200, description = "The department renamed or moved", body = Department), BadRequest, Unauthorized, Forbidden,
        (status = 404, description = "No such department in the caller's tenant", body = ApiError),
        (status = 409, description = "The department comes from the enterprise's directory", body = ApiError)))]
async fn change_department(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<DepartmentRequest>,
) -> Result<Json<Department>> {
    Ok(Json(
        departments::change(&app.store, &caller, &id, req).await?,
    ))
}

#[utoipa::path(delete, path = "/admin/departments/{id}", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "Department id")),
    responses((status = 204, description = "Deleted"), Unauthorized, Forbidden,
        (status = 404, description = "No such department in the caller's tenant", body = ApiError),
        (status = 409, description = "Departments or accounts are in it, or it comes from the enterprise's directory", body = ApiError)))]
async fn delete_department(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    departments::delete(&app.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/admin/provisioning", tag = "administration", security(("bearer" = [])), request_body = ProvisioningRequest,
    responses((status = 200, description = "What changed: departments and users created, updated and already as asked", body = ProvisioningResult),
        (status = 400, description = "Every problem found, each naming its entry; nothing was changed", body = ApiError), Unauthorized, Forbidden))]
async fn provision(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<ProvisioningRequest>,
) -> Result<Json<ProvisioningResult>> {
    Ok(Json(
        provisioning::provision(&app.store, &caller, req).await?,
    ))
}

#[utoipa::path(post, path = "/admin/api-keys", tag = "administration", security(("bearer" = [])), request_body = CreateApiKeyRequest,
    responses((status = 201, description = "The key; its secret is shown only here", body = CreatedApiKey), BadRequest, Unauthorized, Forbidden))]
async fn create_api_key(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<CreatedApiKey>)> {
    let created = api_keys::create(&app.store, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/admin/api-keys", tag = "administration", security(("bearer" = [])),
    responses((status = 200, description = "The tenant's keys (without secrets)", body = Vec<ApiKey>), Unauthorized, Forbidden))]
async fn list_api_keys(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Vec<ApiKey>>> {
    Ok(Json(api_keys::list(&app.store, &caller).await?))
}

#[utoipa::path(delete, path = "/admin/api-keys/{id}", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "API key id")),
    responses((status = 204, description = "Revoked"), Unauthorized, Forbidden, (status = 404, description = "No such key in the caller's tenant", body = ApiError)))]
async fn revoke_api_key(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    api_keys::revoke(&app.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/admin/devices", tag = "administration", security(("bearer" = [])), request_body = DirectoryDeviceRequest,
    responses((status = 201, description = "The device, in the enterprise's directory", body = DirectoryDevice), BadRequest, Unauthorized, Forbidden))]
async fn create_device(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<DirectoryDeviceRequest>,
) -> Result<(StatusCode, Json<DirectoryDevice>)> {
    let device = meeting_devices::create(&app.store, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(device)))
}

#[utoipa::path(delete, path = "/admin/devices/{id}", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "Device id")),
    responses((status = 204, description = "Removed from the directory"), Unauthorized, Forbidden,
        (status = 404, description = "No such device in the caller's tenant", body = ApiError)))]
async fn delete_device(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    meeting_devices::delete(&app.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/admin/webhooks", tag = "administration", security(("bearer" = [])), request_body = CreateWebhookRequest,
    responses((status = 201, description = "The webhook; its signing secret is shown only here", body = CreatedWebhook), BadRequest, Unauthorized, Forbidden))]
async fn create_webhook(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateWebhookRequest>,
) -> Result<(StatusCode, Json<CreatedWebhook>)> {
    let created = webhooks::create(&app.store, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/admin/webhooks", tag = "administration", security(("bearer" = [])),
    responses((status = 200, description = "The tenant's webhooks (without secrets)", body = Vec<Webhook>), Unauthorized, Forbidden))]
async fn list_webhooks(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Vec<Webhook>>> {
    Ok(Json(webhooks::list(&app.store, &caller).await?))
}

#[utoipa::path(delete, path = "/admin/webhooks/{id}", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted, with its deliveries"), Unauthorized, Forbidden,
        (status = 404, description = "No such webhook in the caller's tenant", body = ApiError)))]
async fn delete_webhook(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    webhooks::delete(&app.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/admin/webhooks/{id}/deliveries", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "The webhook's latest 100 deliveries, newest first", body = Vec<WebhookDelivery>), Unauthorized, Forbidden,
        (status = 404, description = "No such webhook in the caller's tenant", body = ApiError)))]
async fn webhook_deliveries(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<WebhookDelivery>>> {
    Ok(Json(webhooks::deliveries(&app.store, &caller, &id).await?))
}

#[utoipa::path(get, path = "/admin/cloud-rooms", tag = "administration", security(("bearer" = [])),
    responses((status = 200, description = "The tenant's cloud rooms with their members and whether each may stream live", body = Vec<CloudRoomStreaming>), Unauthorized, Forbidden))]
async fn admin_cloud_rooms(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<CloudRoomStreaming>>> {
    Ok(Json(cloud_room_admin::rooms(&app.store, &caller).await?))
}

#[utoipa::path(put, path = "/admin/cloud-rooms/{id}/streaming", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "The cloud room's meeting id")), request_body = StreamingPermission,
    responses((status = 200, description = "The room with its new permission", body = CloudRoomStreaming), BadRequest, Unauthorized, Forbidden,
        (status = 404, description = "No such cloud room in the caller's tenant", body = ApiError)))]
async fn admin_cloud_room_streaming(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<StreamingPermission>,
) -> Result<Json<CloudRoomStreaming>> {
    Ok(Json(
        cloud_room_admin::set_streaming(&app.store, &caller, &id, req.allowed).await?,
    ))
}

#[utoipa::path(put, path = "/admin/cloud-rooms/{id}/members", tag = "administration", security(("bearer" = [])),
    params(("id" = String, Path, description = "The cloud room's meeting id")), request_body = CloudRoomMembersRequest,
    responses((status = 200, description = "The room with its new members", body = CloudRoomStreaming), BadRequest, Unauthorized, Forbidden,
        (status = 404, description = "No such cloud room in the caller's tenant", body = ApiError)))]
async fn admin_cloud_room_members(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CloudRoomMembersRequest>,
) -> Result<Json<CloudRoomStreaming>> {
    Ok(Json(
        cloud_room_admin::set_members(&app.store, &caller, &id, req.members).await?,
    ))
}

#[utoipa::path(get, path = "/admin/media-policy", tag = "administration", security(("bearer" = [])),
    responses((status = 200, description = "Whether hosts may record and stream live, and how long recordings are kept, within the licence", body = MediaPolicy), Unauthorized, Forbidden))]
async fn get_media_policy(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<MediaPolicy>> {
    Ok(Json(media_policy::get(&app.store, &caller).await?))
}

#[utoipa::path(put, path = "/admin/media-policy", tag = "administration", security(("bearer" = [])), request_body = MediaPolicyRequest,
    responses((status = 200, description = "The policy now; a new retention applies to recordings made from now on", body = MediaPolicy),
        (status = 400, description = "A switch the licence does not include, or a retention outside 1 to the licence's longest", body = ApiError),
        Unauthorized, Forbidden))]
async fn set_media_policy(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<MediaPolicyRequest>,
) -> Result<Json<MediaPolicy>> {
    Ok(Json(media_policy::set(&app.store, &caller, req).await?))
}

#[utoipa::path(get, path = "/admin/licence", tag = "administration", security(("bearer" = [])),
    responses((status = 200, description = "The licence, and how much of it is in use now and was at the busiest moment", body = LicenceUse), Unauthorized, Forbidden))]
async fn licence_use(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<LicenceUse>> {
    Ok(Json(usage::of_tenant(&app.store, &caller).await?))
}

#[derive(serde::Deserialize)]
struct AuditPage {
    before: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/admin/audit-log", tag = "administration", security(("bearer" = [])),
    params(("before" = Option<String>, Query, description = "Only entries written before this entry (the last id of the previous page)"),
        ("limit" = Option<u32>, Query, description = "Entries per page, 1 to 200 (50 when not given)")),
    responses((status = 200, description = "The tenant's administrative actions, newest first", body = Vec<AuditEntry>), BadRequest, Unauthorized, Forbidden))]
async fn audit_log(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(page): ApiQuery<AuditPage>,
) -> Result<Json<Vec<AuditEntry>>> {
    Ok(Json(
        audit::list(&app.store, &caller, page.before.as_deref(), page.limit).await?,
    ))
}
