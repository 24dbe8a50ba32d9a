//! `yunhui bundle build`: binaries → images → files → SBOM → manifest → signature.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::edition::{Edition, builds_std, rust_target};
use super::image::{
    BaseContents, ServiceImage, asset_layer, base_layer, tool_layer, write_service_image,
};
use super::manifest::{
    BUNDLED_PUBLIC_KEY, BuildInfo, BundleManifest, ComponentEntry, FileEntry, IMAGES_DIR,
    ImageEntry, MANIFEST_FILE, PlatformImage, Target, ToolCopy, ToolEntry,
};
use super::oci::{ANNOTATION_REF_NAME, ImageIndex, LayoutWriter, MEDIA_TYPE_INDEX};
use super::tools::{self, Resolved};
use super::{BundleError, signing};

/// Where the binaries come from.
#[derive(Debug, Clone)]
pub enum BinarySource {
    /// Prebuilt: `<dir>/<arch>/<binary>`.
    Prebuilt(PathBuf),
    /// Cross-built here with `cargo zigbuild --release --target <musl triple>`.
    CrossBuild,
}

/// Inputs of a bundle build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// Workspace root (holds `Cargo.toml`, `airgap/`, `charts/`, …).
    pub source: PathBuf,
    /// Edition name.
    pub edition: String,
    /// Target arches (`amd64`, `arm64`, `loong64`); empty: the edition's.
    pub arches: Vec<String>,
    /// Output directory; must not exist or be empty.
    pub out: PathBuf,
    /// Where binaries come from.
    pub binaries: BinarySource,
    /// Secret key file, in the edition's signature algorithm (minisign for
    /// ed25519, PKCS#8 PEM for SM2).
    pub key: PathBuf,
    /// Source revision recorded in image labels and the manifest; default:
    /// `git rev-parse HEAD` of `source`.
    pub revision: Option<String>,
}

/// Folders copied from the workspace when present: (source, bundle path).
const SHIPPED_FOLDERS: &[(&str, &str)] = &[
    ("charts", "charts"),
    ("crds/yaml", "crds"),
    ("examples", "examples"),
];

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn command_output(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The workspace's `Cargo.toml`, parsed.
fn workspace_manifest(source: &Path) -> Result<(PathBuf, toml::Value), BundleError> {
    let path = source.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    let value = toml::from_str(&text).map_err(|e| BundleError::Input {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok((path, value))
}

fn workspace_version(source: &Path) -> Result<String, BundleError> {
    let (path, value) = workspace_manifest(source)?;
    value
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(toml::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| BundleError::Input {
            path,
            message: "no [workspace.package] version".into(),
        })
}

/// The pinned nightly that builds the standard library of the arches rustup
/// ships none for (`[workspace.metadata.yunhui] build-std-toolchain`).
fn build_std_toolchain(source: &Path) -> Result<String, BundleError> {
    let (path, value) = workspace_manifest(source)?;
    value
        .get("workspace")
        .and_then(|w| w.get("metadata"))
        .and_then(|m| m.get("yunhui"))
        .and_then(|y| y.get("build-std-toolchain"))
        .and_then(toml::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| BundleError::Input {
            path,
            message: "no [workspace.metadata.yunhui] build-std-toolchain (the pinned nightly \
                      that builds loong64's standard library)"
                .into(),
        })
}

/// Cross-builds the packages for every arch with cargo-zigbuild and returns
/// the directory that then holds `<arch>/<binary>` links.
fn cross_build(
    source: &Path,
    arches: &[String],
    packages: &[String],
) -> Result<PathBuf, BundleError> {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| source.join("target"));
    let staged = target_dir.join("yunhui-bundle-binaries");
    for arch in arches {
        let Some(triple) = rust_target(arch) else {
            return Err(BundleError::UnknownArch(arch.clone()));
        };
        let (mut command, prerequisites) = if builds_std(arch) {
            // No prebuilt standard library for this target: the pinned
            // nightly builds it from its rust-src.
            let toolchain = build_std_toolchain(source)?;
            let mut command = Command::new("rustup");
            command
                .args(["run", &toolchain, "cargo", "zigbuild"])
                .arg("-Zbuild-std=std,panic_abort")
                .env_remove("RUSTC")
                .env_remove("CARGO");
            let prerequisites = format!(
                "`rustup toolchain install {toolchain} --profile minimal --component rust-src`"
            );
            (command, prerequisites)
        } else {
            let mut command =
                Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            command.arg("zigbuild");
            (command, format!("`rustup target add {triple}`"))
        };
        command
            .args(["--locked", "--release", "--target", triple])
            .current_dir(source);
        for package in packages {
            command.args(["-p", package]);
        }
        eprintln!(
            "cross-building {} for {arch} ({triple})",
            packages.join(", ")
        );
        let status = command.status().map_err(|e| BundleError::CrossBuild {
            target: triple.to_string(),
            message: e.to_string(),
            prerequisites: prerequisites.clone(),
        })?;
        if !status.success() {
            return Err(BundleError::CrossBuild {
                target: triple.to_string(),
                message: format!("cargo zigbuild exited with {status}"),
                prerequisites,
            });
        }
        let built = target_dir.join(triple).join("release");
        let dir = staged.join(arch);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        for entry in std::fs::read_dir(&built).map_err(io_err(&built))?.flatten() {
            let path = entry.path();
            if path.is_file() && path.extension().is_none() {
                let to = dir.join(entry.file_name());
                std::fs::copy(&path, &to).map_err(io_err(&to))?;
            }
        }
    }
    Ok(staged)
}

/// Builds helm for `arch` from its Go module with `charts/build-helm.sh`
/// (static, `CGO_ENABLED=0`, cached); `None` when that fails (no Go).
fn build_helm(source: &Path, arch: &str) -> Option<PathBuf> {
    eprintln!("building helm for {arch} from its Go module");
    let output = Command::new(source.join("charts/build-helm.sh"))
        .env("HELM_GOARCH", arch)
        .stderr(std::process::Stdio::inherit())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let path = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()?
        .trim()
        .to_string();
    Some(PathBuf::from(path))
}

/// Lists regular files under `dir` (sorted, `/`-separated, relative to
/// `base`). Symlinks are refused: a bundle must not depend on the build host.
fn list_files(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), BundleError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .collect::<Result<_, _>>()
        .map_err(io_err(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(io_err(&path))?;
        if kind.is_dir() {
            list_files(base, &path, out)?;
        } else if kind.is_file() {
            let relative = path
                .strip_prefix(base)
                .map_err(|_| BundleError::Input {
                    path: path.clone(),
                    message: "outside the bundle".into(),
                })?
                .to_str()
                .ok_or_else(|| BundleError::Input {
                    path: path.clone(),
                    message: "file name is not UTF-8".into(),
                })?
                .to_string();
            out.push(relative);
        } else {
            return Err(BundleError::Input {
                path,
                message: "not a regular file or directory (symlinks are not shipped)".into(),
            });
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), BundleError> {
    let mut files = Vec::new();
    list_files(from, from, &mut files)?;
    for file in files {
        let dest = to.join(&file);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        std::fs::copy(from.join(&file), &dest).map_err(io_err(&dest))?;
    }
    Ok(())
}

/// The digests (SHA-256, and SM3 for SM3 manifests) and size of a file, streamed.
pub(crate) fn hash_file(
    path: &Path,
    algorithm: super::digest::DigestAlgorithm,
) -> Result<super::digest::FileDigests, std::io::Error> {
    super::digest::hash_reader(std::fs::File::open(path)?, algorithm)
}

/// Builds a bundle; returns its manifest.
pub fn build(request: &BuildRequest) -> Result<BundleManifest, BundleError> {
    let editions_dir = request.source.join("airgap/editions");
    let edition = Edition::load(&editions_dir, &request.edition)?;
    let mut arches: Vec<String> = Vec::new();
    // No arch asked for: every arch of the edition.
    let requested = if request.arches.is_empty() {
        &edition.arches
    } else {
        &request.arches
    };
    for arch in requested {
        if rust_target(arch).is_none() {
            return Err(BundleError::UnknownArch(arch.clone()));
        }
        if !edition.arches.contains(arch) {
            return Err(BundleError::ArchNotInEdition {
                arch: arch.clone(),
                edition: edition.name.clone(),
                allowed: edition.arches.join(", "),
            });
        }
        if !arches.contains(arch) {
            arches.push(arch.clone());
        }
    }
    if arches.is_empty() {
        return Err(BundleError::NoArch);
    }
    // Strict editions: every image for every arch, checked before any work.
    let mut notes = Vec::new();
    let binaries_dir = match &request.binaries {
        BinarySource::Prebuilt(dir) => dir.clone(),
        BinarySource::CrossBuild => {
            let mut packages: Vec<String> = edition
                .components
                .iter()
                .map(|c| c.package.clone())
                .collect();
            packages.push(edition.cli.package.clone());
            cross_build(&request.source, &arches, &packages)?
        }
    };
    let mut missing = Vec::new();
    for component in &edition.components {
        for arch in &arches {
            let declared = edition.declares(component, arch);
            let present = binaries_dir.join(arch).join(&component.binary).is_file();
            if !declared || !present {
                let why = if declared {
                    format!(
                        "binary {} not found",
                        binaries_dir.join(arch).join(&component.binary).display()
                    )
                } else {
                    "the edition does not declare this arch for it".to_string()
                };
                missing.push((component.repository.clone(), arch.clone(), why));
            }
        }
    }
    for arch in &arches {
        let cli = binaries_dir.join(arch).join(&edition.cli.binary);
        if !cli.is_file() {
            missing.push((
                format!("the {} CLI", edition.cli.binary),
                arch.clone(),
                format!("binary {} not found", cli.display()),
            ));
        }
    }
    if edition.strict_arches && !missing.is_empty() {
        return Err(BundleError::StrictArchMissing {
            edition: edition.name.clone(),
            missing: missing
                .iter()
                .map(|(image, arch, why)| format!("{image} for {arch} ({why})"))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    for (image, arch, why) in &missing {
        notes.push(format!("{image} left out for {arch}: {why}"));
    }

    let secret = signing::load_secret_key(&request.key)?;
    if secret.algorithm() != edition.signature {
        return Err(BundleError::KeyAlgorithm {
            edition: edition.name.clone(),
            wanted: edition.signature,
            key: request.key.clone(),
            got: secret.algorithm(),
        });
    }
    let digest = edition.signature.digest();
    // Output directory: checked now, created once the tools are in hand.
    let out = &request.out;
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(io_err(out))?
            .next()
            .is_some()
    {
        return Err(BundleError::OutNotEmpty(out.clone()));
    }
    // Tools (the recorder's ffmpeg): every copy the images need, provided or
    // downloaded and checked, before anything is written.
    let provided_dir = match &request.binaries {
        BinarySource::Prebuilt(dir) => Some(dir.as_path()),
        BinarySource::CrossBuild => None,
    };
    // (component, arch) → (index in the component's tools, its copy).
    let mut tool_copies: BTreeMap<(&str, &str), Vec<(usize, Resolved)>> = BTreeMap::new();
    for component in &edition.components {
        for arch in &arches {
            if missing
                .iter()
                .any(|(r, a, _)| r == &component.repository && a == arch)
            {
                continue;
            }
            for (index, tool) in component.tools.iter().enumerate() {
                let provided = provided_dir.map(|dir| dir.join(arch).join(&tool.name));
                match tools::resolve(tool, arch, provided.as_deref())? {
                    Some(resolved) => tool_copies
                        .entry((component.name.as_str(), arch.as_str()))
                        .or_default()
                        .push((index, resolved)),
                    None => notes.push(format!(
                        "{} is not in the {} image for {arch}: the edition has no source of it \
                         for {arch}{}",
                        tool.name,
                        component.repository,
                        if provided.is_some_and(|p| p.is_file()) {
                            format!(" (the provided {arch}/{} is not used)", tool.name)
                        } else {
                            String::new()
                        }
                    )),
                }
            }
        }
    }
    std::fs::create_dir_all(out).map_err(io_err(out))?;

    let version = workspace_version(&request.source)?;
    let commit = match &request.revision {
        Some(revision) => revision.clone(),
        None => command_output("git", &["rev-parse", "HEAD"], &request.source)
            .unwrap_or_else(|| "unknown".into()),
    };
    let dirty = command_output("git", &["status", "--porcelain"], &request.source)
        .is_some_and(|s| !s.is_empty());

    // Images.
    let layout = LayoutWriter::create(&out.join(IMAGES_DIR))?;
    let base = base_layer(&BaseContents {
        ca_bundle_candidates: edition.image.ca_bundle.clone(),
        zones: edition.image.zones.clone(),
        zoneinfo_dir: PathBuf::from("/usr/share/zoneinfo"),
    })?;
    notes.extend(base.notes);
    let base_blob = base.tree.write_layer(&layout)?;
    let mut layout_refs = Vec::new();
    let mut images = Vec::new();
    let mut components = Vec::new();
    let bar = crate::progress::Progress::new(false)
        .bar((edition.components.len() * arches.len()) as u64, "images");
    for component in &edition.components {
        let mut platforms = Vec::new();
        let mut descriptors = Vec::new();
        let mut built_arches = Vec::new();
        let mut asset_layers = Vec::new();
        let mut env = Vec::new();
        for asset in &component.assets {
            let from = request.source.join(&asset.from);
            if !from.is_dir() {
                return Err(BundleError::Input {
                    path: from,
                    message: format!(
                        "the {} image ships this folder, which is missing{}",
                        component.name,
                        asset
                            .build_hint
                            .as_deref()
                            .map(|hint| format!(" (build it first: {hint})"))
                            .unwrap_or_default()
                    ),
                });
            }
            asset_layers.push(asset_layer(&from, &asset.to)?.write_layer(&layout)?);
            if let Some(name) = &asset.env {
                env.push(format!("{name}={}", asset.to));
            }
        }
        let mut copies: Vec<Vec<ToolCopy>> = vec![Vec::new(); component.tools.len()];
        for arch in &arches {
            if missing
                .iter()
                .any(|(r, a, _)| r == &component.repository && a == arch)
            {
                continue;
            }
            bar.set_message(format!("{} {arch}", component.name));
            bar.inc(1);
            let mut tool_layers = Vec::new();
            let mut arch_env = env.clone();
            let arch_tools = tool_copies
                .get_mut(&(component.name.as_str(), arch.as_str()))
                .map(std::mem::take)
                .unwrap_or_default();
            for (index, mut resolved) in arch_tools {
                let tool = &component.tools[index];
                let executable = resolved.contents()?;
                copies[index].push(resolved.copy(arch, &executable));
                tool_layers.push(tool_layer(&tool.to, executable).write_layer(&layout)?);
                if let Some(name) = &tool.env {
                    arch_env.push(format!("{name}={}", tool.to));
                }
            }
            let path = binaries_dir.join(arch).join(&component.binary);
            let binary = std::fs::read(&path).map_err(io_err(&path))?;
            let descriptor = write_service_image(
                &layout,
                &base_blob,
                &ServiceImage {
                    binary_name: &component.binary,
                    binary,
                    arch,
                    version: &version,
                    revision: &commit,
                    tool_layers: &tool_layers,
                    asset_layers: &asset_layers,
                    env: &arch_env,
                },
            )?;
            let oci_ref = format!("{}_{version}_{arch}", component.name);
            let mut per_arch = descriptor.clone();
            per_arch
                .annotations
                .insert(ANNOTATION_REF_NAME.to_string(), oci_ref.clone());
            layout_refs.push(per_arch);
            platforms.push(PlatformImage {
                arch: arch.clone(),
                platform: descriptor
                    .platform
                    .clone()
                    .unwrap_or_else(|| super::image::platform_of(arch)),
                digest: descriptor.digest.clone(),
                oci_ref,
            });
            descriptors.push(descriptor);
            built_arches.push(arch.clone());
        }
        let tools = component
            .tools
            .iter()
            .zip(copies)
            .map(|(tool, copies)| ToolEntry {
                name: tool.name.clone(),
                version: tool.version.clone(),
                license: tool.license.clone(),
                path: tool.to.clone(),
                absent: built_arches
                    .iter()
                    .filter(|arch| !copies.iter().any(|c| &c.arch == *arch))
                    .cloned()
                    .collect(),
                arches: copies,
            })
            .collect();
        components.push(ComponentEntry {
            name: component.name.clone(),
            package: component.package.clone(),
            binary: component.binary.clone(),
            arches: built_arches,
            tools,
        });
        if descriptors.is_empty() {
            continue;
        }
        let index = ImageIndex {
            schema_version: 2,
            media_type: MEDIA_TYPE_INDEX.to_string(),
            manifests: descriptors,
            annotations: BTreeMap::new(),
        };
        let mut index_descriptor = layout.put_json(MEDIA_TYPE_INDEX, &index)?;
        let oci_ref = format!("{}_{version}", component.name);
        index_descriptor
            .annotations
            .insert(ANNOTATION_REF_NAME.to_string(), oci_ref.clone());
        images.push(ImageEntry {
            component: component.name.clone(),
            repository: component.repository.clone(),
            tag: version.clone(),
            oci_ref,
            digest: index_descriptor.digest.clone(),
            platforms,
        });
        layout_refs.push(index_descriptor);
    }
    bar.finish_and_clear();
    layout_refs.sort_by(|a, b| {
        a.annotations
            .get(ANNOTATION_REF_NAME)
            .cmp(&b.annotations.get(ANNOTATION_REF_NAME))
    });
    layout.write_index(&ImageIndex {
        schema_version: 2,
        media_type: MEDIA_TYPE_INDEX.to_string(),
        manifests: layout_refs,
        annotations: BTreeMap::new(),
    })?;

    // The CLI per arch.
    for arch in &arches {
        let from = binaries_dir.join(arch).join(&edition.cli.binary);
        if from.is_file() {
            let dir = out.join("bin").join(arch);
            std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            let to = dir.join(&edition.cli.binary);
            std::fs::copy(&from, &to).map_err(io_err(&to))?;
        }
    }
    // helm per arch, so `yunhui install` renders the chart on the site
    // without anything else installed there.
    for arch in &arches {
        let from = match &request.binaries {
            BinarySource::Prebuilt(dir) => Some(dir.join(arch).join("helm")),
            BinarySource::CrossBuild => build_helm(&request.source, arch),
        };
        match from.filter(|p| p.is_file()) {
            Some(from) => {
                let dir = out.join("bin").join(arch);
                std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
                let to = dir.join("helm");
                std::fs::copy(&from, &to).map_err(io_err(&to))?;
            }
            None => notes.push(format!(
                "helm for {arch} not shipped; `yunhui install` on {arch} hosts needs --helm PATH"
            )),
        }
    }
    // Chart, CRDs, examples.
    for (from, to) in SHIPPED_FOLDERS {
        let path = request.source.join(from);
        if path.is_dir() {
            copy_tree(&path, &out.join(to))?;
        } else {
            notes.push(format!(
                "{from}/ not present in the source tree; not included"
            ));
        }
    }
    // SBOM.
    let mut roots: Vec<String> = components
        .iter()
        .filter(|c| !c.arches.is_empty())
        .map(|c| c.package.clone())
        .collect();
    roots.push(edition.cli.package.clone());
    let triples: Vec<&str> = arches.iter().filter_map(|a| rust_target(a)).collect();
    let shipped_tools: Vec<super::sbom::ShippedTool<'_>> = edition
        .components
        .iter()
        .zip(&components)
        .flat_map(|(component, entry)| {
            entry.tools.iter().flat_map(move |tool| {
                tool.arches
                    .iter()
                    .map(move |copy| super::sbom::ShippedTool {
                        repository: &component.repository,
                        entry: tool,
                        copy,
                    })
            })
        })
        .collect();
    let sbom = super::sbom::build_sbom(
        &request.source,
        &roots,
        &triples,
        &shipped_tools,
        &version,
        &edition.name,
    )?;
    let sbom_path = out.join("sbom.cdx.json");
    std::fs::write(&sbom_path, serde_json::to_vec_pretty(&sbom)?).map_err(io_err(&sbom_path))?;
    // The public key, for integrity checks without --key.
    let pub_path = out.join(BUNDLED_PUBLIC_KEY);
    std::fs::write(&pub_path, secret.public_key()?.to_file()?).map_err(io_err(&pub_path))?;

    // Manifest over every file.
    let mut paths = Vec::new();
    list_files(out, out, &mut paths)?;
    let mut files = Vec::new();
    for path in paths {
        let full = out.join(&path);
        let measured = hash_file(&full, digest).map_err(io_err(&full))?;
        let listed = measured.listed(digest).to_string();
        let (sha256, sm3) = match digest {
            super::digest::DigestAlgorithm::Sha256 => (listed, String::new()),
            super::digest::DigestAlgorithm::Sm3 => (String::new(), listed),
        };
        files.push(FileEntry {
            path,
            size: measured.size,
            sha256,
            sm3,
        });
    }
    let aggregate = super::manifest::aggregate(&files, digest);
    let rustc = command_output("rustc", &["--version"], &request.source)
        .unwrap_or_else(|| "unknown".into());
    let manifest = BundleManifest {
        format: 1,
        name: "yunhui".into(),
        version: version.clone(),
        edition: edition.name.clone(),
        strict_arches: edition.strict_arches,
        build: BuildInfo {
            commit,
            dirty,
            rustc,
            binaries: match request.binaries {
                BinarySource::Prebuilt(_) => "prebuilt".into(),
                BinarySource::CrossBuild => "cargo-zigbuild".into(),
            },
            builder: env!("CARGO_PKG_VERSION").into(),
        },
        targets: arches
            .iter()
            .map(|a| Target {
                arch: a.clone(),
                rust_target: rust_target(a).unwrap_or_default().to_string(),
            })
            .collect(),
        components,
        images,
        digest,
        files,
        aggregate_sha256: if digest.is_sha256() {
            aggregate.clone()
        } else {
            String::new()
        },
        aggregate_sm3: if digest.is_sha256() {
            String::new()
        } else {
            aggregate.clone()
        },
        notes,
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)?;
    let manifest_path = out.join(MANIFEST_FILE);
    std::fs::write(&manifest_path, &manifest_bytes).map_err(io_err(&manifest_path))?;
    let trusted = format!(
        "yunhui {version} {} bundle; manifest {}; aggregate {aggregate}",
        edition.name,
        super::oci::sha256_digest(&manifest_bytes)
    );
    let signature = secret.sign(&manifest_bytes, &trusted)?;
    let sig_path = out.join(edition.signature.signature_file());
    std::fs::write(&sig_path, signature).map_err(io_err(&sig_path))?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_pins_a_dated_nightly_for_build_std_arches() {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let toolchain = build_std_toolchain(&source).unwrap();
        let date = toolchain.strip_prefix("nightly-").unwrap_or_default();
        assert!(
            date.len() == 10 && date.split('-').all(|p| p.parse::<u16>().is_ok()),
            "{toolchain} is not a dated nightly (nightly-YYYY-MM-DD)"
        );
    }
}
