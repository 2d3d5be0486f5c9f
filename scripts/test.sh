#!/usr/bin/env bash
# The project's test command: installs what is missing, starts a real Apache Kafka broker unless
# KAFKA_BOOTSTRAP_SERVERS names one, runs the format check, clippy and every test, and stops the
# broker again even when a step fails. Its last lines are cargo test's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
started=""
cleanup() {
  if [ -n "$started" ]; then bash scripts/kafka.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  bash scripts/kafka.sh start
  started=1
  export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092}
fi
export DATELINE_KCAT=${DATELINE_KCAT:-$(command -v kcat || true)}
echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test (broker: $KAFKA_BOOTSTRAP_SERVERS)" >&2
cargo test 2>&1
