//! Test harness: a real signal service with a real in-process SFU, on SQLite
//! or on a real PostgreSQL server started here.

#![allow(dead_code)]

pub mod pool;
pub mod postgres;
pub mod receiver;
pub mod recorder;
pub mod session;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use yunhui_client::api::ApiClient;
use yunhui_proto::api::{CreateMeetingRequest, Meeting, RegisterRequest};
use yunhui_sfu::control::{InProcessControl, MediaControl};
use yunhui_sfu::{Sfu, SfuConfig};
use yunhui_signal::store::Store;
use yunhui_signal::{App, SignalConfig};

/// Password of every account the harness registers.
pub const PASSWORD: &str = "correct horse battery";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Puts something between signal and its SFU (a test's slow or failing node).
pub type MediaWrap = Arc<dyn Fn(Arc<dyn MediaControl>) -> Arc<dyn MediaControl> + Send + Sync>;

/// A running signal service.
pub struct Server {
    pub base_url: String,
    pub app: Arc<App>,
    pub media: Arc<dyn MediaControl>,
    pub sfu: Sfu,
    database: Database,
    config: SignalConfig,
    wrap: Option<MediaWrap>,
    task: tokio::task::JoinHandle<()>,
}

/// Where a server's data lives, so a restart can reopen it.
enum Database {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts signal + SFU on free local ports.
pub async fn start(db: Db) -> Server {
    start_with(db, SignalConfig::default()).await
}

/// Starts signal + SFU with `config` (its `public_url` is replaced).
pub async fn start_with(db: Db, config: SignalConfig) -> Server {
    let database = match db {
        Db::Sqlite => Database::Sqlite(tempfile::tempdir().expect("temp dir")),
        Db::Postgres => Database::Postgres(postgres::fresh_database().await),
    };
    launch(database, config, None).await
}

/// Starts signal + SFU on SQLite, with signal reaching the SFU through `wrap`.
pub async fn start_with_media(wrap: MediaWrap) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    launch(Database::Sqlite(dir), SignalConfig::default(), Some(wrap)).await
}

async fn launch(database: Database, mut config: SignalConfig, wrap: Option<MediaWrap>) -> Server {
    let store = match &database {
        Database::Sqlite(dir) => Store::open_sqlite(dir.path()).await.expect("sqlite store"),
        Database::Postgres(url) => Store::connect(url).await.expect("postgres store"),
    };
    let registry = prometheus::Registry::new();
    let sfu = Sfu::start(SfuConfig {
        udp_listen: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
        advertised_ip: Ipv4Addr::LOCALHOST.into(),
        registry: registry.clone(),
    })
    .await
    .expect("start SFU");
    let mut media: Arc<dyn MediaControl> = Arc::new(InProcessControl::new(sfu.clone()));
    if let Some(wrap) = &wrap {
        media = wrap(media);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    config.public_url = base_url.clone();
    let app = App::new(config.clone(), store, media.clone(), registry).expect("app");
    let service = app.service();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, service).await;
    });
    Server {
        base_url,
        app,
        media,
        sfu,
        database,
        config,
        wrap,
        task,
    }
}

impl Server {
    /// Stops this server (sockets, rooms and SFU go with it) and starts a
    /// new one on the same database, as a restarted process would be.
    pub async fn restart(mut self) -> Server {
        self.task.abort();
        let _ = (&mut self.task).await;
        let database = std::mem::replace(&mut self.database, Database::Postgres(String::new()));
        let config = self.config.clone();
        let wrap = self.wrap.clone();
        drop(self);
        launch(database, config, wrap).await
    }

    /// An API client for this server.
    pub fn api(&self) -> ApiClient {
        ApiClient::new(&self.base_url)
    }

    /// Registers an account and returns a signed-in client.
    pub async fn signed_in(&self, email: &str) -> ApiClient {
        let mut api = self.api();
        api.register(&RegisterRequest {
            email: Some(email.into()),
            phone: None,
            password: PASSWORD.into(),
            display_name: email.split('@').next().unwrap_or("user").into(),
            tenant_id: None,
        })
        .await
        .expect("register");
        api.login(email, PASSWORD).await.expect("login");
        api
    }

    /// A host account plus a meeting it hosts, with `password`.
    pub async fn meeting(&self, password: Option<&str>) -> (ApiClient, Meeting) {
        let host = self
            .signed_in(&format!("host-{}@example.com", uuid::Uuid::new_v4()))
            .await;
        let meeting = host
            .create_meeting(&CreateMeetingRequest {
                topic: None,
                password: password.map(String::from),
                ..Default::default()
            })
            .await
            .expect("create meeting");
        (host, meeting)
    }

    /// Creates an account in `tenant` (the tenant itself through the internal
    /// tenant admin API if needed; the server needs an internal key) and
    /// returns a signed-in client.
    pub async fn signed_in_tenant(&self, tenant: &str, email: &str) -> ApiClient {
        let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM tenants WHERE id = $1")
            .bind(tenant)
            .fetch_optional(self.app.store.pool())
            .await
            .expect("tenant lookup");
        if exists.is_none() {
            let key = self
                .app
                .config
                .internal_key
                .clone()
                .expect("start the server with an internal key to create tenants");
            let resp = reqwest::Client::new()
                .put(format!("{}/internal/v1/tenants/{tenant}", self.base_url))
                .bearer_auth(key)
                .json(
                    &serde_json::json!({"displayName": tenant, "licence": {"concurrentPorts": 10}}),
                )
                .send()
                .await
                .expect("tenant admin API");
            assert!(
                resp.status().is_success(),
                "creating tenant {tenant}: {}",
                resp.status()
            );
        }
        // An active account of that tenant, made through the trusted path
        // the operator uses for a tenant's first administrator.
        yunhui_signal::accounts::create_tenant_admin(
            &self.app.store,
            tenant,
            RegisterRequest {
                email: Some(email.into()),
                phone: None,
                password: PASSWORD.into(),
                display_name: email.split('@').next().unwrap_or("user").into(),
                tenant_id: None,
            },
        )
        .await
        .expect("register in tenant");
        let mut api = self.api();
        api.login(email, PASSWORD).await.expect("login");
        api
    }

    /// A colleague in company `tenant` (whose domains include `email`'s):
    /// registered, approved by the tenant administrator `admin`, signed in;
    /// with its account id.
    pub async fn colleague(
        &self,
        admin: &ApiClient,
        tenant: &str,
        email: &str,
    ) -> (ApiClient, String) {
        let account = self
            .api()
            .register(&RegisterRequest {
                email: Some(email.into()),
                phone: None,
                password: PASSWORD.into(),
                display_name: email.split('@').next().unwrap_or("user").into(),
                tenant_id: Some(tenant.into()),
            })
            .await
            .expect("register in the company");
        admin
            .decide_registration(&account.id, true)
            .await
            .expect("approve the registration");
        let mut api = self.api();
        api.login(email, PASSWORD).await.expect("login");
        (api, account.id)
    }

    /// The value of a metric line `name` in `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.base_url))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics body");
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("metric {name} missing from /metrics:\n{text}"))
    }
}

/// The status, code and message of an API call that had to be refused.
pub fn refusal<T: std::fmt::Debug>(
    call: Result<T, yunhui_client::api::ApiCallError>,
) -> (reqwest::StatusCode, String, String) {
    match call {
        Err(yunhui_client::api::ApiCallError::Server {
            status,
            code,
            message,
        }) => (status, code, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Declares one test per database for an `async fn(Db)` case.
#[macro_export]
macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::support::Db::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::support::Db::Postgres).await
                }
            )*
        }
    };
}
