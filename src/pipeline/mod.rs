//! Kafka source and sink, transactions, dead letters, shutdown.
//!
//! ## The loop
//! [`run`] owns one consumer and one producer and repeats, on its own thread:
//! 1. **collect** a batch: up to `batch.max_records` records, or `batch.max_ms` after the first
//!    ([`source::Source::poll_batch`]); a shutdown request ends collection early;
//! 2. **extract** it on the worker pool, all cores, results kept in input order ([`worker`]);
//! 3. **publish** it: `begin_transaction`, each article's records in order (keyed by timeline,
//!    with the contract and CloudEvents headers), each poison record to the dead-letter topic
//!    ([`dlq`]), then `send_offsets_to_transaction` with the consumer's group metadata and
//!    `commit_transaction` ([`sink`]).
//!
//! Every input offset of the batch is therefore committed together with either its records or its
//! dead letter, or not at all.
//!
//! ## Errors (librdkafka's model, [`error::classify`])
//! - retriable: the same call is retried (bounded);
//! - abort-required: the transaction is aborted and the consumer rewound to the committed offsets
//!   of its partitions, so the batch is read and processed again;
//! - fatal (fenced, authorisation, librdkafka fatal, retries exhausted): the loop stops and [`run`]
//!   returns the error; the binary exits non-zero. Nothing uncommitted is visible to
//!   read_committed consumers, and a restart resumes from the committed offsets.
//!
//! ## Rebalances
//! No transaction is open while the consumer polls, and librdkafka runs rebalance callbacks only
//! inside poll: partitions are only given up between transactions. What was collected before a
//! rebalance is dropped as the rebalance is seen, and only messages valid under the new
//! assignment are processed ([`source`] explains why no seek is needed).
//!
//! ## Shutdown
//! [`shutdown::Shutdown`] is checked between polls. Collection stops, the batch in hand is
//! published and committed, the consumer leaves the group, and [`run`] returns `Ok`.
//!
//! ## At least once
//! With `guarantee = "at_least_once"` the producer is idempotent but not transactional; step 3
//! sends, waits for every acknowledgement, then commits the offsets. A crash between the two
//! duplicates the batch's output; nothing is lost.

pub mod demo;
pub mod dlq;
pub mod error;
pub mod events;
pub mod replay;
pub mod shutdown;
pub mod sink;
pub mod source;
pub mod status;
pub mod timelines;
pub mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::ConsumerGroupMetadata;

use crate::config::Config;
use error::{ErrorClass, PipelineError};
use events::{BatchCommitted, BatchRewound};
use shutdown::Shutdown;
use sink::{CommitError, Sent, Sink};
use source::{Batch, Source};
use status::PipelineStatus;
use worker::{Outcome, WorkerPool};

/// Runs the pipeline until `shutdown` fires (then returns `Ok` after committing the batch in
/// hand) or a fatal error. Blocking: call it on a dedicated thread.
pub fn run(
    config: &Config,
    shutdown: Shutdown,
    status: Arc<PipelineStatus>,
) -> Result<(), PipelineError> {
    let mut workers = WorkerPool::new(
        config.pipeline.worker_threads,
        config.pipeline.max_message_bytes,
    )?;
    if config.timelines.enabled {
        workers = workers.with_fanout(worker::Fanout {
            input_topic: config.topics.input.clone(),
            kinds: config.timelines.kinds.clone(),
            aliases: timelines::load_aliases(&config.timelines)?,
        });
    }
    if config.timelines.enabled {
        timelines::ensure_topics(config)?;
    }
    let sink = Sink::new(config)?;
    sink.init()?;
    status.set_producer_ready(true);
    let source = Source::new(config, Arc::clone(&status))?;
    tracing::info!(
        input = %config.topics.input,
        output = %config.topics.output,
        dlq = %config.topics.dlq_topic(),
        guarantee = %config.kafka.guarantee,
        "pipeline started"
    );
    let max_wait = Duration::from_millis(config.batch.max_ms);
    let result = (|| {
        loop {
            if shutdown.is_shutdown() {
                return Ok(());
            }
            let batch = source.poll_batch(config.batch.max_records, max_wait, &shutdown)?;
            if batch.messages.is_empty() {
                continue;
            }
            let outcomes = workers.process(&batch.messages);
            let group = source.group_metadata()?;
            match publish(&source, &sink, &batch, &outcomes, &group) {
                Ok((sent, elapsed)) => {
                    status.add_committed_inputs(batch.messages.len() as u64);
                    BatchCommitted {
                        articles: sent.articles,
                        records: sent.records,
                        dead_letters: sent.dead_letters,
                        elapsed,
                    }
                    .emit();
                }
                Err(e) if e.class == ErrorClass::Fatal => return Err(e.into_fatal()),
                Err(e) => {
                    BatchRewound {
                        reason: "abort_required",
                        inputs: batch.messages.len(),
                        error: Some(&format!("{}: {}", e.operation, e.error)),
                    }
                    .emit();
                    sink.abort()?;
                    source.rewind()?;
                }
            }
        }
    })();
    source.close();
    sink.close();
    status.set_producer_ready(false);
    match &result {
        Ok(()) => tracing::info!("pipeline stopped"),
        Err(error) => tracing::error!(error = %error, "pipeline stopped on a fatal error"),
    }
    result
}

/// Publishes one batch and commits it with its offsets.
fn publish(
    source: &Source,
    sink: &Sink,
    batch: &Batch,
    outcomes: &[Outcome],
    group: &ConsumerGroupMetadata,
) -> Result<(Sent, Duration), CommitError> {
    let offsets = batch
        .next_offsets()
        .map_err(|e| CommitError::new("offsets", e))?;
    sink.begin()
        .map_err(|e| CommitError::new("begin_transaction", e))?;
    let mut sent = Sent::default();
    for (message, outcome) in batch.messages.iter().zip(outcomes) {
        let result = match outcome {
            Outcome::Article(article) => sink.send_article(message, article, &mut sent),
            Outcome::Poison(poison) => sink.send_dead_letter(message, poison, &mut sent),
        };
        result.map_err(|e| CommitError::new("produce", e))?;
    }
    let started = Instant::now();
    sink.commit(&offsets, group, source)?;
    Ok((sent, started.elapsed()))
}
