//! Edition definitions (`airgap/editions/<name>.toml`): which components ship,
//! for which arches, and whether a missing arch is an error.

use std::collections::BTreeMap;
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
    /// Prebuilt executables from outside the workspace that ship in the
    /// image, per arch (the recorder's ffmpeg).
    #[serde(default)]
    pub tools: Vec<Tool>,
}

/// A prebuilt executable shipped in a component's image, from a pinned
/// download per arch (`[[components.tools]]`).
///
/// `bundle build` takes `<binaries>/<arch>/<name>` when `--binaries` has one
/// (offline builds); otherwise it downloads the arch's `url`, refuses it
/// unless its SHA-256 is `sha256`, and extracts `member` from it (a zip
/// archive, such as a Python wheel). An arch without a source gets the image
/// without the tool, and the bundle manifest says so.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// Name (`ffmpeg`), also its file name under `--binaries DIR/<arch>/`.
    pub name: String,
    /// Its upstream version, for the SBOM (`7.0.2`).
    pub version: String,
    /// SPDX licence expression of the executable as built, for the SBOM.
    pub license: String,
    /// Absolute path of the file in the image (`/usr/bin/ffmpeg`); mode
    /// 0755, owned by root.
    pub to: String,
    /// Environment variable the image sets to `to` (`YUNHUI_FFMPEG`), in the
    /// images that carry it.
    #[serde(default)]
    pub env: Option<String>,
    /// Where it comes from, per bundle arch (`[components.tools.sources.amd64]`).
    pub sources: BTreeMap<String, ToolSource>,
}

/// One arch's pinned download of a [`Tool`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSource {
    /// `https://` (or `http://`) URL of a zip archive; the digest, not the
    /// transport, is what is trusted.
    pub url: String,
    /// SHA-256 of the whole archive, 64 lowercase hex digits.
    pub sha256: String,
    /// Path of the executable inside the archive.
    pub member: String,
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

/// Whether a path is a plain absolute one (`/usr/bin/ffmpeg`).
fn plain_absolute(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(plain_relative)
}

/// Whether a name is an environment variable's (`YUNHUI_FFMPEG`).
fn env_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Variables every image sets itself (`image::write_service_image`).
const IMAGE_ENV: &[&str] = &["PATH", "SSL_CERT_FILE"];

/// Checks a component's tools: names, paths and variables that cannot
/// collide with each other, the binary or the assets, and one well-formed
/// source per arch the edition targets.
fn check_tools(component: &Component, edition_arches: &[String]) -> Result<(), String> {
    // Paths already in the image: the binary, the asset folders, earlier tools.
    let mut taken: Vec<(String, String)> = vec![(
        format!("/{}/{}", super::image::BINARY_DIR, component.binary),
        "the component's binary".to_string(),
    )];
    taken.extend(component.assets.iter().map(|asset| {
        (
            asset.to.trim_end_matches('/').to_string(),
            format!("the asset folder {:?}", asset.to),
        )
    }));
    let mut envs: Vec<&str> = IMAGE_ENV.to_vec();
    envs.extend(component.assets.iter().filter_map(|a| a.env.as_deref()));
    for tool in &component.tools {
        let what = format!("component {}, tool {:?}", component.name, tool.name);
        let plain_name = !tool.name.is_empty()
            && !tool.name.starts_with('.')
            && tool
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !plain_name {
            return Err(format!(
                "{what}: name must be a plain file name (letters, digits, '.', '_', '-')"
            ));
        }
        if component
            .tools
            .iter()
            .filter(|t| t.name == tool.name)
            .count()
            > 1
        {
            return Err(format!("{what}: declared twice"));
        }
        if tool.version.trim().is_empty() || tool.license.trim().is_empty() {
            return Err(format!(
                "{what}: version and license must not be empty (the SBOM lists them)"
            ));
        }
        if !plain_absolute(&tool.to) {
            return Err(format!(
                "{what}: to = {:?} must be a plain absolute file path (/usr/bin/{})",
                tool.to, tool.name
            ));
        }
        let overlaps = |path: &str| {
            path == tool.to
                || path.starts_with(&format!("{}/", tool.to))
                || tool.to.starts_with(&format!("{path}/"))
        };
        if let Some((_, holder)) = taken.iter().find(|(path, _)| overlaps(path)) {
            return Err(format!(
                "{what}: to = {:?} collides with {holder} in the image",
                tool.to
            ));
        }
        taken.push((tool.to.clone(), format!("tool {:?}", tool.name)));
        if let Some(env) = &tool.env {
            if !env_name(env) {
                return Err(format!(
                    "{what}: env = {env:?} is not a variable name (A-Z, 0-9, _)"
                ));
            }
            if envs.contains(&env.as_str()) {
                return Err(format!("{what}: env = {env:?} is already set by the image"));
            }
            envs.push(env);
        }
        if tool.sources.is_empty() {
            return Err(format!(
                "{what}: no sources; give at least one [components.tools.sources.<arch>]"
            ));
        }
        for (arch, source) in &tool.sources {
            if !edition_arches.contains(arch) {
                return Err(format!(
                    "{what}: a source for {arch:?}, which is not one of the edition's arches ({})",
                    edition_arches.join(", ")
                ));
            }
            let host = source
                .url
                .strip_prefix("https://")
                .or_else(|| source.url.strip_prefix("http://"))
                .and_then(|rest| rest.split('/').next())
                .unwrap_or_default();
            if host.is_empty() || source.url.chars().any(char::is_whitespace) {
                return Err(format!(
                    "{what}: sources.{arch}.url = {:?} is not an https:// or http:// URL",
                    source.url
                ));
            }
            let hex = source.sha256.len() == 64
                && source
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex {
                return Err(format!(
                    "{what}: sources.{arch}.sha256 = {:?} is not a SHA-256 (64 lowercase hex digits)",
                    source.sha256
                ));
            }
            if !plain_relative(&source.member) {
                return Err(format!(
                    "{what}: sources.{arch}.member = {:?} must be a plain relative path inside the archive",
                    source.member
                ));
            }
        }
    }
    Ok(())
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
            check_tools(component, &edition.arches).map_err(invalid)?;
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
    fn both_editions_ship_ffmpeg_in_the_recorder_image_for_amd64_and_arm64_only() {
        for name in ["enterprise", "xinchuang"] {
            let edition = Edition::load(&editions(), name).unwrap();
            for component in &edition.components {
                let names: Vec<&str> = component.tools.iter().map(|t| t.name.as_str()).collect();
                let expected: &[&str] = if component.name == "recorder" {
                    &["ffmpeg"]
                } else {
                    &[]
                };
                assert_eq!(names, expected, "{name}: {}", component.name);
            }
            let recorder = edition
                .components
                .iter()
                .find(|c| c.name == "recorder")
                .unwrap();
            let ffmpeg = &recorder.tools[0];
            assert_eq!(
                (
                    ffmpeg.version.as_str(),
                    ffmpeg.license.as_str(),
                    ffmpeg.to.as_str(),
                    ffmpeg.env.as_deref()
                ),
                (
                    "7.0.2",
                    "GPL-3.0-or-later",
                    "/usr/bin/ffmpeg",
                    Some("YUNHUI_FFMPEG")
                ),
                "{name}"
            );
            let arches: Vec<&str> = ffmpeg.sources.keys().map(String::as_str).collect();
            assert_eq!(
                arches,
                ["amd64", "arm64"],
                "{name}: no loong64 build exists"
            );
            assert!(
                ffmpeg.sources["amd64"].member.ends_with("x86_64-v7.0.2")
                    && ffmpeg.sources["arm64"].member.ends_with("aarch64-v7.0.2"),
                "{name}: each arch takes its own build"
            );
        }
    }

    #[test]
    fn a_malformed_tool_is_refused_naming_what_is_wrong() {
        let original = std::fs::read_to_string(editions().join("enterprise.toml")).unwrap();
        let sha = "4e1f36bef7bedd4bc5dc25f60a8345d88f57133fa1e754f09b411ac61b854408";
        let url = "https://files.pythonhosted.org/packages/04/96/";
        let member = "imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v7.0.2";
        let cases: &[(&str, &str, &str)] = &[
            (sha, &sha[..63], "sources.amd64.sha256"),
            (sha, &sha.to_uppercase(), "64 lowercase hex digits"),
            (url, "ftp://files.pythonhosted.org/", "sources.amd64.url"),
            (member, "../ffmpeg", "sources.amd64.member"),
            (
                "to = \"/usr/bin/ffmpeg\"",
                "to = \"usr/bin/ffmpeg\"",
                "plain absolute file path",
            ),
            (
                "to = \"/usr/bin/ffmpeg\"",
                "to = \"/usr/local/bin/yunhui-recorder\"",
                "collides with the component's binary",
            ),
            (
                "env = \"YUNHUI_FFMPEG\"",
                "env = \"yunhui-ffmpeg\"",
                "not a variable name",
            ),
            (
                "env = \"YUNHUI_FFMPEG\"",
                "env = \"PATH\"",
                "already set by the image",
            ),
            (
                "[components.tools.sources.arm64]",
                "[components.tools.sources.loong64]",
                "not one of the edition's arches (amd64, arm64)",
            ),
            ("version = \"7.0.2\"", "version = \"\"", "must not be empty"),
            (
                "member = ",
                "archive_member = ",
                "unknown field `archive_member`",
            ),
        ];
        for (from, to, expected) in cases {
            assert!(original.contains(from), "{from}");
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(
                dir.path().join("enterprise.toml"),
                original.replacen(from, to, 1),
            )
            .unwrap();
            let error = Edition::load(dir.path(), "enterprise")
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(expected) && error.contains("enterprise.toml"),
                "{from} -> {to}: expected {expected:?} in: {error}"
            );
            if !expected.starts_with("unknown field") {
                assert!(error.contains("tool \"ffmpeg\""), "{error}");
            }
        }
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
