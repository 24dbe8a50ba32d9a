//! The signaling protocol over WebSocket.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yunhui_proto::signaling::{
    CLIENT_ADDRESS_HEADER, CLOSE_JOIN_AGAIN, ClientMessage, INTERNAL_KEY_HEADER, ServerMessage,
};

/// A signaling failure.
#[derive(Debug, thiserror::Error)]
pub enum SignalingError {
    /// The WebSocket failed.
    #[error("signaling socket: {0}")]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server sent something this client cannot read.
    #[error("unreadable server message: {0}")]
    Unreadable(String),
    /// Nothing arrived in time.
    #[error("no server message within {0:?}")]
    Timeout(Duration),
    /// The server closed the socket for good: the meeting ended, the host
    /// removed this participant, the participant left.
    #[error("the server closed the signaling socket")]
    Closed,
    /// The server went away, or asked this client to join again
    /// ([`CLOSE_JOIN_AGAIN`]): the meeting lives on, reached by joining again.
    #[error("the signaling socket was lost ({0}); join again")]
    Lost(String),
}

impl SignalingError {
    /// Whether the meeting may still be there for a new join: the socket
    /// was lost rather than closed by the server for good.
    pub fn is_lost(&self) -> bool {
        matches!(self, SignalingError::Lost(_) | SignalingError::Socket(_))
    }
}

/// What a close frame from the server means.
fn closed(frame: Option<CloseFrame>) -> SignalingError {
    match frame {
        Some(frame) if u16::from(frame.code) == CLOSE_JOIN_AGAIN => {
            SignalingError::Lost(frame.reason.to_string())
        }
        _ => SignalingError::Closed,
    }
}

/// How long opening the signaling socket (TCP, TLS and the WebSocket
/// upgrade) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The socket's URL: `endpoint` itself when it is one (`ws://` or `wss://`,
/// e.g. a discovery document's `signaling`), else the signaling path of the
/// deployment whose base URL it is (`http(s)://host` → `ws(s)://host/api/v1/signal`).
pub fn signal_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim();
    if endpoint.starts_with("ws://") || endpoint.starts_with("wss://") {
        return endpoint.to_string();
    }
    format!(
        "{}/api/v1/signal",
        endpoint.trim_end_matches('/').replacen("http", "ws", 1)
    )
}

/// A service joining on someone else's behalf, as the SIP gateway joins for
/// a device: the server treats the socket as coming from `address` (its
/// meeting-password throttle counts that address's attempts), and believes
/// so only because `internal_key` is the deployment's internal key.
#[derive(Clone)]
pub struct ActingFor {
    /// The address of the participant the socket is opened for.
    pub address: std::net::IpAddr,
    /// The deployment's internal key.
    pub internal_key: String,
}

impl std::fmt::Debug for ActingFor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActingFor")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// One signaling socket to a Yunhui signal service.
pub struct SignalingClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl SignalingClient {
    /// Opens the socket at `base_url`: a deployment's base URL
    /// (`http://host:port`) or the socket's own URL (`ws(s)://…`, what a
    /// discovery document names as `signaling`; see [`signal_url`]), and
    /// reads the server's `hello`.
    /// Gives up after [`CONNECT_TIMEOUT`] (an address that swallows
    /// packets, such as a just-deleted pod's behind a Service, would
    /// otherwise hold the caller for minutes).
    pub async fn connect(base_url: &str) -> Result<(Self, u32), SignalingError> {
        Self::connect_with(base_url, None, None).await
    }

    /// Like [`SignalingClient::connect`], from the local address `ip` (e.g.
    /// another loopback address, to act as a different source). Plain
    /// `http://` deployments only.
    pub async fn connect_from(
        base_url: &str,
        ip: std::net::IpAddr,
    ) -> Result<(Self, u32), SignalingError> {
        Self::connect_with(base_url, Some(ip), None).await
    }

    /// Like [`SignalingClient::connect`], from the local address `bind` when
    /// given (plain `http://` deployments only), and on behalf of someone
    /// else when `acting_for` says so (see [`ActingFor`]).
    pub async fn connect_with(
        base_url: &str,
        bind: Option<std::net::IpAddr>,
        acting_for: Option<&ActingFor>,
    ) -> Result<(Self, u32), SignalingError> {
        let url = signal_url(base_url);
        let mut request = url.as_str().into_client_request()?;
        if let Some(acting_for) = acting_for {
            let value = |text: &str| {
                HeaderValue::from_str(text).map_err(|_| {
                    SignalingError::Unreadable(
                        "the internal key is not usable in an HTTP header".into(),
                    )
                })
            };
            let headers = request.headers_mut();
            headers.insert(INTERNAL_KEY_HEADER, value(&acting_for.internal_key)?);
            headers.insert(
                CLIENT_ADDRESS_HEADER,
                value(&acting_for.address.to_string())?,
            );
        }
        let Some(ip) = bind else {
            let (socket, _) =
                tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(request))
                    .await
                    .map_err(|_| SignalingError::Timeout(CONNECT_TIMEOUT))??;
            return Self::greet(SignalingClient { socket }).await;
        };
        let authority = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| {
                SignalingError::Unreadable(format!("{base_url} is not an http:// or ws:// URL"))
            })?;
        let server: std::net::SocketAddr = tokio::net::lookup_host(authority)
            .await
            .map_err(|e| SignalingError::Unreadable(format!("{authority}: {e}")))?
            .next()
            .ok_or_else(|| SignalingError::Unreadable(format!("{authority} has no address")))?;
        let socket = if server.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .map_err(tokio_tungstenite::tungstenite::Error::Io)?;
        socket
            .bind(std::net::SocketAddr::new(ip, 0))
            .map_err(tokio_tungstenite::tungstenite::Error::Io)?;
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(server))
            .await
            .map_err(|_| SignalingError::Timeout(CONNECT_TIMEOUT))?
            .map_err(tokio_tungstenite::tungstenite::Error::Io)?;
        let (socket, _) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await?;
        Self::greet(SignalingClient { socket }).await
    }

    async fn greet(mut client: SignalingClient) -> Result<(Self, u32), SignalingError> {
        match client.recv(Duration::from_secs(10)).await? {
            ServerMessage::Hello { protocol_version } => Ok((client, protocol_version)),
            other => Err(SignalingError::Unreadable(format!(
                "expected hello, got {other:?}"
            ))),
        }
    }

    /// Sends one protocol message.
    pub async fn send(&mut self, message: &ClientMessage) -> Result<(), SignalingError> {
        let text = serde_json::to_string(message)
            .map_err(|e| SignalingError::Unreadable(e.to_string()))?;
        self.send_raw(text).await
    }

    /// Sends a raw text frame (for testing the server's handling of bad input).
    pub async fn send_raw(&mut self, text: String) -> Result<(), SignalingError> {
        self.socket.send(Message::Text(text.into())).await?;
        Ok(())
    }

    /// The next protocol message, waiting at most `timeout`.
    pub async fn recv(&mut self, timeout: Duration) -> Result<ServerMessage, SignalingError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .map_err(|_| SignalingError::Timeout(timeout))?;
            match frame {
                None => return Err(SignalingError::Lost("the connection dropped".into())),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(Message::Text(text))) => {
                    return ServerMessage::from_json(text.as_str())
                        .map_err(|e| SignalingError::Unreadable(format!("{e}: {text}")));
                }
                Some(Ok(Message::Close(frame))) => return Err(closed(frame)),
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads messages until `pick` accepts one and returns what it picked;
    /// the messages before it are dropped.
    pub async fn recv_until<T>(
        &mut self,
        timeout: Duration,
        mut pick: impl FnMut(&ServerMessage) -> Option<T>,
    ) -> Result<T, SignalingError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.recv(left).await.map_err(|e| match e {
                SignalingError::Timeout(_) => SignalingError::Timeout(timeout),
                e => e,
            })?;
            if let Some(found) = pick(&message) {
                return Ok(found);
            }
        }
    }

    /// Closes the socket politely.
    pub async fn close(mut self) -> Result<(), SignalingError> {
        self.socket.close(None).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::signal_url;

    #[test]
    fn a_base_url_gets_the_signaling_path_and_a_socket_url_is_kept() {
        assert_eq!(
            signal_url("https://meet.example.com/"),
            "wss://meet.example.com/api/v1/signal"
        );
        assert_eq!(
            signal_url("http://127.0.0.1:8080"),
            "ws://127.0.0.1:8080/api/v1/signal"
        );
        assert_eq!(
            signal_url("wss://signal.example.com/ws"),
            "wss://signal.example.com/ws"
        );
        assert_eq!(
            signal_url("ws://127.0.0.1:9/api/v1/signal"),
            "ws://127.0.0.1:9/api/v1/signal"
        );
    }
}
