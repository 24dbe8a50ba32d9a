//! The error answers many endpoints share, for their `#[utoipa::path]`
//! `responses(...)`: one definition each instead of the same tuple in every
//! handler. Each carries an [`ApiError`] body.

use utoipa::IntoResponses;
use yunhui_proto::api::ApiError;

/// 401: no bearer token, or one that is unknown or expired; 403: an API
/// key without the scope the endpoint needs (or an account whose role does
/// not allow it).
#[derive(IntoResponses)]
pub enum Unauthorized {
    /// No usable token.
    #[response(status = 401, description = "No, unknown or expired bearer token")]
    Token(#[allow(dead_code)] ApiError),
    /// Not within the key's scopes.
    #[response(
        status = 403,
        description = "An API key without the scope this endpoint needs, or an account whose role does not allow it"
    )]
    Scope(#[allow(dead_code)] ApiError),
}

/// 400: the body, a path or a query parameter cannot be used.
#[derive(IntoResponses)]
#[response(status = 400, description = "The body or a field is not acceptable")]
pub struct BadRequest(#[allow(dead_code)] ApiError);

/// 400 for bodies with several fields: the message names the field.
#[derive(IntoResponses)]
#[response(
    status = 400,
    description = "The body or a field is not acceptable; the message names the field"
)]
pub struct BadField(#[allow(dead_code)] ApiError);

/// 403: the caller's role does not allow it (e.g. not a tenant administrator).
#[derive(IntoResponses)]
#[response(status = 403, description = "Not allowed for this account")]
pub struct Forbidden(#[allow(dead_code)] ApiError);
