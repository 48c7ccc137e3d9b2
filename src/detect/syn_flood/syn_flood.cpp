#include "detect/syn_flood/syn_flood.hpp"

#include <algorithm>
#include <array>

#include "core/time.hpp"
#include "state/bounded_table.hpp"
#include "state/distinct.hpp"
#include "state/sliding_window.hpp"

namespace picket::detect::syn_flood {
namespace {

using core::Duration;
using core::IpAddress;
using core::Timestamp;
using core::tcp_flag::kAck;
using core::tcp_flag::kRst;
using core::tcp_flag::kSyn;

constexpr std::string_view kName = "syn_flood";
constexpr uint32_t kSignatureId = 2'001'001;
// Eight sub-buckets: the window slides in eighths. 16-bit counts keep an entry small; a bucket
// saturates at 65535 events (over 52 000 SYNs/s from one source at the default window), by
// which point any threshold is long reached.
constexpr size_t kBuckets = 8;
constexpr size_t kSamplePorts = 4;
// The four counts of a source, in one set of windows (one epoch and ring position for all four).
constexpr size_t kSyns = 0, kAnswered = 1, kCompleted = 2, kAborted = 3, kCounts = 4;
using Windows = state::SlidingWindows<kBuckets, kCounts, uint16_t>;

struct Settings {
  uint64_t threshold = 200;
  Duration window = Duration::seconds(10);
  double max_completion_ratio = 0.2;
  uint32_t capacity = 65'536;
  Duration update_interval = Duration::seconds(60);
};

struct SourceState {
  // kSyns: SYN first contacts; kAnswered: SYN-ACKs its targets sent back (one per handshake);
  // kCompleted: handshakes it completed; kAborted: RSTs it sent outside an established
  // connection (nmap's answer to a SYN-ACK).
  Windows counts;
  ReportState report;
  int64_t first_seen_ns = 0;  // first SYN of the current episode
  uint64_t first_target = 0;  // hash of the episode's first target; another one sets many_targets
  state::DistinctBitmap<64> targets;
  std::array<uint16_t, kSamplePorts> ports{};
  uint8_t port_count = 0;
  bool many_ports = false;  // more distinct target ports than the sample holds
  bool many_targets = false;
  bool evidence = false;  // half-open reached a quarter of the threshold: spared at eviction
};

// The size NOTES.md and the docs quote (x86-64).
static_assert(sizeof(SourceState) <= 136);

// Sources on their way to a finding survive a flood of one-SYN spoofed sources.
bool keep_on_eviction(const SourceState& s) noexcept {
  return s.evidence || s.report.reported();
}

struct Counts {
  uint64_t syns = 0, answered = 0, completed = 0, aborted = 0, half_open = 0;
  double ratio = 0;  // completed / syns
};

class SynFloodDetector final : public Detector {
 public:
  explicit SynFloodDetector(const Settings& s)
      : settings_(s), shape_(state::WindowShape::of(s.window, kBuckets)), table_(s.capacity) {}

  std::string_view name() const noexcept override { return kName; }

  Interest interest() const noexcept override {
    Interest i;
    i.packets = interest::flow(FlowEvent::probe) | interest::flow(FlowEvent::reply_success) |
                interest::flow(FlowEvent::established) | interest::kActorReset;
    i.notices = false;
    i.prefetch = true;
    return i;
  }

  void prefetch_source(uint64_t address_hash) const noexcept override { table_.prefetch(address_hash); }

  void on_packet(const PacketContext& ctx, FindingSink& out) noexcept override {
    const core::PacketMeta& m = *ctx.meta;
    switch (ctx.flow) {
      case FlowEvent::probe:
        if (ctx.probe == ProbeKind::syn) on_syn(ctx.actor, m, out);
        return;
      case FlowEvent::reply_success:
        if (m.is_tcp() && (m.tcp_flags & (kSyn | kAck)) == (kSyn | kAck)) on_synack(ctx.actor, m, out);
        return;
      case FlowEvent::established:
        if (SourceState* s = table_.find(ctx.actor, m.ts)) s->counts.add(kCompleted, shape_, m.ts);
        return;
      case FlowEvent::none:
        if (ctx.from_actor && m.is_tcp() && (m.tcp_flags & kRst) != 0) {
          if (SourceState* s = table_.find(ctx.actor, m.ts)) s->counts.add(kAborted, shape_, m.ts);
        }
        return;
      default:
        return;
    }
  }

  void on_tick(Timestamp now, FindingSink&) noexcept override {
    // Past one window and one bucket of silence every count is zero: nothing left to remember.
    table_.expire_idle(now - settings_.window - Duration{shape_.bucket_ns});
  }

  DetectorStats stats() const noexcept override { return table_stats(table_, findings_); }

 private:
  void on_syn(const IpAddress& actor, const core::PacketMeta& m, FindingSink& out) noexcept {
    auto [s, inserted] = table_.find_or_insert(actor, m.ts);
    // A SYN after a window without any starts a new episode (and a new first report).
    if (!inserted && s->counts.sum(kSyns, shape_, m.ts) == 0) *s = SourceState{};
    if (s->first_seen_ns == 0) s->first_seen_ns = m.ts.ns;
    s->counts.add(kSyns, shape_, m.ts);
    note_target(*s, m.dst, m.dst_port);
    check(actor, *s, m.ts, m.dst, out);
  }

  void on_synack(const IpAddress& actor, const core::PacketMeta& m, FindingSink& out) noexcept {
    SourceState* s = table_.find(actor, m.ts);
    if (s == nullptr) return;
    s->counts.add(kAnswered, shape_, m.ts);
    check(actor, *s, m.ts, m.src, out);
  }

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

  Counts counts(const SourceState& s, Timestamp now) const noexcept {
    Counts c;
    const auto sums = s.counts.sums(shape_, now);
    c.syns = sums[kSyns];
    c.answered = sums[kAnswered];
    c.completed = sums[kCompleted];
    c.aborted = sums[kAborted];
    // A source that resets the SYN-ACKs it gets back is a scanner when its SYNs spread over many
    // ports (nmap -sS), but a flooder when they hammer a few (hping3 -S: its kernel resets every
    // SYN-ACK for a connection it never opened). Only the scanner's resets settle a handshake.
    const uint64_t settled = c.completed + (s.many_ports ? c.aborted : 0);
    c.half_open = c.answered > settled ? c.answered - settled : 0;
    // A SYN can slide out of the window before its completion does: keep the ratio within 0..1.
    c.ratio = c.syns == 0 ? 0.0 : std::min(1.0, static_cast<double>(c.completed) / static_cast<double>(c.syns));
    return c;
  }

  // `target` is the victim side of the packet just counted (reported when it is the only one).
  void check(const IpAddress& actor, SourceState& s, Timestamp now, const IpAddress& target,
             FindingSink& out) noexcept {
    const Counts c = counts(s, now);
    s.evidence = c.half_open >= 2 && c.half_open * 4 >= settings_.threshold;
    if (c.half_open < settings_.threshold || !(c.ratio < settings_.max_completion_ratio)) return;
    if (!s.report.due(now, settings_.update_interval)) return;
    report(actor, s, c, now, target, out);
  }

  void report(const IpAddress& actor, const SourceState& s, const Counts& c, Timestamp now, const IpAddress& target,
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
      f.severity = Severity::high;
      f.signature_id = kSignatureId;
      f.update = s.report.is_update();
      f.signature = "SYN flood: one source leaves many TCP handshakes half-open";
      f.category = "Attempted Denial of Service";
      const double window_s = settings_.window.to_seconds();
      auto& e = f.evidence;
      e["syns"] = c.syns;
      e["answered"] = c.answered;
      e["completed"] = c.completed;
      e["aborted"] = c.aborted;
      e["half_open"] = c.half_open;
      e["completion_ratio"] = c.ratio;
      e["rate"] = static_cast<double>(c.syns) / window_s;
      e["window"] = window_s;
      e["threshold"] = settings_.threshold;
      e["max_completion_ratio"] = settings_.max_completion_ratio;
      e["first_seen"] = core::format_iso8601(Timestamp{s.first_seen_ns});
      e["last_seen"] = core::format_iso8601(now);
      auto ports = nlohmann::ordered_json::array();
      for (uint8_t i = 0; i < s.port_count; ++i) ports.push_back(s.ports[i]);
      e["ports"] = std::move(ports);
      const uint32_t est = s.targets.estimate();
      e["targets"] = s.many_targets ? std::max<uint32_t>(2, est) : 1;
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
  config::SchemaSection s(schema, "detect.syn_flood");
  s.boolean("enabled", true, "Report sources that leave many TCP handshakes half-open (SYN flood)");
  s.integer("threshold", 200, 1, 100'000,
            "Half-open handshakes in the window that make a SYN flood: SYNs the target answered with a SYN-ACK "
            "that the source neither completed nor reset",
            "seed 004: syn_flood_threshold (SYN packets per source, counted forever; no default, set in config.ini)")
      .aggressive(int64_t{100})
      .paranoid(int64_t{50});
  s.duration("window", Duration::seconds(10), Duration::seconds(1), Duration::seconds(3600),
             "Sliding window over which SYNs, answers and completions are counted",
             "seed 004: none (its count never resets); use the maximum to come closest");
  s.number("max_completion_ratio", 0.2, 0.0, 1.0,
           "Report only while the source completed less than this share of its SYNs (1 = any share)",
           "seed 004: no such check; 1.0 turns it off")
      .aggressive(0.35)
      .paranoid(0.5);
  s.integer("capacity", 65'536, 1'024, 16'777'216,
            "Sources tracked per worker (about 200 bytes each); least recently seen go first, sources close to "
            "a finding are spared")
      .paranoid(int64_t{262'144});
  s.duration("update_interval", Duration::seconds(60), Duration::seconds(1), Duration::seconds(86'400),
             "While a flood goes on, at most one update of its finding per this interval");
}

std::unique_ptr<Detector> create(const config::Config& cfg) {
  if (!cfg.boolean("detect.syn_flood.enabled")) return nullptr;
  Settings s;
  s.threshold = static_cast<uint64_t>(cfg.integer("detect.syn_flood.threshold"));
  s.window = cfg.duration("detect.syn_flood.window");
  s.max_completion_ratio = cfg.number("detect.syn_flood.max_completion_ratio");
  s.capacity = static_cast<uint32_t>(cfg.integer("detect.syn_flood.capacity"));
  s.update_interval = cfg.duration("detect.syn_flood.update_interval");
  return std::make_unique<SynFloodDetector>(s);
}

}  // namespace picket::detect::syn_flood
