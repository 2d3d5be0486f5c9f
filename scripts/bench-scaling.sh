#!/usr/bin/env bash
# How the timeline store and the extractor scale, one process per size (examples/bench_scaling.rs).
#
#   scripts/bench-scaling.sh            # entries 10^3..10^6, article lengths 1 KB..4 MB
#   BENCH_MAX_ENTRIES=100000 scripts/bench-scaling.sh   # stop at 10^5 (10^6 needs ~4 GB, ~1 min)
#
# Entries: N reports spread over 1000 timelines, each creating an entry; then N/10 reports that
# merge into existing entries; logged every 500 reports as the pipeline logs each batch; once with
# the entry bodies in memory and once on disk (`[timelines] state`). Prints inserts/s, merges/s, the store's own memory (RSS growth)
# per entry, the compacted changelog's size and the time to restore from it, and peak RSS.
# Article length: one date-dense article (about 25 dated events per KB, much denser than news)
# extracted after a warm-up; MB/s and peak RSS.
# Writes target/bench/scaling.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
max=${BENCH_MAX_ENTRIES:-1000000}
cargo build -q --release --example bench_scaling
bin=$root/target/release/examples/bench_scaling
out=$root/target/bench
mkdir -p "$out"
results=()
printf '%-7s %-10s %12s %12s %10s %10s %14s %12s %10s\n' state entries "inserts/s" "merges/s" "store MB" "B/entry" "changelog MB" "restore s" "peak MB"
for n in 1000 10000 100000 1000000; do
  (( n > max )) && break
  for backend in memory disk; do
  line=$("$bin" entries "$n" 1000 "$backend")
  results+=("$line")
  python3 - "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"{r['backend']:<7} {r['entries']:<10} {r['insert_per_sec']:>12,.0f} {r['merge_per_sec']:>12,.0f} {r['store_mb']:>10.1f} "
      f"{r['bytes_per_entry']:>10,.0f} {r['compacted_changelog_mb']:>14.1f} {r['restore_secs']:>12.2f} {r['peak_rss_mb']:>10.0f}")
PY
  done
done
echo
printf '%-12s %10s %10s %10s\n' "article B" records "MB/s" "peak MB"
for b in 1000 10000 100000 1000000 4000000; do
  line=$("$bin" article "$b")
  results+=("$line")
  python3 - "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"{r['bytes']:<12} {r['records']:>10} {r['mb_per_sec']:>10.2f} {r['peak_rss_mb']:>10.0f}")
PY
done
printf '%s\n' "${results[@]}" | python3 -c 'import json,sys; json.dump([json.loads(l) for l in sys.stdin], open(sys.argv[1],"w"), indent=1)' "$out/scaling.json"
echo "wrote $out/scaling.json"
