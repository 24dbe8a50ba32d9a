//! Real media for the recording tests and benchmark, made and judged by
//! Debian's `ffmpeg` and `ffprobe`: test patterns (a solid colour or a
//! moving picture in VP8, a tone in Opus) and what a player sees in a file
//! (its streams and length, whether it decodes, its colour, its loudness).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs one of the ffmpeg tools and returns its standard output; a missing
/// tool or a failure fails the test, saying what to do.
pub fn tool(name: &str, args: &[&str]) -> String {
    let output = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {name} ({e}): run tests/setup-machine, which installs Debian's ffmpeg")
    });
    assert!(
        output.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A VP8 clip (IVF) of `source` (an ffmpeg lavfi source such as
/// `color=c=red:s=320x240:r=15:d=4`) at `bitrate` (e.g. `200k`), a keyframe
/// every `gop` frames, written to `dir/<name>.ivf`.
pub fn vp8_clip(dir: &Path, name: &str, source: &str, bitrate: &str, gop: u32) -> PathBuf {
    let path = dir.join(format!("{name}.ivf"));
    let gop = gop.to_string();
    tool(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            source,
            "-c:v",
            "libvpx",
            "-g",
            &gop,
            "-b:v",
            bitrate,
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-f",
            "ivf",
            arg(&path),
        ],
    );
    path
}

/// An Opus tone of `hz` lasting `seconds`, in 20 ms packets, one packet to
/// an Ogg page (as the SDK's file media and the recorder's tests read it),
/// written to `dir/<hz>.ogg`.
pub fn opus_tone(dir: &Path, hz: u32, seconds: u32) -> PathBuf {
    let path = dir.join(format!("{hz}.ogg"));
    let source = format!("sine=frequency={hz}:sample_rate=48000:duration={seconds}");
    tool(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            &source,
            "-c:a",
            "libopus",
            "-b:a",
            "32k",
            "-frame_duration",
            "20",
            "-page_duration",
            "20000",
            "-f",
            "ogg",
            arg(&path),
        ],
    );
    path
}

/// ffprobe's view of a file: each stream's (kind, codec), and the length in
/// seconds (none for a file whose writer never finished it).
pub fn probe(file: &Path) -> (Vec<(String, String)>, Option<f64>) {
    let json = tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
            arg(file),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json).expect("ffprobe's JSON");
    let streams = v["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap_or_default().to_string(),
                s["codec_name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let duration = v["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok());
    (streams, duration)
}

/// ffmpeg decodes the whole file: `Err` with what it said otherwise. The
/// decoded frames keep the file's millisecond times (`-enc_time_base -1`):
/// at ffmpeg's default of one tick per frame at a guessed rate, two frames
/// a millisecond apart would collide in the null output, not in the file.
pub fn decodes_cleanly(file: &Path) -> Result<(), String> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i", arg(file)])
        .args(["-enc_time_base", "-1", "-f", "null", "-"])
        .output()
        .map_err(|e| format!("ffmpeg: {e}"))?;
    if output.status.success() && output.stderr.is_empty() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The video frames ffprobe decodes from the file.
pub fn decoded_frames(file: &Path) -> u32 {
    let count = tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
            arg(file),
        ],
    );
    count.trim().parse().unwrap_or(0)
}

/// The average colour of the frame at `at` seconds, as (r, g, b).
pub fn colour_at(file: &Path, at: f64) -> (u8, u8, u8) {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{at:.2}"), "-i", arg(file)])
        .args([
            "-frames:v",
            "1",
            "-vf",
            "scale=1:1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(
        output.status.success() && output.stdout.len() == 3,
        "no frame at {at} s of {}",
        file.display()
    );
    (output.stdout[0], output.stdout[1], output.stdout[2])
}

/// How loud the file's audio is: ffmpeg's volumedetect mean volume, in dB.
pub fn mean_volume(file: &Path) -> f64 {
    let output = Command::new("ffmpeg")
        .args([
            "-v",
            "info",
            "-i",
            arg(file),
            "-af",
            "volumedetect",
            "-vn",
            "-f",
            "null",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    let log = String::from_utf8_lossy(&output.stderr);
    log.lines()
        .find_map(|l| l.split("mean_volume:").nth(1))
        .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no mean volume in {log}"))
}
