#!/usr/bin/env bash
# `picket run` (normal profile, nftables, one AF_PACKET ring) under trafgen's top rate on a veth,
# in namespaces this script creates (tests/live/lib.sh; nothing reaches the root namespace).
# trafgen sends 64-byte UDP frames from random sources in 198.18.0.0/16 to 198.19.0.1 for SECONDS;
# printed: frames sent, frames picket captured, kernel drops, and picket's CPU (user + system, from
# /proc/PID/stat) over the load. Target: zero drops with picket under one core. Prints, never asserts.
# Usage: run_load_bench.sh [BUILD_DIR] [SECONDS]    (needs root and trafgen)
set -uo pipefail
build=${1:-build}
secs=${2:-5}
picket=$(readlink -f "$build/picket")
repo=$(dirname "$(dirname "$(dirname "$(readlink -f "$0")")")")
[ -x "$picket" ] || { echo "== live path under load: skipped (no $build/picket)"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "== live path under load: skipped (needs root for network namespaces)"; exit 0; }
for tool in ip nft trafgen jq; do
  command -v "$tool" >/dev/null || { echo "== live path under load: skipped (no $tool command)"; exit 0; }
done
# shellcheck source=../../tests/live/lib.sh
. "$repo/tests/live/lib.sh"
trap live_cleanup EXIT
live_topology || { echo "   (could not create the namespaces)"; exit 0; }

cat >"$tmp/trafgen.conf" <<'CONF'
{
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
  0x45, 0x00, 0x00, 0x2e, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, csumip(14, 33),
  198, 18, drnd(), drnd(), 198, 19, 0, 1,
  0x04, 0xd2, 0x13, 0x88, 0x00, 0x1a, 0x00, 0x00,
  fill(0x00, 18),
}
CONF
live_config ""
if ! live_start; then echo "   picket run did not start:"; sed 's/^/   /' "$tmp/picket.err" | tail -5; exit 0; fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$picket_pid/stat"; }
capture() { ip netns exec "$ns_v" "$picket" status --json --socket "$tmp/ctl/picket.sock" 2>/dev/null | jq -r ".capture.$1"; }
tx_packets() { ip -n "$ns_a" -s -j link show pkl-av | jq '.[0].stats64.tx.packets'; }
hz=$(getconf CLK_TCK)

echo "== live path: picket run under trafgen's top rate on a veth ($secs s of 64-byte UDP, random sources)"
p0=$(capture packets) d0=$(capture kernel_drops) c0=$(cpu_ticks) t0=$(tx_packets) w0=$(date +%s%N)
ip netns exec "$ns_a" timeout "$secs" trafgen --dev pkl-av --conf "$tmp/trafgen.conf" --cpus 1 >/dev/null 2>&1
sleep 0.5  # the last ring block (10 ms block timeout) and the engine's tick
p1=$(capture packets) d1=$(capture kernel_drops) c1=$(cpu_ticks) t1=$(tx_packets) w1=$(date +%s%N)
python3 - "$secs" "$hz" "$((t1 - t0))" "$((p1 - p0))" "$((d1 - d0))" "$((c1 - c0))" "$((w1 - w0))" <<'PY'
import sys
secs, hz, sent, seen, drops, ticks, wall_ns = (float(x) for x in sys.argv[1:])
cpu = ticks / hz
print(f"   sent {sent:.0f} frames ({sent / secs:,.0f}/s); picket captured {seen:.0f}, kernel drops {drops:.0f}")
print(f"   picket CPU {cpu:.2f} s over {wall_ns / 1e9:.1f} s wall = {100 * cpu / (wall_ns / 1e9):.0f} % of one core "
      f"(target: zero drops, under one core)")
PY
live_stop >/dev/null
