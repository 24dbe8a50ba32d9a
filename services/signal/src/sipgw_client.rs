//! [`HttpCallControl`]: signal's [`CallControl`] against a SIP gateway in
//! another pod (`yunhui-sipgw`'s internal API). Each call is one request
//! whose response streams the call's events, one JSON object per line.

use std::time::Duration;

use yunhui_proto::dial::{CallControl, CallEvent, CallEvents, DialRequest};

use crate::event_stream::{self, StreamEnd};

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
    let mut answered = false;
    let end = event_stream::follow(call, "SIP gateway", |event: CallEvent| {
        let last = matches!(event, CallEvent::Failed { .. } | CallEvent::Ended { .. });
        answered |= matches!(event, CallEvent::Answered { .. });
        events(event);
        last
    })
    .await;
    match end {
        StreamEnd::Finished => None,
        StreamEnd::Lost(reason) if answered => Some(CallEvent::Ended { reason }),
        StreamEnd::Lost(reason) => Some(CallEvent::Failed { reason }),
    }
}
