//! The Kafka source: a group consumer that hands out batches and can rewind.
//!
//! ## Rebalances
//! librdkafka runs rebalance callbacks on the thread that polls. The pipeline collects the next
//! batch while the previous one commits on another thread, so a poll can run while a
//! transaction is being committed; the rebalance callback therefore first waits for that commit
//! to end ([`CommitGate`]). So partitions are only given up between transactions, after the
//! previous batch was committed or aborted. What a
//! rebalance can hit is the batch being collected: its records may belong to partitions that are
//! now someone else's, or will be fetched again from the committed offsets. [`SourceContext`]
//! counts rebalance events, and the count is read after every poll. When it changed, the
//! rebalance ran inside that poll, and what was collected before it is dropped (nothing of it was
//! produced): under the eager protocol (the default) all of it, since every partition restarts
//! from its committed offset when assigned again; under the cooperative protocol only the
//! messages of revoked partitions, since kept partitions keep their positions. A message returned
//! by that poll or later was fetched under the new assignment and is kept, so no seek is needed
//! (a seek is still used to rewind after an aborted transaction).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, ConsumerGroupMetadata, Rebalance,
};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::OwnedMessage;
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::{ClientContext, Message};

use crate::config::Config;
use crate::pipeline::error::{ErrorClass, PipelineError, classify};
use crate::pipeline::events::ConsumerLag;
use crate::pipeline::shutdown::Shutdown;
use crate::pipeline::stall::{FETCH_STALL_LIMIT, FetchWatch, Sample};
use crate::pipeline::status::PipelineStatus;

/// Longest single poll, so shutdown requests are noticed promptly.
const POLL_SLICE: Duration = Duration::from_millis(100);
/// Poll slice while the previous batch commits, so its end is noticed promptly.
const COLLECT_SLICE: Duration = Duration::from_millis(2);
/// How long a stage waits for its consumer to close ([`Source::close`]).
const CLOSE_PATIENCE: Duration = Duration::from_secs(10);
/// Timeout of committed-offset look-ups and seeks.
const OFFSETS_TIMEOUT: Duration = Duration::from_secs(30);

/// Consumer callbacks: rebalance bookkeeping, readiness and lag.
pub struct SourceContext {
    /// Incremented on every rebalance event; a batch collected across a change is discarded.
    rebalances: AtomicU64,
    /// Readiness: whether partitions are assigned.
    status: Arc<PipelineStatus>,
    /// Input topic, to pick it out of the statistics.
    topic: String,
    /// The stage (`extraction` or `timelines`), for the lag metric's label.
    stage: &'static str,
    /// Open while a batch commits on the commit thread; a rebalance waits for it.
    gate: Arc<CommitGate>,
    /// Assigned partitions that librdkafka stopped fetching ([`crate::pipeline::stall`]).
    watch: std::sync::Mutex<FetchWatch>,
    /// Set once the stage has let this consumer go ([`Source::close`]): its late callbacks no
    /// longer speak for the stage (readiness, lag), which may already have a new consumer.
    detached: std::sync::atomic::AtomicBool,
}

/// Whether a commit is in flight, so that a rebalance (which runs inside a poll on the
/// collecting thread) gives partitions up only once the commit has ended.
#[derive(Debug, Default)]
pub struct CommitGate {
    busy: std::sync::Mutex<bool>,
    idle: std::sync::Condvar,
}

impl CommitGate {
    /// Marks a commit as started; the returned guard marks it ended when dropped (also on a
    /// panic of the committing thread).
    pub fn open(self: &Arc<Self>) -> CommitGuard {
        *self.busy.lock().unwrap_or_else(|e| e.into_inner()) = true;
        CommitGuard(Arc::clone(self))
    }

    /// Whether a commit is in flight.
    pub fn is_busy(&self) -> bool {
        *self.busy.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks until no commit is in flight.
    pub fn wait_idle(&self) {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        while *busy {
            busy = self.idle.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// An in-flight commit ([`CommitGate::open`]).
#[derive(Debug)]
pub struct CommitGuard(Arc<CommitGate>);

impl Drop for CommitGuard {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.0.idle.notify_all();
    }
}

impl ClientContext for SourceContext {
    fn stats(&self, statistics: Statistics) {
        if self.detached.load(Ordering::Acquire) {
            return;
        }
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        let samples: BTreeMap<i32, Sample> = topic
            .partitions
            .iter()
            .filter(|(id, p)| **id >= 0 && p.desired)
            .map(|(id, p)| {
                let sample = Sample {
                    fetch_state: p.fetch_state.clone(),
                    next_offset: p.next_offset,
                    end_offset: if p.ls_offset >= 0 {
                        p.ls_offset
                    } else {
                        p.hi_offset
                    },
                    queued: p.fetchq_cnt,
                };
                (*id, sample)
            })
            .collect();
        if let Ok(mut watch) = self.watch.lock() {
            watch.observe(Instant::now(), &samples);
        }
        for (id, p) in &topic.partitions {
            // -1 is librdkafka's "internal/unassigned" pseudo partition; app_offset < 0 means
            // nothing consumed yet, so there is no position to measure from.
            if *id < 0 || !p.desired || p.app_offset < 0 {
                continue;
            }
            let end = if p.ls_offset >= 0 {
                p.ls_offset
            } else {
                p.hi_offset
            };
            ConsumerLag {
                stage: self.stage,
                partition: *id,
                lag: end - p.app_offset,
            }
            .emit();
        }
    }
}

impl ConsumerContext for SourceContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        // A batch still committing keeps its partitions until its transaction has ended.
        self.gate.wait_idle();
        self.rebalances.fetch_add(1, Ordering::AcqRel);
        match rebalance {
            Rebalance::Revoke(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions revoked")
            }
            Rebalance::Assign(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions assigned")
            }
            Rebalance::Error(error) => tracing::warn!(error = %error, "rebalance error"),
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        self.rebalances.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut watch) = self.watch.lock() {
            watch.reset();
        }
        if self.detached.load(Ordering::Acquire) {
            return;
        }
        let assigned = consumer
            .assignment()
            .map(|tpl| tpl.count() > 0)
            .unwrap_or(false);
        self.status.set_assigned(assigned);
    }
}

fn describe(tpl: &TopicPartitionList) -> String {
    tpl.elements()
        .iter()
        .map(|e| format!("{}/{}", e.topic(), e.partition()))
        .collect::<Vec<_>>()
        .join(",")
}

/// A polled batch.
#[derive(Debug, Default)]
pub struct Batch {
    /// Messages in poll order (so in offset order within each partition).
    pub messages: Vec<OwnedMessage>,
    /// A rebalance happened while collecting; the messages collected before it were dropped
    /// (they are read again), and the batch holds only messages valid under the new assignment.
    pub rebalanced: bool,
}

impl Batch {
    /// The offsets to commit once this batch is done: next offset per partition.
    pub fn next_offsets(&self) -> KafkaResult<TopicPartitionList> {
        let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for m in &self.messages {
            let e = next.entry((m.topic(), m.partition())).or_insert(0);
            *e = (*e).max(m.offset() + 1);
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            tpl.add_partition_offset(topic, partition, Offset::Offset(offset))?;
        }
        Ok(tpl)
    }
}

/// The group consumer of the input topic.
pub struct Source {
    consumer: BaseConsumer<SourceContext>,
    /// Where to start a partition that has no committed offset (`auto.offset.reset`).
    reset_to_end: bool,
    /// The group uses the cooperative protocol (`partition.assignment.strategy`).
    cooperative: bool,
    /// The last batch filled at least half of `max_records`: input is backing up, so batches
    /// wait to fill (fewer, larger transactions) instead of leaving with what is fetched.
    busy: std::sync::atomic::AtomicBool,
    /// When the broker was last asked whether a stalled partition is reachable.
    stall_checked: std::sync::Mutex<Option<Instant>>,
}

impl Source {
    /// Creates the consumer (read_committed, no auto-commit) and subscribes to the input topic.
    pub fn new(config: &Config, status: Arc<PipelineStatus>) -> Result<Self, PipelineError> {
        Source::subscribe(
            config,
            &config.topics.input,
            &config.kafka.group_id,
            status,
            "extraction",
        )
    }

    /// A source of `topic` in group `group_id`, with the settings of [`Source::new`].
    pub fn subscribe(
        config: &Config,
        topic: &str,
        group_id: &str,
        status: Arc<PipelineStatus>,
        stage: &'static str,
    ) -> Result<Self, PipelineError> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.kafka.brokers)
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("isolation.level", "read_committed")
            .set("auto.offset.reset", "earliest")
            .set("statistics.interval.ms", "5000")
            // librdkafka prefetches up to 64 MiB by default, for each fetched partition; a
            // batch is at most `batch.max_records` records, so 2 MiB a partition keeps several
            // batches ready (about 3,000 articles of 4 KB over 6 partitions). 8 MiB took about
            // 150 MB off the peak RSS of both stages together (scripts/bench-pipeline.sh), and
            // 2 MiB another 35 MB (a 12,000-article drain of the default configuration).
            // Past that threshold librdkafka postpones a partition's next fetch by this much
            // (default 1000 ms), which stalled a busy pipeline every few batches.
            .set("fetch.queue.backoff.ms", "10")
            .set(
                "queued.max.messages.kbytes",
                (2048)
                    .max(2 * (config.pipeline.max_message_bytes + 64 * 1024) / 1024)
                    .to_string(),
            )
            .set(
                "fetch.message.max.bytes",
                (config.pipeline.max_message_bytes + 64 * 1024).to_string(),
            );
        for (key, value) in &config.kafka.options {
            client.set(key, value.to_string());
        }
        let reset_to_end = matches!(
            client.get("auto.offset.reset"),
            Some("latest" | "end" | "largest")
        );
        let cooperative = client
            .get("partition.assignment.strategy")
            .is_some_and(|s| s.contains("cooperative"));
        let context = SourceContext {
            rebalances: AtomicU64::new(0),
            status,
            topic: topic.to_string(),
            stage,
            gate: Arc::default(),
            watch: std::sync::Mutex::default(),
            detached: std::sync::atomic::AtomicBool::new(false),
        };
        let consumer: BaseConsumer<SourceContext> =
            client
                .create_with_context(context)
                .map_err(|source| PipelineError::Client {
                    client: "consumer",
                    source,
                })?;
        consumer
            .subscribe(&[topic])
            .map_err(|source| PipelineError::Client {
                client: "consumer",
                source,
            })?;
        Ok(Source {
            consumer,
            reset_to_end,
            cooperative,
            busy: std::sync::atomic::AtomicBool::new(false),
            stall_checked: std::sync::Mutex::new(None),
        })
    }

    /// Collects up to `max_records` messages, waiting at most `max_wait` after the first one
    /// (and indefinitely, in short slices, for the first, unless `return_empty`: then an empty
    /// batch is returned after one slice). After the first, it waits for more only while input
    /// is backing up (the last batch was at least half full) or the previous batch is still
    /// committing ([`CommitGate`]); otherwise it takes what is already fetched. Returns early on
    /// shutdown.
    pub fn poll_batch(
        &self,
        max_records: usize,
        max_wait: Duration,
        return_empty: bool,
        shutdown: &Shutdown,
    ) -> Result<Batch, PipelineError> {
        let mut generation = self.consumer.context().rebalances.load(Ordering::Acquire);
        let busy_input = self.busy.load(Ordering::Relaxed);
        let mut batch = Batch::default();
        let mut deadline: Option<Instant> = None;
        while batch.messages.len() < max_records && !shutdown.is_shutdown() {
            // Once the batch has a record: when input is backing up (the last batch was at
            // least half full), or while the previous batch is still committing (this one cannot
            // be sent before), keep collecting; otherwise take only what is already fetched and
            // go. So under load batches fill up (fewer, larger transactions), and under light
            // load a record waits for no one.
            let committing = self.consumer.context().gate.is_busy();
            let slice = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    if busy_input {
                        left.min(POLL_SLICE)
                    } else if committing {
                        left.min(COLLECT_SLICE)
                    } else {
                        Duration::ZERO
                    }
                }
                None => POLL_SLICE,
            };
            let polled = self.consumer.poll(slice);
            if self.rebalanced_since(generation) {
                // The rebalance ran inside this poll. What was collected before it is given up:
                // under the eager protocol every partition restarts from its committed offset
                // when assigned again (so those records come back); under the cooperative
                // protocol only revoked partitions change hands, and their records are dropped
                // while those of kept partitions stay. A message this poll returned was fetched
                // under the new assignment. No seek is needed either way.
                generation = self.consumer.context().rebalances.load(Ordering::Acquire);
                self.drop_after_rebalance(&mut batch.messages);
                batch.rebalanced = true;
            }
            if polled.is_none() {
                self.check_fetching()?;
            }
            match polled {
                None if return_empty && batch.messages.is_empty() => break,
                None if !batch.messages.is_empty() && slice.is_zero() => break,
                None => {}
                Some(Ok(message)) => {
                    batch.messages.push(message.detach());
                    deadline.get_or_insert_with(|| Instant::now() + max_wait);
                }
                Some(Err(error)) => match classify(&error) {
                    ErrorClass::Fatal => {
                        return Err(PipelineError::Kafka {
                            operation: "consume",
                            source: error,
                        });
                    }
                    _ => tracing::warn!(error = %error, "consumer error; continuing"),
                },
            }
        }
        if !batch.messages.is_empty() {
            self.busy
                .store(batch.messages.len() * 2 >= max_records, Ordering::Relaxed);
        }
        Ok(batch)
    }

    /// Ends the stage ([`PipelineError::Stalled`]) when an assigned partition has not been
    /// fetched for [`FETCH_STALL_LIMIT`] although the broker answers for it
    /// ([`crate::pipeline::stall`]). While the broker does not answer, the stall is its own: the
    /// consumer keeps waiting and the clock starts again. The broker is asked at most every 10 s.
    fn check_fetching(&self) -> Result<(), PipelineError> {
        let stalled = match self.consumer.context().watch.lock() {
            Ok(watch) => watch.stalled(Instant::now(), FETCH_STALL_LIMIT),
            Err(_) => return Ok(()),
        };
        let Some((partition, _, _)) = stalled.first() else {
            return Ok(());
        };
        {
            let mut checked = self.stall_checked.lock().unwrap_or_else(|e| e.into_inner());
            if checked.is_some_and(|t| t.elapsed() < Duration::from_secs(10)) {
                return Ok(());
            }
            *checked = Some(Instant::now());
        }
        let topic = &self.consumer.context().topic;
        if let Err(error) =
            self.consumer
                .fetch_watermarks(topic, *partition, Duration::from_secs(5))
        {
            tracing::warn!(
                partition,
                error = %error,
                "a partition is not fetching and the broker does not answer; waiting"
            );
            // The broker's absence explains it: the clock starts again once it answers.
            if let Ok(mut watch) = self.consumer.context().watch.lock() {
                watch.reset();
            }
            return Ok(());
        }
        Err(PipelineError::Stalled {
            topic: topic.clone(),
            partitions: stalled
                .iter()
                .map(|(p, d, what)| format!("{p} ({what}, for {} s)", d.as_secs()))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Drops the collected messages that a rebalance invalidated (see [`Source::poll_batch`]).
    fn drop_after_rebalance(&self, messages: &mut Vec<OwnedMessage>) {
        if !self.cooperative {
            messages.clear();
            return;
        }
        match self.consumer.assignment() {
            Ok(owned) => {
                messages.retain(|m| owned.find_partition(m.topic(), m.partition()).is_some())
            }
            Err(_) => messages.clear(),
        }
    }

    fn rebalanced_since(&self, generation: u64) -> bool {
        self.consumer.context().rebalances.load(Ordering::Acquire) != generation
    }

    /// The gate a commit running beside the polls must hold ([`CommitGate`]).
    pub fn gate(&self) -> Arc<CommitGate> {
        Arc::clone(&self.consumer.context().gate)
    }

    /// The group metadata for `send_offsets_to_transaction`.
    pub fn group_metadata(&self) -> Result<ConsumerGroupMetadata, PipelineError> {
        self.consumer
            .group_metadata()
            .ok_or(PipelineError::NoGroupMetadata)
    }

    /// The partitions of `topic` currently assigned to this consumer, sorted.
    pub fn assigned(&self, topic: &str) -> Result<Vec<i32>, PipelineError> {
        let tpl = self
            .consumer
            .assignment()
            .map_err(|source| PipelineError::Kafka {
                operation: "read the assignment",
                source,
            })?;
        let mut partitions: Vec<i32> = tpl
            .elements()
            .iter()
            .filter(|e| e.topic() == topic)
            .map(|e| e.partition())
            .collect();
        partitions.sort_unstable();
        Ok(partitions)
    }

    /// Commits offsets directly (at-least-once mode).
    pub fn commit(&self, offsets: &TopicPartitionList) -> KafkaResult<()> {
        self.consumer.commit(offsets, CommitMode::Sync)
    }

    /// Waits until no transaction holds an undecided offset commit for the assigned partitions
    /// of `topic` (read_committed makes librdkafka ask for stable offsets and retry while one
    /// is pending), at most `timeout`.
    ///
    /// The timeline stage calls this before it reads its state back: once the offsets are
    /// stable, every transaction of a previous owner that consumed these partitions is decided
    /// and has all its records in the log, so the changelog's high watermark taken afterwards
    /// covers them.
    pub fn wait_stable_offsets(&self, topic: &str, timeout: Duration) -> Result<(), PipelineError> {
        let fatal = |source: KafkaError| PipelineError::Kafka {
            operation: "read stable committed offsets",
            source,
        };
        let mut tpl = TopicPartitionList::new();
        for p in self.assigned(topic)? {
            tpl.add_partition(topic, p);
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        let committed = self
            .consumer
            .committed_offsets(tpl, timeout)
            .map_err(fatal)?;
        for e in committed.elements() {
            if let Err(error) = e.error() {
                return Err(fatal(error));
            }
        }
        Ok(())
    }

    /// Seeks every assigned partition back to its committed offset (or to where
    /// `auto.offset.reset` starts a partition without one), so the records of an abandoned batch
    /// are read again.
    pub fn rewind(&self) -> Result<(), PipelineError> {
        let fatal = |source: KafkaError| PipelineError::Kafka {
            operation: "rewind to committed offsets",
            source,
        };
        let assignment = self.consumer.assignment().map_err(fatal)?;
        if assignment.count() == 0 {
            return Ok(());
        }
        let committed = self
            .consumer
            .committed_offsets(assignment, OFFSETS_TIMEOUT)
            .map_err(fatal)?;
        let mut seek = TopicPartitionList::new();
        for e in committed.elements() {
            let offset = match e.offset() {
                Offset::Offset(n) => Offset::Offset(n),
                _ if self.reset_to_end => Offset::End,
                _ => Offset::Beginning,
            };
            seek.add_partition_offset(e.topic(), e.partition(), offset)
                .map_err(fatal)?;
        }
        let result = self
            .consumer
            .seek_partitions(seek, OFFSETS_TIMEOUT)
            .map_err(fatal)?;
        for e in result.elements() {
            if let Err(error) = e.error() {
                return Err(fatal(error));
            }
        }
        tracing::debug!(partitions = %describe(&result), "rewound to committed offsets");
        Ok(())
    }

    /// Leaves the group so partitions move to other instances at once.
    ///
    /// Dropping a group consumer polls until librdkafka reports it closed, with no time limit,
    /// and after a broker restart that close was seen to wait on the group coordinator for
    /// longer than the shutdown timeout (a stage ending on a restartable error then never
    /// restarted, and SIGTERM ran out of time). So the close runs on a thread of its own: the
    /// stage waits [`CLOSE_PATIENCE`] for it, then goes on (to its restart, or to exit) while the
    /// old consumer finishes leaving the group in the background.
    pub fn close(self) {
        self.consumer.unsubscribe();
        // Serve the revoke callback so the group sees us leave before the process exits.
        let _ = self.consumer.poll(Duration::from_millis(100));
        self.consumer
            .context()
            .detached
            .store(true, Ordering::Release);
        let consumer = self.consumer;
        let (closed, wait) = std::sync::mpsc::channel();
        let closing = std::thread::Builder::new()
            .name("consumer-close".into())
            .spawn(move || {
                let started = Instant::now();
                drop(consumer);
                let _ = closed.send(());
                tracing::debug!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "consumer closed"
                );
            });
        if closing.is_ok() && wait.recv_timeout(CLOSE_PATIENCE).is_err() {
            tracing::warn!(
                patience_s = CLOSE_PATIENCE.as_secs(),
                "the consumer is still leaving its group; its close goes on in the background"
            );
        }
    }
}
