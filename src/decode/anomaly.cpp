#include "decode/anomaly.hpp"

#include <array>

#include "decode/decoder.hpp"

namespace picket::decode {
namespace {

struct AnomalyInfo {
  Anomaly id;
  std::string_view name;
  std::string_view layer;
  std::string_view description;
};

// One row per enumerator, in enum order (checked below), so lookups are an index.
constexpr std::array<AnomalyInfo, kAnomalyCount> kTable{{
    {Anomaly::none, "none", "", "no anomaly"},
    {Anomaly::link_unsupported, "link_unsupported", "link",
     "the capture's link type is not one picket decodes"},
    {Anomaly::eth_truncated, "eth_truncated", "link", "frame shorter than the 14-byte Ethernet header"},
    {Anomaly::vlan_truncated, "vlan_truncated", "link", "an 802.1Q/802.1ad VLAN tag is cut short"},
    {Anomaly::vlan_too_deep, "vlan_too_deep", "link", "more than 4 stacked VLAN tags"},
    {Anomaly::sll_truncated, "sll_truncated", "link",
     "frame shorter than the 16-byte Linux cooked (SLL) header"},
    {Anomaly::sll2_truncated, "sll2_truncated", "link",
     "frame shorter than the 20-byte Linux cooked v2 (SLL2) header"},
    {Anomaly::null_truncated, "null_truncated", "link",
     "frame shorter than the 4-byte BSD loopback family field"},
    {Anomaly::raw_truncated, "raw_truncated", "link", "raw-IP frame with no bytes"},
    {Anomaly::ip_bad_version, "ip_bad_version", "ip",
     "IP version nibble is not the one the link layer announced (or not 4/6 on raw links)"},
    {Anomaly::ipv4_truncated, "ipv4_truncated", "ipv4",
     "IPv4 header (20 bytes plus options) not fully captured"},
    {Anomaly::ipv4_bad_ihl, "ipv4_bad_ihl", "ipv4", "IPv4 header length field below 5 (20 bytes)"},
    {Anomaly::ipv4_bad_total_length, "ipv4_bad_total_length", "ipv4",
     "IPv4 total length smaller than the header, or larger than the frame on the wire"},
    {Anomaly::ipv4_frag_offset_too_large, "ipv4_frag_offset_too_large", "ipv4",
     "IPv4 fragment would end past 65535 bytes (ping-of-death style)"},
    {Anomaly::ipv6_truncated, "ipv6_truncated", "ipv6", "fewer than 40 bytes of IPv6 header captured"},
    {Anomaly::ipv6_bad_payload_length, "ipv6_bad_payload_length", "ipv6",
     "IPv6 payload length larger than the frame on the wire"},
    {Anomaly::ipv6_ext_truncated, "ipv6_ext_truncated", "ipv6",
     "an IPv6 extension header runs past the captured bytes or the payload length"},
    {Anomaly::ipv6_too_many_ext, "ipv6_too_many_ext", "ipv6", "more than 8 IPv6 extension headers"},
    {Anomaly::ipv6_frag_offset_too_large, "ipv6_frag_offset_too_large", "ipv6",
     "IPv6 fragment would end past 65535 bytes"},
    {Anomaly::tcp_truncated, "tcp_truncated", "tcp",
     "the 20-byte TCP header is cut by the capture or by the IP length"},
    {Anomaly::tcp_bad_data_offset, "tcp_bad_data_offset", "tcp",
     "TCP data offset below 5 words, or past the end of the IP payload"},
    {Anomaly::tcp_flags_invalid, "tcp_flags_invalid", "tcp",
     "SYN together with FIN or RST (decoded in full; no TCP stack sends it)"},
    {Anomaly::udp_truncated, "udp_truncated", "udp",
     "the 8-byte UDP header is cut by the capture or by the IP length"},
    {Anomaly::udp_bad_length, "udp_bad_length", "udp",
     "UDP length below 8, or not equal to the IP payload length (a first fragment's may be longer)"},
    {Anomaly::icmp_truncated, "icmp_truncated", "icmp",
     "the 8-byte ICMP header is cut by the capture or by the IP length"},
    {Anomaly::icmpv6_truncated, "icmpv6_truncated", "icmpv6",
     "the 8-byte ICMPv6 header is cut by the capture or by the IP length"},
    {Anomaly::icmp_inner_truncated, "icmp_inner_truncated", "icmp",
     "the datagram quoted by an ICMP/ICMPv6 error is cut before its addresses or ports"},
    {Anomaly::icmp_inner_malformed, "icmp_inner_malformed", "icmp",
     "the datagram quoted by an ICMP/ICMPv6 error is not a valid IPv4/IPv6 header"},
}};

constexpr bool table_in_enum_order() {
  for (size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<size_t>(kTable[i].id) != i) return false;
  }
  return true;
}
static_assert(table_in_enum_order(), "kTable rows must follow the Anomaly enum order");
// The descriptions (and docs/anomalies.md) spell these limits out.
static_assert(kMaxVlanTags == 4 && kMaxIpv6ExtHeaders == 8, "update the descriptions and the docs");

const AnomalyInfo* find(Anomaly a) noexcept {
  const auto i = static_cast<size_t>(a);
  return i < kTable.size() ? &kTable[i] : nullptr;
}

}  // namespace

std::string_view anomaly_name(Anomaly a) noexcept {
  const AnomalyInfo* info = find(a);
  return info != nullptr ? info->name : "unknown";
}

std::string_view anomaly_layer(Anomaly a) noexcept {
  const AnomalyInfo* info = find(a);
  return info != nullptr ? info->layer : "";
}

std::string_view anomaly_description(Anomaly a) noexcept {
  const AnomalyInfo* info = find(a);
  return info != nullptr ? info->description : "";
}

std::optional<Anomaly> anomaly_from_name(std::string_view name) noexcept {
  for (const auto& row : kTable) {
    if (row.name == name) return row.id;
  }
  return std::nullopt;
}

}  // namespace picket::decode
