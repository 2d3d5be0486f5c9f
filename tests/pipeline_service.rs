//! The service in-process (mini-redis style): HTTP endpoints, readiness, and shutdown driven by
//! the test's own trigger, on librdkafka's mock cluster.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use dateline::config::Config;
use dateline::pipeline::shutdown;

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, text.split_once("\r\n\r\n")?.1.to_string()))
}

fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_health_readiness_metrics_and_stops_on_trigger() {
    let cluster = MockCluster::new(1).unwrap();
    let brokers = cluster.bootstrap_servers();
    cluster.create_topic("svc-in", 2, 1).unwrap();
    cluster.create_topic("svc-out", 1, 1).unwrap();
    cluster.create_topic("svc-in.dlq", 1, 1).unwrap();
    // The mock cluster has no CreateTopics: the timeline stage's topics are made here.
    cluster.create_topic("svc-in.events", 2, 1).unwrap();
    cluster
        .create_topic("svc.timelines.changelog", 2, 1)
        .unwrap();
    cluster.create_topic("timelines", 1, 1).unwrap();
    cluster.create_topic("timelines.late", 1, 1).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = Config::default();
    config.kafka.brokers = brokers.clone();
    config.kafka.group_id = "svc".into();
    config.kafka.transactional_id = "svc-0".into();
    config.topics.input = "svc-in".into();
    config.topics.output = "svc-out".into();
    config.http.address = ([127, 0, 0, 1], port).into();
    config.batch.max_ms = 20;

    let (trigger, listener) = shutdown::channel();
    let service = tokio::spawn(dateline::service::serve(config, listener));

    // Liveness answers at once; readiness only once partitions and transactions are there.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut saw_unready = false;
    loop {
        assert!(Instant::now() < deadline, "never ready");
        assert!(!service.is_finished(), "service stopped early");
        match tokio::task::spawn_blocking(move || get(port, "/readyz"))
            .await
            .unwrap()
        {
            Some((200, _)) => break,
            Some((503, _)) => saw_unready = true,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saw_unready, "/readyz was 503 before the assignment");
    let health = tokio::task::spawn_blocking(move || get(port, "/healthz"))
        .await
        .unwrap();
    assert_eq!(health.map(|(c, _)| c), Some(200));

    // One article and one poison record go through; the counters move.
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    let article = r#"{"id":"svc-1","published_at":"2020-05-05T10:00:00Z","text":"The plant opened on May 1, 2020."}"#;
    producer
        .send(BaseRecord::to("svc-in").key("svc-1").payload(article))
        .map_err(|(e, _)| e)
        .unwrap();
    producer
        .send(BaseRecord::to("svc-in").key("bad").payload("{"))
        .map_err(|(e, _)| e)
        .unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
    loop {
        assert!(Instant::now() < deadline, "counters never moved");
        let body = tokio::task::spawn_blocking(move || get(port, "/metrics"))
            .await
            .unwrap()
            .map(|(_, b)| b)
            .unwrap_or_default();
        // The recorder is process-wide: other tests in this binary may add to it, never subtract.
        let consumed = metric(&body, "dateline_articles_consumed_total").unwrap_or(0.0);
        let dead = metric(&body, "dateline_dead_letters_total{kind=\"invalid_json\"}");
        if consumed >= 1.0 && dead.unwrap_or(0.0) >= 1.0 {
            assert!(
                body.contains("# TYPE dateline_extract_seconds histogram"),
                "{body}"
            );
            assert!(body.contains("dateline_transaction_commit_seconds_bucket"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    trigger.trigger();
    let stopped = tokio::time::timeout(Duration::from_secs(30), service)
        .await
        .expect("serve returns within the shutdown timeout")
        .unwrap();
    stopped.expect("clean shutdown");
}
