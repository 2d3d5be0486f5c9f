//! The committed JSON Schemas in `docs/schemas/` must match the Rust types, and real output must
//! validate against them.

use std::path::Path;

#[test]
fn committed_schemas_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas");
    let mut stale = Vec::new();
    for (name, file, schema) in dateline::schemas::all() {
        let committed = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        if committed != schema {
            stale.push(format!("{name} ({file})"));
        }
    }
    assert!(
        stale.is_empty(),
        "stale schemas: {stale:?}; run scripts/gen-schemas.sh and commit docs/schemas"
    );
}

#[test]
fn seed_records_validate_against_the_committed_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("docs/schemas/timeline-record.schema.json"))
            .expect("schema file"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let raw = std::fs::read(root.join("../shared/seed/article.json")).expect("seed");
    let fallback = dateline::article::Fallback {
        id: "seed".into(),
        published_at: None,
    };
    let article = dateline::article::decode(Some(&raw), 1 << 20, &fallback).expect("decodes");
    let records = dateline::timeline::extract(&article);
    assert!(!records.is_empty());
    for r in records {
        let v = serde_json::to_value(&r).expect("serialises");
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
    // A record missing a required field must not validate.
    let mut bad =
        serde_json::to_value(dateline::timeline::extract(&article)[0].clone()).expect("json");
    bad.as_object_mut().expect("object").remove("event_id");
    assert!(!validator.is_valid(&bad));
}

#[test]
fn timeline_entries_validate_against_the_committed_schema() {
    use dateline::timeline::store::{Changes, PartitionState, StoreSettings};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("docs/schemas/timeline-entry.schema.json"))
            .expect("schema file"),
    )
    .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let raw = std::fs::read(root.join("../shared/seed/article.json")).expect("seed");
    let fallback = dateline::article::Fallback {
        id: "seed".into(),
        published_at: None,
    };
    let article = dateline::article::decode(Some(&raw), 1 << 20, &fallback).expect("decodes");
    let settings = StoreSettings::default();
    let mut state = PartitionState::default();
    let mut changes = Changes::default();
    for r in dateline::timeline::extract(&article) {
        state.apply("north-korea", &r, &settings, &mut changes);
    }
    assert!(!changes.output.is_empty());
    for e in &changes.output {
        let v = serde_json::to_value(e).expect("serialises");
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
    let mut bad = serde_json::to_value(&changes.output[0]).expect("json");
    bad.as_object_mut().expect("object").remove("position");
    assert!(!validator.is_valid(&bad));
}
