#!/usr/bin/env bash
# The fault-injection suite of issue 6 at full scale, against a real Apache Kafka broker, with
# the figures it measures:
#   crash loop      10 SIGKILLs at random moments over a 50,000-article exactly-once run, the
#                   committed output compared with an undisturbed run of the same input
#   broker restart  a private broker (scripts/kafka.sh on other ports and data) stopped and
#                   started again mid-run; the same dateline process carries on
#   rebalance       2 instances, a 3rd joins, one of the three SIGKILLed; 6 input partitions
#   poison flood    half of 50,000 inputs poison (6 kinds); good-article rate vs an all-good run
#   hostile         10 MB value, 800 KB of repetitive text and of digits, invalid UTF-8, JSON
#                   nested 10,000 deep; time per record
#
#   scripts/faults.sh [FILTER]     FILTER: a cargo test name filter (e.g. crash_loop); all if none
#
# Runs `cargo test --release --test faults` with FAULTS_SCALE=full, one test at a time. Sizes can
# be changed through the variables each test documents (tests/faults.rs: FAULTS_ARTICLES,
# FAULTS_KILLS, FAULTS_FLOOD_RECORDS, ...); FAULTS_SEED replays a run's random choices.
# Starts a broker on 127.0.0.1:${KAFKA_PORT:-9092} unless one is running or
# KAFKA_BOOTSTRAP_SERVERS names one (a broker it started is stopped at exit). Writes
#   target/faults/results.json   every test's figures, plus scale, machine and outcome
#   target/faults/faults.log     the cargo test output
#   target/faults/logs/<test>/   the dateline instances' configs and logs
# and prints a summary. Exit status: cargo test's.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/target/faults
say() { echo "faults.sh: $*" >&2; }

bash scripts/install-deps.sh

started=""
# shellcheck disable=SC2317  # called from the EXIT trap
stop_broker() {
  if [ -n "$started" ]; then
    local logdir=${DATELINE_KAFKA_CACHE:-$HOME/.cache/dateline/kafka}/log
    mkdir -p "$logdir"
    bash scripts/kafka.sh stop >>"$logdir/stop.log" 2>&1 || true
  fi
}
trap stop_broker EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  if ! bash scripts/kafka.sh status >/dev/null 2>&1; then
    started=1
    bash scripts/kafka.sh start
  else
    say "using the broker already running: $(bash scripts/kafka.sh status)"
  fi
  export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092}
fi

rm -rf "$out/results" "$out/logs"
mkdir -p "$out/results" "$out/logs"
export FAULTS_SCALE=${FAULTS_SCALE:-full}
export FAULTS_RESULTS_DIR=$out/results FAULTS_LOG_DIR=$out/logs
filter=("$@")
say "building (release)"
cargo test --release --test faults --no-run --quiet
say "running the fault suite (scale $FAULTS_SCALE, Kafka $KAFKA_BOOTSTRAP_SERVERS)"
t0=$SECONDS
set +e
cargo test --release --quiet --test faults -- --nocapture --test-threads=1 "${filter[@]}" 2>&1 \
  | tee "$out/faults.log"
status=${PIPESTATUS[0]}
set -e
wall=$((SECONDS - t0))

python3 - "$out" "$status" "$wall" "$FAULTS_SCALE" "$KAFKA_BOOTSTRAP_SERVERS" <<'PY'
import json, os, sys, platform
out, status, wall, scale, brokers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
results = {}
rdir = os.path.join(out, "results")
for name in sorted(os.listdir(rdir)):
    if name.endswith(".json"):
        with open(os.path.join(rdir, name)) as f:
            results[name[:-5]] = json.load(f)
with open("/proc/loadavg") as f:
    loadavg = " ".join(f.read().split()[:3])
doc = {"scale": scale, "status": "passed" if status == 0 else "failed", "exit_code": status,
       "wall_s": wall, "kafka": brokers, "cores": os.cpu_count(), "loadavg_at_end": loadavg,
       "command": "bash scripts/faults.sh", "tests": results}
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(doc, f, indent=2)

def f1(x):
    return "-" if x is None else f"{x:.1f}"
def f0(x):
    return "-" if x is None else f"{x:,.0f}"
print()
print(f"dateline fault suite: scale {scale}, {doc['status']} in {wall} s, {os.cpu_count()} cores, "
      f"load avg at end {loadavg}")
print()
print("| fault | what was done | outcome |")
print("|---|---|---|")
r = results.get("crash_loop")
if r:
    print(f"| crash loop | {r['articles']:,} articles ({r['records']:,} records), {r['kills']} SIGKILLs at random moments "
          f"+ restarts: {f1(r['crash_loop_s'])} s (undisturbed run {f1(r['undisturbed_s'])} s, "
          f"{f0(r['undisturbed_articles_per_s'])} articles/s) | lost {r['lost']}, doubled {r['doubled']}, "
          f"identical to the undisturbed run: {'yes' if r['identical_to_undisturbed'] else 'NO'} |")
r = results.get("broker_restart")
if r:
    print(f"| broker restart | {r['articles']:,} articles; broker stopped at {r['committed_at_stop']:,} committed, "
          f"down {f1(r['down_s'])} s | same process reconnected, first commit {f1(r['first_commit_after_restart_s'])} s "
          f"after the broker was back; lost {r['lost']}, doubled {r['doubled']} |")
r = results.get("rebalance")
if r:
    print(f"| rebalance | {r['articles']:,} articles, {r['partitions']} partitions; a, b; c joined at {r['c_joined_at']:,}; "
          f"{r['killed']} SIGKILLed at {r['killed_at']:,} | done in {f1(r['wall_s'])} s; lost {r['lost']}, doubled {r['doubled']} |")
r = results.get("poison_flood")
if r:
    kinds = ", ".join(f"{k} {v:,}" for k, v in r["dead_letters_by_kind"].items())
    print(f"| poison flood | {r['inputs']:,} inputs, {r['bad']:,} poison ({kinds}) | good articles/s "
          f"{f0(r['flood_good_articles_per_s'])} vs {f0(r['all_good_articles_per_s'])} all-good "
          f"(ratio {'-' if r['ratio'] is None else format(r['ratio'], '.2f')}); every poison record dead-lettered once; lost {r['lost']}, doubled {r['doubled']} |")
r = results.get("hostile")
if r:
    for i in r["inputs"]:
        print(f"| hostile | {i['input']} ({i['bytes']:,} B) | {i['outcome']}, {i['seconds']:.2f} s |")
missing = [t for t in ("crash_loop", "broker_restart", "rebalance", "poison_flood", "hostile") if t not in results]
if missing:
    print()
    print("no figures from: " + ", ".join(missing) + " (filtered out, skipped or failed; see target/faults/faults.log)")
print()
print("written: target/faults/results.json")
PY
exit "$status"
