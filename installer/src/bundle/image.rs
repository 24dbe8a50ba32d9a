//! Service images: a shared base layer (users, CA bundle, time zones), one
//! layer holding the static binary, one per prebuilt tool of the arch (the
//! recorder's ffmpeg) and the component's assets, assembled without Docker.
//!
//! Reproducibility: tar entries are sorted by path, every mtime is 0, owners
//! are numeric with empty names, gzip carries no name or time, and the config
//! has no `created` field — the same inputs give the same digests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::oci::{
    Descriptor, ImageConfig, ImageManifest, LayoutError, LayoutWriter, MEDIA_TYPE_CONFIG,
    MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_MANIFEST, Platform, RootFs, RuntimeConfig, sha256_digest,
};

/// The unprivileged user every image runs as (distroless's `nonroot`).
pub const NONROOT_UID: u32 = 65532;
/// Where a service binary lives inside its image.
pub const BINARY_DIR: &str = "usr/local/bin";
/// Where the CA bundle lives inside every image.
pub const CA_BUNDLE_PATH: &str = "etc/ssl/certs/ca-certificates.crt";

/// Errors building an image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// An input file could not be read.
    #[error("could not read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// None of the CA bundle locations exists on the build host.
    #[error(
        "no CA bundle found on this build host (looked at {0}); install the ca-certificates package"
    )]
    NoCaBundle(String),
    /// Building the tar stream failed (out of memory or a bug).
    #[error("could not assemble a layer: {0}")]
    Tar(std::io::Error),
    /// Writing the OCI layout failed.
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

#[derive(Clone)]
enum Entry {
    Dir { mode: u32, uid: u32 },
    File { mode: u32, uid: u32, data: Vec<u8> },
}

/// A layer's file tree, written as a deterministic tar.
#[derive(Default, Clone)]
pub struct LayerTree {
    entries: BTreeMap<String, Entry>,
}

impl LayerTree {
    fn add_parents(&mut self, path: &str) {
        let mut prefix = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            self.entries.entry(prefix.clone()).or_insert(Entry::Dir {
                mode: 0o755,
                uid: 0,
            });
        }
    }

    /// Adds a directory (and its parents) owned by `uid`.
    pub fn dir(&mut self, path: &str, mode: u32, uid: u32) {
        self.add_parents(path);
        self.entries
            .insert(path.to_string(), Entry::Dir { mode, uid });
    }

    /// Adds a root-owned file (and its parents).
    pub fn file(&mut self, path: &str, mode: u32, data: Vec<u8>) {
        self.add_parents(path);
        self.entries
            .insert(path.to_string(), Entry::File { mode, uid: 0, data });
    }

    /// The uncompressed tar. Entries come out in path order, so a parent
    /// always precedes its children.
    pub fn to_tar(&self) -> Result<Vec<u8>, ImageError> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, entry) in &self.entries {
            let mut header = tar::Header::new_ustar();
            header.set_mtime(0);
            match entry {
                Entry::Dir { mode, uid } => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(*mode);
                    header.set_uid(u64::from(*uid));
                    header.set_gid(u64::from(*uid));
                    header.set_size(0);
                    builder
                        .append_data(&mut header, format!("{path}/"), std::io::empty())
                        .map_err(ImageError::Tar)?;
                }
                Entry::File { mode, uid, data } => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(*mode);
                    header.set_uid(u64::from(*uid));
                    header.set_gid(u64::from(*uid));
                    header.set_size(data.len() as u64);
                    builder
                        .append_data(&mut header, path, data.as_slice())
                        .map_err(ImageError::Tar)?;
                }
            }
        }
        builder.into_inner().map_err(ImageError::Tar)
    }

    /// Stores the tree as a gzip layer; returns the layer descriptor and the
    /// diff id (digest of the uncompressed tar).
    pub fn write_layer(&self, layout: &LayoutWriter) -> Result<(Descriptor, String), ImageError> {
        use std::io::Write;
        let tar = self.to_tar()?;
        let diff_id = sha256_digest(&tar);
        // GzEncoder writes mtime 0, no file name and OS "unknown": stable output.
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&tar).map_err(ImageError::Tar)?;
        let compressed = gz.finish().map_err(ImageError::Tar)?;
        let descriptor = layout.put_blob(MEDIA_TYPE_LAYER_GZIP, &compressed)?;
        Ok((descriptor, diff_id))
    }
}

/// What goes into the base layer shared by every image.
#[derive(Debug, Clone)]
pub struct BaseContents {
    /// Candidate CA bundle paths on the build host; the first that exists is used.
    pub ca_bundle_candidates: Vec<PathBuf>,
    /// Time zones to copy from `zoneinfo_dir` (e.g. `Asia/Shanghai`).
    pub zones: Vec<String>,
    /// The build host's zoneinfo directory (`/usr/share/zoneinfo`).
    pub zoneinfo_dir: PathBuf,
}

/// The base layer, plus notes on what had to be left out.
pub struct BaseLayer {
    /// The file tree.
    pub tree: LayerTree,
    /// Human-readable notes (missing time zones).
    pub notes: Vec<String>,
}

fn read(path: &Path) -> Result<Vec<u8>, ImageError> {
    std::fs::read(path).map_err(|source| ImageError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Assembles the base layer: `/etc/passwd` and `/etc/group` with the
/// `nonroot` user, the CA bundle, the chosen time zones, and writable
/// `/tmp` and `/home/nonroot`.
pub fn base_layer(contents: &BaseContents) -> Result<BaseLayer, ImageError> {
    let mut tree = LayerTree::default();
    let mut notes = Vec::new();
    tree.file(
        "etc/passwd",
        0o644,
        format!("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:{NONROOT_UID}:{NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n").into_bytes(),
    );
    tree.file(
        "etc/group",
        0o644,
        format!("root:x:0:\nnonroot:x:{NONROOT_UID}:\n").into_bytes(),
    );
    let ca = contents
        .ca_bundle_candidates
        .iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            ImageError::NoCaBundle(
                contents
                    .ca_bundle_candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?;
    tree.file(CA_BUNDLE_PATH, 0o644, read(ca)?);
    for zone in &contents.zones {
        let source = contents.zoneinfo_dir.join(zone);
        if zone.split('/').any(|part| part == ".." || part.is_empty()) {
            notes.push(format!("time zone {zone:?} skipped: not a plain zone name"));
            continue;
        }
        match std::fs::read(&source) {
            Ok(data) => tree.file(&format!("usr/share/zoneinfo/{zone}"), 0o644, data),
            Err(_) => notes.push(format!(
                "time zone {zone} not found at {} on the build host; left out of the images",
                source.display()
            )),
        }
    }
    tree.dir("tmp", 0o1777, 0);
    tree.dir("home/nonroot", 0o755, NONROOT_UID);
    Ok(BaseLayer { tree, notes })
}

/// The OCI platform of a bundle arch name (`amd64`, `arm64`, `loong64`).
pub fn platform_of(arch: &str) -> Platform {
    Platform {
        architecture: arch.to_string(),
        os: "linux".to_string(),
        variant: (arch == "arm64").then(|| "v8".to_string()),
    }
}

/// Inputs of one single-platform service image.
pub struct ServiceImage<'a> {
    /// Binary name, also the entrypoint (`yunhui-signal`).
    pub binary_name: &'a str,
    /// The binary's bytes.
    pub binary: Vec<u8>,
    /// Bundle arch (`amd64`, `arm64`, `loong64`).
    pub arch: &'a str,
    /// Version label.
    pub version: &'a str,
    /// Source revision label (git commit).
    pub revision: &'a str,
    /// Layers of this arch's tools (`tool_layer`), stacked above the binary.
    pub tool_layers: &'a [(Descriptor, String)],
    /// Layers shared by every arch of this component (its assets), stacked
    /// above the tools.
    pub asset_layers: &'a [(Descriptor, String)],
    /// Extra `NAME=value` environment of the image (where its assets and
    /// tools are).
    pub env: &'a [String],
}

/// A layer holding one executable at the absolute path `to` (mode 0755,
/// owned by root, so the non-root user runs it but cannot change it).
pub fn tool_layer(to: &str, executable: Vec<u8>) -> LayerTree {
    let mut tree = LayerTree::default();
    tree.file(to.trim_start_matches('/'), 0o755, executable);
    tree
}

/// A layer with the files of a source folder under `to` (root-owned,
/// readable by everyone), in path order. Fails on anything but plain
/// files and folders.
pub fn asset_layer(from: &Path, to: &str) -> Result<LayerTree, ImageError> {
    fn walk(tree: &mut LayerTree, dir: &Path, at: &str) -> Result<(), ImageError> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|source| ImageError::Read {
                path: dir.to_path_buf(),
                source,
            })?
            .collect::<Result<_, _>>()
            .map_err(|source| ImageError::Read {
                path: dir.to_path_buf(),
                source,
            })?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        tree.dir(at, 0o755, 0);
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().map_err(|source| ImageError::Read {
                path: path.clone(),
                source,
            })?;
            if kind.is_dir() {
                walk(tree, &path, &format!("{at}/{name}"))?;
            } else if kind.is_file() {
                tree.file(&format!("{at}/{name}"), 0o644, read(&path)?);
            } else {
                return Err(ImageError::Read {
                    path,
                    source: std::io::Error::other("neither a file nor a folder"),
                });
            }
        }
        Ok(())
    }
    let mut tree = LayerTree::default();
    walk(&mut tree, from, to.trim_matches('/'))?;
    Ok(tree)
}

/// Writes one platform's image (base layer, binary layer, config, manifest)
/// into the layout and returns the manifest's descriptor with its platform.
pub fn write_service_image(
    layout: &LayoutWriter,
    base: &(Descriptor, String),
    image: &ServiceImage<'_>,
) -> Result<Descriptor, ImageError> {
    let mut tree = LayerTree::default();
    tree.file(
        &format!("{BINARY_DIR}/{}", image.binary_name),
        0o755,
        image.binary.clone(),
    );
    let binary_layer = tree.write_layer(layout)?;
    let platform = platform_of(image.arch);
    let labels = BTreeMap::from([
        (
            "org.opencontainers.image.version".to_string(),
            image.version.to_string(),
        ),
        (
            "org.opencontainers.image.revision".to_string(),
            image.revision.to_string(),
        ),
        (
            "org.opencontainers.image.title".to_string(),
            image.binary_name.to_string(),
        ),
    ]);
    let config = ImageConfig {
        architecture: platform.architecture.clone(),
        os: platform.os.clone(),
        variant: platform.variant.clone(),
        config: RuntimeConfig {
            user: format!("{NONROOT_UID}:{NONROOT_UID}"),
            env: [
                "PATH=/usr/local/bin:/usr/bin:/bin".to_string(),
                format!("SSL_CERT_FILE=/{CA_BUNDLE_PATH}"),
            ]
            .into_iter()
            .chain(image.env.iter().cloned())
            .collect(),
            entrypoint: vec![format!("/{BINARY_DIR}/{}", image.binary_name)],
            working_dir: "/home/nonroot".to_string(),
            labels: labels.clone(),
        },
        rootfs: RootFs {
            kind: "layers".to_string(),
            diff_ids: [base.1.clone(), binary_layer.1.clone()]
                .into_iter()
                .chain(
                    image
                        .tool_layers
                        .iter()
                        .chain(image.asset_layers)
                        .map(|(_, diff_id)| diff_id.clone()),
                )
                .collect(),
        },
    };
    let config = layout.put_json(MEDIA_TYPE_CONFIG, &config)?;
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: MEDIA_TYPE_MANIFEST.to_string(),
        config,
        layers: [base.0.clone(), binary_layer.0]
            .into_iter()
            .chain(
                image
                    .tool_layers
                    .iter()
                    .chain(image.asset_layers)
                    .map(|(layer, _)| layer.clone()),
            )
            .collect(),
        annotations: labels,
    };
    let mut descriptor = layout.put_json(MEDIA_TYPE_MANIFEST, &manifest)?;
    descriptor.platform = Some(platform);
    Ok(descriptor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loong64_images_are_linux_loong64_without_a_variant() {
        let platform = platform_of("loong64");
        assert_eq!(
            (platform.os.as_str(), platform.architecture.as_str()),
            ("linux", "loong64")
        );
        assert_eq!(platform.variant, None);
        assert_eq!(platform_of("arm64").variant.as_deref(), Some("v8"));
    }
}
