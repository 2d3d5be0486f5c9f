//! Helpers shared by the tests that run against a real Kafka broker.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// instructions, when the broker cannot be reached.
pub fn broker() -> Option<String> {
    if std::env::var("DATELINE_SKIP_BROKER_TESTS").as_deref() == Ok("1") {
        eprintln!("DATELINE_SKIP_BROKER_TESTS=1: skipping a real-broker test");
        return None;
    }
    let servers =
        std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".to_string());
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &servers)
        .create()
        .expect("creating a probe client");
    if let Err(e) = consumer.fetch_metadata(None, Duration::from_secs(10)) {
        panic!(
            "no Kafka broker at {servers} ({e}). Start one with `bash scripts/kafka.sh start`, \
             point KAFKA_BOOTSTRAP_SERVERS at one, or set DATELINE_SKIP_BROKER_TESTS=1 to skip."
        );
    }
    Some(servers)
}

/// Names unique to one test run, so tests can share a broker.
pub struct Names {
    pub input: String,
    pub output: String,
    pub dlq: String,
    pub group: String,
    pub txn: String,
}

pub fn names(test: &str) -> Names {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let suffix = format!("{test}-{}-{nanos}", std::process::id());
    Names {
        input: format!("articles-{suffix}"),
        output: format!("timeline-{suffix}"),
        dlq: format!("articles-{suffix}.dlq"),
        group: format!("group-{suffix}"),
        txn: format!("txn-{suffix}"),
    }
}

/// Creates the run's topics. Retention is off: test records carry old timestamps (the seed is
/// from 2019), and a broker's time-based retention would delete them mid-test (seen as
/// "offset out of range" and a stalled consumer group).
pub fn create_topics(brokers: &str, n: &Names, input_partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let topics = [
        NewTopic::new(&n.input, input_partitions, TopicReplication::Fixed(1))
            .set("retention.ms", "-1"),
        NewTopic::new(&n.output, 3, TopicReplication::Fixed(1)).set("retention.ms", "-1"),
        NewTopic::new(&n.dlq, 1, TopicReplication::Fixed(1)).set("retention.ms", "-1"),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = rt
        .block_on(admin.create_topics(&topics, &AdminOptions::new()))
        .expect("create_topics");
    for r in results {
        r.expect("topic created");
    }
}
