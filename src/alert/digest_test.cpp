#include "alert/digest.hpp"

#include <gtest/gtest.h>

#include "alert/test_support.hpp"

namespace picket::alert {
namespace {

using core::Duration;
using core::Timestamp;
using testing::make_alert;
using testing::make_decision;

TEST(RateLimiter, SlidingMinute) {
  RateLimiter r(3);
  Timestamp t0{1'000'000'000'000};
  // Three in the first seconds pass, the fourth is refused until the first is 60 s old.
  EXPECT_TRUE(r.try_acquire(t0));
  EXPECT_TRUE(r.try_acquire(t0 + Duration::seconds(10)));
  EXPECT_TRUE(r.try_acquire(t0 + Duration::seconds(20)));
  EXPECT_FALSE(r.try_acquire(t0 + Duration::seconds(30)));
  EXPECT_FALSE(r.try_acquire(t0 + Duration::seconds(59)));
  EXPECT_TRUE(r.try_acquire(t0 + Duration::seconds(60)));
  EXPECT_FALSE(r.try_acquire(t0 + Duration::seconds(61)));
  EXPECT_TRUE(r.try_acquire(t0 + Duration::seconds(70)));
}

TEST(DigestBuilder, CountsPerDetectorAndSource) {
  DigestBuilder b(Duration::seconds(60));
  Timestamp now{5'000'000'000};
  EXPECT_TRUE(b.empty());
  // 30 port_scan alerts from 20 sources (10.0.0.1 sends 11), 7 syn_flood from one, 2 decisions.
  for (int i = 0; i < 20; ++i) b.add(make_alert("port_scan", "10.0.0." + std::to_string(i + 1), 2), now);
  for (int i = 0; i < 10; ++i) b.add(make_alert("port_scan", "10.0.0.1", 3), now);
  for (int i = 0; i < 7; ++i) b.add(make_alert("syn_flood", "192.0.2.9", 1), now);
  b.add(make_decision("syn_flood", "192.0.2.9"), now);
  b.add(make_decision("syn_flood", "192.0.2.9"), now);
  EXPECT_FALSE(b.empty());
  EXPECT_EQ(b.due(), now + Duration::seconds(60));

  Digest g = b.take(Timestamp{42});
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(g.alerts, 37u);
  EXPECT_EQ(g.decisions, 2u);
  EXPECT_EQ(g.highest_severity, 1);
  EXPECT_EQ(g.distinct_sources, 21u);
  EXPECT_FALSE(g.sources_capped);
  ASSERT_EQ(g.detectors.size(), 2u);
  EXPECT_EQ(g.detectors[0].detector, "port_scan");
  EXPECT_EQ(g.detectors[0].alerts, 30u);
  EXPECT_EQ(g.detectors[0].sources, 20u);
  EXPECT_EQ(g.detectors[1].detector, "syn_flood");
  EXPECT_EQ(g.detectors[1].alerts, 7u);
  EXPECT_EQ(g.detectors[1].decisions, 2u);
  EXPECT_EQ(g.detectors[1].sources, 1u);
  ASSERT_EQ(g.top_sources.size(), kTopSources);
  EXPECT_EQ(g.top_sources[0].address, "10.0.0.1");
  EXPECT_EQ(g.top_sources[0].events, 11u);
  EXPECT_EQ(g.top_sources[1].address, "192.0.2.9");
  EXPECT_EQ(g.top_sources[1].events, 9u);

  EXPECT_EQ(g.summary(),
            "37 alerts and 2 decisions in the last 1m (highest severity 1): 30 port_scan from 20 sources, 7 syn_flood "
            "(+2 decisions) from 1 source; top sources: 10.0.0.1 (11), 192.0.2.9 (9), 10.0.0.2 (1), 10.0.0.3 (1), "
            "10.0.0.4 (1)");
  auto j = g.to_json();
  EXPECT_EQ(j["event_type"], "digest");
  EXPECT_EQ(j["digest"]["alerts"], 37);
  EXPECT_EQ(j["digest"]["detectors"][0]["detector"], "port_scan");
  EXPECT_EQ(j["digest"]["top_sources"][0]["src_ip"], "10.0.0.1");
  EXPECT_EQ(j["digest"]["window"], 60.0);

  // After take() a new window starts from the next event.
  b.add(make_alert("port_scan", "10.0.0.1"), now + Duration::seconds(100));
  EXPECT_EQ(b.due(), now + Duration::seconds(160));
  EXPECT_EQ(b.take(Timestamp{}).alerts, 1u);
}

TEST(DigestBuilder, SpoofedFloodStaysBounded) {
  DigestBuilder b(Duration::seconds(60));
  const int n = static_cast<int>(kMaxTrackedSources) + 1000;
  for (int i = 0; i < n; ++i) {
    output::Event e = make_alert("spoofed_flood", "10.0.0.1");
    e.src_ip = core::IpAddress::v4(0x0a000000u + static_cast<uint32_t>(i));
    b.add(e, Timestamp{});
  }
  Digest g = b.take(Timestamp{});
  EXPECT_EQ(g.alerts, static_cast<uint64_t>(n));
  EXPECT_EQ(g.distinct_sources, kMaxTrackedSources);
  EXPECT_TRUE(g.sources_capped);
  EXPECT_EQ(g.to_json()["digest"]["sources_capped"], true);
}

TEST(DigestBuilder, EventsWithoutDetectorOrSource) {
  DigestBuilder b(Duration::seconds(5));
  output::Event e;
  e.type = output::EventType::alert;
  b.add(e, Timestamp{});
  Digest g = b.take(Timestamp{});
  EXPECT_EQ(g.alerts, 1u);
  EXPECT_EQ(g.highest_severity, 3);  // no alert object counts as low
  ASSERT_EQ(g.detectors.size(), 1u);
  EXPECT_EQ(g.detectors[0].detector, "-");
  EXPECT_EQ(g.distinct_sources, 0u);
  EXPECT_EQ(g.summary(), "1 alert in the last 5s (highest severity 3): 1 -");
}

}  // namespace
}  // namespace picket::alert
