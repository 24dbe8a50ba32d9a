//! Processes and tasks a test starts, stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cluster::wait;

/// Kills the child process when dropped.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Aborts the task when dropped.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port()
}

/// The `yunhui-signal` binary built next to the running test or bench
/// binary (in `target/<profile>/deps`), else the other profile's.
pub fn signal_binary() -> PathBuf {
    service_binary("yunhui-signal")
}

/// The `yunhui-sfu` binary, found like [`signal_binary`].
pub fn sfu_binary() -> PathBuf {
    service_binary("yunhui-sfu")
}

/// A service binary of the workspace built next to the running test or
/// bench binary (in `target/<profile>/deps`), else the other profile's.
pub fn service_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("executable path");
    let profile = exe.parent().and_then(Path::parent).expect("target dir");
    let target = profile.parent().expect("target dir");
    let candidates = [
        profile.join(name),
        target.join("release").join(name),
        target.join("debug").join(name),
    ];
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{} is missing: build it first with `cargo build -p {name}`",
                candidates[0].display()
            )
        })
}

/// A real signal process on loopback, with its own data directory.
pub struct Signal {
    /// Base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    _process: ChildGuard,
    _data: tempfile::TempDir,
}

impl Signal {
    /// Starts signal on `127.0.0.1:port` (see [`free_port`]), accepting
    /// `internal_key` on its admin API; waits for `/healthz`.
    pub async fn start(port: u16, internal_key: &str) -> Signal {
        Self::start_with(port, internal_key, &[]).await
    }

    /// As [`Signal::start`], with `args` added to its command line (e.g.
    /// `--recorder-url`).
    pub async fn start_with(port: u16, internal_key: &str, args: &[&str]) -> Signal {
        let url = format!("http://127.0.0.1:{port}");
        let data = tempfile::tempdir().expect("data dir");
        let process = ChildGuard(
            Command::new(signal_binary())
                .args([
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--sfu-url",
                    "http://127.0.0.1:9",
                    "--public-url",
                    &url,
                ])
                .arg("--data-dir")
                .arg(data.path())
                .args(args)
                .env(yunhui_proto::env::INTERNAL_KEY, internal_key)
                .env("RUST_LOG", "warn")
                .spawn()
                .expect("signal starts"),
        );
        let http = reqwest::Client::new();
        wait("signal healthz", 30, || {
            let (http, url) = (http.clone(), format!("{url}/healthz"));
            async move {
                http.get(url)
                    .send()
                    .await
                    .ok()?
                    .status()
                    .is_success()
                    .then_some(())
            }
        })
        .await;
        Signal {
            url,
            _process: process,
            _data: data,
        }
    }
}

/// Peak resident memory (`VmHWM`) of process `pid` in KiB, while it runs.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
