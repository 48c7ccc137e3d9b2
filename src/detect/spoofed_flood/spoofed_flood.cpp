#include "detect/spoofed_flood/spoofed_flood.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "detect/spoofed_flood/sketches.hpp"
#include "state/bounded_table.hpp"
#include "state/distinct.hpp"
#include "state/sliding_window.hpp"

namespace picket::detect::spoofed_flood {
namespace {

using core::Duration;
using core::Timestamp;
using Json = nlohmann::ordered_json;

constexpr std::string_view kName = "spoofed_flood";
constexpr std::string_view kKindSyn = "spoofed_flood";
constexpr std::string_view kKindUdp = "udp_flood";
constexpr uint32_t kSidSyn = 2'002'001;
constexpr uint32_t kSidUdp = 2'002'002;
constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

// The packet window is a ring of 8 buckets; heavy-hitter decay and handshake bitmaps age per
// bucket; the source sketch keeps 4 sub-windows.
constexpr size_t kBuckets = 8;
constexpr size_t kHllRing = 4;
constexpr int kHllBits = 11;  // 2048 registers: 2.3 % standard error
constexpr size_t kTopN = 4;
constexpr uint64_t kHllSalt = 0x5BD1E9955BD1E995ULL;

struct Settings {
  uint64_t threshold = 0;
  uint64_t udp_threshold = 0;
  uint64_t min_sources = 0;
  double max_per_source = 0;
  double max_top_share = 0;
  double max_completion = 0;
  Duration window;
  Duration update_interval;
  uint32_t capacity = 0;
  uint32_t busy_capacity = 0;

  static Settings from(const config::Config& cfg) {
    Settings s;
    s.threshold = static_cast<uint64_t>(cfg.integer("detect.spoofed_flood.threshold"));
    s.udp_threshold = static_cast<uint64_t>(cfg.integer("detect.spoofed_flood.udp_threshold"));
    s.min_sources = static_cast<uint64_t>(cfg.integer("detect.spoofed_flood.min_sources"));
    s.max_per_source = cfg.number("detect.spoofed_flood.max_per_source");
    s.max_top_share = cfg.number("detect.spoofed_flood.max_top_share");
    s.max_completion = cfg.number("detect.spoofed_flood.max_completion");
    s.window = cfg.duration("detect.spoofed_flood.window");
    s.update_interval = cfg.duration("detect.spoofed_flood.update_interval");
    s.capacity = static_cast<uint32_t>(cfg.integer("detect.spoofed_flood.capacity"));
    s.busy_capacity = static_cast<uint32_t>(cfg.integer("detect.spoofed_flood.busy_capacity"));
    return s;
  }
};

// A TCP target is (address, port); a UDP target is the address alone (port 0): UDP floods often
// spray random ports, and per-port keys would split them below any threshold.
struct TargetKey {
  core::IpAddress addr;
  uint16_t port = 0;
  uint8_t proto = 0;
  friend bool operator==(const TargetKey&, const TargetKey&) noexcept = default;
};
struct TargetKeyHash {
  uint64_t operator()(const TargetKey& k) const noexcept {
    return state::mix64(k.addr.hash() ^ (uint64_t{k.port} << 8 | k.proto));
  }
};

constexpr uint32_t kNoSketch = UINT32_MAX;

// Every target that receives SYNs or datagrams: a sliding packet count, and the index of its
// sketch once it is busy.
struct Target {
  state::SlidingWindow<kBuckets> packets;
  int64_t last_ns = 0;
  uint32_t sketch = kNoSketch;
  ReportState report;
};
// A busy target carries evidence: spare it when the table is full.
[[maybe_unused]] bool keep_on_eviction(const Target& t) noexcept {
  return t.sketch != kNoSketch;
}

// What is known about a busy target's sources (one per target past a quarter of its threshold).
struct Busy {
  TargetKey owner;
  bool in_use = false;
  int64_t since_ns = 0;      // the first packet it counted
  int64_t bucket_epoch = 0;  // the bucket the decaying parts were last aged to
  SlidingHll<kHllBits, kHllRing> sources;
  TopSources<kTopN> top;
  HandshakeMeter handshake;
  core::IpAddress span_base;  // the sources' smallest covering prefix: base and length
  int span_len = 0;
  state::DistinctBitmap<256> ports;  // UDP: destination ports
  uint16_t first_port = 0;
  bool has_port = false;
  bool one_port = true;

  void start(const TargetKey& key, Timestamp now, int64_t epoch) noexcept {
    owner = key;
    in_use = true;
    since_ns = now.ns;
    bucket_epoch = epoch;
    sources.clear();
    top.clear();
    handshake.clear();
    span_base = core::IpAddress{};
    span_len = 0;
    ports.clear();
    first_port = 0;
    has_port = false;
    one_port = true;
  }
  void age(int64_t epoch) noexcept {
    if (epoch <= bucket_epoch) return;
    top.decay(epoch - bucket_epoch);
    handshake.roll(epoch - bucket_epoch);
    bucket_epoch = epoch;
  }
};

double round_to(double v, double unit) {
  return std::round(v / unit) * unit;
}

class SpoofedFlood final : public Detector {
 public:
  explicit SpoofedFlood(const Settings& s)
      : s_(s), shape_(state::WindowShape::of(s.window, kBuckets)), table_(s.capacity) {
    hll_bucket_ns_ = std::max<int64_t>(1, s.window.ns / static_cast<int64_t>(kHllRing));
    busy_.resize(s.busy_capacity);
    free_.reserve(s.busy_capacity);
    for (uint32_t i = s.busy_capacity; i > 0; --i) free_.push_back(i - 1);
    table_.set_on_evict([this](const TargetKey&, Target& t) {
      if (t.sketch != kNoSketch) release(t.sketch);
    });
  }

  std::string_view name() const noexcept override { return kName; }

  void on_packet(const PacketContext& ctx, FindingSink&) noexcept override {
    const core::PacketMeta& m = *ctx.meta;
    if (ctx.probe == ProbeKind::syn) {
      count(TargetKey{m.dst, m.dst_port, kTcp}, m);
    } else if (ctx.probe == ProbeKind::udp) {
      // Only what the actor sends: a reply to a client's query is not traffic *to* a target.
      if (!ctx.from_actor || s_.udp_threshold == 0) return;
      count(TargetKey{m.dst, 0, kUdp}, m);
    } else if (tcp_busy_ != 0 && m.is_tcp() && m.has(core::meta_flag::kHasPorts) &&
               (m.tcp_flags & (core::tcp_flag::kSyn | core::tcp_flag::kRst | core::tcp_flag::kAck)) ==
                   core::tcp_flag::kAck) {
      on_ack(m);
    }
  }

  void on_tick(Timestamp now, FindingSink& out) noexcept override {
    table_.expire_idle(Timestamp{now.ns - s_.window.ns}, [this](const TargetKey&, Target& t) {
      if (t.sketch != kNoSketch) release(t.sketch);
    });
    uint64_t mask = ~uint64_t{0};
    for (uint32_t i = 0; i < busy_.size(); ++i) {
      Busy& b = busy_[i];
      if (!b.in_use) continue;
      Target* t = table_.peek(b.owner);
      if (t == nullptr) {  // cannot happen: eviction and expiry release first
        release(i);
        continue;
      }
      b.age(shape_.epoch(now));
      const uint64_t n = t->packets.sum(shape_, now);
      // Quiet again (well below where it became busy): the episode is over.
      if (n < busy_level(b.owner.proto) / 2) {
        t->sketch = kNoSketch;
        t->report = ReportState{};
        release(i);
        continue;
      }
      evaluate(b, *t, n, now, out);
      if (b.owner.proto == kTcp) mask = std::min(mask, b.handshake.sample_mask());
    }
    ack_mask_ = mask == ~uint64_t{0} ? 0 : mask;
  }

  DetectorStats stats() const noexcept override { return table_stats(table_, findings_, busy_.capacity() * sizeof(Busy) + free_.capacity() * sizeof(uint32_t)); }

 private:
  uint64_t threshold(uint8_t proto) const noexcept { return proto == kTcp ? s_.threshold : s_.udp_threshold; }
  // A target gets a sketch at a quarter of its threshold, so the sources are counted well before
  // the threshold is reached.
  uint64_t busy_level(uint8_t proto) const noexcept { return std::max<uint64_t>(1, threshold(proto) / 4); }
  int64_t hll_epoch(Timestamp t) const noexcept { return t.ns / hll_bucket_ns_; }

  void count(const TargetKey& key, const core::PacketMeta& m) noexcept {
    Target* t = table_.find_or_insert(key, m.ts).first;
    t->packets.add(shape_, m.ts);
    t->last_ns = std::max(t->last_ns, m.ts.ns);
    if (t->sketch == kNoSketch) {
      if (t->packets.sum(shape_, m.ts) < busy_level(key.proto)) return;
      t->sketch = acquire(key, m.ts);
      if (t->sketch == kNoSketch) return;
    }
    Busy& b = busy_[t->sketch];
    b.age(shape_.epoch(m.ts));
    if (key.proto == kTcp) ack_mask_ = std::min(ack_mask_, b.handshake.sample_mask());
    b.sources.add(hll_epoch(m.ts), state::mix64(m.src.hash() ^ kHllSalt));
    b.top.add(m.src);
    if (b.span_base.empty()) {
      b.span_base = m.src;
      b.span_len = m.src.bit_width();
    } else {
      b.span_len = std::min(b.span_len, common_prefix_len(b.span_base, m.src));
    }
    if (key.proto == kTcp) {
      b.handshake.on_syn(HandshakeMeter::fingerprint(m.src, m.src_port, m.dst_port, m.tcp_seq + 1));
    } else {
      b.ports.add(m.dst_port);
      if (!b.has_port) {
        b.first_port = m.dst_port;
        b.has_port = true;
      } else if (m.dst_port != b.first_port) {
        b.one_port = false;
      }
    }
  }

  void on_ack(const core::PacketMeta& m) noexcept {
    const uint64_t fp = HandshakeMeter::fingerprint(m.src, m.src_port, m.dst_port, m.tcp_seq);
    if ((fp & ack_mask_) != 0) return;  // not sampled by any busy target: skip the lookup
    Target* t = table_.peek(TargetKey{m.dst, m.dst_port, kTcp});
    if (t == nullptr || t->sketch == kNoSketch) return;
    Busy& b = busy_[t->sketch];
    b.age(shape_.epoch(m.ts));
    b.handshake.on_ack(fp);
  }

  uint32_t acquire(const TargetKey& key, Timestamp now) noexcept {
    if (free_.empty()) return kNoSketch;  // every sketch in use: judged once one frees up
    const uint32_t i = free_.back();
    free_.pop_back();
    busy_[i].start(key, now, shape_.epoch(now));
    if (key.proto == kTcp) {
      ++tcp_busy_;
      ack_mask_ = 0;  // a fresh meter samples every SYN until its level adapts
    }
    return i;
  }

  void release(uint32_t i) noexcept {
    Busy& b = busy_[i];
    if (!b.in_use) return;
    b.in_use = false;
    if (b.owner.proto == kTcp) --tcp_busy_;
    free_.push_back(i);
  }

  void evaluate(Busy& b, Target& t, uint64_t n, Timestamp now, FindingSink& out) noexcept {
    const bool tcp = b.owner.proto == kTcp;
    if (n < threshold(b.owner.proto)) return;
    // Cheapest tests first: a busy legitimate server fails on completion every tick.
    // Unknown completion (the target became busy less than a sub-window ago): wait for it.
    const double completion = tcp ? b.handshake.completion() : -1.0;
    if (tcp && (completion < 0 || completion > s_.max_completion)) return;
    if (b.top.top_share() > s_.max_top_share) return;
    // Reported within update_interval: nothing to say until then (the estimate below walks every
    // register of the sketch, and a flood under way is evaluated each tick).
    if (!t.report.would_be_due(now, s_.update_interval)) return;
    const uint64_t distinct = b.sources.estimate(hll_epoch(now));
    const double per_source = static_cast<double>(n) / static_cast<double>(std::max<uint64_t>(distinct, 1));
    if (distinct < s_.min_sources || per_source > s_.max_per_source) return;
    if (!t.report.due(now, s_.update_interval)) return;
    try {
      out.add(make_finding(b, t, n, distinct, per_source, completion, now));
      ++findings_;
    } catch (...) {
      // Out of memory while building the finding: drop it rather than leave the packet path.
    }
  }

  Finding make_finding(const Busy& b, const Target& t, uint64_t n, uint64_t distinct, double per_source,
                       double completion, Timestamp now) const {
    const bool tcp = b.owner.proto == kTcp;
    const double secs = s_.window.to_seconds();
    Finding f;
    f.detector = kName;
    f.kind = tcp ? kKindSyn : kKindUdp;
    f.ts = now;
    f.target = b.owner.addr;
    if (tcp) {
      f.target_port = b.owner.port;
    } else if (b.one_port) {
      f.target_port = b.first_port;
    }
    f.proto = b.owner.proto;
    f.severity = Severity::high;
    f.signature_id = tcp ? kSidSyn : kSidUdp;
    f.update = t.report.is_update();
    f.aggregate = true;
    const std::string where =
        f.target_port ? fmt::format("{} port {}", f.target.to_string(), *f.target_port) : f.target.to_string();
    f.signature = fmt::format("{} against {}: {} {} in {:g} s from about {} sources, {:.1f} per source",
                              tcp ? "Spoofed SYN flood" : "Spoofed UDP flood", where, n, tcp ? "SYNs" : "datagrams",
                              secs, distinct, per_source);
    f.category = "Attempted Denial of Service";

    Json e;
    e["packets"] = n;
    e["window"] = secs;
    e["rate_pps"] = round_to(static_cast<double>(n) / secs, 0.1);
    e["distinct_sources"] = distinct;
    e["packets_per_source"] = round_to(per_source, 0.01);
    const auto* top = b.top.top();
    if (top != nullptr) {
      e["top_source"] = top->addr.to_string();
      e["top_source_packets"] = top->lower_bound();
    } else {
      e["top_source"] = nullptr;
      e["top_source_packets"] = 0;
    }
    e["top_source_share"] = round_to(b.top.top_share(), 0.001);
    std::vector<core::IpAddress> sample;
    for (const auto& h : b.top.hitters()) {
      if (h.count != 0) sample.push_back(h.addr);
    }
    std::sort(sample.begin(), sample.end());
    Json samples = Json::array();
    for (const auto& a : sample) samples.push_back(a.to_string());
    e["sample_sources"] = std::move(samples);
    if (!b.span_base.empty()) {
      e["source_span"] = core::Prefix(b.span_base, b.span_len).to_string();
    } else {
      e["source_span"] = nullptr;
    }
    if (tcp) {
      e["handshake_completion"] = round_to(completion, 0.001);
      e["handshake_samples"] = b.handshake.judged_syns();
    } else {
      e["distinct_ports"] = b.ports.estimate();
    }
    e["first_seen"] = core::format_iso8601(Timestamp{b.since_ns});
    e["last_seen"] = core::format_iso8601(Timestamp{t.last_ns});
    f.evidence = std::move(e);
    return f;
  }

  Settings s_;
  state::WindowShape shape_;
  int64_t hll_bucket_ns_ = 1;
  state::BoundedTable<TargetKey, Target, TargetKeyHash> table_;
  std::vector<Busy> busy_;
  std::vector<uint32_t> free_;
  uint32_t tcp_busy_ = 0;
  uint64_t ack_mask_ = 0;
  uint64_t findings_ = 0;
};

}  // namespace

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "detect.spoofed_flood");
  s.boolean("enabled", true, "Report one target flooded from very many sources, each below any per-source limit");
  s.integer("threshold", 2000, 1, 1'000'000'000,
            "SYNs to one address and port within `window` before the flood is judged",
            "seed 004: syn_flood_threshold counts one source (see syn_flood); this is its many-source side")
      .aggressive(int64_t{1000})
      .paranoid(int64_t{500});
  s.integer("udp_threshold", 10'000, 0, 1'000'000'000,
            "UDP datagrams to one address (any port) within `window` before it is judged; 0 turns UDP off")
      .aggressive(int64_t{5000})
      .paranoid(int64_t{2000});
  s.integer("min_sources", 200, 2, 1'000'000'000, "Distinct sources (estimated) a flood needs")
      .aggressive(int64_t{100})
      .paranoid(int64_t{50});
  s.number("max_per_source", 3.0, 0.1, 1'000'000.0,
           "Mean packets per source at most this: the load is spread thin, as forged sources spread it")
      .aggressive(4.0)
      .paranoid(5.0);
  s.number("max_top_share", 0.5, 0.0, 1.0,
           "The busiest source's share of the packets (a guaranteed lower bound) at most this; above it, "
           "one flooder with a few extra addresses (syn_flood reports it)");
  s.number("max_completion", 0.5, 0.0, 1.0,
           "Share of sampled SYNs whose handshake completed at most this; a busy legitimate server "
           "completes nearly all of them. Judged on SYNs at least one sub-window (window/8) old, so a "
           "flood is reported about window/8 after it starts")
      .aggressive(0.6)
      .paranoid(0.7);
  s.duration("window", Duration::seconds(10), Duration::seconds(1), Duration::seconds(3600),
             "Sliding window the packets and sources are counted over");
  s.integer("capacity", 16'384, 16, 64'000'000,
            "Targets (address and port) tracked; about 136 bytes each. When full, the least recently "
            "seen goes, busy ones last")
      .paranoid(int64_t{65'536});
  s.integer("busy_capacity", 64, 1, 65'536,
            "Targets watched closely at once (past a quarter of their threshold): source sketch, top "
            "sources, handshake sampling; about 8.5 KiB each")
      .paranoid(int64_t{256});
  s.duration("update_interval", Duration::seconds(60), Duration::seconds(1), Duration::seconds(86'400),
             "While a flood lasts, how often its finding is repeated with fresh evidence");
}

std::unique_ptr<Detector> create(const config::Config& cfg) {
  if (!cfg.boolean("detect.spoofed_flood.enabled")) return nullptr;
  return std::make_unique<SpoofedFlood>(Settings::from(cfg));
}

}  // namespace picket::detect::spoofed_flood
