// Generated from services/proto by `UPDATE_PROTO_TS=1 cargo test -p yunhui-proto --test typescript`.
// Do not edit by hand.

export const PROTOCOL_VERSION = 1;
export const CLOSE_JOIN_AGAIN = 1012;
export const REACTIONS = ["👍","👏","❤️","😂","😮","🎉","🙋"];
export const LIMITS = {
  display_name_chars: 64,
  topic_chars: 128,
  meeting_password_min_chars: 4,
  meeting_password_max_chars: 16,
  account_password_min_chars: 8,
  account_password_max_bytes: 1024,
  email_bytes: 254,
  phone_min_digits: 5,
  phone_max_digits: 20,
  department_chars: 128,
  directory_query_chars: 100,
  location_chars: 128,
  location_name_chars: 128,
  location_address_chars: 256,
  location_max_capacity: 10000,
  template_name_chars: 64,
  invitees: 500,
  meeting_devices: 50,
  device_name_chars: 64,
  device_address_bytes: 256,
  invites_per_request: 50,
  ringing_calls: 20,
  dial_target_chars: 256,
  chat_chars: 2000,
  question_chars: 1000,
  breakout_rooms: 50,
  breakout_name_chars: 64,
  language_chars: 16,
  interpreters: 20,
  video_subscriptions: 1000,
  frame_bytes: 65536,
  external_id_chars: 128,
  provisioned_items: 5000,
  provisioning_body_bytes: 4194304,
  group_chat_name_chars: 64,
  group_chat_members: 500,
  group_chat_page: 200,
  retention_days: 3650,
  departments: 20000,
  directory_devices: 1000,
  frequent_contacts: 200,
  webhook_url_bytes: 2048,
  webhooks: 20,
  api_body_bytes: 65536,
  media_restart_interval_ms: 5000,
} as const;

export type ApiError = { 
/**
 * The error itself.
 */
error: ErrorBody, };

export type ErrorBody = { 
/**
 * Stable code, e.g. `wrong_password`, `meeting_not_found`.
 */
code: string, 
/**
 * Human-readable explanation of what went wrong and what to do.
 */
message: string, };

export type RegisterRequest = { 
/**
 * Login e-mail address.
 */
email?: string, 
/**
 * Login phone number (digits, optional leading `+`).
 */
phone?: string, 
/**
 * Password, at least 8 characters.
 */
password: string, 
/**
 * Name shown to other participants.
 */
display_name: string, 
/**
 * The company to join (from `GET /api/v1/tenants/by-domain/{domain}`);
 * the e-mail address must be in one of its domains, and the account
 * waits for a tenant administrator's approval. Omitted: the e-mail
 * domain decides, and without a matching company the account joins the
 * default tenant at once.
 */
tenant_id?: string, };

export type Account = { 
/**
 * Stable account id.
 */
id: string, 
/**
 * Tenant (enterprise) the account belongs to.
 */
tenant_id: string, 
/**
 * Login e-mail address, if any.
 */
email: string | null, 
/**
 * Login phone number, if any.
 */
phone: string | null, 
/**
 * Name shown to other participants.
 */
display_name: string, 
/**
 * Department within the enterprise.
 */
department: string | null, 
/**
 * Member or tenant administrator.
 */
role: AccountRole, 
/**
 * Whether the account may sign in.
 */
status: AccountStatus, };

export type AccountRole = "member" | "tenant_admin";

export type AccountStatus = "active" | "pending" | "rejected" | "disabled";

export type Profile = { 
/**
 * The account.
 */
account: Account, 
/**
 * The tenant's display name.
 */
tenant_name: string, 
/**
 * Link to the management console (tenant administrators only).
 */
console_url?: string, };

export type UpdateProfileRequest = { 
/**
 * New display name (1–64 characters).
 */
display_name?: string, 
/**
 * New department (empty clears it).
 */
department?: string, };

export type TenantLookup = { 
/**
 * Tenant id, to pass as `tenant_id` when registering.
 */
tenant_id: string, 
/**
 * The company's name.
 */
name: string, };

export type DirectoryEntry = { 
/**
 * Account id, as `invitees` and in-meeting invitations take it.
 */
id: string, 
/**
 * Name shown to others.
 */
display_name: string, 
/**
 * Department within the enterprise (may be empty).
 */
department: string, 
/**
 * E-mail address, if the account has one.
 */
email: string | null, };

export type Department = { 
/**
 * Department id.
 */
id: string, 
/**
 * Its name.
 */
name: string, 
/**
 * The department it belongs to; `None` at the top.
 */
parent_id: string | null, 
/**
 * Active accounts directly in it.
 */
members: number, };

export type DirectoryDevice = { 
/**
 * Device id.
 */
id: string, 
/**
 * Name shown for it, e.g. "Boardroom 3F".
 */
name: string, 
/**
 * Its SIP address (`sip:room@host`), which calls it.
 */
address: string, 
/**
 * Where it is, if given.
 */
location: string | null, };

export type DirectoryDeviceRequest = { 
/**
 * Name shown for it, 1 to 64 characters.
 */
name: string, 
/**
 * Its SIP address: `sip:room@host[:port]` (the `sip:` optional), unique
 * in the enterprise.
 */
address: string, 
/**
 * Where it is, at most 128 characters.
 */
location: string | null, };

export type ProvisioningRequest = { 
/**
 * Departments, in any order (a parent may come after its children).
 */
departments: Array<ProvisionedDepartment>, 
/**
 * Users.
 */
users: Array<ProvisionedUser>, };

export type ProvisionedDepartment = { 
/**
 * Its id in the enterprise's directory (1–128 characters).
 */
external_id: string, 
/**
 * Its name (1–128 characters).
 */
name: string, 
/**
 * The external id of the department it belongs to; none at the top.
 */
parent_external_id: string | null, 
/**
 * Hidden from the directory tree (its members stay).
 */
disabled: boolean, };

export type ProvisionedUser = { 
/**
 * Its id in the enterprise's directory (1–128 characters).
 */
external_id: string, 
/**
 * Name shown to others (1–64 characters).
 */
display_name: string, 
/**
 * E-mail address, unique among all accounts.
 */
email: string | null, 
/**
 * Phone number, unique among all accounts.
 */
phone: string | null, 
/**
 * The external id of the user's department.
 */
department_external_id: string | null, 
/**
 * Cannot sign in; sessions and API keys stop.
 */
disabled: boolean, };

export type ProvisioningCounts = { 
/**
 * New.
 */
created: number, 
/**
 * Existing and changed.
 */
updated: number, 
/**
 * Existing and already as asked.
 */
unchanged: number, };

export type ProvisioningResult = { 
/**
 * Departments.
 */
departments: ProvisioningCounts, 
/**
 * Users.
 */
users: ProvisioningCounts, };

export type ApprovalRequest = { 
/**
 * `true` approves, `false` rejects.
 */
approve: boolean, };

export type RoleRequest = { 
/**
 * The new role.
 */
role: AccountRole, };

export type CreateGroupChatRequest = { 
/**
 * Its name, 1 to 64 characters.
 */
name: string, 
/**
 * Account ids of colleagues (the caller is a member anyway), at most 500.
 */
members: Array<string>, };

export type GroupChat = { 
/**
 * Chat id.
 */
id: string, 
/**
 * Its name.
 */
name: string, 
/**
 * The account that made it.
 */
created_by: string, 
/**
 * Everyone in it, the caller included, by name.
 */
members: Array<Invitee>, 
/**
 * Messages of others the caller has not read.
 */
unread: number, 
/**
 * The latest message, if any.
 */
last_message: GroupChatMessage | null, };

export type GroupChatMessage = { 
/**
 * Message id. Ids sort as the messages were sent: pass the last one of
 * a page as `before` for the page after it, and the newest read as
 * `up_to` to mark the chat read.
 */
id: string, 
/**
 * The chat.
 */
chat_id: string, 
/**
 * Who sent it.
 */
sender_account_id: string, 
/**
 * Their name when they sent it.
 */
sender_name: string, 
/**
 * The text (empty for a meeting's start).
 */
text: string, 
/**
 * The meeting started from the chat, when the message announces one.
 */
meeting: ChatMeeting | null, 
/**
 * When, seconds since the Unix epoch.
 */
sent_at: number, };

export type ChatMeeting = { 
/**
 * Meeting number.
 */
number: string, 
/**
 * Its topic (the chat's name).
 */
topic: string, 
/**
 * Join key.
 */
link_key: string, };

export type PostGroupChatMessage = { 
/**
 * 1 to 2000 characters.
 */
text: string, };

export type MarkChatRead = { 
/**
 * A message of the chat.
 */
up_to: string, };

export type CloudRoomStreaming = { 
/**
 * The room's meeting id.
 */
room_id: string, 
/**
 * Its fixed meeting number.
 */
number: string, 
/**
 * Its name.
 */
name: string, 
/**
 * The account that owns it.
 */
owner_account_id: string, 
/**
 * Whether its meetings may be streamed live.
 */
streaming_allowed: boolean, 
/**
 * The colleagues who may use it besides its owner.
 */
members: Array<Invitee>, };

export type StreamingPermission = { 
/**
 * `true` allows the room's meetings to be streamed live.
 */
allowed: boolean, };

export type CloudRoomMembersRequest = { 
/**
 * Account ids of colleagues, at most 500.
 */
members: Array<string>, };

export type DepartmentRequest = { 
/**
 * Its name, 1 to 128 characters.
 */
name: string, 
/**
 * The department it belongs to; none at the top.
 */
parent_id: string | null, };

export type AccountStatusRequest = { 
/**
 * `true` disables the account, `false` enables it.
 */
disabled: boolean, };

export type LicenceTerms = { "kind": "unlimited" } | { "kind": "concurrent_ports", 
/**
 * Participants at once.
 */
ports: number, } | { "kind": "cloud_rooms", 
/**
 * Meetings at once.
 */
rooms: number, 
/**
 * Participants per meeting.
 */
capacity: number, };

export type LicenceUse = { 
/**
 * What the licence allows.
 */
terms: LicenceTerms, 
/**
 * Participants in the tenant's meetings now.
 */
participants: number, 
/**
 * The tenant's meetings running now.
 */
meetings: number, 
/**
 * Most participants in meetings at once so far.
 */
peak_participants: number, 
/**
 * When that was, seconds since the Unix epoch.
 */
peak_participants_at: number | null, 
/**
 * Most meetings running at once so far.
 */
peak_meetings: number, 
/**
 * When that was, seconds since the Unix epoch.
 */
peak_meetings_at: number | null, };

export type MediaPolicy = { 
/**
 * The licence includes cloud recording.
 */
recording_licensed: boolean, 
/**
 * Hosts may record: licensed and switched on by the administrator.
 */
recording: boolean, 
/**
 * The licence includes live streaming.
 */
streaming_licensed: boolean, 
/**
 * Hosts may stream live: licensed and switched on by the administrator.
 */
streaming: boolean, 
/**
 * The longest the licence keeps recordings, days (`null`: no limit).
 */
max_retention_days: number | null, 
/**
 * The administrator's retention, days (`null`: the licence's).
 */
retention_days: number | null, 
/**
 * Days a new recording is kept (`null`: until deleted).
 */
effective_retention_days: number | null, };

export type MediaPolicyRequest = { 
/**
 * Hosts may record.
 */
recording: boolean, 
/**
 * Hosts may stream live.
 */
streaming: boolean, 
/**
 * Days recordings are kept (`null`: the licence's).
 */
retention_days: number | null, };

export type AuditAction = "account.approved" | "account.rejected" | "account.role_changed" | "account.disabled" | "account.enabled" | "department.created" | "department.changed" | "department.deleted" | "directory.provisioned" | "device.created" | "device.deleted" | "api_key.created" | "api_key.revoked" | "webhook.created" | "webhook.deleted" | "cloud_room.members_changed" | "cloud_room.streaming_changed" | "media_policy.changed";

export type AuditEntry = { 
/**
 * Entry id. Ids sort as the entries were written: pass the last one
 * of a page as `before` for the page after it.
 */
id: string, 
/**
 * When, seconds since the Unix epoch.
 */
at: number, 
/**
 * The administrator who acted (or for whom the API key acted).
 */
actor_account_id: string, 
/**
 * Their name at the time.
 */
actor_name: string, 
/**
 * The API key used, if one was.
 */
api_key_id: string | null, 
/**
 * What was done.
 */
action: AuditAction, 
/**
 * The id of what it was done to (an account, a department, ...).
 */
target_id: string, 
/**
 * A short description of it, e.g. the account's name and new role.
 */
detail: string, };

export type ApiScope = "profile" | "directory_read" | "accounts_manage" | "api_keys_manage" | "meetings_read" | "meetings_manage" | "webhooks_manage" | "audit_read" | "chat";

export type CreateApiKeyRequest = { 
/**
 * What the key is for (1–64 characters).
 */
name: string, 
/**
 * What the key may do: at least one scope.
 */
scopes: Array<ApiScope>, };

export type ApiKey = { 
/**
 * Key id.
 */
id: string, 
/**
 * What the key is for.
 */
name: string, 
/**
 * Account the key acts for.
 */
account_id: string, 
/**
 * What the key may do.
 */
scopes: Array<ApiScope>, 
/**
 * Creation time, seconds since the Unix epoch.
 */
created_at: number, 
/**
 * Last use, seconds since the Unix epoch.
 */
last_used_at: number | null, };

export type CreatedApiKey = { 
/**
 * The listed key.
 */
api_key: ApiKey, 
/**
 * The secret.
 */
key: string, };

export type WebhookEvent = "meeting.started" | "meeting.ended" | "participant.joined" | "participant.left" | "recording.ready";

export type CreateWebhookRequest = { 
/**
 * The receiver: an `http` or `https` URL.
 */
url: string, 
/**
 * Which events to send: at least one.
 */
events: Array<WebhookEvent>, };

export type Webhook = { 
/**
 * Webhook id.
 */
id: string, 
/**
 * The receiver.
 */
url: string, 
/**
 * The events it is sent.
 */
events: Array<WebhookEvent>, 
/**
 * Creation time, seconds since the Unix epoch.
 */
created_at: number, };

export type CreatedWebhook = { 
/**
 * The listed webhook.
 */
webhook: Webhook, 
/**
 * The signing secret.
 */
secret: string, };

export type DeliveryState = "pending" | "delivered" | "failed";

export type WebhookDelivery = { 
/**
 * The delivery's id: the `webhook-id` header, the same on every
 * attempt, so a receiver can drop repeats.
 */
id: string, 
/**
 * The event.
 */
event: WebhookEvent, 
/**
 * Where it stands.
 */
state: DeliveryState, 
/**
 * Attempts made so far.
 */
attempts: number, 
/**
 * The receiver's last HTTP status, if it answered.
 */
last_status: number | null, 
/**
 * Why the last attempt failed, if it did.
 */
last_error: string | null, 
/**
 * When the event happened, seconds since the Unix epoch.
 */
created_at: number, 
/**
 * When a pending delivery is tried next, seconds since the Unix epoch.
 */
next_attempt_at: number | null, };

export type LoginRequest = { 
/**
 * E-mail address or phone number.
 */
login: string, 
/**
 * The account's password.
 */
password: string, };

export type Session = { 
/**
 * Opaque bearer token.
 */
token: string, 
/**
 * Expiry, seconds since the Unix epoch.
 */
expires_at: number, 
/**
 * Exchanged at `POST /api/v1/sessions/refresh` for a new session (this
 * one ends), before or after `token` expires, until
 * `refresh_expires_at`. Each refresh token works once; presented again,
 * it ends every session of its sign-in.
 */
refresh_token: string, 
/**
 * Expiry of `refresh_token`, seconds since the Unix epoch.
 */
refresh_expires_at: number, 
/**
 * The signed-in account.
 */
account: Account, };

export type RefreshRequest = { 
/**
 * The `refresh_token` of the session to replace.
 */
refresh_token: string, };

export type CreateMeetingRequest = { 
/**
 * Topic; defaults to "<display name>'s meeting".
 */
topic?: string, 
/**
 * Optional password (4–16 characters) joiners must give.
 */
password?: string, 
/**
 * Meeting settings; omitted fields take their defaults.
 */
options?: MeetingOptions, };

export type JoinMode = "anyone" | "invitees_only" | "invitees_may_invite";

export type MeetingOptions = { 
/**
 * Who may join. Default `anyone`.
 */
join_mode: JoinMode, 
/**
 * Tell invitees when the meeting is scheduled or changed. Default off.
 */
notify_invitees: boolean, 
/**
 * Joiners wait until the host admits them. Default off.
 */
waiting_room: boolean, 
/**
 * Participants may join before the host arrives. Default on.
 */
join_before_host: boolean, 
/**
 * Show each viewer's name as a watermark over shared content. Default off.
 */
watermark: boolean, 
/**
 * Live-stream the meeting. Default off.
 */
live_streaming: boolean, 
/**
 * Record the meeting in the cloud when it starts. Default off.
 */
auto_record: boolean, 
/**
 * Joiners' microphones start muted. Default off.
 */
mute_on_entry: boolean, 
/**
 * Participants may unmute themselves. Default on.
 */
allow_self_unmute: boolean, 
/**
 * Participants may share their screen. Default on.
 */
allow_screen_share: boolean, 
/**
 * Participants may chat. Default on.
 */
allow_chat: boolean, 
/**
 * Participants may rename themselves. Default on.
 */
allow_rename: boolean, 
/**
 * Play a chime when someone joins or leaves. Default off.
 */
entry_exit_chime: boolean, 
/**
 * Hide the avatars of participants whose camera is off. Default off.
 */
hide_avatars: boolean, 
/**
 * A webinar (the manual's 5.3): everyone but the host joins as an
 * attendee, and the host makes panelists. Set when the meeting is
 * scheduled (the tenant's `webinar` feature must be on), not during it.
 * Default off.
 */
webinar: boolean, 
/**
 * Simultaneous interpretation (the manual's 5.1): the host assigns
 * interpreters, and everyone chooses a language channel. Set when the
 * meeting is created or scheduled (the tenant's `interpretation`
 * feature must be on), not during it. Default off.
 */
interpretation: boolean, };

export type MeetingStatus = "waiting" | "live" | "ended";

export type Meeting = { 
/**
 * Stable meeting id.
 */
id: string, 
/**
 * The 9–11 digit number people dial or type.
 */
number: string, 
/**
 * Topic.
 */
topic: string, 
/**
 * Whether joiners must give a password.
 */
has_password: boolean, 
/**
 * The password itself (only shown to the host).
 */
password?: string, 
/**
 * Account id of the host.
 */
host_account_id: string, 
/**
 * Lifecycle state.
 */
status: MeetingStatus, 
/**
 * Link that joins without typing the number or password.
 */
join_url: string, 
/**
 * Settings.
 */
options: MeetingOptions, 
/**
 * Creation time, seconds since the Unix epoch.
 */
created_at: number, };

export type MeetingPreview = { 
/**
 * The meeting number.
 */
number: string, 
/**
 * Topic.
 */
topic: string, 
/**
 * Whether a password is needed (a valid link key replaces it).
 */
has_password: boolean, 
/**
 * Lifecycle state.
 */
status: MeetingStatus, };

export type About = { 
/**
 * Product name.
 */
product: string, 
/**
 * Server version.
 */
version: string, 
/**
 * Signaling protocol version the server speaks.
 */
protocol_version: number, 
/**
 * The deployment's terms of service, when configured.
 */
terms_url?: string, 
/**
 * The deployment's privacy policy, when configured.
 */
privacy_url?: string, };

export type Discovery = { 
/**
 * Format version ([`VERSION`]).
 */
version: number, 
/**
 * Base URL of the Open API, e.g. `https://meet.example.com/api/v1`.
 */
api: string, 
/**
 * URL of the signaling WebSocket.
 */
signaling: string, 
/**
 * How media reaches the SFU nodes.
 */
media?: DiscoveryMedia, 
/**
 * TURN servers for closed networks (`turn:` / `turns:` URLs).
 */
turn?: Array<string>, 
/**
 * Where SIP and H.323 devices call, when the deployment runs the SIP gateway.
 */
sip?: DiscoverySip, 
/**
 * Name of the organisation, shown on the login screen.
 */
organisation?: string, 
/**
 * How people sign in.
 */
login?: Array<LoginMethod>, };

export type DiscoveryMedia = { 
/**
 * UDP port of every SFU node.
 */
udpPort: number, 
/**
 * TCP port of every SFU node, when it listens on one.
 */
tcpPort?: number, 
/**
 * Whether the nodes use the host's network (media straight to the node's address).
 */
hostNetwork?: boolean, };

export type DiscoverySip = { 
/**
 * `sip:host:port`; devices call `sip:<meeting number>@host:port`.
 */
uri: string, };

export type LoginMethod = "password";

export type RecordingFileState = "recording" | "ready" | "interrupted";

export type Recording = { 
/**
 * Recording id.
 */
id: string, 
/**
 * Title shown in the list (the meeting's topic until renamed).
 */
title: string, 
/**
 * The recorded meeting's id.
 */
meeting_id: string, 
/**
 * The recorded meeting's number.
 */
meeting_number: string, 
/**
 * The account whose videos these are (the meeting's host).
 */
owner_account_id: string, 
/**
 * Being written, finished, or broken off.
 */
state: RecordingFileState, 
/**
 * When recording of this file began, seconds since the Unix epoch.
 */
started_at: number, 
/**
 * Length, in milliseconds.
 */
duration_ms: number, 
/**
 * File size in bytes.
 */
size_bytes: number, 
/**
 * When retention deletes it, seconds since the Unix epoch (`null`: kept).
 */
expires_at: number | null, 
/**
 * The file's media type, e.g. `video/webm`.
 */
content_type: string, 
/**
 * Where to play it (HTTP range requests work): a URL that needs no
 * other credentials, for a `<video>` element.
 */
media_url: string, 
/**
 * Where to download it (same as `media_url`, as an attachment).
 */
download_url: string, };

export type RenameRecordingRequest = { 
/**
 * The new title, 1 to 128 characters.
 */
title: string, };

export type ScheduleRequest = { 
/**
 * Topic, at most 128 characters; defaults to "<display name>'s meeting".
 */
topic?: string, 
/**
 * Local start, `YYYY-MM-DDTHH:MM` in `time_zone`, on a full or half hour.
 */
start: string, 
/**
 * Length in minutes, 15 to 1440.
 */
duration_minutes: number, 
/**
 * IANA time zone, e.g. `Asia/Shanghai`.
 */
time_zone: string, 
/**
 * Optional password (4–16 characters) joiners must give.
 */
password?: string, 
/**
 * Account ids of invitees, all in the caller's tenant (at most 500).
 */
invitees: Array<string>, 
/**
 * Meeting devices (room systems) invited by address (at most 50).
 */
devices: Array<MeetingDevice>, 
/**
 * Physical meeting room, at most 128 characters.
 */
location?: string, 
/**
 * Makes the meeting a series.
 */
recurrence?: Recurrence, 
/**
 * Meeting settings; omitted fields take their defaults.
 */
options?: MeetingOptions, };

export type MeetingDevice = { 
/**
 * Name shown for it, 1 to 64 characters.
 */
name: string, 
/**
 * Its SIP or H.323 address, e.g. `sip:room-3@example.com`, at most 256 characters.
 */
address: string, };

export type Frequency = "daily" | "weekly" | "monthly";

export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";

export type Recurrence = { 
/**
 * Daily, weekly or monthly.
 */
frequency: Frequency, 
/**
 * Every how many days, weeks or months (1 to 99). Default 1.
 */
interval: number, 
/**
 * Weekly only: the days it happens on; default the start's weekday.
 */
weekdays: Array<Weekday>, 
/**
 * Monthly only: the day of the month (1–31); default the start's day.
 */
day_of_month?: number, 
/**
 * Last day (local date `YYYY-MM-DD`, inclusive) an occurrence may start
 * on; at most two years after the start.
 */
until: string, };

export type OccurrenceException = { 
/**
 * Local date (`YYYY-MM-DD`) of the occurrence as the series places it.
 */
date: string, 
/**
 * The occurrence is cancelled.
 */
cancelled: boolean, 
/**
 * Moved start (local `YYYY-MM-DDTHH:MM`), if changed.
 */
start?: string, 
/**
 * Changed length in minutes, if changed.
 */
duration_minutes?: number, 
/**
 * Changed topic, if changed.
 */
topic?: string, };

export type OccurrenceUpdate = { 
/**
 * New local start `YYYY-MM-DDTHH:MM`, on a full or half hour.
 */
start?: string, 
/**
 * New length in minutes, 15 to 1440.
 */
duration_minutes?: number, 
/**
 * New topic for this occurrence only, at most 128 characters (empty:
 * the series' topic).
 */
topic?: string, };

export type Invitee = { 
/**
 * Account id.
 */
account_id: string, 
/**
 * Display name.
 */
display_name: string, };

export type ScheduledMeeting = { 
/**
 * The meeting row: id, number, topic, password, join link, settings.
 */
meeting: Meeting, 
/**
 * Display name of the host.
 */
host_display_name: string, 
/**
 * Local start of the meeting (the first of a series).
 */
start: string, 
/**
 * The same start as an instant.
 */
starts_at: number, 
/**
 * Length in minutes.
 */
duration_minutes: number, 
/**
 * IANA time zone.
 */
time_zone: string, 
/**
 * Invited accounts.
 */
invitees: Array<Invitee>, 
/**
 * Invited meeting devices.
 */
devices: Array<MeetingDevice>, 
/**
 * Physical meeting room.
 */
location?: string, 
/**
 * The repetition, for a series.
 */
recurrence?: Recurrence, 
/**
 * Changed or cancelled occurrences of a series.
 */
exceptions: Array<OccurrenceException>, };

export type Occurrence = { 
/**
 * Meeting id (the series' id for a series).
 */
meeting_id: string, 
/**
 * Meeting number, shared by every occurrence of a series.
 */
number: string, 
/**
 * Topic of this occurrence.
 */
topic: string, 
/**
 * Local date the series places this occurrence on: the key for editing
 * or cancelling it.
 */
date: string, 
/**
 * Local start of this occurrence.
 */
start: string, 
/**
 * Start as an instant.
 */
starts_at: number, 
/**
 * End as an instant.
 */
ends_at: number, 
/**
 * Length in minutes.
 */
duration_minutes: number, 
/**
 * IANA time zone.
 */
time_zone: string, 
/**
 * Whether the meeting is a series.
 */
recurring: boolean, 
/**
 * Whether this occurrence differs from the series.
 */
modified: boolean, 
/**
 * Host account id.
 */
host_account_id: string, 
/**
 * Whether the caller hosts it (else the caller is invited).
 */
is_host: boolean, };

export type HistoryEntry = { 
/**
 * Meeting id.
 */
meeting_id: string, 
/**
 * Meeting number.
 */
number: string, 
/**
 * Topic when it was held.
 */
topic: string, 
/**
 * Host account id.
 */
host_account_id: string, 
/**
 * When the first participant joined, if anyone did.
 */
started_at?: number, 
/**
 * When it ended.
 */
ended_at: number, };

export type LocationRequest = { 
/**
 * Name, 1 to 128 characters, unique in the tenant.
 */
name: string, 
/**
 * Where it is (building, floor), at most 256 characters.
 */
address?: string, 
/**
 * Seats, 1 to 10000.
 */
capacity?: number, };

export type Location = { 
/**
 * Stable id.
 */
id: string, 
/**
 * Name.
 */
name: string, 
/**
 * Where it is.
 */
address?: string, 
/**
 * Seats.
 */
capacity?: number, 
/**
 * Account that added it (only it may remove it).
 */
created_by: string, };

export type TemplateRequest = { 
/**
 * Template name, 1 to 64 characters.
 */
name: string, 
/**
 * Topic of meetings started from it (default "<name>'s meeting").
 */
topic?: string, 
/**
 * Usual length in minutes, 15 to 1440.
 */
duration_minutes: number, 
/**
 * Password of meetings started from it (4–16 characters).
 */
password?: string, 
/**
 * Physical meeting room.
 */
location?: string, 
/**
 * Meeting settings.
 */
options?: MeetingOptions, };

export type MeetingTemplate = { 
/**
 * Stable id.
 */
id: string, 
/**
 * Template name.
 */
name: string, 
/**
 * Topic of meetings started from it, if set.
 */
topic?: string, 
/**
 * Usual length in minutes.
 */
duration_minutes: number, 
/**
 * Password of meetings started from it.
 */
password?: string, 
/**
 * Physical meeting room.
 */
location?: string, 
/**
 * Meeting settings.
 */
options: MeetingOptions, };

export type CloudRoomRequest = { 
/**
 * Room name (its meetings' topic), at most 128 characters; default
 * "<name>'s meeting".
 */
name?: string, 
/**
 * Password (4–16 characters).
 */
password?: string, 
/**
 * Member account ids, all in the owner's tenant (at most 500).
 */
members: Array<string>, 
/**
 * Room settings, the join mode (会议室模式) among them.
 */
options?: MeetingOptions, };

export type CloudRoom = { 
/**
 * The room's meeting: id, fixed number, password, join link, settings.
 */
meeting: Meeting, 
/**
 * Members.
 */
members: Array<Invitee>, };

export type ClientMessage = { "type": "join", 
/**
 * The 9–11 digit meeting number (spaces and dashes are ignored).
 */
meeting_number: string, 
/**
 * Name shown to others.
 */
display_name: string, 
/**
 * Meeting password, when the meeting has one.
 */
password?: string, 
/**
 * The key from a join link; replaces the password.
 */
link_key?: string, 
/**
 * Bearer token of a signed-in account (guests omit it).
 */
token?: string, 
/**
 * A random id the client keeps for this device (e.g. in the
 * browser's local storage), 16 to 64 letters, digits, `-` or `_`.
 * When the host removes someone, their device may not rejoin the
 * meeting either, so a removed guest cannot simply come back.
 */
device_id?: string, 
/**
 * The one-time ticket of a call placed from the meeting
 * ([`ClientMessage::Dial`]): the SIP gateway joins the answered call
 * with it, past the password, the waiting room and the lock, since
 * someone in the meeting called them in.
 */
dial_ticket?: string, 
/**
 * The one-time ticket of a recording started in the meeting
 * ([`HostCommand::StartRecording`]): the recorder joins with it,
 * past the password, the waiting room and the lock, and is left out
 * of the participant list (everyone sees the recording state in
 * [`ServerMessage::MeetingState`] instead).
 */
recorder_ticket?: string, } | { "type": "leave" } | { "type": "end_meeting" } | { "type": "set_audio_muted", 
/**
 * `true` to mute.
 */
muted: boolean, } | { "type": "set_video_enabled", 
/**
 * `true` to send video.
 */
enabled: boolean, } | { "type": "publish_offer", 
/**
 * The SDP.
 */
sdp: string, } | { "type": "subscriber_answer", 
/**
 * The SDP.
 */
sdp: string, } | { "type": "restart_media" } | { "type": "chat", 
/**
 * Recipient's participant id; omitted for everyone.
 */
to?: string, 
/**
 * Webinar: to the host and panelists only (`to` omitted).
 */
to_panel: boolean, 
/**
 * The text, 1 to [`limits::CHAT_CHARS`](crate::limits::CHAT_CHARS) characters.
 */
text: string, } | { "type": "raise_hand", 
/**
 * `true` to raise.
 */
raised: boolean, } | { "type": "react", 
/**
 * The reaction, e.g. `"👍"`.
 */
emoji: string, } | { "type": "set_screen_share", 
/**
 * `true` when sharing.
 */
sharing: boolean, } | { "type": "rename", 
/**
 * The new name, 1 to 64 characters.
 */
display_name: string, } | { "type": "invite", 
/**
 * Account ids.
 */
account_ids: Array<string>, } | { "type": "dial", 
/**
 * Whom to call.
 */
target: DialTarget, } | { "type": "listen", 
/**
 * Bearer token of the account.
 */
token: string, } | { "type": "answer_call", 
/**
 * The call.
 */
call_id: string, 
/**
 * `true` to accept.
 */
accept: boolean, } | { "type": "set_video_subscriptions", 
/**
 * The quality of everyone not listed.
 */
default: VideoQuality, 
/**
 * Participants at another quality than `default`.
 */
participants: Array<VideoSubscription>, } | { "type": "host", 
/**
 * What to do.
 */
command: HostCommand, } | { "type": "ask", 
/**
 * The question.
 */
text: string, } | { "type": "answer_question", 
/**
 * The question.
 */
question_id: string, 
/**
 * The answer.
 */
text: string, 
/**
 * Only the asker reads it.
 */
private: boolean, } | { "type": "dismiss_question", 
/**
 * The question.
 */
question_id: string, } | { "type": "choose_language", 
/**
 * The channel's language, e.g. `en`; `null` for none.
 */
language: string | null, } | { "type": "join_breakout", 
/**
 * The breakout room, or `null` for the main room.
 */
room_id: string | null, } | { "type": "ask_for_help" };

export type ServerMessage = { "type": "hello", 
/**
 * [`PROTOCOL_VERSION`] of the server.
 */
protocol_version: number, } | { "type": "joined", 
/**
 * This participant's id in the meeting.
 */
participant_id: string, 
/**
 * Meeting id.
 */
meeting_id: string, 
/**
 * Meeting number.
 */
meeting_number: string, 
/**
 * Meeting topic.
 */
topic: string, 
/**
 * Everyone in the meeting, this participant included.
 */
participants: Array<Participant>, 
/**
 * ICE servers for this participant's peer connections: the TURN
 * server with short-lived credentials, when the deployment runs one
 * (`crate::turn`). Empty otherwise.
 */
ice_servers: Array<IceServer>, } | { "type": "participant_joined", 
/**
 * The newcomer.
 */
participant: Participant, } | { "type": "participants_joined", 
/**
 * The newcomers, in joining order.
 */
participants: Array<Participant>, } | { "type": "participant_updated", 
/**
 * The new state.
 */
participant: Participant, } | { "type": "participant_left", 
/**
 * Their participant id.
 */
participant_id: string, } | { "type": "active_speaker", 
/**
 * Participant id of the active speaker.
 */
participant_id: string | null, } | { "type": "publish_quality", 
/**
 * The highest quality wanted.
 */
max: VideoQuality, } | { "type": "media_restart" } | { "type": "publish_answer", 
/**
 * The SDP.
 */
sdp: string, } | { "type": "subscriber_offer", 
/**
 * The SDP.
 */
sdp: string, } | { "type": "meeting_ended", 
/**
 * Why, e.g. `ended_by_host`.
 */
reason: string, } | { "type": "left" } | { "type": "waiting", 
/**
 * Waiting id: becomes the participant id once admitted.
 */
participant_id: string, 
/**
 * Meeting number.
 */
meeting_number: string, 
/**
 * Meeting topic.
 */
topic: string, 
/**
 * Why: `waiting_room` or `waiting_for_host`.
 */
reason: string, } | { "type": "waiting_room", 
/**
 * Everyone waiting for the host to admit them, earliest first.
 */
waiting: Array<WaitingParticipant>, } | { "type": "meeting_state", 
/**
 * New joins are refused.
 */
locked: boolean, 
/**
 * Participant whose video everyone sees in focus.
 */
spotlight: string | null, 
/**
 * The meeting's settings.
 */
options: MeetingOptions, 
/**
 * Whether the meeting is being recorded.
 */
recording: RecordingState, 
/**
 * Whether the meeting is streamed live, and where to watch.
 */
streaming: LiveStream, 
/**
 * Interpretation: the language channels interpreters speak into
 * now, sorted (see [`ClientMessage::ChooseLanguage`]).
 */
languages: Array<string>, } | { "type": "chat", 
/**
 * The message.
 */
message: ChatMessage, } | { "type": "reaction", 
/**
 * Who.
 */
participant_id: string, 
/**
 * The reaction.
 */
emoji: string, } | { "type": "question", 
/**
 * The question.
 */
question: Question, } | { "type": "breakouts", 
/**
 * The rooms, or `null`.
 */
breakouts: Breakouts | null, } | { "type": "breakout_broadcast", 
/**
 * The host's name.
 */
from_name: string, 
/**
 * The message.
 */
text: string, } | { "type": "help_requested", 
/**
 * Who asks.
 */
participant_id: string, 
/**
 * Their name.
 */
display_name: string, 
/**
 * The breakout room they are in (`null`: the main room).
 */
room_id: string | null, } | { "type": "unmute_requested" } | { "type": "start_video_requested" } | { "type": "removed" } | { "type": "listening", 
/**
 * The account.
 */
account_id: string, } | { "type": "incoming_call", 
/**
 * Answer with this id.
 */
call_id: string, 
/**
 * Meeting number.
 */
meeting_number: string, 
/**
 * Meeting topic.
 */
topic: string, 
/**
 * Who invites.
 */
inviter: string, 
/**
 * Join key: with it the invitee needs no password.
 */
link_key: string, } | { "type": "group_chat_message", 
/**
 * The message.
 */
message: GroupChatMessage, } | { "type": "call_ended", 
/**
 * The call.
 */
call_id: string, } | { "type": "dial_status", 
/**
 * The call, the same in every status of it.
 */
call_id: string, 
/**
 * Whom it calls, as shown (the SIP address or the number).
 */
target: string, 
/**
 * Where it stands.
 */
state: DialState, 
/**
 * Why it failed or ended, in words.
 */
reason?: string, 
/**
 * The device's participant id, once answered.
 */
participant_id?: string, } | { "type": "invite_status", 
/**
 * The invited account.
 */
account_id: string, 
/**
 * Their name.
 */
display_name: string, 
/**
 * `ringing`, `offline` (nowhere to ring), `accepted` or `declined`.
 */
state: string, } | { "type": "error", 
/**
 * Machine-readable reason.
 */
code: ErrorCode, 
/**
 * A sentence saying what was wrong.
 */
message: string, };

export type IceServer = { 
/**
 * `turn:host:port?transport=udp`, `turn:host:port?transport=tcp`,
 * `turns:host:port?transport=tcp`.
 */
urls: Array<string>, 
/**
 * The REST-API username, `<expiry>:<participant id>`.
 */
username: string, 
/**
 * The password derived from the username and the shared secret.
 */
credential: string, };

export type ErrorCode = "malformed_message" | "unknown_message_type" | "message_too_large" | "meeting_not_found" | "password_required" | "wrong_password" | "token_expired" | "invalid_token" | "not_joined" | "already_joined" | "not_host" | "meeting_ended" | "media_error" | "meeting_locked" | "entry_denied" | "not_allowed" | "participant_not_found" | "not_invited" | "licence_exceeded" | "too_many_attempts" | "call_not_found" | "unavailable" | "invalid_input" | "internal";

export type Role = "host" | "participant" | "panelist" | "attendee";

export type Participant = { 
/**
 * Participant id (unique within the meeting).
 */
id: string, 
/**
 * Name shown to others.
 */
display_name: string, 
/**
 * Host or participant.
 */
role: Role, 
/**
 * Microphone muted.
 */
audio_muted: boolean, 
/**
 * Camera on.
 */
video_enabled: boolean, 
/**
 * Muted by the host and not allowed to unmute themselves.
 */
audio_locked: boolean, 
/**
 * Hand raised.
 */
hand_raised: boolean, 
/**
 * Sharing their screen.
 */
sharing_screen: boolean, 
/**
 * Signed in (guests are not).
 */
signed_in: boolean, 
/**
 * A webinar attendee the host allowed to talk: their audio (not their
 * video) reaches everyone, and everyone sees them in the list.
 */
talk_allowed: boolean, 
/**
 * The breakout room they are in; `null` in the main room. Everyone
 * hears and sees only those in the same room.
 */
breakout: string | null, 
/**
 * An interpreter's languages: their audio reaches only those who
 * chose the channel of `to`.
 */
interpreter: LanguagePair | null, };

export type HostCommand = { "action": "mute", 
/**
 * Who.
 */
participant_id: string, } | { "action": "unmute", 
/**
 * Who.
 */
participant_id: string, } | { "action": "stop_video", 
/**
 * Who.
 */
participant_id: string, } | { "action": "ask_to_start_video", 
/**
 * Who.
 */
participant_id: string, } | { "action": "spotlight", 
/**
 * Who, or nobody.
 */
participant_id: string | null, } | { "action": "make_host", 
/**
 * Who.
 */
participant_id: string, } | { "action": "rename", 
/**
 * Who.
 */
participant_id: string, 
/**
 * The new name, 1 to 64 characters.
 */
display_name: string, } | { "action": "remove", 
/**
 * Who.
 */
participant_id: string, } | { "action": "lower_hand", 
/**
 * Who.
 */
participant_id: string, } | { "action": "lower_all_hands" } | { "action": "allow_talk", 
/**
 * The attendee.
 */
participant_id: string, 
/**
 * `true` to allow, `false` to revoke.
 */
allowed: boolean, } | { "action": "set_role", 
/**
 * Who.
 */
participant_id: string, 
/**
 * `panelist` or `attendee`.
 */
role: Role, } | { "action": "mute_all", 
/**
 * Whether participants may unmute themselves afterwards.
 */
allow_self_unmute: boolean, } | { "action": "unmute_all" } | { "action": "set_locked", 
/**
 * `true` to lock.
 */
locked: boolean, } | { "action": "set_options", 
/**
 * The new settings.
 */
options: MeetingOptions, } | { "action": "admit", 
/**
 * Their waiting id (from [`ServerMessage::WaitingRoom`]).
 */
participant_id: string, } | { "action": "admit_all" } | { "action": "deny", 
/**
 * Their waiting id.
 */
participant_id: string, } | { "action": "start_recording" } | { "action": "pause_recording" } | { "action": "resume_recording" } | { "action": "stop_recording" } | { "action": "start_streaming", 
/**
 * The service's push address, `rtmp://` or `rtmps://`, e.g.
 * `rtmp://live.example.com/app`.
 */
push_url: string, 
/**
 * The stream key the service gave; appended to the push address.
 */
stream_key: string, 
/**
 * Where viewers watch (shown to everyone in the meeting and
 * copyable), `http://` or `https://`.
 */
watch_url?: string, } | { "action": "stop_streaming" } | { "action": "set_interpreter", 
/**
 * Who.
 */
participant_id: string, 
/**
 * The languages, or `null` to stop interpreting.
 */
languages: LanguagePair | null, } | { "action": "create_breakouts", 
/**
 * How many.
 */
count: number, 
/**
 * How participants are spread.
 */
assignment: BreakoutAssignment, 
/**
 * The options.
 */
options: BreakoutOptions, } | { "action": "set_breakout_options", 
/**
 * The new options.
 */
options: BreakoutOptions, } | { "action": "add_breakout", 
/**
 * Its name, 1 to 64 characters.
 */
name: string, } | { "action": "rename_breakout", 
/**
 * The room.
 */
room_id: string, 
/**
 * The new name, 1 to 64 characters.
 */
name: string, } | { "action": "delete_breakout", 
/**
 * The room.
 */
room_id: string, } | { "action": "assign_breakout", 
/**
 * Who.
 */
participant_id: string, 
/**
 * The room, or `null`.
 */
room_id: string | null, } | { "action": "open_breakouts" } | { "action": "close_breakouts" } | { "action": "broadcast_to_breakouts", 
/**
 * The text, 1 to [`limits::CHAT_CHARS`](crate::limits::CHAT_CHARS) characters.
 */
text: string, };

export type RecordingState = "off" | "starting" | "recording" | "paused";

export type StreamingState = "off" | "starting" | "live" | "reconnecting";

export type LiveStream = { 
/**
 * Where the stream stands.
 */
state: StreamingState, 
/**
 * Where viewers watch, when the host gave it.
 */
watch_url?: string, };

export type VideoQuality = "off" | "low" | "medium" | "high";

export type DialTarget = { "kind": "sip", 
/**
 * The device's SIP address, at most [`limits::DIAL_TARGET_CHARS`](crate::limits::DIAL_TARGET_CHARS) characters.
 */
uri: string, } | { "kind": "phone", 
/**
 * The number.
 */
number: string, };

export type DialState = "calling" | "ringing" | "answered" | "failed" | "ended";

export type VideoSubscription = { 
/**
 * Whose video.
 */
participant_id: string, 
/**
 * How much of it.
 */
quality: VideoQuality, };

export type WaitingParticipant = { 
/**
 * Waiting id (the participant id once admitted).
 */
id: string, 
/**
 * Name they gave.
 */
display_name: string, 
/**
 * Signed in (guests are not).
 */
signed_in: boolean, };

export type ChatMessage = { 
/**
 * Message id.
 */
id: string, 
/**
 * Sender's participant id.
 */
from: string, 
/**
 * Sender's display name when sent.
 */
from_name: string, 
/**
 * Recipient's participant id; `null` for everyone (or the panel).
 */
to: string | null, 
/**
 * To a webinar's panel (the host and panelists) only.
 */
to_panel: boolean, 
/**
 * Written to everyone in a breakout room: only those in it read it
 * (and it is in nobody's history once the rooms close).
 */
breakout?: string, 
/**
 * The text.
 */
text: string, 
/**
 * Time sent, milliseconds since the Unix epoch.
 */
sent_at_ms: number, };

export type Question = { 
/**
 * Question id.
 */
id: string, 
/**
 * The asker's participant id.
 */
asker: string, 
/**
 * The asker's display name when asked.
 */
asker_name: string, 
/**
 * The question.
 */
text: string, 
/**
 * The answers this viewer may read (private ones only for the asker
 * and the panel).
 */
answers: Array<Answer>, 
/**
 * Whether everyone sees the question (it has a public answer).
 */
public: boolean, 
/**
 * Dismissed by the panel: it is closed.
 */
dismissed: boolean, 
/**
 * Time asked, milliseconds since the Unix epoch.
 */
asked_at_ms: number, };

export type Answer = { 
/**
 * Who answered (a host or panelist), by name.
 */
by_name: string, 
/**
 * The answer.
 */
text: string, 
/**
 * Only the asker (and the panel) reads it.
 */
private: boolean, };

export type LanguagePair = { 
/**
 * The language interpreted from, e.g. `zh`.
 */
from: string, 
/**
 * The language interpreted into: the channel their audio goes to, e.g. `en`.
 */
to: string, };

export type BreakoutAssignment = "random" | "manual" | "self_select";

export type BreakoutOptions = { 
/**
 * Participants may choose their breakout room.
 */
allow_choose: boolean, 
/**
 * Participants may return to the main room at any time.
 */
allow_return: boolean, 
/**
 * Opening moves everyone assigned into their room; otherwise each
 * joins theirs with [`ClientMessage::JoinBreakout`].
 */
auto_move: boolean, 
/**
 * The rooms close by themselves this long after opening (the client
 * asks in minutes); `null`: when the host closes them.
 */
close_after_seconds?: number, 
/**
 * Closing counts down this long, shown to everyone, before everyone is
 * back in the main room; 0 closes at once. Default 60.
 */
countdown_seconds: number, };

export type BreakoutRoom = { 
/**
 * Room id.
 */
id: string, 
/**
 * Name shown, 1 to 64 characters.
 */
name: string, 
/**
 * Participant ids assigned to it (where each is now is their
 * [`Participant`]'s `breakout`).
 */
assigned: Array<string>, };

export type Breakouts = { 
/**
 * The rooms, in creation order.
 */
rooms: Array<BreakoutRoom>, 
/**
 * How participants were spread when the rooms were created.
 */
assignment: BreakoutAssignment, 
/**
 * The options.
 */
options: BreakoutOptions, 
/**
 * The rooms are open: participants are (or may go) in them.
 */
open: boolean, 
/**
 * When open: time opened, milliseconds since the Unix epoch.
 */
opened_at_ms?: number, 
/**
 * Closing: when everyone will be back in the main room, milliseconds
 * since the Unix epoch (the countdown runs until then).
 */
closing_at_ms?: number, };
