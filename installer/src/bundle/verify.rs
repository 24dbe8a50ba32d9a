//! `yunhui bundle verify`: the signature over the manifest, then every file
//! against the manifest, then the OCI layout's internal references, then
//! completeness. Nothing is trusted before it is checked: the manifest only
//! after its signature, a blob only after its digest, sizes only as measured.
//! Links are never followed (files are opened with `O_NOFOLLOW`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use minisign::SignatureBox;
use sha2::{Digest, Sha256};

use super::manifest::{
    BUNDLED_PUBLIC_KEY, BundleManifest, IMAGES_DIR, MANIFEST_FILE, SIGNATURE_FILE, aggregate_sha256,
};
use super::oci::{ImageIndex, ImageManifest, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use super::signing;

/// Largest manifest or signature accepted (a bundle manifest is a few hundred KiB).
const MAX_DOCUMENT: u64 = 64 << 20;

/// Why a bundle did not verify: every problem found, each naming its file.
#[derive(Debug, thiserror::Error)]
#[error("bundle {} failed verification:\n  - {}", bundle.display(), problems.join("\n  - "))]
pub struct VerifyError {
    /// The bundle directory.
    pub bundle: PathBuf,
    /// One sentence per problem, starting with the file's bundle path.
    pub problems: Vec<String>,
}

/// A bundle that passed verification.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The bundle directory.
    pub root: PathBuf,
    /// Its (signature-checked) manifest.
    pub manifest: BundleManifest,
    /// Key id that signed it.
    pub key_id: String,
    /// True when checked only against the key shipped inside the bundle,
    /// which proves integrity but not origin.
    pub key_from_bundle: bool,
    /// Verified files: bundle path → (sha256 hex, size).
    pub files: BTreeMap<String, (String, u64)>,
}

fn open_nofollow(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Reads a small file without following links, refusing anything larger than `MAX_DOCUMENT`.
pub(crate) fn read_document(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = open_nofollow(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_DOCUMENT {
        return Err(std::io::Error::other("larger than 64 MiB"));
    }
    Ok(bytes)
}

/// Hashes a file without following links; returns (sha256 hex, size).
fn hash_nofollow(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = open_nofollow(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// Whether a manifest path is a plain relative path (no `..`, no root).
fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Walks the bundle without following links: regular files go to `files`,
/// anything else is a problem.
fn walk(root: &Path, dir: &Path, files: &mut BTreeSet<String>, problems: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(format!("{}: cannot list: {e}", dir.display()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| path.display().to_string());
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => problems.push(format!(
                "{relative}: is a symbolic link; bundles never contain links (not followed)"
            )),
            Ok(meta) if meta.is_dir() => walk(root, &path, files, problems),
            Ok(meta) if meta.is_file() => {
                files.insert(relative);
            }
            Ok(_) => problems.push(format!("{relative}: not a regular file")),
            Err(e) => problems.push(format!("{relative}: cannot inspect: {e}")),
        }
    }
}

/// Checks the signature; returns the parsed manifest, the key id and whether
/// the bundle's own key was used.
pub(crate) fn check_signature(
    root: &Path,
    key: Option<&Path>,
) -> Result<(BundleManifest, String, bool), Vec<String>> {
    let manifest_bytes = read_document(&root.join(MANIFEST_FILE))
        .map_err(|e| vec![format!("{MANIFEST_FILE}: cannot read: {e}")])?;
    let signature_text = read_document(&root.join(SIGNATURE_FILE))
        .map_err(|e| vec![format!("{SIGNATURE_FILE}: cannot read: {e}")])?;
    let (key_path, key_from_bundle) = match key {
        Some(path) => (path.to_path_buf(), false),
        None => (root.join(BUNDLED_PUBLIC_KEY), true),
    };
    let key_text = read_document(&key_path).map_err(|e| {
        vec![format!(
            "{}: cannot read public key: {e}",
            key_path.display()
        )]
    })?;
    let public = signing::parse_public_key(&String::from_utf8_lossy(&key_text), &key_path)
        .map_err(|e| vec![e.to_string()])?;
    let signature = std::str::from_utf8(&signature_text)
        .ok()
        .and_then(|text| SignatureBox::from_string(text).ok())
        .ok_or_else(|| {
            vec![format!(
                "{SIGNATURE_FILE}: not a valid minisign signature (damaged)"
            )]
        })?;
    if signature.keynum() != public.keynum() {
        let mut le = [0u8; 8];
        le.copy_from_slice(&signature.keynum()[..8]);
        return Err(vec![format!(
            "{SIGNATURE_FILE}: made with key id {:016X}, not with the given key {} ({}); wrong key, or the signature was altered",
            u64::from_le_bytes(le),
            signing::key_id(&public),
            key_path.display()
        )]);
    }
    if minisign::verify(
        &public,
        &signature,
        std::io::Cursor::new(&manifest_bytes),
        true,
        false,
        false,
    )
    .is_err()
    {
        // Say which file changed: the trusted comment records the manifest's
        // digest (used only to word the error, never to accept anything).
        let actual = super::oci::sha256_digest(&manifest_bytes);
        let recorded = signature.trusted_comment().unwrap_or_default();
        let problem = if recorded.contains("manifest sha256:") && !recorded.contains(&actual) {
            format!("{MANIFEST_FILE}: altered after signing (does not match {SIGNATURE_FILE})")
        } else {
            format!("{SIGNATURE_FILE}: signature does not verify (the signature file was altered)")
        };
        return Err(vec![problem]);
    }
    let manifest: BundleManifest = serde_json::from_slice(&manifest_bytes).map_err(|e| {
        vec![format!(
            "{MANIFEST_FILE}: signed but not a bundle manifest this yunhui understands: {e}"
        )]
    })?;
    Ok((manifest, signing::key_id(&public), key_from_bundle))
}

/// Verifies a bundle directory. `key` is the publisher's public key; without
/// it the key inside the bundle is used (integrity only).
pub fn verify(root: &Path, key: Option<&Path>) -> Result<VerifiedBundle, VerifyError> {
    let fail = |problems: Vec<String>| VerifyError {
        bundle: root.to_path_buf(),
        problems,
    };
    if !root.is_dir() {
        return Err(fail(vec![format!("{}: not a directory", root.display())]));
    }
    let (manifest, key_id, key_from_bundle) = check_signature(root, key).map_err(fail)?;
    let mut problems = Vec::new();

    // Every file on disk must be listed, every listed file must match.
    let mut on_disk = BTreeSet::new();
    walk(root, root, &mut on_disk, &mut problems);
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for path in &on_disk {
        if path != MANIFEST_FILE && path != SIGNATURE_FILE && !listed.contains(path.as_str()) {
            problems.push(format!("{path}: extra file not listed in the manifest"));
        }
    }
    let mut verified = BTreeMap::new();
    for file in &manifest.files {
        if !is_safe_relative(&file.path) {
            problems.push(format!(
                "{}: unsafe path in the manifest (absolute or with ..)",
                file.path
            ));
            continue;
        }
        if !on_disk.contains(&file.path) {
            problems.push(format!("{}: missing (listed in the manifest)", file.path));
            continue;
        }
        match hash_nofollow(&root.join(&file.path)) {
            Err(e) => problems.push(format!("{}: cannot read: {e}", file.path)),
            Ok((_, size)) if size != file.size => problems.push(format!(
                "{}: size {size} bytes, the manifest says {} (truncated or altered)",
                file.path, file.size
            )),
            Ok((sha, _)) if sha != file.sha256 => problems.push(format!(
                "{}: sha256 {sha} does not match the manifest's {} (altered or corrupted)",
                file.path, file.sha256
            )),
            Ok((sha, size)) => {
                if let Some(name) = file
                    .path
                    .strip_prefix(&format!("{IMAGES_DIR}/blobs/sha256/"))
                    && name != sha
                {
                    problems.push(format!(
                        "{}: blob content does not match its digest name",
                        file.path
                    ));
                    continue;
                }
                verified.insert(file.path.clone(), (sha, size));
            }
        }
    }
    if aggregate_sha256(&manifest.files) != manifest.aggregate_sha256 {
        problems.push(format!(
            "{MANIFEST_FILE}: aggregate checksum does not match its file list"
        ));
    }
    if problems.is_empty() {
        check_images(root, &manifest, &verified, &mut problems);
    }
    if problems.is_empty() {
        Ok(VerifiedBundle {
            root: root.to_path_buf(),
            manifest,
            key_id,
            key_from_bundle,
            files: verified,
        })
    } else {
        Err(fail(problems))
    }
}

/// Bundle path of a blob.
pub fn blob_path(digest: &str) -> Option<String> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then(|| format!("{IMAGES_DIR}/blobs/sha256/{hex}"))
}

/// The OCI layout: every reference resolves to a verified blob of the right
/// size; every image of the manifest is there; strict editions are complete.
fn check_images(
    root: &Path,
    manifest: &BundleManifest,
    verified: &BTreeMap<String, (String, u64)>,
    problems: &mut Vec<String>,
) {
    let index_path = format!("{IMAGES_DIR}/index.json");
    if !verified.contains_key(&index_path) {
        problems.push(format!(
            "{index_path}: missing (every bundle has an OCI layout)"
        ));
        return;
    }
    let read_json = |path: &str| -> Result<serde_json::Value, String> {
        let bytes =
            read_document(&root.join(path)).map_err(|e| format!("{path}: cannot read: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{path}: not JSON: {e}"))
    };
    let mut pending: Vec<(String, String, u64, String)> = Vec::new();
    match read_json(&index_path).and_then(|v| {
        serde_json::from_value::<ImageIndex>(v)
            .map_err(|e| format!("{index_path}: not an OCI index: {e}"))
    }) {
        Ok(index) => {
            for d in index.manifests {
                pending.push((d.digest, d.media_type, d.size, index_path.clone()));
            }
        }
        Err(e) => problems.push(e),
    }
    let mut seen = BTreeSet::new();
    while let Some((digest, media_type, size, referrer)) = pending.pop() {
        let Some(path) = blob_path(&digest) else {
            problems.push(format!("{referrer}: malformed digest {digest}"));
            continue;
        };
        match verified.get(&path) {
            None => {
                problems.push(format!("{path}: missing, referenced by {referrer}"));
                continue;
            }
            Some((_, actual)) if *actual != size => {
                problems.push(format!("{path}: size {actual}, {referrer} says {size}"));
                continue;
            }
            Some(_) => {}
        }
        if !seen.insert(path.clone()) {
            continue;
        }
        let children = match media_type.as_str() {
            MEDIA_TYPE_INDEX => read_json(&path).and_then(|v| {
                serde_json::from_value::<ImageIndex>(v)
                    .map(|i| i.manifests)
                    .map_err(|e| format!("{path}: not an OCI index: {e}"))
            }),
            MEDIA_TYPE_MANIFEST => read_json(&path).and_then(|v| {
                serde_json::from_value::<ImageManifest>(v)
                    .map(|m| std::iter::once(m.config).chain(m.layers).collect())
                    .map_err(|e| format!("{path}: not an OCI image manifest: {e}"))
            }),
            _ => Ok(Vec::new()),
        };
        match children {
            Ok(children) => {
                for d in children {
                    pending.push((d.digest, d.media_type, d.size, path.clone()));
                }
            }
            Err(e) => problems.push(e),
        }
    }
    for image in &manifest.images {
        for digest in
            std::iter::once(&image.digest).chain(image.platforms.iter().map(|p| &p.digest))
        {
            if !blob_path(digest).is_some_and(|p| seen.contains(&p)) {
                problems.push(format!(
                    "{index_path}: image {} ({digest}) listed in {MANIFEST_FILE} is not in the OCI layout",
                    image.repository
                ));
            }
        }
    }
    if manifest.strict_arches {
        for component in &manifest.components {
            for target in &manifest.targets {
                let present = manifest.images.iter().any(|i| {
                    i.component == component.name
                        && i.platforms.iter().any(|p| p.arch == target.arch)
                });
                if !present {
                    problems.push(format!(
                        "{MANIFEST_FILE}: strict edition {} lacks image {} for {}",
                        manifest.edition, component.name, target.arch
                    ));
                }
            }
        }
    }
}
