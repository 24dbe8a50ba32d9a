//! The discovery document served at `/.well-known/yunhui`: what a client
//! needs when a user types only the deployment's address ("enterprise
//! login", manual 3.1.3 and 4.1.3). Signal builds it in the all-in-one shape
//! (`yunhui up`); in a cluster the operator writes it from the Gateway
//! (the same type, so both shapes say the same things the same way).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Version of the document's format.
pub const VERSION: u32 = 1;

/// Where everything of one deployment is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// Base URL of the Open API, e.g. `https://meet.example.com/api/v1`.
    pub api: String,
    /// URL of the signaling WebSocket.
    pub signaling: String,
    /// How media reaches the SFU nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub media: Option<Media>,
    /// TURN servers for closed networks (`turn:` / `turns:` URLs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub turn: Vec<String>,
    /// Where SIP and H.323 devices call, when the deployment runs the SIP gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub sip: Option<Sip>,
    /// Name of the organisation, shown on the login screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub organisation: Option<String>,
    /// How people sign in.
    #[serde(default = "password_only")]
    #[ts(as = "Option<Vec<LoginMethod>>", optional)]
    pub login: Vec<LoginMethod>,
}

/// Media ports of the SFU nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "DiscoveryMedia")]
pub struct Media {
    /// UDP port of every SFU node.
    pub udp_port: u16,
    /// TCP port of every SFU node, when it listens on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub tcp_port: Option<u16>,
    /// Whether the nodes use the host's network (media straight to the node's address).
    #[serde(default)]
    #[ts(as = "Option<bool>", optional)]
    pub host_network: bool,
}

/// The SIP gateway's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(rename = "DiscoverySip")]
pub struct Sip {
    /// `sip:host:port`; devices call `sip:<meeting number>@host:port`.
    pub uri: String,
}

/// A way to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    /// E-mail or phone number and password (`POST /api/v1/sessions`).
    Password,
}

fn password_only() -> Vec<LoginMethod> {
    vec![LoginMethod::Password]
}

impl Discovery {
    /// The document of a deployment whose signal is at `public_url`
    /// (`https://host` or `http://host:port`), with nothing else known yet.
    pub fn for_public_url(public_url: &str) -> Discovery {
        let base = public_url.trim_end_matches('/');
        let ws = base
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        Discovery {
            version: VERSION,
            api: format!("{base}/api/v1"),
            signaling: format!("{ws}/api/v1/signal"),
            media: None,
            turn: Vec::new(),
            sip: None,
            organisation: None,
            login: password_only(),
        }
    }

    /// The server the Open API is on (its base URL without `/api/v1`).
    pub fn server(&self) -> &str {
        self.api.trim_end_matches('/').trim_end_matches("/api/v1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_without_optional_parts_reads_with_password_login() {
        let doc: Discovery = serde_json::from_str(
            r#"{"version":1,"api":"https://m.example.com/api/v1","signaling":"wss://m.example.com/api/v1/signal"}"#,
        )
        .unwrap();
        assert_eq!(doc.login, [LoginMethod::Password]);
        assert_eq!(doc.server(), "https://m.example.com");
        assert_eq!(doc, Discovery::for_public_url("https://m.example.com/"));
    }
}
