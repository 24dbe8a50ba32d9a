//! Yunhui's signal service: the control plane users talk to.
//!
//! - [`api`]: the HTTP face — the REST Open API (one module per resource, the
//!   [`accounts::Caller`] extractor, shared error answers), health, metrics,
//!   the internal tenant API and the web client's files;
//! - [`live`]: what exists only while meetings run — the WebSocket
//!   signaling, live rooms driving the SFU through
//!   [`yunhui_proto::media::MediaControl`], presence, ringing, chat;
//! - domain modules, free of axum, on the records in [`store`] (SQLite or
//!   PostgreSQL): [`accounts`], [`api_keys`] and [`auth`] (who a token is),
//!   [`meetings`] and [`lifecycle`] (what a status change does),
//!   [`schedule`] timed by [`recurrence`] with the text of [`invitation`],
//!   [`assistant`] (cloud rooms, templates, locations), [`group_chats`], [`licence`],
//!   [`tenants`] (what the operator declares), [`recordings`] ("My videos"),
//!   [`audit`] (the administrators' actions);
//! - [`discovery_file`]: the discovery document a Gateway publishes, served
//!   as it is and the base of every absolute link ([`App::public_base`]);
//! - [`placement`]: the SFU nodes that report to signal and the node each
//!   room is placed on.
//!
//! `tests/module-cycles` checks that no two modules import each other.
//!
//! The library is composed by the `yunhui-signal` binary (SFU reached over
//! HTTP) and by `yunhui up` (SFU in the same process).

pub mod account_admin;
pub mod accounts;
pub mod api;
pub mod api_keys;
pub mod assistant;
pub mod audit;
pub mod auth;
pub mod cloud_room_admin;
pub mod contacts;
pub mod departments;
pub mod discovery_file;
pub mod error;
pub mod event_stream;
pub mod group_chats;
pub mod invitation;
pub mod licence;
pub mod lifecycle;
pub mod live;
pub mod live_streaming;
pub mod media_policy;
pub mod meeting_devices;
pub mod meetings;
pub mod metrics;
pub mod placement;
pub mod provisioning;
pub mod recorder_client;
pub mod recordings;
pub mod recurrence;
pub mod schedule;
pub mod sipgw_client;
pub mod store;
pub mod tenants;
pub mod webhooks;
pub mod workers;

use std::path::PathBuf;
use std::sync::Arc;

use yunhui_proto::media::MediaControl;

use crate::discovery_file::DiscoveryFile;
pub use crate::error::{Error, Result};
use crate::live::room::Rooms;
use crate::live::throttle::{PasswordThrottle, ThrottleConfig};
use crate::metrics::Metrics;
use crate::placement::nodes::NodeTable;
use crate::placement::routing::PlacedMedia;
use crate::store::Store;

/// Settings of the signal service.
#[derive(Debug, Clone)]
pub struct SignalConfig {
    /// Base URL clients use to reach this service, for absolute links when
    /// no discovery document names one ([`App::public_base`]).
    pub public_url: String,
    /// Directory of the built web client, served at `/` when set.
    pub web_dir: Option<PathBuf>,
    /// Lifetime of a sign-in session in seconds.
    pub token_ttl_secs: i64,
    /// Shared internal key; enables the tenant admin API ([`admin`]) when set.
    pub internal_key: Option<String>,
    /// JSON file served at `/.well-known/yunhui` (written by the operator
    /// from a Gateway); its server is the base of absolute links.
    pub discovery_file: Option<PathBuf>,
    /// Take the client's address from `X-Forwarded-For` (behind a trusted
    /// ingress or load balancer); otherwise the peer address counts.
    pub trust_forwarded_for: bool,
    /// Limits on meeting-password attempts.
    pub password_throttle: ThrottleConfig,
    /// Link to the deployment's terms of service, shown by clients.
    pub terms_url: Option<String>,
    /// Link to the deployment's privacy policy, shown by clients.
    pub privacy_url: Option<String>,
    /// Phone numbers that reach meetings (a PSTN gateway in front of the
    /// SIP gateway), named in invitations; none by default.
    pub dial_in_numbers: Vec<String>,
    /// The TURN server handed to participants on join and named in the
    /// discovery document; none by default.
    pub turn: Option<crate::live::turn_credentials::TurnService>,
    /// Media and SIP endpoints for the discovery document when signal
    /// builds it itself (`yunhui up`; in a cluster the operator writes it).
    pub discovery: DiscoveryEndpoints,
    /// Set when this is one of several replicas sharing the database: each
    /// live meeting is then owned by one of them ([`live::ownership`]).
    pub replica: Option<ReplicaConfig>,
    /// Where the recorder's files are, for "My videos" to stream them
    /// ([`recordings`]); none when this replica cannot read them.
    pub recordings_dir: Option<PathBuf>,
}

/// How this replica takes part among several.
#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    /// Base URL of this replica's own HTTP port (its pod address), where
    /// other replicas relay the participants of meetings it owns.
    pub url: String,
    /// How long a meeting's lease lasts without renewal: how soon another
    /// replica takes over the meetings of one that stopped.
    pub lease_ttl: std::time::Duration,
}

impl Default for SignalConfig {
    fn default() -> Self {
        SignalConfig {
            public_url: "http://127.0.0.1:8080".into(),
            web_dir: None,
            token_ttl_secs: 7 * 24 * 3600,
            internal_key: None,
            discovery_file: None,
            trust_forwarded_for: false,
            password_throttle: ThrottleConfig::default(),
            terms_url: None,
            privacy_url: None,
            dial_in_numbers: Vec::new(),
            discovery: DiscoveryEndpoints::default(),
            turn: None,
            replica: None,
            recordings_dir: None,
        }
    }
}

/// What signal puts in its own discovery document besides its URLs.
#[derive(Debug, Clone, Default)]
pub struct DiscoveryEndpoints {
    /// The SFU's UDP port.
    pub media_udp_port: Option<u16>,
    /// The SFU's TCP port (ICE over TCP), given with the UDP port.
    pub media_tcp_port: Option<u16>,
    /// The SIP gateway, `sip:host:port`.
    pub sip_uri: Option<String>,
}

/// The running service's shared state.
pub struct App {
    /// Settings.
    pub config: SignalConfig,
    /// The database.
    pub store: Store,
    /// Live rooms.
    pub rooms: Arc<Rooms>,
    /// Metrics of this service.
    pub metrics: Metrics,
    /// The process's metric registry, served at `/metrics`.
    pub registry: prometheus::Registry,
    /// Meeting-password attempts.
    pub throttle: PasswordThrottle,
    /// The SFU nodes that report to this replica and where rooms are, when
    /// rooms are placed on registered nodes ([`App::with_placement`]).
    pub placement: Option<Arc<PlacedMedia>>,
    /// The discovery document of [`SignalConfig::discovery_file`].
    pub discovery_file: DiscoveryFile,
    /// This process, as the records it writes for the other replicas name
    /// it (group chat messages it took).
    pub instance: String,
}

impl App {
    /// The base URL of every absolute link signal hands out (join links,
    /// recordings' media and download links, invitations, the console):
    /// the server the discovery document names (a Gateway's address) when
    /// the file is there and readable, else [`SignalConfig::public_url`].
    /// Without a trailing `/`.
    pub async fn public_base(&self) -> String {
        let loaded = self.discovery_file.read().await;
        discovery_file::public_base(
            loaded.as_ref().and_then(|l| l.document.as_ref()),
            &self.config.public_url,
        )
    }

    /// Where recorded files are deleted (the directory, or their recorder).
    pub fn recorded_files(&self) -> recordings::FileStore {
        recordings::FileStore {
            dir: self.config.recordings_dir.clone(),
            internal_key: self.config.internal_key.clone(),
        }
    }

    /// Assembles the service from its parts, with rooms on the one SFU `media`.
    pub fn new(
        config: SignalConfig,
        store: Store,
        media: Arc<dyn MediaControl>,
        registry: prometheus::Registry,
    ) -> Result<Arc<Self>> {
        Self::assemble(config, store, media, None, registry)
    }

    /// Assembles the service with rooms placed on the SFU nodes that
    /// register with it (`PUT /internal/v1/media-nodes/{id}`, which needs
    /// [`SignalConfig::internal_key`]); while none is live, rooms go to
    /// `fixed` if given.
    pub fn with_placement(
        config: SignalConfig,
        store: Store,
        fixed: Option<Arc<dyn MediaControl>>,
        registry: prometheus::Registry,
    ) -> Result<Arc<Self>> {
        let key = config
            .internal_key
            .clone()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                Error::Internal("placing rooms on SFU nodes needs the internal key".into())
            })?;
        let placed = Arc::new(PlacedMedia::new(Arc::new(NodeTable::new(&key)), fixed));
        Self::assemble(config, store, placed.clone(), Some(placed), registry)
    }

    fn assemble(
        config: SignalConfig,
        store: Store,
        media: Arc<dyn MediaControl>,
        placement: Option<Arc<PlacedMedia>>,
        registry: prometheus::Registry,
    ) -> Result<Arc<Self>> {
        let metrics = Metrics::register(&registry)
            .map_err(|e| Error::Internal(format!("metrics registration failed: {e}")))?;
        let rooms = Rooms::new(media, store.clone(), metrics.clone());
        let instance = uuid::Uuid::new_v4().to_string();
        if let Some(turn) = &config.turn {
            rooms.set_turn(turn.clone());
        }
        if let Some(replica) = &config.replica {
            if config.internal_key.as_deref().is_none_or(str::is_empty) {
                return Err(Error::Internal(
                    "running as one of several replicas needs the internal key (replicas relay \
                     sockets to each other with it)"
                        .into(),
                ));
            }
            let me = live::ownership::Replica {
                id: uuid::Uuid::new_v4().to_string(),
                url: replica.url.trim_end_matches('/').to_owned(),
            };
            tracing::info!(replica = %me.id, url = %me.url, "one of several signal replicas: meetings are owned by lease");
            // Invitations ring the invitee's sockets on every replica.
            rooms.share_calls(Arc::new(live::presence::board::CallBoard::new(
                store.clone(),
                me.id.clone(),
            )));
            rooms.set_ownership(Arc::new(live::ownership::Ownership::new(
                store.clone(),
                me,
                replica.lease_ttl,
            )));
            live::room::renew_leases(&rooms);
            // Group chat messages taken by the other replicas reach this
            // one's sockets.
            live::group_chat_push::spawn_relay(
                store.clone(),
                Arc::downgrade(&rooms),
                instance.clone(),
            );
            if let Some(placed) = &placement {
                crate::placement::shared::spawn_sync(store.clone(), placed.nodes());
            }
        }
        // The tenants' webhooks hear of participants; every replica sends
        // its share of what is due.
        let recorded = Arc::new(tokio::sync::Notify::new());
        rooms.set_webhooks(webhooks::Emitter::spawn(store.clone(), recorded.clone()));
        webhooks::delivery::spawn(store.clone(), recorded);
        // Each meeting's participant count, for the licence's use.
        rooms.set_usage(licence::usage::Recorder::spawn(store.clone()));
        // Meetings outlive a restart of their SFU node.
        live::room::watch_media(&rooms);
        let app = Arc::new(App {
            throttle: PasswordThrottle::new(config.password_throttle.clone()),
            discovery_file: DiscoveryFile::new(config.discovery_file.clone()),
            config,
            store,
            rooms,
            metrics,
            registry,
            placement,
            instance,
        });
        // Invitees' phones ring when their scheduled meetings start.
        live::ringing::spawn(&app);
        recordings::spawn_retention(app.store.clone(), app.recorded_files());
        Ok(app)
    }

    /// Lets meetings call SIP devices and phones through `control` (the SIP
    /// gateway, which joins answered calls through this service).
    pub fn set_call_control(&self, control: Arc<dyn yunhui_proto::dial::CallControl>) {
        self.rooms.set_call_control(control);
    }

    /// Lets hosts record meetings through `control` (the recorder, which
    /// joins through this service and writes into
    /// [`SignalConfig::recordings_dir`]).
    pub fn set_record_control(&self, control: Arc<dyn yunhui_proto::recording::RecordControl>) {
        self.rooms
            .set_record_control(control, self.config.recordings_dir.clone());
    }

    /// The HTTP router of the service.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        api::router(self.clone())
    }

    /// The router as a service that knows each client's address (for
    /// per-source password throttling): what `axum::serve` should run.
    pub fn service(
        self: &Arc<Self>,
    ) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<
        axum::Router,
        std::net::SocketAddr,
    > {
        self.router()
            .into_make_service_with_connect_info::<std::net::SocketAddr>()
    }
}
