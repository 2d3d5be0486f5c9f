//! The client examples in `docs/examples/` (kcat.sh, subscriber.py, timeline_subscriber.py)
//! against a real Apache Kafka broker
//! (`scripts/kafka.sh start`; `KAFKA_BOOTSTRAP_SERVERS`, default 127.0.0.1:9092), reading what the
//! real `dateline run` binary published for the seed article.
//!
//! An unreachable broker FAILS these tests (set `DATELINE_SKIP_BROKER_TESTS=1` to skip them), and
//! so does a missing client: kcat (`DATELINE_KCAT`) or Python's confluent-kafka
//! (`scripts/install-deps.sh` installs both; `DATELINE_PYTHON` names the interpreter).

mod common;
use common::{Names, broker, create_topics, names};

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use dateline::pipeline::demo::read_committed;
use dateline::pipeline::dlq::{DeadLetterEnvelope, DeadLetterKind};
use dateline::timeline::{self, TimelineRecord};

const SEED: &str = include_str!("../config/samples/01-yonhap-dprk-sanctions.json");
const SEED_ID: &str = "yonhap-2019-12-17-dprk-sanctions";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn produce(brokers: &str, topic: &str, records: &[(&str, &[u8])]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    for (key, value) in records {
        producer
            .send(BaseRecord::to(topic).key(*key).payload(*value))
            .map_err(|(e, _)| e)
            .expect("enqueue");
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// `dateline run` on the test's topics; killed on drop.
struct Service {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Service {
    fn start(brokers: &str, n: &Names) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("dateline.toml");
        std::fs::write(
            &config,
            format!(
                r#"
[kafka]
brokers = "{brokers}"
group_id = "{group}"
transactional_id = "{txn}"
[kafka.options]
"session.timeout.ms" = 6000
[topics]
input = "{input}"
output = "{output}"
dlq = "{dlq}"
[batch]
max_ms = 50
[pipeline]
worker_threads = 2
[http]
address = "127.0.0.1:{port}"
[log]
format = "json"
level = "info,librdkafka=warn"
[timelines]
output = "{output}-entries"
"#,
                group = n.group,
                txn = n.txn,
                input = n.input,
                output = n.output,
                dlq = n.dlq,
            ),
        )
        .unwrap();
        let log = dir.path().join("run.log");
        let child = Command::new(env!("CARGO_BIN_EXE_dateline"))
            .args(["run", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawning dateline run");
        Service {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    fn logs(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn ready(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        if write!(s, "GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n").is_err() {
            return false;
        }
        let mut response = String::new();
        let _ = s.read_to_string(&mut response);
        response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200")
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.ready() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("dateline exited early with {status}\n{}", self.logs());
            }
            assert!(Instant::now() < deadline, "not ready\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn expected_seed_records() -> Vec<TimelineRecord> {
    let fallback = dateline::article::Fallback {
        id: "unused".into(),
        published_at: None,
    };
    let article = dateline::article::decode(Some(SEED.as_bytes()), 1 << 20, &fallback).unwrap();
    let records = timeline::extract(&article);
    assert_eq!(records.len(), 5, "the seed article has five dated events");
    records
}

fn run_with_timeout(command: &mut Command, within: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{command:?} did not finish within {within:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn python() -> String {
    std::env::var("DATELINE_PYTHON")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "python3".to_string())
}

/// The seed article through the real binary, then read back by both examples: the kcat
/// one-liner prints key, headers and value of each record; the Python subscriber prints the
/// seed's timeline with its five events in the contract's order. A poison record next to it
/// must come out of the dead-letter topic as the documented envelope.
#[test]
fn examples_read_the_seed_timeline_in_order() {
    let Some(brokers) = broker() else { return };
    let want = expected_seed_records();
    let n = names("examples");
    create_topics(&brokers, &n, 2);
    produce(
        &brokers,
        &n.input,
        &[(SEED_ID, SEED.as_bytes()), ("poison-1", b"{\"id\": broken")],
    );
    let mut svc = Service::start(&brokers, &n);
    svc.wait_ready();

    // The Python subscriber: confluent-kafka, read_committed, exits after five records.
    let script = root().join("docs/examples/subscriber.py");
    let out = run_with_timeout(
        Command::new(python())
            .arg(&script)
            .args(["--bootstrap-servers", &brokers, "--topic", &n.output])
            .args(["--max-messages", "5", "--timeout", "90"]),
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'confluent_kafka'"),
        "Python's confluent-kafka is missing: run `bash scripts/install-deps.sh` \
         (python3 -m pip install confluent-kafka)\n{stderr}"
    );
    assert!(
        out.status.success(),
        "subscriber.py failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}\ndateline:\n{}",
        out.status,
        svc.logs()
    );
    // The last block printed for the seed's timeline is its state.
    let heading = format!("== timeline {SEED_ID} (5 events)");
    let block: Vec<&str> = stdout
        .rsplit_once(&heading)
        .unwrap_or_else(|| panic!("no `{heading}` in:\n{stdout}"))
        .1
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("== "))
        .collect();
    assert_eq!(block.len(), 5, "{stdout}");
    for (line, record) in block.iter().zip(&want) {
        let days = format!("{}..{}", record.date.start, record.date.end);
        assert!(line.starts_with(&days), "{line:?} should start with {days}");
        assert!(
            line.ends_with(&record.event_id),
            "{line:?}: {}",
            record.event_id
        );
        assert!(
            line.contains(&format!(
                "{}: \"{}\"",
                record.event.trigger, record.date.text
            )),
            "{line:?}"
        );
    }

    // The timeline subscriber: follows the seed's `north-korea` entity timeline on the timeline
    // stage's output and keeps it in date order from the `position` links alone.
    let script = root().join("docs/examples/timeline_subscriber.py");
    let entries_topic = format!("{}-entries", n.output);
    let aliases = dateline::timeline::keys::Aliases::builtin();
    let nk: Vec<&TimelineRecord> = want
        .iter()
        .filter(|r| {
            dateline::timeline::keys::timeline_keys(
                r,
                &n.input,
                &[dateline::timeline::keys::TimelineKind::Entity],
                &aliases,
            )
            .iter()
            .any(|k| k == "north-korea")
        })
        .collect();
    assert!(nk.len() >= 3, "the seed dates several north-korea events");
    let out = run_with_timeout(
        Command::new(python())
            .arg(&script)
            .args(["--bootstrap-servers", &brokers, "--topic", &entries_topic])
            .args(["--timeline", "north-korea"])
            .args(["--max-messages", &nk.len().to_string(), "--timeout", "90"]),
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "timeline_subscriber.py failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let heading = "== timeline north-korea (";
    let block: Vec<&str> = stdout
        .rsplit_once(heading)
        .unwrap_or_else(|| panic!("no `{heading}` in:\n{stdout}"))
        .1
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("== "))
        .collect();
    assert_eq!(block.len(), nk.len(), "{stdout}");
    // `want` is in the article's date order, so the entries must come in that order too.
    for (line, record) in block.iter().zip(&nk) {
        let id = dateline::timeline::store::entry_id("north-korea", &record.event_id);
        assert!(
            line.ends_with(&id),
            "{line:?} should be entry {id}\n{stdout}"
        );
        let days = format!("{}..{}", record.date.start, record.date.end);
        assert!(line.starts_with(&days), "{line:?} should start with {days}");
    }

    // The kcat one-liner: key TAB headers TAB value, read_committed.
    let kcat = std::env::var("DATELINE_KCAT")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "kcat".to_string());
    let out = run_with_timeout(
        Command::new("sh")
            .arg(root().join("docs/examples/kcat.sh"))
            .args([&brokers, &n.output])
            .env("KCAT", &kcat),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "kcat.sh failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<(&str, &str, TimelineRecord)> = stdout
        .lines()
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let (Some(k), Some(h), Some(v)) = (parts.next(), parts.next(), parts.next()) else {
                panic!("not key TAB headers TAB value: {l:?}");
            };
            (
                k,
                h,
                serde_json::from_str(v).expect("value is a timeline record"),
            )
        })
        .collect();
    let got: Vec<&TimelineRecord> = lines.iter().map(|(_, _, r)| r).collect();
    let want_refs: Vec<&TimelineRecord> = want.iter().collect();
    assert_eq!(got, want_refs, "kcat prints the records in order");
    for (key, headers, record) in &lines {
        assert_eq!(*key, SEED_ID);
        for expected in [
            "content-type=application/json".to_string(),
            "schema-version=1".to_string(),
            format!("source-topic={}", n.input),
            "ce_specversion=1.0".to_string(),
            format!("ce_id={}", record.event_id),
            format!("ce_source=dateline/{}", n.input),
            "ce_type=dateline.timeline.record.v1".to_string(),
            "ce_time=2019-12-17T06:11:00+09:00".to_string(),
        ] {
            assert!(
                headers.split(',').any(|h| h == expected),
                "{expected} missing from {headers}"
            );
        }
    }

    // The headers are exactly the ones docs/asyncapi.yaml documents, all of them required.
    let asyncapi: serde_json::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(root().join("docs/asyncapi.yaml")).unwrap(),
    )
    .expect("docs/asyncapi.yaml parses");
    let schema = asyncapi
        .pointer("/components/schemas/timelineRecordHeaders")
        .expect("timelineRecordHeaders");
    let documented: BTreeSet<&str> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(documented, required);
    for (_, headers, _) in &lines {
        let names: BTreeSet<&str> = headers
            .split(',')
            .map(|h| h.split_once('=').map_or(h, |(name, _)| name))
            .collect();
        assert_eq!(names, documented, "record headers vs docs/asyncapi.yaml");
    }

    // The poison record, as the dead-letter contract describes it.
    let letters = read_committed(&brokers, &n.dlq, Instant::now() + Duration::from_secs(60))
        .expect("reading the dead-letter topic");
    assert_eq!(letters.len(), 1, "one dead letter");
    let m = &letters[0];
    let envelope = DeadLetterEnvelope::from_parts(m.key(), m.payload(), m.headers())
        .expect("a dead letter has the dlq-* headers");
    assert_eq!(envelope.key.as_deref(), Some("poison-1"));
    assert_eq!(envelope.value.as_deref(), Some("{\"id\": broken"));
    assert_eq!(envelope.headers.error_kind, DeadLetterKind::InvalidJson);
    assert_eq!(envelope.headers.source_topic, n.input);
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/schemas/dead-letter.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let json = serde_json::to_value(&envelope).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{json:#}");
}
