// Each scenario's traffic does what its ground truth says: the attackers really flood, scan or
// abuse, the victim answers as Linux would, and the benign clients never look like attackers.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/packet_meta.hpp"
#include "sim/scenario.hpp"
#include "sim/test_frames.hpp"

namespace picket::sim {
namespace {

using simtest::Collector;
using simtest::has;
using simtest::Pkt;
using namespace core::tcp_flag;

const core::IpAddress kVictim = *core::IpAddress::parse("198.18.0.10");
const core::Prefix kClients = *core::Prefix::parse("198.18.0.0/17");
const core::Prefix kLan = *core::Prefix::parse("198.18.0.0/24");

struct Capture {
  Collector c;
  SimSummary s;
};

// Generated once per scenario and options, shared by the tests.
const Capture& capture(const std::string& name, ScenarioOptions o = {}) {
  static std::map<std::string, std::unique_ptr<Capture>> cache;
  const std::string key = name + "/" + std::to_string(o.packets) + "/" + std::to_string(o.rate_pps);
  auto& slot = cache[key];
  if (!slot) {
    slot = std::make_unique<Capture>();
    auto r = sim::generate(name, o, slot->c);
    EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
    if (r.ok()) slot->s = std::move(*r);
  }
  return *slot;
}

const Truth* find_truth(const SimSummary& s, const std::string& detector) {
  for (const auto& t : s.truth) {
    if (t.detector == detector) return &t;
  }
  return nullptr;
}

bool is_syn(const Pkt& p) { return p.proto == 6 && (p.flags & (kSyn | kAck)) == kSyn; }
bool is_client(const core::IpAddress& a) { return kClients.contains(a) && !kLan.contains(a); }

// Largest number of times within any `window` ns.
size_t max_in_window(std::vector<int64_t> times, int64_t window) {
  std::sort(times.begin(), times.end());
  size_t best = 0;
  for (size_t lo = 0, hi = 0; hi < times.size(); ++hi) {
    while (times[hi] - times[lo] >= window) ++lo;
    best = std::max(best, hi - lo + 1);
  }
  return best;
}

// Benign clients, whatever the scenario: < 30 new connections in any minute, <= 10 victim ports,
// nothing but complete, ordinary conversations.
void expect_benign_clients_behave(const std::vector<Pkt>& pkts, const std::string& name) {
  std::map<core::IpAddress, std::vector<int64_t>> syns;
  std::map<core::IpAddress, std::set<uint16_t>> ports;
  size_t odd_flags = 0;
  for (const Pkt& p : pkts) {
    if (!is_client(p.src) || p.dst != kVictim) continue;
    if (is_syn(p)) syns[p.src].push_back(p.ts);
    if (is_syn(p) || p.proto == 17) ports[p.src].insert(p.dport);
    if (p.proto == 6 && (p.flags & kRst) != 0) ++odd_flags;
  }
  size_t worst_rate = 0, worst_ports = 0;
  for (auto& [addr, t] : syns) worst_rate = std::max(worst_rate, max_in_window(t, 60'000'000'000));
  for (auto& [addr, s] : ports) worst_ports = std::max(worst_ports, s.size());
  EXPECT_LT(worst_rate, 30u) << name;
  EXPECT_LE(worst_ports, 10u) << name;
  EXPECT_EQ(odd_flags, 0u) << name << ": benign clients never reset";
}

class AnyScenario : public ::testing::TestWithParam<std::string> {};

TEST_P(AnyScenario, BenignBackgroundNeverLooksLikeAnAttack) {
  expect_benign_clients_behave(capture(GetParam()).c.pkts, GetParam());
}

INSTANTIATE_TEST_SUITE_P(All, AnyScenario,
                         ::testing::Values("benign", "syn-flood", "conn-flood", "rate-abuse", "scan-syn", "mixed"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(Benign, LooksLikeABusyWebServer) {
  // Two minutes, so per-minute limits are really exercised.
  const auto& cap = capture("benign", {.packets = 60000, .rate_pps = 500});
  const auto& pkts = cap.c.pkts;
  std::set<core::IpAddress> clients;
  std::map<std::pair<core::IpAddress, uint16_t>, int> handshake;  // 1 SYN seen, 2 SYN-ACK, 3 ACK
  size_t syns = 0, completed = 0, dns_q = 0, dns_a = 0, echo = 0, echo_reply = 0, full_segments = 0, fins = 0;
  uint32_t largest = 0;
  std::map<core::IpAddress, std::vector<int64_t>> syn_times;
  for (const Pkt& p : pkts) {
    largest = std::max(largest, p.wire);
    if (is_client(p.src)) clients.insert(p.src);
    if (is_syn(p) && is_client(p.src)) {
      ++syns;
      handshake[{p.src, p.sport}] = 1;
      syn_times[p.src].push_back(p.ts);
    }
    if (p.proto == 6 && p.src == kVictim && has(p.flags, kSyn | kAck)) {
      auto it = handshake.find({p.dst, p.dport});
      if (it != handshake.end() && it->second == 1) it->second = 2;
    }
    if (p.proto == 6 && is_client(p.src) && p.flags == kAck) {
      auto it = handshake.find({p.src, p.sport});
      if (it != handshake.end() && it->second == 2) {
        it->second = 3;
        ++completed;
      }
    }
    if (p.proto == 6 && is_client(p.src) && has(p.flags, kFin)) ++fins;
    if (p.proto == 6 && p.src == kVictim && p.payload == 1460) ++full_segments;
    if (p.proto == 17 && p.src == kVictim && p.dport == 53) ++dns_q;
    if (p.proto == 17 && p.dst == kVictim && p.sport == 53) ++dns_a;
    if (p.proto == 1 && p.icmp_type == 8 && p.dst == kVictim) ++echo;
    if (p.proto == 1 && p.icmp_type == 0 && p.src == kVictim) ++echo_reply;
  }
  EXPECT_GE(clients.size(), 200u) << "hundreds of clients";
  EXPECT_GE(syns, 500u);
  EXPECT_GE(completed, syns * 95 / 100) << "handshakes complete";
  EXPECT_GE(fins, syns * 8 / 10) << "connections close";
  EXPECT_GT(full_segments, 5000u) << "responses in MSS-sized segments";
  EXPECT_LE(largest, 1514u);
  EXPECT_GT(dns_q, 50u);
  EXPECT_GE(dns_a + 1, dns_q);
  EXPECT_GT(echo, 5u);
  EXPECT_GE(echo_reply + 1, echo);
  // Browser parallelism: some client opens several connections at once; a NAT address more.
  size_t widest = 0;
  for (auto& [a, t] : syn_times) widest = std::max(widest, max_in_window(t, 3'000'000'000));
  EXPECT_GE(widest, 7u);
  EXPECT_LE(widest, 18u);
  EXPECT_TRUE(cap.s.truth.empty());
}

TEST(SynFlood, OneSourceFloodsOnePortAndNeverCompletes) {
  const auto& cap = capture("syn-flood");
  const Truth* t = find_truth(cap.s, "syn_flood");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->sources.size(), 1u);
  const auto attacker = t->sources[0];
  EXPECT_EQ(t->target, kVictim);
  EXPECT_EQ(t->target_port, 80);
  size_t syns = 0, acks = 0, syn_acks = 0;
  std::vector<int64_t> times;
  for (const Pkt& p : cap.c.pkts) {
    if (p.src == attacker) {
      if (is_syn(p) && p.dst == kVictim && p.dport == 80) {
        ++syns;
        times.push_back(p.ts);
      }
      if ((p.flags & kAck) != 0) ++acks;
    }
    if (p.src == kVictim && p.dst == attacker && has(p.flags, kSyn | kAck)) ++syn_acks;
  }
  EXPECT_GE(syns, 3000u);
  EXPECT_EQ(acks, 0u);
  EXPECT_GE(syn_acks, syns);
  EXPECT_GE(max_in_window(times, 1'000'000'000), 300u) << "SYNs per second";
  EXPECT_EQ(t->packets, syns + syn_acks);
}

TEST(SpoofedFlood, ManySourcesOneOrTwoSynsEach) {
  const auto& cap = capture("spoofed-syn-flood");
  const Truth* t = find_truth(cap.s, "spoofed_flood");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->sources.empty());
  ASSERT_TRUE(t->source_prefix.has_value());
  EXPECT_EQ(t->source_prefix->to_string(), "198.18.0.0/15");
  std::map<core::IpAddress, int> per_source;
  size_t answered = 0;
  for (const Pkt& p : cap.c.pkts) {
    if (is_syn(p) && p.dst == kVictim && p.dport == 80 && !is_client(p.src)) ++per_source[p.src];
    if (p.src == kVictim && has(p.flags, kSyn | kAck) && !is_client(p.dst)) ++answered;
  }
  EXPECT_GE(per_source.size(), 2000u);
  int most = 0;
  for (auto& [a, n] : per_source) {
    most = std::max(most, n);
    EXPECT_TRUE(t->source_prefix->contains(a));
    EXPECT_NE(a, kVictim);
  }
  EXPECT_LE(most, 2);
  EXPECT_GE(answered, per_source.size());
  for (const Pkt& p : cap.c.pkts) {
    if (per_source.count(p.src)) {
      EXPECT_TRUE(is_syn(p)) << "spoofed sources never answer";
    }
  }
}

TEST(ConnFlood, FortyAddressesOfOneSubnetHoldConnections) {
  const auto& cap = capture("conn-flood");
  const Truth* t = find_truth(cap.s, "subnet_conn");
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(t->source_prefix.has_value());
  EXPECT_EQ(t->source_prefix->to_string(), "198.19.40.0/24");
  ASSERT_EQ(t->sources.size(), 40u);
  std::map<core::IpAddress, size_t> syns, handshake_acks, closes;
  for (const Pkt& p : cap.c.pkts) {
    if (!t->source_prefix->contains(p.src)) continue;
    if (is_syn(p)) ++syns[p.src];
    if (p.flags == kAck && p.payload == 0) ++handshake_acks[p.src];
    if ((p.flags & (kFin | kRst)) != 0) ++closes[p.src];
  }
  EXPECT_EQ(syns.size(), 40u);
  for (const auto& a : t->sources) {
    EXPECT_EQ(syns[a], 5u);
    EXPECT_GE(handshake_acks[a], 5u);
    EXPECT_EQ(closes[a], 0u) << "held, never closed";
  }
}

TEST(RateAbuse, TwoHundredShortConnectionsInAMinute) {
  const auto& cap = capture("rate-abuse");
  const Truth* t = find_truth(cap.s, "conn_rate");
  ASSERT_NE(t, nullptr);
  const auto abuser = t->sources.at(0);
  std::vector<int64_t> syns;
  size_t fins = 0, synacks = 0;
  for (const Pkt& p : cap.c.pkts) {
    if (p.src == abuser && is_syn(p)) syns.push_back(p.ts);
    if (p.src == abuser && has(p.flags, kFin)) ++fins;
    if (p.dst == abuser && has(p.flags, kSyn | kAck)) ++synacks;
  }
  EXPECT_EQ(syns.size(), 200u);
  EXPECT_EQ(max_in_window(syns, 60'000'000'000), 200u);
  EXPECT_EQ(fins, 200u);
  EXPECT_EQ(synacks, 200u);
}

struct ScanCase {
  const char* name;
  const char* type;
  uint8_t probe_flags;      // for TCP scans
  bool open_answer;         // the victim answers probes to open ports
  uint8_t closed_reply;     // flags of the victim's reply from closed ports (0: none expected)
};

class TcpScans : public ::testing::TestWithParam<ScanCase> {};

TEST_P(TcpScans, ProbesAndRepliesLikeNmapAgainstLinux) {
  const ScanCase sc = GetParam();
  const auto& cap = capture(sc.name);
  const Truth* t = find_truth(cap.s, "port_scan");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->scan_type, sc.type);
  EXPECT_EQ(t->target, kVictim);
  const auto attacker = t->sources.at(0);
  std::set<uint16_t> ports, sports, replied_open, replied_closed;
  size_t probes = 0, wrong_flags = 0, attacker_rst = 0;
  const std::set<uint16_t> open{22, 80, 443};
  for (const Pkt& p : cap.c.pkts) {
    if (p.src == attacker && p.proto == 6) {
      if ((p.flags & kRst) != 0) {
        ++attacker_rst;
        continue;
      }
      ++probes;
      ports.insert(p.dport);
      sports.insert(p.sport);
      if (p.flags != sc.probe_flags) ++wrong_flags;
      EXPECT_EQ(p.window, 1024);
    }
    if (p.src == kVictim && p.dst == attacker) {
      (open.count(p.sport) ? replied_open : replied_closed).insert(p.sport);
      if (!open.count(p.sport)) {
        EXPECT_EQ(p.flags, sc.closed_reply);
      }
    }
  }
  EXPECT_GE(ports.size(), 500u);
  EXPECT_EQ(wrong_flags, 0u);
  EXPECT_LE(sports.size(), 2u) << "nmap reuses its source port (+1 for retransmissions)";
  EXPECT_GE(replied_closed.size(), ports.size() - 3);
  EXPECT_EQ(!replied_open.empty(), sc.open_answer);
  if (sc.probe_flags == kSyn) {
    EXPECT_EQ(attacker_rst, replied_open.size()) << "the scanner resets SYN-ACKs";
  }
  if (!sc.open_answer) {
    EXPECT_GT(probes, ports.size()) << "unanswered probes are retransmitted";
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, TcpScans,
    ::testing::Values(ScanCase{"scan-syn", "syn", kSyn, true, kRst | kAck},
                      ScanCase{"scan-fin", "fin", kFin, false, kRst | kAck},
                      ScanCase{"scan-null", "null", 0, false, kRst | kAck},
                      ScanCase{"scan-xmas", "xmas", kFin | kPsh | kUrg, false, kRst | kAck},
                      ScanCase{"scan-ack", "ack", kAck, true, kRst},
                      ScanCase{"scan-maimon", "maimon", kFin | kAck, true, kRst}),
    [](const auto& param_info) { return std::string(param_info.param.type); });

TEST(UdpScan, PortUnreachableRateLimitedAndAnOpenPortAnswers) {
  const auto& cap = capture("scan-udp");
  const Truth* t = find_truth(cap.s, "port_scan");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->scan_type, "udp");
  const auto attacker = t->sources.at(0);
  std::set<uint16_t> probed;
  size_t unreachable = 0, dns_answer = 0, bad_quote = 0;
  int64_t first = 0, last = 0;
  for (const Pkt& p : cap.c.pkts) {
    if (p.src == attacker && p.proto == 17) {
      if (probed.empty()) first = p.ts;
      last = p.ts;
      probed.insert(p.dport);
    }
    if (p.src == kVictim && p.dst == attacker && p.proto == 1) {
      EXPECT_EQ(p.icmp_type, 3);
      EXPECT_EQ(p.icmp_code, 3);
      ++unreachable;
      if (p.quoted_proto != 17 || !probed.count(p.quoted_dport)) ++bad_quote;
    }
    if (p.src == kVictim && p.dst == attacker && p.proto == 17 && p.sport == 53) ++dns_answer;
  }
  EXPECT_GE(probed.size(), 500u);
  EXPECT_GE(unreachable, 6u);
  EXPECT_LE(unreachable, 6u + static_cast<size_t>((last - first) / 1'000'000'000) + 1) << "Linux rate limit";
  EXPECT_EQ(bad_quote, 0u);
  EXPECT_EQ(dns_answer, 1u);
}

TEST(IpProtoScan, ManyProtocolsAndProtocolUnreachable) {
  const auto& cap = capture("scan-ipproto");
  const Truth* t = find_truth(cap.s, "port_scan");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->scan_type, "ip_proto");
  const auto attacker = t->sources.at(0);
  std::set<uint8_t> protos;
  size_t proto_unreach = 0, echo_reply = 0;
  for (const Pkt& p : cap.c.pkts) {
    if (p.src == attacker) protos.insert(p.proto);
    if (p.src == kVictim && p.dst == attacker && p.proto == 1 && p.icmp_type == 3 && p.icmp_code == 2) ++proto_unreach;
    if (p.src == kVictim && p.dst == attacker && p.proto == 1 && p.icmp_type == 0) ++echo_reply;
  }
  EXPECT_EQ(protos.size(), 256u);
  EXPECT_GE(proto_unreach, 6u);
  EXPECT_EQ(echo_reply, 1u);
}

TEST(SlowScan, OneProbeEveryFifteenSeconds) {
  const auto& cap = capture("slow-scan");
  const Truth* t = find_truth(cap.s, "port_scan");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->scan_kind, "slow");
  std::vector<int64_t> probes;
  std::set<uint16_t> ports;
  size_t syn_acks = 0;
  for (const Pkt& p : cap.c.pkts) {
    if (p.src == t->sources.at(0) && is_syn(p)) {
      probes.push_back(p.ts);
      ports.insert(p.dport);
    }
    if (p.dst == t->sources.at(0) && has(p.flags, kSyn | kAck)) ++syn_acks;
  }
  ASSERT_EQ(probes.size(), 40u);
  EXPECT_EQ(ports.size(), 40u);
  EXPECT_GE(syn_acks, 2u) << "22 and 80 are among the probed ports";
  for (size_t i = 1; i < probes.size(); ++i) EXPECT_EQ(probes[i] - probes[i - 1], 15'000'000'000);
}

TEST(DistributedScan, EverySourceStaysSmallTogetherTheyCoverMany) {
  const auto& cap = capture("distributed-scan");
  const Truth* t = find_truth(cap.s, "distributed_scan");
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(t->source_prefix.has_value());
  EXPECT_EQ(t->sources.size(), 30u);
  std::map<core::IpAddress, std::set<uint16_t>> ports;
  for (const Pkt& p : cap.c.pkts) {
    if (t->source_prefix->contains(p.src) && is_syn(p) && p.dst == kVictim) ports[p.src].insert(p.dport);
  }
  EXPECT_EQ(ports.size(), 30u);
  std::set<uint16_t> all;
  std::map<std::set<uint16_t>, int> same_pattern;
  for (auto& [a, s] : ports) {
    EXPECT_LE(s.size(), 8u);
    all.insert(s.begin(), s.end());
    ++same_pattern[s];
  }
  EXPECT_GE(all.size(), 200u);
  int decoys = 0;
  for (auto& [s, n] : same_pattern) decoys = std::max(decoys, n);
  EXPECT_EQ(decoys, 5) << "the decoy burst: five sources, one pattern";
}

TEST(Sweep, OnePortAcrossTheSubnetMostlySilent) {
  const auto& cap = capture("sweep");
  const Truth* t = find_truth(cap.s, "port_scan");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->scan_kind, "sweep");
  ASSERT_TRUE(t->target_prefix.has_value());
  EXPECT_EQ(t->target_prefix->to_string(), "198.18.0.0/24");
  const auto attacker = t->sources.at(0);
  std::set<core::IpAddress> probed, answered;
  size_t syn_acks = 0, rsts = 0;
  for (const Pkt& p : cap.c.pkts) {
    if (p.src == attacker && is_syn(p)) {
      EXPECT_EQ(p.dport, 22);
      probed.insert(p.dst);
    }
    if (p.dst == attacker) {
      answered.insert(p.src);
      if (has(p.flags, kSyn | kAck)) ++syn_acks;
      if (has(p.flags, kRst | kAck)) ++rsts;
    }
  }
  EXPECT_EQ(probed.size(), 256u);
  for (const auto& a : probed) EXPECT_TRUE(kLan.contains(a));
  EXPECT_GE(syn_acks, 2u);
  EXPECT_GE(rsts, 2u);
  EXPECT_LE(answered.size(), 10u);
}

TEST(LargePackets, OneSourceSendsOversizedFrames) {
  const auto& cap = capture("large-packets");
  const Truth* t = find_truth(cap.s, "large_packet");
  ASSERT_NE(t, nullptr);
  const auto sender = t->sources.at(0);
  size_t large = 0, others_large = 0;
  for (const Pkt& p : cap.c.pkts) {
    if (p.src == sender) {
      EXPECT_GE(p.wire, 4000u);
      EXPECT_LE(p.wire, 9000u);
      ++large;
    } else if (p.wire > 1514) {
      ++others_large;
    }
  }
  EXPECT_EQ(large, 100u);
  EXPECT_EQ(others_large, 0u);
}

TEST(Mixed, EveryAttackFromItsOwnAddressInterleaved) {
  const auto& cap = capture("mixed");
  const auto& truth = cap.s.truth;
  ASSERT_EQ(truth.size(), 7u);
  std::set<core::IpAddress> attackers;
  size_t named = 0;
  for (const auto& t : truth) {
    for (const auto& a : t.sources) attackers.insert(a);
    named += t.sources.size();
  }
  EXPECT_EQ(attackers.size(), named) << "no address plays two attacks";
  std::map<std::string, int> kinds;
  for (const auto& t : truth) ++kinds[t.detector + "/" + t.scan_type + "/" + t.scan_kind];
  EXPECT_EQ(kinds["syn_flood//"], 1);
  EXPECT_EQ(kinds["spoofed_flood//"], 1);
  EXPECT_EQ(kinds["conn_rate//"], 1);
  EXPECT_EQ(kinds["large_packet//"], 1);
  EXPECT_EQ(kinds["port_scan/syn/"], 1);
  EXPECT_EQ(kinds["port_scan/udp/"], 1);
  EXPECT_EQ(kinds["port_scan/syn/sweep"], 1);
  // Interleaved: at least four attacks are under way at some moment.
  size_t most_overlap = 0;
  for (const auto& a : truth) {
    size_t n = 0;
    for (const auto& b : truth) n += (b.first <= a.first && a.first <= b.last) ? 1 : 0;
    most_overlap = std::max(most_overlap, n);
  }
  EXPECT_GE(most_overlap, 4u);
  // Every attacker source shows up in the capture.
  std::set<core::IpAddress> seen;
  for (const Pkt& p : cap.c.pkts) seen.insert(p.src);
  for (const auto& a : attackers) EXPECT_TRUE(seen.count(a)) << a.to_string();
}

}  // namespace
}  // namespace picket::sim
