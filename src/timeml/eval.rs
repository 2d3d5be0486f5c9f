//! TempEval-3 TIMEX3 scores (UzZaman et al. 2013), as `TE3-evaluation.py` reports them.
//!
//! Per document, gold and system timexes (those inside `<TEXT>`, never the DCT, never blank
//! ones) are matched one to one on their plain-text spans: identical spans first, then the
//! remaining overlapping pairs, largest overlap first. Then, summed over all documents:
//! - strict P/R/F1 count the pairs with identical spans, relaxed P/R/F1 all matched pairs;
//! - value (type) accuracy is the share of matched pairs whose `value` (`type`) is equal, and
//!   value (type) F1 is relaxed F1 times that accuracy: the scorer's "attribute F1".
//!
//! With no gold and no system timex at all every score is 1, as in the scorer.

use std::fmt::Write as _;
use std::ops::{AddAssign, Range};

use serde::Serialize;

use super::doc::{Document, TimexTag};

/// Match counts, summed over documents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Gold timexes.
    pub gold: usize,
    /// System timexes.
    pub system: usize,
    /// Matched pairs with identical spans.
    pub strict: usize,
    /// Matched pairs (any overlap), strict ones included.
    pub relaxed: usize,
    /// Matched pairs with equal `value`.
    pub value: usize,
    /// Matched pairs with equal `type`.
    #[serde(rename = "type")]
    pub kind: usize,
}

impl AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.gold += other.gold;
        self.system += other.system;
        self.strict += other.strict;
        self.relaxed += other.relaxed;
        self.value += other.value;
        self.kind += other.kind;
    }
}

/// Precision, recall and F1, as fractions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prf {
    /// Matches over system timexes.
    pub precision: f64,
    /// Matches over gold timexes.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
}

impl Prf {
    fn new(matches: usize, gold: usize, system: usize) -> Prf {
        if gold == 0 && system == 0 {
            return Prf {
                precision: 1.0,
                recall: 1.0,
                f1: 1.0,
            };
        }
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let (precision, recall) = (ratio(matches, system), ratio(matches, gold));
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Prf {
            precision,
            recall,
            f1,
        }
    }
}

/// The TempEval-3 TIMEX3 scores. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// The counts the scores come from.
    pub counts: Counts,
    /// Identical spans.
    pub strict: Prf,
    /// Overlapping spans.
    pub relaxed: Prf,
    /// Share of relaxed matches with the right `value`.
    pub value_accuracy: f64,
    /// Share of relaxed matches with the right `type`.
    pub type_accuracy: f64,
    /// Relaxed F1 × value accuracy: TempEval-3's headline TIMEX3 number.
    pub value_f1: f64,
    /// Relaxed F1 × type accuracy.
    pub type_f1: f64,
}

impl Scores {
    /// Scores from summed counts.
    pub fn from_counts(counts: Counts) -> Scores {
        let strict = Prf::new(counts.strict, counts.gold, counts.system);
        let relaxed = Prf::new(counts.relaxed, counts.gold, counts.system);
        let accuracy = |n: usize| match counts.relaxed {
            0 if counts.gold == 0 && counts.system == 0 => 1.0,
            0 => 0.0,
            m => n as f64 / m as f64,
        };
        let (value_accuracy, type_accuracy) = (accuracy(counts.value), accuracy(counts.kind));
        Scores {
            counts,
            strict,
            relaxed,
            value_accuracy,
            type_accuracy,
            value_f1: relaxed.f1 * value_accuracy,
            type_f1: relaxed.f1 * type_accuracy,
        }
    }
}

/// One difference between gold and system in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mismatch {
    /// A gold timex no system timex overlaps.
    Missing {
        /// The gold timex.
        gold: TimexTag,
    },
    /// A system timex no gold timex overlaps.
    Spurious {
        /// The system timex.
        system: TimexTag,
    },
    /// A matched pair that differs in span, value or type.
    Wrong {
        /// The gold timex.
        gold: TimexTag,
        /// The system timex.
        system: TimexTag,
        /// Whether the spans are identical (a strict match).
        span_ok: bool,
        /// Whether the values are equal.
        value_ok: bool,
        /// Whether the types are equal.
        type_ok: bool,
    },
}

impl Mismatch {
    /// Where it is in the plain text, for ordering.
    fn span(&self) -> Range<usize> {
        match self {
            Mismatch::Missing { gold } | Mismatch::Wrong { gold, .. } => gold.span.clone(),
            Mismatch::Spurious { system } => system.span.clone(),
        }
    }
}

/// The result of comparing one document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// Its counts.
    pub counts: Counts,
    /// What differs, in text order.
    pub mismatches: Vec<Mismatch>,
}

/// Matches the timexes of one document (spans in the same plain text). See the
/// [module docs](self).
pub fn compare(gold: &[TimexTag], system: &[TimexTag]) -> Comparison {
    let scored = |ts: &[TimexTag]| -> Vec<TimexTag> {
        ts.iter()
            .filter(|t| !t.text.trim().is_empty() && t.span.start < t.span.end)
            .cloned()
            .collect()
    };
    let (gold, system) = (scored(gold), scored(system));
    // Every overlapping pair: (not strict, larger overlap first, position).
    let mut pairs = Vec::new();
    for (g, gt) in gold.iter().enumerate() {
        for (s, st) in system.iter().enumerate() {
            let overlap =
                gt.span.end.min(st.span.end) as isize - gt.span.start.max(st.span.start) as isize;
            if overlap > 0 {
                let key = (gt.span != st.span, -overlap, gt.span.start, st.span.start);
                pairs.push((key, g, s));
            }
        }
    }
    pairs.sort();
    let mut gold_match = vec![None; gold.len()];
    let mut system_taken = vec![false; system.len()];
    for (_, g, s) in pairs {
        if gold_match[g].is_none() && !system_taken[s] {
            gold_match[g] = Some(s);
            system_taken[s] = true;
        }
    }
    let mut out = Comparison {
        counts: Counts {
            gold: gold.len(),
            system: system.len(),
            ..Counts::default()
        },
        mismatches: Vec::new(),
    };
    for (g, matched) in gold_match.iter().enumerate() {
        let gt = &gold[g];
        let Some(st) = matched.and_then(|s| system.get(s)) else {
            out.mismatches.push(Mismatch::Missing { gold: gt.clone() });
            continue;
        };
        let (span_ok, value_ok, type_ok) =
            (gt.span == st.span, gt.value == st.value, gt.kind == st.kind);
        out.counts.relaxed += 1;
        out.counts.strict += usize::from(span_ok);
        out.counts.value += usize::from(value_ok);
        out.counts.kind += usize::from(type_ok);
        if !(span_ok && value_ok && type_ok) {
            out.mismatches.push(Mismatch::Wrong {
                gold: gt.clone(),
                system: st.clone(),
                span_ok,
                value_ok,
                type_ok,
            });
        }
    }
    for (s, taken) in system_taken.iter().enumerate() {
        if !taken {
            out.mismatches.push(Mismatch::Spurious {
                system: system[s].clone(),
            });
        }
    }
    out.mismatches.sort_by_key(|m| {
        let span = m.span();
        (span.start, span.end)
    });
    out
}

/// Scores document pairs `(gold, system)`: the sum of their [`compare`] counts.
pub fn score<'a>(documents: impl IntoIterator<Item = (&'a [TimexTag], &'a [TimexTag])>) -> Scores {
    let mut counts = Counts::default();
    for (gold, system) in documents {
        counts += compare(gold, system).counts;
    }
    Scores::from_counts(counts)
}

/// A system document whose plain text is not the gold one, so spans cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the text differs from the gold text at byte {offset} of <TEXT>: gold {gold:?}, system {system:?}"
)]
pub struct TextMismatch {
    /// First differing byte of the plain text.
    pub offset: usize,
    /// Gold text from there (a few characters).
    pub gold: String,
    /// System text from there.
    pub system: String,
}

/// Checks that `system` has the same plain text as `gold`, as the TempEval-3 scorer does.
pub fn same_text(gold: &Document, system: &Document) -> Result<(), TextMismatch> {
    let (g, s) = (gold.text(), system.text());
    if g == s {
        return Ok(());
    }
    let offset = g
        .char_indices()
        .zip(s.chars())
        .find(|((_, a), b)| a != b)
        .map_or(g.len().min(s.len()), |((i, _), _)| i);
    let from = |t: &str| {
        t.get(offset..)
            .unwrap_or_default()
            .chars()
            .take(30)
            .collect()
    };
    Err(TextMismatch {
        offset,
        gold: from(g),
        system: from(s),
    })
}

/// Scores of a group of documents (a corpus folder).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupScores {
    /// The folder, relative to the gold root.
    pub name: String,
    /// How many documents were scored.
    pub documents: usize,
    /// Their scores.
    pub scores: Scores,
}

/// Renders the scores as the table `dateline eval` prints.
pub fn render_table(documents: usize, total: &Scores, groups: &[GroupScores]) -> String {
    let pct = |x: f64| format!("{:.2}", x * 100.0);
    let c = &total.counts;
    let mut out = String::new();
    let _ = writeln!(out, "TempEval-3 TIMEX3 scores, documents: {documents}");
    let _ = writeln!(out, "{:<10}{:>8}{:>8}{:>8}", "", "P", "R", "F1");
    for (name, prf) in [("strict", &total.strict), ("relaxed", &total.relaxed)] {
        let (p, r, f) = (pct(prf.precision), pct(prf.recall), pct(prf.f1));
        let _ = writeln!(out, "{name:<10}{p:>8}{r:>8}{f:>8}");
    }
    for (name, f1, accuracy) in [
        ("value F1", total.value_f1, total.value_accuracy),
        ("type F1", total.type_f1, total.type_accuracy),
    ] {
        let (f, a) = (pct(f1), pct(accuracy));
        let _ = writeln!(out, "{name:<10}{:>16}{f:>8}   (accuracy {a})", "");
    }
    let _ = writeln!(
        out,
        "gold {}  system {}  strict matches {}  relaxed matches {}  right value {}  right type {}",
        c.gold, c.system, c.strict, c.relaxed, c.value, c.kind
    );
    if groups.len() > 1 {
        let _ = writeln!(
            out,
            "\n{:<20}{:>6}{:>7}{:>7}{:>9}{:>9}{:>9}{:>9}",
            "folder (F1)", "docs", "gold", "system", "strict", "relaxed", "value", "type"
        );
        for g in groups {
            let s = &g.scores;
            let _ = writeln!(
                out,
                "{:<20}{:>6}{:>7}{:>7}{:>9}{:>9}{:>9}{:>9}",
                g.name,
                g.documents,
                s.counts.gold,
                s.counts.system,
                pct(s.strict.f1),
                pct(s.relaxed.f1),
                pct(s.value_f1),
                pct(s.type_f1)
            );
        }
    }
    out
}

/// Renders the mismatches of one document, one a line, each with its context in `text`.
pub fn render_mismatches(text: &str, mismatches: &[Mismatch]) -> String {
    let describe = |t: &TimexTag| {
        let modifier = t.modifier.as_deref().map(|m| format!(" mod={m}"));
        format!(
            "\"{}\" {} {}{}",
            t.text,
            t.kind,
            t.value,
            modifier.unwrap_or_default()
        )
    };
    let mut out = String::new();
    for m in mismatches {
        let line = match m {
            Mismatch::Missing { gold } => format!("missing   {}", describe(gold)),
            Mismatch::Spurious { system } => format!("spurious  {}", describe(system)),
            Mismatch::Wrong {
                gold,
                system,
                span_ok,
                value_ok,
                type_ok,
            } => {
                let what: Vec<&str> =
                    [(*span_ok, "span"), (*value_ok, "value"), (*type_ok, "type")]
                        .into_iter()
                        .filter(|(ok, _)| !ok)
                        .map(|(_, w)| w)
                        .collect();
                format!(
                    "{:<9} gold {}  system {}",
                    what.join("+"),
                    describe(gold),
                    describe(system)
                )
            }
        };
        let _ = writeln!(out, "  {line}  | {}", context(text, m.span(), 40));
    }
    out
}

/// `span` of `text` in brackets with up to `radius` bytes around it, on one line.
fn context(text: &str, span: Range<usize>, radius: usize) -> String {
    let (before, after) = crate::tagger::window(text, span.start, span.end, radius);
    let inner = text.get(span).unwrap_or_default();
    format!("{before}[{inner}]{after}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(span: Range<usize>, kind: &str, value: &str) -> TimexTag {
        TimexTag {
            tid: String::new(),
            kind: kind.to_owned(),
            value: value.to_owned(),
            modifier: None,
            text: "x".repeat(span.len()),
            span,
        }
    }

    #[test]
    fn strict_relaxed_missing_spurious() {
        let gold = [
            t(0..6, "DATE", "1998-02-23"),
            t(10..20, "DATE", "1998-W09"),
            t(30..35, "DURATION", "P3D"),
        ];
        let system = [
            t(0..6, "DATE", "1998-02-23"),
            t(14..20, "DURATION", "P1W"),
            t(40..45, "DATE", "1998"),
        ];
        let c = compare(&gold, &system);
        assert_eq!(
            c.counts,
            Counts {
                gold: 3,
                system: 3,
                strict: 1,
                relaxed: 2,
                value: 1,
                kind: 1
            }
        );
        let kinds: Vec<&str> = c
            .mismatches
            .iter()
            .map(|m| match m {
                Mismatch::Missing { .. } => "missing",
                Mismatch::Spurious { .. } => "spurious",
                Mismatch::Wrong { .. } => "wrong",
            })
            .collect();
        assert_eq!(kinds, ["wrong", "missing", "spurious"]);
        let s = Scores::from_counts(c.counts);
        assert!((s.strict.f1 - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.relaxed.f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.value_f1 - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn matching_is_one_to_one_and_prefers_identical_spans() {
        // One long gold timex, two system ones inside it: one match, one spurious.
        let c = compare(
            &[t(0..20, "DATE", "a")],
            &[t(0..5, "DATE", "a"), t(8..20, "DATE", "a")],
        );
        assert_eq!((c.counts.relaxed, c.counts.system), (1, 2));
        assert!(
            matches!(&c.mismatches[1], Mismatch::Wrong { system, .. } if system.span == (8..20))
        );
        // An identical span wins over a larger overlap elsewhere.
        let c = compare(
            &[t(0..4, "DATE", "a"), t(5..30, "DATE", "b")],
            &[t(0..30, "DATE", "b"), t(5..30, "DATE", "b")],
        );
        assert_eq!((c.counts.strict, c.counts.relaxed), (1, 2));
    }

    #[test]
    fn empty_scores_are_one() {
        let s = score([(&[][..], &[][..])]);
        assert_eq!((s.strict.f1, s.value_f1), (1.0, 1.0));
        let s = Scores::from_counts(Counts {
            gold: 3,
            ..Counts::default()
        });
        assert_eq!((s.strict.f1, s.relaxed.recall, s.value_f1), (0.0, 0.0, 0.0));
    }
}
