#!/usr/bin/env bash
# Golden replay test: simulate a scenario, replay it, and compare the events with the checked-in
# expectation byte for byte. Also replays a second time and checks the output is identical.
#   golden.sh PICKET SCENARIO PACKETS|default [simulate options...]
# With UPDATE_GOLDEN=1 the expectation is rewritten instead.
set -euo pipefail
picket=$1 scenario=$2 packets=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
name=$scenario
for a in "$@"; do [ "$a" = "--ipv6" ] && name="$scenario-ipv6"; done
expected="$here/expected/$name.jsonl"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

count=()
[ "$packets" != default ] && count=(--packets "$packets")
"$picket" simulate --scenario "$scenario" "${count[@]}" --seed 7 --out "$tmp/c.pcap" "$@" 2>/dev/null
"$picket" replay "$tmp/c.pcap" --events "$tmp/a.jsonl" --no-progress 2>"$tmp/err1"
"$picket" replay "$tmp/c.pcap" --events "$tmp/b.jsonl" --no-progress 2>/dev/null

if ! cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl"; then
  echo "FAIL: two replays of the same capture differ" >&2
  diff "$tmp/a.jsonl" "$tmp/b.jsonl" | head -20 >&2
  exit 1
fi
if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
  mkdir -p "$here/expected"
  cp "$tmp/a.jsonl" "$expected"
  echo "updated $expected"
  exit 0
fi
if [ ! -f "$expected" ]; then
  echo "FAIL: no expectation $expected (run: make golden)" >&2
  exit 1
fi
if ! diff -u "$expected" "$tmp/a.jsonl" >"$tmp/diff"; then
  echo "FAIL: events differ from $expected:" >&2
  head -60 "$tmp/diff" >&2
  exit 1
fi
lines=$(wc -l <"$tmp/a.jsonl")
echo "ok: $scenario ($packets packets) → $lines events, identical to the golden file and across two replays"
