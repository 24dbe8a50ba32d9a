//! Live streaming of a meeting (F-REC-2, the manual's 会议直播; who may:
//! [`crate::live_streaming`]): the host
//! pushes the meeting to an RTMP(S) streaming service with its push
//! address and stream key, everyone sees that the meeting is live and
//! where to watch, and the host stops it.
//!
//! The stream is a recorder job of its own ([`RecordJob::stream`]): a
//! second hidden member that follows the streaming state instead of the
//! recording state, so a meeting can be recorded and streamed at once and
//! either stops without the other. The recorder reports when the service
//! takes the stream ([`RecordEvent::StreamLive`]) and when the connection
//! breaks and is retried ([`RecordEvent::StreamInterrupted`]); the room
//! shows `live` and `reconnecting` accordingly and tells the hosts why.
//!
//! [`RecordJob::stream`]: yunhui_proto::recording::RecordJob::stream

use std::sync::{Arc, Weak};

use tokio::sync::mpsc;
use yunhui_proto::recording::{RecordEvent, redact_stream_url, stream_target};
use yunhui_proto::signaling::{
    ErrorCode, HostCommand, LiveStream, Role, ServerMessage, StreamingState,
};

use super::{Outbound, Room, RoomState, Rooms, broadcast};
use crate::error::{Error, Result};
use crate::{live_streaming, recordings};

/// A change the host asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Change {
    Start {
        push_url: String,
        stream_key: String,
        watch_url: Option<String>,
    },
    Stop,
}

impl Change {
    /// The change `command` asks for, if it is a streaming command.
    pub(super) fn of(command: &HostCommand) -> Option<Change> {
        match command {
            HostCommand::StartStreaming {
                push_url,
                stream_key,
                watch_url,
            } => Some(Change::Start {
                push_url: push_url.clone(),
                stream_key: stream_key.clone(),
                watch_url: watch_url.clone(),
            }),
            HostCommand::StopStreaming => Some(Change::Stop),
            _ => None,
        }
    }
}

/// What the recorder reported, as it changes the streaming state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Report {
    Live,
    Interrupted,
}

/// The streaming state after the host's `change` (`true`: start), or why
/// it makes no sense now.
pub(super) fn next(
    current: StreamingState,
    start: bool,
) -> std::result::Result<StreamingState, &'static str> {
    use StreamingState::*;
    match (start, current) {
        (true, Off) => Ok(Starting),
        (true, _) => Err("the meeting is already streamed live"),
        (false, Off) => Err("the meeting is not streamed live"),
        (false, _) => Ok(Off),
    }
}

/// The streaming state after the recorder's `report`: a stream the host
/// stopped stays off.
pub(super) fn reported(current: StreamingState, report: Report) -> StreamingState {
    match (current, report) {
        (StreamingState::Off, _) => StreamingState::Off,
        (_, Report::Live) => StreamingState::Live,
        (_, Report::Interrupted) => StreamingState::Reconnecting,
    }
}

/// A watch address the host gave: `http(s)://`, printable ASCII, at most
/// 1024 characters (everyone in the meeting is shown it as a link).
pub(super) fn check_watch_url(url: Option<String>) -> Result<Option<String>> {
    let Some(url) = url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.len() > 1024 || !url.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::InvalidInput(
            "the watch address must be an http:// or https:// link of at most 1024 characters, without spaces".into(),
        ));
    }
    Ok(Some(url))
}

/// A room's live stream: what everyone sees, and the job behind it.
#[derive(Default)]
pub(super) struct Streaming {
    pub(super) state: StreamingState,
    watch_url: Option<String>,
    /// The current job's id (kept after a stop until the recorder leaves).
    job_id: Option<String>,
    /// The ticket the recorder joins with, until spent.
    ticket: Option<String>,
    /// The streaming recorder's participant id, once in.
    pub(super) recorder: Option<String>,
}

impl Streaming {
    /// What everyone sees.
    pub(super) fn shown(&self) -> LiveStream {
        LiveStream {
            state: self.state,
            watch_url: (self.state != StreamingState::Off)
                .then(|| self.watch_url.clone())
                .flatten(),
        }
    }

    pub(super) fn has_ticket(&self, ticket: &str) -> bool {
        self.ticket.as_deref() == Some(ticket)
    }

    /// Spends the streaming recorder's ticket: `true` when it was this one's.
    pub(super) fn spend_ticket(&mut self, ticket: &str, participant_id: &str) -> bool {
        if !self.has_ticket(ticket) {
            return false;
        }
        self.ticket = None;
        self.recorder = Some(participant_id.to_string());
        true
    }
}

impl Rooms {
    /// Carries out a host's streaming command (the caller checked that they
    /// are a host).
    pub(super) async fn change_streaming(&self, room: &Arc<Room>, change: Change) -> Result<()> {
        let Change::Start {
            push_url,
            stream_key,
            watch_url,
        } = change
        else {
            let mut state = room.state.lock().await;
            let now =
                next(state.streaming.state, false).map_err(|e| Error::InvalidInput(e.into()))?;
            state.streaming.state = now;
            tracing::info!("the host stopped the live stream");
            broadcast(&state, &state.meeting_state());
            return Ok(());
        };
        if !recordings::tenant_may_stream(&self.store, &room.meeting.tenant_id).await? {
            return Err(Error::NotAllowed(
                "stream meetings live: the enterprise's features do not include live streaming, or its administrator switched it off",
            ));
        }
        let cloud_room =
            live_streaming::cloud_room_permission(&self.store, &room.meeting.id).await?;
        let target = stream_target(&push_url, &stream_key).map_err(Error::InvalidInput)?;
        let watch_url = check_watch_url(watch_url)?;
        let mut state = room.state.lock().await;
        if let Some(refused) = live_streaming::refusal(cloud_room, state.options.live_streaming) {
            return Err(refused);
        }
        let now = next(state.streaming.state, true).map_err(|e| Error::InvalidInput(e.into()))?;
        let pushing_to = redact_stream_url(&target.url);
        let (job_id, ticket, receiver) = self.hand_job(room, Some(target))?;
        tracing::info!(job = %job_id, to = %pushing_to, "the host started a live stream");
        state.streaming = Streaming {
            state: now,
            watch_url,
            job_id: Some(job_id.clone()),
            ticket: Some(ticket),
            recorder: None,
        };
        broadcast(&state, &state.meeting_state());
        let job = Job {
            room: Arc::downgrade(room),
            job_id,
        };
        let span = super::room_span("streaming", room);
        tokio::spawn(tracing::Instrument::instrument(job.follow(receiver), span));
        Ok(())
    }
}

/// One streaming job, followed until the recorder leaves.
struct Job {
    room: Weak<Room>,
    job_id: String,
}

impl Job {
    async fn follow(self, mut events: mpsc::UnboundedReceiver<RecordEvent>) {
        while let Some(event) = events.recv().await {
            match event {
                RecordEvent::Joined { participant_id } => {
                    tracing::info!(recorder = %participant_id, job = %self.job_id, "the streaming recorder is in");
                }
                RecordEvent::StreamLive => self.report(Report::Live, None).await,
                RecordEvent::StreamInterrupted {
                    reason,
                    retry_in_ms,
                } => {
                    let message = format!(
                        "the live stream was interrupted ({reason}); trying again in {} s",
                        retry_in_ms.div_ceil(1000)
                    );
                    self.report(Report::Interrupted, Some(message)).await;
                }
                RecordEvent::Failed { reason } => {
                    self.gone(Some(reason)).await;
                }
                RecordEvent::Ended => {}
                RecordEvent::SegmentStarted { .. } | RecordEvent::SegmentFinished { .. } => {
                    tracing::warn!(job = %self.job_id, "a streaming recorder reported a file");
                }
            }
        }
        self.gone(None).await;
    }

    /// Applies the recorder's `report` to a room still streaming this job,
    /// and tells the hosts `message`.
    async fn report(&self, report: Report, message: Option<String>) {
        let Some(room) = self.room.upgrade() else {
            return;
        };
        let mut state = room.state.lock().await;
        if state.streaming.job_id.as_deref() != Some(self.job_id.as_str()) {
            return;
        }
        let now = reported(state.streaming.state, report);
        if now != state.streaming.state {
            state.streaming.state = now;
            tracing::info!(job = %self.job_id, state = ?now, "the live stream's state changed");
            broadcast(&state, &state.meeting_state());
        }
        if let Some(message) = message {
            tracing::warn!(job = %self.job_id, "{message}");
            tell_hosts(&state, message);
        }
    }

    /// The recorder stopped (`reason` when it failed): a room still showing
    /// this job's stream shows it off, and the hosts hear why.
    async fn gone(&self, reason: Option<String>) {
        let Some(room) = self.room.upgrade() else {
            return;
        };
        let mut state = room.state.lock().await;
        if state.streaming.job_id.as_deref() != Some(self.job_id.as_str()) {
            return;
        }
        let was = state.streaming.state;
        state.streaming = Streaming::default();
        if was != StreamingState::Off {
            broadcast(&state, &state.meeting_state());
            let message = match &reason {
                Some(reason) => format!("the live stream stopped: {reason}"),
                None => "the live stream stopped: the recorder left the meeting".to_string(),
            };
            tracing::warn!(job = %self.job_id, "{message}");
            tell_hosts(&state, message);
        }
    }
}

fn tell_hosts(state: &RoomState, message: String) {
    for member in state.members.values() {
        if member.info.role == Role::Host {
            let _ = member.outbox.send(Outbound::Message(ServerMessage::Error {
                code: ErrorCode::Unavailable,
                message: message.clone(),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StreamingState::*;

    #[test]
    fn the_stream_starts_once_and_stops_from_any_live_state() {
        assert_eq!(next(Off, true), Ok(Starting));
        for state in [Starting, Live, Reconnecting] {
            assert!(next(state, true).is_err());
            assert_eq!(next(state, false), Ok(Off));
        }
        assert!(next(Off, false).is_err());
    }

    #[test]
    fn the_recorders_reports_move_a_running_stream_only() {
        assert_eq!(reported(Starting, Report::Live), Live);
        assert_eq!(reported(Live, Report::Interrupted), Reconnecting);
        assert_eq!(reported(Reconnecting, Report::Live), Live);
        assert_eq!(reported(Off, Report::Live), Off);
        assert_eq!(reported(Off, Report::Interrupted), Off);
    }

    #[test]
    fn watch_addresses_are_links() {
        assert_eq!(check_watch_url(None).unwrap(), None);
        assert_eq!(check_watch_url(Some("  ".into())).unwrap(), None);
        assert_eq!(
            check_watch_url(Some(" https://live.example.com/w/1 ".into())).unwrap(),
            Some("https://live.example.com/w/1".into())
        );
        for bad in ["javascript:alert(1)", "https://a b", "ftp://x"] {
            assert!(check_watch_url(Some(bad.into())).is_err(), "{bad}");
        }
    }
}
