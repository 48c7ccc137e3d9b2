// The detector registry: every detector's configuration declarations and constructors in one
// place. Adding a detector is a new folder under src/detect plus one line in registry.cpp.
#pragma once

#include <memory>
#include <vector>

#include "config/config.hpp"
#include "detect/detector.hpp"

namespace picket::engine {

// Declares flow.* and detect.<name>.* for every detector.
void declare_detector_config(config::Schema& schema);

// Fresh per-source detectors for one worker (enabled ones only).
std::vector<std::unique_ptr<detect::Detector>> make_source_detectors(const config::Config& cfg);
// The per-target detectors, run once on the dispatcher (enabled ones only).
std::vector<std::unique_ptr<detect::Detector>> make_target_detectors(const config::Config& cfg);

}  // namespace picket::engine
