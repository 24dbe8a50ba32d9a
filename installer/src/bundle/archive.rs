//! The single-file bundle: the bundle directory as one tar (optionally
//! zstd-compressed), written by `bundle build` next to the directory and
//! accepted wherever a bundle directory is (verify, registry push and
//! serve, install).
//!
//! Layout: `manifest.json`, its signature (`manifest.json.minisig`, or
//! `manifest.json.sm2sig` for SM2) and `bundle.pub` first,
//! then every file of the manifest in its order; regular files only, fixed
//! owner, mode and time, so the same bundle gives the same archive.
//!
//! Extraction trusts nothing it has not checked: the signature is checked
//! as soon as the first three entries are in, before any other byte is
//! written; then every entry must be a regular file (no links, devices or
//! other types), with a plain relative path (no root, no `..`), listed in
//! the signed manifest, not seen before, with the header size the manifest
//! gives; its content is hashed while written and removed on mismatch.
//! Files are created new (never through a link) in a directory the
//! extraction created. On any problem the target directory is removed.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

use super::digest::{DigestAlgorithm, FileDigests, FileHasher};
use super::manifest::{BUNDLED_PUBLIC_KEY, BundleManifest, MANIFEST_FILE, SIGNATURE_FILES};
use super::verify::{VerifiedBundle, VerifyError, check_signature, read_document, verify};

/// The zstd frame magic number.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Largest manifest, signature or key entry read before the signature is checked.
const MAX_HEAD_ENTRY: u64 = 64 << 20;

/// Compression of the single-file bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Compression {
    /// No single file, only the directory.
    None,
    /// A plain tar (`.tar`).
    Tar,
    /// A zstd-compressed tar (`.tar.zst`).
    #[default]
    Zstd,
}

/// Why a single-file bundle was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// An entry of the archive is refused; nothing was kept.
    #[error("{archive}: entry {entry:?}: {message}; nothing was extracted")]
    Entry {
        /// The archive.
        archive: PathBuf,
        /// The entry's path as stored.
        entry: String,
        /// What is wrong.
        message: String,
    },
    /// The archive as a whole is unusable.
    #[error("{archive}: {message}")]
    Archive {
        /// The archive.
        archive: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The extracted bundle did not verify.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// No trusted key was given (see [`super::trust`]); nothing was read.
    #[error("{0}")]
    Trust(String),
}

/// Writes the bundle directory `root` as one archive; returns its path.
pub fn write(
    root: &Path,
    manifest: &BundleManifest,
    compression: Compression,
) -> std::io::Result<Option<PathBuf>> {
    let extension = match compression {
        Compression::None => return Ok(None),
        Compression::Tar => "tar",
        Compression::Zstd => "tar.zst",
    };
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".into());
    let path = root.with_file_name(format!("{name}.{extension}"));
    let partial = root.with_file_name(format!(".{name}.{extension}.partial"));
    let file = std::fs::File::create(&partial)?;
    let sink: Box<dyn Write> = match compression {
        Compression::Zstd => {
            let encoder = zstd::stream::write::Encoder::new(file, 3)?;
            Box::new(encoder.auto_finish())
        }
        _ => Box::new(file),
    };
    let mut builder = tar::Builder::new(std::io::BufWriter::new(sink));
    // The bundle's one signature file, whichever algorithm made it.
    let signature_file = SIGNATURE_FILES
        .into_iter()
        .find(|name| root.join(name).is_file())
        .ok_or_else(|| std::io::Error::other("the bundle has no manifest signature"))?;
    let mut order: Vec<&str> = vec![MANIFEST_FILE, signature_file, BUNDLED_PUBLIC_KEY];
    order.extend(
        manifest
            .files
            .iter()
            .map(|f| f.path.as_str())
            .filter(|p| *p != BUNDLED_PUBLIC_KEY),
    );
    for entry in order {
        let source = root.join(entry);
        let mut file = std::fs::File::open(&source)?;
        let size = file.metadata()?.len();
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(EntryType::Regular);
        header.set_size(size);
        header.set_mode(if entry.starts_with("bin/") {
            0o755
        } else {
            0o644
        });
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        builder.append_data(&mut header, entry, &mut file)?;
    }
    let mut writer = builder.into_inner()?;
    writer.flush()?;
    drop(writer);
    std::fs::rename(&partial, &path)?;
    Ok(Some(path))
}

/// A verified bundle, from a directory or extracted from a single file
/// (the extraction lives as long as this value).
pub struct OpenedBundle {
    /// The verified bundle.
    pub verified: VerifiedBundle,
    _extracted: Option<tempfile::TempDir>,
}

impl std::ops::Deref for OpenedBundle {
    type Target = VerifiedBundle;
    fn deref(&self) -> &VerifiedBundle {
        &self.verified
    }
}

/// Verifies a bundle directory, or extracts a single-file bundle into a
/// private temporary directory and verifies that.
pub fn open(path: &Path, key: Option<&Path>) -> Result<OpenedBundle, ArchiveError> {
    if path.is_dir() {
        return Ok(OpenedBundle {
            verified: verify(path, key)?,
            _extracted: None,
        });
    }
    let temp = tempfile::Builder::new()
        .prefix("yunhui-bundle-")
        .tempdir()
        .map_err(|e| ArchiveError::Archive {
            archive: path.to_path_buf(),
            message: format!("cannot create a temporary directory: {e}"),
        })?;
    let target = temp.path().join("bundle");
    let mut verified = extract(path, &target, key)?;
    verified.root = target;
    Ok(OpenedBundle {
        verified,
        _extracted: Some(temp),
    })
}

/// The manifest of a bundle directory or single file, NOT verified: for
/// what a host can tell before installing (preflight's architecture check),
/// never for trusting the bundle. A single file's manifest is its first entry.
pub fn read_manifest(path: &Path) -> Result<BundleManifest, ArchiveError> {
    let whole = |message: String| ArchiveError::Archive {
        archive: path.to_path_buf(),
        message,
    };
    let bytes = if path.is_dir() {
        read_document(&path.join(MANIFEST_FILE))
            .map_err(|e| whole(format!("{MANIFEST_FILE}: cannot read: {e}")))?
    } else {
        let mut tar = tar_stream(path)?;
        let mut entries = tar
            .entries()
            .map_err(|e| whole(format!("not a tar archive: {e}")))?;
        let mut first = entries
            .next()
            .ok_or_else(|| whole("empty archive".into()))?
            .map_err(|e| whole(format!("damaged tar stream: {e}")))?;
        if first.path_bytes().as_ref() != MANIFEST_FILE.as_bytes() {
            return Err(whole(format!("the first entry is not {MANIFEST_FILE}")));
        }
        let mut bytes = Vec::new();
        (&mut first)
            .take(MAX_HEAD_ENTRY + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| whole(format!("{MANIFEST_FILE}: cannot read: {e}")))?;
        bytes
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| whole(format!("{MANIFEST_FILE} is not a bundle manifest: {e}")))
}

/// The tar stream of a single-file bundle, plain or zstd-compressed (told
/// apart by its first bytes), never following a link.
fn tar_stream(archive: &Path) -> Result<tar::Archive<Box<dyn Read>>, ArchiveError> {
    let whole = |message: String| ArchiveError::Archive {
        archive: archive.to_path_buf(),
        message,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(archive)
        .map_err(|e| whole(format!("cannot open: {e}")))?;
    let mut buffered = BufReader::new(file);
    let head = buffered
        .fill_buf()
        .map_err(|e| whole(format!("cannot read: {e}")))?;
    let reader: Box<dyn Read> = if head.starts_with(&ZSTD_MAGIC) {
        Box::new(
            zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| whole(format!("not a zstd stream: {e}")))?,
        )
    } else {
        Box::new(buffered)
    };
    Ok(tar::Archive::new(reader))
}

/// Whether a stored path is a plain relative path.
fn safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && !path.contains('\0')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Extracts `archive` into `target` (created; must not exist) and verifies
/// it. On error nothing is left at `target`.
pub fn extract(
    archive: &Path,
    target: &Path,
    key: Option<&Path>,
) -> Result<VerifiedBundle, ArchiveError> {
    std::fs::create_dir(target).map_err(|e| ArchiveError::Archive {
        archive: archive.to_path_buf(),
        message: format!("cannot create {}: {e}", target.display()),
    })?;
    let result = extract_into(archive, target, key);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(target);
    }
    result
}

fn extract_into(
    archive: &Path,
    target: &Path,
    key: Option<&Path>,
) -> Result<VerifiedBundle, ArchiveError> {
    let whole = |message: String| ArchiveError::Archive {
        archive: archive.to_path_buf(),
        message,
    };
    let mut tar = tar_stream(archive)?;
    let entries = tar
        .entries()
        .map_err(|e| whole(format!("not a tar archive: {e}")))?;
    // The second entry is the signature, in either algorithm.
    let head_order = [
        MANIFEST_FILE.to_string(),
        SIGNATURE_FILES.join(" or "),
        BUNDLED_PUBLIC_KEY.to_string(),
    ];
    let mut manifest: Option<BundleManifest> = None;
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut position = 0usize;
    for entry in entries {
        let mut entry = entry.map_err(|e| whole(format!("damaged tar stream: {e}")))?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let refuse = |message: String| ArchiveError::Entry {
            archive: archive.to_path_buf(),
            entry: name.clone(),
            message,
        };
        let kind = entry.header().entry_type();
        if kind == EntryType::Directory {
            // Directories are created as files need them; an entry for one
            // is accepted only when it is a plain path.
            if !safe_relative(name.trim_end_matches('/')) {
                return Err(refuse("unsafe directory path (absolute or with ..)".into()));
            }
            continue;
        }
        let what = match kind {
            EntryType::Regular | EntryType::Continuous => None,
            EntryType::Symlink => Some("a symbolic link"),
            EntryType::Link => Some("a hard link"),
            EntryType::Char | EntryType::Block => Some("a device"),
            EntryType::Fifo => Some("a FIFO"),
            _ => Some("not a regular file"),
        };
        if let Some(what) = what {
            return Err(refuse(format!(
                "is {what}; bundles hold regular files only"
            )));
        }
        if std::str::from_utf8(&raw).is_err() || !safe_relative(&name) {
            return Err(refuse(
                "unsafe path (absolute, with .. or not UTF-8); refusing to write outside the bundle"
                    .into(),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(refuse("appears twice in the archive".into()));
        }
        let declared = entry
            .header()
            .size()
            .map_err(|e| refuse(format!("damaged header: {e}")))?;
        if position < head_order.len() {
            let expected = match position {
                1 => SIGNATURE_FILES.contains(&name.as_str()),
                _ => name == head_order[position],
            };
            if !expected {
                return Err(refuse(format!(
                    "expected {} at position {} (a single-file bundle starts with {})",
                    head_order[position],
                    position + 1,
                    head_order.join(", ")
                )));
            }
            if declared > MAX_HEAD_ENTRY {
                return Err(refuse("larger than 64 MiB".into()));
            }
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_HEAD_ENTRY + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| refuse(format!("cannot read: {e}")))?;
            write_new(&target.join(&name), &bytes).map_err(|e| refuse(e.to_string()))?;
            position += 1;
            if position == head_order.len() {
                let checked = check_signature(target, key).map_err(|problems| {
                    ArchiveError::Verify(VerifyError {
                        bundle: archive.to_path_buf(),
                        problems,
                    })
                })?;
                manifest = Some(checked.manifest);
            }
            continue;
        }
        let Some(manifest) = &manifest else {
            return Err(refuse("comes before the signed manifest".into()));
        };
        let Some(listed) = manifest.files.iter().find(|f| f.path == name) else {
            return Err(refuse("not listed in the signed manifest".into()));
        };
        if declared != listed.size {
            return Err(refuse(format!(
                "header says {declared} bytes, the signed manifest {}",
                listed.size
            )));
        }
        let path = target.join(&name);
        let algorithm = manifest.digest;
        let written = copy_hashed(&mut entry, &path, listed.size, algorithm);
        match written {
            Ok(measured)
                if measured.size == listed.size
                    && measured.listed(algorithm) == listed.digest(algorithm) => {}
            Ok(measured) => {
                let _ = std::fs::remove_file(&path);
                return Err(refuse(format!(
                    "content ({} bytes, {name} {}) does not match the signed manifest ({} bytes, {name} {})",
                    measured.size,
                    measured.listed(algorithm),
                    listed.size,
                    listed.digest(algorithm),
                    name = algorithm.name(),
                )));
            }
            Err(e) => return Err(refuse(format!("cannot extract: {e}"))),
        }
    }
    if manifest.is_none() {
        return Err(whole(format!(
            "not a single-file bundle: it must start with {}",
            head_order.join(", ")
        )));
    }
    // Completeness, the OCI layout and everything else, as for a directory.
    verify(target, key).map_err(|mut e| {
        e.bundle = archive.to_path_buf();
        ArchiveError::Verify(e)
    })
}

/// Creates `path` (and its parents, inside the extraction directory) as a new file.
fn create_new(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_new(path)?.write_all(bytes)
}

/// Copies at most `limit + 1` bytes into a new file, hashing them.
fn copy_hashed(
    input: &mut impl Read,
    path: &Path,
    limit: u64,
    algorithm: DigestAlgorithm,
) -> std::io::Result<FileDigests> {
    let mut output = create_new(path)?;
    let mut input = input.take(limit + 1);
    let mut hasher = FileHasher::new(algorithm);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        output.write_all(&buffer[..n])?;
    }
    Ok(hasher.finish())
}
