//! Telemetry events: each is one type whose `emit()` writes the log line and bumps the metric,
//! so a metric never drifts from its log line. Labels are bounded (kinds, partitions).

use std::time::Duration;

use crate::telemetry;

/// A batch's outcome was committed.
#[derive(Debug)]
pub struct BatchCommitted {
    /// Input records that decoded into an article.
    pub articles: u64,
    /// Timeline records published.
    pub records: u64,
    /// Dead letters published, by kind.
    pub dead_letters: Vec<(&'static str, u64)>,
    /// Time the commit took.
    pub elapsed: Duration,
}

impl BatchCommitted {
    /// Logs and counts.
    pub fn emit(&self) {
        let dead: u64 = self.dead_letters.iter().map(|(_, n)| n).sum();
        tracing::debug!(
            articles = self.articles,
            records = self.records,
            dead_letters = dead,
            commit_ms = self.elapsed.as_millis() as u64,
            "batch committed"
        );
        metrics::counter!(telemetry::ARTICLES_CONSUMED).increment(self.articles);
        metrics::counter!(telemetry::RECORDS_PRODUCED).increment(self.records);
        for (kind, n) in &self.dead_letters {
            metrics::counter!(telemetry::DEAD_LETTERS, "kind" => *kind).increment(*n);
        }
        metrics::histogram!(telemetry::TRANSACTION_COMMIT_SECONDS)
            .record(self.elapsed.as_secs_f64());
    }
}

/// One input record was routed to the dead-letter topic (logged when produced; counted when
/// committed, by [`BatchCommitted`]).
#[derive(Debug)]
pub struct DeadLettered<'a> {
    /// Input topic.
    pub topic: &'a str,
    /// Input partition.
    pub partition: i32,
    /// Input offset.
    pub offset: i64,
    /// Bounded error kind.
    pub kind: &'static str,
    /// Error message.
    pub message: &'a str,
}

impl DeadLettered<'_> {
    /// Logs.
    pub fn emit(&self) {
        tracing::warn!(
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            kind = self.kind,
            error = self.message,
            "dead-lettering input record"
        );
    }
}

/// One article was extracted.
#[derive(Debug)]
pub struct ArticleExtracted {
    /// Extraction time.
    pub elapsed: Duration,
}

impl ArticleExtracted {
    /// Records the histogram (no log line: one per article would be noise).
    pub fn emit(&self) {
        metrics::histogram!(telemetry::EXTRACT_SECONDS).record(self.elapsed.as_secs_f64());
    }
}

/// A batch was abandoned and the consumer rewound to the committed offsets.
#[derive(Debug)]
pub struct BatchRewound<'a> {
    /// `rebalance`, `abort_required`, `delivery_failed`, `commit_failed`.
    pub reason: &'static str,
    /// Input records that will be read again.
    pub inputs: usize,
    /// The error, if any.
    pub error: Option<&'a str>,
}

impl BatchRewound<'_> {
    /// Logs and counts.
    pub fn emit(&self) {
        match self.error {
            Some(error) => tracing::warn!(
                reason = self.reason,
                inputs = self.inputs,
                error,
                "batch abandoned; rewinding to committed offsets"
            ),
            None => tracing::info!(
                reason = self.reason,
                inputs = self.inputs,
                "batch abandoned; rewinding to committed offsets"
            ),
        }
        metrics::counter!(telemetry::TRANSACTIONS_ABORTED, "reason" => self.reason).increment(1);
    }
}

/// Lag of one input partition, from librdkafka's statistics.
#[derive(Debug)]
pub struct ConsumerLag {
    /// The stage whose consumer it is (`extraction` or `timelines`).
    pub stage: &'static str,
    /// Input partition.
    pub partition: i32,
    /// Messages between the consumer position and the end of the partition.
    pub lag: i64,
}

impl ConsumerLag {
    /// Sets the gauge.
    pub fn emit(&self) {
        metrics::gauge!(
            telemetry::CONSUMER_LAG,
            "stage" => self.stage,
            "partition" => self.partition.to_string()
        )
        .set(self.lag.max(0) as f64);
    }
}
