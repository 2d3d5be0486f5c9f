//! JSON Schemas of the public contracts, generated from the Rust types.
//!
//! The committed copies live in `docs/schemas/`; `tests/schemas.rs` fails when they are stale.
//! Regenerate them with `scripts/gen-schemas.sh` (or `dateline schema NAME`).

use crate::article::Article;
use crate::pipeline::dlq::DeadLetterEnvelope;
use crate::timeline::{TimelineEntry, TimelineRecord};

/// Every contract: its name (as given to `dateline schema`), its file under `docs/schemas/`,
/// and its schema as pretty JSON.
pub fn all() -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "article",
            "article.schema.json",
            render(schemars::schema_for!(Article)),
        ),
        (
            "record",
            "timeline-record.schema.json",
            render(schemars::schema_for!(TimelineRecord)),
        ),
        (
            "entry",
            "timeline-entry.schema.json",
            render(schemars::schema_for!(TimelineEntry)),
        ),
        (
            "dead-letter",
            "dead-letter.schema.json",
            render(schemars::schema_for!(DeadLetterEnvelope)),
        ),
    ]
}

fn render(schema: schemars::Schema) -> String {
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
