//! A real S3-compatible object store on loopback for the tests of
//! recordings kept in one: s3s-fs (crates.io), an S3 server over a
//! directory, built and cached by `tests/tools/build-s3s-fs.sh` (the first
//! test that needs it builds it). A bucket is a directory of its root, and
//! an object a file in it, so a test sees what the store holds.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::processes::{ChildGuard, free_port};
use crate::repo;

/// The access key id the server takes.
pub const ACCESS_KEY_ID: &str = "yunhui-test-access";
/// The secret access key the server takes.
pub const SECRET_ACCESS_KEY: &str = "yunhui-test-secret-key";

/// An S3 server with one bucket; stopped when dropped.
pub struct S3Server {
    _process: ChildGuard,
    root: tempfile::TempDir,
    /// Its base URL (`http://127.0.0.1:<port>`).
    pub endpoint: String,
    /// The bucket that exists.
    pub bucket: String,
}

/// The s3s-fs binary, built by the script if it is not cached yet.
fn server_binary() -> PathBuf {
    let script = repo().join("tests/tools/build-s3s-fs.sh");
    let out = Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(out.status.success(), "{} failed", script.display());
    let path = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(
        path.lines()
            .last()
            .expect("the script prints the binary's path"),
    )
}

impl S3Server {
    /// Starts the server on a free loopback port with bucket `recordings`,
    /// and waits until it answers.
    pub async fn start() -> S3Server {
        let binary = server_binary();
        let root = tempfile::tempdir().expect("the store's root");
        let bucket = "recordings".to_string();
        std::fs::create_dir(root.path().join(&bucket)).expect("the bucket");
        let port = free_port();
        let process = ChildGuard(
            Command::new(binary)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args([
                    "--access-key",
                    ACCESS_KEY_ID,
                    "--secret-key",
                    SECRET_ACCESS_KEY,
                ])
                .arg(root.path())
                .stdout(Stdio::null())
                .spawn()
                .expect("s3s-fs starts"),
        );
        let endpoint = format!("http://127.0.0.1:{port}");
        crate::wait("the S3 server", 30, || {
            let url = endpoint.clone();
            async move { reqwest::get(url).await.ok().map(|_| ()) }
        })
        .await;
        S3Server {
            _process: process,
            root,
            endpoint,
            bucket,
        }
    }

    /// Where the object `key` of the bucket is kept on disk.
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.root.path().join(&self.bucket).join(key)
    }

    /// The keys of the bucket's objects, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = std::fs::read_dir(self.root.path().join(&self.bucket))
            .expect("the bucket")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        keys.sort();
        keys
    }

    /// The `YUNHUI_RECORDINGS_S3_*` environment of a recorder using this store.
    pub fn recorder_env(&self) -> Vec<(&'static str, String)> {
        use yunhui_proto::env;
        vec![
            (env::RECORDINGS_S3_ENDPOINT, self.endpoint.clone()),
            (env::RECORDINGS_S3_BUCKET, self.bucket.clone()),
            (env::RECORDINGS_S3_ACCESS_KEY_ID, ACCESS_KEY_ID.into()),
            (
                env::RECORDINGS_S3_SECRET_ACCESS_KEY,
                SECRET_ACCESS_KEY.into(),
            ),
        ]
    }
}
