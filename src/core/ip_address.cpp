#include "core/ip_address.hpp"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/format.h>

namespace picket::core {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  if (text.find('\0') != std::string_view::npos) return std::nullopt;  // inet_pton would stop there
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t raw[16];
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, raw) == 1) return v4_bytes(raw);
    return std::nullopt;
  }
  if (inet_pton(AF_INET6, buf, raw) == 1) return v6_bytes(raw);
  return std::nullopt;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  switch (family_) {
    case Family::v4:
      return fmt::format("{}.{}.{}.{}", bytes_[0], bytes_[1], bytes_[2], bytes_[3]);
    case Family::v6:
      if (inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf) != nullptr) return buf;
      return "?";
    case Family::none:
      break;
  }
  return "";
}

IpAddress IpAddress::masked(int len) const noexcept {
  IpAddress out = *this;
  const int width = bit_width();
  if (len >= width) return out;
  if (len < 0) len = 0;
  const int full = len / 8;
  const int rem = len % 8;
  int i = full;
  if (rem != 0) {
    out.bytes_[static_cast<size_t>(i)] &= static_cast<uint8_t>(0xFF << (8 - rem));
    ++i;
  }
  for (; i < 16; ++i) out.bytes_[static_cast<size_t>(i)] = 0;
  return out;
}

std::optional<Prefix> Prefix::parse(std::string_view text, bool allow_host_bits) {
  auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  int len = addr->bit_width();
  if (slash != std::string_view::npos) {
    auto num = text.substr(slash + 1);
    if (num.empty() || num.size() > 3) return std::nullopt;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), len);
    if (ec != std::errc{} || ptr != num.data() + num.size()) return std::nullopt;
    if (len < 0 || len > addr->bit_width()) return std::nullopt;
  }
  Prefix p(*addr, len);
  if (!allow_host_bits && p.address() != *addr) return std::nullopt;
  return p;
}

std::string Prefix::to_string() const { return fmt::format("{}/{}", addr_.to_string(), len_); }

}  // namespace picket::core
