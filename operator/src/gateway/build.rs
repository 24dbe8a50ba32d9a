//! The pure build step of a Gateway: exposure (Ingress or Service), TLS
//! Secrets when generated, and the discovery document ConfigMap that the
//! MediaCluster's signal serves at `/.well-known/yunhui`.

use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::{Value, json};
use yunhui_crds::gateway::ExposureMode;
use yunhui_crds::{GatewaySpec, MediaClusterSpec};

use super::tls::TlsMaterial;
use crate::children::{Child, Owner};
use crate::error::Result;
use crate::media_cluster::build::{SIGNAL_PORT, discovery_config_map_name};

/// Everything the Gateway build step needs.
#[derive(Debug, Clone)]
pub struct BuildInput<'a> {
    /// The owning Gateway.
    pub owner: &'a Owner,
    /// Its spec.
    pub spec: &'a GatewaySpec,
    /// The exposed MediaCluster's spec.
    pub cluster: &'a MediaClusterSpec,
    /// Generated TLS material (when `spec.tls.generate`).
    pub tls: Option<&'a TlsMaterial>,
}

/// Secret holding the served certificate.
pub fn tls_secret_name(gateway: &str, spec: &GatewaySpec) -> String {
    spec.tls
        .secret_name
        .clone()
        .unwrap_or_else(|| format!("{gateway}-tls"))
}

/// The discovery document published for the gateway.
pub fn discovery_document(spec: &GatewaySpec, cluster: &MediaClusterSpec) -> Value {
    let host = spec.hosts.first().cloned().unwrap_or_default();
    let mut doc = json!({
        "version": 1,
        "api": format!("https://{host}/api/v1"),
        "signaling": format!("wss://{host}/api/v1/signal"),
        "media": {
            "udpPort": cluster.sfu.udp_port,
            "tcpPort": cluster.sfu.tcp_port,
            "hostNetwork": spec.exposure.media_host_network,
        },
    });
    if let Some(org) = &spec.discovery.organisation {
        doc["organisation"] = json!(org);
    }
    if let Some(turn) = &spec.turn {
        doc["turn"] = json!(turn.urls);
    }
    if let Some(sip) = &spec.sip {
        let domain = sip.domain.clone().unwrap_or(host);
        doc["sip"] = json!({"uri": format!("sip:{domain}:{}", sip.port)});
    }
    doc
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn typed<K>(value: Value) -> Result<Child>
where
    K: kube::Resource<DynamicType = ()> + serde::Serialize + serde::de::DeserializeOwned,
{
    let object: K = serde_json::from_value(value)?;
    Child::from_typed(&object)
}

/// Builds every child of a Gateway.
pub fn build(input: &BuildInput<'_>) -> Result<Vec<Child>> {
    let owner = input.owner;
    let spec = input.spec;
    let meta = |name: &str, component: &str| {
        serde_json::to_value(owner.meta(name, component)).unwrap_or(Value::Null)
    };
    let cluster_name = owner_cluster(spec);
    let signal_selector = json!({
        "app.kubernetes.io/component": "signal",
        "app.kubernetes.io/instance": cluster_name,
        "yunhui.dev/mediacluster": cluster_name,
    });
    let mut children = Vec::new();
    if let Some(tls) = input.tls {
        children.push(typed::<Secret>(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": meta(&format!("{}-ca", owner.name), "tls"),
            "type": "Opaque",
            "data": {"ca.crt": b64(&tls.ca_cert), "ca.key": b64(&tls.ca_key)}
        }))?);
        children.push(typed::<Secret>(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": meta(&tls_secret_name(&owner.name, spec), "tls"),
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": b64(&tls.cert), "tls.key": b64(&tls.key), "ca.crt": b64(&tls.ca_cert)}
        }))?);
    }
    match spec.exposure.mode {
        ExposureMode::Ingress => {
            let mut ingress = json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": meta(&owner.name, "gateway"),
                "spec": {
                    "tls": [{"hosts": spec.hosts, "secretName": tls_secret_name(&owner.name, spec)}],
                    "rules": spec.hosts.iter().map(|h| json!({"host": h, "http": {"paths": [{
                        "path": "/", "pathType": "Prefix",
                        "backend": {"service": {"name": format!("{cluster_name}-signal"), "port": {"number": SIGNAL_PORT}}}
                    }]}})).collect::<Vec<_>>()
                }
            });
            if let Some(class) = &spec.exposure.ingress_class_name {
                ingress["spec"]["ingressClassName"] = json!(class);
            }
            children.push(typed::<Ingress>(ingress)?);
        }
        mode => {
            let mut port =
                json!({"name": "https", "port": 443, "targetPort": SIGNAL_PORT, "protocol": "TCP"});
            if let (ExposureMode::NodePort, Some(node_port)) = (mode, spec.exposure.node_port) {
                port["nodePort"] = json!(node_port);
            }
            children.push(typed::<Service>(json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": meta(&owner.name, "gateway"),
                "spec": {
                    "type": if mode == ExposureMode::NodePort { "NodePort" } else { "LoadBalancer" },
                    "selector": signal_selector,
                    "ports": [port]
                }
            }))?);
        }
    }
    if spec.discovery.enabled {
        let doc = discovery_document(spec, input.cluster);
        children.push(typed::<ConfigMap>(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": meta(&discovery_config_map_name(&cluster_name), "discovery"),
            "data": {"discovery.json": serde_json::to_string_pretty(&doc)?}
        }))?);
    }
    Ok(children)
}

fn owner_cluster(spec: &GatewaySpec) -> String {
    spec.media_cluster.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::children::Child;

    fn owner() -> Owner {
        Owner {
            reference: k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "yunhui.dev/v1alpha1".into(),
                kind: "Gateway".into(),
                name: "public".into(),
                uid: "gw-uid".into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            },
            namespace: "meet".into(),
            name: "public".into(),
            kind_label: "gateway".into(),
        }
    }

    #[test]
    fn ingress_with_generated_tls_and_discovery() {
        let spec: GatewaySpec = serde_norway::from_str(
            "mediaCluster: prod\nhosts: [meet.example.com]\ntls: {generate: {}}\nsip: {port: 5060}\nturn: {urls: ['turn:t.example.com']}",
        )
        .expect("fixture");
        let cluster: MediaClusterSpec = serde_json::from_str("{}").expect("defaults");
        let tls = TlsMaterial {
            ca_cert: "C".into(),
            ca_key: "K".into(),
            cert: "c".into(),
            key: "k".into(),
        };
        let o = owner();
        let children = build(&BuildInput {
            owner: &o,
            spec: &spec,
            cluster: &cluster,
            tls: Some(&tls),
        })
        .expect("builds");
        let ids: Vec<String> = children.iter().map(Child::id).collect();
        assert_eq!(
            ids,
            vec![
                "Secret/public-ca",
                "Secret/public-tls",
                "Ingress/public",
                "ConfigMap/prod-discovery"
            ]
        );
        let doc = discovery_document(&spec, &cluster);
        assert_eq!(doc["api"], "https://meet.example.com/api/v1");
        assert_eq!(doc["sip"]["uri"], "sip:meet.example.com:5060");
        assert_eq!(doc["media"]["udpPort"], 7882);
    }

    #[test]
    fn node_port_exposure_is_a_service() {
        let spec: GatewaySpec = serde_norway::from_str(
            "mediaCluster: prod\nhosts: [h]\ntls: {secretName: mine}\nexposure: {mode: NodePort, nodePort: 30443}",
        )
        .expect("fixture");
        let cluster: MediaClusterSpec = serde_json::from_str("{}").expect("defaults");
        let o = owner();
        let children = build(&BuildInput {
            owner: &o,
            spec: &spec,
            cluster: &cluster,
            tls: None,
        })
        .expect("builds");
        let svc = children
            .iter()
            .find(|c| c.id() == "Service/public")
            .expect("service");
        assert_eq!(svc.object.data["spec"]["type"], "NodePort");
        assert_eq!(svc.object.data["spec"]["ports"][0]["nodePort"], 30443);
    }
}
