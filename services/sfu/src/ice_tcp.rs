//! ICE over TCP (RFC 6544) on the node's TCP port, for networks that drop UDP.
//!
//! Every peer connection offers a passive TCP host candidate next to its UDP
//! one. A client connects to the node's TCP port and sends its connectivity
//! checks there, each packet prefixed with its length (RFC 4571: two bytes, big
//! endian). The first packet must be a STUN Binding request: its USERNAME names
//! the peer connection (the local ICE username fragment, as on the UDP port,
//! [`crate::demux`]), and from then on every packet of the connection, STUN,
//! DTLS or SRTP, goes to that peer connection, which sends its own back over the
//! connection (`PeerInput::TcpConnection`). The connection ends when either
//! side goes: the client closes it, or the peer connection closes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use parking_lot::Mutex;
use rtc::shared::TransportProtocol;
use rtc::shared::tcp_framing::TcpFrameDecoder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::demux::{DemuxTable, stun_local_ufrag};
use crate::mailbox::PeerInput;
use crate::metrics::{GaugeGuard, SfuMetrics};

/// How long a new connection has to send its first connectivity check.
const FIRST_CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections that have not sent their first check yet, at most.
const MAX_UNTIED: usize = 256;
/// Packets a peer connection can queue on one connection before dropping; past
/// that the client reads too slowly, and media is better lost than late.
const SEND_QUEUE: usize = 1024;
/// A STUN message's fixed header.
const STUN_HEADER_LEN: usize = 20;
/// The longest first packet taken for a connectivity check (browsers send about 100
/// bytes); anything longer is something else knocking on the port.
const MAX_CHECK_LEN: usize = 1024;
/// Bytes read from the socket at once.
const READ_CHUNK: usize = 16 * 1024;

/// Accepts ICE-TCP connections on `listener` until shutdown, each served by a
/// task of its own.
pub(crate) async fn accept_connections(
    listener: TcpListener,
    demux: Arc<Mutex<DemuxTable>>,
    metrics: SfuMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let untied = Arc::new(Semaphore::new(MAX_UNTIED));
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, from)) => {
                    // Anyone can connect: past the limit, new connections are refused
                    // until the pending ones have sent their first check or timed out.
                    let Ok(untied) = Arc::clone(&untied).try_acquire_owned() else {
                        tracing::debug!(client = %from, "too many ice-tcp connections without a check: refused");
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_connection(
                        stream,
                        from,
                        untied,
                        Arc::clone(&demux),
                        metrics.clone(),
                        shutdown.clone(),
                    ));
                }
                Err(err) => {
                    // Out of descriptors, or a connection reset before accept: keep serving.
                    tracing::debug!(error = %err, "ice-tcp accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Why a connection ended, for the log.
#[derive(Debug, thiserror::Error)]
enum Ended {
    #[error("the client closed it")]
    ClientClosed,
    #[error("its peer connection closed")]
    PeerClosed,
    #[error("the node is shutting down")]
    Shutdown,
    #[error("no connectivity check came within {} s", FIRST_CHECK_TIMEOUT.as_secs())]
    NoCheckInTime,
    #[error("its first packet was not a STUN Binding request with a username")]
    NotACheck,
    #[error("its first check names no peer connection of this node")]
    UnknownUfrag,
    #[error("{0}")]
    Io(std::io::Error),
}

/// Reads the connection's first framed packet, which must be a connectivity check:
/// a length that no check has ends the connection at once.
async fn first_packet(
    stream: &mut TcpStream,
    received_bytes: &prometheus::IntCounter,
) -> Result<Vec<u8>, Ended> {
    let mut prefix = [0u8; 2];
    read_exactly(stream, &mut prefix).await?;
    let len = usize::from(u16::from_be_bytes(prefix));
    if !(STUN_HEADER_LEN..=MAX_CHECK_LEN).contains(&len) {
        return Err(Ended::NotACheck);
    }
    let mut packet = vec![0u8; len];
    read_exactly(stream, &mut packet).await?;
    received_bytes.inc_by((2 + len) as u64);
    Ok(packet)
}

async fn read_exactly(stream: &mut TcpStream, buf: &mut [u8]) -> Result<(), Ended> {
    match stream.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Err(Ended::ClientClosed),
        Err(err) => Err(Ended::Io(err)),
    }
}

/// One ICE-TCP connection: tie it to a peer connection by its first check, then
/// carry packets both ways until either side ends.
async fn serve_connection(
    mut stream: TcpStream,
    from: SocketAddr,
    untied: OwnedSemaphorePermit,
    demux: Arc<Mutex<DemuxTable>>,
    metrics: SfuMetrics,
    shutdown: watch::Receiver<bool>,
) {
    let ended = carry(&mut stream, from, untied, &demux, &metrics, shutdown).await;
    tracing::debug!(client = %from, reason = %ended, "ice-tcp connection ended");
    let _ = stream.shutdown().await;
}

async fn carry(
    stream: &mut TcpStream,
    from: SocketAddr,
    untied: OwnedSemaphorePermit,
    demux: &Mutex<DemuxTable>,
    metrics: &SfuMetrics,
    mut shutdown: watch::Receiver<bool>,
) -> Ended {
    let received_bytes = &metrics.received_bytes;
    let first =
        match tokio::time::timeout(FIRST_CHECK_TIMEOUT, first_packet(stream, received_bytes)).await
        {
            Ok(Ok(packet)) => packet,
            Ok(Err(ended)) => return ended,
            Err(_) => return Ended::NoCheckInTime,
        };
    let Some(ufrag) = stun_local_ufrag(&first) else {
        return Ended::NotACheck;
    };
    let Some(inbox) = demux.lock().inbox_of(ufrag) else {
        return Ended::UnknownUfrag;
    };
    let (link, mut outgoing) = mpsc::channel::<BytesMut>(SEND_QUEUE);
    if inbox
        .send(PeerInput::TcpConnection { from, link })
        .await
        .is_err()
    {
        return Ended::PeerClosed;
    }
    drop(untied);
    let _tied = GaugeGuard::new(metrics.ice_tcp_connections.clone());
    let mut decoder = TcpFrameDecoder::with_capacity(READ_CHUNK);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut packet = first;
    let mut framed = Vec::with_capacity(READ_CHUNK);
    loop {
        let input = PeerInput::Datagram {
            from,
            protocol: TransportProtocol::TCP,
            at: Instant::now(),
            data: BytesMut::from(&packet[..]),
        };
        // Waiting here holds the client back through TCP's own flow control.
        if inbox.send(input).await.is_err() {
            return Ended::PeerClosed;
        }
        packet = loop {
            if let Some(packet) = decoder.next_packet() {
                break packet;
            }
            tokio::select! {
                biased;
                _ = shutdown.changed() => return Ended::Shutdown,
                out = outgoing.recv() => {
                    let Some(out) = out else { return Ended::PeerClosed };
                    framed.clear();
                    frame_into(&mut framed, &out);
                    // Whatever else is queued goes in the same write.
                    while let Ok(out) = outgoing.try_recv() {
                        frame_into(&mut framed, &out);
                    }
                    if let Err(err) = stream.write_all(&framed).await {
                        return Ended::Io(err);
                    }
                }
                read = stream.read(&mut buf) => match read {
                    Ok(0) => return Ended::ClientClosed,
                    Ok(len) => {
                        received_bytes.inc_by(len as u64);
                        decoder.extend_from_slice(&buf[..len]);
                    }
                    Err(err) => return Ended::Io(err),
                },
            }
        };
    }
}

/// Appends `packet` to `out` with its RFC 4571 length prefix. A packet too long
/// for the prefix (none that WebRTC sends) is left out.
fn frame_into(out: &mut Vec<u8>, packet: &[u8]) {
    let Ok(len) = u16::try_from(packet.len()) else {
        return;
    };
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_through_the_decoder() {
        let mut framed = Vec::new();
        frame_into(&mut framed, b"hello");
        frame_into(&mut framed, &[]);
        frame_into(&mut framed, &[7u8; 1500]);
        frame_into(&mut framed, &vec![0u8; 70_000]);
        let mut decoder = TcpFrameDecoder::new();
        // Arrives split at an awkward place, as TCP may deliver it.
        decoder.extend_from_slice(&framed[..3]);
        assert_eq!(decoder.next_packet(), None);
        decoder.extend_from_slice(&framed[3..]);
        assert_eq!(decoder.next_packet().as_deref(), Some(&b"hello"[..]));
        assert_eq!(decoder.next_packet().as_deref(), Some(&[][..]));
        assert_eq!(decoder.next_packet().map(|p| p.len()), Some(1500));
        assert_eq!(
            decoder.next_packet(),
            None,
            "oversized packets are not sent"
        );
    }
}
