// port_scan on the simulator's scenarios (normal profile), IPv4 and IPv6: every scan gives a
// finding for exactly the ground truth's source with its scan type and kind; every other
// scenario gives none.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "detect/port_scan/port_scan.hpp"
#include "detect/testing/harness.hpp"
#include "sim/scenario.hpp"

namespace picket::detect::port_scan {
namespace {

struct ScenarioRun {
  sim::SimSummary summary;
  std::vector<Finding> findings;
};

ScenarioRun run(const std::string& scenario, bool ipv6, config::Profile profile = config::Profile::normal) {
  testing::Harness h(create(testing::test_config(profile)), false);
  sim::ScenarioOptions opts;
  opts.ipv6 = ipv6;
  ScenarioRun r;
  r.summary = h.scenario(scenario, opts);
  r.findings = h.finish();
  return r;
}

std::string ev_str(const Finding& f, const char* key) {
  return f.evidence.contains(key) && f.evidence[key].is_string() ? f.evidence[key].get<std::string>() : std::string();
}

std::string describe(const Finding& f) { return f.source.to_string() + " " + std::string(f.kind) + " " + f.evidence.dump(); }

// The kind and scan_kind a finding must have for a piece of ground truth.
std::pair<std::string, std::string> expected_shape(const sim::Truth& t) {
  if (t.scan_kind == "sweep") return {"sweep", "sweep"};
  if (t.scan_kind == "slow") return {"port_scan", "slow"};
  return {"port_scan", "vertical"};
}

void expect_matches_truth(const ScenarioRun& r, const std::string& label) {
  std::vector<const sim::Truth*> scans;
  for (const auto& t : r.summary.truth) {
    if (t.detector == "port_scan") scans.push_back(&t);
  }
  ASSERT_FALSE(scans.empty()) << label;
  std::set<core::IpAddress> want_sources;
  for (const auto* t : scans) {
    ASSERT_EQ(t->sources.size(), 1u) << label;
    want_sources.insert(t->sources.front());
  }
  // Every finding is about one of the truth's scanners, with its type and shape.
  std::set<core::IpAddress> got_sources;
  for (const auto& f : r.findings) {
    EXPECT_EQ(f.detector, "port_scan");
    const auto it = std::find_if(scans.begin(), scans.end(), [&](const sim::Truth* t) { return t->sources.front() == f.source; });
    ASSERT_NE(it, scans.end()) << label << ": finding for an address that is no scanner: " << describe(f);
    const auto [kind, scan_kind] = expected_shape(**it);
    EXPECT_EQ(f.kind, kind) << label << ": " << describe(f);
    EXPECT_EQ(ev_str(f, "scan_kind"), scan_kind) << label << ": " << describe(f);
    EXPECT_EQ(ev_str(f, "scan_type"), (*it)->scan_type) << label << ": " << describe(f);
    EXPECT_EQ(f.severity, Severity::high) << label;
    if (scan_kind == "sweep") {
      EXPECT_EQ(f.target_port, (*it)->target_port) << label;
    } else {
      EXPECT_EQ(f.target, (*it)->target) << label << ": " << describe(f);
    }
    EXPECT_GE(f.ts, (*it)->first) << label;
    if (!f.update) {
      // Fast scans are reported within seconds (a sweep waits for the probe timeout); nmap -T1
      // within minutes.
      const core::Duration limit = scan_kind == "slow" ? core::Duration::minutes(4) : core::Duration::seconds(8);
      EXPECT_LE(f.ts - (*it)->first, limit) << label << ": reported at " << core::format_iso8601(f.ts);
    }
    got_sources.insert(f.source);
  }
  EXPECT_EQ(got_sources, want_sources) << label;
  // One first report per scanner; anything more is a periodic update.
  std::map<core::IpAddress, int> firsts;
  for (const auto& f : r.findings) firsts[f.source] += f.update ? 0 : 1;
  for (const auto& [src, n] : firsts) EXPECT_EQ(n, 1) << label << ": " << src.to_string();
}

class ScanScenarios : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(ScanScenarios, FindsExactlyTheScanner) {
  const auto& [name, ipv6] = GetParam();
  const ScenarioRun r = run(name, ipv6);
  expect_matches_truth(r, name + (ipv6 ? " (IPv6)" : ""));
}

INSTANTIATE_TEST_SUITE_P(Scans, ScanScenarios,
                         ::testing::Combine(::testing::Values("scan-syn", "scan-fin", "scan-null", "scan-xmas", "scan-ack",
                                                              "scan-maimon", "scan-udp", "scan-ipproto", "slow-scan",
                                                              "sweep", "mixed"),
                                            ::testing::Bool()),
                         [](const auto& tp) {
                           std::string n = std::get<0>(tp.param) + (std::get<1>(tp.param) ? "_ipv6" : "");
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(ScanScenarios, MixedFindsAllThreeScanners) {
  for (bool ipv6 : {false, true}) {
    const ScenarioRun r = run("mixed", ipv6);
    std::map<std::string, std::string> types;  // source -> scan_type/kind
    for (const auto& f : r.findings) types[f.source.to_string()] = ev_str(f, "scan_type") + "/" + std::string(f.kind);
    const std::string p = ipv6 ? "2001:db8:1::" : "198.19.0.";
    const std::map<std::string, std::string> want = {
        {p + (ipv6 ? "28" : "40"), "syn/port_scan"}, {p + (ipv6 ? "2a" : "42"), "udp/port_scan"}, {p + (ipv6 ? "32" : "50"), "syn/sweep"}};
    EXPECT_EQ(types, want) << (ipv6 ? "IPv6" : "IPv4");
  }
}

// Scenarios without a port scan: not one finding, whatever else they hold. In
// `distributed-scan` each source probes only a slice of 8 ports and the decoys are forged
// addresses; the distributed_scan detector reports the aggregate, and port_scan stays silent
// below its per-source thresholds (docs/detectors/port_scan.md).
class QuietScenarios : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(QuietScenarios, NoFinding) {
  const auto& [name, ipv6] = GetParam();
  const ScenarioRun r = run(name, ipv6);
  for (const auto& f : r.findings) ADD_FAILURE() << name << (ipv6 ? " (IPv6)" : "") << ": " << describe(f);
}

INSTANTIATE_TEST_SUITE_P(Others, QuietScenarios,
                         ::testing::Combine(::testing::Values("benign", "syn-flood", "rate-abuse", "conn-flood",
                                                              "large-packets", "spoofed-syn-flood", "distributed-scan"),
                                            ::testing::Bool()),
                         [](const auto& tp) {
                           std::string n = std::get<0>(tp.param) + (std::get<1>(tp.param) ? "_ipv6" : "");
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// The same capture gives the same findings, byte for byte.
TEST(ScanScenarios, Deterministic) {
  const ScenarioRun a = run("mixed", false);
  const ScenarioRun b = run("mixed", false);
  ASSERT_EQ(a.findings.size(), b.findings.size());
  for (size_t i = 0; i < a.findings.size(); ++i) {
    EXPECT_EQ(describe(a.findings[i]), describe(b.findings[i]));
    EXPECT_EQ(a.findings[i].ts, b.findings[i].ts);
  }
}

}  // namespace
}  // namespace picket::detect::port_scan
