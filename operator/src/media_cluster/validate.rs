//! Checks the API server's schema cannot express: a spec that fails them gets
//! `Ready=False` (reason `InvalidSpec`), an Event, and no children until it
//! changes.

use yunhui_crds::MediaClusterSpec;

/// Why a MediaCluster spec cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSpec {
    /// `spec.database.embedded.storageSize` is not a Kubernetes quantity.
    #[error("spec.database.embedded.storageSize {0:?} is not a size such as 10Gi or 500Mi")]
    StorageSize(String),
    /// `spec.version` is not usable as an image tag.
    #[error(
        "spec.version {0:?} is not a valid image tag (letters, digits, '.', '_', '-'; at most 128)"
    )]
    Version(String),
    /// The node selector contradicts `spec.sfu.architecture`.
    #[error(
        "spec.sfu.nodeSelector sets kubernetes.io/arch={selector} but spec.sfu.architecture is {architecture}; drop one of them"
    )]
    ArchitectureConflict {
        /// The selector's value.
        selector: String,
        /// The architecture field.
        architecture: String,
    },
}

/// Validates what the schema cannot.
pub fn validate(spec: &MediaClusterSpec) -> Result<(), InvalidSpec> {
    let size = &spec.database.embedded.storage_size;
    if spec.database.external.is_none() && !is_quantity(size) {
        return Err(InvalidSpec::StorageSize(size.clone()));
    }
    let tag_ok = !spec.version.is_empty()
        && spec.version.len() <= 128
        && spec
            .version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !spec.version.starts_with(['.', '-']);
    if !tag_ok {
        return Err(InvalidSpec::Version(spec.version.clone()));
    }
    if let (Some(arch), Some(selector)) = (
        spec.sfu.architecture,
        spec.sfu.node_selector.get("kubernetes.io/arch"),
    ) {
        let architecture = super::build::arch_label(arch).to_string();
        if *selector != architecture {
            return Err(InvalidSpec::ArchitectureConflict {
                selector: selector.clone(),
                architecture,
            });
        }
    }
    Ok(())
}

/// Whether `s` looks like a Kubernetes quantity (`10Gi`, `500M`, `1.5G`, `1e9`).
fn is_quantity(s: &str) -> bool {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    !number.is_empty()
        && number.parse::<f64>().is_ok()
        && matches!(
            suffix,
            "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "k" | "M" | "G" | "T" | "P" | "E" | "m"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert!(is_quantity("10Gi"));
        assert!(is_quantity("1.5G"));
        assert!(!is_quantity("ten gigs"));
        assert!(!is_quantity("Gi"));
    }

    #[test]
    fn conflicting_architecture_is_invalid() {
        let mut spec: MediaClusterSpec = serde_json::from_str("{}").expect("defaults");
        spec.sfu.architecture = Some(yunhui_crds::media_cluster::Architecture::Arm64);
        spec.sfu
            .node_selector
            .insert("kubernetes.io/arch".into(), "amd64".into());
        assert!(matches!(
            validate(&spec),
            Err(InvalidSpec::ArchitectureConflict { .. })
        ));
    }

    #[test]
    fn bad_storage_size_is_invalid() {
        let mut spec: MediaClusterSpec = serde_json::from_str("{}").expect("defaults");
        spec.database.embedded.storage_size = "lots".into();
        assert_eq!(
            validate(&spec),
            Err(InvalidSpec::StorageSize("lots".into()))
        );
    }
}
