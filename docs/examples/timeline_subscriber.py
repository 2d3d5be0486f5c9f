#!/usr/bin/env python3
"""A downstream subscriber of dateline's timelines topic that keeps one timeline sorted.

Each record on the timelines topic is one version of one entry (an event merged from every
article that reports it), keyed by its timeline. This subscriber follows one timeline
(--timeline north-korea, or topic:articles for the global timeline of the input topic) without
ever sorting it:

- it keeps the latest version of each entry_id and ignores older or repeated versions (a
  redelivery, possible with guarantee = "at_least_once", changes nothing);
- it places each new version after position.before (first when it is null), where the timeline
  stage saw it when it published it, so the list stays in the stage's date order;
- it checks timeline_version, which grows by exactly one per change on the timeline, and reports
  a gap (changes it never saw, e.g. removed by retention) on stderr.

It reads committed records only (isolation.level=read_committed). Each time new versions have
arrived and the topic goes quiet, it prints the timeline, whole; the last block printed is its
current state:

    == timeline harbor-bridge (3 entries, timeline version 5)
    2023-03-07..2023-03-07  2023-03-07           asserted    announced: "Tuesday" (1 source)  te-10e32c1f0259a2d5
    ...

    pip install confluent-kafka
    python3 docs/examples/timeline_subscriber.py --bootstrap-servers 127.0.0.1:9092 \\
        --topic timelines --timeline harbor-bridge

With timelines.ordering = "watermark", late changes go to the late topic: add
--late-topic timelines.late to merge them in (they carry late: true and do not move
timeline_version). A neighbour this subscriber has not seen (a late entry read from neither
topic) places the entry by its date instead, with a note on stderr.

--max-messages N exits (status 0) after N versions of the timeline; --timeout S exits after S
seconds (status 0 without --max-messages, 2 when fewer than N came).
"""

import argparse
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException

# The contract this subscriber understands (header schema-version, payload schema_version).
SCHEMA_VERSION = 1
CE_TYPE = "dateline.timeline.entry.v1"


def date_key(entry):
    """The stage's date order, for entries whose neighbours are unknown: the last day the event
    can fall on, then the first, then the value, then the id."""
    date = entry["date"]
    return (date["end"], date["start"], date["value"], entry["entry_id"])


class Timeline:
    """One timeline: the latest version of each entry, in date order."""

    def __init__(self, key):
        self.key = key
        self.entries = {}  # entry_id -> latest version of the entry
        self.order = []  # entry ids in date order
        self.version = None  # last timeline_version seen (None: nothing seen yet)

    def apply(self, entry):
        """Applies one entry version; returns notes for stderr (empty when all is well)."""
        notes = []
        entry_id = entry["entry_id"]
        kept = self.entries.get(entry_id)
        if kept is not None and entry["version"] <= kept["version"]:
            return notes  # older or repeated: the list already holds something newer
        if not entry.get("late"):
            expected = 1 if self.version is None else self.version + 1
            if entry["timeline_version"] > expected:
                missed = entry["timeline_version"] - expected
                notes.append(
                    f"{self.key}: gap before timeline version {entry['timeline_version']} "
                    f"({missed} change(s) not seen)"
                )
            self.version = max(self.version or 0, entry["timeline_version"])
        self.entries[entry_id] = entry
        if entry_id in self.order:
            self.order.remove(entry_id)
        if not self._place(entry):
            notes.append(
                f"{self.key}: neighbours of {entry_id} v{entry['version']} not seen; "
                "placed by date"
            )
        return notes

    def _place(self, entry):
        """Inserts the entry where its position says; False when it had to use its date."""
        before, after = entry["position"].get("before"), entry["position"].get("after")
        entry_id = entry["entry_id"]
        if before is None:
            self.order.insert(0, entry_id)
        elif before in self.entries:
            self.order.insert(self.order.index(before) + 1, entry_id)
        elif after is None:
            self.order.append(entry_id)
        elif after in self.entries:
            self.order.insert(self.order.index(after), entry_id)
        else:
            key = date_key(entry)
            at = next(
                (i for i, e in enumerate(self.order) if date_key(self.entries[e]) > key),
                len(self.order),
            )
            self.order.insert(at, entry_id)
            return False
        return True

    def render(self):
        lines = [
            f"== timeline {self.key} ({len(self.order)} entries, "
            f"timeline version {self.version or 0})"
        ]
        for entry_id in self.order:
            e = self.entries[entry_id]
            d, ev = e["date"], e["event"]
            value = d["value"] + (f" {d['mod']}" if d.get("mod") else "")
            n = len(e["sources"])
            late = ", late" if e.get("late") else ""
            lines.append(
                f"{d['start']}..{d['end']}  {value:<20} {ev['modality']:<11} "
                f"{ev['trigger']}: \"{d['text']}\" ({n} source{'s' if n != 1 else ''}{late})  "
                f"{entry_id}"
            )
        return "\n".join(lines)


def header(message, name):
    for key, value in message.headers() or []:
        if key == name:
            return value.decode("utf-8", "replace") if value is not None else None
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--topic", default="timelines")
    parser.add_argument(
        "--late-topic", default=None, help="also read late changes (watermark ordering)"
    )
    parser.add_argument(
        "--timeline", required=True, help="timeline key, e.g. north-korea or topic:articles"
    )
    parser.add_argument(
        "--group-id",
        default=None,
        help="consumer group (default: a new one, so every run reads the topic from the start)",
    )
    parser.add_argument(
        "--max-messages", type=int, default=None, help="exit after N versions of the timeline"
    )
    parser.add_argument("--timeout", type=float, default=None, help="exit after S seconds")
    args = parser.parse_args(argv)

    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap_servers,
            "group.id": args.group_id or f"dateline-timeline-subscriber-{uuid.uuid4()}",
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            # A viewer: it rebuilds its state from the topic, so it commits nothing.
            "enable.auto.commit": False,
        }
    )
    # The timeline's records share one partition, but which one depends on the producer's
    # partitioner: read every partition and keep the timeline's key.
    consumer.subscribe([args.topic] + ([args.late_topic] if args.late_topic else []))
    wanted = args.timeline.encode("utf-8")

    timeline = Timeline(args.timeline)
    changed = False
    seen = 0
    deadline = None if args.timeout is None else time.monotonic() + args.timeout

    def flush():
        nonlocal changed
        if changed:
            print(timeline.render(), flush=True)
        changed = False

    try:
        while args.max_messages is None or seen < args.max_messages:
            if deadline is not None and time.monotonic() >= deadline:
                break
            message = consumer.poll(0.5)
            if message is None:
                flush()  # quiet: show the timeline if it changed
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(message.error())
            if message.key() != wanted:
                continue
            seen += 1
            version = header(message, "schema-version")
            if version != str(SCHEMA_VERSION) or header(message, "ce_type") != CE_TYPE:
                print(
                    f"skipping {message.topic()}/{message.partition()}@{message.offset()}: "
                    f"schema-version {version!r}, ce_type {header(message, 'ce_type')!r}",
                    file=sys.stderr,
                )
                continue
            for note in timeline.apply(json.loads(message.value())):
                print(note, file=sys.stderr, flush=True)
            changed = True
    finally:
        flush()
        consumer.close()

    if args.max_messages is not None and seen < args.max_messages:
        print(f"timed out after {seen} of {args.max_messages} versions", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
