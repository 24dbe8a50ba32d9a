//! Prebuilt tools in images (`[[components.tools]]` of the editions): the
//! recorder image's ffmpeg, provided (`--binaries DIR/<arch>/ffmpeg`) or
//! downloaded from its pinned wheel, checked, cached and extracted; absent
//! for loong64; refused when the wheel's digest is not the pinned one; the
//! real one from PyPI runs.

use crate::bundle_fixture;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bundle_fixture::{Fixture, manifest, run_ok, source_root, stand_in, yunhui};
use sha2::{Digest, Sha256};

/// Where the recorder's ffmpeg goes and the variable that names it.
const FFMPEG: &str = "usr/bin/ffmpeg";
const FFMPEG_ENV: &str = "YUNHUI_FFMPEG=/usr/bin/ffmpeg";
/// The amd64 wheel the editions pin, and the member that is ffmpeg.
const AMD64_WHEEL: &str = "imageio_ffmpeg-0.7.0-py3-none-manylinux2014_x86_64.whl";
const AMD64_WHEEL_SHA256: &str = "4e1f36bef7bedd4bc5dc25f60a8345d88f57133fa1e754f09b411ac61b854408";
const AMD64_MEMBER: &str = "imageio_ffmpeg/binaries/ffmpeg-linux-x86_64-v7.0.2";

const PROXY_VARIABLES: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// A build that cannot download: its cache is `cache`, and every request
/// goes to a proxy on a port nobody listens on.
fn offline(mut command: Command, cache: &Path) -> Command {
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    command
        .env("XDG_CACHE_HOME", cache)
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9");
    command
}

/// A build that downloads from a server on loopback, straight (no proxy),
/// into the cache `cache`.
fn from_loopback(mut command: Command, cache: &Path) -> Command {
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    command.env("XDG_CACHE_HOME", cache).env("NO_PROXY", "*");
    command
}

/// Every file under `dir` (none when it does not exist).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else {
                found.push(entry.path());
            }
        }
    }
    found
}

/// One file of an image's root filesystem.
struct ImageFile {
    mode: u32,
    uid: u64,
    gid: u64,
    data: Vec<u8>,
}

/// One platform's image: its config and the files its layers leave.
struct Image {
    config: serde_json::Value,
    files: BTreeMap<String, ImageFile>,
}

fn blob(bundle: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    std::fs::read(bundle.join("images/blobs/sha256").join(hex)).expect("blob")
}

/// Reads `component`'s image for `arch` out of the bundle's OCI layout,
/// applying its layers in order.
fn image(bundle: &Path, component: &str, arch: &str) -> Image {
    let manifest = manifest(bundle);
    let entry = manifest["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["component"] == component)
        .unwrap_or_else(|| panic!("no {component} image"));
    let platform = entry["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["arch"] == arch)
        .unwrap_or_else(|| panic!("no {component} image for {arch}"));
    let image_manifest: serde_json::Value =
        serde_json::from_slice(&blob(bundle, platform["digest"].as_str().unwrap())).unwrap();
    let config: serde_json::Value = serde_json::from_slice(&blob(
        bundle,
        image_manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    let mut files = BTreeMap::new();
    for layer in image_manifest["layers"].as_array().unwrap() {
        let gz = blob(bundle, layer["digest"].as_str().unwrap());
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz.as_slice()));
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            let header = entry.header();
            files.insert(
                path,
                ImageFile {
                    mode: header.mode().unwrap(),
                    uid: header.uid().unwrap(),
                    gid: header.gid().unwrap(),
                    data,
                },
            );
        }
    }
    Image { config, files }
}

fn env(image: &Image) -> Vec<String> {
    image.config["config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// The manifest's record of the recorder's ffmpeg.
fn ffmpeg_entry(manifest: &serde_json::Value) -> serde_json::Value {
    let recorder = manifest["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "recorder")
        .unwrap();
    recorder["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ffmpeg")
        .unwrap_or_else(|| panic!("no ffmpeg in {recorder}"))
        .clone()
}

/// The SBOM components that are ffmpeg, by arch.
fn sbom_ffmpeg(bundle: &Path) -> BTreeMap<String, serde_json::Value> {
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("sbom.cdx.json")).unwrap()).unwrap();
    sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "ffmpeg")
        .map(|c| {
            let arch = c["properties"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "yunhui:arch")
                .unwrap()["value"]
                .as_str()
                .unwrap()
                .to_string();
            (arch, c.clone())
        })
        .collect()
}

#[test]
fn the_recorder_image_has_an_executable_ffmpeg_and_yunhui_ffmpeg_in_its_env() {
    let fixture = Fixture::create();
    let cache = fixture.dir.path().join("cache");
    run_ok(&mut offline(
        fixture.build_command("enterprise", "bundle"),
        &cache,
    ));
    let bundle = fixture.dir.path().join("bundle");
    for arch in ["amd64", "arm64"] {
        let recorder = image(&bundle, "recorder", arch);
        let ffmpeg = recorder
            .files
            .get(FFMPEG)
            .unwrap_or_else(|| panic!("no /{FFMPEG} in the {arch} recorder image"));
        assert_eq!(ffmpeg.data, stand_in("ffmpeg", arch).into_bytes(), "{arch}");
        assert_eq!(
            (ffmpeg.mode & 0o7777, ffmpeg.uid, ffmpeg.gid),
            (0o755, 0, 0),
            "{arch}: executable by everyone, owned by root"
        );
        assert!(env(&recorder).contains(&FFMPEG_ENV.to_string()), "{arch}");
        assert!(
            env(&recorder).iter().any(|e| e.starts_with("PATH=")),
            "the image's own variables stay"
        );
        // The recorder's own binary is still its entrypoint.
        assert_eq!(
            recorder.config["config"]["Entrypoint"],
            serde_json::json!(["/usr/local/bin/yunhui-recorder"])
        );
        // Only the recorder carries it.
        let signal = image(&bundle, "signal", arch);
        assert!(!signal.files.contains_key(FFMPEG), "{arch}");
        assert!(
            !env(&signal).iter().any(|e| e.starts_with("YUNHUI_FFMPEG=")),
            "{arch}"
        );
    }
    let (ok, stderr) = verify(&bundle, &fixture.public);
    assert!(ok, "{stderr}");
}

#[test]
fn a_provided_ffmpeg_is_used_and_nothing_is_downloaded() {
    let fixture = Fixture::create();
    let cache = fixture.dir.path().join("cache");
    // Any download would go to a proxy nobody listens on and fail the build.
    run_ok(&mut offline(
        fixture.build_command("enterprise", "bundle"),
        &cache,
    ));
    assert_eq!(files_under(&cache), Vec::<PathBuf>::new(), "nothing cached");
    let bundle = fixture.dir.path().join("bundle");
    let ffmpeg = ffmpeg_entry(&manifest(&bundle));
    assert_eq!(ffmpeg["version"], "7.0.2");
    assert_eq!(ffmpeg["path"], "/usr/bin/ffmpeg");
    for arch in ["amd64", "arm64"] {
        let copy = ffmpeg["arches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["arch"] == arch)
            .unwrap_or_else(|| panic!("no {arch} in {ffmpeg}"));
        assert_eq!(copy["source"], "provided");
        assert_eq!(copy.get("url"), None, "a provided copy names no download");
        assert_eq!(
            copy["sha256"],
            hex::encode(Sha256::digest(stand_in("ffmpeg", arch)))
        );
    }
    // The SBOM lists it per image, with its licence and the file's digest.
    let sbom = sbom_ffmpeg(&bundle);
    assert_eq!(sbom.keys().collect::<Vec<_>>(), ["amd64", "arm64"]);
    for (arch, component) in &sbom {
        assert_eq!(component["version"], "7.0.2");
        assert_eq!(
            component["licenses"],
            serde_json::json!([{ "expression": "GPL-3.0-or-later" }])
        );
        assert_eq!(
            component["hashes"][0]["content"],
            hex::encode(Sha256::digest(stand_in("ffmpeg", arch)))
        );
    }
}

#[test]
fn xinchuang_builds_for_loong64_without_ffmpeg_and_says_so() {
    let fixture = Fixture::sm2();
    let cache = fixture.dir.path().join("cache");
    run_ok(&mut offline(
        fixture.build_command_for("amd64,arm64,loong64", "xinchuang", "bundle", &fixture.key),
        &cache,
    ));
    let bundle = fixture.dir.path().join("bundle");
    let manifest = manifest(&bundle);
    assert_eq!(
        manifest["images"].as_array().map(Vec::len),
        Some(5),
        "every image, for every arch"
    );
    let loong64 = image(&bundle, "recorder", "loong64");
    assert!(!loong64.files.contains_key(FFMPEG));
    assert!(
        !env(&loong64)
            .iter()
            .any(|e| e.starts_with("YUNHUI_FFMPEG=")),
        "no variable naming a file that is not there"
    );
    assert!(loong64.files.contains_key("usr/local/bin/yunhui-recorder"));
    assert!(
        image(&bundle, "recorder", "arm64")
            .files
            .contains_key(FFMPEG)
    );
    let ffmpeg = ffmpeg_entry(&manifest);
    assert_eq!(ffmpeg["absent"], serde_json::json!(["loong64"]));
    let arches: Vec<&str> = ffmpeg["arches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["arch"].as_str().unwrap())
        .collect();
    assert_eq!(arches, ["amd64", "arm64"]);
    assert!(
        manifest["notes"]
            .to_string()
            .contains("ffmpeg is not in the yunhui/recorder image for loong64"),
        "{}",
        manifest["notes"]
    );
    assert_eq!(
        sbom_ffmpeg(&bundle).keys().collect::<Vec<_>>(),
        ["amd64", "arm64"]
    );
    let (ok, stderr) = verify(&bundle, &fixture.public);
    assert!(ok, "{stderr}");
}

/// A plain HTTP server on loopback answering every request with `body`;
/// counts the requests.
struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
}

fn serve(body: Vec<u8>, file: &str) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/packages/{file}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    Server { url, requests }
}

/// A workspace whose enterprise edition takes the recorder's amd64 ffmpeg
/// from `url` pinned to `sha256` (and member `member`): links to everything
/// of the real one but the editions.
fn source_with_amd64_ffmpeg(dir: &Path, url: &str, sha256: &str, member: &str) -> PathBuf {
    let root = source_root();
    let tree = dir.join("source");
    std::fs::create_dir_all(tree.join("airgap/editions")).unwrap();
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let name = entry.file_name();
        if !["airgap", ".git", "target"].contains(&name.to_str().unwrap()) {
            std::os::unix::fs::symlink(entry.path(), tree.join(&name)).unwrap();
        }
    }
    std::os::unix::fs::symlink(
        root.join("airgap/preflight.toml"),
        tree.join("airgap/preflight.toml"),
    )
    .unwrap();
    let text = std::fs::read_to_string(root.join("airgap/editions/enterprise.toml")).unwrap();
    let mut edition: toml::Table = toml::from_str(&text).unwrap();
    let recorder = edition["components"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["name"].as_str() == Some("recorder"))
        .unwrap();
    let amd64 = recorder["tools"][0]["sources"]["amd64"]
        .as_table_mut()
        .unwrap();
    assert_eq!(amd64["sha256"].as_str(), Some(AMD64_WHEEL_SHA256));
    amd64.insert("url".into(), url.into());
    amd64.insert("sha256".into(), sha256.into());
    amd64.insert("member".into(), member.into());
    std::fs::write(
        tree.join("airgap/editions/enterprise.toml"),
        toml::to_string(&edition).unwrap(),
    )
    .unwrap();
    tree
}

/// `bundle build` of the enterprise edition for amd64 from `source`, with
/// the fixture's binaries but no ffmpeg among them.
fn amd64_build(fixture: &Fixture, source: &Path, out: &str) -> Command {
    let _ = std::fs::remove_file(fixture.binaries.join("amd64/ffmpeg"));
    let mut command = fixture.build_command_from(source, "amd64", "enterprise", out, &fixture.key);
    command.args(["--archive", "none"]);
    command
}

/// A zip holding `member`: the start of an ELF file for `machine` (62:
/// x86-64, 183: aarch64). Returns the zip and the member's bytes.
fn wheel_with(member: &str, machine: u16) -> (Vec<u8>, Vec<u8>) {
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(18, 0);
    elf.extend_from_slice(&machine.to_le_bytes());
    elf.extend_from_slice(b"stand-in ffmpeg");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file("imageio_ffmpeg/__init__.py", options)
        .unwrap();
    zip.start_file(member, options).unwrap();
    zip.write_all(&elf).unwrap();
    (zip.finish().unwrap().into_inner(), elf)
}

#[test]
fn a_downloaded_wheel_is_checked_extracted_cached_and_reused() {
    let fixture = Fixture::create();
    let cache = fixture.dir.path().join("cache");
    let (wheel, elf) = wheel_with(AMD64_MEMBER, 62);
    let digest = hex::encode(Sha256::digest(&wheel));
    let server = serve(wheel, AMD64_WHEEL);
    let source = source_with_amd64_ffmpeg(fixture.dir.path(), &server.url, &digest, AMD64_MEMBER);

    run_ok(&mut from_loopback(
        amd64_build(&fixture, &source, "first"),
        &cache,
    ));
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    let bundle = fixture.dir.path().join("first");
    let recorder = image(&bundle, "recorder", "amd64");
    assert_eq!(recorder.files[FFMPEG].data, elf, "the member, extracted");
    assert_eq!(recorder.files[FFMPEG].mode & 0o7777, 0o755);
    assert!(env(&recorder).contains(&FFMPEG_ENV.to_string()));
    let copy = ffmpeg_entry(&manifest(&bundle))["arches"][0].clone();
    assert_eq!(copy["source"], "download");
    assert_eq!(copy["url"], server.url.as_str());
    assert_eq!(copy["archive_sha256"], digest.as_str());
    assert_eq!(copy["member"], AMD64_MEMBER);
    let sbom = &sbom_ffmpeg(&bundle)["amd64"];
    let distribution = &sbom["externalReferences"][0];
    assert_eq!(distribution["type"], "distribution");
    assert_eq!(distribution["url"], server.url.as_str());
    assert_eq!(distribution["hashes"][0]["content"], digest.as_str());
    let cached = cache.join("yunhui/tools").join(&digest).join(AMD64_WHEEL);
    assert_eq!(files_under(&cache), std::slice::from_ref(&cached));

    // The next build takes it from the cache.
    run_ok(&mut from_loopback(
        amd64_build(&fixture, &source, "second"),
        &cache,
    ));
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        1,
        "no second download"
    );
    assert_eq!(
        manifest(&bundle)["images"],
        manifest(&fixture.dir.path().join("second"))["images"]
    );

    // A cached copy that changed is not used: it is downloaded again.
    std::fs::write(&cached, b"changed in the cache").unwrap();
    let output = from_loopback(amd64_build(&fixture, &source, "third"), &cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("no longer has the pinned SHA-256"),
        "{stderr}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
    assert_eq!(
        hex::encode(Sha256::digest(std::fs::read(&cached).unwrap())),
        digest
    );
}

#[test]
fn a_wheel_with_another_digest_is_refused_and_nothing_is_kept() {
    let fixture = Fixture::create();
    let cache = fixture.dir.path().join("cache");
    let (wrong, _) = wheel_with(AMD64_MEMBER, 62);
    let actual = hex::encode(Sha256::digest(&wrong));
    let server = serve(wrong, AMD64_WHEEL);
    // The real pin, a server that sends something else.
    let source = source_with_amd64_ffmpeg(
        fixture.dir.path(),
        &server.url,
        AMD64_WHEEL_SHA256,
        AMD64_MEMBER,
    );
    let refused = |out: &str| {
        let output = from_loopback(amd64_build(&fixture, &source, out), &cache)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!output.status.success(), "accepted: {stderr}");
        for expected in [server.url.as_str(), AMD64_WHEEL_SHA256, actual.as_str()] {
            assert!(stderr.contains(expected), "no {expected} in: {stderr}");
        }
        assert!(
            !fixture.dir.path().join(out).exists(),
            "no bundle written on refusal"
        );
        assert_eq!(
            files_under(&cache),
            Vec::<PathBuf>::new(),
            "nothing kept in the cache"
        );
    };
    refused("bundle");
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    // A tampered file sitting in the cache under the pinned digest is
    // removed, not used, and the download is refused again.
    let planted = cache
        .join("yunhui/tools")
        .join(AMD64_WHEEL_SHA256)
        .join(AMD64_WHEEL);
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::write(&planted, b"not the wheel").unwrap();
    refused("bundle");
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[test]
fn a_member_of_another_arch_is_refused() {
    let fixture = Fixture::create();
    let cache = fixture.dir.path().join("cache");
    // An arm64 ELF file where the edition says amd64.
    let member = "imageio_ffmpeg/binaries/ffmpeg-linux-aarch64-v7.0.2";
    let (wheel, _) = wheel_with(member, 183);
    let digest = hex::encode(Sha256::digest(&wheel));
    let server = serve(wheel, AMD64_WHEEL);
    let source = source_with_amd64_ffmpeg(fixture.dir.path(), &server.url, &digest, member);
    let output = from_loopback(amd64_build(&fixture, &source, "bundle"), &cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("is not an amd64 ELF executable (machine 183)"),
        "{stderr}"
    );
    assert!(
        !fixture.dir.path().join("bundle").exists(),
        "refused before anything is written"
    );
    // A member the wheel does not have is named before anything is written.
    let source = source_with_amd64_ffmpeg(
        &fixture.dir.path().join("other"),
        &server.url,
        &digest,
        "imageio_ffmpeg/binaries/missing",
    );
    let output = from_loopback(amd64_build(&fixture, &source, "other-bundle"), &cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("has no file imageio_ffmpeg/binaries/missing"),
        "{stderr}"
    );
    assert!(!fixture.dir.path().join("other-bundle").exists());
}

/// The real thing: the pinned amd64 wheel from PyPI (or the cache of an
/// earlier run: `$XDG_CACHE_HOME/yunhui/tools`, `~/.cache/yunhui/tools`),
/// extracted from the recorder image and run.
#[test]
fn the_pinned_wheel_from_pypi_gives_a_real_ffmpeg_7_0_2_with_h264_aac_and_rtmp() {
    let fixture = Fixture::create();
    let _ = std::fs::remove_file(fixture.binaries.join("amd64/ffmpeg"));
    let mut command = fixture.build_command_for("amd64", "enterprise", "bundle", &fixture.key);
    command.args(["--archive", "none"]);
    run_ok(&mut command);
    let bundle = fixture.dir.path().join("bundle");
    let recorder = image(&bundle, "recorder", "amd64");
    let ffmpeg = &recorder.files[FFMPEG];
    assert_eq!(ffmpeg.mode & 0o7777, 0o755);
    let path = fixture.dir.path().join("ffmpeg");
    std::fs::write(&path, &ffmpeg.data).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let version = run_ok(Command::new(&path).arg("-version"));
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(version.starts_with("ffmpeg version 7.0.2"), "{version}");
    assert!(
        version.contains("--enable-libx264") && version.contains("--enable-gnutls"),
        "{version}"
    );
    let encoders = run_ok(Command::new(&path).args(["-hide_banner", "-encoders"]));
    let encoders = String::from_utf8_lossy(&encoders.stdout);
    assert!(
        encoders.contains(" libx264 ") && encoders.contains(" aac "),
        "{encoders}"
    );
    let protocols = run_ok(Command::new(&path).args(["-hide_banner", "-protocols"]));
    let protocols = String::from_utf8_lossy(&protocols.stdout);
    assert!(
        protocols.lines().any(|l| l.trim() == "rtmp")
            && protocols.lines().any(|l| l.trim() == "rtmps"),
        "{protocols}"
    );
    let copy = ffmpeg_entry(&manifest(&bundle))["arches"][0].clone();
    assert_eq!(copy["source"], "download");
    assert_eq!(copy["archive_sha256"], AMD64_WHEEL_SHA256);
    assert!(copy["url"].as_str().unwrap().ends_with(AMD64_WHEEL));
    let sbom = &sbom_ffmpeg(&bundle)["amd64"];
    assert_eq!(sbom["version"], "7.0.2");
    assert_eq!(
        sbom["externalReferences"][0]["hashes"][0]["content"],
        AMD64_WHEEL_SHA256
    );
    assert_eq!(
        sbom["hashes"][0]["content"],
        hex::encode(Sha256::digest(&ffmpeg.data))
    );
}

fn verify(bundle: &Path, key: &Path) -> (bool, String) {
    let output = yunhui()
        .args(["bundle", "verify"])
        .arg(bundle)
        .arg("--key")
        .arg(key)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
