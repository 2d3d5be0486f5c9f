//! Timeline keys: which timelines an article-level record belongs to.
//!
//! Every record goes to
//! - the **global** timeline of its input topic, key `topic:<input topic>` ([`global_key`]), and
//! - one **entity** timeline per participant and per place, keyed by the entity key of the name
//!   ([`Aliases::key_for`]): "DPRK", "North Korea", "the North", "North Korean" and "Pyongyang"
//!   all give `north-korea`.
//!
//! Which of the two kinds are produced is configurable ([`TimelineKind`]).
//!
//! ## Why places too
//! The event's location (`event.location`) also yields an entity timeline: a place such as
//! "Sohae" is something readers follow ("everything that happened at Sohae"), and a place that
//! is also a participant gets one key, not two (keys are deduplicated).
//!
//! ## Entity keys
//! An entity key is lowercase letters (any script), digits and `-`; it never contains `:`, so it
//! never collides with a global key. Names are looked up in the alias table
//! (`config/aliases.toml`, format documented at its top) after normalisation: case, dots,
//! apostrophes, a possessive `'s`, other punctuation and a leading "the" do not matter. A name
//! that is not in the table gets its [`slug`], after leading titles ("President", "Prime
//! Minister", "South Korean Foreign Minister") are dropped. Pronouns, function words, bare
//! titles, names listed under `ignore` and one-letter names are not entities.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::record::TimelineRecord;

/// Which timelines events go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// One timeline per input topic, key `topic:<input topic>`.
    Global,
    /// One timeline per participant or place, keyed by its entity key.
    Entity,
}

/// The built-in alias table, shipped in `config/aliases.toml`.
pub const BUILTIN_ALIASES: &str = include_str!("../../config/aliases.toml");

/// Why an alias table cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AliasError {
    /// The file cannot be read.
    #[error("cannot read alias table {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not TOML of the documented shape (`ignore = [...]`, `[aliases]` of string
    /// lists).
    #[error("invalid alias table: {0}")]
    Toml(String),
    /// A key is not a valid entity key (empty, or characters other than lowercase letters,
    /// digits and `-`).
    #[error(
        "invalid entity key {key:?}: keys are lowercase letters, digits and '-' (no ':' or spaces)"
    )]
    BadKey {
        /// The key as written.
        key: String,
    },
    /// A name normalises to nothing (only punctuation or "the").
    #[error("alias {name:?} of {key:?} is empty after normalisation")]
    EmptyName {
        /// The key it was listed under.
        key: String,
        /// The name as written.
        name: String,
    },
    /// One name is listed under two keys.
    #[error("alias {name:?} is listed under both {first:?} and {second:?}")]
    Conflict {
        /// The name as written.
        name: String,
        /// The first key it is listed under.
        first: String,
        /// The second key.
        second: String,
    },
}

/// The alias table as written in TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AliasFile {
    /// Names that never yield an entity.
    #[serde(default)]
    ignore: Vec<String>,
    /// Entity key -> names.
    #[serde(default)]
    aliases: std::collections::BTreeMap<String, Vec<String>>,
}

/// The alias table: normalised names to entity keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aliases {
    /// Normalised name -> entity key, or `None` for a name listed under `ignore`.
    map: HashMap<String, Option<String>>,
}

impl Aliases {
    /// The built-in table (`config/aliases.toml`, compiled in).
    pub fn builtin() -> Aliases {
        static BUILTIN: OnceLock<Aliases> = OnceLock::new();
        // The built-in table is checked by a test; should it ever fail to parse, running with no
        // aliases (plain slugs) is better than refusing to start.
        BUILTIN
            .get_or_init(|| Aliases::from_toml(BUILTIN_ALIASES).unwrap_or_default())
            .clone()
    }

    /// Parses a table in the format of `config/aliases.toml`.
    pub fn from_toml(text: &str) -> Result<Aliases, AliasError> {
        let file: AliasFile = toml::from_str(text).map_err(|e| AliasError::Toml(e.to_string()))?;
        let mut map: HashMap<String, Option<String>> = HashMap::new();
        for name in &file.ignore {
            let n = normalise(name);
            if !n.is_empty() {
                map.insert(n, None);
            }
        }
        // Which key each name was first listed under, to report conflicts by the written key.
        let mut listed: HashMap<String, String> = HashMap::new();
        for (key, names) in &file.aliases {
            if !is_valid_key(key) {
                return Err(AliasError::BadKey { key: key.clone() });
            }
            let own = normalise(key);
            for (i, name) in std::iter::once(&own).chain(names).enumerate() {
                let n = normalise(name);
                if n.is_empty() {
                    return Err(AliasError::EmptyName {
                        key: key.clone(),
                        name: name.clone(),
                    });
                }
                match listed.get(&n) {
                    Some(first) if first != key => {
                        // A key that happens to normalise like another key's alias is not a
                        // conflict; the explicit alias wins.
                        if i == 0 {
                            continue;
                        }
                        return Err(AliasError::Conflict {
                            name: name.clone(),
                            first: first.clone(),
                            second: key.clone(),
                        });
                    }
                    _ => {}
                }
                listed.insert(n.clone(), key.clone());
                map.insert(n, Some(key.clone()));
            }
        }
        Ok(Aliases { map })
    }

    /// Reads and parses a table file.
    pub fn load(path: &Path) -> Result<Aliases, AliasError> {
        let text = std::fs::read_to_string(path).map_err(|source| AliasError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Aliases::from_toml(&text)
    }

    /// Layers `other` (a user table) over this one: on a name both list, `other` wins, whether
    /// it aliases or ignores the name.
    pub fn extend(&mut self, other: Aliases) {
        self.map.extend(other.map);
    }

    /// Number of names in the table (aliases and ignored names).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The entity key of a participant or place name: the alias table's key, else the slug of
    /// the name without its leading titles. `None` for names that are not entities: empty,
    /// pronouns and function words, bare titles, ignored names, a single letter.
    pub fn key_for(&self, name: &str) -> Option<String> {
        let n = normalise(name);
        if n.is_empty() {
            return None;
        }
        // "US" is a state, "us" a pronoun: all-caps names skip the word lists.
        let all_caps = name.chars().any(char::is_alphabetic)
            && !name.chars().any(|c| c.is_alphabetic() && c.is_lowercase());
        if !all_caps && is_stopword(&n) {
            return None;
        }
        if let Some(found) = self.map.get(&n) {
            return found.clone();
        }
        let stripped = strip_titles(&n);
        if stripped.is_empty() {
            return None;
        }
        if stripped != n {
            if let Some(found) = self.map.get(stripped) {
                return found.clone();
            }
            if is_stopword(stripped) {
                return None;
            }
        }
        if stripped.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
            return None;
        }
        Some(stripped.to_string())
    }
}

/// The slug of a name: lowercase, letters (non-ASCII ones kept, lowercased) and digits, words
/// joined by `-`. Dots and apostrophes are dropped ("U.S." -> `us`, "People's" -> `peoples`);
/// any other character separates words. Examples: "Kim Jong-un" -> `kim-jong-un`, "Zuzana
/// Čaputová" -> `zuzana-čaputová`.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_sep = false;
    for c in name.chars() {
        if matches!(c, '.' | '\'' | '\u{2019}' | '\u{2018}' | '`') {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_sep && !out.is_empty() {
                out.push('-');
            }
            pending_sep = false;
            out.extend(c.to_lowercase());
        } else {
            pending_sep = true;
        }
    }
    out
}

/// The normalised form used for alias lookup: the slug without a possessive `'s` and without a
/// leading "the".
fn normalise(name: &str) -> String {
    let trimmed = name.trim();
    let base = trimmed
        .strip_suffix("'s")
        .or_else(|| trimmed.strip_suffix("\u{2019}s"))
        .unwrap_or(trimmed);
    let s = slug(base);
    match s.strip_prefix("the-") {
        Some(rest) => rest.to_string(),
        None if s == "the" => String::new(),
        None => s,
    }
}

/// Whether `key` is a valid entity key: non-empty, lowercase letters, digits and inner `-`.
fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('-')
        && !key.ends_with('-')
        && !key.contains("--")
        && key
            .chars()
            .all(|c| c == '-' || c.is_numeric() || (c.is_alphabetic() && !c.is_uppercase()))
}

/// Pronouns and function words: never entities (a normalised, single-word form).
const STOPWORDS: &[&str] = &[
    "a",
    "an",
    "and",
    "or",
    "but",
    "of",
    "in",
    "on",
    "at",
    "by",
    "for",
    "with",
    "from",
    "to",
    "as",
    "if",
    "it",
    "its",
    "he",
    "she",
    "they",
    "them",
    "we",
    "us",
    "i",
    "you",
    "me",
    "him",
    "her",
    "his",
    "hers",
    "our",
    "their",
    "this",
    "that",
    "these",
    "those",
    "who",
    "whom",
    "what",
    "which",
    "where",
    "when",
    "why",
    "how",
    "there",
    "here",
    "some",
    "many",
    "most",
    "all",
    "both",
    "each",
    "such",
    "none",
    "no",
    "not",
    "yes",
    "one",
    "other",
    "another",
    "however",
    "meanwhile",
    "also",
    "still",
    "yet",
    "so",
    "then",
    "now",
    "today",
    "yesterday",
    "tomorrow",
    "last",
    "next",
    "earlier",
    "later",
    "mr",
    "mrs",
    "ms",
    "dr",
    "am",
    "pm",
];

/// Titles and roles that precede a name ("President Donald Trump"), as normalised word
/// sequences. A name made of titles only ("Prime Minister") is not an entity.
const TITLES: &[&str] = &[
    "prime-minister",
    "deputy-prime-minister",
    "foreign-minister",
    "defence-minister",
    "defense-minister",
    "finance-minister",
    "interior-minister",
    "trade-minister",
    "minister",
    "secretary-of-state",
    "secretary-general",
    "secretary",
    "vice-president",
    "president",
    "president-elect",
    "chancellor",
    "supreme-leader",
    "leader",
    "king",
    "queen",
    "prince",
    "princess",
    "pope",
    "ambassador",
    "envoy",
    "special-envoy",
    "special-representative",
    "representative",
    "spokesperson",
    "spokesman",
    "spokeswoman",
    "chief-executive",
    "chief-executive-officer",
    "chief-financial-officer",
    "chief",
    "ceo",
    "cfo",
    "chairman",
    "chairwoman",
    "chair",
    "director",
    "commissioner",
    "governor",
    "gov",
    "senator",
    "sen",
    "rep",
    "congressman",
    "congresswoman",
    "mayor",
    "city-manager",
    "judge",
    "district-judge",
    "us-district-judge",
    "justice",
    "chief-justice",
    "attorney-general",
    "general",
    "gen",
    "colonel",
    "col",
    "admiral",
    "former",
    "acting",
    "interim",
    "deputy",
    "mr",
    "mrs",
    "ms",
    "dr",
    "sir",
    "dame",
    "lord",
    "lady",
];

/// Demonyms dropped before a title ("South Korean Foreign Minister Kang Kyung-wha").
const DEMONYMS: &[&str] = &[
    "us",
    "american",
    "british",
    "chinese",
    "russian",
    "japanese",
    "north-korean",
    "south-korean",
    "korean",
    "french",
    "german",
    "ukrainian",
    "indian",
    "israeli",
    "iranian",
    "turkish",
    "slovak",
    "european",
    "canadian",
    "australian",
    "italian",
    "spanish",
    "federal",
];

fn is_stopword(n: &str) -> bool {
    STOPWORDS.contains(&n) || TITLES.contains(&n)
}

/// The longest entry of `list` that `n` starts with, followed by `-`, as the rest after it.
fn strip_prefix_word<'a>(n: &'a str, list: &[&str]) -> Option<&'a str> {
    list.iter()
        .filter_map(|p| n.strip_prefix(p).and_then(|r| r.strip_prefix('-')))
        .min_by_key(|rest| rest.len())
}

/// Drops leading titles (and a demonym before a title); returns "" when only titles remain.
fn strip_titles(n: &str) -> &str {
    let mut rest = n;
    loop {
        if TITLES.contains(&rest) {
            return "";
        }
        if let Some(r) = strip_prefix_word(rest, TITLES) {
            rest = r;
            continue;
        }
        if let Some(r) = strip_prefix_word(rest, DEMONYMS)
            && (TITLES.contains(&r) || strip_prefix_word(r, TITLES).is_some())
        {
            rest = r;
            continue;
        }
        return rest;
    }
}

/// The key of an input topic's global timeline: `topic:<input topic>`.
pub fn global_key(input_topic: &str) -> String {
    format!("topic:{input_topic}")
}

/// The entity keys of a record's participants, then its place, in order of appearance and
/// without duplicates.
pub fn record_entities(record: &TimelineRecord, aliases: &Aliases) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let names = record
        .event
        .participants
        .iter()
        .chain(record.event.location.iter());
    for name in names {
        if let Some(k) = aliases.key_for(name)
            && !keys.contains(&k)
        {
            keys.push(k);
        }
    }
    keys
}

/// The timeline keys of one record, without duplicates and in a stable order: the global key
/// first (if [`TimelineKind::Global`] is enabled), then the entity keys of its participants and
/// its place in order of appearance (if [`TimelineKind::Entity`] is).
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
        for k in record_entities(record, aliases) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses() {
        let a = Aliases::from_toml(BUILTIN_ALIASES).expect("config/aliases.toml parses");
        assert!(a.len() > 100);
    }

    #[test]
    fn titles_are_stripped() {
        assert_eq!(strip_titles("president-donald-trump"), "donald-trump");
        assert_eq!(
            strip_titles("south-korean-foreign-minister-kang-kyung-wha"),
            "kang-kyung-wha"
        );
        assert_eq!(strip_titles("prime-minister"), "");
        assert_eq!(
            strip_titles("chinese-foreign-ministry"),
            "chinese-foreign-ministry"
        );
    }
}
