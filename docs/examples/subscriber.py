#!/usr/bin/env python3
"""A downstream subscriber of dateline's output topic that keeps every timeline sorted.

It reads committed records only (isolation.level=read_committed: records of aborted or open
transactions are never seen), keeps each timeline's records by event_id (so a redelivery,
possible with guarantee = "at_least_once", changes nothing), sorts them by the contract's order
(date.end, date.start, span start, value) and prints the timelines it changed:

    == timeline yonhap-2019-12-17-dprk-sanctions (5 events)
    2018-06-01..2018-06-30  2018-06              asserted    summit: "June 2018"
    ...

Each time new records have arrived and the topic goes quiet, the changed timelines are printed
again, whole; the last block printed for a timeline is its current state.

    pip install confluent-kafka
    python3 docs/examples/subscriber.py --bootstrap-servers 127.0.0.1:9092 --topic timeline

--max-messages N exits (status 0) after N records; --timeout S exits after S seconds (status 0
without --max-messages, 2 when fewer than N records came).
"""

import argparse
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException

# The contract this subscriber understands (header schema-version, payload schema_version).
SCHEMA_VERSION = 1
CE_TYPE = "dateline.timeline.record.v1"


def order_key(record):
    """The contract's order: the last day the event can fall on, then the first, then the
    position in the text, then the value."""
    date = record["date"]
    return (date["end"], date["start"], date["span"][0], date["value"])


def header(message, name):
    for key, value in message.headers() or []:
        if key == name:
            return value.decode("utf-8", "replace") if value is not None else None
    return None


def render(key, records):
    lines = [f"== timeline {key} ({len(records)} events)"]
    for r in records:
        d, e = r["date"], r["event"]
        value = d["value"] + (f" {d['mod']}" if d.get("mod") else "")
        lines.append(
            f"{d['start']}..{d['end']}  {value:<20} {e['modality']:<11} "
            f"{e['trigger']}: \"{d['text']}\"  {r['event_id']}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--topic", default="timeline")
    parser.add_argument(
        "--group-id",
        default=None,
        help="consumer group (default: a new one, so every run reads the topic from the start)",
    )
    parser.add_argument("--max-messages", type=int, default=None, help="exit after N records")
    parser.add_argument("--timeout", type=float, default=None, help="exit after S seconds")
    args = parser.parse_args(argv)

    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap_servers,
            "group.id": args.group_id or f"dateline-subscriber-{uuid.uuid4()}",
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            # A viewer: it rebuilds its state from the topic, so it commits nothing.
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([args.topic])

    timelines = {}  # timeline key -> {event_id: record}
    changed = set()
    seen = 0
    deadline = None if args.timeout is None else time.monotonic() + args.timeout

    def flush():
        for key in sorted(changed):
            records = sorted(timelines[key].values(), key=order_key)
            print(render(key, records), flush=True)
        changed.clear()

    try:
        while args.max_messages is None or seen < args.max_messages:
            if deadline is not None and time.monotonic() >= deadline:
                break
            message = consumer.poll(0.5)
            if message is None:
                flush()  # quiet: show what changed
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(message.error())
            seen += 1
            version = header(message, "schema-version")
            if version != str(SCHEMA_VERSION) or header(message, "ce_type") != CE_TYPE:
                print(
                    f"skipping {message.topic()}/{message.partition()}@{message.offset()}: "
                    f"schema-version {version!r}, ce_type {header(message, 'ce_type')!r}",
                    file=sys.stderr,
                )
                continue
            record = json.loads(message.value())
            key = record["timeline"]
            timelines.setdefault(key, {})[record["event_id"]] = record
            changed.add(key)
    finally:
        flush()
        consumer.close()

    if args.max_messages is not None and seen < args.max_messages:
        print(f"timed out after {seen} of {args.max_messages} records", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
