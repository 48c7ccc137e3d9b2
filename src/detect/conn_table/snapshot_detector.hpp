// The snapshot-detector seam: detectors that judge the host's connection table (conn::Snapshot,
// src/conn) instead of packets — seed 003's connections per process and listed peers, seed 000's
// ESTABLISHED connections per remote subnet as netstat saw them.
//
// How the daemon runs them: if conn_settings(cfg).enabled, open a conn::ConnTable with
// conn_settings(cfg).table, and every conn_settings(cfg).interval call refresh(now, snapshot) and
// pass the snapshot to each detector's on_snapshot, in order, on one thread. Findings go to the
// same policy and outputs as the packet detectors'. Snapshot time (Snapshot::taken_at) is the
// detectors' clock: dedup and update intervals use it.
//
// Findings made here: process_conn (src/detect/process_conn), and two feeds that make the same
// findings as their packet detectors — Finding::detector "subnet_conn" (kinds subnet_conn and
// subnet_conn_persistent, evidence.source "conn_table") and "blocklist" (kind
// blocklisted_connection). Their name() (stats keys) is "conn_table.subnet_conn" and
// "conn_table.blocklist", so their stats do not mix with the packet detectors'.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "conn/conn_table.hpp"
#include "conn/snapshot.hpp"
#include "core/time.hpp"
#include "detect/detector.hpp"
#include "detect/finding.hpp"

namespace picket::detect {

namespace blocklist {
class Blocklists;
}

class SnapshotDetector {
 public:
  virtual ~SnapshotDetector() = default;
  virtual std::string_view name() const noexcept = 0;
  // One snapshot, newer than the last one. Never throws; may allocate (not the packet path).
  virtual void on_snapshot(const conn::Snapshot& s, FindingSink& out) noexcept = 0;
  virtual DetectorStats stats() const noexcept = 0;
};

// Every enabled snapshot detector for `cfg` (none when conn.enabled is false). `lists` = the
// blocklists the app already loaded (blocklist::load_lists(cfg)); null or empty: no blocklist feed.
// Throws std::invalid_argument for a bad value no schema range can catch (an unknown state name in
// detect.process_conn.tcp_states): start-up code.
std::vector<std::unique_ptr<SnapshotDetector>> make_snapshot_detectors(
    const config::Config& cfg, std::shared_ptr<const blocklist::Blocklists> lists);

// Declares conn.* (the table), detect.process_conn.*, detect.subnet_conn.from_conn_table and
// detect.blocklist.from_conn_table. Needs detect.subnet_conn.* and detect.blocklist.* declared too
// (the engine's registry does): the feeds read those.
void declare_snapshot_config(config::Schema& schema);

// The table's settings from conn.*.
struct ConnSettings {
  bool enabled = true;
  core::Duration interval = core::Duration::seconds(5);  // between snapshots
  conn::TableOptions table;
};
ConnSettings conn_settings(const config::Config& cfg);

}  // namespace picket::detect
