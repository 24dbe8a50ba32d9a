//! `yunhui registry push` into Debian's `docker-registry` over TLS (test CA)
//! with htpasswd basic auth: a cut-off push resumes, every image is pullable
//! by digest with skopeo, a second push uploads nothing, and wrong
//! credentials or an untrusted certificate give clear errors.

use crate::bundle_fixture;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bundle_fixture::{Fixture, manifest, require_tool, run_ok, yunhui};

struct Registry(Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A CA and a server certificate for 127.0.0.1 made with openssl.
fn make_certs(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    run_ok(
        Command::new("openssl")
            .args(["req", "-x509", "-nodes", "-days", "2"])
            .args(ec)
            .args(["-subj", "/CN=yunhui test CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(dir.join("ca.key"))
            .arg("-out")
            .arg(dir.join("ca.crt")),
    );
    run_ok(
        Command::new("openssl")
            .args(["req", "-nodes"])
            .args(ec)
            .args(["-subj", "/CN=127.0.0.1"])
            .arg("-keyout")
            .arg(dir.join("server.key"))
            .arg("-out")
            .arg(dir.join("server.csr")),
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run_ok(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
            .arg("-in")
            .arg(dir.join("server.csr"))
            .arg("-CA")
            .arg(dir.join("ca.crt"))
            .arg("-CAkey")
            .arg(dir.join("ca.key"))
            .arg("-extfile")
            .arg(dir.join("ext.cnf"))
            .arg("-out")
            .arg(dir.join("server.crt")),
    );
}

fn start_registry(dir: &Path) -> (Registry, String) {
    make_certs(dir);
    let htpasswd = run_ok(Command::new("htpasswd").args(["-Bbn", "user", "pass"]));
    std::fs::write(dir.join("htpasswd"), &htpasswd.stdout).unwrap();
    std::fs::create_dir_all(dir.join("storage")).unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let config = format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {storage}\nhttp:\n  addr: {addr}\n  tls:\n    certificate: {crt}\n    key: {key}\nauth:\n  htpasswd:\n    realm: yunhui-test\n    path: {htpasswd}\n",
        storage = dir.join("storage").display(),
        crt = dir.join("server.crt").display(),
        key = dir.join("server.key").display(),
        htpasswd = dir.join("htpasswd").display(),
    );
    std::fs::write(dir.join("config.yml"), config).unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("registry.log")).unwrap())
        .spawn()
        .unwrap();
    let registry = Registry(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "docker-registry did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (registry, addr)
}

fn push(bundle: &Path, public: &Path, addr: &str, ca: Option<&Path>, password: &str) -> Output {
    let mut command = yunhui();
    command
        .args(["registry", "push", "--output", "json", "--registry", addr])
        .arg("--key")
        .arg(public)
        .args(["--username", "user", "--password-stdin"])
        .arg(bundle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(ca) = ca {
        command.arg("--ca").arg(ca);
    }
    push_with(command, password)
}

fn push_with(mut command: Command, password: &str) -> Output {
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn summary(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "push failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON summary")
}

fn count(summary: &serde_json::Value, key: &str) -> u64 {
    summary[key].as_u64().unwrap()
}

#[test]
fn push_to_docker_registry_with_tls_and_basic_auth_resumes_and_skips() {
    for tool in ["docker-registry", "skopeo", "htpasswd", "openssl"] {
        require_tool(tool);
    }
    let fixture = Fixture::create();
    let bundle = fixture.build("enterprise", "bundle");
    let work = fixture.dir.path().join("registry");
    std::fs::create_dir_all(&work).unwrap();
    let (registry, addr) = start_registry(&work);
    let ca = work.join("ca.crt");
    let public = &fixture.public;
    // skopeo's cert dir: only the CA (a lone *.key there is an error).
    let cert_dir = fixture.dir.path().join("skopeo-certs");
    std::fs::create_dir_all(&cert_dir).unwrap();
    std::fs::copy(&ca, cert_dir.join("ca.crt")).unwrap();

    // Wrong password: a clear error, non-zero exit, nothing pushed.
    let wrong = push(&bundle, public, &addr, Some(&ca), "nope");
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("wrong username or password"),
        "stderr: {stderr}"
    );

    // Untrusted certificate: the error points at --ca.
    let untrusted = push(&bundle, public, &addr, None, "pass");
    assert!(!untrusted.status.success());
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(
        stderr.contains("TLS verification") && stderr.contains("--ca"),
        "stderr: {stderr}"
    );

    // Cut off after 3 blob uploads, then run again: it completes and
    // uploads only what was missing.
    let mut command = yunhui();
    command
        .args([
            "registry",
            "push",
            "--registry",
            &addr,
            "--stop-after-uploads",
            "3",
        ])
        .arg("--ca")
        .arg(&ca)
        .arg("--key")
        .arg(public)
        .args(["--username", "user", "--password-stdin"])
        .arg(&bundle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let cut = push_with(command, "pass");
    assert!(!cut.status.success(), "the cut-off push succeeded");
    assert!(String::from_utf8_lossy(&cut.stderr).contains("run the command again"));

    let resumed = summary(&push(&bundle, public, &addr, Some(&ca), "pass"));
    assert_eq!(count(&resumed, "blobs_skipped"), 3, "{resumed:#}");
    assert!(count(&resumed, "blobs_uploaded") > 0, "{resumed:#}");
    let total = count(&resumed, "blobs_uploaded") + count(&resumed, "blobs_skipped");

    // Every image, every platform, pullable by digest.
    let images = manifest(&bundle)["images"].as_array().unwrap().clone();
    assert_eq!(resumed["images"].as_array().unwrap().len(), images.len());
    for image in &images {
        let repo = image["repository"].as_str().unwrap();
        let digest = image["digest"].as_str().unwrap();
        let out = fixture
            .dir
            .path()
            .join(format!("pulled-{}", repo.replace('/', "-")));
        run_ok(
            Command::new("skopeo")
                .args(["copy", "--all", "--src-creds", "user:pass"])
                .arg("--src-cert-dir")
                .arg(&cert_dir)
                .arg(format!("docker://{addr}/{repo}@{digest}"))
                .arg(format!("oci:{}:pulled", out.display())),
        );
        let raw = run_ok(
            Command::new("skopeo")
                .args(["inspect", "--raw"])
                .arg(format!("oci:{}:pulled", out.display())),
        );
        assert_eq!(sha256(&raw.stdout), digest, "{repo}: index changed");
        for platform in image["platforms"].as_array().unwrap() {
            let arch = platform["arch"].as_str().unwrap();
            let raw = run_ok(
                Command::new("skopeo")
                    .args(["inspect", "--raw", "--creds", "user:pass"])
                    .arg("--cert-dir")
                    .arg(&cert_dir)
                    .arg(format!(
                        "docker://{addr}/{repo}@{}",
                        platform["digest"].as_str().unwrap()
                    )),
            );
            assert_eq!(
                sha256(&raw.stdout),
                platform["digest"].as_str().unwrap(),
                "{repo} {arch}"
            );
        }
    }

    // A second push, from the single-file bundle, uploads no blobs.
    let single = bundle.with_file_name("bundle.tar.zst");
    let again = summary(&push(&single, public, &addr, Some(&ca), "pass"));
    assert_eq!(count(&again, "blobs_uploaded"), 0, "{again:#}");
    assert_eq!(count(&again, "blobs_skipped"), total, "{again:#}");
    drop(registry);
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
