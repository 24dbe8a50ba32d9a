//! The committed TypeScript types must equal what the Rust types generate.

use std::path::PathBuf;

#[test]
fn committed_typescript_types_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/src/proto.ts");
    let generated = yunhui_proto::typescript::definitions();
    if std::env::var_os("UPDATE_PROTO_TS").is_some() {
        std::fs::write(&path, &generated).expect("write proto.ts");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "services/web/src/proto.ts is stale; run `UPDATE_PROTO_TS=1 cargo test -p yunhui-proto --test typescript`"
    );
}
