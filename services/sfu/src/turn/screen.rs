//! What the node checks in a client's request before the TURN server sees it:
//! the REST-API credentials (the sans-IO server only knows users it was given,
//! so a valid username is turned into a user here) and the peers a client
//! asks to reach (only this node's own media address: the server is no open
//! relay).

use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use turn_server_proto::stun::types::attribute::{
    ErrorCode, MessageIntegritySha256, Realm, Userhash, Username,
};
use turn_server_proto::stun::types::message::{
    IntegrityAlgorithm, LongTermCredentials, LongTermKeyCredentials, Message, MessageClass,
    MessageIntegrityCredentials, MessageWriteExt, MessageWriteVec,
};
use turn_server_proto::stun::types::prelude::{
    Attribute, AttributeFromRaw, AttributeStaticType, MessageWrite,
};
use turn_server_proto::types::attribute::XorPeerAddress;
use turn_server_proto::types::message::{CHANNEL_BIND, CREATE_PERMISSION};
use yunhui_proto::turn::{REALM, RestUsername, password_for};

/// The verdict on one message from a client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Screened {
    /// Not a signed request (the first Allocate, an indication, channel data):
    /// the server decides.
    Unsigned,
    /// Signed by credentials that are not (or no longer) valid; the server,
    /// which does not know the user, answers 401.
    Refused(String),
    /// Signed by valid credentials: the server may know the user, and the
    /// request goes on.
    Valid {
        /// The REST-API username.
        username: String,
        /// Its password.
        password: String,
        /// Whose it is.
        participant: String,
    },
    /// Valid credentials asking to reach a peer other than this node: answered
    /// here with this signed 403.
    Forbidden {
        /// Whose request.
        participant: String,
        /// The peer asked for.
        peer: SocketAddr,
        /// The signed error response.
        answer: Vec<u8>,
    },
}

/// Screens `data`, one whole STUN message or channel data from a client.
/// `allowed_peer` is this node's media IP.
pub(crate) fn screen(
    data: &[u8],
    secret: &[u8],
    allowed_peer: IpAddr,
    now: SystemTime,
) -> Screened {
    let Ok(msg) = Message::from_bytes(data) else {
        return Screened::Unsigned;
    };
    if !msg.has_class(MessageClass::Request) {
        return Screened::Unsigned;
    }
    let Ok(username) = msg.attribute::<Username>() else {
        if msg.has_attribute(Userhash::TYPE) {
            return Screened::Refused(
                "the request hides its username (USERHASH): REST-API credentials need USERNAME"
                    .to_owned(),
            );
        }
        return Screened::Unsigned;
    };
    let username = username.username();
    let rest = match RestUsername::parse(username, now) {
        Ok(rest) => rest,
        Err(error) => return Screened::Refused(error.to_string()),
    };
    let password = password_for(secret, username);
    let key: MessageIntegrityCredentials =
        LongTermCredentials::new(username.to_owned(), password.clone())
            .to_key(REALM.to_owned())
            .into();
    if msg.validate_integrity(&key).is_err() {
        return Screened::Refused(format!(
            "the request of {:?} is not signed with the password of its username",
            rest.participant
        ));
    }
    let participant = rest.participant.to_owned();
    if [CREATE_PERMISSION, CHANNEL_BIND].contains(&msg.method()) {
        let forbidden = msg
            .iter_attributes()
            .filter(|(_, attr)| attr.get_type() == XorPeerAddress::TYPE)
            .filter_map(|(_, attr)| XorPeerAddress::from_raw(attr).ok())
            .map(|peer| peer.addr(msg.transaction_id()))
            .find(|peer| peer.ip() != allowed_peer);
        if let Some(peer) = forbidden {
            let algorithm = if msg.has_attribute(MessageIntegritySha256::TYPE) {
                IntegrityAlgorithm::Sha256
            } else {
                IntegrityAlgorithm::Sha1
            };
            let key = LongTermKeyCredentials::new(username.to_owned(), password, REALM.to_owned());
            return Screened::Forbidden {
                participant,
                peer,
                answer: forbidden_answer(&msg, &key.into(), algorithm),
            };
        }
    }
    Screened::Valid {
        username: username.to_owned(),
        password,
        participant,
    }
}

/// A 403 (Forbidden) to `request`, signed with the client's own key.
fn forbidden_answer(
    request: &Message<'_>,
    key: &MessageIntegrityCredentials,
    algorithm: IntegrityAlgorithm,
) -> Vec<u8> {
    let mut answer = Message::builder_error(request, MessageWriteVec::new());
    // Neither can fail: both attributes are fixed and short, and the message
    // has no integrity or fingerprint yet.
    let _ = answer.add_attribute(
        &ErrorCode::builder(ErrorCode::FORBIDDEN)
            .reason("only this media node can be reached through its TURN server")
            .build()
            .expect("a fixed reason is a valid reason"),
    );
    if let Ok(realm) = Realm::new(REALM) {
        let _ = answer.add_attribute(&realm);
    }
    let _ = answer.add_message_integrity(key, algorithm);
    let _ = answer.add_fingerprint();
    answer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};
    use turn_server_proto::stun::types::message::TransactionId;
    use turn_server_proto::types::message::ALLOCATE;

    const SECRET: &[u8] = b"shared";

    fn request(
        method: turn_server_proto::stun::types::message::Method,
        username: &str,
        password: &str,
        peer: Option<SocketAddr>,
    ) -> Vec<u8> {
        let mut msg = Message::builder_request(method, MessageWriteVec::new());
        let transaction: TransactionId = msg.transaction_id();
        msg.add_attribute(&Username::new(username).unwrap())
            .unwrap();
        msg.add_attribute(&Realm::new(REALM).unwrap()).unwrap();
        if let Some(peer) = peer {
            msg.add_attribute(&XorPeerAddress::new(peer, transaction))
                .unwrap();
        }
        let key: MessageIntegrityCredentials =
            LongTermKeyCredentials::new(username.into(), password.into(), REALM.into()).into();
        msg.add_message_integrity(&key, IntegrityAlgorithm::Sha1)
            .unwrap();
        msg.finish()
    }

    #[test]
    fn valid_expired_and_wrong_credentials() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let node: IpAddr = "10.0.0.1".parse().unwrap();
        let user = "2000:alice";
        let good = request(ALLOCATE, user, &password_for(SECRET, user), None);
        assert!(
            matches!(screen(&good, SECRET, node, now), Screened::Valid { participant, .. } if participant == "alice")
        );
        let late = now + Duration::from_secs(1_001);
        assert!(
            matches!(screen(&good, SECRET, node, late), Screened::Refused(why) if why.contains("expired"))
        );
        let wrong = request(ALLOCATE, user, "guess", None);
        assert!(
            matches!(screen(&wrong, SECRET, node, now), Screened::Refused(why) if why.contains("not signed"))
        );
    }

    #[test]
    fn only_this_nodes_address_may_be_a_peer() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let node: IpAddr = "10.0.0.1".parse().unwrap();
        let user = "2000:bob";
        let password = password_for(SECRET, user);
        let ours = request(
            CREATE_PERMISSION,
            user,
            &password,
            Some("10.0.0.1:7882".parse().unwrap()),
        );
        assert!(matches!(
            screen(&ours, SECRET, node, now),
            Screened::Valid { .. }
        ));
        let theirs = request(
            CHANNEL_BIND,
            user,
            &password,
            Some("192.0.2.9:53".parse().unwrap()),
        );
        let Screened::Forbidden { peer, answer, .. } = screen(&theirs, SECRET, node, now) else {
            panic!("a foreign peer is refused");
        };
        assert_eq!(peer, "192.0.2.9:53".parse::<SocketAddr>().unwrap());
        let answer = Message::from_bytes(&answer).unwrap();
        assert!(answer.has_class(MessageClass::Error));
        assert_eq!(
            answer.attribute::<ErrorCode>().unwrap().code(),
            ErrorCode::FORBIDDEN
        );
        let key: MessageIntegrityCredentials =
            LongTermKeyCredentials::new(user.into(), password, REALM.into()).into();
        assert!(
            answer.validate_integrity(&key).is_ok(),
            "the refusal is signed"
        );
    }
}
