//! Names of the environment variables the services read their settings
//! from: the services' command lines (`clap`'s `env = …`) and the operator,
//! which sets them in the pods it builds, use these constants, so a name
//! cannot drift between the two sides.
//!
//! One constant per variable; its doc says which service reads it. The
//! operator sets only variables a service reads.

/// Shared key of the internal APIs (SFU control, SIP gateway control,
/// signal's tenant admin API). Read by signal, the SFU and the SIP gateway.
pub const INTERNAL_KEY: &str = "YUNHUI_INTERNAL_KEY";

/// Signal's base URL: where answered calls join their meetings (read by the
/// SIP gateway) and where an SFU node reports itself (read by the SFU).
pub const SIGNAL_URL: &str = "YUNHUI_SIGNAL_URL";

/// Signal's HTTP listen address. Read by signal.
pub const LISTEN: &str = "YUNHUI_LISTEN";

/// PostgreSQL URL of signal's database (without it, SQLite in the data
/// directory). Read by signal.
pub const DATABASE_URL: &str = "YUNHUI_DATABASE_URL";

/// Directory of signal's embedded database. Read by signal.
pub const DATA_DIR: &str = "YUNHUI_DATA_DIR";

/// Base URL of an SFU node's internal API. Read by signal.
pub const SFU_URL: &str = "YUNHUI_SFU_URL";

/// Base URL clients use, for join links. Read by signal.
pub const PUBLIC_URL: &str = "YUNHUI_PUBLIC_URL";

/// JSON file served at `/.well-known/yunhui`. Read by signal.
pub const DISCOVERY_FILE: &str = "YUNHUI_DISCOVERY_FILE";

/// Directory of the built web client served at `/`. Read by signal.
pub const WEB_DIR: &str = "YUNHUI_WEB_DIR";

/// Whether client addresses come from `X-Forwarded-For`. Read by signal.
pub const TRUST_FORWARDED_FOR: &str = "YUNHUI_TRUST_FORWARDED_FOR";

/// Link to the deployment's terms of service. Read by signal.
pub const TERMS_URL: &str = "YUNHUI_TERMS_URL";

/// Link to the deployment's privacy policy. Read by signal.
pub const PRIVACY_URL: &str = "YUNHUI_PRIVACY_URL";

/// Phone numbers that reach meetings, comma-separated; named in
/// invitations. Read by signal.
pub const DIAL_IN_NUMBERS: &str = "YUNHUI_DIAL_IN_NUMBERS";

/// Base URL of the SIP gateway's internal API. Read by signal.
pub const SIPGW_URL: &str = "YUNHUI_SIPGW_URL";

/// Signal: this replica's own base URL (its pod address), set when several
/// replicas share one database; each live meeting is then owned by one.
pub const REPLICA_URL: &str = "YUNHUI_REPLICA_URL";

/// Signal: seconds a meeting's lease lasts without renewal (with
/// [`REPLICA_URL`]): how soon another replica takes over a stopped one's meetings.
pub const LEASE_TTL_SECONDS: &str = "YUNHUI_LEASE_TTL_SECONDS";

/// The SFU node's media UDP port. Read by the SFU.
pub const SFU_UDP_PORT: &str = "YUNHUI_SFU_UDP_PORT";

/// The SFU node's media TCP port, for ICE over TCP. Read by the SFU.
pub const SFU_TCP_PORT: &str = "YUNHUI_SFU_TCP_PORT";

/// The SFU node's internal API port (control, health, metrics). Read by the
/// SFU.
pub const SFU_CONTROL_PORT: &str = "YUNHUI_SFU_CONTROL_PORT";

/// How many port slots the SFU may choose from on a node shared with other
/// SFU pods (`networking: HostNetworkSlots`): it takes the first slot whose
/// ports are free. Read by the SFU.
pub const SFU_PORT_SLOTS: &str = "YUNHUI_SFU_PORT_SLOTS";

/// How far apart two port slots' ports are (see [`SFU_PORT_SLOTS`]). Read by
/// the SFU.
pub const SFU_PORT_STRIDE: &str = "YUNHUI_SFU_PORT_STRIDE";

/// Base URL of this SFU node's own internal API (its pod address), which it
/// reports to signal. Read by the SFU.
pub const ADVERTISE_CONTROL_URL: &str = "YUNHUI_ADVERTISE_CONTROL_URL";

/// The SFU node's name in its reports to signal (its pod's name). Read by
/// the SFU.
pub const NODE_ID: &str = "YUNHUI_NODE_ID";

/// Participants one SFU node takes at most. Read by the SFU.
pub const SFU_CAPACITY: &str = "YUNHUI_SFU_CAPACITY";

/// Seconds a stopping SFU node keeps serving its rooms (the MediaCluster's
/// `drainTimeoutSeconds`). Read by the SFU.
pub const SFU_DRAIN_TIMEOUT: &str = "YUNHUI_SFU_DRAIN_TIMEOUT";

/// Seconds a stopping SIP gateway lets its calls go on (the MediaCluster's
/// `sip.drainTimeoutSeconds`). Read by the SIP gateway.
pub const SIP_DRAIN_TIMEOUT: &str = "YUNHUI_SIP_DRAIN_TIMEOUT";

/// Calls a SIP gateway takes at most at once (the MediaCluster's
/// `sip.autoscale.callsPerNode`); more are refused. Read by the SIP gateway.
pub const SIP_MAX_CALLS: &str = "YUNHUI_SIP_MAX_CALLS";

/// Seconds a room on an SFU node may go without any connected peer
/// connection before the node closes it (a room whose signal replica can no
/// longer close it). Read by the SFU.
pub const SFU_UNUSED_ROOM_TIMEOUT: &str = "YUNHUI_SFU_UNUSED_ROOM_TIMEOUT";

/// IP address to advertise to clients and devices. Read by the SFU and the
/// SIP gateway.
pub const ADVERTISE_ADDRESS: &str = "YUNHUI_ADVERTISE_ADDRESS";

/// A file holding the IP address to advertise. Read by the SFU.
pub const ADVERTISE_ADDRESS_FILE: &str = "YUNHUI_ADVERTISE_ADDRESS_FILE";

/// The name of the node a pod runs on. Read by no service: Kubernetes
/// expands `$(YUNHUI_NODE_NAME)` in the value of [`ADVERTISE_ADDRESS_FILE`],
/// which the operator sets after it, to the node's own file.
pub const NODE_NAME: &str = "YUNHUI_NODE_NAME";

/// The pod's own name. Read by no service: Kubernetes expands
/// `$(YUNHUI_POD_NAME)` in the value of [`RECORDER_ADVERTISE_URL`], which
/// the operator sets after it, so each recorder names itself by its stable
/// DNS name (which outlives its pod IP).
pub const POD_NAME: &str = "YUNHUI_POD_NAME";

/// The pod's own IP address. Read by no service: Kubernetes expands
/// `$(YUNHUI_POD_IP)` in the value of [`ADVERTISE_CONTROL_URL`] and of
/// [`REPLICA_URL`], which the operator sets after it, so each SFU pod
/// reports its own address to signal and each signal replica names its own.
pub const POD_IP: &str = "YUNHUI_POD_IP";

/// UDP port for SIP. Read by the SIP gateway.
pub const SIP_PORT: &str = "YUNHUI_SIP_PORT";

/// TCP port for SIP (default: [`SIP_PORT`]'s number). Read by the SIP gateway.
pub const SIP_TCP_PORT: &str = "YUNHUI_SIP_TCP_PORT";

/// TCP port for SIP over TLS (default 5061). Read by the SIP gateway.
pub const SIP_TLS_PORT: &str = "YUNHUI_SIP_TLS_PORT";

/// The SIP gateway's TLS certificate chain, a PEM file; with
/// [`SIP_TLS_KEY`] it serves SIP over TLS. Read by the SIP gateway.
pub const SIP_TLS_CERT: &str = "YUNHUI_SIP_TLS_CERT";

/// The private key of [`SIP_TLS_CERT`], a PEM file. Read by the SIP gateway.
pub const SIP_TLS_KEY: &str = "YUNHUI_SIP_TLS_KEY";

/// Listen address of the SIP gateway's internal API. Read by the SIP gateway.
pub const SIPGW_CONTROL_LISTEN: &str = "YUNHUI_SIPGW_CONTROL_LISTEN";

/// SIP trunk (`host[:port]`) through which phone numbers are called. Read by
/// the SIP gateway.
pub const SIP_TRUNK: &str = "YUNHUI_SIP_TRUNK";

/// User name for the trunk's digest challenge. Read by the SIP gateway.
pub const SIP_TRUNK_USER: &str = "YUNHUI_SIP_TRUNK_USER";

/// Password for the trunk's digest challenge. Read by the SIP gateway (and
/// `yunhui up`).
pub const SIP_TRUNK_PASSWORD: &str = "YUNHUI_SIP_TRUNK_PASSWORD";

/// UDP ports for calls' RTP, `first-last`. Read by the SIP gateway.
pub const SIP_RTP_PORTS: &str = "YUNHUI_SIP_RTP_PORTS";

/// Seconds a call may ring before it is given up. Read by the SIP gateway.
pub const SIP_RING_TIMEOUT: &str = "YUNHUI_SIP_RING_TIMEOUT";

/// Port of the SFU node's TURN server over UDP and TCP; unset, the node
/// serves no TURN. Read by the SFU.
pub const SFU_TURN_PORT: &str = "YUNHUI_SFU_TURN_PORT";

/// Port of the SFU node's TURN server over TLS (443 in clusters); needs
/// [`SFU_TURN_TLS_CERT`] and [`SFU_TURN_TLS_KEY`]. Read by the SFU.
pub const SFU_TURN_TLS_PORT: &str = "YUNHUI_SFU_TURN_TLS_PORT";

/// PEM file of the certificate chain of TURN over TLS. Read by the SFU.
pub const SFU_TURN_TLS_CERT: &str = "YUNHUI_SFU_TURN_TLS_CERT";

/// PEM file of the private key of TURN over TLS. Read by the SFU.
pub const SFU_TURN_TLS_KEY: &str = "YUNHUI_SFU_TURN_TLS_KEY";
/// The region an SFU node reports itself in (a hybrid deployment's site);
/// tenants that prefer it get their rooms placed there. Read by the SFU.
pub const SFU_REGION: &str = "YUNHUI_SFU_REGION";

/// Host name (or IP address) clients reach the SFU node's TURN server at,
/// as the node reports it to signal: a name its TLS certificate holds
/// (default: the node's advertised IP). Read by the SFU.
pub const SFU_TURN_HOST: &str = "YUNHUI_SFU_TURN_HOST";

/// Shared secret of the TURN REST-API credentials: signal signs with it,
/// the SFU nodes check with it (`yunhui_proto::turn`). Read by signal and
/// the SFU.
pub const TURN_SECRET: &str = "YUNHUI_TURN_SECRET";

/// TURN endpoints signal hands participants, as `host:port[:tls port]`
/// (e.g. `meet.example.com:3478:443`). Read by signal.
pub const TURN_ENDPOINT: &str = "YUNHUI_TURN_ENDPOINT";

/// Listen address of the recorder's internal API. Read by the recorder.
pub const RECORDER_LISTEN: &str = "YUNHUI_RECORDER_LISTEN";

/// Local UDP address for the recorder's media. Read by the recorder.
pub const RECORDER_MEDIA_BIND: &str = "YUNHUI_RECORDER_MEDIA_BIND";

/// Path of the ffmpeg the recorder runs for live streams (default: `ffmpeg`
/// on the `PATH`; the recorder image sets `/usr/bin/ffmpeg`). Read by the
/// recorder.
pub const FFMPEG: &str = "YUNHUI_FFMPEG";

/// Directory of the recordings: the recorder writes there; signal streams
/// "My videos" from there when it can read it. Read by the recorder and
/// signal.
pub const RECORDINGS_DIR: &str = "YUNHUI_RECORDINGS_DIR";

/// Base URL of the recorder pool's internal API (its Service); unset, the
/// deployment does not record. Read by signal.
pub const RECORDER_URL: &str = "YUNHUI_RECORDER_URL";

/// The recorder instance's own base URL (`http://<pod IP>:8091`), reported
/// with each file so signal fetches the file from the pod that holds it.
/// Read by the recorder.
pub const RECORDER_ADVERTISE_URL: &str = "YUNHUI_RECORDER_ADVERTISE_URL";

/// Base URL of the recorder pool's Service as the recorders know it. With
/// an object store ([`RECORDINGS_S3_ENDPOINT`]) every recorder serves every
/// file, so a recorder reports this URL with each file rather than its own
/// ([`RECORDER_ADVERTISE_URL`]): the file stays reachable after its pod is
/// gone. Read by the recorder.
pub const RECORDER_SHARED_URL: &str = "YUNHUI_RECORDER_SHARED_URL";

/// Recording and live-streaming jobs a recorder takes at most at once (no
/// limit when unset); more are refused with 503. Read by the recorder.
pub const RECORDER_MAX_JOBS: &str = "YUNHUI_RECORDER_MAX_JOBS";

/// How long a stopping (SIGTERM) recorder waits at most for its jobs to
/// end, in seconds. Read by the recorder.
pub const RECORDER_DRAIN_TIMEOUT: &str = "YUNHUI_RECORDER_DRAIN_TIMEOUT";

/// Endpoint of the S3-compatible object store that keeps the recorded files
/// (e.g. `http://minio.storage:9000`); unset, the files stay on the
/// recorder's own volume. Read by the recorder.
pub const RECORDINGS_S3_ENDPOINT: &str = "YUNHUI_RECORDINGS_S3_ENDPOINT";

/// The object store's bucket for the recorded files. Read by the recorder.
pub const RECORDINGS_S3_BUCKET: &str = "YUNHUI_RECORDINGS_S3_BUCKET";

/// The object store's region (default `us-east-1`, which most stores
/// inside a company accept). Read by the recorder.
pub const RECORDINGS_S3_REGION: &str = "YUNHUI_RECORDINGS_S3_REGION";

/// Prefix of the recorded files' keys in the bucket (e.g. `yunhui/`).
/// Read by the recorder.
pub const RECORDINGS_S3_PREFIX: &str = "YUNHUI_RECORDINGS_S3_PREFIX";

/// The object store's access key id. Read by the recorder.
pub const RECORDINGS_S3_ACCESS_KEY_ID: &str = "YUNHUI_RECORDINGS_S3_ACCESS_KEY_ID";

/// The object store's secret access key. Read by the recorder.
pub const RECORDINGS_S3_SECRET_ACCESS_KEY: &str = "YUNHUI_RECORDINGS_S3_SECRET_ACCESS_KEY";
