//! The timeline record: the public output contract, one JSON object per dated event.
//!
//! The JSON Schema in `docs/schemas/timeline-record.schema.json` is generated from these types
//! (`dateline schema record`); a test fails when the committed file is stale.

use chrono::{DateTime, FixedOffset, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::events::Modality;
use crate::tagger::{Granularity, Mod, TimexType};

/// Version of this contract. Bumped on any incompatible change; sent in the `schema-version`
/// header and the `schema_version` field.
pub const SCHEMA_VERSION: u32 = 1;

/// One dated event of one article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineRecord {
    /// Contract version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Stable id: a hash of the article id, the date span and the resolved value, so the same
    /// input always gives the same id. Format: `ev-` and 16 hex digits.
    pub event_id: String,
    /// The timeline this record belongs to (the Kafka key). Until cross-article timelines, the
    /// article id.
    pub timeline: String,
    /// Position of the record in its article's chronological order, from 0.
    pub seq: u32,
    /// The article the event was read from.
    pub article: ArticleRef,
    /// When the event happened, as written and as resolved.
    pub date: DateInfo,
    /// What happened.
    pub event: EventInfo,
}

/// The article a record comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleRef {
    /// The article id from the input.
    pub id: String,
    /// Publication time; the reference for relative dates.
    pub published_at: DateTime<FixedOffset>,
    /// The outlet, when the input names it.
    pub source: Option<String>,
    /// The article URL, when the input has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The date of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DateInfo {
    /// TIMEX3 value, e.g. `2019-12-07`, `2018-06`, `2019`, `199`, `2019-W50`, `2019-12-16T10:32-04:00`.
    pub value: String,
    /// TIMEX3 mod (`START`, `MID`, `END`, `APPROX`, ...), if any.
    #[serde(rename = "mod")]
    pub modifier: Option<Mod>,
    /// TIMEX3 type: `DATE` or `TIME`.
    #[serde(rename = "type")]
    pub kind: TimexType,
    /// First calendar day of the interval the value denotes, after `mod`.
    pub start: NaiveDate,
    /// Last calendar day (inclusive) of that interval.
    pub end: NaiveDate,
    /// Precision of the value.
    pub granularity: Granularity,
    /// The expression as written.
    pub text: String,
    /// Byte offsets of the expression in the article text: `[start, end)`.
    pub span: [usize; 2],
    /// For a range ("from March 11 to 13"), the whole range, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[NaiveDate; 2]>,
}

/// The event a date is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInfo {
    /// The verb or event noun the date modifies ("rejected", "tests", "summit").
    pub trigger: String,
    /// A short phrase around the trigger ("two presumed rocket engine tests").
    pub phrase: String,
    /// Named participants (people, organisations, states), in order of appearance.
    pub participants: Vec<String>,
    /// Where it happened, when stated.
    pub location: Option<String>,
    /// Whether it happened, is reported, planned, threatened or negated.
    pub modality: Modality,
    /// The sentence, as written.
    pub sentence: String,
}
