#!/usr/bin/env bash
# A real Apache Kafka 4.x broker for tests: ONE combined broker+controller in KRaft mode,
# listening on 127.0.0.1 only. The server jars come from Maven Central through
# scripts/kafka/pom.xml (fetched once into a cache, keyed on the pom's hash).
#
#   scripts/kafka.sh start          fetch jars if needed, format fresh storage, start the broker
#                                   and wait until it answers (no-op when already running)
#   scripts/kafka.sh stop           SIGTERM, SIGKILL after $KAFKA_STOP_TIMEOUT s; remove its data
#                                   (no-op when not running)
#   scripts/kafka.sh status         exit 0 when running, 1 when not
#   scripts/kafka.sh logs [N]       print the server log (the last N lines when N is given)
#   scripts/kafka.sh fetch          only fetch the jars
#   scripts/kafka.sh run CLASS ...  run a Kafka tool class with the cached jars, e.g.
#        scripts/kafka.sh run org.apache.kafka.tools.TopicCommand \
#          --bootstrap-server 127.0.0.1:9092 --create --topic t --partitions 3
#
# Environment:
#   KAFKA_PORT (9092)                 PLAINTEXT listener, 127.0.0.1
#   KAFKA_CONTROLLER_PORT (port + 1)  CONTROLLER listener, 127.0.0.1
#   DATELINE_KAFKA_CACHE (~/.cache/dateline/kafka)
#        libs-<pom hash>/  jars        run-<port>/  config, pid file, data (removed on stop)
#        log/kafka-<port>.log          server log (kept after stop; the previous run's is *.1)
#        log/fetch.log, log/format-<port>.log
#   KAFKA_RUN_DIR ($DATELINE_KAFKA_CACHE/run-<port>)  config, pid file and data of this broker
#   KAFKA_KEEP_DATA (unset)  1: `stop` keeps the run directory and `start` restarts on the data
#        already there (same cluster, topics, offsets and transactions) instead of formatting
#        fresh storage: a broker restart, as tests/faults.rs does on a private broker
#   KAFKA_START_TIMEOUT (90)  KAFKA_STOP_TIMEOUT (30)  seconds
#   KAFKA_HEAP_OPTS (-Xms256m -Xmx1g)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pom=$here/kafka/pom.xml
cache=${DATELINE_KAFKA_CACHE:-$HOME/.cache/dateline/kafka}
port=${KAFKA_PORT:-9092}
cport=${KAFKA_CONTROLLER_PORT:-$((port + 1))}
start_timeout=${KAFKA_START_TIMEOUT:-90}
stop_timeout=${KAFKA_STOP_TIMEOUT:-30}
heap=${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}
hash=$(sha256sum "$pom" | cut -c1-16)
libs=$cache/libs-$hash
run=${KAFKA_RUN_DIR:-$cache/run-$port}
keep_data=${KAFKA_KEEP_DATA:-}
pidfile=$run/kafka.pid
logdir=$cache/log
log=$logdir/kafka-$port.log

say() { echo "kafka.sh: $*" >&2; }
die() { say "$*"; exit 1; }

need_java() { command -v java >/dev/null || die "java not found (run scripts/install-deps.sh)"; }

# Whether a running process has $1 in an argument (a jar directory in a -cp).
in_use() {
  local f arg
  for f in /proc/[0-9]*/cmdline; do
    while IFS= read -r -d '' arg; do [[ $arg == *"$1"* ]] && return 0; done <"$f" 2>/dev/null || true
  done
  return 1
}

# Jars: mvn copies them into a temporary directory that is renamed into place when complete, so
# a broker still running from an older libs-* directory is never disturbed.
fetch() {
  [ -f "$libs/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (run scripts/install-deps.sh)"
  mkdir -p "$cache" "$logdir"
  exec 8>"$cache/fetch.lock"
  flock 8
  if [ ! -f "$libs/.complete" ]; then
    say "fetching Apache Kafka jars from Maven Central (log: $logdir/fetch.log)"
    local tmp=$cache/.libs-$hash.$$
    rm -rf "$tmp"
    if ! mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$tmp" \
      >"$logdir/fetch.log" 2>&1 </dev/null; then
      tail -n 30 "$logdir/fetch.log" >&2
      rm -rf "$tmp"
      die "fetching the Kafka jars failed"
    fi
    echo "$hash" >"$tmp/.complete"
    rm -rf "$libs"
    mv "$tmp" "$libs"
    # Drop jar directories of older poms that no running process uses any more.
    local d
    for d in "$cache"/libs-* "$cache"/libs; do
      if [ -d "$d" ] && [ "$d" != "$libs" ] && ! in_use "$d/"; then rm -rf "$d"; fi
    done
  fi
  exec 8>&-
}

# Kafka's command-line tools: a small, quick-starting JVM.
tool_java=(java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$here/kafka/log4j2-tools.xml" -cp "$libs/*")
tool() { "${tool_java[@]}" "$@"; }

pid() { cat "$pidfile" 2>/dev/null || true; }

# Running = the pid file names a live kafka.Kafka process that uses this run directory.
running() {
  local p; p=$(pid)
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
  [[ $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) == *"kafka.Kafka $run/server.properties"* ]]
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

answers() {
  if command -v kcat >/dev/null; then
    timeout 15 kcat -b "127.0.0.1:$port" -L -m 10 >/dev/null 2>&1
  else
    timeout 30 "${tool_java[@]}" org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "127.0.0.1:$port" --list >/dev/null 2>&1
  fi
}

version() { local j; for j in "$libs"/kafka_2.13-*.jar; do j=${j##*/kafka_2.13-}; echo "${j%.jar}"; done; }

start() {
  if running; then say "already running (pid $(pid)) on 127.0.0.1:$port"; return 0; fi
  need_java
  fetch
  local q
  for q in "$port" "$cport"; do
    port_open "$q" && die "127.0.0.1:$q is already in use by another process; set KAFKA_PORT (and KAFKA_CONTROLLER_PORT)"
  done
  # Restart on existing storage (KAFKA_KEEP_DATA=1 and a formatted data directory), or fresh.
  local reuse=""
  if [ "$keep_data" = 1 ] && [ -f "$run/data/meta.properties" ]; then reuse=1; else rm -rf "$run"; fi
  mkdir -p "$run/data" "$logdir"
  cat >"$run/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$run/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Test data carries old record timestamps (articles from 2019, fixed test clocks): time-based
# retention would delete it mid-test, so a test broker keeps everything.
log.retention.ms=-1
num.network.threads=2
num.io.threads=4
PROPS
  if [ -f "$log" ]; then mv -f "$log" "$log.1"; fi
  if [ -z "$reuse" ]; then
    # A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting with '-'.
    local id=-
    while [ "${id:0:1}" = - ]; do id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
    tool kafka.tools.StorageTool format -t "$id" -c "$run/server.properties" --standalone \
      >"$logdir/format-$port.log" 2>&1 </dev/null \
      || { cat "$logdir/format-$port.log" >&2; die "formatting the storage failed"; }
  fi
  # setsid: the broker lives in its own session, so ^C in a test run does not hit it (stop does).
  # shellcheck disable=SC2086
  setsid java $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/kafka/log4j2.xml" -cp "$libs/*" \
    kafka.Kafka "$run/server.properties" >"$log" 2>&1 </dev/null 8>&- 9>&- &
  local p=$!
  echo "$p" >"$pidfile"
  local t0=$SECONDS
  until port_open "$port" && grep -qF "Kafka Server started" "$log" && answers; do
    # (kill -0, not running(): until the fork has exec'd java its command line is this script's)
    if ! kill -0 "$p" 2>/dev/null; then
      tail -n 40 "$log" >&2
      die "the broker exited while starting (log: $log)"
    fi
    if [ $((SECONDS - t0)) -ge "$start_timeout" ]; then
      kill -KILL "$p" 2>/dev/null || true
      tail -n 40 "$log" >&2
      die "the broker did not answer on 127.0.0.1:$port within ${start_timeout}s (log: $log)"
    fi
    sleep 0.5
  done
  say "Apache Kafka $(version) ready on 127.0.0.1:$port${reuse:+ (restarted on its data)} (pid $(pid), ${SECONDS}s, log: $log)"
}

# Removes the run directory, unless KAFKA_KEEP_DATA=1 keeps it for a restart.
clean() { if [ "$keep_data" != 1 ]; then rm -rf "$run"; fi; }

stop() {
  if ! running; then clean; return 0; fi
  local p; p=$(pid)
  kill -TERM "$p" 2>/dev/null || true
  local t0=$SECONDS
  while kill -0 "$p" 2>/dev/null && [ $((SECONDS - t0)) -lt "$stop_timeout" ]; do sleep 0.5; done
  if kill -0 "$p" 2>/dev/null; then
    say "no exit ${stop_timeout}s after SIGTERM; sending SIGKILL"
    kill -KILL "$p" 2>/dev/null || true
    while kill -0 "$p" 2>/dev/null; do sleep 0.2; done
  fi
  clean
  say "stopped (127.0.0.1:$port)"
}

# One start or stop at a time per port.
locked() {
  mkdir -p "$cache"
  exec 9>"$cache/run-$port.lock"
  flock 9
  "$@"
}

case "${1:-}" in
  start) locked start ;;
  stop) locked stop ;;
  status)
    if running; then echo "running (pid $(pid)) on 127.0.0.1:$port"; else echo "not running"; exit 1; fi ;;
  logs)
    [ -f "$log" ] || die "no log at $log"
    if [ -n "${2:-}" ]; then tail -n "$2" "$log"; else cat "$log"; fi ;;
  fetch) fetch ;;
  run) shift; need_java; fetch; tool "$@" ;;
  *) echo "usage: $0 start|stop|status|logs [N]|fetch|run CLASS [ARGS...]" >&2; exit 2 ;;
esac
