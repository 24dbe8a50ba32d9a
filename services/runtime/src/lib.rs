//! What every Yunhui process does alike.
//!
//! Kubernetes stops a container with SIGTERM, and a process that is PID 1 in
//! its container ignores that signal unless it handles it: without
//! [`shutdown_signal`] a pod waits out its whole grace period and is killed.

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
