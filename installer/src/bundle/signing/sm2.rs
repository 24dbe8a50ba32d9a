//! SM2 keys and signatures (GM/T 0003-2012, SM2 with SM3, the default
//! distinguishing ID `1234567812345678`), in the formats OpenSSL 3 and
//! GmSSL read:
//!
//! - secret key: PKCS#8 PEM (`PRIVATE KEY`), or encrypted PKCS#8
//!   (`ENCRYPTED PRIVATE KEY`, PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC)
//!   when a password is given;
//! - public key: SubjectPublicKeyInfo PEM (`PUBLIC KEY`);
//! - signature: DER `SEQUENCE { r INTEGER, s INTEGER }`, so that
//!   `openssl pkeyutl -verify -rawin -digest sm3 -pubin -inkey bundle.pub
//!   -in manifest.json -sigfile manifest.json.sm2sig -pkeyopt
//!   distid:1234567812345678` checks a bundle too.

use std::path::Path;

use ::sm2::dsa::signature::{Signer, Verifier};
use ::sm2::dsa::{Signature, SigningKey, VerifyingKey};
use ::sm2::{PublicKey, SecretKey};
use pkcs8::der::pem::PemLabel;
use pkcs8::pkcs5::pbes2;
use pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, EncryptedPrivateKeyInfo,
    LineEnding, PrivateKeyInfo,
};
use rand::RngCore;
use sm3::{Digest, Sm3};

use super::SigningError;

/// The distinguishing ID every Yunhui SM2 signature uses: the default of
/// GM/T 0009-2012, which OpenSSL and GmSSL use when none is given.
pub const DISTINGUISHING_ID: &str = "1234567812345678";

/// PBKDF2-HMAC-SHA256 iterations protecting an encrypted secret key.
const PBKDF2_ITERATIONS: u32 = 600_000;

/// Why an SM2 signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureProblem {
    /// Not a DER `SEQUENCE` of two integers in range: damaged, or another
    /// kind of signature.
    Malformed,
    /// Well formed, but not made by this key over these bytes.
    DoesNotVerify,
}

/// A new secret key, and its files: (key, secret key PEM, public key PEM).
pub fn generate(password: &str) -> Result<(SecretKey, String, String), SigningError> {
    let secret = SecretKey::random(&mut rand::rngs::OsRng);
    let secret_file = secret_key_file(&secret, password)?;
    let public_file = public_key_file(&secret.public_key())?;
    Ok((secret, secret_file, public_file))
}

/// A secret key as PKCS#8 PEM, encrypted when `password` is not empty.
fn secret_key_file(secret: &SecretKey, password: &str) -> Result<String, SigningError> {
    let failed = |e: pkcs8::Error| SigningError::Sign(format!("encoding the SM2 key: {e}"));
    let document = secret.to_pkcs8_der().map_err(failed)?;
    if password.is_empty() {
        return document
            .to_pem(PrivateKeyInfo::PEM_LABEL, LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| failed(e.into()));
    }
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut iv);
    let parameters = pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
        .map_err(|e| failed(e.into()))?;
    PrivateKeyInfo::try_from(document.as_bytes())
        .and_then(|info| info.encrypt_with_params(parameters, password))
        .and_then(|encrypted| {
            encrypted
                .to_pem(EncryptedPrivateKeyInfo::PEM_LABEL, LineEnding::LF)
                .map_err(Into::into)
        })
        .map(|pem| pem.to_string())
        .map_err(failed)
}

/// Parses a PKCS#8 PEM secret key, decrypting it with `password` when it is
/// encrypted.
pub fn parse_secret_key(
    text: &str,
    path: &Path,
    password: &str,
) -> Result<SecretKey, SigningError> {
    let encrypted = text.contains(&format!("BEGIN {}", EncryptedPrivateKeyInfo::PEM_LABEL));
    if encrypted && password.is_empty() {
        return Err(SigningError::bad_key(
            path,
            "SM2",
            format!(
                "the key is encrypted; put its password in {}",
                super::PASSWORD_ENV
            ),
        ));
    }
    let parsed = if encrypted {
        SecretKey::from_pkcs8_encrypted_pem(text, password)
            .map_err(|e| format!("{e} (wrong password, or a damaged key)"))
    } else {
        SecretKey::from_pkcs8_pem(text).map_err(|e| e.to_string())
    };
    parsed.map_err(|message| SigningError::bad_key(path, "SM2", message))
}

/// Parses an SPKI PEM public key on the SM2 curve.
pub fn parse_public_key(text: &str, path: &Path) -> Result<PublicKey, SigningError> {
    PublicKey::from_public_key_pem(text.trim()).map_err(|e| {
        SigningError::bad_key(
            path,
            "SM2",
            format!("{e} (a PEM public key, but not one on the SM2 curve?)"),
        )
    })
}

/// A public key as SPKI PEM.
pub fn public_key_file(public: &PublicKey) -> Result<String, SigningError> {
    public
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| SigningError::Sign(format!("encoding the SM2 public key: {e}")))
}

/// The key's fingerprint: `sm2:` and the SM3 digest of its DER
/// SubjectPublicKeyInfo (`openssl pkey -pubin -in KEY.pub -outform DER |
/// openssl dgst -sm3` prints the same digest).
pub fn key_id(public: &PublicKey) -> String {
    let der = public
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default();
    format!("sm2:{}", hex::encode(Sm3::digest(der)))
}

/// Signs `data` (SM2 with SM3 and [`DISTINGUISHING_ID`]); the signature in DER.
pub fn sign(secret: &SecretKey, data: &[u8]) -> Result<Vec<u8>, SigningError> {
    let key = SigningKey::new(DISTINGUISHING_ID, secret)
        .map_err(|e| SigningError::Sign(format!("SM2: {e}")))?;
    let signature: Signature = key
        .try_sign(data)
        .map_err(|e| SigningError::Sign(format!("SM2: {e}")))?;
    Ok(to_der(&signature.to_bytes()))
}

/// Checks a DER signature over `data` with `public`.
pub fn verify(public: &PublicKey, data: &[u8], der: &[u8]) -> Result<(), SignatureProblem> {
    let signature = from_der(der)
        .and_then(|bytes| Signature::from_bytes(&bytes).ok())
        .ok_or(SignatureProblem::Malformed)?;
    let key = VerifyingKey::new(DISTINGUISHING_ID, *public)
        .map_err(|_| SignatureProblem::DoesNotVerify)?;
    key.verify(data, &signature)
        .map_err(|_| SignatureProblem::DoesNotVerify)
}

/// `r || s` (32 bytes each, big-endian) as DER `SEQUENCE { INTEGER, INTEGER }`.
fn to_der(raw: &[u8; 64]) -> Vec<u8> {
    let integer = |value: &[u8]| {
        let start = value
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(value.len() - 1);
        let mut content = value[start..].to_vec();
        if content[0] & 0x80 != 0 {
            content.insert(0, 0);
        }
        let mut out = vec![0x02, content.len() as u8];
        out.extend(content);
        out
    };
    let body = [integer(&raw[..32]), integer(&raw[32..])].concat();
    let mut der = vec![0x30, body.len() as u8];
    der.extend(body);
    der
}

/// The inverse of [`to_der`], strict: minimal positive integers of at most
/// 32 bytes, nothing before or after.
fn from_der(der: &[u8]) -> Option<[u8; 64]> {
    let (&tag, rest) = der.split_first()?;
    let (&length, mut body) = rest.split_first()?;
    if tag != 0x30 || length as usize != body.len() || length >= 0x80 {
        return None;
    }
    let mut raw = [0u8; 64];
    for half in raw.chunks_mut(32) {
        let (&tag, rest) = body.split_first()?;
        let (&length, rest) = rest.split_first()?;
        let length = length as usize;
        if tag != 0x02 || length == 0 || length > 33 || rest.len() < length {
            return None;
        }
        let (content, after) = rest.split_at(length);
        let negative = content[0] & 0x80 != 0;
        let padded = content.len() > 1 && content[0] == 0 && content[1] & 0x80 == 0;
        let value = if content[0] == 0 && content.len() > 1 {
            &content[1..]
        } else {
            content
        };
        if negative || padded || value.len() > 32 {
            return None;
        }
        half[32 - value.len()..].copy_from_slice(value);
        body = after;
    }
    body.is_empty().then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_round_trips_and_refuses_what_is_not_two_integers() {
        let mut raw = [0u8; 64];
        raw[0] = 0x80; // r needs a leading zero byte
        raw[31] = 1;
        raw[63] = 7; // s is a single byte
        let der = to_der(&raw);
        assert_eq!(der[..4], [0x30, 0x26, 0x02, 0x21]);
        assert_eq!(from_der(&der), Some(raw));
        assert_eq!(from_der(&der[..der.len() - 1]), None);
        assert_eq!(from_der(&[der.clone(), vec![0]].concat()), None);
        assert_eq!(from_der(b"untrusted comment: signature"), None);
        assert_eq!(from_der(&[]), None);
    }

    #[test]
    fn a_signature_verifies_with_its_key_only_and_over_its_data_only() {
        let (secret, _, _) = generate("").unwrap();
        let (other, _, _) = generate("").unwrap();
        let signature = sign(&secret, b"manifest").unwrap();
        assert_eq!(
            verify(&secret.public_key(), b"manifest", &signature),
            Ok(())
        );
        assert_eq!(
            verify(&secret.public_key(), b"manifesT", &signature),
            Err(SignatureProblem::DoesNotVerify)
        );
        assert_eq!(
            verify(&other.public_key(), b"manifest", &signature),
            Err(SignatureProblem::DoesNotVerify)
        );
        assert_eq!(
            verify(&secret.public_key(), b"manifest", &signature[1..]),
            Err(SignatureProblem::Malformed)
        );
    }

    #[test]
    fn keys_round_trip_through_their_files_with_and_without_a_password() {
        let path = Path::new("k.key");
        let (secret, plain, public) = generate("").unwrap();
        assert!(plain.starts_with("-----BEGIN PRIVATE KEY-----"), "{plain}");
        assert_eq!(parse_secret_key(&plain, path, "").unwrap(), secret);
        let parsed = parse_public_key(&public, path).unwrap();
        assert_eq!(parsed, secret.public_key());
        assert!(key_id(&parsed).starts_with("sm2:") && key_id(&parsed).len() == 68);

        let encrypted = secret_key_file(&secret, "correct horse").unwrap();
        assert!(encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert_eq!(
            parse_secret_key(&encrypted, path, "correct horse").unwrap(),
            secret
        );
        let wrong = parse_secret_key(&encrypted, path, "wrong").unwrap_err();
        assert!(wrong.to_string().contains("wrong password"), "{wrong}");
        let missing = parse_secret_key(&encrypted, path, "").unwrap_err();
        assert!(
            missing.to_string().contains(super::super::PASSWORD_ENV),
            "{missing}"
        );
    }
}
