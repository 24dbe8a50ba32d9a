//! What every controller shares: the client, the watch caches, the event
//! recorder, metrics, settings; plus the status and event helpers of the
//! pipeline's last step.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::backoff::{Policy, Tracker};
use crate::cache::Caches;
use crate::children::FIELD_MANAGER;
use crate::error::Result;
use crate::telemetry::Metrics;

/// Settings of the operator.
#[derive(Debug, Clone)]
pub struct OperatorConfig {
    /// Identity of this replica (pod name), for the Lease and events.
    pub identity: String,
    /// Namespace of the leader-election Lease.
    pub lease_namespace: String,
    /// Name of the leader-election Lease.
    pub lease_name: String,
    /// How long a Lease is valid without renewal.
    pub lease_duration: Duration,
    /// Global pause switch: no resource is reconciled while set.
    pub paused: bool,
    /// Default image registry (`spec.images.registry` overrides it).
    pub default_registry: String,
    /// Default imagePullSecrets of the services' pods
    /// (`spec.images.pullSecrets` overrides them).
    pub default_pull_secrets: Vec<String>,
    /// Requeue interval of a converged resource.
    pub resync: Duration,
    /// Label selector limiting which Tenants, MediaClusters and Gateways this
    /// operator reconciles (sharding, canaries); `None` takes all.
    pub selector: Option<String>,
    /// How failed reconciles are retried.
    pub backoff: Policy,
    /// Most reconciles of one kind running at once (0: no limit). Bounds the
    /// operator's memory and its burst of requests at a cold start.
    pub concurrency: u16,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        OperatorConfig {
            identity: "yunhui-operator".into(),
            lease_namespace: "default".into(),
            lease_name: "yunhui-operator".into(),
            lease_duration: Duration::from_secs(15),
            paused: false,
            default_registry: "registry.yunhui.dev/yunhui".into(),
            default_pull_secrets: Vec::new(),
            resync: Duration::from_secs(300),
            selector: None,
            backoff: Policy::default(),
            concurrency: 16,
        }
    }
}

/// Shared state of the controllers.
pub struct Context {
    /// Kubernetes client (for writes, and the few reads a cache cannot serve).
    pub client: Client,
    /// What the reconciles read: the watch caches.
    pub caches: Caches,
    /// Event recorder.
    pub recorder: Recorder,
    /// Metrics.
    pub metrics: Metrics,
    /// Settings.
    pub config: OperatorConfig,
    /// HTTP client for signal's admin API.
    pub http: reqwest::Client,
    /// Consecutive failures per object, for the back-off of retries.
    pub backoff: Tracker,
    /// The last status written per object (see [`already_written`]).
    written: Mutex<HashMap<String, WrittenStatus>>,
}

/// A status this operator wrote: the version of the object it was written
/// over, and a hash of the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenStatus {
    /// `metadata.resourceVersion` of the object the status was computed from.
    pub over: Option<String>,
    /// Hash of the status's JSON.
    pub hash: String,
}

/// Whether `status` (by its hash) was written already, over the very
/// version of the object now at hand: the watch has not yet brought the
/// object back with that write in it, and writing again would change
/// nothing. (A reconcile triggered right after the previous one still sees
/// the object as it was.)
pub fn already_written(last: Option<&WrittenStatus>, version: Option<&String>, hash: &str) -> bool {
    last.is_some_and(|w| w.over.as_ref() == version && w.hash == hash)
}

/// Hash of a status's JSON without its conditions' `lastTransitionTime`s: a
/// reconcile of an object the watch has not brought back yet settles its
/// conditions against the old ones and stamps them anew, and that alone is
/// no reason to write the same status again.
fn status_hash<S: Serialize>(status: &S) -> Result<String> {
    let mut json = serde_json::to_value(status)?;
    forget_transition_times(&mut json);
    Ok(hex::encode(
        &Sha256::digest(serde_json::to_vec(&json)?)[..12],
    ))
}

/// Removes every `lastTransitionTime` from `json`, however deep.
fn forget_transition_times(json: &mut serde_json::Value) {
    match json {
        serde_json::Value::Object(map) => {
            map.remove("lastTransitionTime");
            map.values_mut().for_each(forget_transition_times);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(forget_transition_times),
        _ => {}
    }
}

impl Context {
    /// Builds the context around `caches` (filled by the watches
    /// [`Caches::new`] returns, which run alongside the controllers).
    pub fn new(client: Client, caches: Caches, metrics: Metrics, config: OperatorConfig) -> Self {
        let reporter = Reporter {
            controller: "yunhui-operator".into(),
            instance: Some(config.identity.clone()),
        };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            caches,
            metrics,
            backoff: Tracker::new(config.backoff),
            written: Mutex::default(),
            config,
            // No kept-alive connections: a Service's address reached before
            // it had endpoints (or before kube-proxy wrote its rules) may be
            // answered by whatever routes it instead, and a pooled
            // connection would keep every retry on that wrong peer.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_max_idle_per_host(0)
                .build()
                .unwrap_or_default(),
        }
    }

    /// Publishes an event about `obj`; failures are logged, never fatal.
    pub async fn event<K>(&self, obj: &K, warning: bool, reason: &str, note: String, action: &str)
    where
        K: Resource<DynamicType = ()>,
    {
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.into(),
            note: Some(note),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &obj.object_ref(&())).await {
            tracing::warn!(error = %e, "publishing an event failed");
        }
    }

    /// Writes `status` into `obj` with server-side apply, unless the current
    /// status (as cached: `obj` comes from a watch) already equals it, or
    /// this operator wrote it over this very version of `obj` already
    /// ([`already_written`]). Returns whether a write happened.
    pub async fn write_status<K, S>(&self, obj: &K, current: Option<&S>, status: &S) -> Result<bool>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Serialize
            + Debug,
        S: Serialize + PartialEq,
    {
        if current == Some(status) {
            return Ok(false);
        }
        let namespace = obj.namespace().unwrap_or_default();
        let key = format!("{}/{namespace}/{}", K::kind(&()), obj.name_any());
        let hash = status_hash(status)?;
        let version = obj.meta().resource_version.clone();
        {
            let written = self.written.lock().unwrap_or_else(|p| p.into_inner());
            if already_written(written.get(&key), version.as_ref(), &hash) {
                return Ok(false);
            }
        }
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        let patch = serde_json::json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "status": status,
        });
        api.patch_status(
            &obj.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                key,
                WrittenStatus {
                    over: version,
                    hash,
                },
            );
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(over: &str, hash: &str) -> WrittenStatus {
        WrittenStatus {
            over: Some(over.into()),
            hash: hash.into(),
        }
    }

    #[test]
    fn a_status_written_over_the_version_at_hand_is_not_written_again() {
        let last = written("41", "h1");
        assert!(already_written(Some(&last), Some(&"41".into()), "h1"));
    }

    #[test]
    fn a_status_stamped_anew_hashes_as_the_one_written() {
        let at = |time: &str| {
            serde_json::json!({"synced": true, "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": time}
            ]})
        };
        let first = status_hash(&at("2026-12-06T10:00:00Z")).unwrap();
        assert_eq!(first, status_hash(&at("2026-12-06T10:00:07Z")).unwrap());
        let mut failed = at("2026-12-06T10:00:00Z");
        failed["conditions"][0]["status"] = "False".into();
        assert_ne!(
            first,
            status_hash(&failed).unwrap(),
            "a changed condition is written"
        );
    }

    #[test]
    fn another_status_a_newer_object_or_no_memory_is_written() {
        let last = written("41", "h1");
        assert!(!already_written(Some(&last), Some(&"41".into()), "h2"));
        assert!(
            !already_written(Some(&last), Some(&"42".into()), "h1"),
            "the object changed since: compare with its status, not the memory"
        );
        assert!(!already_written(None, Some(&"41".into()), "h1"));
    }
}
