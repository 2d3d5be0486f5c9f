//! Calendar arithmetic used by resolution.
