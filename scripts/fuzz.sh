#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60). Not part of CI.
# Needs a nightly toolchain and cargo-fuzz; this script installs both if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
for target in tagger decode; do
  echo "== fuzz $target for ${secs}s"
  cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -max_len=65536
done
