//! Resolution.
use chrono::{DateTime, FixedOffset};

use super::Timex;
use super::rules::Found;

/// Resolves all raw matches.
pub fn resolve_all(_text: &str, _found: Vec<Found>, _reference: DateTime<FixedOffset>) -> Vec<Timex> {
    Vec::new()
}
