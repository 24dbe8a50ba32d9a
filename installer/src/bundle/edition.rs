//! Edition definitions (`airgap/editions/<name>.toml`): which components ship,
//! for which arches, and whether a missing arch is an error.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::signing::Algorithm;

/// Arches a bundle can target, with their Rust musl target triples.
pub const ARCH_TARGETS: &[(&str, &str)] = &[
    ("amd64", "x86_64-unknown-linux-musl"),
    ("arm64", "aarch64-unknown-linux-musl"),
    ("loong64", "loongarch64-unknown-linux-musl"),
];

/// Arches whose standard library rustup does not ship: their binaries are
/// built with the workspace's pinned nightly (`[workspace.metadata.yunhui]
/// build-std-toolchain` in Cargo.toml, with its `rust-src`) and
/// `-Zbuild-std`.
pub const BUILD_STD_ARCHES: &[&str] = &["loong64"];

/// The Rust target triple for a bundle arch.
pub fn rust_target(arch: &str) -> Option<&'static str> {
    ARCH_TARGETS
        .iter()
        .find(|(a, _)| *a == arch)
        .map(|(_, target)| *target)
}

/// Whether `arch`'s standard library is built from source (see
/// [`BUILD_STD_ARCHES`]).
pub fn builds_std(arch: &str) -> bool {
    BUILD_STD_ARCHES.contains(&arch)
}

/// The bundle arch names, for messages (`amd64, arm64, loong64`).
pub fn known_arches() -> String {
    ARCH_TARGETS
        .iter()
        .map(|(arch, _)| *arch)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One edition, as read from its TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edition {
    /// Edition name (`enterprise`, `xinchuang`); must match the file name.
    pub name: String,
    /// One line for humans.
    pub description: String,
    /// Arches this edition may target.
    pub arches: Vec<String>,
    /// When true, every image must exist for every requested arch, or the
    /// build is refused.
    #[serde(default)]
    pub strict_arches: bool,
    /// How bundles of this edition are signed: `ed25519` (the default;
    /// minisign, SHA-256 file digests) or `sm2` (SM2 with SM3, SM3 file
    /// digests). `bundle build` refuses a key of the other algorithm.
    #[serde(default)]
    pub signature: Algorithm,
    /// The `yunhui` CLI shipped per arch in `bin/<arch>/`.
    pub cli: Binary,
    /// Service images.
    pub components: Vec<Component>,
    /// Contents of the base layer shared by every image.
    pub image: ImageSettings,
}

/// A binary and the cargo package that builds it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binary {
    /// Cargo package name.
    pub package: String,
    /// Binary name.
    pub binary: String,
}

/// A component shipped as an image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Short name (`signal`).
    pub name: String,
    /// Cargo package name.
    pub package: String,
    /// Binary name, also the image entrypoint.
    pub binary: String,
    /// Repository name in a registry (`yunhui/signal`).
    pub repository: String,
    /// Arches this component is available for; all edition arches if absent.
    #[serde(default)]
    pub arches: Option<Vec<String>>,
    /// Files from the source tree that ship in the image (the same for every
    /// arch), such as the web client signal serves.
    #[serde(default)]
    pub assets: Vec<Asset>,
}

/// A folder of the source tree shipped in a component's image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// Folder relative to the workspace root (`services/web/dist`).
    pub from: PathBuf,
    /// Absolute path of that folder in the image (`/usr/share/yunhui/web`).
    pub to: String,
    /// Environment variable the image sets to `to`, telling the service
    /// where its files are (`YUNHUI_WEB_DIR`).
    #[serde(default)]
    pub env: Option<String>,
    /// What to do when `from` is missing, for the error message
    /// (`npm run build in services/web`).
    #[serde(default)]
    pub build_hint: Option<String>,
}

/// Whether a path is plain: relative parts only, no `..`, `.` or empty part.
fn plain_relative(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Base layer settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSettings {
    /// Build-host paths tried in order for the CA bundle.
    pub ca_bundle: Vec<PathBuf>,
    /// Time zones copied from the build host's zoneinfo.
    pub zones: Vec<String>,
}

/// Errors loading an edition.
#[derive(Debug, thiserror::Error)]
pub enum EditionError {
    /// No such file.
    #[error("unknown edition {name:?}: {path} does not exist (editions available: {available})")]
    Unknown {
        /// Requested name.
        name: String,
        /// Where it was looked for.
        path: PathBuf,
        /// Names found in the editions folder.
        available: String,
    },
    /// The file could not be read or parsed.
    #[error("{path} is not a valid edition definition: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Edition {
    /// Loads `<dir>/<name>.toml` and checks it.
    pub fn load(dir: &Path, name: &str) -> Result<Edition, EditionError> {
        let path = dir.join(format!("{name}.toml"));
        if name.contains(['/', '\\', '.']) || !path.is_file() {
            let mut available: Vec<String> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".toml"))
                        .map(str::to_string)
                })
                .collect();
            available.sort();
            return Err(EditionError::Unknown {
                name: name.to_string(),
                path,
                available: available.join(", "),
            });
        }
        let invalid = |message: String| EditionError::Invalid {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| invalid(e.to_string()))?;
        let edition: Edition = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if edition.name != name {
            return Err(invalid(format!(
                "name = {:?} but the file is named {name}.toml",
                edition.name
            )));
        }
        let all_arches = edition.arches.iter().chain(
            edition
                .components
                .iter()
                .flat_map(|c| c.arches.iter().flatten()),
        );
        for arch in all_arches {
            if rust_target(arch).is_none() {
                return Err(invalid(format!(
                    "unknown arch {arch:?}; use one of {}",
                    known_arches()
                )));
            }
        }
        for component in &edition.components {
            for asset in &component.assets {
                let from = asset.from.to_string_lossy();
                let to_ok = asset
                    .to
                    .strip_prefix('/')
                    .is_some_and(|rest| plain_relative(rest.trim_end_matches('/')));
                if !plain_relative(&from) || !to_ok {
                    return Err(invalid(format!(
                        "component {}: asset from = {from:?} must be a plain relative path and \
                         to = {:?} a plain absolute one",
                        component.name, asset.to
                    )));
                }
            }
        }
        Ok(edition)
    }

    /// Whether `component` is declared available for `arch`.
    pub fn declares(&self, component: &Component, arch: &str) -> bool {
        component
            .arches
            .as_ref()
            .is_none_or(|arches| arches.iter().any(|a| a == arch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn editions() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../airgap/editions")
    }

    #[test]
    fn xinchuang_signs_with_sm2_and_enterprise_with_ed25519() {
        let xinchuang = Edition::load(&editions(), "xinchuang").unwrap();
        assert_eq!(xinchuang.signature, Algorithm::Sm2);
        let enterprise = Edition::load(&editions(), "enterprise").unwrap();
        assert_eq!(enterprise.signature, Algorithm::Ed25519);
    }

    #[test]
    fn xinchuang_targets_loong64_with_a_standard_library_built_from_source() {
        let xinchuang = Edition::load(&editions(), "xinchuang").unwrap();
        assert_eq!(xinchuang.arches, ["amd64", "arm64", "loong64"]);
        assert_eq!(
            rust_target("loong64"),
            Some("loongarch64-unknown-linux-musl")
        );
        assert!(builds_std("loong64"));
        assert!(!builds_std("amd64") && !builds_std("arm64"));
        let enterprise = Edition::load(&editions(), "enterprise").unwrap();
        assert_eq!(enterprise.arches, ["amd64", "arm64"]);
    }

    #[test]
    fn an_unknown_arch_is_refused_naming_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(editions().join("enterprise.toml"))
            .unwrap()
            .replace("arches = [\"amd64\", \"arm64\"]", "arches = [\"riscv64\"]");
        std::fs::write(dir.path().join("enterprise.toml"), text).unwrap();
        let error = Edition::load(dir.path(), "enterprise")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("riscv64") && error.contains("amd64, arm64, loong64"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_signature_algorithm_is_refused_naming_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(editions().join("enterprise.toml"))
            .unwrap()
            .replace("signature = \"ed25519\"", "signature = \"rsa\"");
        std::fs::write(dir.path().join("enterprise.toml"), text).unwrap();
        let error = Edition::load(dir.path(), "enterprise")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("rsa") && error.contains("ed25519") && error.contains("sm2"),
            "{error}"
        );
    }
}
