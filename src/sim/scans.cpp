#include "sim/scans.hpp"

#include <algorithm>
#include <array>

#include "core/packet_meta.hpp"

namespace picket::sim {
namespace {

using namespace core::tcp_flag;

// The most common entries of nmap's top-ports lists.
constexpr std::array<uint16_t, 104> kTcpCommon{
    7,    9,    13,   21,   22,   23,   25,   26,   37,   53,    79,    80,    81,    88,    106,   110,   111,   113,
    119,  135,  139,  143,  144,  179,  199,  389,  427,  443,   444,   445,   465,   513,   514,   515,   543,   544,
    548,  554,  587,  631,  646,  873,  990,  993,  995,  1025,  1026,  1027,  1028,  1029,  1110,  1433,  1720,  1723,
    1755, 1900, 2000, 2001, 2049, 2121, 2717, 3000, 3128, 3306,  3389,  3986,  4899,  5000,  5009,  5051,  5060,  5101,
    5190, 5357, 5432, 5631, 5666, 5800, 5900, 6000, 6001, 6646,  7070,  8000,  8008,  8009,  8080,  8081,  8443,  8888,
    9100, 9999, 10000, 32768, 49152, 49153, 49154, 49155, 49156, 49157, 1024, 1030, 1031, 1032};
constexpr std::array<uint16_t, 64> kUdpCommon{
    7,    9,    17,   19,   49,   53,   67,   68,   69,   80,   88,    111,   120,   123,   135,   136,
    137,  138,  139,  158,  161,  162,  177,  427,  443,  445,  497,   500,   514,   515,   518,   520,
    593,  623,  626,  631,  996,  997,  998,  999,  1022, 1023, 1025,  1026,  1433,  1434,  1645,  1646,
    1701, 1718, 1719, 1812, 1813, 1900, 2049, 3283, 4500, 5060, 5353,  9200,  17185, 20031, 31337, 49152};

constexpr std::array<uint8_t, 4> kMssOption{2, 4, 0x05, 0xb4};
constexpr std::array<uint8_t, 12> kServerSynOptions{2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7};
// nmap's UDP payloads for the ports it knows: DNS server status request, NTP client request.
constexpr std::array<uint8_t, 12> kDnsStatus{0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0};
constexpr std::array<uint8_t, 48> kNtpRequest{0xe3, 0, 4, 0xfa, 0, 1, 0, 0, 0, 1};
constexpr std::array<uint8_t, 12> kDnsNotImp{0, 0, 0x90, 0x04, 0, 0, 0, 0, 0, 0, 0, 0};
constexpr std::array<uint8_t, 48> kNtpReply{0x24, 2, 4, 0xe9, 0, 0, 0, 0x10, 0, 0, 0, 0x20, 0xc6, 0x12, 0, 0x7b};
constexpr std::array<uint8_t, 8> kIgmpQuery{0x11, 0x64, 0xee, 0x9b, 0, 0, 0, 0};
constexpr uint16_t kIpProtoUdpPort = 40125;
constexpr uint16_t kIpProtoTcpPort = 80;

void sort_by_time(std::vector<Probe>& probes) {
  std::stable_sort(probes.begin(), probes.end(), [](const Probe& a, const Probe& b) { return a.t < b.t; });
}

Truth scan_truth(const AddressPlan& plan, const char* detector, ScanType type) {
  Truth t;
  t.detector = detector;
  t.target = plan.addr(plan::kVictim);
  t.scan_type = scan_type_name(type);
  return t;
}

}  // namespace

const char* scan_type_name(ScanType t) noexcept {
  switch (t) {
    case ScanType::syn: return "syn";
    case ScanType::fin: return "fin";
    case ScanType::null: return "null";
    case ScanType::xmas: return "xmas";
    case ScanType::ack: return "ack";
    case ScanType::maimon: return "maimon";
    case ScanType::udp: return "udp";
    case ScanType::ip_proto: return "ip_proto";
  }
  return "?";
}

PortState tcp_state(uint32_t host, uint16_t port) noexcept {
  switch (host) {
    case plan::kVictim: return port == 22 || port == 80 || port == 443 ? PortState::open : PortState::closed;
    case plan::kResolver: return port == 22 || port == 53 ? PortState::open : PortState::closed;
    case plan::ip(198, 18, 0, 20): return port == 22 ? PortState::open : PortState::closed;
    case plan::kGateway:
    case plan::ip(198, 18, 0, 21):
    case plan::ip(198, 18, 0, 30): return PortState::closed;
    default: return PortState::silent;
  }
}

PortState udp_state(uint32_t host, uint16_t port) noexcept {
  if (host != plan::kVictim) return tcp_state(host, 0) == PortState::silent ? PortState::silent : PortState::closed;
  return port == 53 || port == 123 ? PortState::open : PortState::closed;
}

std::vector<uint16_t> Scan::pick_ports(Rng& rng, size_t n, bool udp) {
  const std::span<const uint16_t> common = udp ? std::span<const uint16_t>(kUdpCommon) : std::span<const uint16_t>(kTcpCommon);
  std::vector<uint16_t> ports(common.begin(), common.end());
  // Shuffle the well-known list first so a short list is a random subset of it.
  for (size_t i = ports.size(); i > 1; --i) std::swap(ports[i - 1], ports[rng.below(i)]);
  if (ports.size() > n) ports.resize(n);
  std::vector<bool> taken(65536, false);
  for (uint16_t p : ports) taken[p] = true;
  while (ports.size() < n) {
    const auto p = static_cast<uint16_t>(rng.chance(0.7) ? rng.range(1, 10000) : rng.range(10001, 65535));
    if (taken[p]) continue;
    taken[p] = true;
    ports.push_back(p);
  }
  for (size_t i = ports.size(); i > 1; --i) std::swap(ports[i - 1], ports[rng.below(i)]);
  return ports;
}

std::vector<uint16_t> Scan::pick_protocols(Rng& rng, bool ipv6) {
  std::vector<uint16_t> protos;
  for (uint16_t p = 0; p < 256; ++p) {
    // In IPv6 these numbers are extension headers; a bare one would be a malformed packet.
    const bool extension = p == 0 || p == 43 || p == 44 || p == 60 || p == 135 || p == 139 || p == 140;
    if (!(ipv6 && extension)) protos.push_back(p);
  }
  for (size_t i = protos.size(); i > 1; --i) std::swap(protos[i - 1], protos[rng.below(i)]);
  return protos;
}

Scan::Scan(const Setup& setup, ScanType type, std::vector<Probe> probes, Truth truth, uint64_t salt)
    : plan_(setup.plan), seed_(mix(setup.seed, salt)), type_(type), probes_(std::move(probes)), truth_(std::move(truth)) {
  sort_by_time(probes_);
  planned_ = count_frames();
}

Scan::Reply Scan::reply_for(const Probe& p) const noexcept {
  switch (type_) {
    case ScanType::syn:
      switch (tcp_state(p.dst, p.port)) {
        case PortState::open: return Reply::syn_ack;
        case PortState::closed: return Reply::rst_ack;
        case PortState::silent: return Reply::none;
      }
      return Reply::none;
    case ScanType::fin:
    case ScanType::null:
    case ScanType::xmas: return tcp_state(p.dst, p.port) == PortState::closed ? Reply::rst_ack : Reply::none;
    case ScanType::ack:
    case ScanType::maimon: return tcp_state(p.dst, p.port) == PortState::silent ? Reply::none : Reply::rst;
    case ScanType::udp:
      switch (udp_state(p.dst, p.port)) {
        case PortState::open: return Reply::udp_answer;
        case PortState::closed: return Reply::port_unreachable;
        case PortState::silent: return Reply::none;
      }
      return Reply::none;
    case ScanType::ip_proto: {
      if (tcp_state(p.dst, 0) == PortState::silent) return Reply::none;
      const bool v6 = plan_.ipv6();
      if (p.port == (v6 ? 58 : 1)) return Reply::echo_reply;
      if (p.port == 6) return Reply::rst;
      if (p.port == 17) return Reply::port_unreachable;
      if (p.port == 2 && !v6) return Reply::none;  // IGMP: handled, never answered
      return Reply::proto_unreachable;
    }
  }
  return Reply::none;
}

// nmap retransmits probes that got no answer; for FIN/NULL/XMAS that is every open port.
uint64_t Scan::count_frames() const {
  uint64_t frames = 0;
  double tokens = kIcmpBurst;
  int64_t at = 0;
  for (const Probe& p : probes_) {
    ++frames;
    const Reply r = reply_for(p);
    if (r == Reply::syn_ack) frames += 2;
    if (r == Reply::rst_ack || r == Reply::rst || r == Reply::udp_answer || r == Reply::echo_reply) ++frames;
    if (r == Reply::port_unreachable || r == Reply::proto_unreachable) {
      tokens = std::min(kIcmpBurst, tokens + static_cast<double>(p.t - at) / kIcmpRefill);
      at = p.t;
      if (tokens >= 1.0) {
        tokens -= 1.0;
        ++frames;
      }
    }
    const bool stealth = type_ == ScanType::fin || type_ == ScanType::null || type_ == ScanType::xmas;
    if (stealth && tcp_state(p.dst, p.port) == PortState::open) ++frames;
  }
  return frames;
}

// Probes are sorted by time; each schedules the next, so the heap holds one pending probe per scan.
void Scan::start(Context& ctx) {
  if (!probes_.empty()) ctx.at(probes_[0].t, kProbe, 0);
}

bool Scan::icmp_token(int64_t now) noexcept {
  tokens_ = std::min(kIcmpBurst, tokens_ + static_cast<double>(now - tokens_at_) / kIcmpRefill);
  tokens_at_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

IpHeader Scan::probe_header(uint64_t i) const noexcept {
  const Probe& p = probes_[i];
  const uint64_t h = mix(seed_, i);
  return IpHeader{plan_.addr(p.src), plan_.addr(p.dst), static_cast<uint8_t>(37 + h % 23),
                  static_cast<uint16_t>((h >> 16) | 1)};
}

uint32_t Scan::scan_seq(uint32_t src) const noexcept { return static_cast<uint32_t>(mix(seed_ ^ 0x5E9, src)); }

Bytes Scan::udp_probe_payload(uint16_t port) const noexcept {
  if (port == 53) return kDnsStatus;
  if (port == 123) return kNtpRequest;
  return {};
}

void Scan::send_probe(Context& ctx, int64_t now, uint64_t i, bool retry) {
  const Probe& p = probes_[i];
  const IpHeader ip = probe_header(i);
  const auto sport = static_cast<uint16_t>(p.sport + (retry ? 1 : 0));
  const uint32_t seq = scan_seq(p.src);
  const uint32_t ack = seq ^ 0x5A5A5A5Au;
  Emitter& out = ctx.out();
  switch (type_) {
    case ScanType::syn: out.tcp(now, ip, sport, p.port, kSyn, seq, 0, 1024, kMssOption); return;
    case ScanType::fin: out.tcp(now, ip, sport, p.port, kFin, seq, 0, 1024); return;
    case ScanType::null: out.tcp(now, ip, sport, p.port, 0, seq, 0, 1024); return;
    case ScanType::xmas: out.tcp(now, ip, sport, p.port, kFin | kPsh | kUrg, seq, 0, 1024); return;
    case ScanType::ack: out.tcp(now, ip, sport, p.port, kAck, seq, ack, 1024); return;
    case ScanType::maimon: out.tcp(now, ip, sport, p.port, kFin | kAck, seq, ack, 1024); return;
    case ScanType::udp: out.udp(now, ip, sport, p.port, udp_probe_payload(p.port)); return;
    case ScanType::ip_proto: {
      const bool v6 = plan_.ipv6();
      if (p.port == (v6 ? 58 : 1)) {
        out.icmp(now, ip, v6 ? 128 : 8, 0, uint32_t{ip.id} << 16, {});
      } else if (p.port == 6) {
        out.tcp(now, ip, sport, kIpProtoTcpPort, kAck, seq, ack, 1024);
      } else if (p.port == 17) {
        out.udp(now, ip, sport, kIpProtoUdpPort, {});
      } else if (p.port == 2 && !v6) {
        out.raw(now, ip, 2, kIgmpQuery);
      } else {
        out.raw(now, ip, static_cast<uint8_t>(p.port), {});
      }
      return;
    }
  }
}

void Scan::send_reply(Context& ctx, int64_t now, uint64_t i) {
  const Probe& p = probes_[i];
  const IpHeader probe = probe_header(i);
  const IpHeader back{probe.dst, probe.src, 64, 0};
  const uint32_t seq = scan_seq(p.src);
  const uint32_t ack = seq ^ 0x5A5A5A5Au;
  const bool v6 = plan_.ipv6();
  Emitter& out = ctx.out();
  const bool ip_proto = type_ == ScanType::ip_proto;
  const uint16_t dport = ip_proto ? (p.port == 6 ? kIpProtoTcpPort : kIpProtoUdpPort) : p.port;
  switch (reply_for(p)) {
    case Reply::none: return;
    case Reply::syn_ack: {
      out.tcp(now, back, dport, p.sport, kSyn | kAck, static_cast<uint32_t>(mix(seed_, i) >> 32), seq + 1, 64240,
              kServerSynOptions);
      const int64_t rtt = static_cast<int64_t>(1'000 + mix(seed_ ^ 0x277, p.src) % 19'000) * kUs;
      ctx.at(now + rtt, kFollow, i);
      return;
    }
    case Reply::rst_ack: {
      const uint32_t consumed = (type_ == ScanType::syn || type_ == ScanType::fin || type_ == ScanType::xmas) ? 1 : 0;
      out.tcp(now, back, dport, p.sport, kRst | kAck, 0, seq + consumed, 0);
      return;
    }
    case Reply::rst: out.tcp(now, back, dport, p.sport, kRst, ack, 0, 0); return;
    case Reply::udp_answer:
      out.udp(now, back, dport, p.sport, p.port == 53 ? Bytes(kDnsNotImp) : Bytes(kNtpReply));
      return;
    case Reply::port_unreachable: {
      if (!icmp_token(now)) return;
      const Bytes q = out.quote_udp(probe, p.sport, dport, ip_proto ? Bytes{} : udp_probe_payload(p.port));
      out.icmp(now, back, v6 ? 1 : 3, v6 ? 4 : 3, 0, q);
      return;
    }
    case Reply::proto_unreachable: {
      if (!icmp_token(now)) return;
      const Bytes q = out.quote_raw(probe, static_cast<uint8_t>(p.port), {});
      // IPv6: parameter problem, unrecognized next header, pointing at the header's field.
      out.icmp(now, back, v6 ? 4 : 3, v6 ? 1 : 2, v6 ? 6 : 0, q);
      return;
    }
    case Reply::echo_reply: out.icmp(now, back, v6 ? 129 : 0, 0, uint32_t{probe.id} << 16, {}); return;
  }
}

void Scan::fire(Context& ctx, int64_t now, uint32_t kind, uint64_t i) {
  switch (kind) {
    case kProbe: {
      send_probe(ctx, now, i, false);
      if (i + 1 < probes_.size()) ctx.at(std::max(now, probes_[i + 1].t), kProbe, i + 1);
      const Probe& p = probes_[i];
      if (reply_for(p) != Reply::none) ctx.at(now + static_cast<int64_t>(20 + mix(seed_, i) % 100) * kUs, kReply, i);
      const bool stealth = type_ == ScanType::fin || type_ == ScanType::null || type_ == ScanType::xmas;
      if (stealth && tcp_state(p.dst, p.port) == PortState::open) ctx.at(now + 800 * kMs, kRetry, i);
      return;
    }
    case kReply: send_reply(ctx, now, i); return;
    case kFollow: {
      // The scanner's kernel never sent that SYN, so it resets the connection.
      const Probe& p = probes_[i];
      const uint16_t dport = type_ == ScanType::ip_proto ? kIpProtoTcpPort : p.port;
      ctx.out().tcp(now, probe_header(i), p.sport, dport, kRst, scan_seq(p.src) + 1, 0, 0);
      return;
    }
    case kRetry: send_probe(ctx, now, i, true); return;
    default: return;
  }
}

// ---- the scenarios' scans ----

std::unique_ptr<Component> make_port_scan(const Setup& setup, ScanType type, uint32_t attacker, double from,
                                          double to) {
  Rng rng(mix(setup.seed, attacker * 16 + static_cast<uint32_t>(type)));
  const std::vector<uint16_t> targets = type == ScanType::ip_proto ? Scan::pick_protocols(rng, setup.plan.ipv6())
                                                                   : Scan::pick_ports(rng, 1000, type == ScanType::udp);
  const Window w = window_of(setup, from, to, static_cast<int64_t>(targets.size()) * kMs);
  const auto sport = static_cast<uint16_t>(rng.range(32768, 65000));
  std::vector<Probe> probes;
  for (size_t i = 0; i < targets.size(); ++i) {
    probes.push_back(Probe{w.spread(i, targets.size(), rng.uniform()), attacker, plan::kVictim, targets[i], sport});
  }
  Truth t = scan_truth(setup.plan, "port_scan", type);
  t.sources = {setup.plan.addr(attacker)};
  return std::make_unique<Scan>(setup, type, std::move(probes), std::move(t), attacker);
}

std::unique_ptr<Component> make_slow_scan(const Setup& setup, int64_t start) {
  Rng rng(mix(setup.seed, plan::kSlowScanner));
  std::vector<uint16_t> ports = Scan::pick_ports(rng, kSlowProbes, false);
  // Make sure the victim's open ports are among them (once each), so both kinds of reply show.
  for (const auto& [port, slot] : {std::pair<uint16_t, size_t>{22, rng.below(10)}, {80, 10 + rng.below(10)}}) {
    const auto it = std::find(ports.begin(), ports.end(), port);
    if (it != ports.end()) {
      std::iter_swap(it, ports.begin() + static_cast<std::ptrdiff_t>(slot));
    } else {
      ports[slot] = port;
    }
  }
  const auto sport = static_cast<uint16_t>(rng.range(32768, 65000));
  std::vector<Probe> probes;
  for (int i = 0; i < kSlowProbes; ++i) {
    probes.push_back(Probe{start + i * kSlowSpacing, plan::kSlowScanner, plan::kVictim,
                           ports[static_cast<size_t>(i)], sport});
  }
  Truth t = scan_truth(setup.plan, "port_scan", ScanType::syn);
  t.sources = {setup.plan.addr(plan::kSlowScanner)};
  t.scan_kind = "slow";
  return std::make_unique<Scan>(setup, ScanType::syn, std::move(probes), std::move(t), plan::kSlowScanner);
}

std::unique_ptr<Component> make_sweep(const Setup& setup, double from, double to) {
  Rng rng(mix(setup.seed, plan::kSweeper));
  std::vector<uint32_t> hosts;
  for (uint32_t h = 0; h < 256; ++h) hosts.push_back(plan::kLan + h);
  for (size_t i = hosts.size(); i > 1; --i) std::swap(hosts[i - 1], hosts[rng.below(i)]);
  const Window w = window_of(setup, from, to, 256 * 2 * kMs);
  const auto sport = static_cast<uint16_t>(rng.range(32768, 65000));
  std::vector<Probe> probes;
  for (size_t i = 0; i < hosts.size(); ++i) {
    probes.push_back(Probe{w.spread(i, hosts.size(), rng.uniform()), plan::kSweeper, hosts[i], 22, sport});
  }
  Truth t = scan_truth(setup.plan, "port_scan", ScanType::syn);
  t.sources = {setup.plan.addr(plan::kSweeper)};
  t.target = setup.plan.addr(plan::kLan);
  t.target_prefix = setup.plan.prefix(plan::kLan, 24, 120);
  t.target_port = 22;
  t.scan_kind = "sweep";
  return std::make_unique<Scan>(setup, ScanType::syn, std::move(probes), std::move(t), plan::kSweeper);
}

std::unique_ptr<Component> make_distributed_scan(const Setup& setup, double from, double to) {
  Rng rng(mix(setup.seed, plan::kDistributedNet));
  const std::vector<uint16_t> ports =
      Scan::pick_ports(rng, (kDistributedSources + 1) * kPortsPerSource, false);
  const Window w = window_of(setup, from, to);
  std::vector<Probe> probes;
  Truth t = scan_truth(setup.plan, "distributed_scan", ScanType::syn);
  // Each source takes its own slice of the ports, at random moments across the window.
  for (int s = 0; s < kDistributedSources; ++s) {
    const uint32_t src = plan::kDistributedNet + 1 + static_cast<uint32_t>(s);
    const auto sport = static_cast<uint16_t>(rng.range(32768, 65000));
    t.sources.push_back(setup.plan.addr(src));
    for (int k = 0; k < kPortsPerSource; ++k) {
      const int64_t at = w.from + static_cast<int64_t>(rng.uniform() * static_cast<double>(w.length()));
      probes.push_back(Probe{at, src, plan::kVictim, ports[static_cast<size_t>(s * kPortsPerSource + k)], sport});
    }
  }
  // nmap -D: the decoys send the same probes at the same moment, 10 ms per port.
  const int64_t burst = w.from + w.length() / 2;
  for (int d = 0; d < kDecoys; ++d) {
    const uint32_t src = plan::kDistributedNet + 101 + static_cast<uint32_t>(d);
    const auto sport = static_cast<uint16_t>(rng.range(32768, 65000));
    t.sources.push_back(setup.plan.addr(src));
    for (int k = 0; k < kPortsPerSource; ++k) {
      probes.push_back(Probe{burst + k * 10 * kMs + d * 50 * kUs, src, plan::kVictim,
                             ports[static_cast<size_t>(kDistributedSources * kPortsPerSource + k)], sport});
    }
  }
  std::sort(t.sources.begin(), t.sources.end());
  t.source_prefix = setup.plan.prefix(plan::kDistributedNet, 24, 64);
  return std::make_unique<Scan>(setup, ScanType::syn, std::move(probes), std::move(t), plan::kDistributedNet);
}

}  // namespace picket::sim
