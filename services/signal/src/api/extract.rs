//! What handlers take from a request: the JSON body, path and query (their
//! rejections answered in the API's error format) and the [`Caller`], the
//! account a bearer token or API key belongs to. A handler that takes a
//! [`Caller`] answers 401 before it runs when the token is missing, unknown
//! or expired.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::App;
use crate::accounts::Caller;
use crate::error::{Error, Result};

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

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let caller = crate::auth::authenticate(&app.store, bearer(&parts.headers)?).await?;
        if caller.scopes.is_some() {
            // An API key: only within the scope the endpoint needs.
            let path = parts
                .extensions
                .get::<MatchedPath>()
                .map(|p| p.as_str().trim_start_matches(super::API_PREFIX).to_string())
                .unwrap_or_default();
            match super::scopes::required(&parts.method, &path) {
                Some(scope) => caller.require_scope(scope)?,
                None => return Err(Error::NotForApiKeys),
            }
        }
        Ok(caller)
    }
}

/// The token of `Authorization: Bearer <token>`, or [`Error::InvalidToken`].
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Error::InvalidToken)
}
