//! The pipeline on librdkafka's in-process mock cluster: decode -> records / dead-letter routing,
//! headers, order, offsets, in both guarantees, and in-process shutdown.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use dateline::article::{self, Fallback};
use dateline::config::{Config, Guarantee};
use dateline::pipeline::demo::read_committed;
use dateline::pipeline::shutdown;
use dateline::pipeline::sink::header;
use dateline::pipeline::status::PipelineStatus;
use dateline::timeline::{self, TimelineRecord};

/// One input: key, value, and the dead-letter kind it must produce (None: an article).
struct Input {
    key: String,
    value: Option<Vec<u8>>,
    poison: Option<&'static str>,
}

fn inputs() -> Vec<Input> {
    let article = |i: usize| {
        format!(
            r#"{{"id":"mock-{i}","published_at":"2021-03-1{}T10:00:00Z","source":"Test Wire","text":"The council voted on March 3, 2021 to fund the bridge. Work began in 2019 and ends next year."}}"#,
            i % 9
        )
    };
    let mut v: Vec<Input> = (0..8)
        .map(|i| Input {
            key: format!("mock-{i}"),
            value: Some(article(i).into_bytes()),
            poison: None,
        })
        .collect();
    v.push(Input {
        key: "plain".into(),
        value: Some(b"Officials met on Dec. 7, 2019 and again on Dec. 13, 2019.".to_vec()),
        poison: None,
    });
    let poison: [(Option<Vec<u8>>, &str); 6] = [
        (None, "empty"),
        (Some(b"\xff\xfeabc".to_vec()), "invalid_utf8"),
        (Some(br#"{"id": "cut"#.to_vec()), "invalid_json"),
        (
            Some(br#"{"id":"nt","published_at":"2021-01-01T00:00:00Z"}"#.to_vec()),
            "missing_text",
        ),
        (
            Some(br#"{"id":"bp","published_at":"last week","text":"On Monday."}"#.to_vec()),
            "bad_published_at",
        ),
        (Some(vec![b'a'; 5000]), "too_large"),
    ];
    for (i, (value, kind)) in poison.into_iter().enumerate() {
        v.insert(
            1 + i * 2,
            Input {
                key: format!("poison-{kind}"),
                value,
                poison: Some(kind),
            },
        );
    }
    v
}

fn run_on_mock(guarantee: Guarantee) {
    let cluster = MockCluster::new(1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let (input, output, dlq) = ("in", "out", "in.dlq");
    cluster.create_topic(input, 3, 1).unwrap();
    cluster.create_topic(output, 3, 1).unwrap();
    cluster.create_topic(dlq, 1, 1).unwrap();

    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    let inputs = inputs();
    for inp in &inputs {
        let headers = OwnedHeaders::new().insert(Header {
            key: "origin",
            value: Some(inp.key.as_str()),
        });
        let mut record = BaseRecord::<str, [u8]>::to(input)
            .key(inp.key.as_str())
            .headers(headers)
            .timestamp(1_600_000_000_000);
        if let Some(v) = &inp.value {
            record = record.payload(v.as_slice());
        }
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    let mut config = Config::default();
    config.kafka.brokers = brokers.clone();
    config.kafka.group_id = "mock-group".into();
    config.kafka.transactional_id = format!("mock-{guarantee}");
    config.kafka.guarantee = guarantee;
    config.topics.input = input.into();
    config.topics.output = output.into();
    // The mock cluster cannot create topics; the timeline stage is covered by the broker tests.
    config.timelines.enabled = false;
    config.batch.max_records = 4;
    config.batch.max_ms = 20;
    config.pipeline.max_message_bytes = 4096;
    config.pipeline.worker_threads = 2;

    let status = Arc::new(PipelineStatus::default());
    let (trigger, listener) = shutdown::channel();
    let handle = {
        let status = Arc::clone(&status);
        std::thread::spawn(move || dateline::pipeline::run(&config, listener, status))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while status.committed_inputs() < inputs.len() as u64 {
        assert!(
            Instant::now() < deadline,
            "pipeline did not commit every input"
        );
        assert!(!handle.is_finished(), "pipeline stopped early");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        status.is_ready(),
        "assigned and producer ready while running"
    );
    trigger.trigger();
    handle
        .join()
        .unwrap()
        .expect("pipeline stops cleanly on shutdown");
    assert!(!status.is_ready(), "not ready after stopping");

    let records = read_committed(&brokers, output, deadline).unwrap();
    let letters = read_committed(&brokers, dlq, deadline).unwrap();

    // Every input offset is exactly one of: an article with records, or a dead letter.
    let mut by_source: BTreeMap<(i32, i64), Vec<&OwnedMessage>> = BTreeMap::new();
    for r in &records {
        let p: i32 = header(r, "source-partition").unwrap().parse().unwrap();
        let o: i64 = header(r, "source-offset").unwrap().parse().unwrap();
        by_source.entry((p, o)).or_default().push(r);
        assert_eq!(header(r, "content-type"), Some("application/json"));
        assert_eq!(header(r, "schema-version"), Some("1"));
        assert_eq!(header(r, "source-topic"), Some(input));
        assert_eq!(header(r, "ce_specversion"), Some("1.0"));
        assert_eq!(header(r, "ce_source"), Some("dateline/in"));
        assert_eq!(header(r, "ce_type"), Some("dateline.timeline.record.v1"));
    }
    let mut dead: BTreeMap<String, &OwnedMessage> = BTreeMap::new();
    for d in &letters {
        let key = String::from_utf8_lossy(d.key().unwrap()).into_owned();
        assert_eq!(
            header(d, "origin"),
            Some(key.as_str()),
            "original headers kept"
        );
        assert_eq!(header(d, "dlq-source-topic"), Some(input));
        assert!(header(d, "dlq-time").is_some());
        assert!(header(d, "dlq-error-message").is_some());
        assert!(dead.insert(key, d).is_none(), "one dead letter per input");
    }
    let mut seen_offsets = BTreeSet::new();
    for inp in &inputs {
        match inp.poison {
            Some(kind) => {
                let d = dead
                    .get(&inp.key)
                    .unwrap_or_else(|| panic!("no dead letter for {}", inp.key));
                assert_eq!(header(d, "dlq-error-kind"), Some(kind));
                if kind != "too_large" {
                    assert_eq!(d.payload().map(<[u8]>::to_vec), inp.value, "{kind}");
                } else {
                    assert_eq!(header(d, "dlq-value-truncated"), Some("5000"));
                }
                let p: i32 = header(d, "dlq-source-partition").unwrap().parse().unwrap();
                let o: i64 = header(d, "dlq-source-offset").unwrap().parse().unwrap();
                assert!(seen_offsets.insert((p, o)));
            }
            None => {
                let group: Vec<(&(i32, i64), &Vec<&OwnedMessage>)> = by_source
                    .iter()
                    .filter(|(_, rs)| {
                        let r: TimelineRecord =
                            serde_json::from_slice(rs[0].payload().unwrap()).unwrap();
                        r.article.id == inp.key
                            || (inp.key == "plain" && r.article.id.starts_with("in/"))
                    })
                    .collect();
                assert_eq!(group.len(), 1, "records of {} from one input", inp.key);
                let ((p, o), rs) = group[0];
                assert!(seen_offsets.insert((*p, *o)));
                let got: Vec<TimelineRecord> = rs
                    .iter()
                    .map(|m| serde_json::from_slice(m.payload().unwrap()).unwrap())
                    .collect();
                let fallback = Fallback {
                    id: format!("in/{p}/{o}"),
                    published_at: chrono::DateTime::from_timestamp_millis(1_600_000_000_000)
                        .map(|t| t.fixed_offset()),
                };
                let a = article::decode(inp.value.as_deref(), 4096, &fallback).unwrap();
                let want = timeline::extract(&a);
                assert!(
                    !want.is_empty(),
                    "test article {} must yield records",
                    inp.key
                );
                assert_eq!(got, want, "records of {} in extract's order", inp.key);
                for (m, r) in rs.iter().zip(&want) {
                    assert_eq!(m.key(), Some(r.timeline.as_bytes()));
                    assert_eq!(header(m, "ce_id"), Some(r.event_id.as_str()));
                }
            }
        }
    }
    assert_eq!(
        seen_offsets.len(),
        inputs.len(),
        "every input offset accounted for"
    );
    assert_eq!(
        by_source.len() + dead.len(),
        inputs.len(),
        "nothing extra published"
    );
}

#[test]
fn exactly_once_routes_articles_and_dead_letters() {
    run_on_mock(Guarantee::ExactlyOnce);
}

#[test]
fn at_least_once_routes_articles_and_dead_letters() {
    run_on_mock(Guarantee::AtLeastOnce);
}
