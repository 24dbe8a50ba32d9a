//! The bundle manifest (`manifest.json`): what the bundle holds, with a
//! digest for every file (SHA-256, or SM3 in SM2-signed bundles) and an
//! aggregate checksum over all of them. The signature
//! (`manifest.json.minisig` or `manifest.json.sm2sig`) covers this file, so
//! it transitively covers every byte of the bundle.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::digest::DigestAlgorithm;
use super::oci::Platform;

/// File name of the manifest at the bundle root.
pub const MANIFEST_FILE: &str = "manifest.json";
/// File name of the ed25519 (minisign) signature over the manifest.
pub const SIGNATURE_FILE: &str = "manifest.json.minisig";
/// File name of the SM2 signature over the manifest (DER, SM2 with SM3 and
/// the default distinguishing ID `1234567812345678`).
pub const SM2_SIGNATURE_FILE: &str = "manifest.json.sm2sig";
/// Every signature file name a bundle may have; it has exactly one.
pub const SIGNATURE_FILES: [&str; 2] = [SIGNATURE_FILE, SM2_SIGNATURE_FILE];
/// The OCI image layout folder inside a bundle.
pub const IMAGES_DIR: &str = "images";
/// The public key shipped inside the bundle (integrity only; pass `--key`
/// to `bundle verify` to check origin).
pub const BUNDLED_PUBLIC_KEY: &str = "bundle.pub";

/// The manifest document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleManifest {
    /// Manifest format version (1).
    pub format: u32,
    /// Product name (`yunhui`).
    pub name: String,
    /// Product version (workspace version).
    pub version: String,
    /// Edition name.
    pub edition: String,
    /// Whether the edition requires every image for every target arch.
    pub strict_arches: bool,
    /// How it was built.
    pub build: BuildInfo,
    /// Target arches with their Rust triples.
    pub targets: Vec<Target>,
    /// Components and the arches they were built for.
    pub components: Vec<ComponentEntry>,
    /// Images in `images/` (an OCI layout).
    pub images: Vec<ImageEntry>,
    /// The hash of `files` and of the aggregate: `sm3` in SM2-signed
    /// bundles; absent means `sha256`.
    #[serde(default, skip_serializing_if = "DigestAlgorithm::is_sha256")]
    pub digest: DigestAlgorithm,
    /// Every file of the bundle except the manifest and its signature,
    /// sorted by path.
    pub files: Vec<FileEntry>,
    /// `sha256:` over the lines `<sha256-hex>  <path>\n` of `files`, in
    /// order (SHA-256 manifests).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub aggregate_sha256: String,
    /// `sm3:` over the lines `<sm3-hex>  <path>\n` of `files`, in order
    /// (SM3 manifests).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub aggregate_sm3: String,
    /// What was left out, and why.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Build provenance. No timestamp: it would change the manifest on every build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// Git commit of the source, or `unknown`.
    pub commit: String,
    /// Whether the work tree had uncommitted changes.
    pub dirty: bool,
    /// `rustc --version` of the build host.
    pub rustc: String,
    /// `prebuilt` (from `--binaries`) or `cargo-zigbuild`.
    pub binaries: String,
    /// The `yunhui` version that built the bundle.
    pub builder: String,
}

/// One target arch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `amd64` or `arm64`.
    pub arch: String,
    /// Rust target triple.
    pub rust_target: String,
}

/// One component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentEntry {
    /// Short name.
    pub name: String,
    /// Cargo package.
    pub package: String,
    /// Binary name.
    pub binary: String,
    /// Arches it was built for.
    pub arches: Vec<String>,
    /// Prebuilt executables its image carries (the recorder's ffmpeg), and
    /// for which arches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolEntry>,
}

/// A prebuilt executable in a component's image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolEntry {
    /// Name (`ffmpeg`).
    pub name: String,
    /// Upstream version.
    pub version: String,
    /// SPDX licence expression.
    pub license: String,
    /// Path in the image (`/usr/bin/ffmpeg`).
    pub path: String,
    /// The arches whose image carries it, with where each copy came from.
    pub arches: Vec<ToolCopy>,
    /// Arches whose image was built without it: the edition has no source
    /// for them (no loong64 build of ffmpeg).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absent: Vec<String>,
}

/// One arch's copy of a tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCopy {
    /// Bundle arch.
    pub arch: String,
    /// Lowercase hex SHA-256 of the file in the image.
    pub sha256: String,
    /// `download`: extracted from `url`, whose SHA-256 was checked against
    /// the edition's; `provided`: taken from `--binaries DIR/<arch>/<name>`.
    pub source: String,
    /// The archive it was extracted from (`download` only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// SHA-256 of that archive (`download` only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub archive_sha256: String,
    /// Its path inside the archive (`download` only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub member: String,
}

/// One multi-arch image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageEntry {
    /// Component name.
    pub component: String,
    /// Registry repository (`yunhui/signal`).
    pub repository: String,
    /// Registry tag (the version).
    pub tag: String,
    /// Reference name in the OCI layout's `index.json` (`signal_0.1.0`).
    pub oci_ref: String,
    /// Digest of the image index.
    pub digest: String,
    /// One manifest per platform.
    pub platforms: Vec<PlatformImage>,
}

/// A single-platform image manifest inside an image index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformImage {
    /// Bundle arch name.
    pub arch: String,
    /// OCI platform.
    pub platform: Platform,
    /// Digest of the image manifest.
    pub digest: String,
    /// Per-arch reference in `index.json` (`signal_0.1.0_arm64`), for tools
    /// that cannot pick a platform out of an index (umoci).
    pub oci_ref: String,
}

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the bundle root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex sha256 (SHA-256 manifests).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    /// Lowercase hex SM3 (SM3 manifests).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sm3: String,
}

impl FileEntry {
    /// The entry's digest in `algorithm` (empty when it lists none).
    pub fn digest(&self, algorithm: DigestAlgorithm) -> &str {
        match algorithm {
            DigestAlgorithm::Sha256 => &self.sha256,
            DigestAlgorithm::Sm3 => &self.sm3,
        }
    }
}

impl BundleManifest {
    /// The aggregate checksum, prefixed by its algorithm (`sha256:…`, `sm3:…`).
    pub fn aggregate(&self) -> &str {
        match self.digest {
            DigestAlgorithm::Sha256 => &self.aggregate_sha256,
            DigestAlgorithm::Sm3 => &self.aggregate_sm3,
        }
    }
}

/// The aggregate checksum over a sorted file list, in `algorithm`:
/// `<algorithm>:` and the digest of the lines `<file digest>  <path>\n`.
pub fn aggregate(files: &[FileEntry], algorithm: DigestAlgorithm) -> String {
    let lines: String = files
        .iter()
        .map(|file| format!("{}  {}\n", file.digest(algorithm), file.path))
        .collect();
    format!("{}:{}", algorithm.name(), algorithm.hex(lines.as_bytes()))
}

/// Map from path to entry, for lookups.
pub fn files_by_path(files: &[FileEntry]) -> BTreeMap<&str, &FileEntry> {
    files.iter().map(|f| (f.path.as_str(), f)).collect()
}
