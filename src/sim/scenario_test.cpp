// Properties every scenario must have: exact frame count, determinism, time order and span,
// address ranges, well-formed frames, snaplen, IPv6; and the option errors.
#include "sim/scenario.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>

#include <nlohmann/json.hpp>

#include "sim/test_frames.hpp"

namespace picket::sim {
namespace {

using simtest::Collector;
using simtest::Pkt;

const core::Prefix kRange4 = *core::Prefix::parse("198.18.0.0/15");
const core::Prefix kRange6 = *core::Prefix::parse("2001:db8::/32");

std::vector<std::string> all_names() {
  std::vector<std::string> v;
  for (const auto& s : scenarios()) v.emplace_back(s.name);
  return v;
}

TEST(Scenarios, ListHoldsEveryRequiredName) {
  const std::set<std::string> want{"benign",    "syn-flood",   "spoofed-syn-flood", "spoofed-syn-flood-wide",
                                   "conn-flood",   "rate-abuse",
                                   "scan-syn",  "scan-fin",    "scan-null",         "scan-xmas",    "scan-ack",
                                   "scan-maimon", "scan-udp",  "scan-ipproto",      "slow-scan",    "distributed-scan",
                                   "sweep",     "large-packets", "mixed"};
  const auto names = all_names();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), want);
  for (const auto& s : scenarios()) {
    EXPECT_GT(s.default_packets, 0u) << s.name;
    EXPECT_GT(s.default_rate, 0.0) << s.name;
    EXPECT_FALSE(s.description.empty()) << s.name;
  }
}

TEST(Scenarios, UnknownNameListsTheValidOnes) {
  Collector c;
  auto r = sim::generate("syn-floood", {}, c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("syn-floood"), std::string::npos);
  for (const auto& n : all_names()) EXPECT_NE(r.error().message.find(n), std::string::npos) << n;
  EXPECT_TRUE(c.pkts.empty());
}

struct BadOptions {
  const char* what;
  ScenarioOptions options;
  const char* message;
};

TEST(Scenarios, BadOptionsAreErrors) {
  const BadOptions cases[] = {
      {"negative rate", {.rate_pps = -5}, "rate"},
      {"NaN rate", {.rate_pps = std::nan("")}, "rate"},
      {"infinite rate", {.rate_pps = INFINITY}, "rate"},
      {"snaplen 0", {.snaplen = 0}, "snaplen"},
      {"snaplen too big", {.snaplen = 300000}, "snaplen"},
      {"too few packets for a scan", {.packets = 500}, "at least"},
      {"absurd packets", {.packets = 20'000'000'000ULL}, "packets"},
  };
  for (const auto& bc : cases) {
    Collector c;
    auto r = sim::generate("scan-syn", bc.options, c);
    ASSERT_FALSE(r.ok()) << bc.what;
    EXPECT_NE(r.error().message.find(bc.message), std::string::npos) << bc.what << ": " << r.error().message;
    EXPECT_TRUE(c.pkts.empty()) << bc.what;
  }
}

TEST(Scenarios, TooFewPacketsNamesAWorkingMinimum) {
  Collector c;
  auto r = sim::generate("scan-syn", {.packets = 1000}, c);
  ASSERT_FALSE(r.ok());
  const auto& m = r.error().message;
  const size_t at = m.find("at least ");
  ASSERT_NE(at, std::string::npos) << m;
  const uint64_t minimum = std::stoull(m.substr(at + 9));
  Collector ok;
  EXPECT_TRUE(sim::generate("scan-syn", {.packets = minimum}, ok).ok()) << minimum;
  EXPECT_EQ(ok.pkts.size(), minimum);
}

class EveryScenario : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryScenario, ExactCountOrderedWellFormedAndInRange) {
  const std::string name = GetParam();
  Collector c;
  auto r = sim::generate(name, {}, c);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const ScenarioInfo* info = nullptr;
  for (const auto& s : scenarios()) {
    if (s.name == name) info = &s;
  }
  ASSERT_NE(info, nullptr);
  ASSERT_EQ(c.pkts.size(), info->default_packets);
  EXPECT_EQ(r->packets, info->default_packets);
  EXPECT_EQ(r->options.packets, info->default_packets);
  EXPECT_EQ(r->first.ns, c.pkts.front().ts);
  EXPECT_EQ(r->last.ns, c.pkts.back().ts);
  EXPECT_EQ(r->victim, *core::IpAddress::parse("198.18.0.10"));
  EXPECT_GE(c.pkts.front().ts, kSimStart.ns);

  size_t bad_order = 0, bad_ip = 0, bad_sum = 0, bad_len = 0, out_of_range = 0, not_us = 0;
  for (size_t i = 0; i < c.pkts.size(); ++i) {
    const Pkt& p = c.pkts[i];
    if (i > 0 && p.ts < c.pkts[i - 1].ts) ++bad_order;
    if (p.ts % 1000 != 0) ++not_us;
    if (!p.ip || p.v6) ++bad_ip;
    if (!p.checked || !p.ip_sum_ok || !p.l4_sum_ok) ++bad_sum;
    if (!p.lengths_ok || p.cap != p.wire) ++bad_len;
    if (!kRange4.contains(p.src) || !kRange4.contains(p.dst)) ++out_of_range;
  }
  EXPECT_EQ(bad_order, 0u);
  EXPECT_EQ(not_us, 0u);
  EXPECT_EQ(bad_ip, 0u);
  EXPECT_EQ(bad_sum, 0u);
  EXPECT_EQ(bad_len, 0u);
  EXPECT_EQ(out_of_range, 0u);

  // The capture spans about packets / rate (slow-scan: at least its 40 probes, 15 s apart).
  const double span = static_cast<double>(c.pkts.back().ts - c.pkts.front().ts) / 1e9;
  const double planned = static_cast<double>(info->default_packets) / info->default_rate;
  EXPECT_NEAR(span, planned, planned * 0.15) << name;

  // Every attack made it into the capture.
  for (const Truth& t : r->truth) {
    EXPECT_GT(t.packets, 0u) << t.detector;
    EXPECT_LE(t.first, t.last);
    EXPECT_LT(t.last.ns, c.pkts.back().ts) << t.detector << " still running when the capture ended";
  }
  EXPECT_EQ(r->truth.empty(), name == "benign");
}

TEST_P(EveryScenario, SameSeedSameBytesOtherSeedOtherBytes) {
  const std::string name = GetParam();
  const ScenarioOptions a{.packets = 15000, .seed = 7, .rate_pps = 2000};
  ScenarioOptions b = a;
  b.seed = 8;
  Collector c1, c2, c3;
  ASSERT_TRUE(sim::generate(name, a, c1).ok());
  ASSERT_TRUE(sim::generate(name, a, c2).ok());
  ASSERT_TRUE(sim::generate(name, b, c3).ok());
  EXPECT_EQ(c1.hash, c2.hash);
  EXPECT_NE(c1.hash, c3.hash);
}

TEST_P(EveryScenario, Ipv6GivesOnlyIpv6FramesInTheDocumentationRange) {
  const std::string name = GetParam();
  Collector c;
  auto r = sim::generate(name, {.packets = 15000, .rate_pps = 2000, .ipv6 = true}, c);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(c.pkts.size(), 15000u);
  size_t bad = 0, bad_sum = 0;
  for (const Pkt& p : c.pkts) {
    if (p.ethertype != 0x86DD || !p.v6 || !kRange6.contains(p.src) || !kRange6.contains(p.dst)) ++bad;
    if (!p.checked || !p.l4_sum_ok || !p.lengths_ok) ++bad_sum;
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(bad_sum, 0u);
  EXPECT_EQ(r->victim, *core::IpAddress::parse("2001:db8::a"));
  for (const Truth& t : r->truth) {
    for (const auto& s : t.sources) EXPECT_TRUE(kRange6.contains(s));
    EXPECT_TRUE(kRange6.contains(t.target));
  }
}

INSTANTIATE_TEST_SUITE_P(All, EveryScenario, ::testing::ValuesIn(all_names()),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

TEST(Scenarios, SnaplenCutsFramesToThePrefixOfTheFullFrame) {
  for (const bool v6 : {false, true}) {
    for (const uint32_t snap : {96u, 60u, 14u, 1u}) {
      Collector full(true), cut(true);
      ASSERT_TRUE(sim::generate("mixed", {.packets = 15000, .ipv6 = v6}, full).ok());
      ASSERT_TRUE(sim::generate("mixed", {.packets = 15000, .ipv6 = v6, .snaplen = snap}, cut).ok());
      ASSERT_EQ(full.raw.size(), cut.raw.size());
      size_t cut_count = 0, mismatched = 0;
      for (size_t i = 0; i < full.raw.size(); ++i) {
        const auto& f = full.raw[i];
        const auto& k = cut.raw[i];
        EXPECT_EQ(full.pkts[i].wire, cut.pkts[i].wire);
        EXPECT_EQ(k.size(), std::min<size_t>(f.size(), snap));
        if (k.size() < f.size()) ++cut_count;
        if (!std::equal(k.begin(), k.end(), f.begin())) ++mismatched;
      }
      EXPECT_EQ(mismatched, 0u) << "snaplen " << snap << " v6 " << v6;
      EXPECT_GT(cut_count, 1000u);
    }
  }
}

TEST(Scenarios, RateSetsTheSpanAndSeedZeroWorks) {
  for (const double rate : {100.0, 5000.0, 200000.0}) {
    Collector c;
    ASSERT_TRUE(sim::generate("mixed", {.packets = 20000, .seed = 0, .rate_pps = rate}, c).ok());
    const double span = static_cast<double>(c.pkts.back().ts - c.pkts.front().ts) / 1e9;
    EXPECT_NEAR(span, 20000 / rate, 20000 / rate * 0.15) << rate;
  }
}

TEST(Scenarios, SlowScanSpansItsProbesWhateverTheRate) {
  Collector c;
  auto r = sim::generate("slow-scan", {.packets = 5000, .rate_pps = 1000}, c);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->truth.size(), 1u);
  EXPECT_GE((r->truth[0].last - r->truth[0].first).to_seconds(), 39 * 15.0);
}

TEST(Scenarios, TruthJsonCarriesTheFindings) {
  Collector c;
  auto r = sim::generate("mixed", {.packets = 30000, .seed = 3}, c);
  ASSERT_TRUE(r.ok());
  const auto j = nlohmann::json::parse(truth_to_json(*r));
  EXPECT_EQ(j["scenario"], "mixed");
  EXPECT_EQ(j["packets"], 30000);
  EXPECT_EQ(j["seed"], 3);
  EXPECT_EQ(j["victim"], "198.18.0.10");
  EXPECT_EQ(j["snaplen"], 65535);
  EXPECT_EQ(j["ipv6"], false);
  ASSERT_EQ(j["truth"].size(), r->truth.size());
  std::set<std::string> detectors;
  for (const auto& t : j["truth"]) {
    detectors.insert(t["detector"].get<std::string>());
    EXPECT_TRUE(t["first"].is_string());
    EXPECT_GT(t["packets"].get<uint64_t>(), 0u);
  }
  EXPECT_EQ(detectors, (std::set<std::string>{"syn_flood", "port_scan", "conn_rate", "large_packet", "spoofed_flood"}));
  const auto& spoofed = *std::find_if(j["truth"].begin(), j["truth"].end(),
                                      [](const auto& t) { return t["detector"] == "spoofed_flood"; });
  EXPECT_EQ(spoofed["source_prefix"], "198.18.0.0/15");
  EXPECT_TRUE(spoofed["sources"].empty());
  EXPECT_EQ(spoofed["target_port"], 443);
}

// Reads a classic little-endian microsecond pcap the simple way.
struct PcapRecords {
  uint32_t snaplen = 0, link = 0, magic = 0;
  std::vector<std::pair<uint32_t, uint32_t>> lens;  // captured, wire
};
PcapRecords read_pcap(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  PcapRecords r;
  if (d.size() < 24) return r;
  r.magic = core::load_le32(d, 0);
  r.snaplen = core::load_le32(d, 16);
  r.link = core::load_le32(d, 20);
  for (size_t at = 24; at + 16 <= d.size();) {
    const uint32_t cap = core::load_le32(d, at + 8);
    r.lens.emplace_back(cap, core::load_le32(d, at + 12));
    at += 16 + cap;
  }
  return r;
}

TEST(Scenarios, WritePcapWritesEveryFrame) {
  const std::string path = ::testing::TempDir() + "/sim_scenario_test.pcap";
  auto r = write_pcap("scan-udp", {.packets = 5000, .snaplen = 128}, path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  Collector c;
  ASSERT_TRUE(sim::generate("scan-udp", {.packets = 5000, .snaplen = 128}, c).ok());
  const PcapRecords p = read_pcap(path);
  EXPECT_EQ(p.magic, 0xa1b2c3d4u);
  EXPECT_EQ(p.snaplen, 128u);
  EXPECT_EQ(p.link, 1u);
  ASSERT_EQ(p.lens.size(), 5000u);
  for (size_t i = 0; i < p.lens.size(); ++i) {
    EXPECT_EQ(p.lens[i].first, c.pkts[i].cap);
    EXPECT_EQ(p.lens[i].second, c.pkts[i].wire);
  }
  std::remove(path.c_str());
}

TEST(Scenarios, WritePcapReportsBadPathsAndBadOptions) {
  auto r = write_pcap("benign", {.packets = 2000}, "/nonexistent-dir/x.pcap");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent-dir/x.pcap"), std::string::npos) << r.error().message;
  const std::string path = ::testing::TempDir() + "/sim_bad_options.pcap";
  std::remove(path.c_str());
  auto bad = write_pcap("nope", {}, path);
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(std::ifstream(path).good()) << "no file for options that are rejected";
}

}  // namespace
}  // namespace picket::sim
