#include "demo/frame_rewrite.hpp"

#include <cstring>

#include "core/bytes.hpp"

namespace picket::demo {

namespace {

constexpr size_t kEthLen = 14;
constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmpv6 = 58;

void store_be16(std::span<uint8_t> b, size_t off, uint16_t v) noexcept {
  if (!core::fits(b, off, 2)) return;
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}

uint32_t sum_words(std::span<const uint8_t> bytes, uint32_t sum) noexcept {
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) sum += static_cast<uint32_t>(bytes[i] << 8 | bytes[i + 1]);
  if (i < bytes.size()) sum += static_cast<uint32_t>(bytes[i] << 8);
  return sum;
}

uint16_t fold(uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

// Where the transport checksum sits, or 0 when the protocol has none we handle.
size_t checksum_offset(uint8_t proto, bool v6) noexcept {
  switch (proto) {
    case kTcp: return 16;
    case kUdp: return 6;
    case kIcmpv6: return v6 ? 2 : 0;
    default: return 0;
  }
}

uint32_t pseudo_header_sum(std::span<const uint8_t> ip, bool v6, uint8_t proto, size_t l4_len) noexcept {
  uint32_t sum = 0;
  if (v6) {
    sum = sum_words(ip.subspan(8, 32), 0);
  } else {
    sum = sum_words(ip.subspan(12, 8), 0);
  }
  sum += proto;
  sum += static_cast<uint32_t>(l4_len & 0xffff) + static_cast<uint32_t>(l4_len >> 16);
  return sum;
}

// Recomputes the transport checksum of `l4` (the whole segment) under the IP header `ip`.
void fix_l4_checksum(std::span<const uint8_t> ip, std::span<uint8_t> l4, bool v6, uint8_t proto) noexcept {
  size_t off = checksum_offset(proto, v6);
  if (off == 0 || !core::fits(l4, off, 2)) return;
  if (proto == kUdp && !v6 && core::load_be16(l4, off) == 0) return;  // "no checksum" stays so
  store_be16(l4, off, 0);
  uint16_t c = fold(sum_words(l4, pseudo_header_sum(ip, v6, proto, l4.size())));
  if (proto == kUdp && c == 0) c = 0xffff;  // 0 would mean "none"
  store_be16(l4, off, c);
}

}  // namespace

std::string_view to_string(RewriteStatus s) noexcept {
  switch (s) {
    case RewriteStatus::ok: return "ok";
    case RewriteStatus::not_ip: return "not_ip";
    case RewriteStatus::truncated: return "truncated";
    case RewriteStatus::bad_header: return "bad_header";
    case RewriteStatus::too_short: return "too_short";
  }
  return "unknown";
}

uint16_t internet_checksum(std::span<const uint8_t> bytes, uint32_t seed) noexcept {
  return fold(sum_words(bytes, seed));
}

bool FrameRewriter::map_address(const core::IpAddress& from, const core::IpAddress& to) {
  if (from.family() != to.family() || from.empty()) return false;
  for (auto& m : map_) {
    if (m.from == from) {
      m.to = to;
      return true;
    }
  }
  map_.push_back({from, to});
  return true;
}

const core::IpAddress* FrameRewriter::lookup(const uint8_t* p, bool v4) const noexcept {
  for (const auto& m : map_) {
    if (m.from.is_v4() != v4) continue;
    if (std::memcmp(m.from.bytes().data(), p, v4 ? 4 : 16) == 0) return &m.to;
  }
  return nullptr;
}

RewriteStatus FrameRewriter::rewrite(std::span<uint8_t> frame) const noexcept {
  if (frame.size() < kEthLen) return RewriteStatus::too_short;
  std::memcpy(frame.data(), dst_.bytes.data(), 6);
  std::memcpy(frame.data() + 6, src_.bytes.data(), 6);
  const uint16_t ether = core::load_be16(frame, 12);
  if (ether != kEtherIpv4 && ether != kEtherIpv6) return RewriteStatus::not_ip;
  std::span<uint8_t> ip = frame.subspan(kEthLen);
  const bool v6 = ether == kEtherIpv6;

  size_t hdr_len = 0, ip_len = 0;
  uint8_t proto = 0;
  bool fragment = false;
  if (!v6) {
    if (ip.size() < 20) return RewriteStatus::truncated;
    if ((ip[0] >> 4) != 4 || (ip[0] & 0x0f) < 5) return RewriteStatus::bad_header;
    hdr_len = size_t{ip[0] & 0x0fu} * 4;
    ip_len = core::load_be16(ip, 2);
    if (hdr_len > ip.size()) return RewriteStatus::truncated;
    if (ip_len < hdr_len) return RewriteStatus::bad_header;
    proto = ip[9];
    fragment = (core::load_be16(ip, 6) & 0x3fff) != 0;  // MF or an offset
  } else {
    if (ip.size() < 40) return RewriteStatus::truncated;
    if ((ip[0] >> 4) != 6) return RewriteStatus::bad_header;
    hdr_len = 40;
    ip_len = 40 + size_t{core::load_be16(ip, 4)};
    proto = ip[6];
  }

  bool changed = false;
  const size_t src_off = v6 ? 8 : 12, dst_off = v6 ? 24 : 16, alen = v6 ? 16 : 4;
  for (size_t off : {src_off, dst_off}) {
    if (const auto* to = lookup(ip.data() + off, !v6)) {
      std::memcpy(ip.data() + off, to->bytes().data(), alen);
      changed = true;
    }
  }
  if (!v6) {
    store_be16(ip, 10, 0);
    store_be16(ip, 10, internet_checksum(ip.first(hdr_len)));
  }
  if (ip_len > ip.size()) return RewriteStatus::truncated;
  if (changed && !fragment) fix_l4_checksum(ip, ip.subspan(hdr_len, ip_len - hdr_len), v6, proto);
  return RewriteStatus::ok;
}

bool checksums_valid(std::span<const uint8_t> frame) noexcept {
  if (frame.size() < kEthLen) return false;
  const uint16_t ether = core::load_be16(frame, 12);
  if (ether != kEtherIpv4 && ether != kEtherIpv6) return true;
  std::span<const uint8_t> ip = frame.subspan(kEthLen);
  const bool v6 = ether == kEtherIpv6;
  size_t hdr_len = 0, ip_len = 0;
  uint8_t proto = 0;
  if (!v6) {
    if (ip.size() < 20 || (ip[0] & 0x0f) < 5) return false;
    hdr_len = size_t{ip[0] & 0x0fu} * 4;
    ip_len = core::load_be16(ip, 2);
    if (hdr_len > ip.size() || ip_len < hdr_len || ip_len > ip.size()) return false;
    if (internet_checksum(ip.first(hdr_len)) != 0) return false;
    if ((core::load_be16(ip, 6) & 0x3fff) != 0) return true;  // fragment: no whole segment to check
    proto = ip[9];
  } else {
    if (ip.size() < 40) return false;
    hdr_len = 40;
    ip_len = 40 + size_t{core::load_be16(ip, 4)};
    if (ip_len > ip.size()) return false;
    proto = ip[6];
  }
  std::span<const uint8_t> l4 = ip.subspan(hdr_len, ip_len - hdr_len);
  if (proto == kIcmp && !v6) return internet_checksum(l4) == 0;
  size_t off = checksum_offset(proto, v6);
  if (off == 0) return true;
  if (!core::fits(l4, off, 2)) return false;
  if (proto == kUdp && !v6 && core::load_be16(l4, off) == 0) return true;
  return internet_checksum(l4, pseudo_header_sum(ip, v6, proto, l4.size())) == 0;
}

}  // namespace picket::demo
