#!/usr/bin/env bash
# `make run`: simulate a mixed attack capture and replay it through picket, printing what it saw.
set -euo pipefail
picket=${1:-build/picket}
out=${PICKET_DEMO_DIR:-out}
mkdir -p "$out"
echo "== picket simulate: a busy web server with attacks mixed in"
"$picket" simulate --scenario mixed --out "$out/mixed.pcap" --truth "$out/mixed.truth.json"
echo
echo "== picket replay $out/mixed.pcap  (events: $out/mixed.events.json, log: $out/mixed.log)"
"$picket" replay "$out/mixed.pcap" --events "$out/mixed.events.json" --log "$out/mixed.log"
echo
echo "== what picket reported (text log)"
cat "$out/mixed.log"
echo
echo "Re-run any time: $picket replay $out/mixed.pcap --log - --events /dev/null"
