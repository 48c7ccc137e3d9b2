// Anomaly: the named, counted outcomes of decoding a malformed or truncated frame. Every
// anomaly has a stable snake_case name (used in metrics, logs and docs/anomalies.md) and the
// layer it belongs to. Names are part of the user interface: never rename one, only add.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace picket::decode {

enum class Anomaly : uint8_t {
  none = 0,
  // link layer
  link_unsupported,     // the decoder was built for a link type it does not know
  eth_truncated,        // fewer than 14 bytes of Ethernet header
  vlan_truncated,       // an 802.1Q/802.1ad tag cut short
  vlan_too_deep,        // more than kMaxVlanTags stacked tags
  sll_truncated,        // fewer than 16 bytes of Linux cooked (SLL) header
  sll2_truncated,       // fewer than 20 bytes of Linux cooked v2 (SLL2) header
  null_truncated,       // fewer than 4 bytes of BSD loopback family
  raw_truncated,        // raw-IP frame with no byte at all
  // network layer
  ip_bad_version,       // version nibble disagrees with the link layer's protocol, or is not 4/6
  ipv4_truncated,       // IPv4 header (20 bytes, or the IHL with options) not captured
  ipv4_bad_ihl,         // IHL below 5 words
  ipv4_bad_total_length,       // total length below the header length, or past the frame's end
  ipv4_frag_offset_too_large,  // fragment offset * 8 + fragment length > 65535
  ipv6_truncated,              // fewer than 40 bytes of IPv6 header
  ipv6_bad_payload_length,     // payload length runs past the frame's end
  ipv6_ext_truncated,          // an extension header cut by the capture or the payload length
  ipv6_too_many_ext,           // more than kMaxIpv6ExtHeaders extension headers
  ipv6_frag_offset_too_large,  // fragment offset + fragment length > 65535
  // transport layer
  tcp_truncated,        // the 20-byte TCP header does not fit in the capture or the IP length
  tcp_bad_data_offset,  // data offset below 5 words or past the IP length
  tcp_flags_invalid,    // SYN with FIN or RST: fully decoded, but no stack sends it
  udp_truncated,        // the 8-byte UDP header does not fit
  udp_bad_length,       // UDP length below 8, or different from the IP payload length
  icmp_truncated,       // the 8-byte ICMP header does not fit
  icmpv6_truncated,     // the 8-byte ICMPv6 header does not fit
  icmp_inner_truncated, // the datagram quoted by an ICMP/ICMPv6 error is cut short
  icmp_inner_malformed, // the quoted datagram is not a valid IPv4/IPv6 header
};

inline constexpr size_t kAnomalyCount = static_cast<size_t>(Anomaly::icmp_inner_malformed) + 1;

// "ipv4_bad_ihl"; "unknown" for values outside the enum.
std::string_view anomaly_name(Anomaly a) noexcept;
// "link", "ip", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6"; "" for none.
std::string_view anomaly_layer(Anomaly a) noexcept;
// One line for users: what causes it.
std::string_view anomaly_description(Anomaly a) noexcept;
// The inverse of anomaly_name (for configuration that names anomalies).
std::optional<Anomaly> anomaly_from_name(std::string_view name) noexcept;

}  // namespace picket::decode
