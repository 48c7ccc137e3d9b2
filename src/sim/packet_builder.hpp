// PacketBuilder: builds well-formed frames layer by layer (link, network, transport, payload),
// with lengths and checksums filled in. The traffic simulator and the decoder tests share it.
//
//   auto frame = PacketBuilder().ethernet().vlan(10).ipv4(src, dst).tcp(40000, 80, kSyn).build();
//
// The builder never validates combinations: tests build odd frames on purpose. To make a frame
// malformed, build it and then edit the bytes at the offsets `build_layout()` reports.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/ip_address.hpp"
#include "core/raw_packet.hpp"

namespace picket::sim {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};
};

// Where each layer starts in a built frame (offsets into it); npos when absent.
struct FrameLayout {
  static constexpr size_t npos = static_cast<size_t>(-1);
  size_t network = npos;
  size_t transport = npos;
  size_t payload = npos;
};

class PacketBuilder {
 public:
  PacketBuilder() = default;

  // ---- link layer (default: Ethernet) ----
  PacketBuilder& ethernet(MacAddress src = {{0x02, 0, 0, 0, 0, 0x01}},
                          MacAddress dst = {{0x02, 0, 0, 0, 0, 0x02}});
  // One call per tag, outermost first. Two tags make QinQ (outer TPID 0x88a8).
  PacketBuilder& vlan(uint16_t id, uint8_t priority = 0);
  PacketBuilder& linux_sll();   // LINKTYPE_LINUX_SLL (16-byte header)
  PacketBuilder& linux_sll2();  // LINKTYPE_LINUX_SLL2 (20-byte header)
  PacketBuilder& raw_ip();      // LINKTYPE_RAW: the frame starts at the IP header
  PacketBuilder& null_loopback();  // LINKTYPE_NULL (4-byte host-order family)
  int link_type() const noexcept;

  // ---- network layer ----
  PacketBuilder& ipv4(const core::IpAddress& src, const core::IpAddress& dst, uint8_t ttl = 64);
  PacketBuilder& ipv4_id(uint16_t id);
  PacketBuilder& ipv4_options(std::span<const uint8_t> options);  // padded to a multiple of 4
  // offset in bytes (multiple of 8). A non-zero offset carries no transport header, only payload.
  PacketBuilder& ipv4_fragment(uint16_t offset_bytes, bool more_fragments);
  PacketBuilder& ipv6(const core::IpAddress& src, const core::IpAddress& dst, uint8_t hop_limit = 64);
  // Extension header (0 hop-by-hop, 43 routing, 60 destination options) with `len` bytes of padding
  // content; the total header length is rounded up to a multiple of 8.
  PacketBuilder& ipv6_extension(uint8_t type, size_t content_len = 6);
  PacketBuilder& ipv6_fragment(uint16_t offset_bytes, bool more_fragments, uint32_t id = 1);
  // Transport protocol number with no header of its own (IP protocol scans); payload still follows.
  PacketBuilder& ip_proto(uint8_t proto);

  // ---- transport layer ----
  PacketBuilder& tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq = 1000,
                     uint32_t ack = 0, uint16_t window = 64240);
  PacketBuilder& tcp_options(std::span<const uint8_t> options);  // padded to a multiple of 4
  PacketBuilder& udp(uint16_t sport, uint16_t dport);
  // ICMP for IPv4, ICMPv6 for IPv6 (chosen at build time). `rest` is the 4-byte rest-of-header.
  PacketBuilder& icmp(uint8_t type, uint8_t code, uint32_t rest = 0);

  // ---- payload ----
  PacketBuilder& payload(std::span<const uint8_t> bytes);
  PacketBuilder& payload_size(size_t n, uint8_t fill = 'x');
  // For ICMP errors: the quoted datagram (an IP packet built without link layer) becomes the payload.
  PacketBuilder& quote(std::span<const uint8_t> inner_ip_packet);

  // Builds the frame. `build_into` reuses the buffer's capacity (no allocation once warm).
  std::vector<uint8_t> build() const;
  void build_into(std::vector<uint8_t>& out, FrameLayout* layout = nullptr) const;
  FrameLayout build_layout() const;

 private:
  enum class Link : uint8_t { ethernet, sll, sll2, raw, null };
  enum class Net : uint8_t { none, v4, v6 };
  enum class Transport : uint8_t { none, tcp, udp, icmp, proto_only };
  struct Ext {
    uint8_t type;
    size_t len;
  };

  void put_transport(std::vector<uint8_t>& out, size_t ip_start) const;
  uint8_t transport_proto() const noexcept;

  Link link_ = Link::ethernet;
  MacAddress src_mac_{{0x02, 0, 0, 0, 0, 0x01}};
  MacAddress dst_mac_{{0x02, 0, 0, 0, 0, 0x02}};
  std::array<uint16_t, 2> vlan_tci_{};
  uint8_t vlan_count_ = 0;

  Net net_ = Net::none;
  core::IpAddress src_, dst_;
  uint8_t ttl_ = 64;
  uint16_t ipv4_id_ = 1;
  std::vector<uint8_t> ip_options_;
  bool fragment_ = false;
  uint16_t frag_offset_ = 0;
  bool more_fragments_ = false;
  uint32_t frag_id_ = 1;
  std::vector<Ext> v6_ext_;

  Transport transport_ = Transport::none;
  uint8_t proto_only_ = 0;
  uint16_t sport_ = 0, dport_ = 0;
  uint8_t tcp_flags_ = 0;
  uint32_t seq_ = 0, ack_ = 0;
  uint16_t window_ = 0;
  std::vector<uint8_t> tcp_options_;
  uint8_t icmp_type_ = 0, icmp_code_ = 0;
  uint32_t icmp_rest_ = 0;

  std::vector<uint8_t> payload_;
};

// The Internet checksum (RFC 1071) over `data`, starting from a partial 32-bit sum.
uint16_t internet_checksum(std::span<const uint8_t> data, uint32_t initial = 0) noexcept;

}  // namespace picket::sim
