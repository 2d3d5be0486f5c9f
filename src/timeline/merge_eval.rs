//! Measures the merge rules ([`super::merge`]) on a set of related articles with hand-made gold
//! clusters.
//!
//! Every article is run through the real extractor ([`super::extract`]); the records are then
//! clustered greedily, in publication order, into one pool (the global timeline of one topic),
//! the way the timeline store does it: a record joins the [`merge::best_match`] among the
//! clusters so far, or starts a new one; a cluster keeps its first report's event, the most
//! precise date and the entities of every report. The clusters are compared with the gold ones:
//!
//! - **pairwise** precision, recall and F1: pairs of records put together, against pairs in the
//!   same gold cluster;
//! - **B-cubed** precision and recall: per record, the share of its cluster that belongs to its
//!   gold cluster, and the share of its gold cluster found in its cluster, averaged.
//!
//! ## Gold file
//! JSON lines, one per article-level record: `article_id`, `date_text` (the date as written,
//! `date.text`), `trigger` (`event.trigger`) and `cluster` (a label such as
//! `nk-engine-test-2019-12-07`; `none` for records that report no real event, which are
//! clustered like the others but not scored). `misdated: true` marks a record whose date the
//! extractor resolved wrongly (it still counts in the main figures; a second row leaves such
//! records out). `note` is free text. Records with the same three identifying fields share the
//! line.
//!
//! ## Measured
//! On the bundled dataset (31 articles, 5 stories, 124 records, 61 gold events): pairwise
//! precision 96.8, recall 61.3, F1 75.1; B-cubed 98.1 / 80.3 / 88.3 (`dateline merge-eval`).
//! The false pairs involve records the extractor misdated; most missed pairs have triggers in
//! different classes, share no entity (reports that name only the speaker) or have dates the
//! tagger got wrong (`dateline merge-eval --errors` lists them).
//!
//! The dataset is `tests/data/merge/` (`articles.jsonl`, `gold.jsonl`); `tests/merge.rs` runs
//! it, and the figures are printed by `cargo test --test merge -- --nocapture merge_eval`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::keys::Aliases;
use super::merge::{self, Candidate};
use super::record::{DateInfo, EventInfo, TimelineRecord};
use crate::article::Article;
use crate::events::Modality;

/// The gold label of records that report no real event (not scored).
pub const NO_EVENT: &str = "none";

/// Why an evaluation cannot run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A line of the articles file is not an article.
    #[error("articles line {line}: {message}")]
    Article {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A line of the gold file is not a gold label.
    #[error("gold line {line}: {message}")]
    Gold {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// One line of the gold file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldLabel {
    /// The article the record comes from.
    pub article_id: String,
    /// `date.text` of the record.
    pub date_text: String,
    /// `event.trigger` of the record.
    pub trigger: String,
    /// The real event the record reports, or [`NO_EVENT`].
    pub cluster: String,
    /// The extractor resolved the date wrongly (the record still reports `cluster`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub misdated: bool,
    /// Free-text remark of the annotator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Precision, recall and F1, each in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prf {
    /// Precision (1 when nothing was claimed).
    pub precision: f64,
    /// Recall (1 when nothing was to be found).
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
}

impl Prf {
    fn new(precision: f64, recall: f64) -> Prf {
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Prf {
            precision,
            recall,
            f1,
        }
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

/// The scores of one clustering on one set of records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// Records scored.
    pub records: usize,
    /// Gold clusters among them.
    pub gold_clusters: usize,
    /// System clusters among them.
    pub system_clusters: usize,
    /// Pairs in the same gold cluster.
    pub gold_pairs: usize,
    /// Pairs put together by the system.
    pub system_pairs: usize,
    /// Pairs both put together and in the same gold cluster.
    pub correct_pairs: usize,
    /// Pairwise precision, recall, F1.
    pub pairwise: Prf,
    /// B-cubed precision, recall, F1.
    pub bcubed: Prf,
}

/// A record as named in reports: `article id | date as written | trigger`.
pub type RecordName = String;

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeReport {
    /// Articles read.
    pub articles: usize,
    /// Records extracted from them.
    pub records: usize,
    /// Records with a gold event label.
    pub labelled: usize,
    /// Records labelled [`NO_EVENT`].
    pub no_event: usize,
    /// Records the gold file does not label (not scored): the extractor changed since the
    /// labels were written.
    pub unlabelled: Vec<RecordName>,
    /// Gold lines that match no record.
    pub stale_gold: Vec<RecordName>,
    /// The merge rules on every labelled record.
    pub all: Scores,
    /// The merge rules on the records the extractor dated correctly.
    pub correctly_dated: Scores,
    /// A naive baseline on every labelled record: same trigger word and same interval, no
    /// entities.
    pub baseline: Scores,
    /// Pairs merged that the gold keeps apart.
    pub false_merges: Vec<(RecordName, RecordName)>,
    /// Pairs of one gold cluster that were kept apart.
    pub missed_merges: Vec<(RecordName, RecordName)>,
    /// Missed pairs by the first rule that keeps them apart: `trigger`, `date`, `entities`,
    /// `modality`, or `greedy` (the pair itself matches, but the records joined different
    /// clusters).
    pub missed_by_reason: BTreeMap<String, usize>,
    /// Every cluster of more than one record, in creation order: each record as
    /// `name => gold label`.
    pub merged_clusters: Vec<Vec<String>>,
}

impl MergeReport {
    /// The errors, one pair a line, for `--errors` style output.
    pub fn errors(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "merged clusters ({}):\n",
            self.merged_clusters.len()
        ));
        for c in &self.merged_clusters {
            for (i, r) in c.iter().enumerate() {
                out.push_str(if i == 0 { "  * " } else { "    " });
                out.push_str(r);
                out.push('\n');
            }
        }
        for (title, pairs) in [
            ("false merges", &self.false_merges),
            ("missed merges", &self.missed_merges),
        ] {
            out.push_str(&format!("{title} ({}):\n", pairs.len()));
            for (a, b) in pairs.iter() {
                out.push_str(&format!("  {a}\n    ~ {b}\n"));
            }
        }
        out
    }
}

impl fmt::Display for MergeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} articles, {} records: {} labelled, {} no event, {} unlabelled, {} stale gold lines",
            self.articles,
            self.records,
            self.labelled,
            self.no_event,
            self.unlabelled.len(),
            self.stale_gold.len()
        )?;
        writeln!(
            f,
            "| {:<23} | {:>7} | {:>13} | {:>6} | {:>6} | {:>6} | {:>6} | {:>6} | {:>6} |",
            "rules / records",
            "records",
            "gold/sys clus",
            "pair P",
            "pair R",
            "pair F",
            "B3 P",
            "B3 R",
            "B3 F"
        )?;
        writeln!(
            f,
            "|{:-<25}|{:-<9}|{:-<15}|{:-<8}|{:-<8}|{:-<8}|{:-<8}|{:-<8}|{:-<8}|",
            "", "", "", "", "", "", "", "", ""
        )?;
        for (name, s) in [
            ("merge / all", &self.all),
            ("merge / correctly dated", &self.correctly_dated),
            ("baseline / all", &self.baseline),
        ] {
            writeln!(
                f,
                "| {:<23} | {:>7} | {:>13} | {:>6.1} | {:>6.1} | {:>6.1} | {:>6.1} | {:>6.1} | {:>6.1} |",
                name,
                s.records,
                format!("{}/{}", s.gold_clusters, s.system_clusters),
                100.0 * s.pairwise.precision,
                100.0 * s.pairwise.recall,
                100.0 * s.pairwise.f1,
                100.0 * s.bcubed.precision,
                100.0 * s.bcubed.recall,
                100.0 * s.bcubed.f1,
            )?;
        }
        write!(
            f,
            "pairs (merge / all): {} gold, {} merged, {} correct; missed by reason:",
            self.all.gold_pairs, self.all.system_pairs, self.all.correct_pairs
        )?;
        for (reason, n) in &self.missed_by_reason {
            write!(f, " {reason} {n}")?;
        }
        if f.alternate() {
            write!(f, "\n{}", self.errors())?;
        }
        Ok(())
    }
}

fn record_name(r: &TimelineRecord) -> RecordName {
    format!("{} | {} | {}", r.article.id, r.date.text, r.event.trigger)
}

/// Reads JSON lines of articles (blank lines skipped).
fn read_articles(jsonl: &str) -> Result<Vec<Article>, EvalError> {
    let mut out = Vec::new();
    for (i, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let a: Article = serde_json::from_str(line).map_err(|e| EvalError::Article {
            line: i + 1,
            message: e.to_string(),
        })?;
        if a.text.trim().is_empty() {
            return Err(EvalError::Article {
                line: i + 1,
                message: "article has no text".into(),
            });
        }
        out.push(a);
    }
    Ok(out)
}

/// Reads the gold file: (article id, date text, trigger) -> label.
fn read_gold(jsonl: &str) -> Result<Vec<GoldLabel>, EvalError> {
    let mut out: Vec<GoldLabel> = Vec::new();
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    for (i, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let g: GoldLabel = serde_json::from_str(line).map_err(|e| EvalError::Gold {
            line: i + 1,
            message: e.to_string(),
        })?;
        if g.cluster.trim().is_empty() {
            return Err(EvalError::Gold {
                line: i + 1,
                message: "empty cluster label".into(),
            });
        }
        let key = (g.article_id.clone(), g.date_text.clone(), g.trigger.clone());
        if let Some(first) = seen.insert(key, i + 1) {
            return Err(EvalError::Gold {
                line: i + 1,
                message: format!("same record as line {first}"),
            });
        }
        out.push(g);
    }
    Ok(out)
}

/// Which records go together: a function of the clusters so far and the incoming record.
type Matcher = fn(&[Candidate<'_>], &Candidate<'_>) -> Option<usize>;

/// One cluster as the store keeps an entry.
struct Cluster {
    date: DateInfo,
    event: EventInfo,
    entities: Vec<String>,
}

/// Greedy clustering in the given order; returns the cluster index of every record.
fn cluster(records: &[TimelineRecord], aliases: &Aliases, matcher: Matcher) -> Vec<usize> {
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut assignment = Vec::with_capacity(records.len());
    for r in records {
        let entities = merge::entity_keys(&r.event, aliases);
        let found = {
            let candidates: Vec<Candidate<'_>> = clusters
                .iter()
                .map(|c| Candidate::of(&c.date, &c.event, &c.entities))
                .collect();
            let incoming = Candidate::of(&r.date, &r.event, &entities);
            matcher(&candidates, &incoming)
        };
        match found.and_then(|i| clusters.get_mut(i).map(|c| (i, c))) {
            Some((i, c)) => {
                for e in entities {
                    if !c.entities.contains(&e) {
                        c.entities.push(e);
                    }
                }
                // The more precise date, as the store keeps it.
                if r.date.granularity < c.date.granularity
                    && r.date.start >= c.date.start
                    && r.date.end <= c.date.end
                {
                    c.date = r.date.clone();
                }
                assignment.push(i);
            }
            None => {
                clusters.push(Cluster {
                    date: r.date.clone(),
                    event: r.event.clone(),
                    entities,
                });
                assignment.push(clusters.len() - 1);
            }
        }
    }
    assignment
}

/// The naive baseline: the same trigger word (any case) and the same interval.
fn baseline_match(candidates: &[Candidate<'_>], incoming: &Candidate<'_>) -> Option<usize> {
    candidates.iter().position(|c| {
        !c.trigger.is_empty()
            && c.trigger.eq_ignore_ascii_case(incoming.trigger)
            && c.date.start == incoming.date.start
            && c.date.end == incoming.date.end
    })
}

/// The first merge rule that keeps two records apart (see [`merge`]'s module docs).
fn why_apart(a: &TimelineRecord, b: &TimelineRecord, aliases: &Aliases) -> &'static str {
    let (ea, eb) = (
        merge::entity_keys(&a.event, aliases),
        merge::entity_keys(&b.event, aliases),
    );
    let (x, y) = (
        Candidate::of(&a.date, &a.event, &ea),
        Candidate::of(&b.date, &b.event, &eb),
    );
    let class = merge::event_class(&a.event);
    if class.is_empty() || class != merge::event_class(&b.event) {
        "trigger"
    } else if (a.event.modality == Modality::Negated) != (b.event.modality == Modality::Negated) {
        "modality"
    } else if !merge::dates_compatible(&a.date, &b.date) {
        "date"
    } else if !merge::same_event(&x, &y) {
        "entities"
    } else {
        "greedy"
    }
}

/// Scores `system` (cluster per record) against `gold` (label per record) on the records
/// `scored` (indices).
fn score(scored: &[usize], system: &[usize], gold: &[&str]) -> Scores {
    let n = scored.len();
    let mut gold_pairs = 0;
    let mut system_pairs = 0;
    let mut correct_pairs = 0;
    for (x, &i) in scored.iter().enumerate() {
        for &j in &scored[x + 1..] {
            let g = gold[i] == gold[j];
            let s = system[i] == system[j];
            gold_pairs += usize::from(g);
            system_pairs += usize::from(s);
            correct_pairs += usize::from(g && s);
        }
    }
    let mut sys_size: HashMap<usize, usize> = HashMap::new();
    let mut gold_size: HashMap<&str, usize> = HashMap::new();
    let mut both: HashMap<(usize, &str), usize> = HashMap::new();
    for &i in scored {
        *sys_size.entry(system[i]).or_default() += 1;
        *gold_size.entry(gold[i]).or_default() += 1;
        *both.entry((system[i], gold[i])).or_default() += 1;
    }
    let (mut bp, mut br) = (0.0, 0.0);
    for &i in scored {
        let common = both.get(&(system[i], gold[i])).copied().unwrap_or(0) as f64;
        bp += common / sys_size.get(&system[i]).copied().unwrap_or(1) as f64;
        br += common / gold_size.get(gold[i]).copied().unwrap_or(1) as f64;
    }
    let (bp, br) = if n == 0 {
        (1.0, 1.0)
    } else {
        (bp / n as f64, br / n as f64)
    };
    Scores {
        records: n,
        gold_clusters: gold_size.len(),
        system_clusters: sys_size.len(),
        gold_pairs,
        system_pairs,
        correct_pairs,
        pairwise: Prf::new(
            ratio(correct_pairs, system_pairs),
            ratio(correct_pairs, gold_pairs),
        ),
        bcubed: Prf::new(bp, br),
    }
}

/// Extracts every article of `articles_jsonl` (JSON lines of articles), clusters the records
/// with the merge rules and scores the clusters against `gold_jsonl` (the gold file described
/// in the module docs).
pub fn evaluate(
    articles_jsonl: &str,
    gold_jsonl: &str,
    aliases: &Aliases,
) -> Result<MergeReport, EvalError> {
    let mut articles = read_articles(articles_jsonl)?;
    let gold = read_gold(gold_jsonl)?;
    // Publication order; ties keep the file order (the sort is stable).
    articles.sort_by_key(|a| a.published_at);
    let records: Vec<TimelineRecord> = articles.iter().flat_map(super::extract).collect();

    let index: HashMap<(&str, &str, &str), &GoldLabel> = gold
        .iter()
        .map(|g| {
            (
                (
                    g.article_id.as_str(),
                    g.date_text.as_str(),
                    g.trigger.as_str(),
                ),
                g,
            )
        })
        .collect();
    let mut used: BTreeMap<(&str, &str, &str), bool> = index.keys().map(|k| (*k, false)).collect();
    let mut labels: Vec<&str> = Vec::with_capacity(records.len());
    let mut misdated: Vec<bool> = Vec::with_capacity(records.len());
    let mut unlabelled = Vec::new();
    for r in &records {
        let key = (
            r.article.id.as_str(),
            r.date.text.as_str(),
            r.event.trigger.as_str(),
        );
        match index.get(&key) {
            Some(g) => {
                used.insert(key, true);
                labels.push(g.cluster.as_str());
                misdated.push(g.misdated);
            }
            None => {
                unlabelled.push(record_name(r));
                labels.push(NO_EVENT);
                misdated.push(false);
            }
        }
    }
    let stale_gold = used
        .iter()
        .filter(|(_, u)| !**u)
        .map(|((a, d, t), _)| format!("{a} | {d} | {t}"))
        .collect();

    let system = cluster(&records, aliases, merge::best_match);
    let naive = cluster(&records, aliases, baseline_match);
    let scored: Vec<usize> = (0..records.len())
        .filter(|&i| labels[i] != NO_EVENT && index.contains_key(&gold_key(&records[i])))
        .collect();
    let dated: Vec<usize> = scored.iter().copied().filter(|&i| !misdated[i]).collect();

    let mut false_merges = Vec::new();
    let mut missed_merges = Vec::new();
    let mut missed_by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for (x, &i) in scored.iter().enumerate() {
        for &j in &scored[x + 1..] {
            let g = labels[i] == labels[j];
            let s = system[i] == system[j];
            if s && !g {
                false_merges.push((record_name(&records[i]), record_name(&records[j])));
            } else if g && !s {
                *missed_by_reason
                    .entry(why_apart(&records[i], &records[j], aliases).to_string())
                    .or_default() += 1;
                missed_merges.push((record_name(&records[i]), record_name(&records[j])));
            }
        }
    }

    let mut members: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        members
            .entry(system[i])
            .or_default()
            .push(format!("{} => {}", record_name(r), labels[i]));
    }
    let merged_clusters = members.into_values().filter(|m| m.len() > 1).collect();

    Ok(MergeReport {
        articles: articles.len(),
        records: records.len(),
        labelled: scored.len(),
        no_event: labels
            .iter()
            .zip(&records)
            .filter(|(l, r)| **l == NO_EVENT && index.contains_key(&gold_key(r)))
            .count(),
        unlabelled,
        stale_gold,
        all: score(&scored, &system, &labels),
        correctly_dated: score(&dated, &system, &labels),
        baseline: score(&scored, &naive, &labels),
        false_merges,
        missed_merges,
        missed_by_reason,
        merged_clusters,
    })
}

fn gold_key(r: &TimelineRecord) -> (&str, &str, &str) {
    (
        r.article.id.as_str(),
        r.date.text.as_str(),
        r.event.trigger.as_str(),
    )
}
