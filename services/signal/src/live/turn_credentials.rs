//! TURN for participants: the short-lived REST-API credentials and the URLs
//! of the TURN server that signal hands every participant in its join answer
//! (`ServerMessage::Joined::ice_servers`), so clients behind networks that
//! block UDP (or everything but TCP 443) still reach the SFU. The SFU node
//! checks the same credentials with the same shared secret
//! (`yunhui_proto::turn`); nothing is stored.

use std::time::SystemTime;

use yunhui_proto::turn::{CREDENTIAL_LIFETIME, IceServer, TurnCredentials, TurnEndpoints};

/// The deployment's TURN server, as signal hands it out.
#[derive(Clone)]
pub struct TurnService {
    /// Where clients reach it.
    pub endpoints: TurnEndpoints,
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
    /// The ICE servers for `participant_id`, valid for [`CREDENTIAL_LIFETIME`].
    pub fn ice_servers(&self, participant_id: &str) -> Vec<IceServer> {
        let credentials = TurnCredentials::issue(
            &self.secret,
            participant_id,
            SystemTime::now(),
            CREDENTIAL_LIFETIME,
        );
        vec![credentials.ice_server(&self.endpoints)]
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
            endpoints: TurnService::parse_endpoint("meet.example.com:3478:443").unwrap(),
            secret: b"s3cret".to_vec(),
        };
        let [server] = &service.ice_servers("p-42")[..] else {
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
