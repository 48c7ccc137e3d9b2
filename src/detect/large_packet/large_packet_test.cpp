// The large_packet detector through the test harness: thresholds, the sliding window, dedup and
// updates, episodes, eviction, profiles and the simulator's scenarios.
#include "detect/large_packet/large_packet.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "detect/testing/harness.hpp"
#include "sim/packet_builder.hpp"
#include "sim/scenario.hpp"

namespace picket::detect::large_packet {
namespace {

using config::Profile;
using core::Duration;
using core::IpAddress;
using core::Timestamp;
using sim::PacketBuilder;
using testing::Harness;
using testing::test_config;
namespace tf = core::tcp_flag;

IpAddress ip(std::string_view s) {
  auto a = IpAddress::parse(s);
  if (!a) throw std::runtime_error("bad address in test: " + std::string(s));
  return *a;
}

constexpr Timestamp kT0 = sim::kSimStart;
const IpAddress kSender = ip("198.19.0.30");
const IpAddress kVictim = ip("198.18.0.10");

std::unique_ptr<Detector> make(std::string_view overrides = "", Profile p = Profile::normal) {
  auto d = create(test_config(p, fmt::format("detect:\n  large_packet:\n{}", overrides)));
  if (!d) throw std::runtime_error("detector disabled");
  return d;
}

// A UDP frame of exactly `wire_len` bytes on the wire (Ethernet + IPv4 + UDP + payload).
std::vector<uint8_t> udp_frame(uint32_t wire_len, IpAddress src = kSender, IpAddress dst = kVictim,
                               uint16_t dport = 5001) {
  return PacketBuilder().ipv4(src, dst).udp(40000, dport).payload_size(wire_len - 14 - 20 - 8).build();
}

void send(Harness& h, Timestamp ts, uint32_t wire_len, IpAddress src = kSender, uint16_t dport = 5001) {
  h.frame(ts, udp_frame(wire_len, src, kVictim, dport));
}

TEST(LargePacket, SizeThreshold) {
  struct Case {
    std::string overrides;
    uint32_t threshold;
    uint32_t size;
    bool reported;
  };
  const std::string jumbo = "    max_packet_size: 9022\n";
  const std::string small = "    max_packet_size: 1000\n";
  const std::vector<Case> cases = {
      {"", 1522, 1514, false},   {"", 1522, 1521, false},    {"", 1522, 1522, false},
      {"", 1522, 1523, true},    {"", 1522, 9000, true},     {jumbo, 9022, 9022, false},
      {jumbo, 9022, 9023, true}, {small, 1000, 1000, false}, {small, 1000, 1001, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(fmt::format("{}{}", c.overrides, c.size));
    Harness h(make(c.overrides), false);
    send(h, kT0, c.size);
    const auto& got = h.finish();
    ASSERT_EQ(got.size(), c.reported ? 1u : 0u);
    if (!c.reported) continue;
    const Finding& f = got[0];
    EXPECT_EQ(f.detector, "large_packet");
    EXPECT_EQ(f.kind, "large_packet");
    EXPECT_EQ(f.source, kSender);
    EXPECT_EQ(f.target, kVictim);
    EXPECT_EQ(f.target_port, 5001);
    EXPECT_EQ(f.proto, 17);
    EXPECT_EQ(f.severity, Severity::low);
    EXPECT_EQ(f.signature_id, 2'007'001u);
    EXPECT_FALSE(f.update);
    EXPECT_FALSE(f.aggregate);
    EXPECT_EQ(f.evidence["large_frames"], 1);
    EXPECT_EQ(f.evidence["max_size"], c.size);
    EXPECT_EQ(f.evidence["sizes"], nlohmann::ordered_json::array({c.size}));
    EXPECT_EQ(f.evidence["threshold"], c.threshold);
    EXPECT_EQ(f.evidence["window"], 60.0);
    EXPECT_EQ(f.evidence["first_seen"], core::format_iso8601(kT0));
    EXPECT_EQ(f.evidence["last_seen"], core::format_iso8601(kT0));
  }
}

// The wire length counts, not the bytes captured (a 96-byte snaplen still sees a jumbo frame).
TEST(LargePacket, WireLengthNotCaptureLength) {
  Harness h(make(), false);
  const auto small = udp_frame(200);
  h.frame(kT0, small, 9000);
  ASSERT_EQ(h.finish().size(), 1u);
  EXPECT_EQ(h.findings()[0].evidence["max_size"], 9000);
}

// Only frames the actor sends count: a local server's large segments to a client are not the
// client's doing (and on a capturing host they are TSO super-segments).
TEST(LargePacket, OnlyTheActorsFrames) {
  Harness h(make(), false);
  const IpAddress client = ip("198.18.5.5");
  h.frame(kT0, PacketBuilder().ipv4(client, kVictim).tcp(50000, 80, tf::kSyn).build());
  h.frame(kT0 + Duration::millis(1),
          PacketBuilder().ipv4(kVictim, client).tcp(80, 50000, tf::kSyn | tf::kAck, 1, 1001).build());
  for (int i = 0; i < 5; ++i) {
    h.frame(
        kT0 + Duration::millis(10 + i),
        PacketBuilder().ipv4(kVictim, client).tcp(80, 50000, tf::kAck, 2 + i * 9000, 1001).payload_size(9000).build());
  }
  EXPECT_TRUE(h.finish().empty());
  // The same frames the other way round are the client's.
  Harness h2(make(), false);
  h2.frame(kT0, PacketBuilder().ipv4(client, kVictim).tcp(50000, 80, tf::kSyn).build());
  h2.frame(kT0 + Duration::millis(10),
           PacketBuilder().ipv4(client, kVictim).tcp(50000, 80, tf::kAck, 1001, 2).payload_size(9000).build());
  ASSERT_EQ(h2.finish().size(), 1u);
  EXPECT_EQ(h2.findings()[0].source, client);
  EXPECT_EQ(h2.findings()[0].target_port, 80);
}

TEST(LargePacket, MinFramesAndSlidingWindow) {
  struct Case {
    std::string name;
    std::vector<int> at_s;  // seconds of each 4000-byte frame
    int report_at;          // second of the first report, -1 = none
  };
  // min_frames 3 in a 60 s window.
  const std::vector<Case> cases = {
      {"below", {0, 10}, -1},
      {"at", {0, 10, 20}, 20},
      {"above", {0, 10, 20, 30}, 20},
      {"too spread out", {0, 50, 100, 150}, -1},
      {"straddling a minute boundary", {50, 55, 65}, 65},  // a counter reset every minute sees 2 + 1
      {"paced every 25 s", {0, 25, 50}, 50},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Harness h(make("    min_frames: 3\n"), false);
    for (int s : c.at_s) send(h, kT0 + Duration::seconds(s), 4000);
    const auto& got = h.finish();
    if (c.report_at < 0) {
      EXPECT_TRUE(got.empty());
      continue;
    }
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].ts, kT0 + Duration::seconds(c.report_at));
    EXPECT_EQ(got[0].evidence["large_frames"], 3);
  }
}

TEST(LargePacket, DedupAndUpdates) {
  struct Case {
    Profile profile;
    int seconds;
    std::vector<int> report_at;
  };
  const std::vector<Case> cases = {
      {Profile::normal, 150, {0, 60, 120}},
      {Profile::normal, 60, {0}},
      {Profile::normal, 61, {0, 60}},
      {Profile::aggressive, 61, {0, 30, 60}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(fmt::format("{} {}", config::profile_name(c.profile), c.seconds));
    Harness h(make("", c.profile), false);
    for (int s = 0; s < c.seconds; ++s) send(h, kT0 + Duration::seconds(s), 4000 + static_cast<uint32_t>(s));
    const auto& got = h.finish();
    ASSERT_EQ(got.size(), c.report_at.size());
    for (size_t i = 0; i < got.size(); ++i) {
      const int t = c.report_at[i];
      EXPECT_EQ(got[i].ts, kT0 + Duration::seconds(t));
      EXPECT_EQ(got[i].update, i > 0);
      EXPECT_EQ(got[i].evidence["frames_total"], t + 1);
      EXPECT_EQ(got[i].evidence["max_size"], 4000 + t);
      EXPECT_EQ(got[i].evidence["first_seen"], core::format_iso8601(kT0));
      EXPECT_EQ(got[i].evidence["last_seen"], core::format_iso8601(kT0 + Duration::seconds(t)));
      // The window holds the last minute (its oldest 10 s bucket whole), never the whole episode.
      EXPECT_LE(got[i].evidence["large_frames"].get<int>(), 70);
      EXPECT_EQ(got[i].evidence["sizes"].size(), std::min<size_t>(4, static_cast<size_t>(t) + 1));
    }
  }
}

// When the window empties, the episode ends: the next large frame is a new first report.
TEST(LargePacket, EpisodeEndsWhenWindowEmpties) {
  struct Case {
    Duration gap;
    size_t reports;
    bool second_is_update;
  };
  const std::vector<Case> cases = {
      {Duration::seconds(59), 1, false},  // same episode, update not yet due
      {Duration::seconds(60), 2, true},   // same episode, update due
      {Duration::seconds(60) + Duration::millis(1), 2, false},
      {Duration::minutes(5), 2, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.gap.to_seconds());
    Harness h(make(), false);
    send(h, kT0, 4000);
    send(h, kT0 + c.gap, 5000);
    const auto& got = h.finish();
    ASSERT_EQ(got.size(), c.reports);
    if (c.reports < 2) continue;
    EXPECT_EQ(got[1].update, c.second_is_update);
    EXPECT_EQ(got[1].evidence["frames_total"], c.second_is_update ? 2 : 1);
    EXPECT_EQ(got[1].evidence["first_seen"], core::format_iso8601(c.second_is_update ? kT0 : kT0 + c.gap));
  }
}

// A flood of one-frame senders keeps the table at capacity; the real sender, once reported, is
// spared and never reported afresh.
TEST(LargePacket, EvictionUnderPressure) {
  Harness h(make("    capacity: 16\n    min_frames: 5\n"), false);
  for (int s = 0; s < 40; ++s) {
    for (int i = 0; i < 100; ++i) {
      const Timestamp t = kT0 + Duration::millis(s * 1000 + i);
      send(h, t, 2000, IpAddress::v4(0xC6130100u + static_cast<uint32_t>(s * 100 + i)));
      // The sender's first second: a frame every 10 flood frames (it reaches min_frames before the
      // flood pushes it out); after that, one frame per 100 flood frames.
      if (s == 0 ? i % 10 == 9 : i == 50) send(h, t + Duration::micros(500), 4000);
    }
  }
  const auto st = h.detector().stats();
  EXPECT_EQ(st.capacity, 16u);
  EXPECT_LE(st.tracked, 16u);
  EXPECT_GT(st.evictions, 3900u);
  EXPECT_EQ(st.evictions_with_evidence, 0u);
  const auto& got = h.finish();
  ASSERT_FALSE(got.empty());
  size_t first_reports = 0;
  for (const auto& f : got) {
    EXPECT_EQ(f.source, kSender);
    first_reports += f.update ? 0 : 1;
  }
  EXPECT_EQ(first_reports, 1u);
  EXPECT_EQ(got[0].ts, kT0 + Duration::millis(49) + Duration::micros(500));  // its fifth frame
  EXPECT_EQ(got[0].evidence["frames_total"], 5);
}

TEST(LargePacket, ConfigAndProfiles) {
  EXPECT_EQ(create(test_config(Profile::normal, "detect:\n  large_packet:\n    enabled: false\n")), nullptr);
  struct Case {
    Profile p;
    int64_t update_s;
  };
  for (const auto& c : {Case{Profile::normal, 60}, Case{Profile::aggressive, 30}, Case{Profile::paranoid, 30}}) {
    const auto cfg = test_config(c.p);
    EXPECT_EQ(cfg.integer("detect.large_packet.max_packet_size"), 1522);
    EXPECT_EQ(cfg.integer("detect.large_packet.min_frames"), 1);
    EXPECT_EQ(cfg.duration("detect.large_packet.window"), Duration::seconds(60));
    EXPECT_EQ(cfg.duration("detect.large_packet.update_interval"), Duration::seconds(c.update_s));
    EXPECT_EQ(cfg.integer("detect.large_packet.capacity"), 65'536);
    auto d = create(cfg);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->name(), "large_packet");
    EXPECT_EQ(d->stats().capacity, 65'536u);
    EXPECT_GT(d->stats().memory_bytes, 0u);
    // Per tracked entry, table slot and index together (no lists loaded here).
    std::printf("[ info ] %s: %.1f bytes per entry\n", std::string(d->name()).c_str(),
                static_cast<double>(d->stats().memory_bytes) / static_cast<double>(d->stats().capacity));
    EXPECT_LE(d->stats().memory_bytes, d->stats().capacity * 200u);
  }
  EXPECT_THROW(test_config(Profile::normal, "detect:\n  large_packet:\n    max_packet_size: 10\n"), std::exception);
  EXPECT_THROW(test_config(Profile::normal, "detect:\n  large_packet:\n    min_frames: 0\n"), std::exception);
}

// `large-packets` gives exactly one finding (first report and updates) for the truth's source;
// `mixed` the same for its large-packet sender; the other scenarios none.
TEST(LargePacket, Scenarios) {
  for (const std::string name : {"large-packets", "mixed"}) {
    for (bool v6 : {false, true}) {
      SCOPED_TRACE(name + (v6 ? " ipv6" : ""));
      sim::ScenarioOptions opts;
      opts.ipv6 = v6;
      Harness h(make(), false);
      const auto summary = h.scenario(name, opts);
      const sim::Truth* truth = nullptr;
      for (const auto& t : summary.truth) truth = t.detector == "large_packet" ? &t : truth;
      ASSERT_NE(truth, nullptr);
      ASSERT_EQ(truth->sources.size(), 1u);
      const auto& got = h.finish();
      ASSERT_FALSE(got.empty());
      size_t first_reports = 0;
      for (const auto& f : got) {
        EXPECT_EQ(f.kind, "large_packet");
        EXPECT_EQ(f.source, truth->sources[0]);
        EXPECT_EQ(f.target, summary.victim);
        EXPECT_EQ(f.target_port, truth->target_port);
        first_reports += f.update ? 0 : 1;
      }
      EXPECT_EQ(first_reports, 1u);
      EXPECT_EQ(got[0].evidence["first_seen"], core::format_iso8601(truth->first));
    }
  }
  for (const auto& name : {"benign", "syn-flood", "spoofed-syn-flood", "conn-flood", "rate-abuse", "scan-syn",
                           "scan-udp", "scan-ipproto", "distributed-scan", "sweep"}) {
    SCOPED_TRACE(name);
    Harness h(make("", Profile::paranoid), false);
    h.scenario(name, {});
    EXPECT_TRUE(h.finish().empty());
  }
}

}  // namespace
}  // namespace picket::detect::large_packet
