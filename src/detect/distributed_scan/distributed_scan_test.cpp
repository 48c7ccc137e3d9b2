#include "detect/distributed_scan/distributed_scan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/config.hpp"
#include "detect/distributed_scan/activity_filter.hpp"
#include "detect/distributed_scan/decoy_tracker.hpp"
#include "detect/testing/harness.hpp"
#include "sim/scenario.hpp"

namespace picket::detect::distributed_scan {
namespace {

using core::Duration;
using core::IpAddress;
using core::PacketMeta;
using core::Timestamp;
using testing::Harness;
using testing::test_config;
using namespace core::tcp_flag;

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
IpAddress member(uint32_t i) {
  return v4(0xC6130200u + i);
}  // 198.19.2.i
IpAddress client(uint32_t i) {
  return v4(0xC6120100u + i);
}  // 198.18.1.0 + i

PacketMeta tcp(Timestamp ts, IpAddress src, uint16_t sport, IpAddress dst, uint16_t dport, uint8_t flags,
               uint16_t payload = 0) {
  PacketMeta m;
  m.ts = ts;
  m.src = src;
  m.dst = dst;
  m.src_port = sport;
  m.dst_port = dport;
  m.ip_proto = 6;
  m.tcp_flags = flags;
  m.payload_len = payload;
  m.flags = core::meta_flag::kHasIp | core::meta_flag::kHasPorts;
  return m;
}
PacketMeta udp(Timestamp ts, IpAddress src, uint16_t sport, IpAddress dst, uint16_t dport) {
  PacketMeta m = tcp(ts, src, sport, dst, dport, 0);
  m.ip_proto = 17;
  return m;
}
PacketMeta raw_proto(Timestamp ts, IpAddress src, IpAddress dst, uint8_t proto) {
  PacketMeta m;
  m.ts = ts;
  m.src = src;
  m.dst = dst;
  m.ip_proto = proto;
  m.flags = core::meta_flag::kHasIp;
  return m;
}

class Collect : public FindingSink {
 public:
  void add(Finding&& f) override { findings.push_back(std::move(f)); }
  std::vector<Finding> findings;
};

// Feeds hand-built packets the way the engine's dispatcher does (one tick per crossed boundary).
// `from_actor` false marks a packet sent *to* the actor (an answer, the local side).
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
  std::vector<Finding> of_kind(std::string_view kind) const {
    std::vector<Finding> out;
    for (const auto& f : sink_.findings) {
      if (f.kind == kind) out.push_back(f);
    }
    return out;
  }

 private:
  static constexpr int64_t kTick = 100 * kMs;
  std::unique_ptr<Detector> det_;
  Collect sink_;
  bool started_ = false;
  int64_t epoch_ = 0;
};

std::string overrides(const std::string& keys) {
  return "detect:\n  distributed_scan:\n" + keys;
}
config::Config normal(const std::string& keys = "") {
  return test_config(config::Profile::normal, overrides(keys));
}

// Three probes from elsewhere, so the next new port makes the victim watched and every scan probe
// after it counts (the first few ports of a host are seen only by the cheap per-host count).
void warm_up(Driver& d, Timestamp ts) {
  for (uint16_t p = 0; p < 3; ++p) d.feed(udp(ts, v4(0x0A000001), 40000, kVictim, static_cast<uint16_t>(7 + p)));
}

// `sources` sources probe `per_source` ports each (all different) with `flags`, spread over `span`.
void spread_scan(Driver& d, Timestamp from, Duration span, uint32_t sources, uint32_t per_source, uint8_t flags = kSyn,
                 uint16_t first_port = 1000) {
  const uint32_t total = sources * per_source;
  for (uint32_t i = 0; i < total; ++i) {
    const uint32_t s = i % sources;  // sources take turns
    const uint32_t k = i / sources;
    const Timestamp ts{from.ns + span.ns * i / total};
    d.feed(tcp(ts, member(1 + s), static_cast<uint16_t>(40000 + s), kVictim,
               static_cast<uint16_t>(first_port + s * per_source + k), flags));
  }
}

// ---- building blocks ----

TEST(ActivityFilter, MarksLastOneToTwoPeriods) {
  ActivityFilter f(12);
  const auto k = ActivityFilter::key(kVictim, 443, 6);
  EXPECT_FALSE(f.active(k));
  EXPECT_TRUE(f.mark(k));
  EXPECT_FALSE(f.mark(k)) << "already active";
  EXPECT_TRUE(f.active(k));
  EXPECT_FALSE(f.active(ActivityFilter::key(kVictim, 443, 17))) << "protocol is part of the key";
  f.rotate();
  EXPECT_TRUE(f.active(k));
  f.rotate();
  EXPECT_FALSE(f.active(k));
  EXPECT_EQ(ActivityFilter(12).memory_bytes(), 2u * 4096 / 8);
}

TEST(DecoyTracker, SameSourcesTogetherOnSeveralPorts) {
  struct Case {
    const char* name;
    uint32_t sources, ports;
    int64_t spacing_ns;  // between the sources' probes of one port
    bool qualifies;
  };
  const Case cases[] = {
      {"5 decoys, 8 ports", 5, 8, 50'000, true},
      {"4 decoys, 3 ports (at both minimums)", 4, 3, 50'000, true},
      {"3 decoys", 3, 8, 50'000, false},
      {"5 decoys, 2 ports", 5, 2, 50'000, false},
      {"5 sources, 1.5 s apart", 5, 8, 1'500 * kMs, false},
  };
  for (const auto& c : cases) {
    DecoySettings s;  // 4 sources, 3 ports, 1 s
    DecoyTracker t;
    int64_t now = kT0.ns;
    for (uint32_t p = 0; p < c.ports; ++p) {
      for (uint32_t m = 0; m < c.sources; ++m) {
        t.on_probe(s, member(101 + m), (6u << 16) | (2000 + p), ProbeKind::syn, now);
        t.on_probe(s, member(101 + m), (6u << 16) | (2000 + p), ProbeKind::syn, now);  // retransmission
        now += c.spacing_ns;
      }
      now += 10 * kMs;
    }
    t.flush(s, now + 2 * kSec, Duration::seconds(60));
    bool any = false;
    for (const auto& g : t.groups()) {
      if (!g.in_use() || !DecoyTracker::qualifies(s, g)) continue;
      any = true;
      EXPECT_EQ(g.sources_per_port, c.sources) << c.name;
      EXPECT_EQ(g.members_n, c.sources) << c.name;
      EXPECT_EQ(g.port_count(), c.ports) << c.name;
    }
    EXPECT_EQ(any, c.qualifies) << c.name;
  }
}

TEST(DecoyTracker, BurstsOfDifferentClientsOnOnePortNeverQualify) {
  DecoySettings s;
  DecoyTracker t;
  int64_t now = kT0.ns;
  for (uint32_t burst = 0; burst < 200; ++burst) {
    for (uint32_t c = 0; c < 6; ++c)
      t.on_probe(s, client(burst * 6 + c), (6u << 16) | 443, ProbeKind::syn, now + c * kMs);
    now += 1100 * kMs;
  }
  t.flush(s, now + 2 * kSec, Duration::seconds(60));
  for (const auto& g : t.groups()) EXPECT_FALSE(g.in_use() && DecoyTracker::qualifies(s, g));
}

// ---- thresholds ----

TEST(DistributedScan, PortAndSourceThresholds) {
  struct Case {
    const char* name;
    uint32_t sources, per_source;
    bool fires;
  };
  // normal: min_sources 5, min_ports 50, max_ports_per_source 32, max_source_share 0.4.
  const Case cases[] = {
      {"10 sources x 4 ports (40)", 10, 4, false},
      {"10 x 6 (60)", 10, 6, true},
      {"4 sources x 20 ports (80)", 4, 20, false},
      {"5 x 16 (80)", 5, 16, true},
      {"6 x 16", 6, 16, true},
      {"100 sources x 1 port", 100, 1, true},
      {"2 sources x 40 ports: two scanners", 2, 40, false},
  };
  for (const auto& c : cases) {
    Driver d(normal());
    warm_up(d, kT0);
    spread_scan(d, kT0, Duration::seconds(20), c.sources, c.per_source);
    d.tick_to(Timestamp{kT0.ns + 21 * kSec});
    EXPECT_EQ(d.of_kind("distributed_scan").size(), c.fires ? 1u : 0u) << c.name;
    EXPECT_TRUE(d.of_kind("decoy_scan").empty()) << c.name;
  }
}

TEST(DistributedScan, HeavySourcesDoNotMakeAScanDistributed) {
  struct Case {
    const char* name;
    uint32_t scanners;  // each probes 1000 ports
    bool fires;
  };
  for (const auto& c :
       {Case{"one port scanner", 1, false}, Case{"two at once", 2, false}, Case{"five at once", 5, true}}) {
    Driver d(normal());
    for (uint32_t i = 0; i < 1000; ++i) {
      const Timestamp ts{kT0.ns + i * 10 * kMs};
      for (uint32_t s = 0; s < c.scanners; ++s) {
        d.feed(tcp(ts, v4(0xC6130028u + s), 50000, kVictim, static_cast<uint16_t>(1 + i + s * 1000), kSyn));
      }
      // Benign clients opening connections to the web ports; the server answers.
      const IpAddress cl = client(i);
      d.feed(tcp(ts, cl, 40000, kVictim, i % 2 ? 443 : 80, kSyn));
      d.feed(tcp(Timestamp{ts.ns + 1}, kVictim, i % 2 ? 443 : 80, cl, 40000, kSyn | kAck), false);
    }
    d.tick_to(Timestamp{kT0.ns + 11 * kSec});
    // Five scanners at once, none of them finding more than the share limit, do make one.
    EXPECT_EQ(!d.of_kind("distributed_scan").empty(), c.fires) << c.name;
  }
}

TEST(DistributedScan, ConversationsAreNotProbes) {
  // A busy server: 5000 clients on 80 and 443; and the server itself as a client of 300 remote
  // hosts, whose answers come back to its ephemeral ports; and a DNS resolver answering it.
  Driver d(normal("    min_sources: 3\n    min_ports: 20\n    max_ports_per_source: 12\n"));
  for (uint32_t i = 0; i < 5000; ++i) {
    const Timestamp ts{kT0.ns + i * 2 * kMs};
    const IpAddress cl = client(i);
    const auto port = static_cast<uint16_t>(i % 4 ? 443 : 80);
    const auto eph = static_cast<uint16_t>(32768 + i % 20000);
    d.feed(tcp(ts, cl, eph, kVictim, port, kSyn));
    d.feed(tcp(Timestamp{ts.ns + 1}, kVictim, port, cl, eph, kSyn | kAck), false);
    d.feed(tcp(Timestamp{ts.ns + 2}, cl, eph, kVictim, port, kAck));
    d.feed(tcp(Timestamp{ts.ns + 3}, cl, eph, kVictim, port, kAck | kPsh, 400));
    d.feed(tcp(Timestamp{ts.ns + 4}, cl, eph, kVictim, port, kAck | kFin));
    if (i % 16 == 0) {
      // Outbound: the victim's own connection; the remote's answers look like probes of an
      // ephemeral port unless the victim's own packets from that port are remembered.
      const IpAddress remote = v4(0x0B000000u + i);
      const auto mine = static_cast<uint16_t>(50000 + i % 10000);
      d.feed(tcp(Timestamp{ts.ns + 5}, kVictim, mine, remote, 443, kSyn), false);
      d.feed(tcp(Timestamp{ts.ns + 6}, remote, 443, kVictim, mine, kSyn | kAck));
      d.feed(tcp(Timestamp{ts.ns + 7}, kVictim, mine, remote, 443, kAck), false);
      d.feed(tcp(Timestamp{ts.ns + 8}, remote, 443, kVictim, mine, kAck));
      d.feed(tcp(Timestamp{ts.ns + 9}, remote, 443, kVictim, mine, kAck | kFin));
      d.feed(udp(Timestamp{ts.ns + 10}, kVictim, mine, v4(0xC6120035), 53), false);
      d.feed(udp(Timestamp{ts.ns + 11}, v4(0xC6120035), 53, kVictim, mine));
    }
  }
  d.tick_to(Timestamp{kT0.ns + 11 * kSec});
  EXPECT_TRUE(d.findings().empty());
}

TEST(DistributedScan, ManyClientsOnTwoPortsWithoutAnswersAreNotAScan) {
  // One direction only (no SYN-ACK seen): distinct ports stay the signal.
  Driver d(test_config(config::Profile::paranoid));
  for (uint32_t i = 0; i < 20'000; ++i) {
    d.feed(tcp(Timestamp{kT0.ns + i * kMs}, client(i), static_cast<uint16_t>(32768 + i % 20000), kVictim,
               i % 3 ? 443 : 80, i % 5 ? kSyn : kAck));
  }
  d.tick_to(Timestamp{kT0.ns + 21 * kSec});
  EXPECT_TRUE(d.findings().empty());
}

TEST(DistributedScan, PortsThatAnswerAreAServiceNotAScan) {
  // Passive FTP: clients open data connections to fresh high ports, and the server answers each.
  for (bool answered : {true, false}) {
    Driver d(normal());
    warm_up(d, kT0);
    for (uint32_t i = 0; i < 100; ++i) {
      const Timestamp ts{kT0.ns + i * 50 * kMs};
      const auto port = static_cast<uint16_t>(30000 + i * 7);
      d.feed(tcp(ts, member(1 + i % 10), 40000, kVictim, port, kSyn));
      if (answered) d.feed(tcp(Timestamp{ts.ns + 1}, kVictim, port, member(1 + i % 10), 40000, kSyn | kAck), false);
    }
    d.tick_to(Timestamp{kT0.ns + 6 * kSec});
    EXPECT_EQ(d.of_kind("distributed_scan").empty(), answered) << (answered ? "answered" : "refused");
  }
}

TEST(DistributedScan, ProbeKindsAndScanType) {
  struct Case {
    const char* name;
    uint8_t flags;  // 0xFF: UDP, 0xFE: IP protocols, 0xFD: alternate SYN and FIN
    const char* type;
    uint8_t proto;
  };
  const Case cases[] = {{"syn", kSyn, "syn", 6},          {"fin", kFin, "fin", 6},
                        {"null", 0, "null", 6},           {"xmas", kFin | kPsh | kUrg, "xmas", 6},
                        {"ack", kAck, "ack", 6},          {"maimon", kFin | kAck, "maimon", 6},
                        {"udp", 0xFF, "udp", 17},         {"ip_proto", 0xFE, "ip_proto", 0},
                        {"syn and fin", 0xFD, "mixed", 6}};
  for (const auto& c : cases) {
    Driver d(normal());
    warm_up(d, kT0);
    for (uint32_t i = 0; i < 120; ++i) {
      const Timestamp ts{kT0.ns + i * 50 * kMs};
      const IpAddress src = member(1 + i % 12);
      const auto port = static_cast<uint16_t>(2000 + i);
      if (c.flags == 0xFF) {
        d.feed(udp(ts, src, 40000, kVictim, port));
      } else if (c.flags == 0xFE) {
        d.feed(raw_proto(ts, src, kVictim, static_cast<uint8_t>(20 + i)));
      } else if (c.flags == 0xFD) {
        d.feed(tcp(ts, src, 40000, kVictim, port, i % 2 ? kSyn : kFin));
      } else {
        d.feed(tcp(ts, src, 40000, kVictim, port, c.flags));
      }
    }
    d.tick_to(Timestamp{kT0.ns + 7 * kSec});
    const auto fs = d.of_kind("distributed_scan");
    ASSERT_EQ(fs.size(), 1u) << c.name;
    EXPECT_EQ(fs[0].evidence["scan_type"], c.type) << c.name;
    EXPECT_EQ(fs[0].proto, c.proto) << c.name;
  }
  // Segments with data are conversation, whatever their flags.
  Driver d(normal());
  warm_up(d, kT0);
  for (uint32_t i = 0; i < 120; ++i) {
    d.feed(tcp(Timestamp{kT0.ns + i * 50 * kMs}, member(1 + i % 12), 40000, kVictim, static_cast<uint16_t>(2000 + i),
               kAck, 100));
  }
  d.tick_to(Timestamp{kT0.ns + 7 * kSec});
  EXPECT_TRUE(d.findings().empty());
}

TEST(DistributedScan, FindingShape) {
  Driver d(normal());
  warm_up(d, kT0);
  spread_scan(d, kT0, Duration::seconds(20), 25, 8);
  d.tick_to(Timestamp{kT0.ns + 21 * kSec});
  const auto fs = d.of_kind("distributed_scan");
  ASSERT_EQ(fs.size(), 1u);
  const Finding& f = fs[0];
  EXPECT_EQ(f.detector, "distributed_scan");
  EXPECT_EQ(f.signature_id, 2'006'001u);
  EXPECT_TRUE(f.aggregate);
  EXPECT_FALSE(f.update);
  EXPECT_TRUE(f.source.empty());
  ASSERT_TRUE(f.source_prefix.has_value());
  EXPECT_EQ(f.source_prefix->to_string(), "198.19.2.0/24");
  EXPECT_EQ(f.target, kVictim);
  EXPECT_FALSE(f.target_port.has_value());
  EXPECT_EQ(f.proto, 6);
  EXPECT_EQ(f.severity, Severity::medium);
  EXPECT_EQ(f.category, "Detection of a Network Scan");
  const auto& e = f.evidence;
  EXPECT_EQ(e["scan_type"], "syn");
  EXPECT_GE(e["distinct_ports"].get<uint32_t>(), 50u);
  EXPECT_LE(e["distinct_ports"].get<uint32_t>(), 230u);
  EXPECT_GE(e["distinct_sources"].get<uint32_t>(), 5u);
  EXPECT_EQ(e["sources"].size(), 8u);
  for (const auto& s : e["sources"]) EXPECT_EQ(s.get<std::string>().rfind("198.19.2.", 0), 0u) << s;
  EXPECT_LE(e["ports_per_source"]["max"].get<uint32_t>(), 8u);
  EXPECT_GT(e["ports_per_source"]["mean"].get<double>(), 1.0);
  EXPECT_EQ(e["open_ports"], 0);
  EXPECT_EQ(e["sample_ports"].size(), 8u);
  for (const char* k : {"window", "first_seen", "last_seen", "probe_kinds", "source_count", "top_source_new_ports"}) {
    EXPECT_TRUE(e.contains(k)) << k;
  }
  EXPECT_EQ(e["window"].get<double>(), 60.0);
}

TEST(DistributedScan, SourcesFromSeveralSubnetsHaveNoPrefix) {
  Driver d(normal());
  warm_up(d, kT0);
  for (uint32_t i = 0; i < 120; ++i) {
    d.feed(tcp(Timestamp{kT0.ns + i * 50 * kMs}, v4(0x0A000001u + (i % 12) * 0x10000u), 40000, kVictim,
               static_cast<uint16_t>(2000 + i), kSyn));
  }
  d.tick_to(Timestamp{kT0.ns + 7 * kSec});
  ASSERT_EQ(d.findings().size(), 1u);
  EXPECT_FALSE(d.findings()[0].source_prefix.has_value());
}

TEST(DistributedScan, DecoyScanFinding) {
  struct Case {
    const char* name;
    uint32_t decoys;
    bool fires;
  };
  for (const auto& c : {Case{"five", 5, true}, Case{"four", 4, true}, Case{"three", 3, false}}) {
    Driver d(normal());
    warm_up(d, kT0);
    int64_t now = kT0.ns + kSec;
    for (uint16_t p = 0; p < 8; ++p) {
      for (uint32_t m = 0; m < c.decoys; ++m) {
        d.feed(tcp(Timestamp{now + m * 50'000}, member(101 + m), static_cast<uint16_t>(45000 + m), kVictim,
                   static_cast<uint16_t>(3000 + p * 11), kSyn));
        // The victim refuses each probe: refusals must not hide the next decoy's probe.
        d.feed(tcp(Timestamp{now + m * 50'000 + 20'000}, kVictim, static_cast<uint16_t>(3000 + p * 11), member(101 + m),
                   static_cast<uint16_t>(45000 + m), kRst | kAck),
               false);
      }
      now += 10 * kMs;
    }
    d.tick_to(Timestamp{kT0.ns + 4 * kSec});
    const auto fs = d.of_kind("decoy_scan");
    ASSERT_EQ(fs.size(), c.fires ? 1u : 0u) << c.name;
    EXPECT_TRUE(d.of_kind("distributed_scan").empty()) << c.name;
    if (!c.fires) continue;
    const Finding& f = fs[0];
    EXPECT_EQ(f.signature_id, 2'006'002u);
    EXPECT_TRUE(f.aggregate);
    EXPECT_TRUE(f.source.empty());
    EXPECT_EQ(f.target, kVictim);
    ASSERT_TRUE(f.source_prefix.has_value());
    EXPECT_EQ(f.source_prefix->to_string(), "198.19.2.0/24");
    EXPECT_EQ(f.evidence["scan_type"], "syn");
    EXPECT_EQ(f.evidence["sources_per_port"], c.decoys);
    EXPECT_EQ(f.evidence["decoy_ports"], 8);
    std::vector<std::string> want;
    for (uint32_t m = 0; m < c.decoys; ++m) want.push_back(member(101 + m).to_string());
    EXPECT_EQ(f.evidence["decoy_sources"].get<std::vector<std::string>>(), want);
    EXPECT_EQ(f.evidence["sample_ports"].size(), 8u);
  }
}

TEST(DistributedScan, OneFirstReportThenUpdatesThenANewEpisode) {
  Driver d(normal("    update_interval: 60s\n"));
  warm_up(d, kT0);
  // 150 s of slow distributed scanning: 10 new ports a second from 40 sources.
  for (uint32_t i = 0; i < 1500; ++i) {
    d.feed(tcp(Timestamp{kT0.ns + i * 100 * kMs}, member(1 + i % 40), 40000, kVictim, static_cast<uint16_t>(1000 + i),
               kSyn));
  }
  d.tick_to(Timestamp{kT0.ns + 151 * kSec});
  auto fs = d.of_kind("distributed_scan");
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_FALSE(fs[0].update);
  EXPECT_TRUE(fs[1].update);
  EXPECT_TRUE(fs[2].update);
  EXPECT_EQ(fs[1].ts.ns - fs[0].ts.ns, 60 * kSec);
  // Quiet for longer than the window, then again: a new first report.
  d.tick_to(Timestamp{kT0.ns + 300 * kSec});
  warm_up(d, Timestamp{kT0.ns + 400 * kSec});
  spread_scan(d, Timestamp{kT0.ns + 400 * kSec}, Duration::seconds(10), 10, 8, kSyn, 20000);
  d.tick_to(Timestamp{kT0.ns + 411 * kSec});
  fs = d.of_kind("distributed_scan");
  ASSERT_EQ(fs.size(), 4u);
  EXPECT_FALSE(fs[3].update);
}

TEST(DistributedScan, MillionsOfTargetsOrSourcesKeepMemoryFlat) {
  Driver d(normal("    capacity: 256\n    watch_capacity: 16\n    pair_capacity: 4096\n"));
  const uint64_t memory = d.det().stats().memory_bytes;
  warm_up(d, kT0);
  // Two million probes of random other hosts (one port each) around a real distributed scan.
  for (uint32_t i = 0; i < 2'000'000; ++i) {
    const Timestamp ts{kT0.ns + 10 * kSec * i / 2'000'000};
    d.feed(tcp(ts, v4(0x0A000000u + i % 1000), 40000, v4(0x0B000000u + i), 22, kSyn));
    if (i % 10'000 == 0) {
      const uint32_t k = i / 10'000;
      d.feed(tcp(ts, member(1 + k % 20), 40000, kVictim, static_cast<uint16_t>(5000 + k), kSyn));
    }
  }
  d.tick_to(Timestamp{kT0.ns + 11 * kSec});
  auto st = d.det().stats();
  EXPECT_EQ(st.memory_bytes, memory);
  EXPECT_LE(st.tracked, st.capacity);
  EXPECT_GT(st.evictions, 1'000'000u);
  ASSERT_EQ(d.of_kind("distributed_scan").size(), 1u);
  EXPECT_EQ(d.of_kind("distributed_scan")[0].target, kVictim);

  // Two million different (spoofed) sources probing one port each of one host.
  Driver s(normal("    capacity: 256\n    watch_capacity: 16\n    pair_capacity: 4096\n"));
  for (uint32_t i = 0; i < 2'000'000; ++i) {
    s.feed(tcp(Timestamp{kT0.ns + 10 * kSec * i / 2'000'000}, v4(0x20000000u + i * 7u), 40000, kVictim,
               static_cast<uint16_t>(1 + i % 65535), kSyn));
  }
  s.tick_to(Timestamp{kT0.ns + 11 * kSec});
  st = s.det().stats();
  EXPECT_EQ(st.memory_bytes, memory);
  EXPECT_LE(st.tracked, st.capacity);
  const auto fs = s.of_kind("distributed_scan");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_GT(fs[0].evidence["distinct_ports"].get<uint32_t>(), 1000u);
  EXPECT_FALSE(fs[0].source_prefix.has_value());
}

TEST(DistributedScan, Ipv6) {
  Driver d(normal());
  const IpAddress victim = v6(0x20010db800000000, 0xa);
  for (uint32_t i = 0; i < 160; ++i) {
    d.feed(tcp(Timestamp{kT0.ns + i * 50 * kMs}, v6(0x20010db800010002, 1 + i % 16), 40000, victim,
               static_cast<uint16_t>(2000 + i), kSyn));
  }
  d.tick_to(Timestamp{kT0.ns + 9 * kSec});
  ASSERT_EQ(d.findings().size(), 1u);
  EXPECT_EQ(d.findings()[0].target, victim);
  ASSERT_TRUE(d.findings()[0].source_prefix.has_value());
  EXPECT_EQ(d.findings()[0].source_prefix->to_string(), "2001:db8:1:2::/64");
}

TEST(DistributedScan, IgnoresWhatCannotBeAProbe) {
  Driver d(normal("    min_sources: 2\n    min_ports: 2\n"));
  for (uint32_t i = 0; i < 10'000; ++i) {
    const Timestamp ts{kT0.ns + i * kMs};
    PacketMeta no_ports = tcp(ts, member(i % 50), 1, kVictim, static_cast<uint16_t>(i), kSyn);
    no_ports.flags = core::meta_flag::kHasIp;
    d.feed(no_ports);
    PacketMeta fragment = no_ports;
    fragment.flags |= core::meta_flag::kLaterFragment;
    d.feed(fragment);
    PacketMeta no_ip;
    no_ip.ts = ts;
    d.feed(no_ip);
    PacketMeta echo = raw_proto(ts, member(i % 50), kVictim, 1);
    echo.icmp_type = 8;
    echo.flags |= core::meta_flag::kHasIcmp;
    d.feed(echo);
    d.feed(tcp(ts, member(i % 50), 1, kVictim, static_cast<uint16_t>(i), kRst));
    d.feed(tcp(ts, member(i % 50), 1, kVictim, static_cast<uint16_t>(i), kSyn | kAck));
    d.feed(tcp(ts, member(i % 50), 1, kVictim, static_cast<uint16_t>(i), kSyn), /*from_actor=*/false);
  }
  d.tick_to(Timestamp{kT0.ns + 11 * kSec});
  EXPECT_TRUE(d.findings().empty());
  EXPECT_EQ(d.det().stats().tracked, 0u);
}

TEST(DistributedScan, ProfilesAndBadValues) {
  struct Case {
    config::Profile p;
    int64_t min_sources, min_ports, per_source, window_s;
  };
  for (const auto& c : {Case{config::Profile::normal, 5, 50, 32, 60}, Case{config::Profile::aggressive, 4, 32, 24, 120},
                        Case{config::Profile::paranoid, 3, 20, 12, 300}}) {
    const auto cfg = test_config(c.p);
    EXPECT_EQ(cfg.integer("detect.distributed_scan.min_sources"), c.min_sources);
    EXPECT_EQ(cfg.integer("detect.distributed_scan.min_ports"), c.min_ports);
    EXPECT_EQ(cfg.integer("detect.distributed_scan.max_ports_per_source"), c.per_source);
    EXPECT_LT(c.per_source, c.min_ports) << "one source's ports alone never reach min_ports";
    EXPECT_EQ(cfg.duration("detect.distributed_scan.window").ns, c.window_s * kSec);
    EXPECT_TRUE(cfg.boolean("detect.distributed_scan.enabled"));
  }
  EXPECT_EQ(create(normal("    enabled: false\n")), nullptr);
  for (const char* bad : {"    min_sources: 1\n", "    decoy_min_sources: 9\n", "    decoy_window: 0s\n",
                          "    prefix_v4: 33\n", "    max_source_share: 0\n", "    window: soon\n"}) {
    EXPECT_THROW(normal(bad), std::runtime_error) << bad;
  }
}

// ---- scenarios ----

std::vector<Finding> run(const std::string& scenario, bool ipv6, sim::SimSummary* summary = nullptr,
                         config::Profile profile = config::Profile::normal, const std::string& keys = "") {
  Harness h(create(test_config(profile, overrides(keys))), /*per_target=*/true);
  sim::ScenarioOptions o;
  o.ipv6 = ipv6;
  auto s = h.scenario(scenario, o);
  if (summary != nullptr) *summary = s;
  return h.finish();
}

TEST(DistributedScanScenario, DistributedScanAndItsDecoys) {
  for (bool ipv6 : {false, true}) {
    SCOPED_TRACE(ipv6 ? "ipv6" : "ipv4");
    sim::SimSummary s;
    // Updates every 5 s, so the last one holds the whole scan.
    const auto fs = run("distributed-scan", ipv6, &s, config::Profile::normal, "    update_interval: 5s\n");
    const sim::Truth* t = nullptr;
    for (const auto& x : s.truth) {
      if (x.detector == "distributed_scan") t = &x;
    }
    ASSERT_NE(t, nullptr);
    const std::set<IpAddress> truth_sources(t->sources.begin(), t->sources.end());
    size_t distributed = 0, decoy = 0;
    const Finding* last = nullptr;
    const Finding* last_decoy = nullptr;
    std::set<std::string> decoy_sources;
    for (const auto& f : fs) {
      EXPECT_EQ(f.detector, "distributed_scan");
      EXPECT_TRUE(f.aggregate);
      EXPECT_TRUE(f.source.empty());
      EXPECT_EQ(f.target, t->target);
      EXPECT_EQ(f.source_prefix, t->source_prefix) << f.kind;
      EXPECT_EQ(f.evidence["scan_type"], t->scan_type) << f.kind;
      EXPECT_GE(f.ts, t->first);
      const char* list = f.kind == "decoy_scan" ? "decoy_sources" : "sources";
      for (const auto& a : f.evidence[list]) {
        EXPECT_EQ(truth_sources.count(*IpAddress::parse(a.get<std::string>())), 1u) << a;
      }
      if (f.kind == "distributed_scan") {
        distributed += f.update ? 0 : 1;
        last = &f;
        EXPECT_GE(f.evidence["source_count"].get<uint32_t>(), 5u);
        EXPECT_GE(f.evidence["distinct_ports"].get<uint32_t>(), 50u);
      } else {
        ASSERT_EQ(f.kind, "decoy_scan");
        decoy += f.update ? 0 : 1;
        for (const auto& a : f.evidence["decoy_sources"]) decoy_sources.insert(a.get<std::string>());
        EXPECT_EQ(f.evidence["sources_per_port"], 5);
        EXPECT_GE(f.evidence["decoy_ports"].get<uint32_t>(), 3u);
        last_decoy = &f;
      }
    }
    EXPECT_EQ(distributed, 1u);
    EXPECT_EQ(decoy, 1u);
    ASSERT_NE(last_decoy, nullptr);
    EXPECT_EQ(last_decoy->evidence["decoy_ports"], 8) << "every port the decoys probed";
    ASSERT_NE(last, nullptr);
    // 25 sources x 8 ports, and the decoys' 8: nearly all of it seen by the end.
    EXPECT_GE(last->evidence["source_count"].get<uint32_t>(), 22u);
    EXPECT_GE(last->evidence["distinct_ports"].get<uint32_t>(), 180u);
    EXPECT_LE(last->evidence["ports_per_source"]["max"].get<uint32_t>(), 8u);
    EXPECT_LE(last->evidence["open_ports"].get<uint32_t>(), 3u) << "only 22, 80 and 443 answer";
    EXPECT_EQ(decoy_sources.size(), 5u) << "the five decoys";
  }
}

TEST(DistributedScanScenario, OtherScenariosAreNotDistributedScans) {
  for (const char* name : {"benign", "scan-syn", "scan-fin", "scan-null", "scan-xmas", "scan-ack", "scan-maimon",
                           "scan-udp", "scan-ipproto", "sweep", "syn-flood", "spoofed-syn-flood", "conn-flood",
                           "rate-abuse", "large-packets", "mixed"}) {
    for (bool ipv6 : {false, true}) {
      EXPECT_TRUE(run(name, ipv6).empty()) << name << (ipv6 ? " ipv6" : "");
    }
  }
  for (const char* name : {"benign", "scan-syn", "sweep", "mixed"}) {
    EXPECT_TRUE(run(name, false, nullptr, config::Profile::paranoid).empty()) << name << " paranoid";
  }
}

TEST(DistributedScanScenario, BusyBenignTrafficAtHighRate) {
  Harness h(create(test_config(config::Profile::paranoid)), /*per_target=*/true);
  sim::ScenarioOptions o;
  o.packets = 400'000;
  o.rate_pps = 100'000;
  h.scenario("benign", o);
  EXPECT_TRUE(h.finish().empty());
}

}  // namespace
}  // namespace picket::detect::distributed_scan
