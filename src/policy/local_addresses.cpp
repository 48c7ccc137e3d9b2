#include "policy/local_addresses.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace picket::policy {

namespace {

std::string read_file(const char* path) {
  std::ifstream f(path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool hex_u32(std::string_view s, uint32_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::vector<core::IpAddress> parse_proc_net_route(std::string_view text) {
  // Iface Destination Gateway Flags ... (hex, the address in host byte order of a little-endian
  // machine: 0101A8C0 is 192.168.1.1). A default route has destination and mask 0.
  std::vector<core::IpAddress> out;
  size_t pos = 0;
  bool header = true;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const auto f = fields(text.substr(pos, end - pos));
    pos = end + 1;
    if (header) {
      header = false;
      continue;
    }
    uint32_t dest = 0, gw = 0, mask = 0;
    if (f.size() < 8 || !hex_u32(f[1], dest) || !hex_u32(f[2], gw) || !hex_u32(f[7], mask)) continue;
    if (dest != 0 || mask != 0 || gw == 0) continue;
    const uint8_t bytes[4] = {static_cast<uint8_t>(gw), static_cast<uint8_t>(gw >> 8), static_cast<uint8_t>(gw >> 16),
                              static_cast<uint8_t>(gw >> 24)};
    out.push_back(core::IpAddress::v4_bytes(bytes));
  }
  return out;
}

std::vector<core::IpAddress> parse_proc_net_ipv6_route(std::string_view text) {
  // dest(32 hex) dest_len(2) src(32) src_len(2) next_hop(32) metric refcnt use flags iface
  std::vector<core::IpAddress> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const auto f = fields(text.substr(pos, end - pos));
    pos = end + 1;
    if (f.size() < 5 || f[0].size() != 32 || f[4].size() != 32 || f[1] != "00") continue;
    if (f[0] != std::string_view("00000000000000000000000000000000")) continue;
    uint8_t hop[16];
    bool ok = true;
    for (size_t i = 0; i < 16 && ok; ++i) {
      uint32_t b = 0;
      ok = hex_u32(f[4].substr(i * 2, 2), b);
      hop[i] = static_cast<uint8_t>(b);
    }
    if (!ok || std::all_of(hop, hop + 16, [](uint8_t b) { return b == 0; })) continue;
    out.push_back(core::IpAddress::v6_bytes(hop));
  }
  return out;
}

std::vector<core::Prefix> local_addresses() {
  std::vector<core::Prefix> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr) continue;
      if (i->ifa_addr->sa_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
        const auto a = core::IpAddress::v4_bytes(reinterpret_cast<const uint8_t*>(&sin->sin_addr));
        out.emplace_back(a, 32);
      } else if (i->ifa_addr->sa_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
        const auto a = core::IpAddress::v6_bytes(sin6->sin6_addr.s6_addr);
        out.emplace_back(a, 128);
      }
    }
    freeifaddrs(list);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<core::Prefix> local_addresses_and_gateways() {
  std::vector<core::Prefix> out = local_addresses();
  for (const auto& g : parse_proc_net_route(read_file("/proc/net/route"))) out.emplace_back(g, 32);
  for (const auto& g : parse_proc_net_ipv6_route(read_file("/proc/net/ipv6_route"))) out.emplace_back(g, 128);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace picket::policy
