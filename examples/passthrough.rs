//! Exactly-once passthrough: the baseline of `scripts/bench-pipeline.sh`.
//!
//! The same Kafka work as `dateline run` in `exactly_once` mode, minus the extraction: a
//! `read_committed` group consumer collects a batch (up to `--batch` records, or `--batch-ms`
//! after the first), a transactional producer copies every record unchanged (key, value,
//! headers) to the output topic, then sends the batch's offsets to the transaction and commits
//! on a thread of its own while the next batch is collected, as `dateline run` does. Client
//! settings mirror `src/pipeline/source.rs` and `src/pipeline/sink.rs`. Any error ends
//! the process non-zero (a benchmark has no use for recovery); SIGTERM/SIGINT end it.
//!
//! ```sh
//! cargo run --release --example passthrough -- --brokers 127.0.0.1:9092 \
//!     --input articles --output copy --group pt --txn pt-0
//! ```

use std::collections::BTreeMap;
use std::error::Error;
use std::time::{Duration, Instant};

use clap::Parser;
use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaErrorCode;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const TXN_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:9092")]
    brokers: String,
    #[arg(long)]
    input: String,
    #[arg(long)]
    output: String,
    #[arg(long)]
    group: String,
    #[arg(long)]
    txn: String,
    /// Most records per transaction (dateline's `batch.max_records`).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Longest wait for a batch to fill after its first record (dateline's `batch.max_ms`).
    #[arg(long, default_value_t = 200)]
    batch_ms: u64,
    /// dateline's `pipeline.max_message_bytes`.
    #[arg(long, default_value_t = 900_000)]
    max_message_bytes: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signals::SIGTERM, signals::SIGINT] {
        let stop = std::sync::Arc::clone(&stop);
        signals::on(signal, move || {
            stop.store(true, std::sync::atomic::Ordering::Release)
        });
    }
    let room = (args.max_message_bytes + 64 * 1024).to_string();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .set("group.id", &args.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .set("fetch.message.max.bytes", &room)
        .set("queued.max.messages.kbytes", "8192")
        .set("fetch.queue.backoff.ms", "10")
        .create()?;
    consumer.subscribe(&[&args.input])?;
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.max.bytes", &room)
        .set("transactional.id", &args.txn)
        .create()?;
    producer.init_transactions(TXN_TIMEOUT)?;
    let max_wait = Duration::from_millis(args.batch_ms);
    let mut batch = Vec::with_capacity(args.batch);
    std::thread::scope(|scope| -> Result<()> {
        let mut inflight: Option<std::thread::ScopedJoinHandle<'_, KafkaResult<()>>> = None;
        let settle = |inflight: &mut Option<std::thread::ScopedJoinHandle<'_, KafkaResult<()>>>| {
            inflight
                .take()
                .map_or(Ok(()), |h| h.join().expect("commit thread panicked"))
        };
        while !stop.load(std::sync::atomic::Ordering::Acquire) {
            batch.clear();
            let mut deadline: Option<Instant> = None;
            while batch.len() < args.batch {
                let slice = match deadline {
                    Some(d) => {
                        let left = d.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        left.min(Duration::from_millis(100))
                    }
                    None => Duration::from_millis(100),
                };
                match consumer.poll(slice) {
                    Some(Ok(m)) => {
                        batch.push(m.detach());
                        deadline.get_or_insert_with(|| Instant::now() + max_wait);
                    }
                    Some(Err(e)) => eprintln!("passthrough: consumer error: {e}"),
                    None if deadline.is_none()
                        && stop.load(std::sync::atomic::Ordering::Acquire) =>
                    {
                        break;
                    }
                    None => {}
                }
            }
            settle(&mut inflight)?;
            if batch.is_empty() {
                continue;
            }
            let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
            producer.begin_transaction()?;
            for m in &batch {
                let e = next
                    .entry((m.topic().to_owned(), m.partition()))
                    .or_insert(0);
                *e = (*e).max(m.offset() + 1);
                let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&args.output);
                if let Some(key) = m.key() {
                    record = record.key(key);
                }
                if let Some(value) = m.payload() {
                    record = record.payload(value);
                }
                if let Some(headers) = m.headers() {
                    record = record.headers(headers.clone());
                }
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                            record = back;
                            producer.poll(Duration::from_millis(10));
                        }
                        Err((e, _)) => return Err(e.into()),
                    }
                }
            }
            let mut offsets = TopicPartitionList::new();
            for ((topic, partition), offset) in &next {
                offsets.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
            }
            let group = consumer
                .group_metadata()
                .ok_or("no consumer group metadata")?;
            let producer = &producer;
            inflight = Some(scope.spawn(move || {
                producer.send_offsets_to_transaction(&offsets, &group, TXN_TIMEOUT)?;
                // As dateline's sink does: wait for the acknowledgements in 1 ms slices, so
                // that commit_transaction's own flush (100 ms slices) has nothing left to do.
                let deadline = Instant::now() + TXN_TIMEOUT;
                while producer.in_flight_count() > 0 && Instant::now() < deadline {
                    producer.poll(Duration::from_millis(1));
                }
                producer.commit_transaction(TXN_TIMEOUT)
            }));
        }
        settle(&mut inflight)?;
        Ok(())
    })
}

/// SIGTERM/SIGINT without a new dependency: tokio's signal stream on a helper thread.
mod signals {
    use tokio::signal::unix::{SignalKind, signal};

    pub const SIGTERM: i32 = 15;
    pub const SIGINT: i32 = 2;

    pub fn on(number: i32, action: impl FnOnce() + Send + 'static) {
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut s) = signal(SignalKind::from_raw(number)) {
                    s.recv().await;
                    action();
                }
            });
        });
    }
}
