#include "detect/syn_flood/syn_flood.hpp"

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

namespace picket::detect::syn_flood {
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
const IpAddress kFlooder = *IpAddress::parse("198.19.0.10");
const IpAddress kServer6 = *IpAddress::parse("2001:db8::a");
const IpAddress kFlooder6 = *IpAddress::parse("2001:db8:1:0::a");

std::unique_ptr<Detector> make(std::string_view overrides, Profile p = Profile::normal) {
  auto d = create(test_config(p, overrides));
  EXPECT_NE(d, nullptr);
  return d;
}

// Hand-built TCP exchanges, frame by frame, through decode → attribution → flows → detector.
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
  // A SYN from `client` and the server's SYN-ACK; then, per `end`, nothing, the ACK that completes
  // the handshake, or a RST (what nmap sends to an open port).
  enum class End { open, complete, reset };
  void handshake(Timestamp t, const IpAddress& client, uint16_t cport, const IpAddress& server, uint16_t sport,
                 End end = End::open) {
    const uint32_t cseq = 1000u + cport, sseq = 50'000u + cport;
    tcp(t, client, server, cport, sport, tf::kSyn, cseq, 0);
    tcp(t + Duration::micros(200), server, client, sport, cport, tf::kSyn | tf::kAck, sseq, cseq + 1);
    if (end == End::complete)
      tcp(t + Duration::micros(400), client, server, cport, sport, tf::kAck, cseq + 1, sseq + 1);
    if (end == End::reset) tcp(t + Duration::micros(400), client, server, cport, sport, tf::kRst, cseq + 1, 0);
  }

  std::vector<Finding> findings() { return h.finish(); }

  Harness h;
  std::vector<uint8_t> buf;
};

// ---- thresholds ----

struct ThresholdCase {
  const char* name;
  int half_open;
  int completed;
  int reported_at;  // half-open count in the finding; 0 = no finding
};

class SynFloodThreshold : public ::testing::TestWithParam<ThresholdCase> {};

TEST_P(SynFloodThreshold, HalfOpenAndCompletionRatio) {
  const auto& c = GetParam();
  for (bool v6 : {false, true}) {
    Net n("detect:\n  syn_flood:\n    threshold: 20\n    max_completion_ratio: 0.5\n");
    const IpAddress client = v6 ? kFlooder6 : kFlooder;
    const IpAddress server = v6 ? kServer6 : kServer;
    Timestamp t = kT0;
    // Completions first, so every check sees them.
    for (int i = 0; i < c.completed; ++i, t = t + Duration::millis(10)) {
      n.handshake(t, client, static_cast<uint16_t>(20'000 + i), server, 80, Net::End::complete);
    }
    for (int i = 0; i < c.half_open; ++i, t = t + Duration::millis(10)) {
      n.handshake(t, client, static_cast<uint16_t>(30'000 + i), server, 80);
    }
    const auto f = n.findings();
    ASSERT_EQ(f.size(), c.reported_at != 0 ? 1u : 0u) << c.name << (v6 ? " v6" : " v4");
    if (c.reported_at == 0) continue;
    EXPECT_EQ(f[0].source, client);
    EXPECT_EQ(f[0].evidence["half_open"].get<int>(), c.reported_at);  // reported the moment it got there
    EXPECT_EQ(f[0].evidence["completed"].get<int>(), c.completed);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, SynFloodThreshold,
                         ::testing::Values(ThresholdCase{"below", 19, 0, 0}, ThresholdCase{"at", 20, 0, 20},
                                           ThresholdCase{"above", 21, 0, 20},
                                           // Ratio: completed / syns must stay below 0.5.
                                           ThresholdCase{"ratio_below", 21, 20, 20},  // 20/41 once the 21st SYN is in
                                           ThresholdCase{"ratio_at", 20, 20, 0},      // 20/40
                                           ThresholdCase{"ratio_above", 20, 25, 0}),  // 25/45
                         [](const auto& p) { return std::string(p.param.name); });

TEST(SynFlood, AbandonedAndRetransmittedSynsAreNotHalfOpen) {
  Net n("detect:\n  syn_flood:\n    threshold: 10\n");
  Timestamp t = kT0;
  // nmap's SYN scan of open ports: each SYN-ACK answered by a RST frees the server's state.
  for (int i = 0; i < 50; ++i, t = t + Duration::millis(10)) {
    n.handshake(t, kFlooder, static_cast<uint16_t>(1000 + i), kServer, static_cast<uint16_t>(2000 + i),
                Net::End::reset);
  }
  // Refused SYNs (RST from a closed port) hold no state either.
  for (int i = 0; i < 50; ++i, t = t + Duration::millis(10)) {
    n.tcp(t, kFlooder, kServer, 3000, static_cast<uint16_t>(4000 + i), tf::kSyn, 7, 0);
    n.tcp(t, kServer, kFlooder, static_cast<uint16_t>(4000 + i), 3000, tf::kRst | tf::kAck, 0, 8);
  }
  // SYNs nobody answers (a sweep of empty addresses): no SYN-ACK, no half-open connection.
  for (int i = 0; i < 50; ++i, t = t + Duration::millis(10)) {
    n.tcp(t, kFlooder, IpAddress::v4(0xC6120100u + static_cast<uint32_t>(i)), 3001, 22, tf::kSyn, 7, 0);
  }
  EXPECT_TRUE(n.findings().empty());

  // The same SYN sent three times is one half-open connection: 9 SYNs thrice stay below 10.
  Net r("detect:\n  syn_flood:\n    threshold: 10\n");
  for (int k = 0; k < 3; ++k) {
    for (int i = 0; i < 9; ++i) {
      r.handshake(kT0 + Duration::millis(100 * k + i), kFlooder, static_cast<uint16_t>(5000 + i), kServer, 80);
    }
  }
  EXPECT_TRUE(r.findings().empty());
}

// hping3 -S: raw SYNs to one port; the flooder's own kernel resets every SYN-ACK (it never opened
// those connections). Resets aimed at a few ports do not settle anything: it is a flood.
TEST(SynFlood, ResetsFromAFlooderOnOnePortStillMakeAFlood) {
  Net n("detect:\n  syn_flood:\n    threshold: 10\n");
  Timestamp t = kT0;
  for (int i = 0; i < 9; ++i, t = t + Duration::millis(1)) {
    n.handshake(t, kFlooder, static_cast<uint16_t>(1000 + i), kServer, 80, Net::End::reset);
  }
  EXPECT_TRUE(n.h.findings().empty());  // 9: just below
  n.handshake(t, kFlooder, 1009, kServer, 80, Net::End::reset);
  const auto f = n.findings();
  ASSERT_EQ(f.size(), 1u);  // 10: at the threshold
  EXPECT_EQ(f[0].source, kFlooder);
  EXPECT_EQ(f[0].evidence["half_open"], 10);
  EXPECT_GE(f[0].evidence["aborted"].get<int>(), 9);  // reported at the 10th SYN-ACK, before its reset
}

TEST(SynFlood, BackscatterCreatesNoState) {
  Net n("");
  // SYN-ACKs to addresses that never sent a SYN (replies to someone else's spoofed flood).
  for (uint32_t i = 0; i < 500; ++i) {
    n.tcp(kT0 + Duration::millis(i), kServer, IpAddress::v4(0xC6138000u + i), 80, 4000, tf::kSyn | tf::kAck, 1, 2);
  }
  EXPECT_EQ(n.h.detector().stats().tracked, 0u);
  EXPECT_TRUE(n.findings().empty());
}

// ---- sliding window, dedup ----

TEST(SynFlood, WindowSlidesWithoutBoundaries) {
  const std::string cfg = "detect:\n  syn_flood:\n    threshold: 10\n    window: 10s\n";
  {
    // 9 then 9 more 30 s later: never 10 within a window.
    Net n(cfg);
    for (int i = 0; i < 9; ++i)
      n.handshake(kT0 + Duration::millis(i), kFlooder, static_cast<uint16_t>(100 + i), kServer, 80);
    for (int i = 0; i < 9; ++i) {
      n.handshake(kT0 + Duration::seconds(30) + Duration::millis(i), kFlooder, static_cast<uint16_t>(200 + i), kServer,
                  80);
    }
    EXPECT_TRUE(n.findings().empty());
  }
  {
    // 5 just before and 5 just after the 10 s mark: a counter reset every 10 s would miss them.
    Net n(cfg);
    for (int i = 0; i < 5; ++i) {
      n.handshake(kT0 + Duration::millis(9'500 + i), kFlooder, static_cast<uint16_t>(100 + i), kServer, 80);
    }
    for (int i = 0; i < 5; ++i) {
      n.handshake(kT0 + Duration::millis(10'500 + i), kFlooder, static_cast<uint16_t>(200 + i), kServer, 80);
    }
    EXPECT_EQ(n.findings().size(), 1u);
  }
}

TEST(SynFlood, OneReportThenUpdatesThenANewEpisode) {
  Net n("detect:\n  syn_flood:\n    threshold: 10\n    update_interval: 60s\n");
  // 150 s of flood at 10 SYN/s, a minute of silence, then another flood.
  uint16_t port = 1024;
  for (int i = 0; i < 1500; ++i) n.handshake(kT0 + Duration::millis(100 * i), kFlooder, port++, kServer, 80);
  const Timestamp second = kT0 + Duration::seconds(210);
  for (int i = 0; i < 100; ++i) n.handshake(second + Duration::millis(100 * i), kFlooder, port++, kServer, 80);
  const auto f = n.findings();
  ASSERT_EQ(f.size(), 4u);  // first, two updates (60 s apart), first of the second episode
  EXPECT_FALSE(f[0].update);
  EXPECT_TRUE(f[1].update);
  EXPECT_TRUE(f[2].update);
  EXPECT_FALSE(f[3].update);
  EXPECT_GE((f[1].ts - f[0].ts).ns, Duration::seconds(60).ns);
  EXPECT_GE((f[2].ts - f[1].ts).ns, Duration::seconds(60).ns);
  EXPECT_GE(f[3].ts, second);
}

TEST(SynFlood, FindingFields) {
  Net n("detect:\n  syn_flood:\n    threshold: 10\n");
  for (int i = 0; i < 10; ++i)
    n.handshake(kT0 + Duration::millis(i), kFlooder, static_cast<uint16_t>(100 + i), kServer, 80);
  const auto f = n.findings();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].detector, "syn_flood");
  EXPECT_EQ(f[0].kind, "syn_flood");
  EXPECT_EQ(f[0].severity, Severity::high);
  EXPECT_EQ(f[0].signature_id, 2'001'001u);
  EXPECT_EQ(f[0].target, kServer);
  EXPECT_EQ(f[0].target_port, uint16_t{80});
  EXPECT_EQ(f[0].proto, 6);
  EXPECT_FALSE(f[0].aggregate);
  EXPECT_FALSE(f[0].signature.empty());
  const auto& e = f[0].evidence;
  EXPECT_EQ(e["syns"].get<int>(), 10);
  EXPECT_EQ(e["answered"].get<int>(), 10);
  EXPECT_EQ(e["completed"].get<int>(), 0);
  EXPECT_EQ(e["aborted"].get<int>(), 0);
  EXPECT_EQ(e["half_open"].get<int>(), 10);
  EXPECT_DOUBLE_EQ(e["completion_ratio"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(e["rate"].get<double>(), 1.0);  // 10 SYNs over the 10 s window
  EXPECT_DOUBLE_EQ(e["window"].get<double>(), 10.0);
  EXPECT_EQ(e["ports"], nlohmann::ordered_json::array({80}));
  EXPECT_EQ(e["targets"].get<int>(), 1);
  EXPECT_EQ(e["first_seen"].get<std::string>(), core::format_iso8601(kT0));
  EXPECT_EQ(e["last_seen"].get<std::string>(), core::format_iso8601(f[0].ts));

  // Many ports on several hosts: no single target or port is named.
  Net m("detect:\n  syn_flood:\n    threshold: 10\n");
  for (int i = 0; i < 10; ++i) {
    m.handshake(kT0 + Duration::millis(i), kFlooder, 100, IpAddress::v4(0xC6120010u + static_cast<uint32_t>(i % 2)),
                static_cast<uint16_t>(80 + i));
  }
  const auto g = m.findings();
  ASSERT_EQ(g.size(), 1u);
  EXPECT_TRUE(g[0].target.empty());
  EXPECT_FALSE(g[0].target_port.has_value());
  EXPECT_EQ(g[0].evidence["ports"].size(), 4u);  // a sample
  EXPECT_GE(g[0].evidence["targets"].get<int>(), 2);
}

// ---- bounded state ----

// Hand-made contexts: a million spoofed one-SYN sources through a table of 1024 entries, with a
// real flooder among them that sends a burst first and then only one SYN per 10 000 packets.
TEST(SynFlood, SpoofedSourcesCannotPushOutARealFlooder) {
  auto d = make("detect:\n  syn_flood:\n    threshold: 100\n    window: 60s\n    capacity: 1024\n");
  struct Sink : FindingSink {
    void add(Finding&& f) override { got.push_back(std::move(f)); }
    std::vector<Finding> got;
  } sink;
  const uint64_t memory = d->stats().memory_bytes;
  core::PacketMeta m;
  m.flags = core::meta_flag::kHasIp | core::meta_flag::kHasPorts;
  m.ip_proto = 6;
  PacketContext ctx;
  ctx.meta = &m;
  auto syn = [&](Timestamp t, const IpAddress& src, uint16_t sport) {
    m.ts = t;
    m.src = src;
    m.dst = kServer;
    m.src_port = sport;
    m.dst_port = 80;
    m.tcp_flags = tf::kSyn;
    ctx.actor = src;
    ctx.from_actor = true;
    ctx.flow = FlowEvent::probe;
    ctx.probe = ProbeKind::syn;
    d->on_packet(ctx, sink);
  };
  auto synack = [&](Timestamp t, const IpAddress& client, uint16_t cport) {
    m.ts = t;
    m.src = kServer;
    m.dst = client;
    m.src_port = 80;
    m.dst_port = cport;
    m.tcp_flags = tf::kSyn | tf::kAck;
    ctx.actor = client;
    ctx.from_actor = false;
    ctx.flow = FlowEvent::reply_success;
    ctx.probe = ProbeKind::none;
    d->on_packet(ctx, sink);
  };
  uint16_t port = 1024;
  Timestamp t = kT0;
  for (int i = 0; i < 60; ++i, ++port) {
    syn(t, kFlooder, port);
    synack(t, kFlooder, port);
  }
  for (uint32_t i = 0; i < 1'000'000; ++i) {
    t = t + Duration::micros(20);
    syn(t, IpAddress::v4(0x0A000000u + i), 5555);
    if (i % 10'000 == 0) {
      syn(t, kFlooder, port);
      synack(t, kFlooder, port++);
    }
    if (i % 5'000 == 0) d->on_tick(t, sink);
  }
  const auto st = d->stats();
  EXPECT_EQ(st.capacity, 1024u);
  EXPECT_LE(st.tracked, 1024u);
  EXPECT_EQ(st.memory_bytes, memory);
  EXPECT_GE(st.evictions, 1'000'000u - 1024u);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].source, kFlooder);
  EXPECT_EQ(sink.got[0].evidence["half_open"].get<int>(), 100);
  // Per-entry cost, as NOTES.md reports it.
  EXPECT_LE(st.memory_bytes / st.capacity, 256u);
  std::cout << "syn_flood bytes per entry: " << st.memory_bytes / st.capacity << "\n";
}

// ---- configuration ----

TEST(SynFlood, ProfilesAndDisabling) {
  struct Want {
    Profile p;
    int64_t threshold;
    double ratio;
    int64_t capacity;
  };
  for (const Want& w : {Want{Profile::normal, 200, 0.2, 65'536}, Want{Profile::aggressive, 100, 0.35, 65'536},
                        Want{Profile::paranoid, 50, 0.5, 262'144}}) {
    const auto cfg = test_config(w.p);
    EXPECT_EQ(cfg.integer("detect.syn_flood.threshold"), w.threshold);
    EXPECT_DOUBLE_EQ(cfg.number("detect.syn_flood.max_completion_ratio"), w.ratio);
    EXPECT_EQ(cfg.integer("detect.syn_flood.capacity"), w.capacity);
    EXPECT_EQ(cfg.duration("detect.syn_flood.window"), Duration::seconds(10));
    EXPECT_EQ(cfg.duration("detect.syn_flood.update_interval"), Duration::seconds(60));
    auto d = create(cfg);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->name(), "syn_flood");
    EXPECT_EQ(d->stats().capacity, static_cast<uint64_t>(w.capacity));
  }
  EXPECT_EQ(create(test_config(Profile::normal, "detect:\n  syn_flood:\n    enabled: false\n")), nullptr);
}

TEST(SynFlood, BadConfigIsRefused) {
  for (const char* bad :
       {"threshold: 0", "threshold: -5", "threshold: many", "window: 0s", "window: 2h", "max_completion_ratio: 1.5",
        "max_completion_ratio: -0.1", "capacity: 10", "update_interval: 0s", "colour: red"}) {
    EXPECT_THROW(test_config(Profile::normal, std::string("detect:\n  syn_flood:\n    ") + bad + "\n"),
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

class SynFloodScenario : public ::testing::TestWithParam<ScenarioCase> {};

TEST_P(SynFloodScenario, FindsExactlyTheFlooder) {
  Harness h(make(""), false);
  sim::ScenarioOptions o;
  o.ipv6 = GetParam().v6;
  const auto sum = h.scenario(GetParam().name, o);
  const auto& f = h.finish();
  const sim::Truth* truth = nullptr;
  for (const auto& t : sum.truth) {
    if (t.detector == "syn_flood") truth = &t;
  }
  ASSERT_NE(truth, nullptr);
  ASSERT_EQ(truth->sources.size(), 1u);
  ASSERT_FALSE(f.empty());
  size_t firsts = 0;
  for (const auto& x : f) {
    EXPECT_EQ(x.detector, "syn_flood");
    EXPECT_EQ(x.source, truth->sources[0]);
    EXPECT_EQ(x.target, truth->target);
    EXPECT_EQ(x.target_port, truth->target_port);
    EXPECT_GE(x.ts, truth->first);
    firsts += x.update ? 0 : 1;
  }
  EXPECT_EQ(firsts, 1u);
  EXPECT_FALSE(f[0].update);
}

INSTANTIATE_TEST_SUITE_P(Attacks, SynFloodScenario,
                         ::testing::Values(ScenarioCase{"syn-flood", false}, ScenarioCase{"syn-flood", true},
                                           ScenarioCase{"mixed", false}, ScenarioCase{"mixed", true}),
                         [](const auto& p) { return case_name(p.param); });

class SynFloodQuiet : public ::testing::TestWithParam<ScenarioCase> {};

TEST_P(SynFloodQuiet, ReportsNothing) {
  Harness h(make(""), false);
  sim::ScenarioOptions o;
  o.ipv6 = GetParam().v6;
  h.scenario(GetParam().name, o);
  const auto& f = h.finish();
  EXPECT_TRUE(f.empty()) << f.size() << " findings, first from " << f.front().source.to_string();
  // Even the paranoid profile leaves these alone.
  Harness p(make("", Profile::paranoid), false);
  p.scenario(GetParam().name, o);
  EXPECT_TRUE(p.finish().empty());
}

INSTANTIATE_TEST_SUITE_P(Others, SynFloodQuiet,
                         ::testing::Values(ScenarioCase{"benign", false}, ScenarioCase{"benign", true},
                                           ScenarioCase{"spoofed-syn-flood", false},
                                           ScenarioCase{"spoofed-syn-flood", true}, ScenarioCase{"conn-flood", false},
                                           ScenarioCase{"conn-flood", true}, ScenarioCase{"rate-abuse", false},
                                           ScenarioCase{"rate-abuse", true}, ScenarioCase{"scan-syn", false},
                                           ScenarioCase{"scan-syn", true}, ScenarioCase{"scan-fin", false},
                                           ScenarioCase{"scan-null", false}, ScenarioCase{"scan-xmas", false},
                                           ScenarioCase{"scan-ack", false}, ScenarioCase{"scan-maimon", false},
                                           ScenarioCase{"scan-udp", false}, ScenarioCase{"scan-ipproto", false},
                                           ScenarioCase{"slow-scan", false}, ScenarioCase{"distributed-scan", false},
                                           ScenarioCase{"distributed-scan", true}, ScenarioCase{"sweep", false},
                                           ScenarioCase{"sweep", true}, ScenarioCase{"large-packets", false}),
                         [](const auto& p) { return case_name(p.param); });

// ---- the engine: 1 and 4 workers write the same alerts ----

std::vector<std::string> engine_alerts(const std::string& scenario, bool v6, uint32_t workers) {
  sim::ScenarioOptions o;
  o.ipv6 = v6;
  return testing::alert_lines(testing::run_engine(test_config(), scenario, o, workers).events, "syn_flood");
}

TEST(SynFlood, SameAlertsWithOneOrFourWorkers) {
  for (const char* scenario : {"syn-flood", "mixed"}) {
    for (bool v6 : {false, true}) {
      const auto one = engine_alerts(scenario, v6, 1);
      EXPECT_FALSE(one.empty()) << scenario;
      EXPECT_EQ(one, engine_alerts(scenario, v6, 4)) << scenario << (v6 ? " v6" : " v4");
    }
  }
}

}  // namespace
}  // namespace picket::detect::syn_flood
