#!/usr/bin/env bash
# Installs every Debian package picket's build, tests and benchmarks need. Idempotent: when
# everything is present it does nothing (no apt-get update either).
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ cmake ninja-build pkg-config git
  clang-14 libclang-rt-14-dev          # libFuzzer targets and the clang sanitizer build
  # libraries
  libpcap-dev libyaml-cpp-dev libfmt-dev libcli11-dev nlohmann-json3-dev libsqlite3-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  tcpdump python3 iproute2 time logrotate
  # nftables enforcer (libnftnl/libmnl) and the nft CLI its kernel tests inspect with
  libnftnl-dev libmnl-dev nftables
  ipset iptables                       # ipset enforcer (ipset restore, iptables raw PREROUTING rules)
  libnetfilter-conntrack-dev conntrack # conntrack cleanup on block (its kernel tests read with `conntrack -L`)
  libcap-ng-dev libsystemd-dev        # the daemon: keep only CAP_NET_ADMIN/CAP_NET_RAW; sd_notify
  nmap hping3 netsniff-ng apache2-utils curl  # real attack tools, trafgen and benign load in e2e tests/benches
  libcurl4-openssl-dev                 # alert destinations: webhook/Slack (HTTP) and email (SMTP) via libcurl
  python3-aiosmtpd                     # alert tests: a real SMTP server on loopback
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo $0)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
