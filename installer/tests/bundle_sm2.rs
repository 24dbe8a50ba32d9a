//! Bundles signed with the national algorithms (the xinchuang edition): an
//! SM2 signature (SM2 with SM3, distinguishing ID 1234567812345678) over a
//! manifest of SM3 digests. `yunhui` accepts them with the SM2 key only,
//! refuses every kind of damage and every mix-up with ed25519 by name, and
//! OpenSSL 3 (an independent implementation) agrees with it both ways.

use crate::bundle_fixture;

use std::path::Path;
use std::process::Command;

use bundle_fixture::{Fixture, manifest, require_tool, run_ok, yunhui};

/// The SM2 distinguishing ID yunhui signs with (GM/T 0009 default).
const DISTID: &str = "distid:1234567812345678";

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

/// The key id `bundle keygen` printed (the last word of its output).
fn printed_key_id(keygen_output: &str) -> String {
    keygen_output
        .split_whitespace()
        .last()
        .expect("keygen output")
        .to_string()
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn copy_of(fixture: &Fixture, bundle: &Path, name: &str) -> std::path::PathBuf {
    let copy = fixture.dir.path().join(name);
    run_ok(Command::new("cp").arg("-a").arg(bundle).arg(&copy));
    copy
}

#[test]
fn an_sm2_signed_bundle_lists_sm3_digests_and_verifies_as_a_directory_and_as_one_file() {
    let fixture = Fixture::sm2();
    let key_id = printed_key_id(&fixture.keygen_output);
    assert!(
        key_id.starts_with("sm2:") && key_id.len() == 68,
        "keygen prints the SM2 key's fingerprint: {}",
        fixture.keygen_output
    );
    let secret = std::fs::read_to_string(&fixture.key).unwrap();
    assert!(secret.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8");
    let public = std::fs::read_to_string(&fixture.public).unwrap();
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "SPKI");

    let mut build = fixture.build_command("xinchuang", "bundle");
    build.args(["--archive", "tar"]);
    let built = run_ok(&mut build);
    let stdout = String::from_utf8_lossy(&built.stdout);
    assert!(
        stdout.contains(&format!("signed by SM2 (with SM3) key {key_id}")),
        "build prints the signing key's id: {stdout}"
    );
    let bundle = fixture.dir.path().join("bundle");
    assert!(bundle.join("manifest.json.sm2sig").is_file());
    assert!(!bundle.join("manifest.json.minisig").exists());
    let manifest = manifest(&bundle);
    assert_eq!(manifest["digest"], "sm3");
    assert!(
        manifest["aggregate_sm3"]
            .as_str()
            .unwrap()
            .starts_with("sm3:")
    );
    for file in manifest["files"].as_array().unwrap() {
        assert_eq!(file["sm3"].as_str().map(str::len), Some(64), "{file}");
        assert!(
            file.get("sha256").is_none(),
            "SM3 instead of SHA-256: {file}"
        );
    }

    for target in [bundle.clone(), fixture.dir.path().join("bundle.tar")] {
        let output = run_ok(
            yunhui()
                .args(["bundle", "verify", "--output", "json", "--key"])
                .arg(&fixture.public)
                .arg(&target),
        );
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["ok"], true);
        assert_eq!(report["algorithm"], "sm2");
        assert_eq!(report["digest"], "sm3");
        assert_eq!(report["key_id"], key_id.as_str());
        assert_eq!(report["signer"], format!("publisher key {key_id}"));
        assert_eq!(report["aggregate"], manifest["aggregate_sm3"]);
    }
    let text = run_ok(
        yunhui()
            .args(["bundle", "verify", "--key"])
            .arg(&fixture.public)
            .arg(&bundle),
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "SM2 (with SM3) signature by publisher key {key_id} valid"
        )),
        "{text}"
    );
}

#[test]
fn an_encrypted_sm2_key_signs_only_with_its_password() {
    let fixture = Fixture::sm2();
    let prefix = fixture.dir.path().join("protected");
    run_ok(
        yunhui()
            .args(["bundle", "keygen", "--algorithm", "sm2", "--out"])
            .arg(&prefix)
            .env("YUNHUI_BUNDLE_KEY_PASSWORD", "correct horse"),
    );
    let key = prefix.with_extension("key");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    let build = |password: Option<&str>, out: &str| {
        let mut command = fixture.build_command_with_key("xinchuang", out, &key);
        command.args(["--archive", "none"]);
        if let Some(password) = password {
            command.env("YUNHUI_BUNDLE_KEY_PASSWORD", password);
        }
        command.output().unwrap()
    };
    for (password, expected) in [
        (
            None,
            "the key is encrypted; put its password in YUNHUI_BUNDLE_KEY_PASSWORD",
        ),
        (Some("wrong"), "wrong password"),
    ] {
        let output = build(password, "refused");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains(expected),
            "{stderr}"
        );
        assert!(
            !fixture.dir.path().join("refused").exists(),
            "nothing written"
        );
    }
    let output = build(Some("correct horse"), "signed");
    assert!(output.status.success(), "{output:?}");
    let (ok, stderr) = verify(
        &fixture.dir.path().join("signed"),
        &prefix.with_extension("pub"),
    );
    assert!(ok, "{stderr}");
}

#[test]
fn the_edition_decides_the_algorithm_and_a_key_of_the_other_is_refused_before_anything_is_written()
{
    let ed25519 = Fixture::create();
    let output = ed25519
        .build_command("xinchuang", "bundle")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("the xinchuang edition signs with SM2")
            && stderr.contains("yunhui bundle keygen --algorithm sm2"),
        "{stderr}"
    );
    assert!(
        !ed25519.dir.path().join("bundle").exists(),
        "nothing written"
    );

    let sm2 = Fixture::sm2();
    let output = sm2.build_command("enterprise", "bundle").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("the enterprise edition signs with ed25519"),
        "{stderr}"
    );
    assert!(!sm2.dir.path().join("bundle").exists(), "nothing written");
}

#[test]
fn sm2_bundles_refuse_a_flipped_byte_a_wrong_key_and_an_ed25519_signature_by_name() {
    let fixture = Fixture::sm2();
    let mut build = fixture.build_command("xinchuang", "pristine");
    build.args(["--archive", "tar"]);
    run_ok(&mut build);
    let pristine = fixture.dir.path().join("pristine");
    let stranger = Fixture::sm2();
    let publisher_ed25519 = Fixture::create();
    let ed25519_bundle = publisher_ed25519.build("enterprise", "ed25519-bundle");
    let blob = manifest(&pristine)["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().starts_with("images/blobs/"))
        .max_by_key(|f| f["size"].as_u64())
        .unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string();

    // One flipped byte, wherever it is, is refused naming the file.
    let cases: [(&str, &str, &str); 4] = [
        ("blob", blob.as_str(), "does not match the manifest"),
        ("cli", "bin/arm64/yunhui", "sm3"),
        (
            "manifest",
            "manifest.json",
            "the SM2 signature does not verify",
        ),
        ("signature", "manifest.json.sm2sig", "manifest.json.sm2sig"),
    ];
    for (case, file, says) in cases {
        let copy = copy_of(&fixture, &pristine, &format!("flipped-{case}"));
        // Byte 40 of the DER signature is inside r or s; of the others, some content.
        flip_byte(&copy.join(file), 40);
        let (ok, stderr) = verify(&copy, &fixture.public);
        assert!(!ok, "{case}: a flipped byte in {file} was accepted");
        assert!(
            stderr.contains(file) && stderr.contains(says),
            "{case}: the message does not name {file} ({says}): {stderr}"
        );
    }

    // The single file: a flipped byte in an entry is refused, nothing is kept.
    let tar = fixture.dir.path().join("pristine.tar");
    let damaged = fixture.dir.path().join("damaged.tar");
    std::fs::copy(&tar, &damaged).unwrap();
    let bytes = std::fs::read(&damaged).unwrap();
    let needle = b"echo yunhui amd64";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("stand-in binary in the tar");
    flip_byte(&damaged, at + 5);
    let (ok, stderr) = verify(&damaged, &fixture.public);
    assert!(!ok, "a damaged single file was accepted");
    assert!(
        stderr.contains("bin/amd64/yunhui")
            && stderr.contains("does not match the signed manifest")
            && stderr.contains("sm3")
            && stderr.contains("nothing was extracted"),
        "{stderr}"
    );

    // Another SM2 key: refused, naming the key that did sign.
    let (ok, stderr) = verify(&pristine, &stranger.public);
    assert!(!ok, "a wrong SM2 key was accepted");
    assert!(
        stderr.contains("manifest.json.sm2sig")
            && stderr.contains("not with the given key")
            && stderr.contains(&printed_key_id(&fixture.keygen_output)),
        "{stderr}"
    );
    // The bundle's own key swapped for the stranger's changes nothing.
    let swapped = copy_of(&fixture, &pristine, "swapped-key");
    std::fs::copy(&stranger.public, swapped.join("bundle.pub")).unwrap();
    let (ok, stderr) = verify(&swapped, &stranger.public);
    assert!(!ok, "a signature by another key was accepted: {stderr}");
    assert!(stderr.contains("does not verify with key"), "{stderr}");

    // An ed25519 signature presented as SM2: in the SM2 signature file...
    let presented = copy_of(&fixture, &pristine, "ed25519-as-sm2");
    std::fs::copy(
        ed25519_bundle.join("manifest.json.minisig"),
        presented.join("manifest.json.sm2sig"),
    )
    .unwrap();
    let (ok, stderr) = verify(&presented, &fixture.public);
    assert!(!ok, "an ed25519 signature passed as SM2");
    assert!(
        stderr.contains("manifest.json.sm2sig")
            && stderr.contains("holds an ed25519 (minisign) signature, not an SM2 one"),
        "{stderr}"
    );
    // ...as the bundle's only signature, to an SM2 key...
    let (ok, stderr) = verify(&ed25519_bundle, &fixture.public);
    assert!(!ok, "an ed25519 bundle passed an SM2 key");
    assert!(
        stderr.contains("manifest.json.minisig")
            && stderr.contains("signed with ed25519 (minisign)")
            && stderr.contains("is an SM2 (with SM3) key"),
        "{stderr}"
    );
    // ...and an SM2 signature to an ed25519 key.
    let (ok, stderr) = verify(&pristine, &publisher_ed25519.public);
    assert!(!ok, "an SM2 bundle passed an ed25519 key");
    assert!(
        stderr.contains("manifest.json.sm2sig")
            && stderr.contains("signed with SM2 (with SM3)")
            && stderr.contains("is an ed25519 (minisign) key"),
        "{stderr}"
    );
    // A minisign signature added beside the SM2 one is an unlisted file.
    let both = copy_of(&fixture, &pristine, "both-signatures");
    std::fs::copy(
        ed25519_bundle.join("manifest.json.minisig"),
        both.join("manifest.json.minisig"),
    )
    .unwrap();
    let (ok, stderr) = verify(&both, &fixture.public);
    assert!(
        !ok && stderr.contains("manifest.json.minisig: extra file"),
        "{stderr}"
    );

    let (ok, stderr) = verify(&pristine, &fixture.public);
    assert!(ok, "the pristine bundle must still verify: {stderr}");
}

/// Runs openssl, returning whether it succeeded and what it printed.
fn openssl(args: &[&str]) -> (bool, String) {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// OpenSSL's check of an SM2 signature over `data`.
fn openssl_verifies(public: &Path, data: &Path, signature: &Path) -> (bool, String) {
    openssl(&[
        "pkeyutl",
        "-verify",
        "-rawin",
        "-digest",
        "sm3",
        "-pubin",
        "-inkey",
        path(public),
        "-in",
        path(data),
        "-sigfile",
        path(signature),
        "-pkeyopt",
        DISTID,
    ])
}

/// `openssl dgst -sm3 -r FILE`: the hex digest.
fn openssl_sm3(file: &Path) -> String {
    let (ok, out) = openssl(&["dgst", "-sm3", "-r", path(file)]);
    assert!(ok, "openssl dgst -sm3: {out}");
    out.split_whitespace().next().unwrap().to_string()
}

#[test]
fn openssl_agrees_with_yunhui_on_sm2_bundles_both_ways() {
    require_tool("openssl");
    let fixture = Fixture::sm2();
    let bundle = fixture.build("xinchuang", "bundle");
    let manifest_path = bundle.join("manifest.json");
    let signature = bundle.join("manifest.json.sm2sig");

    // OpenSSL checks yunhui's signature with the publisher's key...
    let (ok, out) = openssl_verifies(&fixture.public, &manifest_path, &signature);
    assert!(ok, "openssl refuses yunhui's SM2 signature: {out}");
    // ...refuses it over a changed manifest, as yunhui does...
    let altered = fixture.dir.path().join("altered.json");
    std::fs::copy(&manifest_path, &altered).unwrap();
    flip_byte(&altered, 200);
    let (ok, _) = openssl_verifies(&fixture.public, &altered, &signature);
    assert!(!ok, "openssl accepted a signature over an altered manifest");
    // ...and computes the same SM3 for every file the manifest lists, and
    // the same aggregate over them.
    let manifest = manifest(&bundle);
    let mut lines = String::new();
    for file in manifest["files"].as_array().unwrap() {
        let name = file["path"].as_str().unwrap();
        assert_eq!(
            openssl_sm3(&bundle.join(name)),
            file["sm3"].as_str().unwrap(),
            "{name}"
        );
        lines.push_str(&format!("{}  {name}\n", file["sm3"].as_str().unwrap()));
    }
    let lines_path = fixture.dir.path().join("aggregate-lines");
    std::fs::write(&lines_path, lines).unwrap();
    assert_eq!(
        manifest["aggregate_sm3"],
        format!("sm3:{}", openssl_sm3(&lines_path))
    );
    // The key id is the SM3 of the key's DER SubjectPublicKeyInfo.
    let der = fixture.dir.path().join("public.der");
    let (ok, out) = openssl(&[
        "pkey",
        "-pubin",
        "-in",
        path(&fixture.public),
        "-outform",
        "DER",
        "-out",
        path(&der),
    ]);
    assert!(ok, "{out}");
    assert_eq!(
        printed_key_id(&fixture.keygen_output),
        format!("sm2:{}", openssl_sm3(&der))
    );

    // The other way: a key OpenSSL made signs a bundle yunhui checks with
    // the public key OpenSSL derived, and a signature OpenSSL made over
    // that bundle's manifest verifies in yunhui.
    let openssl_key = fixture.dir.path().join("openssl.key");
    let openssl_pub = fixture.dir.path().join("openssl.pub");
    let (ok, out) = openssl(&["genpkey", "-algorithm", "SM2", "-out", path(&openssl_key)]);
    assert!(ok, "{out}");
    let (ok, out) = openssl(&[
        "pkey",
        "-in",
        path(&openssl_key),
        "-pubout",
        "-out",
        path(&openssl_pub),
    ]);
    assert!(ok, "{out}");
    let mut build = fixture.build_command_with_key("xinchuang", "by-openssl-key", &openssl_key);
    build.args(["--archive", "none"]);
    run_ok(&mut build);
    let second = fixture.dir.path().join("by-openssl-key");
    let (ok, stderr) = verify(&second, &openssl_pub);
    assert!(ok, "{stderr}");
    let resigned = second.join("manifest.json.sm2sig");
    std::fs::remove_file(&resigned).unwrap();
    let (ok, out) = openssl(&[
        "pkeyutl",
        "-sign",
        "-rawin",
        "-digest",
        "sm3",
        "-inkey",
        path(&openssl_key),
        "-in",
        path(&second.join("manifest.json")),
        "-out",
        path(&resigned),
        "-pkeyopt",
        DISTID,
    ]);
    assert!(ok, "{out}");
    let (ok, stderr) = verify(&second, &openssl_pub);
    assert!(ok, "yunhui refuses OpenSSL's SM2 signature: {stderr}");
    let (ok, stderr) = verify(&second, &fixture.public);
    assert!(!ok && stderr.contains("not with the given key"), "{stderr}");

    // A manifest of SHA-256 digests, validly SM2-signed, is still refused:
    // SM2 bundles list SM3 digests.
    let mixed = copy_of(&fixture, &bundle, "sha256-under-sm2");
    let mut document = manifest.clone();
    document.as_object_mut().unwrap().remove("digest");
    std::fs::write(
        mixed.join("manifest.json"),
        serde_json::to_vec_pretty(&document).unwrap(),
    )
    .unwrap();
    std::fs::remove_file(mixed.join("manifest.json.sm2sig")).unwrap();
    let (ok, out) = openssl(&[
        "pkeyutl",
        "-sign",
        "-rawin",
        "-digest",
        "sm3",
        "-inkey",
        path(&fixture.key),
        "-in",
        path(&mixed.join("manifest.json")),
        "-out",
        path(&mixed.join("manifest.json.sm2sig")),
        "-pkeyopt",
        DISTID,
    ]);
    assert!(ok, "{out}");
    let (ok, stderr) = verify(&mixed, &fixture.public);
    assert!(
        !ok && stderr.contains(
            "manifest.json: lists sha256 digests, but bundles signed with SM2 (with SM3) list sm3 digests"
        ),
        "{stderr}"
    );
}

/// Stops the `registry serve` a test started.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn registry_serve_takes_an_sm2_bundle_with_its_sm2_key_only() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    require_tool("skopeo");
    let fixture = Fixture::sm2();
    let bundle = fixture.build("xinchuang", "bundle");
    let single = bundle.with_file_name("bundle.tar.zst");
    let ed25519 = Fixture::create();
    let output = yunhui()
        .args(["registry", "serve", "--listen", "127.0.0.1:0", "--key"])
        .arg(&ed25519.public)
        .arg(&single)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("signed with SM2 (with SM3)"),
        "{stderr}"
    );

    let mut child = yunhui()
        .args(["registry", "serve", "--listen", "127.0.0.1:0", "--key"])
        .arg(&fixture.public)
        .arg(&single)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let mut first = String::new();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut first).unwrap();
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected: {first}"))
        .to_string();
    // Blobs are still addressed by their SHA-256, which verification measured.
    for image in manifest(&bundle)["images"].as_array().unwrap() {
        let platform = &image["platforms"][0];
        let reference = format!(
            "docker://{addr}/{}:{}-{}",
            image["repository"].as_str().unwrap(),
            image["tag"].as_str().unwrap(),
            platform["arch"].as_str().unwrap()
        );
        let config = run_ok(
            Command::new("skopeo")
                .args(["inspect", "--config", "--tls-verify=false"])
                .arg(&reference),
        );
        let config: serde_json::Value = serde_json::from_slice(&config.stdout).unwrap();
        assert_eq!(config["architecture"], platform["arch"], "{reference}");
    }
}
