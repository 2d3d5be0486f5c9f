#!/usr/bin/env bash
# Regenerates docs/schemas/ from the Rust types.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q
./target/debug/dateline schema article > docs/schemas/article.schema.json
./target/debug/dateline schema record > docs/schemas/timeline-record.schema.json
./target/debug/dateline schema entry > docs/schemas/timeline-entry.schema.json
./target/debug/dateline schema dead-letter > docs/schemas/dead-letter.schema.json
echo "docs/schemas regenerated"
