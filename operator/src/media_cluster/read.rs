//! The read step: what the build step needs besides the spec, from the
//! watch caches — the generated keys, whether another pool holds the SFU's
//! host ports, and the nodes' external addresses.

use std::collections::BTreeMap;

use kube::ResourceExt;
use rand::RngCore;
use yunhui_crds::MediaCluster;
use yunhui_crds::media_cluster::AdvertisedAddress;

use super::build::{GeneratedKeys, TURN_SECRET_KEY, keys_secret_name};
use super::host_ports::{self, PortConflict};
use super::nodes::{external_ip, sfu_node_selector};
use crate::context::Context;
use crate::error::Result;

/// What the read step found.
#[derive(Debug, Clone)]
pub struct Found {
    /// The keys, existing or freshly generated.
    pub keys: GeneratedKeys,
    /// Why the SFU pool cannot run, when another pool holds its host ports.
    pub port_conflict: Option<PortConflict>,
    /// With `advertise: NodeExternalIp`, each SFU node's ExternalIP.
    pub node_addresses: Option<BTreeMap<String, String>>,
}

/// Reads what building `mc` needs; SFU nodes that cannot advertise an
/// external address are reported in an Event.
pub async fn read(ctx: &Context, mc: &MediaCluster, namespace: &str) -> Result<Found> {
    let keys = read_keys(ctx, namespace, &mc.name_any()).await?;
    // Host ports are per node, and nodes are shared by every namespace.
    let port_conflict = host_ports::sfu_port_conflict(mc, &ctx.caches.media_clusters.state());
    let node_addresses = if advertises_node_external_ips(mc) {
        let (addresses, without) = node_external_addresses(ctx, mc);
        if !without.is_empty() {
            ctx.event(
                mc,
                true,
                "NodeWithoutExternalIp",
                format!(
                    "SFU nodes without an ExternalIP address cannot advertise one: {}; give them one, or use advertise NodeInternalIp or Fixed",
                    without.join(", ")
                ),
                "Build",
            )
            .await;
        }
        Some(addresses)
    } else {
        None
    };
    Ok(Found {
        keys,
        port_conflict,
        node_addresses,
    })
}

fn random_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The generated keys, kept from the existing Secret so they survive every
/// reconcile; generated only when absent (from the cache and, to be sure,
/// from the API server: a Secret created up front, or just now).
pub async fn read_keys(ctx: &Context, namespace: &str, cluster: &str) -> Result<GeneratedKeys> {
    let existing = ctx
        .caches
        .secret_or_get(&ctx.client, namespace, &keys_secret_name(cluster))
        .await?;
    let field = |key: &str| -> Option<String> {
        let data = existing.as_ref()?.data.as_ref()?;
        String::from_utf8(data.get(key)?.0.clone()).ok()
    };
    Ok(GeneratedKeys {
        internal_key: field("internal-key").unwrap_or_else(random_key),
        token_signing_key: field("token-signing-key").unwrap_or_else(random_key),
        turn_secret: field(TURN_SECRET_KEY).unwrap_or_else(random_key),
    })
}

/// For `advertise: NodeExternalIp`: the ExternalIP of every node the SFU
/// pool may run on, by node name, and the names of those without one.
fn node_external_addresses(
    ctx: &Context,
    mc: &MediaCluster,
) -> (BTreeMap<String, String>, Vec<String>) {
    let selector = sfu_node_selector(&mc.spec);
    let mut nodes = ctx.caches.nodes.state();
    nodes.sort_by_key(|n| n.name_any());
    let mut addresses = BTreeMap::new();
    let mut without = Vec::new();
    for node in &nodes {
        let labels = node.labels();
        if !selector.iter().all(|(k, v)| labels.get(k) == Some(v)) {
            continue;
        }
        match external_ip(node) {
            Some(ip) => {
                addresses.insert(node.name_any(), ip);
            }
            None => without.push(node.name_any()),
        }
    }
    (addresses, without)
}

/// Whether `mc` advertises its nodes' external addresses (so a change of a
/// node's addresses changes its children).
pub fn advertises_node_external_ips(mc: &MediaCluster) -> bool {
    mc.spec.sfu.advertise == AdvertisedAddress::NodeExternalIp
}
