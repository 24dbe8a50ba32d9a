//! The HTTP face of signal: the REST Open API under `/api/v1` (one module
//! per resource), the WebSocket upgrade, health, metrics, the internal
//! tenant API, the SFU nodes' reports and the web client's files.
//!
//! Handlers are thin: they take what [`extract`] gives (the [`crate::accounts::Caller`]
//! among it), call the domain module, and answer with its result or an
//! [`crate::error::Error`]. Every handler carries its `#[utoipa::path]`, whose
//! common error answers are the types of [`responses`], so the document at
//! `/api/openapi.json` is written from the same code that serves it.

pub mod accounts;
pub mod administration;
pub mod assistant;
pub mod chats;
pub mod extract;
pub mod internal;
pub mod meetings;
pub mod recordings;
pub mod responses;
pub mod schedule;
pub mod scopes;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use prometheus::{Encoder, TextEncoder};
use tower_http::services::{ServeDir, ServeFile};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yunhui_proto::api::{About, ApiError};
use yunhui_proto::signaling::PROTOCOL_VERSION;
use yunhui_proto::worker::WorkerPool;

use crate::App;
use crate::error::Error;
use crate::live::signaling;

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
const MAX_BODY_BYTES: usize = yunhui_proto::limits::API_BODY_BYTES;

/// Where the REST API lives.
const API_PREFIX: &str = "/api/v1";

/// The Open API: every REST endpoint, registered together with its OpenAPI
/// description, so the document served at `/api/openapi.json` cannot miss
/// one. Paths of the router are relative to [`API_PREFIX`]; the document's
/// include it.
pub fn api() -> (Router<Arc<App>>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(about))
        .merge(accounts::routes())
        .merge(administration::routes())
        .merge(meetings::routes())
        .merge(recordings::routes())
        .merge(schedule::routes())
        .merge(assistant::routes())
        .merge(chats::routes())
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
        .route("/.well-known/yunhui", get(internal::discovery))
        .route(
            "/internal/v1/tenants/{id}",
            get(internal::get_tenant)
                .put(internal::put_tenant)
                .delete(internal::delete_tenant),
        )
        .route(
            "/internal/v1/tenants/{id}/admins",
            post(internal::create_admin),
        )
        .route("/internal/v1/media-nodes", get(internal::list_media_nodes))
        .route(
            "/internal/v1/media-nodes/{id}",
            put(internal::put_media_node),
        )
        .route(
            "/internal/v1/media-nodes/{id}/drain",
            post(internal::drain_media_node),
        )
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .nest(API_PREFIX, api);
    for pool in WorkerPool::ALL {
        let base = format!("/internal/v1/{}", pool.path());
        router = router
            .route(
                &base,
                get(move |app, headers| internal::list_workers(pool, app, headers)),
            )
            .route(
                &format!("{base}/{{id}}"),
                put(move |app, id, headers, body| {
                    internal::put_worker(pool, app, id, headers, body)
                }),
            )
            .route(
                &format!("{base}/{{id}}/drain"),
                post(move |app, id, headers| internal::drain_worker(pool, app, id, headers)),
            );
    }
    if let Some(dir) = &app.config.web_dir {
        // Client-side routes such as /j/123456789 get the app's index page.
        let index = ServeFile::new(dir.join("index.html"));
        router = router.fallback_service(ServeDir::new(dir).fallback(index));
    }
    router.with_state(app)
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
