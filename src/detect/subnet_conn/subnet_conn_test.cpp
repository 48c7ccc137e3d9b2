#include "detect/subnet_conn/subnet_conn.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <iostream>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "detect/testing/harness.hpp"
#include "engine/engine.hpp"
#include "output/sinks.hpp"
#include "sim/packet_builder.hpp"
#include "sim/scenario.hpp"

namespace picket::detect::subnet_conn {
namespace {

using config::Profile;
using core::Duration;
using core::IpAddress;
using core::Prefix;
using core::Timestamp;
using testing::Harness;
using testing::test_config;
namespace tf = core::tcp_flag;

const Timestamp kT0 = Timestamp::from_parts(1'767'225'600, 0);
const IpAddress kServer = *IpAddress::parse("198.18.0.10");
const IpAddress kServer6 = *IpAddress::parse("2001:db8::a");
// Only the immediate threshold (the persistent one out of reach), or only the persistent one.
const std::string kImmediateOnly = "detect:\n  subnet_conn:\n    threshold: 10\n    persistent_threshold: 1000000\n";
const std::string kPersistentOnly =
    "detect:\n  subnet_conn:\n    threshold: 60000\n    history_window: 5\n    persistent_threshold: 25\n";

std::unique_ptr<Detector> make(std::string_view overrides, Profile p = Profile::normal) {
  auto d = create(test_config(p, overrides));
  EXPECT_NE(d, nullptr);
  return d;
}

// The address `host` of 198.19.<subnet>.0/24, or 2001:db8:1:<subnet as hex>::<host as hex> of its /64.
IpAddress member(uint32_t host, bool v6 = false, uint32_t subnet = 40) {
  if (!v6) return IpAddress::v4((198u << 24) | (19u << 16) | (subnet << 8) | host);
  char text[64];
  std::snprintf(text, sizeof text, "2001:db8:1:%x::%x", subnet, host);
  return *IpAddress::parse(text);
}

struct Net {
  explicit Net(std::string_view overrides, Profile p = Profile::normal, detect::FlowSettings flows = {})
      : h(make(overrides, p), false, Duration::millis(100), flows) {}

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
  // A completed handshake from client:cport to the server's port 80; the connection stays open.
  void open(Timestamp t, const IpAddress& client, uint16_t cport) {
    const IpAddress& server = client.is_v6() ? kServer6 : kServer;
    tcp(t, client, server, cport, 80, tf::kSyn, 100, 0);
    tcp(t + Duration::micros(100), server, client, 80, cport, tf::kSyn | tf::kAck, 900, 101);
    tcp(t + Duration::micros(200), client, server, cport, 80, tf::kAck, 101, 901);
  }
  void close(Timestamp t, const IpAddress& client, uint16_t cport) {
    const IpAddress& server = client.is_v6() ? kServer6 : kServer;
    tcp(t, client, server, cport, 80, tf::kFin | tf::kAck, 101, 901);
  }
  // `n` connections spread over `addresses` members of the subnet, opened from `t` on.
  void open_many(Timestamp t, int n, int addresses, bool v6 = false, uint32_t subnet = 40) {
    for (int i = 0; i < n; ++i) {
      open(t + Duration::micros(500 * i), member(static_cast<uint32_t>(10 + i % addresses), v6, subnet),
           static_cast<uint16_t>(40'000 + i));
    }
  }
  // Runs ticks every 100 ms up to `until` (no packets: the gauge holds).
  void run_to(Timestamp until) {
    for (Timestamp t = now; t <= until; t = t + Duration::millis(100)) h.advance(t);
    now = until;
  }

  Harness h;
  std::vector<uint8_t> buf;
  Timestamp now = kT0;
};

std::vector<Finding> of_kind(const std::vector<Finding>& all, std::string_view kind) {
  std::vector<Finding> out;
  for (const auto& f : all) {
    if (f.kind == kind) out.push_back(f);
  }
  return out;
}

// ---- thresholds ----

struct Case {
  const char* name;
  int connections;
  size_t immediate;   // findings of kind subnet_conn
  size_t persistent;  // findings of kind subnet_conn_persistent
};

class SubnetConnImmediate : public ::testing::TestWithParam<Case> {};

TEST_P(SubnetConnImmediate, ExceedsThreshold) {
  const auto& c = GetParam();
  for (bool v6 : {false, true}) {
    Net n(kImmediateOnly);
    n.open_many(kT0 + Duration::millis(200), c.connections, 4, v6);
    n.run_to(kT0 + Duration::seconds(3));
    const auto f = n.h.finish();
    ASSERT_EQ(of_kind(f, "subnet_conn").size(), c.immediate) << c.name << (v6 ? " v6" : " v4");
    EXPECT_TRUE(of_kind(f, "subnet_conn_persistent").empty());
    if (c.immediate == 0) continue;
    EXPECT_TRUE(f[0].source.empty());
    ASSERT_TRUE(f[0].source_prefix.has_value());
    EXPECT_EQ(*f[0].source_prefix, v6 ? *Prefix::parse("2001:db8:1:28::/64") : *Prefix::parse("198.19.40.0/24"));
    EXPECT_EQ(f[0].ts, kT0 + Duration::seconds(1));  // the first boundary after the connections
    EXPECT_EQ(f[0].evidence["established"].get<int>(), c.connections);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, SubnetConnImmediate,
                         ::testing::Values(Case{"below", 9, 0, 0}, Case{"at", 10, 0, 0}, Case{"above", 11, 1, 0}),
                         [](const auto& p) { return std::string(p.param.name); });

class SubnetConnPersistent : public ::testing::TestWithParam<Case> {};

// Held connections sampled once a second: the sum of 5 samples of 5 is 25 (not above 25);
// of 6 it passes 25 at the fifth sample (30), not before (24 at the fourth).
TEST_P(SubnetConnPersistent, SumOverHistoryExceedsThreshold) {
  const auto& c = GetParam();
  Net n(kPersistentOnly);
  n.open_many(kT0 + Duration::millis(200), c.connections, 3);
  n.run_to(kT0 + Duration::millis(5'500));
  const auto f = n.h.finish();
  EXPECT_TRUE(of_kind(f, "subnet_conn").empty());
  const auto p = of_kind(f, "subnet_conn_persistent");
  ASSERT_EQ(p.size(), c.persistent) << c.name;
  if (c.persistent == 0) return;
  EXPECT_EQ(p[0].ts, kT0 + Duration::seconds(5));
  EXPECT_EQ(p[0].severity, Severity::medium);
  EXPECT_EQ(p[0].signature_id, 2'004'002u);
  EXPECT_EQ(p[0].evidence["sum"].get<int>(), 5 * c.connections);
  EXPECT_EQ(p[0].evidence["history"], nlohmann::ordered_json::array({6, 6, 6, 6, 6}));
}

INSTANTIATE_TEST_SUITE_P(Cases, SubnetConnPersistent,
                         ::testing::Values(Case{"below", 4, 0, 0}, Case{"at", 5, 0, 0}, Case{"above", 6, 0, 1}),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(SubnetConn, GroupsByConfiguredPrefix) {
  // 6 + 6 connections from two different /24s: neither is over 10.
  Net a(kImmediateOnly);
  a.open_many(kT0 + Duration::millis(200), 6, 3, false, 40);
  a.open_many(kT0 + Duration::millis(300), 6, 3, false, 41);
  a.run_to(kT0 + Duration::seconds(2));
  EXPECT_TRUE(a.h.finish().empty());
  // The same traffic with /16 subnets: one subnet holding 12.
  Net b(kImmediateOnly + "    prefix_v4: 16\n");
  b.open_many(kT0 + Duration::millis(200), 6, 3, false, 40);
  b.open_many(kT0 + Duration::millis(300), 6, 3, false, 41);
  b.run_to(kT0 + Duration::seconds(2));
  const auto f = b.h.finish();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(*f[0].source_prefix, *Prefix::parse("198.19.0.0/16"));
  // IPv6 /48 instead of /64.
  Net c(kImmediateOnly + "    prefix_v6: 48\n");
  c.open_many(kT0 + Duration::millis(200), 6, 3, true, 40);
  c.open_many(kT0 + Duration::millis(300), 6, 3, true, 41);
  c.run_to(kT0 + Duration::seconds(2));
  const auto g = c.h.finish();
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(*g[0].source_prefix, *Prefix::parse("2001:db8:1::/48"));
}

// ---- the gauge ----

TEST(SubnetConn, ClosedConnectionsLeaveTheGauge) {
  Net n(kImmediateOnly);
  n.open_many(kT0 + Duration::millis(200), 12, 4);
  n.close(kT0 + Duration::millis(800), member(10), 40'000);
  n.close(kT0 + Duration::millis(810), member(11), 40'001);
  n.close(kT0 + Duration::millis(820), member(11), 40'001);  // a repeated FIN is not a second close
  n.run_to(kT0 + Duration::seconds(3));
  EXPECT_TRUE(n.h.finish().empty());  // 10 left, not above 10
}

TEST(SubnetConn, HandshakesThatNeverCompleteAreNotConnections) {
  Net n(kImmediateOnly);
  for (int i = 0; i < 50; ++i) {  // SYN and SYN-ACK, no ACK
    n.tcp(kT0 + Duration::millis(200 + i), member(10 + i % 5), kServer, static_cast<uint16_t>(30'000 + i), 80, tf::kSyn,
          5, 0);
    n.tcp(kT0 + Duration::millis(200 + i), kServer, member(10 + i % 5), 80, static_cast<uint16_t>(30'000 + i),
          tf::kSyn | tf::kAck, 9, 6);
  }
  n.run_to(kT0 + Duration::seconds(3));
  EXPECT_TRUE(n.h.finish().empty());
  EXPECT_EQ(n.h.detector().stats().tracked, 0u);
}

TEST(SubnetConn, IdleExpiryEndsConnectionsAndTheEpisode) {
  detect::FlowSettings flows;
  flows.idle_timeout = Duration::seconds(3);
  Net n(kImmediateOnly, Profile::normal, flows);
  n.open_many(kT0 + Duration::millis(200), 11, 4);
  n.run_to(kT0 + Duration::seconds(20));          // expired at ~3.2 s, history empty 5 samples later
  EXPECT_EQ(n.h.detector().stats().tracked, 0u);  // nothing left to remember
  // The same subnet again: a new first report, not an update.
  n.open_many(kT0 + Duration::millis(20'200), 11, 4);
  n.run_to(kT0 + Duration::seconds(22));
  const auto f = n.h.finish();
  // First at 1 s (2 and 3 s still hold 11: no update within update_interval; expiry at ~3.3 s
  // empties the 4 s sample), then first again at 21 s.
  ASSERT_EQ(f.size(), 2u);
  EXPECT_FALSE(f[0].update);
  EXPECT_EQ(f[0].ts, kT0 + Duration::seconds(1));
  EXPECT_FALSE(f[1].update);
  EXPECT_EQ(f[1].ts, kT0 + Duration::seconds(21));
}

TEST(SubnetConn, EvictedConnectionsLeaveTheGauge) {
  // A flow table of 16: a burst of other first contacts pushes the 11 connections out, and the
  // flow tracker reports each as expired.
  detect::FlowSettings flows;
  flows.capacity = 16;
  Net n(kImmediateOnly, Profile::normal, flows);
  n.open_many(kT0 + Duration::millis(100), 11, 4);
  for (uint32_t i = 0; i < 200; ++i) {
    n.tcp(kT0 + Duration::millis(300) + Duration::micros(i), IpAddress::v4(0xC6138000u + i), kServer, 1234, 80,
          tf::kSyn, 1, 0);
  }
  n.run_to(kT0 + Duration::seconds(2));
  EXPECT_TRUE(n.h.finish().empty());
}

TEST(SubnetConn, AQuietGapCountsAsIntervalsWithTheSameGauge) {
  // 11 held connections, then nothing for 10 s: one tick stands for ten intervals. The
  // persistent sum (5 samples of 11 = 55) is over 50 at that tick, as if it had ticked throughout.
  const std::string cfg =
      "detect:\n  subnet_conn:\n    threshold: 60000\n    history_window: 5\n    persistent_threshold: 50\n";
  Net gap(cfg);
  gap.open_many(kT0 + Duration::millis(200), 11, 4);
  gap.h.advance(kT0 + Duration::millis(10'050));
  const auto g = gap.h.finish();
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].kind, "subnet_conn_persistent");
  EXPECT_EQ(g[0].ts, kT0 + Duration::seconds(10));
  EXPECT_EQ(g[0].evidence["history"], nlohmann::ordered_json::array({11, 11, 11, 11, 11}));
  // Ticking every 100 ms instead: reported at the fifth sample.
  Net steady(cfg);
  steady.open_many(kT0 + Duration::millis(200), 11, 4);
  steady.run_to(kT0 + Duration::millis(10'050));
  const auto s = steady.h.finish();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ts, kT0 + Duration::seconds(5));
  EXPECT_EQ(s[0].evidence["history"], g[0].evidence["history"]);

  // A gap longer than the history after the subnet went quiet ends its episode.
  Net again(kImmediateOnly);
  again.open_many(kT0 + Duration::millis(200), 11, 4);
  again.run_to(kT0 + Duration::millis(1'500));
  for (int i = 0; i < 11; ++i)
    again.close(kT0 + Duration::millis(1'600), member(static_cast<uint32_t>(10 + i % 4)),
                static_cast<uint16_t>(40'000 + i));
  again.h.advance(kT0 + Duration::seconds(100));
  again.open_many(kT0 + Duration::millis(100'200), 11, 4);
  again.h.advance(kT0 + Duration::seconds(101));
  const auto a = again.h.finish();
  ASSERT_EQ(a.size(), 2u);
  EXPECT_FALSE(a[0].update);
  EXPECT_FALSE(a[1].update);
  EXPECT_EQ(a[1].ts, kT0 + Duration::seconds(101));
}

TEST(SubnetConn, OneReportThenUpdates) {
  Net n(kImmediateOnly + "    update_interval: 60s\n");
  n.open_many(kT0 + Duration::millis(200), 11, 4);
  n.run_to(kT0 + Duration::seconds(150));
  const auto f = n.h.finish();
  ASSERT_EQ(f.size(), 3u);  // at 1 s, 61 s, 121 s
  EXPECT_FALSE(f[0].update);
  EXPECT_TRUE(f[1].update);
  EXPECT_TRUE(f[2].update);
  EXPECT_EQ(f[1].ts, kT0 + Duration::seconds(61));
  EXPECT_EQ(f[2].ts, kT0 + Duration::seconds(121));
}

TEST(SubnetConn, FindingFields) {
  Net n(kImmediateOnly);
  uint16_t port = 40'000;
  // 198.19.40.10 holds 5, .11 holds 3, .12 holds 2, .13 holds 1: the top three are named.
  for (int k = 0; k < 5; ++k) n.open(kT0 + Duration::millis(100 + k), member(10), port++);
  for (int k = 0; k < 3; ++k) n.open(kT0 + Duration::millis(200 + k), member(11), port++);
  for (int k = 0; k < 2; ++k) n.open(kT0 + Duration::millis(300 + k), member(12), port++);
  n.open(kT0 + Duration::millis(400), member(13), port++);
  n.run_to(kT0 + Duration::millis(1'500));
  const auto f = n.h.finish();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].detector, "subnet_conn");
  EXPECT_EQ(f[0].kind, "subnet_conn");
  EXPECT_EQ(f[0].severity, Severity::high);
  EXPECT_EQ(f[0].signature_id, 2'004'001u);
  EXPECT_EQ(f[0].target_port, uint16_t{80});
  EXPECT_EQ(f[0].proto, 6);
  EXPECT_FALSE(f[0].signature.empty());
  const auto& e = f[0].evidence;
  EXPECT_EQ(e["established"].get<int>(), 11);
  EXPECT_EQ(e["history"], nlohmann::ordered_json::array({0, 0, 0, 0, 11}));
  EXPECT_EQ(e["sum"].get<int>(), 11);
  EXPECT_EQ(e["threshold"].get<int>(), 10);
  EXPECT_EQ(e["history_window"].get<int>(), 5);
  EXPECT_DOUBLE_EQ(e["interval"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(e["window"].get<double>(), 5.0);
  EXPECT_EQ(e["addresses"].get<int>(), 4);
  const auto want = nlohmann::ordered_json::array({{{"address", "198.19.40.10"}, {"connections", 5}},
                                                   {{"address", "198.19.40.11"}, {"connections", 3}},
                                                   {{"address", "198.19.40.12"}, {"connections", 2}}});
  EXPECT_EQ(e["top_addresses"], want);
  EXPECT_EQ(e["ports"], nlohmann::ordered_json::array({80}));
  EXPECT_EQ(e["first_seen"].get<std::string>(), core::format_iso8601(kT0 + Duration::micros(100'200)));
  EXPECT_EQ(e["last_seen"].get<std::string>(), core::format_iso8601(kT0 + Duration::seconds(1)));

  // IPv6 addresses come back whole.
  Net v6(kImmediateOnly);
  for (int k = 0; k < 11; ++k) v6.open(kT0 + Duration::millis(100 + k), member(0xbeef, true), port++);
  v6.run_to(kT0 + Duration::millis(1'500));
  const auto g = v6.h.finish();
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].evidence["top_addresses"][0]["address"].get<std::string>(), member(0xbeef, true).to_string());
  EXPECT_EQ(g[0].evidence["top_addresses"][0]["connections"].get<int>(), 11);
}

// The real test the normal profile must pass: 40 addresses of one /24 holding 2 each.
TEST(SubnetConn, NormalProfileCatchesFortyAddressesHoldingTwoEach) {
  for (bool v6 : {false, true}) {
    Net n("");
    n.open_many(kT0 + Duration::millis(100), 80, 40, v6);
    n.run_to(kT0 + Duration::seconds(6));
    const auto f = n.h.finish();
    EXPECT_EQ(of_kind(f, "subnet_conn").size(), 1u);
    EXPECT_EQ(of_kind(f, "subnet_conn_persistent").size(), 1u);
    // 20 addresses holding 2 each, all the time (a busy office): left alone. (Held at 60 or
    // more, a subnet's 5-second sum passes 250: persistent.)
    Net office("");
    office.open_many(kT0 + Duration::millis(100), 40, 20, v6);
    office.run_to(kT0 + Duration::seconds(6));
    EXPECT_TRUE(office.h.finish().empty());
  }
}

// ---- bounded state ----

// Hand-made contexts: a million /24s each making one short connection, through a table of 1024,
// while one /24 holds 61 connections opened early.
TEST(SubnetConn, ManyOneOffSubnetsCannotPushOutAHeldFlood) {
  auto d = make("detect:\n  subnet_conn:\n    capacity: 1024\n");
  struct Sink : FindingSink {
    void add(Finding&& f) override { got.push_back(std::move(f)); }
    std::vector<Finding> got;
  } sink;
  const uint64_t memory = d->stats().memory_bytes;
  core::PacketMeta m;
  m.flags = core::meta_flag::kHasIp | core::meta_flag::kHasPorts;
  m.ip_proto = 6;
  m.dst = kServer;
  m.dst_port = 80;
  PacketContext ctx;
  ctx.meta = &m;
  ctx.from_actor = true;
  auto event = [&](Timestamp t, const IpAddress& src, FlowEvent ev) {
    m.ts = t;
    m.src = src;
    ctx.actor = src;
    ctx.flow = ev;
    d->on_packet(ctx, sink);
  };
  Timestamp t = kT0;
  d->on_tick(t, sink);
  for (int i = 0; i < 61; ++i) event(t, member(static_cast<uint32_t>(10 + i % 40)), FlowEvent::established);
  for (uint32_t i = 0; i < 1'000'000; ++i) {
    t = t + Duration::micros(2);
    const IpAddress a = IpAddress::v4(0x0A000000u + (i << 8));
    event(t, a, FlowEvent::established);
    event(t, a, FlowEvent::closed);
    if (i % 50'000 == 0) d->on_tick(t, sink);
  }
  d->on_tick(t + Duration::seconds(1), sink);
  const auto st = d->stats();
  EXPECT_LE(st.tracked, 1024u);
  EXPECT_EQ(st.memory_bytes, memory);
  EXPECT_GE(st.evictions, 1'000'000u - 2 * 1024u);
  ASSERT_GE(sink.got.size(), 1u);
  for (const auto& f : sink.got) EXPECT_EQ(*f.source_prefix, *Prefix::parse("198.19.40.0/24"));
  EXPECT_EQ(sink.got[0].evidence["established"].get<int>(), 61);
  EXPECT_LE(st.memory_bytes / st.capacity, 320u);
  std::cout << "subnet_conn bytes per entry: " << st.memory_bytes / st.capacity << "\n";
}

// ---- configuration ----

TEST(SubnetConn, ProfilesAndDisabling) {
  struct Want {
    Profile p;
    int64_t threshold, persistent, capacity;
  };
  for (const Want& w : {Want{Profile::normal, 60, 250, 65'536}, Want{Profile::aggressive, 30, 120, 65'536},
                        Want{Profile::paranoid, 10, 25, 262'144}}) {
    const auto cfg = test_config(w.p);
    EXPECT_EQ(cfg.integer("detect.subnet_conn.threshold"), w.threshold);
    EXPECT_EQ(cfg.integer("detect.subnet_conn.persistent_threshold"), w.persistent);
    EXPECT_EQ(cfg.integer("detect.subnet_conn.capacity"), w.capacity);
    EXPECT_EQ(cfg.integer("detect.subnet_conn.prefix_v4"), 24);
    EXPECT_EQ(cfg.integer("detect.subnet_conn.prefix_v6"), 64);
    EXPECT_EQ(cfg.integer("detect.subnet_conn.history_window"), 5);
    EXPECT_EQ(cfg.duration("detect.subnet_conn.interval"), Duration::seconds(1));
    auto d = create(cfg);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->name(), "subnet_conn");
  }
  EXPECT_EQ(create(test_config(Profile::normal, "detect:\n  subnet_conn:\n    enabled: false\n")), nullptr);
}

TEST(SubnetConn, BadConfigIsRefused) {
  for (const char* bad :
       {"prefix_v4: 7", "prefix_v4: 33", "prefix_v6: 31", "prefix_v6: 129", "threshold: -1", "threshold: 70000",
        "interval: 0s", "interval: 500ms", "history_window: 0", "history_window: 21", "persistent_threshold: -1",
        "capacity: 100", "update_interval: 0s", "block: true"}) {
    EXPECT_THROW(test_config(Profile::normal, std::string("detect:\n  subnet_conn:\n    ") + bad + "\n"),
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

class SubnetConnScenario : public ::testing::TestWithParam<ScenarioCase> {};

TEST_P(SubnetConnScenario, FindsTheFloodingSubnet) {
  sim::ScenarioOptions o;
  o.ipv6 = GetParam().v6;
  for (Profile p : config::kAllProfiles) {
    Harness h(make("", p), false);
    const auto sum = h.scenario(GetParam().name, o);
    const auto& f = h.finish();
    const sim::Truth* truth = nullptr;
    for (const auto& t : sum.truth) {
      if (t.detector == "subnet_conn") truth = &t;
    }
    ASSERT_NE(truth, nullptr);
    ASSERT_TRUE(truth->source_prefix.has_value());
    const std::set<IpAddress> sources(truth->sources.begin(), truth->sources.end());
    size_t firsts = 0;
    for (const auto& x : f) {
      EXPECT_EQ(x.detector, "subnet_conn");
      EXPECT_TRUE(x.source.empty());
      ASSERT_TRUE(x.source_prefix.has_value());
      EXPECT_EQ(*x.source_prefix, *truth->source_prefix) << config::profile_name(p);
      EXPECT_EQ(x.target_port, truth->target_port);
      for (const auto& a : x.evidence["top_addresses"]) {
        EXPECT_TRUE(sources.count(*IpAddress::parse(a["address"].get<std::string>())));
      }
      if (!x.update && x.kind == "subnet_conn") ++firsts;
    }
    EXPECT_EQ(firsts, 1u) << config::profile_name(p);
    EXPECT_EQ(of_kind(f, "subnet_conn_persistent").size(), 1u) << config::profile_name(p);
  }
}

INSTANTIATE_TEST_SUITE_P(Attacks, SubnetConnScenario,
                         ::testing::Values(ScenarioCase{"conn-flood", false}, ScenarioCase{"conn-flood", true}),
                         [](const auto& p) { return case_name(p.param); });

class SubnetConnQuiet : public ::testing::TestWithParam<ScenarioCase> {};

TEST_P(SubnetConnQuiet, ReportsNothing) {
  sim::ScenarioOptions o;
  o.ipv6 = GetParam().v6;
  for (Profile p : {Profile::normal, Profile::aggressive}) {
    Harness h(make("", p), false);
    h.scenario(GetParam().name, o);
    const auto& f = h.finish();
    EXPECT_TRUE(f.empty()) << config::profile_name(p) << ": " << f.size() << " findings, first "
                           << f.front().source_prefix->to_string();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Others, SubnetConnQuiet,
    ::testing::Values(ScenarioCase{"benign", false}, ScenarioCase{"benign", true}, ScenarioCase{"syn-flood", false},
                      ScenarioCase{"syn-flood", true}, ScenarioCase{"spoofed-syn-flood", false},
                      ScenarioCase{"spoofed-syn-flood", true}, ScenarioCase{"rate-abuse", false},
                      ScenarioCase{"rate-abuse", true}, ScenarioCase{"scan-syn", false}, ScenarioCase{"scan-syn", true},
                      ScenarioCase{"scan-fin", false}, ScenarioCase{"scan-ack", false}, ScenarioCase{"scan-udp", false},
                      ScenarioCase{"slow-scan", false}, ScenarioCase{"distributed-scan", false},
                      ScenarioCase{"distributed-scan", true}, ScenarioCase{"sweep", false},
                      ScenarioCase{"large-packets", false}, ScenarioCase{"mixed", false}, ScenarioCase{"mixed", true}),
    [](const auto& p) { return case_name(p.param); });

// ---- the engine: 1 and 4 workers write the same alerts ----

std::vector<std::string> engine_alerts(const std::string& scenario, bool v6, uint32_t workers) {
  sim::ScenarioOptions o;
  o.ipv6 = v6;
  return testing::alert_lines(testing::run_engine(test_config(), scenario, o, workers).events, "subnet_conn");
}

TEST(SubnetConn, SameAlertsWithOneOrFourWorkers) {
  for (const char* scenario : {"conn-flood"}) {
    for (bool v6 : {false, true}) {
      const auto one = engine_alerts(scenario, v6, 1);
      EXPECT_FALSE(one.empty()) << scenario;
      EXPECT_EQ(one, engine_alerts(scenario, v6, 4)) << scenario << (v6 ? " v6" : " v4");
    }
  }
}

}  // namespace
}  // namespace picket::detect::subnet_conn
