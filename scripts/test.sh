#!/usr/bin/env bash
# Runs picket's test suites through ctest:
#   release — the whole suite on an optimised build
#   asan    — the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer
#   fuzz    — the libFuzzer targets (clang), each for FUZZ_SECONDS (default 60)
# With no argument, all three in that order. Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(release asan fuzz)
fuzz_seconds=${FUZZ_SECONDS:-60}
total_pass=0
total_fail=0
status=0

run_ctest() {  # dir label
  local log
  log=$(mktemp)
  ctest --test-dir "$1" -j "$jobs" --output-on-failure --timeout 900 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -n "$line" ]; then
    local failed total
    failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
    total_pass=$((total_pass + total - failed))
    total_fail=$((total_fail + failed))
  fi
  rm -f "$log"
  [ "$rc" -eq 0 ] || { echo "test.sh: $2 suite failed" >&2; status=1; }
}

configure_and_build() {  # dir label cmake-args... — on failure marks the run failed
  local dir=$1 label=$2
  shift 2
  echo "== $label: configure and build ($dir)"
  if ! cmake -S . -B "$dir" -G Ninja "$@" >/dev/null; then
    echo "test.sh: $label configure failed" >&2; status=1; return 1
  fi
  if ! ninja -C "$dir" -j "$jobs" "${targets[@]}"; then
    echo "test.sh: $label build failed" >&2; status=1; return 1
  fi
}

for suite in "${suites[@]}"; do
  case "$suite" in
    release)
      targets=()
      configure_and_build build release -DCMAKE_BUILD_TYPE=Release && run_ctest build release ;;
    asan)
      targets=()
      configure_and_build build-asan asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPICKET_SANITIZE=ON \
        && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
           run_ctest build-asan asan ;;
    fuzz)
      targets=(fuzz_decode fuzz_config fuzz_blocklist)
      configure_and_build build-fuzz fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPICKET_FUZZ=ON -DPICKET_TESTS=OFF \
        -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DPICKET_FUZZ_SECONDS="$fuzz_seconds" \
        && run_ctest build-fuzz fuzz ;;
    *) echo "test.sh: unknown suite '$suite' (release, asan, fuzz)" >&2; exit 2 ;;
  esac
done

echo "tests: $total_pass passed, $total_fail failed"
exit $status
