//! `dateline replay`: reprocesses a range of the input topic into a given output topic.
//!
//! A replay reads the input partitions directly (assigned, not subscribed: the live consumer
//! group is never joined and its offsets never touched), from the beginning or from the offsets
//! the broker gives for `--from-timestamp`, up to the offsets for `--to` or the partitions' ends
//! when the replay started. It runs the same extraction and fan-out as the live service, folds the
//! records into fresh timelines with the configured merging and ordering, and publishes the
//! timeline entries to `--output`, keyed by timeline, with the live headers.
//!
//! ## Identical output
//! Records are processed in one deterministic order: by record timestamp, then partition, then
//! offset (a k-way merge of the partitions), and every timeline is folded from empty. Nothing
//! depends on the wall clock, so replaying the same range twice gives identical keys and values.
//! Unlike the live stage, which keeps one watermark per events partition, a replay keeps one
//! state and one watermark for the whole range.
//!
//! At the end, the replay's own `--group` records the end offsets, so an operator can see what a
//! replay covered with `kafka-consumer-groups --describe`.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::config::Config;
use crate::pipeline::timelines;
use crate::pipeline::worker::{Fanout, Outcome, WorkerPool};
use crate::timeline::TimelineRecord;
use crate::timeline::store::{Changes, PartitionState};

/// Timeout of metadata, offset and flush calls.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Input records extracted in parallel at a time.
const CHUNK: usize = 256;

/// Where a replay starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The first offset of every partition.
    Beginning,
    /// The first offset whose timestamp is at or after this time.
    Timestamp(DateTime<Utc>),
}

/// What to replay and where to.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Start of the range.
    pub start: Start,
    /// End of the range (exclusive): the first offset at or after this time. `None`: the
    /// partitions' ends when the replay starts.
    pub to: Option<DateTime<Utc>>,
    /// The replay's own consumer group (never the live one).
    pub group: String,
    /// Topic the timeline entries are written to.
    pub output: String,
    /// Show a progress bar on stderr (drawn only on a terminal).
    pub progress: bool,
}

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplaySummary {
    /// Input records read.
    pub inputs: u64,
    /// Inputs that were articles.
    pub articles: u64,
    /// Inputs that were not (they are not dead-lettered again by a replay).
    pub poison: u64,
    /// Article-level records.
    pub records: u64,
    /// Timeline entry versions published.
    pub entries_published: u64,
    /// Late changes published to `<output>.late` (watermark mode).
    pub late: u64,
    /// Entries in the rebuilt timelines.
    pub entries: u64,
}

/// Runs a replay; blocking.
pub fn run(config: &Config, options: &ReplayOptions) -> anyhow::Result<ReplaySummary> {
    if options.group == config.kafka.group_id || options.group == timelines::group_id(config) {
        bail!(
            "--group {} is a live consumer group; a replay needs its own",
            options.group
        );
    }
    if [
        config.topics.input.as_str(),
        config.topics.output.as_str(),
        config.timelines.output.as_str(),
    ]
    .contains(&options.output.as_str())
    {
        bail!(
            "--output {} is a live topic; replay into a topic of its own",
            options.output
        );
    }
    let settings = timelines::settings(&config.timelines)?;
    let workers = WorkerPool::new(
        config.pipeline.worker_threads,
        config.pipeline.max_message_bytes,
    )?
    .with_fanout(Fanout {
        input_topic: config.topics.input.clone(),
        kinds: config.timelines.kinds.clone(),
        aliases: settings.aliases.clone(),
    });
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.kafka.brokers)
        .set("group.id", &options.group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set(
            "fetch.message.max.bytes",
            (config.pipeline.max_message_bytes + 64 * 1024).to_string(),
        );
    for (key, value) in &config.kafka.options {
        client.set(key, value.to_string());
    }
    let consumer: BaseConsumer = client.create().context("creating the replay consumer")?;
    let topic = config.topics.input.as_str();
    let ranges = ranges(&consumer, topic, options)?;
    let total: i64 = ranges.values().map(|(s, e)| (e - s).max(0)).sum();
    let mut assign = TopicPartitionList::new();
    for (&p, &(start, end)) in &ranges {
        if end > start {
            assign.add_partition_offset(topic, p, Offset::Offset(start))?;
        }
    }
    consumer.assign(&assign).context("assigning the input")?;

    let mut producer_config = ClientConfig::new();
    producer_config
        .set("bootstrap.servers", &config.kafka.brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "20")
        .set(
            "message.max.bytes",
            (config.pipeline.max_message_bytes + 64 * 1024).to_string(),
        );
    for (key, value) in &config.kafka.options {
        producer_config.set(key, value.to_string());
    }
    let producer: BaseProducer = producer_config
        .create()
        .context("creating the replay producer")?;
    let late_topic = format!("{}.late", options.output);

    let bar = if options.progress {
        ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} offsets  {per_sec}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let mut merge = Merge::new(&ranges);
    let mut state = PartitionState::default();
    let mut summary = ReplaySummary::default();
    let started = Instant::now();
    loop {
        // Fill until every unfinished partition has a record buffered (or is at its end).
        while !merge.ready(&consumer, topic)? {
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => merge.push(m.detach()),
                Some(Err(e)) => tracing::warn!(error = %e, "replay consumer error; continuing"),
                None => {}
            }
        }
        let chunk = merge.take(CHUNK);
        if chunk.is_empty() {
            break;
        }
        let outcomes = workers.process(&chunk);
        let mut changes = Changes::default();
        for outcome in outcomes {
            summary.inputs += 1;
            let Outcome::Article(article) = outcome else {
                summary.poison += 1;
                continue;
            };
            summary.articles += 1;
            for encoded in &article.records {
                summary.records += 1;
                let record: TimelineRecord = serde_json::from_slice(&encoded.value)
                    .context("reading back an encoded record")?;
                for key in &encoded.timelines {
                    state.apply(key, &record, &settings, &mut changes);
                }
            }
        }
        for (entries, topic, count) in [
            (
                &changes.output,
                options.output.as_str(),
                &mut summary.entries_published,
            ),
            (&changes.late, late_topic.as_str(), &mut summary.late),
        ] {
            for entry in entries {
                let value = serde_json::to_vec(entry)?;
                let time = entry
                    .sources
                    .last()
                    .map(|s| {
                        s.published_at
                            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    })
                    .unwrap_or_default();
                let mut record = BaseRecord::to(topic)
                    .key(entry.timeline.as_bytes())
                    .payload(value.as_slice())
                    .headers(timelines::entry_headers(entry, &time));
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((
                            rdkafka::error::KafkaError::MessageProduction(
                                rdkafka::types::RDKafkaErrorCode::QueueFull,
                            ),
                            back,
                        )) => {
                            record = back;
                            producer.poll(Duration::from_millis(50));
                        }
                        Err((e, _)) => return Err(e).context("producing a replayed entry"),
                    }
                }
                *count += 1;
            }
        }
        producer.poll(Duration::ZERO);
        bar.set_position(merge.done());
    }
    producer
        .flush(TIMEOUT)
        .context("flushing the replayed entries")?;
    summary.entries = state.len() as u64;
    let mut commit = TopicPartitionList::new();
    for (&p, &(_, end)) in &ranges {
        commit.add_partition_offset(topic, p, Offset::Offset(end))?;
    }
    consumer
        .commit(&commit, CommitMode::Sync)
        .context("recording the replayed range in --group")?;
    bar.finish_and_clear();
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        ?summary,
        "replay finished"
    );
    Ok(summary)
}

/// Start and end offsets (end exclusive) of every partition of `topic`.
fn ranges(
    consumer: &BaseConsumer,
    topic: &str,
    options: &ReplayOptions,
) -> anyhow::Result<BTreeMap<i32, (i64, i64)>> {
    let md = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .context("fetching the input topic's metadata")?;
    let partitions: Vec<i32> = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().iter().map(|p| p.id()).collect())
        .unwrap_or_default();
    if partitions.is_empty() {
        bail!("topic {topic} has no partitions (does it exist?)");
    }
    let at = |time: DateTime<Utc>| -> anyhow::Result<BTreeMap<i32, Option<i64>>> {
        let mut tpl = TopicPartitionList::new();
        for &p in &partitions {
            tpl.add_partition_offset(topic, p, Offset::Offset(time.timestamp_millis()))?;
        }
        let found = consumer
            .offsets_for_times(tpl, TIMEOUT)
            .context("asking the broker for offsets by timestamp")?;
        Ok(found
            .elements()
            .iter()
            .map(|e| {
                (
                    e.partition(),
                    match e.offset() {
                        Offset::Offset(n) => Some(n),
                        _ => None,
                    },
                )
            })
            .collect())
    };
    let starts = match options.start {
        Start::Timestamp(t) => Some(at(t)?),
        Start::Beginning => None,
    };
    let ends = options.to.map(at).transpose()?;
    let mut out = BTreeMap::new();
    for &p in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, TIMEOUT)
            .context("fetching partition ends")?;
        // No offset at or after the time: the range is empty at that end (it starts or ends at
        // the partition's end).
        let start = starts
            .as_ref()
            .map(|s| s.get(&p).copied().flatten().unwrap_or(high))
            .unwrap_or(low)
            .max(low);
        let end = ends
            .as_ref()
            .map(|e| e.get(&p).copied().flatten().unwrap_or(high))
            .unwrap_or(high)
            .min(high);
        out.insert(p, (start, end.max(start)));
    }
    Ok(out)
}

/// K-way merge of the partitions by (timestamp, partition, offset).
struct Merge {
    /// Per partition: buffered records, next offset expected, end offset.
    parts: BTreeMap<i32, (VecDeque<OwnedMessage>, i64, i64)>,
    start_total: i64,
}

impl Merge {
    fn new(ranges: &BTreeMap<i32, (i64, i64)>) -> Self {
        Merge {
            parts: ranges
                .iter()
                .map(|(&p, &(s, e))| (p, (VecDeque::new(), s, e)))
                .collect(),
            start_total: ranges.values().map(|(s, _)| s).sum(),
        }
    }

    fn push(&mut self, m: OwnedMessage) {
        if let Some((buf, next, end)) = self.parts.get_mut(&m.partition())
            && m.offset() < *end
        {
            *next = m.offset() + 1;
            buf.push_back(m);
        }
    }

    /// Whether the smallest record can be taken: every partition has a record buffered or has
    /// reached its end (by position, which also moves past transaction markers).
    fn ready(&mut self, consumer: &BaseConsumer, topic: &str) -> anyhow::Result<bool> {
        let waiting: Vec<i32> = self
            .parts
            .iter()
            .filter(|(_, (buf, next, end))| buf.is_empty() && next < end)
            .map(|(&p, _)| p)
            .collect();
        if waiting.is_empty() {
            return Ok(true);
        }
        let position = consumer.position().context("reading consumer positions")?;
        for p in waiting {
            if let Some(e) = position.find_partition(topic, p)
                && let Offset::Offset(n) = e.offset()
                && let Some(part) = self.parts.get_mut(&p)
            {
                part.1 = part.1.max(n);
            }
        }
        Ok(self
            .parts
            .values()
            .all(|(buf, next, end)| !buf.is_empty() || next >= end))
    }

    /// Takes up to `n` records in merged order, stopping when a partition's buffer runs dry
    /// while it still has records to come.
    fn take(&mut self, n: usize) -> Vec<OwnedMessage> {
        let mut out = Vec::new();
        while out.len() < n {
            let best = self
                .parts
                .iter()
                .filter_map(|(&p, (buf, _, _))| {
                    buf.front()
                        .map(|m| (m.timestamp().to_millis().unwrap_or(0), p, m.offset()))
                })
                .min();
            let Some((_, p, _)) = best else { break };
            let Some((buf, next, end)) = self.parts.get_mut(&p) else {
                break;
            };
            let Some(m) = buf.pop_front() else { break };
            out.push(m);
            if buf.is_empty() && *next < *end {
                break;
            }
        }
        out
    }

    /// Offsets done so far, for the progress bar.
    fn done(&self) -> u64 {
        let now: i64 = self
            .parts
            .values()
            .map(|(buf, next, _)| next - buf.len() as i64)
            .sum();
        (now - self.start_total).max(0) as u64
    }
}
