//! A subscriber on a network without UDP: a webrtc-rs peer connection that binds
//! TCP only and takes TCP candidates only, so only ICE-TCP (its active TCP
//! candidate against the node's passive one) can connect it. Shared by the
//! ICE-TCP test and the fan-out benchmark (`--transport tcp`).

use std::ops::Deref;

use rtc::ice::network_type::NetworkType;

use super::receiver::{Receiver, Sockets};

/// The subscriber PC of a client whose network drops UDP; its packet counters
/// and `close` are the [`Receiver`]'s.
pub struct TcpOnlySubscriber(Receiver);

impl TcpOnlySubscriber {
    /// Builds the peer connection, with a TCP socket on loopback and no UDP one.
    pub async fn new() -> Self {
        Self(
            Receiver::new(Sockets {
                network: NetworkType::Tcp4,
                udp: Vec::new(),
                tcp: vec!["127.0.0.1:0".to_owned()],
            })
            .await,
        )
    }

    /// Applies the SFU's offer and returns the answer.
    pub async fn apply_offer(&self, offer: &str) -> String {
        // webrtc-rs 0.21 dials a passive TCP candidate only when it is trickled, not when
        // it comes in the SDP (browsers dial both): hand it over as a trickling client would.
        let passive = offer.lines().filter(|l| l.contains(" tcptype passive"));
        self.0.answer(offer, passive).await
    }
}

impl Deref for TcpOnlySubscriber {
    type Target = Receiver;

    fn deref(&self) -> &Receiver {
        &self.0
    }
}
