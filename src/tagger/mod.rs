//! The temporal tagger: text plus a reference time in, TIMEX3 expressions out.
//!
//! Pure: no I/O, no clock. The reference time (the article's publication time, with its UTC
//! offset) is always an argument.
//!
//! Two stages, as in duckling and HeidelTime:
//! - **extraction** ([`rules`]): a table of named rules, each a pattern with *named* parts and a
//!   production that turns the parts into an underspecified [`value::Partial`] ("Dec. 7", year
//!   unknown; "Monday", direction unknown);
//! - **resolution** ([`resolve`]): anchors each partial value to the reference time or to the last
//!   date mentioned, using the tense of the sentence, and yields the TIMEX3 `value`, `mod` and the
//!   calendar interval the value denotes.

pub mod calendar;
pub mod resolve;
pub mod rules;
pub mod value;
pub mod words;

use std::ops::Range;

use chrono::{DateTime, FixedOffset, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// TIMEX3 `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TimexType {
    /// A calendar date or period ("Dec. 7", "June 2018", "the 1990s").
    Date,
    /// A time of day, possibly on a date ("10:32 a.m. EDT on Monday", "Sunday night").
    Time,
    /// A length of time ("three days", "P3D").
    Duration,
    /// A recurrence ("every week").
    Set,
}

impl TimexType {
    /// The TIMEX3 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TimexType::Date => "DATE",
            TimexType::Time => "TIME",
            TimexType::Duration => "DURATION",
            TimexType::Set => "SET",
        }
    }
}

/// TIMEX3 `mod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mod {
    /// "before 2019"
    Before,
    /// "after June"
    After,
    /// "on or before", "by the end of" as a deadline is END, not this
    OnOrBefore,
    /// "on or after", "since"
    OnOrAfter,
    /// "less than two years"
    LessThan,
    /// "more than two years"
    MoreThan,
    /// "no more than"
    EqualOrLess,
    /// "at least"
    EqualOrMore,
    /// "early April", "the beginning of the year"
    Start,
    /// "mid-2025", "the middle of the month"
    Mid,
    /// "late 2019", "the end of the year"
    End,
    /// "about three years", "around 1990"
    Approx,
}

impl Mod {
    /// The TIMEX3 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mod::Before => "BEFORE",
            Mod::After => "AFTER",
            Mod::OnOrBefore => "ON_OR_BEFORE",
            Mod::OnOrAfter => "ON_OR_AFTER",
            Mod::LessThan => "LESS_THAN",
            Mod::MoreThan => "MORE_THAN",
            Mod::EqualOrLess => "EQUAL_OR_LESS",
            Mod::EqualOrMore => "EQUAL_OR_MORE",
            Mod::Start => "START",
            Mod::Mid => "MID",
            Mod::End => "END",
            Mod::Approx => "APPROX",
        }
    }
}

/// Precision of a resolved value.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// A time of day (minutes or finer, or a part of a day such as "night").
    Time,
    /// One calendar day.
    Day,
    /// An ISO week.
    Week,
    /// A calendar month.
    Month,
    /// A season.
    Season,
    /// A quarter.
    Quarter,
    /// A half year.
    Half,
    /// A calendar year.
    Year,
    /// A decade.
    Decade,
    /// A century.
    Century,
    /// No calendar interval (durations, sets, PRESENT_REF and the like).
    None,
}

/// What a relative value was resolved against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The expression is absolute ("June 2018"); no anchor was needed.
    Absolute,
    /// Resolved against the reference (publication) time.
    Reference,
    /// Resolved against the last date mentioned before it ("two days later").
    Previous,
}

/// One temporal expression found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timex {
    /// Byte offsets into the text; always on char boundaries.
    pub span: Range<usize>,
    /// The covered text.
    pub text: String,
    /// TIMEX3 `type`.
    pub kind: TimexType,
    /// TIMEX3 `value`, e.g. `2019-12-07`, `2018-06`, `P3D`, `PRESENT_REF`.
    pub value: String,
    /// TIMEX3 `mod`, if any.
    pub modifier: Option<Mod>,
    /// What the value was resolved against.
    pub anchor: Anchor,
    /// Precision of `value`.
    pub granularity: Granularity,
    /// Inclusive calendar interval the value denotes after `mod`; `None` when it is not a
    /// calendar interval (durations, sets, vague references).
    pub interval: Option<(NaiveDate, NaiveDate)>,
    /// For ranges ("from March 11 to 13"): the id (index in the output) of the other end, and
    /// whether this is the start (`true`) or the end of the range.
    pub range: Option<RangeEnd>,
    /// Name of the rule that found the expression (for debugging and the rule table tests).
    pub rule: &'static str,
}

/// Marks a timex as one end of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RangeEnd {
    /// Index, in the tagger's output, of the other end of the range.
    pub other: usize,
    /// `true` for the start of the range, `false` for its end.
    pub is_start: bool,
}

impl Timex {
    /// Whether this expression can date a timeline event: a DATE or TIME with a calendar
    /// interval. Durations, sets and vague references ("now", "recently") are not.
    pub fn is_datable(&self) -> bool {
        matches!(self.kind, TimexType::Date | TimexType::Time) && self.interval.is_some()
    }
}

/// The text within `radius` bytes before `start` and after `end`, cut on char boundaries.
///
/// Every look at the context of an expression goes through a bounded window, so that the work
/// per expression is constant and the whole pass stays linear in the text.
pub fn window(text: &str, start: usize, end: usize, radius: usize) -> (&str, &str) {
    let mut lo = start.saturating_sub(radius);
    while lo < start && !text.is_char_boundary(lo) {
        lo += 1;
    }
    let mut hi = end.saturating_add(radius).min(text.len());
    while hi > end && !text.is_char_boundary(hi) {
        hi -= 1;
    }
    (
        text.get(lo..start).unwrap_or(""),
        text.get(end..hi).unwrap_or(""),
    )
}

/// The byte index just after the last char of `s` that satisfies `pred` (0 if none): the start
/// of the trailing run of chars that do not. Safe for multi-byte chars.
pub fn after_last(s: &str, pred: impl Fn(char) -> bool) -> usize {
    s.char_indices()
        .rev()
        .find(|&(_, c)| pred(c))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0)
}

/// Finds and normalises every temporal expression in `text`, resolved against `reference`.
///
/// The result is ordered by position; spans do not overlap.
///
/// ```
/// let reference = chrono::DateTime::parse_from_rfc3339("2019-12-17T06:11:00+09:00").unwrap();
/// let found = dateline::tagger::tag("tests on Dec. 7 and 13", reference);
/// let values: Vec<&str> = found.iter().map(|t| t.value.as_str()).collect();
/// assert_eq!(values, ["2019-12-07", "2019-12-13"]);
/// ```
pub fn tag(text: &str, reference: DateTime<FixedOffset>) -> Vec<Timex> {
    let found = rules::extract(text);
    resolve::resolve_all(text, found, reference)
}
