//! [`HttpRecordControl`]: signal's [`RecordControl`] against the recorder
//! pool (`yunhui-recorder`'s internal API). Each job is one request whose
//! response streams the job's events, one JSON object per line.

use std::time::Duration;

use yunhui_proto::recording::{RecordControl, RecordEvent, RecordEvents, RecordJob};

use crate::event_stream::{self, StreamEnd};

/// Hands recording jobs to a remote recorder.
pub struct HttpRecordControl {
    client: reqwest::Client,
    url: String,
    key: String,
}

impl HttpRecordControl {
    /// A client of the recorder at `base_url` (e.g. `http://yunhui-recorder:8091`).
    pub fn new(base_url: &str, internal_key: &str) -> Self {
        HttpRecordControl {
            client: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            url: format!("{}/internal/v1/recordings", base_url.trim_end_matches('/')),
            key: internal_key.to_string(),
        }
    }
}

impl RecordControl for HttpRecordControl {
    fn record(&self, job: RecordJob, events: RecordEvents) -> Result<(), String> {
        let request = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .json(&job);
        tokio::spawn(async move {
            let end = event_stream::follow(request, "recorder", |event: RecordEvent| {
                let last = matches!(event, RecordEvent::Ended | RecordEvent::Failed { .. });
                events(event);
                last
            })
            .await;
            if let StreamEnd::Lost(reason) = end {
                events(RecordEvent::Failed { reason });
            }
        });
        Ok(())
    }
}
