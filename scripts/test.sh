#!/usr/bin/env bash
# The project's test command (CI runs it through .ci/run):
#   1. scripts/install-deps.sh (kcat, Maven/Java, native build deps, rustfmt/clippy)
#   2. unless KAFKA_BOOTSTRAP_SERVERS names a broker: start a real Apache Kafka broker with
#      scripts/kafka.sh on 127.0.0.1:${KAFKA_PORT:-9092} and stop it again on exit, whatever
#      happens (a broker that was already running is used and left running)
#   3. cargo fmt --check, cargo clippy -D warnings, cargo test (lib, bins, tests, doctests)
# Exports KAFKA_BOOTSTRAP_SERVERS and DATELINE_KCAT for the tests. Its last lines are cargo
# test's summary; the broker's log is $DATELINE_KAFKA_CACHE/log/kafka-<port>.log
# (default ~/.cache/dateline/kafka/log/).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

started=""
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
    echo "test.sh: using the broker already running: $(bash scripts/kafka.sh status)" >&2
  fi
  export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092}
fi
DATELINE_KCAT=${DATELINE_KCAT:-$(command -v kcat || true)}
export DATELINE_KCAT

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test (Kafka: $KAFKA_BOOTSTRAP_SERVERS)" >&2
cargo test
