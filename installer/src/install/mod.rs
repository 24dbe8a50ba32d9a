//! `yunhui install | upgrade | uninstall --config SITE.yaml` (F-OPS-4).
//!
//! The pipeline: read the site file → verify the bundle → (push its images)
//! → render the operator chart and the site's resources → resolve each
//! object's API resource → compare with the inventory → apply (server-side
//! apply, field manager `yunhui-installer`) → wait for the operator to roll
//! out → prune what the previous revision had and this one has not.
//!
//! Guarantees:
//! - every object is recorded in the inventory ([`inventory`]) before it is
//!   applied, so nothing the installer creates is ever untracked;
//! - a second install of the same site writes nothing;
//! - a failed upgrade re-applies the previous revision, deletes only what the
//!   failed one added, and never uninstalls;
//! - uninstall deletes exactly the inventory's objects; a CRD is kept while
//!   objects of its kind that the installer did not create still exist, and
//!   the namespace is kept (it may hold other things).

pub mod apply;
pub mod inventory;
pub mod object;
pub mod render;
pub mod site;

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use serde::Serialize;

use crate::bundle::OutputFormat;
use crate::bundle::archive::OpenedBundle;
use crate::bundle::trust::Trust;
use crate::progress::Progress;
use inventory::{BundleOrigin, Inventory, InventoryEntry, Revision, RevisionData, RevisionState};
use object::{Desired, ObjectKey, Resolved, kind_rank};
use site::Site;

/// The field manager of every server-side apply the installer makes.
pub const FIELD_MANAGER: &str = "yunhui-installer";

/// Errors of install, upgrade and uninstall; each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The site file is unusable (names the field).
    #[error(transparent)]
    Site(#[from] site::SiteError),
    /// The bundle did not verify; nothing was applied.
    #[error(transparent)]
    Verify(#[from] crate::bundle::verify::VerifyError),
    /// The single-file bundle was refused; nothing was applied.
    #[error(transparent)]
    Archive(#[from] crate::bundle::archive::ArchiveError),
    /// Pushing the images failed; nothing was applied.
    #[error("pushing the bundle's images (registry.push) failed: {0}")]
    Push(#[from] crate::registry::push::PushError),
    /// Rendering the chart failed; nothing was applied.
    #[error("rendering the operator chart: {0}")]
    Render(String),
    /// No usable connection to the cluster.
    #[error("cannot connect to the cluster: {0}")]
    Connect(String),
    /// An API request failed.
    #[error("{doing}: {message}")]
    Kube {
        /// What the installer was doing.
        doing: String,
        /// The API server's message.
        message: String,
    },
    /// An inventory Secret is damaged.
    #[error("inventory Secret {secret} is unusable: {message}")]
    Inventory {
        /// The Secret.
        secret: String,
        /// What is wrong.
        message: String,
    },
    /// A desired object is unusable.
    #[error("{origin}: {message}")]
    Object {
        /// Where it came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The API server refused an object.
    #[error("applying {key} (from {origin}) failed: {message}")]
    Apply {
        /// The object.
        key: String,
        /// Where it came from.
        origin: String,
        /// The API server's message.
        message: String,
    },
    /// Deleting an object failed.
    #[error("deleting {key} failed: {message}")]
    Delete {
        /// The object.
        key: String,
        /// The API server's message.
        message: String,
    },
    /// A wait ran out.
    #[error("{0}")]
    Timeout(String),
    /// Install found a different revision installed.
    #[error(
        "release {release} is already installed in namespace {namespace} (revision {revision}, version {version}) with different contents; use `yunhui upgrade --config …`"
    )]
    AlreadyInstalled {
        /// Release.
        release: String,
        /// Namespace.
        namespace: String,
        /// Installed revision.
        revision: u32,
        /// Installed version.
        version: String,
    },
    /// Upgrade found nothing installed.
    #[error(
        "release {release} is not installed in namespace {namespace} (no inventory); use `yunhui install --config …`"
    )]
    NotInstalled {
        /// Release.
        release: String,
        /// Namespace.
        namespace: String,
    },
    /// The upgrade failed and the previous revision was restored.
    #[error(
        "upgrade to revision {revision} failed and was rolled back to revision {previous} (nothing was uninstalled): {cause}"
    )]
    RolledBack {
        /// The failed revision.
        revision: u32,
        /// The restored revision.
        previous: u32,
        /// Why it failed.
        cause: Box<InstallError>,
    },
    /// The upgrade failed and so did the rollback.
    #[error(
        "upgrade to revision {revision} failed ({cause}) and rolling back to revision {previous} failed too ({rollback}); fix the cause and run `yunhui upgrade` again"
    )]
    RollbackFailed {
        /// The failed revision.
        revision: u32,
        /// The revision being restored.
        previous: u32,
        /// Why the upgrade failed.
        cause: Box<InstallError>,
        /// Why the rollback failed.
        rollback: Box<InstallError>,
    },
    /// A first install failed; what was applied stays, recorded as failed.
    #[error(
        "install (revision {revision}) failed: {cause}; what was applied is recorded in the inventory: fix the cause and run install again, or uninstall"
    )]
    InstallFailed {
        /// The failed revision.
        revision: u32,
        /// Why.
        cause: Box<InstallError>,
    },
}

impl InstallError {
    /// An API error while doing something.
    pub fn kube(doing: &str, error: kube::Error) -> InstallError {
        InstallError::Kube {
            doing: doing.to_string(),
            message: apply::kube_message(error),
        }
    }
}

/// `yunhui install | upgrade | uninstall`.
#[derive(Debug, Args)]
pub struct SiteArgs {
    /// The site file (bundle, registry, namespace, cluster, resources).
    #[arg(long)]
    pub config: PathBuf,
    /// Use this helm instead of the bundle's bin/<arch>/helm.
    #[arg(long)]
    pub helm: Option<PathBuf>,
    /// Install a bundle signed by any key when the site file names no
    /// `bundleKey`. Loud, and recorded in the inventory.
    #[arg(long)]
    pub insecure_skip_signature: bool,
    /// Output format of the result.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// What a command did, printed as text or JSON.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// `install`, `upgrade` or `uninstall`.
    pub action: String,
    /// Release.
    pub release: String,
    /// Namespace.
    pub namespace: String,
    /// The revision now deployed (none after uninstall).
    pub revision: Option<u32>,
    /// Whether anything was written.
    pub changed: bool,
    /// Objects applied.
    pub applied: usize,
    /// Objects deleted (pruned or uninstalled).
    pub deleted: Vec<String>,
    /// Objects kept on purpose, with the reason.
    pub kept: Vec<String>,
}

impl Outcome {
    fn print(&self, format: OutputFormat) {
        match format {
            OutputFormat::Json => println!(
                "{}",
                serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
            ),
            OutputFormat::Text => {
                let what = match (self.action.as_str(), self.changed, self.revision) {
                    ("uninstall", true, _) => "uninstalled".to_string(),
                    ("uninstall", false, _) => "nothing installed".to_string(),
                    (_, false, Some(r)) => format!("unchanged at revision {r}"),
                    (action, true, Some(r)) => format!("{action}ed revision {r}"),
                    (action, _, None) => action.to_string(),
                };
                println!(
                    "{} in namespace {}: {what} ({} objects applied, {} deleted)",
                    self.release,
                    self.namespace,
                    self.applied,
                    self.deleted.len()
                );
                for deleted in &self.deleted {
                    println!("  deleted {deleted}");
                }
                for kept in &self.kept {
                    println!("  kept {kept}");
                }
            }
        }
    }
}

/// Install or upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// First install (or a no-op when the same is installed).
    Install,
    /// A new revision over an installed one.
    Upgrade,
}

async fn connect(site: &Site) -> Result<kube::Client, InstallError> {
    let config = match &site.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| {
                InstallError::Connect(format!("kubeconfig {}: {e}", path.display()))
            })?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .map_err(|e| InstallError::Connect(format!("kubeconfig {}: {e}", path.display())))?
        }
        None => kube::Config::infer().await.map_err(|e| {
            InstallError::Connect(format!(
                "{e}; set `kubeconfig` in {} or run inside the cluster",
                site.path.display()
            ))
        })?,
    };
    kube::Client::try_from(config).map_err(|e| InstallError::Connect(e.to_string()))
}

async fn ensure_namespace(client: &kube::Client, name: &str) -> Result<(), InstallError> {
    let api: Api<Namespace> = Api::all(client.clone());
    if api
        .get_opt(name)
        .await
        .map_err(|e| InstallError::kube("reading the namespace", e))?
        .is_some()
    {
        return Ok(());
    }
    let namespace = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &namespace).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(e) => Err(InstallError::kube("creating the namespace", e)),
    }
}

/// Verifies the site's bundle (a directory, or a single file extracted
/// first) against the site's `bundleKey`; returns it with who signed it.
fn open_bundle(
    site: &Site,
    insecure_skip_signature: bool,
) -> Result<(OpenedBundle, String), InstallError> {
    let trust = Trust::choose(
        site.bundle_key.clone(),
        insecure_skip_signature,
        "set `bundleKey` in the site file",
    )?;
    let opened = crate::bundle::trust::open(&site.bundle, &trust)?;
    let signer = trust.signer(&opened.key_id);
    Ok((opened, signer))
}

fn entries(resolved: &[Resolved]) -> Vec<InventoryEntry> {
    resolved
        .iter()
        .map(|r| InventoryEntry {
            key: r.key.clone(),
            manifest: r.manifest.clone(),
        })
        .collect()
}

/// Resolves a stored revision's manifests again (for rollback).
async fn resolve_revision(
    client: &kube::Client,
    namespace: &str,
    revision: &Revision,
) -> Result<Vec<Resolved>, InstallError> {
    let desired = revision
        .data
        .objects
        .iter()
        .map(|e| Desired {
            origin: format!("revision {}", revision.number),
            manifest: e.manifest.clone(),
        })
        .collect();
    object::resolve(client, namespace, desired).await
}

/// Deletes inventory objects, custom resources first and CRDs last; a CRD
/// is kept while objects of its kind remain that are not being deleted.
/// The order of an uninstall's deletions.
#[derive(Debug, Default, PartialEq)]
struct Waves {
    /// Objects of the kinds the inventory's CRDs define (their finalizers
    /// need the operator).
    custom: Vec<(ObjectKey, serde_json::Value)>,
    /// Workloads (the operator's Deployment): stopped before what they use
    /// goes, so nothing they write (their leader Lease) comes back.
    workloads: Vec<(ObjectKey, serde_json::Value)>,
    /// Everything else but the CRDs: RBAC, Secrets, the Lease.
    others: Vec<(ObjectKey, serde_json::Value)>,
    /// The CRDs, last.
    crds: Vec<(ObjectKey, serde_json::Value)>,
}

/// Kinds that run programs.
const WORKLOADS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Pod",
];

/// Splits the objects to delete into [`Waves`], keeping their order.
fn deletion_waves(objects: Vec<(ObjectKey, serde_json::Value)>) -> Waves {
    let defined: Vec<(String, String)> = objects
        .iter()
        .filter(|(key, _)| key.kind == "CustomResourceDefinition")
        .filter_map(|(_, crd)| {
            Some((
                crd["spec"]["group"].as_str()?.to_string(),
                crd["spec"]["names"]["kind"].as_str()?.to_string(),
            ))
        })
        .collect();
    let mut waves = Waves::default();
    for (key, manifest) in objects {
        if key.kind == "CustomResourceDefinition" {
            waves.crds.push((key, manifest));
        } else if defined
            .iter()
            .any(|(group, kind)| *group == key.group && *kind == key.kind)
        {
            waves.custom.push((key, manifest));
        } else if WORKLOADS.contains(&key.kind.as_str()) {
            waves.workloads.push((key, manifest));
        } else {
            waves.others.push((key, manifest));
        }
    }
    waves
}

async fn delete_objects(
    client: &kube::Client,
    mut objects: Vec<(ObjectKey, serde_json::Value)>,
    timeout: std::time::Duration,
    outcome: &mut Outcome,
) -> Result<(), InstallError> {
    objects.sort_by_key(|(key, _)| std::cmp::Reverse(kind_rank(&key.kind)));
    let Waves {
        custom,
        workloads,
        others,
        crds,
    } = deletion_waves(objects);
    // The site's custom resources go first and are waited for while the
    // operator that runs their finalizers (and its RBAC) still exists; then
    // the operator stops (foreground deletion: its pods are gone when its
    // Deployment is) before its RBAC and Lease go.
    for wave in [&custom, &workloads, &others] {
        for (key, manifest) in wave {
            if apply::delete(client, key, manifest).await? == apply::Deleted::Deleted {
                outcome.deleted.push(key.to_string());
            }
        }
        apply::wait_gone(client, wave, timeout).await?;
    }
    let mut deleted_crds = Vec::new();
    for (key, manifest) in crds {
        let remaining = apply::remaining_instances(client, &manifest, 5).await?;
        if !remaining.is_empty() {
            outcome.kept.push(format!(
                "{key}: objects of its kind that the installer did not create still exist ({}); delete them first to remove the CRD",
                remaining.join(", ")
            ));
            continue;
        }
        if apply::delete(client, &key, &manifest).await? == apply::Deleted::Deleted {
            outcome.deleted.push(key.to_string());
        }
        deleted_crds.push((key, manifest));
    }
    apply::wait_gone(client, &deleted_crds, timeout).await
}

/// `yunhui install` and `yunhui upgrade`.
pub async fn install(
    site: &Site,
    mode: Mode,
    helm: Option<&std::path::Path>,
    insecure_skip_signature: bool,
    progress: &Progress,
) -> Result<Outcome, InstallError> {
    let (opened, signer) = open_bundle(site, insecure_skip_signature)?;
    let verified = &opened.verified;
    if site.registry.push {
        let destination = crate::registry::push::Destination {
            host: site.registry.host.clone(),
            ca: site.registry.ca.clone(),
            insecure: site.registry.insecure,
            credentials: site.registry.credentials.clone(),
        };
        crate::registry::push::push_to(destination, verified, progress).await?;
    }
    let desired = render::render(site, verified, helm)?;
    let client = connect(site).await?;
    ensure_namespace(&client, &site.namespace).await?;
    let resolved = object::resolve(&client, &site.namespace, desired).await?;
    let inventory = Inventory::new(client.clone(), &site.namespace, &site.release);
    let revisions = inventory.revisions().await?;
    let deployed = revisions
        .iter()
        .rev()
        .find(|r| r.state == RevisionState::Deployed);
    let data = RevisionData {
        bundle: BundleOrigin {
            version: verified.manifest.version.clone(),
            edition: verified.manifest.edition.clone(),
            aggregate_sha256: verified.manifest.aggregate().to_string(),
            signer,
        },
        objects: entries(&resolved),
    };
    let mut outcome = Outcome {
        action: match mode {
            Mode::Install => "install",
            Mode::Upgrade => "upgrade",
        }
        .into(),
        release: site.release.clone(),
        namespace: site.namespace.clone(),
        applied: resolved.len(),
        ..Default::default()
    };
    match (mode, deployed) {
        (Mode::Upgrade, None) => {
            return Err(InstallError::NotInstalled {
                release: site.release.clone(),
                namespace: site.namespace.clone(),
            });
        }
        (_, Some(current)) if current.data.objects == data.objects => {
            // Same contents: re-apply (a no-op unless someone changed a
            // field the installer owns) and record nothing new.
            apply::apply_all(&client, &resolved, progress).await?;
            apply::wait_rollouts(&client, &resolved, site.rollout_timeout, progress).await?;
            outcome.revision = Some(current.number);
            return Ok(outcome);
        }
        (Mode::Install, Some(current)) => {
            return Err(InstallError::AlreadyInstalled {
                release: site.release.clone(),
                namespace: site.namespace.clone(),
                revision: current.number,
                version: current.data.bundle.version.clone(),
            });
        }
        _ => {}
    }
    let number = revisions.last().map_or(1, |r| r.number + 1);
    inventory.create(number, &data).await?;
    outcome.changed = true;
    let result = async {
        apply::apply_all(&client, &resolved, progress).await?;
        apply::wait_rollouts(&client, &resolved, site.rollout_timeout, progress).await
    }
    .await;
    if let Err(cause) = result {
        let Some(previous) = deployed else {
            inventory.set_state(number, RevisionState::Failed).await?;
            return Err(InstallError::InstallFailed {
                revision: number,
                cause: Box::new(cause),
            });
        };
        let rollback = rollback(&client, site, previous, &data, progress).await;
        inventory.set_state(number, RevisionState::Failed).await?;
        return Err(match rollback {
            Ok(()) => InstallError::RolledBack {
                revision: number,
                previous: previous.number,
                cause: Box::new(cause),
            },
            Err(rollback) => InstallError::RollbackFailed {
                revision: number,
                previous: previous.number,
                cause: Box::new(cause),
                rollback: Box::new(rollback),
            },
        });
    }
    // Prune what earlier live revisions (deployed, pending, failed) had and this one has not.
    let keep: BTreeSet<&ObjectKey> = data.objects.iter().map(|e| &e.key).collect();
    let mut stale: Vec<(ObjectKey, serde_json::Value)> = Vec::new();
    for revision in revisions
        .iter()
        .rev()
        .filter(|r| r.state != RevisionState::Superseded)
    {
        for entry in &revision.data.objects {
            if !keep.contains(&entry.key) && !stale.iter().any(|(k, _)| k == &entry.key) {
                stale.push((entry.key.clone(), entry.manifest.clone()));
            }
        }
    }
    delete_objects(&client, stale, site.rollout_timeout, &mut outcome).await?;
    for revision in &revisions {
        if matches!(
            revision.state,
            RevisionState::Deployed | RevisionState::Pending
        ) {
            inventory
                .set_state(revision.number, RevisionState::Superseded)
                .await?;
        }
    }
    inventory.set_state(number, RevisionState::Deployed).await?;
    inventory.trim(&inventory.revisions().await?).await?;
    outcome.revision = Some(number);
    Ok(outcome)
}

/// Restores `previous` after a failed revision: re-applies its manifests,
/// deletes what only the failed revision had, waits for the rollout.
async fn rollback(
    client: &kube::Client,
    site: &Site,
    previous: &Revision,
    failed: &RevisionData,
    progress: &Progress,
) -> Result<(), InstallError> {
    eprintln!("rolling back to revision {}", previous.number);
    let restored = resolve_revision(client, &site.namespace, previous).await?;
    apply::apply_all(client, &restored, progress).await?;
    let keep: BTreeSet<&ObjectKey> = previous.data.objects.iter().map(|e| &e.key).collect();
    let added: Vec<(ObjectKey, serde_json::Value)> = failed
        .objects
        .iter()
        .filter(|e| !keep.contains(&e.key))
        .map(|e| (e.key.clone(), e.manifest.clone()))
        .collect();
    let mut ignored = Outcome::default();
    delete_objects(client, added, site.rollout_timeout, &mut ignored).await?;
    apply::wait_rollouts(client, &restored, site.rollout_timeout, progress).await
}

/// `yunhui uninstall`: deletes exactly what the inventory lists.
pub async fn uninstall(site: &Site) -> Result<Outcome, InstallError> {
    let client = connect(site).await?;
    let inventory = Inventory::new(client.clone(), &site.namespace, &site.release);
    let revisions = inventory.revisions().await?;
    let mut outcome = Outcome {
        action: "uninstall".into(),
        release: site.release.clone(),
        namespace: site.namespace.clone(),
        ..Default::default()
    };
    if revisions.is_empty() {
        return Ok(outcome);
    }
    outcome.changed = true;
    let mut objects: Vec<(ObjectKey, serde_json::Value)> = Vec::new();
    for revision in revisions
        .iter()
        .rev()
        .filter(|r| r.state != RevisionState::Superseded)
    {
        for entry in &revision.data.objects {
            if !objects.iter().any(|(k, _)| k == &entry.key) {
                objects.push((entry.key.clone(), entry.manifest.clone()));
            }
        }
    }
    delete_objects(&client, objects, site.rollout_timeout, &mut outcome).await?;
    for revision in &revisions {
        inventory.delete(revision.number).await?;
    }
    outcome.kept.push(format!(
        "Namespace {}: it may hold objects the installer did not create",
        site.namespace
    ));
    Ok(outcome)
}

/// Runs install, upgrade or uninstall and prints the outcome.
pub async fn run(args: SiteArgs, action: Option<Mode>) -> Result<(), InstallError> {
    let site = Site::load(&args.config, action.is_some())?;
    let progress = Progress::new(matches!(args.output, OutputFormat::Json));
    let outcome = match action {
        Some(mode) => {
            install(
                &site,
                mode,
                args.helm.as_deref(),
                args.insecure_skip_signature,
                &progress,
            )
            .await?
        }
        None => uninstall(&site).await?,
    };
    outcome.print(args.output);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(group: &str, kind: &str, name: &str) -> (ObjectKey, serde_json::Value) {
        (
            ObjectKey {
                group: group.into(),
                kind: kind.into(),
                namespace: None,
                name: name.into(),
            },
            serde_json::json!({}),
        )
    }

    fn crd(group: &str, kind: &str) -> (ObjectKey, serde_json::Value) {
        let (key, _) = object("apiextensions.k8s.io", "CustomResourceDefinition", kind);
        (
            key,
            serde_json::json!({"spec": {"group": group, "names": {"kind": kind}}}),
        )
    }

    fn names(wave: &[(ObjectKey, serde_json::Value)]) -> Vec<&str> {
        wave.iter().map(|(key, _)| key.name.as_str()).collect()
    }

    /// The operator finalises Tenants: they must be gone before the
    /// operator's Deployment is deleted, which must be gone before its RBAC
    /// and Lease (or it renews the Lease back), and the CRDs last.
    #[test]
    fn custom_resources_go_before_the_operator_and_crds_last() {
        let waves = deletion_waves(vec![
            object("yunhui.dev", "Tenant", "acme"),
            object("apps", "Deployment", "operator"),
            crd("yunhui.dev", "Tenant"),
            object("", "Secret", "acme-first-admin"),
            object("yunhui.dev", "MediaCluster", "prod"),
            crd("yunhui.dev", "MediaCluster"),
            // Same kind name in another group: not ours.
            object("example.com", "Tenant", "other"),
        ]);
        assert_eq!(names(&waves.custom), ["acme", "prod"]);
        assert_eq!(names(&waves.workloads), ["operator"]);
        assert_eq!(names(&waves.others), ["acme-first-admin", "other"]);
        assert_eq!(names(&waves.crds), ["Tenant", "MediaCluster"]);
    }
}
