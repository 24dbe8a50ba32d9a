//! What every Yunhui process does alike.
//!
//! Kubernetes stops a container with SIGTERM, and a process that is PID 1 in
//! its container ignores that signal unless it handles it: without
//! [`shutdown_signal`] a pod waits out its whole grace period and is killed.
//!
//! Every binary logs through [`log_filter`], which keeps `RUST_LOG` but
//! quiets library targets that only make noise.
//!
//! [`internal_api`] holds what the services' internal HTTP APIs share,
//! [`listen`] the listeners that crowds connect to at once, [`work`] how a
//! SIP gateway or recorder counts its work and drains, and
//! [`worker_report`] how it reports itself to signal.

pub mod internal_api;
pub mod listen;
pub mod work;
pub mod worker_report;

/// Resolves when the process is asked to stop: SIGTERM (Kubernetes, systemd)
/// or SIGINT (Ctrl-C). Returns the signal's name, for the log.
///
/// The handlers are installed when this is called, not when the future is
/// first polled: call it before the process starts serving, so that a
/// SIGTERM right after start (a pod removed at once) is not the default
/// action, which ends the process without its drain. Must be called within
/// a tokio runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = &'static str> + Send {
    #[cfg(unix)]
    let (terminate, interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        )
    };
    async move {
        #[cfg(unix)]
        let name = {
            let wait = |listener: std::io::Result<tokio::signal::unix::Signal>,
                        name: &'static str| async move {
                match listener {
                    Ok(mut signal) => {
                        signal.recv().await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, signal = name, "cannot listen for this signal");
                        std::future::pending::<()>().await;
                    }
                }
                name
            };
            tokio::select! {
                name = wait(terminate, "SIGTERM") => name,
                name = wait(interrupt, "SIGINT") => name,
            }
        };
        #[cfg(not(unix))]
        let name = {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        };
        tracing::info!(signal = name, "shutting down");
        name
    }
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
