//! A bundle file as an air-gapped site receives it (maybe damaged, maybe
//! crafted): reading its manifest for preflight, and extracting it, which
//! must write nothing outside its target and leave nothing behind when it
//! refuses the bundle.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunhui_installer::bundle::archive::{extract, read_manifest};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let archive = dir.path().join("bundle.tar");
    std::fs::write(&archive, data).expect("the input written");
    let _ = read_manifest(&archive);
    let target = dir.path().join("out");
    let result = extract(&archive, &target, None);
    if result.is_err() {
        assert!(
            !target.exists(),
            "a refused bundle leaves nothing at the target"
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("the directory listed")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names.retain(|n| n != "bundle.tar" && n != "out");
    assert!(
        names.is_empty(),
        "extraction wrote outside its target: {names:?}"
    );
});
