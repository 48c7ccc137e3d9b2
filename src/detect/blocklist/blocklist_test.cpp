// The blocklist detector through the test harness: hits both ways, dedup and updates, idle
// expiry, eviction, configuration, profiles, and the simulator's scenarios.
#include "detect/blocklist/blocklist.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "detect/blocklist/blocklists.hpp"
#include "detect/testing/harness.hpp"
#include "engine/engine.hpp"
#include "output/event.hpp"
#include "output/sinks.hpp"
#include "sim/packet_builder.hpp"
#include "sim/scenario.hpp"

namespace picket::detect::blocklist {
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

std::unique_ptr<Detector> make(std::string_view overrides, Profile p = Profile::normal) {
  auto d = create(test_config(p, fmt::format("detect:\n  blocklist:\n{}", overrides)));
  if (!d) throw std::runtime_error("detector disabled");
  return d;
}

std::vector<uint8_t> tcp(std::string_view src, std::string_view dst, uint16_t sport, uint16_t dport, uint8_t flags) {
  PacketBuilder b;
  if (ip(src).is_v6()) {
    b.ipv6(ip(src), ip(dst));
  } else {
    b.ipv4(ip(src), ip(dst));
  }
  return b.tcp(sport, dport, flags).build();
}

const std::string kLists =
    "    addresses: [203.0.113.0/24, 203.0.113.9, 192.0.2.66, 2001:db8:bad::/48]\n"
    "    exempt: [203.0.113.128/25]\n";

struct HitCase {
  std::string name;
  std::string src, dst;
  uint16_t sport, dport;
  uint8_t flags;
  // expected findings: kind, source, target, prefix
  std::vector<std::array<std::string, 4>> want;
};

TEST(Blocklist, HitsBothDirections) {
  const std::vector<HitCase> cases = {
      {"listed sender",
       "203.0.113.9",
       "198.18.0.10",
       40000,
       22,
       tf::kSyn,
       {{"blocklisted_source", "203.0.113.9", "198.18.0.10", "203.0.113.9/32"}}},
      {"listed sender, less specific",
       "203.0.113.10",
       "198.18.0.10",
       40000,
       22,
       tf::kSyn,
       {{"blocklisted_source", "203.0.113.10", "198.18.0.10", "203.0.113.0/24"}}},
      {"host calling out to a listed address",
       "198.18.0.10",
       "192.0.2.66",
       50000,
       443,
       tf::kSyn,
       {{"blocklisted_destination", "192.0.2.66", "198.18.0.10", "192.0.2.66/32"}}},
      {"listed server answering",
       "192.0.2.66",
       "198.18.0.10",
       443,
       50000,
       tf::kSyn | tf::kAck,
       {{"blocklisted_source", "192.0.2.66", "198.18.0.10", "192.0.2.66/32"}}},
      {"both listed",
       "203.0.113.9",
       "192.0.2.66",
       40000,
       80,
       tf::kSyn,
       {{"blocklisted_source", "203.0.113.9", "192.0.2.66", "203.0.113.9/32"},
        {"blocklisted_destination", "192.0.2.66", "203.0.113.9", "192.0.2.66/32"}}},
      {"exempt part of a listed prefix", "203.0.113.200", "198.18.0.10", 40000, 22, tf::kSyn, {}},
      {"unlisted", "198.19.0.1", "198.18.0.10", 40000, 22, tf::kSyn, {}},
      {"unlisted, just past the prefix", "203.0.114.0", "198.18.0.10", 40000, 22, tf::kSyn, {}},
      {"ipv6 listed sender",
       "2001:db8:bad::7",
       "2001:db8::a",
       40000,
       22,
       tf::kSyn,
       {{"blocklisted_source", "2001:db8:bad::7", "2001:db8::a", "2001:db8:bad::/48"}}},
      {"ipv6 unlisted", "2001:db8:bae::7", "2001:db8::a", 40000, 22, tf::kSyn, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Harness h(make(kLists), false);
    h.frame(kT0, tcp(c.src, c.dst, c.sport, c.dport, c.flags));
    const auto& got = h.finish();
    ASSERT_EQ(got.size(), c.want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      const Finding& f = got[i];
      EXPECT_EQ(f.detector, "blocklist");
      EXPECT_EQ(f.kind, c.want[i][0]);
      EXPECT_EQ(f.source.to_string(), c.want[i][1]);
      EXPECT_EQ(f.target.to_string(), c.want[i][2]);
      EXPECT_EQ(f.evidence["prefix"], c.want[i][3]);
      EXPECT_EQ(f.evidence["list"], "inline");
      EXPECT_FALSE(f.update);
      EXPECT_FALSE(f.aggregate);
      EXPECT_EQ(f.proto, 6);
      ASSERT_TRUE(f.target_port.has_value());
      EXPECT_EQ(*f.target_port, c.dport);
      const bool from = f.kind == "blocklisted_source";
      EXPECT_EQ(f.severity, from ? Severity::high : Severity::medium);
      EXPECT_EQ(f.signature_id, from ? 2'008'001u : 2'008'002u);
      EXPECT_EQ(f.evidence["direction"], from ? "inbound" : "outbound");
      EXPECT_EQ(f.evidence["packets"], 1);
      EXPECT_EQ(f.evidence["window"], 0.0);
      EXPECT_EQ(f.evidence["first_seen"], core::format_iso8601(kT0));
      EXPECT_EQ(f.evidence["ports"], nlohmann::ordered_json::array({c.dport}));
      EXPECT_FALSE(f.signature.empty());
    }
  }
}

TEST(Blocklist, InlineLinesAreCited) {
  Harness h(make(kLists), false);
  h.frame(kT0, tcp("192.0.2.66", "198.18.0.10", 1234, 80, tf::kSyn));
  ASSERT_EQ(h.finish().size(), 1u);
  EXPECT_EQ(h.findings()[0].evidence["line"], 3);  // third entry of `addresses`
}

// One packet every second: a first report, then one update per update_interval, each with the
// counts so far — never one finding per packet.
TEST(Blocklist, DedupAndUpdates) {
  struct Case {
    std::string profile_name;
    Profile profile;
    int seconds;
    std::vector<int> report_at;  // seconds after the first packet
  };
  const std::vector<Case> cases = {
      {"normal", Profile::normal, 150, {0, 60, 120}},
      {"normal, just below the interval", Profile::normal, 60, {0}},
      {"normal, at the interval", Profile::normal, 61, {0, 60}},
      {"paranoid", Profile::paranoid, 65, {0, 30, 60}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.profile_name + " " + std::to_string(c.seconds));
    Harness h(make(kLists, c.profile), false);
    for (int s = 0; s < c.seconds; ++s) {
      h.frame(kT0 + Duration::seconds(s),
              tcp("203.0.113.9", "198.18.0.10", static_cast<uint16_t>(40000 + s), 22, tf::kSyn));
    }
    const auto& got = h.finish();
    ASSERT_EQ(got.size(), c.report_at.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].ts, kT0 + Duration::seconds(c.report_at[i]));
      EXPECT_EQ(got[i].update, i > 0);
      EXPECT_EQ(got[i].evidence["packets"], c.report_at[i] + 1);
      EXPECT_EQ(got[i].evidence["window"], static_cast<double>(c.report_at[i]));
      EXPECT_EQ(got[i].evidence["first_seen"], core::format_iso8601(kT0));
    }
  }
}

// A record idle for idle_timeout ends; the next packet is a new first report.
TEST(Blocklist, IdleTimeoutEndsARecord) {
  struct Case {
    Duration gap;
    bool second_is_update;
  };
  const std::vector<Case> cases = {
      {Duration::seconds(9 * 60 + 59), true},
      {Duration::minutes(10), true},
      {Duration::minutes(10) + Duration::millis(200), false},
      {Duration::minutes(30), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.gap.to_seconds());
    Harness h(make(kLists), false);
    h.frame(kT0, tcp("203.0.113.9", "198.18.0.10", 40000, 22, tf::kSyn));
    h.frame(kT0 + c.gap, tcp("203.0.113.9", "198.18.0.10", 40001, 22, tf::kSyn));
    const auto& got = h.finish();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_FALSE(got[0].update);
    EXPECT_EQ(got[1].update, c.second_is_update);
    EXPECT_EQ(got[1].evidence["packets"], c.second_is_update ? 2 : 1);
  }
}

// A flood of distinct listed sources keeps the table at its capacity; the real offender, which
// keeps sending, is still reported.
TEST(Blocklist, EvictionUnderPressure) {
  Harness h(make("    addresses: [10.0.0.0/8, 192.0.2.66]\n    capacity: 16\n"), false);
  for (int s = 0; s < 30; ++s) {
    for (int i = 0; i < 100; ++i) {
      const uint32_t a = 0x0A000000u + static_cast<uint32_t>(s * 100 + i);
      h.frame(kT0 + Duration::seconds(s) + Duration::micros(i),
              PacketBuilder().ipv4(IpAddress::v4(a), ip("198.18.0.10")).udp(5000, 53).build());
    }
    h.frame(kT0 + Duration::seconds(s) + Duration::millis(500), tcp("192.0.2.66", "198.18.0.10", 40000, 22, tf::kSyn));
  }
  const auto st = h.detector().stats();
  EXPECT_EQ(st.capacity, 16u);
  EXPECT_LE(st.tracked, 16u);
  EXPECT_GT(st.evictions, 2900u);
  EXPECT_EQ(st.evictions_with_evidence, st.evictions);
  size_t offender = 0;
  for (const auto& f : h.finish()) offender += f.source == ip("192.0.2.66") ? 1 : 0;
  EXPECT_GE(offender, 1u);
  EXPECT_EQ(h.findings().size(), st.findings);
}

TEST(Blocklist, ListFilesThroughConfig) {
  const std::string path = fmt::format("{}/picket_bl_cfg_{}.netset", ::testing::TempDir(), ::getpid());
  {
    std::ofstream out(path);
    out << "# test feed\n198.51.100.0/24\nnonsense\n";
  }
  const std::string yaml = fmt::format("    files: [\"{}\", \"/nonexistent/picket.txt\"]\n", path);
  const config::Config cfg = test_config(Profile::normal, "detect:\n  blocklist:\n" + yaml);
  const auto lists = load_lists(cfg);
  ASSERT_EQ(lists->problems().size(), 2u);
  EXPECT_EQ(lists->problems()[0].to_string(), path + ":3: not an address, prefix or range: \"nonsense\" (skipped)");
  EXPECT_EQ(lists->problems()[1].list, "/nonexistent/picket.txt");
  auto det = create(cfg);  // the loaded lists are reused while `lists` lives
  ASSERT_NE(det, nullptr);
  EXPECT_EQ(load_lists(cfg).get(), lists.get());
  Harness h(std::move(det), false);
  h.frame(kT0, tcp("198.51.100.20", "198.18.0.10", 40000, 443, tf::kSyn));
  std::remove(path.c_str());
  ASSERT_EQ(h.finish().size(), 1u);
  const std::string base = path.substr(path.find_last_of('/') + 1);
  EXPECT_EQ(h.findings()[0].evidence["list"], base);
  EXPECT_EQ(h.findings()[0].evidence["line"], 2);
  EXPECT_EQ(h.findings()[0].evidence["prefix"], "198.51.100.0/24");
}

TEST(Blocklist, ConfigAndProfiles) {
  EXPECT_EQ(create(test_config(Profile::normal, "detect:\n  blocklist:\n    enabled: false\n")), nullptr);
  struct Case {
    Profile p;
    int64_t update_s;
  };
  for (const auto& c : {Case{Profile::normal, 60}, Case{Profile::aggressive, 30}, Case{Profile::paranoid, 30}}) {
    const auto cfg = test_config(c.p);
    EXPECT_EQ(cfg.duration("detect.blocklist.update_interval"), Duration::seconds(c.update_s));
    EXPECT_EQ(cfg.duration("detect.blocklist.idle_timeout"), Duration::minutes(10));
    EXPECT_EQ(cfg.integer("detect.blocklist.capacity"), 65'536);
    EXPECT_TRUE(cfg.list("detect.blocklist.files").empty());
    EXPECT_TRUE(cfg.boolean("detect.blocklist.enabled"));
    auto d = create(cfg);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->name(), "blocklist");
    EXPECT_EQ(d->stats().capacity, 65'536u);
    // Per tracked entry, table slot and index together (no lists loaded here).
    std::printf("[ info ] %s: %.1f bytes per entry\n", std::string(d->name()).c_str(),
                static_cast<double>(d->stats().memory_bytes) / static_cast<double>(d->stats().capacity));
    EXPECT_LE(d->stats().memory_bytes, d->stats().capacity * 200u);
  }
  EXPECT_THROW(test_config(Profile::normal, "detect:\n  blocklist:\n    addresses: [10.0.0.1/8]\n"), std::exception);
  EXPECT_THROW(test_config(Profile::normal, "detect:\n  blocklist:\n    capacity: 1\n"), std::exception);
}

// With no list naming the simulator's addresses, no scenario gives a finding; listing the
// large-packet sender reports exactly it, once (plus updates).
TEST(Blocklist, Scenarios) {
  for (const auto& name : {"benign", "mixed", "scan-syn", "spoofed-syn-flood"}) {
    SCOPED_TRACE(name);
    Harness h(make(kLists), false);
    h.scenario(name, {});
    EXPECT_TRUE(h.finish().empty());
  }
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "ipv6" : "ipv4");
    sim::ScenarioOptions opts;
    opts.ipv6 = v6;
    Harness h(make(v6 ? "    addresses: [\"2001:db8:1::1e\"]\n" : "    addresses: [198.19.0.30]\n"), false);
    const auto summary = h.scenario("large-packets", opts);
    ASSERT_EQ(summary.truth.size(), 1u);
    const auto& got = h.finish();
    ASSERT_FALSE(got.empty());
    EXPECT_FALSE(got[0].update);
    for (const auto& f : got) {
      EXPECT_EQ(f.kind, "blocklisted_source");
      EXPECT_EQ(f.source, summary.truth[0].sources.at(0));
      EXPECT_EQ(f.target, summary.victim);
      EXPECT_EQ(*f.target_port, 5001);
    }
    for (size_t i = 1; i < got.size(); ++i) EXPECT_TRUE(got[i].update);
  }
}

// Findings are the same whatever the number of workers, even when the listed address is not the
// actor (the victim listed: every client's traffic to it is a separate record in its own worker).
TEST(Blocklist, SameFindingsForAnyNumberOfWorkers) {
  const config::Config cfg =
      test_config(Profile::normal, "detect:\n  blocklist:\n    addresses: [198.19.0.30, 198.19.0.40, 198.18.0.10]\n");
  auto run = [&](uint32_t workers) {
    sim::ScenarioOptions opts;
    opts.packets = 20'000;
    const auto events = testing::run_engine(cfg, "mixed", opts, workers).events;
    std::vector<std::string> lines = testing::alert_lines(events, "blocklist");
    for (auto& l : testing::alert_lines(events, "large_packet")) lines.push_back(std::move(l));
    return lines;
  };
  const auto one = run(1);
  size_t ours = 0;
  for (const auto& l : one) ours += l.find("\"blocklisted_") != std::string::npos ? 1 : 0;
  EXPECT_GT(ours, 10u);
  EXPECT_GT(one.size(), ours);  // large_packet's finding on the mixed capture is there too
  EXPECT_EQ(run(3), one);
}

}  // namespace
}  // namespace picket::detect::blocklist
