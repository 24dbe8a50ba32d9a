//! Errors of the operator. Each variant says what to do about it.

/// Everything a reconcile can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request to the Kubernetes API failed (transient: retried with back-off).
    #[error("Kubernetes API request failed: {0}; the operator retries with back-off")]
    Kube(#[from] kube::Error),
    /// An object could not be converted to or from JSON.
    #[error("object (de)serialisation failed: {0}")]
    Json(#[from] serde_json::Error),
    /// The resource has no namespace (all Yunhui resources are namespaced).
    #[error("{0} has no namespace; Yunhui resources are namespaced")]
    NoNamespace(String),
    /// Signal's tenant admin API failed.
    #[error(
        "signal at {url} failed to {action}: {reason}; check that signal runs and the internal key matches"
    )]
    Signal {
        /// Signal's base URL.
        url: String,
        /// What the operator tried.
        action: String,
        /// What went wrong.
        reason: String,
    },
    /// Generating a certificate failed.
    #[error("certificate generation failed: {0}")]
    Certificate(#[from] rcgen::Error),
}

/// Result of operator operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
