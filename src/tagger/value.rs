//! Underspecified temporal values, as produced by the rules.
