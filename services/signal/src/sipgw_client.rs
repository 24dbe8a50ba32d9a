//! [`HttpCallControl`]: signal's [`CallControl`] against a SIP gateway in
//! another pod (`yunhui-sipgw`'s internal API). Each call is one request
//! whose response streams the call's events, one JSON object per line.

use std::time::Duration;

use yunhui_proto::dial::{CallControl, CallEvent, CallEvents, DialRequest};

/// Longest line the gateway may send for one event.
const MAX_EVENT_BYTES: usize = 16 * 1024;

/// Places calls through a remote SIP gateway.
pub struct HttpCallControl {
    client: reqwest::Client,
    url: String,
    key: String,
}

impl HttpCallControl {
    /// A client of the gateway at `base_url` (e.g. `http://yunhui-sip:8090`).
    pub fn new(base_url: &str, internal_key: &str) -> Self {
        HttpCallControl {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            url: format!("{}/internal/v1/calls", base_url.trim_end_matches('/')),
            key: internal_key.to_string(),
        }
    }
}

impl CallControl for HttpCallControl {
    fn dial(&self, request: DialRequest, events: CallEvents) -> Result<(), String> {
        let call = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .json(&request);
        tokio::spawn(async move {
            let last = follow(call, &events).await;
            if let Some(event) = last {
                events(event);
            }
        });
        Ok(())
    }
}

/// Relays the gateway's events; returns the event that closes a call the
/// gateway left without one (it failed or went away).
async fn follow(call: reqwest::RequestBuilder, events: &CallEvents) -> Option<CallEvent> {
    let mut response = match call.send().await {
        Ok(response) => response,
        Err(e) => {
            return Some(CallEvent::Failed {
                reason: format!("the SIP gateway is unreachable: {e}"),
            });
        }
    };
    if !response.status().is_success() {
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let reason = body["error"]["message"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("the SIP gateway answered {status}"));
        return Some(CallEvent::Failed { reason });
    }
    let mut pending: Vec<u8> = Vec::new();
    let mut answered = false;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "lost the SIP gateway during a call");
                break;
            }
        };
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            match serde_json::from_slice::<CallEvent>(&line) {
                Ok(event) => {
                    let last = matches!(event, CallEvent::Failed { .. } | CallEvent::Ended { .. });
                    answered |= matches!(event, CallEvent::Answered { .. });
                    events(event);
                    if last {
                        return None;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "unreadable event from the SIP gateway"),
            }
        }
        if pending.len() > MAX_EVENT_BYTES {
            tracing::warn!("the SIP gateway sent an overlong event; giving the call up");
            break;
        }
    }
    let reason = "the connection to the SIP gateway was lost".to_string();
    Some(if answered {
        CallEvent::Ended { reason }
    } else {
        CallEvent::Failed { reason }
    })
}
