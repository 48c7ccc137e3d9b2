#include "sim/packet_builder.hpp"

#include <gtest/gtest.h>

#include "core/bytes.hpp"
#include "core/packet_meta.hpp"

namespace picket::sim {
namespace {

using core::IpAddress;
using core::load_be16;

const IpAddress kSrc4 = *IpAddress::parse("198.18.0.1");
const IpAddress kDst4 = *IpAddress::parse("198.19.0.2");
const IpAddress kSrc6 = *IpAddress::parse("2001:db8::1");
const IpAddress kDst6 = *IpAddress::parse("2001:db8::2");

// Sums a transport segment with its pseudo header; a correct checksum gives 0.
uint16_t verify_l4(const std::vector<uint8_t>& f, size_t ip, size_t l4, bool v6, uint8_t proto) {
  uint32_t pseudo = 0;
  const size_t alen = v6 ? 16 : 4;
  const size_t src = ip + (v6 ? 8 : 12);
  for (size_t i = 0; i < 2 * alen; i += 2) pseudo += (uint32_t{f[src + i]} << 8) | f[src + i + 1];
  const size_t len = f.size() - l4;
  pseudo += proto + static_cast<uint32_t>(len);
  return internet_checksum({f.data() + l4, len}, pseudo);
}

TEST(PacketBuilder, Ipv4TcpHasCorrectLengthsAndChecksums) {
  FrameLayout lay;
  std::vector<uint8_t> f;
  PacketBuilder().ipv4(kSrc4, kDst4).tcp(40000, 80, core::tcp_flag::kSyn).payload_size(10).build_into(f, &lay);
  ASSERT_EQ(lay.network, 14u);
  ASSERT_EQ(lay.transport, 34u);
  ASSERT_EQ(lay.payload, 54u);
  EXPECT_EQ(f.size(), 64u);
  EXPECT_EQ(load_be16(f, 12), 0x0800);
  EXPECT_EQ(load_be16(f, 16), 50);  // total length
  EXPECT_EQ(internet_checksum({f.data() + 14, 20}), 0);
  EXPECT_EQ(verify_l4(f, 14, 34, false, 6), 0);
  EXPECT_EQ(f[34 + 13], core::tcp_flag::kSyn);
}

TEST(PacketBuilder, Ipv6WithExtensionsAndUdp) {
  FrameLayout lay;
  std::vector<uint8_t> f;
  PacketBuilder().vlan(7).ipv6(kSrc6, kDst6).ipv6_extension(0).ipv6_extension(60, 14).udp(5353, 53).payload_size(3)
      .build_into(f, &lay);
  EXPECT_EQ(load_be16(f, 12), 0x8100);
  EXPECT_EQ(load_be16(f, 16), 0x86DD);
  ASSERT_EQ(lay.network, 18u);
  EXPECT_EQ(f[18 + 6], 0);            // next header: hop-by-hop
  EXPECT_EQ(f[58], 60);               // hop-by-hop's next: destination options
  EXPECT_EQ(lay.transport, 18u + 40 + 8 + 16);
  EXPECT_EQ(f[66], 17);               // destination options' next: UDP
  EXPECT_EQ(load_be16(f, 18 + 4), f.size() - 18 - 40);
  EXPECT_EQ(verify_l4(f, 18, lay.transport, true, 17), 0);
}

TEST(PacketBuilder, QinQUsesOuterTpid) {
  auto f = PacketBuilder().vlan(100).vlan(200).ipv4(kSrc4, kDst4).udp(1, 2).build();
  EXPECT_EQ(load_be16(f, 12), 0x88A8);
  EXPECT_EQ(load_be16(f, 14) & 0x0FFF, 100);
  EXPECT_EQ(load_be16(f, 16), 0x8100);
  EXPECT_EQ(load_be16(f, 18) & 0x0FFF, 200);
  EXPECT_EQ(load_be16(f, 20), 0x0800);
}

TEST(PacketBuilder, IcmpErrorQuotesInnerDatagram) {
  auto inner = PacketBuilder().raw_ip().ipv4(kDst4, kSrc4).udp(33000, 161).build();
  FrameLayout lay;
  std::vector<uint8_t> f;
  PacketBuilder().ipv4(kSrc4, kDst4).icmp(3, 3).quote(inner).build_into(f, &lay);
  EXPECT_EQ(f[lay.transport], 3);
  EXPECT_EQ(lay.payload, lay.transport + 8);
  EXPECT_EQ(internet_checksum({f.data() + lay.transport, f.size() - lay.transport}), 0);
  EXPECT_TRUE(std::equal(inner.begin(), inner.end(), f.begin() + static_cast<long>(lay.payload)));
}

TEST(PacketBuilder, LaterFragmentCarriesNoTransportHeader) {
  FrameLayout lay;
  std::vector<uint8_t> f;
  PacketBuilder().raw_ip().ipv4(kSrc4, kDst4).ipv4_fragment(1480, false).tcp(1, 2, 0).payload_size(8).build_into(f, &lay);
  EXPECT_EQ(f.size(), 28u);
  EXPECT_EQ(load_be16(f, 6) & 0x1FFF, 1480 / 8);
  EXPECT_EQ(lay.transport, FrameLayout::npos);
}

TEST(PacketBuilder, LinkTypes) {
  EXPECT_EQ(PacketBuilder().linux_sll().ipv4(kSrc4, kDst4).build().size(), 16u + 20);
  EXPECT_EQ(PacketBuilder().linux_sll2().ipv6(kSrc6, kDst6).build().size(), 20u + 40);
  EXPECT_EQ(PacketBuilder().null_loopback().link_type(), core::link_type::kNull);
  EXPECT_EQ(PacketBuilder().raw_ip().link_type(), core::link_type::kRaw);
}

}  // namespace
}  // namespace picket::sim
