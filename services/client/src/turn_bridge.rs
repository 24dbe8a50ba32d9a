//! TURN over TCP and TLS for the SDK's peer connections.
//!
//! webrtc-rs 0.21 gathers relay candidates over TURN/UDP only: it skips
//! `turn:…?transport=tcp` and `turns:` URLs. On a network that lets only TCP
//! or TLS 443 out, a browser still relays through such a URL; the SDK does so
//! through a bridge. For each such URL the peer connections are given
//! `turn:127.0.0.1:<port>?transport=udp` instead, with the same credentials:
//! a UDP socket on loopback whose datagrams — the STUN messages and
//! ChannelData of webrtc-rs's own TURN client — go over one TCP or TLS
//! connection per client socket to the real server, framed as RFC 8656
//! §12.5 wants on a stream (ChannelData padded to four bytes), and come back
//! the same way. The server sees a client over TCP or TLS; the messages are
//! unchanged (their integrity does not cover the transport).
//!
//! A `turns:` server's certificate is checked against the system's roots
//! (`SSL_CERT_FILE` honoured) and the ones the session was given
//! ([`TurnBridges::new`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// A TURN server reached over a stream: a `turn:…?transport=tcp` or
/// `turns:` URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamServer {
    /// Host name or IP address (no brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS (`turns:`) or plain TCP.
    pub tls: bool,
}

impl StreamServer {
    /// The server of `url` when it is reached over a stream; `None` for
    /// `turn:` over UDP, `stun:` and anything unreadable (left as it is).
    pub fn of_url(url: &str) -> Option<StreamServer> {
        let (scheme, rest) = url.split_once(':')?;
        let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
        let transport = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("transport="))
            .unwrap_or(if scheme == "turns" { "tcp" } else { "udp" });
        let tls = match (scheme, transport) {
            ("turns", "tcp") => true,
            ("turn", "tcp") => false,
            _ => return None,
        };
        let (host, port) = match address.strip_prefix('[') {
            Some(v6) => {
                let (host, port) = v6.split_once("]:")?;
                (host, port)
            }
            None => address.rsplit_once(':')?,
        };
        let port = port.parse().ok()?;
        (!host.is_empty()).then(|| StreamServer {
            host: host.to_owned(),
            port,
            tls,
        })
    }
}

/// How long one TURN message may be on a stream: a STUN message or
/// ChannelData, its header and length field tell.
///
/// Returns `(on the stream, as a datagram)` once `buf` starts with a whole
/// message, `Ok(None)` while more is needed, and an error for bytes that are
/// neither (RFC 8656 §12: the first two bits are 0b00 for STUN, 0b01 for
/// ChannelData).
pub fn frame(buf: &[u8]) -> Result<Option<(usize, usize)>, String> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let length = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let (datagram, padded) = match buf[0] >> 6 {
        0b00 => (20 + length, 20 + length),
        0b01 => (4 + length, (4 + length).next_multiple_of(4)),
        _ => return Err(format!("not a TURN message (first byte {:#04x})", buf[0])),
    };
    Ok((buf.len() >= padded).then_some((padded, datagram)))
}

/// The datagram `message` as it goes on a stream: ChannelData padded to a
/// multiple of four bytes, STUN as it is.
fn on_stream(message: &[u8]) -> Vec<u8> {
    let mut framed = message.to_vec();
    if message.first().is_some_and(|b| b >> 6 == 0b01) {
        framed.resize(message.len().next_multiple_of(4), 0);
    }
    framed
}

/// The bridges of a session, one per stream URL, started when a peer
/// connection first needs one. Cheap to clone (shared).
#[derive(Clone)]
pub struct TurnBridges {
    inner: Arc<Inner>,
}

struct Inner {
    bridges: Mutex<HashMap<StreamServer, Bridge>>,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TurnBridges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnBridges")
            .field("bridges", &self.inner.bridges.lock().len())
            .finish()
    }
}

impl Default for TurnBridges {
    fn default() -> Self {
        TurnBridges::new(Vec::new())
    }
}

impl TurnBridges {
    /// Bridges that trust the system's roots and `extra_roots` for `turns:`.
    pub fn new(extra_roots: Vec<CertificateDer<'static>>) -> TurnBridges {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        for cert in extra_roots {
            if let Err(error) = roots.add(cert) {
                tracing::warn!(%error, "a TURN root certificate was not usable");
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        TurnBridges {
            inner: Arc::new(Inner {
                bridges: Mutex::new(HashMap::new()),
                tls: Arc::new(tls),
            }),
        }
    }

    /// `url` as the peer connections are given it: a stream URL becomes the
    /// loopback URL of its bridge (started now if needed, so call it inside
    /// a tokio runtime); any other is kept. `None` when the bridge cannot
    /// start (the URL is then left out: webrtc-rs would skip it anyway).
    pub fn local_url(&self, url: &str) -> Option<String> {
        let Some(server) = StreamServer::of_url(url) else {
            return Some(url.to_owned());
        };
        let mut bridges = self.inner.bridges.lock();
        if let Some(bridge) = bridges.get(&server) {
            return Some(bridge.url());
        }
        match Bridge::start(server.clone(), Arc::clone(&self.inner.tls)) {
            Ok(bridge) => {
                let local = bridge.url();
                tracing::debug!(turn = url, %local, "bridging TURN over a stream");
                bridges.insert(server, bridge);
                Some(local)
            }
            Err(error) => {
                tracing::warn!(%error, turn = url, "cannot bridge TURN over a stream");
                None
            }
        }
    }
}

/// One bridge: a loopback UDP socket and its task, stopped when dropped.
struct Bridge {
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Bridge {
    fn start(server: StreamServer, tls: Arc<rustls::ClientConfig>) -> std::io::Result<Bridge> {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
        socket.set_nonblocking(true)?;
        let socket = Arc::new(UdpSocket::from_std(socket)?);
        let local = socket.local_addr()?;
        let task = tokio::spawn(serve(socket, server, tls));
        Ok(Bridge { local, task })
    }

    fn url(&self) -> String {
        format!("turn:{}?transport=udp", self.local)
    }
}

/// Datagrams from each client socket go to its own connection to `server`.
async fn serve(socket: Arc<UdpSocket>, server: StreamServer, tls: Arc<rustls::ClientConfig>) {
    let mut clients: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            return;
        };
        clients.retain(|_, to_server| !to_server.is_closed());
        let to_server = clients.entry(from).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(256);
            tokio::spawn(carry(
                Arc::clone(&socket),
                from,
                rx,
                server.clone(),
                Arc::clone(&tls),
            ));
            tx
        });
        // A client faster than its connection loses datagrams, as over UDP.
        let _ = to_server.try_send(buf[..n].to_vec());
    }
}

/// One client socket's connection: connects (and shakes hands), then
/// carries its datagrams out and the server's messages back until either
/// side stops.
async fn carry(
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    from_client: mpsc::Receiver<Vec<u8>>,
    server: StreamServer,
    tls: Arc<rustls::ClientConfig>,
) {
    let target = format!("{}:{}", server.host, server.port);
    let tcp = match TcpStream::connect(&target).await {
        Ok(tcp) => tcp,
        Err(error) => {
            tracing::warn!(%error, turn = %target, "cannot reach the TURN server over TCP");
            return;
        }
    };
    let _ = tcp.set_nodelay(true);
    let result = if server.tls {
        let name = match ServerName::try_from(server.host.clone()) {
            Ok(name) => name,
            Err(error) => {
                tracing::warn!(%error, turn = %target, "not a TLS server name");
                return;
            }
        };
        match tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
        {
            Ok(stream) => pump(stream, &socket, client, from_client).await,
            Err(error) => {
                tracing::warn!(%error, turn = %target, "TLS to the TURN server failed");
                return;
            }
        }
    } else {
        pump(tcp, &socket, client, from_client).await
    };
    if let Err(error) = result {
        tracing::debug!(%error, turn = %target, "a bridged TURN connection ended");
    }
}

async fn pump<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    socket: &UdpSocket,
    client: SocketAddr,
    mut from_client: mpsc::Receiver<Vec<u8>>,
) -> Result<(), String> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut pending: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 65_536];
    loop {
        tokio::select! {
            datagram = from_client.recv() => {
                let Some(datagram) = datagram else { return Ok(()) };
                if frame(&datagram).ok().flatten().is_none() {
                    // Not one whole TURN message: it would break the framing.
                    continue;
                }
                writer.write_all(&on_stream(&datagram)).await.map_err(|e| e.to_string())?;
            }
            read = reader.read(&mut chunk) => {
                let n = read.map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("the server closed the connection".into());
                }
                pending.extend_from_slice(&chunk[..n]);
                while let Some((on_stream, datagram)) = frame(&pending)? {
                    let _ = socket.send_to(&pending[..datagram], client).await;
                    pending.drain(..on_stream);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls_are_told_apart_from_udp_ones() {
        let server = |host: &str, port, tls| {
            Some(StreamServer {
                host: host.into(),
                port,
                tls,
            })
        };
        assert_eq!(
            StreamServer::of_url("turns:meet.example.com:443?transport=tcp"),
            server("meet.example.com", 443, true)
        );
        assert_eq!(
            StreamServer::of_url("turns:meet.example.com:443"),
            server("meet.example.com", 443, true)
        );
        assert_eq!(
            StreamServer::of_url("turn:10.0.0.1:3478?transport=tcp"),
            server("10.0.0.1", 3478, false)
        );
        assert_eq!(
            StreamServer::of_url("turn:[::1]:3478?transport=tcp"),
            server("::1", 3478, false)
        );
        for kept in [
            "turn:10.0.0.1:3478?transport=udp",
            "turn:10.0.0.1:3478",
            "stun:10.0.0.1:3478",
            "turns:no-port?transport=tcp",
            "turn:",
        ] {
            assert_eq!(StreamServer::of_url(kept), None, "{kept}");
        }
    }

    #[test]
    fn messages_are_framed_by_their_headers_and_channel_data_is_padded() {
        // A STUN binding request: 20-byte header, 8 bytes of attributes.
        let mut stun = vec![0x00, 0x01, 0x00, 0x08];
        stun.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        stun.extend_from_slice(&[7; 12]);
        stun.extend_from_slice(&[1; 8]);
        assert_eq!(frame(&stun), Ok(Some((28, 28))));
        assert_eq!(frame(&stun[..27]), Ok(None));
        assert_eq!(on_stream(&stun), stun);
        // ChannelData on channel 0x4001 with 5 bytes: 3 of padding on a stream.
        let data = [0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5];
        let framed = on_stream(&data);
        assert_eq!(framed.len(), 12);
        assert_eq!(frame(&framed), Ok(Some((12, 9))));
        assert_eq!(frame(&framed[..9]), Ok(None), "the padding is waited for");
        // Two messages back to back: the first is read alone.
        let mut both = framed.clone();
        both.extend_from_slice(&stun);
        assert_eq!(frame(&both), Ok(Some((12, 9))));
        assert!(frame(&[0xc0, 0, 0, 0]).is_err());
    }
}
