//! The test kit of the operator's and the installer's tests (a dev-only
//! crate, never shipped):
//! - [`control_plane`]: a real control plane from `tests/kube/control-plane.sh`
//!   (etcd, kube-apiserver, controller manager, scheduler, kwok nodes), bare
//!   for the installer or prepared for the operator (CRDs, the chart's RBAC);
//! - [`cluster`]: clients and the small verbs tests use on a cluster (wait,
//!   create, namespaces, the repository's examples);
//! - [`chart`]: the operator's Helm chart rendered by the real helm;
//! - [`processes`]: processes and tasks a test starts (a real signal, the
//!   operator binary), stopped when dropped;
//! - [`media`]: test patterns made by ffmpeg and what ffprobe and ffmpeg
//!   see in a recorded file (the recorder's tests and benchmark);
//! - [`rtmp`]: nginx's RTMP module on loopback, the streaming service of
//!   the live-streaming tests;
//! - [`s3`]: an S3-compatible object store on loopback (s3s-fs), where
//!   recorded files are kept in the tests of scaled recorder pools;
//! - [`netns`]: a network namespace on this machine that drops all UDP, and
//!   code (an SDK participant) run inside it.

pub mod chart;
pub mod cluster;
pub mod control_plane;
pub mod media;
pub mod netns;
pub mod processes;
pub mod rtmp;
pub mod s3;

pub use cluster::{client_from, create, example, namespace, repo, wait};
pub use control_plane::{ControlPlane, OPERATOR_NAMESPACE, OPERATOR_USER, render_chart};
pub use processes::{
    AbortOnDrop, ChildGuard, Signal, free_port, peak_rss_kib, service_binary, sfu_binary,
    signal_binary,
};
