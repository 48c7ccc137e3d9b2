# shellcheck shell=bash disable=SC2154
# Shared by the live tests (tests/live/) and the live benchmarks (bench/live/); sourced, not run.
#
# The topology lives in network namespaces the caller creates with live_topology and removes with
# live_cleanup (from an EXIT trap). Nothing touches the root namespace: every veth pair is created
# with both ends already inside the namespaces, and every address is from 198.18.0.0/15 or
# 2001:db8::/32.
#
#   attacker (198.18.0.11-.30, 2001:db8::11-.30)  --pkl-av/pkl-va--  victim 198.18.0.1, 2001:db8::1
#   crowd    (198.19.40.10-.49)                   --pkl-nv/pkl-vn--  victim 198.19.0.1/16
#   client   (198.18.1.2)                         --pkl-cv/pkl-vc--  victim 198.18.1.1
#
# Processes are started in the background with live_spawn, which records their PIDs; live_cleanup
# stops exactly those PIDs (never by name).
#
# Variables the caller may read: ns_v ns_a ns_n ns_c (namespace names), tmp (scratch directory),
# picket_pid. Set before sourcing: picket (path to the binary).

ns_prefix="pkl-$$"
ns_v="$ns_prefix-v" ns_a="$ns_prefix-a" ns_n="$ns_prefix-n" ns_c="$ns_prefix-c"
victim=198.18.0.1 victim6=2001:db8::1
tmp=$(mktemp -d /tmp/picket-live-XXXXXX)
picket_pid=""
live_pids=()

live_cleanup() {
  local p
  if [ -n "$picket_pid" ] && kill -0 "$picket_pid" 2>/dev/null; then
    kill -TERM "$picket_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$picket_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$picket_pid" 2>/dev/null
  fi
  for p in "${live_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${live_pids[@]}"; do
    for _ in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  for ns in "$ns_v" "$ns_a" "$ns_n" "$ns_c"; do ip netns del "$ns" 2>/dev/null; done
  if [ -n "${PICKET_LIVE_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}

# wait_for SECONDS COMMAND...: polls every 100 ms; true as soon as COMMAND is.
wait_for() {
  local limit=$(($1 * 10)); shift
  for _ in $(seq "$limit"); do "$@" && return 0; sleep 0.1; done
  return 1
}

# live_spawn NS LOGFILE COMMAND...: runs COMMAND in NS in the background; its PID (ip netns exec
# execs the command, so it is the command's own) is appended to live_pids and left in $spawned.
live_spawn() {
  local ns=$1 log=$2; shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  spawned=$!
  live_pids+=("$spawned")
}

live_topology() {
  local i
  ip netns add "$ns_v" && ip netns add "$ns_a" && ip netns add "$ns_n" && ip netns add "$ns_c" || return 1
  ip link add pkl-va netns "$ns_v" type veth peer name pkl-av netns "$ns_a" || return 1
  ip link add pkl-vn netns "$ns_v" type veth peer name pkl-nv netns "$ns_n" || return 1
  ip link add pkl-vc netns "$ns_v" type veth peer name pkl-cv netns "$ns_c" || return 1
  ip -n "$ns_v" addr add "$victim/24" dev pkl-va
  ip -n "$ns_v" addr add "$victim6/64" dev pkl-va nodad
  ip -n "$ns_v" addr add 198.19.0.1/16 dev pkl-vn
  ip -n "$ns_v" addr add 198.18.1.1/24 dev pkl-vc
  for i in $(seq 11 30); do
    ip -n "$ns_a" addr add "198.18.0.$i/24" dev pkl-av
    ip -n "$ns_a" addr add "2001:db8::$i/64" dev pkl-av nodad
  done
  for i in $(seq 10 49); do ip -n "$ns_n" addr add "198.19.40.$i/16" dev pkl-nv; done
  ip -n "$ns_c" addr add 198.18.1.2/24 dev pkl-cv
  for ns in "$ns_v" "$ns_a" "$ns_n" "$ns_c"; do ip -n "$ns" link set lo up; done
  ip -n "$ns_v" link set pkl-va up && ip -n "$ns_v" link set pkl-vn up && ip -n "$ns_v" link set pkl-vc up
  ip -n "$ns_a" link set pkl-av up && ip -n "$ns_n" link set pkl-nv up && ip -n "$ns_c" link set pkl-cv up
  # The client reaches the victim's service address through the victim's client-side address.
  ip -n "$ns_c" route add 198.18.0.0/24 via 198.18.1.1
}

# live_config [EXTRA_YAML]: picket's configuration in $tmp/picket.yaml (normal profile, nftables,
# store and control socket in $tmp), followed by EXTRA_YAML (whole top-level sections).
live_config() {
  cat >"$tmp/picket.yaml" <<EOF
profile: normal
capture:
  interfaces: [pkl-va, pkl-vn, pkl-vc]
enforce:
  backend: nftables
  on_exit: remove
store:
  path: $tmp/picket.db
control:
  socket: $tmp/ctl/picket.sock
${1:-}
EOF
}

# live_start: picket run in the victim; true once it says it runs and its table exists.
live_start() {
  : >"$tmp/picket.err"
  ip netns exec "$ns_v" "$picket" run --config "$tmp/picket.yaml" --events "$tmp/events.jsonl" \
    2>"$tmp/picket.err" &
  picket_pid=$!
  wait_for 15 grep -q "picket: running" "$tmp/picket.err" &&
    wait_for 5 ip netns exec "$ns_v" nft list table inet picket >/dev/null 2>&1
}

# live_stop: SIGTERM, waits (bounded) and returns picket's exit status.
live_stop() {
  local status
  kill -TERM "$picket_pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$picket_pid" 2>/dev/null || break; sleep 0.1; done
  wait "$picket_pid"; status=$?
  picket_pid=""
  return $status
}

# in_set SET ELEMENT: ELEMENT is in picket's nft set (or map) SET in the victim. The listing is
# captured before grep: with pipefail, grep -q closing the pipe early would fail the writer.
in_set() {
  local out
  out=$(ip netns exec "$ns_v" nft list set inet picket "$1" 2>/dev/null ||
        ip netns exec "$ns_v" nft list map inet picket "$1" 2>/dev/null)
  grep -qF -- "$2" <<<"$out"
}
