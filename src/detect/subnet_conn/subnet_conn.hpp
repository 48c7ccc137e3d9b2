// subnet_conn: too many established TCP connections from one source subnet (seed 000).
//
// A gauge per source prefix (/24 IPv4, /64 IPv6 by default): +1 when one of its addresses
// completes a handshake, −1 when such a connection closes or the flow tracker lets it go
// (expired when idle, or evicted). Only completed handshakes count, so spoofed sources add
// nothing. At each `interval` boundary of packet time the gauge is sampled:
//  - kind "subnet_conn" (severity high) when the sample exceeds `threshold`;
//  - kind "subnet_conn_persistent" (severity medium) when the sum of the last `history_window`
//    samples exceeds `persistent_threshold`.
// Findings name the prefix (Finding::source_prefix), not an address. The engine shards workers by
// the same prefix lengths (detect.subnet_conn.prefix_v4/_v6), so one instance sees a whole
// prefix. docs/detectors/subnet_conn.md lists keys and evidence.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "detect/detector.hpp"

namespace picket::detect::subnet_conn {

// Declares detect.subnet_conn.* (enabled, prefix_v4, prefix_v6, threshold, interval,
// history_window, persistent_threshold, capacity, update_interval).
void declare_config(config::Schema& schema);
// The detector, or nullptr when detect.subnet_conn.enabled is false.
std::unique_ptr<Detector> create(const config::Config& cfg);

}  // namespace picket::detect::subnet_conn
