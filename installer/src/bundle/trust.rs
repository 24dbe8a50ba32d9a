//! Whose signature a bundle must carry before any command uses it.
//!
//! Every command that reads a bundle (`bundle verify`, `registry serve`,
//! `registry push`, `install`, `upgrade`) needs the publisher's public key
//! (`--key`, or `bundleKey` in the site file) and refuses a bundle it did not
//! sign. A bundle signed by any key is taken only with
//! `--insecure-skip-signature`: its own key then shows that its files are
//! intact, not who made them, and the command says so loudly (install records
//! it in the inventory).

use std::path::{Path, PathBuf};

use clap::Args;

use super::archive::{self, ArchiveError, OpenedBundle};

/// Which key a bundle's signature must come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Only bundles this public key signed.
    Publisher(PathBuf),
    /// Any signing key (`--insecure-skip-signature`).
    AnyKey,
}

/// `--key` and `--insecure-skip-signature`, as every bundle-reading command takes them.
#[derive(Debug, Clone, Args)]
pub struct TrustArgs {
    /// The publisher's public key: the bundle must be signed by it.
    #[arg(long, env = "YUNHUI_BUNDLE_PUB")]
    pub key: Option<PathBuf>,
    /// Accept a bundle signed by any key. Its own key then shows only that its
    /// files are intact, not who made it: for tests and emergencies.
    #[arg(long, conflicts_with = "key")]
    pub insecure_skip_signature: bool,
}

impl TrustArgs {
    /// The trust these arguments ask for; neither given is refused.
    pub fn trust(&self) -> Result<Trust, ArchiveError> {
        Trust::choose(self.key.clone(), self.insecure_skip_signature, "pass --key")
    }
}

impl Trust {
    /// From a publisher key (if any) and the insecure switch; `how` tells
    /// the user how to give the key (`pass --key`, `set bundleKey in the
    /// site file`).
    pub fn choose(
        key: Option<PathBuf>,
        insecure_skip_signature: bool,
        how: &str,
    ) -> Result<Trust, ArchiveError> {
        match (key, insecure_skip_signature) {
            (Some(key), false) => Ok(Trust::Publisher(key)),
            (None, true) => Ok(Trust::AnyKey),
            (Some(_), true) => Err(ArchiveError::Trust(
                "a publisher key and --insecure-skip-signature exclude each other; drop one".into(),
            )),
            (None, false) => Err(ArchiveError::Trust(format!(
                "no publisher key to check the bundle's signature against: {how} with the publisher's public key (a bundle signed by anyone else is refused), or --insecure-skip-signature to accept any signer"
            ))),
        }
    }

    /// The publisher key, when there is one.
    pub fn key(&self) -> Option<&Path> {
        match self {
            Trust::Publisher(key) => Some(key),
            Trust::AnyKey => None,
        }
    }

    /// Who signed a bundle opened with this trust, for records and reports.
    pub fn signer(&self, key_id: &str) -> String {
        match self {
            Trust::Publisher(_) => format!("publisher key {key_id}"),
            Trust::AnyKey => {
                format!(
                    "key {key_id}, not checked against a publisher key (--insecure-skip-signature)"
                )
            }
        }
    }
}

/// Verifies `path` (a directory or a single-file bundle) under `trust`,
/// warning loudly when any signer is accepted.
pub fn open(path: &Path, trust: &Trust) -> Result<OpenedBundle, ArchiveError> {
    let opened = archive::open(path, trust.key())?;
    if *trust == Trust::AnyKey {
        eprintln!(
            "WARNING: --insecure-skip-signature: {} is signed by key {}, which was NOT checked against a publisher key; anyone could have made this bundle",
            path.display(),
            opened.key_id
        );
    }
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_or_the_insecure_switch_exactly() {
        let key = PathBuf::from("p.pub");
        assert_eq!(
            Trust::choose(Some(key.clone()), false, "pass --key").unwrap(),
            Trust::Publisher(key.clone())
        );
        assert_eq!(
            Trust::choose(None, true, "pass --key").unwrap(),
            Trust::AnyKey
        );
        let none = Trust::choose(None, false, "set `bundleKey` in the site file")
            .unwrap_err()
            .to_string();
        assert!(
            none.contains("set `bundleKey` in the site file")
                && none.contains("--insecure-skip-signature"),
            "{none}"
        );
        assert!(Trust::choose(Some(key), true, "pass --key").is_err());
    }
}
