//! Bodies of the REST Open API. Every request and response body is one of
//! these types; errors are always [`ApiError`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// Error body returned with every non-2xx response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct ApiError {
    /// The error itself.
    pub error: ErrorBody,
}

/// A machine-readable code plus a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct ErrorBody {
    /// Stable code, e.g. `wrong_password`, `meeting_not_found`.
    pub code: String,
    /// Human-readable explanation of what went wrong and what to do.
    pub message: String,
}

/// `POST /api/v1/accounts`: create an account in the default tenant.
/// At least one of `email` and `phone` is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
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
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    /// Name shown to other participants.
    #[schema(min_length = 1, max_length = 64)]
    pub display_name: String,
    /// The company to join (from `GET /api/v1/tenants/by-domain/{domain}`);
    /// the e-mail address must be in one of its domains, and the account
    /// waits for a tenant administrator's approval. Omitted: the e-mail
    /// domain decides, and without a matching company the account joins the
    /// default tenant at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub tenant_id: Option<String>,
}

/// An account as its owner (or a tenant administrator) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
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
    /// Department within the enterprise.
    #[serde(default)]
    pub department: Option<String>,
    /// Member or tenant administrator.
    #[serde(default)]
    pub role: AccountRole,
    /// Whether the account may sign in.
    #[serde(default)]
    pub status: AccountStatus,
}

/// What an account may do in its tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// Uses meetings.
    #[default]
    Member,
    /// Also approves registrations, manages accounts and API keys.
    TenantAdmin,
}

/// Whether an account may sign in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Signs in normally.
    #[default]
    Active,
    /// Registered itself into a company tenant; waits for an administrator.
    Pending,
    /// An administrator turned the registration down.
    Rejected,
    /// Disabled by the enterprise (its directory sync): cannot sign in; its
    /// sessions and API keys stop working.
    Disabled,
}

/// `GET /api/v1/me`: the signed-in account with what the client shows on
/// its profile page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct Profile {
    /// The account.
    pub account: Account,
    /// The tenant's display name.
    pub tenant_name: String,
    /// Link to the management console (tenant administrators only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub console_url: Option<String>,
}

/// `PATCH /api/v1/me`: change one's own profile; omitted fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct UpdateProfileRequest {
    /// New display name (1–64 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub display_name: Option<String>,
    /// New department (empty clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub department: Option<String>,
}

/// `GET /api/v1/tenants/by-domain/{domain}`: the company a registration
/// with that e-mail domain joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct TenantLookup {
    /// Tenant id, to pass as `tenant_id` when registering.
    pub tenant_id: String,
    /// The company's name.
    pub name: String,
}

/// One colleague in `GET /api/v1/directory`: an active account of the
/// caller's enterprise, to invite to a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct DirectoryEntry {
    /// Account id, as `invitees` and in-meeting invitations take it.
    pub id: String,
    /// Name shown to others.
    pub display_name: String,
    /// Department within the enterprise (may be empty).
    pub department: String,
    /// E-mail address, if the account has one.
    pub email: Option<String>,
}

/// A department of the caller's enterprise in `GET
/// /api/v1/directory/departments`: the organisation as a tree, each node
/// naming its parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct Department {
    /// Department id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The department it belongs to; `None` at the top.
    pub parent_id: Option<String>,
    /// Active accounts directly in it.
    pub members: u32,
}

/// A meeting device of the caller's enterprise (a room system in a meeting
/// room), as the directory lists it to invite or schedule
/// (`GET /api/v1/directory/devices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct DirectoryDevice {
    /// Device id.
    pub id: String,
    /// Name shown for it, e.g. "Boardroom 3F".
    pub name: String,
    /// Its SIP address (`sip:room@host`), which calls it.
    pub address: String,
    /// Where it is, if given.
    pub location: Option<String>,
}

/// `POST /api/v1/admin/devices`: a meeting device for the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct DirectoryDeviceRequest {
    /// Name shown for it, 1 to 64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Its SIP address: `sip:room@host[:port]` (the `sip:` optional), unique
    /// in the enterprise.
    #[schema(min_length = 1, max_length = 256, example = "sip:boardroom@10.0.0.20")]
    pub address: String,
    /// Where it is, at most 128 characters.
    #[serde(default)]
    #[schema(max_length = 128)]
    pub location: Option<String>,
}

/// `PUT /api/v1/admin/provisioning`: an enterprise's directory (from its OA
/// system or another directory) applied in one go, by the ids it has there.
/// Departments and users named are created or brought in line; those not
/// named are left as they are. Applying the same request twice changes
/// nothing the second time. The whole request is checked first: any
/// problem refuses all of it, listing each one, and nothing is written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct ProvisioningRequest {
    /// Departments, in any order (a parent may come after its children).
    #[serde(default)]
    pub departments: Vec<ProvisionedDepartment>,
    /// Users.
    #[serde(default)]
    pub users: Vec<ProvisionedUser>,
}

/// One department as the enterprise's directory has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct ProvisionedDepartment {
    /// Its id in the enterprise's directory (1–128 characters).
    pub external_id: String,
    /// Its name (1–128 characters).
    pub name: String,
    /// The external id of the department it belongs to; none at the top.
    #[serde(default)]
    pub parent_external_id: Option<String>,
    /// Hidden from the directory tree (its members stay).
    #[serde(default)]
    pub disabled: bool,
}

/// One user as the enterprise's directory has it. A user new to Yunhui is
/// matched to an account of the enterprise with the same e-mail address
/// (which is then linked to the external id), else created without a
/// password: it signs in once it is given one (or through single sign-on).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct ProvisionedUser {
    /// Its id in the enterprise's directory (1–128 characters).
    pub external_id: String,
    /// Name shown to others (1–64 characters).
    pub display_name: String,
    /// E-mail address, unique among all accounts.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number, unique among all accounts.
    #[serde(default)]
    pub phone: Option<String>,
    /// The external id of the user's department.
    #[serde(default)]
    pub department_external_id: Option<String>,
    /// Cannot sign in; sessions and API keys stop.
    #[serde(default)]
    pub disabled: bool,
}

/// What a provisioning request changed, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct ProvisioningCounts {
    /// New.
    pub created: u32,
    /// Existing and changed.
    pub updated: u32,
    /// Existing and already as asked.
    pub unchanged: u32,
}

/// The answer to `PUT /api/v1/admin/provisioning`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct ProvisioningResult {
    /// Departments.
    pub departments: ProvisioningCounts,
    /// Users.
    pub users: ProvisioningCounts,
}

/// Most entries one directory search returns.
pub const MAX_DIRECTORY_RESULTS: u32 = 50;

/// `POST /api/v1/admin/accounts/{id}/approval`: a tenant administrator's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct ApprovalRequest {
    /// `true` approves, `false` rejects.
    pub approve: bool,
}

/// `PUT /api/v1/admin/accounts/{id}/role`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct RoleRequest {
    /// The new role.
    pub role: AccountRole,
}

/// A cloud room as a tenant administrator manages its live streaming:
/// `GET /api/v1/admin/cloud-rooms`, and the answer of `PUT
/// /api/v1/admin/cloud-rooms/{id}/streaming`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CloudRoomStreaming {
    /// The room's meeting id.
    pub room_id: String,
    /// Its fixed meeting number.
    pub number: String,
    /// Its name.
    pub name: String,
    /// The account that owns it.
    pub owner_account_id: String,
    /// Whether its meetings may be streamed live.
    pub streaming_allowed: bool,
    /// The colleagues who may use it besides its owner.
    #[serde(default)]
    pub members: Vec<Invitee>,
}

/// An invited account (or a cloud room's member), with the name the
/// directory shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct Invitee {
    /// Account id.
    pub account_id: String,
    /// Display name.
    pub display_name: String,
}

/// `PUT /api/v1/admin/cloud-rooms/{id}/members`: who may use a cloud room
/// besides its owner, replacing the list it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CloudRoomMembersRequest {
    /// Account ids of colleagues, at most 500.
    #[schema(max_items = 500)]
    pub members: Vec<String>,
}

/// `POST /api/v1/admin/departments` and `PUT /api/v1/admin/departments/{id}`:
/// a department kept in the console (one the enterprise's directory
/// provisions is changed there instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct DepartmentRequest {
    /// Its name, 1 to 128 characters.
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// The department it belongs to; none at the top.
    #[serde(default)]
    pub parent_id: Option<String>,
}

/// `PUT /api/v1/admin/accounts/{id}/status`: disable an account (it cannot
/// sign in; its sessions and API keys stop working) or enable it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct AccountStatusRequest {
    /// `true` disables the account, `false` enables it.
    pub disabled: bool,
}

/// `GET /api/v1/admin/media-policy`: whether the enterprise's members may
/// record meetings in the cloud and stream them live, and how long
/// recordings are kept. The licence (the Tenant resource) decides what may
/// be switched on and the longest retention; the administrator chooses
/// within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct MediaPolicy {
    /// The licence includes cloud recording.
    pub recording_licensed: bool,
    /// Hosts may record: licensed and switched on by the administrator.
    pub recording: bool,
    /// The licence includes live streaming.
    pub streaming_licensed: bool,
    /// Hosts may stream live: licensed and switched on by the administrator.
    pub streaming: bool,
    /// The longest the licence keeps recordings, days (`null`: no limit).
    pub max_retention_days: Option<u32>,
    /// The administrator's retention, days (`null`: the licence's).
    pub retention_days: Option<u32>,
    /// Days a new recording is kept (`null`: until deleted).
    pub effective_retention_days: Option<u32>,
}

/// `PUT /api/v1/admin/media-policy`. A switch cannot be on when the licence
/// does not include it; the retention is 1 to the licence's longest (or
/// to 3650 days when the licence sets none). A new retention applies to
/// recordings made from then on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct MediaPolicyRequest {
    /// Hosts may record.
    pub recording: bool,
    /// Hosts may stream live.
    pub streaming: bool,
    /// Days recordings are kept (`null`: the licence's).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub retention_days: Option<u32>,
}

/// What the tenant's licence allows (`GET /api/v1/admin/licence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LicenceTerms {
    /// No limit.
    Unlimited,
    /// At most `ports` participants in meetings at once, across the tenant.
    ConcurrentPorts {
        /// Participants at once.
        ports: u32,
    },
    /// At most `rooms` meetings at once, each with at most `capacity`
    /// participants.
    CloudRooms {
        /// Meetings at once.
        rooms: u32,
        /// Participants per meeting.
        capacity: u32,
    },
}

/// `GET /api/v1/admin/licence`: the licence and how much of it is in use,
/// now and at the busiest moment so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct LicenceUse {
    /// What the licence allows.
    pub terms: LicenceTerms,
    /// Participants in the tenant's meetings now.
    pub participants: u32,
    /// The tenant's meetings running now.
    pub meetings: u32,
    /// Most participants in meetings at once so far.
    pub peak_participants: u32,
    /// When that was, seconds since the Unix epoch.
    #[ts(type = "number | null")]
    pub peak_participants_at: Option<i64>,
    /// Most meetings running at once so far.
    pub peak_meetings: u32,
    /// When that was, seconds since the Unix epoch.
    #[ts(type = "number | null")]
    pub peak_meetings_at: Option<i64>,
}

/// What an administrator (or an API key acting for one) did, as the audit
/// log records it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS, ToSchema,
)]
pub enum AuditAction {
    /// A registration approved.
    #[serde(rename = "account.approved")]
    AccountApproved,
    /// A registration turned down.
    #[serde(rename = "account.rejected")]
    AccountRejected,
    /// An account made a member or an administrator.
    #[serde(rename = "account.role_changed")]
    AccountRoleChanged,
    /// An account disabled.
    #[serde(rename = "account.disabled")]
    AccountDisabled,
    /// A disabled account enabled again.
    #[serde(rename = "account.enabled")]
    AccountEnabled,
    /// A department created in the console.
    #[serde(rename = "department.created")]
    DepartmentCreated,
    /// A department renamed or moved.
    #[serde(rename = "department.changed")]
    DepartmentChanged,
    /// A department deleted.
    #[serde(rename = "department.deleted")]
    DepartmentDeleted,
    /// The directory provisioned from the enterprise's own.
    #[serde(rename = "directory.provisioned")]
    DirectoryProvisioned,
    /// A meeting device added to the directory.
    #[serde(rename = "device.created")]
    DeviceCreated,
    /// A meeting device removed.
    #[serde(rename = "device.deleted")]
    DeviceDeleted,
    /// An API key created.
    #[serde(rename = "api_key.created")]
    ApiKeyCreated,
    /// An API key revoked.
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked,
    /// A webhook created.
    #[serde(rename = "webhook.created")]
    WebhookCreated,
    /// A webhook deleted.
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted,
    /// A cloud room's members set.
    #[serde(rename = "cloud_room.members_changed")]
    CloudRoomMembersChanged,
    /// A cloud room allowed or forbidden to stream live.
    #[serde(rename = "cloud_room.streaming_changed")]
    CloudRoomStreamingChanged,
    /// The enterprise's recording and live-streaming switches or retention
    /// changed.
    #[serde(rename = "media_policy.changed")]
    MediaPolicyChanged,
}

impl AuditAction {
    /// The action's name on the wire and in the database, e.g. `account.approved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::AccountApproved => "account.approved",
            AuditAction::AccountRejected => "account.rejected",
            AuditAction::AccountRoleChanged => "account.role_changed",
            AuditAction::AccountDisabled => "account.disabled",
            AuditAction::AccountEnabled => "account.enabled",
            AuditAction::DepartmentCreated => "department.created",
            AuditAction::DepartmentChanged => "department.changed",
            AuditAction::DepartmentDeleted => "department.deleted",
            AuditAction::DirectoryProvisioned => "directory.provisioned",
            AuditAction::DeviceCreated => "device.created",
            AuditAction::DeviceDeleted => "device.deleted",
            AuditAction::ApiKeyCreated => "api_key.created",
            AuditAction::ApiKeyRevoked => "api_key.revoked",
            AuditAction::WebhookCreated => "webhook.created",
            AuditAction::WebhookDeleted => "webhook.deleted",
            AuditAction::CloudRoomMembersChanged => "cloud_room.members_changed",
            AuditAction::CloudRoomStreamingChanged => "cloud_room.streaming_changed",
            AuditAction::MediaPolicyChanged => "media_policy.changed",
        }
    }
}

/// One entry of the audit log (`GET /api/v1/admin/audit-log`), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct AuditEntry {
    /// Entry id. Ids sort as the entries were written: pass the last one
    /// of a page as `before` for the page after it.
    pub id: String,
    /// When, seconds since the Unix epoch.
    #[ts(type = "number")]
    pub at: i64,
    /// The administrator who acted (or for whom the API key acted).
    pub actor_account_id: String,
    /// Their name at the time.
    pub actor_name: String,
    /// The API key used, if one was.
    pub api_key_id: Option<String>,
    /// What was done.
    pub action: AuditAction,
    /// The id of what it was done to (an account, a department, ...).
    pub target_id: String,
    /// A short description of it, e.g. the account's name and new role.
    pub detail: String,
}

/// `PUT /api/v1/admin/cloud-rooms/{id}/streaming`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct StreamingPermission {
    /// `true` allows the room's meetings to be streamed live.
    pub allowed: bool,
}

/// What an API key may do. A key acts for the administrator who made it,
/// and only within its scopes; a person signed in is limited by their role
/// alone.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ApiScope {
    /// The key's own account: `/me`, `/me/profile`, signing out.
    Profile,
    /// Search the directory.
    DirectoryRead,
    /// List the tenant's accounts, approve registrations, change roles,
    /// provision the directory, keep its meeting devices.
    AccountsManage,
    /// Create, list and revoke API keys.
    ApiKeysManage,
    /// Read meetings, schedules, invitations, upcoming and past meetings,
    /// cloud rooms, templates and locations.
    MeetingsRead,
    /// Create, change and delete meetings, schedules, cloud rooms,
    /// templates and locations.
    MeetingsManage,
    /// Create, list and delete webhooks, and read their deliveries.
    WebhooksManage,
    /// Read the audit log of administrative actions and the licence's use.
    AuditRead,
    /// Read and send the group chats of the key's account, and start
    /// meetings from them.
    Chat,
}

impl ApiScope {
    /// Every scope.
    pub const ALL: [ApiScope; 9] = [
        ApiScope::Profile,
        ApiScope::DirectoryRead,
        ApiScope::AccountsManage,
        ApiScope::ApiKeysManage,
        ApiScope::MeetingsRead,
        ApiScope::MeetingsManage,
        ApiScope::WebhooksManage,
        ApiScope::AuditRead,
        ApiScope::Chat,
    ];

    /// The scope's name on the wire, e.g. `meetings_read`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Profile => "profile",
            ApiScope::DirectoryRead => "directory_read",
            ApiScope::AccountsManage => "accounts_manage",
            ApiScope::ApiKeysManage => "api_keys_manage",
            ApiScope::MeetingsRead => "meetings_read",
            ApiScope::MeetingsManage => "meetings_manage",
            ApiScope::WebhooksManage => "webhooks_manage",
            ApiScope::AuditRead => "audit_read",
            ApiScope::Chat => "chat",
        }
    }
}

/// `POST /api/v1/admin/api-keys`: a key for an integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CreateApiKeyRequest {
    /// What the key is for (1–64 characters).
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// What the key may do: at least one scope.
    #[schema(min_items = 1)]
    pub scopes: Vec<ApiScope>,
}

/// An API key as listed (the key itself is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct ApiKey {
    /// Key id.
    pub id: String,
    /// What the key is for.
    pub name: String,
    /// Account the key acts for.
    pub account_id: String,
    /// What the key may do.
    pub scopes: Vec<ApiScope>,
    /// Creation time, seconds since the Unix epoch.
    #[ts(type = "number")]
    pub created_at: i64,
    /// Last use, seconds since the Unix epoch.
    #[ts(type = "number | null")]
    pub last_used_at: Option<i64>,
}

/// A freshly created API key: `key` is shown only here. Send it as
/// `Authorization: Bearer <key>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CreatedApiKey {
    /// The listed key.
    pub api_key: ApiKey,
    /// The secret.
    pub key: String,
}

/// What a webhook is told about. Each event is POSTed as
/// `{"type": "<event>", "timestamp": "<RFC 3339>", "data": {...}}`, signed as
/// the Standard Webhooks specification says (`webhook-id`,
/// `webhook-timestamp` and `webhook-signature` headers: `v1,` and the
/// base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` under the webhook's
/// secret, the base64 after `whsec_`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS, ToSchema,
)]
pub enum WebhookEvent {
    /// A meeting's room opened: its first participant came in.
    #[serde(rename = "meeting.started")]
    MeetingStarted,
    /// A meeting's room closed: the host ended it (`reason` "ended") or the
    /// last participant left (`reason` "emptied").
    #[serde(rename = "meeting.ended")]
    MeetingEnded,
    /// Someone entered a meeting (past any waiting room).
    #[serde(rename = "participant.joined")]
    ParticipantJoined,
    /// Someone left a meeting, or was removed.
    #[serde(rename = "participant.left")]
    ParticipantLeft,
    /// A recorded file is complete and may be played or downloaded.
    #[serde(rename = "recording.ready")]
    RecordingReady,
}

impl WebhookEvent {
    /// Every event.
    pub const ALL: [WebhookEvent; 5] = [
        WebhookEvent::MeetingStarted,
        WebhookEvent::MeetingEnded,
        WebhookEvent::ParticipantJoined,
        WebhookEvent::ParticipantLeft,
        WebhookEvent::RecordingReady,
    ];

    /// The event's name on the wire, e.g. `meeting.started`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::MeetingStarted => "meeting.started",
            WebhookEvent::MeetingEnded => "meeting.ended",
            WebhookEvent::ParticipantJoined => "participant.joined",
            WebhookEvent::ParticipantLeft => "participant.left",
            WebhookEvent::RecordingReady => "recording.ready",
        }
    }
}

/// `POST /api/v1/admin/webhooks`: where to tell an integration about the
/// tenant's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CreateWebhookRequest {
    /// The receiver: an `http` or `https` URL.
    #[schema(max_length = 2048)]
    pub url: String,
    /// Which events to send: at least one.
    #[schema(min_items = 1)]
    pub events: Vec<WebhookEvent>,
}

/// A webhook as listed (its secret is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct Webhook {
    /// Webhook id.
    pub id: String,
    /// The receiver.
    pub url: String,
    /// The events it is sent.
    pub events: Vec<WebhookEvent>,
    /// Creation time, seconds since the Unix epoch.
    #[ts(type = "number")]
    pub created_at: i64,
}

/// A freshly created webhook: `secret` (`whsec_` and base64) is shown only
/// here; the receiver checks each request's signature with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CreatedWebhook {
    /// The listed webhook.
    pub webhook: Webhook,
    /// The signing secret.
    pub secret: String,
}

/// Where one event's delivery to a webhook stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not yet accepted; tried again at `next_attempt_at`.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; no more are made.
    Failed,
}

/// One event's delivery to a webhook: `GET /api/v1/admin/webhooks/{id}/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct WebhookDelivery {
    /// The delivery's id: the `webhook-id` header, the same on every
    /// attempt, so a receiver can drop repeats.
    pub id: String,
    /// The event.
    pub event: WebhookEvent,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// When the event happened, seconds since the Unix epoch.
    #[ts(type = "number")]
    pub created_at: i64,
    /// When a pending delivery is tried next, seconds since the Unix epoch.
    #[ts(type = "number | null")]
    pub next_attempt_at: Option<i64>,
}

/// `POST /api/v1/sessions`: sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct LoginRequest {
    /// E-mail address or phone number.
    pub login: String,
    /// The account's password.
    pub password: String,
}

/// A signed-in session: send `token` as `Authorization: Bearer <token>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct Session {
    /// Opaque bearer token.
    pub token: String,
    /// Expiry, seconds since the Unix epoch.
    #[ts(type = "number")]
    pub expires_at: i64,
    /// Exchanged at `POST /api/v1/sessions/refresh` for a new session (this
    /// one ends), before or after `token` expires, until
    /// `refresh_expires_at`. Each refresh token works once; presented again,
    /// it ends every session of its sign-in.
    pub refresh_token: String,
    /// Expiry of `refresh_token`, seconds since the Unix epoch.
    #[ts(type = "number")]
    pub refresh_expires_at: i64,
    /// The signed-in account.
    pub account: Account,
}

/// `POST /api/v1/sessions/refresh`: a new session for a refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct RefreshRequest {
    /// The `refresh_token` of the session to replace.
    pub refresh_token: String,
}

/// `POST /api/v1/meetings`: start an instant meeting (signed in).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct CreateMeetingRequest {
    /// Topic; defaults to "<display name>'s meeting".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub topic: Option<String>,
    /// Optional password (4–16 characters) joiners must give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub password: Option<String>,
    /// Meeting settings; omitted fields take their defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub options: Option<MeetingOptions>,
}

/// Who may join a meeting (the manual's 会议模式).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JoinMode {
    /// Anyone with the number (and password) may join, guests included (访客入会).
    #[default]
    Anyone,
    /// Only the host's invitees, signed in, may join (创建者邀请).
    InviteesOnly,
    /// Invitees may join and invite others during the meeting (参会者邀请).
    InviteesMayInvite,
}

/// A meeting's settings. Set when it is created or scheduled; the host
/// changes the in-meeting ones (lock, waiting room, permissions) during the
/// meeting, and they are kept with the meeting. Omitted fields take the
/// defaults shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(default)]
pub struct MeetingOptions {
    /// Who may join. Default `anyone`.
    pub join_mode: JoinMode,
    /// Tell invitees when the meeting is scheduled or changed. Default off.
    pub notify_invitees: bool,
    /// Joiners wait until the host admits them. Default off.
    pub waiting_room: bool,
    /// Participants may join before the host arrives. Default on.
    pub join_before_host: bool,
    /// Show each viewer's name as a watermark over shared content. Default off.
    pub watermark: bool,
    /// Live-stream the meeting. Default off.
    pub live_streaming: bool,
    /// Record the meeting in the cloud when it starts. Default off.
    pub auto_record: bool,
    /// Joiners' microphones start muted. Default off.
    pub mute_on_entry: bool,
    /// Participants may unmute themselves. Default on.
    pub allow_self_unmute: bool,
    /// Participants may share their screen. Default on.
    pub allow_screen_share: bool,
    /// Participants may chat. Default on.
    pub allow_chat: bool,
    /// Participants may rename themselves. Default on.
    pub allow_rename: bool,
    /// Play a chime when someone joins or leaves. Default off.
    pub entry_exit_chime: bool,
    /// Hide the avatars of participants whose camera is off. Default off.
    pub hide_avatars: bool,
    /// A webinar (the manual's 5.3): everyone but the host joins as an
    /// attendee, and the host makes panelists. Set when the meeting is
    /// scheduled (the tenant's `webinar` feature must be on), not during it.
    /// Default off.
    pub webinar: bool,
    /// Simultaneous interpretation (the manual's 5.1): the host assigns
    /// interpreters, and everyone chooses a language channel. Set when the
    /// meeting is created or scheduled (the tenant's `interpretation`
    /// feature must be on), not during it. Default off.
    #[serde(default)]
    pub interpretation: bool,
}

impl Default for MeetingOptions {
    fn default() -> Self {
        MeetingOptions {
            join_mode: JoinMode::Anyone,
            notify_invitees: false,
            waiting_room: false,
            join_before_host: true,
            watermark: false,
            live_streaming: false,
            auto_record: false,
            mute_on_entry: false,
            allow_self_unmute: true,
            allow_screen_share: true,
            allow_chat: true,
            allow_rename: true,
            entry_exit_chime: false,
            hide_avatars: false,
            webinar: false,
            interpretation: false,
        }
    }
}

/// Lifecycle of a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
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
    /// Settings.
    pub options: MeetingOptions,
    /// Creation time, seconds since the Unix epoch.
    #[ts(type = "number")]
    pub created_at: i64,
}

/// `GET /api/v1/meetings/by-number/{number}`: what a joiner may know before joining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct About {
    /// Product name.
    pub product: String,
    /// Server version.
    pub version: String,
    /// Signaling protocol version the server speaks.
    pub protocol_version: u32,
    /// The deployment's terms of service, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub terms_url: Option<String>,
    /// The deployment's privacy policy, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub privacy_url: Option<String>,
}

/// Where a recorded file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordingFileState {
    /// Being written: it plays up to where it is written.
    Recording,
    /// Finished.
    Ready,
    /// The recorder stopped before finishing it; it plays up to where it
    /// was written, and its duration is an estimate.
    Interrupted,
}

/// One recorded file in "My videos" (each pause or stop of a cloud
/// recording closes one), `GET /api/v1/recordings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct Recording {
    /// Recording id.
    pub id: String,
    /// Title shown in the list (the meeting's topic until renamed).
    pub title: String,
    /// The recorded meeting's id.
    pub meeting_id: String,
    /// The recorded meeting's number.
    pub meeting_number: String,
    /// The account whose videos these are (the meeting's host).
    pub owner_account_id: String,
    /// Being written, finished, or broken off.
    pub state: RecordingFileState,
    /// When recording of this file began, seconds since the Unix epoch.
    #[ts(type = "number")]
    pub started_at: i64,
    /// Length, in milliseconds.
    #[ts(type = "number")]
    pub duration_ms: i64,
    /// File size in bytes.
    #[ts(type = "number")]
    pub size_bytes: i64,
    /// When retention deletes it, seconds since the Unix epoch (`null`: kept).
    #[ts(type = "number | null")]
    pub expires_at: Option<i64>,
    /// The file's media type, e.g. `video/webm`.
    pub content_type: String,
    /// Where to play it (HTTP range requests work): a URL that needs no
    /// other credentials, for a `<video>` element.
    pub media_url: String,
    /// Where to download it (same as `media_url`, as an attachment).
    pub download_url: String,
}

/// `PATCH /api/v1/recordings/{id}`: rename a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
pub struct RenameRecordingRequest {
    /// The new title, 1 to 128 characters.
    pub title: String,
}
