// RawPacket: one captured frame as a packet source hands it over. The bytes belong to the
// source and stay valid until its next read.
#pragma once

#include <cstdint>

#include "core/time.hpp"

namespace picket::core {

// libpcap LINKTYPE_* numbers picket decodes.
namespace link_type {
inline constexpr int kNull = 0;         // BSD loopback (4-byte host-order family)
inline constexpr int kEthernet = 1;
inline constexpr int kRaw = 101;        // raw IPv4/IPv6 (LINKTYPE_RAW)
inline constexpr int kRawDlt12 = 12;    // DLT_RAW on most platforms
inline constexpr int kRawDlt14 = 14;    // DLT_RAW on OpenBSD
inline constexpr int kLinuxSll = 113;
inline constexpr int kIpv4 = 228;
inline constexpr int kIpv6 = 229;
inline constexpr int kLinuxSll2 = 276;
}  // namespace link_type

struct RawPacket {
  Timestamp ts;
  const uint8_t* data = nullptr;
  uint32_t cap_len = 0;
  uint32_t wire_len = 0;
  uint32_t ifindex = 0;
};

}  // namespace picket::core
