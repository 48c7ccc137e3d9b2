// AddressPlan: who is who in a simulated capture. Every scenario is written against "plan
// addresses" (IPv4, host order, inside 198.18.0.0/15); in IPv6 mode each maps to 2001:db8::/32 as
//   198.(18+S).C.D  ->  2001:db8:S:C::D
// so an IPv4 /24 becomes an IPv6 /64 and the roles keep their meaning in both families.
#pragma once

#include <cstdint>

#include "core/ip_address.hpp"
#include "sim/packet_builder.hpp"

namespace picket::sim {

namespace plan {

constexpr uint32_t ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return a << 24 | b << 16 | c << 8 | d; }

// 198.18.0.0/24: the victim's own segment.
inline constexpr uint32_t kLan = ip(198, 18, 0, 0);
inline constexpr uint32_t kGateway = ip(198, 18, 0, 1);
inline constexpr uint32_t kVictim = ip(198, 18, 0, 10);
inline constexpr uint32_t kResolver = ip(198, 18, 0, 53);
// 198.18.1.0 - 198.18.127.255: benign clients (behind the gateway).
inline constexpr uint32_t kClientFirst = ip(198, 18, 1, 0);
inline constexpr uint32_t kClientCount = 127 * 256;
// 198.18.128.0/17 and 198.19.128.0/17: spoofed sources (never used by anyone else).
inline constexpr uint32_t kSpoofCount = 65536;
// 198.19.0.0/17: attackers.
inline constexpr uint32_t kSynFlooder = ip(198, 19, 0, 10);
inline constexpr uint32_t kRateAbuser = ip(198, 19, 0, 20);
inline constexpr uint32_t kLargeSender = ip(198, 19, 0, 30);
inline constexpr uint32_t kScanner = ip(198, 19, 0, 40);
inline constexpr uint32_t kUdpScanner = ip(198, 19, 0, 42);  // `mixed`: the UDP scan's own address
inline constexpr uint32_t kSweeper = ip(198, 19, 0, 50);
inline constexpr uint32_t kSlowScanner = ip(198, 19, 0, 60);
inline constexpr uint32_t kDistributedNet = ip(198, 19, 2, 0);  // /24: distributed scan + decoys
inline constexpr uint32_t kConnFloodNet = ip(198, 19, 40, 0);   // /24: connection flood

// The i-th spoofed source (i < kSpoofCount).
constexpr uint32_t spoofed(uint32_t i) {
  return i < kSpoofCount / 2 ? ip(198, 18, 128, 0) + i : ip(198, 19, 128, 0) + (i - kSpoofCount / 2);
}

}  // namespace plan

class AddressPlan {
 public:
  explicit AddressPlan(bool ipv6) noexcept : v6_(ipv6) {}

  bool ipv6() const noexcept { return v6_; }
  core::IpAddress addr(uint32_t plan_addr) const noexcept;
  // A spoofed source: plan::spoofed(i) in IPv4; in IPv6 the same /64 with a random interface id
  // taken from `iid` (spoofing tools randomise all 64 bits).
  core::IpAddress spoofed(uint32_t i, uint64_t iid) const noexcept;
  // The prefix `plan_addr/v4_len` in IPv4, `mapped/v6_len` in IPv6.
  core::Prefix prefix(uint32_t plan_addr, int v4_len, int v6_len) const noexcept;
  // The range spoofed sources come from: 198.18.0.0/15 or 2001:db8::/32.
  core::Prefix spoof_range() const noexcept;

  // Hosts on the victim's segment have their own MAC; everything else is behind the gateway.
  static MacAddress mac_for(const core::IpAddress& a) noexcept;

 private:
  bool v6_;
};

}  // namespace picket::sim
