//! Ed25519 signatures in minisign format (`minisign -Vm manifest.json -p
//! KEY.pub` checks a bundle too). Keys: `yunhui bundle keygen`.
//!
//! Secret keys may be password-protected; the password comes from
//! `YUNHUI_BUNDLE_KEY_PASSWORD` (never prompted, so CI can sign).

use std::path::{Path, PathBuf};

use minisign::{KeyPair, PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};

/// Environment variable holding the secret key's password (empty or unset:
/// the key is not encrypted).
pub const PASSWORD_ENV: &str = "YUNHUI_BUNDLE_KEY_PASSWORD";

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
    #[error("{path} is not a usable minisign key: {message}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What minisign said.
        message: String,
    },
    /// minisign failed to generate or sign.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// Generates a key pair: `<prefix>.key` (secret, mode 0600) and `<prefix>.pub`.
/// Encrypted with `YUNHUI_BUNDLE_KEY_PASSWORD` when it is set.
pub fn keygen(prefix: &Path) -> Result<(PathBuf, PathBuf), SigningError> {
    let secret_path = prefix.with_extension("key");
    let public_path = prefix.with_extension("pub");
    for path in [&secret_path, &public_path] {
        if path.exists() {
            return Err(SigningError::Exists(path.clone()));
        }
    }
    let password = std::env::var(PASSWORD_ENV).unwrap_or_default();
    // An empty password leaves the key unencrypted; unlike
    // `generate_unencrypted_keypair`, this path writes the key checksum that
    // loading checks.
    let pair = KeyPair::generate_encrypted_keypair(Some(password))
        .map_err(|e| SigningError::Sign(e.to_string()))?;
    let secret = pair
        .sk
        .to_box(Some("yunhui bundle signing key"))
        .map_err(|e| SigningError::Sign(e.to_string()))?
        .to_string();
    let public = pair
        .pk
        .to_box()
        .map_err(|e| SigningError::Sign(e.to_string()))?
        .to_string();
    write_private(&secret_path, secret.as_bytes())?;
    std::fs::write(&public_path, public).map_err(|source| SigningError::Io {
        path: public_path.clone(),
        source,
    })?;
    Ok((secret_path, public_path))
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

/// Loads a secret key (password from `YUNHUI_BUNDLE_KEY_PASSWORD`).
pub fn load_secret_key(path: &Path) -> Result<SecretKey, SigningError> {
    let text = std::fs::read_to_string(path).map_err(|source| SigningError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |message: String| SigningError::BadKey {
        path: path.to_path_buf(),
        message,
    };
    let password = std::env::var(PASSWORD_ENV).unwrap_or_default();
    SecretKeyBox::from_string(&text)
        .and_then(|b| b.into_secret_key(Some(password)))
        .map_err(|e| bad(e.to_string()))
}

/// Parses a public key from minisign's two-line format (or the bare base64 line).
pub fn parse_public_key(text: &str, path: &Path) -> Result<PublicKey, SigningError> {
    let bad = |message: String| SigningError::BadKey {
        path: path.to_path_buf(),
        message,
    };
    let trimmed = text.trim();
    if trimmed.lines().count() == 1 {
        PublicKey::from_base64(trimmed).map_err(|e| bad(e.to_string()))
    } else {
        PublicKeyBox::from_string(text)
            .and_then(PublicKeyBox::into_public_key)
            .map_err(|e| bad(e.to_string()))
    }
}

/// The public key matching a secret key, in minisign's file format.
pub fn public_key_file(secret: &SecretKey) -> Result<String, SigningError> {
    PublicKey::from_secret_key(secret)
        .and_then(|pk| pk.to_box())
        .map(|b| b.to_string())
        .map_err(|e| SigningError::Sign(e.to_string()))
}

/// Signs `data`; the trusted comment (covered by the signature) names what
/// is signed.
pub fn sign(
    secret: &SecretKey,
    data: &[u8],
    trusted_comment: &str,
) -> Result<String, SigningError> {
    minisign::sign(
        None,
        secret,
        std::io::Cursor::new(data),
        Some(trusted_comment),
        Some("signature of a yunhui bundle manifest"),
    )
    .map(|b: SignatureBox| b.to_string())
    .map_err(|e| SigningError::Sign(e.to_string()))
}

/// Key id of a public key as minisign prints it (hex, 16 digits).
pub fn key_id(public: &PublicKey) -> String {
    let bytes = public.keynum();
    let mut le = [0u8; 8];
    le.copy_from_slice(&bytes[..8]);
    format!("{:016X}", u64::from_le_bytes(le))
}
