//! The harness of the operator's control-plane tests
//! (`tests/control_plane.rs`) and its benchmarks (`benches/cold_start.rs`,
//! `benches/load_step.rs`): the workspace's test kit (`testkit/`), which the
//! installer's tests share, and the SFU pool's stand-in processes.

pub use yunhui_testkit::*;

// Each test or bench binary includes this module and uses part of it.
#[allow(dead_code)]
pub mod stand_ins;
