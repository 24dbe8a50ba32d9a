//! Signal's side of the internal APIs that stream a job's events back (the
//! SIP gateway's calls, the recorder's recordings): one request whose
//! response carries the events, one JSON object per line, until the job is
//! over.

use serde::de::DeserializeOwned;

/// Longest line a service may send for one event.
const MAX_EVENT_BYTES: usize = 16 * 1024;

/// How a job's stream ended.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// `on_event` said the last event came.
    Finished,
    /// The service could not be reached, refused the job (its message), or
    /// the stream broke off before the last event.
    Lost(String),
}

/// Sends `request` (named `service` in messages) and hands each event to
/// `on_event`, which answers whether it was the job's last.
pub async fn follow<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    service: &str,
    on_event: impl FnMut(T) -> bool,
) -> StreamEnd {
    match request.send().await {
        Ok(response) => follow_response(response, service, on_event).await,
        Err(e) => StreamEnd::Lost(unreachable(service, &e)),
    }
}

/// Why `service` could not be reached.
pub fn unreachable(service: &str, error: &reqwest::Error) -> String {
    format!("the {service} is unreachable: {error}")
}

/// As [`follow`], from the response to a request already sent.
pub async fn follow_response<T: DeserializeOwned>(
    mut response: reqwest::Response,
    service: &str,
    mut on_event: impl FnMut(T) -> bool,
) -> StreamEnd {
    if !response.status().is_success() {
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let reason = body["error"]["message"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("the {service} answered {status}"));
        return StreamEnd::Lost(reason);
    }
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, service, "lost the connection during a job");
                break;
            }
        };
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            match serde_json::from_slice::<T>(&line) {
                Ok(event) => {
                    if on_event(event) {
                        return StreamEnd::Finished;
                    }
                }
                Err(e) => tracing::warn!(error = %e, service, "unreadable event"),
            }
        }
        if pending.len() > MAX_EVENT_BYTES {
            tracing::warn!(service, "an overlong event; giving the job up");
            break;
        }
    }
    StreamEnd::Lost(format!("the connection to the {service} was lost"))
}
