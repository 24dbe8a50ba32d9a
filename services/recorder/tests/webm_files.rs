//! Recordings checked by a real player: ffmpeg makes the inputs (a red and a
//! blue VP8 clip, a 440 Hz and an 880 Hz Opus tone), they go through the
//! recorder as they would from the meeting (RTP packets, frame assembly,
//! the picture switch, the mixer, the segment writer), and ffprobe and
//! ffmpeg read the file back.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use bytes::Bytes;
use rtc::media::io::ivf_reader::IVFReader;
use rtc::media::io::ogg_reader::OggReader;
use rtc::rtp::codec::vp8::Vp8Payloader;
use rtc::rtp::packetizer::Payloader;
use yunhui_recorder::frames::FrameAssembler;
use yunhui_recorder::mixer::AudioMixer;
use yunhui_recorder::picture::VideoSwitch;
use yunhui_recorder::webm::{SegmentSummary, SegmentWriter};
use yunhui_testkit::media;

/// Runs one of the ffmpeg tools; a missing tool fails the test with what
/// to do about it.
fn run(tool: &str, args: &[&str]) -> Output {
    let output = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {tool} ({e}): run tests/setup-machine, which installs ffmpeg")
    });
    assert!(
        output.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A 6 s 320x240 VP8 clip of one colour at 15 fps, a keyframe each second.
fn colour_clip(dir: &Path, colour: &str) -> PathBuf {
    let source = format!("color=c={colour}:s=320x240:r=15:d=6");
    media::vp8_clip(dir, colour, &source, "300k", 15)
}

/// A 6 s Opus tone in 20 ms packets, one packet to an Ogg page.
fn tone(dir: &Path, hz: u32) -> PathBuf {
    media::opus_tone(dir, hz, 6)
}

/// The clip's frames as (milliseconds, VP8 frame).
fn ivf_frames(path: &Path) -> Vec<(u64, Bytes)> {
    let file = File::open(path).expect("the clip ffmpeg wrote");
    let (mut reader, header) = IVFReader::new(file).expect("an IVF file");
    let mut frames = Vec::new();
    while let Ok((frame, frame_header)) = reader.parse_next_frame() {
        let ms = frame_header.timestamp * 1000 * u64::from(header.timebase_numerator)
            / u64::from(header.timebase_denominator);
        frames.push((ms, frame.freeze()));
    }
    assert_eq!(frames.len(), 90, "6 s at 15 fps");
    frames
}

/// The tone's Opus packets, each 20 ms.
fn opus_packets(path: &Path) -> Vec<Bytes> {
    let file = File::open(path).expect("the tone ffmpeg wrote");
    let (mut reader, _head) = OggReader::new(file, true).expect("an Ogg Opus file");
    let mut packets = Vec::new();
    let mut granule = 0;
    while let Ok((payload, page)) = reader.parse_next_page() {
        if payload.starts_with(b"OpusTags") {
            continue;
        }
        // The reader gives pages, not packets: each must hold one packet
        // (the last page's granule is trimmed to the input's end).
        let samples = page.granule_position - granule;
        assert!(
            samples <= 960,
            "{samples} samples in one page: more than one packet"
        );
        granule = page.granule_position;
        packets.push(payload.freeze());
    }
    assert!(
        packets.len() >= 299,
        "6 s of 20 ms packets, got {}",
        packets.len()
    );
    packets
}

/// One participant's media as the SFU would forward it.
struct Participant {
    id: &'static str,
    frames: Vec<(u64, Bytes)>,
    next_frame: usize,
    packets: Vec<Bytes>,
    assembler: FrameAssembler,
    sequence_number: u16,
}

impl Participant {
    fn new(id: &'static str, clip: &Path, tone: &Path) -> Self {
        Participant {
            id,
            frames: ivf_frames(clip),
            next_frame: 0,
            packets: opus_packets(tone),
            assembler: FrameAssembler::new(),
            sequence_number: 40_000,
        }
    }

    /// The frames due by `now_ms`, sent as RTP packets and reassembled:
    /// (milliseconds, frame).
    fn frames_due(&mut self, now_ms: u64) -> Vec<(u64, yunhui_recorder::frames::Vp8Frame)> {
        let mut out = Vec::new();
        let mut payloader = Vp8Payloader::default();
        while let Some((ms, frame)) = self.frames.get(self.next_frame).cloned() {
            if ms > now_ms {
                break;
            }
            self.next_frame += 1;
            let payloads = payloader.payload(1200, &frame).expect("packetized");
            let last = payloads.len() - 1;
            for (i, payload) in payloads.iter().enumerate() {
                self.sequence_number = self.sequence_number.wrapping_add(1);
                let rtp_timestamp = (ms * 90) as u32;
                if let Some(frame) =
                    self.assembler
                        .push(self.sequence_number, rtp_timestamp, i == last, payload)
                {
                    out.push((ms, frame));
                }
            }
        }
        out
    }
}

/// What the picture switch did around the change to blue.
#[derive(Default)]
struct Switching {
    /// Times of blue frames offered after blue was wanted but not written.
    blue_refused: Vec<u64>,
    /// Time and keyframe flag of the first blue frame written.
    first_blue: Option<(u64, bool)>,
    /// Time of the last red frame written.
    last_red: Option<u64>,
}

/// Records red (with the 440 Hz tone) then blue (880 Hz), wanting blue from
/// 2.5 s, for `seconds`; audio reaches the writer 40 ms after video, as it
/// may from the mixer's clock. Returns the writer unfinished.
fn record(dir: &Path, path: &Path, seconds: u64) -> (SegmentWriter, Switching) {
    let mut red = Participant::new("red", &colour_clip(dir, "red"), &tone(dir, 440));
    let mut blue = Participant::new("blue", &colour_clip(dir, "blue"), &tone(dir, 880));
    let mut writer = SegmentWriter::create(path, 320, 240, 2).expect("segment created");
    let mut mixer = AudioMixer::new(2).expect("mixer");
    let mut switch = VideoSwitch::new();
    let mut switching = Switching::default();
    let mut late_audio = std::collections::VecDeque::new();
    let start = Instant::now();

    for tick in 0..seconds * 50 {
        let now_ms = tick * 20;
        let wanted = if now_ms < 2500 { "red" } else { "blue" };
        switch.set_wanted(Some(wanted), start);

        for participant in [&mut red, &mut blue] {
            for (ms, frame) in participant.frames_due(now_ms) {
                if switch.offer(participant.id, &frame) {
                    writer
                        .write_video(ms, frame.keyframe, &frame.data)
                        .expect("video written");
                    if participant.id == "red" {
                        switching.last_red = Some(ms);
                    } else if switching.first_blue.is_none() {
                        switching.first_blue = Some((ms, frame.keyframe));
                    }
                } else if participant.id == "blue" && ms >= 2500 {
                    switching.blue_refused.push(ms);
                }
            }
            let index = tick as usize;
            if let Some(packet) = participant.packets.get(index) {
                mixer.push(participant.id, index as u16, (index * 960) as u32, packet);
            }
        }
        late_audio.push_back((now_ms, mixer.next_packet()));
        if late_audio.len() > 2
            && let Some((ms, packet)) = late_audio.pop_front()
        {
            writer.write_audio(ms, &packet).expect("audio written");
        }
    }
    for (ms, packet) in late_audio {
        writer.write_audio(ms, &packet).expect("audio written");
    }
    (writer, switching)
}

/// The colour of the frame shown at `seconds`, as one averaged RGB pixel.
fn colour_at(path: &Path, seconds: &str) -> [u8; 3] {
    let (r, g, b) = media::colour_at(path, seconds.parse().expect("seconds"));
    [r, g, b]
}

/// Video frames a player decodes from the file, and what it said.
fn decoded_frames(path: &Path) -> (usize, String) {
    let output = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-i",
            arg(path),
            "-map",
            "0:v",
            "-f",
            "framemd5",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    let frames = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with('#'))
        .count();
    (frames, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_recording_plays_with_the_speaker_view_and_the_mixed_audio() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("meeting.webm");
    let (writer, switching) = record(dir.path(), &path, 6);
    let summary: SegmentSummary = writer.finish().expect("segment finished");
    assert!(summary.duration_ms.abs_diff(6000) <= 100, "{summary:?}");
    assert_eq!(
        summary.bytes,
        std::fs::metadata(&path).expect("the file").len()
    );

    // The switch to blue waited for blue's keyframe at 3 s.
    assert_eq!(switching.first_blue, Some((3000, true)));
    assert!(
        switching
            .blue_refused
            .iter()
            .any(|ms| (2500..3000).contains(ms))
    );
    assert!(
        switching
            .last_red
            .is_some_and(|ms| (2900..=3000).contains(&ms))
    );

    let probe = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
            arg(&path),
        ],
    );
    let probe: serde_json::Value = serde_json::from_slice(&probe.stdout).expect("ffprobe's JSON");
    let streams = probe["streams"].as_array().expect("streams");
    let kinds: Vec<(&str, &str)> = streams
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap_or_default(),
                s["codec_name"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(kinds, [("video", "vp8"), ("audio", "opus")]);
    assert_eq!(streams[0]["width"], 320);
    assert_eq!(streams[1]["sample_rate"], "48000");
    assert_eq!(streams[1]["channels"], 2);
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("a duration");
    assert!((duration - 6.0).abs() <= 0.5, "duration {duration} s");

    // Decodes to the end without a single complaint. The decoded frames
    // keep the file's millisecond times (`-enc_time_base -1`): in ffmpeg's
    // default of one tick per frame at the guessed 15 fps, blue's first
    // frame, 1 ms after red's last, would collide with it.
    let check = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-xerror",
            "-i",
            arg(&path),
            "-enc_time_base",
            "-1",
            "-f",
            "null",
            "-",
        ],
    );
    assert!(
        check.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let (frames, _) = decoded_frames(&path);
    assert!(frames >= 88, "{frames} video frames decoded");

    let red_ish = |[r, g, b]: [u8; 3]| r > 180 && g < 60 && b < 60;
    let blue_ish = |[r, g, b]: [u8; 3]| b > 180 && r < 60 && g < 60;
    for (at, red) in [("1", true), ("2.8", true), ("3.3", false), ("5", false)] {
        let pixel = colour_at(&path, at);
        let ok = if red { red_ish(pixel) } else { blue_ish(pixel) };
        assert!(
            ok,
            "at {at} s the picture is {pixel:?}, expected {}",
            if red { "red" } else { "blue" }
        );
    }

    let volume = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-i",
            arg(&path),
            "-vn",
            "-af",
            "volumedetect",
            "-f",
            "null",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    let report = String::from_utf8_lossy(&volume.stderr);
    let mean: f64 = report
        .lines()
        .find_map(|line| line.split("mean_volume:").nth(1))
        .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no mean_volume in {report}"));
    assert!(mean > -40.0, "the mix is silent: mean volume {mean} dB");
}

#[test]
fn a_recorder_killed_mid_recording_leaves_a_playable_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("killed.webm");
    let (writer, _) = record(dir.path(), &path, 5);
    // A kill: nothing after the last cluster written reaches the file (the
    // writer has no Drop that writes; forgetting it makes that explicit).
    std::mem::forget(writer);

    let (frames, complaints) = decoded_frames(&path);
    assert!(frames >= 60, "{frames} frames decoded from 5 s recorded");
    assert!(complaints.is_empty(), "{complaints}");
    let probe = run(
        "ffprobe",
        &["-v", "error", "-show_streams", "-of", "json", arg(&path)],
    );
    let probe: serde_json::Value = serde_json::from_slice(&probe.stdout).expect("ffprobe's JSON");
    assert_eq!(probe["streams"].as_array().map(Vec::len), Some(2));

    // A kill in the middle of writing a cluster: the file ends anywhere.
    let bytes = std::fs::read(&path).expect("the file");
    let cut = dir.path().join("cut.webm");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 5 + 37]).expect("cut copy");
    let (frames, _) = decoded_frames(&cut);
    assert!(
        frames >= 30,
        "{frames} frames decoded from a file cut at 3/5"
    );
}
