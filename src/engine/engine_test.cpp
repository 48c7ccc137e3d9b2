#include "engine/engine.hpp"

#include <gtest/gtest.h>

#include "detect/testing/harness.hpp"
#include "output/sinks.hpp"
#include "sim/packet_builder.hpp"

namespace picket::engine {
namespace {

using core::Duration;
using core::IpAddress;
using core::Timestamp;

const IpAddress kA = *IpAddress::parse("198.18.0.1");
const IpAddress kB = *IpAddress::parse("198.18.0.2");
const Timestamp kT0 = Timestamp::from_parts(1'767'225'600, 0);  // 2026-01-01T00:00:00Z

const config::Config& test_config() {
  static const config::Config cfg = [] {
    config::Schema schema;
    declare_config(schema);
    return config::defaults(schema, config::Profile::normal);
  }();
  return cfg;
}

struct Fixture {
  explicit Fixture(EngineSettings s) : engine(test_config(), s, core::link_type::kEthernet, sink) {}
  void feed(const std::vector<uint8_t>& frame, Timestamp ts, uint32_t cap = 0) {
    core::RawPacket p;
    p.ts = ts;
    p.data = frame.data();
    p.cap_len = cap ? cap : static_cast<uint32_t>(frame.size());
    p.wire_len = static_cast<uint32_t>(frame.size());
    engine.process(p);
  }
  std::vector<const output::Event*> of_type(output::EventType t) const {
    std::vector<const output::Event*> v;
    for (const auto& e : sink.events()) if (e.type == t) v.push_back(&e);
    return v;
  }
  output::MemorySink sink;
  Engine engine;
};

std::vector<uint8_t> good_frame() { return sim::PacketBuilder().ipv4(kA, kB).tcp(40000, 80, 0x02).build(); }

// Sharding takes a mask when the worker count is a power of two and a modulo otherwise; either
// way every count writes the alerts one worker writes (the scenario tests check 1 against 2).
TEST(Engine, AnyNumberOfWorkersWritesTheSameAlerts) {
  const config::Config cfg = detect::testing::test_config();
  sim::ScenarioOptions opts;
  opts.packets = 60'000;
  std::vector<std::string> one;
  for (uint32_t workers : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE(workers);
    const auto run = detect::testing::run_engine(cfg, "mixed", opts, workers);
    const auto lines = detect::testing::alert_lines(run.events);
    if (workers == 1) {
      one = lines;
      ASSERT_FALSE(one.empty());
    } else {
      EXPECT_EQ(lines, one);
    }
  }
}

TEST(Engine, StatsEventsFollowPacketTimeNotWallClock) {
  EngineSettings s;
  s.stats_interval = Duration::seconds(10);
  Fixture f(s);
  const auto frame = good_frame();
  for (int i = 0; i < 35; ++i) f.feed(frame, kT0 + Duration::seconds(i));  // 0..34 s
  f.engine.finish();
  const auto stats = f.of_type(output::EventType::stats);
  ASSERT_EQ(stats.size(), 4u);  // boundaries at 10, 20, 30 s, then the final one
  EXPECT_EQ(stats[0]->ts, kT0 + Duration::seconds(10));
  EXPECT_EQ(stats[0]->body["packets"], 10);
  EXPECT_EQ(stats[0]->body["interval"]["packets"], 10);
  EXPECT_EQ(stats[2]->ts, kT0 + Duration::seconds(30));
  EXPECT_EQ(stats[3]->body["final"], true);
  EXPECT_EQ(stats[3]->body["packets"], 35);
  EXPECT_EQ(stats[3]->ts, kT0 + Duration::seconds(34));
}

TEST(Engine, GapInCaptureGivesOneStatsEventNotAFlood) {
  EngineSettings s;
  s.stats_interval = Duration::seconds(1);
  Fixture f(s);
  const auto frame = good_frame();
  f.feed(frame, kT0);
  f.feed(frame, kT0 + Duration::seconds(3600));
  f.feed(frame, kT0 + Duration::seconds(3600) + Duration::millis(500));
  f.feed(frame, kT0 + Duration::seconds(3601) + Duration::millis(100));
  EXPECT_EQ(f.of_type(output::EventType::stats).size(), 2u);  // at 3600 s and 3601.1 s
}

TEST(Engine, VirtualTimeNeverGoesBack) {
  Fixture f(EngineSettings{});
  const auto frame = good_frame();
  f.feed(frame, kT0 + Duration::seconds(5));
  f.feed(frame, kT0 + Duration::seconds(2));
  EXPECT_EQ(f.engine.now(), kT0 + Duration::seconds(5));
  EXPECT_EQ(f.engine.totals().packets, 2u);
}

TEST(Engine, AnomalySampleModeReportsFirstPerKindPerInterval) {
  EngineSettings s;
  s.stats_interval = Duration::seconds(10);
  s.anomaly_events = AnomalyEvents::sample;
  Fixture f(s);
  const auto frame = good_frame();
  for (int i = 0; i < 5; ++i) f.feed(frame, kT0 + Duration::seconds(i), 20);  // cut inside IPv4
  for (int i = 0; i < 5; ++i) f.feed(frame, kT0 + Duration::seconds(12 + i), 20);
  f.engine.finish();
  const auto anomalies = f.of_type(output::EventType::anomaly);
  ASSERT_EQ(anomalies.size(), 2u);
  EXPECT_EQ(anomalies[0]->body["type"], "decode");
  EXPECT_FALSE(anomalies[0]->body["event"].get<std::string>().empty());
  EXPECT_EQ(anomalies[1]->picket["count"], 6);
  EXPECT_EQ(f.engine.totals().anomalies, 10u);
  const auto stats = f.of_type(output::EventType::stats);
  EXPECT_EQ(stats.back()->body["anomalies"], 10);
  EXPECT_EQ(stats.back()->body["anomalies_by_name"][anomalies[0]->body["event"].get<std::string>()], 10);
}

TEST(Engine, AnomalyModesAllAndNone) {
  for (auto mode : {AnomalyEvents::all, AnomalyEvents::none}) {
    EngineSettings s;
    s.anomaly_events = mode;
    Fixture f(s);
    const auto frame = good_frame();
    for (int i = 0; i < 4; ++i) f.feed(frame, kT0, 30);
    f.engine.finish();
    EXPECT_EQ(f.of_type(output::EventType::anomaly).size(), mode == AnomalyEvents::all ? 4u : 0u);
    EXPECT_EQ(f.engine.totals().anomalies, 4u);
  }
}

TEST(Engine, AnomalyEventKeepsWhatWasDecoded) {
  EngineSettings s;
  s.anomaly_events = AnomalyEvents::all;
  Fixture f(s);
  const auto frame = good_frame();
  f.feed(frame, kT0, 14 + 20 + 10);  // IPv4 complete, TCP cut
  f.engine.finish();
  const auto anomalies = f.of_type(output::EventType::anomaly);
  ASSERT_EQ(anomalies.size(), 1u);
  EXPECT_EQ(anomalies[0]->src_ip, kA);
  EXPECT_EQ(anomalies[0]->dest_ip, kB);
  EXPECT_EQ(anomalies[0]->proto, 6);
  EXPECT_FALSE(anomalies[0]->src_port.has_value());
}

}  // namespace
}  // namespace picket::engine
