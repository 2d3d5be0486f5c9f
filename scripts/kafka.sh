#!/usr/bin/env bash
# A real Apache Kafka 4.x broker for tests: one combined broker+controller in KRaft mode on
# 127.0.0.1. The server jars come from Maven Central through scripts/kafka/pom.xml.
#
#   scripts/kafka.sh start    fetch jars if needed, format storage, start, wait until it answers
#   scripts/kafka.sh stop     stop it (SIGTERM, then SIGKILL after 30 s) and remove its data
#   scripts/kafka.sh status   exit 0 when running
#   scripts/kafka.sh logs     print the server log
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093),
#              DATELINE_KAFKA_CACHE (~/.cache/dateline/kafka): jars, data and logs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${DATELINE_KAFKA_CACHE:-$HOME/.cache/dateline/kafka}
port=${KAFKA_PORT:-9092}
cport=${KAFKA_CONTROLLER_PORT:-9093}
libs=$cache/libs
run=$cache/run-$port
pidfile=$run/kafka.pid
log=$run/server.log

fetch() {
  local stamp=$libs/.pom-$(sha256sum "$here/kafka/pom.xml" | cut -c1-16)
  [ -f "$stamp" ] && return 0
  command -v mvn >/dev/null || { echo "kafka.sh: mvn not found (install Maven)" >&2; exit 1; }
  echo "kafka.sh: fetching Kafka server jars from Maven Central" >&2
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" >&2
  touch "$stamp"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

java_run() { java -Xms256m -Xmx1g -Dlog4j2.configurationFile="$here/kafka/log4j2.xml" -cp "$libs/*" "$@"; }

answers() {
  # The broker answers a metadata request (kafka's own admin tool, no other client needed).
  timeout 20 java -Xmx256m -Dlog4j2.configurationFile="$here/kafka/log4j2.xml" -cp "$libs/*" \
    org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "127.0.0.1:$port" >/dev/null 2>&1
}

start() {
  if running; then echo "kafka.sh: already running on 127.0.0.1:$port" >&2; return 0; fi
  fetch
  rm -rf "$run" && mkdir -p "$run/data"
  cat > "$run/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$run/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
transaction.abort.timed.out.transaction.cleanup.interval.ms=10000
transaction.remove.expired.transaction.cleanup.interval.ms=10000
PROPS
  local id
  id=$(java_run kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
  java_run kafka.tools.StorageTool format -t "$id" -c "$run/server.properties" --standalone >"$run/format.log" 2>&1 \
    || { cat "$run/format.log" >&2; exit 1; }
  nohup java -Xms256m -Xmx1g -Dlog4j2.configurationFile="$here/kafka/log4j2.xml" -cp "$libs/*" \
    kafka.Kafka "$run/server.properties" >"$log" 2>&1 &
  echo $! > "$pidfile"
  local deadline=$((SECONDS + 120))
  until answers; do
    if ! running; then echo "kafka.sh: broker exited" >&2; tail -30 "$log" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then echo "kafka.sh: broker did not answer in 120 s" >&2; tail -30 "$log" >&2; exit 1; fi
    sleep 1
  done
  echo "kafka.sh: Apache Kafka $(basename "$libs"/kafka_2.13-*.jar .jar | sed 's/kafka_2.13-//') ready on 127.0.0.1:$port" >&2
}

stop() {
  if ! running; then rm -rf "$run"; return 0; fi
  local pid; pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$run"
  echo "kafka.sh: stopped" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running ;;
  logs) cat "$log" ;;
  *) echo "usage: $0 start|stop|status|logs" >&2; exit 2 ;;
esac
