//! Kafka source and sink, transactions, dead letters, shutdown.
//!
//! ## The loop
//! [`run`] owns one consumer and one producer and repeats, on its own thread:
//! 1. **collect** a batch: up to `batch.max_records` records, or `batch.max_ms` after the first
//!    ([`source::Source::poll_batch`]); a shutdown request ends collection early;
//! 2. **extract** it on the worker pool, all cores, results kept in input order ([`worker`]);
//! 3. **settle** the previous batch: wait for its commit (step 5) and account for it;
//! 4. **send** it: `begin_transaction`, each article's records in order (keyed by timeline,
//!    with the contract and CloudEvents headers), each poison record to the dead-letter topic
//!    ([`dlq`]);
//! 5. **commit** it on a thread of its own: `send_offsets_to_transaction` with the consumer's
//!    group metadata and `commit_transaction` ([`sink`]), while the loop goes on with step 1.
//!
//! Steps 1 and 2 of one batch thus overlap step 5 of the one before, which hides most of the
//! commit round trips; there is still only one transaction at a time, and a rebalance waits for
//! the commit in flight ([`source::CommitGate`]). Every input offset of a batch is committed
//! together with either its records or its dead letter, or not at all.

//! ## Errors (librdkafka's model, [`error::classify`])
//! - retriable: the same call is retried (bounded);
//! - abort-required: the transaction is aborted and the consumer rewound to the committed offsets
//!   of its partitions, so the batch is read and processed again;
//! - fatal (fenced, authorisation, librdkafka fatal, retries exhausted): the loop stops and [`run`]
//!   returns the error; the binary exits non-zero. Nothing uncommitted is visible to
//!   read_committed consumers, and a restart resumes from the committed offsets.
//!
//! ## Rebalances
//! librdkafka runs rebalance callbacks inside poll, on the collecting thread. The callback first
//! waits for the commit in flight, so partitions are only given up between transactions. What
//! was collected before a rebalance is dropped as the rebalance is seen, and only messages valid
//! under the new assignment are processed ([`source`] explains why no seek is needed). When the
//! commit in flight fails, the batch collected meanwhile is dropped with it and both are read
//! again after the rewind.

//! ## Shutdown
//! [`shutdown::Shutdown`] is checked between polls. Collection stops, the batch in hand is
//! published and committed (and the commit in flight awaited), the consumer leaves the group,
//! and [`run`] returns `Ok`.
//!
//! ## At least once
//! With `guarantee = "at_least_once"` the producer is idempotent but not transactional; step 5
//! runs inline: it waits for every acknowledgement, then commits the offsets. A crash between the two
//! duplicates the batch's output; nothing is lost.

pub mod demo;
pub mod dlq;
pub mod error;
pub mod events;
pub mod replay;
pub mod shutdown;
pub mod sink;
pub mod source;
pub mod stall;
pub mod status;
pub mod timelines;
pub mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use error::{ErrorClass, PipelineError};
use events::{BatchCommitted, BatchRewound};
use shutdown::Shutdown;
use sink::{CommitError, Sent, Sink};
use source::{Batch, Source};
use status::PipelineStatus;
use worker::{Outcome, WorkerPool};

/// Most restarts of one stage within [`RESTART_WINDOW`]; one more error stops the process.
const MAX_RESTARTS: usize = 3;
/// The window [`MAX_RESTARTS`] counts in.
const RESTART_WINDOW: Duration = Duration::from_secs(300);

/// Runs a stage (`run`) and starts it again after a [`PipelineError::restartable`] error: a new
/// producer (whose `init_transactions` takes over the transactional id) and a new consumer
/// (which resumes from the committed offsets; the timeline stage reads its state back from the
/// changelog), as a restarted process would, without dropping the other stage or the HTTP
/// server. At most [`MAX_RESTARTS`] in [`RESTART_WINDOW`], so that two instances configured
/// with one transactional id do not fence each other forever.
pub fn supervise(
    stage: &'static str,
    shutdown: &Shutdown,
    mut run: impl FnMut() -> Result<(), PipelineError>,
) -> Result<(), PipelineError> {
    let mut recent: Vec<Instant> = Vec::new();
    loop {
        match run() {
            Err(error) if error.restartable() && shutdown.is_shutdown() => {
                // Nothing to restart for: what the stage had not committed is read again by the
                // next instance (its transaction was not committed), so the exit is clean.
                tracing::warn!(
                    stage,
                    error = %error,
                    "stage ended on a restartable error during shutdown; its last batch was not \
                     committed and is processed again by the next instance"
                );
                return Ok(());
            }
            Err(error) if error.restartable() => {
                let now = Instant::now();
                recent.retain(|t| now.duration_since(*t) < RESTART_WINDOW);
                if recent.len() >= MAX_RESTARTS {
                    tracing::error!(
                        stage,
                        error = %error,
                        restarts_in_window = recent.len(),
                        "stage stopped on a fatal error: too many restarts"
                    );
                    return Err(error);
                }
                recent.push(now);
                tracing::warn!(
                    stage,
                    error = %error,
                    restarts_in_window = recent.len(),
                    "stage restarting with a new producer and consumer"
                );
                metrics::counter!(crate::telemetry::STAGE_RESTARTS, "stage" => stage).increment(1);
                std::thread::sleep(Duration::from_secs(1));
                if shutdown.is_shutdown() {
                    return Ok(());
                }
            }
            other => return other,
        }
    }
}

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
    // Exactly once, batch N commits on a thread of its own while batch N+1 is collected and
    // extracted; at least once, the offsets commit goes through the consumer, so it stays inline.
    let overlap = config.kafka.guarantee == crate::config::Guarantee::ExactlyOnce;
    let result: Result<(), PipelineError> = std::thread::scope(|scope| {
        let mut inflight: Option<InFlight<'_>> = None;
        loop {
            if shutdown.is_shutdown() {
                if let Some(prev) = inflight.take() {
                    settle(prev, &status, &sink, &source)?;
                }
                return Ok(());
            }
            let t0 = Instant::now();
            let batch = source.poll_batch(
                config.batch.max_records,
                max_wait,
                inflight.is_some(),
                &shutdown,
            )?;
            let t1 = Instant::now();
            let outcomes = if batch.messages.is_empty() {
                Vec::new()
            } else {
                workers.process(&batch.messages)
            };
            let t2 = Instant::now();
            if let Some(prev) = inflight.take()
                && !settle(prev, &status, &sink, &source)?
            {
                // The previous batch was aborted and the consumer rewound: this batch, read
                // after it, is read again too.
                continue;
            }
            if batch.messages.is_empty() {
                continue;
            }
            let group = Arc::new(source.group_metadata()?);
            let inputs = batch.messages.len();
            let sent = match produce(&sink, &batch, &outcomes) {
                Ok(sent) => sent,
                Err(e) => {
                    rewind_after(e, &sink, &source, inputs)?;
                    continue;
                }
            };
            let offsets = batch.next_offsets().map_err(|e| PipelineError::Kafka {
                operation: "offsets",
                source: e,
            })?;
            tracing::trace!(
                inputs,
                collect_ms = (t1 - t0).as_millis() as u64,
                extract_ms = (t2 - t1).as_millis() as u64,
                settle_and_send_ms = t2.elapsed().as_millis() as u64,
                "batch sent"
            );
            drop(batch);
            let guard = source.gate().open();
            let (sink, source) = (&sink, &source);
            let commit = move || {
                let _guard = guard;
                let started = Instant::now();
                sink.commit(&offsets, &group, source)
                    .map(|()| (sent, started.elapsed()))
            };
            let prev = InFlight {
                inputs,
                commit: if overlap {
                    Commit::Running(scope.spawn(commit))
                } else {
                    Commit::Done(commit())
                },
            };
            if overlap {
                inflight = Some(prev);
            } else {
                settle(prev, &status, sink, source)?;
            }
        }
    });
    source.close();
    sink.close();
    status.set_producer_ready(false);
    match &result {
        Ok(()) => tracing::info!("pipeline stopped"),
        // The supervisor ([`supervise`]) restarts the stage after a restartable error; it logs
        // the end as fatal only when it gives up.
        Err(error) if error.restartable() => {
            tracing::warn!(error = %error, "pipeline stopped on a restartable error")
        }
        Err(error) => tracing::error!(error = %error, "pipeline stopped on a fatal error"),
    }
    result
}

/// A batch whose records are sent and whose commit was started.
struct InFlight<'scope> {
    /// Input records of the batch.
    inputs: usize,
    commit: Commit<'scope>,
}

type CommitResult = Result<(Sent, Duration), CommitError>;

enum Commit<'scope> {
    Running(std::thread::ScopedJoinHandle<'scope, CommitResult>),
    Done(CommitResult),
}

/// Waits for an in-flight commit and accounts for it. `Ok(false)`: it was aborted and the
/// consumer rewound to the committed offsets; `Err`: a fatal error.
fn settle(
    batch: InFlight<'_>,
    status: &PipelineStatus,
    sink: &Sink,
    source: &Source,
) -> Result<bool, PipelineError> {
    let result = match batch.commit {
        Commit::Running(handle) => handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        Commit::Done(result) => result,
    };
    match result {
        Ok((sent, elapsed)) => {
            status.add_committed_inputs(batch.inputs as u64);
            BatchCommitted {
                articles: sent.articles,
                records: sent.records,
                dead_letters: sent.dead_letters,
                elapsed,
            }
            .emit();
            Ok(true)
        }
        Err(e) => {
            rewind_after(e, sink, source, batch.inputs)?;
            Ok(false)
        }
    }
}

/// After a failed send or commit: a fatal error ends the loop; otherwise the transaction is
/// aborted and the consumer rewound, so the batch is read and processed again.
fn rewind_after(
    e: CommitError,
    sink: &Sink,
    source: &Source,
    inputs: usize,
) -> Result<(), PipelineError> {
    if e.class == ErrorClass::Fatal {
        return Err(e.into_fatal());
    }
    BatchRewound {
        reason: "abort_required",
        inputs,
        error: Some(&format!("{}: {}", e.operation, e.error)),
    }
    .emit();
    sink.abort()?;
    source.rewind()
}

/// Begins the batch's transaction and sends each article's records (in order) and each dead
/// letter.
fn produce(sink: &Sink, batch: &Batch, outcomes: &[Outcome]) -> Result<Sent, CommitError> {
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
    Ok(sent)
}
