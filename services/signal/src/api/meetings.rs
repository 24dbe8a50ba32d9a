//! Instant meetings: create, list, read, and the preview a joiner sees.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yunhui_proto::api::{ApiError, CreateMeetingRequest, Meeting, MeetingPreview};

use super::extract::{ApiJson, ApiPath};
use super::responses::{BadRequest, Unauthorized};
use crate::App;
use crate::accounts::Caller;
use crate::error::{Error, Result};
use crate::meetings;

/// The meeting routes.
pub(super) fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(create_meeting, list_meetings))
        .routes(routes!(get_meeting))
        .routes(routes!(preview_meeting))
}

#[utoipa::path(post, path = "/meetings", tag = "meetings", security(("bearer" = [])), request_body = CreateMeetingRequest,
    responses((status = 201, description = "The meeting, with its join link", body = Meeting), BadRequest, Unauthorized))]
async fn create_meeting(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateMeetingRequest>,
) -> Result<(StatusCode, Json<Meeting>)> {
    let meeting = meetings::create_instant(&app.store, &caller, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(meeting.to_api(&app.public_base().await)),
    ))
}

#[utoipa::path(get, path = "/meetings", tag = "meetings", security(("bearer" = [])),
    responses((status = 200, description = "Meetings the caller hosts, newest first", body = Vec<Meeting>), Unauthorized))]
async fn list_meetings(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Vec<Meeting>>> {
    let list = meetings::list_hosted(&app.store, &caller).await?;
    let base = app.public_base().await;
    Ok(Json(list.iter().map(|m| m.to_api(&base)).collect()))
}

#[utoipa::path(get, path = "/meetings/{id}", tag = "meetings", security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id")),
    responses((status = 200, description = "The meeting (host only)", body = Meeting), Unauthorized,
        (status = 404, description = "No such meeting hosted by the caller", body = ApiError)))]
async fn get_meeting(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Meeting>> {
    let meeting = meetings::get(&app.store, &caller, &id).await?;
    if meeting.host_account_id != caller.account_id {
        // Only the host sees the password and link key; others learn nothing.
        return Err(Error::MeetingNotFound(id));
    }
    Ok(Json(meeting.to_api(&app.public_base().await)))
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
