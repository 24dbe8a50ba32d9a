//! `Gateway` (`gateways.yunhui.dev`): how clients reach a MediaCluster.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{Condition, ResourceStatus};

/// How clients reach a MediaCluster: host names, TLS, exposure, TURN, SIP,
/// and the enterprise-login discovery document signal serves at
/// `/.well-known/yunhui`. Not the Gateway API's `Gateway`: refer to it as
/// `gateways.yunhui.dev`.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "yunhui.dev",
    version = "v1alpha1",
    kind = "Gateway",
    doc = "How clients reach a MediaCluster from outside the Kubernetes cluster: host names, TLS, exposure (Ingress, NodePort or LoadBalancer), TURN and SIP, and the discovery document of enterprise login.",
    namespaced,
    status = "GatewayStatus",
    shortname = "ygw",
    category = "yunhui",
    printcolumn = r#"{"name": "Cluster", "type": "string", "jsonPath": ".spec.mediaCluster", "description": "MediaCluster exposed"}"#,
    printcolumn = r#"{"name": "Exposure", "type": "string", "jsonPath": ".spec.exposure.mode", "description": "How it is exposed"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status", "description": "Ready condition"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    /// Name of the MediaCluster (same namespace) this gateway exposes.
    #[x_kube(validation = Rule::new("size(self) > 0").message("spec.mediaCluster must name a MediaCluster in this namespace"))]
    pub media_cluster: String,
    /// Public host names clients use, the first one is the primary (e.g. `meet.example.com`).
    #[schemars(length(min = 1, max = 20), inner(length(max = 253)))]
    #[x_kube(validation = Rule::new("self.all(h, h.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'))").message("spec.hosts must be host names in lower case or IPv4 addresses, e.g. meet.example.com"))]
    pub hosts: Vec<String>,
    /// TLS: exactly one of an existing Secret or a CA the operator generates.
    pub tls: GatewayTls,
    /// How the services are exposed.
    #[serde(default)]
    pub exposure: Exposure,
    /// TURN servers handed to clients behind closed networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<Turn>,
    /// SIP listener for phones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip: Option<SipListener>,
    /// The enterprise-login discovery document.
    #[serde(default)]
    pub discovery: Discovery,
    /// When true the operator leaves every child as it is (ReconciliationPaused).
    #[serde(default)]
    pub paused: bool,
}

/// TLS of a Gateway.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.secretName) != has(self.generate)").message("spec.tls must set exactly one of secretName or generate"))]
pub struct GatewayTls {
    /// Name of an existing `kubernetes.io/tls` Secret for the hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Have the operator generate a CA and a certificate for the hosts (air-gapped sites).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<GeneratedTls>,
}

/// A CA and certificate the operator generates.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedTls {
    /// Common name of the generated CA.
    #[serde(default = "default_ca_name")]
    pub ca_common_name: String,
}

fn default_ca_name() -> String {
    "Yunhui private CA".into()
}

/// Exposure mode of the HTTP(S) endpoints.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum ExposureMode {
    /// An Ingress of `ingressClassName`.
    #[default]
    Ingress,
    /// A Service of type LoadBalancer.
    LoadBalancer,
    /// A Service of type NodePort.
    NodePort,
}

/// How the services are exposed.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.nodePort) || (self.nodePort >= 30000 && self.nodePort <= 32767)").message("spec.exposure.nodePort must be in the NodePort range 30000-32767"))]
#[x_kube(validation = Rule::new("self.mode == 'Ingress' || !has(self.ingressClassName)").message("spec.exposure.ingressClassName is only valid with mode Ingress"))]
pub struct Exposure {
    /// Ingress, LoadBalancer or NodePort.
    #[serde(default)]
    pub mode: ExposureMode,
    /// IngressClass of the Ingress (mode Ingress); empty uses the cluster default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_class_name: Option<String>,
    /// Fixed node port for HTTPS (mode NodePort); empty lets Kubernetes choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<i32>,
    /// Whether SFU media is reached on the nodes' host network (advertised in discovery).
    #[serde(default = "yes")]
    pub media_host_network: bool,
}

fn yes() -> bool {
    true
}

/// TURN servers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Turn {
    /// TURN URLs, e.g. `turns:turn.example.com:443?transport=tcp`.
    pub urls: Vec<String>,
    /// Secret with keys `username` and `credential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_name: Option<String>,
}

/// SIP listener.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.port >= 1 && self.port <= 65535").message("spec.sip.port must be a port number between 1 and 65535"))]
pub struct SipListener {
    /// SIP port exposed to phones.
    #[serde(default = "default_sip_port")]
    pub port: i32,
    /// SIP domain phones dial (`<meeting number>@domain`); empty uses the primary host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

fn default_sip_port() -> i32 {
    5060
}

/// The discovery document signal serves at `/.well-known/yunhui`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// Whether the document is published.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Enterprise name shown on the login page of desktop and mobile clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
}

impl Default for Discovery {
    fn default() -> Self {
        Discovery {
            enabled: true,
            organisation: None,
        }
    }
}

/// What the operator observed about a Gateway.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Progressing, Degraded, ReconciliationPaused.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The API base URL published in the discovery document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Name of the Secret holding the certificate served for the hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret_name: Option<String>,
}

impl ResourceStatus for GatewayStatus {
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
    fn observed_generation(&self) -> Option<i64> {
        self.observed_generation
    }
}
