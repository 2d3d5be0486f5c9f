//! The timeline store without Kafka: merging, versions, positions, duplicates, the watermark
//! mode and restoring from the changelog.

use chrono::{DateTime, Datelike, Duration, NaiveDate};

use dateline::events::Modality;
use dateline::tagger::{Granularity, TimexType};
use dateline::timeline::store::{Changes, Ordering, PartitionState, StoreSettings};
use dateline::timeline::{ArticleRef, DateInfo, EventInfo, TimelineRecord};

const KEY: &str = "north-korea";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A record of `article` (published on `published`, a date) dating `trigger` to `value`.
fn record(article: &str, published: &str, value: &str, trigger: &str) -> TimelineRecord {
    let (start, end, granularity) = match value.len() {
        10 => (day(value), day(value), Granularity::Day),
        7 => {
            let start = day(&format!("{value}-01"));
            let next = (start + Duration::days(32)).with_day0(0).unwrap();
            (start, next - Duration::days(1), Granularity::Month)
        }
        _ => (
            day(&format!("{value}-01-01")),
            day(&format!("{value}-12-31")),
            Granularity::Year,
        ),
    };
    TimelineRecord {
        schema_version: 1,
        event_id: format!("ev-{article}-{value}-{trigger}"),
        timeline: article.to_string(),
        seq: 0,
        article: ArticleRef {
            id: article.to_string(),
            published_at: DateTime::parse_from_rfc3339(&format!("{published}T09:00:00+09:00"))
                .unwrap(),
            source: Some(format!("{article} Wire")),
            url: None,
        },
        date: DateInfo {
            value: value.to_string(),
            modifier: None,
            kind: TimexType::Date,
            start,
            end,
            granularity,
            text: value.to_string(),
            span: [0, value.len()],
            range: None,
        },
        event: EventInfo {
            trigger: trigger.to_string(),
            phrase: trigger.to_string(),
            participants: vec!["North Korea".to_string(), "Sohae".to_string()],
            location: Some("Sohae".to_string()),
            modality: Modality::Reported,
            sentence: format!("It {trigger} on {value}."),
        },
    }
}

fn apply_all(
    state: &mut PartitionState,
    settings: &StoreSettings,
    records: &[TimelineRecord],
) -> Changes {
    apply_to(state, settings, KEY, records)
}

fn apply_to(
    state: &mut PartitionState,
    settings: &StoreSettings,
    key: &str,
    records: &[TimelineRecord],
) -> Changes {
    let mut changes = Changes::default();
    for r in records {
        state.apply(key, r, settings, &mut changes);
    }
    state.log(&mut changes);
    changes
}

fn immediate() -> StoreSettings {
    StoreSettings::default()
}

fn watermark(lateness_days: i64) -> StoreSettings {
    StoreSettings {
        ordering: Ordering::Watermark,
        allowed_lateness: Duration::days(lateness_days),
        ..StoreSettings::default()
    }
}

#[test]
fn reports_of_one_event_merge_and_versions_grow() {
    let mut state = PartitionState::default();
    let changes = apply_all(
        &mut state,
        &immediate(),
        &[
            record("a", "2019-12-17", "2019-12-07", "tests"),
            record("b", "2019-12-18", "2019-12-07", "tests"),
            record("c", "2019-12-19", "2019-12-07", "tests"),
        ],
    );
    let out = &changes.output;
    assert_eq!(out.len(), 3, "a creation and two updates");
    assert!(out.iter().all(|e| e.entry_id == out[0].entry_id));
    assert_eq!(out.iter().map(|e| e.version).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        out.iter().map(|e| e.timeline_version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let sources: Vec<&str> = out[2]
        .sources
        .iter()
        .map(|s| s.article_id.as_str())
        .collect();
    assert_eq!(sources, ["a", "b", "c"]);
    assert_eq!(state.len(), 1);
}

#[test]
fn different_days_stay_apart_and_positions_link_them() {
    let mut state = PartitionState::default();
    let changes = apply_all(
        &mut state,
        &immediate(),
        &[
            record("a", "2019-12-17", "2019-12-13", "tests"),
            record("a", "2019-12-17", "2019-12-07", "tests"),
            record("b", "2019-12-18", "2019-12-10", "tests"),
        ],
    );
    assert_eq!(state.len(), 3);
    let [d13, d07, d10] = &changes.output[..] else {
        panic!("three entries expected, got {:?}", changes.output.len());
    };
    // Each change names its neighbours in date order at the time it is published.
    assert_eq!(d13.position.before, None);
    assert_eq!(d07.position.after.as_deref(), Some(d13.entry_id.as_str()));
    assert_eq!(d10.position.before.as_deref(), Some(d07.entry_id.as_str()));
    assert_eq!(d10.position.after.as_deref(), Some(d13.entry_id.as_str()));
    let ordered: Vec<String> = state
        .entries(KEY, None, None, Ordering::Immediate)
        .unwrap()
        .into_iter()
        .map(|e| e.date.value)
        .collect();
    assert_eq!(ordered, ["2019-12-07", "2019-12-10", "2019-12-13"]);
}

#[test]
fn a_record_delivered_twice_changes_nothing() {
    let mut state = PartitionState::default();
    let r = record("a", "2019-12-17", "2019-12-07", "tests");
    let first = apply_all(&mut state, &immediate(), std::slice::from_ref(&r));
    let again = apply_all(&mut state, &immediate(), &[r]);
    assert_eq!(first.output.len(), 1);
    assert!(again.output.is_empty(), "{:?}", again.output);
}

#[test]
fn a_more_precise_report_refines_the_date() {
    let mut state = PartitionState::default();
    let changes = apply_all(
        &mut state,
        &immediate(),
        &[
            record("a", "2019-12-17", "2019-12", "tests"),
            record("b", "2019-12-18", "2019-12-07", "tests"),
        ],
    );
    let last = changes.output.last().unwrap();
    assert_eq!(last.version, 2);
    assert_eq!(last.date.value, "2019-12-07");
}

#[test]
fn watermark_releases_in_date_order_and_sends_late_changes_apart() {
    let settings = watermark(1);
    let mut state = PartitionState::default();
    // The first article sets the watermark to 2019-12-16; its records wait for a later
    // article to move it.
    let first = apply_all(
        &mut state,
        &settings,
        &[
            record("a", "2019-12-17", "2019-12-13", "tests"),
            record("a", "2019-12-17", "2019-12-20", "talks"),
            record("a", "2019-12-17", "2019-12-07", "tests"),
        ],
    );
    assert!(first.output.is_empty() && first.late.is_empty());

    // b (watermark 2019-12-17) releases the 7th and the 13th, in date order; its own report of
    // the 10th comes after the 13th was released: late. c's new report of the released 13th is
    // late too. d moves the watermark to 2019-12-22 and releases the 20th; its 21st waits.
    let second = apply_all(
        &mut state,
        &settings,
        &[
            record("b", "2019-12-18", "2019-12-10", "launch"),
            record("c", "2019-12-19", "2019-12-13", "tests"),
            record("d", "2019-12-23", "2019-12-21", "meeting"),
        ],
    );
    let released: Vec<&str> = second
        .output
        .iter()
        .map(|e| e.date.value.as_str())
        .collect();
    assert_eq!(released, ["2019-12-07", "2019-12-13", "2019-12-20"]);
    let late: Vec<(&str, bool, u64)> = second
        .late
        .iter()
        .map(|e| (e.date.value.as_str(), e.late, e.version))
        .collect();
    assert_eq!(late, [("2019-12-10", true, 1), ("2019-12-13", true, 2)]);
    // Released records of one timeline never go back in date order, and versions count the
    // published changes only.
    assert!(
        second
            .output
            .windows(2)
            .all(|w| w[0].date.end <= w[1].date.end)
    );
    assert_eq!(
        second
            .output
            .iter()
            .map(|e| e.timeline_version)
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // The 20th's position names the 13th before it and nothing released after it.
    assert_eq!(
        second.output[2].position.before.as_deref(),
        Some(second.output[1].entry_id.as_str())
    );
    assert_eq!(second.output[2].position.after, None);
}

/// Replays `changelog` into a fresh state.
fn restored(changes: &[Changes]) -> PartitionState {
    let mut state = PartitionState::default();
    for c in changes {
        for (key, value) in &c.changelog {
            state.restore(key, value.as_deref()).unwrap();
        }
    }
    state
}

#[test]
fn a_restored_state_answers_like_one_that_never_stopped() {
    for settings in [immediate(), watermark(1)] {
        let records = [
            record("a", "2019-12-17", "2019-12-13", "tests"),
            record("a", "2019-12-17", "2019-12-20", "talks"),
            record("b", "2019-12-18", "2019-12-13", "tests"),
            record("b", "2019-12-18", "2019-06", "summit"),
        ];
        let later = [
            record("c", "2019-12-19", "2019-12-13", "tests"),
            record("d", "2019-12-23", "2019-12-21", "meeting"),
            record("d", "2019-12-23", "2019-12-10", "launch"),
        ];
        let mut live = PartitionState::default();
        let before = apply_all(&mut live, &settings, &records);
        let len_before = live.len();
        let live_after = apply_all(&mut live, &settings, &later);

        let mut back = restored(std::slice::from_ref(&before));
        assert_eq!(back.len(), len_before);
        let back_after = apply_all(&mut back, &settings, &later);
        assert_eq!(
            back_after.output, live_after.output,
            "{:?}: output after restore",
            settings.ordering
        );
        assert_eq!(back_after.late, live_after.late);
        assert_eq!(back_after.changelog, live_after.changelog);
    }
}

#[test]
fn sources_stay_bounded_however_many_outlets_report_an_event() {
    use dateline::timeline::store::MAX_SOURCES;
    let mut state = PartitionState::default();
    let reports: Vec<TimelineRecord> = (0..MAX_SOURCES + 10)
        .map(|i| record(&format!("outlet-{i}"), "2019-12-17", "2019-12-07", "tests"))
        .collect();
    let changes = apply_all(&mut state, &immediate(), &reports);
    let last = changes.output.last().unwrap();
    assert_eq!(last.sources.len(), MAX_SOURCES);
    assert_eq!(
        last.version,
        (MAX_SOURCES + 10) as u64,
        "version counts every report"
    );
    // A report past the listed ones, delivered again, still changes nothing.
    let again = apply_all(&mut state, &immediate(), &reports[MAX_SOURCES + 5..]);
    assert!(again.output.is_empty());
    assert_eq!(state.len(), 1);
}

/// Records of many articles over two years: repeated events (which merge), finer dates of them,
/// and new ones, in an order that moves the watermark forwards and back.
fn busy_stream() -> Vec<TimelineRecord> {
    let triggers = ["tests", "talks", "summit", "launch", "rejected"];
    let mut records = Vec::new();
    for i in 0..400u32 {
        let published = day("2018-01-01") + Duration::days(i64::from((i * 7) % 700));
        let event = day("2018-01-01") + Duration::days(i64::from((i * 13) % 600));
        let value = if i % 5 == 0 {
            event.format("%Y-%m").to_string()
        } else {
            event.to_string()
        };
        records.push(record(
            &format!("art-{}", i % 150),
            &published.to_string(),
            &value,
            triggers[(i % 5) as usize],
        ));
    }
    records
}

/// A timeline is spilled only after `spill_idle_batches` batches without a record: timelines in
/// steady use stay in memory, over the budget, instead of going to disk and back every batch.
#[test]
fn only_idle_timelines_are_spilled() {
    use dateline::timeline::bodies::{Backend, Bodies};
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::Disk {
        dir: dir.path().to_path_buf(),
        cache_bytes: 1 << 20,
        memory_bytes: 0,
        spill_idle_batches: 4,
    };
    let mut state = PartitionState::new(Bodies::open(&backend, 0));
    let records = busy_stream();
    let mut batches = records.chunks(10);
    let keys = [KEY, "entity:org:iaea", "entity:place:sohae"];
    for i in 0..9 {
        let batch = batches.next().unwrap();
        apply_to(&mut state, &immediate(), keys[i % 3], batch);
        assert_eq!(state.timeline_counts(), ((i + 1).min(3), 0), "batch {i}");
    }
    // Only the first timeline from now on: the two others are idle, and go after 4 batches.
    let mut counts = Vec::new();
    for _ in 0..5 {
        apply_to(&mut state, &immediate(), KEY, batches.next().unwrap());
        counts.push(state.timeline_counts());
    }
    assert_eq!(counts, [(3, 0), (3, 0), (2, 1), (1, 2), (1, 2)]);
}

fn disk(dir: &std::path::Path) -> PartitionState {
    use dateline::timeline::bodies::{Backend, Bodies};
    let backend = Backend::Disk {
        dir: dir.to_path_buf(),
        cache_bytes: 1 << 20,
        // Every timeline not used in the batch at hand is spilled to the file after it.
        memory_bytes: 0,
        spill_idle_batches: 1,
    };
    let state = PartitionState::new(Bodies::open(&backend, 0));
    assert_eq!(state.bodies_in_memory(), 0);
    state
}

/// Entry bodies on disk change nothing: per batch, the same output, late changes and changelog
/// as in memory, the same listings, and the same after a restore from the changelog into a disk
/// state; while only the batch's bodies are in memory.
#[test]
fn the_disk_backend_answers_exactly_like_the_memory_backend() {
    let dir = tempfile::tempdir().unwrap();
    let records = busy_stream();
    // Batch i goes to timeline i % 3: with a memory budget of 0, the two others are spilled to
    // the file after it, and read back when their turn comes.
    let keys = [KEY, "entity:org:iaea", "entity:place:sohae"];
    let apply_batch = |state: &mut PartitionState,
                       settings: &StoreSettings,
                       i: usize,
                       batch: &[TimelineRecord]| {
        apply_to(state, settings, keys[i % keys.len()], batch)
    };
    for settings in [immediate(), watermark(3)] {
        let mut memory = PartitionState::default();
        let mut on_disk = disk(dir.path());
        let mut log = Vec::new();
        for (i, batch) in records[..300].chunks(37).enumerate() {
            let a = apply_batch(&mut memory, &settings, i, batch);
            let b = apply_batch(&mut on_disk, &settings, i, batch);
            assert_eq!(a, b, "{:?}", settings.ordering);
            assert_eq!(on_disk.bodies_in_memory(), 0, "flushed after log");
            if i >= 2 {
                // (Watermark releases may use another timeline than the batch's.)
                let (hot, cold) = on_disk.timeline_counts();
                assert!(cold >= 1 && hot + cold == 3, "spilled: {hot} {cold}");
            }
            log.push(b);
        }
        assert!(memory.bodies_in_memory() > 0);
        assert_eq!(
            memory.timeline_counts(),
            (3, 0),
            "nothing spilled in memory"
        );
        let listing = |s: &PartitionState, key: &str| {
            s.entries(key, None, None, settings.ordering)
                .unwrap_or_default()
        };
        for key in keys {
            assert_eq!(listing(&memory, key), listing(&on_disk, key), "{key}");
        }
        assert_eq!(memory.summaries(), on_disk.summaries());
        assert_eq!(memory.len(), on_disk.len());
        assert!(listing(&memory, KEY).len() > 20, "a busy timeline");
        assert!(
            listing(&memory, KEY).iter().any(|e| e.version > 1),
            "merges happened"
        );

        let mut back = disk(dir.path());
        for c in &log {
            for (key, value) in &c.changelog {
                back.restore(key, value.as_deref()).unwrap();
            }
        }
        back.restored();
        for key in keys {
            assert_eq!(listing(&back, key), listing(&memory, key), "{key}");
        }
        for (i, batch) in records[300..].chunks(37).enumerate() {
            let a = apply_batch(&mut memory, &settings, i, batch);
            let b = apply_batch(&mut back, &settings, i, batch);
            assert_eq!(a, b, "{:?} after restore", settings.ordering);
        }
        assert!(back.timeline_counts().1 > 0, "spilled after the restore");
    }
    drop(dir);
}
