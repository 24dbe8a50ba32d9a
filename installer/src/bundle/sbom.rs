//! A CycloneDX 1.5 SBOM (JSON) of what ships: the Rust packages linked into
//! the shipped binaries (normal dependencies reachable from their packages,
//! per target, from `cargo metadata`), the non-dev npm packages of the web
//! client (`services/web/package-lock.json`), and the prebuilt tools of the
//! images (the recorder's ffmpeg), each with the archive it came from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::{Value, json};

/// Errors producing the SBOM.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// `cargo metadata` could not run or failed.
    #[error(
        "`cargo metadata` failed in {dir}: {message}; run it there by hand to see why (is Cargo.lock up to date?)"
    )]
    CargoMetadata {
        /// Where it ran.
        dir: PathBuf,
        /// Its error output.
        message: String,
    },
    /// A lock file could not be parsed.
    #[error("could not read {path}: {message}")]
    Lock {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A shipped package is not in the workspace.
    #[error("package {0} is not part of the workspace; fix the edition definition")]
    UnknownPackage(String),
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    resolve: Resolve,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

#[derive(Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
    deps: Vec<NodeDep>,
}

#[derive(Deserialize)]
struct NodeDep {
    pkg: String,
    dep_kinds: Vec<DepKind>,
}

#[derive(Deserialize)]
struct DepKind {
    kind: Option<String>,
}

/// One SBOM component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Component {
    purl: String,
    name: String,
    version: String,
    license: Option<String>,
    sha256: Option<String>,
    first_party: bool,
}

/// Runs `cargo metadata` for a target and returns the packages linked into
/// `roots` (normal dependencies only: build scripts and dev tools do not ship).
fn rust_components(
    source: &Path,
    target: &str,
    roots: &[String],
    checksums: &BTreeMap<(String, String), String>,
) -> Result<Vec<Component>, SbomError> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            target,
        ])
        .current_dir(source)
        .output()
        .map_err(|e| SbomError::CargoMetadata {
            dir: source.to_path_buf(),
            message: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(SbomError::CargoMetadata {
            dir: source.to_path_buf(),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let metadata: Metadata =
        serde_json::from_slice(&output.stdout).map_err(|e| SbomError::CargoMetadata {
            dir: source.to_path_buf(),
            message: e.to_string(),
        })?;
    let packages: BTreeMap<&str, &Package> = metadata
        .packages
        .iter()
        .map(|p| (p.id.as_str(), p))
        .collect();
    let nodes: BTreeMap<&str, &Node> = metadata
        .resolve
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n))
        .collect();
    let mut stack = Vec::new();
    for root in roots {
        let package = metadata
            .packages
            .iter()
            .find(|p| &p.name == root && p.source.is_none())
            .ok_or_else(|| SbomError::UnknownPackage(root.clone()))?;
        stack.push(package.id.as_str());
    }
    let mut seen = BTreeSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(node) = nodes.get(id) {
            for dep in &node.deps {
                if dep.dep_kinds.iter().any(|k| k.kind.is_none()) {
                    stack.push(dep.pkg.as_str());
                }
            }
        }
    }
    Ok(seen
        .into_iter()
        .filter_map(|id| packages.get(id))
        .map(|p| Component {
            purl: format!("pkg:cargo/{}@{}", p.name, p.version),
            name: p.name.clone(),
            version: p.version.clone(),
            license: p.license.clone(),
            sha256: checksums.get(&(p.name.clone(), p.version.clone())).cloned(),
            first_party: p.source.is_none(),
        })
        .collect())
}

#[derive(Deserialize)]
struct CargoLock {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    #[serde(default)]
    checksum: Option<String>,
}

fn cargo_lock_checksums(source: &Path) -> Result<BTreeMap<(String, String), String>, SbomError> {
    let path = source.join("Cargo.lock");
    let text = std::fs::read_to_string(&path).map_err(|e| SbomError::Lock {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let lock: CargoLock = toml::from_str(&text).map_err(|e| SbomError::Lock {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok(lock
        .package
        .into_iter()
        .filter_map(|p| p.checksum.map(|c| ((p.name, p.version), c)))
        .collect())
}

/// Non-dev packages of an npm v2/v3 lock file.
fn npm_components(lock_path: &Path) -> Result<Vec<Component>, SbomError> {
    let bad = |message: String| SbomError::Lock {
        path: lock_path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(lock_path).map_err(|e| bad(e.to_string()))?;
    let lock: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let packages = lock
        .get("packages")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no \"packages\" map (lockfileVersion 2 or 3 needed)".into()))?;
    let mut out = Vec::new();
    for (key, package) in packages {
        let Some(name) = key
            .rsplit("node_modules/")
            .next()
            .filter(|_| !key.is_empty())
        else {
            continue;
        };
        if package.get("dev").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let Some(version) = package.get("version").and_then(Value::as_str) else {
            continue;
        };
        out.push(Component {
            purl: format!("pkg:npm/{}@{version}", name.replace('@', "%40")),
            name: name.to_string(),
            version: version.to_string(),
            license: package
                .get("license")
                .and_then(Value::as_str)
                .map(str::to_string),
            sha256: None,
            first_party: false,
        });
    }
    Ok(out)
}

/// A prebuilt executable shipped in one arch's image (an edition's
/// `[[components.tools]]`), as the SBOM lists it.
#[derive(Debug, Clone)]
pub struct ShippedTool<'a> {
    /// The image's repository (`yunhui/recorder`).
    pub repository: &'a str,
    /// The tool and where this copy came from.
    pub entry: &'a super::manifest::ToolEntry,
    /// One arch's copy (`copy.arch`).
    pub copy: &'a super::manifest::ToolCopy,
}

/// The SBOM component of one tool in one image: name, version, licence,
/// the file's SHA-256, and for a download the archive's URL and SHA-256
/// (a `distribution` reference) and the member it was extracted from.
fn tool_component(tool: &ShippedTool<'_>) -> Value {
    let entry = tool.entry;
    let copy = tool.copy;
    let bom_ref = format!(
        "pkg:generic/{}@{}?arch={}&image={}",
        entry.name,
        entry.version,
        copy.arch,
        tool.repository.replace('/', "%2F")
    );
    let mut properties = vec![
        json!({ "name": "yunhui:image", "value": tool.repository }),
        json!({ "name": "yunhui:arch", "value": copy.arch }),
        json!({ "name": "yunhui:path", "value": entry.path }),
        json!({ "name": "yunhui:source", "value": copy.source }),
    ];
    let mut component = json!({
        "type": "application",
        "bom-ref": bom_ref,
        "name": entry.name,
        "version": entry.version,
        "purl": format!("pkg:generic/{}@{}", entry.name, entry.version),
        "licenses": [{ "expression": entry.license }],
        "hashes": [{ "alg": "SHA-256", "content": copy.sha256 }],
    });
    if !copy.url.is_empty() {
        properties.push(json!({ "name": "yunhui:archive-member", "value": copy.member }));
        component["externalReferences"] = json!([{
            "type": "distribution",
            "url": copy.url,
            "comment": format!("{} is extracted from this archive", copy.member),
            "hashes": [{ "alg": "SHA-256", "content": copy.archive_sha256 }],
        }]);
    }
    component["properties"] = Value::Array(properties);
    component
}

/// Builds the SBOM document for the packages `roots` on `targets` and the
/// prebuilt `tools` of the images.
pub fn build_sbom(
    source: &Path,
    roots: &[String],
    targets: &[&str],
    tools: &[ShippedTool<'_>],
    product_version: &str,
    edition: &str,
) -> Result<Value, SbomError> {
    let checksums = cargo_lock_checksums(source)?;
    let mut components = BTreeSet::new();
    for target in targets {
        components.extend(rust_components(source, target, roots, &checksums)?);
    }
    let npm_lock = source.join("services/web/package-lock.json");
    if npm_lock.is_file() {
        components.extend(npm_components(&npm_lock)?);
    }
    let components: Vec<Value> = components
        .into_iter()
        .map(|c| {
            let mut v = json!({
                "type": if c.first_party { "application" } else { "library" },
                "bom-ref": c.purl,
                "name": c.name,
                "version": c.version,
                "purl": c.purl,
            });
            if let Some(license) = c.license {
                v["licenses"] = json!([{ "expression": license }]);
            }
            if let Some(sha) = c.sha256 {
                v["hashes"] = json!([{ "alg": "SHA-256", "content": sha }]);
            }
            v
        })
        .chain(tools.iter().map(tool_component))
        .collect();
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "component": {
                "type": "application",
                "bom-ref": format!("pkg:generic/yunhui@{product_version}?edition={edition}"),
                "name": "yunhui",
                "version": product_version,
            },
            "tools": { "components": [{
                "type": "application",
                "name": "yunhui bundle build",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
        },
        "components": components,
    }))
}
