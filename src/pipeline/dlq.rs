//! Dead letters: an input record that is not an article goes, unchanged, to the dead-letter
//! topic with headers that say why and where it came from.
//!
//! The original key, value and headers are kept. If the value is larger than the configured
//! limit (a `too_large` record), it is cut to the limit so the dead letter itself can be
//! published, and `dlq-value-truncated` gives the original size: nothing is dropped silently.

use chrono::{DateTime, SecondsFormat, Utc};
use rdkafka::Message;
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};

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
