#include "detect/conn_rate/conn_rate.hpp"

#include <algorithm>
#include <array>

#include "core/time.hpp"
#include "state/bounded_table.hpp"
#include "state/distinct.hpp"
#include "state/sliding_window.hpp"

namespace picket::detect::conn_rate {
namespace {

using core::Duration;
using core::IpAddress;
using core::Timestamp;

constexpr std::string_view kName = "conn_rate";
constexpr uint32_t kSignatureId = 2'003'001;
// Twelve sub-buckets: at the default 60 s interval the window slides in 5 s steps.
constexpr size_t kBuckets = 12;
constexpr size_t kSamplePorts = 4;

struct Settings {
  uint64_t limit = 100;
  Duration interval = Duration::seconds(60);
  uint32_t capacity = 65'536;
  Duration update_interval = Duration::seconds(60);
};

struct SourceState {
  state::SlidingWindow<kBuckets> connections;  // completed handshakes
  ReportState report;
  int64_t first_seen_ns = 0;  // first connection of the current episode
  uint64_t first_target = 0;  // hash of the episode's first target; another one sets many_targets
  state::DistinctBitmap<64> targets;
  std::array<uint16_t, kSamplePorts> ports{};
  uint8_t port_count = 0;
  bool many_ports = false;
  bool many_targets = false;
  bool evidence = false;  // past half the limit: spared at eviction
};

// The size NOTES.md and the docs quote (x86-64).
static_assert(sizeof(SourceState) <= 120);

// Sources on their way to a finding survive a crowd of one-off clients.
bool keep_on_eviction(const SourceState& s) noexcept {
  return s.evidence || s.report.reported();
}

class ConnRateDetector final : public Detector {
 public:
  explicit ConnRateDetector(const Settings& s)
      : settings_(s), shape_(state::WindowShape::of(s.interval, kBuckets)), table_(s.capacity) {}

  std::string_view name() const noexcept override { return kName; }

  Interest interest() const noexcept override {
    Interest i;
    i.packets = interest::flow(FlowEvent::established);
    i.notices = false;
    return i;
  }

  void on_packet(const PacketContext& ctx, FindingSink& out) noexcept override {
    if (ctx.flow != FlowEvent::established) return;
    const core::PacketMeta& m = *ctx.meta;
    auto [s, inserted] = table_.find_or_insert(ctx.actor, m.ts);
    // A connection after a window without any starts a new episode (and a new first report).
    if (!inserted && s->connections.sum(shape_, m.ts) == 0) *s = SourceState{};
    if (s->first_seen_ns == 0) s->first_seen_ns = m.ts.ns;
    s->connections.add(shape_, m.ts);
    // The handshake's last step comes from the actor: the destination is the server.
    note_target(*s, m.dst, m.dst_port);
    const uint64_t n = s->connections.sum(shape_, m.ts);
    s->evidence = n * 2 > settings_.limit;
    if (n <= settings_.limit || !s->report.due(m.ts, settings_.update_interval)) return;
    report(ctx.actor, *s, n, m.ts, m.dst, out);
  }

  void on_tick(Timestamp now, FindingSink&) noexcept override {
    // Past one interval and one bucket of silence the count is zero: nothing left to remember.
    table_.expire_idle(now - settings_.interval - Duration{shape_.bucket_ns});
  }

  DetectorStats stats() const noexcept override { return table_stats(table_, findings_); }

 private:
  static void note_target(SourceState& s, const IpAddress& target, uint16_t port) noexcept {
    const uint64_t h = target.hash();
    if (s.first_target == 0)
      s.first_target = h;
    else if (h != s.first_target)
      s.many_targets = true;
    s.targets.add(h);
    if (s.many_ports) return;
    for (uint8_t i = 0; i < s.port_count; ++i) {
      if (s.ports[i] == port) return;
    }
    if (s.port_count < kSamplePorts)
      s.ports[s.port_count++] = port;
    else
      s.many_ports = true;
  }

  void report(const IpAddress& actor, const SourceState& s, uint64_t n, Timestamp now, const IpAddress& target,
              FindingSink& out) noexcept {
    try {
      Finding f;
      f.detector = kName;
      f.kind = kName;
      f.ts = now;
      f.source = actor;
      if (!s.many_targets) f.target = target;
      if (!s.many_ports && s.port_count == 1) f.target_port = s.ports[0];
      f.proto = static_cast<uint8_t>(core::IpProto::tcp);
      f.severity = Severity::medium;
      f.signature_id = kSignatureId;
      f.update = s.report.is_update();
      f.signature = "Connection rate: one source opens TCP connections faster than the limit";
      f.category = "Potentially Bad Traffic";
      const double interval_s = settings_.interval.to_seconds();
      auto& e = f.evidence;
      e["connections"] = n;
      e["limit"] = settings_.limit;
      e["interval"] = interval_s;
      e["rate"] = static_cast<double>(n) / interval_s;
      e["window"] = interval_s;
      e["first_seen"] = core::format_iso8601(Timestamp{s.first_seen_ns});
      e["last_seen"] = core::format_iso8601(now);
      auto ports = nlohmann::ordered_json::array();
      for (uint8_t i = 0; i < s.port_count; ++i) ports.push_back(s.ports[i]);
      e["ports"] = std::move(ports);
      e["targets"] = s.many_targets ? std::max<uint32_t>(2, s.targets.estimate()) : 1;
      out.add(std::move(f));
      ++findings_;
    } catch (...) {
      // Out of memory while building a finding: drop it rather than leave the packet path.
    }
  }

  Settings settings_;
  state::WindowShape shape_;
  state::BoundedTable<IpAddress, SourceState, core::IpAddressHash> table_;
  uint64_t findings_ = 0;
};

}  // namespace

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "detect.conn_rate");
  s.boolean("enabled", true, "Report sources that complete more TCP connections per interval than the limit");
  s.integer("limit", 100, 1, 1'000'000,
            "Completed TCP handshakes a source may make within the interval; more is reported",
            "seed 001: RATE_LIMIT 50")
      .aggressive(int64_t{50})
      .paranoid(int64_t{30});
  s.duration("interval", Duration::seconds(60), Duration::seconds(1), Duration::seconds(86'400),
             "Sliding window over which a source's connections are counted", "seed 001: INTERVAL 60 s");
  s.integer("capacity", 65'536, 1'024, 16'777'216,
            "Sources tracked per worker (about 160 bytes each); only sources that completed a handshake take "
            "room, least recently seen go first, sources past half the limit are spared")
      .paranoid(int64_t{262'144});
  s.duration("update_interval", Duration::seconds(60), Duration::seconds(1), Duration::seconds(86'400),
             "While a source stays over the limit, at most one update of its finding per this interval");
}

std::unique_ptr<Detector> create(const config::Config& cfg) {
  if (!cfg.boolean("detect.conn_rate.enabled")) return nullptr;
  Settings s;
  s.limit = static_cast<uint64_t>(cfg.integer("detect.conn_rate.limit"));
  s.interval = cfg.duration("detect.conn_rate.interval");
  s.capacity = static_cast<uint32_t>(cfg.integer("detect.conn_rate.capacity"));
  s.update_interval = cfg.duration("detect.conn_rate.update_interval");
  return std::make_unique<ConnRateDetector>(s);
}

}  // namespace picket::detect::conn_rate
