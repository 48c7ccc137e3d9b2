#include "detect/distributed_scan/distributed_scan.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "detect/distributed_scan/activity_filter.hpp"
#include "detect/distributed_scan/decoy_tracker.hpp"
#include "state/bounded_table.hpp"
#include "state/distinct.hpp"

namespace picket::detect::distributed_scan {
namespace {

using core::Duration;
using core::IpAddress;
using core::Timestamp;
using Json = nlohmann::ordered_json;

constexpr std::string_view kName = "distributed_scan";
constexpr std::string_view kKindDistributed = "distributed_scan";
constexpr std::string_view kKindDecoy = "decoy_scan";
constexpr uint32_t kSidDistributed = 2'006'001;
constexpr uint32_t kSidDecoy = 2'006'002;
constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

constexpr size_t kRing = 4;             // sub-windows of the sliding distinct counters
constexpr uint32_t kPromote = 4;        // services seen on a host before it is watched closely
constexpr unsigned kActivityBits = 21;  // 2^21 bits per generation: 256 KiB each
constexpr Duration kActivityPeriod = Duration::seconds(30);
constexpr size_t kKinds = 11;  // ProbeKind values
constexpr size_t kSampleSources = 8;
constexpr size_t kSamplePorts = 8;
// IP protocol probes have no port: they are counted as services of this pseudo-protocol, the
// protocol number standing for the port.
constexpr uint32_t kIpProtoService = 255;

struct Settings {
  uint32_t min_sources = 0;
  uint32_t min_ports = 0;
  uint32_t max_ports_per_source = 0;
  double max_source_share = 0;
  DecoySettings decoy;
  Duration window;
  Duration update_interval;
  uint32_t capacity = 0;
  uint32_t watch_capacity = 0;
  uint32_t pair_capacity = 0;
  int prefix_v4 = 24;
  int prefix_v6 = 64;

  static Settings from(const config::Config& cfg) {
    auto integer = [&](std::string_view k) { return cfg.integer("detect.distributed_scan." + std::string(k)); };
    Settings s;
    s.min_sources = static_cast<uint32_t>(integer("min_sources"));
    s.min_ports = static_cast<uint32_t>(integer("min_ports"));
    s.max_ports_per_source = static_cast<uint32_t>(integer("max_ports_per_source"));
    s.max_source_share = cfg.number("detect.distributed_scan.max_source_share");
    s.decoy.min_sources = static_cast<uint32_t>(integer("decoy_min_sources"));
    s.decoy.min_ports = static_cast<uint32_t>(integer("decoy_min_ports"));
    s.decoy.window = cfg.duration("detect.distributed_scan.decoy_window");
    s.window = cfg.duration("detect.distributed_scan.window");
    s.update_interval = cfg.duration("detect.distributed_scan.update_interval");
    s.capacity = static_cast<uint32_t>(integer("capacity"));
    s.watch_capacity = static_cast<uint32_t>(integer("watch_capacity"));
    s.pair_capacity = static_cast<uint32_t>(integer("pair_capacity"));
    s.prefix_v4 = static_cast<int>(integer("prefix_v4"));
    s.prefix_v6 = static_cast<int>(integer("prefix_v6"));
    return s;
  }
};

struct HostHash {
  uint64_t operator()(const IpAddress& a) const noexcept { return state::mix64(a.hash()); }
};
struct PairHash {
  uint64_t operator()(uint64_t k) const noexcept { return k; }
};
// (target, source) as one well-mixed 64-bit key: collisions are negligible and the slot is small.
uint64_t pair_key(const IpAddress& target, const IpAddress& source) noexcept {
  return state::mix64(target.hash() ^ state::mix64(source.hash() + 0x9E3779B97F4A7C15ULL));
}

// Every probed host: how many services were probed lately; past kPromote it is watched.
struct Host {
  state::SlidingDistinct<64, kRing> services;
  bool watched = false;
};
[[maybe_unused]] bool keep_on_eviction(const Host& h) noexcept {
  return h.watched;
}

// One source on one watched host: its ports, and how many of them nobody had probed before.
struct Pair {
  state::DistinctBitmap<128> ports;
  uint16_t n = 0;            // distinct ports (estimate)
  uint16_t contributed = 0;  // of its probes, those that found a port new to the window
  bool contributor = false;
};

// A watched host: the ports probed in the window by sources still below max_ports_per_source,
// who contributed them, and the decoy tracker.
struct Watch {
  state::SlidingDistinct<512, kRing> services;
  state::SlidingDistinct<256, kRing> contributors;
  state::SlidingDistinct<128, kRing> open;  // probed services that answered (SYN-ACK, UDP reply)
  state::DistinctBitmap<1024> probed;       // services probed this episode (membership only)
  std::array<uint32_t, kKinds> kinds{};     // contributions per probe kind, this episode
  uint32_t contributor_count = 0;           // this episode, exact
  uint32_t contributor_ports = 0;           // sum of the contributors' distinct ports
  uint16_t max_ports = 0;                   // the most ports of one contributor
  uint16_t max_contribution = 0;            // the most new ports found by one source
  IpAddress span_base;                      // smallest prefix covering every contributor
  int span_len = 0;
  uint8_t sources_n = 0;
  uint8_t ports_n = 0;
  std::array<IpAddress, kSampleSources> sources{};
  std::array<uint16_t, kSamplePorts> ports{};
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  ReportState report;
  DecoyTracker decoys;

  void begin(int64_t now_ns) noexcept {
    *this = Watch{};
    first_ns = now_ns;
    last_ns = now_ns;
  }
};
[[maybe_unused]] bool keep_on_eviction(const Watch& w) noexcept {
  return w.report.reported() || w.contributor_count >= 2;
}

int common_prefix_len(const IpAddress& a, const IpAddress& b) noexcept {
  if (a.family() != b.family()) return 0;
  const size_t bytes = a.is_v6() ? 16 : 4;
  for (size_t i = 0; i < bytes; ++i) {
    const auto x = static_cast<uint8_t>(a.bytes()[i] ^ b.bytes()[i]);
    if (x != 0) return static_cast<int>(i) * 8 + std::countl_zero(x);
  }
  return static_cast<int>(bytes) * 8;
}

bool is_tcp_kind(size_t k) noexcept {
  switch (static_cast<ProbeKind>(k)) {
    case ProbeKind::syn:
    case ProbeKind::fin:
    case ProbeKind::null:
    case ProbeKind::xmas:
    case ProbeKind::ack:
    case ProbeKind::maimon:
      return true;
    default:
      return false;
  }
}

// The scan type port_scan would name: one kind making at least 90 % of the probes, else "mixed".
std::string_view scan_type(const std::array<uint32_t, kKinds>& kinds) noexcept {
  uint64_t total = 0;
  size_t top = 0;
  for (size_t k = 0; k < kKinds; ++k) {
    total += kinds[k];
    if (kinds[k] > kinds[top]) top = k;
  }
  if (total == 0) return "mixed";
  return kinds[top] * 10 >= total * 9 ? probe_kind_name(static_cast<ProbeKind>(top)) : "mixed";
}
std::string_view scan_type_of_mask(uint16_t mask) noexcept {
  return std::popcount(mask) == 1 ? probe_kind_name(static_cast<ProbeKind>(std::countr_zero(mask))) : "mixed";
}

Json sorted_addresses(std::vector<IpAddress> v) {
  std::sort(v.begin(), v.end());
  Json out = Json::array();
  for (const auto& a : v) out.push_back(a.to_string());
  return out;
}
Json sorted_ports(std::vector<uint16_t> v) {
  std::sort(v.begin(), v.end());
  Json out = Json::array();
  for (auto p : v) out.push_back(p);
  return out;
}

class DistributedScan final : public Detector {
 public:
  explicit DistributedScan(const Settings& s)
      : s_(s), hosts_(s.capacity), watches_(s.watch_capacity), pairs_(s.pair_capacity), activity_(kActivityBits) {
    sub_ns_ = std::max<int64_t>(1, s.window.ns / static_cast<int64_t>(kRing));
  }

  std::string_view name() const noexcept override { return kName; }

  void on_packet(const PacketContext& ctx, FindingSink&) noexcept override {
    const core::PacketMeta& m = *ctx.meta;
    const bool tcp = m.is_tcp();
    const bool udp = m.is_udp();
    const bool ports = (tcp || udp) && m.has(core::meta_flag::kHasPorts);
    if (ports) learn_activity(ctx, m, tcp, udp);
    if (!ctx.from_actor) return;  // the actor is the prober; what is sent to it is an answer
    switch (ctx.probe) {
      case ProbeKind::syn:
      case ProbeKind::fin:
      case ProbeKind::null:
      case ProbeKind::xmas:
      case ProbeKind::ack:
      case ProbeKind::maimon:
      case ProbeKind::udp:
      case ProbeKind::ip_proto:
        break;
      default:
        return;  // echo requests (no port), data segments, answers
    }
    // A flagged segment with data is part of a conversation, whatever its flags.
    if (tcp && ctx.probe != ProbeKind::syn && m.payload_len > 0) return;
    uint32_t service = (kIpProtoService << 16) | m.ip_proto;
    if (ports) {
      if (activity_.active(ActivityFilter::key(m.dst, m.dst_port, m.ip_proto))) return;
      service = (uint32_t{m.ip_proto} << 16) | m.dst_port;
    } else if (tcp || udp) {
      return;  // no transport header to say which port
    }
    probe(m, ctx.probe, service);
  }

  void on_tick(Timestamp now, FindingSink& out) noexcept override {
    if (now >= next_rotation_) {
      if (next_rotation_.ns != 0) activity_.rotate();
      next_rotation_ = now + kActivityPeriod;
    }
    const Timestamp cutoff{now.ns - s_.window.ns};
    hosts_.expire_idle(cutoff);
    pairs_.expire_idle(cutoff);
    watches_.expire_idle(cutoff);
    const int64_t ep = now.ns / sub_ns_;
    watches_.for_each([&](const IpAddress& target, Watch& w, Timestamp) {
      w.decoys.flush(s_.decoy, now.ns, s_.window);
      evaluate(target, w, ep, now, out);
      for (auto& g : w.decoys.groups()) {
        if (!g.in_use() || !DecoyTracker::qualifies(s_.decoy, g) || !g.report.due(now, s_.update_interval)) continue;
        emit(out, [&] { return decoy_finding(target, g, now); });
      }
    });
  }

  DetectorStats stats() const noexcept override {
    DetectorStats st;
    st.tracked = uint64_t{hosts_.size()} + watches_.size() + pairs_.size();
    st.capacity = uint64_t{hosts_.capacity()} + watches_.capacity() + pairs_.capacity();
    st.evictions = hosts_.stats().evictions + watches_.stats().evictions + pairs_.stats().evictions;
    st.evictions_with_evidence = hosts_.stats().evictions_protected + watches_.stats().evictions_protected;
    st.findings = findings_;
    st.memory_bytes =
        hosts_.memory_bytes() + watches_.memory_bytes() + pairs_.memory_bytes() + activity_.memory_bytes();
    return st;
  }

 private:
  // Ports that send are in use. Marked: whatever the non-actor side sends (a server's answers,
  // the local side of a conversation) and SYN-ACKs (an open port answering). Never RSTs: a closed
  // port's refusal must not hide the next probe of it (decoys probe the same port at once).
  void learn_activity(const PacketContext& ctx, const core::PacketMeta& m, bool tcp, bool udp) noexcept {
    using namespace core::tcp_flag;
    if (tcp && (m.tcp_flags & kRst) != 0) return;
    const bool synack = tcp && (m.tcp_flags & (kSyn | kAck)) == (kSyn | kAck);
    if (ctx.from_actor && !synack) return;
    if (!activity_.mark(ActivityFilter::key(m.src, m.src_port, m.ip_proto))) return;
    if (!synack && !udp) return;
    // Newly answering from a port that was probed: the port is open. A scan's probes mostly find
    // closed ports; a host whose probed ports mostly answer is a busy service (e.g. FTP data).
    // A host's own client ports send too: they were never probed, but UDP cannot tell a query from
    // an answer, so UDP counts only on hosts that drew UDP probes.
    Watch* w = watches_.peek(m.src);
    if (w == nullptr || (udp && w->kinds[static_cast<size_t>(ProbeKind::udp)] == 0)) return;
    const uint32_t service = (uint32_t{m.ip_proto} << 16) | m.src_port;
    if (w->probed.contains(service)) w->open.add(m.ts.ns / sub_ns_, service);
  }

  void probe(const core::PacketMeta& m, ProbeKind kind, uint32_t service) noexcept {
    const Timestamp now = m.ts;
    const int64_t ep = now.ns / sub_ns_;
    Host* h = hosts_.find_or_insert(m.dst, now).first;
    const bool fresh_on_host = h->services.add(ep, service);
    if (!h->watched) {
      if (!fresh_on_host || h->services.estimate(ep) < kPromote) return;
      h->watched = true;
    }
    auto [w, w_new] = watches_.find_or_insert(m.dst, now);
    if (w_new || now.ns - w->last_ns > s_.window.ns) w->begin(now.ns);
    w->last_ns = std::max(w->last_ns, now.ns);
    w->probed.add(service);
    w->decoys.on_probe(s_.decoy, m.src, service, kind, now.ns);

    Pair* p = pairs_.find_or_insert(pair_key(m.dst, m.src), now).first;
    const bool new_for_source = p->ports.add(service);
    if (new_for_source) p->n = static_cast<uint16_t>(std::min<uint32_t>(p->ports.estimate(), UINT16_MAX));
    // A source past max_ports_per_source is a port scanner of its own (port_scan reports it): its
    // further probes do not make a scan distributed.
    if (p->n > s_.max_ports_per_source) return;
    if (!w->services.add(ep, service)) {
      if (p->contributor && new_for_source) ++w->contributor_ports;
      return;
    }
    // A port nobody had probed in the window: this source helps cover the host.
    if (p->contributed < UINT16_MAX) ++p->contributed;
    w->max_contribution = std::max(w->max_contribution, p->contributed);
    w->contributors.add(ep, state::mix64(m.src.hash()));
    if (!p->contributor) {
      p->contributor = true;
      ++w->contributor_count;
      w->contributor_ports += p->n;
      if (w->sources_n < kSampleSources) w->sources[w->sources_n++] = m.src;
      if (w->span_base.empty()) {
        w->span_base = m.src;
        w->span_len = m.src.bit_width();
      } else {
        w->span_len = std::min(w->span_len, common_prefix_len(w->span_base, m.src));
      }
    } else if (new_for_source) {
      ++w->contributor_ports;
    }
    w->max_ports = std::max(w->max_ports, p->n);
    ++w->kinds[static_cast<size_t>(kind)];
    if (w->ports_n < kSamplePorts) w->ports[w->ports_n++] = static_cast<uint16_t>(service & 0xFFFF);
  }

  void evaluate(const IpAddress& target, Watch& w, int64_t ep, Timestamp now, FindingSink& out) noexcept {
    const uint32_t ports = w.services.estimate(ep);
    const uint32_t sources = w.contributors.estimate(ep);
    const uint32_t open = w.open.estimate(ep);
    const bool holds = ports >= s_.min_ports && sources >= s_.min_sources && uint64_t{open} * 2 <= ports &&
                       w.max_contribution <= s_.max_source_share * ports;
    if (!holds) {
      // Well below the bar again: the episode is over, the next one is a new first report.
      if (w.report.reported() && ports < s_.min_ports / 2) w.report = ReportState{};
      return;
    }
    if (!w.report.due(now, s_.update_interval)) return;
    emit(out, [&] { return distributed_finding(target, w, ports, sources, open, now); });
  }

  template <typename Make>
  void emit(FindingSink& out, Make&& make) noexcept {
    try {
      out.add(make());
      ++findings_;
    } catch (...) {
      // Out of memory while building the finding: drop it rather than leave the packet path.
    }
  }

  std::optional<core::Prefix> shared_prefix(const IpAddress& base, int len, size_t count) const {
    if (base.empty() || count < 2) return std::nullopt;
    const int want = base.is_v6() ? s_.prefix_v6 : s_.prefix_v4;
    if (len < want) return std::nullopt;
    return core::Prefix(base, want);
  }

  Finding distributed_finding(const IpAddress& target, const Watch& w, uint32_t ports, uint32_t sources, uint32_t open,
                              Timestamp now) const {
    bool tcp_only = true;
    bool udp_only = true;
    for (size_t k = 0; k < kKinds; ++k) {
      if (w.kinds[k] == 0) continue;
      tcp_only = tcp_only && is_tcp_kind(k);
      udp_only = udp_only && static_cast<ProbeKind>(k) == ProbeKind::udp;
    }
    const std::string_view type = scan_type(w.kinds);
    const double mean = w.contributor_count == 0 ? 0.0 : static_cast<double>(w.contributor_ports) / w.contributor_count;
    Finding f;
    f.detector = kName;
    f.kind = kKindDistributed;
    f.ts = now;
    f.source_prefix = shared_prefix(w.span_base, w.span_len, w.contributor_count);
    f.target = target;
    f.proto = tcp_only ? kTcp : udp_only ? kUdp : 0;
    f.severity = Severity::medium;
    f.signature_id = kSidDistributed;
    f.update = w.report.is_update();
    f.aggregate = true;
    f.signature = fmt::format("Distributed {} scan of {}: about {} ports probed by about {} sources, {:.1f} each", type,
                              target.to_string(), ports, sources, mean);
    f.category = "Detection of a Network Scan";
    Json e;
    e["scan_type"] = type;
    e["distinct_ports"] = ports;
    e["distinct_sources"] = sources;
    e["source_count"] = w.contributor_count;
    e["sources"] = sorted_addresses({w.sources.begin(), w.sources.begin() + w.sources_n});
    e["ports_per_source"] = {{"mean", std::round(mean * 100) / 100}, {"max", w.max_ports}};
    e["top_source_new_ports"] = w.max_contribution;
    e["open_ports"] = open;
    Json kinds = Json::object();
    for (size_t k = 0; k < kKinds; ++k) {
      if (w.kinds[k] != 0) kinds[std::string(probe_kind_name(static_cast<ProbeKind>(k)))] = w.kinds[k];
    }
    e["probe_kinds"] = std::move(kinds);
    e["sample_ports"] = sorted_ports({w.ports.begin(), w.ports.begin() + w.ports_n});
    e["window"] = s_.window.to_seconds();
    e["first_seen"] = core::format_iso8601(Timestamp{w.first_ns});
    e["last_seen"] = core::format_iso8601(Timestamp{w.last_ns});
    f.evidence = std::move(e);
    return f;
  }

  Finding decoy_finding(const IpAddress& target, const DecoyTracker::Group& g, Timestamp now) const {
    IpAddress base = g.members[0];
    int len = base.bit_width();
    for (size_t i = 1; i < g.members_n; ++i) len = std::min(len, common_prefix_len(base, g.members[i]));
    const std::string_view type = scan_type_of_mask(g.kinds);
    const uint32_t ports = g.port_count();
    Finding f;
    f.detector = kName;
    f.kind = kKindDecoy;
    f.ts = now;
    f.source_prefix = shared_prefix(base, len, g.members_n);
    f.target = target;
    const uint16_t tcp_kinds =
        (1u << static_cast<unsigned>(ProbeKind::syn)) | (1u << static_cast<unsigned>(ProbeKind::fin)) |
        (1u << static_cast<unsigned>(ProbeKind::null)) | (1u << static_cast<unsigned>(ProbeKind::xmas)) |
        (1u << static_cast<unsigned>(ProbeKind::ack)) | (1u << static_cast<unsigned>(ProbeKind::maimon));
    f.proto = (g.kinds & ~tcp_kinds) == 0 ? kTcp : g.kinds == (1u << static_cast<unsigned>(ProbeKind::udp)) ? kUdp : 0;
    f.severity = Severity::medium;
    f.signature_id = kSidDecoy;
    f.update = g.report.is_update();
    f.aggregate = true;
    f.signature = fmt::format("Decoy {} scan of {}: {} sources probe the same {} ports together (one is the scanner)",
                              type, target.to_string(), g.sources_per_port, ports);
    f.category = "Detection of a Network Scan";
    Json e;
    e["scan_type"] = type;
    e["decoy_sources"] = sorted_addresses({g.members.begin(), g.members.begin() + g.members_n});
    e["sources_per_port"] = g.sources_per_port;
    e["decoy_ports"] = ports;
    e["sample_ports"] = sorted_ports({g.sample_ports.begin(), g.sample_ports.begin() + g.sample_n});
    e["decoy_window"] = s_.decoy.window.to_seconds();
    e["window"] = s_.window.to_seconds();
    e["first_seen"] = core::format_iso8601(Timestamp{g.first_ns});
    e["last_seen"] = core::format_iso8601(Timestamp{g.last_ns});
    f.evidence = std::move(e);
    return f;
  }

  Settings s_;
  int64_t sub_ns_ = 1;
  state::BoundedTable<IpAddress, Host, HostHash> hosts_;
  state::BoundedTable<IpAddress, Watch, HostHash> watches_;
  state::BoundedTable<uint64_t, Pair, PairHash> pairs_;
  ActivityFilter activity_;
  Timestamp next_rotation_;
  uint64_t findings_ = 0;
};

}  // namespace

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "detect.distributed_scan");
  s.boolean("enabled", true, "Report one host's ports probed by many sources (a slice each), and decoy scans (nmap -D)",
            "seed 002: planned 'distributed scan detection: coordinated attacks from multiple IPs' (no parameters)");
  s.integer("min_sources", 5, 2, 1'000'000,
            "Sources that each found ports nobody else had probed in the window (estimated)")
      .aggressive(int64_t{4})
      .paranoid(int64_t{3});
  s.integer("min_ports", 50, 2, 65'536, "Distinct ports probed on the host in the window (estimated)")
      .aggressive(int64_t{32})
      .paranoid(int64_t{20});
  s.integer("max_ports_per_source", 32, 1, 65'536,
            "A source probing more ports of the host than this is a port scanner of its own (port_scan); "
            "its further probes are not counted here. Keep it below min_ports")
      .aggressive(int64_t{24})
      .paranoid(int64_t{12});
  s.number("max_source_share", 0.4, 0.01, 1.0,
           "The busiest source found at most this share of the ports: otherwise one or two scanners, not a "
           "distributed scan");
  s.integer("decoy_min_sources", 4, 2, static_cast<int64_t>(DecoyTracker::kMembers),
            "Sources probing one port together for a decoy group (nmap -D RND:3 makes 4)")
      .paranoid(int64_t{3});
  s.integer("decoy_min_ports", 3, 2, 65'536, "Ports the same group of sources probes together");
  s.duration("decoy_window", Duration::seconds(1), Duration::millis(1), Duration::seconds(10),
             "How close together a decoy group's probes of one port are")
      .paranoid(Duration::seconds(2));
  s.duration("window", Duration::seconds(60), Duration::seconds(4), Duration::seconds(86'400),
             "Sliding window ports and sources are counted over")
      .aggressive(Duration::seconds(120))
      .paranoid(Duration::seconds(300));
  s.integer("capacity", 32'768, 16, 64'000'000,
            "Probed hosts tracked; about 112 bytes each. When full, the least recently seen goes, watched "
            "ones last")
      .paranoid(int64_t{131'072});
  s.integer("watch_capacity", 1024, 4, 1'000'000,
            "Hosts watched closely at once (probed on several ports lately); about 2.5 KiB each")
      .paranoid(int64_t{4096});
  s.integer("pair_capacity", 32'768, 16, 64'000'000,
            "(host, source) pairs tracked on watched hosts, for ports per source; about 64 bytes each")
      .paranoid(int64_t{131'072});
  s.integer("prefix_v4", 24, 8, 32, "An IPv4 subnet this long holding every participant becomes source_prefix");
  s.integer("prefix_v6", 64, 16, 128, "An IPv6 subnet this long holding every participant becomes source_prefix");
  s.duration("update_interval", Duration::seconds(60), Duration::seconds(1), Duration::seconds(86'400),
             "While a scan lasts, how often its finding is repeated with fresh evidence");
}

std::unique_ptr<Detector> create(const config::Config& cfg) {
  if (!cfg.boolean("detect.distributed_scan.enabled")) return nullptr;
  return std::make_unique<DistributedScan>(Settings::from(cfg));
}

}  // namespace picket::detect::distributed_scan
