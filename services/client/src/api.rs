//! The Open API over HTTP.

use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use yunhui_proto::api::{
    About, Account, ApiError, CreateMeetingRequest, LoginRequest, Meeting, MeetingPreview,
    RegisterRequest, Session,
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
}

impl ApiClient {
    /// A client for the deployment at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str) -> Self {
        ApiClient {
            base: base_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            token: None,
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
}
