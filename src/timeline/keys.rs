//! Timeline keys (first cut by the lead so the tree compiles; the full version replaces it).

use serde::{Deserialize, Serialize};

use super::record::TimelineRecord;

/// Which timelines events go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// One timeline per input topic.
    Global,
    /// One timeline per participant entity.
    Entity,
}

/// Alias table: normalised names to keys.
#[derive(Debug, Clone, Default)]
pub struct Aliases {
    map: std::collections::HashMap<String, String>,
}

/// Why an alias table cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AliasError(String);

impl Aliases {
    /// The built-in table.
    pub fn builtin() -> Aliases {
        Aliases::default()
    }
    /// Parses a table.
    pub fn from_toml(_text: &str) -> Result<Aliases, AliasError> {
        Ok(Aliases::default())
    }
    /// Loads a table from a file.
    pub fn load(path: &std::path::Path) -> Result<Aliases, AliasError> {
        let text = std::fs::read_to_string(path).map_err(|e| AliasError(e.to_string()))?;
        Aliases::from_toml(&text)
    }
    /// Layers `other` over this table.
    pub fn extend(&mut self, other: Aliases) {
        self.map.extend(other.map);
    }
    /// Entity key of a name.
    pub fn key_for(&self, name: &str) -> Option<String> {
        let s = slug(name);
        (!s.is_empty()).then(|| self.map.get(&s).cloned().unwrap_or(s))
    }
}

/// Lowercase slug.
pub fn slug(name: &str) -> String {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// Key of an input topic's global timeline.
pub fn global_key(input_topic: &str) -> String {
    format!("topic:{input_topic}")
}

/// Timeline keys of one record.
pub fn timeline_keys(
    record: &TimelineRecord,
    input_topic: &str,
    kinds: &[TimelineKind],
    aliases: &Aliases,
) -> Vec<String> {
    let mut keys = Vec::new();
    if kinds.contains(&TimelineKind::Global) {
        keys.push(global_key(input_topic));
    }
    if kinds.contains(&TimelineKind::Entity) {
        for p in &record.event.participants {
            if let Some(k) = aliases.key_for(p)
                && !keys.contains(&k)
            {
                keys.push(k);
            }
        }
    }
    keys
}
