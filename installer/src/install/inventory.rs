//! The install inventory: one Secret per revision in the site namespace,
//! `<release>.inventory.v<N>`, holding every object that revision applied
//! (its identity and the applied manifest, gzip-compressed JSON). A Secret,
//! not a ConfigMap, because the manifests may hold Secrets (registry
//! credentials, the first admin's password).
//!
//! The revision's state is a label so it can change without rewriting the
//! data: `pending` while being applied, `deployed` when it is the site's
//! current revision, `superseded` after a later one deployed, `failed` when
//! it was rolled back. Upgrade prunes, rollback restores and uninstall
//! deletes only what these Secrets list.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde::{Deserialize, Serialize};

use super::InstallError;
use super::object::ObjectKey;

/// Label naming the release an inventory Secret belongs to.
pub const LABEL_RELEASE: &str = "yunhui.dev/inventory";
/// Label holding the revision number.
pub const LABEL_REVISION: &str = "yunhui.dev/revision";
/// Label holding the revision's state.
pub const LABEL_STATE: &str = "yunhui.dev/state";
/// Type of the inventory Secrets.
pub const SECRET_TYPE: &str = "yunhui.dev/install-inventory";
/// The data key.
const DATA_KEY: &str = "revision.json.gz";
/// Superseded and failed revisions kept for inspection.
const HISTORY: usize = 5;

/// Where a revision stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionState {
    /// Being applied (or the installer stopped while applying it).
    Pending,
    /// The site's current revision.
    Deployed,
    /// Replaced by a later deployed revision.
    Superseded,
    /// Failed and rolled back.
    Failed,
}

impl RevisionState {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionState::Pending => "pending",
            RevisionState::Deployed => "deployed",
            RevisionState::Superseded => "superseded",
            RevisionState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<RevisionState> {
        [
            RevisionState::Pending,
            RevisionState::Deployed,
            RevisionState::Superseded,
            RevisionState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Which bundle a revision came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleOrigin {
    /// Product version.
    pub version: String,
    /// Edition.
    pub edition: String,
    /// The manifest's aggregate checksum, prefixed by its algorithm
    /// (`sha256:…`, or `sm3:…` for SM2-signed bundles; the field keeps its
    /// first name so older inventories still read).
    pub aggregate_sha256: String,
    /// Who signed the bundle, and whether that was checked against the
    /// publisher's key (`--insecure-skip-signature` says it was not).
    #[serde(default)]
    pub signer: String,
}

/// One applied object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryEntry {
    /// Its identity.
    pub key: ObjectKey,
    /// The manifest applied.
    pub manifest: serde_json::Value,
}

/// The stored part of a revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionData {
    /// The bundle.
    pub bundle: BundleOrigin,
    /// Objects in apply order.
    pub objects: Vec<InventoryEntry>,
}

/// One revision as read from the cluster.
#[derive(Debug, Clone)]
pub struct Revision {
    /// Its number (1, 2, …).
    pub number: u32,
    /// Its state.
    pub state: RevisionState,
    /// What it applied.
    pub data: RevisionData,
}

/// The inventory of one release in one namespace.
pub struct Inventory {
    api: Api<Secret>,
    release: String,
}

fn secret_name(release: &str, number: u32) -> String {
    format!("{release}.inventory.v{number}")
}

impl Inventory {
    /// The inventory of `release` in `namespace`.
    pub fn new(client: kube::Client, namespace: &str, release: &str) -> Inventory {
        Inventory {
            api: Api::namespaced(client, namespace),
            release: release.to_string(),
        }
    }

    /// Every revision, oldest first.
    pub async fn revisions(&self) -> Result<Vec<Revision>, InstallError> {
        let list = self
            .api
            .list(&ListParams::default().labels(&format!("{LABEL_RELEASE}={}", self.release)))
            .await
            .map_err(|e| InstallError::kube("listing the install inventory", e))?;
        let mut out = Vec::new();
        for secret in list {
            let name = secret.metadata.name.clone().unwrap_or_default();
            let bad = |message: &str| InstallError::Inventory {
                secret: name.clone(),
                message: message.to_string(),
            };
            let labels = secret.metadata.labels.clone().unwrap_or_default();
            let number = labels
                .get(LABEL_REVISION)
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or_else(|| bad("no revision label"))?;
            let state = labels
                .get(LABEL_STATE)
                .and_then(|s| RevisionState::parse(s))
                .ok_or_else(|| bad("no valid state label"))?;
            let bytes = secret
                .data
                .as_ref()
                .and_then(|d| d.get(DATA_KEY))
                .ok_or_else(|| bad("no revision data"))?;
            let mut json = Vec::new();
            flate2::read::GzDecoder::new(&bytes.0[..])
                .take(64 << 20)
                .read_to_end(&mut json)
                .map_err(|e| bad(&format!("data is not gzip: {e}")))?;
            let data: RevisionData = serde_json::from_slice(&json)
                .map_err(|e| bad(&format!("data is not a revision: {e}")))?;
            out.push(Revision {
                number,
                state,
                data,
            });
        }
        out.sort_by_key(|r| r.number);
        Ok(out)
    }

    /// Records a new revision (state `pending`) before anything of it is applied.
    pub async fn create(&self, number: u32, data: &RevisionData) -> Result<(), InstallError> {
        let json = serde_json::to_vec(data).map_err(|e| InstallError::Inventory {
            secret: secret_name(&self.release, number),
            message: e.to_string(),
        })?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let compressed = gz
            .write_all(&json)
            .and_then(|()| gz.finish())
            .map_err(|e| InstallError::Inventory {
                secret: secret_name(&self.release, number),
                message: e.to_string(),
            })?;
        let secret = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(secret_name(&self.release, number)),
                labels: Some(BTreeMap::from([
                    (LABEL_RELEASE.to_string(), self.release.clone()),
                    (LABEL_REVISION.to_string(), number.to_string()),
                    (
                        LABEL_STATE.to_string(),
                        RevisionState::Pending.as_str().to_string(),
                    ),
                    (
                        "app.kubernetes.io/managed-by".to_string(),
                        super::FIELD_MANAGER.to_string(),
                    ),
                ])),
                ..Default::default()
            },
            type_: Some(SECRET_TYPE.to_string()),
            data: Some(BTreeMap::from([(
                DATA_KEY.to_string(),
                ByteString(compressed),
            )])),
            immutable: Some(true),
            ..Default::default()
        };
        self.api
            .create(&PostParams::default(), &secret)
            .await
            .map_err(|e| InstallError::kube("recording the new revision in the inventory", e))?;
        Ok(())
    }

    /// Sets a revision's state.
    pub async fn set_state(&self, number: u32, state: RevisionState) -> Result<(), InstallError> {
        let patch = serde_json::json!({"metadata": {"labels": {LABEL_STATE: state.as_str()}}});
        self.api
            .patch(
                &secret_name(&self.release, number),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| InstallError::kube("updating the inventory", e))?;
        Ok(())
    }

    /// Deletes old superseded and failed revisions beyond the kept history.
    pub async fn trim(&self, revisions: &[Revision]) -> Result<(), InstallError> {
        let old: Vec<&Revision> = revisions
            .iter()
            .filter(|r| matches!(r.state, RevisionState::Superseded | RevisionState::Failed))
            .collect();
        for revision in old.iter().take(old.len().saturating_sub(HISTORY)) {
            self.delete(revision.number).await?;
        }
        Ok(())
    }

    /// Deletes one revision's Secret.
    pub async fn delete(&self, number: u32) -> Result<(), InstallError> {
        match self
            .api
            .delete(
                &secret_name(&self.release, number),
                &DeleteParams::default(),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(InstallError::kube("deleting the inventory", e)),
        }
    }
}
