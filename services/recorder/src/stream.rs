//! Live streaming: the recording's WebM, as it is written, into ffmpeg,
//! which transcodes it to what every RTMP service takes (H.264 and AAC in
//! FLV) and pushes it.
//!
//! # Why ffmpeg, as a child process
//!
//! RTMP services expect H.264 and AAC, and the meeting's media is VP8 and
//! Opus, so a live stream is decoded and encoded again, unlike a recording.
//! That takes a VP8 decoder, an H.264 encoder, an AAC encoder and an
//! RTMP(S) client: ffmpeg (libvpx, libx264, its native AAC and RTMP) is the
//! well-kept implementation of all four, and running it as a child keeps
//! its C code out of the recorder's process (a crash of the encoder is a
//! retried stream, not a lost recorder) and lets the operating system
//! account for its CPU. The recorder image carries a static ffmpeg
//! (`YUNHUI_FFMPEG`); `yunhui up` uses the one on the `PATH`.
//!
//! The input is the same WebM a recording file gets
//! ([`crate::webm::SegmentWriter::stream`]): the speaker view's VP8 frames
//! as forwarded (which may change size at a keyframe: ffmpeg scales and
//! pads every picture to [`WIDTH`]x[`HEIGHT`]) and the mixed Opus.
//!
//! # One connection
//!
//! [`LiveEncoder`] is one ffmpeg process, so one connection to the service.
//! Its [`LiveEncoder::state`] goes from [`EncoderState::Connecting`] to
//! [`EncoderState::Live`] once bytes have gone out (ffmpeg's `-progress`
//! reports `total_size`), and to [`EncoderState::Exited`] when ffmpeg ends
//! — the service refused or dropped the connection, or the input ended. The
//! job ([`crate::job`]) retries with a new one.

use std::io::{self, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use yunhui_proto::recording::redact_stream_url;

/// Width of the streamed picture.
pub const WIDTH: u32 = 1280;
/// Height of the streamed picture.
pub const HEIGHT: u32 = 720;
/// Clusters (about a second each) that may wait for ffmpeg: more means it
/// has fallen behind (or hangs), and the connection is started again.
const BACKLOG_CLUSTERS: usize = 32;
/// How long a stopped stream's ffmpeg may take to send what it has and
/// close the connection before it is killed.
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where one connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncoderState {
    /// ffmpeg runs; nothing has reached the service yet.
    Connecting,
    /// The stream is going out.
    Live,
    /// ffmpeg ended, and why (its last error, the key left out).
    Exited(String),
}

/// ffmpeg's arguments: WebM on stdin; H.264 (baseline-friendly `main`
/// profile, 2 s keyframes for the services' segmenters) and AAC in FLV to
/// `url`; progress on stdout, errors only on stderr.
pub fn ffmpeg_args(url: &str) -> Vec<String> {
    let picture = format!(
        "scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease,\
         pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=30"
    );
    [
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
        "-stats_period",
        "1",
        "-probesize",
        "1000000",
        "-analyzeduration",
        "1000000",
        "-f",
        "matroska",
        "-i",
        "pipe:0",
        "-map",
        "0:v:0",
        "-map",
        "0:a:0",
        "-vf",
        &picture,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-profile:v",
        "main",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "60",
        "-keyint_min",
        "60",
        "-sc_threshold",
        "0",
        "-b:v",
        "2500k",
        "-maxrate",
        "2500k",
        "-bufsize",
        "5000k",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ar",
        "44100",
        "-ac",
        "2",
        "-f",
        "flv",
        "-flvflags",
        "no_duration_filesize",
        url,
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// One ffmpeg process pushing to the service.
pub struct LiveEncoder {
    child: Child,
    input: Option<mpsc::Sender<Vec<u8>>>,
    state: watch::Receiver<EncoderState>,
}

impl LiveEncoder {
    /// Starts `ffmpeg` pushing to `url`. An error means ffmpeg could not
    /// be run at all (it is missing, most likely): retrying will not help.
    pub fn start(ffmpeg: &Path, url: &str) -> io::Result<LiveEncoder> {
        let mut child = Command::new(ffmpeg)
            .args(ffmpeg_args(url))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "live streaming runs ffmpeg, which could not be started from {}: {e}",
                        ffmpeg.display()
                    ),
                )
            })?;
        let (state_tx, state) = watch::channel(EncoderState::Connecting);
        let (input, mut backlog) = mpsc::channel::<Vec<u8>>(BACKLOG_CLUSTERS);
        let mut stdin = child.stdin.take().expect("stdin is piped");
        tokio::spawn(async move {
            while let Some(bytes) = backlog.recv().await {
                if stdin.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            // Dropping stdin ends ffmpeg's input: it sends what it has and
            // closes the connection.
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let live = state_tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let sent = line
                    .strip_prefix("total_size=")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0);
                if sent {
                    live.send_if_modified(|s| {
                        let connecting = *s == EncoderState::Connecting;
                        if connecting {
                            *s = EncoderState::Live;
                        }
                        connecting
                    });
                }
            }
        });
        let stderr = child.stderr.take().expect("stderr is piped");
        let secret = url.to_string();
        let redacted = redact_stream_url(url);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut last = None;
            while let Ok(Some(line)) = lines.next_line().await {
                let line = line.replace(&secret, &redacted);
                tracing::debug!(ffmpeg = %line, "live stream encoder");
                if !line.trim().is_empty() {
                    last = Some(line);
                }
            }
            // stderr closes when ffmpeg exits.
            let why = last.unwrap_or_else(|| "the encoder ended".to_string());
            let _ = state_tx.send(EncoderState::Exited(why));
        });
        Ok(LiveEncoder {
            child,
            input: Some(input),
            state,
        })
    }

    /// Where the connection stands.
    pub fn state(&self) -> EncoderState {
        let state = self.state.borrow().clone();
        if matches!(state, EncoderState::Exited(_)) {
            return state;
        }
        // stderr may still be draining when the input side already broke.
        if self.input.as_ref().is_none_or(|i| i.is_closed()) {
            return EncoderState::Exited("the encoder stopped reading".into());
        }
        state
    }

    /// ffmpeg's input, for [`crate::webm::SegmentWriter::stream`]. Writes
    /// never block: a backlog of more than [`BACKLOG_CLUSTERS`] clusters,
    /// or an ffmpeg that stopped reading, is an error.
    pub fn input(&self) -> Box<dyn Write + Send> {
        Box::new(EncoderInput {
            sender: self.input.clone(),
        })
    }

    /// Ends the input and waits (at most [`FINISH_TIMEOUT`]) for ffmpeg to
    /// send what it has and close the connection; kills it after that.
    pub async fn finish(mut self) {
        self.input = None;
        match tokio::time::timeout(FINISH_TIMEOUT, self.child.wait()).await {
            Ok(_) => {}
            Err(_) => {
                tracing::warn!("the live stream's encoder did not stop in time; killed");
                let _ = self.child.kill().await;
            }
        }
    }
}

/// The writing end of ffmpeg's input (see [`LiveEncoder::input`]).
struct EncoderInput {
    sender: Option<mpsc::Sender<Vec<u8>>>,
}

impl Write for EncoderInput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(sender) = &self.sender else {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the encoder is stopped",
            ));
        };
        match sender.try_send(buf.to_vec()) {
            Ok(()) => Ok(buf.len()),
            Err(mpsc::error::TrySendError::Full(_)) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "the encoder fell behind the meeting",
            )),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.sender = None;
                Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the encoder stopped reading",
                ))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The wait before attempt `failures + 1` after `failures` failed
/// connections in a row: 1 s, doubling, at most 30 s.
pub fn retry_delay(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.min(5)).min(Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_pushes_h264_and_aac_in_flv_to_the_url_last() {
        let args = ffmpeg_args("rtmp://live.example.com/app/key");
        let after = |flag: &str| {
            let at = args.iter().position(|a| a == flag).unwrap();
            args[at + 1].as_str()
        };
        assert_eq!(after("-c:v"), "libx264");
        assert_eq!(after("-c:a"), "aac");
        assert_eq!(after("-f"), "matroska");
        assert_eq!(after("-i"), "pipe:0");
        assert_eq!(args.last().unwrap(), "rtmp://live.example.com/app/key");
        assert!(after("-vf").contains("pad=1280:720"));
    }

    #[test]
    fn retries_back_off_to_half_a_minute() {
        let delays: Vec<u64> = (0..8).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
