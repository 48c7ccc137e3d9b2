// Helpers shared by the decoder tests (test-only).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/packet_meta.hpp"
#include "core/raw_packet.hpp"
#include "decode/decoder.hpp"
#include "sim/packet_builder.hpp"

namespace picket::decode::testing {

using core::IpAddress;
using core::PacketMeta;
using sim::FrameLayout;
using sim::PacketBuilder;

inline const IpAddress kSrc4 = *IpAddress::parse("198.18.0.1");
inline const IpAddress kDst4 = *IpAddress::parse("198.19.0.2");
inline const IpAddress kSrc6 = *IpAddress::parse("2001:db8::1");
inline const IpAddress kDst6 = *IpAddress::parse("2001:db8::2");
inline const core::Timestamp kTs = core::Timestamp::from_parts(1'700'000'000, 123'456'789);
inline constexpr uint32_t kIfindex = 7;

struct Frame {
  std::vector<uint8_t> bytes;
  FrameLayout layout;
};

inline Frame build(const PacketBuilder& b) {
  Frame f;
  b.build_into(f.bytes, &f.layout);
  return f;
}

// Decodes `bytes` with cap_len = min(cap, size) and wire_len = wire (0: the frame's size).
inline Anomaly run(Decoder& dec, const std::vector<uint8_t>& bytes, PacketMeta& out,
                   size_t cap = SIZE_MAX, size_t wire = 0) {
  core::RawPacket raw;
  raw.ts = kTs;
  raw.data = bytes.data();
  raw.cap_len = static_cast<uint32_t>(std::min(cap, bytes.size()));
  raw.wire_len = static_cast<uint32_t>(wire != 0 ? wire : bytes.size());
  raw.ifindex = kIfindex;
  return dec.decode(raw, out);
}

inline void set16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  f.at(at) = static_cast<uint8_t>(v >> 8);
  f.at(at + 1) = static_cast<uint8_t>(v);
}

// Every field of PacketMeta, one by one, so a failure names the field.
inline void expect_meta_eq(const PacketMeta& got, const PacketMeta& want) {
  EXPECT_EQ(got.ts, want.ts);
  EXPECT_EQ(got.src, want.src) << got.src.to_string();
  EXPECT_EQ(got.dst, want.dst) << got.dst.to_string();
  EXPECT_EQ(got.inner_src, want.inner_src) << got.inner_src.to_string();
  EXPECT_EQ(got.inner_dst, want.inner_dst) << got.inner_dst.to_string();
  EXPECT_EQ(got.frame_len, want.frame_len);
  EXPECT_EQ(got.cap_len, want.cap_len);
  EXPECT_EQ(got.tcp_seq, want.tcp_seq);
  EXPECT_EQ(got.tcp_ack, want.tcp_ack);
  EXPECT_EQ(got.ifindex, want.ifindex);
  EXPECT_EQ(got.ip_len, want.ip_len);
  EXPECT_EQ(got.payload_len, want.payload_len);
  EXPECT_EQ(got.src_port, want.src_port);
  EXPECT_EQ(got.dst_port, want.dst_port);
  EXPECT_EQ(got.inner_src_port, want.inner_src_port);
  EXPECT_EQ(got.inner_dst_port, want.inner_dst_port);
  EXPECT_EQ(got.tcp_window, want.tcp_window);
  EXPECT_EQ(got.vlan_id, want.vlan_id);
  EXPECT_EQ(got.flags, want.flags) << std::hex << "got 0x" << got.flags << " want 0x" << want.flags;
  EXPECT_EQ(got.ip_proto, want.ip_proto);
  EXPECT_EQ(got.inner_proto, want.inner_proto);
  EXPECT_EQ(got.tcp_flags, want.tcp_flags);
  EXPECT_EQ(got.icmp_type, want.icmp_type);
  EXPECT_EQ(got.icmp_code, want.icmp_code);
  EXPECT_EQ(got.ttl, want.ttl);
  EXPECT_EQ(got.direction, want.direction);
}

}  // namespace picket::decode::testing
