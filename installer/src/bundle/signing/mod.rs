//! Keys and signatures of bundle manifests, in the algorithm the edition
//! chooses (`signature` in `airgap/editions/<name>.toml`):
//!
//! - `ed25519` (the default): minisign format, `manifest.json.minisig`,
//!   SHA-256 file digests ([`ed25519`]);
//! - `sm2`: SM2 with SM3 (GM/T 0003/0004), PKCS#8 and SPKI PEM keys, a DER
//!   signature in `manifest.json.sm2sig`, SM3 file digests ([`sm2`]).
//!
//! A key file says which algorithm it is for, so `--key` needs no other
//! option; a bundle is checked in the algorithm of the publisher's key,
//! never in one the bundle asks for. Secret keys may be password-protected;
//! the password comes from `YUNHUI_BUNDLE_KEY_PASSWORD` (never prompted, so
//! CI can sign).

pub mod ed25519;
pub mod sm2;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::digest::DigestAlgorithm;
use super::manifest::{SIGNATURE_FILE, SM2_SIGNATURE_FILE};

/// Environment variable holding the secret key's password (empty or unset:
/// the key is not encrypted).
pub const PASSWORD_ENV: &str = "YUNHUI_BUNDLE_KEY_PASSWORD";

/// A signature algorithm of bundles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Ed25519 in minisign format, with SHA-256 file digests.
    #[default]
    Ed25519,
    /// SM2 with SM3 (the Chinese national algorithms), with SM3 file digests.
    Sm2,
}

impl Algorithm {
    /// How the algorithm is named to users.
    pub fn describe(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519 (minisign)",
            Algorithm::Sm2 => "SM2 (with SM3)",
        }
    }

    /// The bundle file holding a signature in this algorithm.
    pub fn signature_file(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => SIGNATURE_FILE,
            Algorithm::Sm2 => SM2_SIGNATURE_FILE,
        }
    }

    /// The algorithm whose signature file is `name`.
    pub fn of_signature_file(name: &str) -> Option<Algorithm> {
        [Algorithm::Ed25519, Algorithm::Sm2]
            .into_iter()
            .find(|a| a.signature_file() == name)
    }

    /// The file digests a manifest signed in this algorithm lists.
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            Algorithm::Ed25519 => DigestAlgorithm::Sha256,
            Algorithm::Sm2 => DigestAlgorithm::Sm3,
        }
    }
}

/// Errors with keys and signatures.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// A key file could not be read or written.
    #[error("could not access key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A key file exists where keygen would write.
    #[error("{0} already exists; remove it or choose another --out")]
    Exists(PathBuf),
    /// A key is malformed or the password is wrong.
    #[error("{path} is not a usable {kind} key: {message}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What kind of key it was read as (`minisign`, `SM2`).
        kind: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Generating a key or signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

impl SigningError {
    fn bad_key(path: &Path, kind: &'static str, message: impl ToString) -> SigningError {
        SigningError::BadKey {
            path: path.to_path_buf(),
            kind,
            message: message.to_string(),
        }
    }
}

/// A secret (signing) key.
pub enum SecretKey {
    /// A minisign key.
    Ed25519(Box<minisign::SecretKey>),
    /// An SM2 key.
    Sm2(::sm2::SecretKey),
}

/// A public (verifying) key.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// A minisign key.
    Ed25519(minisign::PublicKey),
    /// An SM2 key.
    Sm2(::sm2::PublicKey),
}

/// Whether a key file is PEM (SM2) rather than minisign's format.
fn is_pem(text: &str) -> bool {
    text.trim_start().starts_with("-----BEGIN ")
}

fn password() -> String {
    std::env::var(PASSWORD_ENV).unwrap_or_default()
}

/// Generates a key pair: `<prefix>.key` (secret, mode 0600) and `<prefix>.pub`.
/// Encrypted with `YUNHUI_BUNDLE_KEY_PASSWORD` when it is set. Returns the
/// two paths and the public key.
pub fn keygen(
    prefix: &Path,
    algorithm: Algorithm,
) -> Result<(PathBuf, PathBuf, PublicKey), SigningError> {
    let secret_path = prefix.with_extension("key");
    let public_path = prefix.with_extension("pub");
    for path in [&secret_path, &public_path] {
        if path.exists() {
            return Err(SigningError::Exists(path.clone()));
        }
    }
    let (public, secret_file, public_file) = match algorithm {
        Algorithm::Ed25519 => {
            let (secret, secret_file, public_file) = ed25519::generate(&password())?;
            let public = PublicKey::Ed25519(ed25519::public_key(&secret)?);
            (public, secret_file, public_file)
        }
        Algorithm::Sm2 => {
            let (secret, secret_file, public_file) = sm2::generate(&password())?;
            (
                PublicKey::Sm2(secret.public_key()),
                secret_file,
                public_file,
            )
        }
    };
    write_private(&secret_path, secret_file.as_bytes())?;
    if let Err(source) = std::fs::write(&public_path, public_file) {
        // No half-written pair: a secret key without its public half is useless.
        let _ = std::fs::remove_file(&secret_path);
        return Err(SigningError::Io {
            path: public_path,
            source,
        });
    }
    Ok((secret_path, public_path, public))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SigningError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|source| SigningError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Loads a secret key of either algorithm (password from
/// `YUNHUI_BUNDLE_KEY_PASSWORD`).
pub fn load_secret_key(path: &Path) -> Result<SecretKey, SigningError> {
    let text = std::fs::read_to_string(path).map_err(|source| SigningError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if is_pem(&text) {
        sm2::parse_secret_key(&text, path, &password()).map(SecretKey::Sm2)
    } else {
        ed25519::parse_secret_key(&text, path, &password())
            .map(|key| SecretKey::Ed25519(Box::new(key)))
    }
}

/// Parses a public key of either algorithm: SPKI PEM for SM2, minisign's
/// two-line format (or the bare base64 line) for ed25519.
pub fn parse_public_key(text: &str, path: &Path) -> Result<PublicKey, SigningError> {
    if is_pem(text) {
        sm2::parse_public_key(text, path).map(PublicKey::Sm2)
    } else {
        ed25519::parse_public_key(text, path).map(PublicKey::Ed25519)
    }
}

impl SecretKey {
    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            SecretKey::Ed25519(_) => Algorithm::Ed25519,
            SecretKey::Sm2(_) => Algorithm::Sm2,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<PublicKey, SigningError> {
        match self {
            SecretKey::Ed25519(secret) => ed25519::public_key(secret).map(PublicKey::Ed25519),
            SecretKey::Sm2(secret) => Ok(PublicKey::Sm2(secret.public_key())),
        }
    }

    /// Signs `data`: the content of the algorithm's signature file. Only
    /// minisign signatures carry `trusted_comment` (covered by the signature).
    pub fn sign(&self, data: &[u8], trusted_comment: &str) -> Result<Vec<u8>, SigningError> {
        match self {
            SecretKey::Ed25519(secret) => {
                ed25519::sign(secret, data, trusted_comment).map(String::into_bytes)
            }
            SecretKey::Sm2(secret) => sm2::sign(secret, data),
        }
    }
}

impl PublicKey {
    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Ed25519(_) => Algorithm::Ed25519,
            PublicKey::Sm2(_) => Algorithm::Sm2,
        }
    }

    /// The key's id (fingerprint): minisign's 16 hex digits for ed25519,
    /// `sm2:` and the SM3 of the SubjectPublicKeyInfo for SM2.
    pub fn key_id(&self) -> String {
        match self {
            PublicKey::Ed25519(public) => ed25519::key_id(public),
            PublicKey::Sm2(public) => sm2::key_id(public),
        }
    }

    /// The key in its file format.
    pub fn to_file(&self) -> Result<String, SigningError> {
        match self {
            PublicKey::Ed25519(public) => ed25519::public_key_file(public),
            PublicKey::Sm2(public) => sm2::public_key_file(public),
        }
    }
}
