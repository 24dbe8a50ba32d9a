//! Scheduled and recurring meetings: create, read, edit and cancel a series
//! or one occurrence, the invitation text, and the caller's upcoming and
//! history lists.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yunhui_proto::api::ApiError;
use yunhui_proto::schedule::{
    HistoryEntry, Occurrence, OccurrenceUpdate, ScheduleRequest, ScheduledMeeting,
};

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::responses::{BadField, Unauthorized};
use crate::App;
use crate::accounts::Caller;
use crate::error::{Error, Result};
use crate::invitation::Language;
use crate::schedule;
use crate::store::now;

/// Default and longest window of the upcoming list, in seconds.
const DEFAULT_WINDOW: i64 = 31 * 24 * 3600;
const MAX_WINDOW: i64 = 400 * 24 * 3600;

/// The scheduling routes with their OpenAPI descriptions, merged into the
/// `/api/v1` router.
pub(super) fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(details, edit_series, cancel_series))
        .routes(routes!(edit_occurrence, cancel_occurrence))
        .routes(routes!(invitation))
        .routes(routes!(upcoming))
        .routes(routes!(history))
}

#[utoipa::path(post, path = "/schedules", tag = "schedules", security(("bearer" = [])), request_body = ScheduleRequest,
    responses((status = 201, description = "The scheduled meeting or series", body = ScheduledMeeting), BadField, Unauthorized))]
async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<ScheduleRequest>,
) -> Result<(StatusCode, Json<ScheduledMeeting>)> {
    let stored = schedule::create_schedule(&app, &caller, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(stored.to_api(&app.public_base().await)),
    ))
}

#[utoipa::path(get, path = "/schedules/{id}", tag = "schedules", security(("bearer" = [])), params(("id" = String, Path, description = "Meeting id of the scheduled meeting or series")),
    responses((status = 200, description = "Details, for the host and invitees", body = ScheduledMeeting), BadField, Unauthorized, (status = 404, description = "No such scheduled meeting visible to the caller", body = ApiError)))]
async fn details(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ScheduledMeeting>> {
    let stored = schedule::load_visible(&app, &caller, &id).await?;
    Ok(Json(stored.to_api(&app.public_base().await)))
}

#[utoipa::path(put, path = "/schedules/{id}", tag = "schedules", security(("bearer" = [])), params(("id" = String, Path, description = "Meeting id of the scheduled meeting or series")), request_body = ScheduleRequest,
    responses((status = 200, description = "The meeting or series as changed; changed occurrences are kept", body = ScheduledMeeting), BadField, Unauthorized, (status = 403, description = "Only the host may change it", body = ApiError), (status = 404, description = "No such scheduled meeting visible to the caller", body = ApiError), (status = 410, description = "The meeting has ended", body = ApiError)))]
async fn edit_series(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ScheduleRequest>,
) -> Result<Json<ScheduledMeeting>> {
    let stored = schedule::edit_schedule(&app, &caller, &id, req).await?;
    Ok(Json(stored.to_api(&app.public_base().await)))
}

#[utoipa::path(delete, path = "/schedules/{id}", tag = "schedules", security(("bearer" = [])), params(("id" = String, Path, description = "Meeting id of the scheduled meeting or series")),
    responses((status = 204, description = "Cancelled: every occurrence is gone and the number is free"), BadField, Unauthorized, (status = 403, description = "Only the host may change it", body = ApiError), (status = 404, description = "No such scheduled meeting visible to the caller", body = ApiError), (status = 410, description = "The meeting has ended", body = ApiError)))]
async fn cancel_series(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    schedule::cancel_schedule(&app, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/schedules/{id}/occurrences/{date}", tag = "schedules", security(("bearer" = [])), params(("id" = String, Path, description = "Meeting id of the scheduled meeting or series"), ("date" = String, Path, description = "Local date (YYYY-MM-DD) the series places the occurrence on")), request_body = OccurrenceUpdate,
    responses((status = 200, description = "The series with this occurrence changed", body = ScheduledMeeting), BadField, Unauthorized, (status = 403, description = "Only the host may change it", body = ApiError), (status = 404, description = "No such series, or no occurrence on that date", body = ApiError), (status = 410, description = "The meeting has ended", body = ApiError)))]
async fn edit_occurrence(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath((id, date)): ApiPath<(String, String)>,
    ApiJson(update): ApiJson<OccurrenceUpdate>,
) -> Result<Json<ScheduledMeeting>> {
    let stored = schedule::change_occurrence(&app, &caller, &id, &date, Some(update)).await?;
    Ok(Json(stored.to_api(&app.public_base().await)))
}

#[utoipa::path(delete, path = "/schedules/{id}/occurrences/{date}", tag = "schedules", security(("bearer" = [])), params(("id" = String, Path, description = "Meeting id of the scheduled meeting or series"), ("date" = String, Path, description = "Local date (YYYY-MM-DD) the series places the occurrence on")),
    responses((status = 200, description = "The series with this occurrence cancelled", body = ScheduledMeeting), BadField, Unauthorized, (status = 403, description = "Only the host may change it", body = ApiError), (status = 404, description = "No such series, or no occurrence on that date", body = ApiError), (status = 410, description = "The meeting has ended", body = ApiError)))]
async fn cancel_occurrence(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath((id, date)): ApiPath<(String, String)>,
) -> Result<Json<ScheduledMeeting>> {
    let stored = schedule::change_occurrence(&app, &caller, &id, &date, None).await?;
    Ok(Json(stored.to_api(&app.public_base().await)))
}

/// `?lang=zh|en` of the invitation.
#[derive(Debug, Deserialize)]
struct InvitationQuery {
    lang: Option<String>,
}

#[utoipa::path(get, path = "/schedules/{id}/invitation", tag = "schedules", security(("bearer" = [])),
    params(("id" = String, Path, description = "Meeting id of the scheduled meeting or series"), ("lang" = Option<String>, Query, description = "zh (default) or en")),
    responses((status = 200, description = "The invitation text (manual section 3.5.6.2)", body = String, content_type = "text/plain"), BadField, Unauthorized, (status = 404, description = "No such scheduled meeting visible to the caller", body = ApiError)))]
async fn invitation(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<InvitationQuery>,
) -> Result<impl IntoResponse> {
    let lang = match query.lang.as_deref() {
        None | Some("") => Language::Zh,
        Some(code) => Language::parse(code)
            .ok_or_else(|| Error::InvalidInput(format!("lang: {code:?} is not one of zh, en")))?,
    };
    let stored = schedule::load_visible(&app, &caller, &id).await?;
    let text = stored.invitation(
        &app.public_base().await,
        lang,
        app.rooms.has_call_control(),
        &app.config.dial_in_numbers,
    )?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

/// `?from=&to=` (Unix seconds) of the upcoming list.
#[derive(Debug, Deserialize)]
struct WindowQuery {
    from: Option<i64>,
    to: Option<i64>,
}

#[utoipa::path(get, path = "/upcoming", tag = "schedules", security(("bearer" = [])),
    params(("from" = Option<i64>, Query, description = "Window start, Unix seconds (default now)"), ("to" = Option<i64>, Query, description = "Window end, Unix seconds (default 31 days after from; at most 400 days)")),
    responses((status = 200, description = "Occurrences the caller hosts or is invited to, by start", body = Vec<Occurrence>), BadField, Unauthorized))]
async fn upcoming(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(window): ApiQuery<WindowQuery>,
) -> Result<Json<Vec<Occurrence>>> {
    let from = window.from.unwrap_or_else(now);
    let to = window.to.unwrap_or(from.saturating_add(DEFAULT_WINDOW));
    if to <= from {
        return Err(Error::InvalidInput("to: must be after from".into()));
    }
    if to.saturating_sub(from) > MAX_WINDOW {
        return Err(Error::InvalidInput(
            "to: the window spans at most 400 days".into(),
        ));
    }
    Ok(Json(
        schedule::upcoming_occurrences(&app, &caller, from, to).await?,
    ))
}

#[utoipa::path(get, path = "/history", tag = "schedules", security(("bearer" = [])),
    responses((status = 200, description = "Ended meetings the caller hosted or was invited to, latest first", body = Vec<HistoryEntry>), Unauthorized))]
async fn history(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Vec<HistoryEntry>>> {
    Ok(Json(schedule::history_entries(&app, &caller).await?))
}
