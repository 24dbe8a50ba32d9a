//! Group chats (F-DIR-2): a signed-in person's chats with colleagues,
//! their history, unread counts, and a meeting started from a chat. New
//! messages also reach the members' listening sockets
//! (`live::group_chat_push`). An API key needs the `chat` scope.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yunhui_proto::api::{ApiError, Meeting};
use yunhui_proto::group_chat::{
    CreateGroupChatRequest, GroupChat, GroupChatMessage, MarkChatRead, PostGroupChatMessage,
};

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::responses::{BadRequest, Unauthorized};
use crate::App;
use crate::accounts::Caller;
use crate::error::Result;
use crate::group_chats;
use crate::live::group_chat_push;

/// The group chat routes, merged into the `/api/v1` router.
pub(super) fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(create_chat, list_chats))
        .routes(routes!(get_chat))
        .routes(routes!(post_message, list_messages))
        .routes(routes!(mark_read))
        .routes(routes!(start_meeting))
}

#[utoipa::path(post, path = "/chats", tag = "chats", security(("bearer" = [])), request_body = CreateGroupChatRequest,
    responses((status = 201, description = "The chat, the caller among its members", body = GroupChat), BadRequest, Unauthorized))]
async fn create_chat(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateGroupChatRequest>,
) -> Result<(StatusCode, Json<GroupChat>)> {
    let chat = group_chats::create(&app.store, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(chat)))
}

#[utoipa::path(get, path = "/chats", tag = "chats", security(("bearer" = [])),
    responses((status = 200, description = "The caller's chats with their unread counts, the latest message first", body = Vec<GroupChat>), Unauthorized))]
async fn list_chats(State(app): State<Arc<App>>, caller: Caller) -> Result<Json<Vec<GroupChat>>> {
    Ok(Json(group_chats::list(&app.store, &caller).await?))
}

#[utoipa::path(get, path = "/chats/{id}", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path, description = "Chat id")),
    responses((status = 200, description = "The chat", body = GroupChat), Unauthorized,
        (status = 404, description = "No such chat of the caller's", body = ApiError)))]
async fn get_chat(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<GroupChat>> {
    Ok(Json(group_chats::get(&app.store, &caller, &id).await?))
}

#[utoipa::path(post, path = "/chats/{id}/messages", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path, description = "Chat id")), request_body = PostGroupChatMessage,
    responses((status = 201, description = "The message, also pushed to the members' listening sockets", body = GroupChatMessage), BadRequest, Unauthorized,
        (status = 404, description = "No such chat of the caller's", body = ApiError)))]
async fn post_message(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PostGroupChatMessage>,
) -> Result<(StatusCode, Json<GroupChatMessage>)> {
    let posted = group_chats::post(&app.store, &caller, &id, &req.text, &app.instance).await?;
    group_chat_push::deliver(app.rooms.presence(), &posted);
    Ok((StatusCode::CREATED, Json(posted.message)))
}

#[derive(serde::Deserialize)]
struct Page {
    before: Option<String>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/chats/{id}/messages", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path, description = "Chat id"),
        ("before" = Option<String>, Query, description = "Only messages sent before this one (the last id of the previous page)"),
        ("limit" = Option<u32>, Query, description = "Messages per page, 1 to 200 (50 when not given)")),
    responses((status = 200, description = "The chat's history, newest first", body = Vec<GroupChatMessage>), BadRequest, Unauthorized,
        (status = 404, description = "No such chat of the caller's", body = ApiError)))]
async fn list_messages(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Vec<GroupChatMessage>>> {
    Ok(Json(
        group_chats::messages(&app.store, &caller, &id, page.before.as_deref(), page.limit).await?,
    ))
}

#[utoipa::path(put, path = "/chats/{id}/read", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path, description = "Chat id")), request_body = MarkChatRead,
    responses((status = 204, description = "Read up to that message"), BadRequest, Unauthorized,
        (status = 404, description = "No such chat of the caller's", body = ApiError)))]
async fn mark_read(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<MarkChatRead>,
) -> Result<StatusCode> {
    group_chats::mark_read(&app.store, &caller, &id, &req.up_to).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/chats/{id}/meeting", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path, description = "Chat id")),
    responses((status = 201, description = "An instant meeting hosted by the caller, announced in the chat; the other members' listening sockets ring", body = Meeting),
        Unauthorized, (status = 404, description = "No such chat of the caller's", body = ApiError)))]
async fn start_meeting(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<Meeting>)> {
    let (meeting, posted) =
        group_chats::start_meeting(&app.store, &caller, &id, &app.instance).await?;
    group_chat_push::deliver(app.rooms.presence(), &posted);
    Ok((
        StatusCode::CREATED,
        Json(meeting.to_api(&app.public_base().await)),
    ))
}
