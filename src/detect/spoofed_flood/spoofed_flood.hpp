// spoofed_flood: one target (address, port, protocol) flooded with SYNs or UDP datagrams from very
// many sources, each of them below any per-source threshold — the signature of spoofed sources.
// Per-target: it runs once on the engine's dispatcher over every packet.
//
// The findings are aggregate (`aggregate = true`, no source): the sources are forged, so the
// answer is aggregate mitigation for the target, never a ban of the addresses seen.
// Keys live under detect.spoofed_flood. (docs/detectors/spoofed_flood.md).
#pragma once

#include <memory>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "detect/detector.hpp"

namespace picket::detect::spoofed_flood {

void declare_config(config::Schema& schema);
// nullptr when detect.spoofed_flood.enabled is false.
std::unique_ptr<Detector> create(const config::Config& cfg);

}  // namespace picket::detect::spoofed_flood
