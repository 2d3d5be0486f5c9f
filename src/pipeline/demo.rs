//! `dateline demo`: the real pipeline on librdkafka's in-process mock cluster.
//!
//! It creates the topics, produces the bundled sample articles (`config/samples/`: the seed
//! article, five more JSON articles, two of them other outlets' reports of the seed's story, and
//! one plain-text article) and one poison record, runs [`crate::pipeline::run`] and the timeline
//! stage (the same code as `dateline run`) until every input and every event is committed, then
//! reads the output, dead-letter and timelines topics back with a read_committed consumer and
//! prints each article's timeline and the busiest entity timelines, with merged reports. The mock cluster supports transactions, so the demo runs exactly
//! once; should a librdkafka build lack that, it falls back to at least once and says so.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::config::{Config, Guarantee};
use crate::pipeline::shutdown;
use crate::pipeline::status::PipelineStatus;
use crate::timeline::TimelineRecord;
use crate::timeline::store::SharedStore;

/// One bundled sample input.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// File name under `config/samples/`.
    pub name: &'static str,
    /// The record value: a JSON article or plain text.
    pub value: &'static str,
}

/// The bundled samples, in the order they are produced.
pub const SAMPLES: &[Sample] = &[
    Sample {
        name: "01-yonhap-dprk-sanctions.json",
        value: include_str!("../../config/samples/01-yonhap-dprk-sanctions.json"),
    },
    Sample {
        name: "02-harbor-bridge-closure.json",
        value: include_str!("../../config/samples/02-harbor-bridge-closure.json"),
    },
    Sample {
        name: "03-lumen-earnings.json",
        value: include_str!("../../config/samples/03-lumen-earnings.json"),
    },
    Sample {
        name: "04-river-festival.json",
        value: include_str!("../../config/samples/04-river-festival.json"),
    },
    Sample {
        name: "05-court-ruling.txt",
        value: include_str!("../../config/samples/05-court-ruling.txt"),
    },
    Sample {
        name: "06-kcna-watch-sohae-test.json",
        value: include_str!("../../config/samples/06-kcna-watch-sohae-test.json"),
    },
    Sample {
        name: "07-asia-desk-sohae-images.json",
        value: include_str!("../../config/samples/07-asia-desk-sohae-images.json"),
    },
];

/// The poison record of the demo: a JSON article cut short.
pub const POISON: &str = r#"{"id": "wire-2024-11-13-truncated", "published_at": "2024-11-13T15:00:00Z", "text": "Officials said on Monday"#;

/// Record timestamp given to the plain-text sample, which becomes its publication time.
const PLAIN_TEXT_TIMESTAMP_MS: i64 = 1_731_510_000_000; // 2024-11-13T15:00:00Z

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A Kafka call on the mock cluster failed.
    #[error("{operation}: {source}")]
    Kafka {
        /// What the demo was doing.
        operation: &'static str,
        /// The error.
        source: KafkaError,
    },
    /// The pipeline stopped with an error.
    #[error("pipeline: {0}")]
    Pipeline(#[from] crate::pipeline::error::PipelineError),
    /// Something did not happen in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Writing the report failed.
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    /// The pipeline thread panicked.
    #[error("the pipeline thread panicked")]
    Panicked,
}

fn kafka(operation: &'static str) -> impl FnOnce(KafkaError) -> DemoError {
    move |source| DemoError::Kafka { operation, source }
}

/// Runs the demo and writes the report to `out`.
pub fn run(out: &mut impl Write, timeout: Duration) -> Result<(), DemoError> {
    let cluster = MockCluster::new(1).map_err(kafka("starting the mock cluster"))?;
    let brokers = cluster.bootstrap_servers();
    let (input, output, dlq) = ("articles", "timeline", "articles.dlq");
    // The mock cluster has no CreateTopics, so the timeline stage's topics are made here.
    for (topic, partitions) in [
        (input, 3),
        (output, 3),
        (dlq, 1),
        (EVENTS, 3),
        (CHANGELOG, 3),
        (TIMELINES, 3),
        (LATE, 1),
    ] {
        cluster
            .create_topic(topic, partitions, 1)
            .map_err(kafka("creating topics"))?;
    }
    let guarantee = if transactions_supported(&brokers) {
        Guarantee::ExactlyOnce
    } else {
        Guarantee::AtLeastOnce
    };
    writeln!(
        out,
        "dateline demo: in-process Kafka mock cluster at {brokers} ({})",
        match guarantee {
            Guarantee::ExactlyOnce => "transactions supported: exactly once",
            Guarantee::AtLeastOnce =>
                "this librdkafka's mock cluster lacks transactions: at least once",
        }
    )?;

    let inputs = produce_inputs(&brokers, input)?;
    writeln!(
        out,
        "produced {} sample articles and 1 poison record to `{input}`\n",
        inputs - 1
    )?;

    let mut config = Config::default();
    config.kafka.brokers = brokers.clone();
    config.kafka.group_id = "dateline-demo".into();
    config.kafka.transactional_id = "dateline-demo-0".into();
    config.kafka.guarantee = guarantee;
    config.topics.input = input.into();
    config.topics.output = output.into();
    config.topics.dlq = Some(dlq.into());
    config.batch.max_ms = 50;

    config.timelines.events_topic = Some(EVENTS.into());
    config.timelines.changelog_topic = Some(CHANGELOG.into());
    config.timelines.output = TIMELINES.into();
    config.timelines.late_topic = Some(LATE.into());

    let status = Arc::new(PipelineStatus::default());
    let timeline_status = Arc::new(PipelineStatus::default());
    let store = Arc::new(SharedStore::new(config.timelines.ordering));
    let (trigger, listener) = shutdown::channel();
    let pipeline = {
        let status = Arc::clone(&status);
        let config = config.clone();
        let listener = listener.clone();
        std::thread::spawn(move || crate::pipeline::run(&config, listener, status))
    };
    let stage = {
        let status = Arc::clone(&timeline_status);
        let config = config.clone();
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            crate::pipeline::timelines::run(&config, listener, status, store)
        })
    };
    let deadline = Instant::now() + timeout;
    while status.committed_inputs() < inputs as u64 && Instant::now() < deadline {
        if pipeline.is_finished() || stage.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every article is committed; the timeline stage has as many events to fold as the events
    // topic holds.
    let events = if status.committed_inputs() >= inputs as u64 {
        read_committed(&brokers, EVENTS, deadline)?.len() as u64
    } else {
        u64::MAX
    };
    while timeline_status.committed_inputs() < events && Instant::now() < deadline {
        if stage.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    trigger.trigger();
    pipeline.join().map_err(|_| DemoError::Panicked)??;
    stage.join().map_err(|_| DemoError::Panicked)??;
    if status.committed_inputs() < inputs as u64 || timeline_status.committed_inputs() < events {
        return Err(DemoError::Timeout(format!(
            "{} of {inputs} inputs and {} of {events} events committed after {timeout:?}",
            status.committed_inputs(),
            timeline_status.committed_inputs()
        )));
    }

    let records = read_committed(&brokers, output, deadline)?;
    let letters = read_committed(&brokers, dlq, deadline)?;
    print_report(out, &records, &letters)?;
    let entries = read_committed(&brokers, TIMELINES, deadline)?;
    print_timelines(out, &entries, &store)?;
    Ok(())
}

/// The demo's timeline-stage topics.
const EVENTS: &str = "articles.events";
const CHANGELOG: &str = "dateline-demo.timelines.changelog";
const TIMELINES: &str = "timelines";
const LATE: &str = "timelines.late";

/// Prints the entity timelines with more than one entry or source: the latest version of each
/// entry, in date order, as read back from the timelines topic.
fn print_timelines(
    out: &mut impl Write,
    entries: &[OwnedMessage],
    store: &SharedStore,
) -> Result<(), DemoError> {
    use crate::timeline::{TimelineEntry, TimelineView};
    let mut latest: BTreeMap<(String, String), TimelineEntry> = BTreeMap::new();
    for m in entries {
        if let Some(Ok(e)) = m.payload().map(serde_json::from_slice::<TimelineEntry>) {
            let key = (e.timeline.clone(), e.entry_id.clone());
            if latest.get(&key).is_none_or(|old| old.version < e.version) {
                latest.insert(key, e);
            }
        }
    }
    let summaries = store.timelines();
    writeln!(
        out,
        "\n{} entry versions on `{TIMELINES}` for {} timelines; the busiest:",
        entries.len(),
        summaries.len()
    )?;
    let mut busiest: Vec<_> = summaries
        .iter()
        .filter(|s| !s.key.starts_with("topic:"))
        .collect();
    busiest.sort_by(|a, b| b.entries.cmp(&a.entries).then(a.key.cmp(&b.key)));
    for summary in busiest.into_iter().take(3) {
        let mut rows: Vec<&TimelineEntry> = latest
            .values()
            .filter(|e| e.timeline == summary.key)
            .collect();
        rows.sort_by_key(|e| (e.date.end, e.date.start));
        writeln!(out, "\n{} (version {}):", summary.key, summary.version)?;
        for e in rows {
            let when = match e.date.modifier {
                Some(m) => format!("{} {}", e.date.value, m.as_str()),
                None => e.date.value.clone(),
            };
            writeln!(
                out,
                "  {:<18} {:<12} v{}  {} source(s)  ({})",
                when,
                e.event.trigger,
                e.version,
                e.sources.len(),
                e.event.phrase
            )?;
        }
    }
    Ok(())
}

fn transactions_supported(brokers: &str) -> bool {
    let producer: Result<BaseProducer, _> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("transactional.id", "dateline-demo-probe")
        .create();
    producer.is_ok_and(|p| p.init_transactions(Duration::from_secs(10)).is_ok())
}

/// Produces the samples and the poison record; returns how many records were produced.
fn produce_inputs(brokers: &str, topic: &str) -> Result<usize, DemoError> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(kafka("creating the demo producer"))?;
    let mut count = 0;
    for sample in SAMPLES {
        let key = sample
            .name
            .trim_end_matches(".json")
            .trim_end_matches(".txt");
        let record = BaseRecord::to(topic)
            .key(key)
            .payload(sample.value)
            .timestamp(PLAIN_TEXT_TIMESTAMP_MS);
        producer.send(record).map_err(|(e, _)| DemoError::Kafka {
            operation: "producing samples",
            source: e,
        })?;
        count += 1;
    }
    let headers = OwnedHeaders::new().insert(Header {
        key: "feed",
        value: Some("wire-ingest-7"),
    });
    producer
        .send(
            BaseRecord::to(topic)
                .key("broken-feed-item")
                .payload(POISON)
                .headers(headers),
        )
        .map_err(|(e, _)| DemoError::Kafka {
            operation: "producing the poison record",
            source: e,
        })?;
    count += 1;
    producer
        .flush(Duration::from_secs(10))
        .map_err(kafka("flushing inputs"))?;
    Ok(count)
}

/// Reads a whole topic, every partition from the beginning to its end, as a read_committed
/// client, within `deadline`. Messages are returned partition by partition, in offset order.
pub fn read_committed(
    brokers: &str,
    topic: &str,
    deadline: Instant,
) -> Result<Vec<OwnedMessage>, DemoError> {
    let consumer: BaseConsumer<ReaderContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "dateline-demo-reader")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create_with_context(ReaderContext)
        .map_err(kafka("creating the reader"))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(kafka("reading topic metadata"))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        tpl.add_partition_offset(topic, *p, Offset::Beginning)
            .map_err(kafka("assigning"))?;
    }
    consumer.assign(&tpl).map_err(kafka("assigning"))?;
    let mut at_end = std::collections::BTreeSet::new();
    let mut messages: BTreeMap<i32, Vec<OwnedMessage>> = BTreeMap::new();
    while at_end.len() < partitions.len() {
        if Instant::now() > deadline {
            return Err(DemoError::Timeout(format!("reading `{topic}` back")));
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => messages.entry(m.partition()).or_default().push(m.detach()),
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => return Err(kafka("reading back")(e)),
            None => {}
        }
    }
    Ok(messages.into_values().flatten().collect())
}

/// The reader's callbacks: end-of-partition is how it knows it is done, not an error to log.
struct ReaderContext;

impl rdkafka::ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(error, KafkaError::PartitionEOF(_)) {
            tracing::warn!(error = %error, reason, "reader error");
        }
    }
}

impl rdkafka::consumer::ConsumerContext for ReaderContext {}

fn print_report(
    out: &mut impl Write,
    records: &[OwnedMessage],
    letters: &[OwnedMessage],
) -> Result<(), DemoError> {
    let mut timelines: BTreeMap<String, Vec<TimelineRecord>> = BTreeMap::new();
    for m in records {
        match m.payload().map(serde_json::from_slice::<TimelineRecord>) {
            Some(Ok(r)) => timelines.entry(r.timeline.clone()).or_default().push(r),
            _ => writeln!(out, "  (unreadable record at offset {})", m.offset())?,
        }
    }
    let mut ordered: Vec<(&String, &Vec<TimelineRecord>)> = timelines.iter().collect();
    ordered.sort_by_key(|(_, rs)| rs.first().map(|r| r.article.published_at));
    writeln!(
        out,
        "read {} timeline records for {} articles back from `timeline` (read_committed):",
        records.len(),
        timelines.len()
    )?;
    for (id, rs) in ordered {
        let first = &rs[0].article;
        let in_order = rs.windows(2).all(|w| w[0].seq < w[1].seq);
        writeln!(
            out,
            "\n{id} ({}, published {}){}",
            first.source.as_deref().unwrap_or("no source"),
            first.published_at.to_rfc3339(),
            if in_order { "" } else { "  [OUT OF ORDER]" }
        )?;
        for r in rs {
            let when = match r.date.modifier {
                Some(m) => format!("{} {}", r.date.value, m.as_str()),
                None => r.date.value.clone(),
            };
            writeln!(
                out,
                "  {:>2}. {:<18} {:<12} {:<9} \"{}\"  ({})",
                r.seq,
                when,
                r.event.trigger,
                format!("{:?}", r.event.modality).to_lowercase(),
                r.date.text,
                r.event.phrase,
            )?;
        }
    }
    writeln!(out, "\n{} dead letter(s) in `articles.dlq`:", letters.len())?;
    for m in letters {
        writeln!(
            out,
            "  from {}/{}/{}: {} ({})",
            super::sink::header(m, "dlq-source-topic").unwrap_or("?"),
            super::sink::header(m, "dlq-source-partition").unwrap_or("?"),
            super::sink::header(m, "dlq-source-offset").unwrap_or("?"),
            super::sink::header(m, "dlq-error-kind").unwrap_or("?"),
            super::sink::header(m, "dlq-error-message").unwrap_or("?"),
        )?;
        let value = m.payload().map(String::from_utf8_lossy).unwrap_or_default();
        writeln!(
            out,
            "    key {:?}, original headers kept: feed={}, value {:?}",
            m.key().map(String::from_utf8_lossy).unwrap_or_default(),
            super::sink::header(m, "feed").unwrap_or("(missing)"),
            value
        )?;
    }
    Ok(())
}
