//! The watch caches: one reflector per kind the reconciles read, so a
//! reconcile reads the cluster from memory instead of sending GETs and LISTs.
//! The controllers are triggered by these same watches (through
//! [`Triggers`]) instead of opening their own, and every reconcile waits
//! until all caches hold their first complete list
//! ([`Caches::wait_until_ready`]).
//!
//! What is watched, and why:
//! - every MediaCluster, whatever the operator's selector: host ports are
//!   shared by the whole cluster, and Tenants and Gateways name theirs;
//! - Nodes: the external addresses SFU pools advertise;
//! - the operator's children (`app.kubernetes.io/managed-by=yunhui-operator`)
//!   of every kind it applies: the apply step compares the desired children
//!   with these and deletes orphans found here; the status step reads the
//!   workloads' readiness; the generated keys and certificates are read here;
//! - the SFU pools' pods (`app.kubernetes.io/component=sfu`, managed by the
//!   operator): the autoscaler's view of the pool.
//!
//! Cached objects are trimmed of what no reconcile reads (managed fields;
//! most of a Node and a Pod) to keep the operator's memory small.
//!
//! A cache lags the API server by the watch's latency: right after a write
//! it may still hold the object as it was. Reads whose staleness would do
//! harm go to the API server when the cache misses or before they act: a
//! generated key or certificate missing from the cache is read with a GET
//! before a new one is generated ([`Caches::secret_or_get`]), and the
//! autoscaler reads afresh before it takes a step.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_util::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ApiResource};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use yunhui_crds::MediaCluster;

use crate::children::{MANAGED_BY, OWNER_UID_LABEL};
use crate::error::Result;

/// Label selector of every child the operator applies.
pub fn children_selector() -> String {
    format!("app.kubernetes.io/managed-by={MANAGED_BY}")
}

/// Label selector of the scaled pools' pods (SFU nodes, SIP gateways,
/// recorders).
pub fn pool_pods_selector() -> String {
    format!(
        "{},app.kubernetes.io/component in (sfu,sip,recorder)",
        children_selector()
    )
}

/// The caches every reconcile reads.
#[derive(Clone)]
pub struct Caches {
    /// Set once every cache holds its first complete list. (Not each
    /// store's own `wait_until_ready`: it wakes only the last of several
    /// tasks waiting at once, and a cold start has as many waiting as
    /// reconciles may run at once.)
    ready: tokio::sync::watch::Receiver<bool>,
    /// Every MediaCluster of the cluster.
    pub media_clusters: Store<MediaCluster>,
    /// Every Node (labels and addresses).
    pub nodes: Store<Node>,
    /// The SFU and SIP pools' pods (name, labels, deletion, conditions).
    pub pool_pods: Store<Pod>,
    /// Secrets the operator applied.
    pub secrets: Store<Secret>,
    /// ConfigMaps the operator applied.
    pub config_maps: Store<ConfigMap>,
    /// ServiceAccounts the operator applied.
    pub service_accounts: Store<ServiceAccount>,
    /// Services the operator applied.
    pub services: Store<Service>,
    /// StatefulSets the operator applied.
    pub stateful_sets: Store<StatefulSet>,
    /// DaemonSets the operator applied.
    pub daemon_sets: Store<DaemonSet>,
    /// Deployments the operator applied.
    pub deployments: Store<Deployment>,
    /// PodDisruptionBudgets the operator applied.
    pub pod_disruption_budgets: Store<PodDisruptionBudget>,
    /// NetworkPolicies the operator applied.
    pub network_policies: Store<NetworkPolicy>,
    /// Ingresses the operator applied.
    pub ingresses: Store<Ingress>,
}

/// Hands every object a cache's watch sees (created, changed, deleted, or
/// listed again) to the controllers subscribed to it, as `Controller::watches`
/// would from a watch of its own.
///
/// (Not kube's `ReflectHandle`: it passes on only objects still in the store
/// when read, so a deletion triggers nothing, and it stops yielding for good
/// when an object is gone by the time it is read.)
pub struct Trigger<K> {
    subscribers: Arc<Mutex<Vec<tokio::sync::mpsc::UnboundedSender<Arc<K>>>>>,
}

impl<K> Clone for Trigger<K> {
    fn clone(&self) -> Self {
        Trigger {
            subscribers: self.subscribers.clone(),
        }
    }
}

impl<K: Send + Sync + 'static> Trigger<K> {
    fn new() -> Self {
        Trigger {
            subscribers: Arc::default(),
        }
    }

    /// A stream of the objects the watch sees from now on.
    pub fn subscribe(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(tx);
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|obj| (obj, rx)) },
        )
    }

    fn send(&self, obj: &K)
    where
        K: Clone,
    {
        let mut subscribers = self
            .subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if subscribers.is_empty() {
            return;
        }
        let obj = Arc::new(obj.clone());
        subscribers.retain(|tx| tx.send(obj.clone()).is_ok());
    }
}

/// The watches the controllers are triggered by.
pub struct Triggers {
    /// MediaClusters: the MediaCluster controller (other pools freeing host
    /// ports), the Tenant and the Gateway controllers.
    pub media_clusters: Trigger<MediaCluster>,
    /// Nodes: the MediaCluster controller (external addresses).
    pub nodes: Trigger<Node>,
    /// Workloads whose readiness the MediaCluster's status reports.
    pub stateful_sets: Trigger<StatefulSet>,
    /// See `stateful_sets`.
    pub daemon_sets: Trigger<DaemonSet>,
    /// See `stateful_sets`.
    pub deployments: Trigger<Deployment>,
}

/// The watches that fill the caches; they run as long as the controllers.
pub struct Reflectors {
    watches: Vec<Pin<Box<dyn Future<Output = ()> + Send>>>,
    caches: Caches,
    ready: tokio::sync::watch::Sender<bool>,
}

impl Reflectors {
    /// Runs every watch (never returns while the API server answers; a
    /// failed watch is retried with back-off), and tells
    /// [`Caches::wait_until_ready`] when all caches are filled.
    pub async fn run(self) {
        let Reflectors {
            watches,
            caches,
            ready,
        } = self;
        let announce = async move {
            caches.wait_for_stores().await;
            tracing::info!("watch caches filled; reconciling");
            let _ = ready.send(true);
        };
        futures_util::future::join(futures_util::future::join_all(watches), announce).await;
    }
}

/// A cache of one kind: its store, the trigger its watch feeds, and the
/// watch that fills both (pushed to `reflectors`).
fn reflect<K>(
    api: Api<K>,
    config: watcher::Config,
    trim: fn(&mut K),
    reflectors: &mut Vec<Pin<Box<dyn Future<Output = ()> + Send>>>,
) -> (Store<K>, Trigger<K>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let writer = reflector::store::Writer::new(());
    let store = writer.as_reader();
    let trigger = Trigger::new();
    let sender = trigger.clone();
    let kind = K::kind(&()).to_string();
    let watch = reflector::reflector(
        writer,
        watcher(api, config)
            .default_backoff()
            .modify(move |obj: &mut K| trim(obj)),
    )
    .for_each(move |event| {
        match event {
            Ok(
                watcher::Event::Apply(obj)
                | watcher::Event::InitApply(obj)
                | watcher::Event::Delete(obj),
            ) => sender.send(&obj),
            Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
            Err(error) => tracing::warn!(%error, kind = %kind, "watch failed; retrying"),
        }
        std::future::ready(())
    });
    reflectors.push(Box::pin(watch));
    (store, trigger)
}

fn drop_managed_fields<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
}

/// A Node as the operator reads it: labels and addresses.
fn trim_node(node: &mut Node) {
    drop_managed_fields(node);
    node.spec = None;
    if let Some(status) = &mut node.status {
        *status = k8s_openapi::api::core::v1::NodeStatus {
            addresses: status.addresses.take(),
            ..Default::default()
        };
    }
}

/// A Pod as the autoscaler reads it: name, labels, deletion and conditions.
fn trim_pod(pod: &mut Pod) {
    drop_managed_fields(pod);
    pod.spec = None;
    if let Some(status) = &mut pod.status {
        *status = k8s_openapi::api::core::v1::PodStatus {
            conditions: status.conditions.take(),
            ..Default::default()
        };
    }
}

/// Whether `resource` is the kind `K`.
fn kind_is<K: Resource<DynamicType = ()>>(resource: &ApiResource) -> bool {
    resource.group == K::group(&()) && resource.kind == K::kind(&())
}

/// A child of some kind as the apply step sees it in the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedChild {
    /// Its name.
    pub name: String,
    /// Whether it is being deleted.
    pub deleting: bool,
}

/// The object `name` of `namespace` in `store`.
pub fn find<K>(store: &Store<K>, namespace: &str, name: &str) -> Option<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store.get(&ObjectRef::new(name).within(namespace))
}

fn cached_json<K>(
    store: &Store<K>,
    namespace: &str,
    name: &str,
) -> Result<Option<serde_json::Value>>
where
    K: Resource<DynamicType = ()> + Clone + Serialize + 'static,
{
    Ok(match find(store, namespace, name) {
        Some(obj) => Some(serde_json::to_value(obj.as_ref())?),
        None => None,
    })
}

fn owned_by<K>(store: &Store<K>, namespace: &str, owner_uid: &str) -> Vec<CachedChild>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store
        .state()
        .iter()
        .filter(|o| o.meta().namespace.as_deref() == Some(namespace))
        .filter(|o| o.labels().get(OWNER_UID_LABEL).map(String::as_str) == Some(owner_uid))
        .map(|o| CachedChild {
            name: o.name_any(),
            deleting: o.meta().deletion_timestamp.is_some(),
        })
        .collect()
}

/// Runs `$body` with `$store` bound to the cache of `$resource`'s kind, or
/// gives `$none` for a kind no cache holds.
macro_rules! with_child_store {
    ($caches:expr, $resource:expr, |$store:ident| $body:expr, $none:expr) => {{
        let c = $caches;
        let r = $resource;
        if kind_is::<Secret>(r) {
            let $store = &c.secrets;
            $body
        } else if kind_is::<ConfigMap>(r) {
            let $store = &c.config_maps;
            $body
        } else if kind_is::<ServiceAccount>(r) {
            let $store = &c.service_accounts;
            $body
        } else if kind_is::<Service>(r) {
            let $store = &c.services;
            $body
        } else if kind_is::<StatefulSet>(r) {
            let $store = &c.stateful_sets;
            $body
        } else if kind_is::<DaemonSet>(r) {
            let $store = &c.daemon_sets;
            $body
        } else if kind_is::<Deployment>(r) {
            let $store = &c.deployments;
            $body
        } else if kind_is::<PodDisruptionBudget>(r) {
            let $store = &c.pod_disruption_budgets;
            $body
        } else if kind_is::<NetworkPolicy>(r) {
            let $store = &c.network_policies;
            $body
        } else if kind_is::<Ingress>(r) {
            let $store = &c.ingresses;
            $body
        } else {
            $none
        }
    }};
}

/// A child kind no cache holds: a programming error, caught by the unit
/// test of every kind the controllers apply.
fn uncached(resource: &ApiResource) -> crate::error::Error {
    crate::error::Error::Signal {
        url: String::new(),
        action: format!("read {} from the watch cache", resource.kind),
        reason: "the operator does not watch this kind; add it to cache.rs and the chart's RBAC"
            .into(),
    }
}

impl Caches {
    /// The caches, the shared watches that trigger the controllers, and the
    /// watches that fill both (to run alongside the controllers).
    pub fn new(client: &Client) -> (Caches, Triggers, Reflectors) {
        let mut watches = Vec::new();
        let children = || watcher::Config::default().labels(&children_selector());
        macro_rules! children_of_kind {
            ($k:ty) => {
                reflect(
                    Api::<$k>::all(client.clone()),
                    children(),
                    drop_managed_fields::<$k>,
                    &mut watches,
                )
            };
        }
        let (media_clusters, media_cluster_trigger) = reflect(
            Api::<MediaCluster>::all(client.clone()),
            watcher::Config::default(),
            drop_managed_fields::<MediaCluster>,
            &mut watches,
        );
        let (nodes, node_trigger) = reflect(
            Api::<Node>::all(client.clone()),
            watcher::Config::default(),
            trim_node,
            &mut watches,
        );
        let (pool_pods, _) = reflect(
            Api::<Pod>::all(client.clone()),
            watcher::Config::default().labels(&pool_pods_selector()),
            trim_pod,
            &mut watches,
        );
        let (stateful_sets, stateful_set_trigger) = children_of_kind!(StatefulSet);
        let (daemon_sets, daemon_set_trigger) = children_of_kind!(DaemonSet);
        let (deployments, deployment_trigger) = children_of_kind!(Deployment);
        let (ready_tx, ready) = tokio::sync::watch::channel(false);
        let caches = Caches {
            ready,
            media_clusters,
            nodes,
            pool_pods,
            secrets: children_of_kind!(Secret).0,
            config_maps: children_of_kind!(ConfigMap).0,
            service_accounts: children_of_kind!(ServiceAccount).0,
            services: children_of_kind!(Service).0,
            stateful_sets,
            daemon_sets,
            deployments,
            pod_disruption_budgets: children_of_kind!(PodDisruptionBudget).0,
            network_policies: children_of_kind!(NetworkPolicy).0,
            ingresses: children_of_kind!(Ingress).0,
        };
        let triggers = Triggers {
            media_clusters: media_cluster_trigger,
            nodes: node_trigger,
            stateful_sets: stateful_set_trigger,
            daemon_sets: daemon_set_trigger,
            deployments: deployment_trigger,
        };
        let reflectors = Reflectors {
            watches,
            caches: caches.clone(),
            ready: ready_tx,
        };
        (caches, triggers, reflectors)
    }

    /// Waits until every cache holds its first complete list (as long as
    /// the [`Reflectors`] run).
    pub async fn wait_until_ready(&self) {
        let mut ready = self.ready.clone();
        if ready.wait_for(|filled| *filled).await.is_err() {
            tracing::error!("the watch caches stopped before they were filled");
            std::future::pending::<()>().await;
        }
    }

    /// Waits until each store holds its first complete list (one waiter:
    /// [`Reflectors::run`]).
    async fn wait_for_stores(&self) {
        macro_rules! ready {
            ($($store:ident),*) => {
                $(
                    if self.$store.wait_until_ready().await.is_err() {
                        tracing::error!(cache = stringify!($store), "a watch cache stopped before it was filled");
                    }
                )*
            };
        }
        ready!(
            media_clusters,
            nodes,
            pool_pods,
            secrets,
            config_maps,
            service_accounts,
            services,
            stateful_sets,
            daemon_sets,
            deployments,
            pod_disruption_budgets,
            network_policies,
            ingresses
        );
    }

    /// The MediaCluster `name` of `namespace`, as cached.
    pub fn media_cluster(&self, namespace: &str, name: &str) -> Option<Arc<MediaCluster>> {
        find(&self.media_clusters, namespace, name)
    }

    /// The child `name` of `resource`'s kind as cached, as JSON (for the
    /// apply step's comparison).
    pub fn child_json(
        &self,
        resource: &ApiResource,
        namespace: &str,
        name: &str,
    ) -> Result<Option<serde_json::Value>> {
        with_child_store!(
            self,
            resource,
            |store| cached_json(store, namespace, name),
            Err(uncached(resource))
        )
    }

    /// Cached children of `resource`'s kind in `namespace` labelled with
    /// `owner_uid` (for orphan removal).
    pub fn children_of(
        &self,
        resource: &ApiResource,
        namespace: &str,
        owner_uid: &str,
    ) -> Result<Vec<CachedChild>> {
        with_child_store!(
            self,
            resource,
            |store| Ok(owned_by(store, namespace, owner_uid)),
            Err(uncached(resource))
        )
    }

    /// The Secret `name` of `namespace`: from the cache, or (when the cache
    /// does not hold it: not created by the operator, or created so recently
    /// that its watch event has not arrived) from the API server, so that
    /// generated material is never generated twice.
    pub async fn secret_or_get(
        &self,
        client: &Client,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Secret>> {
        if let Some(secret) = find(&self.secrets, namespace, name) {
            return Ok(Some(secret.as_ref().clone()));
        }
        Ok(Api::<Secret>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media_cluster;

    /// A context whose client points nowhere: no request is made.
    fn caches() -> Caches {
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("url"));
        let client = Client::try_from(config).expect("client");
        Caches::new(&client).0
    }

    #[tokio::test]
    async fn every_kind_the_controllers_apply_is_cached() {
        let caches = caches();
        for resource in media_cluster::child_kinds()
            .iter()
            .chain(crate::gateway::child_kinds().iter())
        {
            assert!(
                caches.children_of(resource, "ns", "uid").is_ok(),
                "{} is not cached",
                resource.kind
            );
            assert!(caches.child_json(resource, "ns", "x").is_ok());
        }
        assert!(
            caches
                .children_of(&ApiResource::erase::<Pod>(&()), "ns", "uid")
                .is_err()
        );
    }

    #[tokio::test]
    async fn every_reconcile_waiting_for_the_caches_is_released_once_they_are_filled() {
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("url"));
        let client = Client::try_from(config).expect("client");
        let (caches, _, reflectors) = Caches::new(&client);
        let waiting: Vec<_> = (0..32)
            .map(|_| {
                let caches = caches.clone();
                tokio::spawn(async move { caches.wait_until_ready().await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(waiting.iter().all(|w| !w.is_finished()));
        reflectors.ready.send(true).expect("send");
        for waiter in waiting {
            tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
                .await
                .expect("released")
                .expect("joined");
        }
    }

    #[test]
    fn trimmed_nodes_and_pods_keep_what_the_reconciles_read() {
        let mut node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n", "labels": {"kubernetes.io/os": "linux"},
                         "managedFields": [{"manager": "kubelet"}]},
            "spec": {"podCIDR": "10.0.0.0/24"},
            "status": {"addresses": [{"type": "ExternalIP", "address": "1.2.3.4"}],
                       "images": [{"names": ["a"]}]}
        }))
        .expect("node");
        trim_node(&mut node);
        assert_eq!(
            crate::media_cluster::nodes::external_ip(&node).as_deref(),
            Some("1.2.3.4")
        );
        assert_eq!(
            node.labels().get("kubernetes.io/os").map(String::as_str),
            Some("linux")
        );
        assert!(node.spec.is_none() && node.metadata.managed_fields.is_none());
        assert!(node.status.as_ref().is_some_and(|s| s.images.is_none()));

        let mut pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "podIP": "10.0.0.1"}
        }))
        .expect("pod");
        trim_pod(&mut pod);
        assert!(pod.spec.is_none());
        let status = pod.status.expect("status");
        assert_eq!(status.conditions.map(|c| c.len()), Some(1));
        assert!(status.pod_ip.is_none());
    }
}
