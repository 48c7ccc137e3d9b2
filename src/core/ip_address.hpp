// IpAddress and Prefix: IPv4 and IPv6 as one value type, cheap to copy and hash.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace picket::core {

enum class Family : uint8_t { none = 0, v4 = 4, v6 = 6 };

class IpAddress {
 public:
  constexpr IpAddress() noexcept = default;

  // host_order: 198.18.0.1 is 0xC6120001.
  static IpAddress v4(uint32_t host_order) noexcept {
    IpAddress a;
    a.family_ = Family::v4;
    a.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
    a.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
    a.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
    a.bytes_[3] = static_cast<uint8_t>(host_order);
    return a;
  }
  // Four bytes in network order.
  static IpAddress v4_bytes(const uint8_t* p) noexcept {
    IpAddress a;
    a.family_ = Family::v4;
    std::memcpy(a.bytes_.data(), p, 4);
    return a;
  }
  // Sixteen bytes in network order.
  static IpAddress v6_bytes(const uint8_t* p) noexcept {
    IpAddress a;
    a.family_ = Family::v6;
    std::memcpy(a.bytes_.data(), p, 16);
    return a;
  }

  // In-place versions of v4_bytes / v6_bytes for the decoder's hot path (no temporary).
  void assign_v4(const uint8_t* p) noexcept {
    std::memcpy(bytes_.data(), p, 4);
    std::memset(bytes_.data() + 4, 0, 12);
    family_ = Family::v4;
  }
  void assign_v6(const uint8_t* p) noexcept {
    std::memcpy(bytes_.data(), p, 16);
    family_ = Family::v6;
  }

  // Accepts dotted quads and RFC 4291 text (with "::", and an embedded IPv4 tail).
  static std::optional<IpAddress> parse(std::string_view text);
  std::string to_string() const;

  Family family() const noexcept { return family_; }
  bool is_v4() const noexcept { return family_ == Family::v4; }
  bool is_v6() const noexcept { return family_ == Family::v6; }
  bool empty() const noexcept { return family_ == Family::none; }
  uint32_t v4_host_order() const noexcept {
    return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) |
           uint32_t{bytes_[3]};
  }
  const std::array<uint8_t, 16>& bytes() const noexcept { return bytes_; }
  int bit_width() const noexcept { return family_ == Family::v6 ? 128 : 32; }

  // The address with all bits past `len` cleared.
  IpAddress masked(int len) const noexcept;

  // A fast, well-mixed hash (used for sharding and hash tables).
  uint64_t hash() const noexcept {
    uint64_t lo, hi;
    std::memcpy(&lo, bytes_.data(), 8);
    std::memcpy(&hi, bytes_.data() + 8, 8);
    return finish_hash(lo, hi, family_);
  }

  // hash() of the IPv4 address whose four bytes, in memory order, `raw` holds (memcpy'd from a
  // packet): for prefetching without building the address.
  static uint64_t hash_v4(uint32_t raw) noexcept { return finish_hash(uint64_t{raw}, 0, Family::v4); }

  friend bool operator==(const IpAddress& a, const IpAddress& b) noexcept {
    // Two 64-bit compares: this sits on every hash-table probe of the packet path.
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a.bytes_.data(), 8);
    std::memcpy(&a1, a.bytes_.data() + 8, 8);
    std::memcpy(&b0, b.bytes_.data(), 8);
    std::memcpy(&b1, b.bytes_.data() + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0 && a.family_ == b.family_;
  }
  static uint64_t finish_hash(uint64_t lo, uint64_t hi, Family family) noexcept {
    uint64_t h = lo * 0x9E3779B97F4A7C15ULL ^ (hi + static_cast<uint64_t>(family)) * 0xC2B2AE3D27D4EB4FULL;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 32;
    return h;
  }

  friend auto operator<=>(const IpAddress& a, const IpAddress& b) noexcept {
    if (auto c = a.family_ <=> b.family_; c != 0) return c;
    return a.bytes_ <=> b.bytes_;
  }

 private:
  std::array<uint8_t, 16> bytes_{};  // IPv4 uses the first four bytes; the rest stay zero
  Family family_ = Family::none;
};

struct IpAddressHash {
  size_t operator()(const IpAddress& a) const noexcept { return a.hash(); }
};

class Prefix {
 public:
  Prefix() = default;
  // The address is masked to `len` bits.
  Prefix(const IpAddress& addr, int len) noexcept
      : addr_(addr.masked(len)), len_(static_cast<uint8_t>(len)) {}

  // "198.18.0.0/15", "2001:db8::/32", or a bare address (a host prefix).
  // Host bits past the length are rejected unless `allow_host_bits` (then they are masked).
  static std::optional<Prefix> parse(std::string_view text, bool allow_host_bits = false);
  std::string to_string() const;

  const IpAddress& address() const noexcept { return addr_; }
  int length() const noexcept { return len_; }
  bool is_host() const noexcept { return len_ == addr_.bit_width(); }
  bool contains(const IpAddress& a) const noexcept {
    return a.family() == addr_.family() && a.masked(len_) == addr_;
  }

  friend bool operator==(const Prefix&, const Prefix&) noexcept = default;
  friend auto operator<=>(const Prefix& a, const Prefix& b) noexcept {
    if (auto c = a.addr_ <=> b.addr_; c != 0) return c;
    return a.len_ <=> b.len_;
  }

 private:
  IpAddress addr_;
  uint8_t len_ = 0;
};

}  // namespace picket::core
