#!/usr/bin/env bash
# Real attack tools against a live `picket run` (normal profile, nftables) in namespaces this
# script creates (see lib.sh for the topology; nothing reaches the root namespace):
#   1. benign HTTP load from the client (ab keep-alive, and separate curl connections): no alert,
#      no decision;
#   2. a process in the victim holding more connections than detect.process_conn.connection_limit
#      (20 here): a process_conn alert naming its PID;
#   3. nmap -sS -sF -sN -sX -sA -sM -sU (IPv4) and -sS (IPv6), each from its own address, at
#      once: port_scan with the right scan_type, the scanner banned in nftables, a later connect
#      from it times out and the drop rule's counter moves; the kernel's scan trap held the
#      scanners answered with closed-port resets (SYN, FIN, NULL, Xmas) and let at most 10 of
#      the -sS scanner's SYNs through;
#   4. hping3 SYN flood from one source: syn_flood, banned, dropped;
#   5. hping3 --rand-source SYN flood: spoofed_flood, a rate_limit for the victim's port in the
#      kernel, no per-source block;
#   6. 40 addresses of one /24 holding 80 real connections: subnet_conn, the /24 banned as a prefix,
#      its conntrack entries deleted and the held connections cut (their probes time out);
#   7. the client is still served and never banned; SIGTERM exits 0 and removes the table.
# Every wait is bounded; processes are stopped by PID. Skips (exit 77) without root or a tool.
# Usage: live_attacks_test.sh PICKET
set -uo pipefail
picket=$(readlink -f "${1:?usage: live_attacks_test.sh PATH/TO/picket}")
here=$(dirname "$(readlink -f "$0")")
holder="$here/conn_holder.py"

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (network namespaces, nftables)"; exit 77; fi
for tool in ip nft nmap hping3 ab curl conntrack jq python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: no $tool command"; exit 77; }
done

# shellcheck source=tests/live/lib.sh
. "$here/lib.sh"
trap live_cleanup EXIT

pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"; fail=$((fail + 1))
  sed "s/^/  picket: /" "$tmp/picket.err" 2>/dev/null | tail -8
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
not() { ! "$@"; }

# --- event queries (jq skips a line still being written instead of failing on it)
# events_since N FILTER: the events after the first N lines that FILTER selects, one per line.
events_since() { tail -n "+$(($1 + 1))" "$tmp/events.jsonl" 2>/dev/null | jq -cR "fromjson? | select($2)"; }
event_count() { wc -l <"$tmp/events.jsonl" 2>/dev/null || echo 0; }
has_event() { local out; out=$(events_since "$1" "$2"); [ -n "$out" ]; }
alert_of() { echo ".event_type==\"alert\" and .picket.detector==\"$1\"${2:+ and .src_ip==\"$2\"}"; }
block_of() { echo ".event_type==\"decision\" and .decision.action==\"block\" and .decision.target==\"$1\""; }
banned4() { in_set ban4 "$1 "; }
banned6() { in_set ban6 "$1 "; }
running() { kill -0 "$picket_pid" 2>/dev/null; }

# drops RULE_COMMENT: packets counted by picket's drop rule with that comment.
drops() {
  local out
  out=$(ip netns exec "$ns_v" nft list chain inet picket prerouting 2>/dev/null)
  grep -F "$1" <<<"$out" | grep -o 'counter packets [0-9]*' | awk '{s += $3} END {print s + 0}'
}

# try_connect NS DEST PORT SRC...: one line per source, "SRC connected|timeout|refused|error".
try_connect() {
  local ns=$1 dest=$2 port=$3; shift 3
  ip netns exec "$ns" timeout 20 python3 - "$dest" "$port" "$@" <<'PY'
import socket, sys, threading
dest, port, sources = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
out = {}
def one(src):
    s = socket.socket(socket.AF_INET6 if ":" in src else socket.AF_INET)
    s.settimeout(2)
    try:
        s.bind((src, 0)); s.connect((dest, port)); out[src] = "connected"
    except socket.timeout: out[src] = "timeout"
    except ConnectionRefusedError: out[src] = "refused"
    except OSError as e: out[src] = "error"
    finally: s.close()
ts = [threading.Thread(target=one, args=(s,)) for s in sources]
[t.start() for t in ts]; [t.join() for t in ts]
for s in sources: print(s, out.get(s, "error"))
PY
}
connect_result() { try_connect "$@" | awk '{print $2}'; }

echo "== topology and picket run"
live_topology || { echo "FAIL: cannot create the namespaces"; exit 1; }
# A conntrack user of our own in the victim: without one the kernel keeps no conntrack state in a
# namespace, and picket's conntrack cleanup would have nothing to show.
ip netns exec "$ns_v" nft -f - <<'NFT'
table inet pkl_test {
  chain input {
    type filter hook input priority 0; policy accept;
    ct state established counter
  }
}
NFT
mkdir -p "$tmp/www" && head -c 2048 /dev/zero | tr '\0' 'p' >"$tmp/www/index.html"
live_spawn "$ns_v" "$tmp/http.log" python3 "$here/http_server.py" --bind "$victim" --port 80 --directory "$tmp/www"
http_pid=$spawned
live_spawn "$ns_v" "$tmp/echo.log" python3 "$holder" listen --bind "[::]:7007" --status "$tmp/echo.status" --max-seconds 400
live_config "detect:
  process_conn:
    connection_limit: 20"
check "picket run starts in the victim" live_start
running || { echo "FAIL: picket is not running"; exit 1; }
check "the web server answers the client" \
  wait_for 10 ip netns exec "$ns_c" curl -sf -o /dev/null --max-time 2 "http://$victim/"

echo "== 1. benign HTTP load from the client"
mark=$(event_count)
ab_out=$(ip netns exec "$ns_c" timeout 60 ab -k -q -n 2000 -c 10 -s 5 "http://$victim/" 2>&1)
check "ab -k -n 2000 -c 10: every request served" grep -qE "^Failed requests: +0" <<<"$ab_out"
check "  ... all 2000 complete" grep -qE "^Complete requests: +2000" <<<"$ab_out"
check "  ... over kept-alive connections" grep -qE "^Keep-Alive requests: +2000" <<<"$ab_out"
grep -qE "^Failed requests: +0" <<<"$ab_out" || sed 's/^/  ab: /' <<<"$ab_out" | tail -25
curl_ok=0
for _ in $(seq 40); do
  ip netns exec "$ns_c" curl -sf -o /dev/null --max-time 2 "http://$victim/" && curl_ok=$((curl_ok + 1))
done
check "40 separate curl connections served ($curl_ok)" test "$curl_ok" -eq 40
sleep 6  # one connection-table snapshot (conn.interval 5 s) and a few subnet_conn samples
noise=$(events_since "$mark" '.event_type=="alert" or .event_type=="decision"')
check "benign load: no alert, no decision" test -z "$noise"
[ -n "$noise" ] && head -3 <<<"$noise" | sed 's/^/  /'
check "benign load: client not banned" not banned4 198.18.1.2

echo "== 2. a process over its connection limit (process_conn)"
live_spawn "$ns_c" "$tmp/sink.log" python3 "$holder" listen --bind 198.18.1.2:9000 --status "$tmp/sink.status" --max-seconds 60
wait_for 5 grep -qs listening "$tmp/sink.status"
mark=$(event_count)
live_spawn "$ns_v" "$tmp/many.log" python3 "$holder" connect --dest 198.18.1.2:9000 --per 30 --status "$tmp/many.status" --max-seconds 60
many_pid=$spawned
check "helper holds 30 connections" wait_for 10 grep -qs "open 30" "$tmp/many.status"
check "helper's own pid is the spawned one" grep -q "^pid $many_pid\$" "$tmp/many.status"
check "process_conn alert for pid $many_pid" \
  wait_for 15 has_event "$mark" "$(alert_of process_conn) and .picket.evidence.pid==$many_pid"
pc=$(events_since "$mark" "$(alert_of process_conn) and .picket.evidence.pid==$many_pid" | head -1)
check "  ... counting at least 30 connections over the limit 20" \
  test "$(jq '.picket.evidence.connections >= 30 and .picket.evidence.limit == 20' <<<"${pc:-"{}"}")" = true
check "  ... no decision (a process is not an address)" \
  not has_event "$mark" '.event_type=="decision" and .picket.detector=="process_conn"'
kill -TERM "$many_pid" 2>/dev/null  # its 30 connections close: the client's answers end them
outbound_mark=$mark

echo "== 3. nmap scans, each type from its own address (at once)"
flags=(-sS -sF -sN -sX -sA -sM -sU)
types=(syn fin null xmas ack maimon udp)
mark=$(event_count)
# Counts the -sS scanner's SYNs that got past picket's prerouting chain (a rule of this test's own,
# right after it): what the victim's stack saw of the scan.
ip netns exec "$ns_v" nft -f - <<'NFT'
table inet pkl_probes {
  chain prerouting {
    type filter hook prerouting priority raw + 10; policy accept;
    ip saddr 198.18.0.11 tcp flags & (syn | ack) == syn counter comment "probes past picket"
  }
}
NFT
scan_pids=()
for i in "${!flags[@]}"; do
  src=198.18.0.$((11 + i))
  timeout 90 ip netns exec "$ns_a" nmap "${flags[$i]}" -n -Pn -T4 --max-retries 0 --host-timeout 60s \
    -e pkl-av -S "$src" -p 1-100 "$victim" >"$tmp/nmap${flags[$i]}.log" 2>&1 &
  scan_pids+=($!)
done
timeout 90 ip netns exec "$ns_a" nmap -6 -sS -n -Pn -T4 --max-retries 0 --host-timeout 60s \
  -e pkl-av -S 2001:db8::18 -p 1-100 "$victim6" >"$tmp/nmap6.log" 2>&1 &
scan_pids+=($!)
for p in "${scan_pids[@]}"; do wait "$p"; done
sources=()
for i in "${!flags[@]}"; do
  src=198.18.0.$((11 + i))
  sources+=("$src")
  check "nmap ${flags[$i]} from $src: port_scan alert" wait_for 10 has_event "$mark" "$(alert_of port_scan "$src")"
  got=$(events_since "$mark" "$(alert_of port_scan "$src")" | jq -r '.picket.evidence.scan_type' | sort -u | tr '\n' ' ')
  check "  ... scan_type ${types[$i]} (got: ${got:-none})" test "${got% }" = "${types[$i]}"
  check "  ... block decision" has_event "$mark" "$(block_of "$src")"
  check "  ... banned in nftables" wait_for 5 banned4 "$src"
done
check "nmap -6 -sS from 2001:db8::18: port_scan alert, scan_type syn" \
  wait_for 10 has_event "$mark" "$(alert_of port_scan 2001:db8::18) and .picket.evidence.scan_type==\"syn\""
check "  ... banned in nftables (ban6)" wait_for 5 banned6 2001:db8::18
before=$(drops "banned IPv4 addresses")
results=$(connect_result "$ns_a" "$victim" 7007 "${sources[@]}" | sort -u | tr '\n' ' ')
check "later connects from all 7 scanners to an open port time out (${results% })" test "${results% }" = timeout
after=$(drops "banned IPv4 addresses")
check "  ... and the ban4 drop counter moved ($before -> $after)" test "$after" -gt "$before"
check "  ... while an unbanned attacker address connects" \
  test "$(connect_result "$ns_a" "$victim" 7007 198.18.0.25)" = connected
check "later connect from the IPv6 scanner times out" \
  test "$(connect_result "$ns_a" "$victim6" 7007 2001:db8::18)" = timeout
# The scan trap (enforcement.md): the kernel cut the scanners whose probes draw RST|ACK seq 0
# (SYN, FIN, NULL, Xmas) at the first closed port past closed_ports (6), ahead of picket's ban.
probes_out=$(ip netns exec "$ns_v" nft list table inet pkl_probes 2>/dev/null)
probes=$(grep -o 'counter packets [0-9]*' <<<"$probes_out" | awk '{print $3}')
check "scan trap: the -sS scanner got at most 10 SYNs past picket (got ${probes:-?} of 100)" \
  test "${probes:-999}" -le 10
check "  ... it is in trap4" in_set trap4 "198.18.0.11 "
check "  ... the -6 -sS scanner is in trap6" in_set trap6 "2001:db8::18 "
check "  ... so are the -sF, -sN and -sX scanners" \
  eval 'in_set trap4 "198.18.0.12 " && in_set trap4 "198.18.0.13 " && in_set trap4 "198.18.0.14 "'
check "  ... not the -sA and -sM scanners (their resets carry the probe's ack; picket's ban got them)" \
  eval 'not in_set trap4 "198.18.0.15 " && not in_set trap4 "198.18.0.16 "'
bans_out=$("$picket" bans --json --socket "$tmp/ctl/picket.sock" 2>&1)
check "  ... picket bans lists the -sS scanner as held by scan_trap" \
  jq -e 'any(.[]; .target=="198.18.0.11" and .detector=="scan_trap" and .scope=="trap")' <<<"$bans_out"
check "  ... the web client is in no trap" not in_set trap4 "198.18.1.2 "
check "  ... a scan_trap trapped event names the -sS scanner" \
  wait_for 5 has_event "$mark" '.anomaly.type=="scan_trap" and .anomaly.event=="trapped" and .picket.src_ip=="198.18.0.11"'
check "picket still running after the scans" running
# The victim's own outbound connections (phase 2, to the client's port 9000) must not make the
# peer that answered them a scanner of the victim's ephemeral ports.
check "the victim's outbound connections did not get the client reported" \
  not has_event "$outbound_mark" "$(alert_of port_scan 198.18.1.2)"

echo "== 4. hping3 SYN flood from one source"
flooder=198.18.0.20
mark=$(event_count)
ip netns exec "$ns_a" timeout 30 hping3 -q -S -p 80 -c 3000 -i u1000 -a "$flooder" "$victim" >"$tmp/hping-flood.log" 2>&1
check "syn_flood alert from $flooder" wait_for 10 has_event "$mark" "$(alert_of syn_flood "$flooder")"
check "  ... block decision" has_event "$mark" "$(block_of "$flooder")"
check "  ... banned in nftables" wait_for 5 banned4 "$flooder"
check "  ... a later connect from it times out" test "$(connect_result "$ns_a" "$victim" 80 "$flooder")" = timeout

echo "== 5. hping3 --rand-source SYN flood"
mark=$(event_count)
ip netns exec "$ns_a" timeout 30 hping3 -q -S -p 80 --rand-source -c 15000 -i u200 "$victim" >"$tmp/hping-spoof.log" 2>&1
check "spoofed_flood alert for $victim:80" \
  wait_for 10 has_event "$mark" "$(alert_of spoofed_flood) and .dest_ip==\"$victim\" and .dest_port==80"
check "  ... rate_limit decision for $victim port 80" has_event "$mark" \
  ".event_type==\"decision\" and .decision.action==\"rate_limit\" and .dest_ip==\"$victim\" and .dest_port==80"
check "  ... the rate limit is in the kernel" wait_for 5 in_set ratelimit4 "$victim . tcp . 80"
sleep 2
blocks=$(events_since "$mark" '.event_type=="decision" and .decision.action=="block"' | wc -l)
check "  ... no per-source block decision ($blocks)" test "$blocks" -eq 0
check "picket still running after the floods" running

echo "== 6. 40 addresses of 198.19.40.0/24 holding 80 connections"
crowd=$(seq -s, -f "198.19.40.%g" 10 49)
mark=$(event_count)
ct_removed() {
  ip netns exec "$ns_v" "$picket" status --json --socket "$tmp/ctl/picket.sock" 2>/dev/null |
    jq '.enforcer.conntrack_entries_removed // 0'
}
removed_before=$(ct_removed)
live_spawn "$ns_n" "$tmp/crowd.log" python3 "$holder" connect --dest 198.19.0.1:7007 --sources "$crowd" --per 2 \
  --user-timeout 2000 --status "$tmp/crowd.status" --max-seconds 90
crowd_pid=$spawned
check "the crowd holds 80 connections" wait_for 15 grep -qs "open 80" "$tmp/crowd.status"
ct_count() { local out; out=$(ip netns exec "$ns_v" conntrack -L -p tcp 2>/dev/null); grep -c "src=198\.19\.40\." <<<"$out"; }
check "subnet_conn alert for 198.19.40.0/24" \
  wait_for 15 has_event "$mark" "$(alert_of subnet_conn) and .picket.source_prefix==\"198.19.40.0/24\""
check "  ... prefix block decision" has_event "$mark" \
  "$(block_of 198.19.40.0/24) and .decision.scope==\"prefix\""
check "  ... the /24 is in ban_net4" wait_for 5 in_set ban_net4 "198.19.40.0/24 "
check "  ... its conntrack entries are deleted (left: $(ct_count))" wait_for 5 test "$(ct_count)" -eq 0
removed=$(($(ct_removed) - removed_before))
check "  ... by picket's conntrack cleanup: $removed entries removed (>= 80)" test "$removed" -ge 80
kill -USR1 "$crowd_pid"
check "  ... the held connections are cut: none echoes" wait_for 12 grep -qs "probe alive=0 cut=80" "$tmp/crowd.status"
grep "probe" "$tmp/crowd.status" | sed 's/^/  /'
kill -TERM "$crowd_pid" 2>/dev/null

echo "== 7. the client, the victim and the end"
check "the client is still served" ip netns exec "$ns_c" curl -sf -o /dev/null --max-time 3 "http://$victim/"
check "the client was never banned" not has_event 0 "$(block_of 198.18.1.2)"
check "the victim's own addresses were never banned" \
  not has_event 0 '.event_type=="decision" and .decision.action=="block" and (.decision.target | IN("198.18.0.1", "2001:db8::1", "198.19.0.1", "198.18.1.1"))'
ip netns exec "$ns_v" "$picket" status --json --socket "$tmp/ctl/picket.sock" >"$tmp/status.json" 2>&1
check "picket status: healthy" test "$(jq '.healthy' "$tmp/status.json" 2>/dev/null)" = true
kill -TERM "$http_pid" 2>/dev/null
check "SIGTERM exits 0" live_stop
check "on_exit remove: picket's table is gone" not ip netns exec "$ns_v" nft list table inet picket 2>/dev/null

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
