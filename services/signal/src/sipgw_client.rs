//! [`HttpCallControl`]: signal's [`CallControl`] against SIP gateways in
//! other pods (`yunhui-sipgw`'s internal API). Each call is one request
//! whose response streams the call's events, one JSON object per line.
//!
//! With the worker table ([`crate::workers`], a pool scaled by its calls),
//! a call goes to the live gateway with the most room that is not draining,
//! and to the next one when that one is full or unreachable; the pool's
//! Service comes last (and is the only address without the table).

use std::time::Duration;

use yunhui_proto::dial::{CallControl, CallEvent, CallEvents, DialRequest};
use yunhui_proto::worker::WorkerPool;

use crate::event_stream::{self, StreamEnd};
use crate::store::Store;

/// What a gateway is called in messages.
const SERVICE: &str = "SIP gateway";

/// Places calls through remote SIP gateways.
pub struct HttpCallControl {
    client: reqwest::Client,
    base_url: String,
    key: String,
    gateways: Option<Store>,
}

impl HttpCallControl {
    /// A client of the gateways behind `base_url` (e.g. `http://yunhui-sip:8090`).
    pub fn new(base_url: &str, internal_key: &str) -> Self {
        HttpCallControl {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            base_url: base_url.trim_end_matches('/').to_string(),
            key: internal_key.to_string(),
            gateways: None,
        }
    }

    /// Places each call at the gateway with the most room in the worker
    /// table of `store` first (`base_url` last).
    pub fn with_worker_table(mut self, store: Store) -> Self {
        self.gateways = Some(store);
        self
    }
}

impl CallControl for HttpCallControl {
    fn dial(&self, request: DialRequest, events: CallEvents) -> Result<(), String> {
        let (client, key, base_url, gateways) = (
            self.client.clone(),
            self.key.clone(),
            self.base_url.clone(),
            self.gateways.clone(),
        );
        tokio::spawn(async move {
            let urls =
                crate::workers::by_room_then(gateways.as_ref(), WorkerPool::SipGateways, base_url)
                    .await;
            let last = match event_stream::first_taker(
                &client,
                &key,
                &urls,
                "/internal/v1/calls",
                &request,
                SERVICE,
            )
            .await
            {
                Ok(response) => follow(response, &events).await,
                Err(reason) => Some(CallEvent::Failed { reason }),
            };
            if let Some(event) = last {
                events(event);
            }
        });
        Ok(())
    }
}

/// Relays the gateway's events; returns the event that closes a call the
/// gateway left without one (it failed or went away).
async fn follow(response: reqwest::Response, events: &CallEvents) -> Option<CallEvent> {
    let mut answered = false;
    let end = event_stream::follow_response(response, SERVICE, |event: CallEvent| {
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
