//! The digests a bundle manifest lists for its files: SHA-256 in bundles
//! signed with ed25519, SM3 (GM/T 0004-2012) in bundles signed with SM2.
//!
//! Whatever the manifest lists, a file's SHA-256 is always measured too: OCI
//! blobs are named by it (`images/blobs/sha256/<hex>`), and the registry and
//! the installer re-check files by it after verification.

use std::io::Read;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sm3::Sm3;

/// The hash function of a manifest's file digests and aggregate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestAlgorithm {
    /// SHA-256 (ed25519 bundles).
    #[default]
    Sha256,
    /// SM3, the Chinese national hash (SM2 bundles).
    Sm3,
}

impl DigestAlgorithm {
    /// The name used in the manifest and as a digest prefix (`sha256`, `sm3`).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sm3 => "sm3",
        }
    }

    /// Whether this is SHA-256 (the manifest leaves the field out then).
    pub fn is_sha256(&self) -> bool {
        *self == DigestAlgorithm::Sha256
    }

    /// Lowercase hex digest of `bytes`.
    pub fn hex(self, bytes: &[u8]) -> String {
        match self {
            DigestAlgorithm::Sha256 => hex::encode(Sha256::digest(bytes)),
            DigestAlgorithm::Sm3 => hex::encode(Sm3::digest(bytes)),
        }
    }
}

/// What hashing a file measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    /// Lowercase hex SHA-256 (always measured).
    pub sha256: String,
    /// Lowercase hex SM3, when the manifest lists SM3 digests.
    pub sm3: Option<String>,
    /// Size in bytes.
    pub size: u64,
}

impl FileDigests {
    /// The digest the manifest lists, for `algorithm`.
    pub fn listed(&self, algorithm: DigestAlgorithm) -> &str {
        match algorithm {
            DigestAlgorithm::Sha256 => &self.sha256,
            DigestAlgorithm::Sm3 => self.sm3.as_deref().unwrap_or_default(),
        }
    }
}

/// Hashes a stream with SHA-256 and, for SM3 manifests, SM3 at once.
pub struct FileHasher {
    sha256: Sha256,
    sm3: Option<Sm3>,
    size: u64,
}

impl FileHasher {
    /// A hasher for a manifest listing `algorithm` digests.
    pub fn new(algorithm: DigestAlgorithm) -> FileHasher {
        FileHasher {
            sha256: Sha256::new(),
            sm3: (algorithm == DigestAlgorithm::Sm3).then(Sm3::new),
            size: 0,
        }
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.sha256.update(bytes);
        if let Some(sm3) = &mut self.sm3 {
            sm3.update(bytes);
        }
    }

    /// The digests of everything fed.
    pub fn finish(self) -> FileDigests {
        FileDigests {
            sha256: hex::encode(self.sha256.finalize()),
            sm3: self.sm3.map(|sm3| hex::encode(sm3.finalize())),
            size: self.size,
        }
    }
}

/// Hashes everything `reader` yields.
pub fn hash_reader(
    mut reader: impl Read,
    algorithm: DigestAlgorithm,
) -> std::io::Result<FileDigests> {
    let mut hasher = FileHasher::new(algorithm);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_of_abc_is_the_standard_test_vector() {
        // GM/T 0004-2012, appendix A.1.
        assert_eq!(
            DigestAlgorithm::Sm3.hex(b"abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        let streamed = hash_reader(&b"abc"[..], DigestAlgorithm::Sm3).unwrap();
        assert_eq!(
            streamed.listed(DigestAlgorithm::Sm3),
            DigestAlgorithm::Sm3.hex(b"abc")
        );
        assert_eq!(streamed.sha256, DigestAlgorithm::Sha256.hex(b"abc"));
        assert_eq!(streamed.size, 3);
    }
}
