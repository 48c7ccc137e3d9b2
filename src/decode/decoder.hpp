// Decoder: turns one captured frame into a core::PacketMeta, counting anomalies by name.
//
//   Decoder dec(source.link_type());
//   core::PacketMeta meta;
//   if (dec.decode(raw, meta) != Anomaly::none) { ... meta is still valid up to the anomaly ... }
//
// Link types: Ethernet (with up to kMaxVlanTags 802.1Q/802.1ad tags, TPIDs 0x8100, 0x88a8, 0x9100),
// Linux cooked SLL and SLL2, raw IP (LINKTYPE_RAW 101, DLT_RAW 12 and 14, LINKTYPE_IPV4 228,
// LINKTYPE_IPV6 229) and BSD loopback NULL. Network: IPv4 (options, fragments) and IPv6 (extension
// headers, at most kMaxIpv6ExtHeaders). Transport: TCP, UDP, ICMP, ICMPv6 (with the header quoted
// by ICMP errors). Other IP protocols decode to ip_proto with no ports and are not anomalies.
//
// Contract of decode():
// - `out` is reset first; ts, frame_len, cap_len and ifindex always come from the RawPacket.
//   direction stays unknown (the decoder does not know the local addresses).
// - Every read is bounded by the captured length. Nothing allocates, nothing throws.
// - The return value is the first anomaly met, and that anomaly's counter is incremented. Decoding
//   stops there, but every field filled before it stays valid and its flag stays set: e.g. a
//   tcp_truncated packet keeps kHasIp, src, dst, ip_proto and ttl, so detectors can still count it.
//   The flags say what is valid; a field whose flag is clear is zero.
//   kHasIp is set as soon as the fixed IP header (20 bytes for IPv4, 40 for IPv6) is captured with
//   the right version, so ipv4_bad_ihl / ipv4_bad_total_length / ipv6_* packets keep their addresses.
//   For IPv6, ip_proto holds the last next-header value reached (44 if a fragment header was cut).
// - tcp_flags_invalid is the one anomaly reported on a fully decoded packet.
// - Non-IP frames (ARP, LLDP, STP, ...) return Anomaly::none without kHasIp and are counted by
//   non_ip(), not as anomalies.
// - A capture cut by the snap length is fine as long as the fixed headers needed are present
//   (TCP options, payload and quoted payload may be missing). payload_len and ip_len always come
//   from the IP header's lengths, never from the capture.
// - Frames longer than the IP length (Ethernet padding, trailing FCS) are normal.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/packet_meta.hpp"
#include "core/raw_packet.hpp"
#include "decode/anomaly.hpp"

namespace picket::decode {

inline constexpr int kMaxVlanTags = 4;
inline constexpr int kMaxIpv6ExtHeaders = 8;

class Decoder {
 public:
  // Unsupported link types make every packet link_unsupported.
  explicit Decoder(int link_type) noexcept;

  static bool supports(int link_type) noexcept;

  // Fills `out` (fully reset first) and returns the first anomaly met (Anomaly::none if clean).
  Anomaly decode(const core::RawPacket& pkt, core::PacketMeta& out) noexcept;

  int link_type() const noexcept { return link_type_; }
  // Indexed by Anomaly; index 0 (none) stays zero.
  const std::array<uint64_t, kAnomalyCount>& anomaly_counts() const noexcept { return counts_; }
  uint64_t anomaly_count(Anomaly a) const noexcept { return counts_[static_cast<size_t>(a)]; }
  uint64_t packets() const noexcept { return packets_; }  // every call to decode()
  uint64_t non_ip() const noexcept { return non_ip_; }    // clean frames that carried no IP

  // The per-link-type routine picked at construction. Public only so the .cpp can name the type.
  using LinkFn = Anomaly (*)(const uint8_t* data, uint32_t cap, uint32_t wire,
                             core::PacketMeta& out) noexcept;

 private:
  LinkFn link_fn_;
  int link_type_;
  bool ethernet_;  // try detail::decode_ethernet_ipv4_tcp (the common frame) first
  uint64_t packets_ = 0;
  uint64_t non_ip_ = 0;
  std::array<uint64_t, kAnomalyCount> counts_{};
};

// A TCP SYN without ACK, or a UDP datagram: what may start a flow from its sender (a prefetch
// hint's guess; the flow tracker decides).
inline bool may_open_flow(uint8_t ip_proto, uint8_t tcp_flags) noexcept {
  return ip_proto == 17 || (ip_proto == 6 && (tcp_flags & 0x12) == 0x02);
}

// The addresses and ports of an Ethernet/IPv4 TCP or UDP frame with a 20-byte IP header, read
// with no more checks than that the bytes are there. For prefetching state some packets ahead,
// never for detection (a later fragment's "ports" are payload).
struct PeekedFlow {
  uint32_t src = 0;  // the address's four bytes in memory order (as memcpy loads them)
  uint32_t dst = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t proto = 0;
  uint8_t tcp_flags = 0;  // 0 when the frame ends before them

  bool opens_flow() const noexcept { return may_open_flow(proto, tcp_flags); }
};
inline bool peek_ethernet_ipv4_flow(const core::RawPacket& pkt, PeekedFlow& f) noexcept {
  constexpr uint32_t kEth = 14;
  const uint8_t* p = pkt.data;
  if (p == nullptr || pkt.cap_len < kEth + 20 + 4) return false;
  const uint8_t* ip = p + kEth;
  if (p[12] != 0x08 || p[13] != 0x00 || ip[0] != 0x45 || (ip[9] != 6 && ip[9] != 17)) return false;
  std::memcpy(&f.src, ip + 12, 4);
  std::memcpy(&f.dst, ip + 16, 4);
  f.src_port = static_cast<uint16_t>(ip[20] << 8 | ip[21]);
  f.dst_port = static_cast<uint16_t>(ip[22] << 8 | ip[23]);
  f.proto = ip[9];
  f.tcp_flags = f.proto == 6 && pkt.cap_len >= kEth + 20 + 14 ? ip[33] : 0;
  return true;
}

}  // namespace picket::decode
