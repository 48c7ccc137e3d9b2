// Emitter: turns "send this packet at time t" into an Ethernet frame for the FrameSink, reusing
// one PacketBuilder and one buffer (no allocation per packet once warm).
//
// Frames longer than the snaplen are built with only the payload bytes that will be kept; the
// lengths and checksums are then patched to those of the full frame, so the bytes handed on are
// exactly the first snaplen bytes of the full frame, at a fraction of the cost (a 10-million-packet
// capture at snaplen 96 never touches the bulk of its payload bytes).
//
// Time `t` is nanoseconds since the capture's start; frames get whole microseconds. The emitter
// stops after `limit` frames (done() turns true) and ignores later sends; sends before time 0
// (benign traffic warming up) are dropped.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/ip_address.hpp"
#include "sim/packet_builder.hpp"
#include "sim/rng.hpp"
#include "sim/scenario.hpp"

namespace picket::sim {

using Bytes = std::span<const uint8_t>;

struct IpHeader {
  core::IpAddress src;
  core::IpAddress dst;
  uint8_t ttl = 64;
  uint16_t id = 0;  // IPv4 identification; 0 draws one
};

// Per-component account of what reached the sink (feeds Truth::packets/first/last).
struct EmitStats {
  uint64_t packets = 0;
  int64_t first = 0;
  int64_t last = 0;
};

class Emitter {
 public:
  // Size of the shared pseudo-random content block that payloads are cut from.
  static constexpr size_t kContentSize = 32768;

  Emitter(bool ipv6, uint32_t snaplen, uint64_t limit, FrameSink& sink, size_t components);

  bool ipv6() const noexcept { return ipv6_; }
  bool done() const noexcept { return count_ >= limit_; }
  uint64_t count() const noexcept { return count_; }
  int64_t first_ns() const noexcept { return first_; }
  int64_t last_ns() const noexcept { return last_; }
  // Frames sent from now on are accounted to component `c`.
  void set_component(uint32_t c) noexcept { component_ = c; }
  const std::vector<EmitStats>& stats() const noexcept { return stats_; }

  // `len` bytes of the content block (opaque bytes, like TLS records or compressed bodies),
  // starting near `seed`. len <= kContentSize.
  Bytes content(uint64_t seed, size_t len) const noexcept;

  void tcp(int64_t t, const IpHeader& ip, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
           uint16_t window, Bytes options = {}, Bytes payload = {});
  void udp(int64_t t, const IpHeader& ip, uint16_t sport, uint16_t dport, Bytes payload);
  // ICMP (IPv4) or ICMPv6 (IPv6), by the emitter's family; the caller picks the type numbers.
  void icmp(int64_t t, const IpHeader& ip, uint8_t type, uint8_t code, uint32_t rest, Bytes payload);
  // A bare IP packet with protocol number `proto` and `payload` (IP protocol scans).
  void raw(int64_t t, const IpHeader& ip, uint8_t proto, Bytes payload);

  // The IP datagram of a probe as an ICMP error quotes it (no link layer), cut to what Linux
  // quotes. The span stays valid until the next quote_* call.
  Bytes quote_udp(const IpHeader& ip, uint16_t sport, uint16_t dport, Bytes payload);
  Bytes quote_raw(const IpHeader& ip, uint8_t proto, Bytes payload);

 private:
  enum class L4 : uint8_t { tcp, udp, icmp, raw };

  void network(const IpHeader& ip);
  void send(int64_t t, L4 kind, size_t l4_header, Bytes payload);
  void patch_lengths(const FrameLayout& lay, L4 kind, Bytes omitted);
  uint32_t omitted_sum(Bytes omitted) const noexcept;

  bool ipv6_;
  uint32_t snaplen_;
  uint64_t limit_;
  FrameSink& sink_;
  uint64_t count_ = 0;
  int64_t first_ = 0;
  int64_t last_ = 0;
  uint32_t component_ = 0;
  std::vector<EmitStats> stats_;
  Rng ids_;  // IPv4 identification values

  PacketBuilder builder_;
  PacketBuilder quoter_;
  std::vector<uint8_t> frame_;
  std::vector<uint8_t> quote_;
  std::vector<uint8_t> content_;
  // Prefix sums of the content block for the checksum of any slice: even_[i] weighs bytes at even
  // absolute offsets as high bytes, odd_[i] those at odd offsets.
  std::vector<uint32_t> even_;
  std::vector<uint32_t> odd_;
};

}  // namespace picket::sim
