#include "sim/address_plan.hpp"

#include <array>

namespace picket::sim {
namespace {

std::array<uint8_t, 16> mapped_bytes(uint32_t a) noexcept {
  std::array<uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8};
  b[5] = static_cast<uint8_t>(((a >> 16) & 0xFF) - 18);  // S: 0 for 198.18, 1 for 198.19
  b[7] = static_cast<uint8_t>(a >> 8);                   // C
  b[15] = static_cast<uint8_t>(a);                       // D
  return b;
}

}  // namespace

core::IpAddress AddressPlan::addr(uint32_t plan_addr) const noexcept {
  if (!v6_) return core::IpAddress::v4(plan_addr);
  const auto b = mapped_bytes(plan_addr);
  return core::IpAddress::v6_bytes(b.data());
}

core::IpAddress AddressPlan::spoofed(uint32_t i, uint64_t iid) const noexcept {
  const uint32_t a = plan::spoofed(i % plan::kSpoofCount);
  if (!v6_) return core::IpAddress::v4(a);
  auto b = mapped_bytes(a);
  for (int k = 0; k < 8; ++k) b[8 + k] = static_cast<uint8_t>(iid >> (56 - 8 * k));
  return core::IpAddress::v6_bytes(b.data());
}

core::Prefix AddressPlan::prefix(uint32_t plan_addr, int v4_len, int v6_len) const noexcept {
  return v6_ ? core::Prefix(addr(plan_addr), v6_len) : core::Prefix(addr(plan_addr), v4_len);
}

core::Prefix AddressPlan::spoof_range() const noexcept { return prefix(plan::ip(198, 18, 0, 0), 15, 32); }

MacAddress AddressPlan::mac_for(const core::IpAddress& a) noexcept {
  const auto& b = a.bytes();
  bool lan = false;
  uint8_t host = 0;
  if (a.is_v4()) {
    lan = b[0] == 198 && b[1] == 18 && b[2] == 0;
    host = b[3];
  } else {
    lan = b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 && b[4] == 0 && b[5] == 0 && b[6] == 0 &&
          b[7] == 0;
    host = b[15];
  }
  // 02:... is a locally administered unicast address; the gateway is host 1.
  return MacAddress{{0x02, 0x00, 0x5e, 0x10, 0x00, lan ? host : static_cast<uint8_t>(1)}};
}

}  // namespace picket::sim
