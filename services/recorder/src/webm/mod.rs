//! One recording segment as a WebM file: a VP8 video track and an Opus
//! audio track, written as they arrive so that a recorder killed at any
//! moment leaves a playable file.
//!
//! Layout: the EBML header, then a Segment of unknown size holding a
//! reserved SeekHead, Info (with room reserved for its Duration), Tracks,
//! and the Clusters. The Segment's size is unknown until the end, so a file
//! cut anywhere still says "the rest of the file is the segment". Each
//! Cluster, on the other hand, is assembled in memory and written whole when
//! it closes (at each video keyframe, or after [`CLUSTER_SPAN_MS`]), so its
//! size is known when it is written and is written too: the file always
//! ends at a Cluster boundary, except while one cluster is being written at
//! the moment of a kill, and a reader that meets a cut cluster knows it is
//! cut. [`SegmentWriter::finish`] then adds Cues and patches the SeekHead,
//! the Duration and the Segment size, none of which a player needs to play
//! the file.
//!
//! The caller gives each kind (video, audio) in time order, but the two may
//! arrive a little out of step: blocks wait (at most [`INTERLEAVE_WAIT_MS`])
//! until they can be written in time order across both tracks.

mod ebml;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ebml::ids;

/// A VP8 keyframe of a black 640x360 picture ([`BLACK_KEYFRAME_SIZE`]),
/// for the video track while nobody in the meeting shows video: written
/// about once a second, it keeps the track playable and seekable.
///
/// Made once with `ffmpeg -f lavfi -i color=black:s=640x360 -frames:v 1
/// -c:v libvpx -f ivf black.ivf`, keeping the one frame after the IVF
/// file header (32 bytes) and frame header (12 bytes).
pub const BLACK_KEYFRAME: &[u8] = include_bytes!("../assets/black_640x360.vp8");

/// Width and height of [`BLACK_KEYFRAME`].
pub const BLACK_KEYFRAME_SIZE: (u16, u16) = (640, 360);

/// The longest a Cluster spans when no video keyframe closes it first: what
/// a kill can lose, and how often data reaches the disk.
pub const CLUSTER_SPAN_MS: u64 = 1000;

/// How long a block of one kind waits for the other kind to catch up before
/// it is written anyway (the other kind has stalled or is absent). Blocks
/// arriving later than this behind the other kind are written at the last
/// written time, so that timestamps never go backwards in the file.
pub const INTERLEAVE_WAIT_MS: u64 = 500;

/// The Opus encoder's lookahead at 48 kHz (libopus's 2.5 ms plus 4 ms of
/// delay compensation): the samples a player drops from the start (the
/// OpusHead pre-skip, and the track's CodecDelay).
pub const OPUS_PRE_SKIP: u16 = 312;

/// How far before a seek target Opus must start decoding to converge, as
/// Matroska specifies for Opus tracks (80 ms, in nanoseconds).
const OPUS_SEEK_PRE_ROLL_NS: u64 = 80_000_000;

const VIDEO_TRACK: u8 = 1;
const AUDIO_TRACK: u8 = 2;

/// Bytes reserved after the Segment header for the SeekHead `finish` writes.
const SEEK_HEAD_RESERVED: usize = 96;
/// Bytes reserved in Info for the Duration element: 2-byte ID, 1-byte size,
/// 8-byte float.
const DURATION_RESERVED: usize = 11;

/// At most one `sync_data` per this long: each Cluster is handed to the
/// kernel as it closes, and forced to the disk about once a second.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// What a finished segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentSummary {
    /// Milliseconds from the first to the end of the last block.
    pub duration_ms: u64,
    /// Size of the file.
    pub bytes: u64,
}

struct Block {
    track: u8,
    at_ms: u64,
    keyframe: bool,
    data: Vec<u8>,
}

struct OpenCluster {
    start_ms: u64,
    starts_with_keyframe: bool,
    blocks: Vec<u8>,
}

/// Where a segment goes.
enum Output {
    /// A file: synced to the disk about once a second, and finished with
    /// Cues, SeekHead, Duration and the Segment's size.
    File(File),
    /// A live stream (an encoder's input): written cluster by cluster and
    /// never sought back into, so it stays a Segment of unknown size.
    Stream(Box<dyn Write + Send>),
}

/// Writes one WebM file, block by block; see the module documentation.
pub struct SegmentWriter {
    out: Output,
    path: PathBuf,
    /// Where the Segment's size field is, and where its data starts (the
    /// origin of SeekHead and Cues positions).
    segment_size_at: u64,
    segment_data_at: u64,
    seek_head_at: u64,
    duration_at: u64,
    info_at: u64,
    tracks_at: u64,
    /// Bytes written: where the next Cluster goes.
    end: u64,
    video: VecDeque<Block>,
    audio: VecDeque<Block>,
    /// The latest time delivered of each kind (the caller delivers each kind
    /// in order).
    video_delivered_ms: Option<u64>,
    audio_delivered_ms: Option<u64>,
    last_written_ms: u64,
    /// The time of the last block written of each track (by track number).
    track_written_ms: [Option<u64>; 3],
    end_ms: u64,
    cluster: Option<OpenCluster>,
    /// (time, position from the Segment's data) of each Cluster that starts
    /// with a video keyframe.
    cues: Vec<(u64, u64)>,
    last_sync: Instant,
}

impl SegmentWriter {
    /// Creates (or truncates) the file at `path` and writes the headers: a
    /// `width`x`height` VP8 track (the size of its first keyframe; VP8 may
    /// change size at any later keyframe) and a 48 kHz Opus track of
    /// `audio_channels` (1 or 2) channels encoded with [`OPUS_PRE_SKIP`].
    pub fn create(path: &Path, width: u16, height: u16, audio_channels: u8) -> io::Result<Self> {
        check_channels(audio_channels)?;
        let file = File::create(path).map_err(|e| context(e, "creating", path))?;
        Self::start(Output::File(file), path, width, height, audio_channels)
    }

    /// Like [`SegmentWriter::create`], into a live stream: `out` (named
    /// `name` in errors) receives the headers now and each Cluster as it
    /// closes; [`SegmentWriter::finish`] writes what is buffered and
    /// flushes, nothing more.
    pub fn stream(
        out: Box<dyn Write + Send>,
        name: &str,
        width: u16,
        height: u16,
        audio_channels: u8,
    ) -> io::Result<Self> {
        check_channels(audio_channels)?;
        Self::start(
            Output::Stream(out),
            Path::new(name),
            width,
            height,
            audio_channels,
        )
    }

    fn start(
        mut out: Output,
        path: &Path,
        width: u16,
        height: u16,
        audio_channels: u8,
    ) -> io::Result<Self> {
        let mut head = Vec::with_capacity(512);
        ebml::master(&mut head, ids::EBML, |h| {
            ebml::uint(h, ids::EBML_VERSION, 1);
            ebml::uint(h, ids::EBML_READ_VERSION, 1);
            ebml::uint(h, ids::EBML_MAX_ID_LENGTH, 4);
            ebml::uint(h, ids::EBML_MAX_SIZE_LENGTH, 8);
            ebml::string(h, ids::DOC_TYPE, "webm");
            ebml::uint(h, ids::DOC_TYPE_VERSION, 4);
            ebml::uint(h, ids::DOC_TYPE_READ_VERSION, 2);
        });
        ebml::id(&mut head, ids::SEGMENT);
        let segment_size_at = head.len() as u64;
        head.extend_from_slice(&ebml::UNKNOWN_SIZE);
        let segment_data_at = head.len() as u64;

        let seek_head_at = head.len() as u64;
        ebml::void(&mut head, SEEK_HEAD_RESERVED);

        let info_at = head.len() as u64;
        let mut info = Vec::new();
        ebml::uint(&mut info, ids::TIMESTAMP_SCALE, 1_000_000);
        ebml::string(&mut info, ids::MUXING_APP, "yunhui-recorder");
        ebml::string(&mut info, ids::WRITING_APP, "yunhui-recorder");
        let duration_in_info = info.len();
        ebml::void(&mut info, DURATION_RESERVED);
        ebml::id(&mut head, ids::INFO);
        ebml::size(&mut head, info.len() as u64);
        let duration_at = (head.len() + duration_in_info) as u64;
        head.extend_from_slice(&info);

        let tracks_at = head.len() as u64;
        ebml::master(&mut head, ids::TRACKS, |t| {
            ebml::master(t, ids::TRACK_ENTRY, |e| {
                ebml::uint(e, ids::TRACK_NUMBER, VIDEO_TRACK.into());
                ebml::uint(e, ids::TRACK_UID, VIDEO_TRACK.into());
                ebml::uint(e, ids::TRACK_TYPE, 1);
                ebml::uint(e, ids::FLAG_LACING, 0);
                ebml::string(e, ids::CODEC_ID, "V_VP8");
                ebml::master(e, ids::VIDEO, |v| {
                    ebml::uint(v, ids::PIXEL_WIDTH, width.into());
                    ebml::uint(v, ids::PIXEL_HEIGHT, height.into());
                });
            });
            ebml::master(t, ids::TRACK_ENTRY, |e| {
                ebml::uint(e, ids::TRACK_NUMBER, AUDIO_TRACK.into());
                ebml::uint(e, ids::TRACK_UID, AUDIO_TRACK.into());
                ebml::uint(e, ids::TRACK_TYPE, 2);
                ebml::uint(e, ids::FLAG_LACING, 0);
                ebml::string(e, ids::CODEC_ID, "A_OPUS");
                ebml::binary(e, ids::CODEC_PRIVATE, &opus_head(audio_channels));
                ebml::uint(
                    e,
                    ids::CODEC_DELAY,
                    u64::from(OPUS_PRE_SKIP) * 1_000_000_000 / 48_000,
                );
                ebml::uint(e, ids::SEEK_PRE_ROLL, OPUS_SEEK_PRE_ROLL_NS);
                ebml::master(e, ids::AUDIO, |a| {
                    ebml::float(a, ids::SAMPLING_FREQUENCY, 48_000.0);
                    ebml::uint(a, ids::CHANNELS, audio_channels.into());
                });
            });
        });

        match &mut out {
            Output::File(file) => file.write_all(&head).and_then(|()| file.sync_data()),
            Output::Stream(stream) => stream.write_all(&head).and_then(|()| stream.flush()),
        }
        .map_err(|e| context(e, "writing the headers of", path))?;
        Ok(SegmentWriter {
            out,
            path: path.to_owned(),
            segment_size_at,
            segment_data_at,
            seek_head_at,
            duration_at,
            info_at,
            tracks_at,
            end: head.len() as u64,
            video: VecDeque::new(),
            audio: VecDeque::new(),
            video_delivered_ms: None,
            audio_delivered_ms: None,
            last_written_ms: 0,
            track_written_ms: [None; 3],
            end_ms: 0,
            cluster: None,
            cues: Vec::new(),
            last_sync: Instant::now(),
        })
    }

    /// Adds one VP8 frame at `at_ms` milliseconds from the segment's start.
    /// Frames come in time order; a keyframe starts a new Cluster.
    pub fn write_video(&mut self, at_ms: u64, keyframe: bool, frame: &[u8]) -> io::Result<()> {
        if frame.is_empty() {
            tracing::debug!(at_ms, "empty VP8 frame not recorded");
            return Ok(());
        }
        let at_ms = at_ms.max(self.video_delivered_ms.unwrap_or(0));
        self.video_delivered_ms = Some(at_ms);
        self.end_ms = self.end_ms.max(at_ms);
        self.video.push_back(Block {
            track: VIDEO_TRACK,
            at_ms,
            keyframe,
            data: frame.to_vec(),
        });
        self.interleave(false)
    }

    /// Adds one Opus packet at `at_ms` milliseconds from the segment's
    /// start. Packets come in time order.
    pub fn write_audio(&mut self, at_ms: u64, opus: &[u8]) -> io::Result<()> {
        let Some(samples) = opus_packet_samples(opus) else {
            tracing::debug!(
                at_ms,
                bytes = opus.len(),
                "malformed Opus packet not recorded"
            );
            return Ok(());
        };
        let at_ms = at_ms.max(self.audio_delivered_ms.unwrap_or(0));
        self.audio_delivered_ms = Some(at_ms);
        self.end_ms = self.end_ms.max(at_ms + u64::from(samples) / 48);
        self.audio.push_back(Block {
            track: AUDIO_TRACK,
            at_ms,
            keyframe: true,
            data: opus.to_vec(),
        });
        self.interleave(false)
    }

    /// Milliseconds recorded so far (to the end of the latest block given).
    pub fn duration_ms(&self) -> u64 {
        self.end_ms
    }

    /// Writes what is still buffered, the Cues, the SeekHead, the Duration
    /// and the Segment size, and syncs the file to the disk.
    pub fn finish(mut self) -> io::Result<SegmentSummary> {
        self.interleave(true)?;
        self.close_cluster()?;
        let file = match &mut self.out {
            Output::File(file) => file,
            Output::Stream(stream) => {
                stream
                    .flush()
                    .map_err(|e| context(e, "finishing", &self.path))?;
                return Ok(SegmentSummary {
                    duration_ms: self.end_ms,
                    bytes: self.end,
                });
            }
        };

        let mut tail = Vec::new();
        let cues_at = self.end;
        if !self.cues.is_empty() {
            ebml::master(&mut tail, ids::CUES, |c| {
                for (time, position) in &self.cues {
                    ebml::master(c, ids::CUE_POINT, |p| {
                        ebml::uint(p, ids::CUE_TIME, *time);
                        ebml::master(p, ids::CUE_TRACK_POSITIONS, |t| {
                            ebml::uint(t, ids::CUE_TRACK, VIDEO_TRACK.into());
                            ebml::uint(t, ids::CUE_CLUSTER_POSITION, *position);
                        });
                    });
                }
            });
        }
        let mut entries = vec![(ids::INFO, self.info_at), (ids::TRACKS, self.tracks_at)];
        if !tail.is_empty() {
            entries.push((ids::CUES, cues_at));
        }
        let mut seek_head = Vec::new();
        ebml::master(&mut seek_head, ids::SEEK_HEAD, |s| {
            for (element, at) in entries {
                ebml::master(s, ids::SEEK, |e| {
                    let mut id = Vec::new();
                    ebml::id(&mut id, element);
                    ebml::binary(e, ids::SEEK_ID, &id);
                    ebml::uint(e, ids::SEEK_POSITION, at - self.segment_data_at);
                });
            }
        });
        // Three entries take 68 bytes at most: the padding is never short.
        let padding = SEEK_HEAD_RESERVED.saturating_sub(seek_head.len());
        ebml::void(&mut seek_head, padding);
        let mut duration = Vec::new();
        ebml::float(&mut duration, ids::DURATION, self.end_ms as f64);

        let end = self.end + tail.len() as u64;
        let segment_size = ebml::size_8_bytes(end - self.segment_data_at);
        let patches: [(u64, &[u8]); 4] = [
            (self.end, &tail),
            (self.seek_head_at, &seek_head),
            (self.duration_at, &duration),
            (self.segment_size_at, &segment_size),
        ];
        for (at, bytes) in patches {
            file.seek(SeekFrom::Start(at))
                .and_then(|_| file.write_all(bytes))
                .map_err(|e| context(e, "finishing", &self.path))?;
        }
        file.sync_all()
            .map_err(|e| context(e, "syncing", &self.path))?;
        Ok(SegmentSummary {
            duration_ms: self.end_ms,
            bytes: end,
        })
    }

    /// Moves buffered blocks into clusters in time order: a block is written
    /// once the other kind has been delivered up to its time (nothing
    /// earlier can come), or once it waited [`INTERLEAVE_WAIT_MS`], or on
    /// `flush`.
    fn interleave(&mut self, flush: bool) -> io::Result<()> {
        loop {
            let next = match (self.video.front(), self.audio.front()) {
                (None, None) => return Ok(()),
                // At equal times video goes first, so that a keyframe opens
                // its cluster.
                (Some(v), Some(a)) => {
                    if v.at_ms <= a.at_ms {
                        self.video.pop_front()
                    } else {
                        self.audio.pop_front()
                    }
                }
                (Some(v), None) => {
                    let ready = flush
                        || self.audio_delivered_ms.is_some_and(|a| a >= v.at_ms)
                        || self.video_delivered_ms.unwrap_or(0) >= v.at_ms + INTERLEAVE_WAIT_MS;
                    if !ready {
                        return Ok(());
                    }
                    self.video.pop_front()
                }
                (None, Some(a)) => {
                    let ready = flush
                        || self.video_delivered_ms.is_some_and(|v| v >= a.at_ms)
                        || self.audio_delivered_ms.unwrap_or(0) >= a.at_ms + INTERLEAVE_WAIT_MS;
                    if !ready {
                        return Ok(());
                    }
                    self.audio.pop_front()
                }
            };
            if let Some(block) = next {
                self.append(block)?;
            }
        }
    }

    fn append(&mut self, block: Block) -> io::Result<()> {
        // Never back in time, and never two blocks of a track at the same
        // time (players take that for a broken stream): a frame of a
        // participant switched to may carry the time of the last one shown.
        let track_written = &mut self.track_written_ms[usize::from(block.track)];
        let at_ms = block
            .at_ms
            .max(self.last_written_ms)
            .max(track_written.map_or(0, |t| t + 1));
        *track_written = Some(at_ms);
        let video_keyframe = block.track == VIDEO_TRACK && block.keyframe;
        let close = match &self.cluster {
            None => false,
            Some(c) => video_keyframe || at_ms - c.start_ms >= CLUSTER_SPAN_MS,
        };
        if close {
            self.close_cluster()?;
        }
        let cluster = self.cluster.get_or_insert_with(|| OpenCluster {
            start_ms: at_ms,
            starts_with_keyframe: video_keyframe,
            blocks: Vec::new(),
        });
        // Below CLUSTER_SPAN_MS, so within the block's signed 16-bit offset.
        let relative = i16::try_from(at_ms - cluster.start_ms).unwrap_or(i16::MAX);
        ebml::id(&mut cluster.blocks, ids::SIMPLE_BLOCK);
        ebml::size(&mut cluster.blocks, 4 + block.data.len() as u64);
        cluster.blocks.push(0x80 | block.track);
        cluster.blocks.extend_from_slice(&relative.to_be_bytes());
        cluster
            .blocks
            .push(if block.keyframe { 0x80 } else { 0x00 });
        cluster.blocks.extend_from_slice(&block.data);
        self.last_written_ms = at_ms;
        Ok(())
    }

    /// Writes the open Cluster to the file and hands it to the kernel
    /// (syncing it to the disk if the last sync is a second old).
    fn close_cluster(&mut self) -> io::Result<()> {
        let Some(cluster) = self.cluster.take() else {
            return Ok(());
        };
        let mut body = Vec::with_capacity(cluster.blocks.len() + 16);
        ebml::uint(&mut body, ids::TIMESTAMP, cluster.start_ms);
        body.extend_from_slice(&cluster.blocks);
        let mut bytes = Vec::with_capacity(body.len() + 12);
        ebml::binary(&mut bytes, ids::CLUSTER, &body);
        match &mut self.out {
            Output::File(file) => file.write_all(&bytes).and_then(|()| file.flush()),
            Output::Stream(stream) => stream.write_all(&bytes).and_then(|()| stream.flush()),
        }
        .map_err(|e| context(e, "writing a cluster to", &self.path))?;
        if let Output::File(file) = &mut self.out
            && self.last_sync.elapsed() >= SYNC_INTERVAL
        {
            file.sync_data()
                .map_err(|e| context(e, "syncing", &self.path))?;
            self.last_sync = Instant::now();
        }
        if cluster.starts_with_keyframe {
            self.cues
                .push((cluster.start_ms, self.end - self.segment_data_at));
        }
        self.end += bytes.len() as u64;
        Ok(())
    }
}

fn check_channels(audio_channels: u8) -> io::Result<()> {
    if (1..=2).contains(&audio_channels) {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("a recording has mono or stereo audio, not {audio_channels} channels"),
    ))
}

/// The OpusHead of RFC 7845 section 5.1, which Matroska's A_OPUS takes as
/// its CodecPrivate: version 1, channels, pre-skip, the input rate, no
/// gain, channel mapping family 0 (mono or stereo).
fn opus_head(channels: u8) -> [u8; 19] {
    let mut head = [0u8; 19];
    head[..8].copy_from_slice(b"OpusHead");
    head[8] = 1;
    head[9] = channels;
    head[10..12].copy_from_slice(&OPUS_PRE_SKIP.to_le_bytes());
    head[12..16].copy_from_slice(&48_000u32.to_le_bytes());
    head
}

/// Samples (at 48 kHz) an Opus packet holds, read from its TOC byte
/// (RFC 6716 section 3.1); `None` for an empty or malformed packet.
pub fn opus_packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let per_frame = match config {
        // SILK: 10, 20, 40, 60 ms.
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        // Hybrid: 10, 20 ms.
        12..=15 => [480, 960][usize::from(config % 2)],
        // CELT: 2.5, 5, 10, 20 ms.
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3f),
    };
    let samples = per_frame * frames;
    // A packet holds at most 120 ms.
    (frames > 0 && samples <= 5760).then_some(samples)
}

fn context(error: io::Error, doing: &str, path: &Path) -> io::Error {
    io::Error::new(
        error.kind(),
        format!("{doing} the recording {}: {error}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> Vec<u8> {
        std::fs::read(path).expect("the segment file is readable")
    }

    /// Finds `needle` in `haystack`, returning its position.
    fn position(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// Every SimpleBlock as (track, cluster time + relative time).
    fn blocks(file: &[u8]) -> Vec<(u8, u64)> {
        let mut found = Vec::new();
        let mut at = 0;
        let mut cluster_ms = 0;
        while let Some(p) = position(&file[at..], &[0x1F, 0x43, 0xB6, 0x75]) {
            let start = at + p;
            // Known-size cluster: 4-byte id, then size, then the Timestamp.
            let (size, len) = read_size(&file[start + 4..]);
            let body = &file[start + 4 + len..start + 4 + len + size as usize];
            let mut i = 0;
            while i < body.len() {
                let id = body[i];
                let (size, len) = read_size(&body[i + 1..]);
                let data = &body[i + 1 + len..i + 1 + len + size as usize];
                match id {
                    0xE7 => cluster_ms = data.iter().fold(0u64, |v, b| v << 8 | u64::from(*b)),
                    0xA3 => {
                        let relative = i16::from_be_bytes([data[1], data[2]]);
                        found.push((data[0] & 0x7f, cluster_ms + relative as u64));
                    }
                    other => panic!("unexpected element {other:#x} in a cluster"),
                }
                i += 1 + len + size as usize;
            }
            at = start + 4 + len + size as usize;
        }
        found
    }

    fn read_size(bytes: &[u8]) -> (u64, usize) {
        let len = bytes[0].leading_zeros() as usize + 1;
        let mut value = u64::from(bytes[0]) & (0xff >> len);
        for b in &bytes[1..len] {
            value = value << 8 | u64::from(*b);
        }
        (value, len)
    }

    /// A 20 ms CELT packet (config 31, one frame).
    const OPUS_20MS: &[u8] = &[0xF8, 0xFF, 0xFE];

    #[test]
    fn opus_packet_lengths_are_read_from_the_toc() {
        assert_eq!(opus_packet_samples(OPUS_20MS), Some(960));
        // SILK 60 ms, two frames (code 1).
        assert_eq!(opus_packet_samples(&[(3 << 3) | 1, 0]), Some(5760));
        // CELT 2.5 ms, code 3 with 4 frames.
        assert_eq!(opus_packet_samples(&[16 << 3 | 3, 4]), Some(480));
        // Code 3 with no count byte, zero frames, or over 120 ms.
        assert_eq!(opus_packet_samples(&[16 << 3 | 3]), None);
        assert_eq!(opus_packet_samples(&[16 << 3 | 3, 0]), None);
        assert_eq!(opus_packet_samples(&[(3 << 3) | 3, 3]), None);
        assert_eq!(opus_packet_samples(&[]), None);
    }

    #[test]
    fn the_opus_track_carries_an_opus_head_and_its_delays() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("head.webm");
        SegmentWriter::create(&path, 640, 360, 2).expect("created");
        let file = read(&path);
        let head = position(&file, b"OpusHead").expect("OpusHead in CodecPrivate");
        assert_eq!(
            &file[head - 3..head],
            &[0x63, 0xA2, 0x93],
            "CodecPrivate of 19 bytes"
        );
        assert_eq!(file[head + 9], 2, "channels");
        assert_eq!(
            &file[head + 10..head + 12],
            &312u16.to_le_bytes(),
            "pre-skip"
        );
        // CodecDelay 6.5 ms and SeekPreRoll 80 ms, in nanoseconds.
        assert!(position(&file, &[0x56, 0xAA, 0x83, 0x63, 0x2E, 0xA0]).is_some());
        assert!(position(&file, &[0x56, 0xBB, 0x84, 0x04, 0xC4, 0xB4, 0x00]).is_some());
        assert!(position(&file, b"V_VP8").is_some() && position(&file, b"A_OPUS").is_some());
        // The segment is open-ended until finished.
        assert!(position(&file, &[0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF]).is_some());
    }

    #[test]
    fn mono_or_stereo_only() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let error = SegmentWriter::create(&dir.path().join("x.webm"), 640, 360, 6)
            .err()
            .expect("6 channels refused");
        assert!(error.to_string().contains("6 channels"), "{error}");
    }

    #[test]
    fn audio_and_video_arriving_out_of_step_are_written_in_time_order() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("order.webm");
        let mut writer = SegmentWriter::create(&path, 640, 360, 1).expect("created");
        // Audio runs 100 ms ahead of video, then video catches up.
        for ms in (0..=300).step_by(20) {
            writer.write_audio(ms, OPUS_20MS).expect("audio");
        }
        for ms in (0..=400).step_by(50) {
            writer
                .write_video(ms, ms == 0, BLACK_KEYFRAME)
                .expect("video");
        }
        for ms in (320..=400).step_by(20) {
            writer.write_audio(ms, OPUS_20MS).expect("audio");
        }
        let summary = writer.finish().expect("finished");
        assert_eq!(summary.duration_ms, 420);
        let written = blocks(&read(&path));
        assert_eq!(written.len(), 21 + 9);
        assert!(
            written.windows(2).all(|w| w[0].1 <= w[1].1),
            "blocks in time order: {written:?}"
        );
        assert_eq!(written.iter().filter(|(track, _)| *track == 1).count(), 9);
    }

    #[test]
    fn two_frames_given_the_same_time_are_written_a_millisecond_apart() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("same.webm");
        let mut writer = SegmentWriter::create(&path, 640, 360, 1).expect("created");
        writer.write_video(0, true, BLACK_KEYFRAME).expect("video");
        writer
            .write_video(40, false, BLACK_KEYFRAME)
            .expect("video");
        writer.write_video(40, true, BLACK_KEYFRAME).expect("video");
        writer
            .write_video(30, false, BLACK_KEYFRAME)
            .expect("video");
        writer.finish().expect("finished");
        assert_eq!(blocks(&read(&path)), [(1, 0), (1, 40), (1, 41), (1, 42)]);
    }

    #[test]
    fn each_video_keyframe_opens_a_cluster_and_long_stretches_are_split() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("clusters.webm");
        let mut writer = SegmentWriter::create(&path, 640, 360, 1).expect("created");
        // Keyframes at 0 and 500 ms; then 2.5 s without one.
        for ms in (0..3000).step_by(100) {
            writer
                .write_video(ms, ms == 0 || ms == 500, BLACK_KEYFRAME)
                .expect("video");
            writer.write_audio(ms, OPUS_20MS).expect("audio");
        }
        let summary = writer.finish().expect("finished");
        let file = read(&path);
        assert_eq!(summary.bytes, file.len() as u64);
        let cluster_times: Vec<u64> = {
            let mut times = Vec::new();
            let mut at = 0;
            while let Some(p) = position(&file[at..], &[0x1F, 0x43, 0xB6, 0x75]) {
                at += p + 4;
                let (_, len) = read_size(&file[at..]);
                let ts = &file[at + len..];
                assert_eq!(ts[0], 0xE7, "a cluster starts with its Timestamp");
                let (size, l) = read_size(&ts[1..]);
                times.push(
                    ts[1 + l..1 + l + size as usize]
                        .iter()
                        .fold(0, |v, b| v << 8 | u64::from(*b)),
                );
            }
            times
        };
        assert_eq!(cluster_times, [0, 500, 1500, 2500]);
        // Cues point at the two clusters that start with a keyframe.
        // The last occurrence: the SeekHead names the Cues ID too.
        let cues = file
            .windows(4)
            .rposition(|w| w == [0x1C, 0x53, 0xBB, 0x6B])
            .expect("Cues")
            + 4;
        let (size, len) = read_size(&file[cues..]);
        let body = &file[cues + len..cues + len + size as usize];
        let mut cue_times = Vec::new();
        let mut i = 0;
        while i < body.len() {
            assert_eq!(body[i], 0xBB, "only CuePoints in Cues");
            let (size, len) = read_size(&body[i + 1..]);
            let point = &body[i + 1 + len..];
            assert_eq!(point[0], 0xB3, "a CuePoint starts with its CueTime");
            let (time_size, time_len) = read_size(&point[1..]);
            let time = &point[1 + time_len..1 + time_len + time_size as usize];
            cue_times.push(time.iter().fold(0u64, |v, b| v << 8 | u64::from(*b)));
            i += 1 + len + size as usize;
        }
        assert_eq!(cue_times, [0, 500]);
    }

    #[test]
    fn finishing_patches_the_duration_and_the_segment_size() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("finished.webm");
        let mut writer = SegmentWriter::create(&path, 640, 360, 1).expect("created");
        writer.write_video(0, true, BLACK_KEYFRAME).expect("video");
        writer.write_audio(1480, OPUS_20MS).expect("audio");
        assert_eq!(writer.duration_ms(), 1500);
        writer.finish().expect("finished");
        let file = read(&path);
        let duration = position(&file, &[0x44, 0x89, 0x88]).expect("Duration in Info");
        let value = f64::from_be_bytes(
            file[duration + 3..duration + 11]
                .try_into()
                .expect("8 bytes"),
        );
        assert_eq!(value, 1500.0);
        let segment = position(&file, &[0x18, 0x53, 0x80, 0x67]).expect("Segment");
        let (size, len) = read_size(&file[segment + 4..]);
        assert_eq!(len, 8);
        assert_eq!(segment + 4 + 8 + size as usize, file.len());
        assert!(
            position(&file, &[0x11, 0x4D, 0x9B, 0x74]).is_some(),
            "SeekHead"
        );
    }
}
