// libFuzzer target for the packet decoders (src/decode). The first byte picks the link type
// (low nibble) and whether the wire length exceeds the capture, as with a snap length (high
// bit); the rest is the frame. Besides "no crash, no UB", it checks the PacketMeta flag
// invariants the detectors rely on.
#include <array>
#include <cstddef>
#include <cstdint>

#include "core/packet_meta.hpp"
#include "core/raw_packet.hpp"
#include "decode/anomaly.hpp"
#include "decode/decoder.hpp"

namespace {

namespace lt = picket::core::link_type;
namespace mf = picket::core::meta_flag;

constexpr std::array<int, 10> kLinkTypes = {
    lt::kEthernet, lt::kLinuxSll, lt::kLinuxSll2, lt::kNull, lt::kRaw,
    lt::kRawDlt12, lt::kRawDlt14, lt::kIpv4,      lt::kIpv6, 105 /* unsupported: 802.11 */,
};

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int link_type = kLinkTypes[(data[0] & 0x0F) % kLinkTypes.size()];
  const bool snapped = (data[0] & 0x80) != 0;
  picket::decode::Decoder decoder(link_type);

  picket::core::RawPacket raw;
  raw.data = data + 1;
  raw.cap_len = static_cast<uint32_t>(size - 1);
  raw.wire_len = snapped ? raw.cap_len + 1500 : raw.cap_len;
  raw.ifindex = 3;
  picket::core::PacketMeta meta;
  const picket::decode::Anomaly a = decoder.decode(raw, meta);

  check(static_cast<size_t>(a) < picket::decode::kAnomalyCount);
  check(picket::decode::anomaly_name(a) != "unknown");
  check(decoder.packets() == 1);
  check(meta.cap_len == raw.cap_len && meta.frame_len == raw.wire_len && meta.ifindex == 3);
  if (a == picket::decode::Anomaly::none) {
    check(decoder.non_ip() == (meta.has(mf::kHasIp) ? 0u : 1u));
  } else {
    check(decoder.anomaly_count(a) == 1 && decoder.non_ip() == 0);
  }
  if (meta.has(mf::kHasPorts)) check(meta.has(mf::kHasIp) && (meta.is_tcp() || meta.is_udp()));
  if (meta.has(mf::kLaterFragment)) check(meta.has(mf::kFragment) && !meta.has(mf::kHasPorts));
  if (meta.has(mf::kHasIcmp)) check(meta.has(mf::kHasIp) && meta.is_icmp());
  if (meta.has(mf::kHasInner)) check(meta.has(mf::kHasIcmp) && !meta.inner_src.empty());
  if (meta.has(mf::kInnerPorts)) check(meta.has(mf::kHasInner));
  if (!meta.has(mf::kHasIp)) check(meta.src.empty() && meta.ip_proto == 0);
  if (meta.has(mf::kHasIp)) check(meta.src.family() == meta.dst.family() && !meta.src.empty());
  return 0;
}
