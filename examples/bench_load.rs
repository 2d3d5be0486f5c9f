//! Load generator and probes for `scripts/bench-pipeline.sh` (not part of the service).
//!
//! Articles are built from the TBAQ corpus: the plain text of each TimeML document's `<TEXT>`
//! (tags stripped, entities decoded, by [`dateline::timeml::Document`]) is split into
//! paragraphs, and consecutive paragraphs are concatenated into articles of 2-5 KB, with
//! publication times spread over ±4 years around the source document's creation date and over
//! four UTC offsets. The generator is deterministic for a given corpus.
//!
//! Subcommands (JSON summaries on stdout):
//! - `topics create|delete --brokers B [--partitions P] TOPIC...`
//! - `load --brokers B --topic T --n N --corpus DIR`: produce N articles as fast as possible;
//! - `wait --brokers B --group G --topic T --n N [--pid PID]`: poll the group's committed offsets
//!   every 50 ms until they add up to N; report when progress was first seen and when it
//!   completed, and the peak RSS (`VmHWM`) of PID at that moment;
//! - `latency --brokers B --input I --output O --rate R --seconds S --corpus DIR`: produce R
//!   articles/s for S seconds, each article id carrying its produce time, and read the output
//!   with a `read_committed` consumer; latency = arrival of an article's first timeline record
//!   minus its produce time (same host, same clock).
//! - `corpus --corpus DIR --out FILE`: the TBAQ documents as JSON lines `{id, published_at, dct,
//!   text}` (for `scripts/bench-tagger.sh`);
//! - `timeml --gold DIR --spans FILE --out DIR`: TimeML files with another tool's TIMEX3s (JSON
//!   lines `{id, timexes: [{start, end, type, value}]}`, byte spans into the plain text), written
//!   like `dateline annotate` writes its own, for `dateline eval`.

use std::collections::HashMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{Duration as Days, FixedOffset, NaiveDate, TimeZone};
use clap::{Parser, Subcommand};
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use serde_json::json;

use dateline::timeml::annotate::{place, render};
use dateline::timeml::{Document, TimexTag};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Topics {
        action: String,
        #[arg(long)]
        brokers: String,
        #[arg(long, default_value_t = 6)]
        partitions: i32,
        topics: Vec<String>,
    },
    Load {
        #[arg(long)]
        brokers: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        n: usize,
        #[arg(long)]
        corpus: PathBuf,
    },
    Wait {
        #[arg(long)]
        brokers: String,
        #[arg(long)]
        group: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        n: i64,
        #[arg(long)]
        pid: Option<u32>,
        #[arg(long, default_value_t = 1800)]
        timeout_s: u64,
        /// Then also wait until this group (a downstream stage) has consumed `--then-topic` to
        /// its end; its time is `drained_s`.
        #[arg(long, requires = "then_topic")]
        then_group: Option<String>,
        #[arg(long)]
        then_topic: Option<String>,
    },
    Latency {
        #[arg(long)]
        brokers: String,
        #[arg(long)]
        input: String,
        #[arg(long)]
        output: String,
        #[arg(long)]
        rate: f64,
        #[arg(long)]
        seconds: f64,
        #[arg(long)]
        corpus: PathBuf,
    },
    Corpus {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    Timeml {
        #[arg(long)]
        gold: PathBuf,
        #[arg(long)]
        spans: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Topics {
            action,
            brokers,
            partitions,
            topics,
        } => topics_cmd(&action, &brokers, partitions, &topics),
        Command::Load {
            brokers,
            topic,
            n,
            corpus,
        } => load(&brokers, &topic, n, &corpus),
        Command::Wait {
            brokers,
            group,
            topic,
            n,
            pid,
            timeout_s,
            then_group,
            then_topic,
        } => wait(
            &brokers,
            &group,
            &topic,
            n,
            pid,
            timeout_s,
            then_group.as_deref().zip(then_topic.as_deref()),
        ),
        Command::Latency {
            brokers,
            input,
            output,
            rate,
            seconds,
            corpus,
        } => latency(&brokers, &input, &output, rate, seconds, &corpus),
        Command::Corpus { corpus, out } => corpus_cmd(&corpus, &out),
        Command::Timeml { gold, spans, out } => timeml_cmd(&gold, &spans, &out),
    }
}

/// Every `*.tml` under `dir`, sorted, with its path relative to `dir`.
fn tml_files(dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, PathBuf)>) -> Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else if path.extension().is_some_and(|e| e == "tml") {
                let rel = path.strip_prefix(root)?.to_path_buf();
                out.push((path, rel));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// One corpus document: relative path, creation date and plain text.
struct Doc {
    id: String,
    dct: NaiveDate,
    text: String,
}

fn read_corpus(dir: &Path) -> Result<Vec<Doc>> {
    let mut docs = Vec::new();
    for (path, rel) in tml_files(dir)? {
        let doc = Document::parse(std::fs::read_to_string(&path)?)?;
        let Some(dct) = doc.dct() else { continue };
        let Some(day) = dct.value.get(..10) else {
            continue;
        };
        let dct = NaiveDate::parse_from_str(day, "%Y-%m-%d")?;
        docs.push(Doc {
            id: rel.to_string_lossy().into_owned(),
            dct,
            text: doc.text().to_owned(),
        });
    }
    if docs.is_empty() {
        return Err(format!("no TimeML documents with a DCT under {}", dir.display()).into());
    }
    Ok(docs)
}

/// Deterministic article generator over the corpus paragraphs.
struct Articles {
    /// (paragraph, creation date of its document)
    paragraphs: Vec<(String, NaiveDate)>,
    cursor: usize,
    rng: u64,
}

impl Articles {
    fn new(dir: &Path) -> Result<Articles> {
        let mut paragraphs = Vec::new();
        for doc in read_corpus(dir)? {
            for p in doc.text.split("\n\n") {
                let p = p.split_whitespace().collect::<Vec<_>>().join(" ");
                if p.len() >= 40 {
                    paragraphs.push((p, doc.dct));
                }
            }
        }
        Ok(Articles {
            paragraphs,
            cursor: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
        })
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The next article as JSON, with id `id`.
    fn next(&mut self, id: &str) -> Vec<u8> {
        let target = 2000 + (self.next_u64() % 3000) as usize;
        let dct = self.paragraphs[self.cursor].1;
        let mut text = String::with_capacity(target + 1000);
        while text.len() < target {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&self.paragraphs[self.cursor].0);
            self.cursor = (self.cursor + 1) % self.paragraphs.len();
        }
        let shift = (self.next_u64() % 2921) as i64 - 1460;
        let minute = (self.next_u64() % (24 * 60)) as i64;
        let offsets = [0, -5 * 3600, 9 * 3600, 3600];
        let offset = offsets[(self.next_u64() % 4) as usize];
        let published = FixedOffset::east_opt(offset)
            .and_then(|tz| {
                let day = dct + Days::days(shift);
                tz.from_local_datetime(&day.and_hms_opt(0, 0, 0)?).single()
            })
            .map(|t| t + Days::minutes(minute));
        let published = published
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "1998-01-01T12:00:00+00:00".to_owned());
        serde_json::to_vec(&json!({
            "id": id,
            "published_at": published,
            "source": "TBAQ (bench)",
            "text": text,
        }))
        .unwrap_or_default()
    }
}

fn client(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    c
}

fn topics_cmd(action: &str, brokers: &str, partitions: i32, topics: &[String]) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = client(brokers).create()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = rt.block_on(async {
        match action {
            "create" => {
                let new: Vec<NewTopic> = topics
                    .iter()
                    .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
                    .collect();
                admin.create_topics(&new, &opts).await
            }
            "delete" => {
                let names: Vec<&str> = topics.iter().map(String::as_str).collect();
                admin.delete_topics(&names, &opts).await
            }
            other => Err(rdkafka::error::KafkaError::AdminOpCreation(format!(
                "unknown action {other}"
            ))),
        }
    })?;
    for r in results {
        if let Err((topic, code)) = r {
            eprintln!("bench_load: {action} {topic}: {code}");
        }
    }
    Ok(())
}

fn send_blocking(producer: &BaseProducer, mut record: BaseRecord<'_, str, [u8]>) -> Result<()> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((
                rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::QueueFull,
                ),
                back,
            )) => {
                record = back;
                producer.poll(Duration::from_millis(5));
            }
            Err((e, _)) => return Err(e.into()),
        }
    }
}

fn load(brokers: &str, topic: &str, n: usize, corpus: &Path) -> Result<()> {
    let mut articles = Articles::new(corpus)?;
    let producer: BaseProducer = client(brokers)
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "500000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("acks", "all")
        .create()?;
    let started = Instant::now();
    let mut bytes = 0usize;
    for i in 0..n {
        let id = format!("bench-{i}");
        let value = articles.next(&id);
        bytes += value.len();
        send_blocking(
            &producer,
            BaseRecord::to(topic)
                .key(id.as_str())
                .payload(value.as_slice()),
        )?;
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(300))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"articles": n, "bytes": bytes, "seconds": secs,
               "mean_article_bytes": bytes as f64 / n.max(1) as f64})
    );
    Ok(())
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn wait(
    brokers: &str,
    group: &str,
    topic: &str,
    n: i64,
    pid: Option<u32>,
    timeout_s: u64,
    then: Option<(&str, &str)>,
) -> Result<()> {
    let started = Instant::now();
    let consumer: BaseConsumer = client(brokers).set("group.id", group).create()?;
    let metadata = (0..5)
        .find_map(|_| {
            consumer
                .fetch_metadata(Some(topic), Duration::from_secs(10))
                .ok()
        })
        .ok_or("cannot fetch the input topic's metadata")?;
    let mut tpl = TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            tpl.add_partition(topic, p.id());
        }
    }
    let mut first: Option<(f64, i64)> = None;
    let mut hwm = 0;
    loop {
        let elapsed = started.elapsed();
        if elapsed > Duration::from_secs(timeout_s) {
            return Err(format!("timed out after {timeout_s}s waiting for {n} commits").into());
        }
        if let Some(pid) = pid {
            match vm_hwm_kb(pid) {
                Some(kb) => hwm = hwm.max(kb),
                None => return Err(format!("process {pid} is gone").into()),
            }
        }
        // A busy or freshly started broker answers "not coordinator" or times out now and then:
        // ask again rather than abandon the measurement.
        let offsets = match consumer.committed_offsets(tpl.clone(), Duration::from_secs(10)) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("bench_load wait: {e}; asking again");
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        let committed: i64 = offsets
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o,
                _ => 0,
            })
            .sum();
        let t = started.elapsed().as_secs_f64();
        if committed > 0 && first.is_none() {
            first = Some((t, committed));
        }
        if committed >= n {
            let (t1, c1) = first.unwrap_or((t, committed));
            let mut result = json!({"committed": committed, "total_s": t, "first_commit_s": t1,
                   "first_commit_count": c1, "steady_s": t - t1,
                   "steady_articles": committed - c1});
            if let Some((group, topic)) = then {
                let drained = drain(brokers, group, topic, pid, &mut hwm, started, timeout_s)?;
                result["drained_s"] = json!(drained);
            }
            result["vm_hwm_kb"] = json!(hwm);
            println!("{result}");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `group` has consumed `topic` to its end (its committed offset is at least the
/// high watermark minus one, the commit marker that ends the last transaction), tracking the
/// peak RSS of `pid`; returns the seconds since `started`.
fn drain(
    brokers: &str,
    group: &str,
    topic: &str,
    pid: Option<u32>,
    hwm: &mut u64,
    started: Instant,
    timeout_s: u64,
) -> Result<f64> {
    let consumer: BaseConsumer = client(brokers).set("group.id", group).create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        tpl.add_partition(topic, *p);
    }
    loop {
        if started.elapsed() > Duration::from_secs(timeout_s) {
            return Err(format!("timed out waiting for {group} to drain {topic}").into());
        }
        if let Some(pid) = pid {
            match vm_hwm_kb(pid) {
                Some(kb) => *hwm = (*hwm).max(kb),
                None => return Err(format!("process {pid} is gone").into()),
            }
        }
        let done = consumer
            .committed_offsets(tpl.clone(), Duration::from_secs(10))
            .ok()
            .is_some_and(|offsets| {
                partitions.iter().all(|&p| {
                    let committed = offsets
                        .find_partition(topic, p)
                        .and_then(|e| match e.offset() {
                            Offset::Offset(o) => Some(o),
                            _ => None,
                        })
                        .unwrap_or(0);
                    consumer
                        .fetch_watermarks(topic, p, Duration::from_secs(10))
                        .is_ok_and(|(_, high)| committed >= high - 1)
                })
            });
        if done {
            return Ok(started.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

fn latency(
    brokers: &str,
    input: &str,
    output: &str,
    rate: f64,
    seconds: f64,
    corpus: &Path,
) -> Result<()> {
    let mut articles = Articles::new(corpus)?;
    // Consumer first, positioned at the output's current end.
    let consumer: BaseConsumer = client(brokers)
        .set("group.id", format!("bench-latency-{}", now_micros()))
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(output), Duration::from_secs(10))?;
    let mut tpl = TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            let (_, high) = consumer.fetch_watermarks(output, p.id(), Duration::from_secs(10))?;
            tpl.add_partition_offset(output, p.id(), Offset::Offset(high))?;
        }
    }
    consumer.assign(&tpl)?;
    let total = (rate * seconds).round() as usize;
    let done = Arc::new(AtomicBool::new(false));
    let producer_done = Arc::clone(&done);
    let brokers_p = brokers.to_owned();
    let input_p = input.to_owned();
    // Build the articles before timing starts, with a placeholder for the produce time.
    let bodies: Vec<Vec<u8>> = (0..total)
        .map(|i| articles.next(&format!("lat-{i}-@@@@@@@@@@@@@@@@")))
        .collect();
    let producer_thread = std::thread::spawn(move || -> std::result::Result<f64, String> {
        let producer: BaseProducer = client(&brokers_p)
            .set("linger.ms", "5")
            .set("acks", "all")
            .create()
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        for (i, body) in bodies.into_iter().enumerate() {
            let due = started + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                producer.poll(due - now);
            }
            let stamp = format!("{:016}", now_micros());
            let body = String::from_utf8_lossy(&body).replacen("@@@@@@@@@@@@@@@@", &stamp, 1);
            let key = format!("lat-{i}");
            send_blocking(
                &producer,
                BaseRecord::to(&input_p)
                    .key(key.as_str())
                    .payload(body.as_bytes()),
            )
            .map_err(|e| e.to_string())?;
            producer.poll(Duration::ZERO);
        }
        let secs = started.elapsed().as_secs_f64();
        producer
            .flush(Duration::from_secs(60))
            .map_err(|e| e.to_string())?;
        producer_done.store(true, Ordering::Release);
        Ok(secs)
    });
    let mut seen: HashMap<usize, f64> = HashMap::with_capacity(total);
    let mut records = 0u64;
    let mut idle_since: Option<Instant> = None;
    loop {
        match consumer.poll(Duration::from_millis(20)) {
            Some(Ok(m)) => {
                idle_since = None;
                let arrival = now_micros();
                records += 1;
                let Some(key) = m.key().and_then(|k| std::str::from_utf8(k).ok()) else {
                    continue;
                };
                let mut parts = key.splitn(3, '-');
                let (Some("lat"), Some(seq), Some(stamp)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let (Ok(seq), Ok(stamp)) = (seq.parse::<usize>(), stamp.parse::<u128>()) else {
                    continue;
                };
                seen.entry(seq)
                    .or_insert(arrival.saturating_sub(stamp) as f64 / 1000.0);
            }
            Some(Err(e)) => eprintln!("bench_load: consumer error: {e}"),
            None => {
                if done.load(Ordering::Acquire) {
                    let since = *idle_since.get_or_insert_with(Instant::now);
                    if seen.len() >= total || since.elapsed() > Duration::from_secs(10) {
                        break;
                    }
                }
            }
        }
    }
    let produce_secs = producer_thread
        .join()
        .map_err(|_| "producer thread panicked")??;
    let mut ms: Vec<f64> = seen.into_values().collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| -> f64 {
        if ms.is_empty() {
            return f64::NAN;
        }
        ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1]
    };
    println!(
        "{}",
        json!({"produced": total, "produce_seconds": produce_secs,
               "achieved_rate": total as f64 / produce_secs,
               "articles_with_output": ms.len(), "output_records": records,
               "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
               "max_ms": ms.last().copied().unwrap_or(f64::NAN)})
    );
    Ok(())
}

fn corpus_cmd(dir: &Path, out: &Path) -> Result<()> {
    let mut lines = String::new();
    for doc in read_corpus(dir)? {
        let line = json!({
            "id": doc.id,
            "published_at": format!("{}T12:00:00+00:00", doc.dct),
            "dct": doc.dct.to_string(),
            "text": doc.text,
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    std::fs::write(out, lines)?;
    Ok(())
}

fn timeml_cmd(gold: &Path, spans: &Path, out: &Path) -> Result<()> {
    let mut by_id: HashMap<String, serde_json::Value> = HashMap::new();
    for line in std::fs::read_to_string(spans)?.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        by_id.insert(id, v);
    }
    let mut written = 0;
    for (path, rel) in tml_files(gold)? {
        let Some(v) = by_id.get(rel.to_string_lossy().as_ref()) else {
            continue;
        };
        let doc = Document::parse(std::fs::read_to_string(&path)?)?;
        let timexes = v["timexes"].as_array().cloned().unwrap_or_default();
        let tags = timexes.iter().filter_map(|t| {
            Some(TimexTag {
                tid: String::new(),
                kind: t["type"].as_str()?.to_owned(),
                value: t["value"].as_str()?.to_owned(),
                modifier: t["mod"].as_str().map(str::to_owned),
                span: t["start"].as_u64()? as usize..t["end"].as_u64()? as usize,
                text: String::new(),
            })
        });
        let placed = place(&doc, tags);
        let target = out.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(target, render(&doc, &placed))?;
        written += 1;
    }
    println!("{}", json!({"documents": written}));
    Ok(())
}
