// PacketMeta: what the decoders extract from one frame. A small value type that the detectors
// read on the hot path; filling it never allocates.
#pragma once

#include <cstdint>

#include "core/ip_address.hpp"
#include "core/time.hpp"

namespace picket::core {

using Port = uint16_t;

// IANA protocol numbers used by picket.
enum class IpProto : uint8_t {
  icmp = 1,
  tcp = 6,
  udp = 17,
  icmpv6 = 58,
};

namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcp_flag

enum class Direction : uint8_t { unknown = 0, inbound, outbound };

// Bits of PacketMeta::flags.
namespace meta_flag {
inline constexpr uint16_t kHasIp = 0x0001;         // src/dst/ip_proto are valid
inline constexpr uint16_t kHasPorts = 0x0002;      // src_port/dst_port are valid (TCP/UDP header read)
inline constexpr uint16_t kFragment = 0x0004;      // part of a fragmented datagram
inline constexpr uint16_t kLaterFragment = 0x0008; // not the first fragment: no transport header
inline constexpr uint16_t kHasIcmp = 0x0010;       // icmp_type/icmp_code are valid
inline constexpr uint16_t kHasInner = 0x0020;      // inner_* hold the header quoted by an ICMP error
inline constexpr uint16_t kInnerPorts = 0x0040;    // inner ports are valid
inline constexpr uint16_t kVlan = 0x0080;          // at least one 802.1Q tag was present
inline constexpr uint16_t kIpOptions = 0x0100;     // IPv4 options or IPv6 extension headers present
}  // namespace meta_flag

struct PacketMeta {
  Timestamp ts;
  IpAddress src;
  IpAddress dst;
  IpAddress inner_src;  // ICMP errors: the quoted datagram's source (normally this host)
  IpAddress inner_dst;  // ... and its destination (the probed address)
  uint32_t frame_len = 0;    // length on the wire
  uint32_t cap_len = 0;      // bytes captured
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint32_t ifindex = 0;
  uint16_t ip_len = 0;       // IPv4 total length / IPv6 payload length + 40
  uint16_t payload_len = 0;  // transport payload bytes (per the IP length, not the capture)
  Port src_port = 0;
  Port dst_port = 0;
  Port inner_src_port = 0;
  Port inner_dst_port = 0;
  uint16_t tcp_window = 0;
  uint16_t vlan_id = 0;      // outermost tag
  uint16_t flags = 0;        // meta_flag bits
  uint8_t ip_proto = 0;      // IANA number of the transport (after IPv6 extension headers)
  uint8_t inner_proto = 0;
  uint8_t tcp_flags = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint8_t ttl = 0;           // TTL / hop limit
  Direction direction = Direction::unknown;

  bool has(uint16_t f) const noexcept { return (flags & f) != 0; }
  bool is_tcp() const noexcept { return ip_proto == static_cast<uint8_t>(IpProto::tcp); }
  bool is_udp() const noexcept { return ip_proto == static_cast<uint8_t>(IpProto::udp); }
  bool is_icmp() const noexcept {
    return ip_proto == static_cast<uint8_t>(IpProto::icmp) ||
           ip_proto == static_cast<uint8_t>(IpProto::icmpv6);
  }
};

}  // namespace picket::core
