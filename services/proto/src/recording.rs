//! The internal interface between signal and the recorder: signal hands a
//! recorder a job ([`RecordControl::record`]) when the host starts a cloud
//! recording; the recorder joins the meeting with the job's one-time ticket
//! through the ordinary signaling protocol (hidden from the participant
//! list), follows the meeting's recording state (`recording` writes,
//! `paused` and `off` close the current file), and reports every file it
//! opens and finishes ([`RecordEvent`]) until it leaves.

use serde::{Deserialize, Serialize};

/// A recording to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordJob {
    /// Signal's id of the recording job (one per start, across its pauses).
    pub job_id: String,
    /// The meeting to record.
    pub meeting_number: String,
    /// One-time ticket for [`crate::signaling::ClientMessage::Join`]'s `recorder_ticket`.
    pub ticket: String,
    /// Push the meeting live here instead of writing files: the job follows
    /// the meeting's streaming state rather than its recording state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamTarget>,
}

/// Where a live stream goes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamTarget {
    /// The full RTMP(S) address: the service's push address and the stream
    /// key, e.g. `rtmp://live.example.com/app/KEY`. A secret: never logged.
    pub url: String,
}

impl std::fmt::Debug for StreamTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamTarget")
            .field("url", &redact_stream_url(&self.url))
            .finish()
    }
}

/// `url` without its last path segment (the stream key), for logs and
/// errors: `rtmp://host/app/KEY` becomes `rtmp://host/app/…`.
pub fn redact_stream_url(url: &str) -> String {
    match url.rsplit_once('/') {
        Some((base, _)) if base.contains("://") && !base.ends_with('/') => format!("{base}/…"),
        _ => "…".to_string(),
    }
}

/// Checks a host's streaming target and joins it into the address the
/// recorder pushes to. The push address is `rtmp://` or `rtmps://` with a
/// host and at most 512 characters; the key is 1–256 printable ASCII
/// characters without `/`, spaces or quotes.
pub fn stream_target(push_url: &str, stream_key: &str) -> Result<StreamTarget, String> {
    let push_url = push_url.trim().trim_end_matches('/');
    let rest = push_url
        .strip_prefix("rtmp://")
        .or_else(|| push_url.strip_prefix("rtmps://"))
        .ok_or("the push address must start with rtmp:// or rtmps://")?;
    if push_url.len() > 512 {
        return Err("the push address is longer than 512 characters".into());
    }
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err("the push address has no host".into());
    }
    if !push_url.chars().all(|c| c.is_ascii_graphic()) || push_url.contains(['"', '\\']) {
        return Err("the push address has spaces, quotes or characters outside ASCII".into());
    }
    let key = stream_key.trim();
    if key.is_empty() || key.len() > 256 {
        return Err("the stream key must have 1 to 256 characters".into());
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | '"' | '\'' | '\\'))
    {
        return Err(
            "the stream key has spaces, slashes, quotes or characters outside ASCII".into(),
        );
    }
    Ok(StreamTarget {
        url: format!("{push_url}/{key}"),
    })
}

/// How a recording job goes, as the recorder reports it, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RecordEvent {
    /// The recorder is in the meeting as `participant_id`.
    Joined {
        /// The recorder's participant id.
        participant_id: String,
    },
    /// A file was opened and is being written: it is playable up to where
    /// it was written at any moment, even if the recorder dies.
    SegmentStarted {
        /// 1 for the job's first file, then one more per file.
        index: u32,
        /// The file's name in the recorder's storage (no directories).
        file: String,
        /// Base URL of the recorder instance that holds the file (its
        /// internal API serves it), when signal cannot read its directory.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
    },
    /// A file is finished.
    SegmentFinished {
        /// As in [`RecordEvent::SegmentStarted`].
        index: u32,
        /// As in [`RecordEvent::SegmentStarted`].
        file: String,
        /// Length of the recording in the file.
        duration_ms: u64,
        /// Size of the file.
        bytes: u64,
    },
    /// The streaming service took the stream (again, after
    /// [`RecordEvent::StreamInterrupted`]).
    StreamLive,
    /// The connection to the streaming service failed or was lost; the
    /// recorder tries again in `retry_in_ms`.
    StreamInterrupted {
        /// What went wrong, in words (the push address's key left out).
        reason: String,
        /// When the next attempt starts.
        retry_in_ms: u64,
    },
    /// The job could not start or broke off, and why.
    Failed {
        /// Why, in words.
        reason: String,
    },
    /// The recorder left the meeting; every file it opened is finished.
    Ended,
}

/// Where [`RecordControl::record`] reports a job's events, in order.
pub type RecordEvents = Box<dyn Fn(RecordEvent) + Send + Sync>;

/// Makes recordings: the recorder, in process or remote.
pub trait RecordControl: Send + Sync {
    /// Starts `job` and returns at once; `events` hears how it goes. An error
    /// means no recorder took the job.
    fn record(&self, job: RecordJob, events: RecordEvents) -> Result<(), String>;
}

/// Whether `name` is a file name a recorder may report: letters, digits,
/// `-`, `_` and `.`, no leading dot, at most 128 characters (it is joined to
/// a directory, so nothing may climb out of it).
pub fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_targets_are_checked_and_keys_kept_out_of_logs() {
        let target = stream_target(" rtmp://live.example.com/app/ ", "k3y-9").unwrap();
        assert_eq!(target.url, "rtmp://live.example.com/app/k3y-9");
        assert!(!format!("{target:?}").contains("k3y"));
        assert_eq!(
            redact_stream_url(&target.url),
            "rtmp://live.example.com/app/…"
        );
        assert!(stream_target("rtmps://a.example:443/x", "k").is_ok());
        for (url, key, error) in [
            ("http://a.example/app", "k", "rtmp://"),
            ("rtmp:///app", "k", "no host"),
            ("rtmp://a.example/app x", "k", "spaces"),
            ("rtmp://a.example/app", "", "1 to 256"),
            ("rtmp://a.example/app", "a/b", "slashes"),
            ("rtmp://a.example/app", "a b", "spaces"),
        ] {
            let e = stream_target(url, key).unwrap_err();
            assert!(e.contains(error), "{url} {key}: {e}");
        }
    }

    #[test]
    fn events_are_tagged_and_file_names_stay_in_their_directory() {
        let json = serde_json::to_value(RecordEvent::SegmentStarted {
            index: 1,
            file: "a-1.webm".into(),
            location: None,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"event": "segment_started", "index": 1, "file": "a-1.webm"})
        );
        assert!(is_file_name("0f3c-2.webm"));
        for bad in [
            "",
            "../x.webm",
            "a/b.webm",
            ".hidden",
            "a b.webm",
            &"x".repeat(129),
        ] {
            assert!(!is_file_name(bad), "{bad:?}");
        }
    }
}
