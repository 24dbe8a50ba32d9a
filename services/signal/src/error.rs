//! Errors of the signal service. Each variant is a sentence a user can act
//! on; [`Error::code`] is the stable machine-readable code sent on the wire.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use yunhui_proto::api::{ApiError, ErrorBody};
use yunhui_proto::signaling::ErrorCode;

/// Everything that can go wrong in a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request body or a field was not acceptable.
    #[error("{0}")]
    InvalidInput(String),
    /// An account with that e-mail or phone already exists.
    #[error("an account with this {0} already exists")]
    AccountExists(&'static str),
    /// Login or password did not match.
    #[error("wrong login or password")]
    WrongCredentials,
    /// No or unknown bearer token.
    #[error("sign in first: the bearer token is missing or unknown")]
    InvalidToken,
    /// The account registered itself and waits for approval.
    #[error("the account waits for a tenant administrator's approval")]
    AccountPending,
    /// A tenant administrator turned the registration down.
    #[error("a tenant administrator declined this account's registration")]
    AccountRejected,
    /// The enterprise disabled the account.
    #[error("this account is disabled; ask your enterprise's administrator")]
    AccountDisabled,
    /// Only tenant administrators may do this.
    #[error("only a tenant administrator can {0}")]
    NotTenantAdmin(&'static str),
    /// The API key lacks the scope this endpoint needs.
    #[error("this API key lacks the scope {}; create a key with it", .0.as_str())]
    MissingScope(yunhui_proto::api::ApiScope),
    /// API keys cannot call this endpoint at all.
    #[error("API keys cannot call this endpoint; a person must sign in")]
    NotForApiKeys,
    /// No company tenant registers this e-mail domain.
    #[error("no enterprise registers accounts with the e-mail domain {0}")]
    TenantNotFound(String),
    /// No such account in the caller's tenant.
    #[error("no account {0} in your enterprise")]
    AccountNotFound(String),
    /// No such API key in the caller's tenant.
    #[error("no API key {0} in your enterprise")]
    ApiKeyNotFound(String),
    /// The bearer token is past its expiry.
    #[error("the session has expired; sign in again")]
    TokenExpired,
    /// A refresh token was presented a second time: someone holds a copy,
    /// so every session of that sign-in has ended.
    #[error(
        "this refresh token was already used; every session of this sign-in has ended: sign in again"
    )]
    RefreshTokenReused,
    /// No open meeting with this number (or id) is visible to the caller.
    #[error("no meeting with number {0} is open")]
    MeetingNotFound(String),
    /// No such record (scheduled meeting, cloud room, template, location)
    /// is visible to the caller; said the same way whether it exists
    /// elsewhere or not at all.
    #[error("no {what} {id} is visible to you")]
    NotVisible {
        /// What was asked for, e.g. "scheduled meeting".
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The series has no occurrence on that date.
    #[error("the series {meeting} has no occurrence on {date}")]
    OccurrenceNotFound {
        /// Meeting id of the series.
        meeting: String,
        /// The local date asked for.
        date: String,
    },
    /// The meeting has a password and none was given.
    #[error("meeting {0} needs a password")]
    PasswordRequired(String),
    /// The password or link key was wrong.
    #[error("wrong password for meeting {0}")]
    WrongPassword(String),
    /// Only the host may do this.
    #[error("only the host can {0}")]
    NotHost(&'static str),
    /// The meeting has ended.
    #[error("meeting {0} has ended")]
    MeetingEnded(String),
    /// The host locked the meeting.
    #[error("meeting {0} is locked by its host: nobody new may join")]
    MeetingLocked(String),
    /// The host turned the joiner away from the waiting room.
    #[error("the host did not let you into meeting {0}")]
    EntryDenied(String),
    /// The host has switched this off for participants.
    #[error("the host does not allow participants to {0}")]
    NotAllowed(&'static str),
    /// No such participant in the meeting or its waiting room.
    #[error("no participant {0} is in this meeting")]
    ParticipantNotFound(String),
    /// The message needs an admitted participant.
    #[error("you are in the waiting room: wait until the host lets you in")]
    NotAdmitted,
    /// Only invitees may join.
    #[error("meeting {0} is open to its invitees only: sign in with an invited account")]
    NotInvited(String),
    /// The tenant's licence is used up.
    #[error("the licence is used up: {0}")]
    LicenceExceeded(String),
    /// Too many wrong passwords from this source (or for this meeting).
    #[error(
        "too many wrong passwords for meeting {number}: try again in {retry_after_secs} seconds"
    )]
    TooManyAttempts {
        /// The meeting number.
        number: String,
        /// Seconds until attempts are accepted again.
        retry_after_secs: u64,
    },
    /// A participant asked to restart its media again too soon.
    #[error("media was restarted less than {interval_ms} ms ago: ask again in {retry_after_ms} ms")]
    MediaRestartTooSoon {
        /// The shortest time between two restarts.
        interval_ms: u64,
        /// Milliseconds until a restart is accepted again.
        retry_after_ms: u64,
    },
    /// A department cannot be deleted or changed as asked.
    #[error("department {id}: {reason}")]
    DepartmentInUse {
        /// The department.
        id: String,
        /// Why, and what to do.
        reason: String,
    },
    /// No such call rings for the caller.
    #[error("no call {0} rings for you (answered elsewhere, or it ended)")]
    CallNotFound(String),
    /// The deployment does not run what this needs.
    #[error("{0}")]
    Unavailable(String),
    /// The media server refused or failed.
    #[error("media server: {0}")]
    Media(#[from] yunhui_proto::media::ControlError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Anything else inside the server.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Stable code used in API error bodies and signaling errors.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidInput(_) | Error::AccountExists(_) | Error::DepartmentInUse { .. } => {
                ErrorCode::InvalidInput
            }
            Error::MeetingLocked(_) => ErrorCode::MeetingLocked,
            Error::EntryDenied(_) => ErrorCode::EntryDenied,
            Error::NotAllowed(_) => ErrorCode::NotAllowed,
            Error::ParticipantNotFound(_) => ErrorCode::ParticipantNotFound,
            Error::NotAdmitted => ErrorCode::NotJoined,
            Error::NotInvited(_) => ErrorCode::NotInvited,
            Error::LicenceExceeded(_) => ErrorCode::LicenceExceeded,
            Error::TooManyAttempts { .. } | Error::MediaRestartTooSoon { .. } => {
                ErrorCode::TooManyAttempts
            }
            Error::CallNotFound(_) => ErrorCode::CallNotFound,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::WrongCredentials
            | Error::InvalidToken
            | Error::RefreshTokenReused
            | Error::AccountPending
            | Error::AccountRejected
            | Error::AccountDisabled => ErrorCode::InvalidToken,
            Error::NotTenantAdmin(_) | Error::MissingScope(_) | Error::NotForApiKeys => {
                ErrorCode::NotAllowed
            }
            Error::AccountNotFound(_) | Error::ApiKeyNotFound(_) | Error::TenantNotFound(_) => {
                ErrorCode::InvalidInput
            }
            Error::TokenExpired => ErrorCode::TokenExpired,
            Error::MeetingNotFound(_)
            | Error::NotVisible { .. }
            | Error::OccurrenceNotFound { .. } => ErrorCode::MeetingNotFound,
            Error::PasswordRequired(_) => ErrorCode::PasswordRequired,
            Error::WrongPassword(_) => ErrorCode::WrongPassword,
            Error::NotHost(_) => ErrorCode::NotHost,
            Error::MeetingEnded(_) => ErrorCode::MeetingEnded,
            Error::Media(_) => ErrorCode::MediaError,
            Error::Database(_) | Error::Internal(_) => ErrorCode::Internal,
        }
    }

    fn api_code(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "invalid_input",
            Error::AccountExists(_) => "account_exists",
            Error::WrongCredentials => "wrong_credentials",
            Error::AccountPending => "account_pending",
            Error::AccountRejected => "account_rejected",
            Error::AccountDisabled => "account_disabled",
            Error::NotTenantAdmin(_) => "not_tenant_admin",
            Error::MissingScope(_) | Error::NotForApiKeys => "insufficient_scope",
            Error::AccountNotFound(_) => "account_not_found",
            Error::TenantNotFound(_) => "tenant_not_found",
            Error::ApiKeyNotFound(_) => "api_key_not_found",
            Error::InvalidToken => "invalid_token",
            Error::TokenExpired => "token_expired",
            Error::RefreshTokenReused => "refresh_token_reused",
            Error::MeetingNotFound(_) => "meeting_not_found",
            Error::NotVisible { what, .. } if what.contains("meeting") || what.contains("room") => {
                "meeting_not_found"
            }
            Error::NotVisible { .. } => "not_found",
            Error::OccurrenceNotFound { .. } => "occurrence_not_found",
            Error::PasswordRequired(_) => "password_required",
            Error::WrongPassword(_) => "wrong_password",
            Error::NotHost(_) => "not_host",
            Error::MeetingEnded(_) => "meeting_ended",
            Error::MeetingLocked(_) => "meeting_locked",
            Error::EntryDenied(_) => "entry_denied",
            Error::NotAllowed(_) => "not_allowed",
            Error::ParticipantNotFound(_) => "participant_not_found",
            Error::NotAdmitted => "not_admitted",
            Error::NotInvited(_) => "not_invited",
            Error::LicenceExceeded(_) => "licence_exceeded",
            Error::TooManyAttempts { .. } => "too_many_attempts",
            Error::MediaRestartTooSoon { .. } => "media_restart_too_soon",
            Error::CallNotFound(_) => "call_not_found",
            Error::DepartmentInUse { .. } => "department_in_use",
            Error::Unavailable(_) => "unavailable",
            Error::Media(_) => "media_error",
            Error::Database(_) | Error::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::InvalidInput(_) => StatusCode::BAD_REQUEST,
            Error::AccountExists(_) | Error::DepartmentInUse { .. } => StatusCode::CONFLICT,
            Error::WrongCredentials
            | Error::InvalidToken
            | Error::TokenExpired
            | Error::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            Error::MeetingNotFound(_)
            | Error::AccountNotFound(_)
            | Error::ApiKeyNotFound(_)
            | Error::TenantNotFound(_)
            | Error::NotVisible { .. }
            | Error::OccurrenceNotFound { .. } => StatusCode::NOT_FOUND,
            Error::AccountPending
            | Error::AccountRejected
            | Error::AccountDisabled
            | Error::NotTenantAdmin(_)
            | Error::MissingScope(_)
            | Error::NotForApiKeys => StatusCode::FORBIDDEN,
            Error::PasswordRequired(_) | Error::WrongPassword(_) | Error::NotHost(_) => {
                StatusCode::FORBIDDEN
            }
            Error::MeetingEnded(_) => StatusCode::GONE,
            Error::MeetingLocked(_)
            | Error::EntryDenied(_)
            | Error::NotAllowed(_)
            | Error::NotAdmitted
            | Error::NotInvited(_)
            | Error::LicenceExceeded(_) => StatusCode::FORBIDDEN,
            Error::ParticipantNotFound(_) | Error::CallNotFound(_) => StatusCode::NOT_FOUND,
            Error::TooManyAttempts { .. } | Error::MediaRestartTooSoon { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Error::Media(_) => StatusCode::BAD_GATEWAY,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to clients: internal details stay in the logs.
    pub fn public_message(&self) -> String {
        match self {
            Error::Database(_) | Error::Internal(_) => {
                "the server failed to handle the request; see its logs".to_string()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if matches!(self, Error::Database(_) | Error::Internal(_)) {
            tracing::error!(error = %self, "request failed");
        }
        let body = ApiError {
            error: ErrorBody {
                code: self.api_code().to_string(),
                message: self.public_message(),
            },
        };
        (self.status(), Json(body)).into_response()
    }
}

/// Result of signal operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
