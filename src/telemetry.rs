//! Logging setup and the metric names.
//!
//! Logs go through `tracing` (librdkafka's own log lines arrive via the `log` bridge). Metrics go
//! through the `metrics` facade into one process-wide Prometheus recorder, rendered by `/metrics`
//! on the service's own HTTP server (no second listener).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Input records read and decoded into an article whose outcome was committed.
pub const ARTICLES_CONSUMED: &str = "dateline_articles_consumed_total";
/// Timeline records committed to the output topic.
pub const RECORDS_PRODUCED: &str = "dateline_records_produced_total";
/// Input records committed to the dead-letter topic, labelled by `kind`.
pub const DEAD_LETTERS: &str = "dateline_dead_letters_total";
/// Time to extract one article's timeline.
pub const EXTRACT_SECONDS: &str = "dateline_extract_seconds";
/// Time to commit one batch (transaction commit, or flush + offset commit).
pub const TRANSACTION_COMMIT_SECONDS: &str = "dateline_transaction_commit_seconds";
/// Transactions aborted and batches rewound, labelled by `reason`.
pub const TRANSACTIONS_ABORTED: &str = "dateline_transactions_aborted_total";
/// High watermark minus consumer position, labelled by `partition`.
pub const CONSUMER_LAG: &str = "dateline_consumer_lag_messages";
/// Counter: events-topic records folded into timelines.
pub const TIMELINE_EVENTS_CONSUMED: &str = "dateline_timeline_events_consumed_total";
/// Counter: timeline entry versions published to the output topic.
pub const TIMELINE_ENTRIES_PRODUCED: &str = "dateline_timeline_entries_produced_total";
/// Counter: late changes published to the late topic (watermark mode).
pub const TIMELINE_LATE: &str = "dateline_timeline_late_total";
/// Counter: unreadable events-topic records skipped.
pub const TIMELINE_SKIPPED: &str = "dateline_timeline_skipped_total";
/// Counter: timeline changes too large to publish or log even without sources (skipped).
pub const TIMELINE_OVERSIZE: &str = "dateline_timeline_oversize_total";
/// Counter: changelog records read back while restoring state.
pub const TIMELINE_RESTORED: &str = "dateline_timeline_restored_records_total";
/// Gauge: timeline entries held by this instance.
pub const TIMELINE_ENTRIES: &str = "dateline_timeline_entries";
/// Counter: stages started again after losing their transactional state, labelled by `stage`.
pub const STAGE_RESTARTS: &str = "dateline_stage_restarts_total";
/// Counter: on-disk timeline state errors (the state then stays in memory).
pub const TIMELINE_STATE_ERRORS: &str = "dateline_timeline_state_errors_total";

/// Histogram buckets of the `_seconds` metrics: 100 µs to 30 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `log.level` is not a valid filter.
    #[error("invalid log.level {level:?}: {message}")]
    Filter {
        /// The configured filter.
        level: String,
        /// The parser's complaint.
        message: String,
    },
    /// Another metrics recorder was installed first.
    #[error("cannot install the Prometheus recorder: {0}")]
    Recorder(String),
}

/// Installs the global `tracing` subscriber. A second call (tests) leaves the first in place.
pub fn init_logging(config: &LogConfig) -> Result<(), TelemetryError> {
    let filter = EnvFilter::try_new(&config.level).map_err(|e| TelemetryError::Filter {
        level: config.level.clone(),
        message: e.to_string(),
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Err only means a subscriber is already set, which is fine for tests and the demo.
    let _ = match config.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    Ok(())
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics() -> Result<PrometheusHandle, TelemetryError> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Buckets make the `_seconds` metrics real Prometheus histograms (aggregatable
            // across instances) instead of the exporter's default client-side summaries.
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| e.to_string())?;
            describe();
            Ok(handle)
        })
        .clone()
        .map_err(TelemetryError::Recorder)
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        ARTICLES_CONSUMED,
        "Input records decoded into an article and committed."
    );
    describe_counter!(
        RECORDS_PRODUCED,
        "Timeline records committed to the output topic."
    );
    describe_counter!(
        DEAD_LETTERS,
        "Input records committed to the dead-letter topic."
    );
    describe_histogram!(
        EXTRACT_SECONDS,
        Unit::Seconds,
        "Time to extract one article's timeline."
    );
    describe_histogram!(
        TRANSACTION_COMMIT_SECONDS,
        Unit::Seconds,
        "Time to commit one batch."
    );
    describe_counter!(
        TRANSACTIONS_ABORTED,
        "Batches aborted and rewound for reprocessing."
    );
    describe_gauge!(
        CONSUMER_LAG,
        "High watermark minus consumer position, per input partition."
    );
}
