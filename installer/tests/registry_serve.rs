//! `yunhui registry serve`: skopeo copies every image (all platforms) out of
//! the read-only registry; writes are refused.

use crate::bundle_fixture;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bundle_fixture::{Fixture, manifest, require_tool, run_ok, yunhui};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn skopeo_copies_every_image_from_registry_serve() {
    require_tool("skopeo");
    let fixture = Fixture::create();
    let bundle = fixture.build("enterprise", "bundle");
    let mut child = yunhui()
        .args(["registry", "serve", "--listen", "127.0.0.1:0", "--key"])
        .arg(&fixture.public)
        // The single-file bundle: extracted, verified, then served.
        .arg(bundle.with_file_name("bundle.tar.zst"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut first = String::new();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut first).unwrap();
    // Keep draining: the server prints more lines, and a closed pipe would
    // make its next print fail.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected: {first}"))
        .to_string();

    for image in manifest(&bundle)["images"].as_array().unwrap() {
        let repo = image["repository"].as_str().unwrap();
        let tag = image["tag"].as_str().unwrap();
        let out = fixture
            .dir
            .path()
            .join(format!("copy-{}", repo.replace('/', "-")));
        run_ok(
            Command::new("skopeo")
                .args(["copy", "--all", "--src-tls-verify=false"])
                .arg(format!("docker://{addr}/{repo}:{tag}"))
                .arg(format!("oci:{}:{tag}", out.display())),
        );
        // The copy is byte-identical: same index digest.
        let raw = run_ok(
            Command::new("skopeo")
                .args(["inspect", "--raw"])
                .arg(format!("oci:{}:{tag}", out.display())),
        );
        assert_eq!(
            bundle_fixture_digest(&raw.stdout),
            image["digest"].as_str().unwrap()
        );
        // Single platform by tag and by digest, as a plain pull would do.
        for platform in image["platforms"].as_array().unwrap() {
            let arch = platform["arch"].as_str().unwrap();
            run_ok(
                Command::new("skopeo")
                    .args(["inspect", "--tls-verify=false"])
                    .arg(format!("docker://{addr}/{repo}:{tag}-{arch}")),
            );
            run_ok(
                Command::new("skopeo")
                    .args(["inspect", "--tls-verify=false", "--override-arch", arch])
                    .arg(format!(
                        "docker://{addr}/{repo}@{}",
                        image["digest"].as_str().unwrap()
                    )),
            );
        }
    }
    // Read-only: an upload is refused.
    let status = Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!(
            "oci:{}:signal_0.1.0_amd64",
            bundle.join("images").display()
        ))
        .arg(format!("docker://{addr}/yunhui/signal:pushed"))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(
        !status.success(),
        "a push to the read-only registry succeeded"
    );
    drop(server);
}

fn bundle_fixture_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
