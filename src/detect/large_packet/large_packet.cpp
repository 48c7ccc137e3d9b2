#include "detect/large_packet/large_packet.hpp"

#include <array>
#include <new>

#include <fmt/format.h>

#include "state/bounded_table.hpp"
#include "state/sliding_window.hpp"

namespace picket::detect::large_packet {

namespace {

using core::Duration;
using core::IpAddress;
using core::Timestamp;

constexpr std::string_view kName = "large_packet";
constexpr std::string_view kKind = "large_packet";
constexpr uint32_t kSid = 2'007'001;
constexpr size_t kBuckets = 6;
constexpr size_t kSamples = 4;

// One sender's current episode of large frames.
struct Sender {
  state::SlidingWindow<kBuckets> window;  // large frames
  ReportState report;
  uint64_t bytes = 0;    // of the episode's large frames
  int64_t first_ns = 0;  // episode start
  int64_t last_ns = 0;
  uint32_t frames = 0;  // large frames in the episode (saturating)
  uint32_t max_size = 0;
  std::array<uint32_t, kSamples> sizes{};  // the episode's first sizes
  std::array<uint16_t, kSamples> ports{};  // distinct destination ports, first seen
  IpAddress target;                        // the first frame's destination
  uint8_t size_count = 0;
  uint8_t port_count = 0;
  uint8_t proto = 0;
  bool mixed_proto = false;
  bool more_targets = false;
};

// A sender already reported is spared at eviction (a flood of new senders must not make it
// start over with a fresh first report).
bool keep_on_eviction(const Sender& s) noexcept {
  return s.report.reported();
}

struct Settings {
  uint32_t max_packet_size = 1522;
  uint32_t min_frames = 1;
  Duration window = Duration::seconds(60);
  Duration update_interval = Duration::seconds(60);
  uint32_t capacity = 65'536;
};

class LargePacketDetector final : public Detector {
 public:
  explicit LargePacketDetector(const Settings& s)
      : settings_(s), shape_(state::WindowShape::of(s.window, kBuckets)), table_(s.capacity) {}

  std::string_view name() const noexcept override { return kName; }

  Interest interest() const noexcept override {
    Interest i;
    i.packets = interest::kLargeFromActor;
    i.large_frame = settings_.max_packet_size;
    i.notices = false;
    return i;
  }

  void on_packet(const PacketContext& pkt, FindingSink& out) noexcept override {
    const core::PacketMeta& m = *pkt.meta;
    if (m.frame_len <= settings_.max_packet_size || !pkt.from_actor) [[likely]]
      return;
    auto [s, fresh] = table_.find_or_insert(pkt.actor, m.ts);
    // An episode ends when the window empties; the tick's expiry may not have run yet.
    if (!fresh && m.ts.ns - s->last_ns > shape_.window().ns) {
      *s = Sender{};
      fresh = true;
    }
    if (fresh) {
      s->first_ns = m.ts.ns;
      s->target = m.dst;
      s->proto = m.ip_proto;
    }
    s->window.add(shape_, m.ts);
    if (s->frames != UINT32_MAX) ++s->frames;
    s->bytes += m.frame_len;
    if (m.ts.ns > s->last_ns) s->last_ns = m.ts.ns;
    if (m.frame_len > s->max_size) s->max_size = m.frame_len;
    if (s->size_count < kSamples) s->sizes[s->size_count++] = m.frame_len;
    if (m.dst != s->target) s->more_targets = true;
    if (m.ip_proto != s->proto) s->mixed_proto = true;
    if (m.has(core::meta_flag::kHasPorts)) add_port(*s, m.dst_port);
    const uint64_t in_window = s->window.sum(shape_, m.ts);
    if (in_window < settings_.min_frames || !s->report.due(m.ts, settings_.update_interval)) return;
    try {
      out.add(make_finding(pkt.actor, *s, in_window, m.ts));
      ++findings_;
    } catch (const std::bad_alloc&) {
      // Out of memory while reporting: the next due report retries.
    }
  }

  void on_tick(Timestamp now, FindingSink&) noexcept override { table_.expire_idle(now - shape_.window()); }

  DetectorStats stats() const noexcept override { return table_stats(table_, findings_); }

 private:
  static void add_port(Sender& s, uint16_t port) noexcept {
    for (uint8_t i = 0; i < s.port_count; ++i) {
      if (s.ports[i] == port) return;
    }
    if (s.port_count < kSamples) s.ports[s.port_count++] = port;
  }

  Finding make_finding(const IpAddress& source, const Sender& s, uint64_t in_window, Timestamp now) const {
    Finding f;
    f.detector = kName;
    f.kind = kKind;
    f.ts = now;
    f.source = source;
    f.target = s.target;
    if (s.port_count == 1 && !s.mixed_proto) f.target_port = s.ports[0];
    f.proto = s.mixed_proto ? 0 : s.proto;
    f.severity = Severity::low;
    f.signature_id = kSid;
    f.update = s.report.is_update();
    f.signature = fmt::format("Frames larger than {} bytes from {} (largest {} bytes)", settings_.max_packet_size,
                              source.to_string(), s.max_size);
    f.category = "Potentially Bad Traffic";
    auto& ev = f.evidence;
    ev["large_frames"] = in_window;
    ev["window"] = shape_.window().to_seconds();
    ev["threshold"] = settings_.max_packet_size;
    ev["max_size"] = s.max_size;
    auto sizes = nlohmann::ordered_json::array();
    for (uint8_t i = 0; i < s.size_count; ++i) sizes.push_back(s.sizes[i]);
    ev["sizes"] = std::move(sizes);
    ev["frames_total"] = s.frames;
    ev["bytes_total"] = s.bytes;
    ev["first_seen"] = core::format_iso8601(Timestamp{s.first_ns});
    ev["last_seen"] = core::format_iso8601(Timestamp{s.last_ns});
    auto ports = nlohmann::ordered_json::array();
    for (uint8_t i = 0; i < s.port_count; ++i) ports.push_back(s.ports[i]);
    ev["ports"] = std::move(ports);
    ev["more_targets"] = s.more_targets;
    return f;
  }

  Settings settings_;
  state::WindowShape shape_;
  state::BoundedTable<IpAddress, Sender, core::IpAddressHash> table_;
  uint64_t findings_ = 0;
};

}  // namespace

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "detect.large_packet");
  s.boolean("enabled", true, "Report senders of frames longer than max_packet_size");
  // The threshold is a property of the network (its MTU), not of how suspicious one is, so every
  // profile uses the same: 1522 = 1500 bytes of IP + Ethernet header + two VLAN tags (SLL and
  // SLL2 captures add 16 and 20), the largest frame an ordinary 1500-MTU network carries.
  s.integer("max_packet_size", 1522, 64, 262'144,
            "Frames longer than this many bytes on the wire (link header included, FCS excluded, as "
            "captured) are large. Set 9022 on a jumbo-frame network",
            "seed 004: max_packet_size (config.ini; the seed leaves the value to the user)");
  s.integer("min_frames", 1, 1, 1'000'000, "Large frames within the window before the sender is reported",
            "seed 004: any one large packet is logged");
  s.duration("window", Duration::seconds(60), Duration::seconds(1), Duration::seconds(3600),
             "Sliding window the large frames are counted in; once it empties, the next large frame starts "
             "a new report");
  s.duration("update_interval", Duration::seconds(60), Duration::seconds(1), Duration::seconds(86'400),
             "Reports per sender are rate-limited to one per interval: the first, then updates with fresh "
             "counts while large frames keep coming")
      .aggressive(Duration::seconds(30))
      .paranoid(Duration::seconds(30));
  s.integer("capacity", 65'536, 16, 16'000'000, "Senders of large frames tracked at once");
}

std::unique_ptr<Detector> create(const config::Config& cfg) {
  if (!cfg.boolean("detect.large_packet.enabled")) return nullptr;
  Settings s;
  s.max_packet_size = static_cast<uint32_t>(cfg.integer("detect.large_packet.max_packet_size"));
  s.min_frames = static_cast<uint32_t>(cfg.integer("detect.large_packet.min_frames"));
  s.window = cfg.duration("detect.large_packet.window");
  s.update_interval = cfg.duration("detect.large_packet.update_interval");
  s.capacity = static_cast<uint32_t>(cfg.integer("detect.large_packet.capacity"));
  return std::make_unique<LargePacketDetector>(s);
}

}  // namespace picket::detect::large_packet
