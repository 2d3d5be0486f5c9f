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

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::bodies::{Backend, Bodies};
use super::entry::{ENTRY_SCHEMA_VERSION, Position, SourceRef, TimelineEntry, TimelineSummary};
use super::keys::Aliases;
use super::merge::{self, Candidate};
use super::record::{DateInfo, TimelineRecord};

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
    Entry(String, String),
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

/// Sort key of an entry: last day, first day, value, id.
type SortKey = (NaiveDate, NaiveDate, String, String);

fn sort_key(entry: &TimelineEntry) -> SortKey {
    sort_key_of(&entry.date, &entry.entry_id)
}

fn sort_key_of(date: &DateInfo, id: &str) -> SortKey {
    (date.end, date.start, date.value.clone(), id.to_string())
}

/// Index key of an entry by span class: class, last day, sort key.
type SpanKey = (u8, NaiveDate, Option<SortKey>);

/// Longest span, in days, of each span class: a day, a week, a month, a quarter or season, a
/// half year, a year and [`merge::MAX_SPAN_DAYS`]. Longer entries are never merge candidates.
const SPAN_CLASSES: [i64; 7] = [0, 7, 31, 92, 184, 366, merge::MAX_SPAN_DAYS];

fn span_class(date: &DateInfo) -> Option<u8> {
    let days = (date.end - date.start).num_days();
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

/// What the store keeps in memory of an entry: what merging, ordering and release read. The
/// rest (sources, sentence, phrase) is in the body, read when the entry changes or is listed.
#[derive(Debug, Clone)]
struct Head {
    date: DateInfo,
    trigger: String,
    negated: bool,
    /// Entity keys of every report merged so far.
    entities: Vec<String>,
    /// [`StoredEntry::class`].
    class: String,
    released: bool,
}

impl Head {
    fn of(stored: &StoredEntry, class: String) -> Self {
        Head {
            // The written form is read from the body when needed (merge class); not kept here.
            date: DateInfo {
                text: String::new(),
                ..stored.entry.date.clone()
            },
            trigger: stored.entry.event.trigger.clone(),
            negated: stored.entry.event.modality == crate::events::Modality::Negated,
            entities: stored.entities.clone(),
            class,
            released: stored.released,
        }
    }
}

/// The changelog key (and body key) of an entry.
fn entry_key(timeline: &str, id: &str) -> String {
    format!("entry|{timeline}|{id}")
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
    released_until: Option<SortKey>,
}

#[derive(Debug, Default)]
struct Timeline {
    meta: TimelineMeta,
    order: BTreeSet<SortKey>,
    /// The same keys by span class and last day, for [`Timeline::near`]. (`None` only in range
    /// bounds: it sorts before every key.)
    by_span: BTreeSet<SpanKey>,
    entries: HashMap<String, Head>,
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
    fn take(&mut self, id: &str) -> Option<Head> {
        let old = self.entries.remove(id)?;
        let k = sort_key_of(&old.date, id);
        if let Some(class) = span_class(&old.date) {
            self.by_span.remove(&(class, k.0, Some(k.clone())));
        }
        self.order.remove(&k);
        Some(old)
    }

    fn insert(&mut self, id: String, head: Head) {
        self.take(&id);
        let k = sort_key_of(&head.date, &id);
        if let Some(class) = span_class(&head.date) {
            self.by_span.insert((class, k.0, Some(k.clone())));
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
                .map(|_| k.3.clone())
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
    fn near(&self, start: NaiveDate, end: NaiveDate) -> Vec<String> {
        let mut keys: Vec<&SortKey> = Vec::new();
        for (class, max_days) in SPAN_CLASSES.iter().enumerate() {
            let low = (class as u8, start, None);
            let high = (class as u8, end + Duration::days(max_days + 1), None);
            keys.extend(
                self.by_span
                    .range(low..high)
                    .filter_map(|(_, _, k)| k.as_ref())
                    .filter(|k| k.1 <= end),
            );
        }
        keys.sort();
        keys.into_iter().map(|k| k.3.clone()).collect()
    }

    /// The entries a report dated `[start, end]` may merge with, in date order: those whose dates
    /// [`merge::dates_compatible`] can accept, i.e. the same interval, or (when both are at most
    /// [`merge::MAX_NESTED_SPAN_DAYS`] long) one inside the other. The same as filtering
    /// [`Timeline::near`], without walking a year of day-level entries for a year-level report.
    fn merge_candidates(&self, start: NaiveDate, end: NaiveDate) -> Vec<String> {
        let span = (end - start).num_days();
        if span < 0 {
            return Vec::new();
        }
        let Some(class) = SPAN_CLASSES.iter().position(|max| span <= *max) else {
            return Vec::new();
        };
        let mut keys: Vec<&SortKey> = Vec::new();
        if span > merge::MAX_NESTED_SPAN_DAYS {
            let class = class as u8;
            let low = (class, end, None);
            let high = (class, end + Duration::days(1), None);
            keys.extend(
                self.by_span
                    .range(low..high)
                    .filter_map(|(_, _, k)| k.as_ref())
                    .filter(|k| k.1 == start),
            );
        } else {
            for (class, max_days) in SPAN_CLASSES.iter().enumerate() {
                // Classes whose entries are all longer than the nested limit cannot match.
                if class > 0 && SPAN_CLASSES[class - 1] >= merge::MAX_NESTED_SPAN_DAYS {
                    break;
                }
                // Inside [start, end]: ends in it. Around it: ends at most `max_days` after it.
                let low = (class as u8, start, None);
                let high = (class as u8, end + Duration::days(max_days + 1), None);
                keys.extend(
                    self.by_span
                        .range(low..high)
                        .filter_map(|(_, _, k)| k.as_ref())
                        .filter(|k| {
                            let (s, e) = (k.1, k.0);
                            let inside = start <= s && e <= end;
                            let around = s <= start
                                && end <= e
                                && (e - s).num_days() <= merge::MAX_NESTED_SPAN_DAYS;
                            inside || around
                        }),
                );
            }
        }
        keys.sort();
        keys.into_iter().map(|k| k.3.clone()).collect()
    }
}

/// How an entry changed, for [`PartitionState::finish`].
struct Change {
    /// Publish it (to output, or late).
    publish: bool,
    /// To the late topic.
    late: bool,
    /// Its merge class.
    class: String,
}

/// The state of every timeline of one partition of the events topic.
#[derive(Debug, Default)]
pub struct PartitionState {
    timelines: BTreeMap<String, Timeline>,
    /// Latest publication time seen in this partition.
    latest: Option<DateTime<FixedOffset>>,
    /// Watermark mode: entries waiting for release, in date order.
    pending: BTreeSet<(SortKey, String)>,
    /// Entry bodies by changelog key, on disk: as of the last [`PartitionState::log`]. (With
    /// the memory backend it stays empty: every body is in `dirty`.)
    bodies: Bodies,
    /// Bodies held in memory, by changelog key, read before `bodies`: with the disk backend
    /// those changed since the last `log` (which moves them to `bodies`); with the memory
    /// backend all of them, kept as structs so that a change decodes nothing.
    dirty: HashMap<String, StoredEntry>,
}

/// The stable id of an entry: its timeline and the event that created it.
pub fn entry_id(timeline: &str, first_event_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(timeline.as_bytes());
    h.update([0]);
    h.update(first_event_id.as_bytes());
    format!("te-{}", hex::encode(&h.finalize()[..8]))
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
        let timeline = self.timelines.entry(key.to_string()).or_default();
        let report = report_hash(&record.event_id);
        if !timeline.reports.contains(&report) {
            let incoming_entities = &prepared.entities;
            let incoming = Candidate {
                date: &record.date,
                trigger: &record.event.trigger,
                negated: record.event.modality == crate::events::Modality::Negated,
                entities: incoming_entities,
                class: std::borrow::Cow::Borrowed(&prepared.class),
            };
            let ids = timeline.merge_candidates(record.date.start, record.date.end);
            let matched = {
                let candidates: Vec<Candidate<'_>> = ids
                    .iter()
                    .filter_map(|id| timeline.entries.get(id))
                    .map(|e| Candidate {
                        date: &e.date,
                        trigger: &e.trigger,
                        negated: e.negated,
                        entities: &e.entities,
                        class: std::borrow::Cow::Borrowed(&e.class),
                    })
                    .collect();
                merge::best_match(&candidates, &incoming).map(|i| ids[i].clone())
            };
            match matched {
                Some(id) => {
                    let Some(head) = timeline.take(&id) else {
                        return;
                    };
                    let body_key = entry_key(key, &id);
                    let Some(mut stored) = take_body(&mut self.dirty, &self.bodies, &body_key)
                    else {
                        // No readable body (logged): the entry stays as it was.
                        timeline.insert(id, head);
                        return;
                    };
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
                        let before = sort_key(&stored.entry);
                        stored.entry.date = record.date.clone();
                        class = stored.class();
                        if watermark && self.pending.remove(&(before, key.to_string())) {
                            self.pending
                                .insert((sort_key(&stored.entry), key.to_string()));
                        }
                    }
                    let publish = !watermark || stored.released;
                    let late = watermark && stored.released;
                    let change = Change {
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
                        &mut self.dirty,
                    );
                    // Past MAX_SOURCES the report is counted (version) but not listed; it is
                    // still known here, so a second delivery of it changes nothing.
                    timeline.reports.insert(report);
                }
                None => {
                    let id = entry_id(key, &record.event_id);
                    let entry = TimelineEntry {
                        schema_version: ENTRY_SCHEMA_VERSION,
                        timeline: key.to_string(),
                        entry_id: id,
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
                    let k = sort_key(&entry);
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
                        publish,
                        late,
                        class: prepared.class.clone(),
                    };
                    Self::finish(
                        key,
                        timeline,
                        stored,
                        change,
                        settings,
                        changes,
                        &mut self.dirty,
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
        dirty: &mut HashMap<String, StoredEntry>,
    ) {
        let Change {
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
        let k = sort_key(&stored.entry);
        let id = stored.entry.entry_id.clone();
        timeline.insert(id.clone(), Head::of(&stored, class));
        if publish {
            stored.entry.position = timeline.position(&k, |e| !watermark || e.released);
            let published = stored.entry.clone();
            if late {
                changes.late.push(published);
            } else {
                changes.output.push(published);
            }
        }
        dirty.insert(entry_key(key, &id), stored);
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
                    self.timelines.get(tl).map(|t| encode(&t.meta)),
                ),
                LogKey::Entry(tl, id) => {
                    let key = entry_key(tl, id);
                    let value = match self.dirty.get(&key).map(encode) {
                        Some(value) => {
                            if on_disk {
                                self.dirty.remove(&key);
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
            for (key, stored) in std::mem::take(&mut self.dirty) {
                self.bodies.put(key, encode(&stored));
            }
            self.bodies.flush();
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
            let Some(timeline) = self.timelines.get_mut(&key) else {
                continue;
            };
            let Some(head) = timeline.take(&k.3) else {
                continue;
            };
            let body_key = entry_key(&key, &k.3);
            let Some(mut stored) = take_body(&mut self.dirty, &self.bodies, &body_key) else {
                timeline.insert(k.3.clone(), head);
                continue;
            };
            stored.released = true;
            timeline.meta.released_until = Some(k);
            let change = Change {
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
                &mut self.dirty,
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
                self.timelines.entry(name.to_string()).or_default().meta = meta;
            }
            (Some("entry"), Some(name), Some(_)) => {
                let stored: StoredEntry =
                    serde_json::from_slice(value).map_err(|e| e.to_string())?;
                let class = stored.class();
                let timeline = self.timelines.entry(name.to_string()).or_default();
                let id = stored.entry.entry_id.clone();
                let k = sort_key(&stored.entry);
                if let Some(old) = timeline.entries.get(&id) {
                    self.pending
                        .remove(&(sort_key_of(&old.date, &id), name.to_string()));
                }
                if !stored.released {
                    self.pending.insert((k, name.to_string()));
                }
                timeline.register_reports(&stored);
                timeline.insert(id, Head::of(&stored, class));
                if self.on_disk() {
                    self.dirty.remove(key);
                    self.bodies.put(key.to_string(), value.to_vec());
                    self.bodies.flush_if_large();
                } else {
                    self.dirty.insert(key.to_string(), stored);
                }
            }
            _ => return Err(format!("unknown changelog key {key:?}")),
        }
        Ok(())
    }

    /// Summaries of the timelines of this partition.
    pub fn summaries(&self) -> Vec<TimelineSummary> {
        self.timelines
            .iter()
            .filter(|(_, t)| !t.entries.is_empty())
            .map(|(key, t)| TimelineSummary {
                key: key.clone(),
                entries: t.entries.len(),
                version: t.meta.version,
                first: t.entries.values().map(|e| e.date.start).min(),
                last: t.entries.values().map(|e| e.date.end).max(),
            })
            .collect()
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
        let t = self.timelines.get(key)?;
        if t.entries.is_empty() {
            return None;
        }
        Some(
            t.order
                .iter()
                .filter(|k| {
                    t.entries.get(&k.3).is_some_and(|e| {
                        (settings_ordering == Ordering::Immediate || e.released)
                            && from.is_none_or(|f| e.date.end >= f)
                            && to.is_none_or(|t| e.date.start <= t)
                    })
                })
                .filter_map(|k| {
                    let body_key = entry_key(key, &k.3);
                    match self.dirty.get(&body_key) {
                        Some(stored) => Some(stored.entry.clone()),
                        None => read_body(&self.bodies, &body_key).map(|s| s.entry),
                    }
                })
                .collect(),
        )
    }

    /// Writes the bodies read back by [`PartitionState::restore`] to their store.
    pub fn restored(&mut self) {
        self.bodies.flush();
    }

    /// Entry bodies held in memory: all of them with the memory backend; with the disk backend
    /// those changed or restored and not yet written (none after [`PartitionState::log`] or
    /// [`PartitionState::restored`]).
    pub fn bodies_in_memory(&self) -> usize {
        self.dirty.len() + self.bodies.pending()
    }

    fn on_disk(&self) -> bool {
        matches!(self.bodies, Bodies::Disk(_))
    }

    /// Number of entries over all timelines.
    pub fn len(&self) -> usize {
        self.timelines.values().map(|t| t.entries.len()).sum()
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
        Head::of(&stored("x", start, end), String::new())
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
                timeline.insert(format!("e{n}"), head(start, start + Duration::days(span)));
                n += 1;
            }
        }
        let mut found = 0;
        for offset in (0..420).step_by(5) {
            for span in spans {
                let start = day0 + Duration::days(offset);
                let end = start + Duration::days(span);
                let probe = stored("probe", start, end);
                let expected: Vec<String> = timeline
                    .near(start, end)
                    .into_iter()
                    .filter(|id| {
                        merge::dates_compatible(&timeline.entries[id].date, &probe.entry.date)
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
