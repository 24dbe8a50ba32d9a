//! `yunhui bundle build | verify`: reproducibility, other tools reading the
//! images (skopeo, umoci), tamper detection naming the file, strict editions.

use crate::bundle_fixture;

use std::path::Path;
use std::process::Command;

use bundle_fixture::{Fixture, manifest, require_tool, run_ok, yunhui};

#[test]
fn two_builds_of_the_same_inputs_give_identical_digests() {
    let fixture = Fixture::create();
    let first = fixture.build("enterprise", "first");
    let second = fixture.build("enterprise", "second");
    let (a, b) = (manifest(&first), manifest(&second));
    assert_eq!(
        a["images"], b["images"],
        "image digests differ between builds"
    );
    assert_eq!(a["aggregate_sha256"], b["aggregate_sha256"]);
    assert_eq!(
        std::fs::read(first.join("images/index.json")).unwrap(),
        std::fs::read(second.join("images/index.json")).unwrap()
    );
    assert_eq!(a["images"].as_array().map(Vec::len), Some(5));
}

#[test]
fn skopeo_and_umoci_read_every_image() {
    require_tool("skopeo");
    require_tool("umoci");
    let fixture = Fixture::create();
    let bundle = fixture.build("enterprise", "bundle");
    let layout = bundle.join("images");
    let manifest = manifest(&bundle);
    for image in manifest["images"].as_array().unwrap() {
        let index_ref = image["oci_ref"].as_str().unwrap();
        let raw = run_ok(
            Command::new("skopeo")
                .args(["inspect", "--raw"])
                .arg(format!("oci:{}:{index_ref}", layout.display())),
        );
        let raw: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
        assert_eq!(
            raw["manifests"].as_array().map(Vec::len),
            Some(2),
            "{index_ref}"
        );
        for platform in image["platforms"].as_array().unwrap() {
            let arch = platform["arch"].as_str().unwrap();
            let reference = format!("oci:{}:{index_ref}", layout.display());
            let config = run_ok(
                Command::new("skopeo")
                    .args(["inspect", "--config", "--override-arch", arch])
                    .arg(&reference),
            );
            let config: serde_json::Value = serde_json::from_slice(&config.stdout).unwrap();
            assert_eq!(config["architecture"], arch);
            assert_eq!(
                config["config"]["User"], "65532:65532",
                "images run as non-root"
            );

            // umoci cannot pick a platform out of an index: it reads the per-arch ref.
            let per_arch = platform["oci_ref"].as_str().unwrap();
            let unpacked = fixture.dir.path().join(format!("unpacked-{per_arch}"));
            run_ok(
                Command::new("umoci")
                    .args(["unpack", "--rootless", "--image"])
                    .arg(format!("{}:{per_arch}", layout.display()))
                    .arg(&unpacked),
            );
            let rootfs = unpacked.join("rootfs");
            let binary = format!("yunhui-{}", image["component"].as_str().unwrap());
            let content =
                std::fs::read_to_string(rootfs.join("usr/local/bin").join(&binary)).unwrap();
            assert_eq!(content, format!("#!/bin/sh\necho {binary} {arch}\n"));
            assert!(rootfs.join("etc/ssl/certs/ca-certificates.crt").is_file());
            assert!(rootfs.join("usr/share/zoneinfo/Asia/Shanghai").is_file());
            let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
            assert!(passwd.contains("nonroot:x:65532:65532"));
        }
    }
}

#[test]
fn xinchuang_images_have_a_linux_loong64_manifest_skopeo_resolves() {
    require_tool("skopeo");
    let fixture = Fixture::sm2();
    run_ok(&mut fixture.build_command_for(
        "amd64,arm64,loong64",
        "xinchuang",
        "bundle",
        &fixture.key,
    ));
    let bundle = fixture.dir.path().join("bundle");
    let (ok, stderr) = verify(&bundle, &fixture.public);
    assert!(ok, "{stderr}");
    let manifest = manifest(&bundle);
    assert!(
        manifest["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["arch"] == "loong64"
                && t["rust_target"] == "loongarch64-unknown-linux-musl"),
        "{}",
        manifest["targets"]
    );
    assert!(bundle.join("bin/loong64/yunhui").is_file());
    let layout = bundle.join("images");
    for image in manifest["images"].as_array().unwrap() {
        let reference = format!(
            "oci:{}:{}",
            layout.display(),
            image["oci_ref"].as_str().unwrap()
        );
        let raw = run_ok(
            Command::new("skopeo")
                .args(["inspect", "--raw"])
                .arg(&reference),
        );
        let index: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
        let platforms: Vec<&serde_json::Value> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["platform"])
            .collect();
        assert!(
            platforms.contains(&&serde_json::json!({"os": "linux", "architecture": "loong64"})),
            "{reference}: {platforms:?}"
        );
        let inspected = run_ok(
            Command::new("skopeo")
                .args([
                    "inspect",
                    "--override-os",
                    "linux",
                    "--override-arch",
                    "loong64",
                ])
                .arg(&reference),
        );
        let inspected: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
        assert_eq!(
            (&inspected["Os"], &inspected["Architecture"]),
            (&serde_json::json!("linux"), &serde_json::json!("loong64")),
            "{reference}"
        );
    }
}

#[test]
fn without_arch_a_bundle_is_built_for_every_arch_of_its_edition() {
    let fixture = Fixture::sm2();
    run_ok(&mut fixture.build_command_for("", "xinchuang", "bundle", &fixture.key));
    let targets: Vec<serde_json::Value> = manifest(&fixture.dir.path().join("bundle"))["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["arch"].clone())
        .collect();
    assert_eq!(targets, ["amd64", "arm64", "loong64"]);
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

#[test]
fn verify_passes_on_a_fresh_bundle() {
    // The xinchuang edition signs with SM2 (bundle_sm2.rs has the rest).
    let fixture = Fixture::sm2();
    let bundle = fixture.build("xinchuang", "bundle");
    let (ok, stderr) = verify(&bundle, &fixture.public);
    assert!(ok, "{stderr}");
    let output = run_ok(
        yunhui()
            .args(["bundle", "verify", "--output", "json", "--key"])
            .arg(&fixture.public)
            .arg(&bundle),
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert!(
        report["signer"]
            .as_str()
            .unwrap()
            .starts_with("publisher key "),
        "{report}"
    );
}

/// What a command says when it refuses `bundle`.
fn refusal(args: &[&str], bundle: &Path) -> String {
    let output = yunhui()
        .args(args)
        .arg(bundle)
        .env_remove("YUNHUI_BUNDLE_PUB")
        .output()
        .unwrap();
    assert!(!output.status.success(), "{args:?} accepted the bundle");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_bundle_signed_by_someone_else_is_refused_unless_told_to_skip_the_check() {
    let publisher = Fixture::create();
    let stranger = Fixture::create();
    let forged = stranger.build("enterprise", "forged");
    let (ok, stderr) = verify(&forged, &publisher.public);
    assert!(!ok && stderr.contains("not with the given key"), "{stderr}");
    // No publisher key: every command that reads a bundle refuses it.
    for command in [
        &["bundle", "verify"][..],
        &["registry", "serve", "--listen", "127.0.0.1:0"],
        &["registry", "push", "--registry", "127.0.0.1:9"],
    ] {
        let stderr = refusal(command, &forged);
        assert!(
            stderr.contains("no publisher key") && stderr.contains("--insecure-skip-signature"),
            "{command:?}: {stderr}"
        );
    }
    let stderr = refusal(
        &[
            "bundle",
            "verify",
            "--insecure-skip-signature",
            "--key",
            publisher.public.to_str().unwrap(),
        ],
        &forged,
    );
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    // Told to skip the check: accepted, loudly, and the report says so.
    let output = run_ok(
        yunhui()
            .args([
                "bundle",
                "verify",
                "--output",
                "json",
                "--insecure-skip-signature",
            ])
            .arg(&forged),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("WARNING: --insecure-skip-signature"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert!(
        report["signer"]
            .as_str()
            .unwrap()
            .contains("not checked against a publisher key"),
        "{report}"
    );
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn largest_blob(bundle: &Path) -> String {
    let manifest = manifest(bundle);
    let blob = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().unwrap().starts_with("images/blobs/"))
        .max_by_key(|f| f["size"].as_u64())
        .unwrap();
    blob["path"].as_str().unwrap().to_string()
}

#[test]
fn verify_names_the_file_for_every_kind_of_tampering() {
    let fixture = Fixture::create();
    let pristine = fixture.build("enterprise", "pristine");
    let other_key = fixture.dir.path().join("other");
    run_ok(yunhui().args(["bundle", "keygen", "--out"]).arg(&other_key));
    let blob = largest_blob(&pristine);

    type Tamper = Box<dyn Fn(&Path) -> String>;
    let blob_for_flip = blob.clone();
    let blob_for_delete = blob.clone();
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "flipped byte in a blob",
            Box::new(move |b: &Path| {
                flip_byte(&b.join(&blob_for_flip), 100);
                blob_for_flip.clone()
            }),
        ),
        (
            "flipped byte in the manifest",
            Box::new(|b: &Path| {
                flip_byte(&b.join("manifest.json"), 200);
                "manifest.json:".into()
            }),
        ),
        (
            "flipped byte in the signature",
            Box::new(|b: &Path| {
                let path = b.join("manifest.json.minisig");
                let text = std::fs::read_to_string(&path).unwrap();
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                let mut chars: Vec<char> = lines[1].chars().collect();
                chars[20] = if chars[20] == 'A' { 'B' } else { 'A' };
                lines[1] = chars.into_iter().collect();
                std::fs::write(&path, lines.join("\n") + "\n").unwrap();
                "manifest.json.minisig".into()
            }),
        ),
        (
            "flipped byte in the CLI binary",
            Box::new(|b: &Path| {
                flip_byte(&b.join("bin/arm64/yunhui"), 3);
                "bin/arm64/yunhui".into()
            }),
        ),
        (
            "missing blob",
            Box::new(move |b: &Path| {
                std::fs::remove_file(b.join(&blob_for_delete)).unwrap();
                blob_for_delete.clone()
            }),
        ),
        (
            "extra unlisted file",
            Box::new(|b: &Path| {
                std::fs::write(b.join("images/blobs/sha256/extra"), "x").unwrap();
                "images/blobs/sha256/extra".into()
            }),
        ),
        (
            "symlink out of the bundle",
            Box::new(|b: &Path| {
                std::fs::remove_file(b.join("sbom.cdx.json")).unwrap();
                std::os::unix::fs::symlink("/etc/passwd", b.join("sbom.cdx.json")).unwrap();
                "sbom.cdx.json".into()
            }),
        ),
    ];
    for (case, tamper) in cases {
        let copy = fixture.dir.path().join(case.replace(' ', "-"));
        run_ok(Command::new("cp").arg("-a").arg(&pristine).arg(&copy));
        let expected = tamper(&copy);
        let (ok, stderr) = verify(&copy, &fixture.public);
        assert!(!ok, "{case}: verify passed");
        assert!(
            stderr.contains(&expected),
            "{case}: message does not name {expected}: {stderr}"
        );
    }
    let (ok, stderr) = verify(&pristine, &other_key.with_extension("pub"));
    assert!(!ok, "wrong key accepted");
    assert!(
        stderr.contains("manifest.json.minisig") && stderr.contains("not with the given key"),
        "{stderr}"
    );
    let (ok, stderr) = verify(&pristine, &fixture.public);
    assert!(ok, "pristine copy must still verify: {stderr}");
}

#[test]
fn xinchuang_refuses_to_build_when_an_image_lacks_an_arch() {
    let fixture = Fixture::create();
    std::fs::remove_file(fixture.binaries.join("arm64/yunhui-sfu")).unwrap();
    let output = fixture
        .build_command("xinchuang", "bundle")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("xinchuang edition requires every image for every target arch"),
        "{stderr}"
    );
    assert!(stderr.contains("yunhui/sfu for arm64"), "{stderr}");
    assert!(
        !fixture.dir.path().join("bundle").exists(),
        "nothing written on refusal"
    );
}

#[test]
fn enterprise_leaves_out_a_missing_arch_and_notes_it() {
    let fixture = Fixture::create();
    std::fs::remove_file(fixture.binaries.join("arm64/yunhui-sfu")).unwrap();
    let bundle = fixture.build("enterprise", "bundle");
    let manifest = manifest(&bundle);
    let sfu = manifest["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["component"] == "sfu")
        .unwrap();
    assert_eq!(sfu["platforms"].as_array().map(Vec::len), Some(1));
    assert!(
        manifest["notes"]
            .to_string()
            .contains("yunhui/sfu left out for arm64")
    );
    let (ok, stderr) = verify(&bundle, &fixture.public);
    assert!(ok, "{stderr}");
}

#[test]
fn sbom_lists_the_rust_packages_that_ship() {
    let fixture = Fixture::create();
    let bundle = fixture.build("enterprise", "bundle");
    let sbom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("sbom.cdx.json")).unwrap()).unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    let purls: Vec<&str> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    for expected in [
        "pkg:cargo/yunhui-signal@",
        "pkg:cargo/yunhui-recorder@",
        "pkg:cargo/axum@",
        "pkg:cargo/ring@",
        "pkg:cargo/kube-client@",
    ] {
        assert!(
            purls.iter().any(|p| p.starts_with(expected)),
            "SBOM lacks {expected}"
        );
    }
    let with_hash = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "axum")
        .unwrap();
    assert_eq!(with_hash["hashes"][0]["alg"], "SHA-256");
}
