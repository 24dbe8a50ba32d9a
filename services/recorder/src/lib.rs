//! Yunhui's cloud recorder: the media of a meeting into WebM files.
//!
//! # What a recording is
//!
//! One composite picture, as the speaker view shows it, and everyone's
//! audio mixed.
//!
//! **Video is not decoded or re-encoded.** At any moment the recording
//! holds the VP8 frames of one participant, exactly as they sent them:
//! whoever is spotlighted, else the one sharing a screen, else the active
//! speaker, else whoever was shown last, else anyone with video
//! ([`picture::choose`]). Switching to another participant can only happen
//! at a keyframe of theirs, since their other frames refer to pictures the
//! file does not hold; so the recorder asks them for one (a PLI) and keeps
//! writing the current participant's frames until it comes
//! ([`picture::VideoSwitch`]). VP8 allows the picture size to change at a
//! keyframe, and players (ffmpeg, browsers) follow it, so the file's one
//! video track shows the speaker view at no transcoding cost, which keeps a
//! recorder cheap enough to run one per meeting on small nodes. While no one
//! shows video, a stored black keyframe ([`webm::BLACK_KEYFRAME`]) is
//! written about once a second.
//!
//! Frames come from RTP: [`frames::FrameAssembler`] rebuilds each
//! participant's frames and drops them after a lost packet until their
//! next keyframe, so a damaged frame never enters the file.
//!
//! **Audio is decoded and mixed.** Every participant's Opus is decoded at
//! 48 kHz, summed, and encoded again as one Opus stream
//! ([`mixer::AudioMixer`]), 20 ms at a time.
//!
//! # The file
//!
//! [`webm::SegmentWriter`] writes one WebM file per segment, cluster by
//! cluster, so that a recorder killed at any moment leaves a file that
//! plays up to about the last second before the kill.
//!
//! Everything here is pure Rust (the recorder is a static binary for
//! several architectures) and free of I/O except the segment file itself.

pub mod frames;
pub mod internal_api;
pub mod job;
pub mod mixer;
pub mod picture;
pub mod storage;
pub mod stream;
pub mod webm;

pub use job::{Recorder, RecorderConfig, ffmpeg_from_env};
pub use storage::{ObjectStorage, ObjectStoreConfig};
