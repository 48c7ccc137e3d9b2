// FrameRewriter: readdresses a simulated Ethernet frame for a real link before it is sent on a
// packet socket — source and destination MAC always, IP addresses through a map, checksums
// recomputed so the receiving kernel accepts the frame.
//
// Contract:
// - Works in place on one frame; never reads or writes past the span; allocates nothing.
// - Ethernet II only (no VLAN tags: the simulator does not make them); IPv4 and IPv6 (fixed header
//   directly followed by TCP, UDP or ICMPv6). Anything else is reported, not guessed at.
// - IPv4: the header checksum is always recomputed. TCP/UDP (and ICMPv6) checksums are recomputed
//   when an address changed, over the transport bytes the frame holds; a frame cut short of its IP
//   length (snaplen) keeps its old transport checksum and says so (`truncated`). A UDP checksum of
//   0 over IPv4 means "none" and stays 0. Fragments: addresses and the IP checksum only.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"
#include "sim/packet_builder.hpp"

namespace picket::demo {

enum class RewriteStatus : uint8_t {
  ok,             // rewritten, checksums valid
  not_ip,         // MACs rewritten; no IP inside (ARP, ...), nothing else touched
  truncated,      // shorter than its headers say; MACs and addresses rewritten, L4 checksum left
  bad_header,     // IP header inconsistent (IHL < 5, version mismatch); MACs only
  too_short,      // not even an Ethernet header; untouched
};
std::string_view to_string(RewriteStatus s) noexcept;

class FrameRewriter {
 public:
  FrameRewriter(sim::MacAddress src, sim::MacAddress dst) noexcept : src_(src), dst_(dst) {}

  // Every `from` in a frame's source or destination becomes `to`. Both must be the same family;
  // a mismatched pair is ignored (returns false).
  bool map_address(const core::IpAddress& from, const core::IpAddress& to);

  RewriteStatus rewrite(std::span<uint8_t> frame) const noexcept;

 private:
  const core::IpAddress* lookup(const uint8_t* p, bool v4) const noexcept;
  struct Mapping {
    core::IpAddress from, to;
  };
  sim::MacAddress src_, dst_;
  std::vector<Mapping> map_;
};

// The Internet checksum (RFC 1071) of `bytes`, starting from the partial sum `seed`.
uint16_t internet_checksum(std::span<const uint8_t> bytes, uint32_t seed = 0) noexcept;

// True when the frame's IPv4 header checksum and its TCP/UDP/ICMP/ICMPv6 checksum are right
// (for tests and for checking frames before they are sent). Non-IP frames are "valid".
bool checksums_valid(std::span<const uint8_t> frame) noexcept;

}  // namespace picket::demo
