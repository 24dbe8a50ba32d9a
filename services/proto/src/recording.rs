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
