#include "detect/subnet_conn/subnet_conn.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "core/time.hpp"
#include "state/bounded_table.hpp"
#include "state/distinct.hpp"

namespace picket::detect::subnet_conn {
namespace {

using core::Duration;
using core::IpAddress;
using core::Prefix;
using core::Timestamp;

constexpr std::string_view kName = "subnet_conn";
constexpr std::string_view kKindImmediate = "subnet_conn";
constexpr std::string_view kKindPersistent = "subnet_conn_persistent";
constexpr uint32_t kSignatureImmediate = 2'004'001;
constexpr uint32_t kSignaturePersistent = 2'004'002;
constexpr uint32_t kMaxHistory = 20;  // history_window's upper bound: the ring every entry carries
constexpr size_t kTopAddresses = 3;
constexpr size_t kSamplePorts = 4;
// Prefixes forgotten per sampling pass (those with no connection and an all-zero history); the
// rest wait for the next pass. Bounds the pass's scratch memory.
constexpr size_t kMaxErasePerPass = 4096;

struct Settings {
  int prefix_v4 = 24;
  int prefix_v6 = 64;
  uint64_t threshold = 60;
  Duration interval = Duration::seconds(1);
  uint32_t history_window = 5;
  uint64_t persistent_threshold = 250;
  uint32_t capacity = 65'536;
  Duration update_interval = Duration::seconds(60);
};

struct PrefixHash {
  size_t operator()(const Prefix& p) const noexcept {
    return p.address().hash() ^ (static_cast<uint64_t>(p.length()) * 0x9E3779B97F4A7C15ULL);
  }
};

// An address of the prefix without its first four bytes, which the prefix holds (prefix_v6 ≥ 32);
// an IPv4 address whole. 12 bytes instead of a 17-byte IpAddress.
using HostPart = std::array<uint8_t, 12>;

HostPart host_part(const IpAddress& a) noexcept {
  HostPart h{};
  const auto& b = a.bytes();
  if (a.is_v4()) {
    std::copy_n(b.begin(), 4, h.begin());
  } else {
    std::copy_n(b.begin() + 4, 12, h.begin());
  }
  return h;
}

IpAddress address_of(const Prefix& p, const HostPart& h) noexcept {
  if (p.address().is_v4()) return IpAddress::v4_bytes(h.data());
  std::array<uint8_t, 16> b = p.address().bytes();
  std::copy_n(h.begin(), 12, b.begin() + 4);
  return IpAddress::v6_bytes(b.data());
}

struct TopAddress {
  HostPart host{};
  uint16_t connections = 0;  // 0 = a free slot
};

// The two findings a prefix can have, each deduplicated on its own.
enum class Episode : uint8_t { immediate = 0, persistent = 1 };

struct PrefixState {
  uint32_t established = 0;     // the gauge: connections open now
  uint32_t sampled = 0;         // newest boundary (interval number, low 32 bits) written to history
  uint32_t immediate_hit = 0;   // last boundary whose sample was over threshold
  uint32_t persistent_hit = 0;  // last boundary whose history sum was over persistent_threshold
  int64_t first_seen_ns = 0;    // the first connection since the prefix was last forgotten
  // ReportState (detect/finding.hpp) per Episode, packed: the time of the last report here, the
  // number of reports (0, 1, 2 = more) in `bits`, as whether there was one and whether the next
  // is an update is all it is asked.
  std::array<int64_t, 2> report_ns{};
  std::array<uint16_t, kMaxHistory> history{};  // samples, ring indexed by boundary % history_window
  state::DistinctBitmap<64> addresses;          // addresses that connected (estimate)
  std::array<uint16_t, kSamplePorts> ports{};   // server ports connected to (a sample)
  std::array<TopAddress, kTopAddresses> top{};
  uint8_t bits = 0;  // port_count (bits 0-2), reports of Episode::immediate (3-4) and ::persistent (5-6)

  uint32_t port_count() const noexcept { return bits & 7u; }
  void add_port(uint16_t port) noexcept {
    ports[port_count()] = port;
    bits = static_cast<uint8_t>((bits & ~7u) | (port_count() + 1));
  }
  // ReportState::reported / is_update / due, and a new episode (ReportState{}).
  uint32_t reports(Episode e) const noexcept { return (bits >> shift(e)) & 3u; }
  bool reported(Episode e) const noexcept { return reports(e) != 0; }
  bool is_update(Episode e) const noexcept { return reports(e) > 1; }
  bool due(Episode e, Timestamp now, Duration update_interval) noexcept {
    int64_t& last = report_ns[static_cast<size_t>(e)];
    const uint32_t n = reports(e);
    if (n != 0 && now.ns - last < update_interval.ns) return false;
    last = now.ns;
    if (n < 2) set_reports(e, n + 1);
    return true;
  }
  void end_episode(Episode e) noexcept {
    report_ns[static_cast<size_t>(e)] = 0;
    set_reports(e, 0);
  }

 private:
  static int shift(Episode e) noexcept { return e == Episode::immediate ? 3 : 5; }
  void set_reports(Episode e, uint32_t n) noexcept {
    bits = static_cast<uint8_t>((bits & ~(3u << shift(e))) | (n << shift(e)));
  }
};

// The size NOTES.md and the docs quote (x86-64): with the table's key, LRU links and index, 200
// bytes per prefix.
static_assert(sizeof(PrefixState) <= 144);
static_assert(kSamplePorts < 8, "port_count has three bits");

// A prefix holding connections (or with a finding open) is spared at eviction: its gauge would
// be lost, and a flood of single connections from other prefixes must not hide it.
bool keep_on_eviction(const PrefixState& s) noexcept {
  return s.established != 0 || s.reported(Episode::immediate) || s.reported(Episode::persistent);
}

class SubnetConnDetector final : public Detector {
 public:
  explicit SubnetConnDetector(const Settings& s) : settings_(s), table_(s.capacity) {
    dead_.reserve(std::min<size_t>(kMaxErasePerPass, s.capacity));
  }

  std::string_view name() const noexcept override { return kName; }

  Interest interest() const noexcept override {
    Interest i;
    i.packets = interest::flow(FlowEvent::established) | interest::flow(FlowEvent::closed);
    return i;  // and expired notices
  }

  void on_packet(const PacketContext& ctx, FindingSink&) noexcept override {
    if (ctx.flow == FlowEvent::established) {
      opened(ctx.actor, *ctx.meta);
    } else if (ctx.flow == FlowEvent::closed) {
      ended(ctx.actor, ctx.meta->ts);
    }
  }

  void on_flow_notice(const FlowNotice& n, FindingSink&) noexcept override {
    // The flow tracker reports established connections that went idle or were evicted.
    if (n.event == FlowEvent::expired) ended(n.actor, n.ts);
  }

  void on_tick(Timestamp now, FindingSink& out) noexcept override {
    const uint32_t boundary = boundary_of(now);
    if (passed_ && !after(boundary, last_pass_)) return;
    // The first pass judges only the boundary it is at; a later one every boundary since the
    // last (several after a quiet gap).
    const uint32_t first = passed_ ? last_pass_ + 1 : boundary;
    passed_ = true;
    last_pass_ = boundary;
    sample(first, boundary, now, out);
  }

  DetectorStats stats() const noexcept override { return table_stats(table_, findings_, dead_.capacity() * sizeof(Prefix)); }

 private:
  Prefix prefix_of(const IpAddress& a) const noexcept {
    return Prefix(a, a.is_v6() ? settings_.prefix_v6 : settings_.prefix_v4);
  }

  void opened(const IpAddress& actor, const core::PacketMeta& m) noexcept {
    auto [s, inserted] = table_.find_or_insert(prefix_of(actor), m.ts);
    if (inserted) {
      s->first_seen_ns = m.ts.ns;
      s->sampled = boundary_of(m.ts);  // every earlier boundary saw nothing: zeros
    } else {
      catch_up(*s, boundary_of(m.ts));
    }
    if (s->established != UINT32_MAX) ++s->established;
    s->addresses.add(actor.hash());
    add_top(*s, host_part(actor));
    // The handshake's last step comes from the actor: the destination port is the server's.
    const auto known = s->ports.begin() + s->port_count();
    if (s->port_count() < kSamplePorts && std::find(s->ports.begin(), known, m.dst_port) == known) {
      s->add_port(m.dst_port);
    }
  }

  void ended(const IpAddress& actor, Timestamp ts) noexcept {
    // A prefix we no longer hold (evicted) stays forgotten: a gauge never goes below zero.
    PrefixState* s = table_.find(prefix_of(actor), ts);
    if (s == nullptr || s->established == 0) return;
    catch_up(*s, boundary_of(ts));
    --s->established;
    const HostPart h = host_part(actor);
    for (auto& t : s->top) {
      if (t.connections != 0 && t.host == h) {
        --t.connections;
        return;
      }
    }
  }

  // Keeps a handful of the prefix's busiest addresses: a newcomer takes a free slot, or the place
  // of an address holding a single connection; an address holding more keeps its place.
  static void add_top(PrefixState& s, const HostPart& h) noexcept {
    TopAddress* free_slot = nullptr;
    TopAddress* lowest = nullptr;
    for (auto& t : s.top) {
      if (t.connections == 0) {
        if (free_slot == nullptr) free_slot = &t;
      } else if (t.host == h) {
        if (t.connections != UINT16_MAX) ++t.connections;
        return;
      } else if (lowest == nullptr || t.connections < lowest->connections) {
        lowest = &t;
      }
    }
    TopAddress* slot =
        free_slot != nullptr ? free_slot : (lowest != nullptr && lowest->connections <= 1 ? lowest : nullptr);
    if (slot == nullptr) return;
    slot->host = h;
    slot->connections = 1;
  }

  // Interval boundaries are numbered by packet time (low 32 bits; compared with wrap-around).
  uint32_t boundary_of(Timestamp t) const noexcept { return static_cast<uint32_t>(t.ns / settings_.interval.ns); }
  static bool after(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) > 0; }

  // Writes the gauge as the sample of every boundary after the newest one written, up to `to`.
  // Called before the gauge changes: the sample at a boundary is the gauge just before it, so the
  // history is exact however late the tick that judges it comes.
  void catch_up(PrefixState& s, uint32_t to) const noexcept {
    if (!after(to, s.sampled)) return;
    const uint32_t h = settings_.history_window;
    const uint32_t n = std::min(to - s.sampled, h);
    const auto g = static_cast<uint16_t>(std::min<uint32_t>(s.established, UINT16_MAX));
    for (uint32_t k = 0; k < n; ++k) s.history[(to - k) % h] = g;
    s.sampled = to;
  }

  // The sampling pass: brings every prefix's history up to `last` and judges each boundary from
  // `first` on. After history_window equal samples nothing changes but the boundary's number, so
  // a long gap costs at most history_window + 1 judgements per prefix.
  void sample(uint32_t first, uint32_t last, Timestamp now, FindingSink& out) noexcept {
    const uint32_t h = settings_.history_window;
    dead_.clear();
    table_.for_each([&](const Prefix& key, PrefixState& s, Timestamp) {
      catch_up(s, first - 1);  // judged by earlier passes (or before the first)
      uint64_t sum = 0;
      uint32_t b = s.sampled;
      // A connection event this interval may already have written this boundary's sample.
      if (!after(first, b)) sum = judge(key, s, b, now, out);
      const auto g = static_cast<uint16_t>(std::min<uint32_t>(s.established, UINT16_MAX));
      for (uint32_t steps = 0; after(last, b); ++steps) {
        b = steps >= h ? last : b + 1;
        s.history[b % h] = g;
        s.sampled = b;
        sum = judge(key, s, b, now, out);
      }
      if (s.established == 0 && sum == 0 && dead_.size() < dead_.capacity()) dead_.push_back(key);
    });
    for (const Prefix& p : dead_) table_.erase(p);
  }

  // Checks both thresholds at boundary `b` (the newest sample) and reports; returns the history sum.
  uint64_t judge(const Prefix& key, PrefixState& s, uint32_t b, Timestamp now, FindingSink& out) noexcept {
    const uint32_t h = settings_.history_window;
    const uint16_t value = s.history[b % h];
    uint64_t sum = 0;
    for (uint32_t k = 0; k < h; ++k) sum += s.history[k];
    const bool over = value > settings_.threshold;
    const bool persistent = sum > settings_.persistent_threshold;
    if (over) s.immediate_hit = b;
    if (persistent) s.persistent_hit = b;
    // An episode ends once its condition has not held for a whole history window; the next
    // time is a new first report.
    if (s.reported(Episode::immediate) && b - s.immediate_hit >= h) s.end_episode(Episode::immediate);
    if (s.reported(Episode::persistent) && b - s.persistent_hit >= h) s.end_episode(Episode::persistent);
    if (over && s.due(Episode::immediate, now, settings_.update_interval)) {
      report(key, s, kKindImmediate, s.is_update(Episode::immediate), b, value, sum, now, out);
    }
    if (persistent && s.due(Episode::persistent, now, settings_.update_interval)) {
      report(key, s, kKindPersistent, s.is_update(Episode::persistent), b, value, sum, now, out);
    }
    return sum;
  }

  void report(const Prefix& prefix, const PrefixState& s, std::string_view kind, bool update, uint32_t boundary,
              uint16_t sampled, uint64_t sum, Timestamp now, FindingSink& out) noexcept {
    try {
      const bool immediate = kind == kKindImmediate;
      const uint32_t h = settings_.history_window;
      Finding f;
      f.detector = kName;
      f.kind = kind;
      f.ts = now;
      f.source_prefix = prefix;
      if (s.port_count() == 1) f.target_port = s.ports[0];
      f.proto = static_cast<uint8_t>(core::IpProto::tcp);
      f.severity = immediate ? Severity::high : Severity::medium;
      f.signature_id = immediate ? kSignatureImmediate : kSignaturePersistent;
      f.update = update;
      f.signature = immediate ? "Subnet connections: too many established TCP connections from one subnet"
                              : "Subnet connections: many established TCP connections from one subnet, interval "
                                "after interval";
      f.category = "Attempted Denial of Service";
      const double interval_s = settings_.interval.to_seconds();
      auto& e = f.evidence;
      e["established"] = sampled;
      auto history = nlohmann::ordered_json::array();
      for (uint32_t k = 1; k <= h; ++k) history.push_back(s.history[(boundary + k) % h]);  // oldest first
      e["history"] = std::move(history);
      e["sum"] = sum;
      e["threshold"] = settings_.threshold;
      e["persistent_threshold"] = settings_.persistent_threshold;
      e["history_window"] = h;
      e["interval"] = interval_s;
      e["window"] = interval_s * h;
      e["addresses"] = s.addresses.estimate();
      std::array<TopAddress, kTopAddresses> top = s.top;
      std::sort(top.begin(), top.end(), [](const TopAddress& a, const TopAddress& b) {
        return a.connections != b.connections ? a.connections > b.connections : a.host < b.host;
      });
      auto tops = nlohmann::ordered_json::array();
      for (const auto& t : top) {
        if (t.connections == 0) continue;
        tops.push_back({{"address", address_of(prefix, t.host).to_string()}, {"connections", t.connections}});
      }
      e["top_addresses"] = std::move(tops);
      auto ports = nlohmann::ordered_json::array();
      for (uint32_t i = 0; i < s.port_count(); ++i) ports.push_back(s.ports[i]);
      e["ports"] = std::move(ports);
      e["first_seen"] = core::format_iso8601(Timestamp{s.first_seen_ns});
      e["last_seen"] = core::format_iso8601(now);
      out.add(std::move(f));
      ++findings_;
    } catch (...) {
      // Out of memory while building a finding: drop it rather than leave the tick.
    }
  }

  Settings settings_;
  state::BoundedTable<Prefix, PrefixState, PrefixHash> table_;
  std::vector<Prefix> dead_;  // scratch for the sampling pass, reserved up front
  bool passed_ = false;       // a sampling pass has run
  uint32_t last_pass_ = 0;    // the boundary it judged last
  uint64_t findings_ = 0;
};

}  // namespace

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "detect.subnet_conn");
  s.boolean("enabled", true, "Report source subnets holding too many established TCP connections");
  s.integer("prefix_v4", 24, 8, 32,
            "IPv4 prefix length that groups source addresses into a subnet (also how workers are sharded)",
            "seed 000: /24");
  s.integer("prefix_v6", 64, 32, 128,
            "IPv6 prefix length that groups source addresses into a subnet (also how workers are sharded)");
  s.integer("threshold", 60, 0, 60'000,
            "Established connections from one subnet at an interval boundary above which it is reported at once",
            "seed 000: THRESHOLD 10")
      .aggressive(int64_t{30})
      .paranoid(int64_t{10});
  s.duration("interval", Duration::seconds(1), Duration::seconds(1), Duration::seconds(3600),
             "How often (in packet time) each subnet's established connections are sampled", "seed 000: INTERVAL 1 s");
  s.integer("history_window", 5, 1, kMaxHistory, "Samples summed for the persistent threshold",
            "seed 000: HISTORY_WINDOW 5");
  s.integer("persistent_threshold", 250, 0, 1'000'000,
            "Sum of the last history_window samples above which a subnet is reported as persistent",
            "seed 000: PERSISTENT_THRESHOLD 25")
      .aggressive(int64_t{120})
      .paranoid(int64_t{25});
  s.integer("capacity", 65'536, 1'024, 16'777'216,
            "Subnets tracked per worker (200 bytes each); only subnets with completed handshakes take room, "
            "subnets holding connections are spared")
      .paranoid(int64_t{262'144});
  s.duration("update_interval", Duration::seconds(60), Duration::seconds(1), Duration::seconds(86'400),
             "While a subnet stays over a threshold, at most one update of its finding per this interval");
}

std::unique_ptr<Detector> create(const config::Config& cfg) {
  if (!cfg.boolean("detect.subnet_conn.enabled")) return nullptr;
  Settings s;
  s.prefix_v4 = static_cast<int>(cfg.integer("detect.subnet_conn.prefix_v4"));
  s.prefix_v6 = static_cast<int>(cfg.integer("detect.subnet_conn.prefix_v6"));
  s.threshold = static_cast<uint64_t>(cfg.integer("detect.subnet_conn.threshold"));
  s.interval = cfg.duration("detect.subnet_conn.interval");
  s.history_window = static_cast<uint32_t>(cfg.integer("detect.subnet_conn.history_window"));
  s.persistent_threshold = static_cast<uint64_t>(cfg.integer("detect.subnet_conn.persistent_threshold"));
  s.capacity = static_cast<uint32_t>(cfg.integer("detect.subnet_conn.capacity"));
  s.update_interval = cfg.duration("detect.subnet_conn.update_interval");
  return std::make_unique<SubnetConnDetector>(s);
}

}  // namespace picket::detect::subnet_conn
