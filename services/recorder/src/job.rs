//! One recording job: the recorder joins the meeting through the client
//! SDK with the job's ticket (hidden from the participant list), receives
//! everyone's media, and follows the meeting's recording state — a file per
//! stretch of `recording`, closed on `paused`, `off`, the meeting's end or
//! everyone leaving — reporting each file to signal as a [`RecordEvent`].
//!
//! A live-streaming job ([`RecordJob::stream`]) is the same but for its
//! output: it follows the meeting's streaming state, and its WebM goes into
//! ffmpeg ([`crate::stream`]) instead of a file; a connection that fails or
//! drops is reported and started again after a growing wait
//! ([`crate::stream::retry_delay`]) until the host stops the stream.
//!
//! [`Recorder`] is the [`RecordControl`] signal hands jobs to: in process in
//! `yunhui up`, behind the recorder's internal API in a cluster.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use yunhui_client::media::{AudioPacket, TrackKind, VideoPacket};
use yunhui_client::meeting::{JoinOptions, MeetingSession, MeetingView};
use yunhui_proto::recording::{RecordControl, RecordEvent, RecordEvents, RecordJob};
use yunhui_proto::signaling::{RecordingState, StreamingState};
use yunhui_runtime::work::{Begun, WorkCount};

use crate::frames::{FrameAssembler, Vp8Frame};
use crate::mixer::AudioMixer;
use crate::picture::{VideoSwitch, choose};
use crate::storage::ObjectStorage;
use crate::stream::{EncoderState, LiveEncoder, retry_delay};
use crate::webm::{BLACK_KEYFRAME, BLACK_KEYFRAME_SIZE, SegmentWriter};

/// One mixed audio packet per tick.
const TICK: Duration = Duration::from_millis(20);
/// While nobody shows video, a black keyframe this often keeps the picture.
const BLACK_EVERY: Duration = Duration::from_secs(1);
/// Name the recorder joins with (nobody sees it in the participant list).
const DISPLAY_NAME: &str = "Cloud recording";

/// Where the recorder works.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Base URL of signal, where the recorder joins meetings.
    pub signal_url: String,
    /// Directory the files are written to.
    pub dir: PathBuf,
    /// Local UDP address for media (e.g. `0.0.0.0:0`).
    pub media_bind: String,
    /// This recorder's base URL as signal reaches its internal API, reported
    /// with each file; `None` when signal reads [`RecorderConfig::dir`] itself.
    pub advertise_url: Option<String>,
    /// The ffmpeg live streams run ([`crate::stream`]).
    pub ffmpeg: PathBuf,
    /// The object store finished files go to ([`crate::storage`]); `None`:
    /// they stay in [`RecorderConfig::dir`].
    pub storage: Option<ObjectStorage>,
    /// With [`RecorderConfig::storage`], the base URL of the recorder
    /// pool's Service, reported with each file instead of
    /// [`RecorderConfig::advertise_url`]: any recorder serves a stored file.
    pub shared_url: Option<String>,
    /// Jobs taken at most at once; `None`: no limit.
    pub max_jobs: Option<usize>,
}

/// Why a job is refused by a recorder that is full.
pub const FULL: &str =
    "the recorder runs as many jobs as it takes; another recorder takes this one";

/// Why a job is refused by a recorder that drains.
pub const DRAINING: &str = "the recorder is draining (its pod is stopping) and takes no new job";

/// The ffmpeg to run: `YUNHUI_FFMPEG` when set, else `ffmpeg` on the `PATH`.
pub fn ffmpeg_from_env() -> PathBuf {
    std::env::var_os(yunhui_proto::env::FFMPEG)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("ffmpeg"))
}

/// Takes recording jobs and runs each in a task of its own.
pub struct Recorder {
    config: Arc<RecorderConfig>,
    /// The jobs running against `max_jobs`, and the drain.
    jobs: Arc<WorkCount>,
}

impl Recorder {
    /// A recorder writing into `config.dir` (created if missing).
    pub fn new(config: RecorderConfig) -> std::io::Result<Self> {
        std::fs::create_dir_all(&config.dir)?;
        Ok(Recorder {
            jobs: Arc::new(WorkCount::new(config.max_jobs)),
            config: Arc::new(config),
        })
    }

    /// Where the files are written.
    pub fn dir(&self) -> &std::path::Path {
        &self.config.dir
    }

    /// The object store the files go to, if any.
    pub fn storage(&self) -> Option<&ObjectStorage> {
        self.config.storage.as_ref()
    }

    /// The jobs running (a job whose files are still being stored
    /// included) and the drain.
    pub fn jobs(&self) -> &WorkCount {
        &self.jobs
    }

    /// Takes no new job from now on; the jobs running go on.
    pub fn drain(&self) {
        if self.jobs.drain() {
            tracing::info!(jobs = self.jobs.active(), "draining: no new jobs");
        }
    }

    /// Whether [`Recorder::drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.jobs.is_draining()
    }

    /// Takes a place for one more job, unless the recorder drains or is full.
    fn admit(&self) -> Result<Begun, &'static str> {
        if self.is_draining() {
            return Err(DRAINING);
        }
        self.jobs.begin().ok_or(FULL)
    }
}

impl RecordControl for Recorder {
    fn record(&self, job: RecordJob, events: RecordEvents) -> Result<(), String> {
        let running = self.admit()?;
        let config = Arc::clone(&self.config);
        let span =
            tracing::info_span!("recording", job = %job.job_id, meeting = %job.meeting_number);
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                run(config, job, events).await;
                drop(running);
            },
            span,
        ));
        Ok(())
    }
}

/// A recorder in a scaled pool reports its jobs to signal and drains when
/// marked ([`yunhui_runtime::worker_report`]).
impl yunhui_runtime::worker_report::Worker for Recorder {
    fn in_progress(&self) -> u64 {
        self.jobs.active() as u64
    }

    fn is_draining(&self) -> bool {
        Recorder::is_draining(self)
    }

    fn drain(&self) {
        Recorder::drain(self)
    }
}

/// Runs `job` to its end; the last event is always `Ended` or `Failed`,
/// sent once every file of the job is stored.
pub async fn run(config: Arc<RecorderConfig>, job: RecordJob, events: RecordEvents) {
    let events: Arc<RecordEvents> = Arc::new(events);
    let joined = MeetingSession::join(
        &config.signal_url,
        JoinOptions {
            meeting_number: job.meeting_number.clone(),
            display_name: DISPLAY_NAME.into(),
            recorder_ticket: Some(job.ticket.clone()),
            media_bind: Some(config.media_bind.clone()),
            ..JoinOptions::default()
        },
    )
    .await;
    let session = match joined {
        Ok(session) => session,
        Err(e) => {
            events(RecordEvent::Failed {
                reason: format!("the recorder could not join the meeting: {e}"),
            });
            return;
        }
    };
    events(RecordEvent::Joined {
        participant_id: session.participant_id().to_string(),
    });
    let mut uploads = Vec::new();
    let outcome = match Job::new(&config, &job, &events) {
        Ok(mut recording) => {
            let outcome = recording.record(&session).await;
            uploads = std::mem::take(&mut recording.uploads);
            outcome
        }
        Err(e) => Err(e),
    };
    session.leave().await;
    for upload in uploads {
        let _ = upload.await;
    }
    match outcome {
        Ok(()) => events(RecordEvent::Ended),
        Err(reason) => events(RecordEvent::Failed { reason }),
    }
}

/// The file being written.
struct OpenFile {
    writer: SegmentWriter,
    index: u32,
    name: String,
    opened: Instant,
    /// Mixed audio packets written: the audio clock.
    audio_packets: u64,
    /// No video frame goes in before a keyframe.
    has_keyframe: bool,
    last_video: Option<Instant>,
    /// The shown participant's clock: (who, their RTP timestamp, file time
    /// in ms) of an anchor frame, so later frames keep their own spacing.
    video_clock: Option<(Arc<str>, u32, u64)>,
    /// The encoder a live stream's "file" goes into.
    encoder: Option<LiveEncoder>,
}

/// A live stream's connections: how many failed in a row, when the next
/// starts, whether the current one was reported live.
#[derive(Default)]
struct Connection {
    failures: u32,
    retry_at: Option<Instant>,
    reported_live: bool,
    /// Encoders of ended connections, still sending what they have.
    finishing: Vec<LiveEncoder>,
}

struct Job<'a> {
    config: &'a RecorderConfig,
    job: &'a RecordJob,
    events: &'a Arc<RecordEvents>,
    file: Option<OpenFile>,
    files: u32,
    /// Finished files being copied into the object store.
    uploads: Vec<JoinHandle<()>>,
    mixer: AudioMixer,
    assemblers: HashMap<Arc<str>, FrameAssembler>,
    switch: VideoSwitch,
    connection: Connection,
}

impl<'a> Job<'a> {
    fn new(
        config: &'a RecorderConfig,
        job: &'a RecordJob,
        events: &'a Arc<RecordEvents>,
    ) -> Result<Self, String> {
        Ok(Job {
            config,
            job,
            events,
            file: None,
            files: 0,
            uploads: Vec::new(),
            mixer: AudioMixer::new(1).map_err(|e| format!("no audio mixer: {e}"))?,
            assemblers: HashMap::new(),
            switch: VideoSwitch::new(),
            connection: Connection::default(),
        })
    }

    /// Records until the recording is switched off, the meeting ends or
    /// the recorder is sent away; every file is finished on the way out.
    async fn record(&mut self, session: &MeetingSession) -> Result<(), String> {
        // The recording state arrives right after the join answer.
        session
            .wait_until("the meeting's state", Duration::from_secs(10), |v| {
                v.options.is_some()
            })
            .await
            .map_err(|e| format!("the meeting's state never arrived: {e}"))?;
        let mut video = session.subscriber().video_packets(4096);
        let mut audio = session.subscriber().audio_packets(2048);
        let mut tick = tokio::time::interval(TICK);
        let outcome = loop {
            tokio::select! {
                _ = tick.tick() => {
                    let view = session.view();
                    let (on, writing) = match &self.job.stream {
                        Some(_) => {
                            let on = view.streaming.state != StreamingState::Off;
                            (on, on)
                        }
                        None => (
                            view.recording != RecordingState::Off,
                            view.recording == RecordingState::Recording,
                        ),
                    };
                    if !session.is_connected() || view.ended.is_some() || !on {
                        break Ok(());
                    }
                    let result = if writing {
                        self.tick(session, &view).await
                    } else {
                        self.close()
                    };
                    if let Err(e) = result {
                        break Err(e);
                    }
                }
                Some(packet) = video.recv() => {
                    if let Err(e) = self.video(session, packet).await {
                        break Err(e);
                    }
                }
                Some(packet) = audio.recv() => self.audio(packet),
            }
        };
        let closed = self.close();
        for encoder in std::mem::take(&mut self.connection.finishing) {
            encoder.finish().await;
        }
        outcome.and(closed)
    }

    /// One tick while recording: a file open, one mixed audio packet, the
    /// picture's source chosen, black frames while nobody shows video.
    async fn tick(&mut self, session: &MeetingSession, view: &MeetingView) -> Result<(), String> {
        if self.file.is_none() {
            let waiting = self
                .connection
                .retry_at
                .is_some_and(|at| Instant::now() < at);
            if waiting {
                // Between two connections of a live stream: the mix goes on.
                self.mixer.next_packet();
                return Ok(());
            }
            self.open().await?;
        }
        self.follow_encoder();
        let packet = self.mixer.next_packet();
        let now = Instant::now();
        let with_video: Vec<&str> = view
            .participants
            .values()
            .filter(|p| p.video_enabled && p.id != session.participant_id())
            .map(|p| p.id.as_str())
            .filter(|id| {
                session
                    .subscriber()
                    .track(id, TrackKind::Video)
                    .and_then(|t| t.last_arrival())
                    .is_some_and(|at| at.elapsed() < Duration::from_secs(2))
            })
            .collect();
        let sharer = view
            .participants
            .values()
            .find(|p| p.sharing_screen)
            .map(|p| p.id.as_str());
        let wanted = choose(
            view.spotlight.as_deref(),
            sharer,
            view.active_speaker.as_deref(),
            self.switch.shown(),
            &with_video,
        );
        let ask = self.switch.set_wanted(wanted.as_deref(), now);
        let overdue = self.switch.keyframe_overdue(now);
        for id in ask.into_iter().chain(overdue) {
            ask_keyframe(session, &id).await;
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let audio_at = file.audio_packets * TICK.as_millis() as u64;
        if let Err(e) = file.writer.write_audio(audio_at, &packet) {
            return self.write_failed(e);
        }
        file.audio_packets += 1;
        let showing = wanted.is_some() || self.switch.shown().is_some();
        if !showing && file.last_video.is_none_or(|at| at.elapsed() >= BLACK_EVERY) {
            let at = file.opened.elapsed().as_millis() as u64;
            if let Err(e) = file.writer.write_video(at, true, BLACK_KEYFRAME) {
                return self.write_failed(e);
            }
            file.has_keyframe = true;
            file.last_video = Some(Instant::now());
        }
        Ok(())
    }

    /// A write to the open output failed: the end of a file's recording,
    /// but only of one connection of a live stream.
    fn write_failed(&mut self, error: std::io::Error) -> Result<(), String> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if file.encoder.is_none() {
            return Err(format!("writing {}: {error}", file.name));
        }
        self.interrupt(error.to_string());
        Ok(())
    }

    /// Reports a live stream's connection once it is live, and interrupts
    /// it once its encoder ended.
    fn follow_encoder(&mut self) {
        let Some(encoder) = self.file.as_ref().and_then(|f| f.encoder.as_ref()) else {
            return;
        };
        match encoder.state() {
            EncoderState::Connecting => {}
            EncoderState::Live => {
                if !self.connection.reported_live {
                    self.connection.reported_live = true;
                    self.connection.failures = 0;
                    tracing::info!("the live stream is going out");
                    (self.events)(RecordEvent::StreamLive);
                }
            }
            EncoderState::Exited(why) => self.interrupt(why),
        }
    }

    /// Ends the live stream's current connection after a failure, and
    /// schedules the next one.
    fn interrupt(&mut self, reason: String) {
        let Some(file) = self.file.take() else {
            return;
        };
        if let Some(encoder) = file.encoder {
            self.connection.finishing.push(encoder);
        }
        let delay = retry_delay(self.connection.failures);
        self.connection.failures += 1;
        self.connection.retry_at = Some(Instant::now() + delay);
        self.connection.reported_live = false;
        tracing::warn!(%reason, retry_in_ms = delay.as_millis() as u64, "the live stream was interrupted");
        (self.events)(RecordEvent::StreamInterrupted {
            reason,
            retry_in_ms: delay.as_millis() as u64,
        });
    }

    async fn video(&mut self, session: &MeetingSession, packet: VideoPacket) -> Result<(), String> {
        let assembler = self
            .assemblers
            .entry(Arc::clone(&packet.stream_id))
            .or_default();
        let frame = assembler.push(
            packet.sequence_number,
            packet.timestamp,
            packet.marker,
            &packet.payload,
        );
        let lost = assembler.needs_keyframe();
        let Some(frame) = frame else {
            if lost && self.switch.shown() == Some(&*packet.stream_id) {
                ask_keyframe(session, &packet.stream_id).await;
            }
            return Ok(());
        };
        if !self.switch.offer(&packet.stream_id, &frame) {
            return Ok(());
        }
        self.write_frame(&packet.stream_id, &frame)
    }

    fn write_frame(&mut self, source: &Arc<str>, frame: &Vp8Frame) -> Result<(), String> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        if !file.has_keyframe && !frame.keyframe {
            return Ok(());
        }
        let now = file.opened.elapsed().as_millis() as u64;
        let at = frame_time(&mut file.video_clock, source, frame.rtp_timestamp, now);
        if let Err(e) = file.writer.write_video(at, frame.keyframe, &frame.data) {
            return self.write_failed(e);
        }
        file.has_keyframe = true;
        file.last_video = Some(Instant::now());
        Ok(())
    }

    fn audio(&mut self, packet: AudioPacket) {
        self.mixer.push(
            &packet.stream_id,
            packet.sequence_number,
            packet.timestamp,
            &packet.payload,
        );
    }

    /// Opens the job's next file and tells signal, or a live stream's next
    /// connection.
    async fn open(&mut self) -> Result<(), String> {
        if let Some(target) = &self.job.stream {
            let encoder = LiveEncoder::start(&self.config.ffmpeg, &target.url)
                .await
                .map_err(|e| e.to_string())?;
            let (width, height) = BLACK_KEYFRAME_SIZE;
            let writer =
                SegmentWriter::stream(encoder.input(), "the live stream", width, height, 1)
                    .map_err(|e| format!("starting the live stream: {e}"))?;
            self.connection.retry_at = None;
            tracing::info!("connecting the live stream");
            self.set_output(writer, 0, "the live stream".into(), Some(encoder));
            return Ok(());
        }
        let index = self.files + 1;
        let name = format!("{}-{index}.webm", self.job.job_id);
        let path = self.config.dir.join(&name);
        let (width, height) = BLACK_KEYFRAME_SIZE;
        let writer = SegmentWriter::create(&path, width, height, 1)
            .map_err(|e| format!("creating {}: {e}", path.display()))?;
        self.files = index;
        let location = match &self.config.storage {
            Some(_) => self.config.shared_url.as_ref(),
            None => None,
        }
        .or(self.config.advertise_url.as_ref());
        (self.events)(RecordEvent::SegmentStarted {
            index,
            file: name.clone(),
            location: location.cloned(),
        });
        tracing::info!(file = %name, "recording into a new file");
        self.set_output(writer, index, name, None);
        Ok(())
    }

    fn set_output(
        &mut self,
        writer: SegmentWriter,
        index: u32,
        name: String,
        encoder: Option<LiveEncoder>,
    ) {
        self.file = Some(OpenFile {
            writer,
            index,
            name,
            opened: Instant::now(),
            audio_packets: 0,
            has_keyframe: false,
            last_video: None,
            video_clock: None,
            encoder,
        });
        // The new output starts at the shown participant's next keyframe.
        self.switch = VideoSwitch::new();
    }

    /// Finishes the open file, if any, and tells signal.
    fn close(&mut self) -> Result<(), String> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        if let Some(encoder) = file.encoder {
            // The end of a live stream: what is buffered goes to ffmpeg,
            // which sends it and closes the connection.
            if let Err(e) = file.writer.finish() {
                tracing::debug!(error = %e, "the live stream's last second was not sent");
            }
            self.connection.finishing.push(encoder);
            tracing::info!("the live stream is stopped");
            return Ok(());
        }
        let summary = file
            .writer
            .finish()
            .map_err(|e| format!("finishing {}: {e}", file.name))?;
        tracing::info!(file = %file.name, duration_ms = summary.duration_ms, "a recorded file is finished");
        let finished = RecordEvent::SegmentFinished {
            index: file.index,
            file: file.name.clone(),
            duration_ms: summary.duration_ms,
            bytes: summary.bytes,
        };
        let Some(storage) = self.config.storage.clone() else {
            (self.events)(finished);
            return Ok(());
        };
        // Finished for signal once stored: from then on any recorder serves it.
        let (events, local) = (Arc::clone(self.events), self.config.dir.join(&file.name));
        let upload = async move {
            if let Err(e) = storage.store(&local, &file.name).await {
                tracing::error!(error = %e, "the file stays on this recorder's volume");
            }
            events(finished);
        };
        self.uploads
            .push(tokio::spawn(tracing::Instrument::in_current_span(upload)));
        Ok(())
    }
}

/// A frame's time in the file: by the sender's RTP clock (90 kHz) from an
/// anchor frame of the same sender, so frames that arrive in a burst keep
/// their spacing; by arrival (`now`, which becomes the new anchor) for a
/// new sender or when the two clocks drift more than half a second apart.
fn frame_time(
    clock: &mut Option<(Arc<str>, u32, u64)>,
    source: &Arc<str>,
    rtp_timestamp: u32,
    now: u64,
) -> u64 {
    if let Some((anchored, rtp, ms)) = clock.as_ref()
        && anchored == source
    {
        let ticks = rtp_timestamp.wrapping_sub(*rtp);
        let by_rtp = *ms + u64::from(ticks) / 90;
        if ticks < 0x8000_0000 && by_rtp.abs_diff(now) <= 500 {
            return by_rtp;
        }
    }
    *clock = Some((Arc::clone(source), rtp_timestamp, now));
    now
}

/// Asks `participant_id` for a keyframe (a PLI on their video track).
async fn ask_keyframe(session: &MeetingSession, participant_id: &str) {
    if let Some(track) = session.subscriber().track(participant_id, TrackKind::Video)
        && let Err(e) = session.subscriber().send_pli(&track).await
    {
        tracing::debug!(error = %e, participant = participant_id, "keyframe request failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_keep_their_senders_spacing_unless_the_clocks_drift() {
        let red: Arc<str> = "red".into();
        let blue: Arc<str> = "blue".into();
        let mut clock = None;
        assert_eq!(frame_time(&mut clock, &red, 9_000, 100), 100);
        // Arrived together, sent 66 ms apart.
        assert_eq!(frame_time(&mut clock, &red, 9_000 + 6_000, 101), 166);
        assert_eq!(frame_time(&mut clock, &red, 9_000 + 12_000, 102), 233);
        // Thirty seconds on, still on the sender's clock, without drift.
        assert_eq!(
            frame_time(&mut clock, &red, 9_000 + 2_700_000, 30_050),
            30_100
        );
        // Another sender starts from its arrival.
        assert_eq!(frame_time(&mut clock, &blue, 1, 300), 300);
        // A jump of the sender's clock (or a stall) falls back to arrival.
        assert_eq!(frame_time(&mut clock, &blue, 1 + 900_000, 400), 400);
        assert_eq!(frame_time(&mut clock, &blue, 1 + 900_000 - 90, 450), 450);
    }
}
