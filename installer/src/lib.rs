//! The `yunhui` command's library: each subcommand is a module.
//!
//! - [`up`]: the all-in-one platform on one machine.
//! - [`preflight`]: host checks before installing.
//! - [`bundle`]: build, sign and verify air-gapped bundles.
//! - [`registry`]: serve a bundle's images over the OCI distribution API.
//! - [`install`]: install, upgrade and uninstall a site from a bundle.
//! - [`progress`]: progress bars for long steps.

pub mod bundle;
pub mod install;
pub mod preflight;
pub mod progress;
pub mod registry;
pub mod up;
