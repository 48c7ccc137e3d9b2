#include "demo/frame_rewrite.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "core/bytes.hpp"
#include "core/packet_meta.hpp"
#include "sim/packet_builder.hpp"

namespace picket::demo {
namespace {

using core::IpAddress;

const IpAddress kSim4 = *IpAddress::parse("198.19.0.40");
const IpAddress kVictim4 = *IpAddress::parse("198.18.0.10");
const IpAddress kReal4 = *IpAddress::parse("198.19.7.7");
const IpAddress kRealVictim4 = *IpAddress::parse("198.18.9.9");
const IpAddress kSim6 = *IpAddress::parse("2001:db8:1::28");
const IpAddress kVictim6 = *IpAddress::parse("2001:db8::a");
const IpAddress kReal6 = *IpAddress::parse("2001:db8:7::7");
const sim::MacAddress kSrcMac{{0x02, 0x70, 0x6b, 0, 0, 0x28}};
const sim::MacAddress kDstMac{{0x02, 0x70, 0x6b, 0, 0, 0x0a}};

struct Case {
  const char* name;
  std::function<std::vector<uint8_t>()> build;
  bool v6;
  bool map_src;
  bool map_dst;
};

std::vector<uint8_t> tcp4() {
  return sim::PacketBuilder().ipv4(kSim4, kVictim4).tcp(40000, 80, core::tcp_flag::kSyn).payload_size(7).build();
}
std::vector<uint8_t> udp4() {
  return sim::PacketBuilder().ipv4(kSim4, kVictim4).udp(5353, 53).payload_size(33).build();
}
std::vector<uint8_t> icmp4() { return sim::PacketBuilder().ipv4(kSim4, kVictim4).icmp(8, 0, 0x00010001).build(); }
std::vector<uint8_t> tcp6() {
  return sim::PacketBuilder().ipv6(kSim6, kVictim6).tcp(40000, 443, core::tcp_flag::kSyn).build();
}
std::vector<uint8_t> udp6() { return sim::PacketBuilder().ipv6(kSim6, kVictim6).udp(40000, 123).payload_size(48).build(); }
std::vector<uint8_t> icmp6() { return sim::PacketBuilder().ipv6(kSim6, kVictim6).icmp(128, 0, 7).build(); }

class RewriteCases : public ::testing::TestWithParam<Case> {};

TEST_P(RewriteCases, AddressesMacsAndChecksums) {
  const Case& c = GetParam();
  std::vector<uint8_t> f = c.build();
  ASSERT_TRUE(checksums_valid(f)) << "builder frame";
  FrameRewriter rw(kSrcMac, kDstMac);
  if (c.map_src) {
    ASSERT_TRUE(rw.map_address(c.v6 ? kSim6 : kSim4, c.v6 ? kReal6 : kReal4));
  }
  if (c.map_dst && !c.v6) {
    ASSERT_TRUE(rw.map_address(kVictim4, kRealVictim4));
  }
  ASSERT_EQ(rw.rewrite(f), RewriteStatus::ok);
  EXPECT_TRUE(std::equal(kDstMac.bytes.begin(), kDstMac.bytes.end(), f.begin()));
  EXPECT_TRUE(std::equal(kSrcMac.bytes.begin(), kSrcMac.bytes.end(), f.begin() + 6));
  const size_t src_off = 14 + (c.v6 ? 8 : 12);
  const size_t dst_off = 14 + (c.v6 ? 24 : 16);
  IpAddress src = c.v6 ? IpAddress::v6_bytes(f.data() + src_off) : IpAddress::v4_bytes(f.data() + src_off);
  IpAddress dst = c.v6 ? IpAddress::v6_bytes(f.data() + dst_off) : IpAddress::v4_bytes(f.data() + dst_off);
  EXPECT_EQ(src, c.map_src ? (c.v6 ? kReal6 : kReal4) : (c.v6 ? kSim6 : kSim4));
  EXPECT_EQ(dst, c.map_dst && !c.v6 ? kRealVictim4 : (c.v6 ? kVictim6 : kVictim4));
  EXPECT_TRUE(checksums_valid(f));
}

INSTANTIATE_TEST_SUITE_P(
    Frames, RewriteCases,
    ::testing::Values(Case{"tcp4_src", tcp4, false, true, false}, Case{"tcp4_both", tcp4, false, true, true},
                      Case{"tcp4_none", tcp4, false, false, false}, Case{"udp4_src", udp4, false, true, false},
                      Case{"udp4_both", udp4, false, true, true}, Case{"icmp4_src", icmp4, false, true, false},
                      Case{"tcp6_src", tcp6, true, true, false}, Case{"udp6_src", udp6, true, true, false},
                      Case{"icmp6_src", icmp6, true, true, false}, Case{"icmp6_none", icmp6, true, false, false}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(FrameRewrite, ChecksumCheckCatchesCorruption) {
  // The checker must be able to say no, or the tests above prove nothing.
  for (auto build : {tcp4, udp4, icmp4, tcp6, udp6, icmp6}) {
    std::vector<uint8_t> f = build();
    ASSERT_TRUE(checksums_valid(f));
    f.back() ^= 0x5a;
    EXPECT_FALSE(checksums_valid(f));
  }
  std::vector<uint8_t> f = tcp4();
  f[14 + 8] ^= 1;  // TTL: the IPv4 header checksum breaks
  EXPECT_FALSE(checksums_valid(f));
}

TEST(FrameRewrite, WithoutRewriteAddressChangeBreaksChecksum) {
  std::vector<uint8_t> f = tcp4();
  f[14 + 12] = 10;  // change the source address by hand
  EXPECT_FALSE(checksums_valid(f));
  FrameRewriter rw(kSrcMac, kDstMac);
  ASSERT_TRUE(rw.map_address(*IpAddress::parse("10.19.0.40"), kReal4));
  EXPECT_EQ(rw.rewrite(f), RewriteStatus::ok);
  EXPECT_TRUE(checksums_valid(f));
}

TEST(FrameRewrite, UdpZeroChecksumStaysZero) {
  std::vector<uint8_t> f = udp4();
  f[14 + 20 + 6] = 0;
  f[14 + 20 + 7] = 0;
  FrameRewriter rw(kSrcMac, kDstMac);
  ASSERT_TRUE(rw.map_address(kSim4, kReal4));
  ASSERT_EQ(rw.rewrite(f), RewriteStatus::ok);
  EXPECT_EQ(core::load_be16(f, 14 + 20 + 6), 0);
  EXPECT_TRUE(checksums_valid(f));
}

TEST(FrameRewrite, MismatchedFamiliesAreRefused) {
  FrameRewriter rw(kSrcMac, kDstMac);
  EXPECT_FALSE(rw.map_address(kSim4, kReal6));
  EXPECT_FALSE(rw.map_address(IpAddress(), kReal4));
  std::vector<uint8_t> f = tcp4();
  const std::vector<uint8_t> before = f;
  EXPECT_EQ(rw.rewrite(f), RewriteStatus::ok);
  EXPECT_TRUE(std::equal(before.begin() + 12, before.end(), f.begin() + 12));  // only MACs changed
}

struct BadCase {
  const char* name;
  std::function<std::vector<uint8_t>()> build;
  RewriteStatus expected;
  bool macs_written;
};

class BadFrames : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadFrames, ReportedNotCrashed) {
  const BadCase& c = GetParam();
  std::vector<uint8_t> f = c.build();
  FrameRewriter rw(kSrcMac, kDstMac);
  ASSERT_TRUE(rw.map_address(kSim4, kReal4));
  EXPECT_EQ(rw.rewrite(f), c.expected) << to_string(rw.rewrite(f));
  if (c.macs_written) {
    EXPECT_TRUE(std::equal(kDstMac.bytes.begin(), kDstMac.bytes.end(), f.begin()));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Frames, BadFrames,
    ::testing::Values(
        BadCase{"empty", [] { return std::vector<uint8_t>{}; }, RewriteStatus::too_short, false},
        BadCase{"thirteen_bytes", [] { return std::vector<uint8_t>(13, 0xff); }, RewriteStatus::too_short, false},
        BadCase{"arp",
                [] {
                  auto f = std::vector<uint8_t>(42, 0);
                  f[12] = 0x08;
                  f[13] = 0x06;
                  return f;
                },
                RewriteStatus::not_ip, true},
        BadCase{"ip_header_cut",
                [] {
                  auto f = tcp4();
                  f.resize(14 + 12);
                  return f;
                },
                RewriteStatus::truncated, true},
        BadCase{"segment_cut",
                [] {
                  auto f = tcp4();
                  f.resize(f.size() - 5);
                  return f;
                },
                RewriteStatus::truncated, true},
        BadCase{"ihl_below_five",
                [] {
                  auto f = tcp4();
                  f[14] = 0x44;
                  return f;
                },
                RewriteStatus::bad_header, true},
        BadCase{"wrong_version",
                [] {
                  auto f = tcp4();
                  f[14] = 0x65;
                  return f;
                },
                RewriteStatus::bad_header, true},
        BadCase{"total_length_below_header",
                [] {
                  auto f = tcp4();
                  f[14 + 2] = 0;
                  f[14 + 3] = 10;
                  return f;
                },
                RewriteStatus::bad_header, true},
        BadCase{"ipv6_header_cut",
                [] {
                  auto f = tcp6();
                  f.resize(14 + 30);
                  return f;
                },
                RewriteStatus::truncated, true}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(FrameRewrite, FragmentKeepsTransportBytes) {
  std::vector<uint8_t> f =
      sim::PacketBuilder().ipv4(kSim4, kVictim4).ipv4_fragment(0, true).udp(1, 2).payload_size(64).build();
  const std::vector<uint8_t> l4(f.begin() + 34, f.end());
  FrameRewriter rw(kSrcMac, kDstMac);
  ASSERT_TRUE(rw.map_address(kSim4, kReal4));
  ASSERT_EQ(rw.rewrite(f), RewriteStatus::ok);
  EXPECT_TRUE(std::equal(l4.begin(), l4.end(), f.begin() + 34));
  EXPECT_EQ(internet_checksum({f.data() + 14, 20}), 0);
}

}  // namespace
}  // namespace picket::demo
