//! TURN credentials and ICE servers: what signal hands a participant so its
//! media can go through an SFU node's TURN server when nothing else reaches
//! the node (closed networks that allow only TCP 443).
//!
//! The credentials follow the TURN REST API scheme
//! (draft-uberti-behave-turn-rest): the username is
//! `<expiry, unix seconds>:<participant id>` and the password is
//! `base64(HMAC-SHA1(shared secret, username))`. Signal and the SFU node share
//! only the secret ([`crate::env::TURN_SECRET`]): signal derives a password
//! with [`TurnCredentials::issue`], the node derives the same one from the
//! username alone ([`password_for`]) after checking the expiry
//! ([`RestUsername::parse`]), so no list of users is ever exchanged.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How long credentials handed out on join stay valid. A participant who
/// stays longer keeps its allocations (TURN refreshes are signed with the
/// same key, which the node keeps while the allocation lives); a new
/// allocation after that (an ICE restart) needs a fresh join answer.
pub const CREDENTIAL_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The realm every Yunhui TURN server answers with.
pub const REALM: &str = "yunhui";

/// One ICE server as `RTCPeerConnection` takes it (`RTCIceServer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IceServer {
    /// `turn:host:port?transport=udp`, `turn:host:port?transport=tcp`,
    /// `turns:host:port?transport=tcp`.
    pub urls: Vec<String>,
    /// The REST-API username, `<expiry>:<participant id>`.
    pub username: String,
    /// The password derived from the username and the shared secret.
    pub credential: String,
}

/// Where a TURN server listens, as clients reach it: the deployment's one
/// (signal's setting) or an SFU node's own (in the node's report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnEndpoints {
    /// Host name or IP address clients connect to.
    pub host: String,
    /// Port of TURN over UDP and TCP.
    pub port: u16,
    /// Port of TURN over TLS (443 in clusters), when TLS is served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_port: Option<u16>,
}

impl TurnEndpoints {
    /// The URLs of these endpoints, UDP first and TLS last (the order
    /// browsers try them in does not matter, but reading them does).
    pub fn urls(&self) -> Vec<String> {
        let host = if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let mut urls = vec![
            format!("turn:{host}:{}?transport=udp", self.port),
            format!("turn:{host}:{}?transport=tcp", self.port),
        ];
        if let Some(tls) = self.tls_port {
            urls.push(format!("turns:{host}:{tls}?transport=tcp"));
        }
        urls
    }
}

/// Credentials for one participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredentials {
    /// `<expiry>:<participant id>`.
    pub username: String,
    /// `base64(HMAC-SHA1(secret, username))`.
    pub password: String,
}

impl TurnCredentials {
    /// Credentials for `participant`, valid until `now + lifetime`.
    pub fn issue(
        secret: &[u8],
        participant: &str,
        now: SystemTime,
        lifetime: Duration,
    ) -> TurnCredentials {
        let expiry = (now + lifetime)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let username = format!("{expiry}:{participant}");
        let password = password_for(secret, &username);
        TurnCredentials { username, password }
    }

    /// The ICE server these credentials open at `endpoints`.
    pub fn ice_server(&self, endpoints: &TurnEndpoints) -> IceServer {
        IceServer {
            urls: endpoints.urls(),
            username: self.username.clone(),
            credential: self.password.clone(),
        }
    }
}

/// The password of `username` under `secret`: `base64(HMAC-SHA1(secret, username))`.
pub fn password_for(secret: &[u8], username: &str) -> String {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        unreachable!("HMAC takes a key of any length");
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A REST-API username, read back by the TURN server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestUsername<'a> {
    /// When the credentials stop opening new allocations.
    pub expiry: SystemTime,
    /// Whose they are.
    pub participant: &'a str,
}

/// Why a TURN username is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Not `<expiry>:<participant id>`.
    #[error("the TURN username {0:?} is not `<expiry unix seconds>:<participant id>`")]
    Malformed(String),
    /// The expiry has passed.
    #[error("the TURN credentials of {participant:?} expired {ago_secs} s ago")]
    Expired {
        /// Whose credentials.
        participant: String,
        /// How long ago.
        ago_secs: u64,
    },
}

impl<'a> RestUsername<'a> {
    /// Reads `username` and checks it is still valid at `now`.
    pub fn parse(username: &'a str, now: SystemTime) -> Result<RestUsername<'a>, UsernameError> {
        let malformed = || UsernameError::Malformed(username.chars().take(64).collect());
        let (expiry, participant) = username.split_once(':').ok_or_else(malformed)?;
        let expiry: u64 = expiry.parse().map_err(|_| malformed())?;
        if participant.is_empty() {
            return Err(malformed());
        }
        let expiry = UNIX_EPOCH + Duration::from_secs(expiry);
        if let Ok(ago) = now.duration_since(expiry) {
            return Err(UsernameError::Expired {
                participant: participant.to_owned(),
                ago_secs: ago.as_secs(),
            });
        }
        Ok(RestUsername {
            expiry,
            participant,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_the_rest_api_hmac() {
        // draft-uberti-behave-turn-rest's scheme, checked against
        // `printf %s 1700000000:alice | openssl dgst -sha1 -hmac secret -binary | base64`.
        assert_eq!(
            password_for(b"secret", "1700000000:alice"),
            "d8soP47RbdIKLDUOpnJPVQyq5Ts="
        );
    }

    #[test]
    fn issued_credentials_read_back_until_they_expire() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let creds = TurnCredentials::issue(b"k", "p-1", now, Duration::from_secs(60));
        assert_eq!(creds.username, "1700000060:p-1");
        assert_eq!(creds.password, password_for(b"k", "1700000060:p-1"));
        let read = RestUsername::parse(&creds.username, now).unwrap();
        assert_eq!(read.participant, "p-1");
        let later = now + Duration::from_secs(61);
        assert_eq!(
            RestUsername::parse(&creds.username, later),
            Err(UsernameError::Expired {
                participant: "p-1".into(),
                ago_secs: 1
            })
        );
        for bad in ["alice", ":alice", "soon:alice", "1700000060:"] {
            assert!(
                matches!(
                    RestUsername::parse(bad, now),
                    Err(UsernameError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn urls_name_udp_tcp_and_tls() {
        let endpoints = TurnEndpoints {
            host: "meet.example.com".into(),
            port: 3478,
            tls_port: Some(443),
        };
        assert_eq!(
            endpoints.urls(),
            [
                "turn:meet.example.com:3478?transport=udp",
                "turn:meet.example.com:3478?transport=tcp",
                "turns:meet.example.com:443?transport=tcp"
            ]
        );
        let v6 = TurnEndpoints {
            host: "::1".into(),
            port: 3478,
            tls_port: None,
        };
        assert_eq!(
            v6.urls(),
            [
                "turn:[::1]:3478?transport=udp",
                "turn:[::1]:3478?transport=tcp"
            ]
        );
    }
}
