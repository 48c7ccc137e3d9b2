// The connection-table feeds of two packet detectors: the same findings, made from a snapshot
// of the host's sockets instead of from packets (see snapshot_detector.hpp).
//
// subnet_conn (seed 000 as written: netstat's ESTABLISHED connections per remote /24): each
// snapshot counts the ESTABLISHED TCP sockets per remote prefix (detect.subnet_conn.prefix_v4/_v6;
// peers on loopback, and a host's connections to its own address, left out). A snapshot is one
// sample: kind subnet_conn when it exceeds detect.subnet_conn.threshold, subnet_conn_persistent
// when the last history_window samples sum over persistent_threshold. Finding::source_prefix is
// the remote prefix; evidence.source is "conn_table".
//
// blocklist (seed 003's "Blacklisted IP"): a socket whose remote address is on the loaded lists
// gives kind blocklisted_connection, naming the owning process; one finding per (remote, pid)
// while such a socket exists, then updates every detect.blocklist.update_interval; a snapshot
// without it ends the record.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "detect/blocklist/blocklists.hpp"
#include "detect/conn_table/snapshot_detector.hpp"

namespace picket::detect::conn_table {

// nullptr when detect.subnet_conn.enabled or detect.subnet_conn.from_conn_table is false.
std::unique_ptr<SnapshotDetector> make_subnet_feed(const config::Config& cfg);
// nullptr when detect.blocklist.enabled or .from_conn_table is false, or `lists` is null or empty.
std::unique_ptr<SnapshotDetector> make_blocklist_feed(const config::Config& cfg,
                                                      std::shared_ptr<const blocklist::Blocklists> lists);

// The peer is this host itself: loopback, or the socket's own local address.
bool local_peer(const conn::Socket& s) noexcept;

}  // namespace picket::detect::conn_table
