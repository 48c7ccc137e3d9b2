#include "daemon/top_talkers.hpp"

#include <gtest/gtest.h>

namespace picket::daemon {
namespace {

core::IpAddress ip(const char* s) { return *core::IpAddress::parse(s); }

TEST(SpaceSaving, FindsTheHeavyHittersAmongManyLightOnes) {
  SpaceSaving ss(64);  // guarantees every source above N/64 (here ~120 of ~7,750) is kept
  // Three heavy sources among 5,000 one-off (spoofed-looking) ones, interleaved.
  for (int i = 0; i < 5000; ++i) {
    ss.add(core::IpAddress::v4(0xC6130000u + static_cast<uint32_t>(i)));  // 198.19.x.y, once each
    if (i % 5 == 0) ss.add(ip("198.18.0.1"));
    if (i % 10 == 0) ss.add(ip("198.18.0.2"));
    if (i % 20 == 0) ss.add(ip("2001:db8::3"));
  }
  auto top = ss.top(3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].first, ip("198.18.0.1"));
  EXPECT_EQ(top[1].first, ip("198.18.0.2"));
  EXPECT_EQ(top[2].first, ip("2001:db8::3"));
  EXPECT_GE(top[0].second, 1000u);  // never under-counted
}

TEST(TopTalkers, CountsPacketsAndSynsPerWindowScaledBySampling) {
  TopTalkers t;
  core::PacketMeta syn;
  syn.src = ip("198.18.0.9");
  syn.ip_proto = 6;
  syn.tcp_flags = 0x02;
  core::PacketMeta synack = syn;
  synack.src = ip("198.18.0.10");
  synack.tcp_flags = 0x12;
  const core::Timestamp t0 = core::Timestamp::from_parts(1'800'000'000, 0);
  int sampled = 0;
  for (int i = 0; i < 800; ++i) {
    if (!t.sample()) continue;
    t.add(sampled++ % 2 == 0 ? syn : synack, t0 + core::Duration::millis(i));
  }
  EXPECT_EQ(sampled, 800 / static_cast<int>(TopTalkers::kSampleEvery));
  EXPECT_TRUE(t.by_packets().empty());  // the window has not ended yet
  t.roll(t0 + TopTalkers::kWindow + core::Duration::seconds(1));
  ASSERT_EQ(t.by_packets().size(), 2u);
  ASSERT_EQ(t.by_syns().size(), 1u);  // a SYN-ACK is not a SYN
  EXPECT_EQ(t.by_syns()[0].first, ip("198.18.0.9"));
  EXPECT_EQ(t.by_syns()[0].second, 400u);  // 50 sampled x 8
}

}  // namespace
}  // namespace picket::daemon
