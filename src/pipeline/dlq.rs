//! Dead letters: an input record that is not an article goes, unchanged, to the dead-letter
//! topic with headers that say why and where it came from.
//!
//! The original key, value and headers are kept. If the value is larger than the configured
//! limit (a `too_large` record), it is cut to the limit so the dead letter itself can be
//! published, and `dlq-value-truncated` gives the original size: nothing is dropped silently.
//!
//! [`DeadLetterEnvelope`] is the contract of the dead-letter topic for its readers (published as
//! `docs/schemas/dead-letter.schema.json`): the record's key, value and headers as one JSON
//! document, with the `dlq-*` headers typed.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::Message;
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::pipeline::worker::Poison;

/// Header names of a dead letter.
pub mod header {
    /// Bounded error kind, e.g. `invalid_json`.
    pub const KIND: &str = "dlq-error-kind";
    /// The error message.
    pub const MESSAGE: &str = "dlq-error-message";
    /// Input topic.
    pub const SOURCE_TOPIC: &str = "dlq-source-topic";
    /// Input partition, decimal.
    pub const SOURCE_PARTITION: &str = "dlq-source-partition";
    /// Input offset, decimal.
    pub const SOURCE_OFFSET: &str = "dlq-source-offset";
    /// When the record was dead-lettered, RFC 3339 UTC.
    pub const TIME: &str = "dlq-time";
    /// Present only when the value was cut: the original size in bytes.
    pub const VALUE_TRUNCATED: &str = "dlq-value-truncated";
}

/// A dead letter, ready to send.
#[derive(Debug)]
pub struct DeadLetter<'a> {
    /// The original key.
    pub key: Option<&'a [u8]>,
    /// The original value (cut to the limit if it was larger).
    pub value: Option<&'a [u8]>,
    /// Original headers followed by the `dlq-*` headers.
    pub headers: OwnedHeaders,
}

/// Why a record was dead-lettered: the value of the `dlq-error-kind` header. A closed list, so
/// it is also the bounded label of `dateline_dead_letters_total{kind}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterKind {
    /// The value is not valid UTF-8.
    InvalidUtf8,
    /// The value starts with `{` but is not a JSON article.
    InvalidJson,
    /// The article has no `text`, or only white space.
    MissingText,
    /// `published_at` is missing or not RFC 3339.
    BadPublishedAt,
    /// The value is larger than `pipeline.max_message_bytes` (the dead letter carries it cut to
    /// that size, see `dlq-value-truncated`).
    TooLarge,
    /// The record has no value (a tombstone).
    Empty,
    /// One of the article's timeline records would exceed `pipeline.max_message_bytes`.
    RecordTooLarge,
    /// A timeline record could not be serialised.
    RecordUnserialisable,
    /// Extraction panicked on this article (a bug: please report the dead letter).
    ExtractPanic,
}

/// A dead letter as its readers see it: the Kafka record's key, value and headers as one JSON
/// document. Kafka keys, values and headers are bytes; here they are text (UTF-8, lossily for
/// bytes that are not), which is what every dead letter of a text-based input is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterEnvelope {
    /// The input record's key, unchanged; `null` when it had none.
    pub key: Option<String>,
    /// The input record's value, unchanged, except that a value over
    /// `pipeline.max_message_bytes` is cut to that size (then `dlq-value-truncated` is set);
    /// `null` for a tombstone.
    pub value: Option<String>,
    /// The input record's headers followed by the `dlq-*` headers.
    pub headers: DeadLetterHeaders,
}

/// Headers of a dead letter: the `dlq-*` headers dateline adds, and the input record's own
/// headers, kept as they were (a name that repeats keeps its last value in this view).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeadLetterHeaders {
    /// Why the record is here.
    #[serde(rename = "dlq-error-kind")]
    pub error_kind: DeadLetterKind,
    /// The error in words, for people; not for matching (use `dlq-error-kind`).
    #[serde(rename = "dlq-error-message")]
    pub error_message: String,
    /// The input topic.
    #[serde(rename = "dlq-source-topic")]
    pub source_topic: String,
    /// The input partition, in decimal.
    #[serde(rename = "dlq-source-partition")]
    #[schemars(regex(pattern = r"^[0-9]+$"))]
    pub source_partition: String,
    /// The input offset, in decimal: with topic and partition, where to find the original.
    #[serde(rename = "dlq-source-offset")]
    #[schemars(regex(pattern = r"^[0-9]+$"))]
    pub source_offset: String,
    /// When the record was dead-lettered, RFC 3339 in UTC with milliseconds.
    #[serde(rename = "dlq-time")]
    pub time: DateTime<Utc>,
    /// Present only when the value was cut: the original size in bytes, in decimal.
    #[serde(
        rename = "dlq-value-truncated",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(regex(pattern = r"^[0-9]+$"))]
    pub value_truncated: Option<String>,
    /// The input record's own headers, by name (values as text).
    #[serde(flatten)]
    pub original: BTreeMap<String, String>,
}

impl DeadLetterEnvelope {
    /// Reads a dead letter from the parts of a record of the dead-letter topic. Fails when a
    /// `dlq-*` header is missing or malformed, i.e. when the record is not a dateline dead letter.
    pub fn from_parts(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: Option<&impl Headers>,
    ) -> Result<Self, serde_json::Error> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut map = serde_json::Map::new();
        if let Some(headers) = headers {
            for h in headers.iter() {
                let value = h.value.map(text).unwrap_or_default();
                map.insert(h.key.to_string(), serde_json::Value::String(value));
            }
        }
        let headers = serde_json::from_value(serde_json::Value::Object(map))?;
        Ok(DeadLetterEnvelope {
            key: key.map(text),
            value: value.map(text),
            headers,
        })
    }
}

/// Builds the dead letter for `message`.
pub fn dead_letter<'a>(
    message: &'a OwnedMessage,
    poison: &Poison,
    limit: usize,
    now: DateTime<Utc>,
) -> DeadLetter<'a> {
    let mut headers = OwnedHeaders::new();
    if let Some(original) = message.headers() {
        for h in original.iter() {
            headers = headers.insert(Header {
                key: h.key,
                value: h.value,
            });
        }
    }
    let mut value = message.payload();
    if let Some(v) = value
        && v.len() > limit
    {
        headers = headers.insert(Header {
            key: header::VALUE_TRUNCATED,
            value: Some(&v.len().to_string()),
        });
        value = v.get(..limit);
    }
    let partition = message.partition().to_string();
    let offset = message.offset().to_string();
    let time = now.to_rfc3339_opts(SecondsFormat::Millis, true);
    for (key, val) in [
        (header::KIND, poison.kind),
        (header::MESSAGE, poison.message.as_str()),
        (header::SOURCE_TOPIC, message.topic()),
        (header::SOURCE_PARTITION, partition.as_str()),
        (header::SOURCE_OFFSET, offset.as_str()),
        (header::TIME, time.as_str()),
    ] {
        headers = headers.insert(Header {
            key,
            value: Some(val),
        });
    }
    DeadLetter {
        key: message.key(),
        value,
        headers,
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::Timestamp;

    use super::*;

    #[test]
    fn keeps_key_value_and_headers_and_says_why() {
        let original = OwnedHeaders::new().insert(Header {
            key: "trace-id",
            value: Some("abc"),
        });
        let m = OwnedMessage::new(
            Some(b"{\"id\":".to_vec()),
            Some(b"k1".to_vec()),
            "articles".into(),
            Timestamp::NotAvailable,
            1,
            99,
            Some(original),
        );
        let poison = Poison {
            kind: "invalid_json",
            message: "EOF".into(),
        };
        let now = DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        let dl = dead_letter(&m, &poison, 1024, now);
        assert_eq!(dl.key, Some(&b"k1"[..]));
        assert_eq!(dl.value, Some(&b"{\"id\":"[..]));
        let got: Vec<(String, String)> = dl
            .headers
            .iter()
            .map(|h| {
                (
                    h.key.to_string(),
                    String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = [
            ("trace-id", "abc"),
            ("dlq-error-kind", "invalid_json"),
            ("dlq-error-message", "EOF"),
            ("dlq-source-topic", "articles"),
            ("dlq-source-partition", "1"),
            ("dlq-source-offset", "99"),
            ("dlq-time", "2024-01-02T03:04:05.000Z"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    /// Every kind the pipeline can put in `dlq-error-kind` is one the contract lists.
    #[test]
    fn every_poison_kind_is_in_the_contract() {
        use crate::article::DecodeError;
        let decode_kinds = [
            DecodeError::InvalidUtf8(String::new()),
            DecodeError::InvalidJson(String::new()),
            DecodeError::MissingText,
            DecodeError::BadPublishedAt(String::new()),
            DecodeError::TooLarge { size: 2, limit: 1 },
            DecodeError::Empty,
        ]
        .map(|e| e.kind());
        // The worker's own kinds (src/pipeline/worker.rs).
        let worker_kinds = ["record_too_large", "record_unserialisable", "extract_panic"];
        for kind in decode_kinds.into_iter().chain(worker_kinds) {
            let parsed: Result<DeadLetterKind, _> = serde_json::from_value(kind.into());
            assert!(parsed.is_ok(), "{kind} is missing from DeadLetterKind");
        }
    }

    #[test]
    fn dead_letter_reads_back_as_the_envelope_and_fits_the_schema() {
        let original = OwnedHeaders::new().insert(Header {
            key: "trace-id",
            value: Some("abc"),
        });
        let m = OwnedMessage::new(
            Some(vec![b'x'; 2000]),
            Some(b"k1".to_vec()),
            "articles".into(),
            Timestamp::NotAvailable,
            2,
            7,
            Some(original),
        );
        let poison = Poison {
            kind: "too_large",
            message: "value of 2000 bytes exceeds the limit of 1024 bytes".into(),
        };
        let now = DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        let dl = dead_letter(&m, &poison, 1024, now);
        let envelope = DeadLetterEnvelope::from_parts(dl.key, dl.value, Some(&dl.headers)).unwrap();
        assert_eq!(envelope.key.as_deref(), Some("k1"));
        assert_eq!(envelope.value.as_ref().map(String::len), Some(1024));
        let h = &envelope.headers;
        assert_eq!(h.error_kind, DeadLetterKind::TooLarge);
        assert_eq!(h.source_topic, "articles");
        assert_eq!(h.source_partition, "2");
        assert_eq!(h.source_offset, "7");
        assert_eq!(h.time, now);
        assert_eq!(h.value_truncated.as_deref(), Some("2000"));
        assert_eq!(
            h.original,
            BTreeMap::from([("trace-id".to_string(), "abc".to_string())])
        );

        let schema = serde_json::to_value(schemars::schema_for!(DeadLetterEnvelope)).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let json = serde_json::to_value(&envelope).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{json:#}");
        assert_eq!(json["headers"]["dlq-error-kind"], "too_large");
        assert_eq!(json["headers"]["trace-id"], "abc");
        let mut bad = json.clone();
        bad["headers"]["dlq-source-offset"] = "seven".into();
        assert!(!validator.is_valid(&bad), "offsets are decimal");
        let mut bad = json;
        bad["headers"]
            .as_object_mut()
            .unwrap()
            .remove("dlq-error-kind");
        assert!(!validator.is_valid(&bad), "the kind is required");
    }

    #[test]
    fn a_record_without_dlq_headers_is_not_a_dead_letter() {
        let headers = OwnedHeaders::new().insert(Header {
            key: "trace-id",
            value: Some("abc"),
        });
        assert!(DeadLetterEnvelope::from_parts(None, Some(b"x"), Some(&headers)).is_err());
    }

    #[test]
    fn oversized_value_is_cut_and_flagged() {
        let m = OwnedMessage::new(
            Some(vec![b'x'; 2000]),
            None,
            "articles".into(),
            Timestamp::NotAvailable,
            0,
            5,
            None,
        );
        let poison = Poison {
            kind: "too_large",
            message: "big".into(),
        };
        let dl = dead_letter(&m, &poison, 1024, Utc::now());
        assert_eq!(dl.value.map(<[u8]>::len), Some(1024));
        let truncated = dl
            .headers
            .iter()
            .find(|h| h.key == header::VALUE_TRUNCATED)
            .and_then(|h| h.value);
        assert_eq!(truncated, Some(&b"2000"[..]));
    }
}
