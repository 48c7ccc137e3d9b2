// blocklist from the connection table (feeds.hpp).
#include <bitset>
#include <vector>

#include <fmt/format.h>

#include "detect/conn_table/feeds.hpp"
#include "state/bounded_table.hpp"

namespace picket::detect::conn_table {

namespace {

using blocklist::Blocklists;
using core::Duration;
using core::IpAddress;
using core::Timestamp;

constexpr std::string_view kName = "conn_table.blocklist";
constexpr std::string_view kDetector = "blocklist";
constexpr std::string_view kKind = "blocklisted_connection";
constexpr uint32_t kSignature = 2'008'003;

struct Settings {
  uint32_t capacity = 65'536;
  Duration update_interval = Duration::seconds(60);
};

struct RecordKey {
  IpAddress remote;
  int32_t pid = -1;
  friend bool operator==(const RecordKey&, const RecordKey&) noexcept = default;
};

struct RecordKeyHash {
  uint64_t operator()(const RecordKey& k) const noexcept {
    return k.remote.hash() ^ (static_cast<uint64_t>(static_cast<uint32_t>(k.pid)) * 0x9E3779B97F4A7C15ULL);
  }
};

// One (listed remote, process) while a socket between them exists.
struct Record {
  ReportState report;
  uint64_t snapshot = 0;  // the last snapshot holding such a socket
  int64_t first_ns = 0;
  uint32_t entry = 0;    // the list entry
  uint32_t sockets = 0;  // in that snapshot
  // The first such socket of that snapshot.
  IpAddress local;
  uint16_t local_port = 0, remote_port = 0;
  uint8_t proto = 0, state = 0;
  uint32_t uid = 0;
  uint32_t process = 0;  // index into that snapshot's process_names
  bool inbound = false;
};

static_assert(sizeof(Record) <= 80);  // NOTES.md quotes it

bool keep_on_eviction(const Record& r) noexcept {
  return r.report.reported();
}

class BlocklistFeed final : public SnapshotDetector {
 public:
  BlocklistFeed(std::shared_ptr<const Blocklists> lists, const Settings& s)
      : lists_(std::move(lists)), settings_(s), table_(s.capacity) {}

  std::string_view name() const noexcept override { return kName; }

  void on_snapshot(const conn::Snapshot& s, FindingSink& out) noexcept override {
    try {
      ++snapshot_;
      match(s);
      report(s, out);
    } catch (...) {
      // Out of memory while reporting: records stay, the next snapshot retries what is due.
    }
  }

  DetectorStats stats() const noexcept override { return table_stats(table_, findings_); }

 private:
  static bool unspecified(const IpAddress& a) noexcept {
    for (uint8_t b : a.bytes()) {
      if (b != 0) return false;
    }
    return true;
  }

  void match(const conn::Snapshot& s) {
    listening_.reset();
    for (const conn::Socket& k : s.sockets) {
      if (k.proto == conn::kProtoTcp && k.state == conn::tcp_state::kListen) listening_.set(k.local_port);
    }
    for (const conn::Socket& k : s.sockets) {
      // An unconnected socket's zero peer is no peer (FireHOL level1 lists 0.0.0.0/8).
      if (k.remote.empty() || unspecified(k.remote)) continue;
      const uint32_t entry = lists_->lookup(k.remote);
      if (entry == Blocklists::kNoMatch) [[likely]]
        continue;
      auto [r, fresh] = table_.find_or_insert(RecordKey{k.remote, k.pid}, s.taken_at);
      if (fresh) {
        *r = Record{};
        r->first_ns = s.taken_at.ns;
      }
      if (r->snapshot != snapshot_) {
        r->snapshot = snapshot_;
        r->sockets = 0;
        r->entry = entry;
        r->local = k.local;
        r->local_port = k.local_port;
        r->remote_port = k.remote_port;
        r->proto = k.proto;
        r->state = k.state;
        r->uid = k.uid;
        r->process = k.process;
        r->inbound = k.proto == conn::kProtoTcp && listening_.test(k.local_port);
      }
      ++r->sockets;
    }
  }

  void report(const conn::Snapshot& s, FindingSink& out) {
    ended_.clear();
    table_.for_each([&](const RecordKey& key, Record& r, Timestamp) {
      if (r.snapshot != snapshot_) {
        ended_.push_back(key);  // no such socket any more: the next one is a new first report
        return;
      }
      if (!r.report.due(s.taken_at, settings_.update_interval)) return;
      out.add(make_finding(s, key, r));
      ++findings_;
    });
    for (const RecordKey& k : ended_) table_.erase(k);
  }

  Finding make_finding(const conn::Snapshot& s, const RecordKey& key, const Record& r) const {
    const Blocklists::Entry& e = lists_->entry(r.entry);
    const std::string_view list = lists_->list(e.list).name;
    static const std::string kUnknown;
    const std::string& process = r.process < s.process_names.size() ? s.process_names[r.process] : kUnknown;
    const auto endpoint = [](const IpAddress& a, uint16_t port) {
      return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), port) : fmt::format("{}:{}", a.to_string(), port);
    };
    Finding f;
    f.detector = kDetector;
    f.kind = kKind;
    f.ts = s.taken_at;
    f.source = key.remote;  // the listed address: what a ban would target
    f.target = r.local;
    f.proto = r.proto;
    f.severity = r.inbound ? Severity::high : Severity::medium;
    f.signature_id = kSignature;
    f.update = r.report.is_update();
    f.signature = fmt::format("Connection {} {} held by {} (pid {}) (blocklist {}: {})", r.inbound ? "from" : "to",
                              key.remote.to_string(), process.empty() ? "an unknown process" : process, key.pid, list,
                              e.prefix.to_string());
    f.category = r.inbound ? "Misc Attack" : "Potentially Bad Traffic";
    auto& ev = f.evidence;
    ev["source"] = "conn_table";
    ev["direction"] = r.inbound ? "inbound" : "outbound";
    ev["pid"] = key.pid;
    ev["process"] = process;
    ev["uid"] = r.uid;
    ev["list"] = list;
    ev["line"] = e.line;
    ev["prefix"] = e.prefix.to_string();
    ev["local"] = endpoint(r.local, r.local_port);
    ev["remote"] = endpoint(key.remote, r.remote_port);
    ev["state"] = conn::state_name(r.state);
    ev["sockets"] = r.sockets;
    ev["window"] = (s.taken_at - Timestamp{r.first_ns}).to_seconds();
    ev["first_seen"] = core::format_iso8601(Timestamp{r.first_ns});
    ev["last_seen"] = core::format_iso8601(s.taken_at);
    return f;
  }

  std::shared_ptr<const Blocklists> lists_;
  Settings settings_;
  state::BoundedTable<RecordKey, Record, RecordKeyHash> table_;
  uint64_t snapshot_ = 0;
  uint64_t findings_ = 0;
  std::bitset<65'536> listening_;
  std::vector<RecordKey> ended_;
};

}  // namespace

std::unique_ptr<SnapshotDetector> make_blocklist_feed(const config::Config& cfg,
                                                      std::shared_ptr<const blocklist::Blocklists> lists) {
  if (!cfg.boolean("detect.blocklist.enabled") || !cfg.boolean("detect.blocklist.from_conn_table")) return nullptr;
  if (!lists || lists->empty()) return nullptr;
  Settings s;
  s.capacity = static_cast<uint32_t>(cfg.integer("detect.blocklist.capacity"));
  s.update_interval = cfg.duration("detect.blocklist.update_interval");
  return std::make_unique<BlocklistFeed>(std::move(lists), s);
}

}  // namespace picket::detect::conn_table
