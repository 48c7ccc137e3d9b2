#!/usr/bin/env bash
# `picket run` lifecycle against the real kernel, in two network namespaces this script creates
# (never joined to the root namespace; addresses from 198.18.0.0/15 and 2001:db8::/32 only):
#   - an nmap SYN scan from the attacker is detected and banned in nftables;
#   - kill -9 keeps the kernel's bans; a restart after the table was lost (a reboot) re-applies
#     them from the store with their remaining time; stray elements are removed;
#   - SIGTERM removes the table (on_exit: remove) or keeps it (keep, with the scan trap disarmed),
#     exit status 0; the scan trap is armed at start and follows enforce.scan_trap on SIGHUP;
#   - SIGHUP with a broken config keeps the daemon running and says why; alert destinations
#     follow SIGHUP (a webhook added by a reload receives the next decision, removed it stops);
#   - without CAP_NET_ADMIN (nftables refuses) detection goes on and the failure is an event;
#   - start-up errors are one line with a non-zero exit.
# Usage: lifecycle_test.sh PICKET
set -uo pipefail
picket=$(readlink -f "$1")
repo=$(dirname "$(dirname "$(dirname "$(readlink -f "$0")")")")

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (network namespaces, nftables)"; exit 0; fi
for tool in ip nft nmap setpriv python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: no $tool command"; exit 0; }
done

tmp=$(mktemp -d)
ns_a="pkd-$$-victim"
ns_b="pkd-$$-attacker"
pid=""
receiver_pid=""
pass=0 fail=0

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  if [ -n "$receiver_pid" ]; then kill "$receiver_pid" 2>/dev/null; wait "$receiver_pid" 2>/dev/null; fi
  ip netns del "$ns_a" 2>/dev/null
  ip netns del "$ns_b" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"; fail=$((fail + 1))
  [ -f "$tmp/err" ] && sed "s/^/  picket: /" "$tmp/err" | tail -15
  ip netns exec "$ns_a" nft list table inet picket 2>&1 | sed "s/^/  nft: /" | head -30
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
not() { ! "$@"; }

# wait_for SECONDS COMMAND...: polls every 100 ms.
wait_for() {
  local limit=$(($1 * 10)); shift
  for _ in $(seq "$limit"); do "$@" && return 0; sleep 0.1; done
  return 1
}

ip netns add "$ns_a" && ip netns add "$ns_b" || { echo "FAIL: cannot create namespaces"; exit 1; }
ip link add pkd0 netns "$ns_a" type veth peer name pkd1 netns "$ns_b"
ip -n "$ns_a" addr add 198.18.0.1/24 dev pkd0
ip -n "$ns_a" addr add 2001:db8::1/64 dev pkd0 nodad
ip -n "$ns_b" addr add 198.18.0.2/24 dev pkd1
ip -n "$ns_b" addr add 2001:db8::2/64 dev pkd1 nodad
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set pkd0 up
ip -n "$ns_b" link set pkd1 up

write_config() {  # on_exit [backend]
  cat >"$tmp/picket.yaml" <<EOF
capture:
  interfaces: [pkd0]
enforce:
  backend: ${2:-nftables}
  on_exit: $1
store:
  path: $tmp/picket.db
control:
  socket: $tmp/ctl/picket.sock
metrics:
  enabled: true
  port: 19477
policy:
  port_scan:
    duration: 10m
EOF
}

# start [wrapper...]: runs picket in the victim namespace; waits until it says it runs.
start() {
  : >"$tmp/err"
  ip netns exec "$ns_a" "$@" "$picket" run --config "$tmp/picket.yaml" --events "$tmp/events.jsonl" 2>"$tmp/err" &
  pid=$!
  wait_for 10 grep -q "picket: running" "$tmp/err"
}
stop() {  # signal: waits for the exit and returns its status
  kill "-$1" "$pid" 2>/dev/null
  local status=0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  wait "$pid"; status=$?
  pid=""
  return $status
}
scan() {  # a bounded SYN scan of 200 ports from the attacker
  timeout 60 ip netns exec "$ns_b" nmap -sS -Pn -n -T4 --max-retries 1 -p 1-200 198.18.0.1 >/dev/null 2>&1
}
# (Output is captured before grep: with pipefail, grep -q closing the pipe early would fail the writer.)
banned() { local out; out=$(ip netns exec "$ns_a" nft list set inet picket ban4 2>/dev/null); grep -qF "$1 " <<<"$out"; }
table_exists() { ip netns exec "$ns_a" nft list table inet picket >/dev/null 2>&1; }
# trap_rules: rules in the scan trap's postrouting chain (4 when armed, 0 when not).
trap_rules() {
  local out; out=$(ip netns exec "$ns_a" nft list chain inet picket postrouting 2>/dev/null)
  grep -c "picket scan trap" <<<"$out"
}
trap_rules_are() { test "$(trap_rules)" -eq "$1"; }
decision_for() { grep '"event_type":"decision"' "$tmp/events.jsonl" 2>/dev/null | grep -c "\"target\":\"$1\"" >/dev/null; }

# --- 1. detect and ban (with a stand-in for systemd's notify socket)
timeout 120 python3 - "$tmp/notify.sock" "$tmp/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.time() + 110
with open(sys.argv[2], "a") as f:
    while time.time() < end:
        try:
            m = s.recv(4096)
        except socket.timeout:
            continue
        f.write(m.decode(errors="replace") + "\n")
        f.flush()
PY
notify_pid=$!
wait_for 5 test -S "$tmp/notify.sock"
write_config remove
export NOTIFY_SOCKET="$tmp/notify.sock"
check "starts" start
unset NOTIFY_SOCKET
check "sd_notify READY=1" wait_for 5 grep -q "READY=1" "$tmp/notify.log"
scan
check "scan decided" wait_for 10 decision_for 198.18.0.2
check "scan banned in nftables" wait_for 5 banned 198.18.0.2
check "alert names port_scan" grep -q '"detector":"port_scan"' "$tmp/events.jsonl"
check "host itself never banned" not banned 198.18.0.1
# CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13, CAP_SYS_PTRACE bit 19 (kept while the connection
# table names socket owners): nothing else may remain after start-up.
caps=$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
check "keeps only CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_PTRACE (CapEff $caps)" test "$caps" = "0000000000083000"

# --- control socket: status, bans, ban, unban, events, top, reload
ctl() { "$picket" "$@" --socket "$tmp/ctl/picket.sock"; }
check "socket mode 0660" test "$(stat -c %a "$tmp/ctl/picket.sock")" = 660
ctl status >"$tmp/status.txt" 2>&1
check "picket status: healthy" grep -q "healthy" "$tmp/status.txt"
check "picket status: scan trap on" grep -q "^scan trap on: past 6 closed ports" "$tmp/status.txt"
check "  ... its four counting rules are in the kernel ($(trap_rules))" test "$(trap_rules)" -eq 4
ctl status --json >"$tmp/status.json"
check "picket status --json: capture counts packets" python3 -c "import json,sys; s=json.load(open('$tmp/status.json')); sys.exit(0 if s['capture']['packets'] > 0 and s['enforcer']['ready'] else 1)"
ctl bans >"$tmp/bans.txt"
check "picket bans lists the scanner" grep -q "198.18.0.2 .*port_scan" "$tmp/bans.txt"
timeout 30 "$picket" events --type decision --socket "$tmp/ctl/picket.sock" >"$tmp/follow.jsonl" 2>&1 &
follow_pid=$!
sleep 0.5
check "picket ban" ctl ban 198.18.0.99 --for 5m --reason "test ban"
check "manual ban reaches nftables" wait_for 5 banned 198.18.0.99
check "picket events --follow streams the decision" wait_for 5 grep -q '"target":"198.18.0.99"' "$tmp/follow.jsonl"
kill "$follow_pid" 2>/dev/null; wait "$follow_pid" 2>/dev/null
check "picket bans --json has the manual ban" bash -c "'$picket' bans --json --socket '$tmp/ctl/picket.sock' | grep -q '\"detector\": \"manual\"'"
ctl ban 198.18.0.1 >/dev/null 2>"$tmp/ban_self.txt"
check "banning the host itself is refused (exit 1)" test $? -eq 1
check "  ... saying it is allowlisted" grep -q "allowlisted" "$tmp/ban_self.txt"
ctl ban "1.2.3.4; touch /tmp/x" >/dev/null 2>&1
check "a malformed target is refused" test $? -eq 1
check "picket unban" ctl unban 198.18.0.99
check "unban lifts it in nftables" wait_for 5 not banned 198.18.0.99
ctl top --once >"$tmp/top.txt"
check "picket top --once shows the ban" grep -q "198.18.0.2" "$tmp/top.txt"
check "picket top --once shows the finding" grep -q "port_scan" "$tmp/top.txt"
check "picket reload" ctl reload
# picket top in a real pseudo-terminal: draws the full-screen view, refreshes, quits on q.
top_pty() {
  timeout 20 python3 - "$picket" "$tmp/ctl/picket.sock" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "top", "--interval", "0.3", "--socket", sys.argv[2]])
out, end = b"", time.time() + 8
while time.time() < end and out.count(b"BLOCKED") < 2:  # two frames drawn
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            out += os.read(fd, 65536)
        except OSError:
            break
os.write(fd, b"q")
deadline = time.time() + 5
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    try:
        select.select([fd], [], [], 0.1) and os.read(fd, 65536)
    except OSError:
        pass
else:
    os.kill(pid, 9)
    sys.exit("top did not quit on q")
ok = out.count(b"BLOCKED") >= 2 and b"198.18.0.2" in out and b"\x1b[?1049h" in out
sys.exit(0 if ok and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else 1)
PY
}
check "picket top: full screen, refreshes, quits on q" top_pty
# --- metrics and health over HTTP on the victim's own loopback
http_get() { ip netns exec "$ns_a" curl -s -o "$tmp/http.out" -w '%{http_code}' "http://127.0.0.1:19477$1"; }
check "/healthz is 200 while healthy" test "$(http_get /healthz)" = 200
code=$(http_get /metrics)
check "/metrics is 200" test "$code" = 200
check "/metrics counts port_scan findings" grep -q 'picket_findings_total{detector="port_scan"}' "$tmp/http.out"
check "/metrics has the latency histogram" grep -q 'picket_detection_latency_seconds_bucket{le="+Inf"}' "$tmp/http.out"
check "/metrics counts packets on pkd0" grep -Eq 'picket_(capture_)?packets_total\{interface="pkd0"\} [1-9]' "$tmp/http.out"

kill -HUP "$pid"
check "sd_notify RELOADING=1 on SIGHUP" wait_for 5 grep -q "RELOADING=1" "$tmp/notify.log"
check "SIGTERM exits 0 (first run)" stop TERM
check "sd_notify STOPPING=1" grep -q "STOPPING=1" "$tmp/notify.log"
kill "$notify_pid" 2>/dev/null; wait "$notify_pid" 2>/dev/null
check "on_exit remove: table gone after the first run" not table_exists

# --- 2. kill -9: the kernel keeps the ban; a restart after losing the table restores it
check "restarts (restores the ban)" start
check "ban re-applied after on_exit remove" wait_for 5 banned 198.18.0.2
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=""
check "ban survives kill -9" banned 198.18.0.2
ip netns exec "$ns_a" nft delete table inet picket   # as after a reboot
ip netns exec "$ns_a" nft list table inet picket >/dev/null 2>&1 && bad "table deleted"
check "restarts" start
check "ban restored from the store" wait_for 5 banned 198.18.0.2
timeout_left=$(ip netns exec "$ns_a" nft list set inet picket ban4 | grep -o '198.18.0.2 timeout [0-9hms]*')
check "restored with its remaining time ($timeout_left)" bash -c "[[ '$timeout_left' =~ timeout\ [0-9]+m || '$timeout_left' =~ timeout\ [0-9]+s ]] && [[ ! '$timeout_left' =~ 10m$ ]]"
check "reconcile event" grep -q '"event":"reconciled"' "$tmp/events.jsonl"

# --- 3. stray elements in picket's own set are removed at start
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=""
ip netns exec "$ns_a" nft add element inet picket ban4 '{ 198.18.0.77 timeout 1h }'
check "restarts (stray)" start
check "stray element removed" wait_for 5 not banned 198.18.0.77
check "real ban kept" banned 198.18.0.2

# --- 4. SIGHUP with a broken config keeps running; SIGTERM removes the table
cp "$tmp/picket.yaml" "$tmp/good.yaml"
echo "detect: { port_scan: { nonsense_key: 1 } }" >>"$tmp/picket.yaml"
kill -HUP "$pid"
check "broken reload rejected" wait_for 5 grep -q "running configuration stays" "$tmp/err"
check "still running after broken reload" kill -0 "$pid"
sed '/^  on_exit:/a\  scan_trap: { enabled: false }' "$tmp/good.yaml" >"$tmp/picket.yaml"
kill -HUP "$pid"
check "reload with enforce.scan_trap.enabled: false disarms the trap" wait_for 5 trap_rules_are 0
check "  ... and says so" grep -q "scan trap: off (enforce.scan_trap.enabled: false)" "$tmp/err"
: >"$tmp/err"
cp "$tmp/good.yaml" "$tmp/picket.yaml"
kill -HUP "$pid"
check "good reload" wait_for 5 grep -q "reloaded" "$tmp/err"
check "  ... re-arms the trap" wait_for 5 trap_rules_are 4
# Alerts follow SIGHUP: a webhook added by a reload receives the next decision; a broken one is
# refused with the old configuration kept.
ip netns exec "$ns_a" python3 "$repo/src/alert/testing/http_receiver.py" "$tmp/posts.jsonl" ok >"$tmp/receiver.out" 2>&1 &
receiver_pid=$!
wait_for 5 grep -q "^PORT " "$tmp/receiver.out"
port=$(awk '/^PORT / {print $2}' "$tmp/receiver.out")
printf 'alerts:\n  webhook:\n    enabled: true\n    url: ftp://127.0.0.1:%s/hook\n' "${port:-1}" | cat "$tmp/good.yaml" - >"$tmp/picket.yaml"
kill -HUP "$pid"
check "reload with an ftp:// webhook is refused, saying why" \
  wait_for 5 grep -q "reload: alerts: .*http:// and https://" "$tmp/err"
printf 'alerts:\n  webhook:\n    enabled: true\n    url: http://127.0.0.1:%s/hook\n    include_decisions: true\n' \
  "${port:-1}" | cat "$tmp/good.yaml" - >"$tmp/picket.yaml"
reloads=$(grep -c "^picket: reloaded" "$tmp/err")
kill -HUP "$pid"
reloaded_again() { test "$(grep -c "^picket: reloaded" "$tmp/err")" -gt "$reloads"; }
check "reload adding a webhook" wait_for 5 reloaded_again
"$picket" ban 198.18.0.96 --for 1m --socket "$tmp/ctl/picket.sock" >/dev/null
check "  ... the webhook receives the next decision" wait_for 10 grep -q "198.18.0.96" "$tmp/posts.jsonl"
cp "$tmp/good.yaml" "$tmp/picket.yaml"
reloads=$(grep -c "^picket: reloaded" "$tmp/err")
kill -HUP "$pid"
check "reload removing it" wait_for 5 reloaded_again
"$picket" ban 198.18.0.95 --for 1m --socket "$tmp/ctl/picket.sock" >/dev/null
check "  ... the next decision is in the events file" wait_for 5 grep -q '"target":"198.18.0.95"' "$tmp/events.jsonl"
sleep 1
check "  ... and not posted any more" not grep -q "198.18.0.95" "$tmp/posts.jsonl"
kill "$receiver_pid" 2>/dev/null; wait "$receiver_pid" 2>/dev/null; receiver_pid=""
# Log rotation: the file is renamed, SIGHUP reopens the path, new events land in the new file.
mv "$tmp/events.jsonl" "$tmp/events.rotated"
kill -HUP "$pid"
check "SIGHUP reopens the events file" wait_for 5 test -f "$tmp/events.jsonl"
"$picket" ban 198.18.0.98 --for 1m --socket "$tmp/ctl/picket.sock" >/dev/null
check "new events go to the reopened file" wait_for 5 grep -q '"target":"198.18.0.98"' "$tmp/events.jsonl"
check "the rotated file keeps the old events" grep -q '"detector":"port_scan"' "$tmp/events.rotated"
check "SIGTERM exits 0" stop TERM
check "on_exit remove: table gone" not table_exists

# --- 5. on_exit keep
write_config keep
check "starts (keep)" start
check "ban re-applied (keep)" wait_for 5 banned 198.18.0.2
check "SIGINT exits 0" stop INT
check "on_exit keep: ban still in the kernel" banned 198.18.0.2
check "on_exit keep: the scan trap is disarmed (nothing would release what it caught)" test "$(trap_rules)" -eq 0
ip netns exec "$ns_a" nft delete table inet picket

# --- 6. nftables refuses (no CAP_NET_ADMIN): detection goes on, the failure is reported
write_config remove
rm -f "$tmp/picket.db" "$tmp/events.jsonl"
check "starts without CAP_NET_ADMIN" start setpriv --inh-caps=-net_admin --bounding-set=-net_admin --
scan
check "detection continues" wait_for 10 decision_for 198.18.0.2
check "enforcer failure is an event" grep -q '"event":"init_failed"' "$tmp/events.jsonl"
check "nothing reached the kernel" not table_exists
check "/healthz is 503 without an enforcer" test "$(http_get /healthz)" = 503
check "SIGTERM exits 0 (no enforcer)" stop TERM

# --- 7. no packet capture at all: the connection table alone still finds a process with too many connections
cat >"$tmp/picket.yaml" <<EOF
capture: {method: none}
enforce: {backend: nftables}
store: {path: $tmp/picket.db}
control: {socket: $tmp/ctl/picket.sock}
conn: {interval: 1s}
detect: {process_conn: {connection_limit: 5}}
EOF
rm -f "$tmp/events.jsonl"
check "starts with capture.method none" start
timeout 30 ip netns exec "$ns_a" python3 -c '
import os, socket, sys, time
open(sys.argv[1], "w").write(str(os.getpid()))
srv = socket.socket(); srv.bind(("198.18.0.1", 0)); srv.listen(64)
port = srv.getsockname()[1]
held = [socket.create_connection(("198.18.0.1", port)) for _ in range(10)]
held += [srv.accept()[0] for _ in range(10)]
time.sleep(25)
' "$tmp/hog.pid" &
hog=$!
wait_for 5 test -s "$tmp/hog.pid"
hog_pid=$(cat "$tmp/hog.pid")
check "process_conn names the process holding the connections ($hog_pid)" wait_for 10 grep -q "\"detector\":\"process_conn\".*\"pid\":$hog_pid\b" "$tmp/events.jsonl"
kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null
check "SIGTERM exits 0 (capture none)" stop TERM

# --- 8. start-up errors: one line, non-zero exit; a client without a daemon
"$picket" status --socket "$tmp/ctl/picket.sock" >/dev/null 2>&1
check "picket status without a daemon: exit 3" test $? -eq 3
printf 'control: {socket: %s}\n' "$tmp/ctl/x.sock" >"$tmp/x.yaml"  # not /run/picket: leave the host alone
ip netns exec "$ns_a" "$picket" run --config "$tmp/x.yaml" --interface nosuch0 --store "$tmp/x.db" --events /dev/null 2>"$tmp/err1"
status=$?
check "missing interface: exit 1" test "$status" -eq 1
check "missing interface: names it" grep -q "nosuch0" "$tmp/err1"
printf 'capture: {method: carrier-pigeon}\n' >"$tmp/bad.yaml"
"$picket" run --config "$tmp/bad.yaml" 2>"$tmp/err2"
check "bad config: exit 2" test $? -eq 2
check "bad config: names the file" grep -q "bad.yaml" "$tmp/err2"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
