//! `SITE.yaml`: everything `yunhui install | upgrade | uninstall` needs to
//! know about one site. Relative paths are relative to the file's folder.
//!
//! ```yaml
//! bundle: ./yunhui-enterprise          # bundle directory or single file
//! bundleKey: ./yunhui.pub              # publisher key (optional; default: the bundle's own)
//! namespace: yunhui-system
//! release: yunhui-operator             # optional
//! kubeconfig: ./admin.kubeconfig       # optional; default KUBECONFIG, ~/.kube/config or in-cluster
//! registry:
//!   host: registry.site.local:5000     # becomes the chart's global.imageRegistry
//!   ca: ./registry-ca.crt              # or `insecure: true` (for `push: true`)
//!   push: false                        # push the bundle's images before applying
//!   credentials:                       # optional; also becomes an imagePullSecret
//!     username: yunhui
//!     passwordFile: ./registry-password   # or passwordEnv: NAME
//! chart:
//!   values: {replicaCount: 2}          # extra values for the operator chart
//! resources:                           # the site's Tenant/MediaCluster/Gateway (and Secrets)
//!   - file: ./site/tenant.yaml
//!   - inline: {apiVersion: yunhui.dev/v1alpha1, kind: Gateway, metadata: {name: main}, spec: {}}
//! rolloutTimeoutSeconds: 300
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Why `SITE.yaml` cannot be used; each names the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The YAML does not match the schema (the message names the field).
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the field and position.
        message: String,
    },
    /// A field has an unusable value.
    #[error("{path}: field `{field}`: {message}")]
    Field {
        /// The file.
        path: PathBuf,
        /// The field, as a path (`registry.host`, `resources[1].file`).
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// The site file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SiteFile {
    bundle: PathBuf,
    #[serde(default)]
    bundle_key: Option<PathBuf>,
    namespace: String,
    #[serde(default)]
    release: Option<String>,
    #[serde(default)]
    kubeconfig: Option<PathBuf>,
    registry: RegistryFile,
    #[serde(default)]
    chart: ChartFile,
    #[serde(default)]
    resources: Vec<ResourceSource>,
    #[serde(default)]
    rollout_timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegistryFile {
    host: String,
    #[serde(default)]
    ca: Option<PathBuf>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    push: bool,
    #[serde(default)]
    credentials: Option<CredentialsFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CredentialsFile {
    username: String,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    password_env: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChartFile {
    #[serde(default)]
    values: Option<serde_json::Value>,
}

/// Where a site resource comes from: a YAML file (one or more documents) or inline.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourceSource {
    #[serde(default)]
    file: Option<PathBuf>,
    #[serde(default)]
    inline: Option<serde_json::Value>,
}

/// The site registry.
#[derive(Debug, Clone)]
pub struct SiteRegistry {
    /// `HOST[:PORT]`.
    pub host: String,
    /// CA that signed the registry's certificate (for pushing).
    pub ca: Option<PathBuf>,
    /// Plain HTTP (for pushing).
    pub insecure: bool,
    /// Push the bundle's images before applying.
    pub push: bool,
    /// User name and password, if the registry needs them.
    pub credentials: Option<(String, String)>,
}

/// A checked `SITE.yaml`.
#[derive(Debug, Clone)]
pub struct Site {
    /// The file it came from.
    pub path: PathBuf,
    /// Bundle directory or single file.
    pub bundle: PathBuf,
    /// Publisher key.
    pub bundle_key: Option<PathBuf>,
    /// Namespace of the operator and the site's namespaced resources.
    pub namespace: String,
    /// Release name (names the operator's objects and the inventory).
    pub release: String,
    /// Kubeconfig; `None` infers (KUBECONFIG, ~/.kube/config, in-cluster).
    pub kubeconfig: Option<PathBuf>,
    /// The registry.
    pub registry: SiteRegistry,
    /// Extra chart values (a YAML mapping).
    pub chart_values: serde_json::Value,
    /// The site's resources, each with where it came from (`resources[0]`).
    pub resources: Vec<(String, serde_json::Value)>,
    /// How long to wait for the operator to roll out.
    pub rollout_timeout: Duration,
}

/// Whether `name` is a DNS-1123 label (namespace, release).
fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Whether `host` is `HOST[:PORT]` (no scheme, no path).
fn is_registry_host(host: &str) -> bool {
    if host.is_empty() || host.contains('/') || host.contains(char::is_whitespace) {
        return false;
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

impl Site {
    /// Reads and checks a site file; every error names the field.
    /// `needs_bundle` is false for uninstall, which works from the
    /// inventory alone.
    pub fn load(path: &Path, needs_bundle: bool) -> Result<Site, SiteError> {
        let text = std::fs::read_to_string(path).map_err(|source| SiteError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file: SiteFile = serde_norway::from_str(&text).map_err(|e| SiteError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let field = |field: &str, message: String| SiteError::Field {
            path: path.to_path_buf(),
            field: field.to_string(),
            message,
        };
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let bundle = resolve(&file.bundle);
        if needs_bundle && !bundle.exists() {
            return Err(field(
                "bundle",
                format!(
                    "{} does not exist; name the bundle directory or file",
                    bundle.display()
                ),
            ));
        }
        let bundle_key = file.bundle_key.as_deref().map(resolve);
        if let Some(key) = &bundle_key
            && !key.is_file()
        {
            return Err(field(
                "bundleKey",
                format!("{} is not a file", key.display()),
            ));
        }
        if !is_dns_label(&file.namespace) {
            return Err(field(
                "namespace",
                format!(
                    "{:?} is not a valid namespace name (lowercase letters, digits and '-', at most 63)",
                    file.namespace
                ),
            ));
        }
        let release = file
            .release
            .clone()
            .unwrap_or_else(|| "yunhui-operator".into());
        if !is_dns_label(&release) || release.len() > 40 {
            return Err(field(
                "release",
                format!(
                    "{release:?} is not a valid release name (lowercase letters, digits and '-', at most 40)"
                ),
            ));
        }
        let kubeconfig = file.kubeconfig.as_deref().map(resolve);
        if let Some(kubeconfig) = &kubeconfig
            && !kubeconfig.is_file()
        {
            return Err(field(
                "kubeconfig",
                format!(
                    "{} is not a file; leave the field out to use KUBECONFIG or the in-cluster account",
                    kubeconfig.display()
                ),
            ));
        }
        if !is_registry_host(&file.registry.host) {
            return Err(field(
                "registry.host",
                format!(
                    "{:?} is not HOST[:PORT] (no scheme such as https://, no path)",
                    file.registry.host
                ),
            ));
        }
        let ca = file.registry.ca.as_deref().map(resolve);
        if let Some(ca) = &ca {
            if file.registry.insecure {
                return Err(field(
                    "registry.ca",
                    "set either `ca` or `insecure: true`, not both".into(),
                ));
            }
            if !ca.is_file() {
                return Err(field(
                    "registry.ca",
                    format!("{} is not a file", ca.display()),
                ));
            }
        }
        let credentials = match &file.registry.credentials {
            None => None,
            Some(c) => {
                if c.username.is_empty() {
                    return Err(field(
                        "registry.credentials.username",
                        "must not be empty".into(),
                    ));
                }
                let password = match (&c.password_file, &c.password_env) {
                    (Some(file), None) => {
                        let file = resolve(file);
                        std::fs::read_to_string(&file)
                            .map_err(|e| {
                                field(
                                    "registry.credentials.passwordFile",
                                    format!("{}: {e}", file.display()),
                                )
                            })?
                            .trim_end_matches(['\n', '\r'])
                            .to_string()
                    }
                    (None, Some(name)) => std::env::var(name).map_err(|_| {
                        field(
                            "registry.credentials.passwordEnv",
                            format!("environment variable {name} is not set"),
                        )
                    })?,
                    _ => {
                        return Err(field(
                            "registry.credentials",
                            "set exactly one of `passwordFile` and `passwordEnv`".into(),
                        ));
                    }
                };
                if password.is_empty() {
                    return Err(field(
                        "registry.credentials",
                        "the password is empty".into(),
                    ));
                }
                Some((c.username.clone(), password))
            }
        };
        let chart_values = match file.chart.values {
            None | Some(serde_json::Value::Null) => serde_json::json!({}),
            Some(v @ serde_json::Value::Object(_)) => v,
            Some(_) => {
                return Err(field("chart.values", "must be a mapping".into()));
            }
        };
        let mut resources = Vec::new();
        for (i, source) in file.resources.iter().enumerate() {
            match (&source.file, &source.inline) {
                (Some(file), None) => {
                    let name = format!("resources[{i}].file");
                    let full = resolve(file);
                    let text = std::fs::read_to_string(&full)
                        .map_err(|e| field(&name, format!("{}: {e}", full.display())))?;
                    let documents = parse_documents(&text)
                        .map_err(|e| field(&name, format!("{}: {e}", full.display())))?;
                    if documents.is_empty() {
                        return Err(field(&name, format!("{} holds no object", full.display())));
                    }
                    for (d, document) in documents.into_iter().enumerate() {
                        let origin = format!("{name} ({}, document {})", full.display(), d + 1);
                        check_object(&document).map_err(|m| field(&origin, m))?;
                        resources.push((origin, document));
                    }
                }
                (None, Some(inline)) => {
                    let name = format!("resources[{i}].inline");
                    check_object(inline).map_err(|m| field(&name, m))?;
                    resources.push((name, inline.clone()));
                }
                _ => {
                    return Err(field(
                        &format!("resources[{i}]"),
                        "set exactly one of `file` and `inline`".into(),
                    ));
                }
            }
        }
        let rollout_timeout = match file.rollout_timeout_seconds {
            Some(0) => {
                return Err(field("rolloutTimeoutSeconds", "must be at least 1".into()));
            }
            Some(s) => Duration::from_secs(s),
            None => Duration::from_secs(300),
        };
        Ok(Site {
            path: path.to_path_buf(),
            bundle,
            bundle_key,
            namespace: file.namespace,
            release,
            kubeconfig,
            registry: SiteRegistry {
                host: file.registry.host,
                ca,
                insecure: file.registry.insecure,
                push: file.registry.push,
                credentials,
            },
            chart_values,
            resources,
            rollout_timeout,
        })
    }
}

/// Splits multi-document YAML into JSON objects (empty documents skipped).
pub fn parse_documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let mut out = Vec::new();
    for document in serde_norway::Deserializer::from_str(text) {
        let value = serde_json::Value::deserialize(document).map_err(|e| e.to_string())?;
        if !value.is_null() {
            out.push(value);
        }
    }
    Ok(out)
}

/// Checks that a value is a Kubernetes object with a kind and a name.
fn check_object(value: &serde_json::Value) -> Result<(), String> {
    let Some(object) = value.as_object() else {
        return Err("is not a mapping (expected a Kubernetes object)".into());
    };
    for key in ["apiVersion", "kind"] {
        if object
            .get(key)
            .and_then(serde_json::Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(format!("the object has no `{key}`"));
        }
    }
    if value["metadata"]["name"].as_str().is_none_or(str::is_empty) {
        return Err(format!(
            "the {} has no `metadata.name`",
            value["kind"].as_str().unwrap_or_default()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_hosts() {
        for good in ["registry.local", "10.0.0.5:5000", "reg:443"] {
            assert!(is_registry_host(good), "{good}");
        }
        for bad in [
            "https://reg",
            "reg:0",
            "reg:99999",
            "",
            "reg/",
            "re g",
            "reg/mirror",
        ] {
            assert!(!is_registry_host(bad), "{bad}");
        }
    }

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("yunhui-system"));
        assert!(!is_dns_label("Yunhui"));
        assert!(!is_dns_label("-a"));
    }
}
