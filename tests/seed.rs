//! The seed article (`../shared/seed/article.json`) must give exactly its five dated events, with
//! the right triggers, in the documented order.

use dateline::article::{self, Fallback};
use dateline::events::Modality;
use dateline::timeline;

fn seed() -> dateline::article::Article {
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/seed/article.json"
    ))
    .expect("the seed article is in ../shared/seed");
    let fallback = Fallback {
        id: "seed".into(),
        published_at: None,
    };
    article::decode(Some(&raw), 1 << 20, &fallback).expect("seed decodes")
}

#[test]
fn seed_gives_its_five_events_in_order() {
    let records = timeline::extract(&seed());
    let got: Vec<(&str, Option<&str>, &str, Modality)> = records
        .iter()
        .map(|r| {
            (
                r.date.value.as_str(),
                r.date.modifier.map(|m| m.as_str()),
                r.event.trigger.as_str(),
                r.event.modality,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("2018-06", None, "summit", Modality::Asserted),
            ("2019-12-07", None, "tests", Modality::Reported),
            ("2019-12-13", None, "tests", Modality::Reported),
            ("2019-12-16", None, "rejected", Modality::Asserted),
            ("2019", Some("END"), "take", Modality::Threatened),
        ]
    );
    assert_eq!(records[0].event.location.as_deref(), Some("Singapore"));
    assert_eq!(records[1].event.location.as_deref(), Some("Sohae"));
    assert!(
        records[4]
            .event
            .participants
            .contains(&"Pyongyang".to_string())
    );
    let seqs: Vec<u32> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3, 4]);
}

#[test]
fn event_ids_are_stable_and_distinct() {
    let a = timeline::extract(&seed());
    let b = timeline::extract(&seed());
    assert_eq!(a, b);
    let mut ids: Vec<&str> = a.iter().map(|r| r.event_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), a.len());
}

#[test]
fn seed_records_snapshot() {
    insta::assert_json_snapshot!(timeline::extract(&seed()));
}
