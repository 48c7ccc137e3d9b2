#include "sim/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "capture/pcap_writer.hpp"
#include "core/raw_packet.hpp"
#include "sim/benign.hpp"
#include "sim/engine.hpp"
#include "sim/floods.hpp"
#include "sim/scans.hpp"

namespace picket::sim {
namespace {

using Components = std::vector<std::unique_ptr<Component>>;
using Build = void (*)(const Setup&, Components&);

// Benign traffic keeps at least this share of the capture, so attacks stand out against a
// realistic background instead of being all there is.
constexpr double kMinBenignShare = 0.25;
constexpr uint32_t kMaxSnaplen = 262144;

struct ScenarioDef {
  ScenarioInfo info;
  Build build;
  int64_t min_span = 0;  // ns; the capture lasts at least this long (slow-scan)
};

template <ScanType T>
void build_scan(const Setup& s, Components& c) {
  c.push_back(make_port_scan(s, T, plan::kScanner, 0.2, 0.8));
}

const std::vector<ScenarioDef>& defs() {
  static const std::vector<ScenarioDef> kDefs{
      {{"benign", "a busy web server: hundreds of browser clients, DNS lookups, pings; no attack", 20000, 1000},
       [](const Setup&, Components&) {}},
      {{"syn-flood", "one source floods SYNs at port 80 and never completes a handshake", 20000, 1000},
       [](const Setup& s, Components& c) {
         c.push_back(std::make_unique<SynFlood>(s, plan::kSynFlooder, 80, s.packets / 5, window_of(s, 0.2, 0.6)));
       }},
      {{"spoofed-syn-flood", "SYNs at port 80 from random spoofed sources, 1-2 each", 20000, 1000},
       [](const Setup& s, Components& c) {
         c.push_back(std::make_unique<SpoofedFlood>(s, 80, s.packets / 5, window_of(s, 0.2, 0.6)));
       }},
      {{"spoofed-syn-flood-wide",
        "SYNs at port 80, each from a spoofed source of its own (with --ipv6 all distinct: 35 % of --packets)",
        20000, 1000},
       [](const Setup& s, Components& c) {
         c.push_back(std::make_unique<SpoofedFlood>(s, 80, s.packets * 7 / 20, window_of(s, 0.1, 0.9), true));
       }},
      {{"conn-flood", "40 addresses of one /24 each hold 5 established connections", 20000, 1000},
       [](const Setup& s, Components& c) { c.push_back(std::make_unique<ConnFlood>(s, window_of(s, 0.2, 0.5))); }},
      {{"rate-abuse", "one address makes 200 short complete connections within a minute", 40000, 500},
       [](const Setup& s, Components& c) {
         c.push_back(std::make_unique<RateAbuse>(s, window_of(s, 0.1, 0.85, 60 * kSec)));
       }},
      {{"scan-syn", "nmap -sS: SYN probes to ~1000 ports", 20000, 1000}, build_scan<ScanType::syn>},
      {{"scan-fin", "nmap -sF: FIN probes to ~1000 ports", 20000, 1000}, build_scan<ScanType::fin>},
      {{"scan-null", "nmap -sN: probes without flags to ~1000 ports", 20000, 1000}, build_scan<ScanType::null>},
      {{"scan-xmas", "nmap -sX: FIN|PSH|URG probes to ~1000 ports", 20000, 1000}, build_scan<ScanType::xmas>},
      {{"scan-ack", "nmap -sA: ACK probes to ~1000 ports", 20000, 1000}, build_scan<ScanType::ack>},
      {{"scan-maimon", "nmap -sM: FIN|ACK probes to ~1000 ports", 20000, 1000}, build_scan<ScanType::maimon>},
      {{"scan-udp", "nmap -sU: UDP probes to ~1000 ports, ICMP port unreachable back", 20000, 1000},
       build_scan<ScanType::udp>},
      {{"scan-ipproto", "nmap -sO: one raw IP packet per protocol number", 20000, 1000},
       build_scan<ScanType::ip_proto>},
      {{"slow-scan", "nmap -T1: one SYN probe every 15 s to 40 ports (the capture spans ~11 min)", 20000, 30},
       [](const Setup& s, Components& c) { c.push_back(make_slow_scan(s, s.span / 25)); },
       kSlowProbes * kSlowSpacing * 100 / 90},
      {{"distributed-scan", "25 sources probe 8 ports each, plus 5 decoys probing together (nmap -D)", 20000, 1000},
       [](const Setup& s, Components& c) { c.push_back(make_distributed_scan(s, 0.2, 0.8)); }},
      {{"sweep", "SYN probes to port 22 on all 256 addresses of the victim's /24", 20000, 1000},
       [](const Setup& s, Components& c) { c.push_back(make_sweep(s, 0.3, 0.7)); }},
      {{"large-packets", "one source sends 4000-9000-byte frames", 20000, 1000},
       [](const Setup& s, Components& c) {
         c.push_back(std::make_unique<LargePackets>(s, 100, window_of(s, 0.1, 0.9)));
       }},
      {{"mixed", "benign traffic with seven attacks from their own addresses, interleaved", 50000, 1000},
       [](const Setup& s, Components& c) {
         c.push_back(std::make_unique<SynFlood>(s, plan::kSynFlooder, 80, s.packets * 2 / 25, window_of(s, 0.05, 0.3)));
         c.push_back(make_port_scan(s, ScanType::syn, plan::kScanner, 0.35, 0.55));
         c.push_back(std::make_unique<RateAbuse>(s, window_of(s, 0.15, 0.75, 60 * kSec)));
         c.push_back(std::make_unique<LargePackets>(s, 60, window_of(s, 0.2, 0.9)));
         c.push_back(std::make_unique<SpoofedFlood>(s, 443, s.packets * 2 / 25, window_of(s, 0.55, 0.8)));
         c.push_back(make_sweep(s, 0.4, 0.6));
         c.push_back(make_port_scan(s, ScanType::udp, plan::kUdpScanner, 0.65, 0.85));
       }},
  };
  return kDefs;
}

std::string valid_names() {
  std::string names;
  for (const auto& d : defs()) names += (names.empty() ? "" : ", ") + std::string(d.info.name);
  return names;
}

struct Plan {
  const ScenarioDef* def = nullptr;
  ScenarioOptions options;
  int64_t span = 0;
};

// Checks the options and fills in the scenario's defaults.
core::Result<Plan> resolve(std::string_view scenario, const ScenarioOptions& options) {
  Plan p;
  for (const auto& d : defs()) {
    if (d.info.name == scenario) p.def = &d;
  }
  if (p.def == nullptr) {
    return core::make_error(fmt::format("unknown scenario '{}' (valid: {})", scenario, valid_names()));
  }
  p.options = options;
  if (!(std::isfinite(options.rate_pps) && options.rate_pps >= 0 && options.rate_pps <= 1e9)) {
    return core::make_error(fmt::format("rate must be a number of packets/s in (0, 1e9], got {}", options.rate_pps));
  }
  if (options.snaplen == 0 || options.snaplen > kMaxSnaplen) {
    return core::make_error(fmt::format("snaplen must be 1..{}, got {}", kMaxSnaplen, options.snaplen));
  }
  if (options.packets > 10'000'000'000ULL) {
    return core::make_error(fmt::format("at most 10000000000 packets, got {}", options.packets));
  }
  if (p.options.packets == 0) p.options.packets = p.def->info.default_packets;
  if (p.options.rate_pps == 0) p.options.rate_pps = p.def->info.default_rate;
  const double span = static_cast<double>(p.options.packets) / p.options.rate_pps * 1e9;
  if (span > 1e17) return core::make_error("packets / rate gives a capture longer than three years");
  p.span = std::max(static_cast<int64_t>(span), p.def->min_span);
  return p;
}

uint64_t planned(const Components& c) {
  uint64_t n = 0;
  for (const auto& x : c) n += x->planned_packets();
  return n;
}

// The smallest capture (rounded up to 100 frames) that leaves the attacks their benign background.
uint64_t minimum_packets(const Plan& p, const AddressPlan& addresses) {
  uint64_t n = p.options.packets;
  for (int i = 0; i < 64; ++i) {
    n = n + n / 4 + 100;
    const double span = static_cast<double>(n) / p.options.rate_pps * 1e9;
    const Setup s{addresses, p.options.seed, n, std::max(static_cast<int64_t>(span), p.def->min_span)};
    Components c;
    p.def->build(s, c);
    if (static_cast<double>(planned(c)) <= (1.0 - kMinBenignShare) * static_cast<double>(n)) break;
  }
  return (n + 99) / 100 * 100;
}

class PcapSink final : public FrameSink {
 public:
  explicit PcapSink(capture::PcapWriter& w) : w_(w) {}
  void frame(core::Timestamp ts, std::span<const uint8_t> bytes, uint32_t wire_len) override {
    w_.write(ts, bytes, wire_len);
  }

 private:
  capture::PcapWriter& w_;
};

core::Result<SimSummary> run(const Plan& p, FrameSink& sink) {
  const ScenarioOptions& o = p.options;
  const AddressPlan addresses(o.ipv6);
  const Setup setup{addresses, o.seed, o.packets, p.span};
  Components comps;
  p.def->build(setup, comps);
  const uint64_t attack = planned(comps);
  if (static_cast<double>(attack) > (1.0 - kMinBenignShare) * static_cast<double>(o.packets)) {
    return core::make_error(fmt::format("scenario '{}' needs at least {} packets for its attack to complete "
                                        "(asked for {})",
                                        p.def->info.name, minimum_packets(p, addresses), o.packets));
  }
  const Setup benign_setup{addresses, mix(o.seed, 0xBE9), o.packets, p.span};
  const double benign_pps =
      static_cast<double>(o.packets - attack) / (static_cast<double>(p.span) / static_cast<double>(kSec));
  comps.insert(comps.begin(), std::make_unique<Benign>(benign_setup, benign_pps));

  Emitter out(o.ipv6, o.snaplen, o.packets, sink, comps.size());
  Scheduler sched;
  for (size_t i = 0; i < comps.size(); ++i) {
    Context ctx(sched, out, static_cast<uint32_t>(i));
    comps[i]->start(ctx);
  }
  while (!out.done() && !sched.empty()) {
    const Event e = sched.pop();
    out.set_component(e.component);
    Context ctx(sched, out, e.component);
    comps[e.component]->fire(ctx, e.t, e.kind, e.arg);
  }
  if (!out.done()) {
    return core::make_error(fmt::format("scenario '{}' ran out of traffic after {} of {} packets",
                                        p.def->info.name, out.count(), o.packets));
  }

  SimSummary s;
  s.scenario = std::string(p.def->info.name);
  s.options = o;
  s.packets = out.count();
  s.first = kSimStart + core::Duration::nanos(out.first_ns());
  s.last = kSimStart + core::Duration::nanos(out.last_ns());
  s.victim = addresses.addr(plan::kVictim);
  for (size_t i = 0; i < comps.size(); ++i) {
    auto t = comps[i]->truth();
    if (!t) continue;
    const EmitStats& st = out.stats()[i];
    t->packets = st.packets;
    if (st.packets > 0) {
      t->first = kSimStart + core::Duration::nanos(st.first);
      t->last = kSimStart + core::Duration::nanos(st.last);
    }
    s.truth.push_back(std::move(*t));
  }
  return s;
}

}  // namespace

const std::vector<ScenarioInfo>& scenarios() {
  static const std::vector<ScenarioInfo> kInfos = [] {
    std::vector<ScenarioInfo> v;
    for (const auto& d : defs()) v.push_back(d.info);
    return v;
  }();
  return kInfos;
}

core::Result<SimSummary> generate(std::string_view scenario, const ScenarioOptions& options, FrameSink& sink) {
  auto p = resolve(scenario, options);
  if (!p) return p.error();
  return run(*p, sink);
}

core::Result<SimSummary> write_pcap(std::string_view scenario, const ScenarioOptions& options,
                                    const std::string& path) {
  auto p = resolve(scenario, options);
  if (!p) return p.error();
  auto writer = capture::PcapWriter::create(path, core::link_type::kEthernet, p->options.snaplen, false);
  if (!writer) return writer.error();
  PcapSink sink(*writer);
  auto summary = run(*p, sink);
  auto closed = writer->close();
  if (!summary) return summary;
  if (!closed) return closed.error();
  return summary;
}

std::string truth_to_json(const SimSummary& s) {
  using json = nlohmann::ordered_json;
  json j;
  j["scenario"] = s.scenario;
  j["packets"] = s.packets;
  j["seed"] = s.options.seed;
  j["rate_pps"] = s.options.rate_pps;
  j["ipv6"] = s.options.ipv6;
  j["snaplen"] = s.options.snaplen;
  j["first"] = core::format_iso8601(s.first);
  j["last"] = core::format_iso8601(s.last);
  j["victim"] = s.victim.to_string();
  j["truth"] = json::array();
  for (const Truth& t : s.truth) {
    json x;
    x["detector"] = t.detector;
    x["sources"] = json::array();
    for (const auto& a : t.sources) x["sources"].push_back(a.to_string());
    x["source_prefix"] = t.source_prefix ? json(t.source_prefix->to_string()) : json(nullptr);
    x["target"] = t.target.to_string();
    x["target_prefix"] = t.target_prefix ? json(t.target_prefix->to_string()) : json(nullptr);
    x["target_port"] = t.target_port ? json(*t.target_port) : json(nullptr);
    x["scan_type"] = t.scan_type;
    x["scan_kind"] = t.scan_kind;
    x["packets"] = t.packets;
    x["first"] = t.packets ? json(core::format_iso8601(t.first)) : json(nullptr);
    x["last"] = t.packets ? json(core::format_iso8601(t.last)) : json(nullptr);
    j["truth"].push_back(std::move(x));
  }
  return j.dump(2);
}

}  // namespace picket::sim
