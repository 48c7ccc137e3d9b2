#!/usr/bin/env bash
# End to end: `picket demo` as `make run` runs it. Checks the exit code, that the narration names
# each attack and picket's answers, and that no pkdemo-* namespace is left behind — after a full
# run and after a SIGINT mid-way. Needs root; otherwise skips (exit 77) and says why.
set -uo pipefail
picket=${1:?usage: demo_test.sh PATH/TO/picket}
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, nftables)"
command -v ip >/dev/null || skip "no ip command (iproute2)"
command -v nft >/dev/null || skip "no nft command (nftables)"

# Only namespaces of demos this test starts are judged (other tests may run demos too).
ours() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^pkdemo-$1-" || true; }

out=$(mktemp)
watchdog=
trap 'rm -f "$out"; [ -n "$watchdog" ] && kill $watchdog 2>/dev/null' EXIT
# Starts the demo in the background (PID in $pid; its namespaces are named after it), with a
# watchdog that stops it by that PID if it runs far past its minute.
start_demo() {
  "$picket" demo --no-color >"$out" 2>&1 &
  pid=$!
  ( sleep 150; kill -TERM $pid 2>/dev/null ) &
  watchdog=$!
}
stop_watchdog() { kill $watchdog 2>/dev/null; wait $watchdog 2>/dev/null; watchdog=; }

# 1. A full run: exit 0, every attack and every ban narrated, nothing left.
start_demo
wait $pid
rc=$?
stop_watchdog
cat "$out"
[ $rc -eq 0 ] || fail "picket demo exited $rc, expected 0"
for want in "scans ports" "floods port 80 with SYNs" "connection flood" \
            "picket saw: port_scan from 198.19.0.40" "picket blocked 198.19.0.40" \
            "picket saw: syn_flood from 198.19.0.10" "picket blocked 198.19.0.10" \
            "picket saw: subnet_conn from 198.19.40.0/24" "picket blocked 198.19.40.0/24" \
            "200 OK - still served" "Result: the attackers are cut off"; do
  grep -qF "$want" "$out" || fail "narration lacks: $want"
done
grep -qF "NOT blocked" "$out" && fail "an attacker was not blocked"
left=$(ours $pid)
[ -z "$left" ] || fail "namespaces left after a full run: $left"
if grep -qE 'stopped with SIGTERM: exit [1-9]' "$out"; then fail "picket run did not stop cleanly"; fi

# 2. SIGINT mid-way (during the attacks): exit 130, everything removed, picket stopped.
start_demo
for _ in $(seq 1 600); do  # up to a minute: a loaded machine starts slowly
  grep -qF "The attacker scans ports" "$out" && break
  sleep 0.1
done
grep -qF "The attacker scans ports" "$out" || { kill -INT $pid; wait $pid; cat "$out"; fail "demo never reached the attacks"; }
[ -n "$(ours $pid)" ] || fail "no pkdemo-$pid-* namespaces while the demo runs"
kill -INT $pid
wait $pid
rc=$?
stop_watchdog
cat "$out"
[ $rc -eq 130 ] || fail "after SIGINT picket demo exited $rc, expected 130"
left=$(ours $pid)
[ -z "$left" ] || fail "namespaces left after SIGINT: $left"
grep -qF "Interrupted" "$out" || fail "no word about the interruption"
grep -qE "picket \(PID [0-9]+\) stopped with SIGTERM" "$out" || fail "picket run was not stopped"

# 3. Without root: one clear line, exit 1 (only when an unprivileged user exists to try it).
if command -v setpriv >/dev/null; then
  msg=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$picket" demo 2>&1)
  rc=$?
  [ $rc -eq 1 ] || fail "without root: exit $rc, expected 1 ($msg)"
  [ "$(printf '%s\n' "$msg" | wc -l)" -eq 1 ] || fail "without root: more than one line: $msg"
  printf '%s\n' "$msg" | grep -q "needs root" || fail "without root: unclear message: $msg"
fi
echo "PASS"
