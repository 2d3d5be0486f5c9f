//! Merge rules (first cut by the lead so the tree compiles; the full version replaces it).

use super::keys::Aliases;
use super::record::{DateInfo, EventInfo};

/// Longest interval, in days, that can still match a day-level report.
pub const MAX_SPAN_DAYS: i64 = 400;

/// What the store keeps of an entry to compare reports with.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The entry's date.
    pub date: &'a DateInfo,
    /// The entry's event.
    pub event: &'a EventInfo,
    /// Entity keys of every report merged so far.
    pub entities: &'a [String],
}

/// Whether two reports are the same real event.
pub fn same_event(a: &Candidate<'_>, b: &Candidate<'_>) -> bool {
    a.date.start == b.date.start
        && a.date.end == b.date.end
        && a.event.trigger.to_lowercase() == b.event.trigger.to_lowercase()
}

/// The best matching candidate.
pub fn best_match(candidates: &[Candidate<'_>], incoming: &Candidate<'_>) -> Option<usize> {
    candidates.iter().position(|c| same_event(c, incoming))
}

/// Entity keys of an event.
pub fn entity_keys(event: &EventInfo, aliases: &Aliases) -> Vec<String> {
    event
        .participants
        .iter()
        .filter_map(|p| aliases.key_for(p))
        .collect()
}
