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

use super::digest::{self, DigestAlgorithm, FileDigests};
use super::manifest::{
    BUNDLED_PUBLIC_KEY, BundleManifest, IMAGES_DIR, MANIFEST_FILE, SIGNATURE_FILE, SIGNATURE_FILES,
    SM2_SIGNATURE_FILE, aggregate,
};
use super::oci::{ImageIndex, ImageManifest, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use super::signing::{self, Algorithm, PublicKey, sm2::SignatureProblem};

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
    /// The algorithm of its signature.
    pub algorithm: Algorithm,
    /// True when checked only against the key shipped inside the bundle,
    /// which proves integrity but not origin.
    pub key_from_bundle: bool,
    /// Verified files: bundle path → (sha256 hex, size). The SHA-256 is
    /// measured even when the manifest lists SM3 digests.
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

/// Hashes a file without following links: its SHA-256, and its SM3 for an
/// SM3 manifest.
fn hash_nofollow(path: &Path, algorithm: DigestAlgorithm) -> std::io::Result<FileDigests> {
    let file = open_nofollow(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    digest::hash_reader(file, algorithm)
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

/// What checking a bundle's signature established.
#[derive(Debug)]
pub(crate) struct CheckedSignature {
    /// The manifest, signature-checked.
    pub manifest: BundleManifest,
    /// Id (fingerprint) of the key that signed it.
    pub key_id: String,
    /// Whether the bundle's own key was used (integrity only).
    pub key_from_bundle: bool,
    /// The signature file that was checked.
    pub signature_file: &'static str,
    /// The signature's algorithm (the key's).
    pub algorithm: Algorithm,
}

/// Checks the signature over the manifest, in the algorithm of the key
/// (`key`, or the bundle's own key): ed25519 (minisign) or SM2.
pub(crate) fn check_signature(
    root: &Path,
    key: Option<&Path>,
) -> Result<CheckedSignature, Vec<String>> {
    let manifest_bytes = read_document(&root.join(MANIFEST_FILE))
        .map_err(|e| vec![format!("{MANIFEST_FILE}: cannot read: {e}")])?;
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
    let algorithm = public.algorithm();
    let signature_file = algorithm.signature_file();
    // The key decides the algorithm; a bundle signed in the other one is
    // refused by name before anything of it is read.
    let present = |name: &str| std::fs::symlink_metadata(root.join(name)).is_ok();
    if !present(signature_file)
        && let Some(other) = SIGNATURE_FILES
            .into_iter()
            .find(|name| present(name))
            .and_then(Algorithm::of_signature_file)
    {
        return Err(vec![format!(
            "{}: the bundle is signed with {}, but the key {} is an {} key (it checks {signature_file}); verify with the publisher's {} public key",
            other.signature_file(),
            other.describe(),
            key_path.display(),
            algorithm.describe(),
            other.describe(),
        )]);
    }
    let signature_bytes = read_document(&root.join(signature_file))
        .map_err(|e| vec![format!("{signature_file}: cannot read: {e}")])?;
    match &public {
        PublicKey::Ed25519(public) => {
            check_minisign(public, &key_path, &manifest_bytes, &signature_bytes)?
        }
        PublicKey::Sm2(public) => check_sm2(
            public,
            &key_path,
            (!key_from_bundle).then(|| root.join(BUNDLED_PUBLIC_KEY)),
            &manifest_bytes,
            &signature_bytes,
        )?,
    }
    let manifest: BundleManifest = serde_json::from_slice(&manifest_bytes).map_err(|e| {
        vec![format!(
            "{MANIFEST_FILE}: signed but not a bundle manifest this yunhui understands: {e}"
        )]
    })?;
    // One algorithm family per bundle: SM2 signatures go with SM3 digests,
    // ed25519 ones with SHA-256, as `bundle build` makes them.
    if manifest.digest != algorithm.digest() {
        return Err(vec![format!(
            "{MANIFEST_FILE}: lists {} digests, but bundles signed with {} list {} digests",
            manifest.digest.name(),
            algorithm.describe(),
            algorithm.digest().name()
        )]);
    }
    Ok(CheckedSignature {
        manifest,
        key_id: public.key_id(),
        key_from_bundle,
        signature_file,
        algorithm,
    })
}

/// An ed25519 signature in minisign format over the manifest.
fn check_minisign(
    public: &minisign::PublicKey,
    key_path: &Path,
    manifest_bytes: &[u8],
    signature_bytes: &[u8],
) -> Result<(), Vec<String>> {
    let signature = std::str::from_utf8(signature_bytes)
        .ok()
        .and_then(|text| SignatureBox::from_string(text).ok())
        .ok_or_else(|| {
            vec![format!(
                "{SIGNATURE_FILE}: not a valid minisign signature (damaged)"
            )]
        })?;
    if signature.keynum() != public.keynum() {
        return Err(vec![format!(
            "{SIGNATURE_FILE}: made with key id {}, not with the given key {} ({}); wrong key, or the signature was altered",
            signing::ed25519::keynum_id(signature.keynum()),
            signing::ed25519::key_id(public),
            key_path.display()
        )]);
    }
    if minisign::verify(
        public,
        &signature,
        std::io::Cursor::new(manifest_bytes),
        true,
        false,
        false,
    )
    .is_err()
    {
        // Say which file changed: the trusted comment records the manifest's
        // digest (used only to word the error, never to accept anything).
        let actual = super::oci::sha256_digest(manifest_bytes);
        let recorded = signature.trusted_comment().unwrap_or_default();
        let problem = if recorded.contains("manifest sha256:") && !recorded.contains(&actual) {
            format!("{MANIFEST_FILE}: altered after signing (does not match {SIGNATURE_FILE})")
        } else {
            format!("{SIGNATURE_FILE}: signature does not verify (the signature file was altered)")
        };
        return Err(vec![problem]);
    }
    Ok(())
}

/// An SM2 signature (DER) over the manifest. `bundled_key` is the bundle's
/// own key when another key was given: it is read only to word the error
/// (a signature by another key), never to accept anything.
fn check_sm2(
    public: &::sm2::PublicKey,
    key_path: &Path,
    bundled_key: Option<PathBuf>,
    manifest_bytes: &[u8],
    signature_bytes: &[u8],
) -> Result<(), Vec<String>> {
    let key_id = signing::sm2::key_id(public);
    match signing::sm2::verify(public, manifest_bytes, signature_bytes) {
        Ok(()) => Ok(()),
        Err(SignatureProblem::Malformed) if signature_bytes.starts_with(b"untrusted comment:") => {
            Err(vec![format!(
                "{SM2_SIGNATURE_FILE}: holds an ed25519 (minisign) signature, not an SM2 one; an SM2 key ({}) checks only SM2 signatures",
                key_path.display()
            )])
        }
        Err(SignatureProblem::Malformed) => Err(vec![format!(
            "{SM2_SIGNATURE_FILE}: not an SM2 signature (a DER SEQUENCE of r and s): damaged, or a signature of another kind"
        )]),
        Err(SignatureProblem::DoesNotVerify) => {
            let other_signer = bundled_key
                .and_then(|path| {
                    let text = read_document(&path).ok()?;
                    signing::sm2::parse_public_key(&String::from_utf8_lossy(&text), &path).ok()
                })
                .filter(|bundled| {
                    bundled != public
                        && signing::sm2::verify(bundled, manifest_bytes, signature_bytes).is_ok()
                });
            Err(vec![match other_signer {
                Some(signer) => format!(
                    "{SM2_SIGNATURE_FILE}: made with key {}, not with the given key {key_id} ({}); wrong key",
                    signing::sm2::key_id(&signer),
                    key_path.display()
                ),
                None => format!(
                    "{MANIFEST_FILE} or {SM2_SIGNATURE_FILE}: altered after signing, or signed by another key: the SM2 signature does not verify with key {key_id} ({})",
                    key_path.display()
                ),
            }])
        }
    }
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
    let CheckedSignature {
        manifest,
        key_id,
        key_from_bundle,
        signature_file,
        algorithm: signature_algorithm,
    } = check_signature(root, key).map_err(fail)?;
    let algorithm = manifest.digest;
    let mut problems = Vec::new();

    // Every file on disk must be listed, every listed file must match.
    let mut on_disk = BTreeSet::new();
    walk(root, root, &mut on_disk, &mut problems);
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for path in &on_disk {
        if path != MANIFEST_FILE && path != signature_file && !listed.contains(path.as_str()) {
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
        match hash_nofollow(&root.join(&file.path), algorithm) {
            Err(e) => problems.push(format!("{}: cannot read: {e}", file.path)),
            Ok(measured) if measured.size != file.size => problems.push(format!(
                "{}: size {} bytes, the manifest says {} (truncated or altered)",
                file.path, measured.size, file.size
            )),
            Ok(measured) if measured.listed(algorithm) != file.digest(algorithm) => {
                problems.push(format!(
                    "{}: {} {} does not match the manifest's {:?} (altered or corrupted)",
                    file.path,
                    algorithm.name(),
                    measured.listed(algorithm),
                    file.digest(algorithm)
                ))
            }
            Ok(FileDigests {
                sha256: sha, size, ..
            }) => {
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
    if aggregate(&manifest.files, algorithm) != manifest.aggregate() {
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
            algorithm: signature_algorithm,
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
