#include "sim/packet_builder.hpp"

#include <cstring>

namespace picket::sim {
namespace {

void put8(std::vector<uint8_t>& o, uint8_t v) { o.push_back(v); }
void put16(std::vector<uint8_t>& o, uint16_t v) {
  o.push_back(static_cast<uint8_t>(v >> 8));
  o.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& o, uint32_t v) {
  put16(o, static_cast<uint16_t>(v >> 16));
  put16(o, static_cast<uint16_t>(v));
}
void set16(std::vector<uint8_t>& o, size_t at, uint16_t v) {
  o[at] = static_cast<uint8_t>(v >> 8);
  o[at + 1] = static_cast<uint8_t>(v);
}
void put_bytes(std::vector<uint8_t>& o, std::span<const uint8_t> b) { o.insert(o.end(), b.begin(), b.end()); }

uint32_t sum16(std::span<const uint8_t> data, uint32_t acc) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) acc += (uint32_t{data[i]} << 8) | data[i + 1];
  if (i < data.size()) acc += uint32_t{data[i]} << 8;
  return acc;
}

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86DD;

}  // namespace

uint16_t internet_checksum(std::span<const uint8_t> data, uint32_t initial) noexcept {
  uint32_t acc = sum16(data, initial);
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

PacketBuilder& PacketBuilder::ethernet(MacAddress src, MacAddress dst) {
  link_ = Link::ethernet;
  src_mac_ = src;
  dst_mac_ = dst;
  return *this;
}
PacketBuilder& PacketBuilder::vlan(uint16_t id, uint8_t priority) {
  if (vlan_count_ < vlan_tci_.size()) {
    vlan_tci_[vlan_count_++] = static_cast<uint16_t>((priority & 7) << 13 | (id & 0x0FFF));
  }
  return *this;
}
PacketBuilder& PacketBuilder::linux_sll() { link_ = Link::sll; return *this; }
PacketBuilder& PacketBuilder::linux_sll2() { link_ = Link::sll2; return *this; }
PacketBuilder& PacketBuilder::raw_ip() { link_ = Link::raw; return *this; }
PacketBuilder& PacketBuilder::null_loopback() { link_ = Link::null; return *this; }

int PacketBuilder::link_type() const noexcept {
  switch (link_) {
    case Link::ethernet: return core::link_type::kEthernet;
    case Link::sll: return core::link_type::kLinuxSll;
    case Link::sll2: return core::link_type::kLinuxSll2;
    case Link::raw: return core::link_type::kRaw;
    case Link::null: return core::link_type::kNull;
  }
  return core::link_type::kEthernet;
}

PacketBuilder& PacketBuilder::ipv4(const core::IpAddress& src, const core::IpAddress& dst, uint8_t ttl) {
  net_ = Net::v4;
  src_ = src;
  dst_ = dst;
  ttl_ = ttl;
  return *this;
}
PacketBuilder& PacketBuilder::ipv4_id(uint16_t id) { ipv4_id_ = id; return *this; }
PacketBuilder& PacketBuilder::ipv4_options(std::span<const uint8_t> options) {
  ip_options_.assign(options.begin(), options.end());
  while (ip_options_.size() % 4 != 0) ip_options_.push_back(0);  // end-of-options padding
  return *this;
}
PacketBuilder& PacketBuilder::ipv4_fragment(uint16_t offset_bytes, bool more_fragments) {
  fragment_ = true;
  frag_offset_ = offset_bytes;
  more_fragments_ = more_fragments;
  return *this;
}
PacketBuilder& PacketBuilder::ipv6(const core::IpAddress& src, const core::IpAddress& dst, uint8_t hop_limit) {
  net_ = Net::v6;
  src_ = src;
  dst_ = dst;
  ttl_ = hop_limit;
  return *this;
}
PacketBuilder& PacketBuilder::ipv6_extension(uint8_t type, size_t content_len) {
  v6_ext_.push_back({type, content_len});
  return *this;
}
PacketBuilder& PacketBuilder::ipv6_fragment(uint16_t offset_bytes, bool more_fragments, uint32_t id) {
  fragment_ = true;
  frag_offset_ = offset_bytes;
  more_fragments_ = more_fragments;
  frag_id_ = id;
  return *this;
}
PacketBuilder& PacketBuilder::ip_proto(uint8_t proto) {
  transport_ = Transport::proto_only;
  proto_only_ = proto;
  return *this;
}

PacketBuilder& PacketBuilder::tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
                                  uint16_t window) {
  transport_ = Transport::tcp;
  sport_ = sport;
  dport_ = dport;
  tcp_flags_ = flags;
  seq_ = seq;
  ack_ = ack;
  window_ = window;
  return *this;
}
PacketBuilder& PacketBuilder::tcp_options(std::span<const uint8_t> options) {
  tcp_options_.assign(options.begin(), options.end());
  while (tcp_options_.size() % 4 != 0) tcp_options_.push_back(1);  // NOP padding
  return *this;
}
PacketBuilder& PacketBuilder::udp(uint16_t sport, uint16_t dport) {
  transport_ = Transport::udp;
  sport_ = sport;
  dport_ = dport;
  return *this;
}
PacketBuilder& PacketBuilder::icmp(uint8_t type, uint8_t code, uint32_t rest) {
  transport_ = Transport::icmp;
  icmp_type_ = type;
  icmp_code_ = code;
  icmp_rest_ = rest;
  return *this;
}
PacketBuilder& PacketBuilder::payload(std::span<const uint8_t> bytes) {
  payload_.assign(bytes.begin(), bytes.end());
  return *this;
}
PacketBuilder& PacketBuilder::payload_size(size_t n, uint8_t fill) {
  payload_.assign(n, fill);
  return *this;
}
PacketBuilder& PacketBuilder::quote(std::span<const uint8_t> inner_ip_packet) { return payload(inner_ip_packet); }

uint8_t PacketBuilder::transport_proto() const noexcept {
  switch (transport_) {
    case Transport::tcp: return 6;
    case Transport::udp: return 17;
    case Transport::icmp: return net_ == Net::v6 ? 58 : 1;
    case Transport::proto_only: return proto_only_;
    case Transport::none: break;
  }
  return 59;  // IPv6 "no next header"; for IPv4 a harmless unassigned value is not needed
}

// Appends the transport header and payload at the end of `out`, then fills its checksum using
// the pseudo header of the IP header starting at `ip_start`.
void PacketBuilder::put_transport(std::vector<uint8_t>& out, size_t ip_start) const {
  const size_t start = out.size();
  const bool later_fragment = fragment_ && frag_offset_ != 0;
  if (!later_fragment) {
    switch (transport_) {
      case Transport::tcp: {
        const size_t hlen = 20 + tcp_options_.size();
        put16(out, sport_);
        put16(out, dport_);
        put32(out, seq_);
        put32(out, ack_);
        put8(out, static_cast<uint8_t>((hlen / 4) << 4));
        put8(out, tcp_flags_);
        put16(out, window_);
        put16(out, 0);  // checksum
        put16(out, 0);  // urgent pointer
        put_bytes(out, tcp_options_);
        break;
      }
      case Transport::udp:
        put16(out, sport_);
        put16(out, dport_);
        put16(out, static_cast<uint16_t>(8 + payload_.size()));
        put16(out, 0);
        break;
      case Transport::icmp:
        put8(out, icmp_type_);
        put8(out, icmp_code_);
        put16(out, 0);
        put32(out, icmp_rest_);
        break;
      case Transport::proto_only:
      case Transport::none:
        break;
    }
  }
  put_bytes(out, payload_);
  if (later_fragment || transport_ == Transport::none || transport_ == Transport::proto_only) return;

  std::span<const uint8_t> seg(out.data() + start, out.size() - start);
  uint32_t pseudo = 0;
  const bool v6 = net_ == Net::v6;
  if (transport_ != Transport::icmp || v6) {
    const size_t alen = v6 ? 16 : 4;
    const size_t src_off = ip_start + (v6 ? 8 : 12);
    pseudo = sum16({out.data() + src_off, alen * 2}, 0);
    pseudo += transport_proto();
    pseudo += static_cast<uint32_t>(seg.size() & 0xFFFF) + static_cast<uint32_t>(seg.size() >> 16);
  }
  uint16_t sum = internet_checksum(seg, pseudo);
  if (transport_ == Transport::udp && sum == 0) sum = 0xFFFF;
  const size_t csum_off = transport_ == Transport::tcp ? 16 : transport_ == Transport::udp ? 6 : 2;
  set16(out, start + csum_off, sum);
}

void PacketBuilder::build_into(std::vector<uint8_t>& out, FrameLayout* layout) const {
  out.clear();
  FrameLayout lay;
  const uint16_t ethertype = net_ == Net::v6 ? kEtherIpv6 : kEtherIpv4;
  switch (link_) {
    case Link::ethernet:
      put_bytes(out, dst_mac_.bytes);
      put_bytes(out, src_mac_.bytes);
      for (uint8_t i = 0; i < vlan_count_; ++i) {
        put16(out, (vlan_count_ == 2 && i == 0) ? 0x88A8 : 0x8100);
        put16(out, vlan_tci_[i]);
      }
      put16(out, ethertype);
      break;
    case Link::sll:
      put16(out, 0);  // packet type: to us
      put16(out, 1);  // ARPHRD_ETHER
      put16(out, 6);
      put_bytes(out, src_mac_.bytes);
      put16(out, 0);
      put16(out, ethertype);
      break;
    case Link::sll2:
      put16(out, ethertype);
      put16(out, 0);   // reserved
      put32(out, 2);   // interface index
      put16(out, 1);   // ARPHRD_ETHER
      put8(out, 0);    // packet type
      put8(out, 6);
      put_bytes(out, src_mac_.bytes);
      put16(out, 0);
      break;
    case Link::null: {
      const uint32_t fam = net_ == Net::v6 ? 10 : 2;  // AF_INET6 / AF_INET, host order (little endian)
      put8(out, static_cast<uint8_t>(fam));
      put8(out, 0);
      put8(out, 0);
      put8(out, 0);
      break;
    }
    case Link::raw:
      break;
  }

  if (net_ == Net::none) {
    put_bytes(out, payload_);
    if (layout) *layout = lay;
    return;
  }
  const size_t ip_start = out.size();
  lay.network = ip_start;
  if (net_ == Net::v4) {
    const size_t hlen = 20 + ip_options_.size();
    put8(out, static_cast<uint8_t>(0x40 | (hlen / 4)));
    put8(out, 0);
    put16(out, 0);  // total length, set below
    put16(out, ipv4_id_);
    uint16_t frag = static_cast<uint16_t>((frag_offset_ / 8) & 0x1FFF);
    if (more_fragments_) frag |= 0x2000;
    if (!fragment_) frag = 0x4000;  // DF, as Linux sets it
    put16(out, frag);
    put8(out, ttl_);
    put8(out, transport_proto());
    put16(out, 0);  // checksum
    put_bytes(out, std::span<const uint8_t>(src_.bytes().data(), 4));
    put_bytes(out, std::span<const uint8_t>(dst_.bytes().data(), 4));
    put_bytes(out, ip_options_);
    lay.transport = out.size();
    put_transport(out, ip_start);
    set16(out, ip_start + 2, static_cast<uint16_t>(out.size() - ip_start));
    set16(out, ip_start + 10, internet_checksum({out.data() + ip_start, hlen}));
  } else {
    put32(out, 0x60000000);
    put16(out, 0);  // payload length, set below
    const size_t next_header_at = out.size();
    put8(out, 0);
    put8(out, ttl_);
    put_bytes(out, std::span<const uint8_t>(src_.bytes().data(), 16));
    put_bytes(out, std::span<const uint8_t>(dst_.bytes().data(), 16));
    size_t prev_next = next_header_at;
    for (const auto& e : v6_ext_) {
      out[prev_next] = e.type;
      const size_t total = (2 + e.len + 7) / 8 * 8;
      prev_next = out.size();
      put8(out, 0);
      put8(out, static_cast<uint8_t>(total / 8 - 1));
      for (size_t i = 2; i < total; ++i) put8(out, e.type == 43 && i == 2 ? 0 : 1);  // PadN-ish filler
      if (e.type != 43) {
        // Destination / hop-by-hop options: one PadN option covering the content.
        out[prev_next + 2] = 1;
        out[prev_next + 3] = static_cast<uint8_t>(total - 4);
        for (size_t i = 4; i < total; ++i) out[prev_next + i] = 0;
      }
    }
    if (fragment_) {
      out[prev_next] = 44;
      prev_next = out.size();
      put8(out, 0);
      put8(out, 0);
      uint16_t off = static_cast<uint16_t>(frag_offset_ & 0xFFF8);
      if (more_fragments_) off |= 1;
      put16(out, off);
      put32(out, frag_id_);
    }
    out[prev_next] = transport_proto();
    lay.transport = out.size();
    // The ICMPv6/TCP/UDP pseudo header uses addresses at ip_start + 8.
    put_transport(out, ip_start);
    set16(out, ip_start + 4, static_cast<uint16_t>(out.size() - ip_start - 40));
  }
  const bool later_fragment = fragment_ && frag_offset_ != 0;
  if (later_fragment || transport_ == Transport::none || transport_ == Transport::proto_only) {
    lay.payload = lay.transport;
    if (later_fragment || transport_ == Transport::none) lay.transport = FrameLayout::npos;
  } else {
    size_t th = transport_ == Transport::tcp ? 20 + tcp_options_.size() : 8;
    lay.payload = lay.transport + th;
  }
  if (layout) *layout = lay;
}

std::vector<uint8_t> PacketBuilder::build() const {
  std::vector<uint8_t> out;
  out.reserve(128 + payload_.size());
  build_into(out);
  return out;
}

FrameLayout PacketBuilder::build_layout() const {
  std::vector<uint8_t> out;
  FrameLayout lay;
  build_into(out, &lay);
  return lay;
}

}  // namespace picket::sim
