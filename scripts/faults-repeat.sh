#!/usr/bin/env bash
# Runs one fault-injection test many times, optionally with CPU hogs beside it, and counts the
# outcomes: how flaky is it on a loaded machine?
#
#   scripts/faults-repeat.sh [FILTER] [RUNS] [HOGS]
#     FILTER  a test name filter of tests/faults.rs (default broker_restart)
#     RUNS    how many runs (default 10)
#     HOGS    busy-looping processes run beside the test, to load the machine (default 2)
#
# Each run is `cargo test --test faults FILTER` at the short scale (the README's test command's
# sizes) with its own seed, unless FAULTS_SEED fixes one. The log of run i is
# target/faults-repeat/run-i.log; a failed run also keeps the dateline logs
# (target/faults-repeat/logs-i/) and, for the broker-restart test, the private broker's data
# (target/faults-repeat/broker-i/). Prints one line per run and a summary; exit status 1 if any
# run failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
filter=${1:-broker_restart}
runs=${2:-10}
hogs=${3:-2}
out=$(pwd)/target/faults-repeat
say() { echo "faults-repeat.sh: $*" >&2; }

pids=()
started=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  pids=()
  [ -z "$started" ] || bash scripts/kafka.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

bash scripts/install-deps.sh || exit 1
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ] && ! bash scripts/kafka.sh status >/dev/null 2>&1; then
  bash scripts/kafka.sh start || exit 1
  started=1
fi
rm -rf "$out"
mkdir -p "$out"
say "building"
cargo test --test faults --no-run >"$out/build.log" 2>&1 || {
  cat "$out/build.log"
  exit 1
}

for _ in $(seq 1 "$hogs"); do
  (while :; do :; done) &
  pids+=($!)
done

passed=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  FAULTS_LOG_DIR="$out/logs-$i" FAULTS_KEEP_BROKER="$out/broker-$i" \
    cargo test --test faults "$filter" -- --nocapture >"$out/run-$i.log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  # What the service went through: stage restarts, and calls given up as stuck.
  restarts=$(cat "$out/logs-$i"/*/*.log 2>/dev/null | grep -c 'stage restarting' || true)
  stuck=$(cat "$out/logs-$i"/*/*.log 2>/dev/null | grep -c 'did not return within' || true)
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    rm -rf "$out/logs-$i"
    echo "run $i: ok (${took} s, ${restarts} stage restart(s), ${stuck} stuck call(s)) $(grep -h '^faults/.*lost [0-9]* doubled [0-9]*' "$out/run-$i.log" | head -1 | cut -c1-160)"
  else
    echo "run $i: FAILED (${took} s): $(grep -h -A1 'panicked at' "$out/run-$i.log" | tail -1 | cut -c1-200)"
  fi
done
[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
pids=()
echo "faults-repeat.sh: $filter passed $passed of $runs runs with $hogs CPU hog(s)"
[ "$passed" -eq "$runs" ]
