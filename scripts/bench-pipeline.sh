#!/usr/bin/env bash
# End-to-end throughput, latency and memory of `dateline run` (exactly_once) against a real
# Kafka broker, next to an exactly-once passthrough with the same client and batch settings.
#
#   scripts/bench-pipeline.sh [N]      N articles (default 100000) of 2-5 KB built from TBAQ text
#
# Steps: build (release) dateline and the bench examples; start the broker if needed
# (scripts/kafka.sh, or KAFKA_BOOTSTRAP_SERVERS); create fresh 6-partition topics; load N
# articles; (a) run `dateline run` on them, timing until the group's committed offsets reach N;
# (b) run examples/passthrough.rs on the same input the same way; (c) ratio; (d) with dateline
# idle on a second input topic, produce at half of (a)'s rate and measure produce -> timeline
# record latency on a read_committed consumer; (e) dateline's peak RSS (VmHWM). Prints a table and
# writes target/bench/pipeline.json. Rates are measured from the first committed batch to the
# last ("steady"; group join and init_transactions excluded) and also over the whole run.
#
# Environment: BENCH_LATENCY_SECONDS (20), BENCH_CORPUS (../shared/corpora/tbaq),
# BENCH_WORKER_THREADS (0 = one per core), BENCH_BATCH (500) and BENCH_BATCH_MS (50, the default) for both
# dateline and the passthrough, BENCH_TIMELINES=0 to run dateline without its timeline stage
# (default 1: the timeline stage runs too, as in production), BENCH_KEEP_TOPICS=1 to keep the
# topics.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
n=${1:-100000}
brokers=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}
corpus=${BENCH_CORPUS:-$root/../shared/corpora/tbaq}
lat_seconds=${BENCH_LATENCY_SECONDS:-20}
workers=${BENCH_WORKER_THREADS:-0}
batch=${BENCH_BATCH:-500}
batch_ms=${BENCH_BATCH_MS:-50}
timelines=${BENCH_TIMELINES:-1}
out=$root/target/bench
mkdir -p "$out"
say() { echo "bench-pipeline: $*" >&2; }

[ -d "$corpus" ] || { say "corpus not found: $corpus"; exit 1; }
say "building (release)"
cargo build --release --quiet --bin dateline --example bench_load --example passthrough
bin=$root/target/release
load=$bin/examples/bench_load

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  bash "$here/kafka.sh" status >/dev/null 2>&1 || bash "$here/kafka.sh" start
fi

run_id=bench-$(date +%s)-$$
in=$run_id-articles
lat_in=$run_id-latency-articles
topics=("$in" "$run_id-timeline" "$run_id-dlq" "$run_id-copy" "$lat_in" "$run_id-latency-timeline" "$run_id-latency-dlq")
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -z "${BENCH_KEEP_TOPICS:-}" ]; then
    "$load" topics delete --brokers "$brokers" "${topics[@]}" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$load" topics create --brokers "$brokers" --partitions 6 "${topics[@]}"

say "loading $n articles into $in"
load_json=$("$load" load --brokers "$brokers" --topic "$in" --n "$n" --corpus "$corpus")
bytes=$(jq -r .bytes <<<"$load_json")
say "loaded: $load_json"

# A dateline config for one input topic; $1 input, $2 output, $3 dlq, $4 suffix.
write_config() {
  cat >"$work/dateline-$4.toml" <<EOF
[kafka]
brokers = "$brokers"
group_id = "$run_id-group-$4"
transactional_id = "$run_id-txn-$4"
guarantee = "exactly_once"
[topics]
input = "$1"
output = "$2"
dlq = "$3"
[batch]
max_records = $batch
max_ms = $batch_ms
[pipeline]
worker_threads = $workers
[http]
address = "127.0.0.1:0"
[log]
format = "json"
level = "warn"
[timelines]
enabled = $([ "$timelines" = 1 ] && echo true || echo false)
output = "$run_id-timelines-$4"
EOF
  echo "$work/dateline-$4.toml"
}
# The timeline stage's topics of a config (created by dateline itself), for the clean-up.
timeline_topics() {
  topics+=("$1.events" "$run_id-group-$2.timelines.changelog" "$run_id-timelines-$2" "$run_id-timelines-$2.late")
}

# (a) dateline
say "(a) dateline run, exactly_once"
cfg=$(write_config "$in" "$run_id-timeline" "$run_id-dlq" main)
timeline_topics "$in" main
"$bin/dateline" run --config "$cfg" 2>"$work/dateline.log" &
dl_pid=$!
pids+=("$dl_pid")
a_json=$("$load" wait --brokers "$brokers" --group "$run_id-group-main" --topic "$in" --n "$n" --pid "$dl_pid") || {
  say "dateline did not finish; its log:"; tail -20 "$work/dateline.log" >&2; exit 1; }
say "dateline: $a_json"
kill -TERM "$dl_pid"; wait "$dl_pid" || true
pids=()

# (b) passthrough
say "(b) exactly-once passthrough"
"$bin/examples/passthrough" --brokers "$brokers" --input "$in" --output "$run_id-copy" \
  --group "$run_id-group-copy" --txn "$run_id-txn-copy" --batch "$batch" --batch-ms "$batch_ms" \
  2>"$work/passthrough.log" &
pt_pid=$!
pids+=("$pt_pid")
b_json=$("$load" wait --brokers "$brokers" --group "$run_id-group-copy" --topic "$in" --n "$n" --pid "$pt_pid") || {
  say "passthrough did not finish; its log:"; tail -20 "$work/passthrough.log" >&2; exit 1; }
say "passthrough: $b_json"
kill -TERM "$pt_pid"; wait "$pt_pid" || true
pids=()

# (d) latency at half of dateline's steady rate, on a fresh dateline instance and input topic
rate=$(jq -r '(.steady_articles / .steady_s) / 2 | floor' <<<"$a_json")
say "(d) latency at $rate articles/s for ${lat_seconds}s"
cfg=$(write_config "$lat_in" "$run_id-latency-timeline" "$run_id-latency-dlq" latency)
timeline_topics "$lat_in" latency
"$bin/dateline" run --config "$cfg" 2>"$work/dateline-latency.log" &
dl2_pid=$!
pids+=("$dl2_pid")
# Ready once the group has joined: a probe article must come out the other end.
"$load" latency --brokers "$brokers" --input "$lat_in" --output "$run_id-latency-timeline" \
  --rate 20 --seconds 1 --corpus "$corpus" >/dev/null
d_json=$("$load" latency --brokers "$brokers" --input "$lat_in" --output "$run_id-latency-timeline" \
  --rate "$rate" --seconds "$lat_seconds" --corpus "$corpus")
say "latency: $d_json"
kill -TERM "$dl2_pid"; wait "$dl2_pid" || true
pids=()

result=$(jq -n --argjson n "$n" --argjson bytes "$bytes" --argjson load "$load_json" \
  --argjson a "$a_json" --argjson b "$b_json" --argjson d "$d_json" \
  --arg cores "$(nproc)" --arg loadavg "$(cut -d' ' -f1-3 /proc/loadavg)" '
  def rate(x): {articles_per_s: (x.steady_articles / x.steady_s),
                mb_per_s: (x.steady_articles / x.steady_s * ($bytes / $n) / 1e6),
                total_s: x.total_s, total_articles_per_s: ($n / x.total_s),
                first_commit_s: x.first_commit_s};
  {n: $n, input_bytes: $bytes, mean_article_bytes: ($bytes / $n), cores: ($cores | tonumber),
   loadavg_at_end: $loadavg, batch: {max_records: '"$batch"', max_ms: '"$batch_ms"'},
   dateline: (rate($a) + {peak_rss_mb: ($a.vm_hwm_kb / 1024)}),
   passthrough: (rate($b) + {peak_rss_mb: ($b.vm_hwm_kb / 1024)}),
   ratio: (($a.steady_articles / $a.steady_s) / ($b.steady_articles / $b.steady_s)),
   ratio_total: ($b.total_s / $a.total_s),
   latency: $d}')
echo "$result" >"$out/pipeline.json"

jq -r '
  def f(x): (x * 10 | round / 10 | tostring);
  "dateline pipeline bench: N=\(.n) articles, \(f(.input_bytes / 1e6)) MB (mean \(.mean_article_bytes | round) B), \(.cores) cores, load avg at end \(.loadavg_at_end)",
  "",
  "| | articles/s | MB/s | wall (incl. start-up) | peak RSS |",
  "|---|---|---|---|---|",
  "| dateline run (exactly_once) | \(.dateline.articles_per_s | round) | \(f(.dateline.mb_per_s)) | \(f(.dateline.total_s)) s | \(f(.dateline.peak_rss_mb)) MB |",
  "| passthrough (exactly_once) | \(.passthrough.articles_per_s | round) | \(f(.passthrough.mb_per_s)) | \(f(.passthrough.total_s)) s | \(f(.passthrough.peak_rss_mb)) MB |",
  "| ratio dateline / passthrough | \(.ratio * 100 | round / 100) | | \(.ratio_total * 100 | round / 100) (wall) | |",
  "",
  "latency produce -> timeline record (read_committed), \(.latency.produced) articles at \(.latency.achieved_rate | round)/s:",
  "  p50 \(f(.latency.p50_ms)) ms, p90 \(f(.latency.p90_ms)) ms, p99 \(f(.latency.p99_ms)) ms, max \(f(.latency.max_ms)) ms (\(.latency.articles_with_output) of \(.latency.produced) articles had records)",
  "",
  "articles/s and MB/s: from the first committed batch to the last (steady state).",
  "written: target/bench/pipeline.json"' "$out/pipeline.json"
