//! Word lists shared by tense detection (here) and event anchoring (`crate::events`).
//!
//! Each list is a [`WordSet`]: written as a plain list, looked up through a hash set built on
//! first use.

use std::sync::OnceLock;

use rustc_hash::FxHashSet;

/// A fixed list of words with constant-time membership.
pub struct WordSet {
    words: &'static [&'static str],
    set: OnceLock<FxHashSet<&'static str>>,
}

impl WordSet {
    /// A set of `words`.
    pub const fn new(words: &'static [&'static str]) -> Self {
        WordSet {
            words,
            set: OnceLock::new(),
        }
    }

    /// Whether `word` is in the set (exact, case-sensitive).
    pub fn contains<S: AsRef<str> + ?Sized>(&self, word: &S) -> bool {
        self.set
            .get_or_init(|| self.words.iter().copied().collect())
            .contains(word.as_ref())
    }
}

/// Irregular past forms and common past participles: cues of past tense, and event verbs.
pub const IRREGULAR_PAST: &[&str] = &[
    "said",
    "told",
    "met",
    "held",
    "took",
    "made",
    "went",
    "came",
    "began",
    "won",
    "lost",
    "left",
    "became",
    "fell",
    "rose",
    "gave",
    "saw",
    "got",
    "found",
    "paid",
    "sold",
    "led",
    "ran",
    "struck",
    "hit",
    "shot",
    "fought",
    "built",
    "brought",
    "bought",
    "caught",
    "thought",
    "sent",
    "spent",
    "kept",
    "wrote",
    "spoke",
    "broke",
    "chose",
    "drove",
    "flew",
    "froze",
    "grew",
    "knew",
    "threw",
    "wore",
    "beat",
    "bit",
    "hid",
    "set",
    "put",
    "cut",
    "quit",
    "split",
    "spread",
    "sank",
    "swore",
    "stole",
    "stood",
    "understood",
    "withdrew",
    "overtook",
    "undertook",
    "forbade",
    "sought",
    "taught",
    "heard",
    "felt",
    "dealt",
    "meant",
    "fled",
    "bled",
    "slid",
    "lit",
    "rode",
    "rang",
    "sang",
    "swam",
    "begun",
    "done",
    "gone",
    "taken",
    "given",
    "seen",
    "known",
    "shown",
    "written",
    "spoken",
    "broken",
    "chosen",
    "driven",
    "flown",
    "grown",
    "thrown",
    "beaten",
    "hidden",
    "stolen",
    "sworn",
];

/// Negated participles that are adjectives only ("a still unspecified date", "an undisclosed
/// sum"): they end in "-ed" but never make a past tense (unlike "unveiled", "undermined").
pub const NEGATED_PARTICIPLES: &[&str] = &[
    "unspecified",
    "undisclosed",
    "unidentified",
    "unnamed",
    "unexpected",
    "unprecedented",
    "unchanged",
    "unconfirmed",
    "unsolved",
    "unresolved",
    "unsecured",
    "unaudited",
    "unsolicited",
    "unrelated",
    "unlimited",
    "unemployed",
    "unfounded",
    "unmanned",
    "unarmed",
    "unannounced",
    "unexplained",
    "unscheduled",
    "unpublished",
    "unregistered",
    "unsubstantiated",
    "unwanted",
    "unsigned",
    "unchallenged",
    "undated",
    "undecided",
    "undeclared",
    "unopposed",
];
