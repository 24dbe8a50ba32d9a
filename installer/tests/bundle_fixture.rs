//! Shared fixture for the bundle and registry tests (a module of tests/installer.rs):
//! a signing key (ed25519, or SM2 for the xinchuang edition), tiny stand-in
//! binaries (and tools, such as ffmpeg) per arch, and a helper to run the
//! real `yunhui` binary. Stand-ins keep the suite fast and offline; the
//! images do not care what the executable contains.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Binaries every edition ships.
pub const BINARIES: &[&str] = &[
    "yunhui",
    "yunhui-signal",
    "yunhui-sfu",
    "yunhui-sipgw",
    "yunhui-recorder",
    "yunhui-operator",
];

/// Prebuilt tools the editions' images carry (`[[components.tools]]`), with
/// the arches they have a source for. The fixture provides a stand-in
/// `<arch>/<tool>` for each, so no build downloads anything.
pub const TOOLS: &[(&str, &[&str])] = &[("ffmpeg", &["amd64", "arm64"])];

/// What the stand-in of `tool` for `arch` holds.
pub fn stand_in(tool: &str, arch: &str) -> String {
    format!("#!/bin/sh\necho {tool} {arch}\n")
}

/// A temporary workspace for one test.
pub struct Fixture {
    /// Where everything of the test lives; removed when dropped.
    pub dir: tempfile::TempDir,
    /// The publisher's signing key.
    pub key: PathBuf,
    /// What `bundle keygen` printed, with the key's id.
    pub keygen_output: String,
    /// Its public half.
    pub public: PathBuf,
    /// `<arch>/<binary>` stand-ins for the bundle.
    pub binaries: PathBuf,
}

/// The `yunhui` binary under test.
pub fn yunhui() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_yunhui"));
    command
        .env("RUST_BACKTRACE", "0")
        .env_remove("YUNHUI_BUNDLE_KEY_PASSWORD");
    command
}

/// The workspace root.
pub fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Panics with a useful message when a Debian tool the test needs is missing.
pub fn require_tool(name: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(name).is_file()))
        .unwrap_or(false);
    assert!(found, "{name} is not installed; run tests/setup-machine");
}

/// Runs `command`, failing the test with its output unless it succeeds.
pub fn run_ok(command: &mut Command) -> Output {
    let output = command.output().expect("run command");
    assert!(
        output.status.success(),
        "{command:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

impl Fixture {
    /// A fresh workspace with an ed25519 key pair and stand-in binaries.
    pub fn create() -> Fixture {
        Fixture::with_algorithm("ed25519")
    }

    /// A fresh workspace with an SM2 key pair (what the xinchuang edition
    /// signs with) and stand-in binaries.
    pub fn sm2() -> Fixture {
        Fixture::with_algorithm("sm2")
    }

    /// A fresh workspace with a key pair of `algorithm` and stand-in binaries.
    pub fn with_algorithm(algorithm: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let prefix = dir.path().join("signing");
        let keygen = run_ok(
            yunhui()
                .args(["bundle", "keygen", "--algorithm", algorithm, "--out"])
                .arg(&prefix),
        );
        let binaries = dir.path().join("binaries");
        for arch in ["amd64", "arm64", "loong64"] {
            std::fs::create_dir_all(binaries.join(arch)).expect("mkdir");
            for binary in BINARIES {
                std::fs::write(binaries.join(arch).join(binary), stand_in(binary, arch))
                    .expect("write stand-in binary");
            }
        }
        for (tool, arches) in TOOLS {
            for arch in *arches {
                std::fs::write(binaries.join(arch).join(tool), stand_in(tool, arch))
                    .expect("write stand-in tool");
            }
        }
        Fixture {
            key: prefix.with_extension("key"),
            keygen_output: String::from_utf8_lossy(&keygen.stdout).into_owned(),
            public: prefix.with_extension("pub"),
            binaries,
            dir,
        }
    }

    /// `yunhui bundle build` with the fixture's key and binaries.
    pub fn build_command(&self, edition: &str, out: &str) -> Command {
        self.build_command_with_key(edition, out, &self.key)
    }

    /// `yunhui bundle build` with the fixture's binaries and another key.
    pub fn build_command_with_key(&self, edition: &str, out: &str, key: &Path) -> Command {
        self.build_command_for("amd64,arm64", edition, out, key)
    }

    /// `yunhui bundle build` for `arches` (comma-separated; empty: no
    /// `--arch`, the edition's) with the fixture's binaries and `key`.
    pub fn build_command_for(&self, arches: &str, edition: &str, out: &str, key: &Path) -> Command {
        self.build_command_from(&source_root(), arches, edition, out, key)
    }

    /// `bundle build` of the workspace at `source` for `arches` with the
    /// fixture's binaries and `key`.
    pub fn build_command_from(
        &self,
        source: &Path,
        arches: &str,
        edition: &str,
        out: &str,
        key: &Path,
    ) -> Command {
        let mut command = yunhui();
        command.args(["bundle", "build", "--edition", edition]);
        if !arches.is_empty() {
            command.args(["--arch", arches]);
        }
        command
            .arg("--binaries")
            .arg(&self.binaries)
            .arg("--key")
            .arg(key)
            .arg("--source")
            .arg(source)
            .args(["--revision", "test-revision"])
            .arg("--out")
            .arg(self.dir.path().join(out));
        command
    }

    /// Builds a bundle and returns its directory.
    pub fn build(&self, edition: &str, out: &str) -> PathBuf {
        run_ok(&mut self.build_command(edition, out));
        self.dir.path().join(out)
    }
}

/// The bundle's manifest as JSON.
pub fn manifest(bundle: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).expect("manifest"))
        .expect("manifest JSON")
}
