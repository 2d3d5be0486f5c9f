//! How the timeline store and the extractor scale: run by `scripts/bench-scaling.sh`, one
//! process per size so each peak RSS is its own.
//!
//! - `bench_scaling entries N [TIMELINES] [memory|disk]`: applies N reports that each create an
//!   entry, spread over TIMELINES timelines (default 1000), with the entry bodies in memory
//!   (default) or on disk (`[timelines] state`), then N/10 reports that merge into existing entries;
//!   prints the insert and merge rates, the changelog bytes, the time to restore the state from
//!   that changelog, and the peak RSS, as one JSON line.
//! - `bench_scaling article BYTES`: extracts one article of about BYTES of news text (TBAQ
//!   sentences repeated) and prints the rate and peak RSS.

use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate};
use dateline::events::Modality;
use dateline::tagger::{Granularity, TimexType};
use dateline::timeline::bodies::{Backend, Bodies};
use dateline::timeline::store::{Changes, PartitionState, StoreSettings};
use dateline::timeline::{ArticleRef, DateInfo, EventInfo, TimelineRecord};

const TRIGGERS: [&str; 8] = [
    "signed", "met", "launched", "rejected", "tested", "voted", "opened", "resigned",
];

fn report(i: usize, article: usize, timelines: usize) -> (String, TimelineRecord) {
    // Report i goes to timeline i % T, as that timeline's (i / T)-th event: a distinct day (and
    // after 30,000 days a distinct trigger), so each report creates an entry.
    let (t, j) = (i % timelines, i / timelines);
    let day = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + Duration::days((j % 30_000) as i64);
    let trigger = TRIGGERS[(j / 30_000) % TRIGGERS.len()];
    let key = format!("entity-{t}");
    let value = day.format("%Y-%m-%d").to_string();
    let record = TimelineRecord {
        schema_version: 1,
        event_id: format!("ev-{i:016x}-{article}"),
        timeline: format!("article-{article}"),
        seq: 0,
        article: ArticleRef {
            id: format!("article-{article}"),
            published_at: DateTime::parse_from_rfc3339("2024-01-01T08:00:00+00:00").unwrap()
                + Duration::minutes(article as i64),
            source: Some("Bench Wire".to_string()),
            url: None,
        },
        date: DateInfo {
            value: value.clone(),
            modifier: None,
            kind: TimexType::Date,
            start: day,
            end: day,
            granularity: Granularity::Day,
            text: value,
            span: [40, 50],
            range: None,
        },
        event: EventInfo {
            trigger: trigger.to_string(),
            phrase: format!("{trigger} the agreement"),
            participants: vec![format!("Entity {t}"), "Ministry".to_string()],
            location: Some("Geneva".to_string()),
            modality: Modality::Asserted,
            sentence: format!(
                "Entity {t} {trigger} the agreement with the ministry in Geneva on that day, \
                 officials said."
            ),
        },
    };
    (key, record)
}

/// The allocator of the `dateline` binary, so that memory figures are the service's.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Reports per logged batch (the pipeline's default batch size).
const BATCH: usize = 500;

fn rss_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn peak_rss_mb() -> f64 {
    rss_mb("VmHWM:")
}

fn entries(n: usize, timelines: usize, backend: &str) {
    let settings = StoreSettings::default();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let backend = match backend {
        "memory" => Backend::Memory,
        "disk" => Backend::Disk {
            dir: dir.path().to_path_buf(),
            cache_bytes: 4 << 20,
            // As `dateline run` configures it by default (one partition).
            memory_bytes: 16 << 20,
            spill_idle_batches: 16,
        },
        other => panic!("unknown backend {other:?}: memory or disk"),
    };
    let fresh = || PartitionState::new(Bodies::open(&backend, 0));
    // 1. Inserts and merges, changelog discarded: the store's own memory.
    let rss_before = rss_mb("VmRSS:");
    let mut state = fresh();
    let started = Instant::now();
    // Logged every BATCH reports, as the pipeline does once per batch.
    let mut changes = Changes::default();
    for i in 0..n {
        let (key, record) = report(i, i / 4, timelines);
        state.apply(&key, &record, &settings, &mut changes);
        if (i + 1) % BATCH == 0 {
            state.log(&mut changes);
            changes = Changes::default();
        }
    }
    state.log(&mut changes);
    let insert_secs = started.elapsed().as_secs_f64();
    let merges = (n / 10).max(1);
    let started = Instant::now();
    let mut changes = Changes::default();
    for i in 0..merges {
        // Same timeline, day and trigger as report i, from another article: a second source.
        let (key, record) = report(i, n + i, timelines);
        state.apply(&key, &record, &settings, &mut changes);
        if (i + 1) % BATCH == 0 {
            state.log(&mut changes);
            changes = Changes::default();
        }
    }
    state.log(&mut changes);
    let merge_secs = started.elapsed().as_secs_f64();
    let held = state.len();
    let store_mb = rss_mb("VmRSS:") - rss_before;
    drop(state);

    // 2. The compacted changelog of the same inserts, and the time to restore from it.
    let mut state = fresh();
    let mut latest: std::collections::HashMap<String, Option<Vec<u8>>> =
        std::collections::HashMap::new();
    // Logged per batch as in step 1: logging each report on its own would make every report a
    // batch, and with the disk backend spill and read back the 1,000 round-robin timelines.
    let mut changes = Changes::default();
    for i in 0..n {
        let (key, record) = report(i, i / 4, timelines);
        state.apply(&key, &record, &settings, &mut changes);
        if (i + 1) % BATCH == 0 || i + 1 == n {
            state.log(&mut changes);
            latest.extend(std::mem::take(&mut changes).changelog);
        }
    }
    drop(state);
    let changelog_mb: f64 = latest
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
        .sum::<usize>() as f64
        / 1e6;
    let started = Instant::now();
    let mut restored = fresh();
    for (k, v) in &latest {
        restored.restore(k, v.as_deref()).expect("restores");
    }
    restored.restored();
    let restore_secs = started.elapsed().as_secs_f64();
    assert_eq!(restored.len(), n);
    println!(
        "{}",
        serde_json::json!({
            "mode": "entries",
            "backend": if matches!(backend, Backend::Memory) { "memory" } else { "disk" },
            "entries": held,
            "timelines": timelines,
            "insert_per_sec": n as f64 / insert_secs,
            "merge_per_sec": merges as f64 / merge_secs,
            "store_mb": store_mb,
            "bytes_per_entry": store_mb * 1048576.0 / held as f64,
            "compacted_changelog_mb": changelog_mb,
            "compacted_changelog_records": latest.len(),
            "restore_per_sec": latest.len() as f64 / restore_secs,
            "restore_secs": restore_secs,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
}

fn article(bytes: usize) {
    let sentences = [
        "The council voted on March 3, 2021 to fund the bridge.",
        "Work began in 2019 and is due to end next year, officials said on Monday.",
        "Two days later, the ministry rejected the proposal.",
        "Shares fell 8 percent in the third quarter of 2020.",
        "The summit in Singapore in June 2018 ended without an agreement.",
    ];
    let mut text = String::with_capacity(bytes + 128);
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(sentences[i % sentences.len()]);
        text.push(' ');
        i += 1;
    }
    let article = dateline::article::Article {
        id: "bench".to_string(),
        published_at: DateTime::parse_from_rfc3339("2021-03-10T08:00:00+00:00").unwrap(),
        text,
        title: None,
        source: None,
        url: None,
        lang: None,
    };
    // Warm-up: the first call compiles the tagger's automata.
    let mut warm = article.clone();
    warm.text = sentences.join(" ");
    dateline::timeline::extract(&warm);
    let started = Instant::now();
    let records = dateline::timeline::extract(&article);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "mode": "article",
            "bytes": article.text.len(),
            "records": records.len(),
            "mb_per_sec": article.text.len() as f64 / 1e6 / secs,
            "secs": secs,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |i: usize, default: usize| {
        args.get(i)
            .map(|s| s.parse::<usize>().expect("a number"))
            .unwrap_or(default)
    };
    match args.get(1).map(String::as_str) {
        Some("entries") => entries(
            number(2, 1000),
            number(3, 1000),
            args.get(4).map_or("memory", String::as_str),
        ),
        Some("article") => article(number(2, 100_000)),
        _ => {
            eprintln!("usage: bench_scaling entries N [TIMELINES] [memory|disk] | article BYTES");
            std::process::exit(2);
        }
    }
}
