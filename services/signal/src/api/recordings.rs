//! "My videos" (F-REC-1, F-WEB-3): the caller's cloud recordings — list,
//! read, rename, delete — and each file's media, streamed with HTTP range
//! requests to whoever holds its media key (a `<video>` element sends no
//! bearer token).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_http::services::ServeFile;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yunhui_proto::api::{ApiError, Recording, RenameRecordingRequest};

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::responses::{BadRequest, Unauthorized};
use crate::App;
use crate::accounts::Caller;
use crate::error::{Error, Result};
use crate::recordings;

/// The recording routes.
pub(super) fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(list_recordings))
        .routes(routes!(get_recording, rename_recording, delete_recording))
        .routes(routes!(recording_media))
}

/// Which recordings to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
struct ListQuery {
    /// `tenant` for every recording of the caller's tenant (tenant
    /// administrators only); the caller's own otherwise.
    #[serde(default)]
    scope: Option<String>,
}

#[utoipa::path(get, path = "/recordings", tag = "recordings", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "The caller's recordings (or the tenant's), newest first", body = Vec<Recording>),
        BadRequest, Unauthorized,
        (status = 403, description = "`scope=tenant` asked by someone who is not a tenant administrator", body = ApiError)))]
async fn list_recordings(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<Recording>>> {
    let whole_tenant = match query.scope.as_deref() {
        None | Some("mine") => false,
        Some("tenant") => true,
        Some(other) => {
            return Err(Error::InvalidInput(format!(
                "scope is `mine` or `tenant`, not {other:?}"
            )));
        }
    };
    let list =
        recordings::list(&app.store, &caller, whole_tenant, &app.public_base().await).await?;
    Ok(Json(list))
}

#[utoipa::path(get, path = "/recordings/{id}", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path, description = "Recording id")),
    responses((status = 200, description = "The recording", body = Recording), Unauthorized,
        (status = 404, description = "No such recording visible to the caller", body = ApiError)))]
async fn get_recording(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Recording>> {
    let found = recordings::get(&app.store, &caller, &id, &app.public_base().await).await?;
    Ok(Json(found.api))
}

#[utoipa::path(patch, path = "/recordings/{id}", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path, description = "Recording id")), request_body = RenameRecordingRequest,
    responses((status = 200, description = "The renamed recording", body = Recording), BadRequest, Unauthorized,
        (status = 404, description = "No such recording visible to the caller", body = ApiError)))]
async fn rename_recording(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RenameRecordingRequest>,
) -> Result<Json<Recording>> {
    let renamed = recordings::rename(
        &app.store,
        &caller,
        &id,
        &req.title,
        &app.public_base().await,
    )
    .await?;
    Ok(Json(renamed))
}

#[utoipa::path(delete, path = "/recordings/{id}", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path, description = "Recording id")),
    responses((status = 204, description = "Deleted, with its file"), Unauthorized,
        (status = 404, description = "No such recording visible to the caller", body = ApiError)))]
async fn delete_recording(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    recordings::delete(&app.store, &caller, &id, &app.recorded_files()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The media key, and whether to download.
#[derive(Debug, Deserialize, IntoParams)]
struct MediaQuery {
    /// The recording's media key (in its `media_url`).
    key: String,
    /// `1` to download the file (as an attachment) instead of playing it.
    #[serde(default)]
    download: Option<String>,
}

#[utoipa::path(get, path = "/recordings/{id}/media", tag = "recordings",
    params(("id" = String, Path, description = "Recording id"), MediaQuery),
    responses((status = 200, description = "The file (WebM); `Range` requests are answered with 206", content_type = "video/webm"),
        (status = 206, description = "The requested range of the file"), BadRequest,
        (status = 404, description = "No such recording, or a wrong key", body = ApiError),
        (status = 503, description = "This server cannot read the recordings' files", body = ApiError)))]
async fn recording_media(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<MediaQuery>,
    request: Request,
) -> Result<Response> {
    let found = recordings::file_by_key(&app.store, &id, &query.key).await?;
    let local = app
        .config
        .recordings_dir
        .as_ref()
        .map(|dir| dir.join(&found.file_name))
        .filter(|path| path.is_file());
    let mut response = match (local, &found.file_location) {
        (Some(path), _) => ServeFile::new(path)
            .try_call(request)
            .await
            .map_err(|e| Error::Internal(format!("reading a recording failed: {e}")))?
            .into_response(),
        (None, Some(location)) => {
            let range = request.headers().get(header::RANGE).cloned();
            drop(request);
            from_recorder(&app, location, &found.file_name, range).await?
        }
        (None, None) if app.config.recordings_dir.is_none() => {
            return Err(Error::Unavailable(
                "this server cannot read the recordings' files".into(),
            ));
        }
        (None, None) => {
            return Err(Error::NotVisible {
                what: "recording file",
                id,
            });
        }
    };
    if response.status() == StatusCode::NOT_FOUND {
        return Err(Error::NotVisible {
            what: "recording file",
            id,
        });
    }
    // A file whose recorder died was listed with the size known then (0
    // when signal could not reach it); the recorder serving it now tells.
    if found.api.size_bytes == 0
        && let Some(size) = file_size(response.status(), response.headers())
        && let Err(e) = recordings::set_size(&app.store, &id, size).await
    {
        tracing::warn!(error = %e, recording = %id, "a recording's size was not kept");
    }
    if query.download.as_deref() == Some("1") {
        let name: String = found
            .api
            .title
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.webm\"")) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

/// The whole file's size from a response serving it: its length, or the
/// total of a range's `Content-Range` (`bytes 0-99/12345`).
fn file_size(status: StatusCode, headers: &axum::http::HeaderMap) -> Option<i64> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match status {
        StatusCode::OK => header(header::CONTENT_LENGTH)?.parse().ok(),
        StatusCode::PARTIAL_CONTENT => header(header::CONTENT_RANGE)?
            .rsplit('/')
            .next()?
            .parse()
            .ok(),
        _ => None,
    }
    .filter(|size| *size > 0)
}

/// The file as the recorder at `location` serves it (its internal API),
/// streamed through with the client's range.
async fn from_recorder(
    app: &App,
    location: &str,
    file: &str,
    range: Option<HeaderValue>,
) -> Result<Response> {
    let key = app.config.internal_key.clone().unwrap_or_default();
    let mut upstream = reqwest::Client::new()
        .get(format!(
            "{}/internal/v1/files/{file}",
            location.trim_end_matches('/')
        ))
        .bearer_auth(key);
    if let Some(range) = range {
        upstream = upstream.header(header::RANGE, range);
    }
    let reply = upstream.send().await.map_err(|e| {
        Error::Unavailable(format!(
            "the recorder holding this file is unreachable: {e}"
        ))
    })?;
    let status = reply.status();
    let mut response = Response::builder().status(status.as_u16());
    for name in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_RANGE,
        header::ACCEPT_RANGES,
        header::LAST_MODIFIED,
    ] {
        if let Some(value) = reply.headers().get(&name) {
            response = response.header(name, value.clone());
        }
    }
    let body = futures_util::stream::unfold(reply, |mut reply| async move {
        match reply.chunk().await {
            Ok(Some(chunk)) => Some((Ok::<_, std::io::Error>(chunk), reply)),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e)), reply)),
        }
    });
    response
        .body(axum::body::Body::from_stream(body))
        .map_err(|e| Error::Internal(format!("relaying a recording failed: {e}")))
}
