//! What every Yunhui process does alike.
//!
//! Kubernetes stops a container with SIGTERM, and a process that is PID 1 in
//! its container ignores that signal unless it handles it: without
//! [`shutdown_signal`] a pod waits out its whole grace period and is killed.
//!
//! Every binary logs through [`log_filter`], which keeps `RUST_LOG` but
//! quiets library targets that only make noise.
//!
//! [`internal_api`] holds what the services' internal HTTP APIs share, and
//! [`listen`] the listeners that crowds connect to at once.

pub mod internal_api;
pub mod listen;

/// Resolves when the process is asked to stop: SIGTERM (Kubernetes, systemd)
/// or SIGINT (Ctrl-C). Returns the signal's name, for the log.
pub async fn shutdown_signal() -> &'static str {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops this process");
                std::future::pending::<()>().await;
            }
        }
        "SIGTERM"
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<&'static str>();
    let name = tokio::select! {
        name = interrupt => name,
        name = terminate => name,
    };
    tracing::info!(signal = name, "shutting down");
    name
}

/// Library log targets quieted by [`log_filter`], each with the level it is kept at.
///
/// `rtc_dtls::handshake` warns "Unsupported Extension Type" for every TLS extension a
/// browser's DTLS ClientHello carries that webrtc-rs does not implement (GREASE, session
/// tickets, ...), several per handshake: harmless, and nothing the SFU can act on.
pub const QUIETED_LOG_TARGETS: &[(&str, &str)] = &[("rtc_dtls::handshake", "error")];

/// The tracing filter of every Yunhui binary: `RUST_LOG` (default `info`) plus
/// [`QUIETED_LOG_TARGETS`] — except for a target `RUST_LOG` names itself, so
/// `RUST_LOG=info,rtc_dtls=debug` still shows everything.
pub fn log_filter() -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    let from_env = std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or_default();
    let mut filter = if from_env.trim().is_empty() {
        EnvFilter::new("info")
    } else {
        EnvFilter::try_new(&from_env).unwrap_or_else(|_| EnvFilter::new("info"))
    };
    for (target, level) in QUIETED_LOG_TARGETS {
        let crate_name = target.split("::").next().unwrap_or(target);
        if from_env.contains(crate_name) {
            continue;
        }
        if let Ok(directive) = format!("{target}={level}").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}
