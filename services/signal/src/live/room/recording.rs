//! Cloud recording of a live meeting (F-REC-1): the host's start, pause,
//! resume and stop, the recorder's one-time ticket, and the files the
//! recorder reports, kept as "My videos" by [`crate::recordings`].
//!
//! The room holds the recording state everyone sees
//! ([`RecordingState`], in [`ServerMessage::MeetingState`]); the recorder,
//! a hidden member, follows it: `recording` writes, `paused` closes the
//! current file, `off` closes it and leaves. The recorder itself is behind
//! [`RecordControl`] (in process in `yunhui up`, a recorder pod in a cluster).

use std::path::PathBuf;
use std::sync::{Arc, Weak};

use tokio::sync::mpsc;
use yunhui_proto::recording::{RecordEvent, RecordJob, StreamTarget};
use yunhui_proto::signaling::{HostCommand, RecordingState, ServerMessage};

use super::{Room, RoomState, Rooms, broadcast};
use crate::error::{Error, Result};
use crate::recordings::{self, NewFile};
use crate::store::Store;

/// A change the host asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Start,
    Pause,
    Resume,
    Stop,
}

impl Change {
    /// The change `command` asks for, if it is a recording command.
    pub(super) fn of(command: &HostCommand) -> Option<Change> {
        match command {
            HostCommand::StartRecording => Some(Change::Start),
            HostCommand::PauseRecording => Some(Change::Pause),
            HostCommand::ResumeRecording => Some(Change::Resume),
            HostCommand::StopRecording => Some(Change::Stop),
            _ => None,
        }
    }
}

/// The recording state after `change`, or why the change makes no sense now.
pub(super) fn next(
    current: RecordingState,
    change: Change,
) -> std::result::Result<RecordingState, &'static str> {
    use RecordingState::*;
    match (change, current) {
        (Change::Start, Off) => Ok(Starting),
        (Change::Start, _) => Err("the meeting is already being recorded"),
        (Change::Pause, Recording) => Ok(Paused),
        (Change::Pause, Paused) => Err("the recording is already paused"),
        (Change::Resume, Paused) => Ok(Recording),
        (Change::Resume, Recording) => Err("the meeting is being recorded: nothing to resume"),
        (Change::Pause | Change::Resume, Starting) => {
            Err("the recording is still starting; try again in a moment")
        }
        (Change::Stop, Starting | Recording | Paused) => Ok(Off),
        (Change::Pause | Change::Resume | Change::Stop, Off) => {
            Err("the meeting is not being recorded")
        }
    }
}

/// A room's recording: what everyone sees, and the job behind it.
#[derive(Default)]
pub(super) struct Recording {
    pub(super) state: RecordingState,
    /// The current job's id (kept after a stop until the recorder leaves).
    job_id: Option<String>,
    /// The ticket the recorder joins with, until spent.
    ticket: Option<String>,
    /// The recorder's participant id, once in.
    pub(super) recorder: Option<String>,
    /// `auto_record` started (or tried to start) a recording already.
    pub(super) auto_started: bool,
}

impl Rooms {
    /// Whether `ticket` lets a recorder into the open room of `meeting_id`.
    pub async fn has_recorder_ticket(&self, meeting_id: &str, ticket: &str) -> bool {
        let room = self.rooms.lock().await.get(meeting_id).cloned();
        match room {
            Some(room) => {
                let state = room.state.lock().await;
                state.recording.ticket.as_deref() == Some(ticket)
                    || state.streaming.has_ticket(ticket)
            }
            None => false,
        }
    }

    /// Spends the recorder's ticket: `true` when it was still good. The
    /// recording is on from here.
    pub(super) fn spend_recorder_ticket(
        state: &mut RoomState,
        ticket: &str,
        participant_id: &str,
    ) -> bool {
        if state.streaming.spend_ticket(ticket, participant_id) {
            return true;
        }
        if state.recording.ticket.as_deref() != Some(ticket) {
            return false;
        }
        state.recording.ticket = None;
        state.recording.recorder = Some(participant_id.to_string());
        if state.recording.state == RecordingState::Starting {
            state.recording.state = RecordingState::Recording;
            broadcast(state, &state.meeting_state());
        }
        true
    }

    /// Carries out a host's recording command (the caller checked that
    /// they are a host).
    pub(super) async fn change_recording(&self, room: &Arc<Room>, change: Change) -> Result<()> {
        if change == Change::Start {
            if !recordings::tenant_may_record(&self.store, &room.meeting.tenant_id).await? {
                return Err(Error::NotAllowed(
                    "record meetings: the enterprise's features do not include cloud recording, or its administrator switched it off",
                ));
            }
            if self.recorder.get().is_none() {
                return Err(Error::Unavailable(
                    "cloud recording needs a recorder, which this deployment does not run".into(),
                ));
            }
        }
        let mut state = room.state.lock().await;
        let now = next(state.recording.state, change).map_err(|e| Error::InvalidInput(e.into()))?;
        if change == Change::Start {
            self.start_job(room, &mut state)?;
        }
        state.recording.state = now;
        broadcast(&state, &state.meeting_state());
        Ok(())
    }

    /// Starts recording when the meeting asks for it (`auto_record`) and
    /// has not tried yet; a refusal is only logged.
    pub(super) async fn auto_record(&self, room: &Arc<Room>) {
        {
            let mut state = room.state.lock().await;
            if !state.options.auto_record
                || state.recording.auto_started
                || state.recording.state != RecordingState::Off
            {
                return;
            }
            state.recording.auto_started = true;
        }
        if let Err(e) = self.change_recording(room, Change::Start).await {
            tracing::warn!(error = %e, "the meeting records automatically, but could not start");
        }
    }

    /// Hands a new job to the recorder; its events are followed by a task.
    fn start_job(&self, room: &Arc<Room>, state: &mut RoomState) -> Result<()> {
        let (job_id, ticket, receiver) = self.hand_job(room, None)?;
        state.recording.job_id = Some(job_id.clone());
        state.recording.ticket = Some(ticket);
        state.recording.recorder = None;
        let job = Job {
            room: Arc::downgrade(room),
            job_id,
            store: self.store.clone(),
            dir: self.recorder.get().and_then(|r| r.dir.clone()),
        };
        let span = super::room_span("recording", room);
        tokio::spawn(tracing::Instrument::instrument(job.follow(receiver), span));
        Ok(())
    }

    /// Hands the recorder a job for `room` (a live stream to `stream`, or
    /// files): its id, the ticket it joins with, and where its events come.
    pub(super) fn hand_job(
        &self,
        room: &Arc<Room>,
        stream: Option<StreamTarget>,
    ) -> Result<(String, String, mpsc::UnboundedReceiver<RecordEvent>)> {
        let Some(recorder) = self.recorder.get() else {
            return Err(Error::Unavailable(
                "cloud recording and live streaming need a recorder, which this deployment does not run".into(),
            ));
        };
        let job_id = uuid::Uuid::new_v4().to_string();
        let ticket = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let (events, receiver) = mpsc::unbounded_channel();
        recorder
            .control
            .record(
                RecordJob {
                    job_id: job_id.clone(),
                    meeting_number: room.meeting.number.clone(),
                    ticket: ticket.clone(),
                    stream,
                },
                Box::new(move |event| {
                    let _ = events.send(event);
                }),
            )
            .map_err(Error::Unavailable)?;
        Ok((job_id, ticket, receiver))
    }
}

/// The recorder this deployment runs, and where its files are.
pub(super) struct Recorder {
    pub(super) control: Arc<dyn yunhui_proto::recording::RecordControl>,
    pub(super) dir: Option<PathBuf>,
}

/// One recording job, followed until the recorder leaves.
struct Job {
    room: Weak<Room>,
    job_id: String,
    store: Store,
    dir: Option<PathBuf>,
}

impl Job {
    async fn follow(self, mut events: mpsc::UnboundedReceiver<RecordEvent>) {
        while let Some(event) = events.recv().await {
            if let Err(e) = self.on(event).await {
                tracing::warn!(error = %e, job = %self.job_id, "a recording event was not kept");
            }
        }
        // The recorder is gone (its last event, or its connection, ended).
        self.gone(None).await;
    }

    async fn on(&self, event: RecordEvent) -> Result<()> {
        match event {
            RecordEvent::Joined { participant_id } => {
                tracing::info!(recorder = %participant_id, job = %self.job_id, "the recorder is in");
                Ok(())
            }
            RecordEvent::SegmentStarted {
                index,
                file,
                location,
            } => {
                let Some(room) = self.room.upgrade() else {
                    return Ok(());
                };
                let meeting = &room.meeting;
                let title = if index <= 1 {
                    meeting.topic.clone()
                } else {
                    format!("{} ({index})", meeting.topic)
                };
                recordings::file_started(
                    &self.store,
                    NewFile {
                        tenant_id: &meeting.tenant_id,
                        meeting_id: &meeting.id,
                        meeting_number: &meeting.number,
                        owner_account_id: &meeting.host_account_id,
                        job_id: &self.job_id,
                        index,
                        title,
                        file: &file,
                        location: location.as_deref(),
                    },
                )
                .await
            }
            RecordEvent::SegmentFinished {
                index,
                duration_ms,
                bytes,
                ..
            } => {
                recordings::file_finished(&self.store, &self.job_id, index, duration_ms, bytes)
                    .await
            }
            RecordEvent::Failed { reason } => {
                self.gone(Some(reason)).await;
                Ok(())
            }
            RecordEvent::Ended => Ok(()),
            RecordEvent::StreamLive | RecordEvent::StreamInterrupted { .. } => {
                tracing::warn!(job = %self.job_id, "a file recorder reported streaming");
                Ok(())
            }
        }
    }

    /// The recorder stopped (`reason` when it failed): files it left
    /// unfinished are marked so, and a room still showing this job's
    /// recording shows it off.
    async fn gone(&self, reason: Option<String>) {
        if let Err(e) =
            recordings::job_interrupted(&self.store, &self.job_id, self.dir.as_deref()).await
        {
            tracing::warn!(error = %e, job = %self.job_id, "unfinished recordings not marked");
        }
        let Some(room) = self.room.upgrade() else {
            return;
        };
        let mut state = room.state.lock().await;
        if state.recording.job_id.as_deref() != Some(self.job_id.as_str()) {
            return;
        }
        state.recording.job_id = None;
        state.recording.ticket = None;
        state.recording.recorder = None;
        if state.recording.state != RecordingState::Off {
            state.recording.state = RecordingState::Off;
            broadcast(&state, &state.meeting_state());
            let message = match &reason {
                Some(reason) => format!("the recording stopped: {reason}"),
                None => "the recording stopped: the recorder left the meeting".to_string(),
            };
            tracing::warn!(job = %self.job_id, "{message}");
            for member in state.members.values() {
                if member.info.role == yunhui_proto::signaling::Role::Host {
                    let _ = member
                        .outbox
                        .send(super::Outbound::Message(ServerMessage::Error {
                            code: yunhui_proto::signaling::ErrorCode::Unavailable,
                            message: message.clone(),
                        }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RecordingState::*;

    #[test]
    fn the_recording_goes_through_its_states_and_refuses_what_makes_no_sense() {
        assert_eq!(next(Off, Change::Start), Ok(Starting));
        assert_eq!(next(Recording, Change::Pause), Ok(Paused));
        assert_eq!(next(Paused, Change::Resume), Ok(Recording));
        for state in [Starting, Recording, Paused] {
            assert_eq!(next(state, Change::Stop), Ok(Off));
            assert!(next(state, Change::Start).is_err());
        }
        assert!(next(Off, Change::Pause).is_err());
        assert!(next(Off, Change::Stop).is_err());
        assert!(next(Recording, Change::Resume).is_err());
        assert!(next(Starting, Change::Pause).is_err());
        assert!(next(Paused, Change::Pause).is_err());
    }
}
