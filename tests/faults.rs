//! Fault injection (issue 6), against a real Apache Kafka broker and the real `dateline run`
//! binary: crash loop, broker restart, rebalance with a killed instance, poison flood, and
//! oversize and hostile input.
//!
//! `cargo test` runs the short versions (a few thousand articles each); `scripts/faults.sh`
//! runs the full ones (`FAULTS_SCALE=full`: 50,000 articles and 10 SIGKILLs for the crash loop)
//! and collects the figures each test prints. Sizes can be set one by one (`FAULTS_ARTICLES`,
//! `FAULTS_KILLS`, ... see each test), and `FAULTS_SEED` replays the random choices of a run
//! (each test prints its seed).
//!
//! The broker is `KAFKA_BOOTSTRAP_SERVERS` or 127.0.0.1:9092, as for `tests/pipeline_broker.rs`
//! (`DATELINE_SKIP_BROKER_TESTS=1` skips). The broker-restart test runs its own second broker
//! from `scripts/kafka.sh` on other ports and data, so the shared one is never disturbed. The
//! tests of this file run one at a time (they share two cores and measure throughput).

mod common;
#[path = "faults/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::producer::Producer;
use serde_json::json;

use common::{broker, names};
use harness::*;

const MINUTES: Duration = Duration::from_secs(60);

/// Produces `inputs` at `rate` per second on a thread, waiting for every acknowledgement at the
/// end; returns the thread (joined: seconds it took).
fn paced_producer(
    brokers: &str,
    topic: &str,
    inputs: Vec<Input>,
    rate: f64,
) -> std::thread::JoinHandle<f64> {
    let brokers = brokers.to_string();
    let topic = topic.to_string();
    std::thread::spawn(move || {
        let delivered = std::sync::Arc::default();
        let mut producer = resending_producer(&brokers, 1 << 20, &delivered);
        let started = Instant::now();
        for (i, input) in inputs.iter().enumerate() {
            let due = started + Duration::from_secs_f64(i as f64 / rate);
            while Instant::now() < due {
                producer.poll(due.saturating_duration_since(Instant::now()));
            }
            send(&producer, &topic, input);
            producer.poll(Duration::ZERO);
        }
        // Long enough to ride out a broker restart: librdkafka retries until then. What was not
        // acknowledged is sent again, by a new producer when the old one is stuck (seen after a
        // broker restart: an idempotent producer that never sent its queue again). The service
        // may then see a record twice, as input written twice, which the tests account for.
        for round in 0.. {
            let flushed = producer.flush(Duration::from_secs(60)).is_ok();
            let failed = producer.context().take();
            let missing: Vec<&Input> = inputs
                .iter()
                .filter(|(key, _)| !producer.context().delivered(key))
                .collect();
            if flushed && missing.is_empty() {
                break;
            }
            assert!(round < 5, "{} inputs still not acknowledged", missing.len());
            eprintln!(
                "faults: {} input record(s) not acknowledged ({} failed, producer {}); sending \
                 again",
                missing.len(),
                failed.len(),
                if flushed { "idle" } else { "stuck: replaced" }
            );
            if !flushed {
                producer.purge(rdkafka::producer::PurgeConfig::default().queue().inflight());
                drop(producer);
                producer = resending_producer(&brokers, 1 << 20, &delivered);
            }
            for input in missing {
                send(&producer, &topic, input);
            }
        }
        started.elapsed().as_secs_f64()
    })
}

/// Asserts an exact match and describes the difference otherwise.
fn assert_exact(
    what: &str,
    got: &BTreeMap<String, Vec<Vec<u8>>>,
    want: &BTreeMap<String, Vec<Vec<u8>>>,
) -> Diff {
    let d = diff(got, want);
    assert!(
        d.is_exact(),
        "{what}: {} records lost, {} extra; {:?}",
        d.lost,
        d.extra,
        d.wrong
    );
    d
}

/// Crash loop: SIGKILL at random (seeded) moments, restart each time, and the committed output
/// equals both the expectation and that of an undisturbed run on the same input: every
/// article's records once, in order, nothing else.
///
/// Kills land either during start-up (0.05-1.5 s after spawn: `init_transactions`, group join,
/// first batch) or mid-stream (once a random share of the input is committed, plus 0-150 ms, so
/// anywhere in a transaction). `FAULTS_ARTICLES` (3,000; full 50,000), `FAULTS_KILLS` (3; 10).
#[test]
fn crash_loop_sigkill_at_random_moments_output_equals_undisturbed_run() {
    let _serial = serial();
    let Some(brokers) = broker() else { return };
    let articles = param("FAULTS_ARTICLES", 3000, 50_000);
    let kills = param("FAULTS_KILLS", 3, 10);
    let mut rng = Rng::new(seed("crash_loop"));
    let n = names("crash");
    let base = names("crash-base");
    create_run_topics(&brokers, &n, 3);
    create_topics(&brokers, &[(&base.output, 3, None), (&base.dlq, 1, None)]);
    let inputs: Vec<Input> = (0..articles).map(article).collect();
    produce(&brokers, &n.input, &inputs);
    let total = inputs.len() as i64;
    let dir = WorkDir::new("crash_loop");
    let port = free_port();

    // The undisturbed run: same input, its own group, output and transactional id.
    let mut undisturbed = ServiceConfig::new(&brokers, &n);
    undisturbed.group = base.group.clone();
    undisturbed.txn = base.txn.clone();
    undisturbed.output = base.output.clone();
    undisturbed.dlq = base.dlq.clone();
    let mut svc = Service::start(dir.path(), &undisturbed, "undisturbed", port, 0);
    let base_progress = Progress::new(&brokers, &base.group, &n.input);
    let base_timing = base_progress.time(total, &mut svc, 10 * MINUTES);
    svc.stop_ok();
    drop(svc);

    // The crash loop: the same small transactions (50 articles), so kills land between and
    // inside many of them.
    let config = ServiceConfig::new(&brokers, &n);
    let progress = Progress::new(&brokers, &n.group, &n.input);
    let mut targets: Vec<f64> = (0..kills).map(|_| rng.range(0.05, 0.85)).collect();
    targets.sort_by(f64::total_cmp);
    let started = Instant::now();
    let mut log = Vec::new();
    for (kill, target) in targets.into_iter().enumerate() {
        let mut svc = Service::start(dir.path(), &config, "crash", port, kill);
        let mode = if rng.unit() < 0.25 {
            std::thread::sleep(Duration::from_secs_f64(rng.range(0.05, 1.5)));
            "start-up"
        } else {
            progress.wait(
                (target * total as f64) as i64,
                &mut [&mut svc],
                10 * MINUTES,
            );
            std::thread::sleep(Duration::from_secs_f64(rng.range(0.0, 0.15)));
            "mid-stream"
        };
        let before = progress.committed().unwrap_or(0);
        svc.assert_running();
        let at = svc.started.elapsed();
        svc.sigkill();
        println!(
            "faults/crash_loop: kill {} ({mode}) {:.2} s after start, {before}/{total} committed",
            kill + 1,
            at.as_secs_f64()
        );
        assert!(
            before < total,
            "kill {} came after the input was done",
            kill + 1
        );
        log.push(
            json!({"kill": kill + 1, "mode": mode, "after_start_s": at.as_secs_f64(),
                         "committed_before": before}),
        );
    }
    let mut svc = Service::start(dir.path(), &config, "crash", port, kills);
    progress.wait(total, &mut [&mut svc], 10 * MINUTES);
    let crash_s = started.elapsed().as_secs_f64();
    svc.stop_ok();

    let want = expected_timelines(&inputs, config.max_message_bytes);
    let base_out = committed_by_key(&brokers, &base.output);
    let crash_out = committed_by_key(&brokers, &n.output);
    assert_exact("undisturbed run", &base_out, &want);
    let d = assert_exact("after the crash loop", &crash_out, &want);
    assert!(crash_out == base_out, "same records as the undisturbed run");
    assert!(dead_letters(&brokers, &n.dlq).is_empty(), "no dead letter");
    assert_eq!(progress.end(), total, "input untouched");

    let records = count(&crash_out);
    println!(
        "faults/crash_loop: {total} articles, {records} records; undisturbed {:.1} s; \
         {kills} SIGKILLs + restarts {crash_s:.1} s; lost {} doubled {}; \
         output identical to the undisturbed run",
        base_timing.done_s, d.lost, d.extra
    );
    record_result(
        "crash_loop",
        json!({"articles": total, "records": records, "kills": kills,
               "undisturbed_s": base_timing.done_s,
               "undisturbed_articles_per_s": base_timing.steady_rate(total),
               "crash_loop_s": crash_s, "lost": d.lost, "doubled": d.extra,
               "identical_to_undisturbed": true, "kill_log": log}),
    );
}

/// Broker restart: a private broker is stopped (SIGTERM, controlled shutdown) while the service
/// is mid-run and input keeps arriving, then started again on its data. The same `dateline`
/// process reconnects by itself and commits every article's records exactly once.
/// `FAULTS_BROKER_ARTICLES` (3,000; full 20,000) at `FAULTS_BROKER_RATE`/s (300; 1,000), down
/// for `FAULTS_BROKER_DOWN_S` s (3; 10).
#[test]
fn broker_restart_mid_run_service_reconnects_and_loses_nothing() {
    let _serial = serial();
    if std::env::var("DATELINE_SKIP_BROKER_TESTS").as_deref() == Ok("1") {
        eprintln!("DATELINE_SKIP_BROKER_TESTS=1: skipping a real-broker test");
        return;
    }
    if let Err(e) = PrivateBroker::available() {
        if std::env::var("KAFKA_BOOTSTRAP_SERVERS").is_ok() {
            println!("faults/broker_restart: SKIPPED, no local Kafka to restart ({e})");
            return;
        }
        panic!("the broker-restart test runs its own broker with scripts/kafka.sh: {e}");
    }
    let articles = param("FAULTS_BROKER_ARTICLES", 3000, 20_000);
    let rate = param("FAULTS_BROKER_RATE", 300, 1000) as f64;
    let down = Duration::from_secs(param("FAULTS_BROKER_DOWN_S", 3, 10) as u64);
    let mut rng = Rng::new(seed("broker_restart"));
    let pb = PrivateBroker::start(&mut rng);
    let brokers = pb.brokers();
    let n = names("restart");
    create_run_topics(&brokers, &n, 3);
    let inputs: Vec<Input> = (0..articles).map(article).collect();
    let total = inputs.len() as i64;
    let producer = paced_producer(&brokers, &n.input, inputs.clone(), rate);
    let dir = WorkDir::new("broker_restart");
    let mut config = ServiceConfig::new(&brokers, &n);
    // Right after a broker restart the timeline stage may still be working through aborted
    // batches when SIGTERM comes, and a transactional call in flight can take the client's full
    // time-out (60 s) to resolve; the clean exit is what is asserted, not its speed.
    config.shutdown_timeout_ms = 150_000;
    let mut svc = Service::start(dir.path(), &config, "dateline", free_port(), 0);
    let pid = svc.pid();
    let progress = Progress::new(&brokers, &n.group, &n.input);
    let stop_at = (total as f64 * rng.range(0.15, 0.35)) as i64;
    progress.wait(stop_at, &mut [&mut svc], 5 * MINUTES);

    let at_stop = progress.committed().unwrap_or(0);
    let stopping = Instant::now();
    pb.stop();
    let stopped_s = stopping.elapsed().as_secs_f64();
    let down_since = Instant::now();
    while down_since.elapsed() < down {
        svc.assert_running();
        std::thread::sleep(Duration::from_millis(100));
    }
    pb.restart();
    let restarted = Instant::now();
    let down_s = down_since.elapsed().as_secs_f64();
    println!(
        "faults/broker_restart: broker on port {} stopped at {at_stop}/{total} committed \
         ({stopped_s:.1} s to stop), down {down_s:.1} s until it answered again",
        pb.port,
    );
    // The first commit after the restart: the service is connected again.
    let resumed = progress.wait(at_stop + 1, &mut [&mut svc], 2 * MINUTES);
    let reconnect_s = restarted.elapsed().as_secs_f64();
    let produce_s = producer.join().expect("producer thread");
    // What the input topic holds: the test's own (idempotent) producer may still write a record
    // twice across a broker restart, and each input record is one article to the service.
    let copies = input_copies(&brokers, &n.input);
    let end: i64 = copies.values().map(|c| *c as i64).sum();
    assert_eq!(end, progress.end(), "every input record has a key");
    // The service can only be asked for what reached the input topic. Across a broker restart
    // the test's idempotent producer was seen to lose a few records while reporting them
    // delivered (3 of 3,000 in one run of about thirty, all sent while the broker was down);
    // they are counted and reported, and a larger loss fails the test as a broken harness.
    let lost_inputs: Vec<&str> = inputs
        .iter()
        .filter(|(key, _)| !copies.contains_key(key))
        .map(|(key, _)| key.as_str())
        .collect();
    assert!(
        lost_inputs.len() * 100 <= inputs.len(),
        "the test's producer lost {} inputs: {:?}",
        lost_inputs.len(),
        &lost_inputs[..lost_inputs.len().min(10)]
    );
    if !lost_inputs.is_empty() {
        println!(
            "faults/broker_restart: {} input record(s) never reached the input topic \
             (test producer): {lost_inputs:?}",
            lost_inputs.len()
        );
    }
    let inputs: Vec<Input> = inputs
        .into_iter()
        .filter(|(key, _)| copies.contains_key(key))
        .collect();
    let duplicated_inputs = end - inputs.len() as i64;
    progress.wait(end, &mut [&mut svc], 5 * MINUTES);
    assert_eq!(svc.pid(), pid, "the same process throughout");
    svc.stop_ok();

    let want = repeat_timelines(
        expected_timelines(&inputs, config.max_message_bytes),
        &copies,
    );
    let got = committed_by_key(&brokers, &n.output);
    let d = assert_exact("after a broker restart", &got, &want);
    assert!(dead_letters(&brokers, &n.dlq).is_empty(), "no dead letter");
    let after_restart = svc.log_lines("on a fatal error");
    assert!(after_restart.is_empty(), "{after_restart:?}");
    println!(
        "faults/broker_restart: first commit {reconnect_s:.1} s after the broker was back \
         ({resumed} committed); {total} articles, {} records, lost {} doubled {}; input \
         produced over {produce_s:.1} s ({duplicated_inputs} input records written twice by \
         the test's producer, each processed once)",
        count(&got),
        d.lost,
        d.extra
    );
    record_result(
        "broker_restart",
        json!({"articles": total, "records": count(&got), "committed_at_stop": at_stop,
               "down_s": down_s, "stop_s": stopped_s,
               "first_commit_after_restart_s": reconnect_s, "lost": d.lost,
               "input_records_written_twice_by_test_producer": duplicated_inputs,
               "input_records_lost_by_test_producer": total - inputs.len() as i64,
               "doubled": d.extra, "same_process": true}),
    );
}

/// Rebalance: two instances share a 6-partition input, a third joins mid-run, then one of the
/// three (seeded choice) is SIGKILLed and never restarted. The survivors take its partitions
/// over; the committed output has every article's records once, in order. Each instance
/// commits work before the kill. `FAULTS_REBALANCE_ARTICLES` (3,000; full 30,000) produced at
/// `FAULTS_REBALANCE_RATE`/s (250; 1,000).
#[test]
fn rebalance_two_then_three_instances_one_killed_no_loss_no_duplicates() {
    let _serial = serial();
    let Some(brokers) = broker() else { return };
    let articles = param("FAULTS_REBALANCE_ARTICLES", 3000, 30_000);
    let rate = param("FAULTS_REBALANCE_RATE", 250, 1000) as f64;
    let mut rng = Rng::new(seed("rebalance"));
    let n = names("rebalance");
    create_run_topics(&brokers, &n, 6);
    let inputs: Vec<Input> = (0..articles).map(article).collect();
    let total = inputs.len() as i64;
    let producer = paced_producer(&brokers, &n.input, inputs.clone(), rate);
    let dir = WorkDir::new("rebalance");
    let config = |name: &str| ServiceConfig {
        txn: format!("{}-{name}", n.txn),
        max_records: 20,
        worker_threads: 1,
        ..ServiceConfig::new(&brokers, &n)
    };
    let progress = Progress::new(&brokers, &n.group, &n.input);
    let started = Instant::now();
    let mut a = Service::start(dir.path(), &config("a"), "a", free_port(), 0);
    let mut b = Service::start(dir.path(), &config("b"), "b", free_port(), 0);
    progress.wait(total * 15 / 100, &mut [&mut a, &mut b], 5 * MINUTES);
    let mut c = Service::start(dir.path(), &config("c"), "c", free_port(), 0);
    let joined_at = progress.committed().unwrap_or(0);
    progress.wait(total * 40 / 100, &mut [&mut a, &mut b, &mut c], 5 * MINUTES);
    // Every instance has committed work before one is killed.
    let deadline = Instant::now() + 2 * MINUTES;
    let consumed = |s: &Service| s.metric("dateline_articles_consumed_total").unwrap_or(0.0);
    while [&a, &b, &c].iter().any(|s| consumed(s) == 0.0) {
        for s in [&mut a, &mut b, &mut c] {
            s.assert_running();
        }
        assert!(
            Instant::now() < deadline,
            "an instance never got work\n{}",
            logs(dir.path())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut all = [a, b, c];
    let victim = rng.below(3);
    let before_kill: Vec<f64> = all.iter().map(consumed).collect();
    let killed_at = progress.committed().unwrap_or(0);
    all[victim].sigkill();
    let killed_name = all[victim].name.clone();
    println!(
        "faults/rebalance: c joined at {joined_at}/{total}; killed {killed_name} at \
         {killed_at}/{total} (articles committed by a, b, c: {before_kill:?})"
    );
    assert!(killed_at < total, "the kill came mid-run");
    let [a, b, c] = &mut all;
    let mut survivors: Vec<&mut Service> = [a, b, c]
        .into_iter()
        .filter(|s| s.name != killed_name)
        .collect();
    progress.wait(total, &mut survivors, 10 * MINUTES);
    let done_s = started.elapsed().as_secs_f64();
    producer.join().expect("producer thread");
    let after: Vec<(String, f64)> = survivors
        .iter()
        .map(|s| (s.name.clone(), consumed(s)))
        .collect();
    for s in survivors.iter_mut() {
        s.stop_ok();
    }
    for s in &all {
        assert!(
            !s.log_lines("partitions assigned").is_empty(),
            "{} was assigned partitions",
            s.name
        );
    }

    let want = expected_timelines(&inputs, ServiceConfig::new(&brokers, &n).max_message_bytes);
    let got = committed_by_key(&brokers, &n.output);
    let d = assert_exact("after the rebalances", &got, &want);
    assert!(dead_letters(&brokers, &n.dlq).is_empty(), "no dead letter");
    assert_eq!(progress.end(), total, "each input produced once");
    println!(
        "faults/rebalance: {total} articles, {} records in {done_s:.1} s; lost {} doubled {}; \
         survivors' committed articles {after:?}",
        count(&got),
        d.lost,
        d.extra
    );
    record_result(
        "rebalance",
        json!({"articles": total, "records": count(&got), "partitions": 6,
               "c_joined_at": joined_at, "killed": killed_name, "killed_at": killed_at,
               "consumed_before_kill": before_kill, "survivors_consumed": after,
               "wall_s": done_s, "lost": d.lost, "doubled": d.extra}),
    );
}

/// Poison flood: every other input record is poison, of six kinds. Every good article's
/// records are committed once, every poison record is in the dead-letter topic exactly once
/// with its kind, and the good articles' rate is printed next to an all-good run of the same
/// good articles (printed, not asserted). `FAULTS_FLOOD_RECORDS` (4,000; full 50,000).
#[test]
fn poison_flood_half_bad_good_half_flows_and_all_bad_is_dead_lettered() {
    let _serial = serial();
    let Some(brokers) = broker() else { return };
    let records = param("FAULTS_FLOOD_RECORDS", 4000, 50_000);
    let limit = 4096;
    let mut inputs: Vec<Input> = Vec::with_capacity(records);
    let mut bad: BTreeMap<String, &str> = BTreeMap::new();
    for i in 0..records {
        if i % 2 == 0 {
            inputs.push(article(i));
        } else {
            let kind = POISON_KINDS[(i / 2) % POISON_KINDS.len()];
            let p = poison(i, kind, limit);
            bad.insert(p.0.clone(), kind);
            inputs.push(p);
        }
    }
    let good: Vec<Input> = inputs
        .iter()
        .filter(|(k, _)| !bad.contains_key(k))
        .cloned()
        .collect();
    let want = expected_timelines(&good, limit);
    let dir = WorkDir::new("poison_flood");
    let run = |label: &str, inputs: &[Input]| {
        let n = names(label);
        create_run_topics(&brokers, &n, 3);
        produce(&brokers, &n.input, inputs);
        let config = ServiceConfig {
            max_records: 500,
            ..ServiceConfig::new(&brokers, &n)
        };
        let mut svc = Service::start(dir.path(), &config, label, free_port(), 0);
        let progress = Progress::new(&brokers, &n.group, &n.input);
        let timing = progress.time(inputs.len() as i64, &mut svc, 10 * MINUTES);
        svc.stop_ok();
        (n, timing)
    };
    let (base, base_timing) = run("flood-base", &good);
    let (n, flood_timing) = run("flood", &inputs);

    assert_exact(
        "all-good run",
        &committed_by_key(&brokers, &base.output),
        &want,
    );
    let got = committed_by_key(&brokers, &n.output);
    let d = assert_exact("poison flood", &got, &want);
    let letters = dead_letters(&brokers, &n.dlq);
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (key, kind) in &bad {
        let got = letters.get(key).map(|l| kinds(l)).unwrap_or_default();
        assert_eq!(got, vec![*kind], "{key}: one dead letter of kind {kind}");
        *per_kind.entry(kind).or_default() += 1;
    }
    assert_eq!(letters.len(), bad.len(), "no other dead letter");
    assert_eq!(per_kind.len(), POISON_KINDS.len(), "every kind exercised");

    // Good articles per second, first commit to last; in the flood they are half the inputs.
    let base_rate = base_timing.steady_rate(good.len() as i64);
    let flood_rate =
        flood_timing.steady_rate(inputs.len() as i64) * good.len() as f64 / inputs.len() as f64;
    println!(
        "faults/poison_flood: {} inputs, {} bad ({per_kind:?}); good articles/s: all-good run \
         {base_rate:.0}, flood {flood_rate:.0} (ratio {:.2}); wall {:.1} s vs {:.1} s",
        inputs.len(),
        bad.len(),
        flood_rate / base_rate,
        base_timing.done_s,
        flood_timing.done_s
    );
    record_result(
        "poison_flood",
        json!({"inputs": inputs.len(), "bad": bad.len(), "good": good.len(),
               "dead_letters_by_kind": per_kind, "records": count(&got),
               "all_good_articles_per_s": base_rate, "flood_good_articles_per_s": flood_rate,
               "ratio": flood_rate / base_rate, "all_good_wall_s": base_timing.done_s,
               "flood_wall_s": flood_timing.done_s, "lost": d.lost, "doubled": d.extra}),
    );
}

/// Oversize and hostile input, one record at a time: a 10 MB value (over `max_message_bytes`:
/// dead-lettered `too_large`, cut, with its size), long repetitive text ("on Monday" over and
/// over, digits), invalid UTF-8, JSON nested 10,000 deep, 10,000 nested brackets as plain text.
/// Each record ends up as the worker says (records, or a dead letter of that kind), the service
/// stays up throughout, and the time per record is printed. `FAULTS_HOSTILE_REPEAT_KB` (100;
/// full 800) sizes the "on Monday" text.
#[test]
fn oversize_and_hostile_input_is_bounded_and_never_crashes() {
    let _serial = serial();
    let Some(brokers) = broker() else { return };
    let repeat_kb = param("FAULTS_HOSTILE_REPEAT_KB", 100, 800);
    let limit = 900_000;
    let n = names("hostile");
    create_topics(
        &brokers,
        &[
            (&n.input, 1, Some(16 << 20)),
            (&n.output, 3, None),
            (&n.dlq, 1, None),
        ],
    );
    let article = |id: &str, text: &str| -> Vec<u8> {
        json!({"id": id, "published_at": "2023-11-01T08:00:00+09:00", "text": text})
            .to_string()
            .into_bytes()
    };
    let deep = 10_000;
    let mut invalid_utf8 = b"On Monday the index fell. ".repeat(20_000);
    for i in (0..invalid_utf8.len()).step_by(4096) {
        invalid_utf8[i] = 0xff;
    }
    let hostile: Vec<(&str, Input)> = vec![
        (
            "10 MB value",
            (
                "big".into(),
                Some(article("big", &"The council met on Monday. ".repeat((10 << 20) / 27))),
            ),
        ),
        (
            "repetitive \"on Monday\"",
            (
                "mondays".into(),
                Some(article("mondays", &"on Monday ".repeat(repeat_kb * 100))),
            ),
        ),
        (
            "800 KB of digits",
            ("digits".into(), Some("0123456789".repeat(80_000).into_bytes())),
        ),
        ("invalid UTF-8", ("utf8".into(), Some(invalid_utf8))),
        (
            "JSON objects nested 10,000 deep",
            (
                "deep-objects".into(),
                Some(format!("{}1{}", "{\"a\":".repeat(deep), "}".repeat(deep)).into_bytes()),
            ),
        ),
        (
            "article whose text is nested 10,000 deep",
            (
                "deep-text".into(),
                Some(
                    format!(
                        r#"{{"id":"deep-text","published_at":"2023-11-01T08:00:00Z","text":{}"On Monday."{}}}"#,
                        "[".repeat(deep),
                        "]".repeat(deep)
                    )
                    .into_bytes(),
                ),
            ),
        ),
        (
            "article with an unknown field nested 10,000 deep",
            (
                "deep-field".into(),
                Some(
                    format!(
                        r#"{{"id":"deep-field","published_at":"2023-11-01T08:00:00Z","text":"On Monday.","x":{}{}}}"#,
                        "[".repeat(deep),
                        "]".repeat(deep)
                    )
                    .into_bytes(),
                ),
            ),
        ),
        (
            "plain text in 10,000 nested brackets",
            (
                "brackets".into(),
                Some(format!("{} on Monday {}", "[".repeat(deep), "]".repeat(deep)).into_bytes()),
            ),
        ),
        (
            "an ordinary article after them",
            ("after".into(), Some(article("after", "The vote on Monday passed."))),
        ),
    ];

    let dir = WorkDir::new("hostile");
    let config = ServiceConfig {
        max_message_bytes: limit,
        ..ServiceConfig::new(&brokers, &n)
    };
    let mut svc = Service::start(dir.path(), &config, "dateline", free_port(), 0);
    let progress = Progress::new(&brokers, &n.group, &n.input);
    let producer = producer(&brokers, 16 << 20);
    let mut rows = Vec::new();
    for (offset, (label, input)) in hostile.iter().enumerate() {
        let sent = Instant::now();
        send(&producer, &n.input, input);
        producer.flush(Duration::from_secs(60)).unwrap();
        progress.wait(offset as i64 + 1, &mut [&mut svc], 10 * MINUTES);
        let secs = sent.elapsed().as_secs_f64();
        let bytes = input.1.as_ref().map_or(0, Vec::len);
        rows.push((*label, input, offset as i64, bytes, secs));
    }
    svc.assert_running();
    assert_eq!(svc.get("/healthz").map(|(c, _)| c), Some(200), "healthy");
    assert_eq!(progress.end(), hostile.len() as i64);

    let got = committed_by_key(&brokers, &n.output);
    let letters = dead_letters(&brokers, &n.dlq);
    let mut seen_keys = Vec::new();
    let mut results = Vec::new();
    for (label, input, offset, bytes, secs) in rows {
        let outcome = match expect(input, &n.input, 0, offset, limit) {
            Expect::Records(id, records) => {
                let committed = got.get(&id).cloned().unwrap_or_default();
                assert!(
                    committed == records,
                    "{label}: {} records committed, {} expected",
                    committed.len(),
                    records.len()
                );
                assert!(
                    !letters.contains_key(&input.0),
                    "{label}: not dead-lettered"
                );
                seen_keys.push(id);
                format!("{} records", records.len())
            }
            Expect::Dead(kind) => {
                let l = letters.get(&input.0).map(Vec::as_slice).unwrap_or_default();
                assert_eq!(kinds(l), vec![kind], "{label}: one dead letter");
                if kind == "too_large" {
                    let size = dateline::pipeline::sink::header(&l[0], "dlq-value-truncated");
                    assert_eq!(size, Some(bytes.to_string().as_str()), "{label}: size kept");
                }
                format!("dead letter {kind}")
            }
        };
        println!(
            "faults/hostile: {label:<50} {:>10} B  {secs:>6.2} s  {outcome}",
            bytes
        );
        results.push(json!({"input": label, "bytes": bytes, "seconds": secs, "outcome": outcome}));
    }
    assert!(
        got.keys().all(|k| seen_keys.contains(k)),
        "no other timeline: {:?}",
        got.keys().collect::<Vec<_>>()
    );
    assert!(
        got.contains_key("after"),
        "the pipeline still flows after the hostile input"
    );
    svc.stop_ok();
    record_result(
        "hostile",
        json!({"max_message_bytes": limit, "inputs": results}),
    );
}

/// The suite's premise, without a broker: the generated articles are articles with dated
/// events (except the undated shape), so "every article's records once" tests something.
#[test]
fn generated_articles_have_records_except_the_undated_shape() {
    let inputs: Vec<Input> = (0..500).map(article).collect();
    let want = expected_timelines(&inputs, 4096);
    for (i, input) in inputs.iter().enumerate() {
        let records = want.get(&input.0).map_or(0, Vec::len);
        if i % 5 == 4 {
            assert_eq!(records, 0, "{}", input.0);
        } else {
            assert!(records >= 2, "{}: {records} records", input.0);
        }
    }
}
