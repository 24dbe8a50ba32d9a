//! Demultiplexing of the node's single UDP port: STUN binding requests are routed by
//! the local ICE username fragment (the part of STUN USERNAME before the colon), every
//! other datagram (DTLS, SRTP, SRTCP) by the remote address that ICE has seen.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Instant;

use bytes::BytesMut;
use rtc::shared::TransportProtocol;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use crate::mailbox::PeerInput;

/// STUN message type of a Binding request.
const STUN_BINDING_REQUEST: u16 = 0x0001;
/// STUN magic cookie (RFC 5389).
const STUN_MAGIC_COOKIE: u32 = 0x2112_A442;
/// STUN attribute USERNAME.
const STUN_ATTR_USERNAME: u16 = 0x0006;

/// Returns the local username fragment of a STUN Binding request (`local:remote`), or
/// `None` if `datagram` is not a well-formed STUN Binding request with a USERNAME.
pub fn stun_local_ufrag(datagram: &[u8]) -> Option<&str> {
    // RFC 7983: STUN starts with 0..=3 in the first byte.
    if datagram.len() < 20 || datagram[0] > 3 {
        return None;
    }
    let message_type = u16::from_be_bytes([datagram[0], datagram[1]]);
    let length = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    let cookie = u32::from_be_bytes([datagram[4], datagram[5], datagram[6], datagram[7]]);
    if message_type != STUN_BINDING_REQUEST || cookie != STUN_MAGIC_COOKIE {
        return None;
    }
    let body = datagram.get(20..20 + length)?;
    let mut offset = 0;
    while offset + 4 <= body.len() {
        let attr_type = u16::from_be_bytes([body[offset], body[offset + 1]]);
        let attr_len = usize::from(u16::from_be_bytes([body[offset + 2], body[offset + 3]]));
        let value = body.get(offset + 4..offset + 4 + attr_len)?;
        if attr_type == STUN_ATTR_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        // Attributes are padded to a multiple of four bytes.
        offset += 4 + attr_len.div_ceil(4) * 4;
    }
    None
}

/// Where datagrams go: one inbox per peer connection.
#[derive(Default)]
pub(crate) struct DemuxTable {
    by_ufrag: HashMap<String, mpsc::Sender<PeerInput>>,
    by_addr: HashMap<SocketAddr, mpsc::Sender<PeerInput>>,
    addrs_of_ufrag: HashMap<String, Vec<SocketAddr>>,
}

impl DemuxTable {
    /// Routes STUN for `ufrag` to `inbox` from now on.
    pub(crate) fn register(&mut self, ufrag: &str, inbox: mpsc::Sender<PeerInput>) {
        self.by_ufrag.insert(ufrag.to_owned(), inbox);
    }

    /// Forgets a peer connection and every remote address it used.
    pub(crate) fn unregister(&mut self, ufrag: &str) {
        self.by_ufrag.remove(ufrag);
        for addr in self.addrs_of_ufrag.remove(ufrag).unwrap_or_default() {
            self.by_addr.remove(&addr);
        }
    }

    /// The inbox of the peer connection whose local username fragment is `ufrag`.
    pub(crate) fn inbox_of(&self, ufrag: &str) -> Option<mpsc::Sender<PeerInput>> {
        self.by_ufrag.get(ufrag).cloned()
    }

    fn route(&mut self, datagram: &[u8], from: SocketAddr) -> Option<mpsc::Sender<PeerInput>> {
        if let Some(ufrag) = stun_local_ufrag(datagram) {
            let inbox = self.by_ufrag.get(ufrag)?.clone();
            if let std::collections::hash_map::Entry::Vacant(slot) = self.by_addr.entry(from) {
                slot.insert(inbox.clone());
                self.addrs_of_ufrag
                    .entry(ufrag.to_owned())
                    .or_default()
                    .push(from);
            }
            return Some(inbox);
        }
        self.by_addr.get(&from).cloned()
    }
}

/// Reads the node's UDP socket until shutdown and hands each datagram to its peer
/// connection. A full inbox drops the datagram, as the network would.
pub(crate) async fn receive_datagrams(
    socket: Arc<UdpSocket>,
    table: Arc<Mutex<DemuxTable>>,
    received_bytes: prometheus::IntCounter,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 2048];
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            received = socket.recv_from(&mut buf) => {
                let (len, from) = match received {
                    Ok(received) => received,
                    Err(err) => {
                        // ICMP port unreachable surfaces here on some platforms; keep serving.
                        tracing::debug!(error = %err, "udp receive failed");
                        continue;
                    }
                };
                received_bytes.inc_by(len as u64);
                let datagram = &buf[..len];
                let inbox = table.lock().route(datagram, from);
                if let Some(inbox) = inbox {
                    let _ = inbox.try_send(PeerInput::Datagram {
                        from,
                        protocol: TransportProtocol::UDP,
                        at: Instant::now(),
                        data: BytesMut::from(datagram),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding_request(username: &str) -> Vec<u8> {
        let mut attr = Vec::new();
        attr.extend_from_slice(&STUN_ATTR_USERNAME.to_be_bytes());
        attr.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attr.extend_from_slice(username.as_bytes());
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        let mut msg = Vec::new();
        msg.extend_from_slice(&STUN_BINDING_REQUEST.to_be_bytes());
        msg.extend_from_slice(&(attr.len() as u16).to_be_bytes());
        msg.extend_from_slice(&STUN_MAGIC_COOKIE.to_be_bytes());
        msg.extend_from_slice(&[7u8; 12]);
        msg.extend_from_slice(&attr);
        msg
    }

    #[test]
    fn reads_local_ufrag_from_binding_request() {
        assert_eq!(
            stun_local_ufrag(&binding_request("sfuufrag:clientufrag")),
            Some("sfuufrag")
        );
    }

    #[test]
    fn ignores_non_stun_and_truncated_messages() {
        assert_eq!(stun_local_ufrag(&[0x80; 40]), None);
        let mut msg = binding_request("a:b");
        msg.truncate(24);
        assert_eq!(stun_local_ufrag(&msg), None);
    }
}
