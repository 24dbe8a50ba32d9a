//! TURN for participants: the short-lived REST-API credentials and the URLs
//! of the TURN server that signal hands every participant in its join answer
//! (`ServerMessage::Joined::ice_servers`), so clients behind networks that
//! block UDP (or everything but TCP 443) still reach the SFU. The SFU node
//! checks the same credentials with the same shared secret
//! (`yunhui_proto::turn`); nothing is stored.

use std::time::SystemTime;

use yunhui_proto::turn::{CREDENTIAL_LIFETIME, IceServer, TurnCredentials, TurnEndpoints};

/// TURN as signal hands it out: the secret shared with the SFU nodes, and
/// the deployment's TURN server for rooms whose node reports none of its own.
#[derive(Clone)]
pub struct TurnService {
    /// Where clients reach the deployment's TURN server (`yunhui up`'s, or
    /// one in front of every node); `None` when only the nodes' own TURN
    /// servers are handed out.
    pub endpoints: Option<TurnEndpoints>,
    /// The secret shared with the SFU nodes.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for TurnService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnService")
            .field("endpoints", &self.endpoints)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// Why a TURN endpoint setting is refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "the TURN endpoint {0:?} is not `host:port` or `host:port:tls port` (e.g. `meet.example.com:3478:443`)"
)]
pub struct BadEndpoint(pub String);

impl TurnService {
    /// The ICE servers for `participant_id`, valid for [`CREDENTIAL_LIFETIME`]:
    /// the TURN server of the room's node (`node`) when it has one, else the
    /// deployment's, else none.
    pub fn ice_servers(
        &self,
        participant_id: &str,
        node: Option<&TurnEndpoints>,
    ) -> Vec<IceServer> {
        let Some(endpoints) = node.or(self.endpoints.as_ref()) else {
            return Vec::new();
        };
        let credentials = TurnCredentials::issue(
            &self.secret,
            participant_id,
            SystemTime::now(),
            CREDENTIAL_LIFETIME,
        );
        vec![credentials.ice_server(endpoints)]
    }

    /// Reads `host:port[:tls port]` (an IPv6 host in brackets).
    pub fn parse_endpoint(text: &str) -> Result<TurnEndpoints, BadEndpoint> {
        let bad = || BadEndpoint(text.to_owned());
        let (host, ports) = match text.strip_prefix('[') {
            Some(rest) => {
                let (host, ports) = rest.split_once(']').ok_or_else(bad)?;
                (host, ports.strip_prefix(':').ok_or_else(bad)?)
            }
            None => text.split_once(':').ok_or_else(bad)?,
        };
        let mut ports = ports.split(':');
        let port = ports.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let tls_port = match ports.next() {
            Some(p) => Some(p.parse().map_err(|_| bad())?),
            None => None,
        };
        if host.is_empty() || ports.next().is_some() {
            return Err(bad());
        }
        Ok(TurnEndpoints {
            host: host.to_owned(),
            port,
            tls_port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yunhui_proto::turn::{RestUsername, password_for};

    #[test]
    fn a_participant_gets_credentials_the_sfu_accepts() {
        let service = TurnService {
            endpoints: Some(TurnService::parse_endpoint("meet.example.com:3478:443").unwrap()),
            secret: b"s3cret".to_vec(),
        };
        let [server] = &service.ice_servers("p-42", None)[..] else {
            panic!("one ICE server");
        };
        assert_eq!(
            server.urls,
            [
                "turn:meet.example.com:3478?transport=udp",
                "turn:meet.example.com:3478?transport=tcp",
                "turns:meet.example.com:443?transport=tcp"
            ]
        );
        let read = RestUsername::parse(&server.username, SystemTime::now()).unwrap();
        assert_eq!(read.participant, "p-42");
        assert!(read.expiry > SystemTime::now() + CREDENTIAL_LIFETIME / 2);
        assert_eq!(server.credential, password_for(b"s3cret", &server.username));
    }

    #[test]
    fn the_rooms_node_has_its_own_turn_server_or_the_deployments_is_handed_out() {
        let node = TurnEndpoints {
            host: "10.0.0.7".into(),
            port: 3479,
            tls_port: None,
        };
        let deployment = TurnService::parse_endpoint("meet.example.com:3478").unwrap();
        let mut service = TurnService {
            endpoints: Some(deployment),
            secret: b"s3cret".to_vec(),
        };
        let urls = |service: &TurnService, node: Option<&TurnEndpoints>| {
            (service.ice_servers("p-1", node).first())
                .map(|s| s.urls[0].clone())
                .unwrap_or_default()
        };
        assert_eq!(
            urls(&service, Some(&node)),
            "turn:10.0.0.7:3479?transport=udp"
        );
        assert_eq!(
            urls(&service, None),
            "turn:meet.example.com:3478?transport=udp"
        );
        service.endpoints = None;
        assert_eq!(
            urls(&service, Some(&node)),
            "turn:10.0.0.7:3479?transport=udp"
        );
        assert!(
            service.ice_servers("p-1", None).is_empty(),
            "no TURN at all"
        );
    }

    #[test]
    fn endpoints_read_with_and_without_tls() {
        let plain = TurnService::parse_endpoint("10.0.0.1:3478").unwrap();
        assert_eq!(
            (plain.host.as_str(), plain.port, plain.tls_port),
            ("10.0.0.1", 3478, None)
        );
        let v6 = TurnService::parse_endpoint("[fd00::1]:3478:5349").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.port, v6.tls_port),
            ("fd00::1", 3478, Some(5349))
        );
        for bad in [
            "",
            "host",
            "host:",
            "host:x",
            "host:1:2:3",
            ":3478",
            "[::1:3478",
        ] {
            assert!(TurnService::parse_endpoint(bad).is_err(), "{bad}");
        }
    }
}
