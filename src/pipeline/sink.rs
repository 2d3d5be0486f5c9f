//! The Kafka sink: a transactional (or idempotent) producer for timeline records and dead
//! letters, with the headers of the output contract.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
};
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::{ClientContext, Message};

use crate::config::{Config, Guarantee};
use crate::pipeline::dlq;
use crate::pipeline::error::{ErrorClass, PipelineError, classify};
use crate::pipeline::worker::{Extracted, Poison};
use crate::timeline::SCHEMA_VERSION;

/// Timeout of transactional calls and flushes.
const TXN_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a retriable commit is retried before giving up (fatal).
const MAX_RETRIES: u32 = 10;
/// Attempts of a commit_transaction that times out, before the stage restarts.
const COMMIT_ATTEMPTS: u32 = 3;
/// Attempts of an abort_transaction that times out, and the time-out of each, before the stage
/// restarts.
const ABORT_ATTEMPTS: u32 = 3;
const ABORT_TIMEOUT: Duration = Duration::from_secs(20);
/// How often a retriable send_offsets_to_transaction is retried before the batch is aborted and
/// read again.
const SEND_OFFSETS_RETRIES: u32 = 3;
/// How long an abort waits for the messages in flight to be acknowledged or to time out: past
/// librdkafka's `message.timeout.ms`, which a transactional producer caps at the transaction
/// timeout (60 s by default).
const DRAIN_PATIENCE: Duration = Duration::from_secs(75);
/// How long the sink sleeps between rounds of serving delivery reports while it waits for them.
const SERVE_PAUSE: Duration = Duration::from_micros(200);
/// How long `send` waits for room in a full local queue before giving up.
const QUEUE_FULL_PATIENCE: Duration = Duration::from_secs(60);

/// CloudEvents `type` of a timeline record.
pub const CE_TYPE: &str = "dateline.timeline.record.v1";

/// Delivery bookkeeping, needed at least once (transactions report failures on commit).
#[derive(Default)]
pub struct SinkContext {
    failed: AtomicU64,
    first_error: Mutex<Option<KafkaError>>,
}

impl ClientContext for SinkContext {}

impl ProducerContext for SinkContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        if let Err((error, _)) = result {
            self.failed.fetch_add(1, Ordering::AcqRel);
            if let Ok(mut first) = self.first_error.lock() {
                first.get_or_insert_with(|| error.clone());
            }
        }
    }
}

/// The producer side of the pipeline.
pub struct Sink {
    /// Shared with a transactional call left running on a thread of its own ([`bounded`]).
    producer: Arc<BaseProducer<SinkContext>>,
    /// A transactional call did not return in time: the producer cannot be used for another
    /// one, and the stage must start again with a new producer.
    stuck: AtomicBool,
    guarantee: Guarantee,
    output_topic: String,
    dlq_topic: String,
    /// The timeline stage's input, when it runs.
    events_topic: Option<String>,
    ce_source: String,
    max_message_bytes: usize,
}

/// Counts of what a batch sent, for metrics after the commit.
#[derive(Debug, Default)]
pub struct Sent {
    /// Articles (inputs that decoded).
    pub articles: u64,
    /// Timeline records.
    pub records: u64,
    /// Records sent to the events topic (one per record and timeline).
    pub fanout: u64,
    /// Dead letters by kind.
    pub dead_letters: Vec<(&'static str, u64)>,
}

impl Sink {
    /// Creates the producer: transactional for exactly-once, idempotent for at-least-once.
    pub fn new(config: &Config) -> Result<Self, PipelineError> {
        Sink::with_transactional_id(config, &config.kafka.transactional_id)
    }

    /// [`Sink::new`] with another transactional id (the timeline stage's producer).
    pub fn with_transactional_id(
        config: &Config,
        transactional_id: &str,
    ) -> Result<Self, PipelineError> {
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.kafka.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            // Right after a commit the coordinator is still writing the transaction markers, and
            // the next transaction's first AddPartitionsToTxn / AddOffsetsToTxn is refused with
            // CONCURRENT_TRANSACTIONS. librdkafka retries it after `retry.backoff.ms`, 100 ms by
            // default: one commit in ten then took 100+ ms, which set the latency tail. The
            // Java client backs off 20 ms for this (KAFKA-5477); 10 ms (growing exponentially to
            // `retry.backoff.max.ms`, 1 s, on repeated failures) keeps back-to-back transactions
            // short.
            .set("retry.backoff.ms", "10")
            .set(
                "message.max.bytes",
                (config.pipeline.max_message_bytes + 64 * 1024).to_string(),
            );
        if config.kafka.guarantee == Guarantee::ExactlyOnce {
            client.set("transactional.id", transactional_id);
        }
        for (key, value) in &config.kafka.options {
            client.set(key, value.to_string());
        }
        let producer: BaseProducer<SinkContext> = client
            .create_with_context(SinkContext::default())
            .map_err(|source| PipelineError::Client {
                client: "producer",
                source,
            })?;
        Ok(Sink {
            producer: Arc::new(producer),
            stuck: AtomicBool::new(false),
            guarantee: config.kafka.guarantee,
            output_topic: config.topics.output.clone(),
            dlq_topic: config.topics.dlq_topic(),
            events_topic: config
                .timelines
                .enabled
                .then(|| config.timelines.events_topic(&config.topics)),
            ce_source: format!("dateline/{}", config.topics.input),
            max_message_bytes: config.pipeline.max_message_bytes,
        })
    }

    /// Registers the transactional id with the coordinator, fencing any older instance with the
    /// same id and aborting what it left open. No-op at least once.
    pub fn init(&self) -> Result<(), PipelineError> {
        if self.guarantee != Guarantee::ExactlyOnce {
            return Ok(());
        }
        self.retrying("init_transactions", || {
            self.producer.init_transactions(TXN_TIMEOUT)
        })
    }

    /// Starts a batch.
    pub fn begin(&self) -> Result<(), KafkaError> {
        self.context().failed.store(0, Ordering::Release);
        if let Ok(mut first) = self.context().first_error.lock() {
            *first = None;
        }
        match self.guarantee {
            Guarantee::ExactlyOnce => self.producer.begin_transaction(),
            Guarantee::AtLeastOnce => Ok(()),
        }
    }

    /// Sends one article's records in order, with the contract's headers.
    pub fn send_article(
        &self,
        input: &OwnedMessage,
        article: &Extracted,
        sent: &mut Sent,
    ) -> Result<(), KafkaError> {
        let partition = input.partition().to_string();
        let offset = input.offset().to_string();
        let schema = SCHEMA_VERSION.to_string();
        let time = article
            .published_at
            .to_rfc3339_opts(SecondsFormat::AutoSi, true);
        for record in &article.records {
            let headers = [
                ("content-type", "application/json"),
                ("schema-version", schema.as_str()),
                ("source-topic", input.topic()),
                ("source-partition", partition.as_str()),
                ("source-offset", offset.as_str()),
                ("ce_specversion", "1.0"),
                ("ce_id", record.event_id.as_str()),
                ("ce_source", self.ce_source.as_str()),
                ("ce_type", CE_TYPE),
                ("ce_time", time.as_str()),
            ]
            .into_iter()
            .fold(OwnedHeaders::new(), |h, (key, value)| {
                h.insert(Header {
                    key,
                    value: Some(value),
                })
            });
            if let Some(events) = &self.events_topic {
                // Internal: the timeline stage reads only the key and the value.
                for timeline in &record.timelines {
                    let internal = BaseRecord::to(events)
                        .key(timeline.as_bytes())
                        .payload(record.value.as_slice());
                    self.send(internal)?;
                    sent.fanout += 1;
                }
            }
            let record = BaseRecord::to(&self.output_topic)
                .key(record.key.as_bytes())
                .payload(record.value.as_slice())
                .headers(headers);
            self.send(record)?;
            sent.records += 1;
        }
        sent.articles += 1;
        Ok(())
    }

    /// Sends the dead letter of one input record.
    pub fn send_dead_letter(
        &self,
        input: &OwnedMessage,
        poison: &Poison,
        sent: &mut Sent,
    ) -> Result<(), KafkaError> {
        crate::pipeline::events::DeadLettered {
            topic: input.topic(),
            partition: input.partition(),
            offset: input.offset(),
            kind: poison.kind,
            message: &poison.message,
        }
        .emit();
        let letter = dlq::dead_letter(input, poison, self.max_message_bytes, Utc::now());
        let mut record: BaseRecord<'_, [u8], [u8]> =
            BaseRecord::to(&self.dlq_topic).headers(letter.headers);
        if let Some(key) = letter.key {
            record = record.key(key);
        }
        if let Some(value) = letter.value {
            record = record.payload(value);
        }
        self.send(record)?;
        match sent
            .dead_letters
            .iter_mut()
            .find(|(k, _)| *k == poison.kind)
        {
            Some((_, n)) => *n += 1,
            None => sent.dead_letters.push((poison.kind, 1)),
        }
        Ok(())
    }

    /// Sends one record to `topic` (to `partition` when given), with `headers`.
    pub fn send_to(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: &[u8],
        value: Option<&[u8]>,
        headers: OwnedHeaders,
    ) -> Result<(), KafkaError> {
        let mut record: BaseRecord<'_, [u8], [u8]> =
            BaseRecord::to(topic).key(key).headers(headers);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        if let Some(v) = value {
            record = record.payload(v);
        }
        self.send(record)
    }

    /// Enqueues a record, waiting for room when the local queue is full.
    fn send(&self, mut record: BaseRecord<'_, [u8], [u8]>) -> Result<(), KafkaError> {
        let started = Instant::now();
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if started.elapsed() < QUEUE_FULL_PATIENCE =>
                {
                    record = back;
                    // Serves delivery reports, which is what frees the queue.
                    let room = self.producer.in_flight_count();
                    self.serve_until(Instant::now() + Duration::from_millis(50), || {
                        self.producer.in_flight_count() < room
                    });
                }
                Err((error, _)) => return Err(error),
            }
        }
    }

    /// Commits the batch: in one transaction with the input offsets (exactly once), or by
    /// waiting for every acknowledgement and then committing the offsets (at least once).
    ///
    /// Retriable errors are retried here; `Err` means abort and rewind
    /// ([`ErrorClass::AbortRequired`]) or stop ([`ErrorClass::Fatal`]), per [`classify`].
    pub fn commit(
        &self,
        offsets: &TopicPartitionList,
        group: &Arc<ConsumerGroupMetadata>,
        source: &crate::pipeline::source::Source,
    ) -> Result<(), CommitError> {
        match self.guarantee {
            Guarantee::ExactlyOnce => {
                // Nothing is committed before commit_transaction, so a send_offsets that keeps
                // timing out (seen after a broker restart: the request to the coordinator stalls
                // while the transaction lives on) is given up after a few tries for an abort and
                // a fresh transaction, which does go through.
                self.retrying_txn_at_most(
                    "send_offsets_to_transaction",
                    SEND_OFFSETS_RETRIES,
                    || {
                        // librdkafka#5456 (open): this call can block past its own time-out
                        // while the group coordinator is down (seen after broker restarts: a
                        // stage stopped for minutes without a log line). So it runs on a thread
                        // of its own and is waited for a little longer than its time-out; still
                        // blocked, the producer is given up (see `abort`).
                        let producer = Arc::clone(&self.producer);
                        let (offsets, group) = (offsets.clone(), Arc::clone(group));
                        let call = move || {
                            producer.send_offsets_to_transaction(&offsets, &group, TXN_TIMEOUT)
                        };
                        bounded(TXN_TIMEOUT + Duration::from_secs(10), call).unwrap_or_else(|| {
                            self.stuck.store(true, Ordering::Release);
                            tracing::warn!(
                                "send_offsets_to_transaction did not return within its time-out"
                            );
                            Err(KafkaError::MessageProduction(
                                RDKafkaErrorCode::OperationTimedOut,
                            ))
                        })
                    },
                )
                .map_err(|mut e| {
                    if e.class == ErrorClass::Fatal && e.attempts > 1 {
                        e.class = ErrorClass::AbortRequired;
                    }
                    e
                })?;
                // Acknowledged first, so commit_transaction's own flush finds nothing to wait
                // for (see `drain`).
                self.drain(TXN_TIMEOUT)
                    .map_err(|e| CommitError::new("flush", e))?;
                // As for the abort: past a few time-outs the stage restarts with a new producer,
                // whose init_transactions completes the commit or aborts the transaction (and
                // the new consumer resumes from whichever offsets that left committed).
                self.retrying_txn_at_most("commit_transaction", COMMIT_ATTEMPTS, || {
                    self.producer.commit_transaction(TXN_TIMEOUT)
                })
            }
            Guarantee::AtLeastOnce => {
                self.drain(TXN_TIMEOUT)
                    .map_err(|e| CommitError::new("flush", e))?;
                // Serve any delivery report not yet seen by `flush`.
                self.producer.poll(Duration::ZERO);
                if self.context().failed.load(Ordering::Acquire) > 0 {
                    let error = self
                        .context()
                        .first_error
                        .lock()
                        .ok()
                        .and_then(|e| e.clone())
                        .unwrap_or(KafkaError::Flush(RDKafkaErrorCode::Fail));
                    return Err(CommitError::new("delivery", error));
                }
                source
                    .commit(offsets)
                    .map_err(|e| CommitError::new("commit offsets", e))
            }
        }
    }

    /// Waits until every message sent has been acknowledged (or has failed), serving delivery
    /// reports as they come. rdkafka's `flush` (also called by its `commit_transaction`) polls
    /// in 100 ms slices and each slice runs to its end, so it made every commit take at least
    /// 100 ms; with nothing left in flight, that flush returns at once.
    fn drain(&self, timeout: Duration) -> Result<(), KafkaError> {
        if self.serve_until(Instant::now() + timeout, || {
            self.producer.in_flight_count() == 0
        }) {
            Ok(())
        } else {
            Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut))
        }
    }

    /// Serves delivery reports until `done` holds (`true`) or `deadline` passes (`false`).
    ///
    /// `BaseProducer::poll(t)` does not return at the first event: it polls until `t` has
    /// passed, and the last fraction of a millisecond is a busy loop (the time left rounds down
    /// to a 0 ms queue poll). Polling in 1 ms slices therefore spun the committing thread for
    /// as long as it waited for acknowledgements: 13% of the timeline stage's CPU under load,
    /// in `clock_gettime`. Here each `poll(0)` serves at most one pending event, without
    /// waiting, and the thread sleeps [`SERVE_PAUSE`] when none is left.
    fn serve_until(&self, deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
        loop {
            loop {
                if done() {
                    return true;
                }
                let before = self.producer.in_flight_count();
                self.producer.poll(Duration::ZERO);
                if self.producer.in_flight_count() == before {
                    break;
                }
            }
            if Instant::now() >= deadline {
                return done();
            }
            std::thread::sleep(SERVE_PAUSE);
        }
    }

    /// Aborts the open transaction (exactly once); waits out the in-flight sends (at least once).
    pub fn abort(&self) -> Result<(), PipelineError> {
        if self.stuck.load(Ordering::Acquire) {
            return Err(PipelineError::Stuck {
                operation: "send_offsets_to_transaction",
            });
        }
        match self.guarantee {
            Guarantee::ExactlyOnce => {
                // abort_transaction purges what is still queued, but it waits for the delivery
                // reports of those messages, and a BaseProducer only gets them when polled: with
                // the broker gone (a restart) the call would time out again and again. So the
                // queue is purged first and the reports are served here, then the abort is sent.
                //
                // Messages already in flight are *not* purged: a purged in-flight request is
                // forgotten by the client but may still reach the broker after the abort
                // marker, where (same producer epoch) it joins the producer's next transaction
                // on that partition and is committed with it: the batch's records twice (seen
                // once in about ten broker restarts under load). They are waited for instead;
                // they end by their acknowledgement or by `message.timeout.ms` (at most the
                // transaction timeout, 60 s). Should some still be in flight after that, the
                // producer is given up: the stage restarts with a new one, whose
                // init_transactions bumps the epoch and so fences any late write.
                self.producer.purge(PurgeConfig::default().queue());
                let drained = self.serve_until(Instant::now() + DRAIN_PATIENCE, || {
                    self.producer.in_flight_count() == 0
                });
                if !drained {
                    return Err(PipelineError::Undrained {
                        in_flight: self.producer.in_flight_count(),
                        waited: DRAIN_PATIENCE,
                    });
                }
                // A coordinator that does not answer an abort (seen after a broker restart: the
                // client's coordinator connection stayed unresolved, and every attempt timed
                // out) is not waited for long: a new producer (the stage restarts, as for any
                // restartable error) finds the coordinator again, and its init_transactions
                // completes or aborts what this one left open.
                self.retrying_txn_at_most("abort_transaction", ABORT_ATTEMPTS, || {
                    self.producer.poll(Duration::ZERO);
                    self.producer.abort_transaction(ABORT_TIMEOUT)
                })
                .map_err(|e| e.into_fatal())
            }
            Guarantee::AtLeastOnce => {
                // Output already sent may be duplicated on reprocessing: that is the guarantee.
                let _ = self.producer.flush(TXN_TIMEOUT);
                Ok(())
            }
        }
    }

    /// Flushes what is left before exit.
    pub fn close(&self) {
        if let Err(error) = self.producer.flush(TXN_TIMEOUT) {
            tracing::warn!(error = %error, "flushing the producer at shutdown");
        }
    }

    fn context(&self) -> &SinkContext {
        self.producer.context()
    }

    fn retrying(
        &self,
        operation: &'static str,
        call: impl Fn() -> Result<(), KafkaError>,
    ) -> Result<(), PipelineError> {
        self.retrying_txn(operation, call)
            .map_err(|e| e.into_fatal())
    }

    fn retrying_txn(
        &self,
        operation: &'static str,
        call: impl Fn() -> Result<(), KafkaError>,
    ) -> Result<(), CommitError> {
        self.retrying_txn_at_most(operation, MAX_RETRIES, call)
    }

    fn retrying_txn_at_most(
        &self,
        operation: &'static str,
        max_retries: u32,
        call: impl Fn() -> Result<(), KafkaError>,
    ) -> Result<(), CommitError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match call() {
                Ok(()) => return Ok(()),
                Err(error) => match classify(&error) {
                    ErrorClass::Retriable if attempt < max_retries => {
                        tracing::warn!(operation, attempt, error = %error, "retriable; retrying");
                        std::thread::sleep(Duration::from_millis(100 * u64::from(attempt)));
                    }
                    ErrorClass::Retriable => {
                        return Err(CommitError {
                            operation,
                            class: ErrorClass::Fatal,
                            error,
                            attempts: attempt,
                        });
                    }
                    class => {
                        return Err(CommitError {
                            operation,
                            class,
                            error,
                            attempts: attempt,
                        });
                    }
                },
            }
        }
    }
}

/// A failed commit step and what to do about it.
#[derive(Debug)]
pub struct CommitError {
    /// The call that failed.
    pub operation: &'static str,
    /// Abort-and-rewind or stop.
    pub class: ErrorClass,
    /// The error.
    pub error: KafkaError,
    /// Attempts made.
    pub attempts: u32,
}

impl CommitError {
    /// An error classified by [`classify`], on the first attempt.
    pub fn new(operation: &'static str, error: KafkaError) -> Self {
        CommitError {
            operation,
            class: classify(&error),
            error,
            attempts: 1,
        }
    }

    /// The process-stopping form of this error.
    pub fn into_fatal(self) -> PipelineError {
        if self.attempts > 1 {
            PipelineError::RetriesExhausted {
                operation: self.operation,
                attempts: self.attempts,
                source: self.error,
            }
        } else {
            PipelineError::Kafka {
                operation: self.operation,
                source: self.error,
            }
        }
    }
}

/// Runs `call` on a thread of its own and waits at most `limit` for its result; `None` when it
/// has not returned by then (the thread is left to finish, or not, on its own). A thread that
/// cannot be started runs the call here.
fn bounded<T: Send + 'static>(
    limit: Duration,
    call: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (done, result) = std::sync::mpsc::channel();
    let call = std::sync::Arc::new(Mutex::new(Some(call)));
    let on_thread = Arc::clone(&call);
    let spawned = std::thread::Builder::new()
        .name("txn-call".into())
        .spawn(move || {
            let call = on_thread.lock().ok().and_then(|mut c| c.take());
            if let Some(call) = call {
                let _ = done.send(call());
            }
        });
    if spawned.is_err() {
        let call = call.lock().ok().and_then(|mut c| c.take())?;
        return Some(call());
    }
    result.recv_timeout(limit).ok()
}

/// The value of header `key` of a record, as UTF-8 (readers of the output and dead-letter
/// topics use it; so do the tests).
pub fn header<'a>(m: &'a OwnedMessage, key: &str) -> Option<&'a str> {
    m.headers()?
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_returns_a_prompt_result_and_gives_up_on_a_blocked_call() {
        assert_eq!(bounded(Duration::from_secs(5), || 7), Some(7));
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        // The call can only end once `release` is dropped, after `bounded` has returned.
        let result = bounded(Duration::from_millis(100), move || blocked.recv().is_ok());
        assert_eq!(result, None, "a call still blocked is given up");
        drop(release);
    }
}
