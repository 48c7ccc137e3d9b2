#!/usr/bin/env bash
# Command-line behaviour: exit statuses, one-line errors naming the file, help for every
# subcommand, config checking. Usage: cli_test.sh PICKET
set -uo pipefail
picket=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# expect NAME STATUS STDERR_REGEX -- command...
expect() {
  local name=$1 want=$2 pattern=$3
  shift 4
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL $name: exit $got, want $want"; sed 's/^/  stderr: /' "$tmp/err" | head -5; fail=$((fail + 1)); return
  fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$tmp/err" "$tmp/out"; then
    echo "FAIL $name: output does not match /$pattern/"; sed 's/^/  /' "$tmp/err" "$tmp/out" | head -8
    fail=$((fail + 1)); return
  fi
  echo "ok   $name"; pass=$((pass + 1))
}

# --- help and version
expect help 0 "replay" -- "$picket" --help
for sub in replay simulate check-config version; do
  expect "help-$sub" 0 "Usage|usage|OPTIONS|Options" -- "$picket" "$sub" --help
done
expect help-config-schema 0 "Usage|OPTIONS" -- "$picket" config schema --help
expect version 0 "^picket [0-9]+\.[0-9]+" -- "$picket" version
expect no-subcommand 2 "" -- "$picket"
expect unknown-option 2 "" -- "$picket" replay --bogus x

# --- capture files
"$picket" simulate --scenario benign --packets 500 --out "$tmp/ok.pcap" 2>/dev/null
expect replay-ok 0 "500 packets" -- "$picket" replay "$tmp/ok.pcap" --events "$tmp/ev.jsonl"
expect replay-missing 2 "$tmp/nope.pcap.*(No such file|not found|cannot open)" -- "$picket" replay "$tmp/nope.pcap"
printf 'this is not a capture file at all' >"$tmp/bad.pcap"
expect replay-bad-magic 2 "bad.pcap" -- "$picket" replay "$tmp/bad.pcap"
: >"$tmp/empty.pcap"
expect replay-empty 2 "empty.pcap" -- "$picket" replay "$tmp/empty.pcap"
# Cut the good file in the middle of a record: what came before is still processed.
size=$(stat -c %s "$tmp/ok.pcap")
head -c $((size - 7)) "$tmp/ok.pcap" >"$tmp/cut.pcap"
expect replay-truncated 2 "cut.pcap.*trunc" -- "$picket" replay "$tmp/cut.pcap" --events "$tmp/cut.jsonl"
if grep -q '"final":true' "$tmp/cut.jsonl" && grep -q '"packets":499' "$tmp/cut.jsonl"; then
  echo "ok   replay-truncated-processes-prefix"; pass=$((pass + 1))
else
  echo "FAIL replay-truncated-processes-prefix: final stats should count 499 packets"; fail=$((fail + 1))
fi
expect replay-filter 0 "packets" -- "$picket" replay "$tmp/ok.pcap" --filter "tcp port 80" --events "$tmp/f.jsonl"
expect replay-bad-filter 2 "filter" -- "$picket" replay "$tmp/ok.pcap" --filter "tcp port banana"
expect replay-events-unwritable 1 "/nonexistent-dir" -- "$picket" replay "$tmp/ok.pcap" --events /nonexistent-dir/x.jsonl
expect replay-log 0 "" -- "$picket" replay "$tmp/ok.pcap" --events "$tmp/ev2.jsonl" --log "$tmp/log.txt"
if [ -s "$tmp/log.txt" ]; then echo "ok   replay-log-written"; pass=$((pass + 1)); else echo "FAIL replay-log-written"; fail=$((fail + 1)); fi

# --- simulate
expect simulate-list 0 "syn-flood" -- "$picket" simulate --list
expect simulate-unknown 2 "benign" -- "$picket" simulate --scenario nope --out "$tmp/x.pcap"
expect simulate-missing-args 2 "scenario" -- "$picket" simulate
expect simulate-unwritable 2 "/nonexistent-dir" -- "$picket" simulate --scenario benign --out /nonexistent-dir/x.pcap

# --- configuration
expect config-schema 0 "engine.stats_interval" -- "$picket" config schema
for p in normal aggressive paranoid; do
  "$picket" config example --profile "$p" >"$tmp/$p.yaml"
  expect "config-example-$p-valid" 0 "ok" -- "$picket" check-config "$tmp/$p.yaml"
done
expect config-example-bad-profile 2 "profile" -- "$picket" config example --profile lax
cat >"$tmp/bad.yaml" <<'YAML'
profile: normal
engine:
  stats_interval: forever
  colour: blue
output:
  log_file: [1, 2]
YAML
expect check-config-bad 2 "bad.yaml:3:[0-9]+: engine.stats_interval" -- "$picket" check-config "$tmp/bad.yaml"
grep -q "bad.yaml:4:[0-9]*: engine.colour" "$tmp/err" && grep -q "output.log_file" "$tmp/err" \
  && { echo "ok   check-config-reports-all-errors"; pass=$((pass + 1)); } \
  || { echo "FAIL check-config-reports-all-errors"; cat "$tmp/err"; fail=$((fail + 1)); }
expect check-config-missing 2 "nope.yaml" -- "$picket" check-config "$tmp/nope.yaml"
expect replay-bad-config 2 "bad.yaml" -- "$picket" replay "$tmp/ok.pcap" --config "$tmp/bad.yaml"

# --- detection and decisions from a replay
"$picket" simulate --scenario scan-syn --out "$tmp/scan.pcap" 2>/dev/null
expect replay-finds-scan 0 "1 decisions|[1-9] decisions" -- "$picket" replay "$tmp/scan.pcap" --events "$tmp/scan.jsonl"
grep -q '"event_type":"alert".*"detector":"port_scan"' "$tmp/scan.jsonl" && grep -q '"event_type":"decision"' "$tmp/scan.jsonl" \
  && { echo "ok   replay-alert-and-decision-events"; pass=$((pass + 1)); } \
  || { echo "FAIL replay-alert-and-decision-events"; fail=$((fail + 1)); }
cat >"$tmp/ids.yaml" <<'YAML'
policy:
  mode: ids
  allowlist: [198.19.0.40]
YAML
expect replay-allowlisted 0 "0 decisions" -- "$picket" replay "$tmp/scan.pcap" --config "$tmp/ids.yaml" --events "$tmp/allow.jsonl"
grep -q '"allowlisted":true' "$tmp/allow.jsonl" \
  && { echo "ok   replay-allowlisted-alert-marked"; pass=$((pass + 1)); } \
  || { echo "FAIL replay-allowlisted-alert-marked"; fail=$((fail + 1)); }
printf '198.19.0.40\nnot-an-address\n198.18.0.0/33\n' >"$tmp/bad.list"
cat >"$tmp/bl.yaml" <<YAML
detect:
  blocklist:
    files: [$tmp/bad.list, $tmp/missing.list]
YAML
expect replay-blocklist-problems 0 "bad.list:2.*bad.list:3|bad.list:2" -- "$picket" replay "$tmp/scan.pcap" --config "$tmp/bl.yaml" --events "$tmp/bl.jsonl"
grep -q "missing.list" "$tmp/err" && grep -q '"detector":"blocklist"' "$tmp/bl.jsonl" \
  && { echo "ok   replay-blocklist-loads-the-rest"; pass=$((pass + 1)); } \
  || { echo "FAIL replay-blocklist-loads-the-rest"; cat "$tmp/err"; fail=$((fail + 1)); }
"$picket" replay "$tmp/scan.pcap" --events "$tmp/w1.jsonl" --workers 1 2>/dev/null
"$picket" replay "$tmp/scan.pcap" --events "$tmp/w2.jsonl" --workers 2 2>/dev/null
if diff <(grep -v '"event_type":"stats"' "$tmp/w1.jsonl") <(grep -v '"event_type":"stats"' "$tmp/w2.jsonl") >/dev/null; then
  echo "ok   replay-workers-identical"; pass=$((pass + 1))
else
  echo "FAIL replay-workers-identical"; fail=$((fail + 1))
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
