//! The harness of the operator's control-plane tests
//! (`tests/control_plane.rs`) and its cold-start benchmark
//! (`benches/cold_start.rs`): the workspace's test kit (`testkit/`), which the
//! installer's tests share.

pub use yunhui_testkit::*;
