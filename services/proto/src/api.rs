//! Bodies of the REST Open API. Every request and response body is one of
//! these types; errors are always [`ApiError`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Error body returned with every non-2xx response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ApiError {
    /// The error itself.
    pub error: ErrorBody,
}

/// A machine-readable code plus a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ErrorBody {
    /// Stable code, e.g. `wrong_password`, `meeting_not_found`.
    pub code: String,
    /// Human-readable explanation of what went wrong and what to do.
    pub message: String,
}

/// `POST /api/v1/accounts`: create an account in the default tenant.
/// At least one of `email` and `phone` is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RegisterRequest {
    /// Login e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub email: Option<String>,
    /// Login phone number (digits, optional leading `+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub phone: Option<String>,
    /// Password, at least 8 characters.
    pub password: String,
    /// Name shown to other participants.
    pub display_name: String,
}

/// An account as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Account {
    /// Stable account id.
    pub id: String,
    /// Tenant (enterprise) the account belongs to.
    pub tenant_id: String,
    /// Login e-mail address, if any.
    pub email: Option<String>,
    /// Login phone number, if any.
    pub phone: Option<String>,
    /// Name shown to other participants.
    pub display_name: String,
}

/// `POST /api/v1/sessions`: sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LoginRequest {
    /// E-mail address or phone number.
    pub login: String,
    /// The account's password.
    pub password: String,
}

/// A signed-in session: send `token` as `Authorization: Bearer <token>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Session {
    /// Opaque bearer token.
    pub token: String,
    /// Expiry, seconds since the Unix epoch.
    #[ts(type = "number")]
    pub expires_at: i64,
    /// The signed-in account.
    pub account: Account,
}

/// `POST /api/v1/meetings`: start an instant meeting (signed in).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CreateMeetingRequest {
    /// Topic; defaults to "<display name>'s meeting".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub topic: Option<String>,
    /// Optional password (4–16 characters) joiners must give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub password: Option<String>,
}

/// Lifecycle of a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    /// Created; nobody joined yet.
    Waiting,
    /// At least one participant joined.
    Live,
    /// Ended by the host (or when the last participant left).
    Ended,
}

/// A meeting as its host sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Meeting {
    /// Stable meeting id.
    pub id: String,
    /// The 9–11 digit number people dial or type.
    pub number: String,
    /// Topic.
    pub topic: String,
    /// Whether joiners must give a password.
    pub has_password: bool,
    /// The password itself (only shown to the host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub password: Option<String>,
    /// Account id of the host.
    pub host_account_id: String,
    /// Lifecycle state.
    pub status: MeetingStatus,
    /// Link that joins without typing the number or password.
    pub join_url: String,
    /// Creation time, seconds since the Unix epoch.
    #[ts(type = "number")]
    pub created_at: i64,
}

/// `GET /api/v1/meetings/by-number/{number}`: what a joiner may know before joining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MeetingPreview {
    /// The meeting number.
    pub number: String,
    /// Topic.
    pub topic: String,
    /// Whether a password is needed (a valid link key replaces it).
    pub has_password: bool,
    /// Lifecycle state.
    pub status: MeetingStatus,
}

/// Health and version, `GET /api/v1/about`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct About {
    /// Product name.
    pub product: String,
    /// Server version.
    pub version: String,
    /// Signaling protocol version the server speaks.
    pub protocol_version: u32,
}
