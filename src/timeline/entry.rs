//! The timeline entry: the public contract of the timeline stage, one JSON object per change of
//! one event on one timeline.
//!
//! An entry is one real event on one timeline (an entity such as `north-korea`, or the global
//! timeline of an input topic), merged from every article that reports it. Each time it is
//! created or gains a report, a new version of it is published under the same `entry_id`, keyed
//! by the timeline key, with the ids of its neighbours in date order so that a subscriber can keep
//! the timeline sorted without re-reading it.
//!
//! The JSON Schema in `docs/schemas/timeline-entry.schema.json` is generated from these types.

use chrono::{DateTime, FixedOffset, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::record::{DateInfo, EventInfo};

/// Version of the timeline-entry contract, sent in `schema_version` and the `schema-version`
/// header.
pub const ENTRY_SCHEMA_VERSION: u32 = 1;

/// One event on one timeline, as of its latest report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntry {
    /// Contract version ([`ENTRY_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The timeline key (also the Kafka key): an entity key such as `north-korea`, or
    /// `topic:<input topic>` for the global timeline of a topic.
    pub timeline: String,
    /// Stable id of the entry: a hash of the timeline key and the `event_id` of the first report
    /// that created it. Format: `te-` and 16 hex digits.
    pub entry_id: String,
    /// Version of this entry: 1 when created, plus one for each report merged into it (so it is
    /// also the number of reports).
    pub version: u64,
    /// Version of the whole timeline after this change: plus one for every change published on
    /// the timeline (new entry or update), so a subscriber can detect a gap.
    pub timeline_version: u64,
    /// Where the entry sits in date order when it is published.
    pub position: Position,
    /// The event's date: that of the most precise report.
    pub date: DateInfo,
    /// What happened, as told by the first report.
    pub event: EventInfo,
    /// The reports of the event, in the order they arrived: the first 20 (`version` counts all
    /// of them), so a record stays small however many outlets report one event.
    pub sources: Vec<SourceRef>,
    /// Watermark mode only: true when the change came after later-dated entries of the same
    /// timeline had already been released; such changes go to the late topic.
    #[serde(default)]
    pub late: bool,
}

/// The neighbours of an entry in its timeline's date order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// The entry just before it (`null`: it is the first).
    pub before: Option<String>,
    /// The entry just after it (`null`: it is the last).
    pub after: Option<String>,
}

/// One report of an event: the article and the record read from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    /// The article id.
    pub article_id: String,
    /// Its publication time.
    pub published_at: DateTime<FixedOffset>,
    /// The outlet, when known.
    pub source: Option<String>,
    /// The article URL, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The `event_id` of the article-level record.
    pub event_id: String,
    /// The date as written in that article.
    pub date_text: String,
    /// The trigger in that article.
    pub trigger: String,
}

/// A timeline's summary, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineSummary {
    /// The timeline key.
    pub key: String,
    /// Number of entries.
    pub entries: usize,
    /// The timeline's version (changes published so far).
    pub version: u64,
    /// First day covered by its entries.
    pub first: Option<NaiveDate>,
    /// Last day covered by its entries.
    pub last: Option<NaiveDate>,
}

/// Read access to timelines, for the HTTP server.
pub trait TimelineView: Send + Sync {
    /// Every timeline this instance holds, sorted by key.
    fn timelines(&self) -> Vec<TimelineSummary>;
    /// The entries of one timeline in date order, restricted to those whose interval meets
    /// `[from, to]` (each bound optional). `None`: no such timeline here.
    fn entries(
        &self,
        key: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Option<Vec<TimelineEntry>>;
}
