//! [`HttpRecordControl`]: signal's [`RecordControl`] against the recorder
//! pool (`yunhui-recorder`'s internal API). Each job is one request whose
//! response streams the job's events, one JSON object per line.
//!
//! With the worker table ([`crate::workers`], a pool scaled by its jobs), a
//! job goes to the live recorder with the most room that is not draining,
//! and to the next one when that one is full or unreachable; the pool's
//! Service comes last (and is the only address without the table).

use std::time::Duration;

use yunhui_proto::recording::{RecordControl, RecordEvent, RecordEvents, RecordJob};
use yunhui_proto::worker::WorkerPool;

use crate::event_stream::{self, StreamEnd};
use crate::store::Store;

/// What a recorder is called in messages.
const SERVICE: &str = "recorder";

/// Hands recording jobs to a remote recorder.
pub struct HttpRecordControl {
    client: reqwest::Client,
    base_url: String,
    key: String,
    recorders: Option<Store>,
}

impl HttpRecordControl {
    /// A client of the recorders behind `base_url` (e.g. `http://yunhui-recorder:8091`).
    pub fn new(base_url: &str, internal_key: &str) -> Self {
        HttpRecordControl {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            base_url: base_url.trim_end_matches('/').to_string(),
            key: internal_key.to_string(),
            recorders: None,
        }
    }

    /// Hands each job to the recorder with the most room in the worker
    /// table of `store` first (`base_url` last).
    pub fn with_worker_table(mut self, store: Store) -> Self {
        self.recorders = Some(store);
        self
    }
}

impl RecordControl for HttpRecordControl {
    fn record(&self, job: RecordJob, events: RecordEvents) -> Result<(), String> {
        let (client, key, base_url, recorders) = (
            self.client.clone(),
            self.key.clone(),
            self.base_url.clone(),
            self.recorders.clone(),
        );
        tokio::spawn(async move {
            let urls =
                crate::workers::by_room_then(recorders.as_ref(), WorkerPool::Recorders, base_url)
                    .await;
            let sent = event_stream::first_taker(
                &client,
                &key,
                &urls,
                "/internal/v1/recordings",
                &job,
                SERVICE,
            )
            .await;
            let end = match sent {
                Ok(response) => {
                    event_stream::follow_response(response, SERVICE, |event: RecordEvent| {
                        let last = matches!(event, RecordEvent::Ended | RecordEvent::Failed { .. });
                        events(event);
                        last
                    })
                    .await
                }
                Err(reason) => StreamEnd::Lost(reason),
            };
            if let StreamEnd::Lost(reason) = end {
                events(RecordEvent::Failed { reason });
            }
        });
        Ok(())
    }
}
