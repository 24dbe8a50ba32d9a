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

/// Sends `body` to `path` of the first of `urls` (base URLs of workers of
/// one pool, named `service` in messages) that takes it: one that answers
/// 503 (full or draining) or cannot be reached passes it on to the next;
/// the last one's answer is taken whatever it is. The response is the
/// job's event stream ([`follow_response`]).
pub async fn first_taker(
    client: &reqwest::Client,
    key: &str,
    urls: &[String],
    path: &str,
    body: &impl serde::Serialize,
    service: &str,
) -> Result<reqwest::Response, String> {
    let mut refused = format!("no {service} is known");
    for (i, url) in urls.iter().enumerate() {
        let is_last = i + 1 == urls.len();
        let sent = client
            .post(format!("{url}{path}"))
            .bearer_auth(key)
            .json(body)
            .send()
            .await;
        match sent {
            Ok(response)
                if response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE && !is_last =>
            {
                tracing::debug!(worker = %url, "{service} takes nothing now; trying the next");
            }
            Ok(response) => return Ok(response),
            Err(e) if !is_last => {
                tracing::warn!(worker = %url, error = %e, "{service} is unreachable; trying the next");
            }
            Err(e) => refused = unreachable(service, &e),
        }
    }
    Err(refused)
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
