//! The fault-injection suite's machinery: scale, seeded randomness, topics, producers, the
//! `dateline run` processes, progress probes, expected outcomes and exact comparison, a private
//! broker that can be restarted, and the results file of `scripts/faults.sh`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use rdkafka::Message;
use rdkafka::Timestamp;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use dateline::pipeline::demo::read_committed;
use dateline::pipeline::sink::header;
use dateline::pipeline::worker::{self, Outcome};

use crate::common::Names;

/// Record timestamp of every produced input (plain-text articles are dated by it).
pub const TIMESTAMP_MS: i64 = 1_700_000_000_000;

/// One test at a time: the broker and the two cores are shared, a throughput figure means
/// nothing next to another test, and the private broker test must not be starved.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Scale and randomness

/// `FAULTS_SCALE=full` (scripts/faults.sh) runs the full versions; anything else the short ones.
pub fn full() -> bool {
    std::env::var("FAULTS_SCALE").as_deref() == Ok("full")
}

/// A size: the environment variable `name` if set, else `short` or `full` by [`full`].
pub fn param(name: &str, short: usize, full_size: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) if full() => full_size,
        Err(_) => short,
    }
}

/// The seed of a test's random choices: `FAULTS_SEED`, or the clock. Printed, so a failing run
/// can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = match std::env::var("FAULTS_SEED") {
        Ok(v) => v.parse().expect("FAULTS_SEED is a number"),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    };
    println!("faults/{test}: seed {seed} (replay with FAULTS_SEED={seed})");
    seed
}

/// SplitMix64: small, seeded, good enough to place faults.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// An input record: key and value (`None`: a tombstone).
pub type Input = (String, Option<Vec<u8>>);

/// A short news article with explicit dates; shapes vary so articles have 0 to 6 records, in
/// several UTC offsets. Dates and publication times are spread over decades, so that few
/// articles report the same event: the timeline stage folds the reports of one event into one
/// entry, and this suite is about the article records.
pub fn article(i: usize) -> Input {
    let id = format!("art-{i}");
    let day = |salt: usize| {
        NaiveDate::from_ymd_opt(1990, 1, 1).unwrap()
            + chrono::Days::new(((i * 7919 + salt * 104_729) % 12_000) as u64)
    };
    let (d0, d1, d2) = (day(0), day(1), day(2));
    let published =
        NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Days::new(((i * 31) % 9000) as u64);
    let offset = ["Z", "+09:00", "-05:00", "+01:00"][i % 4];
    let text = match i % 5 {
        0 | 1 => format!(
            "Article {i}: the council approved the plan on {}. Construction began in {} and \
             will finish on {}.",
            d0.format("%B %-d, %Y"),
            d1.format("%B %Y"),
            d2.format("%B %-d, %Y")
        ),
        2 => format!(
            "Officials said on Monday that talks first held on {} would resume in {}, article \
             {i} reported.",
            d0.format("%B %-d, %Y"),
            d1.format("%B %Y")
        ),
        3 => format!(
            "The court ruled on {} 7 and 13, {} that the law, passed in {}, stands; a hearing \
             on case {i} is set for {} 11 to 13.",
            d0.format("%B"),
            d0.format("%Y"),
            d1.format("%B %Y"),
            d2.format("%B")
        ),
        _ => format!("Nothing in article {i} is dated: the committee keeps meeting."),
    };
    let value = serde_json::json!({
        "id": id,
        "published_at": format!("{}T08:00:00{offset}", published.format("%Y-%m-%d")),
        "source": "Fault Wire",
        "text": text,
    });
    (id, Some(value.to_string().into_bytes()))
}

/// The poison kinds of the poison flood, as named in `dlq-error-kind`.
pub const POISON_KINDS: [&str; 6] = [
    "invalid_utf8",
    "invalid_json",
    "missing_text",
    "bad_published_at",
    "too_large",
    "empty",
];

/// A poison record of `kind` (see [`POISON_KINDS`]); `limit` is the service's
/// `max_message_bytes`.
pub fn poison(i: usize, kind: &str, limit: usize) -> Input {
    let key = format!("bad-{i}");
    let value = match kind {
        "invalid_utf8" => {
            let mut v = format!("Article {i} was filed on Monday ").into_bytes();
            v.extend_from_slice(b"\xc3\x28\xff broken");
            Some(v)
        }
        "invalid_json" => Some(format!("{{\"id\":\"{key}\",\"text\":\"cut off").into_bytes()),
        "missing_text" => Some(
            format!(r#"{{"id":"{key}","published_at":"2023-01-01T00:00:00Z","text":"  "}}"#)
                .into_bytes(),
        ),
        "bad_published_at" => Some(
            format!(r#"{{"id":"{key}","published_at":"next Tuesday","text":"On Monday."}}"#)
                .into_bytes(),
        ),
        "too_large" => Some(format!("On Monday {i}. ").repeat(limit / 8).into_bytes()),
        "empty" => None,
        other => panic!("unknown poison kind {other}"),
    };
    (key, value)
}

// ---------------------------------------------------------------------------------------------
// Topics and producers

/// Creates `topics` as `(name, partitions, max.message.bytes or None)`, retention off (test
/// records carry old timestamps).
pub fn create_topics(brokers: &str, topics: &[(&str, i32, Option<usize>)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let max: Vec<Option<String>> = topics.iter().map(|t| t.2.map(|m| m.to_string())).collect();
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&max)
        .map(|((name, partitions, _), max)| {
            let t = NewTopic::new(name, *partitions, TopicReplication::Fixed(1))
                .set("retention.ms", "-1");
            match max {
                Some(m) => t.set("max.message.bytes", m),
                None => t,
            }
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = rt
        .block_on(admin.create_topics(&new, &AdminOptions::new()))
        .expect("create_topics");
    for r in results {
        r.expect("topic created");
    }
}

/// The usual three topics of a run: input (`partitions`), output (3), dead letters (1).
pub fn create_run_topics(brokers: &str, n: &Names, partitions: i32) {
    create_topics(
        brokers,
        &[
            (&n.input, partitions, None),
            (&n.output, 3, None),
            (&n.dlq, 1, None),
        ],
    );
}

/// An idempotent producer (no input record is written twice, even across a broker restart).
pub fn producer(brokers: &str, max_bytes: usize) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "10")
        .set("message.max.bytes", (max_bytes + 64 * 1024).to_string())
        .create()
        .unwrap()
}

/// Records the keys of the records acknowledged (in a set that outlives the producer, so that a
/// replacement producer knows what is still to send) and of those whose delivery failed.
#[derive(Default)]
pub struct FailedDeliveries {
    delivered: std::sync::Arc<Mutex<std::collections::BTreeSet<String>>>,
    failed: Mutex<Vec<String>>,
}

impl rdkafka::ClientContext for FailedDeliveries {}

impl rdkafka::producer::ProducerContext for FailedDeliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, _: ()) {
        let key = |m: &rdkafka::message::BorrowedMessage<'_>| {
            m.key()
                .and_then(|k| std::str::from_utf8(k).ok())
                .map(str::to_string)
        };
        match result {
            Ok(m) => {
                if let Some(k) = key(m) {
                    self.delivered.lock().unwrap().insert(k);
                }
            }
            Err((_, m)) => {
                if let Some(k) = key(m) {
                    self.failed.lock().unwrap().push(k);
                }
            }
        }
    }
}

impl FailedDeliveries {
    /// The keys that failed since the last call.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.failed.lock().unwrap())
    }

    /// Whether record `key` was acknowledged (by this producer or an earlier one).
    pub fn delivered(&self, key: &str) -> bool {
        self.delivered.lock().unwrap().contains(key)
    }
}

/// [`producer`], remembering deliveries: across a broker restart the idempotent producer can
/// fail a record (an out-of-order sequence), or stop sending altogether, and a load generator
/// must then send again what was not acknowledged. `delivered` is shared by the producers that
/// replace one another.
pub fn resending_producer(
    brokers: &str,
    max_bytes: usize,
    delivered: &std::sync::Arc<Mutex<std::collections::BTreeSet<String>>>,
) -> BaseProducer<FailedDeliveries> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "10")
        .set("message.max.bytes", (max_bytes + 64 * 1024).to_string())
        .create_with_context(FailedDeliveries {
            delivered: std::sync::Arc::clone(delivered),
            failed: Mutex::default(),
        })
        .unwrap()
}

/// Enqueues one record, with an `origin` header carrying its key.
pub fn send<C: rdkafka::producer::ProducerContext<DeliveryOpaque = ()>>(
    producer: &BaseProducer<C>,
    topic: &str,
    (key, value): &Input,
) {
    let headers = OwnedHeaders::new().insert(Header {
        key: "origin",
        value: Some(key.as_str()),
    });
    let mut record = BaseRecord::<str, [u8]>::to(topic)
        .key(key.as_str())
        .headers(headers)
        .timestamp(TIMESTAMP_MS);
    if let Some(v) = value {
        record = record.payload(v.as_slice());
    }
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((_, back)) => {
                record = back;
                producer.poll(Duration::from_millis(20));
            }
        }
    }
}

/// Produces `records` and waits for every acknowledgement.
pub fn produce(brokers: &str, topic: &str, records: &[Input]) {
    let producer = producer(brokers, 1 << 20);
    for r in records {
        send(&producer, topic, r);
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(120)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The service

/// What a `dateline run` instance is configured with.
#[derive(Clone)]
pub struct ServiceConfig {
    pub brokers: String,
    pub group: String,
    pub txn: String,
    pub input: String,
    pub output: String,
    pub dlq: String,
    pub max_records: usize,
    pub max_ms: u64,
    pub max_message_bytes: usize,
    pub worker_threads: usize,
    /// `pipeline.shutdown_timeout_ms`.
    pub shutdown_timeout_ms: u64,
}

impl ServiceConfig {
    /// Exactly once, small batches, a 4 KiB value limit (articles are ~300 bytes).
    pub fn new(brokers: &str, n: &Names) -> ServiceConfig {
        ServiceConfig {
            brokers: brokers.to_string(),
            group: n.group.clone(),
            txn: n.txn.clone(),
            input: n.input.clone(),
            output: n.output.clone(),
            dlq: n.dlq.clone(),
            max_records: 50,
            max_ms: 50,
            max_message_bytes: 4096,
            worker_threads: 2,
            shutdown_timeout_ms: 30_000,
        }
    }

    /// Writes the TOML file of instance `name` into `dir`.
    fn write(&self, dir: &Path, name: &str, port: u16) -> PathBuf {
        let path = dir.join(format!("{name}.toml"));
        // A session timeout at the broker's minimum, so a killed instance's partitions move on
        // quickly; a short transaction timeout, so the open transaction of an instance that
        // never comes back is aborted by the coordinator within seconds (it holds back
        // read_committed readers and the new owner's committed offsets until then).
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
"transaction.timeout.ms" = 10000
[topics]
input = "{input}"
output = "{output}"
dlq = "{dlq}"
[batch]
max_records = {max_records}
max_ms = {max_ms}
[pipeline]
max_message_bytes = {max_bytes}
worker_threads = {workers}
shutdown_timeout_ms = {shutdown_ms}
[http]
address = "127.0.0.1:{port}"
[log]
format = "json"
level = "info,librdkafka=warn"
[timelines]
output = "{output}.timelines"
"#,
            brokers = self.brokers,
            group = self.group,
            txn = self.txn,
            input = self.input,
            output = self.output,
            dlq = self.dlq,
            max_records = self.max_records,
            max_ms = self.max_ms,
            max_bytes = self.max_message_bytes,
            workers = self.worker_threads,
            shutdown_ms = self.shutdown_timeout_ms,
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// A running `dateline run`; its log is `<dir>/<name>-<run>.log`.
pub struct Service {
    child: Child,
    pub name: String,
    pub port: u16,
    dir: PathBuf,
    pub started: Instant,
}

/// A free TCP port on 127.0.0.1 (for /metrics).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Service {
    /// Starts instance `name` (run number `run`: each run has its own log file).
    pub fn start(dir: &Path, config: &ServiceConfig, name: &str, port: u16, run: usize) -> Service {
        let path = config.write(dir, name, port);
        let log = std::fs::File::create(dir.join(format!("{name}-{run:02}.log"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_dateline"))
            .args(["run", "--config"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawning dateline run");
        Service {
            child,
            name: name.to_string(),
            port,
            dir: dir.to_path_buf(),
            started: Instant::now(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The backtrace of every thread of the running process, through `gdb` when it is installed
    /// (the whole dump goes to `<dir>/<name>-stacks.txt`); for each thread, its name and the
    /// frames of dateline's own code and of the librdkafka call it waits in.
    pub fn stacks(&self) -> Option<String> {
        let out = Command::new("gdb")
            .args(["-p", &self.pid().to_string(), "-batch", "-nx"])
            .args(["-ex", "set pagination off", "-ex", "thread apply all bt 40"])
            .stdin(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let _ = std::fs::write(self.dir.join(format!("{}-stacks.txt", self.name)), &text);
        let summary: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.starts_with("Thread ")
                    || l.contains("dateline::")
                    || (l.contains(" rd_kafka_") && !l.contains("rd_kafka_q_"))
            })
            .collect();
        Some(summary.join("\n"))
    }

    pub fn sigkill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn sigterm(&mut self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM");
    }

    /// SIGTERM, then the exit status (panics with the logs after `within`).
    pub fn stop(&mut self, within: Duration) -> ExitStatus {
        self.sigterm();
        let deadline = Instant::now() + within;
        let mut dumped = false;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            // Slow to stop: where every thread is, for the failure message (`gdb`, if present).
            if !dumped && deadline.saturating_duration_since(Instant::now()) < within / 2 {
                dumped = true;
                if let Some(where_) = self.stacks() {
                    eprintln!(
                        "{} slow to stop after SIGTERM; its threads:\n{where_}",
                        self.name
                    );
                }
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "{} did not exit within {within:?}\n{}",
                    self.name,
                    logs(&self.dir)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, and asserts a clean exit (status 0), with the logs otherwise.
    pub fn stop_ok(&mut self) {
        let status = self.stop(Duration::from_secs(180));
        assert!(
            status.success(),
            "{} exited with {status} after SIGTERM\n{}",
            self.name,
            logs(&self.dir)
        );
    }

    /// `Err` with the exit status when the process has exited.
    pub fn alive(&mut self) -> Result<(), String> {
        match self.child.try_wait().unwrap() {
            Some(status) => Err(format!("{} exited with {status}", self.name)),
            None => Ok(()),
        }
    }

    pub fn assert_running(&mut self) {
        if let Err(e) = self.alive() {
            panic!("{e}\n{}", logs(&self.dir));
        }
    }

    /// `GET path` on the service's HTTP port: status code and body.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        let code = body.split_whitespace().nth(1)?.parse().ok()?;
        let body = body.split_once("\r\n\r\n")?.1.to_string();
        Some((code, body))
    }

    /// The value of an unlabelled or labelled metric line `name` in /metrics.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let (_, metrics) = self.get("/metrics")?;
        metrics
            .lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    /// The /metrics lines of the metrics `names` (all their labels), for a failure message.
    pub fn metric_lines(&self, names: &[&str]) -> String {
        let Some((_, metrics)) = self.get("/metrics") else {
            return "no answer on /metrics".into();
        };
        metrics
            .lines()
            .filter(|l| names.iter().any(|n| l.starts_with(n)))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// This instance's log lines (all runs) that contain `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        let mut out = Vec::new();
        for f in log_files(&self.dir) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with(&format!("{}-", self.name)) {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            out.extend(
                text.lines()
                    .filter(|l| l.contains(needle))
                    .map(String::from),
            );
        }
        out
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "log"));
    files.sort();
    files
}

/// The last lines of every log in `dir`, for failure messages.
pub fn logs(dir: &Path) -> String {
    let mut all = String::new();
    for f in log_files(dir) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        // librdkafka's notes on properties meant for the other client, and end-of-partition
        // events, say nothing about a failure.
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("CONFWARN") && !l.contains("PartitionEOF"))
            .collect();
        all.push_str(&format!("--- {}\n", f.display()));
        for l in &lines[lines.len().saturating_sub(20)..] {
            all.push_str(l);
            all.push('\n');
        }
    }
    all
}

/// Where a test's configs and service logs go: `$FAULTS_LOG_DIR/<test>` when set (kept, for
/// scripts/faults.sh), else a temporary directory removed at the end.
pub enum WorkDir {
    Kept(PathBuf),
    Temp(tempfile::TempDir),
}

impl WorkDir {
    pub fn new(test: &str) -> WorkDir {
        match std::env::var("FAULTS_LOG_DIR") {
            Ok(root) => {
                let dir = Path::new(&root).join(test);
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).unwrap();
                WorkDir::Kept(dir)
            }
            Err(_) => WorkDir::Temp(tempfile::tempdir().unwrap()),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            WorkDir::Kept(p) => p,
            WorkDir::Temp(t) => t.path(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Progress

/// The group's committed offsets on the input topic, read the way an operator would.
///
/// An observer that does not subscribe (it only asks for the group's offsets) can be left
/// waiting on a coordinator that went away with a restarted broker, which librdkafka does not
/// always look up again (librdkafka#2791). So a client whose look-ups keep failing is replaced
/// by a new one, as an operator would rerun their command: the test measures the service, not
/// the observer.
pub struct Progress {
    consumer: std::cell::RefCell<BaseConsumer>,
    brokers: String,
    group: String,
    partitions: TopicPartitionList,
    topic: String,
    /// Since when look-ups have failed, and the last error.
    failing: std::cell::RefCell<Option<(Instant, String)>>,
}

/// How long look-ups may fail before the observer's client is replaced.
const OBSERVER_PATIENCE: Duration = Duration::from_secs(10);

fn observer(brokers: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        // read_committed would make OffsetFetch wait for a killed instance's open
        // transaction (KIP-447 "require stable"); the last committed offsets are wanted.
        .set("isolation.level", "read_uncommitted")
        .create()
        .unwrap()
}

impl Progress {
    pub fn new(brokers: &str, group: &str, topic: &str) -> Progress {
        let consumer = observer(brokers, group);
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(30))
            .unwrap();
        let mut partitions = TopicPartitionList::new();
        for t in metadata.topics() {
            for p in t.partitions() {
                partitions.add_partition(topic, p.id());
            }
        }
        assert!(partitions.count() > 0, "no partitions for {topic}");
        Progress {
            consumer: std::cell::RefCell::new(consumer),
            brokers: brokers.to_string(),
            group: group.to_string(),
            partitions,
            topic: topic.to_string(),
            failing: std::cell::RefCell::new(None),
        }
    }

    /// Sum of the committed offsets (`None` when the broker does not answer).
    pub fn committed(&self) -> Option<i64> {
        let result = self
            .consumer
            .borrow()
            .committed_offsets(self.partitions.clone(), Duration::from_secs(5));
        match result {
            Ok(committed) => {
                *self.failing.borrow_mut() = None;
                Some(sum_offsets(&committed))
            }
            Err(e) => {
                let mut failing = self.failing.borrow_mut();
                let since = failing.as_ref().map_or_else(Instant::now, |(t, _)| *t);
                if since.elapsed() > OBSERVER_PATIENCE {
                    eprintln!(
                        "progress: offset look-ups failing for {OBSERVER_PATIENCE:?} ({e}); new client"
                    );
                    *self.consumer.borrow_mut() = observer(&self.brokers, &self.group);
                    *failing = Some((Instant::now(), e.to_string()));
                } else {
                    *failing = Some((since, e.to_string()));
                }
                None
            }
        }
    }

    /// Why look-ups are failing, if they are.
    fn failure(&self) -> Option<String> {
        self.failing.borrow().as_ref().map(|(t, e)| {
            format!(
                "offset look-ups failing for {:.1} s: {e}",
                t.elapsed().as_secs_f64()
            )
        })
    }

    /// Sum of the input's end offsets: how many records were produced.
    pub fn end(&self) -> i64 {
        self.partitions
            .elements()
            .iter()
            .map(|e| {
                self.consumer
                    .borrow()
                    .fetch_watermarks(&self.topic, e.partition(), Duration::from_secs(10))
                    .unwrap()
                    .1
            })
            .sum()
    }

    /// Waits until the committed offsets add up to `at_least`; every service in `alive` must
    /// stay up meanwhile. Returns the committed sum.
    pub fn wait(&self, at_least: i64, alive: &mut [&mut Service], within: Duration) -> i64 {
        let deadline = Instant::now() + within;
        let mut last = 0;
        loop {
            if let Some(done) = self.committed() {
                last = done;
                if done >= at_least {
                    return done;
                }
            }
            for svc in alive.iter_mut() {
                svc.assert_running();
            }
            if Instant::now() > deadline {
                for svc in alive.iter() {
                    if let Some(where_) = svc.stacks() {
                        eprintln!("{}: no progress; its threads:\n{where_}", svc.name);
                    }
                }
                let dir = alive.first().map(|s| logs(&s.dir)).unwrap_or_default();
                // A second opinion from a new client, and the services' own count.
                let fresh = observer(&self.brokers, &self.group)
                    .committed_offsets(self.partitions.clone(), Duration::from_secs(10))
                    .map(|c| sum_offsets(&c).to_string())
                    .unwrap_or_else(|e| e.to_string());
                let metrics: Vec<String> = alive
                    .iter()
                    .map(|s| {
                        s.metric_lines(&[
                            "dateline_articles_consumed_total",
                            "dateline_transactions_aborted_total",
                            "dateline_stage_restarts_total",
                            "dateline_consumer_lag_messages",
                        ])
                    })
                    .collect();
                panic!(
                    "committed {last} < {at_least} after {within:?} ({}); a new client reads \
                     {fresh}; the services report {metrics:?}\n{dir}",
                    self.failure().unwrap_or_else(|| "look-ups answered".into())
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn sum_offsets(committed: &TopicPartitionList) -> i64 {
    committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Expected outcomes and what was committed

/// What one input must turn into.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// An article: its timeline key and its records' JSON values, in order (maybe none).
    Records(String, Vec<Vec<u8>>),
    /// A dead letter of this kind.
    Dead(&'static str),
}

/// The outcome the pipeline's own worker gives `input` at `topic/partition/offset` (offsets
/// matter for plain-text ids only).
pub fn expect(
    input: &Input,
    topic: &str,
    partition: i32,
    offset: i64,
    max_message_bytes: usize,
) -> Expect {
    let message = OwnedMessage::new(
        input.1.clone(),
        Some(input.0.clone().into_bytes()),
        topic.to_string(),
        Timestamp::CreateTime(TIMESTAMP_MS),
        partition,
        offset,
        None,
    );
    match worker::process(&message, max_message_bytes) {
        Outcome::Article(a) => Expect::Records(
            a.article_id,
            a.records.into_iter().map(|r| r.value).collect(),
        ),
        Outcome::Poison(p) => Expect::Dead(p.kind),
    }
}

/// Expected records by timeline for JSON inputs (no plain text: the offset does not matter).
pub fn expected_timelines(inputs: &[Input], limit: usize) -> BTreeMap<String, Vec<Vec<u8>>> {
    inputs
        .iter()
        .filter_map(|i| match expect(i, "unused", 0, 0, limit) {
            Expect::Records(id, records) if !records.is_empty() => Some((id, records)),
            _ => None,
        })
        .collect()
}

/// How many records of each key `topic` holds.
pub fn input_copies(brokers: &str, topic: &str) -> BTreeMap<String, usize> {
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for m in read_committed(brokers, topic, deadline).unwrap() {
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        *copies.entry(key).or_default() += 1;
    }
    copies
}

/// The expected timelines when input record `key` is in the input `copies[key]` times: each
/// copy is an article of its own to the service, so its records follow once per copy (copies
/// share a key, so a partition, and are processed in offset order).
pub fn repeat_timelines(
    want: BTreeMap<String, Vec<Vec<u8>>>,
    copies: &BTreeMap<String, usize>,
) -> BTreeMap<String, Vec<Vec<u8>>> {
    want.into_iter()
        .map(|(id, records)| {
            let n = copies.get(&id).copied().unwrap_or(1);
            let all = (0..n).flat_map(|_| records.iter().cloned()).collect();
            (id, all)
        })
        .collect()
}

/// Reads `topic` with read_committed, grouping values by key in offset order.
pub fn committed_by_key(brokers: &str, topic: &str) -> BTreeMap<String, Vec<Vec<u8>>> {
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut got: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for m in read_committed(brokers, topic, deadline).unwrap() {
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        got.entry(key)
            .or_default()
            .push(m.payload().unwrap_or_default().to_vec());
    }
    got
}

/// Dead letters read back (read_committed), by input key.
pub fn dead_letters(brokers: &str, topic: &str) -> BTreeMap<String, Vec<OwnedMessage>> {
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut got: BTreeMap<String, Vec<OwnedMessage>> = BTreeMap::new();
    for m in read_committed(brokers, topic, deadline).unwrap() {
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        got.entry(key).or_default().push(m);
    }
    got
}

/// The `dlq-error-kind` of each dead letter.
pub fn kinds(letters: &[OwnedMessage]) -> Vec<&str> {
    letters
        .iter()
        .map(|m| header(m, "dlq-error-kind").unwrap_or("<none>"))
        .collect()
}

/// How committed output differs from the expectation.
#[derive(Debug, Default, PartialEq)]
pub struct Diff {
    /// Expected records missing from the output.
    pub lost: usize,
    /// Records in the output beyond the expected ones (duplicates included).
    pub extra: usize,
    /// Timelines whose records differ (content or order), with a description of the first few.
    pub wrong: Vec<String>,
}

impl Diff {
    pub fn is_exact(&self) -> bool {
        *self == Diff::default()
    }
}

/// Compares committed timelines with the expected ones: each timeline's records exactly once,
/// in order, and no other timeline.
pub fn diff(got: &BTreeMap<String, Vec<Vec<u8>>>, want: &BTreeMap<String, Vec<Vec<u8>>>) -> Diff {
    let mut d = Diff::default();
    let note = |d: &mut Diff, id: &str, what: String| {
        if d.wrong.len() < 5 {
            d.wrong.push(format!("{id}: {what}"));
        } else if d.wrong.len() == 5 {
            d.wrong.push("...".into());
        }
    };
    for (id, records) in want {
        match got.get(id) {
            None => {
                d.lost += records.len();
                note(&mut d, id, format!("missing ({} records)", records.len()));
            }
            Some(g) if g == records => {}
            Some(g) => {
                let lost = records.iter().filter(|r| !g.contains(r)).count();
                d.lost += lost;
                d.extra += g.len().saturating_sub(records.len() - lost);
                note(
                    &mut d,
                    id,
                    format!("{} records committed, {} expected", g.len(), records.len()),
                );
            }
        }
    }
    for (id, g) in got {
        if !want.contains_key(id) {
            d.extra += g.len();
            note(
                &mut d,
                id,
                format!("{} records of an unexpected timeline", g.len()),
            );
        }
    }
    d
}

/// Total number of records in a timeline map.
pub fn count(m: &BTreeMap<String, Vec<Vec<u8>>>) -> usize {
    m.values().map(Vec::len).sum()
}

// ---------------------------------------------------------------------------------------------
// A private broker (scripts/kafka.sh on its own ports and data directory)

/// A second Kafka broker for one test, stoppable and restartable on its data without touching
/// the shared broker. Stopped, and its data removed, on drop.
pub struct PrivateBroker {
    pub port: u16,
    dir: tempfile::TempDir,
}

fn kafka_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka.sh")
}

impl PrivateBroker {
    /// Whether the broker's jars and a JVM are at hand (`scripts/kafka.sh fetch`).
    pub fn available() -> Result<(), String> {
        let out = Command::new("bash")
            .arg(kafka_sh())
            .arg("fetch")
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        match Command::new("java").arg("-version").output() {
            Ok(o) if o.status.success() => Ok(()),
            _ => Err("java not found".into()),
        }
    }

    /// Formats and starts a broker on two free ports (outside the ephemeral range, so no client
    /// socket takes them while it is down).
    pub fn start(rng: &mut Rng) -> PrivateBroker {
        let port = loop {
            let p = 20000 + 2 * rng.below(4000) as u16;
            let free = |q: u16| std::net::TcpListener::bind(("127.0.0.1", q)).is_ok();
            if free(p) && free(p + 1) {
                break p;
            }
        };
        let broker = PrivateBroker {
            port,
            dir: tempfile::tempdir().unwrap(),
        };
        broker.script("start");
        broker
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the broker (SIGTERM: a controlled shutdown), keeping its data.
    pub fn stop(&self) {
        self.script("stop");
    }

    /// Starts it again on the data it had.
    pub fn restart(&self) {
        self.script("start");
    }

    fn script(&self, action: &str) {
        let out = self.command(action, true).output().unwrap();
        assert!(
            out.status.success(),
            "kafka.sh {action} on port {}: {}",
            self.port,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn command(&self, action: &str, keep: bool) -> Command {
        let mut c = Command::new("bash");
        c.arg(kafka_sh())
            .arg(action)
            .env("KAFKA_PORT", self.port.to_string())
            .env("KAFKA_CONTROLLER_PORT", (self.port + 1).to_string())
            .env("KAFKA_RUN_DIR", self.dir.path().join("run"))
            .env("KAFKA_KEEP_DATA", if keep { "1" } else { "" })
            .env("KAFKA_HEAP_OPTS", "-Xms128m -Xmx512m")
            .stdin(Stdio::null());
        c
    }
}

impl Drop for PrivateBroker {
    /// Stops the broker and removes its data, unless `FAULTS_KEEP_BROKER` names a directory:
    /// then, when the test failed, the data moves there for a post-mortem
    /// (`kafka-dump-log.sh`, or `KAFKA_RUN_DIR=<dir>/run KAFKA_KEEP_DATA=1 scripts/kafka.sh start`).
    fn drop(&mut self) {
        let keep = std::env::var("FAULTS_KEEP_BROKER")
            .ok()
            .filter(|_| std::thread::panicking());
        let _ = self.command("stop", keep.is_some()).output();
        if let Some(root) = keep {
            let to = Path::new(&root).join(format!("broker-{}", self.port));
            let _ = std::fs::create_dir_all(&root);
            match std::fs::rename(self.dir.path(), &to) {
                Ok(()) => eprintln!("broker data kept in {}", to.display()),
                Err(e) => eprintln!("cannot keep the broker data: {e}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Results for scripts/faults.sh

/// Writes `value` to `$FAULTS_RESULTS_DIR/<test>.json` when that variable is set.
pub fn record_result(test: &str, value: serde_json::Value) {
    let Ok(dir) = std::env::var("FAULTS_RESULTS_DIR") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let path = Path::new(&dir).join(format!("{test}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

/// When a run committed its first batch and its last, in seconds since its start.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Seconds from start to the first committed batch (group join, `init_transactions`).
    pub first_commit_s: f64,
    /// Inputs committed by then.
    pub first_commit: i64,
    /// Seconds from start until every input was committed.
    pub done_s: f64,
}

impl Timing {
    /// Inputs per second from the first commit to the last (start-up excluded).
    pub fn steady_rate(&self, total: i64) -> f64 {
        let span = self.done_s - self.first_commit_s;
        if span <= 0.0 {
            return f64::NAN;
        }
        (total - self.first_commit) as f64 / span
    }
}

impl Progress {
    /// Waits until `total` inputs are committed by `svc`, timing the first and last commit.
    pub fn time(&self, total: i64, svc: &mut Service, within: Duration) -> Timing {
        let mut first: Option<(f64, i64)> = None;
        let deadline = Instant::now() + within;
        loop {
            let done = self.committed().unwrap_or(0);
            let t = svc.started.elapsed().as_secs_f64();
            if done > 0 && first.is_none() {
                first = Some((t, done));
            }
            if done >= total {
                let (first_commit_s, first_commit) = first.unwrap_or((t, done));
                return Timing {
                    first_commit_s,
                    first_commit,
                    done_s: t,
                };
            }
            svc.assert_running();
            assert!(
                Instant::now() < deadline,
                "committed {done} < {total} after {within:?}\n{}",
                logs(&svc.dir)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
