//! `yunhui registry serve`: a bundle's images over the OCI distribution API,
//! read-only, for sites without a registry. `yunhui registry push`: copies a
//! bundle's images into an existing registry, skipping blobs it already has.

pub mod push;
pub mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Errors of `yunhui registry`.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The bundle did not verify; nothing is served from it.
    #[error(transparent)]
    Verify(#[from] crate::bundle::verify::VerifyError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}; pick another --listen address")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The single-file bundle was refused; nothing is served or pushed from it.
    #[error(transparent)]
    Archive(#[from] crate::bundle::archive::ArchiveError),
    /// The server stopped with an error.
    #[error("registry server failed: {0}")]
    Serve(std::io::Error),
    /// Pushing to a registry failed.
    #[error(transparent)]
    Push(#[from] push::PushError),
}

/// `yunhui registry …`.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: RegistryCommand,
}

/// The `registry` subcommands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Serve a bundle's images read-only over the OCI distribution API.
    Serve(ServeArgs),
    /// Push a bundle's images (blobs, manifests, index) into a registry;
    /// blobs it already has are skipped, so a cut-off push resumes.
    Push(push::PushArgs),
}

/// `yunhui registry serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The bundle directory or single file (verified before anything is served).
    pub bundle: PathBuf,
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:5000")]
    pub listen: SocketAddr,
    /// Which signer to accept.
    #[command(flatten)]
    pub trust: crate::bundle::trust::TrustArgs,
}

/// Runs a `registry` subcommand.
pub async fn run(args: RegistryArgs) -> Result<(), RegistryError> {
    match args.command {
        RegistryCommand::Serve(args) => serve::run(args).await,
        RegistryCommand::Push(args) => push::run(args).await,
    }
}
