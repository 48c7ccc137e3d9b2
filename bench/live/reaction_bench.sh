#!/usr/bin/env bash
# Reaction-time figures of a live `picket run` (normal profile, nftables), in namespaces this script
# creates (tests/live/lib.sh; nothing reaches the root namespace). Prints, never asserts:
#   1. SYN flood (hping3 -S -i u100, one source): first SYN seen by the victim's kernel
#      (tcpdump's kernel timestamp) -> ban element added to picket's set (`nft monitor`, read as it
#      happens). Target: under 1 s. Three floods, from three addresses.
#   2. nmap -sS -T4 (top 1000 ports): SYN probes that got past picket's drop rules (its bans and the
#      kernel scan trap, docs/enforcement.md), counted by a rule of this script's own table hooked
#      right after picket's (priority raw + 10). Target: 10 or fewer. At the normal profile
#      (port_threshold 12) and, for comparison, paranoid (5).
# Usage: reaction_bench.sh [BUILD_DIR]      (needs root, hping3, nmap, tcpdump, python3)
set -uo pipefail
build=${1:-build}
picket=$(readlink -f "$build/picket")
repo=$(dirname "$(dirname "$(dirname "$(readlink -f "$0")")")")
[ -x "$picket" ] || { echo "== live reaction: skipped (no $build/picket)"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "== live reaction: skipped (needs root for network namespaces and nftables)"; exit 0; }
for tool in ip nft hping3 nmap tcpdump python3 jq; do
  command -v "$tool" >/dev/null || { echo "== live reaction: skipped (no $tool command)"; exit 0; }
done
# shellcheck source=../../tests/live/lib.sh
. "$repo/tests/live/lib.sh"
trap live_cleanup EXIT
live_topology || { echo "   (could not create the namespaces)"; exit 0; }
live_spawn "$ns_v" "$tmp/http.log" python3 "$repo/tests/live/http_server.py" --bind "$victim" --port 80 --directory "$tmp"

# watch_ban TARGET: waits (at most 15 s) for picket's set to gain TARGET; prints the wall-clock
# time in ns at which `nft monitor` reported it.
watch_ban() {
  ip netns exec "$ns_v" timeout 15 python3 -u - "$1" <<'PY'
import subprocess, sys, time
target = sys.argv[1]
p = subprocess.Popen(["nft", "monitor", "new", "elements"], stdout=subprocess.PIPE, text=True)
print("watching", flush=True)
for line in p.stdout:
    if "picket" in line and (target + " ") in line:
        print(time.time_ns(), flush=True)
        break
p.terminate()
PY
}

# reaction SRC COMMAND...: runs COMMAND (the attack from SRC, in the attacker namespace) while
# timing the victim's kernel seeing SRC's first SYN and picket's set gaining SRC. Sets $reaction_ms
# (empty when no ban came within 15 s).
reaction() {
  local src=$1 watcher sniffer first banned; shift
  reaction_ms=""
  rm -f "$tmp/ban.$src" "$tmp/syn.$src" "$tmp/tcpdump.$src"
  watch_ban "$src" >"$tmp/ban.$src" 2>&1 &
  watcher=$!
  ip netns exec "$ns_v" timeout 20 tcpdump -i pkl-va -n -tt --time-stamp-precision=nano -c 1 -l \
    "src host $src and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" >"$tmp/syn.$src" 2>"$tmp/tcpdump.$src" &
  sniffer=$!
  wait_for 5 grep -qs watching "$tmp/ban.$src"
  wait_for 5 grep -qs "listening on" "$tmp/tcpdump.$src"
  ip netns exec "$ns_a" "$@" >"$tmp/attack.log" 2>&1
  wait "$watcher" "$sniffer" 2>/dev/null
  first=$(awk 'NR == 1 {print $1}' "$tmp/syn.$src")
  banned=$(grep -E '^[0-9]+$' "$tmp/ban.$src" | head -1)
  [ -n "$first" ] && [ -n "$banned" ] || return 1
  reaction_ms=$(python3 -c 'import sys; s, n = sys.argv[1].split("."); a = int(s) * 10**9 + int(n.ljust(9, "0")); print(f"{(int(sys.argv[2]) - a) / 1e6:.1f}")' "$first" "$banned")
}

# decided DETECTOR SRC: "N SECOND" of the first alert of DETECTOR about SRC: the evidence's probe
# (or SYN) count, and the packet time from the episode's first packet to the deciding one, in ms.
decided() {
  python3 - "$tmp/events.jsonl" "$1" "$2" <<'PY'
import datetime, json, sys
def t(s): return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    p = e.get("picket", {})
    if e.get("event_type") == "alert" and p.get("detector") == sys.argv[2] and e.get("src_ip") == sys.argv[3]:
        ev = p.get("evidence", {})
        print(ev.get("probes", ev.get("syns", "?")), f"{(t(e['timestamp']) - t(ev['first_seen'])) * 1000:.1f}")
        break
PY
}

# --- 1. SYN flood: first SYN -> ban in the kernel
live_config ""
if ! live_start; then echo "   picket run did not start:"; sed 's/^/   /' "$tmp/picket.err" | tail -5; exit 0; fi
echo "== live reaction: SYN flood (hping3 -S -i u100 from one source), first SYN -> ban in nftables (target < 1000 ms)"
results=()
for src in 198.18.0.20 198.18.0.21 198.18.0.22; do
  if reaction "$src" timeout 10 hping3 -q -S -p 80 -i u100 -c 5000 -a "$src" "$victim"; then
    results+=("$reaction_ms")
    read -r syns after < <(decided syn_flood "$src")
    echo "   $src: first SYN -> ban in the kernel ${reaction_ms} ms (decided at SYN ${syns:-?}, ${after:-?} ms into the flood)"
  else
    echo "   $src: no ban seen within 15 s"
  fi
done
if [ ${#results[@]} -gt 0 ]; then
  printf '%s\n' "${results[@]}" | sort -n | awk '{v[NR] = $1} END {printf "   median %.1f ms over %d floods (target < 1000 ms)\n", v[int((NR + 1) / 2)], NR}'
fi
live_stop >/dev/null

# --- 2. nmap -sS -T4: probes that reached the victim before the ban
# count_rule SRC: this script's own table, right after picket's raw-priority drop chain: what it
# counts got past picket.
count_rule() {
  ip netns exec "$ns_v" nft delete table inet pkl_bench 2>/dev/null
  ip netns exec "$ns_v" nft -f - <<NFT
table inet pkl_bench {
  chain prerouting {
    type filter hook prerouting priority raw + 10; policy accept;
    ip saddr $1 tcp flags & (syn | ack) == syn counter comment "probes past picket"
  }
}
NFT
}
passed() {
  local out
  out=$(ip netns exec "$ns_v" nft list chain inet pkl_bench prerouting 2>/dev/null)
  grep -o 'counter packets [0-9]*' <<<"$out" | awk '{print $3}'
}
echo "== live reaction: nmap -sS -T4 (1000 ports) on a veth: SYN probes that reached the victim before it was cut off (scan trap or ban; target <= 10)"
scan_src=198.18.0.23
for variant in "normal" "normal engine.tick=10ms" "paranoid" "paranoid engine.tick=10ms"; do
  rm -f "$tmp/picket.db"* "$tmp/events.jsonl"
  extra=""
  [[ $variant == *tick* ]] && extra=$'engine:\n  tick: 10ms'
  live_config "$extra"
  sed -i "s/^profile: normal/profile: ${variant%% *}/" "$tmp/picket.yaml"
  if ! live_start; then echo "   picket run ($variant) did not start"; continue; fi
  count_rule "$scan_src"
  t0=$(date +%s%N)
  reaction "$scan_src" timeout 60 nmap -sS -T4 -n -Pn --max-retries 1 --host-timeout 20s -e pkl-av -S "$scan_src" "$victim"
  t1=$(date +%s%N)
  read -r probes after < <(decided port_scan "$scan_src")
  printf '   %-26s %5s probes reached the victim; decided at probe %s (%s ms in); first probe -> ban %s ms; nmap took %d ms\n' \
    "$variant:" "$(passed)" "${probes:-?}" "${after:-?}" "${reaction_ms:-(none)}" $(((t1 - t0) / 1000000))
  ip netns exec "$ns_v" nft delete table inet pkl_bench 2>/dev/null
  live_stop >/dev/null
done
