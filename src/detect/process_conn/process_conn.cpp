#include "detect/process_conn/process_conn.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "state/bounded_table.hpp"

namespace picket::detect::process_conn {

namespace {

using core::Duration;
using core::IpAddress;
using core::Timestamp;

constexpr std::string_view kName = "process_conn";
constexpr std::string_view kKind = "process_conn";
constexpr uint32_t kSignature = 2'009'001;
constexpr size_t kSampleRemotes = 5;
constexpr size_t kStates = conn::tcp_state::kMax + 1;
constexpr std::string_view kDefaultStates[] = {"established", "syn_sent",   "syn_recv", "fin_wait1",
                                               "fin_wait2",   "close_wait", "last_ack", "closing"};

struct Settings {
  uint64_t limit = 200;
  uint32_t tcp_states = 0;  // bit i = tcp_state i counts
  bool count_udp = true;
  Duration update_interval = Duration::seconds(60);
  uint32_t capacity = 4096;
  std::vector<std::string> exclude;  // sorted
};

// A process over the limit: its report state while the episode lasts.
struct Episode {
  ReportState report;
  uint64_t name_hash = 0;  // a reused pid with another name is another process
  int64_t first_seen_ns = 0;
  uint64_t snapshot = 0;  // the last snapshot it was over the limit in
};

static_assert(sizeof(Episode) <= 40);  // NOTES.md quotes it

bool keep_on_eviction(const Episode& e) noexcept {
  return e.report.reported();
}

struct PidHash {
  uint64_t operator()(int32_t pid) const noexcept { return static_cast<uint64_t>(static_cast<uint32_t>(pid)); }
};

// What the sockets of one flagged process look like.
struct Detail {
  std::array<uint64_t, kStates> tcp{};
  uint64_t udp = 0;
  uint32_t uid = 0;
  std::vector<IpAddress> remotes;  // one per counted socket with a peer
};

class ProcessConnDetector final : public SnapshotDetector {
 public:
  explicit ProcessConnDetector(Settings s) : settings_(std::move(s)), table_(settings_.capacity) {}

  std::string_view name() const noexcept override { return kName; }

  void on_snapshot(const conn::Snapshot& s, FindingSink& out) noexcept override {
    try {
      judge(s, out);
    } catch (...) {
      // Out of memory on a huge snapshot: skip this one; episodes stay as they were.
    }
  }

  DetectorStats stats() const noexcept override { return table_stats(table_, findings_); }

 private:
  bool counted(const conn::Socket& k) const noexcept {
    if (k.proto == conn::kProtoTcp) return k.state < 32 && ((settings_.tcp_states >> k.state) & 1u) != 0;
    return k.proto == conn::kProtoUdp && settings_.count_udp && k.state == conn::tcp_state::kEstablished;
  }

  bool excluded(const std::string& name) const noexcept {
    return std::binary_search(settings_.exclude.begin(), settings_.exclude.end(), name);
  }

  void judge(const conn::Snapshot& s, FindingSink& out) {
    ++snapshot_;
    const size_t n = s.process_names.size();
    counts_.assign(n, 0);
    pids_.assign(n, -1);
    for (const conn::Socket& k : s.sockets) {
      if (k.process == 0 || k.process >= n || !counted(k)) continue;
      ++counts_[k.process];
      pids_[k.process] = k.pid;
    }
    slot_.assign(n, -1);
    flagged_.clear();
    for (size_t i = 1; i < n; ++i) {
      if (counts_[i] > settings_.limit && !excluded(s.process_names[i])) {
        slot_[i] = static_cast<int32_t>(flagged_.size());
        flagged_.push_back(static_cast<uint32_t>(i));
      }
    }
    if (!flagged_.empty()) report(s, out);
    // A process not over the limit in this snapshot ends its episode.
    ended_.clear();
    table_.for_each([&](const int32_t& pid, Episode& e, Timestamp) {
      if (e.snapshot != snapshot_) ended_.push_back(pid);
    });
    for (int32_t pid : ended_) table_.erase(pid);
  }

  void report(const conn::Snapshot& s, FindingSink& out) {
    std::vector<Detail> details(flagged_.size());
    for (const conn::Socket& k : s.sockets) {
      if (k.process == 0 || k.process >= slot_.size() || slot_[k.process] < 0 || !counted(k)) continue;
      Detail& d = details[static_cast<size_t>(slot_[k.process])];
      if (k.proto == conn::kProtoTcp) {
        ++d.tcp[k.state];
      } else {
        ++d.udp;
      }
      d.uid = k.uid;
      if (k.remote_port != 0) d.remotes.push_back(k.remote);
    }
    const Timestamp now = s.taken_at;
    for (size_t f = 0; f < flagged_.size(); ++f) {
      const uint32_t index = flagged_[f];
      const int32_t pid = pids_[index];
      const std::string& name = s.process_names[index];
      const uint64_t name_hash = std::hash<std::string>{}(name);
      auto [e, fresh] = table_.find_or_insert(pid, now);
      if (fresh || e->name_hash != name_hash) {
        *e = Episode{};
        e->name_hash = name_hash;
        e->first_seen_ns = now.ns;
      }
      e->snapshot = snapshot_;
      if (!e->report.due(now, settings_.update_interval)) continue;
      out.add(make_finding(pid, name, counts_[index], details[f], *e, now));
      ++findings_;
    }
  }

  Finding make_finding(int32_t pid, const std::string& process, uint64_t connections, Detail& d, const Episode& e,
                       Timestamp now) const {
    uint64_t tcp = 0;
    for (uint64_t c : d.tcp) tcp += c;
    Finding f;
    f.detector = kName;
    f.kind = kKind;
    f.ts = now;
    f.proto = d.udp == 0 ? conn::kProtoTcp : tcp == 0 ? conn::kProtoUdp : 0;
    f.severity = Severity::medium;
    f.signature_id = kSignature;
    f.update = e.report.is_update();
    f.signature = fmt::format("Process connections: {} (pid {}) holds {} connections, over the limit of {}",
                              process.empty() ? "?" : process, pid, connections, settings_.limit);
    f.category = "Misc activity";
    auto& ev = f.evidence;
    ev["pid"] = pid;
    ev["process"] = process;
    ev["uid"] = d.uid;
    ev["connections"] = connections;
    ev["limit"] = settings_.limit;
    auto by_state = nlohmann::ordered_json::object();
    for (size_t st = 0; st < kStates; ++st) {
      if (d.tcp[st] != 0) by_state[std::string(conn::state_name(static_cast<uint8_t>(st)))] = d.tcp[st];
    }
    if (d.udp != 0) by_state["udp_connected"] = d.udp;
    ev["by_state"] = std::move(by_state);
    // The peers holding the most of its connections, then by address.
    std::sort(d.remotes.begin(), d.remotes.end());
    std::vector<std::pair<uint64_t, IpAddress>> peers;
    for (size_t i = 0; i < d.remotes.size();) {
      size_t j = i;
      while (j < d.remotes.size() && d.remotes[j] == d.remotes[i]) ++j;
      peers.emplace_back(j - i, d.remotes[i]);
      i = j;
    }
    ev["remotes"] = peers.size();
    std::sort(peers.begin(), peers.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    auto sample = nlohmann::ordered_json::array();
    for (size_t i = 0; i < peers.size() && i < kSampleRemotes; ++i) {
      sample.push_back({{"address", peers[i].second.to_string()}, {"connections", peers[i].first}});
    }
    ev["sample_remotes"] = std::move(sample);
    ev["window"] = (now - Timestamp{e.first_seen_ns}).to_seconds();
    ev["first_seen"] = core::format_iso8601(Timestamp{e.first_seen_ns});
    ev["last_seen"] = core::format_iso8601(now);
    return f;
  }

  Settings settings_;
  state::BoundedTable<int32_t, Episode, PidHash> table_;
  uint64_t snapshot_ = 0;
  uint64_t findings_ = 0;
  // Scratch, reused between snapshots.
  std::vector<uint64_t> counts_;  // per process index
  std::vector<int32_t> pids_;
  std::vector<int32_t> slot_;      // process index → index in flagged_, or −1
  std::vector<uint32_t> flagged_;  // process indexes over the limit, ascending (= by pid)
  std::vector<int32_t> ended_;
};

}  // namespace

void declare_config(config::Schema& schema) {
  config::SchemaSection s(schema, "detect.process_conn");
  s.boolean("enabled", true, "Report processes holding too many connections (from the connection table, conn.*)");
  s.integer("connection_limit", 200, 1, 10'000'000,
            "Connections one process may hold; more is reported (alert only: a process cannot be banned)",
            "seed 003: connection_limit 20")
      .aggressive(int64_t{100})
      .paranoid(int64_t{20});
  std::vector<std::string> states(std::begin(kDefaultStates), std::end(kDefaultStates));
  s.string_list("tcp_states", states, conn::tcp_state::kMax,
                "TCP states that count as a connection (established, syn_sent, syn_recv, fin_wait1, fin_wait2, "
                "time_wait, close, close_wait, last_ack, listen, closing, new_syn_recv)",
                "seed 003: every INET connection psutil lists, listening sockets included");
  s.boolean("count_udp", true, "Connected UDP sockets count as connections too");
  s.string_list("exclude_processes", {}, 1024,
                "Process names (as in /proc/<pid>/comm, at most 15 characters) never reported: busy servers "
                "such as nginx or haproxy");
  s.integer("capacity", 4096, 16, 1'000'000, "Processes over the limit remembered for deduplication");
  s.duration("update_interval", Duration::seconds(60), Duration::seconds(1), Duration::seconds(86'400),
             "While a process stays over the limit, at most one update of its finding per this interval");
}

std::unique_ptr<SnapshotDetector> create(const config::Config& cfg) {
  if (!cfg.boolean("detect.process_conn.enabled")) return nullptr;
  Settings s;
  s.limit = static_cast<uint64_t>(cfg.integer("detect.process_conn.connection_limit"));
  for (const std::string& name : cfg.list("detect.process_conn.tcp_states")) {
    const uint8_t st = conn::state_from_name(name);
    if (st == 0) {
      throw std::invalid_argument("detect.process_conn.tcp_states: unknown TCP state \"" + name +
                                  "\" (established, syn_sent, syn_recv, fin_wait1, fin_wait2, time_wait, close, "
                                  "close_wait, last_ack, listen, closing, new_syn_recv)");
    }
    s.tcp_states |= 1u << st;
  }
  s.count_udp = cfg.boolean("detect.process_conn.count_udp");
  s.exclude = cfg.list("detect.process_conn.exclude_processes");
  std::sort(s.exclude.begin(), s.exclude.end());
  s.capacity = static_cast<uint32_t>(cfg.integer("detect.process_conn.capacity"));
  s.update_interval = cfg.duration("detect.process_conn.update_interval");
  return std::make_unique<ProcessConnDetector>(std::move(s));
}

}  // namespace picket::detect::process_conn
