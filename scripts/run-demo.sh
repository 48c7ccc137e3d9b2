#!/usr/bin/env bash
# `make run`: the live demo. picket defends a web server in network namespaces of its own against
# a port scan, a SYN flood and a connection flood sent as real packets, narrating as it goes, and
# removes everything afterwards (about half a minute; docs/demo.md).
#
# The live demo needs root (namespaces, nftables). Without root it uses sudo when there is one;
# otherwise it falls back to the offline demo: simulate a capture and replay it.
set -euo pipefail
picket=${1:-build/picket}

if [ "$(id -u)" -eq 0 ]; then
  exec "$picket" demo
fi
if command -v sudo >/dev/null 2>&1; then
  echo "picket demo needs root (network namespaces, nftables): running it with sudo"
  exec sudo "$picket" demo
fi

echo "picket demo needs root and there is no sudo: showing the offline demo instead (simulate + replay)"
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
