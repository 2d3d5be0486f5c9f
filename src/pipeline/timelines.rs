//! The timeline stage: folds the events topic into cross-article timelines.
//!
//! ## Repartitioning
//! The extraction stage sends each article record to the events topic once per timeline it
//! belongs to, keyed by the timeline key, in the same transaction as its other output. Kafka's
//! key hashing therefore puts every report of one timeline in one partition of the events topic,
//! and one consumer of the timeline group owns that partition: each timeline has exactly one
//! owner, and adding instances (up to the events topic's partition count) spreads timelines over
//! them. Both stages run in every `dateline run` process.
//!
//! ## One transaction per batch
//! For a batch of the events topic the stage applies every record to the partition's
//! [`PartitionState`], then publishes in one transaction: the new entry versions to the output
//! topic (keyed by timeline), late changes to the late topic, the changed state to the compacted
//! changelog topic (to the partition with the same number as the events partition), and the
//! consumed offsets. So the output, the state and the position move together or not at all.
//!
//! ## State after restart and rebalance
//! When the assignment changes, the state of every assigned partition is rebuilt by reading its
//! changelog partition from the beginning up to its end (read_committed), then processing goes on
//! from the committed offsets: a restarted instance continues with the same versions as one that
//! never stopped. The read waits first for stable input offsets, then until every record in the
//! changelog belongs to a decided transaction, so the previous owner's last batch is in the state
//! whenever processing resumes after it. An aborted transaction also rebuilds the state, so nothing of an aborted batch
//! survives in memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::config::{Config, StateBackend, TimelinesConfig};
use crate::pipeline::error::{ErrorClass, PipelineError};
use crate::pipeline::shutdown::Shutdown;
use crate::pipeline::sink::{CommitError, Sink};
use crate::pipeline::source::{Batch, Source};
use crate::pipeline::status::PipelineStatus;
use crate::timeline::bodies::{self, Backend};
use crate::timeline::keys::Aliases;
use crate::timeline::store::{Changes, PartitionState, Prepared, SharedStore, StoreSettings};
use crate::timeline::{ENTRY_SCHEMA_VERSION, TimelineEntry, TimelineRecord};

/// CloudEvents `type` of a timeline entry.
pub const CE_TYPE: &str = "dateline.timeline.entry.v1";
/// Longest wait for the metadata and admin calls at start.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest time to read one changelog partition back.
const RESTORE_TIMEOUT: Duration = Duration::from_secs(300);
/// Added to the transaction timeout for the wait on an undecided changelog transaction (the
/// broker checks for expired transactions every 10 s).
const DECIDE_MARGIN: Duration = Duration::from_secs(30);
/// Longest wait for the input offsets to be stable before a restore (a pending offset commit of
/// a killed instance is decided by the broker after the transaction timeout).
const STABLE_OFFSETS_TIMEOUT: Duration = Duration::from_secs(120);

/// A timeline is spilled to the state file only after this many batches without a record
/// (`[timelines] state_memory_mb`): with 1,000-record batches, about 450 articles.
const SPILL_IDLE_BATCHES: u64 = 16;

/// The built-in alias table with the configured one layered over it.
pub fn load_aliases(config: &TimelinesConfig) -> Result<Aliases, PipelineError> {
    let mut aliases = Aliases::builtin();
    if let Some(path) = &config.aliases {
        let extra = Aliases::load(path).map_err(|e| PipelineError::Config {
            key: "timelines.aliases",
            message: e.to_string(),
        })?;
        aliases.extend(extra);
    }
    Ok(aliases)
}

/// The store settings the configuration asks for.
pub fn settings(config: &TimelinesConfig) -> Result<StoreSettings, PipelineError> {
    Ok(StoreSettings {
        ordering: config.ordering,
        allowed_lateness: chrono::Duration::milliseconds(
            i64::try_from(config.allowed_lateness_ms).unwrap_or(i64::MAX / 2),
        ),
        aliases: load_aliases(config)?,
        backend: backend(config),
    })
}

/// Where the configured state keeps entry bodies.
pub fn backend(config: &TimelinesConfig) -> Backend {
    match config.state {
        StateBackend::Memory => Backend::Memory,
        StateBackend::Disk => {
            let base = config
                .state_dir
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("dateline-state"));
            Backend::Disk {
                dir: bodies::process_dir(&base),
                cache_bytes: usize::try_from(config.state_cache_mb.saturating_mul(1 << 20))
                    .unwrap_or(usize::MAX),
                memory_bytes: usize::try_from(config.state_memory_mb.saturating_mul(1 << 20))
                    .unwrap_or(usize::MAX),
                spill_idle_batches: SPILL_IDLE_BATCHES,
            }
        }
    }
}

/// Group id of the timeline stage's consumers.
pub fn group_id(config: &Config) -> String {
    format!("{}.timelines", config.kafka.group_id)
}

/// Transactional id of this instance's timeline-stage producer.
pub fn transactional_id(config: &Config) -> String {
    format!("{}.timelines", config.kafka.transactional_id)
}

/// Creates the events, changelog, output and late topics when they do not exist, with as many
/// partitions as `timelines.partitions` (or the input topic), and checks that the events and
/// changelog topics have the same number of partitions.
pub fn ensure_topics(config: &Config) -> Result<(), PipelineError> {
    let t = &config.timelines;
    let events = t.events_topic(&config.topics);
    let changelog = t.changelog_topic(&config.kafka);
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.kafka.brokers);
    for (key, value) in &config.kafka.options {
        client.set(key, value.to_string());
    }
    let fatal = |operation: &'static str| {
        move |source: KafkaError| PipelineError::Kafka { operation, source }
    };
    let probe: BaseConsumer = client.create().map_err(fatal("create a metadata client"))?;
    let count = |topic: &str| -> Result<Option<i32>, PipelineError> {
        let md = probe
            .fetch_metadata(Some(topic), ADMIN_TIMEOUT)
            .map_err(fatal("fetch topic metadata"))?;
        Ok(md
            .topics()
            .iter()
            .find(|m| m.name() == topic && m.error().is_none() && !m.partitions().is_empty())
            .map(|m| m.partitions().len() as i32))
    };
    let partitions = if t.partitions > 0 {
        t.partitions
    } else {
        count(&config.topics.input)?.unwrap_or(1)
    };
    let admin: AdminClient<DefaultClientContext> =
        client.create().map_err(fatal("create an admin client"))?;
    let late = t.late_topic();
    let mut wanted = Vec::new();
    for (topic, compact) in [
        (events.as_str(), false),
        (changelog.as_str(), true),
        (t.output.as_str(), false),
        (late.as_str(), false),
    ] {
        if count(topic)?.is_none() {
            let mut new = NewTopic::new(topic, partitions, TopicReplication::Fixed(-1));
            if compact {
                new = new.set("cleanup.policy", "compact");
            }
            wanted.push(new);
        }
    }
    if !wanted.is_empty() {
        let results = block_on(admin.create_topics(&wanted, &AdminOptions::new()))
            .map_err(fatal("create topics"))?;
        for result in results {
            match result {
                Ok(topic) => tracing::info!(topic, partitions, "topic created"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(PipelineError::Kafka {
                        operation: "create topics",
                        source: KafkaError::AdminOp(code),
                    })
                    .inspect_err(|_| tracing::error!(topic, "cannot create topic"));
                }
            }
        }
    }
    let (e, c) = (count(&events)?, count(&changelog)?);
    if let (Some(e), Some(c)) = (e, c)
        && e != c
    {
        return Err(PipelineError::Config {
            key: "timelines.changelog_topic",
            message: format!(
                "{changelog} has {c} partitions but {events} has {e}; they must be equal"
            ),
        });
    }
    Ok(())
}

/// Runs an admin future to completion from synchronous code, on a thread of its own so that it
/// works inside and outside an async runtime.
fn block_on<F>(future: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|rt| rt.block_on(future))
            })
            .join()
    })
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    .unwrap_or_else(|e| panic!("cannot start a runtime for an admin call: {e}"))
}

/// Runs the timeline stage until `shutdown` fires or a fatal error. Blocking.
pub fn run(
    config: &Config,
    shutdown: Shutdown,
    status: Arc<PipelineStatus>,
    store: Arc<SharedStore>,
) -> Result<(), PipelineError> {
    let settings = settings(&config.timelines)?;
    ensure_topics(config)?;
    let events = config.timelines.events_topic(&config.topics);
    let changelog = config.timelines.changelog_topic(&config.kafka);
    let late = config.timelines.late_topic();
    let output = config.timelines.output.clone();
    let sink = Sink::with_transactional_id(config, &transactional_id(config))?;
    sink.init()?;
    status.set_producer_ready(true);
    let source = Source::subscribe(
        config,
        &events,
        &group_id(config),
        Arc::clone(&status),
        "timelines",
    )?;
    tracing::info!(
        events = %events,
        output = %output,
        changelog = %changelog,
        ordering = %settings.ordering,
        "timeline stage started"
    );
    let topics = Topics {
        output: &output,
        late: &late,
        changelog: &changelog,
        max_bytes: config.pipeline.max_message_bytes,
    };
    let max_wait = Duration::from_millis(config.batch.max_ms);
    // As in the extraction stage, a batch commits on a thread of its own while the next one is
    // collected and applied (exactly once; at least once it commits inline).
    let overlap = config.kafka.guarantee == crate::config::Guarantee::ExactlyOnce;
    let mut loaded: Option<Vec<i32>> = None;
    let result: Result<(), PipelineError> = std::thread::scope(|scope| {
        let mut inflight: Option<InFlight<'_>> = None;
        // Settles the commit in flight; false when it was aborted (the consumer is rewound and
        // the state must be read back from the changelog).
        let settle = |inflight: &mut Option<InFlight<'_>>| -> Result<bool, PipelineError> {
            let Some(prev) = inflight.take() else {
                return Ok(true);
            };
            let result = match prev.commit {
                Commit::Running(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Commit::Done(result) => result,
            };
            match result {
                Ok(commit) => {
                    tracing::debug!(
                        events = prev.events,
                        entries = prev.produced,
                        late = prev.late,
                        apply_ms = prev.apply.as_millis() as u64,
                        commit_ms = commit.as_millis() as u64,
                        "timeline batch committed"
                    );
                    status.add_committed_inputs(prev.events as u64);
                    metrics::counter!(crate::telemetry::TIMELINE_EVENTS_CONSUMED)
                        .increment(prev.events as u64);
                    metrics::counter!(crate::telemetry::TIMELINE_ENTRIES_PRODUCED)
                        .increment(prev.produced);
                    metrics::counter!(crate::telemetry::TIMELINE_LATE).increment(prev.late);
                    metrics::gauge!(crate::telemetry::TIMELINE_ENTRIES).set(
                        store.read(|p| p.values().map(PartitionState::len).sum::<usize>()) as f64,
                    );
                    Ok(true)
                }
                Err(e) => {
                    abandon(e, &sink, &source)?;
                    Ok(false)
                }
            }
        };
        loop {
            if shutdown.is_shutdown() {
                settle(&mut inflight)?;
                return Ok(());
            }
            let batch = source.poll_batch(
                config.timelines.batch_max_records,
                max_wait,
                inflight.is_some(),
                &shutdown,
            )?;
            let assigned = source.assigned(&events)?;
            if batch.rebalanced || loaded.as_ref() != Some(&assigned) {
                // The changelog must hold the batch in flight before it is read back.
                if !settle(&mut inflight)? {
                    loaded = None;
                    continue;
                }
                // Stable input offsets first: every transaction of a previous owner of these
                // partitions is then decided and wholly in the changelog (see `decided_end`).
                source.wait_stable_offsets(&events, STABLE_OFFSETS_TIMEOUT)?;
                restore(config, &changelog, &assigned, &store)?;
                loaded = Some(assigned);
            }
            if batch.messages.is_empty() {
                if !settle(&mut inflight)? {
                    loaded = None;
                }
                continue;
            }
            let started = Instant::now();
            // Applied before the previous batch's commit is known: if that one aborts, the
            // state is read back from the changelog, which drops this batch's changes too.
            let changes = apply(&batch, &store, &settings);
            let apply = started.elapsed();
            if !settle(&mut inflight)? {
                loaded = None;
                continue;
            }
            let group = Arc::new(source.group_metadata()?);
            let offsets = batch.next_offsets().map_err(|e| PipelineError::Kafka {
                operation: "offsets",
                source: e,
            })?;
            let (produced, late) = match send(&sink, &changes, &topics) {
                Ok(counts) => counts,
                Err(e) => {
                    abandon(e, &sink, &source)?;
                    loaded = None;
                    continue;
                }
            };
            let guard = source.gate().open();
            let (sink, source) = (&sink, &source);
            let commit = move || {
                let _guard = guard;
                let started = Instant::now();
                sink.commit(&offsets, &group, source)?;
                let elapsed = started.elapsed();
                metrics::histogram!(crate::telemetry::TRANSACTION_COMMIT_SECONDS)
                    .record(elapsed.as_secs_f64());
                Ok(elapsed)
            };
            inflight = Some(InFlight {
                events: batch.messages.len(),
                produced,
                late,
                apply,
                commit: if overlap {
                    Commit::Running(scope.spawn(commit))
                } else {
                    Commit::Done(commit())
                },
            });
            if !overlap && !settle(&mut inflight)? {
                loaded = None;
            }
        }
    });
    source.close();
    sink.close();
    status.set_producer_ready(false);
    match &result {
        Ok(()) => tracing::info!("timeline stage stopped"),
        Err(error) if error.restartable() => {
            tracing::warn!(error = %error, "timeline stage stopped on a restartable error")
        }
        Err(error) => tracing::error!(error = %error, "timeline stage stopped on a fatal error"),
    }
    result
}

struct Topics<'a> {
    output: &'a str,
    late: &'a str,
    changelog: &'a str,
    /// Largest record value to produce (`pipeline.max_message_bytes`).
    max_bytes: usize,
}

/// The JSON of an entry, at most `max_bytes`: sources are dropped from the end (its `version`
/// still counts them) until it fits. `None` when even no source does not fit (a giant
/// sentence): that change is skipped, logged and counted, instead of failing the transaction
/// over and over.
fn encode_bounded(entry: &TimelineEntry, max_bytes: usize) -> Option<Vec<u8>> {
    let value = serde_json::to_vec(entry).ok()?;
    if value.len() <= max_bytes {
        return Some(value);
    }
    let mut smaller = entry.clone();
    while !smaller.sources.is_empty() {
        let keep = smaller.sources.len() / 2;
        smaller.sources.truncate(keep);
        if let Ok(v) = serde_json::to_vec(&smaller)
            && v.len() <= max_bytes
        {
            return Some(v);
        }
    }
    tracing::warn!(
        timeline = %entry.timeline,
        entry_id = %entry.entry_id,
        bytes = value.len(),
        max_bytes,
        "timeline entry too large to publish; skipped"
    );
    metrics::counter!(crate::telemetry::TIMELINE_OVERSIZE).increment(1);
    None
}

/// A record as read from the events topic, with what merging needs of it.
type Read = Result<(TimelineRecord, Prepared), String>;

/// Applies a batch to the store; the changes grouped by events partition. A record goes to the
/// events topic once per timeline, mostly in the same batch: each distinct one is decoded and
/// read for merging once. Partitions are independent, so they are applied in parallel, each in
/// its own order (the result does not depend on the number of threads).
fn apply(batch: &Batch, store: &SharedStore, settings: &StoreSettings) -> BTreeMap<i32, Changes> {
    let distinct: HashSet<&[u8]> = batch.messages.iter().filter_map(|m| m.payload()).collect();
    let read: HashMap<&[u8], Read> = distinct
        .into_iter()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|payload| {
            let read = serde_json::from_slice::<TimelineRecord>(payload)
                .map(|r| {
                    let prepared = Prepared::of(&r, &settings.aliases);
                    (r, prepared)
                })
                .map_err(|e| e.to_string());
            (payload, read)
        })
        .collect();
    let mut by_partition: BTreeMap<i32, Vec<&OwnedMessage>> = BTreeMap::new();
    for m in &batch.messages {
        by_partition.entry(m.partition()).or_default().push(m);
    }
    store.write(|partitions| {
        for p in by_partition.keys() {
            partitions
                .entry(*p)
                .or_insert_with(|| PartitionState::for_partition(settings, *p));
        }
        let work: Vec<(i32, &mut PartitionState, Vec<&OwnedMessage>)> = partitions
            .iter_mut()
            .filter_map(|(p, state)| by_partition.remove(p).map(|m| (*p, state, m)))
            .collect();
        work.into_par_iter()
            .map(|(partition, state, messages)| {
                let mut out = Changes::default();
                for m in messages {
                    let Some(key) = m.key().and_then(|k| std::str::from_utf8(k).ok()) else {
                        skip(m, "no UTF-8 key");
                        continue;
                    };
                    let Some(payload) = m.payload() else {
                        skip(m, "no value");
                        continue;
                    };
                    match read.get(payload) {
                        Some(Ok((record, prepared))) => {
                            state.apply_prepared(key, record, prepared, settings, &mut out)
                        }
                        Some(Err(reason)) => skip(m, reason),
                        None => skip(m, "not read"),
                    }
                }
                state.log(&mut out);
                (partition, out)
            })
            .collect()
    })
}

/// The events topic is written by dateline only; a record it cannot read is logged and counted,
/// not fatal (its article's own records and dead letter were already handled upstream).
fn skip(m: &rdkafka::message::OwnedMessage, reason: &str) {
    tracing::warn!(
        topic = m.topic(),
        partition = m.partition(),
        offset = m.offset(),
        reason,
        "unreadable events record skipped"
    );
    metrics::counter!(crate::telemetry::TIMELINE_SKIPPED).increment(1);
}

/// The headers of a published timeline entry: contract, entry version and CloudEvents binary
/// mode (`ce_id` is `<entry_id>-<version>`, unique per change).
pub fn entry_headers(entry: &TimelineEntry, time: &str) -> OwnedHeaders {
    let schema = ENTRY_SCHEMA_VERSION.to_string();
    let version = entry.version.to_string();
    let ce_id = format!("{}-{}", entry.entry_id, entry.version);
    [
        ("content-type", "application/json"),
        ("schema-version", schema.as_str()),
        ("entry-version", version.as_str()),
        ("ce_specversion", "1.0"),
        ("ce_id", ce_id.as_str()),
        ("ce_source", "dateline/timelines"),
        ("ce_type", CE_TYPE),
        ("ce_time", time),
    ]
    .into_iter()
    .fold(OwnedHeaders::new(), |h, (key, value)| {
        h.insert(Header {
            key,
            value: Some(value),
        })
    })
}

/// Begins a transaction and sends a batch's changes: entries to the output (or late) topic and
/// the changelog records. Returns the entries and late entries sent.
fn send(
    sink: &Sink,
    changes: &BTreeMap<i32, Changes>,
    topics: &Topics<'_>,
) -> Result<(u64, u64), CommitError> {
    sink.begin()
        .map_err(|e| CommitError::new("begin_transaction", e))?;
    let produce = |e| CommitError::new("produce", e);
    let (mut produced, mut late) = (0, 0);
    for (partition, c) in changes {
        for (entries, topic, count) in [
            (&c.output, topics.output, &mut produced),
            (&c.late, topics.late, &mut late),
        ] {
            // Serialising the entries is most of this stage's work: on all cores.
            let values: Vec<Option<Vec<u8>>> = entries
                .par_iter()
                .map(|entry| encode_bounded(entry, topics.max_bytes))
                .collect();
            for (entry, value) in entries.iter().zip(values) {
                let Some(value) = value else {
                    continue;
                };
                let time = entry
                    .sources
                    .last()
                    .map(|s| {
                        s.published_at
                            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    })
                    .unwrap_or_default();
                sink.send_to(
                    topic,
                    None,
                    entry.timeline.as_bytes(),
                    Some(&value),
                    entry_headers(entry, &time),
                )
                .map_err(produce)?;
                *count += 1;
            }
        }
        // Only the last value of a key in this batch matters to a compacted topic.
        let mut last: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, (key, _)) in c.changelog.iter().enumerate() {
            last.insert(key, i);
        }
        let mut order: Vec<usize> = last.into_values().collect();
        order.sort_unstable();
        for i in order {
            let (key, value) = &c.changelog[i];
            if value.as_ref().is_some_and(|v| v.len() > topics.max_bytes) {
                tracing::warn!(key = %key, "changelog value too large; not logged");
                metrics::counter!(crate::telemetry::TIMELINE_OVERSIZE).increment(1);
                continue;
            }
            sink.send_to(
                topics.changelog,
                Some(*partition),
                key.as_bytes(),
                value.as_deref(),
                OwnedHeaders::new(),
            )
            .map_err(produce)?;
        }
    }
    Ok((produced, late))
}

/// A batch sent whose commit was started.
struct InFlight<'scope> {
    events: usize,
    produced: u64,
    late: u64,
    apply: Duration,
    commit: Commit<'scope>,
}

type CommitResult = Result<Duration, CommitError>;

enum Commit<'scope> {
    Running(std::thread::ScopedJoinHandle<'scope, CommitResult>),
    Done(CommitResult),
}

/// After a failed send or commit: fatal ends the stage; otherwise the transaction is aborted and
/// the consumer rewound (the caller drops the in-memory state, read back from the changelog).
fn abandon(e: CommitError, sink: &Sink, source: &Source) -> Result<(), PipelineError> {
    if e.class == ErrorClass::Fatal {
        return Err(e.into_fatal());
    }
    tracing::warn!(operation = e.operation, error = %e.error, "timeline batch aborted; rewinding");
    sink.abort()?;
    source.rewind()
}

/// Rebuilds the store for `partitions` from the changelog, dropping every other partition.
fn restore(
    config: &Config,
    changelog: &str,
    partitions: &[i32],
    store: &SharedStore,
) -> Result<(), PipelineError> {
    let started = Instant::now();
    let mut rebuilt = BTreeMap::new();
    let mut records = 0u64;
    for &p in partitions {
        let (state, n) = read_changelog(config, changelog, p)?;
        records += n;
        rebuilt.insert(p, state);
    }
    let entries: usize = rebuilt.values().map(PartitionState::len).sum();
    store.write(|all| *all = rebuilt);
    metrics::counter!(crate::telemetry::TIMELINE_RESTORED).increment(records);
    tracing::info!(
        partitions = ?partitions,
        changelog_records = records,
        entries,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "timeline state restored"
    );
    Ok(())
}

/// Waits until every record now in the changelog partition belongs to a decided transaction,
/// and returns its low watermark and that end.
///
/// A read_committed consumer ends a partition at its last stable offset (LSO), before the first
/// record of a transaction still open. Right after a rebalance that can be the previous owner's
/// last transaction: committed, with the input offsets already stable, while its commit marker
/// has not yet reached the changelog partition. Reading only to the LSO then drops that batch
/// from the state while processing resumes after it (seen in CI: a timeline's versions started
/// again at 1). So the true end (the high watermark, read_uncommitted) is taken first, after the
/// caller has waited for stable input offsets, and the read waits until the LSO has passed it.
/// A transaction left open by a killed instance is aborted by the broker after its transaction
/// timeout, so the wait is bounded by that timeout and a margin
/// ([`PipelineError::Undecided`], restartable, after it).
fn decided_end(
    config: &Config,
    consumer: &BaseConsumer,
    changelog: &str,
    partition: i32,
) -> Result<(i64, i64), PipelineError> {
    let fatal = |source: KafkaError| PipelineError::Kafka {
        operation: "restore timeline state",
        source,
    };
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.kafka.brokers);
    for (key, value) in &config.kafka.options {
        client.set(key, value.to_string());
    }
    client.set("isolation.level", "read_uncommitted");
    let uncommitted: BaseConsumer = client.create().map_err(fatal)?;
    let (_, end) = uncommitted
        .fetch_watermarks(changelog, partition, ADMIN_TIMEOUT)
        .map_err(fatal)?;
    drop(uncommitted);
    let patience = transaction_timeout(config) + DECIDE_MARGIN;
    let started = Instant::now();
    let mut told = false;
    loop {
        let (low, stable) = consumer
            .fetch_watermarks(changelog, partition, ADMIN_TIMEOUT)
            .map_err(fatal)?;
        if stable >= end {
            if told {
                tracing::info!(
                    partition,
                    waited_ms = started.elapsed().as_millis() as u64,
                    "changelog transaction decided"
                );
            }
            return Ok((low, end));
        }
        let waited = started.elapsed();
        if waited > patience {
            return Err(PipelineError::Undecided {
                topic: changelog.to_string(),
                partition,
                stable,
                end,
                waited,
            });
        }
        if !told && waited > Duration::from_secs(1) {
            told = true;
            tracing::info!(
                partition,
                stable,
                end,
                "waiting for an open transaction on the changelog to be decided"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The producers' `transaction.timeout.ms` (librdkafka's default, 60 s, unless
/// `kafka.options` sets it): after it the broker aborts a dead producer's open transaction.
fn transaction_timeout(config: &Config) -> Duration {
    config
        .kafka
        .options
        .get("transaction.timeout.ms")
        .and_then(|v| v.to_string().parse::<u64>().ok())
        .map_or(Duration::from_secs(60), Duration::from_millis)
}

/// Reads one changelog partition from the beginning to its end into a fresh state.
pub fn read_changelog(
    config: &Config,
    changelog: &str,
    partition: i32,
) -> Result<(PartitionState, u64), PipelineError> {
    let fatal = |source: KafkaError| PipelineError::Kafka {
        operation: "restore timeline state",
        source,
    };
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.kafka.brokers)
        .set("group.id", format!("{}.restore", group_id(config)))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set(
            "fetch.message.max.bytes",
            (config.pipeline.max_message_bytes + 64 * 1024).to_string(),
        );
    for (key, value) in &config.kafka.options {
        client.set(key, value.to_string());
    }
    client.set("isolation.level", "read_committed");
    let consumer: BaseConsumer = client.create().map_err(fatal)?;
    let mut state =
        PartitionState::new(bodies::Bodies::open(&backend(&config.timelines), partition));
    let (low, high) = decided_end(config, &consumer, changelog, partition)?;
    if high <= low {
        return Ok((state, 0));
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(changelog, partition, Offset::Beginning)
        .map_err(fatal)?;
    consumer.assign(&tpl).map_err(fatal)?;
    let deadline = Instant::now() + RESTORE_TIMEOUT;
    let mut n = 0u64;
    loop {
        if Instant::now() > deadline {
            return Err(PipelineError::Config {
                key: "timelines.changelog_topic",
                message: format!(
                    "reading {changelog}/{partition} back took over {RESTORE_TIMEOUT:?}"
                ),
            });
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Ok(m)) => {
                n += 1;
                let key = m.key().and_then(|k| std::str::from_utf8(k).ok());
                if let Some(key) = key
                    && let Err(reason) = state.restore(key, m.payload())
                {
                    tracing::warn!(
                        partition,
                        offset = m.offset(),
                        reason,
                        "changelog record skipped"
                    );
                }
            }
            Some(Err(KafkaError::PartitionEOF(_))) => {
                state.restored();
                break;
            }
            Some(Err(error)) => match crate::pipeline::error::classify(&error) {
                ErrorClass::Fatal => return Err(fatal(error)),
                _ => tracing::warn!(error = %error, "changelog read error; continuing"),
            },
        }
    }
    Ok((state, n))
}
