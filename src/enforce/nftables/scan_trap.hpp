// The scan trap: the kernel's own first response to a fast port scan, ahead of picket's decision.
//
// A scanner's probe to a closed TCP port is answered by this host (or, on a router, a host behind
// it) with a RST|ACK whose sequence number is 0 — the RFC 9293 reply to a segment without ACK on
// a port with no listener. Nothing else sends that: a reset of a real connection carries the
// connection's sequence number. The trap counts these replies in picket's own table:
//
//   chain postrouting { type filter hook postrouting priority raw; policy accept;
//     tcp flags & (fin|syn|rst|ack) == rst|ack tcp sequence 0 ip daddr . tcp sport @trap_seen4 return
//     tcp flags & (fin|syn|rst|ack) == rst|ack tcp sequence 0 ip daddr != @trap_exempt4
//       add @trap_seen4 { ip daddr . tcp sport timeout 60s }
//       update @trap_fail4 { ip daddr timeout 60s limit rate over 1/second burst N packets }
//       add @trap4 { ip daddr timeout HOLD } counter
//     (the same for IPv6)
//   }
//   chain prerouting { ... ip saddr @trap4 drop ... }
//
// so a source that hits more than N distinct closed ports in a burst (each port counted once a
// minute: a client retrying one port that is down never adds up) is dropped by the kernel for
// HOLD at the very next packet — microseconds, where a decision through picket's capture,
// detectors, store and netlink takes milliseconds, in which nmap -T4 on a fast link sends
// hundreds of probes. picket's own detection still sees every packet (capture taps in before
// netfilter) and bans the scanner on its own evidence; the trap only bridges the gap.
//
// The exempt sets hold the policy allowlist (home_net, the host's addresses and gateways): the
// trap never drops what policy would never ban. Dynamic sets are bounded (kTrapSetSize entries
// each): when one is full the trap stops adding and picket's own detection carries on alone.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"
#include "enforce/nftables/elements.hpp"

namespace picket::enforce::nftables {

class Transaction;

struct ScanTrap {
  bool enabled = false;
  uint32_t closed_ports = 6;     // distinct closed ports a source may hit in a burst; the next one traps it
  uint64_t hold_ms = 60'000;     // how long the kernel drops a trapped source
  std::vector<core::Prefix> exempt;  // never trapped (the policy allowlist)
};

inline constexpr std::string_view kSetTrap4 = "trap4";
inline constexpr std::string_view kSetTrap6 = "trap6";
inline constexpr std::string_view kSetTrapSeen4 = "trap_seen4";
inline constexpr std::string_view kSetTrapSeen6 = "trap_seen6";
inline constexpr std::string_view kSetTrapFail4 = "trap_fail4";
inline constexpr std::string_view kSetTrapFail6 = "trap_fail6";
inline constexpr std::string_view kSetTrapExempt4 = "trap_exempt4";
inline constexpr std::string_view kSetTrapExempt6 = "trap_exempt6";
inline constexpr std::string_view kChainTrap = "postrouting";
inline constexpr uint32_t kTrapSetSize = 65536;
// A (source, closed port) pair counts once in this time; the failure meter lives as long.
inline constexpr uint64_t kTrapMemoryMs = 60'000;
// After the burst, the closed ports per second a source may go on hitting without being trapped.
inline constexpr uint32_t kTrapRefillPerSecond = 1;
// Rules the trap puts in the postrouting chain when enabled.
inline constexpr size_t kTrapRuleCount = 4;

// The trap's sets and its postrouting chain (created if missing, kept if present).
void append_trap_objects(Transaction& tx, std::string_view table);
// The two drop rules (trap4, trap6) for picket's prerouting chain.
void append_trap_drop_rules(Transaction& tx, std::string_view table, std::string_view chain);
// Replaces the trap's rules and exempt elements with what `trap` says; disabled, the postrouting
// chain is left empty and the trap's dynamic sets are emptied (nothing stays trapped).
void append_trap_rules(Transaction& tx, std::string_view table, const ScanTrap& trap);

// Interval-set elements for `prefixes` of `family`: overlapping and adjacent prefixes merged into
// disjoint ranges (an interval set refuses overlaps), sorted.
std::vector<Element> merged_interval_elements(std::span<const core::Prefix> prefixes, core::Family family);

}  // namespace picket::enforce::nftables
