//! OCI image-spec documents and an image-layout writer.
//!
//! The types cover exactly the four documents a bundle writes (descriptor,
//! image manifest, image index, image config) rather than pulling in
//! `oci-spec`: its builder/getter machinery costs more compile time than the
//! whole bundle module, and owning the structs keeps the serialised JSON (field
//! order, omitted empties) under our control, which reproducible digests need.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Media type of an OCI image manifest.
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image index.
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Media type of an OCI image config.
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Media type of a gzip-compressed tar layer.
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Annotation holding a reference name inside an OCI layout's `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A content descriptor: what a blob is, its digest and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced blob.
    pub media_type: String,
    /// `sha256:<hex>` digest of the blob.
    pub digest: String,
    /// Size of the blob in bytes.
    pub size: u64,
    /// Platform of the referenced manifest (in an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The platform an image manifest runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture in Go's spelling (`amd64`, `arm64`).
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// CPU variant (`v8` for arm64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest: one config and its layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`MEDIA_TYPE_MANIFEST`].
    #[serde(default)]
    pub media_type: String,
    /// The image config blob.
    pub config: Descriptor,
    /// Layer blobs, base first.
    pub layers: Vec<Descriptor>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index: one manifest per platform (or, as `index.json`, the
/// layout's list of references).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// [`MEDIA_TYPE_INDEX`].
    #[serde(default)]
    pub media_type: String,
    /// The referenced manifests or indexes.
    pub manifests: Vec<Descriptor>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image config. There is deliberately no `created` field: a timestamp
/// would make every build produce new digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// CPU architecture (`amd64`, `arm64`).
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// CPU variant (`v8` for arm64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// How a runtime starts the container.
    pub config: RuntimeConfig,
    /// Uncompressed layer digests, in order.
    pub rootfs: RootFs,
}

/// The part of an image config a container runtime executes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// `uid:gid` the process runs as.
    #[serde(rename = "User")]
    pub user: String,
    /// Environment, `KEY=value`.
    #[serde(rename = "Env")]
    pub env: Vec<String>,
    /// The program and its fixed arguments.
    #[serde(rename = "Entrypoint")]
    pub entrypoint: Vec<String>,
    /// Working directory.
    #[serde(rename = "WorkingDir")]
    pub working_dir: String,
    /// Labels (OCI annotations keys).
    #[serde(rename = "Labels", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The `rootfs` section of an image config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `sha256:` digests of the uncompressed layer tars.
    pub diff_ids: Vec<String>,
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Errors writing an OCI layout.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// A file of the layout could not be written.
    #[error(
        "could not write {path}: {source}; check free space and permissions of the output directory"
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A document could not be serialised (a bug).
    #[error("could not serialise an OCI document: {0}")]
    Json(#[from] serde_json::Error),
}

/// An OCI image layout directory being written: `oci-layout`, `index.json`
/// and `blobs/sha256/<hex>`. Blobs are content-addressed, so writing the same
/// blob twice (a base layer shared by every image) stores it once.
pub struct LayoutWriter {
    root: PathBuf,
}

impl LayoutWriter {
    /// Creates the layout directory and its `oci-layout` marker.
    pub fn create(root: &Path) -> Result<Self, LayoutError> {
        let blobs = root.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(|source| LayoutError::Write {
            path: blobs.clone(),
            source,
        })?;
        let writer = LayoutWriter {
            root: root.to_path_buf(),
        };
        writer.write_file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        Ok(writer)
    }

    fn write_file(&self, relative: &str, bytes: &[u8]) -> Result<(), LayoutError> {
        let path = self.root.join(relative);
        let result = std::fs::File::create(&path).and_then(|mut f| f.write_all(bytes));
        result.map_err(|source| LayoutError::Write { path, source })
    }

    /// Stores a blob and returns its descriptor (without platform).
    pub fn put_blob(&self, media_type: &str, bytes: &[u8]) -> Result<Descriptor, LayoutError> {
        let digest = sha256_digest(bytes);
        let hex = &digest["sha256:".len()..];
        let relative = format!("blobs/sha256/{hex}");
        if !self.root.join(&relative).exists() {
            self.write_file(&relative, bytes)?;
        }
        Ok(Descriptor {
            media_type: media_type.to_string(),
            digest,
            size: bytes.len() as u64,
            platform: None,
            annotations: BTreeMap::new(),
        })
    }

    /// Serialises a document canonically (compact, fixed field order) and
    /// stores it as a blob.
    pub fn put_json<T: Serialize>(
        &self,
        media_type: &str,
        document: &T,
    ) -> Result<Descriptor, LayoutError> {
        let bytes = serde_json::to_vec(document)?;
        self.put_blob(media_type, &bytes)
    }

    /// Writes the layout's `index.json`.
    pub fn write_index(&self, index: &ImageIndex) -> Result<(), LayoutError> {
        let bytes = serde_json::to_vec_pretty(index)?;
        self.write_file("index.json", &bytes)
    }
}
