// subnet_conn from the connection table (feeds.hpp).
#include <algorithm>
#include <array>
#include <bitset>
#include <vector>

#include "detect/conn_table/feeds.hpp"
#include "state/bounded_table.hpp"

namespace picket::detect::conn_table {

namespace {

using core::Duration;
using core::IpAddress;
using core::Prefix;
using core::Timestamp;

constexpr std::string_view kName = "conn_table.subnet_conn";
constexpr std::string_view kDetector = "subnet_conn";
constexpr std::string_view kKindImmediate = "subnet_conn";
constexpr std::string_view kKindPersistent = "subnet_conn_persistent";
constexpr uint32_t kSignatureImmediate = 2'004'001;  // the packet detector's: the same findings
constexpr uint32_t kSignaturePersistent = 2'004'002;
constexpr uint32_t kMaxHistory = 20;  // detect.subnet_conn.history_window's upper bound
constexpr size_t kTopAddresses = 3;
constexpr size_t kSamplePorts = 4;
constexpr size_t kMaxErasePerSnapshot = 4096;

struct Settings {
  int prefix_v4 = 24;
  int prefix_v6 = 64;
  uint64_t threshold = 60;
  uint32_t history_window = 5;
  uint64_t persistent_threshold = 250;
  uint32_t capacity = 65'536;
  Duration update_interval = Duration::seconds(60);
  Duration interval = Duration::seconds(5);  // conn.interval: one sample per snapshot
};

struct PrefixHash {
  uint64_t operator()(const Prefix& p) const noexcept {
    return p.address().hash() ^ (static_cast<uint64_t>(p.length()) * 0x9E3779B97F4A7C15ULL);
  }
};

struct PrefixState {
  uint64_t sampled = 0;         // newest snapshot number written to history
  uint64_t immediate_hit = 0;   // last snapshot over threshold
  uint64_t persistent_hit = 0;  // last snapshot over persistent_threshold
  ReportState immediate;
  ReportState persistent;
  int64_t first_seen_ns = 0;
  std::array<uint32_t, kMaxHistory> history{};  // ring indexed by snapshot % history_window
};

static_assert(sizeof(PrefixState) <= 144);  // NOTES.md quotes it

bool keep_on_eviction(const PrefixState& s) noexcept {
  return s.immediate.reported() || s.persistent.reported() ||
         std::any_of(s.history.begin(), s.history.end(), [](uint32_t v) { return v != 0; });
}

// One ESTABLISHED connection of the snapshot.
struct Item {
  Prefix prefix;
  IpAddress remote;
  uint16_t server_port = 0;
};

// The snapshot's connections of one prefix.
struct Group {
  Prefix prefix;
  uint32_t connections = 0;
  uint32_t addresses = 0;
  std::array<std::pair<uint32_t, IpAddress>, kTopAddresses> top{};  // (connections, address), 0 = free
  std::array<uint16_t, kSamplePorts> ports{};
  uint8_t port_count = 0;
};

class SubnetFeed final : public SnapshotDetector {
 public:
  explicit SubnetFeed(const Settings& s) : settings_(s), table_(s.capacity) {
    dead_.reserve(std::min<size_t>(kMaxErasePerSnapshot, s.capacity));
  }

  std::string_view name() const noexcept override { return kName; }

  void on_snapshot(const conn::Snapshot& s, FindingSink& out) noexcept override {
    try {
      ++snapshot_;
      group(s);
      sample(s.taken_at);
      judge_all(s.taken_at, out);
    } catch (...) {
      // Out of memory on a huge snapshot: this sample is lost, the history stays consistent
      // (the next snapshot writes zeros over what this one missed).
    }
  }

  DetectorStats stats() const noexcept override { return table_stats(table_, findings_, dead_.capacity() * sizeof(Prefix)); }

 private:
  // The snapshot's ESTABLISHED TCP connections, grouped by remote prefix (sorted: deterministic,
  // exact evidence).
  void group(const conn::Snapshot& s) {
    listening_.reset();
    for (const conn::Socket& k : s.sockets) {
      if (k.proto == conn::kProtoTcp && k.state == conn::tcp_state::kListen) listening_.set(k.local_port);
    }
    items_.clear();
    for (const conn::Socket& k : s.sockets) {
      if (k.proto != conn::kProtoTcp || k.state != conn::tcp_state::kEstablished) continue;
      if (k.remote.empty() || local_peer(k)) continue;
      const int len = k.remote.is_v6() ? settings_.prefix_v6 : settings_.prefix_v4;
      // Accepted (our port listens): the server port is ours; else it is the peer's.
      const uint16_t server = listening_.test(k.local_port) ? k.local_port : k.remote_port;
      items_.push_back(Item{Prefix(k.remote, len), k.remote, server});
    }
    std::sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
      if (a.prefix != b.prefix) return a.prefix < b.prefix;
      return a.remote < b.remote;
    });
    groups_.clear();
    for (size_t i = 0; i < items_.size();) {
      Group g;
      g.prefix = items_[i].prefix;
      size_t j = i;
      while (j < items_.size() && items_[j].prefix == g.prefix) {
        size_t k = j;
        while (k < items_.size() && items_[k].prefix == g.prefix && items_[k].remote == items_[j].remote) {
          add_port(g, items_[k].server_port);
          ++k;
        }
        add_top(g, static_cast<uint32_t>(k - j), items_[j].remote);
        ++g.addresses;
        g.connections += static_cast<uint32_t>(k - j);
        j = k;
      }
      groups_.push_back(g);
      i = j;
    }
  }

  static void add_port(Group& g, uint16_t port) noexcept {
    if (g.port_count >= kSamplePorts) return;
    if (std::find(g.ports.begin(), g.ports.begin() + g.port_count, port) != g.ports.begin() + g.port_count) return;
    g.ports[g.port_count++] = port;
  }

  // Keeps the addresses with the most connections; among equals the lower addresses, which come
  // first (the items are sorted).
  static void add_top(Group& g, uint32_t n, const IpAddress& a) noexcept {
    auto* victim = &g.top[0];
    for (auto& t : g.top) {
      if (t.first < victim->first || (t.first == victim->first && victim->second < t.second)) victim = &t;
    }
    if (n > victim->first) *victim = {n, a};
  }

  // Writes zeros for the snapshots an entry missed, up to and including `to`.
  void catch_up(PrefixState& s, uint64_t to) const noexcept {
    if (to <= s.sampled) return;
    const uint32_t h = settings_.history_window;
    const uint64_t n = std::min<uint64_t>(to - s.sampled, h);
    for (uint64_t k = 0; k < n; ++k) s.history[(to - k) % h] = 0;
    s.sampled = to;
  }

  void sample(Timestamp now) {
    const uint32_t h = settings_.history_window;
    for (const Group& g : groups_) {
      auto [s, fresh] = table_.find_or_insert(g.prefix, now);
      if (fresh) {
        *s = PrefixState{};
        s->first_seen_ns = now.ns;
        s->sampled = snapshot_ - 1;  // every earlier snapshot held nothing of it
      }
      catch_up(*s, snapshot_ - 1);
      s->history[snapshot_ % h] = g.connections;
      s->sampled = snapshot_;
    }
  }

  void judge_all(Timestamp now, FindingSink& out) {
    const uint32_t h = settings_.history_window;
    dead_.clear();
    table_.for_each([&](const Prefix& key, PrefixState& s, Timestamp) {
      catch_up(s, snapshot_);
      const uint32_t value = s.history[snapshot_ % h];
      uint64_t sum = 0;
      for (uint32_t k = 0; k < h; ++k) sum += s.history[k];
      const bool over = value > settings_.threshold;
      const bool persistent = sum > settings_.persistent_threshold;
      if (over) s.immediate_hit = snapshot_;
      if (persistent) s.persistent_hit = snapshot_;
      // An episode ends once its condition has not held for a whole history window.
      if (s.immediate.reported() && snapshot_ - s.immediate_hit >= h) s.immediate = ReportState{};
      if (s.persistent.reported() && snapshot_ - s.persistent_hit >= h) s.persistent = ReportState{};
      if (over && s.immediate.due(now, settings_.update_interval)) report(key, s, kKindImmediate, value, sum, now, out);
      if (persistent && s.persistent.due(now, settings_.update_interval)) {
        report(key, s, kKindPersistent, value, sum, now, out);
      }
      if (sum == 0 && !s.immediate.reported() && !s.persistent.reported() && dead_.size() < dead_.capacity()) {
        dead_.push_back(key);
      }
    });
    for (const Prefix& p : dead_) table_.erase(p);
  }

  void report(const Prefix& prefix, const PrefixState& s, std::string_view kind, uint32_t value, uint64_t sum,
              Timestamp now, FindingSink& out) {
    const bool immediate = kind == kKindImmediate;
    const uint32_t h = settings_.history_window;
    const auto g = std::lower_bound(groups_.begin(), groups_.end(), prefix,
                                    [](const Group& x, const Prefix& p) { return x.prefix < p; });
    const Group* group = g != groups_.end() && g->prefix == prefix ? &*g : nullptr;
    Finding f;
    f.detector = kDetector;
    f.kind = kind;
    f.ts = now;
    f.source_prefix = prefix;
    if (group != nullptr && group->port_count == 1) f.target_port = group->ports[0];
    f.proto = conn::kProtoTcp;
    f.severity = immediate ? Severity::high : Severity::medium;
    f.signature_id = immediate ? kSignatureImmediate : kSignaturePersistent;
    f.update = (immediate ? s.immediate : s.persistent).is_update();
    f.signature = immediate ? "Subnet connections: too many established TCP connections from one subnet"
                            : "Subnet connections: many established TCP connections from one subnet, interval "
                              "after interval";
    f.category = "Attempted Denial of Service";
    const double interval_s = settings_.interval.to_seconds();
    auto& e = f.evidence;
    e["source"] = "conn_table";
    e["established"] = value;
    auto history = nlohmann::ordered_json::array();
    for (uint32_t k = 1; k <= h; ++k) history.push_back(s.history[(snapshot_ + k) % h]);  // oldest first
    e["history"] = std::move(history);
    e["sum"] = sum;
    e["threshold"] = settings_.threshold;
    e["persistent_threshold"] = settings_.persistent_threshold;
    e["history_window"] = h;
    e["interval"] = interval_s;
    e["window"] = interval_s * h;
    e["addresses"] = group != nullptr ? group->addresses : 0;
    auto tops = nlohmann::ordered_json::array();
    auto ports = nlohmann::ordered_json::array();
    if (group != nullptr) {
      auto top = group->top;
      std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      for (const auto& [n, a] : top) {
        if (n != 0) tops.push_back({{"address", a.to_string()}, {"connections", n}});
      }
      for (uint8_t i = 0; i < group->port_count; ++i) ports.push_back(group->ports[i]);
    }
    e["top_addresses"] = std::move(tops);
    e["ports"] = std::move(ports);
    e["first_seen"] = core::format_iso8601(Timestamp{s.first_seen_ns});
    e["last_seen"] = core::format_iso8601(now);
    out.add(std::move(f));
    ++findings_;
  }

  Settings settings_;
  state::BoundedTable<Prefix, PrefixState, PrefixHash> table_;
  uint64_t snapshot_ = 0;  // snapshots seen; the sample number
  uint64_t findings_ = 0;
  // Scratch, reused between snapshots (bounded by the snapshot's size).
  std::bitset<65'536> listening_;
  std::vector<Item> items_;
  std::vector<Group> groups_;
  std::vector<Prefix> dead_;
};

}  // namespace

bool local_peer(const conn::Socket& s) noexcept {
  const IpAddress& r = s.remote;
  if (r.is_v4() && r.bytes()[0] == 127) return true;
  if (r.is_v6()) {
    static const IpAddress kLoopback6 = *IpAddress::parse("::1");
    if (r == kLoopback6) return true;
  }
  return r == s.local;
}

std::unique_ptr<SnapshotDetector> make_subnet_feed(const config::Config& cfg) {
  if (!cfg.boolean("detect.subnet_conn.enabled") || !cfg.boolean("detect.subnet_conn.from_conn_table")) return nullptr;
  Settings s;
  s.prefix_v4 = static_cast<int>(cfg.integer("detect.subnet_conn.prefix_v4"));
  s.prefix_v6 = static_cast<int>(cfg.integer("detect.subnet_conn.prefix_v6"));
  s.threshold = static_cast<uint64_t>(cfg.integer("detect.subnet_conn.threshold"));
  s.history_window = static_cast<uint32_t>(
      std::clamp<int64_t>(cfg.integer("detect.subnet_conn.history_window"), 1, int64_t{kMaxHistory}));
  s.persistent_threshold = static_cast<uint64_t>(cfg.integer("detect.subnet_conn.persistent_threshold"));
  s.capacity = static_cast<uint32_t>(cfg.integer("detect.subnet_conn.capacity"));
  s.update_interval = cfg.duration("detect.subnet_conn.update_interval");
  s.interval = cfg.duration("conn.interval");
  return std::make_unique<SubnetFeed>(s);
}

}  // namespace picket::detect::conn_table
