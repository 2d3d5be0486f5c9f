//! The input article: the JSON contract on the input topic, and its decoding.
//!
//! A record value is either a JSON article (`id`, `published_at`, `text`, optional `title`, `source`,
//! `url`, `lang`) or plain UTF-8 text. Plain text gets its id and publication time from the caller
//! (in the pipeline: `topic/partition/offset` and the record timestamp).

use chrono::{DateTime, FixedOffset};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One news article, as read from the input topic or a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Article {
    /// Stable identifier chosen by the producer; it seeds every `event_id` of the article.
    pub id: String,
    /// Publication time with its UTC offset. The tagger resolves relative dates against it,
    /// in the article's own time zone (a Seoul "Monday" is a Seoul calendar day).
    pub published_at: DateTime<FixedOffset>,
    /// Body text. Spans in timeline records are byte offsets into this string.
    pub text: String,
    /// Headline, if any. Not tagged; carried for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Outlet name, e.g. "Yonhap".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Canonical URL of the article.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// BCP 47 language tag; only English is tagged today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// Why an input value is not an article. Each kind is a dead-letter reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The value is not valid UTF-8.
    #[error("value is not valid UTF-8: {0}")]
    InvalidUtf8(String),
    /// The value looks like JSON (starts with `{`) but does not parse as an article.
    #[error("invalid JSON article: {0}")]
    InvalidJson(String),
    /// The article has no `text`, or only white space.
    #[error("article has no text")]
    MissingText,
    /// `published_at` is missing or not RFC 3339.
    #[error("unparseable published_at: {0}")]
    BadPublishedAt(String),
    /// The value is larger than the configured limit.
    #[error("value of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the value in bytes.
        size: usize,
        /// Configured limit in bytes.
        limit: usize,
    },
    /// The record has no value at all (a tombstone).
    #[error("record has no value")]
    Empty,
}

impl DecodeError {
    /// Short, bounded label for metrics and dead-letter headers.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::InvalidUtf8(_) => "invalid_utf8",
            DecodeError::InvalidJson(_) => "invalid_json",
            DecodeError::MissingText => "missing_text",
            DecodeError::BadPublishedAt(_) => "bad_published_at",
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::Empty => "empty",
        }
    }
}

/// The loose shape used while decoding, so each missing field gets its own error.
#[derive(Deserialize)]
struct RawArticle {
    id: Option<serde_json::Value>,
    published_at: Option<serde_json::Value>,
    text: Option<serde_json::Value>,
    title: Option<String>,
    source: Option<String>,
    url: Option<String>,
    lang: Option<String>,
}

/// Where a plain-text value gets the fields JSON would carry.
#[derive(Debug, Clone)]
pub struct Fallback {
    /// Id to use for plain text (the pipeline passes `topic/partition/offset`).
    pub id: String,
    /// Publication time for plain text (the pipeline passes the record timestamp).
    pub published_at: Option<DateTime<FixedOffset>>,
}

/// Decodes one input value: a JSON article, or plain text dated by `fallback`.
///
/// A value whose first non-blank byte is `{` is JSON; anything else is plain text.
pub fn decode(
    value: Option<&[u8]>,
    limit: usize,
    fallback: &Fallback,
) -> Result<Article, DecodeError> {
    let bytes = value.ok_or(DecodeError::Empty)?;
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::InvalidUtf8(e.to_string()))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return decode_json(trimmed, fallback);
    }
    if trimmed.is_empty() {
        return Err(DecodeError::MissingText);
    }
    let published_at = fallback.published_at.ok_or_else(|| {
        DecodeError::BadPublishedAt("plain-text value without a record timestamp".into())
    })?;
    Ok(Article {
        id: fallback.id.clone(),
        published_at,
        text: text.to_string(),
        title: None,
        source: None,
        url: None,
        lang: None,
    })
}

fn decode_json(json: &str, fallback: &Fallback) -> Result<Article, DecodeError> {
    // serde_json limits recursion depth to 128, so deeply nested input fails fast, not by stack overflow.
    let raw: RawArticle =
        serde_json::from_str(json).map_err(|e| DecodeError::InvalidJson(e.to_string()))?;
    let text = match raw.text {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s,
        Some(serde_json::Value::String(_)) | None | Some(serde_json::Value::Null) => {
            return Err(DecodeError::MissingText);
        }
        Some(other) => {
            return Err(DecodeError::InvalidJson(format!(
                "`text` must be a string, found {}",
                json_kind(&other)
            )));
        }
    };
    let published_at = match raw.published_at {
        Some(serde_json::Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
            .map_err(|e| DecodeError::BadPublishedAt(format!("{s:?}: {e}")))?,
        None | Some(serde_json::Value::Null) => {
            return Err(DecodeError::BadPublishedAt("missing".into()));
        }
        Some(other) => {
            return Err(DecodeError::BadPublishedAt(format!(
                "expected an RFC 3339 string, found {}",
                json_kind(&other)
            )));
        }
    };
    let id = match raw.id {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => fallback.id.clone(),
    };
    Ok(Article {
        id,
        published_at,
        text,
        title: raw.title,
        source: raw.source,
        url: raw.url,
        lang: raw.lang,
    })
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fb() -> Fallback {
        Fallback {
            id: "in/0/7".into(),
            published_at: Some(DateTime::parse_from_rfc3339("2019-12-17T06:11:00+09:00").unwrap()),
        }
    }

    #[test]
    fn json_article_decodes() {
        let a = decode(
            Some(br#"{"id":"a1","published_at":"2019-12-17T06:11:00+09:00","text":"On Monday."}"#),
            1 << 20,
            &fb(),
        )
        .unwrap();
        assert_eq!(a.id, "a1");
        assert_eq!(a.published_at.offset().local_minus_utc(), 9 * 3600);
    }

    #[test]
    fn plain_text_takes_fallback() {
        let a = decode(Some(b"Talks resumed on Monday."), 1 << 20, &fb()).unwrap();
        assert_eq!(a.id, "in/0/7");
        assert_eq!(a.text, "Talks resumed on Monday.");
    }

    #[test]
    fn poison_kinds() {
        let cases: Vec<(&[u8], &str)> = vec![
            (b"\xff\xfe", "invalid_utf8"),
            (b"{\"id\":", "invalid_json"),
            (
                br#"{"id":"x","published_at":"2019-12-17T06:11:00Z"}"#,
                "missing_text",
            ),
            (
                br#"{"id":"x","published_at":"2019-12-17T06:11:00Z","text":"  "}"#,
                "missing_text",
            ),
            (
                br#"{"id":"x","published_at":"yesterday","text":"t"}"#,
                "bad_published_at",
            ),
            (br#"{"id":"x","text":"t"}"#, "bad_published_at"),
            (b"   ", "missing_text"),
        ];
        for (input, kind) in cases {
            let err = decode(Some(input), 1 << 20, &fb()).unwrap_err();
            assert_eq!(err.kind(), kind, "{:?}", String::from_utf8_lossy(input));
        }
        assert_eq!(
            decode(Some(b"abc"), 2, &fb()).unwrap_err().kind(),
            "too_large"
        );
        assert_eq!(decode(None, 2, &fb()).unwrap_err().kind(), "empty");
    }

    #[test]
    fn deeply_nested_json_is_an_error_not_a_crash() {
        // Valid JSON, but no text: classified, not a stack overflow.
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            decode(Some(deep.as_bytes()), 1 << 20, &fb())
                .unwrap_err()
                .kind(),
            "missing_text"
        );
        // Nesting inside a field we read hits serde_json's recursion limit: invalid JSON.
        let deep = format!(
            "{{\"id\":\"x\",\"published_at\":\"2019-12-17T06:11:00Z\",\"text\":{}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert_eq!(
            decode(Some(deep.as_bytes()), 1 << 20, &fb())
                .unwrap_err()
                .kind(),
            "invalid_json"
        );
    }
}
