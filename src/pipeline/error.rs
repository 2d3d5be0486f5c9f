//! Pipeline errors and the librdkafka error classes that decide what happens next.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// How to react to a Kafka error, following librdkafka's transactional error model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try the same call again (e.g. a commit that timed out).
    Retriable,
    /// Abort the transaction, rewind the consumer to its committed offsets, reprocess.
    AbortRequired,
    /// The producer (or consumer) cannot continue: stop cleanly and exit non-zero.
    Fatal,
}

/// Classifies an error returned by a producer or consumer call.
pub fn classify(error: &KafkaError) -> ErrorClass {
    if let KafkaError::Transaction(e) = error {
        return if e.is_fatal() {
            ErrorClass::Fatal
        } else if e.txn_requires_abort() {
            ErrorClass::AbortRequired
        } else if e.is_retriable() {
            ErrorClass::Retriable
        } else {
            // Neither retriable nor abortable: librdkafka says the application is in a state it
            // cannot recover from (e.g. a call in the wrong state).
            ErrorClass::Fatal
        };
    }
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::Fatal) => ErrorClass::Fatal,
        Some(
            RDKafkaErrorCode::ProducerFenced
            | RDKafkaErrorCode::InvalidProducerEpoch
            | RDKafkaErrorCode::TransactionalIdAuthorizationFailed
            | RDKafkaErrorCode::Authentication
            | RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::GroupAuthorizationFailed,
        ) => ErrorClass::Fatal,
        _ => ErrorClass::AbortRequired,
    }
}

/// Why the pipeline stopped with an error. Every variant is fatal for the process: recoverable
/// errors are handled inside the loop (retry, or abort and rewind).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A setting that only shows its problem at run time (an unreadable alias table, topics
    /// with mismatched partition counts).
    #[error("invalid configuration key `{key}`: {message}")]
    Config {
        /// Dotted key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A Kafka client could not be created (bad property, unreachable is not an error here).
    #[error("cannot create the Kafka {client}: {source}")]
    Client {
        /// `consumer` or `producer`.
        client: &'static str,
        /// The librdkafka error.
        source: KafkaError,
    },
    /// A fatal Kafka error: fenced producer, authorisation, or librdkafka's fatal state.
    #[error("fatal Kafka error during {operation}: {source}")]
    Kafka {
        /// What the pipeline was doing.
        operation: &'static str,
        /// The librdkafka error.
        source: KafkaError,
    },
    /// A retriable error kept failing.
    #[error("{operation} still failing after {attempts} attempts: {source}")]
    RetriesExhausted {
        /// What the pipeline was doing.
        operation: &'static str,
        /// How many times it tried.
        attempts: u32,
        /// The last error.
        source: KafkaError,
    },
    /// The consumer is not in a group (no group metadata for the transaction).
    #[error("the consumer has no group metadata; is `kafka.group_id` set?")]
    NoGroupMetadata,
    /// librdkafka stopped fetching an assigned partition that the broker serves
    /// ([`crate::pipeline::stall`]); restartable: a new consumer fetches it again.
    #[error("consumer of {topic} stopped fetching partition(s) {partitions}")]
    Stalled {
        /// The stage's input topic.
        topic: String,
        /// Each stalled partition, with what the statistics said of it.
        partitions: String,
    },
    /// An abort found messages still in flight after waiting for them; restartable: a new
    /// producer fences whatever the old one may still write.
    #[error("{in_flight} message(s) still in flight after {waited:?}; the producer is replaced")]
    Undrained {
        /// Messages (and reports) the producer still had.
        in_flight: i32,
        /// How long the abort waited.
        waited: std::time::Duration,
    },
    /// A transactional call did not return (librdkafka#5456); restartable: a new producer.
    #[error("{operation} did not return within its time-out; the producer is replaced")]
    Stuck {
        /// The call.
        operation: &'static str,
    },
    /// A changelog partition still held an undecided transaction after the broker should have
    /// aborted it; restartable: the restore is tried again.
    #[error(
        "{topic}/{partition}: records up to {end} still undecided (stable to {stable}) after {waited:?}"
    )]
    Undecided {
        /// The changelog topic.
        topic: String,
        /// Its partition.
        partition: i32,
        /// The last stable offset.
        stable: i64,
        /// The high watermark the restore waits for.
        end: i64,
        /// How long it waited.
        waited: std::time::Duration,
    },
    /// The worker thread pool could not start.
    #[error("cannot start {threads} worker threads: {message}")]
    Workers {
        /// Requested thread count.
        threads: usize,
        /// The error from the thread pool.
        message: String,
    },
}

impl PipelineError {
    /// Whether a stage that stopped on this error can start again with a new producer: the
    /// producer's transactional state is lost (fenced, invalid epoch or state, librdkafka's fatal
    /// error), as after a broker restart during a commit, when the coordinator has aborted the
    /// transaction and bumped the epoch. `init_transactions` on a new producer with the same
    /// transactional id resolves it. Configuration and authorization errors are not restartable.
    pub fn restartable(&self) -> bool {
        let source = match self {
            PipelineError::Kafka { source, .. }
            | PipelineError::RetriesExhausted { source, .. } => source,
            PipelineError::Stalled { .. }
            | PipelineError::Undrained { .. }
            | PipelineError::Stuck { .. }
            | PipelineError::Undecided { .. } => return true,
            _ => return false,
        };
        let code = match source {
            KafkaError::Transaction(e) => Some(e.code()),
            other => other.rdkafka_error_code(),
        };
        // Lost transactional state, or a broker that did not answer in time or was not yet
        // leading its partitions again (a look-up of the committed offsets or a watermark
        // during a rewind or a restore, right after a broker restart): a new consumer resumes
        // from the committed offsets without either.
        matches!(
            code,
            Some(
                RDKafkaErrorCode::ProducerFenced
                    | RDKafkaErrorCode::InvalidProducerEpoch
                    | RDKafkaErrorCode::InvalidTransactionalState
                    | RDKafkaErrorCode::Fatal
                    | RDKafkaErrorCode::Fenced
                    | RDKafkaErrorCode::State
                    | RDKafkaErrorCode::OperationTimedOut
                    | RDKafkaErrorCode::RequestTimedOut
                    | RDKafkaErrorCode::BrokerTransportFailure
                    | RDKafkaErrorCode::AllBrokersDown
                    | RDKafkaErrorCode::NetworkException
                    | RDKafkaErrorCode::CoordinatorNotAvailable
                    | RDKafkaErrorCode::NotCoordinator
                    | RDKafkaErrorCode::CoordinatorLoadInProgress
                    | RDKafkaErrorCode::LeaderNotAvailable
                    | RDKafkaErrorCode::NotLeaderForPartition
                    | RDKafkaErrorCode::FencedLeaderEpoch
                    | RDKafkaErrorCode::UnknownLeaderEpoch
                    | RDKafkaErrorCode::NotEnoughReplicas
                    | RDKafkaErrorCode::UnstableOffsetCommit
            )
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_transactional_state_is_restartable_and_configuration_is_not() {
        let kafka = |code| PipelineError::Kafka {
            operation: "abort_transaction",
            source: KafkaError::MessageProduction(code),
        };
        assert!(kafka(RDKafkaErrorCode::ProducerFenced).restartable());
        assert!(kafka(RDKafkaErrorCode::InvalidTransactionalState).restartable());
        assert!(!kafka(RDKafkaErrorCode::TransactionalIdAuthorizationFailed).restartable());
        let rewind = PipelineError::Kafka {
            operation: "rewind to committed offsets",
            source: KafkaError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut),
        };
        assert!(rewind.restartable(), "a broker too slow to answer");
        let restore = PipelineError::Kafka {
            operation: "restore timeline state",
            source: KafkaError::MetadataFetch(RDKafkaErrorCode::NotLeaderForPartition),
        };
        assert!(restore.restartable(), "a broker not leading again yet");
        assert!(
            !PipelineError::Config {
                key: "kafka.brokers",
                message: String::new()
            }
            .restartable()
        );
    }

    #[test]
    fn fenced_is_fatal_and_local_errors_abort() {
        assert_eq!(
            classify(&KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)),
            ErrorClass::AbortRequired
        );
        assert_eq!(
            classify(&KafkaError::MessageProduction(
                RDKafkaErrorCode::ProducerFenced
            )),
            ErrorClass::Fatal
        );
        assert_eq!(
            classify(&KafkaError::Global(RDKafkaErrorCode::Fatal)),
            ErrorClass::Fatal
        );
    }
}
