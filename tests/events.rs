//! Table tests for event anchoring: trigger, modality, place and participants on typical news
//! sentences, under the seed's reference time (Tuesday 2019-12-17, Seoul).

use chrono::DateTime;
use dateline::article::Article;
use dateline::events::Modality;
use dateline::timeline;

fn records(text: &str) -> Vec<dateline::timeline::TimelineRecord> {
    let article = Article {
        id: "t".into(),
        published_at: DateTime::parse_from_rfc3339("2019-12-17T06:11:00+09:00").expect("valid"),
        text: text.into(),
        title: None,
        source: None,
        url: None,
        lang: None,
    };
    timeline::extract(&article)
}

#[test]
fn triggers_and_modalities() {
    // (sentence, date value, trigger, modality)
    let cases: &[(&str, &str, &str, Modality)] = &[
        (
            "The ministry announced the ban on Monday.",
            "2019-12-16",
            "announced",
            Modality::Asserted,
        ),
        (
            "Leaders will meet in Hanoi on Friday.",
            "2019-12-20",
            "meet",
            Modality::Planned,
        ),
        (
            "The talks are scheduled for Jan. 6.",
            "2020-01-06",
            "talks",
            Modality::Planned,
        ),
        (
            "Officials did not attend the summit on Monday.",
            "2019-12-16",
            "summit",
            Modality::Negated,
        ),
        (
            "Police said the attack happened on Sunday night.",
            "2019-12-15TNI",
            "attack",
            Modality::Reported,
        ),
        (
            "Pyongyang warned it would resume tests unless sanctions were lifted by the end of the year.",
            "2019",
            "resume",
            Modality::Threatened,
        ),
        // A negation governs the verb right after it, not an event noun past another verb.
        (
            "Washington has not commented on Saturday's test.",
            "2019-12-14",
            "test",
            Modality::Asserted,
        ),
        (
            "North Korea did not conduct a test on Saturday.",
            "2019-12-14",
            "test",
            Modality::Negated,
        ),
        (
            "The election was held in March 2018.",
            "2018-03",
            "election",
            Modality::Asserted,
        ),
    ];
    let mut failures = Vec::new();
    for (text, value, trigger, modality) in cases {
        let rs = records(text);
        let got: Vec<(String, String, Modality)> = rs
            .iter()
            .map(|r| {
                (
                    r.date.value.clone(),
                    r.event.trigger.clone(),
                    r.event.modality,
                )
            })
            .collect();
        if got != vec![(value.to_string(), trigger.to_string(), *modality)] {
            failures.push(format!("{text:?}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn place_and_participants() {
    let rs = records("Trump and Kim met at a summit in Hanoi on Feb. 27, 2019.");
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].event.location.as_deref(), Some("Hanoi"));
    assert!(rs[0].event.participants.iter().any(|p| p == "Trump"));
    assert!(rs[0].event.participants.iter().any(|p| p == "Kim"));
}

#[test]
fn vague_references_and_durations_are_not_records() {
    let rs = records("Now is not the time. The talks lasted three days and happen every week.");
    assert!(rs.is_empty(), "{rs:?}");
}

#[test]
fn two_days_later_anchors_on_the_previous_date() {
    let rs = records("The plant failed on Dec. 7. Two days later, engineers restarted it.");
    let values: Vec<&str> = rs.iter().map(|r| r.date.value.as_str()).collect();
    assert_eq!(values, vec!["2019-12-07", "2019-12-09"]);
    assert_eq!(rs[1].event.trigger, "restarted");
}
