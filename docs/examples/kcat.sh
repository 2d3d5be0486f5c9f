#!/bin/sh
# Reads dateline's output topic as a downstream consumer would: committed records only
# (isolation.level=read_committed), one line per record: key TAB headers TAB value (JSON).
# Stops at the end of the topic (-e); leave -e out to follow it.
#
#   docs/examples/kcat.sh [BROKERS] [TOPIC]      (defaults: 127.0.0.1:9092, timeline)
#
# KCAT names the kcat binary (default: kcat).
exec "${KCAT:-kcat}" -b "${1:-127.0.0.1:9092}" -C -t "${2:-timeline}" -X isolation.level=read_committed -e -q -f '%k\t%h\t%s\n'
