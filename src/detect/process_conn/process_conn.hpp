// process_conn: a process holding too many connections (seed 003's "Excessive connections").
//
// Judged on each connection-table snapshot (detect/conn_table/snapshot_detector.hpp): per owning
// process (pid), the sockets counted — TCP sockets in `tcp_states` (default: every state but
// listen) and, with `count_udp`, connected UDP sockets — and a finding when the count exceeds
// `connection_limit`. Processes named in `exclude_processes` (their comm) are never reported.
// Sockets whose owner is unknown (pid −1) count for nobody.
//
// One finding per process while it stays over the limit, then an update every update_interval; a
// snapshot at or below the limit ends the episode. The finding names the process in its evidence
// (pid, process), not in Finding::source, which stays empty: the policy cannot ban a process, so
// the finding is an alert only. docs/detectors/process_conn.md lists keys and evidence.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "detect/conn_table/snapshot_detector.hpp"

namespace picket::detect::process_conn {

// Keys under "detect.process_conn.".
void declare_config(config::Schema& schema);
// nullptr when detect.process_conn.enabled is false. Throws std::invalid_argument for an unknown
// state name in tcp_states (start-up code).
std::unique_ptr<SnapshotDetector> create(const config::Config& cfg);

}  // namespace picket::detect::process_conn
