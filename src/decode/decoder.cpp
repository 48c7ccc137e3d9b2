#include "decode/decoder.hpp"

#include <algorithm>

#include "decode/ip_layers.hpp"

namespace picket::decode {
namespace {

using core::PacketMeta;
using detail::decode_ipv4;
using detail::decode_ipv6;
using detail::rd16;

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr uint16_t kEtherVlan = 0x8100;   // 802.1Q
constexpr uint16_t kEtherQinQ = 0x88A8;   // 802.1ad service tag
constexpr uint16_t kEtherQinQOld = 0x9100;  // pre-standard QinQ

// Address families seen in LINKTYPE_NULL headers: AF_INET is 2 everywhere; AF_INET6 differs
// (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30).
constexpr uint32_t kAfInet = 2;

// One switch on the ethertype for every link type that carries one. VLAN tags loop back into it.
// Other ethertypes (ARP, LLDP, 802.3 lengths, ...) are non-IP: Anomaly::none without kHasIp.
Anomaly dispatch_ethertype(uint16_t type, const uint8_t* p, uint32_t cap, uint32_t wire,
                           PacketMeta& m) noexcept {
  for (int tags = 0;; ++tags) {
    switch (type) {
      case kEtherIpv4:
        return decode_ipv4(p, cap, wire, m);
      case kEtherIpv6:
        return decode_ipv6(p, cap, wire, m);
      case kEtherVlan:
      case kEtherQinQ:
      case kEtherQinQOld:
        if (tags == kMaxVlanTags) return Anomaly::vlan_too_deep;
        if (cap < 4) return Anomaly::vlan_truncated;
        if (tags == 0) {
          m.vlan_id = rd16(p) & 0x0FFFu;
          m.flags |= core::meta_flag::kVlan;
        }
        type = rd16(p + 2);
        p += 4;
        cap -= 4;
        wire -= 4;
        break;
      default:
        return Anomaly::none;
    }
  }
}

// ---- link routines: one per link type, chosen once in the constructor.
// Each gets the frame with wire >= cap.

Anomaly link_ethernet(const uint8_t* p, uint32_t cap, uint32_t wire, PacketMeta& m) noexcept {
  if (cap < 14) return Anomaly::eth_truncated;
  return dispatch_ethertype(rd16(p + 12), p + 14, cap - 14, wire - 14, m);
}

// Linux cooked v1: the protocol (an ethertype for IP) sits in the last 2 of 16 bytes.
Anomaly link_sll(const uint8_t* p, uint32_t cap, uint32_t wire, PacketMeta& m) noexcept {
  if (cap < 16) return Anomaly::sll_truncated;
  return dispatch_ethertype(rd16(p + 14), p + 16, cap - 16, wire - 16, m);
}

// Linux cooked v2: the protocol comes first in a 20-byte header. Its interface index is the
// capturing host's; PacketMeta::ifindex keeps the RawPacket's, as for every link type.
Anomaly link_sll2(const uint8_t* p, uint32_t cap, uint32_t wire, PacketMeta& m) noexcept {
  if (cap < 20) return Anomaly::sll2_truncated;
  return dispatch_ethertype(rd16(p), p + 20, cap - 20, wire - 20, m);
}

// BSD loopback: a 4-byte address family in the byte order of the host that wrote the capture.
Anomaly link_null(const uint8_t* p, uint32_t cap, uint32_t wire, PacketMeta& m) noexcept {
  if (cap < 4) return Anomaly::null_truncated;
  uint32_t family = uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) |
                    (uint32_t{p[3]} << 24);
  if (family > 0xFFFF) family = detail::rd32(p);  // written by a big-endian host
  switch (family) {
    case kAfInet:
      return decode_ipv4(p + 4, cap - 4, wire - 4, m);
    case 10:
    case 24:
    case 28:
    case 30:
      return decode_ipv6(p + 4, cap - 4, wire - 4, m);
    default:
      return Anomaly::none;  // another family: non-IP
  }
}

// Raw IP: the version nibble says which.
Anomaly link_raw(const uint8_t* p, uint32_t cap, uint32_t wire, PacketMeta& m) noexcept {
  if (cap == 0) return Anomaly::raw_truncated;
  switch (p[0] >> 4) {
    case 4:
      return decode_ipv4(p, cap, wire, m);
    case 6:
      return decode_ipv6(p, cap, wire, m);
    default:
      return Anomaly::ip_bad_version;
  }
}

Anomaly link_ipv4(const uint8_t* p, uint32_t cap, uint32_t wire, PacketMeta& m) noexcept {
  return decode_ipv4(p, cap, wire, m);
}

Anomaly link_ipv6(const uint8_t* p, uint32_t cap, uint32_t wire, PacketMeta& m) noexcept {
  return decode_ipv6(p, cap, wire, m);
}

Anomaly link_unsupported(const uint8_t*, uint32_t, uint32_t, PacketMeta&) noexcept {
  return Anomaly::link_unsupported;
}

Decoder::LinkFn pick_link(int link_type) noexcept {
  namespace lt = core::link_type;
  switch (link_type) {
    case lt::kEthernet:
      return &link_ethernet;
    case lt::kLinuxSll:
      return &link_sll;
    case lt::kLinuxSll2:
      return &link_sll2;
    case lt::kNull:
      return &link_null;
    case lt::kRaw:
    case lt::kRawDlt12:
    case lt::kRawDlt14:
      return &link_raw;
    case lt::kIpv4:
      return &link_ipv4;
    case lt::kIpv6:
      return &link_ipv6;
    default:
      return &link_unsupported;
  }
}

}  // namespace

Decoder::Decoder(int link_type) noexcept
    : link_fn_(pick_link(link_type)), link_type_(link_type), ethernet_(link_type == core::link_type::kEthernet) {}

bool Decoder::supports(int link_type) noexcept { return pick_link(link_type) != &link_unsupported; }

Anomaly Decoder::decode(const core::RawPacket& pkt, core::PacketMeta& out) noexcept {
  out = core::PacketMeta{};
  out.ts = pkt.ts;
  out.frame_len = pkt.wire_len;
  out.cap_len = pkt.cap_len;
  out.ifindex = pkt.ifindex;
  ++packets_;
  const uint32_t cap = pkt.data != nullptr ? pkt.cap_len : 0;
  // A source that leaves wire_len short (or zero) must not make captured bytes look missing.
  const uint32_t wire = std::max(pkt.wire_len, cap);
  if (ethernet_ && detail::decode_ethernet_ipv4_tcp(pkt.data, cap, wire, out)) return Anomaly::none;
  const Anomaly a = link_fn_(pkt.data, cap, wire, out);
  if (a != Anomaly::none) {
    ++counts_[static_cast<size_t>(a)];
  } else if ((out.flags & core::meta_flag::kHasIp) == 0) {
    ++non_ip_;
  }
  return a;
}

}  // namespace picket::decode
