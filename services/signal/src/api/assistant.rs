//! The manual's 管理助手: personal cloud rooms, meeting templates (and
//! starting a meeting from one) and the tenant's locations.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yunhui_proto::api::{ApiError, Meeting};
use yunhui_proto::schedule::{
    CloudRoom, CloudRoomRequest, Location, LocationRequest, MeetingTemplate, TemplateRequest,
};

use super::extract::{ApiJson, ApiPath};
use super::responses::{BadField, Unauthorized};
use crate::App;
use crate::accounts::Caller;
use crate::assistant;
use crate::error::Result;

/// The routes of the assistant with their OpenAPI descriptions, merged
/// into the `/api/v1` router.
pub(super) fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(create_room, list_rooms))
        .routes(routes!(get_room, edit_room, delete_room))
        .routes(routes!(create_template, list_templates))
        .routes(routes!(get_template, edit_template, delete_template))
        .routes(routes!(start_from_template))
        .routes(routes!(create_location, list_locations))
        .routes(routes!(delete_location))
}

#[utoipa::path(post, path = "/cloud-rooms", tag = "assistant", security(("bearer" = [])), request_body = CloudRoomRequest,
    responses((status = 201, description = "The new cloud room with its fixed number", body = CloudRoom), BadField, Unauthorized))]
async fn create_room(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<CloudRoomRequest>,
) -> Result<(StatusCode, Json<CloudRoom>)> {
    Ok((
        StatusCode::CREATED,
        Json(assistant::create_room(&app, &caller, req).await?),
    ))
}

#[utoipa::path(get, path = "/cloud-rooms", tag = "assistant", security(("bearer" = [])),
    responses((status = 200, description = "Cloud rooms the caller owns or is a member of", body = Vec<CloudRoom>), Unauthorized))]
async fn list_rooms(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Vec<CloudRoom>>> {
    Ok(Json(assistant::list_rooms(&app, &caller).await?))
}

#[utoipa::path(get, path = "/cloud-rooms/{id}", tag = "assistant", security(("bearer" = [])), params(("id" = String, Path, description = "Id of the cloud room (its meeting id)")),
    responses((status = 200, description = "The cloud room", body = CloudRoom), Unauthorized, (status = 404, description = "No such cloud room visible to the caller", body = ApiError)))]
async fn get_room(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CloudRoom>> {
    Ok(Json(assistant::get_room(&app, &caller, id).await?))
}

#[utoipa::path(put, path = "/cloud-rooms/{id}", tag = "assistant", security(("bearer" = [])), params(("id" = String, Path, description = "Id of the cloud room (its meeting id)")), request_body = CloudRoomRequest,
    responses((status = 200, description = "The cloud room as changed; its number stays", body = CloudRoom), BadField, Unauthorized, (status = 403, description = "Only the owner may change it", body = ApiError), (status = 404, description = "No such cloud room visible to the caller", body = ApiError)))]
async fn edit_room(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CloudRoomRequest>,
) -> Result<Json<CloudRoom>> {
    Ok(Json(assistant::edit_room(&app, &caller, id, req).await?))
}

#[utoipa::path(delete, path = "/cloud-rooms/{id}", tag = "assistant", security(("bearer" = [])), params(("id" = String, Path, description = "Id of the cloud room (its meeting id)")),
    responses((status = 204, description = "Deleted; its number is free"), Unauthorized, (status = 403, description = "Only the owner may change it", body = ApiError), (status = 404, description = "No such cloud room visible to the caller", body = ApiError)))]
async fn delete_room(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    assistant::delete_room(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/templates", tag = "assistant", security(("bearer" = [])), request_body = TemplateRequest,
    responses((status = 201, description = "The new template", body = MeetingTemplate), BadField, Unauthorized))]
async fn create_template(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<TemplateRequest>,
) -> Result<(StatusCode, Json<MeetingTemplate>)> {
    Ok((
        StatusCode::CREATED,
        Json(assistant::create_template(&app, &caller, req).await?),
    ))
}

#[utoipa::path(get, path = "/templates", tag = "assistant", security(("bearer" = [])),
    responses((status = 200, description = "The caller's templates, by name", body = Vec<MeetingTemplate>), Unauthorized))]
async fn list_templates(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<MeetingTemplate>>> {
    Ok(Json(assistant::list_templates(&app, &caller).await?))
}

#[utoipa::path(get, path = "/templates/{id}", tag = "assistant", security(("bearer" = [])), params(("id" = String, Path, description = "Id of the template")),
    responses((status = 200, description = "The template", body = MeetingTemplate), Unauthorized, (status = 404, description = "No such template visible to the caller", body = ApiError)))]
async fn get_template(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MeetingTemplate>> {
    Ok(Json(assistant::get_template(&app, &caller, id).await?))
}

#[utoipa::path(put, path = "/templates/{id}", tag = "assistant", security(("bearer" = [])), params(("id" = String, Path, description = "Id of the template")), request_body = TemplateRequest,
    responses((status = 200, description = "The template as changed", body = MeetingTemplate), BadField, Unauthorized, (status = 404, description = "No such template visible to the caller", body = ApiError)))]
async fn edit_template(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<TemplateRequest>,
) -> Result<Json<MeetingTemplate>> {
    Ok(Json(
        assistant::edit_template(&app, &caller, id, req).await?,
    ))
}

#[utoipa::path(delete, path = "/templates/{id}", tag = "assistant", security(("bearer" = [])), params(("id" = String, Path, description = "Id of the template")),
    responses((status = 204, description = "Deleted"), Unauthorized, (status = 404, description = "No such template visible to the caller", body = ApiError)))]
async fn delete_template(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    assistant::delete_template(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/templates/{id}/start", tag = "assistant", security(("bearer" = [])), params(("id" = String, Path, description = "Id of the template")),
    responses((status = 201, description = "An instant meeting with the template's settings", body = Meeting),
        (status = 400, description = "The template's settings cannot start at once (a webinar is scheduled)", body = ApiError),
        Unauthorized, (status = 404, description = "No such template visible to the caller", body = ApiError)))]
async fn start_from_template(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<Meeting>)> {
    Ok((
        StatusCode::CREATED,
        Json(assistant::start_from_template(&app, &caller, id).await?),
    ))
}

#[utoipa::path(post, path = "/locations", tag = "assistant", security(("bearer" = [])), request_body = LocationRequest,
    responses((status = 201, description = "The new location", body = Location), BadField, Unauthorized))]
async fn create_location(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<LocationRequest>,
) -> Result<(StatusCode, Json<Location>)> {
    Ok((
        StatusCode::CREATED,
        Json(assistant::create_location(&app, &caller, req).await?),
    ))
}

#[utoipa::path(get, path = "/locations", tag = "assistant", security(("bearer" = [])),
    responses((status = 200, description = "The tenant's locations, by name", body = Vec<Location>), Unauthorized))]
async fn list_locations(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<Location>>> {
    Ok(Json(assistant::list_locations(&app, &caller).await?))
}

#[utoipa::path(delete, path = "/locations/{id}", tag = "assistant", security(("bearer" = [])), params(("id" = String, Path, description = "Id of the location")),
    responses((status = 204, description = "Removed"), (status = 400, description = "Only the account that added it may remove it", body = ApiError), Unauthorized, (status = 404, description = "No such location visible to the caller", body = ApiError)))]
async fn delete_location(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    assistant::delete_location(&app, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
