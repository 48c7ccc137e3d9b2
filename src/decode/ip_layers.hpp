// Network and transport decoders shared by every link routine (internal to src/decode).
// Header-only so the common path (link -> IPv4 -> TCP/UDP) inlines into one straight function.
//
// Conventions for every routine here:
// - `p` points at the layer's first byte; `cap` bytes of it were captured; `wire` (>= cap) were
//   on the wire. Transport routines get `cap` already bounded by the IP length and `len`, the
//   length the IP header gives the transport layer (cap <= len).
// - Every byte read is preceded by a length check against `cap`. Reads go through rd16/rd32,
//   which assemble bytes (no casts, no unaligned loads).
// - Fields are written as soon as they are known and their flag set with them, then the next
//   check may return an anomaly: that is the partial-decode contract of Decoder::decode.
// - Dispatch is by protocol number in one switch per layer; decoders never call each other.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/packet_meta.hpp"
#include "decode/anomaly.hpp"
#include "decode/decoder.hpp"

namespace picket::decode::detail {

using core::PacketMeta;
namespace mf = core::meta_flag;

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpv6 = 58;

inline uint16_t rd16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>((uint16_t{p[0]} << 8) | p[1]);
}
inline uint32_t rd32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// ---------------------------------------------------------------- transport

inline Anomaly decode_tcp(const uint8_t* p, uint32_t cap, uint32_t len, PacketMeta& m) noexcept {
  if (cap < 20) return Anomaly::tcp_truncated;
  m.src_port = rd16(p);
  m.dst_port = rd16(p + 2);
  m.tcp_seq = rd32(p + 4);
  m.tcp_ack = rd32(p + 8);
  m.tcp_flags = p[13];
  m.tcp_window = rd16(p + 14);
  m.flags |= mf::kHasPorts;
  // Options past the capture are fine (never read); a header longer than the datagram is not.
  const uint32_t header_len = static_cast<uint32_t>(p[12] >> 4) * 4;
  if (header_len < 20 || header_len > len) return Anomaly::tcp_bad_data_offset;
  m.payload_len = static_cast<uint16_t>(len - header_len);
  const uint8_t f = p[13];
  if ((f & core::tcp_flag::kSyn) != 0 && (f & (core::tcp_flag::kFin | core::tcp_flag::kRst)) != 0) {
    return Anomaly::tcp_flags_invalid;
  }
  return Anomaly::none;
}

inline Anomaly decode_udp(const uint8_t* p, uint32_t cap, uint32_t len, PacketMeta& m) noexcept {
  if (cap < 8) return Anomaly::udp_truncated;
  m.src_port = rd16(p);
  m.dst_port = rd16(p + 2);
  m.flags |= mf::kHasPorts;
  m.payload_len = static_cast<uint16_t>(len - 8);
  // A first fragment carries only part of the datagram the UDP length describes.
  const uint32_t udp_len = rd16(p + 4);
  const bool fragment = (m.flags & mf::kFragment) != 0;
  if (udp_len < 8 || udp_len < len || (!fragment && udp_len != len)) return Anomaly::udp_bad_length;
  return Anomaly::none;
}

// The IP packet quoted by an ICMP error: addresses, protocol, and the first 4 transport bytes.
// The quote's own length fields describe the original datagram, so only the capture bounds it.
inline Anomaly decode_quoted(const uint8_t* p, uint32_t cap, PacketMeta& m) noexcept;

inline bool is_icmp_error(uint8_t type, bool v6) noexcept {
  if (v6) return type >= 1 && type <= 4;  // unreachable, too big, time exceeded, parameter problem
  switch (type) {
    case 3:   // destination unreachable
    case 4:   // source quench
    case 5:   // redirect
    case 11:  // time exceeded
    case 12:  // parameter problem
      return true;
    default:
      return false;
  }
}

inline Anomaly decode_icmp(const uint8_t* p, uint32_t cap, uint32_t len, PacketMeta& m,
                           bool v6) noexcept {
  if (cap < 8) return v6 ? Anomaly::icmpv6_truncated : Anomaly::icmp_truncated;
  m.icmp_type = p[0];
  m.icmp_code = p[1];
  m.flags |= mf::kHasIcmp;
  m.payload_len = static_cast<uint16_t>(len - 8);
  if (!is_icmp_error(p[0], v6)) return Anomaly::none;
  return decode_quoted(p + 8, cap - 8, m);
}

// One switch on the IP protocol number; anything else is a valid protocol without ports.
inline Anomaly dispatch_transport(uint8_t proto, const uint8_t* p, uint32_t cap, uint32_t len,
                                  PacketMeta& m) noexcept {
  switch (proto) {
    case kProtoTcp:
      return decode_tcp(p, cap, len, m);
    case kProtoUdp:
      return decode_udp(p, cap, len, m);
    case kProtoIcmp:
      return decode_icmp(p, cap, len, m, false);
    case kProtoIcmpv6:
      return decode_icmp(p, cap, len, m, true);
    default:
      m.payload_len = static_cast<uint16_t>(len);
      return Anomaly::none;
  }
}

// ---------------------------------------------------------------- IPv6 extension headers

struct Ipv6Walk {
  uint32_t offset = 40;       // from the IPv6 header's start to the next unread header
  uint8_t next = 0;           // protocol number of that header
  uint8_t count = 0;          // extension headers passed
  bool fragment = false;      // a fragment header with M set or a non-zero offset
  bool later_fragment = false;
  uint32_t frag_offset = 0;   // bytes
};

enum class WalkStatus : uint8_t { ok, truncated, too_many };

// Walks extension headers from w.offset while they fit in `end` bytes from the IPv6 header's
// start. Stops at an upper-layer protocol (ESP 50 and no-next-header 59 included: their contents
// are not headers) or after a fragment header with a non-zero offset (what follows is data).
inline WalkStatus walk_ipv6_ext(const uint8_t* p, uint32_t end, Ipv6Walk& w) noexcept {
  for (;;) {
    const uint8_t type = w.next;
    uint32_t header_len = 8;
    switch (type) {
      case 0:    // hop-by-hop options
      case 43:   // routing
      case 60:   // destination options
      case 135:  // mobility
      case 139:  // HIP
      case 140:  // shim6
      case 253:  // experimental
      case 254:
        if (w.count == kMaxIpv6ExtHeaders) return WalkStatus::too_many;
        if (end - w.offset < 2) return WalkStatus::truncated;
        header_len = (uint32_t{p[w.offset + 1]} + 1) * 8;
        break;
      case 51:  // authentication header: length in 4-byte words, minus 2
        if (w.count == kMaxIpv6ExtHeaders) return WalkStatus::too_many;
        if (end - w.offset < 2) return WalkStatus::truncated;
        header_len = (uint32_t{p[w.offset + 1]} + 2) * 4;
        break;
      case 44:  // fragment: fixed 8 bytes
        if (w.count == kMaxIpv6ExtHeaders) return WalkStatus::too_many;
        break;
      default:
        return WalkStatus::ok;
    }
    if (header_len > end - w.offset) return WalkStatus::truncated;
    const uint8_t* h = p + w.offset;
    w.next = h[0];
    w.offset += header_len;
    ++w.count;
    if (type == 44) {
      const uint16_t off_flags = rd16(h + 2);
      w.frag_offset = off_flags & 0xFFF8u;
      // An atomic fragment (offset 0, M clear; RFC 6946) is a whole datagram.
      if (w.frag_offset != 0 || (off_flags & 1u) != 0) w.fragment = true;
      if (w.frag_offset != 0) {
        w.later_fragment = true;
        return WalkStatus::ok;
      }
    }
  }
}

// ---------------------------------------------------------------- network

inline Anomaly decode_ipv4(const uint8_t* p, uint32_t cap, uint32_t wire, PacketMeta& m) noexcept {
  if (cap < 20) return Anomaly::ipv4_truncated;
  if ((p[0] >> 4) != 4) return Anomaly::ip_bad_version;
  const uint32_t header_len = uint32_t{p[0] & 0x0Fu} * 4;
  const uint32_t total_len = rd16(p + 2);
  m.src.assign_v4(p + 12);
  m.dst.assign_v4(p + 16);
  m.ttl = p[8];
  m.ip_proto = p[9];
  m.ip_len = static_cast<uint16_t>(total_len);
  m.flags |= mf::kHasIp;
  if (header_len < 20) return Anomaly::ipv4_bad_ihl;
  if (total_len < header_len || total_len > wire) return Anomaly::ipv4_bad_total_length;
  if (header_len > cap) return Anomaly::ipv4_truncated;
  if (header_len > 20) m.flags |= mf::kIpOptions;
  const uint32_t transport_len = total_len - header_len;
  const uint16_t frag = rd16(p + 6);
  if ((frag & 0x3FFFu) != 0) {  // MF set or non-zero offset
    m.flags |= mf::kFragment;
    const uint32_t offset = uint32_t{frag & 0x1FFFu} * 8;
    if (offset != 0) m.flags |= mf::kLaterFragment;
    if (offset + transport_len > 65535) return Anomaly::ipv4_frag_offset_too_large;
    if (offset != 0) {
      m.payload_len = static_cast<uint16_t>(transport_len);
      return Anomaly::none;
    }
  }
  const uint32_t end = std::min(cap, total_len);
  return dispatch_transport(p[9], p + header_len, end - header_len, transport_len, m);
}

inline Anomaly decode_ipv6(const uint8_t* p, uint32_t cap, uint32_t wire, PacketMeta& m) noexcept {
  if (cap < 40) return Anomaly::ipv6_truncated;
  if ((p[0] >> 4) != 6) return Anomaly::ip_bad_version;
  const uint32_t total_len = 40 + uint32_t{rd16(p + 4)};
  m.src.assign_v6(p + 8);
  m.dst.assign_v6(p + 24);
  m.ttl = p[7];
  m.ip_proto = p[6];
  m.ip_len = static_cast<uint16_t>(std::min<uint32_t>(total_len, 65535));  // saturates
  m.flags |= mf::kHasIp;
  if (total_len > wire) return Anomaly::ipv6_bad_payload_length;
  const uint32_t end = std::min(cap, total_len);
  Ipv6Walk w;
  w.next = p[6];
  const WalkStatus status = walk_ipv6_ext(p, end, w);
  m.ip_proto = w.next;
  if (w.count != 0) m.flags |= mf::kIpOptions;
  if (w.fragment) m.flags |= mf::kFragment;
  if (w.later_fragment) m.flags |= mf::kLaterFragment;
  if (status == WalkStatus::truncated) return Anomaly::ipv6_ext_truncated;
  if (status == WalkStatus::too_many) return Anomaly::ipv6_too_many_ext;
  const uint32_t transport_len = total_len - w.offset;
  if (w.fragment && w.frag_offset + transport_len > 65535) return Anomaly::ipv6_frag_offset_too_large;
  if (w.later_fragment) {
    m.payload_len = static_cast<uint16_t>(transport_len);
    return Anomaly::none;
  }
  return dispatch_transport(w.next, p + w.offset, end - w.offset, transport_len, m);
}

// ---------------------------------------------------------------- the common frame

// Ethernet (no VLAN tag) → IPv4 without options or fragmentation → TCP, with nothing about it
// that would be an anomaly: most of what a sensor sees. Decoded in one straight run, without the
// link routine's indirect call and the per-layer switches. Returns false without writing `m`
// when the frame is anything else — the caller then resets `m` and takes the general path,
// which gives every frame this accepts exactly the same result (decoder_test checks the two
// paths against each other on mutated frames).
inline bool decode_ethernet_ipv4_tcp(const uint8_t* p, uint32_t cap, uint32_t wire, PacketMeta& m) noexcept {
  constexpr uint32_t kEth = 14;
  if (cap < kEth + 20 + 20) return false;
  const uint8_t* ip = p + kEth;
  // Ethertype IPv4, version 4 with a 20-byte header, protocol TCP.
  if (rd16(p + 12) != 0x0800 || ip[0] != 0x45 || ip[9] != kProtoTcp) return false;
  const uint32_t total_len = rd16(ip + 2);
  // Both headers whole inside the IP length, which the wire length covers; no MF, no offset.
  if (total_len < 40 || total_len > wire - kEth || (rd16(ip + 6) & 0x3FFFu) != 0) return false;
  const uint8_t* t = ip + 20;
  const uint32_t tcp_len = total_len - 20;
  const uint32_t header_len = static_cast<uint32_t>(t[12] >> 4) * 4;
  if (header_len < 20 || header_len > tcp_len) return false;
  const uint8_t f = t[13];
  if ((f & core::tcp_flag::kSyn) != 0 && (f & (core::tcp_flag::kFin | core::tcp_flag::kRst)) != 0) return false;
  m.src.assign_v4(ip + 12);
  m.dst.assign_v4(ip + 16);
  m.ttl = ip[8];
  m.ip_proto = kProtoTcp;
  m.ip_len = static_cast<uint16_t>(total_len);
  m.src_port = rd16(t);
  m.dst_port = rd16(t + 2);
  m.tcp_seq = rd32(t + 4);
  m.tcp_ack = rd32(t + 8);
  m.tcp_flags = f;
  m.tcp_window = rd16(t + 14);
  m.payload_len = static_cast<uint16_t>(tcp_len - header_len);
  m.flags = mf::kHasIp | mf::kHasPorts;
  return true;
}

// ---------------------------------------------------------------- ICMP quote

// Inner ports: the first 4 bytes of a quoted TCP or UDP header (RFC 792 quotes 8).
inline Anomaly decode_quoted_ports(const uint8_t* p, uint32_t cap, uint32_t offset,
                                   PacketMeta& m) noexcept {
  if (m.inner_proto != kProtoTcp && m.inner_proto != kProtoUdp) return Anomaly::none;
  if (offset > cap || cap - offset < 4) return Anomaly::icmp_inner_truncated;
  m.inner_src_port = rd16(p + offset);
  m.inner_dst_port = rd16(p + offset + 2);
  m.flags |= mf::kInnerPorts;
  return Anomaly::none;
}

inline Anomaly decode_quoted(const uint8_t* p, uint32_t cap, PacketMeta& m) noexcept {
  if (cap == 0) return Anomaly::icmp_inner_truncated;
  switch (p[0] >> 4) {
    case 4: {
      if (cap < 20) return Anomaly::icmp_inner_truncated;
      const uint32_t header_len = uint32_t{p[0] & 0x0Fu} * 4;
      if (header_len < 20) return Anomaly::icmp_inner_malformed;
      m.inner_src.assign_v4(p + 12);
      m.inner_dst.assign_v4(p + 16);
      m.inner_proto = p[9];
      m.flags |= mf::kHasInner;
      if ((rd16(p + 6) & 0x1FFFu) != 0) return Anomaly::none;  // a later fragment quotes no ports
      return decode_quoted_ports(p, cap, header_len, m);
    }
    case 6: {
      if (cap < 40) return Anomaly::icmp_inner_truncated;
      m.inner_src.assign_v6(p + 8);
      m.inner_dst.assign_v6(p + 24);
      m.inner_proto = p[6];
      m.flags |= mf::kHasInner;
      Ipv6Walk w;
      w.next = p[6];
      const WalkStatus status = walk_ipv6_ext(p, cap, w);
      m.inner_proto = w.next;
      if (status == WalkStatus::truncated) return Anomaly::icmp_inner_truncated;
      if (status == WalkStatus::too_many) return Anomaly::icmp_inner_malformed;
      if (w.later_fragment) return Anomaly::none;
      return decode_quoted_ports(p, cap, w.offset, m);
    }
    default:
      return Anomaly::icmp_inner_malformed;
  }
}

}  // namespace picket::decode::detail
