//! The Open API over HTTP.

use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use yunhui_proto::api::{
    About, Account, AccountRole, AccountStatus, AccountStatusRequest, ApiError, ApiKey, ApiScope,
    ApprovalRequest, AuditEntry, CloudRoomMembersRequest, CloudRoomStreaming, CreateApiKeyRequest,
    CreateMeetingRequest, CreateWebhookRequest, CreatedApiKey, CreatedWebhook, Department,
    DepartmentRequest, DirectoryDevice, DirectoryDeviceRequest, DirectoryEntry, LicenceUse,
    LoginRequest, MediaPolicy, MediaPolicyRequest, Meeting, MeetingPreview, ProvisioningRequest,
    ProvisioningResult, Recording, RefreshRequest, RegisterRequest, RenameRecordingRequest,
    RoleRequest, Session, Webhook, WebhookDelivery, WebhookEvent,
};
use yunhui_proto::discovery::Discovery;
use yunhui_proto::group_chat::{
    CreateGroupChatRequest, GroupChat, GroupChatMessage, MarkChatRead, PostGroupChatMessage,
};
use yunhui_proto::schedule::{
    CloudRoom, CloudRoomRequest, HistoryEntry, Location, LocationRequest, MeetingTemplate,
    Occurrence, OccurrenceUpdate, ScheduleRequest, ScheduledMeeting, TemplateRequest,
};

/// An Open API call that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ApiCallError {
    /// The server answered with an error body.
    #[error("{status}: {code}: {message}")]
    Server {
        /// HTTP status.
        status: StatusCode,
        /// The error code from the body.
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// The request did not get a readable answer.
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
}

impl ApiCallError {
    /// The server's error code, if the server answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiCallError::Server { code, .. } => Some(code),
            ApiCallError::Transport(_) => None,
        }
    }
}

/// A client of one Yunhui deployment's Open API.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    /// The session's refresh token, once signed in.
    refresh_token: Option<String>,
}

/// Refuses a discovery document (from `base`) a client cannot use: an API
/// that is not an `http(s)://` URL, signaling that is not `ws(s)://`.
fn check_discovery(base: &str, doc: &Discovery) -> Result<(), ApiCallError> {
    let has_host = |url: &str, schemes: [&str; 2]| {
        schemes
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme))
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
    };
    let problem = if !has_host(&doc.api, ["https://", "http://"]) {
        format!("its api {:?} is not an http(s):// URL", doc.api)
    } else if !has_host(&doc.signaling, ["wss://", "ws://"]) {
        format!("its signaling {:?} is not a ws(s):// URL", doc.signaling)
    } else {
        return Ok(());
    };
    Err(ApiCallError::Server {
        status: StatusCode::BAD_GATEWAY,
        code: "bad_discovery".into(),
        message: format!("{base}/.well-known/yunhui is not usable: {problem}"),
    })
}

impl ApiClient {
    /// A client for the deployment at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str) -> Self {
        ApiClient {
            base: base_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            token: None,
            refresh_token: None,
        }
    }

    /// The deployment's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The bearer token in use, once signed in.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Uses `token` for later calls.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// `GET /api/v1/about`.
    pub async fn about(&self) -> Result<About, ApiCallError> {
        self.call(reqwest::Method::GET, "/about", None::<&()>).await
    }

    /// Creates an account.
    pub async fn register(&self, req: &RegisterRequest) -> Result<Account, ApiCallError> {
        self.call(reqwest::Method::POST, "/accounts", Some(req))
            .await
    }

    /// Enterprise login's first step: the deployment at `address` (what a
    /// user types: `meet.example.com`, or a URL) tells where everything is
    /// (`/.well-known/yunhui`). A bare host is tried over HTTPS first, then
    /// plain HTTP. The returned client talks to the discovered API; meetings
    /// are joined at the document's `signaling`
    /// ([`crate::meeting::MeetingSession::join`] takes it as it is). A
    /// document whose API is not an `http(s)://` URL or whose signaling is
    /// not a `ws(s)://` URL is refused (`bad_discovery`).
    pub async fn discover(address: &str) -> Result<(ApiClient, Discovery), ApiCallError> {
        let address = address.trim().trim_end_matches('/');
        let candidates = if address.contains("://") {
            vec![address.to_string()]
        } else {
            vec![format!("https://{address}"), format!("http://{address}")]
        };
        let http = reqwest::Client::new();
        let mut last = None;
        for base in candidates {
            match http.get(format!("{base}/.well-known/yunhui")).send().await {
                Ok(resp) if resp.status().is_success() => {
                    let doc: Discovery = resp.json().await?;
                    check_discovery(&base, &doc)?;
                    return Ok((ApiClient::new(doc.server()), doc));
                }
                Ok(resp) => {
                    let status = resp.status();
                    last = Some(ApiCallError::Server {
                        status,
                        code: "no_discovery".into(),
                        message: format!("{base} serves no /.well-known/yunhui (HTTP {status})"),
                    });
                }
                Err(e) => last = Some(ApiCallError::Transport(e)),
            }
        }
        Err(last.unwrap_or_else(|| ApiCallError::Server {
            status: StatusCode::BAD_REQUEST,
            code: "no_address".into(),
            message: "give the deployment's address".into(),
        }))
    }

    /// Signs in and keeps the token for later calls.
    pub async fn login(&mut self, login: &str, password: &str) -> Result<Session, ApiCallError> {
        let req = LoginRequest {
            login: login.into(),
            password: password.into(),
        };
        let session: Session = self
            .call(reqwest::Method::POST, "/sessions", Some(&req))
            .await?;
        self.token = Some(session.token.clone());
        self.refresh_token = Some(session.refresh_token.clone());
        Ok(session)
    }

    /// Replaces the session with a new one (`POST /api/v1/sessions/refresh`)
    /// and keeps its tokens; for long-lived clients, before or after the
    /// bearer token expires.
    pub async fn refresh(&mut self) -> Result<Session, ApiCallError> {
        let req = RefreshRequest {
            refresh_token: self
                .refresh_token
                .clone()
                .ok_or_else(|| ApiCallError::Server {
                    status: StatusCode::UNAUTHORIZED,
                    code: "invalid_token".into(),
                    message: "sign in first: this client has no refresh token".into(),
                })?,
        };
        let session: Session = self
            .call(reqwest::Method::POST, "/sessions/refresh", Some(&req))
            .await?;
        self.token = Some(session.token.clone());
        self.refresh_token = Some(session.refresh_token.clone());
        Ok(session)
    }

    /// The signed-in account.
    pub async fn me(&self) -> Result<Account, ApiCallError> {
        self.call(reqwest::Method::GET, "/me", None::<&()>).await
    }

    /// Starts an instant meeting.
    pub async fn create_meeting(
        &self,
        req: &CreateMeetingRequest,
    ) -> Result<Meeting, ApiCallError> {
        self.call(reqwest::Method::POST, "/meetings", Some(req))
            .await
    }

    /// A meeting the caller hosts.
    pub async fn meeting(&self, id: &str) -> Result<Meeting, ApiCallError> {
        self.call(
            reqwest::Method::GET,
            &format!("/meetings/{id}"),
            None::<&()>,
        )
        .await
    }

    /// What anyone may see of an open meeting before joining.
    pub async fn preview(&self, number: &str) -> Result<MeetingPreview, ApiCallError> {
        self.call(
            reqwest::Method::GET,
            &format!("/meetings/by-number/{number}"),
            None::<&()>,
        )
        .await
    }

    async fn call<T: DeserializeOwned, B: Serialize>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ApiCallError> {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp.json().await?);
        }
        let text = resp.text().await?;
        let (code, message) = match serde_json::from_str::<ApiError>(&text) {
            Ok(err) => (err.error.code, err.error.message),
            Err(_) => ("unreadable_error".to_string(), text),
        };
        Err(ApiCallError::Server {
            status,
            code,
            message,
        })
    }

    /// Schedules a meeting or a series (F-MTG-2, F-MTG-3).
    pub async fn schedule_meeting(
        &self,
        req: &ScheduleRequest,
    ) -> Result<ScheduledMeeting, ApiCallError> {
        self.call(reqwest::Method::POST, "/schedules", Some(req))
            .await
    }

    /// Details of a scheduled meeting the caller hosts or is invited to (F-MTG-4).
    pub async fn scheduled_meeting(&self, id: &str) -> Result<ScheduledMeeting, ApiCallError> {
        self.call(
            reqwest::Method::GET,
            &format!("/schedules/{id}"),
            None::<&()>,
        )
        .await
    }

    /// Replaces a scheduled meeting or a whole series; changed occurrences stay.
    pub async fn edit_scheduled_meeting(
        &self,
        id: &str,
        req: &ScheduleRequest,
    ) -> Result<ScheduledMeeting, ApiCallError> {
        self.call(reqwest::Method::PUT, &format!("/schedules/{id}"), Some(req))
            .await
    }

    /// Cancels a scheduled meeting or a whole series.
    pub async fn cancel_scheduled_meeting(&self, id: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::DELETE,
            &format!("/schedules/{id}"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// Changes one occurrence (by its local date, `YYYY-MM-DD`) of a series.
    pub async fn edit_occurrence(
        &self,
        id: &str,
        date: &str,
        update: &OccurrenceUpdate,
    ) -> Result<ScheduledMeeting, ApiCallError> {
        self.call(
            reqwest::Method::PUT,
            &format!("/schedules/{id}/occurrences/{date}"),
            Some(update),
        )
        .await
    }

    /// Cancels one occurrence (by its local date, `YYYY-MM-DD`) of a series.
    pub async fn cancel_occurrence(
        &self,
        id: &str,
        date: &str,
    ) -> Result<ScheduledMeeting, ApiCallError> {
        self.call(
            reqwest::Method::DELETE,
            &format!("/schedules/{id}/occurrences/{date}"),
            None::<&()>,
        )
        .await
    }

    /// Occurrences the caller hosts or is invited to between `from` and `to`
    /// (Unix seconds; the server defaults to the next 31 days).
    pub async fn upcoming(
        &self,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<Occurrence>, ApiCallError> {
        let mut query = Vec::new();
        if let Some(from) = from {
            query.push(format!("from={from}"));
        }
        if let Some(to) = to {
            query.push(format!("to={to}"));
        }
        let path = if query.is_empty() {
            "/upcoming".to_string()
        } else {
            format!("/upcoming?{}", query.join("&"))
        };
        self.call(reqwest::Method::GET, &path, None::<&()>).await
    }

    /// Meetings the caller hosted or was invited to that have ended, latest first.
    pub async fn history(&self) -> Result<Vec<HistoryEntry>, ApiCallError> {
        self.call(reqwest::Method::GET, "/history", None::<&()>)
            .await
    }

    /// The invitation text of a scheduled meeting, `lang` `zh` or `en` (F-MTG-5).
    pub async fn invitation(&self, id: &str, lang: &str) -> Result<String, ApiCallError> {
        let resp = self
            .send_raw(
                reqwest::Method::GET,
                &format!("/schedules/{id}/invitation?lang={lang}"),
                None::<&()>,
            )
            .await?;
        Ok(resp.text().await?)
    }

    /// Creates a personal cloud room with a fixed number (F-MTG-6).
    pub async fn create_cloud_room(
        &self,
        req: &CloudRoomRequest,
    ) -> Result<CloudRoom, ApiCallError> {
        self.call(reqwest::Method::POST, "/cloud-rooms", Some(req))
            .await
    }

    /// Cloud rooms the caller owns or is a member of.
    pub async fn cloud_rooms(&self) -> Result<Vec<CloudRoom>, ApiCallError> {
        self.call(reqwest::Method::GET, "/cloud-rooms", None::<&()>)
            .await
    }

    /// One cloud room the caller owns or is a member of.
    pub async fn cloud_room(&self, id: &str) -> Result<CloudRoom, ApiCallError> {
        self.call(
            reqwest::Method::GET,
            &format!("/cloud-rooms/{id}"),
            None::<&()>,
        )
        .await
    }

    /// Changes name, password, members and settings of an owned cloud room.
    pub async fn edit_cloud_room(
        &self,
        id: &str,
        req: &CloudRoomRequest,
    ) -> Result<CloudRoom, ApiCallError> {
        self.call(
            reqwest::Method::PUT,
            &format!("/cloud-rooms/{id}"),
            Some(req),
        )
        .await
    }

    /// Deletes an owned cloud room; its number is free again.
    pub async fn delete_cloud_room(&self, id: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::DELETE,
            &format!("/cloud-rooms/{id}"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// Saves a personal meeting template.
    pub async fn create_template(
        &self,
        req: &TemplateRequest,
    ) -> Result<MeetingTemplate, ApiCallError> {
        self.call(reqwest::Method::POST, "/templates", Some(req))
            .await
    }

    /// The caller's templates, by name.
    pub async fn templates(&self) -> Result<Vec<MeetingTemplate>, ApiCallError> {
        self.call(reqwest::Method::GET, "/templates", None::<&()>)
            .await
    }

    /// Replaces one of the caller's templates.
    pub async fn edit_template(
        &self,
        id: &str,
        req: &TemplateRequest,
    ) -> Result<MeetingTemplate, ApiCallError> {
        self.call(reqwest::Method::PUT, &format!("/templates/{id}"), Some(req))
            .await
    }

    /// Deletes one of the caller's templates.
    pub async fn delete_template(&self, id: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::DELETE,
            &format!("/templates/{id}"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// Starts an instant meeting from one of the caller's templates.
    pub async fn start_from_template(&self, id: &str) -> Result<Meeting, ApiCallError> {
        self.call(
            reqwest::Method::POST,
            &format!("/templates/{id}/start"),
            None::<&()>,
        )
        .await
    }

    /// Adds a physical meeting location to the caller's tenant.
    pub async fn create_location(&self, req: &LocationRequest) -> Result<Location, ApiCallError> {
        self.call(reqwest::Method::POST, "/locations", Some(req))
            .await
    }

    /// The tenant's meeting locations, by name.
    pub async fn locations(&self) -> Result<Vec<Location>, ApiCallError> {
        self.call(reqwest::Method::GET, "/locations", None::<&()>)
            .await
    }

    /// Removes a location the caller added.
    pub async fn delete_location(&self, id: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::DELETE,
            &format!("/locations/{id}"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// The caller's recordings ("My videos"), newest first; with
    /// `whole_tenant`, every recording of the tenant (administrators).
    pub async fn recordings(&self, whole_tenant: bool) -> Result<Vec<Recording>, ApiCallError> {
        let path = if whole_tenant {
            "/recordings?scope=tenant"
        } else {
            "/recordings"
        };
        self.call(reqwest::Method::GET, path, None::<&()>).await
    }

    /// One recording the caller may see.
    pub async fn recording(&self, id: &str) -> Result<Recording, ApiCallError> {
        self.call(
            reqwest::Method::GET,
            &format!("/recordings/{id}"),
            None::<&()>,
        )
        .await
    }

    /// Renames a recording.
    pub async fn rename_recording(&self, id: &str, title: &str) -> Result<Recording, ApiCallError> {
        let body = RenameRecordingRequest {
            title: title.to_string(),
        };
        self.call(
            reqwest::Method::PATCH,
            &format!("/recordings/{id}"),
            Some(&body),
        )
        .await
    }

    /// Deletes a recording and its file.
    pub async fn delete_recording(&self, id: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::DELETE,
            &format!("/recordings/{id}"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// Tenant administrators: applies the enterprise's directory
    /// (departments and users by their external ids) to the tenant.
    pub async fn provision(
        &self,
        req: &ProvisioningRequest,
    ) -> Result<ProvisioningResult, ApiCallError> {
        self.call(reqwest::Method::PUT, "/admin/provisioning", Some(req))
            .await
    }

    /// The departments of the caller's enterprise, each naming its parent.
    pub async fn departments(&self) -> Result<Vec<Department>, ApiCallError> {
        self.call(reqwest::Method::GET, "/directory/departments", None::<&()>)
            .await
    }

    /// The colleagues directly in one department.
    pub async fn department_members(&self, id: &str) -> Result<Vec<DirectoryEntry>, ApiCallError> {
        self.call(
            reqwest::Method::GET,
            &format!("/directory/departments/{id}/members"),
            None::<&()>,
        )
        .await
    }

    /// The caller's frequent contacts.
    pub async fn contacts(&self) -> Result<Vec<DirectoryEntry>, ApiCallError> {
        self.call(reqwest::Method::GET, "/me/contacts", None::<&()>)
            .await
    }

    /// Makes a colleague a frequent contact (again: nothing changes).
    pub async fn add_contact(&self, account_id: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::PUT,
            &format!("/me/contacts/{account_id}"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// Removes a frequent contact.
    pub async fn remove_contact(&self, account_id: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::DELETE,
            &format!("/me/contacts/{account_id}"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// The meeting devices of the caller's enterprise.
    pub async fn directory_devices(&self) -> Result<Vec<DirectoryDevice>, ApiCallError> {
        self.call(reqwest::Method::GET, "/directory/devices", None::<&()>)
            .await
    }

    /// Tenant administrators: adds a meeting device to the directory.
    pub async fn create_device(
        &self,
        req: &DirectoryDeviceRequest,
    ) -> Result<DirectoryDevice, ApiCallError> {
        self.call(reqwest::Method::POST, "/admin/devices", Some(req))
            .await
    }

    /// Tenant administrators: removes a meeting device from the directory.
    pub async fn delete_device(&self, id: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::DELETE,
            &format!("/admin/devices/{id}"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// Tenant administrators: a webhook for the tenant's `events`, sent to
    /// `url`; the answer carries its signing secret, shown only here.
    pub async fn create_webhook(
        &self,
        url: &str,
        events: &[WebhookEvent],
    ) -> Result<CreatedWebhook, ApiCallError> {
        let body = CreateWebhookRequest {
            url: url.to_string(),
            events: events.to_vec(),
        };
        self.call(reqwest::Method::POST, "/admin/webhooks", Some(&body))
            .await
    }

    /// Tenant administrators: the tenant's webhooks.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, ApiCallError> {
        self.call(reqwest::Method::GET, "/admin/webhooks", None::<&()>)
            .await
    }

    /// Tenant administrators: deletes a webhook; nothing more is sent to it.
    pub async fn delete_webhook(&self, id: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::DELETE,
            &format!("/admin/webhooks/{id}"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// Tenant administrators: a webhook's latest deliveries, newest first.
    pub async fn webhook_deliveries(&self, id: &str) -> Result<Vec<WebhookDelivery>, ApiCallError> {
        self.call(
            reqwest::Method::GET,
            &format!("/admin/webhooks/{id}/deliveries"),
            None::<&()>,
        )
        .await
    }

    /// A group chat of the caller with colleagues (account ids).
    pub async fn create_chat(
        &self,
        name: &str,
        members: &[String],
    ) -> Result<GroupChat, ApiCallError> {
        let body = CreateGroupChatRequest {
            name: name.to_string(),
            members: members.to_vec(),
        };
        self.call(reqwest::Method::POST, "/chats", Some(&body))
            .await
    }

    /// The caller's group chats with their unread counts, the latest first.
    pub async fn chats(&self) -> Result<Vec<GroupChat>, ApiCallError> {
        self.call(reqwest::Method::GET, "/chats", None::<&()>).await
    }

    /// One of the caller's group chats.
    pub async fn chat(&self, chat_id: &str) -> Result<GroupChat, ApiCallError> {
        self.call(
            reqwest::Method::GET,
            &format!("/chats/{chat_id}"),
            None::<&()>,
        )
        .await
    }

    /// Sends a message to a group chat.
    pub async fn send_chat_message(
        &self,
        chat_id: &str,
        text: &str,
    ) -> Result<GroupChatMessage, ApiCallError> {
        let body = PostGroupChatMessage {
            text: text.to_string(),
        };
        self.call(
            reqwest::Method::POST,
            &format!("/chats/{chat_id}/messages"),
            Some(&body),
        )
        .await
    }

    /// A page of a group chat's history, newest first: the `limit`
    /// messages before message `before`, or the latest.
    pub async fn chat_messages(
        &self,
        chat_id: &str,
        before: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<GroupChatMessage>, ApiCallError> {
        let mut query = Vec::new();
        if let Some(before) = before {
            query.push(format!("before={before}"));
        }
        if let Some(limit) = limit {
            query.push(format!("limit={limit}"));
        }
        let mut path = format!("/chats/{chat_id}/messages");
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        self.call(reqwest::Method::GET, &path, None::<&()>).await
    }

    /// Marks a group chat read up to one of its messages.
    pub async fn mark_chat_read(&self, chat_id: &str, up_to: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::PUT,
            &format!("/chats/{chat_id}/read"),
            Some(&MarkChatRead {
                up_to: up_to.to_string(),
            }),
        )
        .await
        .map(drop)
    }

    /// Starts an instant meeting from a group chat: hosted by the caller,
    /// announced in the chat, ringing the other members.
    pub async fn start_chat_meeting(&self, chat_id: &str) -> Result<Meeting, ApiCallError> {
        self.call(
            reqwest::Method::POST,
            &format!("/chats/{chat_id}/meeting"),
            None::<&()>,
        )
        .await
    }

    /// Tenant administrators: an API key for an integration, acting for
    /// the caller within `scopes`; the answer carries the key, shown only here.
    pub async fn create_api_key(
        &self,
        name: &str,
        scopes: &[ApiScope],
    ) -> Result<CreatedApiKey, ApiCallError> {
        let body = CreateApiKeyRequest {
            name: name.to_string(),
            scopes: scopes.to_vec(),
        };
        self.call(reqwest::Method::POST, "/admin/api-keys", Some(&body))
            .await
    }

    /// Tenant administrators: the tenant's API keys (without their secrets).
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, ApiCallError> {
        self.call(reqwest::Method::GET, "/admin/api-keys", None::<&()>)
            .await
    }

    /// Tenant administrators: revokes an API key at once.
    pub async fn revoke_api_key(&self, id: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::DELETE,
            &format!("/admin/api-keys/{id}"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// Tenant administrators: the tenant's accounts, only those with
    /// `status` when given.
    pub async fn admin_accounts(
        &self,
        status: Option<AccountStatus>,
    ) -> Result<Vec<Account>, ApiCallError> {
        let path = match status {
            Some(status) => format!(
                "/admin/accounts?status={}",
                serde_json::to_value(status)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            ),
            None => "/admin/accounts".to_string(),
        };
        self.call(reqwest::Method::GET, &path, None::<&()>).await
    }

    /// Tenant administrators: approves (or rejects) a registration.
    pub async fn decide_registration(
        &self,
        account_id: &str,
        approve: bool,
    ) -> Result<Account, ApiCallError> {
        self.call(
            reqwest::Method::POST,
            &format!("/admin/accounts/{account_id}/approval"),
            Some(&ApprovalRequest { approve }),
        )
        .await
    }

    /// Tenant administrators: makes an account a member or an administrator.
    pub async fn set_role(
        &self,
        account_id: &str,
        role: AccountRole,
    ) -> Result<Account, ApiCallError> {
        self.call(
            reqwest::Method::PUT,
            &format!("/admin/accounts/{account_id}/role"),
            Some(&RoleRequest { role }),
        )
        .await
    }

    /// Tenant administrators: disables an account (or enables it again).
    pub async fn set_account_disabled(
        &self,
        account_id: &str,
        disabled: bool,
    ) -> Result<Account, ApiCallError> {
        self.call(
            reqwest::Method::PUT,
            &format!("/admin/accounts/{account_id}/status"),
            Some(&AccountStatusRequest { disabled }),
        )
        .await
    }

    /// Tenant administrators: a department kept in the console.
    pub async fn create_department(
        &self,
        req: &DepartmentRequest,
    ) -> Result<Department, ApiCallError> {
        self.call(reqwest::Method::POST, "/admin/departments", Some(req))
            .await
    }

    /// Tenant administrators: renames or moves a department.
    pub async fn change_department(
        &self,
        id: &str,
        req: &DepartmentRequest,
    ) -> Result<Department, ApiCallError> {
        self.call(
            reqwest::Method::PUT,
            &format!("/admin/departments/{id}"),
            Some(req),
        )
        .await
    }

    /// Tenant administrators: deletes an empty department.
    pub async fn delete_department(&self, id: &str) -> Result<(), ApiCallError> {
        self.send_raw(
            reqwest::Method::DELETE,
            &format!("/admin/departments/{id}"),
            None::<&()>,
        )
        .await
        .map(drop)
    }

    /// Tenant administrators: the tenant's cloud rooms with their members
    /// and live streaming permission.
    pub async fn admin_cloud_rooms(&self) -> Result<Vec<CloudRoomStreaming>, ApiCallError> {
        self.call(reqwest::Method::GET, "/admin/cloud-rooms", None::<&()>)
            .await
    }

    /// Tenant administrators: who may use a cloud room besides its owner.
    pub async fn set_cloud_room_members(
        &self,
        room_id: &str,
        members: &[String],
    ) -> Result<CloudRoomStreaming, ApiCallError> {
        self.call(
            reqwest::Method::PUT,
            &format!("/admin/cloud-rooms/{room_id}/members"),
            Some(&CloudRoomMembersRequest {
                members: members.to_vec(),
            }),
        )
        .await
    }

    /// Tenant administrators: whether hosts may record and stream live,
    /// and how long recordings are kept.
    pub async fn media_policy(&self) -> Result<MediaPolicy, ApiCallError> {
        self.call(reqwest::Method::GET, "/admin/media-policy", None::<&()>)
            .await
    }

    /// Tenant administrators: sets the recording and streaming switches and
    /// the retention, within the licence.
    pub async fn set_media_policy(
        &self,
        policy: &MediaPolicyRequest,
    ) -> Result<MediaPolicy, ApiCallError> {
        self.call(reqwest::Method::PUT, "/admin/media-policy", Some(policy))
            .await
    }

    /// Tenant administrators: the licence and its use now and at its peak.
    pub async fn licence_use(&self) -> Result<LicenceUse, ApiCallError> {
        self.call(reqwest::Method::GET, "/admin/licence", None::<&()>)
            .await
    }

    /// Tenant administrators: a page of the audit log, newest first: the
    /// `limit` entries before entry `before`, or the latest.
    pub async fn audit_log(
        &self,
        before: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<AuditEntry>, ApiCallError> {
        let mut query = Vec::new();
        if let Some(before) = before {
            query.push(format!("before={before}"));
        }
        if let Some(limit) = limit {
            query.push(format!("limit={limit}"));
        }
        let path = if query.is_empty() {
            "/admin/audit-log".to_string()
        } else {
            format!("/admin/audit-log?{}", query.join("&"))
        };
        self.call(reqwest::Method::GET, &path, None::<&()>).await
    }

    /// Sends a request and returns the successful response as it is.
    async fn send_raw<B: Serialize>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response, ApiCallError> {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await?;
        let (code, message) = match serde_json::from_str::<ApiError>(&text) {
            Ok(err) => (err.error.code, err.error.message),
            Err(_) => ("unreadable_error".to_string(), text),
        };
        Err(ApiCallError::Server {
            status,
            code,
            message,
        })
    }
}
