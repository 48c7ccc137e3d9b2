// distributed_scan: one host's ports probed by many sources, each taking a slice (kind
// "distributed_scan"), and decoy scans — the same probes from several addresses at once, nmap -D
// style (kind "decoy_scan"). Per-target: it runs once on the engine's dispatcher over every packet.
//
// Findings are per target and aggregate (`aggregate = true`, no source): decoys are forged by
// design, so the participating addresses are evidence (a sample, a count, `source_prefix` when
// they share one subnet), never ban targets by themselves.
// Keys live under detect.distributed_scan. (docs/detectors/distributed_scan.md).
#pragma once

#include <memory>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "detect/detector.hpp"

namespace picket::detect::distributed_scan {

void declare_config(config::Schema& schema);
// nullptr when detect.distributed_scan.enabled is false.
std::unique_ptr<Detector> create(const config::Config& cfg);

}  // namespace picket::detect::distributed_scan
