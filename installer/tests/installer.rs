//! The installer's integration tests, one test binary for all of them: each
//! file below is a module (run one with `cargo test -p yunhui-installer
//! --test installer preflight::`). One binary links the installer once
//! instead of once per file.

mod bundle_fixture;

mod bundle;
mod bundle_archive;
mod bundle_sm2;
mod bundle_tools;
mod install;
mod preflight;
mod registry_push;
mod registry_serve;
mod up;
