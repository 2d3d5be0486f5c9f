#!/usr/bin/env bash
# End-to-end throughput, latency and memory of `dateline run` (exactly_once) against a real
# Kafka broker, next to an exactly-once passthrough with the same client and batch settings.
#
#   scripts/bench-pipeline.sh [N]      N articles (default 100000) of 2-5 KB built from TBAQ text
#
# Steps: build (release) dateline and the bench examples; start the broker if needed
# (scripts/kafka.sh, or KAFKA_BOOTSTRAP_SERVERS); create fresh 6-partition topics; load N
# articles; run on them, each timed until its group's committed offsets reach N:
#   (a) `dateline run` with the timeline stage off: the article pipeline (extraction stage);
#   (a2) `dateline run` as configured by default: the extraction stage plus the timeline stage
#        (events topic, cross-article merge, changelog), both in the one process;
#   (b) examples/passthrough.rs, the same Kafka work minus the extraction;
# (c) the ratios (a)/(b) and (a2)/(b); (d) for (a) and for (a2), with dateline idle on a fresh
# input topic, produce at half of that run's rate and measure produce -> timeline record latency
# on a read_committed consumer; (e) each run's peak RSS (VmHWM). Order: (b), (a), (d) for (a),
# (a2), (d) for (a2): the run that writes the most comes last. The latency rate of (a2) is half
# of its drained rate, the rate the whole configuration sustains. Prints a table and writes
# target/bench/pipeline.json. Rates are measured from the first committed batch to the last
# ("steady"; group join and init_transactions excluded) and also over the whole run.
#
# Environment: BENCH_LATENCY_SECONDS (20), BENCH_CORPUS (../shared/corpora/tbaq),
# BENCH_WORKER_THREADS (0 = one per core), BENCH_BATCH (500) and BENCH_BATCH_MS (20, the default)
# for both dateline and the passthrough, BENCH_STATE (disk, the default, or memory: where the
# timeline state keeps entry bodies, `[timelines] state`), BENCH_KEEP_TOPICS=1 to keep the topics.
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
batch_ms=${BENCH_BATCH_MS:-20}
state=${BENCH_STATE:-disk}
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
topics=("$in" "$run_id-timeline" "$run_id-dlq" "$run_id-copy")
for s in extract full; do
  topics+=("$run_id-$s-timeline" "$run_id-$s-dlq" "$lat_in-$s" "$run_id-latency-$s-timeline" "$run_id-latency-$s-dlq")
done
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

# A dateline config for one input topic; $1 input, $2 output, $3 dlq, $4 suffix, $5 timelines
# (true/false).
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
enabled = $5
output = "$run_id-timelines-$4"
state = "$state"
EOF
  echo "$work/dateline-$4.toml"
}
# The timeline stage's topics of a config (created by dateline itself), for the clean-up.
timeline_topics() {
  topics+=("$1.events" "$run_id-group-$2.timelines.changelog" "$run_id-timelines-$2" "$run_id-timelines-$2.late")
}

# (a) and (a2): dateline without and with its timeline stage; $1 suffix, $2 timelines.
run_dateline() {
  say "dateline run, exactly_once, timeline stage: $2"
  local cfg pid json
  cfg=$(write_config "$in" "$run_id-$1-timeline" "$run_id-$1-dlq" "$1" "$2")
  "$bin/dateline" run --config "$cfg" 2>"$work/dateline-$1.log" &
  pid=$!
  pids+=("$pid")
  local then=()
  # With the timeline stage, the run ends when that stage has also consumed all it was given.
  [ "$2" = true ] && then=(--then-group "$run_id-group-$1.timelines" --then-topic "$in.events")
  json=$("$load" wait --brokers "$brokers" --group "$run_id-group-$1" --topic "$in" --n "$n" --pid "$pid" "${then[@]}") || {
    say "dateline did not finish; its log:"; tail -20 "$work/dateline-$1.log" >&2
    kill -TERM "$pid" 2>/dev/null; exit 1; }
  say "dateline ($1): $json"
  kill -TERM "$pid"; wait "$pid" || true
  pids=()
  echo "$json"
}
# (Functions run in a subshell below: the topics they create are listed for clean-up here.)
timeline_topics "$in" full
timeline_topics "$lat_in-full" latency-full

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

# (d) latency at half of a run's steady rate, on a fresh dateline instance and input topic;
# $1 suffix, $2 timelines, $3 that run's JSON.
latency() {
  local rate cfg pid json
  # Half of the run's steady rate as the table reports it: with the timeline stage, up to the
  # moment that stage has drained (what the configuration sustains), not the extraction stage's.
  rate=$(jq -r --argjson n "$n" '(.drained_s // .total_s) as $fin
    | (if ($fin - .first_commit_s) > 0.5 then .steady_articles / ($fin - .first_commit_s)
       else $n / $fin end) / 2 | floor' <<<"$3")
  say "latency ($1) at $rate articles/s for ${lat_seconds}s"
  cfg=$(write_config "$lat_in-$1" "$run_id-latency-$1-timeline" "$run_id-latency-$1-dlq" "latency-$1" "$2")
  "$bin/dateline" run --config "$cfg" 2>"$work/dateline-latency-$1.log" &
  pid=$!
  pids+=("$pid")
  # Ready once the group has joined: a probe article must come out the other end.
  "$load" latency --brokers "$brokers" --input "$lat_in-$1" --output "$run_id-latency-$1-timeline" \
    --rate 20 --seconds 1 --corpus "$corpus" >/dev/null
  json=$("$load" latency --brokers "$brokers" --input "$lat_in-$1" --output "$run_id-latency-$1-timeline" \
    --rate "$rate" --seconds "$lat_seconds" --corpus "$corpus")
  say "latency ($1): $json"
  kill -TERM "$pid"; wait "$pid" || true
  pids=()
  echo "$json"
}
# Each dateline configuration is measured (throughput, then latency) before the next one
# loads the broker with its output: the passthrough and the extraction stage first, then the
# default configuration, whose timeline stage writes the most.
a_json=$(run_dateline extract false)
d_json=$(latency extract false "$a_json")
a2_json=$(run_dateline full true)
d2_json=$(latency full true "$a2_json")

result=$(jq -n --argjson n "$n" --argjson bytes "$bytes" --argjson load "$load_json" \
  --argjson a "$a_json" --argjson a2 "$a2_json" --argjson b "$b_json" \
  --argjson d "$d_json" --argjson d2 "$d2_json" \
  --arg cores "$(nproc)" --arg loadavg "$(cut -d' ' -f1-3 /proc/loadavg)" '
  # Steady rate: articles committed after the first batch over the time from the first commit to
  # the end (the timeline stage drained, when it runs); the whole run when that is too short.
  def fin(x): (x.drained_s // x.total_s);
  def per_s(x): if (fin(x) - x.first_commit_s) > 0.5
    then x.steady_articles / (fin(x) - x.first_commit_s) else $n / fin(x) end;
  def rate(x): {articles_per_s: per_s(x), mb_per_s: (per_s(x) * ($bytes / $n) / 1e6),
                total_s: fin(x), total_articles_per_s: ($n / fin(x)),
                first_commit_s: x.first_commit_s, peak_rss_mb: (x.vm_hwm_kb / 1024)}
              + (if x.drained_s then {extraction_stage_done_s: x.total_s} else {} end);
  def ratio(x): per_s(x) / per_s($b);
  {n: $n, input_bytes: $bytes, mean_article_bytes: ($bytes / $n), cores: ($cores | tonumber),
   loadavg_at_end: $loadavg, batch: {max_records: '"$batch"', max_ms: '"$batch_ms"'}, timeline_state: "'"$state"'",
   dateline: (rate($a) + {ratio: ratio($a), ratio_total: ($b.total_s / fin($a)), latency: $d}),
   dateline_with_timelines: (rate($a2) + {ratio: ratio($a2), ratio_total: ($b.total_s / fin($a2)),
                             latency: $d2}),
   passthrough: rate($b)}')
echo "$result" >"$out/pipeline.json"

jq -r '
  def f(x): (x * 10 | round / 10 | tostring);
  def r(x): (x * 100 | round / 100 | tostring);
  def row(name; x): "| \(name) | \(x.articles_per_s | round) | \(f(x.mb_per_s)) | \(f(x.total_s)) s | \(f(x.peak_rss_mb)) MB | \(if x.ratio then r(x.ratio) else "1" end) | \(if x.latency then "\(f(x.latency.p50_ms)) / \(f(x.latency.p99_ms)) ms at \(x.latency.achieved_rate | round)/s" else "" end) |";
  "dateline pipeline bench: N=\(.n) articles, \(f(.input_bytes / 1e6)) MB (mean \(.mean_article_bytes | round) B), \(.cores) cores, load avg at end \(.loadavg_at_end)",
  "",
  "| exactly_once | articles/s | MB/s | wall (incl. start-up) | peak RSS | ratio to passthrough | latency p50 / p99 at half rate |",
  "|---|---|---|---|---|---|---|",
  row("dateline run, extraction stage (timelines.enabled = false)"; .dateline),
  row("dateline run, default (extraction + timeline stage)"; .dateline_with_timelines),
  row("passthrough (copies each record)"; .passthrough),
  "",
  "articles/s and MB/s: from the first committed batch to the last (steady state); with the timeline",
  "stage, to the moment it has consumed everything the extraction stage gave it.",
  "latency: produce -> first timeline record of the article on a read_committed consumer.",
  "written: target/bench/pipeline.json"' "$out/pipeline.json"
