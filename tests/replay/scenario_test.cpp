// Every simulator scenario through the whole engine (normal profile): each attack in the ground
// truth is reported by the right detector, for the right source and scan type, nothing else is
// reported, and 1 and 2 workers write the same alerts.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "detect/testing/harness.hpp"
#include "engine/engine.hpp"
#include "output/event.hpp"
#include "output/sinks.hpp"
#include "sim/packet_builder.hpp"
#include "sim/scenario.hpp"

namespace picket {
namespace {

using Json = nlohmann::ordered_json;

const config::Config& normal_config() {
  static const config::Config cfg = detect::testing::test_config();
  return cfg;
}

struct Replay {
  std::vector<output::Event> alerts;
  std::vector<std::string> alert_lines;
  sim::SimSummary summary;
  engine::EngineTotals totals;
};

Replay replay(const std::string& scenario, bool ipv6, uint32_t workers = 1) {
  sim::ScenarioOptions opts;
  opts.ipv6 = ipv6;
  auto run = detect::testing::run_engine(normal_config(), scenario, opts, workers);
  Replay r;
  r.summary = std::move(run.summary);
  r.totals = run.totals;
  for (auto& e : run.events) {
    if (e.type == output::EventType::alert) r.alerts.push_back(std::move(e));
  }
  r.alert_lines = detect::testing::alert_lines(r.alerts);
  return r;
}

std::string str(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// Does this alert report this piece of ground truth?
bool matches(const output::Event& a, const sim::Truth& t) {
  if (str(a.picket, "detector") != t.detector) return false;
  const Json& ev = a.picket.contains("evidence") ? a.picket["evidence"] : Json::object();
  if (!t.scan_type.empty() && str(ev, "scan_type") != t.scan_type) return false;
  const std::string kind = str(a.picket, "kind");
  if (t.scan_kind == "sweep" && kind != "sweep" && str(ev, "scan_kind") != "sweep") return false;
  if (t.scan_kind == "slow" && kind != "slow_scan" && str(ev, "scan_kind") != "slow") return false;
  if (t.detector == "subnet_conn") return t.source_prefix && str(a.picket, "source_prefix") == t.source_prefix->to_string();
  if (t.detector == "spoofed_flood") {
    return a.dest_ip == t.target && (!t.target_port || a.dest_port == t.target_port);
  }
  if (t.detector == "distributed_scan") return a.dest_ip == t.target;
  return std::find(t.sources.begin(), t.sources.end(), a.src_ip) != t.sources.end();
}

// Is this alert about an attacker or victim of the ground truth at all?
bool accounted_for(const output::Event& a, const std::vector<sim::Truth>& truth) {
  for (const auto& t : truth) {
    if (str(a.picket, "detector") != t.detector) continue;
    if (matches(a, t)) return true;
    // Other kinds of the same detector about the same attack (updates, decoys, a persistent tier).
    if (std::find(t.sources.begin(), t.sources.end(), a.src_ip) != t.sources.end()) return true;
    if (t.source_prefix && str(a.picket, "source_prefix") == t.source_prefix->to_string()) return true;
    if (t.source_prefix && !a.src_ip.empty() && t.source_prefix->contains(a.src_ip)) return true;
    if (t.sources.empty() && a.src_ip.empty() && a.dest_ip == t.target) return true;
    if (t.detector == "distributed_scan" && a.dest_ip == t.target) return true;
  }
  return false;
}

class ScenarioReplay : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(ScenarioReplay, ReportsExactlyTheGroundTruth) {
  const auto& [scenario, ipv6] = GetParam();
  const Replay r = replay(scenario, ipv6);
  for (const auto& t : r.summary.truth) {
    const bool found = std::any_of(r.alerts.begin(), r.alerts.end(), [&](const auto& a) { return matches(a, t); });
    EXPECT_TRUE(found) << scenario << (ipv6 ? " (IPv6)" : "") << ": no " << t.detector << " alert for "
                       << (t.sources.empty() ? t.target.to_string() : t.sources.front().to_string())
                       << " scan_type=" << t.scan_type << " scan_kind=" << t.scan_kind;
  }
  for (size_t i = 0; i < r.alerts.size(); ++i) {
    EXPECT_TRUE(accounted_for(r.alerts[i], r.summary.truth)) << scenario << ": unexpected alert " << r.alert_lines[i];
  }
  if (r.summary.truth.empty()) {
    EXPECT_TRUE(r.alerts.empty()) << scenario << " must give no alert";
  }
}

std::vector<std::tuple<std::string, bool>> all_scenarios() {
  std::vector<std::tuple<std::string, bool>> out;
  for (const auto& s : sim::scenarios()) {
    out.emplace_back(std::string(s.name), false);
    out.emplace_back(std::string(s.name), true);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllScenarios, ScenarioReplay, ::testing::ValuesIn(all_scenarios()),
                         [](const auto& param_info) {
                           const auto& p = param_info.param;
                           std::string n = std::get<0>(p) + (std::get<1>(p) ? "_ipv6" : "");
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(Workers, TwoWorkersWriteTheSameAlertsAsOne) {
  for (bool ipv6 : {false, true}) {
    const Replay one = replay("mixed", ipv6, 1);
    const Replay two = replay("mixed", ipv6, 2);
    ASSERT_FALSE(one.alert_lines.empty());
    EXPECT_EQ(one.alert_lines, two.alert_lines);
  }
}

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Five million spoofed sources cannot grow state past its caps, and the one real attacker
// scanning under cover of the flood is still found.
TEST(BoundedState, FiveMillionSpoofedSourcesStayUnderTheCaps) {
  output::MemorySink sink;
  const auto& cfg = normal_config();
  engine::Engine eng(cfg, engine::EngineSettings::from_config(cfg), core::link_type::kEthernet, sink);
  const auto victim = *core::IpAddress::parse("198.18.0.10");
  const auto scanner = *core::IpAddress::parse("198.19.0.40");
  std::vector<uint8_t> frame;
  core::Timestamp ts = sim::kSimStart;
  const long rss_before = peak_rss_kib();
  auto feed = [&] {
    core::RawPacket p;
    p.ts = ts;
    p.data = frame.data();
    p.cap_len = p.wire_len = static_cast<uint32_t>(frame.size());
    eng.process(p);
  };
  constexpr uint32_t kSpoofed = 5'000'000;
  uint16_t port = 1;
  for (uint32_t i = 0; i < kSpoofed; ++i) {
    ts = ts + core::Duration::micros(2);  // 500 kpps for 10 s
    // Sources spread over the whole IPv4 space except the real scanner (multiplicative hash).
    const uint32_t src = (i + 1) * 2654435761u;
    sim::PacketBuilder().ipv4(core::IpAddress::v4(src), victim).tcp(static_cast<uint16_t>(1024 + i % 50000), 80,
                                                                    core::tcp_flag::kSyn, i).build_into(frame);
    feed();
    if (i % 5000 == 0 && port < 1000) {  // the scanner: one probe per 10 ms, answered with RST
      sim::PacketBuilder().ipv4(scanner, victim).tcp(40000, port, core::tcp_flag::kSyn, 7).build_into(frame);
      feed();
      sim::PacketBuilder().ipv4(victim, scanner).tcp(port, 40000, core::tcp_flag::kRst | core::tcp_flag::kAck, 0, 8)
          .build_into(frame);
      feed();
      ++port;
    }
  }
  eng.finish();
  bool scanner_found = false, spoofed_found = false;
  const output::Event* final_stats = nullptr;
  for (const auto& e : sink.events()) {
    if (e.type == output::EventType::stats) final_stats = &e;
    if (e.type != output::EventType::alert) continue;
    const std::string det = e.picket["detector"].get<std::string>();
    if (det == "port_scan" && e.src_ip == scanner) scanner_found = true;
    if (det == "spoofed_flood") spoofed_found = true;
    // No spoofed source may be reported as an offender on its own.
    if (!e.src_ip.empty()) {
      EXPECT_EQ(e.src_ip, scanner) << output::to_json_line(e);
    }
  }
  EXPECT_TRUE(scanner_found);
  EXPECT_TRUE(spoofed_found);
  ASSERT_NE(final_stats, nullptr);
  const Json& body = final_stats->body;
  EXPECT_LE(body["flows"]["tracked"].get<uint64_t>(), body["flows"]["capacity"].get<uint64_t>());
  for (const auto& [name, d] : body["detectors"].items()) {
    EXPECT_LE(d["tracked"].get<uint64_t>(), d["capacity"].get<uint64_t>()) << name;
  }
  // State is allocated up front at its caps; the flood itself adds nothing that grows with it.
  const long grown_kib = peak_rss_kib() - rss_before;
  EXPECT_LT(grown_kib, 512 * 1024) << "peak RSS grew by " << grown_kib << " KiB";
}

}  // namespace
}  // namespace picket
