// conn_rate: one source opening connections faster than a limit (seed 001's per-IP rate limit).
//
// Per source (the actor), over a sliding window of `interval`: the TCP handshakes it completed.
// Only completed handshakes count (the flow tracker's `established`), so a spoofed address can
// never be charged with connections it did not make. Reports (kind "conn_rate", severity medium)
// when the count exceeds `limit`. docs/detectors/conn_rate.md lists keys and evidence.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "detect/detector.hpp"

namespace picket::detect::conn_rate {

// Declares detect.conn_rate.* (enabled, limit, interval, capacity, update_interval).
void declare_config(config::Schema& schema);
// The detector, or nullptr when detect.conn_rate.enabled is false.
std::unique_ptr<Detector> create(const config::Config& cfg);

}  // namespace picket::detect::conn_rate
