// port_scan: one source probing many ports of one host (kind "port_scan"), or one port on many
// hosts (kind "sweep"), fast or slow, whatever the probes' TCP flags or protocol.
//
// Per source (runs in the workers). It reads the flow tracker's verdicts: every first contact
// (flow == probe, with its ProbeKind) feeds hashed sliding distinct counters, and every outcome
// (reply_success; reply_failure or a probe_unanswered notice) feeds a sequential hypothesis test
// (Threshold Random Walk). A source is reported when the walk says "scanner" *and* it touched at
// least port_threshold ports of its main host / host_threshold hosts on its main port within
// `window`, or slow_threshold targets within `slow_window` (scan_kind "slow"). Two simpler modes
// from the original scripts can be switched on: a plain distinct-port threshold (scan_threshold)
// and a list of monitored ports (ports_to_monitor + port_scan_threshold). docs/detectors/port_scan.md
// lists the keys, the evidence and the blind spots.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "detect/detector.hpp"

namespace picket::detect::port_scan {

// Declares detect.port_scan.*.
void declare_config(config::Schema& schema);
// nullptr when detect.port_scan.enabled is false. Start-up code: throws std::invalid_argument
// for settings the schema cannot check on its own (more than 32 monitored ports once ranges are
// expanded, slow_window shorter than window).
std::unique_ptr<Detector> create(const config::Config& cfg);

}  // namespace picket::detect::port_scan
