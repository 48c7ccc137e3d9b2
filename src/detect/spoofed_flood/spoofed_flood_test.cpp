#include "detect/spoofed_flood/spoofed_flood.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/config.hpp"
#include "detect/spoofed_flood/sketches.hpp"
#include "detect/testing/harness.hpp"
#include "sim/scenario.hpp"

namespace picket::detect::spoofed_flood {
namespace {

using core::Duration;
using core::IpAddress;
using core::PacketMeta;
using core::Timestamp;
using testing::Harness;
using testing::test_config;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kMs = 1'000'000;
const Timestamp kT0 = sim::kSimStart;

IpAddress v4(uint32_t a) {
  return IpAddress::v4(a);
}
IpAddress v6(uint64_t hi, uint64_t lo) {
  uint8_t b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return IpAddress::v6_bytes(b);
}
const IpAddress kVictim = v4(0xC612000A);  // 198.18.0.10
// The i-th spoofed source: spread over 10.0.0.0/8.
IpAddress spoofed(uint32_t i) {
  return v4(0x0A000000u + i);
}

PacketMeta tcp(Timestamp ts, IpAddress src, uint16_t sport, IpAddress dst, uint16_t dport, uint8_t flags,
               uint32_t seq = 1000) {
  PacketMeta m;
  m.ts = ts;
  m.src = src;
  m.dst = dst;
  m.src_port = sport;
  m.dst_port = dport;
  m.ip_proto = 6;
  m.tcp_flags = flags;
  m.tcp_seq = seq;
  m.flags = core::meta_flag::kHasIp | core::meta_flag::kHasPorts;
  return m;
}
PacketMeta udp(Timestamp ts, IpAddress src, uint16_t sport, IpAddress dst, uint16_t dport) {
  PacketMeta m = tcp(ts, src, sport, dst, dport, 0);
  m.ip_proto = 17;
  return m;
}

class Collect : public FindingSink {
 public:
  void add(Finding&& f) override { findings.push_back(std::move(f)); }
  std::vector<Finding> findings;
};

// Feeds hand-built packets the way the engine's dispatcher does (one tick per crossed boundary).
class Driver {
 public:
  explicit Driver(const config::Config& cfg) : det_(create(cfg)) {}
  void feed(const PacketMeta& m, bool from_actor = true) {
    tick_to(m.ts);
    PacketContext ctx;
    ctx.meta = &m;
    ctx.actor = from_actor ? m.src : m.dst;
    ctx.from_actor = from_actor;
    ctx.probe = classify_probe(m);
    det_->on_packet(ctx, sink_);
  }
  void tick_to(Timestamp ts) {
    const int64_t e = ts.ns / kTick;
    if (!started_) {
      started_ = true;
      epoch_ = e;
      return;
    }
    if (e > epoch_) {
      det_->on_tick(Timestamp{e * kTick}, sink_);
      epoch_ = e;
    }
  }
  Detector& det() { return *det_; }
  const std::vector<Finding>& findings() const { return sink_.findings; }

 private:
  static constexpr int64_t kTick = 100 * kMs;
  std::unique_ptr<Detector> det_;
  Collect sink_;
  bool started_ = false;
  int64_t epoch_ = 0;
};

std::string overrides(const std::string& keys) {
  return "detect:\n  spoofed_flood:\n" + keys;
}

// `packets` SYNs to kVictim:`port` over `span`, each source sending `per_source` of them in a row
// (each SYN its own sequence number), sources numbered from `first`.
void syn_burst(Driver& d, Timestamp from, Duration span, uint32_t packets, uint32_t per_source = 1, uint32_t first = 0,
               uint16_t port = 80) {
  for (uint32_t i = 0; i < packets; ++i) {
    const Timestamp ts{from.ns + span.ns * i / packets};
    d.feed(tcp(ts, spoofed(first + i / per_source), static_cast<uint16_t>(1024 + i % 60000), kVictim, port,
               core::tcp_flag::kSyn, i * 7919u));
  }
}
// The same, the sources taking turns: `sources` of them, round robin.
void syn_cycle(Driver& d, Timestamp from, Duration span, uint32_t packets, uint32_t sources) {
  for (uint32_t i = 0; i < packets; ++i) {
    const Timestamp ts{from.ns + span.ns * i / packets};
    d.feed(tcp(ts, spoofed(i % sources), static_cast<uint16_t>(1024 + i % 60000), kVictim, 80, core::tcp_flag::kSyn,
               i * 7919u));
  }
}

size_t first_reports(const std::vector<Finding>& fs) {
  size_t n = 0;
  for (const auto& f : fs) n += f.update ? 0 : 1;
  return n;
}

// ---- sketches ----

TEST(SlidingHll, EstimatesWithinAFewPercentAtAnyCount) {
  for (uint64_t n : {10ull, 100ull, 1000ull, 10'000ull, 100'000ull, 1'000'000ull}) {
    SlidingHll<10, 4> h;
    for (uint64_t i = 0; i < n; ++i) h.add(0, state::mix64(i * 0x9E3779B97F4A7C15ULL + 1));
    const double est = static_cast<double>(h.estimate(0));
    EXPECT_NEAR(est, static_cast<double>(n), 0.1 * static_cast<double>(n) + 1) << n;
  }
}

TEST(SlidingHll, DuplicatesDoNotCountAndOldSubWindowsLeave) {
  SlidingHll<10, 4> h;
  for (int rep = 0; rep < 5; ++rep) {
    for (uint64_t i = 0; i < 500; ++i) h.add(0, state::mix64(i));
  }
  EXPECT_NEAR(static_cast<double>(h.estimate(0)), 500, 25);
  for (uint64_t i = 1000; i < 1100; ++i) h.add(2, state::mix64(i));
  EXPECT_NEAR(static_cast<double>(h.estimate(3)), 600, 30);  // epoch 0 still inside (4 sub-windows)
  EXPECT_NEAR(static_cast<double>(h.estimate(4)), 100, 10);  // epoch 0 left
  EXPECT_EQ(h.estimate(6), 0u);
  EXPECT_EQ((SlidingHll<10, 4>{}.estimate(0)), 0u);
}

TEST(TopSources, FindsTheHeavySourceAndBoundsItsShare) {
  TopSources<4> t;
  for (uint32_t i = 0; i < 1000; ++i) {
    t.add(spoofed(i));
    if (i % 2 == 0) t.add(v4(0x01020304));
  }
  ASSERT_NE(t.top(), nullptr);
  EXPECT_EQ(t.top()->addr, v4(0x01020304));
  EXPECT_GT(t.top_share(), 0.25);
  EXPECT_LE(t.top_share(), 500.0 / 1500.0 + 1e-9);

  TopSources<4> spread;
  for (uint32_t i = 0; i < 1000; ++i) spread.add(spoofed(i));
  EXPECT_LT(spread.top_share(), 0.01) << "all-distinct sources: no source is guaranteed more than one packet";
  spread.decay(40);
  EXPECT_EQ(spread.total(), 0u);
  EXPECT_EQ(TopSources<4>{}.top(), nullptr);
}

TEST(HandshakeMeter, CompletedHandshakesMatchAndSpoofedOnesDoNot) {
  struct Case {
    const char* name;
    double answered;  // share of SYNs followed by the client's ACK
    double lo, hi;
  };
  const Case cases[] = {{"all complete", 1.0, 0.9, 1.0}, {"none", 0.0, 0.0, 0.05}, {"half", 0.5, 0.35, 0.65}};
  for (const auto& c : cases) {
    HandshakeMeter h;
    uint32_t answered = 0;
    for (uint32_t i = 0; i < 20'000; ++i) {
      const IpAddress src = spoofed(i);
      const uint32_t seq = i * 2654435761u;
      h.on_syn(HandshakeMeter::fingerprint(src, 40000, 80, seq + 1));
      if (static_cast<double>(answered) < c.answered * (i + 1)) {
        ++answered;
        h.on_ack(HandshakeMeter::fingerprint(src, 40000, 80, seq + 1));
        h.on_ack(HandshakeMeter::fingerprint(src, 40000, 80, seq + 1));    // the request: not a second completion
        h.on_ack(HandshakeMeter::fingerprint(src, 40000, 80, seq + 400));  // later data: no match
      }
      if (i % 1000 == 999) h.roll(1);
    }
    EXPECT_GE(h.completion(), c.lo) << c.name;
    EXPECT_LE(h.completion(), c.hi) << c.name;
    EXPECT_GT(h.level(), 0u) << c.name << ": 1000 SYNs per sub-window must raise the sampling level";
  }
  EXPECT_LT(HandshakeMeter{}.completion(), 0) << "no samples: unknown";
}

TEST(CommonPrefix, Lengths) {
  EXPECT_EQ(common_prefix_len(v4(0xC6128000), v4(0xC6138000)), 15);
  EXPECT_EQ(common_prefix_len(v4(0xC6128000), v4(0xC6128000)), 32);
  EXPECT_EQ(common_prefix_len(v4(0), v4(0x80000000)), 0);
  EXPECT_EQ(common_prefix_len(v4(1), v6(0, 1)), 0);
  EXPECT_EQ(common_prefix_len(v6(0x20010db800000000, 1), v6(0x20010db800010000, 1)), 47);
}

// ---- thresholds ----

// Small thresholds for hand-built floods; `extra` adds keys, replacing these defaults.
std::string small(const std::string& extra = "", uint32_t min_sources = 100, double max_per_source = 3) {
  return overrides(fmt::format("    threshold: 400\n    min_sources: {}\n    max_per_source: {}\n    window: 10s\n{}",
                               min_sources, max_per_source, extra));
}

TEST(SpoofedFlood, PacketThreshold) {
  struct Case {
    uint32_t packets;
    bool fires;
  };
  for (const auto& c : {Case{399, false}, Case{400, true}, Case{401, true}}) {
    Driver d(test_config(config::Profile::normal, small()));
    syn_burst(d, kT0, Duration::seconds(2), c.packets, 2);
    d.tick_to(Timestamp{kT0.ns + 3 * kSec});
    EXPECT_EQ(!d.findings().empty(), c.fires) << c.packets;
  }
}

TEST(SpoofedFlood, SourceAndSpreadThresholds) {
  // max_per_source 3: packets per source below, near and above it.
  struct Case {
    uint32_t per_source;
    bool fires;
  };
  for (const auto& c : {Case{1, true}, Case{2, true}, Case{4, false}, Case{7, false}}) {
    Driver d(test_config(config::Profile::normal, small()));
    syn_burst(d, kT0, Duration::seconds(2), 1000, c.per_source);
    d.tick_to(Timestamp{kT0.ns + 3 * kSec});
    EXPECT_EQ(!d.findings().empty(), c.fires) << c.per_source << " per source";
  }
  // min_sources 100 at, below and above (estimates are near-exact this small).
  for (const auto& [sources, fires] : std::vector<std::pair<uint32_t, bool>>{{90, false}, {100, true}, {110, true}}) {
    Driver d(test_config(config::Profile::normal, small("", 100, 10)));
    syn_cycle(d, kT0, Duration::seconds(2), 600, sources);
    d.tick_to(Timestamp{kT0.ns + 3 * kSec});
    EXPECT_EQ(!d.findings().empty(), fires) << sources << " sources";
  }
}

TEST(SpoofedFlood, OneHeavySourceIsNotSpoofed) {
  struct Case {
    uint32_t num, den;  // the heavy source sends num packets in every den
    bool fires;
  };
  for (const auto& c : {Case{1, 1, false}, Case{2, 3, false}, Case{1, 4, true}}) {
    Driver d(test_config(config::Profile::normal, small("", 50, 100)));
    for (uint32_t i = 0; i < 2000; ++i) {
      const Timestamp ts{kT0.ns + 2 * kSec * i / 2000};
      const IpAddress src = i % c.den < c.num ? v4(0xC613000A) : spoofed(i);
      d.feed(tcp(ts, src, static_cast<uint16_t>(1024 + i), kVictim, 80, core::tcp_flag::kSyn, i));
    }
    d.tick_to(Timestamp{kT0.ns + 3 * kSec});
    EXPECT_EQ(!d.findings().empty(), c.fires) << "heavy share " << c.num << "/" << c.den;
  }
}

TEST(SpoofedFlood, CompletedHandshakesAreABusyServerNotAFlood) {
  for (bool complete : {true, false}) {
    Driver d(test_config(config::Profile::normal, small()));
    for (uint32_t i = 0; i < 3000; ++i) {
      const Timestamp ts{kT0.ns + 3 * kSec * i / 3000};
      const IpAddress src = spoofed(i);
      const auto sport = static_cast<uint16_t>(1024 + i);
      d.feed(tcp(ts, src, sport, kVictim, 443, core::tcp_flag::kSyn, i * 31u));
      if (complete) {
        // The client's ACK and its request, a round trip later (fed in time order).
        const Timestamp later{ts.ns + 1};
        d.feed(tcp(later, src, sport, kVictim, 443, core::tcp_flag::kAck, i * 31u + 1));
        d.feed(tcp(later, src, sport, kVictim, 443, core::tcp_flag::kAck | core::tcp_flag::kPsh, i * 31u + 1));
      }
    }
    d.tick_to(Timestamp{kT0.ns + 4 * kSec});
    EXPECT_EQ(d.findings().empty(), complete) << (complete ? "handshakes complete" : "never completed");
    if (!complete) {
      ASSERT_FALSE(d.findings().empty());
      EXPECT_LT(d.findings().back().evidence["handshake_completion"].get<double>(), 0.05);
    }
  }
}

TEST(SpoofedFlood, FindingShape) {
  Driver d(test_config(config::Profile::normal, small()));
  syn_burst(d, kT0, Duration::seconds(2), 1200);
  d.tick_to(Timestamp{kT0.ns + 3 * kSec});
  ASSERT_EQ(d.findings().size(), 1u);
  const Finding& f = d.findings()[0];
  EXPECT_EQ(f.detector, "spoofed_flood");
  EXPECT_EQ(f.kind, "spoofed_flood");
  EXPECT_EQ(f.signature_id, 2'002'001u);
  EXPECT_TRUE(f.aggregate);
  EXPECT_FALSE(f.update);
  EXPECT_TRUE(f.source.empty());
  EXPECT_FALSE(f.source_prefix.has_value());
  EXPECT_EQ(f.target, kVictim);
  EXPECT_EQ(f.target_port, std::optional<uint16_t>(80));
  EXPECT_EQ(f.proto, 6);
  EXPECT_EQ(f.severity, Severity::high);
  EXPECT_EQ(f.category, "Attempted Denial of Service");
  const auto& e = f.evidence;
  for (const char* k :
       {"packets", "window", "rate_pps", "distinct_sources", "packets_per_source", "top_source", "top_source_share",
        "sample_sources", "source_span", "handshake_completion", "first_seen", "last_seen"}) {
    EXPECT_TRUE(e.contains(k)) << k;
  }
  const auto packets = e["packets"].get<uint64_t>();
  EXPECT_GE(packets, 400u);
  // Sources are counted from a quarter of the threshold on: most of the packets, all distinct.
  EXPECT_GT(e["distinct_sources"].get<uint64_t>(), packets / 2);
  EXPECT_LE(e["distinct_sources"].get<double>(), packets * 1.05);
  EXPECT_EQ(e["window"].get<double>(), 10.0);
  const auto span = core::Prefix::parse(e["source_span"].get<std::string>());
  ASSERT_TRUE(span.has_value());
  EXPECT_TRUE(span->contains(spoofed(150)) && span->contains(spoofed(400)));
  EXPECT_GE(span->length(), 22);
  EXPECT_EQ(e["sample_sources"].size(), 4u);
  EXPECT_EQ(e["first_seen"].get<std::string>().substr(0, 19), "2026-01-01T00:00:00");
}

TEST(SpoofedFlood, UdpFloodPerAddressAnyPort) {
  struct Case {
    const char* name;
    bool one_port;
    bool from_actor;
    bool fires;
  };
  const Case cases[] = {
      {"one port", true, true, true}, {"random ports", false, true, true}, {"replies to a client", true, false, false}};
  for (const auto& c : cases) {
    Driver d(test_config(config::Profile::normal, overrides("    udp_threshold: 400\n    min_sources: 100\n")));
    for (uint32_t i = 0; i < 1000; ++i) {
      const Timestamp ts{kT0.ns + 2 * kSec * i / 1000};
      const auto port = static_cast<uint16_t>(c.one_port ? 53 : 1000 + i * 37 % 50000);
      d.feed(udp(ts, spoofed(i), static_cast<uint16_t>(2000 + i), kVictim, port), c.from_actor);
    }
    d.tick_to(Timestamp{kT0.ns + 3 * kSec});
    ASSERT_EQ(d.findings().size(), c.fires ? 1u : 0u) << c.name;
    if (!c.fires) continue;
    const Finding& f = d.findings()[0];
    EXPECT_EQ(f.kind, "udp_flood") << c.name;
    EXPECT_EQ(f.signature_id, 2'002'002u);
    EXPECT_EQ(f.proto, 17);
    EXPECT_EQ(f.target_port.has_value(), c.one_port) << c.name;
    if (c.one_port) {
      EXPECT_EQ(*f.target_port, 53);
    }
    EXPECT_GT(f.evidence["distinct_ports"].get<uint32_t>(), c.one_port ? 0u : 100u);
  }
  // udp_threshold 0 turns UDP off.
  Driver off(test_config(config::Profile::normal, overrides("    udp_threshold: 0\n    min_sources: 10\n")));
  for (uint32_t i = 0; i < 100'000; ++i)
    off.feed(udp(Timestamp{kT0.ns + i * kMs / 100}, spoofed(i), 2000, kVictim, 53));
  off.tick_to(Timestamp{kT0.ns + 2 * kSec});
  EXPECT_TRUE(off.findings().empty());
}

TEST(SpoofedFlood, SlidingWindowHasNoBoundaryToPaceAround) {
  // 300 SYNs just before a 10 s mark and 300 just after: a counter reset every 10 s sees 300 twice.
  Driver d(test_config(config::Profile::normal, small()));
  syn_burst(d, Timestamp{kT0.ns + 9 * kSec}, Duration::millis(900), 300);
  syn_burst(d, Timestamp{kT0.ns + 10 * kSec + 10 * kMs}, Duration::millis(900), 300, 1, 300);
  d.tick_to(Timestamp{kT0.ns + 12 * kSec});
  EXPECT_EQ(d.findings().size(), 1u);
  // The same 600 spread over 30 s never has 400 in any 10 s.
  Driver slow(test_config(config::Profile::normal, small()));
  syn_burst(slow, kT0, Duration::seconds(30), 600);
  slow.tick_to(Timestamp{kT0.ns + 31 * kSec});
  EXPECT_TRUE(slow.findings().empty());
}

TEST(SpoofedFlood, OneFirstReportThenPeriodicUpdatesThenANewEpisode) {
  Driver d(test_config(config::Profile::normal, small("    update_interval: 60s\n")));
  // 150 s of flood at 200 SYNs/s, all new sources.
  syn_burst(d, kT0, Duration::seconds(150), 30'000);
  d.tick_to(Timestamp{kT0.ns + 151 * kSec});
  ASSERT_EQ(d.findings().size(), 3u) << "first report, then updates at +60 s and +120 s";
  EXPECT_FALSE(d.findings()[0].update);
  EXPECT_TRUE(d.findings()[1].update);
  EXPECT_TRUE(d.findings()[2].update);
  EXPECT_EQ(d.findings()[1].ts.ns - d.findings()[0].ts.ns, 60 * kSec);
  // Quiet, then a new flood: a new first report.
  d.tick_to(Timestamp{kT0.ns + 200 * kSec});
  syn_burst(d, Timestamp{kT0.ns + 300 * kSec}, Duration::seconds(5), 2000, 1, 100'000);
  d.tick_to(Timestamp{kT0.ns + 306 * kSec});
  ASSERT_EQ(d.findings().size(), 4u);
  EXPECT_FALSE(d.findings()[3].update);
  EXPECT_EQ(first_reports(d.findings()), 2u);
}

TEST(SpoofedFlood, DistinctTargetsKeepMemoryAtCapacityAndTheFloodIsStillFound) {
  Driver d(test_config(config::Profile::normal, small("    capacity: 4096\n    busy_capacity: 4\n")));
  const uint64_t memory = d.det().stats().memory_bytes;
  // A million SYNs to a million different targets, with a real flood to kVictim woven in.
  for (uint32_t i = 0; i < 1'000'000; ++i) {
    const Timestamp ts{kT0.ns + 5 * kSec * i / 1'000'000};
    d.feed(tcp(ts, v4(0xC6130001), static_cast<uint16_t>(1024 + i % 60000), v4(0x0B000000u + i), 80,
               core::tcp_flag::kSyn, i));
    if (i % 1000 == 0) {
      d.feed(tcp(ts, spoofed(i / 1000), 5555, kVictim, 80, core::tcp_flag::kSyn, i));
      d.feed(tcp(ts, spoofed(i / 1000 + 5000), 5556, kVictim, 80, core::tcp_flag::kSyn, i));
    }
  }
  d.tick_to(Timestamp{kT0.ns + 6 * kSec});
  const auto st = d.det().stats();
  EXPECT_EQ(st.capacity, 4096u);
  EXPECT_LE(st.tracked, 4096u);
  EXPECT_GT(st.evictions, 900'000u);
  EXPECT_EQ(st.memory_bytes, memory);
  ASSERT_EQ(d.findings().size(), 1u);
  EXPECT_EQ(d.findings()[0].target, kVictim);
}

TEST(SpoofedFlood, FiveMillionSourcesOneEntryFlatMemoryGoodEstimate) {
  Driver d(test_config(config::Profile::normal, overrides("    update_interval: 1s\n")));
  const uint64_t memory = d.det().stats().memory_bytes;
  constexpr uint32_t kN = 5'000'000;
  for (uint32_t i = 0; i < kN; ++i) {
    const Timestamp ts{kT0.ns + 5 * kSec * static_cast<int64_t>(i) / kN};
    d.feed(tcp(ts, v4(0x20000000u + i * 13u), static_cast<uint16_t>(1024 + i % 60000), kVictim, 80,
               core::tcp_flag::kSyn, i));
  }
  d.tick_to(Timestamp{kT0.ns + 6 * kSec + 500 * kMs});  // an update is due by then
  const auto st = d.det().stats();
  EXPECT_EQ(st.tracked, 1u);
  EXPECT_EQ(st.memory_bytes, memory);
  ASSERT_FALSE(d.findings().empty());
  EXPECT_EQ(first_reports(d.findings()), 1u);
  const auto& e = d.findings().back().evidence;
  EXPECT_NEAR(e["distinct_sources"].get<double>(), kN, 0.1 * kN);
  EXPECT_NEAR(e["packets"].get<double>(), kN, 0.01 * kN);
  EXPECT_LT(e["packets_per_source"].get<double>(), 1.2);
}

TEST(SpoofedFlood, Ipv6SpoofedSources) {
  Driver d(test_config(config::Profile::normal, small()));
  const IpAddress victim = v6(0x20010db800000000, 0xa);
  for (uint32_t i = 0; i < 2000; ++i) {
    const Timestamp ts{kT0.ns + 2 * kSec * i / 2000};
    const IpAddress src = v6(0x20010db800008000 + (i % 128), state::mix64(i));
    d.feed(tcp(ts, src, static_cast<uint16_t>(1024 + i), victim, 443, core::tcp_flag::kSyn, i));
  }
  d.tick_to(Timestamp{kT0.ns + 3 * kSec});
  ASSERT_EQ(d.findings().size(), 1u);
  EXPECT_EQ(d.findings()[0].target, victim);
  EXPECT_EQ(d.findings()[0].target_port, std::optional<uint16_t>(443));
  EXPECT_EQ(d.findings()[0].evidence["source_span"], "2001:db8:0:8000::/57");
}

TEST(SpoofedFlood, IgnoresWhatCannotBeAFlood) {
  Driver d(test_config(config::Profile::normal, overrides("    threshold: 1\n    min_sources: 2\n")));
  PacketMeta no_ports = tcp(kT0, spoofed(1), 1, kVictim, 80, core::tcp_flag::kSyn);
  no_ports.flags = core::meta_flag::kHasIp;
  PacketMeta fragment = no_ports;
  fragment.flags = core::meta_flag::kHasIp | core::meta_flag::kLaterFragment;
  PacketMeta no_ip;
  no_ip.ts = kT0;
  for (uint32_t i = 0; i < 10'000; ++i) {
    const Timestamp ts{kT0.ns + i * kMs / 10};
    no_ports.ts = fragment.ts = no_ip.ts = ts;
    no_ports.src = fragment.src = spoofed(i);
    d.feed(no_ports);
    d.feed(fragment);
    d.feed(no_ip);
    d.feed(tcp(ts, spoofed(i), 1000, kVictim, 80, core::tcp_flag::kSyn | core::tcp_flag::kAck));  // answers
    d.feed(tcp(ts, spoofed(i), 1000, kVictim, 80, core::tcp_flag::kRst));
    d.feed(tcp(Timestamp{ts.ns - kSec}, spoofed(i), 1000, kVictim, 80, core::tcp_flag::kAck));  // time going back
  }
  d.tick_to(Timestamp{kT0.ns + 2 * kSec});
  EXPECT_TRUE(d.findings().empty());
  EXPECT_EQ(d.det().stats().tracked, 0u);
}

// ---- config ----

TEST(SpoofedFlood, ProfilesAndBadValues) {
  struct Case {
    config::Profile p;
    int64_t threshold, min_sources, busy;
    double per_source;
  };
  for (const auto& c :
       {Case{config::Profile::normal, 2000, 200, 64, 3.0}, Case{config::Profile::aggressive, 1000, 100, 64, 4.0},
        Case{config::Profile::paranoid, 500, 50, 256, 5.0}}) {
    const auto cfg = test_config(c.p);
    EXPECT_EQ(cfg.integer("detect.spoofed_flood.threshold"), c.threshold);
    EXPECT_EQ(cfg.integer("detect.spoofed_flood.min_sources"), c.min_sources);
    EXPECT_EQ(cfg.integer("detect.spoofed_flood.busy_capacity"), c.busy);
    EXPECT_EQ(cfg.number("detect.spoofed_flood.max_per_source"), c.per_source);
    EXPECT_EQ(cfg.duration("detect.spoofed_flood.window").ns, 10 * kSec);
    EXPECT_TRUE(cfg.boolean("detect.spoofed_flood.enabled"));
  }
  EXPECT_EQ(create(test_config(config::Profile::normal, overrides("    enabled: false\n"))), nullptr);
  for (const char* bad : {"    threshold: 0\n", "    max_top_share: 1.5\n", "    window: 0s\n", "    capacity: -1\n",
                          "    min_sources: many\n", "    no_such_key: 1\n"}) {
    EXPECT_THROW(test_config(config::Profile::normal, overrides(bad)), std::runtime_error) << bad;
  }
}

// ---- scenarios ----

std::vector<Finding> run(const std::string& scenario, bool ipv6, sim::SimSummary* summary = nullptr,
                         config::Profile profile = config::Profile::normal) {
  Harness h(create(test_config(profile)), /*per_target=*/true);
  sim::ScenarioOptions o;
  o.ipv6 = ipv6;
  auto s = h.scenario(scenario, o);
  if (summary != nullptr) *summary = s;
  return h.finish();
}

const sim::Truth* truth_of(const sim::SimSummary& s, const std::string& detector) {
  for (const auto& t : s.truth) {
    if (t.detector == detector) return &t;
  }
  return nullptr;
}

void expect_one_flood(const std::string& scenario, bool ipv6) {
  SCOPED_TRACE(scenario + (ipv6 ? " ipv6" : " ipv4"));
  sim::SimSummary s;
  const auto fs = run(scenario, ipv6, &s);
  const sim::Truth* t = truth_of(s, "spoofed_flood");
  ASSERT_NE(t, nullptr);
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(first_reports(fs), 1u);
  EXPECT_FALSE(fs[0].update);
  for (const auto& f : fs) {
    EXPECT_EQ(f.detector, "spoofed_flood");
    EXPECT_EQ(f.kind, "spoofed_flood");
    EXPECT_TRUE(f.aggregate);
    EXPECT_TRUE(f.source.empty());
    EXPECT_FALSE(f.source_prefix.has_value());
    EXPECT_EQ(f.target, t->target);
    EXPECT_EQ(f.target_port, t->target_port);
    EXPECT_EQ(f.proto, 6);
    EXPECT_GE(f.ts, t->first);
    ASSERT_TRUE(t->source_prefix.has_value());
    const auto span = core::Prefix::parse(f.evidence["source_span"].get<std::string>());
    ASSERT_TRUE(span.has_value());
    EXPECT_TRUE(t->source_prefix->contains(span->address())) << "sources lie in the spoofed range";
    EXPECT_GE(span->length(), t->source_prefix->length());
    EXPECT_LT(f.evidence["top_source_share"].get<double>(), 0.1);
  }
}

TEST(SpoofedFloodScenario, SpoofedSynFloodIsOneAggregateFinding) {
  expect_one_flood("spoofed-syn-flood", false);
  expect_one_flood("spoofed-syn-flood", true);
}

TEST(SpoofedFloodScenario, MixedHasTheSpoofedFloodOnly) {
  expect_one_flood("mixed", false);
}

TEST(SpoofedFloodScenario, OtherTrafficIsNotASpoofedFlood) {
  for (const char* name : {"benign", "syn-flood", "rate-abuse", "conn-flood", "scan-syn", "scan-udp", "scan-ack",
                           "sweep", "distributed-scan", "large-packets"}) {
    for (bool ipv6 : {false, true}) {
      EXPECT_TRUE(run(name, ipv6).empty()) << name << (ipv6 ? " ipv6" : "");
    }
  }
  // Not even the most sensitive profile calls one real flooder (or busy clients) spoofed.
  for (const char* name : {"benign", "syn-flood", "rate-abuse"}) {
    EXPECT_TRUE(run(name, false, nullptr, config::Profile::paranoid).empty()) << name << " paranoid";
  }
}

TEST(SpoofedFloodScenario, BusyBenignTrafficAtHighRate) {
  // 100 000 frames/s of benign traffic: thousands of clients opening connections to 80 and 443,
  // a few each — past every volume and spread threshold of the paranoid profile. Only the
  // completed handshakes tell it from a spoofed flood, so without that gate it would fire.
  for (const char* gate : {"", "    max_completion: 1.0\n"}) {
    Harness h(create(test_config(config::Profile::paranoid, overrides(gate))), /*per_target=*/true);
    sim::ScenarioOptions o;
    o.packets = 400'000;
    o.rate_pps = 100'000;
    h.scenario("benign", o);
    const auto& fs = h.finish();
    if (*gate == '\0') {
      EXPECT_TRUE(fs.empty());
    } else {
      ASSERT_FALSE(fs.empty()) << "the scenario no longer tests the handshake gate";
      EXPECT_GT(fs[0].evidence["handshake_completion"].get<double>(), 0.9);
    }
  }
}

}  // namespace
}  // namespace picket::detect::spoofed_flood
