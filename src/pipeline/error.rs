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
    /// The worker thread pool could not start.
    #[error("cannot start {threads} worker threads: {message}")]
    Workers {
        /// Requested thread count.
        threads: usize,
        /// The error from the thread pool.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

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
