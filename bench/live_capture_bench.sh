#!/bin/sh
# Live capture figures: trafgen floods a veth pair between two namespaces this script makes
# (198.18.0.0/15 only, nothing reaches the root namespace) while live_capture_bench reads the other
# end. Prints packets seen, kernel drops and the reader's CPU. Needs root and trafgen.
#   bench/live_capture_bench.sh [BUILD_DIR] [SECONDS] [extra live_capture_bench options...]
set -eu
build=${1:-build}
secs=${2:-5}
[ $# -ge 2 ] && shift 2 || shift $#
bin="$build/src/capture/live_capture_bench"
[ -x "$bin" ] || { echo "no $bin (build target live_capture_bench)" >&2; exit 1; }
command -v trafgen >/dev/null || { echo "trafgen not installed" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }

h="pkbench$$h"; p="pkbench$$p"
conf=$(mktemp /tmp/picket-trafgen-XXXXXX)
cleanup() { ip netns del "$h" 2>/dev/null || true; ip netns del "$p" 2>/dev/null || true; rm -f "$conf"; }
trap cleanup EXIT INT TERM
ip netns add "$h"; ip netns add "$p"
ip link add pkb0 netns "$h" type veth peer name pkb1 netns "$p"
ip -n "$h" link set pkb0 up; ip -n "$p" link set pkb1 up

# 64-byte UDP frames from random sources in 198.18.0.0/16 (fanout spreads them) to 198.19.0.1.
cat >"$conf" <<'CONF'
{
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
  0x45, 0x00, 0x00, 0x2e, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, csumip(14, 33),
  198, 18, drnd(), drnd(), 198, 19, 0, 1,
  0x04, 0xd2, 0x13, 0x88, 0x00, 0x1a, 0x00, 0x00,
  fill(0x00, 18),
}
CONF

ip netns exec "$h" "$bin" pkb0 --seconds "$secs" "$@" &
reader=$!
sleep 0.5
ip netns exec "$p" timeout "$secs" trafgen --dev pkb1 --conf "$conf" --cpus 1 >/dev/null 2>&1 || true
wait "$reader"
