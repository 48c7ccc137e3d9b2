#include "detect/port_scan/port_scan.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "detect/port_scan/scan_state.hpp"
#include "state/bounded_table.hpp"

namespace picket::detect::port_scan {

using core::Duration;
using core::IpAddress;
using core::Timestamp;

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "detect.port_scan");
  s.boolean("enabled", true, "Report sources that probe many ports of a host or one port on many hosts");
  s.integer("capacity", 65'536, 1024, 16'000'000,
            "Sources tracked per worker (216 bytes each); those already seen scanning are spared when it is full")
      .paranoid(int64_t{131'072});
  s.duration("window", Duration::seconds(60), Duration::seconds(1), Duration::seconds(3600),
             "Short tier: the sliding window in which port_threshold / host_threshold distinct targets are counted");
  s.integer("port_threshold", 12, 2, 48,
            "Distinct ports of one host within window that, with the sequential test saying 'scanner', make a "
            "port scan")
      .aggressive(int64_t{8})
      .paranoid(int64_t{5});
  s.integer("host_threshold", 12, 2, 48,
            "Distinct hosts on one port within window that, with the sequential test saying 'scanner', make a sweep")
      .aggressive(int64_t{8})
      .paranoid(int64_t{5});
  s.duration("slow_window", Duration::seconds(3600), Duration::seconds(60), Duration::seconds(86'400),
             "Long tier: the sliding window for slow scans; also how long a quiet source is remembered");
  s.integer("slow_threshold", 12, 2, 48,
            "Distinct (host, port) targets within slow_window that, with the sequential test saying 'scanner', "
            "make a slow scan")
      .aggressive(int64_t{8})
      .paranoid(int64_t{5});
  s.number("trw_theta0", 0.8, 0.51, 0.999, "Sequential test: probability that a benign source's first contact is answered");
  s.number("trw_theta1", 0.2, 0.001, 0.49, "Sequential test: probability that a scanner's first contact is answered");
  s.number("trw_false_positive", 0.001, 0.000001, 0.1,
           "Sequential test: accepted probability of calling a benign source a scanner (sets the upper threshold; "
           "0.001 needs 5 failed first contacts in a row)")
      .aggressive(0.01)
      .paranoid(0.01);
  s.number("trw_detection", 0.99, 0.5, 0.99999, "Sequential test: probability of calling a scanner a scanner");
  s.integer("scan_threshold", 0, 0, 48,
            "Simple mode: distinct ports of one host within window that make a port scan on their own, answered or "
            "not (0 = off)",
            "seed 002: SCAN_THRESHOLD 3");
  s.port_list("ports_to_monitor", {}, kMaxMonitored,
              "Monitored-ports mode: a source that probes port_scan_threshold of these ports (any hosts) is a port "
              "scanner, answered or not (empty = off; at most 32 ports)",
              "seed 004: ports_to_monitor (set by the user)");
  s.integer("port_scan_threshold", 3, 1, kMaxMonitored,
            "Monitored-ports mode: how many distinct monitored ports make a scan",
            "seed 004: port_scan_threshold (set by the user)");
  s.duration("update_interval", Duration::seconds(60), Duration::seconds(1), Duration::seconds(3600),
             "A finding that persists is reported again (update) at most this often");
}

namespace {

constexpr std::string_view kName = "port_scan";
constexpr std::string_view kKindScan = "port_scan";
constexpr std::string_view kKindSweep = "sweep";
constexpr uint32_t kSigScan = 2'005'001;
constexpr uint32_t kSigSweep = 2'005'002;
constexpr const char* kCategory = "Detection of a Network Scan";
// Relative epochs start this many buckets after the detector's first timestamp's bucket, so a
// timestamp a little older than the first one still has a place.
constexpr int64_t kEpochSlack = int64_t{1} << 20;

struct Settings {
  uint32_t capacity = 65'536;
  Duration window = Duration::seconds(60);
  Duration slow_window = Duration::seconds(3600);
  Duration update_interval = Duration::seconds(60);
  uint32_t port_threshold = 12;
  uint32_t host_threshold = 12;
  uint32_t slow_threshold = 12;
  uint32_t scan_threshold = 0;
  uint32_t monitored_threshold = 3;
  std::vector<uint16_t> monitored;  // sorted, unique, at most kMaxMonitored
  Trw trw;

  static Settings from_config(const config::Config& cfg) {
    Settings s;
    const std::string p = "detect.port_scan.";
    s.capacity = static_cast<uint32_t>(cfg.integer(p + "capacity"));
    s.window = cfg.duration(p + "window");
    s.slow_window = cfg.duration(p + "slow_window");
    s.update_interval = cfg.duration(p + "update_interval");
    s.port_threshold = static_cast<uint32_t>(cfg.integer(p + "port_threshold"));
    s.host_threshold = static_cast<uint32_t>(cfg.integer(p + "host_threshold"));
    s.slow_threshold = static_cast<uint32_t>(cfg.integer(p + "slow_threshold"));
    s.scan_threshold = static_cast<uint32_t>(cfg.integer(p + "scan_threshold"));
    s.monitored_threshold = static_cast<uint32_t>(cfg.integer(p + "port_scan_threshold"));
    s.trw = Trw::from(cfg.number(p + "trw_theta0"), cfg.number(p + "trw_theta1"), cfg.number(p + "trw_false_positive"),
                      cfg.number(p + "trw_detection"));
    for (const auto& [lo, hi] : cfg.ports(p + "ports_to_monitor")) {
      for (uint32_t port = lo; port <= hi; ++port) {
        s.monitored.push_back(static_cast<uint16_t>(port));
        if (s.monitored.size() > 4 * kMaxMonitored) break;  // enough to know it is too many
      }
    }
    std::sort(s.monitored.begin(), s.monitored.end());
    s.monitored.erase(std::unique(s.monitored.begin(), s.monitored.end()), s.monitored.end());
    if (s.monitored.size() > kMaxMonitored) {
      throw std::invalid_argument("detect.port_scan.ports_to_monitor: at most " + std::to_string(kMaxMonitored) +
                                  " ports once ranges are expanded (got " + std::to_string(s.monitored.size()) +
                                  (s.monitored.size() > 4 * kMaxMonitored ? " or more)" : ")"));
    }
    if (s.slow_window < s.window) {
      throw std::invalid_argument("detect.port_scan.slow_window (" + core::format_duration(s.slow_window) +
                                  ") must not be shorter than detect.port_scan.window (" +
                                  core::format_duration(s.window) + ")");
    }
    return s;
  }
};

enum class Shape : uint8_t { vertical, sweep, slow };
enum class Trigger : uint8_t { trw, threshold, monitored };

std::string_view shape_name(Shape s) noexcept {
  switch (s) {
    case Shape::vertical: return "vertical";
    case Shape::sweep: return "sweep";
    case Shape::slow: return "slow";
  }
  return "vertical";
}

std::string_view trigger_name(Trigger t) noexcept {
  switch (t) {
    case Trigger::trw: return "trw";
    case Trigger::threshold: return "threshold";
    case Trigger::monitored: return "monitored";
  }
  return "trw";
}

// The protocol a scan of this kind speaks (0: several).
uint8_t kind_proto(ProbeKind k, const IpAddress& host) noexcept {
  switch (k) {
    case ProbeKind::syn:
    case ProbeKind::fin:
    case ProbeKind::null:
    case ProbeKind::xmas:
    case ProbeKind::ack:
    case ProbeKind::maimon:
    case ProbeKind::other_tcp: return 6;
    case ProbeKind::udp: return 17;
    case ProbeKind::icmp: return host.is_v6() ? 58 : 1;
    default: return 0;
  }
}

// Whole seconds as an integer, otherwise fractional.
nlohmann::ordered_json seconds_json(Duration d) {
  if (d.ns % 1'000'000'000 == 0) return d.ns / 1'000'000'000;
  return d.to_seconds();
}

double round3(double x) noexcept { return std::round(x * 1000.0) / 1000.0; }

class PortScan final : public Detector {
 public:
  explicit PortScan(Settings s) : s_(std::move(s)), table_(s_.capacity) {
    fast_bucket_ns_ = std::max<int64_t>(1, s_.window.ns / kBuckets);
    slow_bucket_ns_ = std::max<int64_t>(1, s_.slow_window.ns / kBuckets);
    for (uint16_t p : s_.monitored) monitored_bits_[p / 64] |= uint64_t{1} << (p % 64);
  }

  std::string_view name() const noexcept override { return kName; }

  Interest interest() const noexcept override {
    Interest i;
    i.packets = interest::flow(FlowEvent::probe) | interest::flow(FlowEvent::reply_success) |
                interest::flow(FlowEvent::reply_failure);
    i.prefetch = true;
    return i;  // and probe_unanswered notices
  }

  void prefetch_source(uint64_t address_hash) const noexcept override { table_.prefetch(address_hash); }

  void on_packet(const PacketContext& pkt, FindingSink& out) noexcept override {
    switch (pkt.flow) {
      case FlowEvent::probe: on_probe(pkt, out); return;
      case FlowEvent::reply_success:
      case FlowEvent::reply_failure: {
        const core::PacketMeta& m = *pkt.meta;
        // The answer's flow, from the actor's side: an ICMP error quotes it, a reply reverses it.
        if (m.has(core::meta_flag::kHasInner)) {
          if (m.has(core::meta_flag::kInnerPorts) && answer_shaped(m.inner_src_port, m.inner_dst_port)) return;
        } else if (m.has(core::meta_flag::kHasPorts) && answer_shaped(m.dst_port, m.src_port)) {
          return;
        }
        on_outcome(pkt.actor, pkt.flow == FlowEvent::reply_success, m.ts, out);
        return;
      }
      default: return;
    }
  }

  void on_flow_notice(const FlowNotice& n, FindingSink& out) noexcept override {
    if (n.event != FlowEvent::probe_unanswered || answer_shaped(n.actor_port, n.peer_port)) return;
    on_outcome(n.actor, false, n.ts, out);
  }

  void on_tick(Timestamp now, FindingSink&) noexcept override { table_.expire_idle(now - s_.slow_window); }

  DetectorStats stats() const noexcept override { return table_stats(table_, findings_, sizeof(monitored_bits_)); }

 private:
  uint32_t relative_epoch(Timestamp t, int64_t bucket_ns, int64_t base) const noexcept {
    const int64_t e = (t.ns < 0 ? 0 : t.ns / bucket_ns) - base;
    if (e <= 0) return 0;
    return e >= std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max() : static_cast<uint32_t>(e);
  }
  void set_base(Timestamp t) noexcept {
    if (based_) return;
    based_ = true;
    const int64_t ns = t.ns < 0 ? 0 : t.ns;
    fast_base_ = ns / fast_bucket_ns_ - kEpochSlack;
    slow_base_ = ns / slow_bucket_ns_ - kEpochSlack;
  }
  uint32_t fast_epoch(Timestamp t) const noexcept { return relative_epoch(t, fast_bucket_ns_, fast_base_); }
  uint32_t slow_epoch(Timestamp t) const noexcept { return relative_epoch(t, slow_bucket_ns_, slow_base_); }

  bool monitored(uint16_t port) const noexcept { return (monitored_bits_[port / 64] >> (port % 64)) & 1u; }
  uint32_t monitored_index(uint16_t port) const noexcept {
    return static_cast<uint32_t>(std::lower_bound(s_.monitored.begin(), s_.monitored.end(), port) - s_.monitored.begin());
  }

  void on_probe(const PacketContext& pkt, FindingSink& out) noexcept {
    const ProbeKind kind = pkt.probe;
    if (kind == ProbeKind::none || !pkt.from_actor) return;
    const core::PacketMeta& m = *pkt.meta;
    const bool has_ports = m.has(core::meta_flag::kHasPorts);
    if (has_ports && answer_shaped(m.src_port, m.dst_port)) return;
    const Timestamp now = m.ts;
    set_base(now);
    const uint32_t fe = fast_epoch(now);
    const uint32_t se = slow_epoch(now);
    Timestamp previous;
    auto [e, fresh] = table_.find_or_insert(pkt.actor, now, previous);
    // The tiers' epochs as of the entry's previous probe (fe, se for a new entry).
    uint32_t fast = fast_epoch(previous);
    uint32_t slow = slow_epoch(previous);
    // Nothing probed for a whole slow_window: whatever the entry held is over; a new activity.
    if (!fresh && live_buckets(slow, se) == 0) {
      *e = Entry{};
      fresh = true;
    }
    if (fresh) {
      e->first_seen_ns = now.ns;
      fast = fe;
      slow = se;
    }
    const uint32_t fh = roll(fast, e->fast_head(), fe, [e](uint32_t b) {
      e->ports.clear(b);
      e->hosts.clear(b);
    });
    e->set_fast_head(fh);
    const uint32_t sh = roll(slow, e->slow_head(), se, [e](uint32_t b) { e->targets.clear(b); });
    e->set_slow_head(sh);

    if (e->probes != std::numeric_limits<uint32_t>::max()) ++e->probes;
    count_kind(e->kinds, kind);

    const uint16_t port = has_ports ? m.dst_port : 0;
    const uint32_t pk = port_key(m.ip_proto, port);
    // ICMP echo has no port: a ping sweep counts as a sweep, never as a port of a host.
    if (kind != ProbeKind::icmp) {
      vote_host(*e, m.dst);
      if (e->main_host == m.dst && e->ports.add(pk, fh)) add_sample(*e, has_ports ? port : m.ip_proto);
      e->targets.add(target_key(m.dst, pk), sh);
    }
    vote_port(*e, m.ip_proto, port);
    if (e->main_proto == m.ip_proto && e->main_port == port) e->hosts.add(m.dst.hash(), fh);
    if (has_ports && monitored(port) && (m.is_tcp() || m.is_udp())) e->monitored |= uint32_t{1} << monitored_index(port);

    evaluate(pkt.actor, *e, now, out);
  }

  static void vote_host(Entry& e, const IpAddress& host) noexcept {
    uint8_t v = e.votes & 0x0F;
    if (e.main_host == host) {
      if (v < kMaxVotes) ++v;
    } else if (v > 0) {
      --v;
    } else {
      e.main_host = host;
      v = 1;
      e.ports.clear_all();
      e.set_sample_count(0);
    }
    e.votes = static_cast<uint8_t>((e.votes & 0xF0) | v);
  }

  static void vote_port(Entry& e, uint8_t proto, uint16_t port) noexcept {
    uint8_t v = e.votes >> 4;
    if (e.main_proto == proto && e.main_port == port) {
      if (v < kMaxVotes) ++v;
    } else if (v > 0) {
      --v;
    } else {
      e.main_proto = proto;
      e.main_port = port;
      v = 1;
      e.hosts.clear_all();
    }
    e.votes = static_cast<uint8_t>((e.votes & 0x0F) | (v << 4));
  }

  static void add_sample(Entry& e, uint16_t port) noexcept {
    const uint32_t n = e.sample_count();
    if (n >= kSamples) return;
    for (uint32_t i = 0; i < n; ++i) {
      if (e.samples[i] == port) return;
    }
    e.samples[n] = port;
    e.set_sample_count(n + 1);
  }

  void on_outcome(const IpAddress& actor, bool success, Timestamp ts, FindingSink& out) noexcept {
    // An answer does not refresh the source's place in the table (only its own probes do): a
    // lookup that leaves the recency list alone costs one cache miss instead of four.
    Entry* e = table_.peek(actor);
    if (e == nullptr) return;
    double llr = static_cast<double>(e->llr) + (success ? s_.trw.success_step : s_.trw.failure_step);
    uint16_t& n = success ? e->successes : e->failures;
    if (n != std::numeric_limits<uint16_t>::max()) ++n;
    if (llr >= s_.trw.upper) e->flags |= entry_flag::kScanner;
    if (llr <= s_.trw.lower) {  // benign after all: the test starts over
      llr = 0;
      e->successes = e->failures = 0;
      e->flags &= static_cast<uint8_t>(~entry_flag::kScanner);
    }
    e->llr = static_cast<float>(llr);
    evaluate(actor, *e, ts, out);
  }

  struct Counts {
    Bitmap ports, hosts, targets;
  };
  Counts counts(const Entry& e, Timestamp now) const noexcept {
    Counts c;
    const Timestamp seen = table_.last_seen(e);
    const uint32_t fast_live = live_buckets(fast_epoch(seen), fast_epoch(now));
    c.ports = e.ports.live_union(e.fast_head(), fast_live);
    c.hosts = e.hosts.live_union(e.fast_head(), fast_live);
    c.targets = e.targets.live_union(e.slow_head(), live_buckets(slow_epoch(seen), slow_epoch(now)));
    return c;
  }

  // Thresholds compare the number of bits set, a lower bound of the distinct count: a source is
  // never reported for fewer targets than the threshold (a hash collision can only delay it).
  void evaluate(const IpAddress& actor, Entry& e, Timestamp now, FindingSink& out) noexcept {
    const bool scanner = (e.flags & entry_flag::kScanner) != 0;
    if (!scanner && s_.scan_threshold == 0 && s_.monitored.empty()) return;
    const Counts c = counts(e, now);
    const size_t port_bits = c.ports.bits_set();
    const bool vertical = scanner && port_bits >= s_.port_threshold;
    const bool sweep = scanner && c.hosts.bits_set() >= s_.host_threshold;
    const bool slow = scanner && c.targets.bits_set() >= s_.slow_threshold;
    const bool by_threshold = s_.scan_threshold != 0 && port_bits >= s_.scan_threshold;
    const bool by_monitored =
        !s_.monitored.empty() && static_cast<uint32_t>(std::popcount(e.monitored)) >= s_.monitored_threshold;
    if (vertical) e.flags |= entry_flag::kVertical;
    if (sweep) e.flags |= entry_flag::kSweep;
    if (sweep && e.due(ReportKind::sweep, now, s_.update_interval)) {
      report(actor, e, c, now, kKindSweep, Shape::sweep, Trigger::trw, e.is_update(ReportKind::sweep), out);
    }
    // The long tier speaks only for activities longer than the short window that the short tier
    // never caught (a fast scan could otherwise reach it first by luck of the hashes).
    const bool slow_scan = slow && now.ns - e.first_seen_ns > s_.window.ns &&
                           (e.flags & (entry_flag::kVertical | entry_flag::kSweep)) == 0;
    if (!(vertical || slow_scan || by_threshold || by_monitored)) return;
    if (!e.due(ReportKind::scan, now, s_.update_interval)) return;
    const Shape shape = slow_scan && !vertical ? Shape::slow : Shape::vertical;
    const Trigger trigger = (vertical || slow_scan) ? Trigger::trw : by_threshold ? Trigger::threshold : Trigger::monitored;
    report(actor, e, c, now, kKindScan, shape, trigger, e.is_update(ReportKind::scan), out);
  }

  void report(const IpAddress& actor, Entry& e, const Counts& c, Timestamp now, std::string_view kind, Shape shape,
              Trigger trigger, bool update, FindingSink& out) noexcept {
    e.flags |= entry_flag::kReported;
    ++findings_;
    const ProbeKind major = majority_kind(e.kinds);
    const std::string_view scan_type = major == ProbeKind::none ? std::string_view("mixed") : probe_kind_name(major);
    const bool confirmed = (e.flags & entry_flag::kScanner) != 0;

    Finding f;
    f.detector = kName;
    f.kind = kind;
    f.ts = now;
    f.source = actor;
    f.severity = confirmed ? Severity::high : Severity::medium;
    f.update = update;
    f.category = kCategory;
    const std::string type_text(scan_type);
    if (shape == Shape::sweep) {
      f.signature_id = kSigSweep;
      f.proto = e.main_proto;
      if (e.main_proto == 6 || e.main_proto == 17) f.target_port = e.main_port;
      f.signature = "Port sweep: one source probing the same port on many hosts (" + type_text + ")";
    } else {
      f.signature_id = kSigScan;
      f.target = e.main_host;
      f.proto = kind_proto(major, e.main_host);
      f.signature = shape == Shape::slow ? "Slow port scan: one source probing many ports over a long time (" + type_text + ")"
                                         : "Port scan: one source probing many ports of one host (" + type_text + ")";
    }

    nlohmann::ordered_json ev;
    ev["scan_kind"] = shape_name(shape);
    ev["scan_type"] = scan_type;
    ev["trigger"] = trigger_name(trigger);
    ev["distinct_ports"] = c.ports.estimate();
    ev["distinct_hosts"] = c.hosts.estimate();
    ev["slow_targets"] = c.targets.estimate();
    ev["probes"] = e.probes;
    nlohmann::ordered_json by_kind = nlohmann::ordered_json::object();
    uint32_t kind_total = 0;
    for (uint8_t k : e.kinds) kind_total += k;
    for (uint32_t i = 0; i < kKinds; ++i) {
      if (e.kinds[i] == 0) continue;
      // Exact until a kind passes 255 probes; then the counters were halved and this is a share.
      const double share = static_cast<double>(e.kinds[i]) * static_cast<double>(e.probes) / static_cast<double>(kind_total);
      by_kind[std::string(probe_kind_name(static_cast<ProbeKind>(i + 1)))] = static_cast<uint64_t>(std::llround(share));
    }
    ev["probes_by_kind"] = std::move(by_kind);
    nlohmann::ordered_json samples = nlohmann::ordered_json::array();
    for (uint32_t i = 0; i < e.sample_count(); ++i) samples.push_back(e.samples[i]);
    ev["sample_ports"] = std::move(samples);
    ev["target_host"] = e.main_host.empty() ? std::string() : e.main_host.to_string();
    ev["main_port"] = e.main_port;
    ev["main_proto"] = e.main_proto;
    ev["window"] = seconds_json(shape == Shape::slow ? s_.slow_window : s_.window);
    ev["first_seen"] = core::format_iso8601(Timestamp{e.first_seen_ns});
    ev["last_seen"] = core::format_iso8601(now);
    ev["trw_llr"] = round3(e.llr);
    ev["trw_threshold"] = round3(s_.trw.upper);
    ev["successes"] = e.successes;
    ev["failures"] = e.failures;
    if (!s_.monitored.empty()) {
      nlohmann::ordered_json hit = nlohmann::ordered_json::array();
      for (uint32_t i = 0; i < s_.monitored.size(); ++i) {
        if ((e.monitored >> i) & 1u) hit.push_back(s_.monitored[i]);
      }
      ev["monitored_ports_hit"] = std::move(hit);
    }
    f.evidence = std::move(ev);
    out.add(std::move(f));
  }

  Settings s_;
  state::BoundedTable<IpAddress, Entry, core::IpAddressHash> table_;
  std::array<uint64_t, 1024> monitored_bits_{};  // one bit per port: is it in ports_to_monitor?
  int64_t fast_bucket_ns_ = 1;
  int64_t slow_bucket_ns_ = 1;
  int64_t fast_base_ = 0;
  int64_t slow_base_ = 0;
  bool based_ = false;
  uint64_t findings_ = 0;
};

}  // namespace

std::unique_ptr<Detector> create(const config::Config& cfg) {
  if (!cfg.boolean("detect.port_scan.enabled")) return nullptr;
  return std::make_unique<PortScan>(Settings::from_config(cfg));
}

}  // namespace picket::detect::port_scan
