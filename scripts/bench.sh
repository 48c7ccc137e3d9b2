#!/usr/bin/env bash
# `make bench`: prints performance figures (never asserts them).
#   1. generates a 10-million-packet `mixed` capture with a 96-byte snap length (cached in BUILD/bench/)
#   2. replay throughput: floor (plain walk of the mapped file), decode-only, full engine
#   3. micro-benchmarks (Google Benchmark)
#   4. peak memory replaying a spoofed SYN flood from 10 million distinct sources (BENCH_SPOOF_SOURCES)
#   5. nftables: applying and removing 100,000 bans, drop cost against set size
set -euo pipefail
build=${1:-build}
packets=${BENCH_PACKETS:-10000000}
dir="$build/bench-data"
mkdir -p "$dir"
capture="$dir/mixed-$packets.pcap"
if [ ! -s "$capture" ]; then
  echo "== generating $capture ($packets packets, snaplen 96)"
  /usr/bin/time -f "   generated in %e s, peak RSS %M KiB" \
    "$build/picket" simulate --scenario mixed --packets "$packets" --snaplen 96 --seed 1 --out "$capture"
fi
echo "== replay"
"$build/bench/replay_bench" "$capture" 3
echo "== decoder micro-benchmarks"
"$build/bench/decode_bench" --benchmark_min_time=0.2
if [ -x "$build/bench/blocklist_bench" ]; then
  echo "== blocklist lookups"
  "$build/bench/blocklist_bench" --benchmark_min_time=0.2
fi
# Every spoofed SYN of `spoofed-syn-flood-wide --ipv6` has a source of its own, and SYNs are 35 % of
# the frames: 10 million distinct sources take about 28.6 million frames (~2.8 GB at snaplen 96).
sources=${BENCH_SPOOF_SOURCES:-10000000}
spoof_packets=$(( (sources * 20 + 6) / 7 ))
echo "== spoofed flood (IPv6, $sources distinct sources in $spoof_packets packets): peak RSS of a full replay (target < 512 MiB)"
spoof="$dir/spoofed-wide-$sources.pcap"
if [ ! -s "$spoof" ]; then
  "$build/picket" simulate --scenario spoofed-syn-flood-wide --ipv6 --packets "$spoof_packets" --snaplen 96 --seed 1 \
    --out "$spoof" 2>/dev/null || rm -f "$spoof"
fi
if [ -s "$spoof" ]; then
  /usr/bin/time -f "   replay of $(basename "$spoof"): %e s, peak RSS %M KiB" \
    "$build/picket" replay "$spoof" --events /dev/null --no-progress
else
  echo "   (could not generate $spoof)"
fi
echo "== nftables enforcement (in a network namespace of its own; needs root)"
if [ -x "$build/bench/nft_bench" ]; then "$build/bench/nft_bench"; else echo "   (nft_bench not built: configure with tests on)"; fi

# ---------------------------------------------------------------------------------------------
# Live figures (bench/live/ and the capture helper's bench/live_capture_bench.sh): a real
# `picket run` in network namespaces the scripts make. Need root, nftables, hping3, nmap, tcpdump
# and trafgen; each prints why it skips. Never fatal to the rest of `make bench`.
echo "== live capture: trafgen on a veth, live_capture_bench reading it (packets, kernel drops, reader CPU)"
if [ "$(id -u)" -eq 0 ] && command -v trafgen >/dev/null && [ -x "$build/src/capture/live_capture_bench" ]; then
  bench/live_capture_bench.sh "$build" 5 || echo "   (live_capture_bench.sh failed)"
else
  echo "   (skipped: needs root, trafgen and $build/src/capture/live_capture_bench)"
fi
bench/live/run_load_bench.sh "$build" 5 || echo "   (run_load_bench.sh failed)"
bench/live/reaction_bench.sh "$build" || echo "   (reaction_bench.sh failed)"
