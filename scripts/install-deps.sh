#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine, idempotently and quietly:
# kcat (the outside Kafka client used in tests), Maven and a JRE for the test broker, the C
# toolchain pieces that rdkafka's bundled librdkafka build needs, and rustfmt/clippy.
set -euo pipefail
need=()
command -v kcat >/dev/null || need+=(kcat)
command -v mvn >/dev/null || need+=(maven)
command -v java >/dev/null || need+=(default-jre-headless)
command -v cc >/dev/null || need+=(build-essential)
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if command -v rustup >/dev/null; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt >/dev/null 2>&1
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy >/dev/null 2>&1
fi
exit 0
