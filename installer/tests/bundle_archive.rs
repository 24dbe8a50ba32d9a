//! The single-file bundle: `bundle build` writes it, `bundle verify` and
//! `registry serve` accept it, and extraction refuses crafted archives —
//! each with an error naming the entry, nothing written outside the target,
//! and nothing left behind.

use crate::bundle_fixture;

use std::io::Read;
use std::path::{Path, PathBuf};

use bundle_fixture::{Fixture, manifest, run_ok, yunhui};
use yunhui_installer::bundle::archive;

#[test]
fn build_writes_one_file_that_verify_accepts_compressed_or_not() {
    let fixture = Fixture::create();
    let dir = fixture.build("enterprise", "zst");
    let file = dir.with_file_name("zst.tar.zst");
    let mut magic = [0u8; 4];
    std::fs::File::open(&file)
        .expect("single file written")
        .read_exact(&mut magic)
        .unwrap();
    assert_eq!(magic, [0x28, 0xb5, 0x2f, 0xfd], "zstd by default");
    let out = run_ok(
        yunhui()
            .args(["bundle", "verify", "--output", "json", "--key"])
            .arg(&fixture.public)
            .arg(&file),
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["ok"], true);
    assert_eq!(
        result["aggregate_sha256"],
        manifest(&dir)["aggregate_sha256"]
    );

    let mut plain = fixture.build_command("enterprise", "plain");
    plain.args(["--archive", "tar"]);
    run_ok(&mut plain);
    let tar = fixture.dir.path().join("plain.tar");
    run_ok(
        yunhui()
            .args(["bundle", "verify", "--key"])
            .arg(&fixture.public)
            .arg(&tar),
    );
    // Regular files only, the signed head first, then the manifest's order.
    let mut listed = Vec::new();
    let mut reader = tar::Archive::new(std::fs::File::open(&tar).unwrap());
    for entry in reader.entries().unwrap() {
        let entry = entry.unwrap();
        assert_eq!(entry.header().entry_type(), tar::EntryType::Regular);
        listed.push(entry.path().unwrap().to_string_lossy().into_owned());
    }
    let mut expected: Vec<String> = HEAD.iter().map(|s| s.to_string()).collect();
    expected.extend(files(&fixture.dir.path().join("plain")));
    assert_eq!(listed, expected);
}

/// What goes into a crafted archive.
enum Entry<'a> {
    /// A regular file with the bundle's content for that path.
    Bundle(&'a str),
    /// A regular file with these bytes; the path is written raw.
    Raw(&'a [u8], Vec<u8>),
    /// A regular file whose header claims another size than the content it carries.
    Sized(&'a str, u64),
    /// A special entry (link, device) with a link target.
    Special(&'a str, tar::EntryType, &'a str),
}

fn craft(bundle: &Path, out: &Path, entries: &[Entry]) {
    let mut builder = tar::Builder::new(std::fs::File::create(out).unwrap());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(0);
        let (path, data): (Vec<u8>, Vec<u8>) = match entry {
            Entry::Bundle(path) => (
                path.as_bytes().to_vec(),
                std::fs::read(bundle.join(path)).unwrap(),
            ),
            Entry::Raw(path, data) => (path.to_vec(), data.clone()),
            Entry::Sized(path, _) => (
                path.as_bytes().to_vec(),
                std::fs::read(bundle.join(path)).unwrap(),
            ),
            Entry::Special(path, kind, target) => {
                header.set_entry_type(*kind);
                if !target.is_empty() {
                    header.set_link_name(target).unwrap();
                }
                if matches!(kind, tar::EntryType::Char) {
                    header.set_device_major(1).unwrap();
                    header.set_device_minor(3).unwrap();
                }
                (path.as_bytes().to_vec(), Vec::new())
            }
        };
        // Raw path bytes: the tar crate's own setters refuse `..` and roots.
        let name = &mut header.as_old_mut().name;
        name.fill(0);
        name[..path.len()].copy_from_slice(&path);
        let size = match entry {
            Entry::Sized(_, size) => *size,
            _ => data.len() as u64,
        };
        header.set_size(size);
        if matches!(entry, Entry::Special(..)) {
            header.set_size(0);
        }
        header.set_cksum();
        builder.append(&header, &data[..]).unwrap();
    }
    builder.finish().unwrap();
}

const HEAD: [&str; 3] = ["manifest.json", "manifest.json.minisig", "bundle.pub"];

fn files(bundle: &Path) -> Vec<String> {
    manifest(bundle)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .filter(|p| p != "bundle.pub")
        .collect()
}

fn extract_error(fixture: &Fixture, bundle: &Path, name: &str, entries: &[Entry]) -> String {
    let archive_path = fixture.dir.path().join(format!("{name}.tar"));
    craft(bundle, &archive_path, entries);
    let target: PathBuf = fixture.dir.path().join(format!("{name}-out"));
    let error = archive::extract(&archive_path, &target, Some(&fixture.public))
        .err()
        .unwrap_or_else(|| panic!("{name}: the crafted archive was accepted"));
    assert!(
        !target.exists(),
        "{name}: the target directory was left behind"
    );
    error.to_string()
}

#[test]
fn crafted_archives_are_refused_naming_the_entry() {
    let fixture = Fixture::create();
    let bundle = fixture.build("enterprise", "good");
    let all = files(&bundle);
    let with = |extra: Vec<Entry<'static>>| -> Vec<Entry<'static>> {
        let mut v: Vec<Entry<'static>> = HEAD.iter().map(|p| Entry::Bundle(p)).collect();
        v.extend(extra);
        v
    };
    let outside = fixture.dir.path().join("escaped");
    let absolute = fixture.dir.path().join("absolute-target");
    let absolute_name: &'static str =
        Box::leak(absolute.to_string_lossy().into_owned().into_boxed_str());
    let blob: &'static str = Box::leak(
        all.iter()
            .find(|p| p.starts_with("images/blobs/"))
            .unwrap()
            .clone()
            .into_boxed_str(),
    );
    let cases: Vec<(&str, Vec<Entry<'static>>, String)> = vec![
        (
            "dotdot",
            with(vec![Entry::Raw(b"../escaped", b"x".to_vec())]),
            "entry \"../escaped\": unsafe path".into(),
        ),
        (
            "absolute",
            with(vec![Entry::Raw(absolute_name.as_bytes(), b"x".to_vec())]),
            format!("entry {absolute_name:?}: unsafe path"),
        ),
        (
            "symlink",
            with(vec![Entry::Special(
                "images/evil",
                tar::EntryType::Symlink,
                "/etc/passwd",
            )]),
            "entry \"images/evil\": is a symbolic link".into(),
        ),
        (
            "hardlink",
            with(vec![Entry::Special(
                "images/evil",
                tar::EntryType::Link,
                "manifest.json",
            )]),
            "entry \"images/evil\": is a hard link".into(),
        ),
        (
            "device",
            with(vec![Entry::Special("dev-null", tar::EntryType::Char, "")]),
            "entry \"dev-null\": is a device".into(),
        ),
        (
            "unlisted",
            with(vec![Entry::Raw(b"extra.txt", b"hello".to_vec())]),
            "entry \"extra.txt\": not listed in the signed manifest".into(),
        ),
        (
            "altered content",
            with(vec![Entry::Raw(blob.as_bytes(), {
                let mut data = std::fs::read(bundle.join(blob)).unwrap();
                data[0] ^= 1;
                data
            })]),
            format!("entry {blob:?}: content"),
        ),
        (
            "lying size",
            with(vec![Entry::Sized(blob, 1 << 40)]),
            format!("entry {blob:?}: header says 1099511627776 bytes"),
        ),
        (
            "twice",
            with(vec![Entry::Bundle(blob), Entry::Bundle(blob)]),
            format!("entry {blob:?}: appears twice"),
        ),
        (
            "manifest not first",
            vec![Entry::Bundle(blob), Entry::Bundle("manifest.json")],
            format!("entry {blob:?}: expected manifest.json at position 1"),
        ),
        (
            "missing file",
            with(vec![Entry::Bundle(blob)]),
            "missing (listed in the manifest)".into(),
        ),
        (
            "forged manifest",
            vec![
                Entry::Raw(b"manifest.json", {
                    let mut data = std::fs::read(bundle.join("manifest.json")).unwrap();
                    let at = data.len() / 2;
                    data[at] ^= 1;
                    data
                }),
                Entry::Bundle("manifest.json.minisig"),
                Entry::Bundle("bundle.pub"),
            ],
            "manifest.json: altered after signing".into(),
        ),
    ];
    for (name, entries, expected) in cases {
        let error = extract_error(&fixture, &bundle, &name.replace(' ', "-"), &entries);
        assert!(
            error.contains(&expected),
            "{name}: expected {expected:?} in: {error}"
        );
        assert!(!outside.exists(), "{name}: wrote outside the target");
        assert!(!absolute.exists(), "{name}: wrote to an absolute path");
    }
    // The whole archive, crafted the same way, is accepted (the crafting is sound).
    let mut whole: Vec<Entry> = HEAD.iter().map(|p| Entry::Bundle(p)).collect();
    whole.extend(all.iter().map(|p| Entry::Bundle(p)));
    let path = fixture.dir.path().join("whole.tar");
    craft(&bundle, &path, &whole);
    let target = fixture.dir.path().join("whole-out");
    let verified = archive::extract(&path, &target, Some(&fixture.public)).expect("accepted");
    assert_eq!(verified.files.len(), all.len() + 1);
    // The CLI reports the same, naming the entry.
    let evil = fixture.dir.path().join("cli.tar");
    craft(
        &bundle,
        &evil,
        &with(vec![Entry::Special(
            "bin/amd64/yunhui",
            tar::EntryType::Symlink,
            "/bin/sh",
        )]),
    );
    let out = yunhui()
        .args(["bundle", "verify", "--key"])
        .arg(&fixture.public)
        .arg(&evil)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("entry \"bin/amd64/yunhui\": is a symbolic link"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
