//! Properties of the tagger on arbitrary input: no panic, spans on char boundaries, ordered and
//! non-overlapping, and records well-formed.

use chrono::DateTime;
use dateline::article::Article;
use dateline::{tagger, timeline};
use proptest::prelude::*;

fn reference() -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339("2019-12-17T06:11:00+09:00").expect("valid reference")
}

fn check(text: &str) {
    let tags = tagger::tag(text, reference());
    let mut last_end = 0;
    for t in &tags {
        assert!(text.is_char_boundary(t.span.start) && text.is_char_boundary(t.span.end));
        assert!(t.span.start >= last_end, "overlap at {:?}", t.span);
        assert!(t.span.start < t.span.end);
        assert_eq!(&text[t.span.clone()], t.text);
        last_end = t.span.end;
    }
    let article = Article {
        id: "p".into(),
        published_at: reference(),
        text: text.to_string(),
        title: None,
        source: None,
        url: None,
        lang: None,
    };
    let records = timeline::extract(&article);
    for w in records.windows(2) {
        assert!((w[0].date.end, w[0].date.start) <= (w[1].date.end, w[1].date.start));
    }
    for r in &records {
        assert!(r.date.start <= r.date.end);
    }
}

/// Words that exercise the rules, mixed at random.
const WORDS: &[&str] = &[
    "on",
    "Monday",
    "Dec.",
    "7",
    "and",
    "13",
    "June",
    "2018",
    "the",
    "end",
    "of",
    "year",
    "two",
    "days",
    "later",
    "10:32",
    "a.m.",
    "EDT",
    "(1432",
    "GMT)",
    "last",
    "week",
    "mid-2025",
    "early",
    "April",
    "1990s",
    "from",
    "March",
    "11",
    "to",
    "between",
    "Sept.",
    "8",
    "every",
    "said",
    "will",
    "ago",
    "a",
    "quarter",
    "third",
    "fourth-quarter",
    ",",
    ".",
    "\n",
    "é",
    "日本",
    "24/7",
    "7/11",
    "12/07/2019",
    "2,018",
    "Section",
    "2015",
    "May",
    "may",
    "Sunday",
    "night",
    "Times",
    "'90s",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_is_safe(text in "\\PC{0,200}") {
        check(&text);
    }

    #[test]
    fn any_chars_including_controls_are_safe(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn rule_words_in_any_order_are_safe(words in proptest::collection::vec(proptest::sample::select(WORDS), 0..40)) {
        check(&words.join(" "));
    }
}

#[test]
fn pathological_inputs_complete() {
    check(&"1".repeat(100_000));
    check(&"Dec. 7 and ".repeat(20_000));
    check(&"x".repeat(1_000_000));
    check(&"May ".repeat(50_000));
}

/// Regression: found by `scripts/fuzz.sh` (fuzz/artifacts/tagger/crash-83ae0078...): a
/// multi-byte control character before ". " made the sentence scan slice inside a char.
#[test]
fn regression_multibyte_char_before_sentence_end() {
    check("\u{94}8420. \u{1f} 1843'\u{1e}1843A5");
    check("\u{94}. 1843 and Dec. 7");
    check("é. On Monday. ü 12 Dec. 2019");
}
