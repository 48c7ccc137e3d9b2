// port_scan unit tests: hand-built probes and answers fed through the detection harness (decode →
// attribution → flow tracker → detector), thresholds at / below / above, the sequential test,
// windows, dedup, eviction, the seeds' modes, ordinary users and bad input.
#include "detect/port_scan/port_scan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <set>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

#include "detect/port_scan/scan_state.hpp"
#include "detect/testing/harness.hpp"
#include "sim/packet_builder.hpp"
#include "sim/scenario.hpp"

namespace picket::detect::port_scan {
namespace {

using config::Profile;
using core::Duration;
using core::IpAddress;
using core::Timestamp;
namespace tf = core::tcp_flag;

const IpAddress kScanner = *IpAddress::parse("198.19.0.40");
const IpAddress kVictim = *IpAddress::parse("198.18.0.10");
const IpAddress kResolver = *IpAddress::parse("198.18.0.53");
const IpAddress kClient = *IpAddress::parse("198.18.1.7");
const Timestamp kT0 = sim::kSimStart;

// "key: value" lines under detect.port_scan.
std::string overrides(const std::vector<std::string>& lines) {
  std::string y = "detect:\n  port_scan:\n";
  for (const auto& l : lines) y += "    " + l + "\n";
  return y;
}

enum class Answer { refused, open, silent, none };

struct Rig {
  explicit Rig(const std::vector<std::string>& lines = {}, Profile profile = Profile::normal)
      : harness(create(testing::test_config(profile, overrides(lines))), false) {}

  // Frames go straight to the harness, or, between batch() and flush(), are collected and fed in
  // time order (for traffic built one conversation at a time).
  void frame(const std::vector<uint8_t>& f, Timestamp ts) {
    if (batching_) {
      queued_.emplace_back(ts, f);
    } else {
      harness.frame(ts, f);
    }
  }
  void batch() { batching_ = true; }
  void flush() {
    std::stable_sort(queued_.begin(), queued_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [ts, f] : queued_) harness.frame(ts, f);
    queued_.clear();
    batching_ = false;
  }
  void tcp(const IpAddress& s, const IpAddress& d, uint16_t sp, uint16_t dp, uint8_t fl, Timestamp ts, uint32_t seq = 1000,
           uint32_t ack = 0) {
    auto b = sim::PacketBuilder();
    if (s.is_v6()) b.ipv6(s, d); else b.ipv4(s, d);
    frame(b.tcp(sp, dp, fl, seq, ack).build(), ts);
  }
  // A TCP probe with `flags` and the target's answer: refused (RST|ACK), open (SYN-ACK, then the
  // scanner's RST), silent (nothing; fails at the probe timeout).
  void probe(const IpAddress& src, const IpAddress& dst, uint16_t dport, Answer a, Timestamp ts, uint16_t sport = 40000,
             uint8_t flags = tf::kSyn) {
    tcp(src, dst, sport, dport, flags, ts, 7);
    const Timestamp r = ts + Duration::micros(200);
    if (a == Answer::refused) tcp(dst, src, dport, sport, tf::kRst | tf::kAck, r, 0, 8);
    if (a == Answer::open) {
      tcp(dst, src, dport, sport, tf::kSyn | tf::kAck, r, 5000, 8);
      tcp(src, dst, sport, dport, tf::kRst, r + Duration::micros(100), 8);
    }
  }
  // A complete connection: handshake, a request, the answer, FIN close.
  void connection(const IpAddress& c, const IpAddress& s, uint16_t sp, uint16_t dp, Timestamp ts) {
    tcp(c, s, sp, dp, tf::kSyn, ts, 100);
    tcp(s, c, dp, sp, tf::kSyn | tf::kAck, ts + Duration::millis(10), 900, 101);
    tcp(c, s, sp, dp, tf::kAck, ts + Duration::millis(20), 101, 901);
    tcp(c, s, sp, dp, tf::kAck | tf::kPsh, ts + Duration::millis(21), 101, 901);
    tcp(s, c, dp, sp, tf::kAck | tf::kPsh, ts + Duration::millis(40), 901, 400);
    tcp(c, s, sp, dp, tf::kFin | tf::kAck, ts + Duration::millis(50), 400, 2000);
    tcp(s, c, dp, sp, tf::kFin | tf::kAck, ts + Duration::millis(60), 2000, 401);
  }
  void udp(const IpAddress& s, const IpAddress& d, uint16_t sp, uint16_t dp, Timestamp ts) {
    auto b = sim::PacketBuilder();
    if (s.is_v6()) b.ipv6(s, d); else b.ipv4(s, d);
    frame(b.udp(sp, dp).payload_size(20).build(), ts);
  }
  void ping(const IpAddress& s, const IpAddress& d, Timestamp ts, bool answered) {
    frame(sim::PacketBuilder().ipv4(s, d).icmp(8, 0, 0x10001).build(), ts);
    if (answered) frame(sim::PacketBuilder().ipv4(d, s).icmp(0, 0, 0x10001).build(), ts + Duration::millis(1));
  }
  const std::vector<Finding>& finish() { return harness.finish(); }

  testing::Harness harness;

 private:
  bool batching_ = false;
  std::vector<std::pair<Timestamp, std::vector<uint8_t>>> queued_;
};

Timestamp at_ms(int64_t ms) { return kT0 + Duration::millis(ms); }

// `n` ports (from 1000 up) whose bits in a 64-bit DistinctBitmap all differ, so n probes are
// exactly n distinct counts: thresholds can be tested at, just below and just above.
std::vector<uint16_t> distinct_ports(size_t n, uint8_t proto = 6) {
  std::vector<uint16_t> out;
  Bitmap seen;
  for (uint32_t p = 1000; out.size() < n && p < 65535; ++p) {
    if (seen.add(port_key(proto, static_cast<uint16_t>(p)))) out.push_back(static_cast<uint16_t>(p));
  }
  return out;
}

std::vector<IpAddress> distinct_hosts(size_t n) {
  std::vector<IpAddress> out;
  Bitmap seen;
  for (uint32_t i = 1; out.size() < n && i < 65536; ++i) {
    const IpAddress a = IpAddress::v4(0xC6120000u + i);  // 198.18.x.y
    if (seen.add(a.hash())) out.push_back(a);
  }
  return out;
}

size_t count_kind(const std::vector<Finding>& fs, std::string_view kind) {
  size_t n = 0;
  for (const auto& f : fs) n += f.kind == kind ? 1 : 0;
  return n;
}

std::string ev_str(const Finding& f, const char* key) {
  return f.evidence.contains(key) && f.evidence[key].is_string() ? f.evidence[key].get<std::string>() : std::string();
}

// ---------------------------------------------------------------------------------------------

TEST(PortScanState, EntryStaysWithin160Bytes) {
  EXPECT_LE(sizeof(Entry), 160u) << "sizeof(Entry) = " << sizeof(Entry);
}

// The reference a BitRing replaces: kBuckets bitmaps, the newest at `head`.
struct RingOfBitmaps {
  std::array<Bitmap, kBuckets> maps{};
  Bitmap live_union(uint32_t head, uint32_t live) const {
    Bitmap u;
    for (uint32_t k = 0; k < live; ++k) u.merge(maps[(head + kBuckets - k) % kBuckets]);
    return u;
  }
};

// Random adds, rolls of 1..5 buckets (through roll(), as the detector does) and resets, with few
// distinct values so bits collide and come back: after every step each query (union of the
// newest 0..4 buckets, "new in the newest bucket") answers as the four bitmaps do.
TEST(PortScanState, BitRingAnswersAsFourBitmaps) {
  struct Case {
    uint64_t seed;
    uint32_t values;  // distinct values drawn from
    uint32_t roll_one_in;
  };
  const std::vector<Case> cases = {{1, 8, 3}, {2, 40, 5}, {3, 200, 10}, {4, 1000, 2}, {5, 64, 50}};
  for (const auto& c : cases) {
    uint64_t x = c.seed * 0x9E3779B97F4A7C15ULL;
    auto next = [&x] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    BitRing ring;
    RingOfBitmaps ref;
    uint32_t head = 0;
    uint32_t epoch = 100;
    for (int step = 0; step < 20'000; ++step) {
      const uint64_t r = next();
      if (r % c.roll_one_in == 0) {
        const uint32_t e = epoch + 1 + static_cast<uint32_t>((r >> 8) % 5);
        uint32_t ref_epoch = epoch;
        const uint32_t ref_head = roll(ref_epoch, head, e, [&ref](uint32_t b) { ref.maps[b].clear(); });
        head = roll(epoch, head, e, [&ring](uint32_t b) { ring.clear(b); });
        ASSERT_EQ(head, ref_head);
      } else if (r % 997 == 1) {
        ring.clear_all();
        for (auto& m : ref.maps) m.clear();
      } else {
        const uint64_t v = (r >> 16) % c.values;
        Bitmap newest = ref.maps[head];
        const bool ref_fresh = newest.add(v);
        ref.maps[head].add(v);
        ASSERT_EQ(ring.add(v, head), ref_fresh) << "seed " << c.seed << " step " << step;
      }
      for (uint32_t live = 0; live <= kBuckets; ++live) {
        const Bitmap a = ring.live_union(head, live);
        const Bitmap b = ref.live_union(head, live);
        ASSERT_EQ(std::bit_cast<uint64_t>(a), std::bit_cast<uint64_t>(b)) << "seed " << c.seed << " step " << step;
      }
    }
  }
}

// The packed report state answers as ReportState, for each kind on its own.
TEST(PortScanState, PackedReportsAnswerAsReportState) {
  const Duration interval = Duration::seconds(60);
  // (kind, seconds after kT0) in order; both kinds interleaved.
  const std::vector<std::pair<ReportKind, int64_t>> calls = {
      {ReportKind::scan, 0},   {ReportKind::scan, 10},   {ReportKind::sweep, 20}, {ReportKind::scan, 60},
      {ReportKind::sweep, 79}, {ReportKind::sweep, 80},  {ReportKind::scan, 119}, {ReportKind::scan, 120},
      {ReportKind::scan, 500}, {ReportKind::sweep, 140}, {ReportKind::sweep, 30}, {ReportKind::scan, 1000}};
  Entry e;
  e.set_fast_head(3);
  e.set_slow_head(2);
  std::array<ReportState, 2> ref{};
  for (const auto& [k, sec] : calls) {
    const Timestamp t = kT0 + Duration::seconds(sec);
    ReportState& r = ref[static_cast<size_t>(k)];
    const bool want = r.due(t, interval);
    EXPECT_EQ(e.due(k, t, interval), want) << sec;
    EXPECT_EQ(e.reported(k), r.reported()) << sec;
    EXPECT_EQ(e.is_update(k), r.is_update()) << sec;
  }
  EXPECT_EQ(e.fast_head(), 3u);  // the report counts share `heads` without touching the ring positions
  EXPECT_EQ(e.slow_head(), 2u);
}

TEST(PortScanState, MajorityKindNeedsTwoThirds) {
  struct Case {
    std::vector<std::pair<ProbeKind, int>> probes;
    ProbeKind want;
  };
  const std::vector<Case> cases = {
      {{}, ProbeKind::none},
      {{{ProbeKind::syn, 10}}, ProbeKind::syn},
      {{{ProbeKind::ack, 200}, {ProbeKind::icmp, 1}, {ProbeKind::syn, 1}}, ProbeKind::ack},
      {{{ProbeKind::syn, 2}, {ProbeKind::udp, 1}}, ProbeKind::syn},   // exactly two thirds
      {{{ProbeKind::syn, 3}, {ProbeKind::udp, 2}}, ProbeKind::none},  // 60 %: mixed
      {{{ProbeKind::syn, 50}, {ProbeKind::udp, 50}}, ProbeKind::none},
      {{{ProbeKind::ip_proto, 600}, {ProbeKind::ack, 3}, {ProbeKind::udp, 3}}, ProbeKind::ip_proto},  // halved on the way
  };
  for (const auto& c : cases) {
    std::array<uint8_t, kKinds> kinds{};
    for (const auto& [k, n] : c.probes) {
      for (int i = 0; i < n; ++i) port_scan::count_kind(kinds, k);
    }
    EXPECT_EQ(majority_kind(kinds), c.want) << probe_kind_name(c.want);
  }
}

TEST(PortScanConfig, ProfilesAndSeedDefaults) {
  struct Case {
    Profile profile;
    int64_t port, host, slow, capacity;
    double false_positive;
    int failures_to_flag;  // pure failures the walk needs
  };
  const std::vector<Case> cases = {
      {Profile::normal, 12, 12, 12, 65'536, 0.001, 5},
      {Profile::aggressive, 8, 8, 8, 65'536, 0.01, 4},
      {Profile::paranoid, 5, 5, 5, 131'072, 0.01, 4},
  };
  for (const auto& c : cases) {
    const auto cfg = testing::test_config(c.profile);
    const std::string p = "detect.port_scan.";
    EXPECT_TRUE(cfg.boolean(p + "enabled"));
    EXPECT_EQ(cfg.integer(p + "port_threshold"), c.port);
    EXPECT_EQ(cfg.integer(p + "host_threshold"), c.host);
    EXPECT_EQ(cfg.integer(p + "slow_threshold"), c.slow);
    EXPECT_EQ(cfg.integer(p + "capacity"), c.capacity);
    EXPECT_DOUBLE_EQ(cfg.number(p + "trw_false_positive"), c.false_positive);
    // The seeds' simple modes are off by default in every profile (they flag ordinary users).
    EXPECT_EQ(cfg.integer(p + "scan_threshold"), 0);
    EXPECT_TRUE(cfg.list(p + "ports_to_monitor").empty());
    EXPECT_EQ(cfg.duration(p + "window"), Duration::seconds(60));
    EXPECT_EQ(cfg.duration(p + "slow_window"), Duration::seconds(3600));
    const Trw t = Trw::from(cfg.number(p + "trw_theta0"), cfg.number(p + "trw_theta1"), cfg.number(p + "trw_false_positive"),
                            cfg.number(p + "trw_detection"));
    EXPECT_LT((c.failures_to_flag - 1) * t.failure_step, t.upper);
    EXPECT_GE(c.failures_to_flag * t.failure_step, t.upper);
    EXPECT_LT(t.lower, 0);
  }
}

TEST(PortScanConfig, BadSettingsAreRefused) {
  // Out of the schema's ranges: the loader says so.
  for (const std::string line : {"port_threshold: 1", "port_threshold: 49", "trw_theta0: 0.5", "trw_theta1: 0.5",
                                 "trw_false_positive: 0.5", "ports_to_monitor: [70000]", "window: 0s"}) {
    EXPECT_THROW(testing::test_config(Profile::normal, overrides({line})), std::runtime_error) << line;
  }
  // What the schema cannot see: create() refuses with a clear message.
  try {
    (void)create(testing::test_config(Profile::normal, overrides({"ports_to_monitor: [\"1-100\"]"})));
    ADD_FAILURE() << "100 monitored ports accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at most 32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(create(testing::test_config(Profile::normal, overrides({"window: 10m", "slow_window: 5m"}))),
               std::invalid_argument);
  EXPECT_EQ(create(testing::test_config(Profile::normal, overrides({"enabled: false"}))), nullptr);
  EXPECT_NE(create(testing::test_config(Profile::normal, overrides({"ports_to_monitor: [\"1-32\"]"}))), nullptr);
}

// ---- the sequential test ----

// Each letter a first contact to a new port of one host: F refused, U unanswered, S answered.
TEST(PortScanTrw, FlagsAfterAboutFiveFailures) {
  struct Case {
    std::string outcomes;
    bool flagged;
  };
  const std::vector<Case> cases = {
      {"FFFF", false},
      {"FFFFF", true},
      {"UUUU", false},
      {"UUUUU", true},
      {"FUFUF", true},
      {"FFSFF", false},    // 4 failures mixed with a success
      {"SFFFF", false},
      {"FFFFSF", false},   // 5 failures, 1 success: net 4
      {"FFFFSFF", true},   // net 5
      {std::string(10, 'S') + "FFFFF", false},
      {std::string(10, 'S') + "FFFFFFF", true},
      // η0 bounds the credit a benign past gives: 200 answered contacts buy at most 3 failures.
      {std::string(200, 'S') + "FFFFFFFF", true},
  };
  for (const auto& c : cases) {
    Rig rig({"port_threshold: 2", "slow_threshold: 48"});
    // Distinct bits only matter for the short cases; 64 bits cannot hold 200 of them.
    std::vector<uint16_t> ports = distinct_ports(std::min<size_t>(c.outcomes.size(), 20));
    for (uint16_t p = 20000; ports.size() < c.outcomes.size(); ++p) ports.push_back(p);
    for (size_t i = 0; i < c.outcomes.size(); ++i) {
      const char o = c.outcomes[i];
      const Answer a = o == 'F' ? Answer::refused : o == 'S' ? Answer::open : Answer::silent;
      rig.probe(kScanner, kVictim, ports[i], a, at_ms(static_cast<int64_t>(i) * 10));
    }
    rig.harness.advance(at_ms(static_cast<int64_t>(c.outcomes.size()) * 10 + 6000));  // past the probe timeout
    const auto& fs = rig.finish();
    EXPECT_EQ(count_kind(fs, "port_scan") > 0, c.flagged) << c.outcomes;
    if (!fs.empty()) {
      const auto& ev = fs.front().evidence;
      EXPECT_GE(ev["trw_llr"].get<double>(), ev["trw_threshold"].get<double>()) << c.outcomes;
      EXPECT_EQ(ev["trigger"], "trw");
      EXPECT_EQ(fs.front().severity, Severity::high);
    }
  }
}

// ---- thresholds at, just below and just above, per profile ----

TEST(PortScanThresholds, VerticalPerProfile) {
  struct Case {
    Profile profile;
    size_t ports;
    bool flagged;
  };
  const std::vector<Case> cases = {
      {Profile::normal, 11, false},    {Profile::normal, 12, true},    {Profile::normal, 13, true},
      {Profile::aggressive, 7, false}, {Profile::aggressive, 8, true}, {Profile::aggressive, 9, true},
      {Profile::paranoid, 4, false},   {Profile::paranoid, 5, true},   {Profile::paranoid, 6, true},
  };
  for (const auto& c : cases) {
    Rig rig({"slow_threshold: 48"}, c.profile);
    const auto ports = distinct_ports(c.ports);
    for (size_t i = 0; i < ports.size(); ++i) rig.probe(kScanner, kVictim, ports[i], Answer::refused, at_ms(static_cast<int64_t>(i)));
    const auto& fs = rig.finish();
    ASSERT_EQ(count_kind(fs, "port_scan"), c.flagged ? 1u : 0u) << config::profile_name(c.profile) << " " << c.ports;
    EXPECT_EQ(count_kind(fs, "sweep"), 0u);
    if (!c.flagged) continue;
    const Finding& f = fs.front();
    EXPECT_EQ(f.detector, "port_scan");
    EXPECT_EQ(f.source, kScanner);
    EXPECT_EQ(f.target, kVictim);
    EXPECT_EQ(f.proto, 6);
    EXPECT_EQ(f.signature_id, 2'005'001u);
    EXPECT_FALSE(f.update);
    EXPECT_FALSE(f.aggregate);
    EXPECT_EQ(ev_str(f, "scan_kind"), "vertical");
    EXPECT_EQ(ev_str(f, "scan_type"), "syn");
    // Reported at the probe that reaches the threshold, before that probe's own answer.
    const auto threshold = static_cast<uint32_t>(testing::test_config(c.profile).integer("detect.port_scan.port_threshold"));
    EXPECT_GE(f.evidence["distinct_ports"].get<uint32_t>(), threshold);  // an estimate: never below
    EXPECT_EQ(f.evidence["probes"].get<uint32_t>(), threshold);
    EXPECT_EQ(f.evidence["failures"].get<uint32_t>(), threshold - 1);
    EXPECT_EQ(ev_str(f, "target_host"), "198.18.0.10");
    EXPECT_EQ(ev_str(f, "first_seen"), core::format_iso8601(kT0));
    EXPECT_EQ(f.evidence["window"].get<int>(), 60);
    EXPECT_EQ(f.evidence["probes_by_kind"]["syn"].get<uint32_t>(), threshold);
    for (const auto& p : f.evidence["sample_ports"]) {
      EXPECT_NE(std::find(ports.begin(), ports.end(), p.get<uint16_t>()), ports.end());
    }
    EXPECT_EQ(f.evidence["sample_ports"].size(), 3u);
  }
}

TEST(PortScanThresholds, SweepPerProfile) {
  struct Case {
    Profile profile;
    size_t hosts;
    bool flagged;
  };
  const std::vector<Case> cases = {
      {Profile::normal, 11, false},    {Profile::normal, 12, true},    {Profile::normal, 13, true},
      {Profile::aggressive, 7, false}, {Profile::aggressive, 8, true}, {Profile::aggressive, 9, true},
      {Profile::paranoid, 4, false},   {Profile::paranoid, 5, true},   {Profile::paranoid, 6, true},
  };
  for (const auto& c : cases) {
    Rig rig({"slow_threshold: 48"}, c.profile);
    const auto hosts = distinct_hosts(c.hosts);
    for (size_t i = 0; i < hosts.size(); ++i) rig.probe(kScanner, hosts[i], 22, Answer::silent, at_ms(static_cast<int64_t>(i) * 2));
    rig.harness.advance(at_ms(7000));
    const auto& fs = rig.finish();
    ASSERT_EQ(count_kind(fs, "sweep"), c.flagged ? 1u : 0u) << config::profile_name(c.profile) << " " << c.hosts;
    EXPECT_EQ(count_kind(fs, "port_scan"), 0u);
    if (!c.flagged) continue;
    const Finding& f = fs.front();
    EXPECT_EQ(f.signature_id, 2'005'002u);
    EXPECT_TRUE(f.target.empty());
    EXPECT_EQ(f.target_port, 22);
    EXPECT_EQ(f.proto, 6);
    EXPECT_EQ(ev_str(f, "scan_kind"), "sweep");
    EXPECT_GE(f.evidence["distinct_hosts"].get<uint32_t>(), c.hosts);
    EXPECT_EQ(f.evidence["main_port"].get<int>(), 22);
  }
}

// Seed 002: a plain count of distinct ports, answered or not (no sequential test).
TEST(PortScanThresholds, SimpleThresholdMode) {
  struct Case {
    size_t ports;
    bool flagged;
  };
  for (const auto& c : std::vector<Case>{{2, false}, {3, true}, {4, true}}) {
    Rig rig({"scan_threshold: 3"});
    const auto ports = distinct_ports(c.ports);
    for (size_t i = 0; i < ports.size(); ++i) rig.probe(kClient, kVictim, ports[i], Answer::open, at_ms(static_cast<int64_t>(i) * 100), static_cast<uint16_t>(40000 + i));
    const auto& fs = rig.finish();
    ASSERT_EQ(fs.size(), c.flagged ? 1u : 0u) << c.ports;
    if (!c.flagged) continue;
    EXPECT_EQ(ev_str(fs[0], "trigger"), "threshold");
    EXPECT_EQ(fs[0].severity, Severity::medium);  // every probe was answered: not confirmed by the test
    EXPECT_EQ(fs[0].evidence["successes"].get<int>(), 2);  // at the third probe, before its answer
  }
  // Off (0) by default: the same probes give nothing.
  Rig off;
  const auto ports = distinct_ports(10);
  for (size_t i = 0; i < ports.size(); ++i) off.probe(kClient, kVictim, ports[i], Answer::open, at_ms(static_cast<int64_t>(i) * 100), static_cast<uint16_t>(40000 + i));
  EXPECT_TRUE(off.finish().empty());
}

// Seed 004: distinct monitored ports touched, on any hosts.
TEST(PortScanThresholds, MonitoredPortsMode) {
  struct Case {
    std::vector<uint16_t> ports;
    bool flagged;
  };
  const std::vector<Case> cases = {
      {{22, 23, 1000, 1001, 1002, 1003}, false},  // two monitored ports, four others
      {{22, 23, 3389}, true},
      {{22, 23, 3389, 445}, true},
      {{22, 22, 23, 23}, false},                  // the same two again
  };
  for (const auto& c : cases) {
    Rig rig({"ports_to_monitor: [22, 23, 445, \"3389-3390\"]", "port_scan_threshold: 3"});
    const auto hosts = distinct_hosts(c.ports.size());
    for (size_t i = 0; i < c.ports.size(); ++i) {
      rig.probe(kClient, hosts[i], c.ports[i], Answer::open, at_ms(static_cast<int64_t>(i) * 1000), static_cast<uint16_t>(40000 + i));
    }
    const auto& fs = rig.finish();
    ASSERT_EQ(fs.size(), c.flagged ? 1u : 0u);
    if (!c.flagged) continue;
    EXPECT_EQ(ev_str(fs[0], "trigger"), "monitored");
    std::set<uint16_t> hit;
    for (const auto& p : fs[0].evidence["monitored_ports_hit"]) hit.insert(p.get<uint16_t>());
    EXPECT_EQ(hit, (std::set<uint16_t>{22, 23, 3389}));  // reported when the third one came
  }
}

// ---- windows ----

TEST(PortScanWindow, NoBoundaryToPaceAround) {
  // Window 60 s in 15 s buckets: six probes just before a boundary and six just after are
  // twelve ports in the window, whatever counter reset a boundary might suggest.
  Rig rig({"slow_threshold: 48"});
  const auto ports = distinct_ports(12);
  const Timestamp boundary{(kT0.ns / Duration::seconds(60).ns + 1) * Duration::seconds(60).ns};
  for (size_t i = 0; i < 12; ++i) {
    const Timestamp t = i < 6 ? boundary - Duration::millis(600 - 100 * static_cast<int64_t>(i))
                              : boundary + Duration::millis(100 * static_cast<int64_t>(i - 6));
    rig.probe(kScanner, kVictim, ports[i], Answer::refused, t);
  }
  EXPECT_EQ(count_kind(rig.finish(), "port_scan"), 1u);
}

TEST(PortScanWindow, SpreadOutProbesLeaveTheShortWindow) {
  // One new port every 10 s: never twelve within a minute. The long tier is set out of reach.
  Rig rig({"slow_threshold: 48"});
  const auto ports = distinct_ports(40);
  for (size_t i = 0; i < ports.size(); ++i) rig.probe(kScanner, kVictim, ports[i], Answer::refused, at_ms(static_cast<int64_t>(i) * 10'000));
  EXPECT_TRUE(rig.finish().empty());
}

TEST(PortScanWindow, SlowScanCaughtWithinMinutes) {
  // nmap -T1: one probe every 15 s.
  Rig rig;
  const auto ports = distinct_ports(40);
  for (size_t i = 0; i < ports.size(); ++i) {
    const Answer a = i == 3 || i == 17 ? Answer::open : Answer::refused;
    rig.probe(kScanner, kVictim, ports[i], a, kT0 + Duration::seconds(15 * static_cast<int64_t>(i)));
  }
  const auto& fs = rig.finish();
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].kind, "port_scan");
  EXPECT_EQ(ev_str(fs[0], "scan_kind"), "slow");
  EXPECT_EQ(ev_str(fs[0], "scan_type"), "syn");
  EXPECT_EQ(fs[0].evidence["window"].get<int>(), 3600);
  EXPECT_LE(fs[0].ts - kT0, Duration::minutes(5)) << core::format_iso8601(fs[0].ts);
  for (const auto& f : fs) EXPECT_EQ(f.source, kScanner);
}

TEST(PortScanWindow, OneConnectionEveryFifteenSecondsIsNotAScan) {
  for (const Answer a : {Answer::open, Answer::refused}) {
    Rig rig({}, Profile::paranoid);
    for (int i = 0; i < 240; ++i) {  // an hour
      const Timestamp t = kT0 + Duration::seconds(15 * i);
      if (a == Answer::open) {
        rig.connection(kClient, kVictim, static_cast<uint16_t>(40000 + i), 443, t);
      } else {
        rig.probe(kClient, kVictim, 8080, Answer::refused, t, static_cast<uint16_t>(40000 + i));
      }
    }
    EXPECT_TRUE(rig.finish().empty());
  }
}

// ---- dedup ----

TEST(PortScanDedup, OneFindingThenPeriodicUpdatesThenANewOneAfterQuiet) {
  Rig rig;
  uint16_t port = 1;
  auto scan = [&](Timestamp from, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      rig.probe(kScanner, kVictim, port++, Answer::refused, from + Duration::millis(100 * i));
    }
  };
  scan(kT0, 150);  // 1500 probes over 2.5 minutes
  const auto first = rig.harness.findings();
  ASSERT_EQ(first.size(), 3u);  // at 0 s, then 60 s and 120 s later
  EXPECT_FALSE(first[0].update);
  EXPECT_TRUE(first[1].update);
  EXPECT_TRUE(first[2].update);
  EXPECT_GE(first[1].ts - first[0].ts, Duration::seconds(60));
  EXPECT_GE(first[2].ts - first[1].ts, Duration::seconds(60));
  EXPECT_GT(first[2].evidence["probes"].get<uint32_t>(), first[0].evidence["probes"].get<uint32_t>());
  // Quiet for longer than slow_window: the next scan is a new first report.
  scan(kT0 + Duration::seconds(150) + Duration::minutes(61), 5);
  const auto& all = rig.finish();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_FALSE(all[3].update);
  EXPECT_EQ(ev_str(all[3], "first_seen"), core::format_iso8601(kT0 + Duration::seconds(150) + Duration::minutes(61)));
}

// ---- bounded state ----

TEST(PortScanBounded, FloodOfSourcesKeepsTheScannerAndItsEvidence) {
  Rig rig({"capacity: 1024"});
  auto flood_source = [](uint32_t i) { return IpAddress::v4(0x0A000000u + i); };  // 10.x.y.z
  uint32_t next = 1;
  Timestamp t = kT0;
  auto flood = [&](uint32_t n) {
    for (uint32_t k = 0; k < n; ++k) {
      t = t + Duration::micros(20);
      rig.tcp(flood_source(next), kVictim, 1024, 80, tf::kSyn, t, next);
      ++next;
    }
  };
  // The scanner starts under cover of the flood: one probe per 50 flood packets.
  uint16_t port = 1;
  for (int i = 0; i < 20; ++i) {
    flood(50);
    rig.probe(kScanner, kVictim, port++, Answer::refused, t);
    t = t + Duration::millis(1);  // after the answer
  }
  ASSERT_EQ(rig.harness.findings().size(), 1u);
  // Then 20 000 more sources, more than the table holds many times over, and no scanner packet.
  flood(20'000);
  const DetectorStats st = rig.harness.detector().stats();
  EXPECT_EQ(st.capacity, 1024u);
  EXPECT_LE(st.tracked, 1024u);
  EXPECT_GT(st.evictions, 19'000u);
  EXPECT_EQ(st.evictions_with_evidence, 0u);
  EXPECT_EQ(st.findings, 1u);
  EXPECT_GT(st.memory_bytes, 1024u * sizeof(Entry));
  // The scanner's entry survived: when it scans on a minute later, its report is an update of
  // the same finding (an evicted entry would have started over with a new first report).
  t = t + Duration::seconds(61);
  for (int i = 0; i < 20; ++i) {
    rig.probe(kScanner, kVictim, port++, Answer::refused, t);
    t = t + Duration::millis(1);
  }
  const auto& fs = rig.finish();
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_TRUE(fs[1].update);
  EXPECT_EQ(fs[1].source, kScanner);
  EXPECT_EQ(ev_str(fs[1], "first_seen"), ev_str(fs[0], "first_seen"));
  EXPECT_GT(fs[1].evidence["probes"].get<uint32_t>(), 20u);
  for (const auto& f : fs) EXPECT_EQ(f.source, kScanner);
}

// ---- ordinary users ----

TEST(PortScanBenign, OrdinaryUsersAreNeverFlagged) {
  for (Profile profile : config::kAllProfiles) {
    Rig rig({}, profile);
    rig.batch();
    // A browser: 6 parallel connections to 443 and 80, a visit every 20 s for ten minutes.
    for (int visit = 0; visit < 30; ++visit) {
      const Timestamp t = kT0 + Duration::seconds(20 * visit);
      for (int c = 0; c < 6; ++c) {
        rig.connection(kClient, kVictim, static_cast<uint16_t>(50000 + visit * 6 + c), c % 2 ? 80 : 443,
                       t + Duration::millis(c));
      }
    }
    // The server's DNS lookups: a new source port per query, each answered.
    for (int q = 0; q < 500; ++q) {
      const Timestamp t = kT0 + Duration::millis(1000 * q + 5);
      rig.udp(kVictim, kResolver, static_cast<uint16_t>(33000 + q), 53, t);
      rig.udp(kResolver, kVictim, 53, static_cast<uint16_t>(33000 + q), t + Duration::millis(2));
    }
    // A NAT address with 60 users on it: many connections to 80/443 and, as the capture starts
    // mid-conversation, a few stray ACKs that never get an answer.
    const IpAddress nat = *IpAddress::parse("198.18.7.1");
    for (int u = 0; u < 60; ++u) {
      const Timestamp t = kT0 + Duration::millis(7000 * u + 3);
      rig.connection(nat, kVictim, static_cast<uint16_t>(20000 + u * 3), 443, t);
      rig.connection(nat, kVictim, static_cast<uint16_t>(20001 + u * 3), 80, t + Duration::millis(5));
      if (u < 12) rig.tcp(nat, kVictim, static_cast<uint16_t>(20002 + u * 3), u % 2 ? 443 : 80, tf::kAck, t, 5, 6);
    }
    // A client retrying one closed port, again and again (new source port each time), and pinging.
    const IpAddress retry = *IpAddress::parse("198.18.9.9");
    for (int i = 0; i < 40; ++i) {
      rig.probe(retry, kVictim, 8443, Answer::refused, kT0 + Duration::millis(2000 * i + 7), static_cast<uint16_t>(41000 + i));
    }
    for (int i = 0; i < 4; ++i) rig.ping(retry, kVictim, kT0 + Duration::seconds(i), true);
    rig.flush();
    rig.harness.advance(kT0 + Duration::minutes(12));
    EXPECT_TRUE(rig.finish().empty()) << config::profile_name(profile);
  }
}

// ---- scan types and shapes from hand-built probes ----

TEST(PortScanTypes, MixedAndPingSweep) {
  {
    // Half SYN, half UDP probes to one host: "mixed".
    Rig rig;
    const auto ports = distinct_ports(30);
    for (size_t i = 0; i < ports.size(); ++i) {
      const Timestamp t = at_ms(static_cast<int64_t>(i));
      if (i % 2) {
        rig.probe(kScanner, kVictim, ports[i], Answer::refused, t);
      } else {
        rig.udp(kScanner, kVictim, 40001, ports[i], t);
      }
    }
    rig.harness.advance(at_ms(7000));
    const auto& fs = rig.finish();
    ASSERT_EQ(count_kind(fs, "port_scan"), 1u);
    EXPECT_EQ(ev_str(fs[0], "scan_type"), "mixed");
    EXPECT_EQ(fs[0].proto, 0);
  }
  {
    // Echo requests to many hosts, unanswered: a ping sweep (kind sweep, scan_type icmp).
    Rig rig;
    const auto hosts = distinct_hosts(40);
    for (size_t i = 0; i < hosts.size(); ++i) rig.ping(kScanner, hosts[i], at_ms(static_cast<int64_t>(i) * 5), false);
    rig.harness.advance(at_ms(7000));
    const auto& fs = rig.finish();
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_EQ(fs[0].kind, "sweep");
    EXPECT_EQ(ev_str(fs[0], "scan_type"), "icmp");
    EXPECT_EQ(fs[0].proto, 1);
    EXPECT_FALSE(fs[0].target_port.has_value());
  }
  {
    // Echo requests to one host, however many: nothing.
    Rig rig({}, Profile::paranoid);
    for (int i = 0; i < 100; ++i) rig.ping(kScanner, kVictim, at_ms(i * 1000), false);
    rig.harness.advance(at_ms(120'000));
    EXPECT_TRUE(rig.finish().empty());
  }
}

// ---- bad input ----

TEST(PortScanBadInput, GarbageAndStrayEventsAreHarmless) {
  Rig rig({}, Profile::paranoid);
  // Truncated and nonsense frames.
  auto good = sim::PacketBuilder().ipv4(kScanner, kVictim).tcp(40000, 22, tf::kSyn).build();
  for (size_t len = 0; len < good.size(); ++len) {
    rig.harness.frame(at_ms(1), std::span<const uint8_t>(good.data(), len));
  }
  std::vector<uint8_t> junk(200, 0xFF);
  rig.harness.frame(at_ms(2), junk);
  // Answers to probes never seen, and notices for unknown sources.
  for (int i = 0; i < 50; ++i) rig.tcp(kVictim, kScanner, static_cast<uint16_t>(i + 1), 40000, tf::kRst | tf::kAck, at_ms(3), 0, 1);
  FlowNotice n;
  n.event = FlowEvent::probe_unanswered;
  n.actor = *IpAddress::parse("203.0.113.9");
  n.ts = at_ms(4);
  struct Drop : FindingSink {
    void add(Finding&&) override { ++count; }
    int count = 0;
  } drop;
  rig.harness.detector().on_flow_notice(n, drop);
  // A context that claims a probe but has none.
  core::PacketMeta m;
  m.ts = at_ms(5);
  PacketContext ctx;
  ctx.meta = &m;
  ctx.actor = kScanner;
  ctx.from_actor = true;
  ctx.flow = FlowEvent::probe;
  ctx.probe = ProbeKind::none;
  rig.harness.detector().on_packet(ctx, drop);
  EXPECT_EQ(drop.count, 0);
  EXPECT_TRUE(rig.finish().empty());
  EXPECT_EQ(rig.harness.detector().stats().tracked, 0u);
}

}  // namespace
}  // namespace picket::detect::port_scan
