//! The pure build step of a Gateway: exposure (Ingress or Service), TLS
//! Secrets when generated, and the discovery document ConfigMap that the
//! MediaCluster's signal serves at `/.well-known/yunhui` and builds its
//! links on ([`public_url`]: the address clients really use).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use yunhui_crds::gateway::ExposureMode;
use yunhui_crds::{GatewaySpec, MediaClusterSpec};
use yunhui_proto::discovery::{Discovery, Media, Sip};

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
    /// The node port Kubernetes allocated to the Gateway's Service, read
    /// from the cluster (NodePort exposure without `spec.exposure.nodePort`);
    /// none before the Service exists.
    pub allocated_node_port: Option<i32>,
}

/// Secret holding the served certificate.
pub fn tls_secret_name(gateway: &str, spec: &GatewaySpec) -> String {
    spec.tls
        .secret_name
        .clone()
        .unwrap_or_else(|| format!("{gateway}-tls"))
}

/// The address clients reach the Gateway at: `https://<first host>` for an
/// Ingress (which terminates TLS with the Gateway's certificate) or a
/// LoadBalancer (port 443, whose TLS the load balancer terminates: the
/// Service forwards to signal's plain HTTP port), and
/// `http://<first host>:<node port>` for NodePort exposure, on
/// `spec.exposure.nodePort` when fixed, else on the port Kubernetes
/// allocated (`allocated_node_port`): a node port leads straight to signal's
/// plain HTTP port. None while the allocated port is not known yet (the
/// Service is about to be created).
pub fn public_url(spec: &GatewaySpec, allocated_node_port: Option<i32>) -> Option<String> {
    let host = spec.hosts.first().map(String::as_str).unwrap_or_default();
    match spec.exposure.mode {
        ExposureMode::Ingress | ExposureMode::LoadBalancer => Some(format!("https://{host}")),
        ExposureMode::NodePort => spec
            .exposure
            .node_port
            .or(allocated_node_port)
            .map(|port| format!("http://{host}:{port}")),
    }
}

/// The discovery document published for the gateway reached at `public_url`.
pub fn discovery_document(
    spec: &GatewaySpec,
    cluster: &MediaClusterSpec,
    public_url: &str,
) -> Discovery {
    let host = spec.hosts.first().cloned().unwrap_or_default();
    let mut doc = Discovery::for_public_url(public_url);
    doc.media = Some(Media {
        udp_port: u16::try_from(cluster.sfu.udp_port).unwrap_or_default(),
        tcp_port: u16::try_from(cluster.sfu.tcp_port).ok(),
        host_network: spec.exposure.media_host_network,
    });
    doc.organisation = spec.discovery.organisation.clone();
    doc.turn = spec
        .turn
        .as_ref()
        .map(|t| t.urls.clone())
        .unwrap_or_default();
    doc.sip = spec.sip.as_ref().map(|sip| Sip {
        uri: format!("sip:{}:{}", sip.domain.clone().unwrap_or(host), sip.port),
    });
    doc
}

/// A Secret of `type_` holding `data`.
fn secret(owner: &Owner, name: &str, type_: &str, data: &[(&str, &str)]) -> Result<Child> {
    Child::from_typed(&Secret {
        metadata: owner.meta(name, "tls"),
        type_: Some(type_.into()),
        data: Some(
            data.iter()
                .map(|(key, value)| (key.to_string(), ByteString(value.as_bytes().to_vec())))
                .collect(),
        ),
        ..Secret::default()
    })
}

/// The labels of the exposed MediaCluster's signal pods.
fn signal_selector(cluster: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/component".into(), "signal".into()),
        ("app.kubernetes.io/instance".into(), cluster.into()),
        ("yunhui.dev/mediacluster".into(), cluster.into()),
    ])
}

/// An Ingress routing every host to signal.
fn ingress(owner: &Owner, spec: &GatewaySpec, cluster: &str) -> Ingress {
    let rule = |host: &String| IngressRule {
        host: Some(host.clone()),
        http: Some(HTTPIngressRuleValue {
            paths: vec![HTTPIngressPath {
                path: Some("/".into()),
                path_type: "Prefix".into(),
                backend: IngressBackend {
                    service: Some(IngressServiceBackend {
                        name: format!("{cluster}-signal"),
                        port: Some(ServiceBackendPort {
                            number: Some(SIGNAL_PORT),
                            name: None,
                        }),
                    }),
                    resource: None,
                },
            }],
        }),
    };
    Ingress {
        metadata: owner.meta(&owner.name, "gateway"),
        spec: Some(IngressSpec {
            tls: Some(vec![IngressTLS {
                hosts: Some(spec.hosts.clone()),
                secret_name: Some(tls_secret_name(&owner.name, spec)),
            }]),
            rules: Some(spec.hosts.iter().map(rule).collect()),
            ingress_class_name: spec.exposure.ingress_class_name.clone(),
            default_backend: None,
        }),
        ..Ingress::default()
    }
}

/// A NodePort or LoadBalancer Service in front of signal, on port 443.
fn service(owner: &Owner, spec: &GatewaySpec, mode: ExposureMode, cluster: &str) -> Service {
    let node_port = match mode {
        ExposureMode::NodePort => spec.exposure.node_port,
        _ => None,
    };
    Service {
        metadata: owner.meta(&owner.name, "gateway"),
        spec: Some(ServiceSpec {
            type_: Some(
                if mode == ExposureMode::NodePort {
                    "NodePort"
                } else {
                    "LoadBalancer"
                }
                .into(),
            ),
            selector: Some(signal_selector(cluster)),
            ports: Some(vec![ServicePort {
                name: Some(HTTPS_PORT_NAME.into()),
                port: 443,
                target_port: Some(IntOrString::Int(SIGNAL_PORT)),
                protocol: Some("TCP".into()),
                node_port,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The node port Kubernetes allocated to the HTTPS port of the Gateway's
/// Service (as read from the cluster), if any.
pub fn allocated_node_port(service: &Service) -> Option<i32> {
    service
        .spec
        .as_ref()?
        .ports
        .as_ref()?
        .iter()
        .find(|p| p.name.as_deref() == Some(HTTPS_PORT_NAME))?
        .node_port
}

/// Name of the Gateway Service's one port.
const HTTPS_PORT_NAME: &str = "https";

/// Builds every child of a Gateway. The discovery document waits for the
/// Gateway's address: with NodePort exposure and no fixed port, until the
/// Service's allocated port is an input (the reconcile's second pass).
pub fn build(input: &BuildInput<'_>) -> Result<Vec<Child>> {
    let owner = input.owner;
    let spec = input.spec;
    let cluster_name = owner_cluster(spec);
    let mut children = Vec::new();
    if let Some(tls) = input.tls {
        children.push(secret(
            owner,
            &format!("{}-ca", owner.name),
            "Opaque",
            &[
                ("ca.crt", tls.ca_cert.as_str()),
                ("ca.key", tls.ca_key.as_str()),
            ],
        )?);
        children.push(secret(
            owner,
            &tls_secret_name(&owner.name, spec),
            "kubernetes.io/tls",
            &[
                ("tls.crt", tls.cert.as_str()),
                ("tls.key", tls.key.as_str()),
                ("ca.crt", tls.ca_cert.as_str()),
            ],
        )?);
    }
    match spec.exposure.mode {
        ExposureMode::Ingress => {
            children.push(Child::from_typed(&ingress(owner, spec, &cluster_name))?)
        }
        mode => children.push(Child::from_typed(&service(
            owner,
            spec,
            mode,
            &cluster_name,
        ))?),
    }
    let url = public_url(spec, input.allocated_node_port);
    if let (true, Some(url)) = (spec.discovery.enabled, url) {
        let doc = discovery_document(spec, input.cluster, &url);
        children.push(Child::from_typed(&ConfigMap {
            metadata: owner.meta(&discovery_config_map_name(&cluster_name), "discovery"),
            data: Some(BTreeMap::from([(
                "discovery.json".to_string(),
                serde_json::to_string_pretty(&doc)?,
            )])),
            ..ConfigMap::default()
        })?);
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

    /// The discovery document among `children`, if any.
    fn document(children: &[Child]) -> Option<serde_json::Value> {
        let cm = children
            .iter()
            .find(|c| c.id() == "ConfigMap/prod-discovery")?;
        let text = cm.object.data["data"]["discovery.json"].as_str()?;
        Some(serde_json::from_str(text).expect("the document is JSON"))
    }

    /// The children of a Gateway of `spec` (YAML) without generated TLS.
    fn children(spec: &str, allocated_node_port: Option<i32>) -> Vec<Child> {
        let spec: GatewaySpec = serde_norway::from_str(spec).expect("fixture");
        let cluster: MediaClusterSpec = serde_json::from_str("{}").expect("defaults");
        let o = owner();
        build(&BuildInput {
            owner: &o,
            spec: &spec,
            cluster: &cluster,
            tls: None,
            allocated_node_port,
        })
        .expect("builds")
    }

    #[test]
    fn ingress_with_generated_tls_and_discovery() {
        let spec: GatewaySpec = serde_norway::from_str(
            "mediaCluster: prod\nhosts: [meet.example.com, other.example.com]\ntls: {generate: {}}\nsip: {port: 5060}\nturn: {urls: ['turn:t.example.com']}",
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
            allocated_node_port: None,
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
        let doc = document(&children).expect("discovery document");
        assert_eq!(doc["api"], "https://meet.example.com/api/v1");
        assert_eq!(doc["signaling"], "wss://meet.example.com/api/v1/signal");
        assert_eq!(doc["sip"]["uri"], "sip:meet.example.com:5060");
        assert_eq!(doc["media"]["udpPort"], 7882);
        assert_eq!(doc["turn"], serde_json::json!(["turn:t.example.com"]));
        assert_eq!(doc["login"], serde_json::json!(["password"]));
    }

    #[test]
    fn node_port_exposure_is_a_service_and_the_document_names_the_fixed_port() {
        let children = children(
            "mediaCluster: prod\nhosts: [h]\ntls: {secretName: mine}\nexposure: {mode: NodePort, nodePort: 30443}",
            // A port read from an older Service does not outweigh the spec's.
            Some(31999),
        );
        let svc = children
            .iter()
            .find(|c| c.id() == "Service/public")
            .expect("service");
        assert_eq!(svc.object.data["spec"]["type"], "NodePort");
        assert_eq!(svc.object.data["spec"]["ports"][0]["nodePort"], 30443);
        let doc = document(&children).expect("discovery document");
        assert_eq!(doc["api"], "http://h:30443/api/v1");
        assert_eq!(doc["signaling"], "ws://h:30443/api/v1/signal");
    }

    #[test]
    fn an_allocated_node_port_is_in_the_document_once_it_is_known() {
        let spec = "mediaCluster: prod\nhosts: [meet.example.com]\ntls: {secretName: mine}\nexposure: {mode: NodePort}";
        // First pass: the Service does not exist, so neither does its port.
        let first = children(spec, None);
        let svc = first
            .iter()
            .find(|c| c.id() == "Service/public")
            .expect("service");
        assert!(
            svc.object.data["spec"]["ports"][0]
                .get("nodePort")
                .is_none(),
            "Kubernetes chooses the port: {}",
            svc.object.data["spec"]
        );
        assert_eq!(
            document(&first),
            None,
            "no document names an address that is not known yet"
        );
        // Second pass: the port Kubernetes allocated.
        let second = children(spec, Some(31234));
        let doc = document(&second).expect("discovery document");
        assert_eq!(doc["api"], "http://meet.example.com:31234/api/v1");
        assert_eq!(
            doc["signaling"],
            "ws://meet.example.com:31234/api/v1/signal"
        );
        let svc_again = second
            .iter()
            .find(|c| c.id() == "Service/public")
            .expect("service");
        assert_eq!(
            svc_again.object.data, svc.object.data,
            "the Service itself stays as it was"
        );
    }

    #[test]
    fn the_public_url_is_the_address_clients_use() {
        let url = |exposure: &str, allocated: Option<i32>| {
            let spec: GatewaySpec = serde_norway::from_str(&format!(
                "mediaCluster: prod\nhosts: [a.example, b.example]\ntls: {{secretName: s}}\nexposure: {exposure}"
            ))
            .expect("fixture");
            public_url(&spec, allocated)
        };
        let some = |s: &str| Some(s.to_string());
        assert_eq!(url("{mode: Ingress}", None), some("https://a.example"));
        assert_eq!(
            url("{mode: LoadBalancer}", Some(31000)),
            some("https://a.example")
        );
        assert_eq!(url("{mode: NodePort}", None), None);
        assert_eq!(
            url("{mode: NodePort}", Some(31000)),
            some("http://a.example:31000")
        );
        assert_eq!(
            url("{mode: NodePort, nodePort: 30443}", Some(31000)),
            some("http://a.example:30443")
        );
    }

    #[test]
    fn the_allocated_port_is_read_from_the_https_port_of_the_service() {
        let service: Service = serde_json::from_value(serde_json::json!({
            "spec": {"type": "NodePort", "ports": [
                {"name": "other", "port": 80, "nodePort": 30080},
                {"name": "https", "port": 443, "nodePort": 31234}
            ]}
        }))
        .expect("fixture");
        assert_eq!(allocated_node_port(&service), Some(31234));
        assert_eq!(allocated_node_port(&Service::default()), None);
    }

    #[test]
    fn no_document_when_discovery_is_disabled() {
        let children = children(
            "mediaCluster: prod\nhosts: [h]\ntls: {secretName: s}\ndiscovery: {enabled: false}",
            None,
        );
        assert_eq!(document(&children), None);
        assert!(children.iter().any(|c| c.id() == "Ingress/public"));
    }
}
