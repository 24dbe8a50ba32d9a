//! The site file an integrator writes for `yunhui install`: every input is
//! either a site or an error naming what is wrong, and the extra manifests'
//! multi-document YAML splits into objects or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunhui_installer::install::site::{Site, SiteError, parse_documents};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_documents(text);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("site.yaml");
    std::fs::write(&path, text).expect("the input written");
    match Site::load(&path, false) {
        Ok(_) => {}
        Err(SiteError::Field { field, message, .. }) => {
            assert!(
                !field.is_empty() && !message.is_empty(),
                "a field error names the field"
            );
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});
