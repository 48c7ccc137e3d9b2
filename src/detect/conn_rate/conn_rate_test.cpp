#include "detect/conn_rate/conn_rate.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "detect/testing/harness.hpp"
#include "engine/engine.hpp"
#include "output/sinks.hpp"
#include "sim/packet_builder.hpp"
#include "sim/scenario.hpp"

namespace picket::detect::conn_rate {
namespace {

using config::Profile;
using core::Duration;
using core::IpAddress;
using core::Timestamp;
using testing::Harness;
using testing::test_config;
namespace tf = core::tcp_flag;

const Timestamp kT0 = Timestamp::from_parts(1'767'225'600, 0);
const IpAddress kServer = *IpAddress::parse("198.18.0.10");
const IpAddress kClient = *IpAddress::parse("198.19.0.20");
const IpAddress kServer6 = *IpAddress::parse("2001:db8::a");
const IpAddress kClient6 = *IpAddress::parse("2001:db8:1:0::14");

std::unique_ptr<Detector> make(std::string_view overrides, Profile p = Profile::normal) {
  auto d = create(test_config(p, overrides));
  EXPECT_NE(d, nullptr);
  return d;
}

struct Net {
  explicit Net(std::string_view overrides) : h(make(overrides), false) {}

  void tcp(Timestamp t, const IpAddress& s, const IpAddress& d, uint16_t sp, uint16_t dp, uint8_t fl, uint32_t seq,
           uint32_t ack) {
    sim::PacketBuilder b;
    if (s.is_v6())
      b.ipv6(s, d);
    else
      b.ipv4(s, d);
    b.tcp(sp, dp, fl, seq, ack).build_into(buf);
    h.frame(t, buf);
  }
  // A short connection: handshake (completed unless `complete` is false), then FIN close.
  void connection(Timestamp t, const IpAddress& client, uint16_t cport, const IpAddress& server, uint16_t sport,
                  bool complete = true) {
    const uint32_t cseq = 1000u + cport, sseq = 70'000u + cport;
    tcp(t, client, server, cport, sport, tf::kSyn, cseq, 0);
    tcp(t + Duration::micros(100), server, client, sport, cport, tf::kSyn | tf::kAck, sseq, cseq + 1);
    if (!complete) return;
    tcp(t + Duration::micros(200), client, server, cport, sport, tf::kAck, cseq + 1, sseq + 1);
    tcp(t + Duration::micros(300), client, server, cport, sport, tf::kFin | tf::kAck, cseq + 1, sseq + 1);
    tcp(t + Duration::micros(400), server, client, sport, cport, tf::kFin | tf::kAck, sseq + 1, cseq + 2);
  }

  Harness h;
  std::vector<uint8_t> buf;
};

// ---- thresholds ----

struct LimitCase {
  const char* name;
  int connections;
  bool reported;
};

class ConnRateLimit : public ::testing::TestWithParam<LimitCase> {};

TEST_P(ConnRateLimit, CountsCompletedHandshakesOnly) {
  const auto& c = GetParam();
  for (bool v6 : {false, true}) {
    Net n("detect:\n  conn_rate:\n    limit: 20\n    interval: 60s\n");
    const IpAddress client = v6 ? kClient6 : kClient;
    const IpAddress server = v6 ? kServer6 : kServer;
    uint16_t port = 40'000;
    for (int i = 0; i < c.connections; ++i) n.connection(kT0 + Duration::seconds(i), client, port++, server, 443);
    // Handshakes it never completes do not count, however many.
    for (int i = 0; i < 100; ++i) {
      n.connection(kT0 + Duration::seconds(25) + Duration::millis(10 * i), client, port++, server, 443, false);
    }
    const auto& f = n.h.finish();
    ASSERT_EQ(f.size(), c.reported ? 1u : 0u) << c.name << (v6 ? " v6" : " v4");
    if (!c.reported) continue;
    EXPECT_EQ(f[0].source, client);
    EXPECT_EQ(f[0].evidence["connections"].get<int>(), 21);  // the first one over the limit
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ConnRateLimit,
                         ::testing::Values(LimitCase{"below", 19, false}, LimitCase{"at", 20, false},
                                           LimitCase{"above", 21, true}),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(ConnRate, WindowSlidesWithoutBoundaries) {
  const std::string cfg = "detect:\n  conn_rate:\n    limit: 10\n    interval: 60s\n";
  {
    // 10 per minute, evenly: never more than 10 within any 60 s (the window is 55-60 s wide).
    Net n(cfg);
    uint16_t port = 40'000;
    for (int i = 0; i < 60; ++i) n.connection(kT0 + Duration::seconds(6 * i), kClient, port++, kServer, 443);
    EXPECT_TRUE(n.h.finish().empty());
  }
  {
    // 6 just before a minute mark and 6 just after: a counter reset every minute would miss them.
    Net n(cfg);
    uint16_t port = 40'000;
    for (int i = 0; i < 6; ++i) n.connection(kT0 + Duration::millis(59'000 + 100 * i), kClient, port++, kServer, 443);
    for (int i = 0; i < 6; ++i) n.connection(kT0 + Duration::millis(61'000 + 100 * i), kClient, port++, kServer, 443);
    EXPECT_EQ(n.h.finish().size(), 1u);
  }
}

TEST(ConnRate, OneReportThenUpdatesThenANewEpisode) {
  Net n("detect:\n  conn_rate:\n    limit: 10\n    interval: 10s\n    update_interval: 30s\n");
  uint16_t port = 20'000;
  // 100 s at 2 connections/s, 30 s of quiet (more than the window), then 15 more within 3 s.
  for (int i = 0; i < 200; ++i) n.connection(kT0 + Duration::millis(500 * i), kClient, port++, kServer, 443);
  const Timestamp second = kT0 + Duration::seconds(130);
  for (int i = 0; i < 15; ++i) n.connection(second + Duration::millis(200 * i), kClient, port++, kServer, 443);
  const auto& f = n.h.finish();
  ASSERT_EQ(f.size(), 5u);  // first at ~5.5 s, updates at ~35.5, 65.5, 95.5 s, then a new first
  EXPECT_FALSE(f[0].update);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_TRUE(f[i].update);
    EXPECT_GE((f[i].ts - f[i - 1].ts).ns, Duration::seconds(30).ns);
  }
  EXPECT_FALSE(f[4].update);
  EXPECT_GE(f[4].ts, second);
}

TEST(ConnRate, FindingFields) {
  Net n("detect:\n  conn_rate:\n    limit: 5\n    interval: 60s\n");
  for (int i = 0; i < 6; ++i)
    n.connection(kT0 + Duration::seconds(i), kClient, static_cast<uint16_t>(30'000 + i), kServer, 443);
  const auto& f = n.h.finish();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].detector, "conn_rate");
  EXPECT_EQ(f[0].kind, "conn_rate");
  EXPECT_EQ(f[0].severity, Severity::medium);
  EXPECT_EQ(f[0].signature_id, 2'003'001u);
  EXPECT_EQ(f[0].source, kClient);
  EXPECT_EQ(f[0].target, kServer);
  EXPECT_EQ(f[0].target_port, uint16_t{443});
  EXPECT_EQ(f[0].proto, 6);
  EXPECT_FALSE(f[0].update);
  const auto& e = f[0].evidence;
  EXPECT_EQ(e["connections"].get<int>(), 6);
  EXPECT_EQ(e["limit"].get<int>(), 5);
  EXPECT_DOUBLE_EQ(e["interval"].get<double>(), 60.0);
  EXPECT_DOUBLE_EQ(e["window"].get<double>(), 60.0);
  EXPECT_DOUBLE_EQ(e["rate"].get<double>(), 0.1);
  EXPECT_EQ(e["ports"], nlohmann::ordered_json::array({443}));
  EXPECT_EQ(e["targets"].get<int>(), 1);
  EXPECT_EQ(e["first_seen"].get<std::string>(), core::format_iso8601(kT0 + Duration::micros(200)));
  EXPECT_EQ(e["last_seen"].get<std::string>(), core::format_iso8601(f[0].ts));

  // Several servers and ports: none is named.
  Net m("detect:\n  conn_rate:\n    limit: 5\n");
  for (int i = 0; i < 6; ++i) {
    m.connection(kT0 + Duration::seconds(i), kClient, static_cast<uint16_t>(30'000 + i),
                 IpAddress::v4(0xC6120010u + static_cast<uint32_t>(i % 3)), static_cast<uint16_t>(8000 + i));
  }
  const auto& g = m.h.finish();
  ASSERT_EQ(g.size(), 1u);
  EXPECT_TRUE(g[0].target.empty());
  EXPECT_FALSE(g[0].target_port.has_value());
  EXPECT_EQ(g[0].evidence["ports"].size(), 4u);
  EXPECT_GE(g[0].evidence["targets"].get<int>(), 2);
}

// ---- bounded state ----

// Hand-made contexts: a million addresses with one connection each through a table of 1024
// entries, and one abuser that reaches half the limit early and then connects only once per
// 10 000 of the others.
TEST(ConnRate, ManyOneOffClientsCannotPushOutAnAbuser) {
  auto d = make("detect:\n  conn_rate:\n    limit: 100\n    interval: 60s\n    capacity: 1024\n");
  struct Sink : FindingSink {
    void add(Finding&& f) override { got.push_back(std::move(f)); }
    std::vector<Finding> got;
  } sink;
  const uint64_t memory = d->stats().memory_bytes;
  core::PacketMeta m;
  m.flags = core::meta_flag::kHasIp | core::meta_flag::kHasPorts;
  m.ip_proto = 6;
  m.tcp_flags = tf::kAck;
  m.dst = kServer;
  m.dst_port = 443;
  PacketContext ctx;
  ctx.meta = &m;
  ctx.flow = FlowEvent::established;
  ctx.from_actor = true;
  auto established = [&](Timestamp t, const IpAddress& src) {
    m.ts = t;
    m.src = src;
    ctx.actor = src;
    d->on_packet(ctx, sink);
  };
  Timestamp t = kT0;
  for (int i = 0; i < 60; ++i) established(t, kClient);
  for (uint32_t i = 0; i < 1'000'000; ++i) {
    t = t + Duration::micros(20);
    established(t, IpAddress::v4(0x0A000000u + i));
    if (i % 10'000 == 0) established(t, kClient);
    if (i % 5'000 == 0) d->on_tick(t, sink);
  }
  const auto st = d->stats();
  EXPECT_LE(st.tracked, 1024u);
  EXPECT_EQ(st.memory_bytes, memory);
  EXPECT_GE(st.evictions, 1'000'000u - 1024u);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].source, kClient);
  EXPECT_EQ(sink.got[0].evidence["connections"].get<int>(), 101);
  EXPECT_LE(st.memory_bytes / st.capacity, 256u);
  std::cout << "conn_rate bytes per entry: " << st.memory_bytes / st.capacity << "\n";
}

// ---- configuration ----

TEST(ConnRate, ProfilesAndDisabling) {
  struct Want {
    Profile p;
    int64_t limit;
    int64_t capacity;
  };
  for (const Want& w : {Want{Profile::normal, 100, 65'536}, Want{Profile::aggressive, 50, 65'536},
                        Want{Profile::paranoid, 30, 262'144}}) {
    const auto cfg = test_config(w.p);
    EXPECT_EQ(cfg.integer("detect.conn_rate.limit"), w.limit);
    EXPECT_EQ(cfg.duration("detect.conn_rate.interval"), Duration::seconds(60));
    EXPECT_EQ(cfg.integer("detect.conn_rate.capacity"), w.capacity);
    EXPECT_EQ(cfg.duration("detect.conn_rate.update_interval"), Duration::seconds(60));
    auto d = create(cfg);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->name(), "conn_rate");
  }
  // The seed's own values load as written.
  const auto seed = test_config(Profile::normal, "detect:\n  conn_rate:\n    limit: 50\n    interval: 60s\n");
  EXPECT_EQ(seed.integer("detect.conn_rate.limit"), 50);
  EXPECT_EQ(create(test_config(Profile::normal, "detect:\n  conn_rate:\n    enabled: false\n")), nullptr);
}

TEST(ConnRate, BadConfigIsRefused) {
  for (const char* bad : {"limit: 0", "limit: -1", "limit: lots", "interval: 0s", "interval: 2d", "capacity: 1",
                          "update_interval: 0s", "rate_limit: 50"}) {
    EXPECT_THROW(test_config(Profile::normal, std::string("detect:\n  conn_rate:\n    ") + bad + "\n"),
                 std::runtime_error)
        << bad;
  }
}

// ---- simulator scenarios ----

struct ScenarioCase {
  const char* name;
  bool v6;
};

std::string case_name(const ScenarioCase& c) {
  std::string s = c.name;
  for (char& ch : s) {
    if (ch == '-') ch = '_';
  }
  return s + (c.v6 ? "_v6" : "_v4");
}

class ConnRateScenario : public ::testing::TestWithParam<ScenarioCase> {};

TEST_P(ConnRateScenario, FindsExactlyTheAbuser) {
  Harness h(make(""), false);
  sim::ScenarioOptions o;
  o.ipv6 = GetParam().v6;
  const auto sum = h.scenario(GetParam().name, o);
  const auto& f = h.finish();
  const sim::Truth* truth = nullptr;
  for (const auto& t : sum.truth) {
    if (t.detector == "conn_rate") truth = &t;
  }
  ASSERT_NE(truth, nullptr);
  ASSERT_EQ(truth->sources.size(), 1u);
  ASSERT_FALSE(f.empty());
  size_t firsts = 0;
  for (const auto& x : f) {
    EXPECT_EQ(x.detector, "conn_rate");
    EXPECT_EQ(x.source, truth->sources[0]);
    EXPECT_EQ(x.target, truth->target);
    EXPECT_EQ(x.target_port, truth->target_port);
    EXPECT_GT(x.evidence["connections"].get<int>(), 100);
    firsts += x.update ? 0 : 1;
  }
  EXPECT_EQ(firsts, 1u);
}

INSTANTIATE_TEST_SUITE_P(Attacks, ConnRateScenario,
                         ::testing::Values(ScenarioCase{"rate-abuse", false}, ScenarioCase{"rate-abuse", true},
                                           ScenarioCase{"mixed", false}, ScenarioCase{"mixed", true}),
                         [](const auto& p) { return case_name(p.param); });

class ConnRateQuiet : public ::testing::TestWithParam<ScenarioCase> {};

TEST_P(ConnRateQuiet, ReportsNothing) {
  sim::ScenarioOptions o;
  o.ipv6 = GetParam().v6;
  for (Profile p : config::kAllProfiles) {
    Harness h(make("", p), false);
    h.scenario(GetParam().name, o);
    const auto& f = h.finish();
    EXPECT_TRUE(f.empty()) << config::profile_name(p) << ": " << f.size() << " findings, first from "
                           << f.front().source.to_string();
  }
}

INSTANTIATE_TEST_SUITE_P(Others, ConnRateQuiet,
                         ::testing::Values(ScenarioCase{"benign", false}, ScenarioCase{"benign", true},
                                           ScenarioCase{"syn-flood", false}, ScenarioCase{"syn-flood", true},
                                           ScenarioCase{"spoofed-syn-flood", false}, ScenarioCase{"conn-flood", false},
                                           ScenarioCase{"conn-flood", true}, ScenarioCase{"scan-syn", false},
                                           ScenarioCase{"scan-syn", true}, ScenarioCase{"scan-fin", false},
                                           ScenarioCase{"scan-ack", false}, ScenarioCase{"scan-udp", false},
                                           ScenarioCase{"slow-scan", false}, ScenarioCase{"distributed-scan", false},
                                           ScenarioCase{"sweep", false}, ScenarioCase{"sweep", true},
                                           ScenarioCase{"large-packets", false}),
                         [](const auto& p) { return case_name(p.param); });

// ---- the engine: 1 and 4 workers write the same alerts ----

std::vector<std::string> engine_alerts(const std::string& scenario, bool v6, uint32_t workers) {
  sim::ScenarioOptions o;
  o.ipv6 = v6;
  return testing::alert_lines(testing::run_engine(test_config(), scenario, o, workers).events, "conn_rate");
}

TEST(ConnRate, SameAlertsWithOneOrFourWorkers) {
  for (const char* scenario : {"rate-abuse", "mixed"}) {
    for (bool v6 : {false, true}) {
      const auto one = engine_alerts(scenario, v6, 1);
      EXPECT_FALSE(one.empty()) << scenario;
      EXPECT_EQ(one, engine_alerts(scenario, v6, 4)) << scenario << (v6 ? " v6" : " v4");
    }
  }
}

}  // namespace
}  // namespace picket::detect::conn_rate
