//! The worker pool: decodes and extracts a polled batch on all cores, keeping input order.
//!
//! Extraction is CPU-bound and pure, so a batch is split across a dedicated rayon pool and the
//! results are collected back *in input order* (`par_iter().map().collect()` preserves it). The
//! sink then emits them in that order, so per-partition order is never broken.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;
use rdkafka::Message;
use rdkafka::message::OwnedMessage;

use crate::article::{self, Fallback};
use crate::pipeline::error::PipelineError;
use crate::pipeline::events::ArticleExtracted;
use crate::timeline;

/// What one input record turned into.
#[derive(Debug)]
pub enum Outcome {
    /// An article and its records (possibly none), serialised and ready to send.
    Article(Extracted),
    /// A record that is not an article, or whose output cannot be published: dead-letter it.
    Poison(Poison),
}

/// An article's timeline, ready for the sink.
#[derive(Debug)]
pub struct Extracted {
    /// Article id (also the output key, the timeline).
    pub article_id: String,
    /// Publication time, for the CloudEvents `ce_time` header.
    pub published_at: DateTime<FixedOffset>,
    /// Records in chronological order.
    pub records: Vec<EncodedRecord>,
}

/// One serialised timeline record.
#[derive(Debug)]
pub struct EncodedRecord {
    /// Kafka key: the record's timeline.
    pub key: String,
    /// `event_id`, for the CloudEvents `ce_id` header.
    pub event_id: String,
    /// JSON value.
    pub value: Vec<u8>,
    /// Timeline keys the record also goes to on the events topic (empty when the timeline
    /// stage is off).
    pub timelines: Vec<String>,
}

/// How records fan out to timelines.
#[derive(Debug, Clone)]
pub struct Fanout {
    /// Input topic, for the global timeline's key.
    pub input_topic: String,
    /// Which timelines.
    pub kinds: Vec<crate::timeline::keys::TimelineKind>,
    /// Names to entity keys.
    pub aliases: crate::timeline::keys::Aliases,
}

/// Why a record is dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    /// Bounded label: a [`crate::article::DecodeError::kind`], `record_too_large` or
    /// `extract_panic`.
    pub kind: &'static str,
    /// Human-readable reason.
    pub message: String,
}

/// A fixed-size pool of extraction threads.
pub struct WorkerPool {
    pool: rayon::ThreadPool,
    max_message_bytes: usize,
    fanout: Option<Fanout>,
}

impl WorkerPool {
    /// Starts `threads` workers (`0`: one per core). `max_message_bytes` bounds input values and
    /// output records.
    pub fn new(threads: usize, max_message_bytes: usize) -> Result<Self, PipelineError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("dateline-worker-{i}"))
            .build()
            .map_err(|e| PipelineError::Workers {
                threads,
                message: e.to_string(),
            })?;
        Ok(WorkerPool {
            pool,
            max_message_bytes,
            fanout: None,
        })
    }

    /// Also computes each record's timeline keys.
    pub fn with_fanout(mut self, fanout: Fanout) -> Self {
        self.fanout = Some(fanout);
        self
    }

    /// Processes a batch; the result has one outcome per message, in the same order.
    pub fn process(&self, batch: &[OwnedMessage]) -> Vec<Outcome> {
        let limit = self.max_message_bytes;
        let fanout = self.fanout.as_ref();
        self.pool.install(|| {
            batch
                .par_iter()
                .map(|m| process_with(m, limit, fanout))
                .collect()
        })
    }
}

/// Decodes and extracts one input record. Never panics: a panic inside extraction becomes an
/// `extract_panic` dead letter instead of a crash loop on the same offset.
pub fn process(message: &OwnedMessage, limit: usize) -> Outcome {
    process_with(message, limit, None)
}

/// [`process`], also computing the timeline keys of each record when `fanout` is given.
pub fn process_with(message: &OwnedMessage, limit: usize, fanout: Option<&Fanout>) -> Outcome {
    // One span per message, so every event logged while it is processed names its position.
    // Synchronous code on a worker thread: the guard is never held across an `.await`.
    let _span = tracing::info_span!(
        "message",
        topic = message.topic(),
        partition = message.partition(),
        offset = message.offset()
    )
    .entered();
    let fallback = Fallback {
        id: format!(
            "{}/{}/{}",
            message.topic(),
            message.partition(),
            message.offset()
        ),
        published_at: message
            .timestamp()
            .to_millis()
            .and_then(DateTime::from_timestamp_millis)
            .map(|t| t.fixed_offset()),
    };
    let article = match article::decode(message.payload(), limit, &fallback) {
        Ok(article) => article,
        Err(error) => {
            return Outcome::Poison(Poison {
                kind: error.kind(),
                message: error.to_string(),
            });
        }
    };
    let started = Instant::now();
    let extracted = std::panic::catch_unwind(AssertUnwindSafe(|| timeline::extract(&article)));
    ArticleExtracted {
        elapsed: started.elapsed(),
    }
    .emit();
    let records = match extracted {
        Ok(records) => records,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            return Outcome::Poison(Poison {
                kind: "extract_panic",
                message: format!("timeline extraction panicked: {what}"),
            });
        }
    };
    let mut encoded = Vec::with_capacity(records.len());
    for record in records {
        let value = match serde_json::to_vec(&record) {
            Ok(v) => v,
            Err(e) => {
                return Outcome::Poison(Poison {
                    kind: "record_unserialisable",
                    message: e.to_string(),
                });
            }
        };
        if value.len() > limit {
            return Outcome::Poison(Poison {
                kind: "record_too_large",
                message: format!(
                    "timeline record {} is {} bytes, over the limit of {limit}",
                    record.event_id,
                    value.len()
                ),
            });
        }
        let timelines = fanout
            .map(|f| {
                crate::timeline::keys::timeline_keys(&record, &f.input_topic, &f.kinds, &f.aliases)
            })
            .unwrap_or_default();
        encoded.push(EncodedRecord {
            timelines,
            key: record.timeline,
            event_id: record.event_id,
            value,
        });
    }
    Outcome::Article(Extracted {
        article_id: article.id,
        published_at: article.published_at,
        records: encoded,
    })
}

#[cfg(test)]
mod tests {
    use rdkafka::Timestamp;

    use super::*;

    fn message(payload: Option<&[u8]>, offset: i64) -> OwnedMessage {
        OwnedMessage::new(
            payload.map(<[u8]>::to_vec),
            None,
            "in".into(),
            Timestamp::CreateTime(1_576_530_660_000),
            2,
            offset,
            None,
        )
    }

    #[test]
    fn plain_text_takes_topic_partition_offset_as_id() {
        let m = message(Some(b"Talks resumed on Monday, Dec. 16, 2019."), 41);
        match process(&m, 1 << 20) {
            Outcome::Article(a) => {
                assert_eq!(a.article_id, "in/2/41");
                assert_eq!(a.published_at.timestamp_millis(), 1_576_530_660_000);
            }
            Outcome::Poison(p) => panic!("unexpected poison {p:?}"),
        }
    }

    #[test]
    fn every_decode_error_is_poison_with_its_kind() {
        let cases: [(Option<&[u8]>, &str); 4] = [
            (None, "empty"),
            (Some(b"\xff\xfe"), "invalid_utf8"),
            (Some(b"{\"id\":"), "invalid_json"),
            (Some(b"{\"id\":\"x\",\"text\":\"t\"}"), "bad_published_at"),
        ];
        for (payload, kind) in cases {
            match process(&message(payload, 0), 1 << 20) {
                Outcome::Poison(p) => assert_eq!(p.kind, kind),
                Outcome::Article(a) => panic!("{kind}: decoded as {}", a.article_id),
            }
        }
    }

    #[test]
    fn pool_keeps_input_order() {
        let pool = WorkerPool::new(2, 1 << 20).unwrap();
        let batch: Vec<OwnedMessage> = (0..64)
            .map(|i| {
                message(
                    Some(format!("Item {i} happened on Dec. 7, 2019.").as_bytes()),
                    i,
                )
            })
            .collect();
        let ids: Vec<String> = pool
            .process(&batch)
            .into_iter()
            .map(|o| match o {
                Outcome::Article(a) => a.article_id,
                Outcome::Poison(p) => p.kind.to_string(),
            })
            .collect();
        let expected: Vec<String> = (0..64).map(|i| format!("in/2/{i}")).collect();
        assert_eq!(ids, expected);
    }
}
