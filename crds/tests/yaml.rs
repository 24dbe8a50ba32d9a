//! The committed CRD YAML in `crds/yaml/` must equal what the types generate.
//! Regenerate with `UPDATE_CRDS=1 cargo test -p yunhui-crds`.

use std::path::PathBuf;

#[test]
fn committed_crd_yaml_matches_the_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("yaml");
    let update = std::env::var_os("UPDATE_CRDS").is_some();
    let mut stale = Vec::new();
    for (file, crd) in yunhui_crds::all_crds() {
        let generated = yunhui_crds::crd_yaml(&crd).expect("CRD serialises to YAML");
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).expect("create crds/yaml");
            std::fs::write(&path, &generated).expect("write CRD YAML");
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != generated {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "CRD YAML is stale: {stale:?}; run `UPDATE_CRDS=1 cargo test -p yunhui-crds` and commit crds/yaml/"
    );
}

#[test]
fn every_schema_property_has_a_description() {
    fn walk(path: &str, v: &serde_json::Value, missing: &mut Vec<String>) {
        if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
            for (name, prop) in props {
                let here = format!("{path}.{name}");
                if prop.get("description").is_none()
                    && !matches!(name.as_str(), "apiVersion" | "kind" | "metadata")
                {
                    missing.push(here.clone());
                }
                walk(&here, prop, missing);
            }
        }
        if let Some(items) = v.get("items") {
            walk(&format!("{path}[]"), items, missing);
        }
    }
    let mut missing = Vec::new();
    for (file, crd) in yunhui_crds::all_crds() {
        let json = serde_json::to_value(&crd).expect("CRD serialises");
        let schema = &json["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        walk(file, schema, &mut missing);
    }
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:?}"
    );
}

#[test]
fn chart_crds_equal_the_generated_crds() {
    let chart = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charts/yunhui-operator/crds");
    for (file, crd) in yunhui_crds::all_crds() {
        let generated = yunhui_crds::crd_yaml(&crd).expect("CRD serialises to YAML");
        let path = chart.join(file);
        if std::env::var_os("UPDATE_CRDS").is_some() {
            std::fs::write(&path, &generated).expect("write chart CRD");
            continue;
        }
        let in_chart = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            in_chart == generated,
            "{} differs from the generated CRD; run `UPDATE_CRDS=1 cargo test -p yunhui-crds`",
            path.display()
        );
    }
}
