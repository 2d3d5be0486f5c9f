//! Cross-article timelines against a real Apache Kafka broker (`scripts/kafka.sh start`;
//! `KAFKA_BOOTSTRAP_SERVERS`, default 127.0.0.1:9092), running the real `dateline` binary: one
//! timeline across articles with merged reports, state restored after a kill, instances joining
//! and leaving, replays that give identical output, and the watermark mode.

mod common;
use common::{Names, broker, create_topics, names};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use dateline::article::{self, Fallback};
use dateline::pipeline::demo::read_committed;
use dateline::timeline::keys::{Aliases, TimelineKind, timeline_keys};
use dateline::timeline::{self, TimelineEntry};

const SEED: &str = include_str!("../config/samples/01-yonhap-dprk-sanctions.json");
const KCNA: &str = include_str!("../config/samples/06-kcna-watch-sohae-test.json");
const ASIA: &str = include_str!("../config/samples/07-asia-desk-sohae-images.json");

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(180)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One run's topics: the pipeline's and the timeline stage's.
struct Run {
    n: Names,
    timelines: String,
    events: String,
    partitions: i32,
}

impl Run {
    fn new(test: &str, partitions: i32) -> Run {
        let n = names(test);
        let timelines = format!("{}-entries", n.output);
        let events = format!("{}.events", n.input);
        Run {
            n,
            timelines,
            events,
            partitions,
        }
    }

    fn late(&self) -> String {
        format!("{}.late", self.timelines)
    }

    fn stage_group(&self) -> String {
        format!("{}.timelines", self.n.group)
    }

    fn config(&self, dir: &Path, brokers: &str, instance: &str, port: u16, extra: &str) -> PathBuf {
        let path = dir.join(format!("dateline-{instance}.toml"));
        let text = format!(
            r#"
[kafka]
brokers = "{brokers}"
group_id = "{group}"
transactional_id = "{txn}-{instance}"
[kafka.options]
"session.timeout.ms" = 6000
"heartbeat.interval.ms" = 1000
[topics]
input = "{input}"
output = "{output}"
dlq = "{dlq}"
[batch]
max_records = 50
max_ms = 50
[pipeline]
worker_threads = 1
[http]
address = "127.0.0.1:{port}"
[log]
format = "json"
level = "info,librdkafka=warn"
[timelines]
output = "{timelines}"
partitions = {partitions}
{extra}
"#,
            group = self.n.group,
            txn = self.n.txn,
            input = self.n.input,
            output = self.n.output,
            dlq = self.n.dlq,
            timelines = self.timelines,
            partitions = self.partitions,
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// A running `dateline run`.
struct Service {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Service {
    fn start(dir: &Path, config: &Path, port: u16, name: &str) -> Service {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_dateline"))
            .args(["run", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawning dateline run");
        Service { child, port, log }
    }

    fn logs(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("dateline exited early with {status}\n{}", self.logs());
        }
    }

    fn sigkill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn get(&self, path: &str, accept: &str) -> Option<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.0\r\nHost: localhost\r\nAccept: {accept}\r\n\r\n"
        )
        .ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        let code = body.split_whitespace().nth(1)?.parse().ok()?;
        let body = body.split_once("\r\n\r\n")?.1.to_string();
        Some((code, body))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Produces article values, keyed by article id, with the given timestamps.
fn produce(brokers: &str, topic: &str, values: &[(String, String, i64)]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "10")
        .create()
        .unwrap();
    for (key, value, ts) in values {
        let mut record = BaseRecord::<str, str>::to(topic)
            .key(key.as_str())
            .payload(value.as_str())
            .timestamp(*ts);
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

fn article(json: &str) -> (String, String, i64) {
    let a = article::decode(
        Some(json.as_bytes()),
        1 << 20,
        &Fallback {
            id: "unused".into(),
            published_at: None,
        },
    )
    .unwrap();
    let value =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(json).unwrap()).unwrap();
    (a.id, value, a.published_at.timestamp_millis())
}

/// Committed offsets of `group` on `topic`, by partition (read_uncommitted: a killed
/// instance's open transaction must not make the fetch wait).
fn committed(brokers: &str, group: &str, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("isolation.level", "read_uncommitted")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap()
        .elements()
        .iter()
        .map(|e| {
            (
                e.partition(),
                match e.offset() {
                    Offset::Offset(o) => o,
                    _ => 0,
                },
            )
        })
        .collect()
}

/// Waits until both stages have committed everything: the pipeline every input, then the
/// timeline stage every record of the events topic.
fn wait_done(brokers: &str, run: &Run, inputs: i64, services: &mut [&mut Service]) {
    let deadline = deadline();
    let mut check = |what: &str| {
        for s in services.iter_mut() {
            s.assert_running();
        }
        assert!(
            Instant::now() < deadline,
            "{what} not done in time\n{}",
            services
                .iter()
                .map(|s| s.logs())
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    loop {
        let done: i64 = committed(brokers, &run.n.group, &run.n.input, run.partitions)
            .values()
            .sum();
        if done >= inputs {
            break;
        }
        check("pipeline");
    }
    let events = read_committed(brokers, &run.events, deadline).unwrap();
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for m in &events {
        last.insert(m.partition(), m.offset() + 1);
    }
    loop {
        let done = committed(brokers, &run.stage_group(), &run.events, run.partitions);
        if last
            .iter()
            .all(|(p, end)| done.get(p).copied().unwrap_or(0) >= *end)
        {
            break;
        }
        check("timeline stage");
    }
}

fn entries(brokers: &str, topic: &str) -> Vec<(OwnedMessage, TimelineEntry)> {
    read_committed(brokers, topic, deadline())
        .unwrap()
        .into_iter()
        .map(|m| {
            let e: TimelineEntry = serde_json::from_slice(m.payload().unwrap()).unwrap();
            assert_eq!(m.key(), Some(e.timeline.as_bytes()), "keyed by timeline");
            (m, e)
        })
        .collect()
}

/// The latest version of every entry of `key`, in date order.
fn latest(all: &[(OwnedMessage, TimelineEntry)], key: &str) -> Vec<TimelineEntry> {
    let mut by_id: BTreeMap<&str, &TimelineEntry> = BTreeMap::new();
    for (_, e) in all.iter().filter(|(_, e)| e.timeline == key) {
        if by_id
            .get(e.entry_id.as_str())
            .is_none_or(|o| o.version < e.version)
        {
            by_id.insert(&e.entry_id, e);
        }
    }
    let mut out: Vec<TimelineEntry> = by_id.into_values().cloned().collect();
    out.sort_by(|a, b| {
        (a.date.end, a.date.start, &a.date.value, &a.entry_id).cmp(&(
            b.date.end,
            b.date.start,
            &b.date.value,
            &b.entry_id,
        ))
    });
    out
}

/// Per timeline: the versions of the timeline go 1, 2, 3... in topic order, each (entry,
/// version) appears once, and entry versions grow by one.
fn assert_exactly_once(all: &[(OwnedMessage, TimelineEntry)]) {
    let mut seen = BTreeSet::new();
    let mut timeline_versions: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut entry_versions: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (_, e) in all {
        assert!(
            seen.insert((e.entry_id.clone(), e.version)),
            "{} version {} published twice",
            e.entry_id,
            e.version
        );
        timeline_versions
            .entry(&e.timeline)
            .or_default()
            .push(e.timeline_version);
        entry_versions
            .entry(&e.entry_id)
            .or_default()
            .push(e.version);
    }
    for (key, versions) in timeline_versions {
        let want: Vec<u64> = (1..=versions.len() as u64).collect();
        assert_eq!(versions, want, "timeline {key}: versions in topic order");
    }
    for (id, versions) in entry_versions {
        let want: Vec<u64> = (1..=versions.len() as u64).collect();
        assert_eq!(versions, want, "entry {id}: versions in topic order");
    }
}

/// Three reports of the same story, arriving out of date order, give one `north-korea`
/// timeline in date order with the duplicates merged and the sources accumulated; the HTTP
/// server shows the same timeline.
#[test]
fn cross_article_timeline_merges_reports_in_date_order() {
    let Some(brokers) = broker() else { return };
    let run = Run::new("tl-cross", 2);
    create_topics(&brokers, &run.n, run.partitions);
    // Published Dec. 20, then Dec. 17, then Dec. 15.
    let inputs = [article(ASIA), article(SEED), article(KCNA)];
    produce(&brokers, &run.n.input, &inputs);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = run.config(dir.path(), &brokers, "a", port, "");
    let mut svc = Service::start(dir.path(), &config, port, "a");
    wait_done(&brokers, &run, inputs.len() as i64, &mut [&mut svc]);

    let all = entries(&brokers, &run.timelines);
    assert_exactly_once(&all);
    let nk = latest(&all, "north-korea");
    let rows: Vec<(String, usize)> = nk
        .iter()
        .map(|e| (e.date.value.clone(), e.sources.len()))
        .collect();
    // Each test day is one entry, reported by all three outlets.
    for day in ["2019-12-07", "2019-12-13"] {
        let on_day: Vec<&TimelineEntry> = nk.iter().filter(|e| e.date.value == day).collect();
        assert_eq!(on_day.len(), 1, "one entry on {day}: {rows:?}");
        let outlets: BTreeSet<&str> = on_day[0]
            .sources
            .iter()
            .map(|s| s.article_id.as_str())
            .collect();
        assert_eq!(
            outlets.len(),
            3,
            "{day}: reports from all three articles: {:?}",
            on_day[0].sources
        );
        assert_eq!(on_day[0].version, 3);
    }
    // The timeline covers the story from the 2018 summit to the rejection on Dec. 16.
    for day in ["2018-06", "2019-12-16"] {
        assert!(nk.iter().any(|e| e.date.value == day), "{day} in {rows:?}");
    }
    // Every published change names neighbours that bracket it in date order.
    let dates: BTreeMap<&str, (chrono::NaiveDate, chrono::NaiveDate)> = all
        .iter()
        .map(|(_, e)| (e.entry_id.as_str(), (e.date.start, e.date.end)))
        .collect();
    for (_, e) in all.iter().filter(|(_, e)| e.timeline == "north-korea") {
        if let Some(before) = &e.position.before {
            assert!(dates[before.as_str()].1 <= e.date.end, "{e:?}");
        }
        if let Some(after) = &e.position.after {
            assert!(dates[after.as_str()].1 >= e.date.end, "{e:?}");
        }
    }

    // The HTTP server holds the same timeline, in the same order.
    let (code, body) = svc
        .get("/timelines/north-korea", "application/json")
        .expect("GET /timelines/north-korea");
    assert_eq!(code, 200, "{body}");
    let served: serde_json::Value = serde_json::from_str(&body).unwrap();
    let served = served
        .get("entries")
        .cloned()
        .unwrap_or(served)
        .as_array()
        .cloned()
        .unwrap();
    let served_ids: Vec<&str> = served
        .iter()
        .map(|e| e["entry_id"].as_str().unwrap())
        .collect();
    let topic_ids: Vec<&str> = nk.iter().map(|e| e.entry_id.as_str()).collect();
    assert_eq!(served_ids, topic_ids);
}

/// A killed instance restarts from the changelog: new reports merge into the entries it had
/// and the versions continue.
#[test]
fn restart_restores_state_and_versions_continue() {
    let Some(brokers) = broker() else { return };
    let run = Run::new("tl-restart", 2);
    create_topics(&brokers, &run.n, run.partitions);
    let first = [article(SEED), article(KCNA)];
    produce(&brokers, &run.n.input, &first);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = run.config(dir.path(), &brokers, "a", port, "");
    let mut svc = Service::start(dir.path(), &config, port, "a");
    wait_done(&brokers, &run, 2, &mut [&mut svc]);
    svc.sigkill();

    produce(&brokers, &run.n.input, &[article(ASIA)]);
    let mut svc = Service::start(dir.path(), &config, port, "a");
    wait_done(&brokers, &run, 3, &mut [&mut svc]);
    let log = std::fs::read_to_string(&svc.log).unwrap();
    assert!(
        log.contains("timeline state restored"),
        "the restarted instance read its state back"
    );

    let all = entries(&brokers, &run.timelines);
    assert_exactly_once(&all);
    let nk = latest(&all, "north-korea");
    let test_day = nk
        .iter()
        .find(|e| e.date.value == "2019-12-07")
        .expect("the Dec. 7 test");
    assert_eq!(
        test_day.version, 3,
        "the third report continued the restored entry: {:?}",
        test_day.sources
    );
    assert_eq!(test_day.sources.len(), 3);
}

/// Articles about several entities, for the scale-out test: each names two of them and dates
/// two events.
fn synthetic(i: usize) -> (String, String, i64) {
    const WHO: [&str; 8] = [
        "Japan", "Germany", "Brazil", "Kenya", "Canada", "Norway", "Chile", "Egypt",
    ];
    let (a, b) = (WHO[i % 8], WHO[(i / 8 + i + 1) % 8]);
    let day = 1 + i % 27;
    let published =
        chrono::NaiveDate::from_ymd_opt(2021, 6, 1).unwrap() + chrono::Duration::days(i as i64 / 4);
    let id = format!("syn-{i}");
    let text = format!(
        "{a} and {b} signed a trade agreement on March {day}, 2021. Officials from {a} met \
         {b}'s delegation in Geneva on April {day}, 2021."
    );
    let value = serde_json::json!({
        "id": id,
        "published_at": format!("{published}T08:00:00Z"),
        "source": format!("Wire {}", i % 3),
        "text": text,
    })
    .to_string();
    let ts = chrono::DateTime::parse_from_rfc3339(&format!("{published}T08:00:00Z"))
        .unwrap()
        .timestamp_millis();
    (id, value, ts)
}

/// Every (timeline, report) the inputs should give, from the library itself.
fn expected_reports(inputs: &[(String, String, i64)], topic: &str) -> BTreeSet<(String, String)> {
    let aliases = Aliases::builtin();
    let kinds = [TimelineKind::Global, TimelineKind::Entity];
    let mut out = BTreeSet::new();
    for (_, value, _) in inputs {
        let a = article::decode(
            Some(value.as_bytes()),
            1 << 20,
            &Fallback {
                id: "unused".into(),
                published_at: None,
            },
        )
        .unwrap();
        for r in timeline::extract(&a) {
            for key in timeline_keys(&r, topic, &kinds, &aliases) {
                out.insert((key, r.event_id.clone()));
            }
        }
    }
    out
}

/// What the latest entry versions hold: every (timeline, report), each exactly once.
fn actual_reports(all: &[(OwnedMessage, TimelineEntry)]) -> BTreeSet<(String, String)> {
    let keys: BTreeSet<&str> = all.iter().map(|(_, e)| e.timeline.as_str()).collect();
    let mut out = BTreeSet::new();
    for key in keys {
        for e in latest(all, key) {
            for s in &e.sources {
                assert!(
                    out.insert((key.to_string(), s.event_id.clone())),
                    "{key}: report {} in two entries",
                    s.event_id
                );
            }
        }
    }
    out
}

/// Two instances share the work, a third joins, one is killed: no report is lost or doubled,
/// and no entry version is published twice.
#[test]
fn instances_join_and_leave_without_loss_or_doubles() {
    let Some(brokers) = broker() else { return };
    let run = Run::new("tl-scale", 4);
    create_topics(&brokers, &run.n, run.partitions);
    let inputs: Vec<_> = (0..400).map(synthetic).collect();
    let dir = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port(), free_port()];
    let configs: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .zip(ports)
        .map(|(name, port)| run.config(dir.path(), &brokers, name, port, ""))
        .collect();
    let mut a = Service::start(dir.path(), &configs[0], ports[0], "a");
    let mut b = Service::start(dir.path(), &configs[1], ports[1], "b");
    produce(&brokers, &run.n.input, &inputs[..150]);
    std::thread::sleep(Duration::from_secs(4));
    let mut c = Service::start(dir.path(), &configs[2], ports[2], "c");
    produce(&brokers, &run.n.input, &inputs[150..300]);
    std::thread::sleep(Duration::from_secs(4));
    b.sigkill();
    produce(&brokers, &run.n.input, &inputs[300..]);
    wait_done(&brokers, &run, inputs.len() as i64, &mut [&mut a, &mut c]);

    let all = entries(&brokers, &run.timelines);
    assert_exactly_once(&all);
    let want = expected_reports(&inputs, &run.n.input);
    let got = actual_reports(&all);
    let lost: Vec<_> = want.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&want).take(5).collect();
    assert!(lost.is_empty(), "lost reports, e.g. {lost:?}");
    assert!(extra.is_empty(), "unexpected reports, e.g. {extra:?}");
    // The work was really shared: more than one instance logged a restore of some partitions.
    let restored = ["a", "c"]
        .iter()
        .filter(|name| {
            std::fs::read_to_string(dir.path().join(format!("{name}.log")))
                .unwrap_or_default()
                .contains("timeline state restored")
        })
        .count();
    assert_eq!(restored, 2);
}

fn replay(brokers: &str, run: &Run, group: &str, output: &str, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dateline"))
        .args([
            "replay",
            "--brokers",
            brokers,
            "--input-topic",
            &run.n.input,
            "--group",
            group,
            "--output",
            output,
            "--quiet",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Replaying the same range twice gives identical keys and values, partition by partition;
/// `--from-timestamp` and `--to` take offsets from the broker; the live group is untouched.
#[test]
fn replays_give_identical_output_and_leave_the_live_group_alone() {
    let Some(brokers) = broker() else { return };
    let run = Run::new("tl-replay", 3);
    create_topics(&brokers, &run.n, run.partitions);
    let mut inputs: Vec<_> = (0..60).map(synthetic).collect();
    inputs.extend([article(ASIA), article(SEED), article(KCNA)]);
    produce(&brokers, &run.n.input, &inputs);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = run.config(dir.path(), &brokers, "a", port, "");
    let mut svc = Service::start(dir.path(), &config, port, "a");
    wait_done(&brokers, &run, inputs.len() as i64, &mut [&mut svc]);
    let live_before = committed(&brokers, &run.n.group, &run.n.input, run.partitions);

    let outputs = [
        format!("{}-r1", run.timelines),
        format!("{}-r2", run.timelines),
    ];
    for (i, output) in outputs.iter().enumerate() {
        let summary = replay(
            &brokers,
            &run,
            &format!("{}-replay-{i}", run.n.group),
            output,
            &["--from-beginning"],
        );
        assert!(
            summary.contains(&format!("\"inputs\":{}", inputs.len())),
            "{summary}"
        );
    }
    let read = |topic: &str| -> Vec<(i32, Vec<u8>, Vec<u8>)> {
        read_committed(&brokers, topic, deadline())
            .unwrap()
            .into_iter()
            .map(|m| {
                (
                    m.partition(),
                    m.key().unwrap().to_vec(),
                    m.payload().unwrap().to_vec(),
                )
            })
            .collect()
    };
    let (one, two) = (read(&outputs[0]), read(&outputs[1]));
    assert!(!one.is_empty());
    assert!(one == two, "two replays differ");
    // The replay rebuilt the same timelines as the live stage: same reports in each.
    let replayed: Vec<(OwnedMessage, TimelineEntry)> =
        read_committed(&brokers, &outputs[0], deadline())
            .unwrap()
            .into_iter()
            .map(|m| {
                let e = serde_json::from_slice(m.payload().unwrap()).unwrap();
                (m, e)
            })
            .collect();
    let live = entries(&brokers, &run.timelines);
    assert_eq!(actual_reports(&replayed), actual_reports(&live));

    // A time range: only articles published from June 5, 2021 (timestamps are publication
    // times), up to June 10 exclusive.
    let from = "2021-06-05T00:00:00Z";
    let to = "2021-06-10T00:00:00Z";
    let summary = replay(
        &brokers,
        &run,
        &format!("{}-replay-range", run.n.group),
        &format!("{}-r3", run.timelines),
        &["--from-timestamp", from, "--to", to],
    );
    let lo = chrono::DateTime::parse_from_rfc3339(from)
        .unwrap()
        .timestamp_millis();
    let hi = chrono::DateTime::parse_from_rfc3339(to)
        .unwrap()
        .timestamp_millis();
    let in_range = inputs
        .iter()
        .filter(|(_, _, ts)| *ts >= lo && *ts < hi)
        .count();
    assert!(in_range > 0 && in_range < inputs.len());
    assert!(
        summary.contains(&format!("\"inputs\":{in_range}")),
        "{summary} (want {in_range})"
    );

    assert_eq!(
        committed(&brokers, &run.n.group, &run.n.input, run.partitions),
        live_before,
        "the live group's offsets did not move"
    );
    let replay_group = committed(
        &brokers,
        &format!("{}-replay-0", run.n.group),
        &run.n.input,
        run.partitions,
    );
    assert_eq!(
        replay_group.values().sum::<i64>(),
        inputs.len() as i64,
        "the replay recorded its range in its own group"
    );
}

/// Watermark mode: per timeline, released entries come out in date order; a report dated
/// before what was already released goes to the late topic, marked late, and is counted.
#[test]
fn watermark_mode_releases_in_order_and_routes_late_events() {
    let Some(brokers) = broker() else { return };
    let run = Run::new("tl-watermark", 1);
    create_topics(&brokers, &run.n, run.partitions);
    let story = |id: &str, published: &str, text: &str| {
        let v = serde_json::json!({
            "id": id, "published_at": published, "source": "Wire", "text": text,
        })
        .to_string();
        let ts = chrono::DateTime::parse_from_rfc3339(published)
            .unwrap()
            .timestamp_millis();
        (id.to_string(), v, ts)
    };
    let inputs = [
        story(
            "w1",
            "2021-03-20T09:00:00Z",
            "Norway opened a new bridge on March 15, 2021. Norway closed the old ferry on March 2, 2021.",
        ),
        story(
            "w2",
            "2021-03-22T09:00:00Z",
            "Norway signed a fishing treaty on March 9, 2021.",
        ),
        story(
            "w3",
            "2021-03-30T09:00:00Z",
            "Norway held a general strike on March 25, 2021.",
        ),
        story(
            "w4",
            "2021-04-05T09:00:00Z",
            "Norway announced new elections on April 1, 2021.",
        ),
    ];
    produce(&brokers, &run.n.input, &inputs);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = run.config(
        dir.path(),
        &brokers,
        "a",
        port,
        "ordering = \"watermark\"\nallowed_lateness_ms = 86400000",
    );
    let mut svc = Service::start(dir.path(), &config, port, "a");
    wait_done(&brokers, &run, inputs.len() as i64, &mut [&mut svc]);

    let out = entries(&brokers, &run.timelines);
    let norway: Vec<&TimelineEntry> = out
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e.timeline == "norway")
        .collect();
    let days: Vec<&str> = norway.iter().map(|e| e.date.value.as_str()).collect();
    assert!(
        norway.windows(2).all(|w| w[0].date.end <= w[1].date.end),
        "released in date order: {days:?}"
    );
    assert!(norway.iter().all(|e| !e.late));
    // w1's two events go out when w2 moves the watermark, w3's when w4 does; w4's own event
    // waits for a later article.
    assert_eq!(days, ["2021-03-02", "2021-03-15", "2021-03-25"]);

    let late = entries(&brokers, &run.late());
    let late_norway: Vec<&TimelineEntry> = late
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e.timeline == "norway")
        .collect();
    assert_eq!(late_norway.len(), 1, "{late_norway:?}");
    assert_eq!(late_norway[0].date.value, "2021-03-09");
    assert!(late_norway[0].late);
    let (_, metrics) = svc.get("/metrics", "text/plain").unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("dateline_timeline_late_total") && !l.ends_with(" 0")),
        "late changes counted"
    );
}

/// The state read back after a rebalance includes a transaction that was still open when the
/// read began, once it commits, and leaves it out once it aborts. (A read that stopped at the
/// last stable offset lost the previous owner's last batch whose commit marker had not reached
/// the changelog yet: a timeline's versions started again at 1.)
#[test]
fn restore_waits_for_an_undecided_changelog_transaction() {
    let Some(brokers) = broker() else { return };
    let n = names("tl-undecided");
    create_topics(&brokers, &n, 1);
    let changelog = n.output.clone();
    let config = dateline::config::Config::from_toml(&format!(
        "[kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"{}\"\n",
        n.group
    ))
    .unwrap();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("transactional.id", &n.txn)
        .create()
        .unwrap();
    producer.init_transactions(Duration::from_secs(30)).unwrap();
    for (round, commit) in [(0, true), (1, false)] {
        producer.begin_transaction().unwrap();
        for i in 0..3 {
            let key = format!("undecided-{round}-{i}");
            producer
                .send(
                    BaseRecord::to(&changelog)
                        .partition(0)
                        .key(&key)
                        .payload("{}"),
                )
                .unwrap();
        }
        producer.flush(Duration::from_secs(30)).unwrap();
        let reader = {
            let (config, changelog) = (config.clone(), changelog.clone());
            std::thread::spawn(move || {
                dateline::pipeline::timelines::read_changelog(&config, &changelog, 0)
                    .map(|(_, records)| records)
                    .map_err(|e| e.to_string())
            })
        };
        std::thread::sleep(Duration::from_secs(3));
        assert!(
            !reader.is_finished(),
            "round {round}: the read ended while the transaction was open"
        );
        if commit {
            producer
                .commit_transaction(Duration::from_secs(30))
                .unwrap();
        } else {
            producer.abort_transaction(Duration::from_secs(30)).unwrap();
        }
        let records = reader.join().unwrap().unwrap();
        // Committed: its 3 records. Aborted: only the 3 committed in round 0.
        assert_eq!(records, 3, "round {round} (commit: {commit})");
    }
}
