//! A signaling socket whose meeting another replica owns
//! ([`super::ownership`]) is carried through to the owner: this replica
//! opens a socket to the owner's own address, hands it the participant's
//! `join` and from then on relays every frame both ways, unchanged. The
//! owner checks the join (password, throttle, licence) as for a direct
//! client; it learns the participant's address from a header it trusts only
//! with the internal key.
//!
//! When the owner's socket ends (the owner stopped, or lost the meeting),
//! the participant's socket is closed too, and the client joins again: the
//! meeting then has an owner that is alive.

use std::net::IpAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tracing::Instrument;

use yunhui_proto::signaling::CLOSE_JOIN_AGAIN;

use crate::error::{Error, Result};
use crate::live::outbox::{Outbound, Outbox};

/// Headers carrying the internal key and the participant's address on a
/// replica's socket to the owner (and on the SIP gateway's, for a device).
pub use yunhui_proto::signaling::{CLIENT_ADDRESS_HEADER, INTERNAL_KEY_HEADER};

/// How long the owner has to answer the socket and its greeting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the participant's socket closes when the owner's does.
const OWNER_GONE: &str = "the server holding this meeting went away; join again";

/// The owner's end of a relayed socket; dropping it closes that socket.
pub struct Upstream {
    frames: mpsc::UnboundedSender<String>,
    task: JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    /// Hands the owner a frame from the participant.
    pub fn send(&self, frame: &str) {
        let _ = self.frames.send(frame.to_owned());
    }
}

/// Opens a socket to the owner at `owner_url` for a participant at
/// `source`, sends it `join` (the participant's frame) and relays what the
/// owner sends to `outbox`.
pub async fn connect(
    owner_url: &str,
    internal_key: &str,
    source: IpAddr,
    join: String,
    outbox: Outbox,
    max_frame: usize,
) -> Result<Upstream> {
    let unreachable = |why: String| {
        tracing::warn!(owner = %owner_url, error = %why, "the meeting's owner replica is unreachable");
        Error::Unavailable(
            "the server holding this meeting cannot be reached; try again in a few seconds".into(),
        )
    };
    let url = signaling_url(owner_url).ok_or_else(|| unreachable("not an http(s) URL".into()))?;
    let mut request = url
        .into_client_request()
        .map_err(|e| unreachable(e.to_string()))?;
    let headers = request.headers_mut();
    headers.insert(
        INTERNAL_KEY_HEADER,
        HeaderValue::from_str(internal_key).map_err(|e| unreachable(e.to_string()))?,
    );
    headers.insert(
        CLIENT_ADDRESS_HEADER,
        HeaderValue::from_str(&source.to_string()).map_err(|e| unreachable(e.to_string()))?,
    );
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_frame))
        .max_frame_size(Some(max_frame));
    let (socket, _) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(request, Some(config), true),
    )
    .await
    .map_err(|_| unreachable("timed out".into()))?
    .map_err(|e| unreachable(e.to_string()))?;
    let (mut sink, mut stream) = socket.split();
    // The owner greets first; the participant already had this replica's
    // greeting, so the owner's is not passed on.
    let greeting = tokio::time::timeout(CONNECT_TIMEOUT, stream.next())
        .await
        .map_err(|_| unreachable("no greeting".into()))?;
    match greeting {
        Some(Ok(Message::Text(text))) if text.contains("\"hello\"") => {}
        other => return Err(unreachable(format!("unexpected greeting {other:?}"))),
    }
    sink.send(Message::Text(join.into()))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let (frames, mut from_participant) = mpsc::unbounded_channel::<String>();
    let task = tokio::spawn(
        async move {
            loop {
                tokio::select! {
                    frame = from_participant.recv() => match frame {
                        Some(frame) => {
                            if sink.send(Message::Text(frame.into())).await.is_err() {
                                break;
                            }
                        }
                        // The participant's socket ended.
                        None => {
                            let _ = sink.close().await;
                            return;
                        }
                    },
                    message = stream.next() => match message {
                        Some(Ok(Message::Text(text))) => {
                            if outbox.send(Outbound::Encoded(text.as_str().into())).is_err() {
                                let _ = sink.close().await;
                                return;
                            }
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                        Some(Ok(Message::Binary(_))) => {}
                        // The owner closed the socket (meeting ended, removed
                        // by the host): the participant's closes the same way.
                        // The owner asked its client to join again (it lost
                        // the meeting): so does this replica.
                        Some(Ok(Message::Close(frame))) => {
                            let _ = outbox.send(closing(frame));
                            return;
                        }
                        Some(Err(_)) | None => break,
                    },
                }
            }
            tracing::info!("the owner replica's socket ended; closing the participant's");
            let _ = outbox.send(Outbound::JoinAgain(OWNER_GONE.into()));
        }
        .in_current_span(),
    );
    Ok(Upstream { frames, task })
}

/// How the participant's socket closes when the owner closed the relayed
/// one with `frame`: the same way, with the owner's reason; without a reason
/// (or a frame), the owner went away and the participant joins again.
fn closing(frame: Option<CloseFrame>) -> Outbound {
    match frame {
        Some(frame) if !frame.reason.is_empty() => {
            let reason = frame.reason.to_string().into();
            if u16::from(frame.code) == CLOSE_JOIN_AGAIN {
                Outbound::JoinAgain(reason)
            } else {
                Outbound::Close(reason)
            }
        }
        _ => Outbound::JoinAgain(OWNER_GONE.into()),
    }
}

/// `ws(s)://…/api/v1/signal` of a replica's base URL.
fn signaling_url(base: &str) -> Option<String> {
    let base = base.trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .map(|r| format!("ws://{r}"))
        .or_else(|| base.strip_prefix("https://").map(|r| format!("wss://{r}")))?;
    Some(format!("{rest}/api/v1/signal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_url_becomes_its_signaling_url() {
        assert_eq!(
            signaling_url("http://10.0.0.1:8080/").as_deref(),
            Some("ws://10.0.0.1:8080/api/v1/signal")
        );
        assert_eq!(
            signaling_url("https://a.example").as_deref(),
            Some("wss://a.example/api/v1/signal")
        );
        assert_eq!(signaling_url("ftp://a"), None);
    }

    fn frame(code: u16, reason: &str) -> Option<CloseFrame> {
        Some(CloseFrame {
            code: code.into(),
            reason: reason.into(),
        })
    }

    #[test]
    fn the_owner_s_close_reaches_the_participant_with_its_meaning() {
        // Final closes stay final, with the owner's reason.
        assert!(matches!(
            closing(frame(1000, "meeting ended")),
            Outbound::Close(reason) if reason == "meeting ended"
        ));
        // The owner lost the meeting: join again.
        assert!(matches!(
            closing(frame(CLOSE_JOIN_AGAIN, "moved")),
            Outbound::JoinAgain(reason) if reason == "moved"
        ));
        // The owner went away without a word: join again.
        for gone in [None, frame(1000, ""), frame(1006, "")] {
            assert!(matches!(
                closing(gone),
                Outbound::JoinAgain(reason) if reason == OWNER_GONE
            ));
        }
    }
}
