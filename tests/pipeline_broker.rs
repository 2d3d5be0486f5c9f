//! Against a real Apache Kafka broker (`scripts/kafka.sh start`; `KAFKA_BOOTSTRAP_SERVERS`,
//! default 127.0.0.1:9092), running the real `dateline run` binary.
//!
//! An unreachable broker FAILS these tests with a message saying how to start one; set
//! `DATELINE_SKIP_BROKER_TESTS=1` to skip them instead. Every test uses its own topics, group
//! and transactional id, so they share one broker and run in parallel.

mod common;
use common::{Names, broker, create_topics, names};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use dateline::article::{self, Fallback};
use dateline::pipeline::demo::read_committed;
use dateline::pipeline::sink::header;
use dateline::timeline::{self, TimelineRecord};

const INPUT_PARTITIONS: i32 = 3;
const SEED: &str = include_str!("../config/samples/01-yonhap-dprk-sanctions.json");

/// The broker address, or `None` when the tests are explicitly skipped. Panics, with
/// Produces `(key, value)` pairs; returns the number produced.
fn produce(brokers: &str, topic: &str, records: &[(String, Option<Vec<u8>>)]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "20")
        .create()
        .unwrap();
    for (key, value) in records {
        let headers = OwnedHeaders::new().insert(Header {
            key: "origin",
            value: Some(key.as_str()),
        });
        let mut record = BaseRecord::<str, [u8]>::to(topic)
            .key(key.as_str())
            .headers(headers)
            .timestamp(1_700_000_000_000);
        if let Some(v) = value {
            record = record.payload(v.as_slice());
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(50));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `dateline run`, with its config file and logs in a temp dir.
struct Service {
    child: Child,
    port: u16,
    dir: PathBuf,
}

fn write_config(dir: &Path, brokers: &str, n: &Names, port: u16, batch: usize) -> PathBuf {
    let path = dir.join("dateline.toml");
    let text = format!(
        r#"
[kafka]
brokers = "{brokers}"
group_id = "{group}"
transactional_id = "{txn}"
guarantee = "exactly_once"
[kafka.options]
"session.timeout.ms" = 6000
"heartbeat.interval.ms" = 1000
[topics]
input = "{input}"
output = "{output}"
dlq = "{dlq}"
[batch]
max_records = {batch}
max_ms = 50
[pipeline]
max_message_bytes = 4096
worker_threads = 2
shutdown_timeout_ms = 30000
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
    );
    std::fs::write(&path, text).unwrap();
    path
}

impl Service {
    fn start(dir: &Path, config: &Path, port: u16, run: usize) -> Service {
        let log = std::fs::File::create(dir.join(format!("run-{run}.log"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_dateline"))
            .args(["run", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawning dateline run");
        Service {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    /// The last lines of every run's log, for failure messages.
    fn logs(&self) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        files.sort();
        let mut all = String::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            all.push_str(&format!("--- {}\n", f.display()));
            for l in &lines[lines.len().saturating_sub(25)..] {
                all.push_str(l);
                all.push('\n');
            }
        }
        all
    }

    fn sigkill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn sigterm(&mut self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM");
    }

    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("dateline did not exit within {within:?}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("dateline exited early with {status}\n{}", self.logs());
        }
    }

    fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        let code = body.split_whitespace().nth(1)?.parse().ok()?;
        let body = body.split_once("\r\n\r\n")?.1.to_string();
        Some((code, body))
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.assert_running();
            if let Some((200, _)) = self.get("/readyz") {
                return;
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

/// Committed offsets of the group on the input topic (missing partition: 0) and the end offsets.
fn progress(brokers: &str, n: &Names) -> (i64, i64) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", &n.group)
        // read_committed would make OffsetFetch wait for a killed instance's open transaction
        // (KIP-447 "require stable"); the last committed offsets are what this wants.
        .set("isolation.level", "read_uncommitted")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..INPUT_PARTITIONS {
        tpl.add_partition(&n.input, p);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    let mut done = 0;
    let mut end = 0;
    for e in committed.elements() {
        if let Offset::Offset(o) = e.offset() {
            done += o;
        }
        end += consumer
            .fetch_watermarks(&n.input, e.partition(), Duration::from_secs(10))
            .unwrap()
            .1;
    }
    (done, end)
}

fn wait_progress(brokers: &str, n: &Names, svc: &mut Service, at_least: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (done, _) = progress(brokers, n);
        if done >= at_least {
            return done;
        }
        svc.assert_running();
        assert!(
            Instant::now() < deadline,
            "committed {done} < {at_least}\n{}",
            svc.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(120)
}

/// A short article with explicit dates, so it always has records.
fn article_json(i: usize) -> String {
    let day = 1 + i % 28;
    let month = ["January", "March", "June", "October"][i % 4];
    format!(
        r#"{{"id":"art-{i}","published_at":"2023-11-{:02}T08:00:00Z","source":"Test Wire","text":"Article {i}: the council approved the plan on {month} {day}, 2021. Construction began in 2019 and will finish next year."}}"#,
        1 + i % 28
    )
}

/// Expected records for each produced article value, by article id.
fn expected(values: &[(String, Option<Vec<u8>>)]) -> BTreeMap<String, Vec<TimelineRecord>> {
    let fallback = Fallback {
        id: "unused".into(),
        published_at: None,
    };
    values
        .iter()
        .filter_map(|(_, v)| article::decode(v.as_deref(), 4096, &fallback).ok())
        .map(|a| (a.id.clone(), timeline::extract(&a)))
        .collect()
}

/// Reads the output topic (read_committed) and groups records by article, in offset order.
fn read_timelines(brokers: &str, topic: &str) -> BTreeMap<String, Vec<TimelineRecord>> {
    let mut got: BTreeMap<String, Vec<TimelineRecord>> = BTreeMap::new();
    for m in read_committed(brokers, topic, deadline()).unwrap() {
        let r: TimelineRecord = serde_json::from_slice(m.payload().unwrap()).unwrap();
        assert_eq!(m.key(), Some(r.timeline.as_bytes()));
        got.entry(r.article.id.clone()).or_default().push(r);
    }
    got
}

/// (a) The seed article, as JSON, gives its records in order; kcat reads them too.
#[test]
fn seed_article_records_in_order_readable_by_kcat() {
    let Some(brokers) = broker() else { return };
    let n = names("seed");
    create_topics(&brokers, &n, INPUT_PARTITIONS);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), &brokers, &n, port, 100);
    let seed_id = "yonhap-2019-12-17-dprk-sanctions".to_string();
    let inputs = vec![(seed_id.clone(), Some(SEED.as_bytes().to_vec()))];
    produce(&brokers, &n.input, &inputs);
    let mut svc = Service::start(dir.path(), &config, port, 0);
    svc.wait_ready();
    assert_eq!(svc.get("/healthz").map(|(c, _)| c), Some(200));
    wait_progress(&brokers, &n, &mut svc, 1);

    let want = expected(&inputs).remove(&seed_id).unwrap();
    assert!(!want.is_empty(), "the seed article has records");
    let messages = read_committed(&brokers, &n.output, deadline()).unwrap();
    let got: Vec<TimelineRecord> = messages
        .iter()
        .map(|m| serde_json::from_slice(m.payload().unwrap()).unwrap())
        .collect();
    assert_eq!(got, want, "records in extract's (chronological) order");
    let published = "2019-12-17T06:11:00+09:00";
    for (m, r) in messages.iter().zip(&want) {
        assert_eq!(m.key(), Some(seed_id.as_bytes()));
        assert_eq!(header(m, "content-type"), Some("application/json"));
        assert_eq!(header(m, "schema-version"), Some("1"));
        assert_eq!(header(m, "source-topic"), Some(n.input.as_str()));
        assert_eq!(header(m, "source-offset"), Some("0"));
        assert_eq!(header(m, "ce_specversion"), Some("1.0"));
        assert_eq!(header(m, "ce_id"), Some(r.event_id.as_str()));
        assert_eq!(
            header(m, "ce_source"),
            Some(format!("dateline/{}", n.input).as_str())
        );
        assert_eq!(header(m, "ce_type"), Some("dateline.timeline.record.v1"));
        assert_eq!(header(m, "ce_time"), Some(published));
    }

    // An outside client, read_committed.
    let kcat = std::env::var("DATELINE_KCAT")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "kcat".to_string());
    let out = Command::new(&kcat)
        .args(["-b", &brokers, "-C", "-t", &n.output, "-e", "-q"])
        .args(["-X", "isolation.level=read_committed", "-f", "%k\t%s\n"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run kcat ({kcat}): {e}; install kcat or set DATELINE_KCAT")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<(String, TimelineRecord)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            (k.to_string(), serde_json::from_str(v).unwrap())
        })
        .collect();
    let kcat_ids: Vec<&str> = lines.iter().map(|(_, r)| r.event_id.as_str()).collect();
    let want_ids: Vec<&str> = want.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(kcat_ids, want_ids);
    assert!(lines.iter().all(|(k, _)| *k == seed_id));

    svc.sigterm();
    assert!(svc.wait_exit(Duration::from_secs(40)).success());
}

/// (b) 1,000 articles with ~5% poison of every kind: every input offset is accounted for, and
/// the /metrics counters agree with what was read back.
#[test]
fn mixed_input_accounts_for_every_offset_and_metrics_agree() {
    let Some(brokers) = broker() else { return };
    let n = names("mixed");
    create_topics(&brokers, &n, INPUT_PARTITIONS);
    let kinds = [
        "empty",
        "invalid_utf8",
        "invalid_json",
        "missing_text",
        "bad_published_at",
        "too_large",
    ];
    let mut inputs: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    let mut poison_kind: BTreeMap<String, &str> = BTreeMap::new();
    for i in 0..1000 {
        if i % 20 == 7 {
            let kind = kinds[(i / 20) % kinds.len()];
            let value = match kind {
                "empty" => None,
                "invalid_utf8" => Some(b"\xc3\x28 broken".to_vec()),
                "invalid_json" => Some(format!("{{\"id\":\"p{i}\",").into_bytes()),
                "missing_text" => Some(
                    format!(r#"{{"id":"p{i}","published_at":"2023-01-01T00:00:00Z"}}"#)
                        .into_bytes(),
                ),
                "bad_published_at" => Some(
                    format!(r#"{{"id":"p{i}","published_at":"tomorrow","text":"x"}}"#).into_bytes(),
                ),
                _ => Some(vec![b'z'; 5000]),
            };
            let key = format!("poison-{i}");
            poison_kind.insert(key.clone(), kind);
            inputs.push((key, value));
        } else {
            inputs.push((format!("art-{i}"), Some(article_json(i).into_bytes())));
        }
    }
    produce(&brokers, &n.input, &inputs);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), &brokers, &n, port, 100);
    let mut svc = Service::start(dir.path(), &config, port, 0);
    wait_progress(&brokers, &n, &mut svc, inputs.len() as i64);

    let want = expected(&inputs);
    let got = read_timelines(&brokers, &n.output);
    assert_eq!(got.len(), want.len(), "one timeline per article");
    let mut records = 0;
    for (id, rs) in &want {
        assert!(!rs.is_empty(), "{id} has records");
        assert_eq!(got.get(id), Some(rs), "{id}: exactly its records, in order");
        records += rs.len();
    }
    let letters = read_committed(&brokers, &n.dlq, deadline()).unwrap();
    let mut dead_kinds: BTreeMap<&str, u64> = BTreeMap::new();
    let mut dead_keys = BTreeSet::new();
    for d in &letters {
        let key = String::from_utf8_lossy(d.key().unwrap()).into_owned();
        let kind = poison_kind[&key];
        assert_eq!(header(d, "dlq-error-kind"), Some(kind), "{key}");
        assert_eq!(header(d, "origin"), Some(key.as_str()));
        *dead_kinds.entry(kind).or_default() += 1;
        assert!(dead_keys.insert(key), "one dead letter per poison record");
    }
    assert_eq!(
        dead_keys.len(),
        poison_kind.len(),
        "every poison record dead-lettered"
    );
    assert_eq!(
        want.len() + dead_keys.len(),
        inputs.len(),
        "records + dead letters account for every input offset"
    );
    assert_eq!(dead_kinds.len(), kinds.len(), "every kind exercised");

    let (code, metrics) = svc.get("/metrics").expect("GET /metrics");
    assert_eq!(code, 200);
    let value = |name: &str| -> Option<f64> {
        metrics
            .lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    assert_eq!(
        value("dateline_articles_consumed_total"),
        Some(want.len() as f64)
    );
    assert_eq!(
        value("dateline_records_produced_total"),
        Some(records as f64)
    );
    for (kind, count) in &dead_kinds {
        assert_eq!(
            value(&format!("dateline_dead_letters_total{{kind=\"{kind}\"}}")),
            Some(*count as f64),
            "{kind}"
        );
    }
    assert!(metrics.contains("dateline_extract_seconds"));
    assert!(metrics.contains("dateline_transaction_commit_seconds"));
    svc.sigterm();
    assert!(svc.wait_exit(Duration::from_secs(40)).success());
}

/// (c) Killed with SIGKILL three times mid-stream and restarted each time: a read_committed
/// consumer still sees each article's records exactly once.
#[test]
fn sigkill_mid_stream_three_times_still_exactly_once() {
    let Some(brokers) = broker() else { return };
    let n = names("kill");
    create_topics(&brokers, &n, INPUT_PARTITIONS);
    let inputs: Vec<(String, Option<Vec<u8>>)> = (0..1500)
        .map(|i| (format!("art-{i}"), Some(article_json(i).into_bytes())))
        .collect();
    produce(&brokers, &n.input, &inputs);
    let total = inputs.len() as i64;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Small transactions, so a kill lands between and inside many of them.
    let config = write_config(dir.path(), &brokers, &n, port, 5);
    let mut kills = 0;
    for (run, fraction) in [0.15, 0.35, 0.55].into_iter().enumerate() {
        let mut svc = Service::start(dir.path(), &config, port, run);
        let at = wait_progress(&brokers, &n, &mut svc, (total as f64 * fraction) as i64);
        svc.sigkill();
        kills += 1;
        assert!(at < total, "kill {kills} came after the stream was done");
    }
    assert_eq!(kills, 3);
    let mut svc = Service::start(dir.path(), &config, port, 9);
    wait_progress(&brokers, &n, &mut svc, total);
    svc.sigterm();
    assert!(svc.wait_exit(Duration::from_secs(40)).success());

    let want = expected(&inputs);
    let got = read_timelines(&brokers, &n.output);
    for (id, rs) in &want {
        assert_eq!(
            got.get(id),
            Some(rs),
            "{id}: its records exactly once, in order"
        );
    }
    assert_eq!(got.len(), want.len());
}

/// (d) SIGTERM mid-stream: exit 0, offsets committed, and no duplicate after a restart.
#[test]
fn sigterm_mid_stream_exits_zero_and_restart_has_no_duplicates() {
    let Some(brokers) = broker() else { return };
    let n = names("term");
    create_topics(&brokers, &n, INPUT_PARTITIONS);
    let inputs: Vec<(String, Option<Vec<u8>>)> = (0..1500)
        .map(|i| (format!("art-{i}"), Some(article_json(i).into_bytes())))
        .collect();
    produce(&brokers, &n.input, &inputs);
    let total = inputs.len() as i64;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), &brokers, &n, port, 5);

    let mut svc = Service::start(dir.path(), &config, port, 0);
    wait_progress(&brokers, &n, &mut svc, total / 5);
    svc.sigterm();
    let status = svc.wait_exit(Duration::from_secs(40));
    assert!(status.success(), "exit status {status}\n{}", svc.logs());
    let (committed, _) = progress(&brokers, &n);
    assert!(committed >= total / 5, "offsets committed at shutdown");
    assert!(committed < total, "SIGTERM landed mid-stream");
    // What is committed is exactly what was published: each committed input has its records.
    let partial = read_timelines(&brokers, &n.output);
    assert_eq!(partial.len() as i64, committed);
    drop(svc);

    let mut svc = Service::start(dir.path(), &config, port, 1);
    wait_progress(&brokers, &n, &mut svc, total);
    svc.sigterm();
    assert!(svc.wait_exit(Duration::from_secs(40)).success());
    let want = expected(&inputs);
    let got = read_timelines(&brokers, &n.output);
    assert_eq!(got.len(), want.len());
    for (id, rs) in &want {
        assert_eq!(got.get(id), Some(rs), "{id}: no duplicate after restart");
    }
}

/// (e) An invalid configuration file is refused at start with a message naming the key.
#[test]
fn invalid_config_file_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[batch]\nmax_records = \"lots\"\n", "batch.max_records"),
        ("[kafka]\nbrokerz = \"127.0.0.1:9092\"\n", "kafka.brokerz"),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_dateline"))
            .args(["run", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(key), "{key} not named in: {stderr}");
    }
}
