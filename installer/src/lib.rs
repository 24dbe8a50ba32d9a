//! The `yunhui` command's library: each subcommand is a module.
//!
//! - [`up`]: the all-in-one platform on one machine.
//! - [`preflight`]: host checks before installing.

pub mod preflight;
pub mod up;
