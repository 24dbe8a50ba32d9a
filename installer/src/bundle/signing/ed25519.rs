//! Ed25519 keys and signatures in minisign format (`minisign -Vm
//! manifest.json -p KEY.pub` checks a bundle too).

use std::path::Path;

use minisign::{KeyPair, PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};

use super::SigningError;

/// A new key pair as files: (secret key, public key), the secret encrypted
/// with `password` when it is not empty.
pub fn generate(password: &str) -> Result<(SecretKey, String, String), SigningError> {
    // An empty password leaves the key unencrypted; unlike
    // `generate_unencrypted_keypair`, this path writes the key checksum that
    // loading checks.
    let pair = KeyPair::generate_encrypted_keypair(Some(password.to_string()))
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
    Ok((pair.sk, secret, public))
}

/// Parses a secret key file, decrypting it with `password`.
pub fn parse_secret_key(
    text: &str,
    path: &Path,
    password: &str,
) -> Result<SecretKey, SigningError> {
    SecretKeyBox::from_string(text)
        .and_then(|b| b.into_secret_key(Some(password.to_string())))
        .map_err(|e| SigningError::bad_key(path, "minisign", e))
}

/// Parses a public key from minisign's two-line format (or the bare base64 line).
pub fn parse_public_key(text: &str, path: &Path) -> Result<PublicKey, SigningError> {
    let trimmed = text.trim();
    if trimmed.lines().count() == 1 {
        PublicKey::from_base64(trimmed).map_err(|e| SigningError::bad_key(path, "minisign", e))
    } else {
        PublicKeyBox::from_string(text)
            .and_then(PublicKeyBox::into_public_key)
            .map_err(|e| SigningError::bad_key(path, "minisign", e))
    }
}

/// The public key matching a secret key.
pub fn public_key(secret: &SecretKey) -> Result<PublicKey, SigningError> {
    PublicKey::from_secret_key(secret).map_err(|e| SigningError::Sign(e.to_string()))
}

/// A public key in minisign's file format.
pub fn public_key_file(public: &PublicKey) -> Result<String, SigningError> {
    public
        .to_box()
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
    keynum_id(public.keynum())
}

/// A minisign key number (as in a key or a signature) as minisign prints it.
pub fn keynum_id(keynum: &[u8]) -> String {
    let mut le = [0u8; 8];
    le.copy_from_slice(&keynum[..8]);
    format!("{:016X}", u64::from_le_bytes(le))
}
