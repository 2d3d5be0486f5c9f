//! Table tests for the tagger's rule table: every rule's examples must give their values under a
//! fixed reference time, and the negative phrases must stay untagged.

use chrono::DateTime;
use dateline::tagger::{self, rules};

/// Tuesday 2019-12-17, 06:11 in Seoul: the seed article's publication time.
fn reference() -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339("2019-12-17T06:11:00+09:00").expect("valid reference")
}

#[test]
fn every_rule_compiles() {
    rules::check().expect("rules compile");
}

#[test]
fn every_rule_has_examples() {
    for rule in rules::RULES {
        assert!(
            !rule.examples.is_empty(),
            "rule {} has no examples",
            rule.name
        );
    }
}

#[test]
fn rule_examples_give_their_values() {
    let mut failures = Vec::new();
    for rule in rules::RULES {
        for (phrase, expected) in rule.examples {
            let got = tagger::tag(phrase, reference());
            let values: Vec<&str> = got.iter().map(|t| t.value.as_str()).collect();
            let want: Vec<&str> = expected.split('|').collect();
            let by_rule = got.iter().any(|t| t.rule == rule.name);
            if values != want || !by_rule {
                failures.push(format!(
                    "{}: {phrase:?} gave {:?} (rules {:?}), want {want:?}",
                    rule.name,
                    values,
                    got.iter().map(|t| t.rule).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn negatives_stay_untagged() {
    let mut failures = Vec::new();
    for phrase in rules::NEGATIVES {
        let got = tagger::tag(phrase, reference());
        if !got.is_empty() {
            failures.push(format!(
                "{phrase:?} gave {:?}",
                got.iter()
                    .map(|t| (&t.text, &t.value, t.rule))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn spans_cover_their_text() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/seed/article.txt"
    ))
    .expect("seed article");
    for t in tagger::tag(&text, reference()) {
        assert_eq!(&text[t.span.clone()], t.text);
    }
}
