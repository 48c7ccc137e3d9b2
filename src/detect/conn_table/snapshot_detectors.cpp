// The snapshot detectors' configuration and factory (snapshot_detector.hpp).
#include "detect/blocklist/blocklists.hpp"
#include "detect/conn_table/feeds.hpp"
#include "detect/conn_table/snapshot_detector.hpp"
#include "detect/process_conn/process_conn.hpp"

namespace picket::detect {

using core::Duration;

void declare_snapshot_config(config::Schema& schema) {
  config::SchemaSection c(schema, "conn");
  c.boolean("enabled", true,
            "Take snapshots of the host's TCP and UDP sockets and their processes (sock_diag and /proc) for "
            "process_conn and the connection-table feeds of subnet_conn and blocklist");
  c.duration("interval", Duration::seconds(5), Duration::seconds(1), Duration::seconds(3600),
             "Time between two snapshots of the connection table",
             "seed 003: scan_interval 10 s; seed 000: INTERVAL 1 s")
      .aggressive(Duration::seconds(2))
      .paranoid(Duration::seconds(1));
  c.boolean("processes", true,
            "Name each socket's process from /proc/<pid>/fd (other users' processes need root or "
            "CAP_SYS_PTRACE; without, their sockets have no owner)");
  c.integer("max_sockets", 1'000'000, 1'000, 16'777'216,
            "Sockets per snapshot; the rest are left out and counted (about 64 bytes each, plus the /proc cache)");
  c.duration("full_rescan", Duration::seconds(60), Duration::seconds(0), Duration::seconds(3600),
             "At most one full /proc scan per this interval (a new socket of an already scanned process waits "
             "for it); processes started since the last scan are read at once");
  process_conn::declare_config(schema);
  config::SchemaSection(schema, "detect.subnet_conn")
      .boolean("from_conn_table", true,
               "Also count the host's own ESTABLISHED sockets per remote subnet at each connection-table "
               "snapshot (one sample per conn.interval; seed 000's netstat view)",
               "seed 000: netstat polling");
  config::SchemaSection(schema, "detect.blocklist")
      .boolean("from_conn_table", true,
               "Also report the host's sockets whose remote address is listed, with the owning process, at "
               "each connection-table snapshot",
               "seed 003: Blacklisted IP (psutil connections)");
}

ConnSettings conn_settings(const config::Config& cfg) {
  ConnSettings s;
  s.enabled = cfg.boolean("conn.enabled");
  s.interval = cfg.duration("conn.interval");
  s.table.processes = cfg.boolean("conn.processes");
  s.table.max_sockets = static_cast<size_t>(cfg.integer("conn.max_sockets"));
  s.table.full_rescan = cfg.duration("conn.full_rescan");
  return s;
}

std::vector<std::unique_ptr<SnapshotDetector>> make_snapshot_detectors(
    const config::Config& cfg, std::shared_ptr<const blocklist::Blocklists> lists) {
  std::vector<std::unique_ptr<SnapshotDetector>> out;
  if (!cfg.boolean("conn.enabled")) return out;
  if (auto d = process_conn::create(cfg)) out.push_back(std::move(d));
  if (auto d = conn_table::make_subnet_feed(cfg)) out.push_back(std::move(d));
  if (auto d = conn_table::make_blocklist_feed(cfg, std::move(lists))) out.push_back(std::move(d));
  return out;
}

}  // namespace picket::detect
