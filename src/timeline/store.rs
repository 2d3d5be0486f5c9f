//! The timeline store: the state of every timeline of one partition of the internal events
//! topic, folded from article-level records, with the changes to publish and to log.
//!
//! The store is pure and deterministic: the same records applied in the same order give the same
//! entries, versions, positions and changelog, whatever the wall clock. The pipeline applies the
//! records of a batch, publishes [`Changes::output`] and [`Changes::late`], writes
//! [`Changes::changelog`] to the compacted changelog topic in the same transaction, and on
//! assignment rebuilds a partition's state with [`PartitionState::restore`].
//!
//! ## Merging
//! An incoming record is compared with the entries of its timeline whose dates can be compatible
//! ([`merge::best_match`]); it joins the best match (a new source, version + 1, the more precise
//! date) or creates an entry (version 1). A record whose `event_id` is already a source of the
//! timeline changes nothing, so a record delivered twice is harmless.
//!
//! ## Ordering modes
//! - `immediate`: every change is published at once, with its neighbours in date order among all
//!   entries of the timeline.
//! - `watermark`: new entries wait until the partition's watermark (the latest publication time
//!   seen minus the allowed lateness) has passed their last day, then are released in
//!   non-decreasing date order per timeline. The watermark moves when a record with a later
//!   publication time arrives, before that record is applied; so the records of one article are
//!   released together, in date order, once a later article is seen, and what is released never
//!   depends on how records were batched. A change that comes too late for that order, a new
//!   entry dated before the last released one or a new report of a released entry, is published
//!   to the late topic with `late: true` instead.
//!
//! ## Changelog
//! Keys: `entry|<timeline>|<entry id>` (the entry with its entities and release flag),
//! `timeline|<timeline>` (version and last released position) and `watermark` (the latest
//! publication time seen). The changelog is partitioned like the events topic, so a partition's
//! state is read back from the same partition number.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::bodies::{Backend, Bodies};
use super::entry::{ENTRY_SCHEMA_VERSION, Position, SourceRef, TimelineEntry, TimelineSummary};
use super::keys::Aliases;
use super::merge::{self, Candidate, Entities, When};
use super::record::TimelineRecord;

/// Most reports listed in an entry's `sources` (the first ones to arrive); `version` counts them
/// all. Keeps every entry, and so every published record and changelog value, bounded however
/// many outlets report one event. Every change republishes the whole entry: at 50 a popular
/// event's changes were about 12 KB each, at 20 about 5 KB.
pub const MAX_SOURCES: usize = 20;

/// When changes are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ordering {
    /// At once, with neighbours among all entries.
    #[default]
    Immediate,
    /// In date order per timeline once the watermark passes them; late changes apart.
    Watermark,
}

impl std::fmt::Display for Ordering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ordering::Immediate => "immediate",
            Ordering::Watermark => "watermark",
        })
    }
}

/// How the store merges and releases.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// The ordering mode.
    pub ordering: Ordering,
    /// Watermark mode: how far behind the latest publication time the watermark trails.
    pub allowed_lateness: Duration,
    /// Alias table, to compare the entities of reports.
    pub aliases: Aliases,
    /// Where each partition keeps its entries' bodies.
    pub backend: Backend,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            ordering: Ordering::Immediate,
            allowed_lateness: Duration::days(1),
            aliases: Aliases::builtin(),
            backend: Backend::Memory,
        }
    }
}

/// What applying records produced.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Changes {
    /// Entry versions for the output topic, in the order to publish them.
    pub output: Vec<TimelineEntry>,
    /// Late changes (watermark mode), for the late topic.
    pub late: Vec<TimelineEntry>,
    /// Changelog records: key and value (`None`: delete). Filled by [`PartitionState::log`]
    /// from what `apply` marked as changed, once per key with its latest state.
    pub changelog: Vec<(String, Option<Vec<u8>>)>,
    /// State changed by `apply` and not yet logged: encoded by [`PartitionState::log`], so an
    /// entry that changes many times in a batch is serialised once.
    unlogged: Vec<LogKey>,
}

/// A piece of state to log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LogKey {
    Watermark,
    Timeline(String),
    Entry(String, Id),
}

impl Changes {
    /// True when nothing is to be published or logged.
    pub fn is_empty(&self) -> bool {
        self.output.is_empty()
            && self.late.is_empty()
            && self.changelog.is_empty()
            && self.unlogged.is_empty()
    }
}

/// An entry id (`te-` and 16 hex digits) as its number. Its order is the order of the text.
type Id = u64;

/// The number of an entry id made by [`entry_id`]; `None` for any other text.
fn parse_id(id: &str) -> Option<Id> {
    id.strip_prefix("te-")
        .filter(|h| h.len() == 16 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
}

/// The text of an entry id.
fn id_text(id: Id) -> String {
    format!("te-{id:016x}")
}

/// Sort key of an entry: last day, first day, value, id (the value shared with its [`Head`]).
type SortKey = (NaiveDate, NaiveDate, Arc<str>, Id);

/// The sort key of `entry`, whose id is `id`.
fn sort_key(entry: &TimelineEntry, id: Id, strings: &mut Interner) -> SortKey {
    (
        entry.date.end,
        entry.date.start,
        strings.get(&entry.date.value),
        id,
    )
}

/// The changelog form of a sort key, with the id as text (as it was logged before ids were
/// kept as numbers).
mod sort_key_text {
    use super::*;
    use serde::de::Error as _;

    pub fn serialize<S: serde::Serializer>(k: &Option<SortKey>, s: S) -> Result<S::Ok, S::Error> {
        k.as_ref()
            .map(|k| (k.0, k.1, &*k.2, id_text(k.3)))
            .serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SortKey>, D::Error> {
        let k: Option<(NaiveDate, NaiveDate, String, String)> = Deserialize::deserialize(d)?;
        k.map(|(end, start, value, id)| {
            parse_id(&id)
                .map(|id| (end, start, Arc::from(value), id))
                .ok_or_else(|| D::Error::custom(format!("not an entry id: {id:?}")))
        })
        .transpose()
    }
}

/// Index key of an entry by span class: class, last day, id (its first day and value are in
/// its [`Head`]; 16 bytes instead of a second copy of the sort key).
type SpanKey = (u8, NaiveDate, Id);

/// Strings many entries share (entity keys, merge classes, values), stored once.
#[derive(Debug, Default)]
struct Interner(HashSet<Arc<str>>);

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(s) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(s);
        self.0.insert(Arc::clone(&shared));
        shared
    }
}

/// Longest span, in days, of each span class: a day, a week, a month, a quarter or season, a
/// half year, a year and [`merge::MAX_SPAN_DAYS`]. Longer entries are never merge candidates.
const SPAN_CLASSES: [i64; 7] = [0, 7, 31, 92, 184, 366, merge::MAX_SPAN_DAYS];

fn span_class(start: NaiveDate, end: NaiveDate) -> Option<u8> {
    let days = (end - start).num_days();
    SPAN_CLASSES
        .iter()
        .position(|max| days <= *max)
        .map(|i| i as u8)
}

/// One entry as the store logs it: its body, kept in [`Bodies`] under its changelog key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredEntry {
    entry: TimelineEntry,
    /// Entity keys of every report merged so far.
    entities: Vec<String>,
    /// Watermark mode: released to the output topic.
    released: bool,
}

impl StoredEntry {
    /// The entry's merge class ([`merge::event_class_dated`]); it reads the whole sentence, so
    /// it is computed when the entry is created, restored or re-dated, and kept in its [`Head`].
    fn class(&self) -> String {
        merge::event_class_dated(&self.entry.event, Some(&self.entry.date.text))
    }
}

/// What the store keeps in memory of an entry: what merging, ordering and release read, with
/// shared strings. The rest (sources, sentence, phrase) is in the body, read when the entry
/// changes or is listed.
#[derive(Debug, Clone)]
struct Head {
    start: NaiveDate,
    end: NaiveDate,
    /// The TIMEX3 value (also in the entry's sort keys).
    value: Arc<str>,
    /// Interned too: a few hundred trigger words cover most entries.
    trigger: Arc<str>,
    negated: bool,
    released: bool,
    /// Entity keys of every report merged so far.
    entities: Box<[Arc<str>]>,
    /// [`StoredEntry::class`].
    class: Arc<str>,
}

impl Head {
    fn of(stored: &StoredEntry, class: Arc<str>, strings: &mut Interner) -> Self {
        let date = &stored.entry.date;
        Head {
            start: date.start,
            end: date.end,
            value: strings.get(&date.value),
            trigger: strings.get(&stored.entry.event.trigger),
            negated: stored.entry.event.modality == crate::events::Modality::Negated,
            released: stored.released,
            entities: stored.entities.iter().map(|e| strings.get(e)).collect(),
            class,
        }
    }

    fn sort_key(&self, id: Id) -> SortKey {
        (self.end, self.start, Arc::clone(&self.value), id)
    }
}

/// The changelog key (and body key) of an entry.
fn entry_key(timeline: &str, id: Id) -> String {
    format!("entry|{timeline}|{}", id_text(id))
}

/// The body of entry `key`: the changed one of this batch, else the stored one.
fn take_body(
    dirty: &mut HashMap<String, StoredEntry>,
    bodies: &Bodies,
    key: &str,
) -> Option<StoredEntry> {
    dirty.remove(key).or_else(|| read_body(bodies, key))
}

fn read_body(bodies: &Bodies, key: &str) -> Option<StoredEntry> {
    let bytes = bodies.get(key)?;
    match serde_json::from_slice(&bytes) {
        Ok(stored) => Some(stored),
        Err(error) => {
            tracing::error!(key, %error, "unreadable timeline entry body");
            None
        }
    }
}

/// A timeline's own state besides its entries (logged under `timeline|<key>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct TimelineMeta {
    version: u64,
    /// Watermark mode: sort key of the last entry released.
    #[serde(with = "sort_key_text")]
    released_until: Option<SortKey>,
}

#[derive(Debug, Default, Clone)]
struct Timeline {
    /// [`Timelines::tick`] of its last use, for spilling the least recently used.
    used: u64,
    meta: TimelineMeta,
    order: BTreeSet<SortKey>,
    /// The same entries by span class and last day, for [`Timeline::merge_candidates`].
    by_span: BTreeSet<SpanKey>,
    entries: HashMap<Id, Head>,
    /// The `event_id` of every report merged here, as [`report_hash`]es: 8 bytes a report
    /// instead of two strings. Two ids of one timeline share a hash with odds of about n²/2⁶⁵
    /// (3·10⁻⁸ for a million reports); the later report would then be taken for a redelivery.
    reports: HashSet<u64>,
}

/// A stable 64-bit hash of a report's `event_id` (the same in every process and run, so a
/// restored state recognises the same reports).
fn report_hash(event_id: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(event_id.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

impl Timeline {
    /// Registers every source of `stored` as a report of it (on restore; `apply` registers the
    /// one report it adds).
    fn register_reports(&mut self, stored: &StoredEntry) {
        for s in &stored.entry.sources {
            self.reports.insert(report_hash(&s.event_id));
        }
    }

    /// Removes an entry and its index keys, to change it and [`Timeline::insert`] it again.
    fn take(&mut self, id: Id) -> Option<Head> {
        let old = self.entries.remove(&id)?;
        let k = old.sort_key(id);
        if let Some(class) = span_class(old.start, old.end) {
            self.by_span.remove(&(class, k.0, id));
        }
        self.order.remove(&k);
        Some(old)
    }

    fn insert(&mut self, id: Id, head: Head) {
        self.take(id);
        let k = head.sort_key(id);
        if let Some(class) = span_class(head.start, head.end) {
            self.by_span.insert((class, k.0, id));
        }
        self.order.insert(k);
        self.entries.insert(id, head);
    }

    /// Neighbours of `key` among entries that `visible` admits.
    fn position(&self, key: &SortKey, visible: impl Fn(&Head) -> bool) -> Position {
        let find = |k: &SortKey| {
            self.entries
                .get(&k.3)
                .filter(|e| visible(e))
                .map(|_| id_text(k.3))
        };
        let before = self.order.range(..key.clone()).rev().find_map(find);
        let after = self
            .order
            .range((
                std::ops::Bound::Excluded(key.clone()),
                std::ops::Bound::Unbounded,
            ))
            .find_map(find);
        Position { before, after }
    }

    /// Entry ids whose intervals meet `[start, end]` and are at most [`merge::MAX_SPAN_DAYS`]
    /// long, in date order. Each span class is searched in its own window (an entry of at most
    /// `S` days that meets the interval ends between `start` and `end + S`), so a day-level
    /// report on a busy timeline looks at that day's entries, not at a year of them.
    #[cfg(test)]
    fn near(&self, start: NaiveDate, end: NaiveDate) -> Vec<Id> {
        let mut keys: Vec<SortKey> = Vec::new();
        for (class, max_days) in SPAN_CLASSES.iter().enumerate() {
            let low = (class as u8, start, 0);
            let high = (class as u8, end + Duration::days(max_days + 1), 0);
            keys.extend(
                self.span_range(low..high)
                    .filter(|(_, h)| h.start <= end)
                    .map(|(id, h)| h.sort_key(id)),
            );
        }
        keys.sort();
        keys.into_iter().map(|k| k.3).collect()
    }

    /// The entries of a `by_span` range, with their heads.
    fn span_range(
        &self,
        range: std::ops::Range<SpanKey>,
    ) -> impl Iterator<Item = (Id, &Head)> + '_ {
        self.by_span
            .range(range)
            .filter_map(|&(_, _, id)| self.entries.get(&id).map(|h| (id, h)))
    }

    /// The entries a report dated `[start, end]` may merge with, in date order: those whose dates
    /// [`merge::dates_compatible`] can accept, i.e. the same interval, or (when both are at most
    /// [`merge::MAX_NESTED_SPAN_DAYS`] long) one inside the other. The same as filtering
    /// [`Timeline::near`], without walking a year of day-level entries for a year-level report.
    fn merge_candidates(&self, start: NaiveDate, end: NaiveDate) -> Vec<Id> {
        let span = (end - start).num_days();
        if span < 0 {
            return Vec::new();
        }
        let Some(class) = SPAN_CLASSES.iter().position(|max| span <= *max) else {
            return Vec::new();
        };
        let mut keys: Vec<SortKey> = Vec::new();
        if span > merge::MAX_NESTED_SPAN_DAYS {
            let class = class as u8;
            let low = (class, end, 0);
            let high = (class, end + Duration::days(1), 0);
            keys.extend(
                self.span_range(low..high)
                    .filter(|(_, h)| h.start == start)
                    .map(|(id, h)| h.sort_key(id)),
            );
        } else {
            for (class, max_days) in SPAN_CLASSES.iter().enumerate() {
                // Classes whose entries are all longer than the nested limit cannot match.
                if class > 0 && SPAN_CLASSES[class - 1] >= merge::MAX_NESTED_SPAN_DAYS {
                    break;
                }
                // Inside [start, end]: ends in it. Around it: ends at most `max_days` after it.
                let low = (class as u8, start, 0);
                let high = (class as u8, end + Duration::days(max_days + 1), 0);
                keys.extend(
                    self.span_range(low..high)
                        .filter(|(_, h)| {
                            let (s, e) = (h.start, h.end);
                            let inside = start <= s && e <= end;
                            let around = s <= start
                                && end <= e
                                && (e - s).num_days() <= merge::MAX_NESTED_SPAN_DAYS;
                            inside || around
                        })
                        .map(|(id, h)| h.sort_key(id)),
                );
            }
        }
        keys.sort();
        keys.into_iter().map(|k| k.3).collect()
    }
}

/// Memory a timeline is taken to need, for the spill budget: per timeline, and per entry (its
/// head, its keys in both indexes, its reports). Measured on the pipeline bench's state (about
/// 650 bytes an entry), rounded down: what counts is the order of magnitude.
const TIMELINE_BYTES: usize = 256;
const ENTRY_BYTES: usize = 512;

/// The timelines of a partition. With the memory backend all of them stay in memory. With the
/// disk backend, after each batch ([`Timelines::spill`]), the least recently used ones beyond the
/// memory budget are written to the partition's state file (under `spill|<timeline>`) and
/// dropped from memory, keeping only their summary; the first record that comes for one reads
/// it back ([`Timelines::open`]). Like the bodies, the spilled timelines are a cache of the
/// changelog, so nothing is ever written back before a commit: what a timeline holds in memory
/// or in the file after a batch is the same. A timeline reads back into exactly the state it was
/// spilled in, so the output does not depend on the budget.
#[derive(Debug, Default)]
struct Timelines {
    hot: BTreeMap<String, Timeline>,
    /// Spilled timelines: what summaries and counts need of them.
    cold: BTreeMap<String, ColdTimeline>,
    /// Batches logged so far: the clock of [`Timeline::used`].
    tick: u64,
}

/// What stays in memory of a spilled timeline.
#[derive(Debug, Clone)]
struct ColdTimeline {
    entries: usize,
    version: u64,
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
}

/// A spilled timeline as written to the state file.
#[derive(Serialize, Deserialize)]
struct Spilled {
    meta: TimelineMeta,
    heads: Vec<SpilledHead>,
    reports: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
struct SpilledHead {
    id: Id,
    start: NaiveDate,
    end: NaiveDate,
    value: String,
    trigger: String,
    negated: bool,
    released: bool,
    entities: Vec<String>,
    class: String,
}

fn spill_key(name: &str) -> String {
    format!("spill|{name}")
}

impl Timeline {
    fn summary(&self) -> ColdTimeline {
        ColdTimeline {
            entries: self.entries.len(),
            version: self.meta.version,
            first: self.entries.values().map(|e| e.start).min(),
            last: self.entries.values().map(|e| e.end).max(),
        }
    }

    fn memory(&self) -> usize {
        TIMELINE_BYTES + ENTRY_BYTES * self.entries.len()
    }

    fn spilled(&self) -> Spilled {
        let mut heads: Vec<SpilledHead> = self
            .entries
            .iter()
            .map(|(id, h)| SpilledHead {
                id: *id,
                start: h.start,
                end: h.end,
                value: h.value.to_string(),
                trigger: h.trigger.to_string(),
                negated: h.negated,
                released: h.released,
                entities: h.entities.iter().map(|e| e.to_string()).collect(),
                class: h.class.to_string(),
            })
            .collect();
        heads.sort_unstable_by_key(|h| h.id);
        let mut reports: Vec<u64> = self.reports.iter().copied().collect();
        reports.sort_unstable();
        Spilled {
            meta: self.meta.clone(),
            heads,
            reports,
        }
    }

    fn from_spilled(spilled: Spilled, strings: &mut Interner) -> Self {
        let mut t = Timeline {
            meta: spilled.meta,
            reports: spilled.reports.into_iter().collect(),
            ..Default::default()
        };
        for h in spilled.heads {
            let head = Head {
                start: h.start,
                end: h.end,
                value: strings.get(&h.value),
                trigger: strings.get(&h.trigger),
                negated: h.negated,
                released: h.released,
                entities: h.entities.iter().map(|e| strings.get(e)).collect(),
                class: strings.get(&h.class),
            };
            t.insert(h.id, head);
        }
        t
    }
}

impl Timelines {
    /// Timeline `name` to change, read back from `bodies` if it was spilled, new if unknown.
    fn open<'a>(
        &'a mut self,
        name: &str,
        bodies: &Bodies,
        strings: &mut Interner,
    ) -> &'a mut Timeline {
        if !self.hot.contains_key(name) {
            let timeline = match self.cold.remove(name) {
                Some(_) => Self::load(name, bodies, strings).unwrap_or_default(),
                None => Timeline::default(),
            };
            self.hot.insert(name.to_string(), timeline);
        }
        let timeline = self.hot.get_mut(name).expect("inserted above");
        timeline.used = self.tick;
        timeline
    }

    /// Timeline `name` to read, without keeping it in memory if it was spilled.
    fn get(&self, name: &str, bodies: &Bodies) -> Option<std::borrow::Cow<'_, Timeline>> {
        if let Some(t) = self.hot.get(name) {
            return Some(std::borrow::Cow::Borrowed(t));
        }
        self.cold.get(name)?;
        Self::load(name, bodies, &mut Interner::default()).map(std::borrow::Cow::Owned)
    }

    fn load(name: &str, bodies: &Bodies, strings: &mut Interner) -> Option<Timeline> {
        let bytes = bodies.get(&spill_key(name));
        let decoded = bytes
            .as_deref()
            .map(serde_json::from_slice::<Spilled>)
            .transpose();
        match decoded {
            Ok(Some(spilled)) => Some(Timeline::from_spilled(spilled, strings)),
            Ok(None) => {
                tracing::error!(
                    timeline = name,
                    "spilled timeline missing from the state file"
                );
                metrics::counter!(crate::telemetry::TIMELINE_STATE_ERRORS).increment(1);
                None
            }
            Err(error) => {
                tracing::error!(timeline = name, %error, "unreadable spilled timeline");
                metrics::counter!(crate::telemetry::TIMELINE_STATE_ERRORS).increment(1);
                None
            }
        }
    }

    /// Spills the least recently used timelines until those in memory take at most three
    /// quarters of `budget`, if they take more than it; then starts a new tick. Only timelines
    /// unused for `idle` ticks (batches) or more go: when the timelines of the last batches
    /// alone outgrow the budget, memory goes over it rather than the same timelines being
    /// written and read back every batch. Returns how many were spilled.
    fn spill(&mut self, bodies: &mut Bodies, budget: usize, idle: u64) -> usize {
        let tick = self.tick;
        self.tick += 1;
        let mut total: usize = self.hot.values().map(Timeline::memory).sum();
        if total <= budget {
            return 0;
        }
        let mut idle: Vec<(u64, &String)> = self
            .hot
            .iter()
            .filter(|(_, t)| t.used + idle <= tick)
            .map(|(name, t)| (t.used, name))
            .collect();
        idle.sort_unstable();
        let target = budget / 4 * 3;
        let mut out = Vec::new();
        for (_, name) in idle {
            if total <= target {
                break;
            }
            out.push(name.clone());
            total -= self.hot[name].memory();
        }
        for name in &out {
            if let Some(t) = self.hot.remove(name) {
                bodies.put(spill_key(name), encode(&t.spilled()));
                self.cold.insert(name.clone(), t.summary());
            }
        }
        out.len()
    }

    fn summaries(&self) -> Vec<TimelineSummary> {
        let hot = self.hot.iter().map(|(k, t)| (k, t.summary()));
        let cold = self.cold.iter().map(|(k, c)| (k, c.clone()));
        let mut all: Vec<TimelineSummary> = hot
            .chain(cold)
            .filter(|(_, c)| c.entries > 0)
            .map(|(key, c)| TimelineSummary {
                key: key.clone(),
                entries: c.entries,
                version: c.version,
                first: c.first,
                last: c.last,
            })
            .collect();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        all
    }

    fn len(&self) -> usize {
        self.hot.values().map(|t| t.entries.len()).sum::<usize>()
            + self.cold.values().map(|c| c.entries).sum::<usize>()
    }

    /// Timelines in memory and spilled.
    fn counts(&self) -> (usize, usize) {
        (self.hot.len(), self.cold.len())
    }
}

/// How an entry changed, for [`PartitionState::finish`].
struct Change {
    /// The entry.
    id: Id,
    /// Publish it (to output, or late).
    publish: bool,
    /// To the late topic.
    late: bool,
    /// Its merge class.
    class: Arc<str>,
}

/// The state of every timeline of one partition of the events topic.
#[derive(Debug, Default)]
pub struct PartitionState {
    timelines: Timelines,
    /// Latest publication time seen in this partition.
    latest: Option<DateTime<FixedOffset>>,
    /// Watermark mode: entries waiting for release, in date order.
    pending: BTreeSet<(SortKey, String)>,
    /// Entry bodies by changelog key, on disk: as of the last [`PartitionState::log`]. (With
    /// the memory backend it stays empty: every body is in `held`.)
    bodies: Bodies,
    /// Bodies held in memory, and the shared strings of the heads.
    held: Held,
    /// Entry records read back by [`PartitionState::restore`] (disk backend).
    restoring: u64,
}

/// Every how many entry records a restore spills idle timelines (disk backend), so that reading
/// a large changelog back stays within the memory budget too.
const RESTORE_SPILL_EVERY: u64 = 4096;

/// What a partition holds in memory besides its indexes.
#[derive(Debug, Default)]
struct Held {
    /// Bodies by changelog key, read before `bodies`: with the disk backend those changed since
    /// the last `log` (which moves them to `bodies`); with the memory backend all of them, kept
    /// as structs so that a change decodes nothing.
    bodies: HashMap<String, StoredEntry>,
    /// Strings the heads share.
    strings: Interner,
}

/// The stable id of an entry: its timeline and the event that created it.
pub fn entry_id(timeline: &str, first_event_id: &str) -> String {
    id_text(new_entry_id(timeline, first_event_id))
}

/// [`entry_id`] as a number: the first 8 bytes of the hash, big-endian.
fn new_entry_id(timeline: &str, first_event_id: &str) -> Id {
    let mut h = Sha256::new();
    h.update(timeline.as_bytes());
    h.update([0]);
    h.update(first_event_id.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

fn source_of(record: &TimelineRecord) -> SourceRef {
    SourceRef {
        article_id: record.article.id.clone(),
        published_at: record.article.published_at,
        source: record.article.source.clone(),
        url: record.article.url.clone(),
        event_id: record.event_id.clone(),
        date_text: record.date.text.clone(),
        trigger: record.event.trigger.clone(),
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs cannot fail: no maps with non-string keys, no custom impls.
    serde_json::to_vec(value).unwrap_or_default()
}

/// What merging needs of a record besides the record itself: its entity keys and merge class.
/// Both depend on the record alone, so a record applied to several timelines is read once
/// ([`PartitionState::apply_prepared`]).
#[derive(Debug, Clone)]
pub struct Prepared {
    entities: Vec<String>,
    class: String,
}

impl Prepared {
    /// Reads `record` ([`merge::entity_keys`], [`merge::event_class_dated`]).
    pub fn of(record: &TimelineRecord, aliases: &Aliases) -> Self {
        Prepared {
            entities: merge::entity_keys(&record.event, aliases),
            class: merge::event_class_dated(&record.event, Some(&record.date.text)),
        }
    }
}

impl PartitionState {
    /// An empty state keeping its entry bodies in `bodies`.
    pub fn new(bodies: Bodies) -> Self {
        PartitionState {
            bodies,
            ..Default::default()
        }
    }

    /// An empty state for `partition`, its bodies where `settings` say.
    pub fn for_partition(settings: &StoreSettings, partition: i32) -> Self {
        Self::new(Bodies::open(&settings.backend, partition))
    }

    /// Applies one record to timeline `key` and appends what to publish and log to `changes`.
    pub fn apply(
        &mut self,
        key: &str,
        record: &TimelineRecord,
        settings: &StoreSettings,
        changes: &mut Changes,
    ) {
        let prepared = Prepared::of(record, &settings.aliases);
        self.apply_prepared(key, record, &prepared, settings, changes);
    }

    /// [`PartitionState::apply`] with the record already read.
    pub fn apply_prepared(
        &mut self,
        key: &str,
        record: &TimelineRecord,
        prepared: &Prepared,
        settings: &StoreSettings,
        changes: &mut Changes,
    ) {
        let published = record.article.published_at;
        let watermark = settings.ordering == Ordering::Watermark;
        if self.latest.is_none_or(|l| published > l) {
            self.latest = Some(published);
            changes.unlogged.push(LogKey::Watermark);
            // The watermark moves only here, before the record that moved it is applied: what
            // is released never depends on how records were batched.
            if watermark {
                self.release(settings, changes);
            }
        }
        let timeline = self
            .timelines
            .open(key, &self.bodies, &mut self.held.strings);
        let report = report_hash(&record.event_id);
        if !timeline.reports.contains(&report) {
            let incoming_entities = &prepared.entities;
            let incoming = Candidate {
                date: (&record.date).into(),
                trigger: &record.event.trigger,
                negated: record.event.modality == crate::events::Modality::Negated,
                entities: Entities::Owned(incoming_entities),
                class: std::borrow::Cow::Borrowed(&prepared.class),
            };
            let ids = timeline.merge_candidates(record.date.start, record.date.end);
            let matched = {
                let candidates: Vec<Candidate<'_>> = ids
                    .iter()
                    .filter_map(|id| timeline.entries.get(id))
                    .map(|e| Candidate {
                        date: When {
                            start: e.start,
                            end: e.end,
                            value: &e.value,
                        },
                        trigger: &e.trigger,
                        negated: e.negated,
                        entities: Entities::Shared(&e.entities),
                        class: std::borrow::Cow::Borrowed(&e.class),
                    })
                    .collect();
                merge::best_match(&candidates, &incoming).map(|i| ids[i])
            };
            match matched {
                Some(id) => {
                    let Some(head) = timeline.take(id) else {
                        return;
                    };
                    let body_key = entry_key(key, id);
                    let Some(mut stored) =
                        take_body(&mut self.held.bodies, &self.bodies, &body_key)
                    else {
                        // No readable body (logged): the entry stays as it was.
                        timeline.insert(id, head);
                        return;
                    };
                    let before = head.sort_key(id);
                    let mut class = head.class;
                    if stored.entry.sources.len() < MAX_SOURCES {
                        stored.entry.sources.push(source_of(record));
                    }
                    stored.entry.version += 1;
                    for e in incoming_entities {
                        if !stored.entities.contains(e) {
                            stored.entities.push(e.clone());
                        }
                    }
                    let finer = record.date.granularity < stored.entry.date.granularity
                        && record.date.start >= stored.entry.date.start
                        && record.date.end <= stored.entry.date.end;
                    if finer && !(watermark && stored.released) {
                        stored.entry.date = record.date.clone();
                        class = self.held.strings.get(&stored.class());
                        if watermark && self.pending.remove(&(before, key.to_string())) {
                            let after = sort_key(&stored.entry, id, &mut self.held.strings);
                            self.pending.insert((after, key.to_string()));
                        }
                    }
                    let publish = !watermark || stored.released;
                    let late = watermark && stored.released;
                    let change = Change {
                        id,
                        publish,
                        late,
                        class,
                    };
                    Self::finish(
                        key,
                        timeline,
                        stored,
                        change,
                        settings,
                        changes,
                        &mut self.held,
                    );
                    // Past MAX_SOURCES the report is counted (version) but not listed; it is
                    // still known here, so a second delivery of it changes nothing.
                    timeline.reports.insert(report);
                }
                None => {
                    let id = new_entry_id(key, &record.event_id);
                    let entry = TimelineEntry {
                        schema_version: ENTRY_SCHEMA_VERSION,
                        timeline: key.to_string(),
                        entry_id: id_text(id),
                        version: 1,
                        timeline_version: timeline.meta.version,
                        position: Position {
                            before: None,
                            after: None,
                        },
                        date: record.date.clone(),
                        event: record.event.clone(),
                        sources: vec![source_of(record)],
                        late: false,
                    };
                    let k = sort_key(&entry, id, &mut self.held.strings);
                    let late = watermark
                        && timeline
                            .meta
                            .released_until
                            .as_ref()
                            .is_some_and(|r| &k < r);
                    let stored = StoredEntry {
                        entry,
                        entities: incoming_entities.clone(),
                        // A late entry counts as released: later reports of it are late too.
                        released: !watermark || late,
                    };
                    if watermark && !late {
                        self.pending.insert((k, key.to_string()));
                    }
                    let publish = !watermark || late;
                    timeline.reports.insert(report);
                    let change = Change {
                        id,
                        publish,
                        late,
                        class: self.held.strings.get(&prepared.class),
                    };
                    Self::finish(
                        key,
                        timeline,
                        stored,
                        change,
                        settings,
                        changes,
                        &mut self.held,
                    );
                }
            }
        }
    }

    /// Stores an entry after a change, publishing it (to output, or late) when asked.
    fn finish(
        key: &str,
        timeline: &mut Timeline,
        mut stored: StoredEntry,
        change: Change,
        settings: &StoreSettings,
        changes: &mut Changes,
        held: &mut Held,
    ) {
        let Change {
            id,
            publish,
            late,
            class,
        } = change;
        let watermark = settings.ordering == Ordering::Watermark;
        if publish {
            if !late {
                timeline.meta.version += 1;
            }
            stored.entry.timeline_version = timeline.meta.version;
            stored.entry.late = late;
        }
        let head = Head::of(&stored, class, &mut held.strings);
        let k = head.sort_key(id);
        timeline.insert(id, head);
        if publish {
            stored.entry.position = timeline.position(&k, |e| !watermark || e.released);
            let published = stored.entry.clone();
            if late {
                changes.late.push(published);
            } else {
                changes.output.push(published);
            }
        }
        held.bodies.insert(entry_key(key, id), stored);
        changes.unlogged.push(LogKey::Entry(key.to_string(), id));
        changes.unlogged.push(LogKey::Timeline(key.to_string()));
    }

    /// Encodes what `apply` changed since the last call into `changes.changelog`: one record per
    /// key, holding its state now, and stores the changed bodies. Call it once the records of a
    /// batch are applied.
    pub fn log(&mut self, changes: &mut Changes) {
        let on_disk = self.on_disk();
        let mut seen = std::collections::HashSet::new();
        for k in std::mem::take(&mut changes.unlogged) {
            if !seen.insert(k.clone()) {
                continue;
            }
            let record = match &k {
                LogKey::Watermark => ("watermark".to_string(), Some(encode(&self.latest))),
                LogKey::Timeline(tl) => (
                    format!("timeline|{tl}"),
                    self.timelines.hot.get(tl).map(|t| encode(&t.meta)),
                ),
                LogKey::Entry(tl, id) => {
                    let key = entry_key(tl, *id);
                    let value = match self.held.bodies.get(&key).map(encode) {
                        Some(value) => {
                            if on_disk {
                                self.held.bodies.remove(&key);
                                self.bodies.put(key.clone(), value.clone());
                            }
                            Some(value)
                        }
                        None => self.bodies.get(&key),
                    };
                    (key, value)
                }
            };
            changes.changelog.push(record);
        }
        if on_disk {
            // Bodies changed without a log key (none today) are written too.
            for (key, stored) in std::mem::take(&mut self.held.bodies) {
                self.bodies.put(key, encode(&stored));
            }
            self.spill();
            self.bodies.flush();
        }
    }

    /// Spills idle timelines beyond the memory budget (disk backend), and forgets the shared
    /// strings only they used.
    fn spill(&mut self) {
        let Some((budget, idle)) = self.bodies.memory_budget() else {
            return;
        };
        if self.timelines.spill(&mut self.bodies, budget, idle) > 0 {
            self.held.strings.0.retain(|s| Arc::strong_count(s) > 1);
        }
    }

    /// The watermark: latest publication time seen, minus the allowed lateness.
    pub fn watermark(&self, settings: &StoreSettings) -> Option<DateTime<FixedOffset>> {
        self.latest.map(|l| l - settings.allowed_lateness)
    }

    /// Releases, in date order, the pending entries whose last day is before the watermark.
    fn release(&mut self, settings: &StoreSettings, changes: &mut Changes) {
        let Some(watermark) = self.watermark(settings) else {
            return;
        };
        let day = watermark.date_naive();
        while let Some(first) = self.pending.first() {
            if first.0.0 >= day {
                break;
            }
            let Some((k, key)) = self.pending.pop_first() else {
                break;
            };
            let timeline = self
                .timelines
                .open(&key, &self.bodies, &mut self.held.strings);
            let Some(head) = timeline.take(k.3) else {
                continue;
            };
            let body_key = entry_key(&key, k.3);
            let Some(mut stored) = take_body(&mut self.held.bodies, &self.bodies, &body_key) else {
                timeline.insert(k.3, head);
                continue;
            };
            stored.released = true;
            let id = k.3;
            timeline.meta.released_until = Some(k);
            let change = Change {
                id,
                publish: true,
                late: false,
                class: head.class,
            };
            Self::finish(
                &key,
                timeline,
                stored,
                change,
                settings,
                changes,
                &mut self.held,
            );
        }
    }

    /// Rebuilds state from one changelog record (`None`: a deleted key). Unknown keys and
    /// undecodable values are skipped and reported as `Err` with the reason.
    pub fn restore(&mut self, key: &str, value: Option<&[u8]>) -> Result<(), String> {
        let Some(value) = value else {
            return Ok(());
        };
        let mut parts = key.splitn(3, '|');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("watermark"), None, None) => {
                self.latest = serde_json::from_slice(value).map_err(|e| e.to_string())?;
            }
            (Some("timeline"), Some(name), None) => {
                let meta: TimelineMeta =
                    serde_json::from_slice(value).map_err(|e| e.to_string())?;
                self.timelines
                    .open(name, &self.bodies, &mut self.held.strings)
                    .meta = meta;
            }
            (Some("entry"), Some(name), Some(_)) => {
                let stored: StoredEntry =
                    serde_json::from_slice(value).map_err(|e| e.to_string())?;
                let id = parse_id(&stored.entry.entry_id)
                    .ok_or_else(|| format!("not an entry id: {:?}", stored.entry.entry_id))?;
                let class = self.held.strings.get(&stored.class());
                let timeline = self
                    .timelines
                    .open(name, &self.bodies, &mut self.held.strings);
                let k = sort_key(&stored.entry, id, &mut self.held.strings);
                if let Some(old) = timeline.entries.get(&id) {
                    self.pending.remove(&(old.sort_key(id), name.to_string()));
                }
                if !stored.released {
                    self.pending.insert((k, name.to_string()));
                }
                timeline.register_reports(&stored);
                let head = Head::of(&stored, class, &mut self.held.strings);
                timeline.insert(id, head);
                if self.on_disk() {
                    self.held.bodies.remove(key);
                    self.bodies.put(key.to_string(), value.to_vec());
                    self.restoring += 1;
                    if self.restoring.is_multiple_of(RESTORE_SPILL_EVERY) {
                        self.spill();
                    }
                    self.bodies.flush_if_large();
                } else {
                    self.held.bodies.insert(key.to_string(), stored);
                }
            }
            _ => return Err(format!("unknown changelog key {key:?}")),
        }
        Ok(())
    }

    /// Summaries of the timelines of this partition.
    pub fn summaries(&self) -> Vec<TimelineSummary> {
        self.timelines.summaries()
    }

    /// The entries of one timeline in date order (watermark mode: released ones), meeting
    /// `[from, to]`; `None` when the timeline is not here.
    pub fn entries(
        &self,
        key: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        settings_ordering: Ordering,
    ) -> Option<Vec<TimelineEntry>> {
        let t = self.timelines.get(key, &self.bodies)?;
        if t.entries.is_empty() {
            return None;
        }
        Some(
            t.order
                .iter()
                .filter(|k| {
                    t.entries.get(&k.3).is_some_and(|e| {
                        (settings_ordering == Ordering::Immediate || e.released)
                            && from.is_none_or(|f| e.end >= f)
                            && to.is_none_or(|t| e.start <= t)
                    })
                })
                .filter_map(|k| {
                    let body_key = entry_key(key, k.3);
                    match self.held.bodies.get(&body_key) {
                        Some(stored) => Some(stored.entry.clone()),
                        None => read_body(&self.bodies, &body_key).map(|s| s.entry),
                    }
                })
                .collect(),
        )
    }

    /// Writes the bodies read back by [`PartitionState::restore`] to their store.
    pub fn restored(&mut self) {
        self.spill();
        self.bodies.flush();
    }

    /// Timelines held in memory and spilled to the state file.
    pub fn timeline_counts(&self) -> (usize, usize) {
        self.timelines.counts()
    }

    /// Entry bodies held in memory: all of them with the memory backend; with the disk backend
    /// those changed or restored and not yet written (none after [`PartitionState::log`] or
    /// [`PartitionState::restored`]).
    pub fn bodies_in_memory(&self) -> usize {
        self.held.bodies.len() + self.bodies.pending()
    }

    fn on_disk(&self) -> bool {
        matches!(self.bodies, Bodies::Disk(_))
    }

    /// Number of entries over all timelines.
    pub fn len(&self) -> usize {
        self.timelines.len()
    }

    /// True when no timeline has an entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The state of every partition this instance owns, shared with the HTTP server.
#[derive(Debug, Default)]
pub struct SharedStore {
    partitions: std::sync::RwLock<BTreeMap<i32, PartitionState>>,
    ordering: std::sync::RwLock<Ordering>,
}

impl SharedStore {
    /// An empty store for `ordering`.
    pub fn new(ordering: Ordering) -> Self {
        SharedStore {
            partitions: Default::default(),
            ordering: std::sync::RwLock::new(ordering),
        }
    }

    /// Runs `f` with write access to every partition's state.
    pub fn write<R>(&self, f: impl FnOnce(&mut BTreeMap<i32, PartitionState>) -> R) -> R {
        let mut guard = self
            .partitions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Runs `f` with read access to every partition's state.
    pub fn read<R>(&self, f: impl FnOnce(&BTreeMap<i32, PartitionState>) -> R) -> R {
        let guard = self
            .partitions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&guard)
    }

    fn ordering(&self) -> Ordering {
        *self
            .ordering
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl super::entry::TimelineView for SharedStore {
    fn timelines(&self) -> Vec<TimelineSummary> {
        let mut all: Vec<TimelineSummary> =
            self.read(|p| p.values().flat_map(PartitionState::summaries).collect());
        all.sort_by(|a, b| a.key.cmp(&b.key));
        all
    }

    fn entries(
        &self,
        key: &str,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Option<Vec<TimelineEntry>> {
        let ordering = self.ordering();
        self.read(|p| p.values().find_map(|s| s.entries(key, from, to, ordering)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Modality;
    use crate::tagger::{Granularity, TimexType};
    use crate::timeline::record::{DateInfo, EventInfo};

    fn head(start: NaiveDate, end: NaiveDate) -> Head {
        Head::of(
            &stored("x", start, end),
            Arc::from(""),
            &mut Interner::default(),
        )
    }

    fn stored(id: &str, start: NaiveDate, end: NaiveDate) -> StoredEntry {
        StoredEntry {
            entry: TimelineEntry {
                schema_version: ENTRY_SCHEMA_VERSION,
                timeline: "t".into(),
                entry_id: id.into(),
                version: 1,
                timeline_version: 1,
                position: Position {
                    before: None,
                    after: None,
                },
                date: DateInfo {
                    value: format!("{start}/{end}"),
                    modifier: None,
                    kind: TimexType::Date,
                    start,
                    end,
                    granularity: Granularity::Day,
                    text: String::new(),
                    span: [0, 0],
                    range: None,
                },
                event: EventInfo {
                    trigger: "met".into(),
                    phrase: "met".into(),
                    participants: Vec::new(),
                    location: None,
                    modality: Modality::Asserted,
                    sentence: "They met.".into(),
                },
                sources: Vec::new(),
                late: false,
            },
            entities: Vec::new(),
            released: true,
        }
    }

    /// `merge_candidates` is `near` filtered by `dates_compatible` (without its clock rule, which
    /// only applies to times), in the same order.
    /// Entry ids as numbers keep the order and the text of the ids.
    #[test]
    fn entry_ids_round_trip_and_keep_their_order() {
        let mut ids: Vec<String> = (0..200)
            .map(|i| entry_id("north-korea", &format!("ev-{i}")))
            .collect();
        for id in &ids {
            assert_eq!(id_text(parse_id(id).unwrap()), *id);
        }
        let mut numbers: Vec<Id> = ids.iter().map(|id| parse_id(id).unwrap()).collect();
        ids.sort();
        numbers.sort();
        assert_eq!(ids, numbers.into_iter().map(id_text).collect::<Vec<_>>());
        for bad in [
            "te-123",
            "te-ABCDEF0123456789",
            "xx-0123456789abcdef",
            "te-0123456789abcdefg",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn merge_candidates_are_the_date_compatible_neighbours() {
        let day0 = NaiveDate::from_ymd_opt(2019, 1, 1).unwrap();
        let spans = [
            0, 1, 6, 7, 13, 29, 30, 31, 45, 90, 91, 120, 180, 200, 364, 365, 366, 400,
        ];
        let mut timeline = Timeline::default();
        let mut n = 0;
        for offset in (0..400).step_by(7) {
            for span in spans {
                let start = day0 + Duration::days(offset);
                timeline.insert(n, head(start, start + Duration::days(span)));
                n += 1;
            }
        }
        let mut found = 0;
        for offset in (0..420).step_by(5) {
            for span in spans {
                let start = day0 + Duration::days(offset);
                let end = start + Duration::days(span);
                let probe = stored("probe", start, end);
                let expected: Vec<Id> = timeline
                    .near(start, end)
                    .into_iter()
                    .filter(|id| {
                        let h = &timeline.entries[id];
                        let when = When {
                            start: h.start,
                            end: h.end,
                            value: &h.value,
                        };
                        merge::when_compatible(when, (&probe.entry.date).into())
                    })
                    .collect();
                found += expected.len();
                assert_eq!(
                    timeline.merge_candidates(start, end),
                    expected,
                    "{start}..{end}"
                );
            }
        }
        assert!(found > 1000, "the probes met only {found} candidates");
    }
}
