//! What a site should run, as manifests: the operator chart rendered by the
//! `helm` the bundle ships for this host's arch (`bin/<arch>/helm`, built
//! from helm's Go module when the bundle was built, covered by the bundle's
//! signature), with the site registry as `global.imageRegistry` and the
//! bundle's operator image; an imagePullSecret when the registry needs
//! credentials; then the site's own resources.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use sha2::{Digest, Sha256};

use super::InstallError;
use super::object::Desired;
use super::site::{Site, parse_documents};
use crate::bundle::verify::VerifiedBundle;

/// The operator chart's folder inside a bundle.
pub const CHART_DIR: &str = "charts/yunhui-operator";

/// The bundle arch name of the machine running the installer.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// Copies the bundle's helm for this arch into `work`, checking its sha256
/// against the (signature-checked) manifest while copying, so the program
/// run is the one that was signed even if the bundle changes afterwards.
fn stage_helm(bundle: &VerifiedBundle, work: &Path) -> Result<PathBuf, InstallError> {
    let path = format!("bin/{}/helm", host_arch());
    let Some((sha256, _)) = bundle.files.get(&path) else {
        return Err(InstallError::Render(format!(
            "the bundle has no {path} for this host's arch; rebuild it for {} or run the installer on a host of an arch it ships",
            host_arch()
        )));
    };
    let from = bundle.root.join(&path);
    let to = work.join("helm");
    let copy = || -> std::io::Result<String> {
        let mut input = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&from)?;
        let mut output = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .open(&to)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = input.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            output.write_all(&buffer[..n])?;
        }
        output.sync_all()?;
        Ok(hex::encode(hasher.finalize()))
    };
    let actual = copy().map_err(|e| InstallError::Render(format!("{path}: {e}")))?;
    if &actual != sha256 {
        return Err(InstallError::Render(format!(
            "{path} changed after the bundle was verified (sha256 {actual}, signed {sha256})"
        )));
    }
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| InstallError::Render(format!("{}: {e}", to.display())))?;
    Ok(to)
}

/// Merges `overlay` into `base` (mappings recursively, anything else replaced).
fn merge(base: &mut serde_json::Value, overlay: serde_json::Value) {
    match (base, overlay) {
        (serde_json::Value::Object(base), serde_json::Value::Object(overlay)) => {
            for (key, value) in overlay {
                merge(base.entry(key).or_insert(serde_json::Value::Null), value);
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// Name of the imagePullSecret the installer creates from the registry credentials.
pub fn pull_secret_name(release: &str) -> String {
    format!("{release}-registry")
}

/// The chart values the installer sets: registry override, the bundle's
/// operator image, and the pull secret. They win over the site's values.
pub fn chart_values(
    site: &Site,
    bundle: &VerifiedBundle,
) -> Result<serde_json::Value, InstallError> {
    let operator = bundle
        .manifest
        .images
        .iter()
        .find(|i| i.component == "operator")
        .ok_or_else(|| {
            InstallError::Render("the bundle has no operator image; it cannot be installed".into())
        })?;
    let mut values = site.chart_values.clone();
    let mut overrides = serde_json::json!({
        "global": {"imageRegistry": site.registry.host},
        "image": {"repository": operator.repository, "tag": operator.tag},
    });
    if site.registry.credentials.is_some() {
        overrides["imagePullSecrets"] =
            serde_json::json!([{"name": pull_secret_name(&site.release)}]);
    }
    merge(&mut values, overrides);
    Ok(values)
}

/// The docker-config Secret kubelets use to pull from the site registry.
fn pull_secret(site: &Site) -> Option<serde_json::Value> {
    let (user, password) = site.registry.credentials.as_ref()?;
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let host = &site.registry.host;
    let config = serde_json::json!({"auths": {host: {"username": user, "password": password, "auth": auth}}});
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(pull_secret_name(&site.release)),
            namespace: Some(site.namespace.clone()),
            ..Default::default()
        },
        type_: Some("kubernetes.io/dockerconfigjson".into()),
        data: Some(
            [(
                ".dockerconfigjson".to_string(),
                ByteString(config.to_string().into_bytes()),
            )]
            .into(),
        ),
        ..Default::default()
    };
    let mut value = serde_json::to_value(&secret).ok()?;
    value["apiVersion"] = "v1".into();
    value["kind"] = "Secret".into();
    Some(value)
}

/// Renders everything the site should run, in no particular order.
pub fn render(
    site: &Site,
    bundle: &VerifiedBundle,
    helm_override: Option<&Path>,
) -> Result<Vec<Desired>, InstallError> {
    let chart = bundle.root.join(CHART_DIR);
    if !bundle
        .files
        .contains_key(&format!("{CHART_DIR}/Chart.yaml"))
    {
        return Err(InstallError::Render(format!(
            "the bundle has no {CHART_DIR}/Chart.yaml"
        )));
    }
    let work = tempfile::tempdir()
        .map_err(|e| InstallError::Render(format!("cannot create a temporary folder: {e}")))?;
    let helm = match helm_override {
        Some(path) => path.to_path_buf(),
        None => stage_helm(bundle, work.path())?,
    };
    let values_path = work.path().join("values.json");
    let values = chart_values(site, bundle)?;
    std::fs::write(&values_path, values.to_string())
        .map_err(|e| InstallError::Render(format!("{}: {e}", values_path.display())))?;
    let output = Command::new(&helm)
        .arg("template")
        .arg(&site.release)
        .arg(&chart)
        .args(["--namespace", &site.namespace, "--include-crds", "--values"])
        .arg(&values_path)
        .env("HELM_CACHE_HOME", work.path().join("cache"))
        .env("HELM_CONFIG_HOME", work.path().join("config"))
        .env("HELM_DATA_HOME", work.path().join("data"))
        .output()
        .map_err(|e| InstallError::Render(format!("cannot run {}: {e}", helm.display())))?;
    if !output.status.success() {
        return Err(InstallError::Render(format!(
            "helm template of {CHART_DIR} failed (check `chart.values` in {}): {}",
            site.path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let chart_origin = format!("chart {CHART_DIR}");
    let mut desired: Vec<Desired> = parse_documents(&text)
        .map_err(|e| InstallError::Render(format!("helm printed invalid YAML: {e}")))?
        .into_iter()
        .filter(|v| v.is_object())
        .map(|manifest| Desired {
            origin: chart_origin.clone(),
            manifest,
        })
        .collect();
    if let Some(secret) = pull_secret(site) {
        desired.push(Desired {
            origin: "registry.credentials".into(),
            manifest: secret,
        });
    }
    for (origin, manifest) in &site.resources {
        desired.push(Desired {
            origin: origin.clone(),
            manifest: manifest.clone(),
        });
    }
    Ok(desired)
}

#[cfg(test)]
mod tests {
    use super::merge;

    #[test]
    fn merge_keeps_site_values_and_overrides_the_registry() {
        let mut values =
            serde_json::json!({"replicaCount": 1, "global": {"other": true, "imageRegistry": "x"}});
        merge(
            &mut values,
            serde_json::json!({"global": {"imageRegistry": "reg:5000"}}),
        );
        assert_eq!(
            values,
            serde_json::json!({"replicaCount": 1, "global": {"other": true, "imageRegistry": "reg:5000"}})
        );
    }
}
