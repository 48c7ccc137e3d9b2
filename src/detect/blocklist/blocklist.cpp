#include "detect/blocklist/blocklist.hpp"

#include <array>
#include <new>

#include <fmt/format.h>

#include "detect/blocklist/blocklists.hpp"
#include "state/bounded_table.hpp"

namespace picket::detect::blocklist {

namespace {

using core::Duration;
using core::IpAddress;
using core::Timestamp;

constexpr std::string_view kName = "blocklist";
constexpr std::string_view kKindSource = "blocklisted_source";
constexpr std::string_view kKindDestination = "blocklisted_destination";
constexpr uint32_t kSidSource = 2'008'001;
constexpr uint32_t kSidDestination = 2'008'002;
constexpr size_t kSamplePorts = 4;

enum class Direction : uint8_t { from_listed = 0, to_listed = 1 };

struct RecordKey {
  IpAddress actor;
  IpAddress listed;
  Direction dir = Direction::from_listed;

  friend bool operator==(const RecordKey&, const RecordKey&) noexcept = default;
};

struct RecordKeyHash {
  uint64_t operator()(const RecordKey& k) const noexcept {
    return k.actor.hash() ^ (k.listed.hash() * 0x9E3779B97F4A7C15ULL) ^ static_cast<uint64_t>(k.dir);
  }
};

// What one (actor, listed address, direction) has done since its record opened.
struct Record {
  ReportState report;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  uint32_t entry = 0;
  IpAddress target;  // the other side of the first packet
  std::array<uint16_t, kSamplePorts> ports{};
  uint8_t port_count = 0;
  uint8_t proto = 0;
  bool mixed_proto = false;
  bool more_targets = false;
};

struct Settings {
  uint32_t capacity = 65'536;
  Duration update_interval = Duration::seconds(60);
  Duration idle_timeout = Duration::minutes(10);
};

class BlocklistDetector final : public Detector {
 public:
  BlocklistDetector(std::shared_ptr<const Blocklists> lists, const Settings& s)
      : lists_(std::move(lists)), settings_(s), table_(s.capacity) {}

  std::string_view name() const noexcept override { return kName; }

  // Every packet is looked up, unless there is nothing to look up in (the lists are fixed at
  // construction).
  Interest interest() const noexcept override {
    Interest i;
    i.packets = lists_->empty() ? 0 : interest::kEveryPacket;
    i.notices = false;
    return i;
  }

  void on_packet(const PacketContext& pkt, FindingSink& out) noexcept override {
    const core::PacketMeta& m = *pkt.meta;
    const uint32_t s = lists_->lookup(m.src);
    const uint32_t d = lists_->lookup(m.dst);
    if (s == Blocklists::kNoMatch && d == Blocklists::kNoMatch) [[likely]]
      return;
    if (s != Blocklists::kNoMatch) hit(pkt, m.src, m.dst, s, Direction::from_listed, out);
    if (d != Blocklists::kNoMatch) hit(pkt, m.dst, m.src, d, Direction::to_listed, out);
  }

  void on_tick(Timestamp now, FindingSink&) noexcept override { table_.expire_idle(now - settings_.idle_timeout); }

  DetectorStats stats() const noexcept override {
    DetectorStats st = table_stats(table_, findings_, lists_->memory_bytes());
    st.evictions_with_evidence = st.evictions;  // every record has been reported
    return st;
  }

 private:
  void hit(const PacketContext& pkt, const IpAddress& listed, const IpAddress& other, uint32_t entry, Direction dir,
           FindingSink& out) noexcept {
    const core::PacketMeta& m = *pkt.meta;
    auto [rec, fresh] = table_.find_or_insert(RecordKey{pkt.actor, listed, dir}, m.ts);
    if (fresh) {
      rec->first_ns = m.ts.ns;
      rec->entry = entry;
      rec->target = other;
      rec->proto = m.ip_proto;
    }
    ++rec->packets;
    rec->bytes += m.frame_len;
    if (m.ts.ns > rec->last_ns) rec->last_ns = m.ts.ns;
    if (other != rec->target) rec->more_targets = true;
    if (m.ip_proto != rec->proto) rec->mixed_proto = true;
    if (m.has(core::meta_flag::kHasPorts)) add_port(*rec, m.dst_port);
    if (!rec->report.due(m.ts, settings_.update_interval)) return;
    try {
      out.add(make_finding(listed, dir, *rec, m.ts));
      ++findings_;
    } catch (const std::bad_alloc&) {
      // Out of memory while reporting: the record stays; the next due report retries.
    }
  }

  static void add_port(Record& r, uint16_t port) noexcept {
    for (uint8_t i = 0; i < r.port_count; ++i) {
      if (r.ports[i] == port) return;
    }
    if (r.port_count < kSamplePorts) r.ports[r.port_count++] = port;
  }

  Finding make_finding(const IpAddress& listed, Direction dir, const Record& r, Timestamp now) const {
    const Blocklists::Entry& e = lists_->entry(r.entry);
    const std::string_view list = lists_->list(e.list).name;
    const bool from = dir == Direction::from_listed;
    Finding f;
    f.detector = kName;
    f.kind = from ? kKindSource : kKindDestination;
    f.ts = now;
    f.source = listed;
    f.target = r.target;
    if (r.port_count == 1) f.target_port = r.ports[0];
    f.proto = r.mixed_proto ? 0 : r.proto;
    f.severity = from ? Severity::high : Severity::medium;
    f.signature_id = from ? kSidSource : kSidDestination;
    f.update = r.report.is_update();
    f.signature = fmt::format("Traffic {} {} (blocklist {}: {})", from ? "from" : "to", listed.to_string(), list,
                              e.prefix.to_string());
    f.category = from ? "Misc Attack" : "Potentially Bad Traffic";
    auto& ev = f.evidence;
    ev["direction"] = from ? "inbound" : "outbound";
    ev["prefix"] = e.prefix.to_string();
    ev["list"] = list;
    ev["line"] = e.line;
    ev["packets"] = r.packets;
    ev["bytes"] = r.bytes;
    ev["window"] = Duration{r.last_ns - r.first_ns}.to_seconds();
    ev["first_seen"] = core::format_iso8601(Timestamp{r.first_ns});
    ev["last_seen"] = core::format_iso8601(Timestamp{r.last_ns});
    auto ports = nlohmann::ordered_json::array();
    for (uint8_t i = 0; i < r.port_count; ++i) ports.push_back(r.ports[i]);
    ev["ports"] = std::move(ports);
    ev["more_targets"] = r.more_targets;
    return f;
  }

  std::shared_ptr<const Blocklists> lists_;
  Settings settings_;
  state::BoundedTable<RecordKey, Record, RecordKeyHash> table_;
  uint64_t findings_ = 0;
};

}  // namespace

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "detect.blocklist");
  s.boolean("enabled", true, "Report traffic from or to addresses on the configured lists");
  s.string_list("files", {}, 256,
                "Address list files: one address, CIDR prefix or range per line, '#' and ';' comments "
                "(FireHOL netsets, Spamhaus DROP, plain IOC lists). Unreadable files and bad lines are "
                "reported at start-up and skipped",
                "seed 003: blacklisted_ips (a set in the script); seed 002: IOC matching (planned)");
  s.address_list("addresses", {}, 65'536, "Listed addresses and prefixes given inline (the list \"inline\")",
                 "seed 003: blacklisted_ips (a demo set in the script)");
  s.address_list("exempt", {}, 65'536,
                 "Addresses never reported even when a list holds them (your own networks: FireHOL level1 "
                 "lists the private ranges)");
  s.integer("capacity", 65'536, 16, 16'000'000,
            "Records of (actor, listed address, direction) remembered for deduplication");
  s.duration("update_interval", Duration::seconds(60), Duration::seconds(1), Duration::seconds(86'400),
             "While a listed address keeps talking, how often its finding is repeated with fresh counts")
      .aggressive(Duration::seconds(30))
      .paranoid(Duration::seconds(30));
  s.duration("idle_timeout", Duration::minutes(10), Duration::seconds(1), Duration::seconds(86'400),
             "A record silent this long ends; the next packet gives a new first report");
}

std::unique_ptr<Detector> create(const config::Config& cfg) {
  if (!cfg.boolean("detect.blocklist.enabled")) return nullptr;
  Settings s;
  s.capacity = static_cast<uint32_t>(cfg.integer("detect.blocklist.capacity"));
  s.update_interval = cfg.duration("detect.blocklist.update_interval");
  s.idle_timeout = cfg.duration("detect.blocklist.idle_timeout");
  std::shared_ptr<const Blocklists> lists;
  try {
    lists = load_lists(cfg);
  } catch (const std::bad_alloc&) {
    // The lists do not fit in memory: run without them rather than not at all; load_lists(cfg)
    // called by the app reports the same failure.
    lists = std::make_shared<const Blocklists>();
  }
  return std::make_unique<BlocklistDetector>(std::move(lists), s);
}

}  // namespace picket::detect::blocklist
