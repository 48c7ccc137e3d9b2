// The daemon's state, shared by daemon.cpp (lifecycle, main loop) and control_handler.cpp (the
// control socket's commands). Internal to src/daemon. Everything here belongs to the daemon's
// main thread, except the atomics.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "alert/alert_sink.hpp"
#include "capture/live_source.hpp"
#include "conn/conn_table.hpp"
#include "control/server.hpp"
#include "daemon/daemon.hpp"
#include "daemon/enforcers.hpp"
#include "daemon/persistence.hpp"
#include "daemon/settings.hpp"
#include "daemon/top_talkers.hpp"
#include "decode/decoder.hpp"
#include "detect/blocklist/blocklists.hpp"
#include "detect/conn_table/snapshot_detector.hpp"
#include "engine/engine.hpp"
#include "metrics/server.hpp"
#include "output/sinks.hpp"
#include "policy/policy.hpp"
#include "policy/responder.hpp"
#include "store/store.hpp"

namespace picket::daemon {

using Json = nlohmann::ordered_json;

core::Timestamp wall_now();

// Watches the event stream for what `picket status` and `picket top` show: alerts per detector,
// recent findings, the latest stats event (state tables), and how late alerts are written.
class Observer : public output::EventSink {
 public:
  static constexpr size_t kRecent = 200;
  void emit(const output::Event& ev) override;
  const std::map<std::string, uint64_t>& alerts_by_detector() const noexcept { return alerts_by_detector_; }
  const std::deque<output::Event>& recent_alerts() const noexcept { return recent_; }
  const Json& last_stats() const noexcept { return last_stats_; }
  // Detection latency: wall clock when the alert was written minus the finding's packet time.
  const std::vector<double>& latency_bounds() const noexcept { return bounds_; }
  const std::vector<uint64_t>& latency_counts() const noexcept { return counts_; }  // cumulative per bound, +Inf last
  double latency_sum() const noexcept { return sum_; }
  uint64_t latency_count() const noexcept { return total_; }

 private:
  std::map<std::string, uint64_t> alerts_by_detector_;
  std::deque<output::Event> recent_;
  Json last_stats_;
  std::vector<double> bounds_{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  std::vector<uint64_t> counts_ = std::vector<uint64_t>(12, 0);
  double sum_ = 0;
  uint64_t total_ = 0;
};

struct Daemon::Impl {
  RunOptions opts;
  std::optional<config::Config> cfg_storage;  // always set after start()
  const config::Config& cfg() const { return *cfg_storage; }
  DaemonSettings settings;
  core::Timestamp started_at;

  output::FanoutSink sinks;
  Observer observer;
  alert::AlertSink* alerts = nullptr;  // inside `sinks` when any destination is enabled
  alert::Settings alert_settings;      // what `alerts` was built from (a reload compares)
  std::unique_ptr<control::ControlServer> control;
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  core::Timestamp next_metrics;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<policy::OffenderHistory> history;
  std::unique_ptr<StoreJournal> journal;
  EnforcerBundle bundle;
  bool enforcer_ready = false;
  core::Timestamp next_init_try;
  core::Duration init_backoff = core::Duration::seconds(1);

  std::shared_ptr<const detect::blocklist::Blocklists> lists;
  std::unique_ptr<policy::Policy> policy;
  std::unique_ptr<policy::PolicyResponder> responder;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<capture::LiveSource> source;
  int link_type = 1;
  TopTalkers talkers;
  std::optional<decode::Decoder> talker_decoder;  // made once the link type is known
  core::PacketMeta talker_meta;

  // The connection table and its detectors (conn.enabled).
  std::unique_ptr<conn::ConnTable> conn_table;
  std::vector<std::unique_ptr<detect::SnapshotDetector>> snapshot_detectors;
  detect::ConnSettings conn;
  conn::Snapshot snapshot;
  core::Timestamp next_snapshot;
  std::string conn_error;

  std::atomic<bool> stop{false};
  std::atomic<bool> reload{false};

  core::Timestamp next_flush, next_maintenance, next_drop_check, next_exec_expiry, next_trap_poll;
  // What the scan trap held at the last poll (new sources there become events), and counts.
  std::unordered_set<core::IpAddress, core::IpAddressHash> trap_known;
  uint64_t trapped_total = 0;
  uint64_t drops_reported = 0;
  uint64_t manual_bans = 0;
  static constexpr core::Duration kBansSummaryAge = core::Duration::seconds(5);
  Json bans_summary;
  core::Timestamp bans_summary_at;

  void log(const std::string& line) const {
    if (opts.log) opts.log(line);
  }
  void emit(const output::Event& ev) { sinks.emit(ev); }

  core::Result<void> open_outputs();
  core::Result<void> open_control();
  core::Result<void> open_metrics();
  void publish_metrics(core::Timestamp now);
  core::Result<void> open_store();
  core::Result<void> open_conn_table();
  void build_pipeline(core::Timestamp now);
  void try_init_enforcer(core::Timestamp now);
  // Arms (or disarms) the nftables scan trap as enforce.scan_trap and policy say.
  void configure_scan_trap(core::Timestamp now);
  // Reads the trap's sets (once a second) and reports each newly trapped source as an event.
  void poll_scan_trap(core::Timestamp now);
  // On reload: rebuilds the alert destinations when alerts.* changed (the old ones get a short
  // deadline to deliver what they hold).
  void replace_alerts(alert::Settings fresh);
  core::Result<void> open_capture();
  void maintenance(core::Timestamp now);
  void take_snapshot(core::Timestamp now);
  core::Result<void> do_reload(core::Timestamp now);
  void shutdown();

  // control_handler.cpp
  core::Result<Json> handle(const Json& request);
  Json status(core::Timestamp now);
  void append_trapped(Json& list) const;
  core::Result<Json> bans(core::Timestamp now);
  core::Result<Json> manual_ban(const Json& request, core::Timestamp now);
  core::Result<Json> manual_unban(const Json& request, core::Timestamp now);
  Json top(core::Timestamp now);
  // Health: empty when capture and enforcer are healthy, else why not (for status / healthz).
  std::vector<std::string> health_problems() const;
};

}  // namespace picket::daemon
